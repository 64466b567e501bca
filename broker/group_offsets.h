/* Consumer groups' committed offsets, as Kafka 4.3's OffsetMetadataManager keeps them (its
 * offsetsByGroup: group -> topic -> partition -> OffsetAndMetadata), with its expiration rule
 * (OffsetExpirationConditionImpl.isOffsetExpired, cleanupExpiredOffsets), and the one piece of
 * the consumer protocol a classic group coordinator reads: a member's subscribed topics.
 *
 * Pure: no I/O, no clock (callers pass now_ms), no libevent, no globals. Allocation failures
 * abort (as group.c's: the state is bounded upstream by the request limits). The caller writes
 * the OffsetCommit records and tombstones; this module only holds what they say.
 *
 * Strings: group ids, topics and metadata are copied in; a null group id or topic (len < 0) is
 * taken as the empty string (the codec never hands one out: both are non-nullable). Reads hand
 * out borrowed views (topic names and metadata) valid until that entry changes; callbacks must
 * not modify the store. Order is byte order (memcmp, a prefix first), as group.c orders ids.
 *
 * The design note (data structure and invariants) is in group_offsets.c. */
#ifndef QUIRE_BROKER_GROUP_OFFSETS_H
#define QUIRE_BROKER_GROUP_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct group_offsets; /* all groups' committed offsets */

struct group_offset {
  int64_t offset;
  int32_t leader_epoch;     /* -1: none */
  struct wire_str metadata; /* len < 0: null (stored as given; reads return a borrowed view valid
                               until the entry changes) */
  int64_t commit_timestamp_ms;
  int64_t expire_timestamp_ms; /* -1: none (only OffsetCommit v2-4 retention time sets it) */
};

struct group_offsets *group_offsets_create(void);
void group_offsets_destroy(struct group_offsets *o);

/* Stores (replaces) the offset of (group, topic, partition): copies strings (v->metadata may be a
 * view of the entry it replaces). */
void group_offsets_put(struct group_offsets *o, struct wire_str group, struct wire_str topic,
                       int32_t partition, const struct group_offset *v);
/* false when there is none (out untouched). */
bool group_offsets_get(const struct group_offsets *o, struct wire_str group, struct wire_str topic,
                       int32_t partition, struct group_offset *out);
/* true when it existed. A group whose last offset goes is forgotten (has_group is then false). */
bool group_offsets_delete(struct group_offsets *o, struct wire_str group, struct wire_str topic,
                          int32_t partition);

/* Calls fn for each offset of group in (topic name, partition) order; fn must not modify o. */
typedef void group_offsets_each_fn(void *arg, struct wire_str topic, int32_t partition,
                                   const struct group_offset *v);
void group_offsets_each(const struct group_offsets *o, struct wire_str group,
                        group_offsets_each_fn *fn, void *arg);

/* Whether group has at least one offset. */
bool group_offsets_has_group(const struct group_offsets *o, struct wire_str group);
/* Offsets of one group (0 when unknown). */
size_t group_offsets_count(const struct group_offsets *o, struct wire_str group);

/* Calls fn for each group id that has offsets, in id order (fn must not modify o). Sorts the ids
 * on each call (O(n log n)): for listings and timers, not for the request path. */
typedef void group_offsets_group_fn(void *arg, struct wire_str group);
void group_offsets_each_group(const struct group_offsets *o, group_offsets_group_fn *fn, void *arg);

/* Expiration (Kafka's OffsetExpirationConditionImpl.isOffsetExpired + cleanupExpiredOffsets): an
 * offset is expired when it has an expire timestamp and now_ms >= it; otherwise when
 * now_ms - base >= retention_ms, base being base_ms when base_ms >= 0 (the group's state
 * timestamp: an Empty group), else the offset's commit timestamp (the subtraction wraps as
 * Java's long does). keep(arg, topic) true spares a topic (the group is subscribed to it; NULL:
 * none spared); it is asked once per topic of the group. Each expired offset is removed and
 * reported to removed(arg, topic, partition) (the caller writes a tombstone) BEFORE its memory is
 * released (strings valid during the call); neither callback may modify o. Returns how many were
 * removed. Kafka's "all offsets expired" (the group may then be deleted) is
 * !group_offsets_has_group afterwards. Kafka also spares a partition with a pending
 * transactional offset commit: Quire's caller has none to spare yet. */
typedef bool group_offsets_keep_fn(void *arg, struct wire_str topic);
typedef void group_offsets_removed_fn(void *arg, struct wire_str topic, int32_t partition);
size_t group_offsets_expire(struct group_offsets *o, struct wire_str group, int64_t base_ms,
                            int64_t retention_ms, int64_t now_ms, group_offsets_keep_fn *keep,
                            void *keep_arg, group_offsets_removed_fn *removed, void *removed_arg);

/* Removes every offset of group, each reported to removed first, in (topic, partition) order
 * (DeleteGroups; removed may be NULL). Returns the count. */
size_t group_offsets_delete_group(struct group_offsets *o, struct wire_str group,
                                  group_offsets_removed_fn *removed, void *arg);

/* Asserts every invariant of the design note (aborts with file:line on a broken one). O(all
 * offsets): for tests. */
void group_offsets_check(const struct group_offsets *o);

/* The topics of a "consumer" protocol member's JoinGroup metadata (ConsumerProtocolSubscription:
 * int16 version, topics as int32 count + int16-length strings, nullable int32-length user data,
 * then v1+ owned partitions, v2+ generation id, v3+ rack id; never flexible). Read as Kafka 4.3's
 * classic group coordinator reads it (ClassicGroup.computeSubscribedTopics): the version is
 * skipped whatever it is and only the v0 prefix (topics, user data) is parsed, "the base prefix
 * of all versions", so later fields, and any later version, are never looked at. Returns -1 when
 * the bytes do not hold that prefix (every length checked against the bytes left; a null topic
 * array or topic name is refused), else 0 after calling fn(arg, topic) for each topic in order
 * (duplicates included; views into data). fn is called only when 0 is returned. */
int group_subscription_topics(const uint8_t *data, size_t size,
                              void (*fn)(void *arg, struct wire_str topic), void *arg);

#endif
