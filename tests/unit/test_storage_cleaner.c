/* Unit tests of log compaction (storage/cleaner.c): what a pass keeps, tombstones and their
 * delete horizon, the compaction lag, a small dedupe buffer, compressed batches, and crashes at
 * each step of a segment swap (through the fault-injecting I/O); and of the cleaner's threads
 * (storage/log_cleaner.c): choosing, aborting, pausing and throttling. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch_build.h"
#include "cleaner.h"
#include "compression.h"
#include "io_fault.h"
#include "log_cleaner.h"
#include "plog.h"
#include "record_batch.h"

static char tmp_root[256];

static void setup(void) { test_tmpdir_create(tmp_root, sizeof(tmp_root), "cleaner"); }
static void teardown(void) { test_tmpdir_remove(tmp_root); }

/* Tests that start over within one run: an empty temporary directory again. */
static void fresh_tmp_root(void) {
  test_tmpdir_remove(tmp_root);
  test_tmpdir_create(tmp_root, sizeof(tmp_root), "cleaner");
}

static char *part_dir(void) {
  static char dir[300];
  snprintf(dir, sizeof(dir), "%s/topic-0", tmp_root);
  return dir;
}

static struct plog_open_args small_args(struct storage_io *io) {
  struct plog_open_args a;
  memset(&a, 0, sizeof(a));
  a.io = io;
  a.dir = part_dir();
  plog_config_init(&a.config);
  a.config.segment_bytes = 1024;
  a.config.index_interval_bytes = 128;
  a.config.index_size_max = 4096;
  a.config.retention_ms = -1;
  a.now_ms = 1000;
  return a;
}

static struct plog *open_log(struct plog_open_args *a) {
  struct plog *log = NULL;
  ck_assert_int_eq(plog_open(a, &log), 0);
  return log;
}

/* ---- records: what the tests append and read back ---- */

struct rec {
  int64_t offset;
  char key[16], value[32];
  bool null_key, tombstone;
};

#define MODEL_MAX 4096
struct model {
  struct rec r[MODEL_MAX];
  size_t n;
};

