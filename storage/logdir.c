/* The log-dir manager. Design note.
 *
 * A logdir owns the configured log dirs and every partition log in them. On disk a log dir
 * holds one directory per partition, "<topic>-<partition>" (the partition follows the last
 * dash), the two checkpoint files (recovery-point-offset-checkpoint, log-start-offset-checkpoint;
 * formats in checkpoint.h), while the broker is stopped cleanly the marker .kafka_cleanshutdown,
 * and transiently "<topic>-<partition>.<32 hex>-delete" directories (a deletion in progress).
 * Other files (meta.properties, *.tmp ...) are left alone; other directories are reported as
 * problems and left alone.
 *
 * In memory: dirs[] (path, partition count, the generation last written of each checkpoint
 * file) and parts[], the open partitions sorted by (topic, partition): logdir_find is a binary
 * search and the checkpoint files come out sorted.
 *
 * Invariants:
 *   parts[] is sorted and holds each (topic, partition) once, across all dirs;
 *   dirs[d].partitions == the number of parts[] entries with dir == d;
 *   a dir's clean-shutdown marker exists only while no log of it is open (removed durably in
 *   logdir_open before it returns, written in logdir_close(clean) only when every log of the
 *   dir closed cleanly and both its checkpoint files were written after the closes);
 *   a checkpoint file never names a partition that logdir_delete already renamed away, except
 *   after a failed rewrite (then: until the next successful one, at the latest the next open);
 *   a checkpoint file is only replaced by a snapshot newer than the one it holds (gen).
 * Checkpoint values are what plog reports: plog_recovery_point (everything below it is synced,
 * indexes included) and plog_log_start; after a clean plog_close the recovery point is the log
 * end.
 *
 * States: open (logdir_open returned 0) -> closed (logdir_close, clean or not; freed). A failed
 * logdir_open leaves nothing open and writes no marker; the markers it found stay (nothing was
 * appended).
 *
 * Opening a dir: read both checkpoints (missing: no entries; malformed: a problem, no entries,
 * so every log of the dir gets recovery point 0 = a full scan when the shutdown was unclean),
 * note the marker, remove leftover "-delete" directories, plog_open each partition directory
 * with its checkpointed offsets and the marker's clean flag; then for every dir write fresh
 * checkpoints (dropping stale entries of partitions no longer there) and remove the marker.
 * A partition directory present in two log dirs is fatal (-EEXIST), as in Kafka: which copy is
 * right is the operator's call.
 *
 * Deleting: Kafka's scheme. plog_close(false), rename the directory to
 * "<topic>-<partition>.<uuid>-delete" (topic cut so the name fits 255 bytes), fsync the log dir
 * (the commit point: from here the next open removes it instead of loading it), rewrite that
 * dir's checkpoints, then unlink the files and rmdir. Kafka defers the removal by
 * file.delete.delay.ms; Quire removes at once (open descriptors keep in-flight reads valid).
 *
 * Not done here (yet): the .lock file (Kafka flocks each dir against a second broker),
 * meta.properties, partition.metadata (topic ids), "-future" (alter log dirs) and "-stray"
 * directories (reported as problems), taking a failed log dir offline while the others go on
 * (any disk error in logdir_open is fatal). */
#include "logdir.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"

enum { LD_PATH_MAX = 4096, LD_TOPIC_MAX = 249, LD_NAME_MAX = 255 };

struct ld_part {
  char topic[LD_TOPIC_MAX + 1];
  int32_t partition;
  size_t dir;
  struct plog *log;
};

struct ld_dir {
  char *path;
  size_t partitions;
  uint64_t written_gen[2]; /* [0] recovery point, [1] log start; under ckpt_mu */
};

struct logdir {
  struct storage_io *io;
  struct plog_config defaults;
  logdir_config_fn config_for;
  void *config_arg;
  struct storage_flusher *flusher;
  plog_durable_fn on_durable;
  void *on_durable_arg;
  struct ld_dir *dirs;
  size_t dir_count;
  struct ld_part **parts;
  size_t count, cap;
  pthread_mutex_t ckpt_mu;
  uint64_t ckpt_gen; /* event loop only */
};

struct ld_snap_dir {
  struct ckpt_offset *rp, *ls;
  size_t count;
};

