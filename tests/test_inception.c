/* tests/test_inception.c - the FID Inception-v3 (models/inception_v3.c) and the FID
 * preprocessing protocols (metrics/fid_protocol.c) against pytorch-fid, clean-fid and
 * torch-fidelity on the same random weights and images (tests/peers/inception_ref.py).
 *
 * Checks:
 *   - pool3 features and logits of two images through the pytorch-fid protocol (legacy
 *     container here, zip through the folder test), within the tolerances of tests/tolerances.md ("FID Inception");
 *   - the weights-free conv listing (gb_inception_conv_shapes) against the loaded model's
 *     table and hand-derived spatial sizes;
 *   - chunking: batch limit 1 gives the same features as batch 2 (bitwise: the per-image
 *     work does not depend on the batch);
 *   - the merged sibling 1x1 convs give bitwise the features of the members run one by one;
 *   - the weights gate: the pinned hash refuses the random file (GB_INPUT naming the hash
 *     and the fetch command); the explicit hash accepts it;
 *   - bad weight files: missing key, wrong shape, a foreign key, a truncated file, a wrong
 *     magic -> GB_INPUT naming the file and the key;
 *   - the three protocols' network inputs against the peers' on an upscaled RGB image and a
 *     downscaled greyscale one, and the folder loader (sorted names, PNG/JPEG, grey -> RGB).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/atomic_file.h"
#include "core/sha256.h"
#include "kernels/kernels.h"
#include "metrics/fid_protocol.h"
#include "metrics/image_folder.h"
#include "metrics/inception_features.h"
#include "models/inception_v3.h"
#include "tests/blas_probe.h"
#include "tests/fixture.h"

#define IMG_FLOATS (3 * 299 * 299)

/* Timeouts per suite, not per test: with this file's five per-test timeouts, Criterion 2.4's
 * runner process leaked 48 bytes (its own allocation), which failed sanitized runs. The network
 * tests take seconds; 300 s covers a sanitized build. */
TestSuite(inception, .timeout = 300);
TestSuite(fid_protocol, .timeout = 300);

static char *fx(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "inception/%s", rel);
    return fixture_file(path);
}

static void sha_of(const char *path, char hex[65]) { cr_assert_eq(gb_sha256_file(path, hex), GB_OK, "%s", gb_last_error()); }

static void open_cpu(gb_device *dev) { cr_assert_eq(gb_device_open(dev, "cpu", 2), GB_OK, "%s", gb_last_error()); }

/* Load the weights at path for batches of max_batch, vouching for the file by its own hash
 * (written to hex). */
static void load_hashed(gb_inception *net, gb_device *dev, const char *path, char hex[65], size_t max_batch) {
    sha_of(path, hex);
    cr_assert_eq(gb_inception_load(net, dev, path, hex, max_batch), GB_OK, "%s", gb_last_error());
}

/* The CPU device and the network on the fixture weights `rel` (vouched for by their own hash,
 * written to h) for batches of max_batch. Returns the weights' path (the caller frees it). */
static char *open_fixture_net(gb_device *dev, gb_inception *net, const char *rel, size_t max_batch, char h[65]) {
    open_cpu(dev);
    char *p = fx(rel);
    load_hashed(net, dev, p, h, max_batch);
    return p;
}

/* Relative error of the worst element against the largest reference magnitude. */
static double rel_max_err(const float *got, const float *ref, size_t n) {
    double err = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - ref[i]);
        if (e > err || isnan(e)) err = isnan(e) ? INFINITY : e;
        if (fabs(ref[i]) > scale) scale = fabs(ref[i]);
    }
    return err / scale;
}

static void forward_parity(const char *weights) {
    gb_device dev;
    gb_inception net;
    char h[65], *p = open_fixture_net(&dev, &net, weights, 2, h);
    cr_expect_str_eq(net.sha256, h);
    float *in = fixture_f32("inception/pt_input.f32", 2 * IMG_FLOATS);
    float *ref_pool = fixture_f32("inception/pt_pool.f32", 2 * 2048);
    float *ref_logits = fixture_f32("inception/pt_logits.f32", 2 * 1008);
    float pool[2 * 2048], logits[2 * 1008];
    gb_inception_forward(&net, pool, logits, in, 2);
    double ep = rel_max_err(pool, ref_pool, 2 * 2048), el = rel_max_err(logits, ref_logits, 2 * 1008);
    cr_log_info("%s: pool3 max rel err %.3g, logits %.3g", weights, ep, el);
    cr_expect(ep <= 1e-4, "pool3 features: max |diff| / max |ref| = %.3g > 1e-4", ep);
    cr_expect(el <= 1e-4, "logits: max |diff| / max |ref| = %.3g > 1e-4", el);
    expect_close("pool3", pool, ref_pool, 2 * 2048, 2e-5, 1e-4);
    gb_inception_free(&net);
    /* batch limit 1: two chunks, bitwise the same features */
    cr_assert_eq(gb_inception_load(&net, &dev, p, h, 1), GB_OK, "%s", gb_last_error());
    /* the chunk limit, from the measured buffers: Conv2d_2b's [64, 147, 147] per image is the
     * widest activation, and 1552 of them stay below 2^31 elements while 1553 do not */
    cr_expect_eq(gb_inception_chunk(&net, 4096), (size_t)1552);
    cr_expect_eq(gb_inception_chunk(&net, 1553), (size_t)1552);
    cr_expect_eq(gb_inception_chunk(&net, 1552), (size_t)1552);
    cr_expect_eq(gb_inception_chunk(&net, 500), (size_t)500);
    cr_expect_eq(net.max_batch, (size_t)1, "a batch under the limit is kept as asked");
    float pool1[2 * 2048];
    gb_inception_forward(&net, pool1, NULL, in, 2);
    expect_blas_split_equal("pool3, batch limit 1 vs 2", pool, pool1, 2 * 2048, 1e-5);
    gb_inception_free(&net);
    gb_device_close(&dev);
    free(in);
    free(ref_pool);
    free(ref_logits);
    free(p);
}

