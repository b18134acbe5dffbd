/* tests/gradcheck.h - shared helpers of the kernel suites: a replayable RNG, float64
 * central finite differences of a scalar loss, and tolerance-checked comparison
 * against a double reference.
 *
 * The FD reference of a backward pass: for an op y = f(x) written in double by the
 * test (an independent transcription of the forward), and an upstream gradient dy,
 * the exact input gradient is dx = J^T dy = grad of L(x) = <dy, f(x)>; gc_fd_vjp
 * evaluates it by central differences with step h (error O(h^2 |f'''|) plus the
 * rounding of L itself, ~ny * eps64 * max|dy_j y_j| / h: ~1e-10 for h = 1e-4 on a few
 * O(1) outputs, but ~1e-7 for a thousand outputs, where a suite should difference one
 * output at a time instead). Header-only (static functions) so each suite is
 * self-contained.
 */
#ifndef GB_TEST_GRADCHECK_H
#define GB_TEST_GRADCHECK_H

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GC_U32 5.9604644775390625e-8 /* 2^-24: float32 unit roundoff */

/* ---- splitmix64: tiny, seedable; print gc_seed with any failure ---- */
static uint64_t gc_state, gc_seed;
static inline void gc_seed_rng(uint64_t seed) { gc_seed = gc_state = seed; }
static inline uint64_t gc_next(void) {
    uint64_t z = (gc_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline float gc_uniform(float lo, float hi) {
    return lo + (hi - lo) * (float)((double)(gc_next() >> 40) / 16777216.0);
}
static inline float *gc_rand(size_t n, float lo, float hi) {
    float *a = malloc((n ? n : 1) * sizeof *a);
    cr_assert_not_null(a);
    for (size_t i = 0; i < n; i++) a[i] = gc_uniform(lo, hi);
    return a;
}
static inline float *gc_falloc(size_t n) {
    float *a = calloc(n ? n : 1, sizeof *a);
    cr_assert_not_null(a);
    return a;
}
static inline double *gc_dalloc(size_t n) {
    double *a = calloc(n ? n : 1, sizeof *a);
    cr_assert_not_null(a);
    return a;
}
static inline double *gc_to_double(const float *a, size_t n) {
    double *d = gc_dalloc(n);
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

/* ---- float64 finite differences ---- */

/* y[ny] = f(ctx, x[nx]) in double */
typedef void (*gc_forward64)(void *ctx, const double *x, double *y);

/* dx[nx] = d<dy, f(x)>/dx by central differences with step h (x is restored). */
static inline void gc_fd_vjp(gc_forward64 f, void *ctx, double *x, size_t nx, size_t ny,
                             const double *dy, double h, double *dx) {
    double *y = gc_dalloc(ny);
    for (size_t i = 0; i < nx; i++) {
        double keep = x[i], lp = 0, lm = 0;
        x[i] = keep + h;
        f(ctx, x, y);
        for (size_t j = 0; j < ny; j++) lp += dy[j] * y[j];
        x[i] = keep - h;
        f(ctx, x, y);
        for (size_t j = 0; j < ny; j++) lm += dy[j] * y[j];
        x[i] = keep;
        dx[i] = (lp - lm) / (2 * h);
    }
    free(y);
}

/* ---- comparison ---- */

/* |got - ref| <= atol + rtol*|ref| elementwise; logs the first mismatches with the
 * seed, then fails the test (cr_expect: the other checks still run). */
static inline void gc_expect_close(const char *label, const float *got, const double *ref, size_t n,
                                   double atol, double rtol) {
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - ref[i]);
        double lim = atol + rtol * fabs(ref[i]);
        if (!(diff <= lim)) {
            if (bad < 5)
                cr_log_error("%s[%zu]: got %.9g, want %.9g (diff %.3g > %.3g), seed %llu", label, i,
                             (double)got[i], ref[i], diff, lim, (unsigned long long)gc_seed);
            bad++;
        }
        if (diff > worst) worst = diff;
    }
    cr_expect_eq(bad, 0, "%s: %zu of %zu elements out of tolerance (worst %.3g, atol %g, rtol %g, seed %llu)",
                 label, bad, n, worst, atol, rtol, (unsigned long long)gc_seed);
}

/* The same against a float reference (PyTorch fixtures). */
static inline void gc_expect_close_f(const char *label, const float *got, const float *ref, size_t n,
                                     double atol, double rtol) {
    double *r = gc_to_double(ref, n);
    gc_expect_close(label, got, r, n, atol, rtol);
    free(r);
}

#endif
