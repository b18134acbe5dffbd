/* tests/test_fid_stats.c - metrics/fid.h, kid.h, prdc.h, inception_score.h against closed forms
 * and against their peers (fixtures from tests/peers/fid_stats.py: pytorch-fid's and clean-fid's
 * own functions, numpy transcriptions). Tolerances and their reasons: tests/tolerances.md,
 * section "FID statistics, KID, PRDC, IS (tests/test_fid_stats.c)".
 */
#include <criterion/criterion.h>

#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/npy.h"
#include "metrics/fid.h"
#include "metrics/inception_score.h"
#include "metrics/kid.h"
#include "metrics/prdc.h"
#include "tests/fid_fixture.h"
#include "tests/fd_capture.h"

#define TOL_STATS 1e-12    /* our mean/cov vs numpy's, both float64 from the same float32 rows */
#define TOL_FID_PEER 1e-9  /* our FID vs pytorch-fid / clean-fid / the SVD route */
#define TOL_FID_EXACT 1e-12 /* our FID vs the Cholesky-SVD route in float64 */
#define TOL_FID_CLEANFID 1e-7 /* clean-fid forms mu1 - mu2 and its square in float32 */
#define TOL_FID_CLOSED 1e-10 /* FID vs closed forms (relative to tr S1 + tr S2) */
#define TOL_KID 1e-10      /* per-subset MMD^2 vs numpy (relative to the kernel sums) */
#define TOL_PRDC_RADII 1e-12
#define TOL_IS 1e-12
#define TOL_IS_PROBS 1e-5  /* probabilities stored as float32 */
#define TEST_SEED 0x5eedf1dULL

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double rng_unif(uint64_t *s) { return ((rng_next(s) >> 11) + 0.5) * 0x1p-53; }

/* ---- statistics ----------------------------------------------------------------------------- */

static gb_fid_stats load_stats(const char *name, gb_fid_layout want) {
    char path[1024];
    gb_fid_stats s;
    gb_fid_layout layout;
    cr_assert_eq(gb_fid_stats_load(&s, fid_fixture(path, sizeof path, name), &layout), GB_OK, "%s", gb_last_error());
    cr_assert_eq(layout, want, "%s: layout detected as %s", name, gb_fid_layout_name(layout));
    return s;
}

static gb_fid_stats stats_of(const char *name) {
    size_t n, d;
    float *x = fid_features(name, &n, &d);
    gb_fid_stats s;
    cr_assert_eq(gb_fid_stats_from_features(&s, x, n, d, NULL), GB_OK, "%s", gb_last_error());
    free(x);
    return s;
}

Test(fid_stats, mean_and_cov_match_numpy) {
    gb_fid_stats ours = stats_of("fid_a.npy"), ref = load_stats("fid_a_pt.npz", GB_FID_LAYOUT_PYTORCH_FID);
    cr_assert_eq(ours.dim, 64);
    cr_assert_eq(ours.n, 2000);
    double big = 0.0, worst_mu = 0.0, worst_s = 0.0;
    for (size_t i = 0; i < 64 * 64; i++) big = fmax(big, fabs(ref.sigma[i]));
    for (size_t i = 0; i < 64; i++) worst_mu = fmax(worst_mu, fabs(ours.mu[i] - ref.mu[i]) / fabs(ref.mu[i]));
    for (size_t i = 0; i < 64 * 64; i++) worst_s = fmax(worst_s, fabs(ours.sigma[i] - ref.sigma[i]) / big);
    cr_expect_leq(worst_mu, TOL_STATS, "mu: worst relative error %.3g", worst_mu);
    cr_expect_leq(worst_s, TOL_STATS, "sigma: worst error %.3g relative to max |sigma|", worst_s);
    gb_fid_stats_free(&ours);
    gb_fid_stats_free(&ref);
}

Test(fid_stats, exact_small_case) {
    /* Rows (0,0), (4,2), (0,2), (4,0): mean (2, 1), covariance diag(16/3, 4/3), exactly. */
    const float x[] = {0, 0, 4, 2, 0, 2, 4, 0};
    gb_fid_stats s;
    cr_assert_eq(gb_fid_stats_from_features(&s, x, 4, 2, NULL), GB_OK);
    double want[4] = {16.0 / 3, 0.0, 0.0, 4.0 / 3};
    cr_expect_eq(s.mu[0], 2.0);
    cr_expect_eq(s.mu[1], 1.0);
    for (int i = 0; i < 4; i++) expect_rel(s.sigma[i], want[i], 1e-15, "sigma");
    gb_fid_stats_free(&s);
}

/* Results depend only on the row sequence: bitwise equal for any batch split. */
Test(fid_stats, batch_split_invariant) {
    size_t n = 1300, d = 5;
    uint64_t seed = TEST_SEED;
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)(rng_unif(&seed) * 3.0 + 1.0);
    gb_fid_stats all;
    cr_assert_eq(gb_fid_stats_from_features(&all, x, n, d, NULL), GB_OK);
    const size_t batches[] = {1, 7, 511, 512, 513, 1299};
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        gb_fid_accum a;
        cr_assert_eq(gb_fid_accum_init(&a, d), GB_OK);
        for (size_t i = 0; i < n; i += batches[b])
            cr_assert_eq(gb_fid_accum_add(&a, x + i * d, n - i < batches[b] ? n - i : batches[b]), GB_OK);
        gb_fid_stats s;
        cr_assert_eq(gb_fid_accum_finish(&a, &s), GB_OK);
        cr_expect_eq(memcmp(s.mu, all.mu, d * sizeof(double)), 0, "mu differs with batch %zu", batches[b]);
        cr_expect_eq(memcmp(s.sigma, all.sigma, d * d * sizeof(double)), 0, "sigma differs with batch %zu", batches[b]);
        gb_fid_stats_free(&s);
        gb_fid_accum_free(&a);
    }
    gb_fid_stats_free(&all);
    free(x);
}

/* Large mean, small spread: sum-of-squares formulas cancel ~8 digits here; the chunked merge
 * must match a two-pass float64 reference. Rows 1000 + k/64 are exact in float. */
Test(fid_stats, large_offset_no_cancellation) {
    size_t n = 3001, d = 3;
    uint64_t seed = TEST_SEED;
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n * d; i++) x[i] = 1000.0f + (float)(rng_next(&seed) % 128) / 64.0f;
    double mu[3] = {0}, c[9] = {0};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) mu[j] += x[i * d + j];
    for (size_t j = 0; j < d; j++) mu[j] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            for (size_t k = 0; k < d; k++) c[j * d + k] += (x[i * d + j] - mu[j]) * (x[i * d + k] - mu[k]);
    gb_fid_stats s;
    cr_assert_eq(gb_fid_stats_from_features(&s, x, n, d, NULL), GB_OK);
    for (size_t j = 0; j < d * d; j++) expect_rel(s.sigma[j], c[j] / (double)(n - 1), 1e-11, "sigma (offset 1000)");
    gb_fid_stats_free(&s);
    free(x);
}

Test(fid_stats, rejects_nonfinite_and_too_few_rows) {
    float x[6] = {1, 2, 3, NAN, 5, 6};
    gb_fid_stats s;
    cr_expect_eq(gb_fid_stats_from_features(&s, x, 3, 2, NULL), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "row 1, column 1"), "%s", gb_last_error());
    cr_expect_eq(gb_fid_stats_from_features(&s, x, 1, 2, NULL), GB_INPUT);
}

/* ---- Frechet distance: closed forms ------------------------------------------------------- */