/* The weights-free conv listing against the loaded model's table (whose channel counts and
 * kernel sizes the loader checked against the state dict pytorch-fid's network wrote) and
 * against spatial sizes derived by hand from specs/formats.md 5.2 (299 -> 149 -> 147 -> pool
 * 73 -> 71 -> pool 35 -> Mixed_6a 17 -> Mixed_7a 8). */
Test(inception, conv_listing_matches_the_model) {
    gb_device dev;
    gb_inception net;
    char h[65], *p = open_fixture_net(&dev, &net, "weights_legacy.pth", 1, h);
    gb_conv_shape shapes[GB_INCEPTION_CONVS + 1];
    const char *names[GB_INCEPTION_CONVS + 1];
    memset(shapes, 0, sizeof shapes);
    cr_assert_eq(gb_inception_conv_shapes(8, shapes, names, GB_INCEPTION_CONVS + 1), GB_INCEPTION_CONVS);
    cr_expect_eq(shapes[GB_INCEPTION_CONVS].batch, 0, "wrote past the 94 convolutions");
    for (int i = 0; i < GB_INCEPTION_CONVS; i++) {
        const gb_inception_conv *L = &net.convs[i];
        const gb_conv_shape *s = &shapes[i];
        cr_expect_str_eq(names[i], L->name, "conv %d", i);
        cr_expect(s->batch == 8 && s->in_channels == L->cin && s->out_channels == L->cout && s->kernel_h == L->kh &&
                      s->kernel_w == L->kw && s->stride_h == L->stride && s->stride_w == L->stride &&
                      s->pad_h == L->pad_h && s->pad_w == L->pad_w,
                  "%s: the listing's shape differs from the model's table", L->name);
        cr_expect_eq(s->in_height, s->in_width, "%s: square activations expected", L->name);
        /* channels chain within a branch: a conv reading another conv's output */
        if (i > 0 && strncmp(L->name, "Mixed", 5) && strncmp(net.convs[i - 1].name, "Mixed", 5))
            cr_expect_eq(s->in_channels, shapes[i - 1].out_channels, "%s", L->name);
    }
    static const struct {
        const char *name;
        int in, out;
    } sizes[] = {{"Conv2d_1a_3x3", 299, 149},          {"Conv2d_2a_3x3", 149, 147},
                 {"Conv2d_2b_3x3", 147, 147},          {"Conv2d_3b_1x1", 73, 73},
                 {"Conv2d_4a_3x3", 73, 71},            {"Mixed_5b.branch5x5_2", 35, 35},
                 {"Mixed_5d.branch_pool", 35, 35},     {"Mixed_6a.branch3x3", 35, 17},
                 {"Mixed_6a.branch3x3dbl_3", 35, 17},  {"Mixed_6b.branch7x7_2", 17, 17},
                 {"Mixed_6e.branch7x7dbl_5", 17, 17},  {"Mixed_7a.branch3x3_2", 17, 8},
                 {"Mixed_7a.branch7x7x3_4", 17, 8},    {"Mixed_7b.branch3x3_2a", 8, 8},
                 {"Mixed_7c.branch_pool", 8, 8}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int i = 0;
        while (i < GB_INCEPTION_CONVS && strcmp(names[i], sizes[k].name)) i++;
        cr_assert(i < GB_INCEPTION_CONVS, "no conv named %s in the listing", sizes[k].name);
        cr_expect(shapes[i].in_height == sizes[k].in && gb_conv_out_h(&shapes[i]) == sizes[k].out &&
                      gb_conv_out_w(&shapes[i]) == sizes[k].out,
                  "%s: %d -> %d, expected %d -> %d", sizes[k].name, shapes[i].in_height, gb_conv_out_h(&shapes[i]),
                  sizes[k].in, sizes[k].out);
    }
    /* a short cap writes a prefix; names may be NULL */
    gb_conv_shape few[3];
    cr_expect_eq(gb_inception_conv_shapes(2, few, NULL, 3), GB_INCEPTION_CONVS);
    cr_expect(few[2].batch == 2 && few[2].in_channels == 32 && few[2].out_channels == 64 && few[2].pad_h == 1);
    cr_expect_eq(gb_inception_conv_shapes(1, NULL, NULL, 0), GB_INCEPTION_CONVS);
    /* the run listing: every state-dict conv runs either on its own (same name, same shape)
     * or inside its block's merged 1x1 conv, whose output channels are the sum of the block's
     * other 1x1 convs on the same input */
    gb_conv_shape run[GB_INCEPTION_CONVS];
    const char *run_names[GB_INCEPTION_CONVS];
    int merged[GB_INCEPTION_CONVS];
    size_t nrun = gb_inception_run_conv_shapes(8, run, run_names, merged, GB_INCEPTION_CONVS);
    cr_assert_eq(nrun, 67, "%zu convs run (94 less 27 merged away: A 3x3, C 4x3, D 1, E 3 + 2)", nrun);
    int alone[GB_INCEPTION_CONVS] = {0}, groups = 0, covered = 0;
    for (size_t r = 0; r < nrun; r++) {
        if (merged[r]) continue;
        int i = 0;
        while (i < GB_INCEPTION_CONVS && strcmp(names[i], run_names[r])) i++;
        cr_assert(i < GB_INCEPTION_CONVS, "run conv %s is not in the state dict", run_names[r]);
        cr_expect(memcmp(&run[r], &shapes[i], sizeof run[r]) == 0, "%s: run shape differs", names[i]);
        alone[i] = 1;
        covered++;
    }
    for (size_t r = 0; r < nrun; r++) {
        if (!merged[r]) continue;
        groups++;
        const char *dot = strchr(run_names[r], '.');
        size_t block = dot ? (size_t)(dot - run_names[r]) : strlen(run_names[r]);
        int total = 0, members = 0;
        for (int i = 0; i < GB_INCEPTION_CONVS; i++)
            if (!alone[i] && !strncmp(names[i], run_names[r], block) && names[i][block] == '.' &&
                shapes[i].kernel_h == 1 && shapes[i].kernel_w == 1 && shapes[i].in_channels == run[r].in_channels) {
                total += shapes[i].out_channels;
                members++;
                cr_expect_eq(shapes[i].in_height, run[r].in_height, "%s: not at its merged conv's size", names[i]);
            }
        cr_expect(members >= 2 && total == run[r].out_channels && run[r].kernel_h == 1 && run[r].kernel_w == 1,
                  "%s merged: %d output channels, %d members summing to %d", run_names[r], run[r].out_channels,
                  members, total);
        covered += members;
    }
    cr_expect_eq(groups, 10, "%d merged groups (5b-d, 6b-e, 7a, 7b, 7c)", groups);
    cr_expect_eq(covered, GB_INCEPTION_CONVS, "%d of the 94 convs run", covered);
    cr_expect_eq(gb_inception_run_conv_shapes(1, NULL, NULL, NULL, 0), 67);
    gb_inception_free(&net);
    gb_device_close(&dev);
    free(p);
}

