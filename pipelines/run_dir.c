/* pipelines/run_dir.c - setting an earlier run aside, and clearing it after success (see
 * run_dir.h). */
#include "run_dir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/log.h"

/* The files whose presence means "a run was here". */
static const char *const RUN_MARKERS[] = {"metrics.csv", "manifest.txt", "train.csv", "checkpoint.safetensors",
                                          "failure.txt", NULL};

static int is_marker(const char *name) {
    for (const char *const *m = RUN_MARKERS; *m; m++)
        if (strcmp(name, *m) == 0) return 1;
    return 0;
}

static int is_run_file(const char *name) {
    size_t n = strlen(name);
    return is_marker(name) || (n > 4 && strcmp(name + n - 4, ".png") == 0);
}

static int holds_a_run(const char *dir) {
    char path[1200];
    struct stat st;
    for (const char *const *m = RUN_MARKERS; *m; m++) {
        snprintf(path, sizeof path, "%s/%s", dir, *m);
        if (stat(path, &st) == 0) return 1;
    }
    return 0;
}

/* Deletes dir/previous-run and the files in it (it only ever holds files moved there). */
static gb_status remove_previous(const char *dir) {
    char prev[1100], path[1400];
    snprintf(prev, sizeof prev, "%s/%s", dir, GB_PREVIOUS_RUN);
    DIR *d = opendir(prev);
    if (!d) return errno == ENOENT ? GB_OK : gb_fail(GB_ENV, "%s: cannot open: %s", prev, strerror(errno));
    struct dirent *e;
    gb_status s = GB_OK;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", prev, e->d_name);
            if (unlink(path) != 0 && s == GB_OK) s = gb_fail(GB_ENV, "cannot delete %s: %s", path, strerror(errno));
        }
    closedir(d);
    if (s == GB_OK && rmdir(prev) != 0) s = gb_fail(GB_ENV, "cannot delete %s: %s", prev, strerror(errno));
    return s;
}

gb_status gb_run_dir_set_aside(const char *dir) {
    if (!holds_a_run(dir)) return GB_OK;
    GB_TRY(remove_previous(dir));
    char prev[1100], from[1400], to[1400];
    snprintf(prev, sizeof prev, "%s/%s", dir, GB_PREVIOUS_RUN);
    if (mkdir(prev, 0777) != 0) return gb_fail(GB_ENV, "cannot create %s: %s", prev, strerror(errno));
    DIR *d = opendir(dir);
    if (!d) return gb_fail(GB_ENV, "%s: cannot open: %s", dir, strerror(errno));
    struct dirent *e;
    gb_status s = GB_OK;
    while (s == GB_OK && (e = readdir(d))) {
        if (!is_run_file(e->d_name)) continue;
        snprintf(from, sizeof from, "%s/%s", dir, e->d_name);
        snprintf(to, sizeof to, "%s/%s", prev, e->d_name);
        if (rename(from, to) != 0) s = gb_fail(GB_ENV, "cannot move %s to %s: %s", from, to, strerror(errno));
    }
    closedir(d);
    if (s == GB_OK)
        gb_info("%s held an earlier run: moved to %s/ (kept until this run succeeds; --resume continues a run instead)",
                dir, prev);
    return s;
}

gb_status gb_run_dir_finish(const char *dir) {
    char path[1200];
    snprintf(path, sizeof path, "%s/failure.txt", dir);
    if (unlink(path) != 0 && errno != ENOENT) return gb_fail(GB_ENV, "cannot delete %s: %s", path, strerror(errno));
    return remove_previous(dir);
}
