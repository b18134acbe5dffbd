/* tests/test_datasets_zsl.c - the zero-shot data: GBU and GAZSL-text loaders, the consistency
 * check, the writers and the zsl-synth stand-ins.
 *
 *   - GBU and text files written by scipy.io.savemat (v5 and compressed), a hand-assembled v5
 *     file (double class stored as miUINT8/miUINT16, small elements) and Python-2/3 label
 *     pickles (tests/peers/zsl_data.py) load to exactly the peer's expected values: every
 *     feature and description value, 1-based -> 0-based labels and indices, class lists,
 *     and the combined sha256 the peer computed with hashlib;
 *   - a v7.3 (HDF5) file written here by libmatio loads the same (skipped without HDF5);
 *   - corrupt variants (the peer's semantic ones; truncations, wrong magic, fake v7.3 made
 *     here) are GB_INPUT naming the file and the variable;
 *   - zsl-synth: same seed -> same arrays and the same bytes in every written file; written
 *     sets load back identical through the loaders, and scipy / pickle read them the way the
 *     upstream Python loaders do (the peer's --check mode); a ridge regression from class
 *     descriptions to class means, fitted on seen classes, classifies unseen test rows far
 *     above chance (tests/tolerances.md gives the thresholds and measured values).
 * Run: /usr/bin/python3 tests/peers/zsl_data.py DIR && GB_FIXTURES=DIR build/tests/test_datasets_zsl
 * (from the repository root: the --check test runs the peer).
 */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "datasets/gbu.h"
#include "datasets/zsl_mat.h"
#include "datasets/zsl_synth.h"
#include "datasets/zsl_text.h"
#include "datasets/zsl_write.h"

#define PEER "tests/peers/zsl_data.py"

/* ---- fixtures and scratch directories ---------------------------------------------------- */

static const char *zdir(const char *rel) {
    const char *root = getenv("GB_FIXTURES");
    if (!root) cr_assert_fail("GB_FIXTURES is not set: run /usr/bin/python3 " PEER " DIR first");
    static char path[4][1024];
    static int which;
    which = (which + 1) & 3;
    snprintf(path[which], sizeof path[which], "%s/zsl_data/%s", root, rel);
    return path[which];
}

static unsigned char *slurp(const char *path, size_t *n) {
    unsigned char *b;
    if (gb_read_file(path, &b, n) != GB_OK)
        cr_assert_fail("fixture %s is missing: run /usr/bin/python3 " PEER " $GB_FIXTURES", path);
    return b;
}

static cJSON *read_json(const char *path) {
    size_t n;
    unsigned char *b = slurp(path, &n);
    cJSON *j = cJSON_Parse((const char *)b);
    free(b);
    cr_assert(j, "%s is not JSON", path);
    return j;
}

static int jint(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItem(o, k);
    cr_assert(cJSON_IsNumber(v), "expected.json lacks %s", k);
    return v->valueint;
}

static void expect_ints(const char *what, const int32_t *got, int n, const cJSON *arr) {
    cr_assert_eq(n, cJSON_GetArraySize(arr), "%s: %d entries, expected %d", what, n, cJSON_GetArraySize(arr));
    for (int i = 0; i < n; i++)
        if (got[i] != cJSON_GetArrayItem(arr, i)->valueint) {
            cr_expect_fail("%s[%d] = %d, expected %d", what, i, got[i], cJSON_GetArrayItem(arr, i)->valueint);
            return;
        }
}

