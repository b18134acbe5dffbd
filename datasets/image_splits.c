/* datasets/image_splits.c - image dataset splits by name (read image_splits.h first). */
#include "datasets/image_splits.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/cifar10.h"
#include "datasets/cub.h"
#include "datasets/dataset_files.h"
#include "datasets/idx.h"
#include "datasets/registry.h"
#include "datasets/sprites.h"

typedef struct {
    const char *dataset;
    const char *splits[2]; /* NULL-padded */
} split_names;

static const split_names table[] = {
    {"cifar10", {"train", "test"}},       {"mnist", {"train", "test"}}, {"fashion-mnist", {"train", "test"}},
    {"cub32", {"all", NULL}},             {"sprites", {"all", NULL}},
};
enum { TABLE_LEN = sizeof table / sizeof table[0] };

static const split_names *find(const char *dataset) {
    for (int i = 0; i < TABLE_LEN; i++)
        if (strcmp(table[i].dataset, dataset) == 0) return &table[i];
    return NULL;
}

int gb_image_split_dataset_known(const char *dataset) { return find(dataset) != NULL; }

const char *gb_image_split_names(void) {
    return GB_IMAGE_SPLIT_NAMES;
}

gb_status gb_image_split_check(const char *dataset, const char *split) {
    const split_names *t = find(dataset);
    if (!t) return gb_fail(GB_USAGE, "'%s' is not an image dataset genbench loads (%s)", dataset, gb_image_split_names());
    for (int i = 0; i < 2; i++)
        if (t->splits[i] && strcmp(t->splits[i], split) == 0) return GB_OK;
    return gb_fail(GB_USAGE, "%s has no split '%s' (%s)", dataset, split, gb_image_split_names());
}

gb_status gb_image_split_check_present(const char *root, const char *dataset, const char *split) {
    const gb_dataset_info *ds = gb_dataset_find(dataset);
    GB_ASSERT(ds, "the image split table names %s, which the dataset table lacks", dataset);
    gb_data_presence p = gb_dataset_presence(root, ds, NULL, NULL);
    /* the fetch command names the root when it is not the default one */
    const int other_root = strcmp(root, gb_data_root(NULL)) != 0;
    if (p != GB_DATA_PRESENT)
        return gb_fail(GB_INPUT, "%s:%s: the dataset is %s under %s: fetch it with `genbench data fetch %s%s%s`", dataset,
                       split, gb_data_presence_name(p), root, ds->derived_from ? ds->derived_from : dataset,
                       other_root ? " --data " : "", other_root ? root : "");
    return GB_OK;
}

static gb_status load_cifar10(gb_image_set *set, const char *root, const gb_dataset_info *ds, int train) {
    char *archive = gb_dataset_path(root, ds, "cifar-10-binary.tar.gz"), *dir = gb_dataset_dir(root, ds);
    gb_status s;
    if (!archive || !dir) s = gb_fail(GB_ENV, "out of memory");
    else if (gb_is_file(archive))
        s = gb_cifar10_load(set, archive, train ? GB_CIFAR10_TRAIN : GB_CIFAR10_TEST, 0);
    else
        s = gb_cifar10_load(set, dir, train ? GB_CIFAR10_TRAIN : GB_CIFAR10_TEST, gb_cifar10_folder_records(dir));
    free(archive);
    free(dir);
    return s;
}

static gb_status load_cub32(gb_image_set *set, const char *dir, int threads) {
    char *folder = gb_path_join(dir, "CUB_200_2011_32");
    if (!folder) return gb_fail(GB_ENV, "out of memory");
    gb_status s;
    if (gb_is_dir(folder)) {
        s = gb_cub_load_folder(set, folder, 32, threads);
    } else {
        gb_cub_options o = gb_cub_options_cmu32(threads);
        s = gb_cub_load_resized(set, dir, &o);
    }
    free(folder);
    return s;
}

gb_status gb_image_split_load(gb_image_set *set, const char *root, const char *dataset, const char *split,
                              int threads) {
    memset(set, 0, sizeof *set);
    GB_TRY(gb_image_split_check(dataset, split));
    GB_TRY(gb_image_split_check_present(root, dataset, split));
    const gb_dataset_info *ds = gb_dataset_find(dataset);
    char *dir = gb_dataset_dir(root, ds);
    if (!dir) return gb_fail(GB_ENV, "out of memory");
    const int train = strcmp(split, "train") == 0;
    gb_status s;
    if (strcmp(dataset, "cifar10") == 0) s = load_cifar10(set, root, ds, train);
    else if (strcmp(dataset, "mnist") == 0) s = gb_idx_load(set, dir, "mnist", train);
    else if (strcmp(dataset, "fashion-mnist") == 0) s = gb_idx_load(set, dir, "fashion_mnist", train);
    else if (strcmp(dataset, "cub32") == 0) s = load_cub32(set, dir, threads);
    else s = gb_sprites_load(set, dir);
    free(dir);
    return s;
}

gb_status gb_image_split_parse(gb_image_split_ref *ref, const char *text) {
    memset(ref, 0, sizeof *ref);
    const char *c1 = strchr(text, ':');
    if (!c1 || (size_t)(c1 - text) >= sizeof ref->dataset)
        return gb_fail(GB_USAGE, "'%s': expected NAME:SPLIT[:N] (%s)", text, gb_image_split_names());
    const char *c2 = strchr(c1 + 1, ':');
    size_t split_len = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
    memcpy(ref->dataset, text, (size_t)(c1 - text));
    if (split_len == 0 || split_len >= sizeof ref->split)
        return gb_fail(GB_USAGE, "'%s': expected NAME:SPLIT[:N] (%s)", text, gb_image_split_names());
    memcpy(ref->split, c1 + 1, split_len);
    GB_TRY(gb_image_split_check(ref->dataset, ref->split));
    if (c2) { /* digits only: strtoull alone would take " 5", "+5" and "-1" */
        const char *d = c2 + 1;
        unsigned long long n = 0;
        int ok = *d != '\0';
        for (; ok && *d; d++) {
            ok = *d >= '0' && *d <= '9' && n <= (SIZE_MAX - 9) / 10;
            n = n * 10 + (unsigned long long)(*d - '0');
        }
        if (!ok || n == 0)
            return gb_fail(GB_USAGE, "'%s': N must be a positive integer (NAME:SPLIT:N takes the first N images)", text);
        ref->first = (size_t)n;
    }
    return GB_OK;
}

gb_status gb_image_split_load_ref(gb_image_set *set, size_t *total, const char *root, const gb_image_split_ref *ref,
                                  int threads) {
    GB_TRY(gb_image_split_load(set, root, ref->dataset, ref->split, threads));
    *total = (size_t)set->count;
    if (ref->first > *total) {
        gb_image_set_free(set);
        return gb_fail(GB_INPUT, "%s:%s:%zu asks for the first %zu images, but %s:%s holds %zu", ref->dataset,
                       ref->split, ref->first, ref->first, ref->dataset, ref->split, *total);
    }
    if (ref->first) set->count = (int)ref->first;
    return GB_OK;
}
