/* Produce (advertised v0-13; v0-2 answered UNSUPPORTED_VERSION) as Apache Kafka 4.3's
 * KafkaApis.handleProduceRequest, ReplicaManager.appendRecords and DelayedProduce.
 *
 * Design note.
 *  - Request-wide refusals first: v0-2 (message format v2 only: every partition
 *    UNSUPPORTED_VERSION, KAFKA-18659 keeps them advertised), transactional records without a
 *    transactional id (every partition TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
 *  - Then per partition, in Kafka's order: unknown topic (UNKNOWN_TOPIC_OR_PARTITION; by id in
 *    v13: UNKNOWN_TOPIC_ID), the records' shape (bc_check_request: INVALID_RECORD,
 *    UNSUPPORTED_COMPRESSION_TYPE), acks other than -1/0/1 (INVALID_REQUIRED_ACKS), internal
 *    topics written by clients other than "__admin_client" (INVALID_TOPIC_EXCEPTION), the
 *    partition (UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER with the leader in v10+),
 *    acks=-1 with fewer in-sync replicas than min.insync.replicas (NOT_ENOUGH_REPLICAS),
 *    transactional batches (INVALID_TXN_STATE: Quire has no transaction coordinator yet, so no
 *    transaction can be ongoing), then the batch (batch_convert.h: size, CRC, records,
 *    recompression, LogAppendTime) and the append (plog_append: producer state checks, disk).
 *  - The append stores the request's own bytes (the frame is writable: plog_append rewrites
 *    baseOffset and partitionLeaderEpoch in place) unless the batch was rewritten.
 *  - acks=0 answers nothing; a partition error closes the connection instead (Kafka does, so the
 *    producer learns something went wrong). acks=1 answers after the append. acks=-1 waits until
 *    every appended partition's high watermark reaches its batch's end (on one replica the HW is
 *    the durable end, DESIGN.md "Durability"): a waiter per partition, woken when the HW moves,
 *    and a timer of timeout_ms after which the partitions still short answer REQUEST_TIMED_OUT
 *    (their base offsets stay: the records were appended). A retried duplicate waits for its
 *    original batch. A log that goes meanwhile answers NOT_LEADER_OR_FOLLOWER.
 *
 * States of a produce_op (acks=-1 only): built in the handler -> answered at once, or WAITING
 * (waiters and timer armed, in the broker's pending list) -> READY (all waiters satisfied: the
 * event is activated) -> answered from the event (produce_complete), freed with the request's
 * arena. Completion never happens inside the partitions module's wake walk. */
#include "handle_produce.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_convert.h"
#include "dispatch.h"
#include "errors.h"
#include "log.h"
#include "partitions.h"
#include "record_batch.h"
#include "topic_config.h"
#include "topics.h"

struct produce_op;

struct produce_part {
  struct produce_op *op;
  struct msg_produce_response_partition_produce_response *resp;
  struct plog *log;
  int64_t required; /* the high watermark the answer waits for */
  bool waiting;
  struct partition_waiter waiter;
};

struct produce_op {
  struct broker *b;
  struct deferred *d;
  struct event *event; /* the timer; activated when ready */
  struct produce_part *parts;
  size_t count, waiting;
  bool ready;
  struct produce_op *prev, *next; /* the pending list */
};

/* The settings a topic's batches are checked against, cached by topic name: building them
 * from the config strings on every request cost several per cent of a busy broker. An entry
 * is valid for the metadata round it was built in. */
enum { POLICY_CACHE_SLOTS = 256 };
struct policy_entry {
  char *name; /* NULL: empty */
  uint64_t round;
  struct bc_policy pol;
  int32_t min_isr;
};

struct produce_state {
  struct produce_op *pending;
  struct policy_entry policies[POLICY_CACHE_SLOTS];
};

/* ---- waiting (acks=-1) ---- */

static void pending_unlink(struct produce_op *op) {
  struct produce_state *st = op->b->produce;
  if (op->prev != NULL)
    op->prev->next = op->next;
  else
    st->pending = op->next;
  if (op->next != NULL) op->next->prev = op->prev;
  op->prev = op->next = NULL;
}

