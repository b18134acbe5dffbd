/* tests/test_kernels_embed_coupling.c - the CPU time embeddings (Gaussian Fourier, sinusoidal)
 * and the RealNVP affine coupling against independent references.
 *
 * References: float64 transcriptions of the real functions (sin(2 pi t w),
 * sin(t 10000^(-k/(half-1))), x e^s + t), differentiated by central finite
 * differences (tests/gradcheck.h gc_fd_vjp); transcriptions of PyTorch's float32
 * argument rounding; PyTorch values from tests/peers/kernels_loss.py
 * ($GB_FIXTURES/kernels_loss/): both modules' formulas, a plain-torch coupling,
 * and torch.slogdet of the autograd Jacobian of a whole coupling layer.
 * Buffers are malloc'd (the CPU backend's memory is host memory). Tolerances are
 * derived in tests/tolerances.md; each check repeats its formula. The losses,
 * clip_grad_norm and schedules are in tests/test_kernels_loss.c.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "tests/fixture.h"
#include "tests/gradcheck.h"

#define U GC_U32
#define EPS64 2.220446049250313e-16

static gb_device dev;
static void open_cpu(void) {
    cr_assert_eq(gb_device_open(&dev, "cpu", 1), GB_OK, "gb_device_open(cpu): %s", gb_last_error());
}
static void close_cpu(void) { gb_device_close(&dev); }
TestSuite(embedding, .init = open_cpu, .fini = close_cpu);
TestSuite(coupling, .init = open_cpu, .fini = close_cpu);

static float *fx(const char *name, size_t n) {
    char rel[256];
    snprintf(rel, sizeof rel, "kernels_loss/%s.f32", name);
    return fixture_f32(rel, n);
}

/* |got[i] - ref[i]| <= tol[i]; logs the first misses with the seed, and the worst
 * diff/tol ratio with --verbose. */
static void expect_within(const char *label, const float *got, const double *ref, const double *tol,
                          size_t n) {
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - ref[i]);
        if (!(diff <= tol[i])) {
            if (bad < 5)
                cr_log_error("%s[%zu]: got %.9g, want %.9g (diff %.3g > tol %.3g), seed %llu", label, i,
                             (double)got[i], ref[i], diff, tol[i], (unsigned long long)gc_seed);
            bad++;
        }
        double r = diff / (tol[i] > 0 ? tol[i] : 1e-300);
        if (r > worst) worst = r;
    }
    cr_log_info("%s: worst diff/tol %.3g over %zu", label, worst, n);
    cr_expect_eq(bad, 0, "%s: %zu of %zu out of tolerance (worst diff/tol %.3g, seed %llu)", label, bad,
                 n, worst, (unsigned long long)gc_seed);
}

/* ==== Gaussian Fourier projection ====================================================== */

typedef struct {
    const float *w;
    size_t n, half;
} four_ctx;

/* the real function: out[i] = [sin(2 pi t_i w_k), cos(2 pi t_i w_k)] */
static void four64(void *c, const double *t, double *y) {
    const four_ctx *k = c;
    for (size_t i = 0; i < k->n; i++)
        for (size_t j = 0; j < k->half; j++) {
            double a = 2 * M_PI * t[i] * k->w[j];
            y[i * 2 * k->half + j] = sin(a);
            y[i * 2 * k->half + k->half + j] = cos(a);
        }
}

Test(embedding, fourier_uses_pytorch_float_argument) {
    /* W ~ 30 N(0,1) as in ScoreNet: the argument reaches hundreds */
    gc_seed_rng(1101);
    const size_t n = 7, half = 16;
    float *t = gc_rand(n, 1e-5f, 1), *w = gc_rand(half, -90, 90), *out = gc_falloc(n * 2 * half);
    t[0] = 1e-5f, t[n - 1] = 1.0f;
    gb_fourier_embedding_forward(&dev, out, t, w, n, half);
    double *ref = gc_dalloc(n * 2 * half), *tol = gc_dalloc(n * 2 * half);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < half; k++) {
            /* `x[:, None] * W[None, :] * 2 * np.pi`: three float32 products, pi as float */
            float a = t[i] * w[k];
            a = a * 2.0f;
            a = a * 3.14159274101257324f;
            ref[i * 2 * half + k] = sin(a);
            ref[i * 2 * half + half + k] = cos(a);
        }
    /* the same argument: only the final rounding of sin/cos in double */
    for (size_t i = 0; i < n * 2 * half; i++) tol[i] = U * fabs(ref[i]) + 1e-300;
    expect_within("fourier out (torch argument)", out, ref, tol, n * 2 * half);
    free(t), free(w), free(out), free(ref), free(tol);
}

