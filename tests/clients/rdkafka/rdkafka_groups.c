/* Consumer groups with librdkafka (Debian's librdkafka 2.0.2), for
 * tests/integration/test_rdkafka_groups.py.
 *
 *   rdkafka_groups BOOTSTRAP COMMAND ARGS... [-X KEY=VALUE]...
 *
 * -X sets a librdkafka property on every client the command creates (and wins over the defaults).
 *
 *   member GROUP TOPIC [--max N] [--commit-every N] [--lifetime-ms MS]
 *       One member of GROUP subscribed to TOPIC (one process per member, so a test can SIGKILL
 *       it). Offsets are committed only by this program, synchronously, and only up to what it
 *       printed: every --commit-every messages, for the partitions a rebalance takes away (before
 *       they go), on "commit" and on "close". After --max messages it prints "max" and drops
 *       what it receives (not printed, not committed: the group's next owner reads it). It prints
 *       one line per event, flushed at once; each starts with CLOCK_MONOTONIC in ms:
 *         T assign GEN MEMBER_ID PROTOCOL P,P,...   partitions a rebalance gave (EAGER: all)
 *         T revoke GEN MEMBER_ID PROTOCOL P,P,...   partitions a rebalance took (after unassign)
 *         T lost P,P,...                            partitions lost (no commit for them)
 *         T owned GEN P,P,...                       the whole assignment after a callback
 *         T msg PARTITION OFFSET VALUE
 *         T max
 *         T commit ERROR P:OFFSET[:ERROR],...       a synchronous commit and its result
 *         T error NAME REASON                       an error event (reason on the same line)
 *         T closed
 *       GEN is the group generation (-1 when librdkafka has none, and while closing); "-" stands
 *       for no partition.
 *       It reads commands on stdin: "commit", "close" (commit, rd_kafka_consumer_close, exit 0).
 *       End of stdin closes too; so does --lifetime-ms (default 100 s), so no member outlives a
 *       test.
 *   produce TOPIC PARTITIONS COUNT [FIRST]
 *       Messages FIRST..FIRST+COUNT-1: message i has key "k%06d" and value "m%06d" and goes to
 *       partition i % PARTITIONS; waits for every delivery report.
 *       {"delivered", "errors": {name: count}}
 *   committed GROUP TOPIC PARTITIONS
 *       OffsetFetch through rd_kafka_committed. {"error", "offsets": [offset of each partition,
 *       -1001 for none], "errors": [name or null of each partition]}
 *   describe GROUP...
 *       Admin DescribeConsumerGroups. {"error", "groups": [{"group", "error", "state",
 *       "assignor", "simple", "members": [{"member_id", "client_id", "instance_id", "host",
 *       "partitions": [[topic, partition]...]}]}]}
 *   list-groups
 *       Admin ListConsumerGroups. {"error", "groups": [{"group", "state", "simple"}],
 *       "errors": [name...]}
 *   delete-groups GROUP...
 *       Admin DeleteGroups. {"error", "groups": [{"group", "error"}]}
 *   delete-offsets GROUP TOPIC PARTITION...
 *       Admin DeleteConsumerGroupOffsets (OffsetDelete). {"error", "group", "group_error",
 *       "partitions": [[partition, error name or null]...]}
 *
 * "error" is the request's error (librdkafka's message) or null; the others are error names.
 *
 * Exit status 2 means bad usage or a client that could not be created. */
#include <librdkafka/rdkafka.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGRAM_NAME "rdkafka_groups"
#define TIMEOUT_MS 30000
#define PARTITIONS_MAX 256
#define ERROR_KINDS_MAX 16
#define LIFETIME_MS_DEFAULT 100000

#include "client.h"

/* ---- member ------------------------------------------------------------------------------- */

