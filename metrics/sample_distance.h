/* metrics/sample_distance.h - Inception-free sample quality for low-dimensional (toy) data:
 * sliced Wasserstein-1 distance and the RBF-kernel MMD^2 between a sample set and a data set,
 * plus the median-heuristic bandwidth (specs/metrics.md, "Sample quality without Inception").
 *
 * Point sets are row-major float arrays [n, dim]; everything is accumulated in double, in a
 * fixed order, so a result depends only on the inputs (bitwise-deterministic, no threads).
 * Non-finite inputs are rejected with GB_INPUT and a message naming the set ("a" or "b"), the
 * point and the coordinate.
 *
 * Tested by tests/test_sample_distance.c: closed forms (identical sets give 0, a shift s gives
 * mean_k |s . d_k|, single points, hand-computed 2-point U-statistic, unequal sizes in 1-D,
 * permutation invariance, rejection of non-finite input) and parity with scipy/numpy through
 * the fixtures written by tests/peers/sample_distance_ref.py.
 */
#ifndef GB_SAMPLE_DISTANCE_H
#define GB_SAMPLE_DISTANCE_H

#include <stddef.h>

#include "core/status.h"

/* Unit projection directions for sliced distances in 2-D: d_k = (cos theta_k, sin theta_k) with
 * theta_k = pi * k / n, k = 0..n-1, computed in double and rounded to float.
 *
 * Why evenly spaced instead of random: sliced W1 in 2-D is an integral over the half circle of
 * directions. n evenly spaced angles are the rectangle rule for that periodic integrand, whose
 * error falls like O(1/n^2) (the integrand has kinks, so not faster), while n random directions
 * give a Monte Carlo error of O(1/sqrt(n)) and a value that depends on the seed. The fixed grid
 * has nothing to seed or record, and a shift s gives the closed form
 * mean_k |s . d_k| = |s| cot(pi/2n) / n (n even) or |s| csc(pi/2n) / n (n odd) when s lies
 * along an axis direction of the grid.
 * The float directions have unit norm to within float rounding (about 6e-8). */
void gb_sliced_directions_2d(float *dirs /* [n,2] */, size_t n);

/* Sliced W1: the mean over the n_dirs directions of the exact 1-D Wasserstein-1 distance between
 * the projected empirical distributions of a [na,dim] and b [nb,dim] (sizes may differ; weights
 * 1/na and 1/nb). Each 1-D distance is the integral of |F_a(t) - F_b(t)| dt over the merged
 * sorted projections, the definition scipy.stats.wasserstein_distance uses; the CDF difference
 * is kept as the exact integer |i*nb - j*na| and divided by na*nb once per direction.
 * Projections and sums are in double. Identical sets (in any order) give exactly 0.
 * dirs: [n_dirs,dim] unit vectors (e.g. from gb_sliced_directions_2d; a non-unit direction
 * scales that direction's term, which is a programmer error and asserted).
 * Returns GB_INPUT when na or nb is 0, dim is 0, or a value is non-finite (naming set and
 * index); GB_USAGE when n_dirs is 0; GB_ENV when memory runs out. *out is written only on
 * GB_OK. */
gb_status gb_sliced_w1(double *out, const float *a /* [na,dim] */, size_t na,
                       const float *b /* [nb,dim] */, size_t nb, size_t dim,
                       const float *dirs /* [n_dirs,dim] */, size_t n_dirs);

/* Squared MMD with the Gaussian kernel k(x,y) = exp(-||x-y||^2 / (2 h^2)), h = bandwidth.
 *
 * GB_MMD_BIASED: the V-statistic, all pairs including i == j:
 *   mean_{i,j} k(a_i,a_j) + mean_{i,j} k(b_i,b_j) - 2 mean_{i,j} k(a_i,b_j).
 *   It is a squared RKHS norm, so it is >= 0; the three sums use the same loop, so identical
 *   arrays give exactly 0. A negative value can only be rounding (|value| ~ 1e-16), and is
 *   returned as 0 so that the documented ">= 0" holds.
 * GB_MMD_UNBIASED: the U-statistic, i != j within a set:
 *   sum_{i!=j} k(a_i,a_j) / (na(na-1)) + sum_{i!=j} k(b_i,b_j) / (nb(nb-1))
 *   - 2 sum_{i,j} k(a_i,b_j) / (na nb). May be negative; never clamped. Needs na, nb >= 2.
 *
 * Kernel values and all sums are double, accumulated row by row in index order (one partial
 * sum per row, then the rows in order), so the result is deterministic. Cost O((na+nb)^2 dim).
 * Returns GB_INPUT for empty sets (or fewer than 2 points with the unbiased estimator), dim 0
 * or non-finite values (naming set and index); GB_USAGE for a bandwidth that is not finite and
 * positive (the median heuristic gives 0 when all pooled points coincide, NaN on failure).
 * *out is written only on GB_OK. */
typedef enum { GB_MMD_BIASED, GB_MMD_UNBIASED } gb_mmd_estimator;
gb_status gb_mmd2_rbf(double *out, const float *a /* [na,dim] */, size_t na,
                      const float *b /* [nb,dim] */, size_t nb, size_t dim, double bandwidth,
                      gb_mmd_estimator est);

/* Median heuristic bandwidth: the median of the Euclidean distances between all distinct pairs
 * (i < j) of the pooled set made of the first min(na, max_points) points of a followed by the
 * first min(nb, max_points) points of b (deterministic: no subsampling at random). For an even
 * number of pairs it is the mean of the two middle distances (numpy.median of scipy's pdist).
 * Returns NaN, with the reason in gb_last_error(), when fewer than two points are pooled, a
 * pooled value is non-finite, or memory runs out; gb_mmd2_rbf rejects that NaN as a bandwidth.
 * Memory: (m(m-1)/2) doubles for m pooled points (16 MB at m = 2000). */
double gb_median_pairwise_distance(const float *a /* [na,dim] */, size_t na,
                                   const float *b /* [nb,dim] */, size_t nb, size_t dim,
                                   size_t max_points);

#endif
