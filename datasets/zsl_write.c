/* datasets/zsl_write.c - gb_zsl_set -> GBU / GAZSL files (see datasets/zsl_write.h).
 * Tested by tests/test_datasets_zsl.c.
 */
#include "datasets/zsl_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/pickle_numpy.h"
#include "datasets/zsl_mat.h"
#include "datasets/zsl_text.h"

/* 1-based copies: labels as double (upstream does labels.astype(int)), index vectors as
 * int32 (upstream indexes numpy arrays with them directly, which needs an integer class). */
static double *one_based(const int32_t *v, int n) {
    double *d = malloc(((size_t)n + 1) * sizeof *d);
    if (d)
        for (int i = 0; i < n; i++) d[i] = (double)v[i] + 1.0;
    return d;
}

static int32_t *one_based_i32(const int32_t *v, int n) {
    int32_t *d = malloc(((size_t)n + 1) * sizeof *d);
    if (d)
        for (int i = 0; i < n; i++) d[i] = v[i] + 1;
    return d;
}

/* [rows, cols] row-major float -> column-major (MATLAB) buffer of rows x cols; as double
 * when as_double, else float. */
static void *col_major(const float *src, const int32_t *row_ids, size_t rows, size_t cols, int as_double) {
    void *out = malloc((rows * cols + 1) * (as_double ? sizeof(double) : sizeof(float)));
    if (!out) return NULL;
    for (size_t i = 0; i < rows; i++) {
        const float *r = src + (row_ids ? (size_t)row_ids[i] : i) * cols;
        for (size_t j = 0; j < cols; j++) {
            if (as_double) ((double *)out)[j * rows + i] = r[j];
            else ((float *)out)[j * rows + i] = r[j];
        }
    }
    return out;
}

static gb_status write_strings_fmt(gb_zmat_writer *w, const char *name, int n, const int32_t *a, int compress,
                                   int is_class) {
    char **s = calloc((size_t)n + 1, sizeof *s);
    gb_status st = s ? GB_OK : gb_fail(GB_ENV, "out of memory");
    for (int i = 0; st == GB_OK && i < n; i++) {
        s[i] = malloc(64);
        if (!s[i]) st = gb_fail(GB_ENV, "out of memory");
        else if (is_class) snprintf(s[i], 64, "%03d.synthetic_class_%d", i + 1, i + 1);
        else snprintf(s[i], 64, "synthetic/%03d/%06d.jpg", a[i] + 1, i + 1);
    }
    if (st == GB_OK) st = gb_zmat_write_strings(w, name, (const char *const *)s, (size_t)n, compress);
    for (int i = 0; s && i < n; i++) free(s[i]);
    free(s);
    return st;
}

gb_status gb_zsl_write_gbu(const gb_zsl_set *set, const char *dir) {
    GB_ASSERT(set->class_local, "gb_zsl_write_gbu needs a checked set (gb_zsl_set_check)");
    char path[1100];
    gb_zmat_writer w;
    /* res101.mat: features dim x N are the [N, dim] rows as they are */
    snprintf(path, sizeof path, "%s/res101.mat", dir);
    GB_TRY(gb_zmat_writer_open(&w, path));
    double *labels = one_based(set->labels, set->n);
    gb_status st = labels ? GB_OK : gb_fail(GB_ENV, "out of memory");
    if (st == GB_OK) st = gb_zmat_write(&w, "features", MAT_C_SINGLE, (size_t)set->dim, (size_t)set->n, set->features, 0);
    if (st == GB_OK) st = gb_zmat_write(&w, "labels", MAT_C_DOUBLE, (size_t)set->n, 1, labels, 0);
    if (st == GB_OK) st = write_strings_fmt(&w, "image_files", set->n, set->labels, 0, 0);
    free(labels);
    if (st != GB_OK) {
        gb_zmat_writer_abort(&w);
        return st;
    }
    GB_TRY(gb_zmat_writer_commit(&w));

    snprintf(path, sizeof path, "%s/att_splits.mat", dir);
    GB_TRY(gb_zmat_writer_open(&w, path));
    size_t a = (size_t)set->att_dim, c = (size_t)set->num_classes;
    double *att = malloc((a * c + 1) * sizeof *att), *orig = malloc((a * c + 1) * sizeof *orig);
    int32_t *tr = malloc(((size_t)set->n_train + 1) * sizeof *tr), *va = malloc(((size_t)set->n_train + 1) * sizeof *va);
    st = att && orig && tr && va ? GB_OK : gb_fail(GB_ENV, "out of memory");
    if (st == GB_OK)
        for (size_t k = 0; k < a * c; k++) { /* [C, A] rows = columns of the A x C matrix */
            att[k] = set->class_desc[k];
            orig[k] = 100.0 * set->class_desc[k]; /* stand-in for the unnormalised attributes */
        }
    int ntr = 0, nva = 0, first_val = set->n_seen - set->n_seen / 5;
    for (int i = 0; st == GB_OK && i < set->n_train; i++) {
        int32_t r = set->train[i];
        if (set->class_local[set->labels[r]] >= first_val) va[nva++] = r;
        else tr[ntr++] = r;
    }
    const int32_t *locs[5] = {set->train, tr, va, set->test_seen, set->test_unseen};
    int counts[5] = {set->n_train, ntr, nva, set->n_test_seen, set->n_test_unseen};
    static const char *const names[5] = {"trainval_loc", "train_loc", "val_loc", "test_seen_loc", "test_unseen_loc"};
    if (st == GB_OK) st = gb_zmat_write(&w, "att", MAT_C_DOUBLE, a, c, att, 1);
    if (st == GB_OK) st = gb_zmat_write(&w, "original_att", MAT_C_DOUBLE, a, c, orig, 1);
    for (int k = 0; k < 5 && st == GB_OK; k++) {
        int32_t *v = one_based_i32(locs[k], counts[k]);
        st = v ? gb_zmat_write(&w, names[k], MAT_C_INT32, (size_t)counts[k], 1, v, 1) : gb_fail(GB_ENV, "out of memory");
        free(v);
    }
    if (st == GB_OK) st = write_strings_fmt(&w, "allclasses_names", set->num_classes, NULL, 1, 1);
    free(att);
    free(orig);
    free(tr);
    free(va);
    if (st != GB_OK) {
        gb_zmat_writer_abort(&w);
        return st;
    }
    return gb_zmat_writer_commit(&w);
}

