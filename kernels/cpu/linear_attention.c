/* kernels/cpu/linear_attention.c - linear attention over spatial positions,
 * forward and backward (CPU): the U-Net's LinearAttention of lucidrains'
 * denoising-diffusion-pytorch (2022), specs/pipelines.md 4.6, between its to_qkv
 * conv and its to_out conv + LayerNorm.
 *
 * Per sample b and head h, with D = dim_head, N = positions and q, k, v the
 * [D, N] blocks of qkv (kernels/shapes.h, gb_attention_shape):
 *   pq = softmax of q over dim_head (each column)     q.softmax(dim = -2)
 *   pk = softmax of k over positions (each row)        k.softmax(dim = -1)
 *   ctx = pk (v / N)^T                     [D, D]     einsum('b h d n, b h e n -> b h d e')
 *   out[e, n] = scale * sum_d ctx[d, e] pq[d, n]          einsum('b h d e, b h d n -> b h e n')
 * with scale = shape->scale (dim_head^-0.5 in the U-Net); out lands at
 * out[b, h*D + e, n]. The two scalings ride on sgemm's alpha (1/N and scale)
 * instead of separate passes; mathematically the same, one rounding apart.
 *
 * Saved buffer (gb_linear_attention_saved_floats floats), head t = b*heads + h,
 * BH heads:
 *   saved[t*D*N ..]                   pq  [D, N]
 *   saved[BH*D*N + t*D*N ..]          pk  [D, N]
 *   saved[2*BH*D*N + t*D*D ..]        ctx [D, D]
 *
 * Backward (dO = dout block [D, N]; dqkv overwrites):
 *   dctx = scale * pq dO^T;  dpq = scale * ctx dO
 *   dpk  = (1/N) dctx v;     dv  = (1/N) dctx^T pk
 *   dq = pq * (dpq - colsum(pq * dpq)) per column; dk = pk * (dpk - rowsum(pk * dpk)).
 *
 * Numerics: products are cblas_sgemm (float; thread-count independent, see
 * attention.c); both softmaxes and their backward are double (the forward's here, with
 * gb_vexp_nonpositive_f64 in kernels/cpu/vmath.h; the backward's row version from softmax.c). Scratch: one
 * [D, D] float matrix from gb_dev_scratch.
 * Speed (issue 3): the forward was 3x slower than its own backward at 32x32 (30 ms, U-Net
 * level 1, batch 16): perf put ~2/3 of it in glibc's scalar double exp (two softmaxes, 4M
 * exponentials) and a scalar running max. The exponentials are now a vectorised double
 * polynomial (same accuracy class, so the error analysis of tests/tolerances.md is
 * unchanged), the max runs in 16 lanes, and both softmaxes of all heads run in one
 * gb_parallel_for over heads before the per-head sgemms (OpenBLAS threads those). Measured
 * min ms, 2 threads, old and new binaries interleaved on the noisy shared 2-core machine
 * (two rounds, medians 1.5-4x the mins): 32x32 34-67 -> 25-27 (backward 16), 16x16 7.8-9.9
 * -> 2.2-3.3, 8x8 1.76-1.80 -> 0.80-0.81, 4x4 0.43 -> 0.25. At 32x32 the rest is memory
 * traffic (qkv 25 MB, saved 17 MB) and the 64 per-head sgemm pairs. The backward's softmax
 * backwards likewise run in one gb_parallel_for after its sgemms (session 5, min ms, old and
 * new interleaved): 32x32 11.6-11.8 -> 9.1, 16x16 2.2 -> 2.0, 8x8 0.55 -> 0.47, 4x4 0.15 -> 0.13.
 * Tested by tests/test_kernels_attention.c: float64 transcription with central
 * finite differences, PyTorch forward and autograd fixtures
 * (tests/peers/kernels_attention.py).
 */
#include "kernels/cpu/cpu.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vmath.h"

static void check_shape(const gb_attention_shape *s) {
    GB_ASSERT(s->batch >= 0 && s->heads >= 1 && s->dim_head >= 1 && s->positions >= 1,
              "linear attention shape: batch %d, heads %d, dim_head %d, positions %d", s->batch,
              s->heads, s->dim_head, s->positions);
}

/* Column operations walk blocks of GB_COL_BLOCK columns row by row: a column
 * walk would stride by N floats, which for N = 1024 maps all D rows to one L1
 * set (4 KiB aliasing) and misses on every access. Each column still reduces
 * over rows in ascending order, so blocking changes no result. */
enum { GB_COL_BLOCK = 64, GB_MAX_LANES = 16 };

/* p[:, j] = softmax of x[:, j] over the `rows` entries of each column (max subtracted; one
 * exponential per element, parked in p as float until the double sum is known, as
 * gb_softmax_forward_cpu does). The max is taken in float (exact); sums run down each column
 * in ascending row order. */
