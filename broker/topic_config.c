/* Topic configuration and the admin APIs' config model; see topic_config.h for the design note.
 * Values are parsed as Java's ConfigDef parses them (String.trim, Integer/Long.parseLong,
 * Double.parseDouble, case-insensitive booleans, lists split on commas with spaces around) and
 * printed back as ConfigDef.convertToString does, so that what DescribeConfigs reports is what
 * Kafka would. */
#include "topic_config.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errors.h"

#define I32MAX INT32_MAX
#define I64MAX INT64_MAX
#define VALUE_MAX 1024 /* normalized values longer than this are refused */

/* How the broker value of a topic key is derived (LogConfig.extractLogConfigMap). */
enum derive { D_PLAIN, D_RETENTION_MS, D_ROLL_MS, D_JITTER_MS, D_FLUSH_MS };

struct tkey {
  struct topic_config_key k;
  enum derive derive;
};

#define TK(n, t, d, srv, chk, lo, hi, ch, drv, doc) \
  { {n, t, d, srv, chk, lo, hi, ch, doc}, drv }

/* Kafka 4.3's LogConfig, in its definition order. */
static const struct tkey tkeys[] = {
    TK("segment.bytes", CONFIG_INT, "1073741824", "log.segment.bytes", TCFG_CHECK_RANGE, 1048576,
       I32MAX, NULL, D_PLAIN, "Largest size of one segment file of the topic."),
    TK("segment.ms", CONFIG_LONG, "604800000", "log.roll.ms", TCFG_CHECK_RANGE, 1, I64MAX, NULL,
       D_ROLL_MS, "Age after which a segment is rolled even if it is not full."),
    TK("segment.jitter.ms", CONFIG_LONG, "0", "log.roll.jitter.ms", TCFG_CHECK_RANGE, 0, I64MAX,
       NULL, D_JITTER_MS, "Largest random time taken off segment.ms, to spread segment rolls."),
    TK("segment.index.bytes", CONFIG_INT, "10485760", "log.index.size.max.bytes", TCFG_CHECK_RANGE,
       4, I32MAX, NULL, D_PLAIN, "Size of a segment's offset index."),
    TK("flush.messages", CONFIG_LONG, "9223372036854775807", "log.flush.interval.messages",
       TCFG_CHECK_RANGE, 1, I64MAX, NULL, D_PLAIN,
       "Messages appended before the log is synced to disk."),
    TK("flush.ms", CONFIG_LONG, "9223372036854775807", "log.flush.interval.ms", TCFG_CHECK_RANGE, 0,
       I64MAX, NULL, D_FLUSH_MS, "Longest time appended data waits before a sync to disk."),
    TK("retention.bytes", CONFIG_LONG, "-1", "log.retention.bytes", TCFG_CHECK_NONE, 0, 0, NULL,
       D_PLAIN, "Size a partition may reach before its oldest segments are deleted; -1: no limit."),
    TK("retention.ms", CONFIG_LONG, "604800000", "log.retention.ms", TCFG_CHECK_RANGE, -1, I64MAX,
       NULL, D_RETENTION_MS, "How long data is kept before its segments are deleted; -1: forever."),
    TK("max.message.bytes", CONFIG_INT, "1048588", "message.max.bytes", TCFG_CHECK_RANGE, 0, I32MAX,
       NULL, D_PLAIN, "Largest record batch accepted (after compression)."),
    TK("index.interval.bytes", CONFIG_INT, "4096", "log.index.interval.bytes", TCFG_CHECK_RANGE, 0,
       I32MAX, NULL, D_PLAIN, "Bytes appended between two offset index entries."),
    TK("delete.retention.ms", CONFIG_LONG, "86400000", "log.cleaner.delete.retention.ms",
       TCFG_CHECK_RANGE, 0, I64MAX, NULL, D_PLAIN,
       "How long tombstones are kept in a compacted topic."),
    TK("min.compaction.lag.ms", CONFIG_LONG, "0", "log.cleaner.min.compaction.lag.ms",
       TCFG_CHECK_RANGE, 0, I64MAX, NULL, D_PLAIN, "Shortest time a record stays uncompacted."),
    TK("max.compaction.lag.ms", CONFIG_LONG, "9223372036854775807",
       "log.cleaner.max.compaction.lag.ms", TCFG_CHECK_RANGE, 1, I64MAX, NULL, D_PLAIN,
       "Longest time a record may stay ineligible for compaction."),
    TK("file.delete.delay.ms", CONFIG_LONG, "60000", "log.segment.delete.delay.ms",
       TCFG_CHECK_RANGE, 0, I64MAX, NULL, D_PLAIN,
       "Wait before a deleted segment's files are removed from disk."),
    TK("min.cleanable.dirty.ratio", CONFIG_DOUBLE, "0.5", "log.cleaner.min.cleanable.ratio",
       TCFG_CHECK_RATIO, 0, 1, NULL, D_PLAIN,
       "Share of uncompacted data that makes the log eligible for compaction."),
    TK("cleanup.policy", CONFIG_LIST, "delete", "log.cleanup.policy", TCFG_CHECK_LIST, 0, 0,
       "compact,delete", D_PLAIN,
       "What happens to old segments: delete, compact, both, or nothing when empty."),
    TK("unclean.leader.election.enable", CONFIG_BOOL, "false", "unclean.leader.election.enable",
       TCFG_CHECK_NONE, 0, 0, NULL, D_PLAIN,
       "Whether an out-of-sync replica may become leader as a last resort, losing data."),
    TK("min.insync.replicas", CONFIG_INT, "1", "min.insync.replicas", TCFG_CHECK_RANGE, 1, I32MAX,
       NULL, D_PLAIN, "In-sync replicas needed for an acks=all write to succeed."),
    TK("compression.type", CONFIG_STRING, "producer", "compression.type", TCFG_CHECK_CHOICE, 0, 0,
       "uncompressed,zstd,lz4,snappy,gzip,producer", D_PLAIN,
       "Codec batches are stored with; producer keeps the producer's codec."),
    TK("compression.gzip.level", CONFIG_INT, "-1", "compression.gzip.level", TCFG_CHECK_GZIP_LEVEL,
       0, 0, NULL, D_PLAIN, "gzip level when recompressing with gzip."),
    TK("compression.lz4.level", CONFIG_INT, "9", "compression.lz4.level", TCFG_CHECK_RANGE, 1, 17,
       NULL, D_PLAIN, "lz4 level when recompressing with lz4."),
    TK("compression.zstd.level", CONFIG_INT, "3", "compression.zstd.level", TCFG_CHECK_RANGE,
       -131072, 22, NULL, D_PLAIN, "zstd level when recompressing with zstd."),
    TK("preallocate", CONFIG_BOOL, "false", "log.preallocate", TCFG_CHECK_NONE, 0, 0, NULL, D_PLAIN,
       "Whether new segment files are preallocated on disk."),
    TK("message.timestamp.type", CONFIG_STRING, "CreateTime", "log.message.timestamp.type",
       TCFG_CHECK_CHOICE, 0, 0, "CreateTime,LogAppendTime", D_PLAIN,
       "Whether record timestamps are the producer's (CreateTime) or the broker's."),
    TK("message.timestamp.before.max.ms", CONFIG_LONG, "9223372036854775807",
       "log.message.timestamp.before.max.ms", TCFG_CHECK_RANGE, 0, I64MAX, NULL, D_PLAIN,
       "How far in the past a CreateTime timestamp may be."),
    TK("message.timestamp.after.max.ms", CONFIG_LONG, "3600000",
       "log.message.timestamp.after.max.ms", TCFG_CHECK_RANGE, 0, I64MAX, NULL, D_PLAIN,
       "How far in the future a CreateTime timestamp may be."),
    TK("leader.replication.throttled.replicas", CONFIG_LIST, "", NULL, TCFG_CHECK_THROTTLED, 0, 0,
       NULL, D_PLAIN, "Replicas (partition:broker, or *) throttled on the leader side."),
    TK("follower.replication.throttled.replicas", CONFIG_LIST, "", NULL, TCFG_CHECK_THROTTLED, 0, 0,
       NULL, D_PLAIN, "Replicas (partition:broker, or *) throttled on the follower side."),
    TK("remote.storage.enable", CONFIG_BOOL, "false", NULL, TCFG_CHECK_NONE, 0, 0, NULL, D_PLAIN,
       "Whether the topic uses tiered storage (not available in Quire)."),
    TK("local.retention.ms", CONFIG_LONG, "-2", "log.local.retention.ms", TCFG_CHECK_RANGE, -2,
       I64MAX, NULL, D_PLAIN, "Local retention time with tiered storage; -2: retention.ms."),
    TK("local.retention.bytes", CONFIG_LONG, "-2", "log.local.retention.bytes", TCFG_CHECK_RANGE,
       -2, I64MAX, NULL, D_PLAIN, "Local retention size with tiered storage; -2: retention.bytes."),
    TK("remote.log.copy.disable", CONFIG_BOOL, "false", NULL, TCFG_CHECK_NONE, 0, 0, NULL, D_PLAIN,
       "Whether tiered data stops being uploaded and becomes read-only."),
    TK("remote.log.delete.on.disable", CONFIG_BOOL, "false", NULL, TCFG_CHECK_NONE, 0, 0, NULL,
       D_PLAIN, "Whether tiered data is deleted when tiered storage is turned off."),
};

