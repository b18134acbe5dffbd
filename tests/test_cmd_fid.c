/* tests/test_cmd_fid.c - the `genbench fid|kid|prdc` commands of cli/cmd_fid.c, compiled into
 * this suite (the commands are not wired into cli/main.c yet, and the test binaries link only
 * the library). Each test captures stdout in a file and checks the printed numbers against the
 * peer fixtures (tests/peers/fid_stats.py) and the exit statuses of the error paths:
 * 2 usage, 3 bad input, 5 image folder without the Inception network.
 */
#include "../cli/cmd_fid.c"

#include <criterion/criterion.h>
#include <unistd.h>

#include "tests/fid_fixture.h"

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
    cr_expect_eq(run_cmd(gb_cmd_fid, (char *[]){"fid", dir, a}, 3, last, sizeof last), GB_ENV);
    cr_expect_not_null(strstr(gb_last_error(), "image folders need the Inception network (not yet built)"), "%s",
                       gb_last_error());
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
