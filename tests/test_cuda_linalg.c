/* tests/test_cuda_linalg.c - the metric building blocks on the GPU (kernels/cuda/cuda_linalg.h):
 * cuSOLVER's symmetric eigendecomposition against LAPACKE_dsyevd and known spectra, and the
 * cuFFT spectrum against metrics/spectrum.c's gb_spectrum_mean.
 *
 * Eigen: random covariances (B B^T / m, singular when m < n) and Q diag(1..n) Q^T with a
 * Householder Q; eigenvalues within 16 n eps |largest| of LAPACK's (both are backward stable
 * to a few n eps |A|), eigenvectors with residual |A v - l v| and orthonormality |V^T V - I|
 * within the same bound, 'N' leaving the matrix as it was, two runs bitwise equal.
 * Spectrum: random image sets of odd, even and non-square sizes, per bin within
 * 1e-12 |cpu| + 1e-13 mean(x^2) (the sums after the FFT are the CPU's, in its order; the FFTs
 * differ by rounding, bounded by a few eps times the plane's energy = mean(x^2) by Parseval);
 * a constant image's closed form; a NaN pixel named by image, channel and position.
 * Frechet: gb_frechet_distance_on the CUDA device against the CPU, both factor paths.
 * Without a GPU every test prints "SKIPPED: no CUDA device".
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

#ifdef GB_HAVE_CUDA
#include <lapacke.h>

#include "kernels/cuda/cuda_linalg.h"
#include "metrics/fid.h"
#include "metrics/spectrum.h"
#include "tests/cuda_test_util.h"

static double *dalloc(size_t n) {
    double *a = calloc(n ? n : 1, sizeof *a);
    cr_assert_not_null(a);
    return a;
}

static double drand_pm1(void) { return (double)(ct_next() >> 11) * 0x1p-53 * 2.0 - 1.0; }

/* a [n, n] column-major = B B^T / m with B [n, m] uniform in [-1, 1] */
static double *random_cov(size_t n, size_t m) {
    double *b = dalloc(n * m), *a = dalloc(n * n);
    for (size_t i = 0; i < n * m; i++) b[i] = drand_pm1();
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++) {
            double s = 0.0;
            for (size_t k = 0; k < m; k++) s += b[i + k * n] * b[j + k * n];
            a[i + j * n] = s / (double)m;
        }
    free(b);
    return a;
}

/* Q diag(1..n) Q^T with Q = I - 2 v v^T / (v^T v) */
static double *known_spectrum(size_t n) {
    double *v = dalloc(n), *a = dalloc(n * n), vv = 0.0;
    for (size_t i = 0; i < n; i++) v[i] = drand_pm1(), vv += v[i] * v[i];
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++) {
            double s = 0.0;
            for (size_t k = 0; k < n; k++) {
                double qik = (i == k) - 2.0 * v[i] * v[k] / vv, qjk = (j == k) - 2.0 * v[j] * v[k] / vv;
                s += qik * (double)(k + 1) * qjk;
            }
            a[i + j * n] = s;
        }
    free(v);
    return a;
}

static void eigen_case(const double *a, size_t n, const char *label) {
    double *ref = dalloc(n * n), *wr = dalloc(n), *g = dalloc(n * n), *wg = dalloc(n);
    double *g2 = dalloc(n * n), *wg2 = dalloc(n), *gn = dalloc(n * n), *wn = dalloc(n);
    memcpy(ref, a, n * n * sizeof *a);
    memcpy(g, a, n * n * sizeof *a);
    memcpy(g2, a, n * n * sizeof *a);
    memcpy(gn, a, n * n * sizeof *a);
    cr_assert_eq(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', (lapack_int)n, ref, (lapack_int)n, wr), 0);
    cr_assert_eq(gb_cuda_dsyevd(&ct_gpu, 'V', n, g, wg), GB_OK, "%s: %s", label, gb_last_error());
    cr_assert_eq(gb_cuda_dsyevd(&ct_gpu, 'V', n, g2, wg2), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_cuda_dsyevd(&ct_gpu, 'N', n, gn, wn), GB_OK, "%s", gb_last_error());

    double big = fmax(fabs(wr[0]), fabs(wr[n - 1]));
    double tol = 16.0 * (double)n * DBL_EPSILON * big;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(fabs(wg[i] - wr[i]) <= tol) && bad++ < 5)
            cr_log_error("%s: eigenvalue %zu: cusolver %.17g, lapack %.17g (tol %.3g)", label, i, wg[i], wr[i], tol);
        if (!(fabs(wn[i] - wg[i]) <= tol) && bad++ < 5)
            cr_log_error("%s: eigenvalue %zu: values only %.17g, with vectors %.17g", label, i, wn[i], wg[i]);
    }
    cr_expect_eq(bad, 0, "%s: %zu eigenvalues off (seed %llu)", label, bad, (unsigned long long)ct_rng_seed);
    cr_expect(memcmp(gn, a, n * n * sizeof *a) == 0, "%s: jobz 'N' changed the matrix", label);
    cr_expect(memcmp(wg, wg2, n * sizeof *wg) == 0 && memcmp(g, g2, n * n * sizeof *g) == 0,
              "%s: two runs differ (cuSOLVER deterministic mode)", label);

    /* residual |A v_j - w_j v_j| and orthonormality |V^T V - I| */
    double worst_res = 0.0, worst_orth = 0.0;
    for (size_t j = 0; j < n; j++) {
        for (size_t i = 0; i < n; i++) {
            double s = 0.0;
            for (size_t k = 0; k < n; k++) s += a[i + k * n] * g[k + j * n];
            worst_res = fmax(worst_res, fabs(s - wg[j] * g[i + j * n]));
        }
        for (size_t l = 0; l < n; l++) {
            double s = 0.0;
            for (size_t k = 0; k < n; k++) s += g[k + j * n] * g[k + l * n];
            worst_orth = fmax(worst_orth, fabs(s - (j == l)));
        }
    }
    cr_expect(worst_res <= tol, "%s: residual %.3g > %.3g", label, worst_res, tol);
    cr_expect(worst_orth <= 16.0 * (double)n * DBL_EPSILON, "%s: orthonormality %.3g", label, worst_orth);
    free(ref), free(wr), free(g), free(wg), free(g2), free(wg2), free(gn), free(wn);
}