/* What this member printed and committed, per partition of its one topic. */
struct member {
  rd_kafka_t *rk;
  const char *topic;
  long max;          /* messages to print; < 0: no limit */
  long commit_every; /* 0: only on rebalance, "commit" and "close" */
  long printed;
  long since_commit;
  int64_t next[PARTITIONS_MAX];      /* offset after the last printed message; -1: none */
  int64_t committed[PARTITIONS_MAX]; /* last offset committed by us; -1: none */
  size_t gen_offset;                 /* of the generation id in a written group metadata */
  bool gen_offset_known;
  bool closing; /* no more generation look-ups: they wait on the group's thread */
  /* The assignment, as the rebalance callbacks changed it. Kept here rather than asked of
   * rd_kafka_assignment(): that waits on the group's thread, which may already have stopped
   * serving requests when the callback runs inside rd_kafka_consumer_close(). */
  bool owned[PARTITIONS_MAX];
};

static struct member member;

__attribute__((format(printf, 1, 2))) static void event(const char *fmt, ...) {
  va_list ap;
  printf("%.3f ", mono_ms());
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

/* librdkafka 2.0.2 has no getter for the generation id; its group metadata carries one, and
 * rd_kafka_consumer_group_metadata_write() serialises it. Where in the bytes it sits is found
 * once, from a metadata made with a known generation. */
#define GEN_PROBE 0x5A3C6E21
static void gen_calibrate(void) {
  rd_kafka_consumer_group_metadata_t *md =
      rd_kafka_consumer_group_metadata_new_with_genid("g", GEN_PROBE, "m", NULL);
  void *buf = NULL;
  size_t size = 0;
  rd_kafka_error_t *error = rd_kafka_consumer_group_metadata_write(md, &buf, &size);
  rd_kafka_consumer_group_metadata_destroy(md);
  if (error) {
    rd_kafka_error_destroy(error);
    return;
  }
  int32_t probe = GEN_PROBE;
  for (size_t i = 0; i + sizeof probe <= size; i++) {
    if (!memcmp((const char *)buf + i, &probe, sizeof probe)) {
      member.gen_offset = i;
      member.gen_offset_known = true;
      break;
    }
  }
  rd_kafka_mem_free(NULL, buf);
}

static int32_t generation(void) {
  int32_t gen = -1;
  if (!member.gen_offset_known || member.closing) return gen;
  rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata(member.rk);
  if (!md) return gen;
  void *buf = NULL;
  size_t size = 0;
  rd_kafka_error_t *error = rd_kafka_consumer_group_metadata_write(md, &buf, &size);
  rd_kafka_consumer_group_metadata_destroy(md);
  if (error) {
    rd_kafka_error_destroy(error);
    return gen;
  }
  if (member.gen_offset + sizeof gen <= size)
    memcpy(&gen, (const char *)buf + member.gen_offset, sizeof gen);
  rd_kafka_mem_free(NULL, buf);
  return gen;
}

/* Sets set[p] to value for the partitions of our topic in parts. */
static void partitions_mark(bool *set, const rd_kafka_topic_partition_list_t *parts, bool value) {
  for (int i = 0; parts && i < parts->cnt; i++) {
    int32_t p = parts->elems[i].partition;
    if (p >= 0 && p < PARTITIONS_MAX && !strcmp(parts->elems[i].topic, member.topic))
      set[p] = value;
  }
}

/* "P,P,..." of the partitions in set (sorted), "-" for none. */
static const char *set_str(const bool *set, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = '\0';
  for (int p = 0; p < PARTITIONS_MAX && len + 16 < size; p++)
    if (set[p]) len += (size_t)snprintf(buf + len, size - len, "%s%d", len ? "," : "", p);
  if (len == 0) snprintf(buf, size, "-");
  return buf;
}

static const char *partitions_str(const rd_kafka_topic_partition_list_t *parts, char *buf,
                                  size_t size) {
  bool set[PARTITIONS_MAX] = {false};
  partitions_mark(set, parts, true);
  return set_str(set, buf, size);
}

/* Commits what was printed and not yet committed, of the partitions in only (all when NULL). */
static void commit_printed(const rd_kafka_topic_partition_list_t *only) {
  rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(8);
  for (int32_t p = 0; p < PARTITIONS_MAX; p++) {
    if (member.next[p] < 0 || member.next[p] == member.committed[p]) continue;
    if (only && !rd_kafka_topic_partition_list_find(only, member.topic, p)) continue;
    rd_kafka_topic_partition_list_add(offsets, member.topic, p)->offset = member.next[p];
  }
  if (offsets->cnt > 0) {
    rd_kafka_resp_err_t err = rd_kafka_commit(member.rk, offsets, 0);
    char buf[4096];
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < offsets->cnt && len + 64 < sizeof buf; i++) {
      const rd_kafka_topic_partition_t *tp = &offsets->elems[i];
      len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%" PRId32 ":%" PRId64 "%s%s",
                              i ? "," : "", tp->partition, tp->offset, tp->err ? ":" : "",
                              tp->err ? rd_kafka_err2name(tp->err) : "");
      /* rd_kafka_commit leaves the offsets as given; a partition error is what went wrong */
      if (!err && !tp->err) member.committed[tp->partition] = tp->offset;
    }
    event("commit %s %s", err ? rd_kafka_err2name(err) : "NO_ERROR", buf);
  }
  member.since_commit = 0;
  rd_kafka_topic_partition_list_destroy(offsets);
}

