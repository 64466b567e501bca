/* InitProducerId (v0-5) and the broker's producer id blocks; see producer_ids.h.
 *
 * Kafka 4.3's answers (KafkaApis.handleInitProducerIdRequest, TransactionCoordinator
 * .handleInitProducerId):
 *  - producerId and producerEpoch (v3+) must both be -1 or both be set: INVALID_REQUEST;
 *  - a null transactional id (an idempotent producer) always gets a new producer id with epoch 0,
 *    whatever id and epoch it names (KIP-360's epoch bump is for transactional ids; idempotent
 *    producers bump their epoch themselves and ask for a new id when it would overflow);
 *  - an empty transactional id: INVALID_REQUEST; another transactional id needs a transaction
 *    coordinator, which Quire does not have yet: COORDINATOR_NOT_AVAILABLE (retriable, and what
 *    a client hears when the coordinator's topic is unavailable). */
#include "producer_ids.h"

#include <errno.h>
#include <stdlib.h>

#include "controller.h"
#include "dispatch.h"
#include "errors.h"
#include "image_records.h"
#include "log.h"

struct pid_wait {
  struct deferred *d;
  struct msg_init_producer_id_response *resp;
  struct pid_wait *next;
};

struct pid_fetch {
  struct controller_op op;
  int64_t start; /* the block's first id, once prepared */
};

struct producer_ids {
  int64_t next, end;        /* the current block: ids [next, end) left */
  int64_t stash_start;      /* a prefetched block's start, -1 when none */
  struct pid_fetch *fetch;  /* the controller operation in flight, NULL when none */
  struct pid_wait *waiting; /* requests waiting for a block, oldest first */
  struct pid_wait **waiting_tail;
};

static struct producer_ids *ids_state(struct broker *b) {
  if (b->producer_ids != NULL) return b->producer_ids;
  struct producer_ids *s = calloc(1, sizeof(*s));
  if (s == NULL) return NULL;
  s->stash_start = -1;
  s->waiting_tail = &s->waiting;
  b->producer_ids = s;
  return s;
}

static void answer(struct pid_wait *w, int16_t error, int64_t id) {
  w->resp->error_code = error;
  w->resp->producer_id = error == ERR_NONE ? id : -1;
  w->resp->producer_epoch = error == ERR_NONE ? 0 : -1;
}

static bool take(struct producer_ids *s, int64_t *id) {
  if (s->next >= s->end && s->stash_start >= 0) { /* the prefetched block takes over */
    s->next = s->stash_start;
    s->end = s->stash_start + PRODUCER_ID_BLOCK_SIZE;
    s->stash_start = -1;
  }
  if (s->next >= s->end) return false;
  *id = s->next++;
  return true;
}

static void fetch_start(struct broker *b, struct producer_ids *s);

/* Hands ids to the waiting requests while there are some; starts a fetch when needed. */
static void serve(struct broker *b, struct producer_ids *s) {
  int64_t id;
  while (s->waiting != NULL && take(s, &id)) {
    struct pid_wait *w = s->waiting;
    s->waiting = w->next;
    if (s->waiting == NULL) s->waiting_tail = &s->waiting;
    answer(w, ERR_NONE, id);
    deferred_complete(w->d, false);
  }
  bool low = s->end - s->next <= PRODUCER_ID_BLOCK_SIZE / 10;
  if (s->fetch == NULL && s->stash_start < 0 && (low || s->waiting != NULL)) fetch_start(b, s);
}

static int fetch_prepare(struct controller_op *op, struct broker *b, struct batch_builder *records,
                         int64_t now_ms) {
  struct pid_fetch *f = op->arg;
  int64_t start = b->image.next_producer_id;
  if (start < 0 || start > INT64_MAX - PRODUCER_ID_BLOCK_SIZE) {
    log_error("controller", "producer ids are exhausted");
    return -EOVERFLOW;
  }
  f->start = start;
  return image_record_producer_ids(records, b->cfg->node_id, -1, start + PRODUCER_ID_BLOCK_SIZE,
                                   now_ms);
}

static void fetch_done(struct controller_op *op, struct broker *b, int err) {
  struct pid_fetch *f = op->arg;
  struct producer_ids *s = b->producer_ids;
  s->fetch = NULL;
  int64_t start = f->start;
  free(f);
  if (err == 0) {
    log_debug("controller", "producer id block [%lld, %lld) allocated", (long long)start,
              (long long)(start + PRODUCER_ID_BLOCK_SIZE));
    if (s->next >= s->end) {
      s->next = start;
      s->end = start + PRODUCER_ID_BLOCK_SIZE;
    } else {
      s->stash_start = start;
    }
    serve(b, s);
    return;
  }
  /* no block: the waiting requests fail (or close, at shutdown) */
  while (s->waiting != NULL) {
    struct pid_wait *w = s->waiting;
    s->waiting = w->next;
    answer(w, ERR_COORDINATOR_LOAD_IN_PROGRESS, -1);
    deferred_complete(w->d, err == -ESHUTDOWN);
  }
  s->waiting_tail = &s->waiting;
}

static void fetch_start(struct broker *b, struct producer_ids *s) {
  struct pid_fetch *f = calloc(1, sizeof(*f));
  if (f == NULL) return;
  f->op.prepare = fetch_prepare;
  f->op.done = fetch_done;
  f->op.arg = f;
  s->fetch = f;
  controller_submit(b, &f->op);
}

void producer_ids_shutdown(struct broker *b) {
  struct producer_ids *s = b->producer_ids;
  if (s == NULL) return;
  /* the controller failed its operations first (fetch_done ran); nothing can wait now */
  while (s->waiting != NULL) {
    struct pid_wait *w = s->waiting;
    s->waiting = w->next;
    deferred_complete(w->d, true);
  }
  free(s);
  b->producer_ids = NULL;
}

int handle_init_producer_id(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_init_producer_id_request *req = request;
  struct msg_init_producer_id_response *resp = response;
  struct broker *b = ctx->broker;
  resp->producer_id = -1;
  resp->producer_epoch = -1;
  bool no_id = req->producer_id == -1, no_epoch = req->producer_epoch == -1;
  if (no_id != no_epoch) {
    resp->error_code = ERR_INVALID_REQUEST;
    return 0;
  }
  if (req->transactional_id.len == 0) {
    resp->error_code = ERR_INVALID_REQUEST;
    return 0;
  }
  if (req->transactional_id.len > 0) {
    resp->error_code = ERR_COORDINATOR_NOT_AVAILABLE;
    return 0;
  }
  struct producer_ids *s = b->controller != NULL ? ids_state(b) : NULL;
  if (s == NULL) { /* no controller (a broker without storage): no block can come */
    resp->error_code = ERR_COORDINATOR_LOAD_IN_PROGRESS;
    return 0;
  }
  int64_t id;
  if (s->waiting == NULL && take(s, &id)) {
    resp->producer_id = id;
    resp->producer_epoch = 0;
    serve(b, s); /* prefetch when the block runs low */
    return 0;
  }
  struct pid_wait *w = wire_arena_alloc(ctx->arena, sizeof(*w));
  if (w == NULL || (w->d = request_defer(ctx)) == NULL) return -1;
  w->resp = resp;
  w->next = NULL;
  *s->waiting_tail = w;
  s->waiting_tail = &w->next;
  serve(b, s);
  return 0;
}