Test(cuda_linalg, dsyevd_against_lapack, .fini = ct_close) {
    CT_REQUIRE_GPU();
    ct_seed(31);
    const size_t sizes[] = {1, 2, 17, 200};
    for (size_t s = 0; s < 4; s++) {
        size_t n = sizes[s];
        char label[64];
        double *a = random_cov(n, 3 * n + 1);
        snprintf(label, sizeof label, "covariance %zu", n);
        eigen_case(a, n, label);
        free(a);
        a = random_cov(n, n / 2 + 1); /* singular when n/2 + 1 < n */
        snprintf(label, sizeof label, "singular covariance %zu", n);
        eigen_case(a, n, label);
        free(a);
    }
    double w[64];
    double *a = known_spectrum(64);
    cr_assert_eq(gb_cuda_dsyevd(&ct_gpu, 'N', 64, a, w), GB_OK, "%s", gb_last_error());
    for (size_t i = 0; i < 64; i++)
        cr_expect(fabs(w[i] - (double)(i + 1)) <= 16.0 * 64 * DBL_EPSILON * 64, "known spectrum: w[%zu] = %.17g", i,
                  w[i]);
    free(a);
    cr_expect_eq(gb_cuda_dsyevd(&ct_gpu, 'V', 0, NULL, NULL), GB_OK);
}

/* The Frechet distance with its eigendecompositions on the GPU (gb_frechet_distance_on with the
 * CUDA device) against the CPU's, both methods: full-rank covariances (the Cholesky path's one
 * dsyevd) and singular ones (the eigen path's two): within 1e-9 relative, the tolerance of FID
 * against pytorch-fid (tests/tolerances.md); the eigenvalues differ by rounding only. */
Test(cuda_linalg, frechet_distance_on_the_gpu, .fini = ct_close) {
    CT_REQUIRE_GPU();
    ct_seed(37);
    const size_t n = 300;
    double mu1[300], mu2[300];
    for (size_t i = 0; i < n; i++) mu1[i] = drand_pm1(), mu2[i] = drand_pm1();
    for (int singular = 0; singular < 2; singular++) {
        double *s1 = random_cov(n, singular ? n / 2 : 2 * n), *s2 = random_cov(n, singular ? n / 3 : 3 * n);
        for (int method = 0; method < 2; method++) {
            gb_frechet_method m = method ? GB_FRECHET_EIGEN : GB_FRECHET_AUTO;
            double cpu, gpu;
            cr_assert_eq(gb_frechet_distance(&cpu, mu1, s1, mu2, s2, n, m), GB_OK, "%s", gb_last_error());
            cr_assert_eq(gb_frechet_distance_on(&ct_gpu, &gpu, mu1, s1, mu2, s2, n, m), GB_OK, "%s", gb_last_error());
            cr_expect(fabs(gpu - cpu) <= 1e-9 * fabs(cpu), "singular %d, method %d: GPU %.17g, CPU %.17g", singular,
                      method, gpu, cpu);
        }
        free(s1);
        free(s2);
    }
}

