/* Unit tests of the storage module: segments, the partition log, recovery, durability through
 * the fault seam, retention, checkpoints. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "batch_build.h"
#include "checkpoint.h"
#include "io_fault.h"
#include "plog.h"
#include "record_batch.h"

/* ---- helpers ---- */

static char tmp_root[256];

static void setup(void) { test_tmpdir_create(tmp_root, sizeof(tmp_root), "storage"); }

static void teardown(void) { test_tmpdir_remove(tmp_root); }

/* An uncompressed batch of count records, record i with timestamp ts0 + i * ts_step and a
 * value_size-byte value. Returns its size; buf must hold it. */
static size_t make_batch(uint8_t *buf, int count, int64_t ts0, int64_t ts_step, size_t value_size) {
  struct test_batch t = test_batch_plain(count, ts0, ts_step, value_size);
  return test_batch_build(buf, &t);
}

struct durable_probe {
  atomic_llong durable;
  atomic_int errors;
};

static void on_durable(void *arg, struct plog *log, int64_t durable_end, int err) {
  struct durable_probe *p = arg;
  if (err != 0)
    atomic_fetch_add(&p->errors, 1);
  else if (durable_end > atomic_load(&p->durable))
    atomic_store(&p->durable, durable_end);
}

static struct plog_open_args small_args(struct storage_io *io, const char *dir) {
  struct plog_open_args a;
  memset(&a, 0, sizeof(a));
  a.io = io;
  a.dir = dir;
  plog_config_init(&a.config);
  a.config.segment_bytes = 2048;
  a.config.index_interval_bytes = 256;
  a.config.index_size_max = 4096;
  a.config.retention_ms = -1;
  a.now_ms = 1000;
  return a;
}

static char *part_dir(void) {
  static char dir[300];
  snprintf(dir, sizeof(dir), "%s/topic-0", tmp_root);
  return dir;
}

/* Appends n batches of 3 records (timestamps 1000 + 10 * offset); returns the log end. */
static int64_t append_batches(struct plog *log, int n) {
  uint8_t buf[4096];
  struct plog_append_info info;
  for (int i = 0; i < n; i++) {
    int64_t next = plog_log_end(log);
    size_t size = make_batch(buf, 3, 1000 + 10 * next, 10, 40);
    ck_assert_int_eq(plog_append(log, buf, size, 5, 1000, &info), 0);
    ck_assert_int_eq(info.base_offset, next);
    ck_assert_int_eq(info.last_offset, next + 2);
  }
  return plog_log_end(log);
}

/* Reads the whole log from its start, one request of max_bytes at a time, checking each batch's
 * CRC and that offsets are contiguous; returns the number of offsets seen. */
static int64_t read_all_checked(struct plog *log, uint64_t max_bytes) {
  int64_t offset = plog_log_start(log), end = plog_log_end(log);
  uint8_t *buf = malloc(1 << 20);
  while (offset < end) {
    struct plog_read_result r;
    ck_assert_int_eq(plog_read(log, offset, max_bytes, PLOG_NEVER, &r), 0);
    ck_assert_uint_gt(r.size, 0);
    ck_assert_int_le(r.first_offset, offset);
    ck_assert_int_eq(pread(r.fd, buf, r.size, (off_t)r.position), (ssize_t)r.size);
    size_t pos = 0;
    int64_t expect = r.first_offset;
    while (pos < r.size) {
      struct record_batch b;
      ck_assert_int_eq(rb_validate(buf + pos, r.size - pos, &b), RB_OK);
      ck_assert_int_eq(b.base_offset, expect);
      expect = rb_last_offset(&b) + 1;
      pos += rb_size(&b);
    }
    ck_assert_int_eq(expect, r.next_offset);
    offset = r.next_offset;
    plog_read_release(&r);
  }
  free(buf);
  return offset - plog_log_start(log);
}

static struct plog *open_log(struct plog_open_args *a) {
  struct plog *log = NULL;
  ck_assert_int_eq(plog_open(a, &log), 0);
  return log;
}

static void seg_path(int64_t base, const char *ext, char *out, size_t size) {
  snprintf(out, size, "%s/%020lld%s", part_dir(), (long long)base, ext);
}

/* ---- tests ---- */

START_TEST(append_assigns_offsets_and_reads_back_across_rolls) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  struct plog *log = open_log(&a);
  ck_assert_int_eq(append_batches(log, 100), 300);
  ck_assert_uint_gt(plog_segment_count(log), 5);
  ck_assert_int_eq(read_all_checked(log, 1), 300);
  ck_assert_int_eq(read_all_checked(log, 1000), 300);
  /* every offset, at and between index entries: the batch containing it */
  for (int64_t o = 0; o < 300; o++) {
    struct plog_read_result r;
    ck_assert_int_eq(plog_read(log, o, 1, PLOG_NEVER, &r), 0);
    ck_assert_int_eq(r.first_offset, o - o % 3);
    ck_assert_int_eq(r.next_offset, o - o % 3 + 3);
    plog_read_release(&r);
  }
  /* the stored batch carries the assigned offset and leader epoch */
  struct plog_read_result r;
  uint8_t hdr[RB_HEADER_SIZE];
  ck_assert_int_eq(plog_read(log, 150, 1, PLOG_NEVER, &r), 0);
  ck_assert_int_eq(pread(r.fd, hdr, sizeof(hdr), (off_t)r.position), (ssize_t)sizeof(hdr));
  struct record_batch b;
  rb_parse_header(hdr, sizeof(hdr), &b);
  ck_assert_int_eq(b.base_offset, 150);
  ck_assert_int_eq(b.partition_leader_epoch, 5);
  plog_read_release(&r);
  ck_assert_int_eq(plog_close(log, true), 0);
}
END_TEST

START_TEST(read_bounds_offsets_bytes_and_high_watermark) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  struct plog *log = open_log(&a);
  append_batches(log, 10);
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(log, 31, 100, PLOG_NEVER, &r), -ERANGE);
  ck_assert_int_eq(plog_read(log, 30, 100, PLOG_NEVER, &r), 0);
  ck_assert_uint_eq(r.size, 0);
  ck_assert_ptr_null(r.segment);
  /* a batch is ~190 bytes: 500 bytes give two whole batches, never a partial third */
  ck_assert_int_eq(plog_read(log, 0, 500, PLOG_NEVER, &r), 0);
  ck_assert_int_eq(r.next_offset, 6);
  plog_read_release(&r);
  /* the high watermark stops reads at a batch boundary */
  ck_assert_int_eq(plog_read(log, 0, 1 << 20, 9, &r), 0);
  ck_assert_int_eq(r.next_offset, 9);
  plog_read_release(&r);
  ck_assert_int_eq(plog_read(log, 9, 1 << 20, 9, &r), 0);
  ck_assert_uint_eq(r.size, 0);
  plog_close(log, true);
}
END_TEST

