/* metrics/bpd.h - bits per dimension: uniform dequantisation, the bits/dim conversion with the
 * data-scaling offset, the probability-flow-ODE log-likelihood (Skilling-Hutchinson divergence
 * along an adaptive RK45 solve) and the flow (RealNVP) helpers.
 * Definitions: specs/metrics.md "Bits per dimension", specs/pipelines.md 3.5 (`ode_likelihood`).
 *
 * Metrics know no models: the probability-flow drift and its Jacobian products come from a
 * caller's callback (gb_flow_drift_fn). The caller composes the drift from its SDE and score
 * model, e.g. VE: f(x, t) = -1/2 g(t)^2 s_theta(x, t), so dlogp/dt = div f needs no SDE here.
 *
 * Conventions (metrics.md, score_sde run_lib.py/likelihood.py, the score-SDE tutorial):
 *   dequantised data  x~ = (k + u) / 256 in [0,1] for an 8-bit level k and u ~ U(0,1) from a
 *                     philox stream (metrics.md: "Dequantization noise comes from a seeded
 *                     stream"); for data centred to [-1,1], y = 2 x~ - 1 (score_sde's scaler).
 *   bits/dim          bpd = -log p(y) / ln 2 / D + offset, with log p the model's density of
 *                     the data as the model sees it (nats) and
 *                     offset = 8 for [0,1] data (log2 256: the density of the integer data in
 *                     [0,256)^D is 256^-D times that of x~), 7 for [-1,1] data (y = 2 x~ - 1
 *                     adds log2 2 = 1 per dimension back: score_sde's
 *                     `offset = 7 - inverse_scaler(-1)`). metrics.md: "bpd = -log2 p(x~)/D + 8;
 *                     for data scaled to [-1,1] the offset is 7".
 *   ODE likelihood    augmented state [x (batch*dim), delta_logp (batch)], float64, integrated
 *                     from t_data (eps = 1e-5) to t_prior (T = 1) with RK45, rtol = atol = 1e-5:
 *                       dx/dt = f(x, t),  d delta_logp/dt = div_x f(x, t)
 *                     div estimated by eps^T (df/dx) eps with eps fixed for the whole trajectory
 *                     (drawn once per call from the caller's stream), or the exact trace.
 *                     log p(x) = log N(z; 0, prior_std^2 I) + delta_logp(T), z = x(T);
 *                     log N(z; 0, s^2 I) = -D/2 log(2 pi s^2) - |z|^2 / (2 s^2) (the tutorial's
 *                     prior_likelihood, in that order of operations).
 *                     As in the tutorial, the whole batch is one ODE state: the error norm (and so
 *                     the steps and nfev) is shared by the batch.
 *   Flows (RealNVP)   x~ in [0,1] -> p = alpha + (1 - 2 alpha) x~ -> y = logit(p); the model's
 *                     log p(y) plus the pre-processing log-det sum_i [log(1 - 2 alpha) - log p_i
 *                     - log(1 - p_i)] is log p(x~); offset 8 (real-nvp's -log 256 per dimension).
 *
 * Precision: the drift callback works in float32 (models are float32); the state, the
 * divergence contraction sum_i v_i (Jv)_i and every log-density are double.
 *
 * Tested by tests/test_bpd.c: a Gaussian pushed by the exact VE probability-flow drift (closed-
 * form z, delta_logp and bpd), a linear field with rotation (closed form, Rademacher exact),
 * Hutchinson convergence to the exact trace with many probes, the Gaussian estimator's exact
 * |eps|^2/D scaling on an isotropic field, noise fixed along the trajectory, the offsets
 * (uniform densities on [0,1]^D and [-1,1]^D both give 8 bits), the logit pre-processing against
 * a closed form, dequantisation bounds and determinism.
 */
#ifndef GB_BPD_H
#define GB_BPD_H

#include <stddef.h>
#include <stdint.h>

#include "core/philox.h"
#include "core/status.h"
#include "metrics/ode.h"

typedef enum {
    GB_DATA_01 = 0,  /* model sees x~ in [0,1]: offset 8 */
    GB_DATA_PM1 = 1, /* model sees 2 x~ - 1 in [-1,1]: offset 7 */
} gb_data_scaling;

/* 8 for GB_DATA_01, 7 for GB_DATA_PM1 (see the header). */
double gb_bpd_offset(gb_data_scaling scaling);

/* bpd = -logp / ln 2 / dim + offset, logp in nats (score_sde's order of operations). */
double gb_bits_per_dim(double logp, size_t dim, gb_data_scaling scaling);

/* log N(z; 0, std^2 I) over dim coordinates, in double (pipelines.md 3.5 prior_logp). */
double gb_gaussian_logp(const double *z /* [dim] */, size_t dim, double std);

/* Uniform dequantisation of 8-bit levels: out[i] = (k_i + u_i) / 256 (GB_DATA_01) or
 * 2 (k_i + u_i) / 256 - 1 (GB_DATA_PM1), computed in double and rounded once to float;
 * u_i = the next n uniforms of the stream (gb_stream_uniform: u in [2^-24, 1 - 2^-24]).
 * out lies in [k/256, (k+1)/256]: the float rounding can land on the upper boundary for u near
 * 1 and high levels (at k = 255, (k + u)/256 = 1 - 2^-32 rounds to 1.0f). Advances s by n
 * words. */
void gb_dequantize_u8(float *out /* [n] */, const uint8_t *levels /* [n] */, size_t n,
                      gb_data_scaling scaling, gb_stream *s);

