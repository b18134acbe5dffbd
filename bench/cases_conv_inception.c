/* bench/cases_conv_inception.c - benchmark cases of conv2d forward on every distinct conv shape
 * of the FID Inception-v3, at 299x299 input and batch 8 (the feature extraction's shapes).
 *
 * Shapes come from gb_inception_conv_shapes (models/inception_v3.h: the architecture alone,
 * no weights). Equal shapes are benchmarked once, under the first layer's name with "(xN)"
 * when N layers share it; every label starts with "iv3" (`--filter iv3` runs them all; the
 * labels hold "k1x7", "k5x5", ... for one kernel size). Rows per shape:
 *   "ours-cpu"  gb_conv2d_forward through the backend table (what the network runs: the
 *               backend chooses GEMM or FFT per shape, gb_conv2d_uses_fft);
 *   "openblas"  one cblas_sgemm of the conv's GEMM (M = out_channels, N = batch*out_h*out_w,
 *               K = in_channels*kh*kw) on random operands of those sizes: the printed ratio
 *               sgemm/ours is ours as a fraction of sgemm's rate on the same FLOPs;
 *   for kernels with a side of 5 or more (Inception's 5x5, 1x7 and 7x1):
 *   "im2col-gemm" gb_conv2d_forward_gemm_cpu and "fftw" gb_conv2d_forward_fft_cpu, the two
 *               implementations side by side, so the table shows where FFTW wins (the issue:
 *               "use FFTW where it wins ... and let the benchmark show where that is").
 * Forward only: FID never differentiates the network. FLOPs: 2*M*N*K for every row (the FFT
 * row's nominal FLOPs, for comparable GFLOP/s). Bytes: each operand read or written once.
 *
 * Checks: 64 sampled outputs against float64 sums; the error normalised by S (the sum of
 * absolute products) within (C*kh*kw + 2)u, sgemm's within (K + 2)u, the FFT's in units of
 * the FFT bound of tests/tolerances.md "convolution" (u = 2^-24), as bench/cases_conv.c does
 * for the GAN shapes (its helpers are file-local; this file keeps a forward-only copy).
 * Not in --quick (the smoke run has the GAN conv rows).
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/philox.h"
#include "../kernels/cpu/cpu.h"
#include "../models/inception_v3.h"
#include "cases.h"

enum { IMPL_OURS, IMPL_SGEMM, IMPL_GEMM, IMPL_FFT };
enum { IV3_BATCH = 8, IV3_SAMPLES = 64 };
static const double unit_roundoff = 5.9604644775390625e-8;

typedef struct {
    gb_conv_shape s;
    int impl;
    float *inp, *weight, *bias, *out; /* conv rows */
    float *a, *b, *c;                 /* sgemm rows: C[M,N] = A[M,K] B[K,N] */
    int m, n, k;
} iv3_ctx;

static size_t out_numel(const gb_conv_shape *s) {
    return (size_t)s->batch * (size_t)s->out_channels * (size_t)gb_conv_out_h(s) * (size_t)gb_conv_out_w(s);
}
static size_t inp_numel(const gb_conv_shape *s) {
    return (size_t)s->batch * (size_t)s->in_channels * (size_t)s->in_height * (size_t)s->in_width;
}
static size_t weight_numel(const gb_conv_shape *s) {
    return (size_t)s->out_channels * (size_t)s->in_channels * (size_t)s->kernel_h * (size_t)s->kernel_w;
}

static float *random_floats(gb_device *dev, size_t n, const char *stream) {
    float *host = malloc(n * sizeof *host);
    GB_ASSERT(host, "out of memory for %zu floats", n);
    gb_stream st = gb_stream_open(1, stream);
    gb_stream_uniform(&st, host, n);
    for (size_t i = 0; i < n; i++) host[i] = 2.0f * host[i] - 1.0f;
    float *d = gb_dev_alloc(dev, n * sizeof *d);
    gb_upload(dev, d, host, n * sizeof *d);
    free(host);
    return d;
}

static float *download_floats(gb_device *dev, const float *src, size_t n) {
    float *host = malloc(n * sizeof *host);
    GB_ASSERT(host, "out of memory for %zu floats", n);
    gb_download(dev, host, src, n * sizeof *host);
    return host;
}

