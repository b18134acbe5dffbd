/* pipelines/run.c - run one pipeline end to end and write its result files.
 *
 * Order matters for data safety: the pipeline writes its plots and checkpoints as it goes
 * (each atomically); metrics.csv and manifest.txt are written last, atomically, and only when
 * the run succeeded, so a failed or killed run never replaces a good result. A failed run
 * writes failure.txt with the status and the reason instead. A fresh run into a directory that
 * holds an earlier run first moves that run into previous-run/ (pipelines/run_dir.h), so the
 * two never mix; a successful run then deletes previous-run/ and any stale failure.txt.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/atomic_file.h"
#include "../core/csv.h"
#include "../core/log.h"
#include "pipeline.h"
#include "run_dir.h"

const char *gb_scale_name(gb_scale s) {
    static const char *names[] = {"smoke", "small", "paper"};
    return names[s];
}

gb_status gb_scale_parse(const char *name, gb_scale *out) {
    for (int s = GB_SCALE_SMOKE; s <= GB_SCALE_PAPER; s++)
        if (strcmp(name, gb_scale_name((gb_scale)s)) == 0) {
            *out = (gb_scale)s;
            return GB_OK;
        }
    return gb_fail(GB_USAGE, "unknown scale '%s' (expected smoke, small or paper)", name);
}

void gb_run_metric(gb_run_context *ctx, const char *name, double value, const char *note_fmt, ...) {
    GB_ASSERT(ctx->n_metrics < GB_MAX_METRICS, "too many metrics");
    gb_metric *m = &ctx->metrics[ctx->n_metrics++];
    snprintf(m->name, sizeof m->name, "%s", name);
    m->value = value;
    va_list ap;
    va_start(ap, note_fmt);
    vsnprintf(m->note, sizeof m->note, note_fmt, ap);
    va_end(ap);
}

const char *gb_run_path(const gb_run_context *ctx, const char *file, char *buf, size_t size) {
    snprintf(buf, size, "%s/%s", ctx->out_dir, file);
    return buf;
}

static gb_status write_metrics(const gb_run_context *ctx) {
    char path[1200];
    gb_atomic_file af;
    GB_TRY(gb_atomic_open(&af, gb_run_path(ctx, "metrics.csv", path, sizeof path)));
    static const char *header[] = {"pipeline", "scale", "device", "seed", "dataset", "metric", "value", "note"};
    gb_csv_write_row(af.fp, header, 8);
    char seed[32], value[64];
    snprintf(seed, sizeof seed, "%" PRIu64, ctx->opt->seed);
    for (size_t i = 0; i < ctx->n_metrics; i++) {
        const gb_metric *m = &ctx->metrics[i];
        snprintf(value, sizeof value, "%.9g", m->value);
        const char *row[] = {ctx->opt->pipeline, gb_scale_name(ctx->opt->scale), ctx->dev->ops->name,
                             seed, ctx->dataset, m->name, value, m->note};
        gb_csv_write_row(af.fp, row, 8);
    }
    return gb_atomic_commit(&af);
}

/* failure.txt beside the run. The run's own error stays the one reported: a failure to write
 * this file is logged, and the last-error message is restored afterwards. */
static void write_failure(const gb_run_context *ctx, gb_status s) {
    char path[1200], reason[sizeof path + 1024];
    snprintf(reason, sizeof reason, "%s", gb_last_error());
    gb_atomic_file af;
    if (gb_atomic_open(&af, gb_run_path(ctx, "failure.txt", path, sizeof path)) == GB_OK) {
        fprintf(af.fp, "status: %d (%s)\nreason: %s\n", (int)s, gb_status_name(s), reason);
        gb_manifest_print(ctx->manifest, af.fp);
        if (gb_atomic_commit(&af) != GB_OK) gb_warn("could not write %s: %s", path, gb_last_error());
    } else {
        gb_warn("could not write %s: %s", path, gb_last_error());
    }
    gb_fail(s, "%s", reason);
}

/* What the device's algorithm choice was (CUDA: cuDNN's version, mode and the algorithms of
 * every convolution shape; nothing on the CPU), one manifest key per line: algorithms, then
 * algorithms.1, algorithms.2, ... */
static void add_algorithm_record(gb_manifest *m, gb_device *dev) {
    size_t need = gb_device_algorithm_record(dev, NULL, 0);
    if (need == 0) return;
    char *record = malloc(need + 1);
    if (!record) return; /* provenance detail only; the run's own result stands */
    gb_device_algorithm_record(dev, record, need + 1);
    int line = 0;
    for (char *save = NULL, *text = strtok_r(record, "\n", &save); text; text = strtok_r(NULL, "\n", &save), line++) {
        char key[32] = "algorithms";
        if (line > 0) snprintf(key, sizeof key, "algorithms.%d", line);
        gb_manifest_set(m, key, "%s", text);
    }
    free(record);
}

