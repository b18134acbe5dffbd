/* metrics/prdc.h - improved precision / recall (Kynkaanniemi et al. 2019) and density /
 * coverage (Naeem et al. 2020) on feature sets (specs/metrics.md).
 *
 * The manifold of a set is the union of balls around its points, each with radius r_k = the
 * distance to the point's k-th nearest neighbour in the same set, the point itself excluded.
 *   precision = share of fake points inside the real manifold
 *   recall    = share of real points inside the fake manifold
 *   density   = (1 / (k M)) sum_j #{i : |y_j - x_i| cmp r_k(x_i)}   (x real, y fake, M fakes)
 *   coverage  = share of real x_i with some fake y_j, |y_j - x_i| cmp r_k(x_i)
 * where cmp is <= or <. Protocols by name:
 *   "kynkaanniemi"  k = 3, <=   the default: Kynkaanniemi et al.'s reference code (squared
 *                               distances, `distances <= radii`), torch-fidelity, StyleGAN2-ADA,
 *                               guided-diffusion's evaluator
 *   "prdc"          k = 5, <    Naeem et al.'s prdc package (sklearn euclidean distances,
 *                               strict `<` for all four numbers) and StudioGAN
 * Density and coverage use the protocol's comparison too; with "prdc" all four numbers are
 * prdc's. With continuous features exact ties have probability zero, so <= and < differ only
 * on duplicated points.
 *
 * Distances: squared distances |x|^2 + |y|^2 - 2 x.y in float64 (rows converted to double per
 * block, dot products by cblas_dgemm, clamped at 0), compared with squared radii. Blocks of
 * GB_PRDC_BLOCK rows, so memory stays at a few blocks (about 40 MiB at d = 2048) plus O(n k)
 * for the neighbour lists, whatever n is: 50k x 50k runs in bounded memory. Cost: n_r^2 +
 * n_f^2 + n_r n_f dot products of length d. Every sum and scan runs in a fixed order, so the
 * result depends only on the inputs.
 *
 * Tested by tests/test_fid_stats.c: hand-made point sets (a duplicated point separating <= from
 * <), identical sets, and parity with numpy transcriptions of the Kynkaanniemi reference and of
 * prdc (tests/peers/fid_stats.py).
 */
#ifndef GB_PRDC_H
#define GB_PRDC_H

#include <stddef.h>

#include "core/status.h"

#define GB_PRDC_BLOCK 1024

typedef struct {
    size_t k;   /* neighbourhood size */
    int strict; /* 1: distance < radius; 0: distance <= radius */
} gb_prdc_protocol;

/* "kynkaanniemi" (k = 3, <=) or "prdc" (k = 5, <); GB_USAGE naming both otherwise. */
gb_status gb_prdc_protocol_by_name(gb_prdc_protocol *p, const char *name);

typedef struct {
    double precision, recall, density, coverage;
    gb_prdc_protocol protocol;
} gb_prdc_result;

/* Squared distance from each row of x to its k-th nearest other row. GB_INPUT when k >= n or
 * k == 0; GB_ENV when memory runs out. */
gb_status gb_knn_radii2(double *r2 /* [n] */, const float *x /* [n, dim] */, size_t n, size_t dim, size_t k);

/* All four numbers. GB_INPUT for non-finite values, dim 0, or a set with <= k rows. */
gb_status gb_prdc(gb_prdc_result *out, const float *real /* [n_real, dim] */, size_t n_real,
                  const float *fake /* [n_fake, dim] */, size_t n_fake, size_t dim, gb_prdc_protocol protocol);

#endif
