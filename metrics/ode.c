/* metrics/ode.c - Dormand-Prince RK5(4) with scipy's solve_ivp(method='RK45') step control
 * (contract and algorithm in ode.h; tested by tests/test_ode.c against closed forms and scipy).
 *
 * Every expression mirrors the order of operations of scipy 1.10's rk.py/common.py (for
 * example (sum_j K_j a_j) * h, not h * sum), so that both round alike and take the same steps.
 */
#include "metrics/ode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_STAGES 6
#define SAFETY 0.9
#define MIN_FACTOR 0.2
#define MAX_FACTOR 10.0
#define ERROR_EXPONENT (-1.0 / 5.0) /* -1 / (error estimator order 4 + 1) */

/* Dormand & Prince (1980) RK5(4)7M, as scipy's RK45 class lists it. Each entry is a double
 * division evaluated by the compiler, rounded exactly as Python rounds 44/45 etc. */
static const double DP_C[N_STAGES] = {0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0};
static const double DP_A[N_STAGES][N_STAGES - 1] = {
    {0, 0, 0, 0, 0},
    {1.0 / 5.0, 0, 0, 0, 0},
    {3.0 / 40.0, 9.0 / 40.0, 0, 0, 0},
    {44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0, 0},
    {19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0, 0},
    {9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0},
};
static const double DP_B[N_STAGES] = {35.0 / 384.0,   0.0,           500.0 / 1113.0,
                                      125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0};
/* Difference between the 5th- and 4th-order weights; the 7th weight multiplies the FSAL stage. */
static const double DP_E[N_STAGES + 1] = {-71.0 / 57600.0,    0.0,           71.0 / 16695.0,
                                          -71.0 / 1920.0,     17253.0 / 339200.0,
                                          -22.0 / 525.0,      1.0 / 40.0};

gb_ode_opts gb_ode_opts_default(void) {
    gb_ode_opts o;
    memset(&o, 0, sizeof o);
    o.rtol = 1e-3;
    o.atol = 1e-6;
    return o;
}

/* scipy's common.norm: np.linalg.norm(x) / x.size ** 0.5. */
static double rms(const double *x, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += x[i] * x[i];
    return sqrt(s) / sqrt((double)n);
}

typedef struct {
    gb_ode_rhs f;
    void *user;
    size_t n;
    size_t nfev;
    size_t max_nfev;
    /* the last non-finite value f gave (nonfinite_t NAN when none yet), for the messages */
    double nonfinite, nonfinite_t;
    size_t nonfinite_at;
} rhs_ctx;

/* One counted evaluation. A non-finite value is not a failure here: inside a step it makes the
 * error norm non-finite, which rejects the attempt (as in scipy); it is remembered for the
 * message should the step then underflow. */
static gb_status eval(rhs_ctx *c, double t, const double *y, double *dydt) {
    if (c->max_nfev && c->nfev >= c->max_nfev)
        return gb_fail(GB_NUMERIC,
                       "ode: more than %zu right-hand-side evaluations before reaching the end "
                       "time (now at t = %.17g); the problem is stiff or the tolerances too tight",
                       c->max_nfev, t);
    c->nfev++;
    gb_status s = c->f(c->user, t, y, dydt, c->n);
    if (s != GB_OK) return gb_fail_wrap(s, "ode: right-hand side at t = %.17g", t);
    for (size_t i = 0; i < c->n; i++)
        if (!isfinite(dydt[i])) {
            c->nonfinite = dydt[i], c->nonfinite_t = t, c->nonfinite_at = i;
            break;
        }
    return GB_OK;
}

/* GB_NUMERIC naming what was non-finite, where: `what` at time t, component i of n. */
static gb_status fail_nonfinite(const char *what, double value, double t, size_t i, size_t n) {
    return gb_fail(GB_NUMERIC,
                   "ode: %s is %g at t = %.17g, component %zu of %zu; the model diverged or the state "
                   "left its valid range",
                   what, value, t, i, n);
}

/* scipy's select_initial_step for error-estimator order 4. Uses `tmp` as scratch for y1 and
 * `f1` for f(t0 + h0 dir, y1). */