static size_t put_uvarint(uint8_t *p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (uint8_t)v;
  return n;
}
static uint64_t zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static void be(uint8_t *p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

/* A batch of count keyed records (key NULL: null key; value NULL: tombstone), record i with
 * timestamp ts + i, its records compressed with codec. Returns its size. */
static size_t build_batch(uint8_t *buf, const char *const *keys, const char *const *values,
                          int count, int64_t ts, int codec) {
  uint8_t recs[8192], body[512];
  size_t rs = 0;
  for (int i = 0; i < count; i++) {
    size_t b = 0;
    body[b++] = 0;
    b += put_uvarint(body + b, zz(i));
    b += put_uvarint(body + b, zz(i));
    int32_t kl = keys[i] ? (int32_t)strlen(keys[i]) : -1;
    b += put_uvarint(body + b, zz(kl));
    if (kl > 0) memcpy(body + b, keys[i], (size_t)kl), b += (size_t)kl;
    int32_t vl = values[i] ? (int32_t)strlen(values[i]) : -1;
    b += put_uvarint(body + b, zz(vl));
    if (vl > 0) memcpy(body + b, values[i], (size_t)vl), b += (size_t)vl;
    b += put_uvarint(body + b, 0);
    rs += put_uvarint(recs + rs, zz((int64_t)b));
    memcpy(recs + rs, body, b);
    rs += b;
  }
  size_t size = rs;
  if (codec != RB_COMPRESSION_NONE) {
    ck_assert_int_eq(rb_compress(codec, recs, rs, buf + RB_HEADER_SIZE, 16384, &size), RB_OK);
  } else {
    memcpy(buf + RB_HEADER_SIZE, recs, rs);
  }
  memset(buf, 0, RB_HEADER_SIZE);
  be(buf + RB_LENGTH_OFFSET, RB_HEADER_SIZE - RB_LOG_OVERHEAD + size, 4);
  be(buf + RB_PARTITION_LEADER_EPOCH_OFFSET, (uint32_t)-1, 4);
  buf[RB_MAGIC_OFFSET] = 2;
  be(buf + RB_ATTRIBUTES_OFFSET, (uint16_t)codec, 2);
  be(buf + RB_LAST_OFFSET_DELTA_OFFSET, (uint32_t)(count - 1), 4);
  be(buf + RB_BASE_TIMESTAMP_OFFSET, (uint64_t)ts, 8);
  be(buf + RB_MAX_TIMESTAMP_OFFSET, (uint64_t)(ts + count - 1), 8);
  be(buf + RB_PRODUCER_ID_OFFSET, (uint64_t)-1, 8);
  be(buf + RB_PRODUCER_EPOCH_OFFSET, (uint16_t)-1, 2);
  be(buf + RB_BASE_SEQUENCE_OFFSET, (uint32_t)-1, 4);
  be(buf + RB_RECORD_COUNT_OFFSET, (uint32_t)count, 4);
  rb_update_crc(buf);
  return RB_HEADER_SIZE + size;
}

/* Appends one batch of count records: keys "k<key_of(i)>", values "v<offset>" (tombstones where
 * tomb is set), and notes them in m. */
static void append_recs(struct plog *log, struct model *m, const int *key_ids, const bool *tomb,
                        int count, int64_t ts, int codec) {
  char kb[64][16], vb[64][32];
  const char *keys[64], *values[64];
  int64_t base = plog_log_end(log);
  ck_assert_int_le(count, 64);
  for (int i = 0; i < count; i++) {
    struct rec *r = &m->r[m->n++];
    memset(r, 0, sizeof(*r));
    r->offset = base + i;
    r->null_key = key_ids[i] < 0;
    r->tombstone = tomb != NULL && tomb[i];
    snprintf(kb[i], sizeof(kb[i]), "k%d", key_ids[i]);
    snprintf(vb[i], sizeof(vb[i]), "v%lld", (long long)(base + i));
    keys[i] = r->null_key ? NULL : kb[i];
    values[i] = r->tombstone ? NULL : vb[i];
    if (!r->null_key) snprintf(r->key, sizeof(r->key), "%s", kb[i]);
    if (!r->tombstone) snprintf(r->value, sizeof(r->value), "%s", vb[i]);
  }
  uint8_t buf[16384];
  size_t size = build_batch(buf, keys, values, count, ts, codec);
  struct plog_append_info info;
  ck_assert_int_eq(plog_append(log, buf, size, 0, ts, &info), 0);
  ck_assert_int_eq(info.base_offset, base);
}

/* One record per batch, n batches cycling over key_count keys. */
static void append_updates(struct plog *log, struct model *m, int n, int key_count, int64_t ts) {
  for (int i = 0; i < n; i++) {
    int k = i % key_count;
    append_recs(log, m, &k, NULL, 1, ts, RB_COMPRESSION_NONE);
  }
}

/* Every record of the log through plog_read, every batch validated (CRC, offsets increasing);
 * *codecs (may be NULL) ORs 1 << codec of each batch. */
static size_t collect(struct plog *log, struct rec *out, size_t max, unsigned *codecs) {
  int64_t offset = plog_log_start(log), end = plog_log_end(log), last = -1;
  uint8_t *buf = malloc(1 << 20), *inflated = malloc(1 << 20);
  size_t n = 0;
  while (offset < end) {
    struct plog_read_result r;
    ck_assert_int_eq(plog_read(log, offset, 1 << 20, PLOG_NEVER, &r), 0);
    ck_assert_uint_gt(r.size, 0);
    ck_assert_int_eq(pread(r.fd, buf, r.size, (off_t)r.position), (ssize_t)r.size);
    for (size_t pos = 0; pos < r.size;) {
      struct record_batch b;
      struct rb_record_iter it;
      struct rb_record rec;
      ck_assert_int_eq(rb_validate(buf + pos, r.size - pos, &b), RB_OK);
      ck_assert_int_gt(b.base_offset, last);
      if (codecs != NULL && b.record_count > 0) *codecs |= 1u << rb_compression(&b);
      if (rb_compression(&b) == RB_COMPRESSION_NONE) {
        ck_assert_int_eq(rb_records_begin(&it, &b), RB_OK);
      } else {
        size_t isz;
        ck_assert_int_eq(
            rb_decompress(rb_compression(&b), b.records, b.records_size, inflated, 1 << 20, &isz),
            RB_OK);
        rb_records_begin_inflated(&it, &b, inflated, isz);
      }
      int v;
      while ((v = rb_records_next(&it, &rec)) == RB_OK) {
        ck_assert_uint_lt(n, max);
        struct rec *o = &out[n++];
        memset(o, 0, sizeof(*o));
        o->offset = rec.offset;
        ck_assert_int_gt(rec.offset, last);
        last = rec.offset;
        o->null_key = rec.key == NULL;
        o->tombstone = rec.value == NULL;
        if (rec.key) snprintf(o->key, sizeof(o->key), "%.*s", rec.key_size, rec.key);
        if (rec.value) snprintf(o->value, sizeof(o->value), "%.*s", rec.value_size, rec.value);
        /* timestamps survive the rewrite (the tests stamp ts + index in batch, ts >= 1000) */
        ck_assert_int_ge(rec.timestamp, 1000);
      }
      ck_assert_int_eq(v, RB_END);
      last = rb_last_offset(&b);
      pos += rb_size(&b);
    }
    offset = r.next_offset;
    plog_read_release(&r);
  }
  free(buf);
  free(inflated);
  return n;
}

/* What a compacted log holds: below end, the latest record of each key in [0, end) (records
 * without a key stay), minus tombstones when drop_tombstones; everything from end on. */
static size_t expected(const struct model *m, int64_t end, bool drop_tombstones, struct rec *out) {
  size_t n = 0;
  for (size_t i = 0; i < m->n; i++) {
    const struct rec *r = &m->r[i];
    bool keep = true;
    if (r->offset < end && !r->null_key) {
      for (size_t j = i + 1; j < m->n && m->r[j].offset < end; j++)
        if (!m->r[j].null_key && strcmp(m->r[j].key, r->key) == 0) keep = false;
      if (keep && r->tombstone && drop_tombstones) keep = false;
    }
    if (keep) out[n++] = *r;
  }
  return n;
}

static void assert_same(const struct rec *a, size_t na, const struct rec *b, size_t nb) {
  ck_assert_uint_eq(na, nb);
  for (size_t i = 0; i < na; i++) {
    ck_assert_int_eq(a[i].offset, b[i].offset);
    ck_assert_str_eq(a[i].key, b[i].key);
    ck_assert_str_eq(a[i].value, b[i].value);
    ck_assert_int_eq(a[i].tombstone, b[i].tombstone);
    ck_assert_int_eq(a[i].null_key, b[i].null_key);
  }
}

static void ready(struct plog *log) {
  ck_assert_int_eq(plog_flush(log), 0);
  plog_set_high_watermark(log, plog_log_end(log));
}

/* The base offsets of the segments, from the directory, ascending. */
static size_t seg_bases(int64_t *bases, size_t max) {
  size_t n = 0;
  for (int64_t b = 0; b < 100000 && n < max; b++) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%020lld.log", part_dir(), (long long)b);
    if (access(path, F_OK) == 0) bases[n++] = b;
  }
  return n;
}

