/* tests/test_gan_pipelines.c - the GAN pipelines on the real binary at smoke scale: the determinism
 * contract of DESIGN.md section 3 (same seed -> same bytes of metrics.csv, train.csv, the
 * checkpoint and every PNG; SIGKILL part-way + --resume -> the same bytes as an uninterrupted
 * run) and divergence handling (a NaN injected by GB_TEST_POISON_AT_STEP -> exit 4 naming the
 * iteration, no metrics.csv, and the last good checkpoint untouched on disk).
 * mnist-gan smoke: 40 iterations, checkpoints every 20; cub32-wgan-gp smoke: 10 iterations,
 * checkpoints every 5 (its generator's BatchNorm running statistics are in the checkpoint too),
 * also with `--conv fast`, whose checkpoint a default run must refuse.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/safetensors.h"
#include "run_binary.h"

static char dir[64];

static void make_dir(void) {
    snprintf(dir, sizeof dir, "/tmp/gb_gan_pipelines_%d", (int)getpid());
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    cr_assert_eq(system(cmd), 0);
}

static void remove_dir(void) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)system(cmd);
}

/* Runs `genbench run <p> --scale smoke` into <dir>/<sub>; returns the raw wait status. */
static int run(const char *env, const char *p, const char *sub, unsigned seed, int resume) {
    char args[600], log[400];
    snprintf(args, sizeof args, "run %s --scale smoke --device cpu --threads 1 --seed %u --out %s/%s%s", p, seed, dir,
             sub, resume ? " --resume" : "");
    snprintf(log, sizeof log, "%s/%s.log", dir, sub);
    return run_genbench(env, args, log);
}

static void run_ok(const char *p, const char *sub, unsigned seed, int resume) {
    int st = run(NULL, p, sub, seed, resume);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s into %s failed (status %d); see %s/%s.log", p, sub, st, dir,
              sub);
}

static void run_killed(const char *p, const char *sub, unsigned seed, int at) {
    char env[64];
    snprintf(env, sizeof env, "GB_TEST_KILL_AT_STEP=%d", at);
    int st = run(env, p, sub, seed, 0);
    cr_assert(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGKILL),
              "%s was expected to be killed at iteration %d, status %d", p, at, st);
}

static const char *path_of(const char *sub, const char *file) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s/%s", dir, sub, file);
    return buf[k];
}

static int same_file(const char *a, const char *b, const char *file) {
    return files_equal(path_of(a, file), path_of(b, file));
}

static const char *mnist_files[] = {"metrics.csv", "train.csv", "checkpoint.safetensors", "samples.png",
                                    "samples_000020.png", "interpolation.png", "spectral_distance.png", "losses.png"};

static void expect_same(const char *a, const char *b, const char *const *files, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        cr_expect(same_file(a, b, files[i]), "%s: %s differs", what, files[i]);
}

static unsigned long long checkpoint_step(const char *sub) {
    gb_safetensors f;
    cr_assert_eq(gb_safetensors_read(path_of(sub, "checkpoint.safetensors"), &f), GB_OK, "%s", gb_last_error());
    const char *v = gb_safetensors_meta(&f, "step");
    unsigned long long s = v ? strtoull(v, NULL, 10) : 0;
    gb_safetensors_free(&f);
    return s;
}

TestSuite(gan_pipelines, .init = make_dir, .fini = remove_dir, .timeout = 300);

Test(gan_pipelines, mnist_same_seed_same_bytes) {
    run_ok("mnist-gan", "a", 7, 0);
    run_ok("mnist-gan", "b", 7, 0);
    expect_same("a", "b", mnist_files, sizeof mnist_files / sizeof *mnist_files, "two runs with seed 7");
    run_ok("mnist-gan", "c", 8, 0);
    cr_expect(!same_file("a", "c", "metrics.csv"), "seeds 7 and 8 gave identical metrics.csv");
}

Test(gan_pipelines, mnist_killed_and_resumed_equals_uninterrupted) {
    run_ok("mnist-gan", "a", 7, 0);
    run_killed("mnist-gan", "k", 7, 27); /* the checkpoint of iteration 20 is on disk, 21-26 are lost */
    cr_expect(access(path_of("k", "metrics.csv"), F_OK) != 0, "a killed run left metrics.csv behind");
    cr_assert_eq(checkpoint_step("k"), 20);
    run_ok("mnist-gan", "k", 7, 1);
    expect_same("a", "k", mnist_files, sizeof mnist_files / sizeof *mnist_files, "resumed vs uninterrupted");
}

/* The NaN goes into the real batch of iteration 30: the critic loss is NaN there, the run stops
 * with exit 4, and the checkpoint is still iteration 20's, byte for byte. */
