/* Committed offsets: OffsetCommit, OffsetFetch and OffsetDelete (Kafka 4.3's KafkaApis and
 * OffsetMetadataManager).
 *
 * OffsetCommit checks, in Kafka's order: the group id (INVALID_GROUP_ID), the coordinator
 * (groups_check), the member and generation (group_commit_check: a commit with generation -1 and
 * no member id is a simple consumer's), then per partition the topic (UNKNOWN_TOPIC_OR_PARTITION;
 * by id from v10: UNKNOWN_TOPIC_ID) and the metadata's size (offset.metadata.max.bytes:
 * OFFSET_METADATA_TOO_LARGE). The accepted offsets become one batch of OffsetCommit records in
 * the group's partition; they enter the in-memory offsets, and the request is answered, once
 * that batch is committed (Kafka's coordinator runtime likewise answers after the commit).
 * OffsetDelete writes tombstones the same way. OffsetFetch reads the in-memory offsets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "errors.h"
#include "groups.h"
#include "log.h"

static const struct wire_str EMPTY_STR = {"", 0};

/* The committed topic's name (by id from v10); NULL when unknown. */
static const struct image_topic *commit_topic(struct request_ctx *ctx, struct wire_str name,
                                              const struct wire_uuid *id) {
  const struct image *img = &ctx->broker->image;
  if (ctx->api_version >= 10) return image_topic_by_id(img, id);
  return name.len > 0 ? image_topic_find(img, name.ptr, (size_t)name.len) : NULL;
}

/* ---- OffsetCommit ---- */

struct commit_op {
  struct deferred *d;
  const struct msg_offset_commit_request *req;
  struct group_offset *values; /* per accepted partition, in request order */
  const struct image_topic **topics;
  int64_t now_ms;
};

/* Every partition not yet refused gets error (the request is refused as a whole). */
static void commit_fill_error(struct msg_offset_commit_response *resp, int16_t error) {
  for (int32_t t = 0; t < resp->topics.count; t++)
    for (int32_t p = 0; p < resp->topics.items[t].partitions.count; p++)
      if (resp->topics.items[t].partitions.items[p].error_code == ERR_NONE)
        resp->topics.items[t].partitions.items[p].error_code = error;
}

static void commit_written(void *arg, struct broker *b, int16_t error) {
  struct commit_op *op = arg;
  const struct msg_offset_commit_request *req = op->req;
  struct msg_offset_commit_response *resp = deferred_response(op->d);
  if (error != ERR_NONE) {
    commit_fill_error(resp, error);
    deferred_complete(op->d, false);
    return;
  }
  /* the committed offsets enter the coordinator's memory (Kafka's replay of its own records) */
  size_t k = 0;
  for (int32_t t = 0; t < req->topics.count; t++) {
    const struct msg_offset_commit_request_topic *rt = &req->topics.items[t];
    for (int32_t p = 0; p < rt->partitions.count; p++, k++) {
      if (resp->topics.items[t].partitions.items[p].error_code != ERR_NONE) continue;
      group_offsets_put(groups_offsets(b), req->group_id, wire_str_of(op->topics[t]->name),
                        rt->partitions.items[p].partition_index, &op->values[k]);
    }
  }
  deferred_complete(op->d, false);
}

