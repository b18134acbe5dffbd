/* tests/test_resize.c - Pillow-exact resize (datasets/resize.h).
 *
 * Reference: Pillow 9.4 Image.resize outputs written by tests/peers/image_data.py
 * (resize/cases.txt): uint8 'L' and 'RGB' images and float32 'F' images, BICUBIC and
 * BILINEAR, 500x375 -> 32x32 (the CUB protocol), 32x32 -> 299x299 (clean-fid), odd sizes,
 * mixed up/down, one axis only, 1x1 sources, equal sizes, and a checkerboard whose sums
 * overshoot [0, 255] (clipping). Required: uint8 bit-exact, float32 bit-exact (the bound
 * in tests/tolerances.md is 0 for both). Plus closed-form checks that do not need Pillow:
 * constant images stay constant, taps sum to one, and a shared plan with caller scratch
 * gives the same bytes as the one-call form.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/resize.h"

static char *fixture_path(const char *rel) {
    const char *root = getenv("GB_FIXTURES");
    if (!root) cr_assert_fail("GB_FIXTURES is not set: run the tests with `make test` (it runs tests/peers/*.py first)");
    char *p = malloc(strlen(root) + strlen(rel) + 32);
    sprintf(p, "%s/image_data/%s", root, rel);
    return p;
}

static void *read_exact(const char *rel, size_t n) {
    char *path = fixture_path(rel);
    FILE *fp = fopen(path, "rb");
    if (!fp) cr_assert_fail("fixture %s is missing: run /usr/bin/python3 tests/peers/image_data.py $GB_FIXTURES", path);
    void *buf = malloc(n + 1);
    size_t got = fread(buf, 1, n, fp);
    int extra = fgetc(fp);
    fclose(fp);
    if (got != n || extra != EOF) cr_assert_fail("fixture %s: expected exactly %zu bytes", path, n);
    free(path);
    return buf;
}

typedef struct {
    char name[64], type[8], filter[16];
    int in_h, in_w, out_h, out_w, channels;
} resize_case;

static int read_cases(resize_case *cases, int max) {
    char *path = fixture_path("resize/cases.txt");
    FILE *fp = fopen(path, "r");
    if (!fp) cr_assert_fail("fixture %s is missing: run /usr/bin/python3 tests/peers/image_data.py $GB_FIXTURES", path);
    int n = 0;
    while (n < max && fscanf(fp, "%63s %7s %15s %d %d %d %d %d", cases[n].name, cases[n].type, cases[n].filter,
                             &cases[n].in_h, &cases[n].in_w, &cases[n].out_h, &cases[n].out_w,
                             &cases[n].channels) == 8)
        n++;
    fclose(fp);
    free(path);
    cr_assert(n >= 10, "resize/cases.txt holds %d cases, expected the peer's full list", n);
    return n;
}

Test(resize, matches_pillow_bit_exact) {
    resize_case cases[64];
    int n = read_cases(cases, 64);
    for (int i = 0; i < n; i++) {
        resize_case *c = &cases[i];
        gb_resize_filter f = strcmp(c->filter, "bicubic") == 0 ? GB_RESIZE_BICUBIC : GB_RESIZE_BILINEAR;
        size_t in_n = (size_t)c->channels * c->in_h * c->in_w, out_n = (size_t)c->channels * c->out_h * c->out_w;
        char rel_in[128], rel_out[128];
        snprintf(rel_in, sizeof rel_in, "resize/%s.in", c->name);
        snprintf(rel_out, sizeof rel_out, "resize/%s.out", c->name);
        if (strcmp(c->type, "u8") == 0) {
            uint8_t *in = read_exact(rel_in, in_n), *ref = read_exact(rel_out, out_n);
            uint8_t *out = malloc(out_n);
            cr_assert_eq(gb_resize_u8_nchw(out, c->out_h, c->out_w, in, 1, c->channels, c->in_h, c->in_w, f), GB_OK);
            size_t bad = 0;
            int worst = 0;
            for (size_t k = 0; k < out_n; k++) {
                int d = abs((int)out[k] - (int)ref[k]);
                if (d) {
                    if (bad < 3) cr_log_error("%s[%zu]: got %d, Pillow %d", c->name, k, out[k], ref[k]);
                    bad++;
                }
                if (d > worst) worst = d;
            }
            cr_expect(bad == 0, "%s: %zu of %zu pixels differ from Pillow (worst %d levels)", c->name, bad, out_n, worst);
            free(in);
            free(ref);
            free(out);
        } else {
            float *in = read_exact(rel_in, in_n * 4), *ref = read_exact(rel_out, out_n * 4);
            float *out = malloc(out_n * 4);
            cr_assert_eq(gb_resize_f32_nchw(out, c->out_h, c->out_w, in, 1, c->channels, c->in_h, c->in_w, f), GB_OK);
            size_t bad = 0;
            double worst = 0;
            for (size_t k = 0; k < out_n; k++) {
                double d = fabs((double)out[k] - (double)ref[k]);
                if (memcmp(&out[k], &ref[k], 4) != 0) {
                    if (bad < 3) cr_log_error("%s[%zu]: got %.9g, Pillow %.9g", c->name, k, out[k], ref[k]);
                    bad++;
                }
                if (d > worst) worst = d;
            }
            cr_expect(bad == 0, "%s: %zu of %zu values differ from Pillow (worst %.3g)", c->name, bad, out_n, worst);
            free(in);
            free(ref);
            free(out);
        }
    }
}

/* Normalised taps sum to one, so a constant image maps to the same constant (uint8: the
 * fixed-point taps sum to 2^22 within rounding, and floor(v + 1/2) recovers v). */
