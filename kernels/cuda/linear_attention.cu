/* kernels/cuda/linear_attention.cu - linear attention over spatial positions, forward and
 * backward (CUDA): the U-Net's LinearAttention (lucidrains' denoising-diffusion-pytorch, 2022).
 *
 * Semantics, saved-buffer layout and backward formulas of kernels/cpu/linear_attention.c
 * (read its header): per sample b and head h with q, k, v the [D, N] blocks of qkv,
 *   pq = softmax of q over dim_head (columns), pk = softmax of k over positions (rows),
 *   ctx = pk (v / N)^T, out = scale * ctx^T pq;  dqkv overwrites.
 * Products: cuBLAS strided-batched sgemms (gb_cuda_sgemm_rm, one call per head batched over
 * samples), with 1/N and scale on alpha as the CPU does. Column softmax and its backward:
 * one thread per column running the CPU's double loops in its order; row softmax: softmax.cu
 * (one call per sample: a sample's k rows of all heads are contiguous). cuBLAS rounds its
 * dot products in another order than OpenBLAS and CUDA's double exp is not glibc's, so
 * results match the CPU backend within the bounds of tests/tolerances.md; repeated runs give
 * the same bits. Scratch: dctx [batch*heads, D, D] floats in backward.
 * Tested by tests/test_kernels_cuda_ops.c against the CPU backend.
 */
#include "kernels/cuda/reduce.cuh"

static void check_shape(const gb_attention_shape *s) {
    GB_ASSERT(s->batch >= 0 && s->heads >= 1 && s->dim_head >= 1 && s->positions >= 1,
              "linear attention shape: batch %d, heads %d, dim_head %d, positions %d", s->batch,
              s->heads, s->dim_head, s->positions);
}

/* Column j of head t: the q block of qkv (or dq of dqkv) sits at (t / heads) * 3*chunk +
 * (t % heads) * D*N; pq's at t * D*N. Rows are N apart. */
__global__ void column_softmax_kernel(float *pq, const float *qkv, size_t bh, size_t heads,
                                      size_t d, size_t n) {
    const size_t chunk = heads * d * n;
    GB_CUDA_FOR(col, bh * n) {
        const size_t t = col / n, j = col % n;
        const float *x = qkv + (t / heads) * 3 * chunk + (t % heads) * d * n + j;
        float *p = pq + t * d * n + j;
        double m = -INFINITY, s = 0.0;
        for (size_t r = 0; r < d; r++)
            if ((double)x[r * n] > m) m = (double)x[r * n];
        for (size_t r = 0; r < d; r++) {
            const double e = exp(gb_dsub((double)x[r * n], m));
            s = gb_dadd(s, e);
            p[r * n] = (float)e;
        }
        for (size_t r = 0; r < d; r++) p[r * n] = (float)gb_ddiv((double)p[r * n], s);
    }
}

/* In place on dq (inside dqkv): g becomes pq * (g - colsum(pq * g)). */
__global__ void column_softmax_backward_kernel(float *dqkv, const float *pq, size_t bh,
                                               size_t heads, size_t d, size_t n) {
    const size_t chunk = heads * d * n;
    GB_CUDA_FOR(col, bh * n) {
        const size_t t = col / n, j = col % n;
        float *g = dqkv + (t / heads) * 3 * chunk + (t % heads) * d * n + j;
        const float *p = pq + t * d * n + j;
        double dot = 0.0;
        for (size_t r = 0; r < d; r++) dot = gb_dadd(dot, gb_dmul((double)p[r * n], (double)g[r * n]));
        for (size_t r = 0; r < d; r++)
            g[r * n] = (float)gb_dmul((double)p[r * n], gb_dsub((double)g[r * n], dot));
    }
}

