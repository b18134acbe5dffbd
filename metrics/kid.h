/* metrics/kid.h - Kernel Inception Distance (specs/metrics.md "KID").
 *
 * k(x, y) = (x . y / d + 1)^3 (polynomial kernel: degree 3, gamma 1/d, coef 1). For each of
 * `subsets` subsets, m = min(n_gen, n_ref, subset_size) rows are drawn without replacement from
 * each set and the unbiased MMD^2 (U-statistic within a set, all cross pairs) is
 *   [sum_{i!=j} k(x_i,x_j) + sum_{i!=j} k(y_i,y_j)] / (m(m-1)) - 2 sum_{i,j} k(x_i,y_j) / m^2.
 * KID is the mean over the subsets; the spread is their population standard deviation
 * (ddof 0, as torch-fidelity's np.std). Never clamped: a negative value means the sets are
 * indistinguishable at this sample size.
 *
 * Peers: clean-fid's kernel_distance computes the same mean (x from the second argument, y from
 * the first; the kernel is symmetric so the order does not matter) in float32 with
 * np.random.choice subsets it does not seed, and reports no spread; torch-fidelity reports mean
 * and std with subsets from a seeded numpy RandomState. genbench draws the subsets from philox
 * streams (gb_kid_subset_indices) and computes the Gram matrices in float64 (dsyrk / dgemm on
 * rows converted to double), summing row by row in index order, so a result depends only on
 * the inputs and the seed.
 *
 * Tested by tests/test_fid_stats.c: a hand-computed 3-point case, identical sets, parity with a
 * numpy transcription on the same subset indices, and a statistical check against clean-fid's
 * kernel_distance on its own random subsets (tests/peers/fid_stats.py).
 */
#ifndef GB_KID_H
#define GB_KID_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define GB_KID_SUBSETS 100
#define GB_KID_SUBSET_SIZE 1000

typedef struct {
    double mean;        /* KID */
    double std;         /* population std over the subsets */
    size_t subsets;     /* number of subsets */
    size_t subset_size; /* m actually used */
} gb_kid_result;

/* The m distinct row indices of subset `subset` of a set of n rows: a partial Fisher-Yates
 * shuffle of 0..n-1 (for i < m: swap i with i + below(n - i)) driven by the philox stream
 * "kid/<subset>/gen" (which = 0) or "kid/<subset>/ref" (which = 1) of `seed`, one word per
 * index. m <= n <= UINT32_MAX (asserted). */
void gb_kid_subset_indices(uint32_t *idx /* [m] */, uint64_t seed, size_t subset, int which, size_t n, size_t m);

/* KID between gen [n_gen, dim] and ref [n_ref, dim]. per_subset (may be NULL) receives the
 * `subsets` MMD^2 values. GB_INPUT for fewer than 2 rows, dim 0 or non-finite values (naming the
 * set, row and column); GB_USAGE for subsets or subset_size 0 or subset_size 1; GB_ENV when
 * memory runs out (about 2 m dim + m^2 doubles). */
gb_status gb_kid(gb_kid_result *out, double *per_subset /* [subsets] */, const float *gen /* [n_gen, dim] */,
                 size_t n_gen, const float *ref /* [n_ref, dim] */, size_t n_ref, size_t dim, size_t subsets,
                 size_t subset_size, uint64_t seed);

/* Non-finite check shared by the feature metrics: GB_INPUT naming `set`, row and column. */
gb_status gb_features_check_finite(const float *x /* [n, dim] */, size_t n, size_t dim, const char *set);

#endif
