/* kernels/cuda/attention.cu - softmax attention over spatial positions, forward and backward
 * (CUDA): the U-Net's mid-block Attention (lucidrains' denoising-diffusion-pytorch, 2022).
 *
 * Semantics, saved-buffer layout and backward formulas of kernels/cpu/attention.c (read its
 * header): per sample b and head h with q, k, v the [D, N] blocks of qkv,
 *   qn, kn = q, k L2-normalised per row over the N positions (when l2_normalize_qk),
 *   attn = softmax_j(scale * qn^T kn),  out = v attn^T;  dqkv overwrites.
 * The four products per pass are cuBLAS strided-batched sgemms (gb_cuda_sgemm_rm, one call
 * per head batched over the samples: q, k, v of one head are 3*heads*D*N floats apart from
 * sample to sample), the softmax and its backward are softmax.cu's row kernels over all
 * heads at once, and the L2 normalisation is one warp per row here, in double (fixed
 * butterfly order). cuBLAS and OpenBLAS round their float dot products in different orders,
 * so results match the CPU backend within the float bounds of tests/tolerances.md, not
 * bitwise; repeated runs give the same bits (fixed cuBLAS workspace, no atomics).
 * Scratch: dsim [batch*heads, N, N] floats in backward.
 * Tested by tests/test_kernels_cuda_ops.c against the CPU backend.
 */
#include "kernels/cuda/reduce.cuh"

static const double gb_l2norm_eps = 1e-12; /* F.normalize's default */

static void check_shape(const gb_attention_shape *s) {
    GB_ASSERT(s->batch >= 0 && s->heads >= 1 && s->dim_head >= 1 && s->positions >= 1,
              "attention shape: batch %d, heads %d, dim_head %d, positions %d", s->batch, s->heads,
              s->dim_head, s->positions);
}

/* Row rho of 2R rows (R = batch*heads*D; the first R are q's, the rest k's): its place in
 * the qkv layout (raw, and its gradient in dqkv) and in saved's qn/kn blocks. */
struct l2_rows {
    size_t per_tensor; /* R */
    size_t head_rows;  /* heads * D: rows of one tensor of one sample */
    size_t chunk;      /* heads * D * N */
    size_t n;          /* N */
    __device__ size_t raw(size_t rho) const {
        const size_t tensor = rho / per_tensor, r = rho % per_tensor;
        return (r / head_rows) * 3 * chunk + tensor * chunk + (r % head_rows) * n;
    }
    __device__ size_t normed(size_t rho) const { return rho * n; }
};

enum { L2_WARPS = GB_CUDA_BLOCK / 32 };

/* y = x / max(||x||, eps) per row (or a copy when !normalize) */
__global__ void l2_normalize_kernel(float *normed, const float *qkv, l2_rows L, size_t rows,
                                    int normalize) {
    const size_t rho = blockIdx.x * (size_t)L2_WARPS + threadIdx.x / 32;
    const unsigned lane = threadIdx.x % 32;
    if (rho >= rows) return;
    const float *x = qkv + L.raw(rho);
    float *y = normed + L.normed(rho);
    if (!normalize) {
        for (size_t j = lane; j < L.n; j += 32) y[j] = x[j];
        return;
    }
    double acc = 0.0;
    for (size_t j = lane; j < L.n; j += 32) acc = gb_dadd(acc, gb_dmul((double)x[j], (double)x[j]));
    const double norm = gb_dsqrt(gb_warp_sum(acc));
    const double den = norm > gb_l2norm_eps ? norm : gb_l2norm_eps;
    for (size_t j = lane; j < L.n; j += 32) y[j] = (float)gb_ddiv((double)x[j], den);
}

/* In place: g (gradient w.r.t. the normalised row) becomes the gradient w.r.t. the raw row. */
__global__ void l2_normalize_backward_kernel(float *dqkv, const float *qkv, l2_rows L, size_t rows) {
    const size_t rho = blockIdx.x * (size_t)L2_WARPS + threadIdx.x / 32;
    const unsigned lane = threadIdx.x % 32;
    if (rho >= rows) return;
    const float *x = qkv + L.raw(rho);
    float *g = dqkv + L.raw(rho);
    double acc = 0.0;
    for (size_t j = lane; j < L.n; j += 32) acc = gb_dadd(acc, gb_dmul((double)x[j], (double)x[j]));
    const double norm = gb_dsqrt(gb_warp_sum(acc));
    if (norm < gb_l2norm_eps) {
        for (size_t j = lane; j < L.n; j += 32) g[j] = (float)gb_ddiv((double)g[j], gb_l2norm_eps);
        return;
    }
    double dot = 0.0;
    for (size_t j = lane; j < L.n; j += 32)
        dot = gb_dadd(dot, gb_dmul(gb_ddiv((double)x[j], norm), (double)g[j]));
    dot = gb_warp_sum(dot);
    for (size_t j = lane; j < L.n; j += 32)
        g[j] = (float)gb_ddiv(gb_dsub((double)g[j], gb_dmul(gb_ddiv((double)x[j], norm), dot)), norm);
}

