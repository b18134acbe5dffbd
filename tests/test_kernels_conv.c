/* tests/test_kernels_conv.c - the CPU convolution family against independent references.
 *
 * Ops: conv2d (GEMM and FFT forward, backward), conv_transpose2d, weight
 * standardisation (kernels/cpu/conv2d.c, conv_fft.c, conv_transpose2d.c,
 * weight_standardize.c). References:
 *   - float64 transcriptions of each forward written here (direct loops over the
 *     definition), their explicit float64 adjoints, and float64 central finite
 *     differences of the forwards (tests/gradcheck.h gc_fd_vjp);
 *   - PyTorch 1.13 (F.conv2d, F.conv_transpose2d, the U-Net's WSConv formula) and
 *     its autograd, written by tests/peers/kernels_conv.py into
 *     $GB_FIXTURES/kernels_conv/;
 *   - the GEMM path for the FFT path.
 * Shapes are awkward on purpose: odd and non-square images, batch 1, channel
 * counts that are not multiples of 8, stride 2 on odd sizes, (1,7)/(7,1)/(1,3)
 * kernels with asymmetric padding, output_padding 1, images big enough for the
 * one-sample GEMM path and for row bands. Every tolerance is an error bound derived
 * in tests/tolerances.md ("convolution"); S below is the same sum on absolute
 * values (|x|, |w|, |b|, |dout|), computed by the float64 transcriptions.
 * Random inputs come from fixed seeds, printed with any failure.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/kernels.h"
#include "tests/blas_probe.h"
#include "tests/fixture.h"
#include "tests/gradcheck.h"

#define U GC_U32
#define FD_H 1e-3
#define FD_ATOL 1e-9 /* FD truncation is 0 (the ops are linear); rounding eps64*|L|/h < 1e-11 */

static gb_device dev;
static void open_cpu(void) {
    cr_assert_eq(gb_device_open(&dev, "cpu", 2), GB_OK, "gb_device_open: %s", gb_last_error());
}
static void close_cpu(void) { gb_device_close(&dev); }

typedef struct {
    const char *name;
    gb_conv_shape s;
} conv_case;

/* batch, in_ch, in_h, in_w, out_ch, kh, kw, sh, sw, ph, pw, oph, opw; the same
 * tables as tests/peers/kernels_conv.py */
static const conv_case conv2d_cases[] = {
    {"stride2_odd", {2, 3, 7, 9, 5, 3, 3, 2, 2, 1, 1, 0, 0}},
    {"k1x7", {1, 5, 6, 5, 4, 1, 7, 1, 1, 0, 3, 0, 0}},
    {"k7x1", {3, 4, 8, 5, 6, 7, 1, 1, 1, 3, 0, 0, 0}},
    {"pointwise", {2, 6, 5, 5, 3, 1, 1, 1, 1, 0, 0, 0, 0}},
    {"k5_asym_pad", {2, 2, 6, 7, 3, 5, 5, 1, 2, 2, 1, 0, 0}},
    {"big_image", {2, 2, 32, 33, 3, 3, 3, 1, 1, 1, 1, 0, 0}},
};
static const conv_case convt_cases[] = {
    {"s2_op1", {2, 3, 4, 5, 5, 3, 3, 2, 2, 1, 1, 1, 1}},
    {"k4s2p1", {1, 4, 3, 3, 2, 4, 4, 2, 2, 1, 1, 0, 0}},
    {"k1x3_asym", {2, 3, 5, 4, 3, 1, 3, 1, 2, 0, 1, 0, 1}},
    {"pointwise", {3, 4, 3, 3, 5, 1, 1, 1, 1, 0, 0, 0, 0}},
    {"k4s4", {2, 3, 2, 2, 2, 4, 4, 4, 4, 0, 0, 0, 0}},
};
#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* ---- sizes ----------------------------------------------------------------- */

typedef struct {
    size_t inp, out, weight, bias;
    int oh, ow;
} conv_sizes;

static conv_sizes sizes_of(const gb_conv_shape *s, int transpose) {
    conv_sizes z;
    z.oh = transpose ? gb_conv_transpose_out_h(s) : gb_conv_out_h(s);
    z.ow = transpose ? gb_conv_transpose_out_w(s) : gb_conv_out_w(s);
    z.inp = (size_t)s->batch * s->in_channels * s->in_height * s->in_width;
    z.out = (size_t)s->batch * s->out_channels * z.oh * z.ow;
    z.weight = (size_t)s->out_channels * s->in_channels * s->kernel_h * s->kernel_w;
    z.bias = (size_t)s->out_channels;
    return z;
}

/* ---- float64 transcriptions -------------------------------------------------
 * absval != 0 evaluates the same sums on absolute values (the S of the bounds). */

static double term(double a, double b, int absval) { return absval ? fabs(a) * fabs(b) : a * b; }

/* Visit every (output, input, weight) index triple of a conv2d or a conv_transpose2d. */
#define FOR_EACH_TAP(s, transpose, BODY)                                                          \
    do {                                                                                          \
        const int oh_ = (transpose) ? gb_conv_transpose_out_h(s) : gb_conv_out_h(s);              \
        const int ow_ = (transpose) ? gb_conv_transpose_out_w(s) : gb_conv_out_w(s);              \
        /* the window grid: conv2d's output, or the transposed conv's input */                    \
        const int gh_ = (transpose) ? s->in_height : oh_, gw_ = (transpose) ? s->in_width : ow_; \
        const int ih_ = (transpose) ? oh_ : s->in_height, iw_ = (transpose) ? ow_ : s->in_width; \
        const int gc_ = (transpose) ? s->in_channels : s->out_channels;                           \
        const int ic_ = (transpose) ? s->out_channels : s->in_channels;                           \
        for (int n_ = 0; n_ < s->batch; n_++)                                                     \
            for (int a_ = 0; a_ < gc_; a_++)                                                      \
                for (int y_ = 0; y_ < gh_; y_++)                                                  \
                    for (int x_ = 0; x_ < gw_; x_++)                                              \
                        for (int c_ = 0; c_ < ic_; c_++)                                          \
                            for (int i_ = 0; i_ < s->kernel_h; i_++)                              \
                                for (int j_ = 0; j_ < s->kernel_w; j_++) {                        \
                                    int yy_ = y_ * s->stride_h - s->pad_h + i_;                   \
                                    int xx_ = x_ * s->stride_w - s->pad_w + j_;                   \
                                    if (yy_ < 0 || yy_ >= ih_ || xx_ < 0 || xx_ >= iw_) continue; \
                                    size_t gi_ = (((size_t)n_ * gc_ + a_) * gh_ + y_) * gw_ + x_; \
                                    size_t ii_ = (((size_t)n_ * ic_ + c_) * ih_ + yy_) * iw_ + xx_; \
                                    size_t wi = (((size_t)a_ * ic_ + c_) * s->kernel_h + i_) *    \
                                                    s->kernel_w + j_;                             \
                                    /* conv2d: out = grid, inp = image; transpose: swapped */     \
                                    size_t oi = (transpose) ? ii_ : gi_;                          \
                                    size_t xi = (transpose) ? gi_ : ii_;                          \
                                    BODY;                                                         \
                                }                                                                 \
    } while (0)