/* A random orthogonal d x d matrix (QR of a random matrix, column-major Q). */
static double *random_orthogonal(size_t d, uint64_t *seed) {
    double *q = malloc(d * d * sizeof *q), *tau = malloc(d * sizeof *tau);
    for (size_t i = 0; i < d * d; i++) q[i] = rng_unif(seed) - 0.5;
    cr_assert_eq(LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)d, (lapack_int)d, q, (lapack_int)d, tau), 0);
    cr_assert_eq(LAPACKE_dorgqr(LAPACK_COL_MAJOR, (lapack_int)d, (lapack_int)d, (lapack_int)d, q, (lapack_int)d, tau), 0);
    free(tau);
    return q;
}

/* S = Q diag(e) Q^T. */
static double *with_eigenvalues(const double *q, const double *e, size_t d) {
    double *s = calloc(d * d, sizeof *s);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double v = 0.0;
            for (size_t k = 0; k < d; k++) v += q[k * d + i] * e[k] * q[k * d + j];
            s[i * d + j] = v;
        }
    for (size_t i = 0; i < d; i++)
        for (size_t j = i + 1; j < d; j++) s[i * d + j] = s[j * d + i] = 0.5 * (s[i * d + j] + s[j * d + i]);
    return s;
}

/* Commuting covariances: FID = |dmu|^2 + sum (sqrt(a_k) - sqrt(b_k))^2. */
static void commuting_case(size_t d, int zero_a, gb_frechet_method method) {
    uint64_t seed = TEST_SEED + d;
    double *q = random_orthogonal(d, &seed), *a = malloc(d * sizeof *a), *b = malloc(d * sizeof *b);
    double *m1 = malloc(d * sizeof *m1), *m2 = malloc(d * sizeof *m2), want = 0.0, scale = 0.0;
    for (size_t k = 0; k < d; k++) {
        a[k] = (zero_a && k % 3 == 0) ? 0.0 : 0.01 + rng_unif(&seed) * 4.0;
        b[k] = 0.01 + rng_unif(&seed) * 4.0;
        m1[k] = rng_unif(&seed);
        m2[k] = rng_unif(&seed);
        want += (m1[k] - m2[k]) * (m1[k] - m2[k]) + (sqrt(a[k]) - sqrt(b[k])) * (sqrt(a[k]) - sqrt(b[k]));
        scale += a[k] + b[k];
    }
    double *s1 = with_eigenvalues(q, a, d), *s2 = with_eigenvalues(q, b, d), got;
    cr_assert_eq(gb_frechet_distance(&got, m1, s1, m2, s2, d, method), GB_OK, "%s", gb_last_error());
    cr_expect(fabs(got - want) <= TOL_FID_CLOSED * scale, "d %zu (singular %d, method %d): FID %.17g, closed form %.17g",
              d, zero_a, (int)method, got, want);
    free(q), free(a), free(b), free(m1), free(m2), free(s1), free(s2);
}

typedef struct {
    const float *x;
    size_t n, d;
    const double *s1, *s2;
    gb_frechet_method method;
    const char *label1, *label2; /* the statistics' labels (NULL: unlabelled) */
} warn_case;

static void stats_call(void *ctx) {
    warn_case *c = ctx;
    gb_fid_stats s;
    cr_assert_eq(gb_fid_stats_from_features(&s, c->x, c->n, c->d, c->label1), GB_OK, "%s", gb_last_error());
    if (c->label1) cr_expect_str_eq(s.label, c->label1);
    gb_fid_stats_free(&s);
}

/* gb_fid_from_stats on statistics with s1, s2 as covariances and the case's labels. */
static void labelled_call(void *ctx) {
    warn_case *c = ctx;
    double mu[8] = {0}, v;
    gb_fid_stats a = {.dim = c->d, .mu = mu, .sigma = (double *)c->s1}, b = {.dim = c->d, .mu = mu,
                                                                            .sigma = (double *)c->s2};
    snprintf(a.label, sizeof a.label, "%s", c->label1);
    snprintf(b.label, sizeof b.label, "%s", c->label2);
    cr_assert_eq(gb_fid_from_stats(&v, &a, &b), GB_OK, "%s", gb_last_error());
}

static void frechet_call(void *ctx) {
    warn_case *c = ctx;
    double mu[8] = {0}, v;
    cr_assert_eq(gb_frechet_distance(&v, mu, c->s1, mu, c->s2, c->d, c->method), GB_OK, "%s", gb_last_error());
}

/* What call(c) writes to stderr holds want, or (when it is not NULL) or_want. */
static void expect_warning(void (*call)(void *), warn_case *c, const char *want, const char *or_want) {
    char *log = stderr_of(call, c);
    cr_expect(strstr(log, want) || (or_want && strstr(log, or_want)), "wanted '%s'%s%s%s in '%s'", want,
              or_want ? " or '" : "", or_want ? or_want : "", or_want ? "'" : "", log);
    free(log);
}

/* Rank-deficient covariances are named in a warning, with the count of zero eigenvalues:
 * N <= d rows (N = d included: N rows span only N - 1 dimensions about their mean), and a
 * covariance that is singular for any other reason (here loaded-statistics style, built
 * directly), whichever of the two it is and on both factor paths. Full rank warns nothing. */
Test(fid_frechet, warns_about_rank_deficient_covariances) {
    float x[9 * 8]; /* 9 rows of 8: the first 8 (N = d), then all 9 (N = d + 1) */
    uint64_t seed = TEST_SEED + 77;
    for (size_t i = 0; i < 9 * 8; i++) x[i] = (float)rng_unif(&seed);
    warn_case c = {.x = x, .n = 8, .d = 8};
    char *log = stderr_of(stats_call, &c);
    cr_expect_not_null(strstr(log, "from 8 samples in 8 dimensions"), "N = d must warn: '%s'", log);
    cr_expect_not_null(strstr(log, "rank at most 7"), "'%s'", log);
    free(log);
    c.n = 9;
    log = stderr_of(stats_call, &c);
    cr_expect_eq(log[0], 0, "N = d + 1 rows are enough: '%s'", log);
    free(log);

    size_t d = 8;
    double *q = random_orthogonal(d, &seed), full[8], two_zero[8];
    for (size_t k = 0; k < d; k++) {
        full[k] = 0.5 + rng_unif(&seed);
        two_zero[k] = k < 2 ? 0.0 : full[k];
    }
    double *s_full = with_eigenvalues(q, full, d), *s_sing = with_eigenvalues(q, two_zero, d);
    c = (warn_case){.d = d, .s1 = s_full, .s2 = s_sing, .method = GB_FRECHET_AUTO};
    expect_warning(frechet_call, &c, "sigma2 (or sigma1, nearly singular) is rank-deficient (2 of its 8 eigenvalues",
                   NULL);
    log = stderr_of(frechet_call, &c);
    cr_expect_null(strstr(log, "sigma1 is"), "'%s'", log);
    free(log);
    /* sigma1 singular: dpotrf refuses it and the Cholesky path factors sigma2 instead, or (as
     * LAPACK's rounding falls: it does with OpenBLAS's Zen kernels) it passes with two
     * pivots of rounding size, and L^T S2 L's two zero eigenvalues are named as sigma2's "or
     * sigma1, nearly singular": either way the warning names sigma1 and the count */
    c.s1 = s_sing, c.s2 = s_full;
    expect_warning(frechet_call, &c, "sigma1 is rank-deficient (2 of its 8 eigenvalues",
                   "(or sigma1, nearly singular) is rank-deficient (2 of its 8 eigenvalues");
    c.method = GB_FRECHET_EIGEN;
    expect_warning(frechet_call, &c, "sigma1 is rank-deficient (2 of its 8 eigenvalues", NULL);
    c.s1 = s_full, c.method = GB_FRECHET_AUTO;
    log = stderr_of(frechet_call, &c);
    cr_expect_eq(log[0], 0, "full-rank covariances warn nothing: '%s'", log);
    free(log);

    /* Labelled statistics (what `genbench fid` and `evaluate` compute or load) are named by
     * their labels: the user sees which input is short of samples. */
    c.label1 = "ref.npz", c.label2 = "samples/";
    c.s1 = s_full, c.s2 = s_sing;
    expect_warning(labelled_call, &c,
                   "the covariance of samples/ (or the covariance of ref.npz, nearly singular) is rank-deficient (2 of "
                   "its 8 eigenvalues",
                   NULL);
    c.s1 = s_sing, c.s2 = s_full;
    expect_warning(labelled_call, &c, "the covariance of ref.npz is rank-deficient (2 of its 8",
                   "(or the covariance of ref.npz, nearly singular) is rank-deficient (2 of its 8");
    c.x = x, c.n = 8, c.d = 8;
    expect_warning(stats_call, &c, "FID statistics of ref.npz from 8 samples in 8 dimensions", NULL);
    free(q), free(s_full), free(s_sing);
}

