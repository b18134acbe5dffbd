/* kernels/cuda/vmath.cuh - device transcriptions of kernels/cpu/vmath.h's elementary functions.
 *
 * The CPU backend's activations and softplus do not call libm: they evaluate float
 * polynomials (vmath.h documents their accuracy). The same polynomials here, operation by
 * operation, with _rn intrinsics so nvcc fuses nothing, give the CPU's bits: floorf, the
 * integer conversions, the bit-pattern powers of two and every IEEE operation are exact or
 * correctly rounded on both sides (the constants 1/17 ... 1/3 are folded by the compiler, as
 * GCC folds them), and denormals are kept (nvcc's default -ftz=false).
 * The one difference: a NaN input gives a NaN of possibly another payload (the GPU's
 * canonical NaN), and (int)NaN is 0 here but INT_MIN on x86; both paths still return NaN.
 * Tested by tests/test_kernels_cuda_ops.c (bitwise against the CPU backend).
 */
#ifndef GB_CUDA_VMATH_CUH
#define GB_CUDA_VMATH_CUH

#include "kernels/cuda/reduce.cuh"

__device__ __forceinline__ float gb_cu_pow2i(int k) { return __int_as_float((k + 127) << 23); }

/* e^t for t <= 0 (gb_vexp_nonpositive) */
__device__ __forceinline__ float gb_cu_exp_nonpositive(float t) {
    t = t < -110.0f ? -110.0f : t;
    const float kf = floorf(gb_fadd(gb_fmul(t, 1.44269504088896341f), 0.5f));
    const float r = gb_fadd(gb_fsub(t, gb_fmul(kf, 0.693359375f)), gb_fmul(kf, 2.12194440e-4f));
    float p = 1.9875691500e-4f;
    p = gb_fadd(gb_fmul(p, r), 1.3981999507e-3f);
    p = gb_fadd(gb_fmul(p, r), 8.3334519073e-3f);
    p = gb_fadd(gb_fmul(p, r), 4.1665795894e-2f);
    p = gb_fadd(gb_fmul(p, r), 1.6666665459e-1f);
    p = gb_fadd(gb_fmul(p, r), 5.0000001201e-1f);
    p = gb_fadd(gb_fadd(gb_fmul(p, gb_fmul(r, r)), r), 1.0f);
    int k = (int)kf;
    k = k < -151 ? -151 : k;
    const int k1 = k / 2, k2 = k - k1;
    return gb_fmul(gb_fmul(p, gb_cu_pow2i(k1)), gb_cu_pow2i(k2));
}

/* log1p(u) for 0 <= u <= 1 (gb_vlog1p_unit) */
__device__ __forceinline__ float gb_cu_log1p_unit(float u) {
    const float two_s = gb_fmul(u, gb_fdiv(1.0f, gb_fadd(1.0f, gb_fmul(0.5f, u))));
    const float s = gb_fmul(0.5f, two_s);
    const float w = gb_fmul(s, s);
    float q = 1.0f / 17.0f;
    q = gb_fadd(gb_fmul(q, w), 1.0f / 15.0f);
    q = gb_fadd(gb_fmul(q, w), 1.0f / 13.0f);
    q = gb_fadd(gb_fmul(q, w), 1.0f / 11.0f);
    q = gb_fadd(gb_fmul(q, w), 1.0f / 9.0f);
    q = gb_fadd(gb_fmul(q, w), 1.0f / 7.0f);
    q = gb_fadd(gb_fmul(q, w), 1.0f / 5.0f);
    q = gb_fadd(gb_fmul(q, w), 1.0f / 3.0f);
    return gb_fadd(two_s, gb_fmul(two_s, gb_fmul(q, w)));
}

/* sigmoid(x) and 1 - sigmoid(x) (gb_vsigmoid2) */
__device__ __forceinline__ void gb_cu_sigmoid2(float x, float *s, float *c) {
    const float u = gb_cu_exp_nonpositive(x < 0.0f ? x : -x);
    const float den = gb_fadd(1.0f, u);
    const float big = gb_fdiv(1.0f, den), small = gb_fdiv(u, den);
    *s = x >= 0.0f ? big : small;
    *c = x >= 0.0f ? small : big;
}

/* tanh(x) and 1 - |tanh(x)| (gb_vtanh2) */
__device__ __forceinline__ void gb_cu_tanh2(float x, float *y, float *c) {
    const float a = x < 0.0f ? -x : x;
    const float u = gb_cu_exp_nonpositive(gb_fmul(-2.0f, a));
    const float den = gb_fadd(1.0f, u);
    const float y_big = gb_fdiv(gb_fsub(1.0f, u), den);
    const float c_big = gb_fdiv(gb_fmul(2.0f, u), den);
    const float z = gb_fmul(a, a);
    float p = 2.527374076e-03f;
    p = gb_fsub(gb_fmul(p, z), 8.524086326e-03f);
    p = gb_fadd(gb_fmul(p, z), 2.181683108e-02f);
    p = gb_fsub(gb_fmul(p, z), 5.396436155e-02f);
    p = gb_fadd(gb_fmul(p, z), 1.333332211e-01f);
    p = gb_fsub(gb_fmul(p, z), 3.333333433e-01f);
    const float y_small = gb_fadd(a, gb_fmul(a, gb_fmul(p, z)));
    const float ty = a < 0.55f ? y_small : y_big;
    const float tc = a < 0.55f ? gb_fsub(1.0f, y_small) : c_big;
    *y = x < 0.0f ? -ty : ty;
    *c = tc;
}

/* phi(a) and Q(a) = P(Z > a) for a >= 0 (gb_vnormal_tail) */
__device__ __forceinline__ void gb_cu_normal_tail(float a, float *phi, float *q) {
    const float ac = a > 15.0f ? 15.0f : a;
    const float ah = __uint_as_float(__float_as_uint(ac) & 0xfffff000u);
    const float al = gb_fsub(ac, ah);
    const float e1 = gb_cu_exp_nonpositive(gb_fmul(-0.5f, gb_fmul(ah, ah)));
    const float e2 = gb_cu_exp_nonpositive(gb_fmul(-0.5f, gb_fmul(al, gb_fadd(ac, ah))));
    const float t = gb_fdiv(1.0f, gb_fadd(1.0f, gb_fmul(0.5f, ac)));
    const float v = gb_fsub(t, 0.5f);
    float r = -3.910529613e-02f;
    r = gb_fadd(gb_fmul(r, v), 9.365049005e-02f);
    r = gb_fsub(gb_fmul(r, v), 6.162454560e-02f);
    r = gb_fsub(gb_fmul(r, v), 4.538937286e-02f);
    r = gb_fadd(gb_fmul(r, v), 1.050525084e-01f);
    r = gb_fsub(gb_fmul(r, v), 5.091970414e-02f);
    r = gb_fsub(gb_fmul(r, v), 6.232344732e-02f);
    r = gb_fadd(gb_fmul(r, v), 1.076267585e-01f);
    r = gb_fsub(gb_fmul(r, v), 3.761792323e-03f);
    r = gb_fsub(gb_fmul(r, v), 1.468739510e-01f);
    r = gb_fadd(gb_fmul(r, v), 5.759479478e-02f);
    r = gb_fadd(gb_fmul(r, v), 3.314044476e-01f);
    r = gb_fadd(gb_fmul(r, v), 3.362039924e-01f);
    *phi = gb_fmul(gb_fmul(e1, 0.398942280f), e2);
    *q = gb_fmul(gb_fmul(e1, gb_fmul(r, t)), e2);
}

#endif
