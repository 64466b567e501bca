/* Unit tests of what the partition log keeps beside its segments: the producer state wired into
 * appends, recovery, truncation and retention (plog.c with producer_state.c). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_build.h"
#include "checkpoint.h"
#include "epoch_cache.h"
#include "errors.h"
#include "io_fault.h"
#include "plog.h"
#include "producer_state.h"
#include "record_batch.h"

/* ---- helpers ---- */

static char tmp_root[256];

static void setup(void) { test_tmpdir_create(tmp_root, sizeof(tmp_root), "plog-state"); }

static void teardown(void) { test_tmpdir_remove(tmp_root); }

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
  a.config.index_interval_bytes = 256;
  a.config.index_size_max = 4096;
  a.config.retention_ms = -1;
  a.now_ms = 1000;
  return a;
}

static struct plog *open_log(const struct plog_open_args *a) {
  struct plog *log = NULL;
  ck_assert_int_eq(plog_open(a, &log), 0);
  return log;
}

/* A batch of count records (20-byte values, timestamps ts) of producer pid; pid -1: none. */
static size_t producer_batch(uint8_t *buf, int64_t pid, int16_t epoch, int32_t seq, int count,
                             bool txn, int64_t ts) {
  struct test_batch t = test_batch_plain(count, ts, 0, 20);
  t.producer_id = pid;
  t.producer_epoch = pid >= 0 ? epoch : -1;
  t.base_sequence = pid >= 0 ? seq : -1;
  t.transactional = txn;
  return test_batch_build(buf, &t);
}

/* An end-transaction marker of pid (commit or abort). */
static size_t marker_batch(uint8_t *buf, int64_t pid, int16_t epoch, bool commit, int64_t ts) {
  struct test_batch t = test_batch_plain(1, ts, 0, 0);
  t.producer_id = pid;
  t.producer_epoch = epoch;
  t.control = true;
  t.control_type = commit ? 1 : 0;
  t.coordinator_epoch = 4;
  return test_batch_build(buf, &t);
}

static int32_t produce_leader_epoch; /* what produce() stamps */

/* Appends a producer batch as a leader; returns plog_append's result with *info filled. */
static int produce(struct plog *log, int64_t pid, int16_t epoch, int32_t seq, int count,
                   struct plog_append_info *info) {
  uint8_t buf[4096];
  size_t size = producer_batch(buf, pid, epoch, seq, count, false, 1000);
  return plog_append(log, buf, size, produce_leader_epoch, 1000, info);
}

/* Every stored byte from the log start to the log end (malloc'd). */
static uint8_t *read_log(struct plog *log, size_t *size_out) {
  size_t cap = 1 << 16, size = 0;
  uint8_t *all = malloc(cap);
  int64_t offset = plog_log_start(log), end = plog_log_end(log);
  while (offset < end) {
    struct plog_read_result r;
    ck_assert_int_eq(plog_read(log, offset, 1 << 20, PLOG_NEVER, &r), 0);
    ck_assert_uint_gt(r.size, 0);
    while (size + r.size > cap) all = realloc(all, cap *= 2);
    ck_assert_int_eq(pread(r.fd, all + size, r.size, (off_t)r.position), (ssize_t)r.size);
    size += r.size;
    offset = r.next_offset;
    plog_read_release(&r);
  }
  *size_out = size;
  return all;
}

/* Whether the log's producer state equals one rebuilt by replaying the whole log from scratch. */
static bool state_matches_log(struct plog *log) {
  char dir[400];
  snprintf(dir, sizeof(dir), "%s/reference", tmp_root);
  mkdir(dir, 0755);
  struct pstate *ref;
  ck_assert_int_eq(pstate_create(storage_io_posix(), dir, PSTATE_EXPIRATION_MS_DEFAULT, &ref), 0);
  size_t size;
  uint8_t *all = read_log(log, &size);
  ck_assert_int_eq(pstate_replay(ref, all, size), 0);
  bool equal = pstate_equal(plog_producer_state(log), ref);
  pstate_free(ref);
  free(all);
  return equal;
}

/* Whether every stored batch's partitionLeaderEpoch is what the epoch cache says for it. */
static bool epochs_match_log(struct plog *log) {
  size_t size;
  uint8_t *all = read_log(log, &size);
  bool ok = true;
  for (size_t pos = 0; pos < size && ok;) {
    struct record_batch b;
    ck_assert_int_eq(rb_parse_header(all + pos, size - pos, &b), RB_OK);
    int32_t e;
    ck_assert_int_eq(plog_epoch_for_offset(log, b.base_offset, &e), 0);
    ok = e == b.partition_leader_epoch;
    pos += rb_size(&b);
  }
  free(all);
  return ok;
}

/* Number of *.snapshot files in the partition dir; *max the largest offset among them. */
static int count_snapshots(int64_t *max) {
  DIR *d = opendir(part_dir());
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  int n = 0;
  if (max != NULL) *max = -1;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len == 29 && strcmp(e->d_name + 20, ".snapshot") == 0) {
      n++;
      int64_t off = strtoll(e->d_name, NULL, 10);
      if (max != NULL && off > *max) *max = off;
    }
  }
  closedir(d);
  return n;
}

static void delete_snapshots(void) {
  DIR *d = opendir(part_dir());
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  char path[700];
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len > 9 && strcmp(e->d_name + len - 9, ".snapshot") == 0) {
      snprintf(path, sizeof(path), "%s/%s", part_dir(), e->d_name);
      ck_assert_int_eq(unlink(path), 0);
    }
  }
  closedir(d);
}

/* ---- producer state ---- */

