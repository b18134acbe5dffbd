/* tests/test_kernels_attention.c - the CPU attention kernels (kernels/cpu/attention.c,
 * kernels/cpu/linear_attention.c) through the backend table.
 *
 * References:
 *   - PyTorch 1.13: tests/peers/kernels_attention.py transcribes lucidrains'
 *     Attention and LinearAttention (denoising-diffusion-pytorch, 2022) minus
 *     to_qkv / to_out, and writes forward values and autograd gradients into
 *     $GB_FIXTURES/kernels_attention/ (odd sizes, batch 1 and 2, dim_head 5 and
 *     3, one position, the U-Net's 4 x 32 heads at 4x4 and 8x8, and the softmax
 *     attention without the L2 normalisation);
 *   - a float64 transcription of each forward written here, differentiated by
 *     central finite differences with Richardson extrapolation (the difference
 *     between steps h and 2h bounds the truncation error, so the FD reference
 *     carries its own error estimate);
 *   - an analytic float64 backward, run once on absolute values ("mag": every
 *     product and sum of absolute values, subtractions turned into additions),
 *     which is what the float rounding errors scale with.
 * Buffers: every output starts as NaN; the saved buffer is exactly
 * gb_*_saved_floats floats followed by guard values that must survive.
 * Tolerances and their derivation: tests/tolerances.md, section "pooling,
 * layout, softmax, attention".
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
#define EPS64 2.220446049250313e-16
#define FD_H 1e-4
#define GUARD 64
#define GUARD_VALUE 12345.0f

static gb_device dev;

static void open_cpu(void) {
    cr_assert_eq(gb_device_open(&dev, "cpu", 1), GB_OK, "gb_device_open(cpu): %s", gb_last_error());
    gc_seed_rng(20240613);
}
static void close_cpu(void) { gb_device_close(&dev); }

TestSuite(attention, .init = open_cpu, .fini = close_cpu);

typedef struct {
    const char *name;
    int batch, heads, dim_head, positions;
    double scale;
    int l2;     /* softmax attention: L2-normalise q and k */
    int linear; /* linear attention */
} att_case;

