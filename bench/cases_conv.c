/* bench/cases_conv.c - benchmark cases of conv2d: forward, backward-data and backward-weight
 * on every distinct conv shape of the GAN models, each next to OpenBLAS sgemm on the
 * equivalent GEMM, plus the FFT forward where a kernel is larger than 1x1.
 *
 * Shapes come from the models' own listings, at batch 64: gb_dcgan_conv_shapes (the CMU
 * ResNet generator and critic, models/dcgan_resnet.h) and gb_mnist_gan_conv_shapes
 * (models/mnist_gan.h); and, forward only (FID never differentiates the network; not in
 * --quick), every distinct conv the FID Inception-v3 runs at 299x299 and batch 8, from
 * gb_inception_run_conv_shapes (models/inception_v3.h, the architecture alone: each block's
 * sibling 1x1 convs as the one merged conv the forward runs, named after the first with
 * "+1x1s"), labelled "iv3 ..."
 * (`--filter iv3`; "k1x7", "k5x5" pick one kernel size), with "ours-gemm" next to "fftw" for
 * its 5x5 / 1x7 / 7x1 kernels so the table shows where FFTW wins. Equal shapes are
 * benchmarked once, under the first layer's name with "(xN)" when N layers share it.
 * Rows per shape: "ours-cpu" through the backend table (what the models run), "openblas"
 * timing one cblas_sgemm of the conv's GEMM (M = out_channels, N = batch*out_h*out_w,
 * K = in_channels*kh*kw; backward-data C[K,N] = W^T dout, backward-weight C[M,K] =
 * dout col^T) on random operands of those sizes, so the printed ratio sgemm/ours is ours
 * as a fraction of sgemm's rate on the same FLOPs (the target: >= 0.75), and
 * "fftw" (gb_conv2d_forward_fft_cpu) for forward shapes with a kernel side of 5 or more, where
 * the FFT route can win (the GAN models have only 3x3 and 1x1 kernels; on those the FFT
 * forward measured 0.3x-0.8x of the GEMM path at 4x4-8x8 and far slower above, so timing it
 * there would only lengthen the run). On the shapes where `--conv fast` takes Winograd
 * (gb_conv2d_uses_winograd) two more rows time the two paths: "ours-gemm" (im2col + sgemm,
 * gb_conv2d_*_gemm_cpu) and "ours-winograd" (F(4x4,3x3), kernels/cpu/conv_winograd.c); their
 * FLOPs are still the direct conv's, so Winograd's GFLOP/s is an effective rate (it does 4x
 * fewer). The generator's UpSampleConv2D layers (gb_dcgan_upsample_conv_shapes) get
 * "upsample_conv2d" rows: "ours-cpu" (the table entry's plain route), "ours-fast" (the phase
 * route, kernels/cpu/conv_upsample.c) and "openblas" (the plain conv's GEMM), all counted at the
 * plain conv's FLOPs and checked against the conv of the upsampled input.
 * FLOPs: 2*M*N*K for every row. Bytes: every operand read or written once (for the conv
 * rows the tensors, for sgemm the three matrices, im2col's column matrix included).
 *
 * Checks: 64 sampled output elements against float64 sums; the error is normalised by S,
 * the same sum on absolute values, and must stay within the bounds of tests/tolerances.md
 * "convolution": forward (C*kh*kw + 2)u, backward-data (M + kh*kw + 2)u, backward-weight
 * (N*P + 2)u, sgemm (K + 2)u (u = 2^-24); the FFT rows use that section's FFT bound and
 * report their error in units of it. The Winograd rows use the GEMM bounds too: their error
 * is bounded by the transforms' absolute chain, not by S (tests/tolerances.md), but on these
 * uniform random operands it measured below 20u S, inside every bound above.
 *
 * The row machinery is shared through bench/cases_conv.h (gb_bench_add_conv_row, and
 * gb_bench_add_conv_transpose_row, which runs conv_transpose2d as the adjoint conv2d's
 * directions so the same GEMM peer and float64 check apply); bench/cases_specs.c uses it.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/philox.h"
#include "../kernels/cpu/cpu.h"
#include "../models/dcgan_resnet.h"
#include "../models/inception_v3.h"
#include "../models/mnist_gan.h"
#include "cases.h"
#include "cases_conv.h"

enum { IMPL_OURS = GB_CONV_OURS, IMPL_SGEMM = GB_CONV_SGEMM, IMPL_FFT = GB_CONV_FFT, IMPL_GEMM = GB_CONV_GEMM,
       IMPL_WINO = GB_CONV_WINOGRAD, IMPL_FAST };
enum { DIR_FWD = GB_CONV_FWD, DIR_BWD_DATA = GB_CONV_BWD_DATA, DIR_BWD_WEIGHT = GB_CONV_BWD_WEIGHT };
/* SPEC_ROWS: room for the rows other families add through bench/cases_conv.h */
enum { CONV_BATCH = 64, INCEPTION_BATCH = 8, CONV_SAMPLES = 64, MAX_SHAPES = 64, SPEC_ROWS = 512 };
static const double unit_roundoff = 5.9604644775390625e-8;

