/* client-bench: client-side throughput and latency of a Kafka broker (Quire, or the mock cluster
 * that tools/bench-compare runs beside it), measured with librdkafka.
 *
 *   client-bench produce|consume|latency --bootstrap HOST:PORT --topic T
 *       [--create-partitions N] [--count N] [--size B] [--acks 0|1|all]
 *       [--compression none|gzip|snappy|lz4|zstd] [--linger-ms N] [--rate MSGS_PER_S]
 *       [--duration-s S] [--broker-pid PID] [--group G] [--json]
 *       [--producer-prop KEY=VALUE]... [--consumer-prop KEY=VALUE]...
 *
 * produce  sends --count values of --size bytes (keys null, idempotence off) and times each
 *          message from produce() to its delivery report: msgs/s, MB/s and delivery latency
 *          p50/p99/p99.9 over the interval from the first produce() to the last report.
 * consume  reads --count messages from the beginning of every partition (assigned directly; with
 *          --group it subscribes in that group instead) and reports msgs/s and MB/s from the
 *          first message to the last (and, as elapsed_total_s, from the assignment on).
 * latency  one producer (linger 0 unless --linger-ms) and one consumer thread reading the topic
 *          from its end. Each value starts with its send time (CLOCK_MONOTONIC ns) and sequence
 *          number, so --size is at least 16; latency is receive time - send time. Before
 *          measuring, one warm-up message per partition is sent until the consumer has seen
 *          them all (it is connected and positioned). With --rate the producer is paced; without
 *          it produces as fast as it can, which is the "produce and consume together" workload.
 *          msgs/s counts messages received, from the first send to the last receipt.
 *
 * Values are slices of a fixed pseudo-random text (the same in every run) that lz4 and zstd
 * compress about 2x. The producer picks partitions itself, round-robin in runs of 16 KiB of
 * values, so partitions fill evenly. --rate paces the producer in both produce and latency modes;
 * unpaced, delivery latency is mostly time queued in the client. Clients set TCP_NODELAY
 * (socket.nagle.disable), as Kafka's Java client does.
 * --duration-s (default 300) caps the measured interval: the run then stops producing (or
 * consuming) and reports what it did. --create-partitions creates the topic first (CreateTopics,
 * replication factor 1) unless the cluster lists it already; either way the topic must then
 * have N partitions (librdkafka's mock cluster answers no CreateTopics: create topics there with
 * mock-cluster --topic). --broker-pid PID adds the broker's CPU time (utime +
 * stime from /proc/PID/stat) over the measured interval, per million messages, and its peak RSS
 * (VmHWM from /proc/PID/status, the process's lifetime peak) at the end. MB is 10^6 bytes.
 * --producer-prop and --consumer-prop (up to PROPS_MAX each) set librdkafka properties after
 * client-bench's own, which they may override (as the perf tools' --producer-props).
 *
 * Output: human-readable lines on stdout; with --json they go to stderr and stdout carries one
 * JSON object (msgs_per_s, mb_per_s, p50_ms, p99_ms, p999_ms, max_ms, broker_cpu_s,
 * broker_cpu_s_per_mmsg, broker_peak_rss_mb, count, target, errors, ...; null when not measured).
 * Exit status 0; 1 when a message failed, was lost or a step failed; 2 on bad usage. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define NS_PER_S INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)
#define COUNT_MAX 50000000LL
#define SIZE_MAX_BYTES (1 << 20)
#define PARTITION_RUN_BYTES 16384
#define PROPS_MAX 16
#define POOL_SPAN (1 << 20)           /* value i starts somewhere in the first POOL_SPAN bytes */
#define SETUP_TIMEOUT_MS 30000        /* topic creation, metadata, warm-up */
#define DRAIN_TIMEOUT_MS 60000        /* after the measured loop: delivery reports, stragglers */
#define IDLE_TIMEOUT_NS (10 * NS_PER_S) /* consume: nothing new for this long ends the run */
#define LATENCY_HEADER 16             /* send time + sequence number */
#define WARMUP_SEQ UINT64_MAX
#define ERRORS_PRINTED 5

enum mode { MODE_PRODUCE, MODE_CONSUME, MODE_LATENCY };

struct opts {
  enum mode mode;
  const char *bootstrap, *topic, *acks, *compression, *group;
  int create_partitions;
  long long count;
  int size;
  int linger_ms; /* -1: the mode's default */
  double rate;   /* msgs/s; 0: unpaced */
  double duration_s;
  long broker_pid; /* 0: none */
  bool json;
  const char *producer_props[PROPS_MAX], *consumer_props[PROPS_MAX]; /* "key=value" */
  int producer_prop_count, consumer_prop_count;
};

/* Broker resource figures; ok is false when /proc could not be read. */
struct broker_usage {
  bool ok;
  double cpu_s;
  double peak_rss_mb;
};

struct result {
  long long count;  /* messages done (delivered, consumed or received) */
  long long bytes;  /* their values' bytes */
  long long errors; /* failed deliveries, consumer errors, lost messages, step failures */
  double elapsed_s; /* measured interval */
  double elapsed_total_s;
  int64_t *lat;     /* latencies in ns (sorted before reporting), lat_n of them */
  size_t lat_n;
  struct broker_usage broker;
};

