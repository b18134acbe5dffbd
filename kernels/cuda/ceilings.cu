/* kernels/cuda/ceilings.cu - the GPU's measured ceilings for the benchmark's "% of peak":
 * device memory bandwidth (a large device-to-device copy) and float32 GEMM rate (a large
 * cublasSgemm), declared in kernels/cuda/cuda_backend.h.
 *
 * Method (NVBench's): CUDA events around each sample on the legacy default stream; before
 * every sample, warm-up ones included, a flush buffer of twice the L2 size
 * (cudaDevAttrL2CacheSize) is written with cudaMemsetAsync, so each sample starts with a
 * cold L2 holding none of the operands; 3 warm-up samples are dropped (clocks ramping,
 * lazy module loading, cuBLAS heuristics); the best of the rest is the ceiling, because a
 * ceiling is the rate the machine can reach, and slower samples are interference or
 * throttling. Sizes: a 1 GiB copy (at 4.8 TB/s still 0.45 ms, far above event resolution
 * of about 0.5 us; at most a quarter of free memory) counted as read + write bytes, as
 * CUDA's bandwidthTest does; an 8192^3 SGEMM (2 * 8192^3 flops, tens of milliseconds),
 * full float32 (CUBLAS_DEFAULT_MATH, no TF32: the backend's own math mode, so kernels are
 * compared with the peak they could reach) with a fixed 32 MiB cuBLAS workspace like the
 * backend's. Clocks: the rated SM and memory clocks from cudaDeviceGetAttribute; without
 * NVML the clocks the samples actually ran at cannot be read, so throttling shows only as
 * a spread between samples.
 * Tested by tests/test_cuda_ceilings.c (plausible ranges on a GPU; GB_ENV without one).
 */
#include "kernels/cuda/common.cuh"

#include <stdio.h>

namespace {

enum { WARMUP = 3, COPY_SAMPLES = 30, GEMM_SAMPLES = 10, GEMM_N = 8192 };
const size_t copy_bytes_max = (size_t)1 << 30;
const size_t gemm_workspace_bytes = (size_t)32 << 20;

/* Every resource of one measurement, released on every return path. */
struct resources {
    void *flush = nullptr, *a = nullptr, *b = nullptr, *c = nullptr, *ws = nullptr;
    cudaEvent_t start = nullptr, stop = nullptr;
    cublasHandle_t blas = nullptr;
    ~resources() {
        if (blas) GB_CUBLAS_CHECK(cublasDestroy(blas));
        if (start) GB_CUDA_CHECK(cudaEventDestroy(start));
        if (stop) GB_CUDA_CHECK(cudaEventDestroy(stop));
        void *all[] = {flush, a, b, c, ws};
        for (void *p : all)
            if (p) GB_CUDA_CHECK(cudaFree(p));
    }
};

bool try_alloc(void **p, size_t bytes) {
    if (cudaMalloc(p, bytes) == cudaSuccess) return true;
    cudaGetLastError();
    *p = nullptr;
    return false;
}

} // namespace

/* x[i] = a small pattern of exact floats, so the GEMM multiplies ordinary non-zero numbers. */
__global__ void ceilings_fill_kernel(float *x, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        x[i] = (float)(int)(i % 7) * 0.125f - 0.375f;
}

/* Best elapsed milliseconds of `samples` cold runs of op after WARMUP dropped ones. */
template <typename Op>
static float best_cold_ms(resources &r, size_t flush_bytes, int samples, Op op) {
    float best = -1.0f;
    for (int s = 0; s < WARMUP + samples; s++) {
        GB_CUDA_CHECK(cudaMemsetAsync(r.flush, s & 0xff, flush_bytes));
        GB_CUDA_CHECK(cudaEventRecord(r.start));
        op();
        GB_CUDA_CHECK(cudaEventRecord(r.stop));
        GB_CUDA_CHECK(cudaEventSynchronize(r.stop));
        float ms = 0.0f;
        GB_CUDA_CHECK(cudaEventElapsedTime(&ms, r.start, r.stop));
        if (s >= WARMUP && (best < 0.0f || ms < best)) best = ms;
    }
    return best;
}

