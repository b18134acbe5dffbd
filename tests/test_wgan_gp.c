/* tests/test_wgan_gp.c - the exact WGAN-GP penalty gradient (DESIGN.md section 3 "Gradients").
 *
 * ResNet critic (models/dcgan_resnet_gp.c, the R-operator): the penalty
 * 10 * mean_r (||grad_x D(interp)_r||_2 - 1)^2 and EVERY parameter gradient of it against
 * torch.autograd.grad(gp, D.parameters()) where gp was built with create_graph=True exactly as
 * specs/pipelines.md 4.3 says (tests/peers/dcgan_resnet_ref.py), the input gradient g on the
 * way, the whole WGAN-GP critic loss and gradient (including the interpolation, which must equal
 * PyTorch's bit for bit), float64 central finite differences of the penalty at a handful of
 * parameters (computed by the peer in float64 with first-order autograd only, the ReLU sign
 * pattern checked unchanged across each step, so independent of any double backward), the
 * += contract, and the Philox eps wiring.
 * Tolerances: tests/tolerances.md, "WGAN-GP penalty gradient", subsection "ResNet critic".
 */
#include "dcgan_fixture.h"

#include "../core/philox.h"

#define B DCGAN_B
#define IMG GB_DCGAN_IMAGE_FLOATS
#define LAMBDA 10.0f

static float *upload_fixture(gb_device *dev, const char *name, size_t n) {
    float *h = dcgan_fixture(name, n);
    float *d = gb_dev_alloc(dev, n * sizeof(float));
    gb_upload(dev, d, h, n * sizeof(float));
    free(h);
    return d;
}

static void open_critic(gb_device *dev, gb_dcgan_critic *d) {
    *dev = dcgan_open_cpu();
    gb_dcgan_critic_create(d, dev, B);
    dcgan_load_params(dev, &d->params, "d");
    gb_params_zero_grad(&d->params, dev);
}

Test(wgan_gp, resnet_critic_penalty_gradient_matches_autograd_create_graph) {
    gb_device dev;
    gb_dcgan_critic d;
    open_critic(&dev, &d);
    float *interp = upload_fixture(&dev, "interp", B * IMG);
    float penalty = -1;
    gb_dcgan_critic_gradient_penalty(&d, &dev, B, interp, LAMBDA, &penalty);
    dcgan_expect_ref1("gp_value", &penalty, 1);
    dcgan_expect_ref1("gp_input_grad", d.grad_input, B * IMG);
    double worst = dcgan_expect_grads("gp_grad", &dev, &d.params);
    cr_log_info("penalty %.9g; worst elementwise ratio to torch32's distance %.2f", (double)penalty, worst);
    /* the gradient is not trivially zero: every weight tensor gets some */
    for (size_t i = 0; i < d.params.n_specs; i++) {
        if (strstr(d.params.specs[i].name, "bias")) continue;
        double s = 0;
        for (size_t k = 0; k < gb_param_numel(&d.params.specs[i]); k++) s += fabs(gb_grad(&d.params, i)[k]);
        cr_expect_gt(s, 0.0, "%s: zero penalty gradient", d.params.specs[i].name);
    }
    gb_dev_free(&dev, interp);
    gb_dcgan_critic_destroy(&d, &dev);
    gb_device_close(&dev);
}

/* |ours - fd| <= DCGAN_K * (torch32's max distance in that tensor) + 1e-6 |fd|: the FD's own
 * error (step 1e-7 in float64, no ReLU kink crossed) is ~1e-8 absolute (eps64 |P| / h) and
 * measured below 1e-7 relative against float64 autograd; the rest is float32 rounding. */
Test(wgan_gp, resnet_critic_penalty_gradient_matches_float64_finite_differences) {
    gb_device dev;
    gb_dcgan_critic d;
    open_critic(&dev, &d);
    float *interp = upload_fixture(&dev, "interp", B * IMG);
    float penalty;
    gb_dcgan_critic_gradient_penalty(&d, &dev, B, interp, LAMBDA, &penalty);
    enum { PICKS = 7 };
    float *index = dcgan_fixture("gp_fd_index", PICKS), *fd = dcgan_fixture("gp_fd", PICKS);
    float *exact = dcgan_fixture("gp_fd_exact", PICKS);
    float *err = dcgan_fixture("gp_grad.err", 3 * d.params.n_specs);
    for (int k = 0; k < PICKS; k++) {
        size_t at = (size_t)index[k], t = 0;
        while (t + 1 < d.params.n_specs && d.params.offsets[t + 1] <= at) t++;
        double got = d.params.grads[at], lim = DCGAN_K * err[3 * t] + 1e-6 * fabs(fd[k]);
        cr_log_info("%s[%zu]: ours %.9g, float64 FD %.9g, float64 autograd %.9g", d.params.specs[t].name,
                    at - d.params.offsets[t], got, (double)fd[k], (double)exact[k]);
        cr_expect(fabs(got - fd[k]) <= lim, "%s[%zu]: ours %.9g vs float64 central difference %.9g (limit %.3g)",
                  d.params.specs[t].name, at - d.params.offsets[t], got, (double)fd[k], lim);
        if (strstr(d.params.specs[t].name, "bias")) cr_expect_eq(got, 0.0, "biases only move ReLU kinks");
    }
    free(index);
    free(fd);
    free(exact);
    free(err);
    gb_dev_free(&dev, interp);
    gb_dcgan_critic_destroy(&d, &dev);
    gb_device_close(&dev);
}

