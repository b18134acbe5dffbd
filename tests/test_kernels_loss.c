/* tests/test_kernels_loss.c - the CPU losses, reparameterisation, clip_grad_norm and the
 * host-side lr/beta schedules against independent references.
 *
 * References: float64 transcriptions written here in a different algebraic form
 * than the kernels (BCE as t*softplus(-x) + (1-t)*softplus(x), KL as
 * (mu^2 + e^{2ls} - 1 - 2ls)/2, logsumexp in long double), differentiated by
 * central finite differences (tests/gradcheck.h gc_fd_vjp); PyTorch values
 * written by tests/peers/kernels_loss.py into $GB_FIXTURES/kernels_loss/.
 * The CPU backend's memory is plain host memory, so buffers are malloc'd.
 * Every tolerance is derived in tests/tolerances.md (section "losses, optimiser
 * helpers, embeddings, coupling"); the code repeats the formula next to each check.
 * The embeddings and the coupling are in tests/test_kernels_embed_coupling.c.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/lr_schedule.h"
#include "tests/fixture.h"
#include "tests/gradcheck.h"

#define U GC_U32

static gb_device dev;
static void open_cpu(void) {
    cr_assert_eq(gb_device_open(&dev, "cpu", 1), GB_OK, "gb_device_open(cpu): %s", gb_last_error());
}
static void close_cpu(void) { gb_device_close(&dev); }
TestSuite(loss, .init = open_cpu, .fini = close_cpu);
TestSuite(loss_torch, .init = open_cpu, .fini = close_cpu);
TestSuite(clip, .init = open_cpu, .fini = close_cpu);
TestSuite(schedule);

/* ---- helpers ----------------------------------------------------------------------- */

static float *fx(const char *name, size_t n) {
    char rel[256];
    snprintf(rel, sizeof rel, "kernels_loss/%s.f32", name);
    return fixture_f32(rel, n);
}

/* $GB_FIXTURES/kernels_loss/<name>.f64: exactly n little-endian doubles. */
static double *fx64(const char *name, size_t n) {
    const char *root = getenv("GB_FIXTURES");
    if (!root) cr_assert_fail("GB_FIXTURES is not set: run the tests with `make test`");
    char path[1024];
    snprintf(path, sizeof path, "%s/kernels_loss/%s.f64", root, name);
    FILE *fp = fopen(path, "rb");
    if (!fp) cr_assert_fail("fixture %s is missing: run /usr/bin/python3 tests/peers/kernels_loss.py %s", path, root);
    double *d = gc_dalloc(n);
    size_t got = fread(d, sizeof *d, n, fp);
    int extra = fgetc(fp);
    fclose(fp);
    if (got != n || extra != EOF) cr_assert_fail("fixture %s: expected exactly %zu float64 values", path, n);
    return d;
}

/* |got[i] - ref[i]| <= tol[i] for each i; logs the first misses with the seed. */
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
        if (diff / (tol[i] > 0 ? tol[i] : 1e-300) > worst) worst = diff / (tol[i] > 0 ? tol[i] : 1e-300);
    }
    cr_log_info("%s: worst diff/tol %.3g over %zu", label, worst, n); /* shown with --verbose */
    cr_expect_eq(bad, 0, "%s: %zu of %zu out of tolerance (worst diff/tol %.3g, seed %llu)", label, bad,
                 n, worst, (unsigned long long)gc_seed);
}

static void expect_scalar(const char *label, float got, double ref, double tol) {
    expect_within(label, &got, &ref, &tol, 1);
}

/* the NULL-target convention */
static double tgt(const float *t, float value, size_t i) { return t ? (double)t[i] : (double)value; }

