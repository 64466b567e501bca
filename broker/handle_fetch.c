/* Fetch (v4-18) as Apache Kafka 4.3's KafkaApis.handleFetchRequest, ReplicaManager.fetchMessages
 * and DelayedFetch.
 *
 * Design note.
 *  - The fetch context (FetchManager.newContext): epoch 0 or -1 is a full fetch, which first
 *    removes the session it names; -1 asks for no session (sessionless), 0 for a new one, created
 *    when the response is built if the cache has or can make room. Any other epoch is
 *    incremental: the session must exist (FETCH_SESSION_ID_NOT_FOUND), expect that epoch
 *    (INVALID_FETCH_SESSION_EPOCH) and name topics the way the request version does (ids from
 *    v13: FETCH_SESSION_TOPIC_ID_ERROR); the request's partitions are added or updated, the
 *    forgotten ones removed, and the fetch reads every partition of the session. A session left
 *    empty is removed and the fetch is sessionless. A session error answers with no partitions.
 *  - Each partition to read is a fetch_item, copied into the request's arena (the session may
 *    change while a fetch waits). Unknown topic ids (v13+) and unknown topics or partition
 *    indexes are answered without a read (UNKNOWN_TOPIC_ID, UNKNOWN_TOPIC_OR_PARTITION), after
 *    the partitions that were read, as Kafka's "erroneous" list.
 *  - Reading (readFromLog): partitions in order, each up to min(its max bytes, what the
 *    request's max bytes leave); until one partition returned bytes, the first batch is returned
 *    whole even when it exceeds both (KIP-74), afterwards a first batch that does not fit gives
 *    no bytes. Consumers read below the high watermark (read_committed: below the last stable
 *    offset, equal to it until transactions exist). An offset outside [log start, log end] is
 *    OFFSET_OUT_OF_RANGE. A last fetched epoch (v12+) is checked against the leader epoch cache
 *    and may answer a diverging epoch instead of records. The records are file ranges sent
 *    without copying (request_file_bytes); each read holds its segment until sent.
 *  - Waiting (DelayedFetch): when less than min bytes were read, no partition failed, the wait is
 *    positive and something was read at all, the fetch is deferred: a waiter on each partition's
 *    log and a timer of max_wait_ms. A high watermark advance re-reads and completes once min
 *    bytes are there; a log about to go, the timer, or shutdown complete it too. Completion
 *    always happens from the fetch's own event (never inside the partitions module's wake walk):
 *    it re-reads every partition and answers.
 *  - Followers (replica id >= 0) are answered as Kafka answers a replica it does not know:
 *    UNKNOWN_LEADER_EPOCH when the partition names a current leader epoch, else
 *    NOT_LEADER_OR_FOLLOWER (Partition.followerReplicaOrThrow). Replication comes later.
 *
 * States of a fetch_op: built in the handler -> answered at once, or WAITING (waiters and timer
 * armed, in the broker's pending list) -> READY (waiters gone, its event activated) -> answered
 * (fetch_complete), which frees it with the request's arena. */
#include "handle_fetch.h"

#include <event2/event.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dispatch.h"
#include "errors.h"
#include "fetch_session.h"
#include "log.h"
#include "partitions.h"

struct fetch_op;

struct fetch_state {
  struct fetch_session_cache *sessions;
  struct fetch_op *pending; /* waiting fetches */
};

enum fetch_kind { FETCH_SESSIONLESS, FETCH_FULL, FETCH_INCREMENTAL, FETCH_SESSION_ERROR };

struct fetch_result {
  int16_t error;
  int64_t high_watermark, last_stable_offset, log_start_offset;
  struct plog_read_result *data; /* malloc'd; NULL: no bytes */
  struct plog *log;              /* valid until the loop runs again */
  bool diverging;
  int32_t diverging_epoch;
  int64_t diverging_end_offset;
  int32_t leader_id, leader_epoch; /* with NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH */
};

struct fetch_item {
  struct wire_uuid topic_id; /* v13+ */
  struct wire_str topic;     /* before v13 (in the arena) */
  int32_t partition;
  int64_t fetch_offset, fetcher_log_start_offset;
  int32_t max_bytes, current_leader_epoch, last_fetched_epoch;
  int16_t request_error; /* answered without a read */
  struct fetch_result result;
  struct partition_waiter waiter;
  /* while waiting: the bytes counted towards min bytes, read up to wait_offset */
  int64_t wait_offset;
  uint64_t wait_bytes;
};