/* the case tables of tests/peers/kernels_attention.py */
static const att_case cases[] = {
    {"odd", 2, 2, 5, 7, 10.0, 1, 0},
    {"mid", 1, 4, 32, 16, 10.0, 1, 0},
    {"plain", 1, 3, 4, 12, 0.5, 0, 0},
    {"odd", 2, 2, 5, 7, 0.4472135954999579, 0, 1}, /* 5^-0.5 */
    {"unet", 1, 4, 32, 64, 0.17677669529663687, 0, 1}, /* 32^-0.5 */
    {"one", 1, 1, 3, 1, 0.5773502691896258, 0, 1}, /* 3^-0.5 */
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static gb_attention_shape to_shape(const att_case *c) {
    return (gb_attention_shape){c->batch, c->heads, c->dim_head, c->positions, (float)c->scale, c->l2};
}
static size_t n_qkv(const att_case *c) { return (size_t)c->batch * 3 * c->heads * c->dim_head * c->positions; }
static size_t n_out(const att_case *c) { return (size_t)c->batch * c->heads * c->dim_head * c->positions; }
static size_t n_saved(const att_case *c) {
    gb_attention_shape s = to_shape(c);
    return c->linear ? gb_linear_attention_saved_floats(&s) : gb_attention_saved_floats(&s);
}

static float *nanbuf(size_t n) {
    float *a = gc_falloc(n + GUARD);
    for (size_t i = 0; i < n; i++) a[i] = NAN;
    for (size_t i = n; i < n + GUARD; i++) a[i] = GUARD_VALUE;
    return a;
}
static void expect_guard(const char *label, const float *a, size_t n) {
    for (size_t i = n; i < n + GUARD; i++)
        cr_expect_eq(a[i], GUARD_VALUE, "%s: guard value %zu past the end was overwritten", label, i - n);
}

static float *fx(size_t n, const char *fmt, ...) {
    char name[256], rel[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    snprintf(rel, sizeof rel, "kernels_attention/%s.f32", name);
    return fixture_f32(rel, n);
}

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

/* ======================= float64 transcriptions ======================= */

/* One head's [D, N] blocks inside qkv / out / dqkv. */
#define QBLK(base, c, b, h) ((base) + ((size_t)(b) * 3 * (c)->heads + (size_t)(h)) * (c)->dim_head * (c)->positions)
#define OBLK(base, c, b, h) ((base) + ((size_t)(b) * (c)->heads + (size_t)(h)) * (c)->dim_head * (c)->positions)

/* row softmax (or column softmax with stride) of n values, in double */
static void softmax64(double *p, const double *x, size_t n, size_t stride) {
    double m = -INFINITY, s = 0;
    for (size_t j = 0; j < n; j++) m = fmax(m, x[j * stride]);
    for (size_t j = 0; j < n; j++) s += exp(x[j * stride] - m);
    for (size_t j = 0; j < n; j++) p[j * stride] = exp(x[j * stride] - m) / s;
}

/* Everything forward computes for one head, in double, plus the forward error
 * terms the tolerances need. absmode replaces inputs by absolute values (the
 * softmaxes and norms stay those of the real inputs: they are positive already). */
typedef struct {
    int D, N;
    double *qn, *kn, *den_q, *den_k, *sim, *attn; /* softmax attention */
    double *pq, *pk, *ctx;                        /* linear attention */
    double *out;
    double emax; /* softmax attention: max |error of float sim| (see tolerances.md) */
} head64;

static void head_alloc(head64 *w, int D, int N) {
    w->D = D, w->N = N;
    size_t dn = (size_t)D * N;
    w->qn = gc_dalloc(dn), w->kn = gc_dalloc(dn), w->den_q = gc_dalloc(D), w->den_k = gc_dalloc(D);
    w->sim = gc_dalloc((size_t)N * N), w->attn = gc_dalloc((size_t)N * N);
    w->pq = gc_dalloc(dn), w->pk = gc_dalloc(dn), w->ctx = gc_dalloc((size_t)D * D), w->out = gc_dalloc(dn);
}
static void head_free(head64 *w) {
    free(w->qn), free(w->kn), free(w->den_q), free(w->den_k), free(w->sim), free(w->attn);
    free(w->pq), free(w->pk), free(w->ctx), free(w->out);
}

/* F.normalize(t, dim=-1) on 'b h c (x y)': each of the D rows over N positions */
static void l2rows64(double *y, double *den, const double *x, int D, int N) {
    for (int d = 0; d < D; d++) {
        double s = 0;
        for (int j = 0; j < N; j++) s += x[d * N + j] * x[d * N + j];
        den[d] = fmax(sqrt(s), 1e-12);
        for (int j = 0; j < N; j++) y[d * N + j] = x[d * N + j] / den[d];
    }
}

static void head_forward(const att_case *c, head64 *w, const double *q, const double *k, const double *v,
                         int absmode) {
    const int D = c->dim_head, N = c->positions;
    const double sc = c->scale;
    if (!c->linear) {
        if (c->l2) {
            l2rows64(w->qn, w->den_q, q, D, N);
            l2rows64(w->kn, w->den_k, k, D, N);
        } else {
            memcpy(w->qn, q, sizeof(double) * D * N);
            memcpy(w->kn, k, sizeof(double) * D * N);
        }
        w->emax = 0;
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++) {
                double s = 0, m = 0;
                for (int d = 0; d < D; d++) {
                    s += w->qn[d * N + i] * w->kn[d * N + j];
                    m += fabs(w->qn[d * N + i] * w->kn[d * N + j]);
                }
                w->sim[i * N + j] = sc * s;
                /* float sim: qn, kn rounded (2u), a D-term sgemm ((D+1)u), times scale (u) */
                w->emax = fmax(w->emax, sc * (D + 3) * U * m + U * fabs(sc * s));
            }
            softmax64(w->attn + (size_t)i * N, w->sim + (size_t)i * N, N, 1);
        }
        for (int d = 0; d < D; d++)
            for (int i = 0; i < N; i++) {
                double s = 0;
                for (int j = 0; j < N; j++) s += (absmode ? fabs(v[d * N + j]) : v[d * N + j]) * w->attn[i * N + j];
                w->out[d * N + i] = s;
            }
        return;
    }
    for (int n = 0; n < N; n++) softmax64(w->pq + n, q + n, D, N);
    for (int d = 0; d < D; d++) softmax64(w->pk + (size_t)d * N, k + (size_t)d * N, N, 1);
    for (int d = 0; d < D; d++)
        for (int e = 0; e < D; e++) {
            double s = 0;
            for (int n = 0; n < N; n++) s += w->pk[d * N + n] * (absmode ? fabs(v[e * N + n]) : v[e * N + n]) / N;
            w->ctx[d * D + e] = s;
        }
    for (int e = 0; e < D; e++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int d = 0; d < D; d++) s += w->ctx[d * D + e] * sc * w->pq[d * N + n];
            w->out[e * N + n] = s;
        }
}

