/* tests/test_cmd_evaluate.c - `genbench evaluate REF SAMPLE` (cli/cmd_evaluate.c, compiled into
 * this suite), OpenAI guided-diffusion's evaluator:
 *   - on two batches written by np.savez (10 images each, arr_0 NHWC uint8), with random
 *     Inception weights in the real format, its five numbers against the evaluator's arithmetic
 *     transcribed in numpy on pytorch-fid's network's features of the same images
 *     (tests/peers/inception_ref.py write_evaluator): precision 1, recall 0.8, so a swap of the
 *     batches or of the two manifolds shows;
 *   - a reference batch that stores mu, sigma, mu_s, sigma_s gives FID and sFID against those
 *     (the peer's values for the stored statistics), its images still giving precision/recall;
 *   - each number equals what the single-metric commands print for the same inputs (isc with one
 *     split in input order, fid, sfid, prdc): one pass gives the same features as four;
 *   - bad inputs stop before the network with exit 2 or 3 naming the file.
 */
#include "../cli/cli_common.c"
#include "../cli/cmd_evaluate.c"
#include "../cli/cmd_fid.c"
#include "../cli/stats_cache.c"
#include "../cli/cmd_isc.c"
#include "../cli/inception_inputs.c"
#include "../cli/metric_inputs.c"

#include <criterion/criterion.h>
#include <math.h>
#include <unistd.h>

#include "core/npy.h"
#include "core/sha256.h"
#include "tests/cmd_capture.h"
#include "tests/fid_fixture.h"

#define PEER "/usr/bin/python3 tests/peers/inception_ref.py $GB_FIXTURES"

/* Our pool3 is within 3e-6 relative of pytorch-fid's (tests/tolerances.md), which moves the
 * score's logits by about 1e-5 of their scale: cmd_isc's folder bound. Measured 3.6e-7. */
#define TOL_IS 2e-5
/* FID and sFID of 10 against 10 images (rank-9 covariances: scipy's sqrtm and our eigen route
 * see 2039 eigenvalues of rounding noise) on features 1e-4 apart at worst: measured 1.8e-7 ..
 * 3.3e-6 relative (computed and stored statistics, on an AVX2 OpenBLAS). The bound is 1e-4. */
#define TOL_FID 1e-4

static const char *fixture_root(void) {
    const char *root = getenv("GB_FIXTURES");
    cr_assert(root, "GB_FIXTURES is not set: run `make test`, or " PEER " and export GB_FIXTURES");
    return root;
}

/* $GB_FIXTURES/inception/evaluator/NAME, checked to exist. */
static void evaluator_file(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "%s/inception/evaluator/%s", fixture_root(), name);
    cr_assert_eq(access(buf, R_OK), 0, "fixture %s is missing: run " PEER, buf);
}

/* The peer's value of key in inception/evaluator/reference.txt. */
static double evaluator_reference(const char *key) {
    char path[1024];
    evaluator_file(path, sizeof path, "reference.txt");
    return fixture_value(path, key, PEER);
}

/* The random weights and their hash. */
static void weights(char *w, size_t w_size, char h[65]) {
    snprintf(w, w_size, "%s/inception/weights_zip.pth", fixture_root());
    cr_assert_eq(gb_sha256_file(w, h), GB_OK, "run " PEER " first: %s", gb_last_error());
}

typedef struct {
    double is, fid, sfid, precision, recall;
} evaluation_lines;

/* `genbench evaluate REF SAMPLE` on the fixture weights; the five numbers off its own lines. */
static evaluation_lines evaluate(const char *ref, const char *sample) {
    char w[1024], h[65];
    weights(w, sizeof w, h);
    char *argv[] = {"evaluate", (char *)ref, (char *)sample, "--weights", w, "--weights-sha256", h,
                    "--batch",  "4",         "--device",     "cpu"};
    evaluation_lines e;
    e.is = run_for_value(gb_cmd_evaluate, argv, 11, "Inception Score: ");
    const char *tail = strstr(captured, "\nFID: ");
    cr_assert_not_null(tail, "%s", captured);
    cr_assert_eq(sscanf(tail, "\nFID: %lf\nsFID: %lf\nPrecision: %lf\nRecall: %lf", &e.fid, &e.sfid, &e.precision,
                        &e.recall),
                 4, "the evaluator's lines, in its order: %s", captured);
    return e;
}

