/* storage-bench: figures for the partition log (issue 4). Prints numbers; asserts nothing about
 * speed (performance is never a timed test).
 *
 * Throughput mode (default):
 *   storage-bench --dir DIR [--bytes 1G] [--batch-bytes 16K] [--batch-bytes 1M]
 *                 [--record-bytes 1K] [--fetch-bytes 1M] [--sendfile] [--cold] [--keep]
 * For each --batch-bytes (default: 16 KiB, then 1 MiB) a fresh partition directory
 * DIR/storage-bench-<pid>/bench-<n> is appended --bytes of records (each record's value is
 * --record-bytes; a batch holds as many records as fit in --batch-bytes, and so is at most that
 * size) through plog_append with Quire's default flush policy (flush.messages=1: every append is
 * due, group commit on the flusher thread, storage_flusher_start + on_durable). One RecordBatch v2
 * (valid CRC-32C) is built once and re-appended: plog_append rewrites baseOffset in place, which
 * the CRC does not cover. Append time runs from the first append until on_durable reports the
 * last offset durable. Then the log is read back from offset 0 with plog_read (--fetch-bytes a
 * request, Kafka's max.partition.fetch.bytes) + pread into a buffer, and with --sendfile a second
 * pass sends the same ranges to /dev/null. --cold drops the log's pages from the page cache
 * (fdatasync + posix_fadvise DONTNEED of this benchmark's own files only) before reading.
 * MB is 10^6 bytes. fdatasyncs are counted by a storage_io that wraps the POSIX one.
 *
 * Start-up mode:
 *   storage-bench --startup --dir DIR [--partitions 1000] [--partition-bytes 1M]
 *                 [--segment-bytes 320K] [--batch-bytes 16K] [--cold] [--keep]
 * Creates the partitions in the log dir DIR/storage-bench-<pid> (segment.bytes =
 * --segment-bytes, so a few segments each), closes each with plog_close(clean=true), writes
 * recovery-point-offset-checkpoint and log-start-offset-checkpoint and the clean-shutdown marker
 * (checkpoint.h), then times, with every log held open at once (as a broker does):
 *  1. clean:   marker seen, checkpoints read, every log opened with clean_shutdown=true, the
 *              marker removed (durably, as the broker must before its first append);
 *  then one more batch is appended to every partition and flushed, the recovery-point checkpoint
 *  rewritten from plog_recovery_point (what the periodic checkpoint would hold), and every log
 *  dropped with plog_close(clean=false): an unclean stop with nothing lost (the kernel still has
 *  the page cache; a power loss would differ only in what the scan finds);
 *  2. unclean, recovery point from the checkpoint (= the last flushed offsets): only each log's
 *     last segment is scanned (batch by batch, CRC) and synced;
 *  then every log dropped unclean again;
 *  3. unclean without a checkpoint (recovery point 0, e.g. the file was lost): every segment is
 *     scanned and synced.
 * RLIMIT_NOFILE is raised to its hard limit first (3 descriptors per segment).
 *
 * Machine-readable lines start with "RESULT " (key=value), for tools/bench/storage-vs-dd.sh. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "crc32c.h"
#include "io.h"
#include "plog.h"
#include "record_batch.h"

#define BENCH_TOPIC "bench"
#define MAX_BATCH_SIZES 8

static void die(const char *what, int rc) {
  fprintf(stderr, "storage-bench: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a counting storage_io around the POSIX one ---- */

static struct storage_io *posix_io;
/* calls and nanoseconds spent, per operation */
enum { OP_OPEN, OP_PREAD, OP_PWRITE, OP_FDATASYNC, OP_FTRUNCATE, OP_DIR_SYNC, OP_SYNCFS, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"open",      "pread",     "pwrite", "fdatasync",
                                               "ftruncate", "dir fsync", "syncfs"};
static atomic_ullong op_calls[OP_COUNT], op_ns[OP_COUNT];

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define COUNTED(op, call)                          \
  do {                                             \
    uint64_t t0_ = mono_ns();                      \
    int rc_ = (call);                              \
    atomic_fetch_add(&op_ns[op], mono_ns() - t0_); \
    atomic_fetch_add(&op_calls[op], 1);            \
    return rc_;                                    \
  } while (0)

