/* Unit tests of the log-dir manager (storage/logdir.c): partitions across log dirs, clean and
 * unclean reopen, checkpoint files, directory names, stray directories, deletion. */
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
#include "io_fault.h"
#include "logdir.h"
#include "record_batch.h"

/* ---- helpers ---- */

static char tmp_root[256], dir_a[300], dir_b[300];

static void setup(void) {
  test_tmpdir_create(tmp_root, sizeof(tmp_root), "logdir");
  snprintf(dir_a, sizeof(dir_a), "%s/a", tmp_root);
  snprintf(dir_b, sizeof(dir_b), "%s/b", tmp_root);
}

static void teardown(void) { test_tmpdir_remove(tmp_root); }

/* An uncompressed batch of count records with value_size-byte values. */
static size_t make_batch(uint8_t *buf, int count, int64_t ts0, size_t value_size) {
  struct test_batch t = test_batch_plain(count, ts0, 1, value_size);
  return test_batch_build(buf, &t);
}

/* Appends n batches of 3 records; returns the log end. */
static int64_t append_batches(struct plog *log, int n) {
  uint8_t buf[2048];
  struct plog_append_info info;
  for (int i = 0; i < n; i++) {
    size_t size = make_batch(buf, 3, 1000 + plog_log_end(log), 40);
    ck_assert_int_eq(plog_append(log, buf, size, 0, 1000, &info), 0);
  }
  return plog_log_end(log);
}

/* Reads the whole log, checking CRCs and contiguous offsets; returns the offsets seen. */
static int64_t read_all_checked(struct plog *log) {
  int64_t offset = plog_log_start(log), end = plog_log_end(log);
  uint8_t *buf = malloc(1 << 16);
  while (offset < end) {
    struct plog_read_result r;
    ck_assert_int_eq(plog_read(log, offset, 4096, PLOG_NEVER, &r), 0);
    ck_assert_uint_gt(r.size, 0);
    ck_assert_uint_le(r.size, 1 << 16);
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
    offset = r.next_offset;
    plog_read_release(&r);
  }
  free(buf);
  return offset - plog_log_start(log);
}

static struct logdir_config two_dirs(struct storage_io *io) {
  static const char *dirs[2];
  dirs[0] = dir_a;
  dirs[1] = dir_b;
  struct logdir_config c;
  memset(&c, 0, sizeof(c));
  c.io = io;
  c.dirs = dirs;
  c.dir_count = 2;
  plog_config_init(&c.defaults);
  c.defaults.segment_bytes = 2048;
  c.defaults.index_interval_bytes = 256;
  c.defaults.index_size_max = 4096;
  c.defaults.retention_ms = -1;
  return c;
}

static struct logdir *open_ok(const struct logdir_config *c, struct logdir_problems *p) {
  struct logdir *ld = NULL;
  struct logdir_problems local;
  int rc = logdir_open(c, 1000, &ld, p ? p : &local);
  if (rc != 0 && (p ? p : &local)->count > 0)
    fprintf(stderr, "logdir_open: %s: %s\n", (p ? p : &local)->items[0].path,
            (p ? p : &local)->items[0].reason);
  ck_assert_int_eq(rc, 0);
  if (p == NULL) {
    ck_assert_uint_eq(local.count, 0);
    logdir_problems_free(&local);
  }
  return ld;
}

static struct plog *create_ok(struct logdir *ld, const char *topic, int32_t partition) {
  struct plog *log = NULL;
  ck_assert_int_eq(logdir_create(ld, topic, partition, NULL, 1000, &log), 0);
  ck_assert_ptr_nonnull(log);
  return log;
}

static bool exists(const char *dir, const char *name) {
  char path[600];
  struct stat st;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  return stat(path, &st) == 0;
}

static char *read_text(const char *dir, const char *name) {
  char path[600];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void make_dir(const char *dir, const char *name) {
  char path[600];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void write_file(const char *dir, const char *name, const char *text) {
  char path[600];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

static size_t count_entries_with_suffix(const char *dir, const char *suffix) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  size_t n = 0, m = strlen(suffix);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len >= m && strcmp(e->d_name + len - m, suffix) == 0) n++;
  }
  closedir(d);
  return n;
}

