/* pipelines/toy2d_langevin.c - toy2d-langevin: denoising score matching + annealed Langevin
 * dynamics on the CS446 point cloud (specs/pipelines.md 5.1-5.4, UIUC CS446 SP24 HW5).
 *
 * Training (full batch, Adam lr 0.01): each step draws, per point, a noise level sigma_i
 * uniformly from 10 geometric levels 0.3 -> 0.01 and z ~ N(0, I), perturbs x~ = x + sigma z and
 * minimises l = 1/2 sigma^2 ||s(x~, sigma) + (x~ - x)/sigma^2||^2, s = net(x~, sigma)/sigma,
 * summed over the 2 dims and averaged over points. Substituting s and x~ - x = sigma z gives
 * exactly l = 1/2 ||net(x~, sigma) + z||^2, which is what we compute (half_sq_error with target
 * -z): the same loss without dividing by sigma and multiplying back. tests/test_toy2d_step.c
 * checks this against PyTorch computing the literal formula.
 *
 * Sampling: 1000 points from N(0, I), then for each level (descending) 100 steps of
 * x <- x + a s(x, sigma) + sqrt(2a) z with a = eps sigma^2 / sigma_L^2, eps = 2e-5.
 *
 * Randomness: every draw is addressed by (named stream, index), e.g. the noise of training
 * step t for point k and dim d is normal number (t N + k) 2 + d of "train/noise", so a resumed
 * run needs only the step count to continue bit-identically. Batch construction and the
 * Langevin update run on the host (a few KB per step); the network runs on the backend.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/atomic_file.h"
#include "../core/checkpoint.h"
#include "../core/log.h"
#include "test_hooks.h"
#include "../core/philox.h"
#include "../core/progress.h"
#include "../datasets/cs446.h"
#include "../metrics/sample_distance.h"
#include "../models/scorenet_mlp.h"
#include "pipeline.h"
#include "toy2d_plots.h"

#define TOY2D_LEVELS 10

typedef struct {
    size_t iters;           /* full-batch Adam steps */
    size_t n_layers, width; /* ScoreNet */
    size_t steps_per_level; /* Langevin steps per noise level */
    size_t n_samples;       /* Langevin chains */
    size_t log_every;       /* train.csv granularity (mean loss over the window) */
    size_t ckpt_every;      /* multiple of log_every */
    float lr, sigma_max, sigma_min, eps, jitter;
} toy2d_config;

/* smoke: seconds, proves the wiring; small: the default of `make reproduce`, letters clearly
 * formed on a 2-core CPU in about a minute; paper: the HW5 starter's 50,000 iterations. */
static const toy2d_config configs[] = {
    [GB_SCALE_SMOKE] = {200, 8, 128, 20, 256, 10, 50, 0.01f, 0.3f, 0.01f, 2e-5f, 0.01f},
    [GB_SCALE_SMALL] = {8000, 8, 128, 100, 1000, 20, 500, 0.01f, 0.3f, 0.01f, 2e-5f, 0.01f},
    [GB_SCALE_PAPER] = {50000, 8, 128, 100, 1000, 100, 1000, 0.01f, 0.3f, 0.01f, 2e-5f, 0.01f},
};

#define TRAJ_CHAINS 6 /* chains whose whole path is kept for the trajectory plot */

typedef struct {
    const toy2d_config *cfg;
    gb_device *dev;
    gb_scorenet_mlp net;
    float sigmas[TOY2D_LEVELS];
    const float *data;  /* [n, 2] */
    size_t n;
    uint64_t seed;
    float *host_in;     /* [max_batch, 3] */
    float *host_target; /* [n, 2] */
    float *host_sigma;  /* [n] noise level of each point */
    float *dev_target;  /* [n, 2] backend */
    float *dev_loss;    /* [1] backend */
} toy2d;

