/* bench/cases_data.c - benchmark cases of data loading: the CIFAR-10 training set read and
 * normalised, and CUB-style JPEG decode + resize to 32x32 on the benchmark's threads.
 *
 * Neither data set is needed: setup writes stand-ins in the real layouts into a temporary
 * folder (removed afterwards):
 *  - cifar10-load: gb_shapes32_write_cifar_bin, the CIFAR-10 binary layout with 10,000
 *    records a file (5 training files, 50,000 images; --quick: 200 a file). Timed: gb_cifar10_load
 *    of the training split plus the conversion every GAN pipeline applies, x/255 then
 *    Normalize(0.5, 0.5), to float in [-1, 1]. The target: under a second for 50,000.
 *  - cub-decode-resize: a CUB_200_2011 tree (the four index files and images/<class>/ JPEGs) of
 *    shapes32 scenes upscaled with Pillow's bicubic (datasets/resize.h) to 500x375, CUB's
 *    typical size, and saved as JPEG quality 90 (gb_jpeg_encode). Timed: gb_cub_load_resized
 *    with the CMU 16-824 recipe (decode, antialiased bicubic to 32x32, JPEG-75 round trip,
 *    SHA-256 of every file) on the benchmark's threads.
 * Both are "external" rows: the case times whole loads itself (each load is a large part of
 * a second, so one call is one sample) and writes images/s in the note. Bytes: the files'
 * bytes read. Checks, before any timing (a failure is reported as the row's error): the
 * loaded CIFAR pixels and labels equal gb_shapes_render of the same indices and the floats
 * equal (x/255 - 0.5)/0.5 evaluated in float; the threaded CUB load equals the per-image path
 * (gb_cub_prepare_image) on sampled images.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/progress.h"
#include "../datasets/cifar10.h"
#include "../datasets/cub.h"
#include "../datasets/jpeg.h"
#include "../datasets/resize.h"
#include "../datasets/shapes32.h"
#include "cases.h"

enum { CUB_W = 500, CUB_H = 375, CUB_IMAGES = 400, CUB_IMAGES_QUICK = 16, DATA_SEED = 7 };

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* A fresh folder under $TMPDIR (or /tmp); removed by remove_tree. */
static gb_status make_temp_dir(char *dir, size_t cap, const char *tag) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, cap, "%s/genbench-bench-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
    if (!mkdtemp(dir)) return gb_fail(GB_ENV, "cannot create a temporary folder %s for the data benchmark", dir);
    return GB_OK;
}
static void remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

static double seconds_since(double t0) { return gb_now_seconds() - t0; }

/* ---- CIFAR-10 --------------------------------------------------------------------------- */

/* (x/255 - 0.5)/0.5, torchvision's ToTensor then Normalize((0.5,)*3, (0.5,)*3), in float. */
static void normalise(float *out, const uint8_t *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = ((float)in[i] / 255.0f - 0.5f) / 0.5f;
}

static gb_status cifar_check(const gb_image_set *set, const float *x, int expected) {
    if (set->count != expected || set->channels != 3 || set->height != 32 || set->width != 32)
        return gb_fail(GB_NUMERIC, "cifar10-load: got %d images of %dx%dx%d, expected %d of 3x32x32", set->count,
                       set->channels, set->height, set->width, expected);
    uint8_t img[3 * 32 * 32];
    for (int k = 0; k < 8; k++) {
        int i = (int)((long long)k * (expected - 1) / 7);
        int label = gb_shapes_render(img, 32, DATA_SEED, 1, (uint64_t)i);
        const uint8_t *got = set->pixels + (size_t)i * sizeof img;
        if (set->labels[i] != label || memcmp(got, img, sizeof img) != 0)
            return gb_fail(GB_NUMERIC, "cifar10-load: image %d differs from the shapes32 image written", i);
        for (size_t p = 0; p < sizeof img; p++)
            if (x[(size_t)i * sizeof img + p] != ((float)img[p] / 255.0f - 0.5f) / 0.5f)
                return gb_fail(GB_NUMERIC, "cifar10-load: float %zu of image %d is not (x/255 - 0.5)/0.5", p, i);
    }
    return GB_OK;
}

