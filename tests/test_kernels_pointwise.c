/* tests/test_kernels_pointwise.c - the CPU elementwise arithmetic, activations (forward,
 * backward, jvp, jvp_backward) and FiLM kernels against independent references.
 *
 * References: float64 transcriptions written here with libm (tanh, exp, log1p, erfc), their
 * analytic first and second derivatives, float64 central differences of those transcriptions
 * (tests/gradcheck.h), and PyTorch values from tests/peers/kernels_pointwise.py in
 * $GB_FIXTURES/kernels_pointwise/ (F.relu, F.leaky_relu, tanh, sigmoid, F.softplus, F.silu,
 * F.gelu; jvp by torch.autograd.functional.jvp and its double backward).
 * Tolerances and their reasons: tests/tolerances.md, section "elementwise, activations, FiLM".
 * Inputs come from fixed seeds, printed with any failure.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "tests/fixture.h"
#include "tests/gradcheck.h"

#define U GC_U32
#define TINY 1e-44 /* a few denormal steps: results that underflow round absolutely */

static gb_device dev;
static void open_cpu(void) {
    gb_status s = gb_device_open(&dev, "cpu", 1);
    cr_assert_eq(s, GB_OK, "gb_device_open(cpu): %s", gb_last_error());
}
static void close_cpu(void) { gb_device_close(&dev); }

/* tests/peers/kernels_pointwise.py's fixture <name>.f32 of exactly n floats (tests/fixture.h). */
static float *load(const char *name, size_t n) {
    char rel[256];
    snprintf(rel, sizeof rel, "kernels_pointwise/%s.f32", name);
    return fixture_f32(rel, n);
}

/* |got - ref| <= k u scale + TINY (1 + |x|), elementwise (scale: the sum of the magnitudes of
 * the terms that make up the value, so cancellation is accounted for; x, when given, is the
 * activation's input: x * sigmoid(x) multiplies a denormal's absolute error by |x|). */
static const float *tiny_x; /* NULL: no per-element factor */
static void expect_scaled(const char *label, const float *got, const double *ref,
                          const double *scale, size_t n, double k) {
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double tiny = TINY * (1 + (tiny_x ? fabs((double)tiny_x[i]) : 0));
        double diff = fabs((double)got[i] - ref[i]), lim = k * U * scale[i] + tiny;
        if (!(diff <= lim)) {
            if (bad < 5)
                cr_log_error("%s[%zu]: got %.9g, want %.9g (diff %.3g > %.3g = %g u * %.3g), seed %llu",
                             label, i, (double)got[i], ref[i], diff, lim, k, scale[i],
                             (unsigned long long)gc_seed);
            bad++;
        }
        /* the reported worst ignores underflowed values, whose error is absolute */
        if (fabs(ref[i]) >= 1.2e-38 && diff / (U * scale[i]) > worst) worst = diff / (U * scale[i]);
    }
    cr_expect_eq(bad, 0, "%s: %zu of %zu out of tolerance (worst %.2f u*scale, allowed %g), seed %llu",
                 label, bad, n, worst, k, (unsigned long long)gc_seed);
}

/* ---- elementwise arithmetic: one rounding each, so bitwise equal to the double result
 * rounded once (double holds every float sum/product of two floats' exact value closely
 * enough that rounding it to float is the correctly rounded result) ---- */

static void expect_bitwise(const char *label, const float *got, const float *want, size_t n) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0) {
            if (bad < 5) cr_log_error("%s[%zu]: got %.9g, want %.9g", label, i, (double)got[i], (double)want[i]);
            bad++;
        }
    cr_expect_eq(bad, 0, "%s: %zu of %zu elements differ, seed %llu", label, bad, n,
                 (unsigned long long)gc_seed);
}

Test(elementwise, fill_add_mul_axpy_scale_are_correctly_rounded, .init = open_cpu, .fini = close_cpu) {
    static const size_t sizes[] = {0, 1, 7, 1001};
    gc_seed_rng(101);
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        size_t n = sizes[t];
        float *a = gc_rand(n, -3, 3), *b = gc_rand(n, -1e3f, 1e3f), *out = gc_falloc(n + 1);
        float *want = gc_falloc(n + 1);
        out[n] = 123.0f; /* guard */
        gb_fill(&dev, out, -2.5f, n);
        for (size_t i = 0; i < n; i++) want[i] = -2.5f;
        want[n] = 123.0f;
        expect_bitwise("fill", out, want, n + 1);
        gb_add(&dev, out, a, b, n);
        for (size_t i = 0; i < n; i++) want[i] = (float)((double)a[i] + (double)b[i]);
        expect_bitwise("add", out, want, n + 1);
        gb_mul(&dev, out, a, b, n);
        for (size_t i = 0; i < n; i++) want[i] = (float)((double)a[i] * (double)b[i]);
        expect_bitwise("mul", out, want, n + 1);
        gb_scale_by(&dev, out, 0.3f, a, n);
        for (size_t i = 0; i < n; i++) want[i] = (float)((double)0.3f * (double)a[i]);
        expect_bitwise("scale_by", out, want, n + 1);
        memcpy(out, b, n * sizeof *out);
        gb_axpy(&dev, out, -1.7f, a, n);
        for (size_t i = 0; i < n; i++)
            want[i] = (float)((double)b[i] + (double)(float)((double)-1.7f * (double)a[i]));
        expect_bitwise("axpy", out, want, n + 1);
        free(a), free(b), free(out), free(want);
    }
}

