/* The flusher thread: group commit. Design note.
 *
 * Registered logs each have, under the flusher's mutex: due (flush.messages reached, or a roll
 * to make durable), pending_since_ms (the first unflushed append, for flush.ms, 0 = none) and
 * flush_ms. The thread picks due or overdue logs round-robin and calls plog_flusher_run with no
 * flusher lock held; while it syncs, later appends only set due again, so one fdatasync covers
 * every append that arrived before it started (group commit). busy names the log being flushed:
 * flusher_unregister waits for it, so a closed log is never touched. Lock order: the flusher
 * mutex is never held while taking a log's mutex, and plog.c never holds its own while calling
 * in here. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "plog.h"

struct flusher_entry {
  struct plog *log;
  bool due;
  int64_t pending_since_ms;
  int64_t flush_ms;
};

struct storage_flusher {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t wake, idle;
  bool stop;
  struct flusher_entry *logs;
  size_t log_count, log_cap, next;
  struct plog *busy;
};

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct flusher_entry *entry_find(struct storage_flusher *f, struct plog *log) {
  for (size_t i = 0; i < f->log_count; i++)
    if (f->logs[i].log == log) return &f->logs[i];
  return NULL;
}

static void *flusher_main(void *arg) {
  struct storage_flusher *f = arg;
  pthread_mutex_lock(&f->mu);
  while (!f->stop) {
    int64_t now = mono_ms(), deadline = INT64_MAX;
    struct plog *pick = NULL;
    for (size_t k = 0; k < f->log_count && pick == NULL; k++) {
      size_t i = (f->next + k) % f->log_count;
      struct flusher_entry *e = &f->logs[i];
      int64_t at = INT64_MAX;
      if (e->pending_since_ms > 0 && e->flush_ms != PLOG_NEVER)
        at = e->pending_since_ms + e->flush_ms;
      if (e->due || at <= now) {
        pick = e->log;
        e->due = false;
        e->pending_since_ms = 0;
        f->next = i + 1;
      } else if (at < deadline) {
        deadline = at;
      }
    }
    if (pick != NULL) {
      f->busy = pick;
      pthread_mutex_unlock(&f->mu);
      plog_flusher_run(pick);
      pthread_mutex_lock(&f->mu);
      f->busy = NULL;
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

int storage_flusher_start(struct storage_flusher **out) {
  struct storage_flusher *f = calloc(1, sizeof(*f));
  if (f == NULL) return -ENOMEM;
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
  f->logs[f->log_count++] = (struct flusher_entry){log, false, 0, flush_ms};
  pthread_mutex_unlock(&f->mu);
}

void flusher_unregister(struct storage_flusher *f, struct plog *log) {
  pthread_mutex_lock(&f->mu);
  while (f->busy == log) pthread_cond_wait(&f->idle, &f->mu);
  struct flusher_entry *e = entry_find(f, log);
  if (e != NULL) *e = f->logs[--f->log_count];
  pthread_mutex_unlock(&f->mu);
}

void flusher_set_flush_ms(struct storage_flusher *f, struct plog *log, int64_t flush_ms) {
  pthread_mutex_lock(&f->mu);
  struct flusher_entry *e = entry_find(f, log);
  if (e != NULL) e->flush_ms = flush_ms;
  pthread_cond_signal(&f->wake); /* a shorter flush.ms may be due already */
  pthread_mutex_unlock(&f->mu);
}

void flusher_note_append(struct storage_flusher *f, struct plog *log, bool due) {
  pthread_mutex_lock(&f->mu);
  struct flusher_entry *e = entry_find(f, log);
  if (e != NULL) {
    if (e->pending_since_ms == 0) e->pending_since_ms = mono_ms();
    if (due) e->due = true;
    if (due || e->flush_ms != PLOG_NEVER) pthread_cond_signal(&f->wake);
  }
  pthread_mutex_unlock(&f->mu);
}
