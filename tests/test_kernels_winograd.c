/* tests/test_kernels_winograd.c - Winograd F(4x4,3x3) conv2d (kernels/cpu/conv_winograd.c)
 * against independent references.
 *
 * References: a float64 direct convolution written here (the definition's loops), its
 * explicit float64 adjoints, and float64 central finite differences of that forward
 * (tests/gradcheck.h gc_fd_vjp). Shapes are awkward on purpose: odd and non-square
 * images (7x5, 29x31) so edge tiles are partial, batch 1, channel counts that are not
 * multiples of 8, padding 0, 1, 2, 3 (backward-data then runs with padding -1) and
 * unequal padding per side, a 1x1 output, and a batch spanning several tile blocks.
 *
 * Tolerance (tests/tolerances.md "convolution", Winograd rows): the error of an evaluated
 * chain of linear maps is at most depth * u times the same chain on absolute values. For
 * each output this test evaluates that chain in double, |A^T| [(|G||g||G^T|) (.)
 * (|B^T||d||B|)] |A| summed over channels (W below, per output, with the kernel's
 * transform matrices written out here), and allows (C + 16) u W (+ |bias|) forward,
 * (M + 16) u W backward-data and (tiles + 16) u W backward-weight, where C, M and tiles
 * are the GEMM's summation lengths and 16 covers the transforms' depth (6 + 1 + 1 + 6,
 * plus the bias or the final +=).
 * Also: the gradient contract (dweight and dbias accumulate, dinp overwrites, NULL
 * skips), bitwise identity between 1 and 2 threads, and the dispatch rule (the shapes it picks).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/kernels.h"
#include "tests/gradcheck.h"

#define U GC_U32
#define FD_H 1e-3

static gb_device dev;
static void open_cpu(void) {
    cr_assert_eq(gb_device_open(&dev, "cpu", 2), GB_OK, "gb_device_open: %s", gb_last_error());
}
static void close_cpu(void) { gb_device_close(&dev); }

typedef struct {
    const char *name;
    gb_conv_shape s;
} wg_case;

/* batch, in_ch, in_h, in_w, out_ch, kh, kw, sh, sw, ph, pw, oph, opw */
static const wg_case cases[] = {
    {"odd_7x5_p1", {2, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1, 0, 0}},
    {"batch1_p0", {1, 5, 9, 6, 3, 3, 3, 1, 1, 0, 0, 0, 0}},
    {"p2", {2, 4, 6, 7, 5, 3, 3, 1, 1, 2, 2, 0, 0}},
    {"p3_negative_back_pad", {1, 3, 5, 6, 2, 3, 3, 1, 1, 3, 3, 0, 0}},
    {"pad_h0_w1", {2, 3, 8, 5, 4, 3, 3, 1, 1, 0, 1, 0, 0}},
    {"out_1x1", {1, 2, 3, 3, 3, 3, 3, 1, 1, 0, 0, 0, 0}},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* several tile blocks (8 samples of 8x8 tiles each per block), 9 -> 11 channels */
static const gb_conv_shape multi_block = {10, 9, 29, 31, 11, 3, 3, 1, 1, 1, 1, 0, 0};

/* ---- transform matrices (points 0, +-1, +-2, infinity) ------------------------------- */

static const double BT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const double G[6][3] = {{1.0 / 4, 0, 0},
                               {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                               {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                               {1.0 / 24, 1.0 / 12, 1.0 / 6},
                               {1.0 / 24, -1.0 / 12, 1.0 / 6},
                               {0, 0, 1}};
static const double AT[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

/* |G| |k| |G|^T for a 3x3 k */
static void abs_wt(double u[6][6], const double k[9]) {
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++) {
            double s = 0;
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) s += fabs(G[a][i]) * fabs(k[i * 3 + j]) * fabs(G[b][j]);
            u[a][b] = s;
        }
}
/* |B^T| |d| |B| for a 6x6 d */
static void abs_in(double v[6][6], const double d[6][6]) {
    double t[6][6];
    for (int a = 0; a < 6; a++)
        for (int j = 0; j < 6; j++) {
            double s = 0;
            for (int i = 0; i < 6; i++) s += fabs(BT[a][i]) * fabs(d[i][j]);
            t[a][j] = s;
        }
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++) {
            double s = 0;
            for (int j = 0; j < 6; j++) s += t[a][j] * fabs(BT[b][j]);
            v[a][b] = s;
        }
}

/* ---- float64 references on a forward-form geometry ----------------------------------- */

typedef struct {
    int batch, cin, cout, h, w, ph, pw, oh, ow;
} geom;

static geom fwd_geom(const gb_conv_shape *s) {
    geom g = {s->batch, s->in_channels, s->out_channels, s->in_height, s->in_width,
              s->pad_h, s->pad_w, gb_conv_out_h(s), gb_conv_out_w(s)};
    return g;
}
/* backward-data as a forward conv of dout with the rotated, transposed kernel */
static geom data_geom(const gb_conv_shape *s) {
    geom g = {s->batch, s->out_channels, s->in_channels, gb_conv_out_h(s), gb_conv_out_w(s),
              2 - s->pad_h, 2 - s->pad_w, s->in_height, s->in_width};
    return g;
}

/* kernel (m, c) of the forward-form conv as 3x3 doubles */
static void kernel_of(double k[9], const double *w, const geom *g, int flip, int m, int c) {
    for (int q = 0; q < 9; q++)
        k[q] = flip ? w[((size_t)c * g->cout + m) * 9 + 8 - q] : w[((size_t)m * g->cin + c) * 9 + q];
}

static double at(const double *x, const geom *g, int n, int c, int y, int xx) {
    if (y < 0 || y >= g->h || xx < 0 || xx >= g->w) return 0;
    return x[(((size_t)n * g->cin + c) * g->h + y) * g->w + xx];
}

/* y = conv(x, k) + b in double; bound[] = W of the header (plus |b|) */
static void conv64(const geom *g, const double *x, const double *w, int flip, const double *b, double *y,
                   double *bound) {
    for (int n = 0; n < g->batch; n++)
        for (int m = 0; m < g->cout; m++) {
            for (int oy = 0; oy < g->oh; oy++)
                for (int ox = 0; ox < g->ow; ox++) {
                    double s = b ? b[m] : 0;
                    for (int c = 0; c < g->cin; c++) {
                        double k[9];
                        kernel_of(k, w, g, flip, m, c);
                        for (int i = 0; i < 3; i++)
                            for (int j = 0; j < 3; j++) s += k[i * 3 + j] * at(x, g, n, c, oy - g->ph + i, ox - g->pw + j);
                    }
                    y[(((size_t)n * g->cout + m) * g->oh + oy) * g->ow + ox] = s;
                }
            if (!bound) continue;
            for (int ty = 0; ty * 4 < g->oh; ty++)
                for (int tx = 0; tx * 4 < g->ow; tx++) {
                    double acc[6][6] = {{0}};
                    for (int c = 0; c < g->cin; c++) {
                        double k[9], d[6][6], uu[6][6], vv[6][6];
                        kernel_of(k, w, g, flip, m, c);
                        for (int i = 0; i < 6; i++)
                            for (int j = 0; j < 6; j++) d[i][j] = at(x, g, n, c, ty * 4 - g->ph + i, tx * 4 - g->pw + j);
                        abs_wt(uu, k);
                        abs_in(vv, d);
                        for (int i = 0; i < 6; i++)
                            for (int j = 0; j < 6; j++) acc[i][j] += uu[i][j] * vv[i][j];
                    }
                    for (int r = 0; r < 4 && ty * 4 + r < g->oh; r++)
                        for (int q = 0; q < 4 && tx * 4 + q < g->ow; q++) {
                            double s = b ? fabs(b[m]) : 0;
                            for (int i = 0; i < 6; i++)
                                for (int j = 0; j < 6; j++) s += fabs(AT[r][i]) * acc[i][j] * fabs(AT[q][j]);
                            bound[(((size_t)n * g->cout + m) * g->oh + ty * 4 + r) * g->ow + tx * 4 + q] = s;
                        }
                }
        }
}

/* dw[m][c][i][j] = sum dy * x (explicit adjoint) and its W bound */
static void dweight64(const geom *g, const double *x, const double *dy, double *dw, double *bound) {
    const int tiles = ((g->oh + 3) / 4) * ((g->ow + 3) / 4);
    for (int m = 0; m < g->cout; m++)
        for (int c = 0; c < g->cin; c++) {
            double s[9] = {0};
            double acc[6][6] = {{0}};
            for (int n = 0; n < g->batch; n++) {
                for (int oy = 0; oy < g->oh; oy++)
                    for (int ox = 0; ox < g->ow; ox++) {
                        double d = dy[(((size_t)n * g->cout + m) * g->oh + oy) * g->ow + ox];
                        for (int i = 0; i < 3; i++)
                            for (int j = 0; j < 3; j++) s[i * 3 + j] += d * at(x, g, n, c, oy - g->ph + i, ox - g->pw + j);
                    }
                for (int t = 0; t < tiles; t++) {
                    int ty = t / ((g->ow + 3) / 4), tx = t % ((g->ow + 3) / 4);
                    double d[6][6], vv[6][6], e[4][4], ta[6][4];
                    for (int i = 0; i < 6; i++)
                        for (int j = 0; j < 6; j++) d[i][j] = at(x, g, n, c, ty * 4 - g->ph + i, tx * 4 - g->pw + j);
                    abs_in(vv, d);
                    for (int r = 0; r < 4; r++)
                        for (int q = 0; q < 4; q++) {
                            int oy = ty * 4 + r, ox = tx * 4 + q;
                            e[r][q] = oy < g->oh && ox < g->ow ? fabs(dy[(((size_t)n * g->cout + m) * g->oh + oy) * g->ow + ox]) : 0;
                        }
                    for (int a = 0; a < 6; a++) /* |A| |e| |A^T| */
                        for (int q = 0; q < 4; q++) {
                            double z = 0;
                            for (int r = 0; r < 4; r++) z += fabs(AT[r][a]) * e[r][q];
                            ta[a][q] = z;
                        }
                    for (int a = 0; a < 6; a++)
                        for (int b = 0; b < 6; b++) {
                            double z = 0;
                            for (int q = 0; q < 4; q++) z += ta[a][q] * fabs(AT[q][b]);
                            acc[a][b] += z * vv[a][b];
                        }
                }
            }
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) {
                    double z = 0;
                    for (int a = 0; a < 6; a++)
                        for (int b = 0; b < 6; b++) z += fabs(G[a][i]) * acc[a][b] * fabs(G[b][j]);
                    size_t e = ((size_t)m * g->cin + c) * 9 + (size_t)(i * 3 + j);
                    dw[e] = s[i * 3 + j];
                    bound[e] = z;
                }
        }
}

