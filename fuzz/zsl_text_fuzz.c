/* fuzz/zsl_text_fuzz.c - libFuzzer target for gb_zsl_text_load (datasets/zsl_text.c: four
 * .mat files through datasets/zsl_mat.c and libmatio, two label pickles through
 * core/pickle.c and core/pickle_numpy.c).
 *
 * The input is the six files of the CUB easy split (text features, split, features train
 * and test, labels train and test), cut by five leading big-endian u16 lengths
 * (fuzz_pieces), written to a scratch folder under their real names and loaded. Invariants
 * on success are those of gbu_fuzz (labels, rows, seen/unseen, finite features). Run with
 * `make fuzz`.
 */
#include <math.h>

#include "datasets/zsl_text.h"
#include "fuzz/fuzz_util.h"

static void check_set(const gb_zsl_set *set) {
    fuzz_check(set->n >= 0 && set->dim > 0 && set->num_classes > 0 && set->att_dim > 0, "sizes");
    for (size_t i = 0; i < (size_t)set->n * (size_t)set->dim; i++)
        fuzz_check(isfinite(set->features[i]), "feature %zu not finite", i);
    for (int i = 0; i < set->n; i++)
        fuzz_check(set->labels[i] >= 0 && set->labels[i] < set->num_classes, "label %d", i);
    for (int i = 0; i < set->n_train; i++) fuzz_check(set->train[i] >= 0 && set->train[i] < set->n, "train row");
    for (int i = 0; i < set->n_test_unseen; i++)
        fuzz_check(set->test_unseen[i] >= 0 && set->test_unseen[i] < set->n, "test row");
    for (int i = 0; i < set->n_seen; i++)
        fuzz_check(set->class_local[set->seen[i]] == i, "seen class %d", i);
    for (int i = 0; i < set->n_unseen; i++)
        fuzz_check(set->class_local[set->unseen[i]] == i, "unseen class %d", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *names[6];
    fuzz_check(gb_zsl_text_files("cub", "easy", names) == GB_OK, "file names");
    const uint8_t *piece[6];
    size_t len[6];
    if (!fuzz_pieces(data, size, 6, piece, len)) return 0;
    for (int i = 0; i < 6; i++) fuzz_write_file(names[i], piece[i], len[i]);
    gb_zsl_set set;
    gb_status s = gb_zsl_text_load(&set, fuzz_dir(), "cub", "easy");
    if (s != GB_OK) {
        fuzz_check(gb_last_error()[0], "failure without a message");
        return 0;
    }
    check_set(&set);
    gb_zsl_set_free(&set);
    return 0;
}
