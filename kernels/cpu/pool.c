/* kernels/cpu/pool.c - 2-D max and average pooling, forward and backward (CPU).
 *
 * PyTorch semantics (torch.nn.functional.max_pool2d / avg_pool2d, floor mode,
 * dilation 1), shapes and output sizes in kernels/shapes.h (gb_pool_shape):
 *
 *   max pool:  out = max over the window, padding counts as -inf; argmax holds the
 *              index (y * in_width + x) of the winner inside its input plane. Ties
 *              go to the first maximum in row-major window order and NaN beats
 *              everything (the last NaN of the window): the comparison of PyTorch's
 *              CPU kernel (val > max || isnan(val)), so argmax matches it exactly.
 *              backward: dinp = 0, then dinp[argmax] += dout in output order
 *              (overwrite as a whole; windows may overlap). That is PyTorch's CPU
 *              order of float additions, so the gradient matches it bit for bit.
 *   avg pool:  out = sum over the in-image part of the window / divisor, where the
 *              divisor is the window clipped to the padded image (count_include_pad,
 *              kh*kw in floor mode) or to the image (count_include_pad = 0, e.g.
 *              Inception's 3x3 stride-1 pool). The sum is in double in row-major
 *              window order, rounded once.
 *              backward: each dinp element gathers dout / divisor over the windows
 *              that cover it (double, ascending output order), so there is no
 *              scatter and no float accumulation order to worry about.
 *
 * Without argmax (inference) the max pool runs separably (row maxima, then column maxima of
 * those), with the same values, signed zeros and NaN included (see maxpool_values_planes).
 * The row maxima and the average pool's sums run tap by tap along whole output rows, which
 * vectorises and still gives every output its window's order (max_taps_into, avgpool_plane).
 * Every kernel works plane by plane, and the planes are cut into gb_parallel_for slices
 * (kernels/cpu/parallel.h), so the bits do not depend on the thread count. The 2x2 stride-2
 * unpadded mean pool (the ResNet GAN critic's) has its own loops that give the general
 * path's bits without its per-element index arithmetic and divisions.
 *
 * Tested by tests/test_kernels_pool.c: float64 finite differences of a float64
 * transcription (tie-free inputs for max pool), PyTorch forward and autograd
 * fixtures from tests/peers/kernels_pool.py (odd sizes, windows hitting padding,
 * ties, count_include_pad both ways), the fast path against the general rule bit for bit
 * (odd sizes, signed zeros, denormals), and 1 vs 2 vs 3 threads bit for bit.
 */
#include "kernels/cpu/cpu.h"

#include <math.h>
#include <string.h>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vmath.h"

/* The rules of PyTorch's pooling argument checks (pad at most half the kernel,
 * a non-empty output); breaking them is a programmer error in the model. */
static void check_pool_shape(const gb_pool_shape *s) {
    GB_ASSERT(s->batch >= 0 && s->channels >= 0 && s->in_height >= 1 && s->in_width >= 1,
              "pool shape: batch %d, channels %d, input %dx%d must be non-negative / non-empty",
              s->batch, s->channels, s->in_height, s->in_width);
    GB_ASSERT(s->kernel_h >= 1 && s->kernel_w >= 1 && s->stride_h >= 1 && s->stride_w >= 1,
              "pool shape: kernel %dx%d and stride %dx%d must be >= 1", s->kernel_h, s->kernel_w,
              s->stride_h, s->stride_w);
    GB_ASSERT(s->pad_h >= 0 && s->pad_w >= 0 && s->pad_h <= s->kernel_h / 2 &&
                  s->pad_w <= s->kernel_w / 2,
              "pool shape: padding %dx%d must be between 0 and half the kernel %dx%d", s->pad_h,
              s->pad_w, s->kernel_h, s->kernel_w);
    GB_ASSERT(gb_pool_out_h(s) >= 1 && gb_pool_out_w(s) >= 1,
              "pool shape: input %dx%d is smaller than the kernel %dx%d with padding %dx%d",
              s->in_height, s->in_width, s->kernel_h, s->kernel_w, s->pad_h, s->pad_w);
}