/* GPU spectrum of imgs [n, c, h, w] against the CPU's. */
static void spectrum_case(size_t n, size_t c, size_t h, size_t w, uint64_t seed) {
    ct_seed(seed);
    const size_t total = n * c * h * w;
    float *x = ct_rand(total, -0.5f, 1.5f);
    gb_spectrum_plan *plan = NULL;
    cr_assert_eq(gb_spectrum_plan_create(&plan, h, w), GB_OK, "%s", gb_last_error());
    const size_t nb = gb_spectrum_n_bins(plan);
    double *cpu = dalloc(nb), *gpu = dalloc(nb), *gpu2 = dalloc(nb);
    cr_assert_eq(gb_spectrum_mean(plan, cpu, x, n, c), GB_OK, "%s", gb_last_error());
    ct_dbuf d = ct_dbuf_make(x, total);
    cr_assert_eq(gb_cuda_spectrum_mean(&ct_gpu, gpu, d.ptr, n, c, h, w), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_cuda_spectrum_mean(&ct_gpu, gpu2, d.ptr, n, c, h, w), GB_OK, "%s", gb_last_error());
    double meansq = 0.0;
    for (size_t i = 0; i < total; i++) meansq += (double)x[i] * (double)x[i];
    meansq /= (double)total;
    size_t bad = 0;
    for (size_t k = 0; k < nb; k++) {
        double tol = 1e-12 * fabs(cpu[k]) + 1e-13 * meansq;
        if (!(fabs(gpu[k] - cpu[k]) <= tol) && bad++ < 5)
            cr_log_error("spectrum %zux%zux%zux%zu bin %zu: cuda %.17g, cpu %.17g (tol %.3g)", n, c, h, w, k, gpu[k],
                         cpu[k], tol);
    }
    cr_expect_eq(bad, 0, "spectrum %zux%zux%zux%zu: %zu of %zu bins differ (seed %llu)", n, c, h, w, bad, nb,
                 (unsigned long long)seed);
    cr_expect(memcmp(gpu, gpu2, nb * sizeof *gpu) == 0, "spectrum: two runs differ");
    ct_dbuf_fetch("spectrum input", &d, NULL);
    ct_dbuf_free(&d);
    gb_spectrum_plan_free(plan);
    free(x), free(cpu), free(gpu), free(gpu2);
}

Test(cuda_linalg, spectrum_against_cpu, .fini = ct_close) {
    CT_REQUIRE_GPU();
    spectrum_case(3, 2, 13, 10, 1);
    spectrum_case(4, 3, 32, 32, 2);
    spectrum_case(1, 1, 8, 5, 3);
    spectrum_case(2, 1, 1, 7, 4); /* one row: planned as a 1-D transform */
    spectrum_case(2, 1, 7, 1, 6); /* one column: a 2-D plan whose inner dimension is 1 */
    spectrum_case(50, 3, 28, 28, 5);
}

Test(cuda_linalg, spectrum_closed_form_and_bad_pixel, .fini = ct_close) {
    CT_REQUIRE_GPU();
    const size_t h = 6, w = 9, n = 2, c = 2, total = n * c * h * w;
    float *x = ct_falloc(total);
    for (size_t i = 0; i < total; i++) x[i] = 2.0f;
    double spec[16];
    ct_dbuf d = ct_dbuf_make(x, total);
    cr_assert_eq(gb_cuda_spectrum_mean(&ct_gpu, spec, d.ptr, n, c, h, w), GB_OK, "%s", gb_last_error());
    /* constant 2: P(0, 0) = (2 h w)^2 / (h w)^2 = 4, every other frequency 0 */
    cr_expect(fabs(spec[0] - 4.0) <= 1e-14, "DC bin %.17g", spec[0]);
    for (size_t k = 1; k < 5; k++) cr_expect(fabs(spec[k]) <= 1e-25, "bin %zu: %.3g", k, spec[k]);
    x[(1 * c + 0) * h * w + 3 * w + 4] = NAN; /* image 1, channel 0, pixel (3, 4) */
    gb_upload(&ct_gpu, d.ptr, x, total * sizeof *x);
    cr_expect_eq(gb_cuda_spectrum_mean(&ct_gpu, spec, d.ptr, n, c, h, w), GB_INPUT);
    const char *msg = gb_last_error();
    cr_expect(strstr(msg, "image 1, channel 0") && strstr(msg, "pixel (3, 4)"), "message: %s", msg);
    cr_expect_eq(gb_cuda_spectrum_mean(&ct_gpu, spec, d.ptr, 0, c, h, w), GB_INPUT);
    ct_dbuf_free(&d);
    free(x);
}

#else /* no CUDA backend in this build */

Test(cuda_linalg, skipped_without_cuda_build) {
    printf("SKIPPED: no CUDA device (this build has no CUDA backend: nvcc was not found)\n");
    fflush(stdout);
    cr_skip_test("SKIPPED: no CUDA device (no CUDA backend in this build)");
}

#endif
