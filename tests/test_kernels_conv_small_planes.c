/* tests/test_kernels_conv_small_planes.c - the register-tiled 3x3 and 1x1 convs of
 * kernels/cpu/conv_small_planes.c (forward, backward-data, backward-weight, bias gradient)
 * against float64 loops over the definition, and their contracts.
 *
 * References: float64 sums over the definition written here, and S, the same sums on absolute
 * values. Bounds (tests/tolerances.md "convolution", small-planes row): (T + 2) u S for a sum of
 * T terms in any order, T = C * taps (forward), M * taps (backward-data), batch * H * W (per weight),
 * with the accumulated gradient's initial value added to S. Shapes: the GAN's 128 -> 128 layers
 * at 4x4, 8x8, 16x16 and 32x32 and their 1x1 shortcuts, non-square planes (rows of 16 and of 8, 2 and 1 positions:
 * vectors spanning rows), 8 and 24 channels, batch 1 and 3. Contracts: dweight and dbias
 * accumulate, dinp overwrites (a second backward doubles the first's parameter gradients and
 * leaves dinp); the same bits with 1, 2 and 3 threads; a sample's forward and backward-data bits
 * do not depend on the batch it runs in; the table entries take these loops where
 * gb_conv2d_uses_small_planes says. On a CPU without AVX-512F the loops are never taken, and
 * every test but the rule's is skipped.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/kernels.h"
#include "tests/gradcheck.h"

#define U GC_U32

static gb_device dev;
static void open_cpu(void) { cr_assert_eq(gb_device_open(&dev, "cpu", 2), GB_OK, "%s", gb_last_error()); }
static void close_cpu(void) { gb_device_close(&dev); }
TestSuite(conv2d_small_planes, .init = open_cpu, .fini = close_cpu);

static gb_conv_shape shape(int n, int c, int h, int w, int m) {
    return (gb_conv_shape){.batch = n, .in_channels = c, .in_height = h, .in_width = w, .out_channels = m,
                           .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1};
}

/* the 1x1 convs the tiles take too (read in place, no padding) */
static gb_conv_shape pointwise(int n, int c, int h, int w, int m) {
    gb_conv_shape s = shape(n, c, h, w, m);
    s.kernel_h = s.kernel_w = 1, s.pad_h = s.pad_w = 0;
    return s;
}

/* the same with a kh x kw kernel and "same" padding (the forward's other kernels) */
static gb_conv_shape kernel(int n, int c, int h, int w, int m, int kh, int kw) {
    gb_conv_shape s = shape(n, c, h, w, m);
    s.kernel_h = kh, s.kernel_w = kw, s.pad_h = kh / 2, s.pad_w = kw / 2;
    return s;
}

static void require_avx512(void) {
    gb_conv_shape s = shape(1, 8, 4, 4, 8);
    if (!gb_conv2d_uses_small_planes(&s)) cr_skip_test("no AVX-512F on this CPU: the GEMM lowering runs these convs");
}

static size_t plane_of(const gb_conv_shape *s) { return (size_t)s->in_height * s->in_width; }
static size_t inputs_of(const gb_conv_shape *s) { return (size_t)s->batch * s->in_channels * plane_of(s); }
static size_t outputs_of(const gb_conv_shape *s) { return (size_t)s->batch * s->out_channels * plane_of(s); }
static size_t taps_of(const gb_conv_shape *s) { return (size_t)s->kernel_h * s->kernel_w; }
static size_t weights_of(const gb_conv_shape *s) { return (size_t)s->out_channels * s->in_channels * taps_of(s); }

/* x[n][c] at (y, x), 0 outside the plane */
static double at(const gb_conv_shape *s, const float *t, int channels, int n, int c, int y, int x) {
    if (y < 0 || y >= s->in_height || x < 0 || x >= s->in_width) return 0.0;
    return t[(((size_t)n * channels + c) * s->in_height + y) * s->in_width + x];
}
static double wt(const gb_conv_shape *s, const float *w, int m, int c, int i, int j) {
    return w[(((size_t)m * s->in_channels + c) * s->kernel_h + i) * s->kernel_w + j];
}