START_TEST(corrupt_or_oversized_appends_are_refused) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  a.config.max_message_bytes = 1000;
  struct plog *log = open_log(&a);
  uint8_t buf[4096];
  size_t size = make_batch(buf, 3, 1000, 1, 40);
  buf[size - 1] ^= 1;
  ck_assert_int_eq(plog_append(log, buf, size, -1, 0, NULL), -EBADMSG);
  ck_assert_int_eq(plog_append(log, buf, size - 5, -1, 0, NULL), -EBADMSG);
  size = make_batch(buf, 3, 1000, 1, 400);
  ck_assert_int_eq(plog_append(log, buf, size, -1, 0, NULL), -EMSGSIZE);
  ck_assert(!plog_is_disk_error(-EMSGSIZE));
  ck_assert(plog_is_disk_error(-ENOSPC));
  ck_assert_int_eq(plog_log_end(log), 0);
  /* two batches in one append get consecutive offsets */
  size = make_batch(buf, 3, 1000, 1, 40);
  size_t size2 = make_batch(buf + size, 2, 1000, 1, 40);
  struct plog_append_info info;
  ck_assert_int_eq(plog_append(log, buf, size + size2, -1, 0, &info), 0);
  ck_assert_int_eq(info.base_offset, 0);
  ck_assert_int_eq(info.last_offset, 4);
  ck_assert_int_eq(read_all_checked(log, 1), 5);
  plog_close(log, true);
}
END_TEST

START_TEST(find_offset_by_timestamp_returns_first_record_at_or_after) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  struct plog *log = open_log(&a);
  append_batches(log, 60); /* offset o has timestamp 1000 + 10 * o */
  int64_t off, ts;
  ck_assert_int_eq(plog_find_offset_by_timestamp(log, 0, &off, &ts), 0);
  ck_assert_int_eq(off, 0);
  ck_assert_int_eq(plog_find_offset_by_timestamp(log, 1000 + 10 * 77, &off, &ts), 0);
  ck_assert_int_eq(off, 77);
  ck_assert_int_eq(ts, 1000 + 10 * 77);
  ck_assert_int_eq(plog_find_offset_by_timestamp(log, 1000 + 10 * 77 + 5, &off, &ts), 0);
  ck_assert_int_eq(off, 78);
  ck_assert_int_eq(plog_find_offset_by_timestamp(log, 1000 + 10 * 179, &off, &ts), 0);
  ck_assert_int_eq(off, 179);
  ck_assert_int_eq(plog_find_offset_by_timestamp(log, 1000 + 10 * 180, &off, &ts), -ENOENT);
  plog_close(log, true);
  /* after a clean reopen the same answers come from the loaded indexes */
  a.clean_shutdown = true;
  log = open_log(&a);
  ck_assert_int_eq(plog_find_offset_by_timestamp(log, 1000 + 10 * 123 - 3, &off, &ts), 0);
  ck_assert_int_eq(off, 123);
  plog_close(log, true);
}
END_TEST

START_TEST(truncate_removes_whole_batches_and_appends_continue) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  struct plog *log = open_log(&a);
  append_batches(log, 60);
  size_t segs = plog_segment_count(log);
  plog_set_high_watermark(log, 180);
  ck_assert_int_eq(plog_truncate(log, 100), 0); /* mid-batch 99..101: the batch goes */
  ck_assert_int_eq(plog_log_end(log), 99);
  ck_assert_int_eq(plog_high_watermark(log), 99);
  ck_assert_uint_lt(plog_segment_count(log), segs);
  ck_assert_int_eq(plog_truncate(log, 200), 0);
  ck_assert_int_eq(plog_log_end(log), 99);
  ck_assert_int_eq(append_batches(log, 10), 129);
  ck_assert_int_eq(read_all_checked(log, 700), 129);
  ck_assert_int_eq(plog_truncate(log, 0), 0);
  ck_assert_int_eq(plog_log_end(log), 0);
  ck_assert_uint_eq(plog_segment_count(log), 1);
  ck_assert_int_eq(append_batches(log, 2), 6);
  plog_close(log, true);
  a.clean_shutdown = true;
  log = open_log(&a);
  ck_assert_int_eq(plog_log_end(log), 6);
  ck_assert_int_eq(read_all_checked(log, 1), 6);
  plog_close(log, true);
}
END_TEST

START_TEST(recovery_ends_the_log_at_a_segment_that_lost_its_tail) {
  /* Power loss can keep a later segment while an earlier one loses its unsynced tail at a batch
   * boundary (no torn bytes): the log must end at the hole, not jump over it. */
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  struct plog *log = open_log(&a);
  append_batches(log, 40);
  ck_assert_uint_gt(plog_segment_count(log), 2);
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(log, 0, 1, PLOG_NEVER, &r), 0);
  int64_t cut_at = r.next_offset; /* keep only the first batch of the first segment */
  uint64_t keep = r.position + r.size;
  plog_read_release(&r);
  plog_close(log, false);
  char path[400];
  seg_path(0, ".log", path, sizeof(path));
  ck_assert_int_eq(truncate(path, (off_t)keep), 0);
  a.clean_shutdown = false;
  a.recovery_point = 0;
  log = open_log(&a);
  ck_assert_int_eq(plog_log_end(log), cut_at);
  ck_assert_uint_eq(plog_segment_count(log), 1);
  ck_assert_int_eq(read_all_checked(log, 1), cut_at);
  ck_assert_int_eq(append_batches(log, 1), cut_at + 3);
  plog_close(log, true);
}
END_TEST

