/* kernels/cuda/common.cuh - what every CUDA op file shares: status checks,
 * the launch check, the backend state, the op declarations.
 *
 * Errors: ops return void (the backend table's contract), so a failing CUDA or
 * cuBLAS call is fatal: gb_panic with file:line, the library, the call, and
 * the status name and text. One generic check (gb_cuda_check_) is instantiated
 * per library by GB_CUDA_CHECK / GB_CUBLAS_CHECK / GB_CUDNN_CHECK /
 * GB_CUSOLVER_CHECK / GB_CUFFT_CHECK, each with its own status type. After every kernel launch GB_LAUNCH_CHECK reads cudaGetLastError, and
 * with env GB_SYNC_DEBUG=1 also synchronises, so an asynchronous fault is
 * reported at the launch that caused it.
 * Determinism: no float atomics anywhere; reductions use a fixed tree order.
 * Tested by tests/test_kernels_cuda.c.
 */
#ifndef GB_CUDA_COMMON_CUH
#define GB_CUDA_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <cufft.h>
#include <cusolverDn.h>

#include "kernels/cuda/cuda_backend.h"

static inline bool gb_cuda_ok(cudaError_t s) { return s == cudaSuccess; }
static inline const char *gb_cuda_status_name(cudaError_t s) { return cudaGetErrorName(s); }
static inline const char *gb_cuda_status_text(cudaError_t s) { return cudaGetErrorString(s); }

static inline bool gb_cuda_ok(cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS; }
static inline const char *gb_cuda_status_name(cublasStatus_t s) { return cublasGetStatusName(s); }
static inline const char *gb_cuda_status_text(cublasStatus_t s) { return cublasGetStatusString(s); }

/* cuDNN names its statuses itself; the text is the detail cuDNN 9 keeps for the
 * last failing call on this thread (cudnnGetLastErrorString). */
static inline bool gb_cuda_ok(cudnnStatus_t s) { return s == CUDNN_STATUS_SUCCESS; }
static inline const char *gb_cuda_status_name(cudnnStatus_t s) { return cudnnGetErrorString(s); }
static inline const char *gb_cuda_status_text(cudnnStatus_t) {
    static thread_local char detail[512];
    cudnnGetLastErrorString(detail, sizeof detail);
    return detail[0] ? detail : "no detail from cudnnGetLastErrorString";
}

/* cuSOLVER and cuFFT have no status-to-string functions: the enum names, spelled out. */
static inline bool gb_cuda_ok(cusolverStatus_t s) { return s == CUSOLVER_STATUS_SUCCESS; }
static inline const char *gb_cuda_status_name(cusolverStatus_t s) {
    switch (s) {
    case CUSOLVER_STATUS_SUCCESS: return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED: return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED: return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE: return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH: return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_EXECUTION_FAILED: return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR: return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_NOT_SUPPORTED: return "CUSOLVER_STATUS_NOT_SUPPORTED";
    case CUSOLVER_STATUS_INVALID_WORKSPACE: return "CUSOLVER_STATUS_INVALID_WORKSPACE";
    default: return "CUSOLVER_STATUS_(other)";
    }
}
static inline const char *gb_cuda_status_text(cusolverStatus_t s) {
    return s == CUSOLVER_STATUS_ALLOC_FAILED ? "out of device memory" : "see the cuSOLVER documentation";
}

static inline bool gb_cuda_ok(cufftResult s) { return s == CUFFT_SUCCESS; }
static inline const char *gb_cuda_status_name(cufftResult s) {
    switch (s) {
    case CUFFT_SUCCESS: return "CUFFT_SUCCESS";
    case CUFFT_INVALID_PLAN: return "CUFFT_INVALID_PLAN";
    case CUFFT_ALLOC_FAILED: return "CUFFT_ALLOC_FAILED";
    case CUFFT_INVALID_TYPE: return "CUFFT_INVALID_TYPE";
    case CUFFT_INVALID_VALUE: return "CUFFT_INVALID_VALUE";
    case CUFFT_INTERNAL_ERROR: return "CUFFT_INTERNAL_ERROR";
    case CUFFT_EXEC_FAILED: return "CUFFT_EXEC_FAILED";
    case CUFFT_SETUP_FAILED: return "CUFFT_SETUP_FAILED";
    case CUFFT_INVALID_SIZE: return "CUFFT_INVALID_SIZE";
    case CUFFT_UNALIGNED_DATA: return "CUFFT_UNALIGNED_DATA";
    case CUFFT_NOT_SUPPORTED: return "CUFFT_NOT_SUPPORTED";
    default: return "CUFFT_(other)";
    }
}
static inline const char *gb_cuda_status_text(cufftResult s) {
    return s == CUFFT_ALLOC_FAILED ? "out of device memory" : "see the cuFFT documentation";
}

template <typename Status>
static inline void gb_cuda_check_(Status s, const char *lib, const char *call, const char *file,
                                  int line) {
    if (!gb_cuda_ok(s))
        gb_panic(file, line, "%s call %s failed: %s (%s)", lib, call, gb_cuda_status_name(s),
                 gb_cuda_status_text(s));
}