static const char *const names[4] = {"orders", "my-topic", "a-b-c", "orders"};
static const int32_t parts[4] = {0, 3, 1, 1};

/* ---- tests ---- */

START_TEST(partitions_spread_across_dirs_and_reopen_clean_without_scan) {
  struct fault_io *f;
  ck_assert_int_eq(fault_io_create(&f), 0);
  struct logdir_config c = two_dirs(fault_io_base(f));
  struct logdir *ld = open_ok(&c, NULL);
  ck_assert_uint_eq(logdir_dir_count(ld), 2);
  int64_t ends[4];
  for (int i = 0; i < 4; i++) {
    struct plog *log = create_ok(ld, names[i], parts[i]);
    ends[i] = append_batches(log, 20 + i * 5); /* several segments each */
    ck_assert_uint_gt(plog_segment_count(log), 1);
  }
  /* fewest partitions first: alternating a, b, a, b */
  ck_assert_uint_eq(logdir_dir_partitions(ld, 0), 2);
  ck_assert_uint_eq(logdir_dir_partitions(ld, 1), 2);
  ck_assert(exists(dir_a, "orders-0") && exists(dir_b, "my-topic-3"));
  ck_assert(exists(dir_a, "a-b-c-1") && exists(dir_b, "orders-1"));
  ck_assert_int_eq(logdir_close(ld, true), 0);
  ck_assert(ckpt_clean_marker_exists(storage_io_posix(), dir_a));
  ck_assert(ckpt_clean_marker_exists(storage_io_posix(), dir_b));

  /* a clean reopen loads every segment without scanning: the only fdatasyncs are the two
   * checkpoint files per dir (a scan would sync every scanned segment) */
  unsigned syncs = fault_io_sync_count(f);
  ld = open_ok(&c, NULL);
  ck_assert_uint_eq(fault_io_sync_count(f) - syncs, 4);
  ck_assert(!ckpt_clean_marker_exists(storage_io_posix(), dir_a));
  ck_assert(!ckpt_clean_marker_exists(storage_io_posix(), dir_b));
  ck_assert_uint_eq(logdir_count(ld), 4);
  for (int i = 0; i < 4; i++) {
    struct plog *log = logdir_find(ld, names[i], parts[i]);
    ck_assert_ptr_nonnull(log);
    ck_assert_int_eq(plog_log_end(log), ends[i]);
    ck_assert_int_eq(read_all_checked(log), ends[i]);
    ck_assert_int_eq(append_batches(log, 1), ends[i] + 3);
  }
  ck_assert_ptr_null(logdir_find(ld, "orders", 2));
  ck_assert_ptr_null(logdir_find(ld, "my-topic", 0));
  /* iteration is sorted by (topic, partition) */
  const char *t, *dir;
  int32_t p;
  ck_assert_ptr_nonnull(logdir_at(ld, 0, &t, &p, &dir));
  ck_assert_str_eq(t, "a-b-c");
  ck_assert_str_eq(dir, dir_a);
  ck_assert_ptr_nonnull(logdir_at(ld, 3, &t, &p, NULL));
  ck_assert_str_eq(t, "orders");
  ck_assert_int_eq(p, 1);
  ck_assert_ptr_null(logdir_at(ld, 4, NULL, NULL, NULL));
  /* a new partition goes to the emptier dir */
  struct plog *extra = NULL;
  ck_assert_int_eq(logdir_create(ld, "orders", 0, NULL, 1000, &extra), -EEXIST);
  ck_assert_ptr_eq(extra, logdir_find(ld, "orders", 0));
  ck_assert_int_eq(logdir_create(ld, "bad topic", 0, NULL, 1000, &extra), -EINVAL);
  ck_assert_int_eq(logdir_create(ld, "orders", -1, NULL, 1000, &extra), -EINVAL);
  ck_assert_int_eq(logdir_close(ld, true), 0);
  fault_io_destroy(f);
}
END_TEST

