/* kernels/cuda/gradient_penalty.cu - the WGAN-GP penalty on per-sample input gradients (CUDA).
 *
 *   loss = lambda * mean_r (||g_r|| - 1)^2,  dg_r = 2 lambda (||g_r|| - 1) / (rows ||g_r||) g_r
 *
 * kernels/cpu/gradient_penalty.c's expressions in double, in its operation order (_rn
 * intrinsics), each output rounded once; 0 gradient for a zero-norm row, loss 0 for no rows.
 * One warp per row reduces the squared norm in a fixed butterfly, then a grid sum over the
 * rows gives the loss on the device. The CPU adds in ascending order, so the doubles differ
 * in their last bits and an output can differ from the CPU backend's by one float rounding.
 * Tested by tests/test_kernels_cuda_ops.c against the CPU backend.
 */
#include "kernels/cuda/reduce.cuh"

enum { GP_WARPS = GB_CUDA_BLOCK / 32 };

__global__ void gp_rows_kernel(double *row_loss, float *dg, const float *g, size_t rows, size_t cols,
                               double lambda) {
    const size_t r = blockIdx.x * (size_t)GP_WARPS + threadIdx.x / 32;
    const unsigned lane = threadIdx.x % 32;
    if (r >= rows) return;
    const float *row = g + r * cols;
    double sq = 0.0;
    for (size_t c = lane; c < cols; c += 32) sq = gb_dadd(sq, gb_dmul((double)row[c], (double)row[c]));
    const double norm = gb_dsqrt(gb_warp_sum(sq));
    const double dev1 = gb_dsub(norm, 1.0);
    if (lane == 0) row_loss[r] = gb_dmul(dev1, dev1);
    if (!dg) return;
    const double coef =
        norm > 0 ? gb_ddiv(gb_dmul(gb_dmul(2.0, lambda), dev1), gb_dmul((double)rows, norm)) : 0.0;
    for (size_t c = lane; c < cols; c += 32) dg[r * cols + c] = (float)gb_dmul(coef, (double)row[c]);
}

struct gp_row_term {
    const double *rows;
    __device__ double operator()(size_t i) const { return rows[i]; }
};

struct gp_finish {
    float *loss;
    double lambda;
    size_t rows;
    __device__ void operator()(double total) const {
        loss[0] = rows ? (float)gb_ddiv(gb_dmul(lambda, total), (double)rows) : 0.0f;
    }
};

extern "C" void gb_gradient_penalty_cuda(gb_device *dev, float *loss, float *dg, const float *g,
                                         size_t rows, size_t cols, float lambda) {
    double *part = static_cast<double *>(gb_dev_scratch(dev, (GB_RED_BLOCKS + rows) * sizeof(double)));
    double *row_loss = part + GB_RED_BLOCKS;
    if (rows) {
        gp_rows_kernel<<<(unsigned)((rows + GP_WARPS - 1) / GP_WARPS), GB_CUDA_BLOCK>>>(
            row_loss, dg, g, rows, cols, (double)lambda);
        GB_LAUNCH_CHECK(dev, "gp_rows_kernel");
    }
    gb_grid_sum(dev, part, rows, gp_row_term{row_loss}, gp_finish{loss, (double)lambda, rows});
}