/* y = conv(x, w) + b (b may be NULL) */
static void conv_fwd64(const gb_conv_shape *s, int transpose, const double *x, const double *w,
                       const double *b, double *y, int absval) {
    conv_sizes z = sizes_of(s, transpose);
    size_t plane = (size_t)z.oh * z.ow;
    for (size_t o = 0; o < z.out; o++) y[o] = b ? (absval ? fabs(b[(o / plane) % z.bias]) : b[(o / plane) % z.bias]) : 0.0;
    FOR_EACH_TAP(s, transpose, y[oi] += term(x[xi], w[wi], absval));
}

/* The explicit adjoint: dx = J_x^T dy, dw = J_w^T dy, db = J_b^T dy (overwrite). */
static void conv_adj64(const gb_conv_shape *s, int transpose, const double *dy, const double *x,
                       const double *w, double *dx, double *dw, double *db, int absval) {
    conv_sizes z = sizes_of(s, transpose);
    size_t plane = (size_t)z.oh * z.ow;
    memset(dx, 0, z.inp * sizeof *dx);
    memset(dw, 0, z.weight * sizeof *dw);
    memset(db, 0, z.bias * sizeof *db);
    for (size_t o = 0; o < z.out; o++) db[(o / plane) % z.bias] += absval ? fabs(dy[o]) : dy[o];
    FOR_EACH_TAP(s, transpose, {
        dx[xi] += term(dy[oi], w[wi], absval);
        dw[wi] += term(dy[oi], x[xi], absval);
    });
}

/* ---- finite differences of the float64 forward ------------------------------ */

typedef struct {
    const gb_conv_shape *s;
    int transpose, wrt; /* 0: inp, 1: weight, 2: bias */
    const double *x, *w, *b;
} conv_fd_ctx;

static void conv_fd_forward(void *vctx, const double *v, double *y) {
    conv_fd_ctx *c = vctx;
    conv_fwd64(c->s, c->transpose, c->wrt == 0 ? v : c->x, c->wrt == 1 ? v : c->w,
               c->wrt == 2 ? v : c->b, y, 0);
}

/* ---- comparison ----------------------------------------------------------------- */

/* |got - ref| <= tol elementwise; logs the first mismatches with the seed. */
static void expect_within(const char *label, const float *got, const double *ref, const double *tol,
                          size_t n) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - ref[i]);
        if (!(diff <= tol[i])) {
            if (bad < 5)
                cr_log_error("%s[%zu]: got %.9g, want %.9g (diff %.3g > tol %.3g), seed %llu", label, i,
                             (double)got[i], ref[i], diff, tol[i], (unsigned long long)gc_seed);
            bad++;
        }
    }
    cr_expect_eq(bad, 0, "%s: %zu of %zu elements out of tolerance (seed %llu)", label, bad, n,
                 (unsigned long long)gc_seed);
}

/* tol[i] = k * u * S[i] + atol */
static double *bound(const double *S, size_t n, double k, double atol) {
    double *t = gc_dalloc(n);
    for (size_t i = 0; i < n; i++) t[i] = k * U * S[i] + atol;
    return t;
}

/* The error-bound multipliers (tests/tolerances.md, "convolution"): the number of
 * terms each float32 result sums, plus the roundings around the sum. */
typedef struct {
    double out, dinp, dweight, dbias;
} conv_gammas;

static conv_gammas gammas_of(const gb_conv_shape *s, int transpose) {
    conv_sizes z = sizes_of(s, transpose);
    double taps = (double)s->kernel_h * s->kernel_w;
    double positions = transpose ? (double)s->in_height * s->in_width : (double)z.oh * z.ow;
    conv_gammas g;
    if (!transpose) {
        g.out = s->in_channels * taps + 2;                 /* one dot of C*kh*kw, + bias */
        g.dinp = s->out_channels + taps + 2;               /* dot over M, then <= kh*kw adds */
    } else {
        g.out = s->in_channels + taps + 2;                 /* dot over Ci, <= kh*kw adds, + bias */
        g.dinp = s->out_channels * taps + 2;               /* one dot of Co*kh*kw */
    }
    g.dweight = s->batch * positions + 2;                  /* sum over batch and positions */
    g.dbias = 2;                                           /* double sum, one rounding */
    return g;
}

/* ---- one case: inputs, the op, references ------------------------------------- */

typedef struct {
    gb_conv_shape s;
    int transpose;
    conv_sizes z;
    float *x, *w, *b, *dy;
    double *xd, *wd, *bd, *dyd;
} conv_data;

static void data_random(conv_data *d, const gb_conv_shape *s, int transpose, uint64_t seed) {
    d->s = *s;
    d->transpose = transpose;
    d->z = sizes_of(s, transpose);
    gc_seed_rng(seed);
    d->x = gc_rand(d->z.inp, -1, 1);
    d->w = gc_rand(d->z.weight, -0.5f, 0.5f);
    d->b = gc_rand(d->z.bias, -1, 1);
    d->dy = gc_rand(d->z.out, -1, 1);
    d->xd = gc_to_double(d->x, d->z.inp);
    d->wd = gc_to_double(d->w, d->z.weight);
    d->bd = gc_to_double(d->b, d->z.bias);
    d->dyd = gc_to_double(d->dy, d->z.out);
}

static void data_fixture(conv_data *d, const char *prefix, const gb_conv_shape *s, int transpose) {
    char name[256];
    d->s = *s;
    d->transpose = transpose;
    d->z = sizes_of(s, transpose);
    snprintf(name, sizeof name, "kernels_conv/%s_inp.f32", prefix);
    d->x = fixture_f32(name, d->z.inp);
    snprintf(name, sizeof name, "kernels_conv/%s_weight.f32", prefix);
    d->w = fixture_f32(name, d->z.weight);
    snprintf(name, sizeof name, "kernels_conv/%s_bias.f32", prefix);
    d->b = fixture_f32(name, d->z.bias);
    snprintf(name, sizeof name, "kernels_conv/%s_dout.f32", prefix);
    d->dy = fixture_f32(name, d->z.out);
    d->xd = gc_to_double(d->x, d->z.inp);
    d->wd = gc_to_double(d->w, d->z.weight);
    d->bd = gc_to_double(d->b, d->z.bias);
    d->dyd = gc_to_double(d->dy, d->z.out);
}

static void data_free(conv_data *d) {
    free(d->x), free(d->w), free(d->b), free(d->dy);
    free(d->xd), free(d->wd), free(d->bd), free(d->dyd);
}

static void run_forward(const conv_data *d, float *out, const float *bias) {
    if (d->transpose)
        gb_conv_transpose2d_forward(&dev, out, d->x, d->w, bias, &d->s);
    else
        gb_conv2d_forward(&dev, out, d->x, d->w, bias, &d->s);
}

static void run_backward(const conv_data *d, float *dx, float *dw, float *db) {
    if (d->transpose)
        gb_conv_transpose2d_backward(&dev, dx, dw, db, d->dy, d->x, d->w, &d->s);
    else
        gb_conv2d_backward(&dev, dx, dw, db, d->dy, d->x, d->w, &d->s);
}

/* Forward against the float64 transcription, with and without bias. */
static void check_forward(const conv_data *d, const char *name) {
    char label[512];
    const conv_gammas g = gammas_of(&d->s, d->transpose);
    double *ref = gc_dalloc(d->z.out), *S = gc_dalloc(d->z.out);
    float *out = gc_falloc(d->z.out);
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        const double *bd = with_bias ? d->bd : NULL;
        conv_fwd64(&d->s, d->transpose, d->xd, d->wd, bd, ref, 0);
        conv_fwd64(&d->s, d->transpose, d->xd, d->wd, bd, S, 1);
        run_forward(d, out, with_bias ? d->b : NULL);
        double *tol = bound(S, d->z.out, g.out, 0);
        snprintf(label, sizeof label, "%s %s out%s", d->transpose ? "convt" : "conv2d", name,
                 with_bias ? "" : " (no bias)");
        expect_within(label, out, ref, tol, d->z.out);
        free(tol);
    }
    free(ref), free(S), free(out);
}