static int c_open(struct storage_io *io, const char *path, int flags, int *fd) {
  COUNTED(OP_OPEN, sio_open(posix_io, path, flags, fd));
}
static int c_close(struct storage_io *io, int fd) { return sio_close(posix_io, fd); }
static int c_pread(struct storage_io *io, int fd, void *buf, size_t size, uint64_t pos,
                   size_t *read_size) {
  COUNTED(OP_PREAD, sio_pread(posix_io, fd, buf, size, pos, read_size));
}
static int c_pwrite(struct storage_io *io, int fd, const void *buf, size_t size, uint64_t pos) {
  COUNTED(OP_PWRITE, sio_pwrite(posix_io, fd, buf, size, pos));
}
static int c_fdatasync(struct storage_io *io, int fd) {
  COUNTED(OP_FDATASYNC, sio_fdatasync(posix_io, fd));
}
static int c_ftruncate(struct storage_io *io, int fd, uint64_t size) {
  COUNTED(OP_FTRUNCATE, sio_ftruncate(posix_io, fd, size));
}
static int c_fallocate(struct storage_io *io, int fd, uint64_t pos, uint64_t size) {
  return sio_fallocate(posix_io, fd, pos, size);
}
static int c_fstat(struct storage_io *io, int fd, uint64_t *size, int64_t *mtime_ms) {
  return sio_fstat(posix_io, fd, size, mtime_ms);
}
static int c_rename(struct storage_io *io, const char *from, const char *to) {
  return sio_rename(posix_io, from, to);
}
static int c_unlink(struct storage_io *io, const char *path) { return sio_unlink(posix_io, path); }
static int c_mkdir(struct storage_io *io, const char *path) { return sio_mkdir(posix_io, path); }
static int c_rmdir(struct storage_io *io, const char *path) { return sio_rmdir(posix_io, path); }
static int c_dir_sync(struct storage_io *io, const char *path) {
  COUNTED(OP_DIR_SYNC, sio_dir_sync(posix_io, path));
}
static int c_dir_list(struct storage_io *io, const char *path, char ***names, size_t *count) {
  return sio_dir_list(posix_io, path, names, count);
}
static int c_syncfs(struct storage_io *io, int fd) { COUNTED(OP_SYNCFS, sio_syncfs(posix_io, fd)); }
static int c_fs_id(struct storage_io *io, const char *path, uint64_t *id) {
  return sio_fs_id(posix_io, path, id);
}

static const struct storage_io_ops counting_ops = {
    .open = c_open,
    .close = c_close,
    .pread = c_pread,
    .pwrite = c_pwrite,
    .fdatasync = c_fdatasync,
    .ftruncate = c_ftruncate,
    .fallocate = c_fallocate,
    .fstat = c_fstat,
    .rename = c_rename,
    .unlink = c_unlink,
    .mkdir = c_mkdir,
    .rmdir = c_rmdir,
    .dir_sync = c_dir_sync,
    .dir_list = c_dir_list,
    .syncfs = c_syncfs,
    .fs_id = c_fs_id,
};
static struct storage_io counting_io = {&counting_ops};

struct io_counts {
  unsigned long long calls[OP_COUNT], ns[OP_COUNT];
};

static struct io_counts counts_now(void) {
  struct io_counts c;
  for (int i = 0; i < OP_COUNT; i++) {
    c.calls[i] = atomic_load(&op_calls[i]);
    c.ns[i] = atomic_load(&op_ns[i]);
  }
  return c;
}

static struct io_counts counts_since(struct io_counts a) {
  struct io_counts b = counts_now();
  for (int i = 0; i < OP_COUNT; i++) {
    b.calls[i] -= a.calls[i];
    b.ns[i] -= a.ns[i];
  }
  return b;
}

/* "fdatasync 12 (0.123 s), pread ..." : every operation that was called */
static void print_counts(const char *indent, const struct io_counts *c) {
  printf("%sstorage_io:", indent);
  const char *sep = " ";
  for (int i = 0; i < OP_COUNT; i++) {
    if (c->calls[i] == 0) continue;
    printf("%s%llu %s (%.3f s)", sep, c->calls[i], op_names[i], (double)c->ns[i] / 1e9);
    sep = ", ";
  }
  printf("\n");
}

/* ---- batches (as tests/unit/test_storage_plog.c builds them) ---- */

static size_t put_varlong(uint8_t *p, int64_t v) {
  uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  size_t n = 0;
  while (z >= 0x80) {
    p[n++] = (uint8_t)(z | 0x80);
    z >>= 7;
  }
  p[n++] = (uint8_t)z;
  return n;
}

static size_t varlong_size(int64_t v) {
  uint8_t tmp[10];
  return put_varlong(tmp, v);
}