/* float64 forward on the values (ab 0) or on their magnitudes (ab 1: the scale S) */
static void ref_forward(const gb_conv_shape *s, const float *x, const float *w, const float *b, int ab, double *out) {
    for (int n = 0; n < s->batch; n++)
        for (int m = 0; m < s->out_channels; m++)
            for (int y = 0; y < s->in_height; y++)
                for (int xo = 0; xo < s->in_width; xo++) {
                    double acc = b ? (ab ? fabs(b[m]) : b[m]) : 0.0;
                    for (int c = 0; c < s->in_channels; c++)
                        for (int i = 0; i < s->kernel_h; i++)
                            for (int j = 0; j < s->kernel_w; j++) {
                                double p = wt(s, w, m, c, i, j) *
                                           at(s, x, s->in_channels, n, c, y + i - s->pad_h, xo + j - s->pad_w);
                                acc += ab ? fabs(p) : p;
                            }
                    out[(((size_t)n * s->out_channels + m) * s->in_height + y) * s->in_width + xo] = acc;
                }
}

/* dinp[n][c][y][x] = sum over m, i, j of w[m][c][i][j] dout[n][m][y - i + 1][x - j + 1] */
static void ref_dinp(const gb_conv_shape *s, const float *d, const float *w, int ab, double *out) {
    for (int n = 0; n < s->batch; n++)
        for (int c = 0; c < s->in_channels; c++)
            for (int y = 0; y < s->in_height; y++)
                for (int xi = 0; xi < s->in_width; xi++) {
                    double acc = 0.0;
                    for (int m = 0; m < s->out_channels; m++)
                        for (int i = 0; i < s->kernel_h; i++)
                            for (int j = 0; j < s->kernel_w; j++) {
                                double p = wt(s, w, m, c, i, j) *
                                           at(s, d, s->out_channels, n, m, y - i + s->pad_h, xi - j + s->pad_w);
                                acc += ab ? fabs(p) : p;
                            }
                    out[(((size_t)n * s->in_channels + c) * s->in_height + y) * s->in_width + xi] = acc;
                }
}

/* dweight[m][c][i][j] = sum over n, y, x of dout[n][m][y][x] inp[n][c][y + i - 1][x + j - 1] */
static void ref_dweight(const gb_conv_shape *s, const float *d, const float *x, int ab, double *out) {
    for (int m = 0; m < s->out_channels; m++)
        for (int c = 0; c < s->in_channels; c++)
            for (int i = 0; i < s->kernel_h; i++)
                for (int j = 0; j < s->kernel_w; j++) {
                    double acc = 0.0;
                    for (int n = 0; n < s->batch; n++)
                        for (int y = 0; y < s->in_height; y++)
                            for (int xo = 0; xo < s->in_width; xo++) {
                                double p = at(s, d, s->out_channels, n, m, y, xo) *
                                           at(s, x, s->in_channels, n, c, y + i - s->pad_h, xo + j - s->pad_w);
                                acc += ab ? fabs(p) : p;
                            }
                    out[(((size_t)m * s->in_channels + c) * s->kernel_h + i) * s->kernel_w + j] = acc;
                }
}

static void expect_within(const char *what, const gb_conv_shape *s, const float *got, const double *ref,
                          const double *scale, const float *initial, size_t count, double terms) {
    for (size_t i = 0; i < count; i++) {
        double base = initial ? initial[i] : 0.0, sc = scale[i] + (initial ? fabs(initial[i]) : 0.0);
        cr_assert(fabs(got[i] - (base + ref[i])) <= (terms + 2) * U * sc,
                  "%s, %d -> %d at %dx%d batch %d: [%zu] %.9g vs %.9g (bound %.3g)", what, s->in_channels,
                  s->out_channels, s->in_height, s->in_width, s->batch, i, got[i], base + ref[i], (terms + 2) * U * sc);
    }
}

