/* The log cleaner's threads. Design note.
 *
 * Choosing (Kafka's grabFilthiestCompactedLog): a free thread looks at every registered log that
 * is neither being cleaned, paused nor uncleanable, and takes the one with the highest dirty
 * ratio among those due: ratio > min.cleanable.dirty.ratio, or dirty bytes whose oldest batch
 * is past max.compaction.lag.ms. It runs one pass (cleaner_clean) on it with no lock held, then
 * looks again at once if the pass got somewhere; otherwise (nothing due, or a pass that could
 * not advance, e.g. its segment went to retention meanwhile) it sleeps log.cleaner.backoff.ms or
 * until woken.
 *
 * Failures: a pass that fails other than by an abort or a concurrent change (-EAGAIN) marks its
 * log uncleanable (Kafka's uncleanable partitions): it is skipped until it is registered anew
 * (a restart). A pass leaves each segment whole either way (cleaner.c).
 *
 * Aborting (Kafka's abortAndPauseCleaning): remove and pause set the log's abort flag; the pass
 * sees it at its next batch through the progress hook and returns -ECANCELED having changed
 * nothing more (a segment already swapped stays cleaned). The caller waits for that, so a
 * removed log can be closed or deleted, and a paused one truncated, safely.
 *
 * Throttling (log.cleaner.io.max.bytes.per.second, shared by all threads as Kafka's Throttler
 * is): each batch read and piece written moves the time by which the bytes so far are allowed
 * on by bytes / rate (from now, when that time has passed: idle time earns no burst); a pass
 * ahead of it sleeps until then (woken early by an abort).
 *
 * Memory: each pass maps at most dedupe_buffer_bytes / threads (cleaner.c sizes its map to the
 * dirty section when that is smaller).
 *
 * Lock order: the cleaner's mutex, then a log's (cleaner_cleanable); plog never calls in here. */
#include "log_cleaner.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

enum { THROTTLE_MIN_SLEEP_MS = 10 }; /* shorter waits are left to add up */

struct lc_entry {
  struct log_cleaner *lc;
  struct plog *log;
  struct log_cleaner_settings settings;
  bool busy;        /* a pass runs on it */
  bool abort;       /* that pass is to stop */
  bool uncleanable; /* a pass failed */
  int pauses;
};

