/* gate/gate.c - the regression gate: results vs reference (see gate.h). */
#include "gate.h"

#include <ftw.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/csv.h"

const char *gb_verdict_name(gb_verdict v) {
    static const char *names[] = {"pass",         "FAIL",
                                  "FAIL (missing)", "no reference",
                                  "FAIL (nothing compared)", "FAIL (run failed)"};
    return names[v];
}

int gb_verdict_has_reference(gb_verdict v) {
    return v == GB_VERDICT_PASS || v == GB_VERDICT_FAIL || v == GB_VERDICT_MISSING;
}

int gb_verdict_fails(gb_verdict v) { return v != GB_VERDICT_PASS && v != GB_VERDICT_NO_REFERENCE; }

static gb_gate_row *add_row(gb_gate_report *r) {
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->rows = realloc(r->rows, r->cap * sizeof *r->rows);
        GB_ASSERT(r->rows, "out of host memory");
    }
    gb_gate_row *row = &r->rows[r->n++];
    memset(row, 0, sizeof *row);
    row->got = NAN;
    return row;
}

/* ---- result files -------------------------------------------------------------------- */

typedef struct {
    char **paths;
    size_t n, cap;
} path_list;

static path_list *walk_target, *walk_failures, *walk_set_aside;

static void list_push(path_list *l, const char *path) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->paths = realloc(l->paths, l->cap * sizeof *l->paths);
        GB_ASSERT(l->paths, "out of host memory");
    }
    l->paths[l->n] = strdup(path);
    GB_ASSERT(l->paths[l->n], "out of host memory");
    l->n++;
}

static int collect_metrics(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
    (void)sb;
    /* an earlier run set aside while a new one runs in its folder (pipelines/run_dir.h) */
    if (type == FTW_D && strcmp(path + ftw->base, "previous-run") == 0) {
        if (walk_set_aside) list_push(walk_set_aside, path);
        return FTW_SKIP_SUBTREE;
    }
    if (type == FTW_F && strcmp(path + ftw->base, "metrics.csv") == 0) list_push(walk_target, path);
    if (type == FTW_F && strcmp(path + ftw->base, "failure.txt") == 0 && walk_failures)
        list_push(walk_failures, path);
    return FTW_CONTINUE;
}

static int compare_paths(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static gb_status find_metric_files(const char *results, path_list *l, path_list *failures, path_list *set_aside) {
    struct stat sb;
    if (stat(results, &sb) != 0) return gb_fail(GB_INPUT, "%s: no such results file or directory", results);
    walk_target = l;
    walk_failures = failures;
    walk_set_aside = set_aside;
    if (S_ISREG(sb.st_mode)) {
        struct FTW ftw = {.base = (int)(strrchr(results, '/') ? strrchr(results, '/') - results + 1 : 0)};
        collect_metrics(results, &sb, FTW_F, &ftw);
        return GB_OK;
    }
    size_t before = l->n, failures_before = failures->n;
    /* Symbolic links are followed (a results folder may link runs kept elsewhere); glibc's nftw
     * then visits each directory once, so a link loop or a second link to one run is not walked
     * or judged twice. */
    if (nftw(results, collect_metrics, 16, FTW_ACTIONRETVAL) != 0)
        return gb_fail(GB_INPUT, "%s: cannot walk the results directory", results);
    /* qsort's base must not be NULL, even for no elements: an empty list has no array yet */
    if (l->n > before) qsort(l->paths + before, l->n - before, sizeof *l->paths, compare_paths);
    if (failures->n > failures_before)
        qsort(failures->paths + failures_before, failures->n - failures_before, sizeof *failures->paths, compare_paths);
    return GB_OK;
}

/* A folder where a run set an earlier one aside in previous-run/ and then left neither
 * metrics.csv nor failure.txt: it was killed, or could not write its result. */
static int unfinished(const char *set_aside, const path_list *files, const path_list *failures) {
    size_t dir_len = strlen(set_aside) - strlen("/previous-run");
    const path_list *lists[2] = {files, failures};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < lists[k]->n; i++) {
            const char *p = lists[k]->paths[i];
            if (strncmp(p, set_aside, dir_len) == 0 && p[dir_len] == '/' && !strchr(p + dir_len + 1, '/')) return 0;
        }
    return 1;
}

