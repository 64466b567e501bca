/* The log-dir manager: every partition log (plog) of the broker's configured log dirs, with the
 * per-dir checkpoint files and clean-shutdown marker. Design note and invariants in logdir.c.
 *
 * Errors: 0 or a negative errno, as in plog.h (-EINVAL misuse or an invalid topic name,
 * -EEXIST the partition exists, -ENOENT it does not, anything else a disk error).
 *
 * Threading: one thread (the broker's event loop) calls every logdir_* function, except that
 * logdir_checkpoint_write may run on any thread (it takes only its snapshot and an internal
 * mutex). The logs themselves follow plog.h. */
#ifndef QUIRE_STORAGE_LOGDIR_H
#define QUIRE_STORAGE_LOGDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "plog.h"

struct logdir;
struct logdir_checkpoint;

/* The metadata log's directory in a log dir, as Kafka names it: not a partition of logdir's. */
#define LOGDIR_METADATA_DIR "__cluster_metadata-0"

/* A partition's config: the broker fills *out for topic (defaults plus the topic's overrides). */
typedef void (*logdir_config_fn)(void *arg, const char *topic, struct plog_config *out);

struct logdir_config {
  struct storage_io *io;
  const char *const *dirs; /* log.dirs; each created (one level) when missing */
  size_t dir_count;
  struct plog_config defaults; /* for every log unless config_for says otherwise */
  logdir_config_fn config_for; /* NULL: defaults for every topic */
  void *config_arg;
  struct storage_flusher *flusher; /* passed to every plog; may be NULL */
  plog_durable_fn on_durable;      /* passed to every plog, with on_durable_arg */
  void *on_durable_arg;
};

/* Something in a log dir that was skipped, not fatal: a name that is not "<topic>-<partition>",
 * an unsupported "-future"/"-stray" directory, an unreadable checkpoint file (its offsets fall
 * back to 0), a leftover "-delete" directory that could not be removed. */
struct logdir_problem {
  char *path;         /* malloc'd */
  const char *reason; /* static text */
  int err;            /* 0 or the negative errno behind it */
};

struct logdir_problems {
  struct logdir_problem *items;
  size_t count;
};

void logdir_problems_free(struct logdir_problems *p);

/* Opens every log dir: reads both checkpoint files and notes the clean-shutdown marker, removes
 * leftover "-delete" directories, opens every "<topic>-<partition>" directory with plog_open,
 * rewrites both checkpoint files, then removes the marker durably (so it is gone before the
 * first append). problems (may be NULL) receives what was skipped; free it with
 * logdir_problems_free. On failure nothing stays open; problems may say which path failed. */
int logdir_open(const struct logdir_config *c, int64_t now_ms, struct logdir **out,
                struct logdir_problems *problems);

/* Closes every log. clean: plog_close(clean) each, write both checkpoint files of each dir and
 * then its clean-shutdown marker, only if every log of that dir closed cleanly and both files
 * were written. Not clean: plog_close(false) each and nothing is written (a fatal error; the
 * next open recovers). Returns the first error; frees ld in every case. */
int logdir_close(struct logdir *ld, bool clean);

/* The log of topic/partition, or NULL. */
struct plog *logdir_find(const struct logdir *ld, const char *topic, int32_t partition);

/* Creates the log of topic/partition in the log dir holding the fewest partitions (the first
 * such dir on a tie), as Kafka does. config NULL: the config_for / defaults one. -EEXIST (and
 * *out set to it) when the partition is already open; -EINVAL for an invalid topic name
 * (Kafka's: 1..249 of [a-zA-Z0-9._-], not "." or "..") or partition < 0, or when
 * "<topic>-<partition>" exceeds 255 bytes (a 249-byte topic allows partitions up to 99999). */
int logdir_create(struct logdir *ld, const char *topic, int32_t partition,
                  const struct plog_config *config, int64_t now_ms, struct plog **out);

/* Deletes topic/partition: closes its log, renames its directory to
 * "<topic>-<partition>.<32 hex>-delete" (durably: that is the commit point), rewrites the dir's
 * checkpoint files without it, then removes the renamed directory. A removal that fails is
 * finished at the next logdir_open. -ENOENT when the partition is not open. Any other return
 * is a disk error (the rename/fsync, or the checkpoint rewrite); the partition is gone from ld
 * whatever the result (its log is closed), and the next open finds whichever name survived.
 * A failed removal of the renamed directory is not an error. A plog_read_result still held
 * keeps its segment (and descriptor) alive, so an in-flight send completes. */
int logdir_delete(struct logdir *ld, const char *topic, int32_t partition);

/* Iteration, in (topic, partition) order; i < logdir_count. Valid until the next create/delete. */
size_t logdir_count(const struct logdir *ld);
struct plog *logdir_at(const struct logdir *ld, size_t i, const char **topic, int32_t *partition,
                       const char **log_dir);
size_t logdir_dir_count(const struct logdir *ld);
const char *logdir_dir_path(const struct logdir *ld, size_t dir_index);
size_t logdir_dir_partitions(const struct logdir *ld, size_t dir_index);

/* ---- checkpoints ----
 * The broker calls logdir_checkpoint on timers: LOGDIR_CKPT_RECOVERY every
 * log.flush.offset.checkpoint.interval.ms (60 s), LOGDIR_CKPT_LOG_START every
 * log.flush.start.offset.checkpoint.interval.ms (60 s). Each file is written with
 * sio_write_atomic (fdatasync + rename + directory fsync). To keep those syncs off the event
 * loop, split it: logdir_checkpoint_prepare on the loop (cheap: reads the offsets), then
 * logdir_checkpoint_write on a worker thread, then logdir_checkpoint_free. A snapshot older than
 * one already written for the same file is skipped, so a late write never brings back a
 * deleted partition. */
enum { LOGDIR_CKPT_RECOVERY = 1, LOGDIR_CKPT_LOG_START = 2, LOGDIR_CKPT_ALL = 3 };

int logdir_checkpoint(struct logdir *ld, int which);
int logdir_checkpoint_prepare(struct logdir *ld, int which, struct logdir_checkpoint **out);
int logdir_checkpoint_write(struct logdir_checkpoint *snap);
void logdir_checkpoint_free(struct logdir_checkpoint *snap);

/* "<topic>-<partition>" -> topic, partition (Kafka's rule: the partition follows the last
 * dash; topic names may contain dashes). False for anything else, including a non-canonical
 * partition ("007", "+7") and an invalid topic name. topic must hold 250 bytes. */
bool logdir_parse_partition_dir(const char *name, char *topic, int32_t *partition);
/* Kafka's topic name rule. */
bool logdir_topic_valid(const char *topic);

#endif