/* ---- one random problem ---------------------------------------------------------------- */

typedef struct {
    gb_conv_shape s;
    size_t nx, ny, nw, nb;
    float *x, *w, *b, *dy;
    double *xd, *wd, *bd, *dyd;
} problem;

static void problem_make(problem *p, const gb_conv_shape *s, uint64_t seed) {
    gc_seed_rng(seed);
    p->s = *s;
    p->nx = (size_t)s->batch * s->in_channels * s->in_height * s->in_width;
    p->ny = (size_t)s->batch * s->out_channels * gb_conv_out_h(s) * gb_conv_out_w(s);
    p->nw = (size_t)s->out_channels * s->in_channels * 9;
    p->nb = (size_t)s->out_channels;
    p->x = gc_rand(p->nx, -1, 1);
    p->w = gc_rand(p->nw, -1, 1);
    p->b = gc_rand(p->nb, -1, 1);
    p->dy = gc_rand(p->ny, -1, 1);
    p->xd = gc_to_double(p->x, p->nx);
    p->wd = gc_to_double(p->w, p->nw);
    p->bd = gc_to_double(p->b, p->nb);
    p->dyd = gc_to_double(p->dy, p->ny);
}

static void problem_free(problem *p) {
    free(p->x), free(p->w), free(p->b), free(p->dy);
    free(p->xd), free(p->wd), free(p->bd), free(p->dyd);
}

