/* kernels/cpu/conv_winograd.c - 3x3 stride-1 conv2d by Winograd F(4x4,3x3) (CPU):
 * forward, backward-data and backward-weight.
 *
 * Each 4x4 output tile is Y = A^T [U (.) V] A with U = G g G^T (the 3x3 kernel
 * taken to 6x6) and V = B^T d B (the 6x6 input patch under the tile), summed over
 * input channels: per transform position (36 of them) one GEMM
 *   M[pos] [out_ch x tiles] = U[pos] [out_ch x in_ch] @ V[pos] [in_ch x tiles],
 * 36 * out_ch * in_ch * tiles multiply-adds against 144 * ... for the direct
 * conv: 4x fewer flops, moved into the GEMMs (cblas_sgemm; OpenBLAS threads them)
 * plus O(tiles * channels) transforms (gb_parallel_for over rows of tiles).
 *   forward:         out = A^T [U (.) V] A + bias          (edge tiles clipped)
 *   backward-data:   dinp = conv(dout, flip(g)^T, pad 2 - p), the forward machinery
 *                    with the weight transform reading the kernel rotated and
 *                    transposed (a negative padding just crops: every read is
 *                    bounds-checked)
 *   backward-weight: dg += G^T [sum_tiles (A dY A^T) (.) V] G: per position one GEMM
 *                    dU[pos] += dM[pos] [out_ch x tiles] @ V[pos]^T, summed block
 *                    after block (beta 1, a fixed order), the 6x6 -> 3x3 transform
 *                    once at the end, in double.
 * Tiles are processed in blocks of whole samples (about BLOCK_TILES tiles) so the
 * transformed data of a block stays in the last-level cache between the transform,
 * the GEMMs and the inverse transform; the block depends on the shape only.
 *
 * Points: 0, +-1, +-2 and infinity (Lavin & Gray 2016). Measured on random data in
 * [-1, 1], 128 input channels, float32 transforms and sums, 3200 outputs per choice
 * (error / S, S = the same sum on absolute values, u = 2^-24): F(2x2,3x3) max 0.9u
 * mean 0.18u; F(4x4,3x3) with {0,+-1,+-2} max 18.9u mean 0.95u; with {0,+-1,+-1/2}
 * the same 18.9u / 0.92u; with {0,-1,1,1/2,-2} 5.7u / 0.74u; F(6x6,3x3) with
 * {0,+-1,+-2,+-1/2} 28u / 2.1u. All sit far inside the GEMM conv's own bound
 * (C*9+2)u = 1154u; the symmetric {0,+-1,+-2} pairs rows as a +- b, so each 1-D
 * input transform is 12 adds/multiplies instead of ~30 for the asymmetric set,
 * and the transforms are what costs at 8x8. F(2x2,3x3) saves only 2.25x of the
 * flops, F(6x6) loses accuracy: F(4x4) with {0,+-1,+-2}.
 *
 * Deterministic: transforms write disjoint outputs per unit, GEMMs are split by
 * OpenBLAS over output rows/columns only, the block order is fixed, so the bits do
 * not depend on the thread count. The weight transforms run in double and round
 * once. Tested by tests/test_kernels_winograd.c (float64 references, finite
 * differences, gradient contract, thread-count identity, the dispatch rule).
 */
#include <cblas.h>
#include <string.h>

#include "core/status.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/parallel.h"

enum { TILE = 4, ALPHA = 6, POS = ALPHA * ALPHA, BLOCK_TILES = 512, WORK_ROWS = 3 * ALPHA };

/* One forward-form convolution: in_ch -> out_ch, 3x3, stride 1, padding (may be
 * negative) on an in_h x in_w plane giving out_h x out_w. */
typedef struct {
    int batch, in_ch, out_ch;
    int in_h, in_w, pad_h, pad_w, out_h, out_w;
    int tiles_h, tiles_w;
} wg_geom;

static wg_geom make_geom(int batch, int in_ch, int out_ch, int in_h, int in_w, int pad_h, int pad_w,
                         int out_h, int out_w) {
    wg_geom g = {batch, in_ch, out_ch, in_h, in_w, pad_h, pad_w, out_h, out_w,
                 (out_h + TILE - 1) / TILE, (out_w + TILE - 1) / TILE};
    return g;
}