struct log_cleaner {
  struct log_cleaner_config cfg;
  pthread_mutex_t mu;
  pthread_cond_t wake; /* work, an abort, a stop (CLOCK_MONOTONIC) */
  pthread_cond_t idle; /* a pass ended */
  pthread_t *threads;
  int thread_count;
  bool stopping;
  struct lc_entry **logs;
  size_t log_count, log_cap;
  double allowed_at_ms; /* the throttle's: when the bytes moved so far may have been moved */
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits on lc->wake for at most ms (under lc->mu). */
static void wait_ms(struct log_cleaner *lc, int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  if (ms > 86400000) ms = 86400000;
  ts.tv_sec += (time_t)(ms / 1000);
  ts.tv_nsec += (long)(ms % 1000) * 1000000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  pthread_cond_timedwait(&lc->wake, &lc->mu, &ts);
}

static struct lc_entry *entry_find(const struct log_cleaner *lc, const struct plog *log,
                                   size_t *at) {
  for (size_t i = 0; i < lc->log_count; i++)
    if (lc->logs[i]->log == log) {
      if (at != NULL) *at = i;
      return lc->logs[i];
    }
  return NULL;
}

/* Under lc->mu: stops the pass on e, if any, and waits until it has ended. */
static void abort_and_wait(struct log_cleaner *lc, struct lc_entry *e) {
  if (!e->busy) return;
  e->abort = true;
  pthread_cond_broadcast(&lc->wake);
  while (e->busy) pthread_cond_wait(&lc->idle, &lc->mu);
}

/* The progress hook of a pass: the abort flag, then the throttle. */
static int pass_progress(void *arg, uint64_t bytes) {
  struct lc_entry *e = arg;
  struct log_cleaner *lc = e->lc;
  pthread_mutex_lock(&lc->mu);
  double rate = lc->cfg.io_max_bytes_per_second, now = (double)mono_ms();
  if (rate > 0) {
    /* the time by which everything moved so far is allowed: no credit for idle time */
    if (lc->allowed_at_ms < now) lc->allowed_at_ms = now;
    lc->allowed_at_ms += (double)bytes / rate * 1000.0;
    while (!e->abort && lc->allowed_at_ms - (now = (double)mono_ms()) >= THROTTLE_MIN_SLEEP_MS)
      wait_ms(lc, (int64_t)(lc->allowed_at_ms - now));
  }
  int rc = e->abort ? -ECANCELED : 0;
  pthread_mutex_unlock(&lc->mu);
  return rc;
}

/* Under lc->mu: the cleaner_config of a pass on e. */
static struct cleaner_config pass_config(const struct log_cleaner *lc, struct lc_entry *e) {
  struct cleaner_config c;
  cleaner_config_init(&c);
  int threads = lc->cfg.threads > 0 ? lc->cfg.threads : 1;
  c.dedupe_buffer_bytes = lc->cfg.dedupe_buffer_bytes / (uint64_t)threads;
  c.delete_retention_ms = e->settings.delete_retention_ms;
  c.min_compaction_lag_ms = e->settings.min_compaction_lag_ms;
  c.max_compaction_lag_ms = e->settings.max_compaction_lag_ms;
  c.progress = pass_progress;
  c.progress_arg = e;
  return c;
}

/* Under lc->mu: the filthiest log that is due, or NULL. */
static struct lc_entry *pick(struct log_cleaner *lc, int64_t now) {
  struct lc_entry *best = NULL;
  double best_ratio = -1.0;
  for (size_t i = 0; i < lc->log_count; i++) {
    struct lc_entry *e = lc->logs[i];
    if (e->busy || e->pauses > 0 || e->uncleanable) continue;
    struct cleaner_config c = pass_config(lc, e);
    struct cleaner_cleanable cl;
    if (cleaner_cleanable(e->log, &c, now, &cl) != 0) continue; /* the pass would say why */
    bool due = (cl.compaction_delay_ms > 0 && cl.dirty_bytes > 0) ||
               cl.ratio > e->settings.min_cleanable_ratio;
    if (due && cl.ratio > best_ratio) {
      best = e;
      best_ratio = cl.ratio;
    }
  }
  return best;
}

static void *cleaner_main(void *arg) {
  struct log_cleaner *lc = arg;
  pthread_mutex_lock(&lc->mu);
  while (!lc->stopping) {
    int64_t now = lc->cfg.now_ms != NULL ? lc->cfg.now_ms() : wall_ms();
    struct lc_entry *e = pick(lc, now);
    if (e == NULL) {
      wait_ms(lc, lc->cfg.backoff_ms);
      continue;
    }
    e->busy = true;
    e->abort = false;
    struct cleaner_config c = pass_config(lc, e);
    struct log_cleaner_config cfg = lc->cfg;
    pthread_mutex_unlock(&lc->mu);
    struct cleaner_stats st;
    int rc = cleaner_clean(e->log, &c, now, &st);
    if (cfg.on_pass != NULL) cfg.on_pass(cfg.on_pass_arg, e->log, rc, &st);
    pthread_mutex_lock(&lc->mu);
    e->busy = false;
    if (rc != 0 && rc != -EAGAIN && rc != -ECANCELED) e->uncleanable = true;
    pthread_cond_broadcast(&lc->idle);
    if ((rc != 0 || st.cleaned_up_to <= st.first_dirty) && !lc->stopping)
      wait_ms(lc, lc->cfg.backoff_ms); /* no progress: do not spin on it */
  }
  pthread_mutex_unlock(&lc->mu);
  return NULL;
}

/* Under lc->mu, which it drops while joining: aborts every pass, joins every thread. */
static void threads_stop(struct log_cleaner *lc) {
  lc->stopping = true;
  for (size_t i = 0; i < lc->log_count; i++)
    if (lc->logs[i]->busy) lc->logs[i]->abort = true;
  pthread_cond_broadcast(&lc->wake);
  pthread_mutex_unlock(&lc->mu);
  for (int i = 0; i < lc->thread_count; i++) pthread_join(lc->threads[i], NULL);
  pthread_mutex_lock(&lc->mu);
  free(lc->threads);
  lc->threads = NULL;
  lc->thread_count = 0;
  lc->stopping = false;
}

/* Under lc->mu: starts cfg.threads threads. */
static int threads_start(struct log_cleaner *lc) {
  if (lc->cfg.threads <= 0) return 0;
  lc->threads = calloc((size_t)lc->cfg.threads, sizeof(*lc->threads));
  if (lc->threads == NULL) return -ENOMEM;
  for (int i = 0; i < lc->cfg.threads; i++) {
    int rc = pthread_create(&lc->threads[i], NULL, cleaner_main, lc);
    if (rc != 0) {
      threads_stop(lc);
      return -rc;
    }
    pthread_setname_np(lc->threads[i], "quire-cleaner");
    lc->thread_count++;
  }
  return 0;
}

int log_cleaner_start(const struct log_cleaner_config *cfg, struct log_cleaner **out) {
  struct log_cleaner *lc = calloc(1, sizeof(*lc));
  if (lc == NULL) return -ENOMEM;
  lc->cfg = *cfg;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_mutex_init(&lc->mu, NULL);
  pthread_cond_init(&lc->wake, &attr);
  pthread_cond_init(&lc->idle, NULL);
  pthread_condattr_destroy(&attr);
  pthread_mutex_lock(&lc->mu);
  int rc = threads_start(lc);
  pthread_mutex_unlock(&lc->mu);
  if (rc != 0) {
    log_cleaner_stop(lc);
    return rc;
  }
  *out = lc;
  return 0;
}

void log_cleaner_stop(struct log_cleaner *lc) {
  if (lc == NULL) return;
  pthread_mutex_lock(&lc->mu);
  threads_stop(lc);
  pthread_mutex_unlock(&lc->mu);
  for (size_t i = 0; i < lc->log_count; i++) free(lc->logs[i]);
  free(lc->logs);
  pthread_mutex_destroy(&lc->mu);
  pthread_cond_destroy(&lc->wake);
  pthread_cond_destroy(&lc->idle);
  free(lc);
}

int log_cleaner_reconfigure(struct log_cleaner *lc, const struct log_cleaner_config *cfg) {
  int rc = 0;
  pthread_mutex_lock(&lc->mu);
  bool restart = cfg->threads != lc->cfg.threads;
  if (restart) threads_stop(lc);
  lc->cfg = *cfg;
  if (restart) rc = threads_start(lc);
  pthread_cond_broadcast(&lc->wake);
  pthread_mutex_unlock(&lc->mu);
  return rc;
}

int log_cleaner_add(struct log_cleaner *lc, struct plog *log,
                    const struct log_cleaner_settings *settings) {
  int rc = 0;
  pthread_mutex_lock(&lc->mu);
  struct lc_entry *e = entry_find(lc, log, NULL);
  if (e == NULL) {
    if (lc->log_count == lc->log_cap) {
      size_t ncap = lc->log_cap ? lc->log_cap * 2 : 16;
      struct lc_entry **n = realloc(lc->logs, ncap * sizeof(*n));
      if (n == NULL) {
        rc = -ENOMEM;
        goto out;
      }
      lc->logs = n;
      lc->log_cap = ncap;
    }
    if ((e = calloc(1, sizeof(*e))) == NULL) {
      rc = -ENOMEM;
      goto out;
    }
    e->lc = lc;
    e->log = log;
    lc->logs[lc->log_count++] = e;
  }
  e->settings = *settings; /* a pass in progress keeps the settings it started with */
  pthread_cond_broadcast(&lc->wake);
out:
  pthread_mutex_unlock(&lc->mu);
  return rc;
}

void log_cleaner_remove(struct log_cleaner *lc, struct plog *log) {
  size_t at;
  pthread_mutex_lock(&lc->mu);
  struct lc_entry *e = entry_find(lc, log, &at);
  if (e != NULL) {
    abort_and_wait(lc, e);
    lc->logs[at] = lc->logs[--lc->log_count];
    free(e);
  }
  pthread_mutex_unlock(&lc->mu);
}

void log_cleaner_pause(struct log_cleaner *lc, struct plog *log) {
  pthread_mutex_lock(&lc->mu);
  struct lc_entry *e = entry_find(lc, log, NULL);
  if (e != NULL) {
    e->pauses++;
    abort_and_wait(lc, e);
  }
  pthread_mutex_unlock(&lc->mu);
}

void log_cleaner_resume(struct log_cleaner *lc, struct plog *log) {
  pthread_mutex_lock(&lc->mu);
  struct lc_entry *e = entry_find(lc, log, NULL);
  if (e != NULL && e->pauses > 0 && --e->pauses == 0) pthread_cond_broadcast(&lc->wake);
  pthread_mutex_unlock(&lc->mu);
}

void log_cleaner_wake(struct log_cleaner *lc) {
  pthread_mutex_lock(&lc->mu);
  pthread_cond_broadcast(&lc->wake);
  pthread_mutex_unlock(&lc->mu);
}
