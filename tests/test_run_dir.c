/* tests/test_run_dir.c - an output directory that already holds a run (pipelines/run_dir.h):
 * a fresh run sets the earlier one aside whole, a successful one clears it and any stale
 * failure.txt, and files that are not a run's are left where they are. End to end (a failing
 * rerun keeps the earlier result, and the gate fails it) in tests/smoke.sh. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../pipelines/run_dir.h"

static char dir[64];

static void put(const char *rel, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static int exists(const char *rel) {
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return stat(path, &st) == 0;
}

static char *read_back(const char *rel) {
    static char buf[256];
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void make_dir(void) {
    snprintf(dir, sizeof dir, "/tmp/gb_rundir_%d", (int)getpid());
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    cr_assert_eq(system(cmd), 0);
}

static void remove_dir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)system(cmd);
}

TestSuite(run_dir, .init = make_dir, .fini = remove_dir);

Test(run_dir, nothing_to_set_aside) {
    /* a user's own files, even with a run's names, are not a run: no genbench marker */
    put("notes.txt", "mine");
    put("train.csv", "my own table");
    put("figure.png", "my own plot");
    cr_assert_eq(gb_run_dir_set_aside(dir), GB_OK, "%s", gb_last_error());
    cr_expect(!exists(GB_PREVIOUS_RUN));
    cr_expect(exists("notes.txt") && exists("train.csv") && exists("figure.png"));
}

Test(run_dir, a_finished_run_waits_through_failed_attempts_then_clears) {
    put("metrics.csv", "old metrics");
    put("manifest.txt", "old manifest");
    put("checkpoint.safetensors", "old checkpoint");
    put("samples.png", "old plot");
    put("notes.txt", "not a run's file");
    cr_assert_eq(gb_run_dir_set_aside(dir), GB_OK, "%s", gb_last_error());
    cr_expect(!exists("metrics.csv") && !exists("checkpoint.safetensors") && !exists("samples.png"));
    cr_expect_str_eq(read_back(GB_PREVIOUS_RUN "/metrics.csv"), "old metrics");
    cr_expect_str_eq(read_back(GB_PREVIOUS_RUN "/checkpoint.safetensors"), "old checkpoint");
    cr_expect(exists(GB_PREVIOUS_RUN "/samples.png"));
    cr_expect_str_eq(read_back("notes.txt"), "not a run's file");

    /* two attempts fail (one killed: a checkpoint only; one with failure.txt): each is
     * discarded by the next fresh run, and the finished run keeps waiting */
    put("checkpoint.safetensors", "killed attempt");
    cr_assert_eq(gb_run_dir_set_aside(dir), GB_OK, "%s", gb_last_error());
    put("checkpoint.safetensors", "failed attempt");
    put("failure.txt", "reason: nan");
    put("samples_000000.png", "failed attempt's plot");
    cr_assert_eq(gb_run_dir_set_aside(dir), GB_OK, "%s", gb_last_error());
    cr_expect(!exists("checkpoint.safetensors") && !exists("failure.txt") && !exists("samples_000000.png"));
    cr_expect_str_eq(read_back(GB_PREVIOUS_RUN "/metrics.csv"), "old metrics");
    cr_expect_str_eq(read_back(GB_PREVIOUS_RUN "/checkpoint.safetensors"), "old checkpoint");

    /* that run succeeds: previous-run/ and a stale failure.txt go */
    put("metrics.csv", "new metrics");
    put("failure.txt", "stale");
    cr_assert_eq(gb_run_dir_finish(dir), GB_OK, "%s", gb_last_error());
    cr_expect(!exists(GB_PREVIOUS_RUN) && !exists("failure.txt"));
    cr_expect_str_eq(read_back("metrics.csv"), "new metrics");
    cr_expect(exists("notes.txt"));

    /* a newer finished run replaces the one that waited */
    put("manifest.txt", "new manifest");
    cr_assert_eq(gb_run_dir_set_aside(dir), GB_OK, "%s", gb_last_error());
    cr_expect_str_eq(read_back(GB_PREVIOUS_RUN "/metrics.csv"), "new metrics");
}
