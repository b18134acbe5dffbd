/* kernels/cuda/backend_cuda.cu - the CUDA backend: memory ops, the table, open/close.
 *
 * Backend memory is device memory from plain cudaMalloc (never managed
 * memory). All work goes to the legacy default stream, so cudaMemcpy orders
 * itself after the kernels before it and download returns finished data.
 * cuBLAS gets a fixed workspace at open (cuBLAS's condition for bitwise
 * reproducible results on one GPU model) and the default math mode, which
 * keeps sgemm in full float32 (no TF32).
 * Tested by tests/test_kernels_cuda.c (every op against the CPU backend).
 */
#include "kernels/cuda/common.cuh"

#include <stdlib.h>
#include <string.h>

/* 32 MiB: the workspace size NVIDIA recommends for Hopper. */
static const size_t gb_cublas_workspace_bytes = (size_t)32 << 20;

static void *cuda_alloc(gb_device *dev, size_t bytes) {
    (void)dev;
    void *p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        size_t free_b = 0, total_b = 0;
        cudaGetLastError();
        cudaMemGetInfo(&free_b, &total_b);
        gb_panic(__FILE__, __LINE__,
                 "out of memory: cudaMalloc of %zu bytes failed: %s (%s); device has %zu of %zu bytes free",
                 bytes, cudaGetErrorName(e), cudaGetErrorString(e), free_b, total_b);
    }
    return p;
}

static void cuda_free(gb_device *dev, void *ptr) {
    (void)dev;
    if (ptr) GB_CUDA_CHECK(cudaFree(ptr));
}

static void cuda_upload(gb_device *dev, void *dst, const void *host_src, size_t bytes) {
    (void)dev;
    if (bytes) GB_CUDA_CHECK(cudaMemcpy(dst, host_src, bytes, cudaMemcpyHostToDevice));
}

static void cuda_download(gb_device *dev, void *host_dst, const void *src, size_t bytes) {
    (void)dev;
    if (bytes) GB_CUDA_CHECK(cudaMemcpy(host_dst, src, bytes, cudaMemcpyDeviceToHost));
}

static void cuda_copy(gb_device *dev, void *dst, const void *src, size_t bytes) {
    (void)dev;
    if (bytes) GB_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
}

static void cuda_copy_rows(gb_device *dev, void *dst, size_t dst_pitch, const void *src, size_t src_pitch,
                           size_t row_bytes, size_t rows) {
    (void)dev;
    GB_ASSERT(dst_pitch >= row_bytes && src_pitch >= row_bytes, "copy_rows: pitches %zu / %zu below the row's %zu bytes",
              dst_pitch, src_pitch, row_bytes);
    if (row_bytes && rows)
        GB_CUDA_CHECK(cudaMemcpy2D(dst, dst_pitch, src, src_pitch, row_bytes, rows, cudaMemcpyDeviceToDevice));
}

static void cuda_zero(gb_device *dev, void *ptr, size_t bytes) {
    (void)dev;
    if (bytes) GB_CUDA_CHECK(cudaMemset(ptr, 0, bytes));
}

static void cuda_sync(gb_device *dev) {
    (void)dev;
    GB_CUDA_CHECK(cudaDeviceSynchronize());
}

