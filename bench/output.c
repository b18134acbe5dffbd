/* bench/output.c - print and write a benchmark run (bench/output.h).
 *
 * Percent of peak: GFLOP/s over the measured fp32 FMA peak for FLOP-counted rows,
 * GB/s over the measured copy bandwidth for the rest. Ratios: for every row of a
 * non-"ours" implementation (a peer or the reference library), the row of ours with
 * the same kernel, direction and shape is looked up and peer median / ours median
 * printed (> 1: ours is faster).
 * Exercised by tests/smoke.sh (`genbench bench --quick` writes and re-reads the CSV).
 */
#include "output.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/atomic_file.h"
#include "../core/csv.h"
#include "../core/plot.h"

static double gflops(const gb_bench_case *c, const gb_bench_result *r) {
    return c->flops > 0 && r->timed ? c->flops / r->median_s / 1e9 : NAN;
}
static double gbps(const gb_bench_case *c, const gb_bench_result *r) {
    return c->bytes > 0 && r->timed ? c->bytes / r->median_s / 1e9 : NAN;
}
static double pct_peak(const gb_bench_run *run, const gb_bench_case *c, const gb_bench_result *r) {
    if (!r->timed) return NAN;
    if (c->flops > 0) return 100 * gflops(c, r) / run->ceilings->fma_gflops;
    if (c->bytes > 0) return 100 * gbps(c, r) / run->ceilings->copy_gbps;
    return NAN;
}

void gb_bench_print_table(const gb_bench_run *run) {
    const gb_ceilings *ce = run->ceilings;
    printf("device: %s; %d thread%s\n", run->device_name, run->threads, run->threads == 1 ? "" : "s");
    printf("ceilings: compute %.1f GFLOP/s (%s), copy bandwidth %.1f GB/s\n", ce->fma_gflops, ce->vector_isa,
           ce->copy_gbps);
    printf("%-12s %-10s %-10s %-40s %6s %9s %9s %9s %6s %8s %7s %6s\n", "kernel", "direction", "impl", "shape", "check",
           "min ms", "median", "max ms", "spread", "GFLOP/s", "GB/s", "%peak");
    for (size_t i = 0; i < run->cases->count; i++) {
        if (!run->selected[i]) continue;
        const gb_bench_case *c = &run->cases->items[i];
        const gb_bench_result *r = &run->results[i];
        if (!r->timed) {
            printf("%-12s %-10s %-10s %-40.40s %6s  not timed: %s\n", c->kernel, c->direction, c->impl, c->shape,
                   r->check, r->note);
            continue;
        }
        printf("%-12s %-10s %-10s %-40.40s %6s %9.4f %9.4f %9.4f %5.1f%% %8.1f %7.1f %5.1f%%\n", c->kernel,
               c->direction, c->impl, c->shape, r->check, 1e3 * r->min_s, 1e3 * r->median_s, 1e3 * r->max_s,
               100 * r->rel_spread, gflops(c, r), gbps(c, r), pct_peak(run, c, r));
    }
    /* a peer row against every timed ours row of its kernel, direction and shape (ours-cpu,
     * ours-fast, ...) */
    for (size_t i = 0; i < run->cases->count; i++) {
        const gb_bench_case *c = &run->cases->items[i];
        if (!run->selected[i] || gb_bench_is_ours(c) || !run->results[i].timed) continue;
        for (size_t j = 0; j < run->cases->count; j++) {
            const gb_bench_case *o = &run->cases->items[j];
            if (!run->selected[j] || !run->results[j].timed || !gb_bench_compared(c, o)) continue;
            /* the min ratio too: on a shared machine the medians carry other tenants' load,
             * which a row that runs two thread pools (ours) feels more than one that runs one */
            printf("ratio %s %s [%s]: %s median / %s median = %.2fx%s (mins: %.2fx)\n", c->kernel, c->direction,
                   c->shape, c->impl, o->impl, run->results[i].median_s / run->results[j].median_s,
                   run->results[i].median_s > run->results[j].median_s ? " (ours faster)" : " (ours slower)",
                   run->results[i].min_s / run->results[j].min_s);
        }
    }
}

