/* models/dcgan_resnet_gp.c - the exact WGAN-GP penalty gradient of the ResNet critic, and the
 * whole WGAN-GP critic loss (specs/pipelines.md 4.3; DESIGN.md section 3 "Gradients").
 *
 * Choice: forward-mode tangents (Pearlmutter's R-operator), not a double backward. It needs
 * only what the ordinary ops already provide (the same linear ops on tangents, activation_jvp)
 * plus one more reverse pass, no second-order kernel per op, and its memory is one more
 * activation set.
 *
 * Derivation. The critic has no batch coupling, so with S(x, theta) = sum_r D(x_r; theta) the
 * input gradient g = grad_x S [B, 3*32*32] has rows g_r = grad_{x_r} D(x_r) (one backward with
 * d out = 1 per sample). The penalty P(theta) = lambda/B sum_r (||g_r|| - 1)^2 and
 * v = dP/dg = gradient_penalty's dg. For every parameter theta_j, v held fixed:
 *     dP/dtheta_j = sum_i v_i dg_i/dtheta_j = d/dtheta_j (sum_i v_i dS/dx_i) = d/dtheta_j S_t,
 *     S_t = d/dt S(x + t v, theta) at t = 0 = sum_r out_t[r],
 * the output tangent of the forward-mode pass along x_t = v. So: run the tangent pass, then
 * reverse-mode through the joint (primal, tangent) computation, seeding the tangent output's
 * adjoint with 1 per sample and the primal output's with 0. Per op, with adjoints (y', y_t'):
 *     conv / linear  y = W x + b, y_t = W x_t:
 *                    W' += y' x^T + y_t' x_t^T;  b' += y';  x' = W^T y';  x_t' = W^T y_t'
 *     mean pool, spatial sum (linear, no parameters): x' = A^T y',  x_t' = A^T y_t'
 *     residual add:  both addends receive (y', y_t'); a fanned-out tensor sums its adjoints
 *     ReLU  y = f(x), y_t = f'(x) x_t:
 *                    x' = f'(x) y' + f''(x) x_t y_t';  x_t' = f'(x) y_t'   (activation_jvp_backward)
 * ReLU has f'' = 0 (almost everywhere; PyTorch's threshold_backward likewise has a zero
 * derivative with respect to its input), and every other op passes y' back linearly, so the
 * primal adjoint, seeded 0, stays exactly 0 through the whole critic. What remains is:
 *     W' += y_t' x_t^T (the first conv2d_backward call of the two-call form is identically 0
 *     and skipped), no bias gradient (biases only move ReLU kinks), and y_t' flows back as an
 *     ordinary backward at x (same masks f'(x)) seeded with 1 per sample.
 * That is gb_dcgan_critic_reverse with the TANGENT activations as the layer inputs of the
 * weight gradients (GB_GRADS_WEIGHT). The skip is exact for this critic; a critic with a
 * smooth activation would have to carry the primal adjoint as well.
 *
 * Steps: primal pass at x; reverse with d out = 1 and no parameter gradients -> g;
 * gradient_penalty -> P, v; tangent pass along v; reverse of the tangent. Two forwards and two
 * backwards, as PyTorch's create_graph route costs.
 * Tested by tests/test_wgan_gp.c against torch.autograd.grad(..., create_graph=True) and
 * finite differences of the penalty.
 */
#include "dcgan_resnet.h"

#include "dcgan_resnet_internal.h"

void gb_dcgan_critic_gradient_penalty(gb_dcgan_critic *d, gb_device *dev, int batch,
                                      const float *x, float lambda, float *penalty) {
    size_t cols = GB_DCGAN_IMAGE_FLOATS;
    gb_dcgan_critic_forward(d, dev, batch, x);
    gb_dcgan_critic_reverse(d, dev, batch, d->ones, d->grad_input, &d->act, GB_GRADS_NONE);
    gb_gradient_penalty(dev, penalty, d->direction, d->grad_input, (size_t)batch, cols, lambda);
    d->tan.x = d->direction;
    gb_dcgan_critic_pass(d, dev, batch, &d->tan, &d->act);
    gb_dcgan_critic_reverse(d, dev, batch, d->ones, NULL, &d->tan, GB_GRADS_WEIGHT);
}

void gb_dcgan_critic_wgan_gp_eps(gb_dcgan_critic *d, gb_device *dev, int batch, const float *real,
                                 const float *fake, const float *eps, float lambda, float *losses) {
    GB_ASSERT(batch >= 1 && batch <= d->max_batch, "critic: batch %d outside [1, %d]", batch, d->max_batch);
    size_t B = (size_t)batch;
    float inv = 1.0f / (float)batch;
    /* E[D(real)] enters with -1/B per sample, E[D(fake)] with +1/B (the means' gradients) */
    const float *out = gb_dcgan_critic_forward(d, dev, batch, real);
    gb_sum_forward(dev, losses + 1, out, B, inv);
    gb_fill(dev, d->dout, -inv, B);
    gb_dcgan_critic_backward(d, dev, d->dout, NULL, 1);
    out = gb_dcgan_critic_forward(d, dev, batch, fake);
    gb_sum_forward(dev, losses + 2, out, B, inv);
    gb_fill(dev, d->dout, inv, B);
    gb_dcgan_critic_backward(d, dev, d->dout, NULL, 1);
    /* interp = eps fake + (1 - eps) real, rounded as PyTorch's expression: FiLM's x * (1 + s)
     * with s = eps - 1 and s = -eps gives eps * x and (1 - eps) * x exactly, because eps is a
     * multiple of 2^-24 in (0, 1) so eps - 1, 1 - eps and 1 + s are all exact in float. */
    for (size_t n = 0; n < B; n++)
        for (size_t c = 0; c < 3; c++) {
            d->scale_host[n * 3 + c] = eps[n] - 1.0f;
            d->scale_host[3 * B + n * 3 + c] = -eps[n];
        }
    gb_upload(dev, d->eps_scale, d->scale_host, 3 * B * sizeof(float));
    gb_upload(dev, d->eps_scale_c, d->scale_host + 3 * B, 3 * B * sizeof(float));
    gb_norm_shape fs = {.batch = batch, .channels = 3, .spatial = 32 * 32, .groups = 1};
    gb_film_forward(dev, d->mixed, fake, d->eps_scale, NULL, &fs);
    gb_film_forward(dev, d->interp, real, d->eps_scale_c, NULL, &fs);
    gb_add(dev, d->interp, d->mixed, d->interp, B * GB_DCGAN_IMAGE_FLOATS);
    gb_dcgan_critic_gradient_penalty(d, dev, batch, d->interp, lambda, losses + 3);
    /* loss = E[D(fake)] - E[D(real)] + lambda GP, in PyTorch's order */
    gb_dev_copy(dev, losses, losses + 2, sizeof(float));
    gb_axpy(dev, losses, -1.0f, losses + 1, 1);
    gb_axpy(dev, losses, 1.0f, losses + 3, 1);
}

void gb_dcgan_critic_wgan_gp(gb_dcgan_critic *d, gb_device *dev, int batch, const float *real,
                             const float *fake, gb_stream *stream, float lambda, float *losses) {
    GB_ASSERT(batch >= 1 && batch <= d->max_batch, "critic: batch %d outside [1, %d]", batch, d->max_batch);
    gb_stream_uniform(stream, d->eps_host, (size_t)batch);
    gb_dcgan_critic_wgan_gp_eps(d, dev, batch, real, fake, d->eps_host, lambda, losses);
}