int handle_offset_commit(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_offset_commit_request *req = request;
  struct msg_offset_commit_response *resp = response;
  struct broker *b = ctx->broker;
  struct wire_arena *a = ctx->arena;
  int32_t topic_count = req->topics.count > 0 ? req->topics.count : 0;
  struct commit_op *op = wire_arena_alloc(a, sizeof(*op));
  resp->topics.items = wire_arena_alloc_array(a, (size_t)topic_count, sizeof(*resp->topics.items));
  if (op == NULL || (topic_count > 0 && resp->topics.items == NULL)) return -1;
  op->req = req;
  op->now_ms = broker_now_ms();
  op->topics = wire_arena_alloc_array(a, (size_t)topic_count, sizeof(*op->topics));
  if (topic_count > 0 && op->topics == NULL) return -1;
  resp->topics.count = topic_count;
  /* Unknown topics and partitions first: KafkaApis answers them itself and hands only the rest
   * to the coordinator, which is not consulted at all when nothing is left. */
  size_t total = 0, known = 0;
  for (int32_t t = 0; t < topic_count; t++) {
    const struct msg_offset_commit_request_topic *rt = &req->topics.items[t];
    struct msg_offset_commit_response_topic *ot = &resp->topics.items[t];
    msg_offset_commit_response_topic_init(ot);
    ot->name = rt->name;
    ot->topic_id = rt->topic_id;
    const struct image_topic *it = commit_topic(ctx, rt->name, &rt->topic_id);
    op->topics[t] = it;
    int32_t n = rt->partitions.count > 0 ? rt->partitions.count : 0;
    ot->partitions.items = wire_arena_alloc_array(a, (size_t)n, sizeof(*ot->partitions.items));
    if (n > 0 && ot->partitions.items == NULL) return -1;
    ot->partitions.count = n;
    for (int32_t p = 0; p < n; p++) {
      struct msg_offset_commit_response_partition *rp = &ot->partitions.items[p];
      msg_offset_commit_response_partition_init(rp);
      rp->partition_index = rt->partitions.items[p].partition_index;
      if (it == NULL || rp->partition_index < 0 || rp->partition_index >= it->partition_count)
        rp->error_code = ctx->api_version >= 10 && it == NULL ? ERR_UNKNOWN_TOPIC_ID
                                                              : ERR_UNKNOWN_TOPIC_OR_PARTITION;
      else
        known++;
    }
    total += (size_t)n;
  }
  if (known == 0) return 0;

  /* the empty group id stays usable for offsets, as in Kafka (only null is refused) */
  int16_t error = groups_check(b, req->group_id);
  if (error == ERR_NONE)
    error = group_commit_check(groups_coord(b), req->group_id, wire_str_or_empty(req->member_id),
                               req->group_instance_id, req->generation_id_or_member_epoch,
                               ctx->api_version, broker_now_ms());
  if (error != ERR_NONE) {
    commit_fill_error(resp, error);
    return 0;
  }

  op->values = wire_arena_alloc_array(a, total, sizeof(*op->values));
  if (op->values == NULL) return -1;
  int64_t metadata_max = 4096;
  config_get_int64(b->cfg, "offset.metadata.max.bytes", &metadata_max);
  int64_t expire = ctx->api_version <= 4 && req->retention_time_ms >= 0
                       ? op->now_ms + req->retention_time_ms
                       : -1;
  struct batch_builder bb;
  batch_builder_init(&bb, 0, -1, -1, -1);
  size_t k = 0, accepted = 0;
  for (int32_t t = 0; t < topic_count; t++) {
    const struct msg_offset_commit_request_topic *rt = &req->topics.items[t];
    struct msg_offset_commit_response_topic *ot = &resp->topics.items[t];
    for (int32_t p = 0; p < ot->partitions.count; p++, k++) {
      const struct msg_offset_commit_request_partition *rp = &rt->partitions.items[p];
      struct msg_offset_commit_response_partition *out = &ot->partitions.items[p];
      if (out->error_code != ERR_NONE) continue;
      if (rp->committed_metadata.len > metadata_max) {
        out->error_code = ERR_OFFSET_METADATA_TOO_LARGE;
        continue;
      }
      op->values[k] =
          (struct group_offset){rp->committed_offset, rp->committed_leader_epoch,
                                wire_str_or_empty(rp->committed_metadata), op->now_ms, expire};
      if (groups_add_offset_record(&bb, req->group_id, wire_str_of(op->topics[t]->name),
                                   rp->partition_index, &op->values[k], op->now_ms) != 0) {
        batch_builder_free(&bb);
        return -1;
      }
      accepted++;
    }
  }
  if (accepted == 0) {
    batch_builder_free(&bb);
    return 0;
  }
  op->d = request_defer(ctx);
  if (op->d == NULL) {
    batch_builder_free(&bb);
    return -1;
  }
  error = groups_write(b, req->group_id, &bb, commit_written, op);
  batch_builder_free(&bb);
  if (error != ERR_NONE) {
    commit_fill_error(resp, error);
    deferred_complete(op->d, false);
  }
  return 0;
}

/* ---- OffsetFetch ---- */

/* What one group's answer is built from: the request's topics (NULL: every committed one). */
struct fetch_topic_req {
  struct wire_str name;
  struct wire_uuid id;
  const int32_t *partitions;
  int32_t partition_count;
};