struct logdir_checkpoint {
  struct logdir *ld;
  int which;
  uint64_t gen;
  struct ld_snap_dir *dirs;
};

/* ---- names ---- */

bool logdir_topic_valid(const char *topic) {
  size_t n = strlen(topic);
  if (n == 0 || n > LD_TOPIC_MAX || strcmp(topic, ".") == 0 || strcmp(topic, "..") == 0)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = topic[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  }
  return true;
}

bool logdir_parse_partition_dir(const char *name, char *topic, int32_t *partition) {
  const char *dash = strrchr(name, '-');
  if (dash == NULL || dash == name || (size_t)(dash - name) > LD_TOPIC_MAX) return false;
  const char *p = dash + 1;
  if (*p == '\0' || (p[0] == '0' && p[1] != '\0')) return false;
  int64_t v = 0;
  for (; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') return false;
    v = v * 10 + (*p - '0');
    if (v > INT32_MAX) return false;
  }
  size_t len = (size_t)(dash - name);
  memcpy(topic, name, len);
  topic[len] = '\0';
  if (!logdir_topic_valid(topic)) return false;
  *partition = (int32_t)v;
  return true;
}

static bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Kafka's DeleteDirPattern ^(\S+)-(\S+)\.(\S+)-delete$, for the names logdir_delete makes. */
static bool is_delete_dir_name(const char *name) {
  size_t n = strlen(name);
  if (!has_suffix(name, "-delete") || n > LD_NAME_MAX) return false;
  const char *dot = NULL;
  for (const char *p = name; p < name + n - 7; p++)
    if (*p == '.') dot = p;
  if (dot == NULL || dot + 1 == name + n - 7) return false;
  for (const char *p = name + 1; p + 1 < dot; p++)
    if (*p == '-') return true;
  return false;
}

