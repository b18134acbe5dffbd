/* kernels/cpu/conv_direct.c - stride-1 conv2d with few output channels (the CMU generator's last
 * layer 128 -> 3, the MNIST generator's 8 -> 1), forward and backward, by direct loops instead of
 * the GEMM lowering (CPU); gb_conv2d_uses_direct has the measured rule.
 *
 * With a handful of output channels the GEMM lowering is a degenerate GEMM: its
 * M x K weight has 3 rows, so the sgemm streams the K x P column matrix (kh*kw copies of the
 * input, 300 MB for the generator's last layer at batch 64) for 6 flops per column entry, and
 * col2im / the weight gradient stream it again. Direct loops read each plane from cache instead:
 * the plane a pass reads (the input, or the output gradient for dinp) is first copied into a
 * zero-bordered buffer, so every tap is one full-window axpy or dot with no edge cases. Summation
 * orders, chosen so each result is within the GEMM path's error bound (tests/tolerances.md
 * "convolution"; the zero border only adds exact zeros):
 *   forward:  out[n,m] = (sum over c, then taps (i, j) ascending, of w * shifted inp) + bias
 *   dinp:     for each tap, t = sum over m of w * shifted dout (m ascending); dinp = sum of t
 *             over taps ascending (as the GEMM path's dcols and its col2im)
 *   dweight:  per sample, a row of per-column partial sums over the window's rows, added across
 *             the row, then summed over samples in double and added to dweight once (+=)
 *   dbias:    gb_conv_bias_grad (the GEMM path's)
 * Work is split over samples (forward, dinp) and input channels (dweight) through
 * gb_parallel_for: each output element is formed by one slice in a fixed order, so the bits do
 * not depend on the thread count. The rounding differs from the GEMM path's only by summation
 * order (an incoherent reordering, not a perturbation of the weights: the 5-step PyTorch parity
 * of tests/test_gan_step.c holds). Measured on the generator's last layer (batch 64, 2 threads,
 * machine under load, same run): forward 27 ms vs 73 ms for the GEMM path, backward-weight
 * 63 vs 213 ms, backward-data 63 vs 70 ms.
 * Tested by tests/test_kernels_conv_direct.c against float64, the GEMM path, the gradient
 * contract and thread-count identity.
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/parallel.h"

/* What the loops handle: stride 1, up to GB_CONV_DIRECT_MAX_OUT outputs and 7x7 kernels. */
static int direct_capable(const gb_conv_shape *s) {
    return s->stride_h == 1 && s->stride_w == 1 && s->out_channels <= GB_CONV_DIRECT_MAX_OUT &&
           s->kernel_h * s->kernel_w <= GB_CONV_DIRECT_MAX_TAPS;
}

/* When the direct loops win (batch 64, 2 threads, quiet machine, ms direct / GEMM path's sgemm
 * alone): 128 -> 3 3x3 at 32x32 forward 27 / 74, backward-weight 63 / 213 (under load);
 * 8 -> 1 at 28x28 0.30 / 0.53. They lose where the planes are tiny or there are few input
 * channels to spread each call over (1 -> 2 at 28x28 0.07 / 0.02, 4 -> 8 at 7x7 0.19 / 0.01)
 * and once M reaches 8 (16 -> 8 at 28x28 4.1 / 2.3). Rule: stride 1, at most 4 outputs, at
 * least 8 inputs, kernels up to 7x7. */
int gb_conv2d_uses_direct(const gb_conv_shape *s) {
    return direct_capable(s) && s->out_channels <= 4 && s->in_channels >= 8;
}

typedef struct {
    const gb_conv_shape *s;
    int oh, ow;
    size_t in_plane, out_plane, taps;
} direct_geom;

static direct_geom geom_of(const gb_conv_shape *s) {
    direct_geom g = {.s = s, .oh = gb_conv_out_h(s), .ow = gb_conv_out_w(s)};
    g.in_plane = (size_t)s->in_height * (size_t)s->in_width;
    g.out_plane = (size_t)g.oh * (size_t)g.ow;
    g.taps = (size_t)s->kernel_h * (size_t)s->kernel_w;
    return g;
}

/* A rectangle of `rows` x `cols`: dst (row stride dst_ld) += w * src (row stride src_ld). One call
 * per tap and channel, so the per-call cost is spread over the whole window (at 32x32, calling
 * per image row cost more than the arithmetic). */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void axpy_window(float *restrict dst, size_t dst_ld, const float *restrict src, size_t src_ld, float w,
                        int rows, int cols) {
    for (int y = 0; y < rows; y++) {
        float *d = dst + (size_t)y * dst_ld;
        const float *s = src + (size_t)y * src_ld;
        for (int x = 0; x < cols; x++) d[x] += w * s[x];
    }
}