Test(wgan_gp, resnet_critic_whole_step_matches_pytorch) {
    gb_device dev;
    gb_dcgan_critic d;
    open_critic(&dev, &d);
    float *real = upload_fixture(&dev, "real", B * IMG), *fake = upload_fixture(&dev, "fake", B * IMG);
    float *eps = dcgan_fixture("eps", B), *interp = dcgan_fixture("interp", B * IMG);
    float losses[4];
    gb_dcgan_critic_wgan_gp_eps(&d, &dev, B, real, fake, eps, LAMBDA, losses);
    cr_expect_eq(memcmp(d.interp, interp, B * IMG * sizeof(float)), 0,
                 "eps fake + (1 - eps) real differs from PyTorch's float32 bits");
    dcgan_expect_ref1("wgp_losses", losses, 4);
    dcgan_expect_grads("wgp_grad", &dev, &d.params);
    free(eps);
    free(interp);
    gb_dev_free(&dev, real);
    gb_dev_free(&dev, fake);
    gb_dcgan_critic_destroy(&d, &dev);
    gb_device_close(&dev);
}

/* A second penalty call adds the same gradient again (+=, DESIGN.md section 3). */
Test(wgan_gp, resnet_critic_penalty_gradient_accumulates) {
    gb_device dev;
    gb_dcgan_critic d;
    open_critic(&dev, &d);
    float *interp = upload_fixture(&dev, "interp", B * IMG);
    float p1, p2;
    float *once = malloc(d.params.total * sizeof(float));
    cr_assert_not_null(once);
    gb_dcgan_critic_gradient_penalty(&d, &dev, B, interp, LAMBDA, &p1);
    memcpy(once, d.params.grads, d.params.total * sizeof(float));
    gb_dcgan_critic_gradient_penalty(&d, &dev, B, interp, LAMBDA, &p2);
    cr_expect_eq(p1, p2);
    dcgan_expect_doubled("penalty", &d.params, once, d.params.grads);
    free(once);
    gb_dev_free(&dev, interp);
    gb_dcgan_critic_destroy(&d, &dev);
    gb_device_close(&dev);
}

/* The stream form draws eps = gb_stream_uniform(stream, batch) and is otherwise the explicit form. */
Test(wgan_gp, resnet_critic_eps_comes_from_the_stream) {
    gb_device dev = dcgan_open_cpu();
    gb_dcgan_critic d;
    gb_dcgan_critic_create(&d, &dev, B);
    gb_dcgan_critic_init(&d, &dev, 5);
    float *real = upload_fixture(&dev, "real", B * IMG), *fake = upload_fixture(&dev, "fake", B * IMG);
    float *first = malloc(d.params.total * sizeof(float));
    cr_assert_not_null(first);
    gb_stream s = gb_stream_open(42, "gp/eps");
    float l1[4], l2[4], eps[B];
    gb_params_zero_grad(&d.params, &dev);
    gb_dcgan_critic_wgan_gp(&d, &dev, B, real, fake, &s, LAMBDA, l1);
    cr_expect_eq(s.position, (uint64_t)B, "one word per sample");
    memcpy(first, d.params.grads, d.params.total * sizeof(float));
    gb_stream t = gb_stream_open(42, "gp/eps");
    gb_stream_uniform(&t, eps, B);
    for (int n = 0; n < B; n++) cr_expect(eps[n] > 0.0f && eps[n] < 1.0f);
    gb_params_zero_grad(&d.params, &dev);
    gb_dcgan_critic_wgan_gp_eps(&d, &dev, B, real, fake, eps, LAMBDA, l2);
    cr_expect_eq(memcmp(l1, l2, sizeof l1), 0);
    cr_expect_eq(memcmp(first, d.params.grads, d.params.total * sizeof(float)), 0);
    free(first);
    gb_dev_free(&dev, real);
    gb_dev_free(&dev, fake);
    gb_dcgan_critic_destroy(&d, &dev);
    gb_device_close(&dev);
}
