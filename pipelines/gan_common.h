/* pipelines/gan_common.h - what every GAN pipeline shares: the image data (real or stand-in),
 * the batch order, the latent draws, the training loop with checkpoints, resume, divergence
 * handling and test hooks, the evaluation (spectral distance always; FID through gan_fid.h when
 * the Inception weights are present), and the result files (train.csv, sample and
 * interpolation grids, metric and loss plots, metrics).
 *
 * A pipeline (pipelines/mnist_gan.c, pipelines/cub32_gan.c) supplies a gan_model: its two
 * networks' blocks for the checkpoint, one training iteration, and a generator forward. The
 * loop calls iterate(iteration) with the real batch already on the device; the model draws its
 * own noise from the stateless helpers below, so iteration i's numbers depend only on
 * (seed, i) and a resumed run needs nothing but the iteration count.
 *
 * Randomness (DESIGN.md section 3), every draw addressed by (stream, index):
 *   "data/order/<epoch>"   the Fisher-Yates permutation of the training images for that epoch
 *   "train/..."            the model's per-iteration noise (gan_uniform_pm1 / gan_normal)
 *   "eval/z"               the fixed latents of every sample grid and evaluation
 *   "eval/interp"          the base latent of the interpolation grid
 *
 * Test hooks: GB_TEST_KILL_AT_STEP=N sends SIGKILL when iteration N starts;
 * GB_TEST_POISON_AT_STEP=N writes a NaN into the real batch of iteration N, which makes the
 * losses non-finite: the run stops with GB_NUMERIC (exit 4) naming the iteration, the last
 * good checkpoint stays on disk, metrics.csv is not written and failure.txt says why.
 * Tested by tests/test_gan_pipelines.c.
 */
#ifndef GB_GAN_COMMON_H
#define GB_GAN_COMMON_H

#include <stdint.h>

#include "../core/checkpoint.h"
#include "../datasets/image_set.h"
#include "../metrics/fid_protocol.h"
#include "gan_checkpoint.h"
#include "pipeline.h"

/* Columns of one iteration's record (and of train.csv). */
enum { GAN_LOSS_D, GAN_LOSS_G, GAN_D_REAL, GAN_D_FAKE, GAN_GP, GAN_N_LOSSES };

typedef struct {
    size_t iters;          /* training iterations (one critic step each) */
    size_t batch;          /* images per critic step */
    int drop_last;         /* 1: epochs of floor(n / batch) batches; 0: the last one partial */
    size_t n_train;        /* training images used: 0 = the whole set */
    size_t log_every;      /* train.csv granularity (means over the window) */
    size_t ckpt_every;     /* multiple of log_every */
    size_t eval_every;     /* spectral distance during training; multiple of log_every */
    size_t n_eval_track;   /* samples per evaluation during training */
    size_t n_eval_final;   /* samples of the final evaluation */
    size_t grid;           /* samples in each sample grid (a square number) */
    size_t fid_ref;        /* training images behind the FID reference statistics: 0 = all,
                              GAN_FID_OFF = no FID at this scale (Inception on the CPU is minutes
                              per thousand images) */
} gan_schedule;

#define GAN_FID_OFF ((size_t)-1)

typedef enum { GAN_Z_UNIFORM_PM1, GAN_Z_NORMAL } gan_z_kind;

typedef struct gan_run gan_run;

typedef struct {
    const char *name;       /* pipeline id, for messages and the checkpoint config */
    size_t zdim;
    gan_z_kind z_kind;
    float lo, hi;           /* the model's pixel range: data are scaled to it, samples come in it */
    int has_gp;             /* 1: the GAN_GP column is a gradient penalty (metrics gp_final) */
    gb_fid_protocol fid_protocol; /* used when the Inception weights are present */
    gan_ckpt_block blocks[4];
    size_t n_blocks;
    void *self;
    /* One training iteration on real [batch, C, H, W] (device memory, model range): fills
     * out[GAN_N_LOSSES] (GAN_LOSS_G and GAN_GP NaN-free; *g_stepped says whether G moved). */
    void (*iterate)(void *self, gan_run *r, uint64_t iter, const float *real, size_t batch,
                    float *out, int *g_stepped);
    /* out [n, C, H, W] (device memory of the model, valid until the next call) = G(z [n, zdim]
     * device); n <= the generator's max batch. */
    const float *(*generate)(void *self, gb_device *dev, const float *z, size_t n);
    /* The learning rates in effect at iteration iter (for train.csv). */
    void (*lrs)(void *self, uint64_t iter, double *lr_d, double *lr_g);
} gan_model;

struct gan_run {
    gb_run_context *ctx;
    const gan_schedule *sched;
    uint64_t seed;
    gb_image_set data;      /* uint8 NCHW */
    size_t n;               /* images used */
    int c, h, w;
    size_t pixels;          /* c * h * w */
    float *host_batch;      /* [batch, pixels] */
    float *dev_batch;       /* [batch, pixels] */
    uint32_t *perm;         /* [n] permutation of the current epoch */
    uint64_t perm_epoch;    /* epoch perm belongs to (UINT64_MAX: none) */
    size_t gen_max;         /* the generator's max batch (>= batch and >= 100) */
};

/* MNIST from <data>/mnist when present, else glyphs28 (train split, seed-made). */
gb_status gan_load_mnist(gan_run *r, gb_run_context *ctx);
/* The CMU 32x32 CUB from <data>/cub/CUB_200_2011_32 (flat JPEG folder) or rebuilt from
 * <data>/cub/CUB_200_2011 with the CMU recipe, else shapes32. */
gb_status gan_load_cub32(gan_run *r, gb_run_context *ctx);

/* Iteration iter's real batch into host_batch (model range lo..hi) and dev_batch; returns its
 * size (smaller for the last batch of an epoch when drop_last is 0). */
size_t gan_batch(gan_run *r, uint64_t iter, float lo, float hi);
/* The mean of n critic outputs (host), summed in double in index order and rounded once: the
 * D(x) / D(G(z)) columns of train.csv. */
float gan_mean(const float *v, size_t n);

/* Stateless latents: row `first_row + i` of a stream has zdim numbers at indices
 * (first_row + i) * zdim + k. U(-1, 1) as 2u - 1 (u in (0,1), the CS446 draw) or N(0, 1). */
void gan_latents(float *out, uint64_t seed, const char *stream, gan_z_kind kind, size_t zdim,
                 uint64_t first_row, size_t rows);
/* eps ~ U(0, 1), one per row, index first_row + i of the stream. */
void gan_uniforms(float *out, uint64_t seed, const char *stream, uint64_t first_row, size_t rows);

/* Train, evaluate and write every result file; frees nothing of the model. */
gb_status gan_run_all(gan_run *r, gan_model *m);

void gan_run_free(gan_run *r);

#endif
