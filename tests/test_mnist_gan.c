/* tests/test_mnist_gan.c - the CS446 MNIST DNet and GNet (models/mnist_gan.c).
 *
 * References: PyTorch (tests/peers/mnist_gan_ref.py) on the same weights and inputs, uploaded
 * into our parameter blocks: forward outputs, every parameter gradient of the spec's D loss
 * (BCE(D(x), 1) + BCE(D(G(z).detach()), 0)) and G loss (BCE(D(G(z)), 1)), D's input gradient,
 * and one torch.optim.Adam step (lr 2e-4); the spec's parameter counts (5.5); kaiming_uniform
 * bounds; the gradient contract (parameter gradients accumulate over calls).
 * Tolerances, with their reasons: tests/tolerances.md, "WGAN-GP penalty gradient", subsection
 * "MLP critic of GAZSL/CIZSL" (the model suites' shared paragraph).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../models/mnist_gan.h"
#include "fixture.h"
#include "gradcheck.h"

enum { B = 3, PIX = GB_MNIST_GAN_PIXELS, ZD = GB_MNIST_GAN_ZDIM };

/* float32 vs PyTorch float32, sums of up to 288 (forward) and 2352 (weight gradients: batch x
 * 28 x 28) terms in different orders over four layers (see tolerances.md), relative to the
 * tensor's largest element (atol) and to the element (rtol). */
#define FWD_TOL 5e-6
#define GRAD_TOL 1e-5
/* The second pass adds into gradients that already hold the first: the conv weight gradient is
 * accumulated image by image, so each of the B partial sums rounds once more. */
#define ACC_TOL (8 * GC_U32)

static gb_device dev;
static void open_cpu(void) { cr_assert_eq(gb_device_open(&dev, "cpu", 1), GB_OK, "%s", gb_last_error()); }
static void close_cpu(void) { gb_device_close(&dev); }

static float *host_fixture(const char *name, size_t n) {
    char rel[128];
    snprintf(rel, sizeof rel, "mnist_gan/%s.f32", name);
    return fixture_f32(rel, n);
}

static float *dev_fixture(const char *name, size_t n) {
    float *host = host_fixture(name, n), *d = gb_dev_alloc(&dev, n * sizeof(float));
    gb_upload(&dev, d, host, n * sizeof(float));
    free(host);
    return d;
}

static void load_params(gb_param_block *pb, const char *name) {
    float *host = host_fixture(name, pb->total);
    gb_upload(&dev, pb->params, host, pb->total * sizeof(float));
    free(host);
}

static float *download(const float *src, size_t n) {
    float *h = gc_falloc(n);
    gb_download(&dev, h, src, n * sizeof(float));
    return h;
}

static double max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i]));
    return m;
}

static void expect_scaled(const char *label, const float *got, const float *ref, size_t n, double tol) {
    double scale = max_abs(ref, n);
    expect_close(label, got, ref, n, tol * (scale > 0 ? scale : 1), tol);
}

/* A block (parameters or gradients) tensor by tensor, so a failure names the tensor. */
static void expect_block(const char *what, const gb_param_block *pb, const float *block, const float *ref,
                         double tol) {
    float *got = download(block, pb->total);
    for (size_t i = 0; i < pb->n_specs; i++) {
        char label[160];
        snprintf(label, sizeof label, "%s %s", what, pb->specs[i].name);
        expect_scaled(label, got + pb->offsets[i], ref + pb->offsets[i], gb_param_numel(&pb->specs[i]), tol);
    }
    free(got);
}

typedef struct {
    gb_mnist_dnet d;
    gb_mnist_gnet g;
    float *x, *z, *dlogit, *dx, *loss;
} rig;

static void rig_open(rig *r) {
    open_cpu();
    gb_mnist_dnet_create(&r->d, &dev, B);
    gb_mnist_gnet_create(&r->g, &dev, B);
    load_params(&r->d.params, "d_params");
    load_params(&r->g.params, "g_params");
    r->x = dev_fixture("x", B * PIX);
    r->z = dev_fixture("z", B * ZD);
    r->dlogit = gb_dev_alloc(&dev, B * sizeof(float));
    r->dx = gb_dev_alloc(&dev, B * PIX * sizeof(float));
    r->loss = gb_dev_alloc(&dev, sizeof(float));
}

static void rig_close(rig *r) {
    float *bufs[] = {r->x, r->z, r->dlogit, r->dx, r->loss};
    for (size_t i = 0; i < 5; i++) gb_dev_free(&dev, bufs[i]);
    gb_mnist_dnet_destroy(&r->d, &dev);
    gb_mnist_gnet_destroy(&r->g, &dev);
    close_cpu();
}

