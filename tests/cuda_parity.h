/* tests/cuda_parity.h - the harness of the CUDA-vs-CPU parity suites
 * (tests/test_kernels_cuda_ops.c, tests/test_kernels_cuda_attn_loss.c).
 *
 * A case registers its buffers (inputs, outputs, accumulators) in a pcase. Each buffer has
 * a host copy the CPU backend runs on and a device copy between two guard regions of
 * sentinel words. The CPU runs once; the GPU runs twice (GPU_TWICE), every buffer reset to
 * its initial contents before each run and downloaded after it, the guards checked each
 * time (out-of-bounds writes), inputs checked unchanged. pc_check then compares run 1 with
 * the CPU under a tolerance and run 2 with run 1 bit for bit (determinism). Outputs start
 * as a poison value on both sides, so an element the GPU forgets to write shows up.
 * A tolerance {k_u, k_max, abs} accepts |gpu - cpu| <= k_u u |cpu| + k_max max|cpu| + abs
 * (u = 2^-24, max over the buffer); {0, 0, 0} means bitwise (any NaN equals any NaN: the
 * GPU's canonical NaN payload may differ from x86's). The GPU is opened with
 * gb_cuda_device_open directly: gb_device_open("cuda") refuses the table until the cuDNN
 * convolutions fill its last entries (tests/test_kernels_cuda.c). Without a GPU each test prints
 * "SKIPPED: no CUDA device ..." and reports itself skipped (cr_skip_test).
 * Only included by test files: everything is static inline.
 */
#ifndef GB_TESTS_CUDA_PARITY_H
#define GB_TESTS_CUDA_PARITY_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

#ifdef GB_HAVE_CUDA

#include "kernels/cuda/cuda_backend.h"

#define U32 5.9604644775390625e-8 /* 2^-24 */
enum { GUARD = 64, PC_MAX = 24 };
static const uint32_t SENTINEL = 0xdeadbeef; /* -6.3e18: finite, unlike a NaN payload */
static const float POISON = 7777.25f;        /* initial value of every output */

static gb_device cpu, gpu;
static int gpu_open;
static uint64_t rng_state, rng_seed;

/* Skip (visibly) without a GPU; otherwise open both backends. */
#define REQUIRE_GPU()                                                                \
    do {                                                                             \
        if (!gb_cuda_available()) {                                                  \
            printf("SKIPPED: no CUDA device (%s)\n", __func__);                      \
            fflush(stdout);                                                          \
            cr_skip_test("SKIPPED: no CUDA device");                                 \
        }                                                                            \
        cr_assert_eq(gb_device_open(&cpu, "cpu", 2), GB_OK, "%s", gb_last_error());   \
        cr_assert_eq(gb_cuda_device_open(&gpu), GB_OK, "%s", gb_last_error());  \
        gpu_open = 1;                                                                \
    } while (0)

static inline void close_devices(void) {
    if (!gpu_open) return;
    gb_device_close(&gpu);
    gb_device_close(&cpu);
    gpu_open = 0;
}

static inline void seed_rng(uint64_t seed) { rng_seed = rng_state = seed; }
static inline uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline float rng_uniform(float lo, float hi) {
    return lo + (hi - lo) * (float)((double)(rng_next() >> 40) / 16777216.0);
}
/* n floats uniform in [lo, hi) (caller frees) */
static inline float *rand_floats(size_t n, float lo, float hi) {
    float *a = malloc((n ? n : 1) * sizeof *a);
    cr_assert_not_null(a);
    for (size_t i = 0; i < n; i++) a[i] = rng_uniform(lo, hi);
    return a;
}

typedef struct {
    double k_u, k_max, abs;
} tol;
static const tol TOL_BITS = {0, 0, 0};

enum { PB_IN, PB_OUT, PB_ACC };

typedef struct {
    char name[32];
    int kind;
    size_t n;
    float *init;   /* host: initial contents */
    float *cpu;    /* host: what the CPU backend reads and writes */
    float *base;   /* device: GUARD + n + GUARD floats */
    float *dev;    /* device: the n floats the op sees */
    float *got[2]; /* host: the device contents after each GPU run */
} pbuf;

typedef struct {
    char label[160];
    pbuf b[PC_MAX];
    int count;
} pcase;

static inline void pc_begin(pcase *c, const char *fmt, ...) {
    memset(c, 0, sizeof *c);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->label, sizeof c->label, fmt, ap);
    va_end(ap);
}

static inline float *pc_host(size_t n) {
    float *a = calloc(n ? n : 1, sizeof *a);
    cr_assert_not_null(a);
    return a;
}

/* A buffer of n floats (or int32 words) starting as data (NULL: the poison value). */
static inline pbuf *pc_add(pcase *c, const char *name, int kind, const void *data, size_t n) {
    cr_assert_lt(c->count, PC_MAX, "%s: too many buffers", c->label);
    pbuf *b = &c->b[c->count++];
    snprintf(b->name, sizeof b->name, "%s", name);
    b->kind = kind;
    b->n = n;
    b->init = pc_host(n);
    b->cpu = pc_host(n);
    b->got[0] = pc_host(n);
    b->got[1] = pc_host(n);
    if (data)
        memcpy(b->init, data, n * sizeof(float));
    else
        for (size_t i = 0; i < n; i++) b->init[i] = POISON;
    memcpy(b->cpu, b->init, n * sizeof(float));
    b->base = gb_dev_alloc(&gpu, (n + 2 * GUARD) * sizeof(float));
    b->dev = b->base + GUARD;
    return b;
}
static inline pbuf *pc_in(pcase *c, const char *name, const void *data, size_t n) {
    return pc_add(c, name, PB_IN, data, n);
}
static inline pbuf *pc_out(pcase *c, const char *name, size_t n) {
    return pc_add(c, name, PB_OUT, NULL, n);
}
/* an accumulator starting at random values in [-1, 1) */
static inline pbuf *pc_acc(pcase *c, const char *name, size_t n) {
    float *r = rand_floats(n, -1, 1);
    pbuf *b = pc_add(c, name, PB_ACC, r, n);
    free(r);
    return b;
}