/* The three gradients of one backward (from zeroed parameter grads) against refs. */
static void check_backward(const conv_data *d, const char *name, const double *rdx, const double *rdw,
                           const double *rdb, double scale, double atol) {
    char label[512];
    const conv_gammas g = gammas_of(&d->s, d->transpose);
    double *Sx = gc_dalloc(d->z.inp), *Sw = gc_dalloc(d->z.weight), *Sb = gc_dalloc(d->z.bias);
    conv_adj64(&d->s, d->transpose, d->dyd, d->xd, d->wd, Sx, Sw, Sb, 1);
    float *dx = gc_falloc(d->z.inp), *dw = gc_falloc(d->z.weight), *db = gc_falloc(d->z.bias);
    run_backward(d, dx, dw, db);
    const char *op = d->transpose ? "convt" : "conv2d";
    double *t;
    snprintf(label, sizeof label, "%s %s dinp", op, name);
    t = bound(Sx, d->z.inp, scale * g.dinp, atol);
    expect_within(label, dx, rdx, t, d->z.inp);
    free(t);
    snprintf(label, sizeof label, "%s %s dweight", op, name);
    t = bound(Sw, d->z.weight, scale * g.dweight, atol);
    expect_within(label, dw, rdw, t, d->z.weight);
    free(t);
    snprintf(label, sizeof label, "%s %s dbias", op, name);
    t = bound(Sb, d->z.bias, scale * g.dbias, atol);
    expect_within(label, db, rdb, t, d->z.bias);
    free(t);
    free(Sx), free(Sw), free(Sb), free(dx), free(dw), free(db);
}

/* float64 central differences of <dy, f> w.r.t. inp, weight and bias. */
static void fd_grads(const conv_data *d, double *dx, double *dw, double *db) {
    conv_fd_ctx c = {&d->s, d->transpose, 0, d->xd, d->wd, d->bd};
    double *v;
    c.wrt = 0;
    v = gc_to_double(d->x, d->z.inp);
    gc_fd_vjp(conv_fd_forward, &c, v, d->z.inp, d->z.out, d->dyd, FD_H, dx);
    free(v);
    c.wrt = 1;
    v = gc_to_double(d->w, d->z.weight);
    gc_fd_vjp(conv_fd_forward, &c, v, d->z.weight, d->z.out, d->dyd, FD_H, dw);
    free(v);
    c.wrt = 2;
    v = gc_to_double(d->b, d->z.bias);
    gc_fd_vjp(conv_fd_forward, &c, v, d->z.bias, d->z.out, d->dyd, FD_H, db);
    free(v);
}

static void check_against_fd(const conv_case *cc, int transpose, uint64_t seed) {
    conv_data d;
    data_random(&d, &cc->s, transpose, seed);
    check_forward(&d, cc->name);
    double *dx = gc_dalloc(d.z.inp), *dw = gc_dalloc(d.z.weight), *db = gc_dalloc(d.z.bias);
    fd_grads(&d, dx, dw, db);
    check_backward(&d, cc->name, dx, dw, db, 1.0, FD_ATOL);
    /* the explicit adjoint (used for the large images below) agrees with FD */
    double *ax = gc_dalloc(d.z.inp), *aw = gc_dalloc(d.z.weight), *ab = gc_dalloc(d.z.bias);
    conv_adj64(&d.s, transpose, d.dyd, d.xd, d.wd, ax, aw, ab, 0);
    for (size_t i = 0; i < d.z.inp; i++) cr_expect_leq(fabs(ax[i] - dx[i]), 1e-8, "adjoint dinp[%zu]", i);
    for (size_t i = 0; i < d.z.weight; i++) cr_expect_leq(fabs(aw[i] - dw[i]), 1e-8, "adjoint dw[%zu]", i);
    free(ax), free(aw), free(ab);
    free(dx), free(dw), free(db);
    data_free(&d);
}

/* Forward and backward of a larger case against the explicit float64 adjoint
 * (FD over thousands of inputs would be slow; the adjoint itself is checked
 * against FD above). */
static void check_against_adjoint(const char *name, const gb_conv_shape *s, int transpose, uint64_t seed) {
    conv_data d;
    data_random(&d, s, transpose, seed);
    check_forward(&d, name);
    double *dx = gc_dalloc(d.z.inp), *dw = gc_dalloc(d.z.weight), *db = gc_dalloc(d.z.bias);
    conv_adj64(&d.s, transpose, d.dyd, d.xd, d.wd, dx, dw, db, 0);
    check_backward(&d, name, dx, dw, db, 1.0, 0);
    free(dx), free(dw), free(db);
    data_free(&d);
}

/* PyTorch forward and autograd gradients: both sides within the bound, so 2x. */
static void check_against_pytorch(const conv_case *cc, int transpose) {
    char prefix[128], name[512], label[512];
    snprintf(prefix, sizeof prefix, "%s_%s", transpose ? "convt" : "conv2d", cc->name);
    conv_data d;
    data_fixture(&d, prefix, &cc->s, transpose);
    const conv_gammas g = gammas_of(&d.s, transpose);

    snprintf(name, sizeof name, "kernels_conv/%s_out.f32", prefix);
    float *tout = fixture_f32(name, d.z.out);
    double *tref = gc_to_double(tout, d.z.out), *S = gc_dalloc(d.z.out);
    conv_fwd64(&d.s, transpose, d.xd, d.wd, d.bd, S, 1);
    float *out = gc_falloc(d.z.out);
    run_forward(&d, out, d.b);
    double *t = bound(S, d.z.out, 2 * g.out, 0);
    snprintf(label, sizeof label, "%s vs torch out", prefix);
    expect_within(label, out, tref, t, d.z.out);
    free(t), free(tout), free(tref), free(S), free(out);

    float *tdx, *tdw, *tdb;
    snprintf(name, sizeof name, "kernels_conv/%s_dinp.f32", prefix);
    tdx = fixture_f32(name, d.z.inp);
    snprintf(name, sizeof name, "kernels_conv/%s_dweight.f32", prefix);
    tdw = fixture_f32(name, d.z.weight);
    snprintf(name, sizeof name, "kernels_conv/%s_dbias.f32", prefix);
    tdb = fixture_f32(name, d.z.bias);
    double *rx = gc_to_double(tdx, d.z.inp), *rw = gc_to_double(tdw, d.z.weight),
           *rb = gc_to_double(tdb, d.z.bias);
    snprintf(label, sizeof label, "%s vs torch", prefix);
    check_backward(&d, label, rx, rw, rb, 2.0, 0);
    free(tdx), free(tdw), free(tdb), free(rx), free(rw), free(rb);
    data_free(&d);
}

/* Gradient contract: dinp overwrites (second call bitwise equal, garbage before
 * is ignored), dweight/dbias accumulate (second call = 2x the first up to the
 * roundings of the accumulation), NULL skips. */
