/* bench/bench_main.c - `genbench bench`: run the benchmark registry, or compare two runs.
 *
 *   genbench bench [--filter S] [--device D] [--threads N] [--quick] [--rounds N] [--out DIR]
 *   genbench bench --compare A.csv B.csv [--fail-on-regression]
 *
 * A run measures the ceilings first, then every case whose "kernel/direction/impl/
 * shape" contains the filter, and writes DIR/bench.csv, DIR/bench.json and
 * DIR/roofline.png (default DIR: results/bench); with --rounds N, the ours-vs-peer pairs are
 * timed again in N alternating rounds (bench/paired.h) into DIR/ratios.csv. Timings never gate CI; tests/smoke.sh
 * runs --quick to prove the harness works and exercises --compare.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli.h"
#include "../core/atomic_file.h"
#include "../core/manifest.h"
#include "../kernels/cpu/cpu.h"
#ifdef GB_HAVE_CUDA
#include "../kernels/cuda/cuda_backend.h"
#endif
#include "cases.h"
#include "compare.h"
#include "output.h"
#include "paired.h"

static const char usage[] =
    "usage: genbench bench [--filter S] [--device cpu|cuda|auto] [--threads N] [--quick] [--rounds N]\n"
    "                      [--out DIR]\n"
    "       genbench bench --compare A.csv B.csv [--fail-on-regression]\n"
    "\n"
    "Times every kernel (forward and backward) and whole training steps on the pipelines' shapes,\n"
    "each implementation checked against the reference before it is timed, next to the measured\n"
    "fp32 FMA peak and copy bandwidth, and PyTorch peers side by side as ratios. Writes\n"
    "DIR/bench.csv, DIR/bench.json and DIR/roofline.png (default results/bench).\n"
    "  --filter S              only rows whose kernel/direction/impl/shape contains S\n"
    "  --quick                 a seconds-long smoke run (tiny budgets; CI uses it)\n"
    "  --rounds N              then time each ours row and the row it is compared with again in N\n"
    "                          alternating rounds (peer first, then last, ...): the median of the\n"
    "                          rounds' ratios and their range, in DIR/ratios.csv (1-64)\n"
    "  --compare A B           same / faster / slower / ambiguous per row, from the spreads\n"
    "  --fail-on-regression    with --compare: exit 1 when any row is clearly slower\n";

typedef struct {
    const char *filter, *device, *out, *compare_a, *compare_b;
    int threads, quick, fail_on_regression, rounds;
} bench_options;

static gb_status parse(int argc, char **argv, bench_options *o) {
    *o = (bench_options){.device = "cpu", .out = "results/bench", .threads = 2};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc && gb_cli_is_value(argv[i + 1]);
        if (!strcmp(a, "--quick")) o->quick = 1;
        else if (!strcmp(a, "--fail-on-regression")) o->fail_on_regression = 1;
        else if (!strcmp(a, "--filter") && has_value) o->filter = argv[++i];
        else if (!strcmp(a, "--device") && has_value) o->device = argv[++i];
        else if (!strcmp(a, "--out") && has_value) {
            GB_TRY(gb_cli_check_dir_length(a, argv[i + 1]));
            o->out = argv[++i];
        }
        else if (!strcmp(a, "--threads") && has_value) {
            unsigned long long v;
            GB_TRY(gb_cli_parse_u64(a, argv[++i], &v));
            if (v < 1 || v > 1024) return gb_fail(GB_USAGE, "--threads must be between 1 and 1024");
            o->threads = (int)v;
        } else if (!strcmp(a, "--rounds") && has_value) {
            unsigned long long v;
            GB_TRY(gb_cli_parse_u64(a, argv[++i], &v));
            if (v < 1 || v > GB_BENCH_MAX_ROUNDS)
                return gb_fail(GB_USAGE, "--rounds must be between 1 and %d", GB_BENCH_MAX_ROUNDS);
            o->rounds = (int)v;
        } else if (!strcmp(a, "--compare") && i + 2 < argc && gb_cli_is_value(argv[i + 1]) &&
                   gb_cli_is_value(argv[i + 2])) {
            o->compare_a = argv[++i];
            o->compare_b = argv[++i];
        } else
            return gb_fail(GB_USAGE, "unknown or incomplete option '%s' (see genbench bench --help)", a);
    }
    if (o->fail_on_regression && !o->compare_a)
        return gb_fail(GB_USAGE, "--fail-on-regression needs --compare A.csv B.csv");
    return GB_OK;
}

static int matches(const gb_bench_case *c, const char *filter) {
    if (!filter) return 1;
    char key[256];
    snprintf(key, sizeof key, "%s/%s/%s/%s", c->kernel, c->direction, c->impl, c->shape);
    return strstr(key, filter) != NULL;
}

/* The ceilings the rows are placed against: the CPU's (FMA chains, STREAM copy) on the cpu
 * device; on cuda the GPU's (a cold 1 GiB device-to-device copy and a cold 8192^3 cuBLAS sgemm,
 * CUDA events, L2 flushed between samples; kernels/cuda/ceilings.cu; never run yet), where a row
 * runs on the GPU and the CPU's would make %peak and the roofline meaningless; they go into the
 * manifest too, and a GPU that cannot measure them stops the bench (exit 5). Host rows (data,
 * Frechet) then show against the GPU's ceilings; their %peak is not what they are there for. */
