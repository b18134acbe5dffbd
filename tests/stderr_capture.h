/* tests/stderr_capture.h - what a call writes to stderr (genbench's log), for tests that check
 * a warning is given, or that none is. */
#ifndef GB_TEST_STDERR_CAPTURE_H
#define GB_TEST_STDERR_CAPTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* What `call` writes to stderr (the log), as a string the caller frees. */
static char *stderr_of(void (*call)(void *), void *ctx) {
    char path[] = "/tmp/gb_stderr_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    call(ctx);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    FILE *f = fopen(path, "r");
    char *text = calloc(1, 8192);
    size_t got = fread(text, 1, 8191, f);
    text[got] = 0;
    fclose(f);
    unlink(path);
    return text;
}

#endif
