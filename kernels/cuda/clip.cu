/* kernels/cuda/clip.cu - torch.nn.utils.clip_grad_norm_ on one contiguous gradient block (CUDA).
 *
 * kernels/cpu/clip.c's rule (read its header for torch 1.13's float32 coefficient):
 *   total = float(sqrt(sum g^2))   (double accumulation)
 *   coef  = (1 / (total + 1e-6f)) * max_norm   (float32)
 *   grads *= coef   unless coef >= 1   (NaN or inf norms still scale, as torch)
 * The decision stays on the device: a grid sum (reduce.cuh) whose finishing thread writes
 * total_norm (when asked) and coef to scratch, then a scaling kernel that reads coef and
 * leaves the block untouched when coef >= 1. No host round trip, no synchronisation.
 * The CPU adds the squares in ascending order, the grid sum in a fixed tree: the double
 * totals differ in their last bits, so total (and coef) can differ by one float rounding.
 * Tested by tests/test_kernels_cuda_ops.c against the CPU backend (clipping and not).
 */
#include "kernels/cuda/reduce.cuh"

struct clip_term {
    const float *g;
    __device__ double operator()(size_t i) const { return gb_dmul((double)g[i], (double)g[i]); }
};

struct clip_finish {
    float *total_norm, *coef;
    float max_norm;
    __device__ void operator()(double sum) const {
        const float total = (float)gb_dsqrt(sum);
        if (total_norm) total_norm[0] = total;
        coef[0] = gb_fmul(gb_fdiv(1.0f, gb_fadd(total, 1e-6f)), max_norm);
    }
};

__global__ void clip_scale_kernel(float *grads, const float *coef_ptr, size_t n) {
    const float coef = coef_ptr[0];
    if (coef >= 1.0f) return;
    GB_CUDA_FOR(i, n) grads[i] = gb_fmul(grads[i], coef);
}

extern "C" void gb_clip_grad_norm_cuda(gb_device *dev, float *grads, size_t n, float max_norm,
                                       float *total_norm) {
    double *part = static_cast<double *>(gb_dev_scratch(dev, (GB_RED_BLOCKS + 1) * sizeof(double)));
    float *coef = reinterpret_cast<float *>(part + GB_RED_BLOCKS);
    gb_grid_sum(dev, part, n, clip_term{grads}, clip_finish{total_norm, coef, max_norm});
    if (n == 0) return;
    clip_scale_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(grads, coef, n);
    GB_LAUNCH_CHECK(dev, "clip_scale_kernel");
}
