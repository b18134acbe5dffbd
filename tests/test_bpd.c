/* tests/test_bpd.c - bits/dim machinery (metrics/bpd.h) against closed forms.
 *
 * 1. A Gaussian N(0, v0 I) pushed by the exact VE probability-flow drift f = 1/2 g^2 x / var(t)
 *    (var(t) = s0^2 + sigma_t^2, sigma = 25 as in specs/pipelines.md 3.1) reaches N(0, var(T) I)
 *    exactly, so with prior_std = sqrt(var(T)) the model density IS N(0, var(t_data) I): the
 *    likelihood, z = x sqrt(var(T)/var(t_data)) and delta_logp = D/2 log(var(T)/var(t_data)) are
 *    closed forms. The exact trace and Rademacher probes (eps^T c I eps = c D) must hit them; a
 *    Gaussian probe gives exactly (|eps|^2 / D) times the exact delta_logp.
 * 2. A linear field with rotation, A = blockdiag([[a,-w],[w,a]]): z = e^{aT} R(wT) x,
 *    delta_logp = T tr A; Rademacher is exact here too (the skew part cancels in eps^T A eps).
 * 3. Hutchinson on a dense non-symmetric A with 40000 probes: mean within 5 standard errors of
 *    tr A and the sample variance within 5% of the theory (Gaussian 2|A_s|_F^2, Rademacher
 *    2(|A_s|_F^2 - sum A_ii^2), A_s = (A + A^T)/2).
 * 4. Offsets: a uniform density on [0,1]^D and on [-1,1]^D are both 8 bits/dim.
 * 5. RealNVP logit pre-processing: a standard-logistic model in logit space is exactly uniform
 *    on [alpha, 1-alpha] after the pre-processing, so bpd = 8 - log2(1 - 2 alpha).
 * 6. Dequantisation: bounds, the philox formula, u8 and f32 paths agree, rejection of non-8-bit.
 *
 * Tolerances (summarised in tests/tolerances.md, "ODE, bits/dim, ZSL metrics, spectrum") are
 * defined, with their derivation, next to the tests that use them.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/philox.h"
#include "core/status.h"
#include "metrics/bpd.h"

#define SEED 0xb1d5ULL
#define VE_SIGMA 25.0
#define VE_S0 0.5

/* ---- 1. exact VE drift of a Gaussian ---- */

static double ve_var(double t) {
    return VE_S0 * VE_S0 + (pow(VE_SIGMA, 2.0 * t) - 1.0) / (2.0 * log(VE_SIGMA));
}

typedef struct {
    float first_v[64];
    int have_v;
    int v_changed;
    size_t calls;
    int fail_after; /* > 0: return GB_NUMERIC on that call */
} ve_ctx;

/* f = c(t) x with c = 1/2 g^2 / var(t); J = c I, so the VJP and the JVP are c v. */
static gb_status ve_drift(void *user, double t, const float *x, const float *v, float *drift,
                          float *prod, size_t batch, size_t dim) {
    ve_ctx *c = user;
    size_t n = batch * dim;
    cr_assert_leq(n, 64);
    c->calls++;
    if (c->fail_after && (int)c->calls >= c->fail_after) return gb_fail(GB_NUMERIC, "score is NaN");
    if (!c->have_v) {
        memcpy(c->first_v, v, n * sizeof *v);
        c->have_v = 1;
    } else if (memcmp(c->first_v, v, n * sizeof *v) != 0) {
        c->v_changed = 1;
    }
    double g2 = pow(VE_SIGMA, 2.0 * t);
    double k = 0.5 * g2 / ve_var(t);
    for (size_t i = 0; i < n; i++) {
        drift[i] = (float)(k * (double)x[i]);
        prod[i] = (float)(k * (double)v[i]);
    }
    return GB_OK;
}

#define VE_B 4
#define VE_D 8

static void ve_data(float *x) {
    gb_stream s = gb_stream_open(SEED, "test/ve_data");
    gb_stream_normal(&s, x, VE_B * VE_D);
    double sd = sqrt(ve_var(1e-5));
    for (int i = 0; i < VE_B * VE_D; i++) x[i] = (float)(sd * x[i]);
}