Test(elementwise, outputs_may_alias_inputs, .init = open_cpu, .fini = close_cpu) {
    gc_seed_rng(102);
    size_t n = 37;
    float *a = gc_rand(n, -2, 2), *b = gc_rand(n, -2, 2), *x = gc_falloc(n), *want = gc_falloc(n);
    memcpy(x, a, n * sizeof *x);
    gb_add(&dev, x, x, b, n); /* out == a */
    for (size_t i = 0; i < n; i++) want[i] = a[i] + b[i];
    expect_bitwise("add in place", x, want, n);
    memcpy(x, b, n * sizeof *x);
    gb_mul(&dev, x, a, x, n); /* out == b */
    for (size_t i = 0; i < n; i++) want[i] = a[i] * b[i];
    expect_bitwise("mul in place", x, want, n);
    memcpy(x, a, n * sizeof *x);
    gb_scale_by(&dev, x, 2.0f, x, n);
    for (size_t i = 0; i < n; i++) want[i] = 2.0f * a[i];
    expect_bitwise("scale_by in place", x, want, n);
    memcpy(x, a, n * sizeof *x);
    gb_axpy(&dev, x, 0.5f, x, n); /* y == x */
    for (size_t i = 0; i < n; i++) want[i] = a[i] + 0.5f * a[i];
    expect_bitwise("axpy aliased", x, want, n);
    free(a), free(b), free(x), free(want);
}

/* ---- activations: float64 transcriptions ---- */

static const gb_act_kind kinds[] = {GB_ACT_IDENTITY, GB_ACT_RELU, GB_ACT_LEAKY_RELU, GB_ACT_TANH,
                                    GB_ACT_SIGMOID,  GB_ACT_SOFTPLUS, GB_ACT_SILU, GB_ACT_GELU};
static const char *const kind_names[] = {"identity", "relu", "leaky_relu", "tanh",
                                         "sigmoid",  "softplus", "silu", "gelu"};
#define NKINDS (sizeof kinds / sizeof *kinds)
static const float test_slope = 0.2f;

/* f, f', f'' at x in double, and for each the sum of the magnitudes of its terms (the scale
 * its float rounding error is proportional to). */
typedef struct {
    double f, d1, d2;
    double sf, sd1, sd2;
} act64;

static act64 act_ref(gb_act_kind kind, double x) {
    act64 r = {x, 1, 0, fabs(x), 1, 0};
    double slope = (double)test_slope;
    /* sigmoid and its complement without cancellation */
    double e = exp(-fabs(x));
    double s = x >= 0 ? 1 / (1 + e) : e / (1 + e), c = x >= 0 ? e / (1 + e) : 1 / (1 + e);
    switch (kind) {
    case GB_ACT_IDENTITY: break;
    case GB_ACT_RELU:
        r.f = x <= 0 ? 0 : x;
        r.d1 = x <= 0 ? 0 : 1;
        break;
    case GB_ACT_LEAKY_RELU:
        r.f = x > 0 ? x : slope * x;
        r.d1 = x > 0 ? 1 : slope;
        break;
    case GB_ACT_TANH: {
        double y = tanh(x), ch = cosh(x);
        r.f = y;
        r.d1 = 1 / (ch * ch); /* 1 - y^2 cancels in double too for |x| > 19 */
        r.d2 = -2 * y * r.d1;
        break;
    }
    case GB_ACT_SIGMOID:
        r.f = s;
        r.d1 = s * c;
        r.d2 = s * c * (c - s);
        r.sd2 = s * c;
        break;
    case GB_ACT_SOFTPLUS:
        r.f = x > 20 ? x : (x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)));
        r.d1 = x > 20 ? 1 : s;
        r.d2 = x > 20 ? 0 : s * c;
        break;
    case GB_ACT_SILU:
        r.f = x * s;
        r.d1 = s * (1 + x * c);
        r.sd1 = s * (1 + fabs(x * c));
        r.d2 = s * c * (2 + x * (c - s));
        r.sd2 = s * c * (2 + fabs(x));
        break;
    case GB_ACT_GELU: {
        double phi = exp(-0.5 * x * x) / sqrt(2 * M_PI), big = 0.5 * erfc(-x / sqrt(2.0));
        r.f = x * big;
        r.d1 = big + x * phi;
        r.sd1 = big + fabs(x * phi);
        r.d2 = phi * (2 - x * x);
        r.sd2 = phi * (2 + x * x);
        break;
    }
    }
    r.sf = fabs(r.f);
    if (kind != GB_ACT_SILU && kind != GB_ACT_GELU) r.sd1 = fabs(r.d1);
    if (kind != GB_ACT_SIGMOID && kind != GB_ACT_SILU && kind != GB_ACT_GELU) r.sd2 = fabs(r.d2);
    return r;
}

