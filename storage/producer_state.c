/* Producer state for idempotence and transactions. Design note.
 *
 * What is kept (Kafka's ProducerStateManager / ProducerStateEntry): per producer id its epoch,
 * the last PSTATE_BATCHES batches (first/last sequence, first/last offset, maxTimestamp), the
 * last timestamp, the coordinator epoch of its last transaction marker and the first offset of
 * its ongoing transaction. map_end is one past the last offset reflected (mapEndOffset). The
 * producers live in an open-addressing hash table (linear probing, backward-shift deletion), the
 * entries inline.
 *
 * Validation of a client's data batch (Kafka 3.x/4.x, KIP-360; UnifiedLog.
 * analyzeAndValidateProducerState then ProducerAppendInfo.appendDataBatch), in this order:
 *  1. duplicate: the producer's epoch equals the batch's and one of the remembered batches has
 *     exactly the same first and last sequence -> the append is skipped and the Produce answered
 *     with error NONE and that batch's offsets (Kafka sets logAppendTime to its timestamp too).
 *     Kafka no longer sends DUPLICATE_SEQUENCE_NUMBER. A duplicate of an older batch than the
 *     last 5 is caught by rule 3 as out of order.
 *  2. epoch: lower than the producer's -> INVALID_PRODUCER_EPOCH.
 *  3. sequence: with a new (higher) epoch the first sequence must be 0, unless the producer's
 *     epoch is unknown (-1: no state); with the same epoch it must follow the last batch's last
 *     sequence (lastSeq + 1, or 0 after INT32_MAX), unless the epoch is unknown; a producer with
 *     no remembered batch at the current epoch (its epoch was bumped by a marker) starts at 0.
 *     A producer without state (new, expired, or whose batches retention removed) is accepted at
 *     any sequence: since KIP-360 (Kafka 2.5) the broker does not answer UNKNOWN_PRODUCER_ID for
 *     that, so PSTATE_UNKNOWN_PRODUCER is never returned (the value exists for the error map).
 *     Not here: the KIP-890 verification guard (a transactions-v2 producer with no state must
 *     start at 0; a sequence above the verified lowest one is out of order) - the broker's.
 *  4. transaction: a non-transactional batch while the producer's transaction is open ->
 *     INVALID_TXN_STATE.
 * Replicated batches and the log replay are applied without checks (AppendOrigin.REPLICATION);
 * an epoch change drops the remembered batches (maybeUpdateProducerEpoch); the first
 * transactional batch opens a transaction at its first offset; a marker closes it, records the
 * coordinator epoch and may change the epoch (transactions v2 bump it).
 *
 * Expiry: a producer with no open transaction whose last timestamp (the batch's maxTimestamp,
 * i.e. the client's clock, as in Kafka) is at least producer.id.expiration.ms old goes; loading a
 * snapshot drops those too.
 *
 * Snapshot file <20-digit map end>.snapshot, written whole with sio_write_atomic; big-endian:
 *   magic "QPST" | version u16 (1) | reserved u16 (0) | crc u32 | map_end i64 | count u32 |
 *   count entries, by ascending producer id:
 *     producer_id i64 | epoch i16 | coordinator_epoch i32 | last_timestamp i64 |
 *     txn_first_offset i64 | batch_count u8 (<= 5) |
 *     batch_count x (first_seq i32 | last_seq i32 | first_offset i64 | last_offset i64 |
 *                    timestamp i64), oldest first
 * The CRC-32C covers everything after the crc field. A file is refused (-EBADMSG) on a bad
 * magic, an unknown version, a CRC mismatch, a size that disagrees with count, a map_end other
 * than the file name's, a negative or repeated producer id, or batch_count > 5. Unlike Kafka's
 * format (last batch only), all 5 batches are kept, so duplicates are still caught after a
 * restart. */
#include "producer_state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "errors.h"
#include "record_batch.h"

enum {
  PS_DIR_MAX = 4096,
  PS_HEADER_SIZE = 24,
  PS_ENTRY_SIZE = 31,
  PS_BATCH_SIZE = 32,
  PS_VERSION = 1,
  PS_FILE_MAX = 256 * 1024 * 1024,
};
static const char ps_magic[4] = {'Q', 'P', 'S', 'T'};
static const char ps_ext[] = ".snapshot";

