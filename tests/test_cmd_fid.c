/* tests/test_cmd_fid.c - the `genbench fid|kid|prdc` commands of cli/cmd_fid.c, compiled into
 * this suite (the test binaries link only the library, not cli/main.c). Each test captures stdout in a file and checks the printed numbers against the
 * peer fixtures (tests/peers/fid_stats.py) and the exit statuses of the error paths:
 * 2 usage, 3 bad input, 5 image folder without the Inception weights. Image folders run
 * through the network on random weights in the real format (tests/peers/inception_ref.py).
 */
#include "../cli/cli_common.c"
#include "../cli/cmd_fid.c"
#include "../cli/stats_cache.c"
#include "../cli/inception_inputs.c"
#include "../cli/metric_inputs.c"

#include <criterion/criterion.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/sha256.h"
#include "tests/cmd_capture.h"
#include "tests/fid_fixture.h"
#include "tests/fixture.h"

Test(cmd_fid, stats_files_both_layouts) {
    char a[1024], b[1024], last[512];
    char *argv[] = {"fid", (char *)fid_fixture(a, sizeof a, "fid_a_pt.npz"), (char *)fid_fixture(b, sizeof b, "fid_b_clean.npz")};
    cr_assert_eq(run_cmd(gb_cmd_fid, argv, 3, last, sizeof last), GB_OK, "%s", gb_last_error());
    /* Mixed layouts: mu of B is float32, so compare with the float64 value loosely. */
    expect_rel(strtod(last, NULL), fid_reference("fid64_pytorch_fid"), 1e-6, "last line of genbench fid");
    char *argv2[] = {"fid", a, (char *)fid_fixture(b, sizeof b, "fid_b_pt.npz")};
    cr_assert_eq(run_cmd(gb_cmd_fid, argv2, 3, last, sizeof last), GB_OK);
    expect_rel(strtod(last, NULL), fid_reference("fid64_pytorch_fid"), 1e-9, "printed with 10 digits");
}

Test(cmd_fid, features_and_stats_out) {
    char a[1024], b[1024], last[512], out[] = "/tmp/gb_cmdfid_stats_XXXXXX", path[128];
    cr_assert_not_null(mkdtemp(out));
    snprintf(path, sizeof path, "%s/a.npz", out);
    char *argv[] = {"fid", (char *)fid_fixture(a, sizeof a, "fid_a.npy"), (char *)fid_fixture(b, sizeof b, "fid_b.npy"),
                    "--stats-out", path, "--layout", "clean-fid"};
    cr_assert_eq(run_cmd(gb_cmd_fid, argv, 7, last, sizeof last), GB_OK, "%s", gb_last_error());
    expect_rel(strtod(last, NULL), fid_reference("fid64_pytorch_fid"), 1e-9, "FID from features");
    gb_fid_stats s;
    gb_fid_layout layout;
    cr_assert_eq(gb_fid_stats_load(&s, path, &layout), GB_OK, "%s", gb_last_error());
    cr_expect_eq(layout, GB_FID_LAYOUT_CLEAN_FID);
    cr_expect_eq(s.dim, 64);
    gb_fid_stats_free(&s);

    /* A alone with --stats-out: only the statistics, which equal pytorch-fid's own of those
     * features (fid_a_pt.npz), the last line the file written */
    char *alone[] = {"fid", a, "--stats-out", path};
    cr_assert_eq(run_cmd(gb_cmd_fid, alone, 4, last, sizeof last), GB_OK, "%s", gb_last_error());
    cr_expect(strncmp(last, path, strlen(path)) == 0, "last line: %s", last);
    char peer[1024];
    gb_fid_stats mine, theirs;
    cr_assert_eq(gb_fid_stats_load(&mine, path, &layout), GB_OK, "%s", gb_last_error());
    cr_expect_eq(layout, GB_FID_LAYOUT_PYTORCH_FID);
    cr_assert_eq(gb_fid_stats_load(&theirs, fid_fixture(peer, sizeof peer, "fid_a_pt.npz"), NULL), GB_OK);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < 64 * 64; i++) {
        worst = fmax(worst, fabs(mine.sigma[i] - theirs.sigma[i]));
        scale = fmax(scale, fabs(theirs.sigma[i]));
    }
    for (size_t i = 0; i < 64; i++) worst = fmax(worst, fabs(mine.mu[i] - theirs.mu[i]));
    cr_expect(worst <= 1e-12 * scale, "statistics differ from pytorch-fid's by %.3g (scale %.3g)", worst, scale);
    gb_fid_stats_free(&mine);
    gb_fid_stats_free(&theirs);
    char *one[] = {"fid", a};
    cr_expect_eq(run_cmd(gb_cmd_fid, one, 2, last, sizeof last), GB_USAGE);
    cr_expect_not_null(strstr(gb_last_error(), "or one with --stats-out"), "%s", gb_last_error());

    /* --stats-out naming an input (here B, the reference statistics, by another spelling):
     * refused before anything is written, the input intact */
    char copy[160], cmd_cp[2400], respelt[200];
    snprintf(copy, sizeof copy, "%s/ref.npz", out);
    snprintf(cmd_cp, sizeof cmd_cp, "cp '%s' '%s'", peer, copy);
    cr_assert_eq(system(cmd_cp), 0);
    snprintf(respelt, sizeof respelt, "%s/./ref.npz", out);
    char *over_b[] = {"fid", a, copy, "--stats-out", respelt};
    cr_expect_eq(run_cmd(gb_cmd_fid, over_b, 5, last, sizeof last), GB_USAGE);
    cr_expect_not_null(strstr(gb_last_error(), "is input B"), "%s", gb_last_error());
    char *over_a[] = {"fid", copy, "--stats-out", copy};
    cr_expect_eq(run_cmd(gb_cmd_fid, over_a, 4, last, sizeof last), GB_USAGE);
    cr_expect_not_null(strstr(gb_last_error(), "is input A"), "%s", gb_last_error());
    snprintf(cmd_cp, sizeof cmd_cp, "cmp -s '%s' '%s'", peer, copy);
    cr_expect_eq(system(cmd_cp), 0, "the input was left as it was");

    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", out);
    cr_expect_eq(system(cmd), 0);
}