/* The four outputs of the kernels for one kind, from float inputs. */
typedef struct {
    float *out, *dinp, *jvp, *jdinp, *jdinp_t;
} act_outputs;

static act_outputs run_kernels(gb_act_kind kind, const float *x, const float *t, const float *dout,
                               const float *dout_t, size_t n) {
    gb_activation act = {kind, test_slope};
    act_outputs o = {gc_falloc(n), gc_falloc(n), gc_falloc(n), gc_falloc(n), gc_falloc(n)};
    gb_activation_forward(&dev, o.out, x, n, &act);
    gb_activation_backward(&dev, o.dinp, dout, x, n, &act);
    gb_activation_jvp(&dev, o.jvp, x, t, n, &act);
    gb_activation_jvp_backward(&dev, o.jdinp, o.jdinp_t, dout, dout_t, x, t, n, &act);
    return o;
}
static void free_outputs(act_outputs *o) {
    free(o->out), free(o->dinp), free(o->jvp), free(o->jdinp), free(o->jdinp_t);
}

/* Check all four kernels against the analytic float64 values with tolerance multipliers
 * k_f (value) and k_d (derivative products). */
static void check_against_analytic(const char *what, gb_act_kind kind, const float *x,
                                   const float *t, const float *dout, const float *dout_t,
                                   size_t n, double k_f, double k_d) {
    act_outputs o = run_kernels(kind, x, t, dout, dout_t, n);
    double *ref = gc_dalloc(n), *sc = gc_dalloc(n);
    tiny_x = x;
    char label[160];
    const char *name = kind_names[kind];
#define CHECK(suffix, k, REF, SCALE)                                                      \
    for (size_t i = 0; i < n; i++) {                                                      \
        act64 r = act_ref(kind, x[i]);                                                    \
        ref[i] = (REF);                                                                   \
        sc[i] = (SCALE);                                                                  \
        (void)r;                                                                          \
    }                                                                                     \
    snprintf(label, sizeof label, "%s %s " suffix, what, name);
    CHECK("forward", k_f, r.f, r.sf)
    expect_scaled(label, o.out, ref, sc, n, k_f);
    CHECK("backward", k_d, r.d1 * dout[i], r.sd1 * fabs(dout[i]))
    expect_scaled(label, o.dinp, ref, sc, n, k_d);
    CHECK("jvp", k_d, r.d1 * t[i], r.sd1 * fabs(t[i]))
    expect_scaled(label, o.jvp, ref, sc, n, k_d);
    CHECK("jvp_backward dinp", k_d, r.d1 * dout[i] + r.d2 * t[i] * dout_t[i],
          r.sd1 * fabs(dout[i]) + r.sd2 * fabs(t[i] * dout_t[i]))
    expect_scaled(label, o.jdinp, ref, sc, n, k_d);
    CHECK("jvp_backward dinp_t", k_d, r.d1 * dout_t[i], r.sd1 * fabs(dout_t[i]))
    expect_scaled(label, o.jdinp_t, ref, sc, n, k_d);
#undef CHECK
    tiny_x = NULL;
    free(ref), free(sc);
    free_outputs(&o);
}

/* Tolerance multipliers of u * scale (tests/tolerances.md): values within K_F, every
 * derivative-based output within K_D. */
#define K_F 16.0
#define K_D 32.0