static gb_status iv3_setup(gb_bench_case *c, gb_device *dev) {
    iv3_ctx *x = c->ctx;
    if (x->impl == IMPL_SGEMM) {
        size_t m = (size_t)x->m, n = (size_t)x->n, k = (size_t)x->k;
        x->a = random_floats(dev, m * k, "bench/conv_iv3/a");
        x->b = random_floats(dev, k * n, "bench/conv_iv3/b");
        x->c = gb_dev_alloc(dev, m * n * sizeof(float));
        return GB_OK;
    }
    x->inp = random_floats(dev, inp_numel(&x->s), "bench/conv_iv3/inp");
    x->weight = random_floats(dev, weight_numel(&x->s), "bench/conv_iv3/weight");
    x->bias = random_floats(dev, (size_t)x->s.out_channels, "bench/conv_iv3/bias");
    x->out = gb_dev_alloc(dev, out_numel(&x->s) * sizeof(float));
    return GB_OK;
}

static void iv3_teardown(gb_bench_case *c, gb_device *dev) {
    iv3_ctx *x = c->ctx;
    float *bufs[] = {x->inp, x->weight, x->bias, x->out, x->a, x->b, x->c};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) gb_dev_free(dev, bufs[i]);
    *x = (iv3_ctx){.s = x->s, .impl = x->impl, .m = x->m, .n = x->n, .k = x->k};
}

static void iv3_run(gb_bench_case *c, gb_device *dev) {
    iv3_ctx *x = c->ctx;
    switch (x->impl) {
    case IMPL_SGEMM:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, x->m, x->n, x->k, 1.0f, x->a, x->k, x->b, x->n, 0.0f,
                    x->c, x->n);
        return;
    case IMPL_GEMM: gb_conv2d_forward_gemm_cpu(dev, x->out, x->inp, x->weight, x->bias, &x->s); break;
    case IMPL_FFT: gb_conv2d_forward_fft_cpu(dev, x->out, x->inp, x->weight, x->bias, &x->s); break;
    default: gb_conv2d_forward(dev, x->out, x->inp, x->weight, x->bias, &x->s); break;
    }
    gb_dev_sync(dev);
}

/* The i-th of IV3_SAMPLES spread indices in [0, total). */
static size_t sample_index(int i, size_t total) {
    return (size_t)(((unsigned long long)i * 2654435761ULL + 40503ULL) % total);
}

static int sgemm_check(iv3_ctx *x, gb_device *dev, double *error) {
    size_t m = (size_t)x->m, n = (size_t)x->n, k = (size_t)x->k;
    float *a = download_floats(dev, x->a, m * k), *b = download_floats(dev, x->b, k * n);
    float *cc = download_floats(dev, x->c, m * n);
    double worst = 0;
    for (int t = 0; t < IV3_SAMPLES; t++) {
        size_t e = sample_index(t, m * n), i = e / n, j = e % n;
        double ref = 0, mag = 0;
        for (size_t p = 0; p < k; p++) {
            double v = (double)a[i * k + p] * b[p * n + j];
            ref += v;
            mag += fabs(v);
        }
        double err = fabs(cc[e] - ref) / (mag > 0 ? mag : 1);
        if (err > worst) worst = err;
    }
    free(a);
    free(b);
    free(cc);
    *error = worst;
    return worst <= ((double)k + 2) * unit_roundoff;
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

static int iv3_check(gb_bench_case *c, gb_device *dev, double *error) {
    iv3_ctx *x = c->ctx;
    if (x->impl == IMPL_SGEMM) return sgemm_check(x, dev, error);
    const gb_conv_shape *s = &x->s;
    const int C = s->in_channels, M = s->out_channels, H = s->in_height, W = s->in_width;
    const int kh = s->kernel_h, kw = s->kernel_w, oh = gb_conv_out_h(s), ow = gb_conv_out_w(s);
    /* ours-cpu may take either path: judge it by the bound of the path it takes */
    int fft = x->impl == IMPL_FFT || (x->impl == IMPL_OURS && gb_conv2d_uses_fft(s));
    float *inp = download_floats(dev, x->inp, inp_numel(s)), *w = download_floats(dev, x->weight, weight_numel(s));
    float *bias = download_floats(dev, x->bias, (size_t)M), *got = download_floats(dev, x->out, out_numel(s));
    double Fhw = (double)fft_size(H + 2 * s->pad_h) * fft_size(W + 2 * s->pad_w);
    double phi = 8 * unit_roundoff * log2(Fhw), g = (2.0 * C + 4) * unit_roundoff, worst = 0;
    for (int t = 0; t < IV3_SAMPLES; t++) {
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
            if (fft) { /* tests/tolerances.md "FFT conv2d vs float64", per plane */
                double w1 = 0, w2 = 0, x1 = 0, x2 = 0;
                for (int q = 0; q < kh * kw; q++) w1 += fabs(wp[q]), w2 += (double)wp[q] * wp[q];
                for (int q = 0; q < H * W; q++) x1 += fabs(xp[q]), x2 += (double)xp[q] * xp[q];
                fft_bound += (2 * phi + g) * w1 * sqrt(x2) + phi * x1 * sqrt(w2);
                z += sqrt(x2) * sqrt(w2);
            }
        }
        double err = fabs(got[e] - ref);
        if (fft) err /= fft_bound + 2 * unit_roundoff * (z + fabs(bias[m])) + 1e-30;
        else err /= mag > 0 ? mag : 1;
        if (err > worst) worst = err;
    }
    free(inp);
    free(w);
    free(bias);
    free(got);
    *error = worst; /* FFT: in units of its bound; GEMM: normalised by S */
    return worst <= (fft ? 1 : ((double)C * kh * kw + 2) * unit_roundoff);
}