Test(fid_frechet, commuting_covariances_closed_form) {
    commuting_case(1, 0, GB_FRECHET_AUTO);
    commuting_case(7, 0, GB_FRECHET_AUTO);
    commuting_case(7, 0, GB_FRECHET_EIGEN);
    commuting_case(96, 0, GB_FRECHET_AUTO);
    commuting_case(96, 0, GB_FRECHET_EIGEN);
}

/* Orders above dsygst's and dsytrd's block sizes (64, 32 in reference LAPACK), so the blocked
 * code of the Cholesky path's L^T S2 L (dsygst) runs, not only its unblocked kernel. */
Test(fid_frechet, commuting_covariances_blocked_orders) {
    commuting_case(200, 0, GB_FRECHET_AUTO);
    commuting_case(200, 0, GB_FRECHET_EIGEN);
    commuting_case(129, 1, GB_FRECHET_AUTO);
}

/* Diagonal covariances, the textbook closed form: FID = |dmu|^2 + sum (sqrt(a_k) - sqrt(b_k))^2,
 * at d = 300 with S1 full rank (the Cholesky path) and with a third of S1's variances 0 (AUTO
 * then factors S2; EIGEN drops S1's null space). */
Test(fid_frechet, diagonal_covariances_closed_form) {
    enum { D = 300 };
    uint64_t seed = TEST_SEED + 300;
    double *s1 = calloc(D * D, sizeof *s1), *s2 = calloc(D * D, sizeof *s2), m1[D], m2[D];
    for (int singular = 0; singular < 2; singular++) {
        double want = 0.0, scale = 0.0, got;
        for (int k = 0; k < D; k++) {
            double a = singular && k % 3 == 1 ? 0.0 : 0.05 + 3.0 * rng_unif(&seed), b = 0.05 + 3.0 * rng_unif(&seed);
            s1[k * D + k] = a;
            s2[k * D + k] = b;
            m1[k] = rng_unif(&seed);
            m2[k] = rng_unif(&seed);
            want += (m1[k] - m2[k]) * (m1[k] - m2[k]) + (sqrt(a) - sqrt(b)) * (sqrt(a) - sqrt(b));
            scale += a + b;
        }
        for (int method = 0; method < 2; method++) {
            gb_frechet_method m = method ? GB_FRECHET_EIGEN : GB_FRECHET_AUTO;
            cr_assert_eq(gb_frechet_distance(&got, m1, s1, m2, s2, D, m), GB_OK, "%s", gb_last_error());
            cr_expect(fabs(got - want) <= TOL_FID_CLOSED * scale, "diagonal, singular %d, method %d: %.17g vs %.17g",
                      singular, method, got, want);
        }
    }
    free(s1);
    free(s2);
}

/* Singular S1 (every third eigenvalue 0): AUTO falls back to factoring S2; EIGEN drops columns. */
Test(fid_frechet, singular_covariance_closed_form) {
    commuting_case(30, 1, GB_FRECHET_AUTO);
    commuting_case(30, 1, GB_FRECHET_EIGEN);
}

Test(fid_frechet, both_singular_disjoint_supports) {
    /* S1 = diag(4, 0), S2 = diag(0, 9): S1 S2 = 0, so FID = |dmu|^2 + 4 + 9. */
    double m[2] = {0, 0}, s1[4] = {4, 0, 0, 0}, s2[4] = {0, 0, 0, 9}, got;
    cr_assert_eq(gb_frechet_distance(&got, m, s1, m, s2, 2, GB_FRECHET_AUTO), GB_OK);
    expect_rel(got, 13.0, 1e-15, "disjoint supports");
    /* Rank one: S1 = v v^T, S2 = I: tr sqrt(S1) = |v|. */
    double v[3] = {1, 2, 2}, r1[9], eye[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, z[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) r1[i * 3 + j] = v[i] * v[j];
    cr_assert_eq(gb_frechet_distance(&got, z, r1, z, eye, 3, GB_FRECHET_EIGEN), GB_OK);
    expect_rel(got, 9.0 + 3.0 - 2.0 * 3.0, 1e-14, "rank one");
}

Test(fid_frechet, identical_stats_give_zero) {
    gb_fid_stats a = stats_of("fid_a.npy");
    double got, tr = 0.0;
    for (size_t i = 0; i < a.dim; i++) tr += a.sigma[i * a.dim + i];
    cr_assert_eq(gb_fid_from_stats(&got, &a, &a), GB_OK);
    cr_expect(fabs(got) <= TOL_FID_CLOSED * tr, "FID(a, a) = %.3g (tr S = %.3g)", got, tr);
    gb_fid_stats_free(&a);
}

Test(fid_frechet, rejects_nonfinite) {
    double m[2] = {0, NAN}, s[4] = {1, 0, 0, 1}, got;
    cr_expect_eq(gb_frechet_distance(&got, m, s, (double[]){0, 0}, s, 2, GB_FRECHET_AUTO), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "mu1[1]"), "%s", gb_last_error());
    /* finite statistics whose distance overflows: a numerical failure, never an "inf" FID */
    double big[2] = {1e200, 0};
    cr_expect_eq(gb_frechet_distance(&got, big, s, (double[]){0, 0}, s, 2, GB_FRECHET_AUTO), GB_NUMERIC);
    cr_expect_not_null(strstr(gb_last_error(), "overflows double"), "%s", gb_last_error());
}

/* Matrices that are no covariance are refused naming the matrix, whichever route meets the
 * defect: a negative variance, a clearly negative eigenvalue of S1 (the eigen route) or of S2
 * (seen in L^T S2 L, Sylvester's law of inertia, then judged on S2's own eigenvalues); a
 * covariance rounded to float32 (as TTUR's statistics files store it) still passes. Gross
 * asymmetry is the stats loader's to refuse (fid_files.rejects_bad_stats). */
