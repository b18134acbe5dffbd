/* datasets/zsl_text.c - GAZSL / CIZSL text-set loader (see datasets/zsl_text.h).
 * Tested by tests/test_datasets_zsl.c.
 */
#include "datasets/zsl_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/pickle.h"
#include "core/pickle_numpy.h"
#include "datasets/zsl_mat.h"

gb_status gb_zsl_text_files(const char *dataset, const char *split, const char *names[6]) {
    static const char *const cub_easy[6] = {"CUB_Porter_7551D_TFIDF_new.mat", "train_test_split_easy.mat",
                                            "pfc_feat_train.mat", "pfc_feat_test.mat", "labels_train.pkl",
                                            "labels_test.pkl"};
    static const char *const cub_hard[6] = {"CUB_Porter_7551D_TFIDF_new.mat", "train_test_split_hard.mat",
                                            "pfc_feat_train_hard.mat", "pfc_feat_test_hard.mat",
                                            "labels_train_hard.pkl", "labels_test_hard.pkl"};
    static const char *const nab_easy[6] = {"NAB_Porter_13217D_TFIDF_new.mat", "train_test_split_NABird_easy.mat",
                                            "pfc_feat_train_easy.mat", "pfc_feat_test_easy.mat", "labels_train.pkl",
                                            "labels_test.pkl"};
    static const char *const nab_hard[6] = {"NAB_Porter_13217D_TFIDF_new.mat", "train_test_split_NABird_hard.mat",
                                            "pfc_feat_train_hard.mat", "pfc_feat_test_hard.mat",
                                            "labels_train_hard.pkl", "labels_test_hard.pkl"};
    int cub = !strcmp(dataset, "cub"), nab = !strcmp(dataset, "nab");
    int easy = !strcmp(split, "easy"), hard = !strcmp(split, "hard");
    if ((!cub && !nab) || (!easy && !hard))
        return gb_fail(GB_USAGE, "text zero-shot set '%s' split '%s': expected dataset cub or nab and split easy or hard",
                       dataset, split);
    const char *const *t = cub ? (easy ? cub_easy : cub_hard) : (easy ? nab_easy : nab_hard);
    for (int i = 0; i < 6; i++) names[i] = t[i];
    return GB_OK;
}

/* labels_*.pkl: `expect` 0-based ints below `bound`, as int32. */
static gb_status read_labels(const char *path, size_t expect, int bound, const char *cid, int32_t **out) {
    *out = NULL;
    unsigned char *buf;
    size_t n;
    GB_TRY(gb_read_file(path, &buf, &n));
    gb_pickle *pk;
    gb_pickle_opts o = {.origin = path, .allow_globals = gb_np_pickle_globals};
    gb_status st = gb_pickle_parse(&pk, buf, n, &o, NULL);
    free(buf);
    if (st != GB_OK) return st;
    const gb_pk_node *root = gb_pickle_root(pk);
    gb_np_array a = {0};
    size_t count = 0;
    if (root->kind == GB_PK_LIST || root->kind == GB_PK_TUPLE) {
        count = root->count;
    } else if (root->kind == GB_PK_REDUCE) {
        st = gb_np_from_node(&a, pk, root, 0);
        if (st == GB_OK && !(a.ndim == 1 || (a.ndim == 2 && (a.shape[0] == 1 || a.shape[1] == 1))))
            st = gb_fail(GB_INPUT, "%s: the label array has %d dimensions; expected a vector", path, a.ndim);
        count = a.count;
    } else {
        st = gb_fail(GB_INPUT, "%s: the pickle holds a %s; expected a numpy array (or list) of integer labels", path,
                     gb_pk_kind_name(root->kind));
    }
    if (st == GB_OK && count != expect)
        st = gb_fail(GB_INPUT, "%s: %zu labels for %zu feature rows; the label and feature files do not belong "
                     "together", path, count, expect);
    int32_t *lab = st == GB_OK ? malloc((count ? count : 1) * sizeof *lab) : NULL;
    if (st == GB_OK && !lab) st = gb_fail(GB_ENV, "%s: out of memory", path);
    for (size_t i = 0; st == GB_OK && i < count; i++) {
        int64_t v;
        int ok = a.data ? gb_np_get_int64(&a, i, &v) : gb_pk_as_int64(root->items[i], &v);
        if (!ok)
            st = gb_fail(GB_INPUT, "%s: label %zu is not an integer; expected integer class positions (a %s "
                         "array): the file is corrupt or not a labels file", path, i + 1,
                         a.data ? gb_np_dtype_name(a.dtype) : "list");
        else if (v < 0 || v >= bound)
            st = gb_fail(GB_INPUT, "%s: label %zu is %lld, outside 0..%d (positions in %s)", path, i + 1, (long long)v,
                         bound - 1, cid);
        else
            lab[i] = (int32_t)v;
    }
    gb_np_array_free(&a);
    gb_pickle_free(pk);
    if (st != GB_OK) {
        free(lab);
        return st;
    }
    *out = lab;
    return GB_OK;
}