static void add_unfinished_run(gb_gate_report *report, const char *set_aside) {
    gb_gate_row *row = add_row(report);
    size_t dir_len = strlen(set_aside) - strlen("/previous-run");
    snprintf(row->result_dir, sizeof row->result_dir, "%.*s", (int)dir_len, set_aside);
    const char *base = strrchr(row->result_dir, '/');
    snprintf(row->pipeline, sizeof row->pipeline, "%.63s", base ? base + 1 : row->result_dir);
    snprintf(row->metric, sizeof row->metric, "-");
    snprintf(row->source, sizeof row->source,
             "a run here stopped before writing metrics.csv (killed?); the earlier run waits in previous-run/");
    row->verdict = GB_VERDICT_RUN_FAILED;
}

/* A RUN_FAILED row for a run folder holding failure.txt, its reason line as the source. */
static void add_failed_run(gb_gate_report *report, const char *failure_path) {
    gb_gate_row *row = add_row(report);
    snprintf(row->result_dir, sizeof row->result_dir, "%.*s",
             (int)(strrchr(failure_path, '/') ? strrchr(failure_path, '/') - failure_path : 1), failure_path);
    const char *base = strrchr(row->result_dir, '/');
    snprintf(row->pipeline, sizeof row->pipeline, "%.63s", base ? base + 1 : row->result_dir);
    snprintf(row->metric, sizeof row->metric, "-");
    /* the "reason: " line pipelines/run.c writes (else the first line), and the run's identity
     * from the manifest lines that follow it */
    FILE *f = fopen(failure_path, "r");
    char line[sizeof row->source];
    int have_reason = 0;
    for (int k = 0; f && k < 64 && fgets(line, sizeof line, f); k++) {
        line[strcspn(line, "\n")] = 0;
        if (k == 0) snprintf(row->source, sizeof row->source, "%s", line);
        if (!have_reason && strncmp(line, "reason: ", 8) == 0) {
            snprintf(row->source, sizeof row->source, "%s", line + 8);
            have_reason = 1;
        }
#define FIELD(key, dst)                                                                                           \
    if (strncmp(line, key ": ", sizeof key + 1) == 0)                                                             \
        snprintf(dst, sizeof dst, "%.*s", (int)(sizeof dst - 1), line + sizeof key + 1);
        FIELD("pipeline", row->pipeline)
        FIELD("scale", row->scale)
        FIELD("seed", row->seed)
        FIELD("device", row->device)
#undef FIELD
    }
    if (f) fclose(f);
    row->verdict = GB_VERDICT_RUN_FAILED;
}

/* ---- reference files ----------------------------------------------------------------- */

static const char *reference_columns[] = {"pipeline", "scale", "dataset", "device", "metric",
                                          "expected", "tolerance", "rule", "n_seeds", "source"};

static int known_rule(const char *rule) {
    return !strcmp(rule, "abs") || !strcmp(rule, "rel") || !strcmp(rule, "at_most") || !strcmp(rule, "at_least") ||
           !strcmp(rule, "none");
}

/* Every row of a reference table, whether or not a result will match it: a typo in a rule or a
 * number must not wait for the day a run finally meets that row. */
static gb_status check_reference_rows(gb_csv_table *t, const char *path) {
    for (size_t r = 0; r < t->n_rows; r++) {
        double v;
        GB_TRY(gb_csv_double(t, r, "expected", &v));
        GB_TRY(gb_csv_double(t, r, "tolerance", &v));
        const char *rule = gb_csv_cell(t, r, (size_t)gb_csv_col(t, "rule"));
        if (!known_rule(rule))
            return gb_fail(GB_INPUT, "%s: data row %zu: unknown rule '%s' (abs, rel, at_most, at_least, none)", path,
                           r + 1, rule);
    }
    return GB_OK;
}

