/* tests/cmd_capture.h - call a `genbench` command function (compiled into the suite) with its
 * stdout and stderr captured in files, and read values off what it printed. */
#ifndef GB_TEST_CMD_CAPTURE_H
#define GB_TEST_CMD_CAPTURE_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "tests/fd_capture.h"

static char captured[16384];    /* the whole stdout of the last run_cmd */
static char captured_err[8192]; /* its whole stderr (also passed on to the real stderr) */

/* Copy as much of src as fits in dst[size], NUL-terminated (what snprintf "%s" does, without
 * GCC's truncation warning for the big capture buffers). */
static inline void capture_copy(char *dst, size_t size, const char *src) {
    size_t n = strlen(src);
    if (n >= size) n = size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* Run cmd with stdout and stderr redirected; returns its status, the last stdout line (with
 * its newline) in last, all of stdout in captured and of stderr in captured_err. */
static inline gb_status run_cmd(gb_status (*cmd)(int, char **), char **argv, int argc, char *last, size_t size) {
    char out_path[] = "/tmp/gb_cmd_stdout_XXXXXX", err_path[] = "/tmp/gb_cmd_stderr_XXXXXX"; /* templates */
    fflush(stdout);
    fflush(stderr);
    int saved_out = capture_redirect(1, out_path), saved_err = capture_redirect(2, err_path);
    gb_status s = cmd(argc, argv);
    fflush(stdout);
    fflush(stderr);
    capture_restore(1, saved_out, out_path, captured, sizeof captured);
    capture_restore(2, saved_err, err_path, captured_err, sizeof captured_err);
    fputs(captured_err, stderr);
    size_t len = strlen(captured), start = len;
    if (start && captured[start - 1] == '\n') start--;
    while (start && captured[start - 1] != '\n') start--;
    capture_copy(last, size, captured + start);
    return s;
}

/* The value on the last line (key NULL) or on the line starting with `key` of a command that
 * must succeed; NAN when no line starts with key. */
static inline double run_for_value(gb_status (*cmd)(int, char **), char **argv, int argc, const char *key) {
    char last[512];
    cr_assert_eq(run_cmd(cmd, argv, argc, last, sizeof last), GB_OK, "%s", gb_last_error());
    if (!key) return strtod(last, NULL);
    for (const char *line = captured; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, key, strlen(key)) == 0) return strtod(line + strlen(key), NULL);
    return NAN;
}

#endif
