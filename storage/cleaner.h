/* Log compaction (cleanup.policy=compact): the cleaner's core for one partition log, run
 * synchronously by its caller. Design note, Kafka's rules and where Quire differs in cleaner.c.
 *
 * Errors: 0 or a negative errno: -EINVAL misuse (a bad config, a log directory whose name is not
 * "<topic>-<partition>"), -ENOBUFS the dedupe buffer cannot hold the keys of one batch, -EAGAIN
 * the log was truncated meanwhile (nothing of that segment changed; run again), anything else
 * a disk error (plog_is_disk_error). A failed pass leaves every segment either as it was or
 * cleaned, and the checkpoint where the last complete pass left it.
 *
 * Threading: call it from the thread that owns the log (as every plog_* function). */
#ifndef QUIRE_STORAGE_CLEANER_H
#define QUIRE_STORAGE_CLEANER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "plog.h"

#define CLEANER_CHECKPOINT "cleaner-offset-checkpoint" /* in the log dir, like Kafka's */

/* The steps of a segment's swap, for tests that simulate a crash at each one. */
enum cleaner_step {
  CLEANER_STEP_CLEANED_WRITTEN = 1, /* BASE.log.cleaned written and synced */
  CLEANER_STEP_SWAP_RENAMED,        /* renamed to BASE.log.swap, directory synced: committed */
  CLEANER_STEP_OLD_INDEXES_GONE,    /* the old BASE.index / BASE.timeindex unlinked */
  CLEANER_STEP_SWAPPED,             /* BASE.log.swap renamed over BASE.log */
  CLEANER_STEP_CHECKPOINTED,        /* the pass is over, the checkpoint written */
};

struct cleaner_config {
  uint64_t dedupe_buffer_bytes;  /* log.cleaner.dedupe.buffer.size, 128 MiB (one thread) */
  int64_t delete_retention_ms;   /* delete.retention.ms, 1 day */
  int64_t min_compaction_lag_ms; /* min.compaction.lag.ms, 0 */
  int64_t max_compaction_lag_ms; /* max.compaction.lag.ms, Long.MAX (cleaner_cleanable only) */
  uint32_t inflate_max;          /* cap of one batch's inflated records, 64 MiB */
  /* Called after each batch read and each piece written with the bytes moved since the last
   * call (log_cleaner.c throttles there, and stops an aborted pass); a non-zero return stops
   * the pass with that error. NULL: never called. */
  int (*progress)(void *arg, uint64_t bytes);
  void *progress_arg;
  /* tests: called at each step; a non-zero return stops the pass there with that error */
  int (*test_step)(void *arg, enum cleaner_step step, int64_t segment_base);
  void *test_step_arg;
};

void cleaner_config_init(struct cleaner_config *c);

struct cleaner_stats {
  uint64_t bytes_read, bytes_written;
  uint64_t records_kept, records_removed; /* of the rewritten segments */
  uint64_t tombstones_removed;            /* counted in records_removed too */
  uint64_t segments_cleaned; /* swapped (an unchanged one is left alone), each merged one too */
  int64_t first_dirty;       /* where the pass started (the checkpoint, at least the log start) */
  int64_t cleaned_up_to;     /* the checkpoint written: the dirty section below it is clean */
};

/* One cleaning pass (Kafka's Cleaner.clean): maps key -> latest offset over the dirty section,
 * rewrites the closed segments from the log start through the mapped range, swaps each in,
 * then writes the checkpoint. Nothing to clean is a success with cleaned_up_to == first_dirty.
 * out may be NULL. */
int cleaner_clean(struct plog *log, const struct cleaner_config *cfg, int64_t now_ms,
                  struct cleaner_stats *out);

/* What decides whether a log is worth a pass (Kafka's LogToClean and maxCompactionDelay). */
struct cleaner_cleanable {
  uint64_t clean_bytes; /* closed segments wholly below the first dirty offset */
  uint64_t dirty_bytes; /* closed segments from there up to the first uncleanable one */
  double ratio;         /* dirty / (clean + dirty), 0 when both are 0: min.cleanable.dirty.ratio */
  /* how long ago the oldest dirty batch (a closed segment's first batch's timestamp) passed
   * max.compaction.lag.ms; 0 when none did. > 0 makes the log due whatever its ratio. */
  int64_t compaction_delay_ms;
};
int cleaner_cleanable(struct plog *log, const struct cleaner_config *cfg, int64_t now_ms,
                      struct cleaner_cleanable *out);

/* The checkpointed offset of the log (-ENOENT when the file or its entry is missing). */
int cleaner_checkpoint_read(struct plog *log, int64_t *offset);
/* Removes the log's entry (before the log is deleted: a topic created again under its name
 * starts dirty). */
int cleaner_checkpoint_forget(struct plog *log);

#endif
