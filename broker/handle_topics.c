/* CreateTopics, DeleteTopics and CreatePartitions: each request becomes one controller
 * operation (controller.h), answered once its records commit. Checks that need only the request
 * (duplicates) are made at once; the rest when the operation reaches the head of the
 * controller's queue, against the committed image. A broker without a controller answers
 * NOT_CONTROLLER. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "controller.h"
#include "dispatch.h"
#include "errors.h"
#include "image_records.h"
#include "log.h"
#include "topics.h"

enum { MSG_MAX = 512 };

struct topics_op {
  struct controller_op op;
  struct deferred *d;
  const void *req;
  void *resp;
};

/* The error a failed operation gives every entry it had not refused already. */
static int16_t op_error(int err) {
  return err == -ENOMEM || err == -E2BIG ? ERR_UNKNOWN_SERVER_ERROR : ERR_KAFKA_STORAGE_ERROR;
}

static struct topics_op *op_new(struct request_ctx *ctx, const void *req, void *resp,
                                controller_prepare_fn *prepare, controller_done_fn *done) {
  struct topics_op *op = wire_arena_alloc(ctx->arena, sizeof(*op));
  if (op == NULL) return NULL;
  op->d = request_defer(ctx);
  if (op->d == NULL) return NULL;
  op->op.prepare = prepare;
  op->op.done = done;
  op->op.arg = op;
  op->req = req;
  op->resp = resp;
  return op;
}

/* ---- CreateTopics ---- */

static void create_result_configs(struct broker *b, struct wire_arena *a,
                                  struct msg_create_topics_response_creatable_topic_result *t,
                                  const struct config_override *ov, int ov_count) {
  struct config_describe_args args = {NULL, 0, false, false};
  struct config_entry *entries;
  int count;
  if (topic_config_describe(b->cfg, ov, ov_count, &args, a, &entries, &count) != 0) return;
  t->configs.items = wire_arena_alloc_array(a, (size_t)count, sizeof(*t->configs.items));
  if (t->configs.items == NULL && count > 0) return;
  t->configs.count = count;
  for (int i = 0; i < count; i++) {
    struct msg_create_topics_response_creatable_topic_configs *c = &t->configs.items[i];
    msg_create_topics_response_creatable_topic_configs_init(c);
    c->name = wire_str_of(entries[i].name);
    c->value = wire_str_of(entries[i].value);
    c->read_only = entries[i].read_only;
    c->config_source = entries[i].source;
    c->is_sensitive = entries[i].sensitive;
  }
}

static int create_prepare(struct controller_op *cop, struct broker *b,
                          struct batch_builder *records, int64_t now_ms) {
  struct topics_op *op = cop->arg;
  const struct msg_create_topics_request *req = op->req;
  struct msg_create_topics_response *resp = op->resp;
  struct request_ctx *ctx = deferred_ctx(op->d);
  struct wire_arena *a = ctx->arena;
  struct wire_str *created =
      wire_arena_alloc_array(a, (size_t)resp->topics.count + 1, sizeof(*created));
  if (created == NULL) return -ENOMEM;
  size_t created_count = 0;
  for (int32_t i = 0; i < req->topics.count; i++) {
    const struct msg_create_topics_request_creatable_topic *t = &req->topics.items[i];
    struct msg_create_topics_response_creatable_topic_result *out = &resp->topics.items[i];
    if (out->error_code != ERR_NONE) continue; /* refused before: a duplicate */
    int32_t n = t->assignments.count > 0 ? t->assignments.count : 0;
    int32_t cn = t->configs.count > 0 ? t->configs.count : 0;
    struct config_override *ov = wire_arena_alloc_array(a, (size_t)cn + 1, sizeof(*ov));
    const int32_t **replicas = wire_arena_alloc_array(a, (size_t)n + 1, sizeof(*replicas));
    int32_t *counts = wire_arena_alloc_array(a, (size_t)n + 1, sizeof(*counts));
    int32_t *indexes = wire_arena_alloc_array(a, (size_t)n + 1, sizeof(*indexes));
    if (ov == NULL || replicas == NULL || counts == NULL || indexes == NULL) return -ENOMEM;
    for (int32_t c = 0; c < cn; c++) {
      ov[c].name = wire_arena_cstr(a, t->configs.items[c].name);
      ov[c].value = wire_arena_cstr(a, t->configs.items[c].value);
      if (ov[c].name == NULL) return -ENOMEM;
    }
    for (int32_t p = 0; p < n; p++) {
      replicas[p] = t->assignments.items[p].broker_ids.items;
      counts[p] = t->assignments.items[p].broker_ids.count;
      indexes[p] = t->assignments.items[p].partition_index;
    }
    struct topic_spec spec = {t->name,
                              t->num_partitions,
                              t->replication_factor,
                              n,
                              (const int32_t *const *)replicas,
                              counts,
                              indexes,
                              ov,
                              cn};
    struct topic_created made;
    char msg[MSG_MAX];
    int rc = topic_create(b, &spec, req->validate_only, created, created_count, records, now_ms,
                          &made, msg, sizeof(msg));
    if (rc < 0) return -ENOMEM;
    out->error_code = (int16_t)rc;
    out->error_message = dispatch_error_message(a, msg);
    if (rc != ERR_NONE) continue;
    created[created_count++] = t->name;
    out->topic_id = made.id;
    out->num_partitions = made.partitions;
    out->replication_factor = made.replication_factor;
    if (ctx->api_version >= 5) create_result_configs(b, a, out, ov, cn);
  }
  return 0;
}

