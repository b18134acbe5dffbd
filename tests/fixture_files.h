/* tests/fixture_files.h - paths and whole-file reads under $GB_FIXTURES/image_data, for the
 * suites fed by tests/peers/image_data.py. A missing fixture FAILS the test with the command
 * that makes it. */
#ifndef GB_TEST_FIXTURE_FILES_H
#define GB_TEST_FIXTURE_FILES_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "$GB_FIXTURES/image_data/<rel>" (malloc'd); fails the test when GB_FIXTURES is unset or
 * the peer's output folder is absent. */
static inline char *fx_path(const char *rel) {
    const char *root = getenv("GB_FIXTURES");
    if (!root) cr_assert_fail("GB_FIXTURES is not set: run the tests with `make test` (it runs tests/peers/*.py first)");
    char *dir = malloc(strlen(root) + 32);
    if (!dir) cr_assert_fail("out of memory for the fixture path under %s", root);
    sprintf(dir, "%s/image_data", root);
    FILE *probe = fopen(dir, "r");
    if (!probe) cr_assert_fail("fixtures %s are missing: run /usr/bin/python3 tests/peers/image_data.py %s", dir, root);
    fclose(probe);
    char *p = malloc(strlen(dir) + strlen(rel) + 2);
    if (!p) cr_assert_fail("out of memory for the fixture path %s/%s", dir, rel);
    sprintf(p, "%s/%s", dir, rel);
    free(dir);
    return p;
}

/* Whole fixture file; *n receives its size. */
static inline unsigned char *fx_read(const char *rel, size_t *n) {
    char *path = fx_path(rel);
    FILE *fp = fopen(path, "rb");
    if (!fp) cr_assert_fail("fixture %s is missing: run /usr/bin/python3 tests/peers/image_data.py $GB_FIXTURES", path);
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (!buf) cr_assert_fail("fixture %s: cannot size or hold it", path);
    size_t got = fread(buf, 1, (size_t)len, fp);
    fclose(fp);
    if (got != (size_t)len) cr_assert_fail("fixture %s: short read", path);
    buf[len] = 0;
    *n = (size_t)len;
    free(path);
    return buf;
}

/* Expect `status` to be `want` and the recorded message to contain `needle`. */
#define fx_expect_error(status, want, needle)                                                            \
    do {                                                                                                 \
        gb_status fx_s_ = (status);                                                                      \
        cr_expect_eq(fx_s_, (want), "status %d, expected %d (%s)", (int)fx_s_, (int)(want), gb_last_error()); \
        cr_expect(strstr(gb_last_error(), (needle)) != NULL, "message '%s' should mention '%s'",          \
                  gb_last_error(), (needle));                                                            \
    } while (0)

#endif
