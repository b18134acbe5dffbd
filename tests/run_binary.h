/* tests/run_binary.h - run the genbench binary from a test and compare output files. */
#ifndef GB_TEST_RUN_BINARY_H
#define GB_TEST_RUN_BINARY_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../core/atomic_file.h"

/* $GB_BIN (set by tests/run_all.sh) or build/genbench. */
static inline const char *genbench_bin(void) {
    const char *b = getenv("GB_BIN");
    return b ? b : "build/genbench";
}

/* Run `genbench <args>` through the shell (env assignments may prefix it via `env`); returns the
 * raw wait status so callers can tell an exit code from a signal. Output goes to `log`. */
static inline int run_genbench(const char *env, const char *args, const char *log) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s %s >%s 2>&1", env ? env : "", genbench_bin(), args, log);
    return system(cmd);
}

static inline int files_equal(const char *a, const char *b) {
    unsigned char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int ok = gb_read_file(a, &x, &nx) == GB_OK && gb_read_file(b, &y, &ny) == GB_OK && nx == ny &&
             memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return ok;
}

#endif