static double softplus64(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

/* ---- binary cross-entropy with logits ----------------------------------------------- */

typedef struct {
    const float *target;
    float value;
    size_t n;
    double weight;
} bce_ctx;

/* -t log sigmoid(x) - (1-t) log(1 - sigmoid(x)) = t softplus(-x) + (1-t) softplus(x) */
static void bce64(void *c, const double *x, double *y) {
    const bce_ctx *k = c;
    double acc = 0;
    for (size_t i = 0; i < k->n; i++) {
        double t = tgt(k->target, k->value, i);
        acc += t * softplus64(-x[i]) + (1 - t) * softplus64(x[i]);
    }
    y[0] = k->weight * acc / (double)k->n;
}

Test(loss, bce_with_logits_matches_float64_and_fd) {
    gc_seed_rng(101);
    const size_t sizes[] = {1, 6, 37};
    const float extreme[] = {-100.f, -60.f, -51.f, -1e-3f, 0.f, 1e-3f, 51.f, 60.f, 100.f};
    for (int mode = 0; mode < 3; mode++) /* targets in (0,1), NULL target 1, NULL target 0 */
        for (size_t si = 0; si < 3; si++) {
            const size_t n = sizes[si];
            float *x = gc_rand(n, -8, 8), *t = gc_rand(n, 0.01f, 0.99f);
            for (size_t i = 0; i < n && n > 1; i++)
                if (i % 3 == 0) x[i] = extreme[(i / 3) % 9];
            bce_ctx ctx = {mode == 0 ? t : NULL, mode == 1 ? 1.0f : 0.0f, n, mode == 2 ? 0.5 : 1.0};
            float loss, *d = gc_falloc(n);
            gb_bce_with_logits(&dev, &loss, d, x, ctx.target, ctx.value, n, (float)ctx.weight);
            double *xd = gc_to_double(x, n), ref, one = 1.0, *fd = gc_dalloc(n), *tol = gc_dalloc(n);
            bce64(&ctx, xd, &ref);
            /* one rounding of a double sum of n double terms */
            expect_scalar("bce loss", loss, ref, 1.01 * U * fabs(ref) + 1e-300);
            gc_fd_vjp(bce64, &ctx, xd, n, 1, &one, 1e-4, fd);
            /* one rounding, plus the FD error (eps64*|L|/h + h^2/6*|f'''|*w/n < 1e-9 w) */
            for (size_t i = 0; i < n; i++) tol[i] = U * fabs(fd[i]) + 1e-9 * ctx.weight;
            expect_within("bce dlogits", d, fd, tol, n);
            /* the NULL-gradient path gives the same loss */
            float loss2;
            gb_bce_with_logits(&dev, &loss2, NULL, x, ctx.target, ctx.value, n, (float)ctx.weight);
            cr_expect_eq(loss2, loss, "bce loss without gradient differs");
            free(x), free(t), free(d), free(xd), free(fd), free(tol);
        }
}

Test(loss_torch, bce_with_logits_matches_pytorch) {
    const struct { const char *c; size_t n; int null_target; float value, weight; } cases[] = {
        {"a", 37, 0, 0, 1.0f}, {"b", 1, 1, 1.0f, 0.5f}, {"c", 6, 1, 0.0f, 1.0f}};
    for (int k = 0; k < 3; k++) {
        char name[64];
        const size_t n = cases[k].n;
        const double w = cases[k].weight;
#define LOAD(var, what, cnt) snprintf(name, sizeof name, "bce_%s_" what, cases[k].c); float *var = fx(name, cnt)
        LOAD(x, "logits", n);
        LOAD(t, "target", n);
        LOAD(tl, "loss", 1);
        LOAD(td, "dlogits", n);
#undef LOAD
        float loss, *d = gc_falloc(n);
        gb_bce_with_logits(&dev, &loss, d, x, cases[k].null_target ? NULL : t, cases[k].value, n,
                           (float)w);
        /* torch: 8 float roundings per term on magnitudes <= 2|x|+1, a float sum of n
         * terms ((n-1)u sum|term|, worst order), the mean and weight (2u) */
        double per = 0;
        for (size_t i = 0; i < n; i++) per += 8 * U * (2 * fabs(x[i]) + 1);
        expect_scalar("bce loss vs torch", loss, tl[0], w / (double)n * per + (n + 3) * U * fabs(tl[0]));
        /* torch: (sigmoid(x) - t)*w/n: sigmoid 2u, subtract u(|s|+|t|), 2 roundings */
        double *ref = gc_to_double(td, n), *tol = gc_dalloc(n);
        for (size_t i = 0; i < n; i++) tol[i] = w / (double)n * 6 * U + 4 * U * fabs(ref[i]);
        expect_within("bce dlogits vs torch", d, ref, tol, n);
        free(x), free(t), free(tl), free(td), free(d), free(ref), free(tol);
    }
}

/* ---- squared error --------------------------------------------------------------------- */

typedef struct {
    const float *target;
    float value;
    size_t n;
    double divisor;
} sq_ctx;

static void sq64(void *c, const double *x, double *y) {
    const sq_ctx *k = c;
    double acc = 0;
    for (size_t i = 0; i < k->n; i++) {
        double d = x[i] - tgt(k->target, k->value, i);
        acc += d * d;
    }
    y[0] = acc / k->divisor;
}

Test(loss, sq_error_divisors_match_float64_and_fd) {
    gc_seed_rng(202);
    const size_t sizes[] = {1, 35, 54};
    for (int mode = 0; mode < 3; mode++)
        for (size_t si = 0; si < 3; si++) {
            const size_t n = sizes[si];
            float *p = gc_rand(n, -3, 3), *t = gc_rand(n, -3, 3);
            /* MSE (n), per-sample sum averaged over 3 rows, LSGAN's 1/2 E[(D-1)^2] (2n) */
            const double div = mode == 0 ? (double)n : mode == 1 ? 3.0 : 2.0 * (double)n;
            sq_ctx ctx = {mode == 2 ? NULL : t, 1.0f, n, div};
            float loss, *d = gc_falloc(n);
            gb_sq_error(&dev, &loss, d, p, ctx.target, ctx.value, n, div);
            double *pd = gc_to_double(p, n), ref, one = 1.0, *fd = gc_dalloc(n), *tol = gc_dalloc(n);
            sq64(&ctx, pd, &ref);
            expect_scalar("sq loss", loss, ref, 1.01 * U * ref + 1e-300);
            /* the loss is quadratic: central differences are exact up to eps64*|L|/h */
            gc_fd_vjp(sq64, &ctx, pd, n, 1, &one, 1e-3, fd);
            for (size_t i = 0; i < n; i++) tol[i] = U * fabs(fd[i]) + 1e-10;
            expect_within("sq dpred", d, fd, tol, n);
            free(p), free(t), free(d), free(pd), free(fd), free(tol);
        }
}

Test(loss_torch, sq_error_matches_pytorch) {
    const struct { const char *c; size_t n; double div; int null_target; } cases[] = {
        {"mse", 35, 35, 0}, {"rows", 54, 3, 0}, {"lsgan", 9, 18, 1}, {"one", 1, 1, 0}};
    for (int k = 0; k < 4; k++) {
        char name[64];
        const size_t n = cases[k].n;
#define LOAD(var, what, cnt) snprintf(name, sizeof name, "sq_%s_" what, cases[k].c); float *var = fx(name, cnt)
        LOAD(p, "pred", n);
        LOAD(t, "target", n);
        LOAD(tl, "loss", 1);
        LOAD(td, "dpred", n);
#undef LOAD
        float loss, *d = gc_falloc(n);
        gb_sq_error(&dev, &loss, d, p, cases[k].null_target ? NULL : t, 1.0f, n, cases[k].div);
        /* nonnegative terms, 2 roundings each, a float sum of n (worst order), the divide */
        expect_scalar("sq loss vs torch", loss, tl[0], (n + 4) * U * fabs(tl[0]));
        /* torch: (p - t) * (2/n) * grad, <= 4 roundings; mine 1 */
        double *ref = gc_to_double(td, n), *tol = gc_dalloc(n);
        for (size_t i = 0; i < n; i++) tol[i] = 6 * U * fabs(ref[i]) + 1e-45;
        expect_within("sq dpred vs torch", d, ref, tol, n);
        free(p), free(t), free(tl), free(td), free(d), free(ref), free(tol);
    }
}

/* ---- cross-entropy ----------------------------------------------------------------------- */

typedef struct {
    const int32_t *labels;
    size_t rows, classes;
    double weight;
} ce_ctx;

/* weight * mean_r (logsumexp(x_r) - x_r[label]) in long double */
static void ce64(void *c, const double *x, double *y) {
    const ce_ctx *k = c;
    long double acc = 0;
    for (size_t r = 0; r < k->rows; r++) {
        const double *row = x + r * k->classes;
        long double m = row[0], s = 0;
        for (size_t j = 1; j < k->classes; j++) if (row[j] > m) m = row[j];
        for (size_t j = 0; j < k->classes; j++) s += expl((long double)row[j] - m);
        acc += m + logl(s) - row[k->labels[r]];
    }
    y[0] = (double)(acc * k->weight / (long double)k->rows);
}

Test(loss, cross_entropy_matches_float64_and_fd) {
    gc_seed_rng(303);
    const size_t shapes[][2] = {{1, 1}, {1, 3}, {4, 1}, {7, 10}, {5, 33}};
    for (size_t si = 0; si < 5; si++) {
        const size_t rows = shapes[si][0], classes = shapes[si][1], n = rows * classes;
        float *x = gc_rand(n, -6, 6);
        if (n > 4) x[0] = 80.0f, x[1] = -80.0f, x[3] = 79.5f; /* stability */
        int32_t *lab = malloc(rows * sizeof *lab);
        for (size_t r = 0; r < rows; r++) lab[r] = (int32_t)(gc_next() % classes);
        if (n > 4) lab[0] = 1; /* the -80 logit: loss ~160 */
        ce_ctx ctx = {lab, rows, classes, si == 1 ? 0.5 : 1.0};
        float loss, *d = gc_falloc(n);
        gb_cross_entropy(&dev, &loss, d, x, lab, rows, classes, (float)ctx.weight);
        double *xd = gc_to_double(x, n), ref, one = 1.0, *fd = gc_dalloc(n), *tol = gc_dalloc(n);
        ce64(&ctx, xd, &ref);
        /* one rounding of the double sum; double logsumexp error ~eps64*(|m|+log C) per row */
        expect_scalar("ce loss", loss, ref, 1.01 * U * fabs(ref) + 1e-13);
        gc_fd_vjp(ce64, &ctx, xd, n, 1, &one, 1e-4, fd);
        /* one rounding; FD: eps64*|L|/h ~ 1e-10, h^2/6*|f'''| <= 1e-9 */
        for (size_t i = 0; i < n; i++) tol[i] = U * fabs(fd[i]) + 2e-9 * ctx.weight;
        expect_within("ce dlogits", d, fd, tol, n);
        free(x), free(lab), free(d), free(xd), free(fd), free(tol);
    }
}

Test(loss_torch, cross_entropy_matches_pytorch) {
    const struct { const char *c; size_t rows, classes; float weight; } cases[] = {
        {"a", 7, 10, 1.0f}, {"b", 1, 3, 0.5f}, {"c", 4, 1, 1.0f}};
    for (int k = 0; k < 3; k++) {
        char name[64];
        const size_t rows = cases[k].rows, C = cases[k].classes, n = rows * C;
        const double w = cases[k].weight;
#define LOAD(var, what, cnt) snprintf(name, sizeof name, "ce_%s_" what, cases[k].c); float *var = fx(name, cnt)
        LOAD(x, "logits", n);
        LOAD(lf, "labels", rows);
        LOAD(tl, "loss", 1);
        LOAD(td, "dlogits", n);
#undef LOAD
        int32_t *lab = malloc(rows * sizeof *lab);
        for (size_t r = 0; r < rows; r++) lab[r] = (int32_t)lf[r];
        float loss, *d = gc_falloc(n);
        gb_cross_entropy(&dev, &loss, d, x, lab, rows, C, (float)w);
        /* torch log_softmax: per row the loss carries ~4u(|m| + |x_label| + 2 log C + 1),
         * then a float mean of rows terms and the weight */
        double per = 0, *ref = gc_to_double(td, n), *tol = gc_dalloc(n);
        for (size_t r = 0; r < rows; r++) {
            const float *row = x + r * C;
            double m = row[0], s = 0;
            for (size_t j = 1; j < C; j++) m = fmax(m, row[j]);
            for (size_t j = 0; j < C; j++) s += exp(row[j] - m);
            const double lse = m + log(s);
            per += 4 * U * (fabs(m) + fabs(row[lab[r]]) + 2 * log((double)C) + 1);
            /* p_j = exp(x_j - lse) from a float out_j off by u(|x_j| + |m| + 2): abs error
             * 2u(|x_j| + |m| + 2) p_j, then (p - onehot) * w / rows rounds <= 3 times */
            for (size_t j = 0; j < C; j++) {
                double p = exp(row[j] - lse);
                tol[r * C + j] = w / (double)rows * (2 * U * (fabs(row[j]) + fabs(m) + 2) * p + 2 * U) +
                                 4 * U * fabs(ref[r * C + j]);
            }
        }
        expect_scalar("ce loss vs torch", loss, tl[0], w / (double)rows * per + (rows + 3) * U * fabs(tl[0]));
        expect_within("ce dlogits vs torch", d, ref, tol, n);
        free(x), free(lf), free(tl), free(td), free(lab), free(d), free(ref), free(tol);
    }
}

/* ---- Gaussian KL ---------------------------------------------------------------------------- */

typedef struct {
    size_t rows, cols;
    double weight;
} kl_ctx;

/* x = [mu (rows*cols), log_std (rows*cols)]; weight/rows * sum (mu^2 + e^{2ls} - 1 - 2 ls)/2 */
static void kl64(void *c, const double *x, double *y) {
    const kl_ctx *k = c;
    const size_t n = k->rows * k->cols;
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        double m = x[i], ls = x[n + i];
        acc += 0.5 * (m * m + expm1(2 * ls) - 2 * ls);
    }
    y[0] = k->weight * acc / (double)k->rows;
}