Test(cmd_evaluate, matches_the_evaluator_transcribed_on_peer_features, .timeout = 300) {
    char ref[1024], sample[1024];
    evaluator_file(ref, sizeof ref, "ref.npz");
    evaluator_file(sample, sizeof sample, "sample.npz");
    evaluation_lines e = evaluate(ref, sample);
    cr_log_info("evaluate: IS %.10g FID %.10g sFID %.10g P %.3g R %.3g", e.is, e.fid, e.sfid, e.precision, e.recall);
    cr_expect_not_null(strstr(captured, "protocol legacy-tf"), "the evaluator's resize is the default: %s", captured);
    cr_expect_not_null(strstr(captured, "computed from its images"), "%s", captured);
    /* one line starts "Inception Score" (scripts grep the evaluator's lines), the settings apart */
    cr_expect_null(strstr(strstr(captured, "\nInception Score: ") + 1, "\nInception Score"), "%s", captured);
    cr_expect_not_null(strstr(captured, "\nsettings: IS over splits of 5000 rows"), "%s", captured);
    expect_rel(e.is, evaluator_reference("is"), TOL_IS, "Inception Score");
    expect_rel(e.fid, evaluator_reference("fid"), TOL_FID, "FID");
    expect_rel(e.sfid, evaluator_reference("sfid"), TOL_FID, "sFID");
    /* no distance lies within 1e-3 of a radius (the peer checks): the same points are in */
    cr_expect_eq(e.precision, evaluator_reference("precision"), "Precision %.10g", e.precision);
    cr_expect_eq(e.recall, evaluator_reference("recall"), "Recall %.10g", e.recall);
    /* 10 images: the rank warnings say which batch and which features (four covariances) */
    char want[1200];
    snprintf(want, sizeof want, "FID statistics of %s (sFID's spatial features) from 10 samples", sample);
    cr_expect_not_null(strstr(captured_err, want), "%s", captured_err);
    snprintf(want, sizeof want, "the covariance of %s (pool3) is rank-deficient", sample);
    cr_expect_not_null(strstr(captured_err, want), "%s", captured_err);

    /* a reference batch with stored statistics: FID and sFID against them, P/R from its images */
    char stored[1024];
    evaluator_file(stored, sizeof stored, "ref_stats.npz");
    evaluation_lines s = evaluate(stored, sample);
    cr_expect_not_null(strstr(captured, "mu, sigma, mu_s, sigma_s as stored in the file"), "%s", captured);
    expect_rel(s.fid, evaluator_reference("fid_stored"), TOL_FID, "FID against stored mu, sigma");
    expect_rel(s.sfid, evaluator_reference("sfid_stored"), TOL_FID, "sFID against stored mu_s, sigma_s");
    cr_expect(fabs(s.fid - e.fid) > 1.0, "the stored statistics must be the ones used: FID %.10g both ways", s.fid);
    cr_expect_eq(s.is, e.is);
    cr_expect_eq(s.precision, e.precision);
    cr_expect_eq(s.recall, e.recall);

    /* Stored statistics on the SAMPLE side too (the evaluator reads both batches with
     * read_statistics): the roles swapped, FID and sFID are symmetric, so they are the stored
     * values again; precision and recall trade places; IS is that of the reference images,
     * the same whether or not their file holds statistics. */
    evaluation_lines swapped = evaluate(sample, ref), swapped_stored = evaluate(sample, stored);
    cr_expect_not_null(strstr(captured, "mu, sigma, mu_s, sigma_s as stored in the file"), "%s", captured);
    expect_rel(swapped_stored.fid, evaluator_reference("fid_stored"), TOL_FID,
               "FID with the sample's stored mu, sigma");
    expect_rel(swapped_stored.sfid, evaluator_reference("sfid_stored"), TOL_FID, "sFID with the stored mu_s, sigma_s");
    expect_rel(swapped.fid, e.fid, 1e-9, "FID is symmetric");
    cr_expect_eq(swapped_stored.is, swapped.is);
    cr_expect_eq(swapped.precision, e.recall);
    cr_expect_eq(swapped.recall, e.precision);
    cr_expect_eq(swapped_stored.precision, e.recall);
    cr_expect_eq(swapped_stored.recall, e.precision);
}