Test(cmd_fid, kid_and_prdc_last_lines) {
    char g[1024], r[1024], last[512];
    char *kargv[] = {"kid", (char *)fid_fixture(g, sizeof g, "kid_gen.npy"), (char *)fid_fixture(r, sizeof r, "kid_ref.npy"),
                     "--seed", "7", "--subsets", "10", "--subset-size", "200"};
    cr_assert_eq(run_cmd(gb_cmd_kid, kargv, 9, last, sizeof last), GB_OK, "%s", gb_last_error());
    cr_expect(fabs(strtod(last, NULL) - fid_reference("kid_mean")) <= 1e-9, "KID line '%s'", last);
    char *pargv[] = {"prdc", (char *)fid_fixture(g, sizeof g, "prdc_fake.npy"),
                     (char *)fid_fixture(r, sizeof r, "prdc_real.npy"), "--protocol", "prdc"};
    cr_assert_eq(run_cmd(gb_cmd_prdc, pargv, 5, last, sizeof last), GB_OK, "%s", gb_last_error());
    char want[64];
    snprintf(want, sizeof want, "coverage %.10g\n", fid_reference("prdc_k5_coverage"));
    cr_expect_str_eq(last, want);
}

/* An option given twice is refused by main.c before any command runs (which one the user meant
 * cannot be known); prdc's --protocol, its command table's repeatable option, may name one
 * protocol of each kind. */
Test(cmd_fid, repeated_options) {
    char *twice[] = {"fid", "a.npz", "--protocol", "clean", "b.npz", "--protocol", "legacy-tf"};
    cr_expect_eq(gb_cli_refuse_repeated_options(7, twice, NULL), GB_USAGE);
    cr_expect_not_null(strstr(gb_last_error(), "--protocol is given twice"), "%s", gb_last_error());
    char *flag[] = {"fid", "a.npz", "b.npz", "--no-cache", "--no-cache"};
    cr_expect_eq(gb_cli_refuse_repeated_options(5, flag, NULL), GB_USAGE);
    char *distinct[] = {"fid", "a.npz", "b.npz", "--protocol", "clean", "--batch", "8", "--help"};
    cr_expect_eq(gb_cli_refuse_repeated_options(8, distinct, NULL), GB_OK, "%s", gb_last_error());
    char *kinds[] = {"prdc", "a.npy", "b.npy", "--protocol", "prdc", "--protocol", "clean"};
    cr_expect_eq(gb_cli_refuse_repeated_options(7, kinds, "--protocol"), GB_OK, "%s", gb_last_error());
    cr_expect_eq(gb_cli_refuse_repeated_options(7, kinds, NULL), GB_USAGE);

    char g[1024], r[1024], last[512];
    fid_fixture(g, sizeof g, "prdc_fake.npy");
    fid_fixture(r, sizeof r, "prdc_real.npy");
    /* both kinds at once: the features need no network, so the image protocol is only noted,
     * and the precision/recall protocol (prdc: k = 5, strict) gives its own coverage */
    cr_expect_eq(run_cmd(gb_cmd_prdc, (char *[]){"prdc", g, r, "--protocol", "prdc", "--protocol", "clean"}, 7, last,
                         sizeof last),
                 GB_OK, "%s", gb_last_error());
    char want[64];
    snprintf(want, sizeof want, "coverage %.10g\n", fid_reference("prdc_k5_coverage"));
    cr_expect_str_eq(last, want);
    cr_expect_eq(run_cmd(gb_cmd_prdc, (char *[]){"prdc", g, r, "--protocol", "prdc", "--protocol", "kynkaanniemi"}, 7,
                         last, sizeof last),
                 GB_USAGE);
    cr_expect_not_null(strstr(gb_last_error(), "a precision/recall protocol twice ('prdc', then 'kynkaanniemi')"), "%s",
                       gb_last_error());
    cr_expect_eq(run_cmd(gb_cmd_prdc, (char *[]){"prdc", g, r, "--protocol", "clean", "--protocol", "legacy-tf"}, 7,
                         last, sizeof last),
                 GB_USAGE);
    cr_expect_not_null(strstr(gb_last_error(), "an image protocol twice"), "%s", gb_last_error());
}

