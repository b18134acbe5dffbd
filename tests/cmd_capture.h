/* tests/cmd_capture.h - call a `genbench` command function (compiled into the suite) with its
 * stdout captured in a file, and read values off what it printed. */
#ifndef GB_TEST_CMD_CAPTURE_H
#define GB_TEST_CMD_CAPTURE_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"

static char captured[16384]; /* the whole stdout of the last run_cmd */

/* Run cmd with stdout redirected; returns its status, the last stdout line in last (and all
 * of stdout in captured). */
static gb_status run_cmd(gb_status (*cmd)(int, char **), char **argv, int argc, char *last, size_t size) {
    char outfile[64] = "/tmp/gb_cmd_stdout_XXXXXX"; /* mkstemp's template */
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
    captured[0] = 0;
    while (fgets(line, sizeof line, fp)) {
        snprintf(last, size, "%s", line);
        strncat(captured, line, sizeof captured - strlen(captured) - 1);
    }
    fclose(fp);
    unlink(outfile);
    return s;
}

/* The value on the last line (key NULL) or on the line starting with `key` of a command that
 * must succeed; NAN when no line starts with key. */
static double run_for_value(gb_status (*cmd)(int, char **), char **argv, int argc, const char *key) {
    char last[512];
    cr_assert_eq(run_cmd(cmd, argv, argc, last, sizeof last), GB_OK, "%s", gb_last_error());
    if (!key) return strtod(last, NULL);
    for (const char *line = captured; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, key, strlen(key)) == 0) return strtod(line + strlen(key), NULL);
    return NAN;
}

#endif
