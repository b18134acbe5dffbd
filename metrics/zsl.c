/* metrics/zsl.c - zero-shot-learning metrics (definitions, tie rules and references in zsl.h;
 * tested by tests/test_zsl_metrics.c against hand-made cases and numpy transcriptions).
 *
 * Similarities: rows normalised in double, then cblas_dgemm over blocks of QB queries x GB
 * generated rows; the kNN keeps a running top-k per query while the generated blocks pass in
 * index order, so the lower-index-first tie rule holds across blocks.
 */
#include "metrics/zsl.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define QB 256  /* query rows per block */
#define GB 1024 /* generated rows per block */

static gb_status check_finite(const char *fn, const char *what, const float *x, size_t n,
                              size_t dim) {
    for (size_t i = 0; i < n * dim; i++)
        if (!isfinite(x[i]))
            return gb_fail(GB_INPUT, "%s: %s row %zu, column %zu is %g; drop or repair "
                                     "non-finite features before scoring",
                           fn, what, i / dim, i % dim, (double)x[i]);
    return GB_OK;
}

static gb_status check_labels(const char *fn, const char *what, const int32_t *labels, size_t n,
                              int32_t lo, int32_t hi) {
    for (size_t i = 0; i < n; i++)
        if (labels[i] < lo || labels[i] >= hi)
            return gb_fail(GB_INPUT, "%s: %s label %zu is %d, outside [%d, %d)", fn, what, i,
                           (int)labels[i], (int)lo, (int)hi);
    return GB_OK;
}

/* out[r] = x[r] / |x[r]| in double (sklearn.preprocessing.normalize: a zero norm becomes 1). */
static void normalise_f(double *out, const float *x, size_t rows, size_t dim) {
    for (size_t r = 0; r < rows; r++) {
        double ss = 0.0;
        for (size_t c = 0; c < dim; c++) ss += (double)x[r * dim + c] * (double)x[r * dim + c];
        double nrm = sqrt(ss);
        if (nrm == 0.0) nrm = 1.0;
        for (size_t c = 0; c < dim; c++) out[r * dim + c] = (double)x[r * dim + c] / nrm;
    }
}

static void normalise_d(double *out, const double *x, size_t rows, size_t dim) {
    for (size_t r = 0; r < rows; r++) {
        double ss = 0.0;
        for (size_t c = 0; c < dim; c++) ss += x[r * dim + c] * x[r * dim + c];
        double nrm = sqrt(ss);
        if (nrm == 0.0) nrm = 1.0;
        for (size_t c = 0; c < dim; c++) out[r * dim + c] = x[r * dim + c] / nrm;
    }
}

/* c [m, n] (leading dimension ldc) = a [m, dim] . b [n, dim]^T. */
static void gemm_nt(double *c, size_t ldc, const double *a, size_t m, const double *b, size_t n,
                    size_t dim) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)dim, 1.0, a,
                (int)dim, b, (int)dim, 0.0, c, (int)ldc);
}

static gb_status check_gemm_dims(const char *fn, size_t dim, size_t ld) {
    if (dim > (size_t)INT_MAX || ld > (size_t)INT_MAX)
        return gb_fail(GB_INPUT, "%s: dimension %zu or row count %zu exceeds the BLAS int range",
                       fn, dim, ld);
    return GB_OK;
}

gb_status gb_zsl_cosine(double *sims, const float *a, size_t na, const float *b, size_t nb,
                        size_t dim) {
    const char *fn = "zsl cosine";
    if (na == 0 || nb == 0 || dim == 0)
        return gb_fail(GB_INPUT, "%s: empty input (%zu x %zu rows, dim %zu)", fn, na, nb, dim);
    GB_TRY(check_gemm_dims(fn, dim, nb));
    GB_TRY(check_finite(fn, "a", a, na, dim));
    GB_TRY(check_finite(fn, "b", b, nb, dim));
    double *qa = malloc(QB * dim * sizeof *qa), *gbuf = malloc(GB * dim * sizeof *gbuf);
    if (!qa || !gbuf) {
        free(qa);
        free(gbuf);
        return gb_fail(GB_ENV, "%s: out of memory", fn);
    }
    for (size_t g0 = 0; g0 < nb; g0 += GB) {
        size_t gn = nb - g0 < GB ? nb - g0 : GB;
        normalise_f(gbuf, b + g0 * dim, gn, dim);
        for (size_t q0 = 0; q0 < na; q0 += QB) {
            size_t qn = na - q0 < QB ? na - q0 : QB;
            normalise_f(qa, a + q0 * dim, qn, dim);
            gemm_nt(sims + q0 * nb + g0, nb, qa, qn, gbuf, gn, dim);
        }
    }
    free(qa);
    free(gbuf);
    return GB_OK;
}