static void random_hex32(char out[33]) {
  static unsigned counter;
  unsigned char b[16];
  size_t got = 0;
  while (got < sizeof(b)) {
    ssize_t n = getrandom(b + got, sizeof(b) - got, GRND_NONBLOCK);
    if (n <= 0) break;
    got += (size_t)n;
  }
  if (got < sizeof(b)) { /* uniqueness is all that matters here */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    uint64_t y = ((uint64_t)getpid() << 32) | ++counter;
    memcpy(b, &x, 8);
    memcpy(b + 8, &y, 8);
  }
  for (size_t i = 0; i < sizeof(b); i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* ---- problems ---- */

static int problem_add(struct logdir_problems *p, const char *dir, const char *name,
                       const char *reason, int err) {
  if (p == NULL) return 0;
  struct logdir_problem *n = realloc(p->items, (p->count + 1) * sizeof(*n));
  if (n == NULL) return -ENOMEM;
  p->items = n;
  size_t len = strlen(dir) + (name ? strlen(name) + 1 : 0) + 1;
  char *path = malloc(len);
  if (path == NULL) return -ENOMEM;
  if (name != NULL)
    snprintf(path, len, "%s/%s", dir, name);
  else
    snprintf(path, len, "%s", dir);
  p->items[p->count++] = (struct logdir_problem){path, reason, err};
  return 0;
}

void logdir_problems_free(struct logdir_problems *p) {
  if (p == NULL) return;
  for (size_t i = 0; i < p->count; i++) free(p->items[i].path);
  free(p->items);
  p->items = NULL;
  p->count = 0;
}

/* ---- the partition table ---- */

static int part_cmp(const char *topic, int32_t partition, const struct ld_part *e) {
  int c = strcmp(topic, e->topic);
  if (c != 0) return c;
  return partition < e->partition ? -1 : partition > e->partition;
}

/* The index of topic/partition, or where it would go (*found false). */
static size_t part_search(const struct logdir *ld, const char *topic, int32_t partition,
                          bool *found) {
  size_t lo = 0, hi = ld->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = part_cmp(topic, partition, ld->parts[mid]);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  *found = false;
  return lo;
}

static int part_insert(struct logdir *ld, size_t at, struct ld_part *e) {
  if (ld->count == ld->cap) {
    size_t ncap = ld->cap ? ld->cap * 2 : 16;
    struct ld_part **n = realloc(ld->parts, ncap * sizeof(*n));
    if (n == NULL) return -ENOMEM;
    ld->parts = n;
    ld->cap = ncap;
  }
  memmove(&ld->parts[at + 1], &ld->parts[at], (ld->count - at) * sizeof(*ld->parts));
  ld->parts[at] = e;
  ld->count++;
  ld->dirs[e->dir].partitions++;
  return 0;
}

static void part_remove(struct logdir *ld, size_t at) {
  ld->dirs[ld->parts[at]->dir].partitions--;
  free(ld->parts[at]);
  memmove(&ld->parts[at], &ld->parts[at + 1], (ld->count - at - 1) * sizeof(*ld->parts));
  ld->count--;
}

struct plog *logdir_find(const struct logdir *ld, const char *topic, int32_t partition) {
  bool found;
  size_t i = part_search(ld, topic, partition, &found);
  return found ? ld->parts[i]->log : NULL;
}

size_t logdir_count(const struct logdir *ld) { return ld->count; }

struct plog *logdir_at(const struct logdir *ld, size_t i, const char **topic, int32_t *partition,
                       const char **log_dir) {
  if (i >= ld->count) return NULL;
  const struct ld_part *e = ld->parts[i];
  if (topic != NULL) *topic = e->topic;
  if (partition != NULL) *partition = e->partition;
  if (log_dir != NULL) *log_dir = ld->dirs[e->dir].path;
  return e->log;
}

size_t logdir_dir_count(const struct logdir *ld) { return ld->dir_count; }
const char *logdir_dir_path(const struct logdir *ld, size_t d) {
  return d < ld->dir_count ? ld->dirs[d].path : NULL;
}
size_t logdir_dir_partitions(const struct logdir *ld, size_t d) {
  return d < ld->dir_count ? ld->dirs[d].partitions : 0;
}

/* ---- checkpoints ---- */

static int snap_alloc(struct logdir *ld, int which, struct logdir_checkpoint **out) {
  struct logdir_checkpoint *s = calloc(1, sizeof(*s));
  if (s == NULL) return -ENOMEM;
  s->ld = ld;
  s->which = which;
  s->gen = ++ld->ckpt_gen;
  s->dirs = calloc(ld->dir_count ? ld->dir_count : 1, sizeof(*s->dirs));
  if (s->dirs == NULL) {
    free(s);
    return -ENOMEM;
  }
  for (size_t d = 0; d < ld->dir_count; d++) {
    size_t n = ld->dirs[d].partitions ? ld->dirs[d].partitions : 1;
    s->dirs[d].rp = calloc(n, sizeof(struct ckpt_offset));
    s->dirs[d].ls = calloc(n, sizeof(struct ckpt_offset));
    if (s->dirs[d].rp == NULL || s->dirs[d].ls == NULL) {
      logdir_checkpoint_free(s);
      return -ENOMEM;
    }
  }
  *out = s;
  return 0;
}

static void snap_add(struct logdir_checkpoint *s, const struct ld_part *e, int64_t rp, int64_t ls) {
  struct ld_snap_dir *d = &s->dirs[e->dir];
  struct ckpt_offset *a = &d->rp[d->count], *b = &d->ls[d->count];
  snprintf(a->topic, sizeof(a->topic), "%s", e->topic);
  snprintf(b->topic, sizeof(b->topic), "%s", e->topic);
  a->partition = b->partition = e->partition;
  a->offset = rp;
  b->offset = ls;
  d->count++;
}

int logdir_checkpoint_prepare(struct logdir *ld, int which, struct logdir_checkpoint **out) {
  if ((which & LOGDIR_CKPT_ALL) == 0 || (which & ~LOGDIR_CKPT_ALL) != 0) return -EINVAL;
  struct logdir_checkpoint *s;
  int rc = snap_alloc(ld, which, &s);
  if (rc != 0) return rc;
  for (size_t i = 0; i < ld->count; i++) {
    const struct ld_part *e = ld->parts[i];
    snap_add(s, e, plog_recovery_point(e->log), plog_log_start(e->log));
  }
  *out = s;
  return 0;
}

/* Writes dir d's files of s; the first error. */
static int snap_write_dir(struct logdir_checkpoint *s, size_t d) {
  static const char *const files[2] = {CKPT_RECOVERY_POINT, CKPT_LOG_START};
  struct logdir *ld = s->ld;
  int first = 0;
  for (int k = 0; k < 2; k++) {
    if ((s->which & (1 << k)) == 0) continue;
    char path[LD_PATH_MAX];
    int rc = 0;
    if (snprintf(path, sizeof(path), "%s/%s", ld->dirs[d].path, files[k]) >= (int)sizeof(path))
      rc = -ENAMETOOLONG;
    pthread_mutex_lock(&ld->ckpt_mu);
    if (rc == 0 && s->gen > ld->dirs[d].written_gen[k]) {
      rc = ckpt_offsets_write(ld->io, path, k == 0 ? s->dirs[d].rp : s->dirs[d].ls,
                              s->dirs[d].count);
      if (rc == 0) ld->dirs[d].written_gen[k] = s->gen;
    }
    pthread_mutex_unlock(&ld->ckpt_mu);
    if (rc != 0 && first == 0) first = rc;
  }
  return first;
}

int logdir_checkpoint_write(struct logdir_checkpoint *s) {
  int first = 0;
  for (size_t d = 0; d < s->ld->dir_count; d++) {
    int rc = snap_write_dir(s, d);
    if (rc != 0 && first == 0) first = rc;
  }
  return first;
}

void logdir_checkpoint_free(struct logdir_checkpoint *s) {
  if (s == NULL) return;
  for (size_t d = 0; d < s->ld->dir_count; d++) {
    free(s->dirs[d].rp);
    free(s->dirs[d].ls);
  }
  free(s->dirs);
  free(s);
}

int logdir_checkpoint(struct logdir *ld, int which) {
  struct logdir_checkpoint *s;
  int rc = logdir_checkpoint_prepare(ld, which, &s);
  if (rc != 0) return rc;
  rc = logdir_checkpoint_write(s);
  logdir_checkpoint_free(s);
  return rc;
}

/* ---- open ---- */

static int ckpt_cmp(const void *a, const void *b) {
  const struct ckpt_offset *x = a, *y = b;
  int c = strcmp(x->topic, y->topic);
  if (c != 0) return c;
  return x->partition < y->partition ? -1 : x->partition > y->partition;
}

/* The checkpointed offset of topic/partition in the sorted e[], or 0. */
static int64_t ckpt_lookup(const struct ckpt_offset *e, size_t count, const char *topic,
                           int32_t partition) {
  struct ckpt_offset key;
  snprintf(key.topic, sizeof(key.topic), "%s", topic);
  key.partition = partition;
  const struct ckpt_offset *hit = count ? bsearch(&key, e, count, sizeof(*e), ckpt_cmp) : NULL;
  return hit != NULL && hit->offset > 0 ? hit->offset : 0;
}

/* Reads one checkpoint file, sorted; a missing file is empty, a malformed one a problem. */
static int read_ckpt(struct logdir *ld, const char *dir, const char *file,
                     struct logdir_problems *problems, struct ckpt_offset **e, size_t *count) {
  char path[LD_PATH_MAX];
  *e = NULL;
  *count = 0;
  if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)) return -ENAMETOOLONG;
  int rc = ckpt_offsets_read(ld->io, path, e, count);
  if (rc == -ENOENT) return 0;
  if (rc == -EBADMSG || rc == -EFBIG) {
    *e = NULL;
    *count = 0;
    return problem_add(problems, dir, file, "malformed checkpoint file: offsets reset to 0", rc);
  }
  if (rc != 0) return rc;
  qsort(*e, *count, sizeof(**e), ckpt_cmp);
  return 0;
}

