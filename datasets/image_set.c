/* datasets/image_set.c - allocate and free the in-memory image set (datasets/image_set.h).
 *
 * Tested by tests/test_datasets_images.c through every loader.
 */
#include "datasets/image_set.h"

#include <stdlib.h>
#include <string.h>

gb_status gb_image_set_alloc(gb_image_set *set, int count, int channels, int height, int width,
                             int with_labels, int num_classes) {
    memset(set, 0, sizeof *set);
    if (count < 0 || channels < 1 || height < 1 || width < 1)
        return gb_fail(GB_INPUT, "image set: invalid shape %d x %d x %d x %d", count, channels, height,
                       width);
    size_t per_image = (size_t)channels * (size_t)height * (size_t)width;
    if ((size_t)count > SIZE_MAX / per_image)
        return gb_fail(GB_INPUT, "image set: %d images of %zu bytes overflow the address space", count,
                       per_image);
    set->pixels = calloc((size_t)count * per_image + 1, 1);
    set->labels = with_labels ? calloc((size_t)count + 1, sizeof *set->labels) : NULL;
    if (!set->pixels || (with_labels && !set->labels)) {
        gb_image_set_free(set);
        return gb_fail(GB_INPUT, "image set: out of memory for %d images of %zu bytes", count, per_image);
    }
    set->count = count;
    set->channels = channels;
    set->height = height;
    set->width = width;
    set->num_classes = with_labels ? num_classes : 0;
    return GB_OK;
}

void gb_image_set_free(gb_image_set *set) {
    if (!set) return;
    free(set->pixels);
    free(set->labels);
    memset(set, 0, sizeof *set);
}
