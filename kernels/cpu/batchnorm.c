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
 * In place (out == inp, dinp == dout) works: all sums precede the writes (per channel, and a
 * gb_parallel_for slice owns whole channels, see below).
 * Tested by tests/test_kernels_norm.c (float64 finite differences, PyTorch fixtures from
 * tests/peers/kernels_norm.py, the accumulation contract, the same bits with 1, 2 and 3 threads).
 */
#include "kernels/cpu/cpu.h"

#include <math.h>

#include "kernels/cpu/parallel.h"
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

/* Every kernel is cut over channels into gb_parallel_for slices: a slice owns channels
 * [c0, c1) and does everything for them (their sums in sample order, coefficients, the
 * elementwise pass), so each channel's arithmetic and order are those of one thread, and within
 * a slice memory is still walked sample by sample. */
typedef struct {
    const gb_norm_shape *shape;
    bn_work w;
    float *out, *save_mean, *save_rstd, *running_mean, *running_var, *dgamma, *dbeta;
    const float *inp, *dout, *gamma, *beta, *mean, *rstd, *var;
    float momentum;
} bn_job;

/* Channels per slice: at least ~32K elements of work. */
static size_t bn_grain(const gb_norm_shape *s) {
    size_t per_channel = (size_t)s->batch * (size_t)s->spatial;
    return per_channel >= 32768 ? 1 : 32768 / (per_channel ? per_channel : 1);
}

/* out = (x - mean[c]) * a[c] + b[c] for c in [c0, c1); sample by sample (sequential memory) */
GB_VINLINE void bn_affine(float *out, const float *inp, size_t batch, size_t channels, size_t c0,
                          size_t c1, size_t spatial, const float *mean, const float *a, const float *b) {
    for (size_t n = 0; n < batch; n++)
        for (size_t c = c0; c < c1; c++) {
            const float *x = inp + (n * channels + c) * spatial;
            float *y = out + (n * channels + c) * spatial;
            float mc = mean[c], ac = a[c], bc = b[c];
            for (size_t s = 0; s < spatial; s++) y[s] = (x[s] - mc) * ac + bc;
        }
}

/* s1[c] = sum dout, s2[c] = sum dout (x - mean[c]) per channel c in [c0, c1), rows added in
 * sample order */
GB_VINLINE void bn_grad_sums(double *s1, double *s2, const float *dout, const float *inp,
                             size_t batch, size_t channels, size_t c0, size_t c1, size_t spatial,
                             const float *mean) {
    for (size_t c = c0; c < c1; c++) s1[c] = s2[c] = 0.0;
    for (size_t n = 0; n < batch; n++)
        for (size_t c = c0; c < c1; c++) {
            size_t off = (n * channels + c) * spatial;
            double a, b;
            gb_vsum_dot_dev_f64(dout + off, inp + off, spatial, (double)mean[c], &a, &b);
            s1[c] += a;
            s2[c] += b;
        }
}

