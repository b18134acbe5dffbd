/* tests/attention_ref64.h - float64 reference of one attention head, forward and analytic
 * backward: the softmax attention (optionally on L2-normalised q and k, the U-Net's mid block)
 * and the U-Net's linear attention, with the magnitudes ("absmode") the error bounds of
 * tests/tolerances.md scale by and the float sim's worst error (emax). Written once for the two
 * places that check kernels/cpu/attention.c and linear_attention.c against float64:
 * tests/test_kernels_attention.c and the benchmark rows' checks (bench/cases_specs.c). The
 * formulas are those in the kernels' headers; the test checks this reference against float64
 * finite differences and PyTorch.
 */
#ifndef GB_TESTS_ATTENTION_REF64_H
#define GB_TESTS_ATTENTION_REF64_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

#define GB_ATT64_U 5.9604644775390625e-8 /* float32 unit roundoff */

/* One head: q, k, v, g, out [D, N] (kernels/shapes.h).
 * absmode: magnitudes, |.| on every input and intermediate, a - b -> |a| + |b| (the
 * softmaxes and norms stay those of the real inputs: they are positive already). */
typedef struct {
    int D, N, linear, l2; /* l2: softmax attention on L2-normalised q, k (the U-Net's mid block) */
    double sc;
    double *qn, *kn, *den_q, *den_k, *attn; /* softmax attention */
    double *pq, *pk, *ctx;                  /* linear attention */
    double *out, *dq, *dk, *dv, *tmp;
    double emax; /* max abs error of the float sim (tests/tolerances.md) */
} gb_att64;

static inline double *att64_dalloc(size_t n) {
    double *p = calloc(n ? n : 1, sizeof *p);
    GB_ASSERT(p, "out of memory for %zu doubles", n);
    return p;
}

static inline void gb_att64_init(gb_att64 *w, int dim_head, int positions, double scale, int linear, int l2) {
    size_t D = (size_t)dim_head, N = (size_t)positions;
    *w = (gb_att64){.D = dim_head, .N = positions, .linear = linear, .l2 = l2, .sc = scale};
    w->qn = att64_dalloc(D * N), w->kn = att64_dalloc(D * N), w->den_q = att64_dalloc(D), w->den_k = att64_dalloc(D);
    w->attn = att64_dalloc(linear ? 1 : N * N), w->tmp = att64_dalloc(linear ? D * D : N * N);
    w->pq = att64_dalloc(D * N), w->pk = att64_dalloc(D * N), w->ctx = att64_dalloc(D * D);
    w->out = att64_dalloc(D * N), w->dq = att64_dalloc(D * N), w->dk = att64_dalloc(D * N), w->dv = att64_dalloc(D * N);
}

static inline void gb_att64_free(gb_att64 *w) {
    double *p[] = {w->qn, w->kn, w->den_q, w->den_k, w->attn, w->tmp, w->pq, w->pk, w->ctx, w->out, w->dq, w->dk, w->dv};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) free(p[i]);
}

/* softmax of n values x[j * stride] into p[j * stride] */
static inline void att64_softmax(double *p, const double *x, int n, int stride) {
    double m = -INFINITY, s = 0;
    for (int j = 0; j < n; j++) m = fmax(m, x[j * stride]);
    for (int j = 0; j < n; j++) s += exp(x[j * stride] - m);
    for (int j = 0; j < n; j++) p[j * stride] = exp(x[j * stride] - m) / s;
}

#define A(v) (absmode ? fabs(v) : (v))
#define SUB(a, b) (absmode ? fabs(a) + fabs(b) : (a) - (b))

