/* kernels/cpu/im2col.h - the lowering shared by the CPU convolution kernels.
 *
 * A convolution window geometry maps an image [channels, height, width] onto a
 * column matrix cols [channels*kernel_h*kernel_w, out_h*out_w]: row
 * (c*kernel_h + i)*kernel_w + j, column y*out_w + x holds
 * img[c, y*stride_h - pad_h + i, x*stride_w - pad_w + j] (0 outside the image).
 * The row order is the flattening of a weight [.., channels, kernel_h, kernel_w],
 * so a convolution is one GEMM with the weight matrix. conv2d uses it on its
 * input; conv_transpose2d on its output (the transposed convolution is the
 * adjoint of this map), so both families share every routine here.
 *
 * Work is cut into chunks (whole samples, or row bands of one sample when a
 * sample's columns alone exceed the budget) so the workspace stays bounded while
 * each GEMM keeps enough columns to run near the BLAS rate; the chunking depends
 * on the shape only, so results are bitwise reproducible. im2col and col2im run over
 * channels through gb_parallel_for (dev's threads): a channel's rows and image plane
 * belong to one slice, so the bits do not depend on the thread count. The other helpers here
 * (batch gather / scatter, bias, zero-bordered planes, shape checks) serve the conv kernels that
 * do not lower (direct loops, register tiles) as well.
 * Tested through tests/test_kernels_conv.c.
 */
#ifndef GB_KERNELS_CPU_IM2COL_H
#define GB_KERNELS_CPU_IM2COL_H

#include <stddef.h>

#include "kernels/kernels.h"
#include "kernels/shapes.h"

typedef struct {
    int channels, height, width; /* the image */
    int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
    int out_h, out_w; /* the window grid (columns = out_h*out_w) */
} gb_im2col_geom;

/* cols[r*ld + (y - y0)*out_w + x] for window rows y in [y0, y1), every row r
 * (written in full: padding positions get 0). */
void gb_im2col(const gb_device *dev, const gb_im2col_geom *g, float *cols, size_t ld, const float *img, int y0,
               int y1);

/* The adjoint: img[c, iy, ix] += every cols entry that im2col would have read from
 * it, for window rows [y0, y1). Contributions are added in a fixed order (row r
 * ascending, then window position), so the result is deterministic. img is not
 * cleared here (callers overwrite by zeroing first, or accumulate bands). cols is
 * workspace: its entries at padding positions may be overwritten with 0, and those zeros
 * may be added to the pixel a row edge wraps to (so an img entry of -0.0 can become +0.0;
 * every other value is unchanged by it). */
void gb_col2im_add(const gb_device *dev, const gb_im2col_geom *g, float *img, float *cols, size_t ld, int y0,
                   int y1);

/* The same for a batch of `samples` images side by side: image j at img + j*img_stride, its
 * columns at cols + j*cols_stride (window rows [y0, y1), row length ld for all). One
 * gb_parallel_for over the samples, each formed exactly as the single-image call forms it, so
 * the bits are those of a loop of single calls (which is what one sample runs); on small images
 * one call per sample was mostly thread wake-ups. */
void gb_im2col_samples(const gb_device *dev, const gb_im2col_geom *g, float *cols, size_t cols_stride, size_t ld,
                       const float *img, size_t img_stride, int samples, int y0, int y1);
void gb_col2im_add_samples(const gb_device *dev, const gb_im2col_geom *g, float *img, size_t img_stride, float *cols,
                           size_t cols_stride, size_t ld, int samples, int y0, int y1);

/* kernels/cpu/im2col_vector.c: the batched calls above on whole small "same" planes (stride 1,
 * output grid = image, positions a multiple of 16 up to 256 for im2col and 64 for col2im
 * (adjoint != 0), kernels up to 3x3) by vector shuffles; gb_im2col_samples and
 * gb_col2im_add_samples take it for more than one sample where gb_im2col_vector_applies says.
 * Same bits as the general route (col2im: +0 added where a tap falls outside the image, as the
 * flat route does). */
