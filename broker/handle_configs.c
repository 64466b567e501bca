/* DescribeConfigs, AlterConfigs, IncrementalAlterConfigs and ListConfigResources over the config
 * model of topic_config.h. Topic overrides and dynamic broker configs (KIP-226: resource "<node
 * id>" for this broker, "" for the cluster-wide default) live in the metadata image; changing
 * them is a controller operation (ConfigRecords), answered once committed. When the records
 * apply, the partition logs pick a topic change up (partitions.c) and a broker change rebuilds
 * the broker's effective configuration (broker_config_reload). BROKER_LOGGER changes (KIP-412)
 * set the log level at once and are not stored, as in Kafka. Resource types other than TOPIC,
 * BROKER and BROKER_LOGGER (GROUP, CLIENT_METRICS) get INVALID_REQUEST: Quire keeps no configs
 * for them yet. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "dispatch.h"
#include "errors.h"
#include "image_records.h"
#include "log.h"
#include "topic_config.h"
#include "topics.h"

enum { MSG_MAX = 1024 };

/* A topic's stored overrides as config_override items (arena). */
static struct config_override *topic_overrides(struct wire_arena *a, const struct image_topic *t,
                                               int *count) {
  struct config_override *ov = wire_arena_alloc_array(a, t->configs.count + 1, sizeof(*ov));
  if (ov == NULL) return NULL;
  for (size_t i = 0; i < t->configs.count; i++) {
    ov[i].name = t->configs.items[i].name;
    ov[i].value = t->configs.items[i].value;
  }
  *count = (int)t->configs.count;
  return ov;
}

/* Finds the topic of a TOPIC resource, or sets the error Kafka gives. */
static const struct image_topic *resource_topic(struct broker *b, struct wire_str name,
                                                int16_t *err, char *msg, size_t msg_size) {
  *err = topic_name_check(name, msg, msg_size);
  if (*err != ERR_NONE) return NULL;
  const struct image_topic *t = image_topic_find(&b->image, name.ptr, (size_t)name.len);
  if (t == NULL) {
    *err = ERR_UNKNOWN_TOPIC_OR_PARTITION;
    snprintf(msg, msg_size, "The topic '%.*s' does not exist.", (int)name.len, name.ptr);
  }
  return t;
}

/* ---- DescribeConfigs ---- */

static int describe_fill(struct request_ctx *ctx, const struct config_entry *entries, int count,
                         struct msg_describe_configs_response_result *r) {
  r->configs.items = wire_arena_alloc_array(ctx->arena, (size_t)count, sizeof(*r->configs.items));
  if (r->configs.items == NULL && count > 0) return -1;
  r->configs.count = count;
  for (int i = 0; i < count; i++) {
    const struct config_entry *e = &entries[i];
    struct msg_describe_configs_response_resource_result *c = &r->configs.items[i];
    msg_describe_configs_response_resource_result_init(c);
    c->name = wire_str_of(e->name);
    c->value = wire_str_of(e->value);
    c->read_only = e->read_only;
    c->config_source = e->source;
    c->is_sensitive = e->sensitive;
    c->config_type = e->type;
    c->documentation = wire_str_of(e->doc);
    c->synonyms.items =
        wire_arena_alloc_array(ctx->arena, (size_t)e->synonym_count, sizeof(*c->synonyms.items));
    if (c->synonyms.items == NULL && e->synonym_count > 0) return -1;
    c->synonyms.count = e->synonym_count;
    for (int s = 0; s < e->synonym_count; s++) {
      struct msg_describe_configs_response_synonym *syn = &c->synonyms.items[s];
      msg_describe_configs_response_synonym_init(syn);
      syn->name = wire_str_of(e->synonyms[s].name);
      syn->value = wire_str_of(e->synonyms[s].value);
      syn->source = e->synonyms[s].source;
    }
  }
  return 0;
}