/* State shared with librdkafka callbacks and the latency consumer thread. */
struct bench {
  const struct opts *o;
  int partitions;
  char *pool;
  /* producer, touched only from the thread that calls rd_kafka_poll (main) */
  int64_t *send_ns; /* per message index */
  int64_t *dr_lat;
  size_t dr_lat_n;
  long long delivered;
  long long dr_failed; /* failed delivery reports of measured messages */
  long long p_errors;  /* failed produce() calls and delivery reports, warm-up ones included */
  int64_t last_dr_ns;
  /* latency mode: consumer thread writes, main reads after join (or through the atomics) */
  rd_kafka_t *consumer;
  int64_t *e2e; /* per sequence number, -1 until received */
  atomic_llong received, dups, c_errors;
  atomic_int warmed, stop;
  atomic_llong last_recv_ns;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void sleep_until_ns(int64_t t) {
  struct timespec ts = {.tv_sec = (time_t)(t / NS_PER_S), .tv_nsec = (long)(t % NS_PER_S)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static void msg_out(const struct opts *o, const char *line) {
  fprintf(o->json ? stderr : stdout, "%s\n", line);
}

static int usage(void) {
  fprintf(stderr,
          "usage: client-bench produce|consume|latency --bootstrap HOST:PORT --topic T\n"
          "         [--create-partitions N] [--count N] [--size B] [--acks 0|1|all]\n"
          "         [--compression none|gzip|snappy|lz4|zstd] [--linger-ms N]\n"
          "         [--rate MSGS_PER_S] [--duration-s S] [--broker-pid PID] [--group G] [--json]\n"
          "         [--producer-prop KEY=VALUE]... [--consumer-prop KEY=VALUE]...\n"
          "latency without --rate produces and consumes together as fast as it can.\n");
  return 2;
}

static bool parse_ll(const char *s, long long lo, long long hi, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

static bool parse_double(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi))
    return false;
  *out = v;
  return true;
}

static bool one_of(const char *s, const char *const *names) {
  for (; *names != NULL; names++)
    if (strcmp(s, *names) == 0)
      return true;
  return false;
}

/* Keeps a "key=value" property, if there is room and it has a key. */
static bool add_prop(const char *v, const char **props, int *count) {
  const char *eq = strchr(v, '=');
  if (eq == NULL || eq == v || eq - v > 255 || *count == PROPS_MAX)
    return false;
  props[(*count)++] = v;
  return true;
}

/* Returns 0, or 2 after printing what is wrong. */
static int parse_args(int argc, char **argv, struct opts *o) {
  static const char *const acks_names[] = {"0", "1", "all", "-1", NULL};
  static const char *const codec_names[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};
  *o = (struct opts){.acks = "all", .compression = "none", .count = 100000, .size = 100,
                     .linger_ms = -1, .duration_s = 300};
  if (argc < 2)
    return usage();
  if (strcmp(argv[1], "produce") == 0)
    o->mode = MODE_PRODUCE;
  else if (strcmp(argv[1], "consume") == 0)
    o->mode = MODE_CONSUME;
  else if (strcmp(argv[1], "latency") == 0)
    o->mode = MODE_LATENCY;
  else
    return usage();
  for (int i = 2; i < argc; i++) {
    const char *name = argv[i];
    if (strcmp(name, "--json") == 0) {
      o->json = true;
      continue;
    }
    if (i + 1 >= argc)
      return usage();
    const char *v = argv[++i];
    long long n = 0;
    bool ok = true;
    if (strcmp(name, "--bootstrap") == 0)
      o->bootstrap = v;
    else if (strcmp(name, "--topic") == 0)
      o->topic = v;
    else if (strcmp(name, "--group") == 0)
      o->group = v;
    else if (strcmp(name, "--acks") == 0)
      ok = one_of(v, acks_names), o->acks = v;
    else if (strcmp(name, "--compression") == 0)
      ok = one_of(v, codec_names), o->compression = v;
    else if (strcmp(name, "--create-partitions") == 0)
      ok = parse_ll(v, 1, 100000, &n), o->create_partitions = (int)n;
    else if (strcmp(name, "--count") == 0)
      ok = parse_ll(v, 1, COUNT_MAX, &n), o->count = n;
    else if (strcmp(name, "--size") == 0)
      ok = parse_ll(v, 1, SIZE_MAX_BYTES, &n), o->size = (int)n;
    else if (strcmp(name, "--linger-ms") == 0)
      ok = parse_ll(v, 0, 900000, &n), o->linger_ms = (int)n;
    else if (strcmp(name, "--broker-pid") == 0)
      ok = parse_ll(v, 1, 1LL << 31, &n), o->broker_pid = (long)n;
    else if (strcmp(name, "--rate") == 0)
      ok = parse_double(v, 0.001, 1e9, &o->rate);
    else if (strcmp(name, "--duration-s") == 0)
      ok = parse_double(v, 0.001, 1e6, &o->duration_s);
    else if (strcmp(name, "--producer-prop") == 0)
      ok = add_prop(v, o->producer_props, &o->producer_prop_count);
    else if (strcmp(name, "--consumer-prop") == 0)
      ok = add_prop(v, o->consumer_props, &o->consumer_prop_count);
    else
      return usage();
    if (!ok) {
      fprintf(stderr, "client-bench: bad value for %s: '%s'\n", name, v);
      return 2;
    }
  }
  if (o->bootstrap == NULL || o->topic == NULL)
    return usage();
  if (o->mode == MODE_LATENCY && o->size < LATENCY_HEADER) {
    fprintf(stderr, "client-bench: latency mode needs --size >= %d\n", LATENCY_HEADER);
    return 2;
  }
  if (o->linger_ms < 0)
    o->linger_ms = o->mode == MODE_LATENCY ? 0 : 5;
  return 0;
}

/* ---- broker figures from /proc ---- */

/* utime + stime of PID in seconds, or -1. */
static double proc_cpu_s(long pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* Fields after the command name (which may hold spaces) start at ") ": state is field 3,
   * utime and stime are fields 14 and 15. */
  const char *p = strrchr(buf, ')');
  unsigned long long utime, stime;
  if (p == NULL ||
      sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    return -1;
  long ticks = sysconf(_SC_CLK_TCK);
  return ticks > 0 ? (double)(utime + stime) / (double)ticks : -1;
}

/* VmHWM of PID in MB (10^6 bytes), or -1. */
static double proc_peak_rss_mb(long pid) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%ld/status", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  double mb = -1;
  unsigned long long kib;
  while (fgets(line, sizeof(line), f) != NULL)
    if (sscanf(line, "VmHWM: %llu kB", &kib) == 1) {
      mb = (double)kib * 1024.0 / 1e6;
      break;
    }
  fclose(f);
  return mb;
}

/* ---- values ---- */

static uint64_t xorshift(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* POOL_SPAN + size bytes of words (2-9 lowercase letters) drawn from a fixed vocabulary of 2048
 * words, separated by spaces: text that compresses, but not to nothing. */
static char *make_pool(int size) {
  enum { WORDS = 2048, WORD_MAX = 10 };
  size_t len = (size_t)POOL_SPAN + (size_t)size;
  char *pool = malloc(len);
  char(*vocab)[WORD_MAX] = malloc(sizeof(*vocab) * WORDS);
  if (pool == NULL || vocab == NULL) {
    free(pool);
    free(vocab);
    return NULL;
  }
  uint64_t s = 0x9E3779B97F4A7C15u;
  for (int w = 0; w < WORDS; w++) {
    int wl = 2 + (int)(xorshift(&s) % 8);
    for (int c = 0; c < wl; c++)
      vocab[w][c] = (char)('a' + xorshift(&s) % 26);
    vocab[w][wl] = '\0';
  }
  size_t at = 0;
  while (at < len) {
    const char *word = vocab[xorshift(&s) % WORDS];
    for (size_t c = 0; word[c] != '\0' && at < len; c++)
      pool[at++] = word[c];
    if (at < len)
      pool[at++] = ' ';
  }
  free(vocab);
  return pool;
}

static const char *value_of(const struct bench *b, long long i) {
  return b->pool + (size_t)((unsigned long long)i * 12289u % POOL_SPAN);
}

static int32_t partition_of(const struct bench *b, long long i) {
  long long run = b->o->size >= PARTITION_RUN_BYTES ? 1 : PARTITION_RUN_BYTES / b->o->size;
  return (int32_t)(i / run % b->partitions);
}

/* ---- clients ---- */

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "client-bench: %s=%s: %s\n", key, value, errstr);
    return -1;
  }
  return 0;
}

