/* tests/metrics_misc_fixture.h - read the float64 fixtures that tests/peers/metrics_misc.py
 * writes under $GB_FIXTURES/metrics_misc/ (used by test_ode.c, test_zsl_metrics.c and
 * test_spectrum.c). A missing or malformed fixture FAILS the test with the command that makes
 * it: a parity test never passes because its reference is absent.
 */
#ifndef GB_TEST_METRICS_MISC_FIXTURE_H
#define GB_TEST_METRICS_MISC_FIXTURE_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* $GB_FIXTURES/metrics_misc/<name>.f64: all values; *count receives their number. When
 * `expect` is nonzero the file must hold exactly that many. */
static inline double *mm_read_f64(const char *name, size_t expect, size_t *count) {
    const char *root = getenv("GB_FIXTURES");
    if (!root)
        cr_assert_fail("GB_FIXTURES is not set: run `make test`, or /usr/bin/python3 "
                       "tests/peers/metrics_misc.py DIR and GB_FIXTURES=DIR");
    char path[2048];
    snprintf(path, sizeof path, "%s/metrics_misc/%s.f64", root, name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        cr_assert_fail("fixture %s is missing: run /usr/bin/python3 tests/peers/metrics_misc.py %s",
                       path, root);
    fseek(fp, 0, SEEK_END);
    long bytes = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    if (bytes < 0 || bytes % 8 != 0) cr_assert_fail("fixture %s: size %ld is not a multiple of 8", path, bytes);
    size_t n = (size_t)bytes / 8;
    if (expect && n != expect) cr_assert_fail("fixture %s: %zu values, expected %zu", path, n, expect);
    double *d = malloc(n ? n * sizeof *d : 1);
    cr_assert_not_null(d);
    if (fread(d, sizeof *d, n, fp) != n) cr_assert_fail("fixture %s: short read", path);
    fclose(fp);
    if (count) *count = n;
    return d;
}

/* The same converted to float (inputs the peer drew as float32 and stored exactly). */
static inline float *mm_read_f32(const char *name, size_t expect, size_t *count) {
    size_t n;
    double *d = mm_read_f64(name, expect, &n);
    float *f = malloc(n ? n * sizeof *f : 1);
    cr_assert_not_null(f);
    for (size_t i = 0; i < n; i++) f[i] = (float)d[i];
    free(d);
    if (count) *count = n;
    return f;
}

/* Integer labels stored as float64. */
static inline int32_t *mm_read_i32(const char *name, size_t expect, size_t *count) {
    size_t n;
    double *d = mm_read_f64(name, expect, &n);
    int32_t *v = malloc(n ? n * sizeof *v : 1);
    cr_assert_not_null(v);
    for (size_t i = 0; i < n; i++) v[i] = (int32_t)d[i];
    free(d);
    if (count) *count = n;
    return v;
}

/* |got - want| <= tol * max(|want|, floor); logs the worst element. */
static inline void mm_expect_close(const char *what, const double *got, const double *want,
                                   size_t n, double tol, double floor) {
    size_t bad = 0, worst_i = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double scale = fabs(want[i]) > floor ? fabs(want[i]) : floor;
        double r = fabs(got[i] - want[i]) / scale;
        if (!(r <= tol)) bad++;
        if (!(r <= worst)) {
            worst = r;
            worst_i = i;
        }
    }
    cr_expect(bad == 0, "%s: %zu of %zu values off; worst [%zu] got %.17g want %.17g (rel %.3g > %.3g)",
              what, bad, n, worst_i, n ? got[worst_i] : 0.0, n ? want[worst_i] : 0.0, worst, tol);
}

#endif