Test(fid_frechet, refuses_matrices_that_are_no_covariance) {
    size_t d = 8;
    uint64_t seed = TEST_SEED + 91;
    double *q = random_orthogonal(d, &seed), full[8], one_negative[8], mu[8] = {0}, got;
    for (size_t k = 0; k < d; k++) {
        full[k] = 0.5 + rng_unif(&seed);
        one_negative[k] = k == 0 ? -1.0 : full[k];
    }
    double *good = with_eigenvalues(q, full, d), *bad = with_eigenvalues(q, one_negative, d);
    gb_fid_stats a = {.dim = d, .mu = mu, .sigma = good}, b = {.dim = d, .mu = mu, .sigma = bad};
    snprintf(a.label, sizeof a.label, "ref.npz");
    snprintf(b.label, sizeof b.label, "negative.npz");
    cr_expect_eq(gb_fid_from_stats(&got, &a, &b), GB_INPUT, "S2 indefinite, S1 factored");
    cr_expect_not_null(strstr(gb_last_error(), "the covariance of negative.npz is not positive semi-definite"), "%s",
                       gb_last_error());
    cr_expect_eq(gb_fid_from_stats(&got, &b, &a), GB_INPUT, "S1 indefinite, S2 factored");
    cr_expect_not_null(strstr(gb_last_error(), "the covariance of negative.npz is not positive semi-definite"), "%s",
                       gb_last_error());
    cr_expect_eq(gb_frechet_distance(&got, mu, bad, mu, good, d, GB_FRECHET_EIGEN), GB_INPUT, "the eigen route");
    cr_expect_not_null(strstr(gb_last_error(), "sigma1 is not positive semi-definite (it has eigenvalue -1"), "%s",
                       gb_last_error());
    cr_expect_eq(gb_frechet_distance(&got, mu, good, mu, bad, d, GB_FRECHET_EIGEN), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "sigma2 is not positive semi-definite"), "%s", gb_last_error());

    /* -I against -I: both Cholesky factorisations fail; the eigen route names sigma1 */
    double minus_i[64] = {0};
    for (size_t k = 0; k < d; k++) minus_i[k * d + k] = -1.0;
    cr_expect_eq(gb_frechet_distance(&got, mu, good, mu, minus_i, d, GB_FRECHET_AUTO), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "sigma2 has a negative variance, [0, 0] = -1"), "%s", gb_last_error());

    /* rounded to float32 entry by entry (symmetric still), a covariance with a tiny eigenvalue
     * keeps its FID: at most a warning */
    double tiny[8], rounded[64];
    for (size_t k = 0; k < d; k++) tiny[k] = k == 0 ? 1e-9 : full[k];
    double *near_singular = with_eigenvalues(q, tiny, d);
    for (size_t i = 0; i < d * d; i++) rounded[i] = (float)near_singular[i];
    cr_expect_eq(gb_frechet_distance(&got, mu, good, mu, rounded, d, GB_FRECHET_AUTO), GB_OK, "%s", gb_last_error());
    cr_expect_eq(gb_frechet_distance(&got, mu, rounded, mu, good, d, GB_FRECHET_EIGEN), GB_OK, "%s", gb_last_error());

    /* two covariances spread over different directions: S1 large only along q0, S2 with a
     * rounding-size negative eigenvalue (-2e-6 of its largest) just there. The congruence's
     * lowest eigenvalue is then 2e-3 of its largest, yet S2 is a covariance up to rounding: the
     * refusal is judged against ||L||^2 tr(S2), not the congruence's own largest eigenvalue */
    double s1_spread[8], s2_spread[8];
    for (size_t k = 0; k < d; k++) {
        s1_spread[k] = k == 0 ? 1.0 : 1e-3;
        s2_spread[k] = k == 0 ? -2e-6 : 1.0;
    }
    double *a_dir = with_eigenvalues(q, s1_spread, d), *b_dir = with_eigenvalues(q, s2_spread, d);
    cr_expect_eq(gb_frechet_distance(&got, mu, a_dir, mu, b_dir, d, GB_FRECHET_AUTO), GB_OK, "%s", gb_last_error());
    cr_expect_eq(gb_frechet_distance(&got, mu, a_dir, mu, b_dir, d, GB_FRECHET_EIGEN), GB_OK, "%s", gb_last_error());

    /* at d = 256 an eigenvalue -10 among 255 ones: clearly indefinite however the product is
     * scaled (a bound by the traces, 256 x 245 x 1e-3, would let it pass), in either order */
    const size_t big_d = 256;
    uint64_t big_seed = TEST_SEED + 92;
    double *big_q = random_orthogonal(big_d, &big_seed), *ones = malloc(big_d * sizeof *ones),
           *zeros_mu = calloc(big_d, sizeof *zeros_mu);
    for (size_t k = 0; k < big_d; k++) ones[k] = 1.0;
    double *identity = with_eigenvalues(big_q, ones, big_d);
    ones[0] = -10.0;
    double *indefinite = with_eigenvalues(big_q, ones, big_d);
    cr_expect_eq(gb_frechet_distance(&got, zeros_mu, identity, zeros_mu, indefinite, big_d, GB_FRECHET_AUTO),
                 GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "sigma2 is not positive semi-definite (it has eigenvalue -10"), "%s",
                       gb_last_error());
    cr_expect_eq(gb_frechet_distance(&got, zeros_mu, indefinite, zeros_mu, identity, big_d, GB_FRECHET_AUTO),
                 GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "sigma1 is not positive semi-definite (it has eigenvalue -10"), "%s",
                       gb_last_error());
    /* the negative direction of S2 is one S1 is (nearly) zero in: the congruence cannot show it,
     * the distance comes out -5; refused all the same, naming S2, in either order */
    for (int exact_zero = 0; exact_zero < 2; exact_zero++) {
        ones[0] = exact_zero ? 0.0 : 1e-7;
        double *blind = with_eigenvalues(big_q, ones, big_d);
        cr_expect_eq(gb_frechet_distance(&got, zeros_mu, blind, zeros_mu, indefinite, big_d, GB_FRECHET_AUTO),
                     GB_INPUT, "got %g", got);
        cr_expect_not_null(strstr(gb_last_error(), "sigma2 is not positive semi-definite (it has eigenvalue -10"),
                           "%s", gb_last_error());
        cr_expect_eq(gb_frechet_distance(&got, zeros_mu, indefinite, zeros_mu, blind, big_d, GB_FRECHET_AUTO),
                     GB_INPUT, "got %g", got);
        cr_expect_not_null(strstr(gb_last_error(), "sigma1 is not positive semi-definite (it has eigenvalue -10"),
                           "%s", gb_last_error());
        free(blind);
    }
    free(big_q), free(ones), free(zeros_mu), free(identity), free(indefinite);
    free(q), free(good), free(bad), free(near_singular), free(a_dir), free(b_dir);
}

/* ---- Frechet distance: peers ---------------------------------------------------------------- */

Test(fid_peer, features_64d_vs_pytorch_fid) {
    gb_fid_stats a = stats_of("fid_a.npy"), b = stats_of("fid_b.npy");
    double auto_v, eig_v;
    cr_assert_eq(gb_fid_from_stats(&auto_v, &a, &b), GB_OK);
    cr_assert_eq(gb_frechet_distance(&eig_v, a.mu, a.sigma, b.mu, b.sigma, a.dim, GB_FRECHET_EIGEN), GB_OK);
    expect_rel(auto_v, fid_reference("fid64_pytorch_fid"), TOL_FID_PEER, "FID 64-d (Cholesky) vs pytorch-fid");
    expect_rel(eig_v, fid_reference("fid64_pytorch_fid"), TOL_FID_PEER, "FID 64-d (eigen) vs pytorch-fid");
    gb_fid_stats_free(&a);
    gb_fid_stats_free(&b);
}