START_TEST(recovery_cuts_torn_tail_and_bit_flips) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  struct plog *log = open_log(&a);
  append_batches(log, 40);
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(log, 117, 1, PLOG_NEVER, &r), 0);
  int64_t last_base = r.first_offset;
  uint64_t last_pos = r.position, last_size = r.size;
  plog_read_release(&r);
  ck_assert_int_eq(plog_read(log, 111, 1, PLOG_NEVER, &r), 0);
  uint64_t flip_pos = r.position + r.size / 2;
  int64_t flip_base = r.first_offset;
  plog_read_release(&r);
  plog_close(log, false);

  /* torn tail: the last batch loses its last 10 bytes */
  char path[512];
  seg_path(0, ".log", path, sizeof(path));
  int64_t seg_base = -1;
  for (int64_t b = last_base; b >= 0; b--) { /* find the last segment's file */
    seg_path(b, ".log", path, sizeof(path));
    if (access(path, F_OK) == 0) {
      seg_base = b;
      break;
    }
  }
  ck_assert_int_ge(seg_base, 0);
  ck_assert_int_eq(truncate(path, (off_t)(last_pos + last_size - 10)), 0);
  a.recovery_point = 0;
  log = open_log(&a);
  ck_assert_int_eq(plog_log_end(log), last_base);
  ck_assert_int_eq(read_all_checked(log, 500), last_base);
  plog_close(log, false);

  /* a bit flip inside an earlier batch: the log ends before it */
  int fd = open(path, O_RDWR);
  ck_assert_int_ge(fd, 0);
  uint8_t byte;
  ck_assert_int_eq(pread(fd, &byte, 1, (off_t)flip_pos), 1);
  byte ^= 0x10;
  ck_assert_int_eq(pwrite(fd, &byte, 1, (off_t)flip_pos), 1);
  close(fd);
  log = open_log(&a);
  ck_assert_int_eq(plog_log_end(log), flip_base);
  ck_assert_int_eq(read_all_checked(log, 1), flip_base);
  ck_assert_int_eq(append_batches(log, 3), flip_base + 9);
  plog_close(log, false);
}
END_TEST

START_TEST(missing_indexes_are_rebuilt) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  struct plog *log = open_log(&a);
  append_batches(log, 60);
  ck_assert_int_eq(plog_close(log, true), 0);
  char path[512];
  for (int64_t b = 0; b < 180; b++) {
    seg_path(b, ".index", path, sizeof(path));
    unlink(path);
    seg_path(b, ".timeindex", path, sizeof(path));
    unlink(path);
  }
  a.clean_shutdown = true;
  log = open_log(&a);
  ck_assert_int_eq(plog_log_end(log), 180);
  ck_assert_int_eq(read_all_checked(log, 1), 180);
  int64_t off, ts;
  ck_assert_int_eq(plog_find_offset_by_timestamp(log, 1000 + 10 * 150, &off, &ts), 0);
  ck_assert_int_eq(off, 150);
  plog_close(log, true);
  struct stat st;
  seg_path(0, ".index", path, sizeof(path));
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_gt(st.st_size, 0);
  ck_assert_int_eq(st.st_size % 8, 0);
}
END_TEST

/* Index entries reach the files in groups of SEG_INDEX_WRITE_ENTRIES; after a crash the files
 * lag the log, and the log still serves every offset and timestamp. */
START_TEST(index_files_are_written_in_groups) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  a.config.segment_bytes = 1 << 20;
  a.config.index_size_max = 64 * 1024;
  struct plog *log = open_log(&a);
  int64_t end = append_batches(log, 1000);
  char path[512];
  seg_path(0, ".index", path, sizeof(path));
  FILE *fp = fopen(path, "rb");
  ck_assert_ptr_nonnull(fp);
  uint8_t e[8];
  size_t written = 0;
  while (fread(e, 1, 8, fp) == 8 && (e[4] | e[5] | e[6] | e[7]) != 0) written++;
  fclose(fp);
  ck_assert_uint_eq(written, SEG_INDEX_WRITE_ENTRIES);
  plog_close(log, false); /* a crash: the last group never reached the files */
  a.recovery_point = end; /* everything was flushed: the segment is loaded, not scanned */
  log = open_log(&a);
  ck_assert_int_eq(plog_log_end(log), end);
  ck_assert_int_eq(read_all_checked(log, 1), end);
  for (int64_t target = 0; target < end; target += 97) {
    int64_t off, ts;
    ck_assert_int_eq(plog_find_offset_by_timestamp(log, 1000 + 10 * target, &off, &ts), 0);
    ck_assert_int_eq(off, target);
    struct plog_read_result r;
    ck_assert_int_eq(plog_read(log, target, 1, PLOG_NEVER, &r), 0);
    ck_assert_int_le(r.first_offset, target);
    ck_assert_int_gt(r.next_offset, target);
    plog_read_release(&r);
  }
  append_batches(log, 10);
  plog_close(log, true);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_uint_gt((size_t)st.st_size / 8, SEG_INDEX_WRITE_ENTRIES); /* all of them, trimmed */
}
END_TEST

/* The POSIX io, counting preads. */
struct counting_io {
  struct storage_io base;
  struct storage_io_ops ops;
  unsigned preads;
};

static int counting_pread(struct storage_io *io, int fd, void *buf, size_t size, uint64_t pos,
                          size_t *read_size) {
  struct counting_io *c = (struct counting_io *)io;
  c->preads++;
  return storage_io_posix()->ops->pread(io, fd, buf, size, pos, read_size);
}

static struct storage_io *counting_io_init(struct counting_io *c) {
  c->ops = *storage_io_posix()->ops;
  c->ops.pread = counting_pread;
  c->base.ops = &c->ops;
  c->preads = 0;
  return &c->base;
}

/* Reads from each of the last n batches (3 offsets each) up to the log end, checked; returns the
 * preads they took. */
static unsigned tail_read_preads(struct plog *log, struct counting_io *io, int n) {
  unsigned before = io->preads;
  for (int64_t off = plog_log_end(log) - 3 * n; off < plog_log_end(log); off++) {
    struct plog_read_result r;
    ck_assert_int_eq(plog_read(log, off, 1 << 20, PLOG_NEVER, &r), 0);
    ck_assert_int_eq(r.first_offset, off - off % 3);
    ck_assert_int_eq(r.next_offset, plog_log_end(log));
    plog_read_release(&r);
  }
  return io->preads - before;
}

/* Consumers at the tail: the active segment's last SEG_RECENT batch headers come from memory;
 * older ones, and everything after a truncation moved batch boundaries, are read and right. */
