/* tests/test_sample_distance.c - sliced W1, RBF MMD^2 and the median heuristic
 * (metrics/sample_distance.h) against closed forms and against scipy/numpy.
 *
 * Closed forms: identical sets give exactly 0; a shift s gives mean_k |s . d_k| (and the
 * cot/csc closed form for an axis-aligned shift); single points give 2 - 2 exp(-|x-y|^2/2h^2);
 * 2-point sets by hand (U- and V-statistic); unequal sizes in 1-D; permutation invariance;
 * non-finite and empty inputs rejected with a message naming set and index.
 * Parity: fixtures written by tests/peers/sample_distance_ref.py into $GB_FIXTURES/sample_distance
 * (run `/usr/bin/python3 tests/peers/sample_distance_ref.py DIR` and set GB_FIXTURES=DIR; `make
 * test` does both). Missing fixtures fail the parity tests.
 *
 * Tolerances (relative unless marked; "observed" is the largest error seen on x86-64 glibc):
 *   exact        identical sets, permutations of SW1 and the median (same sorted doubles) and
 *                the 1-D step-function cases (dyadic values)
 *   TOL_ROUND    1e-12  closed forms evaluated in double vs the library in double: both round
 *                       sums of at most a few hundred terms; observed 8e-16
 *   TOL_FLOATDIR 5e-7   closed forms with exact trigonometry vs float32 directions: each
 *                       direction component carries a float rounding of up to 6e-8 relative;
 *                       observed 1.1e-8
 *   TOL_PEER     1e-9   scipy/numpy vs the library, both in double and both exact algorithms:
 *                       they differ only in summation order (numpy's pairwise sums) and libm
 *                       rounding; observed 1.7e-15 (W1) and 5.9e-14 (MMD^2). 1e-9 keeps a wide
 *                       margin for other libm/numpy builds, while float accumulation (~1e-7)
 *                       or any algorithmic slip (swapped CDF weights, diagonal terms kept,
 *                       median of an even count) fails it (each tried by mutation)
 */
#include <criterion/criterion.h>

#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "metrics/sample_distance.h"

#define TOL_ROUND 1e-12
#define TOL_FLOATDIR 5e-7
#define TOL_PEER 1e-9
#define TEST_SEED 0x5eed446ULL

static void expect_rel(double got, double want, double tol, const char *what) {
    double scale = fabs(want) > 1e-300 ? fabs(want) : 1.0;
    cr_expect(fabs(got - want) <= tol * scale,
              "%s: got %.17g, want %.17g (relative error %.3g > %.3g; seed %#llx)", what, got,
              want, fabs(got - want) / scale, tol, (unsigned long long)TEST_SEED);
}

/* splitmix64: a small, fixed generator for test data (printed seed TEST_SEED). */
static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Dyadic coordinates k/64, |k| <= 256: exact in float, so a shifted copy is exact too. */
static float *random_points(uint64_t *s, size_t n, size_t dim) {
    float *x = malloc(n * dim * sizeof *x);
    cr_assert_not_null(x);
    for (size_t i = 0; i < n * dim; i++) x[i] = (float)((int)(rng_next(s) % 513) - 256) / 64.0f;
    return x;
}

/* Fisher-Yates on whole rows. */
static void shuffle_rows(uint64_t *s, float *x, size_t n, size_t dim) {
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(rng_next(s) % (i + 1));
        for (size_t c = 0; c < dim; c++) {
            float t = x[i * dim + c];
            x[i * dim + c] = x[j * dim + c];
            x[j * dim + c] = t;
        }
    }
}

Test(sample_distance, directions_are_unit_and_evenly_spaced) {
    static const size_t counts[] = {1, 2, 3, 4, 7, 64};
    for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
        size_t n = counts[t];
        float dirs[128];
        gb_sliced_directions_2d(dirs, n);
        for (size_t k = 0; k < n; k++) {
            double x = dirs[2 * k], y = dirs[2 * k + 1];
            cr_expect(fabs(x * x + y * y - 1.0) < 2e-7, "n=%zu k=%zu: |d|^2 = %.9g", n, k,
                      x * x + y * y);
            double want = M_PI * (double)k / (double)n;
            cr_expect(fabs(atan2(y, x) - want) < 2e-7, "n=%zu k=%zu: angle %.9g, want %.9g", n,
                      k, atan2(y, x), want);
        }
    }
}

