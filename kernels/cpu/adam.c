/* kernels/cpu/adam.c - one Adam / AdamW step on a contiguous block (CPU), and
 * the per-step scalars every backend shares.
 *
 * Operation order of torch.optim.Adam / AdamW (torch 1.13, _single_tensor_adam(w),
 * the default path): Python-float (double) scalars, float32 elementwise math
 * with each scalar rounded to float:
 *   Adam (L2):   g = g + wd*p                  (only when wd != 0)
 *   AdamW:       p = p * (1 - lr*wd)           (before the moments)
 *   m = beta1*m + (1-beta1)*g
 *   v = beta2*v + (1-beta2)*g*g
 *   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
 *   p = p - (lr / (1 - beta1^t)) * m / denom   (addcdiv: (step_size*m)/denom)
 * m and v are optimizer state (updated in place); grads is only read. The one
 * difference from torch that remains is rounding: ATen's vectorised add may
 * use a fused multiply-add, which this build (-ffp-contract=off) never does,
 * and the hyperparameters arrive as float (0.9f, not the double 0.9).
 * Tested by tests/test_kernels_cpu.c: a float64 transcription over 3 steps,
 * closed forms for the first step and for AdamW decay, PyTorch fixtures. The elements are cut
 * into per-thread slices (kernels/cpu/parallel.h); elementwise, so the bits do not change.
 */
#include "kernels/cpu/cpu.h"

#include <math.h>

#include "kernels/cpu/parallel.h"

gb_adam_scalars gb_adam_scalars_compute(const gb_adam_hparams *hp, long step) {
    GB_ASSERT(step >= 1, "adam step is 1-based (got %ld)", step);
    const double lr = hp->lr, b1 = hp->beta1, b2 = hp->beta2, wd = hp->weight_decay;
    const double t = (double)step;
    gb_adam_scalars s;
    s.beta1 = hp->beta1;
    s.one_minus_beta1 = (float)(1.0 - b1);
    s.beta2 = hp->beta2;
    s.one_minus_beta2 = (float)(1.0 - b2);
    s.step_size = (float)(lr / (1.0 - pow(b1, t)));
    s.bc2_sqrt = (float)sqrt(1.0 - pow(b2, t));
    s.eps = hp->eps;
    s.l2_decay = hp->decoupled_weight_decay ? 0.0f : hp->weight_decay;
    s.decay_factor = hp->decoupled_weight_decay ? (float)(1.0 - lr * wd) : 1.0f;
    return s;
}

/* Elementwise, so the range is cut into gb_parallel_for slices (same bits for any split). */
typedef struct {
    gb_adam_scalars s;
    float *params, *m, *v;
    const float *grads;
} adam_job;

static void adam_slice(void *ctx, size_t i0, size_t i1, int slice) {
    (void)slice;
    const adam_job *j = ctx;
    const gb_adam_scalars s = j->s;
    float *params = j->params, *m = j->m, *v = j->v;
    const float *grads = j->grads;
    for (size_t i = i0; i < i1; i++) {
        float p = params[i];
        float g = grads[i];
        if (s.l2_decay != 0.0f) g = g + s.l2_decay * p;
        p = p * s.decay_factor;
        float mi = s.beta1 * m[i] + s.one_minus_beta1 * g;
        float vi = s.beta2 * v[i] + s.one_minus_beta2 * g * g;
        float denom = sqrtf(vi) / s.bc2_sqrt + s.eps;
        params[i] = p - s.step_size * mi / denom;
        m[i] = mi;
        v[i] = vi;
    }
}

void gb_adam_update_cpu(gb_device *dev, float *params, const float *grads, float *m, float *v,
                        size_t n, const gb_adam_hparams *hp, long step) {
    adam_job j = {gb_adam_scalars_compute(hp, step), params, m, v, grads};
    gb_parallel_for(dev, n, 8192, adam_slice, &j);
}