extern "C" gb_status gb_cuda_measure_ceilings(double *copy_gbps, double *sgemm_gflops, char *clocks,
                                              size_t cap) {
    GB_ASSERT(copy_gbps && sgemm_gflops, "gb_cuda_measure_ceilings: NULL output");
    *copy_gbps = *sgemm_gflops = 0.0;
    if (clocks && cap) clocks[0] = '\0';
    if (gb_cuda_device_count() == 0)
        return gb_fail(GB_ENV, "GPU ceilings: no CUDA device is visible; benchmark with --device cpu");
    cudaError_t set = cudaSetDevice(0);
    if (set != cudaSuccess) {
        cudaGetLastError();
        return gb_fail(GB_ENV, "GPU ceilings: CUDA device 0 is unusable: cudaSetDevice returned %s (%s)",
                       cudaGetErrorName(set), cudaGetErrorString(set));
    }

    int sm_khz = 0, mem_khz = 0, bus_bits = 0, l2 = 0, sms = 0;
    GB_CUDA_CHECK(cudaDeviceGetAttribute(&sm_khz, cudaDevAttrClockRate, 0));
    GB_CUDA_CHECK(cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, 0));
    GB_CUDA_CHECK(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0));
    GB_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0));
    GB_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    if (clocks && cap)
        snprintf(clocks, cap, "sm_clock_khz=%d mem_clock_khz=%d mem_bus_bits=%d l2_bytes=%d sms=%d", sm_khz,
                 mem_khz, bus_bits, l2, sms);

    resources r;
    /* twice the L2 (some GPUs keep part of a write-allocated line set); 8 MiB if unreported */
    const size_t flush_bytes = l2 > 0 ? 2 * (size_t)l2 : (size_t)8 << 20;
    size_t free_b = 0, total_b = 0;
    GB_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    size_t copy_bytes = copy_bytes_max;
    while (copy_bytes > ((size_t)1 << 20) && 2 * copy_bytes + flush_bytes > free_b / 2) copy_bytes /= 2;
    const size_t gemm_bytes = (size_t)GEMM_N * GEMM_N * sizeof(float);
    if (!try_alloc(&r.flush, flush_bytes) || !try_alloc(&r.a, 2 * copy_bytes))
        return gb_fail(GB_ENV, "GPU ceilings: out of device memory for the %zu-byte copy test (%zu of %zu "
                               "bytes free)", copy_bytes, free_b, total_b);
    GB_CUDA_CHECK(cudaEventCreate(&r.start));
    GB_CUDA_CHECK(cudaEventCreate(&r.stop));

    GB_CUDA_CHECK(cudaMemset(r.a, 1, 2 * copy_bytes));
    char *src = static_cast<char *>(r.a), *dst = src + copy_bytes;
    const float copy_ms = best_cold_ms(r, flush_bytes, COPY_SAMPLES, [&] {
        GB_CUDA_CHECK(cudaMemcpyAsync(dst, src, copy_bytes, cudaMemcpyDeviceToDevice));
    });
    *copy_gbps = 2.0 * (double)copy_bytes / (copy_ms * 1e-3) / 1e9;
    GB_CUDA_CHECK(cudaFree(r.a));
    r.a = nullptr;

    if (!try_alloc(&r.a, gemm_bytes) || !try_alloc(&r.b, gemm_bytes) || !try_alloc(&r.c, gemm_bytes) ||
        !try_alloc(&r.ws, gemm_workspace_bytes))
        return gb_fail(GB_ENV, "GPU ceilings: out of device memory for three %d x %d float matrices",
                       GEMM_N, GEMM_N);
    const size_t elems = (size_t)GEMM_N * GEMM_N;
    float *A = static_cast<float *>(r.a), *B = static_cast<float *>(r.b), *C = static_cast<float *>(r.c);
    ceilings_fill_kernel<<<gb_cuda_grid(elems), GB_CUDA_BLOCK>>>(A, elems);
    GB_CUDA_CHECK(cudaGetLastError());
    ceilings_fill_kernel<<<gb_cuda_grid(elems), GB_CUDA_BLOCK>>>(B, elems);
    GB_CUDA_CHECK(cudaGetLastError());
    const cublasStatus_t made = cublasCreate(&r.blas);
    if (made != CUBLAS_STATUS_SUCCESS) {
        r.blas = nullptr;
        return gb_fail(GB_ENV, "GPU ceilings: cublasCreate returned %s (%s)", cublasGetStatusName(made),
                       cublasGetStatusString(made));
    }
    GB_CUBLAS_CHECK(cublasSetWorkspace(r.blas, r.ws, gemm_workspace_bytes));
    GB_CUBLAS_CHECK(cublasSetMathMode(r.blas, CUBLAS_DEFAULT_MATH));
    const float one = 1.0f, zero = 0.0f;
    const float gemm_ms = best_cold_ms(r, flush_bytes, GEMM_SAMPLES, [&] {
        GB_CUBLAS_CHECK(cublasSgemm(r.blas, CUBLAS_OP_N, CUBLAS_OP_N, GEMM_N, GEMM_N, GEMM_N, &one, A,
                                    GEMM_N, B, GEMM_N, &zero, C, GEMM_N));
    });
    *sgemm_gflops = 2.0 * (double)GEMM_N * GEMM_N * GEMM_N / (gemm_ms * 1e-3) / 1e9;
    return GB_OK;
}