Test(activation, all_kinds_match_float64_on_random_and_extreme_inputs, .init = open_cpu, .fini = close_cpu) {
    static const float extremes[] = {
        -1e30f, -300.0f, -120.0f, -104.5f, -103.9f, -100.0f, -89.0f, -88.7f, -87.0f, -50.0f, -30.0f,
        -20.01f, -20.0f, -19.99f, -14.5f, -13.0f, -9.5f, -6.0f, -4.0f, -2.4f, -1.4142135f, -1.0f,
        -0.7518f, -0.56f, -0.55f, -0.54f, -1e-3f, -1e-20f, -0.0f, 0.0f, 1e-30f, 1e-7f, 1e-3f, 0.3f,
        0.54f, 0.55f, 0.56f, 1.0f, 1.4142135f, 2.4f, 4.0f, 9.0f, 9.5f, 13.0f, 14.5f, 19.0f, 19.99f,
        19.999f, 20.0f, 20.001f, 20.01f, 25.0f, 50.0f, 88.0f, 100.0f, 120.0f, 1e30f};
    size_t ne = sizeof extremes / sizeof *extremes;
    gc_seed_rng(201);
    for (size_t k = 0; k < NKINDS; k++) {
        /* odd sizes around the vector widths, then a long random run */
        static const size_t sizes[] = {1, 3, 17, 1031};
        for (size_t si = 0; si < 4; si++) {
            size_t n = sizes[si];
            float *x = gc_rand(n, -12, 12), *t = gc_rand(n, -2, 2), *dy = gc_rand(n, -1, 1);
            float *dyt = gc_rand(n, -1, 1);
            check_against_analytic("random", kinds[k], x, t, dy, dyt, n, K_F, K_D);
            free(x), free(t), free(dy), free(dyt);
        }
        float *t = gc_rand(ne, -2, 2), *dy = gc_rand(ne, -1, 1), *dyt = gc_rand(ne, -1, 1);
        check_against_analytic("extreme", kinds[k], extremes, t, dy, dyt, ne, K_F, K_D);
        free(t), free(dy), free(dyt);
    }
}

/* ---- central differences of the float64 transcriptions ---- */

typedef struct {
    gb_act_kind kind;
    size_t n;
} fd_ctx;

static void f64_forward(void *vctx, const double *x, double *y) {
    fd_ctx *c = vctx;
    for (size_t i = 0; i < c->n; i++) y[i] = act_ref(c->kind, x[i]).f;
}
/* (x, t) -> (f(x), f'(x) t): jvp_backward is this map's vector-Jacobian product */
static void f64_primal_and_tangent(void *vctx, const double *xt, double *y) {
    fd_ctx *c = vctx;
    for (size_t i = 0; i < c->n; i++) {
        act64 r = act_ref(c->kind, xt[i]);
        y[i] = r.f;
        y[c->n + i] = r.d1 * xt[c->n + i];
    }
}

/* The differences see the whole loss <dy, f(x)> (|L| ~ 50 here), so their rounding floor is
 * eps64 |L| / h ~ 5e-11 absolute; FD_FLOOR in the scale allows 32 u * 1e-4 = 2e-10. */
#define FD_FLOOR 1e-4

Test(activation, backward_jvp_and_jvp_backward_match_central_differences, .init = open_cpu, .fini = close_cpu) {
    size_t n = 67;
    const double h = 1e-4;
    gc_seed_rng(301);
    for (size_t k = 0; k < NKINDS; k++) {
        float *x = gc_rand(n, -7, 7), *t = gc_rand(n, -2, 2), *dy = gc_rand(n, -1, 1);
        float *dyt = gc_rand(n, -1, 1);
        for (size_t i = 0; i < n; i++) /* keep the kink of relu/leaky_relu out of the stencil */
            if (fabsf(x[i]) < 0.01f) x[i] += 0.05f;
        act_outputs o = run_kernels(kinds[k], x, t, dy, dyt, n);
        fd_ctx ctx = {kinds[k], n};
        double *x64 = gc_to_double(x, n), *dy64 = gc_to_double(dy, n), *fd = gc_dalloc(2 * n);
        double *sc = gc_dalloc(2 * n);
        char label[128];

        gc_fd_vjp(f64_forward, &ctx, x64, n, n, dy64, h, fd);
        for (size_t i = 0; i < n; i++) sc[i] = act_ref(kinds[k], x[i]).sd1 * fabs(dy[i]) + FD_FLOOR;
        snprintf(label, sizeof label, "%s backward vs FD", kind_names[k]);
        expect_scaled(label, o.dinp, fd, sc, n, K_D);

        /* jvp: the directional derivative (f(x + h t) - f(x - h t)) / 2h */
        for (size_t i = 0; i < n; i++) {
            double xp = x[i] + h * t[i], xm = x[i] - h * t[i];
            fd[i] = (act_ref(kinds[k], xp).f - act_ref(kinds[k], xm).f) / (2 * h);
            sc[i] = act_ref(kinds[k], x[i]).sd1 * fabs(t[i]) + FD_FLOOR;
        }
        snprintf(label, sizeof label, "%s jvp vs FD", kind_names[k]);
        expect_scaled(label, o.jvp, fd, sc, n, K_D);

        double *xt = gc_dalloc(2 * n), *dyy = gc_dalloc(2 * n);
        for (size_t i = 0; i < n; i++) {
            xt[i] = x[i];
            xt[n + i] = t[i];
            dyy[i] = dy[i];
            dyy[n + i] = dyt[i];
        }
        gc_fd_vjp(f64_primal_and_tangent, &ctx, xt, 2 * n, 2 * n, dyy, h, fd);
        for (size_t i = 0; i < n; i++) {
            act64 r = act_ref(kinds[k], x[i]);
            sc[i] = r.sd1 * fabs(dy[i]) + r.sd2 * fabs(t[i] * dyt[i]) + FD_FLOOR;
            sc[n + i] = r.sd1 * fabs(dyt[i]) + FD_FLOOR;
        }
        snprintf(label, sizeof label, "%s jvp_backward dinp vs FD", kind_names[k]);
        expect_scaled(label, o.jdinp, fd, sc, n, K_D);
        snprintf(label, sizeof label, "%s jvp_backward dinp_t vs FD", kind_names[k]);
        expect_scaled(label, o.jdinp_t, fd + n, sc + n, n, K_D);

        free(x), free(t), free(dy), free(dyt), free(x64), free(dy64), free(fd), free(sc), free(xt),
            free(dyy);
        free_outputs(&o);
    }
}

