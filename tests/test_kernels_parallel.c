/* tests/test_kernels_parallel.c - gb_parallel_for (kernels/cpu/parallel.c).
 *
 * Checks against closed forms: every index of [0, n) is visited exactly once, each slice
 * covers exactly the range gb_parallel_slice_range names (so a kernel's split is fixed by
 * n and the thread count), a call from inside a slice runs inline without deadlock, and
 * thousands of back-to-back calls (the pattern of a training step) all complete.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "kernels/cpu/parallel.h"

typedef struct {
    atomic_int *visits;
    size_t *slice_begin, *slice_end;
} visit_ctx;

static void visit(void *p, size_t begin, size_t end, int slice) {
    visit_ctx *c = p;
    c->slice_begin[slice] = begin;
    c->slice_end[slice] = end;
    for (size_t i = begin; i < end; i++) atomic_fetch_add(&c->visits[i], 1);
}

static gb_device device_with_threads(int threads) {
    gb_device dev = {0};
    dev.threads = threads;
    return dev;
}

Test(parallel, every_index_once_in_fixed_slices) {
    static const size_t sizes[] = {1, 2, 3, 7, 64, 1000, 4097};
    static const int threads[] = {1, 2, 3, 8};
    for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++)
        for (size_t b = 0; b < sizeof threads / sizeof threads[0]; b++) {
            size_t n = sizes[a];
            gb_device dev = device_with_threads(threads[b]);
            atomic_int *visits = calloc(n, sizeof *visits);
            size_t sb[8], se[8];
            visit_ctx c = {visits, sb, se};
            int slices = gb_parallel_slices(&dev, n, 1);
            cr_assert_eq(slices, (size_t)threads[b] < n ? threads[b] : (int)n, "n %zu threads %d", n, threads[b]);
            gb_parallel_for(&dev, n, 1, visit, &c);
            for (size_t i = 0; i < n; i++)
                cr_assert_eq(atomic_load(&visits[i]), 1, "n %zu threads %d: index %zu visited %d times", n,
                             threads[b], i, atomic_load(&visits[i]));
            size_t expect_begin = 0;
            for (int t = 0; t < slices; t++) {
                size_t lo, hi;
                gb_parallel_slice_range(n, slices, t, &lo, &hi);
                cr_assert_eq(sb[t], lo, "slice %d begin", t);
                cr_assert_eq(se[t], hi, "slice %d end", t);
                cr_assert_eq(lo, expect_begin, "slices must be contiguous");
                size_t len = hi - lo, even = n / (size_t)slices;
                cr_assert(len == even || len == even + 1, "slice %d has %zu of %zu", t, len, n);
                expect_begin = hi;
            }
            cr_assert_eq(expect_begin, n);
            free(visits);
        }
}

Test(parallel, grain_limits_the_slices) {
    gb_device dev = device_with_threads(4);
    cr_assert_eq(gb_parallel_slices(&dev, 100, 1000), 1);
    cr_assert_eq(gb_parallel_slices(&dev, 2500, 1000), 3);
    cr_assert_eq(gb_parallel_slices(&dev, 1 << 20, 1000), 4);
    cr_assert_eq(gb_parallel_slices(NULL, 1 << 20, 1), 1);
}

typedef struct {
    const gb_device *dev;
    atomic_long total;
} nested_ctx;

static void inner(void *p, size_t begin, size_t end, int slice) {
    (void)slice;
    nested_ctx *c = p;
    for (size_t i = begin; i < end; i++) atomic_fetch_add(&c->total, (long)i);
}

static void outer(void *p, size_t begin, size_t end, int slice) {
    (void)slice;
    nested_ctx *c = p;
    for (size_t i = begin; i < end; i++) gb_parallel_for(c->dev, 100, 1, inner, c);
}

Test(parallel, nested_calls_run_inline) {
    gb_device dev = device_with_threads(2);
    nested_ctx c = {&dev, 0};
    gb_parallel_for(&dev, 10, 1, outer, &c);
    cr_assert_eq(atomic_load(&c.total), 10L * (99L * 100L / 2));
}

Test(parallel, many_back_to_back_calls) {
    gb_device dev = device_with_threads(3);
    nested_ctx c = {&dev, 0};
    for (int k = 0; k < 20000; k++) gb_parallel_for(&dev, 7 + (size_t)(k % 5), 1, inner, &c);
    long expect = 0;
    for (int k = 0; k < 20000; k++) {
        long n = 7 + k % 5;
        expect += n * (n - 1) / 2;
    }
    cr_assert_eq(atomic_load(&c.total), expect);
}
