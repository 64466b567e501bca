/* Produces and consumes records with librdkafka (Debian's librdkafka 2.0.2) and prints, as one JSON
 * object on stdout, what librdkafka reported, for tests/integration/test_rdkafka_records.py.
 *
 *   rdkafka_records BOOTSTRAP COMMAND ARGS... [-X KEY=VALUE]...
 *
 * -X sets a librdkafka property on every client the command creates (producer and consumer).
 *
 *   produce TOPIC PARTITION COUNT
 *       COUNT messages (key "k%08d", value "seq=%08d", header seq=%08d) to one partition; waits
 *       for every delivery report. {"produced", "delivered", "errors": {name: count},
 *       "first_offset", "offsets_consecutive": message i at first_offset + i for every i,
 *       "bad_offsets": [[i, offset]...] (the first few that are not), "fatal_error"}
 *   consume TOPIC PARTITION OFFSET [MAX]
 *       A consumer without a group (rd_kafka_assign) from OFFSET (a number, "beginning" or
 *       "end") until the end of the partition or MAX records. {"records": [[offset, key, value,
 *       timestamp, timestamp_type, [[header, value]...]]...], "errors": [{"code", "name",
 *       "message"}], "eof": offset at the end or null, "timed_out"}. An _AUTO_OFFSET_RESET
 *       error (auto.offset.reset=error) ends it.
 *   latency TOPIC PARTITION COUNT GAP_MS
 *       A consumer waits at the end of the partition; a producer sends one message at a time
 *       (after GAP_MS idle), timing produce() to the consumer's receipt. {"latencies_ms": [...],
 *       "fetch_requests": Fetch requests the consumer sent (librdkafka statistics),
 *       "elapsed_ms"}
 *   watermarks TOPIC PARTITION          {"low", "high"} (ListOffsets earliest and latest)
 *   times TOPIC PARTITION TS...         {"offsets": [offset for each TS]} (offsetsForTimes)
 *   delete-records TOPIC PARTITION OFFSET
 *       Admin DeleteRecords. {"error", "error_name", "low_watermark"}
 *
 * Errors that librdkafka reports as events go into the JSON; exit status 2 means bad usage or a
 * client that could not be created. */
#include <librdkafka/rdkafka.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROGRAM_NAME "rdkafka_records"
#define TIMEOUT_MS 30000
#define IDLE_TIMEOUT_MS 15000
#define BAD_OFFSETS_MAX 10
#define ERROR_KINDS_MAX 16

#include "client.h"

static const char *const CONSUMER_DEFAULTS[] = {"enable.auto.commit",
                                                "false",
                                                "enable.auto.offset.store",
                                                "false",
                                                "enable.partition.eof",
                                                "true",
                                                "fetch.wait.max.ms",
                                                "500",
                                                NULL};

/* A consumer without a group: librdkafka 2.0.2's rd_kafka_assign() needs group.id, so the
 * partition is consumed through the simple (legacy) consumer API, rd_kafka_consume_start(), which
 * sends no group requests at all. */
struct consumer {
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
  int32_t partition;
  bool started;
};

static struct consumer consumer_new(rd_kafka_conf_t *conf, const char *topic, int32_t partition,
                                    int64_t offset) {
  struct consumer c = {client_new(RD_KAFKA_CONSUMER, conf), NULL, partition, false};
  c.rkt = rd_kafka_topic_new(c.rk, topic, NULL);
  if (!c.rkt) die("rd_kafka_topic_new: %s", rd_kafka_err2str(rd_kafka_last_error()));
  if (rd_kafka_consume_start(c.rkt, partition, offset) == -1)
    die("rd_kafka_consume_start: %s", rd_kafka_err2str(rd_kafka_last_error()));
  c.started = true;
  return c;
}

static void consumer_destroy(struct consumer *c) {
  if (c->started) rd_kafka_consume_stop(c->rkt, c->partition);
  rd_kafka_topic_destroy(c->rkt);
  rd_kafka_destroy(c->rk);
}

/* ---- produce ------------------------------------------------------------------------------ */

struct delivery {
  int64_t *offsets;
  rd_kafka_resp_err_t *errors;
  int done;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  struct delivery *d = opaque;
  intptr_t i = (intptr_t)m->_private;
  d->offsets[i] = m->offset;
  d->errors[i] = m->err;
  d->done++;
}

static void produce_one(rd_kafka_t *rk, const char *topic, int32_t partition, int i) {
  char key[32], value[32];
  snprintf(key, sizeof key, "k%08d", i);
  snprintf(value, sizeof value, "seq=%08d", i);
  const char *seq = value + 4;
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE(value, strlen(value)), RD_KAFKA_V_HEADER("seq", seq, 8),
        RD_KAFKA_V_OPAQUE((void *)(intptr_t)i), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("producev %d: %s", i, rd_kafka_err2str(err));
    rd_kafka_poll(rk, 10);
  }
}