/* The forward against float64, with and without bias; out is poisoned first, so an output the
 * loops never write (a masked tail lane too many) fails. */
static void check_forward(const gb_conv_shape *s, const float *x, const float *w, const float *b, float *out,
                          double *ref, double *scale) {
    const size_t no = outputs_of(s);
    for (size_t i = 0; i < no; i++) out[i] = NAN;
    gb_conv2d_forward_small_planes_cpu(&dev, out, x, w, b, s);
    ref_forward(s, x, w, b, 0, ref);
    ref_forward(s, x, w, b, 1, scale);
    const double taps = (double)taps_of(s);
    expect_within("forward", s, out, ref, scale, NULL, no, (double)s->in_channels * taps + 1);
    gb_conv2d_forward_small_planes_cpu(&dev, out, x, w, NULL, s); /* without bias */
    ref_forward(s, x, w, NULL, 0, ref);
    ref_forward(s, x, w, NULL, 1, scale);
    expect_within("forward without bias", s, out, ref, scale, NULL, no, (double)s->in_channels * taps);
}

static void check_against_float64(gb_conv_shape shape_value, uint64_t seed) {
    const gb_conv_shape *s = &shape_value;
    cr_assert(gb_conv2d_uses_small_planes(s), "seed %llu: the shape must be one the loops take", (unsigned long long)seed);
    const size_t ni = inputs_of(s), no = outputs_of(s), nw = weights_of(s), M = (size_t)s->out_channels;
    gc_seed_rng(seed);
    float *x = gc_rand(ni, -1, 1), *w = gc_rand(nw, -1, 1), *b = gc_rand(M, -1, 1), *d = gc_rand(no, -1, 1);
    float *out = gc_falloc(no), *dx = gc_falloc(ni), *dw0 = gc_rand(nw, -1, 1), *db0 = gc_rand(M, -1, 1);
    float *dw = gc_falloc(nw), *db = gc_falloc(M);
    memcpy(dw, dw0, nw * sizeof *dw);
    memcpy(db, db0, M * sizeof *db);
    double *ref = gc_dalloc(ni > no ? (ni > nw ? ni : nw) : (no > nw ? no : nw));
    double *scale = gc_dalloc(ni > no ? (ni > nw ? ni : nw) : (no > nw ? no : nw));
    const double taps = (double)taps_of(s);

    check_forward(s, x, w, b, out, ref, scale);
    gb_conv2d_backward_small_planes_cpu(&dev, dx, dw, db, d, x, w, s);
    ref_dinp(s, d, w, 0, ref);
    ref_dinp(s, d, w, 1, scale);
    expect_within("backward-data", s, dx, ref, scale, NULL, ni, (double)s->out_channels * taps);
    ref_dweight(s, d, x, 0, ref);
    ref_dweight(s, d, x, 1, scale);
    expect_within("backward-weight (accumulated)", s, dw, ref, scale, dw0, nw, (double)s->batch * plane_of(s));
    for (size_t m = 0; m < M; m++) {
        double sum = 0.0, abs_sum = 0.0;
        for (int n = 0; n < s->batch; n++)
            for (size_t q = 0; q < plane_of(s); q++) {
                double v = d[((size_t)n * M + m) * plane_of(s) + q];
                sum += v, abs_sum += fabs(v);
            }
        ref[m] = sum, scale[m] = abs_sum;
    }
    expect_within("bias gradient (accumulated)", s, db, ref, scale, db0, M, (double)s->batch * plane_of(s));
    free(x), free(w), free(b), free(d), free(out), free(dx), free(dw0), free(db0), free(dw), free(db), free(ref),
        free(scale);
}

