/* kernels/cpu/im2col.c - im2col / col2im, batch gather / scatter, bias helpers (CPU).
 *
 * The lowering behind every GEMM convolution in kernels/cpu/ (see im2col.h for
 * the layout). im2col copies whole runs of a window row with memcpy when the
 * stride is 1 (the common case), so it runs at memory speed; the valid x range
 * of each kernel column is computed once, outside the row loops, which keeps the
 * inner loops branch-free. The copies run on kernels/cpu/parallel.h's pool (over
 * channels, or over the samples of a batched chunk), between the GEMMs on OpenBLAS's. A batched
 * chunk of whole small "same" planes (the GAN's 4x4 to 16x16 3x3 convs) is lowered by vector
 * shuffles instead (kernels/cpu/im2col_vector.c), with the same bits.
 * Tested by tests/test_kernels_im2col.c (both directions against their definition, bit
 * for bit) and through tests/test_kernels_conv.c (every conv op against float64
 * references and PyTorch on awkward shapes).
 */
#include "kernels/cpu/im2col.h"

#include "kernels/cpu/parallel.h"

#include <string.h>

#include "core/status.h"

/* floor(a / b) for b > 0 and any sign of a */
static int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* The window columns x whose tap j lands inside the image: x in [*lo, *hi). */
static void valid_x(const gb_im2col_geom *g, int j, int *lo, int *hi) {
    int off = g->pad_w - j; /* ix = x*stride_w - off */
    int l = off > 0 ? floor_div(off + g->stride_w - 1, g->stride_w) : 0;
    int h = floor_div(g->width - 1 + off, g->stride_w) + 1;
    if (h > g->out_w) h = g->out_w;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* A batch of lowerings: one parallel call over the samples (see im2col.h). */
typedef struct {
    const gb_device *dev;
    const gb_im2col_geom *g;
    float *cols, *img;
    const float *cimg;
    size_t cols_stride, img_stride, ld;
    int y0, y1, adjoint; /* adjoint: col2im_add into img; else im2col of cimg */
} samples_job;

static void lower_samples(void *ctx, size_t begin, size_t end, int slice) {
    (void)slice;
    const samples_job *j = ctx;
    for (size_t k = begin; k < end; k++) {
        if (j->adjoint)
            gb_col2im_add(j->dev, j->g, j->img + k * j->img_stride, j->cols + k * j->cols_stride, j->ld, j->y0, j->y1);
        else
            gb_im2col(j->dev, j->g, j->cols + k * j->cols_stride, j->ld, j->cimg + k * j->img_stride, j->y0, j->y1);
    }
}

void gb_im2col_samples(const gb_device *dev, const gb_im2col_geom *g, float *cols, size_t cols_stride, size_t ld,
                       const float *img, size_t img_stride, int samples, int y0, int y1) {
    if (samples == 1) { /* keep the per-channel split for a lone sample */
        gb_im2col(dev, g, cols, ld, img, y0, y1);
        return;
    }
    if (gb_im2col_vector_applies(g, y0, y1, 0)) {
        gb_im2col_vector_samples(dev, g, cols, cols_stride, ld, img, img_stride, samples);
        return;
    }
    samples_job j = {.dev = dev, .g = g, .cols = cols, .cimg = img, .cols_stride = cols_stride,
                     .img_stride = img_stride, .ld = ld, .y0 = y0, .y1 = y1, .adjoint = 0};
    gb_parallel_for(dev, (size_t)samples, 1, lower_samples, &j);
}

void gb_col2im_add_samples(const gb_device *dev, const gb_im2col_geom *g, float *img, size_t img_stride, float *cols,
                           size_t cols_stride, size_t ld, int samples, int y0, int y1) {
    if (samples == 1) {
        gb_col2im_add(dev, g, img, cols, ld, y0, y1);
        return;
    }
    if (gb_im2col_vector_applies(g, y0, y1, 1)) {
        gb_col2im_add_vector_samples(dev, g, img, img_stride, cols, cols_stride, ld, samples);
        return;
    }
    samples_job j = {.dev = dev, .g = g, .cols = cols, .img = img, .cols_stride = cols_stride,
                     .img_stride = img_stride, .ld = ld, .y0 = y0, .y1 = y1, .adjoint = 1};
    gb_parallel_for(dev, (size_t)samples, 1, lower_samples, &j);
}

int gb_im2col_is_identity(const gb_im2col_geom *g) {
    return g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 && g->stride_w == 1 &&
           g->pad_h == 0 && g->pad_w == 0;
}

/* Stride 1 with out_w == width ("same" padding along x, the common case): a
 * window row and its image row are both `width` floats long, so one tap's whole
 * valid band is a single contiguous run in both the image and the columns. It is
 * copied (or added) in one pass; only the positions that wrap around a row edge
 * (x < lo or x >= hi) need fixing. For small images this replaces out_h short
 * copies per tap, whose call overhead dominated at 8x8. */
static int flat_rows(const gb_im2col_geom *g) {
    return g->stride_h == 1 && g->stride_w == 1 && g->out_w == g->width;
}

/* The window rows y in [y0, y1) whose tap row i lands inside the image: [*ya, *yb). */
static void valid_y(const gb_im2col_geom *g, int i, int y0, int y1, int *ya, int *yb) {
    int a = g->pad_h - i > y0 ? g->pad_h - i : y0;
    int b = g->height + g->pad_h - i < y1 ? g->height + g->pad_h - i : y1;
    *ya = a;
    *yb = b > a ? b : a;
}

/* p[0 .. n) = 0 for the padding-wide runs of clear_wrapped. Written as stores, not a loop:
 * GCC turns a zeroing loop into a memset call, and one call per image row for 1 or 2 floats
 * was 3% of a WGAN-GP critic step. */
static void zero_few(float *p, int n) {
    switch (n) {
    case 4: p[3] = 0.0f; __attribute__((fallthrough));
    case 3: p[2] = 0.0f; __attribute__((fallthrough));
    case 2: p[1] = 0.0f; __attribute__((fallthrough));
    case 1: p[0] = 0.0f; __attribute__((fallthrough));
    case 0: break;
    default: memset(p, 0, (size_t)n * sizeof *p);
    }
}

/* Zero the wrapped positions of a flat band: x < lo on rows after ya, x >= hi on
 * rows before yb - 1 (the first and last rows' outer parts lie outside the band). */
static void clear_wrapped(float *row, int ow, int lo, int hi, int ya, int yb, int y0) {
    if (lo == 0 && hi == ow) return;
    for (int y = ya; y < yb; y++) {
        float *r = row + (size_t)(y - y0) * (size_t)ow;
        if (y > ya) zero_few(r, lo);
        if (y < yb - 1) zero_few(r + hi, ow - hi);
    }
}

static void im2col_row(const gb_im2col_geom *g, float *row, const float *src_c, int i, int j, int y0,
                       int y1) {
    const int ow = g->out_w, sw = g->stride_w;
    int lo, hi;
    valid_x(g, j, &lo, &hi);
    const int shift = j - g->pad_w; /* ix = x*sw + shift */
    if (flat_rows(g)) {
        int ya, yb;
        valid_y(g, i, y0, y1, &ya, &yb);
        size_t total = (size_t)(y1 - y0) * (size_t)ow;
        if (lo >= hi || ya >= yb) {
            memset(row, 0, total * sizeof *row);
            return;
        }
        size_t d0 = (size_t)(ya - y0) * (size_t)ow + (size_t)lo;
        size_t d1 = (size_t)(yb - 1 - y0) * (size_t)ow + (size_t)hi;
        const float *src = src_c + (size_t)(ya - g->pad_h + i) * (size_t)g->width + (size_t)(lo + shift);
        memset(row, 0, d0 * sizeof *row);
        memcpy(row + d0, src, (d1 - d0) * sizeof *row);
        memset(row + d1, 0, (total - d1) * sizeof *row);
        clear_wrapped(row, ow, lo, hi, ya, yb, y0);
        return;
    }
    for (int y = y0; y < y1; y++) {
        float *dst = row + (size_t)(y - y0) * (size_t)ow;
        int iy = y * g->stride_h - g->pad_h + i;
        if (iy < 0 || iy >= g->height || lo >= hi) {
            memset(dst, 0, (size_t)ow * sizeof *dst);
            continue;
        }
        const float *src = src_c + (size_t)iy * (size_t)g->width;
        if (lo > 0) memset(dst, 0, (size_t)lo * sizeof *dst);
        if (sw == 1) {
            memcpy(dst + lo, src + lo + shift, (size_t)(hi - lo) * sizeof *dst);
        } else {
            for (int x = lo; x < hi; x++) dst[x] = src[x * sw + shift];
        }
        if (hi < ow) memset(dst + hi, 0, (size_t)(ow - hi) * sizeof *dst);
    }
}

/* One parallel call over channels: channel c owns cols rows c*kh*kw .. (c+1)*kh*kw - 1 and
 * image plane c, so slices never touch the same memory and each row is formed as before. */
typedef struct {
    const gb_im2col_geom *g;
    float *cols, *img;
    const float *cimg;
    size_t ld;
    int y0, y1;
} lowering_job;

/* Channels per slice worth a thread: below this a call's work is a few microseconds. */
enum { CHANNEL_GRAIN = 4 };

static void im2col_channels(void *ctx, size_t c0, size_t c1, int slice) {
    (void)slice;
    const lowering_job *t = ctx;
    const gb_im2col_geom *g = t->g;
    const size_t plane = (size_t)g->height * (size_t)g->width;
    for (int c = (int)c0; c < (int)c1; c++)
        for (int i = 0; i < g->kernel_h; i++)
            for (int j = 0; j < g->kernel_w; j++) {
                size_t r = ((size_t)c * (size_t)g->kernel_h + (size_t)i) * (size_t)g->kernel_w + (size_t)j;
                im2col_row(g, t->cols + r * t->ld, t->cimg + (size_t)c * plane, i, j, t->y0, t->y1);
            }
}

void gb_im2col(const gb_device *dev, const gb_im2col_geom *g, float *cols, size_t ld, const float *img, int y0,
               int y1) {
    lowering_job t = {.g = g, .cols = cols, .cimg = img, .ld = ld, .y0 = y0, .y1 = y1};
    gb_parallel_for(dev, (size_t)g->channels, CHANNEL_GRAIN, im2col_channels, &t);
}


static void col2im_row(const gb_im2col_geom *g, float *dst_c, float *row, int i, int j, int y0, int y1) {
    const int ow = g->out_w, sw = g->stride_w;
    int lo, hi;
    valid_x(g, j, &lo, &hi);
    const int shift = j - g->pad_w;
    if (lo >= hi) return;
    if (flat_rows(g)) {
        int ya, yb;
        valid_y(g, i, y0, y1, &ya, &yb);
        if (ya >= yb) return;
        size_t d0 = (size_t)(ya - y0) * (size_t)ow + (size_t)lo;
        size_t d1 = (size_t)(yb - 1 - y0) * (size_t)ow + (size_t)hi;
        /* the wrapped positions then add +0 to a neighbouring pixel: no change */
        clear_wrapped(row, ow, lo, hi, ya, yb, y0);
        float *d = dst_c + (size_t)(ya - g->pad_h + i) * (size_t)g->width + (size_t)(lo + shift);
        const float *s = row + d0;
        for (size_t t = 0; t < d1 - d0; t++) d[t] += s[t];
        return;
    }
    for (int y = y0; y < y1; y++) {
        int iy = y * g->stride_h - g->pad_h + i;
        if (iy < 0 || iy >= g->height) continue;
        const float *src = row + (size_t)(y - y0) * (size_t)ow;
        float *dst = dst_c + (size_t)iy * (size_t)g->width;
        if (sw == 1) {
            float *d = dst + shift;
            for (int x = lo; x < hi; x++) d[x] += src[x];
        } else {
            for (int x = lo; x < hi; x++) dst[x * sw + shift] += src[x];
        }
    }
}

static void col2im_channels(void *ctx, size_t c0, size_t c1, int slice) {
    (void)slice;
    const lowering_job *t = ctx;
    const gb_im2col_geom *g = t->g;
    const size_t plane = (size_t)g->height * (size_t)g->width;
    for (int c = (int)c0; c < (int)c1; c++)
        for (int i = 0; i < g->kernel_h; i++)
            for (int j = 0; j < g->kernel_w; j++) {
                size_t r = ((size_t)c * (size_t)g->kernel_h + (size_t)i) * (size_t)g->kernel_w + (size_t)j;
                col2im_row(g, t->img + (size_t)c * plane, t->cols + r * t->ld, i, j, t->y0, t->y1);
            }
}

void gb_col2im_add(const gb_device *dev, const gb_im2col_geom *g, float *img, float *cols, size_t ld, int y0,
                   int y1) {
    lowering_job t = {.g = g, .cols = cols, .img = img, .ld = ld, .y0 = y0, .y1 = y1};
    gb_parallel_for(dev, (size_t)g->channels, CHANNEL_GRAIN, col2im_channels, &t);
}

gb_conv_chunk gb_conv_plan_chunk(int batch, int out_h, int out_w, size_t floats_per_col) {
    gb_conv_chunk ch = {1, out_h};
    size_t positions = (size_t)out_h * (size_t)out_w;
    size_t per_sample = floats_per_col * positions * sizeof(float);
    if (per_sample <= GB_CONV_WORKSPACE_BYTES) {
        size_t want = positions >= GB_CONV_DIRECT_COLS ? 1 : (GB_CONV_TARGET_COLS + positions - 1) / positions;
        size_t cap = per_sample ? GB_CONV_WORKSPACE_BYTES / per_sample : want;
        if (want > cap) want = cap;
        if (want > (size_t)batch) want = (size_t)batch;
        ch.samples = want > 0 ? (int)want : 1;
    } else {
        size_t per_row = floats_per_col * (size_t)out_w * sizeof(float);
        size_t rows = GB_CONV_WORKSPACE_BYTES / per_row;
        if (rows < 1) rows = 1;
        ch.rows = rows < (size_t)out_h ? (int)rows : out_h;
    }
    return ch;
}

/* gather / scatter / bias jobs: row r (a channel) of every sample belongs to one slice, so
 * slices write disjoint memory and each element is formed exactly as in a serial loop. */
typedef struct {
    float *dst;
    const float *src, *bias;
    size_t stride, cols;
    int samples, channels;
} rows_job;

/* Channel rows per slice worth a thread. */
enum { ROW_GRAIN = 8 };

static void gather_rows(void *ctx, size_t r0, size_t r1, int slice) {
    (void)slice;
    const rows_job *t = ctx;
    size_t ld = (size_t)t->samples * t->cols;
    for (size_t r = r0; r < r1; r++)
        for (int j = 0; j < t->samples; j++)
            memcpy(t->dst + r * ld + (size_t)j * t->cols, t->src + (size_t)j * t->stride + r * t->cols,
                   t->cols * sizeof *t->dst);
}

void gb_conv_gather(const gb_device *dev, float *dst, const float *src, size_t src_stride, int samples, int rows,
                    size_t cols) {
    rows_job t = {.dst = dst, .src = src, .stride = src_stride, .cols = cols, .samples = samples};
    gb_parallel_for(dev, (size_t)rows, ROW_GRAIN, gather_rows, &t);
}

static void scatter_rows(void *ctx, size_t r0, size_t r1, int slice) {
    (void)slice;
    const rows_job *t = ctx;
    size_t ld = (size_t)t->samples * t->cols;
    for (size_t r = r0; r < r1; r++)
        for (int j = 0; j < t->samples; j++) {
            float *d = t->dst + (size_t)j * t->stride + r * t->cols;
            const float *s = t->src + r * ld + (size_t)j * t->cols;
            if (t->bias) {
                const float b = t->bias[r];
                for (size_t p = 0; p < t->cols; p++) d[p] = s[p] + b;
            } else {
                memcpy(d, s, t->cols * sizeof *d);
            }
        }
}

void gb_conv_scatter(const gb_device *dev, float *dst, size_t dst_stride, const float *src, const float *bias,
                     int samples, int rows, size_t cols) {
    rows_job t = {.dst = dst, .src = src, .bias = bias, .stride = dst_stride, .cols = cols, .samples = samples};
    gb_parallel_for(dev, (size_t)rows, ROW_GRAIN, scatter_rows, &t);
}

static void add_bias_channels(void *ctx, size_t c0, size_t c1, int slice) {
    (void)slice;
    const rows_job *t = ctx;
    for (int n = 0; n < t->samples; n++)
        for (size_t c = c0; c < c1; c++) {
            float *o = t->dst + ((size_t)n * (size_t)t->channels + c) * t->cols;
            const float b = t->bias[c];
            for (size_t p = 0; p < t->cols; p++) o[p] += b;
        }
}

void gb_conv_add_bias(const gb_device *dev, float *out, const float *bias, int batch, int channels,
                      size_t positions) {
    rows_job t = {.dst = out, .bias = bias, .cols = positions, .samples = batch, .channels = channels};
    gb_parallel_for(dev, (size_t)channels, ROW_GRAIN, add_bias_channels, &t);
}

static void bias_grad_channels(void *ctx, size_t c0, size_t c1, int slice) {
    (void)slice;
    const rows_job *t = ctx;
    /* Eight interleaved partial sums (position p goes to lane p % 8), combined in
     * a fixed order: independent chains the compiler can vectorise, and the same
     * association on every call and for any thread count (a channel is one slice's). */
    enum { LANES = 8 };
    const size_t positions = t->cols;
    for (size_t c = c0; c < c1; c++) {
        double lane[LANES] = {0};
        double tail = 0.0;
        size_t body = positions / LANES * LANES;
        for (int n = 0; n < t->samples; n++) {
            const float *d = t->src + ((size_t)n * (size_t)t->channels + c) * positions;
            for (size_t p = 0; p < body; p += LANES)
                for (int l = 0; l < LANES; l++) lane[l] += (double)d[p + (size_t)l];
            for (size_t p = body; p < positions; p++) tail += (double)d[p];
        }
        double acc = tail;
        for (int l = 0; l < LANES; l++) acc += lane[l];
        t->dst[c] = (float)((double)t->dst[c] + acc);
    }
}

void gb_conv_bias_grad(const gb_device *dev, float *dbias, const float *dout, int batch, int channels,
                       size_t positions) {
    rows_job t = {.dst = dbias, .src = dout, .cols = positions, .samples = batch, .channels = channels};
    gb_parallel_for(dev, (size_t)channels, ROW_GRAIN, bias_grad_channels, &t);
}

void gb_pad_plane(float *dst, int rows, int cols, const float *src, int h, int w, int top, int left) {
    int x0 = left > 0 ? left : 0, x1 = left + w < cols ? left + w : cols;
    for (int r = 0; r < rows; r++) {
        float *d = dst + (size_t)r * (size_t)cols;
        int sr = r - top;
        if (sr < 0 || sr >= h || x1 <= x0) {
            memset(d, 0, (size_t)cols * sizeof *d);
            continue;
        }
        memset(d, 0, (size_t)x0 * sizeof *d);
        memcpy(d + x0, src + (size_t)sr * (size_t)w + (size_t)(x0 - left), (size_t)(x1 - x0) * sizeof *d);
        memset(d + x1, 0, (size_t)(cols - x1) * sizeof *d);
    }
}

void gb_conv_check_shape(const gb_conv_shape *s, int transpose) {
    GB_ASSERT(s->batch >= 0 && s->in_channels > 0 && s->out_channels > 0 && s->in_height > 0 &&
                  s->in_width > 0 && s->kernel_h > 0 && s->kernel_w > 0 && s->stride_h > 0 &&
                  s->stride_w > 0 && s->pad_h >= 0 && s->pad_w >= 0,
              "conv shape: batch %d, channels %d -> %d, image %dx%d, kernel %dx%d, stride %dx%d, "
              "padding %dx%d: sizes must be positive, padding non-negative",
              s->batch, s->in_channels, s->out_channels, s->in_height, s->in_width, s->kernel_h,
              s->kernel_w, s->stride_h, s->stride_w, s->pad_h, s->pad_w);
    if (transpose) {
        GB_ASSERT(s->output_padding_h >= 0 && s->output_padding_w >= 0 &&
                      s->output_padding_h < s->stride_h && s->output_padding_w < s->stride_w,
                  "conv_transpose2d: output_padding %dx%d must be non-negative and below the stride %dx%d",
                  s->output_padding_h, s->output_padding_w, s->stride_h, s->stride_w);
        GB_ASSERT(gb_conv_transpose_out_h(s) > 0 && gb_conv_transpose_out_w(s) > 0,
                  "conv_transpose2d: output %dx%d is empty (padding %dx%d too large)",
                  gb_conv_transpose_out_h(s), gb_conv_transpose_out_w(s), s->pad_h, s->pad_w);
    } else {
        GB_ASSERT(gb_conv_out_h(s) > 0 && gb_conv_out_w(s) > 0 &&
                      s->in_height + 2 * s->pad_h >= s->kernel_h &&
                      s->in_width + 2 * s->pad_w >= s->kernel_w,
                  "conv2d: kernel %dx%d exceeds the padded input %dx%d",
                  s->kernel_h, s->kernel_w, s->in_height + 2 * s->pad_h, s->in_width + 2 * s->pad_w);
    }
}

void gb_upsample_conv2d_check_shape(const gb_conv_shape *s) {
    gb_conv_check_shape(s, 0);
    GB_ASSERT(s->stride_h == 1 && s->stride_w == 1, "upsample_conv2d: stride %dx%d, need 1", s->stride_h, s->stride_w);
    GB_ASSERT(s->kernel_h % 2 == 1 && s->kernel_w % 2 == 1 && 2 * s->pad_h == s->kernel_h - 1 &&
                  2 * s->pad_w == s->kernel_w - 1,
              "upsample_conv2d: kernel %dx%d pad %dx%d, need odd kernels with pad (k-1)/2", s->kernel_h,
              s->kernel_w, s->pad_h, s->pad_w);
    GB_ASSERT(s->in_height % 2 == 0 && s->in_width % 2 == 0,
              "upsample_conv2d: upsampled size %dx%d is not even", s->in_height, s->in_width);
}
