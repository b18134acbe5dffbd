/* kernels/cpu/conv2d.c - 2-D convolution (PyTorch's F.conv2d), forward and backward (CPU).
 *
 *   out[n, m, y, x] = bias[m] + sum_{c,i,j} w[m, c, i, j] * inp[n, c, y*sh - ph + i, x*sw - pw + j]
 *
 * GEMM lowering (kernels/cpu/im2col.h): with cols = im2col(inp[n]) [K, P],
 * K = in_channels*kh*kw, P = out_h*out_w, and W the weight as [M, K]:
 *   forward:  out[n]   = W @ cols                   (sgemm, then + bias)
 *   backward: dweight += dout[n] @ cols^T           (accumulate: sgemm beta 1)
 *             dinp[n]  = col2im(W^T @ dout[n])      (overwrite; NULL: skip)
 *             dbias   += sum over n, y, x of dout   (double, fixed order; NULL: skip)
 * Several samples share one GEMM when a sample has fewer than
 * GB_CONV_TARGET_COLS positions (the 16x16 and 8x8 GAN layers): their columns sit
 * side by side, and the output is scattered back to NCHW. A 1x1 stride-1 unpadded
 * conv needs no im2col: when one sample fills a GEMM the sample's input is the
 * column matrix (one sgemm per sample, nothing copied). The forward lowers a large
 * sample (over 8 MB of columns) in bands of output rows whose columns fit in cache
 * (forward_chunk: 4 MB, 1.6-2x faster on the Inception stem's 147x147 and 71x71 convs).
 *
 * Measured (batch 64, 2 OpenBLAS threads, Zen 4; percent of OpenBLAS sgemm's
 * GFLOP/s on the equivalent M=out, N=batch*P, K=C*kh*kw GEMM, best of 15-25
 * interleaved runs on a shared machine, so +-10%): forward / dinp / dweight
 *   128->128 3x3 at 32x32: 104 / 108 / 100    3->128 3x3 at 32x32: 78 / 73 / 66
 *   128->128 3x3 at 16x16:  91 /  97 /  87    128->128 1x1 at 32x32: 89 / 95 / 90
 *   128->128 3x3 at  8x8:   90 /  81 /  73    128->128 1x1 at 16x16: 72 / 80 / 87
 *                                             128->128 1x1 at  8x8:  83 / 84 / 73
 * (3->128's dweight is a 128x27 output summed over 65536 terms: sgemm itself
 * runs that NT shape at half its NN rate, and we match it.)
 *
 * 3x3 stride-1 "same" convs (planes up to 160x160) and unpadded 1x1 convs over whole vectors,
 * with channel counts that are multiples of 8 (every 128 -> 128 layer of the GAN models), take
 * neither: on AVX-512 CPUs they run as register tiles over the unlowered input
 * (kernels/cpu/conv_small_planes.c, 1.3-1.45x this lowering on the GAN's 3x3 layers, up to 256
 * channels); so does the forward of 5x5, 1x7 and 7x1 "same" convs
 * (gb_conv2d_uses_small_planes_forward: Inception's 35x35, 17x17 and 147x147 layers,
 * mnist-gan's generator). The table above stays for
 * the other shapes and CPUs.
 * conv2d_forward (the table entry) picks the FFT path (kernels/cpu/conv_fft.c)
 * only where it measured faster; see gb_conv2d_uses_fft below for the rule and
 * the numbers. Before both, convs with few output channels take the direct loops
 * (kernels/cpu/conv_direct.c) and forwards with few input channels (the critic's
 * RGB layers, the U-Net's 7x7 stem) the register-blocked loops of
 * kernels/cpu/conv_few_inputs.c, where their rules say. On a device opened with
 * fast_conv set (`--conv fast`), conv2d_forward and conv2d_backward take Winograd F(4x4,3x3)
 * (kernels/cpu/conv_winograd.c, 4x fewer multiplies) for the 3x3 stride-1 convs
 * gb_conv2d_uses_winograd names (>= 64 channels, >= 8x8 outputs) where it also beat the
 * register tiles (fast_winograd below: outputs of 32x32 and more). It is opt-in,
 * not the default, because its rounding (up to ~19u of the transformed sums, vs
 * ~1u for a GEMM) is not the rounding PyTorch's training steps have: with it,
 * tests/test_gan_step.c's parity drifts 10^2-10^3 x PyTorch float32's own after
 * 3-5 BatchNorm-at-batch-2 iterations, and a Winograd result depends on the
 * batch it ran in (the per-position GEMM's N is the batch's tile count, and
 * OpenBLAS picks kernels by size), so test_inception's chunked == batched bit
 * identity would not hold. Every path is deterministic for a given shape: the
 * chunking depends on the shape only, OpenBLAS splits sgemm over output
 * rows/columns, never the reduction.
 * Tested by tests/test_kernels_conv.c: float64 references and finite
 * differences, PyTorch fixtures (tests/peers/kernels_conv.py), the gradient
 * contract, FFT against GEMM.
 */
