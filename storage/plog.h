/* The partition log: the segments of one partition directory (<topic>-<partition>) and its
 * offsets. Design note and invariants in plog.c.
 *
 * Errors: every function returns 0 or a negative errno:
 *  -EBADMSG   a batch to append is corrupt (rb_validate failed)  -> CORRUPT_MESSAGE
 *  -EMSGSIZE  a batch is larger than max_message_bytes           -> MESSAGE_TOO_LARGE
 *  -ERANGE    an offset outside [log start, log end]             -> OFFSET_OUT_OF_RANGE
 *  -EINVAL    misuse (a replica batch below the log end ...)     -> the caller's bug / INVALID_*
 *  -ENOENT    plog_find_offset_by_timestamp found nothing        -> offset -1
 *  -EPROTO    a producer's batch breaks its sequence, epoch or   -> info->producer_result
 *             transaction rules (nothing appended)                  (pstate_result_kafka_error)
 *  anything else (-ENOSPC, -EIO, -EROFS ...) is a disk error      -> KAFKA_STORAGE_ERROR
 * plog_is_disk_error() tells the last group apart.
 *
 * Threading: every plog_* function may be called from one thread at a time (the broker's event
 * loop); the flusher thread works beside it under the log's mutex. The on_durable callback runs
 * on the flusher thread with no storage lock held: it must only hand the news over (e.g.
 * event_active / a pipe) to the thread that owns the log. It may not call plog_close. */
#ifndef QUIRE_STORAGE_PLOG_H
#define QUIRE_STORAGE_PLOG_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "producer_state.h"
#include "segment.h"

struct plog;
struct segment;
struct storage_flusher;

#define PLOG_NEVER INT64_MAX /* flush.messages / flush.ms: never */

struct plog_config {
  uint64_t segment_bytes;            /* segment.bytes, 1 GiB */
  int64_t segment_ms;                /* segment.ms, 7 days */
  uint64_t index_size_max;           /* segment.index.bytes, 10 MiB */
  uint32_t index_interval_bytes;     /* index.interval.bytes, 4096 */
  int64_t flush_messages;            /* flush.messages; Quire's default 1; PLOG_NEVER */
  int64_t flush_ms;                  /* flush.ms; PLOG_NEVER */
  int64_t retention_ms;              /* retention.ms, 7 days; -1 unlimited */
  int64_t retention_bytes;           /* retention.bytes, -1 unlimited */
  uint32_t max_message_bytes;        /* max.message.bytes, 1048588 (per batch) */
  int64_t producer_id_expiration_ms; /* producer.id.expiration.ms, 86400000 (1 day) */
};

/* Kafka 4.3's defaults with Quire's flush policy (every append, grouped). */
void plog_config_init(struct plog_config *c);

/* Called on the flusher thread when the durable end offset advanced (err 0), or when a flush
 * failed (err < 0: the log is failed from then on; see plog_failed). */
typedef void (*plog_durable_fn)(void *arg, struct plog *log, int64_t durable_end, int err);

struct plog_open_args {
  struct storage_io *io;
  const char *dir; /* the partition directory; created when missing */
  struct plog_config config;
  struct storage_flusher *flusher; /* NULL: nothing flushes but plog_flush */
  plog_durable_fn on_durable;
  void *on_durable_arg;
  int64_t recovery_point;   /* recovery-point-offset-checkpoint (0 when absent) */
  int64_t log_start_offset; /* log-start-offset-checkpoint (0 when absent) */
  bool clean_shutdown;      /* the log dir had .kafka_cleanshutdown: skip the scan */
  int64_t now_ms;
};

/* Opens or creates the log and recovers it (plog.c "Recovery"). */
int plog_open(const struct plog_open_args *args, struct plog **out);
/* A topic config changed: the new settings apply from now on (segment sizes and index bounds to
 * segments created from now on; retention at the next run; flushing at once). -EINVAL for
 * settings plog_open would refuse. */
