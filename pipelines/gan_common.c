/* pipelines/gan_common.c - data, batches, latents, the training loop and the result files shared
 * by the GAN pipelines (see gan_common.h). */
#include "gan_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/atomic_file.h"
#include "../core/log.h"
#include "test_hooks.h"
#include "../core/philox.h"
#include "../core/plot.h"
#include "../core/png.h"
#include "../core/progress.h"
#include "../datasets/cub.h"
#include "../datasets/glyphs28.h"
#include "../datasets/idx.h"
#include "../datasets/registry.h"
#include "../datasets/shapes32.h"
#include "../metrics/spectrum.h"
#include "gan_fid.h"

#define GAN_INTERP_SIDE 10 /* the 10 x 10 latent interpolation grid of specs/pipelines.md 4.3 */

/* ---- data ----------------------------------------------------------------------------------- */

static int exists(const char *path) { return access(path, F_OK) == 0; }

static void describe_data(gan_run *r, gb_run_context *ctx) {
    if (r->data.sha256[0])
        snprintf(ctx->dataset, sizeof ctx->dataset, "%s sha256:%.16s n=%zu", r->data.identity, r->data.sha256, r->n);
    else
        snprintf(ctx->dataset, sizeof ctx->dataset, "%s n=%zu", r->data.identity, r->n);
    gb_manifest_set(ctx->manifest, "dataset_identity", "%s", r->data.identity);
    if (r->data.sha256[0]) gb_manifest_set(ctx->manifest, "dataset_sha256", "%s", r->data.sha256);
}

static gb_status finish_load(gan_run *r, gb_run_context *ctx) {
    r->ctx = ctx;
    r->seed = ctx->opt->seed;
    r->c = r->data.channels, r->h = r->data.height, r->w = r->data.width;
    r->pixels = (size_t)r->c * (size_t)r->h * (size_t)r->w;
    r->n = (size_t)r->data.count;
    if (r->sched->n_train && r->sched->n_train < r->n) r->n = r->sched->n_train;
    if (r->n < r->sched->batch)
        return gb_fail(GB_INPUT, "%s has %zu images, fewer than one batch of %zu", r->data.identity, r->n,
                       r->sched->batch);
    r->perm_epoch = UINT64_MAX;
    r->perm = malloc(r->n * sizeof *r->perm);
    r->host_batch = malloc(r->sched->batch * r->pixels * sizeof(float));
    GB_ASSERT(r->perm && r->host_batch, "out of host memory");
    r->dev_batch = gb_dev_alloc(ctx->dev, r->sched->batch * r->pixels * sizeof(float));
    describe_data(r, ctx);
    return GB_OK;
}

/* Images to generate for a stand-in: what the schedule uses, else the real set's size. */
static int standin_count(const gan_run *r, int real_size) {
    return r->sched->n_train ? (int)r->sched->n_train : real_size;
}

/* Files of the real set that differ from their published digest (a stand-in written into the
 * real set's folder, a damaged download) must not be scored against the real set's reference
 * numbers: the identity becomes "<name>-unverified:<split>", which no reference row names, so
 * `genbench check` fails the run as having compared nothing. Files without a published digest
 * (the uncompressed IDX files) are trusted as they are. */
static void mark_unverified(gb_image_set *set, const char *dir, const char *dataset, const char *const *files) {
    const gb_dataset_info *ds = gb_dataset_find(dataset);
    GB_ASSERT(ds, "no %s in the dataset table", dataset);
    for (const char *const *name = files; *name; name++)
        for (int i = 0; i < ds->file_count; i++) {
            if (strcmp(ds->files[i].name, *name) != 0) continue;
            char path[1200];
            snprintf(path, sizeof path, "%s/%s", dir, *name);
            gb_file_report rep;
            if (!exists(path) || gb_data_file_check(path, &ds->files[i], &rep) != GB_OK || rep.check != GB_FILE_MISMATCH)
                continue;
            char split[64];
            const char *colon = strchr(set->identity, ':');
            snprintf(split, sizeof split, "%s", colon ? colon + 1 : "data");
            snprintf(set->identity, sizeof set->identity, "%s-unverified:%.40s", dataset, split);
            gb_warn("%s does not match its published %s (got %.16s..., published %.16s...): results are labelled %s "
                    "and are not compared with the real set's reference numbers",
                    path, rep.algorithm, rep.got, rep.expected, set->identity);
            return;
        }
}

