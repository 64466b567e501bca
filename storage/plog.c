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
 * segments that may hold offsets >= it. flushed_end advances only in plog_flusher_run, by the
 * log end it captured before syncing, and only if no truncation happened meanwhile.
 *
 * Transitions:
 *   plog_open            recovery: load or scan each segment, cut torn tails, start the log
 *   plog_append          log_end advances; maybe a roll (new active, old one trimmed, dirty)
 *   plog_flusher_run     flushed_end / recovery_point advance; on a sync error the log fails
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
 * Recovery (plog_open): files other than segments' (.deleted, .tmp, orphan indexes) are removed.
 * With a clean shutdown each segment is loaded (index files trusted, headers after the last
 * index entry read); otherwise every segment that may hold offsets >= recovery_point, and any
 * whose index files are missing, is scanned batch by batch (seg_recover) and its indexes rebuilt;
 * the first torn or corrupt batch ends the log there: the segment is cut and every later one
 * deleted. Scanned segments are then synced, so the whole recovered log is durable. */
#include "plog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record_batch.h"
#include "segment.h"

#define PLOG_ASSERT(cond)                                                          \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                     \
    }                                                                              \
  } while (0)

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
}

static bool plog_flush_enabled(const struct plog *log) {
  return log->cfg.flush_messages != PLOG_NEVER || log->cfg.flush_ms != PLOG_NEVER;
}

static struct segment *plog_active(const struct plog *log) { return log->segs[log->seg_count - 1]; }

static void plog_check(const struct plog *log) {
  PLOG_ASSERT(log->seg_count >= 1);
  PLOG_ASSERT(log->log_start <= log->log_end);
  PLOG_ASSERT(log->recovery_point <= log->flushed_end && log->flushed_end <= log->log_end);
  PLOG_ASSERT(log->high_watermark <= log->log_end);
  PLOG_ASSERT(log->log_end == plog_active(log)->next_offset);
  for (size_t i = 0; i + 1 < log->seg_count; i++)
    PLOG_ASSERT(log->segs[i]->next_offset <= log->segs[i + 1]->base_offset);
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
  free(log->segs);
  pthread_mutex_destroy(&log->mu);
  pthread_mutex_destroy(&log->flush_mu);
  free(log);
}

/* Recovery; see the design note. */
static int plog_recover(struct plog *log, const struct plog_open_args *a) {
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
      rc = seg_recover(s, expected, log->cfg.max_message_bytes + RB_LOG_OVERHEAD, &truncated);
      if (rc != 0) goto out;
      scanned[i] = true;
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
  int rc = 0;
  if (snprintf(log->dir, sizeof(log->dir), "%s", a->dir) >= (int)sizeof(log->dir))
    rc = -ENAMETOOLONG;
  if (rc == 0 && (a->config.segment_bytes == 0 || a->config.segment_bytes > INT32_MAX ||
                  a->config.index_size_max < SEG_TIME_ENTRY_SIZE || a->log_start_offset < 0))
    rc = -EINVAL;
  if (rc == 0) rc = plog_mkdir(log);
  if (rc == 0) rc = plog_recover(log, a);
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
  int rc = seg_create(log->io, log->dir, base_offset, &log->seg_cfg, now_ms, &s);
  if (rc != 0) return rc;
  rc = plog_seg_push(log, s);
  if (rc != 0) {
    seg_delete_files(s);
    seg_unref(s);
    return rc;
  }
  /* a failed trim leaves full-size index files, which loading tolerates */
  (void)seg_make_inactive(old);
  old->log_dirty = old->index_dirty = true;
  log->dir_dirty = true;
  return 0;
}

