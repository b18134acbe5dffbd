/* datasets/gbu.c - GBU / xlsa17 loader (see datasets/gbu.h). Tested by tests/test_datasets_zsl.c. */
#include "datasets/gbu.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "datasets/zsl_mat.h"

static const gb_gbu_profile profiles[] = {
    /* name, images, classes, seen, unseen, att_dim, trainval, test_seen, test_unseen */
    {"AWA1", 30475, 50, 40, 10, 85, 19832, 4958, 5685},
    {"AWA2", 37322, 50, 40, 10, 85, 23527, 5882, 7913},
    {"APY", 15339, 32, 20, 12, 64, 5932, 1483, 7924},
    {"CUB", 11788, 200, 150, 50, 312, 7057, 1764, 2967},
    {"SUN", 14340, 717, 645, 72, 102, 10320, 2580, 1440},
};

const gb_gbu_profile *gb_gbu_find_profile(const char *name) {
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
        if (!strcasecmp(profiles[i].name, name)) return &profiles[i];
    return NULL;
}

/* Sorted unique classes of labels[rows]. */
static gb_status unique_classes(const gb_zsl_set *s, const int32_t *rows, int count, int32_t **out, int *n) {
    uint8_t *seen = calloc((size_t)s->num_classes, 1);
    int32_t *list = malloc(((size_t)s->num_classes + 1) * sizeof *list);
    if (!seen || !list) {
        free(seen);
        free(list);
        return gb_fail(GB_ENV, "out of memory");
    }
    for (int i = 0; i < count; i++) seen[s->labels[rows[i]]] = 1;
    int k = 0;
    for (int c = 0; c < s->num_classes; c++)
        if (seen[c]) list[k++] = c;
    free(seen);
    *out = list;
    *n = k;
    return GB_OK;
}

static void warn_profile(const gb_zsl_set *s, const char *name) {
    const gb_gbu_profile *p = gb_gbu_find_profile(name);
    if (!p) return;
    if (s->n != p->images || s->num_classes != p->classes || s->n_seen != p->seen || s->n_unseen != p->unseen ||
        s->att_dim != p->att_dim || s->n_train != p->trainval || s->n_test_seen != p->test_seen ||
        s->n_test_unseen != p->test_unseen)
        gb_warn("%s: sizes differ from the published GBU %s split (images %d/%d, classes %d/%d, seen %d/%d, unseen "
                "%d/%d, attributes %d/%d, trainval %d/%d, test_seen %d/%d, test_unseen %d/%d: loaded/published)",
                s->identity, p->name, s->n, p->images, s->num_classes, p->classes, s->n_seen, p->seen, s->n_unseen,
                p->unseen, s->att_dim, p->att_dim, s->n_train, p->trainval, s->n_test_seen, p->test_seen,
                s->n_test_unseen, p->test_unseen);
}

static gb_status to_int(size_t v, const char *path, const char *what, int *out) {
    if (v > (size_t)INT32_MAX) return gb_fail(GB_INPUT, "%s: %s %zu is too large", path, what, v);
    *out = (int)v;
    return GB_OK;
}

