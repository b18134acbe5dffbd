/* gate/report.c - summary.csv and the self-contained report.html (see report.h). */
#include "report.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/atomic_file.h"
#include "../core/csv.h"
#include "../core/manifest.h"
#include "../core/base64.h"

gb_status gb_report_write_summary(const gb_gate_report *r, const char *path) {
    gb_atomic_file af;
    GB_TRY(gb_atomic_open(&af, path));
    static const char *header[] = {"pipeline", "scale", "device", "seed", "dataset", "metric", "value",
                                   "expected", "tolerance", "rule", "verdict", "source", "result_dir"};
    gb_csv_write_row(af.fp, header, 13);
    for (size_t i = 0; i < r->n; i++) {
        const gb_gate_row *w = &r->rows[i];
        char got[40], exp[40] = "", tol[40] = "";
        snprintf(got, sizeof got, "%.9g", w->got);
        if (gb_verdict_has_reference(w->verdict)) {
            snprintf(exp, sizeof exp, "%.9g", w->expected);
            snprintf(tol, sizeof tol, "%.9g", w->tolerance);
        }
        const char *row[] = {w->pipeline, w->scale, w->device, w->seed, w->dataset, w->metric, got, exp, tol,
                             w->rule, gb_verdict_name(w->verdict), w->source, w->result_dir};
        gb_csv_write_row(af.fp, row, 13);
    }
    return gb_atomic_commit(&af);
}

static void html_escape(FILE *fp, const char *s) {
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", fp);
        else if (*s == '>') fputs("&gt;", fp);
        else if (*s == '&') fputs("&amp;", fp);
        else fputc(*s, fp);
    }
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Embed every PNG of a result directory, in name order. */
static void embed_pngs(FILE *fp, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".png") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, compare_names);
    for (size_t i = 0; i < n; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unsigned char *bytes = NULL;
        size_t size = 0;
        if (gb_read_file(path, &bytes, &size) == GB_OK) {
            char *b64 = gb_base64_encode(bytes, size);
            fprintf(fp, "<figure><img alt=\"%s\" src=\"data:image/png;base64,%s\"><figcaption>%s</figcaption></figure>\n",
                    names[i], b64, names[i]);
            free(b64);
        }
        free(bytes);
        free(names[i]);
    }
}

static void embed_manifest(FILE *fp, const char *dir) {
    char path[1200];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    unsigned char *bytes = NULL;
    size_t size = 0;
    if (gb_read_file(path, &bytes, &size) != GB_OK) return;
    fputs("<details><summary>manifest</summary><pre>", fp);
    html_escape(fp, (const char *)bytes);
    fputs("</pre></details>\n", fp);
    free(bytes);
}

gb_status gb_report_write_html(const gb_gate_report *r, const char *path) {
    gb_atomic_file af;
    GB_TRY(gb_atomic_open(&af, path));
    FILE *fp = af.fp;
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
    fprintf(fp, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>genbench report</title>\n"
                "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}"
                "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
                "td:nth-child(-n+5),th{text-align:left}.pass{color:#070}.FAIL{color:#b00;font-weight:bold}"
                "img{max-width:100%%;border:1px solid #ddd}figure{margin:1em 0}</style></head><body>\n");
    fprintf(fp, "<h1>genbench report</h1>\n<p>genbench %s, commit %s, written %s. Gate: %zu passed, %zu failed.</p>\n",
            gb_version(), gb_git_commit(), when, r->n_pass, r->n_fail);
    fputs("<table><tr><th>pipeline</th><th>scale</th><th>device</th><th>seed</th><th>metric</th><th>value</th>"
          "<th>expected</th><th>rule</th><th>tolerance</th><th>verdict</th><th>source</th></tr>\n", fp);
    for (size_t i = 0; i < r->n; i++) {
        const gb_gate_row *w = &r->rows[i];
        int has_ref = gb_verdict_has_reference(w->verdict);
        fprintf(fp, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%.6g</td>", w->pipeline,
                w->scale, w->device, w->seed, w->metric, w->got);
        if (has_ref) fprintf(fp, "<td>%.6g</td><td>%s</td><td>%.3g</td>", w->expected, w->rule, w->tolerance);
        else fputs("<td></td><td></td><td></td>", fp);
        fprintf(fp, "<td class=\"%s\">%s</td><td>", w->verdict == GB_VERDICT_PASS ? "pass" : gb_verdict_fails(w->verdict) ? "FAIL" : "",
                gb_verdict_name(w->verdict));
        html_escape(fp, w->source);
        fputs("</td></tr>\n", fp);
    }
    fputs("</table>\n", fp);
    for (size_t i = 0; i < r->n; i++) {
        if (i > 0 && strcmp(r->rows[i].result_dir, r->rows[i - 1].result_dir) == 0) continue;
        fprintf(fp, "<h2>%s (%s, %s, seed %s)</h2>\n<p>", r->rows[i].pipeline, r->rows[i].scale, r->rows[i].device,
                r->rows[i].seed);
        html_escape(fp, r->rows[i].result_dir);
        fputs("</p>\n", fp);
        embed_manifest(fp, r->rows[i].result_dir);
        embed_pngs(fp, r->rows[i].result_dir);
    }
    fputs("</body></html>\n", fp);
    return gb_atomic_commit(&af);
}
