/* kernels/cpu/softmax.c - softmax, log_softmax, logsumexp over the last axis of a
 * [rows, cols] matrix, and the full sum, forward and backward (CPU).
 *
 *   softmax:     out = exp(x - m) / sum exp(x - m),     m = max of the row
 *                backward dinp = out * (dout - <dout, out>)
 *   log_softmax: out = x - m - log sum exp(x - m)
 *                backward dinp = dout - exp(out) * sum(dout)
 *   logsumexp:   out[r] = m + log sum exp(x - m), with m replaced by 0 when it is
 *                infinite (PyTorch's rule: an all -inf row gives -inf, a +inf gives
 *                +inf instead of NaN); backward dinp = dout[r] * exp(x - out[r])
 *   sum:         out[0] = scale * sum(inp); backward dinp = scale * dout[0]
 *
 * Numerics: the max subtraction keeps every exponential <= 1 (no overflow); the
 * exponentials, the row sums and dot products and every elementwise formula are
 * evaluated in double, in ascending column order, and rounded to float once
 * (softmax: twice, see below), so the results are deterministic and within 1-2
 * ulp of the exact value (PyTorch's float kernels are within a few ulp of it). Forward outputs may alias their
 * input (each element is read before it is written); backward outputs may alias
 * dout. Every backward overwrites dinp.
 *
 * Tested by tests/test_kernels_pool.c: float64 transcriptions with central finite
 * differences, large-magnitude rows (stability), PyTorch forward and autograd
 * fixtures from tests/peers/kernels_pool.py.
 */
#include "kernels/cpu/cpu.h"

#include <math.h>

/* The max of a row, skipping NaN (a NaN then poisons the sum and every output,
 * as in PyTorch). -inf for an empty or all -inf row. */
static double row_max(const float *x, size_t n) {
    double m = -INFINITY;
    for (size_t j = 0; j < n; j++)
        if ((double)x[j] > m) m = (double)x[j];
    return m;
}

static double row_sum_exp(const float *x, size_t n, double m) {
    double s = 0.0;
    for (size_t j = 0; j < n; j++) s += exp((double)x[j] - m);
    return s;
}

/* One exponential per element (libm's double exp dominates the cost): each is
 * parked in the output as float while the double sum runs, then divided by the
 * sum; two roundings in all. */
void gb_softmax_forward_cpu(gb_device *dev, float *out, const float *inp, size_t rows, size_t cols) {
    (void)dev;
    for (size_t r = 0; r < rows; r++) {
        const float *x = inp + r * cols;
        float *y = out + r * cols;
        const double m = row_max(x, cols);
        double s = 0.0;
        for (size_t j = 0; j < cols; j++) {
            const double e = exp((double)x[j] - m);
            s += e;
            y[j] = (float)e;
        }
        for (size_t j = 0; j < cols; j++) y[j] = (float)((double)y[j] / s);
    }
}

void gb_softmax_backward_cpu(gb_device *dev, float *dinp, const float *dout, const float *out,
                             size_t rows, size_t cols) {
    (void)dev;
    for (size_t r = 0; r < rows; r++) {
        const float *g = dout + r * cols, *y = out + r * cols;
        float *d = dinp + r * cols;
        double dot = 0.0;
        for (size_t j = 0; j < cols; j++) dot += (double)g[j] * (double)y[j];
        for (size_t j = 0; j < cols; j++) d[j] = (float)((double)y[j] * ((double)g[j] - dot));
    }
}

void gb_log_softmax_forward_cpu(gb_device *dev, float *out, const float *inp, size_t rows,
                                size_t cols) {
    (void)dev;
    for (size_t r = 0; r < rows; r++) {
        const float *x = inp + r * cols;
        float *y = out + r * cols;
        const double m = row_max(x, cols);
        const double lse = log(row_sum_exp(x, cols, m));
        for (size_t j = 0; j < cols; j++) y[j] = (float)(((double)x[j] - m) - lse);
    }
}

void gb_log_softmax_backward_cpu(gb_device *dev, float *dinp, const float *dout, const float *out,
                                 size_t rows, size_t cols) {
    (void)dev;
    for (size_t r = 0; r < rows; r++) {
        const float *g = dout + r * cols, *y = out + r * cols;
        float *d = dinp + r * cols;
        double total = 0.0;
        for (size_t j = 0; j < cols; j++) total += (double)g[j];
        for (size_t j = 0; j < cols; j++) d[j] = (float)((double)g[j] - exp((double)y[j]) * total);
    }
}

void gb_logsumexp_forward_cpu(gb_device *dev, float *out, const float *inp, size_t rows,
                              size_t cols) {
    (void)dev;
    for (size_t r = 0; r < rows; r++) {
        const float *x = inp + r * cols;
        double m = row_max(x, cols);
        if (isinf(m)) m = 0.0;
        out[r] = (float)(m + log(row_sum_exp(x, cols, m)));
    }
}

void gb_logsumexp_backward_cpu(gb_device *dev, float *dinp, const float *dout, const float *inp,
                               const float *out, size_t rows, size_t cols) {
    (void)dev;
    for (size_t r = 0; r < rows; r++) {
        const float *x = inp + r * cols;
        float *d = dinp + r * cols;
        const double g = (double)dout[r], lse = (double)out[r];
        for (size_t j = 0; j < cols; j++) d[j] = (float)(g * exp((double)x[j] - lse));
    }
}

void gb_sum_forward_cpu(gb_device *dev, float *out, const float *inp, size_t n, float scale) {
    (void)dev;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) acc += (double)inp[i];
    out[0] = (float)((double)scale * acc);
}

void gb_sum_backward_cpu(gb_device *dev, float *dinp, const float *dout, size_t n, float scale) {
    (void)dev;
    const float g = scale * dout[0];
    for (size_t i = 0; i < n; i++) dinp[i] = g;
}
