/* core/status.h - status codes, the error message slot, assertions.
 *
 * Library code returns a gb_status; only programmer errors abort (GB_ASSERT).
 * The status values double as the process exit codes of DESIGN.md section 3,
 * so a command can `return status` from main without a translation table.
 *
 * The human-readable reason travels in a per-thread message slot filled by
 * gb_fail(): it names the file, the field or offset, and the fix. Callers that
 * add context (e.g. the pipeline that was loading the file) use gb_fail_wrap().
 * Tested by tests/test_core.c.
 */
#ifndef GB_STATUS_H
#define GB_STATUS_H

#include <stdio.h>
#include <stdlib.h>

typedef enum {
    GB_OK = 0,          /* success */
    GB_GATE_FAILED = 1, /* a metric regressed against the reference */
    GB_USAGE = 2,       /* unknown option, bad argument */
    GB_INPUT = 3,       /* truncated/corrupt file, wrong magic, shape, checksum, NaN in data */
    GB_NUMERIC = 4,     /* NaN/Inf loss, divergence */
    GB_ENV = 5,         /* no GPU, missing library, I/O failure of the machine */
} gb_status;

/* "ok", "gate failed", ... */
const char *gb_status_name(gb_status s);

/* Record a failure message (printf-style) and return `s` so callers can write
 * `return gb_fail(GB_INPUT, "%s: header length %llu exceeds file size", path, n);` */
gb_status gb_fail(gb_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the current message with more context: "<context>: <old message>". */
gb_status gb_fail_wrap(gb_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message recorded on this thread ("" when none). */
const char *gb_last_error(void);
void gb_clear_error(void);

/* Abort with file:line and a message: for programmer errors only. */
_Noreturn void gb_panic(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The condition's text is passed as an argument, not pasted into the format: it may hold '%'. */
_Noreturn void gb_assert_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define GB_ASSERT(cond, ...)                                                   \
    do {                                                                       \
        if (!(cond)) gb_assert_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);   \
    } while (0)

/* Propagate a non-OK status. */
#define GB_TRY(expr)                       \
    do {                                   \
        gb_status gb_try_s_ = (expr);      \
        if (gb_try_s_ != GB_OK) return gb_try_s_; \
    } while (0)

#endif