/* A run of generated rows (the reference stacks two sets for GZSL). */
typedef struct {
    const float *rows;
    size_t n;
} gen_seg;

/* Insert (s, j) into the descending top-k list of one query (strictly greater goes first, so
 * an equal similarity met later, i.e. with a higher index, ranks after the earlier one). */
static void topk_insert(double *bs, size_t *bj, size_t *cnt, size_t k, double s, size_t j) {
    size_t c = *cnt;
    if (c == k && !(s > bs[k - 1])) return;
    size_t p = c < k ? c : k - 1;
    while (p > 0 && bs[p - 1] < s) {
        bs[p] = bs[p - 1];
        bj[p] = bj[p - 1];
        p--;
    }
    bs[p] = s;
    bj[p] = j;
    if (c < k) *cnt = c + 1;
}

/* Most frequent label among k (sorted in place); ties -> the smallest label. */
static int32_t vote(int32_t *lab, size_t k) {
    for (size_t i = 1; i < k; i++) {
        int32_t v = lab[i];
        size_t p = i;
        while (p > 0 && lab[p - 1] > v) {
            lab[p] = lab[p - 1];
            p--;
        }
        lab[p] = v;
    }
    int32_t best = lab[0];
    size_t best_n = 0;
    for (size_t i = 0; i < k;) {
        size_t j = i;
        while (j < k && lab[j] == lab[i]) j++;
        if (j - i > best_n) {
            best_n = j - i;
            best = lab[i];
        }
        i = j;
    }
    return best;
}

/* kNN vote of each query among the concatenated segments; the class of global row j is
 * labels[j] when labels is not NULL, else j / per_class. */
static gb_status knn_core(int32_t *pred, const float *query, size_t nq, const gen_seg *segs,
                          int nseg, const int32_t *labels, size_t per_class, size_t dim,
                          size_t k) {
    const char *fn = "zsl kNN";
    size_t ng = 0;
    for (int s = 0; s < nseg; s++) ng += segs[s].n;
    if (nq == 0 || ng == 0 || dim == 0)
        return gb_fail(GB_INPUT, "%s: empty input (%zu queries, %zu generated rows, dim %zu)", fn,
                       nq, ng, dim);
    if (k == 0 || k > ng)
        return gb_fail(GB_USAGE, "%s: k = %zu must lie in 1..%zu (the generated rows)", fn, k, ng);
    GB_TRY(check_gemm_dims(fn, dim, GB));
    GB_TRY(check_finite(fn, "query", query, nq, dim));
    for (int s = 0; s < nseg; s++) GB_TRY(check_finite(fn, "generated", segs[s].rows, segs[s].n, dim));

    double *qbuf = malloc(QB * dim * sizeof *qbuf), *gbuf = malloc(GB * dim * sizeof *gbuf);
    double *sbuf = malloc(QB * GB * sizeof *sbuf), *bs = malloc(nq * k * sizeof *bs);
    size_t *bj = malloc(nq * k * sizeof *bj), *cnt = calloc(nq, sizeof *cnt);
    int32_t *lab = malloc(k * sizeof *lab);
    gb_status st = GB_OK;
    if (!qbuf || !gbuf || !sbuf || !bs || !bj || !cnt || !lab) {
        st = gb_fail(GB_ENV, "%s: out of memory (%zu queries, k %zu)", fn, nq, k);
        goto done;
    }
    size_t base = 0;
    for (int s = 0; s < nseg; s++) {
        for (size_t g0 = 0; g0 < segs[s].n; g0 += GB) {
            size_t gn = segs[s].n - g0 < GB ? segs[s].n - g0 : GB;
            normalise_f(gbuf, segs[s].rows + g0 * dim, gn, dim);
            for (size_t q0 = 0; q0 < nq; q0 += QB) {
                size_t qn = nq - q0 < QB ? nq - q0 : QB;
                normalise_f(qbuf, query + q0 * dim, qn, dim);
                gemm_nt(sbuf, gn, qbuf, qn, gbuf, gn, dim);
                for (size_t q = 0; q < qn; q++)
                    for (size_t j = 0; j < gn; j++)
                        topk_insert(bs + (q0 + q) * k, bj + (q0 + q) * k, cnt + q0 + q, k,
                                    sbuf[q * gn + j], base + g0 + j);
            }
        }
        base += segs[s].n;
    }
    for (size_t q = 0; q < nq; q++) {
        for (size_t i = 0; i < k; i++) {
            size_t j = bj[q * k + i];
            lab[i] = labels ? labels[j] : (int32_t)(j / per_class);
        }
        pred[q] = vote(lab, k);
    }
done:
    free(qbuf);
    free(gbuf);
    free(sbuf);
    free(bs);
    free(bj);
    free(cnt);
    free(lab);
    return st;
}