static void put_be(uint8_t *p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

/* The size of record i (length varint included) with a value_size-byte value. */
static size_t record_size(int i, size_t value_size) {
  size_t body = 1 + varlong_size(0) + varlong_size(i) + varlong_size(-1) +
                varlong_size((int64_t)value_size) + value_size + varlong_size(0);
  return varlong_size((int64_t)body) + body;
}

/* An uncompressed batch of as many value_size-byte records as fit in max_size (at least one),
 * timestamps ts0. malloc'd into *out; returns its size and the record count in *count. */
static size_t build_batch(size_t max_size, size_t value_size, int64_t ts0, uint8_t **out,
                          int *count) {
  int n = 0;
  size_t size = RB_HEADER_SIZE;
  while (n == 0 || size + record_size(n, value_size) <= max_size) {
    size += record_size(n, value_size);
    n++;
  }
  uint8_t *buf = malloc(size);
  if (buf == NULL) die("malloc", ENOMEM);
  uint8_t *p = buf + RB_HEADER_SIZE;
  for (int i = 0; i < n; i++) {
    size_t body = 1 + varlong_size(0) + varlong_size(i) + varlong_size(-1) +
                  varlong_size((int64_t)value_size) + value_size + varlong_size(0);
    p += put_varlong(p, (int64_t)body);
    *p++ = 0;                /* attributes */
    p += put_varlong(p, 0);  /* timestamp delta */
    p += put_varlong(p, i);  /* offset delta */
    p += put_varlong(p, -1); /* key null */
    p += put_varlong(p, (int64_t)value_size);
    memset(p, 'a' + i % 26, value_size);
    p += value_size;
    p += put_varlong(p, 0); /* headers */
  }
  if ((size_t)(p - buf) != size) die("build_batch: size mismatch", EINVAL);
  memset(buf, 0, RB_HEADER_SIZE);
  put_be(buf + RB_LENGTH_OFFSET, size - RB_LOG_OVERHEAD, 4);
  put_be(buf + RB_PARTITION_LEADER_EPOCH_OFFSET, (uint64_t)-1, 4);
  buf[RB_MAGIC_OFFSET] = RB_MAGIC_V2;
  put_be(buf + RB_LAST_OFFSET_DELTA_OFFSET, (uint64_t)(n - 1), 4);
  put_be(buf + RB_BASE_TIMESTAMP_OFFSET, (uint64_t)ts0, 8);
  put_be(buf + RB_MAX_TIMESTAMP_OFFSET, (uint64_t)ts0, 8);
  put_be(buf + RB_PRODUCER_ID_OFFSET, (uint64_t)-1, 8);
  put_be(buf + RB_PRODUCER_EPOCH_OFFSET, (uint64_t)-1, 2);
  put_be(buf + RB_BASE_SEQUENCE_OFFSET, (uint64_t)-1, 4);
  put_be(buf + RB_RECORD_COUNT_OFFSET, (uint64_t)n, 4);
  put_be(buf + RB_CRC_OFFSET, crc32c(0, buf + RB_CRC_START, size - RB_CRC_START), 4);
  struct record_batch rb;
  if (rb_validate(buf, size, &rb) != RB_OK) die("build_batch: invalid batch", EINVAL);
  *out = buf;
  *count = n;
  return size;
}

/* ---- durability notifications ---- */

struct durable_wait {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int64_t durable;
  int err;
  unsigned long long calls;
};

static void on_durable(void *arg, struct plog *log, int64_t durable_end, int err) {
  struct durable_wait *w = arg;
  pthread_mutex_lock(&w->mu);
  w->calls++;
  if (err != 0)
    w->err = err;
  else if (durable_end > w->durable)
    w->durable = durable_end;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->mu);
}

/* ---- options ---- */

struct options {
  const char *dir;
  uint64_t bytes;
  size_t batch_sizes[MAX_BATCH_SIZES];
  size_t batch_size_count;
  size_t record_bytes;
  uint64_t fetch_bytes;
  bool sendfile;
  bool cold;
  bool keep;
  bool startup;
  int partitions;
  uint64_t partition_bytes;
  uint64_t segment_bytes;
};

static uint64_t parse_size(const char *opt, const char *s) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s) {
    fprintf(stderr, "storage-bench: %s: bad size '%s'\n", opt, s);
    exit(2);
  }
  uint64_t mult = 1;
  switch (*end) {
  case 'k':
  case 'K':
    mult = 1ULL << 10;
    end++;
    break;
  case 'm':
  case 'M':
    mult = 1ULL << 20;
    end++;
    break;
  case 'g':
  case 'G':
    mult = 1ULL << 30;
    end++;
    break;
  default: break;
  }
  if (*end == 'i' && end[1] == 'B') end += 2;
  if (*end != '\0' || v == 0 || v > UINT64_MAX / mult) {
    fprintf(stderr, "storage-bench: %s: bad size '%s'\n", opt, s);
    exit(2);
  }
  return v * mult;
}

