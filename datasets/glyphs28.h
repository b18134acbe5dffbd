/* datasets/glyphs28.h - `glyphs28`, the procedural stand-in for MNIST and Fashion-MNIST.
 *
 * DESIGN.md section 4: 28x28 greyscale, 10 classes of digit-like glyphs, each class a fixed
 * set of strokes (line segments and elliptic arcs, flattened to polylines) in a unit box,
 * drawn white on black like MNIST. Every image jitters the stroke points a little, applies a
 * random affine map (scale, aspect, rotation, shear, translation) and a random stroke width,
 * and is anti-aliased from the exact distance to the strokes (coverage = clamp(w/2 + 0.5 - d,
 * 0, 1) with d in pixels). A glyph pushed past the image by the jitter is shifted back, so
 * strokes never touch the outer pixel frame (as in MNIST). Identity "synthetic:glyphs28".
 *
 * Determinism: image `index` of a split comes from its own Philox stream
 * "data/glyphs28/<train|test>/<index>" of the seed, and its label is index % 10, so any
 * subset in any order gives the same bytes and every 10 consecutive indices are balanced.
 *
 * The writer produces the four files of specs/formats.md 2.1-2.2, gzip-compressed with zlib
 * (gzip header with mtime 0, so equal sets give equal bytes): train-images-idx3-ubyte.gz
 * (magic 0x00000803, dims [N, 28, 28]), train-labels-idx1-ubyte.gz (0x00000801, [N]) and the
 * t10k-* pair, all big-endian headers, so datasets/idx.h reads them unchanged.
 * Tested by tests/test_datasets_synth.c.
 */
#ifndef GB_DATASETS_GLYPHS28_H
#define GB_DATASETS_GLYPHS28_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "datasets/image_set.h"

enum { GB_GLYPHS28_CLASSES = 10, GB_GLYPHS28_SIDE = 28 };

/* index % 10 (the digit the glyph resembles). */
int gb_glyphs28_label(uint64_t index);

/* Render image `index` of the train (train = 1) or test split into out[28 * 28] and return its
 * label. */
int gb_glyphs28_render(uint8_t *out, uint64_t seed, int train, uint64_t index);

/* Images first .. first + count - 1 of a split into *set (allocated here, 1 x 28 x 28,
 * 10 classes, identity "synthetic:glyphs28", sha256 ""). */
gb_status gb_glyphs28_generate(gb_image_set *set, uint64_t seed, int train, uint64_t first, int count);

/* Write <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz with train_count and
 * test_count images (60000 and 10000 for the real sizes). Atomic per file. GB_USAGE for a
 * count below 1, GB_ENV when a file cannot be written. */
gb_status gb_glyphs28_write_idx(const char *dir, uint64_t seed, int train_count, int test_count);

/* gzip (RFC 1952, zlib, level 9, mtime 0) of data into a malloc'd buffer. */
gb_status gb_gzip_buffer(const void *data, size_t n, uint8_t **out, size_t *out_n);

#endif
