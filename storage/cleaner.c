/* The log cleaner (compaction) of one partition log. Design note.
 *
 * One pass (cleaner_clean), as Kafka's Cleaner.clean:
 *  1. Range. first dirty = the cleaner checkpoint (cleaner-offset-checkpoint in the log dir),
 *     reset to the log start when missing or outside [log start, log end]. The dirty section
 *     runs from there over the closed segments, stopping at the first one that is not wholly
 *     below the high watermark (Kafka: the last stable offset; segment granularity here) or
 *     whose largest timestamp (its mtime when it has none) is newer than now -
 *     min.compaction.lag.ms. The active segment is never cleaned.
 *  2. Map (Kafka's SkimpyOffsetMap): key -> latest offset over the dirty section, keys stored as
 *     a 128-bit hash (two independent 64-bit hashes) + offset, 24 bytes a slot, filled to 90% of
 *     dedupe_buffer_bytes / 24 slots. When it is full, the mapped range ends after the last
 *     batch mapped whole (end offset = its last offset + 1); a later pass continues from there.
 *     Records without a key, of transactional or control batches, or of batches that cannot be
 *     inflated/decoded are not mapped (so nothing older than them is ever dropped for them).
 *  3. Rewrite every closed segment whose base offset < end, oldest first, in groups (Kafka's
 *     groupSegmentsBySize: consecutive segments whose sizes add up to at most segment.bytes,
 *     so segments that cleaning shrank are merged by later passes), each group into one
 *     BASE.log.cleaned named after its first segment. A record is kept
 *     when it has no key (Kafka drops those as invalid; Quire keeps them: Produce refuses them on
 *     compacted topics, so they predate a switch to compact and are the user's data), or its offset
 *     >= the map's offset for its key (absent: -1), unless it is a tombstone (null value) below
 *     end whose batch's delete horizon has passed. Control batches and transactional batches are
 *     copied untouched (no transactions yet). A batch losing nothing and needing no horizon is
 *     copied byte for byte; else it is rebuilt: same baseOffset, lastOffsetDelta (Kafka's
 *     overrideLastOffset: the producer's last sequence stays), partitionLeaderEpoch, producer
 *     id/epoch/baseSequence, attributes; records re-encoded with their own offsets and
 *     timestamps; maxTimestamp recomputed (CreateTime); recompressed with the same codec (or
 *     written uncompressed if that fails); CRC recomputed. A batch left without records is
 *     dropped, except (a) the last batch of its producer (Kafka's rule, so the producer state
 *     survives) and (b) the last batch of the group (Quire's rule: a group keeps its end
 *     offset, so recovery's "a segment ends where the next begins" check still holds and
 *     plog_clean_swap can keep the array's invariants): both become empty batches (header only,
 *     recordCount 0, uncompressed, baseTimestamp = maxTimestamp), as Kafka writes them.
 *  4. Delete horizon (KIP-534): a rebuilt or kept batch holding a tombstone that has no horizon
 *     yet gets one: attribute bit 6 and baseTimestamp = now + delete.retention.ms (record
 *     timestamp deltas re-encoded against it). Tombstones go at the first pass after it, when
 *     they are below the pass's end offset (so the map holds their key and every older value
 *     of it is dropped in the same pass, older segments first).
 *  5. Swap, per group (only when its bytes changed or it merges segments): .cleaned written and
 *     fdatasync'd, opened as a segment whose indexes (BASE.index.cleaned, .timeindex.cleaned) are
 *     built and synced; then under the log's mutex (plog_clean_swap): rename to BASE.log.swap,
 *     fsync of the directory (the commit point), unlink the group's later segments, unlink the
 *     old BASE.index / BASE.timeindex, rename the new indexes and BASE.log.swap over them, and
 *     replace the group by the new segment in the log. Recovery (plog_open) deletes .cleaned
 *     files and completes a .log.swap the same way (the segments below its end go, then the
 *     old indexes; renamed over BASE.log, scanned). A crash thus leaves each group old or new,
 *     never a mix; groups are swapped oldest first, so a crash between two swaps leaves a log
 *     whose compacted view is the same (a tombstone never goes before the older values it hides).
 *  6. Checkpoint: cleaned_up_to = end offset, written with sio_write_atomic in Kafka's format.
 *
 * Readers: plog_read hands out a reference to a segment; a swapped-out segment is only
 * unreferenced (its inode lives until the last reader releases it; the first one's names belong
 * to the new segment, the others' are unlinked), the same way retention's deletes stay safe.
 * Threads: a pass runs on a cleaner thread (log_cleaner.c), beside the loop's appends, reads,
 * retention and truncations. It reads only the closed segments its view references; the
 * rewrite's indexes are built and synced before the swap, so the log's mutex is held for renames
 * and one directory fsync only. A swap refuses a segment that retention removed or a view older
 * than a truncation (-EAGAIN); a truncation must still pause cleaning first (log_cleaner_pause)
 * so that no pass reads a segment while it is cut. */