int handle_describe_configs(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_describe_configs_request *req = request;
  struct msg_describe_configs_response *resp = response;
  struct broker *b = ctx->broker;
  int32_t n = req->resources.count > 0 ? req->resources.count : 0;
  resp->results.items = wire_arena_alloc_array(ctx->arena, (size_t)n, sizeof(*resp->results.items));
  if (resp->results.items == NULL && n > 0) return -1;
  resp->results.count = n;
  for (int32_t i = 0; i < n; i++) {
    const struct msg_describe_configs_request_resource *res = &req->resources.items[i];
    struct msg_describe_configs_response_result *r = &resp->results.items[i];
    msg_describe_configs_response_result_init(r);
    r->resource_type = res->resource_type;
    r->resource_name = res->resource_name;
    r->configs.count = 0;
    int32_t kn = res->configuration_keys.count;
    const char **keys =
        wire_arena_alloc_array(ctx->arena, (size_t)(kn > 0 ? kn : 0) + 1, sizeof(*keys));
    char *name = wire_arena_cstr(ctx->arena, res->resource_name);
    if (keys == NULL || name == NULL) return -1;
    for (int32_t k = 0; k < kn; k++)
      if ((keys[k] = wire_arena_cstr(ctx->arena, res->configuration_keys.items[k])) == NULL)
        return -1;
    struct config_describe_args args = {keys, kn > 0 ? kn : 0, req->include_synonyms,
                                        req->include_documentation};
    if (kn == 0) { /* an empty key list asks for nothing; null for everything */
      r->error_code = ERR_NONE;
      continue;
    }
    if (kn < 0) args.keys = NULL;
    struct config_entry *entries = NULL;
    int count = 0, rc = 0;
    char msg[MSG_MAX] = "";
    switch (res->resource_type) {
    case CONFIG_RESOURCE_TOPIC: {
      const struct image_topic *t =
          resource_topic(b, res->resource_name, &r->error_code, msg, sizeof(msg));
      if (t == NULL) break;
      int ov_count;
      struct config_override *ov = topic_overrides(ctx->arena, t, &ov_count);
      if (ov == NULL) return -1;
      rc = topic_config_describe(b->cfg, ov, ov_count, &args, ctx->arena, &entries, &count);
      break;
    }
    case CONFIG_RESOURCE_BROKER: {
      bool cluster_default;
      r->error_code =
          config_broker_resource_check(b->cfg, name, &cluster_default, msg, sizeof(msg));
      if (r->error_code == ERR_NONE)
        rc = config_broker_describe(b->cfg, cluster_default, &args, ctx->arena, &entries, &count);
      break;
    }
    case CONFIG_RESOURCE_BROKER_LOGGER:
      r->error_code = config_broker_logger_describe(b->cfg, name, &args, ctx->arena, &entries,
                                                    &count, msg, sizeof(msg));
      if (r->error_code == ERR_NONE && count == 1) { /* the level set at run time, if any */
        static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
        entries[0].value = level_names[log_get_level()];
      }
      break;
    default:
      r->error_code = ERR_INVALID_REQUEST;
      snprintf(msg, sizeof(msg), "Unsupported resource type %d: Quire keeps no configs of it",
               res->resource_type);
    }
    if (rc != 0) return -1;
    r->error_message = dispatch_error_message(ctx->arena, msg);
    if (r->error_code == ERR_NONE && describe_fill(ctx, entries, count, r) != 0) return -1;
  }
  return 0;
}

/* ---- AlterConfigs and IncrementalAlterConfigs: one controller operation per request ---- */

struct alter_op {
  struct controller_op op;
  struct deferred *d;
  bool incremental;
  const void *req;
  void *resp;
};

/* The resource i of either request, and its answer. */
static void alter_resource(const struct alter_op *op, int32_t i, int8_t *type,
                           struct wire_str *name, int16_t **err, struct wire_str **msg) {
  if (op->incremental) {
    const struct msg_incremental_alter_configs_request *req = op->req;
    struct msg_incremental_alter_configs_response *resp = op->resp;
    *type = req->resources.items[i].resource_type;
    *name = req->resources.items[i].resource_name;
    *err = &resp->responses.items[i].error_code;
    *msg = &resp->responses.items[i].error_message;
  } else {
    const struct msg_alter_configs_request *req = op->req;
    struct msg_alter_configs_response *resp = op->resp;
    *type = req->resources.items[i].resource_type;
    *name = req->resources.items[i].resource_name;
    *err = &resp->responses.items[i].error_code;
    *msg = &resp->responses.items[i].error_message;
  }
}

