/* tests/test_zsl_metrics.c - zero-shot-learning metrics (metrics/zsl.h): hand-made cases with
 * known votes, ties, accuracies, H, AUC and AUSUC; a brute-force check of the blocked kNN across
 * block boundaries; parity with numpy transcriptions of CIZSL's eval_fakefeat_test /
 * eval_fakefeat_GZSL and ZSL_GAN's train_GBU.py evaluation (tests/peers/metrics_misc.py, run
 * `/usr/bin/python3 tests/peers/metrics_misc.py DIR` with GB_FIXTURES=DIR; `make test` does it).
 *
 * Tolerances (tests/tolerances.md, "ODE, bits/dim, ZSL metrics, spectrum"):
 *   predictions, per-sample accuracies, the sweep curves, the lambda grid: exactly equal (the
 *     same decisions give the same counts; the grid follows numpy's fill formula)
 *   TOL_COS 1e-13 absolute on cosine similarities (|value| <= 1): both sides normalise in double
 *     and take dot products of 16 terms in different orders (dgemm vs numpy matmul), error
 *     <= 16 * 2^-53 * 2 ~ 4e-15; observed 1.0e-16
 *   TOL_MEAN 1e-12 relative on class-mean accuracies, H, AUC and AUSUC: the same fractions
 *     summed in another order (numpy's pairwise sums) plus one trapezoid pass; observed 2.2e-16
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "metrics/zsl.h"
#include "metrics_misc_fixture.h"

#define TOL_COS 1e-13
#define TOL_MEAN 1e-12
#define DIM 16
#define PER 60
#define NS 6
#define NU 5

static void expect_rel(double got, double want, double tol, const char *what) {
    double scale = fabs(want) > 1e-300 ? fabs(want) : 1.0;
    cr_expect(fabs(got - want) <= tol * scale, "%s: got %.17g, want %.17g (rel %.3g)", what, got,
              want, fabs(got - want) / scale);
}

/* ---- hand-made cases ---- */

Test(zsl, vote_ties_go_to_the_smallest_class) {
    /* Query (1,0); generated rows at decreasing angle: classes 1,0,1,0 -> 2 votes each. */
    float q[2] = {1, 0};
    float gen[8] = {1.0f, 0.0f, 1.0f, 0.1f, 1.0f, 0.2f, 1.0f, 0.3f};
    int32_t lab[4] = {1, 0, 1, 0}, pred;
    cr_assert_eq(gb_zsl_knn_predict(&pred, q, 1, gen, lab, 4, 2, 4), GB_OK, "%s", gb_last_error());
    cr_expect_eq(pred, 0, "2-2 vote -> class 0, got %d", pred);
    cr_assert_eq(gb_zsl_knn_predict(&pred, q, 1, gen, lab, 4, 2, 3), GB_OK);
    cr_expect_eq(pred, 1, "k = 3: classes 1,0,1 -> 1, got %d", pred);
    cr_assert_eq(gb_zsl_knn_predict(&pred, q, 1, gen, lab, 4, 2, 1), GB_OK);
    cr_expect_eq(pred, 1, "nearest neighbour is class 1");
}

Test(zsl, equal_similarities_rank_the_lower_row_first) {
    /* Rows 1 and 2 both have cosine 1 with the query (same direction, other length). */
    float q[2] = {3, 0};
    float gen[6] = {0, 1, 1, 0, 2, 0};
    int32_t lab[3] = {7, 5, 3}, pred;
    cr_assert_eq(gb_zsl_knn_predict(&pred, q, 1, gen, lab, 3, 2, 1), GB_OK);
    cr_expect_eq(pred, 5, "tie at the top: row 1 (class 5) before row 2, got %d", pred);
    /* A zero query has similarity 0 with everything: the first k rows vote. */
    float z[2] = {0, 0};
    int32_t lab2[3] = {4, 3, 3};
    cr_assert_eq(gb_zsl_knn_predict(&pred, z, 1, gen, lab2, 3, 2, 1), GB_OK);
    cr_expect_eq(pred, 4);
    cr_assert_eq(gb_zsl_knn_predict(&pred, z, 1, gen, lab2, 3, 2, 3), GB_OK);
    cr_expect_eq(pred, 3);
}

