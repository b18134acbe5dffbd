/* kernels/cpu/conv_small_planes.c - 3x3 stride-1 "same" convs on small planes with many
 * channels (the CMU critic's 128 -> 128 layers at 16x16 and 8x8, the generator's at 4x4-32x32),
 * and unpadded 1x1 convs, by register tiles over the unlowered input, forward and both backward
 * passes (CPU, AVX-512); the forward of 3x3 convs on any plane too (Inception's 35x35 and
 * 147x147 layers, mnist-gan's generator: gb_conv2d_uses_small_planes_forward).
 *
 * Why: on these planes the GEMM lowering (im2col + sgemm + scatter) ran at 150-160 GFLOP/s,
 * while oneDNN's direct convolutions in PyTorch ran the same layers at 200-260 GFLOP/s, so the
 * critic's forward+backward lost to PyTorch even though our 32x32 layers matched it. Here a tile
 * of OUT_BLOCK output channels x `v` vectors of 16 positions stays in zmm registers for the whole
 * reduction: for every input channel and tap, the tile's input vectors are loaded once (masked
 * at the left and right image borders) and multiplied, by fused multiply-adds, with OUT_BLOCK
 * broadcast weights. Nothing is lowered, gathered or scattered: each output vector is stored
 * once, straight into NCHW.
 *
 * Layout: a sample's input planes are copied (by the slice that owns it, into L2-sized scratch)
 * with kh / 2 zero rows above and below and kw / 2 guard floats at each end (one of each for
 * 3x3), rows unpadded, so a tap's vector is one unaligned load at a fixed offset (di * W + dj)
 * from the output vector's position, and only the horizontal border lanes need a mask. Weights are reordered once per call into
 * [block][input channel][tap][OUT_BLOCK], the order the loop reads them.
 *
 * A 1x1 conv is the same tile with the centre tap alone, reading the input in place.
 *
 * Summation order, per output element: input channels ascending in blocks of SUM_TERMS / taps
 * (8 for 3x3, 72 for 1x1, 2 for 5x5, 10 for 1x7 and 7x1); within a block, channels then taps (i, j) ascending, each a fused
 * multiply-add into one float accumulator from +0; the blocks' sums added in order, then + bias
 * (rounded). The blocks keep the error at the GEMM path's (about 1 u of the sum of |terms| at the
 * worst element of the CUB GAN's convs, measured against float64; one chain over all 1152 terms
 * erred 4x more). That matters beyond the bound: the GAN step-parity trajectories of
 * tests/test_gan_step.c branch on rounding-sized differences (tests/tolerances.md "GAN
 * pipelines"), and with blocks of 32 the WGAN-GP case branched where no ulp-perturbed PyTorch run
 * did (16 seeds). Results differ from the GEMM path in the last bits and stay within the conv2d
 * bounds of tests/tolerances.md "convolution". Backward-data is the same loop with dout as the
 * input and the weights transposed and flipped (dinp[c] = sum over m, then taps, of
 * w[m][c][2-i][2-j] dout[m]). Backward-weight puts output channels in the lanes instead (see
 * dweight_tile and, for 1x1, dweight_tile_pointwise: 1.0-1.2x the GEMM path's per-sample sgemm at
 * 4x4-16x16, where that ran at 0.76-0.85 of sgemm on the equivalent GEMM). Work is split over
 * items (samples x output blocks, or groups of input channels for dweight); every result is
 * formed by one slice in a fixed order, so the bits do not depend on the thread count, and a
 * sample's forward and dinp do not depend on the batch it runs in.
 * Tested by tests/test_kernels_conv_small_planes.c; measured at gb_conv2d_uses_small_planes.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/parallel.h"

enum {
    OUT_BLOCK = 8,
    LANES = 16,
    TAPS = 9,
    MAX_VECTORS = 3,
    SUM_TERMS = 72,
    MAX_CHANNELS = 256,
    MAX_KW = 7,                 /* the widest kernel row the forward takes (Inception's 1x7) */
    MAX_FORWARD_PLANE = 160 * 160 /* positions: the forward's any-plane rule, measured up to 147x147 */
};