/* The ConfigRecords that turn a resource's old set (the image's) into the new one. */
static int alter_records(struct batch_builder *records, int8_t type, const char *resource,
                         const struct image_configs *old, const struct config_override *now,
                         int now_count, int64_t now_ms) {
  size_t rn = strlen(resource);
  for (size_t i = 0; old != NULL && i < old->count; i++) {
    const char *key = old->items[i].name;
    bool kept = false;
    for (int j = 0; j < now_count && !kept; j++) kept = strcmp(now[j].name, key) == 0;
    if (!kept &&
        image_record_config(records, type, resource, rn, key, strlen(key), NULL, 0, now_ms) != 0)
      return -ENOMEM;
  }
  for (int j = 0; j < now_count; j++) {
    const char *was = old != NULL ? image_configs_get(old, now[j].name) : NULL;
    if (was != NULL && strcmp(was, now[j].value) == 0) continue;
    if (image_record_config(records, type, resource, rn, now[j].name, strlen(now[j].name),
                            now[j].value, (int32_t)strlen(now[j].value), now_ms) != 0)
      return -ENOMEM;
  }
  return 0;
}

/* The ops of IncrementalAlterConfigs resource i (arena), or NULL. */
static struct config_alter_op *alter_ops(struct wire_arena *a,
                                         const struct msg_incremental_alter_configs_request *req,
                                         int32_t i, int32_t *count) {
  const struct msg_incremental_alter_configs_request_alter_configs_resource *res =
      &req->resources.items[i];
  int32_t n = res->configs.count > 0 ? res->configs.count : 0;
  struct config_alter_op *ops = wire_arena_alloc_array(a, (size_t)n + 1, sizeof(*ops));
  if (ops == NULL) return NULL;
  for (int32_t c = 0; c < n; c++) {
    ops[c].name = wire_arena_cstr(a, res->configs.items[c].name);
    ops[c].op = res->configs.items[c].config_operation;
    ops[c].value = wire_arena_cstr(a, res->configs.items[c].value);
    if (ops[c].name == NULL) return NULL;
  }
  *count = n;
  return ops;
}

/* The entries of AlterConfigs resource i (arena), or NULL. */
static struct config_override *alter_entries(struct wire_arena *a,
                                             const struct msg_alter_configs_request *req, int32_t i,
                                             int32_t *count) {
  const struct msg_alter_configs_request_resource *res = &req->resources.items[i];
  int32_t n = res->configs.count > 0 ? res->configs.count : 0;
  struct config_override *now = wire_arena_alloc_array(a, (size_t)n + 1, sizeof(*now));
  if (now == NULL) return NULL;
  for (int32_t c = 0; c < n; c++) {
    now[c].name = wire_arena_cstr(a, res->configs.items[c].name);
    now[c].value = wire_arena_cstr(a, res->configs.items[c].value);
    if (now[c].name == NULL) return NULL;
  }
  *count = n;
  return now;
}

static bool alter_validate_only(const struct alter_op *op) {
  return op->incremental
             ? ((const struct msg_incremental_alter_configs_request *)op->req)->validate_only
             : ((const struct msg_alter_configs_request *)op->req)->validate_only;
}

static int16_t alter_topic(struct alter_op *op, struct broker *b, int32_t i,
                           const struct image_topic *t, struct batch_builder *records,
                           int64_t now_ms, char *msg, size_t msg_size) {
  struct wire_arena *a = deferred_ctx(op->d)->arena;
  int cur_count;
  struct config_override *cur = topic_overrides(a, t, &cur_count);
  struct config_override *now = NULL;
  int32_t n = 0;
  int now_count = 0;
  int16_t err;
  if (cur == NULL) return ERR_UNKNOWN_SERVER_ERROR;
  if (op->incremental) {
    struct config_alter_op *ops = alter_ops(a, op->req, i, &n);
    if (ops == NULL) return ERR_UNKNOWN_SERVER_ERROR;
    err = topic_config_alter_incremental(b->cfg, cur, cur_count, ops, n, a, &now, &now_count, msg,
                                         msg_size);
  } else {
    if ((now = alter_entries(a, op->req, i, &n)) == NULL) return ERR_UNKNOWN_SERVER_ERROR;
    now_count = n;
    err = topic_config_alter_legacy(b->cfg, now, n, msg, msg_size);
  }
  if (err != ERR_NONE || alter_validate_only(op)) return err;
  return alter_records(records, IMAGE_RESOURCE_TOPIC, t->name, &t->configs, now, now_count,
                       now_ms) == 0
             ? ERR_NONE
             : ERR_UNKNOWN_SERVER_ERROR;
}

