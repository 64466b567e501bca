/* Metadata: the brokers (with their endpoint on the listener the client used), the cluster id,
 * the controller and the topics of the metadata image. A topic asked for by name that does not
 * exist is auto-created when the request allows it (v4+; always before) and
 * auto.create.topics.enable is set: as in Kafka the creation is handed to the controller and the
 * answer says LEADER_NOT_AVAILABLE until it is done, so clients retry. Internal topics are never
 * auto-created by a client; invalid names get INVALID_TOPIC_EXCEPTION. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "dispatch.h"
#include "errors.h"
#include "log.h"
#include "topics.h"

static int fill_brokers(struct request_ctx *ctx, struct msg_metadata_response *resp) {
  const struct image *img = &ctx->broker->image;
  resp->brokers.items =
      wire_arena_alloc_array(ctx->arena, (size_t)img->broker_count, sizeof(*resp->brokers.items));
  if (resp->brokers.items == NULL && img->broker_count > 0) return -1;
  resp->brokers.count = 0;
  for (int i = 0; i < img->broker_count; i++) {
    const struct image_broker *b = &img->brokers[i];
    const struct image_endpoint *ep = image_broker_endpoint(b, ctx->listener);
    if (ep == NULL) continue; /* not reachable through this listener */
    struct msg_metadata_response_broker *out = &resp->brokers.items[resp->brokers.count++];
    msg_metadata_response_broker_init(out);
    out->node_id = b->node_id;
    out->host = wire_str_of(ep->host);
    out->port = ep->port;
    out->rack = b->rack[0] ? wire_str_of(b->rack) : wire_str_of(NULL);
  }
  return 0;
}

/* A topic of the image, with every partition. The image outlives the response. */
static int fill_topic(struct request_ctx *ctx, const struct image_topic *t,
                      struct msg_metadata_response_topic *out) {
  out->error_code = ERR_NONE;
  out->name = wire_str_of(t->name);
  out->topic_id = t->id;
  out->is_internal = topic_is_internal(out->name);
  out->partitions.items = wire_arena_alloc_array(ctx->arena, (size_t)t->partition_count,
                                                 sizeof(*out->partitions.items));
  if (out->partitions.items == NULL && t->partition_count > 0) return -1;
  out->partitions.count = t->partition_count;
  for (int32_t p = 0; p < t->partition_count; p++) {
    const struct image_partition *ip = &t->partitions[p];
    struct msg_metadata_response_partition *mp = &out->partitions.items[p];
    msg_metadata_response_partition_init(mp);
    mp->partition_index = p;
    mp->leader_id = ip->leader;
    mp->leader_epoch = ip->leader_epoch;
    mp->error_code = ip->leader < 0 ? ERR_LEADER_NOT_AVAILABLE : ERR_NONE;
    mp->replica_nodes.count = ip->replica_count;
    mp->replica_nodes.items = ip->replicas;
    mp->isr_nodes.count = ip->isr_count;
    mp->isr_nodes.items = ip->isr;
    mp->offline_replicas.count = 0;
  }
  return 0;
}

/* ---- auto-creation: a controller operation nobody waits for ---- */

struct auto_create_op {
  struct controller_op op;
  size_t name_len;
  char name[];
};

static int auto_create_prepare(struct controller_op *cop, struct broker *b,
                               struct batch_builder *records, int64_t now_ms) {
  struct auto_create_op *op = cop->arg;
  struct topic_spec spec = {
      {op->name, (int32_t)op->name_len}, -1, -1, 0, NULL, NULL, NULL, NULL, 0};
  struct topic_created made;
  char msg[512];
  int rc = topic_create(b, &spec, false, NULL, 0, records, now_ms, &made, msg, sizeof(msg));
  if (rc < 0) return -1;
  if (rc == ERR_NONE)
    log_info("controller", "auto-creating topic %s with %d partitions", op->name, made.partitions);
  else if (rc != ERR_TOPIC_ALREADY_EXISTS)
    log_warn("controller", "cannot auto-create topic %s: %s", op->name, msg);
  return 0;
}

static void auto_create_done(struct controller_op *cop, struct broker *b, int err) {
  (void)b;
  (void)err;
  free(cop->arg);
}

static void auto_create(struct broker *b, struct wire_str name) {
  struct auto_create_op *op = malloc(sizeof(*op) + (size_t)name.len + 1);
  if (op == NULL) return; /* the client retries */
  memset(&op->op, 0, sizeof(op->op));
  op->op.prepare = auto_create_prepare;
  op->op.done = auto_create_done;
  op->op.arg = op;
  op->name_len = (size_t)name.len;
  memcpy(op->name, name.ptr, (size_t)name.len);
  op->name[name.len] = '\0';
  controller_submit(b, &op->op);
}

