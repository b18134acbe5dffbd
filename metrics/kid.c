/* metrics/kid.c - Kernel Inception Distance with seeded subsets (see metrics/kid.h; tested by
 * tests/test_fid_stats.c). */
#include "metrics/kid.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/philox.h"

gb_status gb_features_check_finite(const float *x, size_t n, size_t dim, const char *set) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++)
            if (!isfinite(x[i * dim + j]))
                return gb_fail(GB_INPUT, "%s features: row %zu, column %zu is %g: features must be finite", set, i, j,
                               (double)x[i * dim + j]);
    return GB_OK;
}

void gb_kid_subset_indices(uint32_t *idx, uint64_t seed, size_t subset, int which, size_t n, size_t m) {
    GB_ASSERT(m <= n && n <= UINT32_MAX, "subset of %zu from %zu rows", m, n);
    /* A full identity table would cost n words of memory per subset; a small open-addressing
     * map of the displaced entries keeps the partial shuffle O(m). */
    size_t cap = 16;
    while (cap < 4 * m) cap <<= 1;
    uint32_t *keys = malloc(cap * sizeof *keys), *vals = malloc(cap * sizeof *vals);
    GB_ASSERT(keys && vals, "out of memory for %zu subset indices", m);
    memset(keys, 0xff, cap * sizeof *keys); /* UINT32_MAX = empty; n <= UINT32_MAX so no row has it */
    gb_stream s = gb_stream_openf(seed, "kid/%zu/%s", subset, which ? "ref" : "gen");
#define SLOT(k, pos)                                                                              \
    do {                                                                                          \
        pos = ((size_t)(k) * 0x9E3779B1u) & (cap - 1);                                            \
        while (keys[pos] != UINT32_MAX && keys[pos] != (k)) pos = (pos + 1) & (cap - 1);          \
    } while (0)
    for (size_t i = 0; i < m; i++) {
        uint32_t j = (uint32_t)i + gb_stream_below(&s, (uint32_t)(n - i));
        size_t pi, pj;
        SLOT((uint32_t)i, pi);
        SLOT(j, pj);
        uint32_t vi = keys[pi] == UINT32_MAX ? (uint32_t)i : vals[pi];
        uint32_t vj = keys[pj] == UINT32_MAX ? j : vals[pj];
        idx[i] = vj;
        /* perm[j] = old perm[i]; perm[i] is never read again (later steps use positions > i). */
        keys[pj] = j;
        vals[pj] = vi;
    }
#undef SLOT
    free(keys);
    free(vals);
}

static double kpoly(double dot, double inv_d) {
    double t = dot * inv_d + 1.0;
    return t * t * t;
}

/* Sum over i != j of k for the m x m Gram matrix whose upper triangle is in g (row-major). */
static double offdiag_sum(const double *g, size_t m, double inv_d) {
    double total = 0.0;
    for (size_t i = 0; i < m; i++) {
        double row = 0.0;
        for (size_t j = i + 1; j < m; j++) row += kpoly(g[i * m + j], inv_d);
        total += row;
    }
    return 2.0 * total;
}

static void gather(double *dst, const float *src, const uint32_t *idx, size_t m, size_t dim) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < dim; j++) dst[i * dim + j] = src[(size_t)idx[i] * dim + j];
}

gb_status gb_kid(gb_kid_result *out, double *per_subset, const float *gen, size_t n_gen, const float *ref,
                 size_t n_ref, size_t dim, size_t subsets, size_t subset_size, uint64_t seed) {
    if (subsets == 0 || subset_size < 2)
        return gb_fail(GB_USAGE, "KID needs at least 1 subset of at least 2 rows (got %zu subsets of %zu)", subsets,
                       subset_size);
    if (n_gen < 2 || n_ref < 2 || dim == 0)
        return gb_fail(GB_INPUT, "KID needs at least 2 feature rows per set and dimension >= 1 (got %zu and %zu rows "
                                 "of dimension %zu)",
                       n_gen, n_ref, dim);
    if (n_gen > UINT32_MAX || n_ref > UINT32_MAX) return gb_fail(GB_INPUT, "KID: more than 2^32-1 rows");
    GB_TRY(gb_features_check_finite(gen, n_gen, dim, "generated"));
    GB_TRY(gb_features_check_finite(ref, n_ref, dim, "reference"));
    size_t m = subset_size;
    if (m > n_gen) m = n_gen;
    if (m > n_ref) m = n_ref;
    double *x = malloc(m * dim * sizeof *x), *y = malloc(m * dim * sizeof *y), *g = malloc(m * m * sizeof *g);
    double *vals = malloc(subsets * sizeof *vals);
    uint32_t *ix = malloc(m * sizeof *ix), *iy = malloc(m * sizeof *iy);
    if (!x || !y || !g || !vals || !ix || !iy) {
        free(x), free(y), free(g), free(vals), free(ix), free(iy);
        return gb_fail(GB_ENV, "out of memory for KID subsets of %zu rows", m);
    }
    double inv_d = 1.0 / (double)dim, md = (double)m;
    for (size_t s = 0; s < subsets; s++) {
        gb_kid_subset_indices(ix, seed, s, 0, n_gen, m);
        gb_kid_subset_indices(iy, seed, s, 1, n_ref, m);
        gather(x, gen, ix, m, dim);
        gather(y, ref, iy, m, dim);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)m, (int)dim, 1.0, x, (int)dim, 0.0, g, (int)m);
        double sxx = offdiag_sum(g, m, inv_d);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)m, (int)dim, 1.0, y, (int)dim, 0.0, g, (int)m);
        double syy = offdiag_sum(g, m, inv_d);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)m, (int)dim, 1.0, x, (int)dim, y, (int)dim,
                    0.0, g, (int)m);
        double sxy = 0.0;
        for (size_t i = 0; i < m; i++) {
            double row = 0.0;
            for (size_t j = 0; j < m; j++) row += kpoly(g[i * m + j], inv_d);
            sxy += row;
        }
        vals[s] = (sxx + syy) / (md * (md - 1.0)) - 2.0 * sxy / (md * md);
    }
    double mean = 0.0, var = 0.0, spread = 0.0;
    for (size_t s = 0; s < subsets; s++) mean += vals[s];
    mean /= (double)subsets;
    /* deviations scaled by the largest before squaring: features near FLT_MAX give subset
     * values near 1e230, whose squares would overflow to an infinite spread */
    for (size_t s = 0; s < subsets; s++) spread = fmax(spread, fabs(vals[s] - mean));
    for (size_t s = 0; s < subsets && spread > 0; s++) var += ((vals[s] - mean) / spread) * ((vals[s] - mean) / spread);
    out->mean = mean;
    out->std = spread * sqrt(var / (double)subsets);
    out->subsets = subsets;
    out->subset_size = m;
    if (per_subset) memcpy(per_subset, vals, subsets * sizeof *vals);
    free(x), free(y), free(g), free(vals), free(ix), free(iy);
    if (!isfinite(out->mean) || !isfinite(out->std)) /* a guard: float features stay below ~1e231 */
        return gb_fail(GB_NUMERIC, "KID is %g (spread %g): not finite", out->mean, out->std);
    return GB_OK;
}