/* Removes a partition (or "-delete") directory: its files, then the directory. */
static int remove_dir(struct storage_io *io, const char *path) {
  char **names = NULL;
  size_t count = 0;
  char file[LD_PATH_MAX];
  int rc = sio_dir_list(io, path, &names, &count);
  if (rc == -ENOENT) return 0;
  for (size_t i = 0; rc == 0 && i < count; i++) {
    if (snprintf(file, sizeof(file), "%s/%s", path, names[i]) >= (int)sizeof(file))
      rc = -ENAMETOOLONG;
    else
      rc = sio_unlink(io, file);
    if (rc == -ENOENT) rc = 0;
  }
  sio_names_free(names, count);
  if (rc == 0) rc = sio_rmdir(io, path);
  if (rc == -ENOENT) rc = 0;
  return rc;
}

/* 1 when path is a directory, 0 when not (or gone), else -errno. */
static int is_directory(struct storage_io *io, const char *path) {
  int fd;
  int rc = sio_open(io, path, O_RDONLY | O_DIRECTORY, &fd);
  if (rc == -ENOTDIR || rc == -ENOENT) return 0;
  if (rc != 0) return rc;
  sio_close(io, fd);
  return 1;
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int open_partition(struct logdir *ld, size_t d, const char *path, const char *topic,
                          int32_t partition, const struct plog_config *config, bool clean,
                          int64_t recovery_point, int64_t log_start, int64_t now_ms, size_t at) {
  struct ld_part *e = calloc(1, sizeof(*e));
  if (e == NULL) return -ENOMEM;
  snprintf(e->topic, sizeof(e->topic), "%s", topic);
  e->partition = partition;
  e->dir = d;
  struct plog_open_args a;
  memset(&a, 0, sizeof(a));
  a.io = ld->io;
  a.dir = path;
  if (config != NULL)
    a.config = *config;
  else if (ld->config_for != NULL) {
    a.config = ld->defaults;
    ld->config_for(ld->config_arg, topic, &a.config);
  } else
    a.config = ld->defaults;
  a.flusher = ld->flusher;
  a.on_durable = ld->on_durable;
  a.on_durable_arg = ld->on_durable_arg;
  a.recovery_point = recovery_point;
  a.log_start_offset = log_start;
  a.clean_shutdown = clean;
  a.now_ms = now_ms;
  int rc = plog_open(&a, &e->log);
  if (rc == 0) {
    rc = part_insert(ld, at, e);
    if (rc != 0) plog_close(e->log, false);
  }
  if (rc != 0) free(e);
  return rc;
}

static int open_dir(struct logdir *ld, size_t d, int64_t now_ms, struct logdir_problems *problems,
                    bool *clean_out) {
  const char *dir = ld->dirs[d].path;
  struct ckpt_offset *rp = NULL, *ls = NULL;
  size_t rp_count = 0, ls_count = 0, count = 0;
  char **names = NULL;
  char path[LD_PATH_MAX], topic[LD_TOPIC_MAX + 1];
  int rc = sio_mkdir(ld->io, dir);
  if (rc == 0) {
    char parent[LD_PATH_MAX];
    rc = sio_dirname(dir, parent, sizeof(parent));
    if (rc == 0) rc = sio_dir_sync(ld->io, parent);
  } else if (rc == -EEXIST) {
    rc = 0;
  }
  if (rc == 0) rc = read_ckpt(ld, dir, CKPT_RECOVERY_POINT, problems, &rp, &rp_count);
  if (rc == 0) rc = read_ckpt(ld, dir, CKPT_LOG_START, problems, &ls, &ls_count);
  bool clean = ckpt_clean_marker_exists(ld->io, dir);
  *clean_out = clean;
  if (rc == 0) rc = sio_dir_list(ld->io, dir, &names, &count);
  if (rc == 0 && count > 0) qsort(names, count, sizeof(*names), name_cmp);
  for (size_t i = 0; rc == 0 && i < count; i++) {
    const char *name = names[i];
    int32_t partition;
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
      rc = problem_add(problems, dir, name, "path too long", -ENAMETOOLONG);
      continue;
    }
    rc = is_directory(ld->io, path);
    if (rc <= 0) continue; /* a file (checkpoints, the marker, meta.properties ...) */
    rc = 0;
    if (strcmp(name, LOGDIR_METADATA_DIR) == 0) {
      continue; /* the metadata log's, opened by replication/mlog.c */
    } else if (is_delete_dir_name(name)) {
      int r = remove_dir(ld->io, path);
      if (r != 0) rc = problem_add(problems, dir, name, "cannot remove deleted partition", r);
    } else if (has_suffix(name, "-future") || has_suffix(name, "-stray")) {
      rc = problem_add(problems, dir, name, "unsupported future/stray directory: skipped", 0);
    } else if (!logdir_parse_partition_dir(name, topic, &partition)) {
      rc = problem_add(problems, dir, name, "not a <topic>-<partition> directory: skipped", 0);
    } else {
      bool found;
      size_t at = part_search(ld, topic, partition, &found);
      if (found) {
        problem_add(problems, dir, name, "partition directory also in another log dir", -EEXIST);
        rc = -EEXIST;
        break;
      }
      rc = open_partition(ld, d, path, topic, partition, NULL, clean,
                          ckpt_lookup(rp, rp_count, topic, partition),
                          ckpt_lookup(ls, ls_count, topic, partition), now_ms, at);
      if (rc != 0) problem_add(problems, dir, name, "cannot open partition log", rc);
    }
  }
  sio_names_free(names, count);
  free(rp);
  free(ls);
  return rc;
}