/* The answer for one group, in the v8+ shape (older versions are copied from it). */
struct fetch_collect {
  struct request_ctx *ctx;
  struct msg_offset_fetch_response_topics *topics;
  int32_t count, capacity;
  bool failed;
};

static struct msg_offset_fetch_response_topics *collect_topic(struct fetch_collect *c,
                                                              struct wire_str name) {
  if (c->count > 0 && wire_str_same(c->topics[c->count - 1].name, name))
    return &c->topics[c->count - 1];
  if (c->count == c->capacity) {
    int32_t cap = c->capacity ? c->capacity * 2 : 16;
    struct msg_offset_fetch_response_topics *grown =
        wire_arena_alloc_array(c->ctx->arena, (size_t)cap, sizeof(*grown));
    if (grown == NULL) return NULL;
    if (c->count > 0) memcpy(grown, c->topics, (size_t)c->count * sizeof(*grown));
    c->topics = grown;
    c->capacity = cap;
  }
  struct msg_offset_fetch_response_topics *t = &c->topics[c->count++];
  msg_offset_fetch_response_topics_init(t);
  t->name = name;
  t->partitions.count = 0;
  return t;
}

static bool collect_partition(struct fetch_collect *c, struct msg_offset_fetch_response_topics *t,
                              int32_t partition, const struct group_offset *v, int16_t error) {
  /* the array doubles at each power of two (its capacity follows from the count) */
  int32_t n = t->partitions.count;
  if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
    struct msg_offset_fetch_response_partitions *grown =
        wire_arena_alloc_array(c->ctx->arena, n == 0 ? 4 : (size_t)n * 2, sizeof(*grown));
    if (grown == NULL) return false;
    if (n > 0) memcpy(grown, t->partitions.items, (size_t)n * sizeof(*grown));
    t->partitions.items = grown;
  }
  struct msg_offset_fetch_response_partitions *p = &t->partitions.items[n];
  msg_offset_fetch_response_partitions_init(p);
  p->partition_index = partition;
  p->committed_offset = v != NULL ? v->offset : -1;
  p->committed_leader_epoch = v != NULL ? v->leader_epoch : -1;
  p->metadata = EMPTY_STR;
  if (v != NULL && !wire_arena_str(c->ctx->arena, wire_str_or_empty(v->metadata), &p->metadata))
    return false;
  p->error_code = error;
  t->partitions.count = n + 1;
  return true;
}

static void collect_each(void *arg, struct wire_str topic, int32_t partition,
                         const struct group_offset *v) {
  struct fetch_collect *c = arg;
  if (c->failed) return;
  struct msg_offset_fetch_response_topics *t =
      c->count > 0 && wire_str_same(c->topics[c->count - 1].name, topic) ? &c->topics[c->count - 1]
                                                                         : NULL;
  struct wire_str name;
  if (t == NULL && wire_arena_str(c->ctx->arena, topic, &name)) t = collect_topic(c, name);
  if (t == NULL || !collect_partition(c, t, partition, v, ERR_NONE)) c->failed = true;
}

/* One group's offsets: *error is the group's error; the topics go to c. -1: arena full. */
static int fetch_group(struct request_ctx *ctx, struct wire_str group_id,
                       const struct fetch_topic_req *topics, int32_t topic_count, bool all,
                       int16_t *error, struct fetch_collect *c) {
  struct broker *b = ctx->broker;
  memset(c, 0, sizeof(*c));
  c->ctx = ctx;
  /* the empty group id stays usable for offsets, as in Kafka */
  *error = group_id.len >= 0 ? groups_check(b, group_id) : ERR_INVALID_GROUP_ID;
  if (*error != ERR_NONE) return 0;
  if (all) {
    group_offsets_each(groups_offsets(b), group_id, collect_each, c);
    if (c->failed) return -1;
    if (ctx->api_version >= 10) /* topics by id: those deleted since have none */
      for (int32_t i = 0; i < c->count; i++) {
        const struct image_topic *it =
            image_topic_find(&b->image, c->topics[i].name.ptr, (size_t)c->topics[i].name.len);
        if (it != NULL) c->topics[i].topic_id = it->id;
      }
    return 0;
  }
  for (int32_t t = 0; t < topic_count; t++) {
    struct wire_str name = topics[t].name;
    int16_t perr = ERR_NONE;
    if (ctx->api_version >= 10) {
      const struct image_topic *it = image_topic_by_id(&b->image, &topics[t].id);
      if (it != NULL)
        name = wire_str_of(it->name);
      else
        perr = ERR_UNKNOWN_TOPIC_ID, name = EMPTY_STR;
    }
    struct msg_offset_fetch_response_topics *rt = collect_topic(c, name);
    if (rt == NULL) return -1;
    rt->topic_id = topics[t].id;
    for (int32_t p = 0; p < topics[t].partition_count; p++) {
      struct group_offset v;
      bool found = perr == ERR_NONE && group_offsets_get(groups_offsets(b), group_id, name,
                                                         topics[t].partitions[p], &v);
      if (!collect_partition(c, rt, topics[t].partitions[p], found ? &v : NULL, perr)) return -1;
    }
  }
  return 0;
}

