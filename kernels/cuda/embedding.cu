/* kernels/cuda/embedding.cu - the time embeddings of the score and diffusion models (CUDA).
 *
 * Formulas of kernels/cpu/embedding.c (read its header for why the arguments are PyTorch's
 * float32 values): Fourier a = fl(fl(fl(t*w) * 2) * float(pi)); sinusoidal
 * f_k = fl(exp(fl(float(k) * neg))), neg = float(-ln(10000) / (half - 1)) formed on the host
 * exactly as the CPU forms it, a = fl(t * f_k); sin/cos/exp in double, rounded once.
 * Forward: one thread per output pair; backward: one thread per t, summing over k in double
 * in the CPU's order. The float arguments are the CPU's bits (_rn intrinsics); CUDA's double
 * sin/cos/exp (libdevice, 1-2 ulp) are not glibc's, so an output can differ from the CPU
 * backend's by one float rounding (and a frequency f_k, if exp lands next to a float rounding
 * boundary, by one ulp: see tests/tolerances.md).
 * Tested by tests/test_kernels_cuda_ops.c against the CPU backend.
 */
#include "kernels/cuda/reduce.cuh"

#include <math.h>

__device__ __forceinline__ float fourier_arg(float t, float w) {
    const float pi_f = (float)3.14159265358979323846;
    return gb_fmul(gb_fmul(gb_fmul(t, w), 2.0f), pi_f);
}

__global__ void fourier_forward_kernel(float *out, const float *t, const float *w, size_t n,
                                       size_t half) {
    GB_CUDA_FOR(ik, n * half) {
        const size_t i = ik / half, k = ik % half;
        const double a = fourier_arg(t[i], w[k]);
        out[i * 2 * half + k] = (float)sin(a);
        out[i * 2 * half + half + k] = (float)cos(a);
    }
}

__global__ void fourier_backward_kernel(float *dt, const float *dout, const float *t, const float *w,
                                        size_t n, size_t half) {
    const double two_pi = 2.0 * 3.14159265358979323846;
    GB_CUDA_FOR(i, n) {
        const float *g = dout + i * 2 * half;
        double acc = 0.0;
        for (size_t k = 0; k < half; k++) {
            const double a = fourier_arg(t[i], w[k]);
            const double diff = gb_dsub(gb_dmul((double)g[k], cos(a)), gb_dmul((double)g[half + k], sin(a)));
            acc = gb_dadd(acc, gb_dmul(gb_dmul(two_pi, (double)w[k]), diff));
        }
        dt[i] = (float)acc;
    }
}

__device__ __forceinline__ float sinusoidal_freq(size_t k, float neg) {
    return (float)exp((double)gb_fmul((float)k, neg));
}

__global__ void sinusoidal_forward_kernel(float *out, const float *t, size_t n, size_t dim, float neg) {
    const size_t half = dim / 2;
    GB_CUDA_FOR(ik, n * half) {
        const size_t i = ik / half, k = ik % half;
        const float a = gb_fmul(t[i], sinusoidal_freq(k, neg));
        out[i * dim + k] = (float)sin((double)a);
        out[i * dim + half + k] = (float)cos((double)a);
    }
}

__global__ void sinusoidal_backward_kernel(float *dt, const float *dout, const float *t, size_t n,
                                           size_t dim, float neg) {
    const size_t half = dim / 2;
    GB_CUDA_FOR(i, n) {
        const float *g = dout + i * dim;
        double acc = 0.0;
        for (size_t k = 0; k < half; k++) {
            const float f = sinusoidal_freq(k, neg);
            const double a = (double)gb_fmul(t[i], f);
            const double diff = gb_dsub(gb_dmul((double)g[k], cos(a)), gb_dmul((double)g[half + k], sin(a)));
            acc = gb_dadd(acc, gb_dmul((double)f, diff));
        }
        dt[i] = (float)acc;
    }
}

static void check_dim(size_t dim) {
    GB_ASSERT(dim >= 4 && dim % 2 == 0,
              "sinusoidal embedding dim must be even and at least 4 (half - 1 divides), got %zu", dim);
}

/* float(-(ln(10000) / (half - 1))), with the host's log as the CPU backend forms it */
static float sinusoidal_neg(size_t dim) {
    return (float)(-(log(10000.0) / (double)(dim / 2 - 1)));
}

extern "C" void gb_fourier_embedding_forward_cuda(gb_device *dev, float *out, const float *t,
                                                  const float *w, size_t n, size_t half) {
    if (n * half == 0) return;
    fourier_forward_kernel<<<gb_cuda_grid(n * half), GB_CUDA_BLOCK>>>(out, t, w, n, half);
    GB_LAUNCH_CHECK(dev, "fourier_forward_kernel");
}

extern "C" void gb_fourier_embedding_backward_cuda(gb_device *dev, float *dt, const float *dout,
                                                   const float *t, const float *w, size_t n,
                                                   size_t half) {
    if (n == 0) return;
    fourier_backward_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dt, dout, t, w, n, half);
    GB_LAUNCH_CHECK(dev, "fourier_backward_kernel");
}

extern "C" void gb_sinusoidal_embedding_forward_cuda(gb_device *dev, float *out, const float *t,
                                                     size_t n, size_t dim) {
    check_dim(dim);
    if (n == 0) return;
    sinusoidal_forward_kernel<<<gb_cuda_grid(n * (dim / 2)), GB_CUDA_BLOCK>>>(out, t, n, dim,
                                                                             sinusoidal_neg(dim));
    GB_LAUNCH_CHECK(dev, "sinusoidal_forward_kernel");
}

extern "C" void gb_sinusoidal_embedding_backward_cuda(gb_device *dev, float *dt, const float *dout,
                                                      const float *t, size_t n, size_t dim) {
    check_dim(dim);
    if (n == 0) return;
    sinusoidal_backward_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dt, dout, t, n, dim,
                                                                   sinusoidal_neg(dim));
    GB_LAUNCH_CHECK(dev, "sinusoidal_backward_kernel");
}
