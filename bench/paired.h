/* bench/paired.h - ours against a peer in alternating rounds (`genbench bench --rounds N`).
 *
 * The ordinary run times every row once, one after another: a PyTorch peer runs minutes
 * after the ours row it is compared with, so a change in the machine's load between the two
 * windows (other tenants of a shared VM, thermal state) moves the ratio. With --rounds N,
 * after the ordinary pass, every timed peer row and the ours rows it is compared with
 * (same kernel, direction and shape) are timed again N times, alternating: odd rounds run
 * the peer first, even rounds last, so a drift biases half the rounds each way. Each round
 * gives one ratio (peer median / ours median); the report is the median of the rounds'
 * ratios with their range. Written to stdout ("paired ratio ...") and DIR/ratios.csv.
 */
#ifndef GB_BENCH_PAIRED_H
#define GB_BENCH_PAIRED_H

#include "../core/manifest.h"
#include "harness.h"

enum { GB_BENCH_MAX_ROUNDS = 64 };

typedef struct {
    size_t peer, ours;                  /* case indices */
    int rounds;                         /* rounds with both sides timed */
    double ratio[GB_BENCH_MAX_ROUNDS];  /* per round: peer median / ours median */
    double median, lo, hi;
} gb_bench_pair;

/* Time every (peer, ours) pair among the selected, already timed rows `rounds` times as
 * described above. *pairs (malloc'd, *count entries) receives the results; rows whose round
 * failed to time are left out of that round. */
void gb_bench_run_pairs(gb_bench_list *cases, const gb_bench_result *results, const unsigned char *selected,
                        gb_device *dev, int threads, const gb_bench_method *m, int rounds, gb_bench_pair **pairs,
                        size_t *count);

/* Print one "paired ratio" line per pair and write them to path: the run manifest as
 * "# key: value" lines (as bench.csv), then CSV: kernel, direction, shape, ours, peer,
 * rounds, ratio_median, ratio_min, ratio_max, ratios. */
gb_status gb_bench_write_pairs(const gb_bench_list *cases, const gb_bench_pair *pairs, size_t count,
                               const gb_manifest *manifest, const char *path);

#endif