START_TEST(retry_after_restart_is_a_duplicate_from_snapshot_and_from_replay) {
  struct plog_open_args a = small_args(storage_io_posix());
  struct plog *log = open_log(&a);
  struct plog_append_info info;
  int64_t first[40];
  for (int i = 0; i < 40; i++) {
    ck_assert_int_eq(produce(log, 7, 0, 3 * i, 3, &info), 0);
    ck_assert(!info.duplicate);
    first[i] = info.base_offset;
    ck_assert_int_eq(first[i], 3 * i);
  }
  ck_assert_uint_gt(plog_segment_count(log), 4); /* rolls took snapshots */
  ck_assert_int_gt(count_snapshots(NULL), 3);
  int64_t end = plog_log_end(log);

  /* a retry of one of the last 5 batches: nothing appended, the original offsets */
  ck_assert_int_eq(produce(log, 7, 0, 3 * 39, 3, &info), 0);
  ck_assert(info.duplicate);
  ck_assert_int_eq(info.base_offset, first[39]);
  ck_assert_int_eq(info.last_offset, first[39] + 2);
  ck_assert_int_eq(info.duplicate_timestamp, 1000);
  ck_assert_int_eq(plog_log_end(log), end);
  ck_assert_int_eq(produce(log, 7, 0, 3 * 36, 3, &info), 0);
  ck_assert(info.duplicate);
  ck_assert_int_eq(info.base_offset, first[36]);
  /* older than the last 5: out of order */
  ck_assert_int_eq(produce(log, 7, 0, 3 * 34, 3, &info), -EPROTO);
  ck_assert_int_eq(info.producer_result, PSTATE_OUT_OF_ORDER);
  ck_assert_int_eq(plog_log_end(log), end);

  /* clean close: a snapshot at the log end, nothing to replay */
  ck_assert_int_eq(plog_close(log, true), 0);
  int64_t max_snap;
  count_snapshots(&max_snap);
  ck_assert_int_eq(max_snap, end);
  a.clean_shutdown = true;
  log = open_log(&a);
  ck_assert_int_eq(produce(log, 7, 0, 3 * 39, 3, &info), 0);
  ck_assert(info.duplicate);
  ck_assert_int_eq(info.base_offset, first[39]);
  ck_assert(state_matches_log(log));

  /* two more batches after the last snapshot, then an unclean stop: snapshot + replay */
  ck_assert_int_eq(produce(log, 7, 0, 120, 3, &info), 0);
  int64_t at120 = info.base_offset;
  ck_assert_int_eq(produce(log, 7, 0, 123, 2, &info), 0);
  int64_t at123 = info.base_offset;
  plog_close(log, false);
  a.clean_shutdown = false;
  a.recovery_point = 0;
  log = open_log(&a);
  ck_assert(state_matches_log(log));
  ck_assert_int_eq(produce(log, 7, 0, 123, 2, &info), 0);
  ck_assert(info.duplicate);
  ck_assert_int_eq(info.base_offset, at123);
  ck_assert_int_eq(produce(log, 7, 0, 120, 3, &info), 0);
  ck_assert(info.duplicate);
  ck_assert_int_eq(info.base_offset, at120);
  plog_close(log, false);

  /* no snapshot at all: the whole log is replayed */
  delete_snapshots();
  ck_assert_int_eq(count_snapshots(NULL), 0);
  log = open_log(&a);
  ck_assert(state_matches_log(log));
  ck_assert_int_eq(produce(log, 7, 0, 123, 2, &info), 0);
  ck_assert(info.duplicate);
  ck_assert_int_eq(info.base_offset, at123);
  ck_assert_int_eq(produce(log, 7, 0, 125, 1, &info), 0); /* the next one is new */
  ck_assert(!info.duplicate);
  ck_assert_int_eq(info.base_offset, end + 5);
  plog_close(log, true);
}
END_TEST

