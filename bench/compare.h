/* bench/compare.h - `genbench bench --compare A.csv B.csv`: a noise-aware verdict per row.
 *
 * Rows are matched by (kernel, direction, impl, shape, threads) and the device's kind (the
 * device column's first word: "cpu", "cuda"; a GPU row never meets a CPU row). For each timing the interval
 * median +- 3 * spread * median decides, never one number. spread is the robust relative
 * spread the harness recorded, floored at GB_BENCH_SPREAD_FLOOR: within-run spreads miss the
 * run-to-run drift of a shared machine, where back-to-back runs of one binary move rows by
 * several percent.
 *   faster:    B's interval lies entirely below A's;
 *   slower:    B's interval lies entirely above A's;
 *   same:      the medians differ by less than the larger half-width AND both half-widths are
 *              at most GB_BENCH_SAME_WITHIN of their medians, so "same" bounds the change;
 *   ambiguous: anything else (noisy runs, or a difference the spreads cannot settle).
 * Both files are checked before anything is printed: every timed row needs a finite positive
 * median and a finite non-negative spread, and no key may appear twice (GB_INPUT). Rows timed
 * in A but absent or untimed in B (their check failed, they errored, a filter dropped them)
 * are LOST and count as regressions; two files without a timed row in common are GB_INPUT.
 * --fail-on-regression refuses files written by --quick (GB_USAGE): their timings are a smoke
 * test. Tested by tests/smoke.sh.
 */
#ifndef GB_BENCH_COMPARE_H
#define GB_BENCH_COMPARE_H

#include "../core/status.h"

#define GB_BENCH_SPREAD_FLOOR 0.03
#define GB_BENCH_SAME_WITHIN 0.10

typedef enum { GB_BENCH_SAME, GB_BENCH_FASTER, GB_BENCH_SLOWER, GB_BENCH_AMBIGUOUS } gb_bench_verdict_kind;

/* median and relative spread of the baseline (a) and the candidate (b). */
gb_bench_verdict_kind gb_bench_verdict(double median_a, double spread_a, double median_b, double spread_b);
const char *gb_bench_verdict_name(gb_bench_verdict_kind v);

/* Print the per-row table and a summary line; *regressions = rows called slower + rows lost.
 * GB_INPUT when a file is unreadable, lacks the harness's columns or holds a bad row, or when
 * nothing was compared; GB_USAGE for a --quick file under fail_on_regression. */
gb_status gb_bench_compare_files(const char *path_a, const char *path_b, int fail_on_regression, int *regressions);

#endif