typedef struct {
    gb_conv_shape s; /* the conv2d; for a transposed row the adjoint of t */
    gb_conv_shape t; /* transposed rows: the conv_transpose2d itself */
    int transposed;
    int upsampled; /* upsample_conv2d rows: s is the conv at the upsampled size, inp/dinp a quarter */
    int direction, impl; /* direction: of the conv2d s (a transposed row maps its own onto it) */
    float *inp, *weight, *bias, *out, *dout, *dinp, *dweight; /* conv rows */
    float *a, *b, *c;                                         /* sgemm rows: C = op(A) op(B) */
    int m, n, k;                                              /* the GEMM's sizes */
} conv_ctx;

static size_t out_numel(const gb_conv_shape *s) {
    return (size_t)s->batch * (size_t)s->out_channels * (size_t)gb_conv_out_h(s) * (size_t)gb_conv_out_w(s);
}
static size_t inp_numel(const gb_conv_shape *s) {
    return (size_t)s->batch * (size_t)s->in_channels * (size_t)s->in_height * (size_t)s->in_width;
}
static size_t weight_numel(const gb_conv_shape *s) {
    return (size_t)s->out_channels * (size_t)s->in_channels * (size_t)s->kernel_h * (size_t)s->kernel_w;
}

/* The floats of the row's own input: a quarter of the conv's for upsample_conv2d rows. */
static size_t row_inp_numel(const conv_ctx *x) { return inp_numel(&x->s) / (x->upsampled ? 4 : 1); }

static gb_status conv_setup(gb_bench_case *c, gb_device *dev) {
    conv_ctx *x = c->ctx;
    if (x->impl == IMPL_SGEMM) {
        size_t m = (size_t)x->m, n = (size_t)x->n, k = (size_t)x->k;
        /* fwd: A = W [M,K], B = col [K,N]; bwd_data: A = W [M,K], B = dout [M,N];
         * bwd_weight: A = dout [M,N], B = col [K,N]. */
        size_t a = x->direction == DIR_BWD_WEIGHT ? m * n : m * k;
        size_t b = x->direction == DIR_BWD_DATA ? m * n : k * n;
        size_t cn = x->direction == DIR_FWD ? m * n : x->direction == DIR_BWD_DATA ? k * n : m * k;
        x->a = gb_bench_random_floats(dev, a, 1, "bench/conv/a", -1.0f, 1.0f);
        x->b = gb_bench_random_floats(dev, b, 1, "bench/conv/b", -1.0f, 1.0f);
        x->c = gb_dev_alloc(dev, cn * sizeof(float));
        return GB_OK;
    }
    x->inp = gb_bench_random_floats(dev, row_inp_numel(x), 1, "bench/conv/inp", -1.0f, 1.0f);
    x->weight = gb_bench_random_floats(dev, weight_numel(&x->s), 1, "bench/conv/weight", -1.0f, 1.0f);
    x->bias = gb_bench_random_floats(dev, (size_t)x->s.out_channels, 1, "bench/conv/bias", -1.0f, 1.0f);
    x->dout = gb_bench_random_floats(dev, out_numel(&x->s), 1, "bench/conv/dout", -1.0f, 1.0f);
    x->out = gb_dev_alloc(dev, out_numel(&x->s) * sizeof(float));
    x->dinp = gb_dev_alloc(dev, row_inp_numel(x) * sizeof(float));
    x->dweight = gb_dev_alloc(dev, weight_numel(&x->s) * sizeof(float));
    gb_dev_zero(dev, x->dweight, weight_numel(&x->s) * sizeof(float));
    /* the transposed backward-data is checked as s's forward, which adds bias: it has none */
    if (x->transposed) gb_dev_zero(dev, x->bias, (size_t)x->s.out_channels * sizeof(float));
    return GB_OK;
}

