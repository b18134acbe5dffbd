/* kernels/cpu/attention.c - softmax attention over spatial positions, forward and
 * backward (CPU): the U-Net's mid-block Attention of lucidrains'
 * denoising-diffusion-pytorch (2022, the version with `scale = 10` and l2norm),
 * specs/pipelines.md 4.6, between its to_qkv and to_out 1x1 convs.
 *
 * Per sample b and head h, with D = dim_head, N = positions and q, k, v the
 * [D, N] blocks of qkv (kernels/shapes.h, gb_attention_shape):
 *   qn = q / max(||q||, 1e-12), kn likewise       (when l2_normalize_qk; else q, k)
 *   attn = softmax_j(scale * qn^T kn)              [N, N], row i = query i
 *   out  = v attn^T                                [D, N], at out[b, h*D + d, i]
 *
 * Which axis the L2 norm runs over: lucidrains rearranges q to
 * 'b h c (x y)' and calls F.normalize(t, dim = -1), so each row q[d, :] is
 * normalised over the N positions (not each column over dim_head, as a
 * cosine-similarity attention would). The pretrained checkpoint was trained with
 * that, so it is what this kernel computes; tests/peers/kernels_attention.py
 * transcribes the module line by line and the suite checks it.
 *
 * Saved buffer (gb_attention_saved_floats floats), head t = b*heads + h, BH heads:
 *   saved[t*N*N ..]                       attn [N, N]
 *   saved[BH*N*N + t*D*N ..]              qn   [D, N]
 *   saved[BH*N*N + BH*D*N + t*D*N ..]     kn   [D, N]
 * The norms are recomputed in backward from qkv (the same double-precision code
 * path, so the same values, and no ambiguity at the eps clamp).
 *
 * Backward (dO = dout block [D, N]; dqkv overwrites):
 *   dv = dO attn;  dattn = dO^T v;  dsim = attn * (dattn - rowsum(attn * dattn))
 *   dqn = scale * kn dsim^T;  dkn = scale * qn dsim
 *   dq = (dqn - qn <qn, dqn>) / ||q|| per row (||q|| >= eps), dqn / eps otherwise
 *   (F.normalize's clamp_min passes no gradient to the norm below eps); dk likewise.
 *
 * Numerics: the four products are cblas_sgemm calls (float, K = D or N terms;
 * OpenBLAS never splits the reduction over threads, so results do not depend on
 * the thread count); norms, softmax and its backward are double (softmax.c).
 * Scratch: one [N, N] float matrix from gb_dev_scratch.
 * Tested by tests/test_kernels_attention.c: float64 transcription with central
 * finite differences, PyTorch forward and autograd fixtures
 * (tests/peers/kernels_attention.py).
 */
#include "kernels/cpu/cpu.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

static const double gb_l2norm_eps = 1e-12; /* F.normalize's default */

static void check_shape(const gb_attention_shape *s) {
    GB_ASSERT(s->batch >= 0 && s->heads >= 1 && s->dim_head >= 1 && s->positions >= 1,
              "attention shape: batch %d, heads %d, dim_head %d, positions %d", s->batch, s->heads,
              s->dim_head, s->positions);
}

/* ||x||_2 of a row of n floats, in double, ascending order. */
static double row_norm(const float *x, size_t n) {
    double acc = 0.0;
    for (size_t j = 0; j < n; j++) acc += (double)x[j] * (double)x[j];
    return sqrt(acc);
}

/* y[d, :] = x[d, :] / max(||x[d, :]||, eps) for the D rows of a head. */
static void l2_normalize_rows(float *y, const float *x, size_t rows, size_t n) {
    for (size_t d = 0; d < rows; d++) {
        const float *xr = x + d * n;
        float *yr = y + d * n;
        const double norm = row_norm(xr, n);
        const double den = norm > gb_l2norm_eps ? norm : gb_l2norm_eps;
        for (size_t j = 0; j < n; j++) yr[j] = (float)((double)xr[j] / den);
    }
}

/* In place: g[d, :] (the gradient w.r.t. the normalised row) becomes the gradient
 * w.r.t. the raw row x[d, :]. */
