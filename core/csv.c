/* core/csv.c - CSV reading through libcsv (strict mode) with line numbers,
 * comments before the header, and minimal-quoting writing. See csv.h; tested
 * by tests/test_csv.c.
 *
 * libcsv reports fields and row ends through callbacks but knows nothing of
 * line numbers, so the text is fed one line (up to and including its LF) at a
 * time: every callback then happens while a known line is being parsed, and a
 * row's first line is the first non-blank line fed after the previous row ended.
 */
#include "core/csv.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/atomic_file.h"

typedef struct {
    const char *label;
    gb_csv_table *t;
    size_t line;      /* 1-based line now being fed */
    size_t row_start; /* line on which the current row began */
    int row_open;     /* bytes of an unfinished row have been fed */
    int have_header;
    char **fields; /* the current row */
    size_t n_fields, cap_fields;
    size_t cap_cells, cap_rows;
    gb_status err; /* first failure; later callbacks do nothing */
} parse_ctx;

static void *grow(void *p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(p, c * elem);
    GB_ASSERT(q, "out of memory growing a CSV table to %zu entries", c);
    *cap = c;
    return q;
}

static void free_strings(char **v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static void on_field(void *s, size_t len, void *data) {
    parse_ctx *c = data;
    if (c->err != GB_OK) return;
    if (!c->row_open) { /* a row that began after a bare CR in mid-line */
        c->row_open = 1;
        c->row_start = c->line;
    }
    if (len > 0 && memchr(s, '\0', len)) {
        c->err = gb_fail(GB_INPUT, "%s:%zu: field %zu holds a NUL byte (is this a text file?)", c->label,
                         c->line, c->n_fields + 1);
        return;
    }
    char *copy = malloc(len + 1);
    GB_ASSERT(copy, "out of memory");
    if (len > 0) memcpy(copy, s, len);
    copy[len] = '\0';
    c->fields = grow(c->fields, &c->cap_fields, c->n_fields + 1, sizeof *c->fields);
    c->fields[c->n_fields++] = copy;
}

static void take_header(parse_ctx *c) {
    for (size_t i = 0; i < c->n_fields; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->fields[i], c->fields[j]) == 0) {
                c->err = gb_fail(GB_INPUT, "%s:%zu: duplicate column name '%s' (columns %zu and %zu of the "
                                 "header); rename one", c->label, c->row_start, c->fields[i], j + 1, i + 1);
                return;
            }
    c->t->header = c->fields;
    c->t->n_cols = c->n_fields;
    c->fields = NULL;
    c->n_fields = c->cap_fields = 0;
    c->have_header = 1;
}

static void on_row(int term, void *data) {
    (void)term;
    parse_ctx *c = data;
    if (c->err != GB_OK) return;
    if (!c->have_header) {
        take_header(c);
    } else if (c->n_fields != c->t->n_cols) {
        c->err = gb_fail(GB_INPUT, "%s:%zu: expected %zu fields, got %zu", c->label, c->row_start,
                         c->t->n_cols, c->n_fields);
        return;
    } else {
        gb_csv_table *t = c->t;
        t->cells = grow(t->cells, &c->cap_cells, (t->n_rows + 1) * t->n_cols, sizeof *t->cells);
        t->row_lines = grow(t->row_lines, &c->cap_rows, t->n_rows + 1, sizeof *t->row_lines);
        memcpy(t->cells + t->n_rows * t->n_cols, c->fields, t->n_cols * sizeof *c->fields);
        t->row_lines[t->n_rows++] = c->row_start;
        c->n_fields = 0; /* the strings now belong to the table */
    }
    c->row_open = 0;
}

/* A line libcsv skips when no row is open: only spaces, tabs, CR. */
static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

static gb_status feed(parse_ctx *c, struct csv_parser *p, const char *text, size_t n) {
    size_t pos = 0;
    if (n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) pos = 3;
    while (pos < n && c->err == GB_OK) {
        const char *nl = memchr(text + pos, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - (text + pos)) + 1 : n - pos;
        const char *chunk = text + pos;
        int skip = 0;
        if (!c->row_open) {
            if (is_blank(chunk, len)) skip = 1;
            else if (!c->have_header && chunk[0] == '#') skip = 1;
            else {
                c->row_open = 1;
                c->row_start = c->line;
            }
        }
        if (!skip) {
            size_t used = csv_parse(p, chunk, len, on_field, on_row, c);
            if (used != len && c->err == GB_OK) {
                int e = csv_error(p);
                if (e == CSV_EPARSE)
                    return gb_fail(GB_INPUT, "%s:%zu: malformed quoting at column %zu: %s (a field holding "
                                   "'\"' must be quoted as a whole, with inner quotes doubled)", c->label,
                                   c->line, used + 1, csv_strerror(e));
                return gb_fail(e == CSV_ENOMEM ? GB_ENV : GB_INPUT, "%s:%zu: %s", c->label, c->line,
                               csv_strerror(e));
            }
        }
        pos += len;
        if (nl) c->line++;
    }
    return c->err;
}