#define TKEY_COUNT ((int)(sizeof(tkeys) / sizeof(tkeys[0])))

int topic_config_key_count(void) { return TKEY_COUNT; }

const struct topic_config_key *topic_config_key_at(int index) {
  if (index < 0 || index >= TKEY_COUNT) return NULL;
  return &tkeys[index].k;
}

static int tkey_index(const char *name) {
  for (int i = 0; i < TKEY_COUNT; i++)
    if (strcmp(tkeys[i].k.name, name) == 0) return i;
  return -1;
}

const struct topic_config_key *topic_config_key_find(const char *name) {
  int i = tkey_index(name);
  return i < 0 ? NULL : &tkeys[i].k;
}

/* ---- Java-like parsing and printing -------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void put(char *buf, size_t size, const char *fmt,
                                                      ...) {
  if (buf == NULL || size == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, size, fmt, ap);
  va_end(ap);
}

/* String.trim: drops characters <= ' ' at both ends. Copies into out (size >= strlen+1). */
static void java_trim(const char *s, char *out, size_t out_size) {
  size_t len = strlen(s);
  const char *b = s, *e = s + len;
  while (b < e && (unsigned char)*b <= ' ') b++;
  while (e > b && (unsigned char)e[-1] <= ' ') e--;
  size_t n = (size_t)(e - b);
  if (n >= out_size) n = out_size - 1;
  memcpy(out, b, n);
  out[n] = '\0';
}

/* Long.parseLong (on an already trimmed string) with a range. */
static bool java_parse_long(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  const char *p = s;
  bool neg = false;
  if (*p == '+' || *p == '-') neg = *p++ == '-';
  if (*p == '\0') return false;
  uint64_t acc = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') return false;
    unsigned d = (unsigned)(*p - '0');
    if (acc > (limit - d) / 10) return false;
    acc = acc * 10 + d;
  }
  int64_t v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

/* Double.parseDouble on a trimmed string: decimal with optional exponent and f/d suffix, NaN,
 * Infinity (hexadecimal floats are not accepted). */
static bool java_parse_double(const char *s, double *out) {
  char tmp[128];
  const char *p = s;
  size_t len = strlen(s);
  if (len == 0 || len >= sizeof(tmp)) return false;
  if (*p == '+' || *p == '-') p++;
  if (strcmp(p, "NaN") == 0 || strcmp(p, "Infinity") == 0) {
    *out = strcmp(p, "NaN") == 0 ? NAN : (s[0] == '-' ? -INFINITY : INFINITY);
    return true;
  }
  int digits = 0;
  while (isdigit((unsigned char)*p)) p++, digits++;
  if (*p == '.') {
    p++;
    while (isdigit((unsigned char)*p)) p++, digits++;
  }
  if (digits == 0) return false;
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (!isdigit((unsigned char)*p)) return false;
    while (isdigit((unsigned char)*p)) p++;
  }
  size_t body = (size_t)(p - s);
  if (*p == 'f' || *p == 'F' || *p == 'd' || *p == 'D') p++;
  if (*p != '\0') return false;
  memcpy(tmp, s, body);
  tmp[body] = '\0';
  *out = strtod(tmp, NULL);
  return true;
}

void config_format_double(double v, char *buf, size_t buf_size) {
  if (isnan(v)) {
    put(buf, buf_size, "NaN");
    return;
  }
  if (isinf(v) || v == 0) {
    put(buf, buf_size, "%s%s", signbit(v) ? "-" : "", isinf(v) ? "Infinity" : "0.0");
    return;
  }
  /* the shortest digits that read back as v */
  char e[40];
  int prec;
  for (prec = 1; prec <= 17; prec++) {
    snprintf(e, sizeof(e), "%.*e", prec - 1, v);
    if (strtod(e, NULL) == v) break;
  }
  char digits[24];
  int nd = 0, exp10 = 0;
  bool neg = e[0] == '-';
  for (const char *q = e + (neg ? 1 : 0); *q != '\0' && *q != 'e'; q++)
    if (isdigit((unsigned char)*q)) digits[nd++] = *q;
  const char *ep = strchr(e, 'e');
  exp10 = ep != NULL ? atoi(ep + 1) : 0;
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = '\0';
  char out[64];
  size_t o = 0;
  if (neg) out[o++] = '-';
  double a = fabs(v);
  if (a >= 1e-3 && a < 1e7) {
    if (exp10 >= 0) {
      for (int i = 0; i <= exp10; i++) out[o++] = i < nd ? digits[i] : '0';
      out[o++] = '.';
      if (nd > exp10 + 1)
        for (int i = exp10 + 1; i < nd; i++) out[o++] = digits[i];
      else
        out[o++] = '0';
    } else {
      out[o++] = '0';
      out[o++] = '.';
      for (int i = 0; i < -exp10 - 1; i++) out[o++] = '0';
      for (int i = 0; i < nd; i++) out[o++] = digits[i];
    }
    out[o] = '\0';
  } else {
    out[o++] = digits[0];
    out[o++] = '.';
    if (nd > 1)
      for (int i = 1; i < nd; i++) out[o++] = digits[i];
    else
      out[o++] = '0';
    snprintf(out + o, sizeof(out) - o, "E%d", exp10);
  }
  put(buf, buf_size, "%s", out);
}

/* Splits a trimmed list value as Kafka does ("\\s*,\\s*", keeping empty items); calls fn on each
 * item. An empty value is the empty list. */
typedef bool (*item_fn)(const char *item, size_t len, void *arg);

static bool list_each(const char *v, item_fn fn, void *arg) {
  if (*v == '\0') return true;
  const char *p = v;
  for (;;) {
    const char *comma = strchr(p, ',');
    const char *e = comma != NULL ? comma : p + strlen(p);
    const char *b = p;
    while (b < e && isspace((unsigned char)*b)) b++;
    while (e > b && isspace((unsigned char)e[-1])) e--;
    if (!fn(b, (size_t)(e - b), arg)) return false;
    if (comma == NULL) return true;
    p = comma + 1;
  }
}

struct list_state {
  const struct topic_config_key *key;
  char *norm;
  size_t norm_size, used;
  char *msg;
  size_t msg_size;
  bool failed, throttled_bad, star;
  int count;
};

static bool choice_has(const char *choices, const char *item, size_t len) {
  const char *c = choices;
  for (;;) {
    const char *comma = strchr(c, ',');
    size_t n = comma != NULL ? (size_t)(comma - c) : strlen(c);
    if (n == len && strncmp(c, item, n) == 0) return true;
    if (comma == NULL) return false;
    c = comma + 1;
  }
}

static bool throttled_item_ok(const char *s, size_t len) {
  /* ([0-9]+:[0-9]+)? */
  if (len == 0) return true;
  size_t i = 0, a = 0, b = 0;
  while (i < len && isdigit((unsigned char)s[i])) i++, a++;
  if (a == 0 || i >= len || s[i] != ':') return false;
  i++;
  while (i < len && isdigit((unsigned char)s[i])) i++, b++;
  return b > 0 && i == len;
}

static bool list_item(const char *item, size_t len, void *arg) {
  struct list_state *ls = arg;
  const struct topic_config_key *k = ls->key;
  if (k->check == TCFG_CHECK_LIST) {
    if (len == 0) {
      put(ls->msg, ls->msg_size, "Configuration '%s' values must not be empty.", k->name);
      ls->failed = true;
      return false;
    }
    if (!choice_has(k->choices, item, len)) {
      char choices[128];
      size_t o = 0;
      for (const char *c = k->choices; *c != '\0' && o + 2 < sizeof(choices); c++) {
        choices[o++] = *c;
        if (*c == ',') choices[o++] = ' ';
      }
      choices[o] = '\0';
      put(ls->msg, ls->msg_size,
          "Invalid value %.*s for configuration %s: String must be one of: %s", (int)len, item,
          k->name, choices);
      ls->failed = true;
      return false;
    }
  } else if (k->check == TCFG_CHECK_THROTTLED) {
    if (!throttled_item_ok(item, len)) ls->throttled_bad = true;
    if (len == 1 && item[0] == '*') ls->star = true;
  }
  if (ls->used + len + 2 > ls->norm_size) {
    put(ls->msg, ls->msg_size, "Invalid value for configuration %s: too long", k->name);
    ls->failed = true;
    return false;
  }
  if (ls->count++ > 0) ls->norm[ls->used++] = ',';
  memcpy(ls->norm + ls->used, item, len);
  ls->used += len;
  ls->norm[ls->used] = '\0';
  return true;
}