static int cmd_produce(const char *topic, int32_t partition, int count) {
  static const char *const defaults[] = {"acks", "all", NULL};
  struct delivery d = {calloc((size_t)count, sizeof(int64_t)),
                       calloc((size_t)count, sizeof(rd_kafka_resp_err_t)), 0};
  if (!d.offsets || !d.errors) die("out of memory");
  rd_kafka_conf_t *conf = conf_new(defaults);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &d);
  rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf);
  for (int i = 0; i < count; i++) {
    produce_one(rk, topic, partition, i);
    rd_kafka_poll(rk, 0);
  }
  double deadline = mono_ms() + 4 * TIMEOUT_MS;
  while (d.done < count && mono_ms() < deadline) rd_kafka_poll(rk, 50);

  char fatal[512] = "";
  rd_kafka_resp_err_t fatal_err = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
  int delivered = 0, kinds = 0, kind_counts[ERROR_KINDS_MAX] = {0}, bad = 0;
  rd_kafka_resp_err_t kind_errs[ERROR_KINDS_MAX];
  bool consecutive = true;
  int64_t first = count > 0 ? d.offsets[0] : -1;
  printf("{\"produced\":%d,\"reported\":%d,\"first_offset\":%" PRId64 ",\"bad_offsets\":[", count,
         d.done, first);
  for (int i = 0; i < count; i++) {
    if (d.errors[i] == RD_KAFKA_RESP_ERR_NO_ERROR) {
      delivered++;
    } else {
      int k = 0;
      while (k < kinds && kind_errs[k] != d.errors[i]) k++;
      if (k == kinds && kinds < ERROR_KINDS_MAX) kind_errs[kinds++] = d.errors[i];
      if (k < kinds) kind_counts[k]++;
    }
    if (d.offsets[i] != first + i) {
      consecutive = false;
      if (bad < BAD_OFFSETS_MAX) printf("%s[%d,%" PRId64 "]", bad++ ? "," : "", i, d.offsets[i]);
    }
  }
  printf("],\"offsets_consecutive\":%s,\"delivered\":%d,\"errors\":{",
         consecutive ? "true" : "false", delivered);
  for (int k = 0; k < kinds; k++) {
    printf("%s", k ? "," : "");
    json_str(rd_kafka_err2name(kind_errs[k]));
    printf(":%d", kind_counts[k]);
  }
  printf("},\"fatal_error\":");
  if (fatal_err) {
    json_str(fatal);
  } else {
    fputs("null", stdout);
  }
  printf("}\n");
  rd_kafka_destroy(rk);
  free(d.offsets);
  free(d.errors);
  return 0;
}

/* ---- consume ------------------------------------------------------------------------------ */

static int64_t parse_offset(const char *s) {
  if (!strcmp(s, "beginning")) return RD_KAFKA_OFFSET_BEGINNING;
  if (!strcmp(s, "end")) return RD_KAFKA_OFFSET_END;
  return strtoll(s, NULL, 10);
}

static void print_record(const rd_kafka_message_t *m, bool first) {
  rd_kafka_timestamp_type_t tstype;
  int64_t ts = rd_kafka_message_timestamp(m, &tstype);
  printf("%s[%" PRId64 ",", first ? "" : ",", m->offset);
  json_bytes(m->key, m->key_len);
  putchar(',');
  json_bytes(m->payload, m->len);
  printf(",%" PRId64 ",\"%s\",[", ts,
         tstype == RD_KAFKA_TIMESTAMP_CREATE_TIME       ? "create"
         : tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? "log_append"
                                                        : "none");
  rd_kafka_headers_t *hdrs = NULL;
  if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char *name;
    const void *value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == 0; i++) {
      printf("%s[", i ? "," : "");
      json_str(name);
      putchar(',');
      json_bytes(value, size);
      putchar(']');
    }
  }
  printf("]]");
}

