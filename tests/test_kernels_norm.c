/* tests/test_kernels_norm.c - the CPU BatchNorm2d (train and eval), GroupNorm and channel
 * LayerNorm kernels against independent references.
 *
 * References: a float64 transcription of each forward written here (one routine for all
 * three: each is "normalise over a set of elements, then a per-channel affine map", and only
 * the sets differ), its analytic gradients, float64 central differences of it
 * (tests/gradcheck.h), and PyTorch values from tests/peers/kernels_norm.py in
 * $GB_FIXTURES/kernels_norm/ (torch.nn.BatchNorm2d, torch.nn.GroupNorm, the lucidrains
 * LayerNorm expression). Also: the gradient contract (dgamma/dbeta/dgain accumulate, dinp
 * overwrites) and in-place use.
 * Tolerances are multiples of u times a per-element scale (the sum of the magnitudes of the
 * terms forming the value, including the |mean| * rstd term that rounding the mean to float
 * costs); the multiples and their reasons are in tests/tolerances.md, section "normalisation".
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "tests/fixture.h"
#include "tests/gradcheck.h"

#define U GC_U32

static gb_device dev;
static void open_cpu(void) {
    gb_status s = gb_device_open(&dev, "cpu", 1);
    cr_assert_eq(s, GB_OK, "gb_device_open(cpu): %s", gb_last_error());
}
static void close_cpu(void) { gb_device_close(&dev); }

/* tests/peers/kernels_norm.py's fixture <name>.f32 of exactly n floats (tests/fixture.h). */
static float *load(const char *name, size_t n) {
    char rel[256];
    snprintf(rel, sizeof rel, "kernels_norm/%s.f32", name);
    return fixture_f32(rel, n);
}

/* |got - ref| <= k u scale + 1e-30 elementwise */
static void expect_scaled(const char *label, const float *got, const double *ref,
                          const double *scale, size_t n, double k) {
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - ref[i]), lim = k * U * scale[i] + 1e-30;
        if (!(diff <= lim)) {
            if (bad < 5)
                cr_log_error("%s[%zu]: got %.9g, want %.9g (diff %.3g > %.3g = %g u * %.3g), seed %llu",
                             label, i, (double)got[i], ref[i], diff, lim, k, scale[i],
                             (unsigned long long)gc_seed);
            bad++;
        }
        if (diff / (U * scale[i]) > worst) worst = diff / (U * scale[i]);
    }
    cr_expect_eq(bad, 0, "%s: %zu of %zu out of tolerance (worst %.2f u*scale, allowed %g), seed %llu",
                 label, bad, n, worst, k, (unsigned long long)gc_seed);
}
static void expect_scaled_f(const char *label, const float *got, const float *want,
                            const double *scale, size_t n, double k) {
    double *ref = gc_to_double(want, n);
    expect_scaled(label, got, ref, scale, n, k);
    free(ref);
}

/* ---- the float64 reference ---- */

typedef enum { BN_TRAIN, BN_EVAL, GN, LN } norm_kind;
static const char *const norm_names[] = {"batchnorm train", "batchnorm eval", "groupnorm",
                                         "layernorm"};

typedef struct {
    norm_kind kind;
    int batch, channels, spatial, groups;
    double eps;
    size_t n, nsets;
    size_t *set_of;  /* [n]: the statistics set of each element */
    int *chan_of;    /* [n] */
    const double *rm, *rv; /* eval: running statistics [channels] */
    /* FD: which input v replaces (0 x, 1 gamma, 2 beta) and the other two */
    int wrt;
    const double *x, *gamma, *beta; /* beta NULL for layernorm */
} nref;

static nref make_ref(norm_kind kind, int batch, int channels, int spatial, int groups, double eps) {
    nref r = {kind, batch, channels, spatial, groups, eps, 0, 0, NULL, NULL, NULL, NULL, 0, NULL,
              NULL, NULL};
    r.n = (size_t)batch * channels * spatial;
    r.set_of = malloc(r.n * sizeof *r.set_of);
    r.chan_of = malloc(r.n * sizeof *r.chan_of);
    r.nsets = kind == GN ? (size_t)batch * groups : kind == LN ? (size_t)batch * spatial : (size_t)channels;
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < channels; c++)
            for (int s = 0; s < spatial; s++) {
                size_t i = ((size_t)b * channels + c) * spatial + s;
                r.chan_of[i] = c;
                r.set_of[i] = kind == GN   ? (size_t)b * groups + (size_t)c / (channels / groups)
                              : kind == LN ? (size_t)b * spatial + s
                                           : (size_t)c;
            }
    return r;
}
static void free_ref(nref *r) { free(r->set_of), free(r->chan_of); }