static void logdir_free(struct logdir *ld) {
  for (size_t i = 0; i < ld->count; i++) free(ld->parts[i]);
  free(ld->parts);
  for (size_t d = 0; d < ld->dir_count; d++) free(ld->dirs[d].path);
  free(ld->dirs);
  pthread_mutex_destroy(&ld->ckpt_mu);
  free(ld);
}

int logdir_open(const struct logdir_config *c, int64_t now_ms, struct logdir **out,
                struct logdir_problems *problems) {
  if (problems != NULL) memset(problems, 0, sizeof(*problems));
  if (c->io == NULL || c->dir_count == 0) return -EINVAL;
  for (size_t i = 0; i < c->dir_count; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp(c->dirs[i], c->dirs[j]) == 0) return -EINVAL; /* Kafka: duplicate log dir */
  struct logdir *ld = calloc(1, sizeof(*ld));
  if (ld == NULL) return -ENOMEM;
  pthread_mutex_init(&ld->ckpt_mu, NULL);
  ld->io = c->io;
  ld->defaults = c->defaults;
  ld->config_for = c->config_for;
  ld->config_arg = c->config_arg;
  ld->flusher = c->flusher;
  ld->on_durable = c->on_durable;
  ld->on_durable_arg = c->on_durable_arg;
  ld->dirs = calloc(c->dir_count, sizeof(*ld->dirs));
  if (ld->dirs == NULL) {
    logdir_free(ld);
    return -ENOMEM;
  }
  ld->dir_count = c->dir_count;
  int rc = 0;
  for (size_t d = 0; rc == 0 && d < c->dir_count; d++) {
    size_t len = strlen(c->dirs[d]);
    while (len > 1 && c->dirs[d][len - 1] == '/') len--; /* "a/b/" -> "a/b" */
    ld->dirs[d].path = strndup(c->dirs[d], len);
    if (ld->dirs[d].path == NULL) rc = -ENOMEM;
    if (rc == 0 && len + LD_NAME_MAX + 2 > LD_PATH_MAX) rc = -ENAMETOOLONG;
  }
  bool *clean = calloc(c->dir_count, sizeof(*clean));
  if (rc == 0 && clean == NULL) rc = -ENOMEM;
  for (size_t d = 0; rc == 0 && d < ld->dir_count; d++)
    rc = open_dir(ld, d, now_ms, problems, &clean[d]);
  /* fresh checkpoints (no stale entries), then no marker: appends may start */
  if (rc == 0) rc = logdir_checkpoint(ld, LOGDIR_CKPT_ALL);
  for (size_t d = 0; rc == 0 && d < ld->dir_count; d++)
    if (clean[d]) rc = ckpt_clean_marker_remove(ld->io, ld->dirs[d].path);
  free(clean);
  if (rc != 0) {
    for (size_t i = 0; i < ld->count; i++) plog_close(ld->parts[i]->log, false);
    logdir_free(ld);
    return rc;
  }
  *out = ld;
  return 0;
}