static size_t tiles_per_sample(const wg_geom *g) { return (size_t)g->tiles_h * (size_t)g->tiles_w; }

static int block_samples(const wg_geom *g) {
    size_t per = tiles_per_sample(g);
    size_t nb = per >= BLOCK_TILES ? 1 : BLOCK_TILES / per;
    return nb < (size_t)g->batch ? (int)nb : (g->batch > 0 ? g->batch : 1);
}

/* the padded row width of one row of tiles (tiles_w + 1 groups of 4 columns), rounded up
 * to a multiple of 16 floats */
static size_t row_floats(const wg_geom *g) {
    size_t w = (size_t)g->tiles_w * TILE + TILE;
    return (w + 15) / 16 * 16;
}

static size_t align16(size_t floats) { return (floats + 15) / 16 * 16; }

/* ---- weight transforms (double, rounded once) --------------------------------- */

/* Multiplying by these in double instead of dividing (a division costs ~10x a product;
 * at 8x8 the weight transform was 11% of a forward) changes the result by ~1e-16
 * relative, far below the one float rounding that follows. */
#define R6 (1.0 / 6)
#define R12 (1.0 / 12)
#define R24 (1.0 / 24)

/* u = G k G^T for a 3x3 kernel k (row-major). */
static void weight_to_wino(double u[POS], const double k[9]) {
    double t[ALPHA][3]; /* G k */
    for (int j = 0; j < 3; j++) {
        double a = k[0 * 3 + j], b = k[1 * 3 + j], c = k[2 * 3 + j];
        t[0][j] = a * 0.25;
        t[1][j] = -(a + b + c) * R6;
        t[2][j] = -(a - b + c) * R6;
        t[3][j] = a * R24 + b * R12 + c * R6;
        t[4][j] = a * R24 - b * R12 + c * R6;
        t[5][j] = c;
    }
    for (int i = 0; i < ALPHA; i++) {
        double a = t[i][0], b = t[i][1], c = t[i][2];
        u[i * ALPHA + 0] = a * 0.25;
        u[i * ALPHA + 1] = -(a + b + c) * R6;
        u[i * ALPHA + 2] = -(a - b + c) * R6;
        u[i * ALPHA + 3] = a * R24 + b * R12 + c * R6;
        u[i * ALPHA + 4] = a * R24 - b * R12 + c * R6;
        u[i * ALPHA + 5] = c;
    }
}

/* k = G^T d G for a 6x6 d: the adjoint of weight_to_wino. */
static void wino_to_weight(double k[9], const double d[POS]) {
    double t[3][ALPHA]; /* G^T d */
    for (int j = 0; j < ALPHA; j++) {
        double d0 = d[0 * ALPHA + j], d1 = d[1 * ALPHA + j], d2 = d[2 * ALPHA + j];
        double d3 = d[3 * ALPHA + j], d4 = d[4 * ALPHA + j], d5 = d[5 * ALPHA + j];
        t[0][j] = d0 * 0.25 - (d1 + d2) * R6 + (d3 + d4) * R24;
        t[1][j] = (d2 - d1) * R6 + (d3 - d4) * R12;
        t[2][j] = (d3 + d4 - d1 - d2) * R6 + d5;
    }
    for (int i = 0; i < 3; i++) {
        const double *r = t[i];
        k[i * 3 + 0] = r[0] * 0.25 - (r[1] + r[2]) * R6 + (r[3] + r[4]) * R24;
        k[i * 3 + 1] = (r[2] - r[1]) * R6 + (r[3] - r[4]) * R12;
        k[i * 3 + 2] = (r[3] + r[4] - r[1] - r[2]) * R6 + r[5];
    }
}

typedef struct {
    float *u;            /* [POS][out_ch][in_ch] */
    const float *weight; /* torch layout [O][I][3][3] of the original conv */
    int out_ch, in_ch;   /* of the forward-form conv being built */
    int flip;            /* 1: u[m][c] from weight[c][m] rotated 180 degrees */
} weight_job;

/* Elements per run of the weight transforms: each position's plane is written (read) in runs
 * of this many consecutive floats instead of one float per element, 36 planes apart. */
enum { WEIGHT_RUN = 32 };