static gb_status initial_step(double *h_abs, rhs_ctx *c, double t0, const double *y0,
                              const double *f0, double dir, double rtol, double atol,
                              double *tmp, double *f1) {
    size_t n = c->n;
    for (size_t i = 0; i < n; i++) tmp[i] = y0[i] / (atol + fabs(y0[i]) * rtol);
    double d0 = rms(tmp, n);
    for (size_t i = 0; i < n; i++) tmp[i] = f0[i] / (atol + fabs(y0[i]) * rtol);
    double d1 = rms(tmp, n);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    double hd = h0 * dir;
    for (size_t i = 0; i < n; i++) tmp[i] = y0[i] + hd * f0[i];
    GB_TRY(eval(c, t0 + hd, tmp, f1));
    for (size_t i = 0; i < n; i++) tmp[i] = (f1[i] - f0[i]) / (atol + fabs(y0[i]) * rtol);
    double d2 = rms(tmp, n) / h0;
    double h1;
    if (d1 <= 1e-15 && d2 <= 1e-15) h1 = fmax(1e-6, h0 * 1e-3);
    else h1 = pow(0.01 / fmax(d1, d2), 1.0 / 5.0);
    *h_abs = fmin(100 * h0, h1);
    return GB_OK;
}

/* One Dormand-Prince attempt from (t, y) with step h; K[0] holds f(t, y) on entry. Writes the
 * 5th-order y_new, K[1..6] (K[6] = f(t + h, y_new), the FSAL stage). */
static gb_status dp_attempt(rhs_ctx *c, double t, double h, const double *y, double *K[7],
                            double *ytmp, double *y_new) {
    size_t n = c->n;
    for (int s = 1; s < N_STAGES; s++) {
        for (size_t i = 0; i < n; i++) {
            double acc = 0.0;
            for (int j = 0; j < s; j++) acc += K[j][i] * DP_A[s][j];
            ytmp[i] = y[i] + acc * h;
        }
        GB_TRY(eval(c, t + DP_C[s] * h, ytmp, K[s]));
    }
    for (size_t i = 0; i < n; i++) {
        double acc = 0.0;
        for (int j = 0; j < N_STAGES; j++) acc += K[j][i] * DP_B[j];
        y_new[i] = y[i] + h * acc;
    }
    return eval(c, t + h, y_new, K[N_STAGES]);
}

/* rms of (h sum_j E_j K_j) / (atol + max(|y|, |y_new|) rtol). */
static double error_norm(double *const K[7], double h, const double *y, const double *y_new,
                         size_t n, double rtol, double atol, double *tmp) {
    for (size_t i = 0; i < n; i++) {
        double acc = 0.0;
        for (int j = 0; j <= N_STAGES; j++) acc += K[j][i] * DP_E[j];
        double scale = atol + fmax(fabs(y[i]), fabs(y_new[i])) * rtol;
        tmp[i] = acc * h / scale;
    }
    return rms(tmp, n);
}

static gb_status check_args(const double *y, size_t n, double t0, double t1,
                            const gb_ode_opts *o) {
    if (!(o->rtol > 0) || !isfinite(o->rtol) || !(o->atol >= 0) || !isfinite(o->atol))
        return gb_fail(GB_USAGE, "ode: rtol must be finite and > 0 and atol finite and >= 0 "
                                 "(got rtol %g, atol %g)", o->rtol, o->atol);
    if (!(o->first_step >= 0) || !(o->max_step >= 0))
        return gb_fail(GB_USAGE, "ode: first_step (%g) and max_step (%g) must be >= 0 (0 = auto)",
                       o->first_step, o->max_step);
    if (!isfinite(t0) || !isfinite(t1))
        return gb_fail(GB_USAGE, "ode: the time span [%g, %g] must be finite", t0, t1);
    if (o->first_step > fabs(t1 - t0))
        return gb_fail(GB_USAGE, "ode: first_step %g exceeds the time span [%g, %g] (scipy refuses it too)",
                       o->first_step, t0, t1);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i]))
            return gb_fail(GB_INPUT, "ode: initial state component %zu of %zu is %g", i, n, y[i]);
    return GB_OK;
}

