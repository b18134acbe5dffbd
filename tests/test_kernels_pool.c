/* tests/test_kernels_pool.c - the CPU pooling, resampling, layout and softmax-family
 * kernels (kernels/cpu/pool.c, layout.c, softmax.c) through the backend table.
 *
 * References:
 *   - PyTorch 1.13 forward values and autograd gradients written by
 *     tests/peers/kernels_pool.py into $GB_FIXTURES/kernels_pool/ (max pool with
 *     ties and all-negative windows at the padding, average pool with
 *     count_include_pad both ways, odd / non-square sizes, batch 1, 5 channels);
 *   - float64 transcriptions of each forward written here (independently of the
 *     kernels: pooling windows are walked over the padded grid), whose gradients
 *     come from central finite differences (tests/gradcheck.h gc_fd_vjp); max-pool
 *     FD inputs are tie-free and all negative (padding must act as -inf);
 *   - known answers for the softmax family on extreme rows, the squeeze round
 *     trip and the adjoint identity <squeeze x, y> = <x, unsqueeze y>.
 * Every output buffer starts as NaN, so a kernel that accumulates instead of
 * overwriting, or skips an element, fails. Tolerances, with their derivation:
 * tests/tolerances.md, section "pooling, layout, softmax, attention". For linear
 * ops "mag" is the same map applied to absolute values (the sum of |terms| a
 * float sum rounds), computed in double.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "tests/fixture.h"
#include "tests/gradcheck.h"

#define U GC_U32
#define FD_H 1e-4
/* float64 FD error of a linear op: rounding only, eps64 * |L| / h <= 1e-11 for
 * these sizes; 1e-9 leaves room and is far below u * |gradient|. */
#define FD_ATOL_LINEAR 1e-9
#define EPS64 2.220446049250313e-16

static gb_device dev;

static void open_cpu(void) {
    cr_assert_eq(gb_device_open(&dev, "cpu", 1), GB_OK, "gb_device_open(cpu): %s", gb_last_error());
    gc_seed_rng(20240612);
}
static void close_cpu(void) { gb_device_close(&dev); }

TestSuite(pool, .init = open_cpu, .fini = close_cpu);
TestSuite(layout, .init = open_cpu, .fini = close_cpu);
TestSuite(softmax, .init = open_cpu, .fini = close_cpu);

/* $GB_FIXTURES/kernels_pool/<printf name>.f32 with exactly n floats */
static float *fx(size_t n, const char *fmt, ...) {
    char name[256], rel[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    snprintf(rel, sizeof rel, "kernels_pool/%s.f32", name);
    return fixture_f32(rel, n);
}

static float *nanbuf(size_t n) {
    float *a = gc_falloc(n);
    for (size_t i = 0; i < n; i++) a[i] = NAN;
    return a;
}

static double *fabs_copy(const double *a, size_t n) {
    double *r = gc_dalloc(n);
    for (size_t i = 0; i < n; i++) r[i] = fabs(a[i]);
    return r;
}

/* |got - ref| <= tol[i] elementwise (tol from a derived per-element bound). */
static void expect_within(const char *label, const float *got, const double *ref, const double *tol,
                          size_t n) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - ref[i]);
        if (!(diff <= tol[i])) {
            if (bad < 5)
                cr_log_error("%s[%zu]: got %.9g, want %.9g (diff %.3g > tol %.3g), seed %llu", label,
                             i, (double)got[i], ref[i], diff, tol[i], (unsigned long long)gc_seed);
            bad++;
        }
    }
    cr_expect_eq(bad, 0, "%s: %zu of %zu elements out of tolerance", label, bad, n);
}

static void expect_equal(const char *label, const float *got, const float *ref, size_t n) {
    gc_expect_close_f(label, got, ref, n, 0.0, 0.0);
}

/* ================================ pooling ================================ */

typedef struct {
    const char *name;
    int b, c, h, w, kh, kw, sh, sw, ph, pw, cip;
} pool_case;

/* the case tables of tests/peers/kernels_pool.py */
static const pool_case max_cases[] = {
    {"k3s2p1", 2, 3, 7, 6, 3, 3, 2, 2, 1, 1, 0}, {"k2s2", 1, 5, 5, 8, 2, 2, 2, 2, 0, 0, 0},
    {"k3s1p1", 1, 3, 6, 5, 3, 3, 1, 1, 1, 1, 0}, {"k2s1p1", 2, 1, 4, 3, 2, 2, 1, 1, 1, 1, 0},
    {"k3x2s2x1", 1, 2, 7, 9, 3, 2, 2, 1, 1, 0, 0},
};
static const pool_case avg_cases[] = {
    {"k3s1p1_excl", 2, 3, 5, 7, 3, 3, 1, 1, 1, 1, 0}, {"k3s1p1_incl", 2, 3, 5, 7, 3, 3, 1, 1, 1, 1, 1},
    {"k2s2", 1, 5, 7, 6, 2, 2, 2, 2, 0, 0, 1},        {"k3s2p1_excl", 1, 2, 6, 9, 3, 3, 2, 2, 1, 1, 0},
    {"k3s2p1_incl", 1, 2, 6, 9, 3, 3, 2, 2, 1, 1, 1},
};
#define NCASES(a) (sizeof(a) / sizeof(a[0]))

static gb_pool_shape pool_shape(const pool_case *pc) {
    return (gb_pool_shape){pc->b, pc->c, pc->h, pc->w, pc->kh, pc->kw,
                           pc->sh, pc->sw, pc->ph, pc->pw, pc->cip};
}
static size_t n_in(const gb_pool_shape *s) {
    return (size_t)s->batch * s->channels * s->in_height * s->in_width;
}
static size_t n_out(const gb_pool_shape *s) {
    return (size_t)s->batch * s->channels * gb_pool_out_h(s) * gb_pool_out_w(s);
}
/* the most windows that can cover one input element */
static int max_cover(const gb_pool_shape *s) {
    return ((s->kernel_h + s->stride_h - 1) / s->stride_h) * ((s->kernel_w + s->stride_w - 1) / s->stride_w);
}

/* float64 pooling: walk every cell of every window over the zero-padded grid,
 * classify it as image, padding, or outside the padded image. */
static void ref_pool(const gb_pool_shape *s, int is_max, const double *x, double *y) {
    const int oh = gb_pool_out_h(s), ow = gb_pool_out_w(s);
    for (int p = 0; p < s->batch * s->channels; p++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                double best = -INFINITY, sum = 0;
                int n_img = 0, n_padded = 0;
                for (int ky = 0; ky < s->kernel_h; ky++)
                    for (int kx = 0; kx < s->kernel_w; kx++) {
                        int iy = oy * s->stride_h + ky - s->pad_h, ix = ox * s->stride_w + kx - s->pad_w;
                        if (iy >= -s->pad_h && iy < s->in_height + s->pad_h && ix >= -s->pad_w &&
                            ix < s->in_width + s->pad_w)
                            n_padded++;
                        if (iy < 0 || iy >= s->in_height || ix < 0 || ix >= s->in_width) continue;
                        double v = x[((size_t)p * s->in_height + iy) * s->in_width + ix];
                        n_img++;
                        sum += v;
                        if (v > best) best = v;
                    }
                y[((size_t)p * oh + oy) * ow + ox] =
                    is_max ? best : sum / (s->count_include_pad ? n_padded : n_img);
            }
}