static void conv_teardown(gb_bench_case *c, gb_device *dev) {
    conv_ctx *x = c->ctx;
    float *bufs[] = {x->inp, x->weight, x->bias, x->out, x->dout, x->dinp, x->dweight, x->a, x->b, x->c};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) gb_dev_free(dev, bufs[i]);
    x->inp = x->weight = x->bias = x->out = x->dout = x->dinp = x->dweight = x->a = x->b = x->c = NULL;
}

static void conv_run(gb_bench_case *c, gb_device *dev) {
    conv_ctx *x = c->ctx;
    if (x->impl == IMPL_SGEMM) {
        if (x->direction == DIR_FWD)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, x->m, x->n, x->k, 1.0f, x->a, x->k, x->b, x->n,
                        0.0f, x->c, x->n);
        else if (x->direction == DIR_BWD_DATA)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, x->k, x->n, x->m, 1.0f, x->a, x->k, x->b, x->n,
                        0.0f, x->c, x->n);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, x->m, x->k, x->n, 1.0f, x->a, x->n, x->b, x->n,
                        0.0f, x->c, x->k);
        return;
    }
    if (x->upsampled) {
        const gb_conv_shape *s = &x->s;
        float *dinp = x->direction == DIR_BWD_DATA ? x->dinp : NULL;
        float *dweight = x->direction == DIR_BWD_WEIGHT ? x->dweight : NULL;
        if (x->direction == DIR_FWD && x->impl == IMPL_FAST)
            gb_upsample_conv2d_forward_phases_cpu(dev, x->out, x->inp, x->weight, x->bias, s);
        else if (x->direction == DIR_FWD) gb_upsample_conv2d_forward(dev, x->out, x->inp, x->weight, x->bias, s);
        else if (x->impl == IMPL_FAST)
            gb_upsample_conv2d_backward_phases_cpu(dev, dinp, dweight, NULL, x->dout, x->inp, x->weight, s);
        else gb_upsample_conv2d_backward(dev, dinp, dweight, NULL, x->dout, x->inp, x->weight, s);
    } else if (x->transposed) { /* s's buffers: t's input is s's dout, t's output (or dout) is s's input */
        if (x->direction == DIR_BWD_DATA) gb_conv_transpose2d_forward(dev, x->dinp, x->dout, x->weight, NULL, &x->t);
        else if (x->direction == DIR_FWD)
            gb_conv_transpose2d_backward(dev, x->out, NULL, NULL, x->inp, x->dout, x->weight, &x->t);
        else gb_conv_transpose2d_backward(dev, NULL, x->dweight, NULL, x->inp, x->dout, x->weight, &x->t);
    } else if (x->impl == IMPL_FFT) gb_conv2d_forward_fft_cpu(dev, x->out, x->inp, x->weight, x->bias, &x->s);
    else if (x->impl == IMPL_GEMM && x->direction == DIR_FWD)
        gb_conv2d_forward_gemm_cpu(dev, x->out, x->inp, x->weight, x->bias, &x->s);
    else if (x->impl == IMPL_GEMM && x->direction == DIR_BWD_DATA)
        gb_conv2d_backward_gemm_cpu(dev, x->dinp, NULL, NULL, x->dout, x->inp, x->weight, &x->s);
    else if (x->impl == IMPL_GEMM)
        gb_conv2d_backward_gemm_cpu(dev, NULL, x->dweight, NULL, x->dout, x->inp, x->weight, &x->s);
    else if (x->impl == IMPL_WINO && x->direction == DIR_FWD)
        gb_conv2d_forward_winograd_cpu(dev, x->out, x->inp, x->weight, x->bias, &x->s);
    else if (x->impl == IMPL_WINO && x->direction == DIR_BWD_DATA)
        gb_conv2d_backward_winograd_cpu(dev, x->dinp, NULL, NULL, x->dout, x->inp, x->weight, &x->s);
    else if (x->impl == IMPL_WINO)
        gb_conv2d_backward_winograd_cpu(dev, NULL, x->dweight, NULL, x->dout, x->inp, x->weight, &x->s);
    else if (x->direction == DIR_FWD) gb_conv2d_forward(dev, x->out, x->inp, x->weight, x->bias, &x->s);
    else if (x->direction == DIR_BWD_DATA)
        gb_conv2d_backward(dev, x->dinp, NULL, NULL, x->dout, x->inp, x->weight, &x->s);
    else gb_conv2d_backward(dev, NULL, x->dweight, NULL, x->dout, x->inp, x->weight, &x->s);
    gb_dev_sync(dev);
}

