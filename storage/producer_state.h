/* Producer state of one partition: what idempotent and transactional producers appended last,
 * as Kafka's ProducerStateManager keeps it. Design note, Kafka's rules and the snapshot format in
 * producer_state.c.
 *
 * Errors: functions returning int give 0 or a negative errno (-EBADMSG: a corrupt snapshot or
 * batch; -ENOMEM; disk errors from the storage_io seam). Not thread-safe: the owning plog calls
 * it under its mutex / from its thread. */
#ifndef QUIRE_STORAGE_PRODUCER_STATE_H
#define QUIRE_STORAGE_PRODUCER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"

struct pstate;

enum {
  PSTATE_BATCHES = 5, /* ProducerStateEntry.NUM_BATCHES_TO_RETAIN */
};
#define PSTATE_EXPIRATION_MS_DEFAULT 86400000LL /* producer.id.expiration.ms */

/* One appended batch of a producer (Kafka's BatchMetadata). */
struct pstate_batch {
  int32_t first_seq, last_seq;
  int64_t first_offset, last_offset;
  int64_t timestamp; /* the batch's maxTimestamp */
};

/* A producer id's state (Kafka's ProducerStateEntry). */
struct pstate_entry {
  int64_t producer_id;       /* -1: a free slot */
  int16_t epoch;             /* -1 (RB_NO_PRODUCER_EPOCH) when unknown */
  int32_t coordinator_epoch; /* of the last transaction marker; -1 none */
  int64_t last_timestamp;    /* of the last batch or marker; what expiry compares */
  int64_t txn_first_offset;  /* first offset of the ongoing transaction; -1 none */
  uint8_t batch_count;       /* <= PSTATE_BATCHES */
  struct pstate_batch batches[PSTATE_BATCHES]; /* oldest first */
};

enum pstate_result {
  PSTATE_OK = 0,
  PSTATE_DUPLICATE,          /* a retry of one of the last 5 batches: answer with *dup, NONE */
  PSTATE_OUT_OF_ORDER,       /* OUT_OF_ORDER_SEQUENCE_NUMBER */
  PSTATE_INVALID_EPOCH,      /* INVALID_PRODUCER_EPOCH (Kafka >= 2.7; was PRODUCER_FENCED) */
  PSTATE_INVALID_TXN_STATE,  /* INVALID_TXN_STATE: non-transactional batch inside a transaction */
  PSTATE_COORDINATOR_FENCED, /* TRANSACTION_COORDINATOR_FENCED (markers only) */
  PSTATE_UNKNOWN_PRODUCER,   /* UNKNOWN_PRODUCER_ID: never returned under KIP-360 rules (.c) */
};

/* The Kafka error code a Produce (or WriteTxnMarkers) answers a result with; DUPLICATE -> 0. */
int16_t pstate_result_kafka_error(enum pstate_result r);
const char *pstate_result_name(enum pstate_result r);

/* Kafka's DefaultRecordBatch.incrementSequence: base + delta, wrapping past INT32_MAX to 0.
 * RB_NO_SEQUENCE (-1) stays -1. */
int32_t pstate_seq_add(int32_t seq, int32_t delta);

/* dir: the partition directory, where <20-digit offset>.snapshot files live. expiration_ms:
 * producer.id.expiration.ms. The state starts empty with map end 0. */
int pstate_create(struct storage_io *io, const char *dir, int64_t expiration_ms,
                  struct pstate **out);
void pstate_free(struct pstate *ps);

/* ---- the append path (AppendOrigin.CLIENT) ---- */

/* Validates a client's data batch of producer pid (>= 0) before the append, in Kafka's order:
 * duplicate (same epoch, exact first/last sequence of one of the last 5 batches: *dup is set to
 * it), epoch lower than the current one, sequence, transaction state. last_seq is
 * pstate_seq_add(first_seq, lastOffsetDelta). Changes nothing. */
enum pstate_result pstate_check(const struct pstate *ps, int64_t pid, int16_t epoch,
                                int32_t first_seq, int32_t last_seq, bool transactional,
                                struct pstate_batch *dup);

/* A data batch as appended, with its assigned offsets. */
struct pstate_append {
  int64_t producer_id;
  int16_t epoch;
  int32_t first_seq, last_seq;
  int64_t first_offset, last_offset;
  int64_t max_timestamp;
  bool transactional;
};

/* What an update replaced, so a failed multi-batch append can be undone (newest first). */
struct pstate_undo {
  bool existed;
  struct pstate_entry prev; /* prev.producer_id is the id either way */
};

/* Records a data batch after its append (or while replaying the log: no checks, as Kafka's
 * AppendOrigin.REPLICATION). An epoch change drops the remembered batches. undo may be NULL. */
int pstate_update(struct pstate *ps, const struct pstate_append *a, struct pstate_undo *undo);
/* Restores what an update or marker replaced. */
void pstate_undo(struct pstate *ps, const struct pstate_undo *undo);

/* ---- transaction markers (control batches) ---- */

