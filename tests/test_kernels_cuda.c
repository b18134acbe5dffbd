/* tests/test_kernels_cuda.c - every CUDA op against the CPU backend.
 *
 * The CPU backend is the reference (itself checked against float64 and
 * PyTorch by tests/test_kernels_cpu.c). Shapes include awkward ones (rows 1,
 * 7, 129; features 3, 127) and one large enough for many blocks. Every output
 * buffer sits between guard regions filled with a sentinel bit pattern, and
 * the guards are checked after each op (out-of-bounds writes), inputs too.
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
#include "tests/copy_rows_case.h"

#define U32 5.9604644775390625e-8 /* 2^-24 */
enum { GUARD = 64 };              /* floats of guard on each side of a device buffer */
static const uint32_t SENTINEL = 0xdeadbeef; /* -6.3e18: finite, so no NaN payload can pass it on */

static gb_device cpu, gpu;
static int gpu_open;
static uint64_t rng_state, rng_seed;

/* Skip (visibly) without a GPU; otherwise open both backends (the GPU directly, see the
 * header). */
#define REQUIRE_GPU()                                                             \
    do {                                                                          \
        if (!gb_cuda_available()) {                                               \
            printf("SKIPPED: no CUDA device\n");                                  \
            fflush(stdout);                                                       \
            cr_skip_test("SKIPPED: no CUDA device");                              \
        }                                                                         \
        cr_assert_eq(gb_device_open(&cpu, "cpu", 2), GB_OK, "%s", gb_last_error()); \
        cr_assert_eq(gb_cuda_device_open(&gpu), GB_OK, "%s", gb_last_error()); \
        gpu_open = 1;                                                             \
    } while (0)

static void close_devices(void) {
    if (!gpu_open) return;
    gb_device_close(&gpu);
    gb_device_close(&cpu);
    gpu_open = 0;
}

static void seed_rng(uint64_t seed) { rng_seed = rng_state = seed; }
static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static float *rand_floats(size_t n, float lo, float hi) {
    float *a = malloc((n ? n : 1) * sizeof *a);
    cr_assert_not_null(a);
    for (size_t i = 0; i < n; i++)
        a[i] = lo + (hi - lo) * (float)((double)(rng_next() >> 40) / 16777216.0);
    return a;
}
static float *falloc(size_t n) {
    float *a = calloc(n ? n : 1, sizeof *a);
    cr_assert_not_null(a);
    return a;
}

/* A device buffer of n floats with GUARD sentinel floats on each side. */
typedef struct {
    float *base; /* device: GUARD + n + GUARD floats */
    float *ptr;  /* device: the n floats the op sees */
    size_t n;
} dbuf;

static dbuf dbuf_make(const float *host, size_t n) {
    dbuf b = {.n = n};
    size_t total = n + 2 * GUARD;
    float *h = malloc(total * sizeof *h);
    cr_assert_not_null(h);
    for (size_t i = 0; i < total; i++) memcpy(&h[i], &SENTINEL, sizeof SENTINEL);
    if (host) memcpy(h + GUARD, host, n * sizeof *h);
    b.base = gb_dev_alloc(&gpu, total * sizeof(float));
    b.ptr = b.base + GUARD;
    gb_upload(&gpu, b.base, h, total * sizeof *h);
    free(h);
    return b;
}

/* Download the payload into host (may be NULL) and check both guards. */
static void dbuf_fetch(const char *label, dbuf *b, float *host) {
    size_t total = b->n + 2 * GUARD;
    uint32_t *h = malloc(total * sizeof *h);
    cr_assert_not_null(h);
    gb_download(&gpu, h, b->base, total * sizeof *h);
    size_t bad = 0;
    for (size_t i = 0; i < total; i++) {
        if (i >= GUARD && i < GUARD + b->n) continue;
        if (h[i] != SENTINEL) {
            if (bad < 3)
                cr_log_error("%s: guard word %ld (relative to the buffer start) overwritten: 0x%08x",
                             label, (long)i - GUARD, h[i]);
            bad++;
        }
    }
    cr_expect_eq(bad, 0, "%s: %zu guard words overwritten (seed %llu)", label, bad,
                 (unsigned long long)rng_seed);
    if (host) memcpy(host, h + GUARD, b->n * sizeof(float));
    free(h);
}