/* exp(linspace(ln max, ln min, L)), as generate_sigmas in the HW5 starter. */
static void geometric_sigmas(float *s, size_t levels, float hi, float lo) {
    for (size_t i = 0; i < levels; i++)
        s[i] = (float)exp(log(hi) + (log(lo) - log(hi)) * (double)i / (double)(levels - 1));
}

/* The perturbed batch on the host, given each point's sigma in t->host_sigma: input rows
 * (x + sigma z, sigma) and the target -z of the simplified loss; z is normal number
 * 2 (first_row + k) + d of the stream with noise_key. */
static void perturb_points(toy2d *t, const uint32_t noise_key[2], uint64_t first_row) {
    for (size_t k = 0; k < t->n; k++) {
        float sigma = t->host_sigma[k];
        for (int d = 0; d < 2; d++) {
            float z = gb_philox_normal_at(noise_key, 2 * (first_row + k) + (uint64_t)d);
            t->host_in[3 * k + d] = t->data[2 * k + d] + sigma * z;
            t->host_target[2 * k + d] = -z;
        }
        t->host_in[3 * k + 2] = sigma;
    }
}

/* Training step `step`: each point's level uniform over the 10 ("train/sigma"), noise from
 * "train/noise"; rows are numbered step * n + k so every step draws fresh numbers. */
static void make_training_batch(toy2d *t, uint64_t step) {
    gb_stream level = gb_stream_open(t->seed, "train/sigma");
    gb_stream noise = gb_stream_open(t->seed, "train/noise");
    for (size_t k = 0; k < t->n; k++) {
        uint32_t li = (uint32_t)(((uint64_t)gb_philox_u32_at(level.key, step * t->n + k) * TOY2D_LEVELS) >> 32);
        t->host_sigma[k] = t->sigmas[li];
    }
    perturb_points(t, noise.key, step * t->n);
}

/* One full-batch step: forward, fused loss/gradient, backward, Adam. Returns the loss. */
static float training_step(toy2d *t, uint64_t step, const gb_adam_hparams *hp) {
    gb_device *dev = t->dev;
    make_training_batch(t, step);
    gb_upload(dev, t->net.input, t->host_in, t->n * 3 * sizeof(float));
    gb_upload(dev, t->dev_target, t->host_target, t->n * 2 * sizeof(float));
    gb_params_zero_grad(&t->net.params, dev);
    float *out = gb_scorenet_mlp_forward(&t->net, dev, t->n);
    gb_half_sq_error(dev, t->dev_loss, t->net.dout, out, t->dev_target, t->n, 2);
    gb_scorenet_mlp_backward(&t->net, dev, t->n);
    gb_params_adam_step(&t->net.params, dev, hp, (long)step + 1);
    float loss;
    gb_download(dev, &loss, t->dev_loss, sizeof loss);
    return loss;
}

/* The score s(x, sigma) = net(x, sigma) / sigma at `n` points (host in, host out). */
static void score(toy2d *t, const float *x, size_t n, float sigma, float *s) {
    for (size_t k = 0; k < n; k++) {
        t->host_in[3 * k] = x[2 * k];
        t->host_in[3 * k + 1] = x[2 * k + 1];
        t->host_in[3 * k + 2] = sigma;
    }
    gb_upload(t->dev, t->net.input, t->host_in, n * 3 * sizeof(float));
    float *out = gb_scorenet_mlp_forward(&t->net, t->dev, n);
    gb_download(t->dev, s, out, n * 2 * sizeof(float));
    for (size_t i = 0; i < 2 * n; i++) s[i] /= sigma;
}

static void score_callback(void *self, const float *x, size_t n, float sigma, float *s) {
    score(self, x, n, sigma, s);
}

/* Denoising loss on fixed draws ("eval/noise"), every point at every level, averaged over levels:
 * a deterministic measure of the learned score that does not depend on the sampler. */
