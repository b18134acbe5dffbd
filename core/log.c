/* core/log.c - levelled logging (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gb_log_level gb_log_threshold = GB_LOG_INFO;

void gb_log_set_level(gb_log_level level) { gb_log_threshold = level; }

void gb_log_init_from_env(void) {
    const char *v = getenv("GB_LOG");
    if (!v) return;
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(v, names[i]) == 0) gb_log_threshold = (gb_log_level)i;
}

void gb_log_write(gb_log_level level, const char *file, int line, const char *fmt, ...) {
    static const char *tags[] = {"error", "warning", "info", "debug"};
    va_list ap;
    va_start(ap, fmt);
    if (level == GB_LOG_DEBUG) fprintf(stderr, "genbench %s [%s:%d]: ", tags[level], file, line);
    else fprintf(stderr, "genbench %s: ", tags[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