struct fetch_op {
  struct broker *b;
  struct deferred *d;
  int16_t version;
  bool follower, read_committed;
  int64_t max_bytes, min_bytes;
  int32_t max_wait_ms;
  enum fetch_kind kind;
  int16_t session_error;
  int32_t session_id;
  uint64_t session_serial;
  int32_t session_epoch; /* incremental: the session's epoch after this request */
  struct fetch_item *items;
  size_t count;
  struct event *event; /* the timer; activated when ready */
  bool ready;
  uint64_t wait_bytes;          /* the items' */
  struct fetch_op *prev, *next; /* the pending list */
};

/* ---- the broker's fetch state ---- */

static struct fetch_state *fetch_state(struct broker *b) {
  if (b->fetch != NULL) return b->fetch;
  struct fetch_state *st = calloc(1, sizeof(*st));
  if (st == NULL) return NULL;
  int64_t slots = 1000;
  if (b->cfg != NULL) config_get_int64(b->cfg, "max.incremental.fetch.session.cache.slots", &slots);
  if (slots < 0) slots = 0;
  if (slots > INT32_MAX) slots = INT32_MAX;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
  if (fetch_session_cache_create((int32_t)slots, FETCH_SESSION_EVICTION_MS_DEFAULT, seed,
                                 &st->sessions) != 0) {
    free(st);
    return NULL;
  }
  b->fetch = st;
  return st;
}

/* ---- reading ---- */

static void release_read(void *arg) {
  struct plog_read_result *r = arg;
  plog_read_release(r);
  free(r);
}

static void result_release(struct fetch_result *r) {
  if (r->data != NULL) release_read(r->data);
  r->data = NULL;
}

static void results_release(struct fetch_op *op) {
  for (size_t i = 0; i < op->count; i++) result_release(&op->items[i].result);
}

static uint64_t result_size(const struct fetch_result *r) {
  return r->data != NULL ? r->data->size : 0;
}

static const struct image_topic *item_topic(const struct fetch_op *op,
                                            const struct fetch_item *it) {
  if (op->version >= 13) return image_topic_by_id(&op->b->image, &it->topic_id);
  if (it->topic.len < 0) return NULL;
  return image_topic_find(&op->b->image, it->topic.ptr, (size_t)it->topic.len);
}

static bool hosted_here(const struct broker *b, const struct image_partition *p) {
  for (int32_t i = 0; i < p->replica_count; i++)
    if (p->replicas[i] == b->cfg->node_id) return true;
  return false;
}

/* The error of an unusable partition, with the leader the client should go to. */
static void result_error(struct fetch_result *r, int16_t error, const struct image_partition *p) {
  r->error = error;
  if (p != NULL && (error == ERR_NOT_LEADER_OR_FOLLOWER || error == ERR_FENCED_LEADER_EPOCH)) {
    r->leader_id = p->leader;
    r->leader_epoch = p->leader_epoch;
  }
}

/* Reads one partition from offset (ReplicaManager.readFromLog's read and Partition.fetchRecords):
 * the fetch offset, or where a waiting fetch's last look ended. */
