/* core/progress.h - progress reporting on stderr.
 *
 * On a terminal: one bar redrawn in place (\r) at most 10 times a second. Otherwise (CI, a log
 * file): a plain line at every 10% of the work, so logs stay short and grep-able.
 * Progress never goes to stdout, which holds the command's summary.
 */
#ifndef GB_PROGRESS_H
#define GB_PROGRESS_H

#include <stddef.h>

typedef struct {
    char label[64];
    size_t total;
    int tty;
    int last_decile;      /* plain mode: last 10% mark printed */
    double started, last_draw; /* monotonic seconds */
} gb_progress;

void gb_progress_start(gb_progress *p, const char *label, size_t total);
/* done = units finished so far; note = a short status such as "loss 0.1234" (may be NULL). */
void gb_progress_update(gb_progress *p, size_t done, const char *note);
void gb_progress_finish(gb_progress *p, const char *note);
/* Monotonic wall clock in seconds. */
double gb_now_seconds(void);

#endif