/* When these loops win. 128 -> 128 3x3 p1, batch 64, 2 threads, ms here / the GEMM path, 3-5
 * runs of one probe on the shared development machine (Zen 4), and PyTorch 1.13's oneDNN alone
 * on the same layer for scale:
 *              forward            backward-data      backward-weight     PyTorch f / d / w
 *   32x32 ... 93-101 / 116-144    94-101 / 122-154   95-97 / 135-143     120 / 120 / 128
 *   16x16 ... 22-25 / 30-34       22-25 / 30-36      23-25 / 34-38       21 / 21 / 24
 *    8x8 .... 5.9-6.2 / 8.4-9.3   5.9-6.2 / 8.8-10   6.2-6.3 / 8.9-10    4.6 / 4.8 / 5.6
 *    4x4 .... 1.7-1.8 / 2.3-2.4   1.6 / 2.1          1.8-2.1 / 2.3-2.7   1.0 / 1.0 / 1.5
 * (195-220 GFLOP/s at 8x8-32x32, against 130-160 for the GEMM path and a measured FMA peak of
 * about 200-230.) 1x1 128 -> 128, forward / backward-data over sgemm on the equivalent GEMM
 * (bench, 3 rounds): 1.09 / 1.08 at 4x4, 0.68-1.12 / 1.26 at 8x8, 1.08 / 1.20 at 16x16 (the
 * GEMM path: 0.64 / 0.56, 0.73 / 0.80, 0.92 / 0.82). With many channels the GEMM's own
 * efficiency catches up: 256 -> 256 at 8x8 still 1.15-1.28x here (3x3 and 1x1), but Inception's
 * 8x8 convs at batch 8 ran faster lowered (384 -> 384 3x3 7.9-8.6 / 7.7-7.9 ms; 1x1 1280 -> 1344
 * 9.6-11.4 / 9.5 ms, 2048 -> 1152 13.8-14.1 / 12.6-12.8 ms). Rule: 3x3 stride 1 padding 1 on
 * planes up to MAX_FORWARD_PLANE positions (first only rows that divide a vector or are one or
 * two whole vectors; since session 9 any: both backward passes on other planes, ms GEMM path /
 * tiles, median of 9 alternating runs, 2 threads: mnist-gan's generator at batch 256, 32 -> 16 at
 * 14x14 13.6 / 6.6 and 16 -> 8 at 28x28 26.7 / 9.9; batch 64, 128 -> 128 at 12x12 35.6 / 28.0,
 * 64 -> 64 at 35x35 93.6 / 69.7), or 1x1 stride 1 unpadded over whole vectors of positions;
 * both channel counts multiples of OUT_BLOCK and at most MAX_CHANNELS; a CPU with AVX-512F.
 * Elsewhere the GEMM lowering stays. */
/* The kernels the forward loops are compiled for, each (kh, kw) its own inlined copy: the 3x3
 * and 1x1 of the GAN models, and Inception's 1x7, 7x1 and 5x5 (its 1x3 / 3x1 have 384 channels,
 * beyond MAX_CHANNELS). */
#define TILE_KERNELS(X) X(3, 3) X(1, 1) X(1, 7) X(7, 1) X(5, 5)

static int tile_kernel_supported(int kh, int kw) {
#define SUPPORTED(H, W) \
    if (kh == (H) && kw == (W)) return 1;
    TILE_KERNELS(SUPPORTED)
#undef SUPPORTED
    return 0;
}

/* What the forward loops can run at all: a compiled kernel at stride 1 with "same" padding
 * (kh / 2, kw / 2: 1x1 unpadded); both channel counts multiples of OUT_BLOCK and at most
 * MAX_CHANNELS; a CPU with AVX-512F. Any plane size: a plane that does not fill its last vector
 * ends in a masked one. */
static int tiles_can_run(const gb_conv_shape *s) {
    static int have_avx512 = -1;
    if (have_avx512 < 0) have_avx512 = __builtin_cpu_supports("avx512f");
    return have_avx512 && tile_kernel_supported(s->kernel_h, s->kernel_w) && s->pad_h == s->kernel_h / 2 &&
           s->pad_w == s->kernel_w / 2 && s->stride_h == 1 && s->stride_w == 1 && s->in_channels % OUT_BLOCK == 0 &&
           s->out_channels % OUT_BLOCK == 0 && s->in_channels <= MAX_CHANNELS && s->out_channels <= MAX_CHANNELS;
}

int gb_conv2d_uses_small_planes(const gb_conv_shape *s) {
    size_t plane = (size_t)s->in_height * (size_t)s->in_width;
    int k3 = s->kernel_h == 3 && s->kernel_w == 3, k1 = s->kernel_h == 1 && s->kernel_w == 1;
    /* 3x3: any plane up to the measured sizes (gb_conv2d_uses_small_planes_forward says why);
     * 1x1: whole vectors of positions */
    return tiles_can_run(s) && ((k3 && plane <= MAX_FORWARD_PLANE) || (k1 && plane % LANES == 0));
}

/* The forward of a 3x3, 5x5, 1x7 or 7x1 "same" conv takes the tiles on planes of any shape up to
 * MAX_FORWARD_PLANE positions (the largest measured, 147x147, with margin; a padded sample per
 * thread must stay a few MB): rows that straddle vectors only need their per-lane border masks,
 * and a plane that does not fill its last vector ends in a masked one. Forward, ms lowered / tiles, median of 7 alternating runs of one
 * probe, 2 threads, on the shared development machine (Zen 4; +-20% between runs):
 *   Inception at batch 8: 32 -> 64 at 147x147 84.9 / 40.4 (1.13-2.1x over four runs); 64 -> 96
 *   and 96 -> 96 at 35x35 7.3-17.3 / 5.8-8.9 (1.16-1.95x); the eleven such layers' total 1.12-1.6x;
 *   mnist-gan's generator at batch 256: 32 -> 16 at 14x14 8.1 / 3.5, 16 -> 8 at 28x28 17.5 / 4.8;
 *   batch 16: 96 -> 96 and 128 -> 128 at 17x17 1.37 / 1.55x, 64 -> 64 at 73x73 1.16x, 32 -> 32 at
 *   24x24 1.51x, 128 -> 128 at 12x12 1.38x, 256 -> 256 at 20x20 1.21x;
 *   Inception's 1x7 and 7x1 at 17x17 (128-192 channels, batch 8) 3.3-8.2 ms against 4.9-11.4,
 *   1.20-1.65x each (26 layers); its 5x5 48 -> 64 at 35x35 1.20-1.37x.
 * 1x1 convs over planes that are not whole vectors stay lowered: Inception's 64 -> 80 at 73x73,
 * 192 -> 208 and 256 -> 240 at 35x35 measured 0.92-1.48x, no clear win. So do unpadded 3x3 convs:
 * computed on a grid two columns wider than the output and cropped, Inception's 32 -> 32 at
 * 149x149 and 80 -> 192 at 73x73 ran at 0.82-1.05x the lowering (15 alternating runs, three
 * times). The backward passes follow gb_conv2d_uses_small_planes: 3x3 on any plane too. */