/* Sets "key=value" properties (validated by add_prop) in order. */
static int conf_set_props(rd_kafka_conf_t *conf, const char *const *props, int count) {
  for (int i = 0; i < count; i++) {
    const char *eq = strchr(props[i], '=');
    char key[256];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - props[i]), props[i]);
    if (conf_set(conf, key, eq + 1) != 0)
      return -1;
  }
  return 0;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  struct bench *b = opaque;
  int64_t now = now_ns();
  uintptr_t i = (uintptr_t)m->_private;
  bool measured = i < (uintptr_t)b->o->count; /* not a warm-up message */
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (++b->p_errors <= ERRORS_PRINTED)
      fprintf(stderr, "client-bench: delivery to %s [%" PRId32 "] failed: %s\n",
              rd_kafka_topic_name(m->rkt), m->partition, rd_kafka_err2str(m->err));
    b->dr_failed += measured;
    return;
  }
  if (!measured)
    return;
  b->delivered++;
  b->last_dr_ns = now;
  b->dr_lat[b->dr_lat_n++] = now - b->send_ns[i];
}

static rd_kafka_t *new_producer(struct bench *b) {
  const struct opts *o = b->o;
  char linger[32], errstr[512];
  snprintf(linger, sizeof(linger), "%d", o->linger_ms);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (conf_set(conf, "bootstrap.servers", o->bootstrap) != 0 ||
      conf_set(conf, "acks", o->acks) != 0 ||
      conf_set(conf, "compression.type", o->compression) != 0 ||
      conf_set(conf, "linger.ms", linger) != 0 ||
      conf_set(conf, "enable.idempotence", "false") != 0 ||
      conf_set(conf, "socket.nagle.disable", "true") != 0 ||
      conf_set(conf, "message.timeout.ms", "60000") != 0 ||
      conf_set_props(conf, o->producer_props, o->producer_prop_count) != 0) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  rd_kafka_conf_set_opaque(conf, b);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == NULL) {
    fprintf(stderr, "client-bench: producer: %s\n", errstr);
    rd_kafka_conf_destroy(conf);
  }
  return rk;
}

