/* kernels/cpu/activation.c - elementwise activations (CPU): forward, backward, and the
 * forward-mode tangent pair (jvp, jvp_backward) that the exact WGAN-GP penalty gradient
 * runs through.
 *
 *   kind        f(x)                         f'(x)                    f''(x)
 *   identity    x                            1                        0
 *   relu        x <= 0 ? 0 : x               x <= 0 ? 0 : 1           0
 *   leaky_relu  x > 0 ? x : slope x          x > 0 ? 1 : slope        0
 *   tanh        tanh x = y                   1 - y^2 = c (2 - c)      -2 y f'
 *   sigmoid     s = 1/(1 + e^-x)             s c, c = 1 - s           s c (c - s)
 *   softplus    x > 20 ? x : log1p(e^x)      x > 20 ? 1 : s           x > 20 ? 0 : s c
 *   silu        x s                          s (1 + x c)              s c (2 + x (c - s))
 *   gelu        x Phi(x)                     Phi + x phi              phi (2 - x^2)
 *
 * PyTorch semantics (torch 1.13): F.relu's gradient is 0 at x = 0 (threshold_backward on
 * x <= 0), F.leaky_relu's is slope there; softplus has beta 1, threshold 20 and the
 * double-backward 0 above it; gelu is the erf form. The complements c = 1 - s and 1 - |tanh|
 * and gelu's tail Phi(x < 0) come from vmath.h with full relative precision, so the
 * derivatives stay accurate where PyTorch's 1 - y*y rounds to 0 (|x| > 9 for tanh).
 * NaN inputs give NaN values and derivatives, except the piecewise-linear kinds' derivatives,
 * which follow PyTorch's selects (relu 1, leaky_relu slope).
 *
 * Each public function dispatches once on the kind to a loop specialised for it (the
 * always-inline helpers below are instantiated with a constant kind, so every loop is
 * branch-free and vectorises); target_clones adds AVX-512/AVX2 copies, and gb_parallel_for cuts
 * the element range into per-thread slices. Elementwise with no
 * FMA contraction: every copy gives the same bits. out may alias inp, dinp may alias dout.
 * Tested by tests/test_kernels_pointwise.c (float64 transcriptions and their central
 * differences, PyTorch fixtures from tests/peers/kernels_pointwise.py, the same bits with 1, 2
 * and 3 threads).
 */
#include "kernels/cpu/cpu.h"

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vmath.h"

static const float gb_softplus_threshold = 20.0f;

/* f(x) for kinds other than softplus (whose forward is softplus.c's kernel). */
GB_VINLINE float act_value(gb_act_kind kind, float slope, float x) {
    float s, c, y;
    switch (kind) {
    case GB_ACT_RELU: return x <= 0.0f ? 0.0f : x;
    case GB_ACT_LEAKY_RELU: return x > 0.0f ? x : x * slope;
    case GB_ACT_TANH: gb_vtanh2(x, &y, &c); return y;
    case GB_ACT_SIGMOID: gb_vsigmoid2(x, &s, &c); return s;
    case GB_ACT_SILU: gb_vsigmoid2(x, &s, &c); return x * s;
    case GB_ACT_GELU: {
        float phi, q;
        gb_vnormal_tail(x < 0.0f ? -x : x, &phi, &q);
        return x * (x < 0.0f ? q : 1.0f - q);
    }
    default: return x; /* identity (softplus never reaches here) */
    }
}