static size_t pool_planes(const gb_pool_shape *s) { return (size_t)s->batch * (size_t)s->channels; }

static inline int imax(int a, int b) { return a > b ? a : b; }
static inline int imin(int a, int b) { return a < b ? a : b; }

/* Every kernel works plane by plane (one (sample, channel) image), so the planes are cut into
 * gb_parallel_for slices: each plane's arithmetic is the same whichever slice runs it. */
typedef struct {
    const gb_pool_shape *shape;
    float *out;            /* forward output or backward input gradient */
    int32_t *argmax;       /* max pool forward (may be NULL) */
    const float *inp;      /* forward input or backward output gradient */
    const int32_t *arg_in; /* max pool backward */
} pool_job;

/* Planes per slice: at least ~32K elements of work, so a slice is worth waking a thread. */
static size_t pool_grain(const gb_pool_shape *s) {
    size_t plane = (size_t)s->in_height * (size_t)s->in_width;
    return plane >= 32768 ? 1 : 32768 / plane;
}

static void maxpool_forward_planes(void *ctx, size_t p0, size_t p1, int slice) {
    (void)slice;
    const pool_job *j = ctx;
    const gb_pool_shape *shape = j->shape;
    const int ih = shape->in_height, iw = shape->in_width;
    const int oh = gb_pool_out_h(shape), ow = gb_pool_out_w(shape);
    for (size_t p = p0; p < p1; p++) {
        const float *src = j->inp + p * (size_t)ih * (size_t)iw;
        float *dst = j->out + p * (size_t)oh * (size_t)ow;
        int32_t *arg = j->argmax ? j->argmax + p * (size_t)oh * (size_t)ow : NULL;
        for (int oy = 0; oy < oh; oy++) {
            const int y0 = imax(oy * shape->stride_h - shape->pad_h, 0);
            const int y1 = imin(oy * shape->stride_h - shape->pad_h + shape->kernel_h, ih);
            for (int ox = 0; ox < ow; ox++) {
                const int x0 = imax(ox * shape->stride_w - shape->pad_w, 0);
                const int x1 = imin(ox * shape->stride_w - shape->pad_w + shape->kernel_w, iw);
                /* pad <= kernel/2 guarantees every window meets the image, so the
                 * initial index is always overwritten or names a real element. */
                float best = -INFINITY;
                int32_t best_at = y0 * iw + x0;
                for (int y = y0; y < y1; y++) {
                    for (int x = x0; x < x1; x++) {
                        float v = src[y * iw + x];
                        if (v > best || isnan(v)) {
                            best = v;
                            best_at = y * iw + x;
                        }
                    }
                }
                dst[oy * ow + ox] = best;
                if (arg) arg[oy * ow + ox] = best_at;
            }
        }
    }
}

/* The window rule's pick: v wins over best when larger or NaN (so NaN sticks: nothing beats it
 * but a later NaN). Branch-free, so the loops below vectorise and do not mispredict. */
static inline float max_pick(float best, float v) { return (v > best || v != v) ? v : best; }

/* Without argmax (inference: Inception's stem and reduction blocks), the max is separable: each
 * input row's maxima over the kw columns of every output column, then the maxima of kh of those
 * rows. Same values as the window loop, signed zeros and NaN included: both keep the first
 * maximum in row-major window order (the first row holding it, its first column) and the last
 * NaN. hrow: per-slice scratch of in_height * out_width floats. */
typedef struct {
    const gb_pool_shape *shape;
    float *out, *hrows;
    const float *inp;
} maxpool_values_job;

__attribute__((target_clones("avx512f", "avx2", "default")))
static void max_rows_into(float *restrict best, const float *restrict row, int n) {
    for (int x = 0; x < n; x++) best[x] = max_pick(best[x], row[x]);
}