START_TEST(a_sequence_gap_is_out_of_order_and_appends_nothing) {
  struct plog_open_args a = small_args(storage_io_posix());
  struct plog *log = open_log(&a);
  struct plog_append_info info;
  ck_assert_int_eq(produce(log, 9, 0, 0, 2, &info), 0);
  ck_assert_int_eq(produce(log, -1, 0, 0, 2, &info), 0); /* no producer: no checks */
  int64_t end = plog_log_end(log);
  uint64_t size = plog_size(log);
  int rc = produce(log, 9, 0, 5, 2, &info); /* expected 2 */
  ck_assert_int_eq(rc, -EPROTO);
  ck_assert(!plog_is_disk_error(rc));
  ck_assert_int_eq(info.producer_result, PSTATE_OUT_OF_ORDER);
  ck_assert_int_eq(pstate_result_kafka_error(info.producer_result),
                   ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  ck_assert(!info.duplicate);
  ck_assert_int_eq(plog_log_end(log), end);
  ck_assert_uint_eq(plog_size(log), size);
  const struct pstate_entry *e = pstate_get(plog_producer_state(log), 9);
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(e->batch_count, 1);
  ck_assert_int_eq(e->batches[0].last_seq, 1);
  ck_assert_int_eq(produce(log, 9, 0, 2, 2, &info), 0);
  ck_assert_int_eq(info.base_offset, end);
  ck_assert_int_eq(pstate_map_end(plog_producer_state(log)), plog_log_end(log));
  plog_close(log, true);
}
END_TEST

START_TEST(an_old_epoch_and_a_bare_batch_inside_a_transaction_are_refused) {
  struct plog_open_args a = small_args(storage_io_posix());
  struct plog *log = open_log(&a);
  struct plog_append_info info;
  uint8_t buf[8192];
  ck_assert_int_eq(produce(log, 11, 1, 0, 2, &info), 0);
  int64_t end = plog_log_end(log);
  ck_assert_int_eq(produce(log, 11, 0, 2, 2, &info), -EPROTO);
  ck_assert_int_eq(info.producer_result, PSTATE_INVALID_EPOCH);
  ck_assert_int_eq(pstate_result_kafka_error(info.producer_result), ERR_INVALID_PRODUCER_EPOCH);
  ck_assert_int_eq(plog_log_end(log), end);
  /* a transaction opens; a non-transactional batch of the same producer is refused */
  size_t size = producer_batch(buf, 12, 0, 0, 2, true, 1000);
  ck_assert_int_eq(plog_append(log, buf, size, 0, 1000, &info), 0);
  int64_t txn_first = info.base_offset;
  ck_assert_int_eq(pstate_first_unstable_offset(plog_producer_state(log)), txn_first);
  ck_assert_int_eq(produce(log, 12, 0, 2, 1, &info), -EPROTO);
  ck_assert_int_eq(info.producer_result, PSTATE_INVALID_TXN_STATE);
  /* the marker (a control batch through the leader path) ends it */
  size = marker_batch(buf, 12, 0, true, 1000);
  ck_assert_int_eq(plog_append(log, buf, size, 0, 1000, &info), 0);
  ck_assert_int_eq(pstate_first_unstable_offset(plog_producer_state(log)), -1);
  ck_assert_int_eq(produce(log, 12, 0, 2, 1, &info), 0);
  /* a producer's data batch must come alone (Produce v3+) */
  end = plog_log_end(log);
  size = producer_batch(buf, 11, 1, 2, 2, false, 1000);
  size += producer_batch(buf + size, -1, 0, 0, 1, false, 1000);
  ck_assert_int_eq(plog_append(log, buf, size, 0, 1000, &info), -EINVAL);
  ck_assert_int_eq(plog_log_end(log), end);
  /* batches without a producer may still come several at a time */
  size = producer_batch(buf, -1, 0, 0, 2, false, 1000);
  size += producer_batch(buf + size, -1, 0, 0, 1, false, 1000);
  ck_assert_int_eq(plog_append(log, buf, size, 0, 1000, &info), 0);
  ck_assert_int_eq(plog_log_end(log), end + 3);
  ck_assert(state_matches_log(log));
  plog_close(log, true);
}
END_TEST

START_TEST(truncation_below_a_producers_batches_forgets_them) {
  struct plog_open_args a = small_args(storage_io_posix());
  struct plog *log = open_log(&a);
  struct plog_append_info info;
  for (int i = 0; i < 12; i++) ck_assert_int_eq(produce(log, 1, 0, 2 * i, 2, &info), 0);
  int64_t cut = plog_log_end(log);
  for (int i = 0; i < 12; i++) {
    ck_assert_int_eq(produce(log, 2, 0, 2 * i, 2, &info), 0);
    ck_assert_int_eq(produce(log, 1, 0, 24 + 2 * i, 2, &info), 0);
  }
  int64_t max_snap;
  count_snapshots(&max_snap);
  ck_assert_int_gt(max_snap, cut); /* rolls after the cut took snapshots */
  ck_assert_uint_eq(pstate_count(plog_producer_state(log)), 2);

  ck_assert_int_eq(plog_truncate(log, cut), 0);
  ck_assert_int_eq(plog_log_end(log), cut);
  const struct pstate *ps = plog_producer_state(log);
  ck_assert_ptr_null(pstate_get(ps, 2));
  const struct pstate_entry *e = pstate_get(ps, 1);
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(e->batches[e->batch_count - 1].last_seq, 23);
  ck_assert_int_eq(e->batches[e->batch_count - 1].last_offset, cut - 1);
  ck_assert_int_eq(pstate_map_end(ps), cut);
  count_snapshots(&max_snap);
  ck_assert_int_le(max_snap, cut);
  ck_assert(state_matches_log(log));
  /* producer 1 continues where the surviving log says; producer 2 starts afresh */
  ck_assert_int_eq(produce(log, 1, 0, 26, 2, &info), -EPROTO);
  ck_assert_int_eq(produce(log, 1, 0, 24, 2, &info), 0);
  ck_assert(!info.duplicate);
  ck_assert_int_eq(produce(log, 2, 0, 0, 2, &info), 0);
  ck_assert(!info.duplicate);
  plog_close(log, false);
  a.recovery_point = 0;
  log = open_log(&a);
  ck_assert(state_matches_log(log));

  /* a full truncation forgets everything, snapshots included */
  ck_assert_int_eq(plog_truncate(log, 0), 0);
  ck_assert_uint_eq(pstate_count(plog_producer_state(log)), 0);
  ck_assert_int_eq(count_snapshots(NULL), 0);
  ck_assert_int_eq(produce(log, 1, 0, 30, 2, &info), 0); /* unknown again: any sequence */
  plog_close(log, true);
}
END_TEST

START_TEST(replica_appends_follow_the_leaders_producers_unchecked) {
  struct plog_open_args a = small_args(storage_io_posix());
  struct plog *log = open_log(&a);
  uint8_t buf[4096];
  struct plog_append_info info;
  int64_t next = 0;
  /* sequences with a gap and an epoch going back: a follower takes what the leader wrote */
  int32_t seqs[4] = {0, 2, 10, 12};
  int16_t epochs[4] = {3, 3, 3, 2};
  for (int i = 0; i < 4; i++) {
    size_t size = producer_batch(buf, 5, epochs[i], seqs[i], 2, false, 1000);
    rb_set_base_offset(buf, next);
    ck_assert_int_eq(plog_append_replica(log, buf, size, 1000, &info), 0);
    next += 2;
  }
  const struct pstate_entry *e = pstate_get(plog_producer_state(log), 5);
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(e->epoch, 2);
  ck_assert_int_eq(e->batch_count, 1);
  ck_assert_int_eq(e->batches[0].first_offset, 6);
  /* a transaction and its marker, replicated */
  size_t size = producer_batch(buf, 6, 0, 0, 2, true, 1000);
  rb_set_base_offset(buf, next);
  size_t size2 = marker_batch(buf + size, 6, 0, false, 1000);
  rb_set_base_offset(buf + size, next + 2);
  ck_assert_int_eq(plog_append_replica(log, buf, size + size2, 1000, &info), 0);
  ck_assert_int_eq(pstate_first_unstable_offset(plog_producer_state(log)), -1);
  ck_assert_int_eq(pstate_get(plog_producer_state(log), 6)->coordinator_epoch, 4);
  ck_assert_int_eq(pstate_map_end(plog_producer_state(log)), next + 3);
  ck_assert(state_matches_log(log));
  plog_close(log, true);
}
END_TEST

START_TEST(idle_producers_expire_and_retention_drops_old_snapshots) {
  struct plog_open_args a = small_args(storage_io_posix());
  a.config.producer_id_expiration_ms = 5000;
  struct plog *log = open_log(&a);
  struct plog_append_info info;
  for (int i = 0; i < 60; i++) ck_assert_int_eq(produce(log, 20 + i % 3, 0, i / 3, 1, &info), 0);
  ck_assert_uint_eq(pstate_count(plog_producer_state(log)), 3);
  size_t expired;
  ck_assert_int_eq(plog_producer_expire(log, 5999, &expired), 0);
  ck_assert_uint_eq(expired, 0);
  ck_assert_int_eq(plog_producer_expire(log, 6000, &expired), 0); /* last timestamps 1000 */
  ck_assert_uint_eq(expired, 3);
  ck_assert_uint_eq(pstate_count(plog_producer_state(log)), 0);
  /* an expired producer is unknown: any sequence is accepted */
  ck_assert_int_eq(produce(log, 20, 0, 77, 1, &info), 0);

  /* retention: snapshots below the oldest remaining segment go */
  int n_before = count_snapshots(NULL);
  ck_assert_int_gt(n_before, 2);
  plog_set_high_watermark(log, plog_log_end(log));
  ck_assert_int_eq(plog_advance_log_start(log, plog_log_end(log) - 1), 0);
  size_t deleted;
  ck_assert_int_eq(plog_retention_run(log, 1000, &deleted), 0);
  ck_assert_uint_gt(deleted, 0);
  DIR *d = opendir(part_dir());
  struct dirent *e;
  int64_t oldest = INT64_MAX;
  while ((e = readdir(d)) != NULL)
    if (strlen(e->d_name) == 24 && strcmp(e->d_name + 20, ".log") == 0) {
      int64_t base = strtoll(e->d_name, NULL, 10);
      if (base < oldest) oldest = base;
    }
  closedir(d);
  d = opendir(part_dir());
  while ((e = readdir(d)) != NULL)
    if (strlen(e->d_name) == 29 && strcmp(e->d_name + 20, ".snapshot") == 0)
      ck_assert_int_ge(strtoll(e->d_name, NULL, 10), oldest);
  closedir(d);
  ck_assert_int_lt(count_snapshots(NULL), n_before);
  plog_close(log, true);
}
END_TEST

/* Producers 30..33 append in turns; seq[] holds each one's next sequence. */
static void produce_round(struct plog *log, int32_t *seq, int n) {
  struct plog_append_info info;
  for (int i = 0; i < n; i++) {
    int p = i % 4;
    int count = 1 + i % 3;
    ck_assert_int_eq(produce(log, 30 + p, 0, seq[p], count, &info), 0);
    seq[p] += count;
  }
}

START_TEST(power_loss_keeps_producer_state_consistent_with_the_surviving_log) {
  struct fault_io *f;
  ck_assert_int_eq(fault_io_create(&f), 0);
  struct plog_open_args a = small_args(fault_io_base(f));
  int32_t seq[4] = {0, 0, 0, 0};
  for (int round = 0; round < 6; round++) {
    struct plog *log = open_log(&a);
    produce_leader_epoch = round; /* a new leader epoch each round */
    /* where each producer stands after recovery: the surviving log decides */
    const struct pstate *ps = plog_producer_state(log);
    for (int p = 0; p < 4; p++) {
      const struct pstate_entry *e = pstate_get(ps, 30 + p);
      seq[p] = e == NULL ? 0 : e->batches[e->batch_count - 1].last_seq + 1;
    }
    produce_round(log, seq, 20 + 5 * round);
    ck_assert_int_eq(plog_flush(log), 0);
    int64_t durable = plog_durable_end(log);
    produce_round(log, seq, 7 + round); /* rolls and snapshots may happen here, unsynced */
    ck_assert_int_eq(fault_io_power_loss(f), 0);
    plog_close(log, false);
    a.clean_shutdown = false;
    a.recovery_point = 0;
    log = open_log(&a);
    ck_assert_int_ge(plog_log_end(log), durable);
    ck_assert(state_matches_log(log));
    ck_assert(epochs_match_log(log));
    ck_assert_int_eq(pstate_map_end(plog_producer_state(log)), plog_log_end(log));
    /* the last surviving batch of each producer is a duplicate when retried */
    ps = plog_producer_state(log);
    for (int p = 0; p < 4; p++) {
      const struct pstate_entry *e = pstate_get(ps, 30 + p);
      if (e == NULL) continue;
      const struct pstate_batch *b = &e->batches[e->batch_count - 1];
      struct plog_append_info info;
      ck_assert_int_eq(produce(log, 30 + p, 0, b->first_seq, b->last_seq - b->first_seq + 1, &info),
                       0);
      ck_assert(info.duplicate);
      ck_assert_int_eq(info.base_offset, b->first_offset);
    }
    plog_close(log, round % 2 == 0);
    a.clean_shutdown = round % 2 == 0;
  }
  produce_leader_epoch = 0;
  fault_io_destroy(f);
}
END_TEST

START_TEST(enospc_at_a_roll_snapshot_fails_the_append_and_changes_nothing) {
  struct fault_io *f;
  ck_assert_int_eq(fault_io_create(&f), 0);
  struct plog_open_args a = small_args(fault_io_base(f));
  a.config.segment_bytes = 1 << 20;
  a.config.segment_ms = 100; /* a batch 100 ms newer than the segment's first one rolls */
  struct plog *log = open_log(&a);
  struct plog_append_info info;
  for (int i = 0; i < 3; i++) ck_assert_int_eq(produce(log, 40, 0, i, 1, &info), 0);
  int64_t end = plog_log_end(log);
  int snaps = count_snapshots(NULL);
  uint8_t buf[4096];
  size_t size = producer_batch(buf, 40, 0, 3, 1, false, 5000);
  fault_io_set_write_error(f, ENOSPC);
  int rc = plog_append(log, buf, size, 0, 1000, &info);
  ck_assert_int_eq(rc, -ENOSPC);
  ck_assert(plog_is_disk_error(rc));
  ck_assert_uint_eq(plog_segment_count(log), 1);
  ck_assert_int_eq(plog_log_end(log), end);
  ck_assert_int_eq(count_snapshots(NULL), snaps);
  ck_assert_int_eq(pstate_map_end(plog_producer_state(log)), end);
  ck_assert_int_eq(pstate_get(plog_producer_state(log), 40)->batches[2].last_seq, 2);
  fault_io_set_write_error(f, 0);
  /* space is back: the same batch rolls, with its snapshot named by the new base */
  ck_assert_int_eq(plog_append(log, buf, size, 0, 1000, &info), 0);
  ck_assert(!info.duplicate);
  ck_assert_uint_eq(plog_segment_count(log), 2);
  int64_t max_snap;
  ck_assert_int_eq(count_snapshots(&max_snap), snaps + 1);
  ck_assert_int_eq(max_snap, end);
  ck_assert(state_matches_log(log));
  plog_close(log, true);
  fault_io_destroy(f);
}
END_TEST

/* ---- leader epochs ---- */

/* The cache's entries as "e:s e:s ..." for compact comparisons. */
static const char *entries_str(const struct epoch_cache *c) {
  static char buf[512];
  size_t n;
  const struct ckpt_epoch *e = epoch_cache_entries(c, &n);
  buf[0] = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(buf);
    snprintf(buf + len, sizeof(buf) - len, "%s%d:%lld", i ? " " : "", (int)e[i].epoch,
             (long long)e[i].start_offset);
  }
  return buf;
}

