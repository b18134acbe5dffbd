/* kernels/device.c - open and close a backend by name, and the device-level questions the
 * callers above the backend table ask without naming a backend (free memory, page-locked host
 * blocks, the nondeterministic mode and its algorithm record).
 *
 * "cpu" always works; "cuda" needs a build with the CUDA backend (the Makefile
 * defines GB_HAVE_CUDA when nvcc exists) and a visible GPU, else GB_ENV with the
 * reason; "auto" takes cuda when both hold, else cpu (with a warning naming CUDA's error when the
 * machine runs the NVIDIA driver). Anything else is GB_USAGE.
 * Tested by tests/test_kernels_cpu.c (names, errors) and
 * tests/test_kernels_cuda.c (the cuda path, when a GPU is present).
 */
#include "kernels/kernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "kernels/cpu/cpu.h"
#ifdef GB_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

int gb_cuda_available(void) {
#ifdef GB_HAVE_CUDA
    return gb_cuda_device_count() > 0;
#else
    return 0;
#endif
}

/* Listed by hand from the table in kernels/kernels.h (C cannot iterate a struct's
 * members); tests/test_kernels_cpu.c checks the CPU table is complete through it. */
const char *gb_backend_missing_op(const gb_backend *ops) {
#define ENTRY(name) \
    if (!ops->name) return #name
    ENTRY(alloc);
    ENTRY(free);
    ENTRY(upload);
    ENTRY(download);
    ENTRY(copy);
    ENTRY(copy_rows);
    ENTRY(zero);
    ENTRY(sync);
    ENTRY(linear_forward);
    ENTRY(linear_backward);
    ENTRY(softplus_forward);
    ENTRY(softplus_backward);
    ENTRY(half_sq_error);
    ENTRY(adam_update);
    ENTRY(fill);
    ENTRY(add);
    ENTRY(mul);
    ENTRY(axpy);
    ENTRY(scale_by);
    ENTRY(activation_forward);
    ENTRY(activation_backward);
    ENTRY(activation_jvp);
    ENTRY(activation_jvp_backward);
    ENTRY(film_forward);
    ENTRY(film_backward);
    ENTRY(batchnorm_forward_train);
    ENTRY(batchnorm_backward_train);
    ENTRY(batchnorm_forward_eval);
    ENTRY(batchnorm_backward_eval);
    ENTRY(groupnorm_forward);
    ENTRY(groupnorm_backward);
    ENTRY(layernorm_channels_forward);
    ENTRY(layernorm_channels_backward);
    ENTRY(conv2d_forward);
    ENTRY(conv2d_backward);
    ENTRY(conv_transpose2d_forward);
    ENTRY(conv_transpose2d_backward);
    ENTRY(weight_standardize_forward);
    ENTRY(weight_standardize_backward);
    ENTRY(maxpool2d_forward);
    ENTRY(maxpool2d_backward);
    ENTRY(avgpool2d_forward);
    ENTRY(avgpool2d_backward);
    ENTRY(spatial_sum_forward);
    ENTRY(spatial_sum_backward);
    ENTRY(upsample_nearest2x_forward);
    ENTRY(upsample_nearest2x_backward);
    ENTRY(concat_channels_forward);
    ENTRY(concat_channels_backward);
    ENTRY(squeeze2x_forward);
    ENTRY(unsqueeze2x_forward);
    ENTRY(softmax_forward);
    ENTRY(softmax_backward);
    ENTRY(log_softmax_forward);
    ENTRY(log_softmax_backward);
    ENTRY(logsumexp_forward);
    ENTRY(logsumexp_backward);
    ENTRY(sum_forward);
    ENTRY(sum_backward);
    ENTRY(attention_forward);
    ENTRY(attention_backward);
    ENTRY(linear_attention_forward);
    ENTRY(linear_attention_backward);
    ENTRY(bce_with_logits);
    ENTRY(sq_error);
    ENTRY(cross_entropy);
    ENTRY(gaussian_kl);
    ENTRY(reparameterize_forward);
    ENTRY(reparameterize_backward);
    ENTRY(gradient_penalty);
    ENTRY(clip_grad_norm);
    ENTRY(fourier_embedding_forward);
    ENTRY(fourier_embedding_backward);
    ENTRY(sinusoidal_embedding_forward);
    ENTRY(sinusoidal_embedding_backward);
    ENTRY(coupling_forward);
    ENTRY(coupling_backward);
    ENTRY(coupling_inverse);
#undef ENTRY
    return NULL;
}

static gb_status open_cuda(gb_device *dev, int threads) {
#ifdef GB_HAVE_CUDA
    if (threads < 1)
        return gb_fail(GB_USAGE, "cuda device: thread count must be at least 1 (got %d); pass --threads N",
                       threads);
    GB_TRY(gb_cuda_device_open(dev));
    dev->threads = threads;
    const char *missing = gb_backend_missing_op(dev->ops);
    if (missing) {
        gb_cuda_device_close(dev);
        return gb_fail(GB_ENV, "the CUDA backend does not implement op '%s' yet; run with --device cpu",
                       missing);
    }
    return GB_OK;
#else
    (void)dev;
    (void)threads;
    return gb_fail(GB_ENV, "no CUDA device: this build has no CUDA backend (nvcc was not found "
                           "when it was compiled); run with --device cpu");
#endif
}

