/* kernels/cuda/batchnorm.cu - BatchNorm2d (CUDA): training and eval mode, forward and backward.
 *
 * Semantics, NULL conventions and the gradient contract of kernels/cpu/batchnorm.c (dinp
 * OVERWRITES, dgamma/dbeta ACCUMULATE; gamma/beta NULL mean 1/0; save and running buffers
 * may be NULL). The CPU reduces each (sample, channel) row in vmath.h's lane order and adds
 * the rows of a channel sample by sample; here gb_rows_lanes (reduce.cuh) forms the same row
 * sums on 8 threads per row, and one thread per channel adds them in sample order, so the
 * double statistics are the CPU's bits. The per-channel doubles (rstd, running updates,
 * coefficients) and the per-element float work are the CPU's expressions in its order with
 * _rn intrinsics: every output is the CPU backend's bits.
 * Launches: row sums, per-channel finish, (row sums, finish,) then the elementwise pass; all
 * sums precede the writes, so out == inp and dinp == dout work. Scratch (gb_dev_scratch):
 * batch*channels*2 + channels doubles and 3*channels floats.
 * Tested by tests/test_kernels_cuda_ops.c (bitwise against the CPU backend).
 */
#include "kernels/cuda/reduce.cuh"

/* scratch: rows_a, rows_b [batch*channels] and mean [channels] doubles, then the float
 * coefficients kc, k1, k0 [channels] (forward: mean_f, a, b) */
struct bn_work {
    double *rows_a, *rows_b, *mean;
    float *kc, *k1, *k0;
};

static bn_work bn_scratch(gb_device *dev, size_t batch, size_t channels) {
    const size_t rows = batch * channels;
    char *p = static_cast<char *>(
        gb_dev_scratch(dev, (2 * rows + channels) * sizeof(double) + 3 * channels * sizeof(float)));
    bn_work w;
    w.rows_a = reinterpret_cast<double *>(p);
    w.rows_b = w.rows_a + rows;
    w.mean = w.rows_b + rows;
    w.kc = reinterpret_cast<float *>(w.mean + channels);
    w.k1 = w.kc + channels;
    w.k0 = w.k1 + channels;
    return w;
}

/* sum over samples of rows[n*channels + c], in sample order */
__device__ __forceinline__ double bn_channel_total(const double *rows, size_t batch, size_t channels,
                                                   size_t c) {
    double s = 0.0;
    for (size_t n = 0; n < batch; n++) s = gb_dadd(s, rows[n * channels + c]);
    return s;
}

__global__ void bn_mean_kernel(double *mean, const double *rows, size_t batch, size_t channels,
                               double count) {
    GB_CUDA_FOR(c, channels) mean[c] = gb_ddiv(bn_channel_total(rows, batch, channels, c), count);
}

__global__ void bn_train_finish_kernel(bn_work w, float *save_mean, float *save_rstd,
                                       float *running_mean, float *running_var, const float *gamma,
                                       const float *beta, size_t batch, size_t channels,
                                       size_t count, double eps, double m) {
    GB_CUDA_FOR(c, channels) {
        const double mean = w.mean[c];
        const double s2 = bn_channel_total(w.rows_b, batch, channels, c);
        const double rstd = gb_ddiv(1.0, gb_dsqrt(gb_dadd(gb_ddiv(s2, (double)count), eps)));
        if (save_mean) save_mean[c] = (float)mean;
        if (save_rstd) save_rstd[c] = (float)rstd;
        const double one_m = gb_dsub(1.0, m);
        if (running_mean)
            running_mean[c] = (float)gb_dadd(gb_dmul(m, mean), gb_dmul(one_m, (double)running_mean[c]));
        if (running_var)
            running_var[c] = (float)gb_dadd(gb_dmul(m, gb_ddiv(s2, (double)(count - 1))),
                                            gb_dmul(one_m, (double)running_var[c]));
        w.kc[c] = (float)mean;
        w.k1[c] = (float)gb_dmul(gamma ? (double)gamma[c] : 1.0, rstd);
        w.k0[c] = beta ? beta[c] : 0.0f;
    }
}

/* out = (x - mean[c]) * a[c] + b[c] */
__global__ void bn_affine_kernel(float *out, const float *inp, const float *mean, const float *a,
                                 const float *b, size_t n, size_t channels, size_t spatial) {
    GB_CUDA_FOR(i, n) {
        const size_t c = (i / spatial) % channels;
        out[i] = gb_fadd(gb_fmul(gb_fsub(inp[i], mean[c]), a[c]), b[c]);
    }
}