/* mean[set], rstd[set] of x (eval: the running statistics per channel-set) */
static void ref_stats(const nref *r, const double *x, double *mean, double *rstd) {
    if (r->kind == BN_EVAL) {
        for (size_t g = 0; g < r->nsets; g++) {
            mean[g] = r->rm[g];
            rstd[g] = 1 / sqrt(r->rv[g] + r->eps);
        }
        return;
    }
    double *cnt = gc_dalloc(r->nsets), *sq = gc_dalloc(r->nsets);
    for (size_t g = 0; g < r->nsets; g++) mean[g] = 0;
    for (size_t i = 0; i < r->n; i++) mean[r->set_of[i]] += x[i], cnt[r->set_of[i]] += 1;
    for (size_t g = 0; g < r->nsets; g++) mean[g] /= cnt[g];
    for (size_t i = 0; i < r->n; i++) {
        double d = x[i] - mean[r->set_of[i]];
        sq[r->set_of[i]] += d * d;
    }
    for (size_t g = 0; g < r->nsets; g++) rstd[g] = 1 / sqrt(sq[g] / cnt[g] + r->eps);
    free(cnt), free(sq);
}

static void ref_forward(void *vctx, const double *v, double *y) {
    const nref *r = vctx;
    const double *x = r->wrt == 0 ? v : r->x, *g = r->wrt == 1 ? v : r->gamma;
    const double *b = r->wrt == 2 ? v : r->beta;
    double *mean = gc_dalloc(r->nsets), *rstd = gc_dalloc(r->nsets);
    ref_stats(r, x, mean, rstd);
    for (size_t i = 0; i < r->n; i++) {
        size_t s = r->set_of[i];
        int c = r->chan_of[i];
        y[i] = (x[i] - mean[s]) * rstd[s] * g[c] + (b ? b[c] : 0);
    }
    free(mean), free(rstd);
}

/* Analytic values and scales of out, dinp, dgamma, dbeta. */
typedef struct {
    double *out, *s_out, *dinp, *s_dinp, *dgamma, *s_dgamma, *dbeta, *s_dbeta;
    double *mean, *rstd;
} ref_vals;

static ref_vals ref_compute(const nref *r, const double *dy) {
    size_t n = r->n, ns = r->nsets, C = (size_t)r->channels;
    ref_vals v = {gc_dalloc(n), gc_dalloc(n), gc_dalloc(n), gc_dalloc(n), gc_dalloc(C),
                  gc_dalloc(C), gc_dalloc(C), gc_dalloc(C), gc_dalloc(ns), gc_dalloc(ns)};
    ref_stats(r, r->x, v.mean, v.rstd);
    double *a = gc_dalloc(ns), *aa = gc_dalloc(ns), *b = gc_dalloc(ns), *ba = gc_dalloc(ns);
    double *cnt = gc_dalloc(ns);
    for (size_t i = 0; i < n; i++) {
        size_t s = r->set_of[i];
        int c = r->chan_of[i];
        double xh = (r->x[i] - v.mean[s]) * v.rstd[s], gd = r->gamma[c] * dy[i];
        double beta = r->beta ? r->beta[c] : 0;
        v.out[i] = xh * r->gamma[c] + beta;
        v.s_out[i] = fabs(xh * r->gamma[c]) + fabs(beta) + fabs(v.mean[s] * v.rstd[s] * r->gamma[c]);
        a[s] += gd, aa[s] += fabs(gd), b[s] += gd * xh, ba[s] += fabs(gd * xh), cnt[s] += 1;
        v.dgamma[c] += dy[i] * xh;
        v.s_dgamma[c] += fabs(dy[i]) * (fabs(xh) + fabs(v.mean[s]) * v.rstd[s]);
        v.dbeta[c] += dy[i];
        v.s_dbeta[c] += fabs(dy[i]);
    }
    for (size_t i = 0; i < n; i++) {
        size_t s = r->set_of[i];
        int c = r->chan_of[i];
        double xh = (r->x[i] - v.mean[s]) * v.rstd[s], gd = r->gamma[c] * dy[i], rs = v.rstd[s];
        if (r->kind == BN_EVAL) {
            v.dinp[i] = rs * gd;
            v.s_dinp[i] = fabs(rs * gd);
            v.s_out[i] = fabs(xh * r->gamma[c]) + fabs(r->beta[c]);
            continue;
        }
        double m = cnt[s];
        v.dinp[i] = rs * (gd - a[s] / m - xh * b[s] / m);
        v.s_dinp[i] = rs * (fabs(gd) + aa[s] / m + fabs(xh) * ba[s] / m +
                            fabs(v.mean[s]) * rs * (aa[s] / m) * (1 + fabs(xh)));
    }
    free(a), free(aa), free(b), free(ba), free(cnt);
    return v;
}
static void free_vals(ref_vals *v) {
    free(v->out), free(v->s_out), free(v->dinp), free(v->s_dinp), free(v->dgamma),
        free(v->s_dgamma), free(v->dbeta), free(v->s_dbeta), free(v->mean), free(v->rstd);
}

/* ---- running the kernels ---- */

typedef struct {
    float *out, *dinp, *dgamma, *dbeta, *save_mean, *save_rstd, *rm, *rv;
} kern_out;

/* forward then one backward (dgamma/dbeta start at 0); rm/rv are copies of rm0/rv0 updated by
 * the training forward */
