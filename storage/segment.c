/* Log segments. Design note.
 *
 * Files (as Kafka lays them out): BASE.log holds whole RecordBatch v2 batches back to back;
 * BASE.index holds big-endian (relative last offset int32, position int32) entries, one each
 * time more than index_interval_bytes of log were appended since the previous entry (Kafka's
 * LogSegment.append); BASE.timeindex holds (max timestamp so far int64, relative offset int32)
 * entries written at the same moments when the max timestamp grew, plus one when the segment
 * becomes inactive. Both index files are ftruncate'd (sparse, like Kafka's setLength) to
 * index_size_max while the segment is active and cut to their entries when it becomes
 * inactive. The entries also live in memory; lookups never read the index files, which serve
 * only the next start. New entries are written SEG_INDEX_WRITE_ENTRIES at a time (one pwrite
 * per file instead of two per batch), and all of them when the segment becomes inactive or
 * was recovered. Like the active segment's index files themselves, which are synced only once
 * inactive, the unwritten tail costs nothing but a longer scan after a crash: loading stops at
 * the first missing entry and reads batch headers from there (invariant 3).
 *
 * Invariants:
 *  1. [0, size) of .log is a sequence of whole batches with increasing offsets, the first with
 *     base >= base_offset, every last offset - base_offset <= INT32_MAX; next_offset is one past
 *     the last of them. Nothing at or past size is ever served (a failed append may leave bytes
 *     there; the next append overwrites them, the next trim cuts them).
 *  2. Index entries strictly increase in both fields and point at batch starts < size; time
 *     entries strictly increase in timestamp and never decrease in offset.
 *  3. Indexes are hints: every lookup ends by reading batch headers from the log (or, for the
 *     active segment's last appends, from its copies of them).
 *  4. A segment is freed when its last reference goes (plog's array, read results, flusher).
 *
 * Zero fill: an append that passes the end of the active segment's file also writes zeros after
 * itself (as many bytes as the file holds, 16 KiB to 256 KiB), so the appends that follow overwrite
 * bytes inside the file instead of growing it: an fdatasync then has no file size (inode) to write,
 * which on ext4 saves a device write per sync (measured: 0.36 -> 0.25 ms per 1 KiB append +
 * fdatasync, 0.45-0.8 -> 0.31-0.39 ms with the CPUs busy). The zeros lie past size (invariant 1);
 * making the segment inactive cuts them, and recovery takes a tail of zeros for the end of the
 * appends, not for a torn write. The caller asks for it (plog: unless flushing is off or its last
 * flush was a syncfs shared with other logs, which writes all their sizes at once), since it
 * costs a copy and a device write of every byte appended (measured: produce 500k x 1 KiB over
 * 200 partitions, 278-280k msgs/s with the zeros, 294-318k without).
 *
 * States: active (index files full size; appends) <-> inactive (trimmed). seg_create and
 * seg_make_active enter active; seg_make_inactive leaves it. Loading: seg_open then seg_load
 * (trusted: clean shutdown, or before the recovery point) or seg_recover (scan + rebuild). */
#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compression.h"
#include "invariant.h"
#include "record_batch.h"

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static void put64(uint8_t *p, uint64_t v) {
  put32(p, (uint32_t)(v >> 32));
  put32(p + 4, (uint32_t)v);
}

int seg_file_path(const char *dir, int64_t base_offset, const char *ext, char *out,
                  size_t out_size) {
  int n = snprintf(out, out_size, "%s/%020" PRId64 "%s", dir, base_offset, ext);
  return n < 0 || (size_t)n >= out_size ? -ENAMETOOLONG : 0;
}

