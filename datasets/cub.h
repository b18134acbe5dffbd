/* datasets/cub.h - CUB-200-2011 from its extracted layout, and the CMU 16-824 32x32 version.
 *
 * specs/formats.md section 3. The index files under CUB_200_2011/ (images.txt,
 * image_class_labels.txt, train_test_split.txt, classes.txt) are joined by their 1-based
 * image id, never by line order; every id must appear exactly once in each file and class ids
 * must exist in classes.txt, else GB_INPUT naming the file and line.
 * The CMU set (formats.md 3.5, pipelines.md 4.1) is every image resized to 32x32 with
 * Pillow's antialiased BICUBIC (datasets/resize.h, bit-exact), saved as JPEG with Pillow's
 * defaults (quality 75), minus the eight greyscale files the assignment's setup deletes:
 * 11,780 images, no crop, aspect ratio not kept, the split ignored. gb_cub_load_resized
 * rebuilds it from the original images (optionally with the JPEG-75 round trip, so pixels
 * equal what the re-saved files decode to); gb_cub_load_folder reads an already-made flat
 * folder of JPEGs. Images are decoded by datasets/jpeg.h (greyscale repeated to RGB, CMYK
 * refused). Work is split over threads; results do not depend on the thread count, and when
 * several images fail the error reported is the one with the lowest index.
 * Tested by tests/test_datasets_images.c on a small Pillow-made CUB tree.
 */
#ifndef GB_DATASETS_CUB_H
#define GB_DATASETS_CUB_H

#include <stdint.h>

#include "core/status.h"
#include "datasets/dataset_files.h"
#include "datasets/image_set.h"

/* CUB_200_2011.tgz (md5 from the common Cub2011 loader; TFDS sha256 and size). */
extern const gb_published_file gb_cub_archive;
/* The greyscale files CMU's setup deletes after resizing (base names). */
extern const char *const gb_cub_cmu_deleted[8];

typedef struct {
    int count;           /* images; index i holds image id i + 1 */
    char **paths;        /* [count] relative to CUB_200_2011/images, e.g. "001.Black_footed_Albatross/x.jpg" */
    int32_t *labels;     /* [count] class id - 1 */
    uint8_t *is_train;   /* [count] 1 = train (train_test_split.txt) */
    int num_classes;
    char **class_names;  /* [num_classes], e.g. "001.Black_footed_Albatross" */
    char *images_dir;    /* "<root>/CUB_200_2011/images" */
} gb_cub_index;

/* root: the CUB_200_2011 folder or the folder that holds it. */
gb_status gb_cub_index_read(gb_cub_index *index, const char *root);
void gb_cub_index_free(gb_cub_index *index);

typedef enum { GB_CUB_ALL, GB_CUB_TRAIN, GB_CUB_TEST } gb_cub_split;

typedef struct {
    int resolution;          /* output side in pixels (32 for the CMU set) */
    gb_cub_split split;      /* the CMU set uses GB_CUB_ALL */
    int drop_cmu_greyscale;  /* 1: leave out gb_cub_cmu_deleted, as the CMU setup does */
    int jpeg_quality;        /* 0: keep the resized pixels; 1..100: pass them through a JPEG
                                encode/decode at that quality (75 = the CMU files) */
    int threads;             /* worker threads; <= 0: one per online CPU */
} gb_cub_options;

/* The CMU 16-824 recipe: 32 px, all images, greyscale dropped, JPEG 75; threads as given. */
gb_cub_options gb_cub_options_cmu32(int threads);

/* Decode one image file, resize it to res x res (Pillow BICUBIC, antialiased) and optionally
 * round-trip it through JPEG at jpeg_quality. out: [3, res, res]. sha256_hex (may be NULL)
 * receives the file's SHA-256. *greyscale (may be NULL) is 1 for a one-channel file.
 * Reentrant: safe to call from several threads at once. */
gb_status gb_cub_prepare_image(uint8_t *out, int res, int jpeg_quality, const char *path,
                               char sha256_hex[65], int *greyscale);

/* The whole set from the original tree: images in image-id order (filtered by split and
 * the drop list), labels = class id - 1, 200 classes (as many as classes.txt lists).
 * identity "cub32" for the CMU recipe, else "cub200:<all|train|test>:<res>px[:jpeg<q>]";
 * sha256 combines the index files and every image file read. */
gb_status gb_cub_load_resized(gb_image_set *set, const char *root, const gb_cub_options *options);

/* A flat folder of res x res JPEGs (CMU's CUB_200_2011_32), files ending in .jpg sorted by
 * name (byte order), unlabelled; any other size is GB_INPUT naming the file. identity
 * "cub32" when res is 32, else "cub:folder:<res>px"; sha256 combines the files. */
gb_status gb_cub_load_folder(gb_image_set *set, const char *folder, int res, int threads);

#endif
