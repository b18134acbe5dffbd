/* kernels/cpu/softplus.c - softplus (beta 1, threshold 20), forward and backward (CPU).
 *
 *   forward:  out  = x > 20 ? x : log1p(exp(x))
 *   backward: dinp = x > 20 ? dout : dout * z / (z + 1),  z = exp(x)   (overwrite)
 *
 * PyTorch semantics (torch.nn.functional.softplus defaults): above the
 * threshold the function is the identity, whose error is log1p(exp(-20)) ~ 2e-9,
 * below float32 resolution at 20. z / (z + 1) is sigmoid(x) written the way
 * ATen's softplus_backward writes it; z <= exp(20) cannot overflow. Everything
 * is float32, as in ATen. out may alias inp, dinp may alias dout.
 * Tested by tests/test_kernels_cpu.c: float64 finite differences, values around
 * the threshold against log1p(exp()) in double, PyTorch fixtures.
 */
#include "kernels/cpu/cpu.h"

#include <math.h>

static const float gb_softplus_threshold = 20.0f;

void gb_softplus_forward_cpu(gb_device *dev, float *out, const float *inp, size_t n) {
    (void)dev;
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = x > gb_softplus_threshold ? x : log1pf(expf(x));
    }
}

void gb_softplus_backward_cpu(gb_device *dev, float *dinp, const float *dout, const float *inp,
                              size_t n) {
    (void)dev;
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float z = expf(x);
        dinp[i] = x > gb_softplus_threshold ? dout[i] : dout[i] * z / (z + 1.0f);
    }
}
