/* See partitions.h. */
#include "partitions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "durable_queue.h"
#include "errors.h"
#include "log.h"
#include "log_cleaner.h"
#include "logdir.h"
#include "meta.h"
#include "topic_config.h"

enum { PARTITION_METADATA_MAX = 256 };

/* The broker's defaults plus the topic's overrides (topic NULL: the defaults). */
static void settings_for(const struct broker *b, const char *topic, struct topic_settings *out) {
  const struct image_topic *t =
      topic != NULL ? image_topic_find(&b->image, topic, strlen(topic)) : NULL;
  size_t n = t != NULL ? t->configs.count : 0;
  struct config_override *ov = calloc(n + 1, sizeof(*ov));
  for (size_t i = 0; ov != NULL && i < n; i++) {
    ov[i].name = t->configs.items[i].name;
    ov[i].value = t->configs.items[i].value;
  }
  topic_config_settings(b->cfg, ov, ov != NULL ? (int)n : 0, out);
  free(ov);
  int64_t expiration_ms;
  if (config_get_int64(b->cfg, "producer.id.expiration.ms", &expiration_ms) == 0 &&
      expiration_ms >= 1)
    out->plog.producer_id_expiration_ms = expiration_ms;
}

void partitions_config_for(void *broker, const char *topic, struct plog_config *out) {
  struct topic_settings settings;
  settings_for(broker, topic, &settings);
  *out = settings.plog;
}

/* ---- the log cleaner: compacted logs registered, the others not ---- */

static void cleaner_sync(struct broker *b, struct plog *log, const struct topic_settings *st) {
  if (b->cleaner == NULL) return;
  if (!st->cleanup_compact) {
    log_cleaner_remove(b->cleaner, log);
    return;
  }
  struct log_cleaner_settings c = {st->min_cleanable_dirty_ratio, st->min_compaction_lag_ms,
                                   st->max_compaction_lag_ms, st->delete_retention_ms};
  if (log_cleaner_add(b->cleaner, log, &c) != 0)
    log_error("storage", "%s will not be compacted: out of memory", plog_dir(log));
}

/* Runs on a cleaner thread: only logs. */
static void cleaner_on_pass(void *arg, struct plog *log, int rc, const struct cleaner_stats *st) {
  (void)arg;
  if (rc == -ECANCELED || rc == -EAGAIN) return;
  if (rc != 0) {
    log_error("storage", "compacting %s failed: %s; it is left uncompacted until a restart",
              plog_dir(log), strerror(-rc));
  } else if (st->segments_cleaned > 0) {
    log_info("storage",
             "compacted %s up to offset %lld: %llu segments rewritten, %llu records removed "
             "(%llu tombstones), %llu bytes read, %llu written",
             plog_dir(log), (long long)st->cleaned_up_to, (unsigned long long)st->segments_cleaned,
             (unsigned long long)st->records_removed, (unsigned long long)st->tombstones_removed,
             (unsigned long long)st->bytes_read, (unsigned long long)st->bytes_written);
  }
}

static double config_double(const struct config *cfg, const char *key, double fallback) {
  const char *v = config_get(cfg, key);
  return v != NULL ? strtod(v, NULL) : fallback;
}

/* Starts the cleaner, or hands it the broker's log.cleaner.* settings as they are now. */
static void cleaner_configure(struct broker *b) {
  struct log_cleaner_config c = {0};
  int64_t threads = 1, dedupe = 128LL << 20, backoff = 15000;
  bool enable = true;
  config_get_bool(b->cfg, "log.cleaner.enable", &enable);
  config_get_int64(b->cfg, "log.cleaner.threads", &threads);
  config_get_int64(b->cfg, "log.cleaner.dedupe.buffer.size", &dedupe);
  config_get_int64(b->cfg, "log.cleaner.backoff.ms", &backoff);
  c.threads = enable ? (int)threads : 0;
  c.dedupe_buffer_bytes = (uint64_t)dedupe;
  c.io_max_bytes_per_second = config_double(b->cfg, "log.cleaner.io.max.bytes.per.second", 1e308);
  c.backoff_ms = backoff;
  c.on_pass = cleaner_on_pass;
  int rc = b->cleaner == NULL ? log_cleaner_start(&c, &b->cleaner)
                              : log_cleaner_reconfigure(b->cleaner, &c);
  if (rc != 0) log_error("storage", "the log cleaner cannot start: %s", strerror(-rc));
}

