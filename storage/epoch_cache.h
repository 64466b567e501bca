/* The leader-epoch cache of one partition (Kafka's LeaderEpochFileCache): for every leader epoch
 * that wrote to the log, the offset of its first batch, kept in the partition directory's
 * leader-epoch-checkpoint file (format in checkpoint.h). Design note and Kafka's rules in
 * epoch_cache.c.
 *
 * Errors: 0 or a negative errno (-EINVAL misuse, -ENOMEM, disk errors from the storage_io seam).
 * Not thread-safe: the owning plog calls it under its mutex. */
#ifndef QUIRE_STORAGE_EPOCH_CACHE_H
#define QUIRE_STORAGE_EPOCH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "io.h"

struct epoch_cache;

#define EPOCH_CACHE_UNDEFINED_EPOCH ((int32_t)-1)  /* Kafka's UNDEFINED_EPOCH */
#define EPOCH_CACHE_UNDEFINED_OFFSET ((int64_t)-1) /* Kafka's UNDEFINED_EPOCH_OFFSET */

/* Reads <dir>/leader-epoch-checkpoint. A missing or malformed file gives an empty cache and
 * *rebuild = true: the caller assigns the epochs again from the log's batches. */
int epoch_cache_open(struct storage_io *io, const char *dir, struct epoch_cache **out,
                     bool *rebuild);
void epoch_cache_free(struct epoch_cache *c);

/* The changes below are made in memory; epoch_cache_flush writes the file. Each returns 1 when
 * the cache changed, 0 when not, or a negative errno. */

/* Epoch epoch starts at start_offset (both >= 0, else -EINVAL). Ignored when epoch is the
 * latest one and start_offset is not below its start. Otherwise the latest entries whose epoch
 * is >= epoch or whose start is >= start_offset are dropped first, keeping both columns
 * strictly increasing. */
int epoch_cache_assign(struct epoch_cache *c, int32_t epoch, int64_t start_offset);
/* Truncation of the log to end_offset: drops the entries starting at or after it. */
int epoch_cache_truncate_from_end(struct epoch_cache *c, int64_t end_offset);
/* The log start moved to start_offset: drops the entries starting at or before it, except that
 * the last of them stays, moved to start_offset (it covers the new start). */
int epoch_cache_truncate_from_start(struct epoch_cache *c, int64_t start_offset);
/* Drops every entry (a log truncated fully). */
int epoch_cache_clear(struct epoch_cache *c);
/* Writes the file (sio_write_atomic) when the cache changed since it was last written or read;
 * a failed write is retried by the next flush. */
int epoch_cache_flush(struct epoch_cache *c);

/* The latest epoch, or EPOCH_CACHE_UNDEFINED_EPOCH when empty. */
int32_t epoch_cache_latest_epoch(const struct epoch_cache *c);
/* OffsetsForLeaderEpoch: the largest epoch <= requested and the end offset of requested (the
 * start of the first later epoch, or log_end for the latest epoch). Details in the .c note. */
void epoch_cache_end_offset_for(const struct epoch_cache *c, int32_t requested, int64_t log_end,
                                int32_t *epoch, int64_t *end_offset);
/* The epoch whose range holds offset, or EPOCH_CACHE_UNDEFINED_EPOCH (before the first entry). */
int32_t epoch_cache_epoch_for_offset(const struct epoch_cache *c, int64_t offset);
/* The entries, oldest first (valid until the next change). */
const struct ckpt_epoch *epoch_cache_entries(const struct epoch_cache *c, size_t *count);

#endif