/* the whole op: out = f(qkv) */
static void forward64(const att_case *c, const double *qkv, double *out) {
    head64 w;
    head_alloc(&w, c->dim_head, c->positions);
    size_t dn = (size_t)c->dim_head * c->positions, chunk = (size_t)c->heads * dn;
    for (int b = 0; b < c->batch; b++)
        for (int h = 0; h < c->heads; h++) {
            const double *q = QBLK(qkv, c, b, h);
            head_forward(c, &w, q, q + chunk, q + 2 * chunk, 0);
            memcpy(OBLK(out, c, b, h), w.out, sizeof(double) * dn);
        }
    head_free(&w);
}

/* Analytic backward of one head (the formulas in the kernels' headers, here in
 * double); absmode gives the magnitudes: |.| everywhere, a - b -> |a| + |b|. */
static void head_backward(const att_case *c, const head64 *w, const double *q, const double *k,
                          const double *v, const double *g, double *dq, double *dk, double *dv, int absmode) {
    const int D = c->dim_head, N = c->positions;
    const double sc = c->scale;
    (void)q, (void)k; /* everything needed is in w (normalised q/k, softmaxes) */
#define A(x) (absmode ? fabs(x) : (x))
#define SUB(a, b) (absmode ? fabs(a) + fabs(b) : (a) - (b))
    if (!c->linear) {
        double *ds = gc_dalloc((size_t)N * N);
        for (int d = 0; d < D; d++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int i = 0; i < N; i++) s += A(g[d * N + i]) * w->attn[i * N + j];
                dv[d * N + j] = s;
            }
        for (int i = 0; i < N; i++) {
            double dot = 0;
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int d = 0; d < D; d++) s += A(g[d * N + i]) * A(v[d * N + j]);
                ds[i * N + j] = s;
                dot += w->attn[i * N + j] * s;
            }
            for (int j = 0; j < N; j++) ds[i * N + j] = w->attn[i * N + j] * SUB(ds[i * N + j], dot);
        }
        for (int d = 0; d < D; d++)
            for (int i = 0; i < N; i++) {
                double sq = 0, sk = 0;
                for (int j = 0; j < N; j++) {
                    sq += sc * A(w->kn[d * N + j]) * ds[i * N + j];
                    sk += sc * A(w->qn[d * N + j]) * ds[j * N + i];
                }
                dq[d * N + i] = sq, dk[d * N + i] = sk;
            }
        if (c->l2) {
            /* d(x/|x|) = (g - y <y, g>) / |x| (norm >= eps: true for random data) */
            for (int pass = 0; pass < 2; pass++) {
                double *gr = pass ? dk : dq;
                const double *y = pass ? w->kn : w->qn, *den = pass ? w->den_k : w->den_q;
                for (int d = 0; d < D; d++) {
                    double dot = 0;
                    for (int j = 0; j < N; j++) dot += A(y[d * N + j]) * gr[d * N + j];
                    for (int j = 0; j < N; j++)
                        gr[d * N + j] = SUB(gr[d * N + j], A(y[d * N + j]) * dot) / den[d];
                }
            }
        }
        free(ds);
        return;
    }
    double *dctx = gc_dalloc((size_t)D * D);
    for (int d = 0; d < D; d++)
        for (int e = 0; e < D; e++) {
            double s = 0;
            for (int n = 0; n < N; n++) s += sc * w->pq[d * N + n] * A(g[e * N + n]);
            dctx[d * D + e] = s;
        }
    for (int d = 0; d < D; d++)
        for (int n = 0; n < N; n++) {
            double sq = 0, sk = 0;
            for (int e = 0; e < D; e++) {
                sq += sc * A(w->ctx[d * D + e]) * A(g[e * N + n]);
                sk += dctx[d * D + e] * A(v[e * N + n]) / N;
            }
            dq[d * N + n] = sq, dk[d * N + n] = sk;
        }
    for (int e = 0; e < D; e++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int d = 0; d < D; d++) s += dctx[d * D + e] * w->pk[d * N + n] / N;
            dv[e * N + n] = s;
        }
    for (int n = 0; n < N; n++) { /* column softmax backward */
        double dot = 0;
        for (int d = 0; d < D; d++) dot += w->pq[d * N + n] * dq[d * N + n];
        for (int d = 0; d < D; d++) dq[d * N + n] = w->pq[d * N + n] * SUB(dq[d * N + n], dot);
    }
    for (int d = 0; d < D; d++) { /* row softmax backward */
        double dot = 0;
        for (int n = 0; n < N; n++) dot += w->pk[d * N + n] * dk[d * N + n];
        for (int n = 0; n < N; n++) dk[d * N + n] = w->pk[d * N + n] * SUB(dk[d * N + n], dot);
    }
    free(dctx);
