/* tests/test_cuda_conv.c - the cuDNN convolutions and weight standardisation of the CUDA
 * backend against the CPU backend (kernels/cpu/conv2d.c, conv_transpose2d.c,
 * weight_standardize.c, themselves checked against float64 and PyTorch by
 * tests/test_kernels_conv.c).
 *
 * What is checked, on shapes with stride, padding, output_padding, non-square kernels, 1x1,
 * a 1x1 input and the pipelines' DCGAN / U-Net layers, and for upsample_conv2d (both backends'
 * plain route: upsample, then the conv):
 *   - forward, dinp, dweight and dbias within the tolerance below;
 *   - the gradient contract: dinp overwrites (its buffer starts as NaN, which beta = 0 must
 *     never read), dweight/dbias accumulate onto random initial values, NULL skips;
 *   - guard regions around every device buffer (no out-of-bounds writes);
 *   - determinism: a second backward onto the same initial values is bitwise the first;
 *   - batch 0 writes nothing;
 *   - the algorithm record: deterministic allow-list names only (no BWD ALGO_0 / ALGO_3),
 *     snprintf-style truncation, and the switch to cuDNN's heuristics (--nondeterministic).
 * Without a GPU (or without CUDA in the build) every test prints "SKIPPED: no CUDA device".
 *
 * Tolerances (u = 2^-24; tests/tolerances.md):
 *   conv fwd / dinp / dweight / dbias   2*(K+2)*u*S + 1e-9, S = the same op on |inputs|
 *     (|initial dweight/dbias| included), K its number of terms per output: both backends are
 *     within Higham's bound (K+2)*u*S of the exact value for any summation order
 *   weight_standardize out, rstd, dweight   4u*|cpu| + 1e-12: the same double expressions
 *     rounded once to float; only the double summation order of the statistics differs
 *     (backward runs on the CPU's saved out and rstd, so forward differences do not carry)
 *   heuristic algorithms (--nondeterministic)   the bound above + 1e-5 * max S: cuDNN may
 *     pick FFT or Winograd, whose error is not term-wise bounded
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

#ifdef GB_HAVE_CUDA
#include "tests/cuda_test_util.h"

typedef struct {
    gb_conv_shape s;
    int transpose;
    int upsample; /* upsample_conv2d: s is the conv at the upsampled size, inp is half of it */
} conv_case;

typedef struct {
    size_t ni, nw, no; /* floats of inp, weight, out */
    size_t k_fwd, k_dinp, k_dw, k_db; /* terms per output of each pass */
} conv_sizes;

static conv_sizes sizes_of(const conv_case *c) {
    const gb_conv_shape *s = &c->s;
    conv_sizes z;
    size_t kk = (size_t)s->kernel_h * (size_t)s->kernel_w;
    size_t in_plane = (size_t)s->in_height * (size_t)s->in_width;
    size_t out_plane = c->transpose ? (size_t)gb_conv_transpose_out_h(s) * (size_t)gb_conv_transpose_out_w(s)
                                    : (size_t)gb_conv_out_h(s) * (size_t)gb_conv_out_w(s);
    z.ni = (size_t)s->batch * (size_t)s->in_channels * (c->upsample ? in_plane / 4 : in_plane);
    z.nw = (size_t)s->in_channels * (size_t)s->out_channels * kk;
    z.no = (size_t)s->batch * (size_t)s->out_channels * out_plane;
    z.k_fwd = (size_t)s->in_channels * kk + 1;  /* + bias */
    z.k_dinp = (size_t)s->out_channels * kk * (c->upsample ? 4 : 1); /* + the 2x2 block sums */
    /* dweight sums over the batch and the positions of the conv2d view's output grid */
    z.k_dw = (size_t)s->batch * (c->transpose ? in_plane : out_plane) + 1;
    z.k_db = (size_t)s->batch * out_plane + 1;
    return z;
}

static void fwd(gb_device *d, const conv_case *c, float *out, const float *x, const float *w,
                const float *b) {
    if (c->upsample)
        gb_upsample_conv2d_forward(d, out, x, w, b, &c->s);
    else if (c->transpose)
        gb_conv_transpose2d_forward(d, out, x, w, b, &c->s);
    else
        gb_conv2d_forward(d, out, x, w, b, &c->s);
}

