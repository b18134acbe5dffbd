/* metrics/bpd_dataset.h - bits per dimension of a test set, averaged over several uniform
 * dequantisation passes (specs/metrics.md "Bits per dimension": "Dequantization noise comes
 * from a seeded stream; the test set is averaged over several passes (score_sde uses 5) and the
 * pass count is recorded").
 *
 * A model enters as a callback giving the log-density (nats) of a batch of dequantised samples
 * as the model sees them (x~ in [0,1] or 2 x~ - 1 in [-1,1]: metrics/bpd.h): a flow's exact
 * log-likelihood, or gb_flow_ode_loglik for a score model. Each sample's bits/dim is
 * gb_bits_per_dim of its log-density; a pass's value is the mean over the samples, the result
 * the mean over the passes, with the passes' spread.
 *
 * Noise: pass p dequantises with the Philox stream (seed, "bpd/dequantize/pass<p>"), sample i
 * taking the stream's words i*dim .. (i+1)*dim - 1, so every number is independent of the batch
 * size. The callback receives the pass and the index of its batch's first sample, to address any
 * noise of its own the same way (e.g. a Hutchinson probe from a stream named by the pass, at
 * position first * dim).
 *
 * Tested by tests/test_bpd_dataset.c: a density 2x per coordinate on [0,1] whose expected bits/dim over
 * the dequantisation noise has a closed form, a recomputation from the documented streams,
 * batch-size independence to the bit, the uniform density's exact 8 bits with zero spread, and
 * the failures.
 */
#ifndef GB_BPD_DATASET_H
#define GB_BPD_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "metrics/bpd.h"

/* logp[b] (nats) of the dequantised samples x [batch, dim] (first, the index of x's first row in
 * the test set; pass, the dequantisation pass). Return GB_OK or a status that stops the
 * evaluation. */
typedef gb_status (*gb_batch_loglik_fn)(void *user, double *logp /* [batch] */, const float *x /* [batch, dim] */,
                                        size_t batch, size_t dim, size_t pass, size_t first);

typedef struct {
    double bpd;      /* the mean over passes (each the mean over the samples) */
    double pass_std; /* population standard deviation of the passes' values (0 for one pass) */
    size_t passes;   /* recorded with the number (metrics.md) */
    size_t samples;
    size_t dim;
} gb_bpd_dataset_result;

/* Bits/dim of the n 8-bit samples levels [n, dim] under fn, averaged over `passes` dequantisation
 * passes (see the header), fn called on batches of at most `batch` samples in order;
 * pass_bpd [passes] (may be NULL) receives each pass's value. GB_USAGE for n, dim, batch or
 * passes of 0; GB_NUMERIC naming the pass and sample when fn gives a non-finite log-density;
 * fn's own failure passed through with the pass added; GB_ENV when memory runs out. */
gb_status gb_bpd_dataset(gb_bpd_dataset_result *out, double *pass_bpd /* [passes] or NULL */,
                         const uint8_t *levels /* [n, dim] */, size_t n, size_t dim, size_t batch, size_t passes,
                         gb_data_scaling scaling, uint64_t seed, gb_batch_loglik_fn fn, void *user);

#endif