/* Forgets what was printed of partitions that are no longer ours: their next owner commits. */
static void forget(const rd_kafka_topic_partition_list_t *parts) {
  for (int i = 0; i < parts->cnt; i++) {
    int32_t p = parts->elems[i].partition;
    if (p >= 0 && p < PARTITIONS_MAX && !strcmp(parts->elems[i].topic, member.topic))
      member.next[p] = member.committed[p] = -1;
  }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  (void)opaque;
  const char *protocol = rd_kafka_rebalance_protocol(rk);
  bool cooperative = protocol && !strcmp(protocol, "COOPERATIVE");
  char buf[1024], *member_id = rd_kafka_memberid(rk);
  rd_kafka_error_t *error = NULL;
  rd_kafka_resp_err_t aerr = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative)
      error = rd_kafka_incremental_assign(rk, parts);
    else
      aerr = rd_kafka_assign(rk, parts);
    if (cooperative ? error == NULL : aerr == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (!cooperative) memset(member.owned, 0, sizeof member.owned);
      partitions_mark(member.owned, parts, true);
    }
    event("assign %" PRId32 " %s %s %s", generation(), member_id ? member_id : "-",
          protocol ? protocol : "NONE", partitions_str(parts, buf, sizeof buf));
  } else {
    bool lost = rd_kafka_assignment_lost(rk);
    if (lost)
      event("lost %s", partitions_str(parts, buf, sizeof buf));
    else
      commit_printed(parts); /* before the partitions go to another member */
    if (cooperative)
      error = rd_kafka_incremental_unassign(rk, parts);
    else
      aerr = rd_kafka_assign(rk, NULL);
    forget(parts);
    if (cooperative)
      partitions_mark(member.owned, parts, false);
    else
      memset(member.owned, 0, sizeof member.owned);
    if (!lost)
      event("revoke %" PRId32 " %s %s %s", generation(), member_id ? member_id : "-",
            protocol ? protocol : "NONE", partitions_str(parts, buf, sizeof buf));
  }
  if (error) {
    event("error %s %s", rd_kafka_err2name(rd_kafka_error_code(error)),
          rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  }
  if (aerr) event("error %s assign: %s", rd_kafka_err2name(aerr), rd_kafka_err2str(aerr));
  event("owned %" PRId32 " %s", generation(), set_str(member.owned, buf, sizeof buf));
  if (member_id) rd_kafka_mem_free(rk, member_id);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  (void)rk, (void)opaque;
  char clean[512];
  snprintf(clean, sizeof clean, "%s", reason ? reason : "");
  for (char *c = clean; *c; c++)
    if (*c == '\n' || *c == '\r') *c = ' ';
  event("error %s %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), clean);
}

/* One line from stdin when one is ready: 1 with a command in line, 0 for none, -1 at EOF. */
static int read_command(char *line, size_t size) {
  static char pending[256];
  static size_t pending_len;
  struct pollfd pfd = {.fd = 0, .events = POLLIN};
  for (;;) {
    char *nl = memchr(pending, '\n', pending_len);
    if (nl) {
      size_t n = (size_t)(nl - pending);
      snprintf(line, size, "%.*s", (int)n, pending);
      memmove(pending, nl + 1, pending_len - n - 1);
      pending_len -= n + 1;
      return 1;
    }
    if (poll(&pfd, 1, 0) <= 0) return 0;
    if (pending_len == sizeof pending) pending_len = 0; /* an overlong line: drop it */
    ssize_t got = read(0, pending + pending_len, sizeof pending - pending_len);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;
    pending_len += (size_t)got;
  }
}

static int cmd_member(const char *group, const char *topic, long max, long commit_every,
                      long lifetime_ms) {
  static const char *const defaults[] = {"enable.auto.commit",
                                         "false",
                                         "enable.auto.offset.store",
                                         "false",
                                         "auto.offset.reset",
                                         "earliest",
                                         "session.timeout.ms",
                                         "6000",
                                         "heartbeat.interval.ms",
                                         "500",
                                         "max.poll.interval.ms",
                                         "10000",
                                         "fetch.wait.max.ms",
                                         "100",
                                         "topic.metadata.refresh.interval.ms",
                                         "2000",
                                         NULL};
  member.topic = topic;
  member.max = max;
  member.commit_every = commit_every;
  for (int p = 0; p < PARTITIONS_MAX; p++) member.next[p] = member.committed[p] = -1;
  gen_calibrate();
  if (!member.gen_offset_known) event("error _INVALID_ARG generation id not found in metadata");

  rd_kafka_conf_t *conf = conf_new(defaults);
  conf_set(conf, "group.id", group);
  rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
  rd_kafka_conf_set_error_cb(conf, on_error);
  member.rk = client_new(RD_KAFKA_CONSUMER, conf);
  rd_kafka_poll_set_consumer(member.rk);

  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(member.rk, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if (err) die("subscribe: %s", rd_kafka_err2str(err));

  double deadline = mono_ms() + (double)lifetime_ms;
  char line[256];
  for (;;) {
    int got = read_command(line, sizeof line);
    if (got < 0 || (got > 0 && !strcmp(line, "close")) || mono_ms() > deadline) break;
    if (got > 0 && !strcmp(line, "commit")) commit_printed(NULL);

    rd_kafka_message_t *m = rd_kafka_consumer_poll(member.rk, 50);
    if (!m) continue;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        event("error %s %s", rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      continue;
    }
    int32_t p = m->partition;
    if (p < 0 || p >= PARTITIONS_MAX) die("partition %" PRId32 " out of range", p);
    if (member.max >= 0 && member.printed >= member.max) {
      rd_kafka_message_destroy(m); /* dropped: not printed, not committed */
      continue;
    }
    event("msg %" PRId32 " %" PRId64 " %.*s", p, m->offset, (int)m->len,
          m->payload ? (const char *)m->payload : "");
    member.next[p] = m->offset + 1;
    member.printed++;
    member.since_commit++;
    rd_kafka_message_destroy(m);
    if (member.commit_every > 0 && member.since_commit >= member.commit_every) commit_printed(NULL);
    if (member.max >= 0 && member.printed == member.max) {
      commit_printed(NULL);
      event("max");
    }
  }
  commit_printed(NULL);
  member.closing = true;
  err = rd_kafka_consumer_close(member.rk); /* revokes (rebalance callback), LeaveGroup */
  if (err) event("error %s close: %s", rd_kafka_err2name(err), rd_kafka_err2str(err));
  rd_kafka_destroy(member.rk);
  event("closed");
  return 0;
}

/* ---- produce ------------------------------------------------------------------------------ */

struct delivery {
  int done, delivered, kinds;
  rd_kafka_resp_err_t kind_errs[ERROR_KINDS_MAX];
  int kind_counts[ERROR_KINDS_MAX];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  struct delivery *d = opaque;
  d->done++;
  if (!m->err) {
    d->delivered++;
    return;
  }
  int k = 0;
  while (k < d->kinds && d->kind_errs[k] != m->err) k++;
  if (k == d->kinds && d->kinds < ERROR_KINDS_MAX) d->kind_errs[d->kinds++] = m->err;
  if (k < d->kinds) d->kind_counts[k]++;
}

static int cmd_produce(const char *topic, int partitions, int count, int first) {
  static const char *const defaults[] = {"acks", "all", "linger.ms", "5", NULL};
  struct delivery d = {0};
  rd_kafka_conf_t *conf = conf_new(defaults);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &d);
  rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf);
  for (int i = first; i < first + count; i++) {
    char key[32], value[32];
    snprintf(key, sizeof key, "k%06d", i);
    snprintf(value, sizeof value, "m%06d", i);
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(i % partitions),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, strlen(key)),
          RD_KAFKA_V_VALUE(value, strlen(value)), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("producev %d: %s", i, rd_kafka_err2str(err));
      rd_kafka_poll(rk, 10);
    }
    rd_kafka_poll(rk, 0);
  }
  double deadline = mono_ms() + 2 * TIMEOUT_MS;
  while (d.done < count && mono_ms() < deadline) rd_kafka_poll(rk, 50);
  printf("{\"produced\":%d,\"reported\":%d,\"delivered\":%d,\"errors\":{", count, d.done,
         d.delivered);
  for (int k = 0; k < d.kinds; k++) {
    printf("%s", k ? "," : "");
    json_str(rd_kafka_err2name(d.kind_errs[k]));
    printf(":%d", d.kind_counts[k]);
  }
  printf("}}\n");
  rd_kafka_destroy(rk);
  return 0;
}