/* Answers (or drops, when close) a waiting produce; frees op with the arena. */
static void produce_complete(struct produce_op *op, bool close) {
  for (size_t i = 0; i < op->count; i++) {
    struct produce_part *part = &op->parts[i];
    if (!part->waiting) continue;
    partitions_unwait(op->b, &part->waiter);
    part->waiting = false;
    part->resp->error_code = ERR_REQUEST_TIMED_OUT; /* DelayedProduce.onExpiration */
  }
  pending_unlink(op);
  event_free(op->event);
  op->event = NULL;
  deferred_complete(op->d, close);
}

static void on_event(evutil_socket_t fd, short events, void *arg) {
  (void)fd;
  (void)events;
  produce_complete(arg, false);
}

/* DelayedProduce.tryComplete for one partition. */
static void on_wake(struct partition_waiter *w, struct broker *b, bool gone) {
  struct produce_part *part = w->arg;
  struct produce_op *op = part->op;
  if (gone)
    part->resp->error_code = ERR_NOT_LEADER_OR_FOLLOWER;
  else if (plog_high_watermark(w->log) < part->required)
    return;
  partitions_unwait(b, w);
  part->waiting = false;
  if (--op->waiting == 0 && !op->ready) {
    op->ready = true;
    event_active(op->event, EV_TIMEOUT, 1);
  }
}

/* Defers the produce; false when it cannot wait (then it is answered at once). */
static bool produce_wait(struct produce_op *op, struct request_ctx *ctx, int32_t timeout_ms) {
  struct broker *b = op->b;
  if (b->produce == NULL && (b->produce = calloc(1, sizeof(*b->produce))) == NULL) return false;
  if (b->base == NULL) return false;
  op->event = event_new(b->base, -1, 0, on_event, op);
  if (op->event == NULL) return false;
  int32_t ms = timeout_ms > 0 ? timeout_ms : 0;
  struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
  if (event_add(op->event, &tv) != 0 || (op->d = request_defer(ctx)) == NULL) {
    event_free(op->event);
    op->event = NULL;
    return false;
  }
  for (size_t i = 0; i < op->count; i++) {
    struct produce_part *part = &op->parts[i];
    if (!part->waiting) continue;
    part->waiter.wake = on_wake;
    part->waiter.arg = part;
    partitions_wait(b, part->log, &part->waiter);
  }
  op->next = b->produce->pending;
  if (op->next != NULL) op->next->prev = op;
  b->produce->pending = op;
  return true;
}

void produce_shutdown(struct broker *b) {
  struct produce_state *st = b->produce;
  if (st == NULL) return;
  while (st->pending != NULL) produce_complete(st->pending, true);
  for (size_t i = 0; i < POLICY_CACHE_SLOTS; i++) free(st->policies[i].name);
  free(st);
  b->produce = NULL;
}

/* ---- one partition ---- */

/* The topic's settings as the batch checks need them. -1: out of arena. */
static int topic_policy_build(struct broker *b, const struct image_topic *t, int16_t version,
                              struct wire_arena *a, struct bc_policy *pol, int32_t *min_isr) {
  size_t n = t->configs.count;
  struct config_override *ov = wire_arena_alloc_array(a, n + 1, sizeof(*ov));
  if (ov == NULL) return -1;
  for (size_t i = 0; i < n; i++) {
    ov[i].name = t->configs.items[i].name;
    ov[i].value = t->configs.items[i].value;
  }
  struct topic_settings st;
  topic_config_settings(b->cfg, ov, (int)n, &st);
  static const int codecs[] = {
      [TOPIC_COMPRESSION_PRODUCER] = BC_CODEC_PRODUCER,
      [TOPIC_COMPRESSION_UNCOMPRESSED] = RB_COMPRESSION_NONE,
      [TOPIC_COMPRESSION_GZIP] = RB_COMPRESSION_GZIP,
      [TOPIC_COMPRESSION_SNAPPY] = RB_COMPRESSION_SNAPPY,
      [TOPIC_COMPRESSION_LZ4] = RB_COMPRESSION_LZ4,
      [TOPIC_COMPRESSION_ZSTD] = RB_COMPRESSION_ZSTD,
  };
  *pol = (struct bc_policy){
      .target_codec = codecs[st.compression],
      .gzip_level = st.compression_gzip_level,
      .lz4_level = st.compression_lz4_level,
      .zstd_level = st.compression_zstd_level,
      .log_append_time = st.log_append_time,
      .timestamp_before_max_ms = st.timestamp_before_max_ms,
      .timestamp_after_max_ms = st.timestamp_after_max_ms,
      .compacted = st.cleanup_compact,
      .max_message_bytes = st.plog.max_message_bytes,
      .inflated_max = BC_INFLATED_MAX_DEFAULT,
      .api_version = version,
  };
  *min_isr = st.min_insync_replicas;
  return 0;
}

