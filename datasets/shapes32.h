/* datasets/shapes32.h - `shapes32`, the procedural stand-in for CIFAR-10 and 32x32 CUB.
 *
 * DESIGN.md section 4: when the real images are absent a pipeline trains on a stand-in of the
 * same shape and format, made deterministically from the run seed, and says so
 * (identity "synthetic:shapes32"). The stand-in is a real task: 10 classes, each one shape
 * kind (disc, square, triangle, ring, cross) in one hue family (red, yellow, green, blue,
 * magenta). Every shape appears in two classes and every hue family in two classes, so
 * neither colour alone nor outline alone gives the class. Shapes lie at a random position,
 * scale and rotation on a textured background (two-colour gradient, faint stripes, pixel
 * noise), anti-aliased from an exact signed distance (coverage = clamp(0.5 - d, 0, 1) with d
 * in pixels).
 *
 * Determinism: image `index` of a split is drawn from its own Philox stream
 * "data/shapes32/<train|test>/<index>" of the seed, and its label is index % 10, so any
 * subset, in any order, on any thread count, gives the same bytes, and the classes are
 * exactly balanced over every run of 10 consecutive indices.
 *
 * The writer lays the set out exactly as the CIFAR-10 binary version (specs/formats.md 1.2-1.3):
 * cifar-10-batches-bin/data_batch_1..5.bin (train indices 0.. in file order) and
 * test_batch.bin, records of 1 label byte then 3072 CHW pixel bytes, no header, plus
 * batches.meta.txt with one class name per line; so datasets/cifar10.h reads it unchanged.
 * Tested by tests/test_datasets_synth.c.
 */
#ifndef GB_DATASETS_SHAPES32_H
#define GB_DATASETS_SHAPES32_H

#include <stdint.h>

#include "core/status.h"
#include "datasets/image_set.h"

enum { GB_SHAPES32_CLASSES = 10, GB_SHAPES32_SIDE = 32, GB_SHAPES32_RECORDS_PER_FILE = 10000 };

/* "red disc", ... ; line i of batches.meta.txt is class i. */
extern const char *const gb_shapes32_class_names[GB_SHAPES32_CLASSES];

/* The label of image `index` (either split): index % 10. */
int gb_shapes32_label(uint64_t index);

/* Render image `index` of the train (train = 1) or test split at side x side pixels
 * (side >= 8; 32 for shapes32) into out[3 * side * side], CHW, and return its label.
 * Other sides draw the same scene scaled (the sprites stand-in uses 16). */
int gb_shapes_render(uint8_t *out, int side, uint64_t seed, int train, uint64_t index);

/* Images first .. first + count - 1 of a split into *set (allocated here, 3 x side x side,
 * 10 classes, identity "synthetic:shapes<side>", sha256 ""). GB_USAGE for a side outside
 * 8..4096. */
gb_status gb_shapes_generate(gb_image_set *set, int side, uint64_t seed, int train, uint64_t first, int count);
/* gb_shapes_generate at side 32: identity "synthetic:shapes32". */
gb_status gb_shapes32_generate(gb_image_set *set, uint64_t seed, int train, uint64_t first, int count);

/* Write <dir>/cifar-10-batches-bin/{data_batch_1..5.bin, test_batch.bin, batches.meta.txt}
 * with records_per_file records in each .bin (GB_SHAPES32_RECORDS_PER_FILE for the real
 * layout; fewer for smoke runs): train images 0 .. 5 * records_per_file - 1, test images
 * 0 .. records_per_file - 1. Each file is written atomically. GB_USAGE when
 * records_per_file < 1, GB_ENV when a file cannot be written. */
gb_status gb_shapes32_write_cifar_bin(const char *dir, uint64_t seed, int records_per_file);

#endif