/* librdkafka's consumer wants a group.id even when it only assigns partitions (and then never
 * joins the group nor commits). */
static rd_kafka_t *new_consumer(const struct opts *o) {
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (conf_set(conf, "bootstrap.servers", o->bootstrap) != 0 ||
      conf_set(conf, "enable.auto.commit", "false") != 0 ||
      conf_set(conf, "auto.offset.reset", "earliest") != 0 ||
      conf_set(conf, "socket.nagle.disable", "true") != 0 ||
      conf_set(conf, "group.id", o->group != NULL ? o->group : "client-bench") != 0 ||
      conf_set_props(conf, o->consumer_props, o->consumer_prop_count) != 0) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (rk == NULL) {
    fprintf(stderr, "client-bench: consumer: %s\n", errstr);
    rd_kafka_conf_destroy(conf);
  }
  return rk;
}

/* CreateTopics for o->topic with o->create_partitions partitions. Returns 0 when created or
 * already there, -1 on failure. */
static int create_topic(rd_kafka_t *rk, const struct opts *o) {
  char errstr[512];
  rd_kafka_NewTopic_t *nt =
      rd_kafka_NewTopic_new(o->topic, o->create_partitions, 1, errstr, sizeof(errstr));
  if (nt == NULL) {
    fprintf(stderr, "client-bench: %s\n", errstr);
    return -1;
  }
  int rc = -1;
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_event_t *ev = NULL;
  if (q == NULL || ao == NULL) {
    fprintf(stderr, "client-bench: admin setup failed\n");
    goto out;
  }
  if (rd_kafka_AdminOptions_set_operation_timeout(ao, SETUP_TIMEOUT_MS, errstr, sizeof(errstr)) ||
      rd_kafka_AdminOptions_set_request_timeout(ao, SETUP_TIMEOUT_MS, errstr, sizeof(errstr))) {
    fprintf(stderr, "client-bench: %s\n", errstr);
    goto out;
  }
  rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
  ev = rd_kafka_queue_poll(q, SETUP_TIMEOUT_MS + 10000);
  if (ev == NULL) {
    fprintf(stderr, "client-bench: CreateTopics: no answer\n");
    goto out;
  }
  rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fprintf(stderr, "client-bench: CreateTopics: %s\n", rd_kafka_event_error_string(ev));
    goto out;
  }
  const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
  size_t n = 0;
  const rd_kafka_topic_result_t **topics =
      res != NULL ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
  if (n != 1) {
    fprintf(stderr, "client-bench: CreateTopics: %zu results\n", n);
    goto out;
  }
  err = rd_kafka_topic_result_error(topics[0]);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    const char *msg = rd_kafka_topic_result_error_string(topics[0]);
    fprintf(stderr, "client-bench: CreateTopics %s: %s (%s)\n", o->topic, rd_kafka_err2str(err),
            msg != NULL ? msg : "");
    goto out;
  }
  rc = 0;
out:
  if (ev != NULL)
    rd_kafka_event_destroy(ev);
  if (ao != NULL)
    rd_kafka_AdminOptions_destroy(ao);
  if (q != NULL)
    rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  return rc;
}

/* Waits until the topic's metadata shows every partition with a leader (and, when want > 0,
 * exactly want partitions). Returns the partition count, or -1. */
static int wait_partitions(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int want) {
  int64_t deadline = now_ns() + SETUP_TIMEOUT_MS * NS_PER_MS;
  int seen = -1;
  const char *why = "no metadata";
  while (now_ns() < deadline) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      why = rd_kafka_err2str(err);
    } else {
      int count = -1;
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        count = md->topics[0].partition_cnt;
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
          if (md->topics[0].partitions[p].leader < 0)
            count = -1;
      } else if (md->topic_cnt == 1) {
        why = rd_kafka_err2str(md->topics[0].err);
      }
      rd_kafka_metadata_destroy(md);
      if (count > 0 && (want == 0 || count == want))
        return count;
      if (count > 0) {
        seen = count;
        why = "wrong partition count";
      }
    }
    usleep(100000);
  }
  fprintf(stderr, "client-bench: topic %s not ready (%s", rd_kafka_topic_name(rkt), why);
  if (seen > 0)
    fprintf(stderr, ": %d partitions, want %d", seen, want);
  fprintf(stderr, ")\n");
  return -1;
}

/* Whether the cluster's topic list (a Metadata request for all topics, which creates nothing)
 * already holds o->topic: 1 yes, 0 no, -1 failure. */