/* The i-th of CONV_SAMPLES spread indices in [0, total). */
static size_t sample_index(int i, size_t total) {
    return (size_t)(((unsigned long long)i * 2654435761ULL + 40503ULL) % total);
}

/* sgemm: C[i, j] = sum_p opA(i, p) opB(p, j) for sampled elements. */
static int sgemm_check(conv_ctx *x, gb_device *dev, double *error) {
    size_t m = (size_t)x->m, n = (size_t)x->n, k = (size_t)x->k;
    size_t rows = x->direction == DIR_BWD_DATA ? k : m, cols = x->direction == DIR_BWD_WEIGHT ? k : n;
    size_t inner = x->direction == DIR_FWD ? k : x->direction == DIR_BWD_DATA ? m : n;
    size_t a_n = x->direction == DIR_BWD_WEIGHT ? m * n : m * k, b_n = x->direction == DIR_BWD_DATA ? m * n : k * n;
    float *a = gb_bench_download_floats(dev, x->a, a_n), *b = gb_bench_download_floats(dev, x->b, b_n);
    float *cc = gb_bench_download_floats(dev, x->c, rows * cols);
    double worst = 0;
    for (int t = 0; t < CONV_SAMPLES; t++) {
        size_t e = sample_index(t, rows * cols), i = e / cols, j = e % cols;
        double ref = 0, mag = 0;
        for (size_t p = 0; p < inner; p++) {
            double av, bv;
            if (x->direction == DIR_FWD) av = a[i * k + p], bv = b[p * n + j];
            else if (x->direction == DIR_BWD_DATA) av = a[p * k + i], bv = b[p * n + j];
            else av = a[i * n + p], bv = b[j * n + p];
            ref += av * bv;
            mag += fabs(av * bv);
        }
        double err = fabs(cc[e] - ref) / (mag > 0 ? mag : 1);
        if (err > worst) worst = err;
    }
    free(a);
    free(b);
    free(cc);
    *error = worst;
    return worst <= ((double)inner + 2) * unit_roundoff;
}

/* Smallest 2^a 3^b 5^c 7^d >= n: the FFT plane size kernels/cpu/conv_fft.c uses. */
static int fft_size(int n) {
    for (int f = n;; f++) {
        int r = f;
        for (int p = 2; p <= 7; p++)
            while (r % p == 0) r /= p;
        if (r == 1) return f;
    }
}