gb_status gb_pipeline_run(const gb_run_options *opt, char *out_dir_used, size_t out_size) {
    const gb_pipeline *p = gb_pipeline_find(opt->pipeline);
    if (!p) return gb_fail(GB_USAGE, "unknown pipeline '%s' (see `genbench list`)", opt->pipeline);

    gb_device dev;
    GB_TRY(gb_device_open(&dev, opt->device, opt->threads));
    dev.fast_conv = opt->fast_conv;
    const int nondeterministic = gb_device_set_nondeterministic(&dev, opt->nondeterministic);
    if (opt->nondeterministic && !nondeterministic)
        gb_warn("--nondeterministic: the %s backend has no nondeterministic algorithms; the run stays "
                "deterministic", dev.ops->name);

    gb_manifest manifest;
    gb_manifest_init(&manifest);
    gb_run_context ctx = {.opt = opt, .dev = &dev, .manifest = &manifest};
    if (opt->out_dir)
        snprintf(ctx.out_dir, sizeof ctx.out_dir, "%s", opt->out_dir);
    else
        snprintf(ctx.out_dir, sizeof ctx.out_dir, "results/%s/%s-%s-s%" PRIu64, p->id,
                 gb_scale_name(opt->scale), dev.ops->name, opt->seed);
    if (out_dir_used) snprintf(out_dir_used, out_size, "%s", ctx.out_dir);

    gb_status s = gb_mkdirs(ctx.out_dir);
    int dir_ready = s == GB_OK;
    if (s == GB_OK && !opt->resume) s = gb_run_dir_set_aside(ctx.out_dir);
    if (s == GB_OK) {
        gb_manifest_add_build_info(&manifest, opt->argc, opt->argv);
        gb_manifest_set(&manifest, "pipeline", "%s", p->id);
        gb_manifest_set(&manifest, "spec", "%s", p->spec);
        gb_manifest_set(&manifest, "scale", "%s", gb_scale_name(opt->scale));
        gb_manifest_set(&manifest, "seed", "%" PRIu64, opt->seed);
        gb_manifest_set(&manifest, "device", "%s", dev.ops->name);
        gb_manifest_set(&manifest, "device_name", "%s", dev.name);
        gb_manifest_set(&manifest, "threads", "%d", dev.threads);
        gb_manifest_set(&manifest, "conv_algorithm", "%s",
                        strcmp(dev.ops->name, "cpu")
                            ? (nondeterministic ? "backend's own (cuDNN: heuristic choice, --nondeterministic)"
                                                : "backend's own (cuDNN: deterministic allow-list)")
                        : dev.fast_conv ? "fast (winograd F(4x4,3x3) where faster, upsample+conv by phases, else gemm)"
                                        : "gemm (im2col + sgemm; fft for kernels >= 11)");
        gb_manifest_set(&manifest, "determinism", "%s",
                        nondeterministic ? "no: --nondeterministic, results may differ run to run"
                                         : "bitwise (same binary, machine, config and seed)");
        gb_manifest_set(&manifest, "resumed", "%s", opt->resume ? "yes" : "no");
        gb_manifest_set(&manifest, "output_dir", "%s", ctx.out_dir);
        gb_info("running %s at %s scale on %s, seed %" PRIu64 " -> %s", p->id, gb_scale_name(opt->scale),
                dev.name, opt->seed, ctx.out_dir);
        s = p->run(&ctx);
    }
    add_algorithm_record(&manifest, &dev);
    if (s == GB_OK) {
        gb_manifest_set(&manifest, "dataset", "%s", ctx.dataset);
        gb_manifest_set(&manifest, "result", "ok");
        s = write_metrics(&ctx);
        char path[1200];
        if (s == GB_OK) s = gb_manifest_write(&manifest, gb_run_path(&ctx, "manifest.txt", path, sizeof path));
        if (s == GB_OK) s = gb_run_dir_finish(ctx.out_dir);
    }
    if (s != GB_OK && dir_ready) { /* no failure.txt where the directory itself could not be made */
        gb_manifest_set(&manifest, "result", "failed: %s", gb_last_error());
        write_failure(&ctx, s);
    }
    gb_manifest_free(&manifest);
    gb_device_close(&dev);
    return s;
}