/* log N(x; 0, var(t_data) I) of sample b, the model's exact log-density. */
static double ve_exact_logp(const float *x, int b) {
    double v0 = ve_var(1e-5), ss = 0;
    for (int i = 0; i < VE_D; i++) ss += (double)x[b * VE_D + i] * x[b * VE_D + i];
    return -VE_D / 2.0 * log(2 * M_PI * v0) - ss / (2 * v0);
}

static void ve_run(gb_div_estimator est, double tol, double *logp, double *z, double *delta,
                   gb_ode_stats *st, gb_stream *noise, ve_ctx *c) {
    float x[VE_B * VE_D];
    ve_data(x);
    gb_flow_ode_opts o = gb_flow_ode_opts_default();
    o.estimator = est;
    o.rtol = o.atol = tol;
    o.prior_std = sqrt(ve_var(1.0));
    memset(c, 0, sizeof *c);
    cr_assert_eq(gb_flow_ode_loglik(logp, z, delta, st, x, VE_B, VE_D, ve_drift, c, &o, noise),
                 GB_OK, "%s", gb_last_error());
}

/* Bits/dim accuracy of the ODE likelihood against the closed form.
 * At rtol = atol = 1e-5 (score_sde's defaults) the solver's global error is <= 20 local
 * tolerances per coordinate (test_ode's bound), |dz_i| <= 20 (1e-5 + 1e-5 |z_i|) with |z_i| up
 * to ~3 prior stds (~30); the prior term moves by sum_i |z_i dz_i| / s^2 and delta_logp by
 * 20e-5 |delta_logp| (~18 nats here): ~0.02 nats = 3e-3 bits/dim worst case. Observed 4.5e-5
 * bits. The bound 1e-3 bits lies between, 22x the observation and a tenth of the 0.01-bit
 * resolution of published numbers.
 * At rtol = atol = 1e-10 only float32 remains: the model sees the state rounded to float and
 * returns float drift/products (relative 6e-8 each), so delta_logp (~18 nats) carries ~1e-6
 * nats and the prior term the same order: ~2e-7 bits/dim. Bound 1e-6 bits; observed 9.6e-9. */
#define TOL_BPD_DEFAULT 1e-3
#define TOL_BPD_TIGHT 1e-6

static void ve_check(gb_div_estimator est, double tol, double bound) {
    double logp[VE_B], z[VE_B * VE_D], delta[VE_B];
    gb_ode_stats st;
    ve_ctx c;
    gb_stream noise = gb_stream_open(SEED, "test/hutchinson");
    ve_run(est, tol, logp, z, delta, &st, &noise, &c);
    float x[VE_B * VE_D];
    ve_data(x);
    double ratio = sqrt(ve_var(1.0) / ve_var(1e-5));
    double want_delta = VE_D / 2.0 * log(ve_var(1.0) / ve_var(1e-5));
    for (int b = 0; b < VE_B; b++) {
        double bpd = gb_bits_per_dim(logp[b], VE_D, GB_DATA_01);
        double want = gb_bits_per_dim(ve_exact_logp(x, b), VE_D, GB_DATA_01);
        cr_expect(fabs(bpd - want) <= bound, "est %d tol %g sample %d: bpd %.12f, exact %.12f (%.3g)",
                  est, tol, b, bpd, want, fabs(bpd - want));
        cr_expect(fabs(delta[b] - want_delta) / (M_LN2 * VE_D) <= bound,
                  "delta_logp %.12f, exact %.12f", delta[b], want_delta);
        for (int i = 0; i < VE_D; i++) {
            double zw = x[b * VE_D + i] * ratio;
            cr_expect(fabs(z[b * VE_D + i] - zw) <= 50 * tol * (1 + fabs(zw)) + 1e-6 * fabs(zw),
                      "z[%d,%d] %.12g, exact %.12g", b, i, z[b * VE_D + i], zw);
        }
    }
    cr_expect_eq(st.nfev, 2 + 6 * (st.n_accepted + st.n_rejected));
    cr_expect(!c.v_changed || est == GB_HUTCH_EXACT, "the probe changed along the trajectory");
    if (est == GB_HUTCH_EXACT) cr_expect_eq(c.calls, st.nfev * VE_D, "exact trace: D calls per f");
    else cr_expect_eq(c.calls, st.nfev, "one call per evaluation");
}

Test(bpd, ve_gaussian_exact_trace_closed_form) {
    ve_check(GB_HUTCH_EXACT, 1e-5, TOL_BPD_DEFAULT);
    ve_check(GB_HUTCH_EXACT, 1e-10, TOL_BPD_TIGHT);
}

