/* metrics/fid.c - streaming FID statistics and the Frechet distance via symmetric
 * eigendecompositions (see metrics/fid.h, which also records the timings behind the choice of
 * LAPACK routines; stats files: metrics/fid_file.c; tested by tests/test_fid_stats.c). */
#include "metrics/fid.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/log.h"
#include "kernels/kernels.h"
#include "metrics/congruence.h"
#ifdef GB_HAVE_CUDA
#include "kernels/cuda/cuda_linalg.h"
#endif

void gb_fid_stats_free(gb_fid_stats *s) {
    if (!s) return;
    free(s->mu);
    free(s->sigma);
    memset(s, 0, sizeof *s);
}

gb_status gb_fid_stats_alloc(gb_fid_stats *s, size_t dim) {
    memset(s, 0, sizeof *s);
    s->dim = dim;
    s->mu = malloc(dim * sizeof *s->mu);
    s->sigma = malloc(dim * dim * sizeof *s->sigma);
    if (!s->mu || !s->sigma) {
        gb_fid_stats_free(s);
        return gb_fail(GB_ENV, "out of memory for FID statistics of dimension %zu", dim);
    }
    return GB_OK;
}

/* ---- streaming statistics ------------------------------------------------------------------ */

gb_status gb_fid_accum_init(gb_fid_accum *a, size_t dim) {
    memset(a, 0, sizeof *a);
    if (dim == 0) return gb_fail(GB_USAGE, "FID statistics need a feature dimension >= 1");
    a->dim = dim;
    a->sum = calloc(dim, sizeof *a->sum);
    a->m2 = calloc(dim * dim, sizeof *a->m2);
    a->chunk = malloc((size_t)GB_FID_CHUNK * dim * sizeof *a->chunk);
    a->tmp = malloc(2 * dim * sizeof *a->tmp);
    if (!a->sum || !a->m2 || !a->chunk || !a->tmp) {
        gb_fid_accum_free(a);
        return gb_fail(GB_ENV, "out of memory for the FID accumulator (dimension %zu)", dim);
    }
    return GB_OK;
}

void gb_fid_accum_free(gb_fid_accum *a) {
    if (!a) return;
    free(a->sum);
    free(a->m2);
    free(a->chunk);
    free(a->tmp);
    memset(a, 0, sizeof *a);
}

/* Fold nb rows x (centred in place) into (*n, sum, m2): Chan et al.'s pairwise update.
 * tmp holds 2 * dim doubles. */
static void fold_chunk(size_t dim, uint64_t *n, double *sum, double *m2, double *x /* [nb, dim] */, size_t nb,
                       double *tmp) {
    double *csum = tmp, *delta = tmp + dim;
    memset(csum, 0, dim * sizeof *csum);
    for (size_t i = 0; i < nb; i++)
        for (size_t j = 0; j < dim; j++) csum[j] += x[i * dim + j];
    for (size_t j = 0; j < dim; j++) {
        double mean_b = csum[j] / (double)nb;
        delta[j] = *n ? mean_b - sum[j] / (double)*n : 0.0;
        for (size_t i = 0; i < nb; i++) x[i * dim + j] -= mean_b;
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)dim, (int)nb, 1.0, x, (int)dim, 1.0, m2, (int)dim);
    if (*n) {
        double na = (double)*n, w = na * (double)nb / (na + (double)nb);
        cblas_dsyr(CblasRowMajor, CblasUpper, (int)dim, w, delta, 1, m2, (int)dim);
    }
    for (size_t j = 0; j < dim; j++) sum[j] += csum[j];
    *n += nb;
}

gb_status gb_fid_accum_add(gb_fid_accum *a, const float *x, size_t rows) {
    size_t dim = a->dim;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < dim; j++)
            if (!isfinite(x[i * dim + j]))
                return gb_fail(GB_INPUT, "feature row %llu, column %zu is %g: features must be finite",
                               (unsigned long long)(a->n + a->pending + i), j, (double)x[i * dim + j]);
    for (size_t i = 0; i < rows; i++) {
        double *dst = a->chunk + a->pending * dim;
        for (size_t j = 0; j < dim; j++) dst[j] = x[i * dim + j];
        if (++a->pending == GB_FID_CHUNK) {
            fold_chunk(dim, &a->n, a->sum, a->m2, a->chunk, a->pending, a->tmp);
            a->pending = 0;
        }
    }
    return GB_OK;
}