/* Checks raw against key k as Kafka's ConfigDef.parse + validator would; on success writes the
 * normalized value to norm. On failure writes Kafka's message to msg and returns false. */
static bool tkey_check(const struct topic_config_key *k, const char *raw, char *norm,
                       size_t norm_size, char *msg, size_t msg_size) {
  char t[VALUE_MAX];
  if (strlen(raw) >= sizeof(t)) {
    put(msg, msg_size, "Invalid value for configuration %s: longer than %d bytes", k->name,
        VALUE_MAX - 1);
    return false;
  }
  java_trim(raw, t, sizeof(t));
  switch (k->type) {
  case CONFIG_INT:
  case CONFIG_LONG:
  case CONFIG_SHORT: {
    int64_t v;
    bool is_int = k->type == CONFIG_INT;
    if (!java_parse_long(t, is_int ? INT32_MIN : INT64_MIN, is_int ? INT32_MAX : INT64_MAX, &v)) {
      put(msg, msg_size, "Invalid value %s for configuration %s: Not a number of type %s", raw,
          k->name, is_int ? "INT" : "LONG");
      return false;
    }
    if (k->check == TCFG_CHECK_RANGE && v < k->min) {
      put(msg, msg_size,
          "Invalid value %" PRId64 " for configuration %s: Value must be at least %" PRId64, v,
          k->name, k->min);
      return false;
    }
    if (k->check == TCFG_CHECK_RANGE && v > k->max) {
      put(msg, msg_size,
          "Invalid value %" PRId64 " for configuration %s: Value must be no more than %" PRId64, v,
          k->name, k->max);
      return false;
    }
    if (k->check == TCFG_CHECK_GZIP_LEVEL && v != -1 && (v < 1 || v > 9)) {
      put(msg, msg_size,
          "Invalid value %" PRId64
          " for configuration %s: Value must be between 1 and 9 or equal to -1",
          v, k->name);
      return false;
    }
    put(norm, norm_size, "%" PRId64, v);
    return true;
  }
  case CONFIG_DOUBLE: {
    double v;
    char d[64];
    if (!java_parse_double(t, &v)) {
      put(msg, msg_size, "Invalid value %s for configuration %s: Not a number of type DOUBLE", raw,
          k->name);
      return false;
    }
    config_format_double(v, d, sizeof(d));
    if (k->check == TCFG_CHECK_RATIO && (v < 0 || v > 1)) {
      put(msg, msg_size, "Invalid value %s for configuration %s: Value must be %s", d, k->name,
          v < 0 ? "at least 0" : "no more than 1");
      return false;
    }
    put(norm, norm_size, "%s", d);
    return true;
  }
  case CONFIG_BOOL:
    if (strcasecmp(t, "true") != 0 && strcasecmp(t, "false") != 0) {
      put(msg, msg_size,
          "Invalid value %s for configuration %s: Expected value to be either true or false", raw,
          k->name);
      return false;
    }
    put(norm, norm_size, "%s", strcasecmp(t, "true") == 0 ? "true" : "false");
    return true;
  case CONFIG_STRING:
    if (k->check == TCFG_CHECK_CHOICE && !choice_has(k->choices, t, strlen(t))) {
      char choices[128];
      size_t o = 0;
      for (const char *c = k->choices; *c != '\0' && o + 2 < sizeof(choices); c++) {
        choices[o++] = *c;
        if (*c == ',') choices[o++] = ' ';
      }
      choices[o] = '\0';
      put(msg, msg_size, "Invalid value %s for configuration %s: String must be one of: %s", t,
          k->name, choices);
      return false;
    }
    put(norm, norm_size, "%s", t);
    return true;
  case CONFIG_LIST: {
    char buf[VALUE_MAX];
    struct list_state ls = {k, buf, sizeof(buf), 0, msg, msg_size, false, false, false, 0};
    buf[0] = '\0';
    if (!list_each(t, list_item, &ls) || ls.failed) return false;
    if (k->check == TCFG_CHECK_THROTTLED && ls.throttled_bad && !(ls.star && ls.count == 1)) {
      /* Kafka prints the parsed list as [a, b] */
      char shown[VALUE_MAX + 8];
      size_t o = 0;
      shown[o++] = '[';
      for (const char *c = buf; *c != '\0' && o + 3 < sizeof(shown); c++) {
        shown[o++] = *c;
        if (*c == ',') shown[o++] = ' ';
      }
      shown[o++] = ']';
      shown[o] = '\0';
      put(msg, msg_size,
          "Invalid value %s for configuration %s: %s must be the literal '*' or a list of "
          "replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...",
          shown, k->name, k->name);
      return false;
    }
    put(norm, norm_size, "%s", buf);
    return true;
  }
  default: put(norm, norm_size, "%s", t); return true;
  }
}

/* ---- effective values ---------------------------------------------------------------------- */

/* The broker's value for topic key i (typed, then printed by the key's own rules). */
static const char *broker_value(const struct config *broker, int i, char *buf, size_t size) {
  const struct tkey *t = &tkeys[i];
  int64_t v;
  switch (t->derive) {
  case D_RETENTION_MS: put(buf, size, "%" PRId64, broker->log_retention_ms); return buf;
  case D_ROLL_MS: put(buf, size, "%" PRId64, broker->log_roll_ms); return buf;
  case D_FLUSH_MS: put(buf, size, "%" PRId64, broker->log_flush_interval_ms); return buf;
  case D_JITTER_MS:
    if (config_get_int64(broker, "log.roll.jitter.ms", &v) != 0) {
      if (config_get_int64(broker, "log.roll.jitter.hours", &v) != 0) v = 0;
      v *= 3600000;
    }
    put(buf, size, "%" PRId64, v);
    return buf;
  case D_PLAIN: break;
  }
  const char *raw = t->k.server_key != NULL ? config_get(broker, t->k.server_key) : NULL;
  if (raw == NULL || !tkey_check(&t->k, raw, buf, size, NULL, 0)) return t->k.kafka_default;
  return buf;
}

/* The last override of key i, or NULL. */
static const char *override_of(const struct config_override *ov, int count, const char *name) {
  const char *v = NULL;
  for (int j = 0; j < count; j++)
    if (ov[j].name != NULL && strcmp(ov[j].name, name) == 0) v = ov[j].value;
  return v;
}

static const char *effective(const struct config *broker, const struct config_override *ov,
                             int count, int i, char *buf, size_t size) {
  const char *o = override_of(ov, count, tkeys[i].k.name);
  if (o != NULL && tkey_check(&tkeys[i].k, o, buf, size, NULL, 0)) return buf;
  return broker_value(broker, i, buf, size);
}

const char *topic_config_value(const struct config *broker, const struct config_override *ov,
                               int count, const char *name, char *buf, size_t buf_size) {
  int i = tkey_index(name);
  if (i < 0) return NULL;
  const char *v = effective(broker, ov, count, i, buf, buf_size);
  if (v != buf) put(buf, buf_size, "%s", v);
  return buf;
}

static int64_t eff_long(const struct config *broker, const struct config_override *ov, int count,
                        const char *name) {
  char buf[VALUE_MAX];
  int64_t v = 0;
  const char *s = topic_config_value(broker, ov, count, name, buf, sizeof(buf));
  if (s != NULL && !java_parse_long(s, INT64_MIN, INT64_MAX, &v)) v = 0;
  return v;
}

static bool eff_bool(const struct config *broker, const struct config_override *ov, int count,
                     const char *name) {
  char buf[VALUE_MAX];
  const char *s = topic_config_value(broker, ov, count, name, buf, sizeof(buf));
  return s != NULL && strcmp(s, "true") == 0;
}

struct policy {
  bool del, compact;
};

static bool policy_item(const char *item, size_t len, void *arg) {
  struct policy *p = arg;
  if (len == 6 && strncmp(item, "delete", 6) == 0) p->del = true;
  if (len == 7 && strncmp(item, "compact", 7) == 0) p->compact = true;
  return true;
}