static gb_status load_reference(const char *dir, gb_csv_table **tables, size_t *n_tables) {
    DIR *d = opendir(dir);
    if (!d) return gb_fail(GB_INPUT, "%s: cannot open the reference directory", dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".csv") == 0) {
            names = realloc(names, (n + 1) * sizeof *names);
            GB_ASSERT(names, "out of host memory");
            names[n] = strdup(e->d_name);
            GB_ASSERT(names[n], "out of host memory");
            n++;
        }
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, compare_paths); /* names is NULL when there is none */
    *tables = calloc(n ? n : 1, sizeof **tables);
    gb_status s = GB_OK;
    size_t loaded = 0;
    for (size_t i = 0; i < n; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (s == GB_OK) s = gb_csv_read(path, &(*tables)[loaded]);
        if (s == GB_OK) {
            for (size_t c = 0; c < sizeof reference_columns / sizeof *reference_columns; c++)
                if (gb_csv_col(&(*tables)[loaded], reference_columns[c]) < 0 && s == GB_OK)
                    s = gb_fail(GB_INPUT, "%s: reference file lacks the column '%s'", path, reference_columns[c]);
            if (s == GB_OK) s = check_reference_rows(&(*tables)[loaded], path);
            loaded++;
        }
        free(names[i]);
    }
    free(names);
    *n_tables = loaded;
    return s;
}

static int same_first_word(const char *a, const char *b) {
    size_t la = strcspn(a, " "), lb = strcspn(b, " ");
    return la == lb && strncmp(a, b, la) == 0;
}

/* The verdict of a present metric under a rule check_reference_rows has already accepted. */
static gb_verdict judge(const char *rule, double got, double expected, double tol) {
    int ok;
    if (strcmp(rule, "abs") == 0) ok = fabs(got - expected) <= tol;
    else if (strcmp(rule, "rel") == 0) ok = fabs(got - expected) <= tol * fabs(expected);
    else if (strcmp(rule, "at_most") == 0) ok = got <= expected + tol;
    else {
        GB_ASSERT(strcmp(rule, "at_least") == 0, "rule '%s' passed the reference check", rule);
        ok = got >= expected - tol;
    }
    return isfinite(got) && ok ? GB_VERDICT_PASS : GB_VERDICT_FAIL;
}