Test(loss, gaussian_kl_matches_float64_and_fd) {
    gc_seed_rng(404);
    const size_t shapes[][2] = {{1, 1}, {1, 3}, {5, 7}, {3, 64}};
    for (size_t si = 0; si < 4; si++) {
        const size_t rows = shapes[si][0], cols = shapes[si][1], n = rows * cols;
        float *mu = gc_rand(n, -2, 2), *ls = gc_rand(n, -3, 3);
        /* extremes only in the 1-row cases: a term of e^16 would swamp the FD of the others */
        if (n == 1) ls[0] = 8.0f, mu[0] = 0.0f;
        if (n == 3) ls[0] = -8.0f, ls[1] = 0.0f, ls[2] = 1e-4f, mu[1] = 0.0f;
        kl_ctx ctx = {rows, cols, si == 1 ? 0.8 : 1.0};
        float loss, *dmu = gc_falloc(n), *dls = gc_falloc(n);
        gb_gaussian_kl(&dev, &loss, dmu, dls, mu, ls, rows, cols, (float)ctx.weight);
        double *xd = gc_dalloc(2 * n), ref, one = 1.0, *fd = gc_dalloc(2 * n), *tol = gc_dalloc(2 * n);
        for (size_t i = 0; i < n; i++) xd[i] = mu[i], xd[n + i] = ls[i];
        kl64(&ctx, xd, &ref);
        /* one rounding; the kernel's double form -ls - 1/2 + (e^{2ls} + mu^2)/2 cancels
         * to eps64 * (|ls| + e^{2ls} + mu^2) per term */
        expect_scalar("kl loss", loss, ref, 1.01 * U * ref + 1e-12 * (double)n);
        const double h = 1e-5;
        gc_fd_vjp(kl64, &ctx, xd, 2 * n, 1, &one, h, fd);
        /* one rounding, plus the FD error: rounding 4 eps64 L / h (the terms are >= 0, so
         * L bounds their sum) and truncation h^2/6 |f'''| = h^2/6 * 8 e^{2 ls} w/rows */
        double ls_max = -INFINITY;
        for (size_t i = 0; i < n; i++) ls_max = fmax(ls_max, ls[i]);
        const double fd_err = 4 * 2.3e-16 * ref / h + h * h / 6 * 8 * exp(2 * ls_max) * ctx.weight / rows;
        for (size_t i = 0; i < 2 * n; i++) tol[i] = U * fabs(fd[i]) + fd_err;
        expect_within("kl dmu", dmu, fd, tol, n);
        expect_within("kl dlog_std", dls, fd + n, tol + n, n);
        free(mu), free(ls), free(dmu), free(dls), free(xd), free(fd), free(tol);
    }
}