START_TEST(tail_reads_take_batch_headers_from_memory) {
  struct counting_io cio;
  struct plog_open_args a = small_args(counting_io_init(&cio), part_dir());
  a.config.segment_bytes = 1 << 20;
  struct plog *log = open_log(&a);
  append_batches(log, 3 * SEG_RECENT);
  /* a read's walk starts at an index entry (every 256 bytes: every other batch) at or before it */
  ck_assert_uint_eq(tail_read_preads(log, &cio, SEG_RECENT - 2), 0);
  ck_assert_uint_gt(tail_read_preads(log, &cio, 3 * SEG_RECENT), 0); /* the count counts */
  ck_assert_int_eq(read_all_checked(log, 1), 9 * SEG_RECENT);
  /* cut mid-log, then batches of another size: positions the old ones had now mean nothing */
  ck_assert_int_eq(plog_truncate(log, 3 * SEG_RECENT + 1), 0);
  ck_assert_int_eq(plog_log_end(log), 3 * SEG_RECENT);
  uint8_t buf[4096];
  struct plog_append_info info;
  for (int i = 0; i < SEG_RECENT; i++) {
    size_t size = make_batch(buf, 3, 1000, 10, 70);
    ck_assert_int_eq(plog_append(log, buf, size, 5, 1000, &info), 0);
  }
  ck_assert_uint_eq(tail_read_preads(log, &cio, SEG_RECENT - 2), 0);
  ck_assert_int_eq(read_all_checked(log, 1), 6 * SEG_RECENT);
  ck_assert_int_eq(read_all_checked(log, 700), 6 * SEG_RECENT);
  plog_close(log, true);
}
END_TEST

static uint64_t file_size_of(int64_t base) {
  char path[512];
  struct stat st;
  seg_path(base, ".log", path, sizeof(path));
  ck_assert_int_eq(stat(path, &st), 0);
  return (uint64_t)st.st_size;
}

/* The active segment's file runs ahead of its appends with zeros; a crash leaves them, and
 * recovery takes them for the end of the appends: nothing is cut, no later segment goes. */
START_TEST(zero_filled_tails_are_not_torn_writes) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  a.config.segment_bytes = 1 << 20;
  struct plog *log = open_log(&a);
  int64_t end = append_batches(log, 20);
  uint64_t data = plog_size(log);
  ck_assert_uint_gt(file_size_of(0), data);
  ck_assert_uint_ge(file_size_of(0), SEG_ZERO_FILL_MIN);
  plog_close(log, false); /* a crash: the zeros stay */
  a.recovery_point = 0;
  log = open_log(&a);
  ck_assert_int_eq(plog_log_end(log), end);
  ck_assert_int_eq(read_all_checked(log, 300), end);
  end = append_batches(log, 5);
  ck_assert_int_eq(read_all_checked(log, 300), end);
  data = plog_size(log);
  plog_close(log, true);
  ck_assert_uint_eq(file_size_of(0), data); /* a clean close cuts the zeros */

  /* a segment that was never trimmed (its trim failed at the roll) sits before a later one */
  a.config.segment_bytes = 2048;
  a.clean_shutdown = true;
  log = open_log(&a);
  end = append_batches(log, 30);
  ck_assert_uint_gt(plog_segment_count(log), 2);
  plog_close(log, true);
  char path[512];
  seg_path(0, ".log", path, sizeof(path));
  uint64_t first = file_size_of(0);
  ck_assert_int_eq(truncate(path, (off_t)(first + 4096)), 0);
  for (int clean = 0; clean < 2; clean++) {
    a.clean_shutdown = clean;
    a.recovery_point = clean ? end : 0;
    log = open_log(&a);
    ck_assert_int_eq(plog_log_end(log), end);
    ck_assert_int_eq(read_all_checked(log, 300), end);
    plog_close(log, true);
  }
  ck_assert_uint_eq(file_size_of(0), first);
}
END_TEST

START_TEST(power_loss_keeps_everything_reported_durable) {
  struct fault_io *f;
  ck_assert_int_eq(fault_io_create(&f), 0);
  struct storage_flusher *fl;
  ck_assert_int_eq(storage_flusher_start(true, &fl), 0);
  struct durable_probe probe;
  atomic_init(&probe.durable, 0);
  atomic_init(&probe.errors, 0);
  struct plog_open_args a = small_args(fault_io_base(f), part_dir());
  a.flusher = fl;
  a.on_durable = on_durable;
  a.on_durable_arg = &probe;
  for (int round = 0; round < (getenv("STRESS_ROUNDS") ? atoi(getenv("STRESS_ROUNDS")) : 5);
       round++) {
    struct plog *log = open_log(&a);
    int64_t start = plog_log_end(log);
    ck_assert_int_ge(start, atomic_load(&probe.durable));
    atomic_store(&probe.durable, start);
    append_batches(log, 10 + round * 7);
    /* wait for some of it to become durable, then keep appending and lose power */
    for (int i = 0; i < 2000 && atomic_load(&probe.durable) <= start; i++) usleep(1000);
    ck_assert_int_gt(atomic_load(&probe.durable), start);
    append_batches(log, 5);
    ck_assert_int_eq(atomic_load(&probe.errors), 0);
    ck_assert_int_eq(fault_io_power_loss(f), 0);
    int64_t durable = atomic_load(&probe.durable);
    plog_close(log, false); /* the flusher may have failed on the dead descriptors */
    atomic_store(&probe.durable, durable);
    atomic_store(&probe.errors, 0);
    a.clean_shutdown = false;
    a.recovery_point = 0;
    log = open_log(&a);
    ck_assert_int_ge(plog_log_end(log), durable);
    ck_assert_int_eq(read_all_checked(log, 300), plog_log_end(log));
    plog_close(log, true);
  }
  storage_flusher_stop(fl);
  fault_io_destroy(f);
}
END_TEST

