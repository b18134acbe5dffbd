/* kernels/cpu/blas_threads.c - OpenBLAS's thread count, and how long its idle threads spin.
 *
 * Two pools share the cores: OpenBLAS's (the GEMMs) and ours (kernels/cpu/parallel.h: im2col,
 * the Winograd transforms, pooling, norms, elementwise ops), which take turns. After a GEMM,
 * OpenBLAS's workers keep spinning with sched_yield for 2^28 cycles (its THREAD_TIMEOUT
 * default, ~0.1 s) before they sleep, so while our pool runs they compete with it for every
 * core. perf on the --conv fast WGAN-GP critic step (2 threads, 2-core VM): 23% of the
 * samples in the scheduler and sched_yield. With OPENBLAS_THREAD_TIMEOUT=16 (2^16 cycles,
 * ~20 us of spinning), measured the same day, best runs of 5-6: the fast critic step went
 * from 1150-1250 to 910-950 ms, the default one from about 1310 to 1250 ms; 4, 12 and 20 were
 * within the noise of 16.
 *
 * OpenBLAS reads that variable once, when the library loads, and uses it when its server
 * starts. So at the first device open, unless the user has set it: set it, have OpenBLAS read
 * its environment again (openblas_read_env) and stop its server (blas_thread_shutdown_, what
 * it does around fork); the next threaded call starts the server with the new timeout. These
 * two are OpenBLAS internals, exported by its shared library (0.3.x); they are bound weakly,
 * so another BLAS simply keeps its own behaviour. Only the scheduling changes, never a result.
 */
#include "kernels/cpu/cpu.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>

#define GB_BLAS_THREAD_TIMEOUT "16"

extern void openblas_read_env(void) __attribute__((weak));
extern int blas_thread_shutdown_(void) __attribute__((weak));

static int timeout_set;

static void shorten_spin(void) {
    if (getenv("OPENBLAS_THREAD_TIMEOUT") || !openblas_read_env || !blas_thread_shutdown_) return;
    setenv("OPENBLAS_THREAD_TIMEOUT", GB_BLAS_THREAD_TIMEOUT, 0);
    openblas_read_env();
    blas_thread_shutdown_();
    timeout_set = 1;
}

void gb_cpu_blas_threads(int threads) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, shorten_spin);
    openblas_set_num_threads(threads);
}

const char *gb_cpu_blas_spin(void) {
    const char *v = getenv("OPENBLAS_THREAD_TIMEOUT");
    if (timeout_set) return "OPENBLAS_THREAD_TIMEOUT " GB_BLAS_THREAD_TIMEOUT " (set by genbench)";
    return v ? "OPENBLAS_THREAD_TIMEOUT from the environment" : "OpenBLAS default spin";
}
