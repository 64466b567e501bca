/* The classic group coordinator's state machine (Kafka 4.3's classic consumer groups): JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup, the member checks of OffsetCommit, DescribeGroups,
 * ListGroups and DeleteGroups, over every group one coordinator owns.
 *
 * Pure: no I/O, no clock, no timers of its own, no randomness of its own. Every call takes the
 * time (now_ms); member ids take their randomness from the caller's group_random_fn. What the
 * caller must do comes back as data in struct group_outputs:
 *   - responses, each carrying the tag the caller gave with its request. JoinGroup and SyncGroup
 *     may be answered later (by another member's request, a timer, a store completion); every
 *     tag given to group_join or group_sync is answered exactly once (a tag superseded by a
 *     retry of the same member is answered at once with REBALANCE_IN_PROGRESS);
 *   - stores: a GroupMetadata record to write to __consumer_offsets. An awaited store holds
 *     responses until the caller reports with group_store_done (Kafka answers them only once
 *     the record is committed);
 *   - deadline_ms: the earliest time group_tick must be called (INT64_MAX when none). Session
 *     timeouts, rebalance timeouts, the initial rebalance delay and the sync timeout all run
 *     from it; the caller keeps one timer.
 * Output strings and bytes are copies in the outputs' arena: valid until group_outputs_reset.
 *
 * The design note (states, invariants, which function does each transition) is in group.c. */
#ifndef QUIRE_BROKER_GROUP_H
#define QUIRE_BROKER_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

enum group_state {
  GROUP_EMPTY,
  GROUP_PREPARING_REBALANCE,
  GROUP_COMPLETING_REBALANCE,
  GROUP_STABLE,
  GROUP_DEAD,
};

/* Kafka's names: "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead". */
const char *group_state_name(enum group_state s);

struct group_config {
  int32_t max_size;                   /* group.max.size (Kafka: 2147483647) */
  int32_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms (Quire: 0) */
  int32_t min_session_timeout_ms;     /* group.min.session.timeout.ms (6000) */
  int32_t max_session_timeout_ms;     /* group.max.session.timeout.ms (1800000) */
  int32_t new_member_join_timeout_ms; /* Kafka's fixed 5 minutes for a new member's JoinGroup */
};

/* Kafka 4.3's values, with Quire's initial rebalance delay (0; see DESIGN.md). */
void group_config_default(struct group_config *cfg);

/* Fills out with 16 random bytes (a member id's UUID). */
typedef void group_random_fn(void *arg, uint8_t out[16]);

/* ---- outputs ---- */

struct group_join_member {
  struct wire_str member_id, group_instance_id; /* instance id len < 0: null */
  struct wire_bytes metadata;                   /* for the selected protocol */
};

/* JoinGroup response. Null strings have len < 0: protocol_type on errors, protocol_name on a
 * fenced JoinGroup (the encoder writes "" where a version has no null: ProtocolName before v7),
 * group_instance_id of dynamic members. */
struct group_join_response {
  int16_t error;
  int32_t generation_id; /* -1 on errors */
  struct wire_str protocol_type, protocol_name, leader, member_id;
  bool skip_assignment;
  struct group_join_member *members; /* the leader's answer only */
  size_t member_count;
};

struct group_sync_response {
  int16_t error;
  struct wire_str protocol_type, protocol_name; /* null on errors */
  struct wire_bytes assignment;
};

/* A member as the GroupMetadata record stores it. */
struct group_store_member {
  struct wire_str member_id, group_instance_id, client_id, client_host;
  int32_t rebalance_timeout_ms, session_timeout_ms;
  struct wire_bytes subscription; /* metadata of the selected protocol; empty when none */
  struct wire_bytes assignment;
};

/* Write the group's GroupMetadata record (the value of its GroupMetadataKey). */
struct group_store {
  uint64_t store_id; /* for group_store_done when awaited */
  bool awaited;      /* responses wait for group_store_done; else nothing waits */
  struct wire_str group_id, protocol_type, protocol_name, leader; /* null when none */
  int32_t generation_id;
  int64_t state_timestamp_ms;
  struct group_store_member *members;
  size_t member_count;
};

enum group_out_kind { GROUP_OUT_JOIN, GROUP_OUT_SYNC, GROUP_OUT_STORE };

struct group_out {
  enum group_out_kind kind;
  uint64_t tag; /* JOIN and SYNC: the request's tag */
  union {
    struct group_join_response join;
    struct group_sync_response sync;
    struct group_store store;
  } u;
};

struct group_outputs {
  struct group_out *items;
  size_t count, capacity;
  int64_t deadline_ms; /* call group_tick at this time; INT64_MAX: no timer */
  struct wire_arena arena;
};