static kern_out run_kernels(const nref *r, const float *x, const float *gamma, const float *beta,
                            const float *dy, const float *rm0, const float *rv0, float momentum) {
    size_t n = r->n, C = (size_t)r->channels;
    gb_norm_shape sh = {r->batch, r->channels, r->spatial, r->groups, (float)r->eps};
    kern_out k = {gc_falloc(n), gc_falloc(n), gc_falloc(C), gc_falloc(C), gc_falloc(r->nsets),
                  gc_falloc(r->nsets), gc_falloc(C), gc_falloc(C)};
    if (rm0) memcpy(k.rm, rm0, C * sizeof *k.rm);
    if (rv0) memcpy(k.rv, rv0, C * sizeof *k.rv);
    switch (r->kind) {
    case BN_TRAIN:
        gb_batchnorm_forward_train(&dev, k.out, k.save_mean, k.save_rstd, k.rm, k.rv, x, gamma,
                                   beta, &sh, momentum);
        gb_batchnorm_backward_train(&dev, k.dinp, k.dgamma, k.dbeta, dy, x, gamma, k.save_mean,
                                    k.save_rstd, &sh);
        break;
    case BN_EVAL:
        gb_batchnorm_forward_eval(&dev, k.out, x, gamma, beta, k.rm, k.rv, &sh);
        gb_batchnorm_backward_eval(&dev, k.dinp, k.dgamma, k.dbeta, dy, x, gamma, k.rm, k.rv, &sh);
        break;
    case GN:
        gb_groupnorm_forward(&dev, k.out, k.save_mean, k.save_rstd, x, gamma, beta, &sh);
        gb_groupnorm_backward(&dev, k.dinp, k.dgamma, k.dbeta, dy, x, gamma, k.save_mean,
                              k.save_rstd, &sh);
        break;
    case LN:
        gb_layernorm_channels_forward(&dev, k.out, k.save_mean, k.save_rstd, x, gamma, &sh);
        gb_layernorm_channels_backward(&dev, k.dinp, k.dgamma, dy, x, gamma, k.save_mean,
                                       k.save_rstd, &sh);
        break;
    }
    return k;
}
static void free_kern(kern_out *k) {
    free(k->out), free(k->dinp), free(k->dgamma), free(k->dbeta), free(k->save_mean),
        free(k->save_rstd), free(k->rm), free(k->rv);
}

/* Tolerance multiples of u * scale (tests/tolerances.md). */
#define K_OUT 4.0    /* forward values: bound 2u (measured 1.95u) */
#define K_GRAD 6.0   /* dinp, dgamma, dbeta: bound ~5u (measured 1.3u) */
#define K_STAT 1.0   /* save_mean/save_rstd/running stats: double, rounded once (0.5u) */
#define K_TORCH 32.0 /* against PyTorch, whose statistics are float sums (measured 10.6u) */
#define FD_FLOOR 1e-3 /* FD rounding floor eps64 |L| / h ~ 1e-10 absolute: 6 u * 1e-3 = 3.6e-10 */

/* ---- shapes: odd sizes, batch 1, spatial 1, spatial over the layernorm block (64) ---- */

typedef struct {
    norm_kind kind;
    int batch, channels, spatial, groups;
    float eps;
} norm_case;

static const norm_case cases[] = {
    {BN_TRAIN, 2, 5, 21, 0, 1e-5f}, {BN_TRAIN, 1, 3, 10, 0, 1e-3f}, {BN_TRAIN, 6, 11, 1, 0, 1e-5f},
    {BN_TRAIN, 3, 7, 130, 0, 1e-5f}, {BN_EVAL, 2, 5, 21, 0, 1e-5f}, {BN_EVAL, 1, 3, 1, 0, 1e-5f},
    {GN, 2, 6, 15, 3, 1e-5f},        {GN, 1, 12, 16, 4, 1e-5f},      {GN, 3, 10, 7, 5, 1e-5f},
    {GN, 2, 8, 9, 8, 1e-5f},         {GN, 2, 5, 6, 1, 1e-5f},        {LN, 2, 5, 12, 0, 1e-5f},
    {LN, 1, 3, 35, 0, 1e-5f},        {LN, 3, 9, 1, 0, 1e-5f},        {LN, 1, 4, 130, 0, 1e-5f},
};
#define NCASES (sizeof cases / sizeof *cases)

/* inputs with per-channel offsets in [-4, 4] and spreads in [0.5, 2.5] */
typedef struct {
    float *x, *gamma, *beta, *dy, *rm0, *rv0;
    double *x64, *gamma64, *beta64, *rm64, *rv64, *dy64;
} inputs;

