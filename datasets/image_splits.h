/* datasets/image_splits.h - a registered image dataset's split by name ("cifar10:train"),
 * loaded from the data root through the same loaders the pipelines and `genbench data inspect`
 * use, so the metric commands can measure against the real set without exporting it as image
 * files first (torch-fidelity's "cifar10-train" inputs, clean-fid's dataset_name/split).
 *
 *   dataset         splits        loader
 *   cifar10         train, test   datasets/cifar10.h (the archive, else the extracted folder)
 *   mnist           train, test   datasets/idx.h (grey)
 *   fashion-mnist   train, test   datasets/idx.h (grey)
 *   cub32           all           datasets/cub.h (CUB_200_2011_32, else resized from CUB_200_2011)
 *   sprites         all           datasets/sprites.h
 *
 * Stand-ins are never substituted here: a metric against "cifar10:train" is a statement about
 * CIFAR-10, so a dataset that is not present is GB_INPUT naming where it was looked for and the
 * fetch command (with --data ROOT when root is not the default one). Tested by
 * tests/test_cmd_fid_images.c (CIFAR-10 and MNIST layouts written by the tests).
 */
#ifndef GB_DATASETS_IMAGE_SPLITS_H
#define GB_DATASETS_IMAGE_SPLITS_H

#include "core/status.h"
#include "datasets/image_set.h"

/* A split named on a command line, NAME:SPLIT[:N]. */
typedef struct {
    char dataset[32], split[16];
    size_t first; /* the first N images; 0: all of them */
} gb_image_split_ref;

/* 1 when dataset is one of the table's names (its splits may still be wrong). */
int gb_image_split_dataset_known(const char *dataset);
/* GB_USAGE naming the dataset's splits when split is not one of them. */
gb_status gb_image_split_check(const char *dataset, const char *split);
/* GB_INPUT naming the data root, the dataset's state (missing, partial) and the fetch command
 * when the split's dataset is not present under root. */
gb_status gb_image_split_check_present(const char *root, const char *dataset, const char *split);
/* The splits of the table in image_splits.c, as help texts and errors list them (a literal, so
 * help texts can include it; tests/test_cmd_fid_images.c checks each name against the table). */
#define GB_IMAGE_SPLIT_NAMES "cifar10:train|test, mnist:train|test, fashion-mnist:train|test, cub32:all, sprites:all"
/* GB_IMAGE_SPLIT_NAMES, for callers that want a function. */
const char *gb_image_split_names(void);

/* Parse NAME:SPLIT[:N] (NAME must be in the table): GB_USAGE naming text for an unknown dataset
 * or split, an empty split, or an N that is not a positive integer. */
gb_status gb_image_split_parse(gb_image_split_ref *ref, const char *text);
/* gb_image_split_load, then only the first ref->first images kept (set->count shrinks; the
 * rest stays allocated until gb_image_set_free). *total: the split's size. GB_INPUT when the
 * split holds fewer than N images. */
gb_status gb_image_split_load_ref(gb_image_set *set, size_t *total, const char *root, const gb_image_split_ref *ref,
                                  int threads);

/* Load the split into *set (free with gb_image_set_free); root: the data root. threads: for
 * the CUB resize (<= 0: one per CPU). */
gb_status gb_image_split_load(gb_image_set *set, const char *root, const char *dataset, const char *split,
                              int threads);

#endif