Test(cmd_fid, error_statuses) {
    char a[1024], last[512], dir[] = "/tmp/gb_cmdfid_dir_XXXXXX", img[64], cmd[1400];
    cr_assert_not_null(mkdtemp(dir));
    /* the folder is listed before the network is needed (an empty one is a bad input), so the
     * missing-weights errors below need a folder that holds images */
    snprintf(img, sizeof img, "%s/a.png", dir);
    snprintf(cmd, sizeof cmd, "cp '%s/inception/images/a.png' '%s/inception/images/b.jpg' '%s'", getenv("GB_FIXTURES"),
             getenv("GB_FIXTURES"), dir);
    cr_assert_eq(system(cmd), 0); /* two images: enough rows for fid, kid and prdc --k 1 */
    fid_fixture(a, sizeof a, "fid_a_pt.npz");
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", a}, 2, last, sizeof last), GB_USAGE);
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", a, a, "--bogus"}, 4, last, sizeof last), GB_USAGE);
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", a, a, "--layout", "tf"}, 5, last, sizeof last), GB_USAGE);
    cr_expect_eq(run_cmd(gb_cmd_kid, (char *[]){"kid", a, a, "--seed", "-1"}, 5, last, sizeof last), GB_USAGE);
    cr_expect_eq(run_cmd(gb_cmd_prdc, (char *[]){"prdc", a, a, "--protocol", "x"}, 5, last, sizeof last), GB_USAGE);
    setenv("GB_DATA", "/nonexistent-gb-data", 1);
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", dir, dir}, 3, last, sizeof last), GB_ENV);
    cr_expect_not_null(strstr(gb_last_error(), "genbench data fetch inception-weights"), "%s", gb_last_error());
    cr_expect_not_null(strstr(gb_last_error(), "/nonexistent-gb-data/weights/pt_inception-2015-12-05-6726825d.pth"),
                       "%s", gb_last_error());
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", dir, a, "--weights-sha256", "00"}, 5, last, sizeof last),
                 GB_USAGE);
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", dir, a, "--protocol", "tf"}, 5, last, sizeof last), GB_USAGE);
    /* kid and prdc read image folders too: the same missing-weights error as fid */
    cr_expect_eq(run_cmd(gb_cmd_kid, (char *[]){"kid", dir, dir}, 3, last, sizeof last), GB_ENV);
    cr_expect_not_null(strstr(gb_last_error(), "genbench data fetch inception-weights"), "%s", gb_last_error());
    cr_expect_eq(run_cmd(gb_cmd_prdc, (char *[]){"prdc", dir, dir, "--k", "1"}, 5, last, sizeof last), GB_ENV);
    /* a features file beside a folder is read first: a bad one is found before the network */
    cr_expect_eq(run_cmd(gb_cmd_kid, (char *[]){"kid", dir, a}, 3, last, sizeof last), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "fid_a_pt.npz"), "%s", gb_last_error());
    /* a missing second input is found before the first goes through the network */
    cr_expect_eq(run_cmd(gb_cmd_kid, (char *[]){"kid", dir, "/nonexistent/r.npy"}, 3, last, sizeof last), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "/nonexistent/r.npy"), "%s", gb_last_error());
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", dir, "/nonexistent/r.npz"}, 3, last, sizeof last), GB_INPUT);
    cr_expect_eq(run_cmd(gb_cmd_prdc, (char *[]){"prdc", a, a, "--k", "0"}, 5, last, sizeof last), GB_USAGE);
    cr_expect_eq(run_cmd(gb_cmd_prdc, (char *[]){"prdc", a, a, "--weights"}, 4, last, sizeof last), GB_USAGE);
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", "/nonexistent/x.npz", a}, 3, last, sizeof last), GB_INPUT);
    /* A stats file where features are expected, and the reverse. */
    cr_expect_eq(run_cmd(gb_cmd_kid, (char *[]){"kid", a, a}, 3, last, sizeof last), GB_INPUT);
    char f[1024];
    fid_fixture(f, sizeof f, "npy_i4.npy");
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", f, a}, 3, last, sizeof last), GB_INPUT);
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", "--help"}, 2, last, sizeof last), GB_OK);
    /* features and images in one .npz: refused, not guessed (clean-fid and the evaluator read
     * different members) */
    char both[1100];
    snprintf(both, sizeof both, "%s/both.npz", dir);
    float rows[2 * 4] = {0, 1, 2, 3, 4, 5, 6, 7};
    uint8_t pixels[2 * 8 * 8 * 3] = {0};
    size_t rshape[2] = {2, 4}, ishape[4] = {2, 8, 8, 3};
    gb_npy_array members[2] = {gb_npy_view(GB_NPY_F32, 2, rshape, rows), gb_npy_view(GB_NPY_U8, 4, ishape, pixels)};
    const char *keys[2] = {"feats", "arr_0"};
    cr_assert_eq(gb_npz_save(both, keys, members, 2, GB_NPZ_STORED), GB_OK, "%s", gb_last_error());
    cr_expect_eq(run_cmd(gb_cmd_kid, (char *[]){"kid", both, both}, 3, last, sizeof last), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "both.npz holds both 'feats'"), "%s", gb_last_error());
    unlink(both);
    /* messages that name the actual problem: no rows, an empty file, greyscale images without
     * their channel axis */
    char bad[1100];
    snprintf(bad, sizeof bad, "%s/bad.npy", dir);
    size_t no_rows[2] = {0, 4}, grey[3] = {2, 8, 8};
    gb_npy_array empty_rows = gb_npy_view(GB_NPY_F32, 2, no_rows, rows);
    cr_assert_eq(gb_npy_save(bad, &empty_rows), GB_OK, "%s", gb_last_error());
    cr_expect_eq(run_cmd(gb_cmd_kid, (char *[]){"kid", bad, f}, 3, last, sizeof last), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "features [0, 4] hold no values (0 rows)"), "%s", gb_last_error());
    gb_npy_array grey_images = gb_npy_view(GB_NPY_U8, 3, grey, pixels);
    cr_assert_eq(gb_npz_save(both, (const char *[]){"arr_0"}, &grey_images, 1, GB_NPZ_STORED), GB_OK, "%s",
                 gb_last_error());
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", both, a}, 3, last, sizeof last), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "a 3-D uint8 array [2, 8, 8] is neither"), "%s", gb_last_error());
    cr_expect_not_null(strstr(gb_last_error(), "[n, h, w, 1]"), "%s", gb_last_error());
    FILE *zero = fopen(both, "w");
    cr_assert_not_null(zero);
    fclose(zero);
    cr_expect_eq(run_cmd(gb_cmd_kid, (char *[]){"kid", both, f}, 3, last, sizeof last), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "both.npz: an empty file (0 bytes), not an .npz archive"), "%s",
                       gb_last_error());
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", both, a}, 3, last, sizeof last), GB_INPUT); /* via libzip */
    cr_expect_not_null(strstr(gb_last_error(), "both.npz: an empty file (0 bytes), not a .npz/ZIP archive"), "%s",
                       gb_last_error());
    unlink(both);
    unlink(bad);
    /* 64-d statistics beside a folder (2048-d pool features): found before the network is
     * needed, so without weights it is still a bad input, not a missing environment */
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", dir, a}, 3, last, sizeof last), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "has 2048 dimensions but"), "%s", gb_last_error());
    unlink(img);
    snprintf(img, sizeof img, "%s/b.jpg", dir);
    unlink(img);
    /* an empty folder: a bad input found before the network (no weights here either) */
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", dir, dir}, 3, last, sizeof last), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "no images"), "%s", gb_last_error());
    rmdir(dir);
}