int topic_config_settings(const struct config *broker, const struct config_override *ov, int count,
                          struct topic_settings *out) {
  char buf[VALUE_MAX];
  memset(out, 0, sizeof(*out));
  struct plog_config *p = &out->plog;
  plog_config_init(p);
  p->segment_bytes = (uint64_t)eff_long(broker, ov, count, "segment.bytes");
  p->segment_ms = eff_long(broker, ov, count, "segment.ms");
  p->index_size_max = (uint64_t)eff_long(broker, ov, count, "segment.index.bytes");
  p->index_interval_bytes = (uint32_t)eff_long(broker, ov, count, "index.interval.bytes");
  p->flush_messages = eff_long(broker, ov, count, "flush.messages"); /* Long.MAX == PLOG_NEVER */
  p->flush_ms = eff_long(broker, ov, count, "flush.ms");
  p->retention_ms = eff_long(broker, ov, count, "retention.ms");
  if (p->retention_ms < 0) p->retention_ms = -1;
  p->retention_bytes = eff_long(broker, ov, count, "retention.bytes");
  if (p->retention_bytes < 0) p->retention_bytes = -1;
  p->max_message_bytes = (uint32_t)eff_long(broker, ov, count, "max.message.bytes");

  static const char *const codecs[] = {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"};
  const char *ct = topic_config_value(broker, ov, count, "compression.type", buf, sizeof(buf));
  for (int i = 0; i < 6; i++)
    if (strcmp(ct, codecs[i]) == 0) out->compression = (enum topic_compression)i;
  out->compression_gzip_level = (int32_t)eff_long(broker, ov, count, "compression.gzip.level");
  out->compression_lz4_level = (int32_t)eff_long(broker, ov, count, "compression.lz4.level");
  out->compression_zstd_level = (int32_t)eff_long(broker, ov, count, "compression.zstd.level");
  const char *tt =
      topic_config_value(broker, ov, count, "message.timestamp.type", buf, sizeof(buf));
  out->log_append_time = strcmp(tt, "LogAppendTime") == 0;
  out->timestamp_before_max_ms = eff_long(broker, ov, count, "message.timestamp.before.max.ms");
  out->timestamp_after_max_ms = eff_long(broker, ov, count, "message.timestamp.after.max.ms");
  struct policy pol = {false, false};
  list_each(topic_config_value(broker, ov, count, "cleanup.policy", buf, sizeof(buf)), policy_item,
            &pol);
  out->cleanup_delete = pol.del;
  out->cleanup_compact = pol.compact;
  if (!pol.del) p->retention_ms = p->retention_bytes = -1; /* only the log start deletes */
  out->min_insync_replicas = (int32_t)eff_long(broker, ov, count, "min.insync.replicas");
  out->unclean_leader_election = eff_bool(broker, ov, count, "unclean.leader.election.enable");
  out->preallocate = eff_bool(broker, ov, count, "preallocate");
  out->segment_jitter_ms = eff_long(broker, ov, count, "segment.jitter.ms");
  out->delete_retention_ms = eff_long(broker, ov, count, "delete.retention.ms");
  out->min_compaction_lag_ms = eff_long(broker, ov, count, "min.compaction.lag.ms");
  out->max_compaction_lag_ms = eff_long(broker, ov, count, "max.compaction.lag.ms");
  /* a compacted log rolls by max.compaction.lag.ms too, so its records get to be cleaned */
  if (pol.compact && out->max_compaction_lag_ms > 0 && out->max_compaction_lag_ms < p->segment_ms)
    p->segment_ms = out->max_compaction_lag_ms;
  out->min_cleanable_dirty_ratio = strtod(
      topic_config_value(broker, ov, count, "min.cleanable.dirty.ratio", buf, sizeof(buf)), NULL);
  out->file_delete_delay_ms = eff_long(broker, ov, count, "file.delete.delay.ms");
  return 0;
}

/* ---- validation ---------------------------------------------------------------------------- */

/* Appends name to a ", "- or ","-separated list in buf. */
static void list_add(char *buf, size_t size, const char *sep, const char *name) {
  size_t used = strlen(buf);
  if (used >= size - 1) return;
  snprintf(buf + used, size - used, "%s%s", used > 0 ? sep : "", name);
}

int16_t topic_config_validate(const struct config *broker, const struct config_override *ov,
                              int count, char *msg, size_t msg_size) {
  char nulls[512] = "";
  put(msg, msg_size, "%s", "");
  for (int j = 0; j < count; j++)
    if (ov[j].value == NULL) list_add(nulls, sizeof(nulls), ",", ov[j].name ? ov[j].name : "null");
  if (nulls[0] != '\0') {
    put(msg, msg_size, "Null value not supported for topic configs: %s", nulls);
    return ERR_INVALID_CONFIG;
  }
  for (int j = 0; j < count; j++) {
    if (ov[j].name == NULL || tkey_index(ov[j].name) < 0) {
      put(msg, msg_size, "Unknown topic config name: %s", ov[j].name ? ov[j].name : "null");
      return ERR_INVALID_CONFIG;
    }
  }
  char norm[VALUE_MAX];
  for (int i = 0; i < TKEY_COUNT; i++) {
    const char *o = override_of(ov, count, tkeys[i].k.name);
    if (o != NULL && !tkey_check(&tkeys[i].k, o, norm, sizeof(norm), msg, msg_size))
      return ERR_INVALID_CONFIG;
  }
  int64_t min_lag = eff_long(broker, ov, count, "min.compaction.lag.ms");
  int64_t max_lag = eff_long(broker, ov, count, "max.compaction.lag.ms");
  if (min_lag > max_lag) {
    put(msg, msg_size,
        "conflict topic config setting min.compaction.lag.ms (%" PRId64
        ") > max.compaction.lag.ms (%" PRId64 ")",
        min_lag, max_lag);
    return ERR_INVALID_CONFIG;
  }
  if (eff_bool(broker, ov, count, "remote.storage.enable")) {
    put(msg, msg_size,
        "Tiered Storage functionality is disabled in the broker. Topic cannot be "
        "configured with remote log storage.");
    return ERR_INVALID_CONFIG;
  }
  return ERR_NONE;
}

static int16_t alter_request_check(const char *const *names, const char *const *values,
                                   const int8_t *ops, int count, char *msg, size_t msg_size) {
  for (int a = 0; a < count; a++)
    for (int b = a + 1; b < count; b++)
      if (names[a] != NULL && names[b] != NULL && strcmp(names[a], names[b]) == 0) {
        put(msg, msg_size, "Error due to duplicate config keys");
        return ERR_INVALID_REQUEST;
      }
  char nulls[512] = "";
  for (int j = 0; j < count; j++)
    if (values[j] == NULL && (ops == NULL || ops[j] != CONFIG_OP_DELETE))
      list_add(nulls, sizeof(nulls), ", ", names[j] ? names[j] : "null");
  if (nulls[0] != '\0') {
    put(msg, msg_size, "Null value not supported for : %s", nulls);
    return ERR_INVALID_REQUEST;
  }
  for (int j = 0; ops != NULL && j < count; j++)
    if (ops[j] < CONFIG_OP_SET || ops[j] > CONFIG_OP_SUBTRACT) {
      put(msg, msg_size, "Unknown operations type %d", ops[j]);
      return ERR_INVALID_REQUEST;
    }
  return ERR_NONE;
}

int16_t topic_config_alter_legacy(const struct config *broker, const struct config_override *ov,
                                  int count, char *msg, size_t msg_size) {
  const char **names = calloc((size_t)count + 1, sizeof(char *));
  const char **values = calloc((size_t)count + 1, sizeof(char *));
  int16_t rc = ERR_NONE;
  if (names == NULL || values == NULL) {
    put(msg, msg_size, "out of memory");
    rc = ERR_UNKNOWN_SERVER_ERROR;
    goto done;
  }
  for (int j = 0; j < count; j++) names[j] = ov[j].name, values[j] = ov[j].value;
  rc = alter_request_check(names, values, NULL, count, msg, msg_size);
  if (rc == ERR_NONE) rc = topic_config_validate(broker, ov, count, msg, msg_size);
done:
  free(names);
  free(values);
  return rc;
}

static char *arena_strdup(struct wire_arena *a, const char *s) {
  if (s == NULL) return NULL;
  size_t n = strlen(s);
  char *d = wire_arena_alloc(a, n + 1);
  if (d != NULL) memcpy(d, s, n + 1);
  return d;
}

/* Java's String.split(","): trailing empty strings dropped, but "" gives one empty string. */
struct parts {
  char items[64][VALUE_MAX / 8];
  int count;
};

static bool parts_split(const char *v, bool keep_empty_middle, struct parts *p) {
  p->count = 0;
  const char *s = v;
  for (;;) {
    const char *comma = strchr(s, ',');
    size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);
    if (p->count >= 64 || n >= sizeof(p->items[0])) return false;
    memcpy(p->items[p->count], s, n);
    p->items[p->count][n] = '\0';
    if (keep_empty_middle || n > 0) p->count++;
    if (comma == NULL) break;
    s = comma + 1;
  }
  if (keep_empty_middle) {
    while (p->count > 1 && p->items[p->count - 1][0] == '\0') p->count--;
  }
  return true;
}

