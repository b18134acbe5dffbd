/* kernels/cuda/losses.cu - the training losses and the VAE's reparameterisation (CUDA).
 *
 * Formulas of kernels/cpu/losses.c: each element's term and gradient in double from the
 * float inputs, in the CPU's operation order (_rn intrinsics, no FMA), rounded to float
 * once; the loss is one float in device memory, written by the device (no host round trip).
 * Reductions: the CPU adds the terms in ascending order; here gb_grid_sum (reduce.cuh) adds
 * them in a fixed tree (cross_entropy: one warp per row, then a grid sum over the rows), so
 * the loss is deterministic but its double total differs from the CPU's in the last bits.
 * CUDA's double exp/log1p/expm1 (libdevice, 1-2 ulp) are not glibc's either, so outputs
 * match the CPU backend to about one float rounding (tests/tolerances.md).
 * Gradients overwrite (NULL: skip); reparameterize_backward ACCUMULATES, as on the CPU.
 * cross_entropy's label range check is a device assert (a trap that the next CUDA call
 * reports as cudaErrorAssert, at the launch itself with GB_SYNC_DEBUG=1).
 * Tested by tests/test_kernels_cuda_ops.c against the CPU backend.
 */
#include "kernels/cuda/reduce.cuh"

#include <assert.h>

__device__ __forceinline__ double target_at(const float *target, float target_value, size_t i) {
    return target ? (double)target[i] : (double)target_value;
}

__device__ __forceinline__ double sigmoid64(double x) {
    if (x >= 0) return gb_ddiv(1.0, gb_dadd(1.0, exp(-x)));
    const double e = exp(x);
    return gb_ddiv(e, gb_dadd(1.0, e));
}

/* loss[0] = float(total * scale) */
struct loss_times {
    float *loss;
    double scale;
    __device__ void operator()(double total) const { loss[0] = (float)gb_dmul(total, scale); }
};

/* loss[0] = float(total / divisor) */
struct loss_over {
    float *loss;
    double divisor;
    __device__ void operator()(double total) const { loss[0] = (float)gb_ddiv(total, divisor); }
};

struct bce_term {
    float *dlogits;
    const float *logits, *target;
    float target_value;
    double scale;
    __device__ double operator()(size_t i) const {
        const double x = logits[i], t = target_at(target, target_value, i);
        if (dlogits) dlogits[i] = (float)gb_dmul(scale, gb_dsub(sigmoid64(x), t));
        return gb_dadd(gb_dsub(fmax(x, 0.0), gb_dmul(x, t)), log1p(exp(-fabs(x))));
    }
};

struct sq_term {
    float *dpred;
    const float *pred, *target;
    float target_value;
    double g;
    __device__ double operator()(size_t i) const {
        const double d = gb_dsub((double)pred[i], target_at(target, target_value, i));
        if (dpred) dpred[i] = (float)gb_dmul(g, d);
        return gb_dmul(d, d);
    }
};

struct kl_term {
    float *dmu, *dlog_std;
    const float *mu, *log_std;
    double scale;
    __device__ double operator()(size_t i) const {
        const double m = mu[i], ls = log_std[i];
        if (dmu) dmu[i] = (float)gb_dmul(scale, m);
        if (dlog_std) dlog_std[i] = (float)gb_dmul(scale, expm1(gb_dmul(2.0, ls)));
        return gb_dadd(gb_dsub(-ls, 0.5), gb_ddiv(gb_dadd(exp(gb_dmul(2.0, ls)), gb_dmul(m, m)), 2.0));
    }
};

struct row_term {
    const double *rows;
    __device__ double operator()(size_t i) const { return rows[i]; }
};

enum { CE_WARPS = GB_CUDA_BLOCK / 32 };

/* One warp per row: row_loss[r] = lse - x[label]; dlogits = scale * (softmax - onehot). */
__global__ void cross_entropy_rows_kernel(double *row_loss, float *dlogits, const float *logits,
                                          const int32_t *labels, size_t rows, size_t classes,
                                          double scale) {
    const size_t r = blockIdx.x * (size_t)CE_WARPS + threadIdx.x / 32;
    const unsigned lane = threadIdx.x % 32;
    if (r >= rows) return;
    const float *x = logits + r * classes;
    const int32_t label = labels[r];
    assert(label >= 0 && (size_t)label < classes && "cross_entropy: label outside [0, classes)");
    /* fmax ignores NaN like the CPU's running fmax from x[0]; NaN is fmax's identity */
    double mx = NAN;
    for (size_t j = lane; j < classes; j += 32) mx = fmax(mx, (double)x[j]);
    for (int off = 16; off > 0; off /= 2) mx = fmax(mx, __shfl_xor_sync(0xffffffffu, mx, off));
    double sum = 0.0;
    for (size_t j = lane; j < classes; j += 32) sum = gb_dadd(sum, exp(gb_dsub((double)x[j], mx)));
    sum = gb_warp_sum(sum);
    const double lse = gb_dadd(mx, log(sum));
    if (lane == 0) row_loss[r] = gb_dsub(lse, (double)x[label]);
    if (!dlogits) return;
    float *d = dlogits + r * classes;
    for (size_t j = lane; j < classes; j += 32) {
        const double p = exp(gb_dsub((double)x[j], lse));
        d[j] = (float)gb_dmul(scale, gb_dsub(p, (size_t)label == j ? 1.0 : 0.0));
    }
}