GB_VCLONES
static void column_softmax(float *p, const float *x, size_t rows, size_t cols) {
    float m[GB_COL_BLOCK];
    double s[GB_COL_BLOCK];
    for (size_t j0 = 0; j0 < cols; j0 += GB_COL_BLOCK) {
        const size_t w = cols - j0 < GB_COL_BLOCK ? cols - j0 : GB_COL_BLOCK;
        for (size_t j = 0; j < w; j++) m[j] = -INFINITY, s[j] = 0.0;
        for (size_t r = 0; r < rows; r++) {
            const float *xr = x + r * cols + j0;
            for (size_t j = 0; j < w; j++) m[j] = xr[j] > m[j] ? xr[j] : m[j];
        }
        for (size_t r = 0; r < rows; r++) {
            const float *xr = x + r * cols + j0;
            float *pr = p + r * cols + j0;
            for (size_t j = 0; j < w; j++) {
                const double e = gb_vexp_nonpositive_f64((double)xr[j] - (double)m[j]);
                s[j] += e;
                pr[j] = (float)e;
            }
        }
        for (size_t r = 0; r < rows; r++) {
            float *pr = p + r * cols + j0;
            for (size_t j = 0; j < w; j++) pr[j] = (float)((double)pr[j] / s[j]);
        }
    }
}

/* p[r, :] = softmax of x[r, :] over the `cols` entries of each row: the same steps, the row's
 * sum in GB_VLANES interleaved double partial sums combined in vmath.h's fixed tree (the order
 * is set by the code, not the vector width). */
GB_VCLONES
static void row_softmax(float *p, const float *x, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *pr = p + r * cols;
        /* the max in GB_MAX_LANES lanes (a single running max is a serial chain GCC will not
         * vectorise); a max is exact, so the lane split changes no bit */
        float ml[GB_MAX_LANES];
        for (size_t l = 0; l < GB_MAX_LANES; l++) ml[l] = -INFINITY;
        size_t j = 0;
        for (; j + GB_MAX_LANES <= cols; j += GB_MAX_LANES)
            for (size_t l = 0; l < GB_MAX_LANES; l++) ml[l] = xr[j + l] > ml[l] ? xr[j + l] : ml[l];
        for (; j < cols; j++) ml[0] = xr[j] > ml[0] ? xr[j] : ml[0];
        float mf = ml[0];
        for (size_t l = 1; l < GB_MAX_LANES; l++) mf = ml[l] > mf ? ml[l] : mf;
        const double m = (double)mf;
        double acc[GB_VLANES] = {0};
        for (j = 0; j + GB_VLANES <= cols; j += GB_VLANES)
            for (size_t l = 0; l < GB_VLANES; l++) {
                const double e = gb_vexp_nonpositive_f64((double)xr[j + l] - m);
                acc[l] += e;
                pr[j + l] = (float)e;
            }
        for (; j < cols; j++) {
            const double e = gb_vexp_nonpositive_f64((double)xr[j] - m);
            acc[j % GB_VLANES] += e;
            pr[j] = (float)e;
        }
        const double s = gb_vlanes_total(acc);
        for (j = 0; j < cols; j++) pr[j] = (float)((double)pr[j] / s);
    }
}

/* In place: g (gradient w.r.t. p) becomes the gradient w.r.t. x, column by column. */
static void column_softmax_backward(float *g, const float *p, size_t rows, size_t cols) {
    double dot[GB_COL_BLOCK];
    for (size_t j0 = 0; j0 < cols; j0 += GB_COL_BLOCK) {
        const size_t w = cols - j0 < GB_COL_BLOCK ? cols - j0 : GB_COL_BLOCK;
        for (size_t j = 0; j < w; j++) dot[j] = 0.0;
        for (size_t r = 0; r < rows; r++) {
            const float *pr = p + r * cols + j0, *gr = g + r * cols + j0;
            for (size_t j = 0; j < w; j++) dot[j] += (double)pr[j] * (double)gr[j];
        }
        for (size_t r = 0; r < rows; r++) {
            const float *pr = p + r * cols + j0;
            float *gr = g + r * cols + j0;
            for (size_t j = 0; j < w; j++) gr[j] = (float)((double)pr[j] * ((double)gr[j] - dot[j]));
        }
    }
}

/* Both softmaxes of heads [begin, end): heads write disjoint pq / pk blocks, each computed by
 * one slice in a fixed order, so the bits do not depend on the thread count. */
typedef struct {
    const float *qkv;
    float *saved;
    size_t d, n, heads, bh;
} softmax_job;

static void softmax_slice(void *ctx, size_t begin, size_t end, int slice) {
    (void)slice;
    const softmax_job *j = ctx;
    const size_t d = j->d, n = j->n, chunk = j->heads * d * n;
    for (size_t t = begin; t < end; t++) {
        const size_t b = t / j->heads, h = t % j->heads;
        const float *q = j->qkv + b * 3 * chunk + h * d * n, *k = q + chunk;
        column_softmax(j->saved + t * d * n, q, d, n);
        row_softmax(j->saved + j->bh * d * n + t * d * n, k, d, n);
    }
}

