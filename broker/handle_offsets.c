/* ListOffsets (v1-11), DeleteRecords (v0-2) and OffsetForLeaderEpoch (v2-4), as Apache Kafka
 * 4.3's KafkaApis, ReplicaManager.fetchOffset / deleteRecords / lastOffsetForLeaderEpoch and
 * Partition.fetchOffsetForTimestamp / deleteRecordsOnLeader / lastOffsetForLeaderEpoch.
 *
 * Common to the three: a topic or partition index the metadata does not have is
 * UNKNOWN_TOPIC_OR_PARTITION; a partition this broker does not host, or does not lead, is
 * NOT_LEADER_OR_FOLLOWER; a partition whose log could not be created KAFKA_STORAGE_ERROR. A
 * current leader epoch (-1: none) below the partition's is FENCED_LEADER_EPOCH, above it
 * UNKNOWN_LEADER_EPOCH (Partition.checkCurrentLeaderEpoch, checked before leadership).
 *
 * ListOffsets: a partition named twice in a request is INVALID_REQUEST (every occurrence); a
 * negative timestamp that is not a special value of this version UNSUPPORTED_VERSION (-1, -2
 * from v1, -3 MAX_TIMESTAMP from v7, -4 EARLIEST_LOCAL from v8, -5 LATEST_TIERED from v9, -6
 * EARLIEST_PENDING_UPLOAD from v11). A consumer (replica id -1) sees offsets below its last
 * fetchable offset: the high watermark (read_uncommitted) or the last stable offset
 * (read_committed; equal to the high watermark until transactions exist); another replica id
 * sees the log end. LATEST answers that offset with the partition's leader epoch; EARLIEST and
 * EARLIEST_LOCAL (no tiered storage: the same) the log start with its epoch; LATEST_TIERED and
 * EARLIEST_PENDING_UPLOAD (-1, -1) without tiered storage; MAX_TIMESTAMP and a timestamp search
 * answer the record found, or (-1, -1) when there is none or it is not yet fetchable. Replica id
 * -2 (debugging) may be answered by any replica.
 *
 * DeleteRecords: offset -1 means the high watermark; another negative offset or one above the
 * high watermark is OFFSET_OUT_OF_RANGE; a topic whose cleanup.policy lacks delete
 * POLICY_VIOLATION; an internal topic INVALID_TOPIC_EXCEPTION. The log start moves (never back)
 * and the low watermark answered is the new log start (one replica: the leader's); the segments
 * wholly below it are deleted at once by a retention run rather than at the next timer tick.
 *
 * OffsetForLeaderEpoch: the largest epoch <= the requested one and where it ended (the log end
 * for the latest epoch), or (-1, -1); only the leader answers, whatever the replica id (which
 * Kafka uses for authorization only). */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "errors.h"
#include "log.h"
#include "logdir.h"
#include "partitions.h"
#include "topic_config.h"

/* ListOffsets' special timestamps (ListOffsetsRequest). */
enum {
  TS_LATEST = -1,
  TS_EARLIEST = -2,
  TS_MAX = -3,
  TS_EARLIEST_LOCAL = -4,
  TS_LATEST_TIERED = -5,
  TS_EARLIEST_PENDING_UPLOAD = -6,
};
#define REPLICA_CONSUMER (-1)
#define REPLICA_DEBUGGING (-2)

static bool hosted_here(const struct broker *b, const struct image_partition *p) {
  for (int32_t i = 0; i < p->replica_count; i++)
    if (p->replicas[i] == b->cfg->node_id) return true;
  return false;
}

