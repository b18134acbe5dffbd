/* tests/test_cmd_isc.c - `genbench isc` (cli/cmd_isc.c, compiled into this suite):
 *   - on a logits file it prints torch-fidelity's own isc_features_to_metric value (its
 *     RandomState(2020) shuffle included) and, with --no-shuffle, the given-order value
 *     (tests/peers/fid_stats.py);
 *   - on an image folder (random Inception weights in the real format) it scores the logits of
 *     pytorch-fid's pool3 features of those images times fc.weight, without fc.bias by default
 *     and with it under --logits biased (tests/peers/inception_ref.py);
 *   - bad inputs and options give exit 2 or 3 naming the problem.
 */
#include "../cli/cli_common.c"
#include "../cli/cmd_isc.c"
#include "../cli/inception_inputs.c"
#include "../cli/metric_inputs.c"

#include <criterion/criterion.h>
#include <math.h>

#include "core/npy.h"
#include "core/sha256.h"
#include "metrics/torch_weights.h"
#include "tests/cmd_capture.h"
#include "tests/fid_fixture.h"
#include "tests/fixture.h"

/* Only summation order separates our float64 score from torch's (tests/test_fid_stats.c
 * TOL_IS); the command prints 10 significant digits. */
#define TOL_PRINTED 5e-10
#define TOL_FOLDER 2e-5 /* image_folder_scores_the_unbiased_logits */

Test(cmd_isc, logits_file_matches_torch_fidelity) {
    char logits[1024];
    fid_fixture(logits, sizeof logits, "is_logits.npy");
    char *tf[] = {"isc", logits};
    expect_rel(run_for_value(gb_cmd_isc, tf, 2, NULL), fid_reference("is_tf_mean"), TOL_PRINTED, "torch-fidelity mean");
    expect_rel(run_for_value(gb_cmd_isc, tf, 2, "isc_std "), fid_reference("is_tf_std"), TOL_PRINTED,
               "torch-fidelity std");
    cr_expect_not_null(strstr(captured, "RandomState(2020)"), "%s", captured);
    char *given[] = {"isc", logits, "--no-shuffle"};
    expect_rel(run_for_value(gb_cmd_isc, given, 3, NULL), fid_reference("is_mean"), TOL_PRINTED, "input order");
    char probs[1024];
    fid_fixture(probs, sizeof probs, "is_probs.npy");
    char *p[] = {"isc", probs, "--no-shuffle", "--input", "probabilities"};
    expect_rel(run_for_value(gb_cmd_isc, p, 5, NULL), fid_reference("is_mean"), 1e-5, "float32 probabilities");
}

/* logits [n, 1008] = pool [n, 2048] fc.weight^T (+ fc.bias), in double. */
static void reference_logits(float *out, const float *pool, size_t n, const float *w, const float *b) {
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < GB_INCEPTION_CLASSES; c++) {
            double acc = b ? b[c] : 0.0;
            for (size_t k = 0; k < GB_INCEPTION_FEATURES; k++)
                acc += (double)pool[i * GB_INCEPTION_FEATURES + k] * w[c * GB_INCEPTION_FEATURES + k];
            out[i * GB_INCEPTION_CLASSES + c] = (float)acc;
        }
}

static double isc_of_logits_file(const float *logits, size_t n) {
    char path[64] = "/tmp/gb_cmdisc_XXXXXX.npy"; /* mkstemps template */
    int fd = mkstemps(path, 4);
    cr_assert_geq(fd, 0);
    close(fd);
    size_t shape[2] = {n, GB_INCEPTION_CLASSES};
    gb_npy_array arr = gb_npy_view(GB_NPY_F32, 2, shape, (void *)logits);
    cr_assert_eq(gb_npy_save(path, &arr), GB_OK, "%s", gb_last_error());
    char *argv[] = {"isc", path, "--splits", "1"};
    double v = run_for_value(gb_cmd_isc, argv, 4, NULL);
    unlink(path);
    return v;
}