/* ---- committed ---------------------------------------------------------------------------- */

static int cmd_committed(const char *group, const char *topic, int partitions) {
  static const char *const defaults[] = {"enable.auto.commit", "false", NULL};
  rd_kafka_conf_t *conf = conf_new(defaults);
  conf_set(conf, "group.id", group);
  rd_kafka_t *rk = client_new(RD_KAFKA_CONSUMER, conf);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; p++) rd_kafka_topic_partition_list_add(parts, topic, p);
  rd_kafka_resp_err_t err = rd_kafka_committed(rk, parts, TIMEOUT_MS);
  printf("{\"error\":");
  json_str(err ? rd_kafka_err2name(err) : NULL);
  printf(",\"offsets\":[");
  for (int i = 0; i < parts->cnt; i++) printf("%s%" PRId64, i ? "," : "", parts->elems[i].offset);
  printf("],\"errors\":[");
  for (int i = 0; i < parts->cnt; i++) {
    printf("%s", i ? "," : "");
    json_str(parts->elems[i].err ? rd_kafka_err2name(parts->elems[i].err) : NULL);
  }
  printf("]}\n");
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return 0;
}

/* ---- describe ----------------------------------------------------------------------------- */

static const char *group_state_name(rd_kafka_consumer_group_state_t state) {
  return rd_kafka_consumer_group_state_name(state);
}

