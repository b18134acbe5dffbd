/* tests/zip_writer.h - zip archives written by the tests through libzip (header-only): open,
 * add members from memory or from files, close, each step asserted. The archives exercise
 * readers of real zips (metrics/image_archive.h, datasets/fetch.h); libzip reads sources only
 * at close, so buffers and files must live until test_zip_close.
 */
#ifndef GB_TEST_ZIP_WRITER_H
#define GB_TEST_ZIP_WRITER_H

#include <criterion/criterion.h>
#include <stddef.h>
#include <zip.h>

static inline zip_t *test_zip_open(const char *path) {
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    cr_assert_not_null(z, "zip_open %s: libzip error %d", path, err);
    return z;
}

/* Adds member `name` holding data [n], stored or deflated. */
static inline void test_zip_add_bytes(zip_t *z, const char *name, const void *data, size_t n, int deflate) {
    zip_source_t *src = zip_source_buffer(z, data, n, 0);
    cr_assert_not_null(src, "%s: %s", name, zip_strerror(z));
    zip_int64_t idx = zip_file_add(z, name, src, ZIP_FL_ENC_UTF_8);
    cr_assert_geq(idx, 0, "%s: %s", name, zip_strerror(z));
    cr_assert_eq(zip_set_file_compression(z, (zip_uint64_t)idx, deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0), 0);
}

/* Adds the file at `file` as member `name` (libzip's default compression, deflate). */
static inline void test_zip_add_file(zip_t *z, const char *file, const char *name) {
    zip_source_t *src = zip_source_file(z, file, 0, -1);
    cr_assert_not_null(src, "%s: %s", file, zip_strerror(z));
    cr_assert_geq(zip_file_add(z, name, src, ZIP_FL_ENC_UTF_8), 0, "%s: %s", name, zip_strerror(z));
}

static inline void test_zip_close(zip_t *z, const char *path) {
    cr_assert_eq(zip_close(z), 0, "zip_close %s: %s", path, zip_strerror(z));
}

#endif
