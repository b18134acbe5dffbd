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
 * attention.c); both softmaxes and their backward are double (softmax.c for the
 * rows, the column versions here). Scratch: one [D, D] float matrix from
 * gb_dev_scratch.
 * Tested by tests/test_kernels_attention.c: float64 transcription with central
 * finite differences, PyTorch forward and autograd fixtures
 * (tests/peers/kernels_attention.py).
 */
#include "kernels/cpu/cpu.h"

#include <cblas.h>
#include <math.h>

static void check_shape(const gb_attention_shape *s) {
    GB_ASSERT(s->batch >= 0 && s->heads >= 1 && s->dim_head >= 1 && s->positions >= 1,
              "linear attention shape: batch %d, heads %d, dim_head %d, positions %d", s->batch,
              s->heads, s->dim_head, s->positions);
}

/* Column operations walk blocks of GB_COL_BLOCK columns row by row: a column
 * walk would stride by N floats, which for N = 1024 maps all D rows to one L1
 * set (4 KiB aliasing) and misses on every access. Each column still reduces
 * over rows in ascending order, so blocking changes no result. */
enum { GB_COL_BLOCK = 64 };

/* p[:, j] = softmax of x[:, j] over the `rows` entries of each column (double,
 * max subtracted; one exponential per element, parked in p as float until the
 * sum is known, as gb_softmax_forward_cpu does). */
static void column_softmax(float *p, const float *x, size_t rows, size_t cols) {
    double m[GB_COL_BLOCK], s[GB_COL_BLOCK];
    for (size_t j0 = 0; j0 < cols; j0 += GB_COL_BLOCK) {
        const size_t w = cols - j0 < GB_COL_BLOCK ? cols - j0 : GB_COL_BLOCK;
        for (size_t j = 0; j < w; j++) m[j] = -INFINITY, s[j] = 0.0;
        for (size_t r = 0; r < rows; r++) {
            const float *xr = x + r * cols + j0;
            for (size_t j = 0; j < w; j++)
                if ((double)xr[j] > m[j]) m[j] = (double)xr[j];
        }
        for (size_t r = 0; r < rows; r++) {
            const float *xr = x + r * cols + j0;
            float *pr = p + r * cols + j0;
            for (size_t j = 0; j < w; j++) {
                const double e = exp((double)xr[j] - m[j]);
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

void gb_linear_attention_forward_cpu(gb_device *dev, float *out, float *saved, const float *qkv,
                                     const gb_attention_shape *shape) {
    check_shape(shape);
    const int D = shape->dim_head, N = shape->positions;
    const size_t d = (size_t)D, n = (size_t)N, heads = (size_t)shape->heads;
    const size_t bh = (size_t)shape->batch * heads;
    const size_t chunk = heads * d * n;
    const float inv_n = (float)(1.0 / (double)N);
    for (size_t t = 0; t < bh; t++) {
        const size_t b = t / heads, h = t % heads;
        const float *q = qkv + b * 3 * chunk + h * d * n, *k = q + chunk, *v = k + chunk;
        float *pq = saved + t * d * n;
        float *pk = saved + bh * d * n + t * d * n;
        float *ctx = saved + 2 * bh * d * n + t * d * d;
        column_softmax(pq, q, d, n);
        gb_softmax_forward_cpu(dev, pk, k, d, n);
        /* ctx[d, e] = (1/N) sum_n pk[d, n] v[e, n] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, D, D, N, inv_n, pk, N, v, N, 0.0f, ctx,
                    D);
        /* out[e, n] = scale * sum_d ctx[d, e] pq[d, n] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, N, D, shape->scale, ctx, D, pq, N,
                    0.0f, out + (b * heads + h) * d * n, N);
    }
}

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
        /* dpq[d, n] = scale * sum_e ctx[d, e] dO[e, n] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, D, N, D, shape->scale, ctx, D, g, N,
                    0.0f, dq, N);
        column_softmax_backward(dq, pq, d, n);
        /* dpk[d, n] = (1/N) sum_e dctx[d, e] v[e, n] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, D, N, D, inv_n, dctx, D, v, N, 0.0f,
                    dk, N);
        gb_softmax_backward_cpu(dev, dk, dk, pk, d, n);
        /* dv[e, n] = (1/N) sum_d dctx[d, e] pk[d, n] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, N, D, inv_n, dctx, D, pk, N, 0.0f,
                    dv, N);
    }
}