struct ptable {
  struct pstate_entry *slots; /* cap slots, producer_id -1 when free */
  size_t cap, count;          /* cap a power of two (or 0) */
};

struct pstate {
  struct storage_io *io;
  char dir[PS_DIR_MAX];
  int64_t expiration_ms;
  struct ptable t;
  int64_t map_end;
  int64_t last_snap; /* offset of the last snapshot written or loaded; -1 none */
};

/* ---- results ---- */

int16_t pstate_result_kafka_error(enum pstate_result r) {
  switch (r) {
  case PSTATE_OK:
  case PSTATE_DUPLICATE: return ERR_NONE;
  case PSTATE_OUT_OF_ORDER: return ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
  case PSTATE_INVALID_EPOCH: return ERR_INVALID_PRODUCER_EPOCH;
  case PSTATE_INVALID_TXN_STATE: return ERR_INVALID_TXN_STATE;
  case PSTATE_COORDINATOR_FENCED: return ERR_TRANSACTION_COORDINATOR_FENCED;
  case PSTATE_UNKNOWN_PRODUCER: return ERR_UNKNOWN_PRODUCER_ID;
  }
  return ERR_UNKNOWN_SERVER_ERROR;
}

const char *pstate_result_name(enum pstate_result r) {
  switch (r) {
  case PSTATE_OK: return "PSTATE_OK";
  case PSTATE_DUPLICATE: return "PSTATE_DUPLICATE";
  case PSTATE_OUT_OF_ORDER: return "PSTATE_OUT_OF_ORDER";
  case PSTATE_INVALID_EPOCH: return "PSTATE_INVALID_EPOCH";
  case PSTATE_INVALID_TXN_STATE: return "PSTATE_INVALID_TXN_STATE";
  case PSTATE_COORDINATOR_FENCED: return "PSTATE_COORDINATOR_FENCED";
  case PSTATE_UNKNOWN_PRODUCER: return "PSTATE_UNKNOWN_PRODUCER";
  }
  return "?";
}

int32_t pstate_seq_add(int32_t seq, int32_t delta) {
  if (seq < 0) return seq;
  if (seq > INT32_MAX - delta) return delta - (INT32_MAX - seq) - 1;
  return seq + delta;
}

static bool in_sequence(int32_t last_seq, int32_t next_seq) {
  return (int64_t)next_seq == (int64_t)last_seq + 1 || (next_seq == 0 && last_seq == INT32_MAX);
}

/* ---- the table ---- */

static size_t pt_home(const struct ptable *t, int64_t pid) {
  uint64_t h = (uint64_t)pid * 0x9E3779B97F4A7C15ULL;
  return (size_t)(h ^ (h >> 32)) & (t->cap - 1);
}

static void entry_init(struct pstate_entry *e, int64_t pid) {
  memset(e, 0, sizeof(*e));
  e->producer_id = pid;
  e->epoch = RB_NO_PRODUCER_EPOCH;
  e->coordinator_epoch = -1;
  e->last_timestamp = RB_NO_TIMESTAMP;
  e->txn_first_offset = -1;
}

static struct pstate_entry *pt_find(const struct ptable *t, int64_t pid) {
  if (t->cap == 0 || pid < 0) return NULL;
  for (size_t i = pt_home(t, pid);; i = (i + 1) & (t->cap - 1)) {
    if (t->slots[i].producer_id == pid) return &t->slots[i];
    if (t->slots[i].producer_id < 0) return NULL;
  }
}

static struct pstate_entry *pt_insert_slot(struct ptable *t, int64_t pid) {
  size_t i = pt_home(t, pid);
  while (t->slots[i].producer_id >= 0) i = (i + 1) & (t->cap - 1);
  return &t->slots[i];
}

