/* bench/bench_stats.h - summary statistics of timing samples and a noise-aware comparison. */
#ifndef GB_BENCH_STATS_H
#define GB_BENCH_STATS_H

#include <stddef.h>

typedef struct {
    double min, median, max;
} gb_bench_stats;

/* Sorts a copy of the samples. */
gb_bench_stats gb_bench_summarise(const double *samples, size_t n);
/* A one-line verdict for genbench (a) vs the peer (b): "clearly faster" only when a's max is below b's min
 * (or the reverse); overlapping ranges are called ambiguous rather than trusting medians. */
const char *gb_bench_verdict(const gb_bench_stats *a, const gb_bench_stats *b);

#endif
