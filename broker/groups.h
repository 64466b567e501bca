/* The group coordinator as the broker runs it: the pure state machine (group.h) and the
 * committed offsets (group_offsets.h) of every group whose __consumer_offsets partition this
 * broker leads, kept in that partition.
 *
 * - The offsets topic is created (offsets.topic.* settings, cleanup.policy=compact) by the first
 *   FindCoordinator for a group, as Kafka's auto topic creation does; until then groups get
 *   COORDINATOR_NOT_AVAILABLE.
 * - A group lives in partition abs(javaHashCode(group id)) % partition count (Kafka's
 *   partitionFor), and every record about it (GroupMetadata, OffsetCommit, their tombstones)
 *   goes there, in Kafka's record formats (coordinator_record.h).
 * - Loading: each partition's records are replayed into the state machine and the offsets,
 *   in chunks of offsets.load.buffer.size on the event loop, before the partition's groups are
 *   served (COORDINATOR_LOAD_IN_PROGRESS meanwhile). All partitions this broker leads load at
 *   start-up; a partition that appears later (the topic's creation) loads on first use.
 * - Writes: a batch of records is appended to the group's partition and its writer is told once
 *   the high watermark passes it (committed: durable on one replica), as Kafka's coordinator
 *   runtime waits for its writes to commit before answering.
 * - Timers: one for the state machine's deadline (sessions, rebalances), one for offset expiry
 *   every offsets.retention.check.interval.ms.
 * Requests parked in the state machine (JoinGroup, SyncGroup) wait under a tag with the deferred
 * response they answer (groups_park). */
#ifndef QUIRE_BROKER_GROUPS_H
#define QUIRE_BROKER_GROUPS_H

#include <stdbool.h>
#include <stdint.h>

#include "batch_builder.h"
#include "broker.h"
#include "group.h"
#include "group_offsets.h"

#define GROUPS_OFFSETS_TOPIC "__consumer_offsets"

struct deferred;

int groups_create(struct broker *b);
/* After the partition logs follow the image: starts loading the partitions this broker leads. */
void groups_start(struct broker *b);
/* Answers every parked request with NOT_COORDINATOR and stops the timers; before the partition
 * waiters go (writes still waiting are then told NOT_COORDINATOR by their waiters). */
void groups_shutdown(struct broker *b);
void groups_destroy(struct broker *b);

struct group_coord *groups_coord(struct broker *b);
struct group_offsets *groups_offsets(struct broker *b);

/* Kafka's partitionFor: the offsets topic partition of a group. */
int32_t groups_partition_for(struct wire_str group_id, int32_t partition_count);

/* FindCoordinator for a group: NONE with the leader of its partition in *node_id, or
 * COORDINATOR_NOT_AVAILABLE (the offsets topic is being created, no leader). */
int16_t groups_find(struct broker *b, struct wire_str group_id, int32_t *node_id);
/* Whether this broker serves group_id now: NONE, COORDINATOR_NOT_AVAILABLE (no offsets topic,
 * no coordinator at all), NOT_COORDINATOR (another broker leads its partition) or
 * COORDINATOR_LOAD_IN_PROGRESS. */
int16_t groups_check(struct broker *b, struct wire_str group_id);
/* COORDINATOR_LOAD_IN_PROGRESS while any partition loads, else NONE (ListGroups). */
int16_t groups_loading(struct broker *b);

/* ---- the state machine's outputs ---- */

/* Fills a parked request's response from the state machine's answer (of the kind it was
 * parked with) and completes it. */
typedef void groups_answer_fn(struct deferred *d, const struct group_out *answer);
/* A tag for a request given to group_join / group_sync; its answer goes to answer(d, ...). */
uint64_t groups_park(struct broker *b, struct deferred *d, enum group_out_kind kind,
                     groups_answer_fn *answer);
/* The outputs after a state machine call: answers parked requests, writes stores, re-arms the
 * timer. Call after every group_* call that takes the outputs. */
struct group_outputs *groups_outputs(struct broker *b);
void groups_run_outputs(struct broker *b);

/* ---- records ---- */

/* Adds the OffsetCommit record of (group, topic, partition) (value NULL: its tombstone). */
int groups_add_offset_record(struct batch_builder *bb, struct wire_str group, struct wire_str topic,
                             int32_t partition, const struct group_offset *value, int64_t now_ms);
/* Adds the tombstone of a group's GroupMetadata record. */
int groups_add_group_tombstone(struct batch_builder *bb, struct wire_str group, int64_t now_ms);

/* Told once the records are committed (error NONE) or not (the coordinator's error: Kafka's
 * mapping of append errors for coordinator writes). */
typedef void groups_written_fn(void *arg, struct broker *b, int16_t error);
/* Appends the builder's records to group_id's partition (the builder is emptied). Returns NONE
 * and calls done later (never from inside this call), or an error with done never called. */
int16_t groups_write(struct broker *b, struct wire_str group_id, struct batch_builder *records,
                     groups_written_fn *done, void *arg);

#endif