#define GB_CUDA_CHECK(call) gb_cuda_check_<cudaError_t>((call), "CUDA", #call, __FILE__, __LINE__)
#define GB_CUBLAS_CHECK(call) gb_cuda_check_<cublasStatus_t>((call), "cuBLAS", #call, __FILE__, __LINE__)
#define GB_CUDNN_CHECK(call) gb_cuda_check_<cudnnStatus_t>((call), "cuDNN", #call, __FILE__, __LINE__)
#define GB_CUSOLVER_CHECK(call) gb_cuda_check_<cusolverStatus_t>((call), "cuSOLVER", #call, __FILE__, __LINE__)
#define GB_CUFFT_CHECK(call) gb_cuda_check_<cufftResult>((call), "cuFFT", #call, __FILE__, __LINE__)

/* Backend-private state behind gb_device.impl. */
struct gb_cuda_state {
    cublasHandle_t blas;
    void *blas_workspace; /* fixed cuBLAS workspace: same algorithms every call */
    size_t blas_workspace_bytes;
    int sync_debug;       /* GB_SYNC_DEBUG=1: synchronise after each launch */
    int nondeterministic; /* gb_cuda_set_nondeterministic: cuDNN may pick any algorithm */
    struct gb_cudnn_cache *conv; /* conv.cu: cuDNN handle and per-shape plans, made on first use */
};

static inline gb_cuda_state *gb_cuda_state_of(gb_device *dev) {
    return static_cast<gb_cuda_state *>(dev->impl);
}

static inline void gb_cuda_launch_check_(gb_device *dev, const char *kernel, const char *file,
                                         int line) {
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess && gb_cuda_state_of(dev)->sync_debug) e = cudaDeviceSynchronize();
    if (e != cudaSuccess)
        gb_panic(file, line, "CUDA kernel %s failed: %s (%s)", kernel, cudaGetErrorName(e),
                 cudaGetErrorString(e));
}
#define GB_LAUNCH_CHECK(dev, kernel) gb_cuda_launch_check_((dev), (kernel), __FILE__, __LINE__)

/* Threads per block of the elementwise kernels, and a grid that covers n
 * elements with grid-stride loops (capped: each thread then takes several). */
enum { GB_CUDA_BLOCK = 256 };
static inline unsigned gb_cuda_grid(size_t n) {
    size_t blocks = (n + GB_CUDA_BLOCK - 1) / GB_CUDA_BLOCK;
    if (blocks == 0) blocks = 1;
    return blocks > 8192 ? 8192u : (unsigned)blocks;
}

extern "C" {
/* conv.cu (cuDNN): conv2d and, in conv_transpose.cu, its adjoint */
void gb_conv2d_forward_cuda(gb_device *dev, float *out, const float *inp, const float *weight,
                            const float *bias, const gb_conv_shape *shape);
void gb_conv2d_backward_cuda(gb_device *dev, float *dinp, float *dweight, float *dbias,
                             const float *dout, const float *inp, const float *weight,
                             const gb_conv_shape *shape);
void gb_conv_transpose2d_forward_cuda(gb_device *dev, float *out, const float *inp,
                                      const float *weight, const float *bias,
                                      const gb_conv_shape *shape);
void gb_conv_transpose2d_backward_cuda(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                       const float *dout, const float *inp, const float *weight,
                                       const gb_conv_shape *shape);
/* Destroy the cuDNN handle and cached descriptors (gb_cuda_device_close). */
void gb_cuda_conv_release(gb_device *dev);
/* weight_standardize.cu */
void gb_weight_standardize_forward_cuda(gb_device *dev, float *out, float *save_rstd,
                                        const float *weight, int out_channels, int fan_in, float eps);
void gb_weight_standardize_backward_cuda(gb_device *dev, float *dweight, const float *dout,
                                         const float *out, const float *save_rstd, int out_channels,
                                         int fan_in);
}

extern "C" {
/* linear.cu */
void gb_linear_forward_cuda(gb_device *dev, float *out, const float *inp, const float *weight,
                            const float *bias, const gb_linear_shape *shape);
void gb_linear_backward_cuda(gb_device *dev, float *dinp, float *dweight, float *dbias,
                             const float *dout, const float *inp, const float *weight,
                             const gb_linear_shape *shape);
/* softplus.cu */
void gb_softplus_forward_cuda(gb_device *dev, float *out, const float *inp, size_t n);
void gb_softplus_backward_cuda(gb_device *dev, float *dinp, const float *dout, const float *inp,
                               size_t n);
/* loss.cu */
void gb_half_sq_error_cuda(gb_device *dev, float *loss, float *dpred, const float *pred,
                           const float *target, size_t rows, size_t cols);
/* adam.cu */
void gb_adam_update_cuda(gb_device *dev, float *params, const float *grads, float *m, float *v,
                         size_t n, const gb_adam_hparams *hp, long step);
}

#endif
