/* metrics/congruence.c - L^T A L by recursive halving over BLAS-3 calls (see congruence.h). */
#include "metrics/congruence.h"

#include <cblas.h>
#include <lapacke.h>

#include "core/status.h"

size_t gb_congruence_work(size_t d) {
    if (d <= GB_CONGRUENCE_LEAF) return 0;
    size_t n1 = d / 2, n2 = d - n1, top = n1 * n2 + gb_congruence_work(n1), rest = gb_congruence_work(n2);
    return top > rest ? top : rest;
}

/* c (n2 x n1, ldc) += w (n2 x n1, packed) / 2. */
static void add_half(size_t n2, size_t n1, double *c, size_t ldc, const double *w) {
    for (size_t j = 0; j < n1; j++)
        for (size_t i = 0; i < n2; i++) c[j * ldc + i] += 0.5 * w[j * n2 + i];
}

void gb_congruence_lower(size_t d, double *a, size_t lda, const double *l, size_t ldl, double *work) {
    if (d == 0) return;
    if (d <= GB_CONGRUENCE_LEAF) {
        /* dsygst only reports argument errors, and these arguments are valid by construction. */
        lapack_int info = LAPACKE_dsygst(LAPACK_COL_MAJOR, 2, 'L', (lapack_int)d, a, (lapack_int)lda, l, (lapack_int)ldl);
        GB_ASSERT(info == 0, "dsygst rejected order %zu (lda %zu, ldl %zu): info %d", d, lda, ldl, (int)info);
        return;
    }
    size_t n1 = d / 2, n2 = d - n1;
    double *a11 = a, *a21 = a + n1, *a22 = a + n1 * lda + n1;
    const double *l11 = l, *l21 = l + n1, *l22 = l + n1 * ldl + n1;
    int m1 = (int)n1, m2 = (int)n2, ia = (int)lda, il = (int)ldl;
    double *z = work; /* Z = A22 L21, n2 x n1 packed; free again once A22 is recursed into */

    /* Everything that reads the original A21 and A22 comes first: Y = A21 L11 in place, Z. */
    cblas_dtrmm(CblasColMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, m2, m1, 1.0, l11, il, a21, ia);
    cblas_dsymm(CblasColMajor, CblasLeft, CblasLower, m2, m1, 1.0, a22, ia, l21, il, 0.0, z, m2);
    add_half(n2, n1, a21, lda, z); /* A21 = Y + Z/2 */
    gb_congruence_lower(n1, a11, lda, l11, ldl, work + n1 * n2);
    cblas_dsyr2k(CblasColMajor, CblasLower, CblasTrans, m1, m2, 1.0, l21, il, a21, ia, 1.0, a11, ia);
    add_half(n2, n1, a21, lda, z); /* A21 = Y + Z */
    cblas_dtrmm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, m2, m1, 1.0, l22, il, a21, ia);
    gb_congruence_lower(n2, a22, lda, l22, ldl, work);
}