static char *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  char *buf = malloc(1 << 20);
  *size = fread(buf, 1, 1 << 20, f);
  fclose(f);
  return buf;
}

/* Kafka's defaults, with a 1 MiB dedupe buffer. */
static struct cleaner_config small_config(void) {
  struct cleaner_config cfg;
  cleaner_config_init(&cfg);
  cfg.dedupe_buffer_bytes = 1 << 20;
  return cfg;
}

static struct rec got[MODEL_MAX], want[MODEL_MAX];

/* A fresh log through io holding n single-record updates over key_count keys, below its high
 * watermark. */
static struct plog *updated_log(struct plog_open_args *a, struct storage_io *io, struct model *m,
                                int n, int key_count) {
  *a = small_args(io);
  struct plog *log = open_log(a);
  m->n = 0;
  append_updates(log, m, n, key_count, 5000);
  ready(log);
  return log;
}

/* ---- tests ---- */

START_TEST(many_updates_keep_only_the_latest_per_key_with_original_offsets) {
  static struct model m;
  struct plog_open_args a;
  struct plog *log = updated_log(&a, storage_io_posix(), &m, 200, 7);
  ck_assert_uint_gt(plog_segment_count(log), 4);
  /* the active segment's bytes, to compare after */
  int64_t bases[256];
  size_t nb = seg_bases(bases, 256);
  char active[512];
  snprintf(active, sizeof(active), "%s/%020lld.log", part_dir(), (long long)bases[nb - 1]);
  size_t active_size, active_size2;
  char *active_before = read_file(active, &active_size);

  struct cleaner_config cfg = small_config();
  struct cleaner_stats st;
  ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), 0);
  ck_assert_int_eq(st.first_dirty, 0);
  ck_assert_int_eq(st.cleaned_up_to, bases[nb - 1]);
  ck_assert_uint_gt(st.records_removed, 100);
  ck_assert_uint_gt(st.segments_cleaned, 0);
  ck_assert_uint_lt(st.bytes_written, st.bytes_read);

  size_t n = collect(log, got, MODEL_MAX, NULL);
  size_t w = expected(&m, st.cleaned_up_to, false, want);
  assert_same(got, n, want, w);
  ck_assert_uint_eq(st.records_kept + st.records_removed, (uint64_t)bases[nb - 1]);
  /* the active segment is untouched, the log's ends unchanged */
  char *active_after = read_file(active, &active_size2);
  ck_assert_uint_eq(active_size, active_size2);
  ck_assert_int_eq(memcmp(active_before, active_after, active_size), 0);
  free(active_before);
  free(active_after);
  ck_assert_int_eq(plog_log_end(log), 200);
  /* a removed offset reads from the next batch that remains */
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(log, 1, 1 << 20, PLOG_NEVER, &r), 0);
  ck_assert_int_ge(r.next_offset, 2);
  plog_read_release(&r);
  /* the checkpoint, in Kafka's format, in the log dir */
  char path[512];
  snprintf(path, sizeof(path), "%s/cleaner-offset-checkpoint", tmp_root);
  size_t csize;
  char *text = read_file(path, &csize);
  char expect[128];
  snprintf(expect, sizeof(expect), "0\n1\ntopic 0 %lld\n", (long long)st.cleaned_up_to);
  ck_assert_uint_eq(csize, strlen(expect));
  ck_assert_int_eq(memcmp(text, expect, csize), 0);
  free(text);
  /* and after a reopen (unclean: every segment scanned) it all reads the same */
  plog_close(log, false);
  a.clean_shutdown = false;
  log = open_log(&a);
  size_t n2 = collect(log, want, MODEL_MAX, NULL);
  assert_same(got, n, want, n2);
  plog_close(log, true);
}
END_TEST

START_TEST(a_second_pass_merges_and_a_third_changes_nothing) {
  static struct model m;
  struct plog_open_args a;
  struct plog *log = updated_log(&a, storage_io_posix(), &m, 120, 5);
  struct cleaner_config cfg = small_config();
  struct cleaner_stats st;
  ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), 0);
  int64_t first_end = st.cleaned_up_to;
  size_t n = collect(log, got, MODEL_MAX, NULL), segments = plog_segment_count(log);
  /* the second pass merges the shrunken segments (Kafka's grouping by size), records unchanged */
  ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), 0);
  ck_assert_int_eq(st.first_dirty, first_end);
  ck_assert_int_eq(st.cleaned_up_to, first_end);
  ck_assert_uint_eq(st.records_removed, 0);
  ck_assert_uint_gt(st.segments_cleaned, 1);
  ck_assert_uint_lt(plog_segment_count(log), segments);
  size_t n2 = collect(log, want, MODEL_MAX, NULL);
  assert_same(got, n, want, n2);
  /* the third one has nothing left to do */
  ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), 0);
  ck_assert_uint_eq(st.records_removed, 0);
  ck_assert_uint_eq(st.segments_cleaned, 0);
  ck_assert_uint_eq(st.bytes_written, 0);
  n2 = collect(log, want, MODEL_MAX, NULL);
  assert_same(got, n, want, n2);
  /* a forgotten checkpoint (the log's deletion) makes the whole log dirty again */
  int64_t checkpointed;
  ck_assert_int_eq(cleaner_checkpoint_read(log, &checkpointed), 0);
  ck_assert_int_eq(checkpointed, first_end);
  ck_assert_int_eq(cleaner_checkpoint_forget(log), 0);
  ck_assert_int_eq(cleaner_checkpoint_read(log, &checkpointed), -ENOENT);
  ck_assert_int_eq(cleaner_checkpoint_forget(log), 0);
  ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), 0);
  ck_assert_int_eq(st.first_dirty, 0);
  ck_assert_int_eq(st.cleaned_up_to, first_end);
  /* new updates: the next pass maps only them but still cleans the older segments */
  append_updates(log, &m, 60, 5, 6000);
  ready(log);
  ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), 0);
  ck_assert_int_eq(st.first_dirty, first_end); /* where the first pass stopped */
  ck_assert_int_gt(st.cleaned_up_to, first_end);
  n = collect(log, got, MODEL_MAX, NULL);
  size_t w = expected(&m, st.cleaned_up_to, false, want);
  assert_same(got, n, want, w);
  plog_close(log, true);
}
END_TEST