void partitions_cleaner_stop(struct broker *b) {
  log_cleaner_stop(b->cleaner);
  b->cleaner = NULL;
}

static bool hosted_here(const struct broker *b, const struct image_partition *p) {
  for (int32_t i = 0; i < p->replica_count; i++)
    if (p->replicas[i] == b->cfg->node_id) return true;
  return false;
}

static int metadata_path(const char *dir, char *path, size_t size) {
  return snprintf(path, size, "%s/partition.metadata", dir) >= (int)size ? -ENAMETOOLONG : 0;
}

/* Kafka's partition.metadata: "version: 0" and "topic_id: <base64 id>". */
static int metadata_write(struct broker *b, struct plog *log, const struct wire_uuid *id) {
  char path[4096], text[PARTITION_METADATA_MAX], id_text[23];
  int rc = metadata_path(plog_dir(log), path, sizeof(path));
  if (rc != 0) return rc;
  meta_uuid_text(id->b, id_text);
  int n = snprintf(text, sizeof(text), "version: 0\ntopic_id: %s\n", id_text);
  return sio_write_atomic(b->io, path, text, (size_t)n);
}

/* Whether the log's partition.metadata names topic id (a log without the file, from before it
 * existed, belongs to whichever topic has its name). */
static bool metadata_matches(struct broker *b, struct plog *log, const struct wire_uuid *id) {
  char path[4096], id_text[23], *text = NULL;
  size_t size;
  if (metadata_path(plog_dir(log), path, sizeof(path)) != 0) return false;
  if (sio_read_all(b->io, path, PARTITION_METADATA_MAX, &text, &size) != 0) return true;
  meta_uuid_text(id->b, id_text);
  const char *at = strstr(text, "topic_id:");
  bool match = false;
  if (at != NULL) {
    at += strlen("topic_id:");
    while (*at == ' ') at++;
    match = strncmp(at, id_text, 22) == 0;
  }
  free(text);
  return match;
}

/* ---- waiters: a table of lists by log ---- */

enum { WAIT_BUCKETS = 1024 };

struct partition_waiters {
  struct partition_waiter *buckets[WAIT_BUCKETS];
};

static size_t wait_bucket(const struct plog *log) {
  uintptr_t h = (uintptr_t)log;
  return (size_t)((h >> 4) ^ (h >> 14)) % WAIT_BUCKETS;
}

void partitions_wait(struct broker *b, struct plog *log, struct partition_waiter *w) {
  if (b->waiters == NULL && (b->waiters = calloc(1, sizeof(*b->waiters))) == NULL) abort();
  struct partition_waiter **head = &b->waiters->buckets[wait_bucket(log)];
  w->log = log;
  w->prev = NULL;
  w->next = *head;
  if (*head != NULL) (*head)->prev = w;
  *head = w;
}

void partitions_unwait(struct broker *b, struct partition_waiter *w) {
  if (w->log == NULL) return; /* not waiting */
  if (w->prev != NULL)
    w->prev->next = w->next;
  else
    b->waiters->buckets[wait_bucket(w->log)] = w->next;
  if (w->next != NULL) w->next->prev = w->prev;
  w->log = NULL;
  w->prev = w->next = NULL;
}

/* Wakes every waiter of log. A callback may unregister any waiter: the walk restarts from the
 * head after each wake, skipping the ones already woken in this round (by generation). */
static void wake_all(struct broker *b, struct plog *log, bool gone) {
  if (b->waiters == NULL) return;
  uint64_t round = ++b->wake_round;
  for (;;) {
    struct partition_waiter *w = b->waiters->buckets[wait_bucket(log)];
    while (w != NULL && (w->log != log || w->woken == round)) w = w->next;
    if (w == NULL) return;
    w->woken = round;
    /* the log goes: unregistered first, so the callback may free the waiter */
    if (gone) partitions_unwait(b, w);
    w->wake(w, b, gone);
  }
}

void partitions_appended(struct broker *b, struct plog *log) {
  int64_t hw = plog_high_watermark(log), durable = plog_durable_end(log);
  if (durable <= hw) return;
  plog_set_high_watermark(log, durable);
  wake_all(b, log, false);
}

