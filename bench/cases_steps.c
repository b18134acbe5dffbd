/* bench/cases_steps.c - whole training steps, ours against PyTorch on the same model,
 * batch and thread count, side by side in one run (the report prints the ratio).
 * Every row uses fixed inputs drawn at setup (no random draws inside the timed step, on
 * either side); step parity with PyTorch is each model's own test, here only time matters.
 *
 * toy2d-langevin: the ScoreNet MLP (models/scorenet_mlp.h: 8 layers, width 128) on all
 * 1291 CS446 points, fused half-squared-error loss, backward, Adam; fixed inputs (the
 * per-step noise draws are excluded on both sides). Step parity with PyTorch is
 * tested by tests/test_toy2d_step.c; here only time matters. The PyTorch side is
 * bench/peers/toy2d_step.py.
 *
 * cmu-gan (models/dcgan_resnet.h, batch 64; the PyTorch side is bench/peers/dcgan_step.py):
 *   G fwd+bwd    out = G(z), then backward of a fixed dout (parameter gradients accumulate);
 *   D fwd+bwd    D(x), then backward of a fixed dout [B] (parameter gradients, no dx);
 *   critic step  zero_grad, gb_dcgan_critic_wgan_gp_eps (D(real), D(fake), the exact
 *                WGAN-GP penalty gradient at eps fake + (1 - eps) real), Adam; fake is a fixed
 *                G(z) made at setup (the target: 1.3x PyTorch);
 *   gen step     zero_grad, G(z), D(G(z)), dx through the critic without its parameter
 *                gradients, G backward, Adam on G (loss -E[D(G(z))]).
 *   Adam lr 2e-4, betas (0, 0.9), on both sides.
 * mnist-gan (models/mnist_gan.h, the pipeline's batch 256; bench/peers/mnist_gan_step.py): one
 *   iteration as pipelines/mnist_gan.c runs it: D step on BCE(D(x), 1) + BCE(D(G(z)), 0), then
 *   the G step on BCE(D(G(z)), 1) through the updated D, Adam on each.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../core/philox.h"
#include "../models/dcgan_resnet.h"
#include "../models/mnist_gan.h"
#include "../models/scorenet_mlp.h"
#include "cases.h"
#include "peer.h"

enum { TOY_ROWS = 1291, TOY_WIDTH = 128, TOY_LAYERS = 8, TOY_IN = 3, TOY_OUT = 2 };

typedef struct {
    gb_scorenet_mlp net;
    float *target, *loss;
    long step;
} toy_ctx;

static gb_status toy_setup(gb_bench_case *c, gb_device *dev) {
    toy_ctx *x = calloc(1, sizeof *x);
    GB_ASSERT(x, "out of memory");
    gb_scorenet_mlp_create(&x->net, dev, TOY_LAYERS, TOY_WIDTH, TOY_IN, TOY_OUT, TOY_ROWS);
    gb_params_init(&x->net.params, dev, 0);
    float *host = malloc(TOY_ROWS * TOY_IN * sizeof *host);
    GB_ASSERT(host, "out of memory");
    gb_stream st = gb_stream_open(0, "bench/input");
    gb_stream_normal(&st, host, TOY_ROWS * TOY_IN);
    gb_upload(dev, x->net.input, host, TOY_ROWS * TOY_IN * sizeof(float));
    x->target = gb_dev_alloc(dev, TOY_ROWS * TOY_OUT * sizeof(float));
    gb_stream_normal(&st, host, TOY_ROWS * TOY_OUT);
    gb_upload(dev, x->target, host, TOY_ROWS * TOY_OUT * sizeof(float));
    x->loss = gb_dev_alloc(dev, sizeof(float));
    free(host);
    c->ctx = x;
    return GB_OK;
}

static void toy_run(gb_bench_case *c, gb_device *dev) {
    toy_ctx *x = c->ctx;
    const gb_adam_hparams hp = {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    gb_params_zero_grad(&x->net.params, dev);
    float *out = gb_scorenet_mlp_forward(&x->net, dev, TOY_ROWS);
    gb_half_sq_error(dev, x->loss, x->net.dout, out, x->target, TOY_ROWS, TOY_OUT);
    gb_scorenet_mlp_backward(&x->net, dev, TOY_ROWS);
    gb_params_adam_step(&x->net.params, dev, &hp, ++x->step);
    float loss;
    gb_download(dev, &loss, x->loss, sizeof loss); /* the step is complete when its loss is back */
}

static void toy_teardown(gb_bench_case *c, gb_device *dev) {
    toy_ctx *x = c->ctx;
    gb_dev_free(dev, x->loss);
    gb_dev_free(dev, x->target);
    gb_scorenet_mlp_destroy(&x->net, dev);
    free(x);
    c->ctx = NULL;
}

