/* kernels/cuda/common.cuh - what every CUDA op file shares: status checks,
 * the launch check, the backend state, the op declarations.
 *
 * Errors: ops return void (the backend table's contract), so a failing CUDA or
 * cuBLAS call is fatal: gb_panic with file:line, the library, the call, and
 * the status name and text. One generic check (gb_cuda_check_) is instantiated
 * per library by GB_CUDA_CHECK / GB_CUBLAS_CHECK, each with its own status
 * type. After every kernel launch GB_LAUNCH_CHECK reads cudaGetLastError, and
 * with env GB_SYNC_DEBUG=1 also synchronises, so an asynchronous fault is
 * reported at the launch that caused it.
 * Determinism: no float atomics anywhere; reductions use a fixed tree order.
 * Tested by tests/test_kernels_cuda.c.
 */
#ifndef GB_CUDA_COMMON_CUH
#define GB_CUDA_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_backend.h"

static inline bool gb_cuda_ok(cudaError_t s) { return s == cudaSuccess; }
static inline const char *gb_cuda_status_name(cudaError_t s) { return cudaGetErrorName(s); }
static inline const char *gb_cuda_status_text(cudaError_t s) { return cudaGetErrorString(s); }

static inline bool gb_cuda_ok(cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS; }
static inline const char *gb_cuda_status_name(cublasStatus_t s) { return cublasGetStatusName(s); }
static inline const char *gb_cuda_status_text(cublasStatus_t s) { return cublasGetStatusString(s); }

template <typename Status>
static inline void gb_cuda_check_(Status s, const char *lib, const char *call, const char *file,
                                  int line) {
    if (!gb_cuda_ok(s))
        gb_panic(file, line, "%s call %s failed: %s (%s)", lib, call, gb_cuda_status_name(s),
                 gb_cuda_status_text(s));
}

#define GB_CUDA_CHECK(call) gb_cuda_check_<cudaError_t>((call), "CUDA", #call, __FILE__, __LINE__)
#define GB_CUBLAS_CHECK(call) gb_cuda_check_<cublasStatus_t>((call), "cuBLAS", #call, __FILE__, __LINE__)

/* Backend-private state behind gb_device.impl. */
struct gb_cuda_state {
    cublasHandle_t blas;
    void *blas_workspace; /* fixed cuBLAS workspace: same algorithms every call */
    size_t blas_workspace_bytes;
    int sync_debug;       /* GB_SYNC_DEBUG=1: synchronise after each launch */
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
