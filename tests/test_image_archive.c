/* tests/test_image_archive.c - zip archives of images (metrics/image_archive.h) as inputs of the
 * Inception metrics.
 *
 * Independent references:
 *   - the listing: clean-fid's own rule for a ".zip" path (get_folder_features) applied by
 *     tests/peers/inception_ref.py to a zip of its FOLDER_TREE (case, depth, hidden members,
 *     several dots, names that are all extension, directory entries, a directory named like an
 *     image, a non-image member);
 *   - the images: the folder route (tested against pytorch-fid's features in
 *     tests/test_inception.c): an archive of the same files, stored and deflated and written in
 *     reverse order, gives the same pool3 features and logits bit for bit, decoded on two
 *     threads over batches of 2.
 * Then every way an archive can be bad, each named: not a zip, truncated, no images, a format
 * clean-fid would read and genbench cannot decode, an undecodable member, a member whose bytes
 * fail their CRC-32, an encrypted member, a name that appears twice. Archives are written here
 * with libzip and damaged by patching their bytes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/sha256.h"
#include "kernels/kernels.h"
#include "metrics/image_archive.h"
#include "metrics/image_folder.h"
#include "metrics/inception_features.h"
#include "tests/fixture.h"
#include "tests/zip_writer.h"

TestSuite(image_archive, .timeout = 300);

/* $GB_FIXTURES/inception/<rel> (malloc'd), which must exist. */
static char *fx(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "inception/%s", rel);
    return fixture_file(path);
}

static unsigned char *slurp(const char *path, size_t *n) {
    unsigned char *data;
    cr_assert_eq(gb_read_file(path, &data, n), GB_OK, "%s", gb_last_error());
    return data;
}

/* A zip at path holding members names[k] with bytes data[k] [sizes[k]]; even members stored,
 * odd ones deflated. */
static void write_zip(const char *path, const char *const *names, unsigned char *const *data, const size_t *sizes,
                      int count) {
    zip_t *z = test_zip_open(path);
    for (int k = 0; k < count; k++) test_zip_add_bytes(z, names[k], data[k], sizes[k], k % 2);
    test_zip_close(z, path);
}

/* A zip of one member with bytes given as a string. */
static void write_zip1(const char *path, const char *name, const char *bytes) {
    unsigned char *data = (unsigned char *)bytes;
    size_t n = strlen(bytes);
    write_zip(path, &name, &data, &n, 1);
}

/* Replaces every occurrence of the n bytes `from` by `to` in the file at path; returns how many. */
static int patch_all(const char *path, const void *from, const void *to, size_t n) {
    size_t size;
    unsigned char *d = slurp(path, &size);
    int hits = 0;
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(d + i, from, n) == 0) memcpy(d + i, to, n), hits++;
    cr_assert_eq(gb_atomic_write(path, d, size), GB_OK, "%s", gb_last_error());
    free(d);
    return hits;
}

/* gb_image_archive_open(path) fails with GB_INPUT and a message holding want. */
static void expect_open_fails(const char *path, const char *want) {
    gb_image_archive *a;
    cr_expect_eq(gb_image_archive_open(&a, path), GB_INPUT, "%s should be refused", want);
    cr_expect(strstr(gb_last_error(), path) && strstr(gb_last_error(), want), "expected '%s' naming %s: %s", want,
              path, gb_last_error());
}

/* Image 0 of the archive at path fails to load with GB_INPUT, naming member and the problem. */
static void expect_load_fails(const char *path, const char *member, const char *want) {
    gb_image_archive *a;
    cr_assert_eq(gb_image_archive_open(&a, path), GB_OK, "%s", gb_last_error());
    uint8_t *img;
    int h, w;
    char where[512];
    snprintf(where, sizeof where, "%s:%s", path, member);
    cr_expect_eq(gb_image_archive_load_rgb(a, 0, &img, &h, &w), GB_INPUT, "%s should fail", where);
    cr_expect(strstr(gb_last_error(), where) && strstr(gb_last_error(), want), "expected '%s' naming %s: %s", want,
              where, gb_last_error());
    gb_image_archive_close(a);
}

