/* The hand-over of durability news from the storage flusher thread to the event loop. Every plog
 * of the broker gets durable_queue_post as its on_durable callback (with the queue as argument):
 * it records the newest durable end (or the first error) per log and wakes the loop through an
 * eventfd; on the loop, the queue's handler then sees each log once with its latest news. */
#ifndef QUIRE_BROKER_DURABLE_QUEUE_H
#define QUIRE_BROKER_DURABLE_QUEUE_H

#include <stdint.h>

#include <event2/event.h>

#include "plog.h"

struct durable_queue;

typedef void durable_handler_fn(void *arg, struct plog *log, int64_t durable_end, int err);

int durable_queue_create(struct event_base *base, durable_handler_fn *handler, void *arg,
                         struct durable_queue **out);
/* After every log posting to it was closed. */
void durable_queue_destroy(struct durable_queue *q);
/* A plog_durable_fn: any thread. */
void durable_queue_post(void *queue, struct plog *log, int64_t durable_end, int err);
/* Drops news of a log about to be freed (call after plog_close, on the loop). */
void durable_queue_forget(struct durable_queue *q, struct plog *log);
/* Delivers what is queued now, on the calling (loop) thread: start-up and tests. */
void durable_queue_drain(struct durable_queue *q);

#endif