Test(sample_distance, identical_sets_give_exactly_zero) {
    uint64_t s = TEST_SEED;
    size_t n = 123, dim = 2;
    float *a = random_points(&s, n, dim);
    float *b = malloc(n * dim * sizeof *b);
    memcpy(b, a, n * dim * sizeof *b);
    float dirs[2 * 16];
    gb_sliced_directions_2d(dirs, 16);
    double v = -1.0;
    cr_assert_eq(gb_sliced_w1(&v, a, n, b, n, dim, dirs, 16), GB_OK, "%s", gb_last_error());
    cr_expect_eq(v, 0.0, "SW1 of identical sets = %.17g", v);
    cr_assert_eq(gb_mmd2_rbf(&v, a, n, b, n, dim, 0.7, GB_MMD_BIASED), GB_OK, "%s",
                 gb_last_error());
    cr_expect_eq(v, 0.0, "biased MMD^2 of identical sets = %.17g", v);
    /* The same set in another order: sorting makes SW1 exact; the V-statistic stays >= 0. */
    shuffle_rows(&s, b, n, dim);
    cr_assert_eq(gb_sliced_w1(&v, a, n, b, n, dim, dirs, 16), GB_OK, "%s", gb_last_error());
    cr_expect_eq(v, 0.0, "SW1 of a set and its permutation = %.17g", v);
    cr_assert_eq(gb_mmd2_rbf(&v, a, n, b, n, dim, 0.7, GB_MMD_BIASED), GB_OK, "%s",
                 gb_last_error());
    cr_expect(v >= 0.0 && v < 1e-14, "biased MMD^2 of a permuted copy = %.17g", v);
    free(a);
    free(b);
}

/* SW1 of a set and its copy shifted by s: every projection shifts by s . d_k, and the 1-D W1 of a
 * translated distribution is the translation, so SW1 = mean_k |s . d_k|. */
static double shifted_sw1(const float *s_vec, const float *dirs, size_t n_dirs) {
    uint64_t rs = TEST_SEED;
    size_t n = 211, dim = 2;
    float *a = random_points(&rs, n, dim);
    float *b = malloc(n * dim * sizeof *b);
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < dim; c++) b[i * dim + c] = a[i * dim + c] + s_vec[c];
    double v = -1.0;
    cr_assert_eq(gb_sliced_w1(&v, a, n, b, n, dim, dirs, n_dirs), GB_OK, "%s", gb_last_error());
    free(a);
    free(b);
    return v;
}

Test(sample_distance, shift_gives_mean_projected_shift) {
    static const float shifts[][2] = {{0.75f, -1.25f}, {2.0f, 0.0f}, {-0.5f, 3.0f}};
    static const size_t counts[] = {1, 4, 7, 64};
    for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
        size_t n = counts[t];
        float dirs[128];
        gb_sliced_directions_2d(dirs, n);
        for (size_t q = 0; q < sizeof shifts / sizeof shifts[0]; q++) {
            const float *sv = shifts[q];
            double with_float_dirs = 0.0, with_exact_trig = 0.0;
            for (size_t k = 0; k < n; k++) {
                double th = M_PI * (double)k / (double)n;
                with_float_dirs += fabs((double)sv[0] * dirs[2 * k] + (double)sv[1] * dirs[2 * k + 1]);
                with_exact_trig += fabs(sv[0] * cos(th) + sv[1] * sin(th));
            }
            double got = shifted_sw1(sv, dirs, n);
            char what[96];
            snprintf(what, sizeof what, "n=%zu shift (%g,%g) vs float dirs", n, sv[0], sv[1]);
            expect_rel(got, with_float_dirs / (double)n, TOL_ROUND, what);
            snprintf(what, sizeof what, "n=%zu shift (%g,%g) vs exact trig", n, sv[0], sv[1]);
            expect_rel(got, with_exact_trig / (double)n, TOL_FLOATDIR, what);
        }
        /* Axis-aligned shift: (1/n) sum_k |cos(pi k/n)| = cot(pi/2n)/n (n even), csc(pi/2n)/n
         * (n odd), a closed form independent of the summation above. */
        const float sx[2] = {2.0f, 0.0f};
        double x = M_PI / (2.0 * (double)n);
        double closed = 2.0 * (n % 2 ? 1.0 / sin(x) : cos(x) / sin(x)) / (double)n;
        char what[64];
        snprintf(what, sizeof what, "n=%zu axis shift closed form", n);
        expect_rel(shifted_sw1(sx, dirs, n), closed, TOL_FLOATDIR, what);
    }
}

