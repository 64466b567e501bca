/* The metadata log; see mlog.h.
 *
 * Invariants:
 *  1. Every record below committed_end has been applied, in offset order, exactly once.
 *  2. pending holds, in offset order, the batches written but not yet applied; their offsets
 *     start at committed_end.
 *  3. After mlog_open the whole log is applied (recovery truncated any torn tail: what remains
 *     was durable).
 * A failed flush fails the plog (it refuses appends from then on) and drops pending: the
 * requests waiting on them are answered with an error by the caller. */
#include "mlog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "messages.h"
#include "record_batch.h"

enum {
  REPLAY_CHUNK = 1 << 20,
  SNAPSHOT_NAME_SIZE = 20 + 1 + 10 + 11, /* <offset>-<epoch>.checkpoint */
};
#define SNAPSHOT_SIZE_MAX ((size_t)1 << 30)
#define SNAPSHOT_SUFFIX ".checkpoint"

struct pending_batch {
  uint8_t *data;
  size_t size;
  int64_t last_offset;
  struct pending_batch *next;
};

struct mlog {
  struct storage_io *io;
  struct plog *log;
  mlog_apply_fn *apply;
  void *apply_arg;
  char dir[4096]; /* the log's directory, where snapshots live */
  int64_t committed_end;
  struct pending_batch *pending, *pending_tail;
  uint64_t replayed, replayed_from_log;
  uint64_t bytes_since_snapshot;
  int64_t snapshot_end; /* -1: none */
};

/* Applies the records of whole batches in data, skipping offsets below committed_end. */
static int apply_batches(struct mlog *m, const uint8_t *data, size_t size, size_t *used) {
  size_t at = 0;
  while (at < size) {
    struct record_batch b;
    int rc = rb_parse_header(data + at, size - at, &b);
    if (rc == RB_ETRUNCATED) break; /* the rest comes with the next chunk */
    if (rc != RB_OK) return -EBADMSG;
    if (!rb_is_control(&b) && rb_last_offset(&b) >= m->committed_end) {
      struct rb_record_iter it;
      struct rb_record r;
      if (rb_records_begin(&it, &b) != RB_OK) return -EBADMSG; /* never compressed */
      while ((rc = rb_records_next(&it, &r)) == RB_OK) {
        if (r.offset < m->committed_end) continue;
        if (r.value == NULL) return -EBADMSG;
        rc = m->apply(m->apply_arg, r.value, (size_t)r.value_size, r.offset);
        if (rc != 0) return rc;
        m->replayed++;
      }
      if (rc != RB_END) return -EBADMSG;
    }
    if (rb_last_offset(&b) + 1 > m->committed_end) m->committed_end = rb_last_offset(&b) + 1;
    at += rb_size(&b);
  }
  *used = at;
  return 0;
}

/* Reads the log from committed_end to its end and applies it. */
static int replay(struct mlog *m) {
  uint8_t *buf = NULL;
  size_t cap = 0;
  int rc = 0;
  int64_t end = plog_log_end(m->log);
  while (m->committed_end < end) {
    struct plog_read_result r;
    rc = plog_read(m->log, m->committed_end, REPLAY_CHUNK, PLOG_NEVER, &r);
    if (rc != 0) break;
    if (r.size == 0) {
      plog_read_release(&r);
      break;
    }
    if (r.size > cap) {
      uint8_t *grown = realloc(buf, r.size);
      if (grown == NULL) {
        plog_read_release(&r);
        rc = -ENOMEM;
        break;
      }
      buf = grown;
      cap = r.size;
    }
    rc = sio_pread_full(m->io, r.fd, buf, r.size, r.position);
    plog_read_release(&r);
    size_t used = 0;
    uint64_t before = m->replayed;
    if (rc == 0) rc = apply_batches(m, buf, r.size, &used);
    if (rc == 0 && used == 0) rc = -EBADMSG; /* plog returns whole batches */
    if (rc != 0) break;
    m->replayed_from_log += m->replayed - before;
    m->bytes_since_snapshot += used;
  }
  free(buf);
  return rc;
}

