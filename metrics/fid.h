/* metrics/fid.h - FID feature statistics, the Frechet distance, and FID stats files
 * (specs/metrics.md "FID"; specs/formats.md 5.5 and 5.4 "Stats files").
 *
 * Statistics: the mean and the N-1 covariance of feature rows, accumulated in float64 from
 * float32 batches. Rows are folded in fixed chunks of GB_FID_CHUNK rows (Chan, Golub and
 * LeVeque's pairwise update: per chunk, its mean and the scatter of the rows about that mean,
 * then M2 += M2_chunk + n_a n_b / (n_a + n_b) delta delta^T), so no sum of raw squares ever
 * cancels, and the result depends only on the sequence of rows, not on how the caller split
 * them into batches (bitwise, for a fixed BLAS thread count).
 *
 * Frechet distance between N(mu1, S1) and N(mu2, S2):
 *   FID = |mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr sqrt(S1^(1/2) S2 S1^(1/2)).
 * The trace term is the sum of the square roots of the eigenvalues of B^T S2 B for any factor
 * B with B B^T = S1: B^T S2 B is similar to (or, for singular S1, shares its non-zero spectrum
 * with) S1 S2 and with S1^(1/2) S2 S1^(1/2). Two ways to get B:
 *   GB_FRECHET_EIGEN     B = V diag(sqrt(max(l, 0))) from S1 = V diag(l) V^T (LAPACKE_dsyevd);
 *                        then B^T S2 B = V^T (S1^(1/2) S2 S1^(1/2)) V exactly, an orthogonal
 *                        similarity of the symmetric form metrics.md names. Columns with l <= 0
 *                        are dropped, so a rank-r S1 gives an r x r problem.
 *   GB_FRECHET_AUTO      the Cholesky factor S1 = L L^T when S1 is positive definite (else S2's,
 *                        swapping the roles; else the eigen path): the same spectrum, a third of
 *                        the cost of the eigendecomposition of S1. L^T S2 L is formed by
 *                        gb_congruence_lower (metrics/congruence.h: dsygst's product, itype
 *                        2, lower, by recursive halving over BLAS-3 calls), which uses its
 *                        symmetry: d^3 flops against 2 d^3 for two dtrmm calls.
 * The eigenvalues of the symmetric B^T S2 B come from LAPACKE_dsyevd (values only: dsytrd +
 * dsterf), read from the lower triangle. Rule, from timings at d = 2048 on the 2-core
 * development machine (OpenBLAS 0.3.21 pthreads, 2 threads; shared, so +-30%; dgemm there
 * runs at 83-93 GFLOP/s):
 *   dpotrf 0.04-0.05 s; L^T S2 L 0.12-0.13 s (dsygst 0.17-0.19 s in the same runs, two dtrmm
 *   about the same; under load, one thread, dsygst 0.49-0.62 s against 0.65-0.84 s); dsytrd
 *   0.23-0.29 s, about 60% of it dsymv, which streams the trailing matrix once per column at
 *   about 60 GB/s (memory-bound: a hand-written AVX-512 dsymv reached 37 GB/s on one core
 *   against OpenBLAS's 32); dsterf 0.04-0.05 s; whole AUTO path 0.41-0.49 s, against 3.4-4.3 s
 *   for scipy's sqrtm route (bench/cases_fid.c). The work arrays live in transparent huge
 *   pages (fid.c, alloc_work: about 40 ms of page faults a call otherwise).
 *   Measured and rejected:
 *   - the two-stage reductions: dsyev_2stage / dsyevd_2stage 'N' 0.9-1.2 s; dsytrd_sy2sb +
 *     dsytrd_sb2st + dsterf with band widths 8-64 0.48-0.86 s (sy2sb itself 0.17-0.43 s, and
 *     the bulge chasing of sb2st runs on one thread in this OpenMP-free build); sy2sb + dsbtrd
 *     'N' 0.33-0.39 s against 0.28-0.30 for dsytrd + dsterf;
 *   - dsytrd's panel width: dlatrd + dsyr2k driven by hand with panels of 16-96 columns, none
 *     faster than LAPACK's 32;
 *   - dqds instead of dsterf (dpttrf, then the bidiagonal's singular values by dbdsqr, whose
 *     square roots come out directly): 0.052 s against 0.041 s;
 *   - factoring both covariances (S2 = M M^T) and forming L^T S2 L as (M^T L)^T (M^T L) by
 *     dtrmm and dsyrk: 0.26 s against dsygst's 0.20 s (potrf 0.06, dtrmm 0.10, dsyrk 0.10).
 *   The floor of this route at dgemm speed (potrf 0.03, L^T S2 L 0.10, dsytrd's BLAS-3 half
 *   0.06, its dsymv half at the bandwidth above 0.14-0.19, dsterf 0.04) is 0.37-0.42 s.
 * Clamping:
 * for positive semi-definite inputs every exact eigenvalue is >= 0, and dsyevd's computed ones
 * err by about r * eps * (largest), r the matrix order. Eigenvalues at or below that noise floor,
 * r * DBL_EPSILON * |largest| (negative ones included), of S1 and of B^T S2 B are set to 0
 * before the square root. This changes the trace by at most sqrt(floor) per eigenvalue, the
 * same size as the noise it removes, and makes singular covariances (N < d: d - N + 1 exactly
 * zero eigenvalues) accurate: without it each zero eigenvalue would contribute
 * sqrt(rounding) ~ 1e-8 relative. A clamped eigenvalue below -1e-6 times the largest one is
 * more than float64 rounding (a covariance stored in float32 moves them by up to ~1e-4): a
 * warning. No covariance at all, GB_INPUT naming it: a negative variance or an eigenvalue
 * below -1e-3 of the largest magnitude (gross asymmetry is refused where a file is read). S1's are at hand on the eigen route; a clearly negative eigenvalue of B^T S2 B
 * is S2's (Sylvester's law of inertia), whose own eigenvalues are then computed to judge it
 * (only then: on its own scale, so two covariances spread over different directions never
 * turn S2's rounding into a refusal). So is a rank-deficient
 * covariance, named with its count of zero eigenvalues (sigma1's from its Cholesky failing or
 * its eigenvalues; sigma2's from those of B^T S2 B, which has S2's rank when S1 is definite):
 * the statistics of N <= d rows (also warned when they are accumulated) or of dependent
 * features, and the FID is biased. No complex arithmetic, no eps added to the diagonal
 * (pytorch-fid and clean-fid add 1e-6 I when scipy's sqrtm fails).
 *
 * Stats files: np.savez_compressed with keys "mu" and "sigma".
 *   GB_FID_LAYOUT_PYTORCH_FID  mu float64 (d,), sigma float64 (d, d)  (pytorch-fid --save-stats)
 *   GB_FID_LAYOUT_CLEAN_FID    mu float32 (d,), sigma float64 (d, d)  (clean-fid: np.mean of
 *                              float32 features stays float32; np.cov promotes to float64)
 * Loading accepts float32 or float64 for either key (other keys are ignored, genbench's own
 * provenance members are read: gb_fid_stats_save), checks the shapes ((d,) and (d, d)) and
 * that every value is finite, and symmetrizes sigma as (S + S^T) / 2 (np.cov's result can
 * differ from its transpose in the last bits; a relative asymmetry above 1e-6 is logged as a
 * warning, one above 1e-3 of the largest entry refused: no covariance). Written and read by
 * metrics/fid_file.c.
 *
 * Tested by tests/test_fid_stats.c: closed forms (identical stats give 0, diagonal and
 * commuting covariances, a mean shift), both factor paths, singular covariances, batch
 * invariance of the accumulator, stats file round trips in both layouts, corrupt files, and
 * parity with pytorch-fid's calculate_frechet_distance and numpy's mean/cov
 * (tests/peers/fid_stats.py).
 */