#include <cblas.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/im2col.h"

static gb_im2col_geom conv_geom(const gb_conv_shape *s) {
    gb_im2col_geom g = {s->in_channels, s->in_height, s->in_width, s->kernel_h, s->kernel_w,
                        s->stride_h,    s->stride_w,  s->pad_h,    s->pad_w,    gb_conv_out_h(s),
                        gb_conv_out_w(s)};
    return g;
}

/* The forward's column band for one sample: a sample lowered whole (the 147x147 and 71x71
 * Inception stem convs: 25 MB and 14 MB of columns) is written by im2col to memory and read
 * back by sgemm's packing, so both passes run at DRAM speed; bands of at most
 * FORWARD_BAND_FLOATS columns are still in cache when sgemm packs them. Measured (batch 16,
 * 2 threads, Cooper Lake, best of 5, two rounds on a loaded machine), ms whole / 4 MB bands:
 *   32->32 3x3 at 149 (Inception 2a) ....... 104-112 / 49-53
 *   32->64 3x3 p1 at 147 (2b) .............. 153-159 / 81-85
 *   80->192 3x3 at 73 (4a) ................. 204-211 / 122-123
 *   3->32 3x3 s2 at 299 (1a) ............... 17-18 / 11-24 (noise)
 * 2 MB and 8 MB bands measured within the noise of 4 MB; 16 MB lost 20-30% again, 512 KB
 * (a band of 4-6 rows: the GEMMs get too narrow) lost 30%. Samples up to 8 MB of columns
 * (the GAN's 128->128 3x3 at 32x32: 4.7 MB; Inception's 35x35 convs: 4-6 MB) stay whole: 8 MB
 * bands ran as fast as 4 MB ones, and an A/B of the GAN shape split in two was inside the
 * shared machine's noise, so they keep the GEMMs they were tuned with. Batched chunks (samples > 1,
 * below 32x32) are bounded by GB_CONV_TARGET_COLS already; capping their columns the same way
 * measured no better. A band's GEMM computes each output column from the same packed column
 * of the same weight matrix as the whole-sample GEMM (OpenBLAS splits sgemm over output rows
 * and columns, never the reduction), and the bands depend on the shape only. */
#define FORWARD_BAND_FLOATS ((size_t)1 << 20)

static gb_conv_chunk forward_chunk(const gb_conv_shape *s, const gb_im2col_geom *g, int K, int M) {
    gb_conv_chunk ch = gb_conv_plan_chunk(s->batch, g->out_h, g->out_w, (size_t)K + (size_t)M);
    size_t sample_cols = (size_t)K * (size_t)g->out_h * (size_t)g->out_w;
    if (ch.samples == 1 && !gb_im2col_is_identity(g) && sample_cols > 2 * FORWARD_BAND_FLOATS) {
        size_t rows = FORWARD_BAND_FLOATS / ((size_t)K * (size_t)g->out_w);
        if (rows < 1) rows = 1;
        if (rows < (size_t)ch.rows) {
            size_t bands = ((size_t)ch.rows + rows - 1) / rows; /* even bands: no narrow last GEMM */
            ch.rows = (int)(((size_t)ch.rows + bands - 1) / bands);
        }
    }
    return ch;
}