Test(embedding, fourier_matches_real_function_and_fd) {
    gc_seed_rng(1102);
    const size_t shapes[][2] = {{1, 1}, {6, 8}, {3, 5}};
    for (int s = 0; s < 3; s++) {
        const size_t n = shapes[s][0], half = shapes[s][1], m = n * 2 * half;
        float *t = gc_rand(n, 0, 1), *w = gc_rand(half, -3, 3), *out = gc_falloc(m), *g = gc_rand(m, -1, 1);
        float *dt = gc_falloc(n);
        gb_fourier_embedding_forward(&dev, out, t, w, n, half);
        gb_fourier_embedding_backward(&dev, dt, g, t, w, n, half);
        four_ctx ctx = {w, n, half};
        double *td = gc_to_double(t, n), *ref = gc_dalloc(m), *tol = gc_dalloc(m);
        four64(&ctx, td, ref);
        /* float argument: t*w rounds (u), float(pi) is off by 0.47u, the product rounds
         * (u): |a_f - a| <= 2.5u|a|; then sin/cos round once */
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < half; k++) {
                const double a = fabs(2 * M_PI * t[i] * w[k]);
                tol[i * 2 * half + k] = tol[i * 2 * half + half + k] = 2.5 * U * a + U;
            }
        expect_within("fourier out (real function)", out, ref, tol, m);

        const double h = 1e-6;
        double *gd = gc_to_double(g, m), *fd = gc_dalloc(n), *dtol = gc_dalloc(n);
        gc_fd_vjp(four64, &ctx, td, n, m, gd, h, fd);
        double sumg = 0, wmax = 0;
        for (size_t j = 0; j < m; j++) sumg += fabs(g[j]);
        for (size_t k = 0; k < half; k++) wmax = fmax(wmax, fabs(w[k]));
        /* FD: rounding 4 eps64 sum|g y| / h, truncation h^2/6 (2 pi wmax)^3 sum|g| */
        const double fd_err = 4 * EPS64 * sumg / h + h * h / 6 * pow(2 * M_PI * wmax, 3) * sumg;
        for (size_t i = 0; i < n; i++) {
            double e = 0;
            for (size_t k = 0; k < half; k++) {
                const double a = fabs(2 * M_PI * t[i] * w[k]);
                e += 2 * M_PI * fabs(w[k]) * (fabs(g[i * 2 * half + k]) + fabs(g[i * 2 * half + half + k])) *
                     (2.5 * U * a);
            }
            dtol[i] = e + U * fabs(fd[i]) + fd_err; /* + one final rounding */
        }
        expect_within("fourier dt (fd)", dt, fd, dtol, n);
        free(t), free(w), free(out), free(g), free(dt), free(td), free(ref), free(tol), free(gd), free(fd);
        free(dtol);
    }
}

