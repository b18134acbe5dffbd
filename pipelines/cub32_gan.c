/* pipelines/cub32_gan.c - cub32-gan, cub32-lsgan, cub32-wgan-gp: the CMU 16-824 F22 ResNet GAN
 * (specs/pipelines.md 4.1-4.4) on the 32x32 CUB set, or on the shapes32 stand-in when CUB is
 * absent. The iteration is in gan_trainers.h; the loop, evaluation and files are gan_common.h's.
 *
 * Data in [-1, 1] ((x / 255 - 0.5) * 2), batches in a per-epoch permutation with the last partial
 * batch kept (the course's DataLoader has no drop_last); the critic step's fake batch has the
 * real batch's size. Noise per iteration: z_d from "train/z_d", z_g from "train/z_g" (N(0, I),
 * row iter * batch + r), eps from "train/eps" (U(0, 1), row iter * batch + r). G and D are
 * initialised from distinct seeds gb_stream_key64(seed, "G" / "D") (both tables have "dense.*").
 *
 * Scales: paper is 4.3 exactly (batch 256, 30,000 critic steps, n_critic 5, the linear decay);
 * smoke and small keep every hyperparameter but the batch (4 and 16), the number of
 * iterations and the image count, and drop the decay (its horizon of 500K / 100K steps would
 * move the rate by under 1% there). Tested by tests/test_gan_pipelines.c and tests/test_gan_step.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/philox.h"
#include "../kernels/lr_schedule.h"
#include "gan_common.h"
#include "gan_trainers.h"

/* ---- the iteration ------------------------------------------------------------------------- */

const char *gb_gan_loss_name(gb_gan_loss l) {
    static const char *names[] = {"gan", "lsgan", "wgan-gp"};
    return names[l];
}

gb_cub32_gan_hparams gb_cub32_gan_hparams_paper(gb_gan_loss loss) {
    return (gb_cub32_gan_hparams){.loss = loss, .lr = 2e-4f, .beta1 = 0.0f, .beta2 = 0.9f, .eps = 1e-8f, .lambda = 10.0f,
                                  .n_critic = 5, .decay_d = 500000, .decay_g = 100000};
}

void gb_cub32_gan_trainer_create(gb_cub32_gan_trainer *t, gb_device *dev, int max_batch,
                                 const gb_cub32_gan_hparams *hp) {
    GB_ASSERT(hp->n_critic >= 1, "n_critic %d", hp->n_critic);
    *t = (gb_cub32_gan_trainer){.hp = *hp, .max_batch = max_batch};
    gb_dcgan_generator_create(&t->g, dev, max_batch);
    gb_dcgan_critic_create(&t->d, dev, max_batch);
    t->losses = gb_dev_alloc(dev, (4 + 2 * (size_t)max_batch) * sizeof(float));
    t->logits_kept = t->losses + 4;
    t->dlogits = gb_dev_alloc(dev, (size_t)max_batch * sizeof(float));
    t->dimg = gb_dev_alloc(dev, (size_t)max_batch * GB_DCGAN_IMAGE_FLOATS * sizeof(float));
    t->host_readback = malloc((4 + 2 * (size_t)max_batch) * sizeof(float));
    GB_ASSERT(t->host_readback, "out of host memory");
}

void gb_cub32_gan_trainer_init(gb_cub32_gan_trainer *t, gb_device *dev, uint64_t seed) {
    gb_dcgan_generator_init(&t->g, dev, gb_stream_key64(seed, "G"));
    gb_dcgan_critic_init(&t->d, dev, gb_stream_key64(seed, "D"));
}

void gb_cub32_gan_trainer_destroy(gb_cub32_gan_trainer *t, gb_device *dev) {
    gb_dev_free(dev, t->losses);
    gb_dev_free(dev, t->dlogits);
    gb_dev_free(dev, t->dimg);
    free(t->host_readback);
    gb_dcgan_generator_destroy(&t->g, dev);
    gb_dcgan_critic_destroy(&t->d, dev);
}

static double scheduled(float base, long horizon, long steps) {
    return horizon ? gb_lr_linear_decay(base, steps, horizon) : (double)base;
}

double gb_cub32_gan_lr_d(const gb_cub32_gan_trainer *t, long d_steps) {
    return scheduled(t->hp.lr, t->hp.decay_d, d_steps);
}