/* |got - ref| <= factor * u * bound + 1e-30, elementwise */
static void expect_bound(const char *label, const float *got, const double *ref, const double *bound, size_t n,
                         double factor) {
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double lim = factor * U * bound[i] + 1e-30, diff = fabs((double)got[i] - ref[i]);
        if (!(diff <= lim)) {
            if (bad < 5)
                cr_log_error("%s[%zu]: got %.9g want %.9g (diff %.3g > %.3g)", label, i, (double)got[i], ref[i], diff, lim);
            bad++;
        }
        if (diff / lim > worst) worst = diff / lim;
    }
    cr_expect_eq(bad, 0, "%s: %zu of %zu out of bound (worst %.3g of the bound, seed %llu)", label, bad, n, worst,
                 (unsigned long long)gc_seed);
}

static int tiles_of(const gb_conv_shape *s) {
    return s->batch * ((gb_conv_out_h(s) + 3) / 4) * ((gb_conv_out_w(s) + 3) / 4);
}

/* forward, dinp, dweight, dbias of one problem against the float64 references */
static void check_problem(const problem *p, const char *name) {
    const gb_conv_shape *s = &p->s;
    char label[256];
    geom fg = fwd_geom(s), dg = data_geom(s);
    double *y = gc_dalloc(p->ny), *yb = gc_dalloc(p->ny);
    conv64(&fg, p->xd, p->wd, 0, p->bd, y, yb);
    float *out = gc_falloc(p->ny);
    gb_conv2d_forward_winograd_cpu(&dev, out, p->x, p->w, p->b, s);
    snprintf(label, sizeof label, "%s forward", name);
    expect_bound(label, out, y, yb, p->ny, s->in_channels + 16);

    double *dx = gc_dalloc(p->nx), *dxb = gc_dalloc(p->nx);
    conv64(&dg, p->dyd, p->wd, 1, NULL, dx, dxb);
    double *dw = gc_dalloc(p->nw), *dwb = gc_dalloc(p->nw);
    dweight64(&fg, p->xd, p->dyd, dw, dwb);
    float *gx = gc_falloc(p->nx), *gw = gc_falloc(p->nw), *gb = gc_falloc(p->nb);
    gb_conv2d_backward_winograd_cpu(&dev, gx, gw, gb, p->dy, p->x, p->w, s);
    snprintf(label, sizeof label, "%s dinp", name);
    expect_bound(label, gx, dx, dxb, p->nx, s->out_channels + 16);
    snprintf(label, sizeof label, "%s dweight", name);
    expect_bound(label, gw, dw, dwb, p->nw, tiles_of(s) + 16);
    /* dbias: a sum of batch*P terms in double, rounded once into a zero float */
    size_t P = (size_t)gb_conv_out_h(s) * gb_conv_out_w(s);
    for (int m = 0; m < s->out_channels; m++) {
        double r = 0;
        for (int n = 0; n < s->batch; n++)
            for (size_t q = 0; q < P; q++) r += p->dyd[((size_t)n * s->out_channels + m) * P + q];
        cr_expect_leq(fabs(gb[m] - r), U * fabs(r) + 1e-12, "%s dbias[%d]: got %.9g want %.9g", name, m, (double)gb[m], r);
    }
    free(y), free(yb), free(out), free(dx), free(dxb), free(dw), free(dwb), free(gx), free(gw), free(gb);
}

