/* tests/test_datasets_images.c - the image loaders: CIFAR-10 binary (datasets/cifar10.h),
 * MNIST / Fashion-MNIST IDX (datasets/idx.h), CUB-200-2011 and its 32x32 version
 * (datasets/cub.h, datasets/jpeg.h).
 *
 * References, all from tests/peers/image_data.py: numpy-made CIFAR batches (folder and a
 * tarfile .tar.gz) and IDX files (gzip and plain) with the values they hold; a Pillow-made
 * CUB tree whose index files list ids in different orders, holding a greyscale 'L' JPEG and a
 * 101-character path, with Pillow's decoded RGB values, Pillow's BICUBIC 32x32 resize and its
 * JPEG-75 round trip, and a flat 32x32 folder made as CMU's resize_dataset.py does. Every
 * value must be equal. Digests are checked against coreutils sha256sum / md5 from hashlib.
 * Broken copies (truncated, wrong magic, little-endian sizes, trailing bytes, label out of
 * range, missing or duplicated entries, CMYK, cut JPEG) must be GB_INPUT naming the file.
 * The single-file readers (one CIFAR batch, an IDX file of whatever dimensions its header
 * names) are checked against the same fixtures.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/md5.h"
#include "datasets/cifar10.h"
#include "datasets/cub.h"
#include "datasets/idx.h"
#include "datasets/jpeg.h"
#include "tests/fixture_files.h"

/* sha256sum's digest of the text `sha256sum names...` run in dir (how dataset_files.h
 * combines several files), or of the single file. */
static void coreutils_combined(const char *dir, const char *names, int several, char out[65]) {
    char cmd[2048];
    if (several) snprintf(cmd, sizeof cmd, "cd '%s' && sha256sum %s | sha256sum", dir, names);
    else snprintf(cmd, sizeof cmd, "cd '%s' && sha256sum %s", dir, names);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "popen %s", cmd);
    cr_assert_eq(fscanf(p, "%64s", out), 1, "no output from %s", cmd);
    pclose(p);
}

static void expect_bytes(const char *what, const uint8_t *got, const uint8_t *want, size_t n) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            if (bad < 3) cr_log_error("%s[%zu]: got %u, expected %u", what, i, got[i], want[i]);
            bad++;
        }
    cr_expect(bad == 0, "%s: %zu of %zu bytes differ", what, bad, n);
}

static void expect_labels(const char *what, const gb_image_set *set, const uint8_t *want) {
    for (int i = 0; i < set->count; i++) cr_expect_eq(set->labels[i], want[i], "%s label %d", what, i);
}

/* ------------------------------------------------------------------ CIFAR-10 */

static void check_cifar(const gb_image_set *set, const char *split, int count) {
    char rel[64];
    size_t n;
    cr_assert_eq(set->count, count);
    cr_expect(set->channels == 3 && set->height == 32 && set->width == 32 && set->num_classes == 10);
    snprintf(rel, sizeof rel, "cifar/%s_pixels.u8", split);
    uint8_t *pix = fx_read(rel, &n);
    cr_assert_eq(n, (size_t)count * 3072);
    expect_bytes(rel, set->pixels, pix, n);
    snprintf(rel, sizeof rel, "cifar/%s_labels.u8", split);
    uint8_t *lab = fx_read(rel, &n);
    expect_labels(rel, set, lab);
    free(pix);
    free(lab);
}