typedef struct {
    const gb_pool_shape *s;
    int is_max;
} pool_ctx;
static void pool_f64(void *ctx, const double *x, double *y) {
    const pool_ctx *c = ctx;
    ref_pool(c->s, c->is_max, x, y);
}

Test(pool, maxpool_matches_torch_with_ties) {
    for (size_t k = 0; k < NCASES(max_cases); k++) {
        const pool_case *pc = &max_cases[k];
        gb_pool_shape s = pool_shape(pc);
        size_t ni = n_in(&s), no = n_out(&s);
        float *inp = fx(ni, "maxpool_%s_inp", pc->name), *dout = fx(no, "maxpool_%s_dout", pc->name);
        float *want = fx(no, "maxpool_%s_out", pc->name), *want_arg = fx(no, "maxpool_%s_argmax", pc->name);
        float *want_dinp = fx(ni, "maxpool_%s_dinp", pc->name);
        float *out = nanbuf(no), *out2 = nanbuf(no), *dinp = nanbuf(ni), *argf = gc_falloc(no);
        int32_t *arg = malloc(no * sizeof *arg);
        for (size_t i = 0; i < no; i++) arg[i] = -7;
        gb_maxpool2d_forward(&dev, out, arg, inp, &s);
        gb_maxpool2d_forward(&dev, out2, NULL, inp, &s);
        for (size_t i = 0; i < no; i++) argf[i] = (float)arg[i];
        char label[128];
        snprintf(label, sizeof label, "maxpool %s out", pc->name);
        expect_equal(label, out, want, no);
        snprintf(label, sizeof label, "maxpool %s out (argmax NULL)", pc->name);
        expect_equal(label, out2, want, no);
        snprintf(label, sizeof label, "maxpool %s argmax", pc->name);
        expect_equal(label, argf, want_arg, no);
        /* Same float additions in the same order as PyTorch's CPU scatter: bit-exact. */
        gb_maxpool2d_backward(&dev, dinp, dout, arg, &s);
        snprintf(label, sizeof label, "maxpool %s dinp", pc->name);
        expect_equal(label, dinp, want_dinp, ni);
        free(inp), free(dout), free(want), free(want_arg), free(want_dinp);
        free(out), free(out2), free(dinp), free(argf), free(arg);
    }
}

Test(pool, maxpool_grad_matches_fd_tie_free_negative) {
    for (size_t k = 0; k < NCASES(max_cases); k++) {
        const pool_case *pc = &max_cases[k];
        gb_pool_shape s = pool_shape(pc);
        size_t ni = n_in(&s), no = n_out(&s);
        /* distinct values in [-2, -1), at least 1/ni >= 4e-3 apart (>> FD step):
         * a random permutation of an evenly spaced grid */
        float *inp = gc_falloc(ni);
        for (size_t i = 0; i < ni; i++) inp[i] = -2.0f + (float)i / (float)ni;
        for (size_t i = ni - 1; i > 0; i--) {
            size_t j = gc_next() % (i + 1);
            float t = inp[i];
            inp[i] = inp[j], inp[j] = t;
        }
        float *dout = gc_rand(no, -1, 1), *out = nanbuf(no), *dinp = nanbuf(ni);
        int32_t *arg = malloc(no * sizeof *arg);
        gb_maxpool2d_forward(&dev, out, arg, inp, &s);
        gb_maxpool2d_backward(&dev, dinp, dout, arg, &s);

        double *x = gc_to_double(inp, ni), *dy = gc_to_double(dout, no), *y = gc_dalloc(no);
        pool_ctx ctx = {&s, 1};
        pool_f64(&ctx, x, y);
        char label[128];
        snprintf(label, sizeof label, "maxpool %s out vs f64", pc->name);
        gc_expect_close(label, out, y, no, 0.0, 0.0); /* a max is exact */
        double *ref = gc_dalloc(ni), *mag = gc_dalloc(ni), *ady = fabs_copy(dy, no), *tol = gc_dalloc(ni);
        gc_fd_vjp(pool_f64, &ctx, x, ni, no, dy, FD_H, ref);
        gc_fd_vjp(pool_f64, &ctx, x, ni, no, ady, FD_H, mag);
        /* up to max_cover float additions of dout values */
        for (size_t i = 0; i < ni; i++) tol[i] = max_cover(&s) * U * mag[i] + FD_ATOL_LINEAR;
        snprintf(label, sizeof label, "maxpool %s dinp vs FD", pc->name);
        expect_within(label, dinp, ref, tol, ni);
        free(inp), free(dout), free(out), free(dinp), free(arg), free(x), free(dy), free(y);
        free(ref), free(mag), free(ady), free(tol);
    }
}

Test(pool, maxpool_padding_is_minus_infinity_and_nan_wins) {
    /* 1 x 1 x 2 x 2, 3x3 window, stride 1, padding 1: all four windows hold the
     * whole image plus padding; with negative values a zero padding would win. */
    gb_pool_shape s = {1, 1, 2, 2, 3, 3, 1, 1, 1, 1, 0};
    float inp[4] = {-3.0f, -1.0f, -1.0f, -2.0f}, out[4];
    int32_t arg[4];
    gb_maxpool2d_forward(&dev, out, arg, inp, &s);
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(out[i], -1.0f, "out[%d] = %g, want -1 (padding must be -inf)", i, (double)out[i]);
        cr_expect_eq(arg[i], 1, "argmax[%d] = %d, want 1 (first of the tied maxima)", i, arg[i]);
    }
    inp[2] = NAN;
    gb_maxpool2d_forward(&dev, out, arg, inp, &s);
    for (int i = 0; i < 4; i++) {
        cr_expect(isnan(out[i]), "out[%d] = %g, want NaN (PyTorch propagates NaN)", i, (double)out[i]);
        cr_expect_eq(arg[i], 2, "argmax[%d] = %d, want 2 (the NaN)", i, arg[i]);
    }
    gb_maxpool2d_forward(&dev, out, NULL, inp, &s); /* the separable path */
    for (int i = 0; i < 4; i++) cr_expect(isnan(out[i]), "out[%d] = %g without argmax, want NaN", i, (double)out[i]);
}

