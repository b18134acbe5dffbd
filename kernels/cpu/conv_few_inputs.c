/* kernels/cpu/conv_few_inputs.c - the forward of a stride-1 conv2d with few input channels and
 * many outputs (the critic's RGB layers: 3 -> 128 3x3 at 32x32 and the 1x1 shortcut 3 -> 128 at
 * 16x16) by register-blocked direct loops instead of the GEMM lowering (CPU). The backward is
 * elsewhere; see the note at the end of this file.
 *
 * With 3 input channels the lowered GEMM has K = 3 * kh * kw (27, or 3 for 1x1): every output
 * element costs K multiply-adds but is written, and then read and written again by the bias
 * pass (or the batched path's scatter), so the GEMM path ran at 0.44-0.55 of sgemm on the
 * equivalent GEMM. Here each output is formed once in a register and stored once: for a block of
 * OUT_BLOCK output channels and LANES adjacent positions, every tap loads one vector of the
 * zero-bordered input (kept in L1: 3 x 34 x 34 floats) and multiplies it by OUT_BLOCK broadcast
 * weights.
 *
 * Summation order, per output element: (sum over c, then taps (i, j) ascending, of w * x, each
 * product rounded, then added) + bias, starting from +0: exactly the order of the direct loops of
 * kernels/cpu/conv_direct.c, so the two give the same bits wherever both apply (tested), and the
 * result is within the conv2d bound of tests/tolerances.md "convolution". Work is split over
 * (sample, output block) pairs through gb_parallel_for; each output is formed by one slice in a
 * fixed order, so the bits do not depend on the thread count.
 * Tested by tests/test_kernels_conv_few_inputs.c; measured at gb_conv2d_uses_few_inputs.
 */
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/parallel.h"

enum { OUT_BLOCK = 8, LANES = 16, MAX_INPUTS = 4 };

/* GCC vector extensions: each target clone lowers them to its widest registers (one zmm under
 * avx512f, two ymm under avx2, four xmm by default), with the same per-lane arithmetic. */
typedef float lanes_t __attribute__((vector_size(LANES * sizeof(float))));
typedef float lanes_unaligned_t __attribute__((vector_size(LANES * sizeof(float)), aligned(4), may_alias));

/* When these loops win: ms here / the GEMM path, forward with bias, 2 threads, best of 15
 * alternating runs on the shared development machine (Cooper Lake):
 *   critic 3 -> 128 3x3 p1 at 32x32, b64 ......... 3.9 / 10.9   (sgemm alone on the equivalent
 *                                                                 GEMM: 3.5 in a bench run)
 *   critic shortcut 1x1 3 -> 128 at 16x16, b64 ... 0.25 / 0.83
 *   U-Net stem 3 -> 64 7x7 p3 at 32x32, b16 ...... 1.5 / 3.1
 *   VAE enc.0 3 -> 32 3x3 p1 at 32x32, b64 ....... 0.95 / 1.6
 *   1 -> 64 3x3 p1 at 28x28, b64 ................. 0.69 / 1.6
 *   3 -> 64 3x3 p1 at 64x64, b8 .................. 0.92 / 1.8
 * Rule: stride 1, at most MAX_INPUTS input channels, at least OUT_BLOCK outputs, kernels up to
 * 7x7, and a row of at least LANES outputs (or a 1x1 unpadded kernel, whose positions are read
 * as one row). */
int gb_conv2d_uses_few_inputs(const gb_conv_shape *s) {
    int pointwise = s->kernel_h == 1 && s->kernel_w == 1 && s->pad_h == 0 && s->pad_w == 0;
    int row = pointwise ? gb_conv_out_h(s) * gb_conv_out_w(s) : gb_conv_out_w(s);
    return s->stride_h == 1 && s->stride_w == 1 && s->in_channels <= MAX_INPUTS && s->out_channels >= OUT_BLOCK &&
           s->kernel_h * s->kernel_w <= GB_CONV_DIRECT_MAX_TAPS && row >= LANES;
}