int gb_conv2d_uses_small_planes_forward(const gb_conv_shape *s) {
    return gb_conv2d_uses_small_planes(s) || (tiles_can_run(s) && s->kernel_h * s->kernel_w > 1 &&
                                              (size_t)s->in_height * (size_t)s->in_width <= MAX_FORWARD_PLANE);
}
/* (The forward's 5x5, 1x7 and 7x1 have no backward tiles: backward-weight is written for 3x3
 * and 1x1.) */

/* The backward-data alone, for 1x1 convs with any number of inputs (the critic's 3 -> 128
 * shortcut: the dinp tiles' outputs are its 3 input channels, one partial block). It ran at
 * 2.4-2.7x sgemm's rate on the equivalent GEMM (bench, 3 rounds), the GEMM path at 0.68. */
int gb_conv2d_uses_small_planes_data(const gb_conv_shape *s) {
    gb_conv_shape like = *s;
    like.in_channels = OUT_BLOCK; /* any input count: the tiles' outputs may end in a partial block */
    return s->kernel_h == 1 && s->kernel_w == 1 && s->in_channels <= MAX_CHANNELS && gb_conv2d_uses_small_planes(&like);
}

/* Everything below runs only where the two rules above said yes (the entry points assert it),
 * so it is compiled for AVX-512F alone. */
#pragma GCC target("avx512f")

/* Where a sample's planes are read: for a kh x kw kernel, copies with ph = kh / 2 zero rows above
 * and below and pw = kw / 2 guard floats at each end, position q = y * W + x of channel c at
 * c * stride + origin + q; a 1x1 conv reads the input in place (stride = the plane, origin 0). */
typedef struct {
    int h, w, channels;
    size_t stride, origin; /* floats per (padded) plane; offset of position 0 in it */
} padded_geom;

static padded_geom padded_of(int channels, int h, int w, int ph, int pw) {
    padded_geom g = {h, w, channels, (size_t)(h + 2 * ph) * (size_t)w + 2 * (size_t)pw,
                     (size_t)pw + (size_t)ph * (size_t)w};
    return g;
}
static padded_geom in_place_of(int channels, int h, int w) {
    padded_geom g = {h, w, channels, (size_t)h * (size_t)w, 0};
    return g;
}

static void pad_sample(float *dst, const padded_geom *g, const float *src) {
    size_t plane = (size_t)g->h * (size_t)g->w, origin = g->origin;
    for (int c = 0; c < g->channels; c++) {
        float *d = dst + (size_t)c * g->stride;
        memset(d, 0, origin * sizeof *d);
        memcpy(d + origin, src + (size_t)c * plane, plane * sizeof *d);
        memset(d + origin + plane, 0, origin * sizeof *d);
    }
}

/* The lanes a tap with column offset dj may read for the output vector at position q0: lanes
 * whose source column falls off the image (x + dj < 0 or >= W) would read a neighbouring row or a
 * guard, and are zeroed by the masked load. */
static __mmask16 border_mask(int w, size_t q0, int dj) {
    __mmask16 m = 0;
    for (int l = 0; l < LANES; l++) {
        int x = (int)((q0 + (size_t)l) % (size_t)w) + dj;
        if (x >= 0 && x < w) m = (__mmask16)(m | (1u << l));
    }
    return m;
}

/* ---- forward and backward-data: out[m] = sum over c, taps of wr * in[c] ------------------- */

typedef struct {
    padded_geom g;
    const float *inp;  /* [batch, in channels, h, w] */
    float *wr;         /* [out / OUT_BLOCK][in][taps][OUT_BLOCK] */
    const float *bias; /* [out] or NULL */
    float *out;        /* [batch, out channels, h, w] */
    float *pad;        /* per-slice scratch of one padded sample (3x3 only) */
    int out_channels, blocks, kh, kw; /* a 1x1 conv is read in place */
    size_t items; /* batch * blocks */
} tile_job;

/* One tile: OUT_BLOCK channels (weights wb, outputs ob) x v vectors from position q0, over the
 * kh x kw taps (kh, kw constants in every call; 1x1: the centre tap alone, no mask). A tap of
 * column offset dj = j - kw / 2 != 0 loads through mask[j]: its lanes whose source column is off
 * the image. tail: the lanes of the last vector that are positions of the plane (all 16 but at a
 * plane's end that does not fill a vector); the others are neither loaded (masked loads do not
 * fault) nor stored. */
