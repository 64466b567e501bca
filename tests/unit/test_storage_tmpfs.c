/* ENOSPC on a real filesystem: a 4 MiB tmpfs mounted for the suite (we run as root in CI; where
 * mount(2) is refused with EPERM the tests say so and pass). The partition log is filled until
 * the kernel says ENOSPC; readers must never see a partial batch, the log must reopen, and once
 * space is freed appends must succeed again on the same open log. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch_build.h"
#include "plog.h"
#include "record_batch.h"

static char tmp_root[256], mnt[300], ballast[400];
static int mount_err; /* 0: mounted; else the errno that made the suite skip */

/* Unchecked fixture (runs in the parent process): the mount outlives a crashing test and is
 * always undone. */
static void mount_setup(void) {
  test_tmpdir_create(tmp_root, sizeof(tmp_root), "tmpfs");
  snprintf(mnt, sizeof(mnt), "%s/mnt", tmp_root);
  ck_assert_int_eq(mkdir(mnt, 0755), 0);
  mount_err = mount("tmpfs", mnt, "tmpfs", 0, "size=4m") == 0 ? 0 : errno;
  if (mount_err == EPERM || mount_err == EACCES)
    fprintf(stderr, "SKIP tmpfs ENOSPC tests: mount(2) of a tmpfs refused (%s); run as root\n",
            strerror(mount_err));
  else
    ck_assert_msg(mount_err == 0, "mount tmpfs: %s", strerror(mount_err));
}

static void mount_teardown(void) {
  if (mount_err == 0 && umount2(mnt, MNT_DETACH) != 0) perror("umount tmpfs");
  test_tmpdir_remove(tmp_root);
}