START_TEST(enospc_fails_appends_until_space_returns) {
  struct fault_io *f;
  ck_assert_int_eq(fault_io_create(&f), 0);
  struct plog_open_args a = small_args(fault_io_base(f), part_dir());
  struct plog *log = open_log(&a);
  append_batches(log, 5);
  uint8_t buf[4096];
  size_t size = make_batch(buf, 3, 5000, 1, 40);
  fault_io_set_write_error(f, ENOSPC);
  int rc = plog_append(log, buf, size, -1, 0, NULL);
  ck_assert_int_eq(rc, -ENOSPC);
  ck_assert(plog_is_disk_error(rc));
  ck_assert_int_eq(plog_log_end(log), 15);
  ck_assert_int_eq(read_all_checked(log, 1 << 20), 15);
  fault_io_set_write_error(f, 0);
  ck_assert_int_eq(append_batches(log, 20), 75); /* rolls too, so file creation works again */
  /* a torn write: the append fails, readers never see the prefix, the next one succeeds */
  size = make_batch(buf, 3, 5000, 1, 40);
  fault_io_tear_next_write(f, 30, EIO);
  ck_assert_int_eq(plog_append(log, buf, size, -1, 0, NULL), -EIO);
  ck_assert_int_eq(read_all_checked(log, 1 << 20), 75);
  ck_assert_int_eq(append_batches(log, 1), 78);
  ck_assert_int_eq(plog_flush(log), 0);
  plog_close(log, false);
  log = open_log(&a);
  ck_assert_int_eq(plog_log_end(log), 78);
  ck_assert_int_eq(read_all_checked(log, 1), 78);
  /* a failed fdatasync fails the log */
  fault_io_set_sync_error(f, EIO);
  append_batches(log, 1);
  ck_assert_int_eq(plog_flush(log), -EIO);
  ck_assert_int_eq(plog_append(log, buf, size, -1, 0, NULL), -EIO);
  fault_io_set_sync_error(f, 0);
  plog_close(log, false);
  fault_io_destroy(f);
}
END_TEST

START_TEST(flush_disabled_makes_appends_durable_at_once) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  a.config.flush_messages = PLOG_NEVER;
  struct plog *log = open_log(&a);
  append_batches(log, 3);
  ck_assert_int_eq(plog_durable_end(log), 9);
  plog_close(log, true);
  a.config.flush_messages = 1;
  log = open_log(&a);
  append_batches(log, 3);
  ck_assert_int_eq(plog_durable_end(log), 9); /* no flusher: only plog_flush advances it */
  ck_assert_int_eq(plog_flush(log), 0);
  ck_assert_int_eq(plog_durable_end(log), 18);
  ck_assert_int_eq(plog_recovery_point(log), 18);
  plog_close(log, true);
}
END_TEST

START_TEST(changed_settings_apply_to_the_open_log) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  a.config.segment_bytes = 1 << 20;
  struct plog *log = open_log(&a);
  append_batches(log, 20);
  ck_assert_uint_eq(plog_segment_count(log), 1);
  struct plog_config c = a.config;
  c.segment_bytes = 1; /* every append rolls from now on */
  ck_assert_int_eq(plog_set_config(log, &c), 0);
  append_batches(log, 3);
  ck_assert_uint_eq(plog_segment_count(log), 4);
  c.flush_messages = PLOG_NEVER; /* flushing off: the appended end is durable at once */
  ck_assert_int_eq(plog_set_config(log, &c), 0);
  ck_assert_int_eq(plog_durable_end(log), plog_log_end(log));
  plog_set_high_watermark(log, plog_log_end(log));
  c.retention_bytes = 0; /* every inactive segment goes at the next run */
  ck_assert_int_eq(plog_set_config(log, &c), 0);
  size_t deleted = 0;
  ck_assert_int_eq(plog_retention_run(log, 2000, &deleted), 0);
  ck_assert_uint_eq(deleted, 3);
  ck_assert_uint_eq(plog_segment_count(log), 1);
  c.segment_bytes = 0;
  ck_assert_int_eq(plog_set_config(log, &c), -EINVAL);
  plog_close(log, true);
}
END_TEST

START_TEST(retention_deletes_exactly_the_expected_segments) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  uint8_t one[4096];
  a.config.segment_bytes = 4 * make_batch(one, 3, 0, 10, 40); /* 4 batches (12 offsets) each */
  struct plog *log = open_log(&a);
  append_batches(log, 40); /* 10 segments, timestamps up to 1000 + 10 * 119 */
  size_t segs = plog_segment_count(log);
  ck_assert_uint_eq(segs, 10);
  size_t deleted = 0;
  /* nothing goes before the high watermark passes it */
  a.config.retention_ms = 0;
  plog_close(log, true);
  a.clean_shutdown = true;
  log = open_log(&a);
  ck_assert_int_eq(plog_retention_run(log, 1 << 30, &deleted), 0);
  ck_assert_uint_eq(deleted, 0);
  plog_close(log, true);
  /* by time: segments 0 and 1 hold timestamps up to 1000 + 10 * 23 */
  a.config.retention_ms = 1000;
  log = open_log(&a);
  plog_set_high_watermark(log, 120);
  ck_assert_int_eq(plog_retention_run(log, 1000 + 10 * 23 + 1001, &deleted), 0);
  ck_assert_uint_eq(deleted, 2);
  ck_assert_int_eq(plog_log_start(log), 24);
  /* by size: keep at most 5 segments' bytes of the 8 left */
  uint64_t seg_size = plog_size(log) / 8;
  plog_close(log, true);
  a.config.retention_ms = -1;
  a.config.retention_bytes = (int64_t)(5 * seg_size);
  log = open_log(&a);
  plog_set_high_watermark(log, 120);
  ck_assert_int_eq(plog_retention_run(log, 0, &deleted), 0);
  ck_assert_uint_eq(deleted, 3);
  ck_assert_int_eq(plog_log_start(log), 60);
  /* by log start (DeleteRecords): to 100, inside segment 8 (96..107) */
  ck_assert_int_eq(plog_advance_log_start(log, 121), -ERANGE);
  ck_assert_int_eq(plog_advance_log_start(log, 100), 0);
  ck_assert_int_eq(plog_retention_run(log, 0, &deleted), 0);
  ck_assert_uint_eq(deleted, 3);
  ck_assert_int_eq(plog_log_start(log), 100);
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(log, 99, 1, PLOG_NEVER, &r), -ERANGE);
  ck_assert_int_eq(plog_read(log, 100, 1, PLOG_NEVER, &r), 0);
  ck_assert_int_eq(r.first_offset, 99);
  plog_read_release(&r);
  ck_assert_uint_eq(plog_segment_count(log), 2);
  plog_close(log, true);
}
END_TEST