Test(cifar10, folder_and_archive_give_the_published_layout) {
    char *dir = fx_path("cifar"), *inner = fx_path("cifar/cifar-10-batches-bin"),
         *tgz = fx_path("cifar/cifar-10-binary.tar.gz");
    gb_image_set set;
    cr_assert_eq(gb_cifar10_load(&set, dir, GB_CIFAR10_TRAIN, 3), GB_OK, "%s", gb_last_error());
    check_cifar(&set, "train", 15);
    cr_expect_str_eq(set.identity, "cifar10:train");
    char want[65];
    coreutils_combined(inner, "data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin",
                       1, want);
    cr_expect_str_eq(set.sha256, want);
    gb_image_set_free(&set);

    cr_assert_eq(gb_cifar10_load(&set, inner, GB_CIFAR10_TEST, 3), GB_OK, "%s", gb_last_error());
    check_cifar(&set, "test", 3);
    cr_expect_str_eq(set.identity, "cifar10:test");
    coreutils_combined(inner, "test_batch.bin", 0, want);
    cr_expect_str_eq(set.sha256, want);
    gb_image_set_free(&set);

    for (int split = 0; split < 2; split++) {
        cr_assert_eq(gb_cifar10_load(&set, tgz, split ? GB_CIFAR10_TEST : GB_CIFAR10_TRAIN, 3), GB_OK, "%s",
                     gb_last_error());
        check_cifar(&set, split ? "test" : "train", split ? 3 : 15);
        size_t n;
        char *sha = (char *)fx_read("cifar/archive.sha256", &n);
        cr_expect(strncmp(set.sha256, sha, 64) == 0, "archive sha256 %s, hashlib %.64s", set.sha256, sha);
        free(sha);
        gb_image_set_free(&set);
    }
    size_t n;
    char *md5 = (char *)fx_read("cifar/archive.md5", &n);
    md5[32] = 0;
    cr_expect_eq(gb_md5_check_file(tgz, md5), GB_OK, "%s", gb_last_error());
    free(md5);
    /* The published size: 10000 records per file, so these 3-record files are refused. */
    fx_expect_error(gb_cifar10_load(&set, dir, GB_CIFAR10_TEST, 0), GB_INPUT, "test_batch.bin");
    cr_expect(strstr(gb_last_error(), "expected exactly 10000"), "%s", gb_last_error());
    free(dir);
    free(inner);
    free(tgz);
}

