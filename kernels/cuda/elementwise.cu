/* kernels/cuda/elementwise.cu - elementwise arithmetic (CUDA): fill, add, mul, axpy, scale_by.
 *
 * The float expressions of kernels/cpu/elementwise.c, one rounding per operation (axpy: two,
 * alpha*x then the add; the _rn intrinsics keep nvcc from fusing them into an FMA), so every
 * result is the CPU backend's bit for bit. out may alias any input: each thread reads its
 * element before writing it.
 * Tested by tests/test_kernels_cuda_ops.c (bitwise against the CPU backend, sizes 0, 1, odd
 * and many blocks, aliasing).
 */
#include "kernels/cuda/reduce.cuh"

__global__ void fill_kernel(float *out, float value, size_t n) {
    GB_CUDA_FOR(i, n) out[i] = value;
}

__global__ void add_kernel(float *out, const float *a, const float *b, size_t n) {
    GB_CUDA_FOR(i, n) out[i] = gb_fadd(a[i], b[i]);
}

__global__ void mul_kernel(float *out, const float *a, const float *b, size_t n) {
    GB_CUDA_FOR(i, n) out[i] = gb_fmul(a[i], b[i]);
}

__global__ void axpy_kernel(float *y, float alpha, const float *x, size_t n) {
    GB_CUDA_FOR(i, n) y[i] = gb_fadd(y[i], gb_fmul(alpha, x[i]));
}

__global__ void scale_by_kernel(float *out, float alpha, const float *inp, size_t n) {
    GB_CUDA_FOR(i, n) out[i] = gb_fmul(alpha, inp[i]);
}

extern "C" void gb_fill_cuda(gb_device *dev, float *out, float value, size_t n) {
    if (n == 0) return;
    fill_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(out, value, n);
    GB_LAUNCH_CHECK(dev, "fill_kernel");
}

extern "C" void gb_add_cuda(gb_device *dev, float *out, const float *a, const float *b, size_t n) {
    if (n == 0) return;
    add_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(out, a, b, n);
    GB_LAUNCH_CHECK(dev, "add_kernel");
}

extern "C" void gb_mul_cuda(gb_device *dev, float *out, const float *a, const float *b, size_t n) {
    if (n == 0) return;
    mul_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(out, a, b, n);
    GB_LAUNCH_CHECK(dev, "mul_kernel");
}

extern "C" void gb_axpy_cuda(gb_device *dev, float *y, float alpha, const float *x, size_t n) {
    if (n == 0) return;
    axpy_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(y, alpha, x, n);
    GB_LAUNCH_CHECK(dev, "axpy_kernel");
}

extern "C" void gb_scale_by_cuda(gb_device *dev, float *out, float alpha, const float *inp, size_t n) {
    if (n == 0) return;
    scale_by_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(out, alpha, inp, n);
    GB_LAUNCH_CHECK(dev, "scale_by_kernel");
}