Test(pool, avgpool_matches_torch) {
    for (size_t k = 0; k < NCASES(avg_cases); k++) {
        const pool_case *pc = &avg_cases[k];
        gb_pool_shape s = pool_shape(pc);
        size_t ni = n_in(&s), no = n_out(&s);
        float *inp = fx(ni, "avgpool_%s_inp", pc->name), *dout = fx(no, "avgpool_%s_dout", pc->name);
        float *want = fx(no, "avgpool_%s_out", pc->name), *want_dinp = fx(ni, "avgpool_%s_dinp", pc->name);
        float *out = nanbuf(no), *dinp = nanbuf(ni);
        gb_avgpool2d_forward(&dev, out, inp, &s);
        gb_avgpool2d_backward(&dev, dinp, dout, &s);

        pool_ctx ctx = {&s, 0};
        double *x = gc_to_double(inp, ni), *ax = fabs_copy(x, ni), *magf = gc_dalloc(no);
        double *dy = gc_to_double(dout, no), *ady = fabs_copy(dy, no), *magb = gc_dalloc(ni);
        pool_f64(&ctx, ax, magf);
        gc_fd_vjp(pool_f64, &ctx, x, ni, no, ady, FD_H, magb);
        double *ref_out = gc_to_double(want, no), *ref_dinp = gc_to_double(want_dinp, ni);
        double *tolf = gc_dalloc(no), *tolb = gc_dalloc(ni);
        /* torch: a float sum of K = kh*kw terms and a division, (K+1)u*mag; ours u*|out| */
        const int K = s.kernel_h * s.kernel_w, T = max_cover(&s);
        for (size_t i = 0; i < no; i++) tolf[i] = (K + 2) * U * magf[i];
        /* torch scatters dout/div (one rounding each) with up to T float additions */
        for (size_t i = 0; i < ni; i++) tolb[i] = (T + 2) * U * magb[i] + FD_ATOL_LINEAR;
        char label[128];
        snprintf(label, sizeof label, "avgpool %s out vs torch", pc->name);
        expect_within(label, out, ref_out, tolf, no);
        snprintf(label, sizeof label, "avgpool %s dinp vs torch", pc->name);
        expect_within(label, dinp, ref_dinp, tolb, ni);
        free(inp), free(dout), free(want), free(want_dinp), free(out), free(dinp), free(x), free(ax);
        free(magf), free(dy), free(ady), free(magb), free(ref_out), free(ref_dinp), free(tolf), free(tolb);
    }
}

Test(pool, avgpool_matches_f64_and_fd) {
    for (size_t k = 0; k < NCASES(avg_cases); k++) {
        const pool_case *pc = &avg_cases[k];
        gb_pool_shape s = pool_shape(pc);
        size_t ni = n_in(&s), no = n_out(&s);
        float *inp = gc_rand(ni, -1, 1), *dout = gc_rand(no, -1, 1);
        float *out = nanbuf(no), *dinp = nanbuf(ni);
        gb_avgpool2d_forward(&dev, out, inp, &s);
        gb_avgpool2d_backward(&dev, dinp, dout, &s);
        pool_ctx ctx = {&s, 0};
        double *x = gc_to_double(inp, ni), *dy = gc_to_double(dout, no), *y = gc_dalloc(no), *ref = gc_dalloc(ni);
        pool_f64(&ctx, x, y);
        gc_fd_vjp(pool_f64, &ctx, x, ni, no, dy, FD_H, ref);
        char label[128];
        /* double sum, one rounding: u*|ref| (1e-12 absorbs the double sum's own error) */
        snprintf(label, sizeof label, "avgpool %s out vs f64", pc->name);
        gc_expect_close(label, out, y, no, 1e-12, U);
        snprintf(label, sizeof label, "avgpool %s dinp vs FD", pc->name);
        gc_expect_close(label, dinp, ref, ni, FD_ATOL_LINEAR, U);
        free(inp), free(dout), free(out), free(dinp), free(x), free(dy), free(y), free(ref);
    }
}

/* The general average-pool rule written out with its exact arithmetic (pool.c's header):
 * forward 0 + the window's cells in double, row-major, / divisor, rounded once; backward
 * 0 + dout / divisor in double over the covering windows in ascending output order, rounded
 * once. The 2x2 stride-2 fast path must give these bits. */
static void ref_avgpool_bits(const gb_pool_shape *s, const float *x, float *y, const float *dy, float *dx) {
    const int oh = gb_pool_out_h(s), ow = gb_pool_out_w(s), ih = s->in_height, iw = s->in_width;
    for (int p = 0; p < s->batch * s->channels; p++) {
        const float *xp = x + (size_t)p * ih * iw, *gp = dy + (size_t)p * oh * ow;
        double *acc = calloc((size_t)ih * iw, sizeof *acc);
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                double sum = 0.0;
                int n = 0;
                for (int ky = 0; ky < s->kernel_h; ky++)
                    for (int kx = 0; kx < s->kernel_w; kx++) {
                        int iy = oy * s->stride_h + ky - s->pad_h, ix = ox * s->stride_w + kx - s->pad_w;
                        if (iy < 0 || iy >= ih || ix < 0 || ix >= iw) continue;
                        sum += (double)xp[iy * iw + ix];
                        n++;
                    }
                y[((size_t)p * oh + oy) * ow + ox] = (float)(sum / (double)n);
            }
        /* ascending output order per input element = this loop order per element */
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                for (int ky = 0; ky < s->kernel_h; ky++)
                    for (int kx = 0; kx < s->kernel_w; kx++) {
                        int iy = oy * s->stride_h + ky, ix = ox * s->stride_w + kx;
                        acc[iy * iw + ix] += (double)gp[oy * ow + ox] / 4.0;
                    }
        for (int i = 0; i < ih * iw; i++) dx[(size_t)p * ih * iw + i] = (float)(0.0 + acc[i]);
        free(acc);
    }
}

/* values that stress the bits: signed zeros, subnormals whose quarter rounds to zero, huge */
static float *awkward_values(size_t n) {
    float *a = gc_rand(n, -3, 3);
    static const float special[] = {0.0f, -0.0f, 1e-45f, -1e-45f, -3e-45f, 1e-38f, -1e-39f, 3e38f, -3.4e38f};
    for (size_t i = 0; i < n; i += 3) a[i] = special[gc_next() % (sizeof special / sizeof special[0])];
    return a;
}

/* Without argmax the max pool runs separably (kernels/cpu/pool.c maxpool_values_planes): its
 * outputs must be the window loop's bits (which the argmax path runs), signed zeros and ties
 * included, and NaN wherever the window holds one; on 1, 2 and 3 threads. */
Test(pool, maxpool_without_argmax_gives_the_window_bits) {
    /* Inception's 3x3 s2 reductions and 3x3 s1 p1, 2x2 s2, 3x2 s1, 3x3 s3 p1 (the generic stride),
     * odd and non-square sizes */
    static const int shapes[][8] = {{2, 3, 15, 15, 3, 3, 2, 0}, {1, 4, 9, 7, 3, 3, 1, 1}, {3, 2, 8, 11, 2, 2, 2, 0},
                                    {2, 5, 6, 9, 3, 2, 1, 1},   {1, 2, 1, 5, 1, 3, 1, 0},
                                    {2, 3, 11, 13, 3, 3, 3, 1}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const int *q = shapes[k];
        gb_pool_shape s = {q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[6], q[7], q[7] && q[5] > 2 ? q[7] : 0, 0};
        size_t ni = n_in(&s), no = n_out(&s);
        float *inp = awkward_values(ni);
        for (size_t i = 5; i < ni; i += 41) inp[i] = NAN;
        if (k % 2) /* mostly signed zeros: the maxima tie between +0 and -0, whose order shows */
            for (size_t i = 0; i < ni; i++) inp[i] = (float[]){0.0f, -0.0f, -1.0f}[gc_next() % 3];
        int32_t *arg = malloc(no * sizeof *arg);
        float *want = nanbuf(no);
        gb_maxpool2d_forward(&dev, want, arg, inp, &s);
        for (int threads = 1; threads <= 3; threads++) {
            gb_device d;
            cr_assert_eq(gb_device_open(&d, "cpu", threads), GB_OK, "%s", gb_last_error());
            float *got = nanbuf(no);
            gb_maxpool2d_forward(&d, got, NULL, inp, &s);
            gb_device_close(&d);
            for (size_t i = 0; i < no; i++)
                cr_expect(isnan(want[i]) ? isnan(got[i]) : memcmp(&got[i], &want[i], sizeof(float)) == 0,
                          "shape %zu, %d threads, out[%zu]: %a without argmax, %a with", k, threads, i,
                          (double)got[i], (double)want[i]);
            free(got);
        }
        free(inp), free(arg), free(want);
    }
}