#ifndef GB_FID_H
#define GB_FID_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct gb_device gb_device; /* kernels/kernels.h */

#define GB_FID_CHUNK 512

typedef struct {
    size_t dim;
    uint64_t n;    /* samples behind the statistics; 0 when unknown (a file that does not say) */
    double *mu;    /* [dim] */
    double *sigma; /* [dim, dim] symmetric, N-1 denominator */
    /* Where the features came from, when known ("" when not): the image protocol and the
     * Inception weights' SHA-256. Stats files carry them (and n) as extra members. */
    char protocol[16];
    char weights_sha256[65];
    /* What the statistics describe, for warnings ("" when unnamed): the input's path, or
     * "the generated samples"; set from the accumulator's label, by the stats-file loader, or by
     * the caller. Not stored in stats files. */
    char label[192];
} gb_fid_stats;

/* mu and sigma allocated for dim features (everything else zero). GB_ENV when memory runs out. */
gb_status gb_fid_stats_alloc(gb_fid_stats *s, size_t dim);
void gb_fid_stats_free(gb_fid_stats *s);
/* GB_INPUT naming what[i] (or what[i / dim, i % dim] when dim > 0) for the first non-finite
 * value of v[n]. */
gb_status gb_fid_check_finite(const double *v, size_t n, const char *what, size_t dim);

typedef struct {
    size_t dim;
    uint64_t n;     /* rows folded into sum and m2 (whole chunks) */
    double *sum;    /* [dim] sum of the folded rows */
    double *m2;     /* [dim, dim] upper triangle used: scatter about the mean of the folded rows */
    double *chunk;  /* [GB_FID_CHUNK, dim] rows waiting for a full chunk */
    double *tmp;    /* [2 * dim] scratch */
    size_t pending; /* rows in chunk */
    const char *label; /* NULL, or what the rows describe (caller-owned): copied into the stats */
} gb_fid_accum;

/* GB_USAGE for dim 0; GB_ENV when memory runs out (d^2 doubles: 32 MiB at d = 2048). */
gb_status gb_fid_accum_init(gb_fid_accum *a, size_t dim);
/* Add rows [rows, dim]. A non-finite value is GB_INPUT naming the row (counted from the first
 * row ever added) and the column; the rows of that call are then not added. */