static void weight_slice(void *ctx, size_t begin, size_t end, int slice) {
    (void)slice;
    const weight_job *j = ctx;
    const size_t plane = (size_t)j->out_ch * (size_t)j->in_ch;
    float run[POS][WEIGHT_RUN];
    for (size_t e0 = begin; e0 < end; e0 += WEIGHT_RUN) {
        const size_t len = end - e0 < WEIGHT_RUN ? end - e0 : WEIGHT_RUN;
        for (size_t r = 0; r < len; r++) {
            const size_t e = e0 + r, m = e / (size_t)j->in_ch, c = e % (size_t)j->in_ch;
            double k[9], u[POS];
            if (j->flip) {
                const float *w = j->weight + (c * (size_t)j->out_ch + m) * 9;
                for (int q = 0; q < 9; q++) k[q] = w[8 - q];
            } else {
                const float *w = j->weight + e * 9;
                for (int q = 0; q < 9; q++) k[q] = w[q];
            }
            weight_to_wino(u, k);
            for (int p = 0; p < POS; p++) run[p][r] = (float)u[p];
        }
        for (int p = 0; p < POS; p++) memcpy(j->u + (size_t)p * plane + e0, run[p], len * sizeof(float));
    }
}

typedef struct {
    float *dweight;   /* [out_ch][in_ch][3][3], += */
    const float *du;  /* [POS][out_ch][in_ch] */
    size_t plane;
} dweight_job;

static void dweight_slice(void *ctx, size_t begin, size_t end, int slice) {
    (void)slice;
    const dweight_job *j = ctx;
    float run[POS][WEIGHT_RUN];
    for (size_t e0 = begin; e0 < end; e0 += WEIGHT_RUN) {
        const size_t len = end - e0 < WEIGHT_RUN ? end - e0 : WEIGHT_RUN;
        for (int p = 0; p < POS; p++) memcpy(run[p], j->du + (size_t)p * j->plane + e0, len * sizeof(float));
        for (size_t r = 0; r < len; r++) {
            double d[POS], k[9];
            for (int p = 0; p < POS; p++) d[p] = run[p][r];
            wino_to_weight(k, d);
            float *w = j->dweight + (e0 + r) * 9;
            for (int q = 0; q < 9; q++) w[q] = (float)((double)w[q] + k[q]);
        }
    }
}

/* ---- data transforms --------------------------------------------------------- */

/* Copy rows [y0, y0 + nrows) of a plane, zero outside it, into buf[nrows][rw] with
 * buf column x holding plane column x - pad_w. */
static void load_rows(float *buf, size_t rw, const float *plane, int h, int w, int y0, int nrows,
                      int pad_w) {
    int x_lo = pad_w > 0 ? pad_w : 0;                       /* first buf column inside the plane */
    int src0 = pad_w > 0 ? 0 : -pad_w;                      /* its plane column */
    int len = w - src0 < (int)rw - x_lo ? w - src0 : (int)rw - x_lo;
    for (int i = 0; i < nrows; i++) {
        float *b = buf + (size_t)i * rw;
        int y = y0 + i;
        if (y < 0 || y >= h || len <= 0) {
            memset(b, 0, rw * sizeof *b);
            continue;
        }
        memset(b, 0, (size_t)x_lo * sizeof *b);
        memcpy(b + x_lo, plane + (size_t)y * (size_t)w + (size_t)src0, (size_t)len * sizeof *b);
        memset(b + x_lo + len, 0, (rw - (size_t)x_lo - (size_t)len) * sizeof *b);
    }
}

