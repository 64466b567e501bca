/* The classic group APIs (Kafka 4.3's KafkaApis and GroupCoordinatorService): FindCoordinator,
 * JoinGroup, SyncGroup, Heartbeat, LeaveGroup, DescribeGroups, ListGroups, DeleteGroups.
 *
 * Every group request passes the same gate first: an empty group id is INVALID_GROUP_ID, then
 * groups_check (COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS). Then
 * the state machine (group.h) decides. JoinGroup and SyncGroup are always deferred and parked
 * under a tag (groups_park): the state machine answers them now or later; their answers are
 * copied into the request's arena (join_answer, sync_answer). DeleteGroups answers once the
 * tombstones of the groups it deleted are committed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "errors.h"
#include "groups.h"
#include "log.h"

/* ---- helpers ---- */

static const struct wire_str NULL_STR = {NULL, -1};
static const struct wire_str EMPTY_STR = {"", 0};

static bool copy_bytes(struct wire_arena *a, struct wire_bytes s, struct wire_bytes *out) {
  *out = s;
  if (s.ptr == NULL || s.len <= 0) return true;
  uint8_t *p = wire_arena_alloc(a, (size_t)s.len);
  if (p == NULL) return false;
  memcpy(p, s.ptr, (size_t)s.len);
  out->ptr = p;
  return true;
}

/* The gate of the membership requests (JoinGroup, SyncGroup, Heartbeat, LeaveGroup): Kafka's
 * isGroupIdNotEmpty, then the coordinator. */
static int16_t group_gate(struct broker *b, struct wire_str group_id) {
  if (group_id.len <= 0) return ERR_INVALID_GROUP_ID;
  return groups_check(b, group_id);
}

/* DescribeGroups and DeleteGroups (and the offset APIs) keep the empty group id usable, as
 * Kafka does for backwards compatibility: only null is refused (isGroupIdNotNull). */
static int16_t group_gate_lax(struct broker *b, struct wire_str group_id) {
  if (group_id.len < 0) return ERR_INVALID_GROUP_ID;
  return groups_check(b, group_id);
}

/* Kafka's client host: "/" and the address. */
static struct wire_str client_host(struct request_ctx *ctx) {
  const char *ip = ctx->client_ip != NULL ? ctx->client_ip : "";
  size_t n = strlen(ip) + 2;
  char *s = wire_arena_alloc(ctx->arena, n);
  if (s == NULL) return EMPTY_STR;
  snprintf(s, n, "/%s", ip);
  return (struct wire_str){s, (int32_t)(n - 1)};
}

/* ---- FindCoordinator ---- */

enum { KEY_TYPE_GROUP = 0, KEY_TYPE_TRANSACTION = 1, KEY_TYPE_SHARE = 2 };

/* One key's coordinator (Kafka's KafkaApis.getCoordinator). */
static void find_one(struct request_ctx *ctx, int8_t key_type, struct wire_str key, int16_t *error,
                     struct wire_str *message, int32_t *node_id, struct wire_str *host,
                     int32_t *port) {
  struct broker *b = ctx->broker;
  *node_id = -1;
  *host = EMPTY_STR;
  *port = -1;
  *message = NULL_STR;
  if (key_type != KEY_TYPE_GROUP) {
    /* Quire has no transaction or share coordinator yet: never available */
    *error = ERR_COORDINATOR_NOT_AVAILABLE;
    *message = dispatch_error_message(ctx->arena, key_type == KEY_TYPE_TRANSACTION
                                                      ? "Quire has no transaction coordinator yet."
                                                      : "Quire has no share coordinator yet.");
    return;
  }
  int32_t leader;
  *error = groups_find(b, wire_str_or_empty(key), &leader);
  if (*error == ERR_NONE) {
    const struct image_broker *br = image_broker_find(&b->image, leader);
    const struct image_endpoint *ep = br != NULL ? image_broker_endpoint(br, ctx->listener) : NULL;
    if (ep == NULL) {
      *error = ERR_COORDINATOR_NOT_AVAILABLE;
    } else {
      *node_id = leader;
      *host = wire_str_of(ep->host);
      *port = ep->port;
    }
  }
  /* v4+ answers carry no message (Kafka sets none); v0-3 carry Errors.message(): the error's
   * default message, "NONE" included */
  if (ctx->api_version >= 4)
    *message = EMPTY_STR;
  else
    *message =
        wire_str_of(*error == ERR_NONE                        ? "NONE"
                    : *error == ERR_COORDINATOR_NOT_AVAILABLE ? "The coordinator is not available."
                                                              : kafka_error_name(*error));
}

