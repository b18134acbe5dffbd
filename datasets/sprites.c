/* datasets/sprites.c - the sprites .npy pair: loader and stand-in writer (datasets/sprites.h).
 * Tested by tests/test_datasets_synth.c.
 */
#include "datasets/sprites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/npy.h"
#include "core/sha256.h"
#include "datasets/dataset_files.h"
#include "datasets/shapes32.h"

/* Class index of one-hot row r, or -1 when the row is not one-hot. */
static int one_hot_class(const double *row, int classes) {
    int cls = -1;
    for (int k = 0; k < classes; k++) {
        if (row[k] == 1.0) {
            if (cls >= 0) return -1;
            cls = k;
        } else if (row[k] != 0.0) {
            return -1;
        }
    }
    return cls;
}

gb_status gb_sprites_load(gb_image_set *set, const char *dir) {
    memset(set, 0, sizeof *set);
    char *img_path = gb_path_join(dir, GB_SPRITES_IMAGES), *lab_path = gb_path_join(dir, GB_SPRITES_LABELS);
    gb_npy_array img = {0}, lab = {0};
    double *onehot = NULL;
    gb_status s = img_path && lab_path ? GB_OK : gb_fail(GB_ENV, "out of memory");
    if (s == GB_OK) s = gb_npy_load(&img, img_path);
    if (s == GB_OK) s = gb_npy_load(&lab, lab_path);
    if (s == GB_OK && (img.dtype != GB_NPY_U8 || img.ndim != 4 || img.shape[3] != 3 || img.shape[0] > 0x7fffffff ||
                       img.shape[1] < 1 || img.shape[2] < 1))
        s = gb_fail(GB_INPUT, "%s: expected uint8 images [N, H, W, 3] (the course file is [89400, 16, 16, 3]), got "
                    "dtype '%s' with %d dimensions", img_path, gb_npy_descr(img.dtype), img.ndim);
    if (s == GB_OK && (lab.ndim != 2 || lab.shape[1] != GB_SPRITES_CLASSES || lab.shape[0] != img.shape[0]))
        s = gb_fail(GB_INPUT, "%s: expected one-hot labels [%zu, %d] to match %zu images in %s, got %d dimensions "
                    "[%zu, %zu]", lab_path, img.shape[0], GB_SPRITES_CLASSES, img.shape[0], GB_SPRITES_IMAGES,
                    lab.ndim, lab.ndim > 0 ? lab.shape[0] : 0, lab.ndim > 1 ? lab.shape[1] : 0);
    int n = s == GB_OK ? (int)img.shape[0] : 0, h = s == GB_OK ? (int)img.shape[1] : 0,
        w = s == GB_OK ? (int)img.shape[2] : 0;
    if (s == GB_OK) s = gb_image_set_alloc(set, n, 3, h, w, 1, GB_SPRITES_CLASSES);
    if (s == GB_OK && !(onehot = malloc(lab.count * sizeof *onehot + 1)))
        s = gb_fail(GB_ENV, "%s: out of memory", lab_path);
    if (s == GB_OK) {
        gb_npy_to_f64(onehot, &lab);
        for (int i = 0; i < n && s == GB_OK; i++) {
            int cls = one_hot_class(onehot + (size_t)i * GB_SPRITES_CLASSES, GB_SPRITES_CLASSES);
            if (cls < 0)
                s = gb_fail(GB_INPUT, "%s: row %d is not one-hot (values must be 0 or 1 with exactly one 1); the file "
                            "is corrupt or not the sprites labels: fetch it again", lab_path, i);
            else
                set->labels[i] = cls;
        }
    }
    if (s == GB_OK) {
        /* HWC -> CHW */
        const uint8_t *src = img.data;
        size_t plane = (size_t)h * (size_t)w;
        for (int i = 0; i < n; i++)
            for (size_t p = 0; p < plane; p++)
                for (int c = 0; c < 3; c++)
                    set->pixels[((size_t)i * 3 + (size_t)c) * plane + p] = src[((size_t)i * plane + p) * 3 + (size_t)c];
        char a[65], b[65];
        s = gb_sha256_file(img_path, a);
        if (s == GB_OK) s = gb_sha256_file(lab_path, b);
        if (s == GB_OK) {
            gb_digest_list d;
            gb_digest_list_init(&d);
            gb_digest_list_add(&d, a, GB_SPRITES_IMAGES);
            gb_digest_list_add(&d, b, GB_SPRITES_LABELS);
            gb_digest_list_final(&d, set->sha256);
            snprintf(set->identity, sizeof set->identity, "sprites");
        }
    }
    if (s != GB_OK) gb_image_set_free(set);
    free(onehot);
    gb_npy_free(&img);
    gb_npy_free(&lab);
    free(img_path);
    free(lab_path);
    return s;
}

gb_status gb_sprites_standin(gb_image_set *set, uint64_t seed, uint64_t first, int count) {
    GB_TRY(gb_shapes_generate(set, GB_SPRITES_SIDE, seed, 1, first, count));
    for (int i = 0; i < count; i++) set->labels[i] %= GB_SPRITES_CLASSES;
    set->num_classes = GB_SPRITES_CLASSES;
    return GB_OK;
}

gb_status gb_sprites_write_standin(const char *dir, uint64_t seed, int count) {
    if (count < 1) return gb_fail(GB_USAGE, "sprites stand-in: count must be at least 1 (got %d)", count);
    enum { S = GB_SPRITES_SIDE, PIX = S * S };
    GB_TRY(gb_mkdirs(dir));
    gb_image_set set;
    GB_TRY(gb_sprites_standin(&set, seed, 0, count));
    uint8_t *hwc = malloc((size_t)count * PIX * 3);
    double *onehot = calloc((size_t)count * GB_SPRITES_CLASSES, sizeof *onehot);
    char *img_path = gb_path_join(dir, GB_SPRITES_IMAGES), *lab_path = gb_path_join(dir, GB_SPRITES_LABELS);
    gb_status s = hwc && onehot && img_path && lab_path ? GB_OK : gb_fail(GB_ENV, "out of memory");
    for (int i = 0; i < count && s == GB_OK; i++) {
        const uint8_t *chw = set.pixels + (size_t)i * 3 * PIX;
        for (int p = 0; p < PIX; p++)
            for (int c = 0; c < 3; c++) hwc[((size_t)i * PIX + (size_t)p) * 3 + (size_t)c] = chw[c * PIX + p];
        onehot[(size_t)i * GB_SPRITES_CLASSES + (size_t)set.labels[i]] = 1.0;
    }
    if (s == GB_OK) {
        size_t img_shape[4] = {(size_t)count, S, S, 3}, lab_shape[2] = {(size_t)count, GB_SPRITES_CLASSES};
        gb_npy_array a = gb_npy_view(GB_NPY_U8, 4, img_shape, hwc), b = gb_npy_view(GB_NPY_F64, 2, lab_shape, onehot);
        s = gb_npy_save(img_path, &a);
        if (s == GB_OK) s = gb_npy_save(lab_path, &b);
    }
    gb_image_set_free(&set);
    free(hwc);
    free(onehot);
    free(img_path);
    free(lab_path);
    return s;
}