Test(zsl, accuracies_and_harmonic_mean) {
    int32_t lab[5] = {0, 0, 0, 2, 2}, pred[5] = {0, 0, 0, 0, 2};
    double a;
    cr_assert_eq(gb_zsl_accuracy(&a, pred, lab, 5, GB_ZSL_SAMPLE_MEAN), GB_OK);
    cr_expect_eq(a, 80.0);
    cr_assert_eq(gb_zsl_accuracy(&a, pred, lab, 5, GB_ZSL_CLASS_MEAN), GB_OK);
    cr_expect_eq(a, 75.0, "classes 0 (3/3) and 2 (1/2); class 1 absent: %g", a);
    cr_expect_eq(gb_zsl_harmonic_mean(40, 60), 48.0);
    cr_expect_eq(gb_zsl_harmonic_mean(0, 0), 0.0);
    cr_expect_eq(gb_zsl_harmonic_mean(0, 70), 0.0);
}

Test(zsl, lambda_grid_and_trapezoid) {
    double g[GB_ZSL_N_LAMBDA];
    cr_expect_eq(gb_zsl_lambda_grid(g), 400);
    cr_expect_eq(g[0], -2.0);
    cr_expect(fabs(g[200]) < 1e-14 && fabs(g[399] - 1.99) < 1e-14, "%.17g %.17g", g[200], g[399]);
    double x[3] = {0, 1, 3}, y[3] = {1, 1, 0};
    cr_expect_eq(gb_trapezoid(y, x, 3), 2.0);
    cr_expect_eq(gb_trapezoid(y, x, 1), 0.0);
    double xr[3] = {3, 1, 0};
    cr_expect_eq(gb_trapezoid(y, xr, 3), -2.5, "signed like numpy.trapz");
}

/* Two seen columns and one unseen column; one seen and one unseen sample. */
static void sweep_case(double seen0, double unseen1, double want_auc, double want_ausuc) {
    double ss[3] = {seen0, 0.1, 0.5}, su[3] = {0.2, unseen1, 0.5};
    int32_t ls = 0, lu = 2;
    double lam[GB_ZSL_N_LAMBDA], as[GB_ZSL_N_LAMBDA], au[GB_ZSL_N_LAMBDA];
    gb_zsl_lambda_grid(lam);
    cr_assert_eq(gb_zsl_calibration_sweep(as, au, ss, &ls, 1, su, &lu, 1, 2, 3, lam,
                                          GB_ZSL_N_LAMBDA, GB_ZSL_SAMPLE_MEAN), GB_OK, "%s",
                 gb_last_error());
    for (int l = 0; l < GB_ZSL_N_LAMBDA; l++) {
        cr_expect_eq(as[l], lam[l] + 0.5 <= seen0 ? 1.0 : 0.0, "acc_S at lambda %.3f", lam[l]);
        cr_expect_eq(au[l], lam[l] + 0.5 > unseen1 ? 1.0 : 0.0, "acc_U at lambda %.3f", lam[l]);
    }
    cr_expect_eq(gb_trapezoid(as, au, GB_ZSL_N_LAMBDA) * 100, want_auc);
    double a, smax, umax;
    cr_assert_eq(gb_zsl_ausuc(&a, &smax, &umax, ss, &ls, 1, su, &lu, 1, 2, 3, GB_ZSL_CLASS_MEAN),
                 GB_OK, "%s", gb_last_error());
    cr_expect_eq(a, want_ausuc, "AUSUC %.17g", a);
    cr_expect_eq(smax, 1.0);
    cr_expect_eq(umax, 1.0);
}