gb_status gb_zsl_knn_predict(int32_t *pred, const float *query, size_t nq, const float *gen,
                             const int32_t *gen_labels, size_t ng, size_t dim, size_t k) {
    GB_ASSERT(pred && query && gen && gen_labels, "gb_zsl_knn_predict: NULL argument");
    GB_TRY(check_labels("zsl kNN", "generated", gen_labels, ng, 0, INT32_MAX));
    gen_seg seg = {gen, ng};
    return knn_core(pred, query, nq, &seg, 1, gen_labels, 1, dim, k);
}

gb_status gb_zsl_accuracy(double *out, const int32_t *pred, const int32_t *labels, size_t n,
                          gb_zsl_average avg) {
    GB_ASSERT(out && pred && labels, "gb_zsl_accuracy: NULL argument");
    if (n == 0) return gb_fail(GB_INPUT, "zsl accuracy: no samples");
    if (avg == GB_ZSL_SAMPLE_MEAN) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++) ok += pred[i] == labels[i];
        *out = (double)ok / (double)n * 100.0;
        return GB_OK;
    }
    GB_ASSERT(avg == GB_ZSL_CLASS_MEAN, "unknown average %d", (int)avg);
    GB_TRY(check_labels("zsl accuracy", "test", labels, n, 0, INT32_MAX));
    int32_t maxl = 0;
    for (size_t i = 0; i < n; i++) maxl = labels[i] > maxl ? labels[i] : maxl;
    size_t *tot = calloc(2 * ((size_t)maxl + 1), sizeof *tot);
    if (!tot) return gb_fail(GB_ENV, "zsl accuracy: out of memory for %d classes", (int)maxl + 1);
    size_t *ok = tot + (size_t)maxl + 1;
    for (size_t i = 0; i < n; i++) {
        tot[labels[i]]++;
        ok[labels[i]] += pred[i] == labels[i];
    }
    double acc = 0.0;
    size_t classes = 0;
    for (size_t c = 0; c <= (size_t)maxl; c++)
        if (tot[c]) {
            acc += (double)ok[c] / (double)tot[c];
            classes++;
        }
    free(tot);
    *out = acc / (double)classes * 100.0;
    return GB_OK;
}

double gb_zsl_harmonic_mean(double u, double s) { return u + s == 0 ? 0.0 : 2 * u * s / (u + s); }

gb_status gb_zsl_text_top1(double *acc, const float *test, const int32_t *labels, size_t n,
                           const float *gen, size_t n_classes, size_t per_class, size_t dim,
                           size_t k) {
    GB_ASSERT(acc && test && labels && gen, "gb_zsl_text_top1: NULL argument");
    if (per_class == 0 || n_classes == 0 || n_classes > (size_t)INT32_MAX)
        return gb_fail(GB_USAGE, "zsl text top-1: %zu classes x %zu generated per class",
                       n_classes, per_class);
    GB_TRY(check_labels("zsl text top-1", "test", labels, n, 0, (int32_t)n_classes));
    int32_t *pred = malloc((n ? n : 1) * sizeof *pred);
    if (!pred) return gb_fail(GB_ENV, "zsl text top-1: out of memory");
    gen_seg seg = {gen, n_classes * per_class};
    gb_status s = knn_core(pred, test, n, &seg, 1, NULL, per_class, dim, k);
    if (s == GB_OK) s = gb_zsl_accuracy(acc, pred, labels, n, GB_ZSL_SAMPLE_MEAN);
    free(pred);
    return s;
}

