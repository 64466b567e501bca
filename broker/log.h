/* Logging: one line per event on stderr, "2026-11-25T18:09:45.123Z INFO  [net] text".
 * The level threshold is global to the process (set once at start-up from config). */
#ifndef QUIRE_BROKER_LOG_H
#define QUIRE_BROKER_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "DEBUG", "INFO", "WARN", "ERROR" (case-insensitive); returns -1 when unknown. */
int log_level_parse(const char *name, enum log_level *level);
void log_write(enum log_level level, const char *subsystem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(sub, ...)                                                   \
  do {                                                                        \
    if (log_get_level() <= LOG_DEBUG) log_write(LOG_DEBUG, sub, __VA_ARGS__); \
  } while (0)
#define log_info(sub, ...) log_write(LOG_INFO, sub, __VA_ARGS__)
#define log_warn(sub, ...) log_write(LOG_WARN, sub, __VA_ARGS__)
#define log_error(sub, ...) log_write(LOG_ERROR, sub, __VA_ARGS__)

#endif