Test(zsl, calibration_curves_by_hand) {
    /* Unseen sample turns right at lambda > 0.1 while the seen one is still right (to 0.4):
     * the curve passes through (1, 1): area 1. */
    sweep_case(0.9, 0.6, 100.0, 100.0);
    /* The seen sample fails (lambda > 0.2) before the unseen one succeeds (> 0.3): area 0. */
    sweep_case(0.7, 0.8, 0.0, 0.0);
}

Test(zsl, sweep_tie_goes_to_the_seen_column) {
    double lam[GB_ZSL_N_LAMBDA], as[GB_ZSL_N_LAMBDA], au[GB_ZSL_N_LAMBDA];
    gb_zsl_lambda_grid(lam);
    /* At lambda[250] the unseen column's 0.5 + lambda equals the seen maximum exactly:
     * np.argmax returns the first maximum, a seen column. */
    double ss[3] = {0.5 + lam[250], 0.0, 0.5}, su[3] = {0.0, 0.0, 1.0};
    int32_t ls = 0, lu = 2;
    cr_assert_eq(gb_zsl_calibration_sweep(as, au, ss, &ls, 1, su, &lu, 1, 2, 3, lam,
                                          GB_ZSL_N_LAMBDA, GB_ZSL_SAMPLE_MEAN), GB_OK);
    cr_expect_eq(as[250], 1.0, "tie at lambda %.17g stays seen", lam[250]);
    cr_expect_eq(as[251], 0.0);
}

Test(zsl, ausuc_equal_switch_points_make_a_diagonal) {
    double ss[3] = {0.8, 0.1, 0.5}, su[3] = {0.8, 0.1, 0.5};
    int32_t ls = 0, lu = 2;
    double a;
    cr_assert_eq(gb_zsl_ausuc(&a, NULL, NULL, ss, &ls, 1, su, &lu, 1, 2, 3, GB_ZSL_SAMPLE_MEAN), GB_OK);
    cr_expect_eq(a, 50.0, "both switch at gamma = 0.3: one diagonal step, area 1/2; got %g", a);
    /* Seen labels must be seen columns. */
    ls = 2;
    cr_expect_eq(gb_zsl_ausuc(&a, NULL, NULL, ss, &ls, 1, su, &lu, 1, 2, 3, GB_ZSL_SAMPLE_MEAN), GB_INPUT);
}

Test(zsl, bad_inputs_are_rejected) {
    float q[2] = {1, 0}, gen[4] = {1, 0, 0, 1};
    int32_t lab[2] = {0, 1}, pred;
    cr_expect_eq(gb_zsl_knn_predict(&pred, q, 1, gen, lab, 2, 2, 3), GB_USAGE);
    cr_expect_eq(gb_zsl_knn_predict(&pred, q, 1, gen, lab, 2, 2, 0), GB_USAGE);
    q[1] = NAN;
    cr_expect_eq(gb_zsl_knn_predict(&pred, q, 1, gen, lab, 2, 2, 1), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "query row 0, column 1") != NULL, "%s", gb_last_error());
    q[1] = 0;
    lab[1] = -1;
    cr_expect_eq(gb_zsl_knn_predict(&pred, q, 1, gen, lab, 2, 2, 1), GB_INPUT);
    double acc;
    int32_t tl = 3;
    cr_expect_eq(gb_zsl_text_top1(&acc, q, &tl, 1, gen, 2, 1, 2, 1), GB_INPUT, "label 3 of 2 classes");
}

/* ---- blocked kNN against a brute-force double loop ---- */