static void create_done(struct controller_op *cop, struct broker *b, int err) {
  struct topics_op *op = cop->arg;
  struct msg_create_topics_response *resp = op->resp;
  (void)b;
  if (err == -ESHUTDOWN) {
    deferred_complete(op->d, true);
    return;
  }
  for (int32_t i = 0; err != 0 && i < resp->topics.count; i++) {
    struct msg_create_topics_response_creatable_topic_result *t = &resp->topics.items[i];
    if (t->error_code != ERR_NONE) continue;
    t->error_code = op_error(err);
    t->error_message = wire_str_of("The controller could not write the metadata log.");
    memset(&t->topic_id, 0, sizeof(t->topic_id));
  }
  deferred_complete(op->d, false);
}

int handle_create_topics(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_create_topics_request *req = request;
  struct msg_create_topics_response *resp = response;
  int32_t n = req->topics.count > 0 ? req->topics.count : 0;
  resp->topics.items = wire_arena_alloc_array(ctx->arena, (size_t)n, sizeof(*resp->topics.items));
  if (resp->topics.items == NULL && n > 0) return -1;
  resp->topics.count = n;
  for (int32_t i = 0; i < n; i++) {
    struct msg_create_topics_response_creatable_topic_result *t = &resp->topics.items[i];
    msg_create_topics_response_creatable_topic_result_init(t);
    t->name = req->topics.items[i].name;
    if (ctx->broker->controller == NULL) {
      t->error_code = ERR_NOT_CONTROLLER;
      continue;
    }
    for (int32_t j = 0; j < n; j++) {
      if (j == i || !wire_str_same(req->topics.items[j].name, t->name)) continue;
      t->error_code = ERR_INVALID_REQUEST;
      t->error_message = wire_str_of("Duplicate topic name.");
    }
  }
  if (ctx->broker->controller == NULL || n == 0) return 0;
  struct topics_op *op = op_new(ctx, req, resp, create_prepare, create_done);
  if (op == NULL) return -1;
  controller_submit(ctx->broker, &op->op);
  return 0;
}

/* ---- DeleteTopics ---- */

static int delete_prepare(struct controller_op *cop, struct broker *b,
                          struct batch_builder *records, int64_t now_ms) {
  struct topics_op *op = cop->arg;
  struct msg_delete_topics_response *resp = op->resp;
  bool deletion_enabled = true;
  config_get_bool(b->cfg, "delete.topic.enable", &deletion_enabled);
  for (int32_t i = 0; i < resp->responses.count; i++) {
    struct msg_delete_topics_response_deletable_topic_result *r = &resp->responses.items[i];
    if (r->error_code != ERR_NONE) continue;
    const struct image_topic *t =
        r->name.len >= 0 ? image_topic_find(&b->image, r->name.ptr, (size_t)r->name.len)
                         : image_topic_by_id(&b->image, &r->topic_id);
    if (t == NULL) {
      r->error_code = r->name.len >= 0 ? ERR_UNKNOWN_TOPIC_OR_PARTITION : ERR_UNKNOWN_TOPIC_ID;
      r->error_message = wire_str_of(r->name.len >= 0 ? "This server does not host this "
                                                        "topic-partition."
                                                      : "This server does not host this topic ID.");
      continue;
    }
    if (!deletion_enabled) {
      r->error_code = ERR_TOPIC_DELETION_DISABLED;
      r->error_message = wire_str_of("Topic deletion is disabled.");
      continue;
    }
    /* names and ids in the answer come from the image: the arena outlives this call */
    struct request_ctx *ctx = deferred_ctx(op->d);
    r->topic_id = t->id;
    if (r->name.len < 0) r->name = dispatch_error_message(ctx->arena, t->name);
    if (image_record_remove_topic(records, &t->id, now_ms) != 0) return -ENOMEM;
  }
  return 0;
}

