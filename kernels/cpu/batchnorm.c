/* kernels/cpu/batchnorm.c - BatchNorm2d (CPU): training and eval mode, forward and backward.
 *
 * inp/out/dout/dinp [batch, channels, spatial]; gamma, beta, save_mean, save_rstd, running_mean,
 * running_var [channels]. torch.nn.BatchNorm2d semantics:
 *   train:  mean, var = batch statistics per channel over batch and spatial (biased variance),
 *           out = (x - mean) * rstd * gamma + beta, rstd = 1/sqrt(var + eps);
 *           running_mean = momentum * mean + (1 - momentum) * running_mean,
 *           running_var  = momentum * var * m/(m - 1) + (1 - momentum) * running_var (unbiased,
 *           m = batch * spatial values per channel; m = 1 is refused, as PyTorch refuses it);
 *   eval:   the running statistics in place of the batch's.
 *   backward (train): dinp = gamma rstd (dout - mean(dout) - xhat mean(dout xhat)), xhat =
 *           (x - mean) rstd; (eval): dinp = gamma rstd dout. Both: dgamma += sum dout xhat,
 *           dbeta += sum dout.
 * dinp OVERWRITES, dgamma/dbeta ACCUMULATE; any of them may be NULL. gamma/beta NULL mean 1/0
 * (affine=False); save_mean/save_rstd and the running statistics may be NULL (not kept).
 *
 * Numerics: the statistics and the gradient sums are reduced in double in a fixed order (per
 * channel, sample by sample, each row by vmath.h's interleaved lanes): deterministic, and the
 * variance is the two-pass sum of squared deviations, so a large mean costs no precision.
 * rstd, the running updates and the per-channel coefficients are formed in double and rounded
 * once; the per-element work is float: (x - mean) * (gamma rstd) + beta, where PyTorch's CPU
 * kernel uses x * alpha + (beta - mean alpha) (the difference is within the tolerances derived
 * in tests/tolerances.md). Every pass walks memory in order, sample by sample (one channel's rows are
 * a spatial stride apart, and walking them channel by channel ran at half the speed); the
 * per-channel sums and coefficients live in gb_dev_scratch. Three reads of inp and one write
 * (forward), two reads of dout and inp and one write (backward).
 * In place (out == inp, dinp == dout) works: all sums precede the writes.
 * Tested by tests/test_kernels_norm.c (float64 finite differences, PyTorch fixtures from
 * tests/peers/kernels_norm.py, the accumulation contract).
 */
#include "kernels/cpu/cpu.h"

#include <math.h>

#include "kernels/cpu/vmath.h"

/* Per-channel work space from gb_dev_scratch: two double sums and three float coefficients. */
typedef struct {
    double *s1, *s2;
    float *mean, *a, *b;
} bn_work;

static bn_work bn_scratch(gb_device *dev, size_t channels) {
    char *p = gb_dev_scratch(dev, channels * (2 * sizeof(double) + 3 * sizeof(float)));
    bn_work w;
    w.s1 = (double *)p;
    w.s2 = w.s1 + channels;
    w.mean = (float *)(w.s2 + channels);
    w.a = w.mean + channels;
    w.b = w.a + channels;
    return w;
}

/* out = (x - mean[c]) * a[c] + b[c]; sample by sample (sequential memory) */
GB_VINLINE void bn_affine(float *out, const float *inp, size_t batch, size_t channels,
                          size_t spatial, const float *mean, const float *a, const float *b) {
    for (size_t n = 0; n < batch; n++)
        for (size_t c = 0; c < channels; c++) {
            const float *x = inp + (n * channels + c) * spatial;
            float *y = out + (n * channels + c) * spatial;
            float mc = mean[c], ac = a[c], bc = b[c];
            for (size_t s = 0; s < spatial; s++) y[s] = (x[s] - mc) * ac + bc;
        }
}

/* s1[c] = sum dout, s2[c] = sum dout (x - mean[c]) per channel, rows added in sample order */
GB_VINLINE void bn_grad_sums(double *s1, double *s2, const float *dout, const float *inp,
                             size_t batch, size_t channels, size_t spatial, const float *mean) {
    for (size_t c = 0; c < channels; c++) s1[c] = s2[c] = 0.0;
    for (size_t n = 0; n < batch; n++)
        for (size_t c = 0; c < channels; c++) {
            size_t off = (n * channels + c) * spatial;
            double a, b;
            gb_vsum_dot_dev_f64(dout + off, inp + off, spatial, (double)mean[c], &a, &b);
            s1[c] += a;
            s2[c] += b;
        }
}