START_TEST(unclean_reopen_recovers) {
  struct fault_io *f;
  ck_assert_int_eq(fault_io_create(&f), 0);
  struct logdir_config c = two_dirs(fault_io_base(f));
  struct logdir *ld = open_ok(&c, NULL);
  struct plog *l0 = create_ok(ld, "t", 0), *l1 = create_ok(ld, "t", 1);
  /* no flusher: only plog_flush syncs. 20 batches synced, 5 more that a power loss takes */
  append_batches(l0, 20);
  append_batches(l1, 20);
  ck_assert_int_eq(plog_flush(l0), 0);
  ck_assert_int_eq(plog_flush(l1), 0);
  ck_assert_int_eq(logdir_checkpoint(ld, LOGDIR_CKPT_ALL), 0);
  append_batches(l0, 5);
  append_batches(l1, 5);
  ck_assert_int_eq(fault_io_power_loss(f), 0);
  ck_assert_int_eq(logdir_close(ld, false), 0); /* unclean: nothing written */
  ck_assert(!ckpt_clean_marker_exists(storage_io_posix(), dir_a));
  ck_assert(!ckpt_clean_marker_exists(storage_io_posix(), dir_b));

  /* a torn tail on top: garbage after the last batch of t-1's active segment */
  char path[600];
  snprintf(path, sizeof(path), "%s/t-1", dir_b);
  DIR *d = opendir(path);
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  char last[256] = "";
  while ((e = readdir(d)) != NULL)
    if (strlen(e->d_name) == 24 && strcmp(e->d_name + 20, ".log") == 0 &&
        strcmp(e->d_name, last) > 0)
      snprintf(last, sizeof(last), "%s", e->d_name);
  closedir(d);
  ck_assert_str_ne(last, "");
  snprintf(path, sizeof(path), "%s/t-1/%s", dir_b, last);
  FILE *fp = fopen(path, "a");
  ck_assert_ptr_nonnull(fp);
  fputs("torn torn torn torn torn", fp);
  fclose(fp);

  unsigned syncs = fault_io_sync_count(f);
  ld = open_ok(&c, NULL);
  ck_assert_uint_gt(fault_io_sync_count(f) - syncs, 4); /* recovery scanned and synced */
  for (int32_t p = 0; p < 2; p++) {
    struct plog *log = logdir_find(ld, "t", p);
    ck_assert_ptr_nonnull(log);
    ck_assert_int_eq(plog_log_end(log), 60);
    ck_assert_int_eq(read_all_checked(log), 60);
    ck_assert_int_eq(plog_recovery_point(log), 60);
    ck_assert_int_eq(append_batches(log, 1), 63);
  }
  ck_assert_int_eq(logdir_close(ld, true), 0);
  fault_io_destroy(f);
}
END_TEST

