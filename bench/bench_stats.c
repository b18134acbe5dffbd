/* bench/bench_stats.c - min/median/max of timing samples and the overlap verdict. */
#include "bench_stats.h"

#include <stdlib.h>
#include <string.h>

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

gb_bench_stats gb_bench_summarise(const double *samples, size_t n) {
    gb_bench_stats s = {0, 0, 0};
    if (n == 0) return s;
    double *sorted = malloc(n * sizeof *sorted);
    if (!sorted) return s;
    memcpy(sorted, samples, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare_doubles);
    s.min = sorted[0];
    s.max = sorted[n - 1];
    s.median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    free(sorted);
    return s;
}

const char *gb_bench_verdict(const gb_bench_stats *a, const gb_bench_stats *b) {
    if (a->max < b->min) return "genbench clearly faster: ranges do not overlap";
    if (b->max < a->min) return "genbench clearly slower: ranges do not overlap";
    return "ranges overlap: ambiguous";
}