/* Two images in one split: the score is exp(mean KL(p_i || (p_1 + p_2) / 2)), which moves with
 * every logit. Our pool features are within 3e-6 relative of pytorch-fid's
 * (tests/tolerances.md "FID Inception-v3"); through 2048-term dot products that moves logits by
 * about 1e-5 of their scale. Measured: the score within 1.4e-6 relative of the same formula in
 * numpy on the peer's features; the bound is 2e-5. */
Test(cmd_isc, image_folder_scores_the_unbiased_logits, .timeout = 120) {
    const char *root = getenv("GB_FIXTURES");
    cr_assert(root, "GB_FIXTURES is not set");
    char dir[1024], w[1024], h[65];
    snprintf(dir, sizeof dir, "%s/inception/images", root);
    snprintf(w, sizeof w, "%s/inception/weights_zip.pth", root);
    cr_assert_eq(gb_sha256_file(w, h), GB_OK, "run tests/peers/inception_ref.py first: %s", gb_last_error());
    gb_torch_state st;
    cr_assert_eq(gb_torch_load(&st, w, h), GB_OK, "%s", gb_last_error());
    const float *fw, *fb;
    cr_assert_eq(gb_torch_get_f32(&fw, &st, "fc.weight", 2, (const int64_t[]){GB_INCEPTION_CLASSES, GB_INCEPTION_FEATURES}),
                 GB_OK);
    cr_assert_eq(gb_torch_get_f32(&fb, &st, "fc.bias", 1, (const int64_t[]){GB_INCEPTION_CLASSES}), GB_OK);
    float *pool = fixture_f32("inception/pt_pool.f32", 2 * GB_INCEPTION_FEATURES);
    float unbiased[2 * GB_INCEPTION_CLASSES], biased[2 * GB_INCEPTION_CLASSES];
    reference_logits(unbiased, pool, 2, fw, NULL);
    reference_logits(biased, pool, 2, fw, fb);
    float *peer_biased = fixture_f32("inception/pt_logits.f32", 2 * GB_INCEPTION_CLASSES);
    expect_close("pool x fc.weight^T + fc.bias against the peer's logits", biased, peer_biased,
                 2 * GB_INCEPTION_CLASSES, 1e-4, 1e-5);
    double want_unbiased = isc_of_logits_file(unbiased, 2), want_biased = isc_of_logits_file(biased, 2);
    /* 5x the tolerance below, so the test tells the two kinds apart */
    cr_assert(fabs(want_unbiased - want_biased) > 1e-4 * want_unbiased,
              "fc.bias must move the score on this fixture (%.10g against %.10g)", want_unbiased, want_biased);
    char *argv[] = {"isc", dir, "--splits", "1", "--protocol", "pytorch-fid", "--weights", w, "--weights-sha256", h,
                    "--device", "cpu", "--batch", "2", "--logits", "unbiased"};
    expect_rel(run_for_value(gb_cmd_isc, argv, 14, NULL), want_unbiased, TOL_FOLDER, "folder, default (unbiased) logits");
    cr_expect_not_null(strstr(captured, "protocol pytorch-fid"), "%s", captured);
    cr_expect_not_null(strstr(captured, "without fc.bias"), "%s", captured);
    expect_rel(run_for_value(gb_cmd_isc, argv, 16, NULL), want_unbiased, TOL_FOLDER, "folder, --logits unbiased");
    argv[15] = "biased";
    argv[13] = "1"; /* one image per forward: the logits-only path reuses one batch of pool rows */
    expect_rel(run_for_value(gb_cmd_isc, argv, 16, NULL), want_biased, TOL_FOLDER, "folder, --logits biased");
    /* two images cannot fill three splits */
    char last[512];
    argv[3] = "3";
    cr_expect_eq(run_cmd(gb_cmd_isc, argv, 14, last, sizeof last), GB_USAGE);
    cr_expect_not_null(strstr(gb_last_error(), "3 splits for 2 rows"), "%s", gb_last_error());
    free(pool);
    free(peer_biased);
    gb_torch_free(&st);
}