static void usage(FILE *f) {
  fputs("usage: storage-bench --dir DIR [--bytes 1G] [--batch-bytes N]... [--record-bytes 1K]\n"
        "                     [--fetch-bytes 1M] [--sendfile] [--cold] [--keep]\n"
        "       storage-bench --startup --dir DIR [--partitions 1000] [--partition-bytes 1M]\n"
        "                     [--segment-bytes 320K] [--batch-bytes 16K] [--cold] [--keep]\n"
        "Sizes take K, M, G (powers of 1024). Default batch sizes: 16K and 1M.\n"
        "--cold: drop this benchmark's own files from the page cache before reading/reopening.\n",
        f);
}

static void parse_args(int argc, char **argv, struct options *o) {
  memset(o, 0, sizeof(*o));
  o->bytes = 1ULL << 30;
  o->record_bytes = 1024;
  o->fetch_bytes = 1ULL << 20;
  o->partitions = 1000;
  o->partition_bytes = 1ULL << 20;
  o->segment_bytes = 320ULL << 10;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    bool takes = true;
    if (strcmp(a, "--dir") == 0 && v)
      o->dir = v;
    else if (strcmp(a, "--bytes") == 0 && v)
      o->bytes = parse_size(a, v);
    else if (strcmp(a, "--batch-bytes") == 0 && v) {
      if (o->batch_size_count == MAX_BATCH_SIZES) {
        fprintf(stderr, "storage-bench: at most %d --batch-bytes\n", MAX_BATCH_SIZES);
        exit(2);
      }
      o->batch_sizes[o->batch_size_count++] = (size_t)parse_size(a, v);
    } else if (strcmp(a, "--record-bytes") == 0 && v)
      o->record_bytes = (size_t)parse_size(a, v);
    else if (strcmp(a, "--fetch-bytes") == 0 && v)
      o->fetch_bytes = parse_size(a, v);
    else if (strcmp(a, "--partitions") == 0 && v)
      o->partitions = (int)parse_size(a, v);
    else if (strcmp(a, "--partition-bytes") == 0 && v)
      o->partition_bytes = parse_size(a, v);
    else if (strcmp(a, "--segment-bytes") == 0 && v)
      o->segment_bytes = parse_size(a, v);
    else {
      takes = false;
      if (strcmp(a, "--sendfile") == 0)
        o->sendfile = true;
      else if (strcmp(a, "--cold") == 0)
        o->cold = true;
      else if (strcmp(a, "--keep") == 0)
        o->keep = true;
      else if (strcmp(a, "--startup") == 0)
        o->startup = true;
      else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        usage(stdout);
        exit(0);
      } else {
        fprintf(stderr, "storage-bench: unknown or incomplete option '%s'\n", a);
        usage(stderr);
        exit(2);
      }
    }
    if (takes) i++;
  }
  if (o->dir == NULL) {
    fprintf(stderr, "storage-bench: --dir is required\n");
    usage(stderr);
    exit(2);
  }
  if (o->batch_size_count == 0) {
    o->batch_sizes[o->batch_size_count++] = 16 << 10;
    if (!o->startup) o->batch_sizes[o->batch_size_count++] = 1 << 20;
  }
  if (o->record_bytes > (1u << 20)) {
    fprintf(stderr, "storage-bench: --record-bytes at most 1M\n");
    exit(2);
  }
}

/* ---- helpers ---- */

static rlim_t raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit", errno);
  rlim_t soft = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) die("setrlimit", errno);
  printf("RLIMIT_NOFILE: soft %llu -> %llu (hard)\n", (unsigned long long)soft,
         (unsigned long long)rl.rlim_max);
  return rl.rlim_max;
}

static void run_cmd_rm(const char *path) {
  char cmd[8192];
  if (snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path) >= (int)sizeof(cmd)) return;
  if (system(cmd) != 0) fprintf(stderr, "storage-bench: could not remove %s\n", path);
}

/* fdatasync + POSIX_FADV_DONTNEED of every regular file under dir (one level of partition
 * directories below it, or the files themselves): only this benchmark's files leave the cache. */