/* Kafka answers an unknown key type with INVALID_REQUEST and that error's default message. */
static struct wire_str unknown_type_message(void) {
  return wire_str_of("This most likely occurs because of a request being malformed by the client "
                     "library or the message was sent to an incompatible broker. See the broker "
                     "logs for more details.");
}

int handle_find_coordinator(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_find_coordinator_request *req = request;
  struct msg_find_coordinator_response *resp = response;
  int8_t key_type = req->key_type;
  bool valid_type = key_type == KEY_TYPE_GROUP || key_type == KEY_TYPE_TRANSACTION ||
                    (key_type == KEY_TYPE_SHARE && ctx->api_version >= 6);
  if (ctx->api_version < 4) {
    if (!valid_type) {
      resp->error_code = ERR_INVALID_REQUEST;
      resp->error_message = unknown_type_message();
      resp->node_id = -1;
      resp->host = EMPTY_STR;
      resp->port = -1;
      return 0;
    }
    find_one(ctx, key_type, req->key, &resp->error_code, &resp->error_message, &resp->node_id,
             &resp->host, &resp->port);
    return 0;
  }
  int32_t n = req->coordinator_keys.count > 0 ? req->coordinator_keys.count : 0;
  resp->coordinators.items =
      wire_arena_alloc_array(ctx->arena, (size_t)n, sizeof(*resp->coordinators.items));
  if (n > 0 && resp->coordinators.items == NULL) return -1;
  resp->coordinators.count = n;
  for (int32_t i = 0; i < n; i++) {
    struct msg_find_coordinator_response_coordinator *c = &resp->coordinators.items[i];
    msg_find_coordinator_response_coordinator_init(c);
    c->key = req->coordinator_keys.items[i];
    if (!valid_type) {
      c->error_code = ERR_INVALID_REQUEST;
      c->error_message = unknown_type_message();
      c->node_id = -1;
      c->host = EMPTY_STR;
      c->port = -1;
      continue;
    }
    find_one(ctx, key_type, c->key, &c->error_code, &c->error_message, &c->node_id, &c->host,
             &c->port);
  }
  return 0;
}

/* ---- JoinGroup ---- */

static void join_error(struct msg_join_group_response *resp, int16_t error,
                       struct wire_str member_id) {
  resp->error_code = error;
  resp->generation_id = -1;
  resp->protocol_type = NULL_STR;
  resp->protocol_name = EMPTY_STR; /* Kafka's error answers keep the field's default "" */
  resp->leader = EMPTY_STR;
  resp->member_id = wire_str_or_empty(member_id);
}

static void join_answer(struct deferred *d, const struct group_out *o) {
  struct request_ctx *ctx = deferred_ctx(d);
  struct msg_join_group_response *resp = deferred_response(d);
  const struct group_join_response *j = &o->u.join;
  struct wire_arena *a = ctx->arena;
  int16_t v = ctx->api_version;
  resp->error_code = j->error;
  resp->generation_id = j->generation_id;
  resp->skip_assignment = j->skip_assignment;
  bool ok = wire_arena_str(a, j->protocol_type, &resp->protocol_type) &&
            wire_arena_str(a, j->protocol_name, &resp->protocol_name) &&
            wire_arena_str(a, wire_str_or_empty(j->leader), &resp->leader) &&
            wire_arena_str(a, wire_str_or_empty(j->member_id), &resp->member_id);
  if (v < 7 && resp->protocol_name.len < 0) resp->protocol_name = EMPTY_STR;
  resp->members.count = 0;
  if (ok && j->member_count > 0) {
    resp->members.items = wire_arena_alloc_array(a, j->member_count, sizeof(*resp->members.items));
    ok = resp->members.items != NULL;
    for (size_t i = 0; ok && i < j->member_count; i++) {
      struct msg_join_group_response_member *m = &resp->members.items[i];
      msg_join_group_response_member_init(m);
      ok = wire_arena_str(a, j->members[i].member_id, &m->member_id) &&
           wire_arena_str(a, j->members[i].group_instance_id, &m->group_instance_id) &&
           copy_bytes(a, j->members[i].metadata, &m->metadata);
    }
    if (ok) resp->members.count = (int32_t)j->member_count;
  }
  deferred_complete(d, !ok);
}

