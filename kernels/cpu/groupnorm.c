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
 * In place (out == inp, dinp == dout) works.
 * Tested by tests/test_kernels_norm.c (float64 finite differences, PyTorch fixtures from
 * tests/peers/kernels_norm.py, the accumulation contract).
 */
#include "kernels/cpu/cpu.h"

#include <math.h>

#include "kernels/cpu/vmath.h"

static size_t gn_group_channels(const gb_norm_shape *shape, const char *op) {
    GB_ASSERT(shape->groups > 0 && shape->channels % shape->groups == 0,
              "%s: channels %d is not a multiple of groups %d", op, shape->channels, shape->groups);
    return (size_t)(shape->channels / shape->groups);
}

GB_VCLONES
void gb_groupnorm_forward_cpu(gb_device *dev, float *out, float *save_mean, float *save_rstd,
                              const float *inp, const float *gamma, const float *beta,
                              const gb_norm_shape *shape) {
    (void)dev;
    size_t cg = gn_group_channels(shape, "groupnorm_forward");
    size_t batch = (size_t)shape->batch, groups = (size_t)shape->groups;
    size_t spatial = (size_t)shape->spatial, span = cg * spatial;
    for (size_t n = 0; n < batch; n++)
        for (size_t g = 0; g < groups; g++) {
            size_t ng = n * groups + g;
            const float *x = inp + ng * span;
            float *y = out + ng * span;
            double mean = gb_vsum_f64(x, span) / (double)span;
            double rstd = 1.0 / sqrt(gb_vsumsq_dev_f64(x, span, mean) / (double)span +
                                     (double)shape->eps);
            if (save_mean) save_mean[ng] = (float)mean;
            if (save_rstd) save_rstd[ng] = (float)rstd;
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

GB_VCLONES
void gb_groupnorm_backward_cpu(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                               const float *dout, const float *inp, const float *gamma,
                               const float *save_mean, const float *save_rstd,
                               const gb_norm_shape *shape) {
    size_t cg = gn_group_channels(shape, "groupnorm_backward");
    size_t batch = (size_t)shape->batch, groups = (size_t)shape->groups;
    size_t channels = (size_t)shape->channels, spatial = (size_t)shape->spatial;
    size_t span = cg * spatial;
    /* [batch * channels] each: sum dout and sum dout (x - mean) per row */
    double *sum_dy = gb_dev_scratch(dev, 2 * batch * channels * sizeof(double));
    double *sum_dy_xc = sum_dy + batch * channels;
    for (size_t n = 0; n < batch; n++)
        for (size_t g = 0; g < groups; g++) {
            size_t ng = n * groups + g;
            float mean_f = save_mean[ng];
            double rstd = (double)save_rstd[ng];
            double a_sum = 0.0, b_sum = 0.0; /* sum g dout, sum g dout (x - mean) */
            for (size_t k = 0; k < cg; k++) {
                size_t c = g * cg + k, row = n * channels + c;
                gb_vsum_dot_dev_f64(dout + row * spatial, inp + row * spatial, spatial,
                                    (double)mean_f, &sum_dy[row], &sum_dy_xc[row]);
                double gc = gamma ? (double)gamma[c] : 1.0;
                a_sum += gc * sum_dy[row];
                b_sum += gc * sum_dy_xc[row];
            }
            if (!dinp) continue;
            /* dinp = gamma rstd dout + k1 (x - mean) + k0 */
            float k1 = (float)(-rstd * rstd * rstd * b_sum / (double)span);
            float k0 = (float)(-rstd * a_sum / (double)span);
            for (size_t k = 0; k < cg; k++) {
                size_t c = g * cg + k, off = (n * channels + c) * spatial;
                float kc = (float)((gamma ? (double)gamma[c] : 1.0) * rstd);
                const float *x = inp + off, *dy = dout + off;
                float *dx = dinp + off;
                for (size_t s = 0; s < spatial; s++) dx[s] = dy[s] * kc + ((x[s] - mean_f) * k1 + k0);
            }
        }
    if (!dgamma && !dbeta) return;
    for (size_t c = 0; c < channels; c++) {
        double dg = 0.0, db = 0.0;
        for (size_t n = 0; n < batch; n++) {
            size_t row = n * channels + c;
            dg += sum_dy_xc[row] * (double)save_rstd[n * groups + c / cg];
            db += sum_dy[row];
        }
        if (dgamma) dgamma[c] += (float)dg;
        if (dbeta) dbeta[c] += (float)db;
    }
}
