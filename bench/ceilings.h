/* bench/ceilings.h - the machine's measured ceilings, against which every kernel is placed.
 *
 * CPU: the fp32 FMA peak (independent FMA chains in the widest vector unit the CPU
 * has, on a fixed number of threads, monotonic wall clock) and the memory bandwidth
 * (a STREAM-style copy of arrays far larger than the caches; read + write bytes).
 * Both are measured at start, never taken from a datasheet, and recorded in the
 * benchmark's CSV/JSON. On a GPU the bench fills the same struct from the CUDA backend's
 * ceilings (a large cuBLAS sgemm, a large device-to-device copy: gb_cuda_measure_ceilings).
 */
#ifndef GB_BENCH_CEILINGS_H
#define GB_BENCH_CEILINGS_H

typedef struct {
    double fma_gflops;   /* fp32, all threads */
    double copy_gbps;    /* bytes read + written per second / 1e9 */
    char vector_isa[16]; /* what set the compute ceiling: "avx512f", "avx2+fma", "sse2"; "cuBLAS sgemm" on a GPU */
    int threads;
} gb_ceilings;

/* Measure both ceilings on `threads` threads; quick: shorter runs (smoke). */
void gb_ceilings_measure(gb_ceilings *c, int threads, int quick);

#endif