void gb_zsl_class_means(double *protos, const float *gen, size_t n_classes, size_t per_class,
                        size_t dim) {
    GB_ASSERT(per_class > 0, "gb_zsl_class_means: per_class is 0");
    for (size_t c = 0; c < n_classes; c++)
        for (size_t d = 0; d < dim; d++) {
            double acc = 0.0;
            for (size_t r = 0; r < per_class; r++) acc += (double)gen[(c * per_class + r) * dim + d];
            protos[c * dim + d] = acc / (double)per_class;
        }
}

gb_status gb_zsl_cosine_scores(double *scores, const float *feat, size_t n, const double *protos,
                               size_t n_classes, size_t dim) {
    const char *fn = "zsl cosine scores";
    if (n == 0 || n_classes == 0 || dim == 0)
        return gb_fail(GB_INPUT, "%s: empty input (%zu rows, %zu classes, dim %zu)", fn, n,
                       n_classes, dim);
    GB_TRY(check_gemm_dims(fn, dim, n_classes));
    GB_TRY(check_finite(fn, "feature", feat, n, dim));
    for (size_t i = 0; i < n_classes * dim; i++)
        if (!isfinite(protos[i]))
            return gb_fail(GB_INPUT, "%s: prototype %zu, column %zu is %g", fn, i / dim, i % dim,
                           protos[i]);
    double *pn = malloc(n_classes * dim * sizeof *pn), *fb = malloc(QB * dim * sizeof *fb);
    if (!pn || !fb) {
        free(pn);
        free(fb);
        return gb_fail(GB_ENV, "%s: out of memory", fn);
    }
    normalise_d(pn, protos, n_classes, dim);
    for (size_t q0 = 0; q0 < n; q0 += QB) {
        size_t qn = n - q0 < QB ? n - q0 : QB;
        normalise_f(fb, feat + q0 * dim, qn, dim);
        gemm_nt(scores + q0 * n_classes, n_classes, fb, qn, pn, n_classes, dim);
    }
    free(pn);
    free(fb);
    return GB_OK;
}

size_t gb_zsl_lambda_grid(double *out) {
    const double start = -2.0, step = 0.01;
    /* numpy's DOUBLE_fill: buffer[1] = start + step, delta = buffer[1] - start,
     * buffer[i] = start + i * delta. */
    double delta = (start + step) - start;
    out[0] = start;
    out[1] = start + step;
    for (size_t i = 2; i < GB_ZSL_N_LAMBDA; i++) out[i] = start + (double)i * delta;
    return GB_ZSL_N_LAMBDA;
}

double gb_trapezoid(const double *y, const double *x, size_t n) {
    double acc = 0.0;
    for (size_t i = 0; i + 1 < n; i++) acc += (x[i + 1] - x[i]) * (y[i + 1] + y[i]) / 2.0;
    return acc;
}

static gb_status check_scores(const char *fn, const char *what, const double *s, size_t n,
                              size_t nc) {
    for (size_t i = 0; i < n * nc; i++)
        if (!isfinite(s[i]))
            return gb_fail(GB_INPUT, "%s: %s scores row %zu, column %zu is %g", fn, what, i / nc,
                           i % nc, s[i]);
    return GB_OK;
}