gb_status gb_fid_accum_add(gb_fid_accum *a, const float *x /* [rows, dim] */, size_t rows);
/* Mean and N-1 covariance of every row added so far (the accumulator stays usable), labelled
 * with a->label. GB_INPUT with fewer than 2 rows. Quiet: the caller decides whether to warn
 * about too few samples (gb_fid_stats_warn_few_samples). */
gb_status gb_fid_accum_finish(gb_fid_accum *a, gb_fid_stats *out);
void gb_fid_accum_free(gb_fid_accum *a);

/* Warns, naming s->label, when s comes from N <= dim samples (its covariance is then singular
 * and the FID strongly biased); quiet when N is unknown (0). */
void gb_fid_stats_warn_few_samples(const gb_fid_stats *s);
/* One call: init, add, finish, free, and the few-samples warning; label as the accumulator's
 * (NULL for none). */
gb_status gb_fid_stats_from_features(gb_fid_stats *out, const float *x /* [n, dim] */, size_t n, size_t dim,
                                     const char *label);

typedef enum { GB_FRECHET_AUTO, GB_FRECHET_EIGEN } gb_frechet_method;

/* The Frechet distance (see the header). Inputs must be finite (GB_INPUT naming the first bad
 * entry otherwise) and the covariances symmetric (one triangle is read), with no negative
 * variance or clearly negative eigenvalue (GB_INPUT naming the matrix: see "Clamping" in the
 * header). GB_NUMERIC when
 * LAPACK fails to converge; GB_ENV when memory runs out (about 3 d^2 doubles). */
gb_status gb_frechet_distance(double *out, const double *mu1 /* [dim] */, const double *s1 /* [dim, dim] */,
                              const double *mu2 /* [dim] */, const double *s2 /* [dim, dim] */, size_t dim,
                              gb_frechet_method method);
/* The same with the symmetric eigendecompositions on dev: cuSOLVER (cusolverDnDsyevd, double,
 * deterministic mode; kernels/cuda/cuda_linalg.h) when dev is a CUDA device in a CUDA build,
 * LAPACK otherwise (dev NULL included). Everything else stays on the host in double; the two
 * agree to rounding (tests/test_cuda_linalg.c). */
gb_status gb_frechet_distance_on(gb_device *dev, double *out, const double *mu1, const double *s1, const double *mu2,
                                 const double *s2, size_t dim, gb_frechet_method method);
/* GB_INPUT when the dimensions differ. A rank-deficiency warning names the statistics by their
 * labels ("sigma1" / "sigma2" for unlabelled ones). */
gb_status gb_fid_from_stats(double *out, const gb_fid_stats *a, const gb_fid_stats *b);
gb_status gb_fid_from_stats_on(gb_device *dev, double *out, const gb_fid_stats *a, const gb_fid_stats *b);

typedef enum { GB_FID_LAYOUT_PYTORCH_FID, GB_FID_LAYOUT_CLEAN_FID } gb_fid_layout;

/* Stats files (metrics/fid_file.c). */
/* "pytorch-fid" / "clean-fid". */
const char *gb_fid_layout_name(gb_fid_layout layout);
/* Write an .npz like np.savez_compressed(path, mu=..., sigma=...) in the given layout (atomic),
 * plus the provenance that is known, as members the peers' loaders never read (they take
 * f['mu'] and f['sigma']):
 *   genbench_n                int64 scalar, the samples behind the statistics (when n > 0)
 *   genbench_protocol         uint8 [len], the image protocol's name in ASCII
 *   genbench_weights_sha256   uint8 [64], the Inception weights' SHA-256 in lowercase hex
 * (numpy: int(f['genbench_n']), bytes(f['genbench_protocol']).decode()). */
gb_status gb_fid_stats_save(const char *path, const gb_fid_stats *s, gb_fid_layout layout);
/* Read either layout; *layout (may be NULL) gets CLEAN_FID when mu is float32, else
 * PYTORCH_FID. The provenance members are read when present (out->n 0 and "" otherwise, as
 * for the peers' files); a malformed one is GB_INPUT naming it. */
gb_status gb_fid_stats_load(gb_fid_stats *out, const char *path, gb_fid_layout *layout);
/* The same with other key names: OpenAI's guided-diffusion reference batches hold sFID's
 * statistics as 'mu_s' and 'sigma_s' beside 'mu', 'sigma' and the images 'arr_0'. Errors name
 * the keys asked for. */
gb_status gb_fid_stats_load_keys(gb_fid_stats *out, const char *path, const char *mu_key, const char *sigma_key,
                                 gb_fid_layout *layout);
/* Warns when a and b (named by their labels) record different protocols or weights, which make
 * their FID incomparable; quiet where either does not say. Returns the number of warnings. */
int gb_fid_stats_warn_mismatch(const gb_fid_stats *a, const char *label_a, const gb_fid_stats *b,
                               const char *label_b);

#endif