static gb_status cifar_external(gb_bench_case *c, int threads, int quick, double *samples, size_t *n, size_t cap,
                                char *note, size_t note_cap) {
    (void)threads;
    const int per_file = quick ? 200 : GB_CIFAR10_RECORDS_PER_FILE, images = 5 * per_file;
    char dir[512];
    GB_TRY(make_temp_dir(dir, sizeof dir, "cifar"));
    gb_status s = gb_shapes32_write_cifar_bin(dir, DATA_SEED, per_file);
    c->bytes = 5.0 * per_file * GB_CIFAR10_RECORD_BYTES;
    size_t reps = quick ? 2 : 7;
    *n = 0;
    for (size_t r = 0; s == GB_OK && r <= reps && *n < cap; r++) { /* r = 0: check (and warm the page cache) */
        double t0 = gb_now_seconds();
        gb_image_set set;
        s = gb_cifar10_load(&set, dir, GB_CIFAR10_TRAIN, per_file);
        if (s != GB_OK) break;
        size_t floats = (size_t)set.count * gb_image_set_image_bytes(&set);
        float *x = malloc(floats * sizeof *x);
        GB_ASSERT(x, "out of memory for %zu floats", floats);
        normalise(x, set.pixels, floats);
        double t = seconds_since(t0);
        if (r == 0) s = cifar_check(&set, x, images);
        else samples[(*n)++] = t;
        free(x);
        gb_image_set_free(&set);
    }
    remove_tree(dir);
    if (s != GB_OK) return s;
    double best = samples[0];
    for (size_t i = 1; i < *n; i++)
        if (samples[i] < best) best = samples[i];
    snprintf(note, note_cap, "%.0f images/s (fastest load); pixels, labels and floats checked", images / best);
    return GB_OK;
}

/* ---- CUB decode + resize ------------------------------------------------------------------ */

static gb_status write_text(const char *dir, const char *name, const char *text) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return gb_fail(GB_ENV, "cannot write %s", path);
    fputs(text, f);
    return fclose(f) == 0 ? GB_OK : gb_fail(GB_ENV, "cannot write %s", path);
}

/* <root>/CUB_200_2011/{images.txt, image_class_labels.txt, train_test_split.txt, classes.txt,
 * images/<class>/<name>.jpg }: `count` images in 10 classes; *bytes = the JPEG bytes written. */
static gb_status write_cub_tree(const char *root, int count, double *bytes) {
    char base[600], path[1024];
    snprintf(base, sizeof base, "%s/CUB_200_2011", root);
    if (mkdir(base, 0755) != 0) return gb_fail(GB_ENV, "cannot create %s", base);
    size_t cap = (size_t)count * 64 + 1024;
    char *images = calloc(1, cap), *labels = calloc(1, cap), *split = calloc(1, cap), classes[1024] = "";
    GB_ASSERT(images && labels && split, "out of memory");
    snprintf(path, sizeof path, "%s/images", base);
    gb_status s = mkdir(path, 0755) == 0 ? GB_OK : gb_fail(GB_ENV, "cannot create %s", path);
    for (int k = 0; s == GB_OK && k < GB_SHAPES32_CLASSES; k++) {
        snprintf(path, sizeof path, "%s/images/%03d.class", base, k + 1);
        if (mkdir(path, 0755) != 0) s = gb_fail(GB_ENV, "cannot create %s", path);
        snprintf(classes + strlen(classes), sizeof classes - strlen(classes), "%d %03d.class\n", k + 1, k + 1);
    }
    gb_resize_plan plan;
    if (s == GB_OK) s = gb_resize_plan_init(&plan, 32, 32, CUB_H, CUB_W, GB_RESIZE_BICUBIC);
    if (s != GB_OK) {
        free(images), free(labels), free(split);
        return s;
    }
    uint8_t small[3 * 32 * 32], *big = malloc((size_t)3 * CUB_H * CUB_W);
    GB_ASSERT(big, "out of memory");
    *bytes = 0;
    for (int i = 0; s == GB_OK && i < count; i++) {
        int label = gb_shapes_render(small, 32, DATA_SEED, 1, (uint64_t)i);
        for (int ch = 0; ch < 3; ch++)
            gb_resize_plane_u8(&plan, big + (size_t)ch * CUB_H * CUB_W, small + ch * 32 * 32, NULL);
        char rel[64];
        snprintf(rel, sizeof rel, "%03d.class/img_%05d.jpg", label + 1, i);
        snprintf(path, sizeof path, "%s/images/%s", base, rel);
        uint8_t *jpeg = NULL;
        size_t len = 0;
        s = gb_jpeg_encode(path, big, 3, CUB_H, CUB_W, 90, &jpeg, &len);
        if (s != GB_OK) break;
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(jpeg, 1, len, f) != len) s = gb_fail(GB_ENV, "cannot write %s", path);
        if (f && fclose(f) != 0 && s == GB_OK) s = gb_fail(GB_ENV, "cannot write %s", path);
        free(jpeg);
        *bytes += (double)len;
        size_t o = strlen(images);
        snprintf(images + o, cap - o, "%d %s\n", i + 1, rel);
        o = strlen(labels);
        snprintf(labels + o, cap - o, "%d %d\n", i + 1, label + 1);
        o = strlen(split);
        snprintf(split + o, cap - o, "%d %d\n", i + 1, i % 2);
    }
    free(big);
    gb_resize_plan_free(&plan);
    if (s == GB_OK) s = write_text(base, "images.txt", images);
    if (s == GB_OK) s = write_text(base, "image_class_labels.txt", labels);
    if (s == GB_OK) s = write_text(base, "train_test_split.txt", split);
    if (s == GB_OK) s = write_text(base, "classes.txt", classes);
    free(images), free(labels), free(split);
    return s;
}

