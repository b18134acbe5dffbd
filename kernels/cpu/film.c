/* kernels/cpu/film.c - FiLM, a per-(sample, channel) scale and shift (CPU), forward and backward.
 *
 *   forward:  out[n,c,s] = inp[n,c,s] * (1 + scale[n,c]) + shift[n,c]
 *   backward: dinp = dout * (1 + scale);  dscale[n,c] = sum_s dout*inp;  dshift[n,c] = sum_s dout
 *
 * The forward rounds as PyTorch's x * (scale + 1) + shift does (three float roundings, in that
 * order), so it matches the U-Net's ResnetBlock bit for bit; a NULL scale or shift drops its
 * operation (x + shift, x * (1 + scale)). dscale and dshift OVERWRITE (they are the gradients
 * of an MLP's outputs, not parameters) and are reduced in double in a fixed order
 * (vmath.h), then rounded once; any gradient pointer may be NULL. out may alias inp, dinp
 * may alias dout (each plane's sums are taken before the plane is overwritten).
 * Tested by tests/test_kernels_pointwise.c (float64 finite differences, PyTorch fixtures).
 */
#include "kernels/cpu/cpu.h"

#include "kernels/cpu/vmath.h"

GB_VCLONES
void gb_film_forward_cpu(gb_device *dev, float *out, const float *inp, const float *scale,
                         const float *shift, const gb_norm_shape *shape) {
    (void)dev;
    size_t planes = (size_t)shape->batch * (size_t)shape->channels;
    size_t spatial = (size_t)shape->spatial;
    for (size_t p = 0; p < planes; p++) {
        const float *x = inp + p * spatial;
        float *y = out + p * spatial;
        float mul = scale ? scale[p] + 1.0f : 1.0f;
        float add = shift ? shift[p] : 0.0f;
        if (scale && shift)
            for (size_t s = 0; s < spatial; s++) y[s] = x[s] * mul + add;
        else if (scale)
            for (size_t s = 0; s < spatial; s++) y[s] = x[s] * mul;
        else if (shift)
            for (size_t s = 0; s < spatial; s++) y[s] = x[s] + add;
        else if (y != x)
            for (size_t s = 0; s < spatial; s++) y[s] = x[s];
    }
}

GB_VCLONES
void gb_film_backward_cpu(gb_device *dev, float *dinp, float *dscale, float *dshift,
                          const float *dout, const float *inp, const float *scale,
                          const gb_norm_shape *shape) {
    (void)dev;
    size_t planes = (size_t)shape->batch * (size_t)shape->channels;
    size_t spatial = (size_t)shape->spatial;
    for (size_t p = 0; p < planes; p++) {
        const float *dy = dout + p * spatial;
        /* the sums first: dinp may overwrite dout in place */
        if (dscale || dshift) {
            double sum_dy, sum_dy_x;
            gb_vsum_dot_dev_f64(dy, inp + p * spatial, spatial, 0.0, &sum_dy, &sum_dy_x);
            if (dscale) dscale[p] = (float)sum_dy_x;
            if (dshift) dshift[p] = (float)sum_dy;
        }
        if (dinp) {
            float *dx = dinp + p * spatial;
            float mul = scale ? scale[p] + 1.0f : 1.0f;
            for (size_t s = 0; s < spatial; s++) dx[s] = dy[s] * mul;
        }
    }
}