/* The merged sibling 1x1 convs (models/inception_v3.c conv_merged: one GEMM per block over
 * the members' concatenated folded weights) against the members run one by one on the same
 * weights and images. Bitwise where the BLAS is shape-invariant (tests/blas_probe.h): a merged
 * GEMM's row for an output channel is the member's own GEMM row (the same weight row, the same
 * packed input column, the same K order: OpenBLAS splits sgemm over output rows and columns,
 * never the reduction), and slicing, copying and per-image ReLU are exact; within 1e-5
 * where its kernels round by shape (OpenBLAS's AVX2 ones: measured 9.7e-7). A wrong weight
 * offset, member order or ReLU range shows as a different feature, not a rounding difference.
 * Batch limit 2 (slices are copied densely) and 1 (one image's slice is read in place). */
Test(inception, merged_1x1_equals_separate) {
    gb_device dev;
    open_cpu(&dev);
    char *p = fx("weights_legacy.pth");
    char h[65];
    float *in = fixture_f32("inception/pt_input.f32", 2 * IMG_FLOATS);
    for (size_t max_batch = 1; max_batch <= 2; max_batch++) {
        gb_inception net;
        load_hashed(&net, &dev, p, h, max_batch);
        cr_assert_eq(net.separate_1x1, 0, "the loader must leave the merged path on");
        static float pool[2][2 * 2048], logits[2][2 * 1008];
        for (int sep = 0; sep < 2; sep++) {
            net.separate_1x1 = sep;
            gb_inception_forward(&net, pool[sep], logits[sep], in, 2);
        }
        char what[96];
        snprintf(what, sizeof what, "batch limit %zu: pool3, merged vs separate 1x1 convs", max_batch);
        expect_blas_split_equal(what, pool[0], pool[1], 2 * 2048, 1e-5);
        snprintf(what, sizeof what, "batch limit %zu: logits, merged vs separate 1x1 convs", max_batch);
        expect_blas_split_equal(what, logits[0], logits[1], 2 * 1008, 1e-5);
        gb_inception_free(&net);
    }
    gb_device_close(&dev);
    free(in);
    free(p);
}

/* The legacy container (the real 2019 file's likely format); the zip file's tensors equal these
 * bit for bit (tests/test_torch_weights.c), and folder_features below runs on the zip file. */
Test(inception, forward_legacy_weights) { forward_parity("weights_legacy.pth"); }

/* pytorch-fid's --dims 64 / 192 / 768 (InceptionV3 output blocks 0..2, globally averaged) on the
 * same weights and inputs: the same bound as pool3 (tests/tolerances.md). The forward stops at
 * the block; the default stays 2048 with the same bits as before the taps; other values are
 * usage errors. */
Test(inception, earlier_blocks_match_pytorch_fid_dims) {
    gb_device dev;
    gb_inception net;
    char h[65], *p = open_fixture_net(&dev, &net, "weights_zip.pth", 2, h);
    cr_expect_eq(net.dims, 2048);
    float *in = fixture_f32("inception/pt_input.f32", 2 * IMG_FLOATS);
    float before[2 * 2048]; /* the default, before any tap was chosen */
    gb_inception_forward(&net, before, NULL, in, 2);
    const int dims[3] = {64, 192, 768};
    for (int k = 0; k < 3; k++) {
        char name[64];
        snprintf(name, sizeof name, "inception/pt_pool%d.f32", dims[k]);
        float *ref = fixture_f32(name, 2 * (size_t)dims[k]);
        float got[2 * 768 + 1];
        got[2 * dims[k]] = 12345.0f; /* a guard just past the rows */
        cr_assert_eq(gb_inception_set_dims(&net, dims[k]), GB_OK, "%s", gb_last_error());
        gb_inception_forward(&net, got, NULL, in, 2);
        double e = rel_max_err(got, ref, 2 * (size_t)dims[k]);
        cr_log_info("--dims %d: max rel err %.3g", dims[k], e);
        cr_expect(e <= 1e-4, "--dims %d: max |diff| / max |ref| = %.3g > 1e-4", dims[k], e);
        expect_close(name, got, ref, 2 * (size_t)dims[k], 2e-5, 1e-4);
        cr_expect_eq(got[2 * dims[k]], 12345.0f, "--dims %d wrote past its rows", dims[k]);
        free(ref);
    }
    cr_expect_eq(gb_inception_set_dims(&net, 100), GB_USAGE);
    cr_assert_eq(gb_inception_set_dims(&net, 2048), GB_OK);
    float pool[2 * 2048];
    gb_inception_forward(&net, pool, NULL, in, 2);
    cr_expect(memcmp(pool, before, sizeof pool) == 0, "pool3 after switching back differs from the default's bits");
    free(in);
    gb_inception_free(&net);
    gb_device_close(&dev);
    free(p);
}

/* sFID's features (OpenAI's evaluator: "mixed_6/conv:0"[..., :7], flattened NHWC) against a
 * forward hook on Mixed_6d.branch1x1 of pytorch-fid's wrapper, same weights and inputs
 * (tests/peers/inception_ref.py spatial_features): the pool3 bound. A tap before the ReLU, on
 * another block, or in channel-major order fails it; so does writing past the rows. */
