/* kernels/cpu/weight_standardize.c - weight standardisation (the U-Net's WSConv), CPU.
 *
 * For each of out_channels rows of fan_in weights (a conv weight [o, c, kh, kw]
 * is out_channels rows of fan_in = c*kh*kw):
 *   mean = (1/F) sum_i w_i,  var = (1/F) sum_i (w_i - mean)^2   (biased, as
 *   torch.var(unbiased=False)),  rstd = 1/sqrt(var + eps),
 *   out_i = (w_i - mean) * rstd,  save_rstd[o] = rstd.
 * backward (g = dout, y = out; exact with eps, since d rstd/d w_j = -rstd^3 (w_j - mean)/F):
 *   dweight_j += rstd * (g_j - mean(g) - y_j * mean(g*y))     (accumulate: w is a parameter)
 * Statistics and the two backward means are reduced in double (two passes for the
 * variance, so no cancellation), and each output is one rounding of a double expression:
 * results are deterministic and within a few float32 roundings of the exact value.
 *
 * Speed: the sums use vmath.h's 8-lane double reductions (a fixed interleaved order, the
 * same bits for any vector width): one running double sum is a chain of dependent adds, and
 * the forward, with two such chains in series per row, ran at 4.2 GB/s against the
 * backward's 12 (U-Net shapes 64 x 576 to 512 x 6912, 2 threads, noisy shared machine).
 * Rows are cut into gb_parallel_for slices (kernels/cpu/parallel.h); a row belongs to one
 * slice, so the bits do not depend on the thread count. Measured (min ms of the bench's
 * repeats, 2 threads, old and new binaries interleaved, noisy machine): 512 x 4608 forward
 * 4.7-8.1 -> 0.50-0.59 (4.2 -> ~37 GB/s; the weights are cache-resident, so above the copy
 * ceiling), backward 3.5 -> 1.1-2.6 (12 -> ~33 GB/s); 64 x 576 forward 0.070 -> 0.0084.
 * Tested by tests/test_kernels_conv.c (float64 formula, finite differences,
 * PyTorch's formula and autograd, the accumulate contract, 1/2/3 threads bitwise).
 */
#include <math.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vmath.h"

typedef struct {
    float *out, *save_rstd, *dweight;         /* outputs: forward's, backward's */
    const float *weight, *dout, *y, *rstd_in; /* inputs: forward's, backward's */
    int fan_in;
    float eps;
} ws_job;

/* Rows per slice: at least ~16K weights, so tiny layers run inline on one thread. */
static size_t ws_grain(int fan_in) { return (size_t)(16384 / fan_in) + 1; }

GB_VCLONES
static void forward_rows(void *ctx, size_t begin, size_t end, int slice) {
    (void)slice;
    const ws_job *j = ctx;
    const size_t f = (size_t)j->fan_in;
    for (size_t o = begin; o < end; o++) {
        const float *w = j->weight + o * f;
        float *y = j->out + o * f;
        const double mean = gb_vsum_f64(w, f) / (double)f;
        const double rstd = 1.0 / sqrt(gb_vsumsq_dev_f64(w, f, mean) / (double)f + (double)j->eps);
        for (size_t i = 0; i < f; i++) y[i] = (float)(((double)w[i] - mean) * rstd);
        j->save_rstd[o] = (float)rstd;
    }
}

void gb_weight_standardize_forward_cpu(gb_device *dev, float *out, float *save_rstd,
                                       const float *weight, int out_channels, int fan_in, float eps) {
    GB_ASSERT(out_channels >= 0 && fan_in > 0 && eps >= 0.0f,
              "weight_standardize: out_channels %d, fan_in %d, eps %g: need fan_in > 0, eps >= 0",
              out_channels, fan_in, (double)eps);
    ws_job j = {.out = out, .save_rstd = save_rstd, .weight = weight, .fan_in = fan_in, .eps = eps};
    gb_parallel_for(dev, (size_t)out_channels, ws_grain(fan_in), forward_rows, &j);
}

GB_VCLONES
static void backward_rows(void *ctx, size_t begin, size_t end, int slice) {
    (void)slice;
    const ws_job *j = ctx;
    const size_t f = (size_t)j->fan_in;
    for (size_t o = begin; o < end; o++) {
        const float *g = j->dout + o * f;
        const float *y = j->y + o * f;
        float *dw = j->dweight + o * f;
        double sg, sgy; /* sum g, sum g (y - 0) = sum g y */
        gb_vsum_dot_dev_f64(g, y, f, 0.0, &sg, &sgy);
        const double mg = sg / (double)f, mgy = sgy / (double)f, rstd = (double)j->rstd_in[o];
        for (size_t i = 0; i < f; i++)
            dw[i] = (float)((double)dw[i] + rstd * ((double)g[i] - mg - (double)y[i] * mgy));
    }
}

void gb_weight_standardize_backward_cpu(gb_device *dev, float *dweight, const float *dout,
                                        const float *out, const float *save_rstd, int out_channels,
                                        int fan_in) {
    GB_ASSERT(out_channels >= 0 && fan_in > 0,
              "weight_standardize: out_channels %d, fan_in %d: need fan_in > 0", out_channels, fan_in);
    if (!dweight) return;
    ws_job j = {.dweight = dweight, .dout = dout, .y = out, .rstd_in = save_rstd, .fan_in = fan_in};
    gb_parallel_for(dev, (size_t)out_channels, ws_grain(fan_in), backward_rows, &j);
}
