/* tests/test_determinism.c - the determinism contract of DESIGN.md section 3 on the real binary:
 * the same seed gives the same bytes; a run killed part-way (SIGKILL) and resumed with
 * --resume ends with the same bytes as an uninterrupted run; a different seed gives different
 * numbers. Uses toy2d-langevin at smoke scale (checkpoints every 50 steps). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "run_binary.h"

static char dir[64];

static void make_dir(void) {
    snprintf(dir, sizeof dir, "/tmp/gb_determinism_%d", (int)getpid());
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    cr_assert_eq(system(cmd), 0);
}

static void remove_dir(void) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)system(cmd);
}

static void run_ok(const char *env, const char *sub, unsigned seed, int resume) {
    char args[600], log[400];
    snprintf(args, sizeof args, "run toy2d-langevin --scale smoke --device cpu --threads 1 --seed %u --out %s/%s%s",
             seed, dir, sub, resume ? " --resume" : "");
    snprintf(log, sizeof log, "%s/%s.log", dir, sub);
    int st = run_genbench(env, args, log);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "genbench %s failed (status %d); see %s", args, st, log);
}

static int same_file(const char *a, const char *b, const char *file) {
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/%s/%s", dir, a, file);
    snprintf(pb, sizeof pb, "%s/%s/%s", dir, b, file);
    return files_equal(pa, pb);
}

TestSuite(determinism, .init = make_dir, .fini = remove_dir, .timeout = 300);

Test(determinism, same_seed_same_bytes) {
    run_ok(NULL, "a", 7, 0);
    run_ok(NULL, "b", 7, 0);
    const char *files[] = {"metrics.csv", "train.csv", "checkpoint.safetensors", "samples.png", "score_field.png"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        cr_expect(same_file("a", "b", files[i]), "%s differs between two runs with seed 7", files[i]);
}

Test(determinism, other_seed_other_numbers) {
    run_ok(NULL, "a", 7, 0);
    run_ok(NULL, "c", 8, 0);
    cr_expect(!same_file("a", "c", "metrics.csv"), "seeds 7 and 8 gave identical metrics.csv");
}

Test(determinism, killed_and_resumed_equals_uninterrupted) {
    run_ok(NULL, "a", 7, 0);
    /* SIGKILL at the start of step 120: the checkpoint of step 100 is on disk, step 101-119 lost */
    char args[600], log[400], path[400];
    snprintf(args, sizeof args, "run toy2d-langevin --scale smoke --device cpu --threads 1 --seed 7 --out %s/k", dir);
    snprintf(log, sizeof log, "%s/k.log", dir);
    int st = run_genbench("GB_TEST_KILL_AT_STEP=120", args, log);
    cr_assert(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGKILL),
              "the run was expected to be killed, status %d", st);
    snprintf(path, sizeof path, "%s/k/metrics.csv", dir);
    cr_expect(access(path, F_OK) != 0, "a killed run left metrics.csv behind");
    snprintf(path, sizeof path, "%s/k/checkpoint.safetensors", dir);
    cr_assert(access(path, F_OK) == 0, "no checkpoint after the kill");
    run_ok(NULL, "k", 7, 1);
    const char *files[] = {"metrics.csv", "train.csv", "checkpoint.safetensors"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        cr_expect(same_file("a", "k", files[i]), "%s of the resumed run differs from the uninterrupted one", files[i]);
}

Test(determinism, resume_with_other_config_is_refused) {
    run_ok(NULL, "a", 7, 0);
    char args[600], log[400], cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/before && cp %s/a/metrics.csv %s/before/", dir, dir, dir);
    cr_assert_eq(system(cmd), 0);
    /* same directory, other seed: the checkpoint's config differs -> input error, exit 3 */
    snprintf(args, sizeof args, "run toy2d-langevin --scale smoke --device cpu --seed 9 --out %s/a --resume", dir);
    snprintf(log, sizeof log, "%s/refuse.log", dir);
    int st = run_genbench(NULL, args, log);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 3, "expected exit 3, status %d", st);
    cr_expect(same_file("a", "before", "metrics.csv"), "the refused resume changed the good metrics.csv");
}
