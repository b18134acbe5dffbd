/* tests/test_gan_step.c - the GAN pipelines' training iterations (pipelines/gan_trainers.h) against
 * PyTorch for several optimizer steps: same initial weights, same batches, same noise
 * (tests/peers/gan_step_ref.py). After every iteration the losses, and at the end every
 * parameter (and the generator's BatchNorm running statistics), must lie within K times PyTorch
 * float32's distance from the float64 trajectory (for the CUB cases the largest over the plain
 * float32 run and 8 ulp-perturbed ones: these trajectories branch on rounding), per tensor,
 * elementwise and normwise, plus a floor of FLOOR_U float32 roundings of the tensor's RMS
 * (tests/tolerances.md, "GAN pipelines").
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pipelines/gan_common.h"
#include "../pipelines/gan_trainers.h"
#include "fixture.h"

#define K 8.0
#define FLOOR_U 256.0
#define U32 5.9604644775390625e-8

static gb_device open_cpu(void) {
    gb_device dev;
    cr_assert_eq(gb_device_open(&dev, "cpu", 1), GB_OK, "%s", gb_last_error());
    return dev;
}

static float *load(const char *c, const char *name, size_t count) {
    char rel[256];
    snprintf(rel, sizeof rel, "gan_step/%s/%s.f32", c, name);
    return fixture_f32(rel, count);
}

/* Sizes of the tensors listed in <case>/<file> ("name numel" lines), checked against the table's
 * names and sizes in order. Returns the count. */
static size_t check_names(const char *c, const char *file, const gb_param_block *pb, size_t *sizes) {
    const char *root = getenv("GB_FIXTURES");
    if (!root) cr_assert_fail("GB_FIXTURES is not set: run the tests with `make test`");
    char path[1024], name[256];
    snprintf(path, sizeof path, "%s/gan_step/%s/%s", root, c, file);
    FILE *fp = fopen(path, "r");
    if (!fp) cr_assert_fail("fixture %s is missing: run /usr/bin/python3 tests/peers/gan_step_ref.py %s", path, root);
    size_t numel, i = 0;
    while (fscanf(fp, "%255s %zu", name, &numel) == 2) {
        cr_assert_lt(i, pb->n_specs, "%s: more tensors than the table's %zu", path, pb->n_specs);
        cr_assert_str_eq(name, pb->specs[i].name, "%s line %zu: PyTorch has %s, the table %s", path, i + 1, name,
                         pb->specs[i].name);
        cr_assert_eq(numel, gb_param_numel(&pb->specs[i]), "%s: %s sizes differ", path, name);
        sizes[i++] = numel;
    }
    fclose(fp);
    cr_assert_eq(i, pb->n_specs, "%s: %zu tensors, the table has %zu", path, i, pb->n_specs);
    return i;
}

static void load_block(gb_device *dev, gb_param_block *pb, const char *c, const char *names, const char *init) {
    size_t sizes[256];
    check_names(c, names, pb, sizes);
    float *w = load(c, init, pb->total);
    gb_upload(dev, pb->params, w, pb->total * sizeof(float));
    free(w);
}

/* got [sum sizes] against reference `name` of case c (see the file header). Returns the worst
 * ratio of our max distance to PyTorch float32's (for the log and tolerances.md). */
static double expect_ref(const char *c, const char *name, const float *got, const size_t *sizes, size_t tensors,
                         const gb_param_block *labels) {
    size_t total = 0;
    for (size_t t = 0; t < tensors; t++) total += sizes[t];
    float *ref = load(c, name, total);
    char ename[128];
    snprintf(ename, sizeof ename, "%s.err", name);
    float *err = load(c, ename, 3 * tensors);
    double worst = 0;
    size_t at = 0;
    for (size_t t = 0; t < tensors; t++) {
        double dmax = 0, d2 = 0, r2 = 0;
        size_t imax = 0;
        for (size_t i = 0; i < sizes[t]; i++) {
            double d = fabs((double)got[at + i] - (double)ref[at + i]);
            if (d > dmax || d != d) dmax = d, imax = i;
            d2 += d * d;
            r2 += (double)ref[at + i] * ref[at + i];
        }
        double rms = sqrt(r2 / (double)sizes[t]);
        double tol_max = K * err[3 * t] + FLOOR_U * U32 * rms;
        double tol_norm = K * err[3 * t + 1] + FLOOR_U * U32 * sqrt(r2);
        const char *label = labels ? labels->specs[t].name : "";
        cr_expect(dmax <= tol_max, "%s %s %s[%zu] (tensor %zu): |got - ref| = %.3g at %zu (got %.9g, ref %.9g) > %.3g "
                  "(torch32 %.3g)", c, name, label, t, t, dmax, imax, got[at + imax], ref[at + imax], tol_max, err[3 * t]);
        cr_expect(sqrt(d2) <= tol_norm, "%s %s %s (tensor %zu): ||got - ref|| = %.3g > %.3g (torch32 %.3g)", c, name,
                  label, t, sqrt(d2), tol_norm, err[3 * t + 1]);
        if (err[3 * t] > 0 && dmax / err[3 * t] > worst) worst = dmax / err[3 * t];
        at += sizes[t];
    }
    free(err);
    free(ref);
    return worst;
}

