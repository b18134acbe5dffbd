/* tests/test_gradient_penalty.c - the WGAN-GP penalty op (kernels/cpu/gradient_penalty.c).
 *
 * References: the closed form lambda (||g|| - 1)^2 on hand-made rows (norm 0, 1, 5), a
 * float64 transcription differentiated by central finite differences, and the zero-norm
 * convention (PyTorch's norm backward gives 0 there). Tolerances: tests/tolerances.md.
 */
#include <criterion/criterion.h>

#include "kernels/kernels.h"
#include "tests/gradcheck.h"

static gb_device dev;
static void open_cpu(void) { cr_assert_eq(gb_device_open(&dev, "cpu", 1), GB_OK, "%s", gb_last_error()); }
static void close_cpu(void) { gb_device_close(&dev); }

typedef struct {
    size_t rows, cols;
    double lambda;
} gp_ctx;

static void penalty64(void *ctx, const double *g, double *loss) {
    const gp_ctx *c = ctx;
    double total = 0;
    for (size_t r = 0; r < c->rows; r++) {
        double sq = 0;
        for (size_t k = 0; k < c->cols; k++) sq += g[r * c->cols + k] * g[r * c->cols + k];
        total += (sqrt(sq) - 1) * (sqrt(sq) - 1);
    }
    *loss = c->lambda * total / (double)c->rows;
}

Test(gradient_penalty, closed_form_rows, .init = open_cpu, .fini = close_cpu) {
    /* rows with norms 0, 1 and 5 (3-4-0): penalties 1, 0 and 16; mean 17/3, times lambda 10 */
    const float g[9] = {0, 0, 0, 0, 1, 0, 3, 4, 0};
    float loss, dg[9];
    gb_gradient_penalty(&dev, &loss, dg, g, 3, 3, 10.0f);
    cr_expect_float_eq(loss, (float)(10.0 * 17.0 / 3.0), 4 * GC_U32 * 57, "loss %.9g", loss);
    for (int k = 0; k < 3; k++) cr_expect_eq(dg[k], 0.0f, "zero-norm row gradient must be 0 (got %g)", dg[k]);
    for (int k = 3; k < 6; k++) cr_expect_eq(dg[k], 0.0f, "unit-norm row gradient must be 0 (got %g)", dg[k]);
    /* 2*10*(5-1)/(3*5) * g = 16/3 * g */
    cr_expect_float_eq(dg[6], (float)(16.0 / 3.0 * 3), 2 * GC_U32 * 16, "dg[6] %.9g", dg[6]);
    cr_expect_float_eq(dg[7], (float)(16.0 / 3.0 * 4), 2 * GC_U32 * 22, "dg[7] %.9g", dg[7]);
}

Test(gradient_penalty, gradient_matches_finite_differences, .init = open_cpu, .fini = close_cpu) {
    gc_seed_rng(2026);
    const size_t rows = 5, cols = 37;
    gp_ctx ctx = {rows, cols, 10.0};
    float *g = gc_rand(rows * cols, -0.5f, 0.5f), *dg = gc_falloc(rows * cols), loss;
    gb_gradient_penalty(&dev, &loss, dg, g, rows, cols, 10.0f);
    double *x = gc_to_double(g, rows * cols), *ref = gc_dalloc(rows * cols), l64, one = 1;
    penalty64(&ctx, x, &l64);
    cr_expect(fabs(loss - l64) <= 2 * GC_U32 * fabs(l64), "loss %.9g vs %.9g (seed %llu)", loss, l64,
              (unsigned long long)gc_seed);
    gc_fd_vjp(penalty64, &ctx, x, rows * cols, 1, &one, 1e-6, ref);
    /* one rounding of a double expression; FD error ~1e-9 */
    gc_expect_close("dg", dg, ref, rows * cols, 1e-8, 2 * GC_U32);
    free(g), free(dg), free(x), free(ref);
}

Test(gradient_penalty, null_gradient_still_writes_the_loss, .init = open_cpu, .fini = close_cpu) {
    const float g[4] = {0.6f, 0.8f, 2, 0};
    float loss = -1;
    gb_gradient_penalty(&dev, &loss, NULL, g, 2, 2, 1.0f);
    cr_expect_float_eq(loss, 0.5f, 4 * GC_U32, "loss %.9g (rows of norm 1 and 2)", loss);
}
