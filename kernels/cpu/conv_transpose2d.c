/* kernels/cpu/conv_transpose2d.c - transposed convolution (PyTorch's F.conv_transpose2d), CPU.
 *
 * inp [N, Ci, H, W], weight [Ci, Co, kh, kw] (PyTorch's layout), out [N, Co, Ho, Wo]
 * with Ho = (H-1)*sh - 2*ph + kh + output_padding_h (likewise Wo). It is the adjoint
 * of the conv2d that maps [Co, Ho, Wo] to [Ci, H, W] with the same kernel, stride
 * and padding: a window grid of exactly H x W over the output (output_padding < stride
 * guarantees it). With im2col over the OUTPUT geometry (kernels/cpu/im2col.h),
 * K = Co*kh*kw, P = H*W and W the weight as [Ci, K]:
 *   forward:  out[n]   = col2im(W^T @ inp[n]) + bias
 *   backward: dinp[n]  = W @ im2col(dout[n])             (overwrite; NULL: skip)
 *             dweight += inp[n] @ im2col(dout[n])^T       (accumulate; NULL: skip)
 *             dbias   += sum over n, y, x of dout         (double, fixed order; NULL: skip)
 * Small images batch several samples into one GEMM as conv2d does (gather, GEMM,
 * scatter); a 1x1 stride-1 unpadded one is a single sgemm per sample. Deterministic
 * for the same reasons as conv2d (shape-only chunking, fixed col2im order).
 * Speed (issue 3, VAE decoder ConvT 4x4 s2 p1, batch 64, 2 threads, ratio = the equivalent
 * single OpenBLAS sgemm's median / ours, same run, noisy shared 2-core machine): batched
 * chunks are capped at an L2-sized column buffer (transpose_chunk) and a chunk's per-sample
 * col2im / im2col run as one gb_parallel_for over samples (gb_col2im_add_samples / gb_im2col_samples)
 * instead of one call per sample. Before -> after, fwd / bwd_data / bwd_weight:
 * 128->128 at 4x4 0.56 / 0.61 / 0.63 -> 0.72 / 0.73 / 0.80; 128->64 at 8x8 0.77 / 0.75 /
 * 0.75 -> 0.83 / 0.84 / 0.91; 64->32 at 16x16 ~0.75 / ~0.9 / ~0.8 -> 0.73-0.77 / 0.94 /
 * 0.89-1.1. The 4x4 layer's remaining gap is col2im and the gather around a GEMM of only
 * 128-deep dots; a sub-pixel (phase) decomposition would remove col2im but sums 4*Ci terms
 * per dot (a wider error bound than the documented (Ci + kh*kw + 2) u S).
 * Tested by tests/test_kernels_conv.c (float64 references, finite differences,
 * PyTorch fixtures with stride, padding and output_padding, the gradient contract).
 */
#include <cblas.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/parallel.h"

/* The geometry of the output image as seen by im2col: a window grid of H x W. */
static gb_im2col_geom transpose_geom(const gb_conv_shape *s) {
    gb_im2col_geom g = {s->out_channels, gb_conv_transpose_out_h(s), gb_conv_transpose_out_w(s),
                        s->kernel_h,     s->kernel_w,                s->stride_h,
                        s->stride_w,     s->pad_h,                   s->pad_w,
                        s->in_height,    s->in_width};
    return g;
}

/* The sample chunking: gb_conv_plan_chunk's, with batched chunks of small images cut down
 * so that the column buffer [K, samples*P] stays within GB_CONVT_COLS_BYTES (the L2 of one
 * core here) but keeps at least GB_CONVT_MIN_COLS columns for the GEMM: a transposed conv's
 * K = Co*kh*kw is large (2048 on the VAE's first ConvT), so the shared plan's 2048 columns
 * made an 8 MiB buffer that the GEMM wrote and col2im (or the dinp GEMM) read back from L3.
 * 1 MiB and 2 MiB measured alike (2 MiB a little ahead on 4x4). Shape-only, so results stay
 * reproducible; any chunking stays within tests/tolerances.md's bounds (blocking-free). */
