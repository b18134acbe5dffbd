/* tests/test_kernels_conv_direct.c - the direct-loop conv2d for few output channels
 * (kernels/cpu/conv_direct.c) against float64, the GEMM path and its contracts.
 *
 * References: float64 loops over the definition of conv2d (forward) and its adjoint (dinp,
 * dweight), written here; S, the same sums on absolute values. Shapes: the generator's last layer
 * (128 -> 3, 3x3, 32x32), MNIST GAN layers (1 -> 2 at 28x28, 8 -> 1), odd and non-square images,
 * batch 1, asymmetric kernels and padding (3x1 p(1,0), 5x5 p2, 2x2 p0), an output wider than the
 * input (pad > k/2), and M = 8 (the most the loops take). Bounds are the conv2d
 * bounds of tests/tolerances.md "convolution". Also: the gradient contract, the same bits with 1,
 * 2 and 3 threads, and the table entry's dispatch (gb_conv2d_uses_direct).
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
TestSuite(conv2d_direct, .init = open_cpu, .fini = close_cpu);

static gb_conv_shape shape(int n, int c, int h, int w, int m, int kh, int kw, int ph, int pw) {
    return (gb_conv_shape){.batch = n, .in_channels = c, .in_height = h, .in_width = w, .out_channels = m,
                           .kernel_h = kh, .kernel_w = kw, .stride_h = 1, .stride_w = 1, .pad_h = ph, .pad_w = pw};
}

typedef struct {
    size_t ni, nw, no;
    int oh, ow;
} counts;

static counts counts_of(const gb_conv_shape *s) {
    counts k = {.oh = gb_conv_out_h(s), .ow = gb_conv_out_w(s)};
    k.ni = (size_t)s->batch * s->in_channels * s->in_height * s->in_width;
    k.nw = (size_t)s->out_channels * s->in_channels * s->kernel_h * s->kernel_w;
    k.no = (size_t)s->batch * s->out_channels * k.oh * k.ow;
    return k;
}

/* One float64 pass over every (n, m, y, x, c, i, j) term: out, dinp, dweight and dbias, each
 * on the values (ab = 0) or on their magnitudes (ab = 1, the scale S). */
static void reference(const gb_conv_shape *s, const float *x, const float *w, const float *b, const float *g,
                      int ab, double *out, double *dx, double *dw, double *db) {
    counts k = counts_of(s);
    memset(out, 0, k.no * sizeof *out), memset(dx, 0, k.ni * sizeof *dx);
    memset(dw, 0, k.nw * sizeof *dw), memset(db, 0, (size_t)s->out_channels * sizeof *db);
    for (int n = 0; n < s->batch; n++)
        for (int m = 0; m < s->out_channels; m++)
            for (int y = 0; y < k.oh; y++)
                for (int xo = 0; xo < k.ow; xo++) {
                    size_t oi = (((size_t)n * s->out_channels + m) * k.oh + y) * k.ow + xo;
                    double gv = ab ? fabs(g[oi]) : g[oi];
                    double acc = ab ? fabs(b[m]) : b[m];
                    db[m] += gv;
                    for (int c = 0; c < s->in_channels; c++)
                        for (int i = 0; i < s->kernel_h; i++)
                            for (int j = 0; j < s->kernel_w; j++) {
                                int iy = y + i - s->pad_h, ix = xo + j - s->pad_w;
                                if (iy < 0 || iy >= s->in_height || ix < 0 || ix >= s->in_width) continue;
                                size_t ii = (((size_t)n * s->in_channels + c) * s->in_height + iy) * s->in_width + ix;
                                size_t wi = (((size_t)m * s->in_channels + c) * s->kernel_h + i) * s->kernel_w + j;
                                double xv = ab ? fabs(x[ii]) : x[ii], wv = ab ? fabs(w[wi]) : w[wi];
                                acc += wv * xv;
                                dx[ii] += wv * gv;
                                dw[wi] += gv * xv;
                            }
                    out[oi] = acc;
                }
}

