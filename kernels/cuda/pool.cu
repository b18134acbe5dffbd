/* kernels/cuda/pool.cu - 2-D max and average pooling, forward and backward (CUDA).
 *
 * Semantics of kernels/cpu/pool.c (PyTorch's floor mode, padding -inf for max, the divisor
 * rules of count_include_pad for average; every backward overwrites dinp):
 *   max forward:  one thread per output runs the CPU's window loop (ties to the first
 *                 maximum, NaN wins), so out and argmax are the CPU's.
 *   max backward: the CPU zeroes dinp and adds dout[o] at argmax[o] in output order. Here
 *                 each input element gathers, in ascending output order, the dout of the
 *                 windows that cover it and name it as their argmax (only those can, since
 *                 forward picks an index inside the window): the same float additions in
 *                 the same order, without atomics. argmax must come from forward (an index
 *                 outside its window, which the CPU would still honour, is ignored here).
 *   avg forward/backward: one thread per output / input element runs the CPU's double loops.
 * Every result is the CPU backend's bits.
 * Tested by tests/test_kernels_cuda_ops.c (bitwise against the CPU backend: odd sizes,
 * padding, overlapping windows, ties, count_include_pad both ways).
 */
#include "kernels/cuda/reduce.cuh"

/* The argument rules of kernels/cpu/pool.c (programmer errors). */
static void check_pool_shape(const gb_pool_shape *s) {
    GB_ASSERT(s->batch >= 0 && s->channels >= 0 && s->in_height >= 1 && s->in_width >= 1,
              "pool shape: batch %d, channels %d, input %dx%d must be non-negative / non-empty",
              s->batch, s->channels, s->in_height, s->in_width);
    GB_ASSERT(s->kernel_h >= 1 && s->kernel_w >= 1 && s->stride_h >= 1 && s->stride_w >= 1,
              "pool shape: kernel %dx%d and stride %dx%d must be >= 1", s->kernel_h, s->kernel_w,
              s->stride_h, s->stride_w);
    GB_ASSERT(s->pad_h >= 0 && s->pad_w >= 0 && s->pad_h <= s->kernel_h / 2 &&
                  s->pad_w <= s->kernel_w / 2,
              "pool shape: padding %dx%d must be between 0 and half the kernel %dx%d", s->pad_h,
              s->pad_w, s->kernel_h, s->kernel_w);
    GB_ASSERT(gb_pool_out_h(s) >= 1 && gb_pool_out_w(s) >= 1,
              "pool shape: input %dx%d is smaller than the kernel %dx%d with padding %dx%d",
              s->in_height, s->in_width, s->kernel_h, s->kernel_w, s->pad_h, s->pad_w);
}

__device__ __forceinline__ int imax_d(int a, int b) { return a > b ? a : b; }
__device__ __forceinline__ int imin_d(int a, int b) { return a < b ? a : b; }

__global__ void maxpool_forward_kernel(float *out, int32_t *argmax, const float *inp,
                                       gb_pool_shape s, int oh, int ow, size_t total) {
    const int ih = s.in_height, iw = s.in_width;
    GB_CUDA_FOR(o, total) {
        const size_t p = o / ((size_t)oh * ow);
        const int oy = (int)(o / ow % oh), ox = (int)(o % ow);
        const float *src = inp + p * (size_t)ih * iw;
        const int y0 = imax_d(oy * s.stride_h - s.pad_h, 0);
        const int y1 = imin_d(oy * s.stride_h - s.pad_h + s.kernel_h, ih);
        const int x0 = imax_d(ox * s.stride_w - s.pad_w, 0);
        const int x1 = imin_d(ox * s.stride_w - s.pad_w + s.kernel_w, iw);
        float best = -INFINITY;
        int32_t best_at = y0 * iw + x0;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                const float v = src[y * iw + x];
                if (v > best || isnan(v)) {
                    best = v;
                    best_at = y * iw + x;
                }
            }
        out[o] = best;
        if (argmax) argmax[o] = best_at;
    }
}

/* The output indices o whose windows contain input index i: o in [lo, hi] (empty: lo > hi). */
__device__ __forceinline__ void covering_range(int i, int kernel, int stride, int pad, int out_n,
                                               int *lo, int *hi) {
    const int top = i + pad;
    const int bottom = top - kernel + 1;
    *lo = bottom <= 0 ? 0 : (bottom + stride - 1) / stride;
    *hi = imin_d(top / stride, out_n - 1);
}

__global__ void maxpool_backward_kernel(float *dinp, const float *dout, const int32_t *argmax,
                                        gb_pool_shape s, int oh, int ow, size_t total) {
    const int ih = s.in_height, iw = s.in_width;
    GB_CUDA_FOR(i, total) {
        const size_t p = i / ((size_t)ih * iw);
        const int y = (int)(i / iw % ih), x = (int)(i % iw);
        const int32_t self = y * iw + x;
        const float *g = dout + p * (size_t)oh * ow;
        const int32_t *arg = argmax + p * (size_t)oh * ow;
        int oy0, oy1, ox0, ox1;
        covering_range(y, s.kernel_h, s.stride_h, s.pad_h, oh, &oy0, &oy1);
        covering_range(x, s.kernel_w, s.stride_w, s.pad_w, ow, &ox0, &ox1);
        float acc = 0.0f;
        for (int oy = oy0; oy <= oy1; oy++)
            for (int ox = ox0; ox <= ox1; ox++)
                if (arg[oy * ow + ox] == self) acc = gb_fadd(acc, g[oy * ow + ox]);
        dinp[i] = acc;
    }
}

