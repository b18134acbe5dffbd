/* tests/test_toy2d_step.c - the toy2d-langevin training step against PyTorch.
 *
 * tests/peers/toy2d_step_ref.py takes 5 Adam steps with the literal DSM loss of the spec on
 * the same initial weights, points, noise levels and noise; we take the same steps through the
 * backend table (the ScoreNet MLP, half_sq_error with target -z, Adam) and compare the loss
 * of every step and every parameter after the last.
 *
 * Tolerances: the losses are float32 reductions over 40 points summed in a different order,
 * and the simplified loss differs from the literal one by rounding: 1e-5 relative. Parameters
 * after 5 Adam steps of lr 0.01: Adam normalises the gradient, so a rounding-level difference
 * in a tiny gradient component (softplus and matmul rounding differ from PyTorch's by ulps) can
 * move a parameter by up to ~lr * 1e-3 per step: atol 5 steps * 1e-5 = 5e-5, rtol 1e-4.
 * Measured worst: 2.3e-5.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "../models/scorenet_mlp.h"
#include "fixture.h"

#define N 40
#define STEPS 5

Test(toy2d_step, matches_pytorch_for_five_adam_steps) {
    gb_device dev;
    cr_assert_eq(gb_device_open(&dev, "cpu", 1), GB_OK, "%s", gb_last_error());
    gb_scorenet_mlp net;
    gb_scorenet_mlp_create(&net, &dev, 8, 128, 3, 2, N);
    gb_param_block *pb = &net.params;
    for (size_t i = 0; i < pb->n_specs; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "toy2d/init_%s.f32", pb->specs[i].name);
        float *w = fixture_f32(rel, gb_param_numel(&pb->specs[i]));
        gb_upload(&dev, gb_param(pb, i), w, gb_param_numel(&pb->specs[i]) * sizeof(float));
        free(w);
    }
    float *x = fixture_f32("toy2d/x.f32", N * 2);
    float *ref_loss = fixture_f32("toy2d/loss.f32", STEPS);
    float target[N * 2], loss;
    gb_adam_hparams hp = {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    for (int t = 0; t < STEPS; t++) {
        char rel[64];
        snprintf(rel, sizeof rel, "toy2d/sigma_%d.f32", t);
        float *sigma = fixture_f32(rel, N);
        snprintf(rel, sizeof rel, "toy2d/z_%d.f32", t);
        float *z = fixture_f32(rel, N * 2);
        for (int k = 0; k < N; k++) {
            for (int d = 0; d < 2; d++) {
                net.input[3 * k + d] = x[2 * k + d] + sigma[k] * z[2 * k + d];
                target[2 * k + d] = -z[2 * k + d];
            }
            net.input[3 * k + 2] = sigma[k];
        }
        gb_params_zero_grad(pb, &dev);
        float *out = gb_scorenet_mlp_forward(&net, &dev, N);
        gb_half_sq_error(&dev, &loss, net.dout, out, target, N, 2);
        gb_scorenet_mlp_backward(&net, &dev, N);
        gb_params_adam_step(pb, &dev, &hp, t + 1);
        cr_expect(fabsf(loss - ref_loss[t]) <= 1e-5f * fabsf(ref_loss[t]), "step %d: loss %.9g, PyTorch %.9g", t,
                  loss, ref_loss[t]);
        free(sigma);
        free(z);
    }
    for (size_t i = 0; i < pb->n_specs; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "toy2d/final_%s.f32", pb->specs[i].name);
        size_t n = gb_param_numel(&pb->specs[i]);
        float *ref = fixture_f32(rel, n);
        expect_close(pb->specs[i].name, gb_param(pb, i), ref, n, 5e-5, 1e-4);
        free(ref);
    }
    free(x);
    free(ref_loss);
    gb_scorenet_mlp_destroy(&net, &dev);
    gb_device_close(&dev);
}