Test(loss_torch, gaussian_kl_matches_pytorch) {
    const struct { const char *c; size_t rows, cols; float weight; } cases[] = {{"a", 5, 7, 1.0f},
                                                                                {"b", 1, 3, 0.8f}};
    for (int k = 0; k < 2; k++) {
        char name[64];
        const size_t rows = cases[k].rows, cols = cases[k].cols, n = rows * cols;
        const double w = cases[k].weight;
#define LOAD(var, what, cnt) snprintf(name, sizeof name, "kl_%s_" what, cases[k].c); float *var = fx(name, cnt)
        LOAD(mu, "mu", n);
        LOAD(ls, "log_std", n);
        LOAD(tl, "loss", 1);
        LOAD(tmu, "dmu", n);
        LOAD(tls, "dlog_std", n);
#undef LOAD
        float loss, *dmu = gc_falloc(n), *dls = gc_falloc(n);
        gb_gaussian_kl(&dev, &loss, dmu, dls, mu, ls, rows, cols, (float)w);
        /* torch: ~6 roundings per term on M = |ls| + 1/2 + e^{2ls}/2 + mu^2/2, float sums
         * over cols then rows, the weight */
        double per = 0, *rmu = gc_to_double(tmu, n), *rls = gc_to_double(tls, n);
        double *tmu_tol = gc_dalloc(n), *tls_tol = gc_dalloc(n);
        for (size_t i = 0; i < n; i++) {
            const double e2 = exp(2.0 * ls[i]);
            per += 6 * U * (fabs(ls[i]) + 0.5 + e2 / 2 + (double)mu[i] * mu[i] / 2);
            /* dmu: <= 4 roundings; dls = -g + e^{2ls} g: cancellation, 4u g (1 + e^{2ls}) */
            tmu_tol[i] = 5 * U * fabs(rmu[i]) + 1e-45;
            tls_tol[i] = w / (double)rows * 4 * U * (1 + e2) + 2 * U * fabs(rls[i]);
        }
        expect_scalar("kl loss vs torch", loss, tl[0],
                      w / (double)rows * per + (rows + cols + 3) * U * fabs(tl[0]));
        expect_within("kl dmu vs torch", dmu, rmu, tmu_tol, n);
        expect_within("kl dlog_std vs torch", dls, rls, tls_tol, n);
        free(mu), free(ls), free(tl), free(tmu), free(tls), free(dmu), free(dls), free(rmu), free(rls);
        free(tmu_tol), free(tls_tol);
    }
}