static size_t name_slot(const char *name) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (const char *p = name; *p != '\0'; p++) h = (h ^ (uint8_t)*p) * 1099511628211ULL;
  return (size_t)(h % POLICY_CACHE_SLOTS);
}

/* topic_policy_build through the cache. -1: out of memory. */
static int topic_policy(struct broker *b, const struct image_topic *t, int16_t version,
                        struct wire_arena *a, struct bc_policy *pol, int32_t *min_isr) {
  if (b->produce == NULL && (b->produce = calloc(1, sizeof(*b->produce))) == NULL) return -1;
  struct policy_entry *e = &b->produce->policies[name_slot(t->name)];
  if (e->name == NULL || e->round != b->metadata_round || strcmp(e->name, t->name) != 0) {
    if (topic_policy_build(b, t, version, a, &e->pol, &e->min_isr) != 0) return -1;
    char *name = strdup(t->name);
    if (name == NULL) return -1;
    free(e->name);
    e->name = name;
    e->round = b->metadata_round;
  }
  *pol = e->pol;
  pol->api_version = version;
  *min_isr = e->min_isr;
  return 0;
}

/* The error plog_append's status stands for. */
static int16_t append_error(int rc, const struct plog_append_info *info, uint8_t *data,
                            size_t size) {
  struct record_batch b;
  switch (rc) {
  case -EPROTO: return pstate_result_kafka_error(info->producer_result);
  case -EBADMSG: { /* the CRC or the records: tell which */
    int16_t error = rb_status_kafka_error(rb_validate(data, size, &b));
    return error != ERR_NONE ? error : ERR_CORRUPT_MESSAGE;
  }
  case -EMSGSIZE: return ERR_MESSAGE_TOO_LARGE;
  default: return plog_is_disk_error(rc) ? ERR_KAFKA_STORAGE_ERROR : ERR_UNKNOWN_SERVER_ERROR;
  }
}

/* Checks, maybe rewrites, and appends one partition's records. -1: out of memory. */
static int produce_partition(struct request_ctx *ctx, const struct image_topic *t, int32_t index,
                             struct plog *log, uint8_t *data, size_t size,
                             const struct bc_policy *pol, int64_t now_ms,
                             struct produce_part *part) {
  struct msg_produce_response_partition_produce_response *pr = part->resp;
  struct wire_arena *a = ctx->arena;
  size_t tp_size = strlen(t->name) + 16;
  char *tp = wire_arena_alloc(a, tp_size);
  if (tp == NULL) return -1;
  snprintf(tp, tp_size, "%s-%d", t->name, index);
  struct bc_result r;
  if (bc_prepare(data, size, pol, now_ms, tp, a, &r) != 0) return -1;
  if (r.error != ERR_NONE) {
    pr->error_code = r.error;
    if (r.error_message != NULL) pr->error_message = wire_str_of(r.error_message);
    if (r.record_error_count > 0) {
      pr->record_errors.items =
          wire_arena_alloc_array(a, (size_t)r.record_error_count, sizeof(*pr->record_errors.items));
      if (pr->record_errors.items == NULL) return -1;
      pr->record_errors.count = r.record_error_count;
      for (int32_t i = 0; i < r.record_error_count; i++) {
        msg_produce_response_batch_index_and_error_message_init(&pr->record_errors.items[i]);
        pr->record_errors.items[i].batch_index = r.record_errors[i].batch_index;
        pr->record_errors.items[i].batch_index_error_message =
            wire_str_of(r.record_errors[i].message);
      }
    }
    return 0;
  }
  struct plog_append_info info;
  int rc = plog_append(log, r.data, r.size, t->partitions[index].leader_epoch, now_ms, &info);
  if (rc != 0) {
    pr->error_code = append_error(rc, &info, r.data, r.size);
    if (pr->error_code == ERR_KAFKA_STORAGE_ERROR)
      log_error("storage", "appending to %s: %s", tp, strerror(-rc));
    bc_result_release(&r);
    return 0;
  }
  bc_result_release(&r); /* the log has the bytes */
  if (!info.duplicate) partitions_appended(ctx->broker, log);
  pr->error_code = ERR_NONE;
  pr->base_offset = info.base_offset;
  pr->log_append_time_ms = !pol->log_append_time ? -1
                           : info.duplicate      ? info.duplicate_timestamp
                                                 : r.log_append_time_ms;
  pr->log_start_offset = plog_log_start(log);
  part->log = log;
  part->required = info.last_offset + 1;
  return 0;
}

