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
 * Recovery (mlog_open) replays the whole log through the same callback.
 *
 * Not thread-safe: one thread (the event loop) calls every function. */
#ifndef QUIRE_REPLICATION_MLOG_H
#define QUIRE_REPLICATION_MLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Opens (creating when missing) and replays the log. */
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
/* The number of records replayed at open (for the start-up log line and the benchmark). */
uint64_t mlog_replayed(const struct mlog *m);

#endif