START_TEST(checkpoints_round_trip_and_marker) {
  struct storage_io *io = storage_io_posix();
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", tmp_root, CKPT_RECOVERY_POINT);
  struct ckpt_offset in[2] = {{"orders", 0, 42}, {"__consumer_offsets", 17, 9000000000LL}};
  ck_assert_int_eq(ckpt_offsets_write(io, path, in, 2), 0);
  struct ckpt_offset *out;
  size_t n;
  ck_assert_int_eq(ckpt_offsets_read(io, path, &out, &n), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(out[1].topic, "__consumer_offsets");
  ck_assert_int_eq(out[1].partition, 17);
  ck_assert_int_eq(out[1].offset, 9000000000LL);
  free(out);
  snprintf(path, sizeof(path), "%s/%s", tmp_root, CKPT_LEADER_EPOCH);
  struct ckpt_epoch ein[2] = {{0, 0}, {3, 120}};
  ck_assert_int_eq(ckpt_epochs_write(io, path, ein, 2), 0);
  struct ckpt_epoch *eout;
  ck_assert_int_eq(ckpt_epochs_read(io, path, &eout, &n), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(eout[1].epoch, 3);
  ck_assert_int_eq(eout[1].start_offset, 120);
  free(eout);
  ck_assert(!ckpt_clean_marker_exists(io, tmp_root));
  ck_assert_int_eq(ckpt_clean_marker_write(io, tmp_root), 0);
  ck_assert(ckpt_clean_marker_exists(io, tmp_root));
  ck_assert_int_eq(ckpt_clean_marker_remove(io, tmp_root), 0);
  ck_assert(!ckpt_clean_marker_exists(io, tmp_root));
  char name[64];
  ck_assert_int_eq(ckpt_partition_dir_name("orders", 3, name, sizeof(name)), 0);
  ck_assert_str_eq(name, "orders-3");
}
END_TEST

START_TEST(power_loss_drops_unsynced_files_and_names) {
  struct fault_io *f;
  ck_assert_int_eq(fault_io_create(&f), 0);
  struct storage_io *io = fault_io_base(f);
  char a_path[512], b_path[512];
  snprintf(a_path, sizeof(a_path), "%s/a", tmp_root);
  snprintf(b_path, sizeof(b_path), "%s/b", tmp_root);
  ck_assert_int_eq(sio_write_atomic(io, a_path, "durable", 7), 0);
  int fd;
  ck_assert_int_eq(sio_open(io, b_path, O_RDWR | O_CREAT, &fd), 0);
  ck_assert_int_eq(sio_pwrite(io, fd, "lost", 4, 0), 0);
  ck_assert_int_eq(sio_fdatasync(io, fd), 0); /* contents synced, the name is not */
  ck_assert_int_eq(fault_io_power_loss(f), 0);
  ck_assert_int_eq(sio_pwrite(io, fd, "x", 1, 0), -EIO);
  sio_close(io, fd);
  char *text;
  ck_assert_int_eq(sio_read_all(io, a_path, 100, &text, NULL), 0);
  ck_assert_str_eq(text, "durable");
  free(text);
  ck_assert_int_ne(access(b_path, F_OK), 0);
  fault_io_destroy(f);
}
END_TEST

START_TEST(recovery_scans_only_after_recovery_point_unless_clean) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  struct plog *log = open_log(&a);
  append_batches(log, 40); /* segments of ~10 batches */
  ck_assert_uint_ge(plog_segment_count(log), 3);
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(log, 4, 1, PLOG_NEVER, &r), 0); /* in the first segment */
  uint64_t early_pos = r.position + r.size - 1;
  plog_read_release(&r);
  ck_assert_int_eq(plog_read(log, 115, 1, PLOG_NEVER, &r), 0); /* in the last segment */
  uint64_t late_pos = r.position + r.size - 1;
  int64_t late_base = r.first_offset;
  int64_t last_seg = r.first_offset;
  plog_read_release(&r);
  ck_assert_int_eq(plog_close(log, true), 0);
  char path[512];
  for (; last_seg >= 0; last_seg--) {
    seg_path(last_seg, ".log", path, sizeof(path));
    if (access(path, F_OK) == 0) break;
  }
  /* flip the last byte of a batch in the first and in the last segment */
  int64_t bases[2] = {0, last_seg};
  uint64_t positions[2] = {early_pos, late_pos};
  for (int i = 0; i < 2; i++) {
    seg_path(bases[i], ".log", path, sizeof(path));
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t byte;
    ck_assert_int_eq(pread(fd, &byte, 1, (off_t)positions[i]), 1);
    byte ^= 0x01;
    ck_assert_int_eq(pwrite(fd, &byte, 1, (off_t)positions[i]), 1);
    close(fd);
  }
  /* clean shutdown: nothing is scanned, the log is trusted as it is */
  a.clean_shutdown = true;
  log = open_log(&a);
  ck_assert_int_eq(plog_log_end(log), 120);
  plog_close(log, false);
  /* unclean, recovery point in the last segment: only that one is scanned */
  a.clean_shutdown = false;
  a.recovery_point = last_seg + 1;
  log = open_log(&a);
  ck_assert_int_eq(plog_log_end(log), late_base);
  plog_close(log, false);
  /* unclean from 0: the first corrupt batch ends the log */
  a.recovery_point = 0;
  log = open_log(&a);
  ck_assert_int_eq(plog_log_end(log), 3);
  ck_assert_uint_eq(plog_segment_count(log), 1);
  ck_assert_int_eq(read_all_checked(log, 1), 3);
  plog_close(log, true);
}
END_TEST