static int16_t read_partition(struct fetch_op *op, struct fetch_item *it, int64_t offset,
                              int64_t max_bytes, bool min_one, const struct image_partition **pp) {
  struct fetch_result *r = &it->result;
  const struct image_topic *t = item_topic(op, it);
  if (t == NULL || it->partition < 0 || it->partition >= t->partition_count)
    return ERR_UNKNOWN_TOPIC_OR_PARTITION;
  const struct image_partition *p = *pp = &t->partitions[it->partition];
  if (!hosted_here(op->b, p)) return (ERR_NOT_LEADER_OR_FOLLOWER);
  /* localLogWithEpochOrThrow: the epoch the client knows against ours */
  if (it->current_leader_epoch >= 0 && it->current_leader_epoch < p->leader_epoch)
    return (ERR_FENCED_LEADER_EPOCH);
  if (it->current_leader_epoch > p->leader_epoch) return (ERR_UNKNOWN_LEADER_EPOCH);
  struct plog *log;
  int16_t err = partitions_get(op->b, t, it->partition, &log);
  if (err != ERR_NONE) return (err);
  if (op->follower) /* a replica this leader does not know (followerReplicaOrThrow) */
    return (it->current_leader_epoch >= 0 ? ERR_UNKNOWN_LEADER_EPOCH : ERR_NOT_LEADER_OR_FOLLOWER);
  int64_t hw = plog_high_watermark(log), start = plog_log_start(log);
  r->log = log;
  if (it->last_fetched_epoch >= 0) { /* KIP-320: has the client's log diverged from ours? */
    int32_t epoch;
    int64_t end;
    int rc = plog_end_offset_for_epoch(log, it->last_fetched_epoch, &epoch, &end);
    if (rc != 0) return (ERR_KAFKA_STORAGE_ERROR);
    if (end < 0 || epoch < 0 || it->fetch_offset < start) return (ERR_OFFSET_OUT_OF_RANGE);
    if (epoch < it->last_fetched_epoch || end < it->fetch_offset) {
      r->high_watermark = r->last_stable_offset = hw;
      r->log_start_offset = start;
      r->diverging = true;
      r->diverging_epoch = epoch;
      r->diverging_end_offset = end;
      return ERR_NONE;
    }
  }
  struct plog_read_result *data = calloc(1, sizeof(*data));
  if (data == NULL) return (ERR_KAFKA_STORAGE_ERROR);
  int rc;
  if (max_bytes <= 0 && !min_one) { /* nothing may come: only the offset is checked */
    rc = offset < start || offset > plog_log_end(log) ? -ERANGE : 0;
    memset(data, 0, sizeof(*data));
  } else {
    rc = plog_read(log, offset, max_bytes > 0 ? (uint64_t)max_bytes : 0, hw, data);
  }
  if (rc != 0) {
    free(data);
    return (rc == -ERANGE ? ERR_OFFSET_OUT_OF_RANGE : ERR_KAFKA_STORAGE_ERROR);
  }
  r->high_watermark = r->last_stable_offset = hw;
  r->log_start_offset = start;
  /* past the first non-empty partition, a first batch larger than the limit gives nothing */
  if (data->size == 0 || (!min_one && data->size > (uint64_t)max_bytes)) {
    release_read(data);
    return ERR_NONE;
  }
  r->data = data;
  return ERR_NONE;
}

/* The result of reading one partition from offset, its error with the leader to go to. */
static void read_one(struct fetch_op *op, struct fetch_item *it, int64_t offset, int64_t max_bytes,
                     bool min_one) {
  struct fetch_result *r = &it->result;
  result_release(r);
  *r = (struct fetch_result){ERR_NONE, -1, -1, -1, NULL, NULL, false, -1, -1, -1, -1};
  const struct image_partition *p = NULL;
  int16_t err = read_partition(op, it, offset, max_bytes, min_one, &p);
  if (err != ERR_NONE) { /* no data was kept */
    *r = (struct fetch_result){ERR_NONE, -1, -1, -1, NULL, NULL, false, -1, -1, -1, -1};
    result_error(r, err, p);
  }
}

/* Reads every partition (ReplicaManager.readFromLog). *bytes: total read; *stop: an error or a
 * diverging epoch, which answer at once. */
static void read_all(struct fetch_op *op, uint64_t *bytes, bool *stop) {
  int64_t limit = op->max_bytes;
  bool min_one = true;
  *bytes = 0;
  *stop = false;
  for (size_t i = 0; i < op->count; i++) {
    struct fetch_item *it = &op->items[i];
    if (it->request_error != ERR_NONE) continue;
    int64_t max = it->max_bytes < limit ? it->max_bytes : limit;
    read_one(op, it, it->fetch_offset, max, min_one);
    uint64_t size = result_size(&it->result);
    if (size > 0) min_one = false;
    limit = limit > (int64_t)size ? limit - (int64_t)size : 0;
    *bytes += size;
    if (it->result.error != ERR_NONE || it->result.diverging) *stop = true;
  }
}

/* ---- the response ---- */

static bool same_topic(const struct fetch_op *op, const struct fetch_item *a,
                       const struct fetch_item *b) {
  if (op->version >= 13) return memcmp(a->topic_id.b, b->topic_id.b, sizeof(a->topic_id.b)) == 0;
  return wire_str_same(a->topic, b->topic);
}

static struct fetch_session_partition *session_partition(struct fetch_session *s,
                                                         const struct fetch_item *it) {
  return fetch_session_partition_find(s, &it->topic_id, it->topic.ptr,
                                      it->topic.len > 0 ? (size_t)it->topic.len : 0, it->partition);
}

static void session_partition_set_request(struct fetch_session_partition *p,
                                          const struct fetch_item *it) {
  p->max_bytes = it->max_bytes;
  p->fetch_offset = it->fetch_offset;
  p->fetcher_log_start_offset = it->fetcher_log_start_offset;
  p->current_leader_epoch = it->current_leader_epoch;
  p->last_fetched_epoch = it->last_fetched_epoch;
}