static void drop_cache_dir(const char *dir, int depth) {
  char **names = NULL;
  size_t count = 0;
  int rc = sio_dir_list(posix_io, dir, &names, &count);
  if (rc != 0) die("dir_list", rc);
  for (size_t i = 0; i < count; i++) {
    char path[8192];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    if (stat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (depth > 0) drop_cache_dir(path, depth - 1);
      continue;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    (void)fdatasync(fd);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
  }
  sio_names_free(names, count);
}

static double mb_per_s(uint64_t bytes, double seconds) {
  return seconds > 0 ? (double)bytes / 1e6 / seconds : 0;
}

/* ---- throughput ---- */

static void bench_throughput(const struct options *o, const char *root, size_t batch_max, int run) {
  char dir[4200];
  if (snprintf(dir, sizeof(dir), "%s/%s-%d", root, BENCH_TOPIC, run) >= (int)sizeof(dir))
    die("path too long", ENAMETOOLONG);
  uint8_t *batch;
  int records;
  size_t batch_size = build_batch(batch_max, o->record_bytes, wall_ms(), &batch, &records);
  uint64_t n_batches = (o->bytes + batch_size - 1) / batch_size;
  uint64_t total = n_batches * batch_size;

  struct storage_flusher *flusher;
  int rc = storage_flusher_start(true, &flusher);
  if (rc != 0) die("storage_flusher_start", rc);
  struct durable_wait w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};
  struct plog_open_args a;
  memset(&a, 0, sizeof(a));
  a.io = &counting_io;
  a.dir = dir;
  plog_config_init(&a.config); /* flush.messages = 1: every append is due (group commit) */
  if (batch_size > a.config.max_message_bytes) a.config.max_message_bytes = (uint32_t)batch_size;
  a.flusher = flusher;
  a.on_durable = on_durable;
  a.on_durable_arg = &w;
  a.now_ms = wall_ms();
  struct plog *log;
  rc = plog_open(&a, &log);
  if (rc != 0) die("plog_open", rc);

  printf("\n== append: %" PRIu64 " batches of %zu bytes (%d records of %zu-byte values), "
         "%.1f MB into %s\n",
         n_batches, batch_size, records, o->record_bytes, (double)total / 1e6, dir);
  struct io_counts c0 = counts_now();
  double t0 = now_s(), t_appended;
  struct plog_append_info info;
  int64_t now_ms = wall_ms();
  for (uint64_t i = 0; i < n_batches; i++) {
    if ((i & 1023) == 0) now_ms = wall_ms();
    rc = plog_append(log, batch, batch_size, 0, now_ms, &info);
    if (rc != 0) die("plog_append", rc);
  }
  t_appended = now_s();
  int64_t end = info.log_end;
  pthread_mutex_lock(&w.mu);
  while (w.durable < end && w.err == 0) pthread_cond_wait(&w.cond, &w.mu);
  int err = w.err;
  unsigned long long flushes = w.calls;
  pthread_mutex_unlock(&w.mu);
  if (err != 0) die("flush", err);
  double t1 = now_s();
  struct io_counts c = counts_since(c0);
  double secs = t1 - t0;
  printf("append: %.3f s (appends returned after %.3f s, durable %.3f s later)\n", secs,
         t_appended - t0, t1 - t_appended);
  printf("append: %.1f MB/s until durable; %.1f batches/s\n", mb_per_s(total, secs),
         (double)n_batches / secs);
  printf("append: %llu fdatasync, %.1f batches per flush round (%llu rounds), %zu segments\n",
         c.calls[OP_FDATASYNC], flushes ? (double)n_batches / (double)flushes : 0.0, flushes,
         plog_segment_count(log));
  print_counts("append: ", &c);
  printf("RESULT append batch_bytes=%zu batch_max=%zu records=%d bytes=%" PRIu64
         " seconds=%.6f mbps=%.2f fdatasync=%llu flushes=%llu\n",
         batch_size, batch_max, records, total, secs, mb_per_s(total, secs), c.calls[OP_FDATASYNC],
         flushes);
  fflush(stdout);

  /* ---- read back ---- */
  if (o->cold) drop_cache_dir(dir, 0);
  size_t buf_cap = (size_t)o->fetch_bytes + batch_size;
  uint8_t *buf = malloc(buf_cap);
  if (buf == NULL) die("malloc", ENOMEM);
  for (int pass = 0; pass < (o->sendfile ? 2 : 1); pass++) {
    bool use_sendfile = pass == 1;
    int devnull = -1;
    if (use_sendfile) {
      devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (devnull < 0) die("open /dev/null", errno);
      if (o->cold) drop_cache_dir(dir, 0);
    }
    c0 = counts_now();
    t0 = now_s();
    int64_t offset = 0;
    uint64_t got = 0, reads = 0;
    while (offset < end) {
      struct plog_read_result r;
      rc = plog_read(log, offset, o->fetch_bytes, PLOG_NEVER, &r);
      if (rc != 0) die("plog_read", rc);
      if (r.size == 0) die("plog_read: empty before the log end", EIO);
      if (r.size > buf_cap) {
        uint8_t *nb = realloc(buf, (size_t)r.size);
        if (nb == NULL) die("realloc", ENOMEM);
        buf = nb;
        buf_cap = (size_t)r.size;
      }
      if (use_sendfile) {
        off_t pos = (off_t)r.position;
        uint64_t left = r.size;
        while (left > 0) {
          ssize_t n = sendfile(devnull, r.fd, &pos, (size_t)left);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) die("sendfile", n < 0 ? errno : EIO);
          left -= (uint64_t)n;
        }
      } else {
        size_t n = 0;
        rc = sio_pread(posix_io, r.fd, buf, (size_t)r.size, r.position, &n);
        if (rc != 0) die("pread", rc);
        if (n != r.size) die("pread: short", EIO);
        /* the first batch must be where plog_read says (cheap sanity check) */
        struct record_batch rb;
        if (rb_parse_header(buf, n, &rb) != RB_OK || rb.base_offset != r.first_offset)
          die("read: unexpected batch", EBADMSG);
      }
      got += r.size;
      reads++;
      offset = r.next_offset;
      plog_read_release(&r);
    }
    double secs_r = now_s() - t0;
    c = counts_since(c0);
    if (got != total) die("read: byte count differs from what was appended", EIO);
    const char *how = use_sendfile ? "sendfile" : "pread";
    printf("read (%s%s): %.3f s, %.1f MB/s, %" PRIu64 " plog_read of <= %" PRIu64 " bytes\n", how,
           o->cold ? ", cold" : ", warm cache", secs_r, mb_per_s(got, secs_r), reads,
           o->fetch_bytes);
    print_counts("read: ", &c); /* the preads are plog_read's batch headers */
    printf("RESULT read batch_bytes=%zu method=%s cold=%d bytes=%" PRIu64
           " seconds=%.6f mbps=%.2f\n",
           batch_size, how, o->cold ? 1 : 0, got, secs_r, mb_per_s(got, secs_r));
    if (devnull >= 0) close(devnull);
  }
  free(buf);

  rc = plog_close(log, true);
  if (rc != 0) die("plog_close", rc);
  storage_flusher_stop(flusher);
  free(batch);
  if (!o->keep) run_cmd_rm(dir);
  fflush(stdout);
}

