/* datasets/idx.h - MNIST and Fashion-MNIST in LeCun's IDX format, gzipped or not.
 *
 * specs/formats.md section 2: a big-endian header 00 00 <type> <ndim>, then ndim big-endian
 * uint32 sizes, then the data in C order. Images: magic 0x00000803, [N, rows, cols] u8;
 * labels: magic 0x00000801, [N] u8. The reader is strict where torchvision is lenient: the
 * file must hold exactly the bytes its header promises (no short data, no trailing bytes),
 * the type must be u8, the image and label counts must agree and labels must lie in
 * 0..num_classes-1. Each failure is GB_INPUT naming the file, the field or byte offset and
 * the fix. A file is gunzipped when it starts with the gzip magic, whatever its name.
 * set->identity is "<dataset>:train" / "<dataset>:test"; set->sha256 combines the SHA-256s
 * of the image and label files as stored (the .gz files for a download, comparable with the
 * published per-file digests in gb_mnist_files / gb_fashion_mnist_files).
 * Tested by tests/test_datasets_images.c with numpy-written, gzip-compressed files.
 */
#ifndef GB_DATASETS_IDX_H
#define GB_DATASETS_IDX_H

#include <stdint.h>

#include "core/status.h"
#include "datasets/dataset_files.h"
#include "datasets/image_set.h"

/* Published files in the order train-images, train-labels, t10k-images, t10k-labels
 * (torchvision md5s; TFDS sizes and sha256s). The names are the same for both datasets. */
extern const gb_published_file gb_mnist_files[4];
extern const gb_published_file gb_fashion_mnist_files[4];

/* Read one u8 IDX file with `ndim` dimensions into a malloc'd buffer; dims[0..ndim-1] filled. */
gb_status gb_idx_read_u8(const char *path, int ndim, uint8_t **data, uint32_t dims[3]);
/* The same for a file of 1 to 3 dimensions, whichever its header says; *ndim gets the count
 * (`genbench data inspect` of a single file). */
gb_status gb_idx_read_any_u8(const char *path, uint8_t **data, uint32_t dims[3], int *ndim);

/* Images + labels from two explicit files; identity is copied into set->identity. */
gb_status gb_idx_load_files(gb_image_set *set, const char *images_path, const char *labels_path,
                            int num_classes, const char *identity);

/* <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (the .gz is tried first).
 * dataset names the set for identity: "mnist" or "fashion_mnist"; 10 classes. */
gb_status gb_idx_load(gb_image_set *set, const char *dir, const char *dataset, int train);

#endif
