/* See durable_queue.h. News is kept per log in a small array under a mutex; the loop swaps it out
 * and delivers without the lock held, so a handler may append (and so cause more news). */
#include "durable_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

struct news {
  struct plog *log;
  int64_t durable_end;
  int err;
};

struct durable_queue {
  pthread_mutex_t mu;
  struct news *items;
  size_t count, capacity;
  int efd;
  struct event *ev;
  durable_handler_fn *handler;
  void *arg;
};

void durable_queue_drain(struct durable_queue *q) {
  pthread_mutex_lock(&q->mu);
  struct news *items = q->items;
  size_t count = q->count;
  q->items = NULL;
  q->count = q->capacity = 0;
  pthread_mutex_unlock(&q->mu);
  for (size_t i = 0; i < count; i++)
    q->handler(q->arg, items[i].log, items[i].durable_end, items[i].err);
  free(items);
}

static void on_wake(evutil_socket_t fd, short events, void *arg) {
  uint64_t n;
  (void)events;
  if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
    log_error("storage", "durability wake-up read failed: %s", strerror(errno));
  durable_queue_drain(arg);
}

int durable_queue_create(struct event_base *base, durable_handler_fn *handler, void *arg,
                         struct durable_queue **out) {
  struct durable_queue *q = calloc(1, sizeof(*q));
  if (q == NULL) return -ENOMEM;
  pthread_mutex_init(&q->mu, NULL);
  q->handler = handler;
  q->arg = arg;
  q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (q->efd < 0) goto fail;
  q->ev = event_new(base, q->efd, EV_READ | EV_PERSIST, on_wake, q);
  if (q->ev == NULL || event_add(q->ev, NULL) != 0) goto fail;
  *out = q;
  return 0;
fail:
  durable_queue_destroy(q);
  return -ENOMEM;
}

void durable_queue_destroy(struct durable_queue *q) {
  if (q == NULL) return;
  if (q->ev != NULL) event_free(q->ev);
  if (q->efd >= 0) close(q->efd);
  free(q->items);
  pthread_mutex_destroy(&q->mu);
  free(q);
}

void durable_queue_post(void *queue, struct plog *log, int64_t durable_end, int err) {
  struct durable_queue *q = queue;
  bool wake = false;
  pthread_mutex_lock(&q->mu);
  size_t i = 0;
  while (i < q->count && q->items[i].log != log) i++;
  if (i == q->count) {
    if (q->count == q->capacity) {
      size_t cap = q->capacity ? q->capacity * 2 : 16;
      struct news *items = realloc(q->items, cap * sizeof(*items));
      if (items == NULL) { /* keep the news we have; this log's next flush reports again */
        pthread_mutex_unlock(&q->mu);
        log_error("storage", "out of memory queueing durability news");
        return;
      }
      q->items = items;
      q->capacity = cap;
    }
    q->items[q->count++] = (struct news){log, durable_end, err};
    wake = q->count == 1;
  } else {
    if (durable_end > q->items[i].durable_end) q->items[i].durable_end = durable_end;
    if (q->items[i].err == 0) q->items[i].err = err;
  }
  pthread_mutex_unlock(&q->mu);
  if (wake) {
    uint64_t one = 1;
    if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
      log_error("storage", "durability wake-up write failed: %s", strerror(errno));
  }
}

void durable_queue_forget(struct durable_queue *q, struct plog *log) {
  pthread_mutex_lock(&q->mu);
  for (size_t i = 0; i < q->count; i++) {
    if (q->items[i].log != log) continue;
    q->items[i] = q->items[--q->count];
    break;
  }
  pthread_mutex_unlock(&q->mu);
}