static int topic_listed(rd_kafka_t *rk, const struct opts *o) {
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, SETUP_TIMEOUT_MS);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fprintf(stderr, "client-bench: metadata: %s\n", rd_kafka_err2str(err));
    return -1;
  }
  int found = 0;
  for (int t = 0; t < md->topic_cnt; t++)
    if (strcmp(md->topics[t].topic, o->topic) == 0)
      found = 1;
  rd_kafka_metadata_destroy(md);
  return found;
}

/* Creates the topic when asked (and not there yet) and returns its partition count, or -1. */
static int setup_topic(rd_kafka_t *rk, const struct opts *o) {
  if (o->create_partitions > 0) {
    int listed = topic_listed(rk, o);
    if (listed < 0 || (listed == 0 && create_topic(rk, o) < 0))
      return -1;
  }
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
  if (rkt == NULL) {
    fprintf(stderr, "client-bench: topic %s: %s\n", o->topic,
            rd_kafka_err2str(rd_kafka_last_error()));
    return -1;
  }
  int n = wait_partitions(rk, rkt, o->create_partitions);
  rd_kafka_topic_destroy(rkt);
  return n;
}

static rd_kafka_topic_partition_list_t *all_partitions(const struct bench *b, int64_t offset) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(b->partitions);
  for (int32_t p = 0; p < b->partitions; p++)
    rd_kafka_topic_partition_list_add(l, b->o->topic, p)->offset = offset;
  return l;
}

/* ---- producing ---- */

/* Produces message i (value at val) to partition; waits while the local queue is full. Returns
 * 0; 1 when the deadline passed first; -1 after a produce error (counted and printed). */
static int produce_one(struct bench *b, rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partition,
                       const char *val, uintptr_t i, int64_t deadline) {
  for (;;) {
    if (rd_kafka_produce(rkt, partition, RD_KAFKA_MSG_F_COPY, (void *)(uintptr_t)val,
                         (size_t)b->o->size, NULL, 0, (void *)i) == 0)
      return 0;
    rd_kafka_resp_err_t err = rd_kafka_last_error();
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      b->p_errors++;
      fprintf(stderr, "client-bench: produce: %s\n", rd_kafka_err2str(err));
      return -1;
    }
    if (now_ns() >= deadline)
      return 1;
    rd_kafka_poll(rk, 1);
  }
}