START_TEST(flusher_groups_appends_into_few_syncs) {
  struct fault_io *f;
  ck_assert_int_eq(fault_io_create(&f), 0);
  struct storage_flusher *fl;
  ck_assert_int_eq(storage_flusher_start(true, &fl), 0);
  struct durable_probe probe;
  atomic_init(&probe.durable, 0);
  atomic_init(&probe.errors, 0);
  struct plog_open_args a = small_args(fault_io_base(f), part_dir());
  a.config.segment_bytes = 1 << 20;
  a.flusher = fl;
  a.on_durable = on_durable;
  a.on_durable_arg = &probe;
  struct plog *log = open_log(&a);
  unsigned syncs_before = fault_io_sync_count(f);
  append_batches(log, 300);
  for (int i = 0; i < 5000 && atomic_load(&probe.durable) < 900; i++) usleep(1000);
  ck_assert_int_eq(atomic_load(&probe.durable), 900);
  ck_assert_int_eq(plog_durable_end(log), 900);
  ck_assert_int_eq(plog_recovery_point(log), 900);
  /* one fdatasync covers every append that arrived while the previous one ran */
  ck_assert_uint_lt(fault_io_sync_count(f) - syncs_before, 300);
  plog_close(log, true);
  /* flush.ms only: the durable end follows within about flush.ms */
  a.config.flush_messages = PLOG_NEVER;
  a.config.flush_ms = 20;
  a.clean_shutdown = true;
  log = open_log(&a);
  append_batches(log, 3);
  for (int i = 0; i < 5000 && atomic_load(&probe.durable) < 909; i++) usleep(1000);
  ck_assert_int_eq(plog_durable_end(log), 909);
  plog_close(log, true);
  ck_assert_int_eq(atomic_load(&probe.errors), 0);
  storage_flusher_stop(fl);
  fault_io_destroy(f);
}
END_TEST

/* Logs flushed by one flusher, in directories of their own, each with a batch made durable. */
enum { FLUSHED_LOGS_MAX = 6 };
struct flushed_logs {
  struct fault_io *f;
  struct storage_flusher *fl;
  int n;
  struct durable_probe probes[FLUSHED_LOGS_MAX];
  struct plog *logs[FLUSHED_LOGS_MAX];
  char dirs[FLUSHED_LOGS_MAX][300];
  struct plog_open_args args[FLUSHED_LOGS_MAX];
};

/* Waits until every log is durable to its end. */
static void flushed_logs_wait(struct flushed_logs *t) {
  for (int i = 0; i < t->n; i++) {
    int64_t end = plog_log_end(t->logs[i]);
    for (int k = 0; k < 5000 && atomic_load(&t->probes[i].durable) < end; k++) usleep(1000);
    ck_assert_int_eq(atomic_load(&t->probes[i].durable), end);
  }
}

static void flushed_logs_open(struct flushed_logs *t, int n, bool use_syncfs) {
  t->n = n;
  ck_assert_int_eq(fault_io_create(&t->f), 0);
  ck_assert_int_eq(storage_flusher_start(use_syncfs, &t->fl), 0);
  for (int i = 0; i < n; i++) {
    atomic_init(&t->probes[i].durable, 0);
    atomic_init(&t->probes[i].errors, 0);
    snprintf(t->dirs[i], sizeof(t->dirs[i]), "%s/flushed-%d", tmp_root, i);
    t->args[i] = small_args(fault_io_base(t->f), t->dirs[i]);
    t->args[i].config.segment_bytes = 1 << 20;
    t->args[i].flusher = t->fl;
    t->args[i].on_durable = on_durable;
    t->args[i].on_durable_arg = &t->probes[i];
    t->logs[i] = open_log(&t->args[i]);
    append_batches(t->logs[i], 1); /* writes the leader epoch file, itself synced at once */
  }
  flushed_logs_wait(t);
}

static void flushed_logs_close(struct flushed_logs *t) {
  storage_flusher_stop(t->fl);
  fault_io_destroy(t->f);
}

/* A flusher round over several logs: with use_syncfs one syncfs makes all of them durable, and
 * without it each gets its own fdatasync. Either way a power loss right after keeps exactly
 * what was reported durable, in every log. */
static void flush_round_check(bool use_syncfs) {
  enum { LOGS = 6 };
  struct flushed_logs t;
  flushed_logs_open(&t, LOGS, use_syncfs);
  struct fault_io *f = t.f;
  struct plog **logs = t.logs;
  /* the next append starts a round that waits in its sync; the rest pile up behind it */
  unsigned syncs_before = fault_io_sync_count(f);
  fault_io_hold_syncs(f, true);
  append_batches(logs[0], 1);
  usleep(20000);
  for (int i = 0; i < LOGS; i++) append_batches(logs[i], 2);
  fault_io_hold_syncs(f, false);
  flushed_logs_wait(&t);
  unsigned syncs = fault_io_sync_count(f) - syncs_before;
  if (use_syncfs) {
    ck_assert_uint_ge(fault_io_syncfs_count(f), 1);
    ck_assert_uint_le(syncs, 2);
  } else {
    ck_assert_uint_eq(fault_io_syncfs_count(f), 0);
    ck_assert_uint_ge(syncs, LOGS);
  }
  /* more appends that never get synced, then the power goes */
  fault_io_hold_syncs(f, true);
  for (int i = 0; i < LOGS; i++) append_batches(logs[i], 2);
  ck_assert_int_eq(fault_io_power_loss(f), 0);
  fault_io_hold_syncs(f, false);
  for (int i = 0; i < LOGS; i++) {
    int64_t durable = atomic_load(&t.probes[i].durable);
    plog_close(logs[i], false);
    t.args[i].clean_shutdown = false;
    t.args[i].recovery_point = 0;
    logs[i] = open_log(&t.args[i]);
    ck_assert_int_eq(plog_log_end(logs[i]), durable);
    ck_assert_int_eq(read_all_checked(logs[i], 300), durable);
    plog_close(logs[i], true);
  }
  flushed_logs_close(&t);
}

/* Zero fill is for logs whose flushes are fdatasyncs of their own: none with flushing off, and
 * none after a flush shared one syncfs with other logs. */
START_TEST(zero_fill_only_where_flushes_are_the_logs_own) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  a.config.segment_bytes = 1 << 20;
  a.config.flush_messages = PLOG_NEVER;
  struct plog *log = open_log(&a);
  append_batches(log, 20);
  ck_assert_uint_eq(file_size_of(0), plog_size(log));
  plog_close(log, true);

  struct flushed_logs t;
  flushed_logs_open(&t, 4, true);
  char path[512];
  snprintf(path, sizeof(path), "%.299s/%020d.log", t.dirs[1], 0);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  uint64_t filled = (uint64_t)st.st_size;
  ck_assert_uint_gt(filled, plog_size(t.logs[1])); /* flushed alone so far: zeros ahead */
  /* log 0's append starts a round that waits in its sync; the others pile up behind it and are
   * flushed together, by one syncfs */
  fault_io_hold_syncs(t.f, true);
  for (int i = 0; i < t.n; i++) append_batches(t.logs[i], 1);
  fault_io_hold_syncs(t.f, false);
  flushed_logs_wait(&t);
  ck_assert_uint_ge(fault_io_syncfs_count(t.f), 1);
  fault_io_hold_syncs(t.f, true); /* a round of log 1 alone would bring the zero fill back */
  while (plog_size(t.logs[1]) <= filled) append_batches(t.logs[1], 1); /* past the zeros */
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_uint_eq((uint64_t)st.st_size, plog_size(t.logs[1]));
  fault_io_hold_syncs(t.f, false);
  for (int i = 0; i < t.n; i++) plog_close(t.logs[i], true);
  flushed_logs_close(&t);
}
END_TEST