Test(activation, jvp_backward_null_dout_and_null_outputs, .init = open_cpu, .fini = close_cpu) {
    size_t n = 29;
    gc_seed_rng(401);
    for (size_t k = 0; k < NKINDS; k++) {
        gb_activation act = {kinds[k], test_slope};
        float *x = gc_rand(n, -5, 5), *t = gc_rand(n, -2, 2), *dyt = gc_rand(n, -1, 1);
        float *dinp = gc_rand(n, 7, 8), *dinp_t = gc_rand(n, 7, 8), *only_t = gc_falloc(n);
        double *ref = gc_dalloc(n), *sc = gc_dalloc(n);
        gb_activation_jvp_backward(&dev, dinp, dinp_t, NULL, dyt, x, t, n, &act);
        for (size_t i = 0; i < n; i++) {
            act64 r = act_ref(kinds[k], x[i]);
            ref[i] = r.d2 * t[i] * dyt[i]; /* the dout term is 0; overwrite, not += */
            sc[i] = r.sd2 * fabs(t[i] * dyt[i]);
        }
        char label[96];
        snprintf(label, sizeof label, "%s jvp_backward(dout NULL) dinp", kind_names[k]);
        expect_scaled(label, dinp, ref, sc, n, K_D);
        gb_activation_jvp_backward(&dev, NULL, only_t, NULL, dyt, x, t, n, &act);
        cr_expect_eq(memcmp(only_t, dinp_t, n * sizeof *only_t), 0,
                     "%s: dinp_t alone differs from dinp_t with dinp", kind_names[k]);
        free(x), free(t), free(dyt), free(dinp), free(dinp_t), free(only_t), free(ref), free(sc);
    }
}

Test(activation, nan_propagates_through_smooth_kinds, .init = open_cpu, .fini = close_cpu) {
    float x[3] = {NAN, 1.0f, -1.0f}, one[3] = {1, 1, 1}, out[3], d[3], dt[3];
    for (size_t k = 0; k < NKINDS; k++) {
        gb_activation act = {kinds[k], test_slope};
        gb_activation_forward(&dev, out, x, 3, &act);
        cr_expect(isnan(out[0]), "%s(NaN) = %g, want NaN", kind_names[k], (double)out[0]);
        if (kinds[k] == GB_ACT_IDENTITY || kinds[k] == GB_ACT_RELU || kinds[k] == GB_ACT_LEAKY_RELU)
            continue; /* derivative selects follow PyTorch (1 or slope at NaN) */
        gb_activation_backward(&dev, d, one, x, 3, &act);
        cr_expect(isnan(d[0]), "%s'(NaN) = %g, want NaN", kind_names[k], (double)d[0]);
        gb_activation_jvp_backward(&dev, d, dt, one, one, x, one, 3, &act);
        cr_expect(isnan(d[0]) && isnan(dt[0]), "%s jvp_backward at NaN: %g %g", kind_names[k],
                  (double)d[0], (double)dt[0]);
    }
}

/* ---- PyTorch ---- */

#define N_ACT 101

