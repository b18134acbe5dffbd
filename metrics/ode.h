/* metrics/ode.h - adaptive Dormand-Prince RK5(4) for dy/dt = f(t, y) on float64 state vectors,
 * with the step-size control of scipy.integrate.solve_ivp(method='RK45') (scipy 1.10,
 * scipy/integrate/_ivp/rk.py and common.py), used by the probability-flow-ODE likelihood
 * (specs/pipelines.md 3.5, specs/metrics.md "Bits per dimension") and the ODE sampler.
 *
 * Algorithm, step for step as scipy does it (so the same f gives the same steps and nfev):
 *   - f0 = f(t0, y0); the first step from select_initial_step (Hairer, Norsett & Wanner I,
 *     II.4): scale = atol + |y0| rtol, d0 = rms(y0/scale), d1 = rms(f0/scale),
 *     h0 = (d0 < 1e-5 or d1 < 1e-5) ? 1e-6 : 0.01 d0/d1, f1 = f(t0 + dir h0, y0 + dir h0 f0),
 *     d2 = rms((f1 - f0)/scale)/h0, h1 = (d1 <= 1e-15 and d2 <= 1e-15) ? max(1e-6, 1e-3 h0)
 *     : (0.01/max(d1, d2))^(1/5), first |h| = min(100 h0, h1). (2 evaluations so far.)
 *   - each attempt: min_step = 10 |nextafter(t, dir inf) - t|; |h| is clipped to
 *     [min_step, max_step] once per step; |h| < min_step inside the retry loop fails
 *     (GB_NUMERIC, "step size underflow"); t_new = t + dir |h|, clipped to t1, and h is
 *     recomputed as t_new - t (so the last step lands on t1 exactly); the six stages of the
 *     Dormand-Prince tableau plus f(t_new, y_new) (FSAL: it is the next step's first stage),
 *     i.e. 6 evaluations per attempt.
 *   - error = h sum_j E_j K_j (7 stages, the FSAL stage included), scale = atol + rtol
 *     max(|y|, |y_new|), err = rms(error/scale).
 *   - err < 1: accept; factor = 10 if err == 0 else min(10, 0.9 err^(-1/5)), capped at 1 when
 *     this step had a rejected attempt; |h| *= factor.
 *     err >= 1: reject; |h| *= max(0.2, 0.9 err^(-1/5)); retry.
 *   - t0 == t1 costs the 2 start-up evaluations and takes no step (scipy does the same).
 * So nfev = 2 + 6 (accepted + rejected) always.
 *
 * Known difference from scipy: scipy forms the stage sums with np.dot (BLAS, its own summation
 * order) and the RMS with np.linalg.norm; here they are plain left-to-right double sums. The
 * results differ by a few ulps per step, which changes an accept/reject decision only when an
 * error norm lies within ~1e-15 of 1 (not seen on the test problems; see tests/test_ode.c).
 *
 * Non-finite values, as scipy treats them: a stage with a NaN or infinite component makes the
 * error norm non-finite, so the attempt is rejected and retried with |h| * 0.2 (Python's
 * max(0.2, nan) is 0.2, as C's fmax); a step too large for the model (an overflow) is so
 * recovered from, and a right-hand side that stays non-finite ends in the step-size underflow
 * below, whose message then names the last non-finite value. Unlike scipy (which goes on with
 * NaN steps), a non-finite f(t0, y0) and an accepted state that overflowed are failures.
 *
 * Failures: f returning a non-OK status (passed through, with the time added to the message);
 * f(t0, y0) non-finite or an accepted state non-finite -> GB_NUMERIC naming t and the component;
 * step-size underflow -> GB_NUMERIC naming t (scipy's "Required step size is less than spacing
 * between numbers"); more than max_nfev evaluations -> GB_NUMERIC. Non-finite y0, t0, t1, bad
 * tolerances, or a first_step longer than the span (scipy's "`first_step` exceeds bounds") ->
 * GB_USAGE / GB_INPUT. Memory: 10 vectors of n doubles, allocated per call (GB_ENV when that
 * fails).
 *
 * Tested by tests/test_ode.c: closed-form solutions (exponential decay forward and backward in
 * time, a harmonic oscillator, a scalar time-dependent equation), the nfev identity, failure
 * paths, and parity with scipy's solve_ivp (solution, nfev, accepted-step count and every
 * accepted time) through fixtures from tests/peers/metrics_misc.py, including a first step that
 * overflows (rejected and recovered from) and a blow-up that ends in step-size underflow at
 * scipy's time.
 */
#ifndef GB_ODE_H
#define GB_ODE_H

#include <stddef.h>

#include "core/status.h"

/* Right-hand side: dydt[n] = f(t, y[n]). Return GB_OK, or a status that stops the solve (the
 * solver passes it through). y must not be modified; y and dydt never alias. */
typedef gb_status (*gb_ode_rhs)(void *user, double t, const double *y /* [n] */,
                                double *dydt /* [n] */, size_t n);

/* Called after every accepted step with the new time and state (e.g. to record a trajectory);
 * a non-OK return stops the solve with that status. */
typedef gb_status (*gb_ode_observer)(void *user, double t, const double *y /* [n] */, size_t n);

typedef struct {
    double rtol;        /* relative tolerance, > 0 (scipy default 1e-3; specs use 1e-5) */
    double atol;        /* absolute tolerance, >= 0 (scipy default 1e-6; specs use 1e-5) */
    double first_step;  /* 0: scipy's select_initial_step; > 0: this |h| (no extra f call) */
    double max_step;    /* 0 or INFINITY: unbounded (scipy's default np.inf) */
    size_t max_nfev;    /* 0: unbounded; otherwise stop with GB_NUMERIC beyond this many */
    gb_ode_observer observer; /* NULL: none */
    void *observer_user;
} gb_ode_opts;

/* scipy's defaults: rtol 1e-3, atol 1e-6, everything else off. */
gb_ode_opts gb_ode_opts_default(void);

typedef struct {
    size_t nfev;        /* right-hand-side evaluations (scipy's sol.nfev) */
    size_t n_accepted;  /* accepted steps (len(sol.t) - 1 in scipy) */
    size_t n_rejected;  /* rejected attempts */
    double t;           /* time reached: t1 on success, the last accepted time on failure */
    double h_next;      /* |h| proposed for the next step */
} gb_ode_stats;

/* Integrate dy/dt = f(t, y) from t0 to t1 (t1 < t0 integrates backwards; t1 == t0 returns y0).
 * y [n]: y(t0) on entry, y(t1) on GB_OK; on failure the last accepted state (time in stats->t).
 * stats may be NULL. n >= 1. */
gb_status gb_ode_rk45(double *y /* [n] */, size_t n, double t0, double t1, gb_ode_rhs f,
                      void *user, const gb_ode_opts *opts, gb_ode_stats *stats);

#endif