START_TEST(checkpoint_files_are_kafkas_format) {
  struct logdir_config c = two_dirs(storage_io_posix());
  c.dir_count = 1;
  struct logdir *ld = open_ok(&c, NULL);
  /* a fresh log dir gets both files at once, empty */
  ck_assert_str_eq(read_text(dir_a, CKPT_RECOVERY_POINT), "0\n0\n");
  ck_assert_str_eq(read_text(dir_a, CKPT_LOG_START), "0\n0\n");
  struct plog *mt0 = create_ok(ld, "my-topic", 0);
  create_ok(ld, "my-topic", 1);
  struct plog *a0 = create_ok(ld, "a", 0);
  append_batches(mt0, 2);
  ck_assert_int_eq(plog_flush(mt0), 0);
  append_batches(mt0, 1); /* not flushed: the recovery point stays at 6 */
  append_batches(a0, 1);
  ck_assert_int_eq(plog_flush(a0), 0);
  plog_set_high_watermark(mt0, 9);
  ck_assert_int_eq(plog_advance_log_start(mt0, 3), 0);
  ck_assert_int_eq(logdir_checkpoint(ld, LOGDIR_CKPT_RECOVERY), 0);
  ck_assert_str_eq(read_text(dir_a, CKPT_RECOVERY_POINT),
                   "0\n3\na 0 3\nmy-topic 0 6\nmy-topic 1 0\n");
  ck_assert_str_eq(read_text(dir_a, CKPT_LOG_START), "0\n0\n"); /* not asked for */
  ck_assert_int_eq(logdir_checkpoint(ld, LOGDIR_CKPT_LOG_START), 0);
  ck_assert_str_eq(read_text(dir_a, CKPT_LOG_START), "0\n3\na 0 0\nmy-topic 0 3\nmy-topic 1 0\n");
  ck_assert_int_eq(logdir_checkpoint(ld, 0), -EINVAL);

  /* a snapshot taken before a delete and written after it does not bring the partition back */
  struct logdir_checkpoint *old;
  ck_assert_int_eq(logdir_checkpoint_prepare(ld, LOGDIR_CKPT_ALL, &old), 0);
  ck_assert_int_eq(logdir_delete(ld, "my-topic", 1), 0);
  ck_assert_int_eq(logdir_checkpoint_write(old), 0);
  logdir_checkpoint_free(old);
  ck_assert_str_eq(read_text(dir_a, CKPT_RECOVERY_POINT), "0\n2\na 0 3\nmy-topic 0 6\n");

  /* clean close: the recovery point is the log end */
  ck_assert_int_eq(logdir_close(ld, true), 0);
  ck_assert_str_eq(read_text(dir_a, CKPT_RECOVERY_POINT), "0\n2\na 0 3\nmy-topic 0 9\n");
  ck_assert_str_eq(read_text(dir_a, CKPT_LOG_START), "0\n2\na 0 0\nmy-topic 0 3\n");
  ck_assert_str_eq(read_text(dir_a, CKPT_CLEAN_SHUTDOWN), "");

  /* the checkpointed log start is applied on reopen; a malformed file is a problem, not fatal */
  write_file(dir_a, CKPT_RECOVERY_POINT, "0\n2\ngarbage\n");
  struct logdir_problems probs;
  ld = open_ok(&c, &probs);
  ck_assert_uint_eq(probs.count, 1);
  ck_assert(strstr(probs.items[0].path, CKPT_RECOVERY_POINT) != NULL);
  ck_assert_int_eq(probs.items[0].err, -EBADMSG);
  logdir_problems_free(&probs);
  ck_assert_int_eq(plog_log_start(logdir_find(ld, "my-topic", 0)), 3);
  ck_assert_int_eq(plog_log_end(logdir_find(ld, "my-topic", 0)), 9);
  /* and rewritten at open */
  ck_assert_str_eq(read_text(dir_a, CKPT_RECOVERY_POINT), "0\n2\na 0 3\nmy-topic 0 9\n");
  ck_assert_int_eq(logdir_close(ld, true), 0);
}
END_TEST