Test(bpd, ve_gaussian_rademacher_is_exact_for_isotropic_fields) {
    ve_check(GB_HUTCH_RADEMACHER, 1e-5, TOL_BPD_DEFAULT);
    ve_check(GB_HUTCH_RADEMACHER, 1e-10, TOL_BPD_TIGHT);
}

Test(bpd, ve_gaussian_probe_scales_delta_by_eps_norm) {
    double logp[VE_B], delta_g[VE_B], delta_e[VE_B];
    gb_ode_stats st;
    ve_ctx c;
    gb_stream noise = gb_stream_open(SEED, "test/hutchinson");
    gb_stream copy = noise;
    ve_run(GB_HUTCH_GAUSSIAN, 1e-10, logp, NULL, delta_g, &st, &noise, &c);
    cr_expect(!c.v_changed, "the probe is fixed along the trajectory");
    cr_expect_eq(noise.position, (uint64_t)(VE_B * VE_D), "one draw of batch*dim normals");
    float eps[VE_B * VE_D];
    gb_hutchinson_noise(eps, VE_B * VE_D, GB_HUTCH_GAUSSIAN, &copy);
    cr_expect(memcmp(eps, c.first_v, sizeof eps) == 0, "probe = the stream's first normals");
    ve_run(GB_HUTCH_EXACT, 1e-10, logp, NULL, delta_e, &st, NULL, &c);
    for (int b = 0; b < VE_B; b++) {
        double n2 = 0;
        for (int i = 0; i < VE_D; i++) n2 += (double)eps[b * VE_D + i] * eps[b * VE_D + i];
        double want = delta_e[b] * n2 / VE_D;
        /* Both solves are accurate to ~1e-9 relative at tol 1e-10 (float32 products: 6e-8). */
        cr_expect(fabs(delta_g[b] - want) <= 2e-7 * fabs(want), "sample %d: %.12g vs %.12g", b,
                  delta_g[b], want);
    }
}

/* ---- 2. linear field with rotation ---- */

static const double ROT_A[2] = {-0.3, 0.5}, ROT_W[2] = {1.0, 2.0};

static gb_status rot_drift(void *user, double t, const float *x, const float *v, float *drift,
                           float *prod, size_t batch, size_t dim) {
    (void)user, (void)t;
    for (size_t b = 0; b < batch; b++) {
        for (size_t k = 0; k < dim / 2; k++) {
            const float *xb = x + b * dim + 2 * k, *vb = v + b * dim + 2 * k;
            double a = ROT_A[k], w = ROT_W[k];
            drift[b * dim + 2 * k] = (float)(a * xb[0] - w * xb[1]);
            drift[b * dim + 2 * k + 1] = (float)(w * xb[0] + a * xb[1]);
            /* VJP: A^T v. */
            prod[b * dim + 2 * k] = (float)(a * vb[0] + w * vb[1]);
            prod[b * dim + 2 * k + 1] = (float)(-w * vb[0] + a * vb[1]);
        }
    }
    return GB_OK;
}

static void rot_check(gb_div_estimator est) {
    enum { B = 3, D = 4 };
    float x[B * D];
    gb_stream s = gb_stream_open(SEED, "test/rot_data");
    gb_stream_normal(&s, x, B * D);
    gb_flow_ode_opts o = gb_flow_ode_opts_default();
    o.t_data = 0.0;
    o.t_prior = 1.5;
    o.rtol = o.atol = 1e-10;
    o.estimator = est;
    o.prior_std = 1.3;
    gb_stream noise = gb_stream_open(SEED, "test/rot_noise");
    double logp[B], z[B * D], delta[B];
    cr_assert_eq(gb_flow_ode_loglik(logp, z, delta, NULL, x, B, D, rot_drift, NULL, &o, &noise),
                 GB_OK, "%s", gb_last_error());
    double T = 1.5, trace = 2 * (ROT_A[0] + ROT_A[1]);
    for (int b = 0; b < B; b++) {
        double zw[D];
        for (int k = 0; k < 2; k++) {
            double e = exp(ROT_A[k] * T), c = cos(ROT_W[k] * T), sn = sin(ROT_W[k] * T);
            double x0 = x[b * D + 2 * k], x1 = x[b * D + 2 * k + 1];
            zw[2 * k] = e * (c * x0 - sn * x1);
            zw[2 * k + 1] = e * (sn * x0 + c * x1);
        }
        for (int i = 0; i < D; i++)
            cr_expect(fabs(z[b * D + i] - zw[i]) <= 1e-6 * (1 + fabs(zw[i])), "z[%d,%d] %.12g vs %.12g",
                      b, i, z[b * D + i], zw[i]);
        cr_expect(fabs(delta[b] - T * trace) <= 1e-6, "est %d: delta_logp %.12g, T tr A = %.12g", est,
                  delta[b], T * trace);
        double want = gb_gaussian_logp(zw, D, 1.3) + T * trace;
        cr_expect(fabs(gb_bits_per_dim(logp[b], D, GB_DATA_PM1) - gb_bits_per_dim(want, D, GB_DATA_PM1)) <=
                      TOL_BPD_TIGHT,
                  "est %d sample %d: logp %.12g, closed form %.12g", est, b, logp[b], want);
    }
}