static gb_status measure_ceilings(gb_ceilings *ce, gb_manifest *m, gb_device *dev, const bench_options *o) {
#ifdef GB_HAVE_CUDA
    if (strcmp(dev->ops->name, "cuda") == 0) {
        double copy_gbps = 0, sgemm_gflops = 0;
        char clocks[256] = "";
        GB_TRY(gb_cuda_measure_ceilings(&copy_gbps, &sgemm_gflops, clocks, sizeof clocks));
        *ce = (gb_ceilings){.fma_gflops = sgemm_gflops, .copy_gbps = copy_gbps, .threads = o->threads};
        snprintf(ce->vector_isa, sizeof ce->vector_isa, "cuBLAS sgemm");
        gb_manifest_set(m, "gpu_ceilings", "copy %.1f GB/s, sgemm %.1f GFLOP/s (%s)", copy_gbps, sgemm_gflops, clocks);
        return GB_OK;
    }
#endif
    (void)m;
    (void)dev;
    gb_ceilings_measure(ce, o->threads, o->quick);
    return GB_OK;
}

/* Select the rows --filter names that can run on dev (bench/harness.h, gb_bench_where): on a
 * device other than the CPU, CPU-only rows are left out and ours through the table are named
 * after the device. Returns how many rows the filter named but the device left out. */
static size_t select_rows(gb_bench_list *cases, unsigned char *selected, const gb_device *dev, const char *filter) {
    const int on_cpu = strcmp(dev->ops->name, "cpu") == 0;
    size_t left_out = 0;
    for (size_t i = 0; i < cases->count; i++) {
        gb_bench_case *c = &cases->items[i];
        if (!on_cpu && c->where == GB_BENCH_ON_DEVICE && strcmp(c->impl, "ours-cpu") == 0)
            snprintf(c->impl, sizeof c->impl, "ours-%s", dev->ops->name);
        const int wanted = matches(c, filter), runnable = on_cpu || c->where != GB_BENCH_CPU_ONLY;
        selected[i] = (unsigned char)(wanted && runnable);
        left_out += wanted && !runnable;
    }
    return left_out;
}

/* Select the rows (select_rows); none is a usage error that writes nothing (a mistyped filter
 * must not replace an earlier run's files with empty ones). */
static gb_status select_or_explain(gb_bench_list *cases, unsigned char *selected, const gb_device *dev,
                                   const char *filter) {
    const size_t left_out = select_rows(cases, selected, dev, filter);
    size_t n_selected = 0;
    for (size_t i = 0; i < cases->count; i++) n_selected += selected[i];
    if (n_selected == 0 && left_out)
        return gb_fail(GB_USAGE, "--filter '%s' matches only rows that run on the CPU alone (OpenBLAS, FFTW, the CPU "
                                 "backend's own routes): run them with --device cpu",
                       filter ? filter : "");
    if (n_selected == 0)
        return gb_fail(GB_USAGE, "--filter '%s' matches no benchmark (they are named kernel/direction/impl/shape; "
                                 "`genbench bench --quick` lists them)",
                       filter ? filter : "");
    if (left_out)
        printf("bench: %zu row%s that run on the CPU alone (OpenBLAS, FFTW, the CPU backend's own routes) left out "
               "on %s\n", left_out, left_out == 1 ? "" : "s", dev->ops->name);
    return GB_OK;
}

/* Time the selected rows, then write bench.csv, bench.json, roofline.png and (--rounds)
 * ratios.csv into o->out. The files are written either way; the status says whether every row
 * could be trusted: a failed check is a numerical failure (4), a row that could not run (a
 * missing peer, a setup error) an environment one (5). */