int gb_im2col_vector_applies(const gb_im2col_geom *g, int y0, int y1, int adjoint);
void gb_im2col_vector_samples(const gb_device *dev, const gb_im2col_geom *g, float *cols, size_t cols_stride,
                              size_t ld, const float *img, size_t img_stride, int samples);
void gb_col2im_add_vector_samples(const gb_device *dev, const gb_im2col_geom *g, float *img, size_t img_stride,
                                  float *cols, size_t cols_stride, size_t ld, int samples);

/* 1 when im2col is the identity (1x1 kernel, stride 1, no padding): cols = img. */
int gb_im2col_is_identity(const gb_im2col_geom *g);

/* How a GEMM-lowered op walks the batch: `samples` whole samples per chunk, or
 * (samples == 1 and rows < out_h) bands of `rows` window rows of one sample. */
typedef struct {
    int samples;
    int rows;
} gb_conv_chunk;

/* Chunking constants, measured on the CMU GAN shapes (kernels/cpu/conv2d.c has
 * the numbers): a sample with at least GB_CONV_DIRECT_COLS positions (32x32) is
 * one GEMM on its own, written straight into the output (no gather/scatter, its
 * columns stay in cache); smaller images are batched until a GEMM has
 * GB_CONV_TARGET_COLS columns (8 samples at 16x16, 32 at 8x8). 4096 was no faster
 * than 2048 and doubles the workspace; 1024 lost ~10% at 8x8. */
enum { GB_CONV_DIRECT_COLS = 1024, GB_CONV_TARGET_COLS = 2048 };
#define GB_CONV_WORKSPACE_BYTES ((size_t)64 << 20)

/* Chunking for `batch` samples of out_h*out_w columns each, where a column costs
 * `floats_per_col` floats of workspace; the workspace stays under
 * GB_CONV_WORKSPACE_BYTES (bands of rows when a single sample exceeds it). */
gb_conv_chunk gb_conv_plan_chunk(int batch, int out_h, int out_w, size_t floats_per_col);

/* dst[r, j*cols + p] = src[j*src_stride + r*cols + p] for j < samples, r < rows,
 * p < cols: a batch of [rows, cols] matrices side by side in one [rows, samples*cols]. */
void gb_conv_gather(const gb_device *dev, float *dst, const float *src, size_t src_stride, int samples, int rows,
                    size_t cols);
/* The inverse placement, adding bias[r] when bias is not NULL:
 * dst[j*dst_stride + r*cols + p] = src[r, j*cols + p] + bias[r]. */
void gb_conv_scatter(const gb_device *dev, float *dst, size_t dst_stride, const float *src, const float *bias,
                     int samples, int rows, size_t cols);

/* out[n, c, p] += bias[c] over batch n, channels c and `positions` p. */
void gb_conv_add_bias(const gb_device *dev, float *out, const float *bias, int batch, int channels, size_t positions);
/* dbias[c] += sum over n, p of dout[n, c, p]: double sums, n then p ascending. */
void gb_conv_bias_grad(const gb_device *dev, float *dbias, const float *dout, int batch, int channels, size_t positions);

/* dst [rows, cols] = src [h, w] placed with its first element at (top, left) (either may be
 * negative: the part outside dst is cropped), zero elsewhere: the zero-bordered planes the direct
 * loops (conv_direct.c, conv_few_inputs.c) and the register tiles' weight gradient
 * (conv_small_planes.c) read, so every tap reads a full window with no edge cases. */
void gb_pad_plane(float *dst, int rows, int cols, const float *src, int h, int w, int top, int left);

/* Programmer-error checks of a conv shape (abort with the offending fields):
 * positive sizes, non-negative padding, a non-empty output; for the transposed
 * convolution (transpose != 0) output_padding in [0, stride), as PyTorch. */
void gb_conv_check_shape(const gb_conv_shape *s, int transpose);
/* The same for upsample_conv2d's conv at the upsampled size (both backends): stride 1, odd
 * kernels with "same" padding (the only form UpSampleConv2D takes), an even-sized image. */
void gb_upsample_conv2d_check_shape(const gb_conv_shape *s);

#endif