static gb_backend make_cuda_backend() {
    gb_backend b;
    memset(&b, 0, sizeof b);
    b.name = "cuda";
    b.alloc = cuda_alloc;
    b.free = cuda_free;
    b.upload = cuda_upload;
    b.download = cuda_download;
    b.copy = cuda_copy;
    b.copy_rows = cuda_copy_rows;
    b.zero = cuda_zero;
    b.sync = cuda_sync;
    /* -- convolution (cuDNN) -- */
    b.conv2d_forward = gb_conv2d_forward_cuda;
    b.conv2d_backward = gb_conv2d_backward_cuda;
    b.upsample_conv2d_forward = gb_upsample_conv2d_forward_cuda;
    b.upsample_conv2d_backward = gb_upsample_conv2d_backward_cuda;
    b.conv_transpose2d_forward = gb_conv_transpose2d_forward_cuda;
    b.conv_transpose2d_backward = gb_conv_transpose2d_backward_cuda;
    b.weight_standardize_forward = gb_weight_standardize_forward_cuda;
    b.weight_standardize_backward = gb_weight_standardize_backward_cuda;
    b.linear_forward = gb_linear_forward_cuda;
    b.linear_backward = gb_linear_backward_cuda;
    b.softplus_forward = gb_softplus_forward_cuda;
    b.softplus_backward = gb_softplus_backward_cuda;
    b.half_sq_error = gb_half_sq_error_cuda;
    b.adam_update = gb_adam_update_cuda;
    b.fill = gb_fill_cuda;
    b.add = gb_add_cuda;
    b.mul = gb_mul_cuda;
    b.axpy = gb_axpy_cuda;
    b.scale_by = gb_scale_by_cuda;
    b.activation_forward = gb_activation_forward_cuda;
    b.activation_backward = gb_activation_backward_cuda;
    b.activation_jvp = gb_activation_jvp_cuda;
    b.activation_jvp_backward = gb_activation_jvp_backward_cuda;
    b.film_forward = gb_film_forward_cuda;
    b.film_backward = gb_film_backward_cuda;
    b.batchnorm_forward_train = gb_batchnorm_forward_train_cuda;
    b.batchnorm_backward_train = gb_batchnorm_backward_train_cuda;
    b.batchnorm_forward_eval = gb_batchnorm_forward_eval_cuda;
    b.batchnorm_backward_eval = gb_batchnorm_backward_eval_cuda;
    b.groupnorm_forward = gb_groupnorm_forward_cuda;
    b.groupnorm_backward = gb_groupnorm_backward_cuda;
    b.layernorm_channels_forward = gb_layernorm_channels_forward_cuda;
    b.layernorm_channels_backward = gb_layernorm_channels_backward_cuda;
    b.maxpool2d_forward = gb_maxpool2d_forward_cuda;
    b.maxpool2d_backward = gb_maxpool2d_backward_cuda;
    b.avgpool2d_forward = gb_avgpool2d_forward_cuda;
    b.avgpool2d_backward = gb_avgpool2d_backward_cuda;
    b.spatial_sum_forward = gb_spatial_sum_forward_cuda;
    b.spatial_sum_backward = gb_spatial_sum_backward_cuda;
    b.upsample_nearest2x_forward = gb_upsample_nearest2x_forward_cuda;
    b.upsample_nearest2x_backward = gb_upsample_nearest2x_backward_cuda;
    b.concat_channels_forward = gb_concat_channels_forward_cuda;
    b.concat_channels_backward = gb_concat_channels_backward_cuda;
    b.squeeze2x_forward = gb_squeeze2x_forward_cuda;
    b.unsqueeze2x_forward = gb_unsqueeze2x_forward_cuda;
    b.softmax_forward = gb_softmax_forward_cuda;
    b.softmax_backward = gb_softmax_backward_cuda;
    b.log_softmax_forward = gb_log_softmax_forward_cuda;
    b.log_softmax_backward = gb_log_softmax_backward_cuda;
    b.logsumexp_forward = gb_logsumexp_forward_cuda;
    b.logsumexp_backward = gb_logsumexp_backward_cuda;
    b.sum_forward = gb_sum_forward_cuda;
    b.sum_backward = gb_sum_backward_cuda;
    b.attention_forward = gb_attention_forward_cuda;
    b.attention_backward = gb_attention_backward_cuda;
    b.linear_attention_forward = gb_linear_attention_forward_cuda;
    b.linear_attention_backward = gb_linear_attention_backward_cuda;
    b.bce_with_logits = gb_bce_with_logits_cuda;
    b.sq_error = gb_sq_error_cuda;
    b.cross_entropy = gb_cross_entropy_cuda;
    b.gaussian_kl = gb_gaussian_kl_cuda;
    b.reparameterize_forward = gb_reparameterize_forward_cuda;
    b.reparameterize_backward = gb_reparameterize_backward_cuda;
    b.gradient_penalty = gb_gradient_penalty_cuda;
    b.clip_grad_norm = gb_clip_grad_norm_cuda;
    b.fourier_embedding_forward = gb_fourier_embedding_forward_cuda;
    b.fourier_embedding_backward = gb_fourier_embedding_backward_cuda;
    b.sinusoidal_embedding_forward = gb_sinusoidal_embedding_forward_cuda;
    b.sinusoidal_embedding_backward = gb_sinusoidal_embedding_backward_cuda;
    b.coupling_forward = gb_coupling_forward_cuda;
    b.coupling_backward = gb_coupling_backward_cuda;
    b.coupling_inverse = gb_coupling_inverse_cuda;
    return b;
}

static const gb_backend gb_cuda_backend = make_cuda_backend();

extern "C" const gb_backend *gb_cuda_backend_table(void) { return &gb_cuda_backend; }

extern "C" size_t gb_cuda_free_bytes(void) {
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        cudaGetLastError();
        return SIZE_MAX; /* unknown: the allocation itself will say what went wrong */
    }
    return free_b;
}

