/* kernels/cuda/activation.cu - elementwise activations (CUDA): forward, backward and the
 * forward-mode tangent pair (jvp, jvp_backward) of the exact WGAN-GP penalty gradient.
 *
 * The formulas, derivatives and PyTorch conventions are those of kernels/cpu/activation.c
 * (the table at its top); softplus's forward is kernels/cpu/softplus.c's. Both CPU files
 * evaluate vmath.h's float polynomials, transcribed in vmath.cuh, and every expression below
 * keeps the CPU's operation order with _rn intrinsics (no FMA), so the results are the CPU
 * backend's bits (NaN inputs give NaN, perhaps with another payload). Each kernel is a
 * template on the kind, so its body is branch-free for that kind.
 * out may alias inp, dinp may alias dout (each thread reads its element first).
 * The backend table's softplus entries (gb_softplus_forward / _backward) are the SOFTPLUS kind
 * here, at the end of the file: the CPU's softplus.c and activation.c give the same bits for
 * both (tests/test_kernels_cpu.c), so one device transcription serves both.
 * Tested by tests/test_kernels_cuda_ops.c (bitwise against the CPU backend for every kind,
 * including the tails, +-0, +-inf and NaN) and tests/test_kernels_cuda.c (the softplus entries).
 */
#include "kernels/cuda/vmath.cuh"

#define GB_SOFTPLUS_THRESHOLD 20.0f

template <int K>
__device__ __forceinline__ float act_value(float slope, float x) {
    float s, c, y;
    switch (K) {
    case GB_ACT_RELU: return x <= 0.0f ? 0.0f : x;
    case GB_ACT_LEAKY_RELU: return x > 0.0f ? x : gb_fmul(x, slope);
    case GB_ACT_TANH: gb_cu_tanh2(x, &y, &c); return y;
    case GB_ACT_SIGMOID: gb_cu_sigmoid2(x, &s, &c); return s;
    case GB_ACT_SOFTPLUS: {
        const float u = gb_cu_exp_nonpositive(x < 0.0f ? x : -x);
        const float v = gb_fadd(x > 0.0f ? x : 0.0f, gb_cu_log1p_unit(u));
        return x <= GB_SOFTPLUS_THRESHOLD ? v : x;
    }
    case GB_ACT_SILU: gb_cu_sigmoid2(x, &s, &c); return gb_fmul(x, s);
    case GB_ACT_GELU: {
        float phi, q;
        gb_cu_normal_tail(x < 0.0f ? -x : x, &phi, &q);
        return gb_fmul(x, x < 0.0f ? q : gb_fsub(1.0f, q));
    }
    default: return x;
    }
}

/* f'(x) in *d1 and, when WANT_D2, f''(x) in *d2 (0 for the piecewise-linear kinds). */
template <int K, bool WANT_D2>
__device__ __forceinline__ void act_derivs(float slope, float x, float *d1, float *d2) {
    float s, c, y, phi, q, big_phi;
    *d2 = 0.0f;
    switch (K) {
    case GB_ACT_RELU: *d1 = x <= 0.0f ? 0.0f : 1.0f; return;
    case GB_ACT_LEAKY_RELU: *d1 = x > 0.0f ? 1.0f : slope; return;
    case GB_ACT_TANH:
        gb_cu_tanh2(x, &y, &c);
        *d1 = gb_fmul(c, gb_fsub(2.0f, c));
        if (WANT_D2) *d2 = gb_fmul(gb_fmul(-2.0f, y), *d1);
        return;
    case GB_ACT_SIGMOID:
        gb_cu_sigmoid2(x, &s, &c);
        *d1 = gb_fmul(s, c);
        if (WANT_D2) *d2 = gb_fmul(*d1, gb_fsub(c, s));
        return;
    case GB_ACT_SOFTPLUS:
        gb_cu_sigmoid2(x, &s, &c);
        *d1 = x <= GB_SOFTPLUS_THRESHOLD ? s : (x > GB_SOFTPLUS_THRESHOLD ? 1.0f : x);
        if (WANT_D2)
            *d2 = x <= GB_SOFTPLUS_THRESHOLD ? gb_fmul(s, c) : (x > GB_SOFTPLUS_THRESHOLD ? 0.0f : x);
        return;
    case GB_ACT_SILU:
        gb_cu_sigmoid2(x, &s, &c);
        *d1 = gb_fmul(s, gb_fadd(1.0f, gb_fmul(x, c)));
        if (WANT_D2) *d2 = gb_fmul(gb_fmul(s, c), gb_fadd(2.0f, gb_fmul(x, gb_fsub(c, s))));
        return;
    case GB_ACT_GELU:
        gb_cu_normal_tail(x < 0.0f ? -x : x, &phi, &q);
        big_phi = x < 0.0f ? q : gb_fsub(1.0f, q);
        *d1 = gb_fadd(big_phi, gb_fmul(x, phi));
        if (WANT_D2) {
            float xx = gb_fmul(x, x);
            xx = xx > 400.0f ? 400.0f : xx; /* as the CPU: keeps inf * 0 out */
            *d2 = gb_fmul(phi, gb_fsub(2.0f, xx));
        }
        return;
    default: *d1 = 1.0f; return;
    }
}

