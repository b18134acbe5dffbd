/* tests/test_kernels_conv_upsample.c - upsample_conv2d (nearest x2 upsample + stride-1 "same"
 * conv, kernels/cpu/conv_upsample.c): its phase route against the definition, and the table
 * entry's choice of route.
 *
 * References: a float64 transcription written here of the definition itself (upsample the
 * input by copying pixels, then the direct conv loops), its explicit float64 adjoint (checked
 * to be the adjoint by <dout, A x> = <A^T dout, x> in float64), and the CPU conv2d GEMM path on
 * the upsampled image. Shapes: odd and non-square low-resolution images, batch 1 and 3,
 * channel counts that are not multiples of 8, kernels 1x1, 3x3, 5x5 and 3x1, the GAN's
 * 128-channel layer, and an image large enough for row bands (the single-sample workspace
 * limit of kernels/cpu/im2col.h). Tolerances: tests/tolerances.md "convolution (upsample)".
 * Random inputs come from fixed seeds.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/kernels.h"
#include "tests/gradcheck.h"

#define U GC_U32

static gb_device dev;
static void open_cpu(void) { cr_assert_eq(gb_device_open(&dev, "cpu", 2), GB_OK, "%s", gb_last_error()); }
static void close_cpu(void) { gb_device_close(&dev); }
TestSuite(upsample_conv2d, .init = open_cpu, .fini = close_cpu);

/* The shape of the conv at the upsampled size for a low-resolution h x w input. */
static gb_conv_shape up_shape(int batch, int cin, int h, int w, int cout, int kh, int kw) {
    return (gb_conv_shape){.batch = batch, .in_channels = cin, .in_height = 2 * h, .in_width = 2 * w,
                           .out_channels = cout, .kernel_h = kh, .kernel_w = kw, .stride_h = 1,
                           .stride_w = 1, .pad_h = (kh - 1) / 2, .pad_w = (kw - 1) / 2};
}

typedef struct {
    gb_conv_shape s;
    size_t n_lo, n_up, n_out, n_w;
    int H, W; /* upsampled (= output) size */
} sizes;

static sizes sizes_of(const gb_conv_shape *s) {
    sizes z = {.s = *s, .H = s->in_height, .W = s->in_width};
    z.n_lo = (size_t)s->batch * s->in_channels * (s->in_height / 2) * (s->in_width / 2);
    z.n_up = (size_t)s->batch * s->in_channels * z.H * z.W;
    z.n_out = (size_t)s->batch * s->out_channels * z.H * z.W;
    z.n_w = (size_t)s->out_channels * s->in_channels * s->kernel_h * s->kernel_w;
    return z;
}

/* The upsampled image in float64, by the definition: every pixel copied to a 2x2 block. */
static double *upsample_ref(const sizes *z, const float *x, int absolute) {
    double *u = gc_dalloc(z->n_up);
    int h = z->H / 2, w = z->W / 2;
    for (size_t p = 0; p < (size_t)z->s.batch * z->s.in_channels; p++)
        for (int Y = 0; Y < z->H; Y++)
            for (int X = 0; X < z->W; X++) {
                double v = x[(p * h + Y / 2) * w + X / 2];
                u[(p * z->H + Y) * z->W + X] = absolute ? fabs(v) : v;
            }
    return u;
}

/* out[n,m,Y,X] = b[m] + sum w[m,c,a,b] u[n,c,Y+a-p,X+b-p], in float64 (absolute values on
 * request, for the error scale S). */
