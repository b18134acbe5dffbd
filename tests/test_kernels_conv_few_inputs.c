/* tests/test_kernels_conv_few_inputs.c - the register-blocked conv2d forward and backward-data
 * for few input channels (kernels/cpu/conv_few_inputs.c) against float64, the direct loops and
 * its contracts.
 *
 * References: float64 loops over the definition of conv2d and its adjoint, written here, and S,
 * the same sums on absolute values; the bounds are the conv2d out and dinp rows of
 * tests/tolerances.md "convolution". Shapes: the critic's RGB layers (3 -> 128 3x3 p1 at 32x32,
 * 1x1 3 -> 128 at 16x16), a partial output block (13 outputs: 8 + 5), rows that are not a
 * multiple of the 16-lane vector (21 and 17 wide: the last vector overlaps the one before),
 * non-square images, batch 1, 1 input channel, asymmetric, even and 7x7 kernels, pad > k/2.
 * The 1x1 ones also check dinp (positions not a multiple of 16; 600 positions in chunks of 256
 * and 344). Also: the same bits as the direct loops of kernels/cpu/conv_direct.c (whose summation
 * orders they follow) where both apply, forward with and without bias and 1x1 dinp; the same bits
 * with 1, 2 and 3 threads; and the table entry's dispatch (gb_conv2d_uses_few_inputs, _dinp).
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

/* float64 conv2d and its adjoint on the values (ab = 0) or on their magnitudes (ab = 1, the
 * scale S): out from x, w, b; dx from w and g (the output gradient). */
static void reference(const gb_conv_shape *s, const float *x, const float *w, const float *b, const float *g, int ab,
                      double *out, double *dx) {
    const int oh = gb_conv_out_h(s), ow = gb_conv_out_w(s);
    memset(dx, 0, inputs_of(s) * sizeof *dx);
    for (int n = 0; n < s->batch; n++)
        for (int m = 0; m < s->out_channels; m++)
            for (int y = 0; y < oh; y++)
                for (int xo = 0; xo < ow; xo++) {
                    size_t oi = (((size_t)n * s->out_channels + m) * oh + y) * ow + xo;
                    double acc = ab ? fabs(b[m]) : b[m], gv = ab ? fabs(g[oi]) : g[oi];
                    for (int c = 0; c < s->in_channels; c++)
                        for (int i = 0; i < s->kernel_h; i++)
                            for (int j = 0; j < s->kernel_w; j++) {
                                int iy = y + i - s->pad_h, ix = xo + j - s->pad_w;
                                if (iy < 0 || iy >= s->in_height || ix < 0 || ix >= s->in_width) continue;
                                size_t ii = (((size_t)n * s->in_channels + c) * s->in_height + iy) * s->in_width + ix;
                                double xv = x[ii];
                                double wv = w[(((size_t)m * s->in_channels + c) * s->kernel_h + i) * s->kernel_w + j];
                                acc += ab ? fabs(wv) * fabs(xv) : wv * xv;
                                dx[ii] += ab ? fabs(wv) * gv : wv * gv;
                            }
                    out[oi] = acc;
                }
}

/* The forward against float64 and, where gb_conv2d_uses_few_inputs_dinp says (1x1), the
 * backward-data (the conv2d dinp bound: a sum over M per tap, then the taps). */
static void check_against_float64(const gb_conv_shape *s, uint64_t seed) {
    cr_assert(gb_conv2d_uses_few_inputs(s), "seed %llu: the shape must be one the loops take", (unsigned long long)seed);
    size_t no = outputs_of(s), ni = inputs_of(s);
    gc_seed_rng(seed);
    float *x = gc_rand(ni, -1, 1), *w = gc_rand(weights_of(s), -1, 1), *g = gc_rand(no, -1, 1);
    float *b = gc_rand((size_t)s->out_channels, -1, 1), *out = gc_falloc(no), *dx = gc_rand(ni, 5, 6);
    double *ref = gc_dalloc(no), *scale = gc_dalloc(no), *rdx = gc_dalloc(ni), *sdx = gc_dalloc(ni);
    gb_conv2d_forward_few_inputs_cpu(&dev, out, x, w, b, s);
    reference(s, x, w, b, g, 0, ref, rdx);
    reference(s, x, w, b, g, 1, scale, sdx);
    const int taps = s->kernel_h * s->kernel_w, terms = s->in_channels * taps;
    for (size_t i = 0; i < no; i++)
        cr_assert(fabs(out[i] - ref[i]) <= (terms + 2) * U * scale[i], "seed %llu out[%zu] %.9g vs %.9g",
                  (unsigned long long)seed, i, out[i], ref[i]);
    if (gb_conv2d_uses_few_inputs_dinp(s)) {
        gb_conv2d_backward_data_few_inputs_cpu(&dev, dx, g, w, s); /* overwrites the 5..6 garbage */
        for (size_t i = 0; i < ni; i++)
            cr_assert(fabs(dx[i] - rdx[i]) <= (s->out_channels + taps + 2) * U * sdx[i] + 1e-9,
                      "seed %llu dinp[%zu] %.9g vs %.9g", (unsigned long long)seed, i, dx[i], rdx[i]);
    }
    free(x), free(w), free(g), free(b), free(out), free(dx), free(ref), free(scale), free(rdx), free(sdx);
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
                                    shape(2, 2, 6, 35, 8, 1, 1, 0, 0), shape(1, 4, 11, 24, 8, 5, 3, 2, 1),
                                    shape(3, 3, 16, 16, 8, 1, 1, 0, 0), shape(1, 1, 300, 1, 8, 1, 1, 0, 0)};
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
        if (gb_conv2d_uses_few_inputs_dinp(s)) { /* the 1x1 shapes */
            size_t ni = inputs_of(s);
            float *g = gc_rand(no, -1, 1), *dx_ours = gc_falloc(ni), *dx_direct = gc_falloc(ni);
            gb_conv2d_backward_data_few_inputs_cpu(&dev, dx_ours, g, w, s);
            gb_conv2d_backward_direct_cpu(&dev, dx_direct, NULL, NULL, g, NULL, w, s);
            cr_expect(memcmp(dx_ours, dx_direct, ni * sizeof *dx_ours) == 0,
                      "shape %zu: dinp bits differ from the direct loops", k);
            free(g), free(dx_ours), free(dx_direct);
        }
        free(x), free(w), free(b), free(ours), free(direct);
    }
}