/* The output columns ox in [c0, c1) whose tap at input column ox * sw + off lies inside a row
 * of iw: [*lo, *hi) (empty when *lo >= *hi). */
static inline void tap_columns(int off, int sw, int iw, int c0, int c1, int *lo, int *hi) {
    *lo = imax(off >= 0 ? 0 : (-off + sw - 1) / sw, c0);
    *hi = imin(off > iw - 1 ? 0 : (iw - 1 - off) / sw + 1, c1);
}

/* One input row's maxima: hr[ox] = the window loop's pick over r[ox * sw - pw + k] for the
 * taps k inside the row. The loops run tap by tap over all output columns, so each is a plain
 * vector max (stride 1 or 2: Inception's pools), and every hr[ox] still meets its taps in
 * ascending x order, starting from -inf: the window loop's chain, bit for bit. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void max_taps_into(float *restrict hr, const float *restrict r, int ow, int iw, int sw, int kw, int pw) {
    for (int ox = 0; ox < ow; ox++) hr[ox] = -INFINITY;
    for (int k = 0; k < kw; k++) {
        const int off = k - pw; /* input column of output column ox: ox * sw + off */
        int lo, hi;
        tap_columns(off, sw, iw, 0, ow, &lo, &hi);
        if (sw == 1)
            for (int ox = lo; ox < hi; ox++) hr[ox] = max_pick(hr[ox], r[ox + off]);
        else if (sw == 2)
            for (int ox = lo; ox < hi; ox++) hr[ox] = max_pick(hr[ox], r[2 * ox + off]);
        else
            for (int ox = lo; ox < hi; ox++) hr[ox] = max_pick(hr[ox], r[ox * sw + off]);
    }
}

static void maxpool_values_planes(void *ctx, size_t p0, size_t p1, int slice) {
    const maxpool_values_job *j = ctx;
    const gb_pool_shape *s = j->shape;
    const int ih = s->in_height, iw = s->in_width, oh = gb_pool_out_h(s), ow = gb_pool_out_w(s);
    float *h = j->hrows + (size_t)slice * (size_t)ih * (size_t)ow;
    for (size_t p = p0; p < p1; p++) {
        const float *src = j->inp + p * (size_t)ih * (size_t)iw;
        float *dst = j->out + p * (size_t)oh * (size_t)ow;
        for (int y = 0; y < ih; y++)
            max_taps_into(h + (size_t)y * (size_t)ow, src + (size_t)y * (size_t)iw, ow, iw, s->stride_w, s->kernel_w,
                          s->pad_w);
        for (int oy = 0; oy < oh; oy++) {
            const int y0 = imax(oy * s->stride_h - s->pad_h, 0);
            const int y1 = imin(oy * s->stride_h - s->pad_h + s->kernel_h, ih);
            float *d = dst + (size_t)oy * (size_t)ow;
            for (int ox = 0; ox < ow; ox++) d[ox] = -INFINITY;
            for (int y = y0; y < y1; y++) max_rows_into(d, h + (size_t)y * (size_t)ow, ow);
        }
    }
}

void gb_maxpool2d_forward_cpu(gb_device *dev, float *out, int32_t *argmax, const float *inp,
                              const gb_pool_shape *shape) {
    check_pool_shape(shape);
    if (!argmax) {
        size_t grain = pool_grain(shape);
        int slices = gb_parallel_slices(dev, pool_planes(shape), grain);
        maxpool_values_job v = {.shape = shape, .out = out, .inp = inp};
        v.hrows = gb_dev_scratch(dev, (size_t)slices * (size_t)shape->in_height * (size_t)gb_pool_out_w(shape) *
                                          sizeof(float));
        gb_parallel_for(dev, pool_planes(shape), grain, maxpool_values_planes, &v);
        return;
    }
    pool_job j = {.shape = shape, .out = out, .argmax = argmax, .inp = inp};
    gb_parallel_for(dev, pool_planes(shape), pool_grain(shape), maxpool_forward_planes, &j);
}