/* One pass, four commands: each number is what the metric's own command prints for the same
 * inputs and protocol, to the printed digit. */
Test(cmd_evaluate, equals_the_single_metric_commands, .timeout = 300) {
    char ref[1024], sample[1024], w[1024], h[65];
    evaluator_file(ref, sizeof ref, "ref.npz");
    evaluator_file(sample, sizeof sample, "sample.npz");
    weights(w, sizeof w, h);
    evaluation_lines e = evaluate(ref, sample);
    char *net[] = {"--weights", w, "--weights-sha256", h, "--batch", "4", "--device", "cpu", "--protocol", "legacy-tf"};
    char *argv[24];
    const struct {
        gb_status (*cmd)(int, char **);
        const char *const head[6];
        int n_head;
        const char *key;
        double want;
    } cases[] = {
        {gb_cmd_isc, {"isc", sample, "--splits", "1", "--no-shuffle"}, 5, NULL, e.is},
        {gb_cmd_fid, {"fid", sample, ref}, 3, NULL, e.fid},
        {gb_cmd_sfid, {"sfid", sample, ref}, 3, NULL, e.sfid},
        {gb_cmd_prdc, {"prdc", sample, ref}, 3, "precision ", e.precision},
        {gb_cmd_prdc, {"prdc", sample, ref}, 3, "recall ", e.recall},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int argc = 0;
        for (int i = 0; i < cases[c].n_head; i++) argv[argc++] = (char *)cases[c].head[i];
        for (int i = 0; i < 10; i++) argv[argc++] = net[i];
        double v = run_for_value(cases[c].cmd, argv, argc, cases[c].key);
        cr_expect_eq(v, cases[c].want, "%s %s: %.10g, evaluate printed %.10g", cases[c].head[0],
                     cases[c].key ? cases[c].key : "", v, cases[c].want);
    }
}

/* A uint8 NHWC batch of n images of 8 x 8 as np.savez writes it (arr_0), with extra members. */
static void write_batch(const char *path, size_t n, const char *const *keys, const gb_npy_array *extra,
                        size_t n_extra) {
    cr_assert(n_extra <= 4);
    static uint8_t pixels[6 * 8 * 8 * 3];
    for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (uint8_t)(i * 7 + i / 17);
    size_t shape[4] = {n, 8, 8, 3};
    const char *names[5] = {"arr_0"};
    gb_npy_array arrays[5] = {gb_npy_view(GB_NPY_U8, 4, shape, pixels)};
    for (size_t i = 0; i < n_extra; i++) names[1 + i] = keys[i], arrays[1 + i] = extra[i];
    cr_assert_eq(gb_npz_save(path, names, arrays, 1 + n_extra, GB_NPZ_STORED), GB_OK, "%s", gb_last_error());
}

/* Every bad input is found before the network: these runs name weights that do not exist, so
 * reaching the network would fail with exit 5 naming the weights, not the input. */
