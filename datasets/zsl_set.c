/* datasets/zsl_set.c - consistency check, local labels, hashing and freeing of gb_zsl_set
 * (see datasets/zsl_set.h). Tested by tests/test_datasets_zsl.c.
 */
#include "datasets/zsl_set.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sha256.h"

void gb_zsl_set_free(gb_zsl_set *set) {
    if (!set) return;
    free(set->features);
    free(set->labels);
    free(set->class_desc);
    free(set->seen);
    free(set->unseen);
    free(set->class_local);
    free(set->train);
    free(set->test_seen);
    free(set->test_unseen);
    memset(set, 0, sizeof *set);
}

void gb_zsl_set_local_labels(const gb_zsl_set *set, const int32_t *rows, int count, int32_t *out) {
    for (int i = 0; i < count; i++) out[i] = set->class_local[set->labels[rows[i]]];
}

static const char *or_default(const char *s, const char *d) { return s ? s : d; }

/* Rows of one split: in range, not yet used by another split, of a class with role `want`
 * (1 seen, 2 unseen). */
static gb_status check_split(const gb_zsl_set *s, const int32_t *rows, int count, const char *src, int want,
                             const uint8_t *role, uint8_t *used, uint8_t mark, const char *const *split_src) {
    for (int i = 0; i < count; i++) {
        int32_t r = rows[i];
        if (r < 0 || r >= s->n)
            return gb_fail(GB_INPUT, "%s: entry %d is row %d, outside 0..%d", src, i + 1, r, s->n - 1);
        int32_t c = s->labels[r];
        if (role[c] != want)
            return gb_fail(GB_INPUT, "%s: entry %d (instance %d) has class %d, which is %s; the split files "
                           "do not belong together", src, i + 1, r + 1, c + 1,
                           role[c] == 0 ? "neither seen nor unseen" : role[c] == 1 ? "a seen class" : "an unseen class");
        if (used[r])
            return gb_fail(GB_INPUT, "%s: instance %d is also in %s; a row may be in one split only", src, r + 1,
                           split_src[used[r] - 1]);
        used[r] = mark;
    }
    return GB_OK;
}

gb_status gb_zsl_set_check(gb_zsl_set *s, const gb_zsl_sources *src_in) {
    gb_zsl_sources d = src_in ? *src_in : (gb_zsl_sources){0};
    const char *f_feat = or_default(d.features, "features"), *f_lab = or_default(d.labels, "labels"),
               *f_desc = or_default(d.class_desc, "class descriptions"), *f_tr = or_default(d.train, "train split"),
               *f_ts = or_default(d.test_seen, "test_seen split"), *f_tu = or_default(d.test_unseen, "test_unseen split"),
               *f_seen = or_default(d.seen, "seen classes"), *f_unseen = or_default(d.unseen, "unseen classes");
    if (s->n < 0 || s->dim <= 0 || s->num_classes <= 0 || s->att_dim <= 0)
        return gb_fail(GB_INPUT, "%s: empty or negative sizes (n %d, dim %d, classes %d, description dim %d)", f_feat,
                       s->n, s->dim, s->num_classes, s->att_dim);
    for (size_t k = 0; k < (size_t)s->n * (size_t)s->dim; k++)
        if (!isfinite(s->features[k]))
            return gb_fail(GB_INPUT, "%s: instance %zu, dim %zu is not finite", f_feat, k / (size_t)s->dim + 1,
                           k % (size_t)s->dim + 1);
    for (size_t k = 0; k < (size_t)s->num_classes * (size_t)s->att_dim; k++)
        if (!isfinite(s->class_desc[k]))
            return gb_fail(GB_INPUT, "%s: class %zu, dim %zu is not finite", f_desc, k / (size_t)s->att_dim + 1,
                           k % (size_t)s->att_dim + 1);
    for (int i = 0; i < s->n; i++)
        if (s->labels[i] < 0 || s->labels[i] >= s->num_classes)
            return gb_fail(GB_INPUT, "%s: instance %d has class %d, outside 1..%d", f_lab, i + 1, s->labels[i] + 1,
                           s->num_classes);
    free(s->class_local);
    s->class_local = malloc((size_t)s->num_classes * sizeof *s->class_local);
    uint8_t *role = calloc((size_t)s->num_classes, 1);
    uint8_t *used = calloc((size_t)s->n + 1, 1);
    int32_t *train_count = calloc((size_t)s->num_classes, sizeof *train_count);
    gb_status st = GB_OK;
    if (!s->class_local || !role || !used || !train_count) {
        st = gb_fail(GB_ENV, "out of memory checking a zero-shot set");
        goto out;
    }
    for (int c = 0; c < s->num_classes; c++) s->class_local[c] = -1;
    for (int k = 0; k < 2 && st == GB_OK; k++) {
        const int32_t *list = k ? s->unseen : s->seen;
        int count = k ? s->n_unseen : s->n_seen;
        const char *src = k ? f_unseen : f_seen;
        for (int i = 0; i < count; i++) {
            int32_t c = list[i];
            if (c < 0 || c >= s->num_classes) {
                st = gb_fail(GB_INPUT, "%s: entry %d is class %d, outside 1..%d", src, i + 1, c + 1, s->num_classes);
                break;
            }
            if (role[c]) {
                st = gb_fail(GB_INPUT, "%s: class %d is listed %s; seen and unseen classes must be distinct "
                             "(%s / %s)", src, c + 1, role[c] == 1 && k ? "as seen and as unseen" : "twice", f_seen,
                             f_unseen);
                break;
            }
            role[c] = (uint8_t)(k + 1);
            s->class_local[c] = i;
        }
    }
    const char *split_src[3] = {f_tr, f_ts, f_tu};
    if (st == GB_OK) st = check_split(s, s->train, s->n_train, f_tr, 1, role, used, 1, split_src);
    if (st == GB_OK) st = check_split(s, s->test_seen, s->n_test_seen, f_ts, 1, role, used, 2, split_src);
    if (st == GB_OK) st = check_split(s, s->test_unseen, s->n_test_unseen, f_tu, 2, role, used, 3, split_src);
    for (int i = 0; st == GB_OK && i < s->n_train; i++) train_count[s->labels[s->train[i]]]++;
    for (int i = 0; st == GB_OK && i < s->n_seen; i++)
        if (!train_count[s->seen[i]])
            st = gb_fail(GB_INPUT, "%s: seen class %d has no instance in %s; the split files do not belong together",
                         f_seen, s->seen[i] + 1, f_tr);
out:
    free(role);
    free(used);
    free(train_count);
    return st;
}

gb_status gb_zsl_hash_files(const char *const *paths, const char *const *names, int count, char hex[65]) {
    gb_sha256_ctx ctx;
    gb_sha256_init(&ctx);
    for (int i = 0; i < count; i++) {
        char h[65];
        GB_TRY(gb_sha256_file(paths[i], h));
        gb_sha256_update(&ctx, names[i], strlen(names[i]));
        gb_sha256_update(&ctx, "  ", 2);
        gb_sha256_update(&ctx, h, 64);
        gb_sha256_update(&ctx, "\n", 1);
    }
    uint8_t digest[32];
    gb_sha256_final(&ctx, digest);
    gb_sha256_hex(digest, hex);
    return GB_OK;
}
