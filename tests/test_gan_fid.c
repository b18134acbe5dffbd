/* tests/test_gan_fid.c - the GAN pipelines' FID / KID / precision-recall evaluation
 * (pipelines/gan_fid.c) on random Inception weights in the real .pth layout
 * (tests/peers/inception_ref.py, named with an explicit SHA-256 as --inception-weights does).
 *
 * Reference: the same images pushed through the pieces directly: the protocol's resize,
 * the network, statistics from the feature matrix (gb_fid_stats_from_features, not the
 * streaming accumulator the pipeline uses), gb_kid and gb_prdc on the whole matrices. This
 * checks the pipeline's plumbing: uint8 training images and [0, 1] samples both enter as
 * [0, 255], the reference is the first n_ref images, the kept features are the right rows,
 * KID is seeded by the run seed. The network and the metric arithmetic themselves are
 * checked against pytorch-fid / clean-fid / numpy in tests/test_inception.c and
 * tests/test_fid_stats.c. Also: a named weights file that is missing or has another hash is
 * a clear GB_INPUT.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/philox.h"
#include "core/sha256.h"
#include "pipelines/gan_fid.h"

enum { N_REAL = 12, N_REF = 9, N_GEN = 25, C = 3, H = 8, W = 8 }; /* 25 samples: 10 uneven splits of 2-3 */
#define PIX ((size_t)C * H * W)
#define FEAT GB_INCEPTION_FEATURES

typedef struct {
    gb_device dev;
    gb_run_options opt;
    gb_run_context ctx;
    gan_run run;
    char weights[1024], sha[65];
} harness;

static void harness_open(harness *t) {
    memset(t, 0, sizeof *t);
    const char *root = getenv("GB_FIXTURES");
    if (!root) cr_assert_fail("GB_FIXTURES is not set: run `make test` (tests/peers/inception_ref.py writes the weights)");
    snprintf(t->weights, sizeof t->weights, "%s/inception/weights_zip.pth", root);
    cr_assert_eq(gb_sha256_file(t->weights, t->sha), GB_OK, "%s: %s (run tests/peers/inception_ref.py)", t->weights,
                 gb_last_error());
    cr_assert_eq(gb_device_open(&t->dev, "cpu", 2), GB_OK, "%s", gb_last_error());
    t->opt = (gb_run_options){.data_dir = "/nonexistent", .seed = 7, .inception_weights = t->weights,
                              .inception_sha256 = t->sha};
    t->ctx.opt = &t->opt;
    t->ctx.dev = &t->dev;
    t->run.ctx = &t->ctx;
    t->run.seed = 7;
    t->run.n = N_REAL;
    t->run.c = C, t->run.h = H, t->run.w = W;
    t->run.pixels = PIX;
    t->run.data.count = N_REAL;
    t->run.data.channels = C, t->run.data.height = H, t->run.data.width = W;
    t->run.data.pixels = malloc(N_REAL * PIX);
    gb_stream st = gb_stream_open(11, "test/gan_fid/real");
    for (size_t i = 0; i < N_REAL * PIX; i++) t->run.data.pixels[i] = (uint8_t)gb_stream_below(&st, 256);
}

static void harness_close(harness *t) {
    free(t->run.data.pixels);
    gb_device_close(&t->dev);
}

/* Features of n images [n, C, H, W] given in [0, 255] floats, straight through the pieces; and
 * their logits into logits [n, 1008] when it is not NULL. */
static float *features(gan_fid *f, const float *img255, size_t n, float *logits) {
    size_t in = 3 * (size_t)GB_INCEPTION_SIZE * GB_INCEPTION_SIZE;
    float *pre = malloc(n * in * sizeof(float)), *out = malloc(n * FEAT * sizeof(float));
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(gb_fid_preprocess_f32(f->protocol, pre + i * in, img255 + i * PIX, H, W), GB_OK);
    gb_inception_forward(&f->net, out, logits, pre, n);
    free(pre);
    return out;
}

static void expect_rel(double got, double want, double tol, const char *what) {
    double scale = fabs(want) > 1e-12 ? fabs(want) : 1.0;
    cr_expect(fabs(got - want) <= tol * scale, "%s: got %.12g, want %.12g", what, got, want);
}