gb_status gb_fid_accum_finish(gb_fid_accum *a, gb_fid_stats *out) {
    size_t dim = a->dim;
    uint64_t n = a->n + a->pending;
    memset(out, 0, sizeof *out);
    if (n < 2) return gb_fail(GB_INPUT, "FID statistics need at least 2 feature rows (got %llu)", (unsigned long long)n);
    GB_TRY(gb_fid_stats_alloc(out, dim));
    /* Fold the partial chunk into copies so that more rows can still be added afterwards. */
    double *rows = a->pending ? malloc(a->pending * dim * sizeof *rows) : NULL;
    if (a->pending && !rows) {
        gb_fid_stats_free(out);
        return gb_fail(GB_ENV, "out of memory finishing FID statistics");
    }
    uint64_t folded = a->n;
    memcpy(out->mu, a->sum, dim * sizeof *out->mu); /* used as the running sum here */
    memcpy(out->sigma, a->m2, dim * dim * sizeof *out->sigma);
    if (a->pending) {
        memcpy(rows, a->chunk, a->pending * dim * sizeof *rows);
        fold_chunk(dim, &folded, out->mu, out->sigma, rows, a->pending, a->tmp);
        free(rows);
    }
    double inv_n = 1.0 / (double)n, inv_n1 = 1.0 / (double)(n - 1);
    for (size_t j = 0; j < dim; j++) out->mu[j] *= inv_n;
    for (size_t i = 0; i < dim; i++) {
        out->sigma[i * dim + i] *= inv_n1;
        for (size_t j = i + 1; j < dim; j++) {
            double v = out->sigma[i * dim + j] * inv_n1;
            out->sigma[i * dim + j] = v;
            out->sigma[j * dim + i] = v;
        }
    }
    out->n = n;
    if (a->label) snprintf(out->label, sizeof out->label, "%s", a->label);
    return GB_OK;
}

void gb_fid_stats_warn_few_samples(const gb_fid_stats *s) {
    /* N rows have an N - 1 dimensional span about their mean. */
    if (s->n && s->n <= s->dim)
        gb_warn("FID statistics%s%s from %llu samples in %zu dimensions: the covariance is singular (rank at most "
                "%llu) and FID is strongly biased; use more than %zu samples",
                s->label[0] ? " of " : "", s->label, (unsigned long long)s->n, s->dim, (unsigned long long)s->n - 1,
                s->dim);
}

gb_status gb_fid_stats_from_features(gb_fid_stats *out, const float *x, size_t n, size_t dim, const char *label) {
    memset(out, 0, sizeof *out);
    gb_fid_accum a;
    GB_TRY(gb_fid_accum_init(&a, dim));
    a.label = label;
    gb_status s = gb_fid_accum_add(&a, x, n);
    if (s == GB_OK) s = gb_fid_accum_finish(&a, out);
    gb_fid_accum_free(&a);
    if (s == GB_OK) gb_fid_stats_warn_few_samples(out);
    return s;
}

/* ---- Frechet distance ------------------------------------------------------------------------ */

gb_status gb_fid_check_finite(const double *v, size_t n, const char *what, size_t dim) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) {
            if (dim) return gb_fail(GB_INPUT, "%s[%zu, %zu] is %g: statistics must be finite", what, i / dim, i % dim, v[i]);
            return gb_fail(GB_INPUT, "%s[%zu] is %g: statistics must be finite", what, i, v[i]);
        }
    return GB_OK;
}

/* Eigenvalues at or below r * DBL_EPSILON * |largest| are indistinguishable from the rounding
 * of dsyevd (backward error about r eps |M|) and count as 0. Taking their square root would add
 * up to sqrt(r eps) |M|^(1/2) of noise each: a singular covariance (N < d) has d - N + 1 such
 * eigenvalues, whose noise would otherwise dominate the error of the trace. */
static double noise_floor(size_t r, double largest) { return (double)r * DBL_EPSILON * largest; }

/* A negative eigenvalue below this fraction of the largest magnitude is not rounding: a
 * covariance stored in float32 (TTUR's statistics files) moves its eigenvalues by at most
 * d * 2^-24 of the largest (1.2e-4 at d = 2048, ~1e-6 in practice), and one accumulated in
 * float64 by ~1e-13. Between CLAMP_WARN_FRACTION and this, the eigenvalue is clamped with a
 * warning; above CLAMP_WARN_FRACTION it is clamped quietly, as rounding. */