/* A BROKER resource: "<node id>" or "" (the cluster-wide default); its stored set is the image's
 * broker config of that name. */
static int16_t alter_broker(struct alter_op *op, struct broker *b, int32_t i, const char *name,
                            struct batch_builder *records, int64_t now_ms, char *msg,
                            size_t msg_size) {
  struct wire_arena *a = deferred_ctx(op->d)->arena;
  const struct image_configs *stored = NULL;
  for (size_t k = 0; k < b->image.broker_config_count; k++)
    if (strcmp(b->image.broker_configs[k].resource, name) == 0)
      stored = &b->image.broker_configs[k].configs;
  size_t stored_count = stored != NULL ? stored->count : 0;
  struct config_override *cur = wire_arena_alloc_array(a, stored_count + 1, sizeof(*cur));
  if (cur == NULL) return ERR_UNKNOWN_SERVER_ERROR;
  for (size_t k = 0; k < stored_count; k++)
    cur[k] = (struct config_override){stored->items[k].name, stored->items[k].value};
  struct config_override *now = NULL;
  int32_t n = 0;
  int now_count = 0;
  int16_t err;
  if (op->incremental) {
    struct config_alter_op *ops = alter_ops(a, op->req, i, &n);
    if (ops == NULL) return ERR_UNKNOWN_SERVER_ERROR;
    err = config_broker_alter_incremental(b->cfg, name, cur, (int)stored_count, ops, n, a, &now,
                                          &now_count, msg, msg_size);
  } else {
    if ((now = alter_entries(a, op->req, i, &n)) == NULL) return ERR_UNKNOWN_SERVER_ERROR;
    now_count = n;
    err = config_broker_alter_legacy(b->cfg, name, now, n, msg, msg_size);
  }
  if (err != ERR_NONE || alter_validate_only(op)) return err;
  return alter_records(records, IMAGE_RESOURCE_BROKER, name, stored, now, now_count, now_ms) == 0
             ? ERR_NONE
             : ERR_UNKNOWN_SERVER_ERROR;
}

/* IncrementalAlterConfigs on a BROKER_LOGGER resource: the level changes now (not stored). */
static int16_t alter_logger(struct alter_op *op, struct broker *b, int32_t i, const char *name,
                            char *msg, size_t msg_size) {
  struct wire_arena *a = deferred_ctx(op->d)->arena;
  int32_t n = 0;
  struct config_alter_op *ops = alter_ops(a, op->req, i, &n);
  if (ops == NULL) return ERR_UNKNOWN_SERVER_ERROR;
  int16_t err = config_broker_logger_alter_check(b->cfg, name, ops, n, msg, msg_size);
  if (err != ERR_NONE || alter_validate_only(op)) return err;
  for (int32_t c = 0; c < n; c++) {
    enum log_level level;
    const char *v = ops[c].value;
    if (strcmp(v, "FATAL") == 0) v = "ERROR";
    if (strcmp(v, "TRACE") == 0) v = "DEBUG";
    if (log_level_parse(v, &level) != 0) continue;
    log_set_level(level);
    log_warn("config", "updated the log level of %s to %s", ops[c].name, ops[c].value);
  }
  return ERR_NONE;
}