/* ---- create, delete ---- */

int logdir_create(struct logdir *ld, const char *topic, int32_t partition,
                  const struct plog_config *config, int64_t now_ms, struct plog **out) {
  if (!logdir_topic_valid(topic) || partition < 0) return -EINVAL;
  bool found;
  size_t at = part_search(ld, topic, partition, &found);
  if (found) {
    if (out != NULL) *out = ld->parts[at]->log;
    return -EEXIST;
  }
  size_t best = 0;
  for (size_t d = 1; d < ld->dir_count; d++)
    if (ld->dirs[d].partitions < ld->dirs[best].partitions) best = d;
  char name[LD_TOPIC_MAX + 16], path[LD_PATH_MAX];
  int rc = ckpt_partition_dir_name(topic, partition, name, sizeof(name));
  if (rc != 0 || strlen(name) > LD_NAME_MAX) return -EINVAL; /* no such directory name */
  if (snprintf(path, sizeof(path), "%s/%s", ld->dirs[best].path, name) >= (int)sizeof(path))
    return -ENAMETOOLONG;
  /* a brand-new log: nothing is trusted (recovery point 0, not clean) */
  rc = open_partition(ld, best, path, topic, partition, config, false, 0, 0, now_ms, at);
  if (rc == 0 && out != NULL) *out = ld->parts[at]->log;
  return rc;
}