void group_outputs_init(struct group_outputs *o);
/* Forgets the outputs (and frees their strings), keeping the item array. */
void group_outputs_reset(struct group_outputs *o);
void group_outputs_free(struct group_outputs *o);
/* The response with this tag, or NULL (tests and simple callers). */
const struct group_out *group_outputs_find(const struct group_outputs *o, uint64_t tag);

/* ---- the coordinator ---- */

struct group_coord;

/* Allocation failures abort (see group.c's note). */
struct group_coord *group_coord_create(const struct group_config *cfg, group_random_fn *random,
                                       void *random_arg);
/* Frees every group; parked requests are dropped unanswered (the caller owns their tags). */
void group_coord_destroy(struct group_coord *c);

/* ---- requests ---- */

struct group_protocol {
  struct wire_str name;
  struct wire_bytes metadata;
};

struct group_join_request {
  int16_t version; /* v4+: a new dynamic member gets MEMBER_ID_REQUIRED first; v9+: skip */
  struct wire_str group_id, member_id, group_instance_id; /* instance id len < 0: none */
  int32_t session_timeout_ms;
  int32_t rebalance_timeout_ms; /* < 0 (v0): the session timeout */
  struct wire_str protocol_type;
  const struct group_protocol *protocols;
  size_t protocol_count;
  struct wire_str client_id, client_host; /* from the request header and the connection */
};

/* The response (now or later) is a GROUP_OUT_JOIN with this tag. */
void group_join(struct group_coord *c, const struct group_join_request *req, uint64_t tag,
                int64_t now_ms, struct group_outputs *out);

struct group_assignment {
  struct wire_str member_id;
  struct wire_bytes assignment;
};

struct group_sync_request {
  struct wire_str group_id, member_id, group_instance_id;
  int32_t generation_id;
  struct wire_str protocol_type, protocol_name; /* v5+; len < 0: not checked */
  const struct group_assignment *assignments;
  size_t assignment_count;
};

/* The response (now or later) is a GROUP_OUT_SYNC with this tag. */
void group_sync(struct group_coord *c, const struct group_sync_request *req, uint64_t tag,
                int64_t now_ms, struct group_outputs *out);

/* Returns the Heartbeat error code. SyncGroup and Heartbeat answer an unknown group with
 * UNKNOWN_MEMBER_ID, an empty group id with INVALID_GROUP_ID, as Kafka does. */
int16_t group_heartbeat(struct group_coord *c, struct wire_str group_id, struct wire_str member_id,
                        struct wire_str group_instance_id, int32_t generation_id, int64_t now_ms,
                        struct group_outputs *out);

struct group_leaving {
  struct wire_str member_id, group_instance_id; /* v0-2: one, without instance id */
};

/* Returns the top-level error (INVALID_GROUP_ID, else NONE); errors[i] is member i's (an unknown
 * group: UNKNOWN_MEMBER_ID for each). For v0-2 the response's one error is the top level's, else
 * the first member error (Kafka's rule). */
int16_t group_leave(struct group_coord *c, struct wire_str group_id,
                    const struct group_leaving *members, size_t member_count, int16_t *errors,
                    int64_t now_ms, struct group_outputs *out);

/* OffsetCommit's group checks (generation_id -1 and an empty member id: a simple commit, allowed
 * on an Empty or unknown group, which it creates). NONE: the caller stores the offsets. */
int16_t group_commit_check(struct group_coord *c, struct wire_str group_id,
                           struct wire_str member_id, struct wire_str group_instance_id,
                           int32_t generation_id, int16_t version, int64_t now_ms);

/* DeleteGroups: NONE (the group is now Dead and gone; the caller writes its tombstones),
 * GROUP_ID_NOT_FOUND or NON_EMPTY_GROUP. */
int16_t group_delete(struct group_coord *c, struct wire_str group_id);

/* The outcome of an awaited store (error: the append's Kafka error code, NONE when committed). */
void group_store_done(struct group_coord *c, uint64_t store_id, int16_t error, int64_t now_ms,
                      struct group_outputs *out);

/* Runs every timer due at now_ms. */
void group_tick(struct group_coord *c, int64_t now_ms, struct group_outputs *out);
/* The earliest timer, INT64_MAX when none (also left in outputs.deadline_ms by every call). */
int64_t group_deadline(const struct group_coord *c);

/* ---- loading from __consumer_offsets (Kafka's GroupMetadataManager replay and onLoaded) ----
 *
 * Loading precedes serving: these are called while no request of the group is parked. */

