/* core/log.h - levelled logging to stderr.
 *
 * The level is checked before the arguments are evaluated (the macro expands to
 * an if), so a disabled debug line costs one comparison. stdout is reserved for
 * the human summary of a command; diagnostics go to stderr.
 * The level comes from gb_log_set_level() or the GB_LOG environment variable
 * (error|warn|info|debug).
 */
#ifndef GB_LOG_H
#define GB_LOG_H

typedef enum { GB_LOG_ERROR = 0, GB_LOG_WARN = 1, GB_LOG_INFO = 2, GB_LOG_DEBUG = 3 } gb_log_level;

extern gb_log_level gb_log_threshold;

void gb_log_set_level(gb_log_level level);
/* Reads GB_LOG once; unknown values leave the default (info). */
void gb_log_init_from_env(void);
void gb_log_write(gb_log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define GB_LOG(level, ...) \
    do { if ((level) <= gb_log_threshold) gb_log_write((level), __FILE__, __LINE__, __VA_ARGS__); } while (0)
#define gb_error(...) GB_LOG(GB_LOG_ERROR, __VA_ARGS__)
#define gb_warn(...) GB_LOG(GB_LOG_WARN, __VA_ARGS__)
#define gb_info(...) GB_LOG(GB_LOG_INFO, __VA_ARGS__)
#define gb_debug(...) GB_LOG(GB_LOG_DEBUG, __VA_ARGS__)

#endif