/* Per-sample weights of an accuracy: 1/n, or 1/(n_c * classes present) for a class mean. */
static gb_status weights(double *w, const int32_t *labels, size_t n, size_t n_classes,
                         gb_zsl_average avg) {
    if (avg == GB_ZSL_SAMPLE_MEAN) {
        for (size_t i = 0; i < n; i++) w[i] = 1.0 / (double)n;
        return GB_OK;
    }
    size_t *cnt = calloc(n_classes, sizeof *cnt);
    if (!cnt) return gb_fail(GB_ENV, "zsl: out of memory");
    size_t present = 0;
    for (size_t i = 0; i < n; i++) present += cnt[labels[i]]++ == 0;
    for (size_t i = 0; i < n; i++) w[i] = 1.0 / ((double)cnt[labels[i]] * (double)present);
    free(cnt);
    return GB_OK;
}

/* First maximum of row[lo..hi) -> (value, column). */
static size_t row_argmax(const double *row, size_t lo, size_t hi, double *val) {
    size_t best = lo;
    for (size_t c = lo + 1; c < hi; c++)
        if (row[c] > row[best]) best = c;
    *val = row[best];
    return best;
}

static gb_status sweep_set(double *acc, const double *scores, const int32_t *labels, size_t n,
                           size_t n_seen, size_t nc, const double *lambdas, size_t n_lambda,
                           gb_zsl_average avg) {
    double *w = malloc((n ? n : 1) * sizeof *w);
    if (!w) return gb_fail(GB_ENV, "zsl sweep: out of memory");
    gb_status s = weights(w, labels, n, nc, avg);
    for (size_t l = 0; s == GB_OK && l < n_lambda; l++) {
        double lam = lambdas[l], a = 0.0;
        size_t ok = 0;
        for (size_t i = 0; i < n; i++) {
            const double *row = scores + i * nc;
            double ms = -INFINITY, mu = -INFINITY;
            size_t bs = 0, bu = n_seen;
            if (n_seen) bs = row_argmax(row, 0, n_seen, &ms);
            /* The unseen columns after adding lambda, rounded as the reference rounds them. */
            for (size_t c = n_seen; c < nc; c++) {
                double v = row[c] + lam;
                if (v > mu) {
                    mu = v;
                    bu = c;
                }
            }
            size_t pred = (n_seen && ms >= mu) ? bs : bu; /* seen columns come first */
            int hit = pred == (size_t)labels[i];
            ok += (size_t)hit;
            if (hit) a += w[i];
        }
        acc[l] = avg == GB_ZSL_SAMPLE_MEAN ? (double)ok / (double)n : a;
    }
    free(w);
    return s;
}

gb_status gb_zsl_calibration_sweep(double *acc_s, double *acc_u, const double *scores_s,
                                   const int32_t *labels_s, size_t n_s, const double *scores_u,
                                   const int32_t *labels_u, size_t n_u, size_t n_seen,
                                   size_t n_classes, const double *lambdas, size_t n_lambda,
                                   gb_zsl_average avg) {
    const char *fn = "zsl calibration sweep";
    GB_ASSERT(acc_s && acc_u && scores_s && labels_s && scores_u && labels_u && lambdas,
              "gb_zsl_calibration_sweep: NULL argument");
    GB_ASSERT(avg == GB_ZSL_SAMPLE_MEAN || avg == GB_ZSL_CLASS_MEAN, "unknown average");
    if (n_s == 0 || n_u == 0 || n_seen == 0 || n_seen >= n_classes || n_classes > INT32_MAX)
        return gb_fail(GB_INPUT, "%s: needs seen and unseen samples and classes (%zu seen and "
                                 "%zu unseen samples, %zu of %zu classes seen)",
                       fn, n_s, n_u, n_seen, n_classes);
    GB_TRY(check_labels(fn, "seen", labels_s, n_s, 0, (int32_t)n_classes));
    GB_TRY(check_labels(fn, "unseen", labels_u, n_u, 0, (int32_t)n_classes));
    GB_TRY(check_scores(fn, "seen", scores_s, n_s, n_classes));
    GB_TRY(check_scores(fn, "unseen", scores_u, n_u, n_classes));
    GB_TRY(sweep_set(acc_s, scores_s, labels_s, n_s, n_seen, n_classes, lambdas, n_lambda, avg));
    return sweep_set(acc_u, scores_u, labels_u, n_u, n_seen, n_classes, lambdas, n_lambda, avg);
}