START_TEST(tombstones_stay_until_delete_retention_after_first_clean) {
  static struct model m;
  m.n = 0;
  struct plog_open_args a = small_args(storage_io_posix());
  struct plog *log = open_log(&a);
  append_updates(log, &m, 30, 5, 5000);
  int k0 = 0;
  bool t = true;
  append_recs(log, &m, &k0, &t, 1, 5000, RB_COMPRESSION_NONE); /* offset 30: delete k0 */
  append_updates(log, &m, 40, 1, 5000); /* k0's values again, after its tombstone */
  ready(log);
  struct cleaner_config cfg = small_config();
  cfg.delete_retention_ms = 1000;
  struct cleaner_stats st;
  /* the tombstone at 30 is superseded by k0's later values: it goes like any old record */
  ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), 0);
  size_t n = collect(log, got, MODEL_MAX, NULL);
  assert_same(got, n, want, expected(&m, st.cleaned_up_to, false, want));
  plog_close(log, false);
  fresh_tmp_root();

  /* a tombstone that is the latest for its key */
  m.n = 0;
  a = small_args(storage_io_posix());
  log = open_log(&a);
  append_updates(log, &m, 30, 5, 5000);
  append_recs(log, &m, &k0, &t, 1, 5000, RB_COMPRESSION_NONE);
  for (int i = 0; i < 40; i++) {
    int k = 1 + i % 4;
    append_recs(log, &m, &k, NULL, 1, 5000, RB_COMPRESSION_NONE);
  }
  ready(log);
  ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), 0); /* horizon = 11000 */
  ck_assert_uint_eq(st.tombstones_removed, 0);
  n = collect(log, got, MODEL_MAX, NULL);
  assert_same(got, n, want, expected(&m, st.cleaned_up_to, false, want));
  bool found = false;
  for (size_t i = 0; i < n; i++) found |= got[i].offset == 30 && got[i].tombstone;
  ck_assert(found);
  /* before the horizon: still there */
  ck_assert_int_eq(cleaner_clean(log, &cfg, 10999, &st), 0);
  ck_assert_uint_eq(st.tombstones_removed, 0);
  ck_assert_uint_eq(collect(log, got, MODEL_MAX, NULL), n);
  /* at the horizon: gone, and nothing else */
  ck_assert_int_eq(cleaner_clean(log, &cfg, 11000, &st), 0);
  ck_assert_uint_eq(st.tombstones_removed, 1);
  n = collect(log, got, MODEL_MAX, NULL);
  assert_same(got, n, want, expected(&m, st.cleaned_up_to, true, want));
  for (size_t i = 0; i < n; i++) ck_assert_str_ne(got[i].key, "k0");
  plog_close(log, true);
}
END_TEST

START_TEST(min_compaction_lag_keeps_recent_segments_dirty) {
  static struct model m;
  struct plog_open_args a;
  struct plog *log = updated_log(&a, storage_io_posix(), &m, 100, 4);
  struct cleaner_config cfg = small_config();
  cfg.min_compaction_lag_ms = 10000;
  struct cleaner_stats st;
  struct cleaner_cleanable cl;
  ck_assert_int_eq(cleaner_cleanable(log, &cfg, 14000, &cl), 0);
  ck_assert(cl.ratio == 0.0);
  ck_assert_int_eq(cl.compaction_delay_ms, 0);
  cfg.max_compaction_lag_ms = 8000; /* the first batch (5000) is 1000 ms past it at 14000 */
  ck_assert_int_eq(cleaner_cleanable(log, &cfg, 14000, &cl), 0);
  ck_assert_int_eq(cl.compaction_delay_ms, 1000);
  cfg.max_compaction_lag_ms = INT64_MAX;
  ck_assert_int_eq(cleaner_clean(log, &cfg, 14000, &st), 0); /* records at 5000 > 14000 - 10000 */
  ck_assert_uint_eq(st.records_removed, 0);
  ck_assert_int_eq(st.cleaned_up_to, 0);
  ck_assert_uint_eq(collect(log, got, MODEL_MAX, NULL), 100);
  ck_assert_int_eq(cleaner_cleanable(log, &cfg, 15001, &cl), 0);
  ck_assert(cl.ratio == 1.0);
  ck_assert_uint_gt(cl.dirty_bytes, 0);
  ck_assert_int_eq(cleaner_clean(log, &cfg, 15001, &st), 0);
  ck_assert_uint_gt(st.records_removed, 0);
  size_t n = collect(log, got, MODEL_MAX, NULL);
  assert_same(got, n, want, expected(&m, st.cleaned_up_to, false, want));
  ck_assert_int_eq(cleaner_cleanable(log, &cfg, 15001, &cl), 0);
  ck_assert(cl.ratio == 0.0);
  ck_assert_uint_gt(cl.clean_bytes, 0);
  plog_close(log, true);
}
END_TEST