static void expect_f32_file(const char *what, const float *got, size_t n, const char *path) {
    size_t bytes;
    unsigned char *b = slurp(path, &bytes);
    cr_assert_eq(bytes, n * sizeof(float), "%s: %zu values expected, file %s has %zu bytes", what, n, path, bytes);
    cr_expect(memcmp(b, got, bytes) == 0, "%s differs from %s (values must be bit-identical)", what, path);
    free(b);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static char *scratch(void) {
    static char tmpl[64];
    snprintf(tmpl, sizeof tmpl, "/tmp/gb_zsl_XXXXXX");
    cr_assert(mkdtemp(tmpl), "mkdtemp failed");
    return tmpl;
}

static void rm_tree(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static void copy_file(const char *from, const char *to) {
    size_t n;
    unsigned char *b = slurp(from, &n);
    cr_assert_eq(gb_atomic_write(to, b, n), GB_OK, "%s", gb_last_error());
    free(b);
}

/* ---- GBU ---------------------------------------------------------------------------------- */

static void check_gbu_fixture(const char *sub) {
    gb_zsl_set s;
    const char *dir = zdir(sub);
    char path[1100];
    snprintf(path, sizeof path, "%s/expected.json", dir);
    cJSON *e = read_json(path);
    cr_assert_eq(gb_gbu_load(&s, dir, "Fixture"), GB_OK, "%s: %s", sub, gb_last_error());
    cr_expect_eq(s.n, jint(e, "n"));
    cr_expect_eq(s.dim, jint(e, "dim"));
    cr_expect_eq(s.num_classes, jint(e, "classes"));
    cr_expect_eq(s.att_dim, jint(e, "att_dim"));
    snprintf(path, sizeof path, "%s/features.f32", dir);
    expect_f32_file("features", s.features, (size_t)s.n * s.dim, path);
    snprintf(path, sizeof path, "%s/att.f32", dir);
    expect_f32_file("att", s.class_desc, (size_t)s.num_classes * s.att_dim, path);
    expect_ints("labels", s.labels, s.n, cJSON_GetObjectItem(e, "labels"));
    expect_ints("seen", s.seen, s.n_seen, cJSON_GetObjectItem(e, "seen"));
    expect_ints("unseen", s.unseen, s.n_unseen, cJSON_GetObjectItem(e, "unseen"));
    expect_ints("trainval", s.train, s.n_train, cJSON_GetObjectItem(e, "trainval"));
    expect_ints("test_seen", s.test_seen, s.n_test_seen, cJSON_GetObjectItem(e, "test_seen"));
    expect_ints("test_unseen", s.test_unseen, s.n_test_unseen, cJSON_GetObjectItem(e, "test_unseen"));
    for (int i = 0; i < s.n_seen; i++) cr_expect_eq(s.class_local[s.seen[i]], i);
    for (int i = 0; i < s.n_unseen; i++) cr_expect_eq(s.class_local[s.unseen[i]], i);
    cr_expect_str_eq(s.identity, "gbu:fixture");
    cr_expect_str_eq(s.sha256, cJSON_GetObjectItem(e, "sha256")->valuestring, "combined sha256 differs from the peer's");
    gb_zsl_set_free(&s);
    cJSON_Delete(e);
}

Test(gbu, scipy_v5) { check_gbu_fixture("gbu_v5"); }
Test(gbu, scipy_compressed_v7) { check_gbu_fixture("gbu_v7"); }
Test(gbu, hand_written_v5_narrow_storage) { check_gbu_fixture("gbu_hand"); }

Test(gbu, identity_is_lower_case_name) {
    gb_zsl_set s;
    cr_assert_eq(gb_gbu_load(&s, zdir("gbu_v5"), "AWA2"), GB_OK, "%s", gb_last_error());
    cr_expect_str_eq(s.identity, "gbu:awa2");
    gb_zsl_set_free(&s);
    const gb_gbu_profile *p = gb_gbu_find_profile("awa2");
    cr_assert(p);
    cr_expect(p->images == 37322 && p->classes == 50 && p->att_dim == 85 && p->test_unseen == 7913);
    cr_expect(gb_gbu_find_profile("imagenet") == NULL);
}

Test(gbu, semantic_errors_name_file_and_field) {
    const char *root = getenv("GB_FIXTURES");
    cr_assert(root, "GB_FIXTURES is not set");
    cJSON *bad = read_json(zdir("gbu_bad.json"));
    int count = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, bad) {
        gb_zsl_set s;
        const char *dir = zdir(e->string);
        gb_status st = gb_gbu_load(&s, dir, "bad");
        cr_expect_eq(st, GB_INPUT, "%s: status %d", e->string, st);
        const char *msg = gb_last_error();
        cr_expect(strstr(msg, e->valuestring) && strstr(msg, dir), "%s: message lacks '%s' or the path: %s", e->string,
                  e->valuestring, msg);
        cr_expect(s.features == NULL && s.labels == NULL, "%s: set not cleared on failure", e->string);
        count++;
    }
    cr_expect_eq(count, 11);
    cJSON_Delete(bad);
}

Test(gbu, missing_directory_and_file) {
    gb_zsl_set s;
    cr_expect_eq(gb_gbu_load(&s, "/nonexistent/gbu", "x"), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "/nonexistent/gbu/att_splits.mat"), "%s", gb_last_error());
    char *d = scratch();
    char to[1200];
    snprintf(to, sizeof to, "%s/att_splits.mat", d);
    copy_file(zdir("gbu_v5/att_splits.mat"), to);
    cr_expect_eq(gb_gbu_load(&s, d, "x"), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "res101.mat"), "%s", gb_last_error());
    rm_tree(d);
}

/* Copy a fixture's two files to a scratch dir, replace res101.mat by `bytes`. */
static gb_status load_with_res(const char *sub, const unsigned char *bytes, size_t n, char *dir_out) {
    char *d = scratch();
    strcpy(dir_out, d);
    char from[1200], to[1200];
    snprintf(from, sizeof from, "%s/att_splits.mat", zdir(sub));
    snprintf(to, sizeof to, "%s/att_splits.mat", d);
    copy_file(from, to);
    snprintf(to, sizeof to, "%s/res101.mat", d);
    cr_assert_eq(gb_atomic_write(to, bytes, n), GB_OK);
    gb_zsl_set s;
    gb_status st = gb_gbu_load(&s, d, "x");
    if (st == GB_OK) gb_zsl_set_free(&s);
    return st;
}

Test(gbu, truncated_files) {
    const char *subs[2] = {"gbu_v5", "gbu_v7"};
    for (int k = 0; k < 2; k++) {
        char path[1200], dir[64];
        snprintf(path, sizeof path, "%s/res101.mat", zdir(subs[k]));
        size_t n;
        unsigned char *b = slurp(path, &n);
        size_t cuts[] = {0, 64, 127, 128, 136, 200, n / 2, n - 64, n - 8, n - 1};
        for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
            gb_status st = load_with_res(subs[k], b, cuts[c], dir);
            cr_expect_eq(st, GB_INPUT, "%s cut at %zu of %zu: status %d", subs[k], cuts[c], n, st);
            cr_expect(strstr(gb_last_error(), "res101.mat"), "%s", gb_last_error());
            rm_tree(dir);
        }
        free(b);
    }
}

