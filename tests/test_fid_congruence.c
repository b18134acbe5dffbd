/* tests/test_fid_congruence.c - the recursive congruence L^T A L (metrics/congruence.h) against
 * the product formed entry by entry in long double.
 *
 * Orders: 1 and 5 (dsygst alone), GB_CONGRUENCE_LEAF and one past it (the first, uneven split
 * 64 / 65), 300 and 515 (two and three levels of halving, odd halves). Leading dimensions are
 * larger than the order, to catch a stride taken as the order.
 *
 * Tolerance: each entry of L^T A L is a double sum; computed by BLAS-3 calls in any order its
 * error is within about 2 d eps (|L|^T |A| |L|)_ij (two products, d terms each), which the test
 * demands entry by entry (the reference in long double errs ~2^-11 of that). A wrong block,
 * a lost Z/2 or a transposed factor errs by the size of the entries themselves.
 * The contract's other half: the upper triangle of A stays as it was, and L's upper triangle
 * (filled with 1e300) is never read, or the result would be off by ~1e300.
 */
#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "metrics/congruence.h"

#define UPPER_SENTINEL 12345.5
#define L_UPPER_GARBAGE 1e300

static double uniform(unsigned long long *state) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static void check_order(size_t d, unsigned long long seed) {
    size_t lda = d + 3, ldl = d + 1;
    double *a = malloc(lda * d * sizeof *a), *l = malloc(ldl * d * sizeof *l);
    long double *ref = malloc(d * d * sizeof *ref), *bound = malloc(d * d * sizeof *bound);
    double *work = malloc((gb_congruence_work(d) + 1) * sizeof *work);
    cr_assert(a && l && ref && bound && work);
    for (size_t j = 0; j < d; j++)
        for (size_t i = 0; i < lda; i++) a[j * lda + i] = i < j ? UPPER_SENTINEL : uniform(&seed);
    for (size_t j = 0; j < d; j++)
        for (size_t i = 0; i < ldl; i++)
            l[j * ldl + i] = i < j ? L_UPPER_GARBAGE : i == j ? 1.0 + fabs(uniform(&seed)) : uniform(&seed);
    /* The symmetric A and lower L the routine is promised, as functions of the stored triangles. */
#define A_SYM(i, j) ((long double)((i) >= (j) ? a[(j) * lda + (i)] : a[(i) * lda + (j)]))
#define L_LOW(i, j) ((i) >= (j) ? (long double)l[(j) * ldl + (i)] : 0.0L)
    /* A L first (and |A| |L|), then L^T times that: d^3 each. */
    long double *al = malloc(d * d * sizeof *al), *abs_al = malloc(d * d * sizeof *abs_al);
    cr_assert(al && abs_al);
    for (size_t j = 0; j < d; j++)
        for (size_t p = 0; p < d; p++) {
            long double s = 0.0L, b = 0.0L;
            for (size_t q = j; q < d; q++) { /* L(q, j) is zero for q < j */
                s += A_SYM(p, q) * L_LOW(q, j);
                b += fabsl(A_SYM(p, q) * L_LOW(q, j));
            }
            al[j * d + p] = s;
            abs_al[j * d + p] = b;
        }
    for (size_t j = 0; j < d; j++)
        for (size_t i = j; i < d; i++) {
            long double s = 0.0L, b = 0.0L;
            for (size_t p = i; p < d; p++) { /* L^T(i, p) = L(p, i), zero for p < i */
                s += L_LOW(p, i) * al[j * d + p];
                b += fabsl(L_LOW(p, i)) * abs_al[j * d + p];
            }
            ref[j * d + i] = s;
            bound[j * d + i] = b;
        }
    free(al);
    free(abs_al);
    gb_congruence_lower(d, a, lda, l, ldl, work);
    for (size_t j = 0; j < d; j++)
        for (size_t i = 0; i < d; i++) {
            double got = a[j * lda + i];
            if (i < j) {
                cr_assert_eq(got, UPPER_SENTINEL, "d %zu: upper entry (%zu, %zu) was written: %g", d, i, j, got);
                continue;
            }
            long double err = fabsl((long double)got - ref[j * d + i]),
                        tol = 2.0L * (long double)d * DBL_EPSILON * bound[j * d + i];
            cr_assert(err <= tol, "d %zu: entry (%zu, %zu) = %.17g, reference %.17Lg, error %.3Lg > %.3Lg", d, i, j, got,
                      ref[j * d + i], err, tol);
        }
#undef A_SYM
#undef L_LOW
    free(a);
    free(l);
    free(ref);
    free(bound);
    free(work);
}

Test(fid_congruence, leaf_orders) {
    check_order(1, 1);
    check_order(5, 2);
    check_order(GB_CONGRUENCE_LEAF, 3);
}

Test(fid_congruence, recursive_orders_split_unevenly) {
    check_order(GB_CONGRUENCE_LEAF + 1, 4);
    check_order(300, 5);
}

Test(fid_congruence, three_levels) { check_order(515, 6); }

Test(fid_congruence, work_sizes) {
    cr_assert_eq(gb_congruence_work(GB_CONGRUENCE_LEAF), 0);
    /* 129 = 64 + 65: Z is 65 x 64, both halves are leaves. */
    cr_assert_eq(gb_congruence_work(GB_CONGRUENCE_LEAF + 1), 65 * 64);
    for (size_t d = 1; d <= 4096; d = d * 3 + 1) cr_assert_leq(gb_congruence_work(d), d * d / 3 + d, "order %zu", d);
}