struct pstate_marker {
  int64_t producer_id;
  int16_t epoch;
  int32_t coordinator_epoch;
  int64_t offset;    /* the marker's offset */
  int64_t timestamp; /* the marker record's timestamp */
  bool commit;       /* COMMIT (type 1) or ABORT (type 0) */
};

struct pstate_completed_txn {
  int64_t producer_id, first_offset, last_offset;
  bool aborted;
};

/* WriteTxnMarkers validation: epoch (TV2: must exceed the current one, except the retry of a
 * marker whose transaction already ended; earlier versions: >=), then coordinator epoch. */
enum pstate_result pstate_check_marker(const struct pstate *ps, int64_t pid, int16_t epoch,
                                       int32_t coordinator_epoch, int transaction_version);
/* Applies a marker: ends the ongoing transaction (*completed set, returns 1, when there was one;
 * 0 otherwise). completed and undo may be NULL. */
int pstate_update_marker(struct pstate *ps, const struct pstate_marker *m, struct pstate_undo *undo,
                         struct pstate_completed_txn *completed);

/* ---- offsets, lookups ---- */

/* One past the last offset the state reflects (Kafka's mapEndOffset). plog advances it after
 * every append, producer or not. */
int64_t pstate_map_end(const struct pstate *ps);
void pstate_set_map_end(struct pstate *ps, int64_t offset);
const struct pstate_entry *pstate_get(const struct pstate *ps, int64_t pid);
size_t pstate_count(const struct pstate *ps);
/* Iteration in no particular order: start with *cursor = 0; NULL at the end. */
const struct pstate_entry *pstate_next(const struct pstate *ps, size_t *cursor);
/* The smallest first offset of an ongoing transaction, or -1 (the LSO's input). */
int64_t pstate_first_unstable_offset(const struct pstate *ps);
/* Whether two states hold the same producers with the same fields (tests, recovery checks). */
bool pstate_equal(const struct pstate *a, const struct pstate *b);

/* Removes producers idle (now_ms - last_timestamp >= expiration_ms) with no ongoing
 * transaction; returns how many. */
size_t pstate_expire(struct pstate *ps, int64_t now_ms);
/* Forgets every producer; map end = offset (truncateFullyAndStartAt keeps no snapshot either:
 * call pstate_delete_snapshots_above(ps, -1) too). */
void pstate_clear(struct pstate *ps, int64_t offset);
/* The log start moved: when the map end is below it, the state is forgotten and the map end
 * jumps there (Kafka's onLogStartOffsetIncremented). */
void pstate_log_start_advanced(struct pstate *ps, int64_t log_start);

/* ---- snapshots: <dir>/<20-digit offset>.snapshot ---- */

/* Writes the state as of the map end (sio_write_atomic), unless a snapshot at the map end was
 * already written or loaded. *written (may be NULL) tells. */
int pstate_snapshot_take(struct pstate *ps, bool *written);
/* Replaces the state by the latest snapshot at or below max_offset, dropping producers expired
 * at now_ms. A corrupt snapshot is deleted and the next older one tried (Kafka). With none, the
 * state is empty and the map end is fallback_offset (the log start). *loaded_offset (may be
 * NULL) is the snapshot's offset, -1 when none. */
int pstate_load(struct pstate *ps, int64_t max_offset, int64_t fallback_offset, int64_t now_ms,
                int64_t *loaded_offset);
/* Deletes the snapshots with offset > offset (truncation), or < offset (log start). */
int pstate_delete_snapshots_above(struct pstate *ps, int64_t offset);
int pstate_delete_snapshots_below(struct pstate *ps, int64_t offset);
/* The offsets of the snapshot files present, ascending (malloc'd; free()). */
int pstate_list_snapshots(struct pstate *ps, int64_t **offsets, size_t *count);
/* The snapshot's path for offset into buf. */
int pstate_snapshot_path(const struct pstate *ps, int64_t offset, char *buf, size_t size);

/* ---- rebuilding from the log ---- */

struct record_batch;

/* Applies one stored batch with replication semantics (no checks): a producer's data batch
 * updates its producer (only the header is read: b->records may be NULL), a control batch's
 * end-transaction marker ends its transaction (b must hold the records; -EINVAL otherwise); a
 * batch without a producer id changes nothing. *recorded tells whether undo (may be NULL) was
 * filled. The map end is the caller's. -EBADMSG for an unreadable marker, -ENOMEM. */
int pstate_apply_batch(struct pstate *ps, const struct record_batch *b, struct pstate_undo *undo,
                       bool *recorded);

/* Replays whole batches (one or more, in offset order, as stored) into the state with
 * replication semantics: batches whose last offset < the map end are skipped; producer batches
 * update their producer, control batches end transactions; the map end follows the last batch.
 * -EBADMSG on bytes that are not whole batches (nothing after the bad batch is applied). The
 * CRC is not checked (the caller's recovery did). */
int pstate_replay(struct pstate *ps, const uint8_t *data, size_t size);

#endif