static gb_status toy_pytorch(gb_bench_case *c, int threads, int quick, double *samples, size_t *n, size_t cap,
                             char *note, size_t note_cap) {
    (void)c;
    char args[128], version[64];
    snprintf(args, sizeof args, "%d %d %d %d %d %d", TOY_ROWS, TOY_WIDTH, TOY_LAYERS, threads, quick ? 2 : 10,
             quick ? 5 : 50);
    GB_TRY(gb_bench_run_peer("toy2d_step.py", args, samples, n, cap, version, sizeof version));
    snprintf(note, note_cap, "torch %s", version);
    return GB_OK;
}

/* ---- the CMU ResNet GAN ------------------------------------------------------------------ */

enum { GAN_BATCH = 64, MNIST_BATCH = 256 };
enum { ROW_G_FWDBWD, ROW_D_FWDBWD, ROW_CRITIC_STEP, ROW_GEN_STEP };
static const char *const gan_modes[] = {"g_fwdbwd", "d_fwdbwd", "critic_step", "gen_step"};

typedef struct {
    int row;
    int fast; /* run with gb_device.fast_conv (the `--conv fast` pipelines) */
    gb_dcgan_generator g;
    gb_dcgan_critic d;
    float *z, *real, *fake, *g_dout, *d_dout, *dx, *losses;
    float eps[GAN_BATCH];
    long step;
} gan_ctx;

static float *random_device(gb_device *dev, size_t n, const char *stream, int uniform_pm1) {
    float *host = malloc(n * sizeof *host);
    GB_ASSERT(host, "out of memory");
    gb_stream st = gb_stream_open(3, stream);
    if (uniform_pm1) {
        gb_stream_uniform(&st, host, n);
        for (size_t i = 0; i < n; i++) host[i] = 2 * host[i] - 1;
    } else
        gb_stream_normal(&st, host, n);
    float *d = gb_dev_alloc(dev, n * sizeof *d);
    gb_upload(dev, d, host, n * sizeof *d);
    free(host);
    return d;
}

static const gb_adam_hparams gan_hp = {.lr = 2e-4f, .beta1 = 0.0f, .beta2 = 0.9f, .eps = 1e-8f};

static gb_status gan_setup(gb_bench_case *c, gb_device *dev) {
    gan_ctx *x = c->ctx;
    const size_t B = GAN_BATCH, img = (size_t)B * GB_DCGAN_IMAGE_FLOATS;
    gb_dcgan_generator_create(&x->g, dev, GAN_BATCH);
    gb_dcgan_generator_init(&x->g, dev, 1);
    gb_dcgan_critic_create(&x->d, dev, GAN_BATCH);
    gb_dcgan_critic_init(&x->d, dev, 2);
    x->z = random_device(dev, B * GB_DCGAN_Z_DIM, "bench/gan/z", 0);
    x->real = random_device(dev, img, "bench/gan/real", 1);
    x->g_dout = random_device(dev, img, "bench/gan/g_dout", 0);
    x->d_dout = gb_dev_alloc(dev, B * sizeof(float));
    gb_fill(dev, x->d_dout, -1.0f / (float)B, B); /* d(-E[D])/dD: the generator loss's gradient */
    x->dx = gb_dev_alloc(dev, img * sizeof(float));
    x->losses = gb_dev_alloc(dev, 4 * sizeof(float));
    gb_dev_zero(dev, x->losses, 4 * sizeof(float));
    x->fake = gb_dev_alloc(dev, img * sizeof(float));
    gb_dev_copy(dev, x->fake, gb_dcgan_generator_forward(&x->g, dev, GAN_BATCH, x->z), img * sizeof(float));
    gb_stream st = gb_stream_open(3, "bench/gan/eps");
    gb_stream_uniform(&st, x->eps, GAN_BATCH);
    return GB_OK;
}

