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

#include "record_batch.h"

enum { REPLAY_CHUNK = 1 << 20 };

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
  int64_t committed_end;
  struct pending_batch *pending, *pending_tail;
  uint64_t replayed;
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
    if (rc == 0) rc = apply_batches(m, buf, r.size, &used);
    if (rc == 0 && used == 0) rc = -EBADMSG; /* plog returns whole batches */
    if (rc != 0) break;
  }
  free(buf);
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
  struct plog_open_args pa = {0};
  pa.io = a->io;
  pa.dir = path;
  plog_config_init(&pa.config);
  pa.flusher = a->flusher;
  pa.on_durable = a->on_durable;
  pa.on_durable_arg = a->on_durable_arg;
  pa.now_ms = a->now_ms;
  int rc = plog_open(&pa, &m->log);
  if (rc == 0) rc = replay(m);
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
  while (m->pending != NULL && m->pending->last_offset < durable_end) {
    struct pending_batch *p = m->pending;
    size_t used = 0;
    int rc = apply_batches(m, p->data, p->size, &used);
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