GB_VCLONES
static void forward_train_slice(void *ctx, size_t c0, size_t c1, int slice) {
    (void)slice;
    const bn_job *j = ctx;
    const gb_norm_shape *shape = j->shape;
    size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    size_t spatial = (size_t)shape->spatial, count = batch * spatial;
    const float *inp = j->inp;
    double m = (double)j->momentum;
    bn_work w = j->w;
    for (size_t c = c0; c < c1; c++) w.s1[c] = w.s2[c] = 0.0;
    for (size_t n = 0; n < batch; n++)
        for (size_t c = c0; c < c1; c++)
            w.s1[c] += gb_vsum_f64(inp + (n * channels + c) * spatial, spatial);
    for (size_t c = c0; c < c1; c++) w.s1[c] /= (double)count; /* the mean */
    for (size_t n = 0; n < batch; n++)
        for (size_t c = c0; c < c1; c++)
            w.s2[c] += gb_vsumsq_dev_f64(inp + (n * channels + c) * spatial, spatial, w.s1[c]);
    for (size_t c = c0; c < c1; c++) {
        double mean = w.s1[c];
        double rstd = 1.0 / sqrt(w.s2[c] / (double)count + (double)shape->eps);
        if (j->save_mean) j->save_mean[c] = (float)mean;
        if (j->save_rstd) j->save_rstd[c] = (float)rstd;
        if (j->running_mean)
            j->running_mean[c] = (float)(m * mean + (1.0 - m) * (double)j->running_mean[c]);
        if (j->running_var)
            j->running_var[c] = (float)(m * (w.s2[c] / (double)(count - 1)) +
                                        (1.0 - m) * (double)j->running_var[c]);
        w.mean[c] = (float)mean;
        w.a[c] = (float)((j->gamma ? (double)j->gamma[c] : 1.0) * rstd);
        w.b[c] = j->beta ? j->beta[c] : 0.0f;
    }
    bn_affine(j->out, inp, batch, channels, c0, c1, spatial, w.mean, w.a, w.b);
}

void gb_batchnorm_forward_train_cpu(gb_device *dev, float *out, float *save_mean, float *save_rstd,
                                    float *running_mean, float *running_var, const float *inp,
                                    const float *gamma, const float *beta,
                                    const gb_norm_shape *shape, float momentum) {
    size_t batch = (size_t)shape->batch, spatial = (size_t)shape->spatial, count = batch * spatial;
    GB_ASSERT(count > 1, "batchnorm_forward_train: %zu value per channel (batch %zu x spatial %zu); "
              "training needs more than 1, as in PyTorch", count, batch, spatial);
    bn_job j = {.shape = shape, .w = bn_scratch(dev, (size_t)shape->channels), .out = out,
                .save_mean = save_mean, .save_rstd = save_rstd, .running_mean = running_mean,
                .running_var = running_var, .inp = inp, .gamma = gamma, .beta = beta,
                .momentum = momentum};
    gb_parallel_for(dev, (size_t)shape->channels, bn_grain(shape), forward_train_slice, &j);
}

GB_VCLONES
static void backward_train_slice(void *ctx, size_t c0, size_t c1, int slice) {
    (void)slice;
    const bn_job *j = ctx;
    const gb_norm_shape *shape = j->shape;
    size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    size_t spatial = (size_t)shape->spatial;
    double count = (double)(batch * spatial);
    bn_work w = j->w;
    const float *save_mean = j->mean, *save_rstd = j->rstd;
    bn_grad_sums(w.s1, w.s2, j->dout, j->inp, batch, channels, c0, c1, spatial, save_mean);
    for (size_t c = c0; c < c1; c++) {
        double rstd = (double)save_rstd[c], sdy = w.s1[c], sdyx = w.s2[c];
        if (j->dgamma) j->dgamma[c] += (float)(sdyx * rstd);
        if (j->dbeta) j->dbeta[c] += (float)sdy;
        /* dinp = k dout + k1 (x - mean) + k0 with k = gamma rstd, k1 = -k rstd^2 sdyx/count,
         * k0 = -k sdy/count */
        double k = (j->gamma ? (double)j->gamma[c] : 1.0) * rstd;
        w.mean[c] = (float)k;
        w.a[c] = (float)(-k * rstd * rstd * sdyx / count);
        w.b[c] = (float)(-k * sdy / count);
    }
    if (!j->out) return;
    for (size_t n = 0; n < batch; n++)
        for (size_t c = c0; c < c1; c++) {
            size_t off = (n * channels + c) * spatial;
            const float *x = j->inp + off, *dy = j->dout + off;
            float *dx = j->out + off;
            float kc = w.mean[c], k1 = w.a[c], k0 = w.b[c], mc = save_mean[c];
            for (size_t s = 0; s < spatial; s++) dx[s] = dy[s] * kc + ((x[s] - mc) * k1 + k0);
        }
}

