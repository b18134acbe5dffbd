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
    struct gb_cudnn_cache *conv; /* conv.cu: cuDNN handle (made at device open) and per-shape plans */
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

/* Row-major strided-batched sgemm, cblas_sgemm's argument order: for b < batch,
 *   C_b[M, N] = alpha * op(A_b)[M, K] op(B_b)[K, N] + beta * C_b,   X_b = X + b * stride_x.
 * cuBLAS is column-major and a row-major matrix is its column-major transpose, so the call
 * computes C^T = op(B)^T op(A)^T: the operands swap, no copies. Full float32 (the handle's
 * default math mode, no TF32); the fixed workspace makes repeated calls reproducible. */
static inline void gb_cuda_sgemm_rm(gb_device *dev, bool trans_a, bool trans_b, int m, int n, int k,
                                    float alpha, const float *a, int lda, long long stride_a,
                                    const float *b, int ldb, long long stride_b, float beta,
                                    float *c, int ldc, long long stride_c, int batch) {
    if (m <= 0 || n <= 0 || batch <= 0) return;
    GB_CUBLAS_CHECK(cublasSgemmStridedBatched(
        gb_cuda_state_of(dev)->blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
        trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb, stride_b, a, lda, stride_a,
        &beta, c, ldc, stride_c, batch));
}