static int pt_grow(struct ptable *t) {
  size_t ncap = t->cap ? t->cap * 2 : 16;
  struct pstate_entry *n = malloc(ncap * sizeof(*n));
  if (n == NULL) return -ENOMEM;
  for (size_t i = 0; i < ncap; i++) n[i].producer_id = -1;
  struct ptable nt = {n, ncap, t->count};
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i].producer_id >= 0) *pt_insert_slot(&nt, t->slots[i].producer_id) = t->slots[i];
  free(t->slots);
  *t = nt;
  return 0;
}

/* The entry of pid, created (fresh) when missing; NULL on ENOMEM. */
static struct pstate_entry *pt_get_or_add(struct ptable *t, int64_t pid, bool *existed) {
  struct pstate_entry *e = pt_find(t, pid);
  *existed = e != NULL;
  if (e != NULL) return e;
  if ((t->count + 1) * 4 > t->cap * 3 && pt_grow(t) != 0) return NULL;
  e = pt_insert_slot(t, pid);
  entry_init(e, pid);
  t->count++;
  return e;
}

/* Removes slots[i], shifting the rest of its probe chain back. */
static void pt_remove_at(struct ptable *t, size_t i) {
  size_t mask = t->cap - 1, j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (t->slots[j].producer_id < 0) break;
    size_t k = pt_home(t, t->slots[j].producer_id);
    /* slots[j] may fill the hole at i unless its home lies cyclically in (i, j] */
    bool home_between = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (!home_between) {
      t->slots[i] = t->slots[j];
      i = j;
    }
  }
  t->slots[i].producer_id = -1;
  t->count--;
}

static void pt_free(struct ptable *t) {
  free(t->slots);
  t->slots = NULL;
  t->cap = t->count = 0;
}

/* ---- lifecycle, lookups ---- */

int pstate_create(struct storage_io *io, const char *dir, int64_t expiration_ms,
                  struct pstate **out) {
  struct pstate *ps = calloc(1, sizeof(*ps));
  if (ps == NULL) return -ENOMEM;
  if (snprintf(ps->dir, sizeof(ps->dir), "%s", dir) >= (int)sizeof(ps->dir)) {
    free(ps);
    return -ENAMETOOLONG;
  }
  ps->io = io;
  ps->expiration_ms = expiration_ms;
  ps->last_snap = -1;
  *out = ps;
  return 0;
}

void pstate_free(struct pstate *ps) {
  if (ps == NULL) return;
  pt_free(&ps->t);
  free(ps);
}

int64_t pstate_map_end(const struct pstate *ps) { return ps->map_end; }
void pstate_set_map_end(struct pstate *ps, int64_t offset) { ps->map_end = offset; }
const struct pstate_entry *pstate_get(const struct pstate *ps, int64_t pid) {
  return pt_find(&ps->t, pid);
}
size_t pstate_count(const struct pstate *ps) { return ps->t.count; }

const struct pstate_entry *pstate_next(const struct pstate *ps, size_t *cursor) {
  while (*cursor < ps->t.cap) {
    const struct pstate_entry *e = &ps->t.slots[(*cursor)++];
    if (e->producer_id >= 0) return e;
  }
  return NULL;
}

int64_t pstate_first_unstable_offset(const struct pstate *ps) {
  int64_t min = -1;
  for (size_t i = 0; i < ps->t.cap; i++) {
    const struct pstate_entry *e = &ps->t.slots[i];
    if (e->producer_id >= 0 && e->txn_first_offset >= 0 && (min < 0 || e->txn_first_offset < min))
      min = e->txn_first_offset;
  }
  return min;
}

static bool entry_equal(const struct pstate_entry *a, const struct pstate_entry *b) {
  if (a->producer_id != b->producer_id || a->epoch != b->epoch ||
      a->coordinator_epoch != b->coordinator_epoch || a->last_timestamp != b->last_timestamp ||
      a->txn_first_offset != b->txn_first_offset || a->batch_count != b->batch_count)
    return false;
  for (size_t i = 0; i < a->batch_count; i++) {
    const struct pstate_batch *x = &a->batches[i], *y = &b->batches[i];
    if (x->first_seq != y->first_seq || x->last_seq != y->last_seq ||
        x->first_offset != y->first_offset || x->last_offset != y->last_offset ||
        x->timestamp != y->timestamp)
      return false;
  }
  return true;
}