gb_status gan_load_mnist(gan_run *r, gb_run_context *ctx) {
    char dir[1100], f1[1200], f2[1200];
    snprintf(dir, sizeof dir, "%s/mnist", ctx->opt->data_dir);
    snprintf(f1, sizeof f1, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(f2, sizeof f2, "%s/train-images-idx3-ubyte", dir);
    if (exists(f1) || exists(f2)) {
        GB_TRY(gb_idx_load(&r->data, dir, "mnist", 1));
        static const char *const train_files[] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", NULL};
        mark_unverified(&r->data, dir, "mnist", train_files);
    } else {
        gb_info("no MNIST under %s: training on the glyphs28 stand-in (genbench data fetch mnist gets the real set)",
                dir);
        GB_TRY(gb_glyphs28_generate(&r->data, ctx->opt->seed, 1, 0, standin_count(r, 60000)));
    }
    return finish_load(r, ctx);
}

gb_status gan_load_cub32(gan_run *r, gb_run_context *ctx) {
    char folder[1100], root[1100], index[1200];
    snprintf(folder, sizeof folder, "%s/cub/CUB_200_2011_32", ctx->opt->data_dir);
    snprintf(root, sizeof root, "%s/cub", ctx->opt->data_dir);
    snprintf(index, sizeof index, "%s/CUB_200_2011/images.txt", root);
    if (exists(folder)) {
        GB_TRY(gb_cub_load_folder(&r->data, folder, 32, ctx->dev->threads));
    } else if (exists(index)) {
        gb_cub_options o = gb_cub_options_cmu32(ctx->dev->threads);
        GB_TRY(gb_cub_load_resized(&r->data, root, &o));
    } else {
        gb_info("no CUB under %s: training on the shapes32 stand-in (genbench data fetch cub gets the real set)",
                root);
        GB_TRY(gb_shapes32_generate(&r->data, ctx->opt->seed, 1, 0, standin_count(r, 11780)));
    }
    return finish_load(r, ctx);
}

void gan_run_free(gan_run *r) {
    if (r->dev_batch) gb_dev_free(r->ctx->dev, r->dev_batch);
    free(r->host_batch);
    free(r->perm);
    gb_image_set_free(&r->data);
}

/* ---- batches and latents ---------------------------------------------------------------------- */

size_t gan_batch(gan_run *r, uint64_t iter, float lo, float hi) {
    const size_t B = r->sched->batch;
    const size_t per_epoch = r->sched->drop_last ? r->n / B : (r->n + B - 1) / B;
    uint64_t epoch = iter / per_epoch, b = iter % per_epoch;
    if (epoch != r->perm_epoch) {
        gb_stream s = gb_stream_openf(r->seed, "data/order/%llu", (unsigned long long)epoch);
        gb_stream_permutation(&s, r->perm, r->n);
        r->perm_epoch = epoch;
    }
    size_t first = b * B, count = first + B <= r->n ? B : r->n - first;
    const float scale = (hi - lo) / 255.0f;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *src = r->data.pixels + (size_t)r->perm[first + i] * r->pixels;
        float *dst = r->host_batch + i * r->pixels;
        for (size_t k = 0; k < r->pixels; k++) dst[k] = lo + scale * (float)src[k];
    }
    return count;
}

void gan_latents(float *out, uint64_t seed, const char *stream, gan_z_kind kind, size_t zdim,
                 uint64_t first_row, size_t rows) {
    gb_stream s = gb_stream_open(seed, stream);
    for (size_t i = 0; i < rows * zdim; i++) {
        uint64_t at = first_row * zdim + i;
        out[i] = kind == GAN_Z_NORMAL ? gb_philox_normal_at(s.key, at) : 2.0f * gb_philox_uniform_at(s.key, at) - 1.0f;
    }
}

void gan_uniforms(float *out, uint64_t seed, const char *stream, uint64_t first_row, size_t rows) {
    gb_stream s = gb_stream_open(seed, stream);
    for (size_t i = 0; i < rows; i++) out[i] = gb_philox_uniform_at(s.key, first_row + i);
}

/* ---- sampling and the spectral distance -------------------------------------------------------- */

typedef struct {
    gan_run *r;
    gan_model *m;
    float *z_host, *z_dev;   /* [gen_max, zdim] */
    float *img_host;         /* [n_max, pixels] in [0, 1] */
    size_t n_max;
    gb_spectrum_plan *plan;
    double *spec_real, *spec_fake;
    gan_fid fid;             /* ready 0: FID not computed (fid.reason says why) */
} gan_eval;