int handle_join_group(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_join_group_request *req = request;
  struct msg_join_group_response *resp = response;
  struct broker *b = ctx->broker;
  int16_t error = group_gate(b, req->group_id);
  if (error != ERR_NONE) {
    join_error(resp, error, req->member_id);
    return 0;
  }
  size_t n = req->protocols.count > 0 ? (size_t)req->protocols.count : 0;
  struct group_protocol *protocols =
      n > 0 ? wire_arena_alloc_array(ctx->arena, n, sizeof(*protocols)) : NULL;
  if (n > 0 && protocols == NULL) return -1;
  for (size_t i = 0; i < n; i++)
    protocols[i] =
        (struct group_protocol){req->protocols.items[i].name, req->protocols.items[i].metadata};
  struct group_join_request jr = {ctx->api_version,
                                  req->group_id,
                                  wire_str_or_empty(req->member_id),
                                  req->group_instance_id,
                                  req->session_timeout_ms,
                                  ctx->api_version >= 1 ? req->rebalance_timeout_ms : -1,
                                  wire_str_or_empty(req->protocol_type),
                                  protocols,
                                  n,
                                  wire_str_or_empty(ctx->header->client_id),
                                  client_host(ctx)};
  struct deferred *d = request_defer(ctx);
  if (d == NULL) return -1;
  uint64_t tag = groups_park(b, d, GROUP_OUT_JOIN, join_answer);
  group_join(groups_coord(b), &jr, tag, broker_now_ms(), groups_outputs(b));
  groups_run_outputs(b);
  return 0;
}

/* ---- SyncGroup ---- */

static void sync_answer(struct deferred *d, const struct group_out *o) {
  struct request_ctx *ctx = deferred_ctx(d);
  struct msg_sync_group_response *resp = deferred_response(d);
  const struct group_sync_response *s = &o->u.sync;
  struct wire_arena *a = ctx->arena;
  resp->error_code = s->error;
  bool ok = wire_arena_str(a, s->protocol_type, &resp->protocol_type) &&
            wire_arena_str(a, s->protocol_name, &resp->protocol_name) &&
            copy_bytes(a, s->assignment, &resp->assignment);
  if (resp->assignment.ptr == NULL)
    resp->assignment = (struct wire_bytes){(const uint8_t *)"", 0, NULL};
  deferred_complete(d, !ok);
}