static void dbuf_free(dbuf *b) { gb_dev_free(&gpu, b->base); }

/* |got - want| <= tol[i] (or atol + rtol*|want| when tol is NULL). */
static void expect_close(const char *label, const float *got, const float *want, size_t n,
                         const float *tol, double atol, double rtol) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double t = tol ? (double)tol[i] : atol + rtol * fabs((double)want[i]);
        double diff = fabs((double)got[i] - (double)want[i]);
        if (!(diff <= t)) {
            if (bad < 5)
                cr_log_error("%s[%zu]: cuda %.9g, cpu %.9g (diff %.3g > tol %.3g), seed %llu", label, i,
                             (double)got[i], (double)want[i], diff, t, (unsigned long long)rng_seed);
            bad++;
        }
    }
    cr_expect_eq(bad, 0, "%s: %zu of %zu elements differ (seed %llu)", label, bad, n,
                 (unsigned long long)rng_seed);
}

static void expect_bitwise(const char *label, const float *got, const float *want, size_t n) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0) {
            if (bad < 5)
                cr_log_error("%s[%zu]: cuda %.9g, cpu %.9g (must be bitwise equal), seed %llu", label,
                             i, (double)got[i], (double)want[i], (unsigned long long)rng_seed);
            bad++;
        }
    cr_expect_eq(bad, 0, "%s: %zu of %zu elements not bitwise equal (seed %llu)", label, bad, n,
                 (unsigned long long)rng_seed);
}

static float *abs_copy(const float *a, size_t n) {
    float *b = falloc(n);
    for (size_t i = 0; i < n; i++) b[i] = fabsf(a[i]);
    return b;
}

