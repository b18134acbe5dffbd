/* tests/test_csv.c - core/csv: write-then-read round trips of tricky fields,
 * every malformed case (GB_INPUT with the exact "<source>:<line>:" prefix),
 * comments before the header, CRLF, a last line without newline, numbers.
 * The expected line numbers below were counted by hand from the literals.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/csv.h"

static gb_status parse_str(const char *text, gb_csv_table *t) {
    return gb_csv_parse("mem.csv", text, strlen(text), t);
}

/* Parse `text`, expect GB_INPUT and a message containing `want` (e.g. "mem.csv:3: "). */
static void expect_reject(const char *text, const char *want, const char *reason) {
    gb_csv_table t;
    gb_status s = parse_str(text, &t);
    cr_assert_eq(s, GB_INPUT, "[%s] expected GB_INPUT, got %d (%s)", reason, s, gb_last_error());
    cr_assert_not_null(strstr(gb_last_error(), want), "[%s] message '%s' lacks '%s'", reason, gb_last_error(),
                       want);
    cr_assert_null(t.cells, "table must be released on failure");
    cr_assert_null(t.header);
    gb_csv_free(&t);
}

static void expect_row(const gb_csv_table *t, size_t row, const char *const *want) {
    for (size_t j = 0; j < t->n_cols; j++)
        cr_assert_str_eq(gb_csv_cell(t, row, j), want[j], "row %zu col %zu", row, j);
}

static const char *const tricky_header[] = {"name", "value, with comma", "ünïcødé ✓", "#hash"};
static const char *const tricky_rows[][4] = {
    {"plain", "", "say \"hi\"", "line1\nline2"},
    {" lead", "trail ", "\ttabbed\t", "a,b,\"c\""},
    {"", "", "", ""},
    {"crlf\r\ninside", "\"", ",", "日本語, テキスト"},
    {"#not-a-comment", "'single'", "x\ry", "   "},
};
#define N_TRICKY (sizeof tricky_rows / sizeof tricky_rows[0])

static void write_tricky(FILE *fp) {
    fputs("# a comment line the reader must skip\n", fp);
    gb_csv_write_row(fp, tricky_header, 4);
    for (size_t i = 0; i < N_TRICKY; i++) gb_csv_write_row(fp, tricky_rows[i], 4);
}

static void check_tricky(const gb_csv_table *t) {
    cr_assert_eq(t->n_cols, 4);
    cr_assert_eq(t->n_rows, N_TRICKY);
    for (size_t j = 0; j < 4; j++) cr_assert_str_eq(t->header[j], tricky_header[j]);
    for (size_t i = 0; i < N_TRICKY; i++) expect_row(t, i, tricky_rows[i]);
    cr_assert_eq(gb_csv_col(t, "ünïcødé ✓"), 2);
    cr_assert_eq(gb_csv_col(t, "#hash"), 3);
    cr_assert_eq(gb_csv_col(t, "missing"), -1);
    /* comment on line 1, header line 2, row 0 spans lines 3-4 (embedded LF). */
    cr_assert_eq(t->row_lines[0], 3);
    cr_assert_eq(t->row_lines[1], 5);
}

Test(csv, round_trip_tricky_fields_in_memory) {
    char *buf = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&buf, &n);
    cr_assert_not_null(fp);
    write_tricky(fp);
    fclose(fp);
    gb_csv_table t;
    cr_assert_eq(gb_csv_parse("mem.csv", buf, n, &t), GB_OK, "%s\n--- text ---\n%s", gb_last_error(), buf);
    check_tricky(&t);
    gb_csv_free(&t);
    free(buf);
}

Test(csv, round_trip_through_atomic_file) {
    char dir[] = "/tmp/gb_test_csv_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/tricky.csv", dir);
    gb_atomic_file af;
    cr_assert_eq(gb_atomic_open(&af, path), GB_OK, "%s", gb_last_error());
    write_tricky(af.fp);
    cr_assert_eq(gb_atomic_commit(&af), GB_OK, "%s", gb_last_error());
    gb_csv_table t;
    cr_assert_eq(gb_csv_read(path, &t), GB_OK, "%s", gb_last_error());
    check_tricky(&t);
    cr_assert_str_eq(t.source, path);
    gb_csv_free(&t);
    unlink(path);
    rmdir(dir);
}

Test(csv, writer_quotes_only_when_needed) {
    char *buf = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&buf, &n);
    const char *row[] = {"plain", "1.5e-3", "a,b", "q\"q", " s", "e ", "#h", "", "x y", NULL};
    gb_csv_write_row(fp, row, 10);
    const char *lone_empty[] = {""};
    gb_csv_write_row(fp, lone_empty, 1);
    fclose(fp);
    cr_assert_str_eq(buf, "plain,1.5e-3,\"a,b\",\"q\"\"q\",\" s\",\"e \",\"#h\",,x y,\n\"\"\n");
    free(buf);
}

