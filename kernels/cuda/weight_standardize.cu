/* kernels/cuda/weight_standardize.cu - weight standardisation (the U-Net's WSConv), CUDA.
 *
 * For each of out_channels rows of fan_in weights (kernels/cpu/weight_standardize.c has the
 * derivation):
 *   forward:  mean = (1/F) sum w,  var = (1/F) sum (w - mean)^2 (biased, two passes),
 *             rstd = 1/sqrt(var + eps),  out = (w - mean) * rstd,  save_rstd[o] = rstd
 *   backward: dweight += rstd * (g - mean(g) - out * mean(g*out))   (accumulate; NULL: skip)
 * One block per row. Each thread sums the elements t, t + 256, ... in ascending order in
 * double, then the 256 partial sums meet in a fixed shared-memory tree: the same order on
 * every run (no atomics), so results are bitwise reproducible. Every double operation is an
 * _rn intrinsic (no FMA contraction) and the per-element expressions are the CPU backend's,
 * so outputs differ from it only through the summation order of the statistics (a few
 * double ulps, which almost never moves the final float rounding).
 * Tested by tests/test_cuda_conv.c against kernels/cpu/weight_standardize.c.
 */
#include "kernels/cuda/common.cuh"

enum { WS_THREADS = 256 };

/* Sum of v over the block's WS_THREADS threads in a fixed tree; every thread gets it. */
__device__ static double block_sum(double v, double *part) {
    part[threadIdx.x] = v;
    __syncthreads();
    for (int half = WS_THREADS / 2; half > 0; half /= 2) {
        if ((int)threadIdx.x < half) part[threadIdx.x] = __dadd_rn(part[threadIdx.x], part[threadIdx.x + half]);
        __syncthreads();
    }
    double total = part[0];
    __syncthreads(); /* part is reused by the next call */
    return total;
}

__global__ void __launch_bounds__(WS_THREADS)
weight_standardize_forward_kernel(float *out, float *save_rstd, const float *weight, int fan_in,
                                  float eps) {
    __shared__ double part[WS_THREADS];
    const float *w = weight + (size_t)blockIdx.x * (size_t)fan_in;
    float *y = out + (size_t)blockIdx.x * (size_t)fan_in;
    double acc = 0.0;
    for (int i = threadIdx.x; i < fan_in; i += WS_THREADS) acc = __dadd_rn(acc, (double)w[i]);
    const double mean = __ddiv_rn(block_sum(acc, part), (double)fan_in);
    acc = 0.0;
    for (int i = threadIdx.x; i < fan_in; i += WS_THREADS) {
        double d = __dsub_rn((double)w[i], mean);
        acc = __dadd_rn(acc, __dmul_rn(d, d));
    }
    const double var = __ddiv_rn(block_sum(acc, part), (double)fan_in);
    const double rstd = __ddiv_rn(1.0, __dsqrt_rn(__dadd_rn(var, (double)eps)));
    for (int i = threadIdx.x; i < fan_in; i += WS_THREADS)
        y[i] = __double2float_rn(__dmul_rn(__dsub_rn((double)w[i], mean), rstd));
    if (threadIdx.x == 0) save_rstd[blockIdx.x] = __double2float_rn(rstd);
}

__global__ void __launch_bounds__(WS_THREADS)
weight_standardize_backward_kernel(float *dweight, const float *dout, const float *out,
                                   const float *save_rstd, int fan_in) {
    __shared__ double part[WS_THREADS];
    const size_t row = (size_t)blockIdx.x * (size_t)fan_in;
    const float *g = dout + row, *y = out + row;
    float *dw = dweight + row;
    double sg = 0.0, sgy = 0.0;
    for (int i = threadIdx.x; i < fan_in; i += WS_THREADS) {
        sg = __dadd_rn(sg, (double)g[i]);
        sgy = __dadd_rn(sgy, __dmul_rn((double)g[i], (double)y[i]));
    }
    const double mg = __ddiv_rn(block_sum(sg, part), (double)fan_in);
    const double mgy = __ddiv_rn(block_sum(sgy, part), (double)fan_in);
    const double rstd = (double)save_rstd[blockIdx.x];
    for (int i = threadIdx.x; i < fan_in; i += WS_THREADS) {
        double t = __dsub_rn(__dsub_rn((double)g[i], mg), __dmul_rn((double)y[i], mgy));
        dw[i] = __double2float_rn(__dadd_rn((double)dw[i], __dmul_rn(rstd, t)));
    }
}

extern "C" void gb_weight_standardize_forward_cuda(gb_device *dev, float *out, float *save_rstd,
                                                   const float *weight, int out_channels,
                                                   int fan_in, float eps) {
    GB_ASSERT(out_channels >= 0 && fan_in > 0 && eps >= 0.0f,
              "weight_standardize: out_channels %d, fan_in %d, eps %g: need fan_in > 0, eps >= 0",
              out_channels, fan_in, (double)eps);
    if (out_channels == 0) return;
    weight_standardize_forward_kernel<<<(unsigned)out_channels, WS_THREADS>>>(out, save_rstd, weight,
                                                                             fan_in, eps);
    GB_LAUNCH_CHECK(dev, "weight_standardize_forward_kernel");
}

extern "C" void gb_weight_standardize_backward_cuda(gb_device *dev, float *dweight,
                                                    const float *dout, const float *out,
                                                    const float *save_rstd, int out_channels,
                                                    int fan_in) {
    GB_ASSERT(out_channels >= 0 && fan_in > 0,
              "weight_standardize: out_channels %d, fan_in %d: need fan_in > 0", out_channels, fan_in);
    if (!dweight || out_channels == 0) return;
    weight_standardize_backward_kernel<<<(unsigned)out_channels, WS_THREADS>>>(dweight, dout, out,
                                                                              save_rstd, fan_in);
    GB_LAUNCH_CHECK(dev, "weight_standardize_backward_kernel");
}
