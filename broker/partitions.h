/* The partition logs of this broker kept in step with the metadata image: a log for every
 * partition whose replicas include this node, none for topics that are gone (or were recreated
 * under a new id: each partition directory holds Kafka's partition.metadata file with its topic
 * id). Also the partition timers (retention, checkpoints) and the high watermark, which on a
 * single replica follows the durable end (DESIGN.md "Durability"). */
#ifndef QUIRE_BROKER_PARTITIONS_H
#define QUIRE_BROKER_PARTITIONS_H

#include "broker.h"
#include "image_records.h"
#include "plog.h"

/* logdir's config_for: the broker's defaults plus the topic's overrides. */
void partitions_config_for(void *broker, const char *topic, struct plog_config *out);
/* After the metadata log's replay: creates the missing logs, deletes the stray ones. */
int partitions_reconcile(struct broker *b);
/* After a committed record changed the image. */
void partitions_apply_change(struct broker *b, const struct image_change *change);
/* A partition log's durable end advanced (on the loop). */
void partitions_on_durable(struct broker *b, struct plog *log, int64_t durable_end, int err);
int partitions_timers_start(struct broker *b);
void partitions_timers_stop(struct broker *b);

#endif
