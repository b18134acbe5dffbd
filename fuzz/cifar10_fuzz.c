/* fuzz/cifar10_fuzz.c - libFuzzer target for gb_cifar10_load on an archive
 * (datasets/cifar10.c over core/tar.c and core/gzip_file.c), and for gb_cifar10_load_batch on
 * the same bytes as one batch file.
 *
 * The input is written to a scratch file and loaded as the test split and as the train
 * split with one record per batch file (the published layout with 10000 records would need
 * 30 MB inputs). Invariants on success: every label is 0..9, the set has the promised
 * shape and an identity; a batch file is accepted only when it is a whole, non-zero number of
 * records. Run with `make fuzz`.
 */
#include <string.h>

#include "datasets/cifar10.h"
#include "fuzz/fuzz_util.h"

static void load(const char *path, gb_cifar10_split split) {
    gb_image_set set;
    gb_status s = gb_cifar10_load(&set, path, split, 1);
    if (s != GB_OK) {
        fuzz_check(gb_last_error()[0], "failure without a message");
        return;
    }
    int want = split == GB_CIFAR10_TRAIN ? 5 : 1;
    fuzz_check(set.count == want && set.channels == 3 && set.height == 32 && set.width == 32, "shape");
    for (int i = 0; i < set.count; i++) fuzz_check(set.labels[i] >= 0 && set.labels[i] <= 9, "label %d", i);
    fuzz_check(strncmp(set.identity, "cifar10:", 8) == 0, "identity '%s'", set.identity);
    gb_image_set_free(&set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_file("cifar-10-binary.tar.gz", data, size);
    load(path, GB_CIFAR10_TEST);
    load(path, GB_CIFAR10_TRAIN);
    gb_image_set set;
    if (gb_cifar10_load_batch(&set, path) != GB_OK) {
        fuzz_check(gb_last_error()[0], "batch failure without a message");
        return 0;
    }
    fuzz_check(size > 0 && (size_t)set.count * GB_CIFAR10_RECORD_BYTES == size, "batch of %d records from %zu bytes",
               set.count, size);
    for (int i = 0; i < set.count; i++) fuzz_check(set.labels[i] >= 0 && set.labels[i] <= 9, "batch label %d", i);
    gb_image_set_free(&set);
    return 0;
}