/* BCE(D(x), target) backpropagated into D (and into dx when not NULL); returns the loss. */
static float d_term(rig *r, const float *x, float target, float *dx) {
    const float *logits = gb_mnist_dnet_forward(&r->d, &dev, B, x);
    gb_bce_with_logits(&dev, r->loss, r->dlogit, logits, NULL, target, B, 1.0f);
    gb_mnist_dnet_backward(&r->d, &dev, B, r->dlogit, dx);
    float l;
    gb_download(&dev, &l, r->loss, sizeof l);
    return l;
}

/* The spec's D loss: BCE(D(x), 1) + BCE(D(G(z).detach()), 0). */
static float d_loss(rig *r) {
    float l = d_term(r, r->x, 1.0f, NULL);
    const float *fake = gb_mnist_gnet_forward(&r->g, &dev, B, r->z);
    return l + d_term(r, fake, 0.0f, NULL);
}

/* ---- sizes, names, init --------------------------------------------------------------------- */

Test(mnist_gan, parameter_counts_names_and_shapes, .init = open_cpu, .fini = close_cpu) {
    cr_expect_eq(gb_mnist_dnet_param_count(), 593);
    cr_expect_eq(gb_mnist_gnet_param_count(), 107777);
    gb_mnist_dnet d;
    gb_mnist_gnet g;
    gb_mnist_dnet_create(&d, &dev, 2);
    gb_mnist_gnet_create(&g, &dev, 2);
    cr_expect_eq(d.params.total, 593);
    cr_expect_eq(g.params.total, 107777);
    const char *dn[] = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias", "fc.weight", "fc.bias"};
    const char *gn[] = {"fc.weight", "fc.bias", "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias"};
    cr_assert_eq(d.params.n_specs, 8);
    cr_assert_eq(g.params.n_specs, 8);
    for (int i = 0; i < 8; i++) {
        cr_expect_str_eq(d.params.specs[i].name, dn[i]);
        cr_expect_str_eq(g.params.specs[i].name, gn[i]);
    }
    gb_conv_shape cs[8];
    const char *names[8];
    cr_assert_eq(gb_mnist_gan_conv_shapes(5, cs, names, 8), 6);
    /* every listed conv's weight shape is the parameter table's, its output the next input */
    const gb_param_block *blocks[2] = {&d.params, &g.params};
    const size_t widx[6] = {0, 2, 4, 2, 4, 6};
    for (int i = 0; i < 6; i++) {
        const gb_param_spec *w = &blocks[i / 3]->specs[widx[i]];
        cr_expect(cs[i].batch == 5 && w->shape[0] == cs[i].out_channels && w->shape[1] == cs[i].in_channels &&
                      w->shape[2] == cs[i].kernel_h && w->shape[3] == cs[i].kernel_w,
                  "%s: shape disagrees with %s", names[i], w->name);
    }
    cr_expect_str_eq(names[0], "dnet.conv1");
    cr_expect_str_eq(names[5], "gnet.conv3");
    cr_expect_eq(gb_conv_out_h(&cs[2]), 5, "dnet.conv3 7 -> 5 (p0)");
    cr_expect_eq(gb_conv_out_h(&cs[5]), 28);
    gb_linear_shape ls[2];
    cr_assert_eq(gb_mnist_gan_linear_shapes(5, ls, names, 2), 2);
    cr_expect(ls[0].in_features == 200 && ls[0].out_features == 1 && ls[0].rows == 5);
    cr_expect(ls[1].in_features == 64 && ls[1].out_features == 1568);
    cr_expect_str_eq(names[1], "gnet.fc");
    cr_expect_eq(gb_mnist_gan_conv_shapes(5, NULL, NULL, 0), 6);
    gb_mnist_dnet_destroy(&d, &dev);
    gb_mnist_gnet_destroy(&g, &dev);
}

Test(mnist_gan, kaiming_uniform_weights_and_zero_biases, .init = open_cpu, .fini = close_cpu) {
    gb_mnist_gnet g;
    gb_mnist_gnet_create(&g, &dev, 1);
    gb_params_init(&g.params, &dev, 11);
    float *p = download(g.params.params, g.params.total);
    for (size_t i = 0; i < g.params.n_specs; i++) {
        const gb_param_spec *s = &g.params.specs[i];
        const float *t = p + g.params.offsets[i];
        size_t n = gb_param_numel(s);
        if (s->ndim == 1) {
            cr_expect_eq(max_abs(t, n), 0.0, "%s must start at 0", s->name);
            continue;
        }
        size_t fan_in = n / (size_t)s->shape[0];
        double bound = sqrt(6.0 / (double)fan_in), m = max_abs(t, n);
        /* all inside the bound; the largest of n >= 72 uniforms is above 0.9 bound with
         * probability 1 - 0.9^72 > 0.9994 (and this seed is fixed) */
        cr_expect(m <= bound && m > 0.9 * bound, "%s: max |w| %.5g, bound sqrt(6/%zu) = %.5g", s->name, m, fan_in,
                  bound);
    }
    free(p);
    gb_mnist_gnet_destroy(&g, &dev);
}

