/* kernels/cpu/backend_cpu.c - the CPU backend: memory ops, the table, open.
 *
 * Backend memory is host memory here: alloc is 64-byte aligned (a cache line,
 * and a full AVX-512 vector) and aborts with the byte count on OOM, as the
 * table requires; upload/download/copy are memcpy, sync does nothing because
 * every op has finished when it returns. Threads: OpenBLAS's own pool is the
 * only one (DESIGN.md: one thread pool), sized once at open.
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
    .zero = cpu_zero,
    .sync = cpu_sync,
    .linear_forward = gb_linear_forward_cpu,
    .linear_backward = gb_linear_backward_cpu,
    .softplus_forward = gb_softplus_forward_cpu,
    .softplus_backward = gb_softplus_backward_cpu,
    .half_sq_error = gb_half_sq_error_cpu,
    .adam_update = gb_adam_update_cpu,

    /* -- elementwise arithmetic, activations, FiLM -- */

    /* -- normalisation -- */

    /* -- convolution -- */
    .conv2d_forward = gb_conv2d_forward_cpu,
    .conv2d_backward = gb_conv2d_backward_cpu,
    .conv_transpose2d_forward = gb_conv_transpose2d_forward_cpu,
    .conv_transpose2d_backward = gb_conv_transpose2d_backward_cpu,
    .weight_standardize_forward = gb_weight_standardize_forward_cpu,
    .weight_standardize_backward = gb_weight_standardize_backward_cpu,

    /* -- pooling, resampling, layout, softmax family, reductions, attention -- */

    /* -- losses, optimiser helpers, time embeddings, coupling -- */
};

gb_status gb_cpu_device_open(gb_device *dev, int threads) {
    if (threads < 1)
        return gb_fail(GB_USAGE, "cpu device: thread count must be at least 1 (got %d); pass --threads N",
                       threads);
    openblas_set_num_threads(threads);
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
