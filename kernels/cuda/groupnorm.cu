/* kernels/cuda/groupnorm.cu - GroupNorm (CUDA), forward and backward.
 *
 * Semantics, NULL conventions and the gradient contract of kernels/cpu/groupnorm.c (dinp
 * OVERWRITES, dgamma/dbeta ACCUMULATE, gamma/beta NULL mean 1/0; channels must be a multiple
 * of groups). The CPU's reductions are reproduced in its order: each (sample, group) span and
 * each (sample, channel) row is summed by gb_rows_lanes (reduce.cuh, vmath.h's lane order);
 * the per-group combinations over a group's channels and the per-channel sums over the batch
 * are sequential loops in the CPU's order, one thread each. Every double and float
 * expression keeps the CPU's operation order (_rn intrinsics), so every output is the CPU
 * backend's bits. All sums precede the writes (separate launches on one stream), so in-place
 * use works. Scratch (gb_dev_scratch): forward 3 doubles + 1 float per (sample, group);
 * backward 2 doubles per (sample, channel) + 2 floats per (sample, group).
 * Tested by tests/test_kernels_cuda_ops.c (bitwise against the CPU backend).
 */
#include "kernels/cuda/reduce.cuh"

static size_t gn_group_channels(const gb_norm_shape *shape, const char *op) {
    GB_ASSERT(shape->groups > 0 && shape->channels % shape->groups == 0,
              "%s: channels %d is not a multiple of groups %d", op, shape->channels, shape->groups);
    return (size_t)(shape->channels / shape->groups);
}

/* mean[ng] = sum[ng] / span */
__global__ void gn_mean_kernel(double *mean, const double *sum, size_t rows, double span) {
    GB_CUDA_FOR(r, rows) mean[r] = gb_ddiv(sum[r], span);
}

__global__ void gn_stats_kernel(double *rstd, float *mean_f, float *save_mean, float *save_rstd,
                                const double *mean, const double *sq, size_t rows, double span,
                                double eps) {
    GB_CUDA_FOR(r, rows) {
        const double rs = gb_ddiv(1.0, gb_dsqrt(gb_dadd(gb_ddiv(sq[r], span), eps)));
        rstd[r] = rs;
        mean_f[r] = (float)mean[r];
        if (save_mean) save_mean[r] = (float)mean[r];
        if (save_rstd) save_rstd[r] = (float)rs;
    }
}

/* out = (x - mean_f) * a + b with a = float(gamma[c] * rstd), b = beta[c] */
__global__ void gn_affine_kernel(float *out, const float *inp, const float *gamma, const float *beta,
                                 const float *mean_f, const double *rstd, size_t n, size_t channels,
                                 size_t spatial, size_t span) {
    GB_CUDA_FOR(i, n) {
        const size_t ng = i / span, c = (i / spatial) % channels;
        const float a = (float)gb_dmul(gamma ? (double)gamma[c] : 1.0, rstd[ng]);
        const float b = beta ? beta[c] : 0.0f;
        out[i] = gb_fadd(gb_fmul(gb_fsub(inp[i], mean_f[ng]), a), b);
    }
}

/* per (sample, group): k1 = -rstd^3 sum(g dy (x - mean)) / span, k0 = -rstd sum(g dy) / span */
__global__ void gn_coef_kernel(float *k1, float *k0, const double *sum_dy, const double *sum_dy_xc,
                               const float *gamma, const float *save_rstd, size_t rows,
                               size_t groups, size_t cg, double span) {
    GB_CUDA_FOR(ng, rows) {
        const size_t n = ng / groups, g = ng % groups, channels = groups * cg;
        const double rstd = (double)save_rstd[ng];
        double a_sum = 0.0, b_sum = 0.0;
        for (size_t k = 0; k < cg; k++) {
            const size_t c = g * cg + k, row = n * channels + c;
            const double gc = gamma ? (double)gamma[c] : 1.0;
            a_sum = gb_dadd(a_sum, gb_dmul(gc, sum_dy[row]));
            b_sum = gb_dadd(b_sum, gb_dmul(gc, sum_dy_xc[row]));
        }
        k1[ng] = (float)gb_ddiv(gb_dmul(gb_dmul(gb_dmul(-rstd, rstd), rstd), b_sum), span);
        k0[ng] = (float)gb_ddiv(gb_dmul(-rstd, a_sum), span);
    }
}

/* dinp = dout * kc + ((x - mean) * k1 + k0), kc = float(gamma[c] * rstd) */
__global__ void gn_dinp_kernel(float *dinp, const float *dout, const float *inp, const float *gamma,
                               const float *save_mean, const float *save_rstd, const float *k1,
                               const float *k0, size_t n, size_t channels, size_t spatial,
                               size_t span) {
    GB_CUDA_FOR(i, n) {
        const size_t ng = i / span, c = (i / spatial) % channels;
        const float kc = (float)gb_dmul(gamma ? (double)gamma[c] : 1.0, (double)save_rstd[ng]);
        dinp[i] = gb_fadd(gb_fmul(dout[i], kc),
                          gb_fadd(gb_fmul(gb_fsub(inp[i], save_mean[ng]), k1[ng]), k0[ng]));
    }
}