__global__ void bn_train_grad_finish_kernel(bn_work w, float *dgamma, float *dbeta,
                                            const float *gamma, const float *save_rstd,
                                            size_t batch, size_t channels, double count) {
    GB_CUDA_FOR(c, channels) {
        const double rstd = (double)save_rstd[c];
        const double sdy = bn_channel_total(w.rows_a, batch, channels, c);
        const double sdyx = bn_channel_total(w.rows_b, batch, channels, c);
        if (dgamma) dgamma[c] = gb_fadd(dgamma[c], (float)gb_dmul(sdyx, rstd));
        if (dbeta) dbeta[c] = gb_fadd(dbeta[c], (float)sdy);
        const double k = gb_dmul(gamma ? (double)gamma[c] : 1.0, rstd);
        w.kc[c] = (float)k;
        w.k1[c] = (float)gb_ddiv(gb_dmul(gb_dmul(gb_dmul(-k, rstd), rstd), sdyx), count);
        w.k0[c] = (float)gb_ddiv(gb_dmul(-k, sdy), count);
    }
}

/* dinp = dout * kc + ((x - mean) * k1 + k0) */
__global__ void bn_train_dinp_kernel(float *dinp, const float *dout, const float *inp,
                                     const float *save_mean, bn_work w, size_t n, size_t channels,
                                     size_t spatial) {
    GB_CUDA_FOR(i, n) {
        const size_t c = (i / spatial) % channels;
        dinp[i] = gb_fadd(gb_fmul(dout[i], w.kc[c]),
                          gb_fadd(gb_fmul(gb_fsub(inp[i], save_mean[c]), w.k1[c]), w.k0[c]));
    }
}

__device__ __forceinline__ double bn_eval_rstd(const float *running_var, size_t c, double eps) {
    return gb_ddiv(1.0, gb_dsqrt(gb_dadd((double)running_var[c], eps)));
}

__global__ void bn_eval_coef_kernel(bn_work w, const float *gamma, const float *beta,
                                    const float *running_var, size_t channels, double eps) {
    GB_CUDA_FOR(c, channels) {
        const double rstd = bn_eval_rstd(running_var, c, eps);
        w.k1[c] = (float)gb_dmul(gamma ? (double)gamma[c] : 1.0, rstd);
        w.k0[c] = beta ? beta[c] : 0.0f;
    }
}

__global__ void bn_eval_grad_finish_kernel(bn_work w, float *dgamma, float *dbeta,
                                           const float *gamma, const float *running_var,
                                           size_t batch, size_t channels, double eps) {
    GB_CUDA_FOR(c, channels) {
        const double rstd = bn_eval_rstd(running_var, c, eps);
        if (dgamma)
            dgamma[c] = gb_fadd(dgamma[c], (float)gb_dmul(bn_channel_total(w.rows_b, batch, channels, c), rstd));
        if (dbeta) dbeta[c] = gb_fadd(dbeta[c], (float)bn_channel_total(w.rows_a, batch, channels, c));
        w.kc[c] = (float)gb_dmul(gamma ? (double)gamma[c] : 1.0, rstd);
    }
}

__global__ void bn_scale_kernel(float *dinp, const float *dout, const float *k, size_t n,
                                size_t channels, size_t spatial) {
    GB_CUDA_FOR(i, n) dinp[i] = gb_fmul(dout[i], k[(i / spatial) % channels]);
}

extern "C" void gb_batchnorm_forward_train_cuda(gb_device *dev, float *out, float *save_mean,
                                                float *save_rstd, float *running_mean,
                                                float *running_var, const float *inp,
                                                const float *gamma, const float *beta,
                                                const gb_norm_shape *shape, float momentum) {
    const size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    const size_t spatial = (size_t)shape->spatial, count = batch * spatial;
    GB_ASSERT(count > 1, "batchnorm_forward_train: %zu value per channel (batch %zu x spatial %zu); "
              "training needs more than 1, as in PyTorch", count, batch, spatial);
    if (channels == 0) return;
    const size_t rows = batch * channels, n = rows * spatial;
    bn_work w = bn_scratch(dev, batch, channels);
    const unsigned cgrid = gb_cuda_grid(channels);
    gb_rows_lanes<GB_ROWS_SUM, double>(dev, w.rows_a, nullptr, inp, nullptr, nullptr, 1, 1, rows,
                                       spatial);
    bn_mean_kernel<<<cgrid, GB_CUDA_BLOCK>>>(w.mean, w.rows_a, batch, channels, (double)count);
    GB_LAUNCH_CHECK(dev, "bn_mean_kernel");
    gb_rows_lanes<GB_ROWS_SUMSQ_DEV, double>(dev, w.rows_b, nullptr, inp, nullptr, w.mean, 1,
                                             channels, rows, spatial);
    bn_train_finish_kernel<<<cgrid, GB_CUDA_BLOCK>>>(w, save_mean, save_rstd, running_mean,
                                                     running_var, gamma, beta, batch, channels,
                                                     count, (double)shape->eps, (double)momentum);
    GB_LAUNCH_CHECK(dev, "bn_train_finish_kernel");
    bn_affine_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(out, inp, w.kc, w.k1, w.k0, n, channels,
                                                         spatial);
    GB_LAUNCH_CHECK(dev, "bn_affine_kernel");
}

