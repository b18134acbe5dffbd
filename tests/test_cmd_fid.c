/* tests/test_cmd_fid.c - the `genbench fid|kid|prdc` commands of cli/cmd_fid.c, compiled into
 * this suite (the commands are not wired into cli/main.c yet, and the test binaries link only
 * the library). Each test captures stdout in a file and checks the printed numbers against the
 * peer fixtures (tests/peers/fid_stats.py) and the exit statuses of the error paths:
 * 2 usage, 3 bad input, 5 image folder without the Inception weights. Image folders run
 * through the network on random weights in the real format (tests/peers/inception_ref.py).
 */
#include "../cli/cmd_fid.c"

#include <criterion/criterion.h>
#include <unistd.h>

#include "core/sha256.h"
#include "tests/fid_fixture.h"
#include "tests/fixture.h"

static char outfile[64];

/* Run cmd with stdout redirected; returns its status, the last stdout line in last. */
static gb_status run_cmd(gb_status (*cmd)(int, char **), char **argv, int argc, char *last, size_t size) {
    strcpy(outfile, "/tmp/gb_cmdfid_XXXXXX");
    int fd = mkstemp(outfile);
    cr_assert_geq(fd, 0);
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    gb_status s = cmd(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(fd);
    FILE *fp = fopen(outfile, "r");
    char line[512];
    last[0] = 0;
    while (fgets(line, sizeof line, fp)) snprintf(last, size, "%s", line);
    fclose(fp);
    unlink(outfile);
    return s;
}

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

Test(cmd_fid, error_statuses) {
    char a[1024], last[512], dir[] = "/tmp/gb_cmdfid_dir_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    fid_fixture(a, sizeof a, "fid_a_pt.npz");
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", a}, 2, last, sizeof last), GB_USAGE);
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", a, a, "--bogus"}, 4, last, sizeof last), GB_USAGE);
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", a, a, "--layout", "tf"}, 5, last, sizeof last), GB_USAGE);
    cr_expect_eq(run_cmd(gb_cmd_kid, (char *[]){"kid", a, a, "--seed", "-1"}, 5, last, sizeof last), GB_USAGE);
    cr_expect_eq(run_cmd(gb_cmd_prdc, (char *[]){"prdc", a, a, "--protocol", "x"}, 5, last, sizeof last), GB_USAGE);
    setenv("GB_DATA", "/nonexistent-gb-data", 1);
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", dir, a}, 3, last, sizeof last), GB_ENV);
    cr_expect_not_null(strstr(gb_last_error(), "genbench data fetch inception-weights"), "%s", gb_last_error());
    cr_expect_not_null(strstr(gb_last_error(), "/nonexistent-gb-data/weights/pt_inception-2015-12-05-6726825d.pth"),
                       "%s", gb_last_error());
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", dir, a, "--weights-sha256", "00"}, 5, last, sizeof last),
                 GB_USAGE);
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", dir, a, "--protocol", "tf"}, 5, last, sizeof last), GB_USAGE);
    cr_expect_eq(run_cmd(gb_cmd_kid, (char *[]){"kid", dir, a}, 3, last, sizeof last), GB_ENV);
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", "/nonexistent/x.npz", a}, 3, last, sizeof last), GB_INPUT);
    /* A stats file where features are expected, and the reverse. */
    cr_expect_eq(run_cmd(gb_cmd_kid, (char *[]){"kid", a, a}, 3, last, sizeof last), GB_INPUT);
    char f[1024];
    fid_fixture(f, sizeof f, "npy_i4.npy");
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", f, a}, 3, last, sizeof last), GB_INPUT);
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", "--help"}, 2, last, sizeof last), GB_OK);
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
    cr_assert_eq(gb_fid_stats_from_features(&rs, ref, 2, 2048), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_fid_stats_save(ref_npz, &rs, GB_FID_LAYOUT_PYTORCH_FID), GB_OK, "%s", gb_last_error());
    gb_fid_stats_free(&rs);
    char last[512];
    char *argv[] = {"fid", dir, ref_npz, "--weights", w, "--weights-sha256", h, "--protocol", "pytorch-fid", "--batch",
                    "2", "--device", "cpu", "--stats-out", out};
    cr_assert_eq(run_cmd(gb_cmd_fid, argv, 15, last, sizeof last), GB_OK, "%s", gb_last_error());
    /* features within 3e-6 relative of the reference; tr(sigma) is ~1e3 here, and the trace of
     * the square root of two nearly equal rank-1 covariances carries sqrt(rounding) noise */
    cr_expect(fabs(atof(last)) < 1e-3, "FID against the peer's statistics of the same images: %s", last);
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