int logdir_delete(struct logdir *ld, const char *topic, int32_t partition) {
  bool found;
  size_t at = part_search(ld, topic, partition, &found);
  if (!found) return -ENOENT;
  struct ld_part *e = ld->parts[at];
  const char *dir = ld->dirs[e->dir].path;
  char from[LD_PATH_MAX], to[LD_PATH_MAX], suffix[64], hex[33];
  int rc = 0;
  if (snprintf(from, sizeof(from), "%s/%s-%" PRId32, dir, e->topic, e->partition) >=
      (int)sizeof(from))
    return -ENAMETOOLONG;
  random_hex32(hex);
  snprintf(suffix, sizeof(suffix), "-%" PRId32 ".%s-delete", e->partition, hex);
  int prefix = (int)strlen(e->topic);
  if (prefix > LD_NAME_MAX - (int)strlen(suffix)) prefix = LD_NAME_MAX - (int)strlen(suffix);
  if (snprintf(to, sizeof(to), "%s/%.*s%s", dir, prefix, e->topic, suffix) >= (int)sizeof(to))
    return -ENAMETOOLONG;
  plog_close(e->log, false); /* its data is going: nothing to flush */
  e->log = NULL;
  rc = sio_rename(ld->io, from, to);
  if (rc == 0) rc = sio_dir_sync(ld->io, dir);
  if (rc != 0) {
    /* Not committed (or not known to be): the directory may still be there under either name;
     * drop the partition from the table (its log is closed) and let the next open decide. */
    part_remove(ld, at);
    return rc;
  }
  part_remove(ld, at);
  rc = logdir_checkpoint(ld, LOGDIR_CKPT_ALL);
  (void)remove_dir(ld->io, to); /* a leftover is removed by the next open */
  return rc;
}

/* ---- close ---- */

int logdir_close(struct logdir *ld, bool clean) {
  int first = 0;
  struct logdir_checkpoint *s = NULL;
  bool *dir_ok = calloc(ld->dir_count, sizeof(*dir_ok));
  if (clean && (dir_ok == NULL || snap_alloc(ld, LOGDIR_CKPT_ALL, &s) != 0)) {
    first = -ENOMEM;
    clean = false; /* cannot record anything: close as after a crash */
  }
  for (size_t d = 0; dir_ok != NULL && d < ld->dir_count; d++) dir_ok[d] = true;
  for (size_t i = 0; i < ld->count; i++) {
    struct ld_part *e = ld->parts[i];
    int64_t rp = plog_recovery_point(e->log), ls = plog_log_start(e->log),
            end = plog_log_end(e->log);
    int rc = plog_close(e->log, clean);
    e->log = NULL;
    if (rc != 0) {
      if (first == 0) first = rc;
      if (dir_ok != NULL) dir_ok[e->dir] = false;
    } else if (clean) {
      rp = end; /* a clean close synced everything */
    }
    if (s != NULL) snap_add(s, e, rp, ls);
  }
  for (size_t d = 0; clean && d < ld->dir_count; d++) {
    int rc = snap_write_dir(s, d);
    if (rc == 0 && dir_ok[d]) rc = ckpt_clean_marker_write(ld->io, ld->dirs[d].path);
    if (rc != 0 && first == 0) first = rc;
  }
  if (s != NULL) logdir_checkpoint_free(s);
  free(dir_ok);
  logdir_free(ld);
  return first;
}