#include "cleaner.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "compression.h"
#include "invariant.h"
#include "logdir.h"
#include "record_batch.h"
#include "segment.h"

enum {
  CLEANER_OUT_CHUNK = 1 << 20,    /* .cleaned is written in pieces of about this size */
  CLEANER_INFLATE_MAX = 64 << 20, /* default cap of one batch's inflated records */
  CLEANER_MAP_ENTRY_SIZE = 24,    /* 128-bit key hash + offset */
};

void cleaner_config_init(struct cleaner_config *c) {
  memset(c, 0, sizeof(*c));
  c->dedupe_buffer_bytes = 128ULL << 20;
  c->delete_retention_ms = 86400000;
  c->min_compaction_lag_ms = 0;
  c->max_compaction_lag_ms = INT64_MAX;
  c->inflate_max = CLEANER_INFLATE_MAX;
}

/* ---- the offset map ---- */

struct omap_entry {
  uint64_t h1, h2;
  int64_t offset_plus1; /* 0: a free slot */
};

struct omap {
  struct omap_entry *e;
  size_t slots, used, used_max;
};

static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

static void key_hash(const uint8_t *k, size_t n, uint64_t *h1, uint64_t *h2) {
  uint64_t a = 0x9e3779b97f4a7c15ULL ^ n, b = 0xc2b2ae3d27d4eb4fULL + n * 0x165667b19e3779f9ULL;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, k + i, 8);
    a = mix64(a ^ w) * 0xff51afd7ed558ccdULL;
    b = mix64(b + w * 0xc4ceb9fe1a85ec53ULL) ^ (b >> 29);
  }
  uint64_t w = 0;
  for (size_t j = 0; i + j < n; j++) w |= (uint64_t)k[i + j] << (8 * j);
  *h1 = mix64(a ^ w ^ 0x27d4eb2f165667c5ULL);
  *h2 = mix64(b + w + 0x85ebca77c2b2ae63ULL);
}

static int omap_init(struct omap *m, uint64_t bytes) {
  memset(m, 0, sizeof(*m));
  uint64_t slots = bytes / CLEANER_MAP_ENTRY_SIZE;
  if (slots < 2 || slots > SIZE_MAX / sizeof(struct omap_entry)) return -EINVAL;
  m->slots = (size_t)slots;
  m->used_max = (size_t)(slots * 9 / 10);
  if (m->used_max < 1) m->used_max = 1;
  m->e = calloc(m->slots, sizeof(*m->e));
  return m->e == NULL ? -ENOMEM : 0;
}

static struct omap_entry *omap_slot(const struct omap *m, uint64_t h1, uint64_t h2) {
  size_t i = (size_t)(h1 % m->slots);
  for (;;) {
    struct omap_entry *e = &m->e[i];
    if (e->offset_plus1 == 0 || (e->h1 == h1 && e->h2 == h2)) return e;
    i = i + 1 == m->slots ? 0 : i + 1;
  }
}

/* False when the key is new and the map is full. */
static bool omap_put(struct omap *m, const uint8_t *key, size_t n, int64_t offset) {
  uint64_t h1, h2;
  key_hash(key, n, &h1, &h2);
  struct omap_entry *e = omap_slot(m, h1, h2);
  if (e->offset_plus1 == 0) {
    if (m->used >= m->used_max) return false;
    m->used++;
    e->h1 = h1;
    e->h2 = h2;
  }
  e->offset_plus1 = offset + 1;
  return true;
}

static int64_t omap_get(const struct omap *m, const uint8_t *key, size_t n) {
  uint64_t h1, h2;
  key_hash(key, n, &h1, &h2);
  return omap_slot(m, h1, h2)->offset_plus1 - 1;
}

/* ---- a pass ---- */

struct cleaner {
  struct plog *log;
  const struct cleaner_config *cfg;
  int64_t now_ms;
  struct plog_clean_view v;
  struct omap map;
  int64_t first_dirty, end_offset;
  size_t dirty_end; /* index of the first uncleanable closed segment (v.count when none) */
  uint8_t *batch, *inflated, *recs, *zbuf, *out;
  size_t batch_cap, inflated_cap, recs_cap, zbuf_cap, out_cap, out_size;
  bool *keep;
  size_t keep_cap;
  int out_fd;
  uint64_t out_pos;
  struct cleaner_stats st;
  char cleaned_path[SEG_PATH_MAX + 32];
  bool committed; /* the current swap passed its commit point */
};

static int grow(void *pp, size_t *cap, size_t need, size_t elem) {
  void **p = pp;
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap : 4096;
  while (ncap < need) ncap *= 2;
  void *n = realloc(*p, ncap * elem);
  if (n == NULL) return -ENOMEM;
  *p = n;
  *cap = ncap;
  return 0;
}