START_TEST(a_small_dedupe_buffer_cleans_in_several_passes) {
  static struct model m;
  struct plog_open_args a;
  struct plog *log = updated_log(&a, storage_io_posix(), &m, 300, 40);
  struct cleaner_config cfg;
  cleaner_config_init(&cfg);
  cfg.dedupe_buffer_bytes = 24 * 12; /* 12 slots, 10 keys */
  struct cleaner_stats st;
  int passes = 0;
  int64_t last = -1, goal = 0;
  int64_t bases[256];
  size_t nb = seg_bases(bases, 256);
  goal = bases[nb - 1];
  do {
    ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), 0);
    ck_assert_int_gt(st.cleaned_up_to, last);
    ck_assert_int_le(st.cleaned_up_to - st.first_dirty, 10);
    last = st.cleaned_up_to;
    passes++;
    size_t n = collect(log, got, MODEL_MAX, NULL);
    assert_same(got, n, want, expected(&m, st.cleaned_up_to, false, want));
  } while (last < goal && passes < 100);
  ck_assert_int_eq(last, goal);
  ck_assert_int_gt(passes, 10);
  /* one batch with more keys than the map holds cannot be cleaned */
  int keys[20];
  for (int i = 0; i < 20; i++) keys[i] = 100 + i;
  plog_close(log, true);
  fresh_tmp_root();
  a = small_args(storage_io_posix());
  log = open_log(&a);
  m.n = 0;
  for (int i = 0; i < 6; i++) append_recs(log, &m, keys, NULL, 20, 5000, RB_COMPRESSION_NONE);
  ready(log);
  ck_assert_uint_gt(plog_segment_count(log), 1);
  ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), -ENOBUFS);
  plog_close(log, true);
}
END_TEST

START_TEST(compressed_batches_are_filtered_and_recompressed) {
  static const int codecs[] = {RB_COMPRESSION_GZIP, RB_COMPRESSION_SNAPPY, RB_COMPRESSION_LZ4,
                               RB_COMPRESSION_ZSTD};
  for (size_t c = 0; c < 4; c++) {
    static struct model m;
    m.n = 0;
    fresh_tmp_root();
    struct plog_open_args a = small_args(storage_io_posix());
    struct plog *log = open_log(&a);
    for (int b = 0; b < 30; b++) {
      int keys[6];
      bool tomb[6] = {false};
      for (int i = 0; i < 6; i++) keys[i] = (b * 6 + i) % 9;
      keys[5] = -1; /* a record without a key: kept */
      tomb[2] = b % 7 == 3;
      append_recs(log, &m, keys, tomb, 6, 5000, codecs[c]);
    }
    ready(log);
    struct cleaner_config cfg = small_config();
    struct cleaner_stats st;
    ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), 0);
    ck_assert_uint_gt(st.records_removed, 0);
    unsigned seen = 0;
    size_t n = collect(log, got, MODEL_MAX, &seen);
    assert_same(got, n, want, expected(&m, st.cleaned_up_to, false, want));
    ck_assert_uint_eq(seen, 1u << codecs[c]); /* rebuilt with the same codec */
    plog_close(log, true);
  }
}
END_TEST

/* ---- crashes during a swap ---- */

struct crash {
  struct fault_io *f;
  enum cleaner_step at;
  int nth, seen;
  bool crashed;
  int64_t base; /* the segment being swapped at the crash */
};

static int crash_step(void *arg, enum cleaner_step s, int64_t base) {
  struct crash *c = arg;
  if (s != c->at || ++c->seen != c->nth) return 0;
  c->crashed = true;
  c->base = base;
  ck_assert_int_eq(fault_io_power_loss(c->f), 0);
  return -EIO;
}