static void check_contract(const gb_conv_shape *s, int transpose, uint64_t seed, const char *name) {
    conv_data d;
    data_random(&d, s, transpose, seed);
    const conv_gammas g = gammas_of(s, transpose);
    float *dx1 = gc_rand(d.z.inp, -9, 9), *dx2 = gc_falloc(d.z.inp);
    float *dw = gc_falloc(d.z.weight), *db = gc_falloc(d.z.bias);
    run_backward(&d, dx1, dw, db);
    float *dw1 = malloc(d.z.weight * sizeof *dw1), *db1 = malloc(d.z.bias * sizeof *db1);
    memcpy(dw1, dw, d.z.weight * sizeof *dw);
    memcpy(db1, db, d.z.bias * sizeof *db);
    run_backward(&d, dx2, dw, db);
    cr_expect(memcmp(dx1, dx2, d.z.inp * sizeof *dx1) == 0, "%s: dinp differs between calls (must overwrite)", name);

    /* |dw2 - 2 dw1| <= 2*gamma*u*S + 2u|dw1|: both calls' sums within gamma*u*S of
     * the exact gradient, plus the rounding of adding to a non-zero accumulator */
    double *Sx = gc_dalloc(d.z.inp), *Sw = gc_dalloc(d.z.weight), *Sb = gc_dalloc(d.z.bias);
    conv_adj64(s, transpose, d.dyd, d.xd, d.wd, Sx, Sw, Sb, 1);
    double *twice = gc_dalloc(d.z.weight), *tol = gc_dalloc(d.z.weight);
    for (size_t i = 0; i < d.z.weight; i++) {
        twice[i] = 2.0 * dw1[i];
        tol[i] = 2 * g.dweight * U * Sw[i] + 2 * U * fabs(twice[i]);
    }
    char label[512];
    snprintf(label, sizeof label, "%s dweight accumulated twice", name);
    expect_within(label, dw, twice, tol, d.z.weight);
    free(twice), free(tol);
    twice = gc_dalloc(d.z.bias), tol = gc_dalloc(d.z.bias);
    for (size_t i = 0; i < d.z.bias; i++) {
        twice[i] = 2.0 * db1[i];
        tol[i] = 3 * U * fabs(twice[i]); /* fl(fl(s) + s): two roundings of |2s| */
    }
    snprintf(label, sizeof label, "%s dbias accumulated twice", name);
    expect_within(label, db, twice, tol, d.z.bias);
    free(twice), free(tol);

    /* NULL skips: only the non-NULL gradients are touched */
    float *sentinel = gc_rand(d.z.weight, -3, 3), *dwk = malloc(d.z.weight * sizeof *dwk);
    memcpy(dwk, sentinel, d.z.weight * sizeof *dwk);
    run_backward(&d, NULL, dwk, NULL);
    cr_expect(memcmp(dwk, sentinel, d.z.weight * sizeof *dwk) != 0, "%s: dweight-only call did nothing", name);
    float *dbk = gc_rand(d.z.bias, -3, 3), *dbk0 = malloc(d.z.bias * sizeof *dbk0);
    memcpy(dbk0, dbk, d.z.bias * sizeof *dbk);
    memcpy(dwk, sentinel, d.z.weight * sizeof *dwk);
    run_backward(&d, dx2, NULL, dbk);
    cr_expect(memcmp(dx1, dx2, d.z.inp * sizeof *dx1) == 0, "%s: dinp without dweight differs", name);
    for (size_t i = 0; i < d.z.bias; i++)
        cr_expect_leq(fabs((double)dbk[i] - ((double)dbk0[i] + (double)db1[i])),
                      2 * U * (fabs((double)dbk0[i]) + fabs((double)db1[i])) + 1e-30,
                      "%s: dbias[%zu] with dweight NULL", name, i);
    free(sentinel), free(dwk), free(dbk), free(dbk0);
    free(Sx), free(Sw), free(Sb);
    free(dx1), free(dx2), free(dw), free(db), free(dw1), free(db1);
    data_free(&d);
}

/* ============================ conv2d ============================================ */

Test(conv2d, forward_and_backward_match_float64_finite_differences, .init = open_cpu, .fini = close_cpu) {
    for (size_t k = 0; k < NCASES(conv2d_cases); k++) {
        if (strcmp(conv2d_cases[k].name, "big_image") == 0) continue; /* below, against the adjoint */
        check_against_fd(&conv2d_cases[k], 0, 1000 + k);
    }
}

Test(conv2d, large_images_match_float64_adjoint, .init = open_cpu, .fini = close_cpu) {
    /* 32x33: one sample fills a GEMM (no gather); pointwise 32x32: no im2col at all */
    const gb_conv_shape big = {2, 2, 32, 33, 3, 3, 3, 1, 1, 1, 1, 0, 0};
    const gb_conv_shape pw = {2, 5, 32, 32, 3, 1, 1, 1, 1, 0, 0, 0, 0};
    const gb_conv_shape s2 = {3, 3, 45, 47, 4, 3, 3, 2, 2, 1, 1, 0, 0};
    check_against_adjoint("big_image", &big, 0, 2001);
    check_against_adjoint("pointwise_32", &pw, 0, 2002);
    check_against_adjoint("stride2_45x47", &s2, 0, 2003);
}

Test(conv2d, row_bands_when_one_sample_exceeds_the_workspace, .init = open_cpu, .fini = close_cpu) {
    /* 200 channels, 3x3: K = 1800 rows of 96*100 columns, 69 MB with the output
     * rows: over GB_CONV_WORKSPACE_BYTES (64 MB), so the sample runs in row bands */
    const gb_conv_shape s = {1, 200, 96, 100, 3, 3, 3, 1, 1, 1, 1, 0, 0};
    check_against_adjoint("bands", &s, 0, 2101);
}

Test(conv2d, matches_pytorch, .init = open_cpu, .fini = close_cpu) {
    for (size_t k = 0; k < NCASES(conv2d_cases); k++) check_against_pytorch(&conv2d_cases[k], 0);
}

Test(conv2d, gradient_contract, .init = open_cpu, .fini = close_cpu) {
    check_contract(&conv2d_cases[0].s, 0, 3001, "conv2d stride2_odd");
    const gb_conv_shape pw = {2, 5, 32, 32, 3, 1, 1, 1, 1, 0, 0, 0, 0};
    check_contract(&pw, 0, 3002, "conv2d pointwise_32");
    check_contract(&conv2d_cases[3].s, 0, 3003, "conv2d pointwise");
}

Test(conv2d, deterministic, .init = open_cpu, .fini = close_cpu) {
    const gb_conv_shape s = {5, 7, 13, 11, 9, 3, 3, 1, 1, 1, 1, 0, 0};
    conv_data d;
    data_random(&d, &s, 0, 3101);
    float *o1 = gc_falloc(d.z.out), *o2 = gc_falloc(d.z.out);
    float *x1 = gc_falloc(d.z.inp), *x2 = gc_falloc(d.z.inp);
    float *w1 = gc_falloc(d.z.weight), *w2 = gc_falloc(d.z.weight);
    run_forward(&d, o1, d.b);
    run_backward(&d, x1, w1, NULL);
    gb_dev_scratch(&dev, (size_t)200 << 20); /* move the workspace */
    run_forward(&d, o2, d.b);
    run_backward(&d, x2, w2, NULL);
    cr_expect(memcmp(o1, o2, d.z.out * sizeof *o1) == 0, "forward differs between calls");
    cr_expect(memcmp(x1, x2, d.z.inp * sizeof *x1) == 0, "dinp differs between calls");
    cr_expect(memcmp(w1, w2, d.z.weight * sizeof *w1) == 0, "dweight differs between calls");
    free(o1), free(o2), free(x1), free(x2), free(w1), free(w2);
    data_free(&d);
}

/* ============================ conv2d through FFTs ================================= */