static int alter_prepare(struct controller_op *cop, struct broker *b, struct batch_builder *records,
                         int64_t now_ms) {
  struct alter_op *op = cop->arg;
  struct wire_arena *a = deferred_ctx(op->d)->arena;
  int32_t n = op->incremental
                  ? ((const struct msg_incremental_alter_configs_request *)op->req)->resources.count
                  : ((const struct msg_alter_configs_request *)op->req)->resources.count;
  for (int32_t i = 0; i < n; i++) {
    int8_t type;
    struct wire_str name, *msg_out;
    int16_t *err;
    alter_resource(op, i, &type, &name, &err, &msg_out);
    if (*err != ERR_NONE) continue;
    char msg[MSG_MAX] = "";
    if (type == CONFIG_RESOURCE_TOPIC) {
      const struct image_topic *t = resource_topic(b, name, err, msg, sizeof(msg));
      if (t != NULL) *err = alter_topic(op, b, i, t, records, now_ms, msg, sizeof(msg));
    } else if (type == CONFIG_RESOURCE_BROKER) {
      const char *rname = name.len > 0 ? wire_arena_cstr(a, name) : "";
      *err = rname == NULL ? ERR_UNKNOWN_SERVER_ERROR
                           : alter_broker(op, b, i, rname, records, now_ms, msg, sizeof(msg));
    } else if (type == CONFIG_RESOURCE_BROKER_LOGGER && op->incremental) {
      const char *rname = name.len > 0 ? wire_arena_cstr(a, name) : "";
      *err = rname == NULL ? ERR_UNKNOWN_SERVER_ERROR
                           : alter_logger(op, b, i, rname, msg, sizeof(msg));
    } else if (type == CONFIG_RESOURCE_BROKER_LOGGER) {
      /* legacy AlterConfigs never took BROKER_LOGGER */
      *err = ERR_INVALID_REQUEST;
      snprintf(msg, sizeof(msg), "Unknown resource type %d", type);
    } else {
      *err = ERR_INVALID_REQUEST;
      snprintf(msg, sizeof(msg), "Unsupported resource type %d: Quire keeps no configs of it",
               type);
    }
    *msg_out = dispatch_error_message(a, msg);
  }
  return 0;
}

static void alter_done(struct controller_op *cop, struct broker *b, int err) {
  struct alter_op *op = cop->arg;
  (void)b;
  if (err == -ESHUTDOWN) {
    deferred_complete(op->d, true);
    return;
  }
  int32_t n = op->incremental
                  ? ((const struct msg_incremental_alter_configs_request *)op->req)->resources.count
                  : ((const struct msg_alter_configs_request *)op->req)->resources.count;
  for (int32_t i = 0; err != 0 && i < n; i++) {
    int8_t type;
    struct wire_str name, *msg;
    int16_t *code;
    alter_resource(op, i, &type, &name, &code, &msg);
    if (*code == ERR_NONE) *code = ERR_KAFKA_STORAGE_ERROR;
  }
  deferred_complete(op->d, false);
}

/* Fills the answers' names and refuses duplicate resources (Kafka: INVALID_REQUEST). */
static int alter_begin(struct request_ctx *ctx, struct alter_op *op, int32_t n) {
  for (int32_t i = 0; i < n; i++) {
    int8_t type, other_type;
    struct wire_str name, other, *msg, *other_msg;
    int16_t *err, *other_err;
    alter_resource(op, i, &type, &name, &err, &msg);
    if (ctx->broker->controller == NULL) {
      *err = ERR_NOT_CONTROLLER;
      continue;
    }
    for (int32_t j = 0; j < n; j++) {
      if (j == i) continue;
      alter_resource(op, j, &other_type, &other, &other_err, &other_msg);
      if (other_type == type && wire_str_same(other, name)) {
        *err = ERR_INVALID_REQUEST;
        *msg = wire_str_of("Each resource must appear at most once.");
      }
    }
  }
  if (ctx->broker->controller == NULL || n == 0) return 0;
  op->d = request_defer(ctx);
  if (op->d == NULL) return -1;
  op->op.prepare = alter_prepare;
  op->op.done = alter_done;
  op->op.arg = op;
  controller_submit(ctx->broker, &op->op);
  return 0;
}

int handle_alter_configs(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_alter_configs_request *req = request;
  struct msg_alter_configs_response *resp = response;
  int32_t n = req->resources.count > 0 ? req->resources.count : 0;
  struct alter_op *op = wire_arena_alloc(ctx->arena, sizeof(*op));
  resp->responses.items =
      wire_arena_alloc_array(ctx->arena, (size_t)n, sizeof(*resp->responses.items));
  if (op == NULL || (resp->responses.items == NULL && n > 0)) return -1;
  resp->responses.count = n;
  for (int32_t i = 0; i < n; i++) {
    msg_alter_configs_response_resource_response_init(&resp->responses.items[i]);
    resp->responses.items[i].resource_type = req->resources.items[i].resource_type;
    resp->responses.items[i].resource_name = req->resources.items[i].resource_name;
  }
  op->incremental = false;
  op->req = req;
  op->resp = resp;
  return alter_begin(ctx, op, n);
}