/* B^T applied down the columns: t[k][x] from the six rows d[i][x]. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void input_cols(float *restrict t, const float *restrict d, size_t rw) {
    const float *d0 = d, *d1 = d + rw, *d2 = d + 2 * rw, *d3 = d + 3 * rw, *d4 = d + 4 * rw, *d5 = d + 5 * rw;
    float *t0 = t, *t1 = t + rw, *t2 = t + 2 * rw, *t3 = t + 3 * rw, *t4 = t + 4 * rw, *t5 = t + 5 * rw;
    for (size_t x = 0; x < rw; x++) {
        float a = d4[x] - 4.0f * d2[x], b = d3[x] - 4.0f * d1[x];
        float c = d4[x] - d2[x], e = 2.0f * (d3[x] - d1[x]);
        t0[x] = 4.0f * d0[x] - 5.0f * d2[x] + d4[x];
        t1[x] = a + b;
        t2[x] = a - b;
        t3[x] = c + e;
        t4[x] = c - e;
        t5[x] = 4.0f * d1[x] - 5.0f * d3[x] + d5[x];
    }
}

/* Row r (rw floats, column x) split into its four phases: q[j * (ntx + 1) + i] = r[4 i + j],
 * so the six columns of tile tx are q_0..q_3 at tx and q_0, q_1 at tx + 1: every transform
 * below then reads consecutive tiles from consecutive addresses and vectorises. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void deinterleave(float *restrict q, const float *restrict r, int ntx) {
    const size_t n = (size_t)ntx + 1;
    for (size_t i = 0; i < n; i++) {
        q[i] = r[4 * i];
        q[n + i] = r[4 * i + 1];
        q[2 * n + i] = r[4 * i + 2];
        q[3 * n + i] = r[4 * i + 3];
    }
}

/* B^T applied along each (phase-split) row of t[k] for every tile: v[k*6 + l] gets tile
 * tx's value at v[pos * pos_stride + tx]. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void input_rows(float *restrict v, size_t pos_stride, const float *restrict t, size_t rw, int ntx) {
    const size_t n = (size_t)ntx + 1;
    for (int k = 0; k < ALPHA; k++) {
        const float *q0 = t + (size_t)k * rw, *q1 = q0 + n, *q2 = q0 + 2 * n, *q3 = q0 + 3 * n;
        float *o0 = v + (size_t)(k * ALPHA + 0) * pos_stride, *o1 = v + (size_t)(k * ALPHA + 1) * pos_stride;
        float *o2 = v + (size_t)(k * ALPHA + 2) * pos_stride, *o3 = v + (size_t)(k * ALPHA + 3) * pos_stride;
        float *o4 = v + (size_t)(k * ALPHA + 4) * pos_stride, *o5 = v + (size_t)(k * ALPHA + 5) * pos_stride;
        for (int tx = 0; tx < ntx; tx++) {
            float d0 = q0[tx], d1 = q1[tx], d2 = q2[tx], d3 = q3[tx], d4 = q0[tx + 1], d5 = q1[tx + 1];
            float a = d4 - 4.0f * d2, b = d3 - 4.0f * d1;
            float c = d4 - d2, e = 2.0f * (d3 - d1);
            o0[tx] = 4.0f * d0 - 5.0f * d2 + d4;
            o1[tx] = a + b;
            o2[tx] = a - b;
            o3[tx] = c + e;
            o4[tx] = c - e;
            o5[tx] = 4.0f * d1 - 5.0f * d3 + d5;
        }
    }
}

/* A^T along the rows: t[k][q * ntx + tx] (phase-split) from m[k*6 + j] (tile tx at
 * m[pos * pos_stride + tx]). */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void output_rows(float *restrict t, size_t rw, const float *restrict m, size_t pos_stride, int ntx) {
    for (int k = 0; k < ALPHA; k++) {
        const float *m0 = m + (size_t)(k * ALPHA + 0) * pos_stride, *m1 = m + (size_t)(k * ALPHA + 1) * pos_stride;
        const float *m2 = m + (size_t)(k * ALPHA + 2) * pos_stride, *m3 = m + (size_t)(k * ALPHA + 3) * pos_stride;
        const float *m4 = m + (size_t)(k * ALPHA + 4) * pos_stride, *m5 = m + (size_t)(k * ALPHA + 5) * pos_stride;
        float *o = t + (size_t)k * rw;
        for (int tx = 0; tx < ntx; tx++) {
            float a = m1[tx] + m2[tx], b = m1[tx] - m2[tx], c = m3[tx] + m4[tx], d = m3[tx] - m4[tx];
            o[tx] = m0[tx] + a + c;
            o[ntx + tx] = b + 2.0f * d;
            o[2 * ntx + tx] = a + 4.0f * c;
            o[3 * ntx + tx] = b + 8.0f * d + m5[tx];
        }
    }
}