static void gan_run(gb_bench_case *c, gb_device *dev) {
    gan_ctx *x = c->ctx;
    float loss[4];
    int fast_conv = dev->fast_conv;
    dev->fast_conv = x->fast;
    switch (x->row) {
    case ROW_G_FWDBWD:
        gb_dcgan_generator_forward(&x->g, dev, GAN_BATCH, x->z);
        gb_dcgan_generator_backward(&x->g, dev, x->g_dout, NULL);
        break;
    case ROW_D_FWDBWD:
        gb_dcgan_critic_forward(&x->d, dev, GAN_BATCH, x->real);
        gb_dcgan_critic_backward(&x->d, dev, x->d_dout, NULL, 1);
        break;
    case ROW_CRITIC_STEP:
        gb_params_zero_grad(&x->d.params, dev);
        gb_dcgan_critic_wgan_gp_eps(&x->d, dev, GAN_BATCH, x->real, x->fake, x->eps, 10.0f, x->losses);
        gb_params_adam_step(&x->d.params, dev, &gan_hp, ++x->step);
        break;
    case ROW_GEN_STEP: {
        gb_params_zero_grad(&x->g.params, dev);
        const float *out = gb_dcgan_generator_forward(&x->g, dev, GAN_BATCH, x->z);
        gb_dcgan_critic_forward(&x->d, dev, GAN_BATCH, out);
        gb_dcgan_critic_backward(&x->d, dev, x->d_dout, x->dx, 0);
        gb_dcgan_generator_backward(&x->g, dev, x->dx, NULL);
        gb_params_adam_step(&x->g.params, dev, &gan_hp, ++x->step);
        break;
    }
    }
    gb_download(dev, loss, x->losses, sizeof loss); /* the pass is complete when a value is back */
    dev->fast_conv = fast_conv;
}

static void gan_teardown(gb_bench_case *c, gb_device *dev) {
    gan_ctx *x = c->ctx;
    float *bufs[] = {x->z, x->real, x->fake, x->g_dout, x->d_dout, x->dx, x->losses};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) gb_dev_free(dev, bufs[i]);
    gb_dcgan_critic_destroy(&x->d, dev);
    gb_dcgan_generator_destroy(&x->g, dev);
    *x = (gan_ctx){.row = x->row, .fast = x->fast};
}

static gb_status gan_pytorch(gb_bench_case *c, int threads, int quick, double *samples, size_t *n, size_t cap,
                             char *note, size_t note_cap) {
    char args[128], version[64];
    snprintf(args, sizeof args, "%s %d %d %d %d", gan_modes[((gan_ctx *)c->ctx)->row], GAN_BATCH, threads,
             1, quick ? 2 : 7);
    GB_TRY(gb_bench_run_peer("dcgan_step.py", args, samples, n, cap, version, sizeof version));
    snprintf(note, note_cap, "torch %s", version);
    return GB_OK;
}

/* ---- the MNIST GAN ----------------------------------------------------------------------- */

typedef struct {
    gb_mnist_dnet d;
    gb_mnist_gnet g;
    float *x, *z, *loss, *dlogits, *dimg;
    long step;
} mnist_ctx;

static const gb_adam_hparams mnist_hp = {.lr = 2e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};

static gb_status mnist_setup(gb_bench_case *c, gb_device *dev) {
    mnist_ctx *x = calloc(1, sizeof *x);
    GB_ASSERT(x, "out of memory");
    gb_mnist_dnet_create(&x->d, dev, MNIST_BATCH);
    gb_mnist_gnet_create(&x->g, dev, MNIST_BATCH);
    gb_params_init(&x->d.params, dev, 1);
    gb_params_init(&x->g.params, dev, 2);
    x->x = random_device(dev, (size_t)MNIST_BATCH * GB_MNIST_GAN_PIXELS, "bench/mnist/x", 1);
    x->z = random_device(dev, (size_t)MNIST_BATCH * GB_MNIST_GAN_ZDIM, "bench/mnist/z", 1);
    x->loss = gb_dev_alloc(dev, 3 * sizeof(float));
    x->dlogits = gb_dev_alloc(dev, MNIST_BATCH * sizeof(float));
    x->dimg = gb_dev_alloc(dev, (size_t)MNIST_BATCH * GB_MNIST_GAN_PIXELS * sizeof(float));
    c->ctx = x;
    return GB_OK;
}

static void mnist_run(gb_bench_case *c, gb_device *dev) {
    mnist_ctx *x = c->ctx;
    const size_t B = MNIST_BATCH;
    const long step = ++x->step;
    gb_params_zero_grad(&x->d.params, dev);
    const float *fake = gb_mnist_gnet_forward(&x->g, dev, B, x->z);
    float *logits = gb_mnist_dnet_forward(&x->d, dev, B, x->x);
    gb_bce_with_logits(dev, x->loss, x->dlogits, logits, NULL, 1.0f, B, 1.0f);
    gb_mnist_dnet_backward(&x->d, dev, B, x->dlogits, NULL);
    logits = gb_mnist_dnet_forward(&x->d, dev, B, fake);
    gb_bce_with_logits(dev, x->loss + 1, x->dlogits, logits, NULL, 0.0f, B, 1.0f);
    gb_mnist_dnet_backward(&x->d, dev, B, x->dlogits, NULL);
    gb_params_adam_step(&x->d.params, dev, &mnist_hp, step);
    gb_params_zero_grad(&x->g.params, dev);
    logits = gb_mnist_dnet_forward(&x->d, dev, B, fake);
    gb_bce_with_logits(dev, x->loss + 2, x->dlogits, logits, NULL, 1.0f, B, 1.0f);
    gb_mnist_dnet_backward(&x->d, dev, B, x->dlogits, x->dimg);
    gb_mnist_gnet_backward(&x->g, dev, B, x->dimg);
    gb_params_adam_step(&x->g.params, dev, &mnist_hp, step);
    float l[3];
    gb_download(dev, l, x->loss, sizeof l);
}