Test(activation, all_kinds_match_pytorch, .init = open_cpu, .fini = close_cpu) {
    float *x = load("act_inp", N_ACT), *t = load("act_tin", N_ACT);
    float *dy = load("act_dout", N_ACT), *dyt = load("act_dout_t", N_ACT);
    gc_seed_rng(0);
    for (size_t k = 0; k < NKINDS; k++) {
        act_outputs o = run_kernels(kinds[k], x, t, dy, dyt, N_ACT);
        static const char *const parts[] = {"out", "dinp", "jvp", "jvp_dinp", "jvp_dinp_t"};
        float *got[] = {o.out, o.dinp, o.jvp, o.jdinp, o.jdinp_t};
        double *ref = gc_dalloc(N_ACT), *sc = gc_dalloc(N_ACT);
        for (size_t p = 0; p < 5; p++) {
            char name[96];
            snprintf(name, sizeof name, "act_%s_%s", kind_names[k], parts[p]);
            float *want = load(name, N_ACT);
            /* tolerance 2 K_D u (our scale) + 4 u (PyTorch's absolute rounding in 1 - y*y,
             * (1 - y) y and 1 + erf, proportional to the operands), and below x = -80 the
             * values PyTorch flushes to 0 when exp(-x) overflows (tests/tolerances.md) */
            const double tw = 4.0 / (2 * K_D);
            for (size_t i = 0; i < N_ACT; i++) {
                act64 r = act_ref(kinds[k], x[i]);
                double a = fabs((double)x[i]), d = fabs(dy[i]), tt = fabs(t[i]);
                double td = fabs(t[i] * dyt[i]), dd = fabs(dyt[i]);
                ref[i] = want[i];
                switch (p) {
                case 0: sc[i] = r.sf + tw * (kinds[k] == GB_ACT_GELU ? a : 0); break;
                case 1: sc[i] = r.sd1 * d + tw * d; break;
                case 2: sc[i] = r.sd1 * tt + tw * tt; break;
                case 3: sc[i] = r.sd1 * d + r.sd2 * td + tw * (d + (1 + a) * td); break;
                default: sc[i] = r.sd1 * dd + tw * dd; break;
                }
                if (x[i] < -80) sc[i] += 1e-30 / (2 * K_D * U);
            }
            char label[128];
            snprintf(label, sizeof label, "%s vs PyTorch", name);
            expect_scaled(label, got[p], ref, sc, N_ACT, 2 * K_D);
            free(want);
        }
        free(ref), free(sc);
        free_outputs(&o);
    }
    free(x), free(t), free(dy), free(dyt);
}

/* ---- FiLM ---- */

typedef struct {
    size_t planes, spatial;
    const double *scale, *shift; /* NULL: 0 */
    int wrt;                     /* 0: inp, 1: scale, 2: shift (the FD variable) */
    const double *inp;
} film_ctx;

static void film64(void *vctx, const double *v, double *y) {
    film_ctx *c = vctx;
    const double *inp = c->wrt == 0 ? v : c->inp;
    const double *sc = c->wrt == 1 ? v : c->scale, *sh = c->wrt == 2 ? v : c->shift;
    for (size_t p = 0; p < c->planes; p++)
        for (size_t s = 0; s < c->spatial; s++)
            y[p * c->spatial + s] =
                inp[p * c->spatial + s] * (1 + (sc ? sc[p] : 0)) + (sh ? sh[p] : 0);
}