/* ---- start-up ---- */

struct startup {
  const struct options *o;
  char log_dir[4096];
  struct plog **logs;
  struct ckpt_offset *ckpt;
  uint8_t *batch;
  size_t batch_size;
};

static void part_dir(const struct startup *s, int i, char *out, size_t out_size) {
  char name[300];
  int rc = ckpt_partition_dir_name(BENCH_TOPIC, i, name, sizeof(name));
  if (rc != 0) die("ckpt_partition_dir_name", rc);
  if (snprintf(out, out_size, "%s/%s", s->log_dir, name) >= (int)out_size)
    die("path too long", ENAMETOOLONG);
}

static struct plog_open_args startup_args(const struct startup *s, int i, char *dir,
                                          size_t dir_size) {
  struct plog_open_args a;
  memset(&a, 0, sizeof(a));
  part_dir(s, i, dir, dir_size);
  a.io = &counting_io;
  a.dir = dir;
  plog_config_init(&a.config);
  a.config.segment_bytes = s->o->segment_bytes;
  if (s->batch_size > a.config.max_message_bytes)
    a.config.max_message_bytes = (uint32_t)s->batch_size;
  a.now_ms = wall_ms();
  return a;
}

static void write_checkpoints(struct startup *s, bool from_logs) {
  int n = s->o->partitions;
  char path[4200];
  for (int i = 0; i < n; i++) {
    snprintf(s->ckpt[i].topic, sizeof(s->ckpt[i].topic), "%s", BENCH_TOPIC);
    s->ckpt[i].partition = i;
    if (from_logs) s->ckpt[i].offset = plog_recovery_point(s->logs[i]);
  }
  snprintf(path, sizeof(path), "%s/%s", s->log_dir, CKPT_RECOVERY_POINT);
  int rc = ckpt_offsets_write(&counting_io, path, s->ckpt, (size_t)n);
  if (rc != 0) die("ckpt_offsets_write", rc);
}