/* The same from float images holding k/255 (ToTensor output): k = nearbyint(255 x), which must
 * lie in 0..255 with |255 x - k| <= 1e-3 (else GB_INPUT naming the index: the data is not
 * 8-bit). out may alias x. */
gb_status gb_dequantize_f32(float *out /* [n] */, const float *x /* [n] */, size_t n,
                            gb_data_scaling scaling, gb_stream *s);

/* ---- probability-flow ODE likelihood ---- */

typedef enum {
    GB_HUTCH_GAUSSIAN = 0,   /* eps ~ N(0, I): gb_stream_normal (the tutorial's randn_like) */
    GB_HUTCH_RADEMACHER = 1, /* eps_i = +1 if the stream word's top bit is set, else -1 */
    GB_HUTCH_EXACT = 2,      /* exact trace: dim products with the basis vectors per call */
} gb_div_estimator;

/* The probability-flow drift and one Jacobian-vector product, for a batch:
 *   drift[b, i] = f(x_b, t)_i
 *   prod[b, i]  = (v_b^T J_b)_i (a VJP, one backward pass) or (J_b v_b)_i (a JVP), J_b =
 *                 df(x_b, t)/dx_b; only <v_b, prod_b> is used, which is the same for both.
 * Return GB_OK or a status that stops the solve. x, v, drift, prod never alias. */
typedef gb_status (*gb_flow_drift_fn)(void *user, double t, const float *x /* [batch,dim] */,
                                      const float *v /* [batch,dim] */,
                                      float *drift /* [batch,dim] */,
                                      float *prod /* [batch,dim] */, size_t batch, size_t dim);

/* Fill eps [n] with the probe noise of `kind` from s (Gaussian: gb_stream_normal, advancing the
 * position by n rounded up to even; Rademacher: n words). GB_HUTCH_EXACT is a programmer error. */
void gb_hutchinson_noise(float *eps /* [n] */, size_t n, gb_div_estimator kind, gb_stream *s);

/* div[b] = sum_i eps[b,i] prod[b,i] (double) with prod from one call with v = eps, or, for
 * GB_HUTCH_EXACT (eps ignored, may be NULL), the exact trace from dim calls with v = e_i.
 * drift (may be NULL) receives f(x, t). Allocates 3 batch*dim float buffers (GB_ENV if not). */
gb_status gb_flow_divergence(double *div /* [batch] */, float *drift /* [batch,dim] or NULL */,
                             gb_flow_drift_fn fn, void *user, double t,
                             const float *x /* [batch,dim] */, const float *eps /* [batch,dim] */,
                             size_t batch, size_t dim, gb_div_estimator kind);

typedef struct {
    double t_data;      /* start time, the data end (score_sde eps: 1e-5) */
    double t_prior;     /* end time, the prior end (T = 1) */
    double rtol, atol;  /* 1e-5, 1e-5 */
    gb_div_estimator estimator;
    double prior_std;   /* std of the Gaussian prior at t_prior, > 0 (VE sigma=25: ~9.845) */
    size_t max_nfev;    /* 0: unbounded */
} gb_flow_ode_opts;

/* t_data 1e-5, t_prior 1, rtol = atol = 1e-5, Gaussian probes, prior_std 0 (must be set),
 * no nfev limit. */
gb_flow_ode_opts gb_flow_ode_opts_default(void);

/* Log-likelihood (nats) of each x_b under the probability-flow ODE model: logp[b] =
 * log N(z_b; 0, prior_std^2 I) + delta_logp[b] (see the header). The Hutchinson probe is drawn
 * once, batch*dim values from `noise` (untouched for GB_HUTCH_EXACT, may be NULL then), and
 * fixed along the trajectory. z [batch,dim] and delta_logp [batch] are optional outputs;
 * stats (optional) reports nfev and the accepted/rejected steps. Non-finite x -> GB_INPUT;
 * solver failures -> the solver's status (GB_NUMERIC with t). */
gb_status gb_flow_ode_loglik(double *logp /* [batch] */, double *z /* [batch,dim] or NULL */,
                             double *delta_logp /* [batch] or NULL */, gb_ode_stats *stats,
                             const float *x /* [batch,dim] */, size_t batch, size_t dim,
                             gb_flow_drift_fn fn, void *user, const gb_flow_ode_opts *opts,
                             gb_stream *noise);

/* ---- flows (RealNVP) ---- */

/* y = logit(alpha + (1 - 2 alpha) x) elementwise (float out, double inside) and
 * logdet[b] = sum_i log(1 - 2 alpha) - log p_i - log(1 - p_i) (double), the log |dy/dx| of the
 * pre-processing. alpha in [0, 0.5) (RealNVP: 0.05); p must lie strictly inside (0,1), i.e. x
 * in [0,1] when alpha > 0 and in (0,1) when alpha = 0 (else GB_INPUT naming the index; y and
 * logdet are then partly written). */
gb_status gb_logit_preprocess(float *y /* [batch,dim] */, double *logdet /* [batch] */,
                              const float *x /* [batch,dim] */, size_t batch, size_t dim,
                              double alpha);

/* bits/dim of a flow: logp_model (nats, the density of y) + logdet_pre (the pre-processing
 * log-det, 0 when none) is log p(x~); then gb_bits_per_dim with the scaling x~ had. */
double gb_flow_bits_per_dim(double logp_model, double logdet_pre, size_t dim,
                            gb_data_scaling scaling);

#endif
