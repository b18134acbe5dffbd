/* metrics/zsl.h - zero-shot-learning metrics: the text protocol (GAZSL/CIZSL on CUB-wiki/NAB)
 * and the attribute GBU protocol (GAZSL train_GBU.py on AWA2/SUN/CUB), as specs/metrics.md
 * "Zero-shot learning" and specs/pipelines.md 1.5 / 2.4 define them, plus AUSUC (Chao et al.
 * 2016) by calibrated stacking.
 *
 * Inputs are arrays: real test features, generated features (per_class consecutive rows per
 * class, class c in rows c*per_class .. (c+1)*per_class - 1, the order the reference code
 * stacks them), integer labels, or score matrices. Nothing here knows a model.
 *
 * Definitions, as the reference code computes them:
 *   cosine       sklearn's cosine_similarity: each row divided by its Euclidean norm (a zero row
 *                stays zero, so its similarities are 0), then dot products; all in double
 *                (sklearn upcasts to float64 because the generated features are float64 there).
 *   kNN vote     the k = 20 generated rows with the highest cosine similarity vote with their
 *                class; the class with most votes wins.
 *                Tie-breaking (deterministic): among equal similarities the lower generated row
 *                index ranks first (a stable sort; the reference's np.argsort quicksort is not
 *                stable, so exact ties at the k-th place are implementation-defined there);
 *                among equal vote counts the smallest class index wins (np.unique + argmax, as
 *                CIZSL and train_GBU.py do; ZSL_GAN's later Counter.most_common variant would
 *                pick the first-encountered class instead: not implemented).
 *   accuracies   per sample: mean of [pred == label] (text protocol);
 *                per class (MCA): mean over the classes that occur in `labels` of the per-class
 *                accuracy (GBU). train_GBU.py averages over range(max label + 1), which gives NaN
 *                when a class below the maximum has no test sample; both agree whenever every
 *                class occurs. All accuracies are returned in percent (x 100) as the reference
 *                prints them.
 *   H            2 u s / (u + s) (0 when u + s = 0; the reference divides by zero there).
 *   text GZSL    prototypes = mean of each class's per_class generated rows (double); scores =
 *   AUC          cosine(feature, prototype) over [seen ; unseen] classes, for the *training* seen
 *                features and the unseen test features; for each lambda of np.arange(-2, 2, 0.01)
 *                (400 values, reproduced bit for bit by gb_zsl_lambda_grid) lambda is added to
 *                the unseen columns, the first maximal column is the prediction, and acc_S /
 *                acc_U are per-sample accuracies (unseen labels shifted by n_seen); AUC =
 *                numpy.trapz(y = acc_S, x = acc_U) * 100.
 *   GBU          ZSL T1 = MCA of unseen test features voting among unseen generated rows;
 *                s = MCA of seen test features voting among [seen ; unseen] generated rows
 *                (labels 0..n_seen-1), u = MCA of unseen test features voting among
 *                [unseen ; seen] rows (labels 0..n_unseen-1: the order is swapped, as in
 *                train_GBU.py, so ties favour the unseen classes there); H from u and s.
 *   AUSUC        Chao et al.: predictions argmax_c (score_c - gamma [c is seen]); A_S(gamma) on
 *                the seen test samples, A_U(gamma) on the unseen ones, both over all classes;
 *                the area under the curve A_S over A_U as gamma runs over the whole real line,
 *                times 100. Computed exactly: a sample switches from its best seen to its best
 *                unseen class at gamma = max_seen - max_unseen (at equality it stays seen:
 *                seen columns come first), so the curve has one vertex per distinct switch
 *                point, from (0, A_S max) to (A_U max, 0), joined by the trapezoid rule (what a
 *                dense sweep of gamma converges to).
 *
 * Similarities go through cblas_dgemm on blocks (256 queries x 1024 generated rows), so memory
 * stays O(block) whatever the set sizes. OpenBLAS splits a dgemm over output blocks, not over
 * the summed dimension, so the similarities (and everything after them) are reproducible for a
 * given build, machine and thread count; across BLAS builds they may differ in the last ulps,
 * which moves a result only through an exact near-tie.
 * Errors: empty sets, k of 0 or more than the generated rows, labels out of range and non-finite
 * features or scores give GB_INPUT / GB_USAGE with the argument and index named; GB_ENV when
 * memory runs out.
 *
 * Tested by tests/test_zsl_metrics.c: hand-made cases with known votes, ties, accuracies, H, AUC
 * and AUSUC, and parity with numpy transcriptions of the reference code on random features and
 * scores (tests/peers/metrics_misc.py).
 */
