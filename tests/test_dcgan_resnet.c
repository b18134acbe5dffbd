/* tests/test_dcgan_resnet.c - the ResNet GAN generator and critic (models/dcgan_resnet.c)
 * against PyTorch (tests/peers/dcgan_resnet_ref.py: the spec's modules in plain torch, batch 2).
 *
 * Checks: parameter counts and the state-dict names and order; G(z) and D(x) forward; BN
 * running statistics after one forward; every parameter gradient of the three critic losses
 * (GAN BCE-with-logits, LSGAN, WGAN without GP) and of the three generator losses through the
 * critic (plus dz), with the critic's own gradients left untouched by the generator step; the
 * gradient contract (a second backward doubles the parameter gradients bit for bit and
 * rewrites the same input gradient); the benchmark shape listing. References are float64
 * PyTorch on the same float32 weights; tolerances scale PyTorch float32's own distance from
 * them (tests/dcgan_fixture.h, tests/tolerances.md "dcgan_resnet").
 */
#include "dcgan_fixture.h"

#define B DCGAN_B
#define IMG GB_DCGAN_IMAGE_FLOATS

static float *upload_fixture(gb_device *dev, const char *name, size_t n) {
    float *h = dcgan_fixture(name, n);
    float *d = gb_dev_alloc(dev, n * sizeof(float));
    gb_upload(dev, d, h, n * sizeof(float));
    free(h);
    return d;
}

Test(dcgan_resnet, parameter_counts_and_state_dict_names) {
    gb_device dev = dcgan_open_cpu();
    gb_dcgan_generator g;
    gb_dcgan_critic d;
    gb_dcgan_generator_create(&g, &dev, B);
    gb_dcgan_critic_create(&d, &dev, B);
    cr_expect_eq(g.params.total, (size_t)GB_DCGAN_G_PARAMS, "G has %zu parameters", g.params.total);
    cr_expect_eq(d.params.total, (size_t)GB_DCGAN_D_PARAMS, "D has %zu parameters", d.params.total);
    cr_expect_eq(g.params.total, 1204099u);
    cr_expect_eq(d.params.total, 1053825u);
    cr_expect_eq(g.buffers.total, 7u * 2u * 128u, "7 BatchNorms x (running_mean, running_var)");
    dcgan_load_params(&dev, &g.params, "g");
    dcgan_load_params(&dev, &d.params, "d");
    /* PyTorch's default init: U(+-1/sqrt(fan_in)) for conv/linear, BN weight 1 and bias 0 */
    gb_dcgan_generator_init(&g, &dev, 7);
    int i = gb_params_find(&g.params, "layers.0.residual.conv.weight");
    cr_assert_geq(i, 0);
    cr_expect_float_eq(g.params.specs[i].init_scale, 1.0f / sqrtf(128.0f * 9.0f), 1e-9);
    i = gb_params_find(&g.params, "layers.3.weight");
    cr_assert_geq(i, 0);
    cr_expect_eq(gb_param(&g.params, i)[5], 1.0f);
    int rv = gb_params_find(&g.buffers, "layers.1.layers.3.running_var");
    cr_assert_geq(rv, 0);
    cr_expect_eq(gb_param(&g.buffers, rv)[0], 1.0f);
    gb_dcgan_generator_destroy(&g, &dev);
    gb_dcgan_critic_destroy(&d, &dev);
    gb_device_close(&dev);
}

