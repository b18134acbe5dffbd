/* kernels/cuda/cuda_backend.h - the CUDA backend's entry points for C code.
 *
 * kernels/device.c includes this only when the build has CUDA (GB_HAVE_CUDA);
 * the definitions are in kernels/cuda/backend_cuda.cu (extern "C"). The
 * C++ side includes it too, so the project's C headers are wrapped here once.
 * Tested by tests/test_kernels_cuda.c.
 */
#ifndef GB_CUDA_BACKEND_H
#define GB_CUDA_BACKEND_H

#ifdef __cplusplus
/* core/status.h is C11; C++ spells its _Noreturn as an attribute. */
#ifndef _Noreturn
#define _Noreturn [[noreturn]]
#endif
extern "C" {
#endif

#include "core/philox.h"
#include "kernels/kernels.h"

/* Number of visible CUDA devices; 0 when the driver or runtime reports an
 * error (no driver, no device), never an error itself. */
int gb_cuda_device_count(void);
/* Device memory free now (cudaMemGetInfo), SIZE_MAX when it cannot be asked. */
size_t gb_cuda_free_bytes(void);
/* Page-locked host memory (cudaMallocHost: uploads from it run at the bus's full rate), NULL
 * when it cannot be had; freed by gb_cuda_host_free. */
void *gb_cuda_host_alloc(size_t bytes);
void gb_cuda_host_free(void *p);

/* Fill dev for device 0: cuBLAS handle, fixed workspace, name. GB_ENV with the
 * reason when there is no usable GPU. dev->threads is left to the caller. */
gb_status gb_cuda_device_open(gb_device *dev);

/* Release the cuBLAS handle and workspace of a device opened above. */
void gb_cuda_device_close(gb_device *dev);

/* The CUDA backend's op table (a global built at load time, usable without a GPU: the
 * completeness test of tests/test_kernels_cuda.c reads it). */
const gb_backend *gb_cuda_backend_table(void);

/* ---- convolution algorithms (kernels/cuda/conv.cu) ----------------------------------
 * By default cuDNN's algorithms come from a fixed allow-list of deterministic ones
 * (bitwise-reproducible results run to run on one GPU model). on != 0 (the CLI's
 * --nondeterministic) lets cuDNN's heuristics pick the fastest algorithm instead, which
 * may use atomics; algorithms already chosen are forgotten and chosen again. */
void gb_cuda_set_nondeterministic(gb_device *dev, int on);

/* A text record of what the convolutions ran, for the manifest: a first line with the
 * cuDNN version and the mode, then one line per shape seen so far (first-use order):
 *   "conv2d 64x3x32x32 -> 128 k3x3 s1x1 p1x1 op0x0: fwd IMPLICIT_PRECOMP_GEMM,
 *    bwd_data ALGO_1, bwd_filter ALGO_1" ("-" for a direction not run yet).
 * Writes at most cap bytes (always NUL-terminated when cap > 0) and returns the length
 * the whole record needs, as snprintf does; call after training. */
size_t gb_cuda_conv_algorithms(gb_device *dev, char *buf, size_t cap);

/* ---- Philox on the device (kernels/cuda/philox.cu) ------------------------------------
 * Bit-identical to core/philox.c: out[k] = gb_philox_uniform_at(key, position + k) and
 * gb_philox_normal_at(key, position + k), k < n; out is device memory. */
void gb_cuda_philox_uniform(gb_device *dev, float *out, const uint32_t key[2], uint64_t position,
                            size_t n);
void gb_cuda_philox_normal(gb_device *dev, float *out, const uint32_t key[2], uint64_t position,
                           size_t n);
/* gb_stream_uniform / gb_stream_normal with a device output: the same numbers, and
 * s->position advances exactly as theirs does (normals: rounded up to even first). */
void gb_cuda_stream_uniform(gb_device *dev, gb_stream *s, float *out, size_t n);
void gb_cuda_stream_normal(gb_device *dev, gb_stream *s, float *out, size_t n);

/* ---- machine ceilings for the benchmark (kernels/cuda/ceilings.cu) --------------------
 * Peak rates of GPU 0, measured with CUDA events over cold samples (the L2 cache is
 * flushed by writing a buffer of twice its size before each sample); the best sample
 * counts (a ceiling is a peak, not a typical rate):
 *   copy_gbps     a 1 GiB device-to-device cudaMemcpy, (read + write bytes) / s / 1e9
 *   sgemm_gflops  an 8192^3 cublasSgemm in full float32 (default math: no TF32),
 *                 2 n^3 / s / 1e9
 *   clocks        "sm_clock_khz=.. mem_clock_khz=.. mem_bus_bits=.. l2_bytes=.. sms=.."
 *                 (rated clocks from cudaDeviceGetAttribute; no NVML, so not the clocks
 *                 the samples actually ran at), truncated to cap bytes.
 * GB_ENV with the reason when there is no usable GPU or memory runs out. */
gb_status gb_cuda_measure_ceilings(double *copy_gbps, double *sgemm_gflops, char *clocks,
                                   size_t cap);

#ifdef __cplusplus
}
#endif

#endif