Test(bpd, linear_rotation_field_closed_form) {
    rot_check(GB_HUTCH_EXACT);
    rot_check(GB_HUTCH_RADEMACHER);
}

/* ---- 3. Hutchinson convergence on a dense matrix ---- */

#define HD 6
static double HA[HD][HD];

static void make_dense(void) {
    gb_stream s = gb_stream_open(SEED, "test/dense_A");
    for (int i = 0; i < HD; i++)
        for (int j = 0; j < HD; j++) {
            float u;
            gb_stream_uniform(&s, &u, 1);
            HA[i][j] = (double)(int)(u * 16) / 4.0 - 2.0; /* quarters in [-2, 2): exact in float */
        }
}

static gb_status dense_drift(void *user, double t, const float *x, const float *v, float *drift,
                             float *prod, size_t batch, size_t dim) {
    (void)user, (void)t;
    for (size_t b = 0; b < batch; b++)
        for (size_t i = 0; i < dim; i++) {
            double d = 0, p = 0;
            for (size_t j = 0; j < dim; j++) {
                d += HA[i][j] * x[b * dim + j];
                p += HA[j][i] * v[b * dim + j]; /* (A^T v)_i */
            }
            drift[b * dim + i] = (float)d;
            prod[b * dim + i] = (float)p;
        }
    return GB_OK;
}

static void hutch_check(gb_div_estimator est) {
    enum { K = 40000 };
    make_dense();
    float *x = calloc(K * HD, sizeof *x), *eps = malloc(K * HD * sizeof *eps);
    double *div = malloc(K * sizeof *div);
    cr_assert(x && eps && div);
    for (int i = 0; i < K * HD; i++) x[i] = (float)((i % HD) - 2); /* the same x in every row */
    gb_stream noise = gb_stream_open(SEED, est == GB_HUTCH_GAUSSIAN ? "test/h_gauss" : "test/h_rad");
    gb_hutchinson_noise(eps, K * HD, est, &noise);
    cr_assert_eq(gb_flow_divergence(div, NULL, dense_drift, NULL, 0.0, x, eps, K, HD, est), GB_OK);
    double tr = 0, fs = 0, diag2 = 0;
    for (int i = 0; i < HD; i++) {
        tr += HA[i][i];
        diag2 += HA[i][i] * HA[i][i];
        for (int j = 0; j < HD; j++) fs += 0.25 * (HA[i][j] + HA[j][i]) * (HA[i][j] + HA[j][i]);
    }
    double var_theory = est == GB_HUTCH_GAUSSIAN ? 2 * fs : 2 * (fs - diag2);
    double mean = 0, m2 = 0;
    for (int k = 0; k < K; k++) mean += div[k];
    mean /= K;
    for (int k = 0; k < K; k++) m2 += (div[k] - mean) * (div[k] - mean);
    double var = m2 / (K - 1), se = sqrt(var_theory / K);
    cr_expect(fabs(mean - tr) <= 5 * se, "est %d: mean %.6f, tr A %.6f, 5 se %.4f", est, mean, tr, 5 * se);
    /* The sample variance of K draws has relative sd ~sqrt(2/K)*sqrt(kurtosis factor) ~ 1%. */
    cr_expect(fabs(var / var_theory - 1) <= 0.05, "est %d: variance %.4f, theory %.4f", est, var,
              var_theory);
    double exact;
    cr_assert_eq(gb_flow_divergence(&exact, NULL, dense_drift, NULL, 0.0, x, NULL, 1, HD,
                                    GB_HUTCH_EXACT), GB_OK);
    cr_expect_eq(exact, tr, "exact trace %.17g vs %.17g (quarters: exact in float)", exact, tr);
    free(x);
    free(eps);
    free(div);
}