/* ---- reparameterisation ---------------------------------------------------------------------- */

typedef struct {
    const float *eps;
    size_t n;
} rep_ctx;

/* x = [mu, log_std] -> z */
static void rep64(void *c, const double *x, double *y) {
    const rep_ctx *k = c;
    for (size_t i = 0; i < k->n; i++) y[i] = x[i] + exp(x[k->n + i]) * k->eps[i];
}

Test(loss, reparameterize_matches_float64_and_accumulates) {
    gc_seed_rng(505);
    const size_t n = 29;
    float *mu = gc_rand(n, -2, 2), *ls = gc_rand(n, -4, 3), *eps = gc_rand(n, -3, 3), *dz = gc_rand(n, -1, 1);
    float *z = gc_falloc(n);
    gb_reparameterize_forward(&dev, z, mu, ls, eps, n);
    double *ref = gc_dalloc(n), *tol = gc_dalloc(2 * n), *xd = gc_dalloc(2 * n);
    for (size_t i = 0; i < n; i++) xd[i] = mu[i], xd[n + i] = ls[i];
    rep_ctx ctx = {eps, n};
    rep64(&ctx, xd, ref);
    /* one rounding of a double evaluation (its own error eps64 * (|mu| + |std eps|)) */
    for (size_t i = 0; i < n; i++)
        tol[i] = U * fabs(ref[i]) + 1e-15 * (fabs(mu[i]) + exp(ls[i]) * fabs(eps[i])) + 1e-45;
    expect_within("z", z, ref, tol, n);

    /* backward ACCUMULATES onto what gaussian_kl wrote: start from g0 */
    float *g0 = gc_rand(2 * n, -1, 1), *g = malloc(2 * n * sizeof *g);
    memcpy(g, g0, 2 * n * sizeof *g);
    gb_reparameterize_backward(&dev, g, g + n, dz, ls, eps, n);
    double *dzd = gc_to_double(dz, n), *fd = gc_dalloc(2 * n);
    gc_fd_vjp(rep64, &ctx, xd, 2 * n, n, dzd, 1e-6, fd);
    /* one rounding of g0 + exact term; FD: eps64*|L|/h + h^2/6 e^{ls}|eps dz| < 1e-9 */
    for (size_t i = 0; i < 2 * n; i++) {
        fd[i] += g0[i];
        tol[i] = U * fabs(fd[i]) + 1e-9;
    }
    expect_within("dmu (accumulated)", g, fd, tol, n);
    expect_within("dlog_std (accumulated)", g + n, fd + n, tol + n, n);
    /* NULL skips that gradient */
    memcpy(g, g0, 2 * n * sizeof *g);
    gb_reparameterize_backward(&dev, NULL, g + n, dz, ls, eps, n);
    cr_expect(memcmp(g, g0, n * sizeof *g) == 0, "dmu NULL: nothing written");
    free(mu), free(ls), free(eps), free(dz), free(z), free(ref), free(tol), free(xd), free(g0), free(g);
    free(dzd), free(fd);
}