/* n images from the latents of rows 0.. of `stream` (chunks of the training batch), mapped to
 * [0, 1], into e->img_host. A custom z_rows [n, zdim] replaces the stream when given. */
static void sample_images(gan_eval *e, const char *stream, const float *z_rows, size_t n, size_t chunk) {
    gan_run *r = e->r;
    gan_model *m = e->m;
    gb_device *dev = r->ctx->dev;
    GB_ASSERT(n <= e->n_max && chunk <= r->gen_max, "gan eval: %zu samples, chunk %zu", n, chunk);
    const float scale = 1.0f / (m->hi - m->lo);
    for (size_t at = 0; at < n; at += chunk) {
        size_t k = n - at < chunk ? n - at : chunk;
        if (z_rows)
            memcpy(e->z_host, z_rows + at * m->zdim, k * m->zdim * sizeof(float));
        else
            gan_latents(e->z_host, r->seed, stream, m->z_kind, m->zdim, at, k);
        gb_upload(dev, e->z_dev, e->z_host, k * m->zdim * sizeof(float));
        const float *out = m->generate(m->self, dev, e->z_dev, k);
        float *dst = e->img_host + at * r->pixels;
        gb_download(dev, dst, out, k * r->pixels * sizeof(float));
        for (size_t i = 0; i < k * r->pixels; i++) dst[i] = (dst[i] - m->lo) * scale;
    }
}

static gb_status real_spectrum(gan_eval *e) {
    gan_run *r = e->r;
    size_t nb = gb_spectrum_n_bins(e->plan);
    double *part = calloc(nb, sizeof(double));
    float *buf = malloc(e->n_max * r->pixels * sizeof(float));
    GB_ASSERT(part && buf, "out of host memory");
    for (size_t k = 0; k < nb; k++) e->spec_real[k] = 0;
    gb_status s = GB_OK;
    for (size_t at = 0; at < r->n && s == GB_OK; at += e->n_max) {
        size_t k = r->n - at < e->n_max ? r->n - at : e->n_max;
        for (size_t i = 0; i < k * r->pixels; i++) buf[i] = (float)r->data.pixels[at * r->pixels + i] / 255.0f;
        s = gb_spectrum_mean(e->plan, part, buf, k, (size_t)r->c);
        for (size_t b = 0; b < nb; b++) e->spec_real[b] += part[b] * ((double)k / (double)r->n);
    }
    free(buf);
    free(part);
    return s;
}

static gb_status spectral_distance(gan_eval *e, size_t n, double *out) {
    GB_TRY(gb_spectrum_mean(e->plan, e->spec_fake, e->img_host, n, (size_t)e->r->c));
    return gb_spectral_distance(out, e->plan, e->spec_fake, e->spec_real);
}

/* ---- result files ------------------------------------------------------------------------------ */

static gb_status write_grid(gan_eval *e, const char *file, const float *imgs, size_t n) {
    char path[1200];
    gan_run *r = e->r;
    int cols = (int)lround(sqrt((double)n));
    return gb_png_write_grid(gb_run_path(r->ctx, file, path, sizeof path), imgs, (int)n, r->c, r->h, r->w, cols,
                             0.0f, 1.0f);
}

/* specs/pipelines.md 4.3: z[0] along the columns and z[1] along the rows over [-1, 1], the other
 * dimensions fixed at the base latent (row 0 of "eval/interp"). */
static gb_status write_interpolation(gan_eval *e) {
    gan_model *m = e->m;
    const size_t n = GAN_INTERP_SIDE * GAN_INTERP_SIDE;
    float *z = malloc(n * m->zdim * sizeof(float));
    GB_ASSERT(z, "out of host memory");
    gan_latents(z, e->r->seed, "eval/interp", m->z_kind, m->zdim, 0, 1);
    for (size_t i = 1; i < n; i++) memcpy(z + i * m->zdim, z, m->zdim * sizeof(float));
    for (size_t row = 0; row < GAN_INTERP_SIDE; row++)
        for (size_t col = 0; col < GAN_INTERP_SIDE; col++) {
            float *zi = z + (row * GAN_INTERP_SIDE + col) * m->zdim;
            zi[0] = -1.0f + 2.0f * (float)col / (GAN_INTERP_SIDE - 1);
            zi[1] = -1.0f + 2.0f * (float)row / (GAN_INTERP_SIDE - 1);
        }
    sample_images(e, NULL, z, n, n);
    free(z);
    return write_grid(e, "interpolation.png", e->img_host, n);
}