static inputs make_inputs(const norm_case *nc) {
    size_t C = (size_t)nc->channels, n = (size_t)nc->batch * C * nc->spatial;
    inputs in;
    float *off = gc_rand(C, -4, 4), *spread = gc_rand(C, 0.5f, 2.5f);
    in.x = gc_falloc(n);
    for (size_t i = 0; i < n; i++) {
        size_t c = (i / (size_t)nc->spatial) % C;
        in.x[i] = off[c] + spread[c] * gc_uniform(-1.7f, 1.7f);
    }
    in.gamma = gc_rand(C, 0.5f, 1.5f);
    in.beta = nc->kind == LN ? NULL : gc_rand(C, -1, 1);
    in.dy = gc_rand(n, -1, 1);
    in.rm0 = gc_rand(C, -2, 2);
    in.rv0 = gc_rand(C, 0.3f, 3.0f);
    in.x64 = gc_to_double(in.x, n);
    in.gamma64 = gc_to_double(in.gamma, C);
    in.beta64 = in.beta ? gc_to_double(in.beta, C) : NULL;
    in.rm64 = gc_to_double(in.rm0, C);
    in.rv64 = gc_to_double(in.rv0, C);
    in.dy64 = gc_to_double(in.dy, n);
    free(off), free(spread);
    return in;
}
static void free_inputs(inputs *in) {
    free(in->x), free(in->gamma), free(in->beta), free(in->dy), free(in->rm0), free(in->rv0);
    free(in->x64), free(in->gamma64), free(in->beta64), free(in->rm64), free(in->rv64), free(in->dy64);
}
static nref ref_for(const norm_case *nc, const inputs *in) {
    nref r = make_ref(nc->kind, nc->batch, nc->channels, nc->spatial, nc->groups, (double)nc->eps);
    r.x = in->x64, r.gamma = in->gamma64, r.beta = in->beta64, r.rm = in->rm64, r.rv = in->rv64;
    return r;
}

Test(norm, forward_backward_and_statistics_match_float64, .init = open_cpu, .fini = close_cpu) {
    gc_seed_rng(601);
    const float momentum = 0.1f;
    for (size_t t = 0; t < NCASES; t++) {
        const norm_case *nc = &cases[t];
        inputs in = make_inputs(nc);
        nref r = ref_for(nc, &in);
        size_t n = r.n, C = (size_t)nc->channels;
        ref_vals v = ref_compute(&r, in.dy64);
        kern_out k = run_kernels(&r, in.x, in.gamma, in.beta, in.dy, in.rm0, in.rv0, momentum);
        char label[160];
#define LBL(what) (snprintf(label, sizeof label, "%s case %zu " what, norm_names[nc->kind], t), label)
        expect_scaled(LBL("out"), k.out, v.out, v.s_out, n, K_OUT);
        expect_scaled(LBL("dinp"), k.dinp, v.dinp, v.s_dinp, n, K_GRAD);
        expect_scaled(LBL("dgamma"), k.dgamma, v.dgamma, v.s_dgamma, C, K_GRAD);
        if (nc->kind != LN) expect_scaled(LBL("dbeta"), k.dbeta, v.dbeta, v.s_dbeta, C, K_GRAD);
        if (nc->kind != BN_EVAL) {
            double *sc = gc_dalloc(r.nsets);
            for (size_t g = 0; g < r.nsets; g++) sc[g] = fabs(v.mean[g]) + 1e-30;
            expect_scaled(LBL("save_mean"), k.save_mean, v.mean, sc, r.nsets, K_STAT);
            for (size_t g = 0; g < r.nsets; g++) sc[g] = v.rstd[g];
            expect_scaled(LBL("save_rstd"), k.save_rstd, v.rstd, sc, r.nsets, K_STAT);
            free(sc);
        }
        if (nc->kind == BN_TRAIN) {
            /* running stats: momentum * batch stat + (1 - momentum) * old, variance unbiased */
            double m = (double)momentum, cnt = (double)nc->batch * nc->spatial;
            double *want = gc_dalloc(C), *sc = gc_dalloc(C);
            for (size_t c = 0; c < C; c++) {
                want[c] = m * v.mean[c] + (1 - m) * in.rm0[c];
                sc[c] = fabs(m * v.mean[c]) + fabs((1 - m) * in.rm0[c]);
            }
            expect_scaled(LBL("running_mean"), k.rm, want, sc, C, K_STAT);
            for (size_t c = 0; c < C; c++) {
                double var = (1 / (v.rstd[c] * v.rstd[c]) - r.eps) * cnt / (cnt - 1);
                want[c] = m * var + (1 - m) * in.rv0[c];
                sc[c] = want[c];
            }
            /* var recovered from rstd loses ~ eps64 * (1 + eps/var): still far below u */
            expect_scaled(LBL("running_var"), k.rv, want, sc, C, K_STAT);
            free(want), free(sc);
        } else if (nc->kind == BN_EVAL) {
            cr_expect_eq(memcmp(k.rm, in.rm0, C * sizeof *k.rm), 0, "eval: running_mean changed");
            cr_expect_eq(memcmp(k.rv, in.rv0, C * sizeof *k.rv), 0, "eval: running_var changed");
        }
#undef LBL
        free_kern(&k), free_vals(&v), free_ref(&r), free_inputs(&in);
    }
}