void gb_linear_attention_forward_cpu(gb_device *dev, float *out, float *saved, const float *qkv,
                                     const gb_attention_shape *shape) {
    check_shape(shape);
    const int D = shape->dim_head, N = shape->positions;
    const size_t d = (size_t)D, n = (size_t)N, heads = (size_t)shape->heads;
    const size_t bh = (size_t)shape->batch * heads;
    const size_t chunk = heads * d * n;
    const float inv_n = (float)(1.0 / (double)N);
    softmax_job job = {qkv, saved, d, n, heads, bh};
    gb_parallel_for(dev, bh, 1, softmax_slice, &job);
    for (size_t t = 0; t < bh; t++) {
        const size_t b = t / heads, h = t % heads;
        const float *v = qkv + b * 3 * chunk + h * d * n + 2 * chunk;
        const float *pq = saved + t * d * n;
        const float *pk = saved + bh * d * n + t * d * n;
        float *ctx = saved + 2 * bh * d * n + t * d * d;
        /* ctx[d, e] = (1/N) sum_n pk[d, n] v[e, n] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, D, D, N, inv_n, pk, N, v, N, 0.0f, ctx,
                    D);
        /* out[e, n] = scale * sum_d ctx[d, e] pq[d, n] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, N, D, shape->scale, ctx, D, pq, N,
                    0.0f, out + (b * heads + h) * d * n, N);
    }
}

/* Both softmax backwards of heads [begin, end), in place on the dq / dk blocks the GEMMs
 * wrote: heads are disjoint and each is computed by one slice in a fixed order. */
typedef struct {
    float *dqkv;
    const float *saved;
    size_t d, n, heads, bh;
} softmax_backward_job;

static void softmax_backward_slice(void *ctx, size_t begin, size_t end, int slice) {
    (void)slice;
    const softmax_backward_job *j = ctx;
    const size_t d = j->d, n = j->n, chunk = j->heads * d * n;
    for (size_t t = begin; t < end; t++) {
        const size_t b = t / j->heads, h = t % j->heads;
        float *dq = j->dqkv + b * 3 * chunk + h * d * n, *dk = dq + chunk;
        column_softmax_backward(dq, j->saved + t * d * n, d, n);
        gb_softmax_backward_cpu(NULL, dk, dk, j->saved + j->bh * d * n + t * d * n, d, n);
    }
}

/* The per-head sgemms first (OpenBLAS threads them; dq and dk hold dpq and dpk until the
 * second pass), then both softmax backwards of all heads in one gb_parallel_for, as the
 * forward does with its softmaxes: run per head between the sgemms they were single-threaded. */
void gb_linear_attention_backward_cpu(gb_device *dev, float *dqkv, const float *dout,
                                      const float *qkv, const float *saved,
                                      const gb_attention_shape *shape) {
    check_shape(shape);
    const int D = shape->dim_head, N = shape->positions;
    const size_t d = (size_t)D, n = (size_t)N, heads = (size_t)shape->heads;
    const size_t bh = (size_t)shape->batch * heads;
    const size_t chunk = heads * d * n;
    const float inv_n = (float)(1.0 / (double)N);
    float *dctx = gb_dev_scratch(dev, d * d * sizeof(float));
    for (size_t t = 0; t < bh; t++) {
        const size_t b = t / heads, h = t % heads;
        const float *v = qkv + b * 3 * chunk + h * d * n + 2 * chunk;
        float *dq = dqkv + b * 3 * chunk + h * d * n, *dk = dq + chunk, *dv = dk + chunk;
        const float *pq = saved + t * d * n;
        const float *pk = saved + bh * d * n + t * d * n;
        const float *ctx = saved + 2 * bh * d * n + t * d * d;
        const float *g = dout + (b * heads + h) * d * n;
        /* dctx[d, e] = scale * sum_n pq[d, n] dO[e, n] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, D, D, N, shape->scale, pq, N, g, N,
                    0.0f, dctx, D);
        /* dpq[d, n] = scale * sum_e ctx[d, e] dO[e, n] (dq's softmax backward comes after) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, D, N, D, shape->scale, ctx, D, g, N,
                    0.0f, dq, N);
        /* dpk[d, n] = (1/N) sum_e dctx[d, e] v[e, n] (likewise) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, D, N, D, inv_n, dctx, D, v, N, 0.0f,
                    dk, N);
        /* dv[e, n] = (1/N) sum_d dctx[d, e] pk[d, n] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, N, D, inv_n, dctx, D, pk, N, 0.0f,
                    dv, N);
    }
    softmax_backward_job job = {dqkv, saved, d, n, heads, bh};
    gb_parallel_for(dev, bh, 1, softmax_backward_slice, &job);
}
