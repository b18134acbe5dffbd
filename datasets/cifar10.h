/* datasets/cifar10.h - CIFAR-10, binary version (cifar-10-binary.tar.gz).
 *
 * specs/formats.md section 1: files cifar-10-batches-bin/data_batch_1..5.bin (train, in that
 * order) and test_batch.bin; no header; records of 3073 bytes: one label byte (0..9) FIRST,
 * then 3072 pixel bytes already channel-major (R plane, G plane, B plane; rows of 32), so a
 * record's pixels are copied as they are into the NCHW set. Each published file holds exactly
 * 10000 records (30,730,000 bytes).
 * Reads either the extracted folder (cifar-10-batches-bin, or the folder holding it) or the
 * .tar.gz itself, streaming it without unpacking to disk. Every file must hold exactly
 * records_per_file records; a short or long file, a label above 9, a missing member or a
 * corrupt archive is GB_INPUT naming the file (and member), the record and its byte offset.
 * set->identity is "cifar10:train" / "cifar10:test"; set->sha256 is the archive's SHA-256
 * (comparable with GB_CIFAR10_BINARY_SHA256), or for a folder the combined digest of the
 * batch files read (datasets/dataset_files.h).
 * Tested by tests/test_datasets_images.c with Python-written batches and archives.
 */
#ifndef GB_DATASETS_CIFAR10_H
#define GB_DATASETS_CIFAR10_H

#include "core/status.h"
#include "datasets/dataset_files.h"
#include "datasets/image_set.h"

enum { GB_CIFAR10_RECORD_BYTES = 3073, GB_CIFAR10_RECORDS_PER_FILE = 10000 };

/* The published archive (Toronto page md5; TFDS sha256 and size). */
extern const gb_published_file gb_cifar10_binary_archive;

typedef enum { GB_CIFAR10_TRAIN, GB_CIFAR10_TEST } gb_cifar10_split;

/* Load one split into *set (allocated here; free with gb_image_set_free). path: the folder
 * or the .tar.gz. records_per_file: 0 for the published 10000 (tests use small files). */
gb_status gb_cifar10_load(gb_image_set *set, const char *path, gb_cifar10_split split,
                          int records_per_file);

/* Records per file of an extracted folder (path, or its cifar-10-batches-bin), from
 * test_batch.bin's size: 10000 for the published files, fewer for a smoke-sized stand-in
 * written by `genbench data synth shapes32 --count N`. 0 when path is not such a folder (an
 * archive, or no whole number of records): the loader then expects the published count. */
int gb_cifar10_folder_records(const char *path);

/* One batch file (data_batch_N.bin or test_batch.bin) of any whole number of records, for
 * `genbench data inspect FILE`: identity "cifar10:<file name>", sha256 the file's own. */
gb_status gb_cifar10_load_batch(gb_image_set *set, const char *path);

#endif