/* The FFT bound (tests/tolerances.md): for each output plane (n, m),
 *   err <= sum_c [(2 phi + g) |w_c|_1 |x_c|_2 + phi |x_c|_1 |w_c|_2] + 2u (|z| + |b|),
 * phi = 8 u log2(F_h F_w) (Higham Thm 24.2 with eta <= 8u), g = (2C + 4) u.
 * F here is the padded size rounded up to 2^a 3^b 5^c 7^d, as conv_fft.c does. */
static int smooth(int x) {
    for (int n = x;; n++) {
        int r = n;
        while (r % 2 == 0) r /= 2;
        while (r % 3 == 0) r /= 3;
        while (r % 5 == 0) r /= 5;
        while (r % 7 == 0) r /= 7;
        if (r == 1) return n;
    }
}

static double *fft_bound(const conv_data *d) {
    const gb_conv_shape *s = &d->s;
    const int C = s->in_channels, M = s->out_channels;
    const size_t plane = (size_t)s->in_height * s->in_width, kp = (size_t)s->kernel_h * s->kernel_w;
    const size_t oplane = (size_t)d->z.oh * d->z.ow;
    double F = (double)smooth(s->in_height + 2 * s->pad_h) * smooth(s->in_width + 2 * s->pad_w);
    double phi = 8 * U * log2(F), g = (2.0 * C + 4) * U;
    double *tol = gc_dalloc(d->z.out);
    for (int n = 0; n < s->batch; n++)
        for (int m = 0; m < M; m++) {
            double e = 0, zb = 0; /* zb: |z| <= sum_c |x_c|_2 |w_c|_2 (Cauchy-Schwarz) */
            for (int c = 0; c < C; c++) {
                const double *x = d->xd + ((size_t)n * C + c) * plane, *w = d->wd + ((size_t)m * C + c) * kp;
                double x1 = 0, x2 = 0, w1 = 0, w2 = 0;
                for (size_t i = 0; i < plane; i++) x1 += fabs(x[i]), x2 += x[i] * x[i];
                for (size_t i = 0; i < kp; i++) w1 += fabs(w[i]), w2 += w[i] * w[i];
                e += (2 * phi + g) * w1 * sqrt(x2) + phi * x1 * sqrt(w2);
                zb += sqrt(x2) * sqrt(w2);
            }
            for (size_t p = 0; p < oplane; p++) {
                size_t o = ((size_t)n * M + m) * oplane + p;
                /* + the rounded 1/(F_h F_w) in alpha and the bias add: 2u (|z| + |b|) */
                tol[o] = e + 2 * U * (zb + fabs(d->bd[m]));
            }
        }
    return tol;
}

static void check_fft(const char *name, const gb_conv_shape *s, uint64_t seed, int with_reference) {
    conv_data d;
    data_random(&d, s, 0, seed);
    float *fo = gc_falloc(d.z.out), *go = gc_falloc(d.z.out);
    gb_conv2d_forward_fft_cpu(&dev, fo, d.x, d.w, d.b, s);
    gb_conv2d_forward_gemm_cpu(&dev, go, d.x, d.w, d.b, s);
    double *tf = fft_bound(&d);
    double *S = gc_dalloc(d.z.out), *ref = gc_dalloc(d.z.out), *tol = gc_dalloc(d.z.out);
    char label[512];
    if (with_reference) {
        conv_fwd64(s, 0, d.xd, d.wd, d.bd, ref, 0);
        snprintf(label, sizeof label, "fft %s vs float64", name);
        expect_within(label, fo, ref, tf, d.z.out);
        conv_fwd64(s, 0, d.xd, d.wd, d.bd, S, 1);
    } else {
        /* S from the GEMM path on |x|, |w|, |b| (a sum of non-negative terms: its
         * relative error <= (K+2)u, so S*1.01 is an upper bound) */
        float *ax = malloc(d.z.inp * sizeof *ax), *aw = malloc(d.z.weight * sizeof *aw),
              *ab = malloc(d.z.bias * sizeof *ab), *so = gc_falloc(d.z.out);
        for (size_t i = 0; i < d.z.inp; i++) ax[i] = fabsf(d.x[i]);
        for (size_t i = 0; i < d.z.weight; i++) aw[i] = fabsf(d.w[i]);
        for (size_t i = 0; i < d.z.bias; i++) ab[i] = fabsf(d.b[i]);
        gb_conv2d_forward_gemm_cpu(&dev, so, ax, aw, ab, s);
        for (size_t i = 0; i < d.z.out; i++) S[i] = 1.01 * so[i];
        free(ax), free(aw), free(ab), free(so);
    }
    const conv_gammas g = gammas_of(s, 0);
    double *go_d = gc_to_double(go, d.z.out);
    for (size_t i = 0; i < d.z.out; i++) tol[i] = tf[i] + g.out * U * S[i];
    snprintf(label, sizeof label, "fft %s vs gemm", name);
    expect_within(label, fo, go_d, tol, d.z.out);
    free(go_d), free(tf), free(S), free(ref), free(tol), free(fo), free(go);
    data_free(&d);
}

Test(conv2d_fft, matches_gemm_and_float64, .init = open_cpu, .fini = close_cpu) {
    const gb_conv_shape stem = {2, 3, 12, 11, 4, 7, 7, 1, 1, 3, 3, 0, 0};  /* U-Net 7x7 stem */
    const gb_conv_shape k5 = {2, 5, 9, 10, 3, 5, 5, 1, 1, 2, 2, 0, 0};     /* Inception 5x5 */
    const gb_conv_shape k1x7 = {3, 4, 8, 7, 5, 1, 7, 1, 1, 0, 3, 0, 0};    /* Inception 1x7 */
    const gb_conv_shape k7x1 = {1, 6, 7, 9, 2, 7, 1, 1, 1, 3, 0, 0, 0};    /* Inception 7x1 */
    const gb_conv_shape strided = {2, 3, 11, 13, 3, 7, 7, 2, 2, 3, 3, 0, 0};
    const gb_conv_shape unpadded = {1, 2, 10, 9, 3, 3, 5, 1, 1, 0, 0, 0, 0};
    check_fft("stem7x7", &stem, 4001, 1);
    check_fft("k5", &k5, 4002, 1);
    check_fft("k1x7", &k1x7, 4003, 1);
    check_fft("k7x1", &k7x1, 4004, 1);
    check_fft("stride2", &strided, 4005, 1);
    check_fft("unpadded", &unpadded, 4006, 1);
}

Test(conv2d_fft, chunked_layout_matches_gemm, .init = open_cpu, .fini = close_cpu) {
    /* the spectra of 64x128 kernel planes (38x38) exceed 64 MB: output channels
     * are processed in chunks */
    const gb_conv_shape s = {2, 64, 32, 32, 128, 7, 7, 1, 1, 3, 3, 0, 0};
    check_fft("chunked", &s, 4101, 0);
}

Test(conv2d_fft, deterministic_across_calls_and_workspace_moves, .init = open_cpu, .fini = close_cpu) {
    const gb_conv_shape s = {3, 4, 14, 15, 5, 7, 7, 1, 1, 3, 3, 0, 0};
    conv_data d;
    data_random(&d, &s, 0, 4201);
    float *o1 = gc_falloc(d.z.out), *o2 = gc_falloc(d.z.out), *o3 = gc_falloc(d.z.out);
    gb_conv2d_forward_fft_cpu(&dev, o1, d.x, d.w, d.b, &s);
    gb_conv2d_forward_fft_cpu(&dev, o2, d.x, d.w, d.b, &s); /* cached plans */
    gb_dev_scratch(&dev, (size_t)150 << 20);                 /* new workspace address */
    gb_conv2d_forward_fft_cpu(&dev, o3, d.x, d.w, d.b, &s);
    cr_expect(memcmp(o1, o2, d.z.out * sizeof *o1) == 0, "fft forward differs on the second call");
    cr_expect(memcmp(o1, o3, d.z.out * sizeof *o1) == 0, "fft forward differs after the workspace moved");
    free(o1), free(o2), free(o3);
    data_free(&d);
}

