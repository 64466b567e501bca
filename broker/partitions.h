/* The partition logs of this broker kept in step with the metadata image: a log for every
 * partition whose replicas include this node, none for topics that are gone (or were recreated
 * under a new id: each partition directory holds Kafka's partition.metadata file with its topic
 * id). Also the partition timers (retention, checkpoints) and the high watermark, which on a
 * single replica follows the durable end (DESIGN.md "Durability"). */
#ifndef QUIRE_BROKER_PARTITIONS_H
#define QUIRE_BROKER_PARTITIONS_H

#include <stdbool.h>

#include "broker.h"
#include "image_records.h"
#include "plog.h"

/* logdir's config_for: the broker's defaults plus the topic's overrides. */
void partitions_config_for(void *broker, const char *topic, struct plog_config *out);
/* After the metadata log's replay: creates the missing logs, deletes the stray ones. */
int partitions_reconcile(struct broker *b);
/* After a committed record changed the image (a broker config change: see
 * partitions_reconfigure). */
void partitions_apply_change(struct broker *b, const struct image_change *change);
/* Every open partition log takes the settings partitions_config_for gives now (after the
 * broker's effective configuration changed), and the log cleaner the broker's log.cleaner.*
 * settings (it starts on the first call): compacted logs are registered with it. */
void partitions_reconfigure(struct broker *b);
/* Stops the log cleaner (before the logs close). */
void partitions_cleaner_stop(struct broker *b);
/* A partition log's durable end advanced (on the loop). */
void partitions_on_durable(struct broker *b, struct plog *log, int64_t durable_end, int err);
/* The log of a partition this broker leads. Kafka's errors otherwise: an index the topic does
 * not have -> UNKNOWN_TOPIC_OR_PARTITION; another leader -> NOT_LEADER_OR_FOLLOWER; no log (its
 * creation failed on a disk error) -> KAFKA_STORAGE_ERROR. */
int16_t partitions_get(struct broker *b, const struct image_topic *t, int32_t partition,
                       struct plog **log);

/* ---- waiting on a partition (acks=all produce, long-poll fetch) ----
 * A waiter registered on a log is woken on the loop each time its high watermark advances, and
 * once with gone set when the log is about to be deleted (it is unregistered before that call, so
 * the callback may free it; the log is freed right after). A waiter may unregister itself (or
 * others) from its wake callback. */
struct partition_waiter;
typedef void partition_wake_fn(struct partition_waiter *w, struct broker *b, bool gone);
struct partition_waiter {
  partition_wake_fn *wake;
  void *arg;
  struct plog *log; /* the partition's; NULL when not waiting */
  struct partition_waiter *prev, *next;
  uint64_t woken; /* the partitions module's */
};
void partitions_wait(struct broker *b, struct plog *log, struct partition_waiter *w);
void partitions_unwait(struct broker *b, struct partition_waiter *w);
/* After an append: with flushing off the appended end is already durable, so the high
 * watermark moves (and waiters wake) at once; with flushing on, the flusher's news does it. */
void partitions_appended(struct broker *b, struct plog *log);

/* Shutdown: every waiter is woken with gone set (and unregistered). */
void partitions_close_waiters(struct broker *b);

int partitions_timers_start(struct broker *b);
void partitions_timers_stop(struct broker *b);

#endif