Test(gan_fid, final_scores_equal_the_pieces, .timeout = 300) {
    harness t;
    harness_open(&t);
    gan_fid f;
    cr_assert_eq(gan_fid_open(&f, &t.run, GB_FID_CLEAN, N_REF), GB_OK, "%s", gb_last_error());
    cr_assert(f.ready);
    cr_assert_eq(f.n_ref, N_REF);
    cr_assert_eq(f.n_real_feat, N_REF);
    cr_assert_str_eq(f.net.sha256, t.sha);

    float *gen = malloc(N_GEN * PIX * sizeof(float)), *gen255 = malloc(N_GEN * PIX * sizeof(float));
    float *real255 = malloc(N_REF * PIX * sizeof(float));
    gb_stream st = gb_stream_open(12, "test/gan_fid/gen");
    gb_stream_uniform(&st, gen, N_GEN * PIX);
    for (size_t i = 0; i < N_GEN * PIX; i++) gen255[i] = gen[i] * 255.0f;
    for (size_t i = 0; i < N_REF * PIX; i++) real255[i] = (float)t.run.data.pixels[i];

    gan_fid_scores got;
    cr_assert_eq(gan_fid_final(&f, gen, N_GEN, C, H, W, &got), GB_OK, "%s", gb_last_error());

    float *logits = malloc(N_GEN * GB_INCEPTION_CLASSES * sizeof(float));
    float *fr = features(&f, real255, N_REF, NULL), *fg = features(&f, gen255, N_GEN, logits);
    cr_expect_eq(memcmp(fr, f.real_feat, N_REF * FEAT * sizeof(float)), 0, "kept real features differ");
    gb_fid_stats sr, sg;
    cr_assert_eq(gb_fid_stats_from_features(&sr, fr, N_REF, FEAT, NULL), GB_OK);
    cr_assert_eq(gb_fid_stats_from_features(&sg, fg, N_GEN, FEAT, NULL), GB_OK);
    double fid;
    cr_assert_eq(gb_fid_from_stats(&fid, &sg, &sr), GB_OK, "%s", gb_last_error());
    /* same features, float64 statistics by two summation orders: 1e-9 relative */
    expect_rel(got.fid, fid, 1e-9, "FID");

    gb_kid_result kid;
    cr_assert_eq(gb_kid(&kid, NULL, fg, N_GEN, fr, N_REF, FEAT, GB_KID_SUBSETS, N_GEN < N_REF ? N_GEN : N_REF, 7), GB_OK);
    cr_expect_eq(got.kid.subset_size, (size_t)(N_GEN < N_REF ? N_GEN : N_REF));
    expect_rel(got.kid.mean, kid.mean, 1e-12, "KID");
    expect_rel(got.kid.std, kid.std, 1e-12, "KID std");

    gb_prdc_protocol p;
    cr_assert_eq(gb_prdc_protocol_by_name(&p, "kynkaanniemi"), GB_OK);
    gb_prdc_result pr;
    cr_assert_eq(gb_prdc(&pr, fr, N_REF, fg, N_GEN, FEAT, p), GB_OK);
    cr_expect_eq(got.prdc.precision, pr.precision);
    cr_expect_eq(got.prdc.recall, pr.recall);
    cr_expect_eq(got.prdc.density, pr.density);
    cr_expect_eq(got.prdc.coverage, pr.coverage);
    cr_expect_eq(got.n_gen_feat, (size_t)N_GEN);
    cr_expect_eq(got.n_real_feat, (size_t)N_REF);

    /* the Inception score: the network's logits without fc.bias (set by gan_fid_open), all the
     * samples, 10 splits in torch-fidelity's shuffled order */
    cr_expect(f.net.logits_without_bias, "the score's logits are the unbiased ones");
    double is_mean, is_std;
    cr_assert_eq(gb_inception_score_shuffled(&is_mean, &is_std, logits, N_GEN, GB_INCEPTION_CLASSES, GB_IS_SPLITS,
                                             GB_IS_LOGITS, GB_IS_SHUFFLE_SEED),
                 GB_OK, "%s", gb_last_error());
    cr_expect_eq(got.is_splits, (size_t)GB_IS_SPLITS);
    cr_expect(is_mean > 1.0 + 1e-9, "splits of 2-3 samples give a score above 1 (got %.12g)", is_mean);
    expect_rel(got.is_mean, is_mean, 1e-12, "Inception score");
    expect_rel(got.is_std, is_std, 1e-12, "Inception score std");
    free(logits);

    gb_fid_stats_free(&sr);
    gb_fid_stats_free(&sg);
    free(fr), free(fg), free(gen), free(gen255), free(real255);
    gan_fid_free(&f);
    harness_close(&t);
}

Test(gan_fid, named_weights_missing_or_other_hash) {
    harness t;
    harness_open(&t);
    gan_fid f;
    t.opt.inception_weights = "/nonexistent/weights.pth";
    cr_expect_eq(gan_fid_open(&f, &t.run, GB_FID_CLEAN, N_REF), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "/nonexistent/weights.pth") != NULL, "message: %s", gb_last_error());
    t.opt.inception_weights = t.weights;
    t.opt.inception_sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
    cr_expect_eq(gan_fid_open(&f, &t.run, GB_FID_CLEAN, N_REF), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "sha") != NULL || strstr(gb_last_error(), "SHA") != NULL, "message: %s",
              gb_last_error());
    harness_close(&t);
}

Test(gan_fid, default_weights_absent_is_not_an_error) {
    harness t;
    harness_open(&t);
    t.opt.inception_weights = NULL;
    t.opt.inception_sha256 = NULL;
    gan_fid f;
    cr_assert_eq(gan_fid_open(&f, &t.run, GB_FID_CLEAN, N_REF), GB_OK);
    cr_expect_eq(f.ready, 0);
    cr_expect(strstr(f.reason, "absent") != NULL, "reason: %s", f.reason);
    harness_close(&t);
}