int16_t topic_config_alter_incremental(const struct config *broker,
                                       const struct config_override *current, int current_count,
                                       const struct config_alter_op *ops, int op_count,
                                       struct wire_arena *arena, struct config_override **out,
                                       int *out_count, char *msg, size_t msg_size) {
  int16_t rc = ERR_NONE;
  const char **names = calloc((size_t)op_count + 1, sizeof(char *));
  const char **values = calloc((size_t)op_count + 1, sizeof(char *));
  int8_t *types = calloc((size_t)op_count + 1, 1);
  int cap = current_count + op_count;
  struct config_override *work = wire_arena_alloc_array(arena, (size_t)cap + 1, sizeof(*work));
  struct parts *old = malloc(sizeof(*old)), *add = malloc(sizeof(*add));
  int n = 0;
  *out = NULL;
  *out_count = 0;
  put(msg, msg_size, "%s", "");
  if (names == NULL || values == NULL || types == NULL || work == NULL || old == NULL ||
      add == NULL) {
    put(msg, msg_size, "out of memory");
    rc = ERR_UNKNOWN_SERVER_ERROR;
    goto done;
  }
  for (int j = 0; j < op_count; j++)
    names[j] = ops[j].name, values[j] = ops[j].value, types[j] = ops[j].op;
  rc = alter_request_check(names, values, types, op_count, msg, msg_size);
  if (rc != ERR_NONE) goto done;

  for (int j = 0; j < current_count; j++) work[n++] = current[j];
  for (int j = 0; j < op_count; j++) {
    const struct config_alter_op *op = &ops[j];
    int at = -1;
    for (int w = 0; w < n; w++)
      if (strcmp(work[w].name, op->name) == 0) at = w;
    const char *new_value = at >= 0 ? work[at].value : NULL;
    switch (op->op) {
    case CONFIG_OP_SET: new_value = op->value; break;
    case CONFIG_OP_DELETE: new_value = NULL; break;
    default: {
      const struct topic_config_key *k = topic_config_key_find(op->name);
      if (k == NULL || k->type != CONFIG_LIST) {
        put(msg, msg_size, "Can't %s to key %s because its type is not LIST.",
            op->op == CONFIG_OP_APPEND ? "APPEND" : "SUBTRACT", op->name);
        rc = ERR_INVALID_CONFIG;
        goto done;
      }
      if (!parts_split(new_value != NULL ? new_value : k->kafka_default, false, old) ||
          !parts_split(op->value, true, add)) {
        put(msg, msg_size,
            "Invalid value for configuration %s: more than 64 items or an item "
            "longer than 127 bytes",
            op->name);
        rc = ERR_INVALID_CONFIG;
        goto done;
      }
      for (int a = 0; a < add->count; a++) {
        int found = -1;
        for (int o = 0; o < old->count; o++)
          if (strcmp(old->items[o], add->items[a]) == 0) {
            found = o;
            break;
          }
        if (op->op == CONFIG_OP_APPEND && found < 0) {
          if (old->count >= 64) {
            put(msg, msg_size, "Invalid value for configuration %s: more than 64 items", op->name);
            rc = ERR_INVALID_CONFIG;
            goto done;
          }
          memcpy(old->items[old->count++], add->items[a], sizeof(add->items[a]));
        } else if (op->op == CONFIG_OP_SUBTRACT && found >= 0) {
          memmove(old->items[found], old->items[found + 1],
                  (size_t)(old->count - found - 1) * sizeof(old->items[0]));
          old->count--;
        }
      }
      char joined[VALUE_MAX] = "";
      for (int o = 0; o < old->count; o++) list_add(joined, sizeof(joined), ",", old->items[o]);
      new_value = arena_strdup(arena, joined);
      if (new_value == NULL) {
        put(msg, msg_size, "out of memory");
        rc = ERR_UNKNOWN_SERVER_ERROR;
        goto done;
      }
      break;
    }
    }
    if (new_value == NULL) {
      if (at >= 0) {
        memmove(&work[at], &work[at + 1], (size_t)(n - at - 1) * sizeof(work[0]));
        n--;
      }
    } else if (at >= 0) {
      work[at].value = new_value;
    } else {
      work[n].name = op->name;
      work[n].value = new_value;
      n++;
    }
  }
  rc = topic_config_validate(broker, work, n, msg, msg_size);
  if (rc == ERR_NONE) {
    *out = work;
    *out_count = n;
  }
done:
  free(names);
  free(values);
  free(types);
  free(old);
  free(add);
  return rc;
}

/* ---- alter: BROKER resources (KIP-226) ------------------------------------------------------ */

/* Kafka's ConfigAdminManager.validateResourceNameIsCurrentNodeId; "" is the cluster default. */
static int16_t broker_alter_name_check(const struct config *broker, const char *name,
                                       bool *cluster_default, char *msg, size_t msg_size) {
  int64_t id;
  *cluster_default = name == NULL || name[0] == '\0';
  if (*cluster_default) return ERR_NONE;
  if (!java_parse_long(name, INT32_MIN, INT32_MAX, &id)) {
    put(msg, msg_size, "Node id must be an integer, but it is: %s", name);
    return ERR_INVALID_REQUEST;
  }
  if (id != broker->node_id) {
    put(msg, msg_size, "Unexpected broker id, expected %d, but received %s", broker->node_id, name);
    return ERR_INVALID_REQUEST;
  }
  return ERR_NONE;
}

/* The names of set for which pick is true, as Java prints a set ("[a, b]"), after prefix and
 * ": "; returns whether there was any. */
static bool names_refused(const struct config_override *set, int n, bool (*pick)(const char *),
                          const char *prefix, char *msg, size_t msg_size) {
  char list[512] = "";
  for (int i = 0; i < n; i++)
    if (pick(set[i].name)) list_add(list, sizeof(list), ", ", set[i].name);
  if (list[0] == '\0') return false;
  put(msg, msg_size, "%s: [%s]", prefix, list);
  return true;
}

static bool key_not_dynamic(const char *name) {
  const struct config_key *k = config_key_find(name);
  return k != NULL && k->dynamic == CONFIG_READ_ONLY;
}

/* SslConfigs.RECONFIGURABLE_CONFIGS: dynamic only with a listener.name.<l>. prefix. */
static bool key_security_unprefixed(const char *name) {
  static const char *const keys[] = {"ssl.keystore.type",       "ssl.keystore.location",
                                     "ssl.keystore.password",   "ssl.key.password",
                                     "ssl.truststore.type",     "ssl.truststore.location",
                                     "ssl.truststore.password", "ssl.keystore.certificate.chain",
                                     "ssl.keystore.key",        "ssl.truststore.certificates"};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    if (strcmp(name, keys[i]) == 0) return true;
  return false;
}

static bool key_not_runtime(const char *name) { return !config_key_runtime_ok(name); }

/* One broker value as Kafka's ConfigDef parses it (ConfigException messages), then Quire's own
 * checks of the key (config_value_check). */
static bool broker_value_check(const struct config_key *k, const char *name, const char *raw,
                               char *msg, size_t msg_size) {
  char t[VALUE_MAX], err[512];
  if (strlen(raw) >= sizeof(t)) {
    put(msg, msg_size, "Invalid value for configuration %s: longer than %d bytes", name,
        VALUE_MAX - 1);
    return false;
  }
  java_trim(raw, t, sizeof(t));
  switch (k->type) {
  case CONFIG_INT:
  case CONFIG_LONG:
  case CONFIG_SHORT: {
    int64_t v, lo = INT64_MIN, hi = INT64_MAX;
    const char *type_name = "LONG";
    if (k->type == CONFIG_INT) lo = INT32_MIN, hi = INT32_MAX, type_name = "INT";
    if (k->type == CONFIG_SHORT) lo = INT16_MIN, hi = INT16_MAX, type_name = "SHORT";
    if (!java_parse_long(t, lo, hi, &v)) {
      put(msg, msg_size, "Invalid value %s for configuration %s: Not a number of type %s", raw,
          name, type_name);
      return false;
    }
    if (v < k->min || v > k->max) {
      put(msg, msg_size,
          "Invalid value %" PRId64 " for configuration %s: Value must be %s %" PRId64, v, name,
          v < k->min ? "at least" : "no more than", v < k->min ? k->min : k->max);
      return false;
    }
    return true;
  }
  case CONFIG_DOUBLE: {
    double d;
    if (!java_parse_double(t, &d)) {
      put(msg, msg_size, "Invalid value %s for configuration %s: Not a number of type DOUBLE", raw,
          name);
      return false;
    }
    return true;
  }
  case CONFIG_BOOL:
    if (strcasecmp(t, "true") != 0 && strcasecmp(t, "false") != 0) {
      put(msg, msg_size,
          "Invalid value %s for configuration %s: Expected value to be either true or false", raw,
          name);
      return false;
    }
    return true;
  default: break;
  }
  if (config_value_check(k, t, err, sizeof(err)) == 0) return true;
  if (k->choices != NULL && (k->type == CONFIG_STRING || k->type == CONFIG_LIST)) {
    char choices[256];
    size_t o = 0;
    for (const char *c = k->choices; *c != '\0' && o + 2 < sizeof(choices); c++) {
      choices[o++] = *c;
      if (*c == ',') choices[o++] = ' ';
    }
    choices[o] = '\0';
    put(msg, msg_size, "Invalid value %s for configuration %s: String must be one of: %s", t, name,
        choices);
  } else {
    put(msg, msg_size, "%s", err);
  }
  return false;
}