static int32_t brute_vote(const float *q, const float *gen, size_t ng, size_t dim, size_t k,
                          size_t per) {
    double *s = malloc(ng * sizeof *s);
    size_t *ix = malloc(ng * sizeof *ix);
    double qn = 0;
    for (size_t c = 0; c < dim; c++) qn += (double)q[c] * q[c];
    for (size_t j = 0; j < ng; j++) {
        double d = 0, gn = 0;
        for (size_t c = 0; c < dim; c++) {
            d += (double)q[c] * gen[j * dim + c];
            gn += (double)gen[j * dim + c] * gen[j * dim + c];
        }
        s[j] = d / (sqrt(qn) * sqrt(gn));
        ix[j] = j;
    }
    for (size_t a = 0; a < k; a++) /* selection of the k best, lower index first on ties */
        for (size_t b = a + 1; b < ng; b++)
            if (s[ix[b]] > s[ix[a]] || (s[ix[b]] == s[ix[a]] && ix[b] < ix[a])) {
                size_t t = ix[a];
                ix[a] = ix[b];
                ix[b] = t;
            }
    int32_t votes[64] = {0}, best = 0;
    for (size_t a = 0; a < k; a++) votes[ix[a] / per]++;
    for (int c = 1; c < 64; c++)
        if (votes[c] > votes[best]) best = c;
    free(s);
    free(ix);
    return best;
}

Test(zsl, blocked_knn_matches_brute_force_across_blocks) {
    enum { NQ = 300, NG = 2520, D = 8, PC = 60 }; /* 42 classes; > 256 queries, > 1024 rows */
    float *q = malloc(NQ * D * sizeof *q), *g = malloc(NG * D * sizeof *g);
    int32_t *lab = malloc(NG * sizeof *lab), *pred = malloc(NQ * sizeof *pred);
    uint64_t st = 0x2b1ULL;
    for (int i = 0; i < NQ * D; i++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        q[i] = (float)((double)(st >> 11) / 9007199254740992.0 - 0.5);
    }
    for (int i = 0; i < NG * D; i++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        g[i] = (float)((double)(st >> 11) / 9007199254740992.0 - 0.5);
    }
    for (int j = 0; j < NG; j++) lab[j] = j / PC;
    cr_assert_eq(gb_zsl_knn_predict(pred, q, NQ, g, lab, NG, D, 20), GB_OK, "%s", gb_last_error());
    int bad = 0;
    for (int i = 0; i < NQ; i++) bad += pred[i] != brute_vote(q + i * D, g, NG, D, 20, PC);
    cr_expect_eq(bad, 0, "%d of %d predictions differ from the brute force", bad, NQ);
    free(q);
    free(g);
    free(lab);
    free(pred);
}

/* ---- parity with the numpy transcriptions ---- */

typedef struct {
    float *gen_seen, *gen_unseen, *train_seen, *test_seen, *test_unseen;
    int32_t *lab_train, *lab_test_seen, *lab_test_unseen;
    size_t n_train, n_ts, n_tu;
} zdata;

static zdata load(void) {
    zdata z;
    z.gen_seen = mm_read_f32("zsl_gen_seen", NS * PER * DIM, NULL);
    z.gen_unseen = mm_read_f32("zsl_gen_unseen", NU * PER * DIM, NULL);
    z.lab_train = mm_read_i32("zsl_lab_train", 0, &z.n_train);
    z.lab_test_seen = mm_read_i32("zsl_lab_test_seen", 0, &z.n_ts);
    z.lab_test_unseen = mm_read_i32("zsl_lab_test_unseen", 0, &z.n_tu);
    z.train_seen = mm_read_f32("zsl_train_seen", z.n_train * DIM, NULL);
    z.test_seen = mm_read_f32("zsl_test_seen", z.n_ts * DIM, NULL);
    z.test_unseen = mm_read_f32("zsl_test_unseen", z.n_tu * DIM, NULL);
    return z;
}

static void unload(zdata *z) {
    free(z->gen_seen);
    free(z->gen_unseen);
    free(z->train_seen);
    free(z->test_seen);
    free(z->test_unseen);
    free(z->lab_train);
    free(z->lab_test_seen);
    free(z->lab_test_unseen);
}