/* A^T down the columns: output row q of the tile row, plus bias, for the n = 4 ntx
 * phase-split columns. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void output_cols(float *restrict out, const float *restrict t, size_t rw, int q, int w, float bias) {
    const float *t0 = t, *t1 = t + rw, *t2 = t + 2 * rw, *t3 = t + 3 * rw, *t4 = t + 4 * rw, *t5 = t + 5 * rw;
    switch (q) {
    case 0:
        for (int x = 0; x < w; x++) out[x] = t0[x] + (t1[x] + t2[x]) + (t3[x] + t4[x]) + bias;
        break;
    case 1:
        for (int x = 0; x < w; x++) out[x] = (t1[x] - t2[x]) + 2.0f * (t3[x] - t4[x]) + bias;
        break;
    case 2:
        for (int x = 0; x < w; x++) out[x] = (t1[x] + t2[x]) + 4.0f * (t3[x] + t4[x]) + bias;
        break;
    default:
        for (int x = 0; x < w; x++) out[x] = (t1[x] - t2[x]) + 8.0f * (t3[x] - t4[x]) + t5[x] + bias;
        break;
    }
}

/* out[4 tx + j] = q[j * ntx + tx] for the first w columns (the inverse of the phase split) */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void interleave(float *restrict out, const float *restrict q, int ntx, int w) {
    const int full = w / TILE < ntx ? w / TILE : ntx;
    for (int i = 0; i < full; i++) {
        out[4 * i] = q[i];
        out[4 * i + 1] = q[ntx + i];
        out[4 * i + 2] = q[2 * ntx + i];
        out[4 * i + 3] = q[3 * ntx + i];
    }
    for (int x = full * TILE; x < w; x++) out[x] = q[(x % TILE) * ntx + x / TILE];
}

/* A applied down the columns of a 4-row band of dY: t[k][x] (six rows) from d[r][x]. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void grad_cols(float *restrict t, const float *restrict d, size_t rw) {
    const float *d0 = d, *d1 = d + rw, *d2 = d + 2 * rw, *d3 = d + 3 * rw;
    float *t0 = t, *t1 = t + rw, *t2 = t + 2 * rw, *t3 = t + 3 * rw, *t4 = t + 4 * rw, *t5 = t + 5 * rw;
    for (size_t x = 0; x < rw; x++) {
        float e = d0[x] + d2[x], o = d1[x] + d3[x];
        float e4 = d0[x] + 4.0f * d2[x], o8 = 2.0f * d1[x] + 8.0f * d3[x];
        t0[x] = d0[x];
        t1[x] = e + o;
        t2[x] = e - o;
        t3[x] = e4 + o8;
        t4[x] = e4 - o8;
        t5[x] = d3[x];
    }
}

/* A applied along the (phase-split) rows: dm[k*6 + l] of tile tx from columns 4 tx .. 4 tx + 3 of t[k]. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void grad_rows(float *restrict v, size_t pos_stride, const float *restrict t, size_t rw, int ntx) {
    const size_t n = (size_t)ntx + 1;
    for (int k = 0; k < ALPHA; k++) {
        const float *q0 = t + (size_t)k * rw, *q1 = q0 + n, *q2 = q0 + 2 * n, *q3 = q0 + 3 * n;
        float *o0 = v + (size_t)(k * ALPHA + 0) * pos_stride, *o1 = v + (size_t)(k * ALPHA + 1) * pos_stride;
        float *o2 = v + (size_t)(k * ALPHA + 2) * pos_stride, *o3 = v + (size_t)(k * ALPHA + 3) * pos_stride;
        float *o4 = v + (size_t)(k * ALPHA + 4) * pos_stride, *o5 = v + (size_t)(k * ALPHA + 5) * pos_stride;
        for (int tx = 0; tx < ntx; tx++) {
            float d0 = q0[tx], d1 = q1[tx], d2 = q2[tx], d3 = q3[tx];
            float e = d0 + d2, o = d1 + d3;
            float e4 = d0 + 4.0f * d2, o8 = 2.0f * d1 + 8.0f * d3;
            o0[tx] = d0;
            o1[tx] = e + o;
            o2[tx] = e - o;
            o3[tx] = e4 + o8;
            o4[tx] = e4 - o8;
            o5[tx] = d3;
        }
    }
}

/* A transform job over the units (channel, sample of the block, tile row). */
typedef struct {
    const wg_geom *g;
    int n0;              /* first sample of the block */
    int channels;        /* channels per sample of the transformed tensor */
    int samples;         /* samples in the block */
    size_t tiles;        /* tiles in the block (the row length of one position's matrix) */
    float *wino;         /* [POS][channels][tiles] */
    const float *plane;  /* the NCHW tensor (input, or dY for the gradient transform) */
    float *out;          /* output transform: the NCHW output */
    const float *bias;
    float *work;         /* per slice: WORK_ROWS rows of row_floats */
} xform_job;