static void bwd(gb_device *d, const conv_case *c, float *dinp, float *dw, float *db, const float *dout,
                const float *x, const float *w) {
    if (c->upsample)
        gb_upsample_conv2d_backward(d, dinp, dw, db, dout, x, w, &c->s);
    else if (c->transpose)
        gb_conv_transpose2d_backward(d, dinp, dw, db, dout, x, w, &c->s);
    else
        gb_conv2d_backward(d, dinp, dw, db, dout, x, w, &c->s);
}

static void to_tol(float *s, size_t n, size_t k, double extra) {
    for (size_t i = 0; i < n; i++) s[i] = (float)(2.0 * (double)(k + 2) * CT_U32 * s[i] + 1e-9 + extra);
}

static double max_of(const float *a, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, (double)a[i]);
    return m;
}

/* One shape: CPU reference, bounds, GPU forward and backward twice. loose: heuristic mode. */
static void run_case(const conv_case *c, uint64_t seed, int loose) {
    ct_seed(seed);
    const conv_sizes z = sizes_of(c);
    const size_t co = (size_t)c->s.out_channels;
    float *x = ct_rand(z.ni, -1, 1), *w = ct_rand(z.nw, -1, 1), *b = ct_rand(co, -1, 1);
    float *dout = ct_rand(z.no, -1, 1), *dw0 = ct_rand(z.nw, -1, 1), *db0 = ct_rand(co, -1, 1);

    float *r_out = ct_falloc(z.no), *r_dinp = ct_falloc(z.ni);
    float *r_dw = ct_dup(dw0, z.nw), *r_db = ct_dup(db0, co);
    fwd(&ct_cpu, c, r_out, x, w, b);
    bwd(&ct_cpu, c, r_dinp, r_dw, r_db, dout, x, w);

    float *ax = ct_abs(x, z.ni), *aw = ct_abs(w, z.nw), *ab = ct_abs(b, co), *ad = ct_abs(dout, z.no);
    float *t_out = ct_falloc(z.no), *t_dinp = ct_falloc(z.ni);
    float *t_dw = ct_abs(dw0, z.nw), *t_db = ct_abs(db0, co);
    fwd(&ct_cpu, c, t_out, ax, aw, ab);
    bwd(&ct_cpu, c, t_dinp, t_dw, t_db, ad, ax, aw);
    double slack_o = loose ? 1e-5 * max_of(t_out, z.no) : 0.0;
    double slack_i = loose ? 1e-5 * max_of(t_dinp, z.ni) : 0.0;
    double slack_w = loose ? 1e-5 * max_of(t_dw, z.nw) : 0.0;
    to_tol(t_out, z.no, z.k_fwd, slack_o);
    to_tol(t_dinp, z.ni, z.k_dinp, slack_i);
    to_tol(t_dw, z.nw, z.k_dw, slack_w);
    to_tol(t_db, co, z.k_db, 0.0);

    ct_dbuf gx = ct_dbuf_make(x, z.ni), gw = ct_dbuf_make(w, z.nw), gb = ct_dbuf_make(b, co);
    ct_dbuf gd = ct_dbuf_make(dout, z.no), go = ct_dbuf_make(NULL, z.no), gi = ct_dbuf_make(NULL, z.ni);
    ct_dbuf gdw = ct_dbuf_make(dw0, z.nw), gdb = ct_dbuf_make(db0, co);
    fwd(&ct_gpu, c, go.ptr, gx.ptr, gw.ptr, gb.ptr);
    bwd(&ct_gpu, c, gi.ptr, gdw.ptr, gdb.ptr, gd.ptr, gx.ptr, gw.ptr);

    char label[96];
    const gb_conv_shape *s = &c->s;
    snprintf(label, sizeof label, "%s %dx%dx%dx%d->%d k%dx%d s%dx%d", c->upsample ? "upconv" : c->transpose ? "convT" : "conv",
             s->batch, s->in_channels, s->in_height, s->in_width, s->out_channels, s->kernel_h,
             s->kernel_w, s->stride_h, s->stride_w);
    float *g_out = ct_falloc(z.no), *g_dinp = ct_falloc(z.ni), *g_dw = ct_falloc(z.nw), *g_db = ct_falloc(co);
    ct_dbuf_fetch(label, &go, g_out);
    ct_dbuf_fetch(label, &gi, g_dinp);
    ct_dbuf_fetch(label, &gdw, g_dw);
    ct_dbuf_fetch(label, &gdb, g_db);
    ct_dbuf_fetch(label, &gx, NULL), ct_dbuf_fetch(label, &gw, NULL), ct_dbuf_fetch(label, &gd, NULL);
    ct_expect_close("forward", g_out, r_out, z.no, t_out, 0, 0);
    ct_expect_close("dinp", g_dinp, r_dinp, z.ni, t_dinp, 0, 0);
    ct_expect_close("dweight", g_dw, r_dw, z.nw, t_dw, 0, 0);
    ct_expect_close("dbias", g_db, r_db, co, t_db, 0, 0);

    if (!loose) {
        /* Determinism: the same backward onto the same initial gradients gives the same bits. */
        ct_dbuf gi2 = ct_dbuf_make(NULL, z.ni), gdw2 = ct_dbuf_make(dw0, z.nw), gdb2 = ct_dbuf_make(db0, co);
        bwd(&ct_gpu, c, gi2.ptr, gdw2.ptr, gdb2.ptr, gd.ptr, gx.ptr, gw.ptr);
        float *h_dinp = ct_falloc(z.ni), *h_dw = ct_falloc(z.nw), *h_db = ct_falloc(co);
        ct_dbuf_fetch("rerun", &gi2, h_dinp), ct_dbuf_fetch("rerun", &gdw2, h_dw), ct_dbuf_fetch("rerun", &gdb2, h_db);
        ct_expect_bitwise("dinp run twice", h_dinp, g_dinp, z.ni);
        ct_expect_bitwise("dweight run twice", h_dw, g_dw, z.nw);
        ct_expect_bitwise("dbias run twice", h_db, g_db, co);

        /* NULL skips: dweight alone (inp still needed), then dinp alone (inp may be NULL). */
        ct_dbuf gdw3 = ct_dbuf_make(dw0, z.nw), gi3 = ct_dbuf_make(NULL, z.ni);
        bwd(&ct_gpu, c, NULL, gdw3.ptr, NULL, gd.ptr, gx.ptr, gw.ptr);
        bwd(&ct_gpu, c, gi3.ptr, NULL, NULL, gd.ptr, NULL, gw.ptr);
        ct_dbuf_fetch("dweight alone", &gdw3, h_dw), ct_dbuf_fetch("dinp alone", &gi3, h_dinp);
        ct_expect_bitwise("dweight alone", h_dw, g_dw, z.nw);
        ct_expect_bitwise("dinp alone", h_dinp, g_dinp, z.ni);
        ct_dbuf_free(&gi2), ct_dbuf_free(&gdw2), ct_dbuf_free(&gdb2), ct_dbuf_free(&gdw3), ct_dbuf_free(&gi3);
        free(h_dinp), free(h_dw), free(h_db);
    }

    ct_dbuf_free(&gx), ct_dbuf_free(&gw), ct_dbuf_free(&gb), ct_dbuf_free(&gd);
    ct_dbuf_free(&go), ct_dbuf_free(&gi), ct_dbuf_free(&gdw), ct_dbuf_free(&gdb);
    free(x), free(w), free(b), free(dout), free(dw0), free(db0), free(r_out), free(r_dinp), free(r_dw), free(r_db);
    free(ax), free(aw), free(ab), free(ad), free(t_out), free(t_dinp), free(t_dw), free(t_db);
    free(g_out), free(g_dinp), free(g_dw), free(g_db);
}