/* Each test starts on an empty filesystem holding only a 512 KiB ballast file. */
static void fs_setup(void) {
  if (mount_err != 0) return;
  char cmd[400];
  snprintf(cmd, sizeof(cmd), "find '%s' -mindepth 1 -delete", mnt);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(ballast, sizeof(ballast), "%s/ballast", mnt);
  int fd = open(ballast, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ck_assert_int_ge(fd, 0);
  static char block[64 * 1024];
  memset(block, 'x', sizeof(block));
  for (int i = 0; i < 8; i++)
    ck_assert_int_eq(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
  close(fd);
}

static bool skipped(void) { return mount_err != 0; }

static struct plog_open_args tmpfs_args(void) {
  static char dir[400];
  snprintf(dir, sizeof(dir), "%s/topic-0", mnt);
  struct plog_open_args a;
  memset(&a, 0, sizeof(a));
  a.io = storage_io_posix();
  a.dir = dir;
  plog_config_init(&a.config);
  a.config.segment_bytes = 512 * 1024;
  a.config.index_size_max = 16 * 1024;
  a.config.retention_ms = -1;
  a.now_ms = 1000;
  return a;
}

/* A ~15 KiB batch of 16 records. */
static size_t big_batch(uint8_t *buf) {
  struct test_batch t = test_batch_plain(16, 1000, 1, 900);
  return test_batch_build(buf, &t);
}

/* Reads the whole log, checking every batch's CRC and that offsets are contiguous; returns the
 * number of offsets seen. */
static int64_t read_all_checked(struct plog *log) {
  int64_t offset = plog_log_start(log), end = plog_log_end(log);
  uint8_t *buf = malloc(1 << 20);
  while (offset < end) {
    struct plog_read_result r;
    ck_assert_int_eq(plog_read(log, offset, 256 * 1024, PLOG_NEVER, &r), 0);
    ck_assert_uint_gt(r.size, 0);
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

/* Appends big batches until one fails; returns that error. */
static int fill(struct plog *log, uint8_t *buf, size_t size) {
  for (int i = 0; i < 10000; i++) {
    int rc = plog_append(log, buf, size, 0, 1000, NULL);
    if (rc != 0) return rc;
  }
  ck_abort_msg("a 4 MiB filesystem took 150 MiB");
  return 0;
}

START_TEST(enospc_on_tmpfs_then_space_freed_appends_resume) {
  if (skipped()) return;
  struct plog_open_args a = tmpfs_args();
  struct plog *log = NULL;
  ck_assert_int_eq(plog_open(&a, &log), 0);
  uint8_t *buf = malloc(64 * 1024);
  size_t size = big_batch(buf);
  int rc = fill(log, buf, size);
  ck_assert_msg(rc == -ENOSPC, "fill ended with %d", rc);
  ck_assert(plog_is_disk_error(rc));
  ck_assert_int_eq(plog_failed(log), 0); /* a refused append does not fail the log */
  int64_t end = plog_log_end(log);
  ck_assert_int_gt(end, 16 * 100); /* most of the 3.5 MiB left was used */
  /* still full: the same batch is refused again, nothing changes */
  ck_assert_int_eq(plog_append(log, buf, size, 0, 1000, NULL), -ENOSPC);
  ck_assert_int_eq(plog_log_end(log), end);
  /* readers see every whole batch and nothing of the failed ones */
  ck_assert_int_eq(read_all_checked(log), end);
  ck_assert_int_eq(plog_flush(log), 0);

  /* space comes back: the same open log appends again */
  ck_assert_int_eq(unlink(ballast), 0);
  for (int i = 0; i < 10; i++) ck_assert_int_eq(plog_append(log, buf, size, 0, 1000, NULL), 0);
  ck_assert_int_eq(plog_log_end(log), end + 160);
  ck_assert_int_eq(read_all_checked(log), end + 160);
  /* until the disk is full again */
  ck_assert_int_eq(fill(log, buf, size), -ENOSPC);
  int64_t end2 = plog_log_end(log);
  ck_assert_int_eq(read_all_checked(log), end2);
  plog_close(log, false);

  /* the full disk's log reopens (recovery scans and rebuilds the indexes in place) */
  a.recovery_point = 0;
  ck_assert_int_eq(plog_open(&a, &log), 0);
  ck_assert_int_eq(plog_log_end(log), end2);
  ck_assert_int_eq(read_all_checked(log), end2);
  ck_assert_int_eq(plog_append(log, buf, size, 0, 1000, NULL), -ENOSPC);
  plog_close(log, false);
  free(buf);
}
END_TEST

START_TEST(enospc_on_tmpfs_small_batches_fill_the_last_bytes) {
  /* after the big batches stop, smaller ones may still fit: each either lands whole or fails */
  if (skipped()) return;
  struct plog_open_args a = tmpfs_args();
  struct plog *log = NULL;
  ck_assert_int_eq(plog_open(&a, &log), 0);
  uint8_t *buf = malloc(64 * 1024);
  size_t size = big_batch(buf);
  ck_assert_int_eq(fill(log, buf, size), -ENOSPC);
  struct test_batch t = test_batch_plain(2, 1000, 1, 100);
  size = test_batch_build(buf, &t);
  int rc;
  while ((rc = plog_append(log, buf, size, 0, 1000, NULL)) == 0) {
  }
  ck_assert_int_eq(rc, -ENOSPC);
  int64_t end = plog_log_end(log);
  ck_assert_int_eq(read_all_checked(log), end);
  plog_close(log, false);
  a.recovery_point = 0;
  ck_assert_int_eq(plog_open(&a, &log), 0);
  ck_assert_int_eq(plog_log_end(log), end);
  ck_assert_int_eq(read_all_checked(log), end);
  plog_close(log, false);
  free(buf);
}
END_TEST

static Suite *tmpfs_suite(void) {
  Suite *s = suite_create("tmpfs");
  TCase *tc = tcase_create("enospc");
  tcase_add_unchecked_fixture(tc, mount_setup, mount_teardown);
  tcase_add_checked_fixture(tc, fs_setup, NULL);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, enospc_on_tmpfs_then_space_freed_appends_resume);
  tcase_add_test(tc, enospc_on_tmpfs_small_batches_fill_the_last_bytes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(tmpfs_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