/* Units run channel by channel (then sample, then tile row), so one slice writes each
 * position's row of V or reads each of M front to back. */
static void unit_index(const xform_job *j, size_t u, int *n, int *c, int *ty) {
    *ty = (int)(u % (size_t)j->g->tiles_h);
    u /= (size_t)j->g->tiles_h;
    *n = (int)(u % (size_t)j->samples);
    *c = (int)(u / (size_t)j->samples);
}

static void input_slice(void *ctx, size_t begin, size_t end, int slice) {
    const xform_job *j = ctx;
    const wg_geom *g = j->g;
    const size_t rw = row_floats(g), pos_stride = (size_t)j->channels * j->tiles;
    float *rows = j->work + (size_t)slice * WORK_ROWS * rw, *ph = rows + ALPHA * rw, *t = ph + ALPHA * rw;
    for (size_t u = begin; u < end; u++) {
        int n, c, ty;
        unit_index(j, u, &n, &c, &ty);
        const float *p = j->plane + ((size_t)(j->n0 + n) * (size_t)g->in_ch + (size_t)c) * (size_t)g->in_h * (size_t)g->in_w;
        load_rows(rows, rw, p, g->in_h, g->in_w, ty * TILE - g->pad_h, ALPHA, g->pad_w);
        for (int i = 0; i < ALPHA; i++) deinterleave(ph + (size_t)i * rw, rows + (size_t)i * rw, g->tiles_w);
        input_cols(t, ph, rw);
        size_t tile0 = (size_t)n * tiles_per_sample(g) + (size_t)ty * (size_t)g->tiles_w;
        input_rows(j->wino + (size_t)c * j->tiles + tile0, pos_stride, t, rw, g->tiles_w);
    }
}

static void grad_slice(void *ctx, size_t begin, size_t end, int slice) {
    const xform_job *j = ctx;
    const wg_geom *g = j->g;
    const size_t rw = row_floats(g), pos_stride = (size_t)j->channels * j->tiles;
    float *rows = j->work + (size_t)slice * WORK_ROWS * rw, *ph = rows + ALPHA * rw, *t = ph + ALPHA * rw;
    for (size_t u = begin; u < end; u++) {
        int n, m, ty;
        unit_index(j, u, &n, &m, &ty);
        const float *p = j->plane + ((size_t)(j->n0 + n) * (size_t)g->out_ch + (size_t)m) * (size_t)g->out_h * (size_t)g->out_w;
        load_rows(rows, rw, p, g->out_h, g->out_w, ty * TILE, TILE, 0);
        for (int i = 0; i < TILE; i++) deinterleave(ph + (size_t)i * rw, rows + (size_t)i * rw, g->tiles_w);
        grad_cols(t, ph, rw);
        size_t tile0 = (size_t)n * tiles_per_sample(g) + (size_t)ty * (size_t)g->tiles_w;
        grad_rows(j->wino + (size_t)m * j->tiles + tile0, pos_stride, t, rw, g->tiles_w);
    }
}