/* Upload every buffer's initial contents, guards included. */
static inline void pc_reset(pcase *c) {
    for (int k = 0; k < c->count; k++) {
        pbuf *b = &c->b[k];
        const size_t total = b->n + 2 * GUARD;
        uint32_t *h = malloc(total * sizeof *h);
        cr_assert_not_null(h);
        for (size_t i = 0; i < total; i++) h[i] = SENTINEL;
        memcpy(h + GUARD, b->init, b->n * sizeof(float));
        gb_upload(&gpu, b->base, h, total * sizeof *h);
        free(h);
    }
}

/* Download every buffer into got[run]; check the guards and that inputs are unchanged. */
static inline void pc_fetch(pcase *c, int run) {
    for (int k = 0; k < c->count; k++) {
        pbuf *b = &c->b[k];
        const size_t total = b->n + 2 * GUARD;
        uint32_t *h = malloc(total * sizeof *h);
        cr_assert_not_null(h);
        gb_download(&gpu, h, b->base, total * sizeof *h);
        size_t bad = 0;
        for (size_t i = 0; i < total; i++) {
            if (i >= GUARD && i < GUARD + b->n) continue;
            if (h[i] != SENTINEL) {
                if (bad < 3)
                    cr_log_error("%s: %s guard word %ld overwritten: 0x%08x", c->label, b->name,
                                 (long)i - GUARD, h[i]);
                bad++;
            }
        }
        cr_expect_eq(bad, 0, "%s: %s: %zu guard words overwritten (seed %llu)", c->label, b->name,
                     bad, (unsigned long long)rng_seed);
        memcpy(b->got[run], h + GUARD, b->n * sizeof(float));
        free(h);
        if (b->kind == PB_IN)
            cr_expect(memcmp(b->got[run], b->init, b->n * sizeof(float)) == 0,
                      "%s: input %s was modified by the GPU op (seed %llu)", c->label, b->name,
                      (unsigned long long)rng_seed);
    }
}

/* Run a GPU call twice from the same initial state, fetching after each. */
#define GPU_TWICE(c, call)                            \
    do {                                              \
        for (int run_ = 0; run_ < 2; run_++) {        \
            pc_reset(c);                              \
            call;                                     \
            pc_fetch(c, run_);                        \
        }                                             \
    } while (0)

static inline int same_value(float a, float b) {
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* Elements [off, off + len) of b: got[0] against the CPU under t (max|cpu| over that range),
 * got[1] against got[0] bit for bit. part names the range in messages (NULL: the buffer). */
static inline void pc_check_range(pcase *c, const pbuf *b, size_t off, size_t len, tol t,
                                  const char *part) {
    const int bitwise = t.k_u == 0 && t.k_max == 0 && t.abs == 0;
    const char *what = part ? part : b->name;
    double mx = 0.0;
    for (size_t i = off; i < off + len; i++)
        if (isfinite(b->cpu[i]) && fabs((double)b->cpu[i]) > mx) mx = fabs((double)b->cpu[i]);
    size_t bad = 0, nondet = 0;
    for (size_t i = off; i < off + len; i++) {
        const float g = b->got[0][i], w = b->cpu[i];
        int ok;
        if (bitwise || !isfinite(w)) {
            ok = bitwise ? same_value(g, w) : (isnan(w) ? isnan(g) : g == w);
        } else {
            const double lim = t.k_u * U32 * fabs((double)w) + t.k_max * mx + t.abs;
            ok = fabs((double)g - (double)w) <= lim;
        }
        if (!ok) {
            if (bad < 5)
                cr_log_error("%s: %s[%zu]: cuda %.9g, cpu %.9g (diff %.3g)%s, seed %llu", c->label,
                             what, i, (double)g, (double)w, fabs((double)g - (double)w),
                             bitwise ? " must be bitwise equal" : "", (unsigned long long)rng_seed);
            bad++;
        }
        if (!same_value(b->got[1][i], g)) nondet++;
    }
    cr_expect_eq(bad, 0, "%s: %s: %zu of %zu elements differ from the CPU backend (seed %llu)",
                 c->label, what, bad, len, (unsigned long long)rng_seed);
    cr_expect_eq(nondet, 0, "%s: %s: %zu of %zu elements differ between two GPU runs", c->label,
                 what, nondet, len);
}

static inline void pc_check(pcase *c, const pbuf *b, tol t) {
    pc_check_range(c, b, 0, b->n, t, NULL);
}

static inline void pc_end(pcase *c) {
    for (int k = 0; k < c->count; k++) {
        pbuf *b = &c->b[k];
        gb_dev_free(&gpu, b->base);
        free(b->init), free(b->cpu), free(b->got[0]), free(b->got[1]);
    }
    c->count = 0;
}

#endif /* GB_HAVE_CUDA */

#endif