static int conv_check(gb_bench_case *c, gb_device *dev, double *error) {
    conv_ctx *x = c->ctx;
    if (x->impl == IMPL_SGEMM) return sgemm_check(x, dev, error);
    const gb_conv_shape *s = &x->s;
    const int C = s->in_channels, M = s->out_channels, H = s->in_height, W = s->in_width;
    const int kh = s->kernel_h, kw = s->kernel_w, oh = gb_conv_out_h(s), ow = gb_conv_out_w(s);
    float *inp = gb_bench_download_floats(dev, x->inp, row_inp_numel(x));
    if (x->upsampled) { /* check against the conv of the upsampled image */
        float *up = malloc(inp_numel(s) * sizeof *up);
        GB_ASSERT(up, "conv check: out of memory");
        for (size_t e = 0; e < inp_numel(s); e++) {
            size_t X = e % (size_t)s->in_width, Y = e / (size_t)s->in_width % (size_t)s->in_height;
            size_t plane = e / ((size_t)s->in_width * (size_t)s->in_height);
            up[e] = inp[(plane * (size_t)(s->in_height / 2) + Y / 2) * (size_t)(s->in_width / 2) + X / 2];
        }
        free(inp);
        inp = up;
    }
    float *w = gb_bench_download_floats(dev, x->weight, weight_numel(s));
    float *bias = gb_bench_download_floats(dev, x->bias, (size_t)M);
    float *dout = gb_bench_download_floats(dev, x->dout, out_numel(s));
    float *got;
    double worst = 0, allowed = 0;
    if (x->direction == DIR_FWD) {
        got = gb_bench_download_floats(dev, x->out, out_numel(s));
        double Fhw = (double)fft_size(H + 2 * s->pad_h) * fft_size(W + 2 * s->pad_w);
        double phi = 8 * unit_roundoff * log2(Fhw), g = (2.0 * C + 4) * unit_roundoff;
        for (int t = 0; t < CONV_SAMPLES; t++) {
            size_t e = sample_index(t, out_numel(s));
            int xo = (int)(e % (size_t)ow), yo = (int)(e / (size_t)ow % (size_t)oh);
            int m = (int)(e / ((size_t)ow * oh) % (size_t)M), n = (int)(e / ((size_t)ow * oh * M));
            double ref = bias[m], mag = fabs(bias[m]), fft_bound = 0, z = 0;
            for (int ci = 0; ci < C; ci++) {
                const float *xp = inp + ((size_t)n * C + ci) * H * W, *wp = w + ((size_t)m * C + ci) * kh * kw;
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++) {
                        int yi = yo * s->stride_h - s->pad_h + i, xi = xo * s->stride_w - s->pad_w + j;
                        if (yi < 0 || yi >= H || xi < 0 || xi >= W) continue;
                        double v = (double)wp[i * kw + j] * xp[yi * W + xi];
                        ref += v;
                        mag += fabs(v);
                    }
                if (x->impl == IMPL_FFT) { /* tests/tolerances.md "FFT conv2d vs float64", per plane */
                    double w1 = 0, w2 = 0, x1 = 0, x2 = 0;
                    for (int q = 0; q < kh * kw; q++) w1 += fabs(wp[q]), w2 += (double)wp[q] * wp[q];
                    for (int q = 0; q < H * W; q++) x1 += fabs(xp[q]), x2 += (double)xp[q] * xp[q];
                    fft_bound += (2 * phi + g) * w1 * sqrt(x2) + phi * x1 * sqrt(w2);
                    z += sqrt(x2) * sqrt(w2);
                }
            }
            double err = fabs(got[e] - ref);
            if (x->impl == IMPL_FFT) err /= fft_bound + 2 * unit_roundoff * (z + fabs(bias[m])) + 1e-30;
            else err /= mag > 0 ? mag : 1;
            if (err > worst) worst = err;
        }
        /* FFT: the error in units of its bound; GEMM: normalised by S */
        allowed = x->impl == IMPL_FFT ? 1 : ((double)C * kh * kw + 2) * unit_roundoff;
    } else if (x->direction == DIR_BWD_DATA) {
        /* upsample_conv2d: a low-resolution pixel's gradient is the sum over its 2x2 block */
        const int up = x->upsampled ? 2 : 1, Hl = H / up, Wl = W / up;
        got = gb_bench_download_floats(dev, x->dinp, row_inp_numel(x));
        for (int t = 0; t < CONV_SAMPLES; t++) {
            size_t e = sample_index(t, row_inp_numel(x));
            int xl = (int)(e % (size_t)Wl), yl = (int)(e / (size_t)Wl % (size_t)Hl);
            int ci = (int)(e / ((size_t)Wl * Hl) % (size_t)C), n = (int)(e / ((size_t)Wl * Hl * C));
            double ref = 0, mag = 0;
            for (int q = 0; q < up * up; q++) {
                int yi = yl * up + q / up, xi = xl * up + q % up;
                for (int m = 0; m < M; m++)
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++) {
                            int ny = yi + s->pad_h - i, nx = xi + s->pad_w - j;
                            if (ny < 0 || nx < 0 || ny % s->stride_h || nx % s->stride_w) continue;
                            int yo = ny / s->stride_h, xo = nx / s->stride_w;
                            if (yo >= oh || xo >= ow) continue;
                            double v = (double)dout[(((size_t)n * M + m) * oh + yo) * ow + xo] *
                                       w[(((size_t)m * C + ci) * kh + i) * kw + j];
                            ref += v;
                            mag += fabs(v);
                        }
            }
            double err = fabs(got[e] - ref) / (mag > 0 ? mag : 1);
            if (err > worst) worst = err;
        }
        /* tests/tolerances.md: conv2d's bound, or the phase route's (M + 4 kh kw + 2) u S */
        allowed = ((double)M + up * up * kh * kw + 2) * unit_roundoff;
    } else { /* one fresh accumulation */
        gb_dev_zero(dev, x->dweight, weight_numel(s) * sizeof(float));
        conv_run(c, dev);
        got = gb_bench_download_floats(dev, x->dweight, weight_numel(s));
        for (int t = 0; t < CONV_SAMPLES; t++) {
            size_t e = sample_index(t, weight_numel(s));
            int j = (int)(e % (size_t)kw), i = (int)(e / (size_t)kw % (size_t)kh);
            int ci = (int)(e / ((size_t)kw * kh) % (size_t)C), m = (int)(e / ((size_t)kw * kh * C));
            double ref = 0, mag = 0;
            for (int n = 0; n < s->batch; n++)
                for (int yo = 0; yo < oh; yo++)
                    for (int xo = 0; xo < ow; xo++) {
                        int yi = yo * s->stride_h - s->pad_h + i, xi = xo * s->stride_w - s->pad_w + j;
                        if (yi < 0 || yi >= H || xi < 0 || xi >= W) continue;
                        double v = (double)dout[(((size_t)n * M + m) * oh + yo) * ow + xo] *
                                   inp[(((size_t)n * C + ci) * H + yi) * W + xi];
                        ref += v;
                        mag += fabs(v);
                    }
            double err = fabs(got[e] - ref) / (mag > 0 ? mag : 1);
            if (err > worst) worst = err;
        }
        allowed = ((double)s->batch * oh * ow + 2) * unit_roundoff;
    }
    free(inp);
    free(w);
    free(bias);
    free(dout);
    free(got);
    *error = worst;
    return worst <= allowed;
}

