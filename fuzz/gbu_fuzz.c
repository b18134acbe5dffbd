/* fuzz/gbu_fuzz.c - libFuzzer target for gb_gbu_load (datasets/gbu.c and the .mat reading in
 * datasets/zsl_mat.c, over libmatio).
 *
 * The input is two files, res101.mat then att_splits.mat, cut by a leading big-endian u16
 * length (fuzz_pieces); both are written to a scratch folder and loaded. This fuzzes our
 * validation on top of libmatio (which is not instrumented, but ASan still sees its heap).
 * Invariants on success: labels in 0..num_classes-1, split rows in 0..n-1, finite features,
 * class_local consistent with seen/unseen. Run with `make fuzz`.
 */
#include <math.h>

#include "datasets/gbu.h"
#include "fuzz/fuzz_util.h"

static void check_set(const gb_zsl_set *set) {
    fuzz_check(set->n >= 0 && set->dim > 0 && set->num_classes > 0 && set->att_dim > 0, "sizes");
    for (size_t i = 0; i < (size_t)set->n * (size_t)set->dim; i++)
        fuzz_check(isfinite(set->features[i]), "feature %zu not finite", i);
    for (int i = 0; i < set->n; i++)
        fuzz_check(set->labels[i] >= 0 && set->labels[i] < set->num_classes, "label %d", i);
    const int32_t *lists[3] = {set->train, set->test_seen, set->test_unseen};
    int counts[3] = {set->n_train, set->n_test_seen, set->n_test_unseen};
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < counts[l]; i++) fuzz_check(lists[l][i] >= 0 && lists[l][i] < set->n, "split row");
    for (int i = 0; i < set->n_seen; i++)
        fuzz_check(set->seen[i] >= 0 && set->seen[i] < set->num_classes && set->class_local[set->seen[i]] == i,
                   "seen class %d", i);
    for (int i = 0; i < set->n_unseen; i++)
        fuzz_check(set->unseen[i] >= 0 && set->unseen[i] < set->num_classes && set->class_local[set->unseen[i]] == i,
                   "unseen class %d", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *piece[2];
    size_t len[2];
    if (!fuzz_pieces(data, size, 2, piece, len)) return 0;
    fuzz_write_file("res101.mat", piece[0], len[0]);
    fuzz_write_file("att_splits.mat", piece[1], len[1]);
    gb_zsl_set set;
    gb_status s = gb_gbu_load(&set, fuzz_dir(), "FUZZ");
    if (s != GB_OK) {
        fuzz_check(gb_last_error()[0], "failure without a message");
        return 0;
    }
    check_set(&set);
    gb_zsl_set_free(&set);
    return 0;
}