GB_VCLONES
void gb_batchnorm_forward_train_cpu(gb_device *dev, float *out, float *save_mean, float *save_rstd,
                                    float *running_mean, float *running_var, const float *inp,
                                    const float *gamma, const float *beta,
                                    const gb_norm_shape *shape, float momentum) {
    size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    size_t spatial = (size_t)shape->spatial, count = batch * spatial;
    GB_ASSERT(count > 1, "batchnorm_forward_train: %zu value per channel (batch %zu x spatial %zu); "
              "training needs more than 1, as in PyTorch", count, batch, spatial);
    double m = (double)momentum;
    bn_work w = bn_scratch(dev, channels);
    for (size_t c = 0; c < channels; c++) w.s1[c] = w.s2[c] = 0.0;
    for (size_t n = 0; n < batch; n++)
        for (size_t c = 0; c < channels; c++)
            w.s1[c] += gb_vsum_f64(inp + (n * channels + c) * spatial, spatial);
    for (size_t c = 0; c < channels; c++) w.s1[c] /= (double)count; /* the mean */
    for (size_t n = 0; n < batch; n++)
        for (size_t c = 0; c < channels; c++)
            w.s2[c] += gb_vsumsq_dev_f64(inp + (n * channels + c) * spatial, spatial, w.s1[c]);
    for (size_t c = 0; c < channels; c++) {
        double mean = w.s1[c];
        double rstd = 1.0 / sqrt(w.s2[c] / (double)count + (double)shape->eps);
        if (save_mean) save_mean[c] = (float)mean;
        if (save_rstd) save_rstd[c] = (float)rstd;
        if (running_mean) running_mean[c] = (float)(m * mean + (1.0 - m) * (double)running_mean[c]);
        if (running_var)
            running_var[c] = (float)(m * (w.s2[c] / (double)(count - 1)) +
                                     (1.0 - m) * (double)running_var[c]);
        w.mean[c] = (float)mean;
        w.a[c] = (float)((gamma ? (double)gamma[c] : 1.0) * rstd);
        w.b[c] = beta ? beta[c] : 0.0f;
    }
    bn_affine(out, inp, batch, channels, spatial, w.mean, w.a, w.b);
}

GB_VCLONES
void gb_batchnorm_backward_train_cpu(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                                     const float *dout, const float *inp, const float *gamma,
                                     const float *save_mean, const float *save_rstd,
                                     const gb_norm_shape *shape) {
    size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    size_t spatial = (size_t)shape->spatial;
    double count = (double)(batch * spatial);
    bn_work w = bn_scratch(dev, channels);
    bn_grad_sums(w.s1, w.s2, dout, inp, batch, channels, spatial, save_mean);
    for (size_t c = 0; c < channels; c++) {
        double rstd = (double)save_rstd[c], sdy = w.s1[c], sdyx = w.s2[c];
        if (dgamma) dgamma[c] += (float)(sdyx * rstd);
        if (dbeta) dbeta[c] += (float)sdy;
        /* dinp = k dout + k1 (x - mean) + k0 with k = gamma rstd, k1 = -k rstd^2 sdyx/count,
         * k0 = -k sdy/count */
        double k = (gamma ? (double)gamma[c] : 1.0) * rstd;
        w.mean[c] = (float)k;
        w.a[c] = (float)(-k * rstd * rstd * sdyx / count);
        w.b[c] = (float)(-k * sdy / count);
    }
    if (!dinp) return;
    for (size_t n = 0; n < batch; n++)
        for (size_t c = 0; c < channels; c++) {
            size_t off = (n * channels + c) * spatial;
            const float *x = inp + off, *dy = dout + off;
            float *dx = dinp + off;
            float kc = w.mean[c], k1 = w.a[c], k0 = w.b[c], mc = save_mean[c];
            for (size_t s = 0; s < spatial; s++) dx[s] = dy[s] * kc + ((x[s] - mc) * k1 + k0);
        }
}

GB_VCLONES
void gb_batchnorm_forward_eval_cpu(gb_device *dev, float *out, const float *inp, const float *gamma,
                                   const float *beta, const float *running_mean,
                                   const float *running_var, const gb_norm_shape *shape) {
    size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    size_t spatial = (size_t)shape->spatial;
    bn_work w = bn_scratch(dev, channels);
    for (size_t c = 0; c < channels; c++) {
        double rstd = 1.0 / sqrt((double)running_var[c] + (double)shape->eps);
        w.a[c] = (float)((gamma ? (double)gamma[c] : 1.0) * rstd);
        w.b[c] = beta ? beta[c] : 0.0f;
    }
    bn_affine(out, inp, batch, channels, spatial, running_mean, w.a, w.b);
}

GB_VCLONES
void gb_batchnorm_backward_eval_cpu(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                                    const float *dout, const float *inp, const float *gamma,
                                    const float *running_mean, const float *running_var,
                                    const gb_norm_shape *shape) {
    size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    size_t spatial = (size_t)shape->spatial;
    bn_work w = bn_scratch(dev, channels);
    if (dgamma || dbeta) bn_grad_sums(w.s1, w.s2, dout, inp, batch, channels, spatial, running_mean);
    for (size_t c = 0; c < channels; c++) {
        double rstd = 1.0 / sqrt((double)running_var[c] + (double)shape->eps);
        if (dgamma) dgamma[c] += (float)(w.s2[c] * rstd);
        if (dbeta) dbeta[c] += (float)w.s1[c];
        w.a[c] = (float)((gamma ? (double)gamma[c] : 1.0) * rstd);
    }
    if (!dinp) return;
    for (size_t n = 0; n < batch; n++)
        for (size_t c = 0; c < channels; c++) {
            size_t off = (n * channels + c) * spatial;
            const float *dy = dout + off;
            float *dx = dinp + off;
            float k = w.a[c];
            for (size_t s = 0; s < spatial; s++) dx[s] = dy[s] * k;
        }
}