Test(inception, spatial_features_match_mixed_6_conv) {
    gb_device dev;
    gb_inception net;
    char h[65], *p = open_fixture_net(&dev, &net, "weights_zip.pth", 2, h);
    float *in = fixture_f32("inception/pt_input.f32", 2 * IMG_FLOATS);
    float *ref = fixture_f32("inception/pt_spatial.f32", 2 * (size_t)GB_INCEPTION_SPATIAL);
    float got[2 * GB_INCEPTION_SPATIAL + 1];
    got[2 * GB_INCEPTION_SPATIAL] = 12345.0f; /* a guard just past the rows */
    cr_assert_eq(gb_inception_set_dims(&net, GB_INCEPTION_SPATIAL), GB_OK, "%s", gb_last_error());
    gb_inception_forward(&net, got, NULL, in, 2);
    double e = rel_max_err(got, ref, 2 * (size_t)GB_INCEPTION_SPATIAL);
    size_t zeros = 0;
    float biggest = 0.0f;
    for (size_t i = 0; i < 2 * (size_t)GB_INCEPTION_SPATIAL; i++) {
        zeros += ref[i] == 0.0f;
        biggest = fmaxf(biggest, fabsf(ref[i]));
    }
    cr_log_info("sFID features: max rel err %.3g, %zu of %d exact zeros (ReLU)", e, zeros, 2 * GB_INCEPTION_SPATIAL);
    cr_expect(zeros > 0 && zeros < 2 * (size_t)GB_INCEPTION_SPATIAL, "the reference should hold some ReLU zeros");
    cr_expect(e <= 1e-4, "sFID features: max |diff| / max |ref| = %.3g > 1e-4", e);
    /* unaveraged activations: an element's error scales with the map's largest value
     * (tests/tolerances.md), not with pool3's averaged magnitudes */
    expect_close("inception/pt_spatial.f32", got, ref, 2 * (size_t)GB_INCEPTION_SPATIAL, 3e-5 * biggest, 1e-4);
    cr_expect_eq(got[2 * GB_INCEPTION_SPATIAL], 12345.0f, "sFID features wrote past their rows");
    gb_inception_free(&net);
    /* batch limit 1: two chunks, each reordered at its own offset */
    static float chunked[2 * GB_INCEPTION_SPATIAL];
    cr_assert_eq(gb_inception_load(&net, &dev, p, h, 1), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_inception_set_dims(&net, GB_INCEPTION_SPATIAL), GB_OK, "%s", gb_last_error());
    gb_inception_forward(&net, chunked, NULL, in, 2);
    expect_blas_split_equal("sFID features, batch limit 1 vs 2", got, chunked, 2 * (size_t)GB_INCEPTION_SPATIAL,
                            1e-5);
    free(ref);
    free(in);
    gb_inception_free(&net);
    gb_device_close(&dev);
    free(p);
}

/* OpenAI's evaluator takes pool_3 and mixed_6/conv from one run of its graph; so does
 * gb_inception_forward_taps. The tap only reads Mixed_6d's map, and every op up to it runs on
 * the same shapes as the dims-2023 forward, so all three outputs are the bits of the separate
 * forwards: pool3 and logits of the plain one, the spatial rows of the sFID one (order h, w, c
 * included). Two chunks (batch limit 1) place each image's rows at its own offset. */
Test(inception, one_pass_gives_pool3_logits_and_spatial) {
    gb_device dev;
    gb_inception net;
    char h[65], *p = open_fixture_net(&dev, &net, "weights_zip.pth", 2, h);
    float *in = fixture_f32("inception/pt_input.f32", 2 * IMG_FLOATS);
    static float pool[2 * 2048], logits[2 * GB_INCEPTION_CLASSES], spatial[2 * GB_INCEPTION_SPATIAL];
    static float pool1[2 * 2048], logits1[2 * GB_INCEPTION_CLASSES], spatial1[2 * GB_INCEPTION_SPATIAL + 1];
    gb_inception_forward(&net, pool, logits, in, 2);
    cr_assert_eq(gb_inception_set_dims(&net, GB_INCEPTION_SPATIAL), GB_OK, "%s", gb_last_error());
    gb_inception_forward(&net, spatial, NULL, in, 2);
    cr_assert_eq(gb_inception_set_dims(&net, GB_INCEPTION_FEATURES), GB_OK, "%s", gb_last_error());
    for (size_t limit = 2; limit >= 1; limit--) {
        if (limit == 1) {
            gb_inception_free(&net);
            cr_assert_eq(gb_inception_load(&net, &dev, p, h, 1), GB_OK, "%s", gb_last_error());
            gb_inception_forward(&net, pool, logits, in, 2); /* the separate forwards again, in chunks of 1 */
            cr_assert_eq(gb_inception_set_dims(&net, GB_INCEPTION_SPATIAL), GB_OK, "%s", gb_last_error());
            gb_inception_forward(&net, spatial, NULL, in, 2);
            cr_assert_eq(gb_inception_set_dims(&net, GB_INCEPTION_FEATURES), GB_OK, "%s", gb_last_error());
        }
        spatial1[2 * GB_INCEPTION_SPATIAL] = 12345.0f; /* a guard just past the rows */
        gb_inception_forward_taps(&net, pool1, logits1, spatial1, in, 2);
        cr_expect_eq(memcmp(pool1, pool, sizeof pool), 0, "batch limit %zu: pool3 differs from the plain forward's",
                     limit);
        cr_expect_eq(memcmp(logits1, logits, sizeof logits), 0, "batch limit %zu: logits differ", limit);
        cr_expect_eq(memcmp(spatial1, spatial, sizeof spatial), 0,
                     "batch limit %zu: spatial rows differ from the dims-2023 forward's", limit);
        cr_expect_eq(spatial1[2 * GB_INCEPTION_SPATIAL], 12345.0f, "spatial rows written past their end");
    }
    free(in);
    gb_inception_free(&net);
    gb_device_close(&dev);
    free(p);
}

