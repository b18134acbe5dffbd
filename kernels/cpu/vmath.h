/* kernels/cpu/vmath.h - elementary functions and double reductions written so that loops over
 * arrays vectorise.
 *
 * glibc's expf/log1pf are scalar calls (~10 ns each); the softplus of the toy ScoreNet alone
 * spends more time in them than its matrix products take. These are branch-free float
 * polynomials that GCC turns into SIMD code, each within a few ulp of the correctly rounded
 * value over the ranges used (tests/test_kernels_cpu.c checks softplus against float64 within
 * 8 ulp, including the denormal tail; tests/test_kernels_pointwise.c checks every activation,
 * its derivatives and their tails against float64).
 *
 * gb_vexp_nonpositive(t), t <= 0: Cody-Waite reduction t = k ln2 + r, |r| <= ln2/2, then a
 *   degree-6 polynomial for e^r (the classical Cephes expf coefficients), scaled by 2^k in two
 *   exact steps so that results down to the denormal range are formed with one final rounding;
 *   below about -104 the result is 0 (-inf too; NaN stays NaN). Needs -fno-trapping-math to
 *   vectorise floorf (the Makefile sets it for kernels/cpu; no code here reads floating-point
 *   exception flags).
 * gb_vexp_nonpositive_f64(t), t <= 0: the same reduction in double, degree-13 Taylor
 *   polynomial, within ~1 ulp of glibc's exp (the linear attention's softmaxes).
 * gb_vlog1p_unit(u), 0 <= u <= 1: log1p(u) = 2 atanh(s), s = u / (2 + u) <= 1/3, as the odd series
 *   2 s (1 + s^2/3 + ... + s^16/17): truncation error < 2e-9 relative, and accurate for tiny u.
 * gb_vsigmoid2(x): sigmoid(x) and 1 - sigmoid(x), both to full relative precision (the
 *   complement is formed from e^-|x|, never as 1 - s).
 * gb_vtanh2(x): tanh(x) and 1 - |tanh(x)|, likewise (the derivative 1 - tanh^2 = c (2 - c)
 *   keeps its relative precision where tanh rounds to 1).
 * gb_vnormal_tail(a), a >= 0: the standard normal density phi(a) and upper tail
 *   Q(a) = P(Z > a) = Phi(-a), both to ~5 ulp relative down to the underflow near a = 14.
 * The reductions (gb_vsum_f64 and friends) accumulate float data in double in GB_VLANES
 * interleaved partial sums, lane j taking elements j, j + GB_VLANES, ..., combined in a fixed
 * tree: the order is fixed by the code, not the vector width, so the result is the same bits
 * on every x86 target, and the independent partial sums vectorise where one running double
 * sum would be latency-bound.
 * All are deterministic: same bits whatever the vector width (elementwise, no FMA contraction).
 */
#ifndef GB_VMATH_H
#define GB_VMATH_H

#include <stdint.h>
#include <math.h>
#include <string.h>

/* AVX-512 and AVX2 copies of a kernel, chosen at load time; helpers that must be inlined into
 * each copy (so they are compiled for its target) are GB_VINLINE. */
#define GB_VCLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define GB_VINLINE static inline __attribute__((always_inline))

