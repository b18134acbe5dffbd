/* pipelines/mnist_gan.c - mnist-gan: the CS446 HW5 GAN (specs/pipelines.md 5.5) on MNIST, or on
 * the glyphs28 stand-in when MNIST is absent. The iteration itself is in gan_trainers.h; the
 * loop, evaluation and result files are gan_common.h's.
 *
 * Data in [0, 1] (x / 255, the starter's Normalize((0,), (255,))), batch 256 with drop_last,
 * z = 2 U(0, 1) - 1 (64-d) drawn once per batch from "train/z" (row iter * batch + r) and used
 * by both steps. D and G are initialised from distinct seeds (the tables share tensor names:
 * "init/fc.weight" would otherwise give both the same stream): gb_stream_key64(seed, "G"/"D").
 * Tested by tests/test_gan_pipelines.c (determinism, resume, divergence) and
 * tests/test_gan_step.c (5 iterations against PyTorch).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/philox.h"
#include "gan_common.h"
#include "gan_trainers.h"

/* ---- the iteration ------------------------------------------------------------------------- */

void gb_mnist_gan_trainer_create(gb_mnist_gan_trainer *t, gb_device *dev, size_t max_batch) {
    *t = (gb_mnist_gan_trainer){.max_batch = max_batch,
                                .hp = {.lr = 2e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f}};
    gb_mnist_dnet_create(&t->d, dev, max_batch);
    gb_mnist_gnet_create(&t->g, dev, max_batch);
    t->loss = gb_dev_alloc(dev, (3 + 2 * max_batch) * sizeof(float));
    t->logits_kept = t->loss + 3;
    t->dlogits = gb_dev_alloc(dev, max_batch * sizeof(float));
    t->dimg = gb_dev_alloc(dev, max_batch * GB_MNIST_GAN_PIXELS * sizeof(float));
    t->host_readback = malloc((3 + 2 * max_batch) * sizeof(float));
    GB_ASSERT(t->host_readback, "out of host memory");
}

void gb_mnist_gan_trainer_init(gb_mnist_gan_trainer *t, gb_device *dev, uint64_t seed) {
    gb_params_init(&t->d.params, dev, gb_stream_key64(seed, "D"));
    gb_params_init(&t->g.params, dev, gb_stream_key64(seed, "G"));
}

void gb_mnist_gan_trainer_destroy(gb_mnist_gan_trainer *t, gb_device *dev) {
    gb_dev_free(dev, t->loss);
    gb_dev_free(dev, t->dlogits);
    gb_dev_free(dev, t->dimg);
    free(t->host_readback);
    gb_mnist_dnet_destroy(&t->d, dev);
    gb_mnist_gnet_destroy(&t->g, dev);
}

void gb_mnist_gan_iteration(gb_mnist_gan_trainer *t, gb_device *dev, uint64_t iter, const float *x,
                            const float *z, size_t batch, float *out) {
    GB_ASSERT(batch <= t->max_batch, "mnist-gan: batch %zu > %zu", batch, t->max_batch);
    const long step = (long)iter + 1;
    /* D step: G(z) is data here (no G gradient); BCE(D(x), 1) + BCE(D(G(z)), 0) */
    gb_params_zero_grad(&t->d.params, dev);
    const float *fake = gb_mnist_gnet_forward(&t->g, dev, batch, z);
    float *logits = gb_mnist_dnet_forward(&t->d, dev, batch, x);
    gb_dev_copy(dev, t->logits_kept, logits, batch * sizeof(float)); /* averaged after the iteration */
    gb_bce_with_logits(dev, t->loss, t->dlogits, logits, NULL, 1.0f, batch, 1.0f);
    gb_mnist_dnet_backward(&t->d, dev, batch, t->dlogits, NULL);
    logits = gb_mnist_dnet_forward(&t->d, dev, batch, fake);
    gb_dev_copy(dev, t->logits_kept + batch, logits, batch * sizeof(float));
    gb_bce_with_logits(dev, t->loss + 1, t->dlogits, logits, NULL, 0.0f, batch, 1.0f);
    gb_mnist_dnet_backward(&t->d, dev, batch, t->dlogits, NULL);
    gb_params_adam_step(&t->d.params, dev, &t->hp, step);
    /* G step on the same z: G's parameters have not moved, so G's arena still holds G(z) and its
     * activations; only D changed. D's parameter gradients collected here are discarded by the
     * next D step's zero_grad. */
    gb_params_zero_grad(&t->g.params, dev);
    logits = gb_mnist_dnet_forward(&t->d, dev, batch, fake);
    gb_bce_with_logits(dev, t->loss + 2, t->dlogits, logits, NULL, 1.0f, batch, 1.0f);
    gb_mnist_dnet_backward(&t->d, dev, batch, t->dlogits, t->dimg);
    gb_mnist_gnet_backward(&t->g, dev, batch, t->dimg);
    gb_params_adam_step(&t->g.params, dev, &t->hp, step);
    const float *l = t->host_readback;
    gb_download(dev, t->host_readback, t->loss, (3 + 2 * batch) * sizeof(float));
    out[GAN_LOSS_D] = l[0] + l[1];
    out[GAN_LOSS_G] = l[2];
    out[GAN_D_REAL] = gan_mean(l + 3, batch);
    out[GAN_D_FAKE] = gan_mean(l + 3 + batch, batch);
    out[GAN_GP] = 0;
}