void gb_batchnorm_backward_train_cpu(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                                     const float *dout, const float *inp, const float *gamma,
                                     const float *save_mean, const float *save_rstd,
                                     const gb_norm_shape *shape) {
    bn_job j = {.shape = shape, .w = bn_scratch(dev, (size_t)shape->channels), .out = dinp,
                .dgamma = dgamma, .dbeta = dbeta, .dout = dout, .inp = inp, .gamma = gamma,
                .mean = save_mean, .rstd = save_rstd};
    gb_parallel_for(dev, (size_t)shape->channels, bn_grain(shape), backward_train_slice, &j);
}

GB_VCLONES
static void forward_eval_slice(void *ctx, size_t c0, size_t c1, int slice) {
    (void)slice;
    const bn_job *j = ctx;
    const gb_norm_shape *shape = j->shape;
    bn_work w = j->w;
    for (size_t c = c0; c < c1; c++) {
        double rstd = 1.0 / sqrt((double)j->var[c] + (double)shape->eps);
        w.a[c] = (float)((j->gamma ? (double)j->gamma[c] : 1.0) * rstd);
        w.b[c] = j->beta ? j->beta[c] : 0.0f;
    }
    bn_affine(j->out, j->inp, (size_t)shape->batch, (size_t)shape->channels, c0, c1,
              (size_t)shape->spatial, j->mean, w.a, w.b);
}

void gb_batchnorm_forward_eval_cpu(gb_device *dev, float *out, const float *inp, const float *gamma,
                                   const float *beta, const float *running_mean,
                                   const float *running_var, const gb_norm_shape *shape) {
    bn_job j = {.shape = shape, .w = bn_scratch(dev, (size_t)shape->channels), .out = out,
                .inp = inp, .gamma = gamma, .beta = beta, .mean = running_mean, .var = running_var};
    gb_parallel_for(dev, (size_t)shape->channels, bn_grain(shape), forward_eval_slice, &j);
}

GB_VCLONES
static void backward_eval_slice(void *ctx, size_t c0, size_t c1, int slice) {
    (void)slice;
    const bn_job *j = ctx;
    const gb_norm_shape *shape = j->shape;
    size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    size_t spatial = (size_t)shape->spatial;
    bn_work w = j->w;
    if (j->dgamma || j->dbeta)
        bn_grad_sums(w.s1, w.s2, j->dout, j->inp, batch, channels, c0, c1, spatial, j->mean);
    for (size_t c = c0; c < c1; c++) {
        double rstd = 1.0 / sqrt((double)j->var[c] + (double)shape->eps);
        if (j->dgamma) j->dgamma[c] += (float)(w.s2[c] * rstd);
        if (j->dbeta) j->dbeta[c] += (float)w.s1[c];
        w.a[c] = (float)((j->gamma ? (double)j->gamma[c] : 1.0) * rstd);
    }
    if (!j->out) return;
    for (size_t n = 0; n < batch; n++)
        for (size_t c = c0; c < c1; c++) {
            size_t off = (n * channels + c) * spatial;
            const float *dy = j->dout + off;
            float *dx = j->out + off;
            float k = w.a[c];
            for (size_t s = 0; s < spatial; s++) dx[s] = dy[s] * k;
        }
}

void gb_batchnorm_backward_eval_cpu(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                                    const float *dout, const float *inp, const float *gamma,
                                    const float *running_mean, const float *running_var,
                                    const gb_norm_shape *shape) {
    bn_job j = {.shape = shape, .w = bn_scratch(dev, (size_t)shape->channels), .out = dinp,
                .dgamma = dgamma, .dbeta = dbeta, .dout = dout, .inp = inp, .gamma = gamma,
                .mean = running_mean, .var = running_var};
    gb_parallel_for(dev, (size_t)shape->channels, bn_grain(shape), backward_eval_slice, &j);
}