static struct fetch_session_response_data response_data(const struct fetch_item *it) {
  const struct fetch_result *r = &it->result;
  if (it->request_error != ERR_NONE) /* FetchResponse.partitionResponse */
    return (struct fetch_session_response_data){it->request_error, -1, -1, 0, false, false};
  return (struct fetch_session_response_data){
      r->error, r->high_watermark, r->log_start_offset, result_size(r), r->diverging, false};
}

/* FullFetchContext: a new session caching the response's partitions, when there is room. */
static int32_t session_create(struct fetch_op *op, const size_t *order, size_t n) {
  struct fetch_state *st = fetch_state(op->b);
  if (st == NULL) return FETCH_SESSION_INVALID_ID;
  int64_t now = broker_now_ms();
  struct fetch_session *s =
      fetch_session_create(st->sessions, now, op->follower, op->version >= 13, n);
  if (s == NULL) return FETCH_SESSION_INVALID_ID;
  for (size_t k = 0; k < n; k++) {
    const struct fetch_item *it = &op->items[order[k]];
    struct fetch_session_partition *p = session_partition(s, it);
    if (p == NULL)
      p = fetch_session_partition_add(s, &it->topic_id, it->topic.ptr,
                                      it->topic.len > 0 ? (size_t)it->topic.len : 0, it->partition);
    if (p == NULL) {
      fetch_session_remove(st->sessions, s);
      return FETCH_SESSION_INVALID_ID;
    }
    session_partition_set_request(p, it);
    struct fetch_session_response_data rd = response_data(it);
    p->high_watermark = rd.high_watermark;
    p->log_start_offset = rd.log_start_offset;
  }
  fetch_session_touch(st->sessions, s, now);
  return fetch_session_id(s);
}

static void fill_partition(const struct fetch_op *op, const struct fetch_item *it,
                           struct msg_fetch_response_partition_data *pd) {
  const struct fetch_result *r = &it->result;
  msg_fetch_response_partition_data_init(pd);
  pd->partition_index = it->partition;
  pd->records = (struct wire_bytes){NULL, 0, NULL};
  if (it->request_error != ERR_NONE) { /* FetchResponse.partitionResponse */
    pd->error_code = it->request_error;
    pd->high_watermark = -1;
    pd->aborted_transactions.count = 0;
    return;
  }
  pd->error_code = r->error;
  pd->high_watermark = r->high_watermark;
  pd->last_stable_offset = r->last_stable_offset;
  pd->log_start_offset = r->log_start_offset;
  pd->aborted_transactions.count = r->error == ERR_NONE && op->read_committed ? 0 : -1;
  if (r->diverging) {
    pd->diverging_epoch.epoch = r->diverging_epoch;
    pd->diverging_epoch.end_offset = r->diverging_end_offset;
  }
  if (op->version >= 16 && r->leader_id >= 0) {
    pd->current_leader.leader_id = r->leader_id;
    pd->current_leader.leader_epoch = r->leader_epoch;
  }
}

/* v16+: the endpoints of the leaders named in current_leader (KIP-951). */
static int add_node_endpoints(struct request_ctx *ctx, struct msg_fetch_response *resp,
                              const struct fetch_op *op, const size_t *order, size_t n) {
  for (size_t k = 0; k < n; k++) {
    const struct fetch_result *r = &op->items[order[k]].result;
    if (op->items[order[k]].request_error != ERR_NONE || r->leader_id < 0) continue;
    bool known = false;
    for (int32_t e = 0; e < resp->node_endpoints.count; e++)
      known |= resp->node_endpoints.items[e].node_id == r->leader_id;
    if (known) continue;
    const struct image_broker *br = image_broker_find(&op->b->image, r->leader_id);
    const struct image_endpoint *ep = br != NULL ? image_broker_endpoint(br, ctx->listener) : NULL;
    if (ep == NULL) continue;
    if (resp->node_endpoints.items == NULL) {
      resp->node_endpoints.items =
          wire_arena_alloc_array(ctx->arena, n, sizeof(*resp->node_endpoints.items));
      if (resp->node_endpoints.items == NULL) return -1;
    }
    struct msg_fetch_response_node_endpoint *ne =
        &resp->node_endpoints.items[resp->node_endpoints.count++];
    msg_fetch_response_node_endpoint_init(ne);
    ne->node_id = br->node_id;
    ne->host = wire_str_of(ep->host);
    ne->port = ep->port;
    ne->rack = br->rack[0] != '\0' ? wire_str_of(br->rack) : (struct wire_str){NULL, -1};
  }
  return 0;
}

