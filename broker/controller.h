/* The controller: the one writer of the metadata log (replication/mlog.h).
 *
 * Requests that change the cluster (CreateTopics, DeleteTopics, CreatePartitions, the config
 * APIs, Metadata's auto-creation, producer id blocks) become operations. Operations queue in
 * arrival order; when one reaches the head, its prepare function validates it against the
 * committed image and adds its records to a batch; the batch is written as one unit and the
 * operation's done function runs once it commits (or fails). One operation is in flight at a
 * time, so each one validates against everything before it (Kafka's controller is likewise one
 * event queue). An operation that writes nothing completes at once.
 *
 * States of an operation: QUEUED -> (prepare) -> WRITTEN -> (commit) -> done(0), or done(err)
 * from any state on a disk error or shutdown (-ESHUTDOWN). */
#ifndef QUIRE_BROKER_CONTROLLER_H
#define QUIRE_BROKER_CONTROLLER_H

#include <stdint.h>

#include "batch_builder.h"
#include "broker.h"

struct controller_op;

/* Adds the operation's records to b (none is fine). A negative return fails the operation
 * (done is called with it). */
typedef int controller_prepare_fn(struct controller_op *op, struct broker *broker,
                                  struct batch_builder *records, int64_t now_ms);
/* err: 0 committed, else a negative errno (-ESHUTDOWN, a disk error, a prepare error). */
typedef void controller_done_fn(struct controller_op *op, struct broker *broker, int err);

struct controller_op {
  controller_prepare_fn *prepare;
  controller_done_fn *done;
  void *arg;
  /* the controller's */
  struct controller_op *next;
  int64_t last_offset;
};

int controller_create(struct broker *b, struct controller **out);
/* Fails every queued operation with -ESHUTDOWN and frees the controller. */
void controller_destroy(struct broker *b);
/* Queues op (owned by the caller until done runs). */
void controller_submit(struct broker *b, struct controller_op *op);
/* The metadata log committed up to its committed end (err < 0: a flush failed). */
void controller_on_commit(struct broker *b, int err);
/* A random topic id that is neither zero nor in use (Kafka's Uuid.randomUuid rules). */
void controller_new_topic_id(struct broker *b, struct wire_uuid *id);

#endif
