/* kernels/cuda/adam.cu - one Adam / AdamW step on a contiguous block (CUDA).
 *
 * The operation order of torch.optim.Adam(W), written out in kernels/cpu/adam.c;
 * the per-step scalars come from the same gb_adam_scalars_compute on the host.
 * Every float operation is an _rn intrinsic, so nvcc cannot contract a
 * multiply and an add into an FMA: the update is bitwise the CPU backend's.
 * Tested by tests/test_kernels_cuda.c against the CPU backend.
 */
#include "kernels/cuda/common.cuh"

__global__ void adam_update_kernel(float *params, const float *grads, float *m, float *v, size_t n,
                                   gb_adam_scalars s) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float p = params[i];
        float g = grads[i];
        if (s.l2_decay != 0.0f) g = __fadd_rn(g, __fmul_rn(s.l2_decay, p));
        p = __fmul_rn(p, s.decay_factor);
        float mi = __fadd_rn(__fmul_rn(s.beta1, m[i]), __fmul_rn(s.one_minus_beta1, g));
        float vi = __fadd_rn(__fmul_rn(s.beta2, v[i]), __fmul_rn(__fmul_rn(s.one_minus_beta2, g), g));
        float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), s.bc2_sqrt), s.eps);
        params[i] = __fsub_rn(p, __fdiv_rn(__fmul_rn(s.step_size, mi), denom));
        m[i] = mi;
        v[i] = vi;
    }
}

extern "C" void gb_adam_update_cuda(gb_device *dev, float *params, const float *grads, float *m,
                                    float *v, size_t n, const gb_adam_hparams *hp, long step) {
    const gb_adam_scalars s = gb_adam_scalars_compute(hp, step);
    if (n == 0) return;
    adam_update_kernel<<<gb_cuda_grid(n), GB_CUDA_BLOCK>>>(params, grads, m, v, n, s);
    GB_LAUNCH_CHECK(dev, "adam_update_kernel");
}