int handle_sync_group(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_sync_group_request *req = request;
  struct msg_sync_group_response *resp = response;
  struct broker *b = ctx->broker;
  resp->assignment = (struct wire_bytes){(const uint8_t *)"", 0, NULL};
  /* SyncGroupRequest.areMandatoryProtocolTypeAndNamePresent */
  if (ctx->api_version >= 5 && (req->protocol_type.len < 0 || req->protocol_name.len < 0)) {
    resp->error_code = ERR_INCONSISTENT_GROUP_PROTOCOL;
    return 0;
  }
  int16_t error = group_gate(b, req->group_id);
  if (error != ERR_NONE) {
    resp->error_code = error;
    return 0;
  }
  size_t n = req->assignments.count > 0 ? (size_t)req->assignments.count : 0;
  struct group_assignment *as = n > 0 ? wire_arena_alloc_array(ctx->arena, n, sizeof(*as)) : NULL;
  if (n > 0 && as == NULL) return -1;
  for (size_t i = 0; i < n; i++)
    as[i] = (struct group_assignment){req->assignments.items[i].member_id,
                                      req->assignments.items[i].assignment};
  struct group_sync_request sr = {req->group_id,
                                  wire_str_or_empty(req->member_id),
                                  req->group_instance_id,
                                  req->generation_id,
                                  ctx->api_version >= 5 ? req->protocol_type : NULL_STR,
                                  ctx->api_version >= 5 ? req->protocol_name : NULL_STR,
                                  as,
                                  n};
  struct deferred *d = request_defer(ctx);
  if (d == NULL) return -1;
  uint64_t tag = groups_park(b, d, GROUP_OUT_SYNC, sync_answer);
  group_sync(groups_coord(b), &sr, tag, broker_now_ms(), groups_outputs(b));
  groups_run_outputs(b);
  return 0;
}

/* ---- Heartbeat, LeaveGroup ---- */

int handle_heartbeat(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_heartbeat_request *req = request;
  struct msg_heartbeat_response *resp = response;
  struct broker *b = ctx->broker;
  resp->error_code = group_gate(b, req->group_id);
  if (resp->error_code != ERR_NONE) return 0;
  resp->error_code = group_heartbeat(groups_coord(b), req->group_id,
                                     wire_str_or_empty(req->member_id), req->group_instance_id,
                                     req->generation_id, broker_now_ms(), groups_outputs(b));
  groups_run_outputs(b);
  return 0;
}

int handle_leave_group(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_leave_group_request *req = request;
  struct msg_leave_group_response *resp = response;
  struct broker *b = ctx->broker;
  resp->error_code = group_gate(b, req->group_id);
  if (resp->error_code != ERR_NONE) return 0;
  bool batched = ctx->api_version >= 3;
  size_t n = batched ? (req->members.count > 0 ? (size_t)req->members.count : 0) : 1;
  struct group_leaving *members = wire_arena_alloc_array(ctx->arena, n, sizeof(*members));
  int16_t *errors = wire_arena_alloc_array(ctx->arena, n, sizeof(*errors));
  if ((n > 0 && members == NULL) || (n > 0 && errors == NULL)) return -1;
  for (size_t i = 0; i < n; i++)
    members[i] = batched
                     ? (struct group_leaving){wire_str_or_empty(req->members.items[i].member_id),
                                              req->members.items[i].group_instance_id}
                     : (struct group_leaving){wire_str_or_empty(req->member_id), NULL_STR};
  int16_t top = group_leave(groups_coord(b), req->group_id, members, n, errors, broker_now_ms(),
                            groups_outputs(b));
  groups_run_outputs(b);
  resp->error_code = top;
  if (!batched) {
    if (top == ERR_NONE && n > 0) resp->error_code = errors[0];
    return 0;
  }
  if (top != ERR_NONE) return 0;
  resp->members.items = wire_arena_alloc_array(ctx->arena, n, sizeof(*resp->members.items));
  if (n > 0 && resp->members.items == NULL) return -1;
  resp->members.count = (int32_t)n;
  for (size_t i = 0; i < n; i++) {
    struct msg_leave_group_response_member_response *m = &resp->members.items[i];
    msg_leave_group_response_member_response_init(m);
    m->member_id = members[i].member_id;
    m->group_instance_id = members[i].group_instance_id;
    m->error_code = errors[i];
  }
  return 0;
}

/* ---- DescribeGroups, ListGroups ---- */

/* AclOperation bits of what a group allows (READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS,
 * ALTER_CONFIGS): without an authorizer every operation is allowed, as in Kafka. */
#define GROUP_AUTHORIZED_OPERATIONS ((1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11))

