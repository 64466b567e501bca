/* Request dispatch; see dispatch.h.
 *
 * Header versions follow the API's flexibility: request header v2 and response header v1 in
 * flexible versions, v1/v0 otherwise; ApiVersions responses always use response header v0 so that
 * a client can read them before it knows what the broker speaks. An ApiVersions request of a
 * version the broker does not know is answered at v0 with UNSUPPORTED_VERSION and ApiVersions' own
 * range (KIP-511), so the client can retry with a version both sides speak. */
#include "dispatch.h"

#include <string.h>

#include "errors.h"
#include "log.h"

/* In API key order. */
static const struct handler handlers[] = {
    {MSG_API_PRODUCE, 0, 13, handle_produce},
    {MSG_API_FETCH, 4, 18, handle_fetch},
    {MSG_API_LIST_OFFSETS, 1, 11, handle_list_offsets},
    {MSG_API_METADATA, 0, 13, handle_metadata},
    {MSG_API_OFFSET_COMMIT, 2, 10, handle_offset_commit},
    {MSG_API_OFFSET_FETCH, 1, 10, handle_offset_fetch},
    {MSG_API_FIND_COORDINATOR, 0, 6, handle_find_coordinator},
    {MSG_API_JOIN_GROUP, 0, 9, handle_join_group},
    {MSG_API_HEARTBEAT, 0, 4, handle_heartbeat},
    {MSG_API_LEAVE_GROUP, 0, 5, handle_leave_group},
    {MSG_API_SYNC_GROUP, 0, 5, handle_sync_group},
    {MSG_API_DESCRIBE_GROUPS, 0, 6, handle_describe_groups},
    {MSG_API_LIST_GROUPS, 0, 5, handle_list_groups},
    {MSG_API_API_VERSIONS, 0, 4, handle_api_versions},
    {MSG_API_CREATE_TOPICS, 2, 7, handle_create_topics},
    {MSG_API_DELETE_TOPICS, 1, 6, handle_delete_topics},
    {MSG_API_DELETE_RECORDS, 0, 2, handle_delete_records},
    {MSG_API_INIT_PRODUCER_ID, 0, 5, handle_init_producer_id},
    {MSG_API_OFFSET_FOR_LEADER_EPOCH, 2, 4, handle_offset_for_leader_epoch},
    {MSG_API_DESCRIBE_CONFIGS, 1, 4, handle_describe_configs},
    {MSG_API_ALTER_CONFIGS, 0, 2, handle_alter_configs},
    {MSG_API_DESCRIBE_LOG_DIRS, 1, 5, handle_describe_log_dirs},
    {MSG_API_CREATE_PARTITIONS, 0, 3, handle_create_partitions},
    {MSG_API_DELETE_GROUPS, 0, 2, handle_delete_groups},
    {MSG_API_INCREMENTAL_ALTER_CONFIGS, 0, 1, handle_incremental_alter_configs},
    {MSG_API_OFFSET_DELETE, 0, 0, handle_offset_delete},
    {MSG_API_DESCRIBE_CLUSTER, 0, 2, handle_describe_cluster},
    {MSG_API_LIST_CONFIG_RESOURCES, 0, 1, handle_list_config_resources},
    {MSG_API_DESCRIBE_TOPIC_PARTITIONS, 0, 0, handle_describe_topic_partitions},
};

const struct handler *dispatch_handlers(size_t *count) {
  *count = sizeof(handlers) / sizeof(handlers[0]);
  return handlers;
}

const struct handler *dispatch_handler(int16_t key) {
  for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
    if (handlers[i].key == key) return &handlers[i];
  return NULL;
}

struct request_files {
  struct wire_file_range **items;
  size_t count, capacity;
  uint64_t bytes;
};

/* Encodes length + response header + body into one arena buffer, leaving out the bytes of the
 * files attached to the request (files->bytes of them): out->splices says where they go. */
static int encode_response(const struct msg_api *api, int16_t version, int16_t header_version,
                           int32_t correlation_id, const void *response, struct wire_arena *arena,
                           struct request_files *files, struct response *out) {
  struct msg_response_header rh;
  msg_response_header_init(&rh);
  rh.correlation_id = correlation_id;
  size_t body_size = api->response.size(response, version);
  size_t size = 4 + msg_response_header_size(&rh, header_version) + body_size;
  uint64_t external = files != NULL ? files->bytes : 0;
  if (size - 4 > INT32_MAX || external > size) return WIRE_ELIMIT;
  uint8_t *buf = wire_arena_alloc(arena, size - external);
  struct wire_splices *splices = wire_arena_alloc(arena, sizeof(*splices));
  if (buf == NULL || splices == NULL) return WIRE_ELIMIT;
  splices->arena = arena;
  struct wire_writer w = {buf, buf + size - external, WIRE_OK, files != NULL ? splices : NULL};
  wire_write_i32(&w, (int32_t)(size - 4));
  int rc = msg_response_header_encode(&rh, &w, header_version);
  if (rc == WIRE_OK) rc = api->response.encode(response, &w, version);
  /* size() and encode() disagree, or a file range was attached but not used */
  if (rc == WIRE_OK && w.p != buf + size - external) rc = WIRE_EINVALID;
  if (rc != WIRE_OK) return rc;
  out->data = buf;
  out->size = size - external;
  out->splices = splices->count > 0 ? splices : NULL;
  out->files = files;
  return WIRE_OK;
}