__global__ void reparameterize_forward_kernel(float *z, const float *mu, const float *log_std,
                                              const float *eps, size_t n) {
    GB_CUDA_FOR(i, n)
    z[i] = (float)gb_dadd((double)mu[i], gb_dmul(exp((double)log_std[i]), (double)eps[i]));
}

__global__ void reparameterize_backward_kernel(float *dmu, float *dlog_std, const float *dz,
                                               const float *log_std, const float *eps, size_t n) {
    GB_CUDA_FOR(i, n) {
        if (dmu) dmu[i] = gb_fadd(dmu[i], dz[i]);
        if (dlog_std)
            dlog_std[i] = (float)gb_dadd((double)dlog_std[i],
                                         gb_dmul(gb_dmul((double)dz[i], exp((double)log_std[i])),
                                                 (double)eps[i]));
    }
}

static double *partials(gb_device *dev, size_t extra_doubles) {
    return static_cast<double *>(gb_dev_scratch(dev, (GB_RED_BLOCKS + extra_doubles) * sizeof(double)));
}

extern "C" void gb_bce_with_logits_cuda(gb_device *dev, float *loss, float *dlogits,
                                        const float *logits, const float *target, float target_value,
                                        size_t n, float weight) {
    GB_ASSERT(n > 0, "bce_with_logits needs at least one logit");
    const double scale = (double)weight / (double)n;
    gb_grid_sum(dev, partials(dev, 0), n, bce_term{dlogits, logits, target, target_value, scale},
                loss_times{loss, scale});
}

extern "C" void gb_sq_error_cuda(gb_device *dev, float *loss, float *dpred, const float *pred,
                                 const float *target, float target_value, size_t n, double divisor) {
    GB_ASSERT(n > 0, "sq_error needs at least one element");
    GB_ASSERT(divisor > 0, "sq_error divisor must be positive (got %g)", divisor);
    gb_grid_sum(dev, partials(dev, 0), n, sq_term{dpred, pred, target, target_value, 2.0 / divisor},
                loss_over{loss, divisor});
}

extern "C" void gb_cross_entropy_cuda(gb_device *dev, float *loss, float *dlogits,
                                      const float *logits, const int32_t *labels, size_t rows,
                                      size_t classes, float weight) {
    GB_ASSERT(rows > 0 && classes > 0, "cross_entropy needs rows and classes (got %zu x %zu)",
              rows, classes);
    const double scale = (double)weight / (double)rows;
    double *part = partials(dev, rows), *row_loss = part + GB_RED_BLOCKS;
    cross_entropy_rows_kernel<<<(unsigned)((rows + CE_WARPS - 1) / CE_WARPS), GB_CUDA_BLOCK>>>(
        row_loss, dlogits, logits, labels, rows, classes, scale);
    GB_LAUNCH_CHECK(dev, "cross_entropy_rows_kernel");
    gb_grid_sum(dev, part, rows, row_term{row_loss}, loss_times{loss, scale});
}

extern "C" void gb_gaussian_kl_cuda(gb_device *dev, float *loss, float *dmu, float *dlog_std,
                                    const float *mu, const float *log_std, size_t rows, size_t cols,
                                    float weight) {
    GB_ASSERT(rows > 0, "gaussian_kl needs at least one row");
    const double scale = (double)weight / (double)rows;
    gb_grid_sum(dev, partials(dev, 0), rows * cols, kl_term{dmu, dlog_std, mu, log_std, scale},
                loss_times{loss, scale});
}

extern "C" void gb_reparameterize_forward_cuda(gb_device *dev, float *z, const float *mu,
                                               const float *log_std, const float *eps, size_t n) {
    if (n == 0) return;
    reparameterize_forward_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(z, mu, log_std, eps, n);
    GB_LAUNCH_CHECK(dev, "reparameterize_forward_kernel");
}

extern "C" void gb_reparameterize_backward_cuda(gb_device *dev, float *dmu, float *dlog_std,
                                                const float *dz, const float *log_std,
                                                const float *eps, size_t n) {
    if (n == 0 || (!dmu && !dlog_std)) return;
    reparameterize_backward_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dmu, dlog_std, dz, log_std,
                                                                       eps, n);
    GB_LAUNCH_CHECK(dev, "reparameterize_backward_kernel");
}