/* The partition of t at index, or an error (metadata, hosting, leader epoch, leadership). */
static int16_t partition_log(struct broker *b, const struct image_topic *t, int32_t index,
                             int32_t current_leader_epoch, bool only_leader, struct plog **log) {
  *log = NULL;
  if (t == NULL || index < 0 || index >= t->partition_count) return ERR_UNKNOWN_TOPIC_OR_PARTITION;
  const struct image_partition *p = &t->partitions[index];
  if (!hosted_here(b, p)) return ERR_NOT_LEADER_OR_FOLLOWER;
  if (current_leader_epoch != -1) {
    if (current_leader_epoch < p->leader_epoch) return ERR_FENCED_LEADER_EPOCH;
    if (current_leader_epoch > p->leader_epoch) return ERR_UNKNOWN_LEADER_EPOCH;
  }
  if (only_leader) return partitions_get(b, t, index, log);
  if (b->logs == NULL || (*log = logdir_find(b->logs, t->name, index)) == NULL)
    return ERR_KAFKA_STORAGE_ERROR;
  return ERR_NONE;
}

/* ---- ListOffsets ---- */

/* ReplicaManager.isListOffsetsTimestampUnsupported. */
static bool timestamp_unsupported(int64_t ts, int16_t version) {
  if (ts >= 0) return false;
  switch (ts) {
  case TS_LATEST:
  case TS_EARLIEST: return version < 1;
  case TS_MAX: return version < 7;
  case TS_EARLIEST_LOCAL: return version < 8;
  case TS_LATEST_TIERED: return version < 9;
  case TS_EARLIEST_PENDING_UPLOAD: return version < 11;
  default: return true;
  }
}

/* How many times each (topic, partition) of the request appears: a hash table over the
 * request's partitions, in the arena. */
struct tp_count {
  const struct wire_str *topic;
  int32_t partition;
  int32_t count;
};

static uint64_t tp_hash(struct wire_str topic, int32_t partition) {
  uint64_t h = UINT64_C(14695981039346656037);
  for (int32_t i = 0; i < topic.len; i++) h = (h ^ (uint8_t)topic.ptr[i]) * UINT64_C(1099511628211);
  return (h ^ (uint32_t)partition) * UINT64_C(1099511628211);
}

static struct tp_count *tp_slot(struct tp_count *table, size_t mask, const struct wire_str *topic,
                                int32_t partition) {
  for (size_t i = tp_hash(*topic, partition) & mask;; i = (i + 1) & mask) {
    struct tp_count *e = &table[i];
    if (e->topic == NULL) {
      e->topic = topic;
      e->partition = partition;
      return e;
    }
    if (e->partition == partition && e->topic->len == topic->len &&
        memcmp(e->topic->ptr, topic->ptr, (size_t)topic->len) == 0)
      return e;
  }
}

static struct tp_count *tp_table(struct wire_arena *a, const struct msg_list_offsets_request *req,
                                 size_t *mask) {
  size_t n = 0;
  for (int32_t i = 0; i < req->topics.count; i++)
    n += (size_t)(req->topics.items[i].partitions.count > 0 ? req->topics.items[i].partitions.count
                                                            : 0);
  size_t size = 16;
  while (size < 2 * n) size *= 2;
  struct tp_count *table = wire_arena_alloc_array(a, size, sizeof(*table));
  if (table == NULL) return NULL;
  *mask = size - 1;
  for (int32_t i = 0; i < req->topics.count; i++) {
    const struct msg_list_offsets_request_topic *t = &req->topics.items[i];
    for (int32_t j = 0; j < t->partitions.count; j++)
      tp_slot(table, *mask, &t->name, t->partitions.items[j].partition_index)->count++;
  }
  return table;
}