#undef A
#undef SUB
}

/* The exact analytic backward (absmode 0) or the magnitudes (1) of the whole op,
 * with the forward magnitudes (|v| through the same weights) and the largest
 * sim error over all heads. */
static void backward64(const att_case *c, const double *qkv, const double *g, int absmode, double *dqkv,
                       double *out_mag, double *emax) {
    head64 w;
    head_alloc(&w, c->dim_head, c->positions);
    size_t dn = (size_t)c->dim_head * c->positions, chunk = (size_t)c->heads * dn;
    *emax = 0;
    for (int b = 0; b < c->batch; b++)
        for (int h = 0; h < c->heads; h++) {
            const double *q = QBLK(qkv, c, b, h);
            double *dq = QBLK(dqkv, c, b, h);
            head_forward(c, &w, q, q + chunk, q + 2 * chunk, absmode);
            if (out_mag) memcpy(OBLK(out_mag, c, b, h), w.out, sizeof(double) * dn);
            if (!c->linear) *emax = fmax(*emax, w.emax);
            head_backward(c, &w, q, q + chunk, q + 2 * chunk, OBLK(g, c, b, h), dq, dq + chunk, dq + 2 * chunk,
                          absmode);
        }
    head_free(&w);
}

/* Float rounding bounds (first order, tests/tolerances.md):
 *   softmax attention: sim errs by at most emax absolute, so attn by 2 emax + 2u
 *     relative (the softmax rounds twice); out adds an N-term sgemm:
 *     ((N+3)u + 2 emax) * mag; gradients chain two more products (D and N
 *     terms), the softmax backward (attn twice) and the normalisation:
 *     (N + D + 12)u + 4 emax, times mag;
 *   linear attention: pq, pk round twice; ctx is an N-term product with alpha
 *     float(1/N); out a D-term one with alpha scale: (N + D + 8)u;
 *     gradients (2(N + D) + 16)u. */