/* ---- snapshots ---- */

/* "<20 digits>-<10 digits>.checkpoint" -> end offset; -1 for any other name. */
static int64_t snapshot_name_offset(const char *name) {
  size_t n = strlen(name);
  if (n != 20 + 1 + 10 + strlen(SNAPSHOT_SUFFIX) || name[20] != '-' ||
      strcmp(name + 31, SNAPSHOT_SUFFIX) != 0)
    return -1;
  int64_t offset = 0;
  for (int i = 0; i < 20; i++) {
    if (name[i] < '0' || name[i] > '9' || offset > (INT64_MAX - 9) / 10) return -1;
    offset = offset * 10 + (name[i] - '0');
  }
  for (int i = 21; i < 31; i++)
    if (name[i] < '0' || name[i] > '9') return -1;
  return offset;
}

static int snapshot_path(const struct mlog *m, int64_t offset, char *path, size_t size) {
  int n = snprintf(path, size, "%s/%020lld-%010d" SNAPSHOT_SUFFIX, m->dir, (long long)offset, 0);
  return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The snapshot end offsets present, ascending. */
static int snapshot_list(struct mlog *m, int64_t **offsets, size_t *count) {
  char **names;
  size_t n;
  int rc = sio_dir_list(m->io, m->dir, &names, &n);
  if (rc != 0) return rc;
  *offsets = malloc((n + 1) * sizeof(**offsets));
  *count = 0;
  if (*offsets == NULL) rc = -ENOMEM;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    int64_t o = snapshot_name_offset(names[i]);
    if (o < 0) continue;
    size_t at = *count;
    while (at > 0 && (*offsets)[at - 1] > o) {
      (*offsets)[at] = (*offsets)[at - 1];
      at--;
    }
    (*offsets)[at] = o;
    (*count)++;
  }
  sio_names_free(names, n);
  return rc;
}

/* Loads the snapshot ending at offset: its data batches are applied, then committed_end is the
 * snapshot's end. The header and footer must be there (an atomic write leaves a whole file). */
static int snapshot_load(struct mlog *m, int64_t offset) {
  char path[4200];
  char *data = NULL;
  size_t size = 0;
  int rc = snapshot_path(m, offset, path, sizeof(path));
  if (rc == 0) rc = sio_read_all(m->io, path, SNAPSHOT_SIZE_MAX, &data, &size);
  if (rc != 0) return rc;
  size_t at = 0, controls = 0;
  bool footer = false;
  while (rc == 0 && at < size) {
    struct record_batch b;
    if (rb_validate((const uint8_t *)data + at, size - at, &b) != RB_OK) {
      rc = -EBADMSG;
      break;
    }
    if (rb_is_control(&b)) {
      controls++;
      footer = controls == 2 && at + rb_size(&b) == size;
    } else if (controls != 1) {
      rc = -EBADMSG; /* data outside header and footer */
    } else {
      size_t used;
      rc = apply_batches(m, (const uint8_t *)data + at, rb_size(&b), &used);
    }
    at += rb_size(&b);
  }
  free(data);
  if (rc == 0 && !footer) rc = -EBADMSG;
  if (rc == 0) {
    m->committed_end = offset;
    m->snapshot_end = offset;
  }
  return rc;
}