Test(embedding, fourier_matches_pytorch) {
    const struct { const char *c; size_t n, half; } cases[] = {{"a", 6, 8}, {"b", 1, 3}};
    for (int c = 0; c < 2; c++) {
        char name[64];
        const size_t n = cases[c].n, half = cases[c].half, m = n * 2 * half;
#define LOAD(var, what, cnt) snprintf(name, sizeof name, "four_%s_" what, cases[c].c); float *var = fx(name, cnt)
        LOAD(t, "t", n);
        LOAD(w, "w", half);
        LOAD(tout, "out", m);
        LOAD(g, "dout", m);
        LOAD(tdt, "dt", n);
#undef LOAD
        float *out = gc_falloc(m), *dt = gc_falloc(n);
        gb_fourier_embedding_forward(&dev, out, t, w, n, half);
        gb_fourier_embedding_backward(&dev, dt, g, t, w, n, half);
        /* the same float argument; torch's sin/cos <= 1 ulp, mine <= 0.5 ulp, ulp <= u below 1 */
        double *ref = gc_to_double(tout, m), *tol = gc_dalloc(m);
        for (size_t i = 0; i < m; i++) tol[i] = 2 * U;
        expect_within("fourier out vs torch", out, ref, tol, m);
        /* torch's dt: per term ~8 roundings of 2 pi |w| (|g_s| + |g_c|), then a float sum of
         * half terms (worst order) */
        double *rdt = gc_to_double(tdt, n), *dtol = gc_dalloc(n);
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (size_t k = 0; k < half; k++)
                s += 2 * M_PI * fabs(w[k]) * (fabs(g[i * 2 * half + k]) + fabs(g[i * 2 * half + half + k]));
            dtol[i] = (double)(half + 8) * U * s;
        }
        expect_within("fourier dt vs torch", dt, rdt, dtol, n);
        free(t), free(w), free(tout), free(g), free(tdt), free(out), free(dt), free(ref), free(tol), free(rdt);
        free(dtol);
    }
}

/* ==== sinusoidal position embedding ==================================================== */

/* lucidrains' frequency as torch computes it: exp(float(k) * float(-ln(1e4)/(half-1))) in
 * float32 (exp rounded once here) */
static float torch_freq(size_t k, size_t half) {
    const float neg = (float)(-(log(10000.0) / (double)(half - 1)));
    const float e = (float)k * neg;
    return (float)exp((double)e);
}

typedef struct {
    const double *f; /* frequencies */
    size_t n, half;
} sin_ctx;

static void sin64(void *c, const double *t, double *y) {
    const sin_ctx *k = c;
    for (size_t i = 0; i < k->n; i++)
        for (size_t j = 0; j < k->half; j++) {
            y[i * 2 * k->half + j] = sin(t[i] * k->f[j]);
            y[i * 2 * k->half + k->half + j] = cos(t[i] * k->f[j]);
        }
}

Test(embedding, sinusoidal_matches_real_function_and_fd) {
    gc_seed_rng(1201);
    const size_t dims[] = {4, 64, 10};
    const float steps[] = {0, 1, 7, 500, 999, 0.5f, 250.25f};
    for (int s = 0; s < 3; s++) {
        const size_t dim = dims[s], half = dim / 2, n = 7, m = n * dim;
        float *out = gc_falloc(m), *g = gc_rand(m, -1, 1), *dt = gc_falloc(n);
        gb_sinusoidal_embedding_forward(&dev, out, steps, n, dim);
        gb_sinusoidal_embedding_backward(&dev, dt, g, steps, n, dim);
        double *fexact = gc_dalloc(half), *ftorch = gc_dalloc(half);
        for (size_t k = 0; k < half; k++) {
            fexact[k] = pow(10000.0, -(double)k / (double)(half - 1));
            ftorch[k] = torch_freq(k, half);
        }
        double *td = gc_to_double(steps, n), *ref = gc_dalloc(m), *tol = gc_dalloc(m);
        sin_ctx exact = {fexact, n, half}, tf = {ftorch, n, half};
        /* against the real function: the float exponent k*neg is off by 2u|k neg| <= 18.5u
         * (|k neg| <= ln 1e4), exp rounds (u), t*f rounds (u): |a_f - a| <= 20.5u|a| */
        sin64(&exact, td, ref);
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < half; k++)
                tol[i * dim + k] = tol[i * dim + half + k] = 20.5 * U * fabs(td[i] * fexact[k]) + U;
        expect_within("sinusoidal out (real function)", out, ref, tol, m);
        /* against torch's float frequencies: only t*f rounds (u|a|), then sin/cos (u) */
        sin64(&tf, td, ref);
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < half; k++)
                tol[i * dim + k] = tol[i * dim + half + k] = U * fabs(td[i] * ftorch[k]) + U;
        expect_within("sinusoidal out (torch frequencies)", out, ref, tol, m);

        /* dt against FD of the double function with torch's frequencies */
        const double h = 1e-5;
        double *gd = gc_to_double(g, m), *fd = gc_dalloc(n), *dtol = gc_dalloc(n), sumg = 0;
        for (size_t j = 0; j < m; j++) sumg += fabs(g[j]);
        gc_fd_vjp(sin64, &tf, td, n, m, gd, h, fd);
        /* FD error: 4 eps64 sum|g| / h + h^2/6 sum|g| (f <= 1); the float argument moves
         * each term by f (|g_s| + |g_c|) u|a|; one final rounding */
        const double fd_err = 4 * EPS64 * sumg / h + h * h / 6 * sumg;
        for (size_t i = 0; i < n; i++) {
            double e = 0;
            for (size_t k = 0; k < half; k++)
                e += ftorch[k] * (fabs(g[i * dim + k]) + fabs(g[i * dim + half + k])) * U * fabs(td[i] * ftorch[k]);
            dtol[i] = e + U * fabs(fd[i]) + fd_err;
        }
        expect_within("sinusoidal dt (fd)", dt, fd, dtol, n);
        free(out), free(g), free(dt), free(fexact), free(ftorch), free(td), free(ref), free(tol), free(gd);
        free(fd), free(dtol);
    }
}