Test(fid_peer, stats_files_both_layouts) {
    gb_fid_stats a = load_stats("fid_a_pt.npz", GB_FID_LAYOUT_PYTORCH_FID),
                 b = load_stats("fid_b_pt.npz", GB_FID_LAYOUT_PYTORCH_FID);
    gb_fid_stats ca = load_stats("fid_a_clean.npz", GB_FID_LAYOUT_CLEAN_FID),
                 cb = load_stats("fid_b_clean.npz", GB_FID_LAYOUT_CLEAN_FID);
    double v;
    cr_assert_eq(gb_fid_from_stats(&v, &a, &b), GB_OK);
    expect_rel(v, fid_reference("fid64_pytorch_fid"), TOL_FID_PEER, "pytorch-fid stats files");
    expect_rel(v, fid_reference("fid64_pt_exact"), TOL_FID_EXACT, "pytorch-fid stats files vs Cholesky-SVD route");
    cr_assert_eq(gb_fid_from_stats(&v, &ca, &cb), GB_OK);
    expect_rel(v, fid_reference("fid64_clean_fid"), TOL_FID_CLEANFID, "clean-fid stats files vs clean-fid");
    expect_rel(v, fid_reference("fid64_clean_exact"), TOL_FID_EXACT, "clean-fid stats files vs Cholesky-SVD route");
    gb_fid_stats_free(&a), gb_fid_stats_free(&b), gb_fid_stats_free(&ca), gb_fid_stats_free(&cb);
}

Test(fid_peer, features_512d_vs_pytorch_fid) {
    gb_fid_stats a = stats_of("wide_a.npy"), b = stats_of("wide_b.npy");
    double v;
    cr_assert_eq(gb_fid_from_stats(&v, &a, &b), GB_OK);
    expect_rel(v, fid_reference("fid512_pytorch_fid"), TOL_FID_PEER, "FID 512-d vs pytorch-fid");
    gb_fid_stats_free(&a);
    gb_fid_stats_free(&b);
}

Test(fid_peer, singular_2048d_vs_svd_route, .timeout = 120) {
    gb_fid_stats a = stats_of("sing_a.npy"), b = stats_of("sing_b.npy");
    double v;
    cr_assert_eq(gb_fid_from_stats(&v, &a, &b), GB_OK, "%s", gb_last_error());
    expect_rel(v, fid_reference("fid2048_singular"), TOL_FID_PEER, "FID 2048-d from 600 rows vs SVD of Xc Yc^T");
    gb_fid_stats_free(&a);
    gb_fid_stats_free(&b);
}

/* ---- stats files ------------------------------------------------------------------------------ */

Test(fid_files, round_trip_both_layouts) {
    char dir[] = "/tmp/gb_fidst_XXXXXX", path[128];
    cr_assert_not_null(mkdtemp(dir));
    gb_fid_stats a = stats_of("fid_a.npy");
    for (int l = 0; l < 2; l++) {
        gb_fid_layout layout = l ? GB_FID_LAYOUT_CLEAN_FID : GB_FID_LAYOUT_PYTORCH_FID, got;
        snprintf(path, sizeof path, "%s/s%d.npz", dir, l);
        cr_assert_eq(gb_fid_stats_save(path, &a, layout), GB_OK, "%s", gb_last_error());
        gb_fid_stats b;
        cr_assert_eq(gb_fid_stats_load(&b, path, &got), GB_OK, "%s", gb_last_error());
        cr_expect_eq(got, layout);
        cr_expect_eq(memcmp(b.sigma, a.sigma, a.dim * a.dim * sizeof(double)), 0, "sigma is stored as float64");
        for (size_t i = 0; i < a.dim; i++)
            cr_expect_eq(b.mu[i], l ? (double)(float)a.mu[i] : a.mu[i], "mu[%zu] (float32 in clean-fid)", i);
        /* And numpy-side dtypes, as the peers write them. */
        gb_npz z;
        cr_assert_eq(gb_npz_load(&z, path), GB_OK);
        cr_expect_eq(gb_npz_find(&z, "mu")->dtype, l ? GB_NPY_F32 : GB_NPY_F64);
        cr_expect_eq(gb_npz_find(&z, "sigma")->dtype, GB_NPY_F64);
        gb_npz_free(&z);
        gb_fid_stats_free(&b);
    }
    gb_fid_stats_free(&a);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}

/* Provenance beside mu and sigma: n, the protocol and the weights' hash survive the round trip;
 * numpy reads the file as pytorch-fid's loader does (f['mu'], f['sigma']) and the members as
 * fid.h documents them; a file without them (the peers') loads with none. */
Test(fid_files, provenance_round_trip_and_numpy) {
    char dir[] = "/tmp/gb_fidprov_XXXXXX", path[128], bare[128];
    cr_assert_not_null(mkdtemp(dir));
    gb_fid_stats a = stats_of("fid_a.npy");
    cr_assert_gt(a.n, 0);
    snprintf(a.protocol, sizeof a.protocol, "legacy-tf");
    memset(a.weights_sha256, 'c', 64);
    a.weights_sha256[64] = '\0';
    snprintf(path, sizeof path, "%s/p.npz", dir);
    cr_assert_eq(gb_fid_stats_save(path, &a, GB_FID_LAYOUT_CLEAN_FID), GB_OK, "%s", gb_last_error());
    gb_fid_stats b;
    cr_assert_eq(gb_fid_stats_load(&b, path, NULL), GB_OK, "%s", gb_last_error());
    cr_expect_eq(b.n, a.n);
    cr_expect_str_eq(b.protocol, "legacy-tf");
    cr_expect_str_eq(b.weights_sha256, a.weights_sha256);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"\n"
             "import numpy as np\n"
             "with np.load('%s') as f:\n"
             "    m, s = f['mu'][:], f['sigma'][:]\n"
             "    assert m.dtype == np.float32 and s.shape == (%zu, %zu), (m.dtype, s.shape)\n"
             "    assert int(f['genbench_n']) == %llu and f['genbench_n'].dtype == np.int64\n"
             "    assert bytes(f['genbench_protocol']).decode() == 'legacy-tf'\n"
             "    assert bytes(f['genbench_weights_sha256']).decode() == 'c' * 64\n"
             "\"",
             path, a.dim, a.dim, (unsigned long long)a.n);
    cr_expect_eq(system(cmd), 0, "numpy read the file otherwise than fid.h says, see stderr");
    /* statistics of unknown origin: nothing recorded, nothing read back */
    gb_fid_stats c = stats_of("fid_a.npy");
    c.n = 0;
    snprintf(bare, sizeof bare, "%s/bare.npz", dir);
    cr_assert_eq(gb_fid_stats_save(bare, &c, GB_FID_LAYOUT_PYTORCH_FID), GB_OK, "%s", gb_last_error());
    gb_npz z;
    cr_assert_eq(gb_npz_load(&z, bare), GB_OK);
    cr_expect_eq(z.count, 2, "only mu and sigma when nothing is known");
    gb_npz_free(&z);
    gb_fid_stats d;
    cr_assert_eq(gb_fid_stats_load(&d, bare, NULL), GB_OK, "%s", gb_last_error());
    cr_expect(d.n == 0 && !d.protocol[0] && !d.weights_sha256[0]);
    /* different protocols and weights are warned about; unknown ones are not */
    cr_expect_eq(gb_fid_stats_warn_mismatch(&a, "A", &d, "B"), 0);
    snprintf(d.protocol, sizeof d.protocol, "clean");
    memset(d.weights_sha256, 'd', 64);
    cr_expect_eq(gb_fid_stats_warn_mismatch(&a, "A", &d, "B"), 2);
    gb_fid_stats_free(&a);
    gb_fid_stats_free(&b);
    gb_fid_stats_free(&c);
    gb_fid_stats_free(&d);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}