static double *forward_ref(const sizes *z, const float *x, const float *w, const float *b, int absolute) {
    const gb_conv_shape *s = &z->s;
    double *u = upsample_ref(z, x, absolute), *out = gc_dalloc(z->n_out);
    for (int n = 0; n < s->batch; n++)
        for (int m = 0; m < s->out_channels; m++)
            for (int Y = 0; Y < z->H; Y++)
                for (int X = 0; X < z->W; X++) {
                    double acc = b ? (absolute ? fabs(b[m]) : b[m]) : 0.0;
                    for (int c = 0; c < s->in_channels; c++)
                        for (int a = 0; a < s->kernel_h; a++)
                            for (int bb = 0; bb < s->kernel_w; bb++) {
                                int iy = Y + a - s->pad_h, ix = X + bb - s->pad_w;
                                if (iy < 0 || iy >= z->H || ix < 0 || ix >= z->W) continue;
                                double wv = w[((size_t)(m * s->in_channels + c) * s->kernel_h + a) * s->kernel_w + bb];
                                acc += (absolute ? fabs(wv) : wv) *
                                       u[((size_t)(n * s->in_channels + c) * z->H + iy) * z->W + ix];
                            }
                    out[((size_t)(n * s->out_channels + m) * z->H + Y) * z->W + X] = acc;
                }
    free(u);
    return out;
}

/* The adjoint in float64: dinp (summed over each pixel's 2x2 block), dweight, dbias. Any of the
 * outputs may be NULL. With absolute, every operand is taken by magnitude (the scale S). */