bool pstate_equal(const struct pstate *a, const struct pstate *b) {
  if (a->t.count != b->t.count) return false;
  size_t cursor = 0;
  const struct pstate_entry *e;
  while ((e = pstate_next(a, &cursor)) != NULL) {
    const struct pstate_entry *f = pstate_get(b, e->producer_id);
    if (f == NULL || !entry_equal(e, f)) return false;
  }
  return true;
}

/* ---- validation and updates ---- */

enum pstate_result pstate_check(const struct pstate *ps, int64_t pid, int16_t epoch,
                                int32_t first_seq, int32_t last_seq, bool transactional,
                                struct pstate_batch *dup) {
  if (pid < 0) return PSTATE_OK;
  const struct pstate_entry *e = pt_find(&ps->t, pid);
  if (e != NULL && e->epoch == epoch) {
    for (size_t i = 0; i < e->batch_count; i++) {
      if (e->batches[i].first_seq == first_seq && e->batches[i].last_seq == last_seq) {
        if (dup != NULL) *dup = e->batches[i];
        return PSTATE_DUPLICATE;
      }
    }
  }
  int16_t current = e != NULL ? e->epoch : RB_NO_PRODUCER_EPOCH;
  if (epoch < current) return PSTATE_INVALID_EPOCH;
  if (epoch != current) {
    if (first_seq != 0 && current != RB_NO_PRODUCER_EPOCH) return PSTATE_OUT_OF_ORDER;
  } else if (current != RB_NO_PRODUCER_EPOCH) {
    int32_t last = e->batch_count > 0 ? e->batches[e->batch_count - 1].last_seq : RB_NO_SEQUENCE;
    if (!in_sequence(last, first_seq)) return PSTATE_OUT_OF_ORDER;
  }
  if (e != NULL && e->txn_first_offset >= 0 && !transactional) return PSTATE_INVALID_TXN_STATE;
  return PSTATE_OK;
}

static void entry_set_epoch(struct pstate_entry *e, int16_t epoch) {
  if (e->epoch != epoch) {
    e->batch_count = 0;
    e->epoch = epoch;
  }
}

static struct pstate_entry *entry_for_update(struct pstate *ps, int64_t pid,
                                             struct pstate_undo *undo) {
  bool existed;
  struct pstate_entry *e = pt_get_or_add(&ps->t, pid, &existed);
  if (e == NULL) return NULL;
  if (undo != NULL) {
    undo->existed = existed;
    if (existed)
      undo->prev = *e;
    else
      entry_init(&undo->prev, pid);
  }
  return e;
}

int pstate_update(struct pstate *ps, const struct pstate_append *a, struct pstate_undo *undo) {
  if (a->producer_id < 0 || a->last_offset < a->first_offset) return -EINVAL;
  struct pstate_entry *e = entry_for_update(ps, a->producer_id, undo);
  if (e == NULL) return -ENOMEM;
  entry_set_epoch(e, a->epoch);
  if (e->batch_count == PSTATE_BATCHES) {
    memmove(&e->batches[0], &e->batches[1], (PSTATE_BATCHES - 1) * sizeof(e->batches[0]));
    e->batch_count--;
  }
  e->batches[e->batch_count++] = (struct pstate_batch){a->first_seq, a->last_seq, a->first_offset,
                                                       a->last_offset, a->max_timestamp};
  e->last_timestamp = a->max_timestamp;
  if (e->txn_first_offset < 0 && a->transactional) e->txn_first_offset = a->first_offset;
  return 0;
}

void pstate_undo(struct pstate *ps, const struct pstate_undo *undo) {
  struct pstate_entry *e = pt_find(&ps->t, undo->prev.producer_id);
  if (undo->existed) {
    if (e != NULL) {
      *e = undo->prev;
    } else {
      bool existed;
      e = pt_get_or_add(&ps->t, undo->prev.producer_id, &existed);
      if (e != NULL) *e = undo->prev;
    }
  } else if (e != NULL) {
    pt_remove_at(&ps->t, (size_t)(e - ps->t.slots));
  }
}

