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
 * may alias dout (each plane's sums are taken before the plane is overwritten). Planes are cut
 * into per-thread slices (kernels/cpu/parallel.h); each plane is one thread's.
 * Tested by tests/test_kernels_pointwise.c (float64 finite differences, PyTorch fixtures, the
 * same bits with 1, 2 and 3 threads).
 */
#include "kernels/cpu/cpu.h"

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vmath.h"

/* Both kernels work plane by plane (one (sample, channel) row of `spatial` values), cut into
 * gb_parallel_for slices: a plane's arithmetic and its sums are those of one thread. */
typedef struct {
    float *out, *dscale, *dshift;
    const float *inp, *dout, *scale, *shift;
    size_t spatial;
} film_job;

static size_t film_grain(size_t spatial) { return spatial >= 32768 ? 1 : 32768 / (spatial ? spatial : 1); }

GB_VCLONES
static void film_forward_slice(void *ctx, size_t p0, size_t p1, int slice) {
    (void)slice;
    const film_job *j = ctx;
    const float *scale = j->scale, *shift = j->shift;
    size_t spatial = j->spatial;
    for (size_t p = p0; p < p1; p++) {
        const float *x = j->inp + p * spatial;
        float *y = j->out + p * spatial;
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

void gb_film_forward_cpu(gb_device *dev, float *out, const float *inp, const float *scale,
                         const float *shift, const gb_norm_shape *shape) {
    size_t planes = (size_t)shape->batch * (size_t)shape->channels;
    film_job j = {.out = out, .inp = inp, .scale = scale, .shift = shift, .spatial = (size_t)shape->spatial};
    gb_parallel_for(dev, planes, film_grain(j.spatial), film_forward_slice, &j);
}

GB_VCLONES
static void film_backward_slice(void *ctx, size_t p0, size_t p1, int slice) {
    (void)slice;
    const film_job *j = ctx;
    size_t spatial = j->spatial;
    for (size_t p = p0; p < p1; p++) {
        const float *dy = j->dout + p * spatial;
        /* the sums first: dinp may overwrite dout in place */
        if (j->dscale || j->dshift) {
            double sum_dy, sum_dy_x;
            gb_vsum_dot_dev_f64(dy, j->inp + p * spatial, spatial, 0.0, &sum_dy, &sum_dy_x);
            if (j->dscale) j->dscale[p] = (float)sum_dy_x;
            if (j->dshift) j->dshift[p] = (float)sum_dy;
        }
        if (j->out) {
            float *dx = j->out + p * spatial;
            float mul = j->scale ? j->scale[p] + 1.0f : 1.0f;
            for (size_t s = 0; s < spatial; s++) dx[s] = dy[s] * mul;
        }
    }
}

void gb_film_backward_cpu(gb_device *dev, float *dinp, float *dscale, float *dshift,
                          const float *dout, const float *inp, const float *scale,
                          const gb_norm_shape *shape) {
    size_t planes = (size_t)shape->batch * (size_t)shape->channels;
    film_job j = {.out = dinp, .dscale = dscale, .dshift = dshift, .dout = dout, .inp = inp,
                  .scale = scale, .spatial = (size_t)shape->spatial};
    gb_parallel_for(dev, planes, film_grain(j.spatial), film_backward_slice, &j);
}