Test(norm, backward_matches_central_differences, .init = open_cpu, .fini = close_cpu) {
    gc_seed_rng(701);
    for (size_t t = 0; t < NCASES; t++) {
        const norm_case *nc = &cases[t];
        inputs in = make_inputs(nc);
        nref r = ref_for(nc, &in);
        size_t n = r.n, C = (size_t)nc->channels;
        ref_vals v = ref_compute(&r, in.dy64);
        kern_out k = run_kernels(&r, in.x, in.gamma, in.beta, in.dy, in.rm0, in.rv0, 0.1f);
        double *fd = gc_dalloc(n), *sc = gc_dalloc(n);
        char label[160];
        const double h = 1e-4;
        double *x = gc_to_double(in.x, n);
        r.wrt = 0;
        gc_fd_vjp(ref_forward, &r, x, n, n, in.dy64, h, fd);
        for (size_t i = 0; i < n; i++) sc[i] = v.s_dinp[i] + FD_FLOOR;
        snprintf(label, sizeof label, "%s case %zu dinp vs FD", norm_names[nc->kind], t);
        expect_scaled(label, k.dinp, fd, sc, n, K_GRAD);
        double *g = gc_to_double(in.gamma, C);
        r.wrt = 1;
        gc_fd_vjp(ref_forward, &r, g, C, n, in.dy64, h, fd);
        for (size_t c = 0; c < C; c++) sc[c] = v.s_dgamma[c] + FD_FLOOR;
        snprintf(label, sizeof label, "%s case %zu dgamma vs FD", norm_names[nc->kind], t);
        expect_scaled(label, k.dgamma, fd, sc, C, K_GRAD);
        if (in.beta) {
            double *b = gc_to_double(in.beta, C);
            r.wrt = 2;
            gc_fd_vjp(ref_forward, &r, b, C, n, in.dy64, h, fd);
            for (size_t c = 0; c < C; c++) sc[c] = v.s_dbeta[c] + FD_FLOOR;
            snprintf(label, sizeof label, "%s case %zu dbeta vs FD", norm_names[nc->kind], t);
            expect_scaled(label, k.dbeta, fd, sc, C, K_GRAD);
            free(b);
        }
        free(x), free(g), free(fd), free(sc);
        free_kern(&k), free_vals(&v), free_ref(&r), free_inputs(&in);
    }
}

Test(norm, parameter_grads_accumulate_input_grad_overwrites_in_place_works, .init = open_cpu, .fini = close_cpu) {
    gc_seed_rng(801);
    for (size_t t = 0; t < NCASES; t++) {
        const norm_case *nc = &cases[t];
        inputs in = make_inputs(nc);
        nref r = ref_for(nc, &in);
        size_t n = r.n, C = (size_t)nc->channels;
        gb_norm_shape sh = {nc->batch, nc->channels, nc->spatial, nc->groups, nc->eps};
        kern_out k = run_kernels(&r, in.x, in.gamma, in.beta, in.dy, in.rm0, in.rv0, 0.1f);
        /* a second backward onto the same buffers: dinp rewritten, dgamma/dbeta doubled */
        float *dinp2 = gc_rand(n, 5, 6), *dg2 = gc_falloc(C), *db2 = gc_falloc(C);
        memcpy(dg2, k.dgamma, C * sizeof *dg2);
        memcpy(db2, k.dbeta, C * sizeof *db2);
        switch (nc->kind) {
            case BN_TRAIN:
                gb_batchnorm_backward_train(&dev, dinp2, dg2, db2, in.dy, in.x, in.gamma,
                                            k.save_mean, k.save_rstd, &sh);
                break;
            case BN_EVAL:
                gb_batchnorm_backward_eval(&dev, dinp2, dg2, db2, in.dy, in.x, in.gamma, in.rm0,
                                           in.rv0, &sh);
                break;
            case GN:
                gb_groupnorm_backward(&dev, dinp2, dg2, db2, in.dy, in.x, in.gamma, k.save_mean,
                                      k.save_rstd, &sh);
                break;
            case LN:
                gb_layernorm_channels_backward(&dev, dinp2, dg2, in.dy, in.x, in.gamma, k.save_mean,
                                               k.save_rstd, &sh);
                break;
            }
        cr_expect_eq(memcmp(dinp2, k.dinp, n * sizeof *dinp2), 0, "%s case %zu: dinp not overwritten",
                     norm_names[nc->kind], t);
        for (size_t c = 0; c < C; c++) {
            cr_expect_eq(dg2[c], 2 * k.dgamma[c], "%s case %zu: dgamma[%zu] %g, want 2 x %g",
                         norm_names[nc->kind], t, c, (double)dg2[c], (double)k.dgamma[c]);
            if (nc->kind != LN)
                cr_expect_eq(db2[c], 2 * k.dbeta[c], "%s case %zu: dbeta[%zu] %g, want 2 x %g",
                             norm_names[nc->kind], t, c, (double)db2[c], (double)k.dbeta[c]);
        }
        /* in place: out == inp and dinp == dout give the same bits */
        float *io = gc_falloc(n), *dio = gc_falloc(n), *sm = gc_falloc(r.nsets), *sr = gc_falloc(r.nsets);
        float *rm = gc_falloc(C), *rv = gc_falloc(C);
        memcpy(io, in.x, n * sizeof *io);
        memcpy(dio, in.dy, n * sizeof *dio);
        memcpy(rm, in.rm0, C * sizeof *rm);
        memcpy(rv, in.rv0, C * sizeof *rv);
        switch (nc->kind) {
        case BN_TRAIN:
            gb_batchnorm_forward_train(&dev, io, sm, sr, rm, rv, io, in.gamma, in.beta, &sh, 0.1f);
            gb_batchnorm_backward_train(&dev, dio, NULL, NULL, dio, in.x, in.gamma, sm, sr, &sh);
            break;
        case BN_EVAL:
            gb_batchnorm_forward_eval(&dev, io, io, in.gamma, in.beta, rm, rv, &sh);
            gb_batchnorm_backward_eval(&dev, dio, NULL, NULL, dio, in.x, in.gamma, rm, rv, &sh);
            break;
        case GN:
            gb_groupnorm_forward(&dev, io, sm, sr, io, in.gamma, in.beta, &sh);
            gb_groupnorm_backward(&dev, dio, NULL, NULL, dio, in.x, in.gamma, sm, sr, &sh);
            break;
        case LN:
            gb_layernorm_channels_forward(&dev, io, sm, sr, io, in.gamma, &sh);
            gb_layernorm_channels_backward(&dev, dio, NULL, dio, in.x, in.gamma, sm, sr, &sh);
            break;
        }
        cr_expect_eq(memcmp(io, k.out, n * sizeof *io), 0, "%s case %zu: in-place forward differs",
                     norm_names[nc->kind], t);
        cr_expect_eq(memcmp(dio, k.dinp, n * sizeof *dio), 0, "%s case %zu: in-place backward differs",
                     norm_names[nc->kind], t);
        free(dinp2), free(dg2), free(db2), free(io), free(dio), free(sm), free(sr), free(rm), free(rv);
        free_kern(&k), free_ref(&r), free_inputs(&in);
    }
}