static struct epoch_cache *cache_open(bool expect_rebuild) {
  struct epoch_cache *c;
  bool rebuild;
  ck_assert_int_eq(epoch_cache_open(storage_io_posix(), tmp_root, &c, &rebuild), 0);
  ck_assert(rebuild == expect_rebuild);
  return c;
}

static void cache_set(struct epoch_cache *c, const int32_t *epochs, const int64_t *starts, int n) {
  epoch_cache_clear(c);
  for (int i = 0; i < n; i++) ck_assert_int_eq(epoch_cache_assign(c, epochs[i], starts[i]), 1);
}

static void expect_end(const struct epoch_cache *c, int32_t requested, int32_t epoch, int64_t end) {
  int32_t e;
  int64_t o;
  epoch_cache_end_offset_for(c, requested, 40, &e, &o);
  ck_assert_msg(e == epoch && o == end, "epoch %d: got (%d, %lld), want (%d, %lld)", (int)requested,
                (int)e, (long long)o, (int)epoch, (long long)end);
}

static char *read_text(const char *path) {
  char *text;
  ck_assert_int_eq(sio_read_all(storage_io_posix(), path, 4096, &text, NULL), 0);
  return text;
}

START_TEST(epoch_cache_follows_kafkas_assign_and_truncation_rules) {
  struct epoch_cache *c = cache_open(true); /* no file yet */
  ck_assert_int_eq(epoch_cache_latest_epoch(c), EPOCH_CACHE_UNDEFINED_EPOCH);
  expect_end(c, 0, -1, -1); /* empty */
  ck_assert_int_eq(epoch_cache_assign(c, 0, 0), 1);
  ck_assert_int_eq(epoch_cache_assign(c, 0, 5), 0); /* same epoch, later start: nothing */
  ck_assert_int_eq(epoch_cache_assign(c, 1, 10), 1);
  ck_assert_int_eq(epoch_cache_assign(c, 3, 20), 1);
  ck_assert_int_eq(epoch_cache_assign(c, 3, 15), 1); /* same epoch, earlier start: replaced */
  ck_assert_str_eq(entries_str(c), "0:0 1:10 3:15");
  ck_assert_int_eq(epoch_cache_assign(c, 2, 12), 1); /* drops every epoch >= 2 */
  ck_assert_str_eq(entries_str(c), "0:0 1:10 2:12");
  ck_assert_int_eq(epoch_cache_assign(c, 5, 11), 1); /* drops every start >= 11 */
  ck_assert_str_eq(entries_str(c), "0:0 1:10 5:11");
  ck_assert_int_eq(epoch_cache_assign(c, -1, 3), -EINVAL);
  ck_assert_int_eq(epoch_cache_assign(c, 6, -3), -EINVAL);

  /* OffsetsForLeaderEpoch */
  const int32_t epochs[4] = {1, 2, 4, 5};
  const int64_t starts[4] = {0, 10, 20, 30};
  cache_set(c, epochs, starts, 4);
  expect_end(c, 5, 5, 40);  /* the latest: the log end */
  expect_end(c, 4, 4, 30);  /* the next epoch's start */
  expect_end(c, 3, 2, 20);  /* a gap: the largest epoch below, the next start */
  expect_end(c, 0, 0, 0);   /* below the earliest: the requested epoch, the first start */
  expect_end(c, 6, -1, -1); /* above every epoch */
  expect_end(c, -1, -1, -1);
  ck_assert_int_eq(epoch_cache_epoch_for_offset(c, 25), 4);
  ck_assert_int_eq(epoch_cache_epoch_for_offset(c, 20), 4);
  ck_assert_int_eq(epoch_cache_epoch_for_offset(c, 19), 2);
  ck_assert_int_eq(epoch_cache_epoch_for_offset(c, 100), 5);

  /* truncation from the end drops entries starting at or after it */
  ck_assert_int_eq(epoch_cache_truncate_from_end(c, 25), 1);
  ck_assert_str_eq(entries_str(c), "1:0 2:10 4:20");
  ck_assert_int_eq(epoch_cache_truncate_from_end(c, 21), 0);
  ck_assert_int_eq(epoch_cache_truncate_from_end(c, 20), 1);
  ck_assert_str_eq(entries_str(c), "1:0 2:10");
  /* from the start: the entry covering the new start stays, moved to it */
  cache_set(c, epochs, starts, 4);
  ck_assert_int_eq(epoch_cache_truncate_from_start(c, 15), 1);
  ck_assert_str_eq(entries_str(c), "2:15 4:20 5:30");
  ck_assert_int_eq(epoch_cache_truncate_from_start(c, 15), 0);
  ck_assert_int_eq(epoch_cache_truncate_from_start(c, 5), 0);
  ck_assert_int_eq(epoch_cache_truncate_from_start(c, 20), 1);
  ck_assert_str_eq(entries_str(c), "4:20 5:30");
  ck_assert_int_eq(epoch_cache_truncate_from_start(c, 35), 1);
  ck_assert_str_eq(entries_str(c), "5:35");

  /* the file: Kafka's format, written atomically, read back */
  cache_set(c, epochs, starts, 4);
  ck_assert_int_eq(epoch_cache_flush(c), 0);
  char path[400];
  snprintf(path, sizeof(path), "%s/%s", tmp_root, CKPT_LEADER_EPOCH);
  char *text = read_text(path);
  ck_assert_str_eq(text, "0\n4\n1 0\n2 10\n4 20\n5 30\n");
  free(text);
  epoch_cache_free(c);
  c = cache_open(false);
  ck_assert_str_eq(entries_str(c), "1:0 2:10 4:20 5:30");
  epoch_cache_free(c);
  /* a malformed file: empty, to be rebuilt; rewritten by the next flush */
  FILE *fp = fopen(path, "w");
  fputs("0\n2\n1 0\nbad\n", fp);
  fclose(fp);
  c = cache_open(true);
  ck_assert_str_eq(entries_str(c), "");
  ck_assert_int_eq(epoch_cache_flush(c), 0);
  text = read_text(path);
  ck_assert_str_eq(text, "0\n0\n");
  free(text);
  epoch_cache_free(c);
  /* entries that do not increase keep their monotonic tail (and the file is rewritten) */
  fp = fopen(path, "w");
  fputs("0\n3\n1 0\n4 20\n3 30\n", fp);
  fclose(fp);
  c = cache_open(false);
  ck_assert_str_eq(entries_str(c), "1:0 3:30");
  ck_assert_int_eq(epoch_cache_flush(c), 0);
  text = read_text(path);
  ck_assert_str_eq(text, "0\n2\n1 0\n3 30\n");
  free(text);
  epoch_cache_free(c);
}
END_TEST