Test(inception, weights_gate) {
    gb_device dev;
    open_cpu(&dev);
    char *p = fx("weights_zip.pth");
    gb_inception net;
    cr_expect_eq(gb_inception_load(&net, &dev, p, NULL, 1), GB_INPUT);
    const char *e = gb_last_error();
    cr_expect(strstr(e, GB_INCEPTION_SHA256) && strstr(e, "genbench data fetch inception-weights") && strstr(e, p), "%s", e);
    cr_expect(net.params == NULL);
    gb_device_close(&dev);
    free(p);
}

static void expect_bad_weights(const char *rel, const char *needle) {
    gb_device dev;
    open_cpu(&dev);
    char *p = fx(rel);
    char h[65];
    sha_of(p, h);
    gb_inception net;
    cr_expect_eq(gb_inception_load(&net, &dev, p, h, 1), GB_INPUT, "%s", rel);
    const char *e = gb_last_error();
    cr_expect(strstr(e, p) && strstr(e, needle) && strstr(e, "genbench data fetch inception-weights"), "%s: %s", rel, e);
    gb_device_close(&dev);
    free(p);
}

Test(inception, missing_key) { expect_bad_weights("partial.pth", "'Conv2d_2a_3x3.conv.weight'"); }
Test(inception, wrong_shape) { expect_bad_weights("badshape.pth", "[32, 3, 1, 9]"); }
Test(inception, foreign_key) { expect_bad_weights("small_zip.pth", "unexpected tensor"); }

/* A damaged weights file (a small one: every truncation point is covered by
 * tests/test_torch_weights.c): truncated, and with a wrong first byte. */
Test(inception, damaged_weights) {
    gb_device dev;
    open_cpu(&dev);
    char *p = fx("partial.pth");
    unsigned char *d;
    size_t n;
    cr_assert_eq(gb_read_file(p, &d, &n), GB_OK);
    char tmp[] = "/tmp/gb_test_inception_XXXXXX";
    int fd = mkstemp(tmp);
    cr_assert(fd >= 0);
    close(fd);
    struct {
        size_t len;
        unsigned char first;
        const char *needle;
    } cases[] = {{n - 10, 'P', "not a readable zip"}, {n, 'Q', "offset 0"}};
    for (int c = 0; c < 2; c++) {
        d[0] = cases[c].first;
        cr_assert_eq(gb_atomic_write(tmp, d, cases[c].len), GB_OK);
        char h[65];
        sha_of(tmp, h);
        gb_inception net;
        cr_expect_eq(gb_inception_load(&net, &dev, tmp, h, 1), GB_INPUT);
        cr_expect(strstr(gb_last_error(), tmp) && strstr(gb_last_error(), cases[c].needle), "%s", gb_last_error());
    }
    remove(tmp);
    free(d);
    free(p);
    gb_device_close(&dev);
}

/* ---- protocols and folders ------------------------------------------------------------------ */

static uint8_t *load_fixture_image(const char *rel, int *h, int *w) {
    char *p = fx(rel);
    uint8_t *img;
    cr_assert_eq(gb_image_load_rgb(&img, h, w, p), GB_OK, "%s", gb_last_error());
    free(p);
    return img;
}

/* max |ours - peer| over the network-input range (2: every protocol maps to [-1, 1]). */
static double protocol_err(gb_fid_protocol proto, const char *image, const char *ref_rel) {
    int h, w;
    uint8_t *img = load_fixture_image(image, &h, &w);
    float *ours = malloc(IMG_FLOATS * sizeof *ours);
    cr_assert_eq(gb_fid_preprocess_u8(proto, ours, img, h, w), GB_OK, "%s", gb_last_error());
    float *ref = fixture_f32(ref_rel, IMG_FLOATS);
    double err = 0;
    size_t exact = 0;
    for (size_t i = 0; i < IMG_FLOATS; i++) {
        double e = fabs((double)ours[i] - ref[i]);
        if (e > err || isnan(e)) err = isnan(e) ? INFINITY : e;
        exact += ours[i] == ref[i];
    }
    cr_log_info("%s on %s: max |diff| %.3g (%.3g of the range), %zu of %d bit-exact", gb_fid_protocol_name(proto),
                image, err, err / 2, exact, IMG_FLOATS);
    free(img);
    free(ours);
    free(ref);
    return err / 2;
}

/* pytorch-fid's resize is CUDA's formula (source index and weights in float); Debian's torch on
 * the CPU forms its weights in double, which parts from it by a share of the float index's
 * rounding, growing with the input size (tests/tolerances.md): hence the looser bound on the
 * 768 x 1024 image. */
Test(fid_protocol, pytorch_fid_resize) {
    cr_expect(protocol_err(GB_FID_PYTORCH_FID, "images/a.png", "inception/pt_in_a.f32") <= 1e-5);
    cr_expect(protocol_err(GB_FID_PYTORCH_FID, "resize/c.png", "inception/pt_in_c.f32") <= 1e-5);
    cr_expect(protocol_err(GB_FID_PYTORCH_FID, "resize/d.png", "inception/pt_in_d.f32") <= 1e-4);
}

Test(fid_protocol, clean_resize) {
    cr_expect(protocol_err(GB_FID_CLEAN, "images/a.png", "inception/clean_in_a.f32") <= 1e-6);
    cr_expect(protocol_err(GB_FID_CLEAN, "resize/c.png", "inception/clean_in_c.f32") <= 1e-6);
    cr_expect(protocol_err(GB_FID_CLEAN, "resize/d.png", "inception/clean_in_d.f32") <= 1e-6);
}

Test(fid_protocol, legacy_tf_resize) {
    cr_expect(protocol_err(GB_FID_LEGACY_TF, "images/a.png", "inception/tf_in_a.f32") <= 1e-6);
    cr_expect(protocol_err(GB_FID_LEGACY_TF, "resize/c.png", "inception/tf_in_c.f32") <= 1e-6);
    cr_expect(protocol_err(GB_FID_LEGACY_TF, "resize/d.png", "inception/tf_in_d.f32") <= 1e-6);
}

Test(fid_protocol, names) {
    gb_fid_protocol p;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(gb_fid_protocol_by_name(&p, gb_fid_protocol_name((gb_fid_protocol)i)), GB_OK);
        cr_expect_eq(p, (gb_fid_protocol)i);
    }
    cr_expect_eq(gb_fid_protocol_by_name(&p, "tf"), GB_USAGE);
    cr_expect(strstr(gb_last_error(), "legacy-tf"), "%s", gb_last_error());
}