Test(sample_distance, unequal_sizes_in_1d) {
    const float dir[1] = {1.0f};
    const float a[1] = {0.0f}, b2[2] = {0.0f, 1.0f}, b4[4] = {0.0f, 1.0f, 2.0f, 3.0f};
    double v = -1.0;
    /* F_a = 1 from 0; F_b = 1/2 on [0,1): the gap is 1/2 wide for a length of 1. */
    cr_assert_eq(gb_sliced_w1(&v, a, 1, b2, 2, 1, dir, 1), GB_OK, "%s", gb_last_error());
    cr_expect_eq(v, 0.5, "W1({0},{0,1}) = %.17g, want 0.5", v);
    cr_assert_eq(gb_sliced_w1(&v, b2, 2, a, 1, 1, dir, 1), GB_OK, "%s", gb_last_error());
    cr_expect_eq(v, 0.5, "W1({0,1},{0}) = %.17g, want 0.5", v);
    /* b dominates a, so W1 = mean(b) - mean(a) = 1.5. */
    cr_assert_eq(gb_sliced_w1(&v, a, 1, b4, 4, 1, dir, 1), GB_OK, "%s", gb_last_error());
    cr_expect_eq(v, 1.5, "W1({0},{0,1,2,3}) = %.17g, want 1.5", v);
    /* Interleaved with ties: a = {0,2}, b = {0,1,2}: |F_a - F_b| = |1/2 - 2/3| on [1,2). */
    const float a2[2] = {0.0f, 2.0f}, b3[3] = {0.0f, 1.0f, 2.0f};
    cr_assert_eq(gb_sliced_w1(&v, a2, 2, b3, 3, 1, dir, 1), GB_OK, "%s", gb_last_error());
    expect_rel(v, 1.0 / 6.0 + 1.0 / 6.0, TOL_ROUND, "W1({0,2},{0,1,2})");
}

Test(sample_distance, single_points_biased_mmd) {
    const float x[2] = {1.0f, 2.0f}, y[2] = {4.0f, 6.0f};
    const double h = 5.0;
    double v = -1.0;
    cr_assert_eq(gb_mmd2_rbf(&v, x, 1, y, 1, 2, h, GB_MMD_BIASED), GB_OK, "%s", gb_last_error());
    expect_rel(v, 2.0 - 2.0 * exp(-25.0 / (2.0 * h * h)), TOL_ROUND, "MMD^2 of two points");
    /* The U-statistic needs two points per set. */
    cr_expect_eq(gb_mmd2_rbf(&v, x, 1, y, 1, 2, h, GB_MMD_UNBIASED), GB_INPUT);
}

