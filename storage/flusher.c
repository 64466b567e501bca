/* The flusher thread: group commit. Design note.
 *
 * Registered logs each have, under the flusher's mutex: due (flush.messages reached, or a roll
 * to make durable), pending_since_ms (the first unflushed append, for flush.ms, 0 = none),
 * flush_ms and the round that last took it. Each round the thread takes every due or overdue log,
 * captures each one's dirty files with no flusher lock held (plog_flush_begin), syncs them, and
 * publishes (plog_flush_end). While a round syncs, later appends only set due again, so one
 * round covers every append that arrived before it started (group commit). Syncing: the logs
 * of the round on one file system that would need two or more fdatasyncs between them get one
 * syncfs instead, when use_syncfs; on this kind of disk one syncfs costs about one fdatasync,
 * so a round over 40 partitions costs one device flush instead of 40 or more. The price: a
 * syncfs also writes back whatever else on that file system is dirty (and reports its write
 * errors), which a data disk shared with other writers would make slow;
 * quire.log.flush.syncfs=false turns it off. flusher_unregister waits while a running round
 * holds its log, so a closed log is never touched. Lock order: the flusher mutex is never held
 * while taking a log's mutex, and plog.c never holds its own while calling in here. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "plog.h"

struct flusher_entry {
  struct plog *log;
  bool due;
  unsigned round; /* the last round that took it: busy while that round runs */
  int64_t pending_since_ms;
  int64_t flush_ms;
};

struct storage_flusher {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t wake, idle;
  bool stop;
  bool use_syncfs;
  struct flusher_entry *logs;
  size_t log_count, log_cap;
  struct plog_flush *round; /* the round being synced; the thread's own */
  size_t round_cap;
  unsigned round_id; /* of the running or last round */
  bool in_round;
};

static bool entry_busy(const struct storage_flusher *f, const struct flusher_entry *e) {
  return f->in_round && e->round == f->round_id;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* O(1): each log holds the index of its entry (plog_flusher_slot), kept up to date here. */
static struct flusher_entry *entry_find(struct storage_flusher *f, struct plog *log) {
  size_t i = *plog_flusher_slot(log);
  return i < f->log_count && f->logs[i].log == log ? &f->logs[i] : NULL;
}

/* Syncs a captured round: one syncfs per file system where that saves fdatasyncs. */
static void round_sync(struct storage_flusher *f, struct plog_flush *fls, size_t n) {
  for (size_t i = 0; f->use_syncfs && i < n; i++) {
    if (fls[i].fs_synced || fls[i].count == 0) continue;
    uint64_t fs = plog_fs_id(fls[i].log);
    size_t syncs = 0;
    for (size_t j = i; j < n; j++)
      if (!fls[j].fs_synced && plog_fs_id(fls[j].log) == fs)
        syncs += plog_flush_sync_count(&fls[j]);
    if (syncs < 2) continue;
    int rc = plog_flush_syncfs(&fls[i]);
    for (size_t j = i; j < n; j++) {
      if (fls[j].fs_synced || plog_fs_id(fls[j].log) != fs) continue;
      fls[j].fs_synced = true;
      fls[j].rc = rc;
    }
  }
}

static void *flusher_main(void *arg) {
  struct storage_flusher *f = arg;
  pthread_mutex_lock(&f->mu);
  while (!f->stop) {
    int64_t now = mono_ms(), deadline = INT64_MAX;
    if (f->round_cap < f->log_count) {
      struct plog_flush *r = realloc(f->round, f->log_count * sizeof(*r));
      if (r == NULL) abort(); /* as in flusher_register */
      f->round = r;
      f->round_cap = f->log_count;
    }
    size_t n = 0;
    f->round_id++;
    for (size_t i = 0; i < f->log_count; i++) {
      struct flusher_entry *e = &f->logs[i];
      int64_t at = INT64_MAX;
      if (e->pending_since_ms > 0 && e->flush_ms != PLOG_NEVER)
        at = e->pending_since_ms + e->flush_ms;
      if (e->due || at <= now) {
        e->due = false;
        e->pending_since_ms = 0;
        e->round = f->round_id;
        f->round[n++].log = e->log;
      } else if (at < deadline) {
        deadline = at;
      }
    }
    if (n > 0) {
      f->in_round = true;
      pthread_mutex_unlock(&f->mu);
      for (size_t i = 0; i < n; i++) plog_flush_begin(f->round[i].log, &f->round[i]);
      round_sync(f, f->round, n);
      for (size_t i = 0; i < n; i++) plog_flush_end(&f->round[i]);
      pthread_mutex_lock(&f->mu);
      f->in_round = false;
      pthread_cond_broadcast(&f->idle);
      continue;
    }
    if (deadline == INT64_MAX) {
      pthread_cond_wait(&f->wake, &f->mu);
    } else {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      int64_t wait_ms = deadline - now;
      ts.tv_sec += wait_ms / 1000;
      ts.tv_nsec += (wait_ms % 1000) * 1000000;
      if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
      }
      pthread_cond_timedwait(&f->wake, &f->mu, &ts);
    }
  }
  pthread_mutex_unlock(&f->mu);
  return NULL;
}