static inline __attribute__((always_inline)) void tile(const tile_job *t, const float *xp, const float *wb,
                                                       const float *bias, float *ob, size_t q0, const int v,
                                                       const int kh, const int kw, int valid, const __mmask16 tail) {
    const int W = t->g.w, C = t->g.channels, taps = kh * kw, ph = kh / 2, pw = kw / 2;
    const size_t plane = (size_t)t->g.h * (size_t)W;
    const int whole = tail == (__mmask16)0xffff; /* a constant in every call: the full tiles keep plain loads */
    __mmask16 mask[MAX_KW][MAX_VECTORS], centre[MAX_VECTORS];
#pragma GCC unroll 3
    for (int k = 0; k < v; k++) {
        centre[k] = k == v - 1 ? tail : (__mmask16)0xffff;
        for (int j = 0; j < kw; j++)
            mask[j][k] = j == pw ? centre[k] : border_mask(W, q0 + (size_t)k * LANES, j - pw) & centre[k];
    }
    const float *x = xp + t->g.origin + q0;
    const int block = SUM_TERMS / taps > 1 ? SUM_TERMS / taps : 1; /* input channels per partial sum */
    for (int c0 = 0; c0 < C; c0 += block) {
        const int c1 = c0 + block < C ? c0 + block : C;
        __m512 acc[OUT_BLOCK][MAX_VECTORS];
#pragma GCC unroll 8
        for (int b = 0; b < OUT_BLOCK; b++)
#pragma GCC unroll 3
            for (int k = 0; k < v; k++) acc[b][k] = _mm512_setzero_ps();
        for (int c = c0; c < c1; c++, x += t->g.stride) {
            for (int tap = 0; tap < taps; tap++) {
                const int i = tap / kw, j = tap % kw;
                const float *src = x + (ptrdiff_t)(i - ph) * W + (j - pw);
                __m512 in[MAX_VECTORS];
#pragma GCC unroll 3
                for (int k = 0; k < v; k++) {
                    const float *p = src + (size_t)k * LANES;
                    in[k] = j == pw && whole ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mask[j][k], p);
                }
                const float *w = wb + ((size_t)c * (size_t)taps + (size_t)tap) * OUT_BLOCK;
#pragma GCC unroll 8
                for (int b = 0; b < OUT_BLOCK; b++) {
                    __m512 wv = _mm512_set1_ps(w[b]);
#pragma GCC unroll 3
                    for (int k = 0; k < v; k++) acc[b][k] = _mm512_fmadd_ps(wv, in[k], acc[b][k]);
                }
            }
        }
        /* the block's sums join the output: stored by the first block, added by the later ones,
         * then + bias after the last */
#pragma GCC unroll 8
        for (int b = 0; b < OUT_BLOCK; b++)
#pragma GCC unroll 3
            for (int k = 0; k < v; k++) {
                if (b >= valid) continue; /* a partial last block: no plane to write */
                float *o = ob + (size_t)b * plane + q0 + (size_t)k * LANES;
                __m512 r = acc[b][k];
                if (c0) r = _mm512_add_ps(whole ? _mm512_loadu_ps(o) : _mm512_maskz_loadu_ps(centre[k], o), r);
                if (c1 == C && bias) r = _mm512_add_ps(r, _mm512_set1_ps(bias[b]));
                if (whole) _mm512_storeu_ps(o, r);
                else _mm512_mask_storeu_ps(o, centre[k], r);
            }
    }
}

/* Every tile of one output block over a plane of `positions` positions: 3 whole vectors at a
 * time, then 2, then 1, then the partial last vector when the plane does not fill one (kh, kw
 * constants, so each call inlines its own loop). */
static inline __attribute__((always_inline)) void plane_tiles(const tile_job *t, const float *xp, const float *wb,
                                                              const float *bias, float *ob, size_t positions,
                                                              const int kh, const int kw, int valid) {
    const size_t vectors = positions / LANES, rest = positions % LANES;
    const __mmask16 all = (__mmask16)0xffff;
    size_t k = 0;
    for (; k + 3 <= vectors; k += 3) tile(t, xp, wb, bias, ob, k * LANES, 3, kh, kw, valid, all);
    for (; k + 2 <= vectors; k += 2) tile(t, xp, wb, bias, ob, k * LANES, 2, kh, kw, valid, all);
    for (; k < vectors; k++) tile(t, xp, wb, bias, ob, k * LANES, 1, kh, kw, valid, all);
    if (rest) tile(t, xp, wb, bias, ob, vectors * LANES, 1, kh, kw, valid, (__mmask16)((1u << rest) - 1));
}


/* Items are (sample, output block) pairs, sample-major: a slice pads a sample once for all the
 * blocks of it that it owns. */