Test(cmd_evaluate, bad_inputs_stop_before_the_network) {
    char dir[] = "/tmp/gb_evaluate_XXXXXX", good[128], few[128], feats[128], nomus[128], badmu[128], last[512];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(good, sizeof good, "%s/good.npz", dir);
    snprintf(few, sizeof few, "%s/few.npz", dir);
    snprintf(feats, sizeof feats, "%s/feats.npy", dir);
    snprintf(nomus, sizeof nomus, "%s/nomus.npz", dir);
    snprintf(badmu, sizeof badmu, "%s/badmu.npz", dir);
    write_batch(good, 6, NULL, NULL, 0);
    write_batch(few, 3, NULL, NULL, 0);
    static double mu[2048], sigma[2048 * 2048], mu_s[10], sigma_s[100];
    size_t d1[1] = {2048}, d2[2] = {2048, 2048}, s1[1] = {10}, s2[2] = {10, 10};
    const char *only_mu[2] = {"mu", "sigma"}, *four[4] = {"mu", "sigma", "mu_s", "sigma_s"};
    gb_npy_array pool[2] = {gb_npy_view(GB_NPY_F64, 1, d1, mu), gb_npy_view(GB_NPY_F64, 2, d2, sigma)};
    write_batch(nomus, 6, only_mu, pool, 2);
    gb_npy_array all[4] = {pool[0], pool[1], gb_npy_view(GB_NPY_F64, 1, s1, mu_s),
                           gb_npy_view(GB_NPY_F64, 2, s2, sigma_s)};
    write_batch(badmu, 6, four, all, 4);
    static float rows[6 * 4];
    size_t fshape[2] = {6, 4};
    gb_npy_array f = gb_npy_view(GB_NPY_F32, 2, fshape, rows);
    cr_assert_eq(gb_npy_save(feats, &f), GB_OK, "%s", gb_last_error());

    const char *absent = "/nonexistent/inception.pth";
    const struct { /* the file named is the bad one: ref unless the sample is */
        const char *ref, *sample;
        gb_status want;
        const char *says;
    } cases[] = {
        {feats, good, GB_INPUT, "holds feature rows, not images"},
        {good, few, GB_INPUT, "3 images; precision and recall with k = 3 need at least 4"},
        {nomus, good, GB_INPUT, "holds 'mu' but no 'mu_s'"},
        {badmu, good, GB_INPUT, "mu_s has 10 entries, not the 2023"},
        {good, "/nonexistent/sample.npz", GB_INPUT, "/nonexistent/sample.npz"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *argv[] = {"evaluate", (char *)cases[c].ref, (char *)cases[c].sample, "--weights", (char *)absent,
                        "--weights-sha256", "0000000000000000000000000000000000000000000000000000000000000000"};
        cr_expect_eq(run_cmd(gb_cmd_evaluate, argv, 7, last, sizeof last), cases[c].want, "case %zu: %s", c,
                     gb_last_error());
        cr_expect_not_null(strstr(gb_last_error(), cases[c].says), "case %zu: %s", c, gb_last_error());
        const char *bad = cases[c].ref == good ? cases[c].sample : cases[c].ref;
        cr_expect_not_null(strstr(gb_last_error(), bad), "case %zu names %s: %s", c, bad, gb_last_error());
    }
    /* the network is reached with good inputs: the missing weights are then the error (exit 5) */
    char *reach[] = {"evaluate", good, good, "--weights", (char *)absent};
    cr_expect_eq(run_cmd(gb_cmd_evaluate, reach, 5, last, sizeof last), GB_ENV, "%s", gb_last_error());
    cr_expect_not_null(strstr(gb_last_error(), absent), "%s", gb_last_error());

    char *dims[] = {"evaluate", good, good, "--dims", "768"};
    cr_expect_eq(run_cmd(gb_cmd_evaluate, dims, 5, last, sizeof last), GB_USAGE);
    cr_expect_not_null(strstr(gb_last_error(), "--dims does not apply"), "%s", gb_last_error());
    char *three[] = {"evaluate", good, good, good};
    cr_expect_eq(run_cmd(gb_cmd_evaluate, three, 4, last, sizeof last), GB_USAGE);
    char *one[] = {"evaluate", good};
    cr_expect_eq(run_cmd(gb_cmd_evaluate, one, 2, last, sizeof last), GB_USAGE);
    char *unknown[] = {"evaluate", good, good, "--splits", "2"};
    cr_expect_eq(run_cmd(gb_cmd_evaluate, unknown, 5, last, sizeof last), GB_USAGE);
    char *help[] = {"evaluate", "--help"};
    cr_expect_eq(run_cmd(gb_cmd_evaluate, help, 2, last, sizeof last), GB_OK);
    cr_expect_not_null(strstr(captured, "Inception Score, FID, sFID, Precision, Recall"), "%s", captured);

    const char *files[] = {good, few, feats, nomus, badmu};
    for (size_t i = 0; i < 5; i++) unlink(files[i]);
    rmdir(dir);
}
