/* Start-up and shutdown of the broker's storage side; see broker.h for the order. */
#include "broker.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller.h"
#include "durable_queue.h"
#include "groups.h"
#include "handle_fetch.h"
#include "handle_produce.h"
#include "image_records.h"
#include "log.h"
#include "logdir.h"
#include "mlog.h"
#include "partitions.h"
#include "producer_ids.h"

int64_t broker_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* mlog's apply callback: every committed record, at replay and at run time. */
static int apply_record(void *arg, const uint8_t *value, size_t size, int64_t offset) {
  struct broker *b = arg;
  struct image_change change;
  int rc = image_apply_record(&b->image, value, size, offset, &change);
  if (rc != 0) {
    log_error("metadata", "record at offset %lld of the metadata log cannot be applied: %s",
              (long long)offset, strerror(-rc));
    return rc;
  }
  b->metadata_round++;
  if (b->replaying) return 0;
  /* a broker config changed (ConfigRecord of resource type BROKER): a new effective config,
   * handed to every partition log */
  if (change.kind == IMAGE_CHANGE_CONFIG && change.topic[0] == '\0') broker_config_reload(b);
  partitions_apply_change(b, &change);
  return 0;
}

/* The image's dynamic configs of one BROKER resource as config_override items (malloc'd). */
static struct config_override *dynamic_layer(const struct image *img, const char *resource,
                                             int *count) {
  const struct image_configs *c = NULL;
  for (size_t i = 0; i < img->broker_config_count; i++)
    if (strcmp(img->broker_configs[i].resource, resource) == 0) c = &img->broker_configs[i].configs;
  size_t n = c != NULL ? c->count : 0;
  struct config_override *ov = calloc(n + 1, sizeof(*ov));
  for (size_t i = 0; ov != NULL && i < n; i++)
    ov[i] = (struct config_override){c->items[i].name, c->items[i].value};
  *count = (int)n;
  return ov;
}

static int config_swap(struct broker *b) {
  char id[16], err[1024];
  int default_count = 0, broker_count = 0, rc = -ENOMEM;
  snprintf(id, sizeof(id), "%d", b->static_cfg->node_id);
  struct config_override *dyn_default = dynamic_layer(&b->image, "", &default_count);
  struct config_override *dyn_broker = dynamic_layer(&b->image, id, &broker_count);
  struct config *cfg = calloc(1, sizeof(*cfg));
  struct config **retired =
      realloc(b->cfg_retired, (b->cfg_retired_count + 1) * sizeof(*b->cfg_retired));
  if (retired != NULL) b->cfg_retired = retired;
  if (dyn_default == NULL || dyn_broker == NULL || cfg == NULL || retired == NULL) {
    log_error("config", "cannot apply the dynamic broker configs: out of memory");
    goto done;
  }
  if (config_load_dynamic(cfg, b->static_cfg, dyn_default, default_count, dyn_broker, broker_count,
                          err, sizeof(err)) != 0) {
    log_error("config",
              "the dynamic broker configs cannot be applied, keeping the current ones: %s", err);
    rc = -EINVAL;
    goto done;
  }
  b->cfg_retired[b->cfg_retired_count++] = cfg;
  b->cfg = cfg;
  cfg = NULL;
  log_info("config",
           "effective configuration rebuilt: %d cluster-wide and %d per-broker dynamic "
           "configs",
           b->cfg->dynamic_default.count, b->cfg->dynamic_broker.count);
  rc = 0;
done:
  free(cfg);
  free(dyn_default);
  free(dyn_broker);
  return rc;
}

int broker_config_reload(struct broker *b) {
  if (b->static_cfg == NULL) b->static_cfg = b->cfg;
  int rc = config_swap(b);
  b->metadata_round++;
  if (rc == 0) partitions_reconfigure(b);
  return rc;
}

/* Frees the configurations built here; b->cfg is the static one again. */
static void config_retired_free(struct broker *b) {
  if (b->static_cfg != NULL) b->cfg = b->static_cfg;
  for (size_t i = 0; i < b->cfg_retired_count; i++) {
    config_free(b->cfg_retired[i]);
    free(b->cfg_retired[i]);
  }
  free(b->cfg_retired);
  b->cfg_retired = NULL;
  b->cfg_retired_count = 0;
}

static int snapshot_records(void *arg, struct batch_builder *records, int64_t now_ms) {
  struct broker *b = arg;
  return image_records_all(&b->image, records, now_ms);
}

/* A snapshot bounds the replay at the next start: written when the log applied since the last
 * one passes metadata.log.max.record.bytes.between.snapshots, and at a clean shutdown. The write
 * syncs on the calling thread (rare: start-up, shutdown, every 20 MiB of metadata by default). */
static void snapshot_maybe(struct broker *b, bool always) {
  int64_t max_bytes = 20 << 20;
  config_get_int64(b->cfg, "metadata.log.max.record.bytes.between.snapshots", &max_bytes);
  if (!always && mlog_bytes_since_snapshot(b->mlog) < (uint64_t)max_bytes) return;
  int rc = mlog_snapshot(b->mlog, snapshot_records, b, broker_now_ms());
  if (rc != 0)
    log_error("metadata", "cannot write a metadata snapshot: %s", strerror(-rc));
  else
    log_info("metadata", "metadata snapshot written at offset %lld",
             (long long)mlog_snapshot_end(b->mlog));
}

