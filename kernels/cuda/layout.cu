/* kernels/cuda/layout.cu - spatial sum, nearest x2 upsampling, channel concat and the RealNVP
 * squeeze / unsqueeze (pixel_unshuffle / pixel_shuffle 2), CUDA.
 *
 * Semantics of kernels/cpu/layout.c (every backward overwrites its input gradient):
 *   spatial_sum:  one thread per plane sums its row in double in ascending order, as the CPU
 *                 does, and rounds scale * sum once; backward fills scale * dout[p].
 *   upsample x2:  a copy; backward adds each input pixel's four gradients in double in the
 *                 CPU's order, rounded once.
 *   concat, squeeze2x, unsqueeze2x: index permutations, one thread per output element.
 * Every result is the CPU backend's bits.
 * Tested by tests/test_kernels_cuda_ops.c (bitwise against the CPU backend, odd sizes,
 * channels not a multiple of 8).
 */
#include "kernels/cuda/reduce.cuh"

__global__ void spatial_sum_forward_kernel(float *out, const float *inp, size_t planes,
                                           size_t spatial, float scale) {
    GB_CUDA_FOR(p, planes) {
        const float *row = inp + p * spatial;
        double acc = 0.0;
        for (size_t s = 0; s < spatial; s++) acc = gb_dadd(acc, (double)row[s]);
        out[p] = (float)gb_dmul((double)scale, acc);
    }
}

__global__ void spatial_sum_backward_kernel(float *dinp, const float *dout, size_t spatial,
                                            size_t n, float scale) {
    GB_CUDA_FOR(i, n) dinp[i] = gb_fmul(scale, dout[i / spatial]);
}

__global__ void upsample_forward_kernel(float *out, const float *inp, size_t total, int height,
                                        int width) {
    const size_t ow = 2 * (size_t)width, oh = 2 * (size_t)height;
    GB_CUDA_FOR(o, total) {
        const size_t p = o / (oh * ow), oy = o / ow % oh, ox = o % ow;
        out[o] = inp[(p * height + oy / 2) * width + ox / 2];
    }
}

__global__ void upsample_backward_kernel(float *dinp, const float *dout, size_t total, int height,
                                         int width) {
    const size_t ow = 2 * (size_t)width;
    GB_CUDA_FOR(i, total) {
        const size_t p = i / ((size_t)height * width), y = i / width % height, x = i % width;
        const float *r0 = dout + (p * 2 * height + 2 * y) * ow, *r1 = r0 + ow;
        double acc = gb_dadd((double)r0[2 * x], (double)r0[2 * x + 1]);
        acc = gb_dadd(acc, (double)r1[2 * x]);
        acc = gb_dadd(acc, (double)r1[2 * x + 1]);
        dinp[i] = (float)acc;
    }
}

__global__ void concat_forward_kernel(float *out, const float *a, const float *b, size_t total,
                                      size_t na, size_t nb) {
    GB_CUDA_FOR(i, total) {
        const size_t n = i / (na + nb), r = i % (na + nb);
        out[i] = r < na ? a[n * na + r] : b[n * nb + (r - na)];
    }
}

__global__ void concat_backward_kernel(float *da, float *db, const float *dout, size_t total,
                                       size_t na, size_t nb) {
    GB_CUDA_FOR(i, total) {
        const size_t n = i / (na + nb), r = i % (na + nb);
        if (r < na) {
            if (da) da[n * na + r] = dout[i];
        } else if (db) {
            db[n * nb + (r - na)] = dout[i];
        }
    }
}

/* squeeze: out[bc, 2i+j, y, x] = inp[bc, 2y+i, 2x+j]; unsqueeze the other way. (h, w) is the
 * full-resolution plane in both. */
template <bool SQUEEZE>
__global__ void squeeze_kernel(float *out, const float *inp, size_t total, int height, int width) {
    const size_t hw = (size_t)height * width, oh = (size_t)height / 2, ow = (size_t)width / 2;
    GB_CUDA_FOR(k, total) {
        const size_t bc = k / hw, r = k % hw;
        const size_t ij = r / (oh * ow), y = r / ow % oh, x = r % ow;
        const size_t i = ij / 2, j = ij % 2;
        const size_t full = bc * hw + (2 * y + i) * width + 2 * x + j;
        if (SQUEEZE)
            out[k] = inp[full];
        else
            out[full] = inp[k];
    }
}

static void check_hw(const char *op, int height, int width) {
    GB_ASSERT(height >= 0 && width >= 0, "%s: negative size %dx%d", op, height, width);
}

extern "C" void gb_spatial_sum_forward_cuda(gb_device *dev, float *out, const float *inp,
                                            size_t planes, size_t spatial, float scale) {
    if (planes == 0) return;
    spatial_sum_forward_kernel<<<gb_cuda_grid(planes), GB_CUDA_BLOCK>>>(out, inp, planes, spatial,
                                                                        scale);
    GB_LAUNCH_CHECK(dev, "spatial_sum_forward_kernel");
}