/* Judge one result file's metrics against every reference table. */
static gb_status judge_result(const char *path, gb_csv_table *refs, size_t n_refs, gb_gate_report *report) {
    gb_csv_table res;
    GB_TRY(gb_csv_read(path, &res));
    static const char *need[] = {"pipeline", "scale", "device", "seed", "dataset", "metric", "value"};
    for (size_t c = 0; c < sizeof need / sizeof *need; c++)
        if (gb_csv_col(&res, need[c]) < 0) {
            gb_csv_free(&res);
            return gb_fail(GB_INPUT, "%s: metrics file lacks the column '%s'", path, need[c]);
        }
    char dir[1024];
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(path, '/') ? strrchr(path, '/') - path : 1), path);
    gb_status s = GB_OK;
    /* every metric of the result, with or without a reference */
    size_t first = report->n;
    for (size_t r = 0; r < res.n_rows && s == GB_OK; r++) {
        gb_gate_row *row = add_row(report);
#define CELL(name) gb_csv_cell(&res, r, (size_t)gb_csv_col(&res, name))
        snprintf(row->pipeline, sizeof row->pipeline, "%s", CELL("pipeline"));
        snprintf(row->scale, sizeof row->scale, "%s", CELL("scale"));
        snprintf(row->device, sizeof row->device, "%s", CELL("device"));
        snprintf(row->seed, sizeof row->seed, "%s", CELL("seed"));
        snprintf(row->dataset, sizeof row->dataset, "%s", CELL("dataset"));
        snprintf(row->metric, sizeof row->metric, "%s", CELL("metric"));
#undef CELL
        snprintf(row->result_dir, sizeof row->result_dir, "%s", dir);
        s = gb_csv_double(&res, r, "value", &row->got);
        row->present = 1;
        row->verdict = GB_VERDICT_NO_REFERENCE;
    }
    size_t last = report->n;
    /* One metrics.csv is one run: every row names the same pipeline, scale, device, seed and
     * dataset (the reference rows are matched on the first), and no metric twice. */
    for (size_t a = first + 1; a < last && s == GB_OK; a++) {
        const gb_gate_row *x = &report->rows[first], *y = &report->rows[a];
        if (strcmp(x->seed, y->seed) || strcmp(x->device, y->device) || strcmp(x->pipeline, y->pipeline) ||
            strcmp(x->scale, y->scale) || strcmp(x->dataset, y->dataset))
            s = gb_fail(GB_INPUT, "%s: data row %zu belongs to another run than row 1 (pipeline, scale, device, seed "
                                  "or dataset differ): one metrics.csv holds one run",
                        path, a - first + 1);
    }
    for (size_t a = first; a < last && s == GB_OK; a++)
        for (size_t b = a + 1; b < last && s == GB_OK; b++)
            if (!strcmp(report->rows[a].metric, report->rows[b].metric))
                s = gb_fail(GB_INPUT, "%s: the metric '%s' appears twice (data rows %zu and %zu): which one to judge "
                                      "is ambiguous",
                            path, report->rows[a].metric, a - first + 1, b - first + 1);
    size_t matched = 0;
    for (size_t t = 0; t < n_refs && s == GB_OK && last > first; t++) {
        gb_csv_table *ref = &refs[t];
        /* a copy: add_row below may move the rows */
        const gb_gate_row key = report->rows[first], *any = &key;
        for (size_t r = 0; r < ref->n_rows && s == GB_OK; r++) {
#define REF(name) gb_csv_cell(ref, r, (size_t)gb_csv_col(ref, name))
            const char *dev = REF("device");
            if (strcmp(REF("pipeline"), any->pipeline) || strcmp(REF("scale"), any->scale) ||
                !same_first_word(REF("dataset"), any->dataset) || (strcmp(dev, "any") && strcmp(dev, any->device)))
                continue;
            matched++;
            /* "none": this pipeline, scale and dataset knowingly have no reference numbers */
            if (strcmp(REF("rule"), "none") == 0) continue;
            gb_gate_row *row = NULL;
            for (size_t k = first; k < report->n && !row; k++)
                if (strcmp(report->rows[k].metric, REF("metric")) == 0) row = &report->rows[k];
            if (!row) { /* the reference expects a metric this run did not produce */
                row = add_row(report);
                *row = report->rows[first];
                snprintf(row->metric, sizeof row->metric, "%s", REF("metric"));
                row->got = NAN;
                row->present = 0;
                row->verdict = GB_VERDICT_NO_REFERENCE;
            } else if (row->verdict != GB_VERDICT_NO_REFERENCE) { /* judged already: one row per judgement */
                gb_gate_row copy = *row;
                row = add_row(report);
                *row = copy;
            }
            GB_TRY(gb_csv_double(ref, r, "expected", &row->expected));
            GB_TRY(gb_csv_double(ref, r, "tolerance", &row->tolerance));
            snprintf(row->rule, sizeof row->rule, "%s", REF("rule"));
            snprintf(row->source, sizeof row->source, "%s", REF("source"));
            row->verdict = row->present ? judge(row->rule, row->got, row->expected, row->tolerance)
                                        : GB_VERDICT_MISSING;
#undef REF
        }
    }
    if (s == GB_OK && matched == 0) { /* a pass here would mean nothing was compared */
        gb_gate_row *row = add_row(report);
        if (last > first) *row = report->rows[first];
        snprintf(row->metric, sizeof row->metric, "-");
        snprintf(row->result_dir, sizeof row->result_dir, "%s", dir);
        snprintf(row->source, sizeof row->source, "%s",
                 last > first ? "no reference row has this pipeline, scale, dataset and device" : "metrics.csv has no rows");
        row->got = NAN;
        row->verdict = GB_VERDICT_UNCOMPARED;
    }
    gb_csv_free(&res);
    return s;
}