static int cmd_describe(const char **groups, int count) {
  rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf_new(NULL));
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_DescribeConsumerGroups(rk, groups, (size_t)count, NULL, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, TIMEOUT_MS * 2);
  if (!ev) die("no DescribeConsumerGroups result");
  rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
  printf("{\"error\":");
  json_str(err ? rd_kafka_event_error_string(ev) : NULL);
  printf(",\"groups\":[");
  const rd_kafka_DescribeConsumerGroups_result_t *res =
      rd_kafka_event_DescribeConsumerGroups_result(ev);
  size_t n = 0;
  const rd_kafka_ConsumerGroupDescription_t **descs =
      res ? rd_kafka_DescribeConsumerGroups_result_groups(res, &n) : NULL;
  for (size_t i = 0; i < n; i++) {
    const rd_kafka_ConsumerGroupDescription_t *g = descs[i];
    const rd_kafka_error_t *gerr = rd_kafka_ConsumerGroupDescription_error(g);
    printf("%s{\"group\":", i ? "," : "");
    json_str(rd_kafka_ConsumerGroupDescription_group_id(g));
    printf(",\"error\":");
    json_str(gerr ? rd_kafka_error_name(gerr) : NULL);
    printf(",\"state\":");
    json_str(group_state_name(rd_kafka_ConsumerGroupDescription_state(g)));
    printf(",\"assignor\":");
    json_str(rd_kafka_ConsumerGroupDescription_partition_assignor(g));
    printf(",\"simple\":%s,\"members\":[",
           rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(g) ? "true" : "false");
    size_t members = rd_kafka_ConsumerGroupDescription_member_count(g);
    for (size_t k = 0; k < members; k++) {
      const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(g, k);
      printf("%s{\"member_id\":", k ? "," : "");
      json_str(rd_kafka_MemberDescription_consumer_id(m));
      printf(",\"client_id\":");
      json_str(rd_kafka_MemberDescription_client_id(m));
      printf(",\"instance_id\":");
      json_str(rd_kafka_MemberDescription_group_instance_id(m));
      printf(",\"host\":");
      json_str(rd_kafka_MemberDescription_host(m));
      printf(",\"partitions\":[");
      const rd_kafka_MemberAssignment_t *a = rd_kafka_MemberDescription_assignment(m);
      const rd_kafka_topic_partition_list_t *parts =
          a ? rd_kafka_MemberAssignment_partitions(a) : NULL;
      for (int j = 0; parts && j < parts->cnt; j++) {
        printf("%s[", j ? "," : "");
        json_str(parts->elems[j].topic);
        printf(",%" PRId32 "]", parts->elems[j].partition);
      }
      printf("]}");
    }
    printf("]}");
  }
  printf("]}\n");
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return 0;
}