Test(film, backward_matches_central_differences_with_and_without_scale_shift, .init = open_cpu, .fini = close_cpu) {
    gb_norm_shape shape = {3, 5, 7, 0, 0.0f}; /* batch 3, channels 5, spatial 7 */
    size_t planes = 15, n = planes * 7;
    gc_seed_rng(501);
    float *x = gc_rand(n, -2, 2), *scale = gc_rand(planes, -1, 1), *shift = gc_rand(planes, -1, 1);
    float *dy = gc_rand(n, -1, 1), *out = gc_falloc(n), *dx = gc_falloc(n);
    float *dscale = gc_falloc(planes), *dshift = gc_falloc(planes);
    double *x64 = gc_to_double(x, n), *sc64 = gc_to_double(scale, planes);
    double *sh64 = gc_to_double(shift, planes), *dy64 = gc_to_double(dy, n);
    double *ref = gc_dalloc(n), *fd = gc_dalloc(n), *scl = gc_dalloc(n);
    for (int variant = 0; variant < 4; variant++) {
        int has_scale = variant & 1, has_shift = variant & 2;
        film_ctx ctx = {planes, 7, has_scale ? sc64 : NULL, has_shift ? sh64 : NULL, 0, x64};
        gb_film_forward(&dev, out, x, has_scale ? scale : NULL, has_shift ? shift : NULL, &shape);
        film64(&ctx, x64, ref);
        for (size_t i = 0; i < n; i++) /* (1 + scale) rounds, x * it rounds, + shift rounds */
            scl[i] = fabs(x[i] * (1 + (has_scale ? scale[i / 7] : 0))) * 2 + fabs(ref[i]);
        expect_scaled("film forward vs float64", out, ref, scl, n, 2);
        gb_film_backward(&dev, dx, dscale, dshift, dy, x, has_scale ? scale : NULL, &shape);
        gc_fd_vjp(film64, &ctx, x64, n, n, dy64, 1e-3, fd);
        for (size_t i = 0; i < n; i++) scl[i] = 2 * fabs(fd[i]) + 1e-9;
        expect_scaled("film dinp vs FD", dx, fd, scl, n, 2);
        /* the FD of a map linear in scale and shift is exact up to double rounding */
        ctx.wrt = 1;
        double *v = gc_to_double(scale, planes);
        gc_fd_vjp(film64, &ctx, v, planes, n, dy64, 1e-3, fd);
        for (size_t p = 0; p < planes; p++) {
            scl[p] = 1e-9;
            for (size_t s = 0; s < 7; s++) scl[p] += fabs(dy[p * 7 + s] * x[p * 7 + s]);
        }
        expect_scaled("film dscale vs FD", dscale, fd, scl, planes, 2);
        ctx.wrt = 2;
        gc_fd_vjp(film64, &ctx, v, planes, n, dy64, 1e-3, fd);
        for (size_t p = 0; p < planes; p++) {
            scl[p] = 1e-9;
            for (size_t s = 0; s < 7; s++) scl[p] += fabs(dy[p * 7 + s]);
        }
        expect_scaled("film dshift vs FD", dshift, fd, scl, planes, 2);
        free(v);
    }
    /* the gradient contract: all three overwrite (scale/shift come from an MLP) */
    float *dx2 = gc_falloc(n), *dsc2 = gc_falloc(planes), *dsh2 = gc_falloc(planes);
    gb_film_backward(&dev, dx2, dsc2, dsh2, dy, x, scale, &shape);
    gb_film_backward(&dev, dx2, dsc2, dsh2, dy, x, scale, &shape);
    gb_film_backward(&dev, dx, dscale, dshift, dy, x, scale, &shape);
    cr_expect_eq(memcmp(dx, dx2, n * sizeof *dx), 0, "film dinp changed on a second backward");
    cr_expect_eq(memcmp(dscale, dsc2, planes * sizeof *dscale), 0, "film dscale accumulated");
    cr_expect_eq(memcmp(dshift, dsh2, planes * sizeof *dshift), 0, "film dshift accumulated");
    /* in place: out == inp, dinp == dout */
    float *io = gc_falloc(n);
    memcpy(io, x, n * sizeof *io);
    gb_film_forward(&dev, io, io, scale, shift, &shape);
    gb_film_forward(&dev, out, x, scale, shift, &shape);
    cr_expect_eq(memcmp(io, out, n * sizeof *io), 0, "film forward in place differs");
    memcpy(io, dy, n * sizeof *io);
    gb_film_backward(&dev, io, dsc2, dsh2, io, x, scale, &shape);
    cr_expect_eq(memcmp(io, dx, n * sizeof *io), 0, "film backward in place: dinp differs");
    cr_expect_eq(memcmp(dsc2, dscale, planes * sizeof *dsc2), 0, "film backward in place: dscale differs");
    free(x), free(scale), free(shift), free(dy), free(out), free(dx), free(dscale), free(dshift);
    free(x64), free(sc64), free(sh64), free(dy64), free(ref), free(fd), free(scl), free(dx2),
        free(dsc2), free(dsh2), free(io);
}

Test(film, matches_pytorch, .init = open_cpu, .fini = close_cpu) {
    static const struct {
        const char *name;
        int b, c, s;
    } cases[] = {{"a", 2, 3, 5}, {"b", 1, 5, 7}};
    for (size_t k = 0; k < 2; k++) {
        size_t planes = (size_t)cases[k].b * cases[k].c, n = planes * cases[k].s;
        gb_norm_shape shape = {cases[k].b, cases[k].c, cases[k].s, 0, 0.0f};
        char nm[64];
#define LOAD(var, part, count) \
    snprintf(nm, sizeof nm, "film_%s_%s", cases[k].name, part); \
    float *var = load(nm, count);
        LOAD(x, "inp", n) LOAD(scale, "scale", planes) LOAD(shift, "shift", planes)
        LOAD(dy, "dout", n) LOAD(want_out, "out", n) LOAD(want_dx, "dinp", n)
        LOAD(want_dsc, "dscale", planes) LOAD(want_dsh, "dshift", planes)
#undef LOAD
        float *out = gc_falloc(n), *dx = gc_falloc(n), *dsc = gc_falloc(planes), *dsh = gc_falloc(planes);
        gb_film_forward(&dev, out, x, scale, shift, &shape);
        gb_film_backward(&dev, dx, dsc, dsh, dy, x, scale, &shape);
        /* forward and dinp round exactly as PyTorch's expression: bitwise */
        expect_bitwise("film out vs PyTorch", out, want_out, n);
        expect_bitwise("film dinp vs PyTorch", dx, want_dx, n);
        /* PyTorch sums the spatial axis in float: s roundings of the partial sums */
        double *ref = gc_dalloc(planes), *scl = gc_dalloc(planes);
        for (size_t p = 0; p < planes; p++) {
            ref[p] = want_dsc[p];
            scl[p] = 0;
            for (int s = 0; s < cases[k].s; s++) scl[p] += fabs(dy[p * cases[k].s + s] * x[p * cases[k].s + s]);
        }
        expect_scaled("film dscale vs PyTorch", dsc, ref, scl, planes, cases[k].s + 2);
        for (size_t p = 0; p < planes; p++) {
            ref[p] = want_dsh[p];
            scl[p] = 0;
            for (int s = 0; s < cases[k].s; s++) scl[p] += fabs(dy[p * cases[k].s + s]);
        }
        expect_scaled("film dshift vs PyTorch", dsh, ref, scl, planes, cases[k].s + 2);
        free(ref), free(scl), free(out), free(dx), free(dsc), free(dsh);
        free(x), free(scale), free(shift), free(dy), free(want_out), free(want_dx), free(want_dsc),
            free(want_dsh);
    }
}