static void check_against_float64(const gb_conv_shape *s, uint64_t seed) {
    counts k = counts_of(s);
    gc_seed_rng(seed);
    float *x = gc_rand(k.ni, -1, 1), *w = gc_rand(k.nw, -1, 1), *b = gc_rand((size_t)s->out_channels, -1, 1);
    float *g = gc_rand(k.no, -1, 1), *out = gc_falloc(k.no), *dx = gc_falloc(k.ni);
    float *dw = calloc(k.nw, sizeof(float)), *db = calloc((size_t)s->out_channels, sizeof(float));
    gb_conv2d_forward_direct_cpu(&dev, out, x, w, b, s);
    gb_conv2d_backward_direct_cpu(&dev, dx, dw, db, g, x, w, s);
    double *ro = gc_dalloc(k.no), *rx = gc_dalloc(k.ni), *rw = gc_dalloc(k.nw), *rb = gc_dalloc((size_t)s->out_channels);
    double *so = gc_dalloc(k.no), *sx = gc_dalloc(k.ni), *sw = gc_dalloc(k.nw), *sb = gc_dalloc((size_t)s->out_channels);
    reference(s, x, w, b, g, 0, ro, rx, rw, rb);
    reference(s, x, w, b, g, 1, so, sx, sw, sb);
    const int taps = s->kernel_h * s->kernel_w;
    for (size_t i = 0; i < k.no; i++)
        cr_assert(fabs(out[i] - ro[i]) <= (s->in_channels * taps + 2) * U * so[i], "seed %llu out[%zu] %.9g vs %.9g",
                  (unsigned long long)seed, i, out[i], ro[i]);
    for (size_t i = 0; i < k.ni; i++)
        cr_assert(fabs(dx[i] - rx[i]) <= (s->out_channels + taps + 2) * U * sx[i] + 1e-9,
                  "seed %llu dinp[%zu] %.9g vs %.9g", (unsigned long long)seed, i, dx[i], rx[i]);
    double terms = (double)s->batch * k.oh * k.ow;
    for (size_t i = 0; i < k.nw; i++)
        cr_assert(fabs(dw[i] - rw[i]) <= (terms + 2) * U * sw[i] + 1e-9, "seed %llu dweight[%zu] %.9g vs %.9g",
                  (unsigned long long)seed, i, dw[i], rw[i]);
    for (int m = 0; m < s->out_channels; m++)
        cr_assert(fabs(db[m] - rb[m]) <= 2 * U * sb[m] + 1e-9, "dbias[%d] %.9g vs %.9g", m, db[m], rb[m]);
    free(x), free(w), free(b), free(g), free(out), free(dx), free(dw), free(db);
    free(ro), free(rx), free(rw), free(rb), free(so), free(sx), free(sw), free(sb);
}

Test(conv2d_direct, generator_last_layer) {
    gb_conv_shape s = shape(2, 128, 32, 32, 3, 3, 3, 1, 1);
    check_against_float64(&s, 1);
}

Test(conv2d_direct, mnist_layers_and_awkward_shapes) {
    gb_conv_shape a = shape(3, 1, 28, 28, 2, 3, 3, 1, 1);
    check_against_float64(&a, 2);
    gb_conv_shape b = shape(1, 8, 28, 28, 1, 3, 3, 1, 1);
    check_against_float64(&b, 3);
    gb_conv_shape c = shape(2, 5, 7, 11, 8, 3, 1, 1, 0); /* 3x1, non-square, M = 8 */
    check_against_float64(&c, 4);
    gb_conv_shape d = shape(2, 3, 9, 6, 4, 5, 5, 2, 2);
    check_against_float64(&d, 5);
    gb_conv_shape e = shape(1, 4, 5, 5, 3, 2, 2, 0, 0); /* even kernel, no padding */
    check_against_float64(&e, 6);
    gb_conv_shape f = shape(2, 2, 4, 5, 3, 3, 3, 2, 2); /* pad > k/2: output larger than input */
    check_against_float64(&f, 7);
}