/* The general average pool forward (pool.c avgpool_plane sums tap by tap over bands of
 * outputs) must give the window loop's bits: 0 + the window's in-image cells in double,
 * row-major, / PyTorch's divisor, rounded once; both count_include_pad modes, strides 1-3,
 * row bands and column chunks (a 40x100 plane, a 4200-wide row), on 1, 2 and 3 threads. */
Test(pool, avgpool_forward_gives_the_window_bits) {
    /* batch, channels, ih, iw, kh, kw, sh, sw, ph, pw */
    static const int shapes[][10] = {{2, 3, 35, 35, 3, 3, 1, 1, 1, 1}, {1, 4, 17, 9, 3, 3, 2, 2, 1, 1},
                                     {2, 2, 11, 13, 5, 3, 3, 2, 2, 1}, {1, 1, 40, 100, 3, 3, 1, 1, 1, 1},
                                     {1, 1, 3, 4200, 3, 3, 1, 1, 1, 1}, {3, 2, 8, 8, 2, 3, 1, 3, 0, 1}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (int cip = 0; cip <= 1; cip++) {
            const int *q = shapes[k];
            gb_pool_shape s = {q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], cip};
            const int oh = gb_pool_out_h(&s), ow = gb_pool_out_w(&s), ih = s.in_height, iw = s.in_width;
            size_t ni = n_in(&s), no = n_out(&s);
            float *inp = awkward_values(ni), *want = nanbuf(no);
            for (int p = 0; p < s.batch * s.channels; p++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        const int wy = oy * s.stride_h - s.pad_h, wx = ox * s.stride_w - s.pad_w;
                        double sum = 0.0;
                        int n = 0;
                        for (int y = wy; y < wy + s.kernel_h; y++)
                            for (int x = wx; x < wx + s.kernel_w; x++)
                                if (y >= 0 && y < ih && x >= 0 && x < iw) {
                                    sum += (double)inp[((size_t)p * ih + y) * iw + x];
                                    n++;
                                }
                        if (cip) {
                            const int y1 = wy + s.kernel_h < ih + s.pad_h ? wy + s.kernel_h : ih + s.pad_h;
                            const int x1 = wx + s.kernel_w < iw + s.pad_w ? wx + s.kernel_w : iw + s.pad_w;
                            n = (y1 - wy) * (x1 - wx);
                        }
                        want[((size_t)p * oh + oy) * ow + ox] = (float)(sum / (double)n);
                    }
            for (int threads = 1; threads <= 3; threads++) {
                gb_device d;
                cr_assert_eq(gb_device_open(&d, "cpu", threads), GB_OK, "%s", gb_last_error());
                float *got = nanbuf(no);
                gb_avgpool2d_forward(&d, got, inp, &s);
                gb_device_close(&d);
                size_t bad = 0;
                while (bad < no && memcmp(&got[bad], &want[bad], sizeof(float)) == 0) bad++;
                cr_expect(bad == no, "avg pool shape %zu cip %d, %d threads, out[%zu]: %a, want %a", k, cip, threads,
                          bad, bad < no ? (double)got[bad] : 0.0, bad < no ? (double)want[bad] : 0.0);
                free(got);
            }
            free(inp), free(want);
        }
}

Test(pool, mean_pool_2x2_fast_path_gives_the_general_bits) {
    /* even, odd (floor mode drops a row / column) and non-square sizes, many planes */
    static const int shapes[][4] = {{2, 3, 8, 8}, {1, 5, 7, 6}, {3, 2, 9, 11}, {4, 64, 16, 16}, {1, 1, 2, 3}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        gb_pool_shape s = {shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3], 2, 2, 2, 2, 0, 0, 1};
        size_t ni = n_in(&s), no = n_out(&s);
        float *inp = awkward_values(ni), *dout = awkward_values(no);
        float *out = nanbuf(no), *dinp = nanbuf(ni), *want = nanbuf(no), *want_dinp = nanbuf(ni);
        gb_avgpool2d_forward(&dev, out, inp, &s);
        gb_avgpool2d_backward(&dev, dinp, dout, &s);
        ref_avgpool_bits(&s, inp, want, dout, want_dinp);
        cr_expect(memcmp(out, want, no * sizeof *out) == 0, "2x2 mean pool %dx%dx%dx%d forward: bits differ",
                  s.batch, s.channels, s.in_height, s.in_width);
        cr_expect(memcmp(dinp, want_dinp, ni * sizeof *dinp) == 0,
                  "2x2 mean pool %dx%dx%dx%d backward: bits differ", s.batch, s.channels, s.in_height,
                  s.in_width);
        free(inp), free(dout), free(out), free(dinp), free(want), free(want_dinp);
    }
}

/* Runs every pooling op on devices with 1, 2 and 3 threads and compares the bits. */
static void expect_pool_bits_independent_of_threads(const gb_pool_shape *s) {
    size_t ni = n_in(s), no = n_out(s);
    float *inp = awkward_values(ni), *dout = awkward_values(no);
    float *res[3][4];
    int32_t *arg[3];
    for (int t = 0; t < 3; t++) {
        gb_device d;
        cr_assert_eq(gb_device_open(&d, "cpu", t + 1), GB_OK, "gb_device_open(cpu, %d): %s", t + 1, gb_last_error());
        res[t][0] = nanbuf(no), res[t][1] = nanbuf(ni), res[t][2] = nanbuf(no), res[t][3] = nanbuf(ni);
        arg[t] = malloc(no * sizeof *arg[t]);
        gb_avgpool2d_forward(&d, res[t][0], inp, s);
        gb_avgpool2d_backward(&d, res[t][1], dout, s);
        gb_maxpool2d_forward(&d, res[t][2], arg[t], inp, s);
        gb_maxpool2d_backward(&d, res[t][3], dout, arg[t], s);
        gb_device_close(&d);
    }
    static const char *const what[4] = {"avg forward", "avg backward", "max forward", "max backward"};
    for (int t = 1; t < 3; t++) {
        for (int o = 0; o < 4; o++)
            cr_expect(memcmp(res[t][o], res[0][o], (o % 2 ? ni : no) * sizeof(float)) == 0,
                      "pool k%d s%d p%d %s: %d threads differ from 1", s->kernel_h, s->stride_h, s->pad_h,
                      what[o], t + 1);
        cr_expect(memcmp(arg[t], arg[0], no * sizeof *arg[0]) == 0, "max pool argmax: %d threads differ", t + 1);
    }
    for (int t = 0; t < 3; t++) {
        for (int o = 0; o < 4; o++) free(res[t][o]);
        free(arg[t]);
    }
    free(inp), free(dout);
}