static inline void gb_att64_forward(gb_att64 *w, const double *q, const double *k, const double *v, int absmode) {
    const int D = w->D, N = w->N;
    if (!w->linear) {
        for (int pass = 0; pass < 2; pass++) { /* L2 over positions, per channel row */
            const double *in = pass ? k : q;
            double *y = pass ? w->kn : w->qn, *den = pass ? w->den_k : w->den_q;
            for (int d = 0; d < D; d++) {
                double s = 0;
                for (int j = 0; j < N; j++) s += in[d * N + j] * in[d * N + j];
                den[d] = w->l2 ? fmax(sqrt(s), 1e-12) : 1.0;
                for (int j = 0; j < N; j++) y[d * N + j] = w->l2 ? in[d * N + j] / den[d] : in[d * N + j];
            }
        }
        w->emax = 0;
        for (int i = 0; i < N; i++) {
            double *sim = w->tmp + (size_t)i * N;
            for (int j = 0; j < N; j++) {
                double s = 0, m = 0;
                for (int d = 0; d < D; d++) s += w->qn[d * N + i] * w->kn[d * N + j], m += fabs(w->qn[d * N + i] * w->kn[d * N + j]);
                sim[j] = w->sc * s;
                w->emax = fmax(w->emax, w->sc * (D + 3) * GB_ATT64_U * m + GB_ATT64_U * fabs(sim[j]));
            }
            att64_softmax(w->attn + (size_t)i * N, sim, N, 1);
        }
        for (int d = 0; d < D; d++)
            for (int i = 0; i < N; i++) {
                double s = 0;
                for (int j = 0; j < N; j++) s += A(v[d * N + j]) * w->attn[i * N + j];
                w->out[d * N + i] = s;
            }
        return;
    }
    for (int n = 0; n < N; n++) att64_softmax(w->pq + n, q + n, D, N);
    for (int d = 0; d < D; d++) att64_softmax(w->pk + (size_t)d * N, k + (size_t)d * N, N, 1);
    for (int d = 0; d < D; d++)
        for (int e = 0; e < D; e++) {
            double s = 0;
            for (int n = 0; n < N; n++) s += w->pk[d * N + n] * A(v[e * N + n]);
            w->ctx[d * D + e] = s / N;
        }
    for (int e = 0; e < D; e++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int d = 0; d < D; d++) s += w->ctx[d * D + e] * w->sc * w->pq[d * N + n];
            w->out[e * N + n] = s;
        }
}

/* After gb_att64_forward with the same absmode: dq, dk, dv from g. */
static inline void gb_att64_backward(gb_att64 *w, const double *v, const double *g, int absmode) {
    const int D = w->D, N = w->N;
    const double sc = w->sc;
    if (!w->linear) {
        double *ds = w->tmp;
        for (int d = 0; d < D; d++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int i = 0; i < N; i++) s += A(g[d * N + i]) * w->attn[i * N + j];
                w->dv[d * N + j] = s;
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
                w->dq[d * N + i] = sq, w->dk[d * N + i] = sk;
            }
        for (int pass = 0; pass < 2 && w->l2; pass++) { /* d(x/|x|) = (g - y <y, g>) / |x| */
            double *gr = pass ? w->dk : w->dq;
            const double *y = pass ? w->kn : w->qn, *den = pass ? w->den_k : w->den_q;
            for (int d = 0; d < D; d++) {
                double dot = 0;
                for (int j = 0; j < N; j++) dot += A(y[d * N + j]) * gr[d * N + j];
                for (int j = 0; j < N; j++) gr[d * N + j] = SUB(gr[d * N + j], A(y[d * N + j]) * dot) / den[d];
            }
        }
        return;
    }
    double *dctx = w->tmp;
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
            w->dq[d * N + n] = sq, w->dk[d * N + n] = sk;
        }
    for (int e = 0; e < D; e++)
        for (int n = 0; n < N; n++) {
            double s = 0;
            for (int d = 0; d < D; d++) s += dctx[d * D + e] * w->pk[d * N + n] / N;
            w->dv[e * N + n] = s;
        }
    for (int n = 0; n < N; n++) { /* q: softmax over dim_head (a column) */
        double dot = 0;
        for (int d = 0; d < D; d++) dot += w->pq[d * N + n] * w->dq[d * N + n];
        for (int d = 0; d < D; d++) w->dq[d * N + n] = w->pq[d * N + n] * SUB(w->dq[d * N + n], dot);
    }
    for (int d = 0; d < D; d++) { /* k: softmax over positions (a row) */
        double dot = 0;
        for (int n = 0; n < N; n++) dot += w->pk[d * N + n] * w->dk[d * N + n];
        for (int n = 0; n < N; n++) w->dk[d * N + n] = w->pk[d * N + n] * SUB(w->dk[d * N + n], dot);
    }
}

#undef A
#undef SUB

#endif
