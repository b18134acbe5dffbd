/* datasets/zsl_mat.c - libmatio reading/writing helpers for the zero-shot loaders (see the header).
 * Tested by tests/test_datasets_zsl.c.
 */
#include "datasets/zsl_mat.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic_file.h"

/* ---- libmatio diagnostics: kept for our messages instead of printed ------------------ */

static _Thread_local char matio_msg[512];
static pthread_once_t matio_once = PTHREAD_ONCE_INIT;

static void matio_log(int level, char *message) {
    if (level & (MATIO_LOG_LEVEL_ERROR | MATIO_LOG_LEVEL_CRITICAL | MATIO_LOG_LEVEL_WARNING))
        snprintf(matio_msg, sizeof matio_msg, "%s", message ? message : "");
}

static void matio_init(void) { Mat_LogInitFunc("genbench", matio_log); }

/* " (libmatio: <last message>)" or "" */
static const char *matio_said(void) {
    static _Thread_local char buf[600];
    if (!matio_msg[0]) return "";
    snprintf(buf, sizeof buf, " (libmatio: %s)", matio_msg);
    return buf;
}

/* ---- opening -------------------------------------------------------------------------- */

/* Level-5 files: the top-level elements (miMATRIX 14 / miCOMPRESSED 15, each an 8-byte tag
 * and nbytes of payload) must tile the file exactly. libmatio reads only the variables asked
 * for, so without this walk a file cut inside a variable nobody reads would pass. */
static gb_status walk_level5(FILE *fp, const char *path, int big_endian) {
    if (fseeko(fp, 0, SEEK_END) != 0) return gb_fail(GB_INPUT, "%s: cannot seek: %s", path, strerror(errno));
    off_t size = ftello(fp), off = 128;
    for (int k = 1; off < size; k++) {
        unsigned char t[8];
        if (size - off < 8 || fseeko(fp, off, SEEK_SET) != 0 || fread(t, 1, 8, fp) != 8)
            return gb_fail(GB_INPUT, "%s: %lld stray bytes after variable %d at offset %lld; the file is truncated or "
                           "damaged: download it again", path, (long long)(size - off), k - 1, (long long)off);
        uint32_t w[2];
        for (int i = 0; i < 2; i++)
            w[i] = big_endian ? (uint32_t)t[4 * i] << 24 | (uint32_t)t[4 * i + 1] << 16 | (uint32_t)t[4 * i + 2] << 8 | t[4 * i + 3]
                              : (uint32_t)t[4 * i + 3] << 24 | (uint32_t)t[4 * i + 2] << 16 | (uint32_t)t[4 * i + 1] << 8 | t[4 * i];
        if (w[0] != 14 && w[0] != 15)
            return gb_fail(GB_INPUT, "%s: offset %lld: element type %u where variable %d should start (miMATRIX 14 or "
                           "miCOMPRESSED 15); the file is damaged: download it again", path, (long long)off, w[0], k);
        if ((off_t)w[1] > size - off - 8)
            return gb_fail(GB_INPUT, "%s: variable %d at offset %lld needs %u bytes but the file ends after %lld; the "
                           "file is truncated: download it again", path, k, (long long)off, w[1],
                           (long long)(size - off - 8));
        off += 8 + (off_t)w[1];
    }
    return GB_OK;
}