static void delete_done(struct controller_op *cop, struct broker *b, int err) {
  struct topics_op *op = cop->arg;
  struct msg_delete_topics_response *resp = op->resp;
  (void)b;
  if (err == -ESHUTDOWN) {
    deferred_complete(op->d, true);
    return;
  }
  for (int32_t i = 0; err != 0 && i < resp->responses.count; i++)
    if (resp->responses.items[i].error_code == ERR_NONE)
      resp->responses.items[i].error_code = op_error(err);
  deferred_complete(op->d, false);
}

int handle_delete_topics(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_delete_topics_request *req = request;
  struct msg_delete_topics_response *resp = response;
  bool by_state = ctx->api_version >= 6;
  int32_t n = by_state ? req->topics.count : req->topic_names.count;
  if (n < 0) n = 0;
  resp->responses.items =
      wire_arena_alloc_array(ctx->arena, (size_t)n, sizeof(*resp->responses.items));
  if (resp->responses.items == NULL && n > 0) return -1;
  resp->responses.count = n;
  for (int32_t i = 0; i < n; i++) {
    struct msg_delete_topics_response_deletable_topic_result *r = &resp->responses.items[i];
    msg_delete_topics_response_deletable_topic_result_init(r);
    if (by_state) {
      r->name = req->topics.items[i].name;
      r->topic_id = req->topics.items[i].topic_id;
    } else {
      r->name = req->topic_names.items[i];
    }
    if (ctx->broker->controller == NULL) {
      r->error_code = ERR_NOT_CONTROLLER;
      continue;
    }
    bool has_id = !wire_uuid_is_zero(&r->topic_id);
    if (r->name.len >= 0 && has_id) {
      r->error_code = ERR_INVALID_REQUEST;
      r->error_message = wire_str_of("Topic name and topic ID cannot both be set.");
      continue;
    }
    if (r->name.len < 0 && !has_id) {
      r->error_code = ERR_INVALID_REQUEST;
      r->error_message = wire_str_of("Neither topic name nor id were specified.");
      continue;
    }
    for (int32_t j = 0; j < n; j++) {
      if (j == i) continue;
      bool dup = r->name.len >= 0 ? wire_str_same(by_state ? req->topics.items[j].name
                                                           : req->topic_names.items[j],
                                                  r->name)
                                  : memcmp(req->topics.items[j].topic_id.b, r->topic_id.b, 16) == 0;
      if (!dup) continue;
      r->error_code = ERR_INVALID_REQUEST;
      r->error_message =
          wire_str_of(r->name.len >= 0 ? "Duplicate topic name." : "Duplicate topic id.");
    }
  }
  if (ctx->broker->controller == NULL || n == 0) return 0;
  struct topics_op *op = op_new(ctx, req, resp, delete_prepare, delete_done);
  if (op == NULL) return -1;
  controller_submit(ctx->broker, &op->op);
  return 0;
}

/* ---- CreatePartitions ---- */

