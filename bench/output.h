/* bench/output.h - what a benchmark run writes: the stdout table with the ours-vs-peer
 * ratios, bench.csv and bench.json (with the run manifest and the ceilings), and the
 * roofline plot (PNG). */
#ifndef GB_BENCH_OUTPUT_H
#define GB_BENCH_OUTPUT_H

#include <stdio.h>

#include "../core/manifest.h"
#include "ceilings.h"
#include "harness.h"

typedef struct {
    const gb_bench_list *cases;
    const gb_bench_result *results; /* one per case; rows skipped by --filter have samples 0 and timed 0 */
    const unsigned char *selected;  /* 1 when the case ran */
    const gb_ceilings *ceilings;
    const gb_manifest *manifest;
    const char *device_name;
    int threads;
} gb_bench_run;

void gb_bench_print_table(const gb_bench_run *run);
/* The run manifest as "# key: value" lines, the head of every CSV a run writes. */
void gb_bench_write_manifest_lines(FILE *fp, const gb_manifest *m);
gb_status gb_bench_write_csv(const gb_bench_run *run, const char *path);
gb_status gb_bench_write_json(const gb_bench_run *run, const char *path);
gb_status gb_bench_write_roofline(const gb_bench_run *run, const char *path);

#endif