/* Decoding equals Pillow's convert("RGB") (x01 holds a.png and b.jpg / 255); grey -> RGB. */
Test(fid_protocol, decode_like_pillow) {
    float *x01 = fixture_f32("inception/x01.f32", 2 * 3 * 37 * 45);
    const char *names[2] = {"images/a.png", "images/b.jpg"};
    for (int k = 0; k < 2; k++) {
        int h, w;
        uint8_t *img = load_fixture_image(names[k], &h, &w);
        cr_assert(h == 37 && w == 45, "%s is %d x %d", names[k], h, w);
        size_t bad = 0;
        for (size_t i = 0; i < 3 * 37 * 45; i++) bad += (float)img[i] / 255.0f != x01[k * 3 * 37 * 45 + i];
        cr_expect_eq(bad, 0, "%s: %zu values differ from Pillow's", names[k], bad);
        free(img);
    }
    int h, w;
    uint8_t *grey = load_fixture_image("resize/c.png", &h, &w);
    cr_assert(h == 310 && w == 320);
    size_t plane = (size_t)h * w;
    cr_expect(memcmp(grey, grey + plane, plane) == 0 && memcmp(grey, grey + 2 * plane, plane) == 0);
    free(grey);
    free(x01);
}

/* Every PNG colour type, bit depth and transparency chunk a folder may hold decodes as
 * Pillow's convert("RGB") does, byte for byte: palettes with and without tRNS (8- and 4-bit
 * indices), grey and RGB with a tRNS colour, RGBA, LA, 1-bit, and 16-bit grey+alpha, RGB
 * and RGBA (the high byte, as Pillow's ;16B raw modes take it). */
Test(fid_protocol, png_modes_like_pillow) {
    const char *names[] = {"p_plain", "p_trns", "p4_trns", "l_trns", "rgb_trns", "rgba",
                           "la",      "one_bit", "ga16",   "rgb16",  "rgba16"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char rel[64];
        snprintf(rel, sizeof rel, "png_modes/%s.png", names[k]);
        int h, w;
        uint8_t *img = load_fixture_image(rel, &h, &w);
        cr_assert(h == 6 && w == 9, "%s is %d x %d", names[k], h, w);
        snprintf(rel, sizeof rel, "png_modes/%s.rgb", names[k]);
        char *p = fx(rel);
        uint8_t ref[6 * 9 * 3];
        FILE *f = fopen(p, "rb");
        cr_assert(f && fread(ref, 1, sizeof ref, f) == sizeof ref, "%s", p);
        fclose(f);
        free(p);
        size_t bad = 0, plane = 6 * 9;
        for (size_t i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++) bad += img[c * plane + i] != ref[i * 3 + c];
        cr_expect_eq(bad, 0, "%s: %zu of %zu values differ from Pillow's convert('RGB')", names[k], bad, 3 * plane);
        free(img);
    }
}

/* Each protocol reads the files of a folder tree its peer reads, in the peer's order: the
 * listings that clean-fid's glob, pytorch-fid's pathlib glob and torch-fidelity's
 * glob_samples_paths made of the same tree (tests/peers/inception_ref.py, FOLDER_TREE). */
Test(fid_protocol, folder_lists_match_each_peer) {
    const gb_fid_protocol protocols[] = {GB_FID_CLEAN, GB_FID_PYTORCH_FID, GB_FID_LEGACY_TF};
    char *root = fx("tree");
    for (int k = 0; k < 3; k++) {
        char name[64];
        snprintf(name, sizeof name, "tree_%s.txt", gb_fid_protocol_name(protocols[k]));
        char *listing = fx(name);
        FILE *f = fopen(listing, "r");
        cr_assert_not_null(f, "%s", listing);
        char **paths;
        size_t n;
        cr_assert_eq(gb_image_folder_list(&paths, &n, root, protocols[k]), GB_OK, "%s", gb_last_error());
        char line[512];
        size_t i = 0;
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            cr_assert_lt(i, n, "%s: the peer reads more files than ours (%zu; next %s)", name, n, line);
            const char *rel = paths[i] + strlen(root) + 1;
            cr_expect_str_eq(rel, line, "%s: file %zu is %s, the peer's is %s", name, i, rel, line);
            i++;
        }
        cr_expect_eq(i, n, "%s: the peer reads %zu files, ours %zu", name, i, n);
        fclose(f);
        gb_image_list_free(paths, n);
        free(listing);
    }
    free(root);
}

Test(fid_protocol, folder_list_and_errors) {
    char *dir = fx("images");
    char **paths;
    size_t n;
    cr_assert_eq(gb_image_folder_list(&paths, &n, dir, GB_FID_CLEAN), GB_OK, "%s", gb_last_error());
    cr_assert_eq(n, 2);
    cr_expect(strstr(paths[0], "/a.png") && strstr(paths[1], "/b.jpg"), "%s %s", paths[0], paths[1]);
    gb_image_list_free(paths, n);
    cr_expect_eq(gb_image_folder_list(&paths, &n, "/nonexistent/folder", GB_FID_CLEAN), GB_INPUT);
    char tmp[] = "/tmp/gb_test_folder_XXXXXX";
    cr_assert(mkdtemp(tmp));
    cr_expect_eq(gb_image_folder_list(&paths, &n, tmp, GB_FID_PYTORCH_FID), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "no images"), "%s", gb_last_error());
    /* A .bmp the clean-fid and pytorch-fid peers would count: refused, naming the file, even in
     * a subfolder for clean; torch-fidelity reads png/jpg/jpeg only, so legacy-tf ignores it. */
    char f[300], sub[64], in_sub[96], at_top[96];
    snprintf(sub, sizeof sub, "%s/sub", tmp);
    snprintf(in_sub, sizeof in_sub, "%s/x.bmp", sub);
    snprintf(at_top, sizeof at_top, "%s/x.bmp", tmp);
    cr_assert_eq(mkdir(sub, 0700), 0);
    cr_assert_eq(gb_atomic_write(in_sub, "BM", 2), GB_OK);
    cr_expect_eq(gb_image_folder_list(&paths, &n, tmp, GB_FID_CLEAN), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "sub/x.bmp"), "%s", gb_last_error());
    cr_assert_eq(rename(in_sub, at_top), 0);
    cr_expect_eq(gb_image_folder_list(&paths, &n, tmp, GB_FID_PYTORCH_FID), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "x.bmp"), "%s", gb_last_error());
    cr_expect_eq(gb_image_folder_list(&paths, &n, tmp, GB_FID_LEGACY_TF), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "no images"), "%s", gb_last_error());
    remove(at_top);
    rmdir(sub);
    snprintf(f, sizeof f, "%s/y.png", tmp);
    cr_assert_eq(gb_atomic_write(f, "\x89PNG\r\n\x1a\nxx", 10), GB_OK);
    uint8_t *img;
    int h, w;
    cr_expect_eq(gb_image_load_rgb(&img, &h, &w, f), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "y.png"), "%s", gb_last_error());
    remove(f);
    rmdir(tmp);
    free(dir);
}