Test(pool, bits_do_not_depend_on_the_thread_count) {
    /* enough planes for several slices; the critic's 2x2 pool and Inception's 3x3 pools */
    gb_pool_shape shapes[] = {
        {4, 300, 8, 8, 2, 2, 2, 2, 0, 0, 1},   {2, 200, 9, 9, 3, 3, 1, 1, 1, 1, 0},
        {2, 200, 9, 9, 3, 3, 2, 2, 0, 0, 1},   {3, 100, 11, 7, 3, 3, 2, 2, 1, 1, 0},
        {2, 300, 10, 10, 3, 3, 1, 1, 1, 1, 1},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) expect_pool_bits_independent_of_threads(&shapes[k]);
}

/* ================================ layout ================================ */

typedef struct {
    size_t planes, spatial;
    double scale;
} sum_ctx;
static void spatial_sum_f64(void *ctx, const double *x, double *y) {
    const sum_ctx *c = ctx;
    for (size_t p = 0; p < c->planes; p++) {
        double acc = 0;
        for (size_t s = 0; s < c->spatial; s++) acc += x[p * c->spatial + s];
        y[p] = c->scale * acc;
    }
}

Test(layout, spatial_sum_matches_torch_and_fd) {
    const size_t planes = 2 * 5, spatial = 3 * 7;
    float *inp = fx(planes * spatial, "spatial_sum_inp"), *dout = fx(planes, "spatial_sum_dout");
    const char *outs[2] = {"spatial_sum_out", "spatial_sum_mean_out"};
    const char *dinps[2] = {"spatial_sum_dinp", "spatial_sum_mean_dinp"};
    const float scales[2] = {1.0f, 1.0f / 21.0f};
    for (int m = 0; m < 2; m++) {
        float *want = fx(planes, "%s", outs[m]), *want_d = fx(planes * spatial, "%s", dinps[m]);
        float *out = nanbuf(planes), *dinp = nanbuf(planes * spatial);
        gb_spatial_sum_forward(&dev, out, inp, planes, spatial, scales[m]);
        gb_spatial_sum_backward(&dev, dinp, dout, planes, spatial, scales[m]);
        /* torch: float sum of 21 terms ((S-1)u * sum|x|), then /21 for the mean;
         * ours: double sum, the float scale 1/21 (u) and one rounding */
        sum_ctx mctx = {planes, spatial, 1.0 / (m ? 21.0 : 1.0)};
        double *x = gc_to_double(inp, planes * spatial), *ax = fabs_copy(x, planes * spatial);
        double *mag = gc_dalloc(planes), *tol = gc_dalloc(planes), *ref = gc_to_double(want, planes);
        spatial_sum_f64(&mctx, ax, mag);
        for (size_t p = 0; p < planes; p++) tol[p] = (spatial + 3) * U * mag[p];
        expect_within(m ? "spatial mean vs torch" : "spatial sum vs torch", out, ref, tol, planes);
        /* the gradient is dout (exact) or dout/21 (torch) vs dout*float(1/21): 2u */
        gc_expect_close_f(m ? "spatial mean dinp vs torch" : "spatial sum dinp vs torch", dinp, want_d,
                          planes * spatial, 0.0, 2 * U);

        /* float64 reference with the float scale the kernel was given */
        sum_ctx ctx = {planes, spatial, (double)scales[m]};
        double *y = gc_dalloc(planes), *dy = gc_to_double(dout, planes), *dref = gc_dalloc(planes * spatial);
        spatial_sum_f64(&ctx, x, y);
        gc_fd_vjp(spatial_sum_f64, &ctx, x, planes * spatial, planes, dy, FD_H, dref);
        gc_expect_close(m ? "spatial mean vs f64" : "spatial sum vs f64", out, y, planes, 1e-12, U);
        gc_expect_close(m ? "spatial mean dinp vs FD" : "spatial sum dinp vs FD", dinp, dref,
                        planes * spatial, FD_ATOL_LINEAR, U);
        free(want), free(want_d), free(out), free(dinp), free(x), free(ax), free(mag), free(tol);
        free(ref), free(y), free(dy), free(dref);
    }
    free(inp), free(dout);
}

typedef struct {
    size_t planes;
    int h, w;
} up_ctx;
static void upsample_f64(void *ctx, const double *x, double *y) {
    const up_ctx *c = ctx;
    for (size_t p = 0; p < c->planes; p++)
        for (int oy = 0; oy < 2 * c->h; oy++)
            for (int ox = 0; ox < 2 * c->w; ox++)
                y[(p * 2 * c->h + oy) * 2 * c->w + ox] = x[(p * c->h + oy / 2) * c->w + ox / 2];
}

Test(layout, upsample_matches_torch_and_fd) {
    const size_t planes = 2 * 3;
    const int h = 5, w = 7;
    const size_t ni = planes * h * w, no = 4 * ni;
    float *inp = fx(ni, "upsample_inp"), *dout = fx(no, "upsample_dout");
    float *want = fx(no, "upsample_out"), *want_d = fx(ni, "upsample_dinp");
    float *out = nanbuf(no), *dinp = nanbuf(ni);
    gb_upsample_nearest2x_forward(&dev, out, inp, planes, h, w);
    gb_upsample_nearest2x_backward(&dev, dinp, dout, planes, h, w);
    expect_equal("upsample out vs torch", out, want, no);

    up_ctx ctx = {planes, h, w};
    double *x = gc_to_double(inp, ni), *dy = gc_to_double(dout, no), *ady = fabs_copy(dy, no);
    double *ref = gc_dalloc(ni), *mag = gc_dalloc(ni), *tol = gc_dalloc(ni), *tref = gc_to_double(want_d, ni);
    gc_fd_vjp(upsample_f64, &ctx, x, ni, no, dy, FD_H, ref);
    gc_fd_vjp(upsample_f64, &ctx, x, ni, no, ady, FD_H, mag);
    /* torch: 3 float additions (3u * sum|terms|); ours: one rounding */
    for (size_t i = 0; i < ni; i++) tol[i] = 4 * U * mag[i] + FD_ATOL_LINEAR;
    expect_within("upsample dinp vs torch", dinp, tref, tol, ni);
    gc_expect_close("upsample dinp vs FD", dinp, ref, ni, FD_ATOL_LINEAR, U);
    free(inp), free(dout), free(want), free(want_d), free(out), free(dinp), free(x), free(dy), free(ady);
    free(ref), free(mag), free(tol), free(tref);
}

