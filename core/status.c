/* core/status.c - status names, the per-thread error message, gb_panic. */
#include "status.h"

#include <stdarg.h>
#include <string.h>

static _Thread_local char gb_error_message[2048];

const char *gb_status_name(gb_status s) {
    switch (s) {
    case GB_OK: return "ok";
    case GB_GATE_FAILED: return "gate failed";
    case GB_USAGE: return "usage error";
    case GB_INPUT: return "input/data error";
    case GB_NUMERIC: return "numerical failure";
    case GB_ENV: return "environment error";
    }
    return "unknown status";
}

gb_status gb_fail(gb_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(gb_error_message, sizeof gb_error_message, fmt, ap);
    va_end(ap);
    return s;
}

gb_status gb_fail_wrap(gb_status s, const char *fmt, ...) {
    /* prefix + old must fit the slot; the tail of a very long chain is cut, never overrun. */
    char prefix[512];
    char old[sizeof gb_error_message - sizeof prefix - 2];
    size_t keep = strnlen(gb_error_message, sizeof old - 1);
    memcpy(old, gb_error_message, keep);
    old[keep] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t lp = strlen(prefix);
    memcpy(gb_error_message, prefix, lp);
    memcpy(gb_error_message + lp, ": ", 2);
    memcpy(gb_error_message + lp + 2, old, keep + 1);
    return s;
}

const char *gb_last_error(void) { return gb_error_message; }

void gb_clear_error(void) { gb_error_message[0] = '\0'; }

void gb_panic(const char *file, int line, const char *fmt, ...) {
    fflush(stdout);
    fprintf(stderr, "genbench: internal error at %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void gb_assert_fail(const char *file, int line, const char *cond, const char *fmt, ...) {
    fflush(stdout);
    fprintf(stderr, "genbench: internal error at %s:%d: assertion `%s` failed: ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
