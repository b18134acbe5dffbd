/* tests/fd_capture.h - what a call writes to a file descriptor, captured through a temporary
 * file: the primitives tests/cmd_capture.h builds run_cmd on, and stderr_of for tests that check
 * a warning is given, or that none is. */
#ifndef GB_TEST_FD_CAPTURE_H
#define GB_TEST_FD_CAPTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Points fd at a fresh temporary file (its name in path, a mkstemp template); returns the
 * saved fd. */
static inline int capture_redirect(int fd, char *path) {
    int tmp = mkstemp(path);
    cr_assert_geq(tmp, 0);
    int saved = dup(fd);
    dup2(tmp, fd);
    close(tmp);
    return saved;
}

/* Restores fd and reads what went to path into buf (NUL-terminated), then removes path. */
static inline void capture_restore(int fd, int saved, const char *path, char *buf, size_t size) {
    dup2(saved, fd);
    close(saved);
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp);
    size_t n = fread(buf, 1, size - 1, fp);
    buf[n] = 0;
    fclose(fp);
    unlink(path);
}

/* What call(ctx) writes to stderr (the log), as a string the caller frees. */
static inline char *stderr_of(void (*call)(void *), void *ctx) {
    enum { size = 8192 };
    char path[] = "/tmp/gb_stderr_XXXXXX", *text = malloc(size);
    cr_assert_not_null(text);
    fflush(stderr);
    int saved = capture_redirect(2, path);
    call(ctx);
    fflush(stderr);
    capture_restore(2, saved, path, text, size);
    return text;
}

#endif