double gb_cub32_gan_lr_g(const gb_cub32_gan_trainer *t, long g_steps) {
    return scheduled(t->hp.lr, t->hp.decay_g, g_steps);
}

/* The critic loss on (real, fake) with its parameter gradients, on the device: t->losses gets
 * [loss, mean D(x), mean D(G(z)), penalty] for wgan-gp, [loss on real, loss on fake] otherwise,
 * with the critic's outputs copied aside for their means (read_critic_losses reads either after
 * the step). */
static void critic_loss(gb_cub32_gan_trainer *t, gb_device *dev, const float *real, const float *fake,
                        const float *eps, int batch) {
    size_t B = (size_t)batch;
    gb_dcgan_critic *d = &t->d;
    if (t->hp.loss == GB_GAN_LOSS_WGAN_GP) {
        gb_dcgan_critic_wgan_gp_eps(d, dev, batch, real, fake, eps, t->hp.lambda, t->losses);
        return;
    }
    const float *inputs[2] = {real, fake};
    for (int k = 0; k < 2; k++) {
        const float *logits = gb_dcgan_critic_forward(d, dev, batch, inputs[k]);
        gb_dev_copy(dev, t->logits_kept + (size_t)k * B, logits, B * sizeof(float)); /* averaged after the step */
        float target = k == 0 ? 1.0f : 0.0f;
        if (t->hp.loss == GB_GAN_LOSS_GAN)
            gb_bce_with_logits(dev, t->losses + k, t->dlogits, logits, NULL, target, B, 1.0f);
        else
            gb_sq_error(dev, t->losses + k, t->dlogits, logits, NULL, target, B, 2.0 * (double)B);
        gb_dcgan_critic_backward(d, dev, t->dlogits, NULL, 1);
    }
}

/* The critic step's values, in one download once the step is done. */
static void read_critic_losses(gb_cub32_gan_trainer *t, gb_device *dev, int batch, float *out) {
    const int wgan = t->hp.loss == GB_GAN_LOSS_WGAN_GP;
    const float *l = t->host_readback;
    gb_download(dev, t->host_readback, t->losses, (4 + (wgan ? 0 : 2 * (size_t)batch)) * sizeof(float));
    if (wgan) {
        out[GAN_LOSS_D] = l[0], out[GAN_D_REAL] = l[1], out[GAN_D_FAKE] = l[2], out[GAN_GP] = l[3];
        return;
    }
    out[GAN_LOSS_D] = l[0] + l[1];
    out[GAN_D_REAL] = gan_mean(l + 4, batch);
    out[GAN_D_FAKE] = gan_mean(l + 4 + batch, batch);
    out[GAN_GP] = 0;
}

/* The generator loss through the critic (no critic parameter gradients) into t->losses[0], and
 * the image gradient into t->dimg. */
static void generator_loss(gb_cub32_gan_trainer *t, gb_device *dev, const float *fake, int batch) {
    size_t B = (size_t)batch;
    const float *logits = gb_dcgan_critic_forward(&t->d, dev, batch, fake);
    switch (t->hp.loss) {
    case GB_GAN_LOSS_GAN: gb_bce_with_logits(dev, t->losses, t->dlogits, logits, NULL, 1.0f, B, 1.0f); break;
    case GB_GAN_LOSS_LSGAN: gb_sq_error(dev, t->losses, t->dlogits, logits, NULL, 1.0f, B, 2.0 * (double)B); break;
    default: /* -E[D(G(z))] */
        gb_sum_forward(dev, t->losses, logits, B, -1.0f / (float)batch);
        gb_fill(dev, t->dlogits, -1.0f / (float)batch, B);
        break;
    }
    gb_dcgan_critic_backward(&t->d, dev, t->dlogits, t->dimg, 0);
}

static gb_adam_hparams adam(const gb_cub32_gan_trainer *t, double lr) {
    return (gb_adam_hparams){.lr = (float)lr, .beta1 = t->hp.beta1, .beta2 = t->hp.beta2, .eps = t->hp.eps};
}