/* a = {(0,0),(1,0)}, b = {(0,0),(0,2)}, h = 1, so k = exp(-d^2/2):
 *   within a: d^2 = 1 -> e^-1/2; within b: d^2 = 4 -> e^-2;
 *   across: d^2 = 0, 4, 1, 5 -> 1 + e^-2 + e^-1/2 + e^-5/2.
 * U = e^-1/2 + e^-2 - (1 + e^-2 + e^-1/2 + e^-5/2)/2 = (e^-1/2 + e^-2 - 1 - e^-5/2)/2 (< 0)
 * V = (2 + 2e^-1/2)/4 + (2 + 2e^-2)/4 - (1 + e^-2 + e^-1/2 + e^-5/2)/2 = (1 - e^-5/2)/2. */
Test(sample_distance, two_point_sets_by_hand) {
    const float a[4] = {0.0f, 0.0f, 1.0f, 0.0f}, b[4] = {0.0f, 0.0f, 0.0f, 2.0f};
    double v = 0.0;
    cr_assert_eq(gb_mmd2_rbf(&v, a, 2, b, 2, 2, 1.0, GB_MMD_UNBIASED), GB_OK, "%s",
                 gb_last_error());
    double u = (exp(-0.5) + exp(-2.0) - 1.0 - exp(-2.5)) / 2.0;
    expect_rel(v, u, TOL_ROUND, "unbiased MMD^2 of 2-point sets");
    cr_expect(v < 0.0, "the U-statistic here is negative and must not be clamped: %.17g", v);
    cr_assert_eq(gb_mmd2_rbf(&v, a, 2, b, 2, 2, 1.0, GB_MMD_BIASED), GB_OK, "%s",
                 gb_last_error());
    expect_rel(v, (1.0 - exp(-2.5)) / 2.0, TOL_ROUND, "biased MMD^2 of 2-point sets");
}

Test(sample_distance, permutation_invariance) {
    uint64_t s = TEST_SEED + 1;
    size_t na = 200, nb = 317, dim = 2;
    float *a = random_points(&s, na, dim), *b = random_points(&s, nb, dim);
    for (size_t i = 0; i < nb * dim; i++) b[i] = b[i] * 1.5f + 0.25f;
    float dirs[2 * 9];
    gb_sliced_directions_2d(dirs, 9);
    double sw0, sw1, mb0, mb1, mu0, mu1;
    cr_assert_eq(gb_sliced_w1(&sw0, a, na, b, nb, dim, dirs, 9), GB_OK);
    cr_assert_eq(gb_mmd2_rbf(&mb0, a, na, b, nb, dim, 0.8, GB_MMD_BIASED), GB_OK);
    cr_assert_eq(gb_mmd2_rbf(&mu0, a, na, b, nb, dim, 0.8, GB_MMD_UNBIASED), GB_OK);
    double med0 = gb_median_pairwise_distance(a, na, b, nb, dim, 1000);
    shuffle_rows(&s, a, na, dim);
    shuffle_rows(&s, b, nb, dim);
    cr_assert_eq(gb_sliced_w1(&sw1, a, na, b, nb, dim, dirs, 9), GB_OK);
    cr_assert_eq(gb_mmd2_rbf(&mb1, a, na, b, nb, dim, 0.8, GB_MMD_BIASED), GB_OK);
    cr_assert_eq(gb_mmd2_rbf(&mu1, a, na, b, nb, dim, 0.8, GB_MMD_UNBIASED), GB_OK);
    double med1 = gb_median_pairwise_distance(a, na, b, nb, dim, 1000);
    cr_expect(sw0 > 0.1 && mb0 > 1e-3, "the sets should differ: SW1 %g, MMD^2 %g", sw0, mb0);
    cr_expect_eq(sw0, sw1, "SW1 changed under permutation: %.17g vs %.17g", sw0, sw1);
    cr_expect_eq(med0, med1, "median changed under permutation: %.17g vs %.17g", med0, med1);
    expect_rel(mb1, mb0, TOL_ROUND, "biased MMD^2 under permutation");
    expect_rel(mu1, mu0, TOL_ROUND, "unbiased MMD^2 under permutation");
    /* Swapping the roles of a and b changes nothing either. */
    cr_assert_eq(gb_sliced_w1(&sw1, b, nb, a, na, dim, dirs, 9), GB_OK);
    expect_rel(sw1, sw0, TOL_ROUND, "SW1(b,a) vs SW1(a,b)");
    free(a);
    free(b);
}