/* tol[i] = 2*(K+2)*u*S[i] + 1e-9 */
static void bound_to_tol(float *s, size_t n, size_t k) {
    for (size_t i = 0; i < n; i++) s[i] = (float)(2.0 * (double)(k + 2) * U32 * s[i] + 1e-9);
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

Test(cuda, device_and_memory, .fini = close_devices) {
    REQUIRE_GPU();
    cr_expect_str_eq(gpu.ops->name, "cuda");
    cr_expect(strncmp(gpu.name, "cuda (", 6) == 0, "name: %s", gpu.name);
    seed_rng(1);
    const size_t n = 1001;
    float *h = rand_floats(n, -1, 1), *back = falloc(n);
    dbuf a = dbuf_make(h, n), b = dbuf_make(NULL, n);
    gb_dev_copy(&gpu, b.ptr, a.ptr, n * sizeof(float));
    dbuf_fetch("copy", &b, back);
    expect_bitwise("upload/copy/download", back, h, n);
    gb_dev_zero(&gpu, b.ptr, n * sizeof(float));
    gb_dev_sync(&gpu);
    dbuf_fetch("zero", &b, back);
    for (size_t i = 0; i < n; i++) cr_expect_eq(back[i], 0.0f, "zero [%zu]", i);
    dbuf_free(&a), dbuf_free(&b), free(h), free(back);
}

Test(cuda, copy_rows_matches_definition, .fini = close_devices) {
    REQUIRE_GPU();
    copy_rows_case(&gpu);
}

static void linear_case(size_t rows, size_t in, size_t out, uint64_t seed) {
    seed_rng(seed);
    gb_linear_shape s = {rows, in, out};
    const size_t ni = rows * in, nw = out * in, no = rows * out;
    float *x = rand_floats(ni, -1, 1), *w = rand_floats(nw, -1, 1), *b = rand_floats(out, -1, 1);
    float *dout = rand_floats(no, -1, 1);
    float *dw0 = rand_floats(nw, -1, 1), *db0 = rand_floats(out, -1, 1); /* accumulate onto these */

    /* CPU reference */
    float *c_out = falloc(no), *c_dinp = falloc(ni), *c_dw = falloc(nw), *c_db = falloc(out);
    memcpy(c_dw, dw0, nw * sizeof(float));
    memcpy(c_db, db0, out * sizeof(float));
    gb_linear_forward(&cpu, c_out, x, w, b, &s);
    gb_linear_backward(&cpu, c_dinp, c_dw, c_db, dout, x, w, &s);

    /* error bounds from |inputs| through the CPU ops */
    float *ax = abs_copy(x, ni), *aw = abs_copy(w, nw), *ab = abs_copy(b, out), *ad = abs_copy(dout, no);
    /* the accumulators' starting values are rounded into the result too */
    float *t_out = falloc(no), *t_dinp = falloc(ni), *t_dw = abs_copy(dw0, nw), *t_db = abs_copy(db0, out);
    gb_linear_forward(&cpu, t_out, ax, aw, ab, &s);
    gb_linear_backward(&cpu, t_dinp, t_dw, t_db, ad, ax, aw, &s);
    bound_to_tol(t_out, no, in);
    bound_to_tol(t_dinp, ni, out);
    bound_to_tol(t_dw, nw, rows);
    bound_to_tol(t_db, out, rows);

    /* CUDA, every buffer guarded */
    dbuf gx = dbuf_make(x, ni), gw = dbuf_make(w, nw), gb = dbuf_make(b, out), gd = dbuf_make(dout, no);
    dbuf go = dbuf_make(NULL, no), gdi = dbuf_make(NULL, ni), gdw = dbuf_make(dw0, nw),
         gdb = dbuf_make(db0, out);
    gb_linear_forward(&gpu, go.ptr, gx.ptr, gw.ptr, gb.ptr, &s);
    gb_linear_backward(&gpu, gdi.ptr, gdw.ptr, gdb.ptr, gd.ptr, gx.ptr, gw.ptr, &s);
    float *g_out = falloc(no), *g_dinp = falloc(ni), *g_dw = falloc(nw), *g_db = falloc(out);
    char l[96];
    snprintf(l, sizeof l, "linear %zu x %zu -> %zu", rows, in, out);
    dbuf_fetch(l, &go, g_out);
    dbuf_fetch(l, &gdi, g_dinp);
    dbuf_fetch(l, &gdw, g_dw);
    dbuf_fetch(l, &gdb, g_db);
    dbuf_fetch(l, &gx, NULL), dbuf_fetch(l, &gw, NULL), dbuf_fetch(l, &gb, NULL), dbuf_fetch(l, &gd, NULL);
    snprintf(l, sizeof l, "out (%zu x %zu -> %zu)", rows, in, out);
    expect_close(l, g_out, c_out, no, t_out, 0, 0);
    snprintf(l, sizeof l, "dinp (%zu x %zu -> %zu)", rows, in, out);
    expect_close(l, g_dinp, c_dinp, ni, t_dinp, 0, 0);
    snprintf(l, sizeof l, "dweight (%zu x %zu -> %zu)", rows, in, out);
    expect_close(l, g_dw, c_dw, nw, t_dw, 0, 0);
    snprintf(l, sizeof l, "dbias (%zu x %zu -> %zu)", rows, in, out);
    expect_close(l, g_db, c_db, out, t_db, 0, 0);

    /* NULL dinp / dbias are skipped; a second backward gives the same dweight
     * increment (deterministic: no atomics, fixed cuBLAS workspace). */
    float *g_dw2 = falloc(nw);
    gb_dev_zero(&gpu, gdw.ptr, nw * sizeof(float));
    gb_linear_backward(&gpu, NULL, gdw.ptr, NULL, gd.ptr, gx.ptr, gw.ptr, &s);
    dbuf_fetch(l, &gdw, g_dw);
    gb_dev_zero(&gpu, gdw.ptr, nw * sizeof(float));
    gb_linear_backward(&gpu, NULL, gdw.ptr, NULL, gd.ptr, gx.ptr, gw.ptr, &s);
    dbuf_fetch(l, &gdw, g_dw2);
    snprintf(l, sizeof l, "dweight run twice (%zu x %zu -> %zu)", rows, in, out);
    expect_bitwise(l, g_dw2, g_dw, nw);

    dbuf *all[] = {&gx, &gw, &gb, &gd, &go, &gdi, &gdw, &gdb};
    for (size_t i = 0; i < 8; i++) dbuf_free(all[i]);
    float *hosts[] = {x, w, b, dout, dw0, db0, c_out, c_dinp, c_dw, c_db, ax, aw, ab, ad, t_out,
                      t_dinp, t_dw, t_db, g_out, g_dinp, g_dw, g_db, g_dw2};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) free(hosts[i]);
}

