/* What the librdkafka test programs share (included once by each, after defining PROGRAM_NAME):
 * the bootstrap address and -X pairs from the command line, dying with a message, a monotonic
 * clock, JSON strings, and clients configured from bootstrap.servers, the program's defaults and
 * the -X pairs (which win). */
#ifndef QUIRE_TESTS_RDKAFKA_CLIENT_H
#define QUIRE_TESTS_RDKAFKA_CLIENT_H

#include <librdkafka/rdkafka.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONF_MAX 64

static const char *bootstrap;
static const char *conf_pairs[CONF_MAX];
static int conf_count;

static inline void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs(PROGRAM_NAME ": ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static inline double mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- JSON output ------------------------------------------------------------------------- */

static inline void json_bytes(const void *data, size_t size) {
  if (data == NULL) {
    fputs("null", stdout);
    return;
  }
  putchar('"');
  for (const unsigned char *p = data; p < (const unsigned char *)data + size; p++) {
    if (*p == '"' || *p == '\\')
      printf("\\%c", *p);
    else if (*p < 0x20 || *p >= 0x7f)
      printf("\\u%04x", *p);
    else
      putchar(*p);
  }
  putchar('"');
}

static inline void json_str(const char *s) { json_bytes(s, s ? strlen(s) : 0); }

/* ---- clients ------------------------------------------------------------------------------ */

static inline void conf_set(rd_kafka_conf_t *conf, const char *key, const char *value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK)
    die("%s=%s: %s", key, value, err);
}

/* bootstrap.servers, the defaults given, then every -X pair (which win). */
static inline rd_kafka_conf_t *conf_new(const char *const *defaults) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  conf_set(conf, "bootstrap.servers", bootstrap);
  for (; defaults && defaults[0]; defaults += 2) conf_set(conf, defaults[0], defaults[1]);
  for (int i = 0; i < conf_count; i++) {
    char key[256];
    const char *eq = strchr(conf_pairs[i], '=');
    if (!eq || (size_t)(eq - conf_pairs[i]) >= sizeof key)
      die("-X %s: want KEY=VALUE", conf_pairs[i]);
    memcpy(key, conf_pairs[i], (size_t)(eq - conf_pairs[i]));
    key[eq - conf_pairs[i]] = '\0';
    conf_set(conf, key, eq + 1);
  }
  return conf;
}

static inline rd_kafka_t *client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
  char err[512];
  rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) die("rd_kafka_new: %s", err);
  return rk;
}

#endif