static int cmd_consume(const char *topic, int32_t partition, int64_t offset, long max) {
  struct consumer c = consumer_new(conf_new(CONSUMER_DEFAULTS), topic, partition, offset);
  long n = 0;
  int errors = 0;
  int64_t eof = -1;
  bool timed_out = false;
  char errbuf[8192];
  size_t errlen = 0;
  printf("{\"records\":[");
  double idle_deadline = mono_ms() + IDLE_TIMEOUT_MS;
  while (max < 0 || n < max) {
    rd_kafka_message_t *m = rd_kafka_consume(c.rkt, partition, 100);
    if (!m) {
      if (mono_ms() > idle_deadline) {
        timed_out = true;
        break;
      }
      continue;
    }
    idle_deadline = mono_ms() + IDLE_TIMEOUT_MS;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      eof = m->offset;
      rd_kafka_message_destroy(m);
      break;
    }
    if (m->err) {
      if (errors < 20 && errlen < sizeof errbuf - 600)
        errlen += (size_t)snprintf(errbuf + errlen, sizeof errbuf - errlen,
                                   "%s{\"code\":%d,\"name\":\"%s\",\"message\":\"%.400s\"}",
                                   errors ? "," : "", m->err, rd_kafka_err2name(m->err),
                                   rd_kafka_message_errstr(m));
      errors++;
      bool final = m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET;
      rd_kafka_message_destroy(m);
      if (final) break; /* auto.offset.reset=error: the partition stops here */
      continue;
    }
    print_record(m, n == 0);
    n++;
    rd_kafka_message_destroy(m);
  }
  /* error messages come from librdkafka: make them JSON-safe */
  for (size_t i = 0; i < errlen; i++)
    if ((unsigned char)errbuf[i] < 0x20) errbuf[i] = ' ';
  printf("],\"errors\":[%.*s],\"eof\":", (int)errlen, errbuf);
  if (eof >= 0)
    printf("%" PRId64, eof);
  else
    fputs("null", stdout);
  printf(",\"timed_out\":%s}\n", timed_out ? "true" : "false");
  consumer_destroy(&c);
  return 0;
}

/* ---- latency ------------------------------------------------------------------------------ */

static char *last_stats;

static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
  (void)rk, (void)len, (void)opaque;
  free(last_stats);
  last_stats = json; /* ours to free (returning 1) */
  return 1;
}

/* The sum of every broker's "req": {"Fetch": N} in librdkafka's statistics. */
static long fetch_requests(void) {
  long total = 0;
  for (const char *p = last_stats; p && (p = strstr(p, "\"Fetch\":")) != NULL; p += 8)
    total += strtol(p + 8, NULL, 10);
  return total;
}

static rd_kafka_message_t *poll_record(struct consumer *c, rd_kafka_t *producer, double until) {
  while (mono_ms() < until) {
    rd_kafka_poll(producer, 0);
    rd_kafka_poll(c->rk, 0); /* statistics */
    rd_kafka_message_t *m = rd_kafka_consume(c->rkt, c->partition, 1);
    if (!m) continue;
    if (!m->err) return m;
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
      fprintf(stderr, "rdkafka_records: consumer: %s\n", rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
  }
  return NULL;
}

static int cmd_latency(const char *topic, int32_t partition, int count, int gap_ms) {
  static const char *const producer_defaults[] = {"acks", "1", "linger.ms", "0", NULL};
  static const char *const consumer_extra[] = {
      "fetch.wait.max.ms", "1000", "fetch.min.bytes", "1", "statistics.interval.ms", "100", NULL};
  rd_kafka_t *producer = client_new(RD_KAFKA_PRODUCER, conf_new(producer_defaults));
  /* statistics need the callback set before the consumer is created */
  rd_kafka_conf_t *conf = conf_new(CONSUMER_DEFAULTS);
  for (const char *const *e = consumer_extra; e[0]; e += 2) conf_set(conf, e[0], e[1]);
  rd_kafka_conf_set_stats_cb(conf, on_stats);
  struct consumer consumer = consumer_new(conf, topic, partition, RD_KAFKA_OFFSET_END);

  /* Warm-up: the first message proves the consumer is fetching at the end of the partition. */
  double start = mono_ms();
  rd_kafka_message_t *m = NULL;
  for (int attempt = 0; attempt < 20 && !m; attempt++) {
    produce_one(producer, topic, partition, -1 - attempt);
    m = poll_record(&consumer, producer, mono_ms() + 1000);
  }
  if (!m) die("the consumer received no warm-up message within 20 s");
  rd_kafka_message_destroy(m);
  /* drain further warm-up messages */
  while ((m = poll_record(&consumer, producer, mono_ms() + 300)) != NULL)
    rd_kafka_message_destroy(m);

  long fetches_before = fetch_requests();
  double measured_start = mono_ms();
  printf("{\"latencies_ms\":[");
  int received = 0;
  for (int i = 0; i < count; i++) {
    m = poll_record(&consumer, producer, mono_ms() + gap_ms);
    if (m) die("message at offset %" PRId64 " arrived while idle", m->offset);
    double t0 = mono_ms();
    produce_one(producer, topic, partition, i);
    m = poll_record(&consumer, producer, t0 + 10000);
    double t1 = mono_ms();
    if (!m) break;
    char want[32];
    snprintf(want, sizeof want, "seq=%08d", i);
    if (m->len != strlen(want) || memcmp(m->payload, want, m->len))
      die("received %.*s, expected %s", (int)m->len, (const char *)m->payload, want);
    rd_kafka_message_destroy(m);
    printf("%s%.3f", i ? "," : "", t1 - t0);
    received++;
  }
  double elapsed = mono_ms() - measured_start;
  /* one more statistics interval, so the counters cover the measured period */
  (void)poll_record(&consumer, producer, mono_ms() + 250);
  printf("],\"received\":%d,\"fetch_requests\":%ld,\"elapsed_ms\":%.1f,\"warmup_ms\":%.1f}\n",
         received, fetch_requests() - fetches_before, elapsed, measured_start - start);
  rd_kafka_flush(producer, 5000);
  rd_kafka_destroy(producer);
  consumer_destroy(&consumer);
  free(last_stats);
  return 0;
}

/* ---- offsets ------------------------------------------------------------------------------ */

static int cmd_watermarks(const char *topic, int32_t partition) {
  rd_kafka_t *rk = client_new(RD_KAFKA_CONSUMER, conf_new(NULL));
  int64_t low = -1, high = -1;
  rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(rk, topic, partition, &low, &high, TIMEOUT_MS);
  printf("{\"error\":%d,\"error_name\":", err);
  json_str(err ? rd_kafka_err2name(err) : NULL);
  printf(",\"low\":%" PRId64 ",\"high\":%" PRId64 "}\n", low, high);
  rd_kafka_destroy(rk);
  return 0;
}

static int cmd_times(const char *topic, int32_t partition, char **stamps, int n) {
  rd_kafka_t *rk = client_new(RD_KAFKA_CONSUMER, conf_new(NULL));
  printf("{\"offsets\":[");
  for (int i = 0; i < n; i++) {
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, partition)->offset =
        strtoll(stamps[i], NULL, 10);
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, parts, TIMEOUT_MS);
    if (err || parts->elems[0].err)
      printf("%s\"%s\"", i ? "," : "", rd_kafka_err2name(err ? err : parts->elems[0].err));
    else
      printf("%s%" PRId64, i ? "," : "", parts->elems[0].offset);
    rd_kafka_topic_partition_list_destroy(parts);
  }
  printf("]}\n");
  rd_kafka_destroy(rk);
  return 0;
}