#ifndef GB_ZSL_H
#define GB_ZSL_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define GB_ZSL_KNN 20        /* Knn of the reference code */
#define GB_ZSL_PER_CLASS 60  /* nSample of the reference code */
#define GB_ZSL_N_LAMBDA 400  /* len(np.arange(-2, 2, 0.01)) */

typedef enum { GB_ZSL_SAMPLE_MEAN = 0, GB_ZSL_CLASS_MEAN = 1 } gb_zsl_average;

/* sims [na, nb] = cosine similarity of the rows of a and b (sklearn semantics, double). */
gb_status gb_zsl_cosine(double *sims /* [na,nb] */, const float *a /* [na,dim] */, size_t na,
                        const float *b /* [nb,dim] */, size_t nb, size_t dim);

/* kNN cosine vote: pred[i] = the class with most votes among the k generated rows most similar
 * to query row i; gen_labels[j] >= 0 is the class of generated row j (the reference's
 * j / per_class). Tie rules in the header. */
gb_status gb_zsl_knn_predict(int32_t *pred /* [nq] */, const float *query /* [nq,dim] */,
                             size_t nq, const float *gen /* [ng,dim] */,
                             const int32_t *gen_labels /* [ng] */, size_t ng, size_t dim,
                             size_t k);

/* Accuracy in percent: per sample, or per class (mean over the classes present in labels). */
gb_status gb_zsl_accuracy(double *out, const int32_t *pred /* [n] */,
                          const int32_t *labels /* [n] */, size_t n, gb_zsl_average avg);

/* 2 u s / (u + s); 0 when u + s == 0. */
double gb_zsl_harmonic_mean(double u, double s);

/* Text ZSL top-1 (percent, per sample): test features vs per_class generated rows per unseen
 * class, k-NN vote; labels in 0..n_classes-1. */
gb_status gb_zsl_text_top1(double *acc, const float *test /* [n,dim] */,
                           const int32_t *labels /* [n] */, size_t n,
                           const float *gen /* [n_classes*per_class,dim] */, size_t n_classes,
                           size_t per_class, size_t dim, size_t k);

/* protos [n_classes, dim] = mean of each class's per_class rows, in double (np.mean order:
 * summed in row order, divided by per_class). */
void gb_zsl_class_means(double *protos /* [n_classes,dim] */,
                        const float *gen /* [n_classes*per_class,dim] */, size_t n_classes,
                        size_t per_class, size_t dim);

/* scores [n, n_classes] = cosine(feat_i, proto_c) (prototypes in double). */
gb_status gb_zsl_cosine_scores(double *scores /* [n,n_classes] */, const float *feat /* [n,dim] */,
                               size_t n, const double *protos /* [n_classes,dim] */,
                               size_t n_classes, size_t dim);

/* The 400 values of np.arange(-2, 2, 0.01) exactly as numpy computes them
 * (start + i * (x1 - start) with x1 = start + step). Returns GB_ZSL_N_LAMBDA. */
size_t gb_zsl_lambda_grid(double *out /* [GB_ZSL_N_LAMBDA] */);

/* numpy.trapz(y, x): sum_i (x[i+1] - x[i]) (y[i+1] + y[i]) / 2 (signed; n < 2 gives 0). */
double gb_trapezoid(const double *y /* [n] */, const double *x /* [n] */, size_t n);

/* The calibration sweep: for each lambda, lambda is added to columns n_seen..n_classes-1 of both
 * score matrices, the first maximal column is the prediction, and acc_s[l] / acc_u[l] are the
 * accuracies (avg, as fractions in [0,1], like the reference's lists) of the seen and unseen
 * sets. Labels are column indices in 0..n_classes-1 (unseen samples: n_seen + their index). */