/* Builds the response (FetchContext.updateAndGenerateResponseData). The reads' bytes go to the
 * response as file ranges; whatever is not sent is released. -1: out of arena (close). */
static int fetch_respond(struct fetch_op *op, struct request_ctx *ctx,
                         struct msg_fetch_response *resp) {
  resp->throttle_time_ms = 0;
  resp->error_code = ERR_NONE;
  resp->session_id = FETCH_SESSION_INVALID_ID;
  if (op->kind == FETCH_SESSION_ERROR) {
    resp->error_code = op->session_error;
    results_release(op);
    return 0;
  }
  size_t *order = wire_arena_alloc_array(ctx->arena, op->count + 1, sizeof(*order));
  bool *send = wire_arena_alloc_array(ctx->arena, op->count + 1, sizeof(*send));
  if (order == NULL || send == NULL) goto fail;
  size_t n = 0;
  for (size_t i = 0; i < op->count; i++)
    if (op->items[i].request_error == ERR_NONE) order[n++] = i;
  for (size_t i = 0; i < op->count; i++)
    if (op->items[i].request_error != ERR_NONE) order[n++] = i;
  for (size_t k = 0; k < n; k++) send[k] = true;

  if (op->kind == FETCH_INCREMENTAL) {
    struct fetch_state *st = fetch_state(op->b);
    struct fetch_session *s = st != NULL ? fetch_session_find(st->sessions, op->session_id) : NULL;
    resp->session_id = op->session_id;
    if (s != NULL && fetch_session_serial(s) == op->session_serial) {
      if (fetch_session_epoch(s) != op->session_epoch) { /* another request used the session */
        log_info("fetch", "incremental fetch session %d expected epoch %d, but got %d",
                 op->session_id, op->session_epoch, fetch_session_epoch(s));
        resp->error_code = ERR_INVALID_FETCH_SESSION_EPOCH;
        results_release(op);
        return 0;
      }
      for (size_t k = 0; k < n; k++) {
        const struct fetch_item *it = &op->items[order[k]];
        struct fetch_session_partition *p = session_partition(s, it);
        struct fetch_session_response_data rd = response_data(it);
        send[k] = p != NULL && fetch_session_partition_respond(p, &rd, true);
        if (send[k] && rd.records_size > 0) fetch_session_partition_move_to_end(s, p);
      }
    } /* else evicted meanwhile: every partition goes; the next fetch learns the session is gone */
  } else if (op->kind == FETCH_FULL) {
    resp->session_id = session_create(op, order, n);
  }

  size_t sent = 0;
  for (size_t k = 0; k < n; k++) sent += send[k];
  resp->responses.count = 0;
  if (sent > 0) {
    resp->responses.items =
        wire_arena_alloc_array(ctx->arena, sent, sizeof(*resp->responses.items));
    struct msg_fetch_response_partition_data *parts =
        wire_arena_alloc_array(ctx->arena, sent, sizeof(*parts));
    if (resp->responses.items == NULL || parts == NULL) goto fail;
    const struct fetch_item *prev = NULL;
    struct msg_fetch_response_able_topic_response *topic = NULL;
    for (size_t k = 0; k < n; k++) {
      if (!send[k]) continue;
      struct fetch_item *it = &op->items[order[k]];
      if (prev == NULL || !same_topic(op, prev, it)) {
        topic = &resp->responses.items[resp->responses.count++];
        msg_fetch_response_able_topic_response_init(topic);
        topic->topic = it->topic;
        topic->topic_id = it->topic_id;
        topic->partitions.items = parts;
        topic->partitions.count = 0;
      }
      prev = it;
      struct msg_fetch_response_partition_data *pd = parts++;
      topic->partitions.count++;
      fill_partition(op, it, pd);
      struct plog_read_result *data = it->result.data;
      if (data != NULL) {
        it->result.data = NULL; /* the response owns it now, even on failure */
        if (request_file_bytes(ctx, data->fd, data->position, (uint32_t)data->size, release_read,
                               data, &pd->records) != 0)
          goto fail;
      }
    }
  }
  if (op->version >= 16 && add_node_endpoints(ctx, resp, op, order, n) != 0) goto fail;
  results_release(op); /* the partitions left out */
  return 0;
fail:
  results_release(op);
  return -1;
}

/* ---- waiting ---- */

