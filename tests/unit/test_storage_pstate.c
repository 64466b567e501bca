/* Unit tests of the producer state (storage/producer_state.c): sequence validation as Kafka's
 * ProducerAppendInfo does it, duplicates, epochs, wrap, transactions, snapshots, replay, expiry. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_build.h"
#include "errors.h"
#include "io.h"
#include "producer_state.h"
#include "record_batch.h"

static char tmp_root[256];

static void setup(void) { test_tmpdir_create(tmp_root, sizeof(tmp_root), "pstate"); }

static void teardown(void) { test_tmpdir_remove(tmp_root); }

static struct pstate *new_state(void) {
  struct pstate *ps;
  ck_assert_int_eq(pstate_create(storage_io_posix(), tmp_root, PSTATE_EXPIRATION_MS_DEFAULT, &ps),
                   0);
  return ps;
}

/* Checks then records a batch of count records at offset next; returns the check's result. */
static enum pstate_result append(struct pstate *ps, int64_t *next, int64_t pid, int16_t epoch,
                                 int32_t seq, int32_t count, bool txn, int64_t ts) {
  int32_t last_seq = pstate_seq_add(seq, count - 1);
  enum pstate_result r = pstate_check(ps, pid, epoch, seq, last_seq, txn, NULL);
  if (r != PSTATE_OK) return r;
  struct pstate_append a = {pid, epoch, seq, last_seq, *next, *next + count - 1, ts, txn};
  ck_assert_int_eq(pstate_update(ps, &a, NULL), 0);
  *next += count;
  pstate_set_map_end(ps, *next);
  return r;
}

/* ---- batch building (RecordBatch v2, uncompressed) ---- */

/* One record per offset with a null key and a 5-byte value; a control batch (control_type
 * >= 0) holds one end-transaction marker record instead. Returns the batch's size. */
static size_t make_batch(uint8_t *buf, int64_t base_offset, int count, int64_t pid, int16_t epoch,
                         int32_t seq, bool txn, int control_type, int32_t coordinator_epoch,
                         int64_t ts) {
  struct test_batch t = {
      .base_offset = base_offset,
      .leader_epoch = 0,
      .count = count,
      .ts0 = ts,
      .ts_step = 0,
      .value_size = 5,
      .value = "hello",
      .producer_id = pid,
      .producer_epoch = epoch,
      .base_sequence = seq,
      .transactional = txn,
      .control = control_type >= 0,
      .control_type = (int16_t)control_type,
      .coordinator_epoch = coordinator_epoch,
  };
  size_t size = test_batch_build(buf, &t);
  struct record_batch b;
  ck_assert_int_eq(rb_validate(buf, size, &b), RB_OK);
  return size;
}

/* ---- sequences ---- */

START_TEST(in_order_sequences_are_accepted) {
  struct pstate *ps = new_state();
  int64_t next = 0;
  for (int i = 0; i < 10; i++)
    ck_assert_int_eq(append(ps, &next, 1000, 0, i * 3, 3, false, 100 + i), PSTATE_OK);
  const struct pstate_entry *e = pstate_get(ps, 1000);
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(e->epoch, 0);
  ck_assert_int_eq(e->batch_count, PSTATE_BATCHES);
  ck_assert_int_eq(e->batches[4].first_seq, 27);
  ck_assert_int_eq(e->batches[4].last_seq, 29);
  ck_assert_int_eq(e->batches[4].first_offset, 27);
  ck_assert_int_eq(e->batches[4].last_offset, 29);
  ck_assert_int_eq(e->batches[0].first_seq, 15);
  ck_assert_int_eq(e->last_timestamp, 109);
  ck_assert_int_eq(pstate_map_end(ps), 30);
  /* non-idempotent batches are never checked */
  ck_assert_int_eq(pstate_check(ps, -1, -1, -1, -1, false, NULL), PSTATE_OK);
  pstate_free(ps);
}
END_TEST