static int plog_append_common(struct plog *log, uint8_t *data, size_t size, bool assign,
                              int32_t leader_epoch, int64_t now_ms, struct plog_append_info *info) {
  struct seg_batch stack_batches[16], *batches = stack_batches;
  size_t count = 0;
  int rc = 0;
  bool rolled = false, due = false;
  pthread_mutex_lock(&log->mu);
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
    pos += rb_size(&rb);
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
    PLOG_ASSERT(log->segs[i] == empty);
    plog_seg_delete(log, i);
    rolled = true;
  }
  struct segment *s = plog_active(log);
  rc = seg_append(s, data, size, batches, count);
  if (rc != 0) goto out;
  s->log_dirty = true;
  log->log_end = next;
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
  if (rc == 0 && log->flusher != NULL && (due || plog_flush_enabled(log)))
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

void plog_flusher_run(struct plog *log) {
  struct segment *stack[8], **segs = stack;
  bool stack_index[8], *with_index = stack_index;
  size_t n = 0;
  int rc = 0;
  pthread_mutex_lock(&log->flush_mu);
  pthread_mutex_lock(&log->mu);
  if (log->failed != 0) {
    pthread_mutex_unlock(&log->mu);
    pthread_mutex_unlock(&log->flush_mu);
    return;
  }
  int64_t target = log->log_end;
  uint64_t truncations = log->truncations;
  bool dir_dirty = log->dir_dirty;
  log->dir_dirty = false;
  if (log->seg_count > 8) {
    segs = malloc(log->seg_count * sizeof(*segs));
    with_index = malloc(log->seg_count * sizeof(*with_index));
    if (segs == NULL || with_index == NULL) {
      free(segs == stack ? NULL : segs);
      free(with_index == stack_index ? NULL : with_index);
      segs = stack;
      with_index = stack_index;
      log->dir_dirty = dir_dirty;
      pthread_mutex_unlock(&log->mu);
      pthread_mutex_unlock(&log->flush_mu);
      return; /* the next flush retries */
    }
  }
  for (size_t i = 0; i < log->seg_count; i++) {
    struct segment *s = log->segs[i];
    if (!s->log_dirty && !s->index_dirty) continue;
    seg_ref(s);
    segs[n] = s;
    with_index[n++] = s->index_dirty;
    s->log_dirty = s->index_dirty = false;
  }
  pthread_mutex_unlock(&log->mu);

  for (size_t i = 0; i < n && rc == 0; i++) rc = seg_sync(segs[i], with_index[i]);
  if (rc == 0 && dir_dirty) rc = sio_dir_sync(log->io, log->dir);

  pthread_mutex_lock(&log->mu);
  if (rc != 0) {
    log->failed = rc;
  } else if (log->truncations == truncations && target > log->flushed_end) {
    log->flushed_end = target;
    log->recovery_point = target;
  }
  int64_t durable = plog_flush_enabled(log) ? log->flushed_end : log->log_end;
  pthread_mutex_unlock(&log->mu);
  for (size_t i = 0; i < n; i++) seg_unref(segs[i]);
  if (segs != stack) free(segs);
  if (with_index != stack_index) free(with_index);
  pthread_mutex_unlock(&log->flush_mu);
  if (log->on_durable != NULL && (rc != 0 || plog_flush_enabled(log)))
    log->on_durable(log->on_durable_arg, log, durable, rc);
}

int plog_flush(struct plog *log) {
  plog_flusher_run(log);
  return plog_failed(log);
}

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
    rc = seg_find_timestamp(s, ts, offset, timestamp);
    if (rc != -ENOENT) break;
  }
  if (rc == 0 && *offset < log->log_start) *offset = log->log_start;
  pthread_mutex_unlock(&log->mu);
  return rc;
}

/* ---- truncation, log start, retention ---- */

int plog_truncate(struct plog *log, int64_t offset) {
  int rc = 0;
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
    PLOG_ASSERT(r == 0); /* the array had room */
    log->log_start = offset;
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
  else if (offset > log->log_start)
    log->log_start = offset;
  pthread_mutex_unlock(&log->mu);
  return rc;
}

int plog_retention_run(struct plog *log, int64_t now_ms, size_t *deleted) {
  int rc = 0;
  size_t n = 0;
  pthread_mutex_lock(&log->mu);
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