gb_status gb_zmat_open(mat_t **mat, const char *path) {
    pthread_once(&matio_once, matio_init);
    *mat = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return gb_fail(GB_INPUT, "%s: cannot open: %s; check the data directory", path, strerror(errno));
    unsigned char h[128];
    size_t got = fread(h, 1, sizeof h, fp);
    if (got < sizeof h) {
        fclose(fp);
        return gb_fail(GB_INPUT, "%s: %zu bytes, too short for a MAT-file header (128 bytes); the file is truncated: "
                       "download it again", path, got);
    }
    int le = h[126] == 'I' && h[127] == 'M', be = h[126] == 'M' && h[127] == 'I';
    unsigned version = le ? (unsigned)(h[124] | h[125] << 8) : (unsigned)(h[124] << 8 | h[125]);
    gb_status st = GB_OK;
    if ((!le && !be) || (version != 0x0100 && version != 0x0200)) {
        st = gb_fail(GB_INPUT, "%s: not a MATLAB Level-5/v7/v7.3 MAT-file (header bytes 124..127 are %02x %02x %02x "
                     "%02x, expected version 0x0100 or 0x0200 and 'IM'); the file is corrupt or of another "
                     "format: download it again", path, h[124], h[125], h[126], h[127]);
    } else if (version == 0x0200) { /* v7.3: an HDF5 file behind a 512-byte user block */
        static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
        unsigned char s8[8];
        if (fseeko(fp, 512, SEEK_SET) != 0 || fread(s8, 1, 8, fp) != 8 || memcmp(s8, sig, 8) != 0)
            st = gb_fail(GB_INPUT, "%s: the header says MATLAB v7.3 but there is no HDF5 signature at byte 512; the "
                         "file is damaged (download it again) or was mislabelled (re-save it with MATLAB save(f, "
                         "'-v7') or scipy.io.savemat)", path);
    } else {
        st = walk_level5(fp, path, be);
    }
    fclose(fp);
    if (st != GB_OK) return st;
    matio_msg[0] = 0;
    *mat = Mat_Open(path, MAT_ACC_RDONLY);
    if (!*mat) {
        if (version == 0x0200)
            return gb_fail(GB_INPUT, "%s: a MATLAB v7.3 (HDF5) file that this libmatio cannot open (built without "
                           "HDF5, or the HDF5 part is corrupt)%s; re-save it as v7 (MATLAB: save(f, '-v7'); "
                           "Python: scipy.io.savemat) or install a libmatio with HDF5", path, matio_said());
        return gb_fail(GB_INPUT, "%s: libmatio cannot open this MAT-file%s; it is corrupt: download it again", path,
                       matio_said());
    }
    return GB_OK;
}

void gb_zmat_close(mat_t *mat) {
    if (mat) Mat_Close(mat);
}

/* The variable names present, for "missing variable" messages. */
static void list_vars(mat_t *mat, char *out, size_t size) {
    out[0] = 0;
    size_t used = 0;
    Mat_Rewind(mat);
    matvar_t *v;
    while ((v = Mat_VarReadNextInfo(mat)) != NULL) {
        if (v->name && used < size) used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "", v->name);
        Mat_VarFree(v);
    }
    if (!out[0]) snprintf(out, size, "none");
    Mat_Rewind(mat);
}

static gb_status read_var(mat_t *mat, const char *path, const char *name, matvar_t **out) {
    matio_msg[0] = 0;
    *out = Mat_VarRead(mat, name);
    if (*out) return GB_OK;
    char saved[sizeof matio_msg];
    snprintf(saved, sizeof saved, "%s", matio_msg);
    char names[400];
    list_vars(mat, names, sizeof names);
    char pattern[300];
    snprintf(pattern, sizeof pattern, "%s", name);
    size_t nl = strlen(pattern);
    for (const char *p = names; (p = strstr(p, pattern)) != NULL; p += nl)
        if ((p == names || p[-1] == ' ') && (p[nl] == ',' || p[nl] == 0)) {
            snprintf(matio_msg, sizeof matio_msg, "%s", saved);
            return gb_fail(GB_INPUT, "%s: variable '%s' cannot be read%s; the file is corrupt or truncated: download it "
                           "again", path, name, matio_said());
        }
    return gb_fail(GB_INPUT, "%s: variable '%s' is missing (the file has: %s); is this the right file?", path, name,
                   names);
}

/* Element i of a numeric variable's (real) data as double; 0 when the type is not numeric. */
static int get_f64(enum matio_types t, const void *data, size_t i, double *out) {
    switch (t) {
    case MAT_T_DOUBLE: *out = ((const double *)data)[i]; return 1;
    case MAT_T_SINGLE: *out = ((const float *)data)[i]; return 1;
    case MAT_T_INT8: *out = ((const int8_t *)data)[i]; return 1;
    case MAT_T_UINT8: *out = ((const uint8_t *)data)[i]; return 1;
    case MAT_T_INT16: *out = ((const int16_t *)data)[i]; return 1;
    case MAT_T_UINT16: *out = ((const uint16_t *)data)[i]; return 1;
    case MAT_T_INT32: *out = ((const int32_t *)data)[i]; return 1;
    case MAT_T_UINT32: *out = ((const uint32_t *)data)[i]; return 1;
    case MAT_T_INT64: *out = (double)((const int64_t *)data)[i]; return 1;
    case MAT_T_UINT64: *out = (double)((const uint64_t *)data)[i]; return 1;
    default: return 0;
    }
}

