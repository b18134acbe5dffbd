/* tests/test_mt19937.c - core/mt19937.h against the MT19937 reference implementation's
 * published outputs and numpy's own RandomState (permutations and bounded integers written by
 * tests/peers/fid_stats.py). Every comparison is exact: the stream is integer arithmetic. */
#include <criterion/criterion.h>

#include "core/mt19937.h"
#include "tests/fid_fixture.h"

/* A 1-D int64 .npy fixture (malloc'd). */
static int64_t *int64_fixture(const char *name, size_t *n) {
    char path[1024];
    gb_npy_array a;
    cr_assert_eq(gb_npy_load(&a, fid_fixture(path, sizeof path, name)), GB_OK, "%s: %s", path, gb_last_error());
    cr_assert(a.ndim == 1 && a.dtype == GB_NPY_I64, "%s: expected a 1-D int64 array", path);
    int64_t *v = malloc(a.count * sizeof *v);
    cr_assert_not_null(v);
    memcpy(v, a.data, a.count * sizeof *v);
    *n = a.count;
    gb_npy_free(&a);
    return v;
}

/* mt19937ar.c's init_genrand(5489) (the generator's default seed) starts 3499211612,
 * 581869302, 3890346734, 3586334585, 545404204; its 10000th word is 4123659995 (the figure
 * the C++ standard gives for std::mt19937). */
Test(mt19937, reference_outputs) {
    gb_mt19937 g;
    gb_mt19937_seed(&g, 5489);
    const uint32_t first[] = {3499211612u, 581869302u, 3890346734u, 3586334585u, 545404204u};
    for (int i = 0; i < 5; i++) cr_expect_eq(gb_mt19937_next(&g), first[i], "word %d", i);
    gb_mt19937_seed(&g, 5489);
    uint32_t w = 0;
    for (int i = 0; i < 10000; i++) w = gb_mt19937_next(&g);
    cr_expect_eq(w, 4123659995u);
}

Test(mt19937, permutations_match_numpy) {
    const struct {
        uint32_t seed;
        size_t n;
    } cases[] = {{0, 1}, {0, 2}, {7, 3}, {2020, 1000}, {2020, 50000}, {4294967295u, 17}, {12345, 65537}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char name[64];
        snprintf(name, sizeof name, "perm_%u_%zu.npy", cases[c].seed, cases[c].n);
        size_t n;
        int64_t *want = int64_fixture(name, &n);
        cr_assert_eq(n, cases[c].n, "%s", name);
        size_t *got = malloc(n * sizeof *got);
        gb_numpy_permutation(got, n, cases[c].seed);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) bad += (int64_t)got[i] != want[i];
        cr_expect_eq(bad, 0, "%s: %zu of %zu positions differ from numpy", name, bad, n);
        free(got);
        free(want);
    }
}

/* numpy's randint(0, max + 1) draws with the same masked rejection as the shuffle: on 32-bit
 * words for max = 1000, on two words (high first) for max = 2^40 + 4. */
Test(mt19937, bounded_integers_match_numpy) {
    const struct {
        const char *name;
        uint64_t max;
    } cases[] = {{"randint_99_32.npy", 1000}, {"randint_99_40.npy", (1ull << 40) + 4}};
    for (size_t c = 0; c < 2; c++) {
        size_t n;
        int64_t *want = int64_fixture(cases[c].name, &n);
        gb_mt19937 g;
        gb_mt19937_seed(&g, 99);
        for (size_t i = 0; i < n; i++) {
            uint64_t v = gb_mt19937_interval(&g, cases[c].max);
            cr_assert_eq(v, (uint64_t)want[i], "%s: draw %zu is %llu, numpy's %lld", cases[c].name, i,
                         (unsigned long long)v, (long long)want[i]);
        }
        free(want);
    }
    gb_mt19937 g;
    gb_mt19937_seed(&g, 1);
    cr_expect_eq(gb_mt19937_interval(&g, 0), 0);
}