static void maxpool_backward_planes(void *ctx, size_t p0, size_t p1, int slice) {
    (void)slice;
    const pool_job *j = ctx;
    const gb_pool_shape *shape = j->shape;
    const size_t in_plane = (size_t)shape->in_height * (size_t)shape->in_width;
    const size_t out_plane = (size_t)gb_pool_out_h(shape) * (size_t)gb_pool_out_w(shape);
    memset(j->out + p0 * in_plane, 0, (p1 - p0) * in_plane * sizeof *j->out);
    for (size_t p = p0; p < p1; p++) {
        float *dst = j->out + p * in_plane;
        const float *g = j->inp + p * out_plane;
        const int32_t *arg = j->arg_in + p * out_plane;
        for (size_t o = 0; o < out_plane; o++) {
            GB_ASSERT(arg[o] >= 0 && (size_t)arg[o] < in_plane,
                      "maxpool2d backward: argmax %d outside the %zu-element input plane", arg[o],
                      in_plane);
            dst[arg[o]] += g[o];
        }
    }
}

void gb_maxpool2d_backward_cpu(gb_device *dev, float *dinp, const float *dout, const int32_t *argmax,
                               const gb_pool_shape *shape) {
    check_pool_shape(shape);
    pool_job j = {.shape = shape, .out = dinp, .inp = dout, .arg_in = argmax};
    gb_parallel_for(dev, pool_planes(shape), pool_grain(shape), maxpool_backward_planes, &j);
}

/* PyTorch's divisor along one axis for the window starting at `start` (unclipped, may be
 * negative): the window's length clipped to the padded extent, or to the image without
 * count_include_pad. The divisor is the product of the two axes'. */
static inline int avg_extent(int start, int kernel, int n, int pad, int count_include_pad) {
    const int end = imin(start + kernel, n + pad);
    return count_include_pad ? end - start : imin(end, n) - imax(start, 0);
}

/* PyTorch's divisor for the window starting at (y, x) (unclipped, may be negative). */
static int avg_divisor(const gb_pool_shape *s, int y, int x) {
    return avg_extent(y, s->kernel_h, s->in_height, s->pad_h, s->count_include_pad) *
           avg_extent(x, s->kernel_w, s->in_width, s->pad_w, s->count_include_pad);
}

/* The 2x2, stride-2, unpadded pool (the ResNet GAN critic's mean pool): every window lies
 * inside the image with divisor 4, so the general formula reduces to this loop with the same
 * additions in the same order (0 + a + b + c + d in double, row-major) and x / 4 == x * 0.25
 * exactly in double: the same bits, without the index arithmetic. */
static int is_mean_pool_2x2(const gb_pool_shape *s) {
    return s->kernel_h == 2 && s->kernel_w == 2 && s->stride_h == 2 && s->stride_w == 2 &&
           s->pad_h == 0 && s->pad_w == 0;
}

GB_VCLONES
static void avgpool2x2_forward_planes(void *ctx, size_t p0, size_t p1, int slice) {
    (void)slice;
    const pool_job *j = ctx;
    const size_t ih = (size_t)j->shape->in_height, iw = (size_t)j->shape->in_width;
    const size_t oh = ih / 2, ow = iw / 2;
    for (size_t p = p0; p < p1; p++) {
        const float *src = j->inp + p * ih * iw;
        float *dst = j->out + p * oh * ow;
        for (size_t oy = 0; oy < oh; oy++) {
            const float *r0 = src + 2 * oy * iw, *r1 = r0 + iw;
            float *d = dst + oy * ow;
            for (size_t ox = 0; ox < ow; ox++) {
                double acc = 0.0;
                acc += (double)r0[2 * ox];
                acc += (double)r0[2 * ox + 1];
                acc += (double)r1[2 * ox];
                acc += (double)r1[2 * ox + 1];
                d[ox] = (float)(acc * 0.25);
            }
        }
    }
}