TestSuite(winograd, .init = open_cpu, .fini = close_cpu);

Test(winograd, awkward_shapes_vs_float64) {
    for (size_t i = 0; i < NCASES; i++) {
        problem p;
        problem_make(&p, &cases[i].s, 1000 + i);
        check_problem(&p, cases[i].name);
        problem_free(&p);
    }
}

Test(winograd, several_tile_blocks_vs_float64) {
    problem p;
    problem_make(&p, &multi_block, 77);
    check_problem(&p, "multi_block");
    problem_free(&p);
}

/* ---- finite differences ------------------------------------------------------------- */

typedef struct {
    const problem *p;
    int wrt; /* 0: input, 1: weight */
} fd_ctx;

static void fd_forward(void *ctx, const double *v, double *y) {
    const fd_ctx *c = ctx;
    geom g = fwd_geom(&c->p->s);
    conv64(&g, c->wrt == 0 ? v : c->p->xd, c->wrt == 1 ? v : c->p->wd, 0, c->p->bd, y, NULL);
}

Test(winograd, backward_vs_finite_differences) {
    for (size_t i = 0; i < NCASES; i++) {
        problem p;
        problem_make(&p, &cases[i].s, 2000 + i);
        const gb_conv_shape *s = &p.s;
        double *fx = gc_dalloc(p.nx), *fw = gc_dalloc(p.nw), *v;
        fd_ctx c = {&p, 0};
        v = gc_to_double(p.x, p.nx);
        gc_fd_vjp(fd_forward, &c, v, p.nx, p.ny, p.dyd, FD_H, fx);
        free(v);
        c.wrt = 1;
        v = gc_to_double(p.w, p.nw);
        gc_fd_vjp(fd_forward, &c, v, p.nw, p.ny, p.dyd, FD_H, fw);
        free(v);
        /* the bounds come from the float64 transcriptions; FD is exact to ~1e-12 here
         * (a linear map), so 1e-9 absolute covers its rounding */
        geom fg = fwd_geom(s), dg = data_geom(s);
        double *dx = gc_dalloc(p.nx), *dxb = gc_dalloc(p.nx), *dw = gc_dalloc(p.nw), *dwb = gc_dalloc(p.nw);
        conv64(&dg, p.dyd, p.wd, 1, NULL, dx, dxb);
        dweight64(&fg, p.xd, p.dyd, dw, dwb);
        for (size_t e = 0; e < p.nx; e++) dxb[e] += 1e-9 / ((s->out_channels + 16) * U);
        for (size_t e = 0; e < p.nw; e++) dwb[e] += 1e-9 / ((tiles_of(s) + 16) * U);
        float *gx = gc_falloc(p.nx), *gw = gc_falloc(p.nw);
        gb_conv2d_backward_winograd_cpu(&dev, gx, gw, NULL, p.dy, p.x, p.w, s);
        char label[256];
        snprintf(label, sizeof label, "%s dinp vs FD", cases[i].name);
        expect_bound(label, gx, fx, dxb, p.nx, s->out_channels + 16);
        snprintf(label, sizeof label, "%s dweight vs FD", cases[i].name);
        expect_bound(label, gw, fw, dwb, p.nw, tiles_of(s) + 16);
        free(fx), free(fw), free(dx), free(dxb), free(dw), free(dwb), free(gx), free(gw);
        problem_free(&p);
    }
}