Test(gbu, wrong_magic_and_fake_v73) {
    char path[1200], dir[64];
    snprintf(path, sizeof path, "%s/res101.mat", zdir("gbu_v5"));
    size_t n;
    unsigned char *b = slurp(path, &n);
    b[126] = 'X';
    cr_expect_eq(load_with_res("gbu_v5", b, n, dir), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "not a MATLAB") && strstr(gb_last_error(), "res101.mat"), "%s", gb_last_error());
    rm_tree(dir);
    b[126] = 'I';
    b[125] = 0x02; /* claims v7.3 (HDF5) but holds Level-5 elements */
    cr_expect_eq(load_with_res("gbu_v5", b, n, dir), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "v7.3") && strstr(gb_last_error(), "-v7"), "%s", gb_last_error());
    rm_tree(dir);
    const char *text = "features,labels\n1,2\n";
    cr_expect_eq(load_with_res("gbu_v5", (const unsigned char *)text, strlen(text), dir), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "too short"), "%s", gb_last_error());
    rm_tree(dir);
    free(b);
}

static void write73(const char *path, const char *names[], enum matio_classes cls[], size_t rows[], size_t cols[],
                    void *data[], int count) {
    mat_t *m = Mat_CreateVer(path, NULL, MAT_FT_MAT73);
    if (!m) cr_skip_test("this libmatio cannot write v7.3 (no HDF5)");
    for (int i = 0; i < count; i++) {
        size_t dims[2] = {rows[i], cols[i]};
        matvar_t *v = Mat_VarCreate(names[i], cls[i], cls[i] == MAT_C_SINGLE ? MAT_T_SINGLE : MAT_T_DOUBLE, 2, dims,
                                    data[i], MAT_F_DONT_COPY_DATA);
        cr_assert(v && Mat_VarWrite(m, v, MAT_COMPRESSION_NONE) == 0, "writing %s", names[i]);
        Mat_VarFree(v);
    }
    Mat_Close(m);
}

static double *as_double(const int32_t *v, int n, int plus) {
    double *d = malloc(((size_t)n + 1) * sizeof *d);
    for (int i = 0; i < n; i++) d[i] = v[i] + plus;
    return d;
}

Test(gbu, v73_hdf5_file) {
    gb_zsl_set ref, s;
    cr_assert_eq(gb_gbu_load(&ref, zdir("gbu_v5"), "ref"), GB_OK, "%s", gb_last_error());
    char *d = scratch();
    char p[1200];
    double *labels = as_double(ref.labels, ref.n, 1);
    double *att = malloc((size_t)ref.num_classes * ref.att_dim * sizeof *att);
    for (size_t k = 0; k < (size_t)ref.num_classes * ref.att_dim; k++) att[k] = ref.class_desc[k];
    double *l0 = as_double(ref.train, ref.n_train, 1), *l1 = as_double(ref.test_seen, ref.n_test_seen, 1),
           *l2 = as_double(ref.test_unseen, ref.n_test_unseen, 1);
    snprintf(p, sizeof p, "%s/res101.mat", d);
    const char *rn[2] = {"features", "labels"};
    enum matio_classes rc[2] = {MAT_C_SINGLE, MAT_C_DOUBLE};
    size_t rr[2] = {(size_t)ref.dim, (size_t)ref.n}, rcols[2] = {(size_t)ref.n, 1};
    void *rd[2] = {ref.features, labels};
    write73(p, rn, rc, rr, rcols, rd, 2);
    snprintf(p, sizeof p, "%s/att_splits.mat", d);
    const char *an[4] = {"att", "trainval_loc", "test_seen_loc", "test_unseen_loc"};
    enum matio_classes ac[4] = {MAT_C_DOUBLE, MAT_C_DOUBLE, MAT_C_DOUBLE, MAT_C_DOUBLE};
    size_t ar[4] = {(size_t)ref.att_dim, (size_t)ref.n_train, (size_t)ref.n_test_seen, (size_t)ref.n_test_unseen};
    size_t acols[4] = {(size_t)ref.num_classes, 1, 1, 1};
    void *ad[4] = {att, l0, l1, l2};
    write73(p, an, ac, ar, acols, ad, 4);
    cr_assert_eq(gb_gbu_load(&s, d, "v73"), GB_OK, "%s", gb_last_error());
    cr_expect(s.n == ref.n && s.dim == ref.dim && s.num_classes == ref.num_classes && s.att_dim == ref.att_dim);
    cr_expect(memcmp(s.features, ref.features, (size_t)s.n * s.dim * sizeof(float)) == 0, "v7.3 features differ");
    cr_expect(memcmp(s.class_desc, ref.class_desc, (size_t)s.num_classes * s.att_dim * sizeof(float)) == 0);
    cr_expect(memcmp(s.labels, ref.labels, (size_t)s.n * sizeof(int32_t)) == 0);
    cr_expect(s.n_test_unseen == ref.n_test_unseen &&
              memcmp(s.test_unseen, ref.test_unseen, (size_t)s.n_test_unseen * sizeof(int32_t)) == 0);
    gb_zsl_set_free(&s);
    gb_zsl_set_free(&ref);
    free(labels), free(att), free(l0), free(l1), free(l2);
    rm_tree(d);
}

/* ---- GAZSL text ------------------------------------------------------------------------------ */