START_TEST(partition_dir_names_parse_like_kafka) {
  char topic[250];
  int32_t p = -1;
  ck_assert(logdir_parse_partition_dir("my-topic-3", topic, &p));
  ck_assert_str_eq(topic, "my-topic");
  ck_assert_int_eq(p, 3);
  ck_assert(logdir_parse_partition_dir("a-b-c-0", topic, &p));
  ck_assert_str_eq(topic, "a-b-c");
  ck_assert_int_eq(p, 0);
  ck_assert(logdir_parse_partition_dir("__consumer_offsets-49", topic, &p));
  ck_assert_str_eq(topic, "__consumer_offsets");
  ck_assert_int_eq(p, 49);
  ck_assert(logdir_parse_partition_dir("t--1", topic, &p)); /* topic "t-", partition 1 */
  ck_assert_str_eq(topic, "t-");
  ck_assert(logdir_parse_partition_dir("x-2147483647", topic, &p));
  ck_assert_int_eq(p, 2147483647);
  static const char *const bad[] = {
      "topic",    "topic-",           "-3",          "topic-03",   "topic-+3",
      "topic-3x", "topic-2147483648", "bad topic-1", "lost+found", "..-1",
      ".-0",      "t-1.abc-delete",   "t-1-future",  "",           "t-99999999999999999999"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ck_assert_msg(!logdir_parse_partition_dir(bad[i], topic, &p), "%s parsed", bad[i]);
  char long_name[300];
  memset(long_name, 'x', 250);
  snprintf(long_name + 250, sizeof(long_name) - 250, "-0");
  ck_assert(!logdir_parse_partition_dir(long_name, topic, &p)); /* topic of 250 chars */
  long_name[249] = '\0';
  ck_assert(logdir_topic_valid(long_name));
  ck_assert(!logdir_topic_valid(""));
  ck_assert(!logdir_topic_valid("a/b"));

  /* and on disk: a topic with dashes survives a reopen */
  struct logdir_config c = two_dirs(storage_io_posix());
  struct logdir *ld = open_ok(&c, NULL);
  append_batches(create_ok(ld, "my-topic", 3), 2);
  ck_assert(exists(dir_a, "my-topic-3"));
  ck_assert_int_eq(logdir_close(ld, true), 0);
  ld = open_ok(&c, NULL);
  struct plog *log = logdir_find(ld, "my-topic", 3);
  ck_assert_ptr_nonnull(log);
  ck_assert_int_eq(plog_log_end(log), 6);
  ck_assert_ptr_null(logdir_find(ld, "my", 3));
  ck_assert_ptr_null(logdir_find(ld, "my-topic-3", 0));
  ck_assert_int_eq(logdir_close(ld, true), 0);
}
END_TEST

START_TEST(stray_directories_are_reported_not_fatal) {
  struct logdir_config c = two_dirs(storage_io_posix());
  struct logdir *ld = open_ok(&c, NULL);
  append_batches(create_ok(ld, "good", 0), 3);
  ck_assert_int_eq(logdir_close(ld, true), 0);
  make_dir(dir_a, "lost+found");
  make_dir(dir_b, "not_a_partition");
  make_dir(dir_b, "good-07");
  make_dir(dir_b, "x-0-future");
  write_file(dir_a, "meta.properties", "version=1\n"); /* files are not looked at */
  write_file(dir_b, "foo-1", "a file, not a directory");
  /* a deletion interrupted before the removal: finished now */
  make_dir(dir_b, "gone-2.0123456789abcdef0123456789abcdef-delete");
  char del[400];
  snprintf(del, sizeof(del), "%s/gone-2.0123456789abcdef0123456789abcdef-delete", dir_b);
  write_file(del, "00000000000000000000.log", "x");

  struct logdir_problems probs;
  ld = open_ok(&c, &probs);
  ck_assert_uint_eq(probs.count, 4);
  const char *want[4] = {"a/lost+found", "b/good-07", "b/not_a_partition", "b/x-0-future"};
  for (size_t i = 0; i < 4; i++) {
    bool seen = false;
    for (size_t j = 0; j < probs.count; j++)
      if (strstr(probs.items[j].path, want[i]) != NULL) seen = true;
    ck_assert_msg(seen, "%s not reported", want[i]);
  }
  logdir_problems_free(&probs);
  ck_assert_uint_eq(count_entries_with_suffix(dir_b, "-delete"), 0);
  ck_assert(exists(dir_b, "not_a_partition")); /* left alone */
  ck_assert_uint_eq(logdir_count(ld), 1);
  ck_assert_int_eq(read_all_checked(logdir_find(ld, "good", 0)), 9);
  ck_assert_int_eq(logdir_close(ld, true), 0);

  /* the same partition in two log dirs is fatal, as in Kafka */
  make_dir(dir_b, "good-0");
  struct logdir *ld2 = NULL;
  ck_assert_int_eq(logdir_open(&c, 1000, &ld2, &probs), -EEXIST);
  ck_assert_uint_ge(probs.count, 1);
  ck_assert(strstr(probs.items[probs.count - 1].path, "b/good-0") != NULL);
  logdir_problems_free(&probs);
  /* the failed open left the markers as they were: nothing was appended */
  ck_assert(ckpt_clean_marker_exists(storage_io_posix(), dir_a));
  /* a log dir listed twice */
  const char *twice[2] = {dir_a, dir_a};
  c.dirs = twice;
  ck_assert_int_eq(logdir_open(&c, 1000, &ld2, NULL), -EINVAL);
}
END_TEST

START_TEST(delete_removes_the_partition) {
  struct logdir_config c = two_dirs(storage_io_posix());
  struct logdir *ld = open_ok(&c, NULL);
  struct plog *log = create_ok(ld, "doomed", 0);
  create_ok(ld, "kept", 0);
  append_batches(log, 10);
  /* an in-flight read keeps its file range valid across the delete */
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(log, 0, 4096, PLOG_NEVER, &r), 0);
  ck_assert_int_eq(logdir_checkpoint(ld, LOGDIR_CKPT_ALL), 0);
  ck_assert(strstr(read_text(dir_a, CKPT_RECOVERY_POINT), "doomed 0") != NULL);
  ck_assert_int_eq(logdir_delete(ld, "doomed", 0), 0);
  uint8_t hdr[RB_HEADER_SIZE];
  ck_assert_int_eq(pread(r.fd, hdr, sizeof(hdr), (off_t)r.position), (ssize_t)sizeof(hdr));
  plog_read_release(&r);
  ck_assert_ptr_null(logdir_find(ld, "doomed", 0));
  ck_assert(!exists(dir_a, "doomed-0"));
  ck_assert_uint_eq(count_entries_with_suffix(dir_a, "-delete"), 0);
  ck_assert(strstr(read_text(dir_a, CKPT_RECOVERY_POINT), "doomed") == NULL);
  ck_assert(strstr(read_text(dir_a, CKPT_LOG_START), "doomed") == NULL);
  ck_assert_uint_eq(logdir_dir_partitions(ld, 0), 0);
  ck_assert_uint_eq(logdir_count(ld), 1);
  ck_assert_int_eq(logdir_delete(ld, "doomed", 0), -ENOENT);
  /* created again: an empty log, in the emptier dir */
  log = create_ok(ld, "doomed", 0);
  ck_assert_int_eq(plog_log_end(log), 0);
  ck_assert(exists(dir_a, "doomed-0"));
  ck_assert_int_eq(logdir_close(ld, true), 0);
  ld = open_ok(&c, NULL);
  ck_assert_int_eq(plog_log_end(logdir_find(ld, "doomed", 0)), 0);
  /* a long topic: the -delete name is cut to 255 bytes */
  char topic[250];
  memset(topic, 't', 249);
  topic[249] = '\0';
  ck_assert_int_eq(logdir_create(ld, topic, 100000, NULL, 1000, NULL), -EINVAL);
  append_batches(create_ok(ld, topic, 99999), 1);
  ck_assert_int_eq(logdir_delete(ld, topic, 99999), 0);
  ck_assert_ptr_null(logdir_find(ld, topic, 99999));
  ck_assert_uint_eq(count_entries_with_suffix(dir_a, "-delete"), 0);
  ck_assert_uint_eq(count_entries_with_suffix(dir_b, "-delete"), 0);
  ck_assert_int_eq(logdir_close(ld, true), 0);
}
END_TEST

