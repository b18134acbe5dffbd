/* kernels/cpu/clip.c - torch.nn.utils.clip_grad_norm_ on one contiguous gradient block (CPU).
 *
 * A model's gradients are one block (DESIGN.md section 3, "Memory"), so the
 * multi-tensor call of PyTorch is one pass here:
 *   total = ||grads||_2                       (sum of squares in double, ascending order)
 *   coef  = (1 / (float(total) + 1e-6f)) * max_norm      (float32, as torch 1.13)
 *   grads *= coef   unless coef >= 1
 * torch 1.13 computes the coefficient as a float32 tensor: `max_norm / (total_norm
 * + 1e-6)` is Tensor.__rtruediv__, i.e. reciprocal() then multiply, each rounded
 * to float; then clamp(max=1) and an unconditional multiply. Multiplying by
 * exactly 1 changes nothing, so skipping the multiply when coef >= 1 gives the
 * same bits; a NaN or infinite norm makes coef NaN or 0 and, as in torch (its
 * default error_if_nonfinite=False), the gradients are still scaled by it, which
 * is why the condition is "unless coef >= 1" rather than "if coef < 1".
 *
 * The one deliberate difference from torch: torch takes a float32 norm of each
 * tensor, then the norm of those norms (float32 reductions); the sum here is
 * one double accumulation over the whole block, so `total` is the correctly
 * rounded norm up to double rounding, and torch's differs from it by its float
 * summation error (bounded in tests/tolerances.md, at most ~(m/2 + K/2 + 2)u
 * relatively for K tensors of at most m elements; the test set of 4 tensors gave
 * identical bits).
 * total_norm (may be NULL) receives float(total), as the value torch returns.
 * Tested by tests/test_kernels_loss.c (a double reference, PyTorch fixtures on
 * a multi-tensor set, both the clipping and the not-clipping case).
 */
#include "kernels/cpu/cpu.h"

#include <math.h>

void gb_clip_grad_norm_cpu(gb_device *dev, float *grads, size_t n, float max_norm,
                           float *total_norm) {
    (void)dev;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) acc += (double)grads[i] * (double)grads[i];
    const float total = (float)sqrt(acc);
    if (total_norm) total_norm[0] = total;
    const float coef = (1.0f / (total + 1e-6f)) * max_norm;
    if (coef >= 1.0f) return;
    for (size_t i = 0; i < n; i++) grads[i] = grads[i] * coef;
}