/* batch, in_channels, in_h, in_w, out_channels, kh, kw, sh, sw, ph, pw, oph, opw */
static const conv_case conv_cases[] = {
    {{2, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1, 0, 0}, 0, 0},
    {{3, 5, 9, 8, 6, 3, 2, 2, 1, 1, 0, 0, 0}, 0, 0},
    {{1, 8, 4, 4, 3, 1, 1, 1, 1, 0, 0, 0, 0}, 0, 0},     /* 1x1 */
    {{4, 16, 16, 16, 32, 4, 4, 2, 2, 1, 1, 0, 0}, 0, 0}, /* DCGAN critic layer */
    {{2, 3, 32, 32, 16, 7, 7, 1, 1, 3, 3, 0, 0}, 0, 0},  /* U-Net stem */
    {{2, 4, 1, 1, 5, 1, 1, 1, 1, 0, 0, 0, 0}, 0, 0},     /* a 1x1 image */
};

static const conv_case transpose_cases[] = {
    {{2, 8, 4, 4, 4, 4, 4, 2, 2, 1, 1, 0, 0}, 1, 0}, /* DCGAN generator layer */
    {{3, 5, 5, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1}, 1, 0}, /* output_padding */
    {{2, 4, 1, 1, 6, 4, 4, 1, 1, 0, 0, 0, 0}, 1, 0}, /* latent 1x1 -> 4x4 */
    {{1, 3, 6, 7, 5, 3, 2, 3, 2, 0, 1, 2, 1}, 1, 0}, /* uneven stride, padding, output_padding */
};