Test(conv2d_small_planes, gan_layers, .timeout = 120) {
    require_avx512();
    check_against_float64(shape(2, 128, 4, 4, 128), 1);
    check_against_float64(shape(2, 128, 8, 8, 128), 2);
    check_against_float64(shape(1, 128, 16, 16, 128), 3);
    check_against_float64(shape(1, 16, 32, 32, 24), 4); /* 32-wide rows: two vectors each */
    check_against_float64(pointwise(2, 128, 4, 4, 128), 10); /* the generator's 1x1 shortcuts */
    check_against_float64(pointwise(3, 128, 8, 8, 128), 11);
    check_against_float64(pointwise(1, 128, 16, 16, 128), 12);
    check_against_float64(pointwise(2, 136, 5, 16, 24), 13); /* 136 inputs: blocks of 72 and 64 */
}

Test(conv2d_small_planes, awkward_shapes) {
    require_avx512();
    check_against_float64(shape(3, 8, 5, 16, 16), 5);  /* non-square, 5 rows */
    check_against_float64(shape(1, 24, 6, 8, 8), 6);   /* 8-wide rows, 3 vectors */
    check_against_float64(shape(2, 8, 8, 2, 24), 7);   /* 2-wide rows: 8 rows in a vector */
    check_against_float64(shape(1, 16, 16, 1, 8), 8);  /* a column: 1-wide rows */
    check_against_float64(shape(2, 40, 12, 4, 16), 9); /* 40 channels: 5 blocks of 8 */
}

/* The forward on planes whose rows straddle vectors and that end in a partial vector, and with
 * the other kernels (gb_conv2d_uses_small_planes_forward): Inception's 35x35 and 147-wide rows,
 * mnist-gan's 14x14, a plane smaller than one vector, a single row, odd sizes; Inception's 1x7
 * and 7x1 at 17x17 and 5x5 at 35x35, kernels wider or taller than the plane, 5x5 on whole
 * vectors. */
Test(conv2d_small_planes, forward_any_plane, .timeout = 120) {
    require_avx512();
    const gb_conv_shape shapes[] = {shape(2, 16, 35, 35, 24),          shape(1, 32, 5, 147, 16),
                                    shape(2, 32, 14, 14, 16),          shape(3, 8, 17, 17, 8),
                                    shape(2, 24, 5, 7, 16),            shape(1, 8, 1, 3, 8),
                                    shape(2, 8, 3, 1, 16),             shape(1, 80, 9, 11, 8),
                                    kernel(2, 16, 17, 17, 24, 1, 7),   kernel(2, 24, 17, 17, 16, 7, 1),
                                    kernel(1, 48, 35, 35, 16, 5, 5),   kernel(2, 8, 3, 5, 8, 7, 1),
                                    kernel(1, 8, 2, 3, 16, 1, 7),      kernel(1, 16, 4, 2, 8, 5, 5),
                                    kernel(2, 16, 8, 8, 8, 5, 5),      kernel(1, 88, 6, 9, 8, 1, 7)};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const gb_conv_shape *s = &shapes[k];
        /* 3x3: both directions take the tiles; the other kernels the forward alone */
        int k3 = s->kernel_h == 3 && s->kernel_w == 3;
        cr_assert(gb_conv2d_uses_small_planes_forward(s) && gb_conv2d_uses_small_planes(s) == k3, "shape %zu", k);
        const size_t ni = inputs_of(s), no = outputs_of(s), nw = weights_of(s);
        gc_seed_rng(60 + k);
        float *x = gc_rand(ni, -1, 1), *w = gc_rand(nw, -1, 1), *b = gc_rand((size_t)s->out_channels, -1, 1);
        float *out = gc_falloc(no);
        double *ref = gc_dalloc(no), *scale = gc_dalloc(no);
        check_forward(s, x, w, b, out, ref, scale);
        free(x), free(w), free(b), free(out), free(ref), free(scale);
    }
}

/* On such planes and kernels too (1x7 here), a sample's forward is its own (batch 1 gives the bits of batch 3), any
 * thread count gives the same bits, and the table's forward entry takes the loops while its
 * backward stays lowered. */