Test(conv2d_fft, table_entry_follows_the_rule, .init = open_cpu, .fini = close_cpu) {
    /* whatever path the rule picks, the table's forward equals that path bit for bit */
    const gb_conv_shape shapes[] = {
        {2, 3, 32, 32, 64, 7, 7, 1, 1, 3, 3, 0, 0},
        {2, 48, 35, 35, 64, 5, 5, 1, 1, 2, 2, 0, 0},
        {2, 16, 17, 17, 16, 1, 7, 1, 1, 0, 3, 0, 0},
        {2, 8, 16, 16, 8, 3, 3, 1, 1, 1, 1, 0, 0},
        {2, 3, 24, 24, 4, 11, 11, 1, 1, 5, 5, 0, 0},
    };
    /* the rule of kernels/cpu/conv2d.c: GEMM on genbench's shapes, FFT for 11x11+, and before
     * both the register tiles where gb_conv2d_uses_small_planes_forward says (the 5x5, 1x7 and
     * 3x3 shapes here, on AVX-512 CPUs), then the direct loops where gb_conv2d_uses_direct or
     * gb_conv2d_uses_few_inputs says */
    cr_expect(!gb_conv2d_uses_fft(&shapes[0]) && !gb_conv2d_uses_fft(&shapes[1]) &&
                  !gb_conv2d_uses_fft(&shapes[2]) && !gb_conv2d_uses_fft(&shapes[3]),
              "the FFT path measured slower on the U-Net/Inception/3x3 shapes");
    cr_expect(gb_conv2d_uses_fft(&shapes[4]), "11x11 stride 1 takes the FFT path");
    for (size_t k = 0; k < NCASES(shapes); k++) {
        conv_data d;
        data_random(&d, &shapes[k], 0, 4300 + k);
        float *t = gc_falloc(d.z.out), *p = gc_falloc(d.z.out);
        gb_conv2d_forward(&dev, t, d.x, d.w, d.b, &shapes[k]);
        if (gb_conv2d_uses_small_planes_forward(&shapes[k])) /* kernels/cpu/conv_small_planes.c */
            gb_conv2d_forward_small_planes_cpu(&dev, p, d.x, d.w, d.b, &shapes[k]);
        else if (gb_conv2d_uses_direct(&shapes[k])) /* few outputs: kernels/cpu/conv_direct.c */
            gb_conv2d_forward_direct_cpu(&dev, p, d.x, d.w, d.b, &shapes[k]);
        else if (gb_conv2d_uses_few_inputs(&shapes[k])) /* few inputs: kernels/cpu/conv_few_inputs.c */
            gb_conv2d_forward_few_inputs_cpu(&dev, p, d.x, d.w, d.b, &shapes[k]);
        else if (gb_conv2d_uses_fft(&shapes[k]))
            gb_conv2d_forward_fft_cpu(&dev, p, d.x, d.w, d.b, &shapes[k]);
        else
            gb_conv2d_forward_gemm_cpu(&dev, p, d.x, d.w, d.b, &shapes[k]);
        cr_expect(memcmp(t, p, d.z.out * sizeof *t) == 0, "shape %zu: table forward differs from its path", k);
        free(t), free(p);
        data_free(&d);
    }
}

/* ============================ conv_transpose2d ==================================== */

Test(conv_transpose2d, forward_and_backward_match_float64_finite_differences, .init = open_cpu, .fini = close_cpu) {
    for (size_t k = 0; k < NCASES(convt_cases); k++) check_against_fd(&convt_cases[k], 1, 5000 + k);
}

Test(conv_transpose2d, large_images_match_float64_adjoint, .init = open_cpu, .fini = close_cpu) {
    const gb_conv_shape big = {2, 3, 32, 32, 2, 3, 3, 1, 1, 1, 1, 0, 0};   /* one sample per GEMM */
    const gb_conv_shape pw = {2, 4, 32, 33, 3, 1, 1, 1, 1, 0, 0, 0, 0};    /* a single sgemm per sample */
    const gb_conv_shape up = {3, 5, 13, 11, 4, 4, 4, 2, 2, 1, 1, 1, 0};    /* gathered, output_padding */
    check_against_adjoint("convt_big", &big, 1, 5101);
    check_against_adjoint("convt_pointwise_32", &pw, 1, 5102);
    check_against_adjoint("convt_up", &up, 1, 5103);
    /* K = 2048, 8x8 inputs: chunks capped at 4 samples by the column-buffer budget
     * (kernels/cpu/conv_transpose2d.c, transpose_chunk), 9 samples: 4 + 4 + a chunk of 1 */
    const gb_conv_shape capped = {9, 5, 8, 8, 128, 4, 4, 2, 2, 1, 1, 0, 0};
    check_against_adjoint("convt_capped_chunks", &capped, 1, 5104);
}

Test(conv_transpose2d, matches_pytorch, .init = open_cpu, .fini = close_cpu) {
    for (size_t k = 0; k < NCASES(convt_cases); k++) check_against_pytorch(&convt_cases[k], 1);
}

Test(conv_transpose2d, gradient_contract, .init = open_cpu, .fini = close_cpu) {
    check_contract(&convt_cases[0].s, 1, 5201, "convt s2_op1");
    const gb_conv_shape big = {2, 3, 32, 32, 2, 3, 3, 1, 1, 1, 1, 0, 0};
    check_contract(&big, 1, 5202, "convt big");
    check_contract(&convt_cases[3].s, 1, 5203, "convt pointwise");
}

Test(conv_transpose2d, deterministic, .init = open_cpu, .fini = close_cpu) {
    const gb_conv_shape s = {4, 6, 7, 9, 5, 4, 4, 2, 2, 1, 1, 1, 1};
    conv_data d;
    data_random(&d, &s, 1, 5301);
    float *o1 = gc_falloc(d.z.out), *o2 = gc_falloc(d.z.out);
    float *x1 = gc_falloc(d.z.inp), *x2 = gc_falloc(d.z.inp);
    float *w1 = gc_falloc(d.z.weight), *w2 = gc_falloc(d.z.weight);
    run_forward(&d, o1, d.b);
    run_backward(&d, x1, w1, NULL);
    gb_dev_scratch(&dev, (size_t)100 << 20);
    run_forward(&d, o2, d.b);
    run_backward(&d, x2, w2, NULL);
    cr_expect(memcmp(o1, o2, d.z.out * sizeof *o1) == 0, "forward differs between calls");
    cr_expect(memcmp(x1, x2, d.z.inp * sizeof *x1) == 0, "dinp differs between calls");
    cr_expect(memcmp(w1, w2, d.z.weight * sizeof *w1) == 0, "dweight differs between calls");
    free(o1), free(o2), free(x1), free(x2), free(w1), free(w2);
    data_free(&d);
}

/* ============================ weight standardisation ============================== */

#define WS_EPS 1e-5f

/* float64 transcription: y = (w - mean) / sqrt(var_biased + eps); also returns
 * rstd and kappa2 = mean(w^2) / var (the conditioning of the variance). */
