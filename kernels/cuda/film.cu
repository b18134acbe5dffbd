/* kernels/cuda/film.cu - FiLM, a per-(sample, channel) scale and shift (CUDA), forward and
 * backward.
 *
 *   forward:  out[n,c,s] = inp[n,c,s] * (1 + scale[n,c]) + shift[n,c]   (NULL scale/shift: 0)
 *   backward: dinp = dout * (1 + scale); dscale[n,c] = sum_s dout*inp; dshift[n,c] = sum_s dout
 *
 * The float expressions of kernels/cpu/film.c in the same order (three roundings, or the
 * single operation left when scale or shift is NULL). dscale/dshift OVERWRITE and are the
 * per-plane double sums of gb_rows_lanes (reduce.cuh), which adds in the CPU's lane order,
 * then rounded once: every output is the CPU backend's bits. The sums finish before dinp is
 * written (two launches on one stream), so dinp may alias dout; out may alias inp.
 * Tested by tests/test_kernels_cuda_ops.c (bitwise against the CPU backend).
 */
#include "kernels/cuda/reduce.cuh"

__global__ void film_forward_kernel(float *out, const float *inp, const float *scale,
                                    const float *shift, size_t n, size_t spatial) {
    GB_CUDA_FOR(i, n) {
        const size_t p = i / spatial;
        const float x = inp[i];
        if (scale && shift)
            out[i] = gb_fadd(gb_fmul(x, gb_fadd(scale[p], 1.0f)), shift[p]);
        else if (scale)
            out[i] = gb_fmul(x, gb_fadd(scale[p], 1.0f));
        else if (shift)
            out[i] = gb_fadd(x, shift[p]);
        else
            out[i] = x;
    }
}

__global__ void film_sums_store_kernel(float *dscale, float *dshift, const double *sum_dy,
                                       const double *sum_dy_x, size_t planes) {
    GB_CUDA_FOR(p, planes) {
        if (dscale) dscale[p] = (float)sum_dy_x[p];
        if (dshift) dshift[p] = (float)sum_dy[p];
    }
}

__global__ void film_dinp_kernel(float *dinp, const float *dout, const float *scale, size_t n,
                                 size_t spatial) {
    GB_CUDA_FOR(i, n) {
        const float mul = scale ? gb_fadd(scale[i / spatial], 1.0f) : 1.0f;
        dinp[i] = gb_fmul(dout[i], mul);
    }
}

extern "C" void gb_film_forward_cuda(gb_device *dev, float *out, const float *inp, const float *scale,
                                     const float *shift, const gb_norm_shape *shape) {
    const size_t spatial = (size_t)shape->spatial;
    const size_t n = (size_t)shape->batch * (size_t)shape->channels * spatial;
    if (n == 0 || (out == inp && !scale && !shift)) return;
    film_forward_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(out, inp, scale, shift, n, spatial);
    GB_LAUNCH_CHECK(dev, "film_forward_kernel");
}

extern "C" void gb_film_backward_cuda(gb_device *dev, float *dinp, float *dscale, float *dshift,
                                      const float *dout, const float *inp, const float *scale,
                                      const gb_norm_shape *shape) {
    const size_t planes = (size_t)shape->batch * (size_t)shape->channels;
    const size_t spatial = (size_t)shape->spatial, n = planes * spatial;
    if (planes == 0) return;
    if (dscale || dshift) {
        double *sum_dy = static_cast<double *>(gb_dev_scratch(dev, 2 * planes * sizeof(double)));
        double *sum_dy_x = sum_dy + planes;
        gb_rows_lanes<GB_ROWS_SUM_DOT_DEV, float>(dev, sum_dy, sum_dy_x, dout, inp, nullptr, 1, 1,
                                                  planes, spatial);
        film_sums_store_kernel<<<gb_cuda_grid(planes), GB_CUDA_BLOCK>>>(dscale, dshift, sum_dy,
                                                                        sum_dy_x, planes);
        GB_LAUNCH_CHECK(dev, "film_sums_store_kernel");
    }
    if (dinp && n) {
        film_dinp_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dinp, dout, scale, n, spatial);
        GB_LAUNCH_CHECK(dev, "film_dinp_kernel");
    }
}