Test(conv2d_few_inputs, bits_independent_of_thread_count) {
    gb_conv_shape s = shape(3, 3, 18, 20, 21, 3, 3, 1, 1);
    size_t no = outputs_of(&s);
    gc_seed_rng(51);
    float *x = gc_rand(inputs_of(&s), -1, 1), *w = gc_rand(weights_of(&s), -1, 1), *b = gc_rand(21, -1, 1);
    /* dinp of a 1x1 conv over 3 samples of 600 positions: chunks of 256 + 344 (the last one with
     * an overlapping vector), cut differently by 1, 2 and 3 slices */
    gb_conv_shape p = shape(3, 3, 20, 30, 21, 1, 1, 0, 0);
    size_t np = outputs_of(&p), nx = inputs_of(&p);
    float *g = gc_rand(np, -1, 1), *wp = gc_rand(weights_of(&p), -1, 1), *out[3], *dx[3];
    for (int t = 0; t < 3; t++) {
        gb_device d;
        cr_assert_eq(gb_device_open(&d, "cpu", t + 1), GB_OK, "%s", gb_last_error());
        out[t] = gc_falloc(no), dx[t] = gc_falloc(nx);
        gb_conv2d_forward_few_inputs_cpu(&d, out[t], x, w, b, &s);
        gb_conv2d_backward_data_few_inputs_cpu(&d, dx[t], g, wp, &p);
        gb_device_close(&d);
    }
    for (int t = 1; t < 3; t++) {
        cr_expect(memcmp(out[t], out[0], no * sizeof(float)) == 0, "forward with %d threads differs", t + 1);
        cr_expect(memcmp(dx[t], dx[0], nx * sizeof(float)) == 0, "dinp with %d threads differs", t + 1);
    }
    for (int t = 0; t < 3; t++) free(out[t]), free(dx[t]);
    free(x), free(w), free(b), free(g), free(wp);
}

/* The table entry sends the shapes gb_conv2d_uses_few_inputs names here (same bits as calling the
 * loops) and the rest elsewhere; its backward takes dinp from the loops where
 * gb_conv2d_uses_few_inputs_dinp says and the weight and bias gradients from the GEMM path. */
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

    /* backward of the 1x1 shortcut: dinp from the loops, dweight and dbias from the GEMM path */
    gb_conv_shape shortcut = shape(2, 3, 16, 16, 128, 1, 1, 0, 0), padded_1x1 = shape(2, 3, 16, 16, 128, 1, 1, 1, 1);
    cr_assert(gb_conv2d_uses_few_inputs_dinp(&shortcut));
    cr_assert(!gb_conv2d_uses_few_inputs_dinp(&rgb), "3x3: dinp stays on the GEMM path");
    cr_assert(gb_conv2d_uses_few_inputs(&padded_1x1) && !gb_conv2d_uses_few_inputs_dinp(&padded_1x1),
              "a padded 1x1 is not read in place");
    size_t ni = inputs_of(&shortcut), nw = weights_of(&shortcut), ns = outputs_of(&shortcut);
    float *g = gc_rand(ns, -1, 1), *dx_table = gc_falloc(ni), *dx_loops = gc_falloc(ni);
    float *dw_table = calloc(nw, sizeof(float)), *dw_gemm = calloc(nw, sizeof(float));
    float *db_table = calloc(128, sizeof(float)), *db_gemm = calloc(128, sizeof(float));
    gb_conv2d_backward(&dev, dx_table, dw_table, db_table, g, x, w, &shortcut);
    gb_conv2d_backward_data_few_inputs_cpu(&dev, dx_loops, g, w, &shortcut);
    gb_conv2d_backward_gemm_cpu(&dev, NULL, dw_gemm, db_gemm, g, x, w, &shortcut);
    cr_assert(memcmp(dx_table, dx_loops, ni * sizeof(float)) == 0, "the table's dinp did not come from the loops");
    cr_assert(memcmp(dw_table, dw_gemm, nw * sizeof(float)) == 0, "the table's dweight is not the GEMM path's");
    cr_assert(memcmp(db_table, db_gemm, 128 * sizeof(float)) == 0, "the table's dbias is not the GEMM path's");
    free(x), free(w), free(b), free(a), free(c), free(g), free(dx_table), free(dx_loops);
    free(dw_table), free(dw_gemm), free(db_table), free(db_gemm);
}