/* Partition.fetchOffsetForTimestamp and ReplicaManager.fetchOffset for one partition. */
static void list_one(struct request_ctx *ctx, const struct msg_list_offsets_request *req,
                     const struct image_topic *t,
                     const struct msg_list_offsets_request_partition *rp,
                     struct msg_list_offsets_response_partition_response *out) {
  struct broker *b = ctx->broker;
  struct plog *log;
  int16_t err = partition_log(b, t, rp->partition_index, rp->current_leader_epoch,
                              req->replica_id != REPLICA_DEBUGGING, &log);
  if (err != ERR_NONE) {
    out->error_code = err;
    return;
  }
  bool client = req->replica_id == REPLICA_CONSUMER;
  /* read_committed: the last stable offset, which is the high watermark until transactions */
  int64_t last_fetchable = client ? plog_high_watermark(log) : plog_log_end(log);
  int64_t offset = -1, timestamp = -1;
  int32_t epoch = -1;
  int rc = 0;
  switch (rp->timestamp) {
  case TS_LATEST:
    out->offset = last_fetchable;
    out->leader_epoch = t->partitions[rp->partition_index].leader_epoch;
    return;
  case TS_EARLIEST:
  case TS_EARLIEST_LOCAL:
    out->offset = plog_log_start(log);
    plog_epoch_for_offset(log, out->offset, &out->leader_epoch);
    return;
  case TS_LATEST_TIERED:
  case TS_EARLIEST_PENDING_UPLOAD: return; /* no tiered storage: (-1, -1) */
  case TS_MAX: rc = plog_find_max_timestamp(log, &offset, &timestamp); break;
  default: rc = plog_find_offset_by_timestamp(log, rp->timestamp, &offset, &timestamp); break;
  }
  if (rc == -ENOENT || offset < 0) return; /* nothing found: (-1, -1) */
  if (rc != 0) {
    out->error_code = ERR_KAFKA_STORAGE_ERROR;
    return;
  }
  if (offset >= last_fetchable) return; /* not visible yet: (-1, -1) */
  out->offset = offset;
  out->timestamp = timestamp;
  plog_epoch_for_offset(log, offset, &epoch);
  out->leader_epoch = epoch >= 0 ? epoch : -1;
}

int handle_list_offsets(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_list_offsets_request *req = request;
  struct msg_list_offsets_response *resp = response;
  size_t mask = 0;
  struct tp_count *counts = tp_table(ctx->arena, req, &mask);
  if (counts == NULL) return -1;
  int32_t nt = req->topics.count > 0 ? req->topics.count : 0;
  resp->topics.items =
      wire_arena_alloc_array(ctx->arena, (size_t)nt + 1, sizeof(*resp->topics.items));
  if (resp->topics.items == NULL) return -1;
  resp->topics.count = nt;
  for (int32_t i = 0; i < nt; i++) {
    const struct msg_list_offsets_request_topic *t = &req->topics.items[i];
    struct msg_list_offsets_response_topic_response *rt = &resp->topics.items[i];
    msg_list_offsets_response_topic_response_init(rt);
    rt->name = t->name;
    int32_t np = t->partitions.count > 0 ? t->partitions.count : 0;
    rt->partitions.items =
        wire_arena_alloc_array(ctx->arena, (size_t)np + 1, sizeof(*rt->partitions.items));
    if (rt->partitions.items == NULL) return -1;
    rt->partitions.count = np;
    const struct image_topic *it =
        t->name.len > 0 ? image_topic_find(&ctx->broker->image, t->name.ptr, (size_t)t->name.len)
                        : NULL;
    for (int32_t j = 0; j < np; j++) {
      const struct msg_list_offsets_request_partition *rp = &t->partitions.items[j];
      struct msg_list_offsets_response_partition_response *out = &rt->partitions.items[j];
      msg_list_offsets_response_partition_response_init(out);
      out->partition_index = rp->partition_index;
      out->timestamp = out->offset = -1;
      out->leader_epoch = -1;
      if (tp_slot(counts, mask, &t->name, rp->partition_index)->count > 1)
        out->error_code = ERR_INVALID_REQUEST;
      else if (timestamp_unsupported(rp->timestamp, ctx->api_version))
        out->error_code = ERR_UNSUPPORTED_VERSION;
      else
        list_one(ctx, req, it, rp, out);
      if (out->error_code != ERR_NONE) out->timestamp = out->offset = -1;
    }
  }
  return 0;
}

/* ---- DeleteRecords ---- */