Test(sample_distance, median_of_known_distances) {
    /* Pooled {0, 1} from a and {3} from b (1-D): pairs 1, 3, 2 -> median 2. With max_points 1:
     * {0} and {3} -> 3. Four collinear points 0,1,3,7: pairs 1,3,7,2,6,4 -> (3+4)/2. */
    const float a[2] = {0.0f, 1.0f}, b[2] = {3.0f, 7.0f};
    cr_expect_eq(gb_median_pairwise_distance(a, 2, b, 1, 1, 10), 2.0);
    cr_expect_eq(gb_median_pairwise_distance(a, 2, b, 2, 1, 1), 3.0);
    cr_expect_eq(gb_median_pairwise_distance(a, 2, b, 2, 1, 2), 3.5);
    double v = gb_median_pairwise_distance(a, 1, b, 0, 1, 10);
    cr_expect(isnan(v), "one pooled point must give NaN, got %g", v);
    cr_expect(strstr(gb_last_error(), "need at least 2") != NULL, "message: %s", gb_last_error());
}

Test(sample_distance, non_finite_input_is_rejected_with_set_and_index) {
    uint64_t s = TEST_SEED;
    float *a = random_points(&s, 8, 2), *b = random_points(&s, 9, 2);
    float dirs[2 * 4];
    gb_sliced_directions_2d(dirs, 4);
    double v = 12345.0;
    b[5 * 2 + 1] = NAN;
    cr_expect_eq(gb_sliced_w1(&v, a, 8, b, 9, 2, dirs, 4), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "set b, point 5, coordinate 1") != NULL, "message: %s",
              gb_last_error());
    cr_expect_eq(gb_mmd2_rbf(&v, a, 8, b, 9, 2, 1.0, GB_MMD_BIASED), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "set b, point 5, coordinate 1") != NULL, "message: %s",
              gb_last_error());
    b[5 * 2 + 1] = 0.0f;
    a[3 * 2] = INFINITY;
    cr_expect_eq(gb_mmd2_rbf(&v, a, 8, b, 9, 2, 1.0, GB_MMD_UNBIASED), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "set a, point 3, coordinate 0 is inf") != NULL,
              "message: %s", gb_last_error());
    cr_expect(isnan(gb_median_pairwise_distance(a, 8, b, 9, 2, 100)));
    cr_expect(strstr(gb_last_error(), "set a, point 3, coordinate 0") != NULL, "message: %s",
              gb_last_error());
    /* Outside the first max_points points the bad value is not used, so it is not an error. */
    cr_expect(isfinite(gb_median_pairwise_distance(a, 8, b, 9, 2, 3)));
    cr_expect_eq(v, 12345.0, "out must be untouched on failure");
    free(a);
    free(b);
}

Test(sample_distance, empty_sets_and_bad_parameters) {
    const float a[4] = {0.0f, 0.0f, 1.0f, 1.0f};
    float dirs[2];
    gb_sliced_directions_2d(dirs, 1);
    double v;
    cr_expect_eq(gb_sliced_w1(&v, a, 2, a, 0, 2, dirs, 1), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "set b has 0 point") != NULL, "message: %s",
              gb_last_error());
    cr_expect_eq(gb_sliced_w1(&v, a, 0, a, 2, 2, dirs, 1), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "set a has 0 point") != NULL, "message: %s",
              gb_last_error());
    cr_expect_eq(gb_sliced_w1(&v, a, 2, a, 2, 2, dirs, 0), GB_USAGE);
    cr_expect_eq(gb_mmd2_rbf(&v, a, 0, a, 2, 2, 1.0, GB_MMD_BIASED), GB_INPUT);
    cr_expect_eq(gb_mmd2_rbf(&v, a, 2, a, 2, 2, 0.0, GB_MMD_BIASED), GB_USAGE);
    cr_expect_eq(gb_mmd2_rbf(&v, a, 2, a, 2, 2, NAN, GB_MMD_BIASED), GB_USAGE);
    cr_expect_eq(gb_mmd2_rbf(&v, a, 2, a, 2, 2, -1.0, GB_MMD_UNBIASED), GB_USAGE);
}

