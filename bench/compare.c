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
    double ra = 3 * fmax(spread_a, GB_BENCH_SPREAD_FLOOR), rb = 3 * fmax(spread_b, GB_BENCH_SPREAD_FLOOR);
    double ha = ra * median_a, hb = rb * median_b;
    if (median_b + hb < median_a - ha) return GB_BENCH_FASTER;
    if (median_b - hb > median_a + ha) return GB_BENCH_SLOWER;
    /* "same" bounds the change: only when both runs were quiet enough to bound it tightly */
    if (fmax(ra, rb) <= GB_BENCH_SAME_WITHIN && fabs(median_b - median_a) <= fmax(ha, hb)) return GB_BENCH_SAME;
    return GB_BENCH_AMBIGUOUS;
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

/* The device column's kind, its first word ("cpu", "cuda"): a row timed on a GPU is never
 * compared with one timed on the CPU. Files without the column (older ones) count as the same. */
static size_t device_kind(const gb_csv_table *t, size_t r, const char **kind) {
    int col = gb_csv_col(t, "device");
    *kind = col < 0 ? "" : gb_csv_cell(t, r, (size_t)col);
    return strcspn(*kind, " (");
}

static int same_key(const gb_csv_table *a, size_t ra, const gb_csv_table *b, size_t rb) {
    for (int k = 0; k < N_KEYS; k++)
        if (strcmp(gb_csv_cell(a, ra, (size_t)gb_csv_col(a, key_cols[k])),
                   gb_csv_cell(b, rb, (size_t)gb_csv_col(b, key_cols[k]))) != 0)
            return 0;
    const char *ka, *kb;
    size_t na = device_kind(a, ra, &ka), nb = device_kind(b, rb, &kb);
    return gb_csv_col(a, "device") < 0 || gb_csv_col(b, "device") < 0 || (na == nb && strncmp(ka, kb, na) == 0);
}

static int is_timed(const gb_csv_table *t, size_t r) {
    return strcmp(gb_csv_cell(t, r, (size_t)gb_csv_col(t, "timed")), "1") == 0;
}

/* A file written by `genbench bench --quick` (its "# method: quick" header line). */
static int is_quick(const char *path) {
    FILE *f = fopen(path, "r");
    char line[512];
    int quick = 0;
    while (f && fgets(line, sizeof line, f) && line[0] == '#')
        if (strncmp(line, "# method: quick", 15) == 0) quick = 1;
    if (f) fclose(f);
    return quick;
}

/* Every timed row has a finite positive median and a finite non-negative spread, and no key
 * appears twice: checked before anything is printed. */
static gb_status check_rows(const gb_csv_table *t) {
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t q = 0; q < r; q++)
            if (same_key(t, q, t, r))
                return gb_fail(GB_INPUT, "%s: data rows %zu and %zu have the same kernel, direction, impl, shape and "
                                         "threads",
                               t->source, q + 1, r + 1);
        if (!is_timed(t, r)) continue;
        double m, sp;
        GB_TRY(gb_csv_double(t, r, "median_s", &m));
        GB_TRY(gb_csv_double(t, r, "rel_spread", &sp));
        if (!(isfinite(m) && m > 0) || !(isfinite(sp) && sp >= 0))
            return gb_fail(GB_INPUT, "%s: data row %zu: median %g s and spread %g: a timed row needs a finite positive "
                                     "median and a finite non-negative spread",
                           t->source, r + 1, m, sp);
    }
    return GB_OK;
}

static size_t find_row(const gb_csv_table *t, const gb_csv_table *other, size_t row) {
    for (size_t r = 0; r < t->n_rows; r++)
        if (same_key(t, r, other, row)) return r;
    return t->n_rows;
}

static void print_unmatched(const gb_csv_table *t, size_t r, const char *why) {
#define CELL(name) gb_csv_cell(t, r, (size_t)gb_csv_col(t, name))
    printf("%-12s %-10s %-10s %-44.44s %11s %11s %8s  %s\n", CELL("kernel"), CELL("direction"), CELL("impl"),
           CELL("shape"), "-", "-", "-", why);
#undef CELL
}

