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

/* Files only genbench writes: their presence means a run was here (a user's own train.csv or
 * figures in --out do not). */
static const char *const RUN_MARKERS[] = {"manifest.txt", "checkpoint.safetensors", "failure.txt", NULL};
/* The files a run writes, besides its *.png plots. */
static const char *const RUN_FILES[] = {"metrics.csv", "manifest.txt", "train.csv", "checkpoint.safetensors",
                                        "failure.txt", NULL};

static int in_list(const char *name, const char *const *list) {
    for (; *list; list++)
        if (strcmp(name, *list) == 0) return 1;
    return 0;
}

static int is_run_file(const char *name) {
    size_t n = strlen(name);
    return in_list(name, RUN_FILES) || (n > 4 && strcmp(name + n - 4, ".png") == 0);
}

static int has(const char *dir, const char *name) {
    char path[1200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static int holds_a_run(const char *dir) {
    for (const char *const *m = RUN_MARKERS; *m; m++)
        if (has(dir, *m)) return 1;
    return 0;
}

/* A run that finished: its metrics and manifest are written last, only on success. */
static int holds_a_finished_run(const char *dir) {
    return has(dir, "metrics.csv") && has(dir, "manifest.txt") && !has(dir, "failure.txt");
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

/* The run files of dir, listed before any is moved (renaming while readdir walks the folder
 * could skip or repeat entries). Free with free_names. */
static char **run_files_of(const char *dir, size_t *n) {
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    size_t cap = 16;
    char **names = malloc(cap * sizeof *names);
    struct dirent *e;
    while (names && (e = readdir(d))) {
        if (!is_run_file(e->d_name)) continue;
        if (*n == cap) {
            char **grown = realloc(names, (cap *= 2) * sizeof *grown);
            if (!grown) break;
            names = grown;
        }
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    return names;
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

gb_status gb_run_dir_set_aside(const char *dir) {
    if (!holds_a_run(dir)) return GB_OK;
    size_t n;
    char **names = run_files_of(dir, &n);
    if (!names) return gb_fail(GB_ENV, "%s: cannot list the folder: %s", dir, strerror(errno));
    char prev[1100], from[1400], to[1400];
    snprintf(prev, sizeof prev, "%s/%s", dir, GB_PREVIOUS_RUN);
    gb_status s = GB_OK;
    if (holds_a_finished_run(dir)) {
        /* a finished run replaces whatever waited before it: it is the newer good result */
        s = remove_previous(dir);
        if (s == GB_OK && mkdir(prev, 0777) != 0) s = gb_fail(GB_ENV, "cannot create %s: %s", prev, strerror(errno));
        for (size_t i = 0; i < n && s == GB_OK; i++) {
            snprintf(from, sizeof from, "%s/%s", dir, names[i]);
            snprintf(to, sizeof to, "%s/%s", prev, names[i]);
            if (rename(from, to) != 0) s = gb_fail(GB_ENV, "cannot move %s to %s: %s", from, to, strerror(errno));
        }
        if (s == GB_OK)
            gb_info("%s held an earlier run: moved to %s/ (kept until this run succeeds; --resume continues a "
                    "run instead)",
                    dir, prev);
    } else {
        /* an unfinished or failed attempt: discarded, and previous-run/ (if any) keeps waiting */
        for (size_t i = 0; i < n && s == GB_OK; i++) {
            snprintf(from, sizeof from, "%s/%s", dir, names[i]);
            if (unlink(from) != 0) s = gb_fail(GB_ENV, "cannot delete %s: %s", from, strerror(errno));
        }
        if (s == GB_OK)
            gb_info("%s held an unfinished or failed run: its files were discarded (--resume continues a run "
                    "instead)%s",
                    dir, has(dir, GB_PREVIOUS_RUN) ? "; the earlier good run stays in previous-run/" : "");
    }
    free_names(names, n);
    return s;
}

gb_status gb_run_dir_finish(const char *dir) {
    char path[1200];
    snprintf(path, sizeof path, "%s/failure.txt", dir);
    if (unlink(path) != 0 && errno != ENOENT) return gb_fail(GB_ENV, "cannot delete %s: %s", path, strerror(errno));
    return remove_previous(dir);
}