/* End to end: folder -> decode -> pytorch-fid preprocessing -> network = pytorch-fid's pool3. */
Test(fid_protocol, folder_features) {
    gb_device dev;
    gb_inception net;
    char h[65], *p = open_fixture_net(&dev, &net, "weights_zip.pth", 2, h), *dir = fx("images");
    float *feats;
    size_t n;
    cr_assert_eq(gb_fid_folder_features(&feats, &n, &net, dir, GB_FID_PYTORCH_FID), GB_OK, "%s", gb_last_error());
    cr_assert_eq(n, 2);
    float *ref = fixture_f32("inception/pt_pool.f32", 2 * 2048);
    double e = rel_max_err(feats, ref, 2 * 2048);
    cr_expect(e <= 1e-4, "folder features: max rel err %.3g", e);
    free(ref);
    free(feats);
    gb_inception_free(&net);
    gb_device_close(&dev);
    free(p);
    free(dir);
}

/* Copy the fixture image rel to dir/name (the folder tests below build their folders so). */
static void copy_fixture_image(const char *rel, const char *dir, const char *name) {
    char *src = fx(rel), dst[256];
    FILE *in = fopen(src, "rb");
    cr_assert_not_null(in);
    unsigned char buf[1 << 16];
    size_t got = fread(buf, 1, sizeof buf, in);
    fclose(in);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    cr_assert_eq(gb_atomic_write(dst, buf, got), GB_OK, "%s", gb_last_error());
    free(src);
}

/* On a GPU the next batch is decoded while the network runs (gb_fid_folder_outputs); forced on
 * the CPU here, the overlapped loop gives the bits of the alternating one, pool3 and logits,
 * over batches of 2 with a short last one; a damaged file in the third batch (decoded during
 * the second forward) is reported, the earliest of two, as without the overlap. */
Test(fid_protocol, overlapped_decode_same_bits_and_errors) {
    gb_device dev;
    open_cpu(&dev);
    char *p = fx("weights_zip.pth"), h[65], dir[] = "/tmp/gb_test_overlap_XXXXXX", path[300];
    cr_assert(mkdtemp(dir));
    static const char *const names[] = {"0.png", "1.jpg", "2.png", "3.jpg", "4.png"};
    for (int i = 0; i < 5; i++) copy_fixture_image(i % 2 ? "images/b.jpg" : "images/a.png", dir, names[i]);
    gb_inception net;
    load_hashed(&net, &dev, p, h, 2);
    float *pool[2], *logits[2];
    size_t n[2];
    for (int overlap = 0; overlap < 2; overlap++)
        cr_assert_eq(gb_fid_folder_outputs_overlap(&pool[overlap], &logits[overlap], &n[overlap], &net, dir,
                                                   GB_FID_CLEAN, overlap),
                     GB_OK, "overlap %d: %s", overlap, gb_last_error());
    cr_assert(n[0] == 5 && n[1] == 5, "%zu and %zu images", n[0], n[1]);
    cr_expect(memcmp(pool[0], pool[1], 5 * GB_INCEPTION_FEATURES * sizeof(float)) == 0, "pool3 differs");
    cr_expect(memcmp(logits[0], logits[1], 5 * GB_INCEPTION_CLASSES * sizeof(float)) == 0, "logits differ");
    for (int k = 0; k < 2; k++) free(pool[k]), free(logits[k]);

    snprintf(path, sizeof path, "%s/4b.png", dir); /* sorts after 4.png: batch 3 with it */
    cr_assert_eq(gb_atomic_write(path, "\x89PNG\r\n\x1a\nshort", 13), GB_OK);
    snprintf(path, sizeof path, "%s/5.png", dir);
    cr_assert_eq(gb_atomic_write(path, "\x89PNG\r\n\x1a\ncut", 11), GB_OK);
    for (int overlap = 0; overlap < 2; overlap++) {
        cr_expect_eq(gb_fid_folder_outputs_overlap(&pool[0], &logits[0], &n[0], &net, dir, GB_FID_CLEAN, overlap),
                     GB_INPUT, "overlap %d", overlap);
        cr_expect(strstr(gb_last_error(), "4b.png") != NULL, "overlap %d: %s", overlap, gb_last_error());
    }
    gb_inception_free(&net);
    gb_device_close(&dev);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
    free(p);
}

/* A PNG of only a signature, an IHDR chunk claiming w x h RGB pixels, an empty IDAT (where
 * libpng's header reading stops) and IEND -> out (57 bytes). */