int plog_set_config(struct plog *log, const struct plog_config *config);
/* Closes the log. clean: flush everything, trim the active segment's indexes; the return value
 * says whether that succeeded (the caller writes the clean-shutdown marker only if every log
 * closed cleanly). Frees the log in every case. */
int plog_close(struct plog *log, bool clean);

struct plog_append_info {
  int64_t base_offset; /* first offset of the first batch */
  int64_t last_offset; /* last offset of the last batch */
  int64_t log_end;     /* after the append */
  int64_t durable_end; /* plog_durable_end() right after the append */
  /* A producer's retry of one of its last 5 batches (return 0): nothing was appended;
   * base/last_offset are the original batch's, duplicate_timestamp its maxTimestamp (Kafka
   * answers the retry with those and error NONE). */
  bool duplicate;
  int64_t duplicate_timestamp;
  /* Why the producer state refused the batch when plog_append returns -EPROTO; else PSTATE_OK. */
  enum pstate_result producer_result;
};

/* Leader append: data holds one or more whole batches (a Produce request's records). Each is
 * validated (header, CRC), then its baseOffset rewritten in place to the next offset and, when
 * leader_epoch >= 0, its partitionLeaderEpoch; then all are written as one unit. now_ms is the
 * broker's clock (segment.ms). Rolls first when the unit does not fit the active segment.
 * Producer state (producer_state.h), as Kafka's AppendOrigin.CLIENT: a data batch with a
 * producer id must come alone (-EINVAL otherwise; Kafka refuses any Produce v3+ partition data
 * of more than one batch with INVALID_RECORD before this) and passes pstate_check first: a
 * duplicate returns 0 with info->duplicate, a refusal -EPROTO with info->producer_result.
 * Control batches (transaction markers, from the broker's WriteTxnMarkers after its
 * pstate_check_marker) end their producer's transaction. */
int plog_append(struct plog *log, uint8_t *data, size_t size, int32_t leader_epoch, int64_t now_ms,
                struct plog_append_info *info);
/* Follower append: batches keep their offsets, which must start at or after the log end and
 * increase. The producer state follows them without checks (AppendOrigin.REPLICATION). */
int plog_append_replica(struct plog *log, uint8_t *data, size_t size, int64_t now_ms,
                        struct plog_append_info *info);

/* A file range to send: whole batches only. */
struct plog_read_result {
  struct segment *segment; /* a reference (NULL when empty); release with plog_read_release */
  int fd;                  /* the segment's .log; valid until the release */
  uint64_t position, size;
  int64_t first_offset; /* base offset of the first batch (may be < the asked offset) */
  int64_t next_offset;  /* one past the last batch's last offset */
};

/* Reads from the batch containing offset, whole batches whose last offset < max_offset (the
 * high watermark for consumers, PLOG_NEVER for followers), stopping before max_bytes except
 * that the first batch is always returned whole. An offset == log end (or nothing below
 * max_offset) gives an empty result; outside [log start, log end] -ERANGE. */
int plog_read(struct plog *log, int64_t offset, uint64_t max_bytes, int64_t max_offset,
              struct plog_read_result *out);
void plog_read_release(struct plog_read_result *r);

/* ListOffsets by timestamp: the first record with timestamp >= ts, at or after the log start.
 * Compressed records are inflated to find it (capped at 32 MiB inflated; past that the batch's
 * base offset and maxTimestamp answer). -ENOENT when there is none. */
int plog_find_offset_by_timestamp(struct plog *log, int64_t ts, int64_t *offset,
                                  int64_t *timestamp);
/* ListOffsets MAX_TIMESTAMP (-3, KIP-734), as Kafka 3.8+/4.x answers it: the first record
 * holding the log's largest timestamp, in the first segment and batch that hold it (inflated
 * if needed, capped as above). Like Kafka, every segment counts, even below the log start.
 * (-1, -1) when the log has no record with a timestamp >= 0 (empty). Never -ENOENT. */
int plog_find_max_timestamp(struct plog *log, int64_t *offset, int64_t *timestamp);

/* Follower truncation: removes every batch whose last offset >= offset (a batch containing
 * offset goes whole, as in Kafka). No-op at or past the log end. */