/* KIP-951 (v10+): where the leader of the NOT_LEADER_OR_FOLLOWER partitions is. */
static int add_node_endpoints(struct request_ctx *ctx, struct msg_produce_response *resp,
                              const struct produce_op *op) {
  for (size_t i = 0; i < op->count; i++) {
    const struct msg_produce_response_partition_produce_response *pr = op->parts[i].resp;
    int32_t leader = pr->current_leader.leader_id;
    if (pr->error_code != ERR_NOT_LEADER_OR_FOLLOWER || leader < 0) continue;
    bool known = false;
    for (int32_t e = 0; e < resp->node_endpoints.count; e++)
      known |= resp->node_endpoints.items[e].node_id == leader;
    const struct image_broker *br = known ? NULL : image_broker_find(&op->b->image, leader);
    const struct image_endpoint *ep = br != NULL ? image_broker_endpoint(br, ctx->listener) : NULL;
    if (ep == NULL) continue;
    if (resp->node_endpoints.items == NULL) {
      resp->node_endpoints.items =
          wire_arena_alloc_array(ctx->arena, op->count, sizeof(*resp->node_endpoints.items));
      if (resp->node_endpoints.items == NULL) return -1;
      resp->node_endpoints.count = 0;
    }
    struct msg_produce_response_node_endpoint *ne =
        &resp->node_endpoints.items[resp->node_endpoints.count++];
    msg_produce_response_node_endpoint_init(ne);
    ne->node_id = br->node_id;
    ne->host = wire_str_of(ep->host);
    ne->port = ep->port;
    ne->rack = br->rack[0] != '\0' ? wire_str_of(br->rack) : (struct wire_str){NULL, -1};
  }
  return 0;
}

static bool has_transactional_records(const struct msg_produce_request *req) {
  for (int32_t i = 0; i < req->topic_data.count; i++) {
    const struct msg_produce_request_topic_produce_data *td = &req->topic_data.items[i];
    for (int32_t j = 0; j < td->partition_data.count; j++) {
      struct wire_bytes r = td->partition_data.items[j].records;
      if (r.len > RB_ATTRIBUTES_OFFSET + 1 && r.ptr[RB_MAGIC_OFFSET] == RB_MAGIC_V2 &&
          (r.ptr[RB_ATTRIBUTES_OFFSET + 1] & RB_ATTR_TRANSACTIONAL) != 0)
        return true;
    }
  }
  return false;
}