/* ---- list, delete ------------------------------------------------------------------------- */

/* Runs an admin request (started by the caller on q) and returns its result event, printing
 * {"error": ...,  the caller continues the object. */
static rd_kafka_event_t *admin_result(rd_kafka_queue_t *q, const char *what) {
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, TIMEOUT_MS * 2);
  if (!ev) die("no %s result", what);
  printf("{\"error\":");
  json_str(rd_kafka_event_error(ev) ? rd_kafka_event_error_string(ev) : NULL);
  return ev;
}

static int cmd_list_groups(void) {
  rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf_new(NULL));
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_ListConsumerGroups(rk, NULL, q);
  rd_kafka_event_t *ev = admin_result(q, "ListConsumerGroups");
  const rd_kafka_ListConsumerGroups_result_t *res = rd_kafka_event_ListConsumerGroups_result(ev);
  size_t n = 0, errs = 0;
  const rd_kafka_ConsumerGroupListing_t **groups =
      res ? rd_kafka_ListConsumerGroups_result_valid(res, &n) : NULL;
  printf(",\"groups\":[");
  for (size_t i = 0; i < n; i++) {
    printf("%s{\"group\":", i ? "," : "");
    json_str(rd_kafka_ConsumerGroupListing_group_id(groups[i]));
    printf(",\"state\":");
    json_str(group_state_name(rd_kafka_ConsumerGroupListing_state(groups[i])));
    printf(",\"simple\":%s}",
           rd_kafka_ConsumerGroupListing_is_simple_consumer_group(groups[i]) ? "true" : "false");
  }
  const rd_kafka_error_t **errors =
      res ? rd_kafka_ListConsumerGroups_result_errors(res, &errs) : NULL;
  printf("],\"errors\":[");
  for (size_t i = 0; i < errs; i++) {
    printf("%s", i ? "," : "");
    json_str(rd_kafka_error_name(errors[i]));
  }
  printf("]}\n");
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return 0;
}

static int cmd_delete_groups(const char **names, int count) {
  rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf_new(NULL));
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_DeleteGroup_t *del[32];
  if (count > 32) die("too many groups");
  for (int i = 0; i < count; i++) del[i] = rd_kafka_DeleteGroup_new(names[i]);
  rd_kafka_DeleteGroups(rk, del, (size_t)count, NULL, q);
  rd_kafka_DeleteGroup_destroy_array(del, (size_t)count);
  rd_kafka_event_t *ev = admin_result(q, "DeleteGroups");
  const rd_kafka_DeleteGroups_result_t *res = rd_kafka_event_DeleteGroups_result(ev);
  size_t n = 0;
  const rd_kafka_group_result_t **groups =
      res ? rd_kafka_DeleteGroups_result_groups(res, &n) : NULL;
  printf(",\"groups\":[");
  for (size_t i = 0; i < n; i++) {
    const rd_kafka_error_t *gerr = rd_kafka_group_result_error(groups[i]);
    printf("%s{\"group\":", i ? "," : "");
    json_str(rd_kafka_group_result_name(groups[i]));
    printf(",\"error\":");
    json_str(gerr ? rd_kafka_error_name(gerr) : NULL);
    printf("}");
  }
  printf("]}\n");
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return 0;
}

