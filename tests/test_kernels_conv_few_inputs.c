/* tests/test_kernels_conv_few_inputs.c - the register-blocked conv2d forward for few input
 * channels (kernels/cpu/conv_few_inputs.c) against float64, the direct loops and its contracts.
 *
 * References: a float64 loop over the definition of conv2d, written here, and S, the same sum on
 * absolute values; the bound is the conv2d forward row of tests/tolerances.md "convolution".
 * Shapes: the critic's RGB layers (3 -> 128 3x3 p1 at 32x32, 1x1 3 -> 128 at 16x16), a partial
 * output block (13 outputs: 8 + 5), rows that are not a multiple of the 16-lane vector (21 and
 * 17 wide: the last vector overlaps the one before), non-square images, batch 1, 1 input
 * channel, asymmetric, even and 7x7 kernels, pad > k/2. Also: the same bits as the direct loops of kernels/cpu/conv_direct.c
 * (whose summation order it follows) where both apply, with and without bias; the same bits with
 * 1, 2 and 3 threads; and the table entry's dispatch (gb_conv2d_uses_few_inputs).
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
TestSuite(conv2d_few_inputs, .init = open_cpu, .fini = close_cpu);

static gb_conv_shape shape(int n, int c, int h, int w, int m, int kh, int kw, int ph, int pw) {
    return (gb_conv_shape){.batch = n, .in_channels = c, .in_height = h, .in_width = w, .out_channels = m,
                           .kernel_h = kh, .kernel_w = kw, .stride_h = 1, .stride_w = 1, .pad_h = ph, .pad_w = pw};
}

static size_t inputs_of(const gb_conv_shape *s) {
    return (size_t)s->batch * s->in_channels * s->in_height * s->in_width;
}
static size_t weights_of(const gb_conv_shape *s) {
    return (size_t)s->out_channels * s->in_channels * s->kernel_h * s->kernel_w;
}
static size_t outputs_of(const gb_conv_shape *s) {
    return (size_t)s->batch * s->out_channels * gb_conv_out_h(s) * gb_conv_out_w(s);
}

/* float64 conv2d on the values (ab = 0) or on their magnitudes (ab = 1, the scale S). */
static void reference(const gb_conv_shape *s, const float *x, const float *w, const float *b, int ab, double *out) {
    const int oh = gb_conv_out_h(s), ow = gb_conv_out_w(s);
    for (int n = 0; n < s->batch; n++)
        for (int m = 0; m < s->out_channels; m++)
            for (int y = 0; y < oh; y++)
                for (int xo = 0; xo < ow; xo++) {
                    double acc = ab ? fabs(b[m]) : b[m];
                    for (int c = 0; c < s->in_channels; c++)
                        for (int i = 0; i < s->kernel_h; i++)
                            for (int j = 0; j < s->kernel_w; j++) {
                                int iy = y + i - s->pad_h, ix = xo + j - s->pad_w;
                                if (iy < 0 || iy >= s->in_height || ix < 0 || ix >= s->in_width) continue;
                                double xv = x[(((size_t)n * s->in_channels + c) * s->in_height + iy) * s->in_width + ix];
                                double wv = w[(((size_t)m * s->in_channels + c) * s->kernel_h + i) * s->kernel_w + j];
                                acc += ab ? fabs(wv) * fabs(xv) : wv * xv;
                            }
                    out[(((size_t)n * s->out_channels + m) * oh + y) * ow + xo] = acc;
                }
}

static void check_against_float64(const gb_conv_shape *s, uint64_t seed) {
    cr_assert(gb_conv2d_uses_few_inputs(s), "seed %llu: the shape must be one the loops take", (unsigned long long)seed);
    size_t no = outputs_of(s);
    gc_seed_rng(seed);
    float *x = gc_rand(inputs_of(s), -1, 1), *w = gc_rand(weights_of(s), -1, 1);
    float *b = gc_rand((size_t)s->out_channels, -1, 1), *out = gc_falloc(no);
    double *ref = gc_dalloc(no), *scale = gc_dalloc(no);
    gb_conv2d_forward_few_inputs_cpu(&dev, out, x, w, b, s);
    reference(s, x, w, b, 0, ref);
    reference(s, x, w, b, 1, scale);
    const int terms = s->in_channels * s->kernel_h * s->kernel_w;
    for (size_t i = 0; i < no; i++)
        cr_assert(fabs(out[i] - ref[i]) <= (terms + 2) * U * scale[i], "seed %llu out[%zu] %.9g vs %.9g",
                  (unsigned long long)seed, i, out[i], ref[i]);
    free(x), free(w), free(b), free(out), free(ref), free(scale);
}

Test(conv2d_few_inputs, critic_rgb_layers) {
    gb_conv_shape first = shape(2, 3, 32, 32, 128, 3, 3, 1, 1), shortcut = shape(3, 3, 16, 16, 128, 1, 1, 0, 0);
    check_against_float64(&first, 1);
    check_against_float64(&shortcut, 2);
}