Test(loss_torch, reparameterize_matches_pytorch) {
    const size_t n = 23;
    float *mu = fx("rep_mu", n), *ls = fx("rep_log_std", n), *eps = fx("rep_eps", n), *dz = fx("rep_dz", n);
    float *tz = fx("rep_z", n), *tmu = fx("rep_dmu", n), *tls = fx("rep_dlog_std", n);
    float *z = gc_falloc(n), *g = gc_falloc(2 * n);
    gb_reparameterize_forward(&dev, z, mu, ls, eps, n);
    double *ref = gc_dalloc(2 * n), *tol = gc_dalloc(2 * n);
    for (size_t i = 0; i < n; i++) {
        const double se = exp(ls[i]) * fabs(eps[i]);
        ref[i] = tz[i];
        tol[i] = 4 * U * (fabs(mu[i]) + se); /* torch: exp 1 ulp, mul, add; mine 1 rounding */
    }
    expect_within("z vs torch", z, ref, tol, n);
    /* accumulate onto 0.25: torch's grads are of (z*dz).sum() alone */
    for (size_t i = 0; i < 2 * n; i++) g[i] = 0.25f;
    gb_reparameterize_backward(&dev, g, g + n, dz, ls, eps, n);
    for (size_t i = 0; i < n; i++) {
        ref[i] = 0.25 + tmu[i];
        tol[i] = U * fabs(ref[i]);
        ref[n + i] = 0.25 + tls[i];
        /* torch: dz*eps, *exp(ls): 3u of the term; then one rounding of the sum */
        tol[n + i] = 4 * U * fabs(tls[i]) + U * fabs(ref[n + i]);
    }
    expect_within("dmu vs torch", g, ref, tol, n);
    expect_within("dlog_std vs torch", g + n, ref + n, tol + n, n);
    free(mu), free(ls), free(eps), free(dz), free(tz), free(tmu), free(tls), free(z), free(g);
    free(ref), free(tol);
}

