/* The leader-epoch cache. Design note.
 *
 * State: entries[0..count), each (epoch, start offset), both columns strictly increasing;
 * dirty when the memory differs from the file. Kafka's rules (LeaderEpochFileCache), in our
 * words:
 *  - assign(epoch, start): nothing to do when epoch is the latest one and start is not below
 *    its start; else entries from the end are dropped while their epoch >= epoch or their start
 *    >= start, then the new entry is appended. Kafka calls it for every v2 batch appended, leader
 *    or follower, with the batch's partitionLeaderEpoch and base offset; recovery calls it for
 *    the batches it scans only when the epoch is above the latest.
 *  - truncate from the end (log truncation, recovery): drop the entries starting >= end.
 *  - truncate from the start (log start moved): drop the entries starting <= start and put the
 *    last one dropped back, starting at start (Kafka's truncateFromStart is exclusive: the
 *    entry covering the new start survives, moved to it).
 *  - end offset for a requested epoch (OffsetsForLeaderEpoch):
 *      requested -1 (UNDEFINED_EPOCH)                 -> (-1, -1)
 *      requested == the latest epoch                  -> (requested, log end)
 *      no entry with a higher epoch (also: empty)     -> (-1, -1)
 *      no entry with epoch <= requested (below all)   -> (requested, start of the first entry)
 *      otherwise -> (largest epoch <= requested, start of the first entry with a higher epoch)
 * Durability: Kafka writes the file synchronously on assign and in the background after
 * truncations; here every change is written by the caller's epoch_cache_flush (tmp + fsync +
 * rename + directory fsync). A stale file after a crash is repaired at open by the caller's
 * truncations to the recovered log (entries past the log end go, the start is re-applied). */
#include "epoch_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EC_PATH_MAX = 4096 + 64 };

struct epoch_cache {
  struct storage_io *io;
  char path[EC_PATH_MAX];
  struct ckpt_epoch *entries;
  size_t count, cap;
  bool dirty;
};

static int ec_reserve(struct epoch_cache *c, size_t n) {
  if (n <= c->cap) return 0;
  size_t ncap = c->cap ? c->cap * 2 : 8;
  while (ncap < n) ncap *= 2;
  struct ckpt_epoch *e = realloc(c->entries, ncap * sizeof(*e));
  if (e == NULL) return -ENOMEM;
  c->entries = e;
  c->cap = ncap;
  return 0;
}

int epoch_cache_open(struct storage_io *io, const char *dir, struct epoch_cache **out,
                     bool *rebuild) {
  struct epoch_cache *c = calloc(1, sizeof(*c));
  if (c == NULL) return -ENOMEM;
  c->io = io;
  int n = snprintf(c->path, sizeof(c->path), "%s/%s", dir, CKPT_LEADER_EPOCH);
  if (n < 0 || (size_t)n >= sizeof(c->path)) {
    free(c);
    return -ENAMETOOLONG;
  }
  struct ckpt_epoch *e = NULL;
  size_t count = 0;
  int rc = ckpt_epochs_read(io, c->path, &e, &count);
  bool malformed = rc == -EBADMSG;
  *rebuild = rc == -ENOENT || malformed;
  if (*rebuild) rc = 0;
  /* the entries go through assign, as in Kafka's constructor: a file whose entries do not
   * increase keeps its monotonic tail */
  for (size_t i = 0; rc == 0 && i < count; i++) {
    rc = epoch_cache_assign(c, e[i].epoch, e[i].start_offset);
    if (rc == -EINVAL) { /* a negative value: nothing in this file can be trusted */
      c->count = 0;
      malformed = *rebuild = true;
      rc = 0;
      break;
    }
    rc = rc < 0 ? rc : 0;
  }
  free(e);
  if (rc != 0) {
    epoch_cache_free(c);
    return rc;
  }
  c->dirty = malformed || c->count != count; /* the file differs from memory: rewrite it */
  *out = c;
  return 0;
}