static double k_out(const att_case *c, double emax) {
    return c->linear ? (c->positions + c->dim_head + 8) * U : (c->positions + 3) * U + 2 * emax;
}
static double k_grad(const att_case *c, double emax) {
    return c->linear ? (2.0 * (c->positions + c->dim_head) + 16) * U
                     : (c->positions + c->dim_head + 12) * U + 4 * emax;
}

/* Richardson-extrapolated central differences: ref = (4 D(h) - D(2h)) / 3, whose
 * error is O(h^4); |D(h) - D(2h)| (3x D(h)'s own h^2 error) bounds it amply.
 * Rounding: eps64 * sum|dy_j y_j| / h per difference (outputs differenced one by
 * one), allowed 8 times for the 4/3 and 1/3 weights and the 2h step.
 * An input only moves its own head's output, so each head is differentiated on
 * its own; the large cases sample every `stride`-th input (ref/err stay NaN
 * elsewhere, where the caller skips them) so the suite stays fast. */
static size_t fd_richardson(const att_case *c, const double *x, const double *dy, double *ref, double *err) {
    const int D = c->dim_head, N = c->positions;
    const size_t dn = (size_t)D * N, chunk = (size_t)c->heads * dn, nq = n_qkv(c);
    const size_t stride = nq > 3000 ? 13 : 1; /* 13: coprime to every block size here */
    for (size_t i = 0; i < nq; i++) ref[i] = err[i] = NAN;
    double *loc = gc_dalloc(3 * dn), *yp = gc_dalloc(dn), *ym = gc_dalloc(dn);
    head64 w;
    head_alloc(&w, D, N);
    size_t checked = 0;
    for (int b = 0; b < c->batch; b++)
        for (int h = 0; h < c->heads; h++) {
            const double *g = OBLK(dy, c, b, h);
            size_t base[3];
            for (int part = 0; part < 3; part++) {
                base[part] = (size_t)(QBLK(x, c, b, h) - x) + part * chunk;
                memcpy(loc + part * dn, x + base[part], sizeof(double) * dn);
            }
            head_forward(c, &w, loc, loc + dn, loc + 2 * dn, 0);
            double mag = 0;
            for (size_t j = 0; j < dn; j++) mag += fabs(g[j] * w.out[j]);
            for (size_t li = 0; li < 3 * dn; li++) {
                const size_t gi = base[li / dn] + li % dn;
                if (gi % stride) continue;
                double keep = loc[li], d[2];
                for (int st = 0; st < 2; st++) {
                    double hh = FD_H * (st + 1), acc = 0;
                    loc[li] = keep + hh;
                    head_forward(c, &w, loc, loc + dn, loc + 2 * dn, 0);
                    memcpy(yp, w.out, sizeof(double) * dn);
                    loc[li] = keep - hh;
                    head_forward(c, &w, loc, loc + dn, loc + 2 * dn, 0);
                    memcpy(ym, w.out, sizeof(double) * dn);
                    for (size_t j = 0; j < dn; j++) acc += g[j] * (yp[j] - ym[j]);
                    d[st] = acc / (2 * hh);
                }
                loc[li] = keep;
                ref[gi] = (4 * d[0] - d[1]) / 3;
                err[gi] = fabs(d[0] - d[1]) + 8 * EPS64 * mag / FD_H;
                checked++;
            }
        }
    head_free(&w);
    free(loc), free(yp), free(ym);
    return checked;
}