static void expect_bad_stats(const char *dir, const char *name, const char *const *keys, gb_npy_array *arrays,
                             size_t n, const char *needle) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s.npz", dir, name);
    cr_assert_eq(gb_npz_save(path, keys, arrays, n, GB_NPZ_STORED), GB_OK);
    gb_fid_stats s;
    cr_expect_eq(gb_fid_stats_load(&s, path, NULL), GB_INPUT, "%s must be rejected", name);
    cr_expect_not_null(strstr(gb_last_error(), needle), "%s: message '%s' should contain '%s'", name, gb_last_error(),
                       needle);
    cr_expect_null(s.mu);
}

Test(fid_files, rejects_bad_stats) {
    char dir[] = "/tmp/gb_fidbad_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    double mu[3] = {1, 2, 3}, sg[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, nan_sg[9] = {1, 0, 0, 0, NAN, 0, 0, 0, 1};
    int32_t imu[3] = {1, 2, 3};
    size_t d = 3, sh[2] = {3, 3}, bad_sh[2] = {3, 2}, two = 2;
    const char *k2[2] = {"mu", "sigma"};
    gb_npy_array ok_mu = gb_npy_view(GB_NPY_F64, 1, &d, mu), ok_sg = gb_npy_view(GB_NPY_F64, 2, sh, sg);
    expect_bad_stats(dir, "missing", (const char *[]){"mu"}, &ok_mu, 1, "'sigma' is missing");
    expect_bad_stats(dir, "shape", k2, (gb_npy_array[]){ok_mu, gb_npy_view(GB_NPY_F64, 2, bad_sh, sg)}, 2,
                     "shape (3, 3)");
    expect_bad_stats(dir, "mushape", k2, (gb_npy_array[]){gb_npy_view(GB_NPY_F64, 1, &two, mu), ok_sg}, 2,
                     "shape (2, 2)");
    expect_bad_stats(dir, "nan", k2, (gb_npy_array[]){ok_mu, gb_npy_view(GB_NPY_F64, 2, sh, nan_sg)}, 2,
                     "sigma[1, 1]");
    expect_bad_stats(dir, "int", k2, (gb_npy_array[]){gb_npy_view(GB_NPY_I32, 1, &d, imu), ok_sg}, 2, "float32 or");
    double asym_sg[9] = {1, 0.5, 0, 0, 1, 0, 0, 0, 1}; /* [0, 1] 0.5, [1, 0] 0: no covariance */
    expect_bad_stats(dir, "asym", k2, (gb_npy_array[]){ok_mu, gb_npy_view(GB_NPY_F64, 2, sh, asym_sg)}, 2,
                     "'sigma' is not symmetric (largest |S - S^T| 0.5, largest |S| 1): not a covariance matrix");
    /* malformed provenance members */
    const char *k3n[3] = {"mu", "sigma", "genbench_n"}, *k3p[3] = {"mu", "sigma", "genbench_protocol"},
               *k3w[3] = {"mu", "sigma", "genbench_weights_sha256"};
    double fn = 5;
    int64_t zero = 0;
    size_t plen = 4, wlen = 8;
    uint8_t ctl[4] = {'c', 'l', '\n', 'n'}, hex8[8] = {'a', 'b', 'c', 'd', 'e', 'f', '0', '1'};
    expect_bad_stats(dir, "nfloat", k3n, (gb_npy_array[]){ok_mu, ok_sg, gb_npy_view(GB_NPY_F64, 0, NULL, &fn)}, 3,
                     "int64 scalar");
    expect_bad_stats(dir, "nzero", k3n, (gb_npy_array[]){ok_mu, ok_sg, gb_npy_view(GB_NPY_I64, 0, NULL, &zero)}, 3,
                     "int64 scalar");
    expect_bad_stats(dir, "pctl", k3p, (gb_npy_array[]){ok_mu, ok_sg, gb_npy_view(GB_NPY_U8, 1, &plen, ctl)}, 3,
                     "printable ASCII");
    expect_bad_stats(dir, "wshort", k3w, (gb_npy_array[]){ok_mu, ok_sg, gb_npy_view(GB_NPY_U8, 1, &wlen, hex8)}, 3,
                     "64 lowercase hex");
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}

/* ---- KID ------------------------------------------------------------------------------------ */

#define KID_SEED 7
#define KID_SUBSETS 10
#define KID_SIZE 200

Test(kid, subset_indices_match_peer_philox) {
    char path[1024];
    FILE *fp = fopen(fid_fixture(path, sizeof path, "kid_subsets.txt"), "r");
    uint32_t idx[KID_SIZE];
    for (int s = 0; s < KID_SUBSETS; s++)
        for (int which = 0; which < 2; which++) {
            char tag[8];
            int sub;
            cr_assert_eq(fscanf(fp, "%7s %d", tag, &sub), 2);
            cr_assert_eq(sub, s);
            gb_kid_subset_indices(idx, KID_SEED, (size_t)s, which, which ? 900 : 700, KID_SIZE);
            for (int i = 0; i < KID_SIZE; i++) {
                unsigned v;
                cr_assert_eq(fscanf(fp, "%u", &v), 1);
                cr_assert_eq(idx[i], v, "subset %d %s index %d: %u vs peer %u", s, tag, i, idx[i], v);
            }
        }
    fclose(fp);
}

Test(kid, subset_indices_distinct_in_range) {
    size_t n = 50000, m = 1000;
    uint32_t *idx = malloc(m * sizeof *idx);
    unsigned char *seen = calloc(n, 1);
    gb_kid_subset_indices(idx, 3, 41, 1, n, m);
    for (size_t i = 0; i < m; i++) {
        cr_assert_lt(idx[i], n);
        cr_assert_eq(seen[idx[i]], 0, "index %u drawn twice", idx[i]);
        seen[idx[i]] = 1;
    }
    gb_kid_subset_indices(idx, 3, 5, 0, m, m); /* m == n: a permutation */
    memset(seen, 0, n);
    for (size_t i = 0; i < m; i++) seen[idx[i]]++;
    for (size_t i = 0; i < m; i++) cr_assert_eq(seen[i], 1);
    free(idx);
    free(seen);
}

Test(kid, per_subset_values_match_numpy) {
    size_t ng, nr, d, d2;
    float *g = fid_features("kid_gen.npy", &ng, &d), *r = fid_features("kid_ref.npy", &nr, &d2);
    double per[KID_SUBSETS];
    gb_kid_result k;
    cr_assert_eq(gb_kid(&k, per, g, ng, r, nr, d, KID_SUBSETS, KID_SIZE, KID_SEED), GB_OK, "%s", gb_last_error());
    cr_expect_eq(k.subset_size, KID_SIZE);
    /* Each MMD^2 is a difference of kernel means of size ~(1 + |x|^2/d)^3 ~ 30: compare the
     * error to that scale, not to the (smaller) difference. */
    for (int s = 0; s < KID_SUBSETS; s++) {
        char key[32];
        snprintf(key, sizeof key, "kid_subset_%d", s);
        double want = fid_reference(key);
        cr_expect(fabs(per[s] - want) <= TOL_KID * 100.0, "subset %d: %.17g vs numpy %.17g", s, per[s], want);
    }
    cr_expect(fabs(k.mean - fid_reference("kid_mean")) <= TOL_KID * 100.0, "mean %.17g", k.mean);
    cr_expect(fabs(k.std - fid_reference("kid_std")) <= TOL_KID * 100.0, "std %.17g", k.std);
    free(g);
    free(r);
}

