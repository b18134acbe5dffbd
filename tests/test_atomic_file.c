/* tests/test_atomic_file.c - core/atomic_file: commit, abort, a writer killed
 * with SIGKILL mid-write, failures that name the path, mkdir -p, whole-file reads.
 * Each test works in its own mkdtemp directory under /tmp.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/atomic_file.h"

static char tmpdir[256];

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gb_test_atomic_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp failed");
}

static void remove_tmpdir(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(atomic_file, .init = make_tmpdir, .fini = remove_tmpdir);

static char *join(const char *name) {
    static char buf[4][512];
    static int slot;
    char *out = buf[slot++ % 4];
    snprintf(out, sizeof buf[0], "%s/%s", tmpdir, name);
    return out;
}

static void expect_file(const char *path, const char *want, size_t want_n) {
    unsigned char *data = NULL;
    size_t n = 0;
    cr_assert_eq(gb_read_file(path, &data, &n), GB_OK, "%s", gb_last_error());
    cr_assert_eq(n, want_n, "%s: %zu bytes, expected %zu", path, n, want_n);
    cr_assert(memcmp(data, want, n) == 0, "%s: content differs", path);
    cr_assert_eq(data[n], 0, "gb_read_file must append a NUL byte");
    free(data);
}

/* Number of entries in tmpdir other than "." and "..", dot files included. */
static int count_entries(void) {
    DIR *d = opendir(tmpdir);
    cr_assert_not_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) count++;
    closedir(d);
    return count;
}

Test(atomic_file, commit_creates_then_replaces) {
    const char *path = join("metrics.csv");
    cr_assert_eq(gb_atomic_write(path, "old contents\n", 13), GB_OK, "%s", gb_last_error());
    expect_file(path, "old contents\n", 13);

    gb_atomic_file af;
    cr_assert_eq(gb_atomic_open(&af, path), GB_OK, "%s", gb_last_error());
    char want_tmp[600];
    snprintf(want_tmp, sizeof want_tmp, "%s/.metrics.csv.tmp.%ld", tmpdir, (long)getpid());
    cr_assert_str_eq(af.tmp_path, want_tmp);
    fputs("new", af.fp);
    /* Before the commit the final name still holds the old bytes. */
    expect_file(path, "old contents\n", 13);
    cr_assert_eq(gb_atomic_commit(&af), GB_OK, "%s", gb_last_error());
    expect_file(path, "new", 3);
    cr_assert_null(af.fp);
    cr_assert_eq(count_entries(), 1, "the tmp file must be gone after commit");
}

Test(atomic_file, relative_path_without_directory) {
    cr_assert_eq(chdir(tmpdir), 0);
    cr_assert_eq(gb_atomic_write("plain.txt", "xyz", 3), GB_OK, "%s", gb_last_error());
    expect_file(join("plain.txt"), "xyz", 3);
    cr_assert_eq(count_entries(), 1);
}

Test(atomic_file, abort_keeps_old_file_and_removes_tmp) {
    const char *path = join("ckpt.bin");
    cr_assert_eq(gb_atomic_write(path, "good", 4), GB_OK, "%s", gb_last_error());
    gb_atomic_file af;
    cr_assert_eq(gb_atomic_open(&af, path), GB_OK, "%s", gb_last_error());
    fputs("partial garbage", af.fp);
    fflush(af.fp);
    cr_assert_eq(count_entries(), 2, "tmp file should exist while writing");
    gb_atomic_abort(&af);
    expect_file(path, "good", 4);
    cr_assert_eq(count_entries(), 1, "abort must remove the tmp file");
    gb_atomic_abort(&af); /* a second abort is a no-op */
}

Test(atomic_file, killed_writer_leaves_previous_file_intact) {
    const char *path = join("stats.bin");
    char old[4096], fresh[4096];
    for (size_t i = 0; i < sizeof old; i++) {
        old[i] = (char)(i * 7 + 1);
        fresh[i] = (char)(i * 13 + 5);
    }
    cr_assert_eq(gb_atomic_write(path, old, sizeof old), GB_OK, "%s", gb_last_error());

    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t child = fork();
    cr_assert_neq(child, -1, "fork failed");
    if (child == 0) {
        gb_atomic_file af;
        if (gb_atomic_open(&af, path) != GB_OK) _exit(3);
        fwrite(fresh, 1, sizeof fresh / 2, af.fp);
        fflush(af.fp);
        if (write(ready[1], "x", 1) != 1) _exit(4);
        for (;;) pause(); /* killed here, before the commit */
    }
    close(ready[1]);
    char byte;
    cr_assert_eq(read(ready[0], &byte, 1), 1, "child did not reach the half-written state");
    close(ready[0]);
    cr_assert_eq(kill(child, SIGKILL), 0);
    int wstatus;
    cr_assert_eq(waitpid(child, &wstatus, 0), child);
    cr_assert(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL, "child was not killed by SIGKILL");

    expect_file(path, old, sizeof old);
    /* The child really wrote: its tmp file holds the half-written new bytes. */
    char child_tmp[600];
    snprintf(child_tmp, sizeof child_tmp, "%s/.stats.bin.tmp.%ld", tmpdir, (long)child);
    expect_file(child_tmp, fresh, sizeof fresh / 2);
}