static size_t png_header_only(uint8_t *out, uint32_t w, uint32_t h) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t n = 0;
    memcpy(out, sig, 8);
    n = 8;
    const uint8_t ihdr[17] = {'I',     'H',     'D',    'R', w >> 24, w >> 16, w >> 8, w, /* width */
                              h >> 24, h >> 16, h >> 8, h,   8,       2,       0,      0, 0}; /* 8-bit RGB */
    const uint8_t idat[4] = {'I', 'D', 'A', 'T'}, iend[4] = {'I', 'E', 'N', 'D'};
    const struct { const uint8_t *type_and_data; uint32_t len; } chunks[3] = {{ihdr, 13}, {idat, 0}, {iend, 0}};
    for (int k = 0; k < 3; k++) {
        uint32_t len = chunks[k].len, crc = (uint32_t)crc32(0, chunks[k].type_and_data, len + 4);
        const uint8_t be_len[4] = {len >> 24, len >> 16, len >> 8, len};
        const uint8_t be_crc[4] = {crc >> 24, crc >> 16, crc >> 8, crc};
        memcpy(out + n, be_len, 4);
        memcpy(out + n + 4, chunks[k].type_and_data, len + 4);
        memcpy(out + n + 8 + len, be_crc, 4);
        n += 12 + len;
    }
    return n;
}

/* A header claiming more pixels than Pillow accepts (its DecompressionBombError limit,
 * 178,956,970) is refused by its claim, before any buffer is allocated; one just under the
 * limit gets past the claim and fails on its missing image data. */
Test(fid_protocol, png_claiming_too_many_pixels) {
    uint8_t png[64];
    uint8_t *chw;
    int h, w;
    size_t n = png_header_only(png, 20000, 20000);
    cr_expect_eq(gb_image_decode_rgb(&chw, &h, &w, "bomb.png", png, n), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "bomb.png") && strstr(gb_last_error(), "400000000 pixels"), "%s",
              gb_last_error());
    n = png_header_only(png, 13000, 13000); /* 169,000,000 */
    cr_expect_eq(gb_image_decode_rgb(&chw, &h, &w, "empty.png", png, n), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "damaged PNG"), "%s", gb_last_error());
    n = png_header_only(png, 2000000, 1); /* wider than libpng's default limit, which Pillow has not */
    cr_expect_eq(gb_image_decode_rgb(&chw, &h, &w, "wide.png", png, n), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "damaged PNG") && !strstr(gb_last_error(), "width"), "%s", gb_last_error());
    /* within the pixel limit, but with no image data to fill its rows: refused before any
     * image buffer (it took 1.4 GB, the row table, when found in review) */
    struct rusage before, after;
    cr_assert_eq(getrusage(RUSAGE_SELF, &before), 0);
    n = png_header_only(png, 1, 178000000);
    cr_expect_eq(gb_image_decode_rgb(&chw, &h, &w, "tall.png", png, n), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "tall.png: damaged PNG (the image data is too short"), "%s", gb_last_error());
    cr_assert_eq(getrusage(RUSAGE_SELF, &after), 0);
    cr_expect_lt(after.ru_maxrss - before.ru_maxrss, 64L << 10, "decoding it raised the peak memory by %ld KB",
                 after.ru_maxrss - before.ru_maxrss);
}

/* Found by fuzz/png_fuzz.c: a 56-byte 7x5 PNG whose zTXt chunk declares 0x76ffffff bytes made
 * libpng allocate and zero them before reading; the chunks convert("RGB") does not use are now
 * skipped unread, so the file is found truncated, and the process's peak memory (this test runs
 * in its own process) grows by far less than the 2 GB it used to. */
Test(fid_protocol, png_chunk_declaring_gigabytes) {
    static const uint8_t png[56] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
        0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x05, 0x08, 0x00, 0x00, 0x00, 0x00, 0xac, 0xf1, 0xa9,
        0x04, 0x76, 0xff, 0xff, 0xff, 0x7a, 0x54, 0x58, 0x74, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x4e,
        0x7a, 0x54, 0x58, 0x74, 0x44, 0x42, 0x60, 0x82};
    struct rusage before, after;
    cr_assert_eq(getrusage(RUSAGE_SELF, &before), 0);
    uint8_t *chw;
    int h, w;
    cr_expect_eq(gb_image_decode_rgb(&chw, &h, &w, "ztxt.png", png, sizeof png), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "ztxt.png: damaged PNG") && strstr(gb_last_error(), "ends early"), "%s",
              gb_last_error());
    cr_assert_eq(getrusage(RUSAGE_SELF, &after), 0);
    cr_expect_lt(after.ru_maxrss - before.ru_maxrss, 256L << 10, "decoding it raised the peak memory by %ld KB",
                 after.ru_maxrss - before.ru_maxrss);
}

/* Bytes written by libpng into a growing buffer. */
typedef struct {
    uint8_t *data;
    size_t n, cap;
} png_sink;

static void png_sink_write(png_structp png, png_bytep bytes, png_size_t len) {
    png_sink *s = png_get_io_ptr(png);
    if (s->n + len > s->cap) {
        s->cap = 2 * (s->n + len);
        s->data = realloc(s->data, s->cap);
        cr_assert_not_null(s->data);
    }
    memcpy(s->data + s->n, bytes, len);
    s->n += len;
}

static void png_sink_flush(png_structp png) { (void)png; }

/* An Adam7-interlaced RGB PNG (libpng's writer; Pillow cannot write one) decodes to the pixels
 * it was written from: the decoder reads row by row over the seven passes. */
Test(fid_protocol, interlaced_png) {
    enum { W = 13, H = 11 };
    uint8_t rgb[H][W][3];
    uint64_t state = 99;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) rgb[y][x][c] = (uint8_t)((state = state * 6364136223846793005ULL + 1) >> 56);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    cr_assert(png && info);
    png_sink sink = {0};
    png_set_write_fn(png, &sink, png_sink_write, png_sink_flush);
    png_set_IHDR(png, info, W, H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_bytep rows[H];
    for (int y = 0; y < H; y++) rows[y] = rgb[y][0];
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    uint8_t *chw;
    int h, w;
    cr_assert_eq(gb_image_decode_rgb(&chw, &h, &w, "adam7.png", sink.data, sink.n), GB_OK, "%s", gb_last_error());
    cr_assert(h == H && w == W, "%d x %d", h, w);
    size_t bad = 0;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) bad += chw[(c * H + y) * W + x] != rgb[y][x][c];
    cr_expect_eq(bad, 0, "%zu of %d values differ", bad, 3 * H * W);
    free(chw);
    free(sink.data);
}