static const char *const dir_names[] = {"fwd", "bwd_data", "bwd_weight"};

/* The rows' parameters live here, not in per-row allocations: rows that --filter leaves
 * out are never set up or torn down, so nothing would free them. Registered once per run. */
static conv_ctx rows[MAX_SHAPES * 13 + GB_INCEPTION_CONVS * 4 + SPEC_ROWS];
static size_t n_rows;

/* One row of the conv2d s in direction `direction`; kernel and dir_label name it in the
 * table (a transposed row's own kernel and direction). */
static conv_ctx *add_row(gb_bench_list *list, const gb_conv_shape *s, const char *label, const char *kernel,
                         const char *dir_label, int direction, int impl, int upsampled) {
    static const char *const impl_names[] = {"ours-cpu", "openblas", "fftw", "ours-gemm", "ours-winograd", "ours-fast"};
    GB_ASSERT(impl >= IMPL_OURS && impl <= IMPL_FAST && direction >= DIR_FWD && direction <= DIR_BWD_WEIGHT,
              "conv row: impl %d / direction %d out of range", impl, direction);
    gb_bench_case *c = gb_bench_list_add(list);
    snprintf(c->kernel, sizeof c->kernel, "%s", kernel);
    snprintf(c->direction, sizeof c->direction, "%s", dir_label);
    snprintf(c->impl, sizeof c->impl, "%s", impl_names[impl]);
    snprintf(c->shape, sizeof c->shape, "%s", label);
    GB_ASSERT(n_rows < sizeof rows / sizeof rows[0], "more than %zu conv benchmark rows", sizeof rows / sizeof rows[0]);
    conv_ctx *x = &rows[n_rows++];
    *x = (conv_ctx){0};
    x->s = *s;
    x->direction = direction;
    x->impl = impl;
    x->upsampled = upsampled && impl != IMPL_SGEMM;
    x->m = s->out_channels;
    x->n = s->batch * gb_conv_out_h(s) * gb_conv_out_w(s);
    x->k = s->in_channels * s->kernel_h * s->kernel_w;
    c->ctx = x;
    c->where = impl == IMPL_OURS ? GB_BENCH_ON_DEVICE : GB_BENCH_CPU_ONLY; /* OpenBLAS, FFTW, CPU routes */
    double m = x->m, n = x->n, k = x->k;
    c->flops = 2 * m * n * k;
    if (impl == IMPL_SGEMM)
        c->bytes = 4 * (m * k + k * n + m * n);
    else {
        double in = (double)row_inp_numel(x), wt = (double)weight_numel(s), out = (double)out_numel(s);
        c->bytes = 4 * (direction == DIR_FWD ? in + wt + out : direction == DIR_BWD_DATA ? out + wt + in : out + in + wt);
    }
    c->setup = conv_setup;
    c->run = conv_run;
    c->check = conv_check;
    c->teardown = conv_teardown;
    return x;
}

