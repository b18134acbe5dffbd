/* kernels/cpu/layout.c - spatial sum, nearest x2 upsampling, channel concat and
 * the RealNVP squeeze / unsqueeze (pixel_unshuffle / pixel_shuffle 2), CPU.
 *
 *   spatial_sum:   out[p] = scale * sum_s inp[p, s] (double, ascending s, one
 *                  rounding); backward dinp[p, s] = scale * dout[p] (one float
 *                  product, as PyTorch's expand of a scaled gradient).
 *   upsample x2:   out[p, 2y+i, 2x+j] = inp[p, y, x] (F.interpolate(scale_factor=2,
 *                  mode="nearest")); backward sums the four gradients of each
 *                  input pixel in double, in row-major order, rounded once.
 *   concat:        out[b] = [a[b]; b[b]] along channels (torch.cat(dim=1));
 *                  backward copies the two slices out (either may be skipped).
 *   squeeze2x:     out[b, 4c + 2i + j, y, x] = inp[b, c, 2y+i, 2x+j]
 *                  (F.pixel_unshuffle(2)); unsqueeze2x is its inverse
 *                  (F.pixel_shuffle(2)). Both are permutations, so each is the
 *                  other's backward, exactly.
 * Every backward overwrites its input gradient. Spatial sum and upsampling cut their planes
 * into gb_parallel_for slices (each plane's arithmetic unchanged, so the bits do not depend on
 * the thread count).
 *
 * Tested by tests/test_kernels_pool.c: float64 transcriptions with finite
 * differences, the squeeze/unsqueeze round trip, PyTorch fixtures from
 * tests/peers/kernels_pool.py (odd sizes, channels not a multiple of 8), and the same bits
 * with 1, 2 and 3 threads.
 */
#include "kernels/cpu/cpu.h"

#include <string.h>

#include "kernels/cpu/parallel.h"

/* Every op here works plane by plane (or sample by sample for concat): the planes are cut
 * into gb_parallel_for slices, each plane's arithmetic unchanged. */
typedef struct {
    float *out;
    const float *inp;
    size_t spatial, a, b; /* spatial: plane size; a, b: per-op sizes (see each op) */
    float scale;
    int height, width;
} layout_job;

/* Planes per slice for planes of `plane` elements: at least ~32K elements of work. */
static size_t plane_grain(size_t plane) { return plane >= 32768 ? 1 : 32768 / (plane ? plane : 1); }

static void spatial_sum_forward_slice(void *ctx, size_t p0, size_t p1, int slice) {
    (void)slice;
    const layout_job *j = ctx;
    for (size_t p = p0; p < p1; p++) {
        const float *row = j->inp + p * j->spatial;
        double acc = 0.0;
        for (size_t s = 0; s < j->spatial; s++) acc += (double)row[s];
        j->out[p] = (float)((double)j->scale * acc);
    }
}

void gb_spatial_sum_forward_cpu(gb_device *dev, float *out, const float *inp, size_t planes,
                                size_t spatial, float scale) {
    layout_job j = {.out = out, .inp = inp, .spatial = spatial, .scale = scale};
    gb_parallel_for(dev, planes, plane_grain(spatial), spatial_sum_forward_slice, &j);
}

static void spatial_sum_backward_slice(void *ctx, size_t p0, size_t p1, int slice) {
    (void)slice;
    const layout_job *j = ctx;
    for (size_t p = p0; p < p1; p++) {
        const float g = j->scale * j->inp[p];
        float *row = j->out + p * j->spatial;
        for (size_t s = 0; s < j->spatial; s++) row[s] = g;
    }
}

void gb_spatial_sum_backward_cpu(gb_device *dev, float *dinp, const float *dout, size_t planes,
                                 size_t spatial, float scale) {
    layout_job j = {.out = dinp, .inp = dout, .spatial = spatial, .scale = scale};
    gb_parallel_for(dev, planes, plane_grain(spatial), spatial_sum_backward_slice, &j);
}

static void check_hw(const char *op, int height, int width) {
    GB_ASSERT(height >= 0 && width >= 0, "%s: negative size %dx%d", op, height, width);
}

static void upsample_forward_slice(void *ctx, size_t p0, size_t p1, int slice) {
    (void)slice;
    const layout_job *j = ctx;
    const int height = j->height;
    const size_t w = (size_t)j->width, ow = 2 * w;
    for (size_t p = p0; p < p1; p++) {
        const float *src = j->inp + p * (size_t)height * w;
        float *dst = j->out + p * (size_t)height * w * 4;
        for (int y = 0; y < height; y++) {
            float *r0 = dst + (size_t)(2 * y) * ow, *r1 = r0 + ow;
            const float *s = src + (size_t)y * w;
            for (size_t x = 0; x < w; x++) r0[2 * x] = r0[2 * x + 1] = s[x];
            memcpy(r1, r0, ow * sizeof *r1);
        }
    }
}

void gb_upsample_nearest2x_forward_cpu(gb_device *dev, float *out, const float *inp, size_t planes,
                                       int height, int width) {
    check_hw("upsample_nearest2x_forward", height, width);
    layout_job j = {.out = out, .inp = inp, .height = height, .width = width};
    gb_parallel_for(dev, planes, plane_grain(4 * (size_t)height * (size_t)width), upsample_forward_slice, &j);
}

