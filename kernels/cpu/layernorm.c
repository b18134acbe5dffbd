/* kernels/cpu/layernorm.c - the U-Net's channel LayerNorm (CPU), forward and backward.
 *
 * inp/out/dout/dinp [batch, channels, spatial]; gain [channels]; save_mean, save_rstd
 * [batch * spatial]. lucidrains' LayerNorm (denoising-diffusion-pytorch), per (sample,
 * position), statistics over the channels:
 *   var = torch.var(x, dim=1, unbiased=False), mean = x.mean(1),
 *   out = (x - mean) * rsqrt(var + eps) * g          (a gain, no bias);
 *   backward, with r = rstd, xhat = (x - mean) r, C = channels:
 *   dinp = r (g dout - sum_c(g dout)/C - xhat sum_c(g dout xhat)/C),
 *   dgain[c] += sum_{n,s} dout xhat.
 * dinp OVERWRITES, dgain ACCUMULATES; either may be NULL. gain NULL means 1.
 *
 * Numerics: the reductions run across channels, a stride of `spatial` apart, so positions are
 * taken in blocks of GB_LN_BLOCK and each position's sum is accumulated in double over the
 * channels in order (the block's positions are independent lanes: the loops vectorise and the
 * order is fixed). The variance is two-pass. The forward rounds as the PyTorch expression
 * does: ((x - mean) * rstd) * g, with mean and rstd rounded once from double. dgain's
 * per-(channel, lane) partial sums live in gb_dev_scratch (channels * GB_LN_BLOCK doubles)
 * and are combined in a fixed order, then rounded once.
 * In place (out == inp, dinp == dout) works: a block's sums precede its writes.
 * Tested by tests/test_kernels_norm.c (float64 finite differences, PyTorch fixtures from
 * tests/peers/kernels_norm.py, the accumulation contract).
 */
#include "kernels/cpu/cpu.h"

#include <math.h>
#include <string.h>

#include "kernels/cpu/vmath.h"

enum { GB_LN_BLOCK = 64 };

GB_VCLONES
void gb_layernorm_channels_forward_cpu(gb_device *dev, float *out, float *save_mean,
                                       float *save_rstd, const float *inp, const float *gain,
                                       const gb_norm_shape *shape) {
    (void)dev;
    size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    size_t spatial = (size_t)shape->spatial;
    double inv_c = 1.0 / (double)channels;
    for (size_t n = 0; n < batch; n++)
        for (size_t s0 = 0; s0 < spatial; s0 += GB_LN_BLOCK) {
            size_t w = spatial - s0 < GB_LN_BLOCK ? spatial - s0 : GB_LN_BLOCK;
            const float *x = inp + n * channels * spatial + s0;
            float *y = out + n * channels * spatial + s0;
            double sum[GB_LN_BLOCK] = {0}, sq[GB_LN_BLOCK] = {0}, mean[GB_LN_BLOCK];
            float mean_f[GB_LN_BLOCK], rstd_f[GB_LN_BLOCK];
            for (size_t c = 0; c < channels; c++)
                for (size_t j = 0; j < w; j++) sum[j] += (double)x[c * spatial + j];
            for (size_t j = 0; j < w; j++) mean[j] = sum[j] / (double)channels;
            for (size_t c = 0; c < channels; c++)
                for (size_t j = 0; j < w; j++) {
                    double d = (double)x[c * spatial + j] - mean[j];
                    sq[j] += d * d;
                }
            for (size_t j = 0; j < w; j++) {
                mean_f[j] = (float)mean[j];
                rstd_f[j] = (float)(1.0 / sqrt(sq[j] * inv_c + (double)shape->eps));
            }
            if (save_mean) memcpy(save_mean + n * spatial + s0, mean_f, w * sizeof(float));
            if (save_rstd) memcpy(save_rstd + n * spatial + s0, rstd_f, w * sizeof(float));
            for (size_t c = 0; c < channels; c++) {
                float g = gain ? gain[c] : 1.0f;
                const float *xr = x + c * spatial;
                float *yr = y + c * spatial;
                for (size_t j = 0; j < w; j++) yr[j] = ((xr[j] - mean_f[j]) * rstd_f[j]) * g;
            }
        }
}

GB_VCLONES
void gb_layernorm_channels_backward_cpu(gb_device *dev, float *dinp, float *dgain,
                                        const float *dout, const float *inp, const float *gain,
                                        const float *save_mean, const float *save_rstd,
                                        const gb_norm_shape *shape) {
    size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    size_t spatial = (size_t)shape->spatial;
    double *dgain_acc = NULL; /* [channels][GB_LN_BLOCK] */
    if (dgain) {
        dgain_acc = gb_dev_scratch(dev, channels * GB_LN_BLOCK * sizeof(double));
        memset(dgain_acc, 0, channels * GB_LN_BLOCK * sizeof(double));
    }
    double inv_c = 1.0 / (double)channels;
    for (size_t n = 0; n < batch; n++)
        for (size_t s0 = 0; s0 < spatial; s0 += GB_LN_BLOCK) {
            size_t w = spatial - s0 < GB_LN_BLOCK ? spatial - s0 : GB_LN_BLOCK;
            size_t base = n * channels * spatial + s0;
            const float *x = inp + base, *dy = dout + base;
            const float *mean_f = save_mean + n * spatial + s0;
            const float *rstd_f = save_rstd + n * spatial + s0;
            double mean[GB_LN_BLOCK], rstd[GB_LN_BLOCK];
            double a_sum[GB_LN_BLOCK] = {0}, b_sum[GB_LN_BLOCK] = {0}; /* sum g dy, sum g dy (x-m) */
            for (size_t j = 0; j < w; j++) {
                mean[j] = (double)mean_f[j];
                rstd[j] = (double)rstd_f[j];
            }
            for (size_t c = 0; c < channels; c++) {
                double g = gain ? (double)gain[c] : 1.0;
                const float *xr = x + c * spatial, *dyr = dy + c * spatial;
                for (size_t j = 0; j < w; j++) {
                    double d = (double)dyr[j], xc = (double)xr[j] - mean[j];
                    a_sum[j] += g * d;
                    b_sum[j] += g * d * xc;
                }
                if (dgain_acc) {
                    double *acc = dgain_acc + c * GB_LN_BLOCK;
                    for (size_t j = 0; j < w; j++)
                        acc[j] += (double)dyr[j] * ((double)xr[j] - mean[j]) * rstd[j];
                }
            }
            if (!dinp) continue;
            /* dinp = (g dout) rstd + k1 (x - mean) + k0 */
            float k1[GB_LN_BLOCK], k0[GB_LN_BLOCK];
            for (size_t j = 0; j < w; j++) {
                k1[j] = (float)(-rstd[j] * rstd[j] * rstd[j] * b_sum[j] * inv_c);
                k0[j] = (float)(-rstd[j] * a_sum[j] * inv_c);
            }
            for (size_t c = 0; c < channels; c++) {
                float g = gain ? gain[c] : 1.0f;
                const float *xr = x + c * spatial, *dyr = dy + c * spatial;
                float *dxr = dinp + base + c * spatial;
                for (size_t j = 0; j < w; j++)
                    dxr[j] = (dyr[j] * g) * rstd_f[j] + ((xr[j] - mean_f[j]) * k1[j] + k0[j]);
            }
        }
    if (!dgain) return;
    for (size_t c = 0; c < channels; c++) {
        const double *acc = dgain_acc + c * GB_LN_BLOCK;
        double total = 0.0;
        for (size_t j = 0; j < GB_LN_BLOCK; j++) total += acc[j];
        dgain[c] += (float)total;
    }
}