static int cmd_delete_offsets(const char *group, const char *topic, const char **partitions,
                              int count) {
  rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf_new(NULL));
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(count);
  for (int i = 0; i < count; i++)
    rd_kafka_topic_partition_list_add(parts, topic, atoi(partitions[i]));
  rd_kafka_DeleteConsumerGroupOffsets_t *del =
      rd_kafka_DeleteConsumerGroupOffsets_new(group, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_DeleteConsumerGroupOffsets(rk, &del, 1, NULL, q);
  rd_kafka_DeleteConsumerGroupOffsets_destroy(del);
  rd_kafka_event_t *ev = admin_result(q, "DeleteConsumerGroupOffsets");
  const rd_kafka_DeleteConsumerGroupOffsets_result_t *res =
      rd_kafka_event_DeleteConsumerGroupOffsets_result(ev);
  size_t n = 0;
  const rd_kafka_group_result_t **groups =
      res ? rd_kafka_DeleteConsumerGroupOffsets_result_groups(res, &n) : NULL;
  printf(",\"group\":");
  json_str(n ? rd_kafka_group_result_name(groups[0]) : NULL);
  const rd_kafka_error_t *gerr = n ? rd_kafka_group_result_error(groups[0]) : NULL;
  printf(",\"group_error\":");
  json_str(gerr ? rd_kafka_error_name(gerr) : NULL);
  printf(",\"partitions\":[");
  const rd_kafka_topic_partition_list_t *res_parts =
      n ? rd_kafka_group_result_partitions(groups[0]) : NULL;
  for (int i = 0; res_parts && i < res_parts->cnt; i++) {
    printf("%s[%" PRId32 ",", i ? "," : "", res_parts->elems[i].partition);
    json_str(res_parts->elems[i].err ? rd_kafka_err2name(res_parts->elems[i].err) : NULL);
    printf("]");
  }
  printf("]}\n");
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return 0;
}

int main(int argc, char **argv) {
  const char *args[32];
  int nargs = 0;
  long max = -1, commit_every = 0, lifetime_ms = LIFETIME_MS_DEFAULT;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-X") && i + 1 < argc) {
      if (conf_count == CONF_MAX) die("too many -X");
      conf_pairs[conf_count++] = argv[++i];
    } else if (!strcmp(argv[i], "--max") && i + 1 < argc) {
      max = atol(argv[++i]);
    } else if (!strcmp(argv[i], "--commit-every") && i + 1 < argc) {
      commit_every = atol(argv[++i]);
    } else if (!strcmp(argv[i], "--lifetime-ms") && i + 1 < argc) {
      lifetime_ms = atol(argv[++i]);
    } else if (nargs < 32) {
      args[nargs++] = argv[i];
    } else {
      die("too many arguments");
    }
  }
  if (nargs < 2) die("usage: rdkafka_groups BOOTSTRAP COMMAND ARGS... [-X KEY=VALUE]...");
  bootstrap = args[0];
  const char *cmd = args[1];
  if (!strcmp(cmd, "member") && nargs == 4)
    return cmd_member(args[2], args[3], max, commit_every, lifetime_ms);
  if (!strcmp(cmd, "produce") && (nargs == 5 || nargs == 6))
    return cmd_produce(args[2], atoi(args[3]), atoi(args[4]), nargs == 6 ? atoi(args[5]) : 0);
  if (!strcmp(cmd, "committed") && nargs == 5)
    return cmd_committed(args[2], args[3], atoi(args[4]));
  if (!strcmp(cmd, "describe") && nargs >= 3) return cmd_describe(args + 2, nargs - 2);
  if (!strcmp(cmd, "list-groups") && nargs == 2) return cmd_list_groups();
  if (!strcmp(cmd, "delete-groups") && nargs >= 3) return cmd_delete_groups(args + 2, nargs - 2);
  if (!strcmp(cmd, "delete-offsets") && nargs >= 5)
    return cmd_delete_offsets(args[2], args[3], args + 4, nargs - 4);
  die("unknown command or wrong arguments: %s", cmd);
  return 2;
}