static void tile_items(void *ctx, size_t i0, size_t i1, int slice) {
    const tile_job *t = ctx;
    const int C = t->g.channels, M = t->out_channels;
    const size_t plane = (size_t)t->g.h * (size_t)t->g.w;
    float *pad = t->pad + (size_t)slice * (size_t)C * t->g.stride;
    size_t padded = (size_t)-1;
    for (size_t item = i0; item < i1; item++) {
        size_t n = item / (size_t)t->blocks, blk = item % (size_t)t->blocks;
        const float *xp = t->inp + n * (size_t)C * plane;
        const int taps = t->kh * t->kw;
        if (taps > 1) {
            if (padded != n) pad_sample(pad, &t->g, xp);
            padded = n;
            xp = pad;
        }
        const float *wb = t->wr + blk * (size_t)C * (size_t)taps * OUT_BLOCK;
        const float *bias = t->bias ? t->bias + blk * OUT_BLOCK : NULL;
        float *ob = t->out + (n * (size_t)M + blk * OUT_BLOCK) * plane;
        const int valid = M - (int)blk * OUT_BLOCK < OUT_BLOCK ? M - (int)blk * OUT_BLOCK : OUT_BLOCK;
#define RUN(H, W) if (t->kh == (H) && t->kw == (W)) plane_tiles(t, xp, wb, bias, ob, plane, H, W, valid);
        TILE_KERNELS(RUN)
#undef RUN
    }
}

/* A tile job over `batch` samples with its scratch: the reordered weights (filled by the caller
 * before gb_parallel_for) and then, for kernels beyond 1x1, one padded sample per slice. */
static tile_job plan_tiles(gb_device *dev, int kh, int kw, int batch, int in_channels, int out_channels, int h,
                           int w) {
    const int taps = kh * kw;
    tile_job t = {.g = taps > 1 ? padded_of(in_channels, h, w, kh / 2, kw / 2) : in_place_of(in_channels, h, w),
                  .out_channels = out_channels, .kh = kh, .kw = kw};
    t.blocks = (out_channels + OUT_BLOCK - 1) / OUT_BLOCK;
    t.items = (size_t)batch * (size_t)t.blocks;
    int slices = gb_parallel_slices(dev, t.items, 1);
    size_t wr_floats = (size_t)in_channels * (size_t)t.blocks * OUT_BLOCK * (size_t)taps;
    size_t pad_floats = taps > 1 ? (size_t)slices * (size_t)in_channels * t.g.stride : 0;
    float *scratch = gb_dev_scratch(dev, (wr_floats + pad_floats) * sizeof(float));
    t.wr = scratch;
    t.pad = scratch + wr_floats;
    return t;
}

/* weight [M, C, kh, kw] (taps = kh * kw, 9 or 1) -> wr [M / OUT_BLOCK][C][taps][OUT_BLOCK]
 * (forward), or, transposed and flipped, [C / OUT_BLOCK][M][taps][OUT_BLOCK] with
 * wr[..][m][i, j][c] = weight[m][c][2-i][2-j] (backward-data, where dout's M channels are the
 * inputs). */
static void reorder_weights(float *wr, const float *weight, int M, int C, int taps, int transpose) {
    const int outs = transpose ? C : M, ins = transpose ? M : C, rounded = (outs + OUT_BLOCK - 1) / OUT_BLOCK * OUT_BLOCK;
    if (rounded != outs) /* a partial last block multiplies zeros into outputs it never stores */
        memset(wr, 0, (size_t)rounded * (size_t)ins * (size_t)taps * sizeof *wr);
    for (int m = 0; m < M; m++)
        for (int c = 0; c < C; c++)
            for (int tap = 0; tap < taps; tap++) {
                float v = weight[((size_t)m * (size_t)C + (size_t)c) * (size_t)taps + (size_t)tap];
                int o = transpose ? c : m, in = transpose ? m : c;
                int t2 = transpose ? taps - 1 - tap : tap;
                wr[(((size_t)(o / OUT_BLOCK) * (size_t)ins + (size_t)in) * (size_t)taps + (size_t)t2) * OUT_BLOCK +
                   (size_t)(o % OUT_BLOCK)] = v;
            }
}

static void check_shape(const gb_conv_shape *s) {
    gb_conv_check_shape(s, 0);
    GB_ASSERT(gb_conv2d_uses_small_planes(s),
              "conv2d small-planes: kernel %dx%d stride %dx%d pad %dx%d, %d -> %d channels at %dx%d (see "
              "gb_conv2d_uses_small_planes)",
              s->kernel_h, s->kernel_w, s->stride_h, s->stride_w, s->pad_h, s->pad_w, s->in_channels,
              s->out_channels, s->in_height, s->in_width);
}

void gb_conv2d_forward_small_planes_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                                        const float *bias, const gb_conv_shape *s) {
    gb_conv_check_shape(s, 0);
    GB_ASSERT(gb_conv2d_uses_small_planes_forward(s), "conv2d small-planes forward: not a shape the loops take");
    const int M = s->out_channels, C = s->in_channels;
    const int taps = s->kernel_h * s->kernel_w;
    tile_job t = plan_tiles(dev, s->kernel_h, s->kernel_w, s->batch, C, M, s->in_height, s->in_width);
    reorder_weights(t.wr, weight, M, C, taps, 0);
    t.inp = inp;
    t.bias = bias;
    t.out = out;
    gb_parallel_for(dev, t.items, 1, tile_items, &t);
}

/* ---- backward-weight: dweight[m][c][tap] += sum over n, q of dout[n][m][q] * in[n][c][q + tap] */