static size_t type_size(enum matio_types t) {
    switch (t) {
    case MAT_T_DOUBLE: case MAT_T_INT64: case MAT_T_UINT64: return 8;
    case MAT_T_SINGLE: case MAT_T_INT32: case MAT_T_UINT32: return 4;
    case MAT_T_INT16: case MAT_T_UINT16: return 2;
    case MAT_T_INT8: case MAT_T_UINT8: return 1;
    default: return 0;
    }
}

/* Shape checks shared by the readers: real, numeric or sparse, 2-D (trailing 1s allowed). */
static gb_status shape_of(const matvar_t *v, const char *path, const char *name, size_t *rows, size_t *cols) {
    if (v->isComplex) return gb_fail(GB_INPUT, "%s: variable '%s' is complex; expected real numbers", path, name);
    int numeric = v->class_type >= MAT_C_DOUBLE && v->class_type <= MAT_C_UINT64;
    if (!numeric && v->class_type != MAT_C_SPARSE)
        return gb_fail(GB_INPUT, "%s: variable '%s' is not a numeric array (MATLAB class %d); is this the right file?",
                       path, name, (int)v->class_type);
    if (v->rank < 2 || !v->dims) return gb_fail(GB_INPUT, "%s: variable '%s' has rank %d", path, name, v->rank);
    for (int d = 2; d < v->rank; d++)
        if (v->dims[d] != 1)
            return gb_fail(GB_INPUT, "%s: variable '%s' has %d dimensions; expected a matrix", path, name, v->rank);
    *rows = v->dims[0];
    *cols = v->dims[1];
    if (*cols && *rows > SIZE_MAX / sizeof(double) / *cols)
        return gb_fail(GB_INPUT, "%s: variable '%s' is %zu x %zu, too large", path, name, *rows, *cols);
    if (numeric) {
        size_t es = type_size(v->data_type), n = *rows * *cols;
        if (n && (!es || !v->data || v->nbytes < n * es))
            return gb_fail(GB_INPUT, "%s: variable '%s': %zu x %zu elements but %zu data bytes of type %d; the file is "
                           "corrupt: download it again", path, name, *rows, *cols, v->nbytes, (int)v->data_type);
    }
    return GB_OK;
}

/* A sparse matrix's values as a dense column-major double array: out[j * rows + i]. */
static gb_status dense_f64(const matvar_t *v, const char *path, const char *name, size_t rows, size_t cols,
                           double *out) {
    size_t n = rows * cols;
    const mat_sparse_t *s = v->data;
    memset(out, 0, n * sizeof *out);
    if (!n) return GB_OK;
    if (!s || (v->data_type != MAT_T_DOUBLE && v->data_type != MAT_T_SINGLE) || !s->jc || s->njc != cols + 1 ||
        (s->ndata && (!s->ir || !s->data)))
        return gb_fail(GB_INPUT, "%s: sparse variable '%s' has an inconsistent layout (jc length %u for %zu columns, "
                       "value type %d); the file is corrupt", path, name, s ? s->njc : 0, cols, (int)v->data_type);
    for (size_t j = 0; j < cols; j++) {
        uint32_t a = s->jc[j], b = s->jc[j + 1];
        if (a > b || b > s->ndata || b > s->nir)
            return gb_fail(GB_INPUT, "%s: sparse variable '%s': column %zu points outside its %u values", path, name,
                           j + 1, s->ndata);
        for (uint32_t k = a; k < b; k++) {
            if (s->ir[k] >= rows)
                return gb_fail(GB_INPUT, "%s: sparse variable '%s': row index %u beyond %zu rows", path, name,
                               s->ir[k] + 1, rows);
            get_f64(v->data_type, s->data, k, &out[j * rows + s->ir[k]]);
        }
    }
    return GB_OK;
}