enum { GB_CONVT_MIN_COLS = 256 };
#define GB_CONVT_COLS_BYTES ((size_t)2 << 20)

static gb_conv_chunk transpose_chunk(const gb_conv_shape *s, const gb_im2col_geom *g, size_t K, size_t Ci) {
    gb_conv_chunk ch = gb_conv_plan_chunk(s->batch, g->out_h, g->out_w, K + Ci);
    if (ch.samples > 1) {
        size_t P = (size_t)g->out_h * (size_t)g->out_w;
        size_t want = GB_CONVT_COLS_BYTES / (K * sizeof(float) * P);
        if (want * P < GB_CONVT_MIN_COLS) want = (GB_CONVT_MIN_COLS + P - 1) / P;
        if (want < (size_t)ch.samples) ch.samples = want > 1 ? (int)want : 1;
    }
    return ch;
}

void gb_conv_transpose2d_forward_cpu(gb_device *dev, float *out, const float *inp,
                                     const float *weight, const float *bias,
                                     const gb_conv_shape *s) {
    gb_conv_check_shape(s, 1);
    const gb_im2col_geom g = transpose_geom(s);
    const int Ci = s->in_channels, K = s->out_channels * s->kernel_h * s->kernel_w;
    const size_t P = (size_t)g.out_h * (size_t)g.out_w;
    const size_t in_plane = (size_t)Ci * P;
    const size_t out_plane = (size_t)s->out_channels * (size_t)g.height * (size_t)g.width;
    const int identity = gb_im2col_is_identity(&g);
    const gb_conv_chunk ch = transpose_chunk(s, &g, (size_t)K, (size_t)Ci);

    /* workspace: cols [K, ncols], then the gathered input [Ci, samples*P] */
    size_t ncols = ch.samples > 1 ? (size_t)ch.samples * P : (size_t)ch.rows * (size_t)g.out_w;
    size_t cols_floats = identity && ch.samples == 1 ? 0 : (size_t)K * ncols;
    size_t ibuf_floats = ch.samples > 1 ? (size_t)Ci * ncols : 0;
    float *cols = cols_floats + ibuf_floats ? gb_dev_scratch(dev, (cols_floats + ibuf_floats) * sizeof(float)) : NULL;
    float *ibuf = cols ? cols + cols_floats : NULL;

    for (int n0 = 0; n0 < s->batch; n0 += ch.samples) {
        int nb = s->batch - n0 < ch.samples ? s->batch - n0 : ch.samples;
        float *o = out + (size_t)n0 * out_plane;
        if (ch.samples == 1) {
            const float *x = inp + (size_t)n0 * in_plane;
            if (identity) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, (int)P, Ci, 1.0f, weight, K, x,
                            (int)P, 0.0f, o, (int)P);
            } else {
                memset(o, 0, out_plane * sizeof *o);
                for (int y0 = 0; y0 < g.out_h; y0 += ch.rows) {
                    int y1 = y0 + ch.rows < g.out_h ? y0 + ch.rows : g.out_h;
                    int bc = (y1 - y0) * g.out_w;
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, bc, Ci, 1.0f, weight, K,
                                x + (size_t)y0 * (size_t)g.out_w, (int)P, 0.0f, cols, bc);
                    gb_col2im_add(dev, &g, o, cols, (size_t)bc, y0, y1);
                }
            }
        } else {
            size_t ld = (size_t)nb * P;
            gb_conv_gather(dev, ibuf, inp + (size_t)n0 * in_plane, in_plane, nb, Ci, P);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, (int)ld, Ci, 1.0f, weight, K, ibuf,
                        (int)ld, 0.0f, cols, (int)ld);
            if (identity) {
                gb_conv_scatter(dev, o, out_plane, cols, NULL, nb, K, P);
            } else {
                memset(o, 0, (size_t)nb * out_plane * sizeof *o);
                gb_col2im_add_samples(dev, &g, o, out_plane, cols, P, ld, nb, 0, g.out_h);
            }
        }
        if (bias) gb_conv_add_bias(dev, o, bias, nb, s->out_channels, (size_t)g.height * (size_t)g.width);
    }
}