static int seg_alloc(struct storage_io *io, const char *dir, int64_t base_offset,
                     const struct seg_config *cfg, struct segment **out) {
  struct segment *s = calloc(1, sizeof(*s));
  if (s == NULL) return -ENOMEM;
  atomic_init(&s->refs, 1);
  s->io = io;
  s->base_offset = base_offset;
  s->log_fd = s->index_fd = s->time_fd = -1;
  s->next_offset = base_offset;
  s->index_max = (size_t)(cfg->index_size_max / SEG_INDEX_ENTRY_SIZE);
  s->time_max = (size_t)(cfg->index_size_max / SEG_TIME_ENTRY_SIZE);
  s->index_interval_bytes = cfg->index_interval_bytes;
  s->max_timestamp = s->offset_of_max_timestamp = s->rolling_timestamp = -1;
  int rc = seg_file_path(dir, base_offset, "", s->path, sizeof(s->path));
  if (rc == 0 && (s->index_max < 1 || s->time_max < 1)) rc = -EINVAL;
  if (rc != 0) {
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

enum { SEG_FILE_PATH_MAX = SEG_PATH_MAX + 32 };

/* The path of one of the segment's files: DIR/BASE<ext><suffix>. */
static void seg_path(const struct segment *s, const char *ext, char path[SEG_FILE_PATH_MAX]) {
  snprintf(path, SEG_FILE_PATH_MAX, "%s%s%s", s->path, ext, s->suffix);
}

static int seg_open_file(struct segment *s, const char *ext, int flags, int *fd) {
  char path[SEG_FILE_PATH_MAX];
  seg_path(s, ext, path);
  return sio_open(s->io, path, flags, fd);
}

static int seg_open_files(struct segment *s, int flags) {
  int rc = seg_open_file(s, ".log", flags, &s->log_fd);
  if (rc == 0) rc = seg_open_file(s, ".index", flags | O_CREAT, &s->index_fd);
  if (rc == 0) rc = seg_open_file(s, ".timeindex", flags | O_CREAT, &s->time_fd);
  return rc;
}

static void seg_free(struct segment *s) {
  if (s->log_fd >= 0) sio_close(s->io, s->log_fd);
  if (s->index_fd >= 0) sio_close(s->io, s->index_fd);
  if (s->time_fd >= 0) sio_close(s->io, s->time_fd);
  free(s->index);
  free(s->times);
  free(s->recent);
  free(s);
}

void seg_ref(struct segment *s) { atomic_fetch_add(&s->refs, 1); }

void seg_unref(struct segment *s) {
  if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1) seg_free(s);
}

static int seg_index_files_size(struct segment *s, bool full) {
  uint64_t isize =
      full ? s->index_max * SEG_INDEX_ENTRY_SIZE : s->index_count * SEG_INDEX_ENTRY_SIZE;
  uint64_t tsize = full ? s->time_max * SEG_TIME_ENTRY_SIZE : s->time_count * SEG_TIME_ENTRY_SIZE;
  int rc = sio_ftruncate(s->io, s->index_fd, isize);
  if (rc == 0) rc = sio_ftruncate(s->io, s->time_fd, tsize);
  return rc;
}

int seg_create(struct storage_io *io, const char *dir, int64_t base_offset,
               const struct seg_config *cfg, int64_t now_ms, struct segment **out) {
  struct segment *s;
  int rc = seg_alloc(io, dir, base_offset, cfg, &s);
  if (rc != 0) return rc;
  rc = seg_open_files(s, O_RDWR | O_CREAT | O_TRUNC);
  if (rc == 0) rc = seg_index_files_size(s, true);
  if (rc != 0) {
    seg_delete_files(s);
    seg_free(s);
    return rc;
  }
  s->created_ms = now_ms;
  s->active = true;
  *out = s;
  return 0;
}

int seg_open(struct storage_io *io, const char *dir, int64_t base_offset,
             const struct seg_config *cfg, struct segment **out, bool *indexes_missing) {
  return seg_open_suffixed(io, dir, base_offset, cfg, "", out, indexes_missing);
}

int seg_open_suffixed(struct storage_io *io, const char *dir, int64_t base_offset,
                      const struct seg_config *cfg, const char *suffix, struct segment **out,
                      bool *indexes_missing) {
  struct segment *s;
  char path[SEG_FILE_PATH_MAX];
  if (strlen(suffix) >= sizeof(s->suffix)) return -EINVAL;
  int rc = seg_alloc(io, dir, base_offset, cfg, &s);
  if (rc != 0) return rc;
  strcpy(s->suffix, suffix);
  /* the index files are missing when opening them without O_CREAT fails */
  bool missing = false;
  for (int i = 0; i < 2 && rc == 0; i++) {
    int fd;
    seg_path(s, i == 0 ? ".index" : ".timeindex", path);
    rc = sio_open(io, path, O_RDONLY, &fd);
    if (rc == -ENOENT) {
      missing = true;
      rc = 0;
    } else if (rc == 0) {
      sio_close(io, fd);
    }
  }
  if (rc == 0) rc = seg_open_files(s, O_RDWR);
  if (rc == 0) rc = sio_fstat(io, s->log_fd, &s->size, &s->created_ms);
  if (rc == 0 && s->size > INT32_MAX) rc = -EFBIG;
  s->file_size = s->size;
  if (rc != 0) {
    seg_free(s);
    return rc;
  }
  *indexes_missing = missing;
  *out = s;
  return 0;
}

int seg_read(struct segment *s, uint64_t position, void *buf, size_t size) {
  if (position > s->size || size > s->size - position) return -EBADMSG;
  int rc = sio_pread_full(s->io, s->log_fd, buf, size, position);
  return rc == -ENODATA ? -EBADMSG : rc;
}

/* ---- the active segment's recent batches ---- */

static void seg_recent_note(struct segment *s, const struct seg_batch *b) {
  if (s->recent == NULL && (s->recent = malloc(SEG_RECENT * sizeof(*s->recent))) == NULL)
    return; /* only a cache */
  s->recent[s->recent_next] = *b;
  s->recent_next = (s->recent_next + 1) % SEG_RECENT;
  if (s->recent_count < SEG_RECENT) s->recent_count++;
}

/* Newest first: the ring's positions grow with each append. */
static bool seg_recent_find(const struct segment *s, uint64_t position, struct seg_batch *b) {
  for (size_t i = 1; i <= s->recent_count; i++) {
    const struct seg_batch *r = &s->recent[(s->recent_next + SEG_RECENT - i) % SEG_RECENT];
    if (r->position == position) {
      *b = *r;
      return true;
    }
    if (r->position < position) break;
  }
  return false;
}

static void seg_recent_drop(struct segment *s) {
  free(s->recent);
  s->recent = NULL;
  s->recent_next = s->recent_count = 0;
}

int seg_read_batch(struct segment *s, uint64_t position, struct seg_batch *b) {
  uint8_t hdr[RB_HEADER_SIZE];
  struct record_batch rb;
  if (position + RB_HEADER_SIZE > s->size) return -EBADMSG;
  if (s->recent != NULL && seg_recent_find(s, position, b)) return 0;
  int rc = sio_pread_full(s->io, s->log_fd, hdr, sizeof(hdr), position);
  if (rc != 0) return rc == -ENODATA ? -EBADMSG : rc;
  rc = rb_parse_header(hdr, sizeof(hdr), &rb);
  if (rc != RB_OK && rc != RB_ETRUNCATED) return -EBADMSG;
  if (rb.last_offset_delta < 0 || position + rb_size(&rb) > s->size) return -EBADMSG;
  b->base_offset = rb.base_offset;
  b->last_offset = rb_last_offset(&rb);
  b->max_timestamp = rb.max_timestamp;
  b->position = position;
  b->size = rb_size(&rb);
  b->record_count = rb.record_count;
  return 0;
}

/* ---- indexes ---- */

/* Room for entry number count in an array of cap entries growing by doubling up to max. */
static bool seg_reserve(void **arr, size_t *cap, size_t count, size_t max, size_t elem) {
  if (count < *cap) return true;
  if (count >= max) return false;
  size_t ncap = *cap ? *cap * 2 : 64;
  if (ncap > max) ncap = max;
  void *n = realloc(*arr, ncap * elem);
  if (n == NULL) return false; /* the index is a hint: the entry is simply skipped */
  *arr = n;
  *cap = ncap;
  return true;
}

static bool seg_index_room(struct segment *s) {
  return seg_reserve((void **)&s->index, &s->index_cap, s->index_count, s->index_max,
                     sizeof(*s->index));
}

/* one more than time_max: the final entry of seg_make_inactive */
static bool seg_time_room(struct segment *s) {
  return seg_reserve((void **)&s->times, &s->time_cap, s->time_count, s->time_max + 1,
                     sizeof(*s->times));
}

bool seg_index_full(const struct segment *s) {
  return s->index_count >= s->index_max || s->time_count >= s->time_max;
}

/* Writes the entries not yet in the index files, one pwrite per file. */
static int seg_index_write_pending(struct segment *s) {
  uint8_t stack[4096], *buf = stack;
  size_t n = s->index_count - s->index_written, m = s->time_count - s->time_written;
  size_t need = n * SEG_INDEX_ENTRY_SIZE > m * SEG_TIME_ENTRY_SIZE ? n * SEG_INDEX_ENTRY_SIZE
                                                                   : m * SEG_TIME_ENTRY_SIZE;
  if (need > sizeof(stack) && (buf = malloc(need)) == NULL) return -ENOMEM;
  int rc = 0;
  if (n > 0) {
    for (size_t i = 0; i < n; i++) {
      const struct seg_index_entry *e = &s->index[s->index_written + i];
      put32(buf + i * SEG_INDEX_ENTRY_SIZE, (uint32_t)e->rel_offset);
      put32(buf + i * SEG_INDEX_ENTRY_SIZE + 4, (uint32_t)e->position);
    }
    rc = sio_pwrite(s->io, s->index_fd, buf, n * SEG_INDEX_ENTRY_SIZE,
                    (uint64_t)s->index_written * SEG_INDEX_ENTRY_SIZE);
    if (rc == 0) s->index_written = s->index_count;
  }
  if (rc == 0 && m > 0) {
    for (size_t i = 0; i < m; i++) {
      const struct seg_time_entry *e = &s->times[s->time_written + i];
      put64(buf + i * SEG_TIME_ENTRY_SIZE, (uint64_t)e->timestamp);
      put32(buf + i * SEG_TIME_ENTRY_SIZE + 8, (uint32_t)e->rel_offset);
    }
    rc = sio_pwrite(s->io, s->time_fd, buf, m * SEG_TIME_ENTRY_SIZE,
                    (uint64_t)s->time_written * SEG_TIME_ENTRY_SIZE);
    if (rc == 0) s->time_written = s->time_count;
  }
  if (buf != stack) free(buf);
  if (rc != 0) s->index_files_stale = true;
  return rc;
}

/* New entries reach the files in groups (see the design note). */
static void seg_index_maybe_write(struct segment *s) {
  if (s->index_count - s->index_written >= SEG_INDEX_WRITE_ENTRIES ||
      s->time_count - s->time_written >= SEG_INDEX_WRITE_ENTRIES)
    (void)seg_index_write_pending(s); /* a failure marks the files stale */
}

/* Appends a time entry when the max timestamp grew since the last one. */
static void seg_time_maybe_append(struct segment *s, bool skip_full_check) {
  if (s->max_timestamp < 0) return;
  if (s->time_count > 0 && s->times[s->time_count - 1].timestamp >= s->max_timestamp) return;
  if (!skip_full_check && s->time_count >= s->time_max) return;
  if (s->time_count > s->time_max || !seg_time_room(s)) return;
  s->times[s->time_count].timestamp = s->max_timestamp;
  s->times[s->time_count].rel_offset = (int32_t)(s->offset_of_max_timestamp - s->base_offset);
  s->time_count++;
}

/* Kafka's LogSegment.append bookkeeping for one batch at b->position. */
static void seg_index_note(struct segment *s, const struct seg_batch *b) {
  if (b->max_timestamp > s->max_timestamp) {
    s->max_timestamp = b->max_timestamp;
    s->offset_of_max_timestamp = b->last_offset;
  }
  if (s->rolling_timestamp < 0 && b->position == 0) s->rolling_timestamp = b->max_timestamp;
  if (s->bytes_since_index > s->index_interval_bytes && seg_index_room(s)) {
    s->index[s->index_count].rel_offset = (int32_t)(b->last_offset - s->base_offset);
    s->index[s->index_count].position = (int32_t)b->position;
    s->index_count++;
    seg_time_maybe_append(s, false);
    seg_index_maybe_write(s);
    s->bytes_since_index = 0;
  }
  s->bytes_since_index += b->size;
  s->next_offset = b->last_offset + 1;
}

static int seg_index_rewrite_all(struct segment *s) {
  s->index_written = s->time_written = 0;
  int rc = seg_index_write_pending(s);
  if (rc == 0) s->index_files_stale = false;
  return rc;
}

static int seg_read_file(struct segment *s, int fd, uint8_t **data, size_t *size) {
  uint64_t len;
  int rc = sio_fstat(s->io, fd, &len, NULL);
  if (rc != 0) return rc;
  uint8_t *buf = malloc(len ? (size_t)len : 1);
  if (buf == NULL) return -ENOMEM;
  size_t n = 0;
  rc = sio_pread(s->io, fd, buf, (size_t)len, 0, &n);
  if (rc != 0) {
    free(buf);
    return rc;
  }
  *data = buf;
  *size = n;
  return 0;
}

/* Loads the valid prefix of both index files (invariant 2, positions < size). */
static int seg_index_load(struct segment *s) {
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = seg_read_file(s, s->index_fd, &data, &len);
  if (rc != 0) return rc;
  s->index_count = 0;
  for (size_t i = 0; i + SEG_INDEX_ENTRY_SIZE <= len && s->index_count < s->index_max;
       i += SEG_INDEX_ENTRY_SIZE) {
    int32_t rel = (int32_t)be32(data + i), pos = (int32_t)be32(data + i + 4);
    /* an entry is written only after more than index_interval_bytes: position 0 is padding */
    if (rel < 0 || pos <= 0 || (uint64_t)pos >= s->size) break;
    if (s->index_count > 0 && (rel <= s->index[s->index_count - 1].rel_offset ||
                               pos <= s->index[s->index_count - 1].position))
      break;
    if (!seg_index_room(s)) break;
    s->index[s->index_count++] = (struct seg_index_entry){rel, pos};
  }
  free(data);
  rc = seg_read_file(s, s->time_fd, &data, &len);
  if (rc != 0) return rc;
  s->time_count = 0;
  for (size_t i = 0; i + SEG_TIME_ENTRY_SIZE <= len && s->time_count < s->time_max;
       i += SEG_TIME_ENTRY_SIZE) {
    int64_t ts = (int64_t)be64(data + i);
    int32_t rel = (int32_t)be32(data + i + 8);
    if (rel < 0 || ts < 0 || (ts == 0 && rel == 0)) break; /* (0, 0): padding */
    if (s->time_count > 0 && (ts <= s->times[s->time_count - 1].timestamp ||
                              rel < s->times[s->time_count - 1].rel_offset))
      break;
    if (!seg_time_room(s)) break;
    s->times[s->time_count++] = (struct seg_time_entry){ts, rel};
  }
  free(data);
  s->index_written = s->index_count;
  s->time_written = s->time_count;
  return 0;
}

/* Empties both indexes, in memory and on disk (zeroed, back to full size). */
static int seg_index_reset(struct segment *s) {
  s->index_count = s->time_count = 0;
  s->index_written = s->time_written = 0;
  s->bytes_since_index = 0;
  s->index_files_stale = false;
  int rc = sio_ftruncate(s->io, s->index_fd, 0);
  if (rc == 0) rc = sio_ftruncate(s->io, s->time_fd, 0);
  if (rc == 0) rc = seg_index_files_size(s, true);
  return rc;
}

/* Reads headers from the last index entry to the end: next_offset, max timestamp. */
static int seg_scan_tail(struct segment *s) {
  uint64_t pos = s->index_count > 0 ? (uint64_t)s->index[s->index_count - 1].position : 0;
  s->max_timestamp = s->offset_of_max_timestamp = -1;
  if (s->time_count > 0) {
    s->max_timestamp = s->times[s->time_count - 1].timestamp;
    s->offset_of_max_timestamp = s->base_offset + s->times[s->time_count - 1].rel_offset;
  }
  s->next_offset = s->base_offset;
  if (s->index_count > 0) s->next_offset = s->base_offset + s->index[s->index_count - 1].rel_offset;
  s->bytes_since_index = 0;
  while (pos < s->size) {
    struct seg_batch b;
    int rc = seg_read_batch(s, pos, &b);
    if (rc != 0) return rc;
    if (b.max_timestamp > s->max_timestamp) {
      s->max_timestamp = b.max_timestamp;
      s->offset_of_max_timestamp = b.last_offset;
    }
    s->next_offset = b.last_offset + 1;
    s->bytes_since_index += b.size;
    pos += b.size;
  }
  s->rolling_timestamp = -1;
  if (s->size > 0) {
    struct seg_batch first;
    int rc = seg_read_batch(s, 0, &first);
    if (rc != 0) return rc;
    s->rolling_timestamp = first.max_timestamp;
  }
  return 0;
}

int seg_load(struct segment *s) {
  int rc = seg_index_load(s);
  if (rc == 0) rc = seg_scan_tail(s);
  return rc;
}

/* Whether [from, to) of .log holds only zero bytes. */
static int seg_zeros_from(struct segment *s, uint64_t from, uint64_t to, bool *zeros) {
  uint8_t buf[4096];
  *zeros = true;
  while (from < to && *zeros) {
    size_t n = to - from < sizeof(buf) ? (size_t)(to - from) : sizeof(buf), got = 0;
    int rc = sio_pread(s->io, s->log_fd, buf, n, from, &got);
    if (rc != 0) return rc;
    if (got == 0) break;
    for (size_t i = 0; i < got; i++)
      if (buf[i] != 0) *zeros = false;
    from += got;
  }
  return 0;
}

int seg_recover(struct segment *s, int64_t expected_offset, uint32_t batch_size_max,
                bool *truncated) {
  *truncated = false;
  uint8_t *buf = NULL;
  size_t buf_size = 0;
  uint64_t pos = 0;
  int64_t expected = expected_offset > s->base_offset ? expected_offset : s->base_offset;
  int rc = seg_index_reset(s);
  if (rc != 0) return rc;
  s->max_timestamp = s->offset_of_max_timestamp = s->rolling_timestamp = -1;
  s->next_offset = s->base_offset;
  uint64_t file_size = s->size;
  while (pos < file_size) {
    struct seg_batch b;
    if (seg_read_batch(s, pos, &b) != 0) break; /* torn header or length past the end */
    if (b.size > batch_size_max) break;
    if (b.size > buf_size) {
      uint8_t *n = realloc(buf, b.size);
      if (n == NULL) {
        rc = -ENOMEM;
        goto out;
      }
      buf = n;
      buf_size = b.size;
    }
    rc = sio_pread_full(s->io, s->log_fd, buf, b.size, pos);
    if (rc == -ENODATA) break;
    if (rc != 0) goto out;
    struct record_batch rb;
    if (rb_validate(buf, b.size, &rb) != RB_OK) break;
    if (b.base_offset < expected || b.last_offset - s->base_offset > INT32_MAX) break;
    seg_index_note(s, &b);
    expected = b.last_offset + 1;
    pos += b.size;
  }
  (void)seg_index_write_pending(s); /* a full disk only leaves the files stale, as on append */
  if (pos < file_size) {
    bool zeros = false;
    rc = seg_zeros_from(s, pos, file_size, &zeros);
    if (rc != 0) goto out;
    *truncated = !zeros; /* a zero-filled tail is where appends stopped, not a torn one */
    rc = sio_ftruncate(s->io, s->log_fd, pos);
    if (rc != 0) goto out;
    s->size = s->file_size = pos;
  }
out:
  free(buf);
  return rc;
}

/* Extends the file past end with zeros (see the design note): as many as it holds already, from
 * SEG_ZERO_FILL_MIN to SEG_ZERO_FILL_MAX bytes, so that a quiet partition costs little disk. On
 * failure (a full disk) the file simply grows with each append, as without. */
static void seg_zero_fill(struct segment *s, uint64_t end) {
  static uint8_t zeros[SEG_ZERO_FILL_MAX]; /* never written: .bss, not 256 KiB of binary */
  size_t n = end < SEG_ZERO_FILL_MIN   ? SEG_ZERO_FILL_MIN
             : end > SEG_ZERO_FILL_MAX ? SEG_ZERO_FILL_MAX
                                       : (size_t)end;
  if (sio_pwrite(s->io, s->log_fd, zeros, n, end) == 0)
    s->file_size = end + n;
  else
    (void)sio_ftruncate(s->io, s->log_fd, end); /* a torn fill: no stray zeros */
}

int seg_append(struct segment *s, const uint8_t *data, size_t size, const struct seg_batch *batches,
               size_t batch_count, bool zero_fill) {
  INVARIANT(s->active);
  int rc = sio_pwrite(s->io, s->log_fd, data, size, s->size);
  if (rc != 0) {
    /* best effort: invariant 1 covers it */
    (void)sio_ftruncate(s->io, s->log_fd, s->file_size > s->size ? s->file_size : s->size);
    return rc;
  }
  if (s->size + size > s->file_size) {
    s->file_size = s->size + size;
    if (zero_fill) seg_zero_fill(s, s->file_size);
  }
  for (size_t i = 0; i < batch_count; i++) {
    struct seg_batch b = batches[i];
    b.position += s->size;
    seg_index_note(s, &b);
    seg_recent_note(s, &b);
  }
  s->size += size;
  return 0;
}

/* Largest index entry whose offset <= offset: its position (0 when none). */
static uint64_t seg_index_lookup(const struct segment *s, int64_t offset) {
  size_t lo = 0, hi = s->index_count; /* first entry with offset > target */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->base_offset + s->index[mid].rel_offset <= offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo == 0 ? 0 : (uint64_t)s->index[lo - 1].position;
}

int seg_find_position(struct segment *s, int64_t offset, uint64_t *position) {
  uint64_t pos = seg_index_lookup(s, offset);
  while (pos < s->size) {
    struct seg_batch b;
    int rc = seg_read_batch(s, pos, &b);
    if (rc != 0) return rc;
    if (b.last_offset >= offset) break;
    pos += b.size;
  }
  *position = pos;
  return 0;
}

int seg_batch_find_record(struct segment *s, const struct seg_batch *b, int64_t ts,
                          size_t inflate_max, int64_t *offset, int64_t *timestamp) {
  uint8_t *buf = malloc(b->size ? b->size : 1), *inflated = NULL;
  struct record_batch rb;
  struct rb_record_iter it;
  if (buf == NULL) return -ENOMEM;
  int rc = seg_read(s, b->position, buf, b->size);
  if (rc == 0 && rb_parse_header(buf, b->size, &rb) != RB_OK) rc = -EBADMSG;
  if (rc == 0 && rb_compression(&rb) == RB_COMPRESSION_NONE) {
    rb_records_begin(&it, &rb);
  } else if (rc == 0) {
    /* inflate into a buffer grown by doubling, from 4x the compressed size, up to the cap */
    size_t cap = rb.records_size < 16384 ? 65536 : rb.records_size * 4, n = 0;
    for (;;) {
      if (cap > inflate_max) cap = inflate_max;
      uint8_t *grown = realloc(inflated, cap ? cap : 1);
      if (grown == NULL) {
        rc = -ENOMEM;
        break;
      }
      inflated = grown;
      int v = rb_decompress(rb_compression(&rb), rb.records, rb.records_size, inflated, cap, &n);
      if (v == RB_OK) break;
      if (v != RB_ELIMIT || cap >= inflate_max) {
        rc = v == RB_ELIMIT ? -EMSGSIZE : -EBADMSG;
        break;
      }
      cap *= 2;
    }
    if (rc == 0) rb_records_begin_inflated(&it, &rb, inflated, n);
  }
  if (rc == 0) {
    struct rb_record r;
    int v;
    rc = -ENOENT;
    while ((v = rb_records_next(&it, &r)) == RB_OK) {
      if (r.timestamp >= ts) {
        *offset = r.offset;
        *timestamp = r.timestamp;
        rc = 0;
        break;
      }
    }
    if (rc == -ENOENT && v != RB_END) rc = -EBADMSG;
  }
  free(buf);
  free(inflated);
  return rc;
}

/* The exact record of batch b at or after ts, or the batch itself when its records cannot be
 * looked at (too large inflated, undecodable, no memory); disk errors come back. */
static int seg_batch_answer(struct segment *s, const struct seg_batch *b, int64_t ts,
                            size_t inflate_max, int64_t *offset, int64_t *timestamp) {
  int rc = seg_batch_find_record(s, b, ts, inflate_max, offset, timestamp);
  if (rc == -ENOENT || rc == -EMSGSIZE || rc == -EBADMSG || rc == -ENOMEM) {
    *offset = b->base_offset;
    *timestamp = b->max_timestamp;
    rc = 0;
  }
  return rc;
}

int seg_find_timestamp(struct segment *s, int64_t ts, size_t inflate_max, int64_t *offset,
                       int64_t *timestamp) {
  /* largest time entry with timestamp <= ts gives a starting offset (Kafka's lookup) */
  int64_t from = s->base_offset;
  size_t lo = 0, hi = s->time_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->times[mid].timestamp <= ts)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo > 0) from = s->base_offset + s->times[lo - 1].rel_offset;
  uint64_t pos;
  int rc = seg_find_position(s, from, &pos);
  if (rc != 0) return rc;
  while (pos < s->size) {
    struct seg_batch b;
    rc = seg_read_batch(s, pos, &b);
    if (rc != 0) return rc;
    if (b.max_timestamp >= ts) return seg_batch_answer(s, &b, ts, inflate_max, offset, timestamp);
    pos += b.size;
  }
  return -ENOENT;
}