enum pstate_result pstate_check_marker(const struct pstate *ps, int64_t pid, int16_t epoch,
                                       int32_t coordinator_epoch, int transaction_version) {
  const struct pstate_entry *e = pt_find(&ps->t, pid);
  int16_t current = e != NULL ? e->epoch : RB_NO_PRODUCER_EPOCH;
  bool invalid = transaction_version >= 2 ? epoch <= current : epoch < current;
  /* KAFKA-19999: a TV2 marker retried after its transaction ended is written again */
  if (invalid &&
      !(transaction_version >= 2 && epoch == current && (e == NULL || e->txn_first_offset < 0)))
    return PSTATE_INVALID_EPOCH;
  if (e != NULL && e->coordinator_epoch > coordinator_epoch) return PSTATE_COORDINATOR_FENCED;
  return PSTATE_OK;
}

int pstate_update_marker(struct pstate *ps, const struct pstate_marker *m, struct pstate_undo *undo,
                         struct pstate_completed_txn *completed) {
  if (m->producer_id < 0) return -EINVAL;
  struct pstate_entry *e = entry_for_update(ps, m->producer_id, undo);
  if (e == NULL) return -ENOMEM;
  int ended = 0;
  if (e->txn_first_offset >= 0) {
    ended = 1;
    if (completed != NULL)
      *completed =
          (struct pstate_completed_txn){m->producer_id, e->txn_first_offset, m->offset, !m->commit};
  }
  entry_set_epoch(e, m->epoch);
  e->coordinator_epoch = m->coordinator_epoch;
  e->last_timestamp = m->timestamp;
  e->txn_first_offset = -1;
  return ended;
}

/* now_ms - timestamp without overflow (a client's timestamp may be any int64). */
static int64_t idle_ms(int64_t now_ms, int64_t timestamp) {
  if (timestamp < 0 && now_ms > INT64_MAX + timestamp) return INT64_MAX;
  if (timestamp > 0 && now_ms < INT64_MIN + timestamp) return INT64_MIN;
  return now_ms - timestamp;
}

size_t pstate_expire(struct pstate *ps, int64_t now_ms) {
  size_t n = 0;
  /* after a removal the slot is looked at again: the shift may have moved an entry into it */
  for (size_t i = 0; i < ps->t.cap;) {
    const struct pstate_entry *e = &ps->t.slots[i];
    if (e->producer_id >= 0 && e->txn_first_offset < 0 &&
        idle_ms(now_ms, e->last_timestamp) >= ps->expiration_ms) {
      pt_remove_at(&ps->t, i);
      n++;
    } else {
      i++;
    }
  }
  return n;
}

void pstate_clear(struct pstate *ps, int64_t offset) {
  for (size_t i = 0; i < ps->t.cap; i++) ps->t.slots[i].producer_id = -1;
  ps->t.count = 0;
  ps->map_end = offset;
  ps->last_snap = -1;
}

void pstate_log_start_advanced(struct pstate *ps, int64_t log_start) {
  if (ps->map_end < log_start) pstate_clear(ps, log_start);
}

/* ---- replay ---- */

static uint16_t get_u16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t get_u32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static uint64_t get_u64(const uint8_t *p) { return ((uint64_t)get_u32(p) << 32) | get_u32(p + 4); }

/* The end-transaction marker of a control batch: 1 with *m filled, 0 when the batch holds no
 * such record (empty after cleaning, or another control type), -EBADMSG when unreadable. */
static int read_marker(const struct record_batch *b, struct pstate_marker *m) {
  struct rb_record_iter it;
  struct rb_record r;
  if (rb_records_begin(&it, b) != RB_OK) return -EBADMSG;
  int rc = rb_records_next(&it, &r);
  if (rc == RB_END) return 0;
  if (rc != RB_OK) return -EBADMSG;
  if (r.key_size < 4 || (int16_t)get_u16(r.key) < 0) return -EBADMSG;
  int16_t type = (int16_t)get_u16(r.key + 2);
  if (type != 0 && type != 1) return 0;
  if (r.value_size < 6 || (int16_t)get_u16(r.value) < 0) return -EBADMSG;
  *m = (struct pstate_marker){b->producer_id, b->producer_epoch, (int32_t)get_u32(r.value + 2),
                              b->base_offset, r.timestamp,       type == 1};
  return 1;
}