extern "C" void gb_spatial_sum_backward_cuda(gb_device *dev, float *dinp, const float *dout,
                                             size_t planes, size_t spatial, float scale) {
    const size_t n = planes * spatial;
    if (n == 0) return;
    spatial_sum_backward_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dinp, dout, spatial, n, scale);
    GB_LAUNCH_CHECK(dev, "spatial_sum_backward_kernel");
}

extern "C" void gb_upsample_nearest2x_forward_cuda(gb_device *dev, float *out, const float *inp,
                                                   size_t planes, int height, int width) {
    check_hw("upsample_nearest2x_forward", height, width);
    const size_t total = planes * (size_t)height * (size_t)width * 4;
    if (total == 0) return;
    upsample_forward_kernel<<<gb_cuda_grid(total), GB_CUDA_BLOCK>>>(out, inp, total, height, width);
    GB_LAUNCH_CHECK(dev, "upsample_forward_kernel");
}

extern "C" void gb_upsample_nearest2x_backward_cuda(gb_device *dev, float *dinp, const float *dout,
                                                    size_t planes, int height, int width) {
    check_hw("upsample_nearest2x_backward", height, width);
    const size_t total = planes * (size_t)height * (size_t)width;
    if (total == 0) return;
    upsample_backward_kernel<<<gb_cuda_grid(total), GB_CUDA_BLOCK>>>(dinp, dout, total, height,
                                                                     width);
    GB_LAUNCH_CHECK(dev, "upsample_backward_kernel");
}

extern "C" void gb_concat_channels_forward_cuda(gb_device *dev, float *out, const float *a,
                                                const float *b, int batch, int ca, int cb,
                                                size_t spatial) {
    GB_ASSERT(batch >= 0 && ca >= 0 && cb >= 0, "concat_channels: batch %d, channels %d + %d", batch,
              ca, cb);
    const size_t na = (size_t)ca * spatial, nb = (size_t)cb * spatial;
    const size_t total = (size_t)batch * (na + nb);
    if (total == 0) return;
    concat_forward_kernel<<<gb_cuda_grid(total), GB_CUDA_BLOCK>>>(out, a, b, total, na, nb);
    GB_LAUNCH_CHECK(dev, "concat_forward_kernel");
}

extern "C" void gb_concat_channels_backward_cuda(gb_device *dev, float *da, float *db,
                                                 const float *dout, int batch, int ca, int cb,
                                                 size_t spatial) {
    GB_ASSERT(batch >= 0 && ca >= 0 && cb >= 0, "concat_channels: batch %d, channels %d + %d", batch,
              ca, cb);
    const size_t na = (size_t)ca * spatial, nb = (size_t)cb * spatial;
    const size_t total = (size_t)batch * (na + nb);
    if (total == 0 || (!da && !db)) return;
    concat_backward_kernel<<<gb_cuda_grid(total), GB_CUDA_BLOCK>>>(da, db, dout, total, na, nb);
    GB_LAUNCH_CHECK(dev, "concat_backward_kernel");
}

extern "C" void gb_squeeze2x_forward_cuda(gb_device *dev, float *out, const float *inp, int batch,
                                          int channels, int height, int width) {
    GB_ASSERT(batch >= 0 && channels >= 0 && height >= 0 && width >= 0 && height % 2 == 0 &&
                  width % 2 == 0,
              "squeeze2x: input %d x %d x %d x %d needs even, non-negative height and width", batch,
              channels, height, width);
    const size_t total = (size_t)batch * (size_t)channels * (size_t)height * (size_t)width;
    if (total == 0) return;
    squeeze_kernel<true><<<gb_cuda_grid(total), GB_CUDA_BLOCK>>>(out, inp, total, height, width);
    GB_LAUNCH_CHECK(dev, "squeeze_kernel");
}

extern "C" void gb_unsqueeze2x_forward_cuda(gb_device *dev, float *out, const float *inp, int batch,
                                            int channels, int height, int width) {
    GB_ASSERT(batch >= 0 && channels >= 0 && height >= 0 && width >= 0 && height % 2 == 0 &&
                  width % 2 == 0,
              "unsqueeze2x: output %d x %d x %d x %d needs even, non-negative height and width",
              batch, channels, height, width);
    const size_t total = (size_t)batch * (size_t)channels * (size_t)height * (size_t)width;
    if (total == 0) return;
    squeeze_kernel<false><<<gb_cuda_grid(total), GB_CUDA_BLOCK>>>(out, inp, total, height, width);
    GB_LAUNCH_CHECK(dev, "unsqueeze_kernel");
}