Test(resize, constant_images_stay_constant) {
    static const int sizes[][4] = {{375, 500, 32, 32}, {32, 32, 299, 299}, {7, 3, 2, 11}, {1, 5, 4, 1}};
    for (int s = 0; s < 4; s++) {
        int ih = sizes[s][0], iw = sizes[s][1], oh = sizes[s][2], ow = sizes[s][3];
        for (int v = 0; v < 256; v += 51) {
            uint8_t *in = malloc((size_t)ih * iw), *out = malloc((size_t)oh * ow);
            float *fin = malloc((size_t)ih * iw * 4), *fout = malloc((size_t)oh * ow * 4);
            memset(in, v, (size_t)ih * iw);
            for (int k = 0; k < ih * iw; k++) fin[k] = (float)v + 0.25f;
            cr_assert_eq(gb_resize_u8(out, oh, ow, in, ih, iw, GB_RESIZE_BICUBIC), GB_OK);
            cr_assert_eq(gb_resize_f32(fout, oh, ow, fin, ih, iw, GB_RESIZE_BICUBIC), GB_OK);
            for (int k = 0; k < oh * ow; k++) {
                cr_assert_eq(out[k], v, "%dx%d->%dx%d value %d: pixel %d became %d", iw, ih, ow, oh, v, k, out[k]);
                cr_assert(fabsf(fout[k] - ((float)v + 0.25f)) <= 1e-4f * 256, "float %d: %.9g", k, fout[k]);
            }
            free(in);
            free(out);
            free(fin);
            free(fout);
        }
    }
}

Test(resize, taps_normalised_and_widened_when_shrinking) {
    gb_resize_plan p;
    cr_assert_eq(gb_resize_plan_init(&p, 375, 500, 32, 32, GB_RESIZE_BICUBIC), GB_OK);
    /* 500 / 32 = 15.625: support 2 * 15.625 = 31.25, so ceil * 2 + 1 = 65 taps at most. */
    cr_expect_eq(p.horizontal.ksize, 65);
    for (int i = 0; i < 32; i++) {
        double sum = 0;
        for (int t = 0; t < p.horizontal.count[i]; t++) sum += p.horizontal.coeffs[i * p.horizontal.ksize + t];
        cr_expect(fabs(sum - 1) < 1e-12, "output %d: taps sum to %.17g", i, sum);
        /* Interior outputs see the full 2 * 31.25 window; the edges are clipped to the image. */
        if (i >= 2 && i < 30)
            cr_expect(p.horizontal.count[i] >= 62 && p.horizontal.count[i] <= 65, "output %d: %d taps", i,
                      p.horizontal.count[i]);
    }
    gb_resize_plan_free(&p);
    cr_assert_eq(gb_resize_plan_init(&p, 32, 32, 299, 299, GB_RESIZE_BICUBIC), GB_OK);
    cr_expect_eq(p.horizontal.ksize, 5); /* upsampling keeps the kernel's own support of 2 */
    gb_resize_plan_free(&p);
}

Test(resize, plan_with_scratch_equals_one_call) {
    const int ih = 91, iw = 120, oh = 32, ow = 32;
    uint8_t *in = malloc((size_t)ih * iw), a[32 * 32], b[32 * 32];
    for (int k = 0; k < ih * iw; k++) in[k] = (uint8_t)(k * 37 % 251);
    gb_resize_plan p;
    cr_assert_eq(gb_resize_plan_init(&p, ih, iw, oh, ow, GB_RESIZE_BICUBIC), GB_OK);
    void *scratch = malloc(gb_resize_scratch_bytes(&p));
    gb_resize_plane_u8(&p, a, in, scratch);
    gb_resize_plane_u8(&p, a, in, scratch); /* reuse of dirty scratch must not matter */
    cr_assert_eq(gb_resize_u8(b, oh, ow, in, ih, iw, GB_RESIZE_BICUBIC), GB_OK);
    cr_expect(memcmp(a, b, sizeof a) == 0);
    free(scratch);
    gb_resize_plan_free(&p);
    free(in);
}

Test(resize, bad_sizes_are_input_errors) {
    gb_resize_plan p;
    cr_expect_eq(gb_resize_plan_init(&p, 0, 5, 3, 3, GB_RESIZE_BICUBIC), GB_INPUT);
    cr_expect_eq(gb_resize_plan_init(&p, 5, 5, 3, -1, GB_RESIZE_BILINEAR), GB_INPUT);
}