Test(zsl, text_top1_matches_numpy) {
    zdata z = load();
    double *sref = mm_read_f64("zsl_cosine", 7 * 50, NULL);
    double sims[7 * 50];
    cr_assert_eq(gb_zsl_cosine(sims, z.test_unseen, 7, z.gen_unseen, 50, DIM), GB_OK);
    for (int i = 0; i < 7 * 50; i++)
        cr_expect(fabs(sims[i] - sref[i]) <= TOL_COS, "cosine[%d] %.17g vs %.17g", i, sims[i], sref[i]);

    double *pref = mm_read_f64("zsl_text_preds", z.n_tu, NULL), *aref = mm_read_f64("zsl_text_top1", 1, NULL);
    int32_t *gl = malloc(NU * PER * sizeof *gl), *pred = malloc(z.n_tu * sizeof *pred);
    for (int j = 0; j < NU * PER; j++) gl[j] = j / PER;
    cr_assert_eq(gb_zsl_knn_predict(pred, z.test_unseen, z.n_tu, z.gen_unseen, gl, NU * PER, DIM,
                                    GB_ZSL_KNN), GB_OK);
    for (size_t i = 0; i < z.n_tu; i++) cr_expect_eq(pred[i], (int32_t)pref[i], "prediction %zu", i);
    double acc;
    cr_assert_eq(gb_zsl_text_top1(&acc, z.test_unseen, z.lab_test_unseen, z.n_tu, z.gen_unseen, NU,
                                  PER, DIM, GB_ZSL_KNN), GB_OK, "%s", gb_last_error());
    cr_expect_eq(acc, aref[0], "top-1 %.17g vs numpy %.17g", acc, aref[0]);
    free(sref);
    free(pref);
    free(aref);
    free(gl);
    free(pred);
    unload(&z);
}

Test(zsl, text_gzsl_auc_matches_numpy) {
    zdata z = load();
    double *lref = mm_read_f64("zsl_lambdas", GB_ZSL_N_LAMBDA, NULL);
    double lam[GB_ZSL_N_LAMBDA];
    gb_zsl_lambda_grid(lam);
    cr_expect(memcmp(lam, lref, sizeof lam) == 0, "lambda grid equals np.arange(-2, 2, 0.01) bitwise");

    /* Prototypes and scores. */
    float *gen = malloc((NS + NU) * PER * DIM * sizeof *gen);
    memcpy(gen, z.gen_seen, NS * PER * DIM * sizeof *gen);
    memcpy(gen + NS * PER * DIM, z.gen_unseen, NU * PER * DIM * sizeof *gen);
    double protos[(NS + NU) * DIM];
    gb_zsl_class_means(protos, gen, NS + NU, PER, DIM);
    double *pv = mm_read_f64("zsl_pivots", (NS + NU) * DIM, NULL);
    mm_expect_close("prototypes", protos, pv, (NS + NU) * DIM, 1e-14, 1.0);
    double *sc = malloc(z.n_train * (NS + NU) * sizeof *sc);
    double *scref = mm_read_f64("zsl_seen_scores", z.n_train * (NS + NU), NULL);
    cr_assert_eq(gb_zsl_cosine_scores(sc, z.train_seen, z.n_train, protos, NS + NU, DIM), GB_OK);
    for (size_t i = 0; i < z.n_train * (NS + NU); i++)
        cr_expect(fabs(sc[i] - scref[i]) <= TOL_COS, "score %zu: %.17g vs %.17g", i, sc[i], scref[i]);

    double as[GB_ZSL_N_LAMBDA], au[GB_ZSL_N_LAMBDA], auc;
    cr_assert_eq(gb_zsl_text_gzsl_auc(&auc, as, au, z.train_seen, z.lab_train, z.n_train, z.test_unseen,
                                      z.lab_test_unseen, z.n_tu, gen, NS, NU, PER, DIM), GB_OK, "%s",
                 gb_last_error());
    double *asr = mm_read_f64("zsl_gzsl_acc_s", GB_ZSL_N_LAMBDA, NULL);
    double *aur = mm_read_f64("zsl_gzsl_acc_u", GB_ZSL_N_LAMBDA, NULL);
    double *aucr = mm_read_f64("zsl_gzsl_auc", 1, NULL);
    int bad = 0;
    for (int l = 0; l < GB_ZSL_N_LAMBDA; l++) bad += as[l] != asr[l] || au[l] != aur[l];
    cr_expect_eq(bad, 0, "%d of 400 sweep points differ", bad);
    expect_rel(auc, aucr[0], TOL_MEAN, "GZSL AUC");
    cr_expect(auc > 5 && auc < 95, "a non-trivial curve (AUC %g)", auc);
    free(gen);
    free(pv);
    free(sc);
    free(scref);
    free(asr);
    free(aur);
    free(aucr);
    free(lref);
    unload(&z);
}