Test(cuda_conv, conv2d_against_cpu, .fini = ct_close) {
    CT_REQUIRE_GPU();
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) run_case(&conv_cases[i], 100 + i, 0);
}

Test(cuda_conv, conv_transpose2d_against_cpu, .fini = ct_close) {
    CT_REQUIRE_GPU();
    for (size_t i = 0; i < sizeof transpose_cases / sizeof transpose_cases[0]; i++)
        run_case(&transpose_cases[i], 200 + i, 0);
}

/* upsample_conv2d: the generators' UpSampleConv2D (both backends' plain route on a default device) */
static const conv_case upsample_cases[] = {
    {{2, 5, 10, 14, 4, 3, 3, 1, 1, 1, 1, 0, 0}, 0, 1},    /* odd low-resolution 5x7 */
    {{4, 32, 16, 16, 32, 3, 3, 1, 1, 1, 1, 0, 0}, 0, 1},  /* CMU generator block, narrowed */
    {{3, 6, 8, 8, 3, 1, 1, 1, 1, 0, 0, 0, 0}, 0, 1},      /* 1x1 shortcut */
};

Test(cuda_conv, upsample_conv2d_against_cpu, .fini = ct_close) {
    CT_REQUIRE_GPU();
    for (size_t i = 0; i < sizeof upsample_cases / sizeof upsample_cases[0]; i++)
        run_case(&upsample_cases[i], 300 + i, 0);
}

/* The CUDA route checks the CPU's shape rule (gb_upsample_conv2d_check_shape) before any CUDA
 * call: an odd upsampled size would leave rows of its staging buffer unwritten and feed them to
 * cuDNN. In a child process (a skipped test cannot also expect a signal); the check aborts
 * before the child would touch the parent's CUDA context. */
Test(cuda_conv, upsample_conv2d_odd_size_aborts, .fini = ct_close) {
    CT_REQUIRE_GPU();
    gb_conv_shape s = {.batch = 1, .in_channels = 2, .in_height = 9, .in_width = 8, .out_channels = 2,
                       .kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1};
    float *x = gb_dev_alloc(&ct_gpu, 2 * 4 * 4 * sizeof(float)), *w = gb_dev_alloc(&ct_gpu, 36 * sizeof(float));
    float *out = gb_dev_alloc(&ct_gpu, 2 * 9 * 8 * sizeof(float));
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        gb_upsample_conv2d_forward(&ct_gpu, out, x, w, NULL, &s);
        _exit(0);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "an odd upsampled size must abort (status 0x%x)",
              status);
    gb_dev_free(&ct_gpu, x), gb_dev_free(&ct_gpu, w), gb_dev_free(&ct_gpu, out);
}