/* ---- PyTorch ---- */

typedef struct {
    const char *prefix, *name;
    norm_kind kind;
    int batch, channels, spatial, groups;
    float eps, momentum;
} torch_case;

static const torch_case torch_cases[] = {
    {"bn", "a", BN_TRAIN, 4, 5, 21, 0, 1e-5f, 0.1f}, {"bn", "b", BN_TRAIN, 1, 3, 10, 0, 1e-3f, 0.3f},
    {"bn", "c", BN_TRAIN, 6, 11, 1, 0, 1e-5f, 0.1f}, {"bn", "d", BN_TRAIN, 2, 3, 135, 0, 1e-5f, 0.1f},
    {"gn", "a", GN, 2, 6, 15, 3, 1e-5f, 0},          {"gn", "b", GN, 1, 12, 16, 4, 1e-5f, 0},
    {"gn", "c", GN, 3, 10, 7, 5, 1e-5f, 0},          {"gn", "d", GN, 2, 8, 9, 8, 1e-5f, 0},
    {"gn", "e", GN, 2, 5, 6, 1, 1e-5f, 0},           {"gn", "f", GN, 2, 16, 143, 4, 1e-5f, 0},
    {"ln", "a", LN, 2, 5, 12, 0, 1e-5f, 0},          {"ln", "b", LN, 1, 3, 35, 0, 1e-5f, 0},
    {"ln", "c", LN, 3, 9, 1, 0, 1e-5f, 0},           {"ln", "d", LN, 1, 4, 130, 0, 1e-5f, 0},
};

static float *load_part(const torch_case *tc, const char *part, size_t n) {
    char name[96];
    snprintf(name, sizeof name, "%s_%s_%s", tc->prefix, tc->name, part);
    return load(name, n);
}

static void compare_torch(const torch_case *tc, norm_kind kind, const kern_out *k, const ref_vals *v,
                          size_t n, size_t C, const char *out_part, const char *dinp_part,
                          const char *dg_part, const char *db_part) {
    char label[96];
    float *want = load_part(tc, out_part, n);
    snprintf(label, sizeof label, "%s_%s_%s vs PyTorch", tc->prefix, tc->name, out_part);
    expect_scaled_f(label, k->out, want, v->s_out, n, K_TORCH);
    free(want);
    want = load_part(tc, dinp_part, n);
    snprintf(label, sizeof label, "%s_%s_%s vs PyTorch", tc->prefix, tc->name, dinp_part);
    expect_scaled_f(label, k->dinp, want, v->s_dinp, n, K_TORCH);
    free(want);
    want = load_part(tc, dg_part, C);
    snprintf(label, sizeof label, "%s_%s_%s vs PyTorch", tc->prefix, tc->name, dg_part);
    expect_scaled_f(label, k->dgamma, want, v->s_dgamma, C, K_TORCH);
    free(want);
    if (kind != LN) {
        want = load_part(tc, db_part, C);
        snprintf(label, sizeof label, "%s_%s_%s vs PyTorch", tc->prefix, tc->name, db_part);
        expect_scaled_f(label, k->dbeta, want, v->s_dbeta, C, K_TORCH);
        free(want);
    }
}