/* Kafka's Topic.isInternal. */
static bool topic_internal(const char *name) {
  return strcmp(name, "__consumer_offsets") == 0 || strcmp(name, "__transaction_state") == 0 ||
         strcmp(name, "__share_group_state") == 0;
}

/* Whether the topic's cleanup.policy includes delete (LogConfig.delete). */
static bool cleanup_deletes(struct request_ctx *ctx, const struct image_topic *t) {
  size_t n = t->configs.count;
  struct config_override *ov = wire_arena_alloc_array(ctx->arena, n + 1, sizeof(*ov));
  if (ov == NULL) return true;
  for (size_t i = 0; i < n; i++) {
    ov[i].name = t->configs.items[i].name;
    ov[i].value = t->configs.items[i].value;
  }
  char value[256];
  const char *policy =
      topic_config_value(ctx->broker->cfg, ov, (int)n, "cleanup.policy", value, sizeof(value));
  if (policy == NULL) return true;
  for (const char *p = policy; *p != '\0';) {
    while (*p == ' ' || *p == ',') p++;
    size_t len = strcspn(p, ", ");
    if (len == 6 && strncmp(p, "delete", 6) == 0) return true;
    p += len;
  }
  return false;
}

/* Partition.deleteRecordsOnLeader: the new low watermark, or an error. */
static int16_t delete_one(struct request_ctx *ctx, const struct image_topic *t, int32_t index,
                          int64_t offset, int64_t *low_watermark) {
  *low_watermark = -1;
  if (t != NULL && index >= 0 && index < t->partition_count && topic_internal(t->name))
    return ERR_INVALID_TOPIC_EXCEPTION;
  struct plog *log;
  int16_t err = partition_log(ctx->broker, t, index, -1, true, &log);
  if (err != ERR_NONE) return err;
  if (!cleanup_deletes(ctx, t)) return ERR_POLICY_VIOLATION;
  if (offset == -1) offset = plog_high_watermark(log);
  if (offset < 0) return ERR_OFFSET_OUT_OF_RANGE;
  int rc = plog_advance_log_start(log, offset);
  if (rc == -ERANGE) return ERR_OFFSET_OUT_OF_RANGE;
  if (rc != 0) {
    log_error("storage", "DeleteRecords on %s-%d: %s", t->name, index, strerror(-rc));
    return ERR_KAFKA_STORAGE_ERROR;
  }
  size_t deleted = 0;
  rc = plog_retention_run(log, broker_now_ms(), &deleted);
  if (rc != 0)
    log_error("storage", "deleting segments of %s-%d below offset %lld: %s", t->name, index,
              (long long)offset, strerror(-rc));
  else if (deleted > 0)
    log_info("storage", "DeleteRecords: %zu segments of %s-%d deleted", deleted, t->name, index);
  *low_watermark = plog_log_start(log);
  return ERR_NONE;
}

