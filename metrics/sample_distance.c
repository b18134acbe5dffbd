/* metrics/sample_distance.c - sliced Wasserstein-1, RBF-kernel MMD^2 and the median-heuristic
 * bandwidth between two point sets (definitions and contracts in sample_distance.h).
 *
 * All arithmetic is double and every sum runs in index order, so the results are deterministic
 * and match scipy/numpy to round-off (tests/test_sample_distance.c, with fixtures from
 * tests/peers/sample_distance_ref.py).
 */
#include "metrics/sample_distance.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* GB_INPUT naming the first non-finite value of a set; the message tells the caller the fix. */
static gb_status check_finite(const char *fn, const char *set, const float *x, size_t n,
                              size_t dim) {
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < dim; c++) {
            float v = x[i * dim + c];
            if (!isfinite(v))
                return gb_fail(GB_INPUT,
                               "%s: set %s, point %zu, coordinate %zu is %g (index %zu of the "
                               "[%zu,%zu] array); drop or repair non-finite samples before "
                               "scoring",
                               fn, set, i, c, (double)v, i * dim + c, n, dim);
        }
    }
    return GB_OK;
}

static gb_status check_sets(const char *fn, const float *a, size_t na, const float *b, size_t nb,
                            size_t dim, size_t min_points) {
    if (na < min_points || nb < min_points)
        return gb_fail(GB_INPUT, "%s: set %s has %zu point(s), needs at least %zu", fn,
                       na < min_points ? "a" : "b", na < min_points ? na : nb, min_points);
    if (dim == 0) return gb_fail(GB_INPUT, "%s: points have dimension 0", fn);
    GB_TRY(check_finite(fn, "a", a, na, dim));
    return check_finite(fn, "b", b, nb, dim);
}

void gb_sliced_directions_2d(float *dirs, size_t n) {
    GB_ASSERT(dirs != NULL || n == 0, "dirs is NULL");
    for (size_t k = 0; k < n; k++) {
        /* (pi * k) / n in this order, as numpy's np.pi * np.arange(n) / n, so both round alike. */
        double theta = M_PI * (double)k / (double)n;
        dirs[2 * k] = (float)cos(theta);
        dirs[2 * k + 1] = (float)sin(theta);
    }
}

static int cmp_double(const void *x, const void *y) {
    double u = *(const double *)x, v = *(const double *)y;
    return (u > v) - (u < v);
}

/* Exact 1-D W1 of two sorted samples: walk the merged order; on each gap [prev, t) the CDFs are
 * i/nu and j/nv, so the gap adds |i/nu - j/nv| (t - prev). The CDF difference is carried as the
 * integer |i nv - j nu| (exact in double below 2^53) and divided once at the end. Equal values
 * make zero-width gaps, so the order in which ties are taken does not matter. */
static double w1_sorted(const double *u, size_t nu, const double *v, size_t nv) {
    size_t i = 0, j = 0;
    double prev = u[0] < v[0] ? u[0] : v[0];
    double acc = 0.0;
    while (i < nu || j < nv) {
        int take_u = j == nv || (i < nu && u[i] <= v[j]);
        double t = take_u ? u[i] : v[j];
        acc += fabs((double)i * (double)nv - (double)j * (double)nu) * (t - prev);
        prev = t;
        if (take_u) i++;
        else j++;
    }
    return acc / ((double)nu * (double)nv);
}

static void project(double *p /* [n] */, const float *x /* [n,dim] */, size_t n, size_t dim,
                    const float *d /* [dim] */) {
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t c = 0; c < dim; c++) s += (double)x[i * dim + c] * (double)d[c];
        p[i] = s;
    }
}

gb_status gb_sliced_w1(double *out, const float *a, size_t na, const float *b, size_t nb,
                       size_t dim, const float *dirs, size_t n_dirs) {
    static const char fn[] = "gb_sliced_w1";
    GB_ASSERT(out != NULL, "out is NULL");
    GB_TRY(check_sets(fn, a, na, b, nb, dim, 1));
    if (n_dirs == 0) return gb_fail(GB_USAGE, "%s: no projection directions (n_dirs = 0)", fn);
    GB_ASSERT(dirs != NULL, "dirs is NULL");
    for (size_t k = 0; k < n_dirs; k++) {
        double norm2 = 0.0;
        for (size_t c = 0; c < dim; c++) norm2 += (double)dirs[k * dim + c] * dirs[k * dim + c];
        /* float rounding of a unit vector leaves |norm2 - 1| ~ 1e-7; anything far off is a bug. */
        GB_ASSERT(fabs(norm2 - 1.0) < 1e-5, "direction %zu has squared norm %g, not 1", k, norm2);
    }

    double *pa = malloc(na * sizeof *pa);
    double *pb = malloc(nb * sizeof *pb);
    if (pa == NULL || pb == NULL) {
        free(pa);
        free(pb);
        return gb_fail(GB_ENV, "%s: out of memory for %zu + %zu projections", fn, na, nb);
    }
    double sum = 0.0;
    for (size_t k = 0; k < n_dirs; k++) {
        project(pa, a, na, dim, dirs + k * dim);
        project(pb, b, nb, dim, dirs + k * dim);
        qsort(pa, na, sizeof *pa, cmp_double);
        qsort(pb, nb, sizeof *pb, cmp_double);
        sum += w1_sorted(pa, na, pb, nb);
    }
    free(pa);
    free(pb);
    *out = sum / (double)n_dirs;
    return GB_OK;
}