#define NOT_PSD_FRACTION 1e-3
#define CLAMP_WARN_FRACTION 1e-6

/* Largest eigenvalue magnitude of ascending eigenvalues w[0..n). */
static double largest_magnitude(const double *w, size_t n) { return n ? fmax(fabs(w[0]), fabs(w[n - 1])) : 0.0; }

/* 1 when the lowest of ascending eigenvalues w[0..n) is negative beyond rounding, so that
 * clamping it to 0 deserves a warning. */
static int clamp_warrants_warning(const double *w, size_t n) {
    return n && w[0] < -CLAMP_WARN_FRACTION * largest_magnitude(w, n);
}

/* GB_INPUT naming `which` when w[0..n) (ascending eigenvalues of it) hold one below
 * -NOT_PSD_FRACTION of the largest magnitude. */
static gb_status check_psd(const double *w, size_t n, const char *which) {
    const double top = largest_magnitude(w, n);
    if (n && w[0] < -NOT_PSD_FRACTION * top)
        return gb_fail(GB_INPUT,
                       "Frechet distance: %s is not positive semi-definite (it has eigenvalue %.6g, the largest "
                       "magnitude is %.6g): it is not a covariance matrix",
                       which, w[0], top);
    return GB_OK;
}

/* GB_INPUT unless the diagonal of the d x d matrix s (its variances) is >= 0. Its symmetry is
 * not checked here: every step reads one triangle (the stats loader symmetrizes a file's sigma
 * and refuses gross asymmetry, the accumulator writes both triangles alike), and a d^2 sweep of
 * strided reads would cost 5% of the distance's time at d = 2048. */
static gb_status check_variances(const double *s, size_t d, const char *which) {
    for (size_t i = 0; i < d; i++)
        if (s[i * d + i] < 0)
            return gb_fail(GB_INPUT, "Frechet distance: %s has a negative variance, [%zu, %zu] = %.6g: it is not a "
                                     "covariance matrix",
                           which, i, i, s[i * d + i]);
    return GB_OK;
}

/* dsyevd (jobz 'N' or 'V', lower triangle of the column-major n x n a): cuSOLVER when dev is
 * a CUDA device (kernels/cuda/cuda_linalg.h, in CUDA builds), else LAPACK. `what` names the
 * matrix in the error. With jobz 'N' a is left undefined. */
static gb_status symmetric_eigen(gb_device *dev, char jobz, size_t n, double *a, double *w, const char *what) {
#ifdef GB_HAVE_CUDA
    if (dev && strcmp(dev->ops->name, "cuda") == 0) return gb_cuda_dsyevd(dev, jobz, n, a, w);
#else
    (void)dev;
#endif
    lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, jobz, 'L', (lapack_int)n, a, (lapack_int)n, w);
    if (info != 0)
        return gb_fail(GB_NUMERIC, "Frechet distance: LAPACKE_dsyevd failed (info %d) on %s (%zu x %zu)", (int)info,
                       what, n, n);
    return GB_OK;
}

/* A covariance with eigenvalues at zero (within rounding) gives a biased FID: say so, with how
 * many. A sample covariance of N rows has rank at most N - 1; dependent features (duplicated
 * rows, constant or collinear features) lower it further. */
static void warn_rank_deficient(const char *which, const char *where, size_t zeros, size_t order) {
    if (zeros)
        gb_warn("Frechet distance: %s%s is rank-deficient (%zu of its %zu eigenvalues are zero within rounding): "
                "fewer independent samples than dimensions, or dependent features; the FID is biased",
                which, where, zeros, order);
}

/* The names the warnings give the two covariances: "sigma1" and "sigma2", or "the covariance
 * of LABEL" for labelled statistics. */
typedef struct {
    char s1[224], s2[224];
} sigma_names;

static void name_sigma(char *out, size_t size, const char *label, const char *fallback) {
    if (label && label[0]) snprintf(out, size, "the covariance of %s", label);
    else snprintf(out, size, "%s", fallback);
}

/* S's own eigenvalues (S: d x d, named `which`), computed in scratch [d * d] into w [d], and
 * check_psd on them: the judgement both rare cases below come to. */