START_TEST(duplicates_of_the_last_five_batches_give_their_offsets) {
  struct pstate *ps = new_state();
  int64_t next = 100; /* offsets differ from sequences */
  for (int i = 0; i < 8; i++) {
    ck_assert_int_eq(append(ps, &next, 7, 3, i * 2, 2, false, 1000 + i), PSTATE_OK);
    next += 5; /* other producers' batches in between */
  }
  /* batch i: seq 2i..2i+1, offsets 100 + 7i .. 101 + 7i */
  for (int i = 3; i < 8; i++) {
    struct pstate_batch dup;
    memset(&dup, 0, sizeof(dup));
    ck_assert_int_eq(pstate_check(ps, 7, 3, i * 2, i * 2 + 1, false, &dup), PSTATE_DUPLICATE);
    ck_assert_int_eq(dup.first_offset, 100 + 7 * i);
    ck_assert_int_eq(dup.last_offset, 101 + 7 * i);
    ck_assert_int_eq(dup.timestamp, 1000 + i);
    ck_assert_int_eq(pstate_result_kafka_error(PSTATE_DUPLICATE), ERR_NONE);
  }
  /* the 6th-newest is no longer remembered: out of order */
  ck_assert_int_eq(pstate_check(ps, 7, 3, 4, 5, false, NULL), PSTATE_OUT_OF_ORDER);
  ck_assert_int_eq(pstate_result_kafka_error(PSTATE_OUT_OF_ORDER),
                   ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  /* a range overlapping a remembered batch without matching it exactly */
  ck_assert_int_eq(pstate_check(ps, 7, 3, 14, 14, false, NULL), PSTATE_OUT_OF_ORDER);
  ck_assert_int_eq(pstate_check(ps, 7, 3, 13, 15, false, NULL), PSTATE_OUT_OF_ORDER);
  /* same sequences under another epoch are no duplicate */
  ck_assert_int_eq(pstate_check(ps, 7, 4, 14, 15, false, NULL), PSTATE_OUT_OF_ORDER);
  ck_assert_int_eq(pstate_check(ps, 7, 3, 16, 17, false, NULL), PSTATE_OK);
  pstate_free(ps);
}
END_TEST

START_TEST(gaps_are_refused) {
  struct pstate *ps = new_state();
  int64_t next = 0;
  ck_assert_int_eq(append(ps, &next, 5, 0, 0, 4, false, 1), PSTATE_OK);
  ck_assert_int_eq(pstate_check(ps, 5, 0, 5, 5, false, NULL), PSTATE_OUT_OF_ORDER);
  ck_assert_int_eq(pstate_check(ps, 5, 0, 100, 101, false, NULL), PSTATE_OUT_OF_ORDER);
  ck_assert_int_eq(pstate_check(ps, 5, 0, 0, 0, false, NULL), PSTATE_OUT_OF_ORDER);
  ck_assert_int_eq(pstate_check(ps, 5, 0, 4, 4, false, NULL), PSTATE_OK);
  /* nothing changed by the refusals */
  ck_assert_int_eq(append(ps, &next, 5, 0, 4, 1, false, 2), PSTATE_OK);
  ck_assert_int_eq(pstate_get(ps, 5)->batches[1].last_seq, 4);
  pstate_free(ps);
}
END_TEST

START_TEST(new_producers_start_anywhere_but_bumped_epochs_at_zero) {
  struct pstate *ps = new_state();
  int64_t next = 0;
  /* KIP-360: no state (new, expired, or retention removed it) -> any sequence */
  ck_assert_int_eq(pstate_check(ps, 9, 0, 0, 0, false, NULL), PSTATE_OK);
  ck_assert_int_eq(append(ps, &next, 9, 2, 77, 3, false, 1), PSTATE_OK);
  /* a higher epoch must start at 0 */
  ck_assert_int_eq(pstate_check(ps, 9, 3, 80, 80, false, NULL), PSTATE_OUT_OF_ORDER);
  ck_assert_int_eq(pstate_check(ps, 9, 3, 1, 1, false, NULL), PSTATE_OUT_OF_ORDER);
  /* a lower one is fenced */
  ck_assert_int_eq(pstate_check(ps, 9, 1, 80, 80, false, NULL), PSTATE_INVALID_EPOCH);
  ck_assert_int_eq(pstate_check(ps, 9, 1, 0, 0, false, NULL), PSTATE_INVALID_EPOCH);
  ck_assert_int_eq(pstate_result_kafka_error(PSTATE_INVALID_EPOCH), ERR_INVALID_PRODUCER_EPOCH);
  ck_assert_int_eq(append(ps, &next, 9, 3, 0, 2, false, 2), PSTATE_OK);
  const struct pstate_entry *e = pstate_get(ps, 9);
  ck_assert_int_eq(e->epoch, 3);
  ck_assert_int_eq(e->batch_count, 1); /* the bump dropped the old epoch's batches */
  ck_assert_int_eq(pstate_check(ps, 9, 2, 80, 80, false, NULL), PSTATE_INVALID_EPOCH);
  ck_assert_int_eq(pstate_check(ps, 9, 3, 2, 2, false, NULL), PSTATE_OK);
  /* an epoch bumped by a marker (transactions v2) leaves no batch: the next starts at 0 */
  struct pstate_marker m = {9, 4, 0, next, 3, true};
  ck_assert_int_eq(pstate_update_marker(ps, &m, NULL, NULL), 0);
  next++;
  ck_assert_int_eq(pstate_check(ps, 9, 4, 2, 2, false, NULL), PSTATE_OUT_OF_ORDER);
  ck_assert_int_eq(pstate_check(ps, 9, 4, 0, 0, false, NULL), PSTATE_OK);
  ck_assert_int_eq(pstate_check(ps, 9, 3, 2, 2, false, NULL), PSTATE_INVALID_EPOCH);
  pstate_free(ps);
}
END_TEST

START_TEST(sequences_wrap_at_int32_max) {
  ck_assert_int_eq(pstate_seq_add(INT32_MAX - 2, 2), INT32_MAX);
  ck_assert_int_eq(pstate_seq_add(INT32_MAX - 1, 3), 1);
  ck_assert_int_eq(pstate_seq_add(INT32_MAX, 1), 0);
  ck_assert_int_eq(pstate_seq_add(-1, 5), -1);
  struct pstate *ps = new_state();
  int64_t next = 0;
  ck_assert_int_eq(append(ps, &next, 3, 0, INT32_MAX - 4, 3, false, 1), PSTATE_OK);
  /* a batch crossing the wrap: INT32_MAX-1, INT32_MAX, 0, 1 */
  ck_assert_int_eq(append(ps, &next, 3, 0, INT32_MAX - 1, 4, false, 2), PSTATE_OK);
  ck_assert_int_eq(pstate_get(ps, 3)->batches[1].last_seq, 1);
  struct pstate_batch dup;
  ck_assert_int_eq(pstate_check(ps, 3, 0, INT32_MAX - 1, 1, false, &dup), PSTATE_DUPLICATE);
  ck_assert_int_eq(dup.first_offset, 3);
  ck_assert_int_eq(dup.last_offset, 6);
  ck_assert_int_eq(append(ps, &next, 3, 0, 2, 1, false, 3), PSTATE_OK);
  /* a batch ending exactly at INT32_MAX is followed by 0 */
  struct pstate *ps2 = new_state();
  next = 0;
  ck_assert_int_eq(append(ps2, &next, 4, 0, INT32_MAX - 2, 3, false, 1), PSTATE_OK);
  ck_assert_int_eq(pstate_check(ps2, 4, 0, INT32_MAX, INT32_MAX, false, NULL), PSTATE_OUT_OF_ORDER);
  ck_assert_int_eq(pstate_check(ps2, 4, 0, 1, 1, false, NULL), PSTATE_OUT_OF_ORDER);
  ck_assert_int_eq(append(ps2, &next, 4, 0, 0, 2, false, 2), PSTATE_OK);
  pstate_free(ps);
  pstate_free(ps2);
}
END_TEST

START_TEST(transactions_open_and_close) {
  struct pstate *ps = new_state();
  int64_t next = 0;
  ck_assert_int_eq(append(ps, &next, 11, 0, 0, 2, false, 1), PSTATE_OK);
  ck_assert_int_eq(pstate_first_unstable_offset(ps), -1);
  ck_assert_int_eq(append(ps, &next, 12, 0, 0, 2, true, 1), PSTATE_OK); /* offsets 2-3 */
  ck_assert_int_eq(append(ps, &next, 12, 0, 2, 2, true, 1), PSTATE_OK);
  ck_assert_int_eq(pstate_get(ps, 12)->txn_first_offset, 2);
  ck_assert_int_eq(pstate_first_unstable_offset(ps), 2);
  ck_assert_int_eq(pstate_check(ps, 12, 0, 4, 4, false, NULL), PSTATE_INVALID_TXN_STATE);
  ck_assert_int_eq(pstate_result_kafka_error(PSTATE_INVALID_TXN_STATE), ERR_INVALID_TXN_STATE);
  /* markers: coordinator epoch and producer epoch checks */
  ck_assert_int_eq(pstate_check_marker(ps, 12, 0, 5, 1), PSTATE_OK);
  ck_assert_int_eq(pstate_check_marker(ps, 12, 0, 5, 2), PSTATE_INVALID_EPOCH); /* TV2: > */
  ck_assert_int_eq(pstate_check_marker(ps, 12, 1, 5, 2), PSTATE_OK);
  struct pstate_marker m = {12, 1, 5, next, 50, false};
  struct pstate_completed_txn done;
  ck_assert_int_eq(pstate_update_marker(ps, &m, NULL, &done), 1);
  next++;
  ck_assert_int_eq(done.first_offset, 2);
  ck_assert_int_eq(done.last_offset, 6);
  ck_assert(done.aborted);
  ck_assert_int_eq(pstate_first_unstable_offset(ps), -1);
  const struct pstate_entry *e = pstate_get(ps, 12);
  ck_assert_int_eq(e->coordinator_epoch, 5);
  ck_assert_int_eq(e->epoch, 1);
  ck_assert_int_eq(e->txn_first_offset, -1);
  ck_assert_int_eq(e->last_timestamp, 50);
  ck_assert_int_eq(pstate_check_marker(ps, 12, 1, 4, 1), PSTATE_COORDINATOR_FENCED);
  ck_assert_int_eq(pstate_check_marker(ps, 12, 1, 5, 2), PSTATE_OK); /* TV2 retry, txn over */
  ck_assert_int_eq(pstate_check_marker(ps, 12, 0, 5, 1), PSTATE_INVALID_EPOCH);
  /* a marker with no open transaction completes nothing */
  ck_assert_int_eq(pstate_update_marker(ps, &m, NULL, &done), 0);
  pstate_free(ps);
}
END_TEST

START_TEST(undo_restores_a_failed_multi_batch_append) {
  struct pstate *ps = new_state(), *ref = new_state();
  int64_t next = 0, ref_next = 0;
  ck_assert_int_eq(append(ps, &next, 1, 0, 0, 1, false, 1), PSTATE_OK);
  ck_assert_int_eq(append(ref, &ref_next, 1, 0, 0, 1, false, 1), PSTATE_OK);
  struct pstate_undo u[3];
  struct pstate_append a0 = {1, 0, 1, 1, 1, 1, 2, false};
  struct pstate_append a1 = {2, 0, 0, 0, 2, 2, 2, false};
  struct pstate_append a2 = {1, 1, 0, 0, 3, 3, 2, true};
  ck_assert_int_eq(pstate_update(ps, &a0, &u[0]), 0);
  ck_assert_int_eq(pstate_update(ps, &a1, &u[1]), 0);
  ck_assert_int_eq(pstate_update(ps, &a2, &u[2]), 0);
  ck_assert(!pstate_equal(ps, ref));
  for (int i = 2; i >= 0; i--) pstate_undo(ps, &u[i]);
  ck_assert(pstate_equal(ps, ref));
  ck_assert_int_eq(pstate_count(ps), 1);
  pstate_free(ps);
  pstate_free(ref);
}
END_TEST

/* ---- snapshots ---- */

/* Several producers, one in a transaction. */
static void fill(struct pstate *ps, int64_t *next) {
  for (int64_t pid = 100; pid < 140; pid++)
    for (int i = 0; i < (int)(pid % 7); i++)
      ck_assert_int_eq(append(ps, next, pid, (int16_t)(pid % 3), i * 2, 2, false, 5000 + pid),
                       PSTATE_OK);
  ck_assert_int_eq(append(ps, next, 500, 1, 0, 1, true, 6000), PSTATE_OK);
  struct pstate_marker m = {600, 2, 7, *next, 6001, true};
  ck_assert_int_eq(pstate_update_marker(ps, &m, NULL, NULL), 0);
  *next += 1;
  pstate_set_map_end(ps, *next);
}

START_TEST(snapshot_round_trip) {
  struct pstate *ps = new_state(), *back = new_state();
  int64_t next = 0, loaded;
  fill(ps, &next);
  bool written;
  ck_assert_int_eq(pstate_snapshot_take(ps, &written), 0);
  ck_assert(written);
  ck_assert_int_eq(pstate_snapshot_take(ps, &written), 0);
  ck_assert(!written); /* nothing new since */
  char path[512];
  ck_assert_int_eq(pstate_snapshot_path(ps, next, path, sizeof(path)), 0);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(strlen(strrchr(path, '/') + 1), 20 + strlen(".snapshot"));

  ck_assert_int_eq(pstate_load(back, INT64_MAX, 0, 6000, &loaded), 0);
  ck_assert_int_eq(loaded, next);
  ck_assert_int_eq(pstate_map_end(back), next);
  ck_assert(pstate_equal(ps, back));
  ck_assert_int_eq(pstate_first_unstable_offset(back), pstate_first_unstable_offset(ps));
  /* the 5 batches survive: a duplicate of an older one is still caught after a restart */
  const struct pstate_entry *e = pstate_get(back, 102);
  ck_assert_int_eq(e->batch_count, 4);
  ck_assert_int_eq(pstate_check(back, 102, 0, 0, 1, false, NULL), PSTATE_DUPLICATE);
  ck_assert_int_eq(pstate_get(back, 104)->batch_count, PSTATE_BATCHES);
  ck_assert_int_eq(pstate_check(back, 104, 2, 2, 3, false, NULL), PSTATE_DUPLICATE);

  /* an empty state round-trips too */
  struct pstate *empty = new_state();
  pstate_set_map_end(empty, 3);
  ck_assert_int_eq(pstate_snapshot_take(empty, NULL), 0);
  ck_assert_int_eq(pstate_load(back, 3, 0, 0, &loaded), 0);
  ck_assert_int_eq(loaded, 3);
  ck_assert_int_eq(pstate_count(back), 0);
  pstate_free(empty);
  pstate_free(ps);
  pstate_free(back);
}
END_TEST

static void corrupt_file(const char *path, long at, int truncate_to) {
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  if (truncate_to >= 0) {
    ck_assert_int_eq(ftruncate(fileno(f), truncate_to), 0);
  } else {
    ck_assert_int_eq(fseek(f, at, SEEK_SET), 0);
    int c = fgetc(f);
    ck_assert_int_eq(fseek(f, at, SEEK_SET), 0);
    fputc(c ^ 0x10, f);
  }
  fclose(f);
}

START_TEST(corrupt_snapshots_are_refused_and_deleted) {
  struct pstate *ps = new_state(), *back = new_state();
  int64_t next = 0, loaded, first_snap;
  fill(ps, &next);
  first_snap = next;
  ck_assert_int_eq(pstate_snapshot_take(ps, NULL), 0);
  struct pstate *at_first = new_state();
  ck_assert_int_eq(pstate_load(at_first, INT64_MAX, 0, 0, NULL), 0);
  for (int i = 0; i < 3; i++) ck_assert_int_eq(append(ps, &next, 1, 0, i, 1, false, 9000), 0);
  ck_assert_int_eq(pstate_snapshot_take(ps, NULL), 0);
  for (int i = 3; i < 5; i++) ck_assert_int_eq(append(ps, &next, 1, 0, i, 1, false, 9000), 0);
  ck_assert_int_eq(pstate_snapshot_take(ps, NULL), 0);
  int64_t *offs;
  size_t n;
  ck_assert_int_eq(pstate_list_snapshots(ps, &offs, &n), 0);
  ck_assert_int_eq(n, 3);
  ck_assert_int_eq(offs[0], first_snap);
  ck_assert_int_eq(offs[2], next);
  char p1[512], p2[512];
  ck_assert_int_eq(pstate_snapshot_path(ps, offs[1], p1, sizeof(p1)), 0);
  ck_assert_int_eq(pstate_snapshot_path(ps, offs[2], p2, sizeof(p2)), 0);
  corrupt_file(p2, 40, -1); /* a flipped bit in an entry: CRC mismatch */
  corrupt_file(p1, 0, 30);  /* torn */
  ck_assert_int_eq(pstate_load(back, INT64_MAX, 0, 0, &loaded), 0);
  ck_assert_int_eq(loaded, first_snap);
  ck_assert(pstate_equal(back, at_first));
  struct stat st;
  ck_assert_int_eq(stat(p1, &st), -1);
  ck_assert_int_eq(stat(p2, &st), -1);
  free(offs);
  ck_assert_int_eq(pstate_list_snapshots(ps, &offs, &n), 0);
  ck_assert_int_eq(n, 1);
  free(offs);

  /* a bad magic (outside the CRC) or a name/offset mismatch are refused too */
  ck_assert_int_eq(pstate_snapshot_path(ps, first_snap, p1, sizeof(p1)), 0);
  char renamed[512];
  ck_assert_int_eq(pstate_snapshot_path(ps, first_snap + 1, renamed, sizeof(renamed)), 0);
  ck_assert_int_eq(rename(p1, renamed), 0);
  ck_assert_int_eq(append(ps, &next, 1, 0, 5, 1, false, 9000), 0);
  ck_assert_int_eq(pstate_snapshot_take(ps, NULL), 0);
  ck_assert_int_eq(pstate_snapshot_path(ps, next, p2, sizeof(p2)), 0);
  corrupt_file(p2, 0, -1);
  ck_assert_int_eq(pstate_load(back, INT64_MAX, 42, 0, &loaded), 0);
  ck_assert_int_eq(loaded, -1);
  ck_assert_int_eq(pstate_count(back), 0);
  ck_assert_int_eq(pstate_map_end(back), 42);
  ck_assert_int_eq(stat(renamed, &st), -1);
  ck_assert_int_eq(stat(p2, &st), -1);
  pstate_free(at_first);
  pstate_free(ps);
  pstate_free(back);
}
END_TEST

START_TEST(load_picks_the_latest_at_or_below_and_deletes_ranges) {
  struct pstate *ps = new_state(), *back = new_state();
  int64_t next = 0, loaded;
  for (int i = 0; i < 6; i++) {
    ck_assert_int_eq(append(ps, &next, 1, 0, i * 10, 10, false, 1), PSTATE_OK);
    ck_assert_int_eq(pstate_snapshot_take(ps, NULL), 0); /* at 10, 20 ... 60 */
  }
  ck_assert_int_eq(pstate_load(back, 35, 0, 0, &loaded), 0);
  ck_assert_int_eq(loaded, 30);
  ck_assert_int_eq(pstate_get(back, 1)->batch_count, 3);
  ck_assert_int_eq(pstate_load(back, 5, 7, 0, &loaded), 0);
  ck_assert_int_eq(loaded, -1);
  ck_assert_int_eq(pstate_map_end(back), 7);
  ck_assert_int_eq(pstate_delete_snapshots_above(ps, 40), 0);
  ck_assert_int_eq(pstate_delete_snapshots_below(ps, 20), 0);
  int64_t *offs;
  size_t n;
  ck_assert_int_eq(pstate_list_snapshots(ps, &offs, &n), 0);
  ck_assert_int_eq(n, 3);
  ck_assert_int_eq(offs[0], 20);
  ck_assert_int_eq(offs[2], 40);
  free(offs);
  /* the latest was deleted, so taking one at 60 writes again */
  bool written;
  ck_assert_int_eq(pstate_snapshot_take(ps, &written), 0);
  ck_assert(written);
  pstate_free(ps);
  pstate_free(back);
}
END_TEST

/* ---- replay ---- */

START_TEST(replay_of_the_log_equals_the_incremental_state) {
  struct pstate *inc = new_state(), *rebuilt = new_state();
  size_t cap = 1 << 16, size = 0;
  uint8_t *log = malloc(cap);
  int64_t next = 0;
  int32_t seq[4] = {0, 0, 0, 0};
  size_t half = 0;
  int64_t half_offset = 0;
  for (int i = 0; i < 60; i++) {
    int64_t pid = 20 + i % 4;
    int count = 1 + i % 3;
    int64_t ts = 1000 + i;
    size_t n;
    if (i % 5 == 4) { /* no producer */
      n = make_batch(log + size, next, count, -1, -1, -1, false, -1, 0, ts);
      next += count;
    } else if (pid == 23 && i % 8 == 7) { /* producer 23 ends its transaction */
      struct pstate_marker m = {pid, 0, 3, next, ts, i % 16 == 7};
      ck_assert_int_ge(pstate_update_marker(inc, &m, NULL, NULL), 0);
      n = make_batch(log + size, next, 1, pid, 0, -1, true, m.commit ? 1 : 0, 3, ts);
      next += 1;
    } else {
      bool txn = pid == 23;
      int16_t epoch = pid == 21 && i > 30 ? 1 : 0;
      if (pid == 21 && i > 30 && i <= 33) seq[1] = 0; /* the bump's first batch */
      int32_t *s = &seq[pid - 20];
      ck_assert_int_eq(append(inc, &next, pid, epoch, *s, count, txn, ts), PSTATE_OK);
      n = make_batch(log + size, next - count, count, pid, epoch, *s, txn, -1, 0, ts);
      *s += count;
    }
    size += n;
    pstate_set_map_end(inc, next);
    if (i == 29) {
      half = size;
      half_offset = next;
    }
  }
  ck_assert_int_eq(pstate_replay(rebuilt, log, size), 0);
  ck_assert_int_eq(pstate_map_end(rebuilt), next);
  ck_assert_int_eq(pstate_count(rebuilt), 4);
  ck_assert(pstate_equal(inc, rebuilt));

  /* recovery: a snapshot at the half, then the batches after it (and some before: skipped) */
  struct pstate *part = new_state(), *recovered = new_state();
  ck_assert_int_eq(pstate_replay(part, log, half), 0);
  ck_assert_int_eq(pstate_map_end(part), half_offset);
  ck_assert_int_eq(pstate_snapshot_take(part, NULL), 0);
  int64_t loaded;
  ck_assert_int_eq(pstate_load(recovered, INT64_MAX, 0, 2000, &loaded), 0);
  ck_assert_int_eq(loaded, half_offset);
  ck_assert_int_eq(pstate_replay(recovered, log, size), 0); /* from the start: skips the half */
  ck_assert(pstate_equal(inc, recovered));

  /* bytes that are not whole batches */
  struct pstate *bad = new_state();
  ck_assert_int_eq(pstate_replay(bad, log, size - 3), -EBADMSG);
  pstate_free(bad);
  pstate_free(part);
  pstate_free(recovered);
  pstate_free(inc);
  pstate_free(rebuilt);
  free(log);
}
END_TEST

/* ---- expiry ---- */

START_TEST(idle_producers_expire) {
  struct pstate *ps = new_state();
  int64_t next = 0;
  const int64_t exp = PSTATE_EXPIRATION_MS_DEFAULT;
  for (int64_t pid = 0; pid < 1000; pid++)
    ck_assert_int_eq(append(ps, &next, pid, 0, 0, 1, false, pid < 500 ? 1000 : 5000), PSTATE_OK);
  ck_assert_int_eq(append(ps, &next, 2000, 0, 0, 1, true, 0), PSTATE_OK); /* open txn */
  ck_assert_int_eq(pstate_expire(ps, 1000 + exp - 1), 0);
  ck_assert_int_eq(pstate_expire(ps, 1000 + exp), 500); /* >= */
  ck_assert_int_eq(pstate_count(ps), 501);
  for (int64_t pid = 0; pid < 1000; pid++) {
    if (pid < 500)
      ck_assert_ptr_null(pstate_get(ps, pid));
    else
      ck_assert_ptr_nonnull(pstate_get(ps, pid));
  }
  ck_assert_ptr_nonnull(pstate_get(ps, 2000));
  /* an expired producer starts over at any sequence */
  ck_assert_int_eq(pstate_check(ps, 3, 0, 57, 57, false, NULL), PSTATE_OK);
  ck_assert_int_eq(pstate_expire(ps, INT64_MAX / 2), 500);
  ck_assert_int_eq(pstate_count(ps), 1);
  /* loading a snapshot drops producers expired by then */
  ck_assert_int_eq(append(ps, &next, 7, 0, 0, 1, false, 100), PSTATE_OK);
  ck_assert_int_eq(append(ps, &next, 8, 0, 0, 1, false, 200 + exp), PSTATE_OK);
  ck_assert_int_eq(pstate_snapshot_take(ps, NULL), 0);
  struct pstate *back = new_state();
  ck_assert_int_eq(pstate_load(back, INT64_MAX, 0, 100 + exp, NULL), 0);
  ck_assert_int_eq(pstate_count(back), 2);
  ck_assert_ptr_null(pstate_get(back, 7));
  ck_assert_ptr_nonnull(pstate_get(back, 8));
  pstate_clear(back, 10);
  ck_assert_int_eq(pstate_count(back), 0);
  ck_assert_int_eq(pstate_map_end(back), 10);
  pstate_log_start_advanced(ps, 5);
  ck_assert_int_eq(pstate_count(ps), 3);
  pstate_log_start_advanced(ps, next + 1);
  ck_assert_int_eq(pstate_count(ps), 0);
  ck_assert_int_eq(pstate_map_end(ps), next + 1);
  pstate_free(back);
  pstate_free(ps);
}
END_TEST

START_TEST(expiry_takes_any_client_timestamp) {
  /* client clocks can say anything: the idle time saturates instead of overflowing */
  struct pstate *ps = new_state();
  int64_t next = 0;
  ck_assert_int_eq(append(ps, &next, 1, 0, 0, 1, false, INT64_MIN), PSTATE_OK);
  ck_assert_int_eq(append(ps, &next, 2, 0, 0, 1, false, INT64_MAX), PSTATE_OK);
  ck_assert_int_eq(append(ps, &next, 3, 0, 0, 1, false, -1), PSTATE_OK);
  ck_assert_int_eq(pstate_expire(ps, INT64_MIN + 5), 0);
  ck_assert_int_eq(pstate_expire(ps, 1000), 1); /* 1: its age saturates at INT64_MAX */
  ck_assert_ptr_null(pstate_get(ps, 1));
  ck_assert_int_eq(pstate_expire(ps, INT64_MAX), 1); /* 3: INT64_MAX - -1 saturates too */
  ck_assert_ptr_null(pstate_get(ps, 3));
  ck_assert_ptr_nonnull(pstate_get(ps, 2));
  pstate_free(ps);
}
END_TEST

START_TEST(apply_batch_records_data_and_markers_with_undo) {
  struct pstate *ps = new_state();
  uint8_t buf[1024];
  struct record_batch b;
  struct pstate_undo undo[3];
  bool recorded;
  size_t n = make_batch(buf, 10, 3, 50, 2, 7, true, -1, 0, 100);
  ck_assert_int_eq(rb_parse_header(buf, n, &b), RB_OK);
  ck_assert_int_eq(pstate_apply_batch(ps, &b, &undo[0], &recorded), 0);
  ck_assert(recorded);
  ck_assert_int_eq(pstate_first_unstable_offset(ps), 10);
  /* a header alone is enough for a data batch, not for a marker */
  n = make_batch(buf, 13, 1, 50, 2, 10, true, -1, 0, 100);
  ck_assert_int_eq(rb_parse_header(buf, RB_HEADER_SIZE, &b), RB_ETRUNCATED);
  ck_assert_int_eq(pstate_apply_batch(ps, &b, &undo[1], &recorded), 0);
  ck_assert(recorded);
  n = make_batch(buf, 14, 1, 50, 2, -1, true, 1, 9, 100);
  ck_assert_int_eq(rb_parse_header(buf, RB_HEADER_SIZE, &b), RB_ETRUNCATED);
  ck_assert_int_eq(pstate_apply_batch(ps, &b, &undo[2], &recorded), -EINVAL);
  ck_assert_int_eq(rb_parse_header(buf, n, &b), RB_OK);
  ck_assert_int_eq(pstate_apply_batch(ps, &b, &undo[2], &recorded), 0);
  ck_assert(recorded);
  ck_assert_int_eq(pstate_first_unstable_offset(ps), -1);
  ck_assert_int_eq(pstate_get(ps, 50)->coordinator_epoch, 9);
  /* no producer id: nothing recorded */
  n = make_batch(buf, 15, 1, -1, -1, -1, false, -1, 0, 100);
  ck_assert_int_eq(rb_parse_header(buf, n, &b), RB_OK);
  ck_assert_int_eq(pstate_apply_batch(ps, &b, NULL, &recorded), 0);
  ck_assert(!recorded);
  /* undone newest first: the producer is gone again */
  for (int i = 2; i >= 0; i--) pstate_undo(ps, &undo[i]);
  ck_assert_ptr_null(pstate_get(ps, 50));
  ck_assert_int_eq(pstate_count(ps), 0);
  pstate_free(ps);
}
END_TEST

static Suite *pstate_suite(void) {
  Suite *s = suite_create("pstate");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, in_order_sequences_are_accepted);
  tcase_add_test(tc, duplicates_of_the_last_five_batches_give_their_offsets);
  tcase_add_test(tc, gaps_are_refused);
  tcase_add_test(tc, new_producers_start_anywhere_but_bumped_epochs_at_zero);
  tcase_add_test(tc, sequences_wrap_at_int32_max);
  tcase_add_test(tc, transactions_open_and_close);
  tcase_add_test(tc, undo_restores_a_failed_multi_batch_append);
  tcase_add_test(tc, snapshot_round_trip);
  tcase_add_test(tc, corrupt_snapshots_are_refused_and_deleted);
  tcase_add_test(tc, load_picks_the_latest_at_or_below_and_deletes_ranges);
  tcase_add_test(tc, replay_of_the_log_equals_the_incremental_state);
  tcase_add_test(tc, idle_producers_expire);
  tcase_add_test(tc, expiry_takes_any_client_timestamp);
  tcase_add_test(tc, apply_batch_records_data_and_markers_with_undo);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(pstate_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