extern "C" void *gb_cuda_host_alloc(size_t bytes) {
    void *p = nullptr;
    if (cudaMallocHost(&p, bytes ? bytes : 1) != cudaSuccess) {
        cudaGetLastError();
        return nullptr;
    }
    return p;
}

extern "C" void gb_cuda_host_free(void *p) {
    if (p) GB_CUDA_CHECK(cudaFreeHost(p));
}

extern "C" int gb_cuda_device_count(void) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError(); /* clear it so later calls do not see it */
        return 0;
    }
    return n;
}

extern "C" gb_status gb_cuda_device_open(gb_device *dev) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return gb_fail(GB_ENV, "no CUDA device: cudaGetDeviceCount returned %s (%s); run with --device cpu",
                       cudaGetErrorName(e), cudaGetErrorString(e));
    }
    if (n == 0)
        return gb_fail(GB_ENV, "no CUDA device: cudaGetDeviceCount returned 0 devices; run with --device cpu");
    e = cudaSetDevice(0);
    if (e != cudaSuccess)
        return gb_fail(GB_ENV, "CUDA device 0 is unusable: cudaSetDevice returned %s (%s); run with --device cpu",
                       cudaGetErrorName(e), cudaGetErrorString(e));
    cudaDeviceProp prop;
    e = cudaGetDeviceProperties(&prop, 0);
    if (e != cudaSuccess)
        return gb_fail(GB_ENV, "CUDA device 0: cudaGetDeviceProperties returned %s (%s)",
                       cudaGetErrorName(e), cudaGetErrorString(e));

    gb_cuda_state *st = static_cast<gb_cuda_state *>(calloc(1, sizeof *st));
    GB_ASSERT(st, "out of host memory for the CUDA backend state");
    cublasStatus_t bs = cublasCreate(&st->blas);
    if (bs != CUBLAS_STATUS_SUCCESS) {
        free(st);
        return gb_fail(GB_ENV, "cuBLAS: cublasCreate returned %s (%s); check the CUDA installation",
                       cublasGetStatusName(bs), cublasGetStatusString(bs));
    }
    e = cudaMalloc(&st->blas_workspace, gb_cublas_workspace_bytes);
    if (e != cudaSuccess) {
        cublasDestroy(st->blas);
        free(st);
        return gb_fail(GB_ENV, "CUDA: cudaMalloc of the %zu-byte cuBLAS workspace returned %s (%s)",
                       gb_cublas_workspace_bytes, cudaGetErrorName(e), cudaGetErrorString(e));
    }
    st->blas_workspace_bytes = gb_cublas_workspace_bytes;
    GB_CUBLAS_CHECK(cublasSetWorkspace(st->blas, st->blas_workspace, st->blas_workspace_bytes));
    GB_CUBLAS_CHECK(cublasSetMathMode(st->blas, CUBLAS_DEFAULT_MATH));
    dev->impl = st; /* gb_cuda_conv_open reaches the state through dev */
    gb_status cs = gb_cuda_conv_open(dev);
    if (cs != GB_OK) {
        dev->impl = nullptr;
        cublasDestroy(st->blas);
        cudaFree(st->blas_workspace);
        free(st);
        return cs;
    }
    const char *sync = getenv("GB_SYNC_DEBUG");
    st->sync_debug = sync && strcmp(sync, "1") == 0;

    int runtime = 0, blas_version = 0;
    GB_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
    GB_CUBLAS_CHECK(cublasGetVersion(st->blas, &blas_version));

    memset(dev, 0, sizeof *dev);
    dev->ops = &gb_cuda_backend;
    dev->impl = st;
    snprintf(dev->name, sizeof dev->name, "cuda (%.48s, sm_%d%d, CUDA runtime %d.%d, cuBLAS %d.%d.%d)",
             prop.name, prop.major, prop.minor, runtime / 1000, runtime % 1000 / 10,
             blas_version / 10000, blas_version / 100 % 100, blas_version % 100);
    return GB_OK;
}

extern "C" void gb_cuda_device_close(gb_device *dev) {
    gb_cuda_state *st = gb_cuda_state_of(dev);
    if (!st) return;
    GB_CUDA_CHECK(cudaDeviceSynchronize());
    gb_cuda_conv_release(dev);
    GB_CUBLAS_CHECK(cublasDestroy(st->blas));
    GB_CUDA_CHECK(cudaFree(st->blas_workspace));
    free(st);
    dev->impl = nullptr;
}