gb_status gb_zmat_read_f32(mat_t *mat, const char *path, const char *name, int records_are_columns, float **data,
                           size_t *rows, size_t *cols) {
    *data = NULL;
    *rows = *cols = 0;
    matvar_t *v;
    GB_TRY(read_var(mat, path, name, &v));
    size_t r, c;
    gb_status st = shape_of(v, path, name, &r, &c);
    double *tmp = NULL; /* dense copy, for sparse matrices only: dense data convert in place */
    float *out = NULL;
    int sparse = v->class_type == MAT_C_SPARSE;
    if (st == GB_OK) {
        size_t cells = r * c > 0 ? r * c : 1;
        out = malloc(cells * sizeof *out);
        if (sparse) tmp = malloc(cells * sizeof *tmp);
        if (!out || (sparse && !tmp))
            st = gb_fail(GB_ENV, "%s: out of memory for variable '%s' (%zu x %zu)", path, name, r, c);
    }
    if (st == GB_OK && sparse) st = dense_f64(v, path, name, r, c, tmp);
    for (size_t j = 0; st == GB_OK && j < c; j++)
        for (size_t i = 0; i < r; i++) {
            double x = 0;
            if (sparse) x = tmp[j * r + i];
            else get_f64(v->data_type, v->data, j * r + i, &x);
            float f = (float)x;
            if (!isfinite(x) || !isfinite(f)) {
                st = gb_fail(GB_INPUT, "%s: variable '%s': value %g at row %zu, column %zu (1-based) is not a finite "
                             "float32; the data are corrupt: download them again", path, name, x, i + 1, j + 1);
                break;
            }
            out[records_are_columns ? j * r + i : i * c + j] = f;
        }
    Mat_VarFree(v);
    free(tmp);
    if (st != GB_OK) {
        free(out);
        return st;
    }
    *data = out;
    *rows = r;
    *cols = c;
    return GB_OK;
}

gb_status gb_zmat_read_index(mat_t *mat, const char *path, const char *name, int64_t max_one_based, const char *what,
                             int32_t **data, size_t *count) {
    *data = NULL;
    *count = 0;
    GB_ASSERT(max_one_based >= 0 && max_one_based <= INT32_MAX, "index bound %lld", (long long)max_one_based);
    matvar_t *v;
    GB_TRY(read_var(mat, path, name, &v));
    size_t r, c;
    gb_status st = shape_of(v, path, name, &r, &c);
    if (st == GB_OK && v->class_type == MAT_C_SPARSE)
        st = gb_fail(GB_INPUT, "%s: variable '%s' is sparse; expected a vector of %s", path, name, what);
    if (st == GB_OK && r != 1 && c != 1 && r * c != 0)
        st = gb_fail(GB_INPUT, "%s: variable '%s' is a %zu x %zu matrix; expected a vector of %s", path, name, r, c,
                     what);
    size_t n = st == GB_OK ? r * c : 0;
    int32_t *out = n ? malloc(n * sizeof *out) : NULL;
    if (n && !out) st = gb_fail(GB_ENV, "%s: out of memory for variable '%s'", path, name);
    for (size_t k = 0; st == GB_OK && k < n; k++) {
        double x = 0;
        get_f64(v->data_type, v->data, k, &x);
        if (!(x == floor(x)))
            st = gb_fail(GB_INPUT, "%s: variable '%s': element %zu is %g, not an integer (%s); the file is corrupt",
                         path, name, k + 1, x, what);
        else if (x < 1 || x > (double)max_one_based)
            st = gb_fail(GB_INPUT, "%s: variable '%s': element %zu is %.0f, outside 1..%lld (1-based %s); the file is "
                         "corrupt or belongs to another dataset", path, name, k + 1, x, (long long)max_one_based, what);
        else
            out[k] = (int32_t)x - 1;
    }
    Mat_VarFree(v);
    if (st != GB_OK) {
        free(out);
        return st;
    }
    *data = out;
    *count = n;
    return GB_OK;
}

/* ---- writing -------------------------------------------------------------------------- */

/* A fixed header (libmatio would write today's date): same data, same bytes. */
#define GB_ZMAT_HEADER "MATLAB 5.0 MAT-file, Platform: genbench, Created by: genbench with libmatio (no date)"