Test(cmd_isc, bad_inputs_and_options) {
    char logits[1024], ints[1024], last[512], dir[] = "/tmp/gb_cmdisc_dir_XXXXXX";
    fid_fixture(logits, sizeof logits, "is_logits.npy");
    fid_fixture(ints, sizeof ints, "npy_u1.npy"); /* uint8 [4, 5] */
    cr_assert_not_null(mkdtemp(dir));
    /* images with --input probabilities: a usage error before the network (no weights are found
     * under this data root, so reaching the network would be exit 5) */
    setenv("GB_DATA", "/nonexistent-gb-data", 1);
    const struct {
        char *argv[6];
        int argc;
        gb_status want;
        const char *message;
    } cases[] = {
        {{"isc"}, 1, GB_USAGE, "needs an input"},
        {{"isc", logits, logits}, 3, GB_USAGE, "one input"},
        {{"isc", "/nonexistent/logits.npy"}, 2, GB_INPUT, "/nonexistent/logits.npy"},
        {{"isc", logits, "--splits", "0"}, 4, GB_USAGE, "--splits"},
        {{"isc", logits, "--splits", "1001"}, 4, GB_USAGE, "1001 splits for 1000 rows"},
        {{"isc", logits, "--shuffle-seed", "4294967296"}, 4, GB_USAGE, "below 2^32"},
        {{"isc", logits, "--shuffle-seed", "-1"}, 4, GB_USAGE, "non-negative"},
        {{"isc", logits, "--logits", "raw"}, 4, GB_USAGE, "neither unbiased nor biased"},
        {{"isc", logits, "--input", "scores"}, 4, GB_USAGE, "neither logits nor probabilities"},
        {{"isc", logits, "--no-shuffle", "--shuffle-seed", "7"}, 5, GB_USAGE, "contradict"},
        {{"isc", logits, "--bogus", "1"}, 4, GB_USAGE, "unknown option '--bogus'"},
        {{"isc", logits, "--splits"}, 3, GB_USAGE, "needs a value"},
        {{"isc", logits, "--splits", "--no-shuffle"}, 4, GB_USAGE, "--splits needs a value"},
        {{"isc", ints}, 2, GB_INPUT, "float32 or float64"},
        /* logits are not probabilities: rows do not sum to 1 */
        {{"isc", logits, "--input", "probabilities"}, 4, GB_INPUT, "is_logits.npy"},
        {{"isc", dir, "--input", "probabilities"}, 4, GB_USAGE, "holds images, which give logits"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gb_status s = run_cmd(gb_cmd_isc, (char **)cases[i].argv, cases[i].argc, last, sizeof last);
        cr_expect_eq(s, cases[i].want, "case %zu: status %d, want %d (%s)", i, s, cases[i].want, gb_last_error());
        cr_expect_not_null(strstr(gb_last_error(), cases[i].message), "case %zu: '%s' lacks '%s'", i, gb_last_error(),
                           cases[i].message);
    }
    unsetenv("GB_DATA");
    rmdir(dir);
}

/* A NaN logit names the file and the element. */
Test(cmd_isc, nonfinite_logit_names_the_file) {
    char path[64] = "/tmp/gb_cmdisc_nan_XXXXXX.npy", last[512]; /* mkstemps template */
    int fd = mkstemps(path, 4);
    cr_assert_geq(fd, 0);
    close(fd);
    float x[3 * 4] = {0};
    x[2 * 4 + 1] = NAN;
    size_t shape[2] = {3, 4};
    gb_npy_array arr = gb_npy_view(GB_NPY_F32, 2, shape, x);
    cr_assert_eq(gb_npy_save(path, &arr), GB_OK);
    char *argv[] = {"isc", path, "--splits", "1"};
    cr_expect_eq(run_cmd(gb_cmd_isc, argv, 4, last, sizeof last), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), path), "%s", gb_last_error());
    cr_expect_not_null(strstr(gb_last_error(), "logits[2, 1]"), "%s", gb_last_error());
    unlink(path);
}
