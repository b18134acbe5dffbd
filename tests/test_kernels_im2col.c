/* tests/test_kernels_im2col.c - the lowering behind the GEMM convolutions (kernels/cpu/im2col.c)
 * against its definition, bit for bit.
 *
 * im2col is a copy and col2im_add a fixed-order sum, so both are checked exactly against
 * loops over the definition written here (im2col.h): cols[r, y*out_w + x] =
 * img[c, y*sh - ph + i, x*sw - pw + j] or +0 outside; col2im adds each row r's entries in
 * ascending r, then position, onto the image's previous values. Values include NaN, +-inf,
 * -0 and subnormals (a NaN matches any NaN); rows are longer than a plane (ld > positions, as in a batched chunk).
 * Shapes: the CMU GAN's 4x4 / 8x8 / 16x16 3x3 planes, 17x17, a 5x7 plane, 5x5 and 7x7 kernels,
 * a 1x3 kernel on a 1x16 row, 1x1, stride 2, valid padding, padding wider than half the kernel,
 * and a band of window rows. Each is run on 1 and 2 threads, for one image (gb_im2col,
 * gb_col2im_add) and for 3 images side by side as a batched chunk lays them out
 * (gb_im2col_samples, gb_col2im_add_samples: the 4x4, 8x8, 16x16 and 2x8 "same" planes there take
 * the shuffle route of kernels/cpu/im2col_vector.c, the others the general one).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/im2col.h"
#include "kernels/kernels.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static float next_value(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    static const float special[] = {0.0f, -0.0f, 1e-45f, -3e-45f, INFINITY, -INFINITY, NAN, 3e38f};
    if (rng % 7 == 0) return special[(rng >> 8) % 8];
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 4.0 - 2.0);
}

static float *values(size_t n) {
    float *a = malloc((n ? n : 1) * sizeof *a);
    cr_assert_not_null(a);
    for (size_t i = 0; i < n; i++) a[i] = next_value();
    return a;
}

/* Bit for bit, except that any NaN equals any NaN: which operand's payload and sign a sum of
 * two NaNs (or inf - inf) carries is not fixed (the compiler may swap an addition's operands). */
static int same_bits(const float *a, const float *b, size_t n, size_t *at) {
    for (size_t i = 0; i < n; i++)
        if (!(isnan(a[i]) && isnan(b[i])) && memcmp(&a[i], &b[i], sizeof *a) != 0) {
            *at = i;
            return 0;
        }
    return 1;
}

typedef struct {
    int c, h, w, kh, kw, sh, sw, ph, pw, y0, y1; /* y1 = 0: every window row */
} case_t;

static gb_im2col_geom geom_of(const case_t *k) {
    gb_im2col_geom g = {k->c, k->h, k->w, k->kh, k->kw, k->sh, k->sw, k->ph, k->pw, 0, 0};
    g.out_h = (k->h + 2 * k->ph - k->kh) / k->sh + 1;
    g.out_w = (k->w + 2 * k->pw - k->kw) / k->sw + 1;
    return g;
}

/* The definition's one fact: cols row r, position q (window row y0 + q / out_w) reads image
 * pixel *at, or 0 when the tap falls outside the image (returns 0). */
static int source_pixel(const case_t *k, const gb_im2col_geom *g, size_t r, size_t q, int y0, size_t *at) {
    const int c = (int)(r / (size_t)(k->kh * k->kw)), i = (int)(r / (size_t)k->kw % (size_t)k->kh),
              j = (int)(r % (size_t)k->kw);
    const int y = y0 + (int)(q / (size_t)g->out_w), x = (int)(q % (size_t)g->out_w);
    const int iy = y * k->sh - k->ph + i, ix = x * k->sw - k->pw + j;
    if (iy < 0 || iy >= k->h || ix < 0 || ix >= k->w) return 0;
    *at = ((size_t)c * k->h + iy) * k->w + ix;
    return 1;
}

/* im2col: rows r, positions q < pos of window rows [y0, y1) at cols[r*ld + q] (nothing past a
 * row's positions is touched); col2im_add (adjoint): onto img's values, rows ascending, then
 * positions. */
static void define_lowering(const case_t *k, const gb_im2col_geom *g, float *img, float *cols, size_t ld, int y0,
                            int y1, int adjoint) {
    const size_t rows = (size_t)k->c * k->kh * k->kw, pos = (size_t)(y1 - y0) * g->out_w;
    for (size_t r = 0; r < rows; r++)
        for (size_t q = 0; q < pos; q++) {
            size_t at;
            int inside = source_pixel(k, g, r, q, y0, &at);
            if (adjoint && inside)
                img[at] += cols[r * ld + q];
            else if (!adjoint)
                cols[r * ld + q] = inside ? img[at] : 0.0f;
        }
}

/* An image to add onto: informative sums, and no -0.0: the routes that add the +0 they wrote at
 * a tap outside the image turn a -0.0 pixel into +0.0 (im2col.h). */
static float *col2im_base(size_t n) {
    float *base = values(n);
    for (size_t i = 0; i < n; i++)
        if (isnan(base[i]) || isinf(base[i]) || (base[i] == 0.0f && signbit(base[i]))) base[i] = 1.5f;
    return base;
}

enum { SAMPLES = 3 };

