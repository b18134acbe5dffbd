/* kernels/cuda/layernorm.cu - the U-Net's channel LayerNorm (CUDA), forward and backward.
 *
 * Semantics of kernels/cpu/layernorm.c: per (sample, position) the mean and biased variance
 * over the channels, out = ((x - mean) * rstd) * g (a gain, no bias; NULL gain means 1);
 * dinp OVERWRITES, dgain ACCUMULATES, either may be NULL.
 * The CPU accumulates each position's sums in double over the channels in order; here one
 * thread per position runs the same loops (adjacent threads read adjacent positions, so the
 * reads stay coalesced). dgain: the CPU keeps GB_LN_BLOCK (64) partial sums per channel, lane
 * j taking position s0 + j of every block s0 of every sample (samples outer, blocks inner),
 * then adds the 64 lanes in order; here a block of 64 threads per channel does exactly that.
 * Every expression keeps the CPU's operation order (_rn intrinsics): the outputs are the CPU
 * backend's bits. A thread reads all of its position's channels before writing any, and
 * dgain's pass precedes dinp's, so out == inp and dinp == dout work.
 * Tested by tests/test_kernels_cuda_ops.c (bitwise against the CPU backend).
 */
#include "kernels/cuda/reduce.cuh"

enum { GB_LN_BLOCK = 64 };

__global__ void ln_forward_kernel(float *out, float *save_mean, float *save_rstd, const float *inp,
                                  const float *gain, size_t batch, size_t channels, size_t spatial,
                                  double eps) {
    const double inv_c = gb_ddiv(1.0, (double)channels);
    GB_CUDA_FOR(pos, batch * spatial) {
        const size_t n = pos / spatial, s = pos % spatial;
        const float *x = inp + n * channels * spatial + s;
        float *y = out + n * channels * spatial + s;
        double sum = 0.0, sq = 0.0;
        for (size_t c = 0; c < channels; c++) sum = gb_dadd(sum, (double)x[c * spatial]);
        const double mean = gb_ddiv(sum, (double)channels);
        for (size_t c = 0; c < channels; c++) {
            const double d = gb_dsub((double)x[c * spatial], mean);
            sq = gb_dadd(sq, gb_dmul(d, d));
        }
        const float mean_f = (float)mean;
        const float rstd_f = (float)gb_ddiv(1.0, gb_dsqrt(gb_dadd(gb_dmul(sq, inv_c), eps)));
        if (save_mean) save_mean[pos] = mean_f;
        if (save_rstd) save_rstd[pos] = rstd_f;
        for (size_t c = 0; c < channels; c++) {
            const float g = gain ? gain[c] : 1.0f;
            y[c * spatial] = gb_fmul(gb_fmul(gb_fsub(x[c * spatial], mean_f), rstd_f), g);
        }
    }
}

__global__ void ln_dinp_kernel(float *dinp, const float *dout, const float *inp, const float *gain,
                               const float *save_mean, const float *save_rstd, size_t batch,
                               size_t channels, size_t spatial) {
    const double inv_c = gb_ddiv(1.0, (double)channels);
    GB_CUDA_FOR(pos, batch * spatial) {
        const size_t n = pos / spatial, s = pos % spatial, base = n * channels * spatial + s;
        const float *x = inp + base, *dy = dout + base;
        const float mean_f = save_mean[pos], rstd_f = save_rstd[pos];
        const double mean = (double)mean_f, rstd = (double)rstd_f;
        double a_sum = 0.0, b_sum = 0.0;
        for (size_t c = 0; c < channels; c++) {
            const double g = gain ? (double)gain[c] : 1.0;
            const double d = (double)dy[c * spatial], xc = gb_dsub((double)x[c * spatial], mean);
            a_sum = gb_dadd(a_sum, gb_dmul(g, d));
            b_sum = gb_dadd(b_sum, gb_dmul(gb_dmul(g, d), xc));
        }
        const float k1 = (float)gb_dmul(gb_dmul(gb_dmul(gb_dmul(-rstd, rstd), rstd), b_sum), inv_c);
        const float k0 = (float)gb_dmul(gb_dmul(-rstd, a_sum), inv_c);
        for (size_t c = 0; c < channels; c++) {
            const float g = gain ? gain[c] : 1.0f;
            dinp[base + c * spatial] =
                gb_fadd(gb_fmul(gb_fmul(dy[c * spatial], g), rstd_f),
                        gb_fadd(gb_fmul(gb_fsub(x[c * spatial], mean_f), k1), k0));
        }
    }
}

/* One block of GB_LN_BLOCK threads per channel. */
__global__ void __launch_bounds__(GB_LN_BLOCK)
ln_dgain_kernel(float *dgain, const float *dout, const float *inp, const float *save_mean,
                const float *save_rstd, size_t batch, size_t channels, size_t spatial) {
    __shared__ double lanes[GB_LN_BLOCK];
    const size_t c = blockIdx.x, j = threadIdx.x;
    double acc = 0.0;
    for (size_t n = 0; n < batch; n++)
        for (size_t s = j; s < spatial; s += GB_LN_BLOCK) {
            const size_t i = (n * channels + c) * spatial + s, pos = n * spatial + s;
            const double xc = gb_dsub((double)inp[i], (double)save_mean[pos]);
            acc = gb_dadd(acc, gb_dmul(gb_dmul((double)dout[i], xc), (double)save_rstd[pos]));
        }
    lanes[j] = acc;
    __syncthreads();
    if (j == 0) {
        double total = 0.0;
        for (int k = 0; k < GB_LN_BLOCK; k++) total = gb_dadd(total, lanes[k]);
        dgain[c] = gb_fadd(dgain[c], (float)total);
    }
}

extern "C" void gb_layernorm_channels_forward_cuda(gb_device *dev, float *out, float *save_mean,
                                                   float *save_rstd, const float *inp,
                                                   const float *gain, const gb_norm_shape *shape) {
    const size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    const size_t spatial = (size_t)shape->spatial, positions = batch * spatial;
    if (positions == 0) return;
    ln_forward_kernel<<<gb_cuda_grid(positions), GB_CUDA_BLOCK>>>(
        out, save_mean, save_rstd, inp, gain, batch, channels, spatial, (double)shape->eps);
    GB_LAUNCH_CHECK(dev, "ln_forward_kernel");
}

extern "C" void gb_layernorm_channels_backward_cuda(gb_device *dev, float *dinp, float *dgain,
                                                    const float *dout, const float *inp,
                                                    const float *gain, const float *save_mean,
                                                    const float *save_rstd,
                                                    const gb_norm_shape *shape) {
    const size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    const size_t spatial = (size_t)shape->spatial, positions = batch * spatial;
    if (dgain && channels) {
        ln_dgain_kernel<<<(unsigned)channels, GB_LN_BLOCK>>>(dgain, dout, inp, save_mean, save_rstd,
                                                            batch, channels, spatial);
        GB_LAUNCH_CHECK(dev, "ln_dgain_kernel");
    }
    if (!dinp || positions == 0) return;
    ln_dinp_kernel<<<gb_cuda_grid(positions), GB_CUDA_BLOCK>>>(dinp, dout, inp, gain, save_mean,
                                                               save_rstd, batch, channels, spatial);
    GB_LAUNCH_CHECK(dev, "ln_dinp_kernel");
}