/* Waits until every message has its delivery report (purging after DRAIN_TIMEOUT_MS). */
static void drain_producer(rd_kafka_t *rk) {
  if (rd_kafka_flush(rk, DRAIN_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR)
    return;
  fprintf(stderr, "client-bench: %d messages undelivered after %d s; purging\n",
          rd_kafka_outq_len(rk), DRAIN_TIMEOUT_MS / 1000);
  rd_kafka_resp_err_t err = rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    fprintf(stderr, "client-bench: purge: %s\n", rd_kafka_err2str(err));
  if (rd_kafka_flush(rk, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    fprintf(stderr, "client-bench: %d messages still queued\n", rd_kafka_outq_len(rk));
}

/* The measured produce loop of produce and latency modes: --count messages (or until the
 * deadline), paced when --rate is set. In latency mode each value gets its header. Returns the
 * number of messages handed to librdkafka. */
static long long produce_loop(struct bench *b, rd_kafka_t *rk, rd_kafka_topic_t *rkt, char *buf,
                              int64_t start, int64_t deadline) {
  const struct opts *o = b->o;
  long long i;
  for (i = 0; i < o->count; i++) {
    if (o->rate > 0) {
      int64_t due = start + (int64_t)((double)i * 1e9 / o->rate);
      int64_t now;
      while ((now = now_ns()) < due - 2 * NS_PER_MS) /* serve reports while waiting */
        rd_kafka_poll(rk, (int)((due - now) / NS_PER_MS) - 1);
      sleep_until_ns(due);
    }
    int64_t now = now_ns();
    if (now >= deadline)
      break;
    const char *val = value_of(b, i);
    if (buf != NULL) {
      uint64_t seq = (uint64_t)i;
      memcpy(buf, val, (size_t)o->size);
      memcpy(buf, &now, sizeof(now));
      memcpy(buf + 8, &seq, sizeof(seq));
      val = buf;
    }
    b->send_ns[i] = now;
    if (produce_one(b, rk, rkt, partition_of(b, i), val, (uintptr_t)i, deadline) != 0)
      break;
    rd_kafka_poll(rk, 0);
  }
  return i;
}

/* ---- modes ---- */

static int run_produce(struct bench *b, rd_kafka_t *rk, rd_kafka_topic_t *rkt, struct result *r) {
  const struct opts *o = b->o;
  double cpu0 = o->broker_pid ? proc_cpu_s(o->broker_pid) : -1;
  int64_t start = now_ns();
  long long sent = produce_loop(b, rk, rkt, NULL, start, start + (int64_t)(o->duration_s * 1e9));
  drain_producer(rk);
  double cpu1 = o->broker_pid ? proc_cpu_s(o->broker_pid) : -1;
  r->count = b->delivered;
  r->bytes = b->delivered * o->size;
  r->errors = b->p_errors + (sent - b->delivered - b->dr_failed);
  r->elapsed_s = b->last_dr_ns > start ? (double)(b->last_dr_ns - start) / 1e9 : 0;
  r->elapsed_total_s = (double)(now_ns() - start) / 1e9;
  r->broker.ok = cpu0 >= 0 && cpu1 >= 0;
  r->broker.cpu_s = cpu1 - cpu0;
  r->lat = b->dr_lat;
  r->lat_n = b->dr_lat_n;
  return 0;
}

static int run_consume(struct bench *b, struct result *r) {
  const struct opts *o = b->o;
  rd_kafka_t *rk = b->consumer;
  rd_kafka_topic_partition_list_t *l;
  if (o->group != NULL) {
    l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, o->topic, RD_KAFKA_PARTITION_UA);
  } else {
    l = all_partitions(b, RD_KAFKA_OFFSET_BEGINNING);
  }
  double cpu0 = o->broker_pid ? proc_cpu_s(o->broker_pid) : -1;
  int64_t start = now_ns(), first = 0, last = 0;
  rd_kafka_resp_err_t err = o->group ? rd_kafka_subscribe(rk, l) : rd_kafka_assign(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fprintf(stderr, "client-bench: %s: %s\n", o->group ? "subscribe" : "assign",
            rd_kafka_err2str(err));
    return -1;
  }
  int64_t deadline = start + (int64_t)(o->duration_s * 1e9);
  long long got = 0, bytes = 0, errors = 0;
  int64_t now = start;
  while (got < o->count && now < deadline) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    now = now_ns();
    if (m == NULL) {
      int64_t since = got == 0 ? now - start : now - last;
      if (since > (got == 0 ? SETUP_TIMEOUT_MS * NS_PER_MS : IDLE_TIMEOUT_NS)) {
        fprintf(stderr, "client-bench: no messages for %.0f s\n", (double)since / 1e9);
        break;
      }
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (got++ == 0)
        first = now;
      last = now;
      bytes += (long long)m->len;
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && ++errors <= ERRORS_PRINTED) {
      fprintf(stderr, "client-bench: consume: %s\n", rd_kafka_message_errstr(m));
    }
    rd_kafka_message_destroy(m);
  }
  double cpu1 = o->broker_pid ? proc_cpu_s(o->broker_pid) : -1;
  r->count = got;
  r->bytes = bytes;
  r->errors = errors;
  if (got < o->count && now < deadline)
    r->errors += o->count - got; /* ended early: the topic did not have them */
  r->elapsed_s = (double)(last - first) / 1e9;
  r->elapsed_total_s = got > 0 ? (double)(last - start) / 1e9 : 0;
  r->broker.ok = cpu0 >= 0 && cpu1 >= 0;
  r->broker.cpu_s = cpu1 - cpu0;
  return 0;
}

static void *latency_consumer(void *arg) {
  struct bench *b = arg;
  const struct opts *o = b->o;
  unsigned char *warm = calloc((size_t)b->partitions, 1);
  if (warm == NULL) {
    atomic_fetch_add(&b->c_errors, 1);
    return NULL;
  }
  int warmed = 0;
  while (!atomic_load(&b->stop)) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(b->consumer, 100);
    if (m == NULL)
      continue;
    int64_t now = now_ns();
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
          atomic_fetch_add(&b->c_errors, 1) < ERRORS_PRINTED)
        fprintf(stderr, "client-bench: consume: %s\n", rd_kafka_message_errstr(m));
    } else if (m->len >= LATENCY_HEADER) {
      int64_t sent;
      uint64_t seq;
      memcpy(&sent, m->payload, sizeof(sent));
      memcpy(&seq, (const char *)m->payload + 8, sizeof(seq));
      if (seq == WARMUP_SEQ) {
        if (m->partition >= 0 && m->partition < b->partitions && !warm[m->partition]) {
          warm[m->partition] = 1;
          atomic_store(&b->warmed, ++warmed);
        }
      } else if (seq < (uint64_t)o->count && b->e2e[seq] < 0) {
        b->e2e[seq] = now - sent;
        atomic_store(&b->last_recv_ns, now);
        atomic_fetch_add(&b->received, 1);
      } else {
        atomic_fetch_add(&b->dups, 1);
      }
    }
    rd_kafka_message_destroy(m);
  }
  free(warm);
  return NULL;
}

/* Sends one warm-up message to every partition, again every 200 ms, until the consumer has seen
 * one from each. Returns 0, or -1 after SETUP_TIMEOUT_MS. */
static int warm_up(struct bench *b, rd_kafka_t *rk, rd_kafka_topic_t *rkt, char *buf) {
  int64_t deadline = now_ns() + SETUP_TIMEOUT_MS * NS_PER_MS;
  uint64_t seq = WARMUP_SEQ;
  while (now_ns() < deadline) {
    for (int32_t p = 0; p < b->partitions; p++) {
      int64_t now = now_ns();
      memcpy(buf, b->pool, (size_t)b->o->size);
      memcpy(buf, &now, sizeof(now));
      memcpy(buf + 8, &seq, sizeof(seq));
      if (produce_one(b, rk, rkt, p, buf, (uintptr_t)b->o->count, deadline) != 0)
        return -1;
    }
    int64_t round_end = now_ns() + 200 * NS_PER_MS;
    while (now_ns() < round_end) {
      rd_kafka_poll(rk, 10);
      if (atomic_load(&b->warmed) == b->partitions)
        return 0;
    }
  }
  fprintf(stderr, "client-bench: the consumer saw warm-up messages from only %d of %d partitions\n",
          atomic_load(&b->warmed), b->partitions);
  return -1;
}