gb_status gb_zsl_text_gzsl_auc(double *auc, double *acc_s, double *acc_u, const float *train_seen,
                               const int32_t *labels_seen, size_t n_s, const float *test_unseen,
                               const int32_t *labels_unseen, size_t n_u, const float *gen,
                               size_t n_seen, size_t n_unseen, size_t per_class, size_t dim) {
    const char *fn = "zsl text GZSL";
    GB_ASSERT(auc && train_seen && labels_seen && test_unseen && labels_unseen && gen,
              "gb_zsl_text_gzsl_auc: NULL argument");
    size_t nc = n_seen + n_unseen;
    if (n_seen == 0 || n_unseen == 0 || per_class == 0 || nc > INT32_MAX)
        return gb_fail(GB_USAGE, "%s: %zu seen + %zu unseen classes, %zu generated per class",
                       fn, n_seen, n_unseen, per_class);
    GB_TRY(check_labels(fn, "seen", labels_seen, n_s, 0, (int32_t)n_seen));
    GB_TRY(check_labels(fn, "unseen", labels_unseen, n_u, 0, (int32_t)n_unseen));
    GB_TRY(check_finite(fn, "generated", gen, nc * per_class, dim));
    double *protos = malloc(nc * dim * sizeof *protos);
    double *ss = malloc((n_s ? n_s : 1) * nc * sizeof *ss);
    double *su = malloc((n_u ? n_u : 1) * nc * sizeof *su);
    int32_t *lu = malloc((n_u ? n_u : 1) * sizeof *lu);
    double *curve = malloc(2 * GB_ZSL_N_LAMBDA * sizeof *curve);
    double lam[GB_ZSL_N_LAMBDA];
    gb_status s = GB_OK;
    if (!protos || !ss || !su || !lu || !curve) {
        s = gb_fail(GB_ENV, "%s: out of memory", fn);
        goto done;
    }
    gb_zsl_class_means(protos, gen, nc, per_class, dim);
    s = gb_zsl_cosine_scores(ss, train_seen, n_s, protos, nc, dim);
    if (s == GB_OK) s = gb_zsl_cosine_scores(su, test_unseen, n_u, protos, nc, dim);
    if (s != GB_OK) goto done;
    for (size_t i = 0; i < n_u; i++) lu[i] = labels_unseen[i] + (int32_t)n_seen;
    gb_zsl_lambda_grid(lam);
    s = gb_zsl_calibration_sweep(curve, curve + GB_ZSL_N_LAMBDA, ss, labels_seen, n_s, su, lu, n_u,
                                 n_seen, nc, lam, GB_ZSL_N_LAMBDA, GB_ZSL_SAMPLE_MEAN);
    if (s != GB_OK) goto done;
    *auc = gb_trapezoid(curve, curve + GB_ZSL_N_LAMBDA, GB_ZSL_N_LAMBDA) * 100.0;
    if (acc_s) memcpy(acc_s, curve, GB_ZSL_N_LAMBDA * sizeof *acc_s);
    if (acc_u) memcpy(acc_u, curve + GB_ZSL_N_LAMBDA, GB_ZSL_N_LAMBDA * sizeof *acc_u);
done:
    free(protos);
    free(ss);
    free(su);
    free(lu);
    free(curve);
    return s;
}

/* AUSUC of the GBU evaluation: the text protocol's scores (cosine to the prototypes, the
 * means of each class's generated features, seen classes first), per-class accuracies. */
