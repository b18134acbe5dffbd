/* datasets/sprites.h - the DeepLearning.AI 16x16 sprites (specs/pipelines.md 6(a)) and their
 * stand-in in the same files.
 *
 * Files in <dir>: sprites_1788_16x16.npy, uint8 [N, 16, 16, 3] (HWC, as stored by the
 * course: 89,400 images), and sprite_labels_nc_1788_16x16.npy, [N, 5] one-hot class vectors
 * (any numeric dtype numpy writes: the values must be exactly 0 or 1 with a single 1 per row).
 * Loading reads both through core/npy.h, checks the shapes agree, transposes the pixels to
 * the NCHW gb_image_set and turns each one-hot row into its class index. Any problem is
 * GB_INPUT naming the file and the row or dimension. Identity "sprites"; sha256 combines the
 * two files' digests (datasets/dataset_files.h), images first.
 *
 * The stand-in `shapes16` is the shapes32 renderer at 16x16 (datasets/shapes32.h) with the 5
 * shape kinds as the 5 classes (class = shapes32 label % 5, the shape kind); it has one split
 * (the course set has none either: pipelines cut it). gb_sprites_write_standin puts it
 * on disk in the two files above (labels float64 one-hot), so the loader reads it unchanged.
 * Tested by tests/test_datasets_synth.c (round trip, corrupt labels, mismatched counts).
 */
#ifndef GB_DATASETS_SPRITES_H
#define GB_DATASETS_SPRITES_H

#include <stdint.h>

#include "core/status.h"
#include "datasets/image_set.h"

#define GB_SPRITES_IMAGES "sprites_1788_16x16.npy"
#define GB_SPRITES_LABELS "sprite_labels_nc_1788_16x16.npy"
enum { GB_SPRITES_SIDE = 16, GB_SPRITES_CLASSES = 5 };

/* Load <dir>/GB_SPRITES_IMAGES and <dir>/GB_SPRITES_LABELS into *set (3 x 16 x 16, 5 classes). */
gb_status gb_sprites_load(gb_image_set *set, const char *dir);

/* The stand-in in memory: shapes16 images first .. first + count - 1 of the seed's train split,
 * labels = shapes32 label % 5, 5 classes, identity "synthetic:shapes16". */
gb_status gb_sprites_standin(gb_image_set *set, uint64_t seed, uint64_t first, int count);

/* `count` shapes16 images (train split of the seed, indices 0..count-1) written to <dir> as
 * the two sprites files; <dir> is created. GB_USAGE for count < 1. */
gb_status gb_sprites_write_standin(const char *dir, uint64_t seed, int count);

#endif
