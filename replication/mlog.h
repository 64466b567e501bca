/* The metadata log: the cluster's state as KRaft metadata records, in the partition log
 * __cluster_metadata-0 under metadata.log.dir, as Kafka lays it out. Each record's value is a
 * framed metadata record (protocol/metadata_record.h); keys are null.
 *
 * Today the quorum is this one node: a write is committed when it is durable on the local disk.
 * The Raft quorum will implement the same three steps with replication:
 *   mlog_write    appends a batch of records (all or none are applied, in log order);
 *   (durability)  the log's on_durable callback fires on the flusher thread; the owner hands it
 *                 to the event loop and calls mlog_commit there;
 *   mlog_commit   applies every written batch that is now durable, through the apply callback,
 *                 and returns the committed end so the caller can answer the requests waiting.
 * Recovery (mlog_open) loads the latest snapshot, then replays the log from the snapshot's end,
 * both through the same callback.
 *
 * Snapshots: <dir>/__cluster_metadata-0/<20-digit end offset>-<10-digit epoch>.checkpoint, as
 * Kafka names them: a control batch with a SnapshotHeaderRecord, batches of the records that
 * rebuild the state (the owner writes them: mlog_snapshot's callback), a control batch with a
 * SnapshotFooterRecord; written atomically (tmp, fsync, rename, directory fsync). After one is
 * written the log start moves to its end offset, so retention may delete the segments below, and
 * older snapshots are deleted.
 *
 * Not thread-safe: one thread (the event loop) calls every function. */
#ifndef QUIRE_REPLICATION_MLOG_H
#define QUIRE_REPLICATION_MLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch_builder.h"
#include "io.h"
#include "logdir.h"
#include "plog.h"

struct mlog;

/* Applies one record (its value bytes, at offset) to the state. A non-zero return stops the
 * replay or commit with that error. */
typedef int mlog_apply_fn(void *arg, const uint8_t *value, size_t size, int64_t offset);

struct mlog_args {
  struct storage_io *io;
  const char *dir; /* metadata.log.dir; the log is <dir>/__cluster_metadata-0 */
  struct storage_flusher *flusher;
  plog_durable_fn on_durable; /* see above */
  void *on_durable_arg;
  mlog_apply_fn *apply;
  void *apply_arg;
  int64_t now_ms;
};

/* Writes the records of a snapshot into b (the state as of mlog_committed_end). */
typedef int mlog_snapshot_fn(void *arg, struct batch_builder *b, int64_t now_ms);

/* Opens (creating when missing), loads the latest snapshot and replays the log. */
int mlog_open(const struct mlog_args *a, struct mlog **out);
int mlog_close(struct mlog *m, bool clean);

/* Appends one batch (from batch_builder_finish; mlog takes it over, freeing it in every case).
 * *last_offset is the batch's last offset: it is committed once mlog_commit returns past it. */
int mlog_write(struct mlog *m, uint8_t *batch, size_t size, int64_t now_ms, int64_t *last_offset);
/* Applies the written batches below durable_end. err < 0 (the flush failed): the batches not yet
 * applied never will be in this process; returns err. Otherwise 0 or the apply error. */
int mlog_commit(struct mlog *m, int64_t durable_end, int err);
/* One past the last applied (committed) offset. */
int64_t mlog_committed_end(const struct mlog *m);
int64_t mlog_end(const struct mlog *m);
struct plog *mlog_plog(struct mlog *m);
/* The number of records replayed at open (snapshot and log; for the start-up log line and the
 * benchmark), and how many of them came from the log after the snapshot. */
uint64_t mlog_replayed(const struct mlog *m);
uint64_t mlog_replayed_from_log(const struct mlog *m);
/* Bytes of log applied since the last snapshot (or the log start): the owner snapshots when it
 * passes metadata.log.max.record.bytes.between.snapshots. */
uint64_t mlog_bytes_since_snapshot(const struct mlog *m);
/* Writes a snapshot at the committed end (nothing when one exists there). */
int mlog_snapshot(struct mlog *m, mlog_snapshot_fn *fn, void *arg, int64_t now_ms);
/* The end offset of the latest snapshot, -1 when none. */
int64_t mlog_snapshot_end(const struct mlog *m);

#endif