Test(bpd, hutchinson_gaussian_converges_to_trace) { hutch_check(GB_HUTCH_GAUSSIAN); }
Test(bpd, hutchinson_rademacher_converges_to_trace) { hutch_check(GB_HUTCH_RADEMACHER); }

Test(bpd, rademacher_probe_is_plus_minus_one_from_the_top_bit) {
    gb_stream s = gb_stream_open(SEED, "test/rad"), t = s;
    float eps[101];
    gb_hutchinson_noise(eps, 101, GB_HUTCH_RADEMACHER, &s);
    cr_expect_eq(s.position, 101);
    int plus = 0;
    for (int i = 0; i < 101; i++) {
        float want = (gb_philox_u32_at(t.key, (uint64_t)i) >> 31) ? 1.0f : -1.0f;
        cr_expect_eq(eps[i], want, "eps[%d]", i);
        plus += eps[i] > 0;
    }
    cr_expect(plus > 30 && plus < 71, "%d of 101 positive", plus);
}

/* ---- 4. offsets and the prior ---- */

Test(bpd, offsets_follow_the_data_scaling) {
    cr_expect_eq(gb_bpd_offset(GB_DATA_01), 8.0);
    cr_expect_eq(gb_bpd_offset(GB_DATA_PM1), 7.0);
    /* Uniform on [0,1]^D: log p = 0. Uniform on [-1,1]^D: log p = -D ln 2. Both: 8 bits. */
    for (size_t d = 1; d <= 3072; d *= 4) {
        cr_expect_eq(gb_bits_per_dim(0.0, d, GB_DATA_01), 8.0);
        cr_expect(fabs(gb_bits_per_dim(-(double)d * M_LN2, d, GB_DATA_PM1) - 8.0) <= 4e-15, "D %zu", d);
    }
    /* A density twice as high per dimension saves one bit per dimension. */
    cr_expect(fabs(gb_bits_per_dim(10 * M_LN2, 10, GB_DATA_01) - 7.0) <= 4e-15);
}

Test(bpd, gaussian_prior_logp) {
    double z[3] = {0, 0, 0};
    cr_expect(fabs(gb_gaussian_logp(z, 3, 2.0) - (-1.5 * log(8 * M_PI))) <= 1e-14);
    z[0] = 2.0;
    z[2] = -4.0; /* |z|^2 / (2 s^2) = 20 / 8 */
    cr_expect(fabs(gb_gaussian_logp(z, 3, 2.0) - (-1.5 * log(8 * M_PI) - 2.5)) <= 1e-14);
}

/* ---- 5. RealNVP logit pre-processing ---- */

static void logit_check(double alpha) {
    enum { B = 5, D = 64 };
    uint8_t lv[B * D];
    for (int i = 0; i < B * D; i++) lv[i] = (uint8_t)((i * 37) % 256);
    float x[B * D], y[B * D];
    gb_stream s = gb_stream_open(SEED, "test/logit");
    gb_dequantize_u8(x, lv, B * D, GB_DATA_01, &s);
    double ld[B];
    cr_assert_eq(gb_logit_preprocess(y, ld, x, B, D, alpha), GB_OK, "%s", gb_last_error());
    for (int b = 0; b < B; b++) {
        /* Standard logistic in y: log p(y) = -softplus(-y) - softplus(y). */
        double lm = 0;
        for (int i = 0; i < D; i++) {
            double v = y[b * D + i];
            lm += -(log1p(exp(-fabs(v))) + fmax(-v, 0)) - (log1p(exp(-fabs(v))) + fmax(v, 0));
        }
        double bpd = gb_flow_bits_per_dim(lm, ld[b], D, GB_DATA_01);
        double want = 8.0 - log2(1 - 2 * alpha);
        /* y is rounded to float: |d log p / dy| <= 1 per dim, |dy| <= 6e-8 |y| <= 6e-7 for
         * |y| < 10, so |error| <= D * 6e-7 nats = 6e-7 / ln 2 bits/dim; bound 2e-6. */
        cr_expect(fabs(bpd - want) <= 2e-6, "alpha %g sample %d: bpd %.10f, closed form %.10f", alpha,
                  b, bpd, want);
    }
}