/* One image through gb_im2col / gb_col2im_add, and SAMPLES images side by side (as a batched
 * chunk lays them out) through gb_im2col_samples / gb_col2im_add_samples, on 1 and 2 threads,
 * against the definition. */
static void check_case(const case_t *k) {
    const gb_im2col_geom g = geom_of(k);
    const int y0 = k->y0, y1 = k->y1 ? k->y1 : g.out_h;
    const size_t rows = (size_t)k->c * k->kh * k->kw, pos = (size_t)(y1 - y0) * g.out_w;
    const size_t ld = pos + 5, bld = SAMPLES * pos + 5; /* rows longer than their positions */
    const size_t nimg = (size_t)k->c * k->h * k->w;
    float *img = values(SAMPLES * nimg), *want = malloc(rows * bld * sizeof *want);
    float *cols_in = values(rows * bld), *base = col2im_base(SAMPLES * nimg);
    float *want_img = malloc(SAMPLES * nimg * sizeof *want_img), *want_imgs = malloc(SAMPLES * nimg * sizeof *want_imgs);
    cr_assert(want && want_img && want_imgs);
    for (int batched = 0; batched < 2; batched++) {
        const int n = batched ? SAMPLES : 1;
        const size_t row = batched ? bld : ld;
        for (size_t q = 0; q < rows * row; q++) want[q] = 7.0f; /* untouched past a row's positions */
        float *wimg = batched ? want_imgs : want_img;
        memcpy(wimg, base, (size_t)n * nimg * sizeof *base);
        for (int s = 0; s < n; s++) {
            define_lowering(k, &g, img + (size_t)s * nimg, want + (size_t)s * pos, row, y0, y1, 0);
            define_lowering(k, &g, wimg + (size_t)s * nimg, cols_in + (size_t)s * pos, row, y0, y1, 1);
        }
        for (int threads = 1; threads <= 2; threads++) {
            gb_device dev;
            cr_assert_eq(gb_device_open(&dev, "cpu", threads), GB_OK, "%s", gb_last_error());
            float *cols = malloc(rows * row * sizeof *cols), *got_img = malloc((size_t)n * nimg * sizeof *got_img),
                  *scratch = malloc(rows * row * sizeof *scratch);
            cr_assert(cols && got_img && scratch);
            for (size_t q = 0; q < rows * row; q++) cols[q] = 7.0f;
            memcpy(got_img, base, (size_t)n * nimg * sizeof *base);
            memcpy(scratch, cols_in, rows * row * sizeof *scratch); /* col2im may zero padding entries */
            if (batched) {
                gb_im2col_samples(&dev, &g, cols, pos, row, img, nimg, n, y0, y1);
                gb_col2im_add_samples(&dev, &g, got_img, nimg, scratch, pos, row, n, y0, y1);
            } else {
                gb_im2col(&dev, &g, cols, row, img, y0, y1);
                gb_col2im_add(&dev, &g, got_img, scratch, row, y0, y1);
            }
            size_t at = 0;
            cr_expect(same_bits(cols, want, rows * row, &at),
                      "%dx%d k%dx%d s%d p%d, %d sample(s), %d threads: im2col[%zu] %a, want %a", k->h, k->w, k->kh,
                      k->kw, k->sh, k->ph, n, threads, at, (double)cols[at], (double)want[at]);
            cr_expect(same_bits(got_img, wimg, (size_t)n * nimg, &at),
                      "%dx%d k%dx%d s%d p%d, %d sample(s), %d threads: col2im img[%zu] %a, want %a", k->h, k->w, k->kh,
                      k->kw, k->sh, k->ph, n, threads, at, (double)got_img[at], (double)wimg[at]);
            free(cols), free(got_img), free(scratch);
            gb_device_close(&dev);
        }
    }
    free(img), free(want), free(cols_in), free(base), free(want_img), free(want_imgs);
}

Test(im2col, im2col_and_col2im_match_the_definition) {
    static const case_t cases[] = {
        {5, 4, 4, 3, 3, 1, 1, 1, 1, 0, 0},  {9, 8, 8, 3, 3, 1, 1, 1, 1, 0, 0},  {3, 16, 16, 3, 3, 1, 1, 1, 1, 0, 0},
        {3, 17, 17, 3, 3, 1, 1, 1, 1, 0, 0}, {4, 5, 7, 3, 3, 1, 1, 1, 1, 0, 0},  {2, 8, 8, 5, 5, 1, 1, 2, 2, 0, 0},
        {2, 8, 8, 7, 7, 1, 1, 3, 3, 0, 0},  {3, 1, 16, 1, 3, 1, 1, 0, 1, 0, 0}, {6, 8, 8, 1, 1, 1, 1, 0, 0, 0, 0},
        {4, 8, 8, 3, 3, 2, 2, 1, 1, 0, 0},  /* stride 2 */
        {3, 8, 8, 3, 3, 1, 1, 0, 0, 0, 0},  /* valid padding: the output is smaller */
        {3, 8, 8, 3, 3, 1, 1, 1, 1, 2, 5},  /* a band of window rows */
        {2, 6, 9, 3, 3, 1, 1, 2, 2, 0, 0},  /* padding wider than the kernel's half */
        {3, 2, 8, 3, 3, 1, 1, 1, 1, 0, 0},  /* a 16-position plane two rows high */
        {2, 4, 4, 3, 1, 1, 1, 1, 0, 0, 0},  /* a 3x1 kernel on 4x4 planes */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);
}