START_TEST(a_crash_at_each_swap_step_leaves_each_segment_old_or_new) {
  static struct model m;
  static struct rec before[MODEL_MAX], after[MODEL_MAX];
  for (int at = CLEANER_STEP_CLEANED_WRITTEN; at <= CLEANER_STEP_CHECKPOINTED; at++) {
    for (int nth = 1; nth <= 2; nth++) {
      if (at == CLEANER_STEP_CHECKPOINTED && nth == 2) continue;
      fresh_tmp_root();
      struct fault_io *f;
      ck_assert_int_eq(fault_io_create(&f), 0);
      struct plog_open_args a;
      struct plog *log = updated_log(&a, fault_io_base(f), &m, 150, 6);
      int64_t bases[256];
      size_t nb = seg_bases(bases, 256);
      size_t nbefore = collect(log, before, MODEL_MAX, NULL);
      struct crash cr = {f, (enum cleaner_step)at, nth, 0, false, -1};
      struct cleaner_config cfg = small_config();
      cfg.test_step = crash_step;
      cfg.test_step_arg = &cr;
      struct cleaner_stats st;
      ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), -EIO);
      ck_assert(cr.crashed);
      plog_close(log, false);
      a.clean_shutdown = false;
      a.recovery_point = 0;
      log = open_log(&a);
      ck_assert_int_eq(plog_log_end(log), 150);
      size_t n = collect(log, got, MODEL_MAX, NULL);
      size_t nafter = expected(&m, bases[nb - 1], false, after);
      /* segment by segment: exactly the old records or exactly the cleaned ones */
      size_t gi = 0, bi = 0, ai = 0;
      for (size_t s = 0; s < nb; s++) {
        int64_t hi = s + 1 < nb ? bases[s + 1] : INT64_MAX;
        size_t g0 = gi, b0 = bi, a0 = ai;
        while (gi < n && got[gi].offset < hi) gi++;
        while (bi < nbefore && before[bi].offset < hi) bi++;
        while (ai < nafter && after[ai].offset < hi) ai++;
        bool as_before = gi - g0 == bi - b0, as_after = gi - g0 == ai - a0;
        for (size_t k = 0; as_before && k < gi - g0; k++)
          as_before = got[g0 + k].offset == before[b0 + k].offset &&
                      strcmp(got[g0 + k].value, before[b0 + k].value) == 0;
        for (size_t k = 0; as_after && k < gi - g0; k++)
          as_after = got[g0 + k].offset == after[a0 + k].offset &&
                     strcmp(got[g0 + k].value, after[a0 + k].value) == 0;
        ck_assert_msg(as_before || as_after, "step %d nth %d segment %lld is a mix", at, nth,
                      (long long)bases[s]);
        /* committed (.swap durable): recovery completes the swap; before that: the old one */
        if (bases[s] == cr.base && at == CLEANER_STEP_CLEANED_WRITTEN) ck_assert(as_before);
        if (bases[s] == cr.base && at > CLEANER_STEP_CLEANED_WRITTEN) ck_assert(as_after);
      }
      ck_assert_uint_eq(gi, n);
      /* nothing acknowledged is lost: the latest value of every key is there */
      for (int k = 0; k < 6; k++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", k);
        const struct rec *latest = NULL;
        for (size_t i = 0; i < m.n; i++)
          if (strcmp(m.r[i].key, key) == 0) latest = &m.r[i];
        bool present = false;
        for (size_t i = 0; i < n; i++) present |= got[i].offset == latest->offset;
        ck_assert(present);
      }
      /* a pass after the crash finishes the job */
      cfg.test_step = NULL;
      plog_set_high_watermark(log, plog_log_end(log)); /* an open starts it at the log start */
      ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), 0);
      n = collect(log, got, MODEL_MAX, NULL);
      assert_same(got, n, after, nafter);
      plog_close(log, true);
      fault_io_destroy(f);
    }
  }
}
END_TEST

/* What any reader of a log being compacted may see: records of the model at their own offsets,
 * in order, and at least the latest record of every key. */
static void assert_compacted_view(const struct model *m, const struct rec *g, size_t n) {
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    while (j < m->n && m->r[j].offset < g[i].offset) j++;
    ck_assert_uint_lt(j, m->n);
    ck_assert_int_eq(m->r[j].offset, g[i].offset);
    ck_assert_str_eq(m->r[j].value, g[i].value);
  }
  for (size_t i = 0; i < m->n; i++) {
    bool latest = true, present = false;
    for (size_t k = i + 1; k < m->n && latest; k++) latest = strcmp(m->r[k].key, m->r[i].key) != 0;
    for (size_t k = 0; k < n && latest && !present; k++) present = g[k].offset == m->r[i].offset;
    ck_assert_msg(!latest || present, "the latest record of %s is missing", m->r[i].key);
  }
}

START_TEST(a_crash_at_each_step_of_a_merge_leaves_the_log_whole) {
  static struct model m;
  for (int at = CLEANER_STEP_CLEANED_WRITTEN; at <= CLEANER_STEP_CHECKPOINTED; at++) {
    fresh_tmp_root();
    struct fault_io *f;
    ck_assert_int_eq(fault_io_create(&f), 0);
    struct plog_open_args a;
    struct plog *log = updated_log(&a, fault_io_base(f), &m, 150, 6);
    struct cleaner_config cfg = small_config();
    struct cleaner_stats st;
    ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), 0); /* shrinks the segments */
    ck_assert_int_eq(plog_flush(log), 0);
    size_t segments = plog_segment_count(log);
    struct crash cr = {f, (enum cleaner_step)at, 1, 0, false, -1};
    cfg.test_step = crash_step;
    cfg.test_step_arg = &cr;
    ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), -EIO); /* merges them */
    ck_assert(cr.crashed);
    plog_close(log, false);
    a.clean_shutdown = false;
    a.recovery_point = 0;
    log = open_log(&a);
    ck_assert_int_eq(plog_log_end(log), 150);
    size_t n = collect(log, got, MODEL_MAX, NULL);
    assert_compacted_view(&m, got, n);
    /* committed (.swap durable): the merge is complete after recovery */
    if (at > CLEANER_STEP_CLEANED_WRITTEN) ck_assert_uint_lt(plog_segment_count(log), segments);
    if (at == CLEANER_STEP_CLEANED_WRITTEN) ck_assert_uint_eq(plog_segment_count(log), segments);
    cfg.test_step = NULL;
    plog_set_high_watermark(log, plog_log_end(log));
    ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), 0);
    n = collect(log, got, MODEL_MAX, NULL);
    assert_same(got, n, want, expected(&m, st.cleaned_up_to, false, want));
    plog_close(log, true);
    fault_io_destroy(f);
  }
}
END_TEST