int storage_flusher_start(bool use_syncfs, struct storage_flusher **out) {
  struct storage_flusher *f = calloc(1, sizeof(*f));
  if (f == NULL) return -ENOMEM;
  f->use_syncfs = use_syncfs;
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->wake, NULL);
  pthread_cond_init(&f->idle, NULL);
  int rc = pthread_create(&f->thread, NULL, flusher_main, f);
  if (rc != 0) {
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->wake);
    pthread_cond_destroy(&f->idle);
    free(f);
    return -rc;
  }
  pthread_setname_np(f->thread, "quire-flusher"); /* as top -H and perf show it */
  *out = f;
  return 0;
}

void storage_flusher_stop(struct storage_flusher *f) {
  if (f == NULL) return;
  pthread_mutex_lock(&f->mu);
  f->stop = true;
  pthread_cond_signal(&f->wake);
  pthread_mutex_unlock(&f->mu);
  pthread_join(f->thread, NULL);
  pthread_mutex_destroy(&f->mu);
  pthread_cond_destroy(&f->wake);
  pthread_cond_destroy(&f->idle);
  free(f->logs);
  free(f->round);
  free(f);
}

void flusher_register(struct storage_flusher *f, struct plog *log, int64_t flush_ms) {
  pthread_mutex_lock(&f->mu);
  if (f->log_count == f->log_cap) {
    size_t ncap = f->log_cap ? f->log_cap * 2 : 16;
    struct flusher_entry *n = realloc(f->logs, ncap * sizeof(*n));
    if (n == NULL) abort(); /* out of memory registering a log: nothing sensible to do */
    f->logs = n;
    f->log_cap = ncap;
  }
  *plog_flusher_slot(log) = f->log_count;
  f->logs[f->log_count++] = (struct flusher_entry){log, false, 0, 0, flush_ms};
  pthread_mutex_unlock(&f->mu);
}

void flusher_unregister(struct storage_flusher *f, struct plog *log) {
  pthread_mutex_lock(&f->mu);
  struct flusher_entry *e;
  while ((e = entry_find(f, log)) != NULL && entry_busy(f, e)) pthread_cond_wait(&f->idle, &f->mu);
  if (e != NULL) {
    *e = f->logs[--f->log_count];
    *plog_flusher_slot(e->log) = (size_t)(e - f->logs); /* the entry moved in, if any */
  }
  pthread_mutex_unlock(&f->mu);
}

void flusher_set_flush_ms(struct storage_flusher *f, struct plog *log, int64_t flush_ms) {
  pthread_mutex_lock(&f->mu);
  struct flusher_entry *e = entry_find(f, log);
  if (e != NULL) e->flush_ms = flush_ms;
  pthread_cond_signal(&f->wake); /* a shorter flush.ms may be due already */
  pthread_mutex_unlock(&f->mu);
}

/* The signal follows the unlock: signalled under the mutex, the woken thread would at once block
 * on it again, two more futex calls for every append. */
void flusher_note_append(struct storage_flusher *f, struct plog *log, bool due) {
  bool wake = false;
  pthread_mutex_lock(&f->mu);
  struct flusher_entry *e = entry_find(f, log);
  if (e != NULL) {
    if (e->pending_since_ms == 0) e->pending_since_ms = mono_ms();
    if (due) e->due = true;
    wake = due || e->flush_ms != PLOG_NEVER;
  }
  pthread_mutex_unlock(&f->mu);
  if (wake) pthread_cond_signal(&f->wake);
}