/* Replays one GroupMetadata record, decoded into a struct group_store (store_id and awaited are
 * ignored; a protocol type of "" is none; a rebalance timeout of -1, from a v0 record, is the
 * session timeout). It replaces any group of that id (later records win). Without members the
 * group is Empty; with members it is Stable with the stored generation, protocol, leader and
 * assignments, each member supporting only the group's protocol with its stored subscription as
 * metadata, and each must heartbeat within its session timeout from now_ms. The state timestamp
 * is kept (-1: none, as in records older than v2). A group over group.max.size starts a rebalance
 * at once (Kafka's onLoaded). A record Kafka never writes, with members but no protocol type or
 * name, loads the group without its members; duplicate member or instance ids are dropped. */
void group_load(struct group_coord *c, const struct group_store *record, int64_t now_ms,
                struct group_outputs *out);

/* A GroupMetadata tombstone: the group, if loaded, is removed. */
void group_unload(struct group_coord *c, struct wire_str group_id);

/* An offset commit record of a group: creates it Empty, without protocol type, if absent (Kafka's
 * replay getOrMaybeCreateClassicGroup); nothing otherwise. */
void group_load_simple(struct group_coord *c, struct wire_str group_id, int64_t now_ms);

/* ---- offsets: expiry and OffsetDelete ---- */

enum group_expiry { GROUP_EXPIRY_NONE, GROUP_EXPIRY_COMMIT, GROUP_EXPIRY_STATE };

/* How the group's offsets expire (ClassicGroup.offsetExpirationCondition):
 *   COMMIT  each offset's commit timestamp is its base: a group that does not exist or has no
 *           protocol type (a simple consumer's), an Empty group without a state timestamp, a
 *           Stable "consumer" group whose subscribed topics are known;
 *   STATE   *state_ms is the base (the time the group became Empty): an Empty group with a
 *           protocol type;
 *   NONE    no offset expires (a rebalancing group, or one whose topics are unknown).
 * Offsets of topics the group is subscribed to (group_subscribed) never expire. Once every offset
 * of an Empty group expired, the caller deletes it (group_delete) and writes its tombstone. */
enum group_expiry group_offset_expiry(const struct group_coord *c, struct wire_str group_id,
                                      int64_t *state_ms);

/* ClassicGroup.isSubscribedToTopic. The subscribed topics are computed when a generation starts
 * and when a group is loaded: known when the protocol type is "consumer" and either the group has
 * no members or it has a protocol and every member's metadata for it parses as a
 * ConsumerProtocolSubscription. Known: whether they include topic. Unknown: whether the group
 * uses the consumer protocol (Kafka's answer, to be safe); false for a group that does not
 * exist. */
bool group_subscribed(const struct group_coord *c, struct wire_str group_id, struct wire_str topic);

/* OffsetDelete's group checks (the lookup and ClassicGroup.validateOffsetDelete): INVALID_GROUP_ID
 * for an empty id, GROUP_ID_NOT_FOUND when the group does not exist, NON_EMPTY_GROUP when it is
 * not Empty and its protocol type is not "consumer", else NONE: the caller then refuses each
 * topic the group is subscribed to (group_subscribed) with GROUP_SUBSCRIBED_TO_TOPIC. */
int16_t group_offset_delete_check(const struct group_coord *c, struct wire_str group_id);

/* ---- reads (copies in the caller's arena; NULL fields only on arena exhaustion) ---- */

struct group_described_member {
  struct wire_str member_id, group_instance_id, client_id, client_host;
  struct wire_bytes metadata, assignment; /* empty unless the group is Stable */
};

struct group_description {
  struct wire_str group_id, state, protocol_type, protocol_data; /* "" when none */
  struct group_described_member *members;
  size_t member_count;
};

/* false when the group does not exist (Kafka then describes it as "Dead"; v6+ with
 * GROUP_ID_NOT_FOUND), and when the arena is full (d->state.ptr is then NULL). */
bool group_describe(const struct group_coord *c, struct wire_str group_id, struct wire_arena *a,
                    struct group_description *d);

struct group_listed {
  struct wire_str group_id, protocol_type, state, type; /* type: "classic" */
};

/* Groups in id order, filtered by state and type names (case-insensitive; no filter when
 * the count is 0). Returns 0, or -1 when the arena is full. */
int group_list(const struct group_coord *c, const struct wire_str *states, size_t state_count,
               const struct wire_str *types, size_t type_count, struct wire_arena *a,
               struct group_listed **items, size_t *count);

/* Introspection for tests and metrics. */
size_t group_count(const struct group_coord *c);
bool group_find_state(const struct group_coord *c, const char *group_id, enum group_state *state,
                      int32_t *generation_id, size_t *member_count);

#endif