/* Backward-weight runs with output channels in the lanes: dout is first transposed to
 * [sample][position][M] (dT), and a register tile holds DW_VECS x 16 output channels x DW_IN input
 * channels x the 3 taps of one kernel row (24 accumulators). Per position it loads DW_VECS dT
 * vectors (aligned) and broadcasts DW_IN * 3 input values, read from zero-bordered copies, so no
 * lane needs a mask. (Positions in the lanes, as the forward, made every input vector an unaligned,
 * mostly masked load, and ran at 0.6-0.8 of the GEMM path's rate.) Each weight gradient is a
 * chain of fused multiply-adds from +0 over a chunk's samples and positions, ascending, added to
 * the sum of the chunks before it (two levels, like the GEMM's K blocks: one chain over all 16384
 * terms of a 16x16 layer erred 4x more than the GEMM path against float64). Items are pairs of input
 * channels; a slice walks chunks of DW_CHUNK_POSITIONS positions' worth of samples, keeping its
 * accumulators in scratch ([c][tap][M]) between chunks, so each chunk's dT (128 KB for one 16x16
 * sample) is read from L2 by all of the slice's tiles. */
enum { DW_VECS = 4, DW_IN = 2, DW_IN_POINTWISE = 4, DW_CHUNK_POSITIONS = 256 };

typedef struct {
    int h, w, in_channels, out_channels, batch, chunk, taps; /* chunk: samples per chunk; taps 9 or 1 (3x3, 1x1) */
    const float *inp; /* [batch, C, h, w] */
    const float *dt;  /* [batch, h * w, M] */
    float *dweight;   /* [M, C, kh, kw], accumulated */
    float *acc;       /* [C][taps][M], zeroed */
    float *pad;       /* 3x3, per slice: chunk samples x its channels, planes (h + 2) x (w + 2) */
    size_t pad_stride;
} dweight_job;

/* dout [batch, M, P] -> dt [batch, P, M], samples split over slices. */
typedef struct {
    const float *dout;
    float *dt;
    int channels;
    size_t positions;
} transpose_job;

static void transpose_samples(void *ctx, size_t n0, size_t n1, int slice) {
    (void)slice;
    const transpose_job *t = ctx;
    const size_t M = (size_t)t->channels, P = t->positions;
    for (size_t n = n0; n < n1; n++) {
        const float *d = t->dout + n * M * P;
        float *o = t->dt + n * M * P;
        for (size_t m = 0; m < M; m++)
            for (size_t q = 0; q < P; q++) o[q * M + m] = d[m * P + q];
    }
}

/* dT's vectors of output channels m0 .. at one position (d): `vecs` of them, the last masked to
 * `last` (the channels that exist when M is not a multiple of 64). */
static inline __attribute__((always_inline)) void load_channel_vectors(__m512 *dv, const float *d, const int vecs,
                                                                       __mmask16 last) {
#pragma GCC unroll 4
    for (int v = 0; v < vecs; v++) dv[v] = _mm512_maskz_loadu_ps(v == vecs - 1 ? last : (__mmask16)0xffff, d + v * LANES);
}

/* The output channels of the tile at m0: its vector count, and the mask of its last vector. */
static int channel_vectors(int M, int m0, __mmask16 *last) {
    int rem = M - m0 < DW_VECS * LANES ? M - m0 : DW_VECS * LANES;
    *last = (__mmask16)(rem % LANES ? (1u << (rem % LANES)) - 1 : 0xffffu);
    return (rem + LANES - 1) / LANES;
}

/* The tile of output channels m0 .. m0 + DW_VECS * 16 - 1, input channels c0, c0 + 1 (padded
 * planes xp[a][sample]) and kernel row i over samples n0 .. n1 - 1. */
static inline __attribute__((always_inline)) void dweight_tile(const dweight_job *t, const float *xp, int c0, int m0,
                                                               int i, int n0, int n1, const int vecs,
                                                               __mmask16 last) {
    const int H = t->h, W = t->w, M = t->out_channels, pw = W + 2;
    const size_t P = (size_t)H * (size_t)W;
    __m512 acc[DW_VECS][DW_IN][3];
    /* every loop over acc is fully unrolled: indexing it with a loop variable makes GCC keep it in
     * memory and store every accumulator on every iteration (measured 2.5x slower) */
#pragma GCC unroll 4
    for (int v = 0; v < vecs; v++)
#pragma GCC unroll 2
        for (int a = 0; a < DW_IN; a++)
#pragma GCC unroll 3
            for (int j = 0; j < 3; j++) acc[v][a][j] = _mm512_setzero_ps();
    for (int n = n0; n < n1; n++) {
        const float *d = t->dt + (size_t)n * P * (size_t)M + (size_t)m0;
        const float *x = xp + (size_t)(n - n0) * t->pad_stride + (size_t)i * (size_t)pw;
        for (int y = 0; y < H; y++, x += pw)
            for (int xx = 0; xx < W; xx++, d += M) {
                __m512 dv[DW_VECS];
                load_channel_vectors(dv, d, vecs, last);
#pragma GCC unroll 2
                for (int a = 0; a < DW_IN; a++)
#pragma GCC unroll 3
                    for (int j = 0; j < 3; j++) {
                        __m512 in = _mm512_set1_ps(x[(size_t)a * (size_t)t->chunk * t->pad_stride + (size_t)(xx + j)]);
#pragma GCC unroll 4
                        for (int v = 0; v < vecs; v++) acc[v][a][j] = _mm512_fmadd_ps(dv[v], in, acc[v][a][j]);
                    }
            }
    }
#pragma GCC unroll 4
    for (int v = 0; v < vecs; v++)
#pragma GCC unroll 2
        for (int a = 0; a < DW_IN; a++)
#pragma GCC unroll 3
            for (int j = 0; j < 3; j++) {
                float *sum = t->acc + ((size_t)(c0 + a) * TAPS + (size_t)(i * 3 + j)) * (size_t)M + (size_t)(m0 + v * LANES);
                __mmask16 lanes = v == vecs - 1 ? last : (__mmask16)0xffff;
                _mm512_mask_storeu_ps(sum, lanes, _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, sum), acc[v][a][j]));
            }
}