/* A control batch holding one raft control record: key (version 0, type), value the message. */
static int control_batch(int16_t type, const void *msg, size_t msg_size,
                         int (*encode)(const void *, struct wire_writer *, int16_t),
                         int64_t base_offset, int64_t now_ms, uint8_t **out, size_t *out_size) {
  struct batch_builder b;
  uint8_t key[4] = {0, 0, (uint8_t)(type >> 8), (uint8_t)type};
  uint8_t *value = malloc(msg_size);
  if (value == NULL) return -ENOMEM;
  struct wire_writer w = {value, value + msg_size, WIRE_OK, NULL};
  int rc = encode(msg, &w, 0) == WIRE_OK ? 0 : -EINVAL;
  batch_builder_init(&b, RB_ATTR_CONTROL, -1, -1, -1);
  if (rc == 0) rc = batch_builder_add(&b, key, 4, value, (int32_t)msg_size, now_ms);
  if (rc == 0) rc = batch_builder_finish(&b, base_offset, 0, out, out_size);
  batch_builder_free(&b);
  free(value);
  return rc;
}

static int header_encode(const void *m, struct wire_writer *w, int16_t v) {
  return msg_snapshot_header_record_encode(m, w, v);
}
static int footer_encode(const void *m, struct wire_writer *w, int16_t v) {
  return msg_snapshot_footer_record_encode(m, w, v);
}

int mlog_snapshot(struct mlog *m, mlog_snapshot_fn *fn, void *arg, int64_t now_ms) {
  if (m->snapshot_end == m->committed_end) return 0;
  struct msg_snapshot_header_record header;
  struct msg_snapshot_footer_record footer;
  msg_snapshot_header_record_init(&header);
  msg_snapshot_footer_record_init(&footer);
  header.last_contained_log_timestamp = now_ms;
  struct batch_builder data;
  batch_builder_init(&data, 0, -1, -1, -1);
  uint8_t *parts[3] = {NULL, NULL, NULL};
  size_t sizes[3] = {0, 0, 0};
  int rc = control_batch(MSG_CONTROL_SNAPSHOT_HEADER_RECORD, &header,
                         msg_snapshot_header_record_size(&header, 0), header_encode, 0, now_ms,
                         &parts[0], &sizes[0]);
  if (rc == 0) rc = fn(arg, &data, now_ms);
  int32_t count = data.count;
  if (rc == 0 && count > 0) rc = batch_builder_finish(&data, 1, 0, &parts[1], &sizes[1]);
  if (rc == 0)
    rc = control_batch(MSG_CONTROL_SNAPSHOT_FOOTER_RECORD, &footer,
                       msg_snapshot_footer_record_size(&footer, 0), footer_encode, 1 + count,
                       now_ms, &parts[2], &sizes[2]);
  uint8_t *file = NULL;
  size_t size = sizes[0] + sizes[1] + sizes[2];
  if (rc == 0 && (file = malloc(size)) == NULL) rc = -ENOMEM;
  if (rc == 0) {
    memcpy(file, parts[0], sizes[0]);
    if (sizes[1] > 0) memcpy(file + sizes[0], parts[1], sizes[1]);
    memcpy(file + sizes[0] + sizes[1], parts[2], sizes[2]);
  }
  char path[4200];
  if (rc == 0) rc = snapshot_path(m, m->committed_end, path, sizeof(path));
  if (rc == 0) rc = sio_write_atomic(m->io, path, file, size);
  free(file);
  for (int i = 0; i < 3; i++) free(parts[i]);
  batch_builder_free(&data);
  if (rc != 0) return rc;
  int64_t previous = m->snapshot_end;
  m->snapshot_end = m->committed_end;
  m->bytes_since_snapshot = 0;
  /* the log below the snapshot is no longer needed to rebuild the state */
  if (m->snapshot_end <= plog_high_watermark(m->log))
    rc = plog_advance_log_start(m->log, m->snapshot_end);
  if (rc == 0 && previous >= 0 && snapshot_path(m, previous, path, sizeof(path)) == 0)
    rc = sio_unlink(m->io, path);
  return rc;
}