Test(cuda, linear_matches_cpu, .fini = close_devices) {
    REQUIRE_GPU();
    const size_t rows[] = {1, 7, 129}, feats[] = {3, 127};
    uint64_t seed = 100;
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 2; b++)
            for (size_t c = 0; c < 2; c++) linear_case(rows[a], feats[b], feats[c], seed++);
    linear_case(4000, 128, 128, seed++);
    linear_case(33, 128, 1, seed++);
}

Test(cuda, softplus_matches_cpu, .fini = close_devices) {
    REQUIRE_GPU();
    const size_t sizes[] = {1, 7, 129, 100003};
    for (size_t k = 0; k < 4; k++) {
        seed_rng(200 + k);
        const size_t n = sizes[k];
        float *x = rand_floats(n, -100, 100), *dout = rand_floats(n, -2, 2);
        const float special[] = {19.9f, 20.0f, 20.1f, -20.0f, 0.0f, -87.5f, -100.0f, INFINITY, -INFINITY};
        for (size_t i = 0; i < n && i < 9; i++) x[i] = special[i];
        float *c_out = falloc(n), *c_d = falloc(n), *g_out = falloc(n), *g_d = falloc(n);
        gb_softplus_forward(&cpu, c_out, x, n);
        gb_softplus_backward(&cpu, c_d, dout, x, n);
        dbuf gx = dbuf_make(x, n), gd = dbuf_make(dout, n), go = dbuf_make(NULL, n), gg = dbuf_make(NULL, n);
        gb_softplus_forward(&gpu, go.ptr, gx.ptr, n);
        gb_softplus_backward(&gpu, gg.ptr, gd.ptr, gx.ptr, n);
        char l[64];
        snprintf(l, sizeof l, "softplus n=%zu", n);
        dbuf_fetch(l, &go, g_out), dbuf_fetch(l, &gg, g_d), dbuf_fetch(l, &gx, NULL), dbuf_fetch(l, &gd, NULL);
        snprintf(l, sizeof l, "softplus out n=%zu", n);
        expect_bitwise(l, g_out, c_out, n);
        snprintf(l, sizeof l, "softplus dinp n=%zu", n);
        expect_bitwise(l, g_d, c_d, n);
        dbuf_free(&gx), dbuf_free(&gd), dbuf_free(&go), dbuf_free(&gg);
        free(x), free(dout), free(c_out), free(c_d), free(g_out), free(g_d);
    }
}