static gb_status check_psd_of(gb_device *dev, const double *s, size_t d, double *scratch, double *w,
                              const char *which) {
    memcpy(scratch, s, d * d * sizeof *scratch);
    GB_TRY(symmetric_eigen(dev, 'N', d, scratch, w, which));
    return check_psd(w, d, which);
}

/* The covariance behind a congruence B^T S B (S: d x d, named `which`) whose lowest eigenvalue
 * `lowest` (of largest magnitude `top`) is clearly negative. B has full column rank, so by
 * Sylvester's law of inertia the negative eigenvalue is S's; how negative S's own is decides
 * between a refusal (check_psd) and a warning. S's eigenvalues are computed here, in scratch
 * [d * d] and w [d]: only in this rare case, so a covariance's rounding is never judged by the
 * product's scale (two covariances spread over different directions can make the product's
 * largest eigenvalue small against S's). */
static gb_status judge_indefinite(gb_device *dev, const double *s, size_t d, double *scratch, double *w,
                                  const char *which, double lowest, double top) {
    GB_TRY(check_psd_of(dev, s, d, scratch, w, which));
    /* S's own lowest eigenvalue may be rounding while the product's is not (an ill-conditioned
     * factor amplifies it): only S's own decides whether S is to blame */
    if (clamp_warrants_warning(w, d))
        gb_warn("Frechet distance: eigenvalue %.3g of the product with the other's square root (largest %.3g) "
                "clamped to 0: %s is not quite positive semi-definite (a covariance stored in float32?)",
                lowest, top, which);
    return GB_OK;
}

/* A distance below -1e-9 of its terms' size is no rounding: a covariance with negative
 * eigenvalues where the other has none to show them to the congruence (an eigenvalue -5 of S2
 * along a direction S1 is zero in). Both covariances' own eigenvalues (in scratch [d * d], w
 * [d]) then decide: GB_INPUT naming the indefinite one, else a warning. Rare: costs nothing on
 * ordinary inputs. */
static gb_status judge_negative_distance(gb_device *dev, double value, const double *s1, const double *s2, size_t d,
                                         double *scratch, double *w, const sigma_names *names) {
    GB_TRY(check_psd_of(dev, s1, d, scratch, w, names->s1));
    GB_TRY(check_psd_of(dev, s2, d, scratch, w, names->s2));
    gb_warn("Frechet distance is negative (%.6g): a covariance is not quite positive semi-definite", value);
    return GB_OK;
}

/* Eigenvalues of the symmetric r x r matrix m (lower triangle read, overwritten), clamped at 0,
 * square-rooted and summed in ascending order (w: at least d doubles of scratch); *zeros counts
 * those at or below the noise floor. m is a congruence B^T S B of the covariance s (d x d, named
 * suspect) with a full-rank B; a clearly negative eigenvalue is judged on s itself
 * (judge_indefinite, with scratch [d * d], which may be m's storage). */
static gb_status trace_sqrt_sym(gb_device *dev, double *out, size_t *zeros, double *m, size_t r, double *w,
                                const double *s, size_t d, double *scratch, const char *suspect) {
    /* dsyevd reads the lower triangle only: that triangle is a symmetric matrix within rounding
     * of the product (no symmetrizing pass, which cost a strided sweep over r^2 entries). */
    GB_TRY(symmetric_eigen(dev, 'N', r, m, w, "the product"));
    double top = largest_magnitude(w, r), acc = 0.0, floor = noise_floor(r, top);
    const double lowest = r ? w[0] : 0.0;
    *zeros = 0;
    for (size_t i = 0; i < r; i++) {
        if (w[i] > floor) acc += sqrt(w[i]);
        else ++*zeros;
    }
    *out = acc;
    if (lowest < -CLAMP_WARN_FRACTION * top) GB_TRY(judge_indefinite(dev, s, d, scratch, w, suspect, lowest, top));
    return GB_OK;
}

/* tr sqrt(L^T S2 L) with S1 = L L^T; returns 1 (and nothing else) when S1 is not positive
 * definite. Column-major throughout: a symmetric matrix reads the same in either order.
 * L^T S2 L has S2's rank, so its zero eigenvalues are S2's (named s2_name in the warning), or
 * S1's when S1 is singular to working precision and still passed Cholesky: the warning then
 * names s1_name as the other possibility. s1_name is NULL when S2's own factorisation failed,
 * which settles that the zeros are S2's. */
