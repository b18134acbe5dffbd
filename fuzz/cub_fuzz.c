/* fuzz/cub_fuzz.c - libFuzzer target for gb_cub_index_read (the CUB-200-2011 index files,
 * datasets/cub.c).
 *
 * The input holds the four index files separated by NUL bytes, in the order classes.txt,
 * images.txt, image_class_labels.txt, train_test_split.txt (a missing piece is an empty
 * file); they are written to a scratch folder and read as a CUB root. Invariants on
 * success: every image has a path without "..", a label in 0..num_classes-1 and a split
 * flag of 0 or 1; every class has a name. Run with `make fuzz`.
 */
#include <string.h>

#include "datasets/cub.h"
#include "fuzz/fuzz_util.h"

static const char *const files[4] = {"classes.txt", "images.txt", "image_class_labels.txt",
                                     "train_test_split.txt"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t pos = 0;
    for (int f = 0; f < 4; f++) {
        size_t len;
        const uint8_t *piece = fuzz_split(data, size, &pos, 0, &len);
        fuzz_write_file(files[f], piece, len);
    }
    gb_cub_index x;
    gb_status s = gb_cub_index_read(&x, fuzz_dir());
    if (s != GB_OK) {
        fuzz_check(gb_last_error()[0] && !x.paths && x.count == 0, "failure without a message or not zeroed");
        return 0;
    }
    for (int c = 0; c < x.num_classes; c++) fuzz_check(x.class_names[c], "class %d unnamed", c + 1);
    for (int i = 0; i < x.count; i++) {
        fuzz_check(x.paths[i] && x.paths[i][0] && !strstr(x.paths[i], ".."), "image %d path", i + 1);
        fuzz_check(x.labels[i] >= 0 && x.labels[i] < x.num_classes, "image %d label %d", i + 1, x.labels[i]);
        fuzz_check(x.is_train[i] <= 1, "image %d split %d", i + 1, x.is_train[i]);
    }
    fuzz_check(x.images_dir && strstr(x.images_dir, "images"), "images_dir");
    gb_cub_index_free(&x);
    return 0;
}