/* ---- the same bits for any thread count: each op runs on devices with 1, 2 and 3 threads
 * (kernels/cpu/parallel.h slices; sizes give every thread count several slices) and the
 * outputs are compared bitwise with the 1-thread run. ---- */

enum { THREAD_RUNS = 3, PW_N = 100003, PW_OUTS = 52 };

/* Runs every parallelised pointwise op once on d; outs[k] receive the results. */
static void run_pointwise_ops(gb_device *d, float *const *in, float **outs) {
    int o = 0;
    gb_fill(d, outs[o++], -0.75f, PW_N);
    gb_add(d, outs[o++], in[0], in[1], PW_N);
    gb_mul(d, outs[o++], in[0], in[1], PW_N);
    memcpy(outs[o], in[2], PW_N * sizeof(float));
    gb_axpy(d, outs[o++], 0.3f, in[0], PW_N);
    gb_scale_by(d, outs[o++], -1.7f, in[1], PW_N);
    for (int kind = GB_ACT_IDENTITY; kind <= GB_ACT_GELU; kind++) {
        gb_activation act = {(gb_act_kind)kind, 0.2f};
        gb_activation_forward(d, outs[o++], in[0], PW_N, &act);
        gb_activation_backward(d, outs[o++], in[1], in[0], PW_N, &act);
        gb_activation_jvp(d, outs[o++], in[0], in[2], PW_N, &act);
        gb_activation_jvp_backward(d, outs[o], outs[o + 1], in[1], in[2], in[0], in[3], PW_N, &act);
        o += 2;
    }
    /* FiLM on 7 x 230 planes of 62 (PW_N would not split into planes; the first 99820 values) */
    gb_norm_shape fs = {.batch = 7, .channels = 230, .spatial = 62, .groups = 1};
    gb_film_forward(d, outs[o++], in[0], in[1], in[2], &fs);
    gb_film_backward(d, outs[o], outs[o + 1], outs[o + 2], in[3], in[0], in[1], &fs);
    o += 3;
    /* Adam on the whole range: params, m, v updated in place from copies */
    gb_adam_hparams hp = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f};
    memcpy(outs[o], in[0], PW_N * sizeof(float));
    memcpy(outs[o + 1], in[1], PW_N * sizeof(float));
    for (size_t i = 0; i < PW_N; i++) outs[o + 2][i] = fabsf(in[2][i]);
    gb_adam_update(d, outs[o], in[3], outs[o + 1], outs[o + 2], PW_N, &hp, 3);
    o += 3;
    cr_assert_leq(o, PW_OUTS, "run_pointwise_ops: %d outputs, room for %d", o, PW_OUTS);
}

Test(parallel, pointwise_bits_do_not_depend_on_the_thread_count) {
    gc_seed_rng(515);
    float *in[4];
    for (int i = 0; i < 4; i++) in[i] = gc_rand(PW_N, -6, 6);
    float *outs[THREAD_RUNS][PW_OUTS];
    for (int t = 0; t < THREAD_RUNS; t++) {
        gb_device d;
        cr_assert_eq(gb_device_open(&d, "cpu", t + 1), GB_OK, "gb_device_open(cpu, %d): %s", t + 1, gb_last_error());
        for (int k = 0; k < PW_OUTS; k++) {
            outs[t][k] = gc_falloc(PW_N);
            for (size_t i = 0; i < PW_N; i++) outs[t][k][i] = NAN;
        }
        run_pointwise_ops(&d, in, outs[t]);
        gb_device_close(&d);
    }
    for (int t = 1; t < THREAD_RUNS; t++)
        for (int k = 0; k < PW_OUTS; k++) {
            char label[96];
            snprintf(label, sizeof label, "output %d with %d threads vs 1", k, t + 1);
            expect_bitwise(label, outs[t][k], outs[0][k], PW_N);
        }
    for (int t = 0; t < THREAD_RUNS; t++)
        for (int k = 0; k < PW_OUTS; k++) free(outs[t][k]);
    for (int i = 0; i < 4; i++) free(in[i]);
}
