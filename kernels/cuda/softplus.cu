/* kernels/cuda/softplus.cu - softplus (beta 1, threshold 20), forward and backward (CUDA).
 *
 *   forward:  out  = x > 20 ? x : log1p(exp(x))
 *   backward: dinp = x > 20 ? dout : dout * z / (z + 1),  z = exp(x)   (overwrite)
 *
 * Same formulas and float32 operation order as kernels/cpu/softplus.c; the
 * products and the division use the _rn intrinsics so nvcc cannot fuse them.
 * expf/log1pf are CUDA's (within 2 ulp), not glibc's, so results match the CPU
 * backend to a few ulp rather than bitwise.
 * Tested by tests/test_kernels_cuda.c against the CPU backend.
 */
#include "kernels/cuda/common.cuh"

#define GB_SOFTPLUS_THRESHOLD 20.0f

__global__ void softplus_forward_kernel(float *out, const float *inp, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float x = inp[i];
        out[i] = x > GB_SOFTPLUS_THRESHOLD ? x : log1pf(expf(x));
    }
}

__global__ void softplus_backward_kernel(float *dinp, const float *dout, const float *inp, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float x = inp[i];
        float z = expf(x);
        dinp[i] = x > GB_SOFTPLUS_THRESHOLD ? dout[i]
                                            : __fdiv_rn(__fmul_rn(dout[i], z), __fadd_rn(z, 1.0f));
    }
}

extern "C" void gb_softplus_forward_cuda(gb_device *dev, float *out, const float *inp, size_t n) {
    if (n == 0) return;
    softplus_forward_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(out, inp, n);
    GB_LAUNCH_CHECK(dev, "softplus_forward_kernel");
}

extern "C" void gb_softplus_backward_cuda(gb_device *dev, float *dinp, const float *dout,
                                          const float *inp, size_t n) {
    if (n == 0) return;
    softplus_backward_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dinp, dout, inp, n);
    GB_LAUNCH_CHECK(dev, "softplus_backward_kernel");
}