extern "C" void gb_batchnorm_backward_train_cuda(gb_device *dev, float *dinp, float *dgamma,
                                                 float *dbeta, const float *dout, const float *inp,
                                                 const float *gamma, const float *save_mean,
                                                 const float *save_rstd, const gb_norm_shape *shape) {
    const size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    const size_t spatial = (size_t)shape->spatial;
    if (channels == 0) return;
    const size_t rows = batch * channels, n = rows * spatial;
    bn_work w = bn_scratch(dev, batch, channels);
    gb_rows_lanes<GB_ROWS_SUM_DOT_DEV, float>(dev, w.rows_a, w.rows_b, dout, inp, save_mean, 1,
                                              channels, rows, spatial);
    bn_train_grad_finish_kernel<<<gb_cuda_grid(channels), GB_CUDA_BLOCK>>>(
        w, dgamma, dbeta, gamma, save_rstd, batch, channels, (double)(batch * spatial));
    GB_LAUNCH_CHECK(dev, "bn_train_grad_finish_kernel");
    if (!dinp || n == 0) return;
    bn_train_dinp_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dinp, dout, inp, save_mean, w, n,
                                                             channels, spatial);
    GB_LAUNCH_CHECK(dev, "bn_train_dinp_kernel");
}

extern "C" void gb_batchnorm_forward_eval_cuda(gb_device *dev, float *out, const float *inp,
                                               const float *gamma, const float *beta,
                                               const float *running_mean, const float *running_var,
                                               const gb_norm_shape *shape) {
    const size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    const size_t spatial = (size_t)shape->spatial, n = batch * channels * spatial;
    if (channels == 0) return;
    bn_work w = bn_scratch(dev, batch, channels);
    bn_eval_coef_kernel<<<gb_cuda_grid(channels), GB_CUDA_BLOCK>>>(w, gamma, beta, running_var,
                                                                   channels, (double)shape->eps);
    GB_LAUNCH_CHECK(dev, "bn_eval_coef_kernel");
    if (n == 0) return;
    bn_affine_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(out, inp, running_mean, w.k1, w.k0, n,
                                                         channels, spatial);
    GB_LAUNCH_CHECK(dev, "bn_affine_kernel");
}

extern "C" void gb_batchnorm_backward_eval_cuda(gb_device *dev, float *dinp, float *dgamma,
                                                float *dbeta, const float *dout, const float *inp,
                                                const float *gamma, const float *running_mean,
                                                const float *running_var,
                                                const gb_norm_shape *shape) {
    const size_t batch = (size_t)shape->batch, channels = (size_t)shape->channels;
    const size_t spatial = (size_t)shape->spatial;
    if (channels == 0) return;
    const size_t rows = batch * channels, n = rows * spatial;
    bn_work w = bn_scratch(dev, batch, channels);
    if (dgamma || dbeta)
        gb_rows_lanes<GB_ROWS_SUM_DOT_DEV, float>(dev, w.rows_a, w.rows_b, dout, inp, running_mean,
                                                  1, channels, rows, spatial);
    bn_eval_grad_finish_kernel<<<gb_cuda_grid(channels), GB_CUDA_BLOCK>>>(
        w, dgamma, dbeta, gamma, running_var, batch, channels, (double)shape->eps);
    GB_LAUNCH_CHECK(dev, "bn_eval_grad_finish_kernel");
    if (!dinp || n == 0) return;
    bn_scale_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dinp, dout, w.kc, n, channels, spatial);
    GB_LAUNCH_CHECK(dev, "bn_scale_kernel");
}