void gb_conv_transpose2d_backward_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                      const float *dout, const float *inp, const float *weight,
                                      const gb_conv_shape *s) {
    gb_conv_check_shape(s, 1);
    const gb_im2col_geom g = transpose_geom(s);
    const int Ci = s->in_channels, K = s->out_channels * s->kernel_h * s->kernel_w;
    const size_t P = (size_t)g.out_h * (size_t)g.out_w;
    const size_t in_plane = (size_t)Ci * P;
    const size_t out_plane = (size_t)s->out_channels * (size_t)g.height * (size_t)g.width;
    const int identity = gb_im2col_is_identity(&g);

    if (dbias)
        gb_conv_bias_grad(dev, dbias, dout, s->batch, s->out_channels, (size_t)g.height * (size_t)g.width);
    if (!dinp && !dweight) return;

    const gb_conv_chunk ch = transpose_chunk(s, &g, (size_t)K, (size_t)Ci);
    /* workspace: cols = im2col(dout) [K, ncols], then [Ci, samples*P], first the
     * gathered input (for dweight), then dinp's product before its scatter */
    size_t ncols = ch.samples > 1 ? (size_t)ch.samples * P : (size_t)ch.rows * (size_t)g.out_w;
    size_t cols_floats = identity && ch.samples == 1 ? 0 : (size_t)K * ncols;
    size_t ibuf_floats = ch.samples > 1 ? (size_t)Ci * ncols : 0;
    float *cols = cols_floats + ibuf_floats ? gb_dev_scratch(dev, (cols_floats + ibuf_floats) * sizeof(float)) : NULL;
    float *ibuf = cols ? cols + cols_floats : NULL;

    for (int n0 = 0; n0 < s->batch; n0 += ch.samples) {
        int nb = s->batch - n0 < ch.samples ? s->batch - n0 : ch.samples;
        const float *d = dout + (size_t)n0 * out_plane;
        if (ch.samples == 1) {
            const float *x = inp + (size_t)n0 * in_plane;
            float *dx = dinp ? dinp + (size_t)n0 * in_plane : NULL;
            for (int y0 = 0; y0 < g.out_h; y0 += ch.rows) {
                int y1 = y0 + ch.rows < g.out_h ? y0 + ch.rows : g.out_h;
                int bc = (y1 - y0) * g.out_w;
                const float *B = d + (size_t)y0 * (size_t)g.out_w;
                int ldb = (int)P;
                if (!identity) {
                    gb_im2col(dev, &g, cols, (size_t)bc, d, y0, y1);
                    B = cols;
                    ldb = bc;
                }
                if (dweight)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Ci, K, bc, 1.0f,
                                x + (size_t)y0 * (size_t)g.out_w, (int)P, B, ldb, 1.0f, dweight, K);
                if (dx)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Ci, bc, K, 1.0f, weight, K, B,
                                ldb, 0.0f, dx + (size_t)y0 * (size_t)g.out_w, (int)P);
            }
        } else {
            size_t ld = (size_t)nb * P;
            gb_im2col_samples(dev, &g, cols, P, ld, d, out_plane, nb, 0, g.out_h);
            if (dweight) {
                gb_conv_gather(dev, ibuf, inp + (size_t)n0 * in_plane, in_plane, nb, Ci, P);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Ci, K, (int)ld, 1.0f, ibuf, (int)ld,
                            cols, (int)ld, 1.0f, dweight, K);
            }
            if (dinp) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Ci, (int)ld, K, 1.0f, weight, K,
                            cols, (int)ld, 0.0f, ibuf, (int)ld);
                gb_conv_scatter(dev, dinp + (size_t)n0 * in_plane, in_plane, ibuf, NULL, nb, Ci, P);
            }
        }
    }
}