/* ---- gradient contract -------------------------------------------------------------- */

Test(winograd, gradient_contract) {
    problem p;
    problem_make(&p, &cases[0].s, 31);
    const gb_conv_shape *s = &p.s;
    float *gx = gc_falloc(p.nx), *gw = gc_falloc(p.nw), *gb = gc_falloc(p.nb);
    float *gx1 = gc_falloc(p.nx), *gw1 = gc_falloc(p.nw), *gb1 = gc_falloc(p.nb);
    for (size_t e = 0; e < p.nx; e++) gx[e] = 1e6f; /* stale values dinp must overwrite */
    gb_conv2d_backward_winograd_cpu(&dev, gx, gw, gb, p.dy, p.x, p.w, s);
    memcpy(gx1, gx, p.nx * sizeof *gx);
    memcpy(gw1, gw, p.nw * sizeof *gw);
    memcpy(gb1, gb, p.nb * sizeof *gb);
    gb_conv2d_backward_winograd_cpu(&dev, gx, gw, gb, p.dy, p.x, p.w, s);
    cr_expect(memcmp(gx, gx1, p.nx * sizeof *gx) == 0, "dinp must be overwritten, not accumulated");
    for (size_t e = 0; e < p.nw; e++)
        cr_expect_leq(fabs(gw[e] - 2.0 * gw1[e]), 2 * U * fabs(2.0 * gw1[e]), "dweight[%zu] %.9g after two calls, once %.9g",
                      e, (double)gw[e], (double)gw1[e]);
    for (size_t e = 0; e < p.nb; e++)
        cr_expect_leq(fabs(gb[e] - 2.0 * gb1[e]), 2 * U * fabs(2.0 * gb1[e]), "dbias[%zu] after two calls", e);
    /* NULL skips; the other gradients are the same bits alone as together */
    float *ox = gc_falloc(p.nx), *ow = gc_falloc(p.nw);
    gb_conv2d_backward_winograd_cpu(&dev, ox, NULL, NULL, p.dy, p.x, p.w, s);
    cr_expect(memcmp(ox, gx1, p.nx * sizeof *ox) == 0, "dinp alone differs from dinp with dweight");
    gb_conv2d_backward_winograd_cpu(&dev, NULL, ow, NULL, p.dy, p.x, p.w, s);
    cr_expect(memcmp(ow, gw1, p.nw * sizeof *ow) == 0, "dweight alone differs from dweight with dinp");
    free(gx), free(gw), free(gb), free(gx1), free(gw1), free(gb1), free(ox), free(ow);
    problem_free(&p);
}