static void output_slice(void *ctx, size_t begin, size_t end, int slice) {
    const xform_job *j = ctx;
    const wg_geom *g = j->g;
    const size_t rw = row_floats(g), pos_stride = (size_t)j->channels * j->tiles;
    float *t = j->work + (size_t)slice * WORK_ROWS * rw, *row = t + ALPHA * rw;
    for (size_t u = begin; u < end; u++) {
        int n, m, ty;
        unit_index(j, u, &n, &m, &ty);
        size_t tile0 = (size_t)n * tiles_per_sample(g) + (size_t)ty * (size_t)g->tiles_w;
        output_rows(t, rw, j->wino + (size_t)m * j->tiles + tile0, pos_stride, g->tiles_w);
        float *o = j->out + ((size_t)(j->n0 + n) * (size_t)g->out_ch + (size_t)m) * (size_t)g->out_h * (size_t)g->out_w;
        float b = j->bias ? j->bias[m] : 0.0f;
        const int n4 = g->tiles_w * TILE;
        for (int q = 0; q < TILE && ty * TILE + q < g->out_h; q++) {
            output_cols(row, t, rw, q, n4, b);
            interleave(o + (size_t)(ty * TILE + q) * (size_t)g->out_w, row, g->tiles_w, g->out_w);
        }
    }
}

/* ---- the drivers ------------------------------------------------------------- */

/* Floats of scratch for one geometry: U (and dU), V, M for a block, per-slice rows. */
typedef struct {
    size_t u, du, v, m, work;
} wg_layout;

static wg_layout layout_of(const gb_device *dev, const wg_geom *g, int need_du) {
    size_t tiles = (size_t)block_samples(g) * tiles_per_sample(g);
    int slices = dev && dev->threads > 1 ? dev->threads : 1;
    wg_layout l = {need_du ? 0 : align16((size_t)POS * g->out_ch * g->in_ch),
                   need_du ? align16((size_t)POS * g->out_ch * g->in_ch) : 0,
                   align16((size_t)POS * g->in_ch * tiles), align16((size_t)POS * g->out_ch * tiles),
                   align16((size_t)(slices > 64 ? 64 : slices) * WORK_ROWS * row_floats(g))};
    return l;
}

static size_t layout_floats(const wg_layout *l) { return l->u + l->du + l->v + l->m + l->work; }

/* gb_parallel_for's grain: about 16 tile rows of transform per call at the least */
static size_t unit_grain(const wg_geom *g) {
    size_t per = (size_t)g->tiles_w;
    return per >= 16 ? 1 : 16 / per;
}

/* out = conv(inp, u) + bias on the forward-form geometry g; u already transformed. */
static void wino_forward(gb_device *dev, float *out, const float *inp, const float *u, const float *bias,
                         const wg_geom *g, float *v, float *mo, float *work) {
    const int nb = block_samples(g);
    const size_t grain = unit_grain(g);
    for (int n0 = 0; n0 < g->batch; n0 += nb) {
        int cnt = g->batch - n0 < nb ? g->batch - n0 : nb;
        size_t tiles = (size_t)cnt * tiles_per_sample(g);
        xform_job in = {g, n0, g->in_ch, cnt, tiles, v, inp, NULL, NULL, work};
        gb_parallel_for(dev, (size_t)cnt * g->in_ch * g->tiles_h, grain, input_slice, &in);
        for (int p = 0; p < POS; p++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->out_ch, (int)tiles, g->in_ch, 1.0f,
                        u + (size_t)p * g->out_ch * g->in_ch, g->in_ch, v + (size_t)p * g->in_ch * tiles,
                        (int)tiles, 0.0f, mo + (size_t)p * g->out_ch * tiles, (int)tiles);
        xform_job ot = {g, n0, g->out_ch, cnt, tiles, mo, NULL, out, bias, work};
        gb_parallel_for(dev, (size_t)cnt * g->out_ch * g->tiles_h, grain, output_slice, &ot);
    }
}

static void transform_weights(gb_device *dev, float *u, const float *weight, int out_ch, int in_ch, int flip) {
    weight_job wj = {u, weight, out_ch, in_ch, flip};
    gb_parallel_for(dev, (size_t)out_ch * (size_t)in_ch, 256, weight_slice, &wj);
}

static float *carve(float **p, size_t floats) {
    float *r = *p;
    *p += floats;
    return r;
}

static void check_shape(const gb_conv_shape *s) {
    gb_conv_check_shape(s, 0);
    GB_ASSERT(s->kernel_h == 3 && s->kernel_w == 3 && s->stride_h == 1 && s->stride_w == 1,
              "conv2d winograd: kernel %dx%d stride %dx%d; only 3x3 stride 1 is supported "
              "(use gb_conv2d_forward_cpu, which dispatches)",
              s->kernel_h, s->kernel_w, s->stride_h, s->stride_w);
}