Test(norm, matches_pytorch, .init = open_cpu, .fini = close_cpu) {
    gc_seed_rng(0);
    for (size_t t = 0; t < sizeof torch_cases / sizeof *torch_cases; t++) {
        const torch_case *tc = &torch_cases[t];
        size_t C = (size_t)tc->channels, n = (size_t)tc->batch * C * tc->spatial;
        inputs in;
        memset(&in, 0, sizeof in);
        in.x = load_part(tc, "inp", n);
        in.dy = load_part(tc, "dout", n);
        in.gamma = load_part(tc, tc->kind == LN ? "g" : "gamma", C);
        in.beta = tc->kind == LN ? NULL : load_part(tc, "beta", C);
        if (tc->kind == BN_TRAIN) {
            in.rm0 = load_part(tc, "rm0", C);
            in.rv0 = load_part(tc, "rv0", C);
        } else {
            in.rm0 = gc_falloc(C);
            in.rv0 = gc_falloc(C);
        }
        in.x64 = gc_to_double(in.x, n), in.dy64 = gc_to_double(in.dy, n);
        in.gamma64 = gc_to_double(in.gamma, C);
        in.beta64 = in.beta ? gc_to_double(in.beta, C) : NULL;
        in.rm64 = gc_to_double(in.rm0, C), in.rv64 = gc_to_double(in.rv0, C);
        norm_case nc = {tc->kind, tc->batch, tc->channels, tc->spatial, tc->groups, tc->eps};
        nref r = ref_for(&nc, &in);
        ref_vals v = ref_compute(&r, in.dy64);
        kern_out k = run_kernels(&r, in.x, in.gamma, in.beta, in.dy, in.rm0, in.rv0, tc->momentum);
        compare_torch(tc, tc->kind, &k, &v, n, C, "out", "dinp", tc->kind == LN ? "dg" : "dgamma",
                      "dbeta");
        if (tc->kind == BN_TRAIN) {
            char label[96];
            double *sc = gc_dalloc(C);
            float *want = load_part(tc, "rm1", C);
            for (size_t c = 0; c < C; c++) sc[c] = fabs(want[c]) + fabs(in.rm0[c]) + fabs(v.mean[c]);
            snprintf(label, sizeof label, "bn_%s running_mean vs PyTorch", tc->name);
            expect_scaled_f(label, k.rm, want, sc, C, K_TORCH);
            free(want);
            want = load_part(tc, "rv1", C);
            for (size_t c = 0; c < C; c++) sc[c] = fabs(want[c]) + fabs(in.rv0[c]);
            snprintf(label, sizeof label, "bn_%s running_var vs PyTorch", tc->name);
            expect_scaled_f(label, k.rv, want, sc, C, K_TORCH);
            free(want), free(sc);
            /* eval mode with the old running statistics */
            nref re = ref_for(&(norm_case){BN_EVAL, tc->batch, tc->channels, tc->spatial, 0, tc->eps},
                              &in);
            ref_vals ve = ref_compute(&re, in.dy64);
            kern_out ke = run_kernels(&re, in.x, in.gamma, in.beta, in.dy, in.rm0, in.rv0, 0);
            compare_torch(tc, BN_EVAL, &ke, &ve, n, C, "eval_out", "eval_dinp", "eval_dgamma",
                          "eval_dbeta");
            free_kern(&ke), free_vals(&ve), free_ref(&re);
        }
        free_kern(&k), free_vals(&v), free_ref(&r), free_inputs(&in);
    }
}

Test(norm, batchnorm_refuses_one_value_per_channel, .init = open_cpu, .fini = close_cpu, .signal = SIGABRT) {
    float x[3] = {1, 2, 3}, out[3], sm[3], sr[3];
    gb_norm_shape sh = {1, 3, 1, 0, 1e-5f};
    gb_batchnorm_forward_train(&dev, out, sm, sr, NULL, NULL, x, NULL, NULL, &sh, 0.1f);
}

/* The thread-count tests below run every op on devices with 1, 2 and 3 threads. res holds
 * THREAD_RUNS x outs buffers (run t, output k at res[t * outs + k], sizes[k] floats), each
 * filled with 0.375 first: the accumulated gradients add onto it. */
enum { THREAD_RUNS = 3 };

static void alloc_thread_results(float **res, const size_t *sizes, int outs) {
    for (int t = 0; t < THREAD_RUNS; t++)
        for (int k = 0; k < outs; k++) {
            float *r = res[t * outs + k] = gc_falloc(sizes[k]);
            for (size_t i = 0; i < sizes[k]; i++) r[i] = 0.375f;
        }
}