/* ---- thread-count identity --------------------------------------------------------- */

static void run_all(int threads, const problem *p, float *out, float *gx, float *gw) {
    gb_device d;
    cr_assert_eq(gb_device_open(&d, "cpu", threads), GB_OK, "gb_device_open: %s", gb_last_error());
    gb_conv2d_forward_winograd_cpu(&d, out, p->x, p->w, p->b, &p->s);
    memset(gw, 0, p->nw * sizeof *gw);
    gb_conv2d_backward_winograd_cpu(&d, gx, gw, NULL, p->dy, p->x, p->w, &p->s);
    gb_device_close(&d);
}

Test(winograd, same_bits_for_1_and_2_threads) {
    const gb_conv_shape shapes[] = {multi_block, {3, 24, 16, 16, 20, 3, 3, 1, 1, 1, 1, 0, 0}};
    for (size_t i = 0; i < 2; i++) {
        problem p;
        problem_make(&p, &shapes[i], 55 + i);
        float *o1 = gc_falloc(p.ny), *x1 = gc_falloc(p.nx), *w1 = gc_falloc(p.nw);
        float *o2 = gc_falloc(p.ny), *x2 = gc_falloc(p.nx), *w2 = gc_falloc(p.nw);
        run_all(1, &p, o1, x1, w1);
        run_all(2, &p, o2, x2, w2);
        cr_expect(memcmp(o1, o2, p.ny * sizeof *o1) == 0, "shape %zu: forward differs between 1 and 2 threads", i);
        cr_expect(memcmp(x1, x2, p.nx * sizeof *x1) == 0, "shape %zu: dinp differs between 1 and 2 threads", i);
        cr_expect(memcmp(w1, w2, p.nw * sizeof *w1) == 0, "shape %zu: dweight differs between 1 and 2 threads", i);
        free(o1), free(x1), free(w1), free(o2), free(x2), free(w2);
        problem_free(&p);
    }
    open_cpu(); /* the suite's device sets the BLAS threads back for the other tests */
    close_cpu();
}

/* ---- dispatch --------------------------------------------------------------------- */

Test(winograd, dispatch_rule) {
    /* the GAN's 128 -> 128 3x3 convs take Winograd */
    const int sizes[] = {32, 16, 8};
    for (int i = 0; i < 3; i++) {
        gb_conv_shape s = {64, 128, sizes[i], sizes[i], 128, 3, 3, 1, 1, 1, 1, 0, 0};
        cr_expect(gb_conv2d_uses_winograd(&s), "128->128 3x3 p1 at %d should take Winograd", sizes[i]);
    }
    gb_conv_shape one = {64, 128, 16, 16, 128, 1, 1, 1, 1, 0, 0, 0, 0};
    gb_conv_shape stride2 = {64, 128, 16, 16, 128, 3, 3, 2, 2, 1, 1, 0, 0};
    gb_conv_shape rgb = {64, 3, 32, 32, 128, 3, 3, 1, 1, 1, 1, 0, 0};
    gb_conv_shape five = {64, 128, 16, 16, 128, 5, 5, 1, 1, 2, 2, 0, 0};
    cr_expect(!gb_conv2d_uses_winograd(&one), "1x1 is not Winograd's");
    cr_expect(!gb_conv2d_uses_winograd(&stride2), "stride 2 is not Winograd's");
    cr_expect(!gb_conv2d_uses_winograd(&rgb), "3 -> 128 stays on the GEMM path");
    cr_expect(!gb_conv2d_uses_winograd(&five), "5x5 is not Winograd's");
    gb_conv_shape small = {64, 128, 4, 4, 128, 3, 3, 1, 1, 1, 1, 0, 0};
    gb_conv_shape narrow = {64, 32, 16, 16, 32, 3, 3, 1, 1, 1, 1, 0, 0};
    gb_conv_shape to_rgb = {64, 128, 32, 32, 3, 3, 3, 1, 1, 1, 1, 0, 0};
    cr_expect(!gb_conv2d_uses_winograd(&small), "4x4 outputs stay on the GEMM path");
    cr_expect(!gb_conv2d_uses_winograd(&narrow), "32 channels stay on the GEMM path");
    cr_expect(!gb_conv2d_uses_winograd(&to_rgb), "128 -> 3 stays on the GEMM path");
}