static bool act_is_piecewise_linear(gb_act_kind kind) {
    return kind == GB_ACT_IDENTITY || kind == GB_ACT_RELU || kind == GB_ACT_LEAKY_RELU;
}

template <int K>
__global__ void act_forward_kernel(float *out, const float *inp, size_t n, float slope) {
    GB_CUDA_FOR(i, n) out[i] = act_value<K>(slope, inp[i]);
}

/* dinp = f'(inp) dout; with the tangent in dout's place this is also the jvp. */
template <int K>
__global__ void act_backward_kernel(float *dinp, const float *dout, const float *inp, size_t n,
                                    float slope) {
    GB_CUDA_FOR(i, n) {
        float d1, d2;
        act_derivs<K, false>(slope, inp[i], &d1, &d2);
        dinp[i] = gb_fmul(d1, dout[i]);
    }
}

/* The four cases of kernels/cpu/activation.c's jvp_backward_loop in one pass; each output
 * may be NULL, dout may be NULL (0). SECOND: the kind has a second derivative. */
template <int K, bool SECOND>
__global__ void act_jvp_backward_kernel(float *dinp, float *dinp_t, const float *dout,
                                        const float *dout_t, const float *inp, const float *inp_t,
                                        size_t n, float slope) {
    GB_CUDA_FOR(i, n) {
        float d1, d2;
        act_derivs<K, SECOND>(slope, inp[i], &d1, &d2);
        const float gt = (SECOND || dinp_t) ? dout_t[i] : 0.0f;
        if (dinp) {
            float v;
            if (SECOND && dout)
                v = gb_fadd(gb_fmul(d1, dout[i]), gb_fmul(d2, gb_fmul(inp_t[i], gt)));
            else if (SECOND)
                v = gb_fmul(d2, gb_fmul(inp_t[i], gt));
            else if (dout)
                v = gb_fmul(d1, dout[i]);
            else
                v = 0.0f;
            dinp[i] = v;
        }
        if (dinp_t) dinp_t[i] = gb_fmul(d1, gt);
    }
}

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

extern "C" void gb_activation_forward_cuda(gb_device *dev, float *out, const float *inp, size_t n,
                                           const gb_activation *act) {
    if (n == 0) return;
#define CALL(k) act_forward_kernel<k><<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(out, inp, n, act->slope)
    GB_ACT_DISPATCH(act->kind, CALL)
#undef CALL
    GB_LAUNCH_CHECK(dev, "act_forward_kernel");
}

extern "C" void gb_activation_backward_cuda(gb_device *dev, float *dinp, const float *dout,
                                            const float *inp, size_t n, const gb_activation *act) {
    if (n == 0) return;
#define CALL(k) act_backward_kernel<k><<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dinp, dout, inp, n, act->slope)
    GB_ACT_DISPATCH(act->kind, CALL)
#undef CALL
    GB_LAUNCH_CHECK(dev, "act_backward_kernel");
}

/* out_t = f'(x) inp_t: the backward kernel with the tangent in dout's place. */
extern "C" void gb_activation_jvp_cuda(gb_device *dev, float *out_t, const float *inp,
                                       const float *inp_t, size_t n, const gb_activation *act) {
    if (n == 0) return;
#define CALL(k) act_backward_kernel<k><<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(out_t, inp_t, inp, n, act->slope)
    GB_ACT_DISPATCH(act->kind, CALL)
#undef CALL
    GB_LAUNCH_CHECK(dev, "act_backward_kernel (jvp)");
}

extern "C" void gb_activation_jvp_backward_cuda(gb_device *dev, float *dinp, float *dinp_t,
                                                const float *dout, const float *dout_t,
                                                const float *inp, const float *inp_t, size_t n,
                                                const gb_activation *act) {
    if (n == 0 || (!dinp && !dinp_t)) return;
    if (act_is_piecewise_linear(act->kind)) {
#define CALL(k)                                                                                    \
    act_jvp_backward_kernel<k, false><<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dinp, dinp_t, dout, dout_t, \
                                                                         inp, inp_t, n, act->slope)
        GB_ACT_DISPATCH(act->kind, CALL)
#undef CALL
    } else {
#define CALL(k)                                                                                    \
    act_jvp_backward_kernel<k, true><<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dinp, dinp_t, dout, dout_t, \
                                                                        inp, inp_t, n, act->slope)
        GB_ACT_DISPATCH(act->kind, CALL)
#undef CALL
    }
    GB_LAUNCH_CHECK(dev, "act_jvp_backward_kernel");
}

/* ---- the table's softplus entries: the activation of kind SOFTPLUS (see the header) ---- */

extern "C" void gb_softplus_forward_cuda(gb_device *dev, float *out, const float *inp, size_t n) {
    const gb_activation softplus = {GB_ACT_SOFTPLUS, 0.0f};
    gb_activation_forward_cuda(dev, out, inp, n, &softplus);
}

extern "C" void gb_softplus_backward_cuda(gb_device *dev, float *dinp, const float *dout,
                                          const float *inp, size_t n) {
    const gb_activation softplus = {GB_ACT_SOFTPLUS, 0.0f};
    gb_activation_backward_cuda(dev, dinp, dout, inp, n, &softplus);
}