/* A direction that is not a unit vector would scale its term: a programmer error, asserted. */
Test(sample_distance, non_unit_direction_aborts, .signal = SIGABRT) {
    const float a[2] = {0.0f, 1.0f}, b[2] = {0.5f, 2.0f}, dir[2] = {2.0f, 0.0f};
    double v;
    gb_sliced_w1(&v, a, 1, b, 1, 2, dir, 1);
}

/* ---- parity with scipy / numpy (fixtures from tests/peers/sample_distance_ref.py) ---------- */

static const char *fixture_dir(void) {
    const char *d = getenv("GB_FIXTURES");
    cr_assert(d != NULL && *d,
              "GB_FIXTURES is not set: run `/usr/bin/python3 tests/peers/sample_distance_ref.py "
              "DIR` and set GB_FIXTURES=DIR (make test does both)");
    return d;
}

static void fixture_path(char *buf, size_t cap, const char *name) {
    int w = snprintf(buf, cap, "%s/sample_distance/%s", fixture_dir(), name);
    cr_assert(w > 0 && (size_t)w < cap, "fixture path too long");
}

/* Reads a raw little-endian float32 file of exactly `count` values (x86-64 is little-endian). */
static float *read_f32(const char *name, size_t count) {
    char path[4096];
    fixture_path(path, sizeof path, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "missing fixture %s: run /usr/bin/python3 "
                          "tests/peers/sample_distance_ref.py $GB_FIXTURES first", path);
    float *x = malloc(count * sizeof *x + 1);
    cr_assert_not_null(x);
    size_t got = fread(x, sizeof *x, count, f);
    int extra = fgetc(f);
    fclose(f);
    cr_assert(got == count && extra == EOF, "%s: expected exactly %zu float32 values (%zu bytes)",
              path, count, count * sizeof *x);
    return x;
}

/* Looks `key` up in reference.txt ("key value" per line). */
static double ref_value(const char *key) {
    char path[4096], line[256], k[128];
    fixture_path(path, sizeof path, "reference.txt");
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "missing fixture %s: run /usr/bin/python3 "
                          "tests/peers/sample_distance_ref.py $GB_FIXTURES first", path);
    double v = NAN;
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        char *end;
        if (sscanf(line, "%127s", k) != 1 || strcmp(k, key) != 0) continue;
        v = strtod(line + strlen(k), &end);
        found = end != line + strlen(k);
    }
    fclose(f);
    cr_assert(found, "%s: no value for key '%s' (regenerate the fixtures)", path, key);
    return v;
}

typedef struct {
    float *a, *b; /* [na,2], [nb,2] */
    size_t na, nb;
} fixture_sets;

static fixture_sets load_case(const char *name) {
    char key[64], file[64];
    fixture_sets fs;
    snprintf(key, sizeof key, "%s_na", name);
    fs.na = (size_t)ref_value(key);
    snprintf(key, sizeof key, "%s_nb", name);
    fs.nb = (size_t)ref_value(key);
    snprintf(file, sizeof file, "%s_a.f32", name);
    fs.a = read_f32(file, fs.na * 2);
    snprintf(file, sizeof file, "%s_b.f32", name);
    fs.b = read_f32(file, fs.nb * 2);
    return fs;
}

static const char *const parity_cases[] = {"gmm", "ties"};
static const size_t parity_dir_counts[] = {7, 64};

