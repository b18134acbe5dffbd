/* kernels/cpu/im2col_vector.c - im2col and col2im_add of whole small planes by vector shuffles
 * (CPU): the batched chunks of the GAN's 4x4, 8x8 and 16x16 3x3 convolutions.
 *
 * For a stride-1 "same" geometry (the output grid is the image: out_h = height, out_w = width)
 * every cols row of one sample is its image plane shifted by s = (i - pad_h) * width + (j - pad_w)
 * positions, with the taps that fall outside the image zeroed. With P = height * width a multiple
 * of 16, the 16 positions of output vector k read sources 16k + s .. 16k + 15 + s, which lie in
 * two adjacent 16-float vectors of the plane, so each output vector is one two-source shuffle and
 * one AND with a lane mask (a lane_map, computed once per call). The general routine
 * (kernels/cpu/im2col.c) makes a memcpy and up to three memset calls per tap, row band and sample:
 * on the 4x4 planes of the generator's first block those calls cost 36% of the GEMM they feed
 * (0.64 ms against 1.76 ms at batch 64), and col2im 56%.
 *
 * col2im_add (taken up to 64 positions: see gb_im2col_vector_applies) is the adjoint: input
 * vector m of a plane receives, tap by tap in ascending order, the cols row's entries at m's
 * positions minus s, by the same kind of shuffle. Every image value gets the same additions in
 * the same order as im2col.c's col2im; where a tap falls outside the image this adds +0 instead
 * of nothing, which changes only a -0.0 image value (to +0.0), as im2col.c's flat route already
 * does (im2col.h). im2col copies bits exactly.
 * Work is split over samples through gb_parallel_for; a sample's rows and plane belong to one
 * slice. Tested by tests/test_kernels_im2col.c (against the definition, bit for bit).
 */
#include "kernels/cpu/im2col.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/status.h"
#include "kernels/cpu/parallel.h"

enum { LANES = 16, MAX_VECTORS = 16, COL2IM_MAX_VECTORS = 4, MAX_TAPS = 9 };

typedef float lanes_t __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t lane_ints_t __attribute__((vector_size(LANES * sizeof(int32_t))));
/* Planes and cols rows need not be 64-byte aligned: they are read and written through a vector
 * type declared with 4-byte alignment. */
typedef float lanes_unaligned_t __attribute__((vector_size(LANES * sizeof(float)), aligned(4), may_alias));

/* output vector = shuffle(src[base], src[base + 1], index) & keep, where a source vector outside
 * the plane reads as zeros (its lanes are never kept). */
typedef struct {
    lane_ints_t index, keep;
    int base;
} lane_map;

/* Measured (128 channels, 3x3 p1, a chunk of 2048 columns, 2 threads, best of 30, ms general
 * route / here): im2col 4x4 0.64 / 0.18, 8x8 0.69 / 0.38, 16x16 0.58 / 0.45; col2im 4x4
 * 0.98 / 0.27, 8x8 0.74 / 0.65, 16x16 0.53 / 0.70. col2im's flat route adds a tap's whole band
 * with one plain vector loop, which beats two loads and a shuffle per vector from 16x16 up, so
 * the adjoint is taken up to 64 positions only. */
int gb_im2col_vector_applies(const gb_im2col_geom *g, int y0, int y1, int adjoint) {
    int positions = g->height * g->width;
    return g->stride_h == 1 && g->stride_w == 1 && g->out_h == g->height && g->out_w == g->width && y0 == 0 &&
           y1 == g->out_h && positions % LANES == 0 && positions <= (adjoint ? COL2IM_MAX_VECTORS : MAX_VECTORS) * LANES &&
           g->kernel_h * g->kernel_w <= MAX_TAPS;
}

/* The map of output vector k for a shift of (dy, dx) pixels: lane l reads position
 * 16k + l + dy * width + dx when that pixel is inside the plane, else 0. */
static lane_map map_of(const gb_im2col_geom *g, int k, int dy, int dx) {
    lane_map m = {.base = 0};
    int s = dy * g->width + dx, first = k * LANES + s;
    m.base = first >= 0 ? first / LANES : -((-first + LANES - 1) / LANES); /* floor */
    for (int l = 0; l < LANES; l++) {
        int p = k * LANES + l, y = p / g->width + dy, x = p % g->width + dx;
        int inside = y >= 0 && y < g->height && x >= 0 && x < g->width;
        m.index[l] = inside ? p + s - m.base * LANES : 0; /* in [0, 32): the two source vectors */
        m.keep[l] = inside ? -1 : 0;
    }
    return m;
}