static int progress(struct cleaner *c, uint64_t bytes) {
  return c->cfg->progress == NULL ? 0 : c->cfg->progress(c->cfg->progress_arg, bytes);
}

static int step(struct cleaner *c, enum cleaner_step s, int64_t base) {
  return c->cfg->test_step == NULL ? 0 : c->cfg->test_step(c->cfg->test_step_arg, s, base);
}

/* Reads the batch at pos of s whole into c->batch; *valid when it passes rb_validate. */
static int read_batch(struct cleaner *c, struct segment *s, uint64_t pos, struct record_batch *rb,
                      size_t *size, bool *valid) {
  struct seg_batch sb;
  int rc = seg_read_batch(s, pos, &sb);
  if (rc == 0) rc = grow(&c->batch, &c->batch_cap, sb.size, 1);
  if (rc == 0) rc = seg_read(s, pos, c->batch, sb.size);
  if (rc != 0) return rc;
  c->st.bytes_read += sb.size;
  *size = (size_t)sb.size;
  *valid = rb_validate(c->batch, *size, rb) == RB_OK;
  if (!*valid) rb_parse_header(c->batch, *size, rb);
  return progress(c, sb.size);
}

/* Starts iterating the records of rb (in c->batch), inflating them when compressed. 1 when
 * they cannot be looked at (too large inflated, undecodable): the batch is then left alone. */
static int records_begin(struct cleaner *c, const struct record_batch *rb,
                         struct rb_record_iter *it) {
  if (rb_compression(rb) == RB_COMPRESSION_NONE) return rb_records_begin(it, rb) == RB_OK ? 0 : 1;
  size_t max = c->cfg->inflate_max, cap = rb->records_size * 4 + 4096, n = 0;
  for (;;) {
    if (cap > max) cap = max;
    if (grow(&c->inflated, &c->inflated_cap, cap ? cap : 1, 1) != 0) return -ENOMEM;
    int v = rb_decompress(rb_compression(rb), rb->records, rb->records_size, c->inflated,
                          c->inflated_cap < max ? c->inflated_cap : max, &n);
    if (v == RB_OK) break;
    if (v != RB_ELIMIT || cap >= max) return 1;
    cap *= 2;
  }
  rb_records_begin_inflated(it, rb, c->inflated, n);
  return 0;
}

static bool batch_mappable(const struct record_batch *rb, bool valid) {
  return valid && !rb_is_control(rb) && !rb_is_transactional(rb);
}

/* Step 1: first dirty offset and the first uncleanable segment. */
static void clean_range(struct cleaner *c, int64_t checkpoint) {
  const struct plog_clean_view *v = &c->v;
  c->first_dirty = checkpoint;
  if (checkpoint < v->log_start || checkpoint > v->active_base) c->first_dirty = v->log_start;
  size_t i = 0;
  while (i < v->count && v->segs[i]->next_offset <= c->first_dirty) i++;
  for (; i < v->count; i++) {
    const struct segment *s = v->segs[i];
    int64_t ts = s->max_timestamp >= 0 ? s->max_timestamp : s->created_ms;
    if (s->next_offset > v->high_watermark) break;
    if (c->cfg->min_compaction_lag_ms > 0 && ts > c->now_ms - c->cfg->min_compaction_lag_ms) break;
  }
  c->dirty_end = i;
}

static int64_t first_uncleanable(const struct cleaner *c) {
  return c->dirty_end < c->v.count ? c->v.segs[c->dirty_end]->base_offset : c->v.active_base;
}

/* Step 2: the map; sets c->end_offset. */
static int build_map(struct cleaner *c) {
  int64_t latest = -1, limit = first_uncleanable(c);
  bool full = false;
  int rc = 0;
  for (size_t i = 0; i < c->dirty_end && !full; i++) {
    struct segment *s = c->v.segs[i];
    uint64_t pos;
    if (s->next_offset <= c->first_dirty) continue;
    rc = seg_find_position(s, c->first_dirty, &pos);
    if (rc != 0) return rc;
    while (pos < s->size && !full) {
      struct record_batch rb;
      struct rb_record_iter it;
      struct rb_record r;
      size_t size;
      bool valid;
      rc = read_batch(c, s, pos, &rb, &size, &valid);
      if (rc != 0) return rc;
      if (batch_mappable(&rb, valid)) {
        int b = records_begin(c, &rb, &it);
        if (b < 0) return b;
        while (b == 0 && rb_records_next(&it, &r) == RB_OK) {
          if (r.key == NULL || r.offset < c->first_dirty) continue;
          if (!omap_put(&c->map, r.key, (size_t)r.key_size, r.offset)) {
            full = true;
            break;
          }
        }
      }
      if (!full && rb_last_offset(&rb) >= c->first_dirty) latest = rb_last_offset(&rb);
      pos += size;
    }
  }
  if (!full) {
    c->end_offset = limit;
  } else {
    if (latest < c->first_dirty) return -ENOBUFS; /* not even one batch fits */
    c->end_offset = latest + 1;
  }
  return 0;
}

