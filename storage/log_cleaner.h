/* The log cleaner's threads (Kafka's LogCleaner and LogCleanerManager): log.cleaner.threads
 * threads that compact the registered logs (cleanup.policy with compact) in the background, one
 * pass (cleaner.c) at a time per log, off the broker's event loop. Design note in log_cleaner.c.
 *
 * Threading: every function is called from the thread that owns the logs (the event loop);
 * on_pass runs on a cleaner thread with no lock held. A log must be removed (log_cleaner_remove)
 * before it is closed or deleted, and paused (log_cleaner_pause) around a truncation. */
#ifndef QUIRE_STORAGE_LOG_CLEANER_H
#define QUIRE_STORAGE_LOG_CLEANER_H

#include <stdint.h>

#include "cleaner.h"
#include "plog.h"

struct log_cleaner;

struct log_cleaner_config {
  int threads;                    /* log.cleaner.threads; 0: nothing is cleaned */
  uint64_t dedupe_buffer_bytes;   /* log.cleaner.dedupe.buffer.size, shared by the threads */
  double io_max_bytes_per_second; /* log.cleaner.io.max.bytes.per.second, all threads together */
  int64_t backoff_ms;             /* log.cleaner.backoff.ms: the sleep when nothing is due */
  int64_t (*now_ms)(void);        /* wall clock (record timestamps); NULL: CLOCK_REALTIME */
  /* after each pass, on its thread: rc is cleaner_clean's (-ECANCELED: aborted) */
  void (*on_pass)(void *arg, struct plog *log, int rc, const struct cleaner_stats *stats);
  void *on_pass_arg;
};

/* One log's topic settings. */
struct log_cleaner_settings {
  double min_cleanable_ratio; /* min.cleanable.dirty.ratio */
  int64_t min_compaction_lag_ms, max_compaction_lag_ms, delete_retention_ms;
};

int log_cleaner_start(const struct log_cleaner_config *cfg, struct log_cleaner **out);
/* Aborts the passes in progress, joins the threads, forgets every log. NULL: nothing. */
void log_cleaner_stop(struct log_cleaner *lc);
/* A changed configuration: the figures apply from the next pass; a changed thread count aborts
 * the passes in progress and restarts the threads. */
int log_cleaner_reconfigure(struct log_cleaner *lc, const struct log_cleaner_config *cfg);

/* Registers a compacted log, or updates its settings. -ENOMEM. */
int log_cleaner_add(struct log_cleaner *lc, struct plog *log,
                    const struct log_cleaner_settings *settings);
/* Forgets log (nothing when unknown); a pass on it is aborted and waited for. */
void log_cleaner_remove(struct log_cleaner *lc, struct plog *log);
/* No pass on log until as many resumes (a pass in progress is aborted and waited for). */
void log_cleaner_pause(struct log_cleaner *lc, struct plog *log);
void log_cleaner_resume(struct log_cleaner *lc, struct plog *log);
/* The threads look for work now instead of at the end of their backoff. */
void log_cleaner_wake(struct log_cleaner *lc);

#endif