static void waiters_remove(struct fetch_op *op) {
  for (size_t i = 0; i < op->count; i++) partitions_unwait(op->b, &op->items[i].waiter);
}

static void pending_unlink(struct fetch_op *op) {
  struct fetch_state *st = op->b->fetch;
  if (op->prev != NULL)
    op->prev->next = op->next;
  else
    st->pending = op->next;
  if (op->next != NULL) op->next->prev = op->prev;
  op->prev = op->next = NULL;
}

/* Answers a waiting fetch with what its partitions hold now; frees op (with the arena). */
static void fetch_complete(struct fetch_op *op) {
  waiters_remove(op);
  pending_unlink(op);
  event_free(op->event);
  op->event = NULL;
  uint64_t bytes;
  bool stop;
  read_all(op, &bytes, &stop);
  int rc = fetch_respond(op, deferred_ctx(op->d), deferred_response(op->d));
  deferred_complete(op->d, rc != 0);
}

static void on_event(evutil_socket_t fd, short events, void *arg) {
  (void)fd;
  (void)events;
  fetch_complete(arg);
}

/* Ready: answered from the fetch's own event, on the next turn of the loop. */
static void fetch_ready(struct fetch_op *op) {
  if (op->ready) return;
  op->ready = true;
  waiters_remove(op);
  event_active(op->event, EV_TIMEOUT, 1);
}

/* The most an item counts towards min bytes: Kafka caps the bytes available in a partition by
 * its max bytes. */
static int64_t wait_share(const struct fetch_op *op, const struct fetch_item *it) {
  return it->max_bytes < op->max_bytes ? it->max_bytes : op->max_bytes;
}

/* Counts what an item's read holds towards min bytes, up to its share, and moves its wait offset
 * past it. */
static void wait_count(struct fetch_op *op, struct fetch_item *it) {
  const struct plog_read_result *data = it->result.data;
  if (data == NULL) return;
  uint64_t share = (uint64_t)wait_share(op, it);
  uint64_t add = data->size;
  if (it->wait_bytes + add > share) add = share > it->wait_bytes ? share - it->wait_bytes : 0;
  it->wait_bytes += add;
  op->wait_bytes += add;
  it->wait_offset = data->next_offset;
}

/* DelayedFetch.tryComplete, for the partition whose high watermark moved: enough bytes now, or
 * it failed or went away. It reads on from where the last look at it ended, so a fetch waiting
 * for min bytes costs each advance the new batches only, not all of them again. */
static void on_wake(struct partition_waiter *w, struct broker *b, bool gone) {
  struct fetch_op *op = w->arg;
  struct fetch_item *it =
      (struct fetch_item *)(void *)((char *)w - offsetof(struct fetch_item, waiter));
  (void)b;
  if (gone) {
    fetch_ready(op);
    return;
  }
  read_one(op, it, it->wait_offset, wait_share(op, it) - (int64_t)it->wait_bytes, true);
  bool stop = it->result.error != ERR_NONE || it->result.diverging;
  wait_count(op, it);
  result_release(&it->result);
  if (stop || op->wait_bytes >= (uint64_t)op->min_bytes) fetch_ready(op);
}

/* Defers the fetch; false when it cannot wait (then it is answered at once). */
static bool fetch_wait(struct fetch_op *op, struct request_ctx *ctx) {
  struct fetch_state *st = fetch_state(op->b);
  if (st == NULL || op->b->base == NULL) return false;
  op->event = event_new(op->b->base, -1, 0, on_event, op);
  if (op->event == NULL) return false;
  struct timeval tv = {(time_t)(op->max_wait_ms / 1000),
                       (suseconds_t)(op->max_wait_ms % 1000) * 1000};
  if (event_add(op->event, &tv) != 0 || (op->d = request_defer(ctx)) == NULL) {
    event_free(op->event);
    op->event = NULL;
    return false;
  }
  op->wait_bytes = 0;
  for (size_t i = 0; i < op->count; i++) {
    struct fetch_item *it = &op->items[i];
    if (it->request_error != ERR_NONE || it->result.log == NULL) continue;
    it->wait_offset = it->fetch_offset;
    it->wait_bytes = 0;
    wait_count(op, it);
    it->waiter.wake = on_wake;
    it->waiter.arg = op;
    partitions_wait(op->b, it->result.log, &it->waiter);
  }
  results_release(op);
  op->next = st->pending;
  if (st->pending != NULL) st->pending->prev = op;
  st->pending = op;
  return true;
}

