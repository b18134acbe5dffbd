/* fuzz/csv_fuzz.c - libFuzzer target for gb_csv_parse (core/csv.c).
 *
 * Invariants checked on every accepted input: the table is rectangular with non-decreasing
 * line numbers (a bare CR can end a row mid-line), and writing it back with gb_csv_write_row
 * then parsing that text again gives the same header and cells (the writer promises that the
 * reader returns every field unchanged).
 * A rejection must leave the table zeroed with a message. Run with `make fuzz`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "fuzz/fuzz_util.h"

static char *serialise(const gb_csv_table *t, size_t *len) {
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);
    fuzz_check(fp, "open_memstream");
    gb_csv_write_row(fp, (const char *const *)t->header, t->n_cols);
    for (size_t r = 0; r < t->n_rows; r++)
        gb_csv_write_row(fp, (const char *const *)t->cells + r * t->n_cols, t->n_cols);
    fclose(fp);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gb_csv_table t;
    gb_status s = gb_csv_parse("fuzz.csv", (const char *)data, size, &t);
    if (s != GB_OK) {
        fuzz_check(t.n_rows == 0 && t.n_cols == 0 && !t.header && !t.cells, "table not zeroed on failure");
        fuzz_check(gb_last_error()[0] != '\0', "rejection without a message");
        return 0;
    }
    fuzz_check(t.n_cols >= 1 && t.header, "accepted table without a header");
    for (size_t r = 0; r < t.n_rows; r++) {
        fuzz_check(t.row_lines[r] >= 1 && (r == 0 || t.row_lines[r] >= t.row_lines[r - 1]),
                   "row %zu line %zu before the previous row's (a bare CR may start a row on the same line)", r, t.row_lines[r]);
        for (size_t c = 0; c < t.n_cols; c++) fuzz_check(gb_csv_cell(&t, r, c) != NULL, "null cell");
    }
    size_t len = 0;
    char *text = serialise(&t, &len);
    gb_csv_table u;
    s = gb_csv_parse("fuzz-rewritten.csv", text, len, &u);
    fuzz_check(s == GB_OK, "re-parsing the written table failed: %s\n--- written:\n%s", gb_last_error(), text);
    fuzz_check(u.n_cols == t.n_cols && u.n_rows == t.n_rows, "shape %zux%zu became %zux%zu", t.n_rows,
               t.n_cols, u.n_rows, u.n_cols);
    for (size_t c = 0; c < t.n_cols; c++)
        fuzz_check(strcmp(t.header[c], u.header[c]) == 0, "header %zu '%s' became '%s'", c, t.header[c],
                   u.header[c]);
    for (size_t i = 0; i < t.n_rows * t.n_cols; i++)
        fuzz_check(strcmp(t.cells[i], u.cells[i]) == 0, "cell %zu '%s' became '%s'", i, t.cells[i], u.cells[i]);
    gb_csv_free(&u);
    free(text);
    gb_csv_free(&t);
    return 0;
}