int16_t partitions_get(struct broker *b, const struct image_topic *t, int32_t partition,
                       struct plog **log) {
  *log = NULL;
  if (partition < 0 || partition >= t->partition_count) return ERR_UNKNOWN_TOPIC_OR_PARTITION;
  if (t->partitions[partition].leader != b->cfg->node_id) return ERR_NOT_LEADER_OR_FOLLOWER;
  if (b->logs == NULL || (*log = logdir_find(b->logs, t->name, partition)) == NULL)
    return ERR_KAFKA_STORAGE_ERROR;
  return ERR_NONE;
}

static void log_delete(struct broker *b, const char *topic, int32_t partition) {
  struct plog *log = logdir_find(b->logs, topic, partition);
  if (log == NULL) return;
  wake_all(b, log, true);
  if (b->cleaner != NULL) log_cleaner_remove(b->cleaner, log);
  int rc = cleaner_checkpoint_forget(log);
  if (rc != 0 && rc != -ENOENT)
    log_error("storage", "%s-%d stays in the cleaner's checkpoint: %s", topic, partition,
              strerror(-rc));
  rc = logdir_delete(b->logs, topic, partition);
  durable_queue_forget(b->durable, log);
  if (rc != 0)
    log_error("storage", "deleting %s-%d: %s", topic, partition, strerror(-rc));
  else
    log_info("storage", "deleted the log of %s-%d", topic, partition);
}

static int log_ensure(struct broker *b, const struct image_topic *t, int32_t partition) {
  struct plog *log = logdir_find(b->logs, t->name, partition);
  if (log != NULL) {
    if (metadata_matches(b, log, &t->id)) return 0;
    log_info("storage", "%s-%d belongs to an older topic of that name", t->name, partition);
    log_delete(b, t->name, partition);
  }
  int rc = logdir_create(b->logs, t->name, partition, NULL, broker_now_ms(), &log);
  if (rc == 0) rc = metadata_write(b, log, &t->id);
  if (rc != 0) {
    log_error("storage", "creating the log of %s-%d: %s", t->name, partition, strerror(-rc));
    return rc;
  }
  struct topic_settings st;
  settings_for(b, t->name, &st);
  cleaner_sync(b, log, &st);
  return 0;
}

int partitions_reconcile(struct broker *b) {
  /* strays first: logs of topics that are gone, or of partitions not hosted here */
  for (size_t i = logdir_count(b->logs); i-- > 0;) {
    const char *topic, *dir;
    int32_t partition;
    logdir_at(b->logs, i, &topic, &partition, &dir);
    const struct image_topic *t = image_topic_find(&b->image, topic, strlen(topic));
    if (t != NULL && partition < t->partition_count && hosted_here(b, &t->partitions[partition]))
      continue;
    char name[256];
    snprintf(name, sizeof(name), "%s", topic);
    log_info("storage", "%s-%d is not in the metadata: deleting its log", name, partition);
    log_delete(b, name, partition);
  }
  for (size_t i = 0; i < b->image.topic_count; i++) {
    const struct image_topic *t = b->image.topics[i];
    for (int32_t p = 0; p < t->partition_count; p++) {
      if (!hosted_here(b, &t->partitions[p])) continue;
      int rc = log_ensure(b, t, p);
      if (rc != 0) return rc;
    }
  }
  return 0;
}

/* One log takes a topic's settings as they are now. */
static void log_reconfigure(struct broker *b, struct plog *log, const struct topic_settings *st) {
  int rc = plog_set_config(log, &st->plog);
  if (rc != 0) log_error("storage", "%s keeps its settings: %s", plog_dir(log), strerror(-rc));
  cleaner_sync(b, log, st);
  partitions_appended(b, log); /* flushing may have been turned off */
}

void partitions_apply_change(struct broker *b, const struct image_change *change) {
  if (b->logs == NULL) return;
  if (change->kind == IMAGE_CHANGE_TOPIC_REMOVED) {
    for (size_t i = logdir_count(b->logs); i-- > 0;) {
      const char *topic, *dir;
      int32_t partition;
      logdir_at(b->logs, i, &topic, &partition, &dir);
      if (strcmp(topic, change->topic) == 0) log_delete(b, change->topic, partition);
    }
  } else if (change->kind == IMAGE_CHANGE_CONFIG && change->topic[0] != '\0') {
    /* a topic override changed: its partitions take the new settings now */
    struct topic_settings st;
    settings_for(b, change->topic, &st);
    for (size_t i = 0; i < logdir_count(b->logs); i++) {
      const char *topic, *dir;
      int32_t partition;
      struct plog *log = logdir_at(b->logs, i, &topic, &partition, &dir);
      if (strcmp(topic, change->topic) == 0) log_reconfigure(b, log, &st);
    }
  } else if (change->kind == IMAGE_CHANGE_PARTITION) {
    const struct image_topic *t = image_topic_by_id(&b->image, &change->topic_id);
    if (t != NULL && hosted_here(b, &t->partitions[change->partition]))
      log_ensure(b, t, change->partition);
  }
}