Test(image_archive, listing_matches_clean_fid) {
    char *zip = fx("tree.zip"), *listing = fx("tree_zip.txt");
    gb_image_archive *a;
    cr_assert_eq(gb_image_archive_open(&a, zip), GB_OK, "%s", gb_last_error());
    FILE *f = fopen(listing, "r");
    cr_assert_not_null(f);
    char line[512];
    size_t i = 0, n = gb_image_archive_count(a);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        cr_assert_lt(i, n, "clean-fid reads more members than ours (%zu; next %s)", n, line);
        cr_expect_str_eq(gb_image_archive_member(a, i), line, "member %zu", i);
        i++;
    }
    cr_expect_eq(i, n, "clean-fid reads %zu members, ours %zu", i, n);
    fclose(f);
    /* the members decode (2x3 RGB PNGs), deflated and stored alike */
    for (size_t k = 0; k < n; k++) {
        uint8_t *img;
        int h, w;
        cr_assert_eq(gb_image_archive_load_rgb(a, k, &img, &h, &w), GB_OK, "%s", gb_last_error());
        cr_expect(h == 2 && w == 3 && img[0] == 7, "%s: %dx%d, first value %d", gb_image_archive_member(a, k), h, w,
                  img[0]);
        free(img);
    }
    gb_image_archive_close(a);
    free(zip);
    free(listing);
}

/* A folder of PNG and JPEG files (RGB and a grey one that is downscaled) and a zip of the same
 * files under the same names: the same pool3 features and logits, bit for bit. */
Test(image_archive, same_bits_as_a_folder) {
    char dir[] = "/tmp/gb_test_archive_XXXXXX", zip[300];
    cr_assert(mkdtemp(dir));
    static const char *const src[] = {"images/a.png", "images/b.jpg", "resize/c.png", "images/b.jpg", "images/a.png"};
    static const char *const names[] = {"0.png", "1.jpg", "2.png", "3.JPG", "4.png"};
    unsigned char *data[5];
    size_t sizes[5];
    for (int k = 0; k < 5; k++) {
        char *p = fx(src[k]), path[400];
        data[k] = slurp(p, &sizes[k]);
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        cr_assert_eq(gb_atomic_write(path, data[k], sizes[k]), GB_OK, "%s", gb_last_error());
        free(p);
    }
    /* written in reverse: the listing must sort them and keep each name with its own entry */
    snprintf(zip, sizeof zip, "%s.zip", dir);
    const char *reversed_names[5];
    unsigned char *reversed_data[5];
    size_t reversed_sizes[5];
    for (int k = 0; k < 5; k++) {
        reversed_names[k] = names[4 - k];
        reversed_data[k] = data[4 - k];
        reversed_sizes[k] = sizes[4 - k];
    }
    write_zip(zip, reversed_names, reversed_data, reversed_sizes, 5);
    for (int k = 0; k < 5; k++) free(data[k]);

    gb_device dev;
    gb_inception net;
    char *w = fx("weights_zip.pth"), h[65];
    cr_assert_eq(gb_device_open(&dev, "cpu", 2), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_sha256_file(w, h), GB_OK);
    cr_assert_eq(gb_inception_load(&net, &dev, w, h, 2), GB_OK, "%s", gb_last_error());
    char **paths;
    size_t n;
    cr_assert_eq(gb_image_folder_list(&paths, &n, dir, GB_FID_CLEAN), GB_OK, "%s", gb_last_error());
    cr_assert_eq(n, 5);
    gb_image_archive *a;
    cr_assert_eq(gb_image_archive_open(&a, zip), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_image_archive_count(a), 5);
    for (int k = 0; k < 5; k++) /* the same order as the folder's */
        cr_assert_str_eq(gb_image_archive_member(a, (size_t)k), strrchr(paths[k], '/') + 1);
    float *pool[2], *logits[2];
    cr_assert_eq(gb_fid_files_outputs(&(gb_fid_wanted){.pool = &pool[0], .logits = &logits[0]}, &net,
                                      paths, n, GB_FID_CLEAN, dir), GB_OK, "%s",
                 gb_last_error());
    cr_assert_eq(gb_fid_archive_outputs(&(gb_fid_wanted){.pool = &pool[1], .logits = &logits[1]}, &net,
                                        a, GB_FID_CLEAN, zip), GB_OK, "%s",
                 gb_last_error());
    cr_expect_eq(memcmp(pool[0], pool[1], 5 * GB_INCEPTION_FEATURES * sizeof(float)), 0, "pool3 differs");
    cr_expect_eq(memcmp(logits[0], logits[1], 5 * GB_INCEPTION_CLASSES * sizeof(float)), 0, "logits differ");
    for (int k = 0; k < 2; k++) free(pool[k]), free(logits[k]);
    gb_image_archive_close(a);
    gb_image_list_free(paths, n);
    gb_inception_free(&net);
    gb_device_close(&dev);
    free(w);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, zip);
    cr_expect_eq(system(cmd), 0);
}