static int cmd_delete_records(const char *topic, int32_t partition, int64_t offset) {
  rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf_new(NULL));
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic, partition)->offset = offset;
  rd_kafka_DeleteRecords_t *del = rd_kafka_DeleteRecords_new(parts);
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_DeleteRecords(rk, &del, 1, NULL, q);
  rd_kafka_DeleteRecords_destroy(del);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, TIMEOUT_MS * 2);
  if (!ev) die("no DeleteRecords result");
  rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
  int64_t low = -1;
  if (!err) {
    const rd_kafka_topic_partition_list_t *res =
        rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
    err = res->elems[0].err;
    low = res->elems[0].offset;
  }
  printf("{\"error\":%d,\"error_name\":", err);
  json_str(err ? rd_kafka_err2name(err) : NULL);
  printf(",\"low_watermark\":%" PRId64 "}\n", low);
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return 0;
}

int main(int argc, char **argv) {
  char *args[32];
  int nargs = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-X") && i + 1 < argc) {
      if (conf_count == CONF_MAX) die("too many -X");
      conf_pairs[conf_count++] = argv[++i];
    } else if (nargs < 32) {
      args[nargs++] = argv[i];
    } else {
      die("too many arguments");
    }
  }
  if (nargs < 2) die("usage: rdkafka_records BOOTSTRAP COMMAND ARGS... [-X KEY=VALUE]...");
  bootstrap = args[0];
  const char *cmd = args[1];
  if (!strcmp(cmd, "produce") && nargs == 5)
    return cmd_produce(args[2], atoi(args[3]), atoi(args[4]));
  if (!strcmp(cmd, "consume") && (nargs == 5 || nargs == 6))
    return cmd_consume(args[2], atoi(args[3]), parse_offset(args[4]),
                       nargs == 6 ? atol(args[5]) : -1);
  if (!strcmp(cmd, "latency") && nargs == 6)
    return cmd_latency(args[2], atoi(args[3]), atoi(args[4]), atoi(args[5]));
  if (!strcmp(cmd, "watermarks") && nargs == 4) return cmd_watermarks(args[2], atoi(args[3]));
  if (!strcmp(cmd, "times") && nargs >= 5)
    return cmd_times(args[2], atoi(args[3]), args + 4, nargs - 4);
  if (!strcmp(cmd, "delete-records") && nargs == 5)
    return cmd_delete_records(args[2], atoi(args[3]), strtoll(args[4], NULL, 10));
  die("unknown command or wrong arguments: %s", cmd);
  return 2;
}