static l2_rows make_rows(const gb_attention_shape *s) {
    l2_rows L;
    L.head_rows = (size_t)s->heads * (size_t)s->dim_head;
    L.per_tensor = (size_t)s->batch * L.head_rows;
    L.n = (size_t)s->positions;
    L.chunk = L.head_rows * L.n;
    return L;
}

static unsigned warp_grid(size_t rows) { return (unsigned)((rows + L2_WARPS - 1) / L2_WARPS); }

extern "C" void gb_attention_forward_cuda(gb_device *dev, float *out, float *saved, const float *qkv,
                                          const gb_attention_shape *shape) {
    check_shape(shape);
    if (shape->batch == 0) return;
    const int D = shape->dim_head, N = shape->positions, H = shape->heads, B = shape->batch;
    const size_t d = (size_t)D, n = (size_t)N, bh = (size_t)B * (size_t)H;
    const long long chunk = (long long)H * D * N, nn = (long long)N * N, dn = (long long)D * N;
    float *attn = saved, *qn = saved + bh * n * n, *kn = qn + bh * d * n;
    const l2_rows L = make_rows(shape);
    l2_normalize_kernel<<<warp_grid(2 * L.per_tensor), GB_CUDA_BLOCK>>>(
        qn, qkv, L, 2 * L.per_tensor, shape->l2_normalize_qk);
    GB_LAUNCH_CHECK(dev, "l2_normalize_kernel");
    for (int h = 0; h < H; h++) /* sim[i, j] = scale * sum_d qn[d, i] kn[d, j] */
        gb_cuda_sgemm_rm(dev, true, false, N, N, D, shape->scale, qn + h * dn, N, H * dn,
                         kn + h * dn, N, H * dn, 0.0f, attn + h * nn, N, H * nn, B);
    gb_softmax_forward_cuda(dev, attn, attn, bh * n, n);
    for (int h = 0; h < H; h++) /* out[d, i] = sum_j v[d, j] attn[i, j] */
        gb_cuda_sgemm_rm(dev, false, true, D, N, N, 1.0f, qkv + 2 * chunk + h * dn, N, 3 * chunk,
                         attn + h * nn, N, H * nn, 0.0f, out + h * dn, N, chunk, B);
}

extern "C" void gb_attention_backward_cuda(gb_device *dev, float *dqkv, const float *dout,
                                           const float *qkv, const float *saved,
                                           const gb_attention_shape *shape) {
    check_shape(shape);
    if (shape->batch == 0) return;
    const int D = shape->dim_head, N = shape->positions, H = shape->heads, B = shape->batch;
    const size_t d = (size_t)D, n = (size_t)N, bh = (size_t)B * (size_t)H;
    const long long chunk = (long long)H * D * N, nn = (long long)N * N, dn = (long long)D * N;
    const float *attn = saved, *qn = saved + bh * n * n, *kn = qn + bh * d * n;
    float *dsim = static_cast<float *>(gb_dev_scratch(dev, bh * n * n * sizeof(float)));
    for (int h = 0; h < H; h++) {
        const float *g = dout + h * dn, *v = qkv + 2 * chunk + h * dn;
        /* dv[d, j] = sum_i dO[d, i] attn[i, j] */
        gb_cuda_sgemm_rm(dev, false, false, D, N, N, 1.0f, g, N, chunk, attn + h * nn, N, H * nn,
                         0.0f, dqkv + 2 * chunk + h * dn, N, 3 * chunk, B);
        /* dattn[i, j] = sum_d dO[d, i] v[d, j] */
        gb_cuda_sgemm_rm(dev, true, false, N, N, D, 1.0f, g, N, chunk, v, N, 3 * chunk, 0.0f,
                         dsim + h * nn, N, H * nn, B);
    }
    gb_softmax_backward_cuda(dev, dsim, dsim, attn, bh * n, n);
    for (int h = 0; h < H; h++) {
        /* dqn[d, i] = scale * sum_j kn[d, j] dsim[i, j] */
        gb_cuda_sgemm_rm(dev, false, true, D, N, N, shape->scale, kn + h * dn, N, H * dn,
                         dsim + h * nn, N, H * nn, 0.0f, dqkv + h * dn, N, 3 * chunk, B);
        /* dkn[d, j] = scale * sum_i qn[d, i] dsim[i, j] */
        gb_cuda_sgemm_rm(dev, false, false, D, N, N, shape->scale, qn + h * dn, N, H * dn,
                         dsim + h * nn, N, H * nn, 0.0f, dqkv + chunk + h * dn, N, 3 * chunk, B);
    }
    if (shape->l2_normalize_qk) {
        const l2_rows L = make_rows(shape);
        l2_normalize_backward_kernel<<<warp_grid(2 * L.per_tensor), GB_CUDA_BLOCK>>>(
            dqkv, qkv, L, 2 * L.per_tensor);
        GB_LAUNCH_CHECK(dev, "l2_normalize_backward_kernel");
    }
}