/* Where one sample's input is read from: planes of `ld`-float rows, `plane` floats apart, and
 * the output as `rows` rows of `cols` positions. A 1x1 unpadded conv reads the input in place as
 * a single row of all its positions; any other is copied into zero-bordered planes first, so
 * every tap reads a full rows x cols window with no edge cases. */
typedef struct {
    int rows, cols, pointwise;
    size_t ld, plane;
} window_geom;

static window_geom window_of(const gb_conv_shape *s) {
    window_geom g = {.pointwise = s->kernel_h == 1 && s->kernel_w == 1 && s->pad_h == 0 && s->pad_w == 0};
    if (g.pointwise) {
        g.rows = 1;
        g.cols = s->in_height * s->in_width;
        g.ld = g.plane = (size_t)g.cols;
    } else {
        g.rows = gb_conv_out_h(s);
        g.cols = gb_conv_out_w(s);
        g.ld = (size_t)(s->in_width + 2 * s->pad_w);
        g.plane = (size_t)(s->in_height + 2 * s->pad_h) * g.ld;
    }
    return g;
}

typedef struct {
    const gb_conv_shape *s;
    window_geom g;
    const float *inp, *weight, *bias;
    float *out, *pad; /* pad: per-slice scratch of in_channels planes */
    size_t out_plane, taps;
    int blocks; /* output blocks per sample: ceil(out_channels / OUT_BLOCK) */
} few_inputs_job;

/* One output row (y) of `mb` channels: out[b][x] for b < mb, x < cols, where w points at the
 * first channel's weights (channel b's are b * C * taps further) and xp at the row's input. The
 * row is covered by vectors of LANES positions; when cols is not a multiple of LANES the last
 * vector starts at cols - LANES and recomputes a few positions of the one before it, with the
 * same operations in the same order, so they are rewritten with the same bits (a scalar tail
 * cost 6x the whole conv on 28-wide rows). */
static inline __attribute__((always_inline)) void row_outputs(const few_inputs_job *t, const float *xp, const float *w,
                                                              const float *bias, float *out, const int mb) {
    const gb_conv_shape *s = t->s;
    const int C = s->in_channels, kh = s->kernel_h, kw = s->kernel_w, cols = t->g.cols;
    const size_t wstride = (size_t)C * t->taps;
    for (int x0 = 0; x0 < cols; x0 += LANES) {
        const int x = x0 + LANES <= cols ? x0 : cols - LANES;
        lanes_t acc[OUT_BLOCK];
        for (int b = 0; b < mb; b++) acc[b] = (lanes_t){0};
        for (int c = 0; c < C; c++)
            for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++) {
                    lanes_t v = *(const lanes_unaligned_t *)(xp + (size_t)c * t->g.plane + (size_t)i * t->g.ld +
                                                             (size_t)(j + x));
                    const float *wt = w + (size_t)c * t->taps + (size_t)(i * kw + j);
                    for (int b = 0; b < mb; b++) acc[b] = acc[b] + v * wt[(size_t)b * wstride];
                }
        for (int b = 0; b < mb; b++)
            *(lanes_unaligned_t *)(out + (size_t)b * t->out_plane + (size_t)x) = bias ? acc[b] + bias[b] : acc[b];
    }
}