static gb_status plot_curves(gan_run *r, const char *file, const char *title, const char *ylabel,
                             const double *x, const double *const *ys, const char *const *labels, size_t n_series,
                             size_t n) {
    double ymin = INFINITY, ymax = -INFINITY;
    for (size_t s = 0; s < n_series; s++)
        for (size_t i = 0; i < n; i++)
            if (isfinite(ys[s][i])) ymin = fmin(ymin, ys[s][i]), ymax = fmax(ymax, ys[s][i]);
    if (!(ymin <= ymax)) ymin = 0, ymax = 1;
    double pad = 0.05 * (ymax - ymin);
    gb_plot *p = gb_plot_new(640, 400, title, x[0], x[n - 1] > x[0] ? x[n - 1] : x[0] + 1, ymin - pad, ymax + pad);
    if (!p) return gb_fail(GB_ENV, "cannot create the %s plot: %s", file, gb_last_error());
    gb_plot_set_labels(p, "iteration (critic steps)", ylabel);
    for (size_t s = 0; s < n_series; s++) {
        gb_plot_polyline(p, x, ys[s], n, gb_palette((int)s), 2);
        float *xy = malloc(2 * n * sizeof(float));
        GB_ASSERT(xy, "out of host memory");
        for (size_t i = 0; i < n; i++) xy[2 * i] = (float)x[i], xy[2 * i + 1] = (float)ys[s][i];
        if (n <= 64) gb_plot_points(p, xy, n, gb_palette((int)s), 2);
        free(xy);
        if (labels) gb_plot_legend(p, labels[s], gb_palette((int)s));
    }
    char path[1200];
    gb_status st = gb_plot_save(p, gb_run_path(r->ctx, file, path, sizeof path));
    gb_plot_free(p);
    return st;
}

/* ---- training --------------------------------------------------------------------------------- */

typedef struct {
    float *loss_log;  /* [n_log, GAN_N_LOSSES] window means (GAN_LOSS_G over the G steps only) */
    size_t n_log;
    float *spec_log;  /* [n_track] spectral distance at iterations 0, eval_every, ... */
    float *fid_log;   /* [n_track] FID at the same iterations (NaN when not computed) */
    size_t n_track;
} gan_logs;

static gb_status track_eval(gan_eval *e, gan_logs *lg, uint64_t iter) {
    const gan_schedule *sc = e->r->sched;
    double d;
    sample_images(e, "eval/z", NULL, sc->n_eval_track, sc->batch);
    GB_TRY(spectral_distance(e, sc->n_eval_track, &d));
    lg->spec_log[iter / sc->eval_every] = (float)d;
    lg->fid_log[iter / sc->eval_every] = NAN;
    if (e->fid.ready) {
        GB_TRY(gan_fid_images(&e->fid, e->img_host, sc->n_eval_track, e->r->c, e->r->h, e->r->w, &d));
        lg->fid_log[iter / sc->eval_every] = (float)d;
    }
    char file[64];
    snprintf(file, sizeof file, "samples_%06llu.png", (unsigned long long)iter);
    size_t g = sc->grid < sc->n_eval_track ? sc->grid : sc->n_eval_track;
    return write_grid(e, file, e->img_host, g);
}

/* Where a failed run can resume from: the last checkpoint, or none yet. */
static const char *checkpoint_note(const char *ckpt, uint64_t step, char *buf, size_t size) {
    if (exists(ckpt)) snprintf(buf, size, "the last good checkpoint is %s (iteration %llu)", ckpt, (unsigned long long)step);
    else snprintf(buf, size, "no checkpoint was written before it");
    return buf;
}

