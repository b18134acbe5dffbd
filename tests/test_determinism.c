/* tests/test_determinism.c - the determinism contract of DESIGN.md section 3 on the real binary:
 * the same seed gives the same bytes; a run killed part-way (SIGKILL) and resumed with
 * --resume ends with the same bytes as an uninterrupted run; a different seed gives different
 * numbers; a damaged checkpoint (one flipped data byte, a step beyond the run, a step that is
 * not a plain decimal, a NaN parameter with a matching checksum) is refused with exit 3 and
 * leaves the good metrics.csv alone. Uses toy2d-langevin at smoke scale (checkpoints every 50
 * steps). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sha256.h"
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

/* Rewrites dir/sub/checkpoint.safetensors: `edit` changes the bytes in memory (same length). */
static void edit_checkpoint(const char *sub, void (*edit)(unsigned char *bytes, size_t n)) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s/checkpoint.safetensors", dir, sub);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    size_t n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n);
    cr_assert(b && fread(b, 1, n, f) == n);
    fclose(f);
    edit(b, n);
    f = fopen(path, "wb");
    cr_assert(f && fwrite(b, 1, n, f) == n);
    fclose(f);
    free(b);
}

static unsigned char *find_text(unsigned char *b, size_t n, const char *text) {
    size_t k = strlen(text);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(b + i, text, k) == 0) return b + i;
    cr_assert_fail("'%s' not in the checkpoint", text);
    return NULL;
}

static void flip_last_byte(unsigned char *b, size_t n) { b[n - 1] ^= 0x55; }
static void step_beyond(unsigned char *b, size_t n) { memcpy(find_text(b, n, "\"step\":\"200\""), "\"step\":\"999\"", 11); }
static void step_negative(unsigned char *b, size_t n) { memcpy(find_text(b, n, "\"step\":\"200\""), "\"step\":\"-10\"", 11); }

/* A NaN in the first parameter (fc0.weight, data offset 0), its checksum recomputed: the file is
 * consistent, so only the finiteness check can refuse it. */
static void nan_param(unsigned char *b, size_t n) {
    uint64_t header = 0;
    for (int i = 7; i >= 0; i--) header = header << 8 | b[i];
    unsigned char *data = b + 8 + header;
    const uint32_t nan_bits = 0x7fc00000u;
    memcpy(data, &nan_bits, 4);
    gb_sha256_ctx c;
    uint8_t digest[32];
    char hex[65];
    gb_sha256_init(&c);
    gb_sha256_update(&c, data, n - 8 - header);
    gb_sha256_final(&c, digest);
    gb_sha256_hex(digest, hex);
    memcpy(find_text(b, n, "\"data_sha256\":\"") + 15, hex, 64);
}

Test(determinism, damaged_checkpoints_are_refused) {
    run_ok(NULL, "a", 7, 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/before && cp %s/a/metrics.csv %s/before/", dir, dir, dir);
    cr_assert_eq(system(cmd), 0);
    void (*edits[])(unsigned char *, size_t) = {flip_last_byte, step_beyond, step_negative, nan_param};
    const char *names[] = {"a flipped data byte", "a step beyond the run", "a negative step", "a NaN parameter"};
    const char *messages[] = {"do not match its checksum", "beyond this run", "not a non-negative decimal",
                              "fc0.weight' holds nan"};
    for (int k = 0; k < 4; k++) {
        snprintf(cmd, sizeof cmd, "rm -rf %s/d && cp -r %s/a %s/d", dir, dir, dir);
        cr_assert_eq(system(cmd), 0);
        edit_checkpoint("d", edits[k]);
        char args[600], log[400];
        snprintf(args, sizeof args, "run toy2d-langevin --scale smoke --device cpu --threads 1 --seed 7 --out %s/d --resume",
                 dir);
        snprintf(log, sizeof log, "%s/damaged%d.log", dir, k);
        int st = run_genbench(NULL, args, log);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 3, "%s: expected exit 3, status %d", names[k], st);
        snprintf(cmd, sizeof cmd, "grep -q \"%s\" %s", messages[k], log);
        cr_expect_eq(system(cmd), 0, "%s: the message in %s does not say '%s'", names[k], log, messages[k]);
        cr_expect(same_file("d", "before", "metrics.csv"), "%s: the refused resume changed metrics.csv", names[k]);
    }
}