static wg_geom forward_geom(const gb_conv_shape *s) {
    return make_geom(s->batch, s->in_channels, s->out_channels, s->in_height, s->in_width, s->pad_h, s->pad_w,
                     gb_conv_out_h(s), gb_conv_out_w(s));
}

/* backward-data as a forward conv of dout: out_ch -> in_ch, padding 2 - p */
static wg_geom data_geom(const gb_conv_shape *s) {
    return make_geom(s->batch, s->out_channels, s->in_channels, gb_conv_out_h(s), gb_conv_out_w(s),
                     2 - s->pad_h, 2 - s->pad_w, s->in_height, s->in_width);
}

void gb_conv2d_forward_winograd_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                                    const float *bias, const gb_conv_shape *s) {
    check_shape(s);
    if (s->batch == 0) return;
    const wg_geom g = forward_geom(s);
    wg_layout l = layout_of(dev, &g, 0);
    float *p = gb_dev_scratch(dev, layout_floats(&l) * sizeof(float));
    float *u = carve(&p, l.u), *v = carve(&p, l.v), *mo = carve(&p, l.m), *work = carve(&p, l.work);
    transform_weights(dev, u, weight, g.out_ch, g.in_ch, 0);
    wino_forward(dev, out, inp, u, bias, &g, v, mo, work);
}

void gb_conv2d_backward_winograd_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                     const float *dout, const float *inp, const float *weight,
                                     const gb_conv_shape *s) {
    check_shape(s);
    const wg_geom fg = forward_geom(s), dg = data_geom(s);
    const size_t P = (size_t)fg.out_h * (size_t)fg.out_w;
    if (dbias) gb_conv_bias_grad(dev, dbias, dout, s->batch, s->out_channels, P);
    if ((!dinp && !dweight) || s->batch == 0) return;

    wg_layout lw = layout_of(dev, &fg, 1), ld = layout_of(dev, &dg, 0);
    size_t fw = dweight ? layout_floats(&lw) : 0, fd = dinp ? layout_floats(&ld) : 0;
    float *base = gb_dev_scratch(dev, (fw > fd ? fw : fd) * sizeof(float));

    if (dweight) {
        float *p = base;
        float *du = carve(&p, lw.du), *v = carve(&p, lw.v), *dm = carve(&p, lw.m), *work = carve(&p, lw.work);
        const int nb = block_samples(&fg);
        const size_t grain = unit_grain(&fg), plane = (size_t)fg.out_ch * (size_t)fg.in_ch;
        for (int n0 = 0; n0 < fg.batch; n0 += nb) {
            int cnt = fg.batch - n0 < nb ? fg.batch - n0 : nb;
            size_t tiles = (size_t)cnt * tiles_per_sample(&fg);
            xform_job in = {&fg, n0, fg.in_ch, cnt, tiles, v, inp, NULL, NULL, work};
            gb_parallel_for(dev, (size_t)cnt * fg.in_ch * fg.tiles_h, grain, input_slice, &in);
            xform_job gd = {&fg, n0, fg.out_ch, cnt, tiles, dm, dout, NULL, NULL, work};
            gb_parallel_for(dev, (size_t)cnt * fg.out_ch * fg.tiles_h, grain, grad_slice, &gd);
            for (int q = 0; q < POS; q++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, fg.out_ch, fg.in_ch, (int)tiles, 1.0f,
                            dm + (size_t)q * fg.out_ch * tiles, (int)tiles, v + (size_t)q * fg.in_ch * tiles,
                            (int)tiles, n0 == 0 ? 0.0f : 1.0f, du + (size_t)q * plane, fg.in_ch);
        }
        dweight_job dj = {dweight, du, plane};
        gb_parallel_for(dev, plane, 256, dweight_slice, &dj);
    }
    if (dinp) {
        float *p = base;
        float *u = carve(&p, ld.u), *v = carve(&p, ld.v), *mo = carve(&p, ld.m), *work = carve(&p, ld.work);
        transform_weights(dev, u, weight, dg.out_ch, dg.in_ch, 1);
        wino_forward(dev, dinp, dout, u, NULL, &dg, v, mo, work);
    }
}
