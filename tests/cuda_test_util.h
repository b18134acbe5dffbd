/* tests/cuda_test_util.h - what the cuDNN / Philox / cuSOLVER / cuFFT suites share: the
 * visible skip without a GPU, a CPU and a CUDA device, a replayable RNG, device buffers with
 * guard regions, and float comparisons that print the first mismatches with their indices.
 *
 * The CUDA device is opened with gb_cuda_device_open directly, as tests/cuda_parity.h does
 * (the table's completeness is tests/test_kernels_cuda.c's check). For tests/test_cuda_*.c and
 * tests/test_kernels_cuda.c, after criterion.h and under #ifdef GB_HAVE_CUDA. Each suite's
 * tests are in its own header comment.
 */
#ifndef GB_TESTS_CUDA_TEST_UTIL_H
#define GB_TESTS_CUDA_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/kernels.h"

#define CT_U32 5.9604644775390625e-8 /* 2^-24, float32's unit roundoff */
enum { CT_GUARD = 64 };               /* floats of guard on each side of a device buffer */
static const uint32_t CT_SENTINEL = 0xdeadbeef;

static gb_device ct_cpu, ct_gpu;
static int ct_open;
static uint64_t ct_rng_state, ct_rng_seed;

/* Skip (visibly) without a GPU; otherwise open the CPU and the CUDA device. */
#define CT_REQUIRE_GPU()                                                                     \
    do {                                                                                     \
        if (!gb_cuda_available()) {                                                          \
            printf("SKIPPED: no CUDA device\n");                                             \
            fflush(stdout);                                                                  \
            cr_skip_test("SKIPPED: no CUDA device");                                         \
        }                                                                                    \
        cr_assert_eq(gb_device_open(&ct_cpu, "cpu", 2), GB_OK, "%s", gb_last_error());       \
        cr_assert_eq(gb_cuda_device_open(&ct_gpu), GB_OK, "%s", gb_last_error());            \
        ct_gpu.threads = 2;                                                                  \
        ct_open = 1;                                                                         \
    } while (0)

static inline void ct_close(void) {
    if (!ct_open) return;
    gb_device_close(&ct_gpu);
    gb_device_close(&ct_cpu);
    ct_open = 0;
}

static inline void ct_seed(uint64_t seed) { ct_rng_seed = ct_rng_state = seed; }
static inline uint64_t ct_next(void) {
    uint64_t z = (ct_rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline float *ct_falloc(size_t n) {
    float *a = calloc(n ? n : 1, sizeof *a);
    cr_assert_not_null(a);
    return a;
}
static inline float *ct_rand(size_t n, float lo, float hi) {
    float *a = ct_falloc(n);
    for (size_t i = 0; i < n; i++) a[i] = lo + (hi - lo) * (float)((double)(ct_next() >> 40) / 16777216.0);
    return a;
}
static inline float *ct_abs(const float *a, size_t n) {
    float *b = ct_falloc(n);
    for (size_t i = 0; i < n; i++) b[i] = fabsf(a[i]);
    return b;
}
static inline float *ct_dup(const float *a, size_t n) {
    float *b = ct_falloc(n);
    memcpy(b, a, n * sizeof *b);
    return b;
}

/* A device buffer of n floats between CT_GUARD sentinel floats on each side. */
typedef struct {
    float *base, *ptr;
    size_t n;
    float *initial; /* host copy of what was uploaded (NULL for an output buffer) */
} ct_dbuf;

/* host NULL: the payload is poisoned with NaN (an op that must overwrite may not read it). */
static inline ct_dbuf ct_dbuf_make(const float *host, size_t n) {
    ct_dbuf b = {.n = n};
    size_t total = n + 2 * CT_GUARD;
    float *h = malloc(total * sizeof *h);
    cr_assert_not_null(h);
    for (size_t i = 0; i < total; i++) memcpy(&h[i], &CT_SENTINEL, sizeof CT_SENTINEL);
    for (size_t i = 0; i < n; i++) h[CT_GUARD + i] = host ? host[i] : NAN;
    if (host) {
        b.initial = malloc(total * sizeof *b.initial); /* total > n: never a zero-size block */
        cr_assert_not_null(b.initial);
        memcpy(b.initial, h + CT_GUARD, n * sizeof *h);
    }
    b.base = gb_dev_alloc(&ct_gpu, total * sizeof(float));
    b.ptr = b.base + CT_GUARD;
    gb_upload(&ct_gpu, b.base, h, total * sizeof *h);
    free(h);
    return b;
}

/* Download the payload into host and check that both guards are intact. host NULL: b is an
 * input, whose payload must still be what was uploaded (an op that writes its input fails). */
static inline void ct_dbuf_fetch(const char *label, ct_dbuf *b, float *host) {
    size_t total = b->n + 2 * CT_GUARD;
    uint32_t *h = malloc(total * sizeof *h);
    cr_assert_not_null(h);
    gb_download(&ct_gpu, h, b->base, total * sizeof *h);
    size_t bad = 0;
    for (size_t i = 0; i < total; i++) {
        if (i >= CT_GUARD && i < CT_GUARD + b->n) continue;
        if (h[i] != CT_SENTINEL && bad++ < 3)
            cr_log_error("%s: guard word %ld overwritten: 0x%08x", label, (long)i - CT_GUARD, h[i]);
    }
    cr_expect_eq(bad, 0, "%s: %zu guard words overwritten (seed %llu)", label, bad,
                 (unsigned long long)ct_rng_seed);
    if (host) memcpy(host, h + CT_GUARD, b->n * sizeof(float));
    else if (b->initial)
        cr_expect(memcmp(h + CT_GUARD, b->initial, b->n * sizeof(float)) == 0,
                  "%s: an input buffer was changed (seed %llu)", label, (unsigned long long)ct_rng_seed);
    free(h);
}

static inline void ct_dbuf_free(ct_dbuf *b) {
    gb_dev_free(&ct_gpu, b->base);
    free(b->initial);
}

/* |got - want| <= tol[i] (tol NULL: atol + rtol * |want|); NaN never passes. */
static inline void ct_expect_close(const char *label, const float *got, const float *want, size_t n,
                                   const float *tol, double atol, double rtol) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double t = tol ? (double)tol[i] : atol + rtol * fabs((double)want[i]);
        double diff = fabs((double)got[i] - (double)want[i]);
        if (!(diff <= t) && bad++ < 5)
            cr_log_error("%s[%zu]: cuda %.9g, cpu %.9g (diff %.3g > tol %.3g), seed %llu", label, i,
                         (double)got[i], (double)want[i], diff, t, (unsigned long long)ct_rng_seed);
    }
    cr_expect_eq(bad, 0, "%s: %zu of %zu elements differ (seed %llu)", label, bad, n,
                 (unsigned long long)ct_rng_seed);
}

static inline void ct_expect_bitwise(const char *label, const float *got, const float *want, size_t n) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0 && bad++ < 5)
            cr_log_error("%s[%zu]: %.9g vs %.9g (must be bitwise equal), seed %llu", label, i,
                         (double)got[i], (double)want[i], (unsigned long long)ct_rng_seed);
    cr_expect_eq(bad, 0, "%s: %zu of %zu elements not bitwise equal (seed %llu)", label, bad, n,
                 (unsigned long long)ct_rng_seed);
}

#endif