static gb_status run_and_write(gb_bench_list *cases, gb_bench_result *results, const unsigned char *selected,
                               gb_device *dev, const bench_options *o, int argc, char **argv) {
    gb_manifest m;
    gb_manifest_init(&m);
    gb_manifest_add_build_info(&m, argc, argv);
    gb_ceilings ceilings;
    gb_status s = measure_ceilings(&ceilings, &m, dev, o);
    if (s != GB_OK) {
        gb_manifest_free(&m);
        return s;
    }
    gb_bench_method method = gb_bench_method_default(o->quick);
    for (size_t i = 0; i < cases->count; i++) {
        if (!selected[i]) continue;
        fprintf(stderr, "bench: %s %s %s [%s]\n", cases->items[i].kernel, cases->items[i].direction,
                cases->items[i].impl, cases->items[i].shape);
        gb_bench_run_case(&cases->items[i], dev, o->threads, &method, &results[i]);
    }

    gb_manifest_set(&m, "device", "%s", dev->name);
    gb_manifest_set(&m, "threads", "%d", o->threads);
    gb_manifest_set(&m, "blas_spin", "%s", gb_cpu_blas_spin());
    gb_manifest_set(&m, "method", "%s", o->quick ? "quick (smoke: timings not meaningful)" : "full");
    gb_bench_run run = {.cases = cases, .results = results, .selected = selected, .ceilings = &ceilings,
                        .manifest = &m, .device_name = dev->name, .threads = o->threads};
    gb_bench_print_table(&run);
    char path[1024];
    snprintf(path, sizeof path, "%s/bench.csv", o->out);
    s = gb_bench_write_csv(&run, path);
    if (s == GB_OK) {
        snprintf(path, sizeof path, "%s/bench.json", o->out);
        s = gb_bench_write_json(&run, path);
    }
    if (s == GB_OK) {
        snprintf(path, sizeof path, "%s/roofline.png", o->out);
        s = gb_bench_write_roofline(&run, path);
    }
    if (s == GB_OK) printf("wrote %s/bench.csv, bench.json and roofline.png\n", o->out);
    snprintf(path, sizeof path, "%s/ratios.csv", o->out);
    if (s == GB_OK && o->rounds == 0 && remove(path) == 0) /* an earlier run's, not this one's */
        printf("removed %s from an earlier run (this one ran no --rounds)\n", path);
    if (s == GB_OK && o->rounds > 0) {
        gb_bench_pair *pairs;
        size_t npairs;
        gb_bench_run_pairs(cases, results, selected, dev, o->threads, &method, o->rounds, &pairs, &npairs);
        s = gb_bench_write_pairs(cases, pairs, npairs, &m, path);
        if (s == GB_OK) printf("wrote %s/ratios.csv (%zu pair%s)\n", o->out, npairs, npairs == 1 ? "" : "s");
        free(pairs);
    }
    gb_manifest_free(&m);
    size_t mismatched = 0, errored = 0;
    for (size_t i = 0; i < cases->count; i++) {
        if (!selected[i]) continue;
        mismatched += strcmp(results[i].check, "MISMATCH") == 0;
        errored += strcmp(results[i].check, "error") == 0;
    }
    if (s == GB_OK && mismatched)
        return gb_fail(GB_NUMERIC, "%zu row%s failed the check against the reference (the check column of bench.csv)",
                       mismatched, mismatched == 1 ? "" : "s");
    if (s == GB_OK && errored)
        return gb_fail(GB_ENV, "%zu row%s could not run: a missing peer or a setup error (the note column of bench.csv)",
                       errored, errored == 1 ? "" : "s");
    return s;
}

static gb_status run_all(const bench_options *o, int argc, char **argv) {
    gb_device dev;
    GB_TRY(gb_device_open(&dev, o->device, o->threads));
    /* the PyTorch peers run where ours run: a peer that has a GPU version reads this */
    setenv("GB_BENCH_DEVICE", dev.ops->name, 1);
    gb_bench_list cases = {0};
    gb_bench_add_linear_cases(&cases, o->quick);
    gb_bench_add_step_cases(&cases, o->quick);
    gb_bench_add_conv_cases(&cases, o->quick);
    gb_bench_add_spec_cases(&cases, o->quick);
    gb_bench_add_pointwise_cases(&cases, o->quick);
    gb_bench_add_data_cases(&cases, o->quick);
    gb_bench_add_fid_cases(&cases, o->quick);
    gb_bench_result *results = calloc(cases.count, sizeof *results);
    unsigned char *selected = calloc(cases.count, 1);
    GB_ASSERT(results && selected, "out of memory for %zu benchmark rows", cases.count);
    gb_status s = select_or_explain(&cases, selected, &dev, o->filter);
    /* The output folder comes before any timing: a bad --out fails before a long run, not after. */
    if (s == GB_OK) s = o->out[0] ? gb_mkdirs(o->out) : gb_fail(GB_USAGE, "--out needs a folder name");
    if (s == GB_OK) s = run_and_write(&cases, results, selected, &dev, o, argc, argv);
    free(results);
    free(selected);
    gb_bench_list_free(&cases);
    gb_device_close(&dev);
    return s;
}

gb_status gb_cmd_bench(int argc, char **argv) {
    if (gb_cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return GB_OK;
    }
    bench_options o;
    GB_TRY(parse(argc, argv, &o));
    if (o.compare_a) {
        int regressions = 0;
        GB_TRY(gb_bench_compare_files(o.compare_a, o.compare_b, o.fail_on_regression, &regressions));
        if (o.fail_on_regression && regressions > 0)
            return gb_fail(GB_GATE_FAILED, "%d row%s clearly slower than the baseline, or lost", regressions,
                           regressions == 1 ? "" : "s");
        return GB_OK;
    }
    return run_all(&o, argc, argv);
}