static int cholesky_path(gb_device *dev, gb_status *st, double *out, const double *s1, const double *s2,
                         const char *s2_name, const char *s1_name, size_t d, double *l, double *t, double *w) {
    memcpy(l, s1, d * d * sizeof *l);
    lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)d, l, (lapack_int)d);
    if (info > 0) return 1;
    if (info < 0) {
        *st = gb_fail(GB_NUMERIC, "Frechet distance: LAPACKE_dpotrf argument error %d", (int)info);
        return 0;
    }
    memcpy(t, s2, d * d * sizeof *t);
    /* Lower triangle of t = L^T S2 L in d^3 flops, half of two dtrmm calls (2 d^3) since the
     * result is symmetric (metrics/congruence.h; dsygst's product, faster); only lower
     * triangles are read. Its scratch is the second half of t, unused on this path. */
    GB_ASSERT(gb_congruence_work(d) <= d * d, "congruence scratch for order %zu exceeds the free half of t", d);
    gb_congruence_lower(d, t, d, l, d, t + d * d);
    size_t zeros;
    *st = trace_sqrt_sym(dev, out, &zeros, t, d, w, s2, d, t, s2_name);
    char where[256] = "";
    if (s1_name) snprintf(where, sizeof where, " (or %.200s, nearly singular)", s1_name);
    if (*st == GB_OK) warn_rank_deficient(s2_name, where, zeros, d);
    return 0;
}

/* tr sqrt(B^T S2 B) with B = V diag(sqrt(l)) over the eigenvalues l > 0 of S1. */
static gb_status eigen_path(gb_device *dev, double *out, const double *s1, const double *s2, size_t d, double *v,
                            double *t, double *w, const sigma_names *names) {
    memcpy(v, s1, d * d * sizeof *v);
    GB_TRY(symmetric_eigen(dev, 'V', d, v, w, "S1"));
    double top = largest_magnitude(w, d), floor = noise_floor(d, top);
    GB_TRY(check_psd(w, d, names->s1));
    if (clamp_warrants_warning(w, d))
        gb_warn("Frechet distance: eigenvalue %.3g of %s (largest %.3g) clamped to 0: it is not quite positive "
                "semi-definite (a covariance stored in float32?)",
                w[0], names->s1, top);
    /* Ascending eigenvalues: keep the trailing columns with l above the noise floor (the rest
     * are zero up to rounding), scaled by sqrt(l). */
    size_t first = 0;
    while (first < d && !(w[first] > floor)) first++;
    warn_rank_deficient(names->s1, "", first, d);
    size_t r = d - first;
    if (r == 0) {
        *out = 0.0;
        return GB_OK;
    }
    double *b = v + first * d; /* column-major d x r */
    for (size_t c = 0; c < r; c++) {
        double sc = sqrt(w[first + c]);
        for (size_t i = 0; i < d; i++) b[c * d + i] *= sc;
    }
    /* t (d x r) = S2 B; then m (r x r) = B^T t, stored after t. */
    double *m = t + d * r;
    cblas_dsymm(CblasColMajor, CblasLeft, CblasLower, (int)d, (int)r, 1.0, s2, (int)d, b, (int)d, 0.0, t, (int)d);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)r, (int)r, (int)d, 1.0, b, (int)d, t, (int)d, 0.0, m,
                (int)r);
    size_t zeros;
    GB_TRY(trace_sqrt_sym(dev, out, &zeros, m, r, w, s2, d, t, names->s2)); /* t: 2 d^2, free again */
    char where[256];
    snprintf(where, sizeof where, " (on the range of %.200s)", names->s1);
    warn_rank_deficient(names->s2, where, zeros, r);
    return GB_OK;
}

/* The Frechet distance's d x d work arrays (32 MB each at d = 2048), aligned to 2 MiB and
 * marked for transparent huge pages. Fresh 4 KiB pages fault one by one: on the 2-core VM a
 * first write of 32 MB took 17-24 ms that way against 5-13 ms in huge pages (and 4 ms when
 * already mapped), about 40 ms a call over the three arrays; with fewer TLB misses the
 * memory-bound dsymv of the tridiagonal reduction also ran a few percent faster. The advice
 * is only a hint: where the kernel has no huge pages the memory is ordinary. */
static double *alloc_work(size_t count) {
    const size_t huge = (size_t)2 << 20;
    void *p = NULL;
    if (posix_memalign(&p, huge, count * sizeof(double)) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, count * sizeof(double), MADV_HUGEPAGE);
#endif
    return p;
}