/* ---- file ranges ---- */

int request_file_bytes(struct request_ctx *ctx, int fd, uint64_t position, uint32_t size,
                       void (*release)(void *arg), void *arg, struct wire_bytes *out) {
  struct request_files *f = ctx->files;
  if (f == NULL && (f = ctx->files = wire_arena_alloc(ctx->arena, sizeof(*f))) == NULL) goto fail;
  if (f->count == f->capacity) {
    size_t cap = f->capacity ? f->capacity * 2 : 16;
    struct wire_file_range **items = wire_arena_alloc_array(ctx->arena, cap, sizeof(*items));
    if (items == NULL) goto fail;
    if (f->count > 0) memcpy(items, f->items, f->count * sizeof(*items));
    f->items = items;
    f->capacity = cap;
  }
  struct wire_file_range *r = wire_arena_alloc(ctx->arena, sizeof(*r));
  if (r == NULL) goto fail;
  *r = (struct wire_file_range){fd, position, size, release, arg};
  f->items[f->count++] = r;
  f->bytes += size;
  *out = (struct wire_bytes){NULL, (int32_t)size, r};
  return 0;
fail:
  release(arg);
  return -1;
}

struct wire_file_range *response_file_find(struct request_files *files,
                                           const struct wire_file_range *range) {
  for (size_t i = 0; files != NULL && i < files->count; i++)
    if (files->items[i] == range) return files->items[i];
  return NULL;
}

void response_files_release(struct request_files *files) {
  for (size_t i = 0; files != NULL && i < files->count; i++) {
    struct wire_file_range *r = files->items[i];
    if (r->release != NULL) r->release(r->release_arg);
    r->release = NULL;
  }
}

static enum dispatch_result answer_unsupported_api_versions(const struct msg_api *api,
                                                            int32_t correlation_id,
                                                            struct wire_arena *arena,
                                                            struct response *out) {
  struct msg_api_versions_response resp;
  msg_api_versions_response_init(&resp);
  resp.error_code = ERR_UNSUPPORTED_VERSION;
  struct msg_api_versions_response_api_version own;
  msg_api_versions_response_api_version_init(&own);
  own.api_key = api->key;
  own.min_version = api->min_version;
  own.max_version = dispatch_handler(api->key)->max_version;
  resp.api_keys.count = 1;
  resp.api_keys.items = &own;
  if (encode_response(api, 0, 0, correlation_id, &resp, arena, NULL, out) != WIRE_OK)
    return DISPATCH_CLOSE;
  return DISPATCH_RESPOND;
}

struct deferred {
  struct request_ctx ctx;
  struct msg_request_header header; /* ctx.header points here */
  const struct msg_api *api;
  void *response;
  deferred_done_fn *done; /* NULL while the handler still runs */
  void *done_arg;
  bool completed, close; /* completed before the handler returned */
};

/* The response frame of a handled request, logged. On an encoding failure (then close) the
 * request's files are released here. */
static enum dispatch_result respond(const struct msg_api *api, const struct request_ctx *ctx,
                                    const void *response, struct response *out) {
  int16_t version = ctx->api_version;
  int16_t response_header_version =
      api->key != MSG_API_API_VERSIONS && msg_api_flexible(api, version) ? 1 : 0;
  int rc = encode_response(api, version, response_header_version, ctx->header->correlation_id,
                           response, ctx->arena, ctx->files, out);
  if (rc != WIRE_OK) {
    log_error("net", "closing: cannot encode %s v%d response: %s", api->name, version,
              wire_status_name(rc));
    response_files_release(ctx->files);
    return DISPATCH_CLOSE;
  }
  log_debug("net", "%s v%d correlation %d answered with %zu bytes (+%llu from files)", api->name,
            version, ctx->header->correlation_id, out->size,
            (unsigned long long)(ctx->files != NULL ? ctx->files->bytes : 0));
  return DISPATCH_RESPOND;
}