/* Every run's outputs against the 1-thread run's, bit for bit; then frees them. */
static void expect_thread_results_equal(float **res, const size_t *sizes, int outs, const char *what) {
    for (int t = 1; t < THREAD_RUNS; t++)
        for (int k = 0; k < outs; k++)
            cr_expect_eq(memcmp(res[t * outs + k], res[k], sizes[k] * sizeof(float)), 0,
                         "%s output %d: %d threads differ from 1", what, k, t + 1);
    for (int i = 0; i < THREAD_RUNS * outs; i++) free(res[i]);
}

/* BatchNorm is cut over channels into gb_parallel_for slices (kernels/cpu/parallel.h): every
 * output (out, statistics, running statistics, dinp, the accumulated dgamma/dbeta) must be the
 * same bits with 1, 2 and 3 threads. 4 x 90 x 100 values: 32768 / 400 = 81 channels a slice at
 * most, so 2 and 3 threads each cut the channels. */
Test(norm, batchnorm_bits_do_not_depend_on_the_thread_count) {
    gc_seed_rng(977);
    enum { B = 4, C = 90, S = 100, N = B * C * S, OUTS = 14 };
    gb_norm_shape sh = {B, C, S, 1, 1e-5f};
    float *x = gc_rand(N, -2, 3), *dy = gc_rand(N, -1, 1), *gamma = gc_rand(C, 0.5f, 1.5f);
    float *beta = gc_rand(C, -1, 1), *rm0 = gc_rand(C, -0.5f, 0.5f), *rv0 = gc_rand(C, 0.5f, 2);
    static const size_t sizes[OUTS] = {N, C, C, C, C, N, C, C, N, N, C, C, N, N};
    float *res[THREAD_RUNS * OUTS];
    alloc_thread_results(res, sizes, OUTS);
    for (int t = 0; t < THREAD_RUNS; t++) {
        gb_device d;
        cr_assert_eq(gb_device_open(&d, "cpu", t + 1), GB_OK, "gb_device_open(cpu, %d): %s", t + 1, gb_last_error());
        float **r = res + t * OUTS;
        memcpy(r[3], rm0, C * sizeof(float));
        memcpy(r[4], rv0, C * sizeof(float));
        gb_batchnorm_forward_train(&d, r[0], r[1], r[2], r[3], r[4], x, gamma, beta, &sh, 0.1f);
        gb_batchnorm_backward_train(&d, r[5], r[6], r[7], dy, x, gamma, r[1], r[2], &sh);
        gb_batchnorm_forward_eval(&d, r[8], x, gamma, beta, rm0, rv0, &sh);
        gb_batchnorm_backward_eval(&d, r[9], r[10], r[11], dy, x, gamma, rm0, rv0, &sh);
        memcpy(r[12], x, N * sizeof(float));
        gb_batchnorm_forward_train(&d, r[12], NULL, NULL, NULL, NULL, r[12], gamma, beta, &sh, 0.1f);
        memcpy(r[13], dy, N * sizeof(float));
        gb_batchnorm_backward_train(&d, r[13], NULL, NULL, r[13], x, gamma, r[1], r[2], &sh);
        gb_device_close(&d);
    }
    expect_thread_results_equal(res, sizes, OUTS, "batchnorm");
    free(x), free(dy), free(gamma), free(beta), free(rm0), free(rv0);
}

/* GroupNorm is cut over (sample, group) pairs, and its dgamma/dbeta over channels, into
 * gb_parallel_for slices: out, the statistics, dinp and the accumulated dgamma/dbeta must be
 * the same bits with 1, 2 and 3 threads. 6 x 96 x 37 values, 8 groups: 48 pairs of 444 values,
 * 19 pairs a slice at least, so 2 and 3 threads each cut the pairs. */
Test(norm, groupnorm_bits_do_not_depend_on_the_thread_count) {
    gc_seed_rng(978);
    enum { B = 6, C = 96, S = 37, N = B * C * S, OUTS = 6 };
    gb_norm_shape sh = {B, C, S, 8, 1e-5f};
    float *x = gc_rand(N, -2, 3), *dy = gc_rand(N, -1, 1), *gamma = gc_rand(C, 0.5f, 1.5f);
    float *beta = gc_rand(C, -1, 1);
    static const size_t sizes[OUTS] = {N, B * 8, B * 8, N, C, C};
    float *res[THREAD_RUNS * OUTS];
    alloc_thread_results(res, sizes, OUTS);
    for (int t = 0; t < THREAD_RUNS; t++) {
        gb_device d;
        cr_assert_eq(gb_device_open(&d, "cpu", t + 1), GB_OK, "gb_device_open(cpu, %d): %s", t + 1, gb_last_error());
        float **r = res + t * OUTS;
        gb_groupnorm_forward(&d, r[0], r[1], r[2], x, gamma, beta, &sh);
        gb_groupnorm_backward(&d, r[3], r[4], r[5], dy, x, gamma, r[1], r[2], &sh);
        gb_device_close(&d);
    }
    expect_thread_results_equal(res, sizes, OUTS, "groupnorm");
    free(x), free(dy), free(gamma), free(beta);
}