Test(embedding, sinusoidal_matches_pytorch) {
    const struct { const char *c; size_t n, dim; } cases[] = {{"a", 5, 64}, {"b", 3, 4}};
    for (int c = 0; c < 2; c++) {
        char name[64];
        const size_t n = cases[c].n, dim = cases[c].dim, half = dim / 2, m = n * dim;
#define LOAD(var, what, cnt) snprintf(name, sizeof name, "sin_%s_" what, cases[c].c); float *var = fx(name, cnt)
        LOAD(t, "t", n);
        LOAD(tout, "out", m);
        LOAD(g, "dout", m);
        LOAD(tdt, "dt", n);
#undef LOAD
        float *out = gc_falloc(m), *dt = gc_falloc(n);
        gb_sinusoidal_embedding_forward(&dev, out, t, n, dim);
        gb_sinusoidal_embedding_backward(&dev, dt, g, t, n, dim);
        /* torch's float exp may differ from the correctly rounded f by 1 ulp (2u|f|), then
         * t*f may round differently (2u|a|): |da| <= 4u|a|; sin/cos: 1.5 ulp <= 2u */
        double *ref = gc_to_double(tout, m), *tol = gc_dalloc(m), *rdt = gc_to_double(tdt, n), *dtol = gc_dalloc(n);
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (size_t k = 0; k < half; k++) {
                const double f = torch_freq(k, half), a = fabs((double)t[i] * f);
                tol[i * dim + k] = tol[i * dim + half + k] = 4 * U * a + 2 * U;
                /* dt terms: f (|g_s| + |g_c|) times (4u|a| + ~6 roundings); a float sum
                 * over half terms */
                s += f * (fabs(g[i * dim + k]) + fabs(g[i * dim + half + k])) *
                     (4 * U * a + (double)(half + 6) * U);
            }
            dtol[i] = s;
        }
        expect_within("sinusoidal out vs torch", out, ref, tol, m);
        expect_within("sinusoidal dt vs torch", dt, rdt, dtol, n);
        free(t), free(tout), free(g), free(tdt), free(out), free(dt), free(ref), free(tol), free(rdt), free(dtol);
    }
}

/* ==== RealNVP affine coupling ========================================================= */

/* b of element i of a [batch, C, H, W] tensor, written from kernels/shapes.h */
static int mask_b(const gb_coupling_shape *sh, size_t i) {
    const size_t W = (size_t)sh->width, H = (size_t)sh->height, C = (size_t)sh->channels;
    const size_t w = i % W, h = (i / W) % H, c = (i / (W * H)) % C;
    int b = sh->mask == GB_MASK_CHECKERBOARD ? (int)((h + w) % 2 == 0) : (int)(c < C / 2);
    return sh->invert_mask ? 1 - b : b;
}

static size_t numel(const gb_coupling_shape *sh) {
    return (size_t)sh->batch * (size_t)sh->channels * (size_t)sh->height * (size_t)sh->width;
}

