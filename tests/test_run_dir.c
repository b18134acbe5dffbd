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
    put("notes.txt", "mine");
    cr_assert_eq(gb_run_dir_set_aside(dir), GB_OK, "%s", gb_last_error());
    cr_expect(!exists(GB_PREVIOUS_RUN));
    cr_expect(exists("notes.txt"));
}

Test(run_dir, an_earlier_run_is_set_aside_whole_then_cleared) {
    put("metrics.csv", "old metrics");
    put("checkpoint.safetensors", "old checkpoint");
    put("samples.png", "old plot");
    put("notes.txt", "not a run's file");
    cr_assert_eq(gb_run_dir_set_aside(dir), GB_OK, "%s", gb_last_error());
    cr_expect(!exists("metrics.csv") && !exists("checkpoint.safetensors") && !exists("samples.png"));
    cr_expect_str_eq(read_back(GB_PREVIOUS_RUN "/metrics.csv"), "old metrics");
    cr_expect_str_eq(read_back(GB_PREVIOUS_RUN "/checkpoint.safetensors"), "old checkpoint");
    cr_expect(exists(GB_PREVIOUS_RUN "/samples.png"));
    cr_expect_str_eq(read_back("notes.txt"), "not a run's file");

    /* the new run fails: its partial files and failure.txt; a third run sets those aside,
     * replacing the older previous-run/ */
    put("checkpoint.safetensors", "new partial checkpoint");
    put("failure.txt", "reason: nan");
    cr_assert_eq(gb_run_dir_set_aside(dir), GB_OK, "%s", gb_last_error());
    cr_expect_str_eq(read_back(GB_PREVIOUS_RUN "/failure.txt"), "reason: nan");
    cr_expect(!exists(GB_PREVIOUS_RUN "/metrics.csv"), "the older previous-run/ is replaced, not merged");

    /* that run succeeds: previous-run/ and a stale failure.txt go */
    put("metrics.csv", "new metrics");
    put("failure.txt", "stale");
    cr_assert_eq(gb_run_dir_finish(dir), GB_OK, "%s", gb_last_error());
    cr_expect(!exists(GB_PREVIOUS_RUN) && !exists("failure.txt"));
    cr_expect_str_eq(read_back("metrics.csv"), "new metrics");
    cr_expect(exists("notes.txt"));
}