Test(zsl, gbu_matches_numpy) {
    zdata z = load();
    double *ref = mm_read_f64("zsl_gbu", 4, NULL);
    gb_zsl_gbu_result r;
    cr_assert_eq(gb_zsl_gbu_evaluate(&r, z.test_seen, z.lab_test_seen, z.n_ts, z.test_unseen,
                                     z.lab_test_unseen, z.n_tu, z.gen_seen, NS, z.gen_unseen, NU,
                                     PER, DIM, GB_ZSL_KNN), GB_OK, "%s", gb_last_error());
    expect_rel(r.zsl_t1, ref[0], TOL_MEAN, "GBU ZSL T1");
    expect_rel(r.u, ref[1], TOL_MEAN, "GBU u");
    expect_rel(r.s, ref[2], TOL_MEAN, "GBU s");
    expect_rel(r.h, ref[3], TOL_MEAN, "GBU H");
    double *ausuc = mm_read_f64("zsl_gbu_ausuc", 1, NULL);
    expect_rel(r.ausuc, ausuc[0], TOL_MEAN, "GBU AUSUC (prototype scores, per-class accuracies)");
    cr_expect(r.ausuc > 0.0 && r.ausuc < 100.0, "GBU AUSUC %g", r.ausuc);
    cr_expect_eq(gb_zsl_gbu_evaluate(&r, z.test_seen, z.lab_test_seen, 0, z.test_unseen, z.lab_test_unseen, z.n_tu,
                                     z.gen_seen, NS, z.gen_unseen, NU, PER, DIM, GB_ZSL_KNN),
                 GB_INPUT, "no seen test samples");
    cr_expect_not_null(strstr(gb_last_error(), "0 seen and"), "%s", gb_last_error());
    cr_expect_eq(gb_zsl_gbu_evaluate(&r, z.test_seen, z.lab_test_seen, z.n_ts, z.test_unseen, z.lab_test_unseen, 0,
                                     z.gen_seen, NS, z.gen_unseen, NU, PER, DIM, GB_ZSL_KNN),
                 GB_INPUT, "no unseen test samples");
    cr_expect_not_null(strstr(gb_last_error(), "and 0 unseen test samples"), "%s", gb_last_error());
    free(ausuc);
    free(ref);
    unload(&z);
}

Test(zsl, ausuc_matches_a_dense_numpy_sweep) {
    size_t ns, nu;
    int32_t *ls = mm_read_i32("zsl_ausuc_labels_s", 0, &ns), *lu = mm_read_i32("zsl_ausuc_labels_u", 0, &nu);
    double *ss = mm_read_f64("zsl_ausuc_scores_s", ns * (NS + NU), NULL);
    double *su = mm_read_f64("zsl_ausuc_scores_u", nu * (NS + NU), NULL);
    static const char *names[2] = {"zsl_ausuc_sample", "zsl_ausuc_class"};
    for (int avg = 0; avg < 2; avg++) {
        double *ref = mm_read_f64(names[avg], 3, NULL), a, smax, umax;
        cr_assert_eq(gb_zsl_ausuc(&a, &smax, &umax, ss, ls, ns, su, lu, nu, NS, NS + NU,
                                  (gb_zsl_average)avg), GB_OK, "%s", gb_last_error());
        expect_rel(a, ref[0], TOL_MEAN, names[avg]);
        expect_rel(smax, ref[1], TOL_MEAN, "A_S at gamma -> -inf");
        expect_rel(umax, ref[2], TOL_MEAN, "A_U at gamma -> +inf");
        free(ref);
    }
    free(ls);
    free(lu);
    free(ss);
    free(su);
}
