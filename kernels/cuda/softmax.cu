/* kernels/cuda/softmax.cu - softmax, log_softmax, logsumexp over the last axis of a
 * [rows, cols] matrix, and the full sum, forward and backward (CUDA).
 *
 * Formulas and conventions of kernels/cpu/softmax.c: the max subtraction (NaN skipped by the
 * max, then poisoning the row), logsumexp's infinite-max rule, exponentials, row sums, dot
 * products and the elementwise formulas in double, rounded to float once (softmax: parked
 * in out as float, then divided, two roundings, as the CPU).
 * One warp per row: lane l takes columns l, l+32, ... and the lanes meet in an xor butterfly
 * (reduce.cuh), so every lane holds the same row total and the result is deterministic. The
 * CPU adds a row's terms in ascending order instead, and CUDA's double exp/log (libdevice,
 * within 1-2 ulp in double) are not glibc's: the double totals differ in their last bits, so
 * a float output can differ from the CPU backend's by one rounding (tests/tolerances.md).
 * sum_forward is a grid reduction (gb_grid_sum) whose total is rounded on the device.
 * Outputs may alias their inputs as on the CPU: a lane reads an element before writing it,
 * and the butterflies order every read of a row before the writes that depend on its total.
 * Two ops write where other warps or blocks may still read, so they go through scratch:
 * logsumexp_forward (out[r] may lie in a row another warp is reading; the totals are written
 * to scratch, then copied to out) and sum_backward (every thread reads dout[0], which dinp[0]
 * may be; dout[0] is copied to scratch first). Both copies are ordered on the one stream.
 * Tested by tests/test_kernels_cuda_ops.c against the CPU backend.
 */
#include "kernels/cuda/reduce.cuh"

enum { WARPS_PER_BLOCK = GB_CUDA_BLOCK / 32 };