static void run_forward(const att_case *c, float *out, float *saved, const float *qkv) {
    gb_attention_shape s = to_shape(c);
    if (c->linear)
        gb_linear_attention_forward(&dev, out, saved, qkv, &s);
    else
        gb_attention_forward(&dev, out, saved, qkv, &s);
}
static void run_backward(const att_case *c, float *dqkv, const float *dout, const float *qkv, const float *saved) {
    gb_attention_shape s = to_shape(c);
    if (c->linear)
        gb_linear_attention_backward(&dev, dqkv, dout, qkv, saved, &s);
    else
        gb_attention_backward(&dev, dqkv, dout, qkv, saved, &s);
}

static const char *kind(const att_case *c) { return c->linear ? "linattn" : "attn"; }

Test(attention, matches_torch) {
    for (size_t k = 0; k < NCASES; k++) {
        const att_case *c = &cases[k];
        size_t nq = n_qkv(c), no = n_out(c), ns = n_saved(c);
        float *qkv = fx(nq, "%s_%s_qkv", kind(c), c->name), *dout = fx(no, "%s_%s_dout", kind(c), c->name);
        float *want = fx(no, "%s_%s_out", kind(c), c->name), *want_d = fx(nq, "%s_%s_dqkv", kind(c), c->name);
        float *out = nanbuf(no), *saved = nanbuf(ns), *dqkv = nanbuf(nq);
        run_forward(c, out, saved, qkv);
        run_backward(c, dqkv, dout, qkv, saved);

        double *x = gc_to_double(qkv, nq), *g = gc_to_double(dout, no);
        double *omag = gc_dalloc(no), *gmag = gc_dalloc(nq), emax;
        backward64(c, x, g, 1, gmag, omag, &emax);
        /* torch rounds as much as we do (2x our bound) plus its float softmax sums */
        double *tol = gc_dalloc(nq), *ref = gc_dalloc(nq);
        double extra = (c->linear ? c->positions + c->dim_head + 8 : c->positions + 4) * U;
        for (size_t i = 0; i < no; i++) ref[i] = want[i], tol[i] = (2 * k_out(c, emax) + extra) * omag[i];
        char label[128];
        snprintf(label, sizeof label, "%s %s out vs torch", kind(c), c->name);
        expect_within(label, out, ref, tol, no);
        for (size_t i = 0; i < nq; i++) ref[i] = want_d[i], tol[i] = (2 * k_grad(c, emax) + extra) * gmag[i];
        snprintf(label, sizeof label, "%s %s dqkv vs torch", kind(c), c->name);
        expect_within(label, dqkv, ref, tol, nq);
        expect_guard("out", out, no);
        expect_guard("saved", saved, ns);
        expect_guard("dqkv", dqkv, nq);
        free(qkv), free(dout), free(want), free(want_d), free(out), free(saved), free(dqkv);
        free(x), free(g), free(omag), free(gmag), free(tol), free(ref);
    }
}

