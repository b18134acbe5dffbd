/* kernels/cuda/loss.cu - half squared error averaged over rows, fused (CUDA).
 *
 *   loss[0]  = 0.5 * (sum_{r,c} (pred[r,c] - target[r,c])^2) / rows
 *   dpred    = (pred - target) / rows      (overwrite; NULL: skip)
 *
 * One block: thread t sums elements t, t+1024, ... in double, then the 1024
 * partial sums meet in a fixed shared-memory tree, so the loss is the same on
 * every run (no atomics). dpred is the float32 subtraction and one correctly
 * rounded division, exactly as kernels/cpu/loss.c computes it. The loss tensors
 * of the models are small (batch x features), so one block is enough.
 * Tested by tests/test_kernels_cuda.c against the CPU backend.
 */
#include "kernels/cuda/common.cuh"

enum { LOSS_THREADS = 1024 };

__global__ void __launch_bounds__(LOSS_THREADS)
half_sq_error_kernel(float *loss, float *dpred, const float *pred, const float *target, size_t rows,
                     size_t cols) {
    __shared__ double part[LOSS_THREADS];
    const size_t n = rows * cols;
    const float frows = (float)rows;
    double acc = 0.0;
    for (size_t i = threadIdx.x; i < n; i += LOSS_THREADS) {
        double d = __dsub_rn((double)pred[i], (double)target[i]);
        acc = __dadd_rn(acc, __dmul_rn(d, d));
        if (dpred) dpred[i] = __fdiv_rn(__fsub_rn(pred[i], target[i]), frows);
    }
    part[threadIdx.x] = acc;
    __syncthreads();
    for (int half = LOSS_THREADS / 2; half > 0; half /= 2) {
        if ((int)threadIdx.x < half) part[threadIdx.x] = __dadd_rn(part[threadIdx.x], part[threadIdx.x + half]);
        __syncthreads();
    }
    if (threadIdx.x == 0) loss[0] = (float)(0.5 * part[0] / (double)rows);
}

extern "C" void gb_half_sq_error_cuda(gb_device *dev, float *loss, float *dpred, const float *pred,
                                      const float *target, size_t rows, size_t cols) {
    GB_ASSERT(rows > 0, "half_sq_error needs at least one row");
    half_sq_error_kernel<<<1, LOSS_THREADS>>>(loss, dpred, pred, target, rows, cols);
    GB_LAUNCH_CHECK(dev, "half_sq_error_kernel");
}