static void epoch_file(char *text_out, size_t size) {
  char path[400];
  snprintf(path, sizeof(path), "%s/%s", part_dir(), CKPT_LEADER_EPOCH);
  char *text = read_text(path);
  snprintf(text_out, size, "%s", text);
  free(text);
}

static void expect_log_end(struct plog *log, int32_t requested, int32_t epoch, int64_t end) {
  int32_t e;
  int64_t o;
  ck_assert_int_eq(plog_end_offset_for_epoch(log, requested, &e, &o), 0);
  ck_assert_msg(e == epoch && o == end, "epoch %d: got (%d, %lld), want (%d, %lld)", (int)requested,
                (int)e, (long long)o, (int)epoch, (long long)end);
}

/* Appends n plain batches of 3 records as leader of epoch. */
static void lead(struct plog *log, int32_t epoch, int n) {
  uint8_t buf[4096];
  for (int i = 0; i < n; i++) {
    size_t size = producer_batch(buf, -1, 0, 0, 3, false, 1000);
    ck_assert_int_eq(plog_append(log, buf, size, epoch, 1000, NULL), 0);
  }
}

START_TEST(plog_assigns_epochs_and_answers_offsets_for_leader_epoch) {
  struct plog_open_args a = small_args(storage_io_posix());
  struct plog *log = open_log(&a);
  char text[256];
  expect_log_end(log, 0, -1, -1); /* empty cache */
  lead(log, -1, 1);               /* no epoch stamped: nothing assigned */
  ck_assert_int_eq(plog_latest_epoch(log), -1);
  lead(log, 0, 3);
  lead(log, 2, 2);
  lead(log, 5, 4);
  ck_assert_int_eq(plog_log_end(log), 30);
  epoch_file(text, sizeof(text));
  ck_assert_str_eq(text, "0\n3\n0 3\n2 12\n5 18\n");
  ck_assert_int_eq(plog_latest_epoch(log), 5);
  expect_log_end(log, 5, 5, 30);
  expect_log_end(log, 2, 2, 18);
  expect_log_end(log, 3, 2, 18);
  expect_log_end(log, 1, 0, 12);
  expect_log_end(log, 0, 0, 12);
  expect_log_end(log, 6, -1, -1);
  int32_t e;
  ck_assert_int_eq(plog_epoch_for_offset(log, 13, &e), 0);
  ck_assert_int_eq(e, 2);
  ck_assert_int_eq(plog_epoch_for_offset(log, 1, &e), 0);
  ck_assert_int_eq(e, -1);

  /* a follower takes each batch's own partitionLeaderEpoch */
  uint8_t buf[4096];
  struct test_batch t = test_batch_plain(2, 1000, 0, 20);
  t.base_offset = 30;
  t.leader_epoch = 7;
  size_t size = test_batch_build(buf, &t);
  t.base_offset = 32;
  t.leader_epoch = 8;
  size += test_batch_build(buf + size, &t);
  ck_assert_int_eq(plog_append_replica(log, buf, size, 1000, NULL), 0);
  epoch_file(text, sizeof(text));
  ck_assert_str_eq(text, "0\n5\n0 3\n2 12\n5 18\n7 30\n8 32\n");

  /* truncation cuts the epochs that started at or after the new end */
  ck_assert_int_eq(plog_truncate(log, 31), 0); /* inside the epoch-7 batch: it goes whole */
  ck_assert_int_eq(plog_log_end(log), 30);
  epoch_file(text, sizeof(text));
  ck_assert_str_eq(text, "0\n3\n0 3\n2 12\n5 18\n");
  expect_log_end(log, 5, 5, 30);

  /* the log start moving: the entry covering it is moved to it */
  plog_set_high_watermark(log, 30);
  ck_assert_int_eq(plog_advance_log_start(log, 14), 0);
  epoch_file(text, sizeof(text));
  ck_assert_str_eq(text, "0\n2\n2 14\n5 18\n");
  expect_log_end(log, 0, 0, 14); /* below the earliest */
  ck_assert_int_eq(plog_close(log, true), 0);

  /* the file gone: rebuilt from the log's batches at open, the log start applied */
  char path[400];
  snprintf(path, sizeof(path), "%s/%s", part_dir(), CKPT_LEADER_EPOCH);
  ck_assert_int_eq(unlink(path), 0);
  a.clean_shutdown = true;
  a.log_start_offset = 14;
  log = open_log(&a);
  epoch_file(text, sizeof(text));
  ck_assert_str_eq(text, "0\n2\n2 14\n5 18\n");
  plog_close(log, true);

  /* an entry past the end (a lost tail) is cut at recovery; its batches were lost too */
  FILE *fp = fopen(path, "w");
  fputs("0\n3\n2 14\n5 18\n9 30\n", fp);
  fclose(fp);
  log = open_log(&a);
  epoch_file(text, sizeof(text));
  ck_assert_str_eq(text, "0\n2\n2 14\n5 18\n");
  /* a full truncation clears the cache */
  ck_assert_int_eq(plog_truncate(log, 0), 0);
  epoch_file(text, sizeof(text));
  ck_assert_str_eq(text, "0\n0\n");
  expect_log_end(log, 5, -1, -1);
  plog_close(log, true);
}
END_TEST