static void l2_normalize_rows_backward(float *g, const float *x, size_t rows, size_t n) {
    for (size_t d = 0; d < rows; d++) {
        const float *xr = x + d * n;
        float *gr = g + d * n;
        const double norm = row_norm(xr, n);
        if (norm < gb_l2norm_eps) {
            for (size_t j = 0; j < n; j++) gr[j] = (float)((double)gr[j] / gb_l2norm_eps);
            continue;
        }
        double dot = 0.0; /* <y, g> with y = x / norm */
        for (size_t j = 0; j < n; j++) dot += (double)xr[j] / norm * (double)gr[j];
        for (size_t j = 0; j < n; j++)
            gr[j] = (float)(((double)gr[j] - (double)xr[j] / norm * dot) / norm);
    }
}

void gb_attention_forward_cpu(gb_device *dev, float *out, float *saved, const float *qkv,
                              const gb_attention_shape *shape) {
    check_shape(shape);
    const int D = shape->dim_head, N = shape->positions;
    const size_t d = (size_t)D, n = (size_t)N, heads = (size_t)shape->heads;
    const size_t bh = (size_t)shape->batch * heads;
    const size_t chunk = heads * d * n; /* one of q, k, v for one sample */
    for (size_t t = 0; t < bh; t++) {
        const size_t b = t / heads, h = t % heads;
        const float *q = qkv + b * 3 * chunk + h * d * n, *k = q + chunk, *v = k + chunk;
        float *attn = saved + t * n * n;
        float *qn = saved + bh * n * n + t * d * n;
        float *kn = saved + bh * n * n + bh * d * n + t * d * n;
        if (shape->l2_normalize_qk) {
            l2_normalize_rows(qn, q, d, n);
            l2_normalize_rows(kn, k, d, n);
        } else {
            memcpy(qn, q, d * n * sizeof *qn);
            memcpy(kn, k, d * n * sizeof *kn);
        }
        /* sim[i, j] = scale * sum_d qn[d, i] kn[d, j] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, N, D, shape->scale, qn, N, kn, N,
                    0.0f, attn, N);
        gb_softmax_forward_cpu(dev, attn, attn, n, n);
        /* out[d, i] = sum_j v[d, j] attn[i, j] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, D, N, N, 1.0f, v, N, attn, N, 0.0f,
                    out + (b * heads + h) * d * n, N);
    }
}

void gb_attention_backward_cpu(gb_device *dev, float *dqkv, const float *dout, const float *qkv,
                               const float *saved, const gb_attention_shape *shape) {
    check_shape(shape);
    const int D = shape->dim_head, N = shape->positions;
    const size_t d = (size_t)D, n = (size_t)N, heads = (size_t)shape->heads;
    const size_t bh = (size_t)shape->batch * heads;
    const size_t chunk = heads * d * n;
    float *dsim = gb_dev_scratch(dev, n * n * sizeof(float));
    for (size_t t = 0; t < bh; t++) {
        const size_t b = t / heads, h = t % heads;
        const float *q = qkv + b * 3 * chunk + h * d * n, *k = q + chunk, *v = k + chunk;
        float *dq = dqkv + b * 3 * chunk + h * d * n, *dk = dq + chunk, *dv = dk + chunk;
        const float *attn = saved + t * n * n;
        const float *qn = saved + bh * n * n + t * d * n;
        const float *kn = saved + bh * n * n + bh * d * n + t * d * n;
        const float *g = dout + (b * heads + h) * d * n;
        /* dv[d, j] = sum_i dO[d, i] attn[i, j] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, D, N, N, 1.0f, g, N, attn, N, 0.0f,
                    dv, N);
        /* dattn[i, j] = sum_d dO[d, i] v[d, j], then through the softmax */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, N, D, 1.0f, g, N, v, N, 0.0f, dsim,
                    N);
        gb_softmax_backward_cpu(dev, dsim, dsim, attn, n, n);
        /* dqn[d, i] = scale * sum_j kn[d, j] dsim[i, j];  dkn[d, j] = scale * sum_i qn[d, i] dsim[i, j] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, D, N, N, shape->scale, kn, N, dsim, N,
                    0.0f, dq, N);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, D, N, N, shape->scale, qn, N, dsim,
                    N, 0.0f, dk, N);
        if (shape->l2_normalize_qk) {
            l2_normalize_rows_backward(dq, q, d, n);
            l2_normalize_rows_backward(dk, k, d, n);
        }
    }
}