extern "C" void gb_linear_attention_forward_cuda(gb_device *dev, float *out, float *saved,
                                                 const float *qkv, const gb_attention_shape *shape) {
    check_shape(shape);
    if (shape->batch == 0) return;
    const int D = shape->dim_head, N = shape->positions, H = shape->heads, B = shape->batch;
    const size_t d = (size_t)D, n = (size_t)N, bh = (size_t)B * (size_t)H;
    const long long chunk = (long long)H * D * N, dn = (long long)D * N, dd = (long long)D * D;
    const float inv_n = (float)(1.0 / (double)N);
    float *pq = saved, *pk = saved + bh * d * n, *ctx = saved + 2 * bh * d * n;
    column_softmax_kernel<<<gb_cuda_grid(bh * n), GB_CUDA_BLOCK>>>(pq, qkv, bh, (size_t)H, d, n);
    GB_LAUNCH_CHECK(dev, "column_softmax_kernel");
    for (int b = 0; b < B; b++)
        gb_softmax_forward_cuda(dev, pk + b * H * dn, qkv + b * 3 * chunk + chunk, (size_t)H * d, n);
    for (int h = 0; h < H; h++) {
        /* ctx[d, e] = (1/N) sum_n pk[d, n] v[e, n] */
        gb_cuda_sgemm_rm(dev, false, true, D, D, N, inv_n, pk + h * dn, N, H * dn,
                         qkv + 2 * chunk + h * dn, N, 3 * chunk, 0.0f, ctx + h * dd, D, H * dd, B);
        /* out[e, n] = scale * sum_d ctx[d, e] pq[d, n] */
        gb_cuda_sgemm_rm(dev, true, false, D, N, D, shape->scale, ctx + h * dd, D, H * dd,
                         pq + h * dn, N, H * dn, 0.0f, out + h * dn, N, chunk, B);
    }
}

extern "C" void gb_linear_attention_backward_cuda(gb_device *dev, float *dqkv, const float *dout,
                                                  const float *qkv, const float *saved,
                                                  const gb_attention_shape *shape) {
    check_shape(shape);
    if (shape->batch == 0) return;
    const int D = shape->dim_head, N = shape->positions, H = shape->heads, B = shape->batch;
    const size_t d = (size_t)D, n = (size_t)N, bh = (size_t)B * (size_t)H;
    const long long chunk = (long long)H * D * N, dn = (long long)D * N, dd = (long long)D * D;
    const float inv_n = (float)(1.0 / (double)N);
    const float *pq = saved, *pk = saved + bh * d * n, *ctx = saved + 2 * bh * d * n;
    float *dctx = static_cast<float *>(gb_dev_scratch(dev, bh * d * d * sizeof(float)));
    for (int h = 0; h < H; h++) {
        const float *g = dout + h * dn, *v = qkv + 2 * chunk + h * dn;
        float *dq = dqkv + h * dn, *dk = dq + chunk, *dv = dk + chunk, *dc = dctx + h * dd;
        /* dctx[d, e] = scale * sum_n pq[d, n] dO[e, n] */
        gb_cuda_sgemm_rm(dev, false, true, D, D, N, shape->scale, pq + h * dn, N, H * dn, g, N,
                         chunk, 0.0f, dc, D, H * dd, B);
        /* dpq[d, n] = scale * sum_e ctx[d, e] dO[e, n] */
        gb_cuda_sgemm_rm(dev, false, false, D, N, D, shape->scale, ctx + h * dd, D, H * dd, g, N,
                         chunk, 0.0f, dq, N, 3 * chunk, B);
        /* dpk[d, n] = (1/N) sum_e dctx[d, e] v[e, n] */
        gb_cuda_sgemm_rm(dev, false, false, D, N, D, inv_n, dc, D, H * dd, v, N, 3 * chunk, 0.0f,
                         dk, N, 3 * chunk, B);
        /* dv[e, n] = (1/N) sum_d dctx[d, e] pk[d, n] */
        gb_cuda_sgemm_rm(dev, true, false, D, N, D, inv_n, dc, D, H * dd, pk + h * dn, N, H * dn,
                         0.0f, dv, N, 3 * chunk, B);
    }
    column_softmax_backward_kernel<<<gb_cuda_grid(bh * n), GB_CUDA_BLOCK>>>(dqkv, pq, bh, (size_t)H,
                                                                            d, n);
    GB_LAUNCH_CHECK(dev, "column_softmax_backward_kernel");
    for (int b = 0; b < B; b++) {
        float *dk = dqkv + b * 3 * chunk + chunk;
        gb_softmax_backward_cuda(dev, dk, dk, pk + b * H * dn, (size_t)H * d, n);
    }
}
