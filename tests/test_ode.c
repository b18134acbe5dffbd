/* tests/test_ode.c - the adaptive RK45 solver (metrics/ode.h) against closed-form solutions and
 * against scipy.integrate.solve_ivp(method='RK45') on the same right-hand sides.
 *
 * Parity fixtures: tests/peers/metrics_misc.py writes $GB_FIXTURES/metrics_misc/ode_<case>_*
 * (run `/usr/bin/python3 tests/peers/metrics_misc.py DIR` and set GB_FIXTURES=DIR; `make test`
 * does both). The right-hand sides below are written in the same order of operations as the
 * peer's, both on glibc libm, so the two solvers see the same f up to nothing at all; they
 * then differ only in how the stage sums are rounded (np.dot vs a loop, see metrics/ode.h).
 *
 * Tolerances (tests/tolerances.md, section "ODE, bits/dim, ZSL metrics, spectrum"):
 *   counts     nfev, accepted and rejected steps: exactly equal to scipy's
 *   TOL_TIME   1e-9 relative on every accepted time: the error estimate h sum_j E_j K_j is a
 *              cancellation (terms of size |h f| summing to ~tol |y|), so the different summation
 *              order of scipy's np.dot (BLAS) changes the error norm by ~1e-10 relative and the
 *              next step size by ~2e-11 (observed worst 8.9e-11, vdp). Replacing scipy's np.dot
 *              by left-to-right loops made its times bitwise equal to ours (checked once by
 *              monkeypatching rk_step; not part of the suite, it depends on scipy internals).
 *   TOL_Y      1e-10 relative on the final state, relative to max(|y|, 1e-6) (components far
 *              below atol carry no relative accuracy): the same perturbation carried through
 *              the solution (observed 7.3e-15 relative; 6.6e-18 absolute on a 2e-7 component)
 *   CLOSED     |y - y_exact| <= 20 (atol + rtol |y_exact|): RK45 controls the local error per
 *              step; the global error is a sum of local errors, amplified where the solution
 *              grows (backward decay: e^{k (t0 - t)}); scipy's own worst ratio on these
 *              problems is 7.05 (decay_back), so 20 leaves margin but catches a wrong
 *              tableau or error norm (those give ratios of 1e2..1e4).
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "metrics/ode.h"
#include "metrics_misc_fixture.h"

#define TOL_TIME 1e-9
#define TOL_Y 1e-10
#define CLOSED_FACTOR 20.0

static const double DECAY_K[4] = {0.5, 1.0, 2.0, 4.0};
#define VE_SIGMA 25.0
#define VE_S0 0.5

static gb_status rhs_decay(void *u, double t, const double *y, double *f, size_t n) {
    (void)u, (void)t;
    for (size_t i = 0; i < n; i++) f[i] = -DECAY_K[i] * y[i];
    return GB_OK;
}
static gb_status rhs_osc(void *u, double t, const double *y, double *f, size_t n) {
    (void)u, (void)t, (void)n;
    f[0] = y[1];
    f[1] = -y[0];
    return GB_OK;
}
static gb_status rhs_vdp(void *u, double t, const double *y, double *f, size_t n) {
    (void)u, (void)t, (void)n;
    double mu = 5.0;
    f[0] = y[1];
    f[1] = mu * (1.0 - y[0] * y[0]) * y[1] - y[0];
    return GB_OK;
}
static gb_status rhs_cos(void *u, double t, const double *y, double *f, size_t n) {
    (void)u, (void)n;
    f[0] = cos(t) * y[0];
    return GB_OK;
}
static double ve_var(double t) {
    return VE_S0 * VE_S0 + (pow(VE_SIGMA, 2.0 * t) - 1.0) / (2.0 * log(VE_SIGMA));
}
static gb_status rhs_ve(void *u, double t, const double *y, double *f, size_t n) {
    (void)u;
    double g2 = pow(VE_SIGMA, 2.0 * t);
    double var = VE_S0 * VE_S0 + (g2 - 1.0) / (2.0 * log(VE_SIGMA));
    for (size_t i = 0; i < n; i++) f[i] = 0.5 * g2 * y[i] / var;
    return GB_OK;
}

/* f = y^2, y(0) = 1: y = 1/(1 - t) blows up at t = 1. */
static gb_status rhs_blowup(void *u, double t, const double *y, double *f, size_t n) {
    (void)u, (void)t, (void)n;
    f[0] = y[0] * y[0];
    return GB_OK;
}
/* f = -y^3: from a first step of 1000 the stages overflow to inf and nan, which scipy rejects. */
static gb_status rhs_cubic(void *u, double t, const double *y, double *f, size_t n) {
    (void)u, (void)t, (void)n;
    f[0] = -(y[0] * y[0] * y[0]);
    return GB_OK;
}