void fetch_shutdown(struct broker *b) {
  struct fetch_state *st = b->fetch;
  if (st == NULL) return;
  while (st->pending != NULL) fetch_complete(st->pending);
  fetch_session_cache_destroy(st->sessions);
  free(st);
  b->fetch = NULL;
}

/* ---- the request ---- */

static void item_from_request(struct fetch_item *it, const struct msg_fetch_request_topic *t,
                              const struct msg_fetch_request_partition *p) {
  it->topic_id = t->topic_id;
  it->topic = t->topic;
  it->partition = p->partition;
  it->fetch_offset = p->fetch_offset;
  it->fetcher_log_start_offset = p->log_start_offset;
  it->max_bytes = p->partition_max_bytes;
  it->current_leader_epoch = p->current_leader_epoch;
  it->last_fetched_epoch = p->last_fetched_epoch;
}

/* The request's partitions as items (a sessionless or full fetch). */
static int items_from_request(struct fetch_op *op, struct wire_arena *a,
                              const struct msg_fetch_request *req) {
  size_t n = 0;
  for (int32_t i = 0; i < req->topics.count; i++)
    n += req->topics.items[i].partitions.count > 0 ? (size_t)req->topics.items[i].partitions.count
                                                   : 0;
  op->items = wire_arena_alloc_array(a, n + 1, sizeof(*op->items));
  if (op->items == NULL) return -1;
  op->count = 0;
  for (int32_t i = 0; i < req->topics.count; i++) {
    const struct msg_fetch_request_topic *t = &req->topics.items[i];
    for (int32_t j = 0; j < t->partitions.count; j++)
      item_from_request(&op->items[op->count++], t, &t->partitions.items[j]);
  }
  return 0;
}

/* IncrementalFetchContext over session s (after its update): every partition of the session. */
static int items_from_session(struct fetch_op *op, struct wire_arena *a, struct fetch_session *s) {
  op->items = wire_arena_alloc_array(a, fetch_session_size(s) + 1, sizeof(*op->items));
  if (op->items == NULL) return -1;
  op->count = 0;
  for (struct fetch_session_partition *p = fetch_session_first(s); p != NULL; p = p->next) {
    struct fetch_item *it = &op->items[op->count++];
    it->topic_id = p->topic_id;
    it->topic = (struct wire_str){NULL, -1};
    if (p->topic != NULL) {
      char *name = wire_arena_strdup(a, p->topic);
      if (name == NULL) return -1;
      it->topic = wire_str_of(name);
    }
    it->partition = p->partition;
    it->fetch_offset = p->fetch_offset;
    it->fetcher_log_start_offset = p->fetcher_log_start_offset;
    it->max_bytes = p->max_bytes;
    it->current_leader_epoch = p->current_leader_epoch;
    it->last_fetched_epoch = p->last_fetched_epoch;
  }
  return 0;
}

/* FetchSession.update: the request's partitions added or updated, the forgotten removed. */
static int session_update(struct fetch_session *s, const struct msg_fetch_request *req) {
  for (int32_t i = 0; i < req->topics.count; i++) {
    const struct msg_fetch_request_topic *t = &req->topics.items[i];
    for (int32_t j = 0; j < t->partitions.count; j++) {
      struct fetch_item it = {0};
      item_from_request(&it, t, &t->partitions.items[j]);
      struct fetch_session_partition *p = session_partition(s, &it);
      if (p == NULL)
        p = fetch_session_partition_add(s, &it.topic_id, it.topic.ptr,
                                        it.topic.len > 0 ? (size_t)it.topic.len : 0, it.partition);
      if (p == NULL) return -1;
      session_partition_set_request(p, &it);
    }
  }
  for (int32_t i = 0; i < req->forgotten_topics_data.count; i++) {
    const struct msg_fetch_request_forgotten_topic *f = &req->forgotten_topics_data.items[i];
    for (int32_t j = 0; j < f->partitions.count; j++) {
      struct fetch_session_partition *p = fetch_session_partition_find(
          s, &f->topic_id, f->topic.ptr, f->topic.len > 0 ? (size_t)f->topic.len : 0,
          f->partitions.items[j]);
      if (p != NULL) fetch_session_partition_remove(s, p);
    }
  }
  return 0;
}