/* An image folder through the network (random weights in the real format) against the
 * statistics of pytorch-fid's pool3 features of the same images: FID ~ 0, and --stats-out
 * holds the mean of those features. */
Test(cmd_fid, image_folders, .timeout = 120) {
    const char *root = getenv("GB_FIXTURES");
    cr_assert(root, "GB_FIXTURES is not set");
    char dir[1024], w[1024], out[64] = "/tmp/gb_cmdfid_stats_XXXXXX", ref_npz[64] = "/tmp/gb_cmdfid_ref_XXXXXX.npz";
    snprintf(dir, sizeof dir, "%s/inception/images", root);
    snprintf(w, sizeof w, "%s/inception/weights_zip.pth", root);
    char h[65];
    cr_assert_eq(gb_sha256_file(w, h), GB_OK, "run tests/peers/inception_ref.py first: %s", gb_last_error());
    int fd = mkstemp(out);
    cr_assert_geq(fd, 0);
    close(fd);
    fd = mkstemps(ref_npz, 4);
    cr_assert_geq(fd, 0);
    close(fd);
    float *ref = fixture_f32("inception/pt_pool.f32", 2 * 2048);
    gb_fid_stats rs;
    cr_assert_eq(gb_fid_stats_from_features(&rs, ref, 2, 2048, NULL), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_fid_stats_save(ref_npz, &rs, GB_FID_LAYOUT_PYTORCH_FID), GB_OK, "%s", gb_last_error());
    gb_fid_stats_free(&rs);
    char last[512];
    char *argv[] = {"fid", dir, ref_npz, "--weights", w, "--weights-sha256", h, "--protocol", "pytorch-fid", "--batch",
                    "2", "--device", "cpu", "--stats-out", out};
    cr_assert_eq(run_cmd(gb_cmd_fid, argv, 15, last, sizeof last), GB_OK, "%s", gb_last_error());
    /* features within 3e-6 relative of the reference; tr(sigma) is ~1e3 here, and the trace of
     * the square root of two nearly equal rank-1 covariances carries sqrt(rounding) noise */
    cr_expect(fabs(atof(last)) < 1e-3, "FID against the peer's statistics of the same images: %s", last);
    /* two images in 2048 dimensions: the warnings name the folder (A, whose null space the
     * Frechet distance's eigen path drops; B is then full rank on what is left) */
    char want[1200];
    snprintf(want, sizeof want, "FID statistics of %s from 2 samples in 2048 dimensions", dir);
    cr_expect_not_null(strstr(captured_err, want), "%s", captured_err);
    snprintf(want, sizeof want, "the covariance of %s is rank-deficient (2047 of its 2048 eigenvalues", dir);
    cr_expect_not_null(strstr(captured_err, want), "%s", captured_err);
    gb_fid_stats st;
    cr_assert_eq(gb_fid_stats_load(&st, out, NULL), GB_OK, "%s", gb_last_error());
    double worst = 0, scale = 0;
    for (int i = 0; i < 2048; i++) {
        double m = 0.5 * ((double)ref[i] + ref[2048 + i]);
        if (fabs(st.mu[i] - m) > worst) worst = fabs(st.mu[i] - m);
        if (fabs(m) > scale) scale = fabs(m);
    }
    cr_expect(worst <= 1e-4 * scale, "mu differs from pytorch-fid's features: %.3g (scale %.3g)", worst, scale);
    gb_fid_stats_free(&st);
    free(ref);
    unlink(out);
    unlink(ref_npz);
    /* the pinned hash refuses the random file: exit 3 naming the hash and the fetch command */
    char *argv2[] = {"fid", dir, dir, "--weights", w, "--device", "cpu"};
    cr_expect_eq(run_cmd(gb_cmd_fid, argv2, 7, last, sizeof last), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), GB_INCEPTION_SHA256), "%s", gb_last_error());
}