static void upsample_backward_slice(void *ctx, size_t p0, size_t p1, int slice) {
    (void)slice;
    const layout_job *j = ctx;
    const int height = j->height;
    const size_t w = (size_t)j->width, ow = 2 * w;
    for (size_t p = p0; p < p1; p++) {
        const float *src = j->inp + p * (size_t)height * w * 4;
        float *dst = j->out + p * (size_t)height * w;
        for (int y = 0; y < height; y++) {
            const float *r0 = src + (size_t)(2 * y) * ow, *r1 = r0 + ow;
            float *d = dst + (size_t)y * w;
            for (size_t x = 0; x < w; x++) {
                double acc = (double)r0[2 * x] + (double)r0[2 * x + 1];
                acc += (double)r1[2 * x];
                acc += (double)r1[2 * x + 1];
                d[x] = (float)acc;
            }
        }
    }
}

void gb_upsample_nearest2x_backward_cpu(gb_device *dev, float *dinp, const float *dout,
                                        size_t planes, int height, int width) {
    check_hw("upsample_nearest2x_backward", height, width);
    layout_job j = {.out = dinp, .inp = dout, .height = height, .width = width};
    gb_parallel_for(dev, planes, plane_grain(4 * (size_t)height * (size_t)width), upsample_backward_slice, &j);
}

void gb_concat_channels_forward_cpu(gb_device *dev, float *out, const float *a, const float *b,
                                    int batch, int ca, int cb, size_t spatial) {
    (void)dev;
    GB_ASSERT(batch >= 0 && ca >= 0 && cb >= 0, "concat_channels: batch %d, channels %d + %d", batch,
              ca, cb);
    const size_t na = (size_t)ca * spatial, nb = (size_t)cb * spatial;
    for (int n = 0; n < batch; n++) {
        float *dst = out + (size_t)n * (na + nb);
        if (na) memcpy(dst, a + (size_t)n * na, na * sizeof *dst);
        if (nb) memcpy(dst + na, b + (size_t)n * nb, nb * sizeof *dst);
    }
}

void gb_concat_channels_backward_cpu(gb_device *dev, float *da, float *db, const float *dout,
                                     int batch, int ca, int cb, size_t spatial) {
    (void)dev;
    GB_ASSERT(batch >= 0 && ca >= 0 && cb >= 0, "concat_channels: batch %d, channels %d + %d", batch,
              ca, cb);
    const size_t na = (size_t)ca * spatial, nb = (size_t)cb * spatial;
    for (int n = 0; n < batch; n++) {
        const float *src = dout + (size_t)n * (na + nb);
        if (da && na) memcpy(da + (size_t)n * na, src, na * sizeof *da);
        if (db && nb) memcpy(db + (size_t)n * nb, src + na, nb * sizeof *db);
    }
}

void gb_squeeze2x_forward_cpu(gb_device *dev, float *out, const float *inp, int batch, int channels,
                              int height, int width) {
    (void)dev;
    GB_ASSERT(batch >= 0 && channels >= 0 && height >= 0 && width >= 0 && height % 2 == 0 &&
                  width % 2 == 0,
              "squeeze2x: input %d x %d x %d x %d needs even, non-negative height and width", batch,
              channels, height, width);
    const size_t hw = (size_t)height * (size_t)width;
    const int oh = height / 2, ow = width / 2;
    const size_t ohw = (size_t)oh * (size_t)ow;
    for (size_t bc = 0; bc < (size_t)batch * (size_t)channels; bc++) {
        const float *src = inp + bc * hw;
        float *dst = out + bc * 4 * ohw; /* out channels 4c .. 4c+3 */
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                float *d = dst + (size_t)(2 * i + j) * ohw;
                for (int y = 0; y < oh; y++)
                    for (int x = 0; x < ow; x++)
                        d[(size_t)y * ow + x] = src[(size_t)(2 * y + i) * width + 2 * x + j];
            }
    }
}

void gb_unsqueeze2x_forward_cpu(gb_device *dev, float *out, const float *inp, int batch,
                                int channels, int height, int width) {
    (void)dev;
    GB_ASSERT(batch >= 0 && channels >= 0 && height >= 0 && width >= 0 && height % 2 == 0 &&
                  width % 2 == 0,
              "unsqueeze2x: output %d x %d x %d x %d needs even, non-negative height and width",
              batch, channels, height, width);
    const size_t hw = (size_t)height * (size_t)width;
    const int ih = height / 2, iw = width / 2;
    const size_t ihw = (size_t)ih * (size_t)iw;
    for (size_t bc = 0; bc < (size_t)batch * (size_t)channels; bc++) {
        const float *src = inp + bc * 4 * ihw; /* in channels 4c .. 4c+3 */
        float *dst = out + bc * hw;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                const float *s = src + (size_t)(2 * i + j) * ihw;
                for (int y = 0; y < ih; y++)
                    for (int x = 0; x < iw; x++)
                        dst[(size_t)(2 * y + i) * width + 2 * x + j] = s[(size_t)y * iw + x];
            }
    }
}