/* dst (stride dst_ld) += sum over m < M of w[m] * src_m, where src_m = src + m * src_plane (stride
 * src_ld): per row, the M products are summed first (m ascending) in tmp, then added to dst. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void add_weighted_sum_window(float *restrict dst, size_t dst_ld, const float *restrict src, size_t src_ld,
                                    size_t src_plane, const float *restrict w, int M, float *restrict tmp, int rows,
                                    int cols) {
    for (int y = 0; y < rows; y++) {
        const float *s = src + (size_t)y * src_ld;
        for (int x = 0; x < cols; x++) tmp[x] = w[0] * s[x];
        for (int m = 1; m < M; m++) {
            const float *sm = s + (size_t)m * src_plane;
            for (int x = 0; x < cols; x++) tmp[x] += w[m] * sm[x];
        }
        float *d = dst + (size_t)y * dst_ld;
        for (int x = 0; x < cols; x++) d[x] += tmp[x];
    }
}

/* sum over the rectangle of a * b: per column, the rows in order (acc), then the columns in order. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static float dot_window(const float *restrict a, size_t a_ld, const float *restrict b, size_t b_ld,
                        float *restrict acc, int rows, int cols) {
    for (int x = 0; x < cols; x++) acc[x] = 0.0f;
    for (int y = 0; y < rows; y++) {
        const float *ra = a + (size_t)y * a_ld, *rb = b + (size_t)y * b_ld;
        for (int x = 0; x < cols; x++) acc[x] += ra[x] * rb[x];
    }
    float sum = 0.0f;
    for (int x = 0; x < cols; x++) sum += acc[x];
    return sum;
}

/* ---- forward: one sample per index -------------------------------------------------------- */

typedef struct {
    direct_geom g;
    float *out, *pad; /* pad: per-slice scratch, pad_floats each */
    size_t pad_floats;
    const float *inp, *weight, *bias;
} forward_job;

static void forward_samples(void *ctx, size_t n0, size_t n1, int slice) {
    const forward_job *t = ctx;
    const direct_geom *g = &t->g;
    const gb_conv_shape *s = g->s;
    const int M = s->out_channels, C = s->in_channels, PH = s->in_height + 2 * s->pad_h,
              PW = s->in_width + 2 * s->pad_w;
    float *xp = t->pad + (size_t)slice * t->pad_floats;
    for (size_t n = n0; n < n1; n++) {
        float *o = t->out + n * (size_t)M * g->out_plane;
        memset(o, 0, (size_t)M * g->out_plane * sizeof *o);
        for (int c = 0; c < C; c++) {
            gb_pad_plane(xp, PH, PW, t->inp + (n * (size_t)C + (size_t)c) * g->in_plane, s->in_height, s->in_width,
                      s->pad_h, s->pad_w);
            for (int m = 0; m < M; m++) {
                const float *w = t->weight + ((size_t)m * (size_t)C + (size_t)c) * g->taps;
                for (int i = 0; i < s->kernel_h; i++)
                    for (int j = 0; j < s->kernel_w; j++)
                        axpy_window(o + (size_t)m * g->out_plane, (size_t)g->ow, xp + (size_t)i * (size_t)PW + (size_t)j,
                                    (size_t)PW, w[i * s->kernel_w + j], g->oh, g->ow);
            }
        }
        if (t->bias)
            for (int m = 0; m < M; m++)
                for (size_t e = 0; e < g->out_plane; e++) o[(size_t)m * g->out_plane + e] += t->bias[m];
    }
}

void gb_conv2d_forward_direct_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                                  const float *bias, const gb_conv_shape *s) {
    gb_conv_check_shape(s, 0);
    GB_ASSERT(direct_capable(s), "conv2d direct: stride %dx%d, %d output channels, kernel %dx%d", s->stride_h,
              s->stride_w, s->out_channels, s->kernel_h, s->kernel_w);
    forward_job t = {.g = geom_of(s), .out = out, .inp = inp, .weight = weight, .bias = bias};
    t.pad_floats = (size_t)(s->in_height + 2 * s->pad_h) * (size_t)(s->in_width + 2 * s->pad_w);
    int slices = gb_parallel_slices(dev, (size_t)s->batch, 1);
    t.pad = gb_dev_scratch(dev, (size_t)slices * t.pad_floats * sizeof(float));
    gb_parallel_for(dev, (size_t)s->batch, 1, forward_samples, &t);
}

/* ---- backward: dinp per sample; dweight per input channel ------------------------------------ */

typedef struct {
    direct_geom g;
    float *dinp, *dweight, *pad; /* pad: per-slice scratch, pad_floats each */
    size_t pad_floats;
    const float *dout, *inp, *weight;
} backward_job;

/* dinp[c, y, x] = sum over taps of (sum over m of w[m, c, i, j] dout[m, y - i + pad_h, x - j + pad_w]):
 * dout padded to (in_h + kh - 1) x (in_w + kw - 1) so that every tap reads a full in_h x in_w window. */