int plog_truncate(struct plog *log, int64_t offset);
/* DeleteRecords: the log start moves to offset (<= high watermark, else -ERANGE); whole
 * segments below it go at the next plog_retention_run. Never moves backwards. */
int plog_advance_log_start(struct plog *log, int64_t offset);

/* Retention (run on a timer, log.retention.check.interval.ms): deletes the oldest inactive
 * segments whose largest timestamp is older than retention_ms, then while the log is over
 * retention_bytes by at least a whole segment, then those wholly below the log start. */
int plog_retention_run(struct plog *log, int64_t now_ms, size_t *deleted);

/* Flushes synchronously on the calling thread (tests, shutdown, no flusher). */
int plog_flush(struct plog *log);

int64_t plog_log_start(struct plog *log);
int64_t plog_log_end(struct plog *log);
/* What a power loss cannot take away: flushed, or simply appended when flushing is disabled. */
int64_t plog_durable_end(struct plog *log);
int64_t plog_recovery_point(struct plog *log);
int64_t plog_high_watermark(struct plog *log);
void plog_set_high_watermark(struct plog *log, int64_t offset); /* clamped to the log end */
size_t plog_segment_count(struct plog *log);
uint64_t plog_size(struct plog *log); /* bytes of every segment's .log */
/* 0, or the disk error that failed a flush (the log then refuses appends). */
int plog_failed(struct plog *log);
static inline bool plog_is_disk_error(int rc) {
  return rc < 0 && rc != -EINVAL && rc != -ERANGE && rc != -EBADMSG && rc != -EMSGSIZE &&
         rc != -ENOENT && rc != -EPROTO;
}
const char *plog_dir(struct plog *log);
struct storage_io *plog_io(struct plog *log); /* the seam the log was opened with */

/* ---- leader epochs ----
 * The log keeps its leader-epoch cache (epoch_cache.h) in the partition directory's
 * leader-epoch-checkpoint: every appended batch's partitionLeaderEpoch starts its epoch at the
 * batch (on the leader, the leader_epoch plog_append stamps), truncations cut it from the end,
 * a log start that moves from the start. */

/* OffsetsForLeaderEpoch (Kafka's endOffsetFor): *out_epoch is the largest epoch <= epoch and
 * *out_end_offset where epoch ended: the log end for the latest epoch, else the start offset
 * of the first later epoch. An epoch below the earliest entry gives (epoch, earliest start);
 * -1, one above every entry, or an empty cache give (-1, -1) (UNDEFINED_EPOCH,
 * UNDEFINED_EPOCH_OFFSET). */
int plog_end_offset_for_epoch(struct plog *log, int32_t epoch, int32_t *out_epoch,
                              int64_t *out_end_offset);
/* The latest epoch in the cache, -1 when empty (ListOffsets' leader epoch for LATEST). */
int32_t plog_latest_epoch(struct plog *log);
/* The epoch of the entry covering offset, -1 before the first one. */
int plog_epoch_for_offset(struct plog *log, int64_t offset, int32_t *epoch);

/* ---- producer state ----
 * The log keeps one producer state (producer_state.h): rebuilt at open from the latest snapshot
 * at or below the log end plus the batches after it, snapshotted at every roll (named by the new
 * segment's base offset) and at a clean close, reloaded at truncation. */

/* Removes the producers idle for producer.id.expiration.ms (the broker's timer,
 * producer.id.expiration.check.interval.ms, 10 min); *expired (may be NULL) how many. */
int plog_producer_expire(struct plog *log, int64_t now_ms, size_t *expired);
/* The state, read-only, for the owning thread (DescribeProducers, WriteTxnMarkers checks):
 * valid until the next plog_* call that changes the log. */
const struct pstate *plog_producer_state(struct plog *log);

/* ---- compaction: for storage/cleaner.c only ----
 * A view of the log's closed segments (each referenced), taken under the log's mutex, and the
 * swap of one of them for its cleaned rewrite. */
