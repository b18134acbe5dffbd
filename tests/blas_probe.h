/* tests/blas_probe.h - does this machine's sgemm give a product element the same bits whatever
 * the shape of the call and the thread count around it?
 *
 * Our own loops cut work into slices fixed per shape (kernels/cpu/parallel.h), so their bits
 * never depend on the batch split or the thread count. OpenBLAS's GEMMs are another matter,
 * and it depends on the kernels it picked for the CPU: its SkylakeX / Cooperlake kernels
 * (AVX-512) gave an element the same bits in every shape and thread count the suites use, its
 * Haswell / Zen kernels (AVX2) do not. Measured on an AMD EPYC without AVX-512, OpenBLAS
 * 0.3.21 core "Zen", one thread: of a 192 x 289 x 768 product, 41 of the 29,189 elements of
 * rows 0..98 change when only those rows are computed; with 2 threads, 776. So the suites
 * that claim bit identity across batch splits, merged GEMMs or thread counts check the bits
 * where this probe finds the BLAS shape-invariant, and otherwise a rounding bound that still
 * catches a wrong offset, order or slice (those move results by O(1), not by ulps); each says
 * which it checked. A run stays bitwise reproducible for a fixed shape and --threads either
 * way (README "Threads and algorithms on the CPU").
 */
#ifndef GB_TEST_BLAS_PROBE_H
#define GB_TEST_BLAS_PROBE_H

#include <cblas.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS's thread controls (also in its cblas.h; declared here so that the probe states what
 * it needs: the suites link OpenBLAS). */
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);

/* Rows [r0, r0 + rows) and columns [c0, c0 + cols) of op(A) op(B) into c (row-major, ldc
 * cols): A is m x k (or k x m stored, ta), B is k x n (or n x k stored, tb). */
static void blas_probe_block(float *c, const float *a, const float *b, int m, int n, int k, int ta, int tb, int r0,
                             int rows, int c0, int cols) {
    const float *ap = ta ? a + r0 : a + (size_t)r0 * k, *bp = tb ? b + (size_t)c0 * k : b + c0;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, rows, cols, k, 1.0f, ap,
                ta ? m : k, bp, tb ? k : n, 0.0f, c, cols);
}

/* 1 when every element of op(A) op(B) (m x n, depth k; ta, tb as above) has the same bits
 * computed whole with 1, 2 and 3 threads, and computed for a band of rows or of columns that
 * starts inside the matrix (where a merged GEMM's member or a thread's share starts). */
static int blas_probe_shape(int m, int n, int k, int ta, int tb) {
    float *a = malloc((size_t)m * k * sizeof *a), *b = malloc((size_t)k * n * sizeof *b);
    float *whole = malloc((size_t)m * n * sizeof *whole), *part = malloc((size_t)m * n * sizeof *part);
    cr_assert(a && b && whole && part, "blas probe: out of memory");
    uint64_t s = 0x5eedb1a5ULL + (uint64_t)m * 131 + (uint64_t)n * 7 + (uint64_t)k;
    for (size_t i = 0; i < (size_t)m * k + (size_t)k * n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        float v = (float)((s >> 40) * 0x1p-24) - 0.5f;
        if (i < (size_t)m * k) a[i] = v;
        else b[i - (size_t)m * k] = v;
    }
    const int r0 = m / 3, rows = m / 2, c0 = n / 4, cols = n / 2;
    openblas_set_num_threads(1);
    blas_probe_block(whole, a, b, m, n, k, ta, tb, 0, m, 0, n);
    int same = 1;
    for (int threads = 1; same && threads <= 3; threads++) {
        openblas_set_num_threads(threads);
        if (threads > 1) {
            blas_probe_block(part, a, b, m, n, k, ta, tb, 0, m, 0, n);
            same = memcmp(part, whole, (size_t)m * n * sizeof *part) == 0;
        }
        if (same) {
            blas_probe_block(part, a, b, m, n, k, ta, tb, r0, rows, 0, n);
            same = memcmp(part, whole + (size_t)r0 * n, (size_t)rows * n * sizeof *part) == 0;
        }
        if (same) {
            blas_probe_block(part, a, b, m, n, k, ta, tb, 0, m, c0, cols);
            for (int i = 0; same && i < m; i++)
                same = memcmp(part + (size_t)i * cols, whole + (size_t)i * n + c0, (size_t)cols * sizeof *part) == 0;
        }
    }
    free(a), free(b), free(whole), free(part);
    return same;
}

/* The probe over shapes of the suites' GEMMs (Inception's 1x1 convs at 17 x 17 and 35 x 35,
 * a linear layer, a GAN conv), each as NN, NT and TN, run once per process; OpenBLAS's thread
 * count is restored. */
static int blas_bits_shape_invariant(void) {
    static int known = -1;
    if (known >= 0) return known;
    const int saved = openblas_get_num_threads();
    static const int shapes[][3] = {{192, 289, 768}, {64, 1225, 192}, {96, 257, 128}, {128, 1024, 1152}};
    known = 1;
    for (size_t i = 0; known && i < sizeof shapes / sizeof shapes[0]; i++)
        for (int t = 0; known && t < 3; t++) /* NN (forward), NT (linear), TN (weight gradients) */
            known = blas_probe_shape(shapes[i][0], shapes[i][1], shapes[i][2], t == 2, t == 1);
    openblas_set_num_threads(saved);
    return known;
}

/* a and b, one computation under two splits of its work (thread counts, batch chunks, merged
 * GEMMs), named by what: bitwise equal where the BLAS is shape-invariant, else within
 * bound x the largest |a| (float32 sums in another blocking round ~1e-7..1e-6 of that apart; a
 * wrong slice, offset or order differs by O(1)). Logs which was checked and the distance. */
static void expect_blas_split_equal(const char *what, const float *a, const float *b, size_t n, double bound) {
    double worst = 0, scale = 0;
    size_t finite_mismatch = 0;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(a[i]) != isfinite(b[i])) finite_mismatch++; /* fmax would drop a NaN */
        else if (isfinite(a[i])) {
            worst = fmax(worst, fabs((double)a[i] - b[i]));
            scale = fmax(scale, fabs((double)a[i]));
        }
    }
    cr_expect_eq(finite_mismatch, 0, "%s: %zu elements finite in one result and not in the other", what,
                 finite_mismatch);
    if (blas_bits_shape_invariant()) {
        cr_expect_eq(memcmp(a, b, n * sizeof *a), 0, "%s: not bitwise equal (max |diff| %.3g of the largest |value|)",
                     what, scale > 0 ? worst / scale : worst);
        return;
    }
    cr_log_info("%s: the BLAS rounds by shape here (tests/blas_probe.h): max |diff| %.3g of the largest |value|, "
                "bound %.3g",
                what, scale > 0 ? worst / scale : worst, bound);
    cr_expect(worst <= bound * scale, "%s: max |diff| %.3g > %.3g x the largest |value| %.3g", what, worst, bound,
              scale);
}

#endif
