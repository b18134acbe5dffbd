/* bench/compare.h - `genbench bench --compare A.csv B.csv`: a noise-aware verdict per row.
 *
 * Rows are matched by (kernel, direction, impl, shape, threads). For each timing
 * the interval median +- 3 * spread * median (spread = the robust relative spread
 * the harness recorded, floored at 1% so two very quiet runs are not called
 * different for a 1.5% shift) decides, never one number:
 *   faster:    B's interval lies entirely below A's;
 *   slower:    B's interval lies entirely above A's;
 *   same:      the intervals overlap and the medians differ by less than the larger
 *              half-width;
 *   ambiguous: they overlap but the medians differ by more than that (more samples
 *              would be needed to say).
 */
#ifndef GB_BENCH_COMPARE_H
#define GB_BENCH_COMPARE_H

#include "../core/status.h"

typedef enum { GB_BENCH_SAME, GB_BENCH_FASTER, GB_BENCH_SLOWER, GB_BENCH_AMBIGUOUS } gb_bench_verdict_kind;

/* median and relative spread of the baseline (a) and the candidate (b). */
gb_bench_verdict_kind gb_bench_verdict(double median_a, double spread_a, double median_b, double spread_b);
const char *gb_bench_verdict_name(gb_bench_verdict_kind v);

/* Print the per-row table and a summary line; *regressions = rows called slower.
 * GB_INPUT when a file is unreadable or lacks the harness's columns. */
gb_status gb_bench_compare_files(const char *path_a, const char *path_b, int *regressions);

#endif