Test(atomic_file, missing_directory_fails_naming_the_path) {
    const char *path = join("no/such/dir/out.csv");
    gb_atomic_file af;
    gb_status s = gb_atomic_open(&af, path);
    cr_assert_eq(s, GB_ENV, "status %d: %s", s, gb_last_error());
    cr_assert_not_null(strstr(gb_last_error(), path), "message '%s' must name %s", gb_last_error(), path);
    cr_assert_null(af.fp);
    gb_atomic_abort(&af); /* safe on the zeroed struct */
    cr_assert_eq(gb_atomic_write(path, "x", 1), GB_ENV);
    cr_assert_not_null(strstr(gb_last_error(), path), "%s", gb_last_error());
}

Test(atomic_file, commit_fails_when_final_path_becomes_a_directory) {
    const char *path = join("victim");
    gb_atomic_file af;
    cr_assert_eq(gb_atomic_open(&af, path), GB_OK, "%s", gb_last_error());
    fputs("data", af.fp);
    /* A non-empty directory appears under the final name: rename must fail. */
    cr_assert_eq(mkdir(path, 0777), 0);
    cr_assert_eq(mkdir(join("victim/inner"), 0777), 0);
    gb_status s = gb_atomic_commit(&af);
    cr_assert_eq(s, GB_ENV, "status %d: %s", s, gb_last_error());
    cr_assert_not_null(strstr(gb_last_error(), path), "%s", gb_last_error());
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert(S_ISDIR(sb.st_mode), "the existing directory must be kept");
    cr_assert_eq(count_entries(), 1, "the tmp file must be removed after a failed commit");
}

Test(atomic_file, rejects_paths_without_a_file_name) {
    gb_atomic_file af;
    cr_assert_eq(gb_atomic_open(&af, ""), GB_INPUT);
    cr_assert_eq(gb_atomic_open(&af, join("")), GB_INPUT);
    cr_assert_eq(gb_atomic_open(&af, join("..")), GB_INPUT);
    cr_assert_eq(gb_atomic_open(&af, tmpdir), GB_INPUT, "an existing directory is not a file");
    cr_assert_not_null(strstr(gb_last_error(), tmpdir), "%s", gb_last_error());
}

Test(atomic_file, mkdirs_nested_and_idempotent) {
    const char *deep = join("a/b//c/d/");
    cr_assert_eq(gb_mkdirs(deep), GB_OK, "%s", gb_last_error());
    struct stat sb;
    cr_assert_eq(stat(join("a/b/c/d"), &sb), 0);
    cr_assert(S_ISDIR(sb.st_mode));
    cr_assert_eq(gb_mkdirs(join("a/b/c/d")), GB_OK, "existing directories are fine: %s", gb_last_error());
    cr_assert_eq(gb_atomic_write(join("a/b/c/d/f.txt"), "ok", 2), GB_OK, "%s", gb_last_error());
    expect_file(join("a/b/c/d/f.txt"), "ok", 2);
}

Test(atomic_file, mkdirs_through_a_file_fails_naming_the_path) {
    cr_assert_eq(gb_atomic_write(join("plainfile"), "x", 1), GB_OK, "%s", gb_last_error());
    const char *bad = join("plainfile/sub");
    cr_assert_eq(gb_mkdirs(bad), GB_ENV);
    cr_assert_not_null(strstr(gb_last_error(), bad), "%s", gb_last_error());
}

Test(atomic_file, read_file_missing_is_input_error_naming_it) {
    const char *path = join("absent.safetensors");
    unsigned char *data = (unsigned char *)"sentinel";
    size_t n = 99;
    cr_assert_eq(gb_read_file(path, &data, &n), GB_INPUT);
    cr_assert_not_null(strstr(gb_last_error(), path), "%s", gb_last_error());
    cr_assert_null(data);
    cr_assert_eq(n, 0);
    cr_assert_eq(gb_read_file(tmpdir, &data, &n), GB_INPUT, "a directory is not a readable file");
}

Test(atomic_file, read_file_empty_and_binary) {
    cr_assert_eq(gb_atomic_write(join("empty"), "", 0), GB_OK, "%s", gb_last_error());
    expect_file(join("empty"), "", 0);
    const char bin[] = {0, 1, 2, 0, (char)0xff, '\n', 0};
    cr_assert_eq(gb_atomic_write(join("bin"), bin, sizeof bin), GB_OK, "%s", gb_last_error());
    expect_file(join("bin"), bin, sizeof bin);
}