void epoch_cache_free(struct epoch_cache *c) {
  if (c == NULL) return;
  free(c->entries);
  free(c);
}

int epoch_cache_assign(struct epoch_cache *c, int32_t epoch, int64_t start_offset) {
  if (epoch < 0 || start_offset < 0) return -EINVAL;
  if (c->count > 0) {
    const struct ckpt_epoch *last = &c->entries[c->count - 1];
    if (last->epoch == epoch && start_offset >= last->start_offset) return 0;
  }
  int rc = ec_reserve(c, c->count + 1);
  if (rc != 0) return rc;
  while (c->count > 0 && (c->entries[c->count - 1].epoch >= epoch ||
                          c->entries[c->count - 1].start_offset >= start_offset))
    c->count--;
  c->entries[c->count++] = (struct ckpt_epoch){epoch, start_offset};
  c->dirty = true;
  return 1;
}

int epoch_cache_truncate_from_end(struct epoch_cache *c, int64_t end_offset) {
  size_t before = c->count;
  if (end_offset < 0) return 0;
  while (c->count > 0 && c->entries[c->count - 1].start_offset >= end_offset) c->count--;
  if (c->count == before) return 0;
  c->dirty = true;
  return 1;
}

int epoch_cache_truncate_from_start(struct epoch_cache *c, int64_t start_offset) {
  size_t dropped = 0;
  while (dropped < c->count && c->entries[dropped].start_offset <= start_offset) dropped++;
  if (dropped == 0) return 0;
  if (dropped == 1 && c->entries[0].start_offset == start_offset) return 0; /* nothing moves */
  /* the last entry at or before the start survives, moved to it */
  struct ckpt_epoch keep = {c->entries[dropped - 1].epoch, start_offset};
  memmove(&c->entries[1], &c->entries[dropped], (c->count - dropped) * sizeof(*c->entries));
  c->entries[0] = keep;
  c->count -= dropped - 1;
  c->dirty = true;
  return 1;
}

int epoch_cache_clear(struct epoch_cache *c) {
  if (c->count == 0) return 0;
  c->count = 0;
  c->dirty = true;
  return 1;
}

int epoch_cache_flush(struct epoch_cache *c) {
  if (!c->dirty) return 0;
  int rc = ckpt_epochs_write(c->io, c->path, c->entries, c->count);
  if (rc == 0) c->dirty = false;
  return rc;
}

int32_t epoch_cache_latest_epoch(const struct epoch_cache *c) {
  return c->count > 0 ? c->entries[c->count - 1].epoch : EPOCH_CACHE_UNDEFINED_EPOCH;
}

void epoch_cache_end_offset_for(const struct epoch_cache *c, int32_t requested, int64_t log_end,
                                int32_t *epoch, int64_t *end_offset) {
  *epoch = EPOCH_CACHE_UNDEFINED_EPOCH;
  *end_offset = EPOCH_CACHE_UNDEFINED_OFFSET;
  if (requested == EPOCH_CACHE_UNDEFINED_EPOCH || c->count == 0) return;
  if (requested == c->entries[c->count - 1].epoch) {
    *epoch = requested;
    *end_offset = log_end;
    return;
  }
  /* higher: the first entry with an epoch above requested */
  size_t lo = 0, hi = c->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->entries[mid].epoch <= requested)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == c->count) return; /* above every epoch */
  *end_offset = c->entries[lo].start_offset;
  *epoch = lo == 0 ? requested : c->entries[lo - 1].epoch;
}

int32_t epoch_cache_epoch_for_offset(const struct epoch_cache *c, int64_t offset) {
  int32_t epoch = EPOCH_CACHE_UNDEFINED_EPOCH;
  for (size_t i = 0; i < c->count && c->entries[i].start_offset <= offset; i++)
    epoch = c->entries[i].epoch;
  return epoch;
}

const struct ckpt_epoch *epoch_cache_entries(const struct epoch_cache *c, size_t *count) {
  *count = c->count;
  return c->entries;
}