int mlog_open(const struct mlog_args *a, struct mlog **out) {
  char path[4096];
  if (snprintf(path, sizeof(path), "%s/%s", a->dir, LOGDIR_METADATA_DIR) >= (int)sizeof(path))
    return -ENAMETOOLONG;
  struct mlog *m = calloc(1, sizeof(*m));
  if (m == NULL) return -ENOMEM;
  m->io = a->io;
  m->apply = a->apply;
  m->apply_arg = a->apply_arg;
  m->snapshot_end = -1;
  snprintf(m->dir, sizeof(m->dir), "%s", path);
  struct plog_open_args pa = {0};
  pa.io = a->io;
  pa.dir = path;
  plog_config_init(&pa.config);
  pa.flusher = a->flusher;
  pa.on_durable = a->on_durable;
  pa.on_durable_arg = a->on_durable_arg;
  pa.now_ms = a->now_ms;
  int rc = plog_open(&pa, &m->log);
  int64_t *snaps = NULL;
  size_t snap_count = 0;
  if (rc == 0) rc = snapshot_list(m, &snaps, &snap_count);
  if (rc == 0 && snap_count > 0) rc = snapshot_load(m, snaps[snap_count - 1]);
  free(snaps);
  /* the log must continue the snapshot (or start at 0 without one) */
  if (rc == 0 &&
      (plog_log_start(m->log) > m->committed_end || plog_log_end(m->log) < m->committed_end))
    rc = -EBADMSG;
  if (rc == 0) rc = replay(m);
  if (rc == 0) plog_set_high_watermark(m->log, plog_log_end(m->log));
  if (rc != 0) {
    if (m->log != NULL) plog_close(m->log, false);
    free(m);
    return rc;
  }
  *out = m;
  return 0;
}

static void pending_drop(struct mlog *m) {
  while (m->pending != NULL) {
    struct pending_batch *p = m->pending;
    m->pending = p->next;
    free(p->data);
    free(p);
  }
  m->pending_tail = NULL;
}

int mlog_close(struct mlog *m, bool clean) {
  if (m == NULL) return 0;
  pending_drop(m);
  int rc = plog_close(m->log, clean);
  free(m);
  return rc;
}

int mlog_write(struct mlog *m, uint8_t *batch, size_t size, int64_t now_ms, int64_t *last_offset) {
  struct pending_batch *p = calloc(1, sizeof(*p));
  if (p == NULL) {
    free(batch);
    return -ENOMEM;
  }
  struct plog_append_info info;
  int rc = plog_append(m->log, batch, size, -1, now_ms, &info);
  if (rc != 0) {
    free(batch);
    free(p);
    return rc;
  }
  p->data = batch; /* its base offset now rewritten to the assigned one */
  p->size = size;
  p->last_offset = info.last_offset;
  if (m->pending_tail != NULL)
    m->pending_tail->next = p;
  else
    m->pending = p;
  m->pending_tail = p;
  *last_offset = info.last_offset;
  return 0;
}

int mlog_commit(struct mlog *m, int64_t durable_end, int err) {
  if (err < 0) {
    pending_drop(m);
    return err;
  }
  plog_set_high_watermark(m->log, durable_end);
  while (m->pending != NULL && m->pending->last_offset < durable_end) {
    struct pending_batch *p = m->pending;
    size_t used = 0;
    int rc = apply_batches(m, p->data, p->size, &used);
    m->bytes_since_snapshot += used;
    m->pending = p->next;
    if (m->pending == NULL) m->pending_tail = NULL;
    free(p->data);
    free(p);
    if (rc != 0) return rc;
  }
  return 0;
}

int64_t mlog_committed_end(const struct mlog *m) { return m->committed_end; }
int64_t mlog_end(const struct mlog *m) { return plog_log_end(m->log); }
struct plog *mlog_plog(struct mlog *m) {
  return m->log;
}
uint64_t mlog_replayed(const struct mlog *m) { return m->replayed; }
uint64_t mlog_replayed_from_log(const struct mlog *m) { return m->replayed_from_log; }
uint64_t mlog_bytes_since_snapshot(const struct mlog *m) { return m->bytes_since_snapshot; }
int64_t mlog_snapshot_end(const struct mlog *m) { return m->snapshot_end; }
