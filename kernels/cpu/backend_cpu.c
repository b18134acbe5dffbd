/* kernels/cpu/backend_cpu.c - the CPU backend: memory ops, the table, open.
 *
 * Backend memory is host memory here: alloc is 64-byte aligned (a cache line,
 * and a full AVX-512 vector) and aborts with the byte count on OOM, as the
 * table requires; upload/download/copy are memcpy, sync does nothing because
 * every op has finished when it returns. Threads: OpenBLAS's pool runs the GEMMs and
 * kernels/cpu/parallel.h's the rest, both sized at open (blas_threads.c explains how their
 * turns are kept from colliding).
 * Tested by tests/test_kernels_cpu.c (device open, memory round trip).
 */
#include "kernels/cpu/cpu.h"

#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { GB_CPU_ALIGN = 64 };

static void *cpu_alloc(gb_device *dev, size_t bytes) {
    (void)dev;
    /* aligned_alloc wants a multiple of the alignment; 0 bytes still gets a
     * unique pointer so callers never see NULL. */
    if (bytes > SIZE_MAX - GB_CPU_ALIGN)
        gb_panic(__FILE__, __LINE__, "out of memory: cannot allocate %zu bytes on the cpu", bytes);
    size_t rounded = (bytes + GB_CPU_ALIGN - 1) / GB_CPU_ALIGN * GB_CPU_ALIGN;
    if (rounded == 0) rounded = GB_CPU_ALIGN;
    void *p = aligned_alloc(GB_CPU_ALIGN, rounded);
    if (!p) gb_panic(__FILE__, __LINE__, "out of memory: allocating %zu bytes on the cpu failed", bytes);
    return p;
}

static void cpu_free(gb_device *dev, void *ptr) {
    (void)dev;
    free(ptr);
}

/* memcpy with 0 bytes and a NULL pointer is undefined, so skip empty copies. */
static void cpu_memcpy(gb_device *dev, void *dst, const void *src, size_t bytes) {
    (void)dev;
    if (bytes) memcpy(dst, src, bytes);
}

static void cpu_copy_rows(gb_device *dev, void *dst, size_t dst_pitch, const void *src, size_t src_pitch,
                          size_t row_bytes, size_t rows) {
    (void)dev;
    GB_ASSERT(dst_pitch >= row_bytes && src_pitch >= row_bytes, "copy_rows: pitches %zu / %zu below the row's %zu bytes",
              dst_pitch, src_pitch, row_bytes);
    if (row_bytes == 0) return;
    for (size_t r = 0; r < rows; r++) memcpy((char *)dst + r * dst_pitch, (const char *)src + r * src_pitch, row_bytes);
}

static void cpu_zero(gb_device *dev, void *ptr, size_t bytes) {
    (void)dev;
    if (bytes) memset(ptr, 0, bytes);
}

static void cpu_sync(gb_device *dev) { (void)dev; }