Test(dcgan_resnet, forward_and_running_stats_match_pytorch) {
    gb_device dev = dcgan_open_cpu();
    gb_dcgan_generator g;
    gb_dcgan_critic d;
    gb_dcgan_generator_create(&g, &dev, B);
    gb_dcgan_critic_create(&d, &dev, B);
    gb_dcgan_generator_init(&g, &dev, 1); /* running stats 0 / 1 */
    dcgan_load_params(&dev, &g.params, "g");
    dcgan_load_params(&dev, &d.params, "d");
    float *z = upload_fixture(&dev, "z", B * GB_DCGAN_Z_DIM);
    float *real = upload_fixture(&dev, "real", B * IMG);
    float *fake = upload_fixture(&dev, "fake", B * IMG);
    float *out = gb_dcgan_generator_forward(&g, &dev, B, z);
    dcgan_expect_ref1("g_out", out, B * IMG);
    size_t sizes[14];
    const char *labels[14];
    for (size_t k = 0; k < g.buffers.n_specs; k++) {
        sizes[k] = gb_param_numel(&g.buffers.specs[k]);
        labels[k] = g.buffers.specs[k].name;
    }
    dcgan_expect_ref("g_running", g.buffers.params, sizes, g.buffers.n_specs, labels);
    dcgan_expect_ref1("d_out_real", gb_dcgan_critic_forward(&d, &dev, B, real), B);
    dcgan_expect_ref1("d_out_fake", gb_dcgan_critic_forward(&d, &dev, B, fake), B);
    gb_dev_free(&dev, z);
    gb_dev_free(&dev, real);
    gb_dev_free(&dev, fake);
    gb_dcgan_generator_destroy(&g, &dev);
    gb_dcgan_critic_destroy(&d, &dev);
    gb_device_close(&dev);
}

enum { LOSS_GAN, LOSS_LSGAN, LOSS_WGAN };
static const char *const LOSS_NAMES[3] = {"gan", "lsgan", "wgan"};

/* The critic loss term of one batch and its gradient: real (is_real) or fake logits. */
static float critic_term(gb_device *dev, int loss, int is_real, float *dlogits, const float *logits) {
    float value = 0;
    switch (loss) {
    case LOSS_GAN: gb_bce_with_logits(dev, &value, dlogits, logits, NULL, is_real ? 1.0f : 0.0f, B, 1.0f); break;
    case LOSS_LSGAN: gb_sq_error(dev, &value, dlogits, logits, NULL, is_real ? 1.0f : 0.0f, B, 2.0 * B); break;
    default:
        gb_sum_forward(dev, &value, logits, B, 1.0f / B);
        gb_fill(dev, dlogits, is_real ? -1.0f / B : 1.0f / B, B);
        if (is_real) value = -value;
    }
    return value;
}

/* The generator's loss on D(G(z)): non-saturating BCE, LSGAN, -E[D]. */
static float generator_term(gb_device *dev, int loss, float *dlogits, const float *logits) {
    float value = 0;
    switch (loss) {
    case LOSS_GAN: gb_bce_with_logits(dev, &value, dlogits, logits, NULL, 1.0f, B, 1.0f); break;
    case LOSS_LSGAN: gb_sq_error(dev, &value, dlogits, logits, NULL, 1.0f, B, 2.0 * B); break;
    default:
        gb_sum_forward(dev, &value, logits, B, -1.0f / B);
        gb_fill(dev, dlogits, -1.0f / B, B);
    }
    return value;
}

Test(dcgan_resnet, critic_loss_gradients_match_autograd) {
    gb_device dev = dcgan_open_cpu();
    gb_dcgan_critic d;
    gb_dcgan_critic_create(&d, &dev, B);
    dcgan_load_params(&dev, &d.params, "d");
    float *real = upload_fixture(&dev, "real", B * IMG);
    float *fake = upload_fixture(&dev, "fake", B * IMG);
    float dlogits[B], losses[3];
    for (int loss = 0; loss < 3; loss++) {
        gb_params_zero_grad(&d.params, &dev);
        const float *out = gb_dcgan_critic_forward(&d, &dev, B, real);
        losses[loss] = critic_term(&dev, loss, 1, dlogits, out);
        gb_dcgan_critic_backward(&d, &dev, dlogits, NULL, 1);
        out = gb_dcgan_critic_forward(&d, &dev, B, fake);
        losses[loss] += critic_term(&dev, loss, 0, dlogits, out);
        gb_dcgan_critic_backward(&d, &dev, dlogits, NULL, 1);
        char name[64];
        snprintf(name, sizeof name, "d_grad_%s", LOSS_NAMES[loss]);
        dcgan_expect_grads(name, &dev, &d.params);
    }
    dcgan_expect_ref1("d_loss", losses, 3);
    gb_dev_free(&dev, real);
    gb_dev_free(&dev, fake);
    gb_dcgan_critic_destroy(&d, &dev);
    gb_device_close(&dev);
}