gb_status gb_device_open_auto(gb_device *dev, int threads, const char *driver_file) {
    if (gb_cuda_available()) return open_cuda(dev, threads);
    /* A machine whose kernel runs the NVIDIA driver, but where CUDA finds no usable GPU (a CUDA
     * runtime newer than the driver, a container without the device, a build without nvcc),
     * would otherwise run an hour-long metric on the CPU with nothing said: say why, once per
     * process (`reproduce` opens a device for every pipeline). */
    static int warned;
    if (driver_file && access(driver_file, F_OK) == 0) {
        if (open_cuda(dev, threads) == GB_OK) return GB_OK; /* usable after all (a GPU appeared): take it */
        if (!warned++)
            gb_warn("--device auto: this machine has an NVIDIA driver (%s) but CUDA is unusable here, so genbench "
                    "runs on the CPU. CUDA said: %s", driver_file, gb_last_error());
    }
    return gb_cpu_device_open(dev, threads);
}

gb_status gb_device_open(gb_device *dev, const char *name, int threads) {
    GB_ASSERT(dev && name, "gb_device_open needs a device and a name");
    if (strcmp(name, "cpu") == 0) return gb_cpu_device_open(dev, threads);
    if (strcmp(name, "cuda") == 0) return open_cuda(dev, threads);
    if (strcmp(name, "auto") == 0) return gb_device_open_auto(dev, threads, GB_NVIDIA_DRIVER_FILE);
    return gb_fail(GB_USAGE, "unknown device '%s': use --device cpu, cuda or auto", name);
}

/* A device-owned buffer that grows (never shrinks) to the largest request: scratch and
 * staging are two of them, so an op built from other ops can hold a tensor in one while the
 * ops it calls use the other. */
static void *grown_buffer(gb_device *dev, void **buf, size_t *have, size_t bytes) {
    if (bytes > *have) {
        if (*buf) dev->ops->free(dev, *buf);
        *buf = dev->ops->alloc(dev, bytes);
        *have = bytes;
    }
    return *buf;
}

void *gb_dev_scratch(gb_device *dev, size_t bytes) {
    return grown_buffer(dev, &dev->scratch, &dev->scratch_bytes, bytes);
}

void *gb_dev_staging(gb_device *dev, size_t bytes) {
    return grown_buffer(dev, &dev->staging, &dev->staging_bytes, bytes);
}

void gb_device_close(gb_device *dev) {
    if (!dev || !dev->ops) return;
    if (dev->scratch) dev->ops->free(dev, dev->scratch);
    if (dev->staging) dev->ops->free(dev, dev->staging);
#ifdef GB_HAVE_CUDA
    if (dev->ops != &gb_cpu_backend) gb_cuda_device_close(dev);
#endif
    memset(dev, 0, sizeof *dev);
}

#ifdef GB_HAVE_CUDA
static int is_cuda(const gb_device *dev) { return dev->ops && strcmp(dev->ops->name, "cuda") == 0; }
#endif

size_t gb_device_free_bytes(gb_device *dev) {
#ifdef GB_HAVE_CUDA
    if (is_cuda(dev)) return gb_cuda_free_bytes();
#endif
    (void)dev;
    return SIZE_MAX;
}

/* A page-locked block is told apart from a malloc'd one by a header in front of it, so the
 * fallback needs no second bookkeeping. */
typedef struct {
    int pinned;
    int pad[15]; /* keeps the block 64-byte aligned after the header */
} host_block;

void *gb_device_host_alloc(gb_device *dev, size_t bytes) {
    host_block *b = NULL;
#ifdef GB_HAVE_CUDA
    if (is_cuda(dev)) b = gb_cuda_host_alloc(sizeof *b + bytes);
    if (b) b->pinned = 1;
#endif
    (void)dev;
    if (!b) { /* 64-byte aligned as the backends' own buffers (cudaMallocHost's are page-aligned) */
        const size_t total = (sizeof *b + bytes + 63) / 64 * 64;
        b = total >= bytes ? aligned_alloc(64, total) : NULL;
        if (!b) return NULL;
        b->pinned = 0;
    }
    return b + 1;
}

void gb_device_host_free(gb_device *dev, void *p) {
    (void)dev;
    if (!p) return;
    host_block *b = (host_block *)p - 1;
#ifdef GB_HAVE_CUDA
    if (b->pinned) {
        gb_cuda_host_free(b);
        return;
    }
#endif
    free(b);
}

int gb_device_set_nondeterministic(gb_device *dev, int on) {
#ifdef GB_HAVE_CUDA
    if (is_cuda(dev)) {
        gb_cuda_set_nondeterministic(dev, on);
        return on != 0;
    }
#endif
    (void)dev;
    (void)on;
    return 0;
}

size_t gb_device_algorithm_record(gb_device *dev, char *buf, size_t cap) {
#ifdef GB_HAVE_CUDA
    if (is_cuda(dev)) return gb_cuda_conv_algorithms(dev, buf, cap);
#endif
    (void)dev;
    if (cap) buf[0] = '\0';
    return 0;
}
