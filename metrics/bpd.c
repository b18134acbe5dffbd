/* metrics/bpd.c - dequantisation, bits/dim, the probability-flow-ODE likelihood with the
 * Skilling-Hutchinson divergence, and the flow pre-processing (contracts in bpd.h; tested by
 * tests/test_bpd.c against closed forms).
 */
#include "metrics/bpd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double gb_bpd_offset(gb_data_scaling scaling) {
    GB_ASSERT(scaling == GB_DATA_01 || scaling == GB_DATA_PM1, "unknown data scaling %d",
              (int)scaling);
    return scaling == GB_DATA_01 ? 8.0 : 7.0;
}

double gb_bits_per_dim(double logp, size_t dim, gb_data_scaling scaling) {
    GB_ASSERT(dim > 0, "gb_bits_per_dim: dim is 0");
    return -logp / M_LN2 / (double)dim + gb_bpd_offset(scaling);
}

double gb_gaussian_logp(const double *z, size_t dim, double std) {
    double ss = 0.0;
    for (size_t i = 0; i < dim; i++) ss += z[i] * z[i];
    return -(double)dim / 2.0 * log(2 * M_PI * std * std) - ss / (2 * std * std);
}

static float dequant_value(unsigned level, float u, gb_data_scaling scaling) {
    double x = ((double)level + (double)u) / 256.0;
    return (float)(scaling == GB_DATA_01 ? x : 2.0 * x - 1.0);
}

void gb_dequantize_u8(float *out, const uint8_t *levels, size_t n, gb_data_scaling scaling,
                      gb_stream *s) {
    GB_ASSERT(scaling == GB_DATA_01 || scaling == GB_DATA_PM1, "unknown data scaling");
    gb_stream_uniform(s, out, n);
    for (size_t i = 0; i < n; i++) out[i] = dequant_value(levels[i], out[i], scaling);
}

gb_status gb_dequantize_f32(float *out, const float *x, size_t n, gb_data_scaling scaling,
                            gb_stream *s) {
    GB_ASSERT(scaling == GB_DATA_01 || scaling == GB_DATA_PM1, "unknown data scaling");
    /* Validate first so that a failure neither writes out nor advances the stream. */
    for (size_t i = 0; i < n; i++) {
        double v = 255.0 * (double)x[i];
        double k = nearbyint(v);
        if (!(k >= 0 && k <= 255 && fabs(v - k) <= 1e-3))
            return gb_fail(GB_INPUT,
                           "dequantize: value %.9g at index %zu is not an 8-bit level k/255 in "
                           "[0,1]; pass 8-bit images scaled by 1/255 (not already centred or "
                           "dequantised)",
                           (double)x[i], i);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned k = (unsigned)nearbyint(255.0 * (double)x[i]);
        float u;
        gb_stream_uniform(s, &u, 1);
        out[i] = dequant_value(k, u, scaling);
    }
    return GB_OK;
}

