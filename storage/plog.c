/* The partition log. Design note.
 *
 * A plog owns the segments of one directory, sorted by base offset; the last one is the active
 * segment, the only one appended to and the only one whose index files are full size.
 *
 * Offsets, with their invariants (checked by plog_check under the mutex):
 *   log_start <= log_end;  segs[0]->base_offset <= log_start (once retention ran)
 *   recovery_point <= flushed_end <= log_end;  high_watermark <= log_end
 *   segs[i]->next_offset <= segs[i+1]->base_offset;  log_end == active->next_offset
 *   durable end = flushed_end when a flush policy is set, else log_end (DESIGN.md).
 * recovery_point: everything below it, indexes included, is on disk; recovery scans only the
 * segments that may hold offsets >= it. flushed_end advances only in plog_flush_end, by the
 * log end it captured before syncing, and only if no truncation happened meanwhile.
 *
 * Transitions:
 *   plog_open            recovery: load or scan each segment, cut torn tails, start the log
 *   plog_append          log_end advances; maybe a roll (new active, old one trimmed, dirty)
 *   plog_flush_end       flushed_end / recovery_point advance; on a sync error the log fails
 *   plog_truncate        log_end (and flushed_end, recovery point, high watermark) go back
 *   plog_advance_log_start / plog_retention_run   log_start advances, head segments go
 *   plog_close           (clean) flush all, trim the active segment's indexes
 * States: open -> failed (a flush failed: appends refused; reopen to recover) -> closed.
 *
 * Locking: mu guards everything here and the segments' contents; flush_mu serialises whole
 * flushes (so a flush never reports data another flush is still syncing). Reads and appends
 * do their disk I/O under mu (they come from one thread); the flusher holds mu only to capture
 * and to publish, never while syncing, so fdatasync never blocks an append.
 *
 * Recovery (plog_open): an interrupted compaction swap is completed first (BASE.log.swap
 * replaces BASE.log, whose indexes are rebuilt; see cleaner.c), then files other than segments'
 * (.deleted, .tmp, .cleaned, orphan indexes) are removed.
 * With a clean shutdown each segment is loaded (index files trusted, headers after the last
 * index entry read); otherwise every segment that may hold offsets >= recovery_point, and any
 * whose index files are missing, is scanned batch by batch (seg_recover) and its indexes rebuilt;
 * the first torn or corrupt batch ends the log there: the segment is cut and every later one
 * deleted. Scanned segments are then synced, so the whole recovered log is durable.
 *
 * Producer state (producer_state.h): ps reflects every batch below log_end (its map end equals
 * log_end between calls). plog_open deletes the snapshots below the oldest segment and past the
 * log end, loads the latest remaining one and replays the batches after it (plog_replay);
 * plog_truncate does the same (plog_producers_reload). plog_append checks a client's producer batch
 * (pstate_check) before anything changes, applies every producer batch with an undo record before
 * the write and undoes them if the write fails; plog_roll writes a snapshot named by the new base
 * offset before creating the segment (a failure changes nothing); plog_close(clean) writes one at
 * the log end; plog_truncate reloads, or clears after a full truncation; a log start that moves
 * calls pstate_log_start_advanced, and retention deletes the snapshots below the oldest segment
 * left. Snapshots are durable when written (sio_write_atomic), the log only when flushed: after
 * a power loss a snapshot may lie past the recovered log end, hence the deletion above it.
 *
 * Leader epochs (epoch_cache.h): every appended batch's partitionLeaderEpoch is assigned before
 * the write, and the file rewritten when that changed the cache. plog_open cuts the cache at the
 * recovered end, assigns the epochs of the scanned segments' batches (every segment's when the
 * file was missing or malformed) in plog_replay's pass, then applies the log start;
 * plog_truncate cuts the end (clears it after a full truncation); a moving log start cuts the
 * start. */
#include "plog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epoch_cache.h"
#include "invariant.h"
#include "record_batch.h"
#include "segment.h"

struct plog {
  pthread_mutex_t mu, flush_mu;
  struct storage_io *io;
  char dir[SEG_PATH_MAX];
  struct plog_config cfg;
  struct seg_config seg_cfg;
  struct storage_flusher *flusher;
  plog_durable_fn on_durable;
  void *on_durable_arg;
  struct segment **segs;
  size_t seg_count, seg_cap;
  int64_t log_start, log_end, high_watermark, flushed_end, recovery_point;
  uint64_t truncations;
  bool dir_dirty;
  int failed;
  struct pstate *ps; /* producer state; its map end == log_end between calls */
  struct epoch_cache *epochs;
  int64_t now_ms;      /* the latest clock a caller gave (snapshot loads drop expired producers) */
  uint64_t fs_id;      /* the file system of dir (sio_fs_id), for the flusher's shared syncfs */
  size_t flusher_slot; /* where the flusher keeps this log's entry; flusher.c's, under its mutex */
  bool flush_shared;   /* its last flush was a syncfs shared with other logs: no zero fill */
};

void plog_config_init(struct plog_config *c) {
  c->segment_bytes = 1024 * 1024 * 1024;
  c->segment_ms = 7LL * 24 * 3600 * 1000;
  c->index_size_max = 10 * 1024 * 1024;
  c->index_interval_bytes = 4096;
  c->flush_messages = 1;
  c->flush_ms = PLOG_NEVER;
  c->retention_ms = 7LL * 24 * 3600 * 1000;
  c->retention_bytes = -1;
  c->max_message_bytes = 1048588;
  c->producer_id_expiration_ms = PSTATE_EXPIRATION_MS_DEFAULT;
}

enum { PLOG_RECOVERY_BATCH_MAX = 128 << 20 };

static bool plog_flush_enabled(const struct plog *log) {
  return log->cfg.flush_messages != PLOG_NEVER || log->cfg.flush_ms != PLOG_NEVER;
}

static struct segment *plog_active(const struct plog *log) { return log->segs[log->seg_count - 1]; }

static void plog_check(const struct plog *log) {
  INVARIANT(log->seg_count >= 1);
  INVARIANT(log->log_start <= log->log_end);
  INVARIANT(log->recovery_point <= log->flushed_end && log->flushed_end <= log->log_end);
  INVARIANT(log->high_watermark <= log->log_end);
  INVARIANT(log->log_end == plog_active(log)->next_offset);
  for (size_t i = 0; i + 1 < log->seg_count; i++)
    INVARIANT(log->segs[i]->next_offset <= log->segs[i + 1]->base_offset);
}

static int plog_seg_push(struct plog *log, struct segment *s) {
  if (log->seg_count == log->seg_cap) {
    size_t ncap = log->seg_cap ? log->seg_cap * 2 : 8;
    struct segment **n = realloc(log->segs, ncap * sizeof(*n));
    if (n == NULL) return -ENOMEM;
    log->segs = n;
    log->seg_cap = ncap;
  }
  log->segs[log->seg_count++] = s;
  return 0;
}