int handle_produce(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_produce_request *req = request;
  struct msg_produce_response *resp = response;
  struct broker *b = ctx->broker;
  struct wire_arena *a = ctx->arena;
  int16_t version = ctx->api_version;
  int32_t topic_count = req->topic_data.count > 0 ? req->topic_data.count : 0;
  size_t total = 0;
  for (int32_t i = 0; i < topic_count; i++)
    if (req->topic_data.items[i].partition_data.count > 0)
      total += (size_t)req->topic_data.items[i].partition_data.count;

  struct produce_op *op = wire_arena_alloc(a, sizeof(*op));
  resp->responses.items =
      wire_arena_alloc_array(a, (size_t)topic_count + 1, sizeof(*resp->responses.items));
  if (op == NULL || resp->responses.items == NULL) return -1;
  memset(op, 0, sizeof(*op));
  op->b = b;
  op->parts = wire_arena_alloc_array(a, total + 1, sizeof(*op->parts));
  if (op->parts == NULL) return -1;
  resp->responses.count = topic_count;

  int16_t request_error = ERR_NONE;
  if (version < 3)
    request_error = ERR_UNSUPPORTED_VERSION; /* message format v2 only */
  else if (req->transactional_id.len < 0 && has_transactional_records(req))
    request_error = ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  bool acks_valid = req->acks == 0 || req->acks == 1 || req->acks == -1;
  bool admin_client = wire_str_eq(ctx->header->client_id, "__admin_client");
  int64_t now_ms = broker_now_ms();
  bool any_error = false, any_not_leader = false;

  for (int32_t i = 0; i < topic_count; i++) {
    const struct msg_produce_request_topic_produce_data *td = &req->topic_data.items[i];
    struct msg_produce_response_topic_produce_response *tr = &resp->responses.items[i];
    msg_produce_response_topic_produce_response_init(tr);
    tr->name = td->name;
    tr->topic_id = td->topic_id;
    const struct image_topic *t = NULL;
    if (request_error == ERR_NONE) {
      if (version >= 13)
        t = image_topic_by_id(&b->image, &td->topic_id);
      else if (td->name.len >= 0)
        t = image_topic_find(&b->image, td->name.ptr, (size_t)td->name.len);
    }
    int32_t pn = td->partition_data.count > 0 ? td->partition_data.count : 0;
    tr->partition_responses.items =
        wire_arena_alloc_array(a, (size_t)pn + 1, sizeof(*tr->partition_responses.items));
    if (tr->partition_responses.items == NULL) return -1;
    tr->partition_responses.count = pn;
    struct bc_policy pol;
    int32_t min_isr = 1;
    bool have_policy = false;
    for (int32_t j = 0; j < pn; j++) {
      const struct msg_produce_request_partition_produce_data *pd = &td->partition_data.items[j];
      struct msg_produce_response_partition_produce_response *pr =
          &tr->partition_responses.items[j];
      msg_produce_response_partition_produce_response_init(pr);
      pr->index = pd->index;
      pr->base_offset = -1;
      pr->log_append_time_ms = -1;
      pr->log_start_offset = -1;
      struct produce_part *part = &op->parts[op->count++];
      memset(part, 0, sizeof(*part));
      part->op = op;
      part->resp = pr;
      /* the records borrow the request frame, which is ours to rewrite in place */
      uint8_t *data = (uint8_t *)(uintptr_t)pd->records.ptr;
      size_t size = pd->records.len > 0 ? (size_t)pd->records.len : 0;
      struct plog *log = NULL;
      int16_t err = request_error;
      if (err == ERR_NONE && t == NULL)
        err = version >= 13 ? ERR_UNKNOWN_TOPIC_ID : ERR_UNKNOWN_TOPIC_OR_PARTITION;
      if (err == ERR_NONE) err = bc_check_request(data, size, version);
      if (err == ERR_NONE && !acks_valid) err = ERR_INVALID_REQUIRED_ACKS;
      if (err == ERR_NONE && topic_is_internal(wire_str_of(t->name)) && !admin_client)
        err = ERR_INVALID_TOPIC_EXCEPTION;
      if (err == ERR_NONE) {
        err = partitions_get(b, t, pd->index, &log);
        if (err == ERR_NOT_LEADER_OR_FOLLOWER) {
          pr->current_leader.leader_id = t->partitions[pd->index].leader;
          pr->current_leader.leader_epoch = t->partitions[pd->index].leader_epoch;
          any_not_leader = true;
        }
      }
      if (err == ERR_NONE && !have_policy) {
        if (topic_policy(b, t, version, a, &pol, &min_isr) != 0) return -1;
        have_policy = true;
      }
      if (err == ERR_NONE && req->acks == -1 && t->partitions[pd->index].isr_count < min_isr)
        err = ERR_NOT_ENOUGH_REPLICAS;
      if (err == ERR_NONE && (data[RB_ATTRIBUTES_OFFSET + 1] & RB_ATTR_TRANSACTIONAL) != 0)
        err = ERR_INVALID_TXN_STATE; /* no transaction coordinator: nothing is ongoing */
      if (err == ERR_NONE) {
        if (produce_partition(ctx, t, pd->index, log, data, size, &pol, now_ms, part) != 0)
          return -1;
        err = pr->error_code;
      }
      pr->error_code = err;
      if (err != ERR_NONE) {
        any_error = true;
        continue;
      }
      if (req->acks == -1 && plog_high_watermark(log) < part->required) {
        part->waiting = true;
        op->waiting++;
      }
    }
  }

  if (req->acks == 0) {
    if (any_error) {
      log_debug("net", "closing: an acks=0 produce had a partition error");
      return -1;
    }
    ctx->no_response = true;
    return 0;
  }
  if (version >= 10 && any_not_leader && add_node_endpoints(ctx, resp, op) != 0) return -1;
  if (op->waiting > 0 && !produce_wait(op, ctx, req->timeout_ms)) {
    for (size_t i = 0; i < op->count; i++)
      if (op->parts[i].waiting) op->parts[i].resp->error_code = ERR_REQUEST_TIMED_OUT;
  }
  return 0;
}
