/* core/csv.h - CSV tables in and out (results, reference values, loss curves).
 *
 * Reading goes through libcsv in strict mode (CSV_STRICT | CSV_STRICT_FINI):
 * quoted fields may hold commas, doubled quotes and line breaks. The rules on
 * top of libcsv:
 *   - the first row is the header; every later row must have as many fields;
 *   - lines starting with '#' BEFORE the header are comments and skipped (after
 *     the header a '#' line is an ordinary data row);
 *   - blank lines (only spaces, tabs, CR) between rows are skipped, as libcsv
 *     does; a leading UTF-8 byte-order mark is skipped;
 *   - unquoted fields lose leading/trailing spaces and tabs (libcsv's rule);
 *     quote a field to keep them - gb_csv_write_field does;
 *   - LF and CRLF line ends both work; line numbers in messages count LFs, and
 *     a row's line is the line on which it starts;
 *   - a NUL byte in a field is rejected (cells are C strings).
 * Every rejection is GB_INPUT with "<source>:<line>: <what>" in the message.
 *
 * Writing quotes a field only when it must (see gb_csv_write_field), so the
 * files stay readable and the reader above gives every field back unchanged.
 *
 * Tested by tests/test_csv.c (round trips of tricky fields, every malformed
 * case with its line number, comments, CRLF, no trailing newline).
 */
#ifndef GB_CSV_H
#define GB_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "core/status.h"

typedef struct {
    size_t n_rows, n_cols; /* data rows (header excluded), columns */
    char **header;         /* n_cols names */
    char **cells;          /* n_rows * n_cols strings, row-major */
    size_t *row_lines;     /* n_rows: 1-based line on which each data row starts */
    char *source;          /* the path or label given when reading, for messages */
} gb_csv_table;

/* Read a CSV file whose first row is the header (rules above). GB_INPUT naming
 * the path and the 1-based line for: a row with the wrong number of fields
 * ("path:7: expected 5 fields, got 4"), malformed quoting, an unterminated
 * quoted field, an empty file or one without a header row, duplicate header
 * names. On failure *t is zeroed (gb_csv_free stays safe). */
gb_status gb_csv_read(const char *path, gb_csv_table *t);

/* The same on text already in memory; `label` stands in for the path. */
gb_status gb_csv_parse(const char *label, const char *text, size_t n, gb_csv_table *t);

/* Index of column `name`, -1 when absent. */
int gb_csv_col(const gb_csv_table *t, const char *name);

/* The cell at (row, col); both must be in range (programmer error otherwise). */
const char *gb_csv_cell(const gb_csv_table *t, size_t row, size_t col);

/* Parse cell (row, column named `col`) as a double with strtod: the whole cell
 * must be a number ("nan" and "inf" parse to their IEEE values; callers that
 * need finite values check). GB_INPUT naming the source, the line and the
 * column when the column is missing, the cell is empty, is not a number or
 * overflows a double. */
gb_status gb_csv_double(const gb_csv_table *t, size_t row, const char *col, double *out);

void gb_csv_free(gb_csv_table *t);

/* Write one field, quoted (quotes doubled) only when needed: it holds a comma,
 * a quote, CR or LF, starts or ends with a space or tab (libcsv would trim
 * them), starts with '#' (it could be read as a comment) or with a UTF-8
 * byte-order mark (the reader skips one at the start of the file). NULL writes an
 * empty field. Write errors surface through ferror (gb_atomic_commit checks). */
void gb_csv_write_field(FILE *fp, const char *field);

/* Fields joined by ',' and ended by '\n'. n >= 1. A row of one empty field is
 * written as "" so it does not read back as a skipped blank line. */
void gb_csv_write_row(FILE *fp, const char *const *fields, size_t n);

#endif