void gb_cub32_gan_iteration(gb_cub32_gan_trainer *t, gb_device *dev, uint64_t iter, const float *real,
                            const float *z_d, const float *z_g, const float *eps, int batch, float *out,
                            int *g_stepped) {
    GB_ASSERT(batch >= 2 && batch <= t->max_batch, "cub32 gan: batch %d outside [2, %d]", batch, t->max_batch);
    const long n_critic = t->hp.n_critic;
    t->d_steps = (long)iter;
    t->g_steps = ((long)iter + n_critic - 1) / n_critic;
    /* critic step; G(z_d) is data here (BN in training mode: its running statistics move) */
    gb_params_zero_grad(&t->d.params, dev);
    const float *fake = gb_dcgan_generator_forward(&t->g, dev, batch, z_d);
    critic_loss(t, dev, real, fake, eps, batch);
    gb_adam_hparams hd = adam(t, gb_cub32_gan_lr_d(t, t->d_steps));
    gb_params_adam_step(&t->d.params, dev, &hd, t->d_steps + 1);
    t->d_steps++;
    read_critic_losses(t, dev, batch, out); /* the step's waits for the device: after it */
    *g_stepped = (long)(iter % (uint64_t)n_critic) == 0;
    out[GAN_LOSS_G] = NAN;
    if (!*g_stepped) return;
    gb_params_zero_grad(&t->g.params, dev);
    fake = gb_dcgan_generator_forward(&t->g, dev, batch, z_g);
    generator_loss(t, dev, fake, batch);
    gb_dcgan_generator_backward(&t->g, dev, t->dimg, NULL);
    gb_adam_hparams hg = adam(t, gb_cub32_gan_lr_g(t, t->g_steps));
    gb_params_adam_step(&t->g.params, dev, &hg, t->g_steps + 1);
    t->g_steps++;
    gb_download(dev, &out[GAN_LOSS_G], t->losses, sizeof(float)); /* after the step, as the critic's */
}

/* ---- the pipelines -------------------------------------------------------------------------- */

static const gan_schedule schedules[] = {
    [GB_SCALE_SMOKE] = {.iters = 10, .batch = 4, .drop_last = 0, .n_train = 500, .log_every = 5,
                        .ckpt_every = 5, .eval_every = 5, .n_eval_track = 16, .n_eval_final = 32,
                        .grid = 16, .fid_ref = GAN_FID_OFF},
    [GB_SCALE_SMALL] = {.iters = 200, .batch = 16, .drop_last = 0, .n_train = 2000, .log_every = 10,
                        .ckpt_every = 50, .eval_every = 50, .n_eval_track = 128, .n_eval_final = 256,
                        .grid = 64, .fid_ref = 4096},
    [GB_SCALE_PAPER] = {.iters = 30000, .batch = 256, .drop_last = 0, .n_train = 0, .log_every = 100,
                        .ckpt_every = 1000, .eval_every = 1000, .n_eval_track = 10000, .n_eval_final = 50000,
                        .grid = 64, .fid_ref = 0},
};

typedef struct {
    gb_cub32_gan_trainer t;
    float *z_host, *zd_dev, *zg_dev, *eps_host;
    size_t batch;
} cub32_pipe;

static void iterate(void *self, gan_run *r, uint64_t iter, const float *real, size_t batch, float *out,
                    int *g_stepped) {
    cub32_pipe *p = self;
    gb_device *dev = r->ctx->dev;
    size_t bytes = batch * GB_DCGAN_Z_DIM * sizeof(float);
    uint64_t row = iter * p->batch;
    gan_latents(p->z_host, r->seed, "train/z_d", GAN_Z_NORMAL, GB_DCGAN_Z_DIM, row, batch);
    gb_upload(dev, p->zd_dev, p->z_host, bytes);
    gan_latents(p->z_host, r->seed, "train/z_g", GAN_Z_NORMAL, GB_DCGAN_Z_DIM, row, batch);
    gb_upload(dev, p->zg_dev, p->z_host, bytes);
    gan_uniforms(p->eps_host, r->seed, "train/eps", row, batch);
    gb_cub32_gan_iteration(&p->t, dev, iter, real, p->zd_dev, p->zg_dev, p->eps_host, (int)batch, out, g_stepped);
}

static const float *generate(void *self, gb_device *dev, const float *z, size_t n) {
    cub32_pipe *p = self;
    return gb_dcgan_generator_forward(&p->t.g, dev, (int)n, z);
}

