/* metrics/congruence.h - the symmetric congruence L^T A L for the Frechet distance (metrics/fid.h).
 *
 * Given a symmetric A and a lower-triangular L (both d x d, column-major, lower triangles
 * read), overwrites A's lower triangle with that of L^T A L: what LAPACK's dsygst does for
 * itype 2, 'L'. The product costs d^3 flops either way; dsygst spends them in rank-64 block
 * steps with an unblocked 64 x 64 kernel between them, while this splits A and L in halves,
 *
 *   L = [L11 0; L21 L22], A = [A11 A21^T; A21 A22], Y = A21 L11, Z = A22 L21:
 *   (L^T A L)_22 = L22^T A22 L22                        (recursion)
 *   (L^T A L)_21 = L22^T (Y + Z)                        (dtrmm, dsymm, dtrmm)
 *   (L^T A L)_11 = L11^T A11 L11 + L21^T (Y + Z/2) + (Y + Z/2)^T L21   (recursion, dsyr2k;
 *                  the Z/2 split is LAPACK's: L21^T Z = L21^T A22 L21 is symmetric)
 *
 * so nearly all the flops run in d/2-sized BLAS-3 calls, and dsygst itself only on blocks of
 * at most GB_CONGRUENCE_LEAF. At d = 2048 on the 2-core development VM (OpenBLAS 0.3.21, two
 * threads, alternating runs): 0.123-0.130 s against dsygst's 0.169-0.189 s, the same result
 * within 1 ulp of the largest entry (the order of the sums differs).
 *
 * The upper triangle of A is never read or written; L's is never read. work holds
 * gb_congruence_work(d) doubles. Tested by tests/test_fid_congruence.c against the product
 * formed entry by entry in long double, on orders that split unevenly and recurse more than
 * once.
 */
#ifndef GB_METRICS_CONGRUENCE_H
#define GB_METRICS_CONGRUENCE_H

#include <stddef.h>

/* Blocks at or below this order go to dsygst (timed: 64-512 within 5% of each other). */
#define GB_CONGRUENCE_LEAF 128

/* Doubles of scratch gb_congruence_lower needs for order d. */
size_t gb_congruence_work(size_t d);

/* Lower triangle of a (lda) := lower triangle of L^T a L, L lower triangular (ldl). */
void gb_congruence_lower(size_t d, double *a, size_t lda, const double *l, size_t ldl, double *work);

#endif
