/* tests/test_kernels_cuda.c - every CUDA op against the CPU backend.
 *
 * The CPU backend is the reference (itself checked against float64 and
 * PyTorch by tests/test_kernels_cpu.c). Shapes include awkward ones (rows 1,
 * 7, 129; features 3, 127) and one large enough for many blocks. Every device
 * buffer sits between guard regions filled with a sentinel bit pattern, checked
 * after each op (out-of-bounds writes); outputs start as NaN (an op that must
 * overwrite may not read them) and inputs must come back unchanged (the helpers
 * of tests/cuda_test_util.h).
 * Without a GPU (or without CUDA in the build) each test prints
 * "SKIPPED: no CUDA device" and reports itself skipped via cr_skip_test.
 * The table's completeness test reads the global table and runs without a GPU; the
 * convolutions (cuDNN) are compared with the CPU backend by tests/test_cuda_conv.c.
 * The other CUDA ops are compared with the CPU backend by tests/test_kernels_cuda_ops.c and
 * tests/test_kernels_cuda_attn_loss.c.
 *
 * Tolerances (u = 2^-24):
 *   op                 tolerance                 why
 *   linear (all)       2*(K+2)*u*S + 1e-9        both backends are within Higham's bound
 *                                                (K+2)*u*S of the exact value, S = sum |terms|
 *                                                (computed with the CPU backend on |inputs|,
 *                                                |initial dweight/dbias| included)
 *   softplus fwd/bwd   bitwise                   both evaluate vmath.h's polynomials in the same
 *                                                order (kernels/cuda/vmath.cuh, _rn intrinsics)
 *   loss value         2u*|cpu|                  both sum in double; orders differ
 *   dpred, Adam        bitwise                   the same IEEE operations in the same order
 *                                                (_rn intrinsics: no FMA contraction)
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

#ifdef GB_HAVE_CUDA

#include "kernels/cpu/cpu.h"
#include "kernels/cuda/cuda_backend.h"
#include "tests/cuda_test_util.h"
#include "tests/copy_rows_case.h"

/* tol[i] = 2*(K+2)*u*S[i] + 1e-9 */
static void bound_to_tol(float *s, size_t n, size_t k) {
    for (size_t i = 0; i < n; i++) s[i] = (float)(2.0 * (double)(k + 2) * CT_U32 * s[i] + 1e-9);
}

/* Every table entry is filled (no GPU needed), so gb_device_open("cuda") accepts the table. */
Test(cuda, table_is_complete) {
    const gb_backend *t = gb_cuda_backend_table();
    cr_expect_str_eq(t->name, "cuda");
    const char *missing = gb_backend_missing_op(t);
    cr_expect_null(missing, "the CUDA table lacks '%s'", missing ? missing : "");
}

/* Opening "cuda" by name gives the CUDA table. */
Test(cuda, open_by_name) {
    if (!gb_cuda_available()) {
        printf("SKIPPED: no CUDA device\n");
        fflush(stdout);
        cr_skip_test("SKIPPED: no CUDA device");
    }
    gb_device d;
    cr_assert_eq(gb_device_open(&d, "cuda", 1), GB_OK, "%s", gb_last_error());
    cr_expect_str_eq(d.ops->name, "cuda");
    gb_device_close(&d);
}

Test(cuda, device_and_memory, .fini = ct_close) {
    CT_REQUIRE_GPU();
    cr_expect_str_eq(ct_gpu.ops->name, "cuda");
    cr_expect(strncmp(ct_gpu.name, "cuda (", 6) == 0, "name: %s", ct_gpu.name);
    ct_seed(1);
    const size_t n = 1001;
    float *h = ct_rand(n, -1, 1), *back = ct_falloc(n);
    ct_dbuf a = ct_dbuf_make(h, n), b = ct_dbuf_make(NULL, n);
    gb_dev_copy(&ct_gpu, b.ptr, a.ptr, n * sizeof(float));
    ct_dbuf_fetch("copy", &b, back);
    ct_expect_bitwise("upload/copy/download", back, h, n);
    gb_dev_zero(&ct_gpu, b.ptr, n * sizeof(float));
    gb_dev_sync(&ct_gpu);
    ct_dbuf_fetch("zero", &b, back);
    for (size_t i = 0; i < n; i++) cr_expect_eq(back[i], 0.0f, "zero [%zu]", i);
    ct_dbuf_free(&a), ct_dbuf_free(&b), free(h), free(back);
}