/* v1-7: one group, topics and partitions in the older shape. */
static int fetch_single(struct request_ctx *ctx, const struct msg_offset_fetch_request *req,
                        struct msg_offset_fetch_response *resp) {
  struct wire_arena *a = ctx->arena;
  bool all = req->topics.count < 0;
  int32_t n = all ? 0 : req->topics.count;
  struct fetch_topic_req *topics = wire_arena_alloc_array(a, (size_t)n, sizeof(*topics));
  if (n > 0 && topics == NULL) return -1;
  for (int32_t i = 0; i < n; i++)
    topics[i] = (struct fetch_topic_req){req->topics.items[i].name,
                                         {{0}},
                                         req->topics.items[i].partition_indexes.items,
                                         req->topics.items[i].partition_indexes.count};
  int16_t error;
  struct fetch_collect c;
  if (fetch_group(ctx, req->group_id, topics, n, all, &error, &c) != 0) return -1;
  if (error != ERR_NONE) {
    /* v2+: the group's error at the top; v1 has only partition errors */
    resp->error_code = error;
    if (ctx->api_version >= 2) {
      resp->topics.count = 0;
      return 0;
    }
    for (int32_t i = 0; i < n; i++) {
      struct msg_offset_fetch_response_topics *t = collect_topic(&c, topics[i].name);
      if (t == NULL) return -1;
      for (int32_t p = 0; p < topics[i].partition_count; p++)
        if (!collect_partition(&c, t, topics[i].partitions[p], NULL, error)) return -1;
    }
  }
  resp->topics.items = wire_arena_alloc_array(a, (size_t)c.count, sizeof(*resp->topics.items));
  if (c.count > 0 && resp->topics.items == NULL) return -1;
  resp->topics.count = c.count;
  for (int32_t i = 0; i < c.count; i++) {
    struct msg_offset_fetch_response_topic *t = &resp->topics.items[i];
    msg_offset_fetch_response_topic_init(t);
    t->name = c.topics[i].name;
    int32_t pn = c.topics[i].partitions.count;
    t->partitions.items = wire_arena_alloc_array(a, (size_t)pn, sizeof(*t->partitions.items));
    if (pn > 0 && t->partitions.items == NULL) return -1;
    t->partitions.count = pn;
    for (int32_t p = 0; p < pn; p++) {
      const struct msg_offset_fetch_response_partitions *s = &c.topics[i].partitions.items[p];
      struct msg_offset_fetch_response_partition *d = &t->partitions.items[p];
      msg_offset_fetch_response_partition_init(d);
      d->partition_index = s->partition_index;
      d->committed_offset = s->committed_offset;
      d->committed_leader_epoch = s->committed_leader_epoch;
      d->metadata = s->metadata;
      d->error_code = s->error_code;
    }
  }
  return 0;
}

