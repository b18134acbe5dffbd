/* kernels/cpu/weight_standardize.c - weight standardisation (the U-Net's WSConv), CPU.
 *
 * For each of out_channels rows of fan_in weights (a conv weight [o, c, kh, kw]
 * is out_channels rows of fan_in = c*kh*kw):
 *   mean = (1/F) sum_i w_i,  var = (1/F) sum_i (w_i - mean)^2   (biased, as
 *   torch.var(unbiased=False)),  rstd = 1/sqrt(var + eps),
 *   out_i = (w_i - mean) * rstd,  save_rstd[o] = rstd.
 * backward (g = dout, y = out; exact with eps, since d rstd/d w_j = -rstd^3 (w_j - mean)/F):
 *   dweight_j += rstd * (g_j - mean(g) - y_j * mean(g*y))     (accumulate: w is a parameter)
 * Statistics and the two backward means are reduced in double in index order
 * (two passes for the variance, so no cancellation), and each output is one
 * rounding of a double expression: results are deterministic and within a few
 * float32 roundings of the exact value.
 * Tested by tests/test_kernels_conv.c (float64 formula, finite differences,
 * PyTorch's formula and autograd, the accumulate contract).
 */
#include <math.h>

#include "kernels/cpu/cpu.h"

void gb_weight_standardize_forward_cpu(gb_device *dev, float *out, float *save_rstd,
                                       const float *weight, int out_channels, int fan_in, float eps) {
    (void)dev;
    GB_ASSERT(out_channels >= 0 && fan_in > 0 && eps >= 0.0f,
              "weight_standardize: out_channels %d, fan_in %d, eps %g: need fan_in > 0, eps >= 0",
              out_channels, fan_in, (double)eps);
    for (int o = 0; o < out_channels; o++) {
        const float *w = weight + (size_t)o * (size_t)fan_in;
        float *y = out + (size_t)o * (size_t)fan_in;
        double sum = 0.0;
        for (int i = 0; i < fan_in; i++) sum += (double)w[i];
        double mean = sum / fan_in;
        double sq = 0.0;
        for (int i = 0; i < fan_in; i++) {
            double d = (double)w[i] - mean;
            sq += d * d;
        }
        double rstd = 1.0 / sqrt(sq / fan_in + (double)eps);
        for (int i = 0; i < fan_in; i++) y[i] = (float)(((double)w[i] - mean) * rstd);
        save_rstd[o] = (float)rstd;
    }
}

void gb_weight_standardize_backward_cpu(gb_device *dev, float *dweight, const float *dout,
                                        const float *out, const float *save_rstd, int out_channels,
                                        int fan_in) {
    (void)dev;
    GB_ASSERT(out_channels >= 0 && fan_in > 0,
              "weight_standardize: out_channels %d, fan_in %d: need fan_in > 0", out_channels, fan_in);
    if (!dweight) return;
    for (int o = 0; o < out_channels; o++) {
        const float *g = dout + (size_t)o * (size_t)fan_in;
        const float *y = out + (size_t)o * (size_t)fan_in;
        float *dw = dweight + (size_t)o * (size_t)fan_in;
        double sg = 0.0, sgy = 0.0;
        for (int i = 0; i < fan_in; i++) {
            sg += (double)g[i];
            sgy += (double)g[i] * (double)y[i];
        }
        double mg = sg / fan_in, mgy = sgy / fan_in, rstd = (double)save_rstd[o];
        for (int i = 0; i < fan_in; i++)
            dw[i] = (float)((double)dw[i] + rstd * ((double)g[i] - mg - (double)y[i] * mgy));
    }
}