Test(conv2d_small_planes, forward_any_plane_bits) {
    require_avx512();
    gb_conv_shape s = kernel(3, 16, 13, 21, 16, 1, 7), one = kernel(1, 16, 13, 21, 16, 1, 7);
    const size_t ni = inputs_of(&s), no = outputs_of(&s), nw = weights_of(&s), in1 = inputs_of(&one),
                 out1 = outputs_of(&one);
    gc_seed_rng(71);
    float *x = gc_rand(ni, -1, 1), *w = gc_rand(nw, -1, 1), *b = gc_rand(16, -1, 1);
    float *out = gc_falloc(no), *o1 = gc_falloc(out1), *other = gc_falloc(no), *table = gc_falloc(no);
    gb_conv2d_forward_small_planes_cpu(&dev, out, x, w, b, &s);
    for (int n = 0; n < 3; n++) {
        gb_conv2d_forward_small_planes_cpu(&dev, o1, x + n * in1, w, b, &one);
        cr_expect(memcmp(o1, out + n * out1, out1 * sizeof(float)) == 0, "sample %d's forward depends on the batch", n);
    }
    for (int t = 1; t <= 3; t += 2) {
        gb_device dv;
        cr_assert_eq(gb_device_open(&dv, "cpu", t), GB_OK, "%s", gb_last_error());
        gb_conv2d_forward_small_planes_cpu(&dv, other, x, w, b, &s);
        gb_device_close(&dv);
        cr_expect(memcmp(other, out, no * sizeof(float)) == 0, "forward with %d threads differs", t);
    }
    gb_conv2d_forward(&dev, table, x, w, b, &s);
    cr_expect(memcmp(table, out, no * sizeof(float)) == 0, "the forward table entry did not take the tiles");
    cr_expect(!gb_conv2d_uses_small_planes(&s), "the backward keeps the lowering on this plane");
    free(x), free(w), free(b), free(out), free(o1), free(other), free(table);
}

/* Both backward passes of 3x3 convs on planes whose rows straddle vectors and that end in a
 * partial vector (mnist-gan's generator at 14x14 and 28x28, Inception-sized 35x35, odd sizes,
 * planes smaller than a vector), against float64 like the GAN layers. */
Test(conv2d_small_planes, backward_any_plane, .timeout = 120) {
    require_avx512();
    check_against_float64(shape(2, 32, 14, 14, 16), 81);
    check_against_float64(shape(1, 16, 28, 28, 8), 82);
    check_against_float64(shape(1, 16, 35, 35, 24), 83);
    check_against_float64(shape(3, 8, 5, 7, 16), 84);
    check_against_float64(shape(2, 8, 1, 3, 8), 85);
    check_against_float64(shape(2, 24, 3, 1, 16), 86);
    check_against_float64(shape(1, 16, 12, 12, 16), 87);
}

/* dinp overwrites, dweight and dbias accumulate: a second backward leaves dinp and doubles the
 * parameter gradients (each pass adds the same bits to a buffer that started at 0). */
Test(conv2d_small_planes, gradient_contract) {
    require_avx512();
    gb_conv_shape s = shape(2, 16, 8, 8, 24);
    const size_t ni = inputs_of(&s), no = outputs_of(&s), nw = weights_of(&s);
    gc_seed_rng(21);
    float *x = gc_rand(ni, -1, 1), *w = gc_rand(nw, -1, 1), *d = gc_rand(no, -1, 1);
    float *dx1 = gc_falloc(ni), *dx2 = gc_falloc(ni), *dw = gc_falloc(nw), *db = gc_falloc(24);
    float *dw1 = gc_falloc(nw), *db1 = gc_falloc(24);
    memset(dw, 0, nw * sizeof *dw), memset(db, 0, 24 * sizeof *db);
    gb_conv2d_backward_small_planes_cpu(&dev, dx1, dw, db, d, x, w, &s);
    memcpy(dw1, dw, nw * sizeof *dw), memcpy(db1, db, 24 * sizeof *db);
    gb_conv2d_backward_small_planes_cpu(&dev, dx2, dw, db, d, x, w, &s);
    cr_expect(memcmp(dx1, dx2, ni * sizeof *dx1) == 0, "dinp must be overwritten, not accumulated");
    for (size_t i = 0; i < nw; i++) cr_assert_eq(dw[i], 2.0f * dw1[i], "dweight[%zu] did not double", i);
    for (size_t i = 0; i < 24; i++) cr_assert_eq(db[i], 2.0f * db1[i], "dbias[%zu] did not double", i);
    free(x), free(w), free(d), free(dx1), free(dx2), free(dw), free(db), free(dw1), free(db1);
}