int handle_offset_fetch(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_offset_fetch_request *req = request;
  struct msg_offset_fetch_response *resp = response;
  struct wire_arena *a = ctx->arena;
  if (ctx->api_version < 8) return fetch_single(ctx, req, resp);
  int32_t n = req->groups.count > 0 ? req->groups.count : 0;
  resp->groups.items = wire_arena_alloc_array(a, (size_t)n, sizeof(*resp->groups.items));
  if (n > 0 && resp->groups.items == NULL) return -1;
  resp->groups.count = n;
  for (int32_t g = 0; g < n; g++) {
    const struct msg_offset_fetch_request_group *rg = &req->groups.items[g];
    struct msg_offset_fetch_response_group *og = &resp->groups.items[g];
    msg_offset_fetch_response_group_init(og);
    og->group_id = rg->group_id;
    og->topics.count = 0;
    bool all = rg->topics.count < 0;
    int32_t tn = all ? 0 : rg->topics.count;
    struct fetch_topic_req *topics = wire_arena_alloc_array(a, (size_t)tn, sizeof(*topics));
    if (tn > 0 && topics == NULL) return -1;
    for (int32_t i = 0; i < tn; i++)
      topics[i] = (struct fetch_topic_req){rg->topics.items[i].name, rg->topics.items[i].topic_id,
                                           rg->topics.items[i].partition_indexes.items,
                                           rg->topics.items[i].partition_indexes.count};
    struct fetch_collect c;
    if (fetch_group(ctx, rg->group_id, topics, tn, all, &og->error_code, &c) != 0) return -1;
    og->topics.items = c.topics;
    og->topics.count = c.count;
  }
  return 0;
}

/* ---- OffsetDelete ---- */

static void delete_written(void *arg, struct broker *b, int16_t error) {
  struct deferred *d = arg;
  struct msg_offset_delete_response *resp = deferred_response(d);
  (void)b;
  if (error != ERR_NONE) resp->error_code = error;
  deferred_complete(d, false);
}

int handle_offset_delete(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_offset_delete_request *req = request;
  struct msg_offset_delete_response *resp = response;
  struct broker *b = ctx->broker;
  struct wire_arena *a = ctx->arena;
  resp->topics.count = 0;
  resp->error_code = req->group_id.len > 0 ? groups_check(b, req->group_id) : ERR_INVALID_GROUP_ID;
  if (resp->error_code == ERR_NONE)
    resp->error_code = group_offset_delete_check(groups_coord(b), req->group_id);
  if (resp->error_code != ERR_NONE) return 0;
  int32_t n = req->topics.count > 0 ? req->topics.count : 0;
  resp->topics.items = wire_arena_alloc_array(a, (size_t)n, sizeof(*resp->topics.items));
  if (n > 0 && resp->topics.items == NULL) return -1;
  resp->topics.count = n;
  struct batch_builder bb;
  batch_builder_init(&bb, 0, -1, -1, -1);
  size_t records = 0;
  int64_t now = broker_now_ms();
  for (int32_t t = 0; t < n; t++) {
    const struct msg_offset_delete_request_topic *rt = &req->topics.items[t];
    struct msg_offset_delete_response_topic *ot = &resp->topics.items[t];
    msg_offset_delete_response_topic_init(ot);
    ot->name = rt->name;
    int32_t pn = rt->partitions.count > 0 ? rt->partitions.count : 0;
    ot->partitions.items = wire_arena_alloc_array(a, (size_t)pn, sizeof(*ot->partitions.items));
    if (pn > 0 && ot->partitions.items == NULL) goto fail;
    ot->partitions.count = pn;
    const struct image_topic *it =
        rt->name.len > 0 ? image_topic_find(&b->image, rt->name.ptr, (size_t)rt->name.len) : NULL;
    bool subscribed = it != NULL && group_subscribed(groups_coord(b), req->group_id, rt->name);
    for (int32_t p = 0; p < pn; p++) {
      struct msg_offset_delete_response_partition *op = &ot->partitions.items[p];
      msg_offset_delete_response_partition_init(op);
      op->partition_index = rt->partitions.items[p].partition_index;
      if (it == NULL || op->partition_index < 0 || op->partition_index >= it->partition_count) {
        op->error_code = ERR_UNKNOWN_TOPIC_OR_PARTITION; /* KafkaApis checks it first */
      } else if (subscribed) {
        op->error_code = ERR_GROUP_SUBSCRIBED_TO_TOPIC;
      } else if (group_offsets_delete(groups_offsets(b), req->group_id, rt->name,
                                      op->partition_index)) {
        if (groups_add_offset_record(&bb, req->group_id, rt->name, op->partition_index, NULL,
                                     now) != 0)
          goto fail;
        records++;
      }
    }
  }
  if (records > 0) {
    struct deferred *d = request_defer(ctx);
    if (d == NULL) goto fail;
    int16_t error = groups_write(b, req->group_id, &bb, delete_written, d);
    if (error != ERR_NONE) {
      resp->error_code = error;
      deferred_complete(d, false);
    }
  }
  batch_builder_free(&bb);
  return 0;
fail:
  batch_builder_free(&bb);
  return -1;
}