Test(bpd, logit_preprocess_uniform_closed_form) {
    logit_check(0.05);
    logit_check(0.0);
    float x[2] = {0.5f, 0.0f}, y[2];
    double ld;
    cr_expect_eq(gb_logit_preprocess(y, &ld, x, 1, 2, 0.0), GB_INPUT, "0 with alpha 0 has no logit");
    cr_expect(strstr(gb_last_error(), "coordinate 1") != NULL, "%s", gb_last_error());
    cr_expect_eq(gb_logit_preprocess(y, &ld, x, 1, 2, 0.05), GB_OK);
    cr_expect_eq(gb_logit_preprocess(y, &ld, x, 1, 2, 0.5), GB_USAGE);
}

/* ---- 6. dequantisation ---- */

Test(bpd, dequantisation_formula_bounds_and_paths) {
    enum { N = 1024 };
    uint8_t lv[N];
    float xf[N], a[N], b[N], c[N];
    for (int i = 0; i < N; i++) {
        lv[i] = (uint8_t)(i % 256);
        xf[i] = (float)lv[i] / 255.0f; /* what ToTensor produces */
    }
    gb_stream s1 = gb_stream_open(SEED, "bpd/dequant/0"), s2 = s1, s3 = s1, s0 = s1;
    gb_dequantize_u8(a, lv, N, GB_DATA_01, &s1);
    cr_assert_eq(gb_dequantize_f32(b, xf, N, GB_DATA_01, &s2), GB_OK, "%s", gb_last_error());
    gb_dequantize_u8(c, lv, N, GB_DATA_PM1, &s3);
    cr_expect_eq(s1.position, N);
    cr_expect_eq(s2.position, N);
    cr_expect(memcmp(a, b, sizeof a) == 0, "u8 and f32 paths agree");
    double mean_u = 0;
    for (int i = 0; i < N; i++) {
        double u = gb_philox_uniform_at(s0.key, (uint64_t)i);
        mean_u += u / N;
        cr_expect_eq(a[i], (float)((lv[i] + u) / 256.0), "x~[%d]", i);
        cr_expect(a[i] >= lv[i] / 256.0f && a[i] <= (lv[i] + 1) / 256.0f, "bin of x~[%d]", i);
        cr_expect_eq(c[i], (float)(2.0 * ((lv[i] + u) / 256.0) - 1.0), "[-1,1] x~[%d]", i);
    }
    cr_expect(fabs(mean_u - 0.5) < 0.05, "mean of u %.4f", mean_u);
    /* Not 8-bit: rejected before anything is drawn. */
    xf[7] = 0.5f;
    gb_stream s4 = s0;
    cr_expect_eq(gb_dequantize_f32(b, xf, N, GB_DATA_01, &s4), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "index 7") != NULL, "%s", gb_last_error());
    cr_expect_eq(s4.position, 0);
    xf[7] = -1.0f / 255.0f;
    cr_expect_eq(gb_dequantize_f32(b, xf, N, GB_DATA_01, &s4), GB_INPUT);
}

/* ---- errors ---- */

Test(bpd, errors_are_reported) {
    float x[VE_B * VE_D];
    ve_data(x);
    double logp[VE_B];
    ve_ctx c;
    memset(&c, 0, sizeof c);
    gb_flow_ode_opts o = gb_flow_ode_opts_default();
    gb_stream noise = gb_stream_open(SEED, "n");
    cr_expect_eq(gb_flow_ode_loglik(logp, NULL, NULL, NULL, x, VE_B, VE_D, ve_drift, &c, &o, &noise),
                 GB_USAGE, "prior_std unset");
    o.prior_std = 3;
    c.fail_after = 5;
    cr_expect_eq(gb_flow_ode_loglik(logp, NULL, NULL, NULL, x, VE_B, VE_D, ve_drift, &c, &o, &noise),
                 GB_NUMERIC);
    cr_expect(strstr(gb_last_error(), "score is NaN") != NULL && strstr(gb_last_error(), "t = ") != NULL,
              "%s", gb_last_error());
    x[3] = NAN;
    cr_expect_eq(gb_flow_ode_loglik(logp, NULL, NULL, NULL, x, VE_B, VE_D, ve_drift, &c, &o, &noise),
                 GB_INPUT);
}