static void mnist_teardown(gb_bench_case *c, gb_device *dev) {
    mnist_ctx *x = c->ctx;
    float *bufs[] = {x->x, x->z, x->loss, x->dlogits, x->dimg};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) gb_dev_free(dev, bufs[i]);
    gb_mnist_dnet_destroy(&x->d, dev);
    gb_mnist_gnet_destroy(&x->g, dev);
    free(x);
    c->ctx = NULL;
}

static gb_status mnist_pytorch(gb_bench_case *c, int threads, int quick, double *samples, size_t *n, size_t cap,
                               char *note, size_t note_cap) {
    (void)c;
    char args[128], version[64];
    snprintf(args, sizeof args, "%d %d %d %d", MNIST_BATCH, threads, quick ? 1 : 5, quick ? 3 : 30);
    GB_TRY(gb_bench_run_peer("mnist_gan_step.py", args, samples, n, cap, version, sizeof version));
    snprintf(note, note_cap, "torch %s", version);
    return GB_OK;
}

static gb_bench_case *add_row(gb_bench_list *list, const char *kernel, const char *direction, const char *impl,
                              const char *shape) {
    gb_bench_case *c = gb_bench_list_add(list);
    snprintf(c->kernel, sizeof c->kernel, "%s", kernel);
    snprintf(c->direction, sizeof c->direction, "%s", direction);
    snprintf(c->impl, sizeof c->impl, "%s", impl);
    snprintf(c->shape, sizeof c->shape, "%s", shape);
    return c;
}

void gb_bench_add_step_cases(gb_bench_list *list, int quick) {
    const char *shape = "toy2d-langevin 1291x(3->8x128->2) adam";
    gb_bench_case *c = add_row(list, "toy2d_step", "step", "ours-cpu", shape);
    c->setup = toy_setup;
    c->run = toy_run;
    c->teardown = toy_teardown;
    c = add_row(list, "toy2d_step", "step", "pytorch", shape);
    c->external = toy_pytorch;
    if (quick) return; /* the toy row proves the peer protocol; the GAN rows take seconds each */

    static const char *const kernels[] = {"cmu_gan_G", "cmu_gan_D", "wgan_gp_D", "wgan_gp_G"};
    static const char *const dirs[] = {"fwd+bwd", "fwd+bwd", "step", "step"};
    static const char *const shapes[] = {"b64 z128 -> 3x32x32, BN train", "b64 3x32x32 -> 1",
                                         "b64 critic: D(real), D(fake), exact GP, adam", "b64 generator: -D(G(z)), adam"};
    for (int row = ROW_G_FWDBWD; row <= ROW_GEN_STEP; row++) {
        /* one static state per row kind, shared by ours (setup fills it, teardown empties it)
         * and the peer row (reads .row): rows --filter leaves out are never torn down */
        static gan_ctx gan_rows[4], fast_rows[4];
        gan_rows[row] = (gan_ctx){.row = row};
        fast_rows[row] = (gan_ctx){.row = row, .fast = 1};
        c = add_row(list, kernels[row], dirs[row], "ours-cpu", shapes[row]);
        c->ctx = &gan_rows[row];
        c->setup = gan_setup;
        c->run = gan_run;
        c->teardown = gan_teardown;
        c = add_row(list, kernels[row], dirs[row], "ours-fast", shapes[row]);
        c->where = GB_BENCH_CPU_ONLY; /* --conv fast is a CPU switch: on a GPU it repeats ours */
        c->ctx = &fast_rows[row];
        c->setup = gan_setup;
        c->run = gan_run;
        c->teardown = gan_teardown;
        c = add_row(list, kernels[row], dirs[row], "pytorch", shapes[row]);
        c->ctx = &gan_rows[row];
        c->external = gan_pytorch;
    }
    const char *mshape = "b256 D step (BCE) + G step, adam";
    c = add_row(list, "mnist_gan", "step", "ours-cpu", mshape);
    c->setup = mnist_setup;
    c->run = mnist_run;
    c->teardown = mnist_teardown;
    c = add_row(list, "mnist_gan", "step", "pytorch", mshape);
    c->external = mnist_pytorch;
}
