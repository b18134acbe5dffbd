/* datasets/resize.c - Pillow-exact separable resampling (datasets/resize.h).
 *
 * The tap computation follows Pillow's precompute_coeffs step for step in double precision
 * (the same expressions in the same order), because any reordering changes the last bit of
 * a tap and, after fixed-point rounding, occasionally a pixel.
 * Tested by tests/test_resize.c. */
#include "datasets/resize.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 8-bit path: taps carry 22 fraction bits; 8 bits of result and 2 of headroom for kernels
 * whose partial sums exceed one fill the rest of an int32 (Pillow's PRECISION_BITS). */
enum { GB_RESIZE_FRAC_BITS = 22 };

/* Keys' cubic convolution kernel with a = -0.5, written as Pillow evaluates it. */
static double gb_bicubic_kernel(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double gb_triangle_kernel(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static void gb_resize_axis_free(gb_resize_axis *ax) {
    free(ax->first);
    free(ax->count);
    free(ax->coeffs);
    free(ax->fixed);
    memset(ax, 0, sizeof *ax);
}

static gb_status gb_resize_axis_init(gb_resize_axis *ax, int in_size, int out_size,
                                     gb_resize_filter filter) {
    memset(ax, 0, sizeof *ax);
    double (*kernel)(double) = filter == GB_RESIZE_BICUBIC ? gb_bicubic_kernel : gb_triangle_kernel;
    double kernel_support = filter == GB_RESIZE_BICUBIC ? 2.0 : 1.0;
    /* The box is (0, in_size) as in Image.resize without box=; Pillow passes it as float. */
    double scale = (double)((float)in_size - 0.0f) / out_size;
    double stretch = scale < 1.0 ? 1.0 : scale; /* widen the kernel only when shrinking */
    double support = kernel_support * stretch;
    int ksize = (int)ceil(support) * 2 + 1;
    if ((size_t)out_size > SIZE_MAX / sizeof(double) / (size_t)ksize || ksize > INT_MAX / 2)
        return gb_fail(GB_INPUT, "resize %d -> %d: the filter table does not fit in memory",
                       in_size, out_size);
    ax->in_size = in_size;
    ax->out_size = out_size;
    ax->ksize = ksize;
    ax->first = malloc((size_t)out_size * sizeof *ax->first);
    ax->count = malloc((size_t)out_size * sizeof *ax->count);
    ax->coeffs = malloc((size_t)out_size * (size_t)ksize * sizeof *ax->coeffs);
    ax->fixed = malloc((size_t)out_size * (size_t)ksize * sizeof *ax->fixed);
    if (!ax->first || !ax->count || !ax->coeffs || !ax->fixed) {
        gb_resize_axis_free(ax);
        return gb_fail(GB_INPUT, "resize %d -> %d: out of memory for the filter table", in_size,
                       out_size);
    }
    for (int i = 0; i < out_size; i++) {
        double center = 0.0 + (i + 0.5) * scale;
        double inv = 1.0 / stretch;
        /* (int) truncates toward zero; negatives clamp to 0 right after, so it is a rounding. */
        int lo = (int)(center - support + 0.5);
        if (lo < 0) lo = 0;
        int hi = (int)(center + support + 0.5);
        if (hi > in_size) hi = in_size;
        int n = hi - lo;
        double *k = ax->coeffs + (size_t)i * ksize;
        double total = 0.0;
        for (int t = 0; t < n; t++) {
            double w = kernel((t + lo - center + 0.5) * inv);
            k[t] = w;
            total += w;
        }
        for (int t = 0; t < n; t++)
            if (total != 0.0) k[t] /= total;
        for (int t = n < 0 ? 0 : n; t < ksize; t++) k[t] = 0.0;
        ax->first[i] = lo;
        ax->count[i] = n < 0 ? 0 : n;
        int32_t *f = ax->fixed + (size_t)i * ksize;
        for (int t = 0; t < ksize; t++) {
            /* Round half away from zero, as Pillow's normalize_coeffs_8bpc. */
            double scaled = k[t] * (double)(1 << GB_RESIZE_FRAC_BITS);
            f[t] = (int32_t)(k[t] < 0 ? -0.5 + scaled : 0.5 + scaled);
        }
    }
    return GB_OK;
}

gb_status gb_resize_plan_init(gb_resize_plan *p, int in_h, int in_w, int out_h, int out_w,
                              gb_resize_filter filter) {
    memset(p, 0, sizeof *p);
    GB_ASSERT(filter == GB_RESIZE_BICUBIC || filter == GB_RESIZE_BILINEAR, "unknown resize filter %d",
              (int)filter);
    if (in_h < 1 || in_w < 1 || out_h < 1 || out_w < 1)
        return gb_fail(GB_INPUT, "resize %dx%d -> %dx%d: every size must be at least 1", in_w, in_h,
                       out_w, out_h);
    p->in_h = in_h;
    p->in_w = in_w;
    p->out_h = out_h;
    p->out_w = out_w;
    p->filter = filter;
    p->need_horizontal = out_w != in_w;
    p->need_vertical = out_h != in_h;
    GB_TRY(gb_resize_axis_init(&p->vertical, in_h, out_h, filter));
    gb_status s = gb_resize_axis_init(&p->horizontal, in_w, out_w, filter);
    if (s != GB_OK) {
        gb_resize_plan_free(p);
        return s;
    }
    /* The horizontal pass only produces the rows the vertical pass will read. */
    p->row_first = p->vertical.first[0];
    p->row_count = p->vertical.first[out_h - 1] + p->vertical.count[out_h - 1] - p->row_first;
    return GB_OK;
}

void gb_resize_plan_free(gb_resize_plan *p) {
    gb_resize_axis_free(&p->horizontal);
    gb_resize_axis_free(&p->vertical);
    memset(p, 0, sizeof *p);
}

size_t gb_resize_scratch_bytes(const gb_resize_plan *p) {
    /* Intermediate rows (float or uint8) plus one row of accumulators (double or int32). */
    return (size_t)p->row_count * (size_t)p->out_w * sizeof(float) + (size_t)p->out_w * sizeof(double) + 16;
}

static inline uint8_t gb_clip8(int32_t v) {
    if (v < 0) return 0;
    v >>= GB_RESIZE_FRAC_BITS;
    return v > 255 ? 255 : (uint8_t)v;
}

/* One horizontal pass over `rows` rows starting at `row0`: out[r, :] from in[row0 + r, :]. */
static void gb_horizontal_u8(const gb_resize_axis *ax, uint8_t *out, const uint8_t *in, int row0,
                             int rows) {
    const int32_t half = 1 << (GB_RESIZE_FRAC_BITS - 1);
    for (int r = 0; r < rows; r++) {
        const uint8_t *src = in + (size_t)(row0 + r) * ax->in_size;
        uint8_t *dst = out + (size_t)r * ax->out_size;
        for (int i = 0; i < ax->out_size; i++) {
            const int32_t *k = ax->fixed + (size_t)i * ax->ksize;
            const uint8_t *s = src + ax->first[i];
            int32_t acc = half;
            for (int t = 0; t < ax->count[i]; t++) acc += (int32_t)s[t] * k[t];
            dst[i] = gb_clip8(acc);
        }
    }
}

/* Vertical pass: out[i, :] from rows first[i] - row_shift ... of in (width `width`). Integer
 * sums do not depend on order, so the loop runs along rows, which vectorises. */
static void gb_vertical_u8(const gb_resize_axis *ax, uint8_t *out, const uint8_t *in, int width,
                           int row_shift, int32_t *acc) {
    const int32_t half = 1 << (GB_RESIZE_FRAC_BITS - 1);
    for (int i = 0; i < ax->out_size; i++) {
        const int32_t *k = ax->fixed + (size_t)i * ax->ksize;
        for (int x = 0; x < width; x++) acc[x] = half;
        for (int t = 0; t < ax->count[i]; t++) {
            const uint8_t *src = in + (size_t)(ax->first[i] - row_shift + t) * width;
            int32_t w = k[t];
            for (int x = 0; x < width; x++) acc[x] += (int32_t)src[x] * w;
        }
        uint8_t *dst = out + (size_t)i * width;
        for (int x = 0; x < width; x++) dst[x] = gb_clip8(acc[x]);
    }
}

static void gb_horizontal_f32(const gb_resize_axis *ax, float *out, const float *in, int row0,
                              int rows) {
    for (int r = 0; r < rows; r++) {
        const float *src = in + (size_t)(row0 + r) * ax->in_size;
        float *dst = out + (size_t)r * ax->out_size;
        for (int i = 0; i < ax->out_size; i++) {
            const double *k = ax->coeffs + (size_t)i * ax->ksize;
            const float *s = src + ax->first[i];
            double acc = 0.0;
            for (int t = 0; t < ax->count[i]; t++) acc += (double)s[t] * k[t];
            dst[i] = (float)acc;
        }
    }
}

/* Each acc[x] still receives its terms in tap order, so the double sums equal Pillow's. */
static void gb_vertical_f32(const gb_resize_axis *ax, float *out, const float *in, int width,
                            int row_shift, double *acc) {
    for (int i = 0; i < ax->out_size; i++) {
        const double *k = ax->coeffs + (size_t)i * ax->ksize;
        for (int x = 0; x < width; x++) acc[x] = 0.0;
        for (int t = 0; t < ax->count[i]; t++) {
            const float *src = in + (size_t)(ax->first[i] - row_shift + t) * width;
            double w = k[t];
            for (int x = 0; x < width; x++) acc[x] += (double)src[x] * w;
        }
        float *dst = out + (size_t)i * width;
        for (int x = 0; x < width; x++) dst[x] = (float)acc[x];
    }
}

/* Scratch layout: [accumulator row (8-byte aligned)] [intermediate rows]. */
static void *gb_scratch_or_alloc(const gb_resize_plan *p, void *scratch, void **owned) {
    *owned = NULL;
    if (scratch) return scratch;
    *owned = malloc(gb_resize_scratch_bytes(p));
    GB_ASSERT(*owned, "out of memory for resize scratch (%zu bytes)", gb_resize_scratch_bytes(p));
    return *owned;
}

void gb_resize_plane_u8(const gb_resize_plan *p, uint8_t *out, const uint8_t *in, void *scratch) {
    if (!p->need_horizontal && !p->need_vertical) {
        memcpy(out, in, (size_t)p->in_h * (size_t)p->in_w);
        return;
    }
    void *owned;
    uint8_t *buf = gb_scratch_or_alloc(p, scratch, &owned);
    int32_t *acc = (int32_t *)(void *)buf;
    uint8_t *mid = buf + (size_t)p->out_w * sizeof(double);
    if (!p->need_vertical) {
        gb_horizontal_u8(&p->horizontal, out, in, 0, p->in_h);
    } else if (!p->need_horizontal) {
        gb_vertical_u8(&p->vertical, out, in, p->in_w, 0, acc);
    } else {
        gb_horizontal_u8(&p->horizontal, mid, in, p->row_first, p->row_count);
        gb_vertical_u8(&p->vertical, out, mid, p->out_w, p->row_first, acc);
    }
    free(owned);
}

void gb_resize_plane_f32(const gb_resize_plan *p, float *out, const float *in, void *scratch) {
    if (!p->need_horizontal && !p->need_vertical) {
        memcpy(out, in, (size_t)p->in_h * (size_t)p->in_w * sizeof *out);
        return;
    }
    void *owned;
    uint8_t *buf = gb_scratch_or_alloc(p, scratch, &owned);
    double *acc = (double *)(void *)buf;
    float *mid = (float *)(void *)(buf + (size_t)p->out_w * sizeof(double));
    if (!p->need_vertical) {
        gb_horizontal_f32(&p->horizontal, out, in, 0, p->in_h);
    } else if (!p->need_horizontal) {
        gb_vertical_f32(&p->vertical, out, in, p->in_w, 0, acc);
    } else {
        gb_horizontal_f32(&p->horizontal, mid, in, p->row_first, p->row_count);
        gb_vertical_f32(&p->vertical, out, mid, p->out_w, p->row_first, acc);
    }
    free(owned);
}

gb_status gb_resize_u8(uint8_t *out, int out_h, int out_w, const uint8_t *in, int in_h, int in_w,
                       gb_resize_filter filter) {
    return gb_resize_u8_nchw(out, out_h, out_w, in, 1, 1, in_h, in_w, filter);
}

gb_status gb_resize_f32(float *out, int out_h, int out_w, const float *in, int in_h, int in_w,
                        gb_resize_filter filter) {
    return gb_resize_f32_nchw(out, out_h, out_w, in, 1, 1, in_h, in_w, filter);
}

gb_status gb_resize_u8_nchw(uint8_t *out, int out_h, int out_w, const uint8_t *in, int n, int c,
                            int in_h, int in_w, gb_resize_filter filter) {
    GB_ASSERT(n >= 0 && c >= 0, "gb_resize_u8_nchw: negative batch %d or channels %d", n, c);
    gb_resize_plan plan;
    GB_TRY(gb_resize_plan_init(&plan, in_h, in_w, out_h, out_w, filter));
    void *scratch = malloc(gb_resize_scratch_bytes(&plan));
    GB_ASSERT(scratch, "out of memory for resize scratch");
    size_t in_plane = (size_t)in_h * in_w, out_plane = (size_t)out_h * out_w;
    for (size_t i = 0; i < (size_t)n * (size_t)c; i++)
        gb_resize_plane_u8(&plan, out + i * out_plane, in + i * in_plane, scratch);
    free(scratch);
    gb_resize_plan_free(&plan);
    return GB_OK;
}

gb_status gb_resize_f32_nchw(float *out, int out_h, int out_w, const float *in, int n, int c,
                             int in_h, int in_w, gb_resize_filter filter) {
    GB_ASSERT(n >= 0 && c >= 0, "gb_resize_f32_nchw: negative batch %d or channels %d", n, c);
    gb_resize_plan plan;
    GB_TRY(gb_resize_plan_init(&plan, in_h, in_w, out_h, out_w, filter));
    void *scratch = malloc(gb_resize_scratch_bytes(&plan));
    GB_ASSERT(scratch, "out of memory for resize scratch");
    size_t in_plane = (size_t)in_h * in_w, out_plane = (size_t)out_h * out_w;
    for (size_t i = 0; i < (size_t)n * (size_t)c; i++)
        gb_resize_plane_f32(&plan, out + i * out_plane, in + i * in_plane, scratch);
    free(scratch);
    gb_resize_plan_free(&plan);
    return GB_OK;
}
