/* kernels/cuda/coupling.cu - RealNVP affine coupling: forward, backward, inverse (CUDA).
 *
 * Masks, formulas and the gradient contract of kernels/cpu/coupling.c:
 *   forward:  y = b*x + (1-b)*(x*exp(s) + t); logdet[n] += sum over the b = 0 elements of s
 *   backward: dx = b*dy + (1-b)*dy*exp(s), ds = (1-b)*(dy*x*exp(s) + dlogdet[n]),
 *             dt = (1-b)*dy (all overwrite; NULL: skip; dlogdet NULL: 0)
 *   inverse:  x = b*y + (1-b)*(y - t)*exp(-s)
 * Elementwise outputs: one thread each, the CPU's double expressions in its order, rounded
 * once; CUDA's double exp (libdevice) is not glibc's, so they can differ from the CPU
 * backend's by one float rounding. logdet: one block per sample sums s over the transformed
 * elements in double in a fixed tree (the CPU: ascending order), then adds it once.
 * s and t at b = 1 positions are never read.
 * Tested by tests/test_kernels_cuda_ops.c against the CPU backend.
 */
#include "kernels/cuda/reduce.cuh"

enum { LOGDET_THREADS = 256 };

/* b for flat index i of a [batch, channels, height, width] tensor */
__device__ __forceinline__ int mask_at(const gb_coupling_shape &sh, size_t i) {
    const size_t w = i % sh.width, h = i / sh.width % sh.height;
    const size_t c = i / ((size_t)sh.width * sh.height) % sh.channels;
    const int b = sh.mask == GB_MASK_CHECKERBOARD ? ((h + w) % 2 == 0) : ((int)c < sh.channels / 2);
    return sh.invert_mask ? !b : b;
}

__global__ void coupling_forward_kernel(float *y, const float *x, const float *s, const float *t,
                                        gb_coupling_shape sh, size_t n) {
    GB_CUDA_FOR(i, n)
    y[i] = mask_at(sh, i) ? x[i]
                          : (float)gb_dadd(gb_dmul((double)x[i], exp((double)s[i])), (double)t[i]);
}

/* one block per sample */
__global__ void __launch_bounds__(LOGDET_THREADS)
coupling_logdet_kernel(float *logdet, const float *s, gb_coupling_shape sh, size_t per_sample) {
    const size_t n = blockIdx.x, base = n * per_sample;
    double acc = 0.0;
    for (size_t k = threadIdx.x; k < per_sample; k += LOGDET_THREADS)
        if (!mask_at(sh, base + k)) acc = gb_dadd(acc, (double)s[base + k]);
    const double ld = gb_block_sum<LOGDET_THREADS>(acc);
    if (threadIdx.x == 0) logdet[n] = (float)gb_dadd((double)logdet[n], ld);
}

__global__ void coupling_backward_kernel(float *dx, float *ds, float *dt, const float *dy,
                                         const float *dlogdet, const float *x, const float *s,
                                         gb_coupling_shape sh, size_t n, size_t per_sample) {
    GB_CUDA_FOR(i, n) {
        if (mask_at(sh, i)) {
            if (dx) dx[i] = dy[i];
            if (ds) ds[i] = 0.0f;
            if (dt) dt[i] = 0.0f;
        } else {
            const double dl = dlogdet ? (double)dlogdet[i / per_sample] : 0.0;
            const double g = gb_dmul((double)dy[i], exp((double)s[i]));
            const float dyi = dy[i];
            if (dx) dx[i] = (float)g;
            if (ds) ds[i] = (float)gb_dadd(gb_dmul(g, (double)x[i]), dl);
            if (dt) dt[i] = dyi;
        }
    }
}

__global__ void coupling_inverse_kernel(float *x, const float *y, const float *s, const float *t,
                                        gb_coupling_shape sh, size_t n) {
    GB_CUDA_FOR(i, n)
    x[i] = mask_at(sh, i) ? y[i]
                          : (float)gb_dmul(gb_dsub((double)y[i], (double)t[i]), exp(-(double)s[i]));
}

static void check_shape(const gb_coupling_shape *sh) {
    GB_ASSERT(sh->batch >= 0 && sh->channels > 0 && sh->height > 0 && sh->width > 0,
              "coupling shape: batch %d, channels %d, height %d, width %d", sh->batch,
              sh->channels, sh->height, sh->width);
    GB_ASSERT(sh->mask == GB_MASK_CHECKERBOARD || sh->mask == GB_MASK_CHANNEL,
              "coupling shape: unknown mask kind %d", (int)sh->mask);
}

static size_t per_sample(const gb_coupling_shape *sh) {
    return (size_t)sh->channels * (size_t)sh->height * (size_t)sh->width;
}

extern "C" void gb_coupling_forward_cuda(gb_device *dev, float *y, float *logdet, const float *x,
                                         const float *s, const float *t,
                                         const gb_coupling_shape *shape) {
    check_shape(shape);
    const size_t n = (size_t)shape->batch * per_sample(shape);
    if (n == 0) return;
    /* logdet first: y may alias x, never s */
    if (logdet) {
        coupling_logdet_kernel<<<(unsigned)shape->batch, LOGDET_THREADS>>>(logdet, s, *shape,
                                                                          per_sample(shape));
        GB_LAUNCH_CHECK(dev, "coupling_logdet_kernel");
    }
    coupling_forward_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(y, x, s, t, *shape, n);
    GB_LAUNCH_CHECK(dev, "coupling_forward_kernel");
}

extern "C" void gb_coupling_backward_cuda(gb_device *dev, float *dx, float *ds, float *dt,
                                          const float *dy, const float *dlogdet, const float *x,
                                          const float *s, const gb_coupling_shape *shape) {
    check_shape(shape);
    const size_t n = (size_t)shape->batch * per_sample(shape);
    if (n == 0 || (!dx && !ds && !dt)) return;
    coupling_backward_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dx, ds, dt, dy, dlogdet, x, s,
                                                                 *shape, n, per_sample(shape));
    GB_LAUNCH_CHECK(dev, "coupling_backward_kernel");
}

extern "C" void gb_coupling_inverse_cuda(gb_device *dev, float *x, const float *y, const float *s,
                                         const float *t, const gb_coupling_shape *shape) {
    check_shape(shape);
    const size_t n = (size_t)shape->batch * per_sample(shape);
    if (n == 0) return;
    coupling_inverse_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(x, y, s, t, *shape, n);
    GB_LAUNCH_CHECK(dev, "coupling_inverse_kernel");
}