int handle_delete_records(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_delete_records_request *req = request;
  struct msg_delete_records_response *resp = response;
  int32_t nt = req->topics.count > 0 ? req->topics.count : 0;
  resp->topics.items =
      wire_arena_alloc_array(ctx->arena, (size_t)nt + 1, sizeof(*resp->topics.items));
  if (resp->topics.items == NULL) return -1;
  resp->topics.count = 0;
  for (int32_t i = 0; i < nt; i++) {
    const struct msg_delete_records_request_topic *t = &req->topics.items[i];
    /* results are keyed by topic name, then partition (a repeated one is answered once) */
    struct msg_delete_records_response_topic_result *rt = NULL;
    for (int32_t k = 0; k < resp->topics.count && rt == NULL; k++)
      if (wire_str_same(resp->topics.items[k].name, t->name)) rt = &resp->topics.items[k];
    int32_t np = t->partitions.count > 0 ? t->partitions.count : 0;
    if (rt == NULL) {
      rt = &resp->topics.items[resp->topics.count++];
      msg_delete_records_response_topic_result_init(rt);
      rt->name = t->name;
      rt->partitions.count = 0;
    }
    /* room for the partitions already there plus these */
    struct msg_delete_records_response_partition_result *parts = wire_arena_alloc_array(
        ctx->arena, (size_t)rt->partitions.count + (size_t)np + 1, sizeof(*parts));
    if (parts == NULL) return -1;
    if (rt->partitions.count > 0)
      memcpy(parts, rt->partitions.items, (size_t)rt->partitions.count * sizeof(*parts));
    rt->partitions.items = parts;
    const struct image_topic *it =
        t->name.len > 0 ? image_topic_find(&ctx->broker->image, t->name.ptr, (size_t)t->name.len)
                        : NULL;
    for (int32_t j = 0; j < np; j++) {
      const struct msg_delete_records_request_partition *rp = &t->partitions.items[j];
      struct msg_delete_records_response_partition_result *out = NULL;
      for (int32_t k = 0; k < rt->partitions.count && out == NULL; k++)
        if (parts[k].partition_index == rp->partition_index) out = &parts[k];
      if (out == NULL) out = &parts[rt->partitions.count++];
      msg_delete_records_response_partition_result_init(out);
      out->partition_index = rp->partition_index;
      out->error_code = delete_one(ctx, it, rp->partition_index, rp->offset, &out->low_watermark);
    }
  }
  return 0;
}

/* ---- OffsetForLeaderEpoch ---- */

int handle_offset_for_leader_epoch(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_offset_for_leader_epoch_request *req = request;
  struct msg_offset_for_leader_epoch_response *resp = response;
  int32_t nt = req->topics.count > 0 ? req->topics.count : 0;
  resp->topics.items =
      wire_arena_alloc_array(ctx->arena, (size_t)nt + 1, sizeof(*resp->topics.items));
  if (resp->topics.items == NULL) return -1;
  resp->topics.count = nt;
  for (int32_t i = 0; i < nt; i++) {
    const struct msg_offset_for_leader_epoch_request_offset_for_leader_topic *t =
        &req->topics.items[i];
    struct msg_offset_for_leader_epoch_response_offset_for_leader_topic_result *rt =
        &resp->topics.items[i];
    msg_offset_for_leader_epoch_response_offset_for_leader_topic_result_init(rt);
    rt->topic = t->topic;
    int32_t np = t->partitions.count > 0 ? t->partitions.count : 0;
    rt->partitions.items =
        wire_arena_alloc_array(ctx->arena, (size_t)np + 1, sizeof(*rt->partitions.items));
    if (rt->partitions.items == NULL) return -1;
    rt->partitions.count = np;
    const struct image_topic *it =
        t->topic.len > 0 ? image_topic_find(&ctx->broker->image, t->topic.ptr, (size_t)t->topic.len)
                         : NULL;
    for (int32_t j = 0; j < np; j++) {
      const struct msg_offset_for_leader_epoch_request_offset_for_leader_partition *rp =
          &t->partitions.items[j];
      struct msg_offset_for_leader_epoch_response_epoch_end_offset *out = &rt->partitions.items[j];
      msg_offset_for_leader_epoch_response_epoch_end_offset_init(out);
      out->partition = rp->partition;
      out->leader_epoch = -1;
      out->end_offset = -1;
      struct plog *log;
      out->error_code =
          partition_log(ctx->broker, it, rp->partition, rp->current_leader_epoch, true, &log);
      if (out->error_code != ERR_NONE) continue;
      int32_t epoch;
      int64_t end;
      if (plog_end_offset_for_epoch(log, rp->leader_epoch, &epoch, &end) != 0) {
        out->error_code = ERR_KAFKA_STORAGE_ERROR;
        continue;
      }
      if (end >= 0) { /* UnifiedLog.endOffsetForEpoch: nothing when the offset is undefined */
        out->leader_epoch = epoch;
        out->end_offset = end;
      }
    }
  }
  return 0;
}