int seg_find_max_timestamp(struct segment *s, size_t inflate_max, int64_t *offset,
                           int64_t *timestamp) {
  if (s->max_timestamp < 0) return -ENOENT;
  uint64_t pos;
  int rc = seg_find_position(s, s->offset_of_max_timestamp, &pos);
  if (rc != 0) return rc;
  while (pos < s->size) {
    struct seg_batch b;
    rc = seg_read_batch(s, pos, &b);
    if (rc != 0) return rc;
    if (b.max_timestamp == s->max_timestamp)
      return seg_batch_answer(s, &b, b.max_timestamp, inflate_max, offset, timestamp);
    pos += b.size;
  }
  return -ENOENT;
}

int seg_truncate(struct segment *s, int64_t offset) {
  uint64_t pos;
  int rc = seg_find_position(s, offset, &pos);
  if (rc != 0 || pos >= s->size) return rc;
  seg_recent_drop(s); /* the batches past pos go, and new ones may start anywhere after it */
  rc = sio_ftruncate(s->io, s->log_fd, pos);
  if (rc != 0) return rc;
  s->size = s->file_size = pos;
  while (s->index_count > 0 && (uint64_t)s->index[s->index_count - 1].position >= pos)
    s->index_count--;
  int64_t end = s->base_offset;
  if (pos > 0) {
    /* the new end: one past the last batch that remains */
    uint64_t p = s->index_count > 0 ? (uint64_t)s->index[s->index_count - 1].position : 0;
    while (p < pos) {
      struct seg_batch b;
      rc = seg_read_batch(s, p, &b);
      if (rc != 0) return rc;
      end = b.last_offset + 1;
      p += b.size;
    }
  }
  while (s->time_count > 0 && s->base_offset + s->times[s->time_count - 1].rel_offset >= end)
    s->time_count--;
  if (s->index_written > s->index_count) s->index_written = s->index_count;
  if (s->time_written > s->time_count) s->time_written = s->time_count;
  /* zero the dropped entries on disk, then restore the preallocated size */
  rc = seg_index_files_size(s, false);
  if (rc == 0 && s->active) rc = seg_index_files_size(s, true);
  if (rc == 0) rc = seg_scan_tail(s);
  return rc;
}