typedef struct {
    const gb_coupling_shape *sh;
    const double *logdet0;
} cpl_ctx;

/* inputs [x, s, t] (3N) -> outputs [y (N), logdet (batch)] in double */
static void cpl64(void *c, const double *in, double *out) {
    const cpl_ctx *k = c;
    const size_t N = numel(k->sh), per = N / (size_t)k->sh->batch;
    const double *x = in, *s = in + N, *t = in + 2 * N;
    for (int n = 0; n < k->sh->batch; n++) out[N + (size_t)n] = k->logdet0[n];
    for (size_t i = 0; i < N; i++) {
        if (mask_b(k->sh, i)) {
            out[i] = x[i];
        } else {
            out[i] = x[i] * exp(s[i]) + t[i];
            out[N + i / per] += s[i];
        }
    }
}

static const gb_coupling_shape cpl_shapes[] = {
    {3, 3, 3, 5, GB_MASK_CHECKERBOARD, 0}, {3, 3, 3, 5, GB_MASK_CHECKERBOARD, 1},
    {3, 3, 3, 5, GB_MASK_CHANNEL, 0},      {3, 3, 3, 5, GB_MASK_CHANNEL, 1},
    {1, 4, 2, 2, GB_MASK_CHANNEL, 1},      {2, 1, 1, 1, GB_MASK_CHANNEL, 0},
    {2, 1, 1, 1, GB_MASK_CHECKERBOARD, 1}, {1, 2, 4, 1, GB_MASK_CHECKERBOARD, 0},
};
enum { CPL_SHAPES = sizeof cpl_shapes / sizeof cpl_shapes[0] };

Test(coupling, forward_inverse_match_float64_and_round_trip) {
    gc_seed_rng(1301);
    for (int c = 0; c < CPL_SHAPES; c++) {
        const gb_coupling_shape *sh = &cpl_shapes[c];
        const size_t N = numel(sh), B = (size_t)sh->batch;
        float *x = gc_rand(N, -3, 3), *s = gc_rand(N, -2, 2), *t = gc_rand(N, -2, 2);
        float *ld = gc_rand(B, -5, 5), *ld0 = malloc(B * sizeof *ld0), *y = gc_falloc(N), *xb = gc_falloc(N);
        memcpy(ld0, ld, B * sizeof *ld);
        gb_coupling_forward(&dev, y, ld, x, s, t, sh);
        gb_coupling_inverse(&dev, xb, y, s, t, sh);
        double *in = gc_dalloc(3 * N), *ref = gc_dalloc(N + B), *l0 = gc_to_double(ld0, B), *tol = gc_dalloc(N + B);
        for (size_t i = 0; i < N; i++) in[i] = x[i], in[N + i] = s[i], in[2 * N + i] = t[i];
        cpl_ctx ctx = {sh, l0};
        cpl64(&ctx, in, ref);
        for (size_t i = 0; i < N; i++) tol[i] = U * fabs(ref[i]) + 1e-300; /* one rounding */
        for (size_t n = 0; n < B; n++) {
            double sabs = 0;
            for (size_t i = n * (N / B); i < (n + 1) * (N / B); i++) sabs += fabs(s[i]);
            tol[N + n] = U * fabs(ref[N + n]) + 4 * EPS64 * (sabs + fabs(l0[n])); /* double sum, one rounding */
        }
        expect_within("coupling y", y, ref, tol, N);
        expect_within("coupling logdet (accumulated)", ld, ref + N, tol + N, B);
        /* round trip: y rounds (u|y|, scaled by e^-s on the way back), x rounds (u|x|) */
        double *xd = gc_to_double(x, N);
        for (size_t i = 0; i < N; i++)
            tol[i] = mask_b(sh, i) ? 0 : 1.01 * U * (fabs(y[i]) * exp(-s[i]) + fabs(x[i]));
        expect_within("coupling round trip x", xb, xd, tol, N);
        /* the inverse of the float y, exactly */
        for (size_t i = 0; i < N; i++) {
            ref[i] = mask_b(sh, i) ? y[i] : ((double)y[i] - t[i]) * exp(-(double)s[i]);
            tol[i] = U * fabs(ref[i]) + 1e-300;
        }
        expect_within("coupling inverse", xb, ref, tol, N);
        free(x), free(s), free(t), free(ld), free(ld0), free(y), free(xb), free(in), free(ref), free(l0), free(tol);
        free(xd);
    }
}