static void check_text_fixture(const char *sub, const char *dataset, const char *split) {
    gb_zsl_set s;
    const char *dir = zdir(sub);
    char path[1200];
    snprintf(path, sizeof path, "%s/expected_%s_%s.json", dir, dataset, split);
    cJSON *e = read_json(path);
    cr_assert_eq(gb_zsl_text_load(&s, dir, dataset, split), GB_OK, "%s %s: %s", dataset, split, gb_last_error());
    cr_expect_eq(s.n, jint(e, "n"));
    cr_expect_eq(s.dim, jint(e, "dim"));
    cr_expect_eq(s.num_classes, jint(e, "classes"));
    cr_expect_eq(s.att_dim, jint(e, "att_dim"));
    cr_expect_eq(s.n_train, jint(e, "n_train"));
    cr_expect_eq(s.n_test_seen, 0);
    cr_expect_eq(s.n_test_unseen, s.n - s.n_train);
    for (int i = 0; i < s.n_train; i++) cr_expect_eq(s.train[i], i);
    for (int i = 0; i < s.n_test_unseen; i++) cr_expect_eq(s.test_unseen[i], s.n_train + i);
    snprintf(path, sizeof path, "%s/expected_%s_%s_features.f32", dir, dataset, split);
    expect_f32_file("features", s.features, (size_t)s.n * s.dim, path);
    snprintf(path, sizeof path, "%s/expected_%s_%s_desc.f32", dir, dataset, split);
    expect_f32_file("PredicateMatrix", s.class_desc, (size_t)s.num_classes * s.att_dim, path);
    expect_ints("labels", s.labels, s.n, cJSON_GetObjectItem(e, "labels"));
    expect_ints("seen (train_cid - 1)", s.seen, s.n_seen, cJSON_GetObjectItem(e, "seen"));
    expect_ints("unseen (test_cid - 1)", s.unseen, s.n_unseen, cJSON_GetObjectItem(e, "unseen"));
    char id[64];
    snprintf(id, sizeof id, "gazsl:%s-%s", dataset, split);
    cr_expect_str_eq(s.identity, id);
    cr_expect_str_eq(s.sha256, cJSON_GetObjectItem(e, "sha256")->valuestring, "combined sha256 differs from the peer's");
    /* local labels are the pickled positions */
    int32_t *loc = malloc((size_t)s.n_train * sizeof *loc);
    gb_zsl_set_local_labels(&s, s.train, s.n_train, loc);
    for (int i = 0; i < s.n_train; i++) cr_expect_eq(s.seen[loc[i]], s.labels[i]);
    free(loc);
    gb_zsl_set_free(&s);
    cJSON_Delete(e);
}

Test(zsl_text, cub_easy_v5_py3_and_py2_protocol2) { check_text_fixture("text_cub", "cub", "easy"); }
Test(zsl_text, cub_hard_compressed_protocol0) { check_text_fixture("text_cub", "cub", "hard"); }
Test(zsl_text, nab_easy_sparse_int32_and_list) { check_text_fixture("text_nab", "nab", "easy"); }

Test(zsl_text, semantic_errors_name_file_and_field) {
    cJSON *bad = read_json(zdir("text_bad.json"));
    int count = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, bad) {
        gb_zsl_set s;
        gb_status st = gb_zsl_text_load(&s, zdir(e->string), "cub", "easy");
        cr_expect_eq(st, GB_INPUT, "%s: status %d", e->string, st);
        cr_expect(strstr(gb_last_error(), e->valuestring) && strstr(gb_last_error(), e->string),
                  "%s: message lacks '%s' or the directory: %s", e->string, e->valuestring, gb_last_error());
        count++;
    }
    cr_expect_eq(count, 12);
    cJSON_Delete(bad);
}

Test(zsl_text, names_and_missing_files) {
    gb_zsl_set s;
    cr_expect_eq(gb_zsl_text_load(&s, zdir("text_cub"), "awa", "easy"), GB_USAGE);
    cr_expect_eq(gb_zsl_text_load(&s, zdir("text_cub"), "cub", "medium"), GB_USAGE);
    cr_expect_eq(gb_zsl_text_load(&s, zdir("text_cub"), "nab", "easy"), GB_INPUT, "NAB files are not in text_cub");
    cr_expect(strstr(gb_last_error(), "NAB_Porter_13217D_TFIDF_new.mat"), "%s", gb_last_error());
    const char *names[6];
    cr_assert_eq(gb_zsl_text_files("nab", "hard", names), GB_OK);
    cr_expect_str_eq(names[1], "train_test_split_NABird_hard.mat");
    cr_expect_str_eq(names[2], "pfc_feat_train_hard.mat");
    cr_expect_str_eq(names[5], "labels_test_hard.pkl");
}

/* ---- the consistency check ------------------------------------------------------------------- */

/* 6 instances, 3 classes (0, 1 seen; 2 unseen) */
static void tiny(gb_zsl_set *s) {
    static float f[12] = {0};
    static float d[6] = {1, 0, 0, 1, 1, 1};
    static int32_t lab[6] = {0, 0, 1, 1, 2, 2}, seen[2] = {0, 1}, unseen[1] = {2}, tr[2] = {0, 2}, ts[2] = {1, 3},
                   tu[2] = {4, 5};
    memset(s, 0, sizeof *s);
    s->n = 6, s->dim = 2, s->features = f, s->labels = lab, s->num_classes = 3, s->att_dim = 2, s->class_desc = d;
    s->n_seen = 2, s->seen = seen, s->n_unseen = 1, s->unseen = unseen;
    s->n_train = 2, s->train = tr, s->n_test_seen = 2, s->test_seen = ts, s->n_test_unseen = 2, s->test_unseen = tu;
}

static void expect_check(gb_zsl_set *s, const char *needle) {
    gb_status st = gb_zsl_set_check(s, NULL);
    free(s->class_local);
    s->class_local = NULL;
    cr_expect_eq(st, GB_INPUT, "expected a failure mentioning '%s'", needle);
    cr_expect(strstr(gb_last_error(), needle), "message lacks '%s': %s", needle, gb_last_error());
}