/* clean-fid's own kernel_distance, run by the peer on exactly our philox subsets. It computes
 * in the features' float32 (Gram matrix, cube, sums): kernel values ~30 here, so its error is
 * ~30 * 2^-24 times a small factor (the 32-term dot products, the cube, the pairwise sums);
 * TOL_KID_CLEANFID = 30 * 2^-24 * 16. One wrong subset would move the mean by ~5e-3 (the
 * per-subset spread is 0.05 over 10 subsets). */
#define TOL_KID_CLEANFID (30.0 * 0x1p-24 * 16.0)
Test(kid, same_subsets_match_cleanfid) {
    size_t ng, nr, d, d2;
    float *g = fid_features("kid_gen.npy", &ng, &d), *r = fid_features("kid_ref.npy", &nr, &d2);
    gb_kid_result k;
    cr_assert_eq(gb_kid(&k, NULL, g, ng, r, nr, d, KID_SUBSETS, KID_SIZE, KID_SEED), GB_OK, "%s", gb_last_error());
    double theirs = fid_reference("kid_cleanfid_same_subsets");
    cr_expect(fabs(k.mean - theirs) <= TOL_KID_CLEANFID, "KID %.10g vs clean-fid's kernel_distance on the same subsets %.10g",
              k.mean, theirs);
    free(g);
    free(r);
}

/* clean-fid draws its own unseeded subsets: agree within 5 standard errors of the difference
 * of two 100-subset means (both condition on the same finite sample). */
Test(kid, statistically_matches_cleanfid) {
    size_t ng, nr, d;
    float *g = fid_features("kid_gen.npy", &ng, &d), *r = fid_features("kid_ref.npy", &nr, &d);
    gb_kid_result k;
    cr_assert_eq(gb_kid(&k, NULL, g, ng, r, nr, d, 100, KID_SIZE, 11), GB_OK);
    double theirs = fid_reference("kid_cleanfid_100x200"), se = k.std * sqrt(2.0 / 100.0);
    cr_expect(fabs(k.mean - theirs) <= 5.0 * se, "KID %.6g vs clean-fid %.6g: more than 5 standard errors (%.3g)",
              k.mean, theirs, se);
    free(g);
    free(r);
}

/* Three points per set, subsets = whole sets: the U-statistic by direct double loops. */
Test(kid, hand_computed_whole_sets) {
    const float x[] = {1, 0, 0, 2, 1, 1}, y[] = {0, 1, 2, 2, -1, 0};
    double sxx = 0, syy = 0, sxy = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double dxx = (x[2 * i] * x[2 * j] + x[2 * i + 1] * x[2 * j + 1]) / 2.0 + 1.0;
            double dyy = (y[2 * i] * y[2 * j] + y[2 * i + 1] * y[2 * j + 1]) / 2.0 + 1.0;
            double dxy = (x[2 * i] * y[2 * j] + x[2 * i + 1] * y[2 * j + 1]) / 2.0 + 1.0;
            if (i != j) sxx += dxx * dxx * dxx, syy += dyy * dyy * dyy;
            sxy += dxy * dxy * dxy;
        }
    double want = (sxx + syy) / 6.0 - 2.0 * sxy / 9.0;
    gb_kid_result k;
    cr_assert_eq(gb_kid(&k, NULL, x, 3, y, 3, 2, 4, 1000, 1), GB_OK);
    expect_rel(k.mean, want, 1e-14, "KID of whole 3-point sets");
    cr_expect(k.std <= 1e-12 * fabs(want), "every subset is the whole set: std %.3g", k.std);
    cr_expect_eq(gb_kid(&k, NULL, x, 3, y, 3, 2, 0, 1000, 1), GB_USAGE);
    /* features near FLT_MAX: subset values near 1e230, whose squared deviations would overflow;
     * the spread is that of the per-subset values, computed here on scaled copies */
    const float huge[] = {3e38f, 3e38f, -3e38f, 3e38f, 3e38f, -2e38f};
    double per[4];
    cr_assert_eq(gb_kid(&k, per, huge, 3, y, 3, 2, 4, 2, 1), GB_OK, "%s", gb_last_error());
    cr_expect(isfinite(k.std) && k.std > 0, "spread %g", k.std);
    double m = 0, v = 0;
    for (int s = 0; s < 4; s++) m += per[s] / 4;
    for (int s = 0; s < 4; s++) v += (per[s] / 1e200 - m / 1e200) * (per[s] / 1e200 - m / 1e200) / 4;
    expect_rel(k.std, sqrt(v) * 1e200, 1e-12, "the spread of huge subset values");
}

/* ---- precision / recall / density / coverage ------------------------------------------------- */

Test(prdc, radii_match_numpy) {
    size_t n, d;
    float *x = fid_features("prdc_real.npy", &n, &d);
    char path[1024];
    FILE *fp = fopen(fid_fixture(path, sizeof path, "prdc_radii3.f64"), "rb");
    double *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    cr_assert_eq(fread(want, sizeof(double), n, fp), n);
    fclose(fp);
    cr_assert_eq(gb_knn_radii2(got, x, n, d, 3), GB_OK);
    for (size_t i = 0; i < n; i++) expect_rel(got[i], want[i], TOL_PRDC_RADII, "squared 3-NN radius");
    free(x), free(want), free(got);
}

static void prdc_case(const char *protocol, const char *prefix) {
    size_t nr, nf, d;
    float *real = fid_features("prdc_real.npy", &nr, &d), *fake = fid_features("prdc_fake.npy", &nf, &d);
    gb_prdc_protocol p;
    cr_assert_eq(gb_prdc_protocol_by_name(&p, protocol), GB_OK);
    gb_prdc_result r;
    cr_assert_eq(gb_prdc(&r, real, nr, fake, nf, d, p), GB_OK, "%s", gb_last_error());
    const char *names[4] = {"precision", "recall", "density", "coverage"};
    double got[4] = {r.precision, r.recall, r.density, r.coverage};
    for (int i = 0; i < 4; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s_%s", prefix, names[i]);
        /* Counts divided by set sizes: exact agreement expected (see tolerances.md). */
        cr_expect(fabs(got[i] - fid_reference(key)) <= 1e-15, "%s %s: %.17g vs peer %.17g", protocol, names[i], got[i],
                  fid_reference(key));
    }
    free(real);
    free(fake);
}

Test(prdc, kynkaanniemi_k3_matches_reference_transcription) { prdc_case("kynkaanniemi", "prdc_k3"); }
Test(prdc, naeem_k5_matches_prdc_transcription) { prdc_case("prdc", "prdc_k5"); }

/* 1-D, k = 1, integer points (every squared distance exact). Real {0, 1, 3, 7}: radii 1, 1, 2, 4.
 * Fake {1, 11, 20}: radii 10, 9, 9. Fake 11 lies exactly on the boundary of real 7's ball.
 *   precision  <=: fakes 1, 11 -> 2/3        <: fake 1 -> 1/3
 *   density    <=: fake 1 in the balls of 0 (d 1 = r), 1 (d 0), 3 (d 2 = r); fake 11 in 7's
 *                  (d 4 = r): (3 + 1) / 3    <: fake 1 in 1's ball only: 1/3
 *   recall     every real point within 10 of fake 1: 1 under both
 *   coverage   <=: 0, 1, 3 (via fake 1), 7 (via fake 11): 1   <: only real 1: 1/4 */