START_TEST(failed_close_writes_no_marker) {
  struct fault_io *f;
  ck_assert_int_eq(fault_io_create(&f), 0);
  struct logdir_config c = two_dirs(fault_io_base(f));
  struct logdir *ld = open_ok(&c, NULL);
  append_batches(create_ok(ld, "t", 0), 3);
  append_batches(create_ok(ld, "t", 1), 3);
  fault_io_set_sync_error(f, EIO);
  ck_assert_int_eq(logdir_close(ld, true), -EIO);
  fault_io_set_sync_error(f, 0);
  ck_assert(!ckpt_clean_marker_exists(storage_io_posix(), dir_a));
  ck_assert(!ckpt_clean_marker_exists(storage_io_posix(), dir_b));
  /* the data is still there (this was no power loss): the unclean reopen finds it */
  ld = open_ok(&c, NULL);
  ck_assert_int_eq(plog_log_end(logdir_find(ld, "t", 0)), 9);
  ck_assert_int_eq(read_all_checked(logdir_find(ld, "t", 1)), 9);
  ck_assert_int_eq(logdir_close(ld, true), 0);
  fault_io_destroy(f);
}
END_TEST

static Suite *logdir_suite(void) {
  Suite *s = suite_create("logdir");
  TCase *tc = tcase_create("logdir");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, partitions_spread_across_dirs_and_reopen_clean_without_scan);
  tcase_add_test(tc, unclean_reopen_recovers);
  tcase_add_test(tc, checkpoint_files_are_kafkas_format);
  tcase_add_test(tc, partition_dir_names_parse_like_kafka);
  tcase_add_test(tc, stray_directories_are_reported_not_fatal);
  tcase_add_test(tc, delete_removes_the_partition);
  tcase_add_test(tc, failed_close_writes_no_marker);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(logdir_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