int seg_make_inactive(struct segment *s) {
  seg_recent_drop(s);
  seg_time_maybe_append(s, true);
  /* index files are hints (invariant 3): on a full disk they stay short, and loading reads
   * batch headers from their last entry on */
  (void)(s->index_files_stale ? seg_index_rewrite_all(s) : seg_index_write_pending(s));
  int rc = seg_index_files_size(s, false);
  if (rc == 0) rc = sio_ftruncate(s->io, s->log_fd, s->size);
  if (rc == 0) s->file_size = s->size;
  if (rc == 0) s->active = false;
  return rc;
}

int seg_make_active(struct segment *s) {
  if (s->time_count > s->time_max) s->time_count = s->time_max;
  int rc = seg_index_files_size(s, true);
  if (rc == 0) s->active = true;
  return rc;
}

int seg_sync(struct segment *s, bool with_indexes) {
  int rc = sio_fdatasync(s->io, s->log_fd);
  if (rc == 0 && with_indexes) rc = sio_fdatasync(s->io, s->index_fd);
  if (rc == 0 && with_indexes) rc = sio_fdatasync(s->io, s->time_fd);
  return rc;
}

int seg_delete_files(struct segment *s) {
  static const char *const exts[] = {".log", ".index", ".timeindex"};
  char path[SEG_FILE_PATH_MAX];
  int rc = 0;
  for (size_t i = 0; i < 3; i++) {
    seg_path(s, exts[i], path);
    int r = sio_unlink(s->io, path);
    if (r != 0 && r != -ENOENT && rc == 0) rc = r;
  }
  return rc;
}