START_TEST(flusher_round_shares_one_syncfs) { flush_round_check(true); }
END_TEST

START_TEST(flusher_round_without_syncfs_syncs_each_file) { flush_round_check(false); }
END_TEST

START_TEST(replica_append_keeps_offsets) {
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  struct plog *log = open_log(&a);
  uint8_t buf[4096];
  size_t size = make_batch(buf, 3, 1000, 1, 40);
  rb_set_base_offset(buf, 0);
  ck_assert_int_eq(plog_append_replica(log, buf, size, 0, NULL), 0);
  rb_set_base_offset(buf, 2); /* overlaps the log end */
  ck_assert_int_eq(plog_append_replica(log, buf, size, 0, NULL), -EINVAL);
  rb_set_base_offset(buf, 10); /* a gap, as compaction leaves */
  struct plog_append_info info;
  ck_assert_int_eq(plog_append_replica(log, buf, size, 0, &info), 0);
  ck_assert_int_eq(info.base_offset, 10);
  ck_assert_int_eq(plog_log_end(log), 13);
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(log, 5, 1, PLOG_NEVER, &r), 0);
  ck_assert_int_eq(r.first_offset, 10);
  plog_read_release(&r);
  plog_close(log, true);
}
END_TEST

static void on_durable_pipe(void *arg, struct plog *log, int64_t durable_end, int err) {
  int fd = *(int *)arg;
  if (err == 0 && write(fd, &durable_end, sizeof(durable_end)) != sizeof(durable_end)) abort();
}

/* The child of the crash test: appends forever, reporting durable ends through the pipe. */
static void crash_child(int fd) {
  struct storage_flusher *fl;
  if (storage_flusher_start(true, &fl) != 0) _exit(2);
  struct plog_open_args a = small_args(storage_io_posix(), part_dir());
  a.config.segment_bytes = 64 * 1024;
  a.flusher = fl;
  a.on_durable = on_durable_pipe;
  a.on_durable_arg = &fd;
  struct plog *log;
  if (plog_open(&a, &log) != 0) _exit(3);
  uint8_t buf[4096];
  for (;;) {
    size_t size = make_batch(buf, 3, 1000, 10, 40);
    if (plog_append(log, buf, size, 0, 1000, NULL) != 0) _exit(4);
    usleep(200);
  }
}

START_TEST(kill_9_mid_append_loses_nothing_reported_durable) {
  int64_t durable_max = 0;
  for (int round = 0; round < 6; round++) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      crash_child(fds[1]);
    }
    close(fds[1]);
    /* let it run past a few durable reports, then kill it mid-flight */
    int64_t v;
    int reports = 0;
    while (reports < 3 + round * 5 && read(fds[0], &v, sizeof(v)) == sizeof(v)) {
      if (v > durable_max) durable_max = v;
      reports++;
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    ck_assert_msg(WIFSIGNALED(status), "child exit %d", WEXITSTATUS(status));
    while (read(fds[0], &v, sizeof(v)) == sizeof(v))
      if (v > durable_max) durable_max = v;
    close(fds[0]);
    struct plog_open_args a = small_args(storage_io_posix(), part_dir());
    a.config.segment_bytes = 64 * 1024;
    struct plog *log = open_log(&a);
    ck_assert_int_ge(plog_log_end(log), durable_max);
    ck_assert_int_eq(read_all_checked(log, 4096), plog_log_end(log));
    plog_close(log, false);
  }
}
END_TEST

static Suite *storage_suite(void) {
  Suite *s = suite_create("storage");
  TCase *tc = tcase_create("plog");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, append_assigns_offsets_and_reads_back_across_rolls);
  tcase_add_test(tc, read_bounds_offsets_bytes_and_high_watermark);
  tcase_add_test(tc, corrupt_or_oversized_appends_are_refused);
  tcase_add_test(tc, find_offset_by_timestamp_returns_first_record_at_or_after);
  tcase_add_test(tc, truncate_removes_whole_batches_and_appends_continue);
  tcase_add_test(tc, recovery_cuts_torn_tail_and_bit_flips);
  tcase_add_test(tc, missing_indexes_are_rebuilt);
  tcase_add_test(tc, index_files_are_written_in_groups);
  tcase_add_test(tc, tail_reads_take_batch_headers_from_memory);
  tcase_add_test(tc, zero_filled_tails_are_not_torn_writes);
  tcase_add_test(tc, recovery_ends_the_log_at_a_segment_that_lost_its_tail);
  tcase_add_test(tc, power_loss_keeps_everything_reported_durable);
  tcase_add_test(tc, enospc_fails_appends_until_space_returns);
  tcase_add_test(tc, flush_disabled_makes_appends_durable_at_once);
  tcase_add_test(tc, retention_deletes_exactly_the_expected_segments);
  tcase_add_test(tc, changed_settings_apply_to_the_open_log);
  tcase_add_test(tc, checkpoints_round_trip_and_marker);
  tcase_add_test(tc, power_loss_drops_unsynced_files_and_names);
  tcase_add_test(tc, recovery_scans_only_after_recovery_point_unless_clean);
  tcase_add_test(tc, flusher_groups_appends_into_few_syncs);
  tcase_add_test(tc, flusher_round_shares_one_syncfs);
  tcase_add_test(tc, zero_fill_only_where_flushes_are_the_logs_own);
  tcase_add_test(tc, flusher_round_without_syncfs_syncs_each_file);
  tcase_add_test(tc, replica_append_keeps_offsets);
  tcase_add_test(tc, kill_9_mid_append_loses_nothing_reported_durable);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(storage_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