static void fmt_num(char *buf, size_t cap, double v) {
    if (isnan(v)) snprintf(buf, cap, "%s", "");
    else snprintf(buf, cap, "%.6g", v);
}

void gb_bench_write_manifest_lines(FILE *fp, const gb_manifest *m) {
    for (size_t k = 0; k < m->n; k++) fprintf(fp, "# %s: %s\n", m->keys[k], m->values[k]);
}

gb_status gb_bench_write_csv(const gb_bench_run *run, const char *path) {
    gb_atomic_file af;
    GB_TRY(gb_atomic_open(&af, path));
    gb_bench_write_manifest_lines(af.fp, run->manifest);
    fprintf(af.fp, "# ceilings: fma_gflops %.6g (%s), copy_gbps %.6g\n", run->ceilings->fma_gflops,
            run->ceilings->vector_isa, run->ceilings->copy_gbps);
    static const char *const header[] = {"kernel", "direction", "impl", "shape", "threads", "device", "timed", "check",
                                         "check_error", "samples", "min_s", "median_s", "max_s", "rel_spread",
                                         "flops", "bytes", "gflops", "gbps", "pct_peak", "note"};
    gb_csv_write_row(af.fp, header, sizeof header / sizeof header[0]);
    for (size_t i = 0; i < run->cases->count; i++) {
        if (!run->selected[i]) continue;
        const gb_bench_case *c = &run->cases->items[i];
        const gb_bench_result *r = &run->results[i];
        char threads[16], timed[4], err[32], samples[24], mn[32], md[32], mx[32], sp[32], fl[32], by[32], gf[32],
            gb[32], pp[32];
        snprintf(threads, sizeof threads, "%d", run->threads);
        snprintf(timed, sizeof timed, "%d", r->timed);
        fmt_num(err, sizeof err, c->check ? r->check_error : NAN);
        snprintf(samples, sizeof samples, "%zu", r->samples);
        fmt_num(mn, sizeof mn, r->timed ? r->min_s : NAN);
        fmt_num(md, sizeof md, r->timed ? r->median_s : NAN);
        fmt_num(mx, sizeof mx, r->timed ? r->max_s : NAN);
        fmt_num(sp, sizeof sp, r->timed ? r->rel_spread : NAN);
        fmt_num(fl, sizeof fl, c->flops > 0 ? c->flops : NAN);
        fmt_num(by, sizeof by, c->bytes > 0 ? c->bytes : NAN);
        fmt_num(gf, sizeof gf, gflops(c, r));
        fmt_num(gb, sizeof gb, gbps(c, r));
        fmt_num(pp, sizeof pp, pct_peak(run, c, r));
        const char *row[] = {c->kernel, c->direction, c->impl, c->shape, threads, run->device_name, timed, r->check,
                             err, samples, mn, md, mx, sp, fl, by, gf, gb, pp, r->note};
        gb_csv_write_row(af.fp, row, sizeof row / sizeof row[0]);
    }
    return gb_atomic_commit(&af);
}

static void add_number(cJSON *o, const char *key, double v) {
    if (isnan(v)) cJSON_AddNullToObject(o, key);
    else cJSON_AddNumberToObject(o, key, v);
}