gb_status gb_bench_compare_files(const char *path_a, const char *path_b, int fail_on_regression, int *regressions) {
    int quick_a = is_quick(path_a), quick_b = is_quick(path_b);
    if (fail_on_regression && (quick_a || quick_b))
        return gb_fail(GB_USAGE, "%s was written by `genbench bench --quick`, whose timings are a smoke test: "
                                 "--fail-on-regression needs full runs",
                       quick_a ? path_a : path_b);
    gb_csv_table a, b;
    GB_TRY(gb_csv_read(path_a, &a));
    gb_status s = gb_csv_read(path_b, &b);
    if (s != GB_OK) {
        gb_csv_free(&a);
        return s;
    }
    if ((s = check_columns(&a)) != GB_OK || (s = check_columns(&b)) != GB_OK) goto done;
    if ((s = check_rows(&a)) != GB_OK || (s = check_rows(&b)) != GB_OK) goto done;
    if (quick_a || quick_b)
        printf("note: a --quick file: its timings are a smoke test, and verdicts on them mean little\n");
    int counts[4] = {0}, unmatched = 0, lost = 0;
    *regressions = 0;
    printf("%-12s %-10s %-10s %-44s %11s %11s %8s  %s\n", "kernel", "direction", "impl", "shape", "A median", "B median",
           "B/A", "verdict");
    for (size_t rb = 0; rb < b.n_rows; rb++) {
        size_t ra = find_row(&a, &b, rb);
        if (ra == a.n_rows || !is_timed(&a, ra) || !is_timed(&b, rb)) {
            int was_timed = ra < a.n_rows && is_timed(&a, ra);
            unmatched++;
            lost += was_timed; /* timed in A, not in B: its check failed or it errored */
            print_unmatched(&b, rb, ra == a.n_rows ? "only in B" : was_timed ? "LOST: timed in A, not in B" : "not timed");
            continue;
        }
        double ma, sa, mb, sb;
        gb_csv_double(&a, ra, "median_s", &ma), gb_csv_double(&a, ra, "rel_spread", &sa);
        gb_csv_double(&b, rb, "median_s", &mb), gb_csv_double(&b, rb, "rel_spread", &sb);
        gb_bench_verdict_kind v = gb_bench_verdict(ma, sa, mb, sb);
        counts[v]++;
        if (v == GB_BENCH_SLOWER) (*regressions)++;
        printf("%-12s %-10s %-10s %-44.44s %9.4gms %9.4gms %8.3f  %s\n", gb_csv_cell(&b, rb, (size_t)gb_csv_col(&b, "kernel")),
               gb_csv_cell(&b, rb, (size_t)gb_csv_col(&b, "direction")), gb_csv_cell(&b, rb, (size_t)gb_csv_col(&b, "impl")),
               gb_csv_cell(&b, rb, (size_t)gb_csv_col(&b, "shape")), 1e3 * ma, 1e3 * mb, mb / ma,
               gb_bench_verdict_name(v));
    }
    for (size_t ra = 0; ra < a.n_rows; ra++)
        if (find_row(&b, &a, ra) == b.n_rows) {
            unmatched++;
            lost += is_timed(&a, ra);
            print_unmatched(&a, ra, is_timed(&a, ra) ? "LOST: only in A" : "only in A");
        }
    *regressions += lost;
    int compared = counts[0] + counts[1] + counts[2] + counts[3];
    printf("summary: %d same, %d faster, %d slower, %d ambiguous, %d unmatched (%d lost: timed in A, not in B) "
           "(A = %s, B = %s)\n",
           counts[0], counts[1], counts[2], counts[3], unmatched, lost, path_a, path_b);
    if (compared == 0)
        s = gb_fail(GB_INPUT, "%s and %s have no timed row in common: nothing was compared", path_a, path_b);
done:
    gb_csv_free(&a);
    gb_csv_free(&b);
    return s;
}