typedef struct {
    const char *name;
    gb_ode_rhs f;
    double t0, t1;
    double y0[4];
    size_t n;
    double rtol, atol;
    double first_step; /* 0: scipy's choice */
    int underflows;    /* scipy stops: "Required step size is less than spacing between numbers" */
} ode_case;

static const ode_case CASES[] = {
    {"decay", rhs_decay, 0.0, 5.0, {1.0, -2.0, 0.5, 3.0}, 4, 1e-5, 1e-5, 0, 0},
    {"decay_back", rhs_decay, 5.0, 0.0, {1.0, 1.0, 1.0, 1.0}, 4, 1e-6, 1e-9, 0, 0},
    {"osc", rhs_osc, 0.0, 10.0, {1.0, 0.0}, 2, 1e-3, 1e-6, 0, 0},
    {"vdp", rhs_vdp, 0.0, 10.0, {2.0, 0.0}, 2, 1e-5, 1e-8, 0, 0},
    {"cos", rhs_cos, 0.0, 8.0, {1.0}, 1, 1e-8, 1e-10, 0, 0},
    {"ve", rhs_ve, 1e-5, 1.0, {0.3, -1.2, 2.0}, 3, 1e-5, 1e-5, 0, 0},
    {"cubic_overflow", rhs_cubic, 0.0, 2000.0, {1.0}, 1, 1e-3, 1e-6, 1000.0, 0},
    {"blowup", rhs_blowup, 0.0, 2.0, {1.0}, 1, 1e-3, 1e-6, 0, 1},
};
#define N_CASES (sizeof CASES / sizeof CASES[0])

/* Accepted times recorded by the observer. */
typedef struct {
    double t[4096];
    size_t n;
} trace;
static gb_status record(void *user, double t, const double *y, size_t n) {
    (void)y, (void)n;
    trace *tr = user;
    cr_assert(tr->n < 4096);
    tr->t[tr->n++] = t;
    return GB_OK;
}

static gb_status solve(const ode_case *c, double *y, gb_ode_stats *st, trace *tr) {
    memcpy(y, c->y0, c->n * sizeof *y);
    gb_ode_opts o = gb_ode_opts_default();
    o.rtol = c->rtol;
    o.atol = c->atol;
    o.first_step = c->first_step;
    if (tr) {
        tr->n = 0;
        o.observer = record;
        o.observer_user = tr;
    }
    return gb_ode_rk45(y, c->n, c->t0, c->t1, c->f, NULL, &o, st);
}

Test(ode, matches_scipy_solve_ivp_rk45) {
    static trace tr;
    for (size_t k = 0; k < N_CASES; k++) {
        const ode_case *c = &CASES[k];
        char name[128];
        double y[4];
        gb_ode_stats st;
        gb_status s = solve(c, y, &st, &tr);
        if (c->underflows) {
            cr_assert_eq(s, GB_NUMERIC, "%s: status %d", c->name, s);
            cr_expect_not_null(strstr(gb_last_error(), "step size underflow"), "%s", gb_last_error());
        } else {
            cr_assert_eq(s, GB_OK, "%s: %s", c->name, gb_last_error());
        }

        snprintf(name, sizeof name, "ode_%s_counts", c->name);
        double *counts = mm_read_f64(name, 3, NULL);
        cr_expect_eq(st.nfev, (size_t)counts[0], "%s: nfev %zu, scipy %g", c->name, st.nfev, counts[0]);
        cr_expect_eq(st.n_accepted, (size_t)counts[1], "%s: accepted %zu, scipy %g", c->name,
                     st.n_accepted, counts[1]);
        cr_expect_eq(st.n_rejected, (size_t)counts[2], "%s: rejected %zu, scipy %g", c->name,
                     st.n_rejected, counts[2]);
        free(counts);

        size_t nt;
        snprintf(name, sizeof name, "ode_%s_t", c->name);
        double *t = mm_read_f64(name, 0, &nt);
        cr_expect_eq(t[0], c->t0, "%s: scipy's first time", c->name);
        cr_expect_eq(tr.n + 1, nt, "%s: %zu accepted times, scipy %zu", c->name, tr.n, nt - 1);
        if (tr.n + 1 == nt) {
            snprintf(name, sizeof name, "%s accepted times", c->name);
            mm_expect_close(name, tr.t, t + 1, tr.n, TOL_TIME, 1e-3);
            if (!c->underflows) cr_expect_eq(tr.t[tr.n - 1], c->t1, "%s: the last step lands on t1 exactly", c->name);
        }
        cr_expect(c->underflows ? fabs(st.t - t[nt - 1]) <= TOL_TIME * fabs(t[nt - 1]) : st.t == c->t1,
                  "%s: stats.t %.17g, scipy's last time %.17g", c->name, st.t, t[nt - 1]);
        free(t);

        snprintf(name, sizeof name, "ode_%s_y", c->name);
        double *yref = mm_read_f64(name, c->n, NULL);
        snprintf(name, sizeof name, "%s final state", c->name);
        mm_expect_close(name, y, yref, c->n, TOL_Y, 1e-6);
        free(yref);
    }
}