static unsigned row_grid(size_t rows) {
    return (unsigned)((rows + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK);
}

/* The row a warp works on, and its lane. */
#define GB_WARP_ROW(r, lane)                                                                  \
    const size_t r = blockIdx.x * (size_t)WARPS_PER_BLOCK + threadIdx.x / 32;                 \
    const unsigned lane = threadIdx.x % 32;                                                   \
    if (r >= rows) return

/* max of the row, skipping NaN; -inf for an all -inf (or all NaN) row */
__device__ __forceinline__ double row_max(const float *x, size_t cols, unsigned lane) {
    double m = -INFINITY;
    for (size_t j = lane; j < cols; j += 32)
        if ((double)x[j] > m) m = (double)x[j];
    return gb_warp_max(m);
}

__device__ __forceinline__ double row_sum_exp(const float *x, size_t cols, unsigned lane, double m) {
    double s = 0.0;
    for (size_t j = lane; j < cols; j += 32) s = gb_dadd(s, exp(gb_dsub((double)x[j], m)));
    return gb_warp_sum(s);
}

/* A whole warp returns together (rows is warp-uniform), so the shuffles see full warps. */
__global__ void softmax_forward_kernel(float *out, const float *inp, size_t rows, size_t cols) {
    GB_WARP_ROW(r, lane);
    const float *x = inp + r * cols;
    float *y = out + r * cols;
    const double m = row_max(x, cols, lane);
    double s = 0.0;
    for (size_t j = lane; j < cols; j += 32) {
        const double e = exp(gb_dsub((double)x[j], m));
        s = gb_dadd(s, e);
        y[j] = (float)e;
    }
    s = gb_warp_sum(s);
    for (size_t j = lane; j < cols; j += 32) y[j] = (float)gb_ddiv((double)y[j], s);
}

__global__ void softmax_backward_kernel(float *dinp, const float *dout, const float *out,
                                        size_t rows, size_t cols) {
    GB_WARP_ROW(r, lane);
    const float *g = dout + r * cols, *y = out + r * cols;
    float *d = dinp + r * cols;
    double dot = 0.0;
    for (size_t j = lane; j < cols; j += 32) dot = gb_dadd(dot, gb_dmul((double)g[j], (double)y[j]));
    dot = gb_warp_sum(dot);
    for (size_t j = lane; j < cols; j += 32)
        d[j] = (float)gb_dmul((double)y[j], gb_dsub((double)g[j], dot));
}

__global__ void log_softmax_forward_kernel(float *out, const float *inp, size_t rows, size_t cols) {
    GB_WARP_ROW(r, lane);
    const float *x = inp + r * cols;
    float *y = out + r * cols;
    const double m = row_max(x, cols, lane);
    const double lse = log(row_sum_exp(x, cols, lane, m));
    for (size_t j = lane; j < cols; j += 32) y[j] = (float)gb_dsub(gb_dsub((double)x[j], m), lse);
}

__global__ void log_softmax_backward_kernel(float *dinp, const float *dout, const float *out,
                                            size_t rows, size_t cols) {
    GB_WARP_ROW(r, lane);
    const float *g = dout + r * cols, *y = out + r * cols;
    float *d = dinp + r * cols;
    double total = 0.0;
    for (size_t j = lane; j < cols; j += 32) total = gb_dadd(total, (double)g[j]);
    total = gb_warp_sum(total);
    for (size_t j = lane; j < cols; j += 32)
        d[j] = (float)gb_dsub((double)g[j], gb_dmul(exp((double)y[j]), total));
}

__global__ void logsumexp_forward_kernel(float *out, const float *inp, size_t rows, size_t cols) {
    GB_WARP_ROW(r, lane);
    const float *x = inp + r * cols;
    double m = row_max(x, cols, lane);
    if (isinf(m)) m = 0.0;
    const double s = row_sum_exp(x, cols, lane, m);
    if (lane == 0) out[r] = (float)gb_dadd(m, log(s));
}

__global__ void logsumexp_backward_kernel(float *dinp, const float *dout, const float *inp,
                                          const float *out, size_t rows, size_t cols) {
    GB_CUDA_FOR(i, rows * cols) {
        const size_t r = i / cols;
        dinp[i] = (float)gb_dmul((double)dout[r], exp(gb_dsub((double)inp[i], (double)out[r])));
    }
}

struct sum_term {
    const float *inp;
    __device__ double operator()(size_t i) const { return (double)inp[i]; }
};

struct sum_finish {
    float *out;
    float scale;
    __device__ void operator()(double total) const { out[0] = (float)gb_dmul((double)scale, total); }
};

__global__ void sum_backward_kernel(float *dinp, const float *dout, size_t n, float scale) {
    GB_CUDA_FOR(i, n) dinp[i] = gb_fmul(scale, dout[0]);
}

extern "C" void gb_softmax_forward_cuda(gb_device *dev, float *out, const float *inp, size_t rows,
                                        size_t cols) {
    if (rows == 0 || cols == 0) return;
    softmax_forward_kernel<<<row_grid(rows), GB_CUDA_BLOCK>>>(out, inp, rows, cols);
    GB_LAUNCH_CHECK(dev, "softmax_forward_kernel");
}

extern "C" void gb_softmax_backward_cuda(gb_device *dev, float *dinp, const float *dout,
                                         const float *out, size_t rows, size_t cols) {
    if (rows == 0 || cols == 0) return;
    softmax_backward_kernel<<<row_grid(rows), GB_CUDA_BLOCK>>>(dinp, dout, out, rows, cols);
    GB_LAUNCH_CHECK(dev, "softmax_backward_kernel");
}

extern "C" void gb_log_softmax_forward_cuda(gb_device *dev, float *out, const float *inp,
                                            size_t rows, size_t cols) {
    if (rows == 0 || cols == 0) return;
    log_softmax_forward_kernel<<<row_grid(rows), GB_CUDA_BLOCK>>>(out, inp, rows, cols);
    GB_LAUNCH_CHECK(dev, "log_softmax_forward_kernel");
}

extern "C" void gb_log_softmax_backward_cuda(gb_device *dev, float *dinp, const float *dout,
                                             const float *out, size_t rows, size_t cols) {
    if (rows == 0 || cols == 0) return;
    log_softmax_backward_kernel<<<row_grid(rows), GB_CUDA_BLOCK>>>(dinp, dout, out, rows, cols);
    GB_LAUNCH_CHECK(dev, "log_softmax_backward_kernel");
}

/* An empty row (cols 0) gives log(0) = -inf, as on the CPU. */
extern "C" void gb_logsumexp_forward_cuda(gb_device *dev, float *out, const float *inp, size_t rows,
                                          size_t cols) {
    if (rows == 0) return;
    float *totals = static_cast<float *>(gb_dev_scratch(dev, rows * sizeof(float)));
    logsumexp_forward_kernel<<<row_grid(rows), GB_CUDA_BLOCK>>>(totals, inp, rows, cols);
    GB_LAUNCH_CHECK(dev, "logsumexp_forward_kernel");
    dev->ops->copy(dev, out, totals, rows * sizeof(float));
}

extern "C" void gb_logsumexp_backward_cuda(gb_device *dev, float *dinp, const float *dout,
                                           const float *inp, const float *out, size_t rows,
                                           size_t cols) {
    const size_t n = rows * cols;
    if (n == 0) return;
    logsumexp_backward_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dinp, dout, inp, out, rows, cols);
    GB_LAUNCH_CHECK(dev, "logsumexp_backward_kernel");
}

extern "C" void gb_sum_forward_cuda(gb_device *dev, float *out, const float *inp, size_t n,
                                    float scale) {
    double *partial = static_cast<double *>(gb_dev_scratch(dev, GB_RED_BLOCKS * sizeof(double)));
    gb_grid_sum(dev, partial, n, sum_term{inp}, sum_finish{out, scale});
}

extern "C" void gb_sum_backward_cuda(gb_device *dev, float *dinp, const float *dout, size_t n,
                                     float scale) {
    if (n == 0) return;
    float *g = static_cast<float *>(gb_dev_scratch(dev, sizeof(float)));
    dev->ops->copy(dev, g, dout, sizeof(float));
    sum_backward_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(dinp, g, n, scale);
    GB_LAUNCH_CHECK(dev, "sum_backward_kernel");
}