static void expect_block(gb_device *dev, const char *c, const char *name, const gb_param_block *pb) {
    float *h = malloc(pb->total * sizeof(float));
    size_t sizes[256];
    for (size_t i = 0; i < pb->n_specs; i++) sizes[i] = gb_param_numel(&pb->specs[i]);
    gb_download(dev, h, pb->params, pb->total * sizeof(float));
    double w = expect_ref(c, name, h, sizes, pb->n_specs, pb);
    cr_log_info("%s %s: worst max-distance ratio to torch float32 %.2f", c, name, w);
    free(h);
}

static void expect_losses(const char *c, const float *rows, size_t iters) {
    size_t sizes[16];
    for (size_t i = 0; i < iters; i++) sizes[i] = GAN_N_LOSSES;
    double w = expect_ref(c, "losses", rows, sizes, iters, NULL);
    cr_log_info("%s losses: worst ratio %.2f", c, w);
}

Test(gan_step, mnist_five_iterations) {
    enum { ITERS = 5, B = 8 };
    gb_device dev = open_cpu();
    gb_mnist_gan_trainer t;
    gb_mnist_gan_trainer_create(&t, &dev, B);
    load_block(&dev, &t.g.params, "mnist", "names_g.txt", "g_init");
    load_block(&dev, &t.d.params, "mnist", "names_d.txt", "d_init");
    float *x = load("mnist", "x", (size_t)ITERS * B * 784), *z = load("mnist", "z", (size_t)ITERS * B * 64);
    float *xd = gb_dev_alloc(&dev, B * 784 * sizeof(float)), *zd = gb_dev_alloc(&dev, B * 64 * sizeof(float));
    float rows[ITERS * GAN_N_LOSSES];
    for (int it = 0; it < ITERS; it++) {
        gb_upload(&dev, xd, x + (size_t)it * B * 784, B * 784 * sizeof(float));
        gb_upload(&dev, zd, z + (size_t)it * B * 64, B * 64 * sizeof(float));
        gb_mnist_gan_iteration(&t, &dev, (uint64_t)it, xd, zd, B, rows + it * GAN_N_LOSSES);
    }
    expect_losses("mnist", rows, ITERS);
    expect_block(&dev, "mnist", "g_final", &t.g.params);
    expect_block(&dev, "mnist", "d_final", &t.d.params);
    gb_dev_free(&dev, xd);
    gb_dev_free(&dev, zd);
    free(x);
    free(z);
    gb_mnist_gan_trainer_destroy(&t, &dev);
    gb_device_close(&dev);
}