Test(attention, matches_f64_and_fd) {
    for (size_t k = 0; k < NCASES; k++) {
        const att_case *c = &cases[k];
        size_t nq = n_qkv(c), no = n_out(c), ns = n_saved(c);
        float *qkv = gc_rand(nq, -2, 2), *dout = gc_rand(no, -1, 1);
        float *out = nanbuf(no), *saved = nanbuf(ns), *dqkv = nanbuf(nq);
        run_forward(c, out, saved, qkv);
        run_backward(c, dqkv, dout, qkv, saved);

        double *x = gc_to_double(qkv, nq), *g = gc_to_double(dout, no), *y = gc_dalloc(no);
        double *omag = gc_dalloc(no), *gmag = gc_dalloc(nq), *exact = gc_dalloc(nq), emax, emax2;
        forward64(c, x, y);
        backward64(c, x, g, 1, gmag, omag, &emax);
        backward64(c, x, g, 0, exact, NULL, &emax2);
        double *ref = gc_dalloc(nq), *err = gc_dalloc(nq), *tol = gc_dalloc(nq);
        size_t checked = fd_richardson(c, x, g, ref, err);
        cr_expect(checked >= nq / 13, "%s %s: FD checked only %zu of %zu inputs", kind(c), c->name, checked, nq);
        char label[128];
        for (size_t i = 0; i < no; i++) tol[i] = k_out(c, emax) * omag[i];
        snprintf(label, sizeof label, "%s %s out vs f64", kind(c), c->name);
        expect_within(label, out, y, tol, no);
        /* compare the FD-checked inputs only (the others hold NaN in ref) */
        size_t m = 0;
        float *got = gc_falloc(checked);
        for (size_t i = 0; i < nq; i++) {
            if (isnan(ref[i])) continue;
            got[m] = dqkv[i], ref[m] = ref[i], exact[m] = exact[i], err[m] = err[i];
            tol[m] = k_grad(c, emax) * gmag[i] + err[i];
            m++;
        }
        snprintf(label, sizeof label, "%s %s dqkv vs FD", kind(c), c->name);
        expect_within(label, got, ref, tol, m);
        size_t unwritten = 0;
        for (size_t i = 0; i < nq; i++) unwritten += isnan(dqkv[i]) != 0;
        cr_expect_eq(unwritten, 0, "%s %s: %zu dqkv elements not written", kind(c), c->name, unwritten);
        free(got);
        /* the analytic float64 backward used for the magnitudes is itself right */
        size_t bad = 0;
        for (size_t i = 0; i < m; i++) bad += !(fabs(exact[i] - ref[i]) <= err[i] + 1e-12);
        cr_expect_eq(bad, 0, "%s %s: analytic f64 backward disagrees with FD at %zu elements", kind(c), c->name,
                     bad);
        expect_guard("saved", saved, ns);
        free(qkv), free(dout), free(out), free(saved), free(dqkv), free(x), free(g), free(y);
        free(omag), free(gmag), free(exact), free(ref), free(err), free(tol);
    }
}

Test(attention, deterministic_and_saved_size) {
    /* The U-Net mid block's shape: the saved buffer holds attn [N, N] and qn, kn
     * [D, N] per head; linear attention pq, pk [D, N] and ctx [D, D]. */
    gb_attention_shape s = {2, 4, 32, 16, 10.0f, 1};
    cr_expect_eq(gb_attention_saved_floats(&s), (size_t)2 * 4 * (16 * 16 + 2 * 32 * 16));
    cr_expect_eq(gb_linear_attention_saved_floats(&s), (size_t)2 * 4 * (2 * 32 * 16 + 32 * 32));
    for (size_t k = 0; k < NCASES; k++) {
        const att_case *c = &cases[k];
        size_t nq = n_qkv(c), no = n_out(c), ns = n_saved(c);
        float *qkv = gc_rand(nq, -2, 2), *dout = gc_rand(no, -1, 1);
        float *o1 = nanbuf(no), *o2 = nanbuf(no), *s1 = nanbuf(ns), *s2 = nanbuf(ns);
        float *d1 = nanbuf(nq), *d2 = nanbuf(nq);
        run_forward(c, o1, s1, qkv);
        run_backward(c, d1, dout, qkv, s1);
        run_forward(c, o2, s2, qkv);
        run_backward(c, d2, dout, qkv, s2);
        cr_expect(memcmp(o1, o2, no * sizeof *o1) == 0, "%s %s: out differs between runs", kind(c), c->name);
        cr_expect(memcmp(d1, d2, nq * sizeof *d1) == 0, "%s %s: dqkv differs between runs", kind(c), c->name);
        free(qkv), free(dout), free(o1), free(o2), free(s1), free(s2), free(d1), free(d2);
    }
}