void gb_conv2d_forward_gemm_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                                const float *bias, const gb_conv_shape *s) {
    gb_conv_check_shape(s, 0);
    const gb_im2col_geom g = conv_geom(s);
    const int M = s->out_channels, K = s->in_channels * s->kernel_h * s->kernel_w;
    const size_t P = (size_t)g.out_h * (size_t)g.out_w;
    const size_t in_plane = (size_t)s->in_channels * (size_t)s->in_height * (size_t)s->in_width;
    const size_t out_plane = (size_t)M * P;
    const int identity = gb_im2col_is_identity(&g);
    const gb_conv_chunk ch = forward_chunk(s, &g, K, M);

    /* workspace: cols [K, samples*P or rows*out_w], then the chunk's output [M, samples*P] */
    size_t ncols = ch.samples > 1 ? (size_t)ch.samples * P : (size_t)ch.rows * (size_t)g.out_w;
    size_t cols_floats = identity && ch.samples == 1 ? 0 : (size_t)K * ncols;
    size_t tmp_floats = ch.samples > 1 ? (size_t)M * ncols : 0;
    float *cols = cols_floats + tmp_floats ? gb_dev_scratch(dev, (cols_floats + tmp_floats) * sizeof(float)) : NULL;
    float *tmp = cols ? cols + cols_floats : NULL;

    for (int n0 = 0; n0 < s->batch; n0 += ch.samples) {
        int nb = s->batch - n0 < ch.samples ? s->batch - n0 : ch.samples;
        if (ch.samples == 1) {
            const float *x = inp + (size_t)n0 * in_plane;
            float *o = out + (size_t)n0 * out_plane;
            for (int y0 = 0; y0 < g.out_h; y0 += ch.rows) {
                int y1 = y0 + ch.rows < g.out_h ? y0 + ch.rows : g.out_h;
                int bc = (y1 - y0) * g.out_w;
                const float *B = x + (size_t)y0 * (size_t)g.out_w;
                int ldb = (int)P;
                if (!identity) {
                    gb_im2col(dev, &g, cols, (size_t)bc, x, y0, y1);
                    B = cols;
                    ldb = bc;
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, bc, K, 1.0f, weight, K, B,
                            ldb, 0.0f, o + (size_t)y0 * (size_t)g.out_w, (int)P);
            }
            if (bias) gb_conv_add_bias(dev, o, bias, 1, M, P);
        } else {
            size_t ld = (size_t)nb * P;
            gb_im2col_samples(dev, &g, cols, P, ld, inp + (size_t)n0 * in_plane, in_plane, nb, 0, g.out_h);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, (int)ld, K, 1.0f, weight, K, cols,
                        (int)ld, 0.0f, tmp, (int)ld);
            gb_conv_scatter(dev, out + (size_t)n0 * out_plane, out_plane, tmp, bias, nb, M, P);
        }
    }
}

/* When the FFT forward wins. Measured with 2 OpenBLAS threads on the development
 * machine (AMD EPYC Zen 4, 2 cores; other jobs shared it, so each figure is the
 * best of 3-25 interleaved runs), time of FFT / time of GEMM:
 *   U-Net stem 3->64 7x7 p3, 32x32, batch 32 ........ 5.7  (batch 1: 5.3)
 *   Inception Mixed_5b 48->64 5x5 p2, 35x35, b32 ..... 2.4
 *   Inception Mixed_6 128->128 1x7 p(0,3), 17x17 ..... 4.7
 *   Inception Mixed_6 128->128 7x1 p(3,0), 17x17 ..... 14
 *   Inception Mixed_6 192->192 1x7, 17x17 ............ 5.4
 *   Inception Mixed_7 384->384 1x3 p(0,1), 8x8 ....... 2.4
 * so the FFT never wins on the shapes genbench runs: the GEMM runs at 100+
 * GFLOP/s on both cores while the FFTs are single-threaded (FFTW's own threads
 * would be a second pool), every call re-transforms the weights (M*C planes),
 * and the per-bin complex GEMMs are small. It wins only for large square
 * kernels (batch 8, C = M, "same" padding, images 32 and 64):
 *   5x5: 1.4-4.0 except one noisy 0.35;  7x7: 0.6-4.1;  9x9: 0.1-1.75 (loses
 *   at 64 channels, 32x32);  11x11: 0.18-0.70;  15x15: 0.03-0.52.
 * Rule: stride 1 and both kernel sides >= 11. */
int gb_conv2d_uses_fft(const gb_conv_shape *s) {
    return s->stride_h == 1 && s->stride_w == 1 && s->kernel_h >= 11 && s->kernel_w >= 11;
}

