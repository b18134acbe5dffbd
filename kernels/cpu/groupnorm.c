/* kernels/cpu/groupnorm.c - GroupNorm (CPU), forward and backward.
 *
 * inp/out/dout/dinp [batch, channels, spatial]; gamma, beta [channels]; save_mean, save_rstd
 * [batch * groups]. torch.nn.GroupNorm(groups, channels) semantics: per (sample, group) the
 * mean and biased variance over channels/groups channels and all spatial positions,
 *   out = (x - mean) * rstd * gamma[c] + beta[c],  rstd = 1/sqrt(var + eps);
 *   backward, with D = channels/groups * spatial and g = gamma[c] over the group:
 *   dinp = rstd (g dout - sum(g dout)/D - xhat sum(g dout xhat)/D), xhat = (x - mean) rstd,
 *   dgamma[c] += sum_{n,s} dout xhat,  dbeta[c] += sum_{n,s} dout.
 * dinp OVERWRITES, dgamma/dbeta ACCUMULATE; any may be NULL. gamma/beta NULL mean 1/0.
 * channels must be a multiple of groups (a programmer error otherwise, as PyTorch refuses it).
 *
 * Numerics: statistics (two-pass variance) and gradient sums in double in a fixed order
 * (vmath.h); per-(sample, channel) sums go to gb_dev_scratch (2 * batch * channels doubles),
 * so dgamma/dbeta are summed over the batch in double and rounded once. The backward works
 * group by group, so a group's rows are read from memory once and again from cache.
 * Speed: the (sample, group) pairs and the dgamma/dbeta channels run in gb_parallel_for slices
 * (below); the arithmetic, and so every bit, is that of the serial loops (kernels/cuda/groupnorm.cu
 * reproduces it bitwise, so the row sums keep vmath.h's lane order). Measured (U-Net 512x4x4,
 * batch 16, 2 threads, min ms, old and new binaries interleaved, noisy machine): backward
 * 0.160 -> 0.086-0.088 (9.7 -> 17.3 GB/s, ~60% of copy), forward 0.052 -> 0.026. What is left
 * at 4x4 is per-row overhead: 16-value rows, each reduced to 8 lanes and a tree.
 * In place (out == inp, dinp == dout) works.
 * Tested by tests/test_kernels_norm.c (float64 finite differences, PyTorch fixtures from
 * tests/peers/kernels_norm.py, the accumulation contract).
 */
#include "kernels/cpu/cpu.h"

#include <math.h>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vmath.h"

static size_t gn_group_channels(const gb_norm_shape *shape, const char *op) {
    GB_ASSERT(shape->groups > 0 && shape->channels % shape->groups == 0,
              "%s: channels %d is not a multiple of groups %d", op, shape->channels, shape->groups);
    return (size_t)(shape->channels / shape->groups);
}

/* Both directions are cut over (sample, group) pairs into gb_parallel_for slices
 * (kernels/cpu/parallel.h), and the backward's dgamma/dbeta pass over channels: a pair's
 * statistics, row sums and outputs (a channel's batch sum) belong to one slice and are formed
 * in the same order as with one thread, so the bits do not depend on the thread count (and
 * stay those kernels/cuda/groupnorm.cu reproduces). */
typedef struct {
    const gb_norm_shape *shape;
    size_t cg;
    float *out, *save_mean, *save_rstd, *dinp, *dgamma, *dbeta;
    const float *inp, *gamma, *beta, *dout, *mean_in, *rstd_in;
    double *sum_dy, *sum_dy_xc;
} gn_job;

/* (sample, group) pairs per slice: at least ~8K values, so small layers run inline. */
static size_t gn_grain(size_t span) { return 8192 / span + 1; }

GB_VCLONES
static void forward_pairs(void *ctx, size_t begin, size_t end, int slice) {
    (void)slice;
    const gn_job *j = ctx;
    const gb_norm_shape *shape = j->shape;
    const float *gamma = j->gamma, *beta = j->beta;
    size_t cg = j->cg, groups = (size_t)shape->groups;
    size_t spatial = (size_t)shape->spatial, span = cg * spatial;
    for (size_t ng = begin; ng < end; ng++) {
        size_t g = ng % groups;
        const float *x = j->inp + ng * span;
        float *y = j->out + ng * span;
        double mean = gb_vsum_f64(x, span) / (double)span;
        double rstd = 1.0 / sqrt(gb_vsumsq_dev_f64(x, span, mean) / (double)span +
                                 (double)shape->eps);
        if (j->save_mean) j->save_mean[ng] = (float)mean;
        if (j->save_rstd) j->save_rstd[ng] = (float)rstd;
        float mean_f = (float)mean;
        for (size_t k = 0; k < cg; k++) {
            size_t c = g * cg + k;
            float a = (float)((gamma ? (double)gamma[c] : 1.0) * rstd);
            float b = beta ? beta[c] : 0.0f;
            const float *xr = x + k * spatial;
            float *yr = y + k * spatial;
            for (size_t s = 0; s < spatial; s++) yr[s] = (xr[s] - mean_f) * a + b;
        }
    }
}