/* Every result is formed by one slice in a fixed order: the same bits with 1, 2 and 3 threads. */
Test(conv2d_small_planes, bits_independent_of_thread_count) {
    require_avx512();
    gb_conv_shape s = shape(3, 24, 16, 16, 16);
    const size_t ni = inputs_of(&s), no = outputs_of(&s), nw = weights_of(&s);
    gc_seed_rng(31);
    float *x = gc_rand(ni, -1, 1), *w = gc_rand(nw, -1, 1), *b = gc_rand(16, -1, 1), *d = gc_rand(no, -1, 1);
    float *out[3], *dx[3], *dw[3];
    for (int t = 0; t < 3; t++) {
        gb_device dv;
        cr_assert_eq(gb_device_open(&dv, "cpu", t + 1), GB_OK, "%s", gb_last_error());
        out[t] = gc_falloc(no), dx[t] = gc_falloc(ni), dw[t] = gc_falloc(nw);
        memset(dw[t], 0, nw * sizeof(float));
        gb_conv2d_forward_small_planes_cpu(&dv, out[t], x, w, b, &s);
        gb_conv2d_backward_small_planes_cpu(&dv, dx[t], dw[t], NULL, d, x, w, &s);
        gb_device_close(&dv);
    }
    for (int t = 1; t < 3; t++) {
        cr_expect(memcmp(out[t], out[0], no * sizeof(float)) == 0, "forward with %d threads differs", t + 1);
        cr_expect(memcmp(dx[t], dx[0], ni * sizeof(float)) == 0, "backward-data with %d threads differs", t + 1);
        cr_expect(memcmp(dw[t], dw[0], nw * sizeof(float)) == 0, "backward-weight with %d threads differs", t + 1);
    }
    for (int t = 0; t < 3; t++) free(out[t]), free(dx[t]), free(dw[t]);
    free(x), free(w), free(b), free(d);
}

/* A sample's forward and backward-data depend on that sample only: run alone (batch 1) it gives
 * the bits it gets inside a batch of 3 (FID features and chunked evaluation rely on this). */
Test(conv2d_small_planes, sample_bits_independent_of_batch) {
    require_avx512();
    gb_conv_shape s = shape(3, 16, 8, 8, 8), one = shape(1, 16, 8, 8, 8);
    const size_t ni = inputs_of(&s), no = outputs_of(&s), nw = weights_of(&s);
    const size_t in1 = inputs_of(&one), out1 = outputs_of(&one);
    gc_seed_rng(41);
    float *x = gc_rand(ni, -1, 1), *w = gc_rand(nw, -1, 1), *b = gc_rand(8, -1, 1), *d = gc_rand(no, -1, 1);
    float *out = gc_falloc(no), *dx = gc_falloc(ni), *o1 = gc_falloc(out1), *dx1 = gc_falloc(in1);
    gb_conv2d_forward_small_planes_cpu(&dev, out, x, w, b, &s);
    gb_conv2d_backward_small_planes_cpu(&dev, dx, NULL, NULL, d, x, w, &s);
    for (int n = 0; n < 3; n++) {
        gb_conv2d_forward_small_planes_cpu(&dev, o1, x + n * in1, w, b, &one);
        gb_conv2d_backward_small_planes_cpu(&dev, dx1, NULL, NULL, d + n * out1, x + n * in1, w, &one);
        cr_expect(memcmp(o1, out + n * out1, out1 * sizeof(float)) == 0, "sample %d's forward depends on the batch", n);
        cr_expect(memcmp(dx1, dx + n * in1, in1 * sizeof(float)) == 0, "sample %d's dinp depends on the batch", n);
    }
    free(x), free(w), free(b), free(d), free(out), free(dx), free(o1), free(dx1);
}

