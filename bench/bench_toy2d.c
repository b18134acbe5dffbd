/* bench/bench_toy2d.c - `genbench bench`: the toy2d-langevin training step, ours vs PyTorch.
 *
 * Both sides run the same step on the same thread count in one invocation: the ScoreNet MLP
 * (8 layers, width 128) on all 1291 CS446 points, fused half-squared-error loss, backward,
 * Adam; fixed inputs (the per-step noise draws are excluded on both sides). Each side is
 * warmed up, then timed over REPS steps with a monotonic clock; we report min / median / max
 * and the ratio of medians (PyTorch / ours; > 1 means genbench is faster). Timings are not
 * tests: nothing here gates CI. Results go to stdout and to results/bench/toy2d_step.csv.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli.h"
#include "../core/atomic_file.h"
#include "../core/manifest.h"
#include "../core/philox.h"
#include "../core/progress.h"
#include "../models/scorenet_mlp.h"
#include "bench_stats.h"

#define ROWS 1291
#define WIDTH 128
#define LAYERS 8

static void time_ours(gb_device *dev, size_t warmup, size_t reps, double *times) {
    gb_scorenet_mlp net;
    gb_scorenet_mlp_create(&net, dev, LAYERS, WIDTH, 3, 2, ROWS);
    gb_params_init(&net.params, dev, 0);
    float *host = malloc(ROWS * 3 * sizeof(float));
    gb_stream st = gb_stream_open(0, "bench/input");
    gb_stream_normal(&st, host, ROWS * 3);
    gb_upload(dev, net.input, host, ROWS * 3 * sizeof(float));
    float *target = gb_dev_alloc(dev, ROWS * 2 * sizeof(float));
    gb_stream_normal(&st, host, ROWS * 2);
    gb_upload(dev, target, host, ROWS * 2 * sizeof(float));
    float *loss = gb_dev_alloc(dev, sizeof(float));
    gb_adam_hparams hp = {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    for (size_t i = 0; i < warmup + reps; i++) {
        double t0 = gb_now_seconds();
        gb_params_zero_grad(&net.params, dev);
        float *out = gb_scorenet_mlp_forward(&net, dev, ROWS);
        gb_half_sq_error(dev, loss, net.dout, out, target, ROWS, 2);
        gb_scorenet_mlp_backward(&net, dev, ROWS);
        gb_params_adam_step(&net.params, dev, &hp, (long)i + 1);
        float l;
        gb_download(dev, &l, loss, sizeof l); /* the step is complete when its loss is back */
        if (i >= warmup) times[i - warmup] = gb_now_seconds() - t0;
    }
    gb_dev_free(dev, loss);
    gb_dev_free(dev, target);
    free(host);
    gb_scorenet_mlp_destroy(&net, dev);
}

/* Run the PyTorch peer and parse its times; GB_ENV when it cannot run. */
static gb_status time_pytorch(int threads, size_t warmup, size_t reps, double *times, char *version, size_t vsize) {
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/bench/peers/toy2d_step.py %d %d %d %d %zu %zu", gb_source_dir(),
             ROWS, WIDTH, LAYERS, threads, warmup, reps);
    FILE *p = popen(cmd, "r");
    if (!p) return gb_fail(GB_ENV, "cannot start the PyTorch peer: %s", cmd);
    static char out[1 << 16];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    char *t = strstr(out, "\"times_s\": [");
    if (rc != 0 || !t)
        return gb_fail(GB_ENV, "the PyTorch peer failed (exit %d): %s; is python3-torch installed (make deps)?", rc, cmd);
    t += strlen("\"times_s\": [");
    for (size_t i = 0; i < reps; i++) {
        char *end;
        times[i] = strtod(t, &end);
        if (end == t) return gb_fail(GB_ENV, "cannot parse the PyTorch peer's output: %.200s", out);
        t = end + 1;
    }
    char *v = strstr(out, "\"torch\": \"");
    snprintf(version, vsize, "%.*s", v ? (int)strcspn(v + 10, "\"") : 7, v ? v + 10 : "unknown");
    return GB_OK;
}

gb_status gb_cmd_bench(int argc, char **argv) {
    if (gb_cli_wants_help(argc, argv)) {
        printf("usage: genbench bench [--threads N] [--reps N]\n"
               "times the toy2d-langevin training step (8x128 MLP, 1291 points, Adam) against the same step\n"
               "in PyTorch with the same thread count, in one run; prints min/median/max and the ratio\n");
        return GB_OK;
    }
    int threads = 2;
    size_t reps = 50, warmup = 10;
    for (int i = 1; i < argc; i++) {
        unsigned long long v;
        if (i + 1 < argc && strcmp(argv[i], "--threads") == 0) {
            GB_TRY(gb_cli_parse_u64(argv[i], argv[i + 1], &v));
            threads = (int)(v ? v : 1);
            i++;
        } else if (i + 1 < argc && strcmp(argv[i], "--reps") == 0) {
            GB_TRY(gb_cli_parse_u64(argv[i], argv[i + 1], &v));
            reps = v ? v : 1;
            i++;
        } else {
            return gb_fail(GB_USAGE, "unknown option '%s' (see --help)", argv[i]);
        }
    }
    gb_device dev;
    GB_TRY(gb_device_open(&dev, "cpu", threads));
    double *ours = calloc(reps, sizeof *ours), *torch = calloc(reps, sizeof *torch);
    time_ours(&dev, warmup, reps, ours);
    char torch_version[64];
    gb_status s = time_pytorch(threads, warmup, reps, torch, torch_version, sizeof torch_version);
    if (s == GB_OK) {
        gb_bench_stats a = gb_bench_summarise(ours, reps), b = gb_bench_summarise(torch, reps);
        printf("toy2d-langevin training step: %d rows, %dx%d MLP, Adam; %d threads; %zu timed steps each\n", ROWS,
               LAYERS, WIDTH, threads, reps);
        printf("%-24s %10s %10s %10s\n", "implementation", "min ms", "median ms", "max ms");
        printf("%-24s %10.3f %10.3f %10.3f\n", "genbench cpu", 1e3 * a.min, 1e3 * a.median, 1e3 * a.max);
        char label[96];
        snprintf(label, sizeof label, "pytorch %s", torch_version);
        printf("%-24s %10.3f %10.3f %10.3f\n", label, 1e3 * b.min, 1e3 * b.median, 1e3 * b.max);
        printf("speed-up (pytorch median / genbench median): %.2fx  [%s]\n", b.median / a.median,
               gb_bench_verdict(&a, &b));
        gb_atomic_file af;
        s = gb_mkdirs("results/bench");
        if (s == GB_OK) s = gb_atomic_open(&af, "results/bench/toy2d_step.csv");
        if (s == GB_OK) {
            fprintf(af.fp, "# %s commit %s; device %s\nbench,impl,threads,reps,min_s,median_s,max_s\n", gb_version(),
                    gb_git_commit(), dev.name);
            fprintf(af.fp, "toy2d_step,genbench-cpu,%d,%zu,%.6g,%.6g,%.6g\n", threads, reps, a.min, a.median, a.max);
            fprintf(af.fp, "toy2d_step,%s,%d,%zu,%.6g,%.6g,%.6g\n", label, threads, reps, b.min, b.median, b.max);
            s = gb_atomic_commit(&af);
        }
    }
    free(ours);
    free(torch);
    gb_device_close(&dev);
    return s;
}