gb_status gb_frechet_distance(double *out, const double *mu1, const double *s1, const double *mu2, const double *s2,
                              size_t dim, gb_frechet_method method) {
    return gb_frechet_distance_on(NULL, out, mu1, s1, mu2, s2, dim, method);
}

static gb_status frechet(gb_device *dev, double *out, const double *mu1, const double *s1, const double *mu2,
                         const double *s2, size_t dim, gb_frechet_method method, const sigma_names *names) {
    if (dim == 0) return gb_fail(GB_INPUT, "Frechet distance of 0-dimensional statistics");
    GB_TRY(gb_fid_check_finite(mu1, dim, "mu1", 0));
    GB_TRY(gb_fid_check_finite(mu2, dim, "mu2", 0));
    GB_TRY(gb_fid_check_finite(s1, dim * dim, "sigma1", dim));
    GB_TRY(gb_fid_check_finite(s2, dim * dim, "sigma2", dim));
    GB_TRY(check_variances(s1, dim, names->s1));
    GB_TRY(check_variances(s2, dim, names->s2));
    double diff2 = 0.0, tr1 = 0.0, tr2 = 0.0;
    for (size_t i = 0; i < dim; i++) {
        double dlt = mu1[i] - mu2[i];
        diff2 += dlt * dlt;
        tr1 += s1[i * dim + i];
        tr2 += s2[i * dim + i];
    }
    double *fac = alloc_work(dim * dim), *t = alloc_work(2 * dim * dim),
           *w = malloc(dim * sizeof *w);
    gb_status st = GB_OK;
    double trsq = 0.0;
    if (!fac || !t || !w) {
        st = gb_fail(GB_ENV, "out of memory for the Frechet distance in %zu dimensions", dim);
    } else {
        int need_eigen = 1;
        if (method == GB_FRECHET_AUTO) {
            need_eigen = cholesky_path(dev, &st, &trsq, s1, s2, names->s2, names->s1, dim, fac, t, w);
            /* tr sqrt(S1 S2) = tr sqrt(S2 S1): factor whichever is positive definite. */
            if (need_eigen) need_eigen = cholesky_path(dev, &st, &trsq, s2, s1, names->s1, NULL, dim, fac, t, w);
        }
        if (need_eigen && st == GB_OK) st = eigen_path(dev, &trsq, s1, s2, dim, fac, t, w, names);
    }
    *out = diff2 + tr1 + tr2 - 2.0 * trsq;
    if (st == GB_OK && *out < -1e-9 * (diff2 + fabs(tr1) + fabs(tr2)))
        st = judge_negative_distance(dev, *out, s1, s2, dim, fac, w, names);
    free(fac);
    free(t);
    free(w);
    if (st != GB_OK) return st;
    if (!isfinite(*out)) /* finite statistics whose squares overflow (|mu| ~ 1e155 and beyond) */
        return gb_fail(GB_NUMERIC,
                       "Frechet distance is %g (|mu1 - mu2|^2 %g, tr sigma1 %g, tr sigma2 %g): the statistics' size "
                       "overflows double",
                       *out, diff2, tr1, tr2);
    return GB_OK;
}

gb_status gb_frechet_distance_on(gb_device *dev, double *out, const double *mu1, const double *s1, const double *mu2,
                                 const double *s2, size_t dim, gb_frechet_method method) {
    sigma_names names = {"sigma1", "sigma2"};
    return frechet(dev, out, mu1, s1, mu2, s2, dim, method, &names);
}

gb_status gb_fid_from_stats(double *out, const gb_fid_stats *a, const gb_fid_stats *b) {
    return gb_fid_from_stats_on(NULL, out, a, b);
}

gb_status gb_fid_from_stats_on(gb_device *dev, double *out, const gb_fid_stats *a, const gb_fid_stats *b) {
    if (a->dim != b->dim)
        return gb_fail(GB_INPUT, "FID: the statistics have different feature dimensions (%zu and %zu)", a->dim, b->dim);
    sigma_names names;
    name_sigma(names.s1, sizeof names.s1, a->label, "sigma1");
    name_sigma(names.s2, sizeof names.s2, b->label, "sigma2");
    return frechet(dev, out, a->mu, a->sigma, b->mu, b->sigma, a->dim, GB_FRECHET_AUTO, &names);
}
