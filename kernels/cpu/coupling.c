/* kernels/cpu/coupling.c - RealNVP affine coupling: forward, backward, inverse (CPU).
 *
 * Dinh, Sohl-Dickstein, Bengio, "Density estimation using Real NVP" (ICLR 2017),
 * eq. (9): with a binary mask b (1 = passed through),
 *   y = b*x + (1-b)*(x*exp(s) + t),    log|det dy/dx| = sum_{b=0} s
 * where s and t are computed by the model from b*x only, which makes the
 * Jacobian triangular with diagonal 1 (b = 1) or exp(s) (b = 0). Masks
 * (kernels/shapes.h): checkerboard b = 1 where (h + w) is even; channel b = 1
 * on the first channels/2 channels (rounded down); invert_mask swaps them.
 *
 *   forward:  y as above; logdet[n] += sum over the b = 0 elements of sample n
 *             of s (double sum in ascending order, added once; logdet may be
 *             NULL when the caller does not need it)
 *   backward: dx = b*dy + (1-b)*dy*exp(s)   (direct path only, see kernels.h)
 *             ds = (1-b)*(dy*x*exp(s) + dlogdet[n]),  dt = (1-b)*dy
 *             all overwrite; NULL gradient: skip; dlogdet NULL: 0
 *   inverse:  x = b*y + (1-b)*(y - t)*exp(-s)
 * Each output is evaluated in double from the float inputs and rounded once,
 * so the forward/inverse round trip returns x to within about two roundings
 * (tests/tolerances.md). s and t at b = 1 positions are never read.
 * Tested by tests/test_kernels_embed_coupling.c (round trip, the log-determinant against
 * torch.slogdet of an autograd Jacobian, a plain-torch coupling, central finite
 * differences of a double transcription).
 */
#include "kernels/cpu/cpu.h"

#include <math.h>

/* b for element (c, h, w) */
static inline int mask_at(const gb_coupling_shape *sh, int c, int h, int w) {
    int b = sh->mask == GB_MASK_CHECKERBOARD ? ((h + w) % 2 == 0) : (c < sh->channels / 2);
    return sh->invert_mask ? !b : b;
}

static void check_shape(const gb_coupling_shape *sh) {
    GB_ASSERT(sh->batch >= 0 && sh->channels > 0 && sh->height > 0 && sh->width > 0,
              "coupling shape: batch %d, channels %d, height %d, width %d", sh->batch,
              sh->channels, sh->height, sh->width);
    GB_ASSERT(sh->mask == GB_MASK_CHECKERBOARD || sh->mask == GB_MASK_CHANNEL,
              "coupling shape: unknown mask kind %d", (int)sh->mask);
}

void gb_coupling_forward_cpu(gb_device *dev, float *y, float *logdet, const float *x,
                             const float *s, const float *t, const gb_coupling_shape *sh) {
    (void)dev;
    check_shape(sh);
    const int C = sh->channels, H = sh->height, W = sh->width;
    size_t i = 0;
    for (int n = 0; n < sh->batch; n++) {
        double ld = 0.0;
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++, i++) {
                    if (mask_at(sh, c, h, w)) {
                        y[i] = x[i];
                    } else {
                        y[i] = (float)((double)x[i] * exp((double)s[i]) + (double)t[i]);
                        ld += s[i];
                    }
                }
        if (logdet) logdet[n] = (float)((double)logdet[n] + ld);
    }
}

void gb_coupling_backward_cpu(gb_device *dev, float *dx, float *ds, float *dt, const float *dy,
                              const float *dlogdet, const float *x, const float *s,
                              const gb_coupling_shape *sh) {
    (void)dev;
    check_shape(sh);
    const int C = sh->channels, H = sh->height, W = sh->width;
    size_t i = 0;
    for (int n = 0; n < sh->batch; n++) {
        const double dl = dlogdet ? (double)dlogdet[n] : 0.0;
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++, i++) {
                    if (mask_at(sh, c, h, w)) {
                        if (dx) dx[i] = dy[i];
                        if (ds) ds[i] = 0.0f;
                        if (dt) dt[i] = 0.0f;
                    } else {
                        const double g = (double)dy[i] * exp((double)s[i]);
                        if (dx) dx[i] = (float)g;
                        if (ds) ds[i] = (float)(g * (double)x[i] + dl);
                        if (dt) dt[i] = dy[i];
                    }
                }
    }
}

void gb_coupling_inverse_cpu(gb_device *dev, float *x, const float *y, const float *s,
                             const float *t, const gb_coupling_shape *sh) {
    (void)dev;
    check_shape(sh);
    const int C = sh->channels, H = sh->height, W = sh->width;
    size_t i = 0;
    for (int n = 0; n < sh->batch; n++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++, i++)
                    x[i] = mask_at(sh, c, h, w)
                               ? y[i]
                               : (float)(((double)y[i] - (double)t[i]) * exp(-(double)s[i]));
}
