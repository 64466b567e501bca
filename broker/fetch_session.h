/* Incremental fetch sessions (KIP-227) and their bounded cache, as Apache Kafka 4.3's
 * FetchSession / FetchSessionCache. Pure: no I/O, no libevent, no clock of its own (callers pass
 * now_ms), no globals.
 *
 * Design note.
 *  - A session is an id (1..INT32_MAX-1, random, unique in the cache), an epoch (1 after the full
 *    fetch that created it, +1 per incremental fetch, wrapping to 1), whether it names topics by
 *    id (Fetch v13+) or by name, whether it is privileged (a follower's), its creation and
 *    last-used times, and its partitions in order. A partition is keyed by (topic id, index) in
 *    an id session and by (topic name, index) in a name session; it keeps the request parameters
 *    last sent for it (fetch offset, max bytes, leader epochs, the fetcher's log start) and the
 *    response values last sent (high watermark, log start offset), -1 before the first.
 *  - Partitions are a doubly linked list (the order fetches read them in; a partition that just
 *    returned records moves to the end, for fairness) plus a chained hash table.
 *  - The cache holds at most max_slots sessions. A new session (fetch_session_create) takes a
 *    free slot, or evicts, as Kafka's tryEvict: first the least recently used session if it
 *    has been idle longer than eviction_ms; otherwise the least valuable evictable session, if
 *    the new one is worth more. Value orders by (privileged, size, id): a privileged session
 *    beats an unprivileged one, then more partitions beat fewer. Which sessions are evictable is
 *    decided when they are touched (fetch_session_touch): by a privileged newcomer when the
 *    session is unprivileged or older than eviction_ms, by any newcomer when it is older than
 *    eviction_ms. So a young session can only go by being idle.
 *  - Kafka 4.3 splits its cache into shards for its many request threads; Quire serves fetches
 *    on one event loop, so there is one cache (Kafka's behaviour before sharding). Eviction scans
 *    the sessions (at most max_slots) only when the cache is full.
 *
 * Transitions: fetch_session_create (new, cached size unset) -> the caller adds partitions ->
 * fetch_session_touch (size recorded, evictability decided) -> ... touch on each incremental
 * fetch ... -> fetch_session_remove (a full fetch naming it, emptied by forgetting, evicted). */
#ifndef QUIRE_BROKER_FETCH_SESSION_H
#define QUIRE_BROKER_FETCH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Kafka's FetchMetadata: session id 0 is none; epoch 0 starts a session, -1 ends one. */
#define FETCH_SESSION_INVALID_ID 0
#define FETCH_SESSION_INITIAL_EPOCH 0
#define FETCH_SESSION_FINAL_EPOCH (-1)
/* Kafka's MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS (a constant, not a config). */
#define FETCH_SESSION_EVICTION_MS_DEFAULT 120000

struct fetch_session_cache;
struct fetch_session;

struct fetch_session_partition {
  struct wire_uuid topic_id; /* id sessions; zero in name sessions */
  char *topic;               /* name sessions (owned); NULL in id sessions */
  int32_t partition;
  /* the request's parameters, as last sent */
  int32_t max_bytes;
  int64_t fetch_offset;
  int64_t fetcher_log_start_offset;
  int32_t current_leader_epoch;
  int32_t last_fetched_epoch;
  /* the response's values, as last sent (-1 before the first, and after an error) */
  int64_t high_watermark;
  int64_t log_start_offset;
  /* the session's */
  struct fetch_session_partition *prev, *next, *hash_next;
};

/* The next epoch after epoch (Kafka's FetchMetadata.nextEpoch): -1 stays -1, INT32_MAX wraps to
 * 1. */
int32_t fetch_session_next_epoch(int32_t epoch);

/* max_slots: max.incremental.fetch.session.cache.slots (0: no sessions). seed: for session ids.
 * Returns 0 or -ENOMEM. */
int fetch_session_cache_create(int32_t max_slots, int64_t eviction_ms, uint64_t seed,
                               struct fetch_session_cache **out);
void fetch_session_cache_destroy(struct fetch_session_cache *c);
size_t fetch_session_cache_count(const struct fetch_session_cache *c);
/* Partitions of every session, as of their last touch (Kafka's NumIncrementalFetchPartitions-
 * Cached). */
uint64_t fetch_session_cache_partitions(const struct fetch_session_cache *c);
/* Sessions evicted so far. */
uint64_t fetch_session_cache_evictions(const struct fetch_session_cache *c);

struct fetch_session *fetch_session_find(struct fetch_session_cache *c, int32_t id);
/* Creates an empty session (epoch 1) when there is room or an eviction makes some for a session
 * of size partitions; NULL otherwise (or out of memory). The caller adds the partitions, then
 * calls fetch_session_touch. */
struct fetch_session *fetch_session_create(struct fetch_session_cache *c, int64_t now_ms,
                                           bool privileged, bool uses_topic_ids, size_t size);
/* Records the session's use at now_ms: last-used time, cached size, evictability. */
void fetch_session_touch(struct fetch_session_cache *c, struct fetch_session *s, int64_t now_ms);
/* Removes and frees the session. */
void fetch_session_remove(struct fetch_session_cache *c, struct fetch_session *s);

int32_t fetch_session_id(const struct fetch_session *s);
/* A number no other session of this cache ever had (a session id may come back after a removal). */
uint64_t fetch_session_serial(const struct fetch_session *s);
int32_t fetch_session_epoch(const struct fetch_session *s);
void fetch_session_set_epoch(struct fetch_session *s, int32_t epoch);
bool fetch_session_uses_topic_ids(const struct fetch_session *s);
bool fetch_session_privileged(const struct fetch_session *s);
size_t fetch_session_size(const struct fetch_session *s);
int64_t fetch_session_last_used_ms(const struct fetch_session *s);

/* The partitions in order; p->next walks on. */
struct fetch_session_partition *fetch_session_first(struct fetch_session *s);
/* By key: topic_id in an id session, topic (topic_len bytes) in a name session. */
struct fetch_session_partition *fetch_session_partition_find(struct fetch_session *s,
                                                             const struct wire_uuid *topic_id,
                                                             const char *topic, size_t topic_len,
                                                             int32_t partition);
/* Appends a partition (not yet present) with response values -1; NULL when out of memory. */
struct fetch_session_partition *fetch_session_partition_add(struct fetch_session *s,
                                                            const struct wire_uuid *topic_id,
                                                            const char *topic, size_t topic_len,
                                                            int32_t partition);
void fetch_session_partition_remove(struct fetch_session *s, struct fetch_session_partition *p);
void fetch_session_partition_move_to_end(struct fetch_session *s,
                                         struct fetch_session_partition *p);

/* What a response says of a partition (for fetch_session_partition_respond). */
struct fetch_session_response_data {
  int16_t error;
  int64_t high_watermark, log_start_offset;
  uint64_t records_size;
  bool diverging_epoch, preferred_read_replica;
};
/* Whether an incremental response must carry the partition (Kafka's maybeUpdateResponseData):
 * records, a changed high watermark or log start offset, an error, a diverging epoch or a
 * preferred read replica. With update, the cached values follow the response (after an error the
 * high watermark becomes -1, so the partition is sent again once the error is gone). */
bool fetch_session_partition_respond(struct fetch_session_partition *p,
                                     const struct fetch_session_response_data *r, bool update);

#endif