__global__ void gn_param_grad_kernel(float *dgamma, float *dbeta, const double *sum_dy,
                                     const double *sum_dy_xc, const float *save_rstd, size_t batch,
                                     size_t channels, size_t groups, size_t cg) {
    GB_CUDA_FOR(c, channels) {
        double dg = 0.0, db = 0.0;
        for (size_t n = 0; n < batch; n++) {
            const size_t row = n * channels + c;
            dg = gb_dadd(dg, gb_dmul(sum_dy_xc[row], (double)save_rstd[n * groups + c / cg]));
            db = gb_dadd(db, sum_dy[row]);
        }
        if (dgamma) dgamma[c] = gb_fadd(dgamma[c], (float)dg);
        if (dbeta) dbeta[c] = gb_fadd(dbeta[c], (float)db);
    }
}

extern "C" void gb_groupnorm_forward_cuda(gb_device *dev, float *out, float *save_mean,
                                          float *save_rstd, const float *inp, const float *gamma,
                                          const float *beta, const gb_norm_shape *shape) {
    const size_t cg = gn_group_channels(shape, "groupnorm_forward");
    const size_t batch = (size_t)shape->batch, groups = (size_t)shape->groups;
    const size_t channels = (size_t)shape->channels, spatial = (size_t)shape->spatial;
    const size_t span = cg * spatial, rows = batch * groups, n = rows * span;
    if (rows == 0) return;
    char *p = static_cast<char *>(gb_dev_scratch(dev, rows * (3 * sizeof(double) + sizeof(float))));
    double *sum = reinterpret_cast<double *>(p), *mean = sum + rows, *rstd = mean + rows;
    float *mean_f = reinterpret_cast<float *>(rstd + rows);
    const unsigned rgrid = gb_cuda_grid(rows);
    gb_rows_lanes<GB_ROWS_SUM, double>(dev, sum, nullptr, inp, nullptr, nullptr, 1, 1, rows, span);
    gn_mean_kernel<<<rgrid, GB_CUDA_BLOCK>>>(mean, sum, rows, (double)span);
    GB_LAUNCH_CHECK(dev, "gn_mean_kernel");
    /* the squared deviations reuse the sums' space */
    gb_rows_lanes<GB_ROWS_SUMSQ_DEV, double>(dev, sum, nullptr, inp, nullptr, mean, 1, rows, rows,
                                             span);
    gn_stats_kernel<<<rgrid, GB_CUDA_BLOCK>>>(rstd, mean_f, save_mean, save_rstd, mean, sum, rows,
                                              (double)span, (double)shape->eps);
    GB_LAUNCH_CHECK(dev, "gn_stats_kernel");
    if (n == 0) return;
    gn_affine_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(out, inp, gamma, beta, mean_f, rstd, n,
                                                         channels, spatial, span);
    GB_LAUNCH_CHECK(dev, "gn_affine_kernel");
}

extern "C" void gb_groupnorm_backward_cuda(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                                           const float *dout, const float *inp, const float *gamma,
                                           const float *save_mean, const float *save_rstd,
                                           const gb_norm_shape *shape) {
    const size_t cg = gn_group_channels(shape, "groupnorm_backward");
    const size_t batch = (size_t)shape->batch, groups = (size_t)shape->groups;
    const size_t channels = (size_t)shape->channels, spatial = (size_t)shape->spatial;
    const size_t span = cg * spatial, rows = batch * channels, groups_all = batch * groups;
    const size_t n = rows * spatial;
    if (rows == 0) return;
    char *p = static_cast<char *>(
        gb_dev_scratch(dev, 2 * rows * sizeof(double) + 2 * groups_all * sizeof(float)));
    double *sum_dy = reinterpret_cast<double *>(p), *sum_dy_xc = sum_dy + rows;
    float *k1 = reinterpret_cast<float *>(sum_dy_xc + rows), *k0 = k1 + groups_all;
    /* row (n, c) belongs to group n*groups + c/cg = row / cg */
    gb_rows_lanes<GB_ROWS_SUM_DOT_DEV, float>(dev, sum_dy, sum_dy_xc, dout, inp, save_mean, cg,
                                              groups_all, rows, spatial);
    if (dinp && n) {
        gn_coef_kernel<<<gb_cuda_grid(groups_all), GB_CUDA_BLOCK>>>(
            k1, k0, sum_dy, sum_dy_xc, gamma, save_rstd, groups_all, groups, cg, (double)span);
        GB_LAUNCH_CHECK(dev, "gn_coef_kernel");
        gn_dinp_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dinp, dout, inp, gamma, save_mean,
                                                           save_rstd, k1, k0, n, channels, spatial,
                                                           span);
        GB_LAUNCH_CHECK(dev, "gn_dinp_kernel");
    }
    if (!dgamma && !dbeta) return;
    gn_param_grad_kernel<<<gb_cuda_grid(channels), GB_CUDA_BLOCK>>>(
        dgamma, dbeta, sum_dy, sum_dy_xc, save_rstd, batch, channels, groups, cg);
    GB_LAUNCH_CHECK(dev, "gn_param_grad_kernel");
}