Test(coupling, masked_positions_never_read_s_or_t) {
    /* NaN in s and t where b = 1: the contract says their values there are ignored */
    gc_seed_rng(1302);
    for (int c = 0; c < CPL_SHAPES; c++) {
        const gb_coupling_shape *sh = &cpl_shapes[c];
        const size_t N = numel(sh), B = (size_t)sh->batch;
        float *x = gc_rand(N, -3, 3), *s = gc_rand(N, -2, 2), *t = gc_rand(N, -2, 2), *dy = gc_rand(N, -1, 1);
        for (size_t i = 0; i < N; i++)
            if (mask_b(sh, i)) s[i] = t[i] = NAN;
        float *y = gc_falloc(N), *xb = gc_falloc(N), *ld = gc_falloc(B), *dl = gc_rand(B, -1, 1);
        float *dx = gc_falloc(N), *ds = gc_falloc(N), *dt = gc_falloc(N);
        gb_coupling_forward(&dev, y, ld, x, s, t, sh);
        gb_coupling_inverse(&dev, xb, y, s, t, sh);
        gb_coupling_backward(&dev, dx, ds, dt, dy, dl, x, s, sh);
        for (size_t i = 0; i < N; i++) {
            if (mask_b(sh, i)) {
                cr_expect(y[i] == x[i] && xb[i] == y[i] && dx[i] == dy[i] && ds[i] == 0 && dt[i] == 0,
                          "shape %d element %zu (b = 1): passed through, zero ds/dt", c, i);
            } else {
                cr_expect(isfinite(y[i]) && isfinite(xb[i]) && isfinite(dx[i]) && isfinite(ds[i]),
                          "shape %d element %zu (b = 0): finite", c, i);
            }
        }
        for (size_t n = 0; n < B; n++) cr_expect(isfinite(ld[n]), "shape %d logdet[%zu] finite", c, n);
        free(x), free(s), free(t), free(dy), free(y), free(xb), free(ld), free(dl), free(dx), free(ds), free(dt);
    }
}

Test(coupling, backward_matches_fd) {
    gc_seed_rng(1303);
    for (int c = 0; c < CPL_SHAPES; c++)
        for (int with_dl = 0; with_dl < 2; with_dl++) {
            const gb_coupling_shape *sh = &cpl_shapes[c];
            const size_t N = numel(sh), B = (size_t)sh->batch;
            float *x = gc_rand(N, -3, 3), *s = gc_rand(N, -2, 2), *t = gc_rand(N, -2, 2);
            float *dy = gc_rand(N, -1, 1), *dl = gc_rand(B, -1, 1);
            float *d = gc_falloc(3 * N);
            gb_coupling_backward(&dev, d, d + N, d + 2 * N, dy, with_dl ? dl : NULL, x, s, sh);
            double *in = gc_dalloc(3 * N), *up = gc_dalloc(N + B), *l0 = gc_dalloc(B), *fd = gc_dalloc(3 * N);
            double *tol = gc_dalloc(3 * N), L = 0;
            for (size_t i = 0; i < N; i++) in[i] = x[i], in[N + i] = s[i], in[2 * N + i] = t[i], up[i] = dy[i];
            for (size_t n = 0; n < B; n++) up[N + n] = with_dl ? dl[n] : 0;
            cpl_ctx ctx = {sh, l0};
            const double h = 1e-5;
            gc_fd_vjp(cpl64, &ctx, in, 3 * N, N + B, up, h, fd);
            /* FD error: rounding 4 eps64 L / h with L = sum |dy y| + |dlogdet logdet|, and
             * truncation h^2/6 |d^3 y/ds^3| |dy| = h^2/6 |x| e^s |dy| (<= 1e-9 here) */
            for (size_t i = 0; i < N; i++) L += fabs(dy[i]) * (fabs(x[i]) * exp(2.0) + 2);
            for (size_t n = 0; n < B; n++) L += fabs(up[N + n]) * 2.0 * (double)(N / B);
            const double fd_err = 4 * EPS64 * L / h + h * h / 6 * 3 * exp(2.0);
            for (size_t i = 0; i < 3 * N; i++) tol[i] = U * fabs(fd[i]) + fd_err;
            expect_within("coupling dx", d, fd, tol, N);
            expect_within("coupling ds", d + N, fd + N, tol + N, N);
            expect_within("coupling dt", d + 2 * N, fd + 2 * N, tol + 2 * N, N);
            /* a NULL gradient is skipped, the others unchanged */
            float *d2 = malloc(3 * N * sizeof *d2);
            for (size_t i = 0; i < 3 * N; i++) d2[i] = 7.0f;
            gb_coupling_backward(&dev, NULL, d2 + N, NULL, dy, with_dl ? dl : NULL, x, s, sh);
            cr_expect(memcmp(d2 + N, d + N, N * sizeof *d) == 0, "ds alone equals ds with dx and dt");
            for (size_t i = 0; i < N; i++) cr_expect(d2[i] == 7.0f && d2[2 * N + i] == 7.0f, "NULL dx/dt written");
            free(x), free(s), free(t), free(dy), free(dl), free(d), free(in), free(up), free(l0), free(fd), free(tol);
            free(d2);
        }
}