static gb_status train(gan_run *r, gan_model *m, gan_eval *e, gan_logs *lg) {
    const gan_schedule *sc = r->sched;
    gb_run_context *ctx = r->ctx;
    gb_train_state st = {0};
    char note[1400];
    snprintf(st.config, sizeof st.config,
             "%s scale=%s seed=%llu iters=%zu batch=%zu drop_last=%d n=%zu log=%zu ckpt=%zu eval=%zu track=%zu fid=%s "
             "conv=%s threads=%d",
             m->name, gb_scale_name(ctx->opt->scale), (unsigned long long)r->seed, sc->iters, sc->batch,
             sc->drop_last, r->n, sc->log_every, sc->ckpt_every, sc->eval_every, sc->n_eval_track,
             e->fid.ready ? gb_fid_protocol_name(m->fid_protocol) : "off", ctx->dev->fast_conv ? "fast" : "gemm",
             ctx->dev->threads); /* OpenBLAS's long-reduction sgemm bits depend on its thread count */
    gb_train_state_extra(&st, "loss_log", lg->loss_log, lg->n_log * GAN_N_LOSSES);
    st.last_step = sc->iters;
    gb_train_state_extra(&st, "spectral_log", lg->spec_log, lg->n_track);
    gb_train_state_extra(&st, "fid_log", lg->fid_log, lg->n_track);
    char ckpt[1200];
    gb_run_path(ctx, "checkpoint.safetensors", ckpt, sizeof ckpt);
    if (ctx->opt->resume && exists(ckpt)) {
        GB_TRY(gan_checkpoint_load(ckpt, ctx->dev, m->blocks, m->n_blocks, &st));
        gb_info("resumed from %s at iteration %llu", ckpt, (unsigned long long)st.step);
    } else {
        if (ctx->opt->resume) gb_warn("--resume: no checkpoint in %s, starting from iteration 0", ctx->out_dir);
        GB_TRY(track_eval(e, lg, 0));
    }
    gb_progress prog;
    gb_progress_start(&prog, m->name, sc->iters);
    double win[GAN_N_LOSSES] = {0};
    size_t win_g = 0;
    float rec[GAN_N_LOSSES];
    for (uint64_t it = st.step; it < sc->iters; it++) {
        gb_test_hook_kill_at(it);
        size_t b = gan_batch(r, it, m->lo, m->hi);
        if (gb_test_hook_poison_at(it)) r->host_batch[0] = NAN;
        gb_upload(ctx->dev, r->dev_batch, r->host_batch, b * r->pixels * sizeof(float));
        int g_stepped = 0;
        m->iterate(m->self, r, it, r->dev_batch, b, rec, &g_stepped);
        for (int k = 0; k < GAN_N_LOSSES; k++)
            if (!isfinite(rec[k]) && (k != GAN_LOSS_G || g_stepped))
                return gb_fail(GB_NUMERIC, "%s diverged: %s is %g at iteration %llu; the result is invalid; %s",
                               m->name,
                               k == GAN_LOSS_G ? "the generator loss" : k == GAN_GP ? "the gradient penalty"
                                                                                   : "the critic loss or output",
                               rec[k], (unsigned long long)it, checkpoint_note(ckpt, st.step, note, sizeof note));
        for (int k = 0; k < GAN_N_LOSSES; k++)
            if (k != GAN_LOSS_G) win[k] += rec[k];
        if (g_stepped) win[GAN_LOSS_G] += rec[GAN_LOSS_G], win_g++;
        if ((it + 1) % sc->log_every == 0) {
            float *row = lg->loss_log + (it / sc->log_every) * GAN_N_LOSSES;
            for (int k = 0; k < GAN_N_LOSSES; k++)
                row[k] = (float)(k == GAN_LOSS_G ? (win_g ? win[k] / (double)win_g : NAN) : win[k] / (double)sc->log_every);
            memset(win, 0, sizeof win);
            win_g = 0;
            char note[96];
            snprintf(note, sizeof note, "D %.4f G %.4f", row[GAN_LOSS_D], row[GAN_LOSS_G]);
            gb_progress_update(&prog, it + 1, note);
        }
        if ((it + 1) % sc->eval_every == 0) GB_TRY(track_eval(e, lg, it + 1));
        if ((it + 1) % sc->ckpt_every == 0 || it + 1 == sc->iters) {
            st.step = it + 1;
            GB_TRY(gan_checkpoint_save(ckpt, ctx->dev, m->blocks, m->n_blocks, &st));
        }
    }
    gb_progress_finish(&prog, NULL);
    return GB_OK;
}