static int run_latency(struct bench *b, rd_kafka_t *rk, rd_kafka_topic_t *rkt, struct result *r) {
  const struct opts *o = b->o;
  char *buf = malloc((size_t)o->size);
  if (buf == NULL)
    return -1;
  rd_kafka_topic_partition_list_t *l = all_partitions(b, RD_KAFKA_OFFSET_END);
  rd_kafka_resp_err_t err = rd_kafka_assign(b->consumer, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fprintf(stderr, "client-bench: assign: %s\n", rd_kafka_err2str(err));
    free(buf);
    return -1;
  }
  pthread_t thread;
  if (pthread_create(&thread, NULL, latency_consumer, b) != 0) {
    fprintf(stderr, "client-bench: pthread_create failed\n");
    free(buf);
    return -1;
  }
  int rc = warm_up(b, rk, rkt, buf);
  long long sent = 0;
  int64_t start = now_ns();
  double cpu0 = o->broker_pid ? proc_cpu_s(o->broker_pid) : -1;
  if (rc == 0) {
    sent = produce_loop(b, rk, rkt, buf, start, start + (int64_t)(o->duration_s * 1e9));
    drain_producer(rk);
    int64_t deadline = now_ns() + DRAIN_TIMEOUT_MS * NS_PER_MS;
    while (atomic_load(&b->received) < b->delivered && now_ns() < deadline)
      usleep(1000);
  }
  double cpu1 = o->broker_pid ? proc_cpu_s(o->broker_pid) : -1;
  atomic_store(&b->stop, 1);
  pthread_join(thread, NULL);
  free(buf);

  long long received = atomic_load(&b->received);
  int64_t last = atomic_load(&b->last_recv_ns);
  r->count = received;
  r->bytes = received * o->size;
  r->errors = b->p_errors + (sent - b->delivered - b->dr_failed) + atomic_load(&b->c_errors) +
              (b->delivered - received);
  if (rc != 0)
    r->errors++;
  if (b->delivered > received)
    fprintf(stderr, "client-bench: %lld delivered messages never reached the consumer\n",
            b->delivered - received);
  if (atomic_load(&b->dups) > 0)
    fprintf(stderr, "client-bench: %lld duplicates received\n", (long long)atomic_load(&b->dups));
  r->elapsed_s = last > start ? (double)(last - start) / 1e9 : 0;
  r->elapsed_total_s = (double)(now_ns() - start) / 1e9;
  r->broker.ok = cpu0 >= 0 && cpu1 >= 0;
  r->broker.cpu_s = cpu1 - cpu0;
  /* Compact the received latencies to the front of e2e for the percentiles. */
  size_t n = 0;
  for (long long i = 0; i < o->count; i++)
    if (b->e2e[i] >= 0)
      b->e2e[n++] = b->e2e[i];
  r->lat = b->e2e;
  r->lat_n = n;
  return rc;
}

/* ---- report ---- */

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values, in ms. */
static double pct_ms(const int64_t *v, size_t n, double p) {
  size_t rank = (size_t)ceil(p * (double)n);
  return (double)v[rank > 0 ? rank - 1 : 0] / 1e6;
}

static void json_field(const char *name, double v, bool ok, bool last) {
  if (ok && isfinite(v))
    printf("\"%s\": %.6g%s", name, v, last ? "" : ", ");
  else
    printf("\"%s\": null%s", name, last ? "" : ", ");
}