enum dispatch_result dispatch_request(struct broker *broker, const char *listener,
                                      const char *client_ip, const uint8_t *frame,
                                      size_t frame_size, struct wire_arena *arena,
                                      struct response *out, struct deferred **deferred) {
  struct wire_reader r = {frame, frame + frame_size, arena};
  int16_t key, version;
  *deferred = NULL;
  if (frame_size < 4) {
    log_warn("net", "closing: a %zu-byte frame is too short for a request header", frame_size);
    return DISPATCH_CLOSE;
  }
  key = (int16_t)((frame[0] << 8) | frame[1]);
  version = (int16_t)((frame[2] << 8) | frame[3]);

  const struct msg_api *api = msg_api_find(key);
  const struct handler *h = dispatch_handler(key);
  if (api == NULL || h == NULL) {
    log_warn("net", "closing: request for API key %d, which this broker does not serve", key);
    return DISPATCH_CLOSE;
  }
  bool future_api_versions = key == MSG_API_API_VERSIONS && version > h->max_version;
  int16_t header_version = future_api_versions || msg_api_flexible(api, version) ? 2 : 1;
  struct msg_request_header header;
  int rc = msg_request_header_decode(&header, &r, header_version);
  if (rc != WIRE_OK) {
    log_warn("net", "closing: bad request header for %s v%d: %s", api->name, version,
             wire_status_name(rc));
    return DISPATCH_CLOSE;
  }
  if (future_api_versions)
    return answer_unsupported_api_versions(api, header.correlation_id, arena, out);
  if (version < h->min_version || version > h->max_version) {
    log_warn("net", "closing: %s v%d is not supported (client %.*s)", api->name, version,
             header.client_id.len > 0 ? header.client_id.len : 0,
             header.client_id.len > 0 ? header.client_id.ptr : "");
    return DISPATCH_CLOSE;
  }

  void *request = wire_arena_alloc(arena, api->request.struct_size);
  void *response = wire_arena_alloc(arena, api->response.struct_size);
  if (request == NULL || response == NULL) return DISPATCH_CLOSE;
  rc = api->request.decode(request, &r, version);
  if (rc != WIRE_OK) {
    log_warn("net", "closing: cannot decode %s v%d request: %s", api->name, version,
             wire_status_name(rc));
    return DISPATCH_CLOSE;
  }
  api->response.init(response);
  /* The decode is bounded by the frame; what a handler answers is bounded by its own limits
   * (fetch sizes, partition counts), so the response may use the arena's absolute cap. */
  if (arena->limit < DISPATCH_RESPONSE_ARENA_MAX) arena->limit = DISPATCH_RESPONSE_ARENA_MAX;
  struct request_ctx ctx = {broker, listener, client_ip, &header, version,
                            arena,  NULL,     NULL,      false,   response};
  if (h->fn(&ctx, request, response) != 0) {
    if (ctx.deferred != NULL) log_error("net", "%s handler deferred and failed", api->name);
    response_files_release(ctx.files);
    return DISPATCH_CLOSE;
  }
  if (ctx.deferred != NULL) {
    struct deferred *d = ctx.deferred;
    if (d->completed) { /* it needed no wait after all: answer now */
      if (d->close) {
        response_files_release(d->ctx.files);
        return DISPATCH_CLOSE;
      }
      return respond(api, &d->ctx, response, out);
    }
    d->api = api;
    *deferred = d;
    return DISPATCH_DEFERRED;
  }
  if (ctx.no_response) {
    response_files_release(ctx.files);
    return DISPATCH_NONE;
  }
  return respond(api, &ctx, response, out);
}

struct wire_str dispatch_error_message(struct wire_arena *arena, const char *msg) {
  return wire_str_of(msg[0] != '\0' ? wire_arena_strdup(arena, msg) : NULL);
}

struct deferred *request_defer(struct request_ctx *ctx) {
  struct deferred *d = wire_arena_alloc(ctx->arena, sizeof(*d));
  if (d == NULL) return NULL;
  d->header = *ctx->header;
  d->ctx = *ctx;
  d->ctx.header = &d->header;
  d->ctx.deferred = d;
  d->response = ctx->response;
  ctx->deferred = d;
  return d;
}

struct request_ctx *deferred_ctx(struct deferred *d) {
  return &d->ctx;
}
void *deferred_response(struct deferred *d) { return d->response; }

void deferred_on_done(struct deferred *d, deferred_done_fn *fn, void *arg) {
  d->done = fn;
  d->done_arg = arg;
}

void deferred_complete(struct deferred *d, bool close) {
  if (d->done == NULL) { /* still inside the handler: dispatch_request answers */
    d->completed = true;
    d->close = close;
    return;
  }
  struct response out;
  bool ok = false;
  if (close)
    response_files_release(d->ctx.files);
  else
    ok = respond(d->api, &d->ctx, d->response, &out) == DISPATCH_RESPOND;
  d->done(d->done_arg, ok ? &out : NULL); /* frees the arena, and d with it */
}