/* A 1x1 conv's tile: output channels m0 .. (vecs vectors, the last masked to `last`) x input
 * channels c0 .. c0 + DW_IN_POINTWISE - 1, read in place, over samples n0 .. n1 - 1: 16
 * accumulators, 4 dT vectors and 4 broadcasts per position. */
static inline __attribute__((always_inline)) void dweight_tile_pointwise(const dweight_job *t, int c0, int m0,
                                                                         int n0, int n1, const int vecs,
                                                                         __mmask16 last) {
    const int M = t->out_channels, C = t->in_channels;
    const size_t P = (size_t)t->h * (size_t)t->w;
    __m512 acc[DW_VECS][DW_IN_POINTWISE];
#pragma GCC unroll 4
    for (int v = 0; v < vecs; v++)
#pragma GCC unroll 4
        for (int a = 0; a < DW_IN_POINTWISE; a++) acc[v][a] = _mm512_setzero_ps();
    for (int n = n0; n < n1; n++) {
        const float *d = t->dt + (size_t)n * P * (size_t)M + (size_t)m0;
        const float *x = t->inp + ((size_t)n * (size_t)C + (size_t)c0) * P;
        for (size_t q = 0; q < P; q++, d += M) {
            __m512 dv[DW_VECS];
            load_channel_vectors(dv, d, vecs, last);
#pragma GCC unroll 4
            for (int a = 0; a < DW_IN_POINTWISE; a++) {
                __m512 in = _mm512_set1_ps(x[(size_t)a * P + q]);
#pragma GCC unroll 4
                for (int v = 0; v < vecs; v++) acc[v][a] = _mm512_fmadd_ps(dv[v], in, acc[v][a]);
            }
        }
    }
#pragma GCC unroll 4
    for (int v = 0; v < vecs; v++)
#pragma GCC unroll 4
        for (int a = 0; a < DW_IN_POINTWISE; a++) {
            float *sum = t->acc + (size_t)(c0 + a) * (size_t)M + (size_t)(m0 + v * LANES);
            __mmask16 lanes = v == vecs - 1 ? last : (__mmask16)0xffff;
            _mm512_mask_storeu_ps(sum, lanes, _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, sum), acc[v][a]));
        }
}

/* 1x1: slice over groups g0 .. g1 - 1 of DW_IN_POINTWISE input channels, chunk by chunk of
 * samples, every output tile of each group (the input is read in place). */
static void dweight_items_pointwise(void *ctx, size_t g0, size_t g1, int slice) {
    (void)slice;
    const dweight_job *t = ctx;
    const int M = t->out_channels;
    for (int n0 = 0; n0 < t->batch; n0 += t->chunk) {
        int n1 = n0 + t->chunk < t->batch ? n0 + t->chunk : t->batch;
        for (int c = (int)g0 * DW_IN_POINTWISE; c < (int)g1 * DW_IN_POINTWISE; c += DW_IN_POINTWISE)
            for (int m0 = 0; m0 < M; m0 += DW_VECS * LANES) {
                __mmask16 last;
                switch (channel_vectors(M, m0, &last)) {
                case 4: dweight_tile_pointwise(t, c, m0, n0, n1, 4, last); break;
                case 3: dweight_tile_pointwise(t, c, m0, n0, n1, 3, last); break;
                case 2: dweight_tile_pointwise(t, c, m0, n0, n1, 2, last); break;
                default: dweight_tile_pointwise(t, c, m0, n0, n1, 1, last); break;
                }
            }
    }
}

/* 3x3: slice over input-channel pairs p0 .. p1 - 1: for each chunk of samples, pad those
 * channels, then run every tile of them. */