/* Doubles of the average pool's per-band accumulator (16 KB, on the stack). */
enum { AVG_ACC = 2048 };

/* One plane of the average pool. Each output: its window's elements summed in double in
 * row-major order from 0, divided by PyTorch's divisor in double, rounded once. The sums run
 * tap by tap over a band of outputs (tap rows outermost, then output rows, then tap columns),
 * so every output still adds its elements in row-major window order, keeping its bits, while
 * the inner loops run along whole output rows and vectorise (Inception's 3x3 stride-1 pools
 * were ~8% of its forward one output at a time). */
GB_VCLONES
static void avgpool_plane(float *restrict dst, const float *restrict src, const gb_pool_shape *s) {
    const int ih = s->in_height, iw = s->in_width, oh = gb_pool_out_h(s), ow = gb_pool_out_w(s);
    const int sh = s->stride_h, sw = s->stride_w, cip = s->count_include_pad;
    const int cols = imin(ow, AVG_ACC), rows = AVG_ACC / cols;
    double acc[AVG_ACC];
    for (int oy0 = 0; oy0 < oh; oy0 += rows) {
        const int oy1 = imin(oy0 + rows, oh);
        for (int c0 = 0; c0 < ow; c0 += cols) {
            const int c1 = imin(c0 + cols, ow), cw = c1 - c0;
            for (int i = 0; i < (oy1 - oy0) * cw; i++) acc[i] = 0.0;
            for (int ky = 0; ky < s->kernel_h; ky++)
                for (int oy = oy0; oy < oy1; oy++) {
                    const int y = oy * sh - s->pad_h + ky;
                    if (y < 0 || y >= ih) continue;
                    const float *r = src + (size_t)y * (size_t)iw;
                    double *a = acc + (size_t)(oy - oy0) * (size_t)cw; /* a[ox - c0], ox in [c0, c1) */
                    for (int kx = 0; kx < s->kernel_w; kx++) {
                        const int off = kx - s->pad_w; /* input column of output column ox: ox * sw + off */
                        int lo, hi;
                        tap_columns(off, sw, iw, c0, c1, &lo, &hi);
                        if (sw == 1)
                            for (int ox = lo; ox < hi; ox++) a[ox - c0] += (double)r[ox + off];
                        else
                            for (int ox = lo; ox < hi; ox++) a[ox - c0] += (double)r[ox * sw + off];
                    }
                }
            for (int oy = oy0; oy < oy1; oy++) {
                const int ydiv = avg_extent(oy * sh - s->pad_h, s->kernel_h, ih, s->pad_h, cip);
                const double *a = acc + (size_t)(oy - oy0) * (size_t)cw;
                float *d = dst + (size_t)oy * (size_t)ow;
                for (int ox = c0; ox < c1; ox++) {
                    const int xdiv = avg_extent(ox * sw - s->pad_w, s->kernel_w, iw, s->pad_w, cip);
                    d[ox] = (float)(a[ox - c0] / (double)(ydiv * xdiv));
                }
            }
        }
    }
}

static void avgpool_forward_planes(void *ctx, size_t p0, size_t p1, int slice) {
    (void)slice;
    const pool_job *j = ctx;
    const gb_pool_shape *s = j->shape;
    const size_t in_plane = (size_t)s->in_height * (size_t)s->in_width;
    const size_t out_plane = (size_t)gb_pool_out_h(s) * (size_t)gb_pool_out_w(s);
    for (size_t p = p0; p < p1; p++) avgpool_plane(j->out + p * out_plane, j->inp + p * in_plane, s);
}

void gb_avgpool2d_forward_cpu(gb_device *dev, float *out, const float *inp,
                              const gb_pool_shape *shape) {
    check_pool_shape(shape);
    pool_job j = {.shape = shape, .out = out, .inp = inp};
    gb_parallel_for(dev, pool_planes(shape), pool_grain(shape),
                    is_mean_pool_2x2(shape) ? avgpool2x2_forward_planes : avgpool_forward_planes, &j);
}