extern "C" {
/* conv.cu (cuDNN): conv2d and, in conv_transpose.cu, its adjoint */
void gb_conv2d_forward_cuda(gb_device *dev, float *out, const float *inp, const float *weight,
                            const float *bias, const gb_conv_shape *shape);
void gb_conv2d_backward_cuda(gb_device *dev, float *dinp, float *dweight, float *dbias,
                             const float *dout, const float *inp, const float *weight,
                             const gb_conv_shape *shape);
/* conv_upsample.cu: upsample_nearest2x then conv2d (see the file) */
void gb_upsample_conv2d_forward_cuda(gb_device *dev, float *out, const float *inp,
                                     const float *weight, const float *bias,
                                     const gb_conv_shape *shape);
void gb_upsample_conv2d_backward_cuda(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                      const float *dout, const float *inp, const float *weight,
                                      const gb_conv_shape *shape);
void gb_conv_transpose2d_forward_cuda(gb_device *dev, float *out, const float *inp,
                                      const float *weight, const float *bias,
                                      const gb_conv_shape *shape);
void gb_conv_transpose2d_backward_cuda(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                       const float *dout, const float *inp, const float *weight,
                                       const gb_conv_shape *shape);
/* Create the cuDNN handle and check its sub-libraries load (gb_cuda_device_open): GB_ENV naming
 * the failed call otherwise. */
gb_status gb_cuda_conv_open(gb_device *dev);
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

/* elementwise.cu */
void gb_fill_cuda(gb_device *dev, float *out, float value, size_t n);
void gb_add_cuda(gb_device *dev, float *out, const float *a, const float *b, size_t n);
void gb_mul_cuda(gb_device *dev, float *out, const float *a, const float *b, size_t n);
void gb_axpy_cuda(gb_device *dev, float *y, float alpha, const float *x, size_t n);
void gb_scale_by_cuda(gb_device *dev, float *out, float alpha, const float *inp, size_t n);

/* activation.cu */
void gb_activation_forward_cuda(gb_device *dev, float *out, const float *inp, size_t n,
                                const gb_activation *act);
void gb_activation_backward_cuda(gb_device *dev, float *dinp, const float *dout, const float *inp,
                                 size_t n, const gb_activation *act);
void gb_activation_jvp_cuda(gb_device *dev, float *out_t, const float *inp, const float *inp_t,
                            size_t n, const gb_activation *act);
void gb_activation_jvp_backward_cuda(gb_device *dev, float *dinp, float *dinp_t, const float *dout,
                                     const float *dout_t, const float *inp, const float *inp_t,
                                     size_t n, const gb_activation *act);

/* film.cu */
void gb_film_forward_cuda(gb_device *dev, float *out, const float *inp, const float *scale,
                          const float *shift, const gb_norm_shape *shape);
void gb_film_backward_cuda(gb_device *dev, float *dinp, float *dscale, float *dshift,
                           const float *dout, const float *inp, const float *scale,
                           const gb_norm_shape *shape);

/* batchnorm.cu */
void gb_batchnorm_forward_train_cuda(gb_device *dev, float *out, float *save_mean, float *save_rstd,
                                     float *running_mean, float *running_var, const float *inp,
                                     const float *gamma, const float *beta,
                                     const gb_norm_shape *shape, float momentum);
void gb_batchnorm_backward_train_cuda(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                                      const float *dout, const float *inp, const float *gamma,
                                      const float *save_mean, const float *save_rstd,
                                      const gb_norm_shape *shape);
void gb_batchnorm_forward_eval_cuda(gb_device *dev, float *out, const float *inp, const float *gamma,
                                    const float *beta, const float *running_mean,
                                    const float *running_var, const gb_norm_shape *shape);
void gb_batchnorm_backward_eval_cuda(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                                     const float *dout, const float *inp, const float *gamma,
                                     const float *running_mean, const float *running_var,
                                     const gb_norm_shape *shape);

/* groupnorm.cu */
void gb_groupnorm_forward_cuda(gb_device *dev, float *out, float *save_mean, float *save_rstd,
                               const float *inp, const float *gamma, const float *beta,
                               const gb_norm_shape *shape);
void gb_groupnorm_backward_cuda(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                                const float *dout, const float *inp, const float *gamma,
                                const float *save_mean, const float *save_rstd,
                                const gb_norm_shape *shape);

/* layernorm.cu */
void gb_layernorm_channels_forward_cuda(gb_device *dev, float *out, float *save_mean,
                                        float *save_rstd, const float *inp, const float *gain,
                                        const gb_norm_shape *shape);
void gb_layernorm_channels_backward_cuda(gb_device *dev, float *dinp, float *dgain,
                                         const float *dout, const float *inp, const float *gain,
                                         const float *save_mean, const float *save_rstd,
                                         const gb_norm_shape *shape);

/* pool.cu */
void gb_maxpool2d_forward_cuda(gb_device *dev, float *out, int32_t *argmax, const float *inp,
                               const gb_pool_shape *shape);
void gb_maxpool2d_backward_cuda(gb_device *dev, float *dinp, const float *dout,
                                const int32_t *argmax, const gb_pool_shape *shape);
void gb_avgpool2d_forward_cuda(gb_device *dev, float *out, const float *inp,
                               const gb_pool_shape *shape);
void gb_avgpool2d_backward_cuda(gb_device *dev, float *dinp, const float *dout,
                                const gb_pool_shape *shape);

/* layout.cu */
void gb_spatial_sum_forward_cuda(gb_device *dev, float *out, const float *inp, size_t planes,
                                 size_t spatial, float scale);
void gb_spatial_sum_backward_cuda(gb_device *dev, float *dinp, const float *dout, size_t planes,
                                  size_t spatial, float scale);
void gb_upsample_nearest2x_forward_cuda(gb_device *dev, float *out, const float *inp, size_t planes,
                                        int height, int width);
void gb_upsample_nearest2x_backward_cuda(gb_device *dev, float *dinp, const float *dout,
                                         size_t planes, int height, int width);
void gb_concat_channels_forward_cuda(gb_device *dev, float *out, const float *a, const float *b,
                                     int batch, int ca, int cb, size_t spatial);
void gb_concat_channels_backward_cuda(gb_device *dev, float *da, float *db, const float *dout,
                                      int batch, int ca, int cb, size_t spatial);
void gb_squeeze2x_forward_cuda(gb_device *dev, float *out, const float *inp, int batch,
                               int channels, int height, int width);
void gb_unsqueeze2x_forward_cuda(gb_device *dev, float *out, const float *inp, int batch,
                                 int channels, int height, int width);

/* softmax.cu */
void gb_softmax_forward_cuda(gb_device *dev, float *out, const float *inp, size_t rows, size_t cols);
void gb_softmax_backward_cuda(gb_device *dev, float *dinp, const float *dout, const float *out,
                              size_t rows, size_t cols);
void gb_log_softmax_forward_cuda(gb_device *dev, float *out, const float *inp, size_t rows,
                                 size_t cols);
void gb_log_softmax_backward_cuda(gb_device *dev, float *dinp, const float *dout, const float *out,
                                  size_t rows, size_t cols);
void gb_logsumexp_forward_cuda(gb_device *dev, float *out, const float *inp, size_t rows,
                               size_t cols);
void gb_logsumexp_backward_cuda(gb_device *dev, float *dinp, const float *dout, const float *inp,
                                const float *out, size_t rows, size_t cols);
void gb_sum_forward_cuda(gb_device *dev, float *out, const float *inp, size_t n, float scale);
void gb_sum_backward_cuda(gb_device *dev, float *dinp, const float *dout, size_t n, float scale);

/* attention.cu */
void gb_attention_forward_cuda(gb_device *dev, float *out, float *saved, const float *qkv,
                               const gb_attention_shape *shape);
void gb_attention_backward_cuda(gb_device *dev, float *dqkv, const float *dout, const float *qkv,
                                const float *saved, const gb_attention_shape *shape);

/* linear_attention.cu */
void gb_linear_attention_forward_cuda(gb_device *dev, float *out, float *saved, const float *qkv,
                                      const gb_attention_shape *shape);
void gb_linear_attention_backward_cuda(gb_device *dev, float *dqkv, const float *dout,
                                       const float *qkv, const float *saved,
                                       const gb_attention_shape *shape);

/* losses.cu */
void gb_bce_with_logits_cuda(gb_device *dev, float *loss, float *dlogits, const float *logits,
                             const float *target, float target_value, size_t n, float weight);
void gb_sq_error_cuda(gb_device *dev, float *loss, float *dpred, const float *pred,
                      const float *target, float target_value, size_t n, double divisor);
void gb_cross_entropy_cuda(gb_device *dev, float *loss, float *dlogits, const float *logits,
                           const int32_t *labels, size_t rows, size_t classes, float weight);
void gb_gaussian_kl_cuda(gb_device *dev, float *loss, float *dmu, float *dlog_std, const float *mu,
                         const float *log_std, size_t rows, size_t cols, float weight);
void gb_reparameterize_forward_cuda(gb_device *dev, float *z, const float *mu, const float *log_std,
                                    const float *eps, size_t n);
void gb_reparameterize_backward_cuda(gb_device *dev, float *dmu, float *dlog_std, const float *dz,
                                     const float *log_std, const float *eps, size_t n);

/* gradient_penalty.cu */
void gb_gradient_penalty_cuda(gb_device *dev, float *loss, float *dg, const float *g, size_t rows,
                              size_t cols, float lambda);

/* clip.cu */
void gb_clip_grad_norm_cuda(gb_device *dev, float *grads, size_t n, float max_norm,
                            float *total_norm);

/* embedding.cu */
void gb_fourier_embedding_forward_cuda(gb_device *dev, float *out, const float *t, const float *w,
                                       size_t n, size_t half);
void gb_fourier_embedding_backward_cuda(gb_device *dev, float *dt, const float *dout,
                                        const float *t, const float *w, size_t n, size_t half);
void gb_sinusoidal_embedding_forward_cuda(gb_device *dev, float *out, const float *t, size_t n,
                                          size_t dim);
void gb_sinusoidal_embedding_backward_cuda(gb_device *dev, float *dt, const float *dout,
                                           const float *t, size_t n, size_t dim);

/* coupling.cu */
void gb_coupling_forward_cuda(gb_device *dev, float *y, float *logdet, const float *x,
                              const float *s, const float *t, const gb_coupling_shape *shape);
void gb_coupling_backward_cuda(gb_device *dev, float *dx, float *ds, float *dt, const float *dy,
                               const float *dlogdet, const float *x, const float *s,
                               const gb_coupling_shape *shape);
void gb_coupling_inverse_cuda(gb_device *dev, float *x, const float *y, const float *s,
                              const float *t, const gb_coupling_shape *shape);
}

#endif