static void report(const struct opts *o, int partitions, struct result *r) {
  static const char *const mode_names[] = {"produce", "consume", "latency"};
  bool have_lat = r->lat_n > 0;
  if (have_lat)
    qsort(r->lat, r->lat_n, sizeof(*r->lat), cmp_i64);
  double rate = r->elapsed_s > 0 ? (double)r->count / r->elapsed_s : 0;
  double mbps = r->elapsed_s > 0 ? (double)r->bytes / r->elapsed_s / 1e6 : 0;
  double p50 = have_lat ? pct_ms(r->lat, r->lat_n, 0.50) : 0;
  double p99 = have_lat ? pct_ms(r->lat, r->lat_n, 0.99) : 0;
  double p999 = have_lat ? pct_ms(r->lat, r->lat_n, 0.999) : 0;
  double max = have_lat ? (double)r->lat[r->lat_n - 1] / 1e6 : 0;
  bool cpu_ok = r->broker.ok && r->count > 0;
  double cpu_per_m = cpu_ok ? r->broker.cpu_s / (double)r->count * 1e6 : 0;
  bool rss_ok = r->broker.peak_rss_mb >= 0 && o->broker_pid != 0;

  char line[512];
  snprintf(line, sizeof(line),
           "%s %s: %lld of %lld msgs (%.1f MB) over %d partitions in %.3f s: %.0f msgs/s, "
           "%.1f MB/s; errors %lld",
           mode_names[o->mode], o->topic, r->count, o->count, (double)r->bytes / 1e6, partitions,
           r->elapsed_s, rate, mbps, r->errors);
  msg_out(o, line);
  if (have_lat) {
    snprintf(line, sizeof(line), "%s latency ms: p50 %.3f, p99 %.3f, p99.9 %.3f, max %.3f",
             o->mode == MODE_LATENCY ? "end-to-end" : "delivery", p50, p99, p999, max);
    msg_out(o, line);
  }
  if (o->broker_pid != 0) {
    snprintf(line, sizeof(line), "broker %ld: %.2f cpu s (%.3f per M msgs), peak RSS %.1f MB",
             o->broker_pid, r->broker.cpu_s, cpu_per_m, r->broker.peak_rss_mb);
    msg_out(o, line);
  }
  if (!o->json)
    return;
  printf("{\"mode\": \"%s\", \"topic\": \"%s\", \"partitions\": %d, \"size\": %d, "
         "\"count\": %lld, \"target\": %lld, \"bytes\": %lld, \"errors\": %lld, ",
         mode_names[o->mode], o->topic, partitions, o->size, r->count, o->count, r->bytes,
         r->errors);
  json_field("elapsed_s", r->elapsed_s, true, false);
  json_field("elapsed_total_s", r->elapsed_total_s, true, false);
  json_field("msgs_per_s", rate, r->elapsed_s > 0, false);
  json_field("mb_per_s", mbps, r->elapsed_s > 0, false);
  json_field("p50_ms", p50, have_lat, false);
  json_field("p99_ms", p99, have_lat, false);
  json_field("p999_ms", p999, have_lat, false);
  json_field("max_ms", max, have_lat, false);
  json_field("broker_cpu_s", r->broker.cpu_s, cpu_ok, false);
  json_field("broker_cpu_s_per_mmsg", cpu_per_m, cpu_ok, false);
  json_field("broker_peak_rss_mb", r->broker.peak_rss_mb, rss_ok, true);
  printf("}\n");
}

int main(int argc, char **argv) {
  struct opts o;
  int rc = parse_args(argc, argv, &o);
  if (rc != 0)
    return rc;

  struct bench b = {.o = &o, .e2e = NULL};
  atomic_init(&b.received, 0);
  atomic_init(&b.dups, 0);
  atomic_init(&b.c_errors, 0);
  atomic_init(&b.warmed, 0);
  atomic_init(&b.stop, 0);
  atomic_init(&b.last_recv_ns, 0);
  struct result r = {.broker = {.peak_rss_mb = -1}};
  rd_kafka_t *producer = NULL;
  rd_kafka_topic_t *rkt = NULL;
  bool producing = o.mode != MODE_CONSUME;
  rc = 1;

  if (producing) {
    size_t n = (size_t)o.count;
    b.pool = make_pool(o.size);
    b.send_ns = malloc(n * sizeof(*b.send_ns));
    b.dr_lat = malloc(n * sizeof(*b.dr_lat));
    if (o.mode == MODE_LATENCY && (b.e2e = malloc(n * sizeof(*b.e2e))) != NULL)
      for (size_t i = 0; i < n; i++)
        b.e2e[i] = -1;
    if (b.pool == NULL || b.send_ns == NULL || b.dr_lat == NULL ||
        (o.mode == MODE_LATENCY && b.e2e == NULL)) {
      fprintf(stderr, "client-bench: out of memory\n");
      goto out;
    }
    if ((producer = new_producer(&b)) == NULL)
      goto out;
  }
  if (o.mode != MODE_PRODUCE && (b.consumer = new_consumer(&o)) == NULL)
    goto out;

  b.partitions = setup_topic(producing ? producer : b.consumer, &o);
  if (b.partitions < 0)
    goto out;
  if (producing && (rkt = rd_kafka_topic_new(producer, o.topic, NULL)) == NULL) {
    fprintf(stderr, "client-bench: topic %s: %s\n", o.topic,
            rd_kafka_err2str(rd_kafka_last_error()));
    goto out;
  }

  int run_rc;
  if (o.mode == MODE_PRODUCE)
    run_rc = run_produce(&b, producer, rkt, &r);
  else if (o.mode == MODE_CONSUME)
    run_rc = run_consume(&b, &r);
  else
    run_rc = run_latency(&b, producer, rkt, &r);
  if (o.broker_pid != 0)
    r.broker.peak_rss_mb = proc_peak_rss_mb(o.broker_pid);
  if (run_rc != 0 && r.errors == 0)
    r.errors = 1;
  report(&o, b.partitions, &r);
  rc = r.errors == 0 ? 0 : 1;

out:
  if (b.consumer != NULL) {
    rd_kafka_resp_err_t err = rd_kafka_consumer_close(b.consumer);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      fprintf(stderr, "client-bench: consumer close: %s\n", rd_kafka_err2str(err));
    rd_kafka_destroy(b.consumer);
  }
  if (rkt != NULL)
    rd_kafka_topic_destroy(rkt);
  if (producer != NULL) {
    if (rd_kafka_outq_len(producer) > 0)
      drain_producer(producer);
    rd_kafka_destroy(producer);
  }
  free(b.e2e);
  free(b.dr_lat);
  free(b.send_ns);
  free(b.pool);
  return rc;
}