/* f'(x) in *d1 and, when want_d2, f''(x) in *d2 (0 for the piecewise-linear kinds). */
GB_VINLINE void act_derivs(gb_act_kind kind, float slope, float x, float *d1, float *d2,
                          int want_d2) {
    float s, c, y, phi, q, big_phi;
    *d2 = 0.0f;
    switch (kind) {
    case GB_ACT_RELU: *d1 = x <= 0.0f ? 0.0f : 1.0f; return;
    case GB_ACT_LEAKY_RELU: *d1 = x > 0.0f ? 1.0f : slope; return;
    case GB_ACT_TANH:
        gb_vtanh2(x, &y, &c);
        *d1 = c * (2.0f - c);
        if (want_d2) *d2 = -2.0f * y * *d1;
        return;
    case GB_ACT_SIGMOID:
        gb_vsigmoid2(x, &s, &c);
        *d1 = s * c;
        if (want_d2) *d2 = *d1 * (c - s);
        return;
    case GB_ACT_SOFTPLUS:
        gb_vsigmoid2(x, &s, &c);
        /* Above the threshold f is the identity (f' 1, f'' 0, as PyTorch's double backward
         * masks it); the inner select passes NaN through where both compares are false. */
        *d1 = x <= gb_softplus_threshold ? s : (x > gb_softplus_threshold ? 1.0f : x);
        if (want_d2) *d2 = x <= gb_softplus_threshold ? s * c : (x > gb_softplus_threshold ? 0.0f : x);
        return;
    case GB_ACT_SILU:
        gb_vsigmoid2(x, &s, &c);
        *d1 = s * (1.0f + x * c);
        if (want_d2) *d2 = (s * c) * (2.0f + x * (c - s));
        return;
    case GB_ACT_GELU:
        gb_vnormal_tail(x < 0.0f ? -x : x, &phi, &q);
        big_phi = x < 0.0f ? q : 1.0f - q;
        *d1 = big_phi + x * phi;
        if (want_d2) {
            float xx = x * x;
            xx = xx > 400.0f ? 400.0f : xx; /* phi is 0 there; keeps inf * 0 out (NaN passes) */
            *d2 = phi * (2.0f - xx);
        }
        return;
    default: *d1 = 1.0f; return; /* identity */
    }
}

/* 1 when f'' is identically 0 (no second-order term in jvp_backward). */
static int act_is_piecewise_linear(gb_act_kind kind) {
    return kind == GB_ACT_IDENTITY || kind == GB_ACT_RELU || kind == GB_ACT_LEAKY_RELU;
}

GB_VINLINE void forward_loop(gb_act_kind kind, float slope, float *out, const float *inp,
                            size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = act_value(kind, slope, inp[i]);
}

GB_VINLINE void backward_loop(gb_act_kind kind, float slope, float *dinp, const float *dout,
                             const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float d1, d2;
        act_derivs(kind, slope, inp[i], &d1, &d2, 0);
        dinp[i] = d1 * dout[i];
    }
}

/* dinp = f' dout + f'' inp_t dout_t (dout may be NULL: 0), dinp_t = f' dout_t; either output
 * may be NULL (skipped). */
GB_VINLINE void jvp_backward_loop(gb_act_kind kind, float slope, float *dinp, float *dinp_t,
                                 const float *dout, const float *dout_t, const float *inp,
                                 const float *inp_t, size_t n) {
    int second = !act_is_piecewise_linear(kind);
    if (dinp && dout && second) {
        for (size_t i = 0; i < n; i++) {
            float d1, d2;
            act_derivs(kind, slope, inp[i], &d1, &d2, 1);
            dinp[i] = d1 * dout[i] + d2 * (inp_t[i] * dout_t[i]);
        }
    } else if (dinp && second) {
        for (size_t i = 0; i < n; i++) {
            float d1, d2;
            act_derivs(kind, slope, inp[i], &d1, &d2, 1);
            dinp[i] = d2 * (inp_t[i] * dout_t[i]);
        }
    } else if (dinp && dout) {
        backward_loop(kind, slope, dinp, dout, inp, n);
    } else if (dinp) {
        for (size_t i = 0; i < n; i++) dinp[i] = 0.0f;
    }
    if (dinp_t) backward_loop(kind, slope, dinp_t, dout_t, inp, n);
}

/* The kind becomes a compile-time constant in each case, so act_value/act_derivs fold to
 * one branch-free body per loop. */
#define GB_ACT_DISPATCH(kind, CALL)                                                                \
    switch (kind) {                                                                                \
    case GB_ACT_IDENTITY: CALL(GB_ACT_IDENTITY); break;                                            \
    case GB_ACT_RELU: CALL(GB_ACT_RELU); break;                                                    \
    case GB_ACT_LEAKY_RELU: CALL(GB_ACT_LEAKY_RELU); break;                                        \
    case GB_ACT_TANH: CALL(GB_ACT_TANH); break;                                                    \
    case GB_ACT_SIGMOID: CALL(GB_ACT_SIGMOID); break;                                              \
    case GB_ACT_SOFTPLUS: CALL(GB_ACT_SOFTPLUS); break;                                            \
    case GB_ACT_SILU: CALL(GB_ACT_SILU); break;                                                    \
    case GB_ACT_GELU: CALL(GB_ACT_GELU); break;                                                    \
    default: GB_ASSERT(0, "activation: unknown kind %d", (int)(kind));                            \
    }