gb_status gb_gate_evaluate(const char *const *results, size_t n_results, const char *reference_dir,
                           gb_gate_report *report) {
    memset(report, 0, sizeof *report);
    path_list files = {0};
    gb_csv_table *refs = NULL;
    size_t n_refs = 0;
    gb_status s = GB_OK;
    path_list failures = {0}, set_aside = {0};
    for (size_t i = 0; i < n_results && s == GB_OK; i++) {
        size_t before = files.n + failures.n + set_aside.n;
        s = find_metric_files(results[i], &files, &failures, &set_aside);
        if (s == GB_OK && files.n + failures.n + set_aside.n == before)
            s = gb_fail(GB_INPUT, "%s: no metrics.csv (nor failure.txt) found%s", results[i],
                        n_results > 1 ? " there; every results argument must hold a run" : " (run `genbench run` first)");
    }
    if (s == GB_OK) s = load_reference(reference_dir, &refs, &n_refs);
    for (size_t i = 0; i < files.n && s == GB_OK; i++) s = judge_result(files.paths[i], refs, n_refs, report);
    for (size_t i = 0; i < failures.n && s == GB_OK; i++) add_failed_run(report, failures.paths[i]);
    for (size_t i = 0; i < set_aside.n && s == GB_OK; i++)
        if (unfinished(set_aside.paths[i], &files, &failures)) add_unfinished_run(report, set_aside.paths[i]);
    for (size_t i = 0; i < set_aside.n; i++) free(set_aside.paths[i]);
    free(set_aside.paths);
    for (size_t i = 0; i < files.n; i++) free(files.paths[i]);
    free(files.paths);
    for (size_t i = 0; i < failures.n; i++) free(failures.paths[i]);
    free(failures.paths);
    for (size_t i = 0; i < n_refs; i++) gb_csv_free(&refs[i]);
    free(refs);
    if (s == GB_OK && n_results == 0) s = gb_fail(GB_INPUT, "no results to check");
    if (s != GB_OK) { /* no half report: the caller has nothing to free */
        gb_gate_free(report);
        return s;
    }
    for (size_t i = 0; i < report->n; i++) {
        report->n_pass += report->rows[i].verdict == GB_VERDICT_PASS;
        report->n_fail += gb_verdict_fails(report->rows[i].verdict);
    }
    return s;
}

void gb_gate_print(const gb_gate_report *r, FILE *fp) {
    fprintf(fp, "%-16s %-6s %-5s %-4s %-18s %-8s %12s %12s %12s  %s\n", "pipeline", "scale", "dev", "seed", "metric",
            "rule", "expected", "got", "delta", "verdict");
    for (size_t i = 0; i < r->n; i++) {
        const gb_gate_row *w = &r->rows[i];
        if (!gb_verdict_has_reference(w->verdict))
            fprintf(fp, "%-16s %-6s %-5s %-4s %-18s %-8s %12s %12.6g %12s  %s%s%s\n", w->pipeline, w->scale, w->device,
                    w->seed, w->metric, "-", "-", w->got, "-", gb_verdict_name(w->verdict), w->source[0] ? ": " : "",
                    w->verdict == GB_VERDICT_NO_REFERENCE ? "" : w->source);
        else
            fprintf(fp, "%-16s %-6s %-5s %-4s %-18s %-8s %12.6g %12.6g %+12.4g  %s\n", w->pipeline, w->scale,
                    w->device, w->seed, w->metric, w->rule, w->expected, w->got, w->got - w->expected,
                    gb_verdict_name(w->verdict));
    }
    size_t unreferenced = 0;
    for (size_t i = 0; i < r->n; i++) unreferenced += r->rows[i].verdict == GB_VERDICT_NO_REFERENCE;
    fprintf(fp, "gate: %zu passed, %zu failed, %zu metrics without reference\n", r->n_pass, r->n_fail, unreferenced);
}

void gb_gate_free(gb_gate_report *r) {
    free(r->rows);
    memset(r, 0, sizeof *r);
}