/* Page-locked host blocks: filled on the host, uploaded and read back intact. */
Test(cuda, pinned_host_blocks_round_trip, .fini = ct_close) {
    CT_REQUIRE_GPU();
    const size_t n = 100003;
    float *h = gb_device_host_alloc(&ct_gpu, n * sizeof *h), *back = ct_falloc(n);
    cr_assert_not_null(h);
    for (size_t i = 0; i < n; i++) h[i] = (float)i * 0.5f;
    float *d = gb_dev_alloc(&ct_gpu, n * sizeof *d);
    gb_upload(&ct_gpu, d, h, n * sizeof *h);
    gb_download(&ct_gpu, back, d, n * sizeof *back);
    ct_expect_bitwise("pinned upload", back, h, n);
    gb_dev_free(&ct_gpu, d);
    gb_device_host_free(&ct_gpu, h);
    free(back);
}

Test(cuda, copy_rows_matches_definition, .fini = ct_close) {
    CT_REQUIRE_GPU();
    copy_rows_case(&ct_gpu);
}

static void linear_case(size_t rows, size_t in, size_t out, uint64_t seed) {
    ct_seed(seed);
    gb_linear_shape s = {rows, in, out};
    const size_t ni = rows * in, nw = out * in, no = rows * out;
    float *x = ct_rand(ni, -1, 1), *w = ct_rand(nw, -1, 1), *b = ct_rand(out, -1, 1);
    float *dout = ct_rand(no, -1, 1);
    float *dw0 = ct_rand(nw, -1, 1), *db0 = ct_rand(out, -1, 1); /* accumulate onto these */

    /* CPU reference */
    float *c_out = ct_falloc(no), *c_dinp = ct_falloc(ni), *c_dw = ct_falloc(nw), *c_db = ct_falloc(out);
    memcpy(c_dw, dw0, nw * sizeof(float));
    memcpy(c_db, db0, out * sizeof(float));
    gb_linear_forward(&ct_cpu, c_out, x, w, b, &s);
    gb_linear_backward(&ct_cpu, c_dinp, c_dw, c_db, dout, x, w, &s);

    /* error bounds from |inputs| through the CPU ops */
    float *ax = ct_abs(x, ni), *aw = ct_abs(w, nw), *ab = ct_abs(b, out), *ad = ct_abs(dout, no);
    /* the accumulators' starting values are rounded into the result too */
    float *t_out = ct_falloc(no), *t_dinp = ct_falloc(ni), *t_dw = ct_abs(dw0, nw), *t_db = ct_abs(db0, out);
    gb_linear_forward(&ct_cpu, t_out, ax, aw, ab, &s);
    gb_linear_backward(&ct_cpu, t_dinp, t_dw, t_db, ad, ax, aw, &s);
    bound_to_tol(t_out, no, in);
    bound_to_tol(t_dinp, ni, out);
    bound_to_tol(t_dw, nw, rows);
    bound_to_tol(t_db, out, rows);

    /* CUDA, every buffer guarded */
    ct_dbuf gx = ct_dbuf_make(x, ni), gw = ct_dbuf_make(w, nw), gb = ct_dbuf_make(b, out), gd = ct_dbuf_make(dout, no);
    ct_dbuf go = ct_dbuf_make(NULL, no), gdi = ct_dbuf_make(NULL, ni), gdw = ct_dbuf_make(dw0, nw),
         gdb = ct_dbuf_make(db0, out);
    gb_linear_forward(&ct_gpu, go.ptr, gx.ptr, gw.ptr, gb.ptr, &s);
    gb_linear_backward(&ct_gpu, gdi.ptr, gdw.ptr, gdb.ptr, gd.ptr, gx.ptr, gw.ptr, &s);
    float *g_out = ct_falloc(no), *g_dinp = ct_falloc(ni), *g_dw = ct_falloc(nw), *g_db = ct_falloc(out);
    char l[96];
    snprintf(l, sizeof l, "linear %zu x %zu -> %zu", rows, in, out);
    ct_dbuf_fetch(l, &go, g_out);
    ct_dbuf_fetch(l, &gdi, g_dinp);
    ct_dbuf_fetch(l, &gdw, g_dw);
    ct_dbuf_fetch(l, &gdb, g_db);
    ct_dbuf_fetch(l, &gx, NULL), ct_dbuf_fetch(l, &gw, NULL), ct_dbuf_fetch(l, &gb, NULL), ct_dbuf_fetch(l, &gd, NULL);
    snprintf(l, sizeof l, "out (%zu x %zu -> %zu)", rows, in, out);
    ct_expect_close(l, g_out, c_out, no, t_out, 0, 0);
    snprintf(l, sizeof l, "dinp (%zu x %zu -> %zu)", rows, in, out);
    ct_expect_close(l, g_dinp, c_dinp, ni, t_dinp, 0, 0);
    snprintf(l, sizeof l, "dweight (%zu x %zu -> %zu)", rows, in, out);
    ct_expect_close(l, g_dw, c_dw, nw, t_dw, 0, 0);
    snprintf(l, sizeof l, "dbias (%zu x %zu -> %zu)", rows, in, out);
    ct_expect_close(l, g_db, c_db, out, t_db, 0, 0);

    /* NULL dinp / dbias are skipped; a second backward gives the same dweight
     * increment (deterministic: no atomics, fixed cuBLAS workspace). */
    float *g_dw2 = ct_falloc(nw);
    gb_dev_zero(&ct_gpu, gdw.ptr, nw * sizeof(float));
    gb_linear_backward(&ct_gpu, NULL, gdw.ptr, NULL, gd.ptr, gx.ptr, gw.ptr, &s);
    ct_dbuf_fetch(l, &gdw, g_dw);
    gb_dev_zero(&ct_gpu, gdw.ptr, nw * sizeof(float));
    gb_linear_backward(&ct_gpu, NULL, gdw.ptr, NULL, gd.ptr, gx.ptr, gw.ptr, &s);
    ct_dbuf_fetch(l, &gdw, g_dw2);
    snprintf(l, sizeof l, "dweight run twice (%zu x %zu -> %zu)", rows, in, out);
    ct_expect_bitwise(l, g_dw2, g_dw, nw);

    ct_dbuf *all[] = {&gx, &gw, &gb, &gd, &go, &gdi, &gdw, &gdb};
    for (size_t i = 0; i < 8; i++) ct_dbuf_free(all[i]);
    float *hosts[] = {x, w, b, dout, dw0, db0, c_out, c_dinp, c_dw, c_db, ax, aw, ab, ad, t_out,
                      t_dinp, t_dw, t_db, g_out, g_dinp, g_dw, g_db, g_dw2};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) free(hosts[i]);
}