static gb_status write_train_csv(gan_run *r, gan_model *m, const gan_logs *lg) {
    const gan_schedule *sc = r->sched;
    char path[1200];
    gb_atomic_file af;
    GB_TRY(gb_atomic_open(&af, gb_run_path(r->ctx, "train.csv", path, sizeof path)));
    fprintf(af.fp, "iteration,loss_d,loss_g,d_real,d_fake,gp,lr_d,lr_g,spectral_distance,fid\n");
    for (size_t i = 0; i < lg->n_log; i++) {
        const float *row = lg->loss_log + i * GAN_N_LOSSES;
        size_t iter = (i + 1) * sc->log_every;
        double lr_d, lr_g;
        m->lrs(m->self, iter - 1, &lr_d, &lr_g);
        fprintf(af.fp, "%zu,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,", iter, row[GAN_LOSS_D], row[GAN_LOSS_G],
                row[GAN_D_REAL], row[GAN_D_FAKE], row[GAN_GP], lr_d, lr_g);
        if (iter % sc->eval_every == 0) fprintf(af.fp, "%.9g", lg->spec_log[iter / sc->eval_every]);
        fputc(',', af.fp);
        if (iter % sc->eval_every == 0 && !isnan(lg->fid_log[iter / sc->eval_every]))
            fprintf(af.fp, "%.9g", lg->fid_log[iter / sc->eval_every]);
        fputc('\n', af.fp);
    }
    return gb_atomic_commit(&af);
}

static gb_status write_plots(gan_run *r, const gan_logs *lg, int with_fid) {
    const gan_schedule *sc = r->sched;
    double *x = malloc((lg->n_track + lg->n_log) * sizeof(double));
    double *y = malloc((lg->n_track + 2 * lg->n_log) * sizeof(double));
    GB_ASSERT(x && y, "out of host memory");
    for (size_t i = 0; i < lg->n_track; i++) x[i] = (double)(i * sc->eval_every), y[i] = lg->spec_log[i];
    const double *ys[2] = {y, NULL};
    const char *spec_label[1] = {"spectral distance to the training images"};
    gb_status s = plot_curves(r, "spectral_distance.png", "spectral distance vs iteration", "dB", x, ys,
                              spec_label, 1, lg->n_track);
    double *xl = x + lg->n_track, *yd = y + lg->n_track, *yg = yd + lg->n_log;
    for (size_t i = 0; i < lg->n_log; i++) {
        xl[i] = (double)((i + 1) * sc->log_every);
        yd[i] = lg->loss_log[i * GAN_N_LOSSES + GAN_LOSS_D];
        yg[i] = lg->loss_log[i * GAN_N_LOSSES + GAN_LOSS_G];
    }
    const double *yl[2] = {yd, yg};
    const char *loss_labels[2] = {"critic loss", "generator loss"};
    if (s == GB_OK) s = plot_curves(r, "losses.png", "training losses", "loss", xl, yl, loss_labels, 2, lg->n_log);
    if (s == GB_OK && with_fid) {
        for (size_t i = 0; i < lg->n_track; i++) x[i] = (double)(i * sc->eval_every), y[i] = lg->fid_log[i];
        const char *fid_label[1] = {"FID to the training images"};
        s = plot_curves(r, "fid.png", "FID vs iteration", "FID", x, ys, fid_label, 1, lg->n_track);
    }
    free(y);
    free(x);
    return s;
}

/* Training images behind the FID reference: the schedule's choice, except that weights named
 * with --inception-weights ask for FID at every scale (all the run's images where the
 * schedule has it off). */
static size_t fid_reference_images(const gan_run *r) {
    size_t n = r->sched->fid_ref;
    return n == GAN_FID_OFF && r->ctx->opt->inception_weights ? 0 : n;
}

/* FID needs the Inception-v3 features (DESIGN.md section 4): the value with its protocol, N and
 * weights hash, or the reason it is missing and the fetch command. */