/* A config_entries layer as config_override items (malloc'd; *n its count). */
static struct config_override *layer_items(const struct config_entries *l, int *n) {
  struct config_override *ov = calloc((size_t)l->count + 1, sizeof(*ov));
  if (ov == NULL) return NULL;
  for (int i = 0; i < l->count; i++) ov[i] = (struct config_override){l->keys[i], l->values[i]};
  *n = l->count;
  return ov;
}

/* DynamicBrokerConfig.validateConfigs on the resource's complete new set (read-only keys, TLS
 * keys without a listener prefix, values, per-broker keys among the cluster defaults), then
 * Quire's refusal of keys it cannot apply at run time, then the effective configuration the set
 * gives (Kafka builds a KafkaConfig from it). Every failure is INVALID_REQUEST (Kafka turns the
 * ConfigException into InvalidRequestException, KAFKA-13609). */
static int16_t broker_set_validate(const struct config *broker, bool cluster_default,
                                   const struct config_override *set, int n, char *msg,
                                   size_t msg_size) {
  if (names_refused(set, n, key_not_dynamic, "Cannot update these configs dynamically", msg,
                    msg_size) ||
      names_refused(set, n, key_security_unprefixed,
                    "These security configs can be dynamically updated only per-listener using "
                    "the listener prefix",
                    msg, msg_size))
    return ERR_INVALID_REQUEST;
  for (int i = 0; i < n; i++) {
    const char *base = set[i].name;
    if (strncmp(base, "listener.name.", 14) == 0 && strchr(base + 14, '.') != NULL)
      base = strchr(base + 14, '.') + 1;
    const struct config_key *k = config_key_find(base);
    if (k != NULL && !broker_value_check(k, base, set[i].value, msg, msg_size))
      return ERR_INVALID_REQUEST;
  }
  if ((cluster_default &&
       names_refused(set, n, config_key_per_broker,
                     "Cannot update these configs at default cluster level, broker id must be "
                     "specified",
                     msg, msg_size)) ||
      names_refused(set, n, key_not_runtime,
                    "Quire cannot apply these configs at run time, set them in the properties "
                    "file",
                    msg, msg_size))
    return ERR_INVALID_REQUEST;

  int other_count = 0;
  struct config_override *other = layer_items(
      cluster_default ? &broker->dynamic_broker : &broker->dynamic_default, &other_count);
  if (other == NULL) {
    put(msg, msg_size, "out of memory");
    return ERR_UNKNOWN_SERVER_ERROR;
  }
  struct config tmp;
  char err[1024];
  int rc = cluster_default
               ? config_load_dynamic(&tmp, broker, set, n, other, other_count, err, sizeof(err))
               : config_load_dynamic(&tmp, broker, other, other_count, set, n, err, sizeof(err));
  free(other);
  if (rc != 0) {
    put(msg, msg_size, "%s", err);
    return ERR_INVALID_REQUEST;
  }
  config_free(&tmp);
  return ERR_NONE;
}

int16_t config_broker_alter_legacy(const struct config *broker, const char *resource_name,
                                   const struct config_override *ov, int count, char *msg,
                                   size_t msg_size) {
  const char **names = calloc((size_t)count + 1, sizeof(char *));
  const char **values = calloc((size_t)count + 1, sizeof(char *));
  int16_t rc = ERR_NONE;
  bool cluster_default;
  put(msg, msg_size, "%s", "");
  if (names == NULL || values == NULL) {
    put(msg, msg_size, "out of memory");
    rc = ERR_UNKNOWN_SERVER_ERROR;
    goto done;
  }
  for (int j = 0; j < count; j++) names[j] = ov[j].name, values[j] = ov[j].value;
  rc = alter_request_check(names, values, NULL, count, msg, msg_size);
  if (rc == ERR_NONE)
    rc = broker_alter_name_check(broker, resource_name, &cluster_default, msg, msg_size);
  if (rc == ERR_NONE) rc = broker_set_validate(broker, cluster_default, ov, count, msg, msg_size);
done:
  free(names);
  free(values);
  return rc;
}

/* A list key's current items for APPEND / SUBTRACT: the resource's value, else the key's
 * default (Kafka: ConfigDef.convertToString of the default). */
static const char *list_start(const struct config_key *k, const char *current) {
  if (current != NULL) return current;
  return k->default_value != NULL ? k->default_value : NULL;
}

int16_t config_broker_alter_incremental(const struct config *broker, const char *resource_name,
                                        const struct config_override *current, int current_count,
                                        const struct config_alter_op *ops, int op_count,
                                        struct wire_arena *arena, struct config_override **out,
                                        int *out_count, char *msg, size_t msg_size) {
  int16_t rc = ERR_NONE;
  const char **names = calloc((size_t)op_count + 1, sizeof(char *));
  const char **values = calloc((size_t)op_count + 1, sizeof(char *));
  int8_t *types = calloc((size_t)op_count + 1, 1);
  struct config_override *work =
      wire_arena_alloc_array(arena, (size_t)(current_count + op_count) + 1, sizeof(*work));
  struct parts *old = malloc(sizeof(*old)), *add = malloc(sizeof(*add));
  bool cluster_default;
  int n = 0;
  *out = NULL;
  *out_count = 0;
  put(msg, msg_size, "%s", "");
  if (names == NULL || values == NULL || types == NULL || work == NULL || old == NULL ||
      add == NULL) {
    put(msg, msg_size, "out of memory");
    rc = ERR_UNKNOWN_SERVER_ERROR;
    goto done;
  }
  /* Kafka's order: duplicate keys, null values, the resource name, then unknown operations */
  for (int j = 0; j < op_count; j++) {
    names[j] = ops[j].name, values[j] = ops[j].value;
    types[j] = ops[j].op >= CONFIG_OP_SET && ops[j].op <= CONFIG_OP_SUBTRACT ? ops[j].op : 0;
  }
  rc = alter_request_check(names, values, types, op_count, msg, msg_size);
  if (rc == ERR_NONE)
    rc = broker_alter_name_check(broker, resource_name, &cluster_default, msg, msg_size);
  for (int j = 0; rc == ERR_NONE && j < op_count; j++) {
    if (ops[j].op < CONFIG_OP_SET || ops[j].op > CONFIG_OP_SUBTRACT) {
      put(msg, msg_size, "Unknown operations type %d", ops[j].op);
      rc = ERR_INVALID_REQUEST;
    }
  }
  if (rc != ERR_NONE) goto done;

  /* ConfigAdminManager.prepareIncrementalConfigs over the resource's stored values */
  for (int j = 0; j < current_count; j++) work[n++] = current[j];
  for (int j = 0; j < op_count; j++) {
    const struct config_alter_op *op = &ops[j];
    int at = -1;
    for (int w = 0; w < n; w++)
      if (strcmp(work[w].name, op->name) == 0) at = w;
    const char *new_value = NULL;
    if (op->op == CONFIG_OP_SET) {
      new_value = op->value;
    } else if (op->op == CONFIG_OP_APPEND || op->op == CONFIG_OP_SUBTRACT) {
      bool append = op->op == CONFIG_OP_APPEND;
      const struct config_key *k = config_key_find(op->name);
      if (k == NULL) { /* Kafka: configKeys(name) throws NoSuchElementException */
        rc = ERR_UNKNOWN_SERVER_ERROR;
        goto done;
      }
      if (k->type != CONFIG_LIST && k->type != CONFIG_LISTENERS) {
        put(msg, msg_size, "Config value %s is not allowed for config key: %s",
            append ? "append" : "subtract", op->name);
        rc = ERR_INVALID_CONFIG;
        goto done;
      }
      const char *start = list_start(k, at >= 0 ? work[at].value : NULL);
      old->count = 0;
      bool fits = true;
      if (append) {
        if (start != NULL && start[0] != '\0') fits = parts_split(start, true, old);
      } else {
        fits = parts_split(start != NULL ? start : "", true, old);
      }
      if (!fits || !parts_split(op->value, true, add)) {
        put(msg, msg_size,
            "Invalid value for configuration %s: more than 64 items or an item "
            "longer than 127 bytes",
            op->name);
        rc = ERR_INVALID_REQUEST;
        goto done;
      }
      if (append) {
        int old_count = old->count;
        for (int a = 0; a < add->count; a++) {
          bool present = false;
          for (int o = 0; o < old_count; o++)
            present = present || strcmp(old->items[o], add->items[a]) == 0;
          if (present) continue;
          if (old->count >= 64) {
            put(msg, msg_size, "Invalid value for configuration %s: more than 64 items", op->name);
            rc = ERR_INVALID_REQUEST;
            goto done;
          }
          memcpy(old->items[old->count++], add->items[a], sizeof(add->items[a]));
        }
      } else { /* Scala's List.diff: one occurrence removed per item */
        for (int a = 0; a < add->count; a++) {
          for (int o = 0; o < old->count; o++) {
            if (strcmp(old->items[o], add->items[a]) != 0) continue;
            memmove(old->items[o], old->items[o + 1],
                    (size_t)(old->count - o - 1) * sizeof(old->items[0]));
            old->count--;
            break;
          }
        }
      }
      char joined[VALUE_MAX] = "";
      for (int o = 0; o < old->count; o++) {
        size_t used = strlen(joined);
        snprintf(joined + used, sizeof(joined) - used, "%s%s", o > 0 ? "," : "", old->items[o]);
      }
      if ((new_value = arena_strdup(arena, joined)) == NULL) {
        put(msg, msg_size, "out of memory");
        rc = ERR_UNKNOWN_SERVER_ERROR;
        goto done;
      }
    }
    if (new_value == NULL) { /* DELETE */
      if (at >= 0) {
        memmove(&work[at], &work[at + 1], (size_t)(n - at - 1) * sizeof(work[0]));
        n--;
      }
    } else if (at >= 0) {
      work[at].value = new_value;
    } else {
      work[n++] = (struct config_override){op->name, new_value};
    }
  }
  rc = broker_set_validate(broker, cluster_default, work, n, msg, msg_size);
  if (rc == ERR_NONE) {
    *out = work;
    *out_count = n;
  }
done:
  free(names);
  free(values);
  free(types);
  free(old);
  free(add);
  return rc;
}