static void lrs(void *self, uint64_t iter, double *lr_d, double *lr_g) {
    cub32_pipe *p = self;
    long n_critic = p->t.hp.n_critic;
    *lr_d = gb_cub32_gan_lr_d(&p->t, (long)iter);
    *lr_g = gb_cub32_gan_lr_g(&p->t, ((long)iter + n_critic - 1) / n_critic);
}

static gb_status cub32_run(gb_run_context *ctx, gb_gan_loss loss, const char *name) {
    const gan_schedule *sc = &schedules[ctx->opt->scale];
    gan_run r = {.sched = sc};
    gb_status s = gan_load_cub32(&r, ctx);
    if (s == GB_OK && r.n % sc->batch == 1)
        s = gb_fail(GB_INPUT, "%s: %zu images leave a last batch of 1, which BatchNorm cannot normalise; "
                    "use another image count", name, r.n);
    if (s != GB_OK) {
        gan_run_free(&r);
        return s;
    }
    gb_cub32_gan_hparams hp = gb_cub32_gan_hparams_paper(loss);
    if (ctx->opt->scale != GB_SCALE_PAPER) hp.decay_d = hp.decay_g = 0;
    r.gen_max = sc->batch > 100 ? sc->batch : 100;
    gb_manifest_set(ctx->manifest, "config",
                    "loss=%s iters=%zu batch=%zu images=%zu adam lr=%g betas=(%g,%g) n_critic=%d lambda=%g "
                    "lr_decay=%s z~N(0,I) 128-d; BN in training mode; G loss %s",
                    gb_gan_loss_name(loss), sc->iters, sc->batch, r.n, hp.lr, hp.beta1, hp.beta2, hp.n_critic,
                    hp.lambda, hp.decay_d ? "linear (D over 500000 steps, G over 100000)" : "none",
                    loss == GB_GAN_LOSS_GAN ? "non-saturating BCE(D(G(z)),1)"
                    : loss == GB_GAN_LOSS_LSGAN ? "1/2 E[(D(G(z))-1)^2]" : "-E[D(G(z))]");
    cub32_pipe p = {.batch = sc->batch};
    gb_cub32_gan_trainer_create(&p.t, ctx->dev, (int)r.gen_max, &hp);
    gb_cub32_gan_trainer_init(&p.t, ctx->dev, ctx->opt->seed);
    p.z_host = malloc(sc->batch * GB_DCGAN_Z_DIM * sizeof(float));
    p.eps_host = malloc(sc->batch * sizeof(float));
    GB_ASSERT(p.z_host && p.eps_host, "out of host memory");
    p.zd_dev = gb_dev_alloc(ctx->dev, sc->batch * GB_DCGAN_Z_DIM * sizeof(float));
    p.zg_dev = gb_dev_alloc(ctx->dev, sc->batch * GB_DCGAN_Z_DIM * sizeof(float));
    gan_model m = {.name = name, .zdim = GB_DCGAN_Z_DIM, .z_kind = GAN_Z_NORMAL, .lo = -1.0f, .hi = 1.0f,
                   .has_gp = loss == GB_GAN_LOSS_WGAN_GP, .fid_protocol = GB_FID_CLEAN,
                   .blocks = {{"G", &p.t.g.params, 1}, {"D", &p.t.d.params, 1}, {"G_buffers", &p.t.g.buffers, 0}},
                   .n_blocks = 3, .self = &p, .iterate = iterate, .generate = generate, .lrs = lrs};
    s = gan_run_all(&r, &m);
    gb_dev_free(ctx->dev, p.zd_dev);
    gb_dev_free(ctx->dev, p.zg_dev);
    free(p.eps_host);
    free(p.z_host);
    gb_cub32_gan_trainer_destroy(&p.t, ctx->dev);
    gan_run_free(&r);
    return s;
}

gb_status gb_cub32_gan_run(gb_run_context *ctx) { return cub32_run(ctx, GB_GAN_LOSS_GAN, "cub32-gan"); }
gb_status gb_cub32_lsgan_run(gb_run_context *ctx) { return cub32_run(ctx, GB_GAN_LOSS_LSGAN, "cub32-lsgan"); }
gb_status gb_cub32_wgan_gp_run(gb_run_context *ctx) { return cub32_run(ctx, GB_GAN_LOSS_WGAN_GP, "cub32-wgan-gp"); }