/* Creates the file named by template (ending in XXXXXX followed by a 4-character suffix). */
static void make_temp(char *template) {
    int fd = mkstemps(template, 4);
    cr_assert_geq(fd, 0, "%s", template);
    close(fd);
}

#define TEST_SEED_CMD 0xc3d5eedULL

/* Uniform in [0, 1) from a splitmix64 stream. */
static double step_unif(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53;
}

static void write_features_npy(const char *path, float *x, size_t n, size_t d) {
    size_t shape[2] = {n, d};
    gb_npy_array arr = gb_npy_view(GB_NPY_F32, 2, shape, x);
    cr_assert_eq(gb_npy_save(path, &arr), GB_OK, "%s", gb_last_error());
}

/* kid and prdc on an image folder (random weights in the real format) against a reference set
 * give the same values as on pytorch-fid's pool3 features of those images, written as .npy.
 * The reference set: four points, each one of the peer's two feature vectors moved by a
 * different fixed pseudo-random step of the features' own scale, so no generated-to-real
 * distance ties a radius (a tie would make the counts depend on the last bit). KID's kernel
 * values are (x.y / d + 1)^3; our features are within 3e-6 relative of the peer's
 * (tests/tolerances.md "FID Inception-v3"), which moves a kernel value by ~1e-5 relative, so
 * 1e-4 of the largest kernel value bounds the KID difference. Precision / recall / density /
 * coverage count neighbours and must come out identical. */