Test(zsl_set, consistency_rules) {
    gb_zsl_set s;
    tiny(&s);
    cr_assert_eq(gb_zsl_set_check(&s, NULL), GB_OK, "%s", gb_last_error());
    cr_expect(s.class_local[0] == 0 && s.class_local[1] == 1 && s.class_local[2] == 0);
    free(s.class_local);
    int32_t tr_dup[2] = {0, 1}; /* row 1 is test_seen too */
    tiny(&s);
    s.train = tr_dup;
    expect_check(&s, "also in train split");
    int32_t tr_one[1] = {0}; /* class 1 loses its only training row */
    tiny(&s);
    s.train = tr_one, s.n_train = 1;
    expect_check(&s, "seen class 2 has no instance");
    int32_t tu_bad[2] = {4, 1}; /* a seen-class row among test_unseen */
    tiny(&s);
    s.test_unseen = tu_bad;
    expect_check(&s, "a seen class");
    int32_t tu_range[2] = {4, 6};
    tiny(&s);
    s.test_unseen = tu_range;
    expect_check(&s, "outside 0..5");
    int32_t unseen_dup[1] = {1};
    tiny(&s);
    s.unseen = unseen_dup;
    expect_check(&s, "as seen and as unseen");
    float nan_desc[6] = {1, 0, 0, NAN, 1, 1};
    tiny(&s);
    s.class_desc = nan_desc;
    expect_check(&s, "class 2, dim 2 is not finite");
}

/* ---- zsl-synth ---------------------------------------------------------------------------------- */

static void make(gb_zsl_set *s, gb_zsl_synth_style style, uint64_t seed) {
    gb_zsl_synth_config c;
    gb_zsl_synth_default(&c, style);
    cr_assert_eq(gb_zsl_synth_make(s, &c, seed), GB_OK, "%s", gb_last_error());
}

static void expect_same_set(const gb_zsl_set *a, const gb_zsl_set *b, const char *what) {
    cr_assert(a->n == b->n && a->dim == b->dim && a->num_classes == b->num_classes && a->att_dim == b->att_dim,
              "%s: sizes differ", what);
    cr_expect(memcmp(a->features, b->features, (size_t)a->n * a->dim * sizeof(float)) == 0, "%s: features", what);
    cr_expect(memcmp(a->labels, b->labels, (size_t)a->n * sizeof(int32_t)) == 0, "%s: labels", what);
    cr_expect(memcmp(a->class_desc, b->class_desc, (size_t)a->num_classes * a->att_dim * sizeof(float)) == 0,
              "%s: class descriptions", what);
    cr_assert(a->n_seen == b->n_seen && a->n_unseen == b->n_unseen, "%s: class counts", what);
    cr_expect(memcmp(a->seen, b->seen, (size_t)a->n_seen * 4) == 0 && memcmp(a->unseen, b->unseen, (size_t)a->n_unseen * 4) == 0,
              "%s: class lists", what);
    cr_assert(a->n_train == b->n_train && a->n_test_seen == b->n_test_seen && a->n_test_unseen == b->n_test_unseen,
              "%s: split sizes", what);
    cr_expect(memcmp(a->train, b->train, (size_t)a->n_train * 4) == 0, "%s: train rows", what);
    cr_expect(a->n_test_seen == 0 || memcmp(a->test_seen, b->test_seen, (size_t)a->n_test_seen * 4) == 0, "%s: test_seen",
              what);
    cr_expect(memcmp(a->test_unseen, b->test_unseen, (size_t)a->n_test_unseen * 4) == 0, "%s: test_unseen", what);
}

Test(zsl_synth, deterministic_and_seed_dependent) {
    for (int style = 0; style < 2; style++) {
        gb_zsl_set a, b, c;
        make(&a, (gb_zsl_synth_style)style, 7);
        make(&b, (gb_zsl_synth_style)style, 7);
        make(&c, (gb_zsl_synth_style)style, 8);
        expect_same_set(&a, &b, "same seed");
        size_t same = 0;
        for (size_t k = 0; k < (size_t)a.n * a.dim; k++) same += a.features[k] == c.features[k];
        cr_expect(same < 10, "seeds 7 and 8 share %zu feature values", same);
        cr_expect_str_eq(a.identity, style ? "synthetic:zsl-synth-text" : "synthetic:zsl-synth-att");
        cr_expect_str_eq(a.sha256, "");
        gb_zsl_set_free(&a);
        gb_zsl_set_free(&b);
        gb_zsl_set_free(&c);
    }
}

