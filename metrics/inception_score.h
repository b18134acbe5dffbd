/* metrics/inception_score.h - Inception score (specs/metrics.md "Inception score").
 *
 * IS = exp(E_x KL(p(y|x) || p(y))) per split, reported as the mean and the population standard
 * deviation (ddof 0) over the splits. Split s holds rows [s n / splits, (s + 1) n / splits)
 * (integer division), as in OpenAI's inception_score.py and torch-fidelity.
 *
 * Which logits: the peers feed the 1008-way logits of the 2015-12-05 Inception graph (1000
 * ImageNet classes plus 8 unused ones) and take the softmax over all 1008. OpenAI's original
 * code multiplies pool3 by the softmax weights WITHOUT the bias; torch-fidelity reproduces that
 * as 'logits_unbiased'. Implementations built on torchvision's 1000-class Inception
 * (e.g. sbarratt/inception-score-pytorch) give different numbers: the class count and the bias
 * are part of the protocol. This function takes whatever [n, classes] logits it is given.
 * torch-fidelity also shuffles the rows first (np.random.RandomState(2020).permutation(n)):
 * gb_inception_score_shuffled does the same (core/mt19937.h reproduces numpy's permutation);
 * gb_inception_score takes the rows in the order given (the split assignment changes the value).
 *
 * Numerics, all float64: log p(y|x) = z - logsumexp(z) (max-shifted), p = exp(log p);
 * p(y) = mean of p over the split; KL terms with p(y|x) = 0 contribute 0. Probabilities may be
 * passed instead of logits (rows must be non-negative and sum to 1 within 1e-3; they are
 * renormalised); a zero probability then contributes 0 as well.
 *
 * Tested by tests/test_fid_stats.c: uniform predictions give 1, one-hot predictions over C
 * evenly used classes give C, logits and the matching probabilities agree, and parity with a
 * numpy transcription of torch-fidelity's isc_features_to_metric, and the shuffled form against
 * torch-fidelity's own function as shipped (tests/peers/fid_stats.py).
 */
#ifndef GB_INCEPTION_SCORE_H
#define GB_INCEPTION_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define GB_IS_SPLITS 10
#define GB_IS_SHUFFLE_SEED 2020 /* torch-fidelity's rng_seed */
#define GB_IS_SPLIT_SIZE 5000   /* OpenAI's evaluator: rows per split */

typedef enum { GB_IS_LOGITS, GB_IS_PROBABILITIES } gb_is_input;

/* GB_USAGE for splits 0 or splits > n; GB_INPUT for classes < 2, non-finite values or
 * (GB_IS_PROBABILITIES) rows that are not distributions (naming the row); GB_ENV when memory
 * runs out. */
gb_status gb_inception_score(double *mean, double *std, const float *x /* [n, classes] */, size_t n, size_t classes,
                             size_t splits, gb_is_input input);

/* The same on the rows in torch-fidelity's order: row i of the splits is row perm[i] of x, with
 * perm = numpy.random.RandomState(seed).permutation(n). Errors as gb_inception_score, naming
 * rows by their index in x. */
gb_status gb_inception_score_shuffled(double *mean, double *std, const float *x, size_t n, size_t classes,
                                      size_t splits, gb_is_input input, uint32_t seed);

/* OpenAI's guided-diffusion evaluator's form (evaluations/evaluator.py, compute_inception_score):
 * the rows in the order given, in consecutive splits of split_size rows (GB_IS_SPLIT_SIZE there),
 * the last holding the rest, so ceil(n / split_size) splits, which may end with a small one.
 * The evaluator prints only the mean; std is the same population spread as above. GB_USAGE
 * for split_size 0 or n 0; otherwise errors as gb_inception_score. */
gb_status gb_inception_score_split_size(double *mean, double *std, const float *x, size_t n, size_t classes,
                                        size_t split_size, gb_is_input input);

#endif