Test(layout, concat_matches_torch_and_splits_back) {
    const int batch = 2, ca = 3, cb = 5;
    const size_t spatial = 35, na = batch * ca * spatial, nb = batch * cb * spatial;
    float *a = fx(na, "concat_a"), *b = fx(nb, "concat_b"), *want = fx(na + nb, "concat_out");
    float *out = nanbuf(na + nb), *da = nanbuf(na), *db = nanbuf(nb), *db2 = nanbuf(nb);
    gb_concat_channels_forward(&dev, out, a, b, batch, ca, cb, spatial);
    expect_equal("concat out vs torch", out, want, na + nb);
    gb_concat_channels_backward(&dev, da, db, want, batch, ca, cb, spatial);
    expect_equal("concat da", da, a, na);
    expect_equal("concat db", db, b, nb);
    gb_concat_channels_backward(&dev, NULL, db2, want, batch, ca, cb, spatial);
    expect_equal("concat db (da skipped)", db2, b, nb);
    free(a), free(b), free(want), free(out), free(da), free(db), free(db2);
}

Test(layout, squeeze_unsqueeze_match_torch_round_trip_and_adjoint) {
    const int batch = 2, c = 3, h = 6, w = 4;
    const size_t n = (size_t)batch * c * h * w;
    float *inp = fx(n, "squeeze_inp"), *want = fx(n, "squeeze_out");
    float *uinp = fx(n, "unsqueeze_inp"), *uwant = fx(n, "unsqueeze_out");
    float *out = nanbuf(n), *back = nanbuf(n), *uout = nanbuf(n);
    gb_squeeze2x_forward(&dev, out, inp, batch, c, h, w);
    expect_equal("squeeze vs pixel_unshuffle", out, want, n);
    gb_unsqueeze2x_forward(&dev, uout, uinp, batch, c, h, w);
    expect_equal("unsqueeze vs pixel_shuffle", uout, uwant, n);
    gb_unsqueeze2x_forward(&dev, back, out, batch, c, h, w);
    expect_equal("unsqueeze(squeeze(x))", back, inp, n);
    /* each is the other's backward: <squeeze x, y> = <x, unsqueeze y>; both sides
     * sum the same n products in a different order (error <= n eps64 sum|.|) */
    double lhs = 0, rhs = 0, mag = 0;
    for (size_t i = 0; i < n; i++) {
        lhs += (double)out[i] * uinp[i];
        rhs += (double)inp[i] * uout[i];
        mag += fabs((double)inp[i] * uout[i]);
    }
    cr_expect(fabs(lhs - rhs) <= 2 * n * 1.1e-16 * mag, "adjoint identity: %.17g vs %.17g", lhs, rhs);
    free(inp), free(want), free(uinp), free(uwant), free(out), free(back), free(uout);
}

/* ============================ softmax family ============================ */

typedef struct {
    const char *name;
    size_t rows, cols;
} sm_case;
static const sm_case sm_cases[] = {{"a", 7, 13}, {"b", 1, 1000}, {"c", 5, 1}};

/* Central differences like gc_fd_vjp, but differencing each output before the
 * dot product with dy: sum_j dy_j (y_j(x+h) - y_j(x-h)) / 2h. gc_fd_vjp's
 * L(x+h) - L(x-h) loses eps64 * n * sum|dy_j y_j| / h to the rounding of the two
 * large sums, ~1e-7 for a 1000-column log_softmax row holding -1e4; this form
 * loses only ~eps64 * sum|dy_j y_j| / h (see fd_atol). */
static void fd_vjp_outputwise(gc_forward64 f, void *ctx, double *x, size_t nx, size_t ny,
                              const double *dy, double h, double *dx) {
    double *yp = gc_dalloc(ny), *ym = gc_dalloc(ny);
    for (size_t i = 0; i < nx; i++) {
        double keep = x[i], acc = 0;
        x[i] = keep + h;
        f(ctx, x, yp);
        x[i] = keep - h;
        f(ctx, x, ym);
        x[i] = keep;
        for (size_t j = 0; j < ny; j++) acc += dy[j] * (yp[j] - ym[j]);
        dx[i] = acc / (2 * h);
    }
    free(yp), free(ym);
}

/* The rounding error of fd_vjp_outputwise at y = f(x): each y_j(x +- h) carries a
 * few eps64 |y_j| (4 allowed), divided by 2h. The truncation error is added per
 * element by the callers: h^2/6 |d^3 L / dx_i^3|, which for the softmax family is
 * at most p_i * sum|dy| over the row (p = softmax of the row). */
static double fd_round(const double *y, const double *dy, size_t ny) {
    double mag = 0;
    for (size_t j = 0; j < ny; j++) mag += fabs(dy[j] * y[j]);
    return 4 * EPS64 * mag / FD_H;
}
#define FD_TRUNC(p, sum_abs_dy) (FD_H * FD_H / 6 * (p) * (sum_abs_dy))

enum { SM_SOFTMAX, SM_LOG_SOFTMAX, SM_LOGSUMEXP, SM_SUM };
typedef struct {
    int op;
    size_t rows, cols;
    double scale; /* SM_SUM */
} sm_ctx;

/* float64 transcription: the textbook formulas with the max subtracted */
static void sm_f64(void *ctx, const double *x, double *y) {
    const sm_ctx *c = ctx;
    if (c->op == SM_SUM) {
        double acc = 0;
        for (size_t i = 0; i < c->rows * c->cols; i++) acc += x[i];
        y[0] = c->scale * acc;
        return;
    }
    for (size_t r = 0; r < c->rows; r++) {
        const double *xr = x + r * c->cols;
        double m = xr[0], s = 0;
        for (size_t j = 1; j < c->cols; j++) m = fmax(m, xr[j]);
        for (size_t j = 0; j < c->cols; j++) s += exp(xr[j] - m);
        if (c->op == SM_LOGSUMEXP) {
            y[r] = m + log(s);
            continue;
        }
        for (size_t j = 0; j < c->cols; j++)
            y[r * c->cols + j] = c->op == SM_SOFTMAX ? exp(xr[j] - m) / s : xr[j] - m - log(s);
    }
}