gb_status gb_zmat_writer_open(gb_zmat_writer *w, const char *path) {
    pthread_once(&matio_once, matio_init);
    memset(w, 0, sizeof *w);
    if (strlen(path) >= sizeof w->final_path) return gb_fail(GB_USAGE, "%s: path too long", path);
    snprintf(w->final_path, sizeof w->final_path, "%s", path);
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(w->tmp_path, sizeof w->tmp_path, "%.*s/.%s.mattmp.%ld", (int)(slash - path), path, slash + 1,
                 (long)getpid());
    else
        snprintf(w->tmp_path, sizeof w->tmp_path, ".%s.mattmp.%ld", path, (long)getpid());
    matio_msg[0] = 0;
    w->mat = Mat_CreateVer(w->tmp_path, GB_ZMAT_HEADER, MAT_FT_MAT5);
    if (!w->mat) return gb_fail(GB_ENV, "%s: cannot create%s; check that the directory exists and is writable", w->tmp_path,
                                matio_said());
    return GB_OK;
}

static gb_status write_var(gb_zmat_writer *w, matvar_t *v, const char *name, int compress) {
    if (!v) return gb_fail(GB_ENV, "%s: libmatio could not build variable '%s'%s", w->final_path, name, matio_said());
    matio_msg[0] = 0;
    int rc = Mat_VarWrite(w->mat, v, compress ? MAT_COMPRESSION_ZLIB : MAT_COMPRESSION_NONE);
    Mat_VarFree(v);
    if (rc) return gb_fail(GB_ENV, "%s: writing variable '%s' failed%s (disk full?)", w->final_path, name, matio_said());
    return GB_OK;
}

gb_status gb_zmat_write(gb_zmat_writer *w, const char *name, enum matio_classes type, size_t rows, size_t cols,
                        const void *data, int compress) {
    enum matio_types t = type == MAT_C_DOUBLE ? MAT_T_DOUBLE : type == MAT_C_SINGLE ? MAT_T_SINGLE : MAT_T_INT32;
    GB_ASSERT(type == MAT_C_DOUBLE || type == MAT_C_SINGLE || type == MAT_C_INT32, "class %d", (int)type);
    size_t dims[2] = {rows, cols};
    matvar_t *v = Mat_VarCreate(name, type, t, 2, dims, (void *)data, MAT_F_DONT_COPY_DATA);
    return write_var(w, v, name, compress);
}

gb_status gb_zmat_write_strings(gb_zmat_writer *w, const char *name, const char *const *strings, size_t rows,
                                int compress) {
    size_t dims[2] = {rows, 1};
    matvar_t *cell = Mat_VarCreate(name, MAT_C_CELL, MAT_T_CELL, 2, dims, NULL, 0);
    if (!cell) return write_var(w, NULL, name, compress);
    if (!cell->data && rows) { /* the element table; Mat_VarFree frees it and the elements */
        cell->data = calloc(rows, sizeof(matvar_t *));
        cell->nbytes = rows * sizeof(matvar_t *);
        cell->data_size = (int)sizeof(matvar_t *);
        if (!cell->data) {
            Mat_VarFree(cell);
            return gb_fail(GB_ENV, "%s: out of memory for cell '%s'", w->final_path, name);
        }
    }
    for (size_t i = 0; i < rows; i++) {
        size_t sdims[2] = {1, strlen(strings[i])};
        matvar_t *s = Mat_VarCreate(NULL, MAT_C_CHAR, MAT_T_UINT8, 2, sdims, (void *)strings[i], 0);
        if (!s) {
            Mat_VarFree(cell);
            return write_var(w, NULL, name, compress);
        }
        /* returns the previous element (NULL here), not a status */
        Mat_VarSetCell(cell, (int)i, s);
    }
    return write_var(w, cell, name, compress);
}

gb_status gb_zmat_writer_commit(gb_zmat_writer *w) {
    if (!w->mat) return gb_fail(GB_ENV, "%s: writer was not open", w->final_path);
    matio_msg[0] = 0;
    int rc = Mat_Close(w->mat);
    w->mat = NULL;
    if (rc) {
        unlink(w->tmp_path);
        return gb_fail(GB_ENV, "%s: closing failed%s (disk full?)", w->tmp_path, matio_said());
    }
    unsigned char *bytes;
    size_t n;
    gb_status st = gb_read_file(w->tmp_path, &bytes, &n);
    unlink(w->tmp_path);
    if (st != GB_OK) return st;
    st = gb_atomic_write(w->final_path, bytes, n);
    free(bytes);
    return st;
}

void gb_zmat_writer_abort(gb_zmat_writer *w) {
    if (w->mat) {
        Mat_Close(w->mat);
        w->mat = NULL;
        unlink(w->tmp_path);
    }
}