Test(cmd_fid, kid_and_prdc_image_folders, .timeout = 120) {
    const char *root = getenv("GB_FIXTURES");
    cr_assert(root, "GB_FIXTURES is not set");
    char dir[1024], w[1024], gen_npy[64] = "/tmp/gb_cmdfid_gen_XXXXXX.npy", real_npy[64] = "/tmp/gb_cmdfid_real_XXXXXX.npy",
                             h[65];
    snprintf(dir, sizeof dir, "%s/inception/images", root);
    snprintf(w, sizeof w, "%s/inception/weights_zip.pth", root);
    cr_assert_eq(gb_sha256_file(w, h), GB_OK, "run tests/peers/inception_ref.py first: %s", gb_last_error());
    make_temp(gen_npy);
    make_temp(real_npy);
    float *ref = fixture_f32("inception/pt_pool.f32", 2 * 2048);
    write_features_npy(gen_npy, ref, 2, 2048);
    float *real = malloc(4 * 2048 * sizeof *real);
    cr_assert_not_null(real);
    double scale = 0;
    for (int c = 0; c < 2 * 2048; c++) scale = fmax(scale, fabs(ref[c]));
    uint64_t seed = TEST_SEED_CMD;
    for (int p = 0; p < 4; p++)
        for (int c = 0; c < 2048; c++)
            real[p * 2048 + c] = ref[(p % 2) * 2048 + c] + (float)(0.05 * scale * (2.0 * step_unif(&seed) - 1.0));
    write_features_npy(real_npy, real, 4, 2048);
    double kmax = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double dot = 0;
            for (int c = 0; c < 2048; c++) dot += (double)real[i * 2048 + c] * real[j * 2048 + c];
            kmax = fmax(kmax, fabs(pow(dot / 2048 + 1, 3)));
        }
    char *net[] = {"--weights", w, "--weights-sha256", h, "--protocol", "pytorch-fid", "--batch", "2", "--device", "cpu"};
    char *kid_dir[13] = {"kid", dir, real_npy}, *kid_npy[] = {"kid", gen_npy, real_npy};
    memcpy(kid_dir + 3, net, sizeof net);
    double kid_images = run_for_value(gb_cmd_kid, kid_dir, 13, NULL), kid_feats = run_for_value(gb_cmd_kid, kid_npy, 3, NULL);
    cr_expect(fabs(kid_images - kid_feats) <= 1e-4 * kmax, "KID on the folder %.10g, on the peer's features %.10g (kernel %.3g)",
              kid_images, kid_feats, kmax);
    const char *keys[] = {"precision ", "recall ", "density ", "coverage "};
    char *prdc_dir[15] = {"prdc", dir, real_npy, "--k", "1"}, *prdc_npy[] = {"prdc", gen_npy, real_npy, "--k", "1"};
    memcpy(prdc_dir + 5, net, sizeof net);
    for (int k = 0; k < 4; k++) {
        double a = run_for_value(gb_cmd_prdc, prdc_dir, 15, keys[k]), b = run_for_value(gb_cmd_prdc, prdc_npy, 5, keys[k]);
        cr_expect(isfinite(a) && a == b, "%son the folder %.10g, on the peer's features %.10g", keys[k], a, b);
    }
    free(ref);
    free(real);
    unlink(gen_npy);
    unlink(real_npy);
}

/* A folder with one file that is not an image: the command stops with a bad-input error naming
 * that file, under every protocol that reads it. */