Test(zsl_synth, shapes_and_descriptions) {
    gb_zsl_set a, t;
    make(&a, GB_ZSL_SYNTH_ATT, 1);
    cr_expect(a.n == 1500 && a.dim == 64 && a.num_classes == 50 && a.att_dim == 85 && a.n_seen == 40 && a.n_unseen == 10);
    cr_expect(a.n_test_seen == 40 * 6 && a.n_train == 40 * 24 && a.n_test_unseen == 300, "splits %d/%d/%d", a.n_train,
              a.n_test_seen, a.n_test_unseen);
    for (int c = 0; c < a.num_classes; c++) {
        double nrm = 0;
        for (int j = 0; j < a.att_dim; j++) {
            float v = a.class_desc[c * a.att_dim + j];
            cr_assert(v > 0, "attribute %d of class %d is %g, expected positive", j, c, v);
            nrm += (double)v * v;
        }
        cr_expect(fabs(nrm - 1) < 1e-6, "class %d has squared norm %.9f", c, nrm);
    }
    make(&t, GB_ZSL_SYNTH_TEXT, 1);
    cr_expect(t.n == 1200 && t.num_classes == 40 && t.att_dim == 1000 && t.n_test_seen == 0 && t.n_train == 900);
    size_t nz = 0;
    for (size_t k = 0; k < (size_t)t.num_classes * t.att_dim; k++) nz += t.class_desc[k] != 0;
    double density = (double)nz / ((double)t.num_classes * t.att_dim);
    cr_log_info("zsl-synth text description density %.3f", density);
    cr_expect(density > 0.03 && density < 0.3, "text descriptions are %.3f non-zero, expected sparse-ish", density);
    for (int i = 0; i < t.n_train; i++) cr_expect_eq(t.train[i], i, "text rows: training rows first");
    gb_zsl_set_free(&a);
    gb_zsl_set_free(&t);
    gb_zsl_synth_config c;
    gb_zsl_synth_default(&c, GB_ZSL_SYNTH_ATT);
    c.n_unseen = 49;
    cr_expect_eq(gb_zsl_synth_make(&a, &c, 1), GB_USAGE, "1 seen class accepted");
    gb_zsl_synth_default(&c, GB_ZSL_SYNTH_TEXT);
    c.noise = -1;
    cr_expect_eq(gb_zsl_synth_make(&t, &c, 1), GB_USAGE);
    cr_expect(strstr(gb_last_error(), "noise"), "%s", gb_last_error());
}

static unsigned char *file_bytes(const char *dir, const char *name, size_t *n) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return slurp(p, n);
}

static void expect_same_files(const char *d1, const char *d2, const char *const *names, int count) {
    for (int i = 0; i < count; i++) {
        size_t n1, n2;
        unsigned char *a = file_bytes(d1, names[i], &n1), *b = file_bytes(d2, names[i], &n2);
        cr_expect(n1 == n2 && memcmp(a, b, n1) == 0, "%s differs between two writes of the same set", names[i]);
        free(a);
        free(b);
    }
}

Test(zsl_synth, gbu_files_round_trip_and_bytes) {
    gb_zsl_set s, back;
    make(&s, GB_ZSL_SYNTH_ATT, 3);
    char *d1 = strdup(scratch()), *d2 = strdup(scratch());
    cr_assert_eq(gb_zsl_write_gbu(&s, d1), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_zsl_write_gbu(&s, d2), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_zsl_write_gbu(&s, d2), GB_OK, "rewrite over existing files: %s", gb_last_error());
    static const char *const names[2] = {"res101.mat", "att_splits.mat"};
    expect_same_files(d1, d2, names, 2);
    cr_assert_eq(gb_gbu_load(&back, d1, "zsl-synth-att"), GB_OK, "%s", gb_last_error());
    expect_same_set(&s, &back, "gbu round trip");
    cr_expect_str_eq(back.identity, "gbu:zsl-synth-att");
    cr_expect_eq(strlen(back.sha256), 64);
    gb_zsl_set_free(&back);
    gb_zsl_set_free(&s);
    rm_tree(d1);
    rm_tree(d2);
    free(d1);
    free(d2);
}

Test(zsl_synth, text_files_round_trip_and_bytes) {
    gb_zsl_set s, back;
    make(&s, GB_ZSL_SYNTH_TEXT, 3);
    const char *sets[2][2] = {{"cub", "easy"}, {"nab", "hard"}};
    for (int k = 0; k < 2; k++) {
        char *d1 = strdup(scratch()), *d2 = strdup(scratch());
        cr_assert_eq(gb_zsl_write_text(&s, d1, sets[k][0], sets[k][1]), GB_OK, "%s", gb_last_error());
        cr_assert_eq(gb_zsl_write_text(&s, d2, sets[k][0], sets[k][1]), GB_OK, "%s", gb_last_error());
        const char *names[6];
        cr_assert_eq(gb_zsl_text_files(sets[k][0], sets[k][1], names), GB_OK);
        expect_same_files(d1, d2, names, 6);
        cr_assert_eq(gb_zsl_text_load(&back, d1, sets[k][0], sets[k][1]), GB_OK, "%s", gb_last_error());
        expect_same_set(&s, &back, "text round trip");
        gb_zsl_set_free(&back);
        rm_tree(d1);
        rm_tree(d2);
        free(d1);
        free(d2);
    }
    gb_zsl_set att;
    make(&att, GB_ZSL_SYNTH_ATT, 3);
    cr_expect_eq(gb_zsl_write_text(&att, "/tmp", "cub", "easy"), GB_USAGE, "test_seen rows cannot be written as text");
    gb_zsl_set_free(&att);
    gb_zsl_set_free(&s);
}

/* Run the peer's --check mode on a directory and parse its JSON. */
static cJSON *peer_check(const char *args) {
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 " PEER " --check %s", args);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "cannot run %s", cmd);
    static char out[1 << 20];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int rc = pclose(p);
    cr_assert_eq(rc, 0, "%s failed (run the test from the repository root): %s", cmd, out);
    cJSON *j = cJSON_Parse(out);
    cr_assert(j, "peer output is not JSON: %s", out);
    return j;
}

static double sum_rows(const gb_zsl_set *s, const int32_t *rows, int count) {
    double t = 0;
    for (int i = 0; i < count; i++)
        for (int j = 0; j < s->dim; j++) t += s->features[(size_t)(rows ? rows[i] : i) * s->dim + j];
    return t;
}