START_TEST(unclean_recovery_assigns_epochs_of_scanned_batches) {
  /* the file lost its newest entry (written after the last sync of the directory, say) while the
   * batches survived: the scan of the segments after the recovery point assigns it again */
  struct plog_open_args a = small_args(storage_io_posix());
  struct plog *log = open_log(&a);
  lead(log, 1, 10);
  int64_t e3 = plog_log_end(log);
  lead(log, 3, 2);
  plog_close(log, false);
  char path[400];
  snprintf(path, sizeof(path), "%s/%s", part_dir(), CKPT_LEADER_EPOCH);
  FILE *fp = fopen(path, "w");
  fputs("0\n1\n1 0\n", fp);
  fclose(fp);
  a.recovery_point = e3 - 1;
  log = open_log(&a);
  char text[256], want[256];
  epoch_file(text, sizeof(text));
  snprintf(want, sizeof(want), "0\n2\n1 0\n3 %lld\n", (long long)e3);
  ck_assert_str_eq(text, want);
  plog_close(log, true);
}
END_TEST

/* ---- timestamps ---- */

/* Appends one batch of n records with the given timestamps, its records compressed with codec;
 * returns its base offset. */
static int64_t append_ts(struct plog *log, const int64_t *ts, int n, int codec) {
  uint8_t buf[8192];
  struct test_batch t = test_batch_plain(n, ts[0], 0, 20);
  t.timestamps = ts;
  t.compression = codec;
  size_t size = test_batch_build(buf, &t);
  struct plog_append_info info;
  ck_assert_int_eq(plog_append(log, buf, size, 0, 1000, &info), 0);
  return info.base_offset;
}