START_TEST(a_reader_keeps_its_old_segment_across_a_swap) {
  static struct model m;
  struct plog_open_args a;
  struct plog *log = updated_log(&a, storage_io_posix(), &m, 100, 3);
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(log, 0, 1 << 20, PLOG_NEVER, &r), 0);
  uint64_t size = r.size;
  uint8_t *before = malloc(size), *after = malloc(size);
  ck_assert_int_eq(pread(r.fd, before, size, (off_t)r.position), (ssize_t)size);
  struct cleaner_config cfg = small_config();
  struct cleaner_stats st;
  ck_assert_int_eq(cleaner_clean(log, &cfg, 10000, &st), 0);
  ck_assert_uint_gt(st.segments_cleaned, 0);
  /* the in-flight read still sends the bytes it was given */
  ck_assert_int_eq(pread(r.fd, after, size, (off_t)r.position), (ssize_t)size);
  ck_assert_int_eq(memcmp(before, after, size), 0);
  plog_read_release(&r);
  free(before);
  free(after);
  plog_close(log, true);
}
END_TEST

/* ---- the cleaner's threads ---- */

static struct {
  pthread_mutex_t mu;
  int ok, cancelled, failed; /* passes by outcome */
  struct cleaner_stats last_ok;
} passes = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, {0}};

static void on_pass(void *arg, struct plog *log, int rc, const struct cleaner_stats *st) {
  (void)arg;
  (void)log;
  pthread_mutex_lock(&passes.mu);
  if (rc == 0) {
    passes.ok++;
    passes.last_ok = *st;
  } else if (rc == -ECANCELED) {
    passes.cancelled++;
  } else if (rc != -EAGAIN) {
    passes.failed++;
  }
  pthread_mutex_unlock(&passes.mu);
}

static void passes_reset(void) {
  pthread_mutex_lock(&passes.mu);
  passes.ok = passes.cancelled = passes.failed = 0;
  pthread_mutex_unlock(&passes.mu);
}

static int passes_ok(void) {
  pthread_mutex_lock(&passes.mu);
  int n = passes.ok;
  pthread_mutex_unlock(&passes.mu);
  return n;
}

static int64_t fixed_now(void) { return 10000; }

static struct log_cleaner *start_cleaner(double io_rate) {
  struct log_cleaner_config c = {
      .threads = 1,
      .dedupe_buffer_bytes = 1 << 20,
      .io_max_bytes_per_second = io_rate,
      .backoff_ms = 20,
      .now_ms = fixed_now,
      .on_pass = on_pass,
  };
  struct log_cleaner *lc;
  passes_reset();
  ck_assert_int_eq(log_cleaner_start(&c, &lc), 0);
  return lc;
}

static const struct log_cleaner_settings default_settings = {0.5, 0, INT64_MAX, 86400000};
/* never due by its ratio: a ratio is never above 1 */
static const struct log_cleaner_settings never_due = {1.0, 0, INT64_MAX, 86400000};

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Polls for a successful pass for up to 20 s. */
static void wait_ok_pass(void) {
  double until = seconds_now() + 20;
  while (passes_ok() == 0 && seconds_now() < until) usleep(10000);
  ck_assert_int_gt(passes_ok(), 0);
}

/* Whether the partition directory holds a file ending in suffix. */
static bool dir_has(const char *suffix) {
  DIR *d = opendir(part_dir());
  struct dirent *e;
  bool found = false;
  while (d != NULL && (e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name), k = strlen(suffix);
    found |= n >= k && strcmp(e->d_name + n - k, suffix) == 0;
  }
  if (d != NULL) closedir(d);
  return found;
}

START_TEST(the_cleaner_thread_compacts_a_registered_log) {
  static struct model m;
  struct plog_open_args a;
  struct plog *log = updated_log(&a, storage_io_posix(), &m, 300, 5);
  struct log_cleaner *lc = start_cleaner(1e308);
  ck_assert_int_eq(log_cleaner_add(lc, log, &default_settings), 0);
  wait_ok_pass();
  log_cleaner_remove(lc, log);
  struct cleaner_stats st = passes.last_ok;
  ck_assert_uint_gt(st.segments_cleaned, 0);
  size_t n = collect(log, got, MODEL_MAX, NULL);
  assert_same(got, n, want, expected(&m, st.cleaned_up_to, false, want));
  /* the ratio is now below min.cleanable.dirty.ratio: no further pass */
  passes_reset();
  ck_assert_int_eq(log_cleaner_add(lc, log, &default_settings), 0);
  usleep(200000);
  ck_assert_int_eq(passes_ok(), 0);
  log_cleaner_stop(lc);
  plog_close(log, true);
}
END_TEST

START_TEST(removing_a_log_aborts_its_pass_and_waits_for_it) {
  static struct model m;
  struct plog_open_args a;
  struct plog *log =
      updated_log(&a, storage_io_posix(), &m, 3000, 7); /* about 200 KB: 10 s or more at 20 KB/s */
  struct log_cleaner *lc = start_cleaner(20000);
  ck_assert_int_eq(log_cleaner_add(lc, log, &default_settings), 0);
  usleep(700000);
  double t0 = seconds_now();
  log_cleaner_remove(lc, log);
  double took = seconds_now() - t0;
  ck_assert_msg(took < 2.0, "remove took %.2f s", took);
  pthread_mutex_lock(&passes.mu);
  ck_assert_int_eq(passes.cancelled, 1);
  ck_assert_int_eq(passes.ok, 0);
  pthread_mutex_unlock(&passes.mu);
  ck_assert(!dir_has(".cleaned") && !dir_has(".swap"));
  size_t n = collect(log, got, MODEL_MAX, NULL);
  assert_compacted_view(&m, got, n);
  log_cleaner_stop(lc);
  plog_close(log, true);
  /* what is on disk is as whole after a reopen */
  a.clean_shutdown = true;
  log = open_log(&a);
  n = collect(log, got, MODEL_MAX, NULL);
  assert_compacted_view(&m, got, n);
  plog_close(log, true);
}
END_TEST

