/* tests/fixture.h - read the raw float32 fixtures written by tests/peers/<name>.py, and compare arrays.
 *
 * A missing fixture FAILS the test with the command that makes it: a parity test never passes
 * because its reference is absent. */
#ifndef GB_TEST_FIXTURE_H
#define GB_TEST_FIXTURE_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $GB_FIXTURES/<rel> as a malloc'd path; a missing file fails the test with the peer to run. */
static inline char *fixture_file(const char *rel) {
    const char *root = getenv("GB_FIXTURES");
    if (!root)
        cr_assert_fail("GB_FIXTURES is not set: run the tests with `make test` (it runs tests/peers/*.py first)");
    char *p = malloc(strlen(root) + strlen(rel) + 2);
    sprintf(p, "%s/%s", root, rel);
    FILE *f = fopen(p, "rb");
    if (!f) cr_assert_fail("fixture %s is missing: run /usr/bin/python3 tests/peers/<peer>.py %s", p, root);
    fclose(f);
    return p;
}

/* Read $GB_FIXTURES/<rel> holding exactly `count` little-endian float32 values. */
static inline float *fixture_f32(const char *rel, size_t count) {
    const char *root = getenv("GB_FIXTURES");
    if (!root) cr_assert_fail("GB_FIXTURES is not set: run the tests with `make test` (it runs tests/peers/*.py first)");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *fp = fopen(path, "rb");
    if (!fp) cr_assert_fail("fixture %s is missing: run /usr/bin/python3 tests/peers/<peer>.py %s", path, root);
    float *data = malloc(count * sizeof(float) + 1);
    size_t got = fread(data, sizeof(float), count, fp);
    int extra = fgetc(fp);
    fclose(fp);
    if (got != count || extra != EOF) cr_assert_fail("fixture %s: expected exactly %zu floats", path, count);
    return data;
}

/* The value of `key` in a peer's "key value" reference file at path (one pair per line); a
 * missing file or key fails the test, naming `peer`, the command that writes it. */
static inline double fixture_value(const char *path, const char *key, const char *peer) {
    FILE *fp = fopen(path, "r");
    char k[128];
    double v;
    while (fp && fscanf(fp, "%127s %lf", k, &v) == 2)
        if (strcmp(k, key) == 0) {
            fclose(fp);
            return v;
        }
    if (fp) fclose(fp);
    cr_assert_fail("%s has no key %s: run %s", path, key, peer);
    return NAN;
}

/* |got - ref| <= atol + rtol |ref| elementwise; prints the first mismatches with their indices. */
static inline void expect_close(const char *label, const float *got, const float *ref, size_t n, double atol,
                                double rtol) {
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - (double)ref[i]);
        double lim = atol + rtol * fabs((double)ref[i]);
        if (!(err <= lim)) {
            if (bad < 5) cr_log_error("%s[%zu]: got %.9g, expected %.9g (err %.3g > %.3g)", label, i, got[i], ref[i], err, lim);
            bad++;
        }
        if (err > worst) worst = err;
    }
    cr_expect(bad == 0, "%s: %zu of %zu elements differ (worst abs error %.3g, atol %g, rtol %g)", label, bad, n,
              worst, atol, rtol);
}

#endif