Test(cifar10, broken_copies_are_input_errors) {
    static const struct {
        const char *rel, *file, *detail;
        int split;
    } cases[] = {
        {"cifar/bad_truncated", "data_batch_3.bin", "not a whole number", 0},
        {"cifar/bad_label", "test_batch.bin", "record 1 (byte offset 3073) has label 10", 1},
        {"cifar/bad_missing", "data_batch_4.bin", "cannot open", 0},
        {"cifar/bad_count", "data_batch_2.bin", "4 records", 0},
        {"cifar/bad_truncated_tgz.tar.gz", "bad_truncated_tgz.tar.gz", "truncated", 0},
        {"cifar/bad_member.tar.gz", "test_batch.bin", "not a whole number", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = fx_path(cases[i].rel);
        gb_image_set set;
        fx_expect_error(gb_cifar10_load(&set, p, cases[i].split ? GB_CIFAR10_TEST : GB_CIFAR10_TRAIN, 3), GB_INPUT,
                        cases[i].file);
        cr_expect(strstr(gb_last_error(), cases[i].detail), "%s: '%s' should say '%s'", cases[i].rel, gb_last_error(),
                  cases[i].detail);
        cr_expect(set.pixels == NULL && set.count == 0, "a failed load leaves an empty set");
        free(p);
    }
}

/* One batch file on its own (`data inspect FILE`): the numpy-written records, the file's own
 * digest, and the same refusals as the split loader. */
Test(cifar10, one_batch_file) {
    char *batch = fx_path("cifar/cifar-10-batches-bin/test_batch.bin"), *inner = fx_path("cifar/cifar-10-batches-bin");
    gb_image_set set;
    cr_assert_eq(gb_cifar10_load_batch(&set, batch), GB_OK, "%s", gb_last_error());
    check_cifar(&set, "test", 3);
    cr_expect_str_eq(set.identity, "cifar10:test_batch.bin");
    char want[65];
    coreutils_combined(inner, "test_batch.bin", 0, want);
    cr_expect_str_eq(set.sha256, want);
    gb_image_set_free(&set);
    static const struct {
        const char *rel, *detail;
    } cases[] = {
        {"cifar/bad_truncated/cifar-10-batches-bin/data_batch_3.bin", "not a whole number"},
        {"cifar/bad_label/cifar-10-batches-bin/test_batch.bin", "record 1 (byte offset 3073) has label 10"},
        {"cifar/bad_missing/cifar-10-batches-bin/data_batch_4.bin", "cannot open"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = fx_path(cases[i].rel);
        fx_expect_error(gb_cifar10_load_batch(&set, p), GB_INPUT, cases[i].rel);
        cr_expect(strstr(gb_last_error(), cases[i].detail), "'%s' should say '%s'", gb_last_error(), cases[i].detail);
        cr_expect(set.pixels == NULL && set.count == 0, "a failed load leaves an empty set");
        free(p);
    }
    free(batch);
    free(inner);
}

/* ------------------------------------------------------------------ IDX */

static void check_idx(const gb_image_set *set, const char *split, int count) {
    char rel[64];
    size_t n;
    cr_assert_eq(set->count, count);
    cr_expect(set->channels == 1 && set->height == 28 && set->width == 28 && set->num_classes == 10);
    snprintf(rel, sizeof rel, "mnist/%s_pixels.u8", split);
    uint8_t *pix = fx_read(rel, &n);
    expect_bytes(rel, set->pixels, pix, n);
    snprintf(rel, sizeof rel, "mnist/%s_labels.u8", split);
    uint8_t *lab = fx_read(rel, &n);
    expect_labels(rel, set, lab);
    free(pix);
    free(lab);
}

Test(idx, gzipped_and_plain_files) {
    char *dir = fx_path("mnist"), *plain = fx_path("mnist/plain");
    gb_image_set set;
    cr_assert_eq(gb_idx_load(&set, dir, "mnist", 1), GB_OK, "%s", gb_last_error());
    check_idx(&set, "train", 5);
    cr_expect_str_eq(set.identity, "mnist:train");
    char want[65];
    coreutils_combined(dir, "train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz", 1, want);
    cr_expect_str_eq(set.sha256, want);
    gb_image_set_free(&set);
    cr_assert_eq(gb_idx_load(&set, plain, "fashion_mnist", 0), GB_OK, "%s", gb_last_error());
    check_idx(&set, "t10k", 3);
    cr_expect_str_eq(set.identity, "fashion_mnist:test");
    coreutils_combined(plain, "t10k-images-idx3-ubyte t10k-labels-idx1-ubyte", 1, want);
    cr_expect_str_eq(set.sha256, want);
    gb_image_set_free(&set);
    cr_expect_str_eq(gb_mnist_files[0].file, "train-images-idx3-ubyte.gz");
    cr_expect_str_eq(gb_fashion_mnist_files[3].md5, "bb300cfdad3c16e7a12a480ee83cd310");
    free(dir);
    free(plain);
}

Test(idx, broken_files_are_input_errors) {
    static const struct {
        const char *images, *labels, *file, *detail;
    } cases[] = {
        {"mnist/bad/magic-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz", "magic-images", "magic 00 00 08 04"},
        {"mnist/bad/le-images-idx3-ubyte", "mnist/t10k-labels-idx1-ubyte.gz", "le-images", "little-endian"},
        {"mnist/bad/trailing-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz", "trailing-images", "trailing"},
        {"mnist/bad/short-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz", "short-images", "truncated"},
        {"mnist/bad/header-images-idx3-ubyte", "mnist/t10k-labels-idx1-ubyte.gz", "header-images", "header"},
        {"mnist/bad/trunc-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz", "trunc-images", "truncated"},
        {"mnist/t10k-images-idx3-ubyte.gz", "mnist/bad/range-labels-idx1-ubyte.gz", "range-labels", "label 10 of item 1"},
        {"mnist/t10k-images-idx3-ubyte.gz", "mnist/bad/count-labels-idx1-ubyte.gz", "count-labels", "2 labels"},
        {"mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-images-idx3-ubyte.gz", "t10k-images", "labels file"},
        {"mnist/t10k-images-idx3-ubyte.gz", "mnist/no-such-labels.gz", "no-such-labels", "cannot open"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *im = fx_path(cases[i].images), *lb = fx_path(cases[i].labels);
        gb_image_set set;
        fx_expect_error(gb_idx_load_files(&set, im, lb, 10, "mnist:test"), GB_INPUT, cases[i].file);
        cr_expect(strstr(gb_last_error(), cases[i].detail), "case %zu: '%s' should say '%s'", i, gb_last_error(),
                  cases[i].detail);
        cr_expect(set.pixels == NULL);
        free(im);
        free(lb);
    }
}

/* gb_idx_read_any_u8 takes the dimension count from the header: the same data and sizes as
 * the strict reader for images and labels, and the same refusals. */
Test(idx, read_any_takes_the_header_dimensions) {
    static const char *const files[] = {"mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"};
    for (int f = 0; f < 2; f++) {
        char *p = fx_path(files[f]);
        uint8_t *strict, *any;
        uint32_t sd[3] = {0, 0, 0}, ad[3] = {0, 0, 0};
        int ndim = 0, want = f == 0 ? 3 : 1;
        cr_assert_eq(gb_idx_read_u8(p, want, &strict, sd), GB_OK, "%s", gb_last_error());
        cr_assert_eq(gb_idx_read_any_u8(p, &any, ad, &ndim), GB_OK, "%s", gb_last_error());
        cr_expect_eq(ndim, want, "%s: ndim %d", files[f], ndim);
        cr_expect(memcmp(sd, ad, sizeof sd) == 0, "%s: sizes differ", files[f]);
        size_t n = (size_t)sd[0] * (want == 3 ? (size_t)sd[1] * sd[2] : 1);
        expect_bytes(files[f], any, strict, n);
        free(strict);
        free(any);
        free(p);
    }
    static const struct {
        const char *rel, *detail;
    } cases[] = {
        {"mnist/bad/magic-images-idx3-ubyte.gz", "expected 00 00 08 01..03"},
        {"mnist/bad/le-images-idx3-ubyte", "little-endian"},
        {"mnist/bad/trailing-images-idx3-ubyte.gz", "trailing"},
        {"mnist/bad/trunc-images-idx3-ubyte.gz", "truncated"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = fx_path(cases[i].rel);
        uint8_t *data;
        uint32_t dims[3];
        int ndim;
        fx_expect_error(gb_idx_read_any_u8(p, &data, dims, &ndim), GB_INPUT, cases[i].rel);
        cr_expect(strstr(gb_last_error(), cases[i].detail), "'%s' should say '%s'", gb_last_error(), cases[i].detail);
        cr_expect(data == NULL);
        free(p);
    }
}

/* ------------------------------------------------------------------ CUB */

enum { CUB_N = 6, GREY_ID = 3 };

typedef struct {
    int cls[CUB_N], train[CUB_N], grey[CUB_N];
} cub_truth;

static cub_truth read_truth(void) {
    size_t n;
    char *text = (char *)fx_read("cub/labels.txt", &n);
    cub_truth t;
    char *p = text;
    for (int i = 0; i < CUB_N; i++) {
        int used;
        cr_assert_eq(sscanf(p, "%d %d %d%n", &t.cls[i], &t.train[i], &t.grey[i], &used), 3);
        p += used;
    }
    free(text);
    return t;
}

Test(cub, index_joined_by_id) {
    char *root = fx_path("cub");
    gb_cub_index x;
    cr_assert_eq(gb_cub_index_read(&x, root), GB_OK, "%s", gb_last_error());
    cub_truth t = read_truth();
    cr_assert_eq(x.count, CUB_N);
    cr_expect_eq(x.num_classes, 3);
    cr_expect_str_eq(x.class_names[2], "187.American_Three_toed_Woodpecker");
    cr_expect_str_eq(x.paths[1], "187.American_Three_toed_Woodpecker/American_Three_Toed_Woodpecker_0012_796163.jpg");
    for (int i = 0; i < CUB_N; i++) {
        cr_expect_eq(x.labels[i], t.cls[i], "image id %d class", i + 1);
        cr_expect_eq(x.is_train[i], t.train[i], "image id %d split", i + 1);
    }
    gb_cub_index_free(&x);
    free(root);
}

Test(cub, jpeg_decode_matches_pillow) {
    char *root = fx_path("cub");
    gb_cub_index x;
    cr_assert_eq(gb_cub_index_read(&x, root), GB_OK, "%s", gb_last_error());
    size_t n;
    uint8_t *want = fx_read("cub/decoded.u8", &n);
    char *sizes = (char *)fx_read("cub/decoded_sizes.txt", &n);
    cub_truth t = read_truth();
    size_t at = 0;
    char *sp = sizes;
    for (int i = 0; i < CUB_N; i++) {
        int h, w, used;
        cr_assert_eq(sscanf(sp, "%d %d%n", &h, &w, &used), 2);
        sp += used;
        char *path = gb_path_join(x.images_dir, x.paths[i]);
        size_t len;
        uint8_t *file = fx_read(path + strlen(getenv("GB_FIXTURES")) + strlen("/image_data/"), &len);
        uint8_t *rgb;
        int gh, gw, comps;
        cr_assert_eq(gb_jpeg_decode_rgb(path, file, len, &rgb, &gh, &gw, &comps), GB_OK, "%s", gb_last_error());
        cr_expect(gh == h && gw == w, "%s: %dx%d, Pillow %dx%d", path, gw, gh, w, h);
        cr_expect_eq(comps, t.grey[i] ? 1 : 3, "%s components", path);
        expect_bytes(path, rgb, want + at, (size_t)3 * h * w);
        at += (size_t)3 * h * w;
        free(rgb);
        free(file);
        free(path);
    }
    free(want);
    free(sizes);
    gb_cub_index_free(&x);
    free(root);
}

Test(cub, prepare_image_matches_pillow_resize_and_resave) {
    char *root = fx_path("cub");
    gb_cub_index x;
    cr_assert_eq(gb_cub_index_read(&x, root), GB_OK, "%s", gb_last_error());
    size_t n;
    uint8_t *resized = fx_read("cub/resized32.u8", &n), *round = fx_read("cub/roundtrip32.u8", &n);
    cub_truth t = read_truth();
    for (int i = 0; i < CUB_N; i++) {
        char *path = gb_path_join(x.images_dir, x.paths[i]);
        uint8_t out[3 * 32 * 32];
        int grey;
        char sha[65];
        cr_assert_eq(gb_cub_prepare_image(out, 32, 0, path, sha, &grey), GB_OK, "%s", gb_last_error());
        cr_expect_eq(grey, t.grey[i]);
        expect_bytes(path, out, resized + (size_t)i * sizeof out, sizeof out);
        cr_assert_eq(gb_cub_prepare_image(out, 32, 75, path, NULL, NULL), GB_OK, "%s", gb_last_error());
        expect_bytes(path, out, round + (size_t)i * sizeof out, sizeof out);
        free(path);
    }
    free(resized);
    free(round);
    gb_cub_index_free(&x);
    free(root);
}

Test(cub, cmu32_set_independent_of_thread_count) {
    char *root = fx_path("cub");
    size_t n;
    uint8_t *round = fx_read("cub/roundtrip32.u8", &n);
    cub_truth t = read_truth();
    const size_t img = 3 * 32 * 32;
    gb_image_set one, many;
    gb_cub_options o = gb_cub_options_cmu32(1);
    cr_assert_eq(gb_cub_load_resized(&one, root, &o), GB_OK, "%s", gb_last_error());
    o.threads = 4;
    cr_assert_eq(gb_cub_load_resized(&many, root, &o), GB_OK, "%s", gb_last_error());
    cr_assert_eq(one.count, CUB_N - 1, "the greyscale Ivory_Gull_0040_49180.jpg is dropped");
    cr_expect_str_eq(one.identity, "cub32");
    cr_expect_eq(one.num_classes, 3);
    cr_expect(memcmp(one.pixels, many.pixels, one.count * img) == 0, "1 and 4 threads differ");
    cr_expect_str_eq(one.sha256, many.sha256);
    int k = 0;
    for (int i = 0; i < CUB_N; i++) {
        if (i == GREY_ID - 1) continue;
        expect_bytes("cub32", one.pixels + k * img, round + i * img, img);
        cr_expect_eq(one.labels[k], t.cls[i]);
        k++;
    }
    gb_image_set_free(&one);
    gb_image_set_free(&many);

    /* Without the drop list or the JPEG step: the greyscale image is kept, repeated to RGB. */
    gb_cub_options plain = {.resolution = 32, .split = GB_CUB_TRAIN, .drop_cmu_greyscale = 0, .jpeg_quality = 0,
                            .threads = 3};
    uint8_t *resized = fx_read("cub/resized32.u8", &n);
    cr_assert_eq(gb_cub_load_resized(&one, root, &plain), GB_OK, "%s", gb_last_error());
    cr_expect_str_eq(one.identity, "cub200:train:32px");
    k = 0;
    for (int i = 0; i < CUB_N; i++) {
        if (!t.train[i]) continue;
        expect_bytes("cub train", one.pixels + k * img, resized + i * img, img);
        if (t.grey[i]) {
            cr_expect(memcmp(one.pixels + k * img, one.pixels + k * img + 1024, 1024) == 0);
            cr_expect(memcmp(one.pixels + k * img, one.pixels + k * img + 2048, 1024) == 0);
        }
        k++;
    }
    cr_expect_eq(one.count, k);
    gb_image_set_free(&one);
    free(resized);
    free(round);
    free(root);
}

Test(cub, flat_32px_folder) {
    char *dir = fx_path("cub/cub32");
    size_t n;
    uint8_t *want = fx_read("cub/cub32_sorted.u8", &n);
    gb_image_set set;
    cr_assert_eq(gb_cub_load_folder(&set, dir, 32, 2), GB_OK, "%s", gb_last_error());
    cr_assert_eq(set.count, CUB_N);
    cr_expect(set.labels == NULL && set.num_classes == 0);
    cr_expect_str_eq(set.identity, "cub32");
    expect_bytes("cub32 folder", set.pixels, want, n);
    gb_image_set_free(&set);
    free(want);
    free(dir);
    /* Full-size images are not the 32-pixel set. */
    dir = fx_path("cub/CUB_200_2011/images/001.Black_footed_Albatross");
    fx_expect_error(gb_cub_load_folder(&set, dir, 32, 2), GB_INPUT, "Black_Footed_Albatross_0009_34.jpg");
    free(dir);
}

/* Regression for fuzz/jpeg_fuzz.c: a valid small JPEG whose SOF0 header is patched to claim
 * more pixels than Pillow accepts is refused before any buffer is sized from the header. */
Test(cub, jpeg_header_claiming_too_many_pixels_is_refused) {
    uint8_t grey[64];
    for (int i = 0; i < 64; i++) grey[i] = (uint8_t)(4 * i);
    uint8_t *jpg;
    size_t n;
    cr_assert_eq(gb_jpeg_encode("small.jpg", grey, 1, 8, 8, 75, &jpg, &n), GB_OK, "%s", gb_last_error());
    size_t sof = 0;
    while (sof + 9 < n && !(jpg[sof] == 0xFF && jpg[sof + 1] == 0xC0)) sof++;
    cr_assert(sof + 9 < n, "no SOF0 marker in the encoded JPEG");
    static const struct { unsigned h, w; int ok; } sizes[] = {{8, 8, 1}, {65500, 65500, 0}, {13377, 13378, 0}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        jpg[sof + 5] = (uint8_t)(sizes[k].h >> 8);
        jpg[sof + 6] = (uint8_t)sizes[k].h;
        jpg[sof + 7] = (uint8_t)(sizes[k].w >> 8);
        jpg[sof + 8] = (uint8_t)sizes[k].w;
        uint8_t *rgb = NULL;
        int h, w;
        gb_status s = gb_jpeg_decode_rgb("bomb.jpg", jpg, n, &rgb, &h, &w, NULL);
        if (sizes[k].ok) {
            cr_expect_eq(s, GB_OK, "%ux%u: %s", sizes[k].w, sizes[k].h, gb_last_error());
        } else {
            cr_expect_eq(s, GB_INPUT, "%ux%u accepted", sizes[k].w, sizes[k].h);
            cr_expect(strstr(gb_last_error(), "bomb.jpg") && strstr(gb_last_error(), "pixels"),
                      "message '%s' should name the file and the pixel count", gb_last_error());
            cr_expect(rgb == NULL);
        }
        free(rgb);
    }
    free(jpg);
}

Test(cub, broken_trees_are_input_errors) {
    static const struct {
        const char *rel, *file, *detail;
    } cases[] = {
        {"cub/bad_missing", "California_Gull_0001_40786.jpg", "cannot open"},
        {"cub/bad_label", "image_class_labels.txt", "not an integer in 1..3"},
        {"cub/bad_duplicate", "image_class_labels.txt", "listed twice"},
        {"cub/bad_cmyk", "Black_Footed_Albatross_0009_34.jpg", "CMYK"},
        {"cub/bad_jpeg", "Black_Footed_Albatross_0046_18.jpg", "not a readable JPEG"},
        {"cub/nonexistent", "classes.txt", "extract"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *root = fx_path(cases[i].rel);
        gb_image_set set;
        gb_cub_options o = gb_cub_options_cmu32(3);
        fx_expect_error(gb_cub_load_resized(&set, root, &o), GB_INPUT, cases[i].file);
        cr_expect(strstr(gb_last_error(), cases[i].detail), "%s: '%s' should say '%s'", cases[i].rel, gb_last_error(),
                  cases[i].detail);
        cr_expect(set.pixels == NULL);
        free(root);
    }
}