/* Items are (sample, output block) pairs, sample-major: a slice pads a sample's planes once for
 * all the blocks of that sample it owns. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void forward_items(void *ctx, size_t i0, size_t i1, int slice) {
    const few_inputs_job *t = ctx;
    const gb_conv_shape *s = t->s;
    const int C = s->in_channels, M = s->out_channels, ow = gb_conv_out_w(s);
    const size_t in_plane = (size_t)s->in_height * (size_t)s->in_width;
    float *pad = t->pad + (size_t)slice * (size_t)C * t->g.plane;
    size_t padded = (size_t)-1;
    for (size_t item = i0; item < i1; item++) {
        size_t n = item / (size_t)t->blocks;
        int m0 = (int)(item % (size_t)t->blocks) * OUT_BLOCK, mb = M - m0 < OUT_BLOCK ? M - m0 : OUT_BLOCK;
        const float *x = t->inp + n * (size_t)C * in_plane;
        if (!t->g.pointwise && padded != n) {
            for (int c = 0; c < C; c++)
                gb_pad_plane(pad + (size_t)c * t->g.plane, s->in_height + 2 * s->pad_h, (int)t->g.ld,
                             x + (size_t)c * in_plane, s->in_height, s->in_width, s->pad_h, s->pad_w);
            padded = n;
        }
        const float *xp = t->g.pointwise ? x : pad;
        const float *w = t->weight + (size_t)m0 * (size_t)C * t->taps, *bias = t->bias ? t->bias + m0 : NULL;
        float *o = t->out + (n * (size_t)M + (size_t)m0) * t->out_plane;
        for (int y = 0; y < t->g.rows; y++) {
            const float *row_in = xp + (size_t)y * t->g.ld;
            float *row_out = o + (size_t)y * (size_t)ow;
            if (mb == OUT_BLOCK)
                row_outputs(t, row_in, w, bias, row_out, OUT_BLOCK);
            else
                for (int b = 0; b < mb; b++)
                    row_outputs(t, row_in, w + (size_t)b * (size_t)C * t->taps, bias ? bias + b : NULL,
                                row_out + (size_t)b * t->out_plane, 1);
        }
    }
}

void gb_conv2d_forward_few_inputs_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                                      const float *bias, const gb_conv_shape *s) {
    gb_conv_check_shape(s, 0);
    GB_ASSERT(gb_conv2d_uses_few_inputs(s),
              "conv2d few-inputs: stride %dx%d, %d -> %d channels, kernel %dx%d, %dx%d outputs (see "
              "gb_conv2d_uses_few_inputs)",
              s->stride_h, s->stride_w, s->in_channels, s->out_channels, s->kernel_h, s->kernel_w, gb_conv_out_h(s),
              gb_conv_out_w(s));
    few_inputs_job t = {.s = s, .g = window_of(s), .inp = inp, .weight = weight, .bias = bias, .out = out};
    t.out_plane = (size_t)gb_conv_out_h(s) * (size_t)gb_conv_out_w(s);
    t.taps = (size_t)s->kernel_h * (size_t)s->kernel_w;
    t.blocks = (s->out_channels + OUT_BLOCK - 1) / OUT_BLOCK;
    size_t items = (size_t)s->batch * (size_t)t.blocks;
    int slices = gb_parallel_slices(dev, items, 1);
    t.pad = t.g.pointwise ? NULL
                          : gb_dev_scratch(dev, (size_t)slices * (size_t)s->in_channels * t.g.plane * sizeof(float));
    gb_parallel_for(dev, items, 1, forward_items, &t);
}

/* Why there is no backward here (measured, then removed):
 *  - a 3x3 backward-data in the same style needs a zero-bordered copy of all M dout planes per
 *    sample; the copy alone, at memory speed, cost as much as the GEMM path's whole dinp
 *    (3 -> 128 at 32x32: 8-11 ms against 6-10 ms);
 *  - a 1x1 backward-data reading dout in place ran 3x faster than the GEMM path (0.18 against
 *    0.53 ms on the critic's shortcut), but its rounding (products summed m ascending, no FMA)
 *    broke the 6-iteration CUB LSGAN parity of tests/test_gan_step.c: that dinp feeds the
 *    generator's gradient, and one D weight ended 1575x PyTorch float32's own drift from float64
 *    (batch-2 trajectories amplify a changed rounding where a ReLU sits near 0). That test's scale
 *    was one PyTorch run then; since session 7 it is an ensemble of ulp-perturbed runs
 *    (tests/tolerances.md "GAN pipelines"), and the 1x1 backward-data now runs as the register
 *    tiles of kernels/cpu/conv_small_planes.c (fused multiply-adds, gb_conv2d_uses_small_planes_data),
 *    which pass it. */