/* dweight and dbias accumulate, dinp overwrites; NULL skips (inp may be NULL without dweight). */
Test(conv2d_direct, gradient_contract) {
    gb_conv_shape s = shape(3, 6, 9, 8, 3, 3, 3, 1, 1);
    counts k = counts_of(&s);
    gc_seed_rng(11);
    float *x = gc_rand(k.ni, -1, 1), *w = gc_rand(k.nw, -1, 1), *g = gc_rand(k.no, -1, 1);
    float *dx1 = gc_falloc(k.ni), *dx2 = gc_rand(k.ni, 3, 4), *dx3 = gc_falloc(k.ni);
    float *dw1 = calloc(k.nw, sizeof(float)), *dw = calloc(k.nw, sizeof(float));
    float *db1 = calloc(3, sizeof(float)), *db = calloc(3, sizeof(float));
    gb_conv2d_backward_direct_cpu(&dev, dx1, dw1, db1, g, x, w, &s);
    gb_conv2d_backward_direct_cpu(&dev, dx2, dw, db, g, x, w, &s);
    gb_conv2d_backward_direct_cpu(&dev, dx2, dw, db, g, x, w, &s);
    cr_assert(memcmp(dx1, dx2, k.ni * sizeof(float)) == 0, "dinp must be overwritten");
    /* fl(fl(s) + s) against 2 fl(s): the first rounding doubled, plus one */
    for (size_t i = 0; i < k.nw; i++)
        cr_assert(fabsf(dw[i] - 2 * dw1[i]) <= 3 * U * fabsf(2 * dw1[i]), "dweight[%zu]: twice %.9g, once %.9g", i,
                  dw[i], dw1[i]);
    for (int m = 0; m < 3; m++) cr_assert(fabsf(db[m] - 2 * db1[m]) <= 3 * U * fabsf(2 * db1[m]), "dbias[%d]", m);
    gb_conv2d_backward_direct_cpu(&dev, dx3, NULL, NULL, g, NULL, w, &s);
    cr_assert(memcmp(dx1, dx3, k.ni * sizeof(float)) == 0, "dinp alone (inp NULL) differs");
    free(x), free(w), free(g), free(dx1), free(dx2), free(dx3), free(dw1), free(dw), free(db1), free(db);
}

Test(conv2d_direct, bits_independent_of_thread_count) {
    gb_conv_shape s = shape(5, 7, 12, 10, 3, 3, 3, 1, 1);
    counts k = counts_of(&s);
    gc_seed_rng(21);
    float *x = gc_rand(k.ni, -1, 1), *w = gc_rand(k.nw, -1, 1), *b = gc_rand(3, -1, 1), *g = gc_rand(k.no, -1, 1);
    float *out[3], *dx[3], *dw[3];
    for (int t = 0; t < 3; t++) {
        gb_device d;
        cr_assert_eq(gb_device_open(&d, "cpu", t + 1), GB_OK, "%s", gb_last_error());
        out[t] = gc_falloc(k.no), dx[t] = gc_falloc(k.ni), dw[t] = calloc(k.nw, sizeof(float));
        gb_conv2d_forward_direct_cpu(&d, out[t], x, w, b, &s);
        gb_conv2d_backward_direct_cpu(&d, dx[t], dw[t], NULL, g, x, w, &s);
        gb_device_close(&d);
    }
    for (int t = 1; t < 3; t++) {
        cr_expect(memcmp(out[t], out[0], k.no * sizeof(float)) == 0, "forward with %d threads differs", t + 1);
        cr_expect(memcmp(dx[t], dx[0], k.ni * sizeof(float)) == 0, "dinp with %d threads differs", t + 1);
        cr_expect(memcmp(dw[t], dw[0], k.nw * sizeof(float)) == 0, "dweight with %d threads differs", t + 1);
    }
    for (int t = 0; t < 3; t++) free(out[t]), free(dx[t]), free(dw[t]);
    free(x), free(w), free(b), free(g);
}

/* The table entry sends the shapes gb_conv2d_uses_direct names here (same bits as calling the
 * direct path) and the rest to the GEMM lowering. */
Test(conv2d_direct, dispatch_rule) {
    gb_conv_shape few = shape(2, 16, 8, 8, 3, 3, 3, 1, 1), many = shape(2, 16, 8, 8, 8, 3, 3, 1, 1);
    gb_conv_shape thin = shape(2, 4, 8, 8, 3, 3, 3, 1, 1), strided = shape(2, 16, 8, 8, 3, 3, 3, 1, 1);
    strided.stride_h = strided.stride_w = 2;
    cr_assert(gb_conv2d_uses_direct(&few), "16 -> 3: the generators' last-layer case");
    cr_assert(!gb_conv2d_uses_direct(&many), "8 outputs: the GEMM lowering measured faster");
    cr_assert(!gb_conv2d_uses_direct(&thin), "4 inputs: the GEMM lowering measured faster");
    cr_assert(!gb_conv2d_uses_direct(&strided));
    counts k = counts_of(&few);
    gc_seed_rng(31);
    float *x = gc_rand(k.ni, -1, 1), *w = gc_rand(k.nw, -1, 1), *b = gc_rand(3, -1, 1);
    float *a = gc_falloc(k.no), *c = gc_falloc(k.no);
    gb_conv2d_forward(&dev, a, x, w, b, &few);
    gb_conv2d_forward_direct_cpu(&dev, c, x, w, b, &few);
    cr_assert(memcmp(a, c, k.no * sizeof(float)) == 0, "the table entry did not take the direct path");
    free(x), free(w), free(b), free(a), free(c);
}