/* ---- clip_grad_norm ------------------------------------------------------------------------- */

Test(clip, matches_float64_clipping_and_not) {
    gc_seed_rng(606);
    const size_t n = 1001;
    float *g = gc_rand(n, -1, 1), *keep = malloc(n * sizeof *keep);
    double acc = 0;
    for (size_t i = 0; i < n; i++) acc += (double)g[i] * g[i];
    const double total = sqrt(acc);
    const float maxes[] = {1.0f, (float)total * 0.999f, 100.0f, (float)(2 * total)};
    for (int k = 0; k < 4; k++) {
        memcpy(keep, g, n * sizeof *g);
        float tn = -1;
        gb_clip_grad_norm(&dev, keep, n, maxes[k], &tn);
        expect_scalar("total norm", tn, total, 1.01 * U * total); /* one rounding */
        const double coef = maxes[k] / (total + 1e-6);
        if (coef < 1) {
            /* float coefficient: total, +1e-6, reciprocal, *max_norm: 4 roundings; the product 1 */
            double *ref = gc_dalloc(n), *tol = gc_dalloc(n);
            for (size_t i = 0; i < n; i++) ref[i] = g[i] * coef, tol[i] = 5.01 * U * fabs(ref[i]);
            expect_within("clipped grads", keep, ref, tol, n);
            free(ref), free(tol);
        } else {
            cr_expect(memcmp(keep, g, n * sizeof *g) == 0, "max_norm %g >= norm %g: grads must be untouched",
                      maxes[k], total);
        }
    }
    /* total_norm may be NULL; an empty block has norm 0 and is left alone */
    memcpy(keep, g, n * sizeof *g);
    gb_clip_grad_norm(&dev, keep, n, 1.0f, NULL);
    float tn = -1;
    gb_clip_grad_norm(&dev, keep, 0, 1.0f, &tn);
    cr_expect_eq(tn, 0.0f);
    /* a NaN gradient makes every gradient NaN, as torch's clamp(NaN) * g does */
    memcpy(keep, g, n * sizeof *g);
    keep[7] = NAN;
    gb_clip_grad_norm(&dev, keep, n, 1.0f, &tn);
    cr_expect(isnan(tn) && isnan(keep[0]) && isnan(keep[n - 1]), "NaN norm propagates to the grads");
    free(g), free(keep);
}