/* ---- against PyTorch ---------------------------------------------------------------------------- */

Test(mnist_gan, forward_matches_pytorch) {
    rig r;
    rig_open(&r);
    float *d = download(gb_mnist_dnet_forward(&r.d, &dev, B, r.x), B);
    float *g = download(gb_mnist_gnet_forward(&r.g, &dev, B, r.z), B * PIX);
    float *rd = host_fixture("d_out", B), *rg = host_fixture("g_out", B * PIX);
    expect_scaled("DNet(x)", d, rd, B, FWD_TOL);
    expect_scaled("GNet(z)", g, rg, B * PIX, FWD_TOL);
    free(d), free(g), free(rd), free(rg);
    rig_close(&r);
}

Test(mnist_gan, dnet_gradients_match_pytorch) {
    rig r;
    rig_open(&r);
    d_term(&r, r.x, 1.0f, r.dx);
    float *dx = download(r.dx, B * PIX), *rdx = host_fixture("d_dx", B * PIX);
    expect_scaled("d BCE(D(x), 1) / dx", dx, rdx, B * PIX, GRAD_TOL);
    gb_params_zero_grad(&r.d.params, &dev);
    float l = d_loss(&r), *rl = host_fixture("d_loss", 1);
    cr_expect(fabs(l - rl[0]) <= FWD_TOL * fabs(rl[0]), "D loss %.9g, PyTorch %.9g", l, rl[0]);
    float *ref = host_fixture("d_grads", r.d.params.total);
    expect_block("D loss grad", &r.d.params, r.d.params.grads, ref, GRAD_TOL);
    free(dx), free(rdx), free(rl), free(ref);
    rig_close(&r);
}

Test(mnist_gan, gnet_gradients_match_pytorch) {
    rig r;
    rig_open(&r);
    gb_params_zero_grad(&r.g.params, &dev);
    const float *fake = gb_mnist_gnet_forward(&r.g, &dev, B, r.z);
    float l = d_term(&r, fake, 1.0f, r.dx);
    gb_mnist_gnet_backward(&r.g, &dev, B, r.dx);
    float *rl = host_fixture("g_loss", 1), *ref = host_fixture("g_grads", r.g.params.total);
    cr_expect(fabs(l - rl[0]) <= FWD_TOL * fabs(rl[0]), "G loss %.9g, PyTorch %.9g", l, rl[0]);
    expect_block("G loss grad", &r.g.params, r.g.params.grads, ref, GRAD_TOL);
    free(rl), free(ref);
    rig_close(&r);
}

Test(mnist_gan, one_adam_step_matches_torch_optim_adam) {
    rig r;
    rig_open(&r);
    gb_params_zero_grad(&r.d.params, &dev);
    d_loss(&r);
    gb_adam_hparams hp = {.lr = 2e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    gb_params_adam_step(&r.d.params, &dev, &hp, 1);
    float *ref = host_fixture("d_params_after_adam", r.d.params.total);
    /* step 1 moves each weight by lr * g / (|g| + eps): about lr, whatever the gradient's rounding */
    expect_block("D after Adam", &r.d.params, r.d.params.params, ref, 2 * GC_U32);
    free(ref);
    rig_close(&r);
}

Test(mnist_gan, parameter_gradients_accumulate_over_calls) {
    rig r;
    rig_open(&r);
    gb_params_zero_grad(&r.d.params, &dev);
    gb_params_zero_grad(&r.g.params, &dev);
    const float *fake = gb_mnist_gnet_forward(&r.g, &dev, B, r.z);
    d_term(&r, fake, 1.0f, r.dx);
    gb_mnist_gnet_backward(&r.g, &dev, B, r.dx);
    float *d1 = download(r.d.params.grads, r.d.params.total), *g1 = download(r.g.params.grads, r.g.params.total);
    fake = gb_mnist_gnet_forward(&r.g, &dev, B, r.z);
    d_term(&r, fake, 1.0f, r.dx);
    gb_mnist_gnet_backward(&r.g, &dev, B, r.dx);
    for (size_t i = 0; i < r.d.params.total; i++) d1[i] *= 2;
    for (size_t i = 0; i < r.g.params.total; i++) g1[i] *= 2;
    expect_block("D grads after 2 passes", &r.d.params, r.d.params.grads, d1, ACC_TOL);
    expect_block("G grads after 2 passes", &r.g.params, r.g.params.grads, g1, ACC_TOL);
    free(d1), free(g1);
    rig_close(&r);
}