gb_status gb_bench_write_json(const gb_bench_run *run, const char *path) {
    cJSON *root = cJSON_CreateObject(), *manifest = cJSON_AddObjectToObject(root, "manifest");
    for (size_t k = 0; k < run->manifest->n; k++)
        cJSON_AddStringToObject(manifest, run->manifest->keys[k], run->manifest->values[k]);
    cJSON *ce = cJSON_AddObjectToObject(root, "ceilings");
    add_number(ce, "fma_gflops", run->ceilings->fma_gflops);
    add_number(ce, "copy_gbps", run->ceilings->copy_gbps);
    cJSON_AddStringToObject(ce, "vector_isa", run->ceilings->vector_isa);
    cJSON *rows = cJSON_AddArrayToObject(root, "rows");
    for (size_t i = 0; i < run->cases->count; i++) {
        if (!run->selected[i]) continue;
        const gb_bench_case *c = &run->cases->items[i];
        const gb_bench_result *r = &run->results[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kernel", c->kernel);
        cJSON_AddStringToObject(o, "direction", c->direction);
        cJSON_AddStringToObject(o, "impl", c->impl);
        cJSON_AddStringToObject(o, "shape", c->shape);
        cJSON_AddNumberToObject(o, "threads", run->threads);
        cJSON_AddStringToObject(o, "device", run->device_name);
        cJSON_AddBoolToObject(o, "timed", r->timed);
        cJSON_AddStringToObject(o, "check", r->check);
        add_number(o, "check_error", c->check ? r->check_error : NAN);
        cJSON_AddNumberToObject(o, "samples", (double)r->samples);
        add_number(o, "min_s", r->timed ? r->min_s : NAN);
        add_number(o, "median_s", r->timed ? r->median_s : NAN);
        add_number(o, "max_s", r->timed ? r->max_s : NAN);
        add_number(o, "rel_spread", r->timed ? r->rel_spread : NAN);
        add_number(o, "flops", c->flops > 0 ? c->flops : NAN);
        add_number(o, "bytes", c->bytes > 0 ? c->bytes : NAN);
        add_number(o, "gflops", gflops(c, r));
        add_number(o, "gbps", gbps(c, r));
        add_number(o, "pct_peak", pct_peak(run, c, r));
        cJSON_AddStringToObject(o, "note", r->note);
        cJSON_AddItemToArray(rows, o);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    gb_atomic_file af;
    gb_status s = gb_atomic_open(&af, path);
    if (s == GB_OK) {
        fputs(text, af.fp);
        fputc('\n', af.fp);
        s = gb_atomic_commit(&af);
    }
    cJSON_free(text);
    return s;
}

/* x: log10 of arithmetic intensity (FLOP per byte), y: GFLOP/s on a log axis; the two
 * ceilings drawn as the roof min(peak, bandwidth * intensity). */
gb_status gb_bench_write_roofline(const gb_bench_run *run, const char *path) {
    const double peak = run->ceilings->fma_gflops, bw = run->ceilings->copy_gbps;
    double xmin = -2, xmax = 3;
    gb_plot *p = gb_plot_new(900, 600, "roofline: kernels against the measured ceilings", xmin, xmax, 0.1, peak * 2);
    if (!p) return gb_fail(GB_ENV, "roofline plot: %s", gb_last_error());
    gb_plot_set_labels(p, "log10 arithmetic intensity (FLOP/byte)", "GFLOP/s");
    gb_plot_set_log_y(p, 1);
    enum { ROOF = 200 };
    double rx[ROOF], ry[ROOF];
    for (int i = 0; i < ROOF; i++) {
        rx[i] = xmin + (xmax - xmin) * i / (ROOF - 1);
        ry[i] = fmin(peak, bw * pow(10, rx[i]));
    }
    gb_plot_polyline(p, rx, ry, ROOF, GB_RGB_GREY, 2);
    gb_plot_legend(p, "measured roof", GB_RGB_GREY);
    /* One colour per implementation, in order of first appearance. */
    char impls[8][24];
    int n_impls = 0;
    for (size_t i = 0; i < run->cases->count; i++) {
        const gb_bench_case *c = &run->cases->items[i];
        const gb_bench_result *r = &run->results[i];
        if (!run->selected[i] || !r->timed || c->flops <= 0 || c->bytes <= 0) continue;
        int k = 0;
        while (k < n_impls && strcmp(impls[k], c->impl) != 0) k++;
        if (k == n_impls && n_impls < 8) {
            snprintf(impls[n_impls++], sizeof impls[0], "%s", c->impl);
            gb_plot_legend(p, c->impl, gb_palette(k));
        }
        float xy[2] = {(float)log10(c->flops / c->bytes), (float)gflops(c, r)};
        gb_plot_points(p, xy, 1, gb_palette(k), 4);
    }
    gb_status s = gb_plot_save(p, path);
    gb_plot_free(p);
    return s;
}