Test(cuda, linear_matches_cpu, .fini = ct_close) {
    CT_REQUIRE_GPU();
    const size_t rows[] = {1, 7, 129}, feats[] = {3, 127};
    uint64_t seed = 100;
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 2; b++)
            for (size_t c = 0; c < 2; c++) linear_case(rows[a], feats[b], feats[c], seed++);
    linear_case(4000, 128, 128, seed++);
    linear_case(33, 128, 1, seed++);
}

Test(cuda, softplus_matches_cpu, .fini = ct_close) {
    CT_REQUIRE_GPU();
    const size_t sizes[] = {1, 7, 129, 100003};
    for (size_t k = 0; k < 4; k++) {
        ct_seed(200 + k);
        const size_t n = sizes[k];
        float *x = ct_rand(n, -100, 100), *dout = ct_rand(n, -2, 2);
        const float special[] = {19.9f, 20.0f, 20.1f, -20.0f, 0.0f, -87.5f, -100.0f, INFINITY, -INFINITY};
        for (size_t i = 0; i < n && i < 9; i++) x[i] = special[i];
        float *c_out = ct_falloc(n), *c_d = ct_falloc(n), *g_out = ct_falloc(n), *g_d = ct_falloc(n);
        gb_softplus_forward(&ct_cpu, c_out, x, n);
        gb_softplus_backward(&ct_cpu, c_d, dout, x, n);
        ct_dbuf gx = ct_dbuf_make(x, n), gd = ct_dbuf_make(dout, n), go = ct_dbuf_make(NULL, n), gg = ct_dbuf_make(NULL, n);
        gb_softplus_forward(&ct_gpu, go.ptr, gx.ptr, n);
        gb_softplus_backward(&ct_gpu, gg.ptr, gd.ptr, gx.ptr, n);
        char l[64];
        snprintf(l, sizeof l, "softplus n=%zu", n);
        ct_dbuf_fetch(l, &go, g_out), ct_dbuf_fetch(l, &gg, g_d), ct_dbuf_fetch(l, &gx, NULL), ct_dbuf_fetch(l, &gd, NULL);
        snprintf(l, sizeof l, "softplus out n=%zu", n);
        ct_expect_bitwise(l, g_out, c_out, n);
        snprintf(l, sizeof l, "softplus dinp n=%zu", n);
        ct_expect_bitwise(l, g_d, c_d, n);
        ct_dbuf_free(&gx), ct_dbuf_free(&gd), ct_dbuf_free(&go), ct_dbuf_free(&gg);
        free(x), free(dout), free(c_out), free(c_d), free(g_out), free(g_d);
    }
}