gb_status gb_csv_parse(const char *label, const char *text, size_t n, gb_csv_table *t) {
    GB_ASSERT(label && t && (text || n == 0), "gb_csv_parse needs a label, text and a table");
    memset(t, 0, sizeof *t);
    t->source = strdup(label);
    GB_ASSERT(t->source, "out of memory");
    parse_ctx c = {.label = label, .t = t, .line = 1, .err = GB_OK};

    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        free(t->source);
        t->source = NULL;
        return gb_fail(GB_ENV, "%s: cannot initialise libcsv (out of memory)", label);
    }
    gb_status s = feed(&c, &p, text, n);
    if (s == GB_OK) {
        /* Ends a last row that has no trailing newline; reports open quotes. */
        if (csv_fini(&p, on_field, on_row, &c) != 0 && c.err == GB_OK)
            c.err = gb_fail(GB_INPUT, "%s:%zu: unterminated quoted field (a '\"' opened in the row starting "
                            "on this line is never closed)", label, c.row_start);
        s = c.err;
    }
    csv_free(&p);
    if (s == GB_OK && !c.have_header) {
        size_t last = n > 0 && text[n - 1] == '\n' ? c.line - 1 : c.line;
        s = gb_fail(GB_INPUT, "%s:%zu: no header row: the file is empty or holds only comments and blank "
                    "lines", label, last > 0 ? last : 1);
    }
    free_strings(c.fields, c.n_fields);
    if (s != GB_OK) gb_csv_free(t);
    return s;
}

gb_status gb_csv_read(const char *path, gb_csv_table *t) {
    GB_ASSERT(path && t, "gb_csv_read needs a path and a table");
    memset(t, 0, sizeof *t);
    unsigned char *data = NULL;
    size_t n = 0;
    GB_TRY(gb_read_file(path, &data, &n));
    gb_status s = gb_csv_parse(path, (const char *)data, n, t);
    free(data);
    return s;
}

int gb_csv_col(const gb_csv_table *t, const char *name) {
    GB_ASSERT(t && name, "gb_csv_col needs a table and a name");
    for (size_t j = 0; j < t->n_cols; j++)
        if (strcmp(t->header[j], name) == 0) return (int)j;
    return -1;
}

const char *gb_csv_cell(const gb_csv_table *t, size_t row, size_t col) {
    GB_ASSERT(t && row < t->n_rows && col < t->n_cols, "cell (%zu, %zu) outside a %zu x %zu table", row, col,
              t ? t->n_rows : 0, t ? t->n_cols : 0);
    return t->cells[row * t->n_cols + col];
}

gb_status gb_csv_double(const gb_csv_table *t, size_t row, const char *col, double *out) {
    GB_ASSERT(t && col && out, "gb_csv_double needs a table, a column and an output");
    GB_ASSERT(row < t->n_rows, "row %zu outside a table of %zu rows", row, t->n_rows);
    const char *src = t->source ? t->source : "<csv>";
    int j = gb_csv_col(t, col);
    if (j < 0) {
        char cols[512];
        size_t used = 0;
        cols[0] = '\0';
        for (size_t k = 0; k < t->n_cols && used < sizeof cols; k++)
            used += (size_t)snprintf(cols + used, sizeof cols - used, "%s'%s'", k ? ", " : "", t->header[k]);
        return gb_fail(GB_INPUT, "%s: no column '%s' (the header has %s)", src, col, cols);
    }
    const char *cell = gb_csv_cell(t, row, (size_t)j);
    size_t line = t->row_lines[row];
    if (cell[0] == '\0')
        return gb_fail(GB_INPUT, "%s:%zu: column '%s' is empty, expected a number", src, line, col);
    /* strtod alone would also take hexadecimal floats ("0x1p3"), which no writer of these files
     * produces: such a cell is a damaged one (libcsv already trims blanks around fields) */
    if (strpbrk(cell, "xX"))
        return gb_fail(GB_INPUT, "%s:%zu: column '%s': '%s' is not a decimal number", src, line, col, cell);
    char *end = NULL;
    errno = 0;
    double v = strtod(cell, &end);
    if (end == cell || *end != '\0')
        return gb_fail(GB_INPUT, "%s:%zu: column '%s': '%s' is not a number", src, line, col, cell);
    /* ERANGE with a tiny result is underflow to a subnormal or zero: keep it. */
    if (errno == ERANGE && isinf(v))
        return gb_fail(GB_INPUT, "%s:%zu: column '%s': '%s' overflows a double", src, line, col, cell);
    *out = v;
    return GB_OK;
}

void gb_csv_free(gb_csv_table *t) {
    if (!t) return;
    free_strings(t->header, t->n_cols);
    free_strings(t->cells, t->n_rows * t->n_cols);
    free(t->row_lines);
    free(t->source);
    memset(t, 0, sizeof *t);
}

static int needs_quotes(const char *f) {
    size_t n = strlen(f);
    if (n == 0) return 0;
    if (f[0] == ' ' || f[0] == '\t' || f[0] == '#' || f[n - 1] == ' ' || f[n - 1] == '\t') return 1;
    /* A leading byte-order mark would be skipped as the file's own if this is the first field. */
    if (strncmp(f, "\xEF\xBB\xBF", 3) == 0) return 1;
    return strpbrk(f, ",\"\r\n") != NULL;
}

void gb_csv_write_field(FILE *fp, const char *field) {
    GB_ASSERT(fp, "gb_csv_write_field needs a stream");
    if (!field) return;
    if (needs_quotes(field)) csv_fwrite(fp, field, strlen(field)); /* quotes it, doubling '"' */
    else fputs(field, fp);
}

void gb_csv_write_row(FILE *fp, const char *const *fields, size_t n) {
    GB_ASSERT(fp && fields && n >= 1, "gb_csv_write_row needs a stream and at least one field");
    if (n == 1 && (!fields[0] || fields[0][0] == '\0')) {
        fputs("\"\"\n", fp);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i) fputc(',', fp);
        gb_csv_write_field(fp, fields[i]);
    }
    fputc('\n', fp);
}
