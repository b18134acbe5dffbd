/* pipelines/gan_trainers.h - one training iteration of each GAN pipeline, on caller-given data and
 * noise, so the pipelines (mnist_gan.c, cub32_gan.c) and the step-parity tests against PyTorch
 * (tests/test_gan_step.c, tests/peers/gan_step_ref.py) run the very same code.
 *
 * mnist-gan (specs/pipelines.md 5.5): Adam lr 2e-4, betas (0.9, 0.999), eps 1e-8 for both nets.
 *   One iteration = one D step then one G step on the same z (drawn once per batch):
 *   D loss = BCEWithLogits(D(x), 1) + BCEWithLogits(D(G(z)), 0), the SUM of the two batch means
 *            (the literal sum of two default-reduction criterion calls; the spec leaves sum vs
 *            mean open, genbench chooses the sum);
 *   G loss = BCEWithLogits(D(G(z)), 1) (non-saturating), through the just-updated D.
 *
 * cub32-gan / cub32-lsgan / cub32-wgan-gp (4.3): Adam betas (0, 0.9), eps 1e-8; one iteration =
 *   one critic step on (real, G(z_d)); when iter % n_critic == 0 also one generator step on a
 *   fresh z_g. The learning rates follow the linear decay of 4.3 when decay_d / decay_g are
 *   non-zero: lr_D(t) = base (1 - t / decay_d) with t the critic steps already taken,
 *   lr_G(t) = base (1 - t / decay_g) with t the generator steps already taken (LambdaLR).
 *   Losses (D outputs are raw logits):
 *     gan:     D = BCE(D(x), 1) + BCE(D(G(z)), 0) (sum of the batch means, Goodfellow's Algorithm 1
 *              objective), G = BCE(D(G(z)), 1) (non-saturating, as most solutions of the ambiguous
 *              handout: the result says so);
 *     lsgan:   D = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2], G = 1/2 E[(D(G(z)) - 1)^2];
 *     wgan-gp: D = E[D(G(z))] - E[D(x)] + lambda E[(||grad D(x^)||_2 - 1)^2] at
 *              x^ = eps G(z) + (1 - eps) x, eps ~ U(0, 1) per sample, lambda 10, the exact
 *              penalty gradient (models/dcgan_resnet_gp.c); G = -E[D(G(z))].
 *   BatchNorm is in training mode always (the generator is never put in eval mode).
 * Each iteration writes out[GAN_N_LOSSES] = {loss_d, loss_g (NaN when G did not step), mean D(x),
 * mean D(G(z)) of the critic step, lambda GP (0 unless wgan-gp)}.
 */
#ifndef GB_GAN_TRAINERS_H
#define GB_GAN_TRAINERS_H

#include "../models/dcgan_resnet.h"
#include "../models/mnist_gan.h"

/* ---- mnist-gan ---------------------------------------------------------------------------- */

typedef struct {
    gb_mnist_dnet d;
    gb_mnist_gnet g;
    gb_adam_hparams hp;
    size_t max_batch;
    float *loss;        /* [3 + 2 max_batch] device: BCE real, BCE fake, G loss, then logits_kept;
                         * read back in one download once the iteration is done (no host round
                         * trip inside it) */
    float *logits_kept; /* = loss + 3: D(x) and D(G(z)) of the D step, copied aside */
    float *dlogits;     /* [max_batch] */
    float *dimg;        /* [max_batch, 784] */
    float *host_readback; /* [3 + 2 max_batch] */
} gb_mnist_gan_trainer;

/* Networks for batches up to max_batch (at least 100 for the interpolation grid). */
void gb_mnist_gan_trainer_create(gb_mnist_gan_trainer *t, gb_device *dev, size_t max_batch);
/* Kaiming-uniform weights, zero biases from the "init/..." streams of seed; Adam state 0. */
void gb_mnist_gan_trainer_init(gb_mnist_gan_trainer *t, gb_device *dev, uint64_t seed);
/* Iteration iter (0-based; Adam step iter + 1) on x [batch, 1, 28, 28] and z [batch, 64], both
 * device memory. */
void gb_mnist_gan_iteration(gb_mnist_gan_trainer *t, gb_device *dev, uint64_t iter, const float *x,
                            const float *z, size_t batch, float *out);
void gb_mnist_gan_trainer_destroy(gb_mnist_gan_trainer *t, gb_device *dev);

/* ---- cub32 GANs --------------------------------------------------------------------------- */

typedef enum { GB_GAN_LOSS_GAN, GB_GAN_LOSS_LSGAN, GB_GAN_LOSS_WGAN_GP } gb_gan_loss;

const char *gb_gan_loss_name(gb_gan_loss l); /* "gan", "lsgan", "wgan-gp" */

typedef struct {
    gb_gan_loss loss;
    float lr, beta1, beta2, eps, lambda;
    int n_critic;
    long decay_d, decay_g;  /* linear-decay horizons in steps; 0 = constant lr */
} gb_cub32_gan_hparams;

/* The 4.3 hyperparameters: lr 2e-4, betas (0, 0.9), Adam eps 1e-8 (PyTorch's default), lambda 10,
 * n_critic 5, decay 500000 / 100000. */
gb_cub32_gan_hparams gb_cub32_gan_hparams_paper(gb_gan_loss loss);

typedef struct {
    gb_dcgan_generator g;
    gb_dcgan_critic d;
    gb_cub32_gan_hparams hp;
    int max_batch;
    long d_steps, g_steps;  /* optimizer steps taken so far (set from iter by each iteration) */
    float *losses;          /* [4 + 2 max_batch] device: the step's losses (and, for wgan-gp, mean
                             * critic outputs), then logits_kept; read back in one download once
                             * the step is done (no host round trip inside it) */
    float *logits_kept;     /* = losses + 4: the critic's outputs on real and fake, copied aside */
    float *dlogits;         /* [max_batch] */
    float *dimg;            /* [max_batch, 3072] */
    float *host_readback;   /* [4 + 2 max_batch] */
} gb_cub32_gan_trainer;

void gb_cub32_gan_trainer_create(gb_cub32_gan_trainer *t, gb_device *dev, int max_batch,
                                 const gb_cub32_gan_hparams *hp);
/* PyTorch default init from the "init/..." streams of seed (G and D get distinct names). */
void gb_cub32_gan_trainer_init(gb_cub32_gan_trainer *t, gb_device *dev, uint64_t seed);
/* The learning rates the next critic / generator step will use. */
double gb_cub32_gan_lr_d(const gb_cub32_gan_trainer *t, long d_steps);
double gb_cub32_gan_lr_g(const gb_cub32_gan_trainer *t, long g_steps);
/* Iteration iter: real [batch, 3, 32, 32], z_d [batch, 128], z_g [batch, 128] (device), eps [batch]
 * (host, used by wgan-gp only). The step counts (Adam's bias correction, the decay) follow from
 * iter alone: iter critic steps and ceil(iter / n_critic) generator steps came before, so a
 * resumed run needs nothing else. */
void gb_cub32_gan_iteration(gb_cub32_gan_trainer *t, gb_device *dev, uint64_t iter, const float *real,
                            const float *z_d, const float *z_g, const float *eps, int batch, float *out,
                            int *g_stepped);
void gb_cub32_gan_trainer_destroy(gb_cub32_gan_trainer *t, gb_device *dev);

#endif