static void write_log_start_checkpoint(struct startup *s) {
  int n = s->o->partitions;
  char path[4200];
  struct ckpt_offset *e = calloc((size_t)n, sizeof(*e));
  if (e == NULL) die("calloc", ENOMEM);
  for (int i = 0; i < n; i++) {
    snprintf(e[i].topic, sizeof(e[i].topic), "%s", BENCH_TOPIC);
    e[i].partition = i;
    e[i].offset = 0;
  }
  snprintf(path, sizeof(path), "%s/%s", s->log_dir, CKPT_LOG_START);
  int rc = ckpt_offsets_write(&counting_io, path, e, (size_t)n);
  if (rc != 0) die("ckpt_offsets_write", rc);
  free(e);
}

/* Opens every log as a broker's start-up would; returns the seconds it took. */
static double startup_open_all(struct startup *s, const char *label, bool use_ckpt,
                               struct storage_flusher *flusher) {
  int n = s->o->partitions;
  char path[4200], dir[4096];
  if (s->o->cold) drop_cache_dir(s->log_dir, 1);
  struct io_counts c0 = counts_now();
  double t0 = now_s();
  bool clean = ckpt_clean_marker_exists(&counting_io, s->log_dir);
  int64_t *rp = calloc((size_t)n, sizeof(*rp)), *ls = calloc((size_t)n, sizeof(*ls));
  if (rp == NULL || ls == NULL) die("calloc", ENOMEM);
  for (int k = 0; k < 2; k++) {
    if (!use_ckpt && k == 0) continue; /* the recovery-point checkpoint is "lost" */
    struct ckpt_offset *e = NULL;
    size_t count = 0;
    snprintf(path, sizeof(path), "%s/%s", s->log_dir,
             k == 0 ? CKPT_RECOVERY_POINT : CKPT_LOG_START);
    int rc = ckpt_offsets_read(&counting_io, path, &e, &count);
    if (rc != 0) die("ckpt_offsets_read", rc);
    for (size_t j = 0; j < count; j++)
      if (e[j].partition >= 0 && e[j].partition < n && strcmp(e[j].topic, BENCH_TOPIC) == 0)
        (k == 0 ? rp : ls)[e[j].partition] = e[j].offset;
    free(e);
  }
  double t_ckpt = now_s();
  for (int i = 0; i < n; i++) {
    struct plog_open_args a = startup_args(s, i, dir, sizeof(dir));
    a.flusher = flusher;
    a.recovery_point = rp[i];
    a.log_start_offset = ls[i];
    a.clean_shutdown = clean;
    int rc = plog_open(&a, &s->logs[i]);
    if (rc != 0) die("plog_open", rc);
  }
  double t_open = now_s();
  if (clean) {
    int rc = ckpt_clean_marker_remove(&counting_io, s->log_dir);
    if (rc != 0) die("ckpt_clean_marker_remove", rc);
  }
  double t1 = now_s();
  struct io_counts c = counts_since(c0);
  size_t segs = 0;
  for (int i = 0; i < n; i++) segs += plog_segment_count(s->logs[i]);
  printf("startup %-34s %8.3f s  (checkpoints %.3f s, %d plog_open %.3f s, marker %.3f s)\n", label,
         t1 - t0, t_ckpt - t0, n, t_open - t_ckpt, t1 - t_open);
  printf("        %zu segments (%zu fds)\n", segs, segs * 3);
  print_counts("        ", &c);
  printf("RESULT startup phase=%s clean_marker=%d seconds=%.6f partitions=%d segments=%zu "
         "pread=%llu fdatasync=%llu\n",
         label, clean ? 1 : 0, t1 - t0, n, segs, c.calls[OP_PREAD], c.calls[OP_FDATASYNC]);
  fflush(stdout);
  free(rp);
  free(ls);
  return t1 - t0;
}

static void close_all(struct startup *s, bool clean) {
  for (int i = 0; i < s->o->partitions; i++) {
    int rc = plog_close(s->logs[i], clean);
    if (rc != 0) die("plog_close", rc);
    s->logs[i] = NULL;
  }
}