Test(coupling, matches_plain_torch_coupling) {
    const struct { const char *c; gb_mask_kind mask; int inv; } cases[] = {
        {"cb0", GB_MASK_CHECKERBOARD, 0}, {"cb1", GB_MASK_CHECKERBOARD, 1},
        {"ch0", GB_MASK_CHANNEL, 0},      {"ch1", GB_MASK_CHANNEL, 1}};
    for (int c = 0; c < 4; c++) {
        const gb_coupling_shape sh = {3, 3, 3, 5, cases[c].mask, cases[c].inv};
        const size_t N = numel(&sh), B = 3, per = N / B;
        char name[64];
#define LOAD(var, what, cnt) snprintf(name, sizeof name, "cpl_%s_" what, cases[c].c); float *var = fx(name, cnt)
        LOAD(x, "x", N);
        LOAD(s, "s", N);
        LOAD(t, "t", N);
        LOAD(ld, "logdet0", B);
        LOAD(dy, "dy", N);
        LOAD(dl, "dlogdet", B);
        LOAD(ty, "y", N);
        LOAD(tld, "logdet", B);
        LOAD(tdx, "dx", N);
        LOAD(tds, "ds", N);
        LOAD(tdt, "dt", N);
        LOAD(txi, "xinv", N);
#undef LOAD
        float *y = gc_falloc(N), *xi = gc_falloc(N), *dx = gc_falloc(N), *ds = gc_falloc(N), *dt = gc_falloc(N);
        const float ld0[3] = {ld[0], ld[1], ld[2]};
        gb_coupling_forward(&dev, y, ld, x, s, t, &sh);
        gb_coupling_inverse(&dev, xi, ty, s, t, &sh);
        gb_coupling_backward(&dev, dx, ds, dt, dy, dl, x, s, &sh);
        double *tol = gc_dalloc(N), *ref = gc_dalloc(N), ltol[3], lref[3];
        /* y: torch exp (1 ulp), mul, add: 3u|x e^s| + u|y|; mine u|y| */
        for (size_t i = 0; i < N; i++) ref[i] = ty[i], tol[i] = 3 * U * fabs(x[i] * exp(s[i])) + 2 * U * fabs(ty[i]) + 1e-300;
        expect_within("coupling y vs torch", y, ref, tol, N);
        /* logdet: torch float sum of per (masked) terms plus logdet0, worst order */
        for (size_t n = 0; n < B; n++) {
            double sabs = fabs(ld0[n]);
            for (size_t i = n * per; i < (n + 1) * per; i++) sabs += fabs(s[i]);
            lref[n] = tld[n];
            ltol[n] = (double)(per + 2) * U * sabs;
        }
        expect_within("coupling logdet vs torch", ld, lref, ltol, B);
        /* inverse of torch's y: (y - t) rounds (u), exp(-s) (1 ulp), the product: 4u; mine u */
        for (size_t i = 0; i < N; i++) ref[i] = txi[i], tol[i] = 5 * U * fabs(ref[i]) + 1e-300;
        expect_within("coupling inverse vs torch", xi, ref, tol, N);
        /* dx: (dy (1-b)) e^s: 3u; ds: dy x e^s (4u) + dlogdet: plus one rounding each; dt exact */
        for (size_t i = 0; i < N; i++) ref[i] = tdx[i], tol[i] = 4 * U * fabs(ref[i]) + 1e-300;
        expect_within("coupling dx vs torch", dx, ref, tol, N);
        for (size_t i = 0; i < N; i++) {
            const double v = (double)dy[i] * x[i] * exp(s[i]);
            ref[i] = tds[i];
            tol[i] = 5 * U * fabs(v) + 2 * U * fabs(ref[i]) + 1e-300;
        }
        expect_within("coupling ds vs torch", ds, ref, tol, N);
        /* (1-b)*dy is exact (torch's b = 1 zeros carry dy's sign: compare values, not bits) */
        for (size_t i = 0; i < N; i++) cr_expect(dt[i] == tdt[i], "coupling dt vs torch [%zu]: %g vs %g", i, dt[i], tdt[i]);
        free(x), free(s), free(t), free(ld), free(dy), free(dl), free(ty), free(tld), free(tdx), free(tds);
        free(tdt), free(txi), free(y), free(xi), free(dx), free(ds), free(dt), free(tol), free(ref);
    }
}