Test(cuda_conv, batch_zero_writes_nothing, .fini = ct_close) {
    CT_REQUIRE_GPU();
    for (int t = 0; t < 2; t++) {
        conv_case c = {{0, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, 0, 0}, t, 0};
        ct_seed(7);
        float *w = ct_rand(3 * 4 * 9, -1, 1), *dw0 = ct_rand(3 * 4 * 9, -1, 1), *back = ct_falloc(36);
        ct_dbuf gw = ct_dbuf_make(w, 36), gdw = ct_dbuf_make(dw0, 36), go = ct_dbuf_make(NULL, 1);
        fwd(&ct_gpu, &c, go.ptr, go.ptr, gw.ptr, NULL);
        bwd(&ct_gpu, &c, go.ptr, gdw.ptr, NULL, go.ptr, go.ptr, gw.ptr);
        ct_dbuf_fetch("batch 0", &gdw, back);
        ct_expect_bitwise("batch 0 leaves dweight", back, dw0, 36);
        ct_dbuf_fetch("batch 0 out", &go, NULL);
        ct_dbuf_free(&gw), ct_dbuf_free(&gdw), ct_dbuf_free(&go);
        free(w), free(dw0), free(back);
    }
}

Test(cuda_conv, algorithm_record_and_nondeterministic_mode, .fini = ct_close) {
    CT_REQUIRE_GPU();
    char small[16], rec[4096];
    size_t need = gb_cuda_conv_algorithms(&ct_gpu, rec, sizeof rec);
    cr_expect(need > 0 && need == strlen(rec), "record length %zu vs %zu", need, strlen(rec));
    cr_expect(strstr(rec, "deterministic allow-list") != NULL, "fresh device record: %s", rec);

    run_case(&conv_cases[1], 300, 0);
    run_case(&transpose_cases[1], 301, 0);
    need = gb_cuda_conv_algorithms(&ct_gpu, rec, sizeof rec);
    cr_assert(need < sizeof rec, "record of %zu bytes", need);
    printf("algorithm record:\n%s", rec);
    cr_expect(strstr(rec, "cuDNN 9.") != NULL, "no cuDNN version: %s", rec);
    cr_expect(strstr(rec, "conv2d 3x5x9x8 -> 6 k3x2 s2x1 p1x0 op0x0: fwd ") != NULL, "%s", rec);
    cr_expect(strstr(rec, "conv_transpose2d 3x5x5x3 -> 2 k3x3 s2x2 p1x1 op1x1: fwd ") != NULL, "%s", rec);
    cr_expect(strstr(rec, "ALGO_0") == NULL && strstr(rec, "ALGO_3") == NULL,
              "an atomic (non-deterministic) algorithm in deterministic mode: %s", rec);
    cr_expect(strstr(rec, "fwd -") == NULL && strstr(rec, "bwd_data -") == NULL &&
                  strstr(rec, "bwd_filter -") == NULL,
              "every direction ran, so every direction has an algorithm: %s", rec);

    size_t got = gb_cuda_conv_algorithms(&ct_gpu, small, sizeof small);
    cr_expect_eq(got, need, "truncated call returns the full length");
    cr_expect_eq(strlen(small), sizeof small - 1);
    cr_expect(strncmp(small, rec, sizeof small - 1) == 0);

    gb_cuda_set_nondeterministic(&ct_gpu, 1);
    gb_cuda_conv_algorithms(&ct_gpu, rec, sizeof rec);
    cr_expect(strstr(rec, "--nondeterministic") != NULL && strstr(rec, "fwd -, bwd_data -, bwd_filter -") != NULL,
              "switching modes forgets the chosen algorithms: %s", rec);
    run_case(&conv_cases[3], 302, 1);
    run_case(&transpose_cases[0], 303, 1);
    gb_cuda_conv_algorithms(&ct_gpu, rec, sizeof rec);
    printf("heuristic record:\n%s", rec);
}