Test(softmax, family_matches_torch) {
    for (size_t k = 0; k < NCASES(sm_cases); k++) {
        const sm_case *sc = &sm_cases[k];
        const size_t R = sc->rows, C = sc->cols, n = R * C;
        float *inp = fx(n, "softmax_%s_inp", sc->name), *dout = fx(n, "softmax_%s_dout", sc->name);
        float *out = nanbuf(n), *dinp = nanbuf(n), *lse = nanbuf(R), *scalar = nanbuf(1);
        double *x = gc_to_double(inp, n), *g = gc_to_double(dout, n), *p = gc_dalloc(n), *tol = gc_dalloc(n);
        double *ref = gc_dalloc(n);
        sm_ctx pctx = {SM_SOFTMAX, R, C, 0};
        sm_f64(&pctx, x, p); /* exact probabilities, for the magnitudes below */
        char label[128];

        /* softmax: torch sums C exponentials in float: (C+4)u relative, ours u */
        float *want = fx(n, "softmax_%s_softmax", sc->name), *want_d = fx(n, "softmax_%s_dsoftmax", sc->name);
        gb_softmax_forward(&dev, out, inp, R, C);
        snprintf(label, sizeof label, "softmax %s vs torch", sc->name);
        gc_expect_close_f(label, out, want, n, 0.0, (C + 6) * U);
        gb_softmax_backward(&dev, dinp, dout, out, R, C);
        for (size_t r = 0; r < R; r++) {
            double dot = 0;
            for (size_t j = 0; j < C; j++) dot += fabs(g[r * C + j] * p[r * C + j]);
            for (size_t j = 0; j < C; j++) {
                size_t i = r * C + j;
                ref[i] = want_d[i];
                tol[i] = (2 * C + 12) * U * p[i] * (fabs(g[i]) + dot);
            }
        }
        snprintf(label, sizeof label, "dsoftmax %s vs torch", sc->name);
        expect_within(label, dinp, ref, tol, n);
        free(want), free(want_d);

        /* log_softmax: absolute error (C + 4 + log C)u from the float sum and log */
        want = fx(n, "softmax_%s_log_softmax", sc->name), want_d = fx(n, "softmax_%s_dlog_softmax", sc->name);
        gb_log_softmax_forward(&dev, out, inp, R, C);
        for (size_t i = 0; i < n; i++) {
            ref[i] = want[i];
            tol[i] = (C + 4 + log((double)C)) * U + 3 * U * fabs(ref[i]);
        }
        snprintf(label, sizeof label, "log_softmax %s vs torch", sc->name);
        expect_within(label, out, ref, tol, n);
        gb_log_softmax_backward(&dev, dinp, dout, out, R, C);
        for (size_t r = 0; r < R; r++) {
            double sg = 0;
            for (size_t j = 0; j < C; j++) sg += fabs(g[r * C + j]);
            for (size_t j = 0; j < C; j++) {
                size_t i = r * C + j;
                ref[i] = want_d[i];
                tol[i] = 2 * (C + 8) * U * (fabs(g[i]) + p[i] * sg);
            }
        }
        snprintf(label, sizeof label, "dlog_softmax %s vs torch", sc->name);
        expect_within(label, dinp, ref, tol, n);
        free(want), free(want_d);

        /* logsumexp: absolute (C + 4)u, plus u|lse| twice (rounding, adding m) */
        want = fx(R, "softmax_%s_logsumexp", sc->name), want_d = fx(n, "softmax_%s_dlogsumexp", sc->name);
        float *dlse = fx(R, "softmax_%s_dlogsumexp_dout", sc->name);
        gb_logsumexp_forward(&dev, lse, inp, R, C);
        for (size_t r = 0; r < R; r++) {
            ref[r] = want[r];
            tol[r] = (C + 4) * U + 2 * U * fabs(ref[r]);
        }
        snprintf(label, sizeof label, "logsumexp %s vs torch", sc->name);
        expect_within(label, lse, ref, tol, R);
        /* dinp = g exp(x - lse): the lse error above becomes relative, plus |x|u */
        gb_logsumexp_backward(&dev, dinp, dlse, inp, lse, R, C);
        for (size_t i = 0; i < n; i++) {
            ref[i] = want_d[i];
            tol[i] = (2 * (C + 6) * U + 2 * U * (fabs(x[i]) + fabs((double)want[i / C]))) * fabs(ref[i]) + 1e-44;
        }
        snprintf(label, sizeof label, "dlogsumexp %s vs torch", sc->name);
        expect_within(label, dinp, ref, tol, n);
        free(want), free(want_d), free(dlse);

        /* sum and mean: torch's float sum, (n+1)u * sum|x|; gradients 2u (mean: 1/n rounded) */
        float *dsc = fx(1, "softmax_%s_dsum_dout", sc->name);
        double absum = 0;
        for (size_t i = 0; i < n; i++) absum += fabs(x[i]);
        for (int m = 0; m < 2; m++) {
            float scale = m ? (float)(1.0 / (double)n) : 1.0f;
            want = fx(1, "softmax_%s_%s", sc->name, m ? "mean" : "sum");
            want_d = fx(n, "softmax_%s_%s", sc->name, m ? "dmean" : "dsum");
            gb_sum_forward(&dev, scalar, inp, n, scale);
            snprintf(label, sizeof label, "%s %s vs torch", m ? "mean" : "sum", sc->name);
            gc_expect_close_f(label, scalar, want, 1, (n + 3) * U * absum * scale, 0.0);
            gb_sum_backward(&dev, dinp, dsc, n, scale);
            snprintf(label, sizeof label, "d%s %s vs torch", m ? "mean" : "sum", sc->name);
            gc_expect_close_f(label, dinp, want_d, n, 0.0, 2 * U);
            free(want), free(want_d);
        }
        free(dsc), free(inp), free(dout), free(out), free(dinp), free(lse), free(scalar), free(x), free(g);
        free(p), free(tol), free(ref);
    }
}