static gb_status gbu_ausuc(double *ausuc, const float *test_seen, const int32_t *labels_seen, size_t n_s,
                           const float *test_unseen, const int32_t *labels_unseen, size_t n_u,
                           const float *gen_seen, size_t n_seen, const float *gen_unseen, size_t n_unseen,
                           size_t per_class, size_t dim) {
    size_t nc = n_seen + n_unseen;
    double *protos = malloc(nc * dim * sizeof *protos), *ss = malloc(n_s * nc * sizeof *ss),
           *su = malloc(n_u * nc * sizeof *su);
    int32_t *lu = malloc(n_u * sizeof *lu);
    gb_status s = protos && ss && su && lu ? GB_OK : gb_fail(GB_ENV, "zsl GBU AUSUC: out of memory");
    if (s == GB_OK) {
        gb_zsl_class_means(protos, gen_seen, n_seen, per_class, dim);
        gb_zsl_class_means(protos + n_seen * dim, gen_unseen, n_unseen, per_class, dim);
        s = gb_zsl_cosine_scores(ss, test_seen, n_s, protos, nc, dim);
    }
    if (s == GB_OK) s = gb_zsl_cosine_scores(su, test_unseen, n_u, protos, nc, dim);
    if (s == GB_OK) {
        for (size_t i = 0; i < n_u; i++) lu[i] = labels_unseen[i] + (int32_t)n_seen;
        s = gb_zsl_ausuc(ausuc, NULL, NULL, ss, labels_seen, n_s, su, lu, n_u, n_seen, nc, GB_ZSL_CLASS_MEAN);
    }
    free(protos);
    free(ss);
    free(su);
    free(lu);
    return s;
}

gb_status gb_zsl_gbu_evaluate(gb_zsl_gbu_result *out, const float *test_seen,
                              const int32_t *labels_seen, size_t n_s, const float *test_unseen,
                              const int32_t *labels_unseen, size_t n_u, const float *gen_seen,
                              size_t n_seen, const float *gen_unseen, size_t n_unseen,
                              size_t per_class, size_t dim, size_t k) {
    const char *fn = "zsl GBU";
    GB_ASSERT(out && test_seen && labels_seen && test_unseen && labels_unseen && gen_seen &&
                  gen_unseen, "gb_zsl_gbu_evaluate: NULL argument");
    if (n_seen == 0 || n_unseen == 0 || per_class == 0 || n_seen + n_unseen > INT32_MAX)
        return gb_fail(GB_USAGE, "%s: %zu seen + %zu unseen classes, %zu generated per class",
                       fn, n_seen, n_unseen, per_class);
    if (n_s == 0 || n_u == 0) /* u, s, H and the seen-unseen curve each need both */
        return gb_fail(GB_INPUT, "%s: %zu seen and %zu unseen test samples; the GBU protocol needs both", fn, n_s, n_u);
    GB_TRY(check_labels(fn, "seen test", labels_seen, n_s, 0, (int32_t)n_seen));
    GB_TRY(check_labels(fn, "unseen test", labels_unseen, n_u, 0, (int32_t)n_unseen));
    size_t nmax = n_s > n_u ? n_s : n_u;
    int32_t *pred = malloc((nmax ? nmax : 1) * sizeof *pred);
    if (!pred) return gb_fail(GB_ENV, "%s: out of memory", fn);
    gen_seg unseen_only[1] = {{gen_unseen, n_unseen * per_class}};
    gen_seg seen_first[2] = {{gen_seen, n_seen * per_class}, {gen_unseen, n_unseen * per_class}};
    gen_seg unseen_first[2] = {{gen_unseen, n_unseen * per_class}, {gen_seen, n_seen * per_class}};
    gb_zsl_gbu_result r;
    gb_status s = knn_core(pred, test_unseen, n_u, unseen_only, 1, NULL, per_class, dim, k);
    if (s == GB_OK) s = gb_zsl_accuracy(&r.zsl_t1, pred, labels_unseen, n_u, GB_ZSL_CLASS_MEAN);
    if (s == GB_OK) s = knn_core(pred, test_seen, n_s, seen_first, 2, NULL, per_class, dim, k);
    if (s == GB_OK) s = gb_zsl_accuracy(&r.s, pred, labels_seen, n_s, GB_ZSL_CLASS_MEAN);
    if (s == GB_OK) s = knn_core(pred, test_unseen, n_u, unseen_first, 2, NULL, per_class, dim, k);
    if (s == GB_OK) s = gb_zsl_accuracy(&r.u, pred, labels_unseen, n_u, GB_ZSL_CLASS_MEAN);
    free(pred);
    if (s == GB_OK)
        s = gbu_ausuc(&r.ausuc, test_seen, labels_seen, n_s, test_unseen, labels_unseen, n_u, gen_seen, n_seen,
                      gen_unseen, n_unseen, per_class, dim);
    if (s != GB_OK) return gb_fail_wrap(s, "%s", fn);
    r.h = gb_zsl_harmonic_mean(r.u, r.s);
    *out = r;
    return GB_OK;
}

