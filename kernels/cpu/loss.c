/* kernels/cpu/loss.c - half squared error averaged over rows, loss and gradient fused (CPU).
 *
 *   loss[0]  = 0.5 * (sum_{r,c} (pred[r,c] - target[r,c])^2) / rows
 *   dpred    = (pred - target) / rows      (overwrite; NULL: skip)
 *
 * This is torch's 0.5 * ((pred - target)**2).sum(1).mean() and its gradient.
 * The sum is taken in double over the elements in ascending index order (one
 * fixed order, so the result is deterministic); the difference for dpred is a
 * float32 subtraction followed by one correctly rounded division, which the
 * CUDA backend reproduces exactly. loss may not alias pred/target.
 * Tested by tests/test_kernels_cpu.c: float64 finite differences, a double
 * reference of the loss, PyTorch fixtures.
 */
#include "kernels/cpu/cpu.h"

void gb_half_sq_error_cpu(gb_device *dev, float *loss, float *dpred, const float *pred,
                          const float *target, size_t rows, size_t cols) {
    (void)dev;
    GB_ASSERT(rows > 0, "half_sq_error needs at least one row");
    const size_t n = rows * cols;
    const float frows = (float)rows;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)pred[i] - (double)target[i];
        acc += d * d;
        if (dpred) dpred[i] = (pred[i] - target[i]) / frows;
    }
    loss[0] = (float)(0.5 * acc / (double)rows);
}