static void expect_closed(const ode_case *c, const double *exact) {
    double y[4];
    gb_ode_stats st;
    cr_assert_eq(solve(c, y, &st, NULL), GB_OK, "%s: %s", c->name, gb_last_error());
    for (size_t i = 0; i < c->n; i++) {
        double lim = CLOSED_FACTOR * (c->atol + c->rtol * fabs(exact[i]));
        cr_expect(fabs(y[i] - exact[i]) <= lim, "%s[%zu]: got %.17g, exact %.17g (err %.3g > %.3g)",
                  c->name, i, y[i], exact[i], fabs(y[i] - exact[i]), lim);
    }
    cr_expect_eq(st.nfev, 2 + 6 * (st.n_accepted + st.n_rejected), "%s: nfev identity", c->name);
}

Test(ode, closed_form_solutions) {
    double ex[4];
    for (int i = 0; i < 4; i++) ex[i] = CASES[0].y0[i] * exp(-DECAY_K[i] * 5.0);
    expect_closed(&CASES[0], ex);
    for (int i = 0; i < 4; i++) ex[i] = exp(DECAY_K[i] * 5.0); /* backwards from y(5) = 1 */
    expect_closed(&CASES[1], ex);
    ex[0] = cos(10.0);
    ex[1] = -sin(10.0);
    expect_closed(&CASES[2], ex);
    ex[0] = exp(sin(8.0));
    expect_closed(&CASES[4], ex);
    /* d ln x / dt = 1/2 d ln(var)/dt: x(1) = x(eps) sqrt(var(1) / var(eps)). */
    for (int i = 0; i < 3; i++) ex[i] = CASES[5].y0[i] * sqrt(ve_var(1.0) / ve_var(1e-5));
    expect_closed(&CASES[5], ex);
}

Test(ode, empty_span_costs_two_evaluations_and_no_step) {
    double y[2] = {1.0, 0.0};
    gb_ode_stats st;
    gb_ode_opts o = gb_ode_opts_default();
    cr_assert_eq(gb_ode_rk45(y, 2, 3.0, 3.0, rhs_osc, NULL, &o, &st), GB_OK);
    cr_expect_eq(st.nfev, 2);
    cr_expect_eq(st.n_accepted, 0);
    cr_expect(y[0] == 1.0 && y[1] == 0.0);
}