static double eval_dsm_loss(toy2d *t) {
    gb_stream noise = gb_stream_open(t->seed, "eval/noise");
    double total = 0;
    for (size_t li = 0; li < TOY2D_LEVELS; li++) {
        for (size_t k = 0; k < t->n; k++) t->host_sigma[k] = t->sigmas[li];
        perturb_points(t, noise.key, li * t->n);
        gb_upload(t->dev, t->net.input, t->host_in, t->n * 3 * sizeof(float));
        gb_upload(t->dev, t->dev_target, t->host_target, t->n * 2 * sizeof(float));
        float *out = gb_scorenet_mlp_forward(&t->net, t->dev, t->n);
        gb_half_sq_error(t->dev, t->dev_loss, NULL, out, t->dev_target, t->n, 2);
        float loss;
        gb_download(t->dev, &loss, t->dev_loss, sizeof loss);
        total += loss;
    }
    return total / TOY2D_LEVELS;
}

/* Annealed Langevin dynamics (5.4). x: [n_samples, 2] out; traj: [TRAJ_CHAINS, steps+1, 2]. */
static void langevin_sample(toy2d *t, float *x, float *traj) {
    const toy2d_config *c = t->cfg;
    size_t n = c->n_samples, steps = TOY2D_LEVELS * c->steps_per_level;
    gb_stream init = gb_stream_open(t->seed, "sample/init");
    gb_stream noise = gb_stream_open(t->seed, "sample/noise");
    gb_stream_normal(&init, x, 2 * n);
    float *s = malloc(2 * n * sizeof(float));
    GB_ASSERT(s, "out of host memory");
    size_t chains = n < TRAJ_CHAINS ? n : TRAJ_CHAINS;
    for (size_t k = 0; k < chains; k++)
        for (int d = 0; d < 2; d++) traj[(k * (steps + 1)) * 2 + d] = x[2 * k + d];
    float sigma_last = t->sigmas[TOY2D_LEVELS - 1];
    size_t step = 0;
    for (size_t li = 0; li < TOY2D_LEVELS; li++) {
        float sigma = t->sigmas[li];
        float alpha = c->eps * sigma * sigma / (sigma_last * sigma_last);
        float noise_scale = sqrtf(2.0f * alpha);
        for (size_t it = 0; it < c->steps_per_level; it++, step++) {
            score(t, x, n, sigma, s);
            for (size_t i = 0; i < 2 * n; i++)
                x[i] += alpha * s[i] + noise_scale * gb_philox_normal_at(noise.key, step * 2 * n + i);
            for (size_t k = 0; k < chains; k++)
                for (int d = 0; d < 2; d++) traj[(k * (steps + 1) + step + 1) * 2 + d] = x[2 * k + d];
        }
    }
    free(s);
}

static gb_status record_metrics(gb_run_context *ctx, toy2d *t, const float *samples, double eval_loss,
                                const float *loss_log, size_t n_log) {
    const toy2d_config *c = t->cfg;
    enum { N_DIRS = 64 };
    float dirs[2 * N_DIRS];
    gb_sliced_directions_2d(dirs, N_DIRS);
    double sw1, sw1_prior, mmd2;
    GB_TRY(gb_sliced_w1(&sw1, samples, c->n_samples, t->data, t->n, 2, dirs, N_DIRS));
    GB_TRY(gb_mmd2_rbf(&mmd2, samples, c->n_samples, t->data, t->n, 2, 0.1, GB_MMD_BIASED));
    /* The same distance for the chains' N(0, I) starting points: what "no learning" scores. */
    float *prior = malloc(2 * c->n_samples * sizeof(float));
    GB_ASSERT(prior, "out of host memory");
    gb_stream init = gb_stream_open(t->seed, "sample/init");
    gb_stream_normal(&init, prior, 2 * c->n_samples);
    gb_status s = gb_sliced_w1(&sw1_prior, prior, c->n_samples, t->data, t->n, 2, dirs, N_DIRS);
    free(prior);
    GB_TRY(s);
    gb_run_metric(ctx, "sliced_w1", sw1, "samples vs data; %d evenly spaced directions; %zu samples, %zu points",
                  N_DIRS, c->n_samples, t->n);
    gb_run_metric(ctx, "sliced_w1_prior", sw1_prior, "the N(0,I) starting points vs data (no-learning baseline)");
    gb_run_metric(ctx, "mmd2_rbf", mmd2, "biased MMD^2, RBF bandwidth 0.1; samples vs data");
    gb_run_metric(ctx, "dsm_loss_eval", eval_loss, "denoising score matching loss, fixed noise, mean over %d levels",
                  TOY2D_LEVELS);
    gb_run_metric(ctx, "train_loss_final", loss_log[n_log - 1], "mean training loss over the last %zu steps",
                  c->log_every);
    return GB_OK;
}