int handle_incremental_alter_configs(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_incremental_alter_configs_request *req = request;
  struct msg_incremental_alter_configs_response *resp = response;
  int32_t n = req->resources.count > 0 ? req->resources.count : 0;
  struct alter_op *op = wire_arena_alloc(ctx->arena, sizeof(*op));
  resp->responses.items =
      wire_arena_alloc_array(ctx->arena, (size_t)n, sizeof(*resp->responses.items));
  if (op == NULL || (resp->responses.items == NULL && n > 0)) return -1;
  resp->responses.count = n;
  for (int32_t i = 0; i < n; i++) {
    struct msg_incremental_alter_configs_response_alter_configs_resource_response *r =
        &resp->responses.items[i];
    msg_incremental_alter_configs_response_alter_configs_resource_response_init(r);
    r->resource_type = req->resources.items[i].resource_type;
    r->resource_name = req->resources.items[i].resource_name;
  }
  op->incremental = true;
  op->req = req;
  op->resp = resp;
  return alter_begin(ctx, op, n);
}

/* ---- ListConfigResources (KIP-1142): v0 lists client-metrics resources only (none in
 * Quire); v1 takes a type filter, empty meaning every type ---- */

static bool type_wanted(const struct msg_list_config_resources_request *req, int16_t version,
                        int8_t type) {
  if (version == 0) return type == CONFIG_RESOURCE_CLIENT_METRICS;
  if (req->resource_types.count <= 0) return true;
  for (int32_t i = 0; i < req->resource_types.count; i++)
    if (req->resource_types.items[i] == type) return true;
  return false;
}

int handle_list_config_resources(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_list_config_resources_request *req = request;
  struct msg_list_config_resources_response *resp = response;
  const struct image *img = &ctx->broker->image;
  for (int32_t i = 0; i < req->resource_types.count; i++) {
    int8_t t = req->resource_types.items[i];
    if (t != CONFIG_RESOURCE_TOPIC && t != CONFIG_RESOURCE_BROKER &&
        t != CONFIG_RESOURCE_BROKER_LOGGER && t != CONFIG_RESOURCE_CLIENT_METRICS &&
        t != CONFIG_RESOURCE_GROUP) {
      resp->error_code = ERR_UNSUPPORTED_VERSION;
      return 0;
    }
  }
  size_t cap = img->topic_count + 2 * (size_t)img->broker_count;
  resp->config_resources.items =
      wire_arena_alloc_array(ctx->arena, cap + 1, sizeof(*resp->config_resources.items));
  if (resp->config_resources.items == NULL) return -1;
  resp->config_resources.count = 0;
  static const int8_t node_types[] = {CONFIG_RESOURCE_BROKER, CONFIG_RESOURCE_BROKER_LOGGER};
  for (size_t k = 0; k < sizeof(node_types); k++) {
    if (!type_wanted(req, ctx->api_version, node_types[k])) continue;
    for (int i = 0; i < img->broker_count; i++) {
      char id[16];
      snprintf(id, sizeof(id), "%d", img->brokers[i].node_id);
      struct msg_list_config_resources_response_config_resource *r =
          &resp->config_resources.items[resp->config_resources.count++];
      msg_list_config_resources_response_config_resource_init(r);
      r->resource_name = dispatch_error_message(ctx->arena, id);
      r->resource_type = node_types[k];
    }
  }
  if (type_wanted(req, ctx->api_version, CONFIG_RESOURCE_TOPIC)) {
    for (size_t i = 0; i < img->topic_count; i++) {
      struct msg_list_config_resources_response_config_resource *r =
          &resp->config_resources.items[resp->config_resources.count++];
      msg_list_config_resources_response_config_resource_init(r);
      r->resource_name = wire_str_of(img->topics[i]->name);
      r->resource_type = CONFIG_RESOURCE_TOPIC;
    }
  }
  return 0;
}