Test(ode, max_step_bounds_every_step) {
    static trace tr;
    tr.n = 0;
    double y[2] = {1.0, 0.0};
    gb_ode_opts o = gb_ode_opts_default();
    o.max_step = 0.25;
    o.observer = record;
    o.observer_user = &tr;
    cr_assert_eq(gb_ode_rk45(y, 2, 0.0, 10.0, rhs_osc, NULL, &o, NULL), GB_OK);
    double prev = 0.0;
    for (size_t i = 0; i < tr.n; i++) {
        cr_expect(tr.t[i] - prev <= 0.25 + 1e-14, /* t_new - t rounds at ulp(10) */ "step %zu: %.17g", i, tr.t[i] - prev);
        prev = tr.t[i];
    }
    cr_expect_geq(tr.n, 40);
    /* first_step replaces the start-up estimate: one evaluation fewer. */
    gb_ode_stats a, b;
    y[0] = 1, y[1] = 0;
    o = gb_ode_opts_default();
    cr_assert_eq(gb_ode_rk45(y, 2, 0.0, 1.0, rhs_osc, NULL, &o, &a), GB_OK);
    y[0] = 1, y[1] = 0;
    o.first_step = 0.01;
    cr_assert_eq(gb_ode_rk45(y, 2, 0.0, 1.0, rhs_osc, NULL, &o, &b), GB_OK);
    cr_expect_eq(b.nfev, 1 + 6 * (b.n_accepted + b.n_rejected));
    cr_expect_eq(a.nfev, 2 + 6 * (a.n_accepted + a.n_rejected));
}


/* A right-hand side that turns NaN past t = 0.5 and one that reports an error. */
static gb_status rhs_nan(void *u, double t, const double *y, double *f, size_t n) {
    (void)u, (void)n;
    f[0] = t > 0.5 ? NAN : -y[0];
    return GB_OK;
}
static gb_status rhs_fails(void *u, double t, const double *y, double *f, size_t n) {
    (void)u, (void)y, (void)n;
    f[0] = 0.0;
    return t > 0.25 ? gb_fail(GB_INPUT, "model refused") : GB_OK;
}

Test(ode, failures_carry_status_and_time) {
    double y[1] = {1.0};
    gb_ode_stats st;
    gb_ode_opts o = gb_ode_opts_default();
    /* NaN past 0.5: every attempt across it is rejected until the step underflows there */
    cr_expect_eq(gb_ode_rk45(y, 1, 0.0, 1.0, rhs_nan, NULL, &o, &st), GB_NUMERIC);
    cr_expect(strstr(gb_last_error(), "step size underflow at t = ") != NULL, "%s", gb_last_error());
    cr_expect(strstr(gb_last_error(), "the last attempt met a non-finite right-hand side (nan at t = ") != NULL, "%s",
              gb_last_error());
    cr_expect(st.t <= 0.5 && st.t > 0.5 - 1e-12, "last accepted time %.17g", st.t);
    cr_expect(fabs(y[0] - exp(-st.t)) < 1e-4, "state at the last accepted time");
    cr_expect_eq(st.nfev, 2 + 6 * (st.n_accepted + st.n_rejected), "the rejected attempts are counted");

    /* NaN at the start: no step can be taken */
    y[0] = 1.0;
    cr_expect_eq(gb_ode_rk45(y, 1, 0.75, 1.0, rhs_nan, NULL, &o, &st), GB_NUMERIC);
    cr_expect(strstr(gb_last_error(), "right-hand side at the initial state is nan at t = 0.75") != NULL, "%s",
              gb_last_error());

    y[0] = 1.0;
    cr_expect_eq(gb_ode_rk45(y, 1, 0.0, 1.0, rhs_fails, NULL, &o, &st), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "model refused") != NULL, "%s", gb_last_error());

    y[0] = 1.0;
    o.max_nfev = 20;
    o.rtol = 1e-12;
    cr_expect_eq(gb_ode_rk45(y, 1, 0.0, 100.0, rhs_decay, NULL, &o, &st), GB_NUMERIC);
    cr_expect_leq(st.nfev, 20);

    o = gb_ode_opts_default();
    o.rtol = 0;
    cr_expect_eq(gb_ode_rk45(y, 1, 0.0, 1.0, rhs_decay, NULL, &o, NULL), GB_USAGE);
    o = gb_ode_opts_default();
    y[0] = NAN;
    cr_expect_eq(gb_ode_rk45(y, 1, 0.0, 1.0, rhs_decay, NULL, &o, NULL), GB_INPUT);
    y[0] = 1.0;
    cr_expect_eq(gb_ode_rk45(y, 1, 0.0, INFINITY, rhs_decay, NULL, &o, NULL), GB_USAGE);
    o.first_step = 2.0; /* longer than the span: scipy raises "`first_step` exceeds bounds" */
    cr_expect_eq(gb_ode_rk45(y, 1, 0.0, 1.0, rhs_decay, NULL, &o, NULL), GB_USAGE);
    cr_expect(strstr(gb_last_error(), "first_step 2 exceeds the time span") != NULL, "%s", gb_last_error());
}