Test(cuda, half_sq_error_matches_cpu, .fini = close_devices) {
    REQUIRE_GPU();
    const size_t shapes[][2] = {{1, 1}, {1, 3}, {7, 127}, {129, 3}, {4000, 128}};
    for (size_t k = 0; k < 5; k++) {
        seed_rng(300 + k);
        const size_t rows = shapes[k][0], cols = shapes[k][1], n = rows * cols;
        float *p = rand_floats(n, -3, 3), *t = rand_floats(n, -3, 3);
        float c_loss, g_loss, *c_dp = falloc(n), *g_dp = falloc(n);
        gb_half_sq_error(&cpu, &c_loss, c_dp, p, t, rows, cols);
        dbuf gp = dbuf_make(p, n), gt = dbuf_make(t, n), gdp = dbuf_make(NULL, n), gl = dbuf_make(NULL, 1);
        gb_half_sq_error(&gpu, gl.ptr, gdp.ptr, gp.ptr, gt.ptr, rows, cols);
        char l[64];
        snprintf(l, sizeof l, "loss %zu x %zu", rows, cols);
        dbuf_fetch(l, &gl, &g_loss), dbuf_fetch(l, &gdp, g_dp);
        dbuf_fetch(l, &gp, NULL), dbuf_fetch(l, &gt, NULL);
        expect_close(l, &g_loss, &c_loss, 1, NULL, 0, 2 * U32);
        snprintf(l, sizeof l, "dpred %zu x %zu", rows, cols);
        expect_bitwise(l, g_dp, c_dp, n);
        /* NULL dpred, and the same loss again (deterministic reduction) */
        float g_loss2;
        gb_half_sq_error(&gpu, gl.ptr, NULL, gp.ptr, gt.ptr, rows, cols);
        dbuf_fetch(l, &gl, &g_loss2);
        expect_bitwise("loss run twice", &g_loss2, &g_loss, 1);
        dbuf_free(&gp), dbuf_free(&gt), dbuf_free(&gdp), dbuf_free(&gl);
        free(p), free(t), free(c_dp), free(g_dp);
    }
}

Test(cuda, adam_bitwise_equal_to_cpu, .fini = close_devices) {
    /* also exercises the GB_SYNC_DEBUG path (synchronise after each launch) */
    setenv("GB_SYNC_DEBUG", "1", 1);
    REQUIRE_GPU();
    const gb_adam_hparams hps[] = {
        {0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 0},
        {0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, 0},
        {1e-3f, 0.5f, 0.99f, 1e-6f, 0.1f, 1},
    };
    const size_t sizes[] = {1, 7, 129, 100003};
    for (size_t h = 0; h < 3; h++)
        for (size_t k = 0; k < 4; k++) {
            seed_rng(400 + h * 10 + k);
            const size_t n = sizes[k];
            float *p = rand_floats(n, -2, 2), *m = falloc(n), *v = falloc(n);
            dbuf gp = dbuf_make(p, n), gm = dbuf_make(m, n), gv = dbuf_make(v, n);
            for (long step = 1; step <= 3; step++) {
                float *g = rand_floats(n, -1, 1);
                g[0] = 0.0f;
                dbuf gg = dbuf_make(g, n);
                gb_adam_update(&cpu, p, g, m, v, n, &hps[h], step);
                gb_adam_update(&gpu, gp.ptr, gg.ptr, gm.ptr, gv.ptr, n, &hps[h], step);
                float *gp_h = falloc(n), *gm_h = falloc(n), *gv_h = falloc(n);
                char l[64];
                snprintf(l, sizeof l, "adam hp %zu n=%zu step %ld", h, n, step);
                dbuf_fetch(l, &gp, gp_h), dbuf_fetch(l, &gm, gm_h), dbuf_fetch(l, &gv, gv_h);
                dbuf_fetch(l, &gg, NULL);
                expect_bitwise(l, gp_h, p, n);
                expect_bitwise("adam m", gm_h, m, n);
                expect_bitwise("adam v", gv_h, v, n);
                dbuf_free(&gg);
                free(g), free(gp_h), free(gm_h), free(gv_h);
            }
            dbuf_free(&gp), dbuf_free(&gm), dbuf_free(&gv);
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