static void record_fid(gan_run *r, gan_eval *e, gan_model *m, const gan_logs *lg, const gan_fid_scores *fs) {
    const gan_schedule *sc = r->sched;
    if (fid_reference_images(r) == GAN_FID_OFF) {
        gb_run_metric(r->ctx, "fid_not_computed", 1, "fid not computed at %s scale (Inception takes minutes on a CPU); "
                      "small and paper compute it when the weights exist, any scale with --inception-weights",
                      gb_scale_name(r->ctx->opt->scale));
        return;
    }
    if (!e->fid.ready) {
        gb_run_metric(r->ctx, "fid_not_computed", 1, "fid not computed: %.64s; fetch with genbench data fetch "
                      "inception-weights", e->fid.reason);
        gb_info("fid not computed: %s (genbench data fetch inception-weights)", e->fid.reason);
        return;
    }
    gb_manifest_set(r->ctx->manifest, "inception_sha256", "%s", e->fid.net.sha256);
    gb_manifest_set(r->ctx->manifest, "fid_protocol", "%s; reference: the first %zu training images (genbench statistics)",
                    gb_fid_protocol_name(m->fid_protocol), e->fid.n_ref);
    const char *protocol = gb_fid_protocol_name(m->fid_protocol);
    gb_run_metric(r->ctx, "fid", fs->fid, "final; protocol %s, N=%zu samples vs %zu training images, weights sha256 %.16s",
                  protocol, sc->n_eval_final, e->fid.n_ref, e->fid.net.sha256);
    gb_run_metric(r->ctx, "kid", fs->kid.mean, "final; protocol %s, %zu subsets of %zu from %zu samples and %zu training "
                  "images, cubic kernel, seed %llu", protocol, fs->kid.subsets, fs->kid.subset_size, fs->n_gen_feat,
                  fs->n_real_feat, (unsigned long long)e->fid.kid_seed);
    gb_run_metric(r->ctx, "kid_std", fs->kid.std, "final; population std of the %zu subset MMD^2 values",
                  fs->kid.subsets);
    static const char *const prdc_names[] = {"precision", "recall", "density", "coverage"};
    const double prdc_values[] = {fs->prdc.precision, fs->prdc.recall, fs->prdc.density, fs->prdc.coverage};
    for (int i = 0; i < 4; i++)
        gb_run_metric(r->ctx, prdc_names[i], prdc_values[i], "final; kynkaanniemi (k=%zu, %s), %zu samples vs %zu "
                      "training images, Inception pool features (protocol %s)", fs->prdc.protocol.k,
                      fs->prdc.protocol.strict ? "<" : "<=", fs->n_gen_feat, fs->n_real_feat, protocol);
    gb_run_metric(r->ctx, "inception_score", fs->is_mean, "final; protocol %s, 1008-way logits without fc.bias, "
                  "%zu splits of %zu samples shuffled by numpy RandomState(%d) (torch-fidelity's order)", protocol,
                  fs->is_splits, sc->n_eval_final, GB_IS_SHUFFLE_SEED);
    gb_run_metric(r->ctx, "inception_score_std", fs->is_std, "final; population std over the %zu splits",
                  fs->is_splits);
    size_t best = 0;
    for (size_t i = 1; i < lg->n_track; i++)
        if (lg->fid_log[i] < lg->fid_log[best]) best = i;
    gb_run_metric(r->ctx, "fid_best", lg->fid_log[best], "best over training (every %zu iterations, N=%zu): at iteration %zu",
                  sc->eval_every, sc->n_eval_track, best * sc->eval_every);
}

static void record_metrics(gan_run *r, const gan_logs *lg, double final_distance, int has_gp) {
    const gan_schedule *sc = r->sched;
    gb_run_context *ctx = r->ctx;
    gb_run_metric(ctx, "spectral_distance", final_distance,
                  "final; RMS log-spectral distance (dB, spectrum: genbench v1), %zu samples vs %zu training images",
                  sc->n_eval_final, r->n);
    size_t best = 0;
    for (size_t i = 1; i < lg->n_track; i++)
        if (lg->spec_log[i] < lg->spec_log[best]) best = i;
    gb_run_metric(ctx, "spectral_distance_best", lg->spec_log[best],
                  "best over training (every %zu iterations, %zu samples): at iteration %zu", sc->eval_every,
                  sc->n_eval_track, best * sc->eval_every);
    gb_run_metric(ctx, "spectral_distance_init", lg->spec_log[0],
                  "the untrained generator (iteration 0, %zu samples): the no-learning baseline", sc->n_eval_track);
    const float *last = lg->loss_log + (lg->n_log - 1) * GAN_N_LOSSES;
    gb_run_metric(ctx, "loss_d_final", last[GAN_LOSS_D], "critic loss, mean over the last %zu iterations", sc->log_every);
    gb_run_metric(ctx, "loss_g_final", last[GAN_LOSS_G], "generator loss, mean over the G steps of the last %zu iterations",
                  sc->log_every);
    gb_run_metric(ctx, "d_real_final", last[GAN_D_REAL], "mean critic output on real images, last %zu iterations",
                  sc->log_every);
    gb_run_metric(ctx, "d_fake_final", last[GAN_D_FAKE], "mean critic output on generated images, last %zu iterations",
                  sc->log_every);
    if (has_gp)
        gb_run_metric(ctx, "gp_final", last[GAN_GP], "lambda * gradient penalty, mean over the last %zu iterations",
                      sc->log_every);
}

