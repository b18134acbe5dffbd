/* kernels/cpu/losses.c - the training losses and the VAE's reparameterisation (CPU).
 *
 *   bce_with_logits   F.binary_cross_entropy_with_logits, mean, times weight
 *   sq_error          sum (pred - t)^2 / divisor (MSE, per-sample sum, LSGAN's 1/2 E[.])
 *   cross_entropy     F.cross_entropy, mean over rows, times weight
 *   gaussian_kl       KL(N(mu, std^2) || N(0, 1)), summed over latents, mean over rows
 *                     (specs/pipelines.md 4.5), times weight
 *   reparameterize    z = mu + exp(log_std) * eps and its (accumulating) backward
 *
 * Numerics. Each element's term and gradient is evaluated in double from the
 * float inputs and rounded to float once, so every output float is within about
 * one rounding of the exact value; the stable forms (log1p(exp(-|x|)), expm1,
 * the max-shifted logsumexp) keep that true for extreme inputs (|logit| > 50,
 * log_std near 0). The reduction is a double sum in ascending index order: one
 * fixed order, so the loss is deterministic and independent of thread count.
 * PyTorch computes the same formulas in float32; the test bounds the
 * difference (tests/tolerances.md). The loss is one float in backend memory,
 * which is plain memory here; it may not alias any input.
 *
 * Gradient contract (kernels/kernels.h): every loss gradient overwrites its
 * input gradient (NULL: skip); reparameterize_backward ACCUMULATES, because mu
 * and log_std fan out to the KL term whose gradient gaussian_kl wrote first.
 * Tested by tests/test_kernels_loss.c (float64 transcriptions, central finite
 * differences, PyTorch fixtures from tests/peers/kernels_loss.py).
 */
#include "kernels/cpu/cpu.h"

#include <math.h>

/* A NULL target means every target is target_value (a GAN's all-ones labels). */
static inline double target_at(const float *target, float target_value, size_t i) {
    return target ? (double)target[i] : (double)target_value;
}

/* Logistic sigmoid in double without overflow for any float input. */
static inline double sigmoid64(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

void gb_bce_with_logits_cpu(gb_device *dev, float *loss, float *dlogits, const float *logits,
                            const float *target, float target_value, size_t n, float weight) {
    (void)dev;
    GB_ASSERT(n > 0, "bce_with_logits needs at least one logit");
    const double scale = (double)weight / (double)n;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double x = logits[i], t = target_at(target, target_value, i);
        /* max(x,0) - x t + log1p(exp(-|x|)): never exponentiates a positive number */
        acc += fmax(x, 0.0) - x * t + log1p(exp(-fabs(x)));
        if (dlogits) dlogits[i] = (float)(scale * (sigmoid64(x) - t));
    }
    loss[0] = (float)(acc * scale);
}

void gb_sq_error_cpu(gb_device *dev, float *loss, float *dpred, const float *pred,
                     const float *target, float target_value, size_t n, double divisor) {
    (void)dev;
    GB_ASSERT(n > 0, "sq_error needs at least one element");
    GB_ASSERT(divisor > 0, "sq_error divisor must be positive (got %g)", divisor);
    const double g = 2.0 / divisor;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        /* the difference of two floats is exact in double except across
         * extreme exponent gaps, so d is (nearly always) the true difference */
        const double d = (double)pred[i] - target_at(target, target_value, i);
        acc += d * d;
        if (dpred) dpred[i] = (float)(g * d);
    }
    loss[0] = (float)(acc / divisor);
}

void gb_cross_entropy_cpu(gb_device *dev, float *loss, float *dlogits, const float *logits,
                          const int32_t *labels, size_t rows, size_t classes, float weight) {
    (void)dev;
    GB_ASSERT(rows > 0 && classes > 0, "cross_entropy needs rows and classes (got %zu x %zu)",
              rows, classes);
    const double scale = (double)weight / (double)rows;
    double acc = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const float *x = logits + r * classes;
        const int32_t label = labels[r];
        GB_ASSERT(label >= 0 && (size_t)label < classes,
                  "cross_entropy: label %d of row %zu is outside [0, %zu)", (int)label, r, classes);
        double mx = x[0];
        for (size_t j = 1; j < classes; j++) mx = fmax(mx, (double)x[j]);
        double sum = 0.0;
        for (size_t j = 0; j < classes; j++) sum += exp((double)x[j] - mx);
        const double lse = mx + log(sum);
        acc += lse - (double)x[label];
        if (dlogits) {
            float *d = dlogits + r * classes;
            for (size_t j = 0; j < classes; j++) {
                double p = exp((double)x[j] - lse);
                d[j] = (float)(scale * (p - ((size_t)label == j ? 1.0 : 0.0)));
            }
        }
    }
    loss[0] = (float)(acc * scale);
}

void gb_gaussian_kl_cpu(gb_device *dev, float *loss, float *dmu, float *dlog_std, const float *mu,
                        const float *log_std, size_t rows, size_t cols, float weight) {
    (void)dev;
    GB_ASSERT(rows > 0, "gaussian_kl needs at least one row");
    const double scale = (double)weight / (double)rows;
    const size_t n = rows * cols;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double m = mu[i], ls = log_std[i];
        acc += -ls - 0.5 + (exp(2.0 * ls) + m * m) / 2.0;
        if (dmu) dmu[i] = (float)(scale * m);
        /* d/dls = exp(2 ls) - 1: expm1 keeps it exact near ls = 0 */
        if (dlog_std) dlog_std[i] = (float)(scale * expm1(2.0 * ls));
    }
    loss[0] = (float)(acc * scale);
}

void gb_reparameterize_forward_cpu(gb_device *dev, float *z, const float *mu, const float *log_std,
                                   const float *eps, size_t n) {
    (void)dev;
    for (size_t i = 0; i < n; i++)
        z[i] = (float)((double)mu[i] + exp((double)log_std[i]) * (double)eps[i]);
}

void gb_reparameterize_backward_cpu(gb_device *dev, float *dmu, float *dlog_std, const float *dz,
                                    const float *log_std, const float *eps, size_t n) {
    (void)dev;
    for (size_t i = 0; i < n; i++) {
        if (dmu) dmu[i] = dmu[i] + dz[i];
        if (dlog_std)
            dlog_std[i] = (float)((double)dlog_std[i] +
                                  (double)dz[i] * exp((double)log_std[i]) * (double)eps[i]);
    }
}