/* Deletes segs[i]'s files and drops it from the array. */
static int plog_seg_delete(struct plog *log, size_t i) {
  struct segment *s = log->segs[i];
  int rc = seg_delete_files(s);
  memmove(&log->segs[i], &log->segs[i + 1], (log->seg_count - i - 1) * sizeof(*log->segs));
  log->seg_count--;
  seg_unref(s);
  log->dir_dirty = true;
  return rc;
}

/* Index of the last segment whose base offset <= offset (0 when none). */
static size_t plog_seg_find(const struct plog *log, int64_t offset) {
  size_t lo = 0, hi = log->seg_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (log->segs[mid]->base_offset <= offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo == 0 ? 0 : lo - 1;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* A segment file name: 20 digits then ext; its base offset in *base. */
static bool parse_seg_name(const char *name, const char *ext, int64_t *base) {
  size_t len = strlen(name), ext_len = strlen(ext);
  if (len != 20 + ext_len || strcmp(name + 20, ext) != 0) return false;
  int64_t v = 0;
  for (size_t i = 0; i < 20; i++) {
    if (name[i] < '0' || name[i] > '9') return false;
    if (v > (INT64_MAX - (name[i] - '0')) / 10) return false;
    v = v * 10 + (name[i] - '0');
  }
  *base = v;
  return true;
}

static bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Lists the segments' base offsets; removes leftovers (.deleted, .tmp, .cleaned, .swap, index
 * files without a .log). */
/* One past the last offset of a compaction's rewrite (whole: synced before it was named
 * .swap), from its batch headers. */
static int swap_end_offset(struct plog *log, const char *path, int64_t *end) {
  int fd;
  uint64_t size, pos = 0;
  int64_t mtime;
  int rc = sio_open(log->io, path, O_RDONLY, &fd);
  if (rc != 0) return rc;
  rc = sio_fstat(log->io, fd, &size, &mtime);
  *end = -1;
  while (rc == 0 && pos + RB_HEADER_SIZE <= size) {
    uint8_t hdr[RB_HEADER_SIZE];
    struct record_batch b;
    rc = sio_pread_full(log->io, fd, hdr, sizeof(hdr), pos);
    if (rc != 0) break;
    int v = rb_parse_header(hdr, sizeof(hdr), &b); /* a header alone is "truncated" */
    if (v != RB_OK && v != RB_ETRUNCATED) {
      rc = -EBADMSG;
      break;
    }
    *end = rb_last_offset(&b) + 1;
    pos += rb_size(&b);
  }
  sio_close(log->io, fd);
  return rc == 0 && (pos != size || *end < 0) ? -EBADMSG : rc;
}

/* Completes the swap of DIR/<swap_name> (BASE.log.swap) as cleaner.c's commit does: the
 * segments it merged (bases in (BASE, its end)) go, then BASE's indexes, then it becomes
 * BASE.log. bases (sorted) loses the merged ones. */
static int complete_swap(struct plog *log, const char *swap_name, int64_t base, int64_t *bases,
                         size_t *n_bases) {
  char swap[SEG_PATH_MAX + 64], path[SEG_PATH_MAX + 64];
  static const char *const exts[] = {".log", ".index", ".timeindex"};
  int64_t end;
  snprintf(swap, sizeof(swap), "%s/%s", log->dir, swap_name);
  int rc = swap_end_offset(log, swap, &end);
  size_t kept = 0;
  for (size_t i = 0; rc == 0 && i < *n_bases; i++) {
    if (bases[i] <= base || bases[i] >= end) {
      bases[kept++] = bases[i];
      continue;
    }
    for (size_t k = 0; rc == 0 && k < 3; k++) {
      rc = seg_file_path(log->dir, bases[i], exts[k], path, sizeof(path));
      if (rc == 0) rc = sio_unlink(log->io, path);
      if (rc == -ENOENT) rc = 0;
    }
  }
  if (rc != 0) return rc;
  *n_bases = kept;
  for (size_t k = 1; k < 3; k++) {
    rc = seg_file_path(log->dir, base, exts[k], path, sizeof(path));
    if (rc == 0) rc = sio_unlink(log->io, path);
    if (rc != 0 && rc != -ENOENT) return rc;
  }
  rc = seg_file_path(log->dir, base, ".log", path, sizeof(path));
  if (rc == 0) rc = sio_rename(log->io, swap, path);
  if (rc == 0) log->dir_dirty = true;
  return rc;
}

static int plog_scan_dir(struct plog *log, int64_t **bases_out, size_t *count_out) {
  char **names = NULL;
  size_t count = 0, n_bases = 0;
  int64_t *bases = NULL;
  char path[SEG_PATH_MAX + 64];
  int rc = sio_dir_list(log->io, log->dir, &names, &count);
  if (rc != 0) return rc;
  bases = malloc((count ? count : 1) * sizeof(*bases));
  if (bases == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < count; i++) {
    int64_t base;
    if (parse_seg_name(names[i], ".log", &base)) bases[n_bases++] = base;
  }
  qsort(bases, n_bases, sizeof(*bases), cmp_i64);
  /* an interrupted compaction swap (cleaner.c): BASE.log.swap was complete and durable before it
   * got that name, so it replaces BASE.log and the segments it merged, whose index files go
   * (rebuilt by the scan); without BASE.log (retention removed it since) it is dropped below
   * with the other leftovers */
  for (size_t i = 0; i < count; i++) {
    int64_t base;
    char to[SEG_PATH_MAX + 64];
    size_t len = strlen(names[i]);
    if (!has_suffix(names[i], ".log.swap") || len != 20 + strlen(".log.swap")) continue;
    snprintf(to, sizeof(to), "%.*s", (int)(len - strlen(".swap")), names[i]);
    if (!parse_seg_name(to, ".log", &base) ||
        bsearch(&base, bases, n_bases, sizeof(*bases), cmp_i64) == NULL)
      continue;
    rc = complete_swap(log, names[i], base, bases, &n_bases);
    if (rc != 0) goto out;
  }
  for (size_t i = 0; i < count; i++) {
    int64_t base;
    bool orphan = false;
    if (parse_seg_name(names[i], ".index", &base) || parse_seg_name(names[i], ".timeindex", &base))
      orphan = bsearch(&base, bases, n_bases, sizeof(*bases), cmp_i64) == NULL;
    if (orphan || has_suffix(names[i], ".deleted") || has_suffix(names[i], ".tmp") ||
        has_suffix(names[i], ".cleaned") || has_suffix(names[i], ".swap")) {
      snprintf(path, sizeof(path), "%s/%s", log->dir, names[i]);
      rc = sio_unlink(log->io, path);
      if (rc != 0 && rc != -ENOENT) goto out;
      rc = 0;
      log->dir_dirty = true;
    }
  }
  *bases_out = bases;
  *count_out = n_bases;
  bases = NULL;
out:
  free(bases);
  sio_names_free(names, count);
  return rc;
}

static int plog_mkdir(struct plog *log) {
  int rc = sio_mkdir(log->io, log->dir);
  if (rc == -EEXIST) return 0;
  if (rc != 0) return rc;
  char parent[SEG_PATH_MAX];
  rc = sio_dirname(log->dir, parent, sizeof(parent));
  return rc == 0 ? sio_dir_sync(log->io, parent) : rc;
}

static void plog_free(struct plog *log) {
  for (size_t i = 0; i < log->seg_count; i++) seg_unref(log->segs[i]);
  pstate_free(log->ps);
  epoch_cache_free(log->epochs);
  free(log->segs);
  pthread_mutex_destroy(&log->mu);
  pthread_mutex_destroy(&log->flush_mu);
  free(log);
}

/* Recovery; see the design note. *scan_from: the base offset of the first segment scanned
 * (INT64_MAX when none was). */
static int plog_recover(struct plog *log, const struct plog_open_args *a, int64_t *scan_from) {
  int64_t *bases = NULL;
  size_t base_count = 0;
  bool *scanned = NULL;
  int rc = plog_scan_dir(log, &bases, &base_count);
  if (rc != 0) return rc;
  scanned = calloc(base_count ? base_count : 1, sizeof(*scanned));
  if (scanned == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  int64_t expected = 0;
  for (size_t i = 0; i < base_count; i++) {
    struct segment *s;
    bool missing = false, truncated = false;
    rc = seg_open(log->io, log->dir, bases[i], &log->seg_cfg, &s, &missing);
    if (rc == 0) rc = plog_seg_push(log, s);
    if (rc != 0) {
      if (rc == -ENOMEM) seg_unref(s);
      goto out;
    }
    bool is_last = i + 1 == base_count;
    bool scan = missing || !a->clean_shutdown;
    if (!a->clean_shutdown && !missing) scan = is_last || bases[i + 1] > a->recovery_point;
    if (!scan) {
      rc = seg_load(s);
      if (rc == -EBADMSG)
        scan = true; /* the headers disagree with the file: distrust it */
      else if (rc != 0)
        goto out;
    }
    if (scan) {
      /* The cap only bounds the memory a corrupt length can claim: the log may hold
       * batches larger than the static max.message.bytes it is opened with (a topic override
       * or a dynamic value raised it), and those must survive recovery. */
      uint32_t cap = log->cfg.max_message_bytes + RB_LOG_OVERHEAD;
      if (cap < PLOG_RECOVERY_BATCH_MAX) cap = PLOG_RECOVERY_BATCH_MAX;
      rc = seg_recover(s, expected, cap, &truncated);
      if (rc != 0) goto out;
      scanned[i] = true;
      if (bases[i] < *scan_from) *scan_from = bases[i];
    }
    expected = s->next_offset;
    /* A scanned segment ending short of the next one lost an unsynced tail (power loss can keep
     * a later segment's name and bytes while dropping this one's): offsets must not jump over
     * the hole, so the log ends here. Below the recovery point such a gap is genuine. */
    bool gap = !is_last && scanned[i] && s->next_offset < bases[i + 1];
    if (truncated || gap || (!is_last && s->next_offset > bases[i + 1])) {
      /* the log ends here: later segments go, from the last one back */
      char path[SEG_PATH_MAX + 16];
      for (size_t j = base_count; j-- > i + 1;) {
        static const char *const exts[] = {".log", ".index", ".timeindex"};
        for (size_t k = 0; k < 3; k++) {
          rc = seg_file_path(log->dir, bases[j], exts[k], path, sizeof(path));
          if (rc == 0) rc = sio_unlink(log->io, path);
          if (rc != 0 && rc != -ENOENT) goto out;
          rc = 0;
        }
      }
      log->dir_dirty = true;
      base_count = i + 1;
      break;
    }
  }
  for (size_t i = 0; i < log->seg_count; i++) {
    struct segment *s = log->segs[i];
    if (i + 1 < log->seg_count) {
      if (s->active || scanned[i])
        rc = seg_make_inactive(s);
      else
        s->active = false;
    } else {
      rc = seg_make_active(s);
    }
    if (rc == 0 && scanned[i]) rc = seg_sync(s, true);
    if (rc != 0) goto out;
  }
out:
  free(bases);
  free(scanned);
  return rc;
}

enum {
  PLOG_REPLAY_CHUNK = 64 * 1024,
  PLOG_INFLATE_MAX = 32 * 1024 * 1024, /* cap of records inflated to find one by timestamp */
};

/* Reads the batches up to the log end through the segments (headers in chunks, a control
 * batch whole when its marker is needed) and feeds the producer state those from its map end
 * on, and the leader-epoch cache those from epochs_from on (an epoch above the latest one starts
 * at the batch, as Kafka's segment recovery assigns them). */
static int plog_replay(struct plog *log, int64_t epochs_from) {
  int64_t from = pstate_map_end(log->ps);
  if (epochs_from < from) from = epochs_from;
  uint8_t *chunk = malloc(PLOG_REPLAY_CHUNK), *whole = NULL;
  size_t whole_cap = 0;
  int rc = chunk == NULL ? -ENOMEM : 0;
  for (size_t i = plog_seg_find(log, from); rc == 0 && i < log->seg_count; i++) {
    struct segment *s = log->segs[i];
    uint64_t pos = 0, chunk_pos = 0;
    size_t chunk_len = 0;
    if (s->next_offset <= from) continue;
    rc = seg_find_position(s, from, &pos);
    while (rc == 0 && pos < s->size) {
      if (pos < chunk_pos || pos + RB_HEADER_SIZE > chunk_pos + chunk_len) {
        chunk_len = s->size - pos < PLOG_REPLAY_CHUNK ? (size_t)(s->size - pos) : PLOG_REPLAY_CHUNK;
        chunk_pos = pos;
        rc = seg_read(s, pos, chunk, chunk_len);
        if (rc != 0) break;
      }
      size_t avail = chunk_len - (size_t)(pos - chunk_pos);
      struct record_batch b;
      int v = avail < RB_HEADER_SIZE ? RB_ETRUNCATED
                                     : rb_parse_header(chunk + (pos - chunk_pos), avail, &b);
      if ((v != RB_OK && v != RB_ETRUNCATED) || avail < RB_HEADER_SIZE ||
          rb_size(&b) > s->size - pos) {
        rc = -EBADMSG; /* recovery validated these bytes: the file changed under us */
        break;
      }
      size_t size = rb_size(&b);
      if (b.base_offset >= epochs_from && b.partition_leader_epoch >= 0 &&
          b.partition_leader_epoch > epoch_cache_latest_epoch(log->epochs)) {
        rc = epoch_cache_assign(log->epochs, b.partition_leader_epoch, b.base_offset);
        if (rc < 0) break;
        rc = 0;
      }
      if (rb_last_offset(&b) >= pstate_map_end(log->ps)) {
        if (v != RB_OK && rb_is_control(&b) && rb_has_producer_id(&b)) {
          if (size > whole_cap) {
            uint8_t *n = realloc(whole, size);
            if (n == NULL) {
              rc = -ENOMEM;
              break;
            }
            whole = n;
            whole_cap = size;
          }
          rc = seg_read(s, pos, whole, size);
          if (rc == 0 && rb_parse_header(whole, size, &b) != RB_OK) rc = -EBADMSG;
          if (rc != 0) break;
        }
        bool recorded;
        rc = pstate_apply_batch(log->ps, &b, NULL, &recorded);
        if (rc != 0) break;
        pstate_set_map_end(log->ps, rb_last_offset(&b) + 1);
      }
      pos += size;
    }
  }
  free(chunk);
  free(whole);
  return rc;
}

/* The producer state as of the log end: snapshots past it deleted, the latest one at or below
 * it loaded (none: empty at the log start), then the batches after it replayed. */
static int plog_producers_reload(struct plog *log) {
  int rc = pstate_delete_snapshots_above(log->ps, log->log_end);
  if (rc == 0) rc = pstate_load(log->ps, log->log_end, log->log_start, log->now_ms, NULL);
  if (rc == 0) rc = plog_replay(log, INT64_MAX);
  if (rc == 0) pstate_set_map_end(log->ps, log->log_end);
  return rc;
}

static bool plog_config_valid(const struct plog_config *c) {
  return c->segment_bytes > 0 && c->segment_bytes <= INT32_MAX &&
         c->index_size_max >= SEG_TIME_ENTRY_SIZE && c->producer_id_expiration_ms >= 1;
}

int plog_set_config(struct plog *log, const struct plog_config *c) {
  if (!plog_config_valid(c)) return -EINVAL;
  pthread_mutex_lock(&log->mu);
  /* the producer expiration stays what the state was created with (a broker setting) */
  int64_t expiration_ms = log->cfg.producer_id_expiration_ms;
  log->cfg = *c;
  log->cfg.producer_id_expiration_ms = expiration_ms;
  log->seg_cfg.index_size_max = c->index_size_max; /* for segments created from now on */
  log->seg_cfg.index_interval_bytes = c->index_interval_bytes;
  pthread_mutex_unlock(&log->mu);
  if (log->flusher != NULL) flusher_set_flush_ms(log->flusher, log, c->flush_ms);
  return 0;
}

int plog_open(const struct plog_open_args *a, struct plog **out) {
  struct plog *log = calloc(1, sizeof(*log));
  if (log == NULL) return -ENOMEM;
  pthread_mutex_init(&log->mu, NULL);
  pthread_mutex_init(&log->flush_mu, NULL);
  log->io = a->io;
  log->cfg = a->config;
  log->seg_cfg.index_size_max = a->config.index_size_max;
  log->seg_cfg.index_interval_bytes = a->config.index_interval_bytes;
  log->flusher = a->flusher;
  log->on_durable = a->on_durable;
  log->on_durable_arg = a->on_durable_arg;
  log->now_ms = a->now_ms;
  int rc = 0;
  if (snprintf(log->dir, sizeof(log->dir), "%s", a->dir) >= (int)sizeof(log->dir))
    rc = -ENAMETOOLONG;
  if (rc == 0) rc = pstate_create(log->io, log->dir, a->config.producer_id_expiration_ms, &log->ps);
  bool epochs_rebuild = false;
  int64_t scan_from = INT64_MAX;
  if (rc == 0 && (!plog_config_valid(&a->config) || a->log_start_offset < 0)) rc = -EINVAL;
  if (rc == 0) rc = plog_mkdir(log);
  if (rc == 0) rc = sio_fs_id(log->io, log->dir, &log->fs_id);
  if (rc == 0) rc = epoch_cache_open(log->io, log->dir, &log->epochs, &epochs_rebuild);
  if (rc == 0) rc = plog_recover(log, a, &scan_from);
  if (rc == 0 && log->seg_count == 0) {
    struct segment *s;
    rc = seg_create(log->io, log->dir, a->log_start_offset, &log->seg_cfg, a->now_ms, &s);
    if (rc == 0) {
      rc = plog_seg_push(log, s);
      if (rc != 0) seg_unref(s);
    }
    log->dir_dirty = true;
  }
  if (rc == 0 && log->dir_dirty) {
    rc = sio_dir_sync(log->io, log->dir);
    log->dir_dirty = false;
  }
  if (rc != 0) {
    plog_free(log);
    return rc;
  }
  log->log_end = plog_active(log)->next_offset;
  log->log_start = a->log_start_offset > log->segs[0]->base_offset ? a->log_start_offset
                                                                   : log->segs[0]->base_offset;
  if (log->log_start > log->log_end) log->log_start = log->log_end;
  log->flushed_end = log->recovery_point = log->log_end;
  log->high_watermark = log->log_start;
  /* the leader epochs: entries past the recovered end go, the scanned segments' batches (the
   * whole log when the file was missing or malformed) assign theirs, the start is applied */
  epoch_cache_truncate_from_end(log->epochs, log->log_end);
  rc = pstate_delete_snapshots_below(log->ps, log->segs[0]->base_offset);
  if (rc == 0) rc = pstate_delete_snapshots_above(log->ps, log->log_end);
  if (rc == 0) rc = pstate_load(log->ps, log->log_end, log->log_start, log->now_ms, NULL);
  if (rc == 0) rc = plog_replay(log, epochs_rebuild ? log->segs[0]->base_offset : scan_from);
  if (rc == 0) {
    pstate_set_map_end(log->ps, log->log_end);
    epoch_cache_truncate_from_start(log->epochs, log->log_start);
    rc = epoch_cache_flush(log->epochs);
  }
  if (rc != 0) {
    plog_free(log);
    return rc;
  }
  plog_check(log);
  if (log->flusher != NULL) flusher_register(log->flusher, log, log->cfg.flush_ms);
  *out = log;
  return 0;
}

int plog_close(struct plog *log, bool clean) {
  int rc = 0;
  if (log->flusher != NULL) flusher_unregister(log->flusher, log);
  if (clean) {
    rc = plog_flush(log);
    pthread_mutex_lock(&log->mu);
    struct segment *s = plog_active(log);
    if (rc == 0) rc = pstate_snapshot_take(log->ps, NULL);
    if (rc == 0) rc = seg_make_inactive(s);
    if (rc == 0) rc = seg_sync(s, true);
    pthread_mutex_unlock(&log->mu);
  }
  plog_free(log);
  return rc;
}

/* ---- append ---- */

static bool plog_should_roll(const struct plog *log, uint64_t size, int64_t last_offset,
                             int64_t max_timestamp, int64_t now_ms) {
  const struct segment *s = plog_active(log);
  if (last_offset - s->base_offset > INT32_MAX) return true;
  if (s->size == 0) return false;
  if (s->size + size > log->cfg.segment_bytes) return true;
  if (seg_index_full(s)) return true;
  int64_t waited =
      s->rolling_timestamp >= 0 ? max_timestamp - s->rolling_timestamp : now_ms - s->created_ms;
  return waited > log->cfg.segment_ms;
}

static int plog_roll(struct plog *log, int64_t base_offset, int64_t now_ms) {
  struct segment *old = plog_active(log), *s;
  /* the producer state as of the new base (Kafka's snapshot at roll), taken first so that a
   * failure changes nothing; a gap before base_offset holds no batch */
  pstate_set_map_end(log->ps, base_offset);
  int rc = pstate_snapshot_take(log->ps, NULL);
  if (rc == 0) rc = seg_create(log->io, log->dir, base_offset, &log->seg_cfg, now_ms, &s);
  if (rc != 0) {
    pstate_set_map_end(log->ps, log->log_end);
    return rc;
  }
  rc = plog_seg_push(log, s);
  if (rc != 0) {
    seg_delete_files(s);
    seg_unref(s);
    pstate_set_map_end(log->ps, log->log_end);
    return rc;
  }
  /* a failed trim leaves full-size index files, which loading tolerates */
  (void)seg_make_inactive(old);
  old->log_dirty = old->index_dirty = true;
  log->dir_dirty = true;
  return 0;
}

static void plog_undo_producers(struct plog *log, const struct pstate_undo *undo, size_t count) {
  for (size_t i = count; i-- > 0;) pstate_undo(log->ps, &undo[i]);
}

static int plog_append_common(struct plog *log, uint8_t *data, size_t size, bool assign,
                              int32_t leader_epoch, int64_t now_ms, struct plog_append_info *info) {
  struct seg_batch stack_batches[16], *batches = stack_batches;
  struct pstate_undo stack_undo[16], *undo = stack_undo;
  size_t count = 0, undo_count = 0, producer_batches = 0;
  int rc = 0;
  bool rolled = false, due = false, appended = false, producer_data = false;
  pthread_mutex_lock(&log->mu);
  if (now_ms > log->now_ms) log->now_ms = now_ms;
  if (info != NULL) {
    memset(info, 0, sizeof(*info));
    info->producer_result = PSTATE_OK;
  }
  if (log->failed != 0) {
    rc = log->failed;
    goto out;
  }
  if (size == 0) {
    rc = -EBADMSG;
    goto out;
  }
  /* validate everything before changing anything */
  for (size_t pos = 0; pos < size;) {
    struct record_batch rb;
    int v = rb_validate(data + pos, size - pos, &rb);
    if (v != RB_OK) {
      rc = -EBADMSG;
      goto out;
    }
    if (rb_size(&rb) > log->cfg.max_message_bytes) {
      rc = -EMSGSIZE;
      goto out;
    }
    if (count == sizeof(stack_batches) / sizeof(stack_batches[0]) && batches == stack_batches) {
      batches = malloc((size / RB_HEADER_SIZE + 1) * sizeof(*batches));
      if (batches == NULL) {
        batches = stack_batches;
        rc = -ENOMEM;
        goto out;
      }
      memcpy(batches, stack_batches, sizeof(stack_batches));
    }
    batches[count++] = (struct seg_batch){
        rb.base_offset, rb_last_offset(&rb), rb.max_timestamp, pos, rb_size(&rb), rb.record_count};
    if (rb_has_producer_id(&rb)) {
      producer_batches++;
      producer_data |= !rb_is_control(&rb);
    }
    pos += rb_size(&rb);
  }
  if (assign && producer_data) {
    /* a client's idempotent batch: alone, and checked against its producer (Kafka's order) */
    struct record_batch rb;
    struct pstate_batch dup;
    if (count != 1) {
      rc = -EINVAL;
      goto out;
    }
    rb_parse_header(data, size, &rb);
    enum pstate_result r = pstate_check(
        log->ps, rb.producer_id, rb.producer_epoch, rb.base_sequence,
        pstate_seq_add(rb.base_sequence, rb.last_offset_delta), rb_is_transactional(&rb), &dup);
    if (r == PSTATE_DUPLICATE) {
      if (info != NULL) {
        info->duplicate = true;
        info->duplicate_timestamp = dup.timestamp;
        info->base_offset = dup.first_offset;
        info->last_offset = dup.last_offset;
        info->log_end = log->log_end;
        info->durable_end = plog_flush_enabled(log) ? log->flushed_end : log->log_end;
      }
      goto out;
    }
    if (r != PSTATE_OK) {
      if (info != NULL) info->producer_result = r;
      rc = -EPROTO;
      goto out;
    }
  }
  int64_t next = log->log_end, max_ts = -1;
  for (size_t i = 0; i < count; i++) {
    struct seg_batch *b = &batches[i];
    int64_t delta = b->last_offset - b->base_offset;
    if (assign) {
      b->base_offset = next;
      rb_set_base_offset(data + b->position, next);
      if (leader_epoch >= 0) rb_set_partition_leader_epoch(data + b->position, leader_epoch);
    } else if (b->base_offset < next) {
      rc = -EINVAL;
      goto out;
    }
    b->last_offset = b->base_offset + delta;
    next = b->last_offset + 1;
    if (b->max_timestamp > max_ts) max_ts = b->max_timestamp;
  }
  if (batches[count - 1].last_offset - batches[0].base_offset > INT32_MAX) {
    rc = -EINVAL;
    goto out;
  }
  if (plog_should_roll(log, size, batches[count - 1].last_offset, max_ts, now_ms)) {
    rc = plog_roll(log, batches[0].base_offset, now_ms);
    if (rc != 0) goto out;
    rolled = true;
  } else if (!assign && plog_active(log)->size == 0 &&
             batches[0].base_offset != plog_active(log)->base_offset) {
    /* a follower's first batch past a gap: the empty active segment starts there instead */
    struct segment *empty = plog_active(log);
    rc = plog_roll(log, batches[0].base_offset, now_ms);
    if (rc != 0) goto out;
    size_t i = log->seg_count - 2;
    INVARIANT(log->segs[i] == empty);
    plog_seg_delete(log, i);
    rolled = true;
  }
  if (rolled) {
    /* a follower's roll may start past the log end (a gap compaction left): the log end moves
     * there now, so it matches the active segment even if the write below fails */
    log->log_end = plog_active(log)->next_offset;
    pstate_set_map_end(log->ps, log->log_end);
  }
  /* the leader epochs: each batch's partitionLeaderEpoch (stamped above on the leader) starts
   * its epoch at the batch; written before the batches, as Kafka does */
  bool epochs_changed = false;
  for (size_t i = 0; i < count; i++) {
    struct record_batch rb;
    rb_parse_header(data + batches[i].position, batches[i].size, &rb);
    if (rb.partition_leader_epoch < 0) continue;
    rc = epoch_cache_assign(log->epochs, rb.partition_leader_epoch, batches[i].base_offset);
    if (rc < 0) goto out;
    epochs_changed |= rc > 0;
    rc = 0;
  }
  if (epochs_changed) {
    rc = epoch_cache_flush(log->epochs);
    if (rc != 0) goto out;
  }
  /* the producer state follows the batches (undone if the write fails) */
  if (producer_batches > sizeof(stack_undo) / sizeof(stack_undo[0])) {
    undo = malloc(producer_batches * sizeof(*undo));
    if (undo == NULL) {
      undo = stack_undo;
      rc = -ENOMEM;
      goto out;
    }
  }
  for (size_t i = 0; i < count && producer_batches > 0; i++) {
    struct record_batch rb;
    bool recorded;
    rb_parse_header(data + batches[i].position, batches[i].size, &rb);
    rc = pstate_apply_batch(log->ps, &rb, &undo[undo_count], &recorded);
    if (rc != 0) {
      plog_undo_producers(log, undo, undo_count);
      goto out;
    }
    if (recorded) undo_count++;
  }
  struct segment *s = plog_active(log);
  /* zeros ahead of the appends save this log's own fdatasyncs a file size to write */
  rc = seg_append(s, data, size, batches, count, plog_flush_enabled(log) && !log->flush_shared);
  if (rc != 0) {
    plog_undo_producers(log, undo, undo_count);
    goto out;
  }
  appended = true;
  s->log_dirty = true;
  log->log_end = next;
  pstate_set_map_end(log->ps, next);
  if (log->seg_count == 1 && log->log_start < s->base_offset) log->log_start = s->base_offset;
  if (info != NULL) {
    info->base_offset = batches[0].base_offset;
    info->last_offset = batches[count - 1].last_offset;
    info->log_end = log->log_end;
    info->durable_end = plog_flush_enabled(log) ? log->flushed_end : log->log_end;
  }
  due = rolled || (log->cfg.flush_messages != PLOG_NEVER &&
                   log->log_end - log->flushed_end >= log->cfg.flush_messages);
  plog_check(log);
out:
  pthread_mutex_unlock(&log->mu);
  if (batches != stack_batches) free(batches);
  if (undo != stack_undo) free(undo);
  if (appended && log->flusher != NULL && (due || plog_flush_enabled(log)))
    flusher_note_append(log->flusher, log, due);
  return rc;
}

int plog_append(struct plog *log, uint8_t *data, size_t size, int32_t leader_epoch, int64_t now_ms,
                struct plog_append_info *info) {
  return plog_append_common(log, data, size, true, leader_epoch, now_ms, info);
}

int plog_append_replica(struct plog *log, uint8_t *data, size_t size, int64_t now_ms,
                        struct plog_append_info *info) {
  return plog_append_common(log, data, size, false, -1, now_ms, info);
}

/* ---- flush ---- */

void plog_flush_begin(struct plog *log, struct plog_flush *fl) {
  memset(fl, 0, sizeof(*fl));
  fl->log = log;
  fl->segs = fl->stack;
  fl->with_index = fl->stack_index;
  pthread_mutex_lock(&log->flush_mu);
  pthread_mutex_lock(&log->mu);
  if (log->failed != 0) {
    fl->skip = true;
    pthread_mutex_unlock(&log->mu);
    return;
  }
  if (log->seg_count > PLOG_FLUSH_STACK) {
    fl->segs = malloc(log->seg_count * sizeof(*fl->segs));
    fl->with_index = malloc(log->seg_count * sizeof(*fl->with_index));
    if (fl->segs == NULL || fl->with_index == NULL) {
      free(fl->segs);
      free(fl->with_index);
      fl->segs = fl->stack;
      fl->with_index = fl->stack_index;
      fl->skip = true; /* the next flush retries */
      pthread_mutex_unlock(&log->mu);
      return;
    }
  }
  fl->target = log->log_end;
  fl->truncations = log->truncations;
  fl->dir_dirty = log->dir_dirty;
  log->dir_dirty = false;
  for (size_t i = 0; i < log->seg_count; i++) {
    struct segment *s = log->segs[i];
    if (!s->log_dirty && !s->index_dirty) continue;
    seg_ref(s);
    fl->segs[fl->count] = s;
    fl->with_index[fl->count++] = s->index_dirty;
    s->log_dirty = s->index_dirty = false;
  }
  pthread_mutex_unlock(&log->mu);
}

size_t plog_flush_sync_count(const struct plog_flush *fl) {
  if (fl->skip) return 0;
  size_t n = fl->dir_dirty ? 1 : 0;
  for (size_t i = 0; i < fl->count; i++) n += fl->with_index[i] ? 3 : 1;
  return n;
}

int plog_flush_syncfs(const struct plog_flush *fl) {
  INVARIANT(fl->count > 0);
  return sio_syncfs(fl->log->io, fl->segs[0]->log_fd);
}

void plog_flush_end(struct plog_flush *fl) {
  struct plog *log = fl->log;
  if (fl->skip) {
    pthread_mutex_unlock(&log->flush_mu);
    return;
  }
  int rc = fl->rc;
  if (!fl->fs_synced) {
    for (size_t i = 0; i < fl->count && rc == 0; i++) rc = seg_sync(fl->segs[i], fl->with_index[i]);
    if (rc == 0 && fl->dir_dirty) rc = sio_dir_sync(log->io, log->dir);
  }

  pthread_mutex_lock(&log->mu);
  log->flush_shared = fl->fs_synced;
  if (rc != 0) {
    log->failed = rc;
  } else if (log->truncations == fl->truncations && fl->target > log->flushed_end) {
    log->flushed_end = fl->target;
    log->recovery_point = fl->target;
  }
  int64_t durable = plog_flush_enabled(log) ? log->flushed_end : log->log_end;
  pthread_mutex_unlock(&log->mu);
  for (size_t i = 0; i < fl->count; i++) seg_unref(fl->segs[i]);
  if (fl->segs != fl->stack) free(fl->segs);
  if (fl->with_index != fl->stack_index) free(fl->with_index);
  pthread_mutex_unlock(&log->flush_mu);
  if (log->on_durable != NULL && (rc != 0 || plog_flush_enabled(log)))
    log->on_durable(log->on_durable_arg, log, durable, rc);
}

int plog_flush(struct plog *log) {
  struct plog_flush fl;
  plog_flush_begin(log, &fl);
  plog_flush_end(&fl);
  return plog_failed(log);
}

uint64_t plog_fs_id(const struct plog *log) { return log->fs_id; }

size_t *plog_flusher_slot(struct plog *log) { return &log->flusher_slot; }

/* ---- read ---- */

int plog_read(struct plog *log, int64_t offset, uint64_t max_bytes, int64_t max_offset,
              struct plog_read_result *out) {
  int rc = 0;
  memset(out, 0, sizeof(*out));
  out->fd = -1;
  out->first_offset = out->next_offset = offset;
  pthread_mutex_lock(&log->mu);
  if (offset < log->log_start || offset > log->log_end) {
    rc = -ERANGE;
    goto out;
  }
  if (offset == log->log_end || offset >= max_offset) goto out;
  struct segment *s = NULL;
  uint64_t start = 0;
  for (size_t i = plog_seg_find(log, offset); i < log->seg_count; i++) {
    int64_t from = offset > log->segs[i]->base_offset ? offset : log->segs[i]->base_offset;
    rc = seg_find_position(log->segs[i], from, &start);
    if (rc != 0) goto out;
    if (start < log->segs[i]->size) {
      s = log->segs[i];
      break;
    }
  }
  if (s == NULL) goto out;
  uint64_t end = start;
  while (end < s->size) {
    struct seg_batch b;
    rc = seg_read_batch(s, end, &b);
    if (rc != 0) goto out;
    if (b.last_offset >= max_offset) break;
    if (end > start && end + b.size - start > max_bytes) break;
    if (end == start) out->first_offset = b.base_offset;
    out->next_offset = b.last_offset + 1;
    end += b.size;
    if (end - start >= max_bytes) break;
  }
  if (end > start) {
    seg_ref(s);
    out->segment = s;
    out->fd = s->log_fd;
    out->position = start;
    out->size = end - start;
  }
out:
  pthread_mutex_unlock(&log->mu);
  return rc;
}

void plog_read_release(struct plog_read_result *r) {
  seg_unref(r->segment);
  r->segment = NULL;
  r->fd = -1;
}

int plog_find_offset_by_timestamp(struct plog *log, int64_t ts, int64_t *offset,
                                  int64_t *timestamp) {
  int rc = -ENOENT;
  pthread_mutex_lock(&log->mu);
  for (size_t i = 0; i < log->seg_count; i++) {
    struct segment *s = log->segs[i];
    if (s->max_timestamp < ts || s->next_offset <= log->log_start) continue;
    rc = seg_find_timestamp(s, ts, PLOG_INFLATE_MAX, offset, timestamp);
    if (rc != -ENOENT) break;
  }
  if (rc == 0 && *offset < log->log_start) *offset = log->log_start;
  pthread_mutex_unlock(&log->mu);
  return rc;
}

int plog_find_max_timestamp(struct plog *log, int64_t *offset, int64_t *timestamp) {
  int rc = 0;
  *offset = *timestamp = -1;
  pthread_mutex_lock(&log->mu);
  /* the first segment holding the largest timestamp (segments keep theirs: no scan) */
  struct segment *best = NULL;
  for (size_t i = 0; i < log->seg_count; i++)
    if (log->segs[i]->max_timestamp >= 0 &&
        (best == NULL || log->segs[i]->max_timestamp > best->max_timestamp))
      best = log->segs[i];
  if (best != NULL) rc = seg_find_max_timestamp(best, PLOG_INFLATE_MAX, offset, timestamp);
  if (rc == -ENOENT) {
    *offset = *timestamp = -1;
    rc = 0;
  }
  pthread_mutex_unlock(&log->mu);
  return rc;
}

/* ---- truncation, log start, retention ---- */

int plog_truncate(struct plog *log, int64_t offset) {
  int rc = 0;
  bool full = false;
  pthread_mutex_lock(&log->mu);
  if (offset >= log->log_end) goto out;
  if (offset < 0) {
    rc = -EINVAL;
    goto out;
  }
  log->truncations++;
  if (offset < log->segs[0]->base_offset) {
    /* everything goes: a fresh segment at offset (Kafka's truncateFullyAndStartAt); created
     * first (its name is below every existing one), so the log always has a segment */
    struct segment *s;
    rc = seg_create(log->io, log->dir, offset, &log->seg_cfg, 0, &s);
    if (rc != 0) goto out;
    while (log->seg_count > 0) {
      int r = plog_seg_delete(log, log->seg_count - 1);
      if (r != 0 && rc == 0) rc = r;
    }
    int r = plog_seg_push(log, s);
    INVARIANT(r == 0); /* the array had room */
    log->log_start = offset;
    full = true;
  } else {
    while (log->seg_count > 1 && log->segs[log->seg_count - 1]->base_offset >= offset) {
      rc = plog_seg_delete(log, log->seg_count - 1);
      if (rc != 0) goto done;
    }
    struct segment *s = plog_active(log);
    rc = seg_truncate(s, offset);
    if (rc == 0 && !s->active) rc = seg_make_active(s);
    s->log_dirty = s->index_dirty = true;
  }
done:
  log->log_end = plog_active(log)->next_offset;
  if (log->log_start > log->log_end) log->log_start = log->log_end;
  if (log->flushed_end > log->log_end) log->flushed_end = log->log_end;
  if (log->recovery_point > log->log_end) log->recovery_point = log->log_end;
  if (log->high_watermark > log->log_end) log->high_watermark = log->log_end;
  log->dir_dirty = true;
  {
    /* the producers as of the new end: reloaded from a snapshot at or below it and the batches
     * after it (Kafka's truncateAndReload); nothing at all after a full truncation */
    int r;
    if (full) {
      pstate_clear(log->ps, offset);
      r = pstate_delete_snapshots_above(log->ps, -1);
      epoch_cache_clear(log->epochs); /* Kafka's truncateFullyAndStartAt clears the cache */
    } else {
      r = plog_producers_reload(log);
      epoch_cache_truncate_from_end(log->epochs, log->log_end);
    }
    if (r == 0) r = epoch_cache_flush(log->epochs);
    if (r != 0 && rc == 0) rc = r;
  }
  plog_check(log);
out:
  pthread_mutex_unlock(&log->mu);
  return rc;
}

int plog_advance_log_start(struct plog *log, int64_t offset) {
  int rc = 0;
  pthread_mutex_lock(&log->mu);
  if (offset > log->high_watermark || offset < 0)
    rc = -ERANGE;
  else if (offset > log->log_start) {
    log->log_start = offset;
    pstate_log_start_advanced(log->ps, offset);
    epoch_cache_truncate_from_start(log->epochs, offset);
    rc = epoch_cache_flush(log->epochs);
  }
  pthread_mutex_unlock(&log->mu);
  return rc;
}

int plog_retention_run(struct plog *log, int64_t now_ms, size_t *deleted) {
  int rc = 0;
  size_t n = 0;
  pthread_mutex_lock(&log->mu);
  if (now_ms > log->now_ms) log->now_ms = now_ms;
  int64_t old_start = log->log_start;
  /* only segments the high watermark has passed (Kafka's deletableSegments) */
#define DELETABLE() (log->seg_count > 1 && log->segs[1]->base_offset <= log->high_watermark)
  if (log->cfg.retention_ms >= 0) {
    while (rc == 0 && DELETABLE()) {
      struct segment *s = log->segs[0];
      int64_t ts = s->max_timestamp >= 0 ? s->max_timestamp : s->created_ms;
      if (now_ms - ts <= log->cfg.retention_ms) break;
      rc = plog_seg_delete(log, 0);
      n++;
    }
  }
  if (log->cfg.retention_bytes >= 0) {
    int64_t diff = (int64_t)plog_size(log) - log->cfg.retention_bytes;
    while (rc == 0 && DELETABLE() && diff - (int64_t)log->segs[0]->size >= 0) {
      diff -= (int64_t)log->segs[0]->size;
      rc = plog_seg_delete(log, 0);
      n++;
    }
  }
  while (rc == 0 && DELETABLE() && log->segs[1]->base_offset <= log->log_start) {
    rc = plog_seg_delete(log, 0);
    n++;
  }
#undef DELETABLE
  if (log->log_start < log->segs[0]->base_offset) log->log_start = log->segs[0]->base_offset;
  if (log->log_start > old_start) {
    pstate_log_start_advanced(log->ps, log->log_start);
    epoch_cache_truncate_from_start(log->epochs, log->log_start);
    int r = epoch_cache_flush(log->epochs);
    if (rc == 0) rc = r;
  }
  if (n > 0) {
    /* snapshots below the oldest segment describe batches that are gone */
    int r = pstate_delete_snapshots_below(log->ps, log->segs[0]->base_offset);
    if (rc == 0) rc = r;
  }
  plog_check(log);
  pthread_mutex_unlock(&log->mu);
  if (deleted != NULL) *deleted = n;
  return rc;
}

/* ---- accessors ---- */

#define PLOG_GET(type, name, expr)  \
  type name(struct plog *log) {     \
    pthread_mutex_lock(&log->mu);   \
    type v = (expr);                \
    pthread_mutex_unlock(&log->mu); \
    return v;                       \
  }

PLOG_GET(int64_t, plog_log_start, log->log_start)
PLOG_GET(int64_t, plog_log_end, log->log_end)
PLOG_GET(int64_t, plog_durable_end, plog_flush_enabled(log) ? log->flushed_end : log->log_end)
PLOG_GET(int64_t, plog_recovery_point, log->recovery_point)
PLOG_GET(int64_t, plog_high_watermark, log->high_watermark)
PLOG_GET(size_t, plog_segment_count, log->seg_count)
PLOG_GET(int, plog_failed, log->failed)

uint64_t plog_size(struct plog *log) {
  /* called with or without mu: only the owning thread changes the segment array */
  uint64_t total = 0;
  for (size_t i = 0; i < log->seg_count; i++) total += log->segs[i]->size;
  return total;
}

void plog_set_high_watermark(struct plog *log, int64_t offset) {
  pthread_mutex_lock(&log->mu);
  log->high_watermark = offset > log->log_end ? log->log_end : offset;
  if (log->high_watermark < log->log_start) log->high_watermark = log->log_start;
  pthread_mutex_unlock(&log->mu);
}

const char *plog_dir(struct plog *log) { return log->dir; }

struct storage_io *plog_io(struct plog *log) {
  return log->io;
}

/* ---- producer state ---- */

int plog_producer_expire(struct plog *log, int64_t now_ms, size_t *expired) {
  pthread_mutex_lock(&log->mu);
  if (now_ms > log->now_ms) log->now_ms = now_ms;
  size_t n = pstate_expire(log->ps, now_ms);
  pthread_mutex_unlock(&log->mu);
  if (expired != NULL) *expired = n;
  return 0;
}

const struct pstate *plog_producer_state(struct plog *log) { return log->ps; }

/* ---- leader epochs ---- */

int plog_end_offset_for_epoch(struct plog *log, int32_t epoch, int32_t *out_epoch,
                              int64_t *out_end_offset) {
  pthread_mutex_lock(&log->mu);
  epoch_cache_end_offset_for(log->epochs, epoch, log->log_end, out_epoch, out_end_offset);
  pthread_mutex_unlock(&log->mu);
  return 0;
}

PLOG_GET(int32_t, plog_latest_epoch, epoch_cache_latest_epoch(log->epochs))

int plog_epoch_for_offset(struct plog *log, int64_t offset, int32_t *epoch) {
  pthread_mutex_lock(&log->mu);
  *epoch = epoch_cache_epoch_for_offset(log->epochs, offset);
  pthread_mutex_unlock(&log->mu);
  return 0;
}

/* ---- compaction (cleaner.c) ---- */

int plog_clean_view_take(struct plog *log, struct plog_clean_view *v) {
  int rc = 0;
  memset(v, 0, sizeof(*v));
  pthread_mutex_lock(&log->mu);
  size_t n = log->seg_count - 1, np = pstate_count(log->ps);
  v->segs = malloc((n ? n : 1) * sizeof(*v->segs));
  v->producers = malloc((np ? np : 1) * sizeof(*v->producers));
  if (v->segs == NULL || v->producers == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    seg_ref(log->segs[i]);
    v->segs[v->count++] = log->segs[i];
  }
  size_t cursor = 0;
  const struct pstate_entry *e;
  while ((e = pstate_next(log->ps, &cursor)) != NULL && v->producer_count < np) {
    if (e->batch_count == 0) continue;
    v->producers[v->producer_count].producer_id = e->producer_id;
    v->producers[v->producer_count++].last_offset = e->batches[e->batch_count - 1].last_offset;
  }
  v->log_start = log->log_start;
  v->high_watermark = log->high_watermark;
  v->active_base = plog_active(log)->base_offset;
  v->generation = log->truncations;
  v->io = log->io;
  v->seg_cfg = log->seg_cfg;
  v->segment_bytes = log->cfg.segment_bytes;
out:
  pthread_mutex_unlock(&log->mu);
  if (rc != 0) plog_clean_view_release(v);
  return rc;
}

void plog_clean_view_release(struct plog_clean_view *v) {
  for (size_t i = 0; i < v->count; i++) seg_unref(v->segs[i]);
  free(v->segs);
  free(v->producers);
  memset(v, 0, sizeof(*v));
}

int plog_clean_swap(struct plog *log, const struct plog_clean_view *v, size_t i, size_t count,
                    struct segment *cleaned,
                    int (*commit)(void *arg, struct segment *const *old, size_t count), void *arg) {
  struct segment *const *old = v->segs + i;
  size_t j = 0;
  int rc = 0;
  pthread_mutex_lock(&log->mu);
  while (j + 1 < log->seg_count && log->segs[j] != old[0]) j++;
  bool same = log->truncations == v->generation && j + count < log->seg_count;
  for (size_t k = 1; same && k < count; k++) same = log->segs[j + k] == old[k];
  if (!same) {
    rc = -EAGAIN; /* truncated, or a segment is gone (retention) or active again */
    goto out;
  }
  /* the cleaner keeps the last batch of every group (emptied if need be): same end */
  INVARIANT(cleaned->next_offset == old[count - 1]->next_offset);
  rc = commit(arg, old, count);
  if (rc != 0) goto out;     /* the old segments stay; recovery finishes a committed swap */
  cleaned->suffix[0] = '\0'; /* its files have their segment names now */
  log->dir_dirty = true;
  /* the first old segment's names now belong to cleaned and the others' files are unlinked:
   * the old segments are only unreferenced; readers holding one keep reading its inode */
  log->segs[j] = cleaned;
  for (size_t k = 0; k < count; k++) seg_unref(old[k]);
  memmove(log->segs + j + 1, log->segs + j + count,
          (log->seg_count - j - count) * sizeof(*log->segs));
  log->seg_count -= count - 1;
  plog_check(log);
out:
  pthread_mutex_unlock(&log->mu);
  return rc;
}
