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
 *   - a float64 transcription of each forward (tests/attention_ref64.h, which the
 *     benchmark's checks share), differentiated here by
 *     central finite differences with Richardson extrapolation (the difference
 *     between steps h and 2h bounds the truncation error, so the FD reference
 *     carries its own error estimate);
 *   - its analytic float64 backward, run once on absolute values ("mag": every
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
#include "tests/attention_ref64.h"
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

/* One head of case c in float64 (tests/attention_ref64.h, shared with the benchmark checks). */
static void head_init(gb_att64 *w, const att_case *c) {
    gb_att64_init(w, c->dim_head, c->positions, c->scale, c->linear, c->l2);
}

/* the whole op: out = f(qkv) */
static void forward64(const att_case *c, const double *qkv, double *out) {
    gb_att64 w;
    head_init(&w, c);
    size_t dn = (size_t)c->dim_head * c->positions, chunk = (size_t)c->heads * dn;
    for (int b = 0; b < c->batch; b++)
        for (int h = 0; h < c->heads; h++) {
            const double *q = QBLK(qkv, c, b, h);
            gb_att64_forward(&w, q, q + chunk, q + 2 * chunk, 0);
            memcpy(OBLK(out, c, b, h), w.out, sizeof(double) * dn);
        }
    gb_att64_free(&w);
}

/* The exact analytic backward (absmode 0) or the magnitudes (1) of the whole op,
 * with the forward magnitudes (|v| through the same weights) and the largest
 * sim error over all heads. */
static void backward64(const att_case *c, const double *qkv, const double *g, int absmode, double *dqkv,
                       double *out_mag, double *emax) {
    gb_att64 w;
    head_init(&w, c);
    size_t dn = (size_t)c->dim_head * c->positions, chunk = (size_t)c->heads * dn;
    *emax = 0;
    for (int b = 0; b < c->batch; b++)
        for (int h = 0; h < c->heads; h++) {
            const double *q = QBLK(qkv, c, b, h);
            double *dq = QBLK(dqkv, c, b, h);
            gb_att64_forward(&w, q, q + chunk, q + 2 * chunk, absmode);
            if (out_mag) memcpy(OBLK(out_mag, c, b, h), w.out, sizeof(double) * dn);
            if (!c->linear) *emax = fmax(*emax, w.emax);
            gb_att64_backward(&w, q + 2 * chunk, OBLK(g, c, b, h), absmode);
            memcpy(dq, w.dq, sizeof(double) * dn);
            memcpy(dq + chunk, w.dk, sizeof(double) * dn);
            memcpy(dq + 2 * chunk, w.dv, sizeof(double) * dn);
        }
    gb_att64_free(&w);
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
    gb_att64 w;
    head_init(&w, c);
    size_t checked = 0;
    for (int b = 0; b < c->batch; b++)
        for (int h = 0; h < c->heads; h++) {
            const double *g = OBLK(dy, c, b, h);
            size_t base[3];
            for (int part = 0; part < 3; part++) {
                base[part] = (size_t)(QBLK(x, c, b, h) - x) + part * chunk;
                memcpy(loc + part * dn, x + base[part], sizeof(double) * dn);
            }
            gb_att64_forward(&w, loc, loc + dn, loc + 2 * dn, 0);
            double mag = 0;
            for (size_t j = 0; j < dn; j++) mag += fabs(g[j] * w.out[j]);
            for (size_t li = 0; li < 3 * dn; li++) {
                const size_t gi = base[li / dn] + li % dn;
                if (gi % stride) continue;
                double keep = loc[li], d[2];
                for (int st = 0; st < 2; st++) {
                    double hh = FD_H * (st + 1), acc = 0;
                    loc[li] = keep + hh;
                    gb_att64_forward(&w, loc, loc + dn, loc + 2 * dn, 0);
                    memcpy(yp, w.out, sizeof(double) * dn);
                    loc[li] = keep - hh;
                    gb_att64_forward(&w, loc, loc + dn, loc + 2 * dn, 0);
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
    gb_att64_free(&w);
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
