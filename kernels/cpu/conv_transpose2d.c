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
 * Tested by tests/test_kernels_conv.c (float64 references, finite differences,
 * PyTorch fixtures with stride, padding and output_padding, the gradient contract).
 */
#include <cblas.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/im2col.h"

/* The geometry of the output image as seen by im2col: a window grid of H x W. */
static gb_im2col_geom transpose_geom(const gb_conv_shape *s) {
    gb_im2col_geom g = {s->out_channels, gb_conv_transpose_out_h(s), gb_conv_transpose_out_w(s),
                        s->kernel_h,     s->kernel_w,                s->stride_h,
                        s->stride_w,     s->pad_h,                   s->pad_w,
                        s->in_height,    s->in_width};
    return g;
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
    const gb_conv_chunk ch = gb_conv_plan_chunk(s->batch, g.out_h, g.out_w, (size_t)K + (size_t)Ci);

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
                for (int j = 0; j < nb; j++)
                    gb_col2im_add(dev, &g, o + (size_t)j * out_plane, cols + (size_t)j * P, ld, 0, g.out_h);
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

    const gb_conv_chunk ch = gb_conv_plan_chunk(s->batch, g.out_h, g.out_w, (size_t)K + (size_t)Ci);
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
            for (int j = 0; j < nb; j++)
                gb_im2col(dev, &g, cols + (size_t)j * P, ld, d + (size_t)j * out_plane, 0, g.out_h);
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