static void backward_ref(const sizes *z, const float *x, const float *w, const float *g, int absolute,
                         double *dinp, double *dw, double *db) {
    const gb_conv_shape *s = &z->s;
    double *u = upsample_ref(z, x, absolute), *du = gc_dalloc(z->n_up);
    if (dw) memset(dw, 0, z->n_w * sizeof *dw);
    if (db) memset(db, 0, (size_t)s->out_channels * sizeof *db);
    for (int n = 0; n < s->batch; n++)
        for (int m = 0; m < s->out_channels; m++)
            for (int Y = 0; Y < z->H; Y++)
                for (int X = 0; X < z->W; X++) {
                    double gv = g[((size_t)(n * s->out_channels + m) * z->H + Y) * z->W + X];
                    if (absolute) gv = fabs(gv);
                    if (db) db[m] += gv;
                    for (int c = 0; c < s->in_channels; c++)
                        for (int a = 0; a < s->kernel_h; a++)
                            for (int bb = 0; bb < s->kernel_w; bb++) {
                                int iy = Y + a - s->pad_h, ix = X + bb - s->pad_w;
                                if (iy < 0 || iy >= z->H || ix < 0 || ix >= z->W) continue;
                                size_t wi = ((size_t)(m * s->in_channels + c) * s->kernel_h + a) * s->kernel_w + bb;
                                size_t ui = ((size_t)(n * s->in_channels + c) * z->H + iy) * z->W + ix;
                                double wv = absolute ? fabs(w[wi]) : w[wi];
                                du[ui] += wv * gv;
                                if (dw) dw[wi] += gv * u[ui];
                            }
                }
    if (dinp) {
        int h = z->H / 2, wl = z->W / 2;
        memset(dinp, 0, z->n_lo * sizeof *dinp);
        for (size_t p = 0; p < (size_t)s->batch * s->in_channels; p++)
            for (int Y = 0; Y < z->H; Y++)
                for (int X = 0; X < z->W; X++) dinp[(p * h + Y / 2) * wl + X / 2] += du[(p * z->H + Y) * z->W + X];
    }
    free(u);
    free(du);
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Forward and every gradient within the bounds of tests/tolerances.md, on one shape. */
static void check_shape_against_definition(const gb_conv_shape *s, uint64_t seed) {
    sizes z = sizes_of(s);
    gc_seed_rng(seed);
    float *x = gc_rand(z.n_lo, -1, 1), *w = gc_rand(z.n_w, -1, 1), *b = gc_rand((size_t)s->out_channels, -1, 1);
    float *g = gc_rand(z.n_out, -1, 1);
    float *out = gc_falloc(z.n_out), *dx = gc_falloc(z.n_lo);
    float *dw = calloc(z.n_w, sizeof(float)), *db = calloc((size_t)s->out_channels, sizeof(float));
    gb_upsample_conv2d_forward_phases_cpu(&dev, out, x, w, b, s);
    gb_upsample_conv2d_backward_phases_cpu(&dev, dx, dw, db, g, x, w, s);

    double *ref = forward_ref(&z, x, w, b, 0), *mag = forward_ref(&z, x, w, b, 1);
    const double fwd_bound = (double)(s->in_channels * s->kernel_h * s->kernel_w + 2) * U;
    for (size_t i = 0; i < z.n_out; i++)
        cr_assert(fabs(out[i] - ref[i]) <= fwd_bound * mag[i], "seed %llu: out[%zu] = %.9g, float64 %.9g, bound %.3g",
                  (unsigned long long)seed, i, out[i], ref[i], fwd_bound * mag[i]);

    double *rdx = gc_dalloc(z.n_lo), *rdw = gc_dalloc(z.n_w), *rdb = gc_dalloc((size_t)s->out_channels);
    double *mdx = gc_dalloc(z.n_lo), *mdw = gc_dalloc(z.n_w), *mdb = gc_dalloc((size_t)s->out_channels);
    backward_ref(&z, x, w, g, 0, rdx, rdw, rdb);
    backward_ref(&z, x, w, g, 1, mdx, mdw, mdb);

    /* the reference backward is the forward's adjoint: <g, A x> = <A^T g, x> (no bias) */
    double *ax = forward_ref(&z, x, w, NULL, 0), *gd = gc_to_double(g, z.n_out), *xd = gc_to_double(x, z.n_lo);
    double lhs = dot(gd, ax, z.n_out), rhs = dot(rdx, xd, z.n_lo);
    cr_assert(fabs(lhs - rhs) <= 1e-10 * (fabs(lhs) + 1.0), "reference adjoint: %.15g vs %.15g", lhs, rhs);

    const double dx_bound = (double)(s->out_channels + 4 * s->kernel_h * s->kernel_w + 2) * U;
    for (size_t i = 0; i < z.n_lo; i++)
        cr_assert(fabs(dx[i] - rdx[i]) <= dx_bound * mdx[i] + 1e-9, "seed %llu: dinp[%zu] = %.9g, float64 %.9g",
                  (unsigned long long)seed, i, dx[i], rdx[i]);
    const double terms = (double)s->batch * z.H * z.W;
    for (size_t i = 0; i < z.n_w; i++)
        cr_assert(fabs(dw[i] - rdw[i]) <= (terms + 2) * U * mdw[i] + 1e-9, "seed %llu: dweight[%zu] = %.9g, float64 %.9g",
                  (unsigned long long)seed, i, dw[i], rdw[i]);
    for (int m = 0; m < s->out_channels; m++)
        cr_assert(fabs(db[m] - rdb[m]) <= 2 * U * mdb[m] + 1e-9, "dbias[%d] = %.9g, float64 %.9g", m, db[m], rdb[m]);

    free(x), free(w), free(b), free(g), free(out), free(dx), free(dw), free(db);
    free(ref), free(mag), free(rdx), free(rdw), free(rdb), free(mdx), free(mdw), free(mdb), free(ax), free(gd), free(xd);
}

Test(upsample_conv2d, matches_definition_3x3_awkward) {
    gb_conv_shape a = up_shape(3, 5, 5, 7, 6, 3, 3); /* odd, non-square */
    check_shape_against_definition(&a, 11);
    gb_conv_shape b = up_shape(1, 13, 4, 4, 3, 3, 3); /* batch 1, 13 channels */
    check_shape_against_definition(&b, 12);
}

Test(upsample_conv2d, matches_definition_other_kernels) {
    gb_conv_shape one = up_shape(2, 7, 3, 5, 4, 1, 1);
    check_shape_against_definition(&one, 21);
    gb_conv_shape five = up_shape(2, 3, 4, 3, 5, 5, 5);
    check_shape_against_definition(&five, 22);
    gb_conv_shape tall = up_shape(3, 4, 5, 4, 2, 3, 1);
    check_shape_against_definition(&tall, 23);
}

Test(upsample_conv2d, matches_definition_gan_layer) {
    /* the CMU generator's 8x8 -> 16x16 block conv at batch 2 (the GEMM chunks span samples) */
    gb_conv_shape s = up_shape(2, 128, 8, 8, 128, 3, 3);
    check_shape_against_definition(&s, 31);
}

/* Against the GEMM conv on the upsampled image at an image size whose single sample exceeds the
 * lowering workspace (row bands, kernels/cpu/im2col.h): both are within their bounds of the
 * exact value, so they differ by at most the sum of the bounds; S from the conv on |x|, |w|. */
Test(upsample_conv2d, row_bands_match_upsample_then_conv) {
    gb_conv_shape s = up_shape(1, 200, 144, 144, 16, 3, 3);
    sizes z = sizes_of(&s);
    gc_seed_rng(41);
    float *x = gc_rand(z.n_lo, -1, 1), *w = gc_rand(z.n_w, -1, 1), *g = gc_rand(z.n_out, -1, 1);
    float *up = gc_falloc(z.n_up), *dup = gc_falloc(z.n_up), *ref = gc_falloc(z.n_out), *out = gc_falloc(z.n_out);
    float *dx = gc_falloc(z.n_lo), *rdx = gc_falloc(z.n_lo);
    float *dw = calloc(z.n_w, sizeof(float)), *rdw = calloc(z.n_w, sizeof(float));
    gb_upsample_nearest2x_forward(&dev, up, x, (size_t)s.in_channels, 144, 144);
    gb_conv2d_forward_gemm_cpu(&dev, ref, up, w, NULL, &s);
    gb_conv2d_backward_gemm_cpu(&dev, dup, rdw, NULL, g, up, w, &s);
    gb_upsample_nearest2x_backward(&dev, rdx, dup, (size_t)s.in_channels, 144, 144);
    gb_upsample_conv2d_forward_phases_cpu(&dev, out, x, w, NULL, &s);
    gb_upsample_conv2d_backward_phases_cpu(&dev, dx, dw, NULL, g, x, w, &s);

    /* |x|, |w| <= 1: S <= C*9 for an output, M*9*4 for dinp, N*P for dweight (|g| <= 1) */
    double k = (double)s.in_channels * 9;
    for (size_t i = 0; i < z.n_out; i++)
        cr_assert(fabs(out[i] - ref[i]) <= 2 * (k + 2) * U * k, "out[%zu] %.9g vs %.9g", i, out[i], ref[i]);
    double sdx = (double)s.out_channels * 36;
    for (size_t i = 0; i < z.n_lo; i++)
        cr_assert(fabs(dx[i] - rdx[i]) <= 2 * (s.out_channels + 36 + 2) * U * sdx, "dinp[%zu] %.9g vs %.9g", i, dx[i], rdx[i]);
    double terms = (double)z.H * z.W;
    for (size_t i = 0; i < z.n_w; i++)
        cr_assert(fabs(dw[i] - rdw[i]) <= 2 * (terms + 2) * U * terms, "dweight[%zu] %.9g vs %.9g", i, dw[i], rdw[i]);
    free(x), free(w), free(g), free(up), free(dup), free(ref), free(out), free(dx), free(rdx), free(dw), free(rdw);
}

/* Gradient contract: dweight and dbias accumulate, dinp overwrites; NULL skips. */
Test(upsample_conv2d, gradient_contract) {
    gb_conv_shape s = up_shape(2, 6, 4, 5, 7, 3, 3);
    sizes z = sizes_of(&s);
    gc_seed_rng(51);
    float *x = gc_rand(z.n_lo, -1, 1), *w = gc_rand(z.n_w, -1, 1), *g = gc_rand(z.n_out, -1, 1);
    float *dx1 = gc_falloc(z.n_lo), *dx2 = gc_rand(z.n_lo, 5, 6);
    float *dw = calloc(z.n_w, sizeof(float)), *db = calloc((size_t)s.out_channels, sizeof(float));
    float *dw1 = calloc(z.n_w, sizeof(float)), *db1 = calloc((size_t)s.out_channels, sizeof(float));
    gb_upsample_conv2d_backward_phases_cpu(&dev, dx1, dw1, db1, g, x, w, &s);
    gb_upsample_conv2d_backward_phases_cpu(&dev, dx2, dw, db, g, x, w, &s);
    gb_upsample_conv2d_backward_phases_cpu(&dev, dx2, dw, db, g, x, w, &s);
    cr_assert(memcmp(dx1, dx2, z.n_lo * sizeof(float)) == 0, "dinp must be overwritten, not accumulated");
    double *mdw = gc_dalloc(z.n_w);
    backward_ref(&z, x, w, g, 1, NULL, mdw, NULL);
    double gamma = (double)s.batch * z.H * z.W + 2;
    for (size_t i = 0; i < z.n_w; i++)
        cr_assert(fabs(dw[i] - 2 * dw1[i]) <= 2 * gamma * U * mdw[i] + 2 * U * fabs(2 * dw1[i]),
                  "dweight[%zu]: twice %.9g, once %.9g", i, dw[i], dw1[i]);
    for (int m = 0; m < s.out_channels; m++)
        cr_assert(fabs(db[m] - 2 * db1[m]) <= 3 * U * fabs(2 * db1[m]), "dbias[%d] twice %.9g once %.9g", m, db[m], db1[m]);
    /* NULL dweight and dbias: dinp alone is the same bits */
    float *dx3 = gc_falloc(z.n_lo);
    gb_upsample_conv2d_backward_phases_cpu(&dev, dx3, NULL, NULL, g, x, w, &s);
    cr_assert(memcmp(dx1, dx3, z.n_lo * sizeof(float)) == 0, "dinp alone differs from dinp with dweight");
    free(x), free(w), free(g), free(dx1), free(dx2), free(dx3), free(dw), free(db), free(dw1), free(db1), free(mdw);
}

/* The same bits on 1, 2 and 3 threads (every helper splits over channels; sgemm never splits
 * its reduction). */
Test(upsample_conv2d, bits_independent_of_thread_count) {
    gb_conv_shape s = up_shape(5, 9, 8, 8, 11, 3, 3);
    sizes z = sizes_of(&s);
    gc_seed_rng(61);
    float *x = gc_rand(z.n_lo, -1, 1), *w = gc_rand(z.n_w, -1, 1), *b = gc_rand((size_t)s.out_channels, -1, 1);
    float *g = gc_rand(z.n_out, -1, 1);
    float *out[3], *dx[3], *dw[3];
    for (int t = 0; t < 3; t++) {
        gb_device d;
        cr_assert_eq(gb_device_open(&d, "cpu", t + 1), GB_OK, "%s", gb_last_error());
        out[t] = gc_falloc(z.n_out), dx[t] = gc_falloc(z.n_lo), dw[t] = calloc(z.n_w, sizeof(float));
        gb_upsample_conv2d_forward_phases_cpu(&d, out[t], x, w, b, &s);
        gb_upsample_conv2d_backward_phases_cpu(&d, dx[t], dw[t], NULL, g, x, w, &s);
        gb_device_close(&d);
    }
    for (int t = 1; t < 3; t++) {
        cr_expect(memcmp(out[t], out[0], z.n_out * sizeof(float)) == 0, "forward with %d threads differs", t + 1);
        cr_expect(memcmp(dx[t], dx[0], z.n_lo * sizeof(float)) == 0, "dinp with %d threads differs", t + 1);
        cr_expect(memcmp(dw[t], dw[0], z.n_w * sizeof(float)) == 0, "dweight with %d threads differs", t + 1);
    }
    for (int t = 0; t < 3; t++) free(out[t]), free(dx[t]), free(dw[t]);
    free(x), free(w), free(b), free(g);
}

/* The table entry: on a default device the plain route, the same bits as upsampling and then
 * running conv2d; on a fast_conv device the phase route's bits. */
Test(upsample_conv2d, table_entry_picks_the_route) {
    gb_conv_shape s = up_shape(3, 64, 8, 8, 64, 3, 3);
    sizes z = sizes_of(&s);
    gc_seed_rng(71);
    float *x = gc_rand(z.n_lo, -1, 1), *w = gc_rand(z.n_w, -1, 1), *b = gc_rand((size_t)s.out_channels, -1, 1);
    float *g = gc_rand(z.n_out, -1, 1);
    float *up = gc_falloc(z.n_up), *dup = gc_falloc(z.n_up), *want = gc_falloc(z.n_out), *got = gc_falloc(z.n_out);
    float *dx_want = gc_falloc(z.n_lo), *dx_got = gc_falloc(z.n_lo);
    float *dw_want = calloc(z.n_w, sizeof(float)), *dw_got = calloc(z.n_w, sizeof(float));
    gb_upsample_nearest2x_forward(&dev, up, x, (size_t)s.batch * s.in_channels, 8, 8);
    gb_conv2d_forward(&dev, want, up, w, b, &s);
    gb_conv2d_backward(&dev, dup, dw_want, NULL, g, up, w, &s);
    gb_upsample_nearest2x_backward(&dev, dx_want, dup, (size_t)s.batch * s.in_channels, 8, 8);
    gb_upsample_conv2d_forward(&dev, got, x, w, b, &s);
    gb_upsample_conv2d_backward(&dev, dx_got, dw_got, NULL, g, x, w, &s);
    cr_assert(memcmp(got, want, z.n_out * sizeof(float)) == 0, "default device: not upsample-then-conv's bits");
    cr_assert(memcmp(dx_got, dx_want, z.n_lo * sizeof(float)) == 0, "default device: dinp differs");
    cr_assert(memcmp(dw_got, dw_want, z.n_w * sizeof(float)) == 0, "default device: dweight differs");

    dev.fast_conv = 1;
    memset(dw_want, 0, z.n_w * sizeof(float)), memset(dw_got, 0, z.n_w * sizeof(float));
    gb_upsample_conv2d_forward_phases_cpu(&dev, want, x, w, b, &s);
    gb_upsample_conv2d_backward_phases_cpu(&dev, dx_want, dw_want, NULL, g, x, w, &s);
    gb_upsample_conv2d_forward(&dev, got, x, w, b, &s);
    gb_upsample_conv2d_backward(&dev, dx_got, dw_got, NULL, g, x, w, &s);
    dev.fast_conv = 0;
    cr_assert(memcmp(got, want, z.n_out * sizeof(float)) == 0, "fast_conv device: not the phase route's bits");
    cr_assert(memcmp(dx_got, dx_want, z.n_lo * sizeof(float)) == 0, "fast_conv device: dinp differs");
    cr_assert(memcmp(dw_got, dw_want, z.n_w * sizeof(float)) == 0, "fast_conv device: dweight differs");
    free(x), free(w), free(b), free(g), free(up), free(dup), free(want), free(got);
    free(dx_want), free(dx_got), free(dw_want), free(dw_got);
}

/* The shape rule both backends call (gb_upsample_conv2d_check_shape): an odd upsampled size has
 * no low-resolution image behind it, and would leave the CUDA route's staging rows unwritten. */
Test(upsample_conv2d, odd_upsampled_size_aborts, .signal = SIGABRT) {
    gb_conv_shape s = up_shape(1, 2, 4, 4, 2, 3, 3);
    s.in_height = 9;
    float x[2 * 4 * 4] = {0}, w[2 * 2 * 3 * 3] = {0}, out[2 * 9 * 8];
    gb_upsample_conv2d_forward(&dev, out, x, w, NULL, &s);
}