Test(sample_distance_parity, directions_match_numpy) {
    for (size_t t = 0; t < 2; t++) {
        size_t n = parity_dir_counts[t];
        char file[32];
        snprintf(file, sizeof file, "dirs_%zu.f32", n);
        float *want = read_f32(file, 2 * n);
        float got[128];
        gb_sliced_directions_2d(got, n);
        /* Both round the same double angle's cos/sin to float; allow one float ulp for libm. */
        for (size_t i = 0; i < 2 * n; i++)
            cr_expect(fabsf(got[i] - want[i]) <= 6e-8f * fmaxf(1.0f, fabsf(want[i])),
                      "n=%zu component %zu: %.9g vs numpy %.9g", n, i, got[i], want[i]);
        free(want);
    }
}

Test(sample_distance_parity, sliced_w1_matches_scipy) {
    for (size_t c = 0; c < 2; c++) {
        fixture_sets fs = load_case(parity_cases[c]);
        for (size_t t = 0; t < 2; t++) {
            size_t n = parity_dir_counts[t];
            char file[32], key[96];
            snprintf(file, sizeof file, "dirs_%zu.f32", n);
            /* numpy's directions, so this compares the distance alone. */
            float *dirs = read_f32(file, 2 * n);
            double v;
            for (size_t k = 0; k < n; k++) {
                cr_assert_eq(gb_sliced_w1(&v, fs.a, fs.na, fs.b, fs.nb, 2, dirs + 2 * k, 1), GB_OK,
                             "%s", gb_last_error());
                snprintf(key, sizeof key, "%s_w1_%zu_%zu", parity_cases[c], n, k);
                expect_rel(v, ref_value(key), TOL_PEER, key);
            }
            cr_assert_eq(gb_sliced_w1(&v, fs.a, fs.na, fs.b, fs.nb, 2, dirs, n), GB_OK, "%s",
                         gb_last_error());
            snprintf(key, sizeof key, "%s_sw1_%zu", parity_cases[c], n);
            expect_rel(v, ref_value(key), TOL_PEER, key);
            free(dirs);
        }
        free(fs.a);
        free(fs.b);
    }
}

Test(sample_distance_parity, mmd2_matches_numpy) {
    for (size_t c = 0; c < 2; c++) {
        const char *name = parity_cases[c];
        fixture_sets fs = load_case(name);
        char key[96];
        snprintf(key, sizeof key, "%s_median_100000", name);
        const double bandwidths[2] = {ref_value(key), ref_value("fixed_bandwidth")};
        const char *tags[2] = {"median", "fixed"};
        for (size_t t = 0; t < 2; t++) {
            double v;
            cr_assert_eq(gb_mmd2_rbf(&v, fs.a, fs.na, fs.b, fs.nb, 2, bandwidths[t],
                                     GB_MMD_BIASED), GB_OK, "%s", gb_last_error());
            snprintf(key, sizeof key, "%s_mmd2_biased_%s", name, tags[t]);
            expect_rel(v, ref_value(key), TOL_PEER, key);
            cr_assert_eq(gb_mmd2_rbf(&v, fs.a, fs.na, fs.b, fs.nb, 2, bandwidths[t],
                                     GB_MMD_UNBIASED), GB_OK, "%s", gb_last_error());
            snprintf(key, sizeof key, "%s_mmd2_unbiased_%s", name, tags[t]);
            expect_rel(v, ref_value(key), TOL_PEER, key);
        }
        free(fs.a);
        free(fs.b);
    }
}

Test(sample_distance_parity, median_heuristic_matches_numpy) {
    static const size_t max_points[] = {151, 200, 100000};
    for (size_t c = 0; c < 2; c++) {
        fixture_sets fs = load_case(parity_cases[c]);
        for (size_t t = 0; t < 3; t++) {
            char key[96];
            snprintf(key, sizeof key, "%s_median_%zu", parity_cases[c], max_points[t]);
            double v = gb_median_pairwise_distance(fs.a, fs.na, fs.b, fs.nb, 2, max_points[t]);
            cr_assert(isfinite(v), "%s: %s", key, gb_last_error());
            expect_rel(v, ref_value(key), TOL_PEER, key);
        }
        free(fs.a);
        free(fs.b);
    }
}