/* FetchManager.newContext. Returns -1 when out of memory. */
static int fetch_context(struct fetch_op *op, struct wire_arena *a,
                         const struct msg_fetch_request *req) {
  struct fetch_state *st = fetch_state(op->b);
  bool full = req->session_epoch == FETCH_SESSION_INITIAL_EPOCH ||
              req->session_epoch == FETCH_SESSION_FINAL_EPOCH;
  if (full) {
    if (req->session_id != FETCH_SESSION_INVALID_ID && st != NULL) {
      struct fetch_session *s = fetch_session_find(st->sessions, req->session_id);
      if (s != NULL) fetch_session_remove(st->sessions, s);
    }
    op->kind = req->session_epoch == FETCH_SESSION_FINAL_EPOCH || st == NULL ? FETCH_SESSIONLESS
                                                                             : FETCH_FULL;
    return items_from_request(op, a, req);
  }
  struct fetch_session *s = st != NULL ? fetch_session_find(st->sessions, req->session_id) : NULL;
  op->kind = FETCH_SESSION_ERROR;
  if (s == NULL) {
    op->session_error = ERR_FETCH_SESSION_ID_NOT_FOUND;
    return 0;
  }
  if (fetch_session_epoch(s) != req->session_epoch) {
    op->session_error = ERR_INVALID_FETCH_SESSION_EPOCH;
    return 0;
  }
  if (fetch_session_uses_topic_ids(s) != (op->version >= 13)) {
    op->session_error = ERR_FETCH_SESSION_TOPIC_ID_ERROR;
    return 0;
  }
  if (session_update(s, req) != 0) return -1;
  if (fetch_session_size(s) == 0) { /* nothing left: closed, and the fetch is sessionless */
    fetch_session_remove(st->sessions, s);
    op->kind = FETCH_SESSIONLESS;
    return items_from_request(op, a, req);
  }
  fetch_session_touch(st->sessions, s, broker_now_ms());
  fetch_session_set_epoch(s, fetch_session_next_epoch(fetch_session_epoch(s)));
  op->kind = FETCH_INCREMENTAL;
  op->session_id = fetch_session_id(s);
  op->session_serial = fetch_session_serial(s);
  op->session_epoch = fetch_session_epoch(s);
  return items_from_session(op, a, s);
}

/* KafkaApis' "erroneous" partitions: unknown topic ids, topics or partition indexes. */
static size_t classify(struct fetch_op *op) {
  size_t interesting = 0;
  for (size_t i = 0; i < op->count; i++) {
    struct fetch_item *it = &op->items[i];
    const struct image_topic *t = item_topic(op, it);
    if (t == NULL && op->version >= 13)
      it->request_error = ERR_UNKNOWN_TOPIC_ID;
    else if (t == NULL || it->partition < 0 || it->partition >= t->partition_count)
      it->request_error = ERR_UNKNOWN_TOPIC_OR_PARTITION;
    else
      interesting++;
  }
  return interesting;
}

int handle_fetch(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_fetch_request *req = request;
  struct msg_fetch_response *resp = response;
  struct fetch_op *op = wire_arena_alloc(ctx->arena, sizeof(*op));
  if (op == NULL) return -1;
  op->b = ctx->broker;
  op->version = ctx->api_version;
  int32_t replica_id = ctx->api_version >= 15 ? req->replica_state.replica_id : req->replica_id;
  op->follower = replica_id >= 0;
  op->read_committed = req->isolation_level == 1 && !op->follower;
  /* fetch.max.bytes caps a request; min bytes never exceed max bytes */
  int64_t broker_max = 57671680;
  if (ctx->broker->cfg != NULL) config_get_int64(ctx->broker->cfg, "fetch.max.bytes", &broker_max);
  op->max_bytes = req->max_bytes < broker_max ? req->max_bytes : broker_max;
  if (op->max_bytes < 0) op->max_bytes = 0;
  op->min_bytes = req->min_bytes < op->max_bytes ? req->min_bytes : op->max_bytes;
  if (op->min_bytes < 0) op->min_bytes = 0;
  op->max_wait_ms = req->max_wait_ms;
  if (fetch_context(op, ctx->arena, req) != 0) return -1;
  if (op->kind == FETCH_SESSION_ERROR) return fetch_respond(op, ctx, resp);
  size_t interesting = classify(op);
  uint64_t bytes;
  bool stop;
  read_all(op, &bytes, &stop);
  /* ReplicaManager.fetchMessages: answer now, or wait for min bytes */
  bool now = op->max_wait_ms <= 0 || interesting == 0 || bytes >= (uint64_t)op->min_bytes || stop;
  if (!now && fetch_wait(op, ctx)) return 0;
  return fetch_respond(op, ctx, resp);
}