static void ws_fwd64(const double *w, int O, int F, double eps, double *y, double *rstd, double *kappa2) {
    for (int o = 0; o < O; o++) {
        const double *r = w + (size_t)o * F;
        double m = 0, v = 0, sq = 0;
        for (int i = 0; i < F; i++) m += r[i], sq += r[i] * r[i];
        m /= F;
        for (int i = 0; i < F; i++) v += (r[i] - m) * (r[i] - m);
        v /= F;
        double rs = 1.0 / sqrt(v + eps);
        for (int i = 0; i < F; i++) y[(size_t)o * F + i] = (r[i] - m) * rs;
        if (rstd) rstd[o] = rs;
        if (kappa2) kappa2[o] = (sq / F) / (v + eps);
    }
}

typedef struct {
    int O, F;
} ws_ctx;
static void ws_fd_forward(void *vctx, const double *w, double *y) {
    ws_ctx *c = vctx;
    ws_fwd64(w, c->O, c->F, WS_EPS, y, NULL, NULL);
}

/* |dw| <= rstd (|g| + mean|g| + |y| mean|g y|): the magnitude scale of the backward */
static double ws_grad_scale(const float *g, const double *y, int F, size_t o, size_t i, double rstd) {
    double mg = 0, mgy = 0;
    for (int k = 0; k < F; k++) {
        mg += fabs(g[o * F + k]);
        mgy += fabs(g[o * F + k] * y[o * F + k]);
    }
    return rstd * (fabs(g[o * F + i]) + mg / F + fabs(y[o * F + i]) * mgy / F);
}

static void check_ws(const char *name, const float *w, const float *g, int O, int F,
                     const float *torch_out, const float *torch_dw) {
    size_t n = (size_t)O * F;
    double *wd = gc_to_double(w, n), *y = gc_dalloc(n), *rs = gc_dalloc(O), *k2 = gc_dalloc(O);
    ws_fwd64(wd, O, F, WS_EPS, y, rs, k2);
    float *out = gc_falloc(n), *rstd = gc_falloc(O), *dw = gc_falloc(n);
    gb_weight_standardize_forward(&dev, out, rstd, w, O, F, WS_EPS);
    gb_weight_standardize_backward(&dev, dw, g, out, rstd, O, F);
    char label[512];
    double *tol = gc_dalloc(n), *ref = gc_dalloc(n);

    /* forward: double arithmetic, one rounding of y (u|y|), + double error */
    for (size_t i = 0; i < n; i++) tol[i] = 2 * U * fabs(y[i]) + 1e-12;
    snprintf(label, sizeof label, "ws %s out", name);
    expect_within(label, out, y, tol, n);
    double *rtol = gc_dalloc(O);
    for (int o = 0; o < O; o++) rtol[o] = 2 * U * rs[o];
    snprintf(label, sizeof label, "ws %s save_rstd", name);
    expect_within(label, rstd, rs, rtol, (size_t)O);

    /* backward against FD of the float64 forward: the float y and rstd it reads
     * are each one rounding off, and the result is rounded once: 4u * scale. The
     * op is not linear: step h = 1e-4 * the smallest std, whose truncation
     * (h^2/6 times the third derivative, ~1e-9 relative) and rounding
     * (eps64 |L| / h) stay under the 1e-6 * scale added. */
    ws_ctx c = {O, F};
    double *gd = gc_to_double(g, n), *wv = gc_to_double(w, n);
    double rmax = 0;
    for (int o = 0; o < O; o++) rmax = rs[o] > rmax ? rs[o] : rmax;
    gc_fd_vjp(ws_fd_forward, &c, wv, n, n, gd, 1e-4 / rmax, ref);
    for (size_t i = 0; i < n; i++)
        tol[i] = (4 * U + 1e-6) * ws_grad_scale(g, y, F, i / F, i % F, rs[i / F]) + 1e-12;
    snprintf(label, sizeof label, "ws %s dweight vs fd", name);
    expect_within(label, dw, ref, tol, n);

    /* PyTorch in float32: its mean and variance carry (F+4)u relative errors
     * amplified by kappa2 (tests/tolerances.md) */
    if (torch_out) {
        double *to = gc_to_double(torch_out, n), *td = gc_to_double(torch_dw, n);
        for (size_t i = 0; i < n; i++) tol[i] = 4.0 * (F + 4) * U * k2[i / F] * (fabs(y[i]) + 1.0);
        snprintf(label, sizeof label, "ws %s out vs torch", name);
        expect_within(label, out, to, tol, n);
        for (size_t i = 0; i < n; i++)
            tol[i] = 4.0 * (F + 4) * U * k2[i / F] * ws_grad_scale(g, y, F, i / F, i % F, rs[i / F]);
        snprintf(label, sizeof label, "ws %s dweight vs torch", name);
        expect_within(label, dw, td, tol, n);
        free(to), free(td);
    }

    /* contract: a second backward adds the same gradient (one more rounding) */
    float *dw1 = malloc(n * sizeof *dw1);
    memcpy(dw1, dw, n * sizeof *dw);
    gb_weight_standardize_backward(&dev, dw, g, out, rstd, O, F);
    for (size_t i = 0; i < n; i++) {
        ref[i] = 2.0 * dw1[i];
        tol[i] = 3 * U * fabs(ref[i]) + 1e-30;
    }
    snprintf(label, sizeof label, "ws %s dweight accumulated twice", name);
    expect_within(label, dw, ref, tol, n);
    free(dw1);
    free(wd), free(y), free(rs), free(k2), free(out), free(rstd), free(dw), free(tol), free(ref);
    free(rtol), free(gd), free(wv);
}

Test(weight_standardize, matches_float64_fd_and_contract, .init = open_cpu, .fini = close_cpu) {
    const int shapes[][2] = {{5, 27}, {4, 49}, {1, 1}, {3, 128 * 9}};
    for (size_t k = 0; k < NCASES(shapes); k++) {
        int O = shapes[k][0], F = shapes[k][1];
        gc_seed_rng(6000 + k);
        float *w = gc_rand((size_t)O * F, -0.2f, 0.4f), *g = gc_rand((size_t)O * F, -1, 1);
        char name[32];
        snprintf(name, sizeof name, "%dx%d", O, F);
        check_ws(name, w, g, O, F, NULL, NULL);
        free(w), free(g);
    }
}

Test(weight_standardize, matches_pytorch, .init = open_cpu, .fini = close_cpu) {
    const struct {
        const char *name;
        int O, F;
    } cases[] = {{"conv3x3", 5, 27}, {"small_var", 3, 10}};
    for (size_t k = 0; k < NCASES(cases); k++) {
        size_t n = (size_t)cases[k].O * cases[k].F;
        char p[256];
        snprintf(p, sizeof p, "kernels_conv/ws_%s_weight.f32", cases[k].name);
        float *w = fixture_f32(p, n);
        snprintf(p, sizeof p, "kernels_conv/ws_%s_dout.f32", cases[k].name);
        float *g = fixture_f32(p, n);
        snprintf(p, sizeof p, "kernels_conv/ws_%s_out.f32", cases[k].name);
        float *to = fixture_f32(p, n);
        snprintf(p, sizeof p, "kernels_conv/ws_%s_dweight.f32", cases[k].name);
        float *td = fixture_f32(p, n);
        check_ws(cases[k].name, w, g, cases[k].O, cases[k].F, to, td);
        free(w), free(g), free(to), free(td);
    }
}

/* ======================= bits independent of the thread count ===================== */