void gb_hutchinson_noise(float *eps, size_t n, gb_div_estimator kind, gb_stream *s) {
    GB_ASSERT(kind == GB_HUTCH_GAUSSIAN || kind == GB_HUTCH_RADEMACHER,
              "gb_hutchinson_noise: estimator %d draws no noise", (int)kind);
    if (kind == GB_HUTCH_GAUSSIAN) {
        gb_stream_normal(s, eps, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t w;
        gb_stream_u32(s, &w, 1);
        eps[i] = (w >> 31) ? 1.0f : -1.0f;
    }
}

/* Buffers of one divergence evaluation: v (the probe or a basis vector), drift, prod. */
typedef struct {
    float *v, *drift, *prod;
} div_work;

static gb_status div_work_alloc(div_work *w, size_t n) {
    w->v = malloc(3 * n * sizeof(float));
    if (!w->v) return gb_fail(GB_ENV, "bpd: out of memory for 3 x %zu floats", n);
    w->drift = w->v + n;
    w->prod = w->v + 2 * n;
    return GB_OK;
}

static gb_status call_fn(gb_flow_drift_fn fn, void *user, double t, const float *x,
                         const div_work *w, size_t batch, size_t dim) {
    gb_status s = fn(user, t, x, w->v, w->drift, w->prod, batch, dim);
    if (s != GB_OK) return gb_fail_wrap(s, "bpd: drift callback at t = %.17g", t);
    return GB_OK;
}

/* div[b] (and w->drift) at (t, x). For the estimators w->v must hold eps already. */
static gb_status divergence(double *div, gb_flow_drift_fn fn, void *user, double t,
                            const float *x, size_t batch, size_t dim, gb_div_estimator kind,
                            const div_work *w) {
    size_t n = batch * dim;
    if (kind != GB_HUTCH_EXACT) {
        GB_TRY(call_fn(fn, user, t, x, w, batch, dim));
        for (size_t b = 0; b < batch; b++) {
            double acc = 0.0;
            for (size_t i = 0; i < dim; i++)
                acc += (double)w->v[b * dim + i] * (double)w->prod[b * dim + i];
            div[b] = acc;
        }
        return GB_OK;
    }
    /* Exact trace: with v = e_i in every sample, prod[b, i] = J_b[i, i] for a VJP or a JVP. */
    for (size_t b = 0; b < batch; b++) div[b] = 0.0;
    memset(w->v, 0, n * sizeof(float));
    for (size_t i = 0; i < dim; i++) {
        for (size_t b = 0; b < batch; b++) w->v[b * dim + i] = 1.0f;
        GB_TRY(call_fn(fn, user, t, x, w, batch, dim));
        for (size_t b = 0; b < batch; b++) {
            div[b] += (double)w->prod[b * dim + i];
            w->v[b * dim + i] = 0.0f;
        }
    }
    return GB_OK;
}

static void check_kind(gb_div_estimator kind) {
    GB_ASSERT(kind == GB_HUTCH_GAUSSIAN || kind == GB_HUTCH_RADEMACHER || kind == GB_HUTCH_EXACT,
              "unknown divergence estimator %d", (int)kind);
}

gb_status gb_flow_divergence(double *div, float *drift, gb_flow_drift_fn fn, void *user,
                             double t, const float *x, const float *eps, size_t batch,
                             size_t dim, gb_div_estimator kind) {
    check_kind(kind);
    GB_ASSERT(div && fn && x && (eps || kind == GB_HUTCH_EXACT), "gb_flow_divergence: NULL");
    size_t n = batch * dim;
    div_work w;
    GB_TRY(div_work_alloc(&w, n));
    if (kind != GB_HUTCH_EXACT) memcpy(w.v, eps, n * sizeof(float));
    gb_status s = divergence(div, fn, user, t, x, batch, dim, kind, &w);
    if (s == GB_OK && drift) memcpy(drift, w.drift, n * sizeof(float));
    free(w.v);
    return s;
}

gb_flow_ode_opts gb_flow_ode_opts_default(void) {
    gb_flow_ode_opts o;
    memset(&o, 0, sizeof o);
    o.t_data = 1e-5;
    o.t_prior = 1.0;
    o.rtol = 1e-5;
    o.atol = 1e-5;
    o.estimator = GB_HUTCH_GAUSSIAN;
    return o;
}

/* The augmented right-hand side [dx/dt, d delta_logp/dt] = [f, div f]. */
typedef struct {
    gb_flow_drift_fn fn;
    void *user;
    size_t batch, dim;
    gb_div_estimator kind;
    div_work w;
    float *x32; /* [batch*dim] the state rounded to float for the model */
    double *div; /* [batch] */
    float *eps; /* [batch*dim] the fixed probe (estimators only) */
} aug_ctx;

static gb_status aug_rhs(void *user, double t, const double *y, double *dydt, size_t n) {
    aug_ctx *c = user;
    size_t nx = c->batch * c->dim;
    GB_ASSERT(n == nx + c->batch, "augmented state size");
    for (size_t i = 0; i < nx; i++) c->x32[i] = (float)y[i];
    /* The model may scribble on v (it is its input buffer); restore the fixed probe each time. */
    if (c->kind != GB_HUTCH_EXACT) memcpy(c->w.v, c->eps, nx * sizeof(float));
    GB_TRY(divergence(c->div, c->fn, c->user, t, c->x32, c->batch, c->dim, c->kind, &c->w));
    for (size_t i = 0; i < nx; i++) dydt[i] = (double)c->w.drift[i];
    for (size_t b = 0; b < c->batch; b++) dydt[nx + b] = c->div[b];
    return GB_OK;
}

gb_status gb_flow_ode_loglik(double *logp, double *z, double *delta_logp, gb_ode_stats *stats,
                             const float *x, size_t batch, size_t dim, gb_flow_drift_fn fn,
                             void *user, const gb_flow_ode_opts *opts, gb_stream *noise) {
    GB_ASSERT(logp && x && fn && opts, "gb_flow_ode_loglik: NULL argument");
    GB_ASSERT(batch > 0 && dim > 0, "gb_flow_ode_loglik: empty batch");
    check_kind(opts->estimator);
    GB_ASSERT(noise || opts->estimator == GB_HUTCH_EXACT, "gb_flow_ode_loglik: no noise stream");
    if (!(opts->prior_std > 0) || !isfinite(opts->prior_std))
        return gb_fail(GB_USAGE, "ode likelihood: prior_std must be finite and > 0 (got %g); "
                                 "set it to the SDE's marginal std at t_prior", opts->prior_std);
    size_t nx = batch * dim, n = nx + batch;
    for (size_t i = 0; i < nx; i++)
        if (!isfinite(x[i]))
            return gb_fail(GB_INPUT, "ode likelihood: input sample %zu, coordinate %zu is %g",
                           i / dim, i % dim, (double)x[i]);

    aug_ctx c;
    memset(&c, 0, sizeof c);
    c.fn = fn;
    c.user = user;
    c.batch = batch;
    c.dim = dim;
    c.kind = opts->estimator;
    GB_TRY(div_work_alloc(&c.w, nx));
    double *y = malloc(n * sizeof *y + batch * sizeof(double));
    float *f32 = malloc(2 * nx * sizeof(float));
    if (!y || !f32) {
        free(c.w.v);
        free(y);
        free(f32);
        return gb_fail(GB_ENV, "ode likelihood: out of memory for a batch of %zu x %zu", batch,
                       dim);
    }
    c.div = y + n;
    c.x32 = f32;
    c.eps = f32 + nx;
    if (c.kind != GB_HUTCH_EXACT) gb_hutchinson_noise(c.eps, nx, c.kind, noise);

    for (size_t i = 0; i < nx; i++) y[i] = (double)x[i];
    for (size_t b = 0; b < batch; b++) y[nx + b] = 0.0;
    gb_ode_opts o = gb_ode_opts_default();
    o.rtol = opts->rtol;
    o.atol = opts->atol;
    o.max_nfev = opts->max_nfev;
    gb_status s = gb_ode_rk45(y, n, opts->t_data, opts->t_prior, aug_rhs, &c, &o, stats);
    if (s == GB_OK) {
        for (size_t b = 0; b < batch; b++) {
            logp[b] = gb_gaussian_logp(y + b * dim, dim, opts->prior_std) + y[nx + b];
            if (delta_logp) delta_logp[b] = y[nx + b];
        }
        if (z) memcpy(z, y, nx * sizeof *z);
    } else {
        s = gb_fail_wrap(s, "ode likelihood (batch %zu x %zu)", batch, dim);
    }
    free(c.w.v);
    free(y);
    free(f32);
    return s;
}

gb_status gb_logit_preprocess(float *y, double *logdet, const float *x, size_t batch, size_t dim,
                              double alpha) {
    GB_ASSERT(y && logdet && x, "gb_logit_preprocess: NULL argument");
    if (!(alpha >= 0 && alpha < 0.5))
        return gb_fail(GB_USAGE, "logit pre-processing: alpha must lie in [0, 0.5) (got %g; "
                                 "RealNVP uses 0.05)", alpha);
    double log_scale = log1p(-2 * alpha);
    for (size_t b = 0; b < batch; b++) {
        double acc = 0.0;
        for (size_t i = 0; i < dim; i++) {
            size_t k = b * dim + i;
            double p = alpha + (1 - 2 * alpha) * (double)x[k];
            if (!(p > 0 && p < 1) || !(x[k] >= 0 && x[k] <= 1))
                return gb_fail(GB_INPUT,
                               "logit pre-processing: sample %zu, coordinate %zu is %.9g, which "
                               "maps outside (0,1) with alpha %g; dequantise the data to [0,1] "
                               "first (and use alpha > 0 if values can be 0 or 1)",
                               b, i, (double)x[k], alpha);
            double lp = log(p), l1p = log1p(-p);
            y[k] = (float)(lp - l1p);
            acc += log_scale - lp - l1p;
        }
        logdet[b] = acc;
    }
    return GB_OK;
}

double gb_flow_bits_per_dim(double logp_model, double logdet_pre, size_t dim,
                            gb_data_scaling scaling) {
    return gb_bits_per_dim(logp_model + logdet_pre, dim, scaling);
}