gb_status gan_run_all(gan_run *r, gan_model *m) {
    const gan_schedule *sc = r->sched;
    GB_ASSERT(sc->ckpt_every % sc->log_every == 0 && sc->eval_every % sc->log_every == 0 &&
                  sc->iters % sc->eval_every == 0 && sc->iters % sc->log_every == 0,
              "%s: bad schedule", m->name);
    gb_device *dev = r->ctx->dev;
    gan_logs lg = {.n_log = sc->iters / sc->log_every, .n_track = sc->iters / sc->eval_every + 1};
    lg.loss_log = calloc(lg.n_log * GAN_N_LOSSES, sizeof(float));
    lg.spec_log = calloc(lg.n_track, sizeof(float));
    lg.fid_log = calloc(lg.n_track, sizeof(float));
    gan_eval e = {.r = r, .m = m};
    e.n_max = sc->n_eval_final;
    if (e.n_max < sc->n_eval_track) e.n_max = sc->n_eval_track;
    if (e.n_max < GAN_INTERP_SIDE * GAN_INTERP_SIDE) e.n_max = GAN_INTERP_SIDE * GAN_INTERP_SIDE;
    e.z_host = malloc(r->gen_max * m->zdim * sizeof(float));
    e.img_host = malloc(e.n_max * r->pixels * sizeof(float));
    GB_ASSERT(lg.loss_log && lg.spec_log && lg.fid_log && e.z_host && e.img_host, "out of host memory");
    e.z_dev = gb_dev_alloc(dev, r->gen_max * m->zdim * sizeof(float));
    gb_status s = gb_spectrum_plan_create(&e.plan, (size_t)r->h, (size_t)r->w);
    if (s == GB_OK) {
        size_t nb = gb_spectrum_n_bins(e.plan);
        e.spec_real = malloc(nb * sizeof(double));
        e.spec_fake = malloc(nb * sizeof(double));
        GB_ASSERT(e.spec_real && e.spec_fake, "out of host memory");
        s = real_spectrum(&e);
    }
    if (s == GB_OK && fid_reference_images(r) != GAN_FID_OFF)
        s = gan_fid_open(&e.fid, r, m->fid_protocol, fid_reference_images(r));
    if (s == GB_OK) s = train(r, m, &e, &lg);
    double final_distance = NAN;
    gan_fid_scores fid_scores = {.fid = NAN};
    if (s == GB_OK) {
        sample_images(&e, "eval/z", NULL, sc->n_eval_final, sc->batch);
        s = spectral_distance(&e, sc->n_eval_final, &final_distance);
    }
    if (s == GB_OK && e.fid.ready)
        s = gan_fid_final(&e.fid, e.img_host, sc->n_eval_final, r->c, r->h, r->w, &fid_scores);
    if (s == GB_OK) s = write_grid(&e, "samples.png", e.img_host, sc->grid < sc->n_eval_final ? sc->grid : sc->n_eval_final);
    if (s == GB_OK) {
        /* the training images the spectra compare with, for the eye */
        float *real = malloc(sc->grid * r->pixels * sizeof(float));
        GB_ASSERT(real, "out of host memory");
        for (size_t i = 0; i < sc->grid * r->pixels; i++) real[i] = (float)r->data.pixels[i] / 255.0f;
        s = write_grid(&e, "real.png", real, sc->grid);
        free(real);
    }
    if (s == GB_OK) s = write_interpolation(&e);
    if (s == GB_OK) s = write_train_csv(r, m, &lg);
    if (s == GB_OK) s = write_plots(r, &lg, e.fid.ready);
    if (s == GB_OK) {
        record_metrics(r, &lg, final_distance, m->has_gp);
        record_fid(r, &e, m, &lg, &fid_scores);
    }
    gan_fid_free(&e.fid);
    gb_spectrum_plan_free(e.plan);
    free(e.spec_real);
    free(e.spec_fake);
    gb_dev_free(dev, e.z_dev);
    free(e.img_host);
    free(e.z_host);
    free(lg.spec_log);
    free(lg.fid_log);
    free(lg.loss_log);
    return s;
}

float gan_mean(const float *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    return (float)(s / (double)n);
}