/* The durable_queue's handler, on the loop. */
static void on_durable(void *arg, struct plog *log, int64_t durable_end, int err) {
  struct broker *b = arg;
  if (b->mlog != NULL && log == mlog_plog(b->mlog)) {
    int rc = mlog_commit(b->mlog, durable_end, err);
    controller_on_commit(b, rc);
    if (rc == 0) snapshot_maybe(b, false);
    return;
  }
  partitions_on_durable(b, log, durable_end, err);
}

static void problems_log(struct logdir_problems *p) {
  for (size_t i = 0; i < p->count; i++)
    log_warn("storage", "%s: %s%s%s", p->items[i].path, p->items[i].reason,
             p->items[i].err ? ": " : "", p->items[i].err ? strerror(-p->items[i].err) : "");
  logdir_problems_free(p);
}

int broker_storage_open(struct broker *b) {
  if (b->static_cfg == NULL) b->static_cfg = b->cfg;
  const struct config *cfg = b->cfg;
  int64_t now = broker_now_ms();
  b->io = storage_io_posix();
  int rc = storage_flusher_start(cfg->log_flush_syncfs, &b->flusher);
  if (rc == 0) rc = durable_queue_create(b->base, on_durable, b, &b->durable);
  if (rc != 0) goto fail;

  struct logdir_config lc = {0};
  lc.io = b->io;
  lc.dirs = (const char *const *)cfg->log_dirs;
  lc.dir_count = (size_t)cfg->log_dir_count;
  partitions_config_for(b, NULL, &lc.defaults);
  lc.config_for = partitions_config_for;
  lc.config_arg = b;
  lc.flusher = b->flusher;
  lc.on_durable = durable_queue_post;
  lc.on_durable_arg = b->durable;
  struct logdir_problems problems;
  rc = logdir_open(&lc, now, &b->logs, &problems);
  problems_log(&problems);
  if (rc != 0) {
    log_error("storage", "cannot open the log dirs: %s", strerror(-rc));
    goto fail;
  }

  const char *mdir = config_get(cfg, "metadata.log.dir");
  struct mlog_args ma = {0};
  ma.io = b->io;
  ma.dir = mdir != NULL ? mdir : cfg->log_dirs[0];
  ma.flusher = b->flusher;
  ma.on_durable = durable_queue_post;
  ma.on_durable_arg = b->durable;
  ma.apply = apply_record;
  ma.apply_arg = b;
  ma.now_ms = now;
  b->replaying = true;
  int64_t t0 = broker_now_ms();
  rc = mlog_open(&ma, &b->mlog);
  b->replaying = false;
  if (rc != 0) {
    log_error("metadata", "cannot open the metadata log in %s: %s", ma.dir, strerror(-rc));
    goto fail;
  }
  log_info("metadata",
           "replayed %llu metadata records (%llu from the log after the snapshot at %lld) in "
           "%lld ms: %zu topics",
           (unsigned long long)mlog_replayed(b->mlog),
           (unsigned long long)mlog_replayed_from_log(b->mlog),
           (long long)mlog_snapshot_end(b->mlog), (long long)(broker_now_ms() - t0),
           b->image.topic_count);
  snapshot_maybe(b, false);
  /* the dynamic broker configs of the image apply before the logs are brought in line; the
   * logs opened before the replay get their settings again (topic overrides included) */
  broker_config_reload(b);
  rc = controller_create(b, &b->controller);
  if (rc == 0) rc = partitions_reconcile(b);
  if (rc == 0) rc = partitions_timers_start(b);
  if (rc == 0) rc = groups_create(b);
  if (rc != 0) goto fail;
  groups_start(b);
  return 0;
fail:
  broker_storage_close(b);
  return rc != 0 ? rc : -EIO;
}

void broker_storage_close(struct broker *b) {
  controller_destroy(b);
  partitions_timers_stop(b);
  partitions_cleaner_stop(b);
  fetch_shutdown(b);        /* before the waiters go: waiting fetches are answered */
  produce_shutdown(b);      /* likewise waiting acks=all produces */
  groups_shutdown(b);       /* parked group requests and coordinator writes */
  producer_ids_shutdown(b); /* after the controller failed its operations */
  partitions_close_waiters(b);
  if (b->mlog != NULL) {
    snapshot_maybe(b, true);
    int rc = mlog_close(b->mlog, true);
    if (rc != 0) log_error("metadata", "closing the metadata log: %s", strerror(-rc));
    b->mlog = NULL;
  }
  if (b->logs != NULL) {
    int rc = logdir_close(b->logs, true);
    if (rc != 0) log_error("storage", "closing the partition logs: %s", strerror(-rc));
    b->logs = NULL;
  }
  if (b->flusher != NULL) storage_flusher_stop(b->flusher);
  b->flusher = NULL;
  durable_queue_destroy(b->durable);
  b->durable = NULL;
  groups_destroy(b);
  image_free(&b->image);
  config_retired_free(b);
}