static void dinp_samples(void *ctx, size_t n0, size_t n1, int slice) {
    const backward_job *t = ctx;
    const direct_geom *g = &t->g;
    const gb_conv_shape *s = g->s;
    const int C = s->in_channels, M = s->out_channels, H = s->in_height, W = s->in_width;
    const int DH = H + s->kernel_h - 1, DW = W + s->kernel_w - 1;
    const size_t dplane = (size_t)DH * (size_t)DW;
    float *dp = t->pad + (size_t)slice * t->pad_floats, *tmp = dp + (size_t)M * dplane;
    for (size_t n = n0; n < n1; n++) {
        for (int m = 0; m < M; m++)
            gb_pad_plane(dp + (size_t)m * dplane, DH, DW, t->dout + (n * (size_t)M + (size_t)m) * g->out_plane, g->oh,
                      g->ow, s->kernel_h - 1 - s->pad_h, s->kernel_w - 1 - s->pad_w);
        for (int c = 0; c < C; c++) {
            float *dx = t->dinp + (n * (size_t)C + (size_t)c) * g->in_plane;
            memset(dx, 0, g->in_plane * sizeof *dx);
            for (int i = 0; i < s->kernel_h; i++)
                for (int j = 0; j < s->kernel_w; j++) {
                    size_t tap = (size_t)(i * s->kernel_w + j);
                    float w[GB_CONV_DIRECT_MAX_OUT];
                    for (int m = 0; m < M; m++) w[m] = t->weight[((size_t)m * (size_t)C + (size_t)c) * g->taps + tap];
                    add_weighted_sum_window(dx, (size_t)W,
                                            dp + (size_t)(s->kernel_h - 1 - i) * (size_t)DW + (size_t)(s->kernel_w - 1 - j),
                                            (size_t)DW, dplane, w, M, tmp, H, W);
                }
        }
    }
}

static void dweight_channels(void *ctx, size_t c0, size_t c1, int slice) {
    const backward_job *t = ctx;
    const direct_geom *g = &t->g;
    const gb_conv_shape *s = g->s;
    const int C = s->in_channels, M = s->out_channels, PH = s->in_height + 2 * s->pad_h,
              PW = s->in_width + 2 * s->pad_w;
    float *xp = t->pad + (size_t)slice * t->pad_floats, *acc = xp + (size_t)PH * (size_t)PW;
    double sums[GB_CONV_DIRECT_MAX_OUT * GB_CONV_DIRECT_MAX_TAPS];
    for (size_t c = c0; c < c1; c++) {
        for (size_t k = 0; k < (size_t)M * g->taps; k++) sums[k] = 0.0;
        for (int n = 0; n < s->batch; n++) {
            gb_pad_plane(xp, PH, PW, t->inp + ((size_t)n * (size_t)C + c) * g->in_plane, s->in_height, s->in_width,
                      s->pad_h, s->pad_w);
            for (int m = 0; m < M; m++) {
                const float *d = t->dout + ((size_t)n * (size_t)M + (size_t)m) * g->out_plane;
                for (int i = 0; i < s->kernel_h; i++)
                    for (int j = 0; j < s->kernel_w; j++)
                        sums[(size_t)m * g->taps + (size_t)(i * s->kernel_w + j)] +=
                            (double)dot_window(d, (size_t)g->ow, xp + (size_t)i * (size_t)PW + (size_t)j, (size_t)PW,
                                               acc, g->oh, g->ow);
            }
        }
        for (int m = 0; m < M; m++)
            for (size_t tap = 0; tap < g->taps; tap++) {
                float *dw = &t->dweight[((size_t)m * (size_t)C + c) * g->taps + tap];
                *dw = (float)((double)*dw + sums[(size_t)m * g->taps + tap]);
            }
    }
}

void gb_conv2d_backward_direct_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                   const float *dout, const float *inp, const float *weight,
                                   const gb_conv_shape *s) {
    gb_conv_check_shape(s, 0);
    GB_ASSERT(direct_capable(s), "conv2d direct: stride %dx%d, %d output channels, kernel %dx%d", s->stride_h,
              s->stride_w, s->out_channels, s->kernel_h, s->kernel_w);
    const direct_geom g = geom_of(s);
    if (dbias) gb_conv_bias_grad(dev, dbias, dout, s->batch, s->out_channels, g.out_plane);
    if (!dinp && !dweight) return;
    /* per-slice scratch: dinp's M padded dout planes and a row, or dweight's padded input and a row */
    const size_t dpad = (size_t)s->out_channels * (size_t)(s->in_height + s->kernel_h - 1) *
                            (size_t)(s->in_width + s->kernel_w - 1) + (size_t)s->in_width;
    const size_t xpad = (size_t)(s->in_height + 2 * s->pad_h) * (size_t)(s->in_width + 2 * s->pad_w) + (size_t)g.ow;
    backward_job t = {.g = g, .dinp = dinp, .dweight = dweight, .dout = dout, .inp = inp, .weight = weight,
                      .pad_floats = dpad > xpad ? dpad : xpad};
    int slices = gb_parallel_slices(dev, (size_t)s->batch > (size_t)s->in_channels ? (size_t)s->batch : (size_t)s->in_channels, 1);
    t.pad = gb_dev_scratch(dev, (size_t)slices * t.pad_floats * sizeof(float));
    if (dinp) gb_parallel_for(dev, (size_t)s->batch, 1, dinp_samples, &t);
    if (dweight) gb_parallel_for(dev, (size_t)s->in_channels, 1, dweight_channels, &t);
}