/* The rule, and the table entries: the shapes it names come here (same bits as calling the loops),
 * forward and backward. */
Test(conv2d_small_planes, dispatch_rule) {
    gb_conv_shape gan = shape(2, 128, 16, 16, 128), odd_channels = shape(2, 12, 16, 16, 16);
    gb_conv_shape wide12 = shape(2, 16, 12, 12, 16), strided = gan, k5 = gan, unpadded = gan;
    gb_conv_shape point_odd = pointwise(2, 16, 3, 5, 16), point_padded = pointwise(2, 16, 8, 8, 16);
    point_padded.pad_h = point_padded.pad_w = 1;
    strided.stride_h = strided.stride_w = 2;
    k5.kernel_h = k5.kernel_w = 5, k5.pad_h = k5.pad_w = 2;
    unpadded.pad_h = unpadded.pad_w = 0;
    cr_assert(!gb_conv2d_uses_small_planes(&odd_channels), "12 input channels: not a multiple of 8");
    cr_assert(gb_conv2d_uses_small_planes(&wide12) == gb_conv2d_uses_small_planes(&gan),
              "12-wide rows straddle vectors, and take the tiles wherever the GAN layer does");
    cr_assert(!gb_conv2d_uses_small_planes_forward(&odd_channels) && !gb_conv2d_uses_small_planes_forward(&strided) &&
              !gb_conv2d_uses_small_planes_forward(&unpadded) && !gb_conv2d_uses_small_planes_forward(&point_odd),
              "the forward's rule widens only the planes of the padded kernels");
    gb_conv_shape k1x3 = kernel(2, 16, 8, 8, 16, 1, 3), k7_unpadded = kernel(2, 16, 8, 8, 16, 1, 7);
    k7_unpadded.pad_w = 0;
    cr_assert(!gb_conv2d_uses_small_planes_forward(&k1x3), "1x3: not a kernel the loops are compiled for");
    cr_assert(!gb_conv2d_uses_small_planes_forward(&k7_unpadded), "1x7 without its 'same' padding");
    require_avx512();
    cr_assert(gb_conv2d_uses_small_planes_forward(&k5) && !gb_conv2d_uses_small_planes(&k5),
              "a 5x5 'same' conv: forward tiles, backward lowered");
    cr_assert(!gb_conv2d_uses_small_planes(&strided) && !gb_conv2d_uses_small_planes(&k5) &&
              !gb_conv2d_uses_small_planes(&unpadded));
    gb_conv_shape wide_channels = shape(8, 384, 8, 8, 384), wide_plane = shape(1, 16, 8, 48, 16);
    (void)wide_plane;
    cr_assert(!gb_conv2d_uses_small_planes(&wide_channels) && !gb_conv2d_uses_small_planes_forward(&wide_channels),
              "384 channels: the lowering's GEMM is as fast");
    gb_conv_shape huge = shape(1, 16, 161, 160, 16);
    cr_assert(!gb_conv2d_uses_small_planes_forward(&huge), "a plane beyond the measured sizes");
    cr_assert(!gb_conv2d_uses_small_planes(&point_odd), "1x1 over 15 positions: not whole vectors");
    cr_assert(!gb_conv2d_uses_small_planes(&point_padded), "a padded 1x1 conv");
    require_avx512();
    cr_assert(gb_conv2d_uses_small_planes(&gan), "the GAN's 128 -> 128 layer at 16x16");
    const size_t ni = inputs_of(&gan), no = outputs_of(&gan), nw = weights_of(&gan);
    gc_seed_rng(51);
    float *x = gc_rand(ni, -1, 1), *w = gc_rand(nw, -1, 1), *b = gc_rand(128, -1, 1), *d = gc_rand(no, -1, 1);
    float *a = gc_falloc(no), *c = gc_falloc(no), *dxa = gc_falloc(ni), *dxc = gc_falloc(ni);
    float *dwa = gc_falloc(nw), *dwc = gc_falloc(nw);
    memset(dwa, 0, nw * sizeof(float)), memset(dwc, 0, nw * sizeof(float));
    gb_conv2d_forward(&dev, a, x, w, b, &gan);
    gb_conv2d_forward_small_planes_cpu(&dev, c, x, w, b, &gan);
    cr_expect(memcmp(a, c, no * sizeof(float)) == 0, "the forward table entry did not take the tiles");
    gb_conv2d_backward(&dev, dxa, dwa, NULL, d, x, w, &gan);
    gb_conv2d_backward_small_planes_cpu(&dev, dxc, dwc, NULL, d, x, w, &gan);
    cr_expect(memcmp(dxa, dxc, ni * sizeof(float)) == 0 && memcmp(dwa, dwc, nw * sizeof(float)) == 0,
              "the backward table entry did not take the tiles");
    free(x), free(w), free(b), free(d), free(a), free(c), free(dxa), free(dxc), free(dwa), free(dwc);
}