Test(softmax, family_matches_f64_and_fd) {
    for (size_t k = 0; k < NCASES(sm_cases); k++) {
        const sm_case *sc = &sm_cases[k];
        const size_t R = sc->rows, C = sc->cols, n = R * C;
        /* the PyTorch inputs (with their +1000 row and -1e4 entry) and fresh
         * upstream gradients */
        float *inp = fx(n, "softmax_%s_inp", sc->name), *dout = gc_rand(n, -1, 1), *dlse = gc_rand(R, -1, 1);
        float *out = nanbuf(n), *dinp = nanbuf(n), *lse = nanbuf(R), *scalar = nanbuf(1);
        double *x = gc_to_double(inp, n), *g = gc_to_double(dout, n), *y = gc_dalloc(n), *ref = gc_dalloc(n);
        double *tol = gc_dalloc(n), *p = gc_dalloc(n);
        sm_ctx ctx = {SM_SOFTMAX, R, C, 0};
        sm_f64(&ctx, x, p);
        char label[128];

        /* softmax: double, two roundings (the parked exponential, the quotient);
         * backward reads that out (2u) and rounds once more: 4u * mag */
        gb_softmax_forward(&dev, out, inp, R, C);
        snprintf(label, sizeof label, "softmax %s vs f64", sc->name);
        gc_expect_close(label, out, p, n, 0.0, 2.001 * U);
        gb_softmax_backward(&dev, dinp, dout, out, R, C);
        fd_vjp_outputwise(sm_f64, &ctx, x, n, n, g, FD_H, ref);
        double fr = fd_round(p, g, n);
        for (size_t r = 0; r < R; r++) {
            double dot = 0, sg = 0;
            for (size_t j = 0; j < C; j++) dot += fabs(g[r * C + j] * p[r * C + j]), sg += fabs(g[r * C + j]);
            for (size_t j = 0; j < C; j++) {
                size_t i = r * C + j;
                tol[i] = 4 * U * p[i] * (fabs(g[i]) + dot) + fr + FD_TRUNC(p[i], sg);
            }
        }
        snprintf(label, sizeof label, "dsoftmax %s vs FD", sc->name);
        expect_within(label, dinp, ref, tol, n);

        /* log_softmax: one rounding; backward exp(out) carries |out|u */
        ctx.op = SM_LOG_SOFTMAX;
        sm_f64(&ctx, x, y);
        gb_log_softmax_forward(&dev, out, inp, R, C);
        snprintf(label, sizeof label, "log_softmax %s vs f64", sc->name);
        gc_expect_close(label, out, y, n, 1e-12, U);
        gb_log_softmax_backward(&dev, dinp, dout, out, R, C);
        fd_vjp_outputwise(sm_f64, &ctx, x, n, n, g, FD_H, ref);
        fr = fd_round(y, g, n);
        for (size_t r = 0; r < R; r++) {
            double sg = 0;
            for (size_t j = 0; j < C; j++) sg += fabs(g[r * C + j]);
            for (size_t j = 0; j < C; j++) {
                size_t i = r * C + j;
                tol[i] = 2 * U * fabs(g[i]) + (2 + fabs(y[i])) * U * p[i] * sg + fr + FD_TRUNC(p[i], sg);
            }
        }
        snprintf(label, sizeof label, "dlog_softmax %s vs FD", sc->name);
        expect_within(label, dinp, ref, tol, n);

        /* logsumexp */
        ctx.op = SM_LOGSUMEXP;
        sm_f64(&ctx, x, y);
        gb_logsumexp_forward(&dev, lse, inp, R, C);
        snprintf(label, sizeof label, "logsumexp %s vs f64", sc->name);
        gc_expect_close(label, lse, y, R, 1e-12, U);
        gb_logsumexp_backward(&dev, dinp, dlse, inp, lse, R, C);
        double *dy = gc_to_double(dlse, R);
        fd_vjp_outputwise(sm_f64, &ctx, x, n, R, dy, FD_H, ref);
        fr = fd_round(y, dy, R);
        /* exp(x - float(lse)): lse's rounding u|lse| becomes relative, plus one rounding */
        for (size_t i = 0; i < n; i++)
            tol[i] = (2 + fabs(y[i / C])) * U * fabs(ref[i]) + fr + FD_TRUNC(p[i], fabs(dy[i / C]));
        snprintf(label, sizeof label, "dlogsumexp %s vs FD", sc->name);
        expect_within(label, dinp, ref, tol, n);

        /* sum (scale 1) and a mean: double sum, the float scale, one rounding */
        ctx.op = SM_SUM;
        for (int m = 0; m < 2; m++) {
            float scale = m ? (float)(1.0 / (double)n) : 1.0f;
            ctx.scale = scale;
            double ys, dys = dy[0];
            sm_f64(&ctx, x, &ys);
            gb_sum_forward(&dev, scalar, inp, n, scale);
            snprintf(label, sizeof label, "%s %s vs f64", m ? "mean" : "sum", sc->name);
            gc_expect_close(label, scalar, &ys, 1, 1e-12, U);
            gb_sum_backward(&dev, dinp, dlse, n, scale);
            fd_vjp_outputwise(sm_f64, &ctx, x, n, 1, &dys, FD_H, ref);
            snprintf(label, sizeof label, "d%s %s vs FD", m ? "mean" : "sum", sc->name);
            gc_expect_close(label, dinp, ref, n, fd_round(&ys, &dys, 1), U); /* linear: no truncation */
        }
        free(inp), free(dout), free(dlse), free(out), free(dinp), free(lse), free(scalar), free(x), free(g);
        free(y), free(ref), free(tol), free(p), free(dy);
    }
}

Test(softmax, known_answers_on_extreme_rows) {
    /* rows: [1000, 1000], [-1e4, 0], [-inf, -inf], [+inf, 0] */
    float inp[8] = {1000.0f, 1000.0f, -1e4f, 0.0f, -INFINITY, -INFINITY, INFINITY, 0.0f};
    float out[8], lse[4];
    gb_softmax_forward(&dev, out, inp, 2, 2);
    cr_expect(out[0] == 0.5f && out[1] == 0.5f, "softmax [1000,1000] = [%g, %g]", out[0], out[1]);
    cr_expect(out[2] == 0.0f && out[3] == 1.0f, "softmax [-1e4,0] = [%g, %g]", out[2], out[3]);
    gb_log_softmax_forward(&dev, out, inp, 2, 2);
    cr_expect(out[0] == (float)-M_LN2 && out[1] == (float)-M_LN2, "log_softmax [1000,1000] = [%g, %g]",
              out[0], out[1]);
    cr_expect(out[2] == -1e4f && out[3] == 0.0f, "log_softmax [-1e4,0] = [%g, %g]", out[2], out[3]);
    gb_logsumexp_forward(&dev, lse, inp, 4, 2);
    cr_expect(lse[0] == (float)(1000 + M_LN2), "logsumexp [1000,1000] = %.9g", lse[0]);
    cr_expect(lse[1] == 0.0f, "logsumexp [-1e4,0] = %g", lse[1]);
    cr_expect(isinf(lse[2]) && lse[2] < 0, "logsumexp [-inf,-inf] = %g, want -inf (PyTorch)", lse[2]);
    cr_expect(isinf(lse[3]) && lse[3] > 0, "logsumexp [inf,0] = %g, want +inf (PyTorch)", lse[3]);
    /* in place (out aliasing inp) gives the same result */
    float a[2] = {1000.0f, 1000.0f};
    gb_softmax_forward(&dev, a, a, 1, 2);
    cr_expect(a[0] == 0.5f && a[1] == 0.5f, "in-place softmax = [%g, %g]", a[0], a[1]);
}

/* Spatial sum and nearest upsampling are cut over planes (kernels/cpu/parallel.h): the same
 * bits with 1, 2 and 3 threads, on enough planes for several slices. */
Test(layout, bits_do_not_depend_on_the_thread_count) {
    enum { PLANES = 3000, H = 5, W = 7, RUNS = 3 };
    const size_t small = (size_t)PLANES * H * W, big = 4 * small;
    float *x = awkward_values(big), *g = awkward_values(PLANES);
    float *res[RUNS][4];
    const size_t sizes[4] = {PLANES, big, big, small};
    for (int t = 0; t < RUNS; t++) {
        gb_device d;
        cr_assert_eq(gb_device_open(&d, "cpu", t + 1), GB_OK, "gb_device_open(cpu, %d): %s", t + 1, gb_last_error());
        for (int k = 0; k < 4; k++) res[t][k] = nanbuf(sizes[k]);
        gb_spatial_sum_forward(&d, res[t][0], x, PLANES, 4 * H * W, 0.3f);
        gb_spatial_sum_backward(&d, res[t][1], g, PLANES, 4 * H * W, 0.3f);
        gb_upsample_nearest2x_forward(&d, res[t][2], x, PLANES, H, W);
        gb_upsample_nearest2x_backward(&d, res[t][3], x, PLANES, H, W);
        gb_device_close(&d);
    }
    static const char *const what[4] = {"spatial_sum forward", "spatial_sum backward", "upsample forward",
                                         "upsample backward"};
    for (int t = 1; t < RUNS; t++)
        for (int k = 0; k < 4; k++)
            cr_expect(memcmp(res[t][k], res[0][k], sizes[k] * sizeof(float)) == 0, "%s: %d threads differ from 1",
                      what[k], t + 1);
    for (int t = 0; t < RUNS; t++)
        for (int k = 0; k < 4; k++) free(res[t][k]);
    free(x), free(g);
}