/* ---- the pipeline --------------------------------------------------------------------------- */

/* smoke: seconds (the wiring, determinism); small: a few minutes on 2 cores, glyphs clearly
 * forming; paper: the starter's 100 epochs of 234 batches of 256. */
static const gan_schedule schedules[] = {
    [GB_SCALE_SMOKE] = {.iters = 40, .batch = 64, .drop_last = 1, .n_train = 2048, .log_every = 5,
                        .ckpt_every = 20, .eval_every = 20, .n_eval_track = 256, .n_eval_final = 512,
                        .grid = 64, .fid_ref = GAN_FID_OFF},
    [GB_SCALE_SMALL] = {.iters = 1600, .batch = 256, .drop_last = 1, .n_train = 20480, .log_every = 20,
                        .ckpt_every = 200, .eval_every = 200, .n_eval_track = 1024, .n_eval_final = 4096,
                        .grid = 64, .fid_ref = 4096},
    [GB_SCALE_PAPER] = {.iters = 23400, .batch = 256, .drop_last = 1, .n_train = 0, .log_every = 234,
                        .ckpt_every = 2340, .eval_every = 2340, .n_eval_track = 2048, .n_eval_final = 10000,
                        .grid = 64, .fid_ref = 0},
};

typedef struct {
    gb_mnist_gan_trainer t;
    float *z_host, *z_dev;
    size_t batch;
} mnist_gan_pipe;

static void iterate(void *self, gan_run *r, uint64_t iter, const float *real, size_t batch, float *out,
                    int *g_stepped) {
    mnist_gan_pipe *p = self;
    gan_latents(p->z_host, r->seed, "train/z", GAN_Z_UNIFORM_PM1, GB_MNIST_GAN_ZDIM, iter * p->batch, batch);
    gb_upload(r->ctx->dev, p->z_dev, p->z_host, batch * GB_MNIST_GAN_ZDIM * sizeof(float));
    gb_mnist_gan_iteration(&p->t, r->ctx->dev, iter, real, p->z_dev, batch, out);
    *g_stepped = 1;
}

static const float *generate(void *self, gb_device *dev, const float *z, size_t n) {
    mnist_gan_pipe *p = self;
    return gb_mnist_gnet_forward(&p->t.g, dev, n, z);
}

static void lrs(void *self, uint64_t iter, double *lr_d, double *lr_g) {
    (void)iter;
    mnist_gan_pipe *p = self;
    *lr_d = *lr_g = p->t.hp.lr;
}

gb_status gb_mnist_gan_run(gb_run_context *ctx) {
    const gan_schedule *sc = &schedules[ctx->opt->scale];
    gan_run r = {.sched = sc};
    gb_status s = gan_load_mnist(&r, ctx);
    if (s != GB_OK) {
        gan_run_free(&r);
        return s;
    }
    r.gen_max = sc->batch > 100 ? sc->batch : 100;
    gb_manifest_set(ctx->manifest, "config",
                    "iters=%zu batch=%zu drop_last=1 images=%zu adam lr=2e-4 betas=(0.9,0.999) z=2U-1 (64-d, once per "
                    "batch) d_loss=sum of the two BCE batch means g_loss=non-saturating BCE",
                    sc->iters, sc->batch, r.n);
    mnist_gan_pipe p = {.batch = sc->batch};
    gb_mnist_gan_trainer_create(&p.t, ctx->dev, r.gen_max);
    gb_mnist_gan_trainer_init(&p.t, ctx->dev, ctx->opt->seed);
    p.z_host = malloc(sc->batch * GB_MNIST_GAN_ZDIM * sizeof(float));
    GB_ASSERT(p.z_host, "out of host memory");
    p.z_dev = gb_dev_alloc(ctx->dev, sc->batch * GB_MNIST_GAN_ZDIM * sizeof(float));
    gan_model m = {.name = "mnist-gan", .zdim = GB_MNIST_GAN_ZDIM, .z_kind = GAN_Z_UNIFORM_PM1, .lo = 0.0f,
                   .hi = 1.0f, .has_gp = 0, .fid_protocol = GB_FID_PYTORCH_FID,
                   .blocks = {{"G", &p.t.g.params, 1}, {"D", &p.t.d.params, 1}}, .n_blocks = 2, .self = &p, .iterate = iterate, .generate = generate, .lrs = lrs};
    s = gan_run_all(&r, &m);
    gb_dev_free(ctx->dev, p.z_dev);
    free(p.z_host);
    gb_mnist_gan_trainer_destroy(&p.t, ctx->dev);
    gan_run_free(&r);
    return s;
}