static void add_case(gb_bench_list *list, const gb_conv_shape *s, const char *label, int direction, int impl) {
    add_row(list, s, label, "conv2d", dir_names[direction], direction, impl, 0);
}

void gb_bench_add_conv_row(gb_bench_list *list, const gb_conv_shape *s, const char *label, gb_conv_row_dir dir,
                           gb_conv_row_impl impl) {
    add_case(list, s, label, (int)dir, (int)impl);
}

void gb_bench_add_conv_transpose_row(gb_bench_list *list, const gb_conv_shape *t, const char *label,
                                     gb_conv_row_dir dir, gb_conv_row_impl impl) {
    GB_ASSERT(impl == GB_CONV_OURS || impl == GB_CONV_SGEMM, "conv_transpose2d rows: ours-cpu or openblas only");
    GB_ASSERT(t->output_padding_h < t->stride_h && t->output_padding_w < t->stride_w,
              "conv_transpose2d row: output padding must be below the stride");
    /* the adjoint conv2d: t's output back to t's input, weight [t.in, t.out, kh, kw] read
     * as conv2d's [out_channels, in_channels, kh, kw] */
    gb_conv_shape s = {.batch = t->batch, .in_channels = t->out_channels, .in_height = gb_conv_transpose_out_h(t),
                       .in_width = gb_conv_transpose_out_w(t), .out_channels = t->in_channels,
                       .kernel_h = t->kernel_h, .kernel_w = t->kernel_w, .stride_h = t->stride_h,
                       .stride_w = t->stride_w, .pad_h = t->pad_h, .pad_w = t->pad_w};
    int direction = dir == GB_CONV_FWD ? DIR_BWD_DATA : dir == GB_CONV_BWD_DATA ? DIR_FWD : DIR_BWD_WEIGHT;
    conv_ctx *x = add_row(list, &s, label, "conv_transpose2d", dir_names[dir], direction, (int)impl, 0);
    x->t = *t;
    x->transposed = impl == GB_CONV_OURS;
}

static int same_shape(const gb_conv_shape *a, const gb_conv_shape *b) {
    return a->batch == b->batch && a->in_channels == b->in_channels && a->in_height == b->in_height &&
           a->in_width == b->in_width && a->out_channels == b->out_channels && a->kernel_h == b->kernel_h &&
           a->kernel_w == b->kernel_w && a->stride_h == b->stride_h && a->stride_w == b->stride_w &&
           a->pad_h == b->pad_h && a->pad_w == b->pad_w;
}

typedef struct {
    gb_conv_shape shape;
    const char *name;
    int uses;
} distinct_shape;

/* Append the listing's shapes to the distinct set (first name kept, uses counted). */
static size_t add_distinct(distinct_shape *set, size_t n, const gb_conv_shape *shapes, const char **names, size_t count) {
    for (size_t i = 0; i < count; i++) {
        size_t j = 0;
        while (j < n && !same_shape(&set[j].shape, &shapes[i])) j++;
        if (j < n) set[j].uses++;
        else if (n < MAX_SHAPES) set[n++] = (distinct_shape){shapes[i], names[i], 1};
    }
    return n;
}

/* Inception-v3's distinct convs, forward: ours, sgemm, and for kernel sides >= 5 the GEMM
 * path next to the FFT path. */
static void add_inception_cases(gb_bench_list *list) {
    gb_conv_shape shapes[GB_INCEPTION_CONVS];
    const char *names[GB_INCEPTION_CONVS];
    int merged[GB_INCEPTION_CONVS];
    distinct_shape set[MAX_SHAPES];
    size_t count = gb_inception_run_conv_shapes(INCEPTION_BATCH, shapes, names, merged, GB_INCEPTION_CONVS);
    if (count > GB_INCEPTION_CONVS) count = GB_INCEPTION_CONVS;
    size_t n = add_distinct(set, 0, shapes, names, count);
    for (size_t i = 0; i < n; i++) {
        const gb_conv_shape *s = &set[i].shape;
        char label[96], uses[16] = "";
        if (set[i].uses > 1) snprintf(uses, sizeof uses, " (x%d)", set[i].uses);
        int is_merged = 0;
        for (size_t k = 0; k < count; k++)
            if (names[k] == set[i].name && same_shape(&shapes[k], s)) is_merged = merged[k];
        snprintf(label, sizeof label, "iv3 b%d %dx%dx%d->%d k%dx%d s%d p%dx%d %s%s%s", s->batch, s->in_channels,
                 s->in_height, s->in_width, s->out_channels, s->kernel_h, s->kernel_w, s->stride_h, s->pad_h,
                 s->pad_w, set[i].name, is_merged ? "+1x1s" : "", uses);
        add_case(list, s, label, DIR_FWD, IMPL_OURS);
        add_case(list, s, label, DIR_FWD, IMPL_SGEMM);
        if (s->kernel_h >= 5 || s->kernel_w >= 5) {
            add_case(list, s, label, DIR_FWD, IMPL_GEMM);
            add_case(list, s, label, DIR_FWD, IMPL_FFT);
        }
    }
}