/* The threaded loader against the per-image path on a few images. */
static gb_status cub_check(const gb_image_set *set, const char *root, int count) {
    if (set->count != count || set->height != 32 || set->width != 32)
        return gb_fail(GB_NUMERIC, "cub-decode-resize: got %d images of %dx%d, expected %d of 32x32", set->count,
                       set->height, set->width, count);
    uint8_t one[3 * 32 * 32];
    for (int k = 0; k < 4; k++) {
        int i = (int)((long long)k * (count - 1) / 3);
        char path[1024];
        uint8_t img[3 * 32 * 32];
        int label = gb_shapes_render(img, 32, DATA_SEED, 1, (uint64_t)i);
        snprintf(path, sizeof path, "%s/CUB_200_2011/images/%03d.class/img_%05d.jpg", root, label + 1, i);
        GB_TRY(gb_cub_prepare_image(one, 32, 75, path, NULL, NULL));
        if (memcmp(one, set->pixels + (size_t)i * sizeof one, sizeof one) != 0 || set->labels[i] != label)
            return gb_fail(GB_NUMERIC, "cub-decode-resize: image %d differs from gb_cub_prepare_image", i);
    }
    return GB_OK;
}

static gb_status cub_external(gb_bench_case *c, int threads, int quick, double *samples, size_t *n, size_t cap,
                              char *note, size_t note_cap) {
    const int count = quick ? CUB_IMAGES_QUICK : CUB_IMAGES;
    char dir[512];
    GB_TRY(make_temp_dir(dir, sizeof dir, "cub"));
    gb_status s = write_cub_tree(dir, count, &c->bytes);
    gb_cub_options o = gb_cub_options_cmu32(threads);
    size_t reps = quick ? 2 : 7;
    *n = 0;
    for (size_t r = 0; s == GB_OK && r <= reps && *n < cap; r++) { /* r = 0: check (and warm the page cache) */
        double t0 = gb_now_seconds();
        gb_image_set set;
        s = gb_cub_load_resized(&set, dir, &o);
        if (s != GB_OK) break;
        double t = seconds_since(t0);
        if (r == 0) s = cub_check(&set, dir, count);
        else samples[(*n)++] = t;
        gb_image_set_free(&set);
    }
    remove_tree(dir);
    if (s != GB_OK) return s;
    double best = samples[0];
    for (size_t i = 1; i < *n; i++)
        if (samples[i] < best) best = samples[i];
    snprintf(note, note_cap, "%.0f images/s on %d thread%s (fastest load); checked against the per-image path",
             count / best, threads, threads == 1 ? "" : "s");
    return GB_OK;
}

void gb_bench_add_data_cases(gb_bench_list *list, int quick) {
    gb_bench_case *c = gb_bench_list_add(list);
    snprintf(c->kernel, sizeof c->kernel, "cifar10");
    snprintf(c->direction, sizeof c->direction, "load");
    snprintf(c->impl, sizeof c->impl, "ours-cpu");
    snprintf(c->shape, sizeof c->shape, "shapes32 in the CIFAR-10 layout, train, %d images, to float [-1,1]",
             quick ? 1000 : 5 * GB_CIFAR10_RECORDS_PER_FILE);
    c->external = cifar_external;
    c->where = GB_BENCH_HOST;
    c = gb_bench_list_add(list);
    snprintf(c->kernel, sizeof c->kernel, "cub_decode");
    snprintf(c->direction, sizeof c->direction, "load");
    snprintf(c->impl, sizeof c->impl, "ours-cpu");
    snprintf(c->shape, sizeof c->shape, "CUB tree, %d JPEGs %dx%d q90 -> 32x32 bicubic, JPEG-75 (CMU recipe)",
             quick ? CUB_IMAGES_QUICK : CUB_IMAGES, CUB_W, CUB_H);
    c->external = cub_external;
    c->where = GB_BENCH_HOST;
}