static void expect_divergence(const char *p, int poison_at, int kill_after_ckpt, unsigned long long ckpt_step) {
    char env[64], needle[64];
    run_killed(p, "ref", 7, kill_after_ckpt);
    snprintf(env, sizeof env, "GB_TEST_POISON_AT_STEP=%d", poison_at);
    int st = run(env, p, "nan", 7, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 4, "%s with a NaN at iteration %d: status %d, expected exit 4", p,
              poison_at, st);
    cr_expect(access(path_of("nan", "metrics.csv"), F_OK) != 0, "a diverged run wrote metrics.csv");
    unsigned char *text = NULL;
    size_t n = 0;
    cr_assert_eq(gb_read_file(path_of("nan", "failure.txt"), &text, &n), GB_OK, "no failure.txt: %s", gb_last_error());
    char *t = realloc(text, n + 1);
    t[n] = 0;
    snprintf(needle, sizeof needle, "at iteration %d", poison_at);
    cr_expect(strstr(t, needle) != NULL, "failure.txt does not name the iteration (%s):\n%s", needle, t);
    cr_expect(strstr(t, "invalid") != NULL, "failure.txt does not mark the result invalid:\n%s", t);
    free(t);
    cr_expect_eq(checkpoint_step("nan"), ckpt_step);
    cr_expect(same_file("ref", "nan", "checkpoint.safetensors"), "the last good checkpoint changed");
}

Test(gan_pipelines, mnist_divergence_exits_4_and_keeps_the_last_good_checkpoint) {
    expect_divergence("mnist-gan", 30, 21, 20);
}

Test(gan_pipelines, wgan_gp_killed_and_resumed_equals_uninterrupted) {
    static const char *files[] = {"metrics.csv", "train.csv", "checkpoint.safetensors", "samples.png",
                                  "interpolation.png", "spectral_distance.png"};
    run_ok("cub32-wgan-gp", "a", 3, 0);
    run_killed("cub32-wgan-gp", "k", 3, 7); /* checkpoint of iteration 5; the G step of 5 is in it */
    cr_assert_eq(checkpoint_step("k"), 5);
    run_ok("cub32-wgan-gp", "k", 3, 1);
    expect_same("a", "k", files, sizeof files / sizeof *files, "cub32-wgan-gp resumed vs uninterrupted");
    unsigned char *csv = NULL;
    size_t n = 0;
    cr_assert_eq(gb_read_file(path_of("a", "metrics.csv"), &csv, &n), GB_OK);
    cr_expect(memmem(csv, n, ",gp_final,", 10) != NULL, "no gp_final metric");
    cr_expect(memmem(csv, n, "fid not computed", 16) != NULL || memmem(csv, n, ",fid,", 5) != NULL,
              "neither a FID nor the reason it is missing");
    free(csv);
}

Test(gan_pipelines, wgan_gp_divergence_exits_4) { expect_divergence("cub32-wgan-gp", 8, 6, 5); }

/* `--conv fast` (Winograd and the phase-decomposed upsample conv): its own bytes, the same on a
 * second run and after a kill and resume, recorded in the manifest, and a checkpoint it wrote is
 * refused by a default run (the configuration differs). */
Test(gan_pipelines, wgan_gp_fast_conv_deterministic_resumable_and_recorded) {
    static const char *files[] = {"metrics.csv", "train.csv", "checkpoint.safetensors", "samples.png"};
    run_ok("cub32-wgan-gp --conv fast", "f", 3, 0);
    run_killed("cub32-wgan-gp --conv fast", "fk", 3, 7);
    run_ok("cub32-wgan-gp --conv fast", "fk", 3, 1);
    expect_same("f", "fk", files, sizeof files / sizeof *files, "--conv fast resumed vs uninterrupted");
    run_ok("cub32-wgan-gp", "a", 3, 0);
    cr_expect(!same_file("a", "f", "checkpoint.safetensors"), "--conv fast trained the same bytes as the default");
    unsigned char *m = NULL;
    size_t n = 0;
    cr_assert_eq(gb_read_file(path_of("f", "manifest.txt"), &m, &n), GB_OK, "%s", gb_last_error());
    cr_expect(memmem(m, n, "conv_algorithm: fast", 20) != NULL, "the manifest does not record --conv fast");
    free(m);
    run_killed("cub32-wgan-gp --conv fast", "mix", 3, 7);
    int st = run(NULL, "cub32-wgan-gp", "mix", 3, 1);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) != 0, "a default run resumed a --conv fast checkpoint (status %d)", st);
}