/* PyTorch's divisor for the window starting at (y, x) (unclipped, may be negative). */
__device__ __forceinline__ int avg_divisor(const gb_pool_shape &s, int y, int x) {
    const int ih = s.in_height, iw = s.in_width;
    const int py1 = imin_d(y + s.kernel_h, ih + s.pad_h), px1 = imin_d(x + s.kernel_w, iw + s.pad_w);
    if (s.count_include_pad) return (py1 - y) * (px1 - x);
    return (imin_d(py1, ih) - imax_d(y, 0)) * (imin_d(px1, iw) - imax_d(x, 0));
}

__global__ void avgpool_forward_kernel(float *out, const float *inp, gb_pool_shape s, int oh, int ow,
                                       size_t total) {
    const int ih = s.in_height, iw = s.in_width;
    GB_CUDA_FOR(o, total) {
        const size_t p = o / ((size_t)oh * ow);
        const int oy = (int)(o / ow % oh), ox = (int)(o % ow);
        const float *src = inp + p * (size_t)ih * iw;
        const int wy = oy * s.stride_h - s.pad_h, wx = ox * s.stride_w - s.pad_w;
        const int y0 = imax_d(wy, 0), y1 = imin_d(wy + s.kernel_h, ih);
        const int x0 = imax_d(wx, 0), x1 = imin_d(wx + s.kernel_w, iw);
        double acc = 0.0;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) acc = gb_dadd(acc, (double)src[y * iw + x]);
        out[o] = (float)gb_ddiv(acc, (double)avg_divisor(s, wy, wx));
    }
}

__global__ void avgpool_backward_kernel(float *dinp, const float *dout, gb_pool_shape s, int oh,
                                        int ow, size_t total) {
    const int ih = s.in_height, iw = s.in_width;
    GB_CUDA_FOR(i, total) {
        const size_t p = i / ((size_t)ih * iw);
        const int y = (int)(i / iw % ih), x = (int)(i % iw);
        const float *g = dout + p * (size_t)oh * ow;
        int oy0, oy1, ox0, ox1;
        covering_range(y, s.kernel_h, s.stride_h, s.pad_h, oh, &oy0, &oy1);
        covering_range(x, s.kernel_w, s.stride_w, s.pad_w, ow, &ox0, &ox1);
        double acc = 0.0;
        for (int oy = oy0; oy <= oy1; oy++) {
            const int wy = oy * s.stride_h - s.pad_h;
            for (int ox = ox0; ox <= ox1; ox++) {
                const int wx = ox * s.stride_w - s.pad_w;
                acc = gb_dadd(acc, gb_ddiv((double)g[oy * ow + ox], (double)avg_divisor(s, wy, wx)));
            }
        }
        dinp[i] = (float)acc;
    }
}

static size_t pool_planes(const gb_pool_shape *s) { return (size_t)s->batch * (size_t)s->channels; }

extern "C" void gb_maxpool2d_forward_cuda(gb_device *dev, float *out, int32_t *argmax,
                                          const float *inp, const gb_pool_shape *shape) {
    check_pool_shape(shape);
    const int oh = gb_pool_out_h(shape), ow = gb_pool_out_w(shape);
    const size_t total = pool_planes(shape) * (size_t)oh * (size_t)ow;
    if (total == 0) return;
    maxpool_forward_kernel<<<gb_cuda_grid(total), GB_CUDA_BLOCK>>>(out, argmax, inp, *shape, oh, ow,
                                                                   total);
    GB_LAUNCH_CHECK(dev, "maxpool_forward_kernel");
}

extern "C" void gb_maxpool2d_backward_cuda(gb_device *dev, float *dinp, const float *dout,
                                           const int32_t *argmax, const gb_pool_shape *shape) {
    check_pool_shape(shape);
    const int oh = gb_pool_out_h(shape), ow = gb_pool_out_w(shape);
    const size_t total = pool_planes(shape) * (size_t)shape->in_height * (size_t)shape->in_width;
    if (total == 0) return;
    maxpool_backward_kernel<<<gb_cuda_grid(total), GB_CUDA_BLOCK>>>(dinp, dout, argmax, *shape, oh,
                                                                    ow, total);
    GB_LAUNCH_CHECK(dev, "maxpool_backward_kernel");
}

extern "C" void gb_avgpool2d_forward_cuda(gb_device *dev, float *out, const float *inp,
                                          const gb_pool_shape *shape) {
    check_pool_shape(shape);
    const int oh = gb_pool_out_h(shape), ow = gb_pool_out_w(shape);
    const size_t total = pool_planes(shape) * (size_t)oh * (size_t)ow;
    if (total == 0) return;
    avgpool_forward_kernel<<<gb_cuda_grid(total), GB_CUDA_BLOCK>>>(out, inp, *shape, oh, ow, total);
    GB_LAUNCH_CHECK(dev, "avgpool_forward_kernel");
}

extern "C" void gb_avgpool2d_backward_cuda(gb_device *dev, float *dinp, const float *dout,
                                           const gb_pool_shape *shape) {
    check_pool_shape(shape);
    const int oh = gb_pool_out_h(shape), ow = gb_pool_out_w(shape);
    const size_t total = pool_planes(shape) * (size_t)shape->in_height * (size_t)shape->in_width;
    if (total == 0) return;
    avgpool_backward_kernel<<<gb_cuda_grid(total), GB_CUDA_BLOCK>>>(dinp, dout, *shape, oh, ow,
                                                                    total);
    GB_LAUNCH_CHECK(dev, "avgpool_backward_kernel");
}
