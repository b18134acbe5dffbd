/* datasets/resize.h - PIL's Image.resize (BICUBIC, BILINEAR) reproduced exactly, per plane.
 *
 * Two protocols in the benchmark are defined by Pillow's resampler, so "close" is not
 * enough: the CMU 16-824 32x32 CUB set was made with Image.resize((32, 32), BICUBIC) on RGB
 * images (specs/formats.md 3.5), and clean-fid resizes every generated image per channel
 * with Image.resize((299, 299), BICUBIC) on 32-bit float mode 'F' images (specs/pipelines.md
 * 4.4). Pillow (src/libImaging/Resample.c, unchanged in this respect since Pillow 4) resizes
 * in two separable passes, horizontal then vertical, each a convolution whose kernel is
 * stretched by the reduction factor when downscaling (antialiasing: support = filter support
 * * max(in/out, 1)); the taps of each output pixel are normalised to sum to one in double.
 *  - 8-bit planes: the normalised taps are rounded to fixed point with 22 fraction bits
 *    (round half away from zero), sums are int32 starting at one half, and each pass stores
 *    floor(sum / 2^22) clipped to [0, 255]; the intermediate image is therefore uint8.
 *  - float planes ('F'): double taps, double sums in tap order, float32 stores, no clipping
 *    (clean-fid clips to [0, 255] itself after the resize).
 * A pass whose size does not change is skipped, as Pillow skips it; equal sizes copy.
 * The arithmetic here mirrors Pillow's operation order, so results are bit-identical with
 * -ffp-contract=off (no fused multiply-add).
 *
 * Planes are row-major [height, width]. A plan holds the taps for one (in, out, filter) and
 * is read-only after init, so one plan may serve many threads, each with its own scratch.
 * Tested by tests/test_resize.c against Pillow 9.4 outputs written by tests/peers/image_data.py
 * (uint8 and 'F', down, up and mixed, odd sizes), required bit-exact.
 */
#ifndef GB_DATASETS_RESIZE_H
#define GB_DATASETS_RESIZE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* The values are PIL's Image.BILINEAR and Image.BICUBIC. */
typedef enum { GB_RESIZE_BILINEAR = 2, GB_RESIZE_BICUBIC = 3 } gb_resize_filter;

/* Taps of one axis: output i reads `count[i]` inputs from `first[i]` with weights
 * coeffs[i * ksize + t] (double) or fixed[i * ksize + t] (22-bit fixed point). */
typedef struct {
    int in_size, out_size, ksize;
    int *first;      /* [out_size] */
    int *count;      /* [out_size] */
    double *coeffs;  /* [out_size, ksize] */
    int32_t *fixed;  /* [out_size, ksize] */
} gb_resize_axis;

typedef struct {
    int in_h, in_w, out_h, out_w;
    gb_resize_filter filter;
    int need_horizontal, need_vertical; /* Pillow skips a pass whose size is unchanged */
    int row_first, row_count;           /* source rows the vertical pass reads */
    gb_resize_axis horizontal, vertical;
} gb_resize_plan;

/* GB_INPUT naming the sizes when one is < 1 or the taps would not fit in memory. */
gb_status gb_resize_plan_init(gb_resize_plan *plan, int in_h, int in_w, int out_h, int out_w,
                              gb_resize_filter filter);
void gb_resize_plan_free(gb_resize_plan *plan);
/* Bytes of scratch one call of gb_resize_plane_u8 / _f32 needs (the same for both). */
size_t gb_resize_scratch_bytes(const gb_resize_plan *plan);

/* out: [out_h, out_w]; in: [in_h, in_w]. scratch: gb_resize_scratch_bytes(plan) bytes owned
 * by the caller (one per thread), or NULL to allocate and free one inside the call. */
void gb_resize_plane_u8(const gb_resize_plan *plan, uint8_t *out, const uint8_t *in, void *scratch);
void gb_resize_plane_f32(const gb_resize_plan *plan, float *out, const float *in, void *scratch);

/* One-call forms. out: [out_h, out_w]; in: [in_h, in_w]. */
gb_status gb_resize_u8(uint8_t *out, int out_h, int out_w, const uint8_t *in, int in_h, int in_w,
                       gb_resize_filter filter);
gb_status gb_resize_f32(float *out, int out_h, int out_w, const float *in, int in_h, int in_w,
                        gb_resize_filter filter);
/* Every plane of an NCHW batch. out: [n, c, out_h, out_w]; in: [n, c, in_h, in_w]. */
gb_status gb_resize_u8_nchw(uint8_t *out, int out_h, int out_w, const uint8_t *in, int n, int c,
                            int in_h, int in_w, gb_resize_filter filter);
gb_status gb_resize_f32_nchw(float *out, int out_h, int out_w, const float *in, int n, int c,
                             int in_h, int in_w, gb_resize_filter filter);

#endif