/* sum over (i, j) of exp(-||x_i - y_j||^2 / two_h2), skipping i == j when skip_diag; one partial
 * sum per row, rows added in order. Identical inputs take identical paths, bit for bit. */
static double kernel_sum(const float *x, size_t nx, const float *y, size_t ny, size_t dim,
                         double two_h2, int skip_diag) {
    double total = 0.0;
    for (size_t i = 0; i < nx; i++) {
        double row = 0.0;
        for (size_t j = 0; j < ny; j++) {
            if (skip_diag && i == j) continue;
            double d2 = 0.0;
            for (size_t c = 0; c < dim; c++) {
                double diff = (double)x[i * dim + c] - (double)y[j * dim + c];
                d2 += diff * diff;
            }
            row += exp(-d2 / two_h2);
        }
        total += row;
    }
    return total;
}

gb_status gb_mmd2_rbf(double *out, const float *a, size_t na, const float *b, size_t nb,
                      size_t dim, double bandwidth, gb_mmd_estimator est) {
    static const char fn[] = "gb_mmd2_rbf";
    GB_ASSERT(out != NULL, "out is NULL");
    GB_ASSERT(est == GB_MMD_BIASED || est == GB_MMD_UNBIASED, "unknown estimator %d", (int)est);
    int unbiased = est == GB_MMD_UNBIASED;
    GB_TRY(check_sets(fn, a, na, b, nb, dim, unbiased ? 2 : 1));
    if (!isfinite(bandwidth) || bandwidth <= 0.0)
        return gb_fail(GB_USAGE,
                       "%s: bandwidth %g is not a positive finite number; pass h > 0 (the "
                       "median heuristic gives 0 when all points coincide and NaN on failure)",
                       fn, bandwidth);
    double two_h2 = 2.0 * bandwidth * bandwidth;
    if (!(two_h2 > 0.0) || !isfinite(two_h2))
        return gb_fail(GB_USAGE, "%s: bandwidth %g squared under- or overflows", fn, bandwidth);

    double s_aa = kernel_sum(a, na, a, na, dim, two_h2, unbiased);
    double s_bb = kernel_sum(b, nb, b, nb, dim, two_h2, unbiased);
    double s_ab = kernel_sum(a, na, b, nb, dim, two_h2, 0);
    double dna = (double)na, dnb = (double)nb;
    double xx = unbiased ? s_aa / (dna * (dna - 1.0)) : s_aa / (dna * dna);
    double yy = unbiased ? s_bb / (dnb * (dnb - 1.0)) : s_bb / (dnb * dnb);
    double xy = s_ab / (dna * dnb);
    double mmd2 = xx + yy - 2.0 * xy;
    /* The V-statistic is a squared norm: a negative value is round-off only (see header). */
    if (!unbiased && mmd2 < 0.0) mmd2 = 0.0;
    *out = mmd2;
    return GB_OK;
}

double gb_median_pairwise_distance(const float *a, size_t na, const float *b, size_t nb,
                                   size_t dim, size_t max_points) {
    static const char fn[] = "gb_median_pairwise_distance";
    size_t ma = na < max_points ? na : max_points;
    size_t mb = nb < max_points ? nb : max_points;
    size_t m = ma + mb;
    if (m < 2) {
        gb_fail(GB_INPUT, "%s: %zu pooled point(s) (na = %zu, nb = %zu, max_points = %zu); "
                "need at least 2", fn, m, na, nb, max_points);
        return NAN;
    }
    if (dim == 0) {
        gb_fail(GB_INPUT, "%s: points have dimension 0", fn);
        return NAN;
    }
    if (check_finite(fn, "a", a, ma, dim) != GB_OK || check_finite(fn, "b", b, mb, dim) != GB_OK)
        return NAN;
    /* m(m-1)/2 pairs; refuse counts whose byte size would overflow size_t. */
    if (m - 1 > SIZE_MAX / sizeof(double) / m * 2) {
        gb_fail(GB_ENV, "%s: %zu pooled points give too many pairs; lower max_points", fn, m);
        return NAN;
    }
    size_t n_pairs = m * (m - 1) / 2;
    double *dist = malloc(n_pairs * sizeof *dist);
    if (dist == NULL) {
        gb_fail(GB_ENV, "%s: out of memory for %zu pair distances; lower max_points", fn, n_pairs);
        return NAN;
    }
    size_t k = 0;
    for (size_t p = 0; p < m; p++) {
        const float *x = p < ma ? a + p * dim : b + (p - ma) * dim;
        for (size_t q = p + 1; q < m; q++) {
            const float *y = q < ma ? a + q * dim : b + (q - ma) * dim;
            double d2 = 0.0;
            for (size_t c = 0; c < dim; c++) {
                double diff = (double)x[c] - (double)y[c];
                d2 += diff * diff;
            }
            dist[k++] = sqrt(d2);
        }
    }
    qsort(dist, n_pairs, sizeof *dist, cmp_double);
    double med = n_pairs % 2 ? dist[n_pairs / 2]
                             : (dist[n_pairs / 2 - 1] + dist[n_pairs / 2]) / 2.0;
    free(dist);
    return med;
}