static void cub_case(const char *c, gb_gan_loss loss, int iters, int n_critic) {
    enum { B = 2, IMG = GB_DCGAN_IMAGE_FLOATS, Z = GB_DCGAN_Z_DIM };
    gb_device dev = open_cpu();
    gb_cub32_gan_hparams hp = gb_cub32_gan_hparams_paper(loss);
    hp.n_critic = n_critic;
    hp.decay_d = 7, hp.decay_g = 6; /* the peer's LambdaLR horizons */
    hp.eps = 1e-3f;                  /* the peer's Adam eps for these cases (see the peer) */
    gb_cub32_gan_trainer t;
    gb_cub32_gan_trainer_create(&t, &dev, B, &hp);
    gb_cub32_gan_trainer_init(&t, &dev, 1); /* running statistics 0 / 1 as PyTorch's */
    load_block(&dev, &t.g.params, c, "names_g.txt", "g_init");
    load_block(&dev, &t.d.params, c, "names_d.txt", "d_init");
    size_t bsizes[64];
    check_names(c, "names_gbuf.txt", &t.g.buffers, bsizes);
    float *x = load(c, "x", (size_t)iters * B * IMG), *zd = load(c, "z_d", (size_t)iters * B * Z),
          *zg = load(c, "z_g", (size_t)iters * B * Z), *eps = load(c, "eps", (size_t)iters * B);
    float *xdev = gb_dev_alloc(&dev, B * IMG * sizeof(float)), *zddev = gb_dev_alloc(&dev, B * Z * sizeof(float)),
          *zgdev = gb_dev_alloc(&dev, B * Z * sizeof(float));
    float rows[16 * GAN_N_LOSSES];
    for (int it = 0; it < iters; it++) {
        gb_upload(&dev, xdev, x + (size_t)it * B * IMG, B * IMG * sizeof(float));
        gb_upload(&dev, zddev, zd + (size_t)it * B * Z, B * Z * sizeof(float));
        gb_upload(&dev, zgdev, zg + (size_t)it * B * Z, B * Z * sizeof(float));
        int g_stepped = -1;
        float *row = rows + it * GAN_N_LOSSES;
        gb_cub32_gan_iteration(&t, &dev, (uint64_t)it, xdev, zddev, zgdev, eps + it * B, B, row, &g_stepped);
        cr_expect_eq(g_stepped, it % n_critic == 0, "%s iteration %d: generator step %d", c, it, g_stepped);
        if (!g_stepped) {
            cr_expect(isnan(row[GAN_LOSS_G]), "no G step but a G loss");
            row[GAN_LOSS_G] = 0; /* the peer's placeholder */
        }
    }
    cr_expect_eq(t.d_steps, iters);
    cr_expect_eq(t.g_steps, (iters + n_critic - 1) / n_critic);
    expect_losses(c, rows, (size_t)iters);
    expect_block(&dev, c, "g_final", &t.g.params);
    expect_block(&dev, c, "d_final", &t.d.params);
    expect_block(&dev, c, "gbuf_final", &t.g.buffers);
    gb_dev_free(&dev, xdev);
    gb_dev_free(&dev, zddev);
    gb_dev_free(&dev, zgdev);
    free(x);
    free(zd);
    free(zg);
    free(eps);
    gb_cub32_gan_trainer_destroy(&t, &dev);
    gb_device_close(&dev);
}

Test(gan_step, cub32_gan_six_iterations_n_critic_5, .timeout = 120) { cub_case("gan", GB_GAN_LOSS_GAN, 6, 5); }
Test(gan_step, cub32_lsgan_six_iterations_n_critic_5, .timeout = 120) { cub_case("lsgan", GB_GAN_LOSS_LSGAN, 6, 5); }
Test(gan_step, cub32_wgan_gp_five_iterations, .timeout = 120) { cub_case("wgan-gp", GB_GAN_LOSS_WGAN_GP, 5, 1); }

/* The decay of specs/pipelines.md 4.3 as LambdaLR computes it: base * (1 - t / T) in double. */
Test(gan_step, paper_hyperparameters_and_decay) {
    gb_cub32_gan_hparams hp = gb_cub32_gan_hparams_paper(GB_GAN_LOSS_WGAN_GP);
    cr_expect(hp.lr == 2e-4f && hp.beta1 == 0.0f && hp.beta2 == 0.9f && hp.eps == 1e-8f && hp.lambda == 10.0f &&
              hp.n_critic == 5);
    cr_expect(hp.decay_d == 500000 && hp.decay_g == 100000);
    gb_cub32_gan_trainer t = {.hp = hp};
    cr_expect(gb_cub32_gan_lr_d(&t, 0) == (double)2e-4f);
    cr_expect(gb_cub32_gan_lr_d(&t, 250000) == (double)2e-4f * (1.0 - 250000.0 / 500000.0));
    cr_expect(gb_cub32_gan_lr_g(&t, 6000) == (double)2e-4f * (1.0 - 6000.0 / 100000.0));
}