static void dweight_items(void *ctx, size_t p0, size_t p1, int slice) {
    const dweight_job *t = ctx;
    const int C = t->in_channels, M = t->out_channels, c_first = (int)p0 * DW_IN, cs = (int)(p1 - p0) * DW_IN;
    const size_t P = (size_t)t->h * (size_t)t->w;
    float *pad = t->pad + (size_t)slice * (size_t)C * (size_t)t->chunk * t->pad_stride; /* room for all C */
    for (int n0 = 0; n0 < t->batch; n0 += t->chunk) {
        int n1 = n0 + t->chunk < t->batch ? n0 + t->chunk : t->batch;
        for (int c = 0; c < cs; c++)
            for (int n = n0; n < n1; n++)
                gb_pad_plane(pad + ((size_t)c * (size_t)t->chunk + (size_t)(n - n0)) * t->pad_stride, t->h + 2, t->w + 2,
                             t->inp + ((size_t)n * (size_t)C + (size_t)(c_first + c)) * P, t->h, t->w, 1, 1);
        for (int c = 0; c < cs; c += DW_IN)
            for (int m0 = 0; m0 < M; m0 += DW_VECS * LANES)
                for (int i = 0; i < 3; i++) {
                    /* the last tile of an M that is not a multiple of 64 has fewer vectors, the last
                     * one masked to the channels that exist (M is a multiple of 8) */
                    const float *xp = pad + (size_t)c * (size_t)t->chunk * t->pad_stride;
                    __mmask16 last;
                    switch (channel_vectors(M, m0, &last)) {
                    case 4: dweight_tile(t, xp, c_first + c, m0, i, n0, n1, 4, last); break;
                    case 3: dweight_tile(t, xp, c_first + c, m0, i, n0, n1, 3, last); break;
                    case 2: dweight_tile(t, xp, c_first + c, m0, i, n0, n1, 2, last); break;
                    default: dweight_tile(t, xp, c_first + c, m0, i, n0, n1, 1, last); break;
                    }
                }
    }
}

/* dweight += the tiles' sums: scratch holds dT, the accumulators and the slices' padded planes. */
static void backward_weight(gb_device *dev, float *dweight, const float *dout, const float *inp,
                            const gb_conv_shape *s) {
    const int M = s->out_channels, C = s->in_channels, taps = s->kernel_h * s->kernel_w;
    const size_t P = (size_t)s->in_height * (size_t)s->in_width;
    dweight_job t = {.h = s->in_height, .w = s->in_width, .in_channels = C, .out_channels = M, .batch = s->batch,
                     .taps = taps, .inp = inp, .dweight = dweight};
    t.chunk = (int)((DW_CHUNK_POSITIONS + P - 1) / P);
    t.pad_stride = (size_t)(s->in_height + 2) * (size_t)(s->in_width + 2);
    size_t items = (size_t)C / (taps == TAPS ? DW_IN : DW_IN_POINTWISE); /* OUT_BLOCK divides C */
    int slices = gb_parallel_slices(dev, items, 1);
    size_t dt_floats = (size_t)s->batch * P * (size_t)M, acc_floats = (size_t)C * (size_t)taps * (size_t)M;
    size_t pad_floats = taps == TAPS ? (size_t)slices * (size_t)C * (size_t)t.chunk * t.pad_stride : 0;
    float *scratch = gb_dev_scratch(dev, (dt_floats + acc_floats + pad_floats) * sizeof(float));
    t.dt = scratch;
    t.acc = scratch + dt_floats;
    t.pad = t.acc + acc_floats;
    memset(t.acc, 0, acc_floats * sizeof *t.acc);
    transpose_job tr = {.dout = dout, .dt = scratch, .channels = M, .positions = P};
    gb_parallel_for(dev, (size_t)s->batch, 1, transpose_samples, &tr);
    gb_parallel_for(dev, items, 1, taps == TAPS ? dweight_items : dweight_items_pointwise, &t);
    for (int m = 0; m < M; m++)
        for (int c = 0; c < C; c++)
            for (int tap = 0; tap < taps; tap++)
                dweight[((size_t)m * (size_t)C + (size_t)c) * (size_t)taps + (size_t)tap] +=
                    t.acc[((size_t)c * (size_t)taps + (size_t)tap) * (size_t)M + (size_t)m];
}

/* dinp = the forward tiles over dout's M channels with the transposed, flipped weights. */
static void backward_data(gb_device *dev, float *dinp, const float *dout, const float *weight,
                          const gb_conv_shape *s) {
    const int M = s->out_channels, C = s->in_channels, taps = s->kernel_h * s->kernel_w;
    tile_job t = plan_tiles(dev, s->kernel_h, s->kernel_w, s->batch, M, C, s->in_height, s->in_width);
    reorder_weights(t.wr, weight, M, C, taps, 1);
    t.inp = dout;
    t.out = dinp;
    gb_parallel_for(dev, t.items, 1, tile_items, &t);
}

void gb_conv2d_backward_small_planes_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                         const float *dout, const float *inp, const float *weight,
                                         const gb_conv_shape *s) {
    check_shape(s);
    const int M = s->out_channels;
    if (dbias) gb_conv_bias_grad(dev, dbias, dout, s->batch, M, (size_t)s->in_height * (size_t)s->in_width);
    if (dweight) backward_weight(dev, dweight, dout, inp, s);
    if (dinp) backward_data(dev, dinp, dout, weight, s);
}

void gb_conv2d_backward_data_small_planes_cpu(gb_device *dev, float *dinp, const float *dout, const float *weight,
                                              const gb_conv_shape *s) {
    gb_conv_check_shape(s, 0);
    GB_ASSERT(gb_conv2d_uses_small_planes_data(s),
              "conv2d small-planes backward-data: kernel %dx%d stride %dx%d pad %dx%d, %d -> %d channels at %dx%d",
              s->kernel_h, s->kernel_w, s->stride_h, s->stride_w, s->pad_h, s->pad_w, s->in_channels,
              s->out_channels, s->in_height, s->in_width);
    backward_data(dev, dinp, dout, weight, s);
}