/* ---- alter: BROKER_LOGGER (KIP-412) ---------------------------------------------------------- */

int16_t config_broker_logger_alter_check(const struct config *broker, const char *resource_name,
                                         const struct config_alter_op *ops, int op_count, char *msg,
                                         size_t msg_size) {
  const char **names = calloc((size_t)op_count + 1, sizeof(char *));
  const char **values = calloc((size_t)op_count + 1, sizeof(char *));
  int8_t *types = calloc((size_t)op_count + 1, 1);
  int16_t rc = ERR_NONE;
  int64_t id;
  put(msg, msg_size, "%s", "");
  if (names == NULL || values == NULL || types == NULL) {
    put(msg, msg_size, "out of memory");
    rc = ERR_UNKNOWN_SERVER_ERROR;
    goto done;
  }
  for (int j = 0; j < op_count; j++) {
    names[j] = ops[j].name, values[j] = ops[j].value;
    types[j] = ops[j].op >= CONFIG_OP_SET && ops[j].op <= CONFIG_OP_SUBTRACT ? ops[j].op : 0;
  }
  rc = alter_request_check(names, values, types, op_count, msg, msg_size);
  if (rc != ERR_NONE) goto done;
  /* RuntimeLoggerManager.validateResourceNameIsNodeId (its message repeats the node id) */
  if (resource_name == NULL || !java_parse_long(resource_name, INT32_MIN, INT32_MAX, &id)) {
    put(msg, msg_size, "Node id must be an integer, but it is: %s",
        resource_name != NULL ? resource_name : "null");
    rc = ERR_INVALID_REQUEST;
    goto done;
  }
  if (id != broker->node_id) {
    put(msg, msg_size, "Unexpected node id. Expected %d, but received %d", broker->node_id,
        broker->node_id);
    rc = ERR_INVALID_REQUEST;
    goto done;
  }
  for (int j = 0; j < op_count; j++) {
    const struct config_alter_op *op = &ops[j];
    bool known = strcmp(op->name, "root") == 0; /* Quire's one logger */
    switch (op->op) {
    case CONFIG_OP_SET:
    case CONFIG_OP_DELETE:
      if (!known) {
        put(msg, msg_size, "Logger %s does not exist!", op->name);
        rc = ERR_INVALID_CONFIG;
        goto done;
      }
      if (op->op == CONFIG_OP_DELETE) {
        put(msg, msg_size, "Removing the log level of the root logger is not allowed");
        rc = ERR_INVALID_REQUEST;
        goto done;
      }
      if (strcmp(op->value, "FATAL") != 0 && strcmp(op->value, "ERROR") != 0 &&
          strcmp(op->value, "WARN") != 0 && strcmp(op->value, "INFO") != 0 &&
          strcmp(op->value, "DEBUG") != 0 && strcmp(op->value, "TRACE") != 0) {
        put(msg, msg_size,
            "Cannot set the log level of %s to %s as it is not a supported log level. Valid log "
            "levels are DEBUG, ERROR, FATAL, INFO, TRACE, WARN",
            op->name, op->value);
        rc = ERR_INVALID_CONFIG;
        goto done;
      }
      break;
    case CONFIG_OP_APPEND:
    case CONFIG_OP_SUBTRACT:
      put(msg, msg_size, "%s operation is not allowed for the BROKER_LOGGER resource",
          op->op == CONFIG_OP_APPEND ? "APPEND" : "SUBTRACT");
      rc = ERR_INVALID_REQUEST;
      goto done;
    default:
      put(msg, msg_size, "Unknown operation type %d is not allowed for the BROKER_LOGGER resource",
          op->op);
      rc = ERR_INVALID_REQUEST;
      goto done;
    }
  }
done:
  free(names);
  free(values);
  free(types);
  return rc;
}

/* ---- DescribeConfigs ----------------------------------------------------------------------- */

static bool wanted(const struct config_describe_args *args, const char *name) {
  if (args == NULL || args->keys == NULL || args->key_count == 0) return true;
  for (int i = 0; i < args->key_count; i++)
    if (args->keys[i] != NULL && strcmp(args->keys[i], name) == 0) return true;
  return false;
}

/* Kafka's ConfigHelper.configSynonyms for a broker key: for each synonym name its per-broker
 * dynamic value (DYNAMIC_BROKER_CONFIG), then for each its cluster-wide dynamic default
 * (DYNAMIC_DEFAULT_BROKER_CONFIG), then STATIC_BROKER_CONFIG (the file), then DEFAULT_CONFIG
 * (non-null defaults); then everything before the first entry named `name` dropped. For the
 * cluster-default resource (per_broker false) only the DYNAMIC_DEFAULT_BROKER_CONFIG ones stay.
 * Fills syn (capacity SYNONYMS_MAX); returns the count. */
#define SYNONYMS_MAX (4 * CONFIG_SYNONYMS_MAX)
static int broker_synonyms(const struct config *broker, const char *name, bool sensitive,
                           bool per_broker, struct config_synonym *syn) {
  static const struct {
    enum config_layer layer;
    int8_t source;
  } layers[] = {
      {CONFIG_LAYER_DYNAMIC_BROKER, CONFIG_SOURCE_DYNAMIC_BROKER},
      {CONFIG_LAYER_DYNAMIC_DEFAULT, CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER},
      {CONFIG_LAYER_STATIC, CONFIG_SOURCE_STATIC_BROKER},
  };
  const char *names[CONFIG_SYNONYMS_MAX];
  int nn = config_synonym_names(name, names), n = 0;
  for (size_t l = 0; l < sizeof(layers) / sizeof(layers[0]); l++) {
    for (int i = 0; i < nn; i++) {
      const char *v = config_layer_get(broker, layers[l].layer, names[i]);
      if (v != NULL)
        syn[n++] = (struct config_synonym){names[i], sensitive ? NULL : v, layers[l].source};
    }
  }
  for (int i = 0; i < nn; i++) {
    const struct config_key *k = config_key_find(names[i]);
    if (k != NULL && k->default_value != NULL)
      syn[n++] = (struct config_synonym){names[i], sensitive ? NULL : k->default_value,
                                         CONFIG_SOURCE_DEFAULT};
  }
  int first = 0;
  while (first < n && strcmp(syn[first].name, name) != 0) first++;
  int kept = 0;
  for (int i = first; i < n; i++)
    if (per_broker || syn[i].source == CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER) syn[kept++] = syn[i];
  return kept;
}