static void fill_missing(struct request_ctx *ctx, const struct msg_metadata_request *req,
                         const struct msg_metadata_request_topic *want,
                         struct msg_metadata_response_topic *t) {
  struct broker *b = ctx->broker;
  t->name = want->name;
  t->topic_id = want->topic_id;
  if (want->name.len < 0) {
    t->error_code = ERR_UNKNOWN_TOPIC_ID;
    return;
  }
  char msg[512];
  if (topic_name_check(want->name, msg, sizeof(msg)) != ERR_NONE) {
    t->error_code = ERR_INVALID_TOPIC_EXCEPTION;
    return;
  }
  bool allowed = ctx->api_version < 4 || req->allow_auto_topic_creation;
  if (!allowed || !b->cfg->auto_create_topics_enable || b->controller == NULL ||
      topic_is_internal(want->name) || wire_str_eq(want->name, "__cluster_metadata")) {
    t->error_code = ERR_UNKNOWN_TOPIC_OR_PARTITION;
    return;
  }
  auto_create(b, want->name);
  t->error_code = ERR_LEADER_NOT_AVAILABLE;
}

int handle_metadata(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_metadata_request *req = request;
  struct msg_metadata_response *resp = response;
  const struct image *img = &ctx->broker->image;

  if (fill_brokers(ctx, resp) != 0) return -1;
  resp->cluster_id = wire_str_of(img->cluster_id);
  resp->controller_id = img->controller_id;

  /* A null list (v1+), or an empty one at v0, asks for every topic. */
  bool all_topics = req->topics.count < 0 || (ctx->api_version == 0 && req->topics.count == 0);
  size_t n =
      all_topics ? img->topic_count : (size_t)(req->topics.count > 0 ? req->topics.count : 0);
  resp->topics.items = wire_arena_alloc_array(ctx->arena, n, sizeof(*resp->topics.items));
  if (resp->topics.items == NULL && n > 0) return -1;
  resp->topics.count = (int32_t)n;
  for (size_t i = 0; i < n; i++) {
    struct msg_metadata_response_topic *t = &resp->topics.items[i];
    msg_metadata_response_topic_init(t);
    if (all_topics) {
      if (fill_topic(ctx, img->topics[i], t) != 0) return -1;
      continue;
    }
    const struct msg_metadata_request_topic *want = &req->topics.items[i];
    const struct image_topic *it =
        want->name.len >= 0 ? image_topic_find(img, want->name.ptr, (size_t)want->name.len)
                            : image_topic_by_id(img, &want->topic_id);
    if (it != NULL) {
      if (fill_topic(ctx, it, t) != 0) return -1;
    } else {
      fill_missing(ctx, req, want, t);
    }
  }
  return 0;
}

/* ---- DescribeTopicPartitions (KIP-966): topics in name order, at most a partition limit per
 * response, with a cursor to continue from ---- */

static int dtp_fill(struct request_ctx *ctx, const struct image_topic *t, int32_t first,
                    int32_t count, struct msg_describe_topic_partitions_response_topic *out) {
  out->name = wire_str_of(t->name);
  out->topic_id = t->id;
  out->is_internal = topic_is_internal(out->name);
  out->partitions.items =
      wire_arena_alloc_array(ctx->arena, (size_t)count, sizeof(*out->partitions.items));
  if (out->partitions.items == NULL && count > 0) return -1;
  out->partitions.count = count;
  for (int32_t i = 0; i < count; i++) {
    const struct image_partition *ip = &t->partitions[first + i];
    struct msg_describe_topic_partitions_response_partition *p = &out->partitions.items[i];
    msg_describe_topic_partitions_response_partition_init(p);
    p->partition_index = first + i;
    p->leader_id = ip->leader;
    p->leader_epoch = ip->leader_epoch;
    p->error_code = ip->leader < 0 ? ERR_LEADER_NOT_AVAILABLE : ERR_NONE;
    p->replica_nodes.count = ip->replica_count;
    p->replica_nodes.items = ip->replicas;
    p->isr_nodes.count = ip->isr_count;
    p->isr_nodes.items = ip->isr;
    p->offline_replicas.count = 0;
  }
  return 0;
}