Test(conv2d_few_inputs, awkward_shapes) {
    gb_conv_shape a = shape(1, 3, 19, 21, 13, 3, 3, 1, 1); /* 8 + 5 outputs, 21-wide rows: overlapping last vector */
    check_against_float64(&a, 3);
    gb_conv_shape b = shape(2, 1, 9, 17, 8, 3, 1, 1, 0); /* 1 input, 3x1, non-square */
    check_against_float64(&b, 4);
    gb_conv_shape c = shape(2, 4, 20, 18, 16, 5, 5, 2, 2);
    check_against_float64(&c, 5);
    gb_conv_shape d = shape(1, 2, 17, 17, 9, 2, 2, 0, 0); /* even kernel, no padding: 16 wide */
    check_against_float64(&d, 6);
    gb_conv_shape e = shape(2, 3, 16, 16, 8, 7, 7, 4, 4); /* 7x7, pad > k/2: 18 x 18 outputs */
    check_against_float64(&e, 7);
    gb_conv_shape f = shape(2, 3, 5, 7, 10, 1, 1, 0, 0); /* 1x1 over 35 positions: 3 vectors, the last overlapping */
    check_against_float64(&f, 8);
    gb_conv_shape g = shape(1, 2, 4, 20, 8, 1, 1, 1, 1); /* padded 1x1: read through padded planes */
    check_against_float64(&g, 9);
}

/* The loops follow the direct path's order (sum over c, then taps, of rounded products, + bias),
 * so where the direct path also applies (up to 8 outputs) the bits agree. */
Test(conv2d_few_inputs, same_bits_as_the_direct_loops) {
    const gb_conv_shape shapes[] = {shape(2, 3, 32, 32, 8, 3, 3, 1, 1), shape(1, 3, 19, 21, 8, 3, 3, 1, 1),
                                    shape(2, 2, 6, 35, 8, 1, 1, 0, 0), shape(1, 4, 11, 24, 8, 5, 3, 2, 1)};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const gb_conv_shape *s = &shapes[k];
        size_t no = outputs_of(s);
        gc_seed_rng(40 + k);
        float *x = gc_rand(inputs_of(s), -1, 1), *w = gc_rand(weights_of(s), -1, 1);
        float *b = gc_rand((size_t)s->out_channels, -1, 1), *ours = gc_falloc(no), *direct = gc_falloc(no);
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            gb_conv2d_forward_few_inputs_cpu(&dev, ours, x, w, with_bias ? b : NULL, s);
            gb_conv2d_forward_direct_cpu(&dev, direct, x, w, with_bias ? b : NULL, s);
            cr_expect(memcmp(ours, direct, no * sizeof *ours) == 0, "shape %zu (bias %d): bits differ from the direct loops",
                      k, with_bias);
        }
        free(x), free(w), free(b), free(ours), free(direct);
    }
}

Test(conv2d_few_inputs, bits_independent_of_thread_count) {
    gb_conv_shape s = shape(3, 3, 18, 20, 21, 3, 3, 1, 1);
    size_t no = outputs_of(&s);
    gc_seed_rng(51);
    float *x = gc_rand(inputs_of(&s), -1, 1), *w = gc_rand(weights_of(&s), -1, 1), *b = gc_rand(21, -1, 1);
    float *out[3];
    for (int t = 0; t < 3; t++) {
        gb_device d;
        cr_assert_eq(gb_device_open(&d, "cpu", t + 1), GB_OK, "%s", gb_last_error());
        out[t] = gc_falloc(no);
        gb_conv2d_forward_few_inputs_cpu(&d, out[t], x, w, b, &s);
        gb_device_close(&d);
    }
    for (int t = 1; t < 3; t++)
        cr_expect(memcmp(out[t], out[0], no * sizeof(float)) == 0, "forward with %d threads differs", t + 1);
    for (int t = 0; t < 3; t++) free(out[t]);
    free(x), free(w), free(b);
}

/* The table entry sends the shapes gb_conv2d_uses_few_inputs names here (same bits as calling the
 * loops) and the rest elsewhere. */
Test(conv2d_few_inputs, dispatch_rule) {
    gb_conv_shape rgb = shape(2, 3, 32, 32, 128, 3, 3, 1, 1);
    gb_conv_shape five = shape(2, 5, 32, 32, 128, 3, 3, 1, 1), few_out = shape(2, 3, 32, 32, 4, 3, 3, 1, 1);
    gb_conv_shape narrow = shape(2, 3, 8, 8, 128, 3, 3, 1, 1), strided = rgb;
    strided.stride_h = strided.stride_w = 2;
    cr_assert(gb_conv2d_uses_few_inputs(&rgb), "3 -> 128 3x3: the critic's first layer");
    cr_assert(!gb_conv2d_uses_few_inputs(&five), "5 inputs: more than the loops take");
    cr_assert(!gb_conv2d_uses_few_inputs(&few_out), "4 outputs: less than one output block");
    cr_assert(!gb_conv2d_uses_few_inputs(&narrow), "8-wide rows: less than one vector");
    cr_assert(!gb_conv2d_uses_few_inputs(&strided));
    size_t no = outputs_of(&rgb);
    gc_seed_rng(61);
    float *x = gc_rand(inputs_of(&rgb), -1, 1), *w = gc_rand(weights_of(&rgb), -1, 1), *b = gc_rand(128, -1, 1);
    float *a = gc_falloc(no), *c = gc_falloc(no);
    gb_conv2d_forward(&dev, a, x, w, b, &rgb);
    gb_conv2d_forward_few_inputs_cpu(&dev, c, x, w, b, &rgb);
    cr_assert(memcmp(a, c, no * sizeof(float)) == 0, "the table entry did not take the few-inputs loops");
    free(x), free(w), free(b), free(a), free(c);
}