Test(image_archive, bad_archives_are_named) {
    char dir[] = "/tmp/gb_test_badzip_XXXXXX", path[300];
    cr_assert(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/x.zip", dir);

    cr_assert_eq(gb_atomic_write(path, "not a zip\n", 10), GB_OK);
    expect_open_fails(path, "not a readable zip archive");

    write_zip1(path, "dataset.json", "{\"labels\": null}");
    expect_open_fails(path, "no images");

    write_zip1(path, "sub/y.WebP", "RIFF....WEBP");
    expect_open_fails(path, "sub/y.WebP: .WebP images are not read by genbench");

    write_zip1(path, "junk.png", "this is text");
    expect_load_fails(path, "junk.png", "neither a PNG nor a JPEG");

    /* a truncated archive: its central directory is gone */
    char *png = fx("images/a.png");
    size_t n;
    unsigned char *bytes = slurp(png, &n);
    const char *name = "a.png";
    write_zip(path, &name, &bytes, &n, 1); /* stored: the PNG's bytes lie in the file as they are */
    size_t zn;
    unsigned char *z = slurp(path, &zn);
    cr_assert_eq(gb_atomic_write(path, z, zn - 30), GB_OK);
    expect_open_fails(path, "not a readable zip archive");
    cr_assert_eq(gb_atomic_write(path, z, zn), GB_OK);

    /* a flipped byte inside the stored member: its CRC-32 fails when it is read */
    unsigned char from[16], to[16];
    memcpy(from, bytes + n / 2, sizeof from);
    memcpy(to, from, sizeof to);
    to[7] ^= 0x40;
    cr_assert_eq(patch_all(path, from, to, sizeof from), 1);
    expect_load_fails(path, "a.png", "data is damaged or truncated");
    cr_assert_eq(gb_atomic_write(path, z, zn), GB_OK);

    /* the encryption flag set in the local and the central header: no password, no image */
    cr_assert(z[0] == 'P' && z[1] == 'K' && z[2] == 3 && z[3] == 4);
    z[6] |= 1;
    for (size_t i = 0; i + 4 <= zn; i++)
        if (z[i] == 'P' && z[i + 1] == 'K' && z[i + 2] == 1 && z[i + 3] == 2) z[i + 8] |= 1;
    cr_assert_eq(gb_atomic_write(path, z, zn), GB_OK);
    expect_load_fails(path, "a.png", "cannot be opened");
    free(z);

    /* a name that appears twice (libzip will not write one: b.png renamed a.png in place) */
    const char *names[] = {"a.png", "b.png"};
    unsigned char *datas[] = {bytes, bytes};
    size_t sizes[] = {n, n};
    write_zip(path, names, datas, sizes, 2);
    cr_assert_eq(patch_all(path, "b.png", "a.png", 5), 2);
    gb_image_archive *a;
    gb_status s = gb_image_archive_open(&a, path);
    cr_expect_eq(s, GB_INPUT, "an archive with a.png twice was accepted");
    cr_expect(strstr(gb_last_error(), path) && strstr(gb_last_error(), "appears twice"), "%s", gb_last_error());
    if (s == GB_OK) gb_image_archive_close(a);

    free(bytes);
    free(png);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}
