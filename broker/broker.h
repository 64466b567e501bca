/* The state request handlers see: configuration, identity, the metadata image, and the parts
 * that change it (the controller and its metadata log) or hold the data (the partition logs).
 * One instance per process, owned by the server and passed down (no globals).
 *
 * Start-up order (broker_storage_open): the flusher and the durability hand-over, the partition
 * logs (logdir), the metadata log replayed into the image, then the partition logs brought in
 * line with the image (partitions_reconcile). Shutdown (broker_storage_close) fails the
 * controller's queued operations, closes the metadata log and the partition logs cleanly, then
 * stops the flusher. A broker without storage (the fuzz target's) has NULL controller and logs:
 * handlers then answer as a broker that is not the controller. */
#ifndef QUIRE_BROKER_BROKER_H
#define QUIRE_BROKER_BROKER_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "image.h"
#include "meta.h"

struct controller;
struct durable_queue;
struct fetch_state;
struct groups;
struct produce_state;
struct producer_ids;
struct log_cleaner;
struct logdir;
struct partition_waiters;
struct mlog;
struct storage_flusher;
struct storage_io;

struct broker {
  /* The effective configuration: static_cfg (the file and overrides, owned by main) with the
   * dynamic broker configs of the image layered on (config_load_dynamic). Each change of those
   * builds a new one (broker_config_reload) and swaps this pointer; the older ones stay alive in
   * cfg_retired until broker_storage_close, since a request in flight may hold pointers into
   * them. */
  const struct config *cfg;
  const struct config *static_cfg;
  struct config **cfg_retired;
  size_t cfg_retired_count;
  struct meta_props meta;
  struct image image;
  struct event_base *base;
  struct storage_io *io;
  struct storage_flusher *flusher;
  struct log_cleaner *cleaner; /* log compaction's threads (partitions.c) */
  struct durable_queue *durable;
  struct mlog *mlog;
  struct controller *controller;
  struct logdir *logs;
  struct event *retention_timer, *checkpoint_timer;
  struct partition_waiters *waiters; /* partitions.h: who waits on which log */
  struct fetch_state *fetch;         /* handle_fetch.h: fetch sessions, waiting fetches */
  struct produce_state *produce;     /* handle_produce.h: acks=all produces waiting */
  struct producer_ids *producer_ids; /* producer_ids.h: the current producer id block */
  struct groups *groups;             /* groups.h: the group coordinator */
  uint64_t wake_round;
  uint64_t metadata_round; /* bumped by every metadata record and config reload (caches) */
  bool replaying; /* mlog_open is applying the log: partition logs follow later, all at once */
};

/* Wall-clock milliseconds (record timestamps, segment ages). */
int64_t broker_now_ms(void);

int broker_storage_open(struct broker *b);
/* Rebuilds b->cfg from static_cfg and the image's dynamic broker configs (resource "" and this
 * node's id) and gives every open partition log its new settings. On a failure (a combination
 * that fails a cross-key rule, out of memory) the current configuration stays, with an error
 * logged (Kafka likewise keeps its config when dynamic values cannot be applied). */
int broker_config_reload(struct broker *b);
void broker_storage_close(struct broker *b);

#endif