Test(csv, single_column_with_empty_cells_round_trips) {
    char *buf = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&buf, &n);
    const char *h[] = {"only"}, *a[] = {"x"}, *e[] = {""};
    gb_csv_write_row(fp, h, 1);
    gb_csv_write_row(fp, e, 1);
    gb_csv_write_row(fp, a, 1);
    fclose(fp);
    gb_csv_table t;
    cr_assert_eq(gb_csv_parse("one.csv", buf, n, &t), GB_OK, "%s", gb_last_error());
    cr_assert_eq(t.n_rows, 2, "the empty cell must not vanish as a blank line");
    cr_assert_str_eq(gb_csv_cell(&t, 0, 0), "");
    cr_assert_str_eq(gb_csv_cell(&t, 1, 0), "x");
    gb_csv_free(&t);
    free(buf);
}

/* Found by fuzz/csv_fuzz.c: a first field starting with a byte-order mark was written bare,
 * and the reader then skipped it as the file's own BOM. */
Test(csv, leading_bom_in_a_field_round_trips) {
    char *buf = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&buf, &n);
    const char *h[] = {"\xEF\xBB\xBF" "b", "c"}, *r[] = {"\xEF\xBB\xBF" "x", "y"};
    gb_csv_write_row(fp, h, 2);
    gb_csv_write_row(fp, r, 2);
    fclose(fp);
    gb_csv_table t;
    cr_assert_eq(gb_csv_parse("bom.csv", buf, n, &t), GB_OK, "%s", gb_last_error());
    cr_assert_eq(t.n_cols, 2);
    cr_expect_str_eq(t.header[0], h[0], "the header's BOM was lost: written as '%s'", buf);
    cr_assert_eq(t.n_rows, 1);
    expect_row(&t, 0, r);
    gb_csv_free(&t);
    free(buf);
}

Test(csv, comments_before_header_only) {
    gb_csv_table t;
    cr_assert_eq(parse_str("# produced by genbench\n#second comment, with comma\n\nepoch,loss\n1,0.5\n"
                           "#x,2\n",
                           &t),
                 GB_OK, "%s", gb_last_error());
    cr_assert_eq(t.n_rows, 2);
    cr_assert_str_eq(t.header[0], "epoch");
    cr_assert_str_eq(gb_csv_cell(&t, 1, 0), "#x", "after the header '#' starts a data row");
    cr_assert_eq(t.row_lines[0], 5);
    cr_assert_eq(t.row_lines[1], 6);
    gb_csv_free(&t);
}

Test(csv, no_trailing_newline_and_header_only) {
    gb_csv_table t;
    cr_assert_eq(parse_str("a,b\n1,2", &t), GB_OK, "%s", gb_last_error());
    cr_assert_eq(t.n_rows, 1);
    expect_row(&t, 0, (const char *const[]){"1", "2"});
    gb_csv_free(&t);
    cr_assert_eq(parse_str("a,b", &t), GB_OK, "%s", gb_last_error());
    cr_assert_eq(t.n_rows, 0);
    cr_assert_eq(t.n_cols, 2);
    gb_csv_free(&t);
}

Test(csv, crlf_line_ends) {
    gb_csv_table t;
    cr_assert_eq(parse_str("a,b\r\n1,\"x\r\ny\"\r\n\r\n3,4\r\n", &t), GB_OK, "%s", gb_last_error());
    cr_assert_eq(t.n_rows, 2);
    expect_row(&t, 0, (const char *const[]){"1", "x\r\ny"});
    expect_row(&t, 1, (const char *const[]){"3", "4"});
    cr_assert_eq(t.row_lines[1], 5);
    gb_csv_free(&t);
    expect_reject("a,b\r\n1,2\r\n3\r\n", "mem.csv:3: expected 2 fields, got 1", "CRLF short row");
}

Test(csv, utf8_bom_and_blank_lines_skipped) {
    gb_csv_table t;
    cr_assert_eq(parse_str("\xEF\xBB\xBFk,v\n\n  \t\n1,2\n", &t), GB_OK, "%s", gb_last_error());
    cr_assert_str_eq(t.header[0], "k");
    cr_assert_eq(t.n_rows, 1);
    cr_assert_eq(t.row_lines[0], 4);
    gb_csv_free(&t);
}