/* ---- rewriting ---- */

static size_t uvarint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static uint8_t *put_uvarint(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

static void put_be16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void put_be32(uint8_t *p, uint32_t v) {
  put_be16(p, (uint16_t)(v >> 16));
  put_be16(p + 2, (uint16_t)v);
}
static void put_be64(uint8_t *p, uint64_t v) {
  put_be32(p, (uint32_t)(v >> 32));
  put_be32(p + 4, (uint32_t)v);
}

/* Appends record r to c->recs with its timestamp delta against base_ts (offset delta as is). */
static int encode_record(struct cleaner *c, size_t *recs_size, const struct rb_record *r,
                         int64_t orig_base_ts, int64_t base_ts) {
  int64_t ts_delta = orig_base_ts + r->timestamp_delta - base_ts;
  size_t body = 1 + uvarint_size(zigzag(ts_delta)) + uvarint_size(zigzag(r->offset_delta)) +
                uvarint_size(zigzag(r->key_size)) + (r->key_size > 0 ? (size_t)r->key_size : 0) +
                uvarint_size(zigzag(r->value_size)) +
                (r->value_size > 0 ? (size_t)r->value_size : 0) +
                uvarint_size(zigzag(r->header_count)) + r->headers_size;
  size_t need = *recs_size + uvarint_size(zigzag((int64_t)body)) + body;
  int rc = grow(&c->recs, &c->recs_cap, need, 1);
  if (rc != 0) return rc;
  uint8_t *p = c->recs + *recs_size;
  p = put_uvarint(p, zigzag((int64_t)body));
  *p++ = (uint8_t)r->attributes;
  p = put_uvarint(p, zigzag(ts_delta));
  p = put_uvarint(p, zigzag(r->offset_delta));
  p = put_uvarint(p, zigzag(r->key_size));
  if (r->key_size > 0) p = (uint8_t *)memcpy(p, r->key, (size_t)r->key_size) + r->key_size;
  p = put_uvarint(p, zigzag(r->value_size));
  if (r->value_size > 0) p = (uint8_t *)memcpy(p, r->value, (size_t)r->value_size) + r->value_size;
  p = put_uvarint(p, zigzag(r->header_count));
  if (r->headers_size > 0) p = (uint8_t *)memcpy(p, r->headers, r->headers_size) + r->headers_size;
  INVARIANT((size_t)(p - c->recs) == need);
  *recs_size = need;
  return 0;
}

static int out_flush(struct cleaner *c) {
  if (c->out_size == 0) return 0;
  int rc = sio_pwrite(c->v.io, c->out_fd, c->out, c->out_size, c->out_pos);
  if (rc != 0) return rc;
  c->out_pos += c->out_size;
  uint64_t written = c->out_size;
  c->out_size = 0;
  return progress(c, written);
}

static int out_append(struct cleaner *c, const uint8_t *p, size_t n) {
  int rc = grow(&c->out, &c->out_cap, c->out_size + n, 1);
  if (rc != 0) return rc;
  memcpy(c->out + c->out_size, p, n);
  c->out_size += n;
  return c->out_size >= CLEANER_OUT_CHUNK ? out_flush(c) : 0;
}

/* Writes the header of a batch derived from orig (c->batch) followed by records_size bytes
 * already in place after it, in c->out. */
static void finish_header(uint8_t *p, const uint8_t *orig, int16_t attributes, int64_t base_ts,
                          int64_t max_ts, int32_t count, size_t records_size) {
  memcpy(p, orig, RB_HEADER_SIZE);
  put_be32(p + RB_LENGTH_OFFSET, (uint32_t)(RB_HEADER_SIZE - RB_LOG_OVERHEAD + records_size));
  put_be16(p + RB_ATTRIBUTES_OFFSET, (uint16_t)attributes);
  put_be64(p + RB_BASE_TIMESTAMP_OFFSET, (uint64_t)base_ts);
  put_be64(p + RB_MAX_TIMESTAMP_OFFSET, (uint64_t)max_ts);
  put_be32(p + RB_RECORD_COUNT_OFFSET, (uint32_t)count);
  rb_update_crc(p);
}

static bool producer_last_batch(const struct cleaner *c, const struct record_batch *rb) {
  if (!rb_has_producer_id(rb)) return false;
  for (size_t i = 0; i < c->v.producer_count; i++)
    if (c->v.producers[i].producer_id == rb->producer_id)
      return c->v.producers[i].last_offset == rb_last_offset(rb);
  return false;
}

/* Step 3-4 for the batch in c->batch: appends what stays of it to the output. */
static int clean_batch(struct cleaner *c, const struct record_batch *rb, size_t size, bool valid,
                       bool segment_last, bool *changed) {
  struct rb_record_iter it, again;
  struct rb_record r;
  if (!batch_mappable(rb, valid)) {
    if (valid) c->st.records_kept += (uint64_t)rb->record_count;
    return out_append(c, c->batch, size);
  }
  int b = records_begin(c, rb, &it);
  if (b < 0) return b;
  if (b > 0) return out_append(c, c->batch, size);
  again = it;
  bool has_horizon = rb_has_delete_horizon(rb);
  int64_t horizon = rb->base_timestamp;
  int32_t n = 0, kept = 0, kept_tombstones = 0, dropped_tombstones = 0;
  int rc = grow(&c->keep, &c->keep_cap, (size_t)rb->record_count + 1, sizeof(*c->keep));
  if (rc != 0) return rc;
  int v;
  while ((v = rb_records_next(&it, &r)) == RB_OK && n < rb->record_count) {
    bool keep = true;
    if (r.key != NULL) {
      keep = r.offset >= omap_get(&c->map, r.key, (size_t)r.key_size);
      if (keep && r.value == NULL && r.offset < c->end_offset && has_horizon &&
          c->now_ms >= horizon) {
        keep = false;
        dropped_tombstones++;
      }
    }
    c->keep[n++] = keep;
    kept += keep;
    kept_tombstones += keep && r.key != NULL && r.value == NULL;
  }
  if (v != RB_END || n != rb->record_count) return out_append(c, c->batch, size); /* undecodable */
  bool need_horizon = !has_horizon && kept_tombstones > 0;
  c->st.records_kept += (uint64_t)kept;
  c->st.records_removed += (uint64_t)(n - kept);
  c->st.tombstones_removed += (uint64_t)dropped_tombstones;
  if (kept == n && !need_horizon) return out_append(c, c->batch, size);
  *changed = true;
  if (kept == 0) {
    if (!segment_last && !producer_last_batch(c, rb)) return 0;
    uint8_t hdr[RB_HEADER_SIZE];
    int16_t attrs =
        (int16_t)(rb->attributes & ~(RB_ATTR_COMPRESSION_MASK | RB_ATTR_DELETE_HORIZON));
    finish_header(hdr, c->batch, attrs, rb->max_timestamp, rb->max_timestamp, 0, 0);
    return out_append(c, hdr, sizeof(hdr));
  }
  int64_t base_ts = rb->base_timestamp, max_ts = RB_NO_TIMESTAMP;
  int16_t attrs = rb->attributes;
  if (need_horizon) {
    int64_t ret = c->cfg->delete_retention_ms;
    base_ts = c->now_ms > INT64_MAX - ret ? INT64_MAX : c->now_ms + ret;
    attrs |= RB_ATTR_DELETE_HORIZON;
  }
  size_t recs_size = 0;
  for (int32_t i = 0; i < n; i++) {
    v = rb_records_next(&again, &r);
    INVARIANT(v == RB_OK);
    if (!c->keep[i]) continue;
    int64_t ts = rb->base_timestamp + r.timestamp_delta;
    if (ts > max_ts) max_ts = ts;
    rc = encode_record(c, &recs_size, &r, rb->base_timestamp, base_ts);
    if (rc != 0) return rc;
  }
  if (rb_timestamp_type(rb) == RB_TIMESTAMP_LOG_APPEND_TIME) max_ts = rb->max_timestamp;
  const uint8_t *records = c->recs;
  if (rb_compression(rb) != RB_COMPRESSION_NONE) {
    size_t bound = rb_compress_bound(rb_compression(rb), recs_size), zsize = 0;
    rc = grow(&c->zbuf, &c->zbuf_cap, bound ? bound : 1, 1);
    if (rc != 0) return rc;
    if (rb_compress(rb_compression(rb), c->recs, recs_size, c->zbuf, c->zbuf_cap, &zsize) ==
        RB_OK) {
      records = c->zbuf;
      recs_size = zsize;
    } else {
      attrs = (int16_t)(attrs & ~RB_ATTR_COMPRESSION_MASK); /* written uncompressed */
    }
  }
  size_t total = RB_HEADER_SIZE + recs_size;
  rc = grow(&c->out, &c->out_cap, c->out_size + total, 1);
  if (rc != 0) return rc;
  uint8_t *p = c->out + c->out_size;
  memcpy(p + RB_HEADER_SIZE, records, recs_size);
  finish_header(p, c->batch, attrs, base_ts, max_ts, kept, recs_size);
  struct record_batch check;
  INVARIANT(rb_validate(p, total, &check) == RB_OK);
  c->out_size += total;
  return c->out_size >= CLEANER_OUT_CHUNK ? out_flush(c) : 0;
}

/* Renames DIR/BASE<from> to DIR/BASE<to>. */
static int rename_ext(struct cleaner *c, int64_t base, const char *from, const char *to) {
  char a[SEG_PATH_MAX + 32], b[SEG_PATH_MAX + 32];
  const char *dir = plog_dir(c->log);
  int rc = seg_file_path(dir, base, from, a, sizeof(a));
  if (rc == 0) rc = seg_file_path(dir, base, to, b, sizeof(b));
  return rc == 0 ? sio_rename(c->v.io, a, b) : rc;
}

/* plog_clean_swap's commit, under the log's mutex: .log.cleaned -> .log.swap (committed once the
 * directory is synced); the group's later segments go; the first one's old indexes out, the
 * rewrite's in; .log.swap -> .log. Recovery completes the same steps from a .swap. */
static int swap_commit(void *arg, struct segment *const *old, size_t count) {
  struct cleaner *c = arg;
  int64_t base = old[0]->base_offset;
  char path[SEG_PATH_MAX + 32];
  static const char *const idx[] = {".index", ".timeindex"};
  static const char *const idx_cleaned[] = {".index.cleaned", ".timeindex.cleaned"};
  int rc = rename_ext(c, base, ".log.cleaned", ".log.swap");
  if (rc == 0) rc = sio_dir_sync(c->v.io, plog_dir(c->log));
  if (rc == 0) c->committed = true;
  if (rc == 0) rc = step(c, CLEANER_STEP_SWAP_RENAMED, base);
  /* never reused names: the merged segment is named after the first */
  for (size_t k = 1; rc == 0 && k < count; k++) rc = seg_delete_files(old[k]);
  for (size_t k = 0; rc == 0 && k < 2; k++) {
    rc = seg_file_path(plog_dir(c->log), base, idx[k], path, sizeof(path));
    if (rc == 0) rc = sio_unlink(c->v.io, path);
    if (rc == -ENOENT) rc = 0;
  }
  if (rc == 0) rc = step(c, CLEANER_STEP_OLD_INDEXES_GONE, base);
  for (size_t k = 0; rc == 0 && k < 2; k++) rc = rename_ext(c, base, idx_cleaned[k], idx[k]);
  if (rc == 0) rc = rename_ext(c, base, ".log.swap", ".log");
  if (rc == 0) rc = step(c, CLEANER_STEP_SWAPPED, base);
  return rc;
}

/* Opens the rewrite as a segment and builds its indexes (BASE.index.cleaned and
 * BASE.timeindex.cleaned), synced: all the reading happens here, off the log's mutex. */
static int cleaned_open(struct cleaner *c, int64_t base, struct segment **out) {
  struct segment *s = NULL;
  bool missing, truncated = false;
  int rc =
      seg_open_suffixed(c->v.io, plog_dir(c->log), base, &c->v.seg_cfg, ".cleaned", &s, &missing);
  if (rc != 0) return rc;
  rc = seg_recover(s, base, UINT32_MAX, &truncated);
  if (rc == 0 && truncated) rc = -EIO; /* what was just written and synced reads back torn */
  if (rc == 0) rc = seg_make_inactive(s);
  if (rc == 0) rc = seg_sync(s, true);
  if (rc != 0) {
    (void)seg_delete_files(s);
    seg_unref(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* The end of the group of segments from i rewritten into one file (Kafka's
 * groupSegmentsBySize): consecutive non-empty segments below the pass's end whose sizes add up
 * to at most segment.bytes, whose index entries fit one segment's indexes and whose offsets fit
 * its relative offsets. Cleaned segments shrink, so later passes merge them. */
static size_t group_end(const struct cleaner *c, size_t i) {
  const struct plog_clean_view *v = &c->v;
  const struct segment *first = v->segs[i];
  uint64_t size = first->size;
  size_t index = first->index_count, times = first->time_count, j = i + 1;
  for (; j < v->count; j++) {
    const struct segment *s = v->segs[j];
    if (s->base_offset >= c->end_offset || s->size == 0 || size + s->size > v->segment_bytes ||
        index + s->index_count >= first->index_max || times + s->time_count >= first->time_max ||
        s->next_offset - first->base_offset > INT32_MAX)
      break;
    size += s->size;
    index += s->index_count;
    times += s->time_count;
  }
  return j;
}

/* Steps 3-5 for the closed segments [i, end): one rewrite named after segment i. */
static int clean_group(struct cleaner *c, size_t i, size_t end) {
  int64_t base = c->v.segs[i]->base_offset;
  struct segment *cleaned = NULL;
  bool changed = end - i > 1; /* a merge changes the files whatever the records */
  int rc = seg_file_path(plog_dir(c->log), base, ".log.cleaned", c->cleaned_path,
                         sizeof(c->cleaned_path));
  if (rc == 0) rc = sio_open(c->v.io, c->cleaned_path, O_RDWR | O_CREAT | O_TRUNC, &c->out_fd);
  if (rc != 0) return rc;
  c->out_pos = 0;
  c->out_size = 0;
  for (size_t k = i; rc == 0 && k < end; k++) {
    struct segment *s = c->v.segs[k];
    for (uint64_t pos = 0; rc == 0 && pos < s->size;) {
      struct record_batch rb;
      size_t size;
      bool valid;
      rc = read_batch(c, s, pos, &rb, &size, &valid);
      pos += size;
      if (rc == 0) rc = clean_batch(c, &rb, size, valid, k + 1 == end && pos == s->size, &changed);
    }
  }
  if (rc == 0) rc = out_flush(c);
  if (rc == 0 && changed) rc = sio_fdatasync(c->v.io, c->out_fd);
  sio_close(c->v.io, c->out_fd);
  c->out_fd = -1;
  if (rc != 0 || !changed) {
    (void)sio_unlink(c->v.io, c->cleaned_path); /* best effort */
    return rc;
  }
  rc = step(c, CLEANER_STEP_CLEANED_WRITTEN, base);
  if (rc == 0) rc = cleaned_open(c, base, &cleaned);
  if (rc != 0) {
    (void)sio_unlink(c->v.io, c->cleaned_path);
    return rc;
  }
  c->committed = false;
  rc = plog_clean_swap(c->log, &c->v, i, end - i, cleaned, swap_commit, c);
  if (rc == 0) {
    c->st.segments_cleaned += end - i;
    c->st.bytes_written += c->out_pos; /* an unchanged segment's rewrite is thrown away */
  } else {
    /* before the commit point the rewrite goes (the old segments' files were not touched);
     * after it, recovery completes the swap (and this log is left alone until then) */
    if (!c->committed) {
      char swap[SEG_PATH_MAX + 32];
      (void)seg_delete_files(cleaned);
      if (seg_file_path(plog_dir(c->log), base, ".log.swap", swap, sizeof(swap)) == 0)
        (void)sio_unlink(c->v.io, swap);
    }
    seg_unref(cleaned);
  }
  return rc;
}

/* ---- the checkpoint ---- */

/* The log dir's checkpoint path and the partition's name, from the log's directory. */
static int ckpt_locate(struct plog *log, char *path, size_t path_size, struct ckpt_offset *e) {
  const char *dir = plog_dir(log), *slash = strrchr(dir, '/');
  const char *name = slash ? slash + 1 : dir;
  if (!logdir_parse_partition_dir(name, e->topic, &e->partition)) return -EINVAL;
  int n = slash ? snprintf(path, path_size, "%.*s/%s", (int)(slash - dir), dir, CLEANER_CHECKPOINT)
                : snprintf(path, path_size, "%s", CLEANER_CHECKPOINT);
  return n < 0 || (size_t)n >= path_size ? -ENAMETOOLONG : 0;
}

int cleaner_checkpoint_read(struct plog *log, int64_t *offset) {
  char path[SEG_PATH_MAX + 64];
  struct ckpt_offset me, *e = NULL;
  size_t count = 0;
  int rc = ckpt_locate(log, path, sizeof(path), &me);
  if (rc == 0) rc = ckpt_offsets_read(plog_io(log), path, &e, &count);
  if (rc != 0) return rc;
  rc = -ENOENT;
  for (size_t i = 0; i < count; i++)
    if (e[i].partition == me.partition && strcmp(e[i].topic, me.topic) == 0) {
      *offset = e[i].offset;
      rc = 0;
    }
  free(e);
  return rc;
}

/* One log dir's checkpoint file serves all its partitions: its read-modify-writes are
 * serialised (cleaner threads, and deletions on the loop). */
static pthread_mutex_t checkpoint_mu = PTHREAD_MUTEX_INITIALIZER;

/* Sets the log's entry to offset, or removes it when offset < 0. */
static int checkpoint_update(struct plog *log, int64_t offset) {
  char path[SEG_PATH_MAX + 64];
  struct ckpt_offset me, *e = NULL;
  size_t count = 0;
  int rc = ckpt_locate(log, path, sizeof(path), &me);
  if (rc != 0) return rc;
  me.offset = offset;
  pthread_mutex_lock(&checkpoint_mu);
  rc = ckpt_offsets_read(plog_io(log), path, &e, &count);
  if (rc == -ENOENT || rc == -EBADMSG) {
    e = NULL;
    count = 0;
    rc = 0;
  }
  size_t i = 0;
  while (i < count && !(e[i].partition == me.partition && strcmp(e[i].topic, me.topic) == 0)) i++;
  if (rc == 0 && offset < 0) {
    if (i == count) goto out; /* nothing to forget */
    e[i] = e[--count];
  } else if (rc == 0) {
    if (i == count) {
      struct ckpt_offset *n = realloc(e, (count + 1) * sizeof(*e));
      if (n == NULL) {
        rc = -ENOMEM;
        goto out;
      }
      e = n;
      count++;
    }
    e[i] = me;
  }
  if (rc == 0) rc = ckpt_offsets_write(plog_io(log), path, e, count);
out:
  pthread_mutex_unlock(&checkpoint_mu);
  free(e);
  return rc;
}

int cleaner_checkpoint_forget(struct plog *log) { return checkpoint_update(log, -1); }

/* ---- entry points ---- */

static int cleaner_start(struct cleaner *c, struct plog *log, const struct cleaner_config *cfg,
                         int64_t now_ms) {
  memset(c, 0, sizeof(*c));
  c->log = log;
  c->cfg = cfg;
  c->now_ms = now_ms;
  c->out_fd = -1;
  if (cfg->delete_retention_ms < 0 || cfg->min_compaction_lag_ms < 0) return -EINVAL;
  int64_t checkpoint;
  int rc = cleaner_checkpoint_read(log, &checkpoint);
  if (rc == -ENOENT || rc == -EBADMSG) {
    checkpoint = -1;
    rc = 0;
  }
  if (rc == 0) rc = plog_clean_view_take(log, &c->v);
  if (rc == 0) clean_range(c, checkpoint);
  return rc;
}

static void cleaner_end(struct cleaner *c) {
  plog_clean_view_release(&c->v);
  free(c->map.e);
  free(c->batch);
  free(c->inflated);
  free(c->recs);
  free(c->zbuf);
  free(c->out);
  free(c->keep);
}

int cleaner_clean(struct plog *log, const struct cleaner_config *cfg, int64_t now_ms,
                  struct cleaner_stats *out) {
  struct cleaner c;
  int rc = cleaner_start(&c, log, cfg, now_ms);
  c.st.first_dirty = c.st.cleaned_up_to = c.first_dirty;
  if (rc != 0) goto out;
  /* the map needs no more slots than the dirty section has offsets (an empty map at most 90%
   * full): a small log costs little memory however large the dedupe buffer */
  uint64_t map_bytes = cfg->dedupe_buffer_bytes;
  int64_t dirty_offsets = first_uncleanable(&c) - c.first_dirty;
  uint64_t span = dirty_offsets > 0 ? (uint64_t)dirty_offsets : 0;
  if (span < map_bytes / CLEANER_MAP_ENTRY_SIZE) {
    uint64_t need = (span * 10 / 9 + 16) * CLEANER_MAP_ENTRY_SIZE;
    if (need < map_bytes) map_bytes = need;
  }
  rc = omap_init(&c.map, map_bytes);
  if (rc == 0 && c.first_dirty < first_uncleanable(&c))
    rc = build_map(&c);
  else
    c.end_offset = c.first_dirty; /* nothing dirty: the clean section still loses the
                                   * tombstones whose delete horizon passed (empty map) */
  for (size_t i = 0, end; rc == 0 && i < c.v.count && c.v.segs[i]->base_offset < c.end_offset;
       i = end) {
    end = i + 1;
    if (c.v.segs[i]->size > 0) rc = clean_group(&c, i, end = group_end(&c, i));
  }
  if (rc == 0) rc = checkpoint_update(log, c.end_offset);
  if (rc == 0) {
    c.st.cleaned_up_to = c.end_offset;
    rc = step(&c, CLEANER_STEP_CHECKPOINTED, c.end_offset);
  }
out:
  if (out != NULL) *out = c.st;
  cleaner_end(&c);
  return rc;
}

int cleaner_cleanable(struct plog *log, const struct cleaner_config *cfg, int64_t now_ms,
                      struct cleaner_cleanable *out) {
  struct cleaner c;
  memset(out, 0, sizeof(*out));
  int rc = cleaner_start(&c, log, cfg, now_ms);
  int64_t oldest = INT64_MAX;
  for (size_t i = 0; rc == 0 && i < c.v.count; i++) {
    const struct segment *s = c.v.segs[i];
    if (s->next_offset <= c.first_dirty) {
      out->clean_bytes += s->size;
      continue;
    }
    if (i < c.dirty_end) out->dirty_bytes += s->size;
    if (s->rolling_timestamp > 0 && s->rolling_timestamp < oldest) oldest = s->rolling_timestamp;
  }
  uint64_t total = out->clean_bytes + out->dirty_bytes;
  out->ratio = total == 0 ? 0.0 : (double)out->dirty_bytes / (double)total;
  int64_t lag = cfg->max_compaction_lag_ms > 0 ? cfg->max_compaction_lag_ms : 0;
  if (rc == 0 && oldest != INT64_MAX && now_ms - lag > oldest)
    out->compaction_delay_ms = now_ms - lag - oldest;
  cleaner_end(&c);
  return rc;
}