/* ---- AUSUC ---- */

typedef struct {
    double d;     /* switch point: max seen score - max unseen score */
    size_t idx;   /* sample index over [seen set ; unseen set] (the deterministic tie order) */
} switch_pt;

static int cmp_switch(const void *a, const void *b) {
    const switch_pt *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

gb_status gb_zsl_ausuc(double *ausuc, double *a_s_max, double *a_u_max, const double *scores_s,
                       const int32_t *labels_s, size_t n_s, const double *scores_u,
                       const int32_t *labels_u, size_t n_u, size_t n_seen, size_t n_classes,
                       gb_zsl_average avg) {
    const char *fn = "zsl AUSUC";
    GB_ASSERT(ausuc && scores_s && labels_s && scores_u && labels_u, "gb_zsl_ausuc: NULL");
    GB_ASSERT(avg == GB_ZSL_SAMPLE_MEAN || avg == GB_ZSL_CLASS_MEAN, "unknown average");
    if (n_s == 0 || n_u == 0 || n_seen == 0 || n_seen >= n_classes || n_classes > INT32_MAX)
        return gb_fail(GB_INPUT, "%s: needs seen and unseen samples and classes (%zu seen and "
                                 "%zu unseen samples, %zu of %zu classes seen)",
                       fn, n_s, n_u, n_seen, n_classes);
    GB_TRY(check_labels(fn, "seen (must be a seen column)", labels_s, n_s, 0, (int32_t)n_seen));
    GB_TRY(check_labels(fn, "unseen (must be an unseen column)", labels_u, n_u, (int32_t)n_seen,
                        (int32_t)n_classes));
    GB_TRY(check_scores(fn, "seen", scores_s, n_s, n_classes));
    GB_TRY(check_scores(fn, "unseen", scores_u, n_u, n_classes));
    size_t n = n_s + n_u;
    switch_pt *pt = malloc(n * sizeof *pt);
    double *w = malloc(n * sizeof *w);
    unsigned char *hit_seen = malloc(n), *hit_unseen = malloc(n);
    gb_status s = GB_OK;
    if (!pt || !w || !hit_seen || !hit_unseen) {
        s = gb_fail(GB_ENV, "%s: out of memory", fn);
        goto done;
    }
    s = weights(w, labels_s, n_s, n_classes, avg);
    if (s == GB_OK) s = weights(w + n_s, labels_u, n_u, n_classes, avg);
    if (s != GB_OK) goto done;
    double a_s = 0.0, a_u = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double *row = i < n_s ? scores_s + i * n_classes : scores_u + (i - n_s) * n_classes;
        int32_t lab = i < n_s ? labels_s[i] : labels_u[i - n_s];
        double ms, mu;
        size_t bs = row_argmax(row, 0, n_seen, &ms), bu = row_argmax(row, n_seen, n_classes, &mu);
        pt[i].d = ms - mu;
        pt[i].idx = i;
        hit_seen[i] = bs == (size_t)lab;
        hit_unseen[i] = bu == (size_t)lab;
        if (i < n_s && hit_seen[i]) a_s += w[i]; /* gamma -> -inf: everything predicted seen */
    }
    qsort(pt, n, sizeof *pt, cmp_switch);
    if (a_s_max) *a_s_max = a_s;
    double area = 0.0;
    for (size_t g = 0; g < n;) {
        /* Past gamma = d every sample of this group predicts its best unseen class. */
        size_t e = g;
        double s_new = a_s, u_new = a_u;
        while (e < n && pt[e].d == pt[g].d) {
            size_t i = pt[e].idx;
            if (i < n_s && hit_seen[i]) s_new -= w[i];
            if (i >= n_s && hit_unseen[i]) u_new += w[i];
            e++;
        }
        area += (u_new - a_u) * (s_new + a_s) / 2.0;
        a_s = s_new;
        a_u = u_new;
        g = e;
    }
    if (a_u_max) *a_u_max = a_u;
    *ausuc = area * 100.0;
done:
    free(pt);
    free(w);
    free(hit_seen);
    free(hit_unseen);
    return s;
}