int pstate_apply_batch(struct pstate *ps, const struct record_batch *b, struct pstate_undo *undo,
                       bool *recorded) {
  int rc = 0;
  *recorded = false;
  if (!rb_has_producer_id(b)) return 0;
  if (rb_is_control(b)) {
    struct pstate_marker m;
    if (b->records == NULL) return -EINVAL; /* a header alone: the caller's bug */
    rc = read_marker(b, &m);
    if (rc <= 0) return rc; /* 0: no end-transaction marker, nothing to record */
    rc = pstate_update_marker(ps, &m, undo, NULL);
    if (rc >= 0) *recorded = true;
  } else {
    struct pstate_append a = {
        b->producer_id,   b->producer_epoch,
        b->base_sequence, pstate_seq_add(b->base_sequence, b->last_offset_delta),
        b->base_offset,   rb_last_offset(b),
        b->max_timestamp, rb_is_transactional(b)};
    rc = pstate_update(ps, &a, undo);
    if (rc == 0) *recorded = true;
  }
  return rc < 0 ? rc : 0;
}

int pstate_replay(struct pstate *ps, const uint8_t *data, size_t size) {
  for (size_t pos = 0; pos < size;) {
    struct record_batch b;
    bool recorded;
    if (rb_parse_header(data + pos, size - pos, &b) != RB_OK) return -EBADMSG;
    pos += rb_size(&b);
    if (rb_last_offset(&b) < ps->map_end) continue;
    int rc = pstate_apply_batch(ps, &b, NULL, &recorded);
    if (rc < 0) return rc;
    ps->map_end = rb_last_offset(&b) + 1;
  }
  return 0;
}

/* ---- snapshots ---- */

static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 3; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}
static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