Test(cuda, half_sq_error_matches_cpu, .fini = ct_close) {
    CT_REQUIRE_GPU();
    const size_t shapes[][2] = {{1, 1}, {1, 3}, {7, 127}, {129, 3}, {4000, 128}};
    for (size_t k = 0; k < 5; k++) {
        ct_seed(300 + k);
        const size_t rows = shapes[k][0], cols = shapes[k][1], n = rows * cols;
        float *p = ct_rand(n, -3, 3), *t = ct_rand(n, -3, 3);
        float c_loss, g_loss, *c_dp = ct_falloc(n), *g_dp = ct_falloc(n);
        gb_half_sq_error(&ct_cpu, &c_loss, c_dp, p, t, rows, cols);
        ct_dbuf gp = ct_dbuf_make(p, n), gt = ct_dbuf_make(t, n), gdp = ct_dbuf_make(NULL, n), gl = ct_dbuf_make(NULL, 1);
        gb_half_sq_error(&ct_gpu, gl.ptr, gdp.ptr, gp.ptr, gt.ptr, rows, cols);
        char l[64];
        snprintf(l, sizeof l, "loss %zu x %zu", rows, cols);
        ct_dbuf_fetch(l, &gl, &g_loss), ct_dbuf_fetch(l, &gdp, g_dp);
        ct_dbuf_fetch(l, &gp, NULL), ct_dbuf_fetch(l, &gt, NULL);
        ct_expect_close(l, &g_loss, &c_loss, 1, NULL, 0, 2 * CT_U32);
        snprintf(l, sizeof l, "dpred %zu x %zu", rows, cols);
        ct_expect_bitwise(l, g_dp, c_dp, n);
        /* NULL dpred, and the same loss again (deterministic reduction) */
        float g_loss2;
        gb_half_sq_error(&ct_gpu, gl.ptr, NULL, gp.ptr, gt.ptr, rows, cols);
        ct_dbuf_fetch(l, &gl, &g_loss2);
        ct_expect_bitwise("loss run twice", &g_loss2, &g_loss, 1);
        ct_dbuf_free(&gp), ct_dbuf_free(&gt), ct_dbuf_free(&gdp), ct_dbuf_free(&gl);
        free(p), free(t), free(c_dp), free(g_dp);
    }
}

Test(cuda, adam_bitwise_equal_to_cpu, .fini = ct_close) {
    /* also exercises the GB_SYNC_DEBUG path (synchronise after each launch) */
    setenv("GB_SYNC_DEBUG", "1", 1);
    CT_REQUIRE_GPU();
    const gb_adam_hparams hps[] = {
        {0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 0},
        {0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, 0},
        {1e-3f, 0.5f, 0.99f, 1e-6f, 0.1f, 1},
    };
    const size_t sizes[] = {1, 7, 129, 100003};
    for (size_t h = 0; h < 3; h++)
        for (size_t k = 0; k < 4; k++) {
            ct_seed(400 + h * 10 + k);
            const size_t n = sizes[k];
            float *p = ct_rand(n, -2, 2), *m = ct_falloc(n), *v = ct_falloc(n);
            ct_dbuf gp = ct_dbuf_make(p, n), gm = ct_dbuf_make(m, n), gv = ct_dbuf_make(v, n);
            for (long step = 1; step <= 3; step++) {
                float *g = ct_rand(n, -1, 1);
                g[0] = 0.0f;
                ct_dbuf gg = ct_dbuf_make(g, n);
                gb_adam_update(&ct_cpu, p, g, m, v, n, &hps[h], step);
                gb_adam_update(&ct_gpu, gp.ptr, gg.ptr, gm.ptr, gv.ptr, n, &hps[h], step);
                float *gp_h = ct_falloc(n), *gm_h = ct_falloc(n), *gv_h = ct_falloc(n);
                char l[64];
                snprintf(l, sizeof l, "adam hp %zu n=%zu step %ld", h, n, step);
                ct_dbuf_fetch(l, &gp, gp_h), ct_dbuf_fetch(l, &gm, gm_h), ct_dbuf_fetch(l, &gv, gv_h);
                ct_dbuf_fetch(l, &gg, NULL);
                ct_expect_bitwise(l, gp_h, p, n);
                ct_expect_bitwise("adam m", gm_h, m, n);
                ct_expect_bitwise("adam v", gv_h, v, n);
                ct_dbuf_free(&gg);
                free(g), free(gp_h), free(gm_h), free(gv_h);
            }
            ct_dbuf_free(&gp), ct_dbuf_free(&gm), ct_dbuf_free(&gv);
            free(p), free(m), free(v);
        }
}

#else /* no CUDA backend in this build */

Test(cuda, skipped_without_cuda_build) {
    printf("SKIPPED: no CUDA device (this build has no CUDA backend: nvcc was not found)\n");
    fflush(stdout);
    cr_skip_test("SKIPPED: no CUDA device (no CUDA backend in this build)");
}

#endif
