/* datasets/image_set.h - the in-memory form of every image dataset: uint8 pixels, labels, identity.
 *
 * Loaders (cifar10, idx, cub) and the procedural stand-ins (shapes32, glyphs28) all
 * fill one gb_image_set; pipelines convert to float on the device themselves
 * (x/255, then the pipeline's own scaling), so loading never decides a model's
 * preprocessing. Pixels are uint8 NCHW in [0, 255], exactly the stored values.
 * Defined in datasets/image_set.c; tested by tests/test_datasets_images.c.
 */
#ifndef GB_DATASETS_IMAGE_SET_H
#define GB_DATASETS_IMAGE_SET_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct {
    int count;            /* images */
    int channels, height, width;
    uint8_t *pixels;      /* [count, channels, height, width], owned */
    int32_t *labels;      /* [count] in [0, num_classes), owned; NULL when unlabelled */
    int num_classes;      /* 0 when unlabelled */
    /* What was loaded, for manifests and metrics.csv's dataset column:
     * "cifar10:train" / "mnist:train" / "cub32" for real files,
     * "synthetic:shapes32" / "synthetic:glyphs28" for stand-ins. */
    char identity[64];
    /* SHA-256 (hex) of the files read, combined in a fixed order; "" for stand-ins. */
    char sha256[65];
} gb_image_set;

/* Allocate pixels (and labels when with_labels) for count images; zeroed. GB_INPUT
 * (with the sizes) when the product overflows or memory runs out. */
gb_status gb_image_set_alloc(gb_image_set *set, int count, int channels, int height, int width,
                             int with_labels, int num_classes);
void gb_image_set_free(gb_image_set *set);

/* Bytes per image (channels * height * width). */
static inline size_t gb_image_set_image_bytes(const gb_image_set *set) {
    return (size_t)set->channels * (size_t)set->height * (size_t)set->width;
}

#endif