Test(prdc, hand_case_separates_le_from_lt) {
    const float real[] = {0, 1, 3, 7}, fake[] = {1, 11, 20};
    gb_prdc_result le, lt;
    cr_assert_eq(gb_prdc(&le, real, 4, fake, 3, 1, (gb_prdc_protocol){.k = 1, .strict = 0}), GB_OK);
    cr_assert_eq(gb_prdc(&lt, real, 4, fake, 3, 1, (gb_prdc_protocol){.k = 1, .strict = 1}), GB_OK);
    expect_rel(le.precision, 2.0 / 3.0, 1e-15, "precision <=");
    expect_rel(lt.precision, 1.0 / 3.0, 1e-15, "precision <");
    expect_rel(le.density, 4.0 / 3.0, 1e-15, "density <=");
    expect_rel(lt.density, 1.0 / 3.0, 1e-15, "density <");
    expect_rel(le.recall, 1.0, 1e-15, "recall <=");
    expect_rel(lt.recall, 1.0, 1e-15, "recall <");
    expect_rel(le.coverage, 1.0, 1e-15, "coverage <=");
    expect_rel(lt.coverage, 0.25, 1e-15, "coverage <");
    gb_prdc_protocol p;
    cr_expect_eq(gb_prdc_protocol_by_name(&p, "fancy"), GB_USAGE);
    cr_expect_eq(gb_prdc(&le, real, 4, fake, 3, 1, (gb_prdc_protocol){.k = 3, .strict = 0}), GB_INPUT,
                 "3 fake rows cannot have 3 other neighbours");
}

Test(prdc, identical_sets_are_perfect) {
    size_t n, d;
    float *x = fid_features("prdc_real.npy", &n, &d);
    gb_prdc_result r;
    cr_assert_eq(gb_prdc(&r, x, n, x, n, d, (gb_prdc_protocol){.k = 3, .strict = 0}), GB_OK);
    cr_expect_eq(r.precision, 1.0);
    cr_expect_eq(r.recall, 1.0);
    cr_expect_eq(r.coverage, 1.0);
    free(x);
}

/* ---- Inception score --------------------------------------------------------------------------- */

Test(inception_score, matches_numpy_and_probabilities) {
    size_t n, c;
    float *logits = fid_features("is_logits.npy", &n, &c), *probs = fid_features("is_probs.npy", &n, &c);
    double m, s, mp, sp;
    cr_assert_eq(gb_inception_score(&m, &s, logits, n, c, GB_IS_SPLITS, GB_IS_LOGITS), GB_OK);
    expect_rel(m, fid_reference("is_mean"), TOL_IS, "IS mean");
    expect_rel(s, fid_reference("is_std"), 1e-10, "IS std");
    cr_assert_eq(gb_inception_score(&mp, &sp, probs, n, c, GB_IS_SPLITS, GB_IS_PROBABILITIES), GB_OK, "%s",
                 gb_last_error());
    expect_rel(mp, m, TOL_IS_PROBS, "IS from float32 probabilities");
    free(logits);
    free(probs);
}

/* OpenAI's guided-diffusion evaluator: consecutive splits of a fixed size, the last holding the
 * rest (1000 rows in splits of 300: 300, 300, 300, 100), and one split when the size exceeds
 * the rows; against a numpy transcription of compute_inception_score. */
Test(inception_score, split_size_matches_openai_evaluator) {
    size_t n, c;
    float *logits = fid_features("is_logits.npy", &n, &c);
    double m, s;
    cr_assert_eq(gb_inception_score_split_size(&m, &s, logits, n, c, 300, GB_IS_LOGITS), GB_OK, "%s", gb_last_error());
    expect_rel(m, fid_reference("is_openai300_mean"), TOL_IS, "IS mean, splits of 300");
    expect_rel(s, fid_reference("is_openai300_std"), 1e-10, "IS std, splits of 300");
    double m4, s4; /* 4 even splits of 250 are not the same partition */
    cr_assert_eq(gb_inception_score(&m4, &s4, logits, n, c, 4, GB_IS_LOGITS), GB_OK);
    cr_expect(fabs(m4 - m) > 1e-6, "splits of 300 and 4 even splits should differ: %.10g", m);
    cr_assert_eq(gb_inception_score_split_size(&m, &s, logits, n, c, GB_IS_SPLIT_SIZE, GB_IS_LOGITS), GB_OK);
    expect_rel(m, fid_reference("is_openai5000_mean"), TOL_IS, "IS mean, one split of all rows");
    cr_expect_eq(s, 0.0, "one split has no spread");
    cr_expect_eq(gb_inception_score_split_size(&m, &s, logits, n, c, 0, GB_IS_LOGITS), GB_USAGE);
    cr_expect_eq(gb_inception_score_split_size(&m, &s, logits, 0, c, 300, GB_IS_LOGITS), GB_USAGE);
    free(logits);
}

/* torch-fidelity's isc_features_to_metric as shipped, its RandomState(2020) shuffle included:
 * the same float64 formula on the same rows in the same splits, so only summation order
 * separates the two (torch's softmax and mean against our loops). */
Test(inception_score, matches_torch_fidelity_shuffled) {
    size_t n, c;
    float *logits = fid_features("is_logits.npy", &n, &c);
    double m, s;
    cr_assert_eq(gb_inception_score_shuffled(&m, &s, logits, n, c, GB_IS_SPLITS, GB_IS_LOGITS, GB_IS_SHUFFLE_SEED),
                 GB_OK, "%s", gb_last_error());
    expect_rel(m, fid_reference("is_tf_mean"), TOL_IS, "IS mean, torch-fidelity's order");
    expect_rel(s, fid_reference("is_tf_std"), 1e-10, "IS std, torch-fidelity's order");
    cr_expect(fabs(m - fid_reference("is_mean")) > 1e-3, "the shuffle must change the value here");
    /* 997 rows in 7 splits: uneven split sizes */
    cr_assert_eq(gb_inception_score_shuffled(&m, &s, logits, 997, c, 7, GB_IS_LOGITS, GB_IS_SHUFFLE_SEED), GB_OK);
    expect_rel(m, fid_reference("is_tf997_mean"), TOL_IS, "IS mean, 997 rows, 7 splits");
    expect_rel(s, fid_reference("is_tf997_std"), 1e-10, "IS std, 997 rows, 7 splits");
    /* a bad row is named by its index in the input, not its shuffled position */
    logits[123 * c + 5] = NAN;
    cr_expect_eq(gb_inception_score_shuffled(&m, &s, logits, n, c, GB_IS_SPLITS, GB_IS_LOGITS, 1), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "row 123, class 5"), "%s", gb_last_error());
    free(logits);
}

Test(inception_score, closed_forms) {
    enum { N = 40, C = 8 };
    float z[N * C] = {0}, onehot[N * C] = {0};
    double m, s;
    cr_assert_eq(gb_inception_score(&m, &s, z, N, C, 4, GB_IS_LOGITS), GB_OK);
    expect_rel(m, 1.0, 1e-15, "uniform predictions");
    for (int i = 0; i < N; i++) onehot[i * C + i % C] = 1.0f; /* every split of 8 rows uses each class once */
    cr_assert_eq(gb_inception_score(&m, &s, onehot, N, C, 5, GB_IS_PROBABILITIES), GB_OK);
    expect_rel(m, 8.0, 1e-14, "one-hot over 8 evenly used classes (splits of 8 rows)");
    cr_expect_leq(s, 1e-13);
    cr_expect_eq(gb_inception_score(&m, &s, onehot, N, C, 41, GB_IS_PROBABILITIES), GB_USAGE);
    onehot[3] = 0.5f;
    cr_expect_eq(gb_inception_score(&m, &s, onehot, N, C, 5, GB_IS_PROBABILITIES), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "row 0"), "%s", gb_last_error());
}