static gb_status write_labels(const gb_zsl_set *set, const char *path, const int32_t *rows, int n) {
    int64_t *v = malloc(((size_t)n + 1) * sizeof *v);
    if (!v) return gb_fail(GB_ENV, "out of memory");
    for (int i = 0; i < n; i++) v[i] = set->class_local[set->labels[rows[i]]];
    unsigned char *bytes;
    size_t len;
    gb_status st = gb_np_pickle_py2_i64(&bytes, &len, v, (size_t)n);
    free(v);
    if (st != GB_OK) return st;
    st = gb_atomic_write(path, bytes, len);
    free(bytes);
    return st;
}

static gb_status write_one(const char *path, const char *name, enum matio_classes type, size_t rows, size_t cols,
                           const void *data, int compress) {
    gb_zmat_writer w;
    GB_TRY(gb_zmat_writer_open(&w, path));
    gb_status st = gb_zmat_write(&w, name, type, rows, cols, data, compress);
    if (st != GB_OK) {
        gb_zmat_writer_abort(&w);
        return st;
    }
    return gb_zmat_writer_commit(&w);
}

gb_status gb_zsl_write_text(const gb_zsl_set *set, const char *dir, const char *dataset, const char *split) {
    GB_ASSERT(set->class_local, "gb_zsl_write_text needs a checked set (gb_zsl_set_check)");
    if (set->n_test_seen)
        return gb_fail(GB_USAGE, "%s: %d test_seen rows, which the GAZSL text format cannot hold (it has train and "
                       "unseen test rows only)", set->identity, set->n_test_seen);
    const char *names[6];
    GB_TRY(gb_zsl_text_files(dataset, split, names));
    char path[6][1100];
    for (int i = 0; i < 6; i++) snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
    size_t c = (size_t)set->num_classes, v = (size_t)set->att_dim, d = (size_t)set->dim;
    double *pm = col_major(set->class_desc, NULL, c, v, 1);
    if (!pm) return gb_fail(GB_ENV, "out of memory");
    gb_status st = write_one(path[0], "PredicateMatrix", MAT_C_DOUBLE, c, v, pm, 1);
    free(pm);
    if (st != GB_OK) return st;
    gb_zmat_writer w;
    GB_TRY(gb_zmat_writer_open(&w, path[1]));
    int32_t *tr = one_based_i32(set->seen, set->n_seen), *te = one_based_i32(set->unseen, set->n_unseen);
    st = tr && te ? GB_OK : gb_fail(GB_ENV, "out of memory");
    if (st == GB_OK) st = gb_zmat_write(&w, "train_cid", MAT_C_INT32, 1, (size_t)set->n_seen, tr, 1);
    if (st == GB_OK) st = gb_zmat_write(&w, "test_cid", MAT_C_INT32, 1, (size_t)set->n_unseen, te, 1);
    free(tr);
    free(te);
    if (st != GB_OK) {
        gb_zmat_writer_abort(&w);
        return st;
    }
    GB_TRY(gb_zmat_writer_commit(&w));
    const int32_t *rows[2] = {set->train, set->test_unseen};
    int counts[2] = {set->n_train, set->n_test_unseen};
    for (int k = 0; k < 2; k++) {
        float *f = col_major(set->features, rows[k], (size_t)counts[k], d, 0);
        if (!f) return gb_fail(GB_ENV, "out of memory");
        st = write_one(path[2 + k], "pfc_feat", MAT_C_SINGLE, (size_t)counts[k], d, f, 0);
        free(f);
        if (st != GB_OK) return st;
        GB_TRY(write_labels(set, path[4 + k], rows[k], counts[k]));
    }
    return GB_OK;
}
