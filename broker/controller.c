/* The controller; see controller.h. */
#include "controller.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "log.h"
#include "mlog.h"

struct controller {
  struct controller_op *head, *tail; /* queue; head is in flight when written */
  bool written;
  bool running; /* inside run(): done callbacks may submit without recursion */
};

int controller_create(struct broker *b, struct controller **out) {
  (void)b;
  *out = calloc(1, sizeof(**out));
  return *out == NULL ? -ENOMEM : 0;
}

static struct controller_op *pop(struct controller *c) {
  struct controller_op *op = c->head;
  c->head = op->next;
  if (c->head == NULL) c->tail = NULL;
  c->written = false;
  return op;
}

/* Starts queued operations until one is waiting for its batch to commit. */
static void run(struct broker *b) {
  struct controller *c = b->controller;
  if (c->running) return;
  c->running = true;
  while (c->head != NULL && !c->written) {
    struct controller_op *op = c->head;
    struct batch_builder records;
    batch_builder_init(&records, 0, -1, -1, -1);
    int64_t now = broker_now_ms();
    int rc = op->prepare(op, b, &records, now);
    if (rc == 0 && records.count > 0) {
      uint8_t *batch;
      size_t size;
      rc = batch_builder_finish(&records, 0, -1, &batch, &size);
      if (rc == 0) rc = mlog_write(b->mlog, batch, size, now, &op->last_offset);
      if (rc == 0) {
        c->written = true;
        break;
      }
      log_error("controller", "cannot write to the metadata log: %s", strerror(-rc));
    }
    batch_builder_free(&records);
    pop(c);
    op->done(op, b, rc);
  }
  c->running = false;
}

void controller_submit(struct broker *b, struct controller_op *op) {
  struct controller *c = b->controller;
  op->next = NULL;
  op->last_offset = -1;
  if (c->tail != NULL)
    c->tail->next = op;
  else
    c->head = op;
  c->tail = op;
  run(b);
}

void controller_on_commit(struct broker *b, int err) {
  struct controller *c = b->controller;
  if (c == NULL) return;
  if (err < 0) {
    log_error("controller", "the metadata log failed: %s; failing queued operations",
              strerror(-err));
    while (c->head != NULL) {
      struct controller_op *op = pop(c);
      op->done(op, b, err);
    }
    return;
  }
  if (c->written && c->head->last_offset < mlog_committed_end(b->mlog)) {
    struct controller_op *op = pop(c);
    op->done(op, b, 0);
  }
  run(b);
}

void controller_destroy(struct broker *b) {
  struct controller *c = b->controller;
  if (c == NULL) return;
  c->running = true; /* nothing new starts */
  while (c->head != NULL) {
    struct controller_op *op = pop(c);
    op->done(op, b, -ESHUTDOWN);
  }
  free(c);
  b->controller = NULL;
}

void controller_new_topic_id(struct broker *b, struct wire_uuid *id) {
  do {
    if (RAND_bytes(id->b, sizeof(id->b)) != 1) abort(); /* no randomness: nothing is safe */
    /* Kafka's v4 UUID layout, and never the reserved zero or one (METADATA_TOPIC_ID) ids */
    id->b[6] = (uint8_t)((id->b[6] & 0x0f) | 0x40);
    id->b[8] = (uint8_t)((id->b[8] & 0x3f) | 0x80);
    /* nor one whose base64 text starts with '-' (command lines would take it for an option) */
  } while ((id->b[0] >> 2) == 62 || image_topic_by_id(&b->image, id) != NULL);
}