Test(csv, malformed_inputs_name_the_line) {
    expect_reject("a,b,c\n1,2,3\n4,5\n", "mem.csv:3: expected 3 fields, got 2", "short row");
    expect_reject("a,b\n1,2,3\n", "mem.csv:2: expected 2 fields, got 3", "long row");
    expect_reject("a,b\n\"x\ny\",1\n2\n", "mem.csv:4: expected 2 fields, got 1", "after a multi-line row");
    expect_reject("a,b\n\"x\ny\"\n", "mem.csv:2: expected 2 fields, got 1", "short row spanning lines");
    expect_reject("# c\n\na,b\n1\n", "mem.csv:4: expected 2 fields", "after comments and blank lines");
    expect_reject("a,b\n1,2\n3,\"x\n4,5\n", "mem.csv:3: unterminated quoted field", "unterminated quote");
    expect_reject("a,b\n1,x\"y\n", "mem.csv:2: malformed quoting", "quote inside unquoted field");
    expect_reject("a,b\n\"q\"z,1\n", "mem.csv:2: malformed quoting", "text after closing quote");
    expect_reject("a,b,a\n", "mem.csv:1: duplicate column name 'a'", "duplicate header");
    expect_reject("# c\n# d\nx,y,,\n", "mem.csv:3: duplicate column name ''", "duplicate empty header");
    expect_reject("", "mem.csv:1: no header row", "empty file");
    expect_reject("\n\n", "no header row", "blank lines only");
    expect_reject("# just\n# comments\n", "mem.csv:2: no header row", "comments only");
    gb_csv_table t;
    const char nul[] = "a,b\n1,x\0y\n";
    cr_assert_eq(gb_csv_parse("mem.csv", nul, sizeof nul - 1, &t), GB_INPUT);
    cr_assert_not_null(strstr(gb_last_error(), "mem.csv:2: field 2 holds a NUL byte"), "%s", gb_last_error());
}

Test(csv, read_missing_file_names_it) {
    gb_csv_table t;
    cr_assert_eq(gb_csv_read("/nonexistent/dir/ref.csv", &t), GB_INPUT);
    cr_assert_not_null(strstr(gb_last_error(), "/nonexistent/dir/ref.csv"), "%s", gb_last_error());
}

Test(csv, doubles_with_clear_errors) {
    gb_csv_table t;
    cr_assert_eq(parse_str("metric,value,note\nfid,12.5,ok\nis,abc,\nkid,,x\nbig,1e999,\ntiny,-2.5e-3,\n"
                           "n,nan,\n"
                           "hex,0x1p3,\n",
                           &t),
                 GB_OK, "%s", gb_last_error());
    double v = 0;
    cr_assert_eq(gb_csv_double(&t, 0, "value", &v), GB_OK, "%s", gb_last_error());
    cr_assert_eq(v, 12.5);
    cr_assert_eq(gb_csv_double(&t, 4, "value", &v), GB_OK, "%s", gb_last_error());
    cr_assert_eq(v, -2.5e-3);
    cr_assert_eq(gb_csv_double(&t, 5, "value", &v), GB_OK, "%s", gb_last_error());
    cr_assert(isnan(v));

    cr_assert_eq(gb_csv_double(&t, 1, "value", &v), GB_INPUT);
    cr_assert_not_null(strstr(gb_last_error(), "mem.csv:3: column 'value': 'abc' is not a number"), "%s",
                       gb_last_error());
    cr_assert_eq(gb_csv_double(&t, 2, "value", &v), GB_INPUT);
    cr_assert_not_null(strstr(gb_last_error(), "mem.csv:4: column 'value' is empty"), "%s", gb_last_error());
    cr_assert_eq(gb_csv_double(&t, 3, "value", &v), GB_INPUT);
    cr_assert_not_null(strstr(gb_last_error(), "mem.csv:5:"), "%s", gb_last_error());
    cr_assert_not_null(strstr(gb_last_error(), "overflows"), "%s", gb_last_error());
    cr_assert_eq(gb_csv_double(&t, 0, "note", &v), GB_INPUT);
    cr_assert_not_null(strstr(gb_last_error(), "'ok' is not a number"), "%s", gb_last_error());
    cr_assert_eq(gb_csv_double(&t, 0, "tolerance", &v), GB_INPUT);
    cr_assert_not_null(strstr(gb_last_error(), "no column 'tolerance'"), "%s", gb_last_error());
    cr_assert_not_null(strstr(gb_last_error(), "'metric', 'value', 'note'"), "%s", gb_last_error());
    cr_assert_eq(gb_csv_double(&t, 6, "value", &v), GB_INPUT);
    cr_assert_not_null(strstr(gb_last_error(), "'0x1p3' is not a decimal number"), "%s", gb_last_error());
    gb_csv_free(&t);
}