/* weight_standardize: rows x fan_in; forward, backward onto random dweight, run twice. */
static void ws_case(int rows, int fan_in, float eps, uint64_t seed) {
    ct_seed(seed);
    const size_t n = (size_t)rows * (size_t)fan_in;
    float *w = ct_rand(n, -2, 3), *g = ct_rand(n, -1, 1), *dw0 = ct_rand(n, -1, 1);
    float *r_out = ct_falloc(n), *r_rstd = ct_falloc((size_t)rows), *r_dw = ct_dup(dw0, n);
    gb_weight_standardize_forward(&ct_cpu, r_out, r_rstd, w, rows, fan_in, eps);
    gb_weight_standardize_backward(&ct_cpu, r_dw, g, r_out, r_rstd, rows, fan_in);

    ct_dbuf gw = ct_dbuf_make(w, n), gg = ct_dbuf_make(g, n), go = ct_dbuf_make(NULL, n);
    ct_dbuf gr = ct_dbuf_make(NULL, (size_t)rows), gdw = ct_dbuf_make(dw0, n), gdw2 = ct_dbuf_make(dw0, n);
    gb_weight_standardize_forward(&ct_gpu, go.ptr, gr.ptr, gw.ptr, rows, fan_in, eps);
    /* backward from the CPU's saved out and rstd, so it is checked on its own */
    ct_dbuf gro = ct_dbuf_make(r_out, n), grr = ct_dbuf_make(r_rstd, (size_t)rows);
    gb_weight_standardize_backward(&ct_gpu, gdw.ptr, gg.ptr, gro.ptr, grr.ptr, rows, fan_in);
    gb_weight_standardize_backward(&ct_gpu, gdw2.ptr, gg.ptr, gro.ptr, grr.ptr, rows, fan_in);
    gb_weight_standardize_backward(&ct_gpu, NULL, gg.ptr, gro.ptr, grr.ptr, rows, fan_in);

    float *out = ct_falloc(n), *rstd = ct_falloc((size_t)rows), *dw = ct_falloc(n), *dw2 = ct_falloc(n);
    char label[64];
    snprintf(label, sizeof label, "weight_standardize %dx%d", rows, fan_in);
    ct_dbuf_fetch(label, &go, out), ct_dbuf_fetch(label, &gr, rstd);
    ct_dbuf_fetch(label, &gdw, dw), ct_dbuf_fetch(label, &gdw2, dw2);
    ct_dbuf_fetch(label, &gw, NULL), ct_dbuf_fetch(label, &gg, NULL);
    ct_expect_close("ws out", out, r_out, n, NULL, 1e-12, 4 * CT_U32);
    ct_expect_close("ws rstd", rstd, r_rstd, (size_t)rows, NULL, 1e-12, 4 * CT_U32);
    ct_expect_close("ws dweight", dw, r_dw, n, NULL, 1e-12, 4 * CT_U32);
    ct_expect_bitwise("ws dweight run twice", dw2, dw, n);
    ct_dbuf_fetch(label, &gro, NULL), ct_dbuf_fetch(label, &grr, NULL);
    ct_dbuf_free(&gw), ct_dbuf_free(&gg), ct_dbuf_free(&go), ct_dbuf_free(&gr), ct_dbuf_free(&gdw), ct_dbuf_free(&gdw2);
    ct_dbuf_free(&gro), ct_dbuf_free(&grr);
    free(w), free(g), free(dw0), free(r_out), free(r_rstd), free(r_dw), free(out), free(rstd), free(dw), free(dw2);
}

Test(cuda_conv, weight_standardize_against_cpu, .fini = ct_close) {
    CT_REQUIRE_GPU();
    const int rows[] = {1, 7, 64};
    const int fans[] = {1, 9, 27, 257, 1153, 4608};
    uint64_t seed = 400;
    for (size_t r = 0; r < 3; r++)
        for (size_t f = 0; f < 6; f++) ws_case(rows[r], fans[f], 1e-5f, seed++);
    ws_case(5, 300, 0.0f, seed++);
}

#else /* no CUDA backend in this build */

Test(cuda_conv, skipped_without_cuda_build) {
    printf("SKIPPED: no CUDA device (this build has no CUDA backend: nvcc was not found)\n");
    fflush(stdout);
    cr_skip_test("SKIPPED: no CUDA device (no CUDA backend in this build)");
}

#endif