/* When Winograd F(4x4,3x3) (kernels/cpu/conv_winograd.c) wins. Batch 64, C -> C 3x3 p1,
 * 2 threads on the shared development machine (Zen 4, load average 11-15 during the
 * runs, so +-30%), best of 5-15 interleaved runs, ms Winograd / ms GEMM path:
 *             forward        backward-data   backward-weight
 *   C 128 32x32: 179 / 329      181 / ~330      242 / 375       (1.5-1.8x)
 *   C 128 16x16:  70 / 119       75 / ~120       85 / 133       (1.6x)
 *   C 128  8x8:   25 / 32        26 / ~33        26 / 33        (1.25-1.3x)
 *   C 128  4x4:   13 / 8.2       14 / ~9         14 / 9.6       (GEMM 1.5x faster)
 *   C  64 32x32: 123 / 147      121 / -         172 / 194       (1.1-1.2x)
 *   C  32 16x16:  13 / 12        15 / -          17 / 17        (even)
 *   C  16 16x16: 7.8 / 2.4      2.6 / -         6.8 / 10        (mixed, noise-level times)
 * Below 8x8 outputs the per-tile transforms (one 4x4 tile per image row) cost more than
 * the 4x flop saving; below 64 channels the GEMMs are too small to matter. Rule: 3x3,
 * stride 1, padding <= 2 (so backward-data's 2 - p is not a crop), both channel counts
 * >= 64, output at least 8x8. */
int gb_conv2d_uses_winograd(const gb_conv_shape *s) {
    return s->kernel_h == 3 && s->kernel_w == 3 && s->stride_h == 1 && s->stride_w == 1 &&
           s->pad_h <= 2 && s->pad_w <= 2 && s->in_channels >= 64 && s->out_channels >= 64 &&
           gb_conv_out_h(s) >= 8 && gb_conv_out_w(s) >= 8;
}

/* Under --conv fast, Winograd where it beat the register tiles of conv_small_planes.c too: with
 * both available (batch 64, 128 -> 128, ms min over a bench run, forward / dinp / dweight) the tiles
 * won at 8x8 (5.8-6.2 / 6.0 / 6.0 against 6.3-7.7 / 5.6-7.5 / 6.3-8.1), tied at 16x16 (23-25 / 23 /
 * 25 against 22 / 18 / 21, medians the other way), and lost at 32x32 (98 / 91 / 108 against 94 / 73
 * / 87); in the critic's whole forward+backward (8x8 and 16x16 layers) Winograd made it 1.09x
 * PyTorch against the tiles' 1.39x. So Winograd keeps the planes of 32x32 outputs and more. */
static int fast_winograd(const gb_device *dev, const gb_conv_shape *s) {
    return dev->fast_conv && gb_conv2d_uses_winograd(s) &&
           (!gb_conv2d_uses_small_planes(s) || gb_conv_out_h(s) * gb_conv_out_w(s) >= 32 * 32);
}

void gb_conv2d_forward_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                           const float *bias, const gb_conv_shape *s) {
    if (fast_winograd(dev, s))
        gb_conv2d_forward_winograd_cpu(dev, out, inp, weight, bias, s);
    else if (gb_conv2d_uses_small_planes_forward(s))
        gb_conv2d_forward_small_planes_cpu(dev, out, inp, weight, bias, s);
    else if (gb_conv2d_uses_direct(s))
        gb_conv2d_forward_direct_cpu(dev, out, inp, weight, bias, s);
    else if (gb_conv2d_uses_few_inputs(s))
        gb_conv2d_forward_few_inputs_cpu(dev, out, inp, weight, bias, s);
    else if (gb_conv2d_uses_fft(s))
        gb_conv2d_forward_fft_cpu(dev, out, inp, weight, bias, s);
    else
        gb_conv2d_forward_gemm_cpu(dev, out, inp, weight, bias, s);
}

void gb_conv2d_backward_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp, const float *weight,
                            const gb_conv_shape *s) {
    if (fast_winograd(dev, s))
        gb_conv2d_backward_winograd_cpu(dev, dinp, dweight, dbias, dout, inp, weight, s);
    else if (gb_conv2d_uses_small_planes(s))
        gb_conv2d_backward_small_planes_cpu(dev, dinp, dweight, dbias, dout, inp, weight, s);
    else if (gb_conv2d_uses_direct(s))
        gb_conv2d_backward_direct_cpu(dev, dinp, dweight, dbias, dout, inp, weight, s);
    else if (dinp && gb_conv2d_uses_small_planes_data(s)) {
        gb_conv2d_backward_gemm_cpu(dev, NULL, dweight, dbias, dout, inp, weight, s);
        gb_conv2d_backward_data_small_planes_cpu(dev, dinp, dout, weight, s);
    } else
        gb_conv2d_backward_gemm_cpu(dev, dinp, dweight, dbias, dout, inp, weight, s);
}