gb_status gb_gbu_load(gb_zsl_set *set, const char *dir, const char *name) {
    memset(set, 0, sizeof *set);
    char res[1100], att[1100];
    snprintf(res, sizeof res, "%s/res101.mat", dir);
    snprintf(att, sizeof att, "%s/att_splits.mat", dir);
    mat_t *ma = NULL, *mr = NULL;
    size_t a_rows = 0, a_cols = 0, f_rows = 0, f_cols = 0, k;
    int32_t *loc[3] = {NULL, NULL, NULL};
    size_t loc_n[3] = {0, 0, 0};
    static const char *const loc_names[3] = {"trainval_loc", "test_seen_loc", "test_unseen_loc"};
    gb_status st = gb_zmat_open(&ma, att);
    if (st == GB_OK) st = gb_zmat_open(&mr, res);
    /* att: A x C, class c is column c -> [C, A] */
    if (st == GB_OK) st = gb_zmat_read_f32(ma, att, "att", 1, &set->class_desc, &a_rows, &a_cols);
    if (st == GB_OK) st = to_int(a_cols, att, "class count", &set->num_classes);
    if (st == GB_OK) st = to_int(a_rows, att, "attribute dim", &set->att_dim);
    /* features: dim x N, instance j is column j -> [N, dim] */
    if (st == GB_OK) st = gb_zmat_read_f32(mr, res, "features", 1, &set->features, &f_rows, &f_cols);
    if (st == GB_OK) st = to_int(f_cols, res, "instance count", &set->n);
    if (st == GB_OK) st = to_int(f_rows, res, "feature dim", &set->dim);
    char what[1200];
    snprintf(what, sizeof what, "class numbers: columns of 'att' in %s", att);
    if (st == GB_OK) st = gb_zmat_read_index(mr, res, "labels", set->num_classes, what, &set->labels, &k);
    if (st == GB_OK && k != f_cols)
        st = gb_fail(GB_INPUT, "%s: variable 'labels' has %zu entries but 'features' has %zu columns (instances); "
                     "the file is corrupt or mixed from two datasets", res, k, f_cols);
    snprintf(what, sizeof what, "instance numbers: columns of 'features' in %s", res);
    for (int i = 0; i < 3 && st == GB_OK; i++)
        st = gb_zmat_read_index(ma, att, loc_names[i], set->n, what, &loc[i], &loc_n[i]);
    gb_zmat_close(ma);
    gb_zmat_close(mr);
    if (st != GB_OK) goto fail;
    set->train = loc[0];
    set->test_seen = loc[1];
    set->test_unseen = loc[2];
    set->n_train = (int)loc_n[0];
    set->n_test_seen = (int)loc_n[1];
    set->n_test_unseen = (int)loc_n[2];
    loc[0] = loc[1] = loc[2] = NULL;
    st = unique_classes(set, set->train, set->n_train, &set->seen, &set->n_seen);
    if (st == GB_OK) st = unique_classes(set, set->test_unseen, set->n_test_unseen, &set->unseen, &set->n_unseen);
    if (st != GB_OK) goto fail;
    char s_feat[1200], s_lab[1200], s_desc[1200], s_tr[1200], s_ts[1200], s_tu[1200], s_seen[1200], s_unseen[1200];
    snprintf(s_feat, sizeof s_feat, "%s: features", res);
    snprintf(s_lab, sizeof s_lab, "%s: labels", res);
    snprintf(s_desc, sizeof s_desc, "%s: att", att);
    snprintf(s_tr, sizeof s_tr, "%s: trainval_loc", att);
    snprintf(s_ts, sizeof s_ts, "%s: test_seen_loc", att);
    snprintf(s_tu, sizeof s_tu, "%s: test_unseen_loc", att);
    snprintf(s_seen, sizeof s_seen, "%s: classes of trainval_loc", att);
    snprintf(s_unseen, sizeof s_unseen, "%s: classes of test_unseen_loc", att);
    gb_zsl_sources src = {s_feat, s_lab, s_desc, s_tr, s_ts, s_tu, s_seen, s_unseen};
    st = gb_zsl_set_check(set, &src);
    if (st != GB_OK) goto fail;
    size_t len = strlen(name);
    int w = snprintf(set->identity, sizeof set->identity, "gbu:");
    for (size_t i = 0; i < len && (size_t)w + 1 < sizeof set->identity; i++)
        set->identity[w++] = (char)tolower((unsigned char)name[i]);
    set->identity[w] = 0;
    const char *paths[2] = {att, res}, *names[2] = {"att_splits.mat", "res101.mat"};
    st = gb_zsl_hash_files(paths, names, 2, set->sha256);
    if (st != GB_OK) goto fail;
    warn_profile(set, name);
    return GB_OK;
fail:
    for (int i = 0; i < 3; i++) free(loc[i]);
    gb_zsl_set_free(set);
    return st;
}
