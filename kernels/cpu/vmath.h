/* kernels/cpu/vmath.h - exp and log1p written so that loops over arrays vectorise.
 *
 * glibc's expf/log1pf are scalar calls (~10 ns each); the softplus of the toy ScoreNet alone
 * spends more time in them than its matrix products take. These are branch-free float
 * polynomials that GCC turns into SIMD code, each within ~2 ulp of the correctly rounded value
 * over the ranges used (tests/test_kernels_cpu.c checks softplus against float64 within 8 ulp,
 * including the denormal tail).
 *
 * gb_vexp_nonpositive(t), t <= 0: Cody-Waite reduction t = k ln2 + r, |r| <= ln2/2, then a
 *   degree-6 polynomial for e^r (the classical Cephes expf coefficients), scaled by 2^k in two
 *   exact steps so that results down to the denormal range are formed with one final rounding;
 *   below about -104 the result is 0. Needs -fno-trapping-math to vectorise floorf (the Makefile
 *   sets it for kernels/cpu; no code here reads floating-point exception flags).
 * gb_vlog1p_unit(u), 0 <= u <= 1: log1p(u) = 2 atanh(s), s = u / (2 + u) <= 1/3, as the odd series
 *   2 s (1 + s^2/3 + ... + s^16/17): truncation error < 2e-9 relative, and accurate for tiny u.
 * Both are deterministic: same bits whatever the vector width (elementwise, no FMA contraction).
 */
#ifndef GB_VMATH_H
#define GB_VMATH_H

#include <stdint.h>
#include <math.h>
#include <string.h>

static inline float gb_pow2i(int32_t k) { /* 2^k for -126 <= k <= 127 */
    uint32_t bits = (uint32_t)(k + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline float gb_vexp_nonpositive(float t) {
    float kf = floorf(t * 1.44269504088896341f + 0.5f); /* nearest integer (roundps with SSE4.1) */
    float r = (t - kf * 0.693359375f) + kf * 2.12194440e-4f; /* ln2 = 0.693359375 - 2.12194440e-4 */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    /* Clamp the exponent, not t (a float select around floorf defeats GCC's vectoriser):
     * e^r 2^-151 < half the least denormal, so anything below rounds to 0. */
    int32_t k = (int32_t)kf;
    k = k < -151 ? -151 : k;
    int32_t k1 = k / 2, k2 = k - k1; /* each >= -76: two exact power-of-two scalings */
    return p * gb_pow2i(k1) * gb_pow2i(k2);
}

static inline float gb_vlog1p_unit(float u) {
    /* 2s = u * 1/(1 + u/2): for tiny (even denormal) u this rounds once, where u / (2 + u)
     * would halve a denormal and lose its last bit. */
    float two_s = u * (1.0f / (1.0f + 0.5f * u));
    float s = 0.5f * two_s;
    float w = s * s;
    float q = 1.0f / 17.0f;
    q = q * w + 1.0f / 15.0f;
    q = q * w + 1.0f / 13.0f;
    q = q * w + 1.0f / 11.0f;
    q = q * w + 1.0f / 9.0f;
    q = q * w + 1.0f / 7.0f;
    q = q * w + 1.0f / 5.0f;
    q = q * w + 1.0f / 3.0f;
    return two_s + two_s * (q * w);
}

#endif