void gb_groupnorm_forward_cpu(gb_device *dev, float *out, float *save_mean, float *save_rstd,
                              const float *inp, const float *gamma, const float *beta,
                              const gb_norm_shape *shape) {
    size_t cg = gn_group_channels(shape, "groupnorm_forward");
    gn_job j = {.shape = shape, .cg = cg, .out = out, .save_mean = save_mean, .save_rstd = save_rstd,
                .inp = inp, .gamma = gamma, .beta = beta};
    size_t pairs = (size_t)shape->batch * (size_t)shape->groups;
    gb_parallel_for(dev, pairs, gn_grain(cg * (size_t)shape->spatial), forward_pairs, &j);
}

GB_VCLONES
static void backward_pairs(void *ctx, size_t begin, size_t end, int slice) {
    (void)slice;
    const gn_job *j = ctx;
    const gb_norm_shape *shape = j->shape;
    const float *gamma = j->gamma, *inp = j->inp, *dout = j->dout;
    size_t cg = j->cg, groups = (size_t)shape->groups;
    size_t channels = (size_t)shape->channels, spatial = (size_t)shape->spatial;
    size_t span = cg * spatial;
    double *sum_dy = j->sum_dy, *sum_dy_xc = j->sum_dy_xc;
    for (size_t ng = begin; ng < end; ng++) {
        size_t n = ng / groups, g = ng % groups;
        float mean_f = j->mean_in[ng];
        double rstd = (double)j->rstd_in[ng];
        double a_sum = 0.0, b_sum = 0.0; /* sum g dout, sum g dout (x - mean) */
        for (size_t k = 0; k < cg; k++) {
            size_t c = g * cg + k, row = n * channels + c;
            gb_vsum_dot_dev_f64(dout + row * spatial, inp + row * spatial, spatial,
                                (double)mean_f, &sum_dy[row], &sum_dy_xc[row]);
            double gc = gamma ? (double)gamma[c] : 1.0;
            a_sum += gc * sum_dy[row];
            b_sum += gc * sum_dy_xc[row];
        }
        if (!j->dinp) continue;
        /* dinp = gamma rstd dout + k1 (x - mean) + k0 */
        float k1 = (float)(-rstd * rstd * rstd * b_sum / (double)span);
        float k0 = (float)(-rstd * a_sum / (double)span);
        for (size_t k = 0; k < cg; k++) {
            size_t c = g * cg + k, off = (n * channels + c) * spatial;
            float kc = (float)((gamma ? (double)gamma[c] : 1.0) * rstd);
            const float *x = inp + off, *dy = dout + off;
            float *dx = j->dinp + off;
            for (size_t s = 0; s < spatial; s++) dx[s] = dy[s] * kc + ((x[s] - mean_f) * k1 + k0);
        }
    }
}

static void param_grad_channels(void *ctx, size_t begin, size_t end, int slice) {
    (void)slice;
    const gn_job *j = ctx;
    size_t batch = (size_t)j->shape->batch, groups = (size_t)j->shape->groups;
    size_t channels = (size_t)j->shape->channels;
    for (size_t c = begin; c < end; c++) {
        double dg = 0.0, db = 0.0;
        for (size_t n = 0; n < batch; n++) {
            size_t row = n * channels + c;
            dg += j->sum_dy_xc[row] * (double)j->rstd_in[n * groups + c / j->cg];
            db += j->sum_dy[row];
        }
        if (j->dgamma) j->dgamma[c] += (float)dg;
        if (j->dbeta) j->dbeta[c] += (float)db;
    }
}

void gb_groupnorm_backward_cpu(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                               const float *dout, const float *inp, const float *gamma,
                               const float *save_mean, const float *save_rstd,
                               const gb_norm_shape *shape) {
    size_t cg = gn_group_channels(shape, "groupnorm_backward");
    size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    /* [batch * channels] each: sum dout and sum dout (x - mean) per row */
    double *sum_dy = gb_dev_scratch(dev, 2 * batch * channels * sizeof(double));
    gn_job j = {.shape = shape, .cg = cg, .dinp = dinp, .dgamma = dgamma, .dbeta = dbeta,
                .inp = inp, .gamma = gamma, .dout = dout, .mean_in = save_mean, .rstd_in = save_rstd,
                .sum_dy = sum_dy, .sum_dy_xc = sum_dy + batch * channels};
    gb_parallel_for(dev, batch * (size_t)shape->groups, gn_grain(cg * (size_t)shape->spatial),
                    backward_pairs, &j);
    if (!dgamma && !dbeta) return;
    gb_parallel_for(dev, channels, 64, param_grad_channels, &j);
}