Test(dcgan_resnet, generator_loss_gradients_match_autograd) {
    gb_device dev = dcgan_open_cpu();
    gb_dcgan_generator g;
    gb_dcgan_critic d;
    gb_dcgan_generator_create(&g, &dev, B);
    gb_dcgan_critic_create(&d, &dev, B);
    gb_dcgan_generator_init(&g, &dev, 1);
    dcgan_load_params(&dev, &g.params, "g");
    dcgan_load_params(&dev, &d.params, "d");
    float *z = upload_fixture(&dev, "z", B * GB_DCGAN_Z_DIM);
    float *dx = gb_dev_alloc(&dev, B * IMG * sizeof(float));
    float dz[B * GB_DCGAN_Z_DIM], dlogits[B], losses[3];
    gb_params_zero_grad(&d.params, &dev);
    /* one generator forward; its saved activations serve all three backward passes */
    const float *fake = gb_dcgan_generator_forward(&g, &dev, B, z);
    for (int loss = 0; loss < 3; loss++) {
        gb_params_zero_grad(&g.params, &dev);
        const float *out = gb_dcgan_critic_forward(&d, &dev, B, fake);
        losses[loss] = generator_term(&dev, loss, dlogits, out);
        gb_dcgan_critic_backward(&d, &dev, dlogits, dx, 0);
        gb_dcgan_generator_backward(&g, &dev, dx, loss == LOSS_WGAN ? dz : NULL);
        char name[64];
        snprintf(name, sizeof name, "g_grad_%s", LOSS_NAMES[loss]);
        dcgan_expect_grads(name, &dev, &g.params);
    }
    dcgan_expect_ref1("g_loss", losses, 3);
    dcgan_expect_ref1("g_dz_wgan", dz, B * GB_DCGAN_Z_DIM);
    size_t nonzero = 0;
    for (size_t i = 0; i < d.params.total; i++) nonzero += d.params.grads[i] != 0.0f;
    cr_expect_eq(nonzero, 0, "the generator step wrote %zu critic gradients", nonzero);
    gb_dev_free(&dev, z);
    gb_dev_free(&dev, dx);
    gb_dcgan_generator_destroy(&g, &dev);
    gb_dcgan_critic_destroy(&d, &dev);
    gb_device_close(&dev);
}

/* Two backward calls after one forward: parameter gradients double (accumulate), input
 * gradients are rewritten with the same bits (overwrite, not accumulate). */