Test(attention, l2_normalisation_runs_over_positions) {
    /* lucidrains normalises each (head, channel) row over the positions
     * (F.normalize(dim=-1) on 'b h c (x y)'). With q = k = (d+1)(j+1) every
     * normalised row is r_j = (j+1)/sqrt(30), so sim[i, j] = 10 * 3 * r_i r_j =
     * (i+1)(j+1). Normalising each column over dim_head instead would make every
     * column (1,2,3)/sqrt(14), sim uniform, and out the plain mean of v.
     * Tolerance 1e-5 relative: (N+3)u + 2 emax with emax ~ 10 (D+3) u ~ 4e-6. */
    const int D = 3, N = 4;
    gb_attention_shape s = {1, 1, D, N, 10.0f, 1};
    float qkv[3 * 3 * 4], out[3 * 4], saved[4 * 4 + 2 * 3 * 4];
    for (int d = 0; d < D; d++)
        for (int j = 0; j < N; j++) {
            qkv[d * N + j] = (float)((d + 1) * (j + 1));         /* q */
            qkv[(D + d) * N + j] = (float)((d + 1) * (j + 1));   /* k */
            qkv[(2 * D + d) * N + j] = (float)(d * 10 + j);      /* v */
        }
    gb_attention_forward(&dev, out, saved, qkv, &s);
    for (int d = 0; d < D; d++)
        for (int i = 0; i < N; i++) {
            double z = 0, acc = 0;
            for (int j = 0; j < N; j++) z += exp((i + 1.0) * (j + 1.0) - (i + 1.0) * N);
            for (int j = 0; j < N; j++) acc += exp((i + 1.0) * (j + 1.0) - (i + 1.0) * N) / z * (d * 10 + j);
            cr_expect(fabs(out[d * N + i] - acc) <= 1e-5 * fabs(acc) + 1e-6, "out[%d, %d] = %.7g, want %.7g", d, i,
                      (double)out[d * N + i], acc);
        }
}

/* The linear attention's softmaxes run over heads in gb_parallel_for slices
 * (kernels/cpu/parallel.h): out, the saved buffer and dqkv must be the same bits with
 * 1, 2 and 3 threads. 3 samples x 4 heads = 12 heads, cut differently by 2 and 3 threads;
 * N = 67 positions leaves a tail after the 8-lane sums and the 64-column blocks. */
Test(attention, linear_attention_bits_do_not_depend_on_the_thread_count) {
    enum { RUNS = 3 };
    gb_attention_shape s = {3, 4, 32, 67, 0.17677669f, 0};
    size_t nq = (size_t)3 * 3 * 4 * 32 * 67, no = nq / 3, ns = gb_linear_attention_saved_floats(&s);
    float *qkv = gc_rand(nq, -6, 6), *dout = gc_rand(no, -1, 1);
    float *out[RUNS], *saved[RUNS], *dqkv[RUNS];
    for (int t = 0; t < RUNS; t++) {
        gb_device d;
        cr_assert_eq(gb_device_open(&d, "cpu", t + 1), GB_OK, "gb_device_open(cpu, %d): %s", t + 1, gb_last_error());
        out[t] = nanbuf(no), saved[t] = nanbuf(ns), dqkv[t] = nanbuf(nq);
        gb_linear_attention_forward(&d, out[t], saved[t], qkv, &s);
        gb_linear_attention_backward(&d, dqkv[t], dout, qkv, saved[t], &s);
        gb_device_close(&d);
    }
    for (int t = 1; t < RUNS; t++) {
        cr_expect(memcmp(out[t], out[0], no * sizeof(float)) == 0, "out: %d threads differ from 1", t + 1);
        cr_expect(memcmp(saved[t], saved[0], ns * sizeof(float)) == 0, "saved: %d threads differ from 1", t + 1);
        cr_expect(memcmp(dqkv[t], dqkv[0], nq * sizeof(float)) == 0, "dqkv: %d threads differ from 1", t + 1);
    }
    for (int t = 0; t < RUNS; t++) free(out[t]), free(saved[t]), free(dqkv[t]);
    free(qkv), free(dout);
}