/* The row table is never reset: each family registers once per run (bench/bench_main.c),
 * and other families' rows (bench/cases_conv.h) share it. */
/* The generator's UpSampleConv2D layers (upsample_conv2d): "ours-cpu" through the table (the
 * plain route, upsample then conv: the default), "ours-fast" the phase route of `--conv fast`, and
 * "openblas" the plain conv's GEMM. FLOPs are the plain conv's, so the phase route's GFLOP/s is an
 * effective rate (it does 2.25x fewer multiply-adds). */
static void add_upsample_cases(gb_bench_list *list) {
    gb_conv_shape shapes[8];
    const char *names[8];
    size_t count = gb_dcgan_upsample_conv_shapes(CONV_BATCH, shapes, names, 8);
    for (size_t i = 0; i < count && i < 8; i++) {
        const gb_conv_shape *s = &shapes[i];
        char label[96];
        snprintf(label, sizeof label, "b%d %dx%dx%d->%d k%dx%d up2 %s", s->batch, s->in_channels, s->in_height / 2,
                 s->in_width / 2, s->out_channels, s->kernel_h, s->kernel_w, names[i]);
        static const int impls[] = {IMPL_OURS, IMPL_FAST, IMPL_SGEMM};
        for (int d = DIR_FWD; d <= DIR_BWD_WEIGHT; d++)
            for (size_t r = 0; r < sizeof impls / sizeof impls[0]; r++)
                add_row(list, s, label, "upsample_conv2d", dir_names[d], d, impls[r], 1);
    }
}

void gb_bench_add_conv_cases(gb_bench_list *list, int quick) {
    gb_conv_shape shapes[MAX_SHAPES];
    const char *names[MAX_SHAPES];
    distinct_shape set[MAX_SHAPES];
    size_t n = 0;
    size_t count = gb_dcgan_conv_shapes(CONV_BATCH, shapes, names, MAX_SHAPES);
    n = add_distinct(set, n, shapes, names, count < MAX_SHAPES ? count : MAX_SHAPES);
    count = gb_mnist_gan_conv_shapes(CONV_BATCH, shapes, names, MAX_SHAPES);
    n = add_distinct(set, n, shapes, names, count < MAX_SHAPES ? count : MAX_SHAPES);
    for (size_t i = 0; i < n; i++) {
        const gb_conv_shape *s = &set[i].shape;
        /* quick: the smallest CMU conv only (the 4x4 generator conv), forward, ours and sgemm */
        if (quick && !(s->in_height == 4 && s->kernel_h == 3)) continue;
        char label[96], uses[16] = "";
        if (set[i].uses > 1) snprintf(uses, sizeof uses, " (x%d)", set[i].uses);
        snprintf(label, sizeof label, "b%d %dx%dx%d->%d k%dx%d s%d p%d %s%s", s->batch, s->in_channels,
                 s->in_height, s->in_width, s->out_channels, s->kernel_h, s->kernel_w, s->stride_h, s->pad_h,
                 set[i].name, uses);
        for (int d = DIR_FWD; d <= DIR_BWD_WEIGHT; d++) {
            if (quick && d != DIR_FWD) continue;
            add_case(list, s, label, d, IMPL_OURS);
            add_case(list, s, label, d, IMPL_SGEMM);
            if (d == DIR_FWD && !quick && (s->kernel_h >= 5 || s->kernel_w >= 5)) add_case(list, s, label, d, IMPL_FFT);
            if (!quick && gb_conv2d_uses_winograd(s)) { /* where --conv fast takes Winograd */
                add_case(list, s, label, d, IMPL_GEMM);
                add_case(list, s, label, d, IMPL_WINO);
            }
        }
    }
    if (!quick) add_upsample_cases(list);
    if (!quick) add_inception_cases(list);
}