static int finish_entry(struct config_entry *e, const struct config_synonym *syn, int n,
                        const struct config_describe_args *args, const char *doc,
                        struct wire_arena *arena) {
  e->source = n > 0 ? syn[0].source : CONFIG_SOURCE_DEFAULT;
  e->doc = args != NULL && args->include_documentation ? doc : NULL;
  if (args != NULL && args->include_synonyms && n > 0) {
    e->synonyms = wire_arena_alloc_array(arena, (size_t)n, sizeof(*e->synonyms));
    if (e->synonyms == NULL) return -1;
    for (int i = 0; i < n; i++) {
      e->synonyms[i] = syn[i];
      if (syn[i].value != NULL &&
          (e->synonyms[i].value = arena_strdup(arena, syn[i].value)) == NULL)
        return -1;
    }
    e->synonym_count = n;
  }
  return 0;
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int topic_config_describe(const struct config *broker, const struct config_override *ov, int count,
                          const struct config_describe_args *args, struct wire_arena *arena,
                          struct config_entry **out, int *out_count) {
  const char *sorted[TKEY_COUNT];
  for (int i = 0; i < TKEY_COUNT; i++) sorted[i] = tkeys[i].k.name;
  qsort(sorted, TKEY_COUNT, sizeof(sorted[0]), name_cmp);
  struct config_entry *e = wire_arena_alloc_array(arena, TKEY_COUNT, sizeof(*e));
  int n = 0;
  if (e == NULL) return -1;
  for (int s = 0; s < TKEY_COUNT; s++) {
    if (!wanted(args, sorted[s])) continue;
    int i = tkey_index(sorted[s]);
    const struct topic_config_key *k = &tkeys[i].k;
    char buf[VALUE_MAX];
    struct config_synonym syn[1 + SYNONYMS_MAX];
    int ns = 0;
    const char *o = override_of(ov, count, k->name);
    char onorm[VALUE_MAX];
    if (o != NULL && tkey_check(k, o, onorm, sizeof(onorm), NULL, 0))
      syn[ns++] = (struct config_synonym){k->name, onorm, CONFIG_SOURCE_TOPIC};
    if (k->server_key != NULL) ns += broker_synonyms(broker, k->server_key, false, true, syn + ns);
    struct config_entry *en = &e[n++];
    en->name = k->name;
    en->value = arena_strdup(arena, effective(broker, ov, count, i, buf, sizeof(buf)));
    en->read_only = false;
    en->sensitive = false;
    en->type = config_type_id(k->type);
    if (en->value == NULL || finish_entry(en, syn, ns, args, k->doc, arena) != 0) return -1;
  }
  *out = e;
  *out_count = n;
  return 0;
}

/* The broker value of key k as Kafka prints it (ConfigDef.convertToString of the parsed value). */
static const char *broker_key_value(const struct config_key *k, const char *raw, char *buf,
                                    size_t size) {
  if (raw == NULL) return NULL;
  char t[VALUE_MAX];
  java_trim(raw, t, sizeof(t));
  int64_t v;
  double d;
  switch (k->type) {
  case CONFIG_INT:
  case CONFIG_LONG:
  case CONFIG_SHORT:
    if (!java_parse_long(t, INT64_MIN, INT64_MAX, &v)) break;
    put(buf, size, "%" PRId64, v);
    return buf;
  case CONFIG_BOOL: put(buf, size, "%s", strcasecmp(t, "true") == 0 ? "true" : "false"); return buf;
  case CONFIG_DOUBLE:
    if (!java_parse_double(t, &d)) break;
    config_format_double(d, buf, size);
    return buf;
  case CONFIG_LIST:
  case CONFIG_LISTENERS: {
    static const struct topic_config_key plain = {"", CONFIG_LIST, "",   NULL, TCFG_CHECK_NONE,
                                                  0,  0,           NULL, NULL};
    if (tkey_check(&plain, t, buf, size, NULL, 0)) return buf;
    break;
  }
  default: break;
  }
  put(buf, size, "%s", t);
  return buf;
}

int16_t config_broker_resource_check(const struct config *broker, const char *resource_name,
                                     bool *cluster_default, char *msg, size_t msg_size) {
  int64_t id;
  *cluster_default = false;
  if (resource_name == NULL || resource_name[0] == '\0') {
    *cluster_default = true;
    return ERR_NONE;
  }
  if (!java_parse_long(resource_name, INT32_MIN, INT32_MAX, &id)) {
    put(msg, msg_size, "Broker id must be an integer, but it is: %s", resource_name);
    return ERR_INVALID_REQUEST;
  }
  if (id != broker->node_id) {
    put(msg, msg_size, "Unexpected broker id, expected %d or empty string, but received %s",
        broker->node_id, resource_name);
    return ERR_INVALID_REQUEST;
  }
  return ERR_NONE;
}

/* Adds name to names unless it is there already. */
static void name_add_unique(const char **names, int *n, const char *name) {
  for (int i = 0; i < *n; i++)
    if (strcmp(names[i], name) == 0) return;
  names[(*n)++] = name;
}

int config_broker_describe(const struct config *broker, bool cluster_default,
                           const struct config_describe_args *args, struct wire_arena *arena,
                           struct config_entry **out, int *out_count) {
  int total = config_key_count() + broker->entry_count + broker->dynamic_default.count +
              broker->dynamic_broker.count,
      n = 0;
  const char **names = wire_arena_alloc_array(arena, (size_t)total + 1, sizeof(char *));
  struct config_entry *e = wire_arena_alloc_array(arena, (size_t)total + 1, sizeof(*e));
  if (names == NULL || e == NULL) return -1;
  *out = e;
  *out_count = 0;
  int nn = 0;
  if (cluster_default) {
    /* Kafka: the cluster-wide dynamic defaults set, nothing else */
    for (int i = 0; i < broker->dynamic_default.count; i++)
      name_add_unique(names, &nn, broker->dynamic_default.keys[i]);
  } else {
    for (int i = 0; i < config_key_count(); i++) names[nn++] = config_key_at(i)->name;
    for (int i = 0; i < broker->entry_count; i++)
      if (config_key_find(broker->keys[i]) == NULL) name_add_unique(names, &nn, broker->keys[i]);
    const struct config_entries *dyn[] = {&broker->dynamic_default, &broker->dynamic_broker};
    for (int l = 0; l < 2; l++)
      for (int i = 0; i < dyn[l]->count; i++)
        if (config_key_find(dyn[l]->keys[i]) == NULL) name_add_unique(names, &nn, dyn[l]->keys[i]);
  }
  qsort(names, (size_t)nn, sizeof(names[0]), name_cmp);
  for (int s = 0; s < nn; s++) {
    const char *name = names[s];
    if (!wanted(args, name)) continue;
    const struct config_key *k = config_key_find(name);
    if (k == NULL) { /* unknown: typed by its synonyms, else sensitive (Kafka: maybeSensitive) */
      const char *syn_names[CONFIG_SYNONYMS_MAX];
      int sn = config_synonym_names(name, syn_names);
      for (int i = 0; i < sn && k == NULL; i++) k = config_key_find(syn_names[i]);
    }
    bool sensitive = k == NULL || k->type == CONFIG_PASSWORD;
    struct config_entry *en = &e[n++];
    char buf[VALUE_MAX];
    en->name = name;
    en->sensitive = sensitive;
    const struct config_key *own = config_key_find(name);
    en->read_only = own == NULL || own->dynamic == CONFIG_READ_ONLY;
    en->type = k != NULL ? config_type_id(k->type) : 0;
    en->value = NULL;
    /* the cluster-default resource shows its values as stored (Kafka passes the strings) */
    const char *v = NULL;
    if (sensitive)
      v = NULL;
    else if (cluster_default)
      v = config_layer_get(broker, CONFIG_LAYER_DYNAMIC_DEFAULT, name);
    else
      v = broker_key_value(k, config_get(broker, name), buf, sizeof(buf));
    if (v != NULL && (en->value = arena_strdup(arena, v)) == NULL) return -1;
    struct config_synonym syn[SYNONYMS_MAX];
    int ns = broker_synonyms(broker, name, sensitive, !cluster_default, syn);
    if (finish_entry(en, syn, ns, args, own != NULL ? own->doc : NULL, arena) != 0) return -1;
  }
  *out_count = n;
  return 0;
}

int16_t config_broker_logger_describe(const struct config *broker, const char *resource_name,
                                      const struct config_describe_args *args,
                                      struct wire_arena *arena, struct config_entry **out,
                                      int *out_count, char *msg, size_t msg_size) {
  int64_t id;
  *out = NULL;
  *out_count = 0;
  if (resource_name == NULL || resource_name[0] == '\0') {
    put(msg, msg_size, "Broker id must not be empty");
    return ERR_INVALID_REQUEST;
  }
  if (!java_parse_long(resource_name, INT32_MIN, INT32_MAX, &id)) {
    put(msg, msg_size, "Broker id must be an integer, but it is: %s", resource_name);
    return ERR_INVALID_REQUEST;
  }
  if (id != broker->node_id) {
    put(msg, msg_size, "Unexpected broker id, expected %d but received %s", broker->node_id,
        resource_name);
    return ERR_INVALID_REQUEST;
  }
  struct config_entry *e = wire_arena_alloc_array(arena, 1, sizeof(*e));
  if (e == NULL) {
    put(msg, msg_size, "out of memory");
    return ERR_UNKNOWN_SERVER_ERROR;
  }
  *out = e;
  if (!wanted(args, "root")) return ERR_NONE;
  e->name = "root";
  e->value = arena_strdup(arena, broker->log_level);
  e->source = CONFIG_SOURCE_DYNAMIC_BROKER_LOGGER;
  e->type = 0;
  *out_count = 1;
  return ERR_NONE;
}
