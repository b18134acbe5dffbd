/* bench/ceilings.c - measure the fp32 FMA peak and the copy bandwidth (bench/ceilings.h).
 *
 * FMA peak: each thread runs 16 independent accumulator chains (enough to cover
 * the FMA latency of every current x86 core: 4 cycles x 2 ports = 8 in flight) of
 * vector FMAs; flops = 2 x lanes x chains x iterations. The widest ISA the CPU
 * reports is chosen at run time (__builtin_cpu_supports), so a generic
 * x86-64-v2 build still measures the AVX-512 peak where there is one.
 * Bandwidth: each thread copies its slice of a 256 MiB array into another; bytes =
 * 2 x size per pass (STREAM's convention: write-allocate traffic is not counted).
 * Our own threads here are fine: no BLAS call runs inside them (DESIGN.md 2).
 * Exercised by tests/smoke.sh through `genbench bench --quick`.
 */
#include "ceilings.h"

#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/progress.h"
#include "../core/status.h"

enum { CHAINS = 16 };

typedef struct {
    long iterations;
    int isa; /* 2: avx512f, 1: avx2+fma, 0: sse2 */
    size_t begin, end;
    float *src, *dst;
    double sink;
} worker;

__attribute__((target("avx512f"))) static double fma_avx512(long iters) {
    __m512 acc[CHAINS];
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int k = 0; k < CHAINS; k++) acc[k] = _mm512_set1_ps((float)k);
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < CHAINS; k++) acc[k] = _mm512_fmadd_ps(acc[k], a, b);
    float out[16];
    __m512 s = acc[0];
    for (int k = 1; k < CHAINS; k++) s = _mm512_add_ps(s, acc[k]);
    _mm512_storeu_ps(out, s);
    return out[0];
}

__attribute__((target("avx2,fma"))) static double fma_avx2(long iters) {
    __m256 acc[CHAINS];
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int k = 0; k < CHAINS; k++) acc[k] = _mm256_set1_ps((float)k);
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < CHAINS; k++) acc[k] = _mm256_fmadd_ps(acc[k], a, b);
    float out[8];
    __m256 s = acc[0];
    for (int k = 1; k < CHAINS; k++) s = _mm256_add_ps(s, acc[k]);
    _mm256_storeu_ps(out, s);
    return out[0];
}

/* Without FMA a multiply and an add are two flops in two instructions. */
static double fma_sse(long iters) {
    __m128 acc[CHAINS];
    const __m128 a = _mm_set1_ps(0.999999f), b = _mm_set1_ps(1e-7f);
    for (int k = 0; k < CHAINS; k++) acc[k] = _mm_set1_ps((float)k);
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < CHAINS; k++) acc[k] = _mm_add_ps(_mm_mul_ps(acc[k], a), b);
    float out[4];
    __m128 s = acc[0];
    for (int k = 1; k < CHAINS; k++) s = _mm_add_ps(s, acc[k]);
    _mm_storeu_ps(out, s);
    return out[0];
}

static int lanes_of(int isa) { return isa == 2 ? 16 : isa == 1 ? 8 : 4; }

static void *fma_worker(void *arg) {
    worker *w = arg;
    w->sink = w->isa == 2 ? fma_avx512(w->iterations) : w->isa == 1 ? fma_avx2(w->iterations) : fma_sse(w->iterations);
    return NULL;
}

static void *copy_worker(void *arg) {
    worker *w = arg;
    memcpy(w->dst + w->begin, w->src + w->begin, (w->end - w->begin) * sizeof(float));
    return NULL;
}

/* Run fn on `threads` workers at once; returns the wall time. */
static double run_threads(worker *ws, int threads, void *(*fn)(void *)) {
    pthread_t *tid = malloc((size_t)threads * sizeof *tid);
    GB_ASSERT(tid, "out of memory for %d threads", threads);
    double t0 = gb_now_seconds();
    for (int t = 0; t < threads; t++)
        GB_ASSERT(pthread_create(&tid[t], NULL, fn, &ws[t]) == 0, "cannot start benchmark thread %d", t);
    for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
    double dt = gb_now_seconds() - t0;
    free(tid);
    return dt;
}

static double best_of(int reps, worker *ws, int threads, void *(*fn)(void *)) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double dt = run_threads(ws, threads, fn);
        if (dt < best) best = dt;
    }
    return best;
}

void gb_ceilings_measure(gb_ceilings *c, int threads, int quick) {
    memset(c, 0, sizeof *c);
    c->threads = threads;
    __builtin_cpu_init();
    int isa = __builtin_cpu_supports("avx512f") ? 2 : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
    snprintf(c->vector_isa, sizeof c->vector_isa, "%s", isa == 2 ? "avx512f" : isa == 1 ? "avx2+fma" : "sse2");
    worker *ws = calloc((size_t)threads, sizeof *ws);
    GB_ASSERT(ws, "out of memory for %d workers", threads);

    long iters = quick ? 2000000 : 4000000;
    for (int t = 0; t < threads; t++) ws[t] = (worker){.iterations = iters, .isa = isa};
    double dt = best_of(quick ? 2 : 5, ws, threads, fma_worker);
    double flops_per_iter = 2.0 * lanes_of(isa) * CHAINS;
    c->fma_gflops = flops_per_iter * (double)iters * threads / dt / 1e9;

    size_t n = (quick ? 16u : 64u) << 20; /* floats: 64 or 256 MiB per array */
    float *src = malloc(n * sizeof *src), *dst = malloc(n * sizeof *dst);
    GB_ASSERT(src && dst, "out of memory for the %zu MiB bandwidth arrays", n * sizeof(float) >> 20);
    for (size_t i = 0; i < n; i++) src[i] = (float)i, dst[i] = 0; /* fault every page in first */
    for (int t = 0; t < threads; t++)
        ws[t] = (worker){.src = src, .dst = dst, .begin = n * (size_t)t / (size_t)threads,
                         .end = n * (size_t)(t + 1) / (size_t)threads};
    dt = best_of(quick ? 2 : 5, ws, threads, copy_worker);
    c->copy_gbps = 2.0 * (double)n * sizeof(float) / dt / 1e9;
    free(src);
    free(dst);
    free(ws);
}