Test(coupling, logdet_is_slogdet_of_the_layer_jacobian) {
    /* a whole layer, s and t from a tiny network of b*x, differentiated by torch autograd */
    const struct { const char *c; gb_mask_kind mask; } cases[] = {{"cb", GB_MASK_CHECKERBOARD},
                                                                  {"ch", GB_MASK_CHANNEL}};
    for (int c = 0; c < 2; c++) {
        const gb_coupling_shape sh = {1, 2, 2, 2, cases[c].mask, 0};
        const size_t N = 8;
        char name[64];
#define LOAD(var, what, cnt) snprintf(name, sizeof name, "jac_%s_" what, cases[c].c); float *var = fx(name, cnt)
        LOAD(x, "x", N);
        LOAD(s, "s", N);
        LOAD(t, "t", N);
        LOAD(ty, "y", N);
        LOAD(tld, "logdet", 1);
#undef LOAD
        float ld = 0, *y = gc_falloc(N), *xb = gc_falloc(N);
        gb_coupling_forward(&dev, y, &ld, x, s, t, &sh);
        gb_coupling_inverse(&dev, xb, y, s, t, &sh);
        /* s was rounded to float from float64 (u|s| each); the double sum rounds once;
         * slogdet's LU of an 8x8 triangular-after-permutation matrix: ~1e-15 */
        double stol = 0;
        for (size_t i = 0; i < N; i++) stol += U * fabs(s[i]);
        double lref = tld[0], ltol = stol + U * fabs(lref) + 1e-14;
        expect_within("logdet vs slogdet", &ld, &lref, &ltol, 1);
        /* y vs the float64 layer: s and t rounded to float (u|x e^s||s|, u|t|), y rounds */
        double ref[8], tol[8];
        for (size_t i = 0; i < N; i++) {
            ref[i] = ty[i];
            tol[i] = U * (fabs(x[i] * exp(s[i])) * (fabs(s[i]) + 1) + fabs(t[i]) + 2 * fabs(ref[i])) + 1e-300;
        }
        expect_within("y vs float64 layer", y, ref, tol, N);
        for (size_t i = 0; i < N; i++) ref[i] = x[i], tol[i] = 1.01 * U * (fabs(y[i]) * exp(-s[i]) + fabs(x[i]));
        expect_within("round trip", xb, ref, tol, N);
        free(x), free(s), free(t), free(ty), free(tld), free(y), free(xb);
    }
}
