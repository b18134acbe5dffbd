/* bench/compare.c - compare two benchmark CSVs row by row (rule in bench/compare.h).
 * Exercised by tests/smoke.sh: a file against itself is all "same"; a doctored
 * regression is "slower" and --fail-on-regression exits 1. */
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/csv.h"

static const char *const key_cols[] = {"kernel", "direction", "impl", "shape", "threads"};
enum { N_KEYS = 5 };

gb_bench_verdict_kind gb_bench_verdict(double median_a, double spread_a, double median_b, double spread_b) {
    double ha = 3 * fmax(spread_a, 0.01) * median_a, hb = 3 * fmax(spread_b, 0.01) * median_b;
    if (median_b + hb < median_a - ha) return GB_BENCH_FASTER;
    if (median_b - hb > median_a + ha) return GB_BENCH_SLOWER;
    return fabs(median_b - median_a) <= fmax(ha, hb) ? GB_BENCH_SAME : GB_BENCH_AMBIGUOUS;
}

const char *gb_bench_verdict_name(gb_bench_verdict_kind v) {
    switch (v) {
    case GB_BENCH_SAME: return "same";
    case GB_BENCH_FASTER: return "faster";
    case GB_BENCH_SLOWER: return "slower";
    case GB_BENCH_AMBIGUOUS: return "ambiguous";
    }
    return "?";
}

static gb_status check_columns(const gb_csv_table *t) {
    const char *need[] = {"kernel", "direction", "impl", "shape", "threads", "median_s", "rel_spread", "timed"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (gb_csv_col(t, need[i]) < 0)
            return gb_fail(GB_INPUT, "%s: no column '%s': not a file written by `genbench bench`", t->source, need[i]);
    return GB_OK;
}

static int same_key(const gb_csv_table *a, size_t ra, const gb_csv_table *b, size_t rb) {
    for (int k = 0; k < N_KEYS; k++)
        if (strcmp(gb_csv_cell(a, ra, (size_t)gb_csv_col(a, key_cols[k])),
                   gb_csv_cell(b, rb, (size_t)gb_csv_col(b, key_cols[k]))) != 0)
            return 0;
    return 1;
}

static int is_timed(const gb_csv_table *t, size_t r) {
    return strcmp(gb_csv_cell(t, r, (size_t)gb_csv_col(t, "timed")), "1") == 0;
}

gb_status gb_bench_compare_files(const char *path_a, const char *path_b, int *regressions) {
    gb_csv_table a, b;
    GB_TRY(gb_csv_read(path_a, &a));
    gb_status s = gb_csv_read(path_b, &b);
    if (s != GB_OK) {
        gb_csv_free(&a);
        return s;
    }
    if ((s = check_columns(&a)) != GB_OK || (s = check_columns(&b)) != GB_OK) goto done;
    int counts[4] = {0}, unmatched = 0;
    *regressions = 0;
    printf("%-12s %-10s %-10s %-44s %11s %11s %8s  %s\n", "kernel", "direction", "impl", "shape", "A median", "B median",
           "B/A", "verdict");
    for (size_t rb = 0; rb < b.n_rows; rb++) {
        size_t ra = a.n_rows;
        for (size_t r = 0; r < a.n_rows; r++)
            if (same_key(&a, r, &b, rb)) {
                ra = r;
                break;
            }
        const char *kernel = gb_csv_cell(&b, rb, (size_t)gb_csv_col(&b, "kernel"));
        const char *dir = gb_csv_cell(&b, rb, (size_t)gb_csv_col(&b, "direction"));
        const char *impl = gb_csv_cell(&b, rb, (size_t)gb_csv_col(&b, "impl"));
        const char *shape = gb_csv_cell(&b, rb, (size_t)gb_csv_col(&b, "shape"));
        if (ra == a.n_rows || !is_timed(&a, ra) || !is_timed(&b, rb)) {
            unmatched++;
            printf("%-12s %-10s %-10s %-44.44s %11s %11s %8s  %s\n", kernel, dir, impl, shape, "-", "-", "-",
                   ra == a.n_rows ? "only in B" : "not timed");
            continue;
        }
        double ma, sa, mb, sb;
        if ((s = gb_csv_double(&a, ra, "median_s", &ma)) || (s = gb_csv_double(&a, ra, "rel_spread", &sa)) ||
            (s = gb_csv_double(&b, rb, "median_s", &mb)) || (s = gb_csv_double(&b, rb, "rel_spread", &sb)))
            goto done;
        gb_bench_verdict_kind v = gb_bench_verdict(ma, sa, mb, sb);
        counts[v]++;
        if (v == GB_BENCH_SLOWER) (*regressions)++;
        printf("%-12s %-10s %-10s %-44.44s %9.4gms %9.4gms %8.3f  %s\n", kernel, dir, impl, shape, 1e3 * ma, 1e3 * mb,
               mb / ma, gb_bench_verdict_name(v));
    }
    printf("summary: %d same, %d faster, %d slower, %d ambiguous, %d unmatched (A = %s, B = %s)\n", counts[0],
           counts[1], counts[2], counts[3], unmatched, path_a, path_b);
done:
    gb_csv_free(&a);
    gb_csv_free(&b);
    return s;
}