/* im2col / col2im run over channels through gb_parallel_for and OpenBLAS splits sgemm over
 * output rows and columns only, so the conv outputs and gradients must be the same bits on
 * devices with 1, 2 and 3 threads where the BLAS kernels are shape-invariant (else within
 * rounding: tests/blas_probe.h): per sample (32x32), batched samples (8x8), a stride-2 5x3
 * conv, and the transposed conv. */
static void expect_conv_bits_with_threads(const gb_conv_shape *s, int transpose, int pin_blas);

/* Both ways: OpenBLAS on the device's thread count (bitwise where it is shape-invariant), and
 * pinned to one thread after the device opens, so that only our own pool's slicing (im2col,
 * col2im, gathers) varies: bitwise on every CPU. */
static void expect_conv_bits_independent_of_threads(const gb_conv_shape *s, int transpose) {
    expect_conv_bits_with_threads(s, transpose, 0);
    expect_conv_bits_with_threads(s, transpose, 1);
}

static void expect_conv_bits_with_threads(const gb_conv_shape *s, int transpose, int pin_blas) {
    size_t ni = (size_t)s->batch * s->in_channels * s->in_height * s->in_width;
    int oh = transpose ? gb_conv_transpose_out_h(s) : gb_conv_out_h(s);
    int ow = transpose ? gb_conv_transpose_out_w(s) : gb_conv_out_w(s);
    size_t no = (size_t)s->batch * s->out_channels * oh * ow;
    size_t nw = transpose ? (size_t)s->in_channels * s->out_channels * s->kernel_h * s->kernel_w
                          : (size_t)s->out_channels * s->in_channels * s->kernel_h * s->kernel_w;
    gc_seed_rng(4242);
    float *x = gc_rand(ni, -1, 1), *w = gc_rand(nw, -1, 1), *b = gc_rand((size_t)s->out_channels, -1, 1);
    float *g = gc_rand(no, -1, 1);
    float *out[3], *dx[3], *dw[3];
    for (int t = 0; t < 3; t++) {
        gb_device d;
        cr_assert_eq(gb_device_open(&d, "cpu", t + 1), GB_OK, "%s", gb_last_error());
        if (pin_blas) openblas_set_num_threads(1);
        out[t] = gc_falloc(no), dx[t] = gc_falloc(ni), dw[t] = calloc(nw, sizeof(float));
        if (transpose) {
            gb_conv_transpose2d_forward(&d, out[t], x, w, b, s);
            gb_conv_transpose2d_backward(&d, dx[t], dw[t], NULL, g, x, w, s);
        } else {
            gb_conv2d_forward(&d, out[t], x, w, b, s);
            gb_conv2d_backward(&d, dx[t], dw[t], NULL, g, x, w, s);
        }
        gb_device_close(&d);
    }
    for (int t = 1; t < 3; t++) {
        char what[96];
        const char *op = transpose ? "conv_transpose2d" : "conv2d";
        if (pin_blas) {
            cr_expect(memcmp(out[t], out[0], no * sizeof(float)) == 0, "%s %dx%d, BLAS pinned: forward with %d pool "
                      "threads differs", op, s->in_height, s->in_width, t + 1);
            cr_expect(memcmp(dx[t], dx[0], ni * sizeof(float)) == 0, "%s, BLAS pinned: dinp with %d threads differs",
                      op, t + 1);
            cr_expect(memcmp(dw[t], dw[0], nw * sizeof(float)) == 0, "%s, BLAS pinned: dweight with %d threads "
                      "differs", op, t + 1);
            continue;
        }
        snprintf(what, sizeof what, "%s %dx%d forward, 1 vs %d threads", op, s->in_height, s->in_width, t + 1);
        expect_blas_split_equal(what, out[0], out[t], no, 1e-5);
        snprintf(what, sizeof what, "%s %dx%d dinp, 1 vs %d threads", op, s->in_height, s->in_width, t + 1);
        expect_blas_split_equal(what, dx[0], dx[t], ni, 1e-5);
        snprintf(what, sizeof what, "%s %dx%d dweight, 1 vs %d threads", op, s->in_height, s->in_width, t + 1);
        expect_blas_split_equal(what, dw[0], dw[t], nw, 1e-5);
    }
    for (int t = 0; t < 3; t++) free(out[t]), free(dx[t]), free(dw[t]);
    free(x), free(w), free(b), free(g);
}

Test(conv2d, bits_independent_of_thread_count) {
    const gb_conv_shape per_sample = {2, 6, 32, 32, 5, 3, 3, 1, 1, 1, 1, 0, 0};
    const gb_conv_shape batched = {9, 13, 8, 8, 7, 3, 3, 1, 1, 1, 1, 0, 0};
    const gb_conv_shape strided = {3, 5, 17, 15, 4, 5, 3, 2, 2, 2, 1, 0, 0};
    expect_conv_bits_independent_of_threads(&per_sample, 0);
    expect_conv_bits_independent_of_threads(&batched, 0);
    expect_conv_bits_independent_of_threads(&strided, 0);
    const gb_conv_shape transposed = {4, 6, 7, 9, 5, 4, 4, 2, 2, 1, 1, 1, 0};
    expect_conv_bits_independent_of_threads(&transposed, 1);
    const gb_conv_shape capped = {9, 5, 8, 8, 128, 4, 4, 2, 2, 1, 1, 0, 0}; /* chunks of 4, 4, 1 */
    expect_conv_bits_independent_of_threads(&capped, 1);
}

/* Weight standardisation is cut over rows into gb_parallel_for slices: out, save_rstd and the
 * accumulated dweight must be the same bits with 1, 2 and 3 threads (96 rows of 1157: 15 rows
 * a slice at least, so 2 and 3 threads each cut the rows; 1157 leaves a tail after 8 lanes). */
Test(weight_standardize, bits_independent_of_thread_count) {
    enum { O = 96, F = 1157 };
    gc_seed_rng(4243);
    float *w = gc_rand((size_t)O * F, -0.2f, 0.4f), *g = gc_rand((size_t)O * F, -1, 1);
    float *dw0 = gc_rand((size_t)O * F, -1, 1); /* dweight accumulates onto it */
    float *out[3], *rstd[3], *dw[3];
    for (int t = 0; t < 3; t++) {
        gb_device d;
        cr_assert_eq(gb_device_open(&d, "cpu", t + 1), GB_OK, "%s", gb_last_error());
        out[t] = gc_falloc((size_t)O * F), rstd[t] = gc_falloc(O), dw[t] = gc_falloc((size_t)O * F);
        memcpy(dw[t], dw0, (size_t)O * F * sizeof(float));
        gb_weight_standardize_forward(&d, out[t], rstd[t], w, O, F, 1e-5f);
        gb_weight_standardize_backward(&d, dw[t], g, out[t], rstd[t], O, F);
        gb_device_close(&d);
    }
    for (int t = 1; t < 3; t++) {
        cr_expect(memcmp(out[t], out[0], (size_t)O * F * sizeof(float)) == 0, "ws out with %d threads differs", t + 1);
        cr_expect(memcmp(rstd[t], rstd[0], O * sizeof(float)) == 0, "ws save_rstd with %d threads differs", t + 1);
        cr_expect(memcmp(dw[t], dw[0], (size_t)O * F * sizeof(float)) == 0, "ws dweight with %d threads differs", t + 1);
    }
    for (int t = 0; t < 3; t++) free(out[t]), free(rstd[t]), free(dw[t]);
    free(w), free(g), free(dw0);
}