static int16_t partitions_check(struct broker *b, const struct image_topic *t,
                                const struct msg_create_partitions_request_topic *rt, char *msg,
                                size_t msg_size) {
  if (rt->count < t->partition_count) {
    snprintf(msg, msg_size,
             "The topic %s currently has %d partition(s); %d would not be an "
             "increase.",
             t->name, t->partition_count, rt->count);
    return ERR_INVALID_PARTITIONS;
  }
  if (rt->count == t->partition_count) {
    snprintf(msg, msg_size, "Topic already has %d partition(s).", t->partition_count);
    return ERR_INVALID_PARTITIONS;
  }
  int32_t added = rt->count - t->partition_count;
  if (rt->assignments.count >= 0 && rt->assignments.count != added) {
    snprintf(msg, msg_size,
             "Attempted to add %d additional partition(s), but only %d "
             "assignment(s) were specified.",
             added, rt->assignments.count);
    return ERR_INVALID_REPLICA_ASSIGNMENT;
  }
  int32_t rf = t->partitions[0].replica_count;
  if (rt->assignments.count < 0 && rf > b->image.broker_count) {
    snprintf(msg, msg_size,
             "Unable to replicate the partition %d time(s): The target replication factor of "
             "%d cannot be reached because only %d broker(s) are registered.",
             rf, rf, b->image.broker_count);
    return ERR_INVALID_REPLICATION_FACTOR;
  }
  for (int32_t i = 0; i < (rt->assignments.count > 0 ? rt->assignments.count : 0); i++) {
    const struct msg_create_partitions_request_assignment *as = &rt->assignments.items[i];
    if (as->broker_ids.count <= 0) {
      snprintf(msg, msg_size, "The manual partition assignment includes an empty replica list.");
      return ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    if (as->broker_ids.count != rf) {
      snprintf(msg, msg_size,
               "The manual partition assignment includes a partition with %d "
               "replica(s), but this is not consistent with previous partitions, which have %d "
               "replica(s).",
               as->broker_ids.count, rf);
      return ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    for (int32_t r = 0; r < as->broker_ids.count; r++) {
      if (image_broker_find(&b->image, as->broker_ids.items[r]) == NULL) {
        snprintf(msg, msg_size,
                 "The manual partition assignment includes broker %d, but no "
                 "such broker is registered.",
                 as->broker_ids.items[r]);
        return ERR_INVALID_REPLICA_ASSIGNMENT;
      }
      for (int32_t q = 0; q < r; q++)
        if (as->broker_ids.items[q] == as->broker_ids.items[r]) {
          snprintf(msg, msg_size,
                   "The manual partition assignment includes the broker %d more "
                   "than once.",
                   as->broker_ids.items[r]);
          return ERR_INVALID_REPLICA_ASSIGNMENT;
        }
    }
  }
  return ERR_NONE;
}

static int partitions_prepare(struct controller_op *cop, struct broker *b,
                              struct batch_builder *records, int64_t now_ms) {
  struct topics_op *op = cop->arg;
  const struct msg_create_partitions_request *req = op->req;
  struct msg_create_partitions_response *resp = op->resp;
  struct wire_arena *a = deferred_ctx(op->d)->arena;
  for (int32_t i = 0; i < resp->results.count; i++) {
    struct msg_create_partitions_response_topic_result *r = &resp->results.items[i];
    const struct msg_create_partitions_request_topic *rt = &req->topics.items[i];
    if (r->error_code != ERR_NONE) continue;
    const struct image_topic *t = image_topic_find(&b->image, rt->name.ptr, (size_t)rt->name.len);
    char msg[MSG_MAX] = "";
    if (t == NULL) {
      r->error_code = ERR_UNKNOWN_TOPIC_OR_PARTITION;
      snprintf(msg, sizeof(msg), "The topic '%.*s' does not exist.", (int)rt->name.len,
               rt->name.ptr);
    } else {
      r->error_code = partitions_check(b, t, rt, msg, sizeof(msg));
    }
    r->error_message = dispatch_error_message(a, msg);
    if (r->error_code != ERR_NONE || req->validate_only) continue;
    int32_t rf = t->partitions[0].replica_count;
    for (int32_t p = t->partition_count; p < rt->count; p++) {
      int32_t placed[IMAGE_BROKERS_MAX];
      struct image_partition part = {0};
      if (rt->assignments.count > 0) {
        part.replicas = rt->assignments.items[p - t->partition_count].broker_ids.items;
      } else {
        for (int32_t r2 = 0; r2 < rf; r2++)
          placed[r2] = b->image.brokers[(p + r2) % b->image.broker_count].node_id;
        part.replicas = placed;
      }
      part.replica_count = rf;
      part.isr = part.replicas;
      part.isr_count = rf;
      part.leader = part.replicas[0];
      if (image_record_partition(records, &t->id, p, &part, now_ms) != 0) return -ENOMEM;
    }
  }
  return 0;
}

static void partitions_done(struct controller_op *cop, struct broker *b, int err) {
  struct topics_op *op = cop->arg;
  struct msg_create_partitions_response *resp = op->resp;
  (void)b;
  if (err == -ESHUTDOWN) {
    deferred_complete(op->d, true);
    return;
  }
  for (int32_t i = 0; err != 0 && i < resp->results.count; i++)
    if (resp->results.items[i].error_code == ERR_NONE)
      resp->results.items[i].error_code = op_error(err);
  deferred_complete(op->d, false);
}

int handle_create_partitions(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_create_partitions_request *req = request;
  struct msg_create_partitions_response *resp = response;
  int32_t n = req->topics.count > 0 ? req->topics.count : 0;
  resp->results.items = wire_arena_alloc_array(ctx->arena, (size_t)n, sizeof(*resp->results.items));
  if (resp->results.items == NULL && n > 0) return -1;
  resp->results.count = n;
  for (int32_t i = 0; i < n; i++) {
    struct msg_create_partitions_response_topic_result *r = &resp->results.items[i];
    msg_create_partitions_response_topic_result_init(r);
    r->name = req->topics.items[i].name;
    if (ctx->broker->controller == NULL) {
      r->error_code = ERR_NOT_CONTROLLER;
      continue;
    }
    for (int32_t j = 0; j < n; j++) {
      if (j == i || !wire_str_same(req->topics.items[j].name, r->name)) continue;
      r->error_code = ERR_INVALID_REQUEST;
      r->error_message = wire_str_of("Duplicate topic name.");
    }
  }
  if (ctx->broker->controller == NULL || n == 0) return 0;
  struct topics_op *op = op_new(ctx, req, resp, partitions_prepare, partitions_done);
  if (op == NULL) return -1;
  controller_submit(ctx->broker, &op->op);
  return 0;
}
