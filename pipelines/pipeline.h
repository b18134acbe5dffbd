/* pipelines/pipeline.h - what a pipeline is, how it is run, and what it writes.
 *
 * Every pipeline of specs/pipelines.md is one gb_pipeline entry in the table of registry.c,
 * runnable as `genbench run <id>` at three scales (DESIGN.md section 4). The CLI fills a
 * gb_run_options, opens the device and the output directory and hands the pipeline a
 * gb_run_context; the pipeline trains, evaluates, records metrics through gb_run_metric() and
 * writes its own plots. run.c then writes metrics.csv and manifest.txt atomically.
 */
#ifndef GB_PIPELINE_H
#define GB_PIPELINE_H

#include <stdint.h>

#include "../core/manifest.h"
#include "../kernels/kernels.h"

typedef enum { GB_SCALE_SMOKE, GB_SCALE_SMALL, GB_SCALE_PAPER } gb_scale;

const char *gb_scale_name(gb_scale s);
gb_status gb_scale_parse(const char *name, gb_scale *out); /* GB_USAGE for unknown names */

typedef struct {
    const char *pipeline;  /* id */
    gb_scale scale;
    const char *device;    /* "cpu" | "cuda" | "auto" */
    uint64_t seed;
    const char *data_dir;  /* where real datasets are looked for */
    const char *out_dir;   /* NULL: results/<pipeline>/<scale>-<device>-s<seed> */
    int resume;            /* continue from <out>/checkpoint.safetensors */
    int threads;
    int fast_conv;                 /* --conv fast: gb_device.fast_conv */
    int nondeterministic;          /* --nondeterministic: gb_device_set_nondeterministic (CUDA) */
    const char *inception_weights; /* NULL: <data_dir>/weights/<pinned file>; else FID at every scale */
    const char *inception_sha256;  /* NULL: the pinned hash */
    int argc;              /* the command line, for the manifest */
    char **argv;
} gb_run_options;

#define GB_MAX_METRICS 64

typedef struct {
    char name[64];
    double value;
    char note[160];
} gb_metric;

typedef struct {
    const gb_run_options *opt;
    gb_device *dev;
    gb_manifest *manifest;
    char out_dir[1024];
    char dataset[256];       /* "synthetic:<generator>" or "<name> sha256:<hex>" */
    gb_metric metrics[GB_MAX_METRICS];
    size_t n_metrics;
} gb_run_context;

/* Record a metric for metrics.csv; note says what it is (protocol, N, ...). */
void gb_run_metric(gb_run_context *ctx, const char *name, double value, const char *note_fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "<out_dir>/<file>" into buf. */
const char *gb_run_path(const gb_run_context *ctx, const char *file, char *buf, size_t size);

typedef struct {
    const char *id;          /* e.g. "toy2d-langevin" */
    const char *summary;     /* one line for `genbench list` */
    const char *spec;        /* section of specs/pipelines.md */
    gb_status (*run)(gb_run_context *ctx);
} gb_pipeline;

/* The registry (registry.c). */
size_t gb_pipeline_count(void);
const gb_pipeline *gb_pipeline_at(size_t i);
const gb_pipeline *gb_pipeline_find(const char *id);

/* Run one pipeline end to end: device, output directory, manifest, metrics.csv (run.c). */
gb_status gb_pipeline_run(const gb_run_options *opt, char *out_dir_used, size_t out_size);

/* The pipelines themselves. */
gb_status gb_toy2d_langevin_run(gb_run_context *ctx);
gb_status gb_mnist_gan_run(gb_run_context *ctx);
gb_status gb_cub32_gan_run(gb_run_context *ctx);
gb_status gb_cub32_lsgan_run(gb_run_context *ctx);
gb_status gb_cub32_wgan_gp_run(gb_run_context *ctx);

#endif