START_TEST(a_paused_log_is_left_alone_until_resumed) {
  static struct model m;
  struct plog_open_args a;
  struct plog *log = updated_log(&a, storage_io_posix(), &m, 300, 5);
  struct log_cleaner *lc = start_cleaner(1e308);
  ck_assert_int_eq(log_cleaner_add(lc, log, &never_due), 0);
  log_cleaner_pause(lc, log);
  ck_assert_int_eq(log_cleaner_add(lc, log, &default_settings), 0); /* due, but paused */
  usleep(300000);
  ck_assert_int_eq(passes_ok(), 0);
  log_cleaner_resume(lc, log);
  wait_ok_pass();
  log_cleaner_stop(lc); /* logs still registered are forgotten */
  size_t n = collect(log, got, MODEL_MAX, NULL);
  assert_same(got, n, want, expected(&m, passes.last_ok.cleaned_up_to, false, want));
  plog_close(log, true);
}
END_TEST

START_TEST(io_max_bytes_per_second_slows_a_pass_down) {
  static struct model m;
  struct plog_open_args a;
  struct plog *log = updated_log(&a, storage_io_posix(), &m, 1500, 7);
  double rate = 100000, t0 = seconds_now();
  struct log_cleaner *lc = start_cleaner(rate);
  ck_assert_int_eq(log_cleaner_add(lc, log, &default_settings), 0);
  wait_ok_pass();
  double took = seconds_now() - t0;
  struct cleaner_stats st = passes.last_ok;
  /* every byte but the last 10 ms' worth waited for its turn */
  double floor_s = (double)(st.bytes_read + st.bytes_written) / rate - 0.01;
  ck_assert_msg(took >= floor_s, "%llu bytes in %.2f s",
                (unsigned long long)(st.bytes_read + st.bytes_written), took);
  log_cleaner_stop(lc);
  plog_close(log, true);
}
END_TEST

START_TEST(max_compaction_lag_makes_a_log_due_below_the_ratio) {
  static struct model m;
  struct plog_open_args a;
  struct plog *log = updated_log(&a, storage_io_posix(), &m, 300, 5);
  struct log_cleaner *lc = start_cleaner(1e308);
  ck_assert_int_eq(log_cleaner_add(lc, log, &never_due), 0);
  usleep(200000);
  ck_assert_int_eq(passes_ok(), 0);
  struct log_cleaner_settings lagging = never_due;
  lagging.max_compaction_lag_ms = 1000; /* the batches (5000) are past it at 10000 */
  ck_assert_int_eq(log_cleaner_add(lc, log, &lagging), 0);
  wait_ok_pass();
  log_cleaner_stop(lc);
  plog_close(log, true);
}
END_TEST

START_TEST(reconfiguring_the_thread_count_restarts_the_threads) {
  static struct model m;
  struct plog_open_args a;
  struct plog *log = updated_log(&a, storage_io_posix(), &m, 300, 5);
  struct log_cleaner *lc = start_cleaner(1e308);
  struct log_cleaner_config c = {.threads = 0,
                                 .dedupe_buffer_bytes = 1 << 20,
                                 .io_max_bytes_per_second = 1e308,
                                 .backoff_ms = 20,
                                 .now_ms = fixed_now,
                                 .on_pass = on_pass};
  ck_assert_int_eq(log_cleaner_reconfigure(lc, &c), 0); /* log.cleaner.enable=false */
  passes_reset();
  ck_assert_int_eq(log_cleaner_add(lc, log, &default_settings), 0);
  usleep(200000);
  ck_assert_int_eq(passes_ok(), 0);
  c.threads = 2;
  ck_assert_int_eq(log_cleaner_reconfigure(lc, &c), 0);
  wait_ok_pass();
  log_cleaner_stop(lc);
  plog_close(log, true);
}
END_TEST

static Suite *cleaner_suite(void) {
  Suite *s = suite_create("storage-cleaner");
  TCase *tc = tcase_create("cleaner");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, many_updates_keep_only_the_latest_per_key_with_original_offsets);
  tcase_add_test(tc, a_second_pass_merges_and_a_third_changes_nothing);
  tcase_add_test(tc, tombstones_stay_until_delete_retention_after_first_clean);
  tcase_add_test(tc, min_compaction_lag_keeps_recent_segments_dirty);
  tcase_add_test(tc, a_small_dedupe_buffer_cleans_in_several_passes);
  tcase_add_test(tc, compressed_batches_are_filtered_and_recompressed);
  tcase_add_test(tc, a_crash_at_each_swap_step_leaves_each_segment_old_or_new);
  tcase_add_test(tc, a_crash_at_each_step_of_a_merge_leaves_the_log_whole);
  tcase_add_test(tc, a_reader_keeps_its_old_segment_across_a_swap);
  tcase_add_test(tc, the_cleaner_thread_compacts_a_registered_log);
  tcase_add_test(tc, removing_a_log_aborts_its_pass_and_waits_for_it);
  tcase_add_test(tc, a_paused_log_is_left_alone_until_resumed);
  tcase_add_test(tc, io_max_bytes_per_second_slows_a_pass_down);
  tcase_add_test(tc, max_compaction_lag_makes_a_log_due_below_the_ratio);
  tcase_add_test(tc, reconfiguring_the_thread_count_restarts_the_threads);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(cleaner_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