Test(cmd_fid, unreadable_image_in_a_folder, .timeout = 120) {
    const char *root = getenv("GB_FIXTURES");
    cr_assert(root, "GB_FIXTURES is not set");
    char w[1024], h[65], dir[] = "/tmp/gb_cmdfid_bad_XXXXXX", good[1200], bad[64], cmd[1400], last[512];
    snprintf(w, sizeof w, "%s/inception/weights_zip.pth", root);
    cr_assert_eq(gb_sha256_file(w, h), GB_OK, "run tests/peers/inception_ref.py first: %s", gb_last_error());
    cr_assert_not_null(mkdtemp(dir));
    snprintf(good, sizeof good, "%s/inception/images/a.png", root);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/a.png'", good, dir);
    cr_assert_eq(system(cmd), 0);
    snprintf(bad, sizeof bad, "%s/b.png", dir);
    cr_assert_eq(gb_atomic_write(bad, "\x89PNG\r\n\x1a\ntruncated", 17), GB_OK);
    /* a second damaged file later in the listing: images decode in parallel, and the error is the
     * earliest file's whichever thread met it first */
    snprintf(bad, sizeof bad, "%s/c.png", dir);
    cr_assert_eq(gb_atomic_write(bad, "\x89PNG\r\n\x1a\nshort", 13), GB_OK);
    const char *protocols[] = {"clean", "pytorch-fid", "legacy-tf"};
    for (int k = 0; k < 3; k++) {
        char *argv[] = {"kid", dir, dir, "--weights", w, "--weights-sha256", h, "--protocol", (char *)protocols[k],
                        "--device", "cpu", "--threads", "3"};
        cr_expect_eq(run_cmd(gb_cmd_kid, argv, 13, last, sizeof last), GB_INPUT, "protocol %s", protocols[k]);
        cr_expect_not_null(strstr(gb_last_error(), "b.png"), "%s", gb_last_error());
        argv[0] = "fid";
        cr_expect_eq(run_cmd(gb_cmd_fid, argv, 13, last, sizeof last), GB_INPUT, "protocol %s", protocols[k]);
        cr_expect_not_null(strstr(gb_last_error(), "b.png"), "%s", gb_last_error());
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* A NaN in a features file is a bad input naming the file and the element, for kid and prdc. */
Test(cmd_fid, nonfinite_features_name_the_file) {
    char good[] = "/tmp/gb_cmdfid_okXXXXXX.npy", bad[] = "/tmp/gb_cmdfid_nanXXXXXX.npy", last[512];
    make_temp(good);
    make_temp(bad);
    float x[12 * 3];
    for (int i = 0; i < 36; i++) x[i] = (float)(i % 7) * 0.25f;
    write_features_npy(good, x, 12, 3);
    x[3 * 3 + 2] = NAN;
    write_features_npy(bad, x, 12, 3);
    cr_expect_eq(run_cmd(gb_cmd_kid, (char *[]){"kid", good, bad, "--subset-size", "4"}, 5, last, sizeof last), GB_INPUT);
    cr_expect(strstr(gb_last_error(), bad) && strstr(gb_last_error(), "[3, 2]"), "%s", gb_last_error());
    cr_expect_eq(run_cmd(gb_cmd_prdc, (char *[]){"prdc", bad, good}, 3, last, sizeof last), GB_INPUT);
    cr_expect(strstr(gb_last_error(), bad), "%s", gb_last_error());
    unlink(good);
    unlink(bad);
}

/* Writes an .npz laid out as OpenAI's guided-diffusion reference batches: the images 'arr_0'
 * (uint8 [n, h, w, 3]), FID's 'mu', 'sigma' and sFID's 'mu_s', 'sigma_s' (float64). */
static void write_reference_batch(const char *path, const gb_fid_stats *pool, const gb_fid_stats *spatial) {
    static uint8_t pixels[2 * 4 * 4 * 3];
    for (size_t i = 0; i < sizeof pixels; i++) pixels[i] = (uint8_t)(37 * i);
    size_t img_shape[4] = {2, 4, 4, 3}, dp[2] = {pool->dim, pool->dim}, ds[2] = {spatial->dim, spatial->dim};
    const char *keys[5] = {"arr_0", "mu", "sigma", "mu_s", "sigma_s"};
    gb_npy_array arrays[5] = {gb_npy_view(GB_NPY_U8, 4, img_shape, pixels), gb_npy_view(GB_NPY_F64, 1, dp, pool->mu),
                              gb_npy_view(GB_NPY_F64, 2, dp, pool->sigma),
                              gb_npy_view(GB_NPY_F64, 1, ds, spatial->mu),
                              gb_npy_view(GB_NPY_F64, 2, ds, spatial->sigma)};
    cr_assert_eq(gb_npz_save(path, keys, arrays, 5, GB_NPZ_STORED), GB_OK, "%s", gb_last_error());
}

/* Flips one byte of the stored 'arr_0' pixels in place (found by their pattern), so that reading
 * that member fails its CRC-32 while every other member stays intact. */
static void damage_images(const char *path) {
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f, "%s", path);
    static unsigned char file[1 << 16];
    size_t n = fread(file, 1, sizeof file, f);
    const unsigned char pattern[4] = {37, 74, 111, 148}; /* pixels 1..4 of write_reference_batch */
    size_t at = 0;
    while (at + 4 <= n && memcmp(file + at, pattern, 4) != 0) at++;
    cr_assert(at + 4 <= n, "the stored pixels were not found in %s", path);
    fseek(f, (long)at, SEEK_SET);
    fputc(file[at] ^ 0x5a, f);
    fclose(f);
}

/* `genbench sfid`: the features are the network's sFID tap (tests/test_inception.c checks them
 * against pytorch-fid's Mixed_6d.branch1x1), so the sFID of two images against the statistics
 * of the peer's features of the same images is ~0; an OpenAI reference batch gives sfid its
 * mu_s / sigma_s and fid its mu / sigma (each ~0 against the matching features, so a swap
 * shows as a dimension error), without reading its images; --stats-out writes the 2023-d
 * statistics; legacy-tf is the default protocol; inputs of any other width and --dims are
 * refused. */
Test(cmd_fid, sfid_images_and_reference_batches, .timeout = 180) {
    const char *root = getenv("GB_FIXTURES");
    cr_assert(root, "GB_FIXTURES is not set");
    char dir[1024], w[1024], h[65], last[512], tmp[] = "/tmp/gb_cmdsfid_XXXXXX", batch[128], out[128], pool_npz[128];
    snprintf(dir, sizeof dir, "%s/inception/images", root);
    snprintf(w, sizeof w, "%s/inception/weights_zip.pth", root);
    cr_assert_eq(gb_sha256_file(w, h), GB_OK, "run tests/peers/inception_ref.py first: %s", gb_last_error());
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(batch, sizeof batch, "%s/VIRTUAL_ref.npz", tmp);
    snprintf(out, sizeof out, "%s/sfid_stats.npz", tmp);
    snprintf(pool_npz, sizeof pool_npz, "%s/pool3.npz", tmp);
    const size_t ds = GB_INCEPTION_SPATIAL;
    float *pool = fixture_f32("inception/pt_pool.f32", 2 * 2048);
    float *spatial = fixture_f32("inception/pt_spatial.f32", 2 * ds);
    gb_fid_stats ps, ss;
    cr_assert_eq(gb_fid_stats_from_features(&ps, pool, 2, 2048, NULL), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_fid_stats_from_features(&ss, spatial, 2, ds, NULL), GB_OK, "%s", gb_last_error());
    write_reference_batch(batch, &ps, &ss);
    /* the statistics are read without the images: damaged pixels go unnoticed (a whole-file
     * load finds them, so the damage is real) */
    damage_images(batch);
    gb_npz whole;
    cr_expect_eq(gb_npz_load(&whole, batch), GB_INPUT, "the damaged arr_0 should fail its CRC");
    gb_npz_free(&whole);
    cr_assert_eq(gb_fid_stats_save(pool_npz, &ps, GB_FID_LAYOUT_PYTORCH_FID), GB_OK, "%s", gb_last_error());

    char *sfid[] = {"sfid", dir, batch, "--weights", w, "--weights-sha256", h, "--protocol", "pytorch-fid",
                    "--batch", "2", "--device", "cpu", "--stats-out", out};
    cr_assert_eq(run_cmd(gb_cmd_sfid, sfid, 15, last, sizeof last), GB_OK, "%s", gb_last_error());
    cr_expect(fabs(atof(last)) < 1e-3, "sFID against the peer's statistics of the same images: %s", last);
    cr_expect_not_null(strstr(captured, "OpenAI reference batch: mu_s, sigma_s"), "%s", captured);
    cr_expect_not_null(strstr(captured, "2023-d features (sFID"), "%s", captured);
    gb_fid_stats st;
    cr_assert_eq(gb_fid_stats_load(&st, out, NULL), GB_OK, "%s", gb_last_error());
    cr_expect_eq(st.dim, ds);
    cr_expect_str_eq(st.protocol, "pytorch-fid");
    double worst = 0, scale = 0;
    for (size_t i = 0; i < ds; i++) {
        worst = fmax(worst, fabs(st.mu[i] - ss.mu[i]));
        scale = fmax(scale, fabs(ss.mu[i]));
    }
    cr_expect(worst <= 1e-4 * scale, "sFID mu differs from the peer's features: %.3g (scale %.3g)", worst, scale);
    gb_fid_stats_free(&st);

    /* fid reads the same file's mu and sigma, not its images */
    char *fid[] = {"fid", dir, batch, "--weights", w, "--weights-sha256", h, "--protocol", "pytorch-fid",
                   "--batch", "2", "--device", "cpu"};
    cr_assert_eq(run_cmd(gb_cmd_fid, fid, 13, last, sizeof last), GB_OK, "%s", gb_last_error());
    cr_expect(fabs(atof(last)) < 1e-3, "FID against the batch's mu, sigma: %s", last);
    cr_expect_not_null(strstr(captured, "OpenAI reference batch: mu, sigma"), "%s", captured);

    /* two reference batches, statistics only: the Frechet distance of their mu_s / sigma_s */
    char *both[] = {"sfid", batch, out};
    cr_assert_eq(run_cmd(gb_cmd_sfid, both, 3, last, sizeof last), GB_OK, "%s", gb_last_error());
    cr_expect(fabs(atof(last)) < 1e-3, "sFID of the batch's mu_s against our statistics of the same images: %s", last);

    /* the default protocol is legacy-tf (the evaluator's TF graph); the features differ from
     * pytorch-fid's resize, so the sFID against the pytorch-fid statistics is no longer ~0 */
    char *deflt[] = {"sfid", dir, out, "--weights", w, "--weights-sha256", h, "--batch", "2", "--device", "cpu"};
    cr_assert_eq(run_cmd(gb_cmd_sfid, deflt, 11, last, sizeof last), GB_OK, "%s", gb_last_error());
    cr_expect_not_null(strstr(captured, "protocol legacy-tf"), "%s", captured);
    cr_expect(atof(last) > 1e-3, "legacy-tf features should differ from pytorch-fid's: sFID %s", last);

    /* pool3 statistics are not sFID's: a dimension error before any image is read */
    char *wrong[] = {"sfid", dir, pool_npz, "--weights", w, "--weights-sha256", h, "--device", "cpu"};
    cr_expect_eq(run_cmd(gb_cmd_sfid, wrong, 9, last, sizeof last), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "not sFID's 2023"), "%s", gb_last_error());
    /* nor are two pool3 files of equal width an sFID; fid of two sFID-sized files is warned about */
    char *pools[] = {"sfid", pool_npz, pool_npz};
    cr_expect_eq(run_cmd(gb_cmd_sfid, pools, 3, last, sizeof last), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "2048-d statistics are pool3's"), "%s", gb_last_error());
    char *named[] = {"fid", out, out};
    cr_expect_eq(run_cmd(gb_cmd_fid, named, 3, last, sizeof last), GB_OK, "%s", gb_last_error());
    cr_expect_not_null(strstr(captured_err, "genbench sfid computes it under that name"), "%s", captured_err);
    char *dims[] = {"sfid", dir, batch, "--dims", "768"};
    cr_expect_eq(run_cmd(gb_cmd_sfid, dims, 5, last, sizeof last), GB_USAGE);
    cr_expect_not_null(strstr(gb_last_error(), "--dims does not apply"), "%s", gb_last_error());
    /* a batch file without mu_s, read by sfid: its mu is pool3's, refused by dimension */
    char *nomus[] = {"sfid", pool_npz, out};
    cr_expect_eq(run_cmd(gb_cmd_sfid, nomus, 3, last, sizeof last), GB_INPUT);

    gb_fid_stats_free(&ps);
    gb_fid_stats_free(&ss);
    free(pool);
    free(spatial);
    unlink(batch);
    unlink(out);
    unlink(pool_npz);
    rmdir(tmp);
}