/* The rows' parameters live here, not in per-row allocations: rows that --filter leaves
 * out are never set up or torn down, so nothing would free them. */
static iv3_ctx rows[GB_INCEPTION_CONVS * 4];
static size_t n_rows;

static void add_case(gb_bench_list *list, const gb_conv_shape *s, const char *label, int impl) {
    static const char *const impl_names[] = {"ours-cpu", "openblas", "im2col-gemm", "fftw"};
    gb_bench_case *c = gb_bench_list_add(list);
    snprintf(c->kernel, sizeof c->kernel, "conv2d");
    snprintf(c->direction, sizeof c->direction, "fwd");
    snprintf(c->impl, sizeof c->impl, "%s", impl_names[impl]);
    snprintf(c->shape, sizeof c->shape, "%s", label);
    GB_ASSERT(n_rows < sizeof rows / sizeof rows[0], "more than %zu Inception conv rows", sizeof rows / sizeof rows[0]);
    iv3_ctx *x = &rows[n_rows++];
    *x = (iv3_ctx){.s = *s, .impl = impl};
    x->m = s->out_channels;
    x->n = s->batch * gb_conv_out_h(s) * gb_conv_out_w(s);
    x->k = s->in_channels * s->kernel_h * s->kernel_w;
    c->ctx = x;
    double m = x->m, n = x->n, k = x->k;
    c->flops = 2 * m * n * k;
    c->bytes = impl == IMPL_SGEMM ? 4 * (m * k + k * n + m * n)
                                  : 4 * ((double)inp_numel(s) + (double)weight_numel(s) + (double)out_numel(s));
    c->setup = iv3_setup;
    c->run = iv3_run;
    c->check = iv3_check;
    c->teardown = iv3_teardown;
}

static int same_shape(const gb_conv_shape *a, const gb_conv_shape *b) {
    return a->batch == b->batch && a->in_channels == b->in_channels && a->in_height == b->in_height &&
           a->in_width == b->in_width && a->out_channels == b->out_channels && a->kernel_h == b->kernel_h &&
           a->kernel_w == b->kernel_w && a->stride_h == b->stride_h && a->stride_w == b->stride_w &&
           a->pad_h == b->pad_h && a->pad_w == b->pad_w;
}

void gb_bench_add_conv_inception_cases(gb_bench_list *list, int quick) {
    n_rows = 0;
    if (quick) return;
    gb_conv_shape shapes[GB_INCEPTION_CONVS];
    const char *names[GB_INCEPTION_CONVS];
    size_t count = gb_inception_conv_shapes(IV3_BATCH, shapes, names, GB_INCEPTION_CONVS);
    for (size_t i = 0; i < count; i++) {
        size_t first = 0;
        while (!same_shape(&shapes[first], &shapes[i])) first++;
        if (first < i) continue; /* benchmarked under the first layer with this shape */
        int uses = 0;
        for (size_t j = i; j < count; j++) uses += same_shape(&shapes[j], &shapes[i]);
        const gb_conv_shape *s = &shapes[i];
        char label[96], times[16] = "";
        if (uses > 1) snprintf(times, sizeof times, " (x%d)", uses);
        snprintf(label, sizeof label, "iv3 b%d %dx%dx%d->%d k%dx%d s%d p%dx%d %s%s", s->batch, s->in_channels,
                 s->in_height, s->in_width, s->out_channels, s->kernel_h, s->kernel_w, s->stride_h, s->pad_h,
                 s->pad_w, names[i], times);
        add_case(list, s, label, IMPL_OURS);
        add_case(list, s, label, IMPL_SGEMM);
        if (s->kernel_h >= 5 || s->kernel_w >= 5) {
            add_case(list, s, label, IMPL_GEMM);
            add_case(list, s, label, IMPL_FFT);
        }
    }
}
