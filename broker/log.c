/* Logging. Design note: a line is formatted completely into a local buffer and written with a
 * single fprintf(stderr), so lines from different threads never interleave inside a line (stdio
 * locks the stream per call). The level threshold is the process's one intentional global; it is
 * set once at start-up and read with relaxed atomics afterwards. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static _Atomic int log_threshold = LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void log_set_level(enum log_level level) {
  atomic_store_explicit(&log_threshold, (int)level, memory_order_relaxed);
}

enum log_level log_get_level(void) {
  return (enum log_level)atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

int log_level_parse(const char *name, enum log_level *level) {
  for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++) {
    if (strcasecmp(name, level_names[i]) == 0) {
      *level = (enum log_level)i;
      return 0;
    }
  }
  /* Kafka's log4j spelling of WARN */
  if (strcasecmp(name, "WARNING") == 0) {
    *level = LOG_WARN;
    return 0;
  }
  return -1;
}

void log_write(enum log_level level, const char *subsystem, const char *fmt, ...) {
  if ((int)level < (int)log_get_level()) return;
  if ((int)level < LOG_DEBUG || (int)level > LOG_ERROR) level = LOG_ERROR;

  struct timespec now;
  struct tm tm;
  char stamp[32];
  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &tm);
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

  char text[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  if (n < 0) text[0] = '\0';
  if (n >= (int)sizeof(text)) memcpy(text + sizeof(text) - 4, "...", 4);

  fprintf(stderr, "%s.%03ldZ %-5s [%s] %s\n", stamp, now.tv_nsec / 1000000L, level_names[level],
          subsystem, text);
}