void partitions_reconfigure(struct broker *b) {
  if (b->logs == NULL) return;
  cleaner_configure(b);
  struct topic_settings st;
  char last[256] = "";
  bool have = false;
  for (size_t i = 0; i < logdir_count(b->logs); i++) {
    const char *topic, *dir;
    int32_t partition;
    struct plog *log = logdir_at(b->logs, i, &topic, &partition, &dir);
    if (!have || strcmp(topic, last) != 0) { /* one lookup per topic */
      settings_for(b, topic, &st);
      snprintf(last, sizeof(last), "%s", topic);
      have = true;
    }
    log_reconfigure(b, log, &st);
  }
}

void partitions_on_durable(struct broker *b, struct plog *log, int64_t durable_end, int err) {
  (void)b;
  if (err < 0) {
    log_error("storage", "%s: flush failed: %s; the partition refuses appends", plog_dir(log),
              strerror(-err));
    return;
  }
  /* one replica: the high watermark is the durable end */
  if (durable_end <= plog_high_watermark(log)) return;
  plog_set_high_watermark(log, durable_end);
  wake_all(b, log, false);
}

static void on_retention(evutil_socket_t fd, short events, void *arg) {
  struct broker *b = arg;
  (void)fd;
  (void)events;
  int64_t now = broker_now_ms();
  for (size_t i = 0; i < logdir_count(b->logs); i++) {
    const char *topic, *dir;
    int32_t partition;
    struct plog *log = logdir_at(b->logs, i, &topic, &partition, &dir);
    size_t deleted = 0;
    int rc = plog_retention_run(log, now, &deleted);
    if (rc != 0)
      log_error("storage", "retention of %s-%d: %s", topic, partition, strerror(-rc));
    else if (deleted > 0)
      log_info("storage", "retention deleted %zu segments of %s-%d", deleted, topic, partition);
  }
}

static void on_checkpoint(evutil_socket_t fd, short events, void *arg) {
  struct broker *b = arg;
  (void)fd;
  (void)events;
  int rc = logdir_checkpoint(b->logs, LOGDIR_CKPT_ALL);
  if (rc != 0) log_error("storage", "writing checkpoint files: %s", strerror(-rc));
}

static struct event *timer_start(struct broker *b, event_callback_fn fn, int64_t interval_ms) {
  struct event *ev = event_new(b->base, -1, EV_PERSIST, fn, b);
  struct timeval tv = {(time_t)(interval_ms / 1000), (suseconds_t)(interval_ms % 1000) * 1000};
  if (ev != NULL && event_add(ev, &tv) != 0) {
    event_free(ev);
    ev = NULL;
  }
  return ev;
}

int partitions_timers_start(struct broker *b) {
  int64_t ckpt_ms = 60000;
  config_get_int64(b->cfg, "log.flush.offset.checkpoint.interval.ms", &ckpt_ms);
  b->retention_timer = timer_start(b, on_retention, b->cfg->log_retention_check_interval_ms);
  b->checkpoint_timer = timer_start(b, on_checkpoint, ckpt_ms > 0 ? ckpt_ms : 60000);
  return b->retention_timer != NULL && b->checkpoint_timer != NULL ? 0 : -ENOMEM;
}

void partitions_close_waiters(struct broker *b) {
  for (size_t i = 0; b->logs != NULL && i < logdir_count(b->logs); i++) {
    const char *topic, *dir;
    int32_t partition;
    wake_all(b, logdir_at(b->logs, i, &topic, &partition, &dir), true);
  }
  free(b->waiters);
  b->waiters = NULL;
}

void partitions_timers_stop(struct broker *b) {
  if (b->retention_timer != NULL) event_free(b->retention_timer);
  if (b->checkpoint_timer != NULL) event_free(b->checkpoint_timer);
  b->retention_timer = b->checkpoint_timer = NULL;
}