static void expect_max(struct plog *log, int64_t offset, int64_t timestamp) {
  int64_t o, t;
  ck_assert_int_eq(plog_find_max_timestamp(log, &o, &t), 0);
  ck_assert_msg(o == offset && t == timestamp, "max timestamp: got (%lld, %lld), want (%lld, %lld)",
                (long long)o, (long long)t, (long long)offset, (long long)timestamp);
}

START_TEST(max_timestamp_is_the_first_record_holding_it) {
  struct plog_open_args a = small_args(storage_io_posix());
  struct plog *log = open_log(&a);
  expect_max(log, -1, -1); /* empty */
  static const int codecs[] = {RB_COMPRESSION_NONE, RB_COMPRESSION_GZIP, RB_COMPRESSION_SNAPPY,
                               RB_COMPRESSION_LZ4, RB_COMPRESSION_ZSTD};
  for (size_t c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++) {
    ck_assert_int_eq(plog_truncate(log, 0), 0);
    int codec = codecs[c];
    for (int i = 0; i < 20; i++) {
      int64_t ts[4] = {1000 + 10 * i, 1001 + 10 * i, 1002 + 10 * i, 1003 + 10 * i};
      append_ts(log, ts, 4, codec);
    }
    static const int64_t peak[4] = {5000, 9000, 7000, 9000};
    int64_t peak_base = append_ts(log, peak, 4, codec);
    for (int i = 0; i < 20; i++) {
      int64_t ts[2] = {2000 + i, i == 15 ? 9000 : 2001 + i}; /* 9000 again, later: not it */
      append_ts(log, ts, 2, codec);
    }
    ck_assert_uint_gt(plog_segment_count(log), 3);
    expect_max(log, peak_base + 1, 9000);
    /* the timestamp search is exact inside compressed batches too */
    int64_t o, t;
    ck_assert_int_eq(plog_find_offset_by_timestamp(log, 6000, &o, &t), 0);
    ck_assert_int_eq(o, peak_base + 1);
    ck_assert_int_eq(t, 9000);
    ck_assert_int_eq(plog_find_offset_by_timestamp(log, 1052, &o, &t), 0);
    ck_assert_int_eq(o, 22);
    ck_assert_int_eq(t, 1052);
  }
  int64_t peak_base = 80;
  /* the same answer from loaded indexes (clean) and from a scan (unclean) */
  plog_close(log, true);
  a.clean_shutdown = true;
  log = open_log(&a);
  expect_max(log, peak_base + 1, 9000);
  plog_close(log, false);
  a.clean_shutdown = false;
  a.recovery_point = 0;
  log = open_log(&a);
  expect_max(log, peak_base + 1, 9000);
  /* truncated inside the peak batch (it goes whole): the later duplicate is gone too */
  ck_assert_int_eq(plog_truncate(log, peak_base + 2), 0);
  expect_max(log, 79, 1193);
  plog_close(log, true);
}
END_TEST