/* The four public loops, cut into gb_parallel_for slices of the element range (elementwise:
 * the bits do not depend on the split). */
typedef struct {
    const gb_activation *act;
    float *out, *out2;
    const float *a, *b, *c, *d;
} act_job;

enum { ACT_GRAIN = 16384 };

GB_VCLONES
static void forward_slice(void *ctx, size_t i0, size_t i1, int slice) {
    (void)slice;
    const act_job *j = ctx;
    size_t n = i1 - i0;
#define CALL(k) forward_loop(k, j->act->slope, j->out + i0, j->a + i0, n)
    GB_ACT_DISPATCH(j->act->kind, CALL)
#undef CALL
}

void gb_activation_forward_cpu(gb_device *dev, float *out, const float *inp, size_t n,
                               const gb_activation *act) {
    if (act->kind == GB_ACT_SOFTPLUS) {
        gb_softplus_forward_cpu(dev, out, inp, n);
        return;
    }
    act_job j = {.act = act, .out = out, .a = inp};
    gb_parallel_for(dev, n, ACT_GRAIN, forward_slice, &j);
}

/* backward: out = dinp, a = dout, b = inp; jvp: out = out_t, a = inp_t, b = inp */
GB_VCLONES
static void backward_slice(void *ctx, size_t i0, size_t i1, int slice) {
    (void)slice;
    const act_job *j = ctx;
    size_t n = i1 - i0;
#define CALL(k) backward_loop(k, j->act->slope, j->out + i0, j->a + i0, j->b + i0, n)
    GB_ACT_DISPATCH(j->act->kind, CALL)
#undef CALL
}

void gb_activation_backward_cpu(gb_device *dev, float *dinp, const float *dout, const float *inp,
                                size_t n, const gb_activation *act) {
    act_job j = {.act = act, .out = dinp, .a = dout, .b = inp};
    gb_parallel_for(dev, n, ACT_GRAIN, backward_slice, &j);
}

/* out_t = f'(x) inp_t: the same loop as backward with the tangent in dout's place. */
void gb_activation_jvp_cpu(gb_device *dev, float *out_t, const float *inp, const float *inp_t,
                           size_t n, const gb_activation *act) {
    act_job j = {.act = act, .out = out_t, .a = inp_t, .b = inp};
    gb_parallel_for(dev, n, ACT_GRAIN, backward_slice, &j);
}

static const float *offset_or_null(const float *p, size_t i) { return p ? p + i : NULL; }

/* out = dinp, out2 = dinp_t, a = dout, b = dout_t, c = inp, d = inp_t (any may be NULL) */
GB_VCLONES
static void jvp_backward_slice(void *ctx, size_t i0, size_t i1, int slice) {
    (void)slice;
    const act_job *j = ctx;
    size_t n = i1 - i0;
    float *dinp = j->out ? j->out + i0 : NULL, *dinp_t = j->out2 ? j->out2 + i0 : NULL;
    const float *dout = offset_or_null(j->a, i0), *dout_t = offset_or_null(j->b, i0);
    const float *inp = offset_or_null(j->c, i0), *inp_t = offset_or_null(j->d, i0);
#define CALL(k) jvp_backward_loop(k, j->act->slope, dinp, dinp_t, dout, dout_t, inp, inp_t, n)
    GB_ACT_DISPATCH(j->act->kind, CALL)
#undef CALL
}

void gb_activation_jvp_backward_cpu(gb_device *dev, float *dinp, float *dinp_t, const float *dout,
                                    const float *dout_t, const float *inp, const float *inp_t,
                                    size_t n, const gb_activation *act) {
    act_job j = {.act = act, .out = dinp, .out2 = dinp_t, .a = dout, .b = dout_t, .c = inp, .d = inp_t};
    gb_parallel_for(dev, n, ACT_GRAIN, jvp_backward_slice, &j);
}