Test(clip, matches_pytorch_multi_tensor) {
    /* 4 tensors laid out contiguously: 7x5, 5, 3x2x2x2, 1 */
    const size_t n = 65, largest = 35, tensors = 4;
    const struct { const char *c; float max_norm; } cases[] = {{"clip", 1.0f}, {"noclip", 100.0f}};
    for (int k = 0; k < 2; k++) {
        char name[64];
#define LOAD(var, what, cnt) snprintf(name, sizeof name, "clip_%s_" what, cases[k].c); float *var = fx(name, cnt)
        LOAD(g, "grads", n);
        LOAD(ttotal, "total", 1);
        LOAD(tclip, "clipped", n);
#undef LOAD
        float tn;
        gb_clip_grad_norm(&dev, g, n, cases[k].max_norm, &tn);
        /* torch: float norms per tensor (sum of m squares: m u, sqrt: halves it, +u),
         * then the norm of the K norms ((K/2 + 1) u); mine: u */
        const double bound = ((double)largest / 2 + 1 + (double)tensors / 2 + 1 + 1) * U;
        const double rel = fabs(tn - ttotal[0]) / ttotal[0];
        cr_log_info("clip %s: |total - torch|/total = %.3g (= %.2f u), bound %.3g", cases[k].c, rel,
                    rel / U, bound);
        expect_scalar("total vs torch", tn, ttotal[0], bound * ttotal[0]);
        if (k == 0) {
            /* the coefficient inherits the norm's difference; the product rounds once each */
            double *ref = gc_to_double(tclip, n), *tol = gc_dalloc(n);
            for (size_t i = 0; i < n; i++) tol[i] = (bound + 2 * U) * fabs(ref[i]);
            expect_within("clipped vs torch", g, ref, tol, n);
            free(ref), free(tol);
        } else {
            cr_expect(memcmp(g, tclip, n * sizeof *g) == 0, "not clipping: identical to torch's grads");
        }
        free(g), free(ttotal), free(tclip);
    }
}

/* ---- schedules ------------------------------------------------------------------------------ */

static void expect_bits(const char *label, double got, double want, long t) {
    cr_expect(memcmp(&got, &want, sizeof got) == 0, "%s at t=%ld: got %.17g, torch %.17g", label, t, got, want);
}

Test(schedule, linear_decay_is_pytorch_lambdalr_bit_for_bit) {
    const struct { double base; long total; size_t steps; const char *name; } cases[] = {
        {2e-4, 500000, 6, "lr_decay_500000"}, {2e-4, 100000, 6, "lr_decay_100000"}, {1e-3, 4, 7, "lr_decay_4"}};
    for (int k = 0; k < 3; k++) {
        double *want = fx64(cases[k].name, cases[k].steps);
        gb_schedule s;
        cr_assert_eq(gb_schedule_init(&s, GB_SCHED_LINEAR_DECAY, cases[k].base, cases[k].total), GB_OK, "%s",
                     gb_last_error());
        for (size_t t = 0; t < cases[k].steps; t++)
            expect_bits(cases[k].name, gb_schedule_value(&s, (long)t), want[t], (long)t);
        free(want);
    }
    double *far = fx64("lr_decay_far", 4);
    const long steps[] = {29999, 123457, 499999, 500000};
    for (int i = 0; i < 4; i++) expect_bits("lr_decay_far", gb_lr_linear_decay(2e-4, steps[i], 500000), far[i], steps[i]);
    free(far);
}

Test(schedule, beta_ramp_and_constant) {
    double *want = fx64("beta_ramp", 21);
    gb_schedule s;
    cr_assert_eq(gb_schedule_init(&s, GB_SCHED_LINEAR_RAMP, 1.0, 20), GB_OK, "%s", gb_last_error());
    for (long e = 0; e <= 20; e++) expect_bits("beta_ramp", gb_schedule_value(&s, e), want[e], e);
    free(want);
    cr_assert_eq(gb_schedule_init(&s, GB_SCHED_CONSTANT, 1e-4, 0), GB_OK, "%s", gb_last_error());
    cr_expect_eq(gb_schedule_value(&s, 0), 1e-4);
    cr_expect_eq(gb_schedule_value(&s, 1000000), 1e-4);
}

Test(schedule, bad_arguments_are_usage_errors_naming_the_fix) {
    gb_schedule s;
    cr_expect_eq(gb_schedule_init(&s, GB_SCHED_LINEAR_DECAY, 2e-4, 0), GB_USAGE);
    cr_expect(strstr(gb_last_error(), "linear_decay") && strstr(gb_last_error(), "at least 1"), "%s",
              gb_last_error());
    cr_expect_eq(gb_schedule_init(&s, GB_SCHED_CONSTANT, -1.0, 0), GB_USAGE);
    cr_expect_eq(gb_schedule_init(&s, GB_SCHED_LINEAR_RAMP, NAN, 20), GB_USAGE);
    gb_sched_kind kind;
    cr_expect_eq(gb_sched_kind_parse("linear_ramp", &kind), GB_OK);
    cr_expect_eq(kind, GB_SCHED_LINEAR_RAMP);
    cr_expect_str_eq(gb_sched_kind_name(kind), "linear_ramp");
    cr_expect_eq(gb_sched_kind_parse("cosine", &kind), GB_USAGE);
    cr_expect(strstr(gb_last_error(), "'cosine'") && strstr(gb_last_error(), "linear_decay"), "%s",
              gb_last_error());
}