/* The output indices o whose windows [o*stride - pad, o*stride - pad + kernel)
 * contain input index i: o in [lo, hi] (empty when lo > hi). */
static void covering_range(int i, int kernel, int stride, int pad, int out_n, int *lo, int *hi) {
    const int top = i + pad;            /* o*stride <= top */
    const int bottom = top - kernel + 1; /* o*stride >= bottom */
    *lo = bottom <= 0 ? 0 : (bottom + stride - 1) / stride;
    *hi = imin(top / stride, out_n - 1);
}

/* 2x2 stride-2 backward: each input element lies in at most one window, so the general
 * gather is 0 + g / 4 in double, rounded once (computed once per window and stored to its
 * four inputs); the row and column that floor mode leaves out get 0 + nothing = +0. */
GB_VCLONES
static void avgpool2x2_backward_planes(void *ctx, size_t p0, size_t p1, int slice) {
    (void)slice;
    const pool_job *j = ctx;
    const size_t ih = (size_t)j->shape->in_height, iw = (size_t)j->shape->in_width;
    const size_t oh = ih / 2, ow = iw / 2;
    for (size_t p = p0; p < p1; p++) {
        const float *g = j->inp + p * oh * ow;
        float *dst = j->out + p * ih * iw;
        for (size_t oy = 0; oy < oh; oy++) {
            const float *gr = g + oy * ow;
            float *r0 = dst + 2 * oy * iw, *r1 = r0 + iw;
            for (size_t ox = 0; ox < ow; ox++) {
                float v = (float)(0.0 + (double)gr[ox] * 0.25);
                r0[2 * ox] = v;
                r0[2 * ox + 1] = v;
            }
            for (size_t x = 2 * ow; x < iw; x++) r0[x] = 0.0f;
            memcpy(r1, r0, iw * sizeof *r1);
        }
        for (size_t y = 2 * oh; y < ih; y++) memset(dst + y * iw, 0, iw * sizeof *dst);
    }
}

static void avgpool_backward_planes(void *ctx, size_t p0, size_t p1, int slice) {
    (void)slice;
    const pool_job *j = ctx;
    const gb_pool_shape *shape = j->shape;
    const int ih = shape->in_height, iw = shape->in_width;
    const int oh = gb_pool_out_h(shape), ow = gb_pool_out_w(shape);
    for (size_t p = p0; p < p1; p++) {
        const float *g = j->inp + p * (size_t)oh * (size_t)ow;
        float *dst = j->out + p * (size_t)ih * (size_t)iw;
        for (int y = 0; y < ih; y++) {
            int oy0, oy1;
            covering_range(y, shape->kernel_h, shape->stride_h, shape->pad_h, oh, &oy0, &oy1);
            for (int x = 0; x < iw; x++) {
                int ox0, ox1;
                covering_range(x, shape->kernel_w, shape->stride_w, shape->pad_w, ow, &ox0, &ox1);
                double acc = 0.0;
                for (int oy = oy0; oy <= oy1; oy++) {
                    const int wy = oy * shape->stride_h - shape->pad_h;
                    for (int ox = ox0; ox <= ox1; ox++) {
                        const int wx = ox * shape->stride_w - shape->pad_w;
                        acc += (double)g[oy * ow + ox] / (double)avg_divisor(shape, wy, wx);
                    }
                }
                dst[y * iw + x] = (float)acc;
            }
        }
    }
}

void gb_avgpool2d_backward_cpu(gb_device *dev, float *dinp, const float *dout,
                               const gb_pool_shape *shape) {
    check_pool_shape(shape);
    pool_job j = {.shape = shape, .out = dinp, .inp = dout};
    gb_parallel_for(dev, pool_planes(shape), pool_grain(shape),
                    is_mean_pool_2x2(shape) ? avgpool2x2_backward_planes : avgpool_backward_planes, &j);
}