static inline float gb_pow2i(int32_t k) { /* 2^k for -126 <= k <= 127 */
    uint32_t bits = (uint32_t)(k + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline float gb_vexp_nonpositive(float t) {
    /* e^-110 is far below the least denormal; the clamp keeps -inf from reaching floorf (which
     * would give inf - inf = NaN). The compare is written so that NaN passes through. */
    t = t < -110.0f ? -110.0f : t;
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

/* Double-precision e^t for t <= 0, written so that a loop over it vectorises (glibc's exp is a
 * scalar call of ~5-10 ns: at 32x32 the linear attention's two softmaxes spent ~20 of its
 * forward's 30 ms in it).
 * Cody-Waite reduction t = k ln2 + r, |r| <= ln2/2 + tiny, with fdlibm's split ln2 (ln2_hi has
 * 21 trailing zero bits, so k ln2_hi is exact), then the Taylor polynomial of e^r to degree 13
 * (truncation r^14/14! < 5e-18 relative; measured within 1 ulp of glibc's exp) and 2^k built from the bits. The nearest integer k comes
 * from the 1.5*2^52 shifter (its low bits then hold k in two's complement), so no
 * double-to-integer conversion is needed (AVX2 has none for 64-bit lanes). Result within a few
 * ulp of double of e^t, so its one rounding to float is the correctly rounded float except in
 * ~1e-7 of cases (then one ulp off): the softmax keeps the error analysis of a libm exp. t is
 * clamped at -200 (e^-200 underflows to 0 in float anyway; 2^k stays a normal double); NaN
 * stays NaN. Only IEEE adds, multiplies and bit moves: the same bits in every target clone. */
static inline double gb_vexp_nonpositive_f64(double t) {
    static const double shifter = 6755399441055744.0; /* 1.5 * 2^52 */
    static const double log2e = 1.4426950408889634074;
    static const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    t = t < -200.0 ? -200.0 : t;
    const double z = t * log2e + shifter;
    const double kf = z - shifter;
    const double r = (t - kf * ln2_hi) - kf * ln2_lo;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    uint64_t zb, sb;
    memcpy(&zb, &z, sizeof zb);
    sb = (zb + 1023u) << 52; /* the low 12 bits of zb are k mod 4096: (k + 1023) << 52 */
    double scale;
    memcpy(&scale, &sb, sizeof scale);
    return p * scale;
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

/* sigmoid(x) in *s and 1 - sigmoid(x) in *c with u = e^-|x| in (0, 1]:
 * x >= 0: s = 1/(1+u), c = u/(1+u); x < 0 the other way round. The same expressions as
 * softplus's backward, so its derivative and the activation's agree bit for bit. NaN -> NaN
 * (u is NaN, so both quotients are). */
static inline void gb_vsigmoid2(float x, float *s, float *c) {
    float u = gb_vexp_nonpositive(x < 0.0f ? x : -x);
    float den = 1.0f + u;
    float big = 1.0f / den, small = u / den;
    *s = x >= 0.0f ? big : small;
    *c = x >= 0.0f ? small : big;
}

/* tanh(x) in *y and 1 - |tanh(x)| in *c.
 * |x| < 0.55: tanh(a) = a + a z P(z), z = a^2, P a degree-5 least-squares fit of
 *   (tanh(a)/a - 1)/z on [0, 0.3025] (truncation < 0.1 ulp; ~1.2 ulp in float), c = 1 - tanh;
 * otherwise with u = e^-2a <= e^-1.1: tanh(a) = (1 - u)/(1 + u), c = 2u/(1 + u), no
 *   cancellation (1 - u >= 0.66); c stays exact relative down to the denormals (a ~ 52).
 *   NaN -> NaN. */
static inline void gb_vtanh2(float x, float *y, float *c) {
    float a = x < 0.0f ? -x : x;
    float u = gb_vexp_nonpositive(-2.0f * a);
    float den = 1.0f + u;
    float y_big = (1.0f - u) / den;
    float c_big = (2.0f * u) / den;
    float z = a * a;
    float p = 2.527374076e-03f;
    p = p * z - 8.524086326e-03f;
    p = p * z + 2.181683108e-02f;
    p = p * z - 5.396436155e-02f;
    p = p * z + 1.333332211e-01f;
    p = p * z - 3.333333433e-01f;
    float y_small = a + a * (p * z);
    float ty = a < 0.55f ? y_small : y_big;
    float tc = a < 0.55f ? 1.0f - y_small : c_big;
    *y = x < 0.0f ? -ty : ty;
    *c = tc;
}

/* phi(a) = e^(-a^2/2) / sqrt(2 pi) and Q(a) = P(Z > a) for a >= 0 (NaN passes).
 * Q = e^(-a^2/2) t R(t - 1/2), t = 1/(1 + a/2): Q/(phi t) is smooth on t in (0, 1]
 * (it tends to 1/2 as a -> inf, Mills' ratio ~ 1/a), and R, a degree-12 least-squares
 * polynomial (1/sqrt(2 pi) folded in), fits it within 4e-9 relative on 0 <= a <= 15; in float
 * the whole Q is within ~5 ulp. e^(-a^2/2) is formed as e^(-ah^2/2) e^(-al (a + ah)/2)
 * with ah = a cut to 12 significant bits, so ah^2 is exact and the rounding of a^2 (up to
 * 50 ulp of the exponential at a = 10) never enters. a is clamped at 15, past the underflow. */
static inline void gb_vnormal_tail(float a, float *phi, float *q) {
    float ac = a > 15.0f ? 15.0f : a;
    uint32_t bits;
    memcpy(&bits, &ac, sizeof bits);
    bits &= 0xfffff000u;
    float ah;
    memcpy(&ah, &bits, sizeof ah);
    float al = ac - ah;
    float e1 = gb_vexp_nonpositive(-0.5f * (ah * ah));
    float e2 = gb_vexp_nonpositive(-0.5f * (al * (ac + ah)));
    float t = 1.0f / (1.0f + 0.5f * ac);
    float v = t - 0.5f;
    float r = -3.910529613e-02f;
    r = r * v + 9.365049005e-02f;
    r = r * v - 6.162454560e-02f;
    r = r * v - 4.538937286e-02f;
    r = r * v + 1.050525084e-01f;
    r = r * v - 5.091970414e-02f;
    r = r * v - 6.232344732e-02f;
    r = r * v + 1.076267585e-01f;
    r = r * v - 3.761792323e-03f;
    r = r * v - 1.468739510e-01f;
    r = r * v + 5.759479478e-02f;
    r = r * v + 3.314044476e-01f;
    r = r * v + 3.362039924e-01f;
    *phi = (e1 * 0.398942280f) * e2;
    *q = (e1 * (r * t)) * e2;
}

/* ---- fixed-order double reductions of float data ---- */

#define GB_VLANES 8

static inline double gb_vlanes_total(const double *acc) {
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* sum_i x[i] */
static inline double gb_vsum_f64(const float *x, size_t n) {
    double acc[GB_VLANES] = {0};
    size_t i = 0;
    for (; i + GB_VLANES <= n; i += GB_VLANES)
        for (size_t j = 0; j < GB_VLANES; j++) acc[j] += (double)x[i + j];
    for (; i < n; i++) acc[i % GB_VLANES] += (double)x[i];
    return gb_vlanes_total(acc);
}

/* sum_i (x[i] - mean)^2 */
static inline double gb_vsumsq_dev_f64(const float *x, size_t n, double mean) {
    double acc[GB_VLANES] = {0};
    size_t i = 0;
    for (; i + GB_VLANES <= n; i += GB_VLANES)
        for (size_t j = 0; j < GB_VLANES; j++) {
            double d = (double)x[i + j] - mean;
            acc[j] += d * d;
        }
    for (; i < n; i++) {
        double d = (double)x[i] - mean;
        acc[i % GB_VLANES] += d * d;
    }
    return gb_vlanes_total(acc);
}

/* *sum_a = sum_i a[i], *sum_ab = sum_i a[i] (b[i] - mean) */
static inline void gb_vsum_dot_dev_f64(const float *a, const float *b, size_t n, double mean,
                                       double *sum_a, double *sum_ab) {
    double sa[GB_VLANES] = {0}, sab[GB_VLANES] = {0};
    size_t i = 0;
    for (; i + GB_VLANES <= n; i += GB_VLANES)
        for (size_t j = 0; j < GB_VLANES; j++) {
            double av = (double)a[i + j];
            sa[j] += av;
            sab[j] += av * ((double)b[i + j] - mean);
        }
    for (; i < n; i++) {
        double av = (double)a[i];
        sa[i % GB_VLANES] += av;
        sab[i % GB_VLANES] += av * ((double)b[i] - mean);
    }
    *sum_a = gb_vlanes_total(sa);
    *sum_ab = gb_vlanes_total(sab);
}

#endif