/* The backward-data alone for 1x1 convs with any input count (the critic's 3 -> 128 shortcut):
 * the tiles' outputs end in a partial block. Against float64, and through the table entry, whose
 * dweight and dbias stay the GEMM lowering's (same bits) and whose dinp is these tiles'. */
Test(conv2d_small_planes, pointwise_backward_data_any_inputs) {
    gb_conv_shape rgb = pointwise(2, 3, 16, 16, 128);
    gb_conv_shape padded = rgb;
    padded.pad_h = padded.pad_w = 1;
    cr_assert(!gb_conv2d_uses_small_planes_data(&padded), "a padded 1x1 conv");
    require_avx512();
    const gb_conv_shape shapes[] = {rgb, pointwise(1, 5, 4, 4, 16), pointwise(2, 13, 8, 8, 8)};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const gb_conv_shape *s = &shapes[k];
        cr_assert(gb_conv2d_uses_small_planes_data(s) && !gb_conv2d_uses_small_planes(s), "shape %zu", k);
        const size_t ni = inputs_of(s), no = outputs_of(s), nw = weights_of(s), M = (size_t)s->out_channels;
        gc_seed_rng(70 + k);
        float *x = gc_rand(ni, -1, 1), *w = gc_rand(nw, -1, 1), *d = gc_rand(no, -1, 1);
        float *dx = gc_falloc(ni), *dxt = gc_falloc(ni), *dwt = gc_falloc(nw), *dwg = gc_falloc(nw);
        float *dbt = gc_falloc(M), *dbg = gc_falloc(M);
        double *ref = gc_dalloc(ni), *scale = gc_dalloc(ni);
        gb_conv2d_backward_data_small_planes_cpu(&dev, dx, d, w, s);
        ref_dinp(s, d, w, 0, ref);
        ref_dinp(s, d, w, 1, scale);
        expect_within("1x1 backward-data", s, dx, ref, scale, NULL, ni, (double)M);
        memset(dwt, 0, nw * sizeof(float)), memset(dwg, 0, nw * sizeof(float));
        memset(dbt, 0, M * sizeof(float)), memset(dbg, 0, M * sizeof(float));
        gb_conv2d_backward(&dev, dxt, dwt, dbt, d, x, w, s);
        gb_conv2d_backward_gemm_cpu(&dev, NULL, dwg, dbg, d, x, w, s);
        cr_expect(memcmp(dxt, dx, ni * sizeof(float)) == 0, "shape %zu: the table's dinp is not the tiles'", k);
        cr_expect(memcmp(dwt, dwg, nw * sizeof(float)) == 0 && memcmp(dbt, dbg, M * sizeof(float)) == 0,
                  "shape %zu: the table's dweight / dbias are not the GEMM lowering's", k);
        free(x), free(w), free(d), free(dx), free(dxt), free(dwt), free(dwg), free(dbt), free(dbg), free(ref), free(scale);
    }
}