static gb_status write_train_csv(gb_run_context *ctx, const toy2d_config *c, const float *loss_log, size_t n_log) {
    char path[1200];
    gb_atomic_file af;
    GB_TRY(gb_atomic_open(&af, gb_run_path(ctx, "train.csv", path, sizeof path)));
    fprintf(af.fp, "step,loss,lr\n");
    for (size_t i = 0; i < n_log; i++)
        fprintf(af.fp, "%zu,%.9g,%.9g\n", (i + 1) * c->log_every, loss_log[i], c->lr);
    return gb_atomic_commit(&af);
}

static gb_status train(gb_run_context *ctx, toy2d *t, float *loss_log, size_t n_log) {
    const toy2d_config *c = t->cfg;
    gb_adam_hparams hp = {.lr = c->lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    gb_train_state st = {0};
    /* threads: OpenBLAS's long-reduction sgemm bits depend on its thread count */
    snprintf(st.config, sizeof st.config,
             "toy2d-langevin scale=%s seed=%llu layers=%zu width=%zu iters=%zu lr=%g threads=%d",
             gb_scale_name(ctx->opt->scale), (unsigned long long)t->seed, c->n_layers, c->width, c->iters, c->lr,
             ctx->dev->threads);
    gb_train_state_extra(&st, "loss_log", loss_log, n_log);
    st.last_step = c->iters;
    char ckpt[1200];
    gb_run_path(ctx, "checkpoint.safetensors", ckpt, sizeof ckpt);
    if (ctx->opt->resume && access(ckpt, F_OK) == 0) {
        GB_TRY(gb_checkpoint_load(ckpt, t->dev, &t->net.params, &st));
        gb_info("resumed from %s at step %llu", ckpt, (unsigned long long)st.step);
    } else if (ctx->opt->resume) {
        gb_warn("--resume: no checkpoint in %s, starting from step 0", ctx->out_dir);
    }
    gb_progress prog;
    gb_progress_start(&prog, "toy2d train", c->iters);
    double window = 0;
    for (uint64_t step = st.step; step < c->iters; step++) {
        gb_test_hook_kill_at(step);
        float loss = training_step(t, step, &hp);
        if (!isfinite(loss)) {
            if (access(ckpt, F_OK) != 0)
                return gb_fail(GB_NUMERIC, "training loss is %g at step %llu; no checkpoint was written before it",
                               loss, (unsigned long long)step);
            return gb_fail(GB_NUMERIC, "training loss is %g at step %llu; the last good checkpoint is %s (step %llu)",
                           loss, (unsigned long long)step, ckpt, (unsigned long long)st.step);
        }
        window += loss;
        if ((step + 1) % c->log_every == 0) {
            loss_log[step / c->log_every] = (float)(window / (double)c->log_every);
            window = 0;
            char note[64];
            snprintf(note, sizeof note, "loss %.4f", loss_log[step / c->log_every]);
            gb_progress_update(&prog, step + 1, note);
        }
        if ((step + 1) % c->ckpt_every == 0 || step + 1 == c->iters) {
            st.step = step + 1;
            GB_TRY(gb_checkpoint_save(ckpt, t->dev, &t->net.params, &st));
        }
    }
    gb_progress_finish(&prog, NULL);
    return GB_OK;
}

gb_status gb_toy2d_langevin_run(gb_run_context *ctx) {
    const toy2d_config *c = &configs[ctx->opt->scale];
    GB_ASSERT(c->ckpt_every % c->log_every == 0 && c->iters % c->log_every == 0, "bad toy2d config");
    char path[1024];
    GB_TRY(gb_cs446_locate(ctx->opt->data_dir, path, sizeof path));
    gb_cs446 data;
    GB_TRY(gb_cs446_load(&data, path, ctx->opt->seed, c->jitter));
    snprintf(ctx->dataset, sizeof ctx->dataset, "cs446 sha256:%.16s n=%zu", data.sha256, data.n);
    gb_manifest_set(ctx->manifest, "dataset_file", "%s", data.path);
    gb_manifest_set(ctx->manifest, "dataset_sha256", "%s", data.sha256);
    gb_manifest_set(ctx->manifest, "config", "iters=%zu layers=%zu width=%zu lr=%g levels=%d sigma=%g..%g "
                    "langevin_eps=%g steps_per_level=%zu samples=%zu", c->iters, c->n_layers, c->width, c->lr,
                    TOY2D_LEVELS, c->sigma_max, c->sigma_min, c->eps, c->steps_per_level, c->n_samples);

    toy2d t = {.cfg = c, .dev = ctx->dev, .data = data.points, .n = data.n, .seed = ctx->opt->seed};
    geometric_sigmas(t.sigmas, TOY2D_LEVELS, c->sigma_max, c->sigma_min);
    size_t max_batch = data.n > c->n_samples ? data.n : c->n_samples;
    gb_scorenet_mlp_create(&t.net, ctx->dev, c->n_layers, c->width, 3, 2, max_batch);
    gb_params_init(&t.net.params, ctx->dev, ctx->opt->seed);
    t.host_in = malloc(max_batch * 3 * sizeof(float));
    t.host_sigma = malloc(data.n * sizeof(float));
    t.host_target = malloc(data.n * 2 * sizeof(float));
    t.dev_target = gb_dev_alloc(ctx->dev, data.n * 2 * sizeof(float));
    t.dev_loss = gb_dev_alloc(ctx->dev, sizeof(float));
    size_t n_log = c->iters / c->log_every;
    size_t steps = TOY2D_LEVELS * c->steps_per_level;
    float *loss_log = calloc(n_log, sizeof(float));
    float *samples = malloc(2 * c->n_samples * sizeof(float));
    float *traj = malloc(TRAJ_CHAINS * (steps + 1) * 2 * sizeof(float));
    GB_ASSERT(t.host_in && t.host_sigma && t.host_target && loss_log && samples && traj, "out of host memory");

    gb_status s = train(ctx, &t, loss_log, n_log);
    if (s == GB_OK) {
        double eval_loss = eval_dsm_loss(&t);
        langevin_sample(&t, samples, traj);
        s = record_metrics(ctx, &t, samples, eval_loss, loss_log, n_log);
    }
    if (s == GB_OK) s = write_train_csv(ctx, c, loss_log, n_log);
    if (s == GB_OK) {
        toy2d_plot_input in = {.data = data.points, .n_data = data.n, .samples = samples,
                               .n_samples = c->n_samples, .traj = traj,
                               .n_traj = c->n_samples < TRAJ_CHAINS ? c->n_samples : TRAJ_CHAINS,
                               .traj_len = steps + 1, .loss_log = loss_log, .n_log = n_log,
                               .log_every = c->log_every, .field_sigma = t.sigmas[3]};
        s = toy2d_write_plots(ctx, &in, score_callback, &t);
    }
    free(traj);
    free(samples);
    free(loss_log);
    gb_dev_free(ctx->dev, t.dev_loss);
    gb_dev_free(ctx->dev, t.dev_target);
    free(t.host_target);
    free(t.host_sigma);
    free(t.host_in);
    gb_scorenet_mlp_destroy(&t.net, ctx->dev);
    gb_cs446_free(&data);
    return s;
}