gb_status gb_zsl_calibration_sweep(double *acc_s /* [n_lambda] */, double *acc_u /* [n_lambda] */,
                                   const double *scores_s /* [n_s,n_classes] */,
                                   const int32_t *labels_s /* [n_s] */, size_t n_s,
                                   const double *scores_u /* [n_u,n_classes] */,
                                   const int32_t *labels_u /* [n_u] */, size_t n_u,
                                   size_t n_seen, size_t n_classes, const double *lambdas,
                                   size_t n_lambda, gb_zsl_average avg);

/* The text protocol's generalised seen-unseen AUC (percent): prototypes from gen (seen classes
 * first, then unseen), cosine scores of train_seen (labels 0..n_seen-1) and test_unseen (labels
 * 0..n_unseen-1), the 400-lambda sweep with per-sample accuracies, trapz(acc_S, acc_U) * 100.
 * acc_s / acc_u [GB_ZSL_N_LAMBDA] receive the curve when not NULL. */
gb_status gb_zsl_text_gzsl_auc(double *auc, double *acc_s, double *acc_u,
                               const float *train_seen /* [n_s,dim] */,
                               const int32_t *labels_seen /* [n_s] */, size_t n_s,
                               const float *test_unseen /* [n_u,dim] */,
                               const int32_t *labels_unseen /* [n_u] */, size_t n_u,
                               const float *gen /* [(n_seen+n_unseen)*per_class,dim] */,
                               size_t n_seen, size_t n_unseen, size_t per_class, size_t dim);

typedef struct {
    double zsl_t1; /* MCA (percent) of unseen test vs unseen classes only */
    double u;      /* MCA (percent) of unseen test vs all classes */
    double s;      /* MCA (percent) of seen test vs all classes */
    double h;      /* 2us/(u+s) */
    double ausuc;  /* percent */
} gb_zsl_gbu_result;

/* The GBU protocol of train_GBU.py (header). Labels: seen test 0..n_seen-1, unseen test
 * 0..n_unseen-1. gen_seen: per_class rows per seen class; gen_unseen: per unseen class.
 * AUSUC (metrics.md: "Also report AUSUC ... for GBU"; the k-NN vote gives no scores to sweep)
 * calibrates the text protocol's scores: cosine of each test feature to the class prototypes
 * (the means of each class's generated features), per-class accuracies, gb_zsl_ausuc.
 * GB_INPUT without seen or without unseen test samples (u, s, H and the curve need both). */
gb_status gb_zsl_gbu_evaluate(gb_zsl_gbu_result *out,
                              const float *test_seen /* [n_s,dim] */,
                              const int32_t *labels_seen /* [n_s] */, size_t n_s,
                              const float *test_unseen /* [n_u,dim] */,
                              const int32_t *labels_unseen /* [n_u] */, size_t n_u,
                              const float *gen_seen /* [n_seen*per_class,dim] */, size_t n_seen,
                              const float *gen_unseen /* [n_unseen*per_class,dim] */,
                              size_t n_unseen, size_t per_class, size_t dim, size_t k);

/* Exact AUSUC (percent of the unit square) of calibrated stacking on score matrices whose
 * columns 0..n_seen-1 are the seen classes; labels are column indices (see the header). avg:
 * GB_ZSL_CLASS_MEAN for GBU (Chao et al. use per-class accuracies). When a_s_max / a_u_max are
 * not NULL they receive the curve's end points (A_S at gamma -> -inf, A_U at gamma -> +inf, as
 * fractions). */
gb_status gb_zsl_ausuc(double *ausuc, double *a_s_max, double *a_u_max,
                       const double *scores_s /* [n_s,n_classes] */,
                       const int32_t *labels_s /* [n_s] */, size_t n_s,
                       const double *scores_u /* [n_u,n_classes] */,
                       const int32_t *labels_u /* [n_u] */, size_t n_u, size_t n_seen,
                       size_t n_classes, gb_zsl_average avg);

#endif