const gb_backend gb_cpu_backend = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_memcpy,
    .download = cpu_memcpy,
    .copy = cpu_memcpy,
    .copy_rows = cpu_copy_rows,
    .zero = cpu_zero,
    .sync = cpu_sync,
    .linear_forward = gb_linear_forward_cpu,
    .linear_backward = gb_linear_backward_cpu,
    .softplus_forward = gb_softplus_forward_cpu,
    .softplus_backward = gb_softplus_backward_cpu,
    .half_sq_error = gb_half_sq_error_cpu,
    .adam_update = gb_adam_update_cpu,

    /* -- elementwise arithmetic, activations, FiLM -- */
    .fill = gb_fill_cpu,
    .add = gb_add_cpu,
    .mul = gb_mul_cpu,
    .axpy = gb_axpy_cpu,
    .scale_by = gb_scale_by_cpu,
    .activation_forward = gb_activation_forward_cpu,
    .activation_backward = gb_activation_backward_cpu,
    .activation_jvp = gb_activation_jvp_cpu,
    .activation_jvp_backward = gb_activation_jvp_backward_cpu,
    .film_forward = gb_film_forward_cpu,
    .film_backward = gb_film_backward_cpu,

    /* -- normalisation -- */
    .batchnorm_forward_train = gb_batchnorm_forward_train_cpu,
    .batchnorm_backward_train = gb_batchnorm_backward_train_cpu,
    .batchnorm_forward_eval = gb_batchnorm_forward_eval_cpu,
    .batchnorm_backward_eval = gb_batchnorm_backward_eval_cpu,
    .groupnorm_forward = gb_groupnorm_forward_cpu,
    .groupnorm_backward = gb_groupnorm_backward_cpu,
    .layernorm_channels_forward = gb_layernorm_channels_forward_cpu,
    .layernorm_channels_backward = gb_layernorm_channels_backward_cpu,

    /* -- convolution -- */
    .conv2d_forward = gb_conv2d_forward_cpu,
    .conv2d_backward = gb_conv2d_backward_cpu,
    .upsample_conv2d_forward = gb_upsample_conv2d_forward_cpu,
    .upsample_conv2d_backward = gb_upsample_conv2d_backward_cpu,
    .conv_transpose2d_forward = gb_conv_transpose2d_forward_cpu,
    .conv_transpose2d_backward = gb_conv_transpose2d_backward_cpu,
    .weight_standardize_forward = gb_weight_standardize_forward_cpu,
    .weight_standardize_backward = gb_weight_standardize_backward_cpu,

    /* -- pooling, resampling, layout, softmax family, reductions, attention -- */
    .maxpool2d_forward = gb_maxpool2d_forward_cpu,
    .maxpool2d_backward = gb_maxpool2d_backward_cpu,
    .avgpool2d_forward = gb_avgpool2d_forward_cpu,
    .avgpool2d_backward = gb_avgpool2d_backward_cpu,
    .spatial_sum_forward = gb_spatial_sum_forward_cpu,
    .spatial_sum_backward = gb_spatial_sum_backward_cpu,
    .upsample_nearest2x_forward = gb_upsample_nearest2x_forward_cpu,
    .upsample_nearest2x_backward = gb_upsample_nearest2x_backward_cpu,
    .concat_channels_forward = gb_concat_channels_forward_cpu,
    .concat_channels_backward = gb_concat_channels_backward_cpu,
    .squeeze2x_forward = gb_squeeze2x_forward_cpu,
    .unsqueeze2x_forward = gb_unsqueeze2x_forward_cpu,
    .softmax_forward = gb_softmax_forward_cpu,
    .softmax_backward = gb_softmax_backward_cpu,
    .log_softmax_forward = gb_log_softmax_forward_cpu,
    .log_softmax_backward = gb_log_softmax_backward_cpu,
    .logsumexp_forward = gb_logsumexp_forward_cpu,
    .logsumexp_backward = gb_logsumexp_backward_cpu,
    .sum_forward = gb_sum_forward_cpu,
    .sum_backward = gb_sum_backward_cpu,
    .attention_forward = gb_attention_forward_cpu,
    .attention_backward = gb_attention_backward_cpu,
    .linear_attention_forward = gb_linear_attention_forward_cpu,
    .linear_attention_backward = gb_linear_attention_backward_cpu,

    /* -- losses, optimiser helpers, time embeddings, coupling -- */
    .bce_with_logits = gb_bce_with_logits_cpu,
    .sq_error = gb_sq_error_cpu,
    .cross_entropy = gb_cross_entropy_cpu,
    .gaussian_kl = gb_gaussian_kl_cpu,
    .reparameterize_forward = gb_reparameterize_forward_cpu,
    .reparameterize_backward = gb_reparameterize_backward_cpu,
    .gradient_penalty = gb_gradient_penalty_cpu,
    .clip_grad_norm = gb_clip_grad_norm_cpu,
    .fourier_embedding_forward = gb_fourier_embedding_forward_cpu,
    .fourier_embedding_backward = gb_fourier_embedding_backward_cpu,
    .sinusoidal_embedding_forward = gb_sinusoidal_embedding_forward_cpu,
    .sinusoidal_embedding_backward = gb_sinusoidal_embedding_backward_cpu,
    .coupling_forward = gb_coupling_forward_cpu,
    .coupling_backward = gb_coupling_backward_cpu,
    .coupling_inverse = gb_coupling_inverse_cpu,
};

gb_status gb_cpu_device_open(gb_device *dev, int threads) {
    if (threads < 1)
        return gb_fail(GB_USAGE, "cpu device: thread count must be at least 1 (got %d); pass --threads N",
                       threads);
    gb_cpu_blas_threads(threads);
    memset(dev, 0, sizeof *dev);
    dev->ops = &gb_cpu_backend;
    dev->threads = threads;
    /* openblas_get_config() reads e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Cooperlake
     * MAX_THREADS=64": version, build options and the kernel set chosen for this
     * machine, which is what decides the sgemm rounding. */
    snprintf(dev->name, sizeof dev->name, "cpu (%s, %d thread%s)", openblas_get_config(), threads,
             threads == 1 ? "" : "s");
    return GB_OK;
}