struct plog_clean_producer {
  int64_t producer_id, last_offset; /* the last data batch's last offset of a producer */
};
struct plog_clean_view {
  struct segment **segs; /* closed segments, oldest first (the active one is never in it) */
  size_t count;
  struct plog_clean_producer *producers;
  size_t producer_count;
  int64_t log_start, high_watermark, active_base;
  uint64_t generation; /* truncations so far: a swap refuses a view older than a truncation */
  struct storage_io *io;
  struct seg_config seg_cfg; /* the log's, for the rewrites' indexes */
  uint64_t segment_bytes;    /* the log's segment.bytes: the largest merged rewrite */
};
int plog_clean_view_take(struct plog *log, struct plog_clean_view *v);
void plog_clean_view_release(struct plog_clean_view *v);
/* Under the log's mutex: checks that v->segs[i, i + count) are still consecutive closed
 * segments of the log and that no truncation happened since the view (-EAGAIN otherwise, commit
 * not called); calls commit, which gives cleaned (their rewrite into one segment named after the
 * first, opened with seg_open_suffixed, indexes built and synced) its segment names and removes
 * the files of the others (cleaner.c: .cleaned -> .swap -> .log); then puts cleaned in their
 * place, taking over the caller's reference. The old segments, which readers may still hold,
 * are only unreferenced. Only renames, unlinks and one directory fsync (the commit point) happen
 * under the mutex: appends and reads wait for nothing longer. */
int plog_clean_swap(struct plog *log, const struct plog_clean_view *v, size_t i, size_t count,
                    struct segment *cleaned,
                    int (*commit)(void *arg, struct segment *const *old, size_t count), void *arg);

/* ---- the flusher (group commit), flusher.c ----
 * One thread serving many logs: appends mark a log due (flush.messages reached) or pending
 * (flush.ms); each round the thread takes every due log, captures what each has to sync and
 * syncs it, however many appends arrived meanwhile, then reports through each log's
 * on_durable. A round whose logs on one file system would need two or more fdatasyncs makes
 * that file system durable with one syncfs instead (use_syncfs; quire.log.flush.syncfs). */
int storage_flusher_start(bool use_syncfs, struct storage_flusher **out);
void storage_flusher_stop(struct storage_flusher *f); /* after every log was closed */

/* For flusher.c only: one flush in steps, so that a round of logs can share one syncfs.
 * plog_flush_begin captures the dirty segments and the end offset to publish, holding the
 * log's flush lock until plog_flush_end; plog_flush_end syncs them file by file (unless
 * fs_synced: a syncfs, plog_flush_syncfs on any log of the same file system, ran after the
 * capture; rc is its result), then publishes and reports. */
enum { PLOG_FLUSH_STACK = 8 };
struct plog_flush {
  struct plog *log;
  bool skip;      /* a failed log, or no memory: nothing to do */
  bool fs_synced; /* set by the caller before plog_flush_end */
  int rc;         /* with fs_synced: the syncfs's result */
  int64_t target;
  uint64_t truncations;
  bool dir_dirty;
  size_t count;
  struct segment **segs;
  bool *with_index;
  struct segment *stack[PLOG_FLUSH_STACK];
  bool stack_index[PLOG_FLUSH_STACK];
};
void plog_flush_begin(struct plog *log, struct plog_flush *fl);
size_t plog_flush_sync_count(const struct plog_flush *fl); /* fdatasyncs plog_flush_end makes */
int plog_flush_syncfs(const struct plog_flush *fl);        /* fl->count > 0 */
void plog_flush_end(struct plog_flush *fl);
uint64_t plog_fs_id(const struct plog *log);
size_t *plog_flusher_slot(struct plog *log); /* the flusher's index of the log's entry */
void flusher_register(struct storage_flusher *f, struct plog *log, int64_t flush_ms);
void flusher_unregister(struct storage_flusher *f, struct plog *log);
void flusher_set_flush_ms(struct storage_flusher *f, struct plog *log, int64_t flush_ms);
void flusher_note_append(struct storage_flusher *f, struct plog *log, bool due);

#endif
