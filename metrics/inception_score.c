/* metrics/inception_score.c - Inception score from logits or probabilities, in the given row
 * order or torch-fidelity's shuffled one (see metrics/inception_score.h; tested by
 * tests/test_fid_stats.c). */
#include "metrics/inception_score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mt19937.h"

/* Row i as log-probabilities (lp) and probabilities (p), float64. */
static gb_status row_distribution(double *lp, double *p, const float *z, size_t c, size_t row, gb_is_input input) {
    if (input == GB_IS_LOGITS) {
        double mx = -INFINITY;
        for (size_t j = 0; j < c; j++) {
            if (!isfinite(z[j]))
                return gb_fail(GB_INPUT, "inception score: logit row %zu, class %zu is %g: logits must be finite", row, j,
                               (double)z[j]);
            if (z[j] > mx) mx = z[j];
        }
        double s = 0.0;
        for (size_t j = 0; j < c; j++) s += exp((double)z[j] - mx);
        double lse = mx + log(s);
        for (size_t j = 0; j < c; j++) {
            lp[j] = (double)z[j] - lse;
            p[j] = exp(lp[j]);
        }
        return GB_OK;
    }
    double s = 0.0;
    for (size_t j = 0; j < c; j++) {
        if (!isfinite(z[j]) || z[j] < 0.0f)
            return gb_fail(GB_INPUT, "inception score: probability row %zu, class %zu is %g: must be finite and >= 0",
                           row, j, (double)z[j]);
        s += z[j];
    }
    if (!(fabs(s - 1.0) <= 1e-3))
        return gb_fail(GB_INPUT, "inception score: probability row %zu sums to %.6g, not 1 (pass logits instead?)", row,
                       s);
    for (size_t j = 0; j < c; j++) {
        p[j] = z[j] / s;
        lp[j] = p[j] > 0.0 ? log(p[j]) : -INFINITY;
    }
    return GB_OK;
}

/* Row i of the splits is row order[i] of x (order NULL: row i). split_size 0: `splits` splits,
 * split s rows [s n / splits, (s + 1) n / splits); else ceil(n / split_size) splits of
 * split_size consecutive rows, the last holding the rest. */
static gb_status score_rows(double *mean, double *std, const float *x, const size_t *order, size_t n, size_t classes,
                            size_t splits, size_t split_size, gb_is_input input) {
    if (split_size) {
        if (n == 0) return gb_fail(GB_USAGE, "inception score of no rows");
        splits = n / split_size + (n % split_size != 0); /* ceil, without overflow */
    }
    if (splits == 0 || splits > n)
        return gb_fail(GB_USAGE, "inception score: %zu splits for %zu rows (need 1 <= splits <= rows)", splits, n);
    if (classes < 2) return gb_fail(GB_INPUT, "inception score needs at least 2 classes (got %zu)", classes);
    double *lp = malloc(classes * sizeof *lp), *p = malloc(classes * sizeof *p), *py = malloc(classes * sizeof *py),
           *lpy = malloc(classes * sizeof *lpy), *scores = malloc(splits * sizeof *scores);
    gb_status st = GB_OK;
    if (!lp || !p || !py || !lpy || !scores) st = gb_fail(GB_ENV, "out of memory for the inception score");
    for (size_t s = 0; st == GB_OK && s < splits; s++) {
        size_t lo, hi;
        if (split_size) {
            lo = s * split_size;
            hi = n - lo > split_size ? lo + split_size : n;
        } else {
            lo = s * n / splits;
            hi = (s + 1) * n / splits;
        }
        const size_t m = hi - lo;
        /* Pass 1: p(y) over the split. Pass 2: mean KL (rows recomputed: no n x classes buffer). */
        memset(py, 0, classes * sizeof *py);
        for (size_t i = lo; st == GB_OK && i < hi; i++) {
            size_t row = order ? order[i] : i;
            st = row_distribution(lp, p, x + row * classes, classes, row, input);
            for (size_t j = 0; st == GB_OK && j < classes; j++) py[j] += p[j];
        }
        if (st != GB_OK) break;
        for (size_t j = 0; j < classes; j++) {
            py[j] /= (double)m;
            lpy[j] = py[j] > 0.0 ? log(py[j]) : -INFINITY;
        }
        double kl_sum = 0.0;
        for (size_t i = lo; i < hi; i++) {
            size_t row = order ? order[i] : i;
            row_distribution(lp, p, x + row * classes, classes, row, input);
            double kl = 0.0;
            for (size_t j = 0; j < classes; j++)
                if (p[j] > 0.0) kl += p[j] * (lp[j] - lpy[j]);
            kl_sum += kl;
        }
        scores[s] = exp(kl_sum / (double)m);
    }
    if (st == GB_OK) {
        double mu = 0.0, var = 0.0;
        for (size_t s = 0; s < splits; s++) mu += scores[s];
        mu /= (double)splits;
        for (size_t s = 0; s < splits; s++) var += (scores[s] - mu) * (scores[s] - mu);
        *mean = mu;
        *std = sqrt(var / (double)splits);
    }
    free(lp), free(p), free(py), free(lpy), free(scores);
    return st;
}

gb_status gb_inception_score(double *mean, double *std, const float *x, size_t n, size_t classes, size_t splits,
                             gb_is_input input) {
    return score_rows(mean, std, x, NULL, n, classes, splits, 0, input);
}

gb_status gb_inception_score_split_size(double *mean, double *std, const float *x, size_t n, size_t classes,
                                        size_t split_size, gb_is_input input) {
    if (split_size == 0) return gb_fail(GB_USAGE, "inception score: a split size of 0 rows");
    return score_rows(mean, std, x, NULL, n, classes, 0, split_size, input);
}

gb_status gb_inception_score_shuffled(double *mean, double *std, const float *x, size_t n, size_t classes,
                                      size_t splits, gb_is_input input, uint32_t seed) {
    size_t *perm = malloc((n ? n : 1) * sizeof *perm);
    if (!perm) return gb_fail(GB_ENV, "out of memory for the inception score's row order");
    gb_numpy_permutation(perm, n, seed);
    gb_status s = score_rows(mean, std, x, perm, n, classes, splits, 0, input);
    free(perm);
    return s;
}