static int describe_one(struct request_ctx *ctx, bool include_ops, struct wire_str id,
                        struct msg_describe_groups_response_described_group *out) {
  struct broker *b = ctx->broker;
  msg_describe_groups_response_described_group_init(out);
  out->group_id = wire_str_or_empty(id);
  out->group_state = EMPTY_STR;
  out->protocol_type = EMPTY_STR;
  out->protocol_data = EMPTY_STR;
  out->members.count = 0;
  out->error_code = group_gate_lax(b, id);
  if (out->error_code != ERR_NONE) return 0;
  struct group_description gd;
  if (!group_describe(groups_coord(b), id, ctx->arena, &gd)) {
    if (gd.state.ptr == NULL && gd.group_id.ptr != NULL) return -1;
    out->group_state = wire_str_of("Dead");
    if (ctx->api_version < 6 && include_ops)
      out->authorized_operations = GROUP_AUTHORIZED_OPERATIONS; /* only with error NONE */
    if (ctx->api_version >= 6) {
      out->error_code = ERR_GROUP_ID_NOT_FOUND;
      char msg[300];
      snprintf(msg, sizeof(msg), "Group %.*s not found.", (int)id.len, id.ptr);
      out->error_message = dispatch_error_message(ctx->arena, msg);
    }
    return 0;
  }
  out->group_state = gd.state;
  out->protocol_type = gd.protocol_type;
  out->protocol_data = gd.protocol_data;
  out->members.items =
      wire_arena_alloc_array(ctx->arena, gd.member_count, sizeof(*out->members.items));
  if (gd.member_count > 0 && out->members.items == NULL) return -1;
  for (size_t i = 0; i < gd.member_count; i++) {
    struct msg_describe_groups_response_described_group_member *m = &out->members.items[i];
    msg_describe_groups_response_described_group_member_init(m);
    m->member_id = gd.members[i].member_id;
    m->group_instance_id = gd.members[i].group_instance_id;
    m->client_id = wire_str_or_empty(gd.members[i].client_id);
    m->client_host = wire_str_or_empty(gd.members[i].client_host);
    m->member_metadata = gd.members[i].metadata;
    m->member_assignment = gd.members[i].assignment;
  }
  out->members.count = (int32_t)gd.member_count;
  if (include_ops) out->authorized_operations = GROUP_AUTHORIZED_OPERATIONS;
  return 0;
}

int handle_describe_groups(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_describe_groups_request *req = request;
  struct msg_describe_groups_response *resp = response;
  int32_t n = req->groups.count > 0 ? req->groups.count : 0;
  resp->groups.items = wire_arena_alloc_array(ctx->arena, (size_t)n, sizeof(*resp->groups.items));
  if (n > 0 && resp->groups.items == NULL) return -1;
  resp->groups.count = n;
  bool include_ops = ctx->api_version >= 3 && req->include_authorized_operations;
  for (int32_t i = 0; i < n; i++)
    if (describe_one(ctx, include_ops, req->groups.items[i], &resp->groups.items[i]) != 0)
      return -1;
  return 0;
}

int handle_list_groups(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_list_groups_request *req = request;
  struct msg_list_groups_response *resp = response;
  struct broker *b = ctx->broker;
  resp->groups.count = 0;
  if (b->groups == NULL) {
    resp->error_code = ERR_COORDINATOR_NOT_AVAILABLE;
    return 0;
  }
  /* Kafka lists what the loaded partitions hold, with the error of one still loading */
  resp->error_code = groups_loading(b);
  size_t states =
      ctx->api_version >= 4 && req->states_filter.count > 0 ? (size_t)req->states_filter.count : 0;
  size_t types =
      ctx->api_version >= 5 && req->types_filter.count > 0 ? (size_t)req->types_filter.count : 0;
  struct group_listed *items = NULL;
  size_t count = 0;
  if (group_list(groups_coord(b), req->states_filter.items, states, req->types_filter.items, types,
                 ctx->arena, &items, &count) != 0)
    return -1;
  resp->groups.items = wire_arena_alloc_array(ctx->arena, count, sizeof(*resp->groups.items));
  if (count > 0 && resp->groups.items == NULL) return -1;
  for (size_t i = 0; i < count; i++) {
    struct msg_list_groups_response_listed_group *l = &resp->groups.items[i];
    msg_list_groups_response_listed_group_init(l);
    l->group_id = items[i].group_id;
    l->protocol_type = wire_str_or_empty(items[i].protocol_type);
    l->group_state = items[i].state;
    l->group_type = items[i].type;
  }
  resp->groups.count = (int32_t)count;
  return 0;
}