Test(zsl_synth, upstream_python_loaders_read_written_files) {
    gb_zsl_set s;
    make(&s, GB_ZSL_SYNTH_ATT, 5);
    char *d = strdup(scratch());
    cr_assert_eq(gb_zsl_write_gbu(&s, d), GB_OK, "%s", gb_last_error());
    char args[1200];
    snprintf(args, sizeof args, "gbu %s", d);
    cJSON *j = peer_check(args);
    cr_expect_eq(jint(j, "n"), s.n);
    cr_expect_eq(jint(j, "dim"), s.dim);
    double fs = cJSON_GetObjectItem(j, "feat_sum")->valuedouble, mine = sum_rows(&s, NULL, s.n);
    cr_expect(fabs(fs - mine) <= 1e-9 * (fabs(mine) + s.n * s.dim), "feature sum %.17g vs %.17g", fs, mine);
    for (int k = 0; k < s.dim; k++)
        cr_expect_eq((float)cJSON_GetArrayItem(cJSON_GetObjectItem(j, "feat_first"), k)->valuedouble, s.features[k]);
    expect_ints("labels (scipy)", s.labels, s.n, cJSON_GetObjectItem(j, "labels"));
    expect_ints("trainval_loc (scipy)", s.train, s.n_train, cJSON_GetObjectItem(j, "trainval_loc"));
    expect_ints("test_seen_loc (scipy)", s.test_seen, s.n_test_seen, cJSON_GetObjectItem(j, "test_seen_loc"));
    expect_ints("test_unseen_loc (scipy)", s.test_unseen, s.n_test_unseen, cJSON_GetObjectItem(j, "test_unseen_loc"));
    const int32_t *rows[3] = {s.train, s.test_seen, s.test_unseen};
    int counts[3] = {s.n_train, s.n_test_seen, s.n_test_unseen};
    const char *keys[3] = {"trainval_loc_feat_sum", "test_seen_loc_feat_sum", "test_unseen_loc_feat_sum"};
    for (int k = 0; k < 3; k++) { /* upstream indexes features[loc] with the stored vectors */
        double py = cJSON_GetObjectItem(j, keys[k])->valuedouble, c = sum_rows(&s, rows[k], counts[k]);
        cr_expect(fabs(py - c) <= 1e-9 * (fabs(c) + s.n * s.dim), "%s: %.17g vs %.17g", keys[k], py, c);
    }
    int ntv = cJSON_GetArraySize(cJSON_GetObjectItem(j, "train_loc")) + cJSON_GetArraySize(cJSON_GetObjectItem(j, "val_loc"));
    cr_expect_eq(ntv, s.n_train, "train_loc + val_loc cover trainval");
    cJSON *shape = cJSON_GetObjectItem(j, "att_shape");
    cr_expect(cJSON_GetArrayItem(shape, 0)->valueint == s.num_classes && cJSON_GetArrayItem(shape, 1)->valueint == s.att_dim);
    for (int k = 0; k < s.att_dim; k++)
        cr_expect_eq((float)cJSON_GetArrayItem(cJSON_GetObjectItem(j, "att_first"), k)->valuedouble, s.class_desc[k]);
    cJSON *names = cJSON_GetObjectItem(j, "names");
    cr_expect_str_eq(cJSON_GetArrayItem(names, 0)->valuestring, "001.synthetic_class_1");
    cJSON_Delete(j);
    rm_tree(d);
    free(d);
    gb_zsl_set_free(&s);

    make(&s, GB_ZSL_SYNTH_TEXT, 5);
    d = strdup(scratch());
    cr_assert_eq(gb_zsl_write_text(&s, d, "cub", "hard"), GB_OK, "%s", gb_last_error());
    snprintf(args, sizeof args, "text %s cub hard", d);
    j = peer_check(args);
    cr_expect_eq(jint(j, "ntr"), s.n_train);
    cr_expect_eq(jint(j, "nte"), s.n_test_unseen);
    double tr = cJSON_GetObjectItem(j, "ftr_sum")->valuedouble, te = cJSON_GetObjectItem(j, "fte_sum")->valuedouble;
    double mtr = sum_rows(&s, s.train, s.n_train), mte = sum_rows(&s, s.test_unseen, s.n_test_unseen);
    cr_expect(fabs(tr - mtr) <= 1e-9 * (fabs(mtr) + s.n * s.dim) && fabs(te - mte) <= 1e-9 * (fabs(mte) + s.n * s.dim),
              "feature sums %.17g %.17g vs %.17g %.17g", tr, te, mtr, mte);
    int32_t *loc = malloc((size_t)s.n * sizeof *loc);
    gb_zsl_set_local_labels(&s, s.train, s.n_train, loc);
    expect_ints("labels_train_hard.pkl (pickle)", loc, s.n_train, cJSON_GetObjectItem(j, "ltr"));
    gb_zsl_set_local_labels(&s, s.test_unseen, s.n_test_unseen, loc);
    expect_ints("labels_test_hard.pkl (pickle)", loc, s.n_test_unseen, cJSON_GetObjectItem(j, "lte"));
    for (int i = 0; i < s.n_seen; i++) loc[i] = s.seen[i] + 1;
    expect_ints("train_cid", loc, s.n_seen, cJSON_GetObjectItem(j, "train_cid"));
    for (int k = 0; k < s.att_dim; k++)
        cr_expect_eq((float)cJSON_GetArrayItem(cJSON_GetObjectItem(j, "train_text_first"), k)->valuedouble,
                     s.class_desc[(size_t)s.seen[0] * s.att_dim + k]);
    free(loc);
    cJSON_Delete(j);
    rm_tree(d);
    free(d);
    gb_zsl_set_free(&s);
}