typedef struct {
    const gb_im2col_geom *g;
    lane_map *maps; /* [tap][vector]: im2col's shifts, or col2im's negated ones */
    float *cols, *img;
    const float *cimg;
    size_t cols_stride, img_stride, ld;
    int vectors, taps, adjoint;
} vector_job;

/* *out = the map applied to the plane src of `vectors` vectors. (Written through a pointer: a
 * function returning a 64-byte vector changes the ABI between the target clones.) */
static inline __attribute__((always_inline)) void apply(lanes_t *out, const lane_map *m, const float *src,
                                                        int vectors) {
    lanes_t a = {0}, b = {0};
    if (m->base >= 0 && m->base < vectors) a = *(const lanes_unaligned_t *)(src + (size_t)m->base * LANES);
    if (m->base + 1 >= 0 && m->base + 1 < vectors) b = *(const lanes_unaligned_t *)(src + (size_t)(m->base + 1) * LANES);
    lanes_t picked = __builtin_shuffle(a, b, m->index);
    *out = (lanes_t)((lane_ints_t)picked & m->keep);
}


__attribute__((target_clones("avx512f", "avx2", "default")))
static void vector_samples(void *ctx, size_t n0, size_t n1, int slice) {
    (void)slice;
    const vector_job *t = ctx;
    const gb_im2col_geom *g = t->g;
    const size_t plane = (size_t)g->height * (size_t)g->width;
    for (size_t n = n0; n < n1; n++)
        for (int c = 0; c < g->channels; c++) {
            float *rows = t->cols + n * t->cols_stride + (size_t)c * (size_t)t->taps * t->ld;
            if (!t->adjoint) {
                const float *src = t->cimg + n * t->img_stride + (size_t)c * plane;
                for (int tap = 0; tap < t->taps; tap++)
                    for (int k = 0; k < t->vectors; k++) {
                        lanes_t v;
                        apply(&v, &t->maps[tap * t->vectors + k], src, t->vectors);
                        *(lanes_unaligned_t *)(rows + (size_t)tap * t->ld + (size_t)k * LANES) = v;
                    }
            } else {
                float *dst = t->img + n * t->img_stride + (size_t)c * plane;
                lanes_t acc[MAX_VECTORS];
                for (int m = 0; m < t->vectors; m++) acc[m] = *(const lanes_unaligned_t *)(dst + (size_t)m * LANES);
                for (int tap = 0; tap < t->taps; tap++)
                    for (int m = 0; m < t->vectors; m++) {
                        lanes_t v;
                        apply(&v, &t->maps[tap * t->vectors + m], rows + (size_t)tap * t->ld, t->vectors);
                        acc[m] = acc[m] + v;
                    }
                for (int m = 0; m < t->vectors; m++) *(lanes_unaligned_t *)(dst + (size_t)m * LANES) = acc[m];
            }
        }
}

static void run(const gb_device *dev, vector_job *t, int samples) {
    const gb_im2col_geom *g = t->g;
    t->vectors = g->height * g->width / LANES;
    t->taps = g->kernel_h * g->kernel_w;
    /* lane_map holds 64-byte vectors: its storage must be 64-byte aligned (sizeof is a multiple) */
    lane_map *maps = aligned_alloc(64, (size_t)t->taps * (size_t)t->vectors * sizeof *maps);
    GB_ASSERT(maps, "out of memory for %d x %d lane maps", t->taps, t->vectors);
    int sign = t->adjoint ? -1 : 1; /* col2im reads the cols row back at the opposite shift */
    for (int i = 0; i < g->kernel_h; i++)
        for (int j = 0; j < g->kernel_w; j++)
            for (int k = 0; k < t->vectors; k++)
                maps[(i * g->kernel_w + j) * t->vectors + k] = map_of(g, k, sign * (i - g->pad_h), sign * (j - g->pad_w));
    t->maps = maps;
    gb_parallel_for(dev, (size_t)samples, 1, vector_samples, t);
    free(maps);
}

void gb_im2col_vector_samples(const gb_device *dev, const gb_im2col_geom *g, float *cols, size_t cols_stride,
                              size_t ld, const float *img, size_t img_stride, int samples) {
    vector_job t = {.g = g, .cols = cols, .cimg = img, .cols_stride = cols_stride, .img_stride = img_stride, .ld = ld};
    run(dev, &t, samples);
}

void gb_col2im_add_vector_samples(const gb_device *dev, const gb_im2col_geom *g, float *img, size_t img_stride,
                                  float *cols, size_t cols_stride, size_t ld, int samples) {
    vector_job t = {.g = g, .cols = cols, .img = img, .cols_stride = cols_stride, .img_stride = img_stride, .ld = ld,
                    .adjoint = 1};
    run(dev, &t, samples);
}
