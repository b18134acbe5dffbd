/* tests/fid_fixture.h - fixture access for the FID / npy suites: paths under
 * $GB_FIXTURES/fid_stats (written by tests/peers/fid_stats.py), the "key value" reference file,
 * and float feature arrays read through core/npy.h. A missing fixture fails the test with the
 * command that makes it. */
#ifndef GB_TEST_FID_FIXTURE_H
#define GB_TEST_FID_FIXTURE_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "tests/fixture.h"

#define FID_PEER "/usr/bin/python3 tests/peers/fid_stats.py $GB_FIXTURES"

static inline const char *fid_fixture(char *buf, size_t size, const char *name) {
    const char *root = getenv("GB_FIXTURES");
    if (!root) cr_assert_fail("GB_FIXTURES is not set: run `make test`, or " FID_PEER " and export GB_FIXTURES");
    snprintf(buf, size, "%s/fid_stats/%s", root, name);
    FILE *fp = fopen(buf, "rb");
    if (!fp) cr_assert_fail("fixture %s is missing: run " FID_PEER, buf);
    fclose(fp);
    return buf;
}

/* Value of `key` in fid_stats/reference.txt. */
static inline double fid_reference(const char *key) {
    char path[1024];
    return fixture_value(fid_fixture(path, sizeof path, "reference.txt"), key, FID_PEER);
}

/* A 2-D .npy fixture as float32 [n, d] (malloc'd). */
static inline float *fid_features(const char *name, size_t *n, size_t *d) {
    char path[1024];
    gb_npy_array a;
    gb_status s = gb_npy_load(&a, fid_fixture(path, sizeof path, name));
    cr_assert_eq(s, GB_OK, "%s: %s", path, gb_last_error());
    cr_assert_eq(a.ndim, 2, "%s: expected a 2-D array", path);
    float *x = malloc(a.count * sizeof *x);
    gb_npy_to_f32(x, &a);
    *n = a.shape[0];
    *d = a.shape[1];
    gb_npy_free(&a);
    return x;
}

static inline void expect_rel(double got, double want, double tol, const char *what) {
    double scale = fabs(want) > 1e-300 ? fabs(want) : 1.0;
    cr_expect(fabs(got - want) <= tol * scale, "%s: got %.17g, want %.17g (relative error %.3g > %.3g)", what, got,
              want, fabs(got - want) / scale, tol);
}

#endif