START_TEST(max_timestamp_of_an_undecodable_batch_is_the_batch) {
  /* rb_validate does not inflate: a batch whose "gzip" records are not gzip is stored, and the
   * lookups answer with the batch itself */
  struct plog_open_args a = small_args(storage_io_posix());
  struct plog *log = open_log(&a);
  static const int64_t low[2] = {100, 200};
  append_ts(log, low, 2, RB_COMPRESSION_NONE);
  uint8_t buf[4096];
  static const int64_t ts[3] = {500, 900, 600};
  struct test_batch t = test_batch_plain(3, 500, 0, 20);
  t.timestamps = ts;
  size_t size = test_batch_build(buf, &t);
  buf[RB_ATTRIBUTES_OFFSET + 1] |= RB_COMPRESSION_GZIP;
  rb_update_crc(buf);
  ck_assert_int_eq(plog_append(log, buf, size, 0, 1000, NULL), 0);
  expect_max(log, 2, 900);
  int64_t o, tt;
  ck_assert_int_eq(plog_find_offset_by_timestamp(log, 550, &o, &tt), 0);
  ck_assert_int_eq(o, 2);
  ck_assert_int_eq(tt, 900);
  plog_close(log, true);
}
END_TEST

static Suite *plog_state_suite(void) {
  Suite *s = suite_create("plog-state");
  TCase *tc = tcase_create("producers");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, retry_after_restart_is_a_duplicate_from_snapshot_and_from_replay);
  tcase_add_test(tc, a_sequence_gap_is_out_of_order_and_appends_nothing);
  tcase_add_test(tc, an_old_epoch_and_a_bare_batch_inside_a_transaction_are_refused);
  tcase_add_test(tc, truncation_below_a_producers_batches_forgets_them);
  tcase_add_test(tc, replica_appends_follow_the_leaders_producers_unchecked);
  tcase_add_test(tc, idle_producers_expire_and_retention_drops_old_snapshots);
  tcase_add_test(tc, power_loss_keeps_producer_state_consistent_with_the_surviving_log);
  tcase_add_test(tc, enospc_at_a_roll_snapshot_fails_the_append_and_changes_nothing);
  suite_add_tcase(s, tc);
  tc = tcase_create("epochs");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, epoch_cache_follows_kafkas_assign_and_truncation_rules);
  tcase_add_test(tc, plog_assigns_epochs_and_answers_offsets_for_leader_epoch);
  tcase_add_test(tc, unclean_recovery_assigns_epochs_of_scanned_batches);
  suite_add_tcase(s, tc);
  tc = tcase_create("timestamps");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, max_timestamp_is_the_first_record_holding_it);
  tcase_add_test(tc, max_timestamp_of_an_undecodable_batch_is_the_batch);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(plog_state_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