gb_status gb_zsl_text_load(gb_zsl_set *set, const char *dir, const char *dataset, const char *split) {
    memset(set, 0, sizeof *set);
    const char *names[6];
    GB_TRY(gb_zsl_text_files(dataset, split, names));
    char path[6][1100];
    for (int i = 0; i < 6; i++) snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
    mat_t *m = NULL;
    float *ftr = NULL, *fte = NULL;
    int32_t *ltr = NULL, *lte = NULL;
    size_t c_rows = 0, v_cols = 0, ntr = 0, dtr = 0, nte = 0, dte = 0, nseen = 0, nunseen = 0;
    char what[1200];
    /* PredicateMatrix: classes are rows -> [C, V] */
    gb_status st = gb_zmat_open(&m, path[0]);
    if (st == GB_OK) st = gb_zmat_read_f32(m, path[0], "PredicateMatrix", 0, &set->class_desc, &c_rows, &v_cols);
    gb_zmat_close(m);
    m = NULL;
    if (st == GB_OK && (c_rows == 0 || v_cols == 0 || c_rows > INT32_MAX || v_cols > INT32_MAX))
        st = gb_fail(GB_INPUT, "%s: PredicateMatrix is %zu x %zu; expected classes x text dims", path[0], c_rows, v_cols);
    snprintf(what, sizeof what, "class numbers: rows of PredicateMatrix in %s", path[0]);
    if (st == GB_OK) st = gb_zmat_open(&m, path[1]);
    if (st == GB_OK) st = gb_zmat_read_index(m, path[1], "train_cid", (int64_t)c_rows, what, &set->seen, &nseen);
    if (st == GB_OK) st = gb_zmat_read_index(m, path[1], "test_cid", (int64_t)c_rows, what, &set->unseen, &nunseen);
    gb_zmat_close(m);
    m = NULL;
    if (st == GB_OK) st = gb_zmat_open(&m, path[2]);
    if (st == GB_OK) st = gb_zmat_read_f32(m, path[2], "pfc_feat", 0, &ftr, &ntr, &dtr);
    gb_zmat_close(m);
    m = NULL;
    if (st == GB_OK) st = gb_zmat_open(&m, path[3]);
    if (st == GB_OK) st = gb_zmat_read_f32(m, path[3], "pfc_feat", 0, &fte, &nte, &dte);
    gb_zmat_close(m);
    if (st == GB_OK && (dtr == 0 || dte != dtr))
        st = gb_fail(GB_INPUT, "%s: pfc_feat has %zu columns (feature dim) but %s has %zu; the files do not belong "
                     "together", path[3], dte, path[2], dtr);
    if (st == GB_OK && ntr + nte > INT32_MAX) st = gb_fail(GB_INPUT, "%s: too many feature rows", path[2]);
    snprintf(what, sizeof what, "train_cid of %s", path[1]);
    if (st == GB_OK) st = read_labels(path[4], ntr, (int)nseen, what, &ltr);
    snprintf(what, sizeof what, "test_cid of %s", path[1]);
    if (st == GB_OK) st = read_labels(path[5], nte, (int)nunseen, what, &lte);
    if (st != GB_OK) goto fail;
    set->num_classes = (int)c_rows;
    set->att_dim = (int)v_cols;
    set->n_seen = (int)nseen;
    set->n_unseen = (int)nunseen;
    set->n = (int)(ntr + nte);
    set->dim = (int)dtr;
    set->n_train = (int)ntr;
    set->n_test_unseen = (int)nte;
    set->features = malloc(((size_t)set->n * dtr + 1) * sizeof *set->features);
    set->labels = malloc(((size_t)set->n + 1) * sizeof *set->labels);
    set->train = malloc((ntr + 1) * sizeof *set->train);
    set->test_unseen = malloc((nte + 1) * sizeof *set->test_unseen);
    if (!set->features || !set->labels || !set->train || !set->test_unseen) {
        st = gb_fail(GB_ENV, "%s: out of memory for %d instances", dir, set->n);
        goto fail;
    }
    memcpy(set->features, ftr, ntr * dtr * sizeof *ftr);
    memcpy(set->features + ntr * dtr, fte, nte * dtr * sizeof *fte);
    for (size_t i = 0; i < ntr; i++) {
        set->labels[i] = set->seen[ltr[i]];
        set->train[i] = (int32_t)i;
    }
    for (size_t i = 0; i < nte; i++) {
        set->labels[ntr + i] = set->unseen[lte[i]];
        set->test_unseen[i] = (int32_t)(ntr + i);
    }
    char s_feat[1200], s_lab[1200], s_desc[1200], s_tr[1200], s_tu[1200], s_seen[1200], s_unseen[1200];
    snprintf(s_feat, sizeof s_feat, "%s: pfc_feat", path[2]);
    snprintf(s_lab, sizeof s_lab, "%s", path[4]);
    snprintf(s_desc, sizeof s_desc, "%s: PredicateMatrix", path[0]);
    snprintf(s_tr, sizeof s_tr, "%s", path[4]);
    snprintf(s_tu, sizeof s_tu, "%s", path[5]);
    snprintf(s_seen, sizeof s_seen, "%s: train_cid", path[1]);
    snprintf(s_unseen, sizeof s_unseen, "%s: test_cid", path[1]);
    gb_zsl_sources src = {s_feat, s_lab, s_desc, s_tr, "test_seen (none in this protocol)", s_tu, s_seen, s_unseen};
    st = gb_zsl_set_check(set, &src);
    if (st != GB_OK) goto fail;
    snprintf(set->identity, sizeof set->identity, "gazsl:%s-%s", dataset, split);
    const char *paths[6];
    for (int i = 0; i < 6; i++) paths[i] = path[i];
    st = gb_zsl_hash_files(paths, names, 6, set->sha256);
    if (st != GB_OK) goto fail;
    free(ftr);
    free(fte);
    free(ltr);
    free(lte);
    return GB_OK;
fail:
    free(ftr);
    free(fte);
    free(ltr);
    free(lte);
    gb_zsl_set_free(set);
    return st;
}