gb_status gb_ode_rk45(double *y, size_t n, double t0, double t1, gb_ode_rhs f, void *user,
                      const gb_ode_opts *opts, gb_ode_stats *stats) {
    GB_ASSERT(y != NULL && f != NULL && opts != NULL, "gb_ode_rk45: NULL argument");
    GB_ASSERT(n >= 1, "gb_ode_rk45: empty state");
    gb_ode_stats st = {0, 0, 0, t0, 0.0};
    if (stats) *stats = st;
    GB_TRY(check_args(y, n, t0, t1, opts));

    /* 7 stages, y_new, a stage argument and a scratch vector. */
    double *mem = malloc(10 * n * sizeof *mem);
    if (!mem) return gb_fail(GB_ENV, "ode: out of memory for a state of %zu doubles", n);
    double *K[7];
    for (int j = 0; j < 7; j++) K[j] = mem + (size_t)j * n;
    double *y_new = mem + 7 * n, *ytmp = mem + 8 * n, *tmp = mem + 9 * n;

    rhs_ctx c = {.f = f, .user = user, .n = n, .max_nfev = opts->max_nfev, .nonfinite_t = NAN};
    double rtol = opts->rtol, atol = opts->atol;
    double max_step = opts->max_step > 0 ? opts->max_step : INFINITY;
    double dir = t1 != t0 ? (t1 > t0 ? 1.0 : -1.0) : 1.0;
    double t = t0, h_abs = 0.0;
    gb_status s = eval(&c, t, y, K[0]);
    if (s == GB_OK && !isnan(c.nonfinite_t)) /* no step can start from there */
        s = fail_nonfinite("the right-hand side at the initial state", c.nonfinite, t, c.nonfinite_at, n);
    if (s == GB_OK) {
        if (opts->first_step > 0) h_abs = opts->first_step;
        else s = initial_step(&h_abs, &c, t, y, K[0], dir, rtol, atol, tmp, ytmp);
    }

    while (s == GB_OK && t != t1) {
        double min_step = 10 * fabs(nextafter(t, dir * INFINITY) - t);
        if (h_abs > max_step) h_abs = max_step;
        else if (h_abs < min_step) h_abs = min_step;
        int rejected = 0;
        double t_new = t, err;
        for (;;) {
            if (h_abs < min_step) {
                char why[200] = "the solution is not smooth there or the tolerances are too tight";
                if (!isnan(c.nonfinite_t))
                    snprintf(why, sizeof why, "the last attempt met a non-finite right-hand side (%g at t = %.17g, "
                             "component %zu of %zu)", c.nonfinite, c.nonfinite_t, c.nonfinite_at, n);
                s = gb_fail(GB_NUMERIC,
                            "ode: step size underflow at t = %.17g (|h| %.3g below 10 ulps of t) "
                            "after %zu accepted and %zu rejected steps; %s",
                            t, h_abs, st.n_accepted, st.n_rejected, why);
                break;
            }
            double h = h_abs * dir;
            t_new = t + h;
            if (dir * (t_new - t1) > 0) t_new = t1;
            h = t_new - t;
            h_abs = fabs(h);
            c.nonfinite_t = NAN; /* what this attempt meets */
            s = dp_attempt(&c, t, h, y, K, ytmp, y_new);
            if (s != GB_OK) break;
            /* a non-finite stage gives a NaN or infinite norm: rejected with the smallest
             * factor below (fmax drops the NaN as Python's max(0.2, nan) does) */
            err = error_norm(K, h, y, y_new, n, rtol, atol, tmp);
            if (err < 1) {
                double factor = err == 0 ? MAX_FACTOR
                                         : fmin(MAX_FACTOR, SAFETY * pow(err, ERROR_EXPONENT));
                if (rejected) factor = fmin(1.0, factor);
                h_abs *= factor;
                break;
            }
            h_abs *= fmax(MIN_FACTOR, SAFETY * pow(err, ERROR_EXPONENT));
            rejected = 1;
            st.n_rejected++;
        }
        if (s == GB_OK) /* an accepted state that overflowed (its scale made the error 0) */
            for (size_t i = 0; i < n; i++)
                if (!isfinite(y_new[i])) {
                    s = fail_nonfinite("the state", y_new[i], t_new, i, n);
                    break;
                }
        if (s != GB_OK) break;
        st.n_accepted++;
        t = t_new;
        memcpy(y, y_new, n * sizeof *y);
        memcpy(K[0], K[N_STAGES], n * sizeof *y); /* FSAL */
        if (opts->observer) {
            s = opts->observer(opts->observer_user, t, y, n);
            if (s != GB_OK) s = gb_fail_wrap(s, "ode: observer at t = %.17g", t);
        }
        if (dir * (t - t1) >= 0) break;
    }
    st.nfev = c.nfev;
    st.t = t;
    st.h_next = h_abs;
    if (stats) *stats = st;
    free(mem);
    return s;
}