void gb_conv2d_backward_gemm_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                 const float *dout, const float *inp, const float *weight,
                                 const gb_conv_shape *s) {
    gb_conv_check_shape(s, 0);
    const gb_im2col_geom g = conv_geom(s);
    const int M = s->out_channels, K = s->in_channels * s->kernel_h * s->kernel_w;
    const size_t P = (size_t)g.out_h * (size_t)g.out_w;
    const size_t in_plane = (size_t)s->in_channels * (size_t)s->in_height * (size_t)s->in_width;
    const size_t out_plane = (size_t)M * P;
    const int identity = gb_im2col_is_identity(&g);

    if (dbias) gb_conv_bias_grad(dev, dbias, dout, s->batch, M, P);
    if (!dinp && !dweight) return;

    const gb_conv_chunk ch = gb_conv_plan_chunk(s->batch, g.out_h, g.out_w, (size_t)K + (size_t)M);
    /* workspace: cols / dcols [K, ncols] (one buffer: dweight reads cols before
     * dinp's GEMM overwrites it), then the gathered dout [M, samples*P] */
    size_t ncols = ch.samples > 1 ? (size_t)ch.samples * P : (size_t)ch.rows * (size_t)g.out_w;
    size_t cols_floats = identity && ch.samples == 1 ? 0 : (size_t)K * ncols;
    size_t dbuf_floats = ch.samples > 1 ? (size_t)M * ncols : 0;
    float *cols = cols_floats + dbuf_floats ? gb_dev_scratch(dev, (cols_floats + dbuf_floats) * sizeof(float)) : NULL;
    float *dbuf = cols ? cols + cols_floats : NULL;

    for (int n0 = 0; n0 < s->batch; n0 += ch.samples) {
        int nb = s->batch - n0 < ch.samples ? s->batch - n0 : ch.samples;
        if (ch.samples == 1) {
            const float *x = inp + (size_t)n0 * in_plane;
            const float *d = dout + (size_t)n0 * out_plane;
            float *dx = dinp ? dinp + (size_t)n0 * in_plane : NULL;
            if (dx && !identity) memset(dx, 0, in_plane * sizeof *dx);
            for (int y0 = 0; y0 < g.out_h; y0 += ch.rows) {
                int y1 = y0 + ch.rows < g.out_h ? y0 + ch.rows : g.out_h;
                int bc = (y1 - y0) * g.out_w;
                const float *D = d + (size_t)y0 * (size_t)g.out_w;
                if (dweight) {
                    const float *B = x + (size_t)y0 * (size_t)g.out_w;
                    int ldb = (int)P;
                    if (!identity) {
                        gb_im2col(dev, &g, cols, (size_t)bc, x, y0, y1);
                        B = cols;
                        ldb = bc;
                    }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, bc, 1.0f, D, (int)P, B,
                                ldb, 1.0f, dweight, K);
                }
                if (dx && identity) {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, bc, M, 1.0f, weight, K, D,
                                (int)P, 0.0f, dx + (size_t)y0 * (size_t)g.out_w, (int)P);
                } else if (dx) {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, bc, M, 1.0f, weight, K, D,
                                (int)P, 0.0f, cols, bc);
                    gb_col2im_add(dev, &g, dx, cols, (size_t)bc, y0, y1);
                }
            }
        } else {
            size_t ld = (size_t)nb * P;
            gb_conv_gather(dev, dbuf, dout + (size_t)n0 * out_plane, out_plane, nb, M, P);
            if (dweight) {
                gb_im2col_samples(dev, &g, cols, P, ld, inp + (size_t)n0 * in_plane, in_plane, nb, 0, g.out_h);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, (int)ld, 1.0f, dbuf, (int)ld,
                            cols, (int)ld, 1.0f, dweight, K);
            }
            if (dinp) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, (int)ld, M, 1.0f, weight, K, dbuf,
                            (int)ld, 0.0f, cols, (int)ld);
                float *dx = dinp + (size_t)n0 * in_plane;
                if (identity) {
                    gb_conv_scatter(dev, dx, in_plane, cols, NULL, nb, K, P);
                } else {
                    memset(dx, 0, (size_t)nb * in_plane * sizeof *dx);
                    gb_col2im_add_samples(dev, &g, dx, in_plane, cols, P, ld, nb, 0, g.out_h);
                }
            }
        }
    }
}