int pstate_snapshot_path(const struct pstate *ps, int64_t offset, char *buf, size_t size) {
  if (offset < 0) return -EINVAL;
  int n = snprintf(buf, size, "%s/%020" PRId64 "%s", ps->dir, offset, ps_ext);
  return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static bool parse_snapshot_name(const char *name, int64_t *offset) {
  size_t len = strlen(name), ext_len = sizeof(ps_ext) - 1;
  if (len != 20 + ext_len || strcmp(name + 20, ps_ext) != 0) return false;
  int64_t v = 0;
  for (size_t i = 0; i < 20; i++) {
    if (name[i] < '0' || name[i] > '9') return false;
    if (v > (INT64_MAX - (name[i] - '0')) / 10) return false;
    v = v * 10 + (name[i] - '0');
  }
  *offset = v;
  return true;
}

static int cmp_pid(const void *a, const void *b) {
  int64_t x = (*(const struct pstate_entry *const *)a)->producer_id;
  int64_t y = (*(const struct pstate_entry *const *)b)->producer_id;
  return x < y ? -1 : x > y;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The snapshot's bytes (malloc'd). */
static int snapshot_encode(const struct pstate *ps, uint8_t **out, size_t *out_size) {
  const struct pstate_entry **sorted = malloc((ps->t.count ? ps->t.count : 1) * sizeof(*sorted));
  if (sorted == NULL) return -ENOMEM;
  size_t n = 0, size = PS_HEADER_SIZE, cursor = 0;
  const struct pstate_entry *e;
  while ((e = pstate_next(ps, &cursor)) != NULL) {
    sorted[n++] = e;
    size += PS_ENTRY_SIZE + (size_t)e->batch_count * PS_BATCH_SIZE;
  }
  qsort(sorted, n, sizeof(*sorted), cmp_pid);
  uint8_t *buf = malloc(size), *p = buf + PS_HEADER_SIZE;
  if (buf == NULL) {
    free(sorted);
    return -ENOMEM;
  }
  memcpy(buf, ps_magic, 4);
  put_u16(buf + 4, PS_VERSION);
  put_u16(buf + 6, 0);
  put_u64(buf + 12, (uint64_t)ps->map_end);
  put_u32(buf + 20, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    e = sorted[i];
    put_u64(p, (uint64_t)e->producer_id);
    put_u16(p + 8, (uint16_t)e->epoch);
    put_u32(p + 10, (uint32_t)e->coordinator_epoch);
    put_u64(p + 14, (uint64_t)e->last_timestamp);
    put_u64(p + 22, (uint64_t)e->txn_first_offset);
    p[30] = e->batch_count;
    p += PS_ENTRY_SIZE;
    for (size_t j = 0; j < e->batch_count; j++, p += PS_BATCH_SIZE) {
      const struct pstate_batch *b = &e->batches[j];
      put_u32(p, (uint32_t)b->first_seq);
      put_u32(p + 4, (uint32_t)b->last_seq);
      put_u64(p + 8, (uint64_t)b->first_offset);
      put_u64(p + 16, (uint64_t)b->last_offset);
      put_u64(p + 24, (uint64_t)b->timestamp);
    }
  }
  put_u32(buf + 8, crc32c(0, buf + 12, size - 12));
  free(sorted);
  *out = buf;
  *out_size = size;
  return 0;
}

/* Parses a snapshot named for offset into t (empty on entry); -EBADMSG when corrupt. */
static int snapshot_decode(const uint8_t *buf, size_t size, int64_t offset, struct ptable *t) {
  if (size < PS_HEADER_SIZE || memcmp(buf, ps_magic, 4) != 0 || get_u16(buf + 4) != PS_VERSION)
    return -EBADMSG;
  if (get_u32(buf + 8) != crc32c(0, buf + 12, size - 12)) return -EBADMSG;
  if ((int64_t)get_u64(buf + 12) != offset) return -EBADMSG;
  uint32_t count = get_u32(buf + 20);
  const uint8_t *p = buf + PS_HEADER_SIZE, *end = buf + size;
  for (uint32_t i = 0; i < count; i++) {
    if ((size_t)(end - p) < PS_ENTRY_SIZE) return -EBADMSG;
    struct pstate_entry e;
    entry_init(&e, (int64_t)get_u64(p));
    e.epoch = (int16_t)get_u16(p + 8);
    e.coordinator_epoch = (int32_t)get_u32(p + 10);
    e.last_timestamp = (int64_t)get_u64(p + 14);
    e.txn_first_offset = (int64_t)get_u64(p + 22);
    e.batch_count = p[30];
    p += PS_ENTRY_SIZE;
    if (e.producer_id < 0 || e.batch_count > PSTATE_BATCHES ||
        (size_t)(end - p) < (size_t)e.batch_count * PS_BATCH_SIZE)
      return -EBADMSG;
    for (size_t j = 0; j < e.batch_count; j++, p += PS_BATCH_SIZE) {
      struct pstate_batch *b = &e.batches[j];
      b->first_seq = (int32_t)get_u32(p);
      b->last_seq = (int32_t)get_u32(p + 4);
      b->first_offset = (int64_t)get_u64(p + 8);
      b->last_offset = (int64_t)get_u64(p + 16);
      b->timestamp = (int64_t)get_u64(p + 24);
      if (b->first_offset < 0 || b->last_offset < b->first_offset) return -EBADMSG;
    }
    bool existed;
    struct pstate_entry *slot = pt_get_or_add(t, e.producer_id, &existed);
    if (slot == NULL) return -ENOMEM;
    if (existed) return -EBADMSG;
    *slot = e;
  }
  return p == end ? 0 : -EBADMSG;
}

int pstate_snapshot_take(struct pstate *ps, bool *written) {
  if (written != NULL) *written = false;
  if (ps->map_end == ps->last_snap) return 0;
  char path[PS_DIR_MAX + 64];
  uint8_t *buf;
  size_t size;
  int rc = pstate_snapshot_path(ps, ps->map_end, path, sizeof(path));
  if (rc == 0) rc = snapshot_encode(ps, &buf, &size);
  if (rc != 0) return rc;
  rc = sio_write_atomic(ps->io, path, buf, size);
  free(buf);
  if (rc != 0) return rc;
  ps->last_snap = ps->map_end;
  if (written != NULL) *written = true;
  return 0;
}

int pstate_list_snapshots(struct pstate *ps, int64_t **offsets, size_t *count) {
  char **names = NULL;
  size_t n_names = 0, n = 0;
  int rc = sio_dir_list(ps->io, ps->dir, &names, &n_names);
  if (rc != 0) return rc;
  int64_t *v = malloc((n_names ? n_names : 1) * sizeof(*v));
  if (v == NULL) {
    sio_names_free(names, n_names);
    return -ENOMEM;
  }
  for (size_t i = 0; i < n_names; i++)
    if (parse_snapshot_name(names[i], &v[n])) n++;
  sio_names_free(names, n_names);
  qsort(v, n, sizeof(*v), cmp_i64);
  *offsets = v;
  *count = n;
  return 0;
}

static int delete_snapshot(struct pstate *ps, int64_t offset) {
  char path[PS_DIR_MAX + 64];
  int rc = pstate_snapshot_path(ps, offset, path, sizeof(path));
  if (rc == 0) rc = sio_unlink(ps->io, path);
  if (rc == -ENOENT) rc = 0;
  if (rc == 0 && offset == ps->last_snap) ps->last_snap = -1;
  return rc;
}

/* Deletes the snapshots whose offset is above (sign 1) or below (sign -1) offset. */
static int delete_snapshots(struct pstate *ps, int64_t offset, int sign) {
  int64_t *offsets;
  size_t n;
  bool deleted = false;
  int rc = pstate_list_snapshots(ps, &offsets, &n);
  if (rc != 0) return rc;
  for (size_t i = 0; i < n && rc == 0; i++) {
    if ((sign > 0 && offsets[i] > offset) || (sign < 0 && offsets[i] < offset)) {
      rc = delete_snapshot(ps, offsets[i]);
      deleted = true;
    }
  }
  free(offsets);
  /* a deleted snapshot must not come back after a power loss (it would be loaded) */
  if (rc == 0 && deleted && sign > 0) rc = sio_dir_sync(ps->io, ps->dir);
  return rc;
}

int pstate_delete_snapshots_above(struct pstate *ps, int64_t offset) {
  return delete_snapshots(ps, offset, 1);
}

int pstate_delete_snapshots_below(struct pstate *ps, int64_t offset) {
  return delete_snapshots(ps, offset, -1);
}

int pstate_load(struct pstate *ps, int64_t max_offset, int64_t fallback_offset, int64_t now_ms,
                int64_t *loaded_offset) {
  int64_t *offsets;
  size_t n;
  if (loaded_offset != NULL) *loaded_offset = -1;
  int rc = pstate_list_snapshots(ps, &offsets, &n);
  if (rc != 0) return rc;
  struct ptable t = {NULL, 0, 0};
  int64_t found = -1;
  for (size_t i = n; i-- > 0 && found < 0;) {
    if (offsets[i] > max_offset) continue;
    char path[PS_DIR_MAX + 64];
    char *buf = NULL;
    size_t size = 0;
    rc = pstate_snapshot_path(ps, offsets[i], path, sizeof(path));
    if (rc == 0) rc = sio_read_all(ps->io, path, PS_FILE_MAX, &buf, &size);
    if (rc == -EFBIG) rc = -EBADMSG;
    if (rc == 0) rc = snapshot_decode((const uint8_t *)buf, size, offsets[i], &t);
    free(buf);
    if (rc == 0) {
      found = offsets[i];
    } else if (rc == -EBADMSG) {
      pt_free(&t); /* Kafka: "Failed to load producer snapshot", deleted, the next one tried */
      rc = delete_snapshot(ps, offsets[i]);
      if (rc != 0) break;
    } else {
      break;
    }
  }
  free(offsets);
  if (rc != 0) {
    pt_free(&t);
    return rc;
  }
  pt_free(&ps->t);
  ps->t = t;
  if (found >= 0) {
    ps->map_end = ps->last_snap = found;
    pstate_expire(ps, now_ms);
  } else {
    ps->map_end = fallback_offset;
    ps->last_snap = -1;
  }
  if (loaded_offset != NULL) *loaded_offset = found;
  return 0;
}