static void bench_startup(const struct options *o, const char *root) {
  struct startup s;
  memset(&s, 0, sizeof(s));
  s.o = o;
  snprintf(s.log_dir, sizeof(s.log_dir), "%s", root);
  int n = o->partitions;
  if (n <= 0) die("--partitions", EINVAL);
  s.logs = calloc((size_t)n, sizeof(*s.logs));
  s.ckpt = calloc((size_t)n, sizeof(*s.ckpt));
  if (s.logs == NULL || s.ckpt == NULL) die("calloc", ENOMEM);
  int records;
  s.batch_size = build_batch(o->batch_sizes[0], o->record_bytes, wall_ms(), &s.batch, &records);
  uint64_t per_part = (o->partition_bytes + s.batch_size - 1) / s.batch_size;
  uint64_t per_seg = o->segment_bytes / s.batch_size ? o->segment_bytes / s.batch_size : 1;
  uint64_t segs_est = (per_part + 1 + per_seg - 1) / per_seg;
  rlim_t nofile = raise_nofile();
  printf("startup: %d partitions x %" PRIu64 " batches of %zu bytes (%.1f MB each, %.1f MB in "
         "all), segment.bytes %" PRIu64 " -> ~%" PRIu64 " segments each, ~%" PRIu64
         " fds when all are open\n",
         n, per_part, s.batch_size, (double)(per_part * s.batch_size) / 1e6,
         (double)(per_part * s.batch_size) * n / 1e6, o->segment_bytes, segs_est,
         segs_est * 3 * (uint64_t)n);
  if ((rlim_t)(segs_est * 3 * (uint64_t)n + 64) > nofile) {
    fprintf(stderr,
            "storage-bench: RLIMIT_NOFILE %llu is too low for that many segments; use "
            "fewer partitions or a larger --segment-bytes\n",
            (unsigned long long)nofile);
    exit(1);
  }

  /* create: one log at a time (creation is not what is measured) */
  char dir[4096];
  double t0 = now_s();
  struct plog_append_info info;
  for (int i = 0; i < n; i++) {
    struct plog_open_args a = startup_args(&s, i, dir, sizeof(dir));
    struct plog *log;
    int rc = plog_open(&a, &log);
    if (rc != 0) die("plog_open", rc);
    for (uint64_t b = 0; b < per_part; b++) {
      rc = plog_append(log, s.batch, s.batch_size, 0, a.now_ms, &info);
      if (rc != 0) die("plog_append", rc);
    }
    s.ckpt[i].offset = plog_log_end(log);
    rc = plog_close(log, true);
    if (rc != 0) die("plog_close", rc);
  }
  write_checkpoints(&s, false);
  write_log_start_checkpoint(&s);
  int rc = ckpt_clean_marker_write(&counting_io, s.log_dir);
  if (rc != 0) die("ckpt_clean_marker_write", rc);
  printf("startup: created in %.1f s (closed cleanly, checkpoints and %s written)\n", now_s() - t0,
         CKPT_CLEAN_SHUTDOWN);
  fflush(stdout);

  struct storage_flusher *flusher;
  rc = storage_flusher_start(true, &flusher);
  if (rc != 0) die("storage_flusher_start", rc);

  startup_open_all(&s, "clean", true, flusher);

  /* some data after the clean start, flushed; the periodic checkpoint; then a crash */
  for (int i = 0; i < n; i++) {
    rc = plog_append(s.logs[i], s.batch, s.batch_size, 0, wall_ms(), &info);
    if (rc == 0) rc = plog_flush(s.logs[i]);
    if (rc != 0) die("append/flush", rc);
  }
  write_checkpoints(&s, true);
  close_all(&s, false);
  startup_open_all(&s, "unclean(recovery-point=checkpoint)", true, flusher);
  close_all(&s, false);
  startup_open_all(&s, "unclean(recovery-point=0)", false, flusher);
  close_all(&s, true);
  storage_flusher_stop(flusher);
  free(s.logs);
  free(s.ckpt);
  free(s.batch);
}

int main(int argc, char **argv) {
  struct options o;
  parse_args(argc, argv, &o);
  posix_io = storage_io_posix();
  setvbuf(stdout, NULL, _IOLBF, 0);
  char root[4096];
  if (snprintf(root, sizeof(root), "%s/storage-bench-%ld", o.dir, (long)getpid()) >=
      (int)sizeof(root))
    die("--dir too long", ENAMETOOLONG);
  if (mkdir(o.dir, 0755) != 0 && errno != EEXIST) die(o.dir, errno);
  if (mkdir(root, 0755) != 0) die(root, errno);
  printf("storage-bench: dir %s, crc32c %s\n", root, crc32c_hw_available() ? "SSE4.2" : "portable");
  if (o.startup) {
    bench_startup(&o, root);
  } else {
    for (size_t i = 0; i < o.batch_size_count; i++)
      bench_throughput(&o, root, o.batch_sizes[i], (int)i);
  }
  if (!o.keep)
    run_cmd_rm(root);
  else
    printf("kept %s\n", root);
  return 0;
}