Test(dcgan_resnet, gradient_contract) {
    gb_device dev = dcgan_open_cpu();
    gb_dcgan_generator g;
    gb_dcgan_critic d;
    gb_dcgan_generator_create(&g, &dev, B);
    gb_dcgan_critic_create(&d, &dev, B);
    gb_dcgan_generator_init(&g, &dev, 11);
    gb_dcgan_critic_init(&d, &dev, 12);
    float *z = upload_fixture(&dev, "z", B * GB_DCGAN_Z_DIM);
    float *dx1 = malloc(B * IMG * sizeof(float)), *dx2 = malloc(B * IMG * sizeof(float));
    float *once_g = malloc(g.params.total * sizeof(float)), *once_d = malloc(d.params.total * sizeof(float));
    float dz1[B * GB_DCGAN_Z_DIM], dz2[B * GB_DCGAN_Z_DIM], dl[B] = {0.7f, -0.4f};
    cr_assert(dx1 && dx2 && once_g && once_d);
    const float *fake = gb_dcgan_generator_forward(&g, &dev, B, z);
    gb_dcgan_critic_forward(&d, &dev, B, fake);
    gb_dcgan_critic_backward(&d, &dev, dl, dx1, 1);
    memcpy(once_d, d.params.grads, d.params.total * sizeof(float));
    gb_dcgan_critic_backward(&d, &dev, dl, dx2, 1);
    gb_dcgan_generator_backward(&g, &dev, dx1, dz1);
    memcpy(once_g, g.params.grads, g.params.total * sizeof(float));
    gb_dcgan_generator_backward(&g, &dev, dx1, dz2);
    cr_expect_eq(memcmp(dx1, dx2, B * IMG * sizeof(float)), 0, "critic dx accumulated instead of overwritten");
    cr_expect_eq(memcmp(dz1, dz2, sizeof dz1), 0, "generator dz accumulated instead of overwritten");
    size_t zero_d = 0;
    for (size_t i = 0; i < d.params.total; i++) zero_d += once_d[i] == 0.0f;
    dcgan_expect_doubled("critic", &d.params, once_d, d.params.grads);
    dcgan_expect_doubled("generator", &g.params, once_g, g.params.grads);
    cr_expect_lt(zero_d, d.params.total / 2, "the critic gradient is mostly zero (%zu)", zero_d);
    gb_dev_free(&dev, z);
    free(dx1);
    free(dx2);
    free(once_g);
    free(once_d);
    gb_dcgan_generator_destroy(&g, &dev);
    gb_dcgan_critic_destroy(&d, &dev);
    gb_device_close(&dev);
}

/* The benchmark listing covers every conv and linear weight exactly once, at the right sizes. */
Test(dcgan_resnet, conv_and_linear_shapes_cover_the_models) {
    size_t n = gb_dcgan_conv_shapes(256, NULL, NULL, 0);
    cr_assert_eq(n, 20, "10 convs in G, 10 in D (got %zu)", n);
    gb_conv_shape shapes[20];
    const char *names[20];
    cr_assert_eq(gb_dcgan_conv_shapes(256, shapes, names, 20), 20);
    gb_linear_shape lin[2];
    const char *lnames[2];
    cr_assert_eq(gb_dcgan_linear_shapes(256, lin, lnames, 2), 2);
    size_t weights_g = 0, weights_d = 0;
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        const gb_conv_shape *s = &shapes[i];
        cr_expect_eq(s->batch, 256);
        size_t w = (size_t)s->out_channels * s->in_channels * s->kernel_h * s->kernel_w;
        *(names[i][0] == 'G' ? &weights_g : &weights_d) += w;
        cr_expect_eq(gb_conv_out_h(s), s->in_height, "%s: stride-1 'same' conv", names[i]);
        if (strcmp(names[i], "G.layers.2.residual.conv") == 0)
            found += s->in_height == 32 && s->kernel_h == 3 && s->pad_h == 1;
        if (strcmp(names[i], "D.layers.0.shortcut.conv") == 0)
            found += s->in_height == 16 && s->in_channels == 3 && s->kernel_h == 1 && s->pad_h == 0;
    }
    cr_expect_eq(found, 2, "expected the last upsample conv at 32x32 and D's first shortcut at 16x16");
    cr_expect_str_eq(lnames[0], "G.dense");
    cr_expect_eq(lin[0].in_features * lin[0].out_features, 128u * 2048u);
    cr_expect_eq(lin[1].in_features * lin[1].out_features, 128u);
    /* everything but biases and BN: G = 1,204,099 - (2048 + 3*(256+128+128+256) + 256 + 3) */
    cr_expect_eq(weights_g + 128 * 2048, 1204099u - (2048 + 3 * (256 + 128 + 128 + 256) + 256 + 3));
    cr_expect_eq(weights_d + 128, 1053825u - (10 * 128 + 1));
}