static int name_order(const void *a, const void *b) {
  const struct wire_str *x = a, *y = b;
  int32_t n = x->len < y->len ? x->len : y->len;
  int c = n > 0 ? memcmp(x->ptr, y->ptr, (size_t)n) : 0;
  return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

int handle_describe_topic_partitions(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_describe_topic_partitions_request *req = request;
  struct msg_describe_topic_partitions_response *resp = response;
  const struct image *img = &ctx->broker->image;
  int64_t limit = 2000; /* max.request.partition.size.limit */
  config_get_int64(ctx->broker->cfg, "max.request.partition.size.limit", &limit);
  if (req->response_partition_limit > 0 && req->response_partition_limit < limit)
    limit = req->response_partition_limit;
  const struct msg_describe_topic_partitions_request_cursor *cursor = req->cursor;

  /* the names to describe, sorted: the request's, or every topic of the image */
  bool all = req->topics.count <= 0;
  size_t n = all ? img->topic_count : (size_t)req->topics.count;
  struct wire_str *names = wire_arena_alloc_array(ctx->arena, n + 1, sizeof(*names));
  if (names == NULL) return -1;
  for (size_t i = 0; i < n; i++)
    names[i] = all ? wire_str_of(img->topics[i]->name) : req->topics.items[i].name;
  if (!all) qsort(names, n, sizeof(*names), name_order);
  size_t start = 0;
  if (cursor != NULL) {
    while (start < n && name_order(&names[start], &cursor->topic_name) < 0) start++;
    if (!all && (start == n || name_order(&names[start], &cursor->topic_name) != 0)) {
      /* Kafka refuses a cursor outside the requested topics: every topic gets the error */
      resp->topics.items = wire_arena_alloc_array(ctx->arena, n, sizeof(*resp->topics.items));
      if (resp->topics.items == NULL) return -1;
      resp->topics.count = (int32_t)n;
      for (size_t i = 0; i < n; i++) {
        msg_describe_topic_partitions_response_topic_init(&resp->topics.items[i]);
        resp->topics.items[i].name = names[i];
        resp->topics.items[i].error_code = ERR_INVALID_REQUEST;
      }
      return 0;
    }
  }
  resp->topics.items =
      wire_arena_alloc_array(ctx->arena, n - start + 1, sizeof(*resp->topics.items));
  if (resp->topics.items == NULL) return -1;
  resp->topics.count = 0;
  for (size_t i = start; i < n; i++) {
    if (i > start && name_order(&names[i], &names[i - 1]) == 0) continue; /* asked twice */
    const struct image_topic *t = image_topic_find(img, names[i].ptr, (size_t)names[i].len);
    int32_t first = cursor != NULL && i == start && t != NULL ? cursor->partition_index : 0;
    if (t != NULL && first < t->partition_count && limit <= 0) {
      /* out of room: continue here next time */
      struct msg_describe_topic_partitions_response_cursor *next =
          wire_arena_alloc(ctx->arena, sizeof(*next));
      if (next == NULL) return -1;
      msg_describe_topic_partitions_response_cursor_init(next);
      next->topic_name = wire_str_of(t->name);
      next->partition_index = first;
      resp->next_cursor = next;
      break;
    }
    struct msg_describe_topic_partitions_response_topic *out =
        &resp->topics.items[resp->topics.count++];
    msg_describe_topic_partitions_response_topic_init(out);
    if (t == NULL) {
      out->name = names[i];
      out->error_code = ERR_UNKNOWN_TOPIC_OR_PARTITION;
      continue;
    }
    if (first < 0 || first > t->partition_count) first = t->partition_count;
    int32_t count = t->partition_count - first;
    if (count > limit) count = (int32_t)limit;
    if (dtp_fill(ctx, t, first, count, out) != 0) return -1;
    limit -= count;
    if (first + count < t->partition_count) {
      struct msg_describe_topic_partitions_response_cursor *next =
          wire_arena_alloc(ctx->arena, sizeof(*next));
      if (next == NULL) return -1;
      msg_describe_topic_partitions_response_cursor_init(next);
      next->topic_name = out->name;
      next->partition_index = first + count;
      resp->next_cursor = next;
      break;
    }
  }
  return 0;
}

/* ---- DescribeCluster: the brokers' endpoints on the listener the client used ---- */

int handle_describe_cluster(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_describe_cluster_request *req = request;
  struct msg_describe_cluster_response *resp = response;
  const struct image *img = &ctx->broker->image;
  resp->endpoint_type = req->endpoint_type;
  resp->cluster_id = wire_str_of(img->cluster_id);
  if (req->endpoint_type == 2) { /* controllers: asked of a controller listener, in Kafka */
    resp->error_code = ERR_MISMATCHED_ENDPOINT_TYPE;
    resp->error_message = wire_str_of("The request was sent to an endpoint of type BROKER, but "
                                      "we wanted an endpoint of type CONTROLLER");
    return 0;
  }
  if (req->endpoint_type != 1) {
    char msg[64];
    snprintf(msg, sizeof(msg), "Unsupported endpoint type %d", req->endpoint_type);
    resp->error_code = ERR_UNSUPPORTED_ENDPOINT_TYPE;
    resp->error_message = dispatch_error_message(ctx->arena, msg);
    return 0;
  }
  resp->cluster_id = wire_str_of(img->cluster_id);
  resp->controller_id = img->controller_id;
  resp->brokers.items =
      wire_arena_alloc_array(ctx->arena, (size_t)img->broker_count, sizeof(*resp->brokers.items));
  if (resp->brokers.items == NULL && img->broker_count > 0) return -1;
  resp->brokers.count = 0;
  for (int i = 0; i < img->broker_count; i++) {
    const struct image_broker *b = &img->brokers[i];
    const struct image_endpoint *ep = image_broker_endpoint(b, ctx->listener);
    if (ep == NULL) continue;
    struct msg_describe_cluster_response_broker *out = &resp->brokers.items[resp->brokers.count++];
    msg_describe_cluster_response_broker_init(out);
    out->broker_id = b->node_id;
    out->host = wire_str_of(ep->host);
    out->port = ep->port;
    out->rack = b->rack[0] ? wire_str_of(b->rack) : wire_str_of(NULL);
  }
  return 0;
}