/* ---- learnability: ridge from descriptions to class means ------------------------------------- */

/* Solve K X = B in place (K n x n, B n x m), Gaussian elimination with partial pivoting. */
static void solve(double *K, double *B, int n, int m) {
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(K[r * n + c]) > fabs(K[p * n + c])) p = r;
        for (int j = 0; j < n; j++) { double t = K[c * n + j]; K[c * n + j] = K[p * n + j]; K[p * n + j] = t; }
        for (int j = 0; j < m; j++) { double t = B[c * m + j]; B[c * m + j] = B[p * m + j]; B[p * m + j] = t; }
        for (int r = c + 1; r < n; r++) {
            double f = K[r * n + c] / K[c * n + c];
            for (int j = c; j < n; j++) K[r * n + j] -= f * K[c * n + j];
            for (int j = 0; j < m; j++) B[r * m + j] -= f * B[c * m + j];
        }
    }
    for (int c = n - 1; c >= 0; c--)
        for (int j = 0; j < m; j++) {
            double t = B[c * m + j];
            for (int k = c + 1; k < n; k++) t -= K[c * n + k] * B[k * m + j];
            B[c * m + j] = t / K[c * n + c];
        }
}

/* Kernel ridge (linear kernel) fitted on the seen classes' training means; unseen test rows
 * go to the nearest predicted unseen prototype. Returns per-sample accuracy. */
static double zsl_ridge_accuracy(const gb_zsl_set *s, double lambda) {
    int S = s->n_seen, U = s->n_unseen, D = s->dim, A = s->att_dim;
    double *M = calloc((size_t)S * D, sizeof *M), *K = malloc((size_t)S * S * sizeof *K);
    double *P = calloc((size_t)U * D, sizeof *P);
    int *cnt = calloc((size_t)S, sizeof *cnt);
    for (int i = 0; i < s->n_train; i++) {
        int r = s->train[i], l = s->class_local[s->labels[r]];
        cnt[l]++;
        for (int j = 0; j < D; j++) M[(size_t)l * D + j] += s->features[(size_t)r * D + j];
    }
    for (int l = 0; l < S; l++)
        for (int j = 0; j < D; j++) M[(size_t)l * D + j] /= cnt[l];
    const float *desc = s->class_desc;
    for (int a = 0; a < S; a++)
        for (int b = 0; b < S; b++) {
            double t = 0;
            for (int k = 0; k < A; k++) t += (double)desc[(size_t)s->seen[a] * A + k] * desc[(size_t)s->seen[b] * A + k];
            K[a * S + b] = t + (a == b ? lambda : 0);
        }
    solve(K, M, S, D); /* M <- alpha */
    for (int u = 0; u < U; u++)
        for (int a = 0; a < S; a++) {
            double t = 0;
            for (int k = 0; k < A; k++) t += (double)desc[(size_t)s->unseen[u] * A + k] * desc[(size_t)s->seen[a] * A + k];
            for (int j = 0; j < D; j++) P[(size_t)u * D + j] += t * M[(size_t)a * D + j];
        }
    int right = 0;
    for (int i = 0; i < s->n_test_unseen; i++) {
        int r = s->test_unseen[i], best = -1;
        double bd = INFINITY;
        for (int u = 0; u < U; u++) {
            double d2 = 0;
            for (int j = 0; j < D; j++) {
                double e = s->features[(size_t)r * D + j] - P[(size_t)u * D + j];
                d2 += e * e;
            }
            if (d2 < bd) bd = d2, best = u;
        }
        right += best == s->class_local[s->labels[r]];
    }
    free(M), free(K), free(P), free(cnt);
    return (double)right / s->n_test_unseen;
}

Test(zsl_synth, zero_shot_transfer_is_learnable) {
    for (int style = 0; style < 2; style++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            gb_zsl_set s;
            make(&s, (gb_zsl_synth_style)style, seed);
            double acc = zsl_ridge_accuracy(&s, 1e-3);
            /* the same model with each unseen class given its neighbour's description must
             * fail: the descriptions, not the features alone, carry the signal */
            int32_t first = s.unseen[0];
            for (int u = 0; u + 1 < s.n_unseen; u++) s.unseen[u] = s.unseen[u + 1];
            s.unseen[s.n_unseen - 1] = first;
            for (int u = 0; u < s.n_unseen; u++) s.class_local[s.unseen[u]] = (u + 1) % s.n_unseen;
            double shuffled = zsl_ridge_accuracy(&s, 1e-3);
            cr_log_info("zsl-synth %s seed %llu: ridge ZSL accuracy %.3f (rotated descriptions %.3f, chance %.3f)",
                        style ? "text" : "att", (unsigned long long)seed, acc, shuffled, 1.0 / s.n_unseen);
            cr_expect(acc >= 0.6, "%s seed %llu: unseen accuracy %.3f, expected >= 0.6 (chance 0.1)",
                      style ? "text" : "att", (unsigned long long)seed, acc);
            cr_expect(shuffled <= 0.3, "%s seed %llu: rotated descriptions still give %.3f", style ? "text" : "att",
                      (unsigned long long)seed, shuffled);
            gb_zsl_set_free(&s);
        }
}