/* ---- DeleteGroups ---- */

struct delete_op {
  struct deferred *d;
  struct msg_delete_groups_response *resp;
  size_t writes; /* tombstone writes not yet committed (+1 while the handler runs) */
};

struct delete_slot {
  struct delete_op *op;
  int32_t index;
};

static void delete_written(void *arg, struct broker *b, int16_t error) {
  struct delete_slot *slot = arg;
  struct delete_op *op = slot->op;
  (void)b;
  if (error != ERR_NONE) op->resp->results.items[slot->index].error_code = error;
  if (--op->writes == 0) deferred_complete(op->d, false);
}

struct tombstones {
  struct batch_builder bb;
  struct wire_str group;
  bool failed;
};

static void tombstone_offset(void *arg, struct wire_str topic, int32_t partition) {
  struct tombstones *t = arg;
  if (groups_add_offset_record(&t->bb, t->group, topic, partition, NULL, broker_now_ms()) != 0)
    t->failed = true;
}

/* Deletes one group (Empty or gone), writing the tombstones of its offsets and metadata. */
static int16_t delete_one(struct request_ctx *ctx, struct delete_op *op, struct delete_slot *slot,
                          struct wire_str id) {
  struct broker *b = ctx->broker;
  int16_t error = group_gate_lax(b, id);
  if (error == ERR_NONE) error = group_delete(groups_coord(b), id);
  if (error != ERR_NONE) return error;
  struct tombstones t = {{0}, id, false};
  batch_builder_init(&t.bb, 0, -1, -1, -1);
  group_offsets_delete_group(groups_offsets(b), id, tombstone_offset, &t);
  if (groups_add_group_tombstone(&t.bb, id, broker_now_ms()) != 0) t.failed = true;
  if (op->d == NULL) op->d = request_defer(ctx);
  if (op->d == NULL || t.failed)
    error = ERR_UNKNOWN_SERVER_ERROR; /* the group is gone from memory all the same */
  else
    error = groups_write(b, id, &t.bb, delete_written, slot);
  batch_builder_free(&t.bb);
  if (error == ERR_NONE) op->writes++;
  return error;
}

int handle_delete_groups(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_delete_groups_request *req = request;
  struct msg_delete_groups_response *resp = response;
  int32_t n = req->groups_names.count > 0 ? req->groups_names.count : 0;
  struct delete_op *op = wire_arena_alloc(ctx->arena, sizeof(*op));
  struct delete_slot *slots = wire_arena_alloc_array(ctx->arena, (size_t)n, sizeof(*slots));
  resp->results.items = wire_arena_alloc_array(ctx->arena, (size_t)n, sizeof(*resp->results.items));
  if (op == NULL || (n > 0 && (slots == NULL || resp->results.items == NULL))) return -1;
  *op = (struct delete_op){NULL, resp, 1};
  /* one result per distinct group, in first-seen order (Kafka's .distinct) */
  int32_t count = 0;
  resp->results.count = 0;
  for (int32_t i = 0; i < n; i++) {
    struct wire_str id = req->groups_names.items[i];
    bool seen = false;
    for (int32_t j = 0; j < count && !seen; j++)
      seen = wire_str_same(resp->results.items[j].group_id, wire_str_or_empty(id));
    if (seen) continue;
    struct msg_delete_groups_response_deletable_group_result *r = &resp->results.items[count];
    msg_delete_groups_response_deletable_group_result_init(r);
    r->group_id = wire_str_or_empty(id);
    slots[count] = (struct delete_slot){op, count};
    resp->results.count = ++count;
    r->error_code = delete_one(ctx, op, &slots[count - 1], id);
  }
  if (op->d != NULL && --op->writes == 0) deferred_complete(op->d, false);
  return 0;
}
