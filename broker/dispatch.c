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
    {MSG_API_METADATA, 0, 13, handle_metadata},
    {MSG_API_API_VERSIONS, 0, 4, handle_api_versions},
    {MSG_API_CREATE_TOPICS, 2, 7, handle_create_topics},
    {MSG_API_DELETE_TOPICS, 1, 6, handle_delete_topics},
    {MSG_API_DESCRIBE_CONFIGS, 1, 4, handle_describe_configs},
    {MSG_API_ALTER_CONFIGS, 0, 2, handle_alter_configs},
    {MSG_API_DESCRIBE_LOG_DIRS, 1, 5, handle_describe_log_dirs},
    {MSG_API_CREATE_PARTITIONS, 0, 3, handle_create_partitions},
    {MSG_API_INCREMENTAL_ALTER_CONFIGS, 0, 1, handle_incremental_alter_configs},
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

/* Encodes length + response header + body into one arena buffer. */
static int encode_response(const struct msg_api *api, int16_t version, int16_t header_version,
                           int32_t correlation_id, const void *response, struct wire_arena *arena,
                           const uint8_t **out, size_t *out_size) {
  struct msg_response_header rh;
  msg_response_header_init(&rh);
  rh.correlation_id = correlation_id;
  size_t body_size = api->response.size(response, version);
  size_t size = 4 + msg_response_header_size(&rh, header_version) + body_size;
  if (size - 4 > INT32_MAX) return WIRE_ELIMIT;
  uint8_t *buf = wire_arena_alloc(arena, size);
  if (buf == NULL) return WIRE_ELIMIT;
  struct wire_writer w = {buf, buf + size, WIRE_OK};
  wire_write_i32(&w, (int32_t)(size - 4));
  int rc = msg_response_header_encode(&rh, &w, header_version);
  if (rc == WIRE_OK) rc = api->response.encode(response, &w, version);
  if (rc == WIRE_OK && w.p != buf + size) rc = WIRE_EINVALID; /* size() and encode() disagree */
  if (rc != WIRE_OK) return rc;
  *out = buf;
  *out_size = size;
  return WIRE_OK;
}

static enum dispatch_result answer_unsupported_api_versions(const struct msg_api *api,
                                                            int32_t correlation_id,
                                                            struct wire_arena *arena,
                                                            const uint8_t **out, size_t *out_size) {
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
  if (encode_response(api, 0, 0, correlation_id, &resp, arena, out, out_size) != WIRE_OK)
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

/* The response frame of a handled request, logged; NULL on an encoding failure (then close). */
static enum dispatch_result respond(const struct msg_api *api, const struct request_ctx *ctx,
                                    const void *response, const uint8_t **out, size_t *out_size) {
  int16_t version = ctx->api_version;
  int16_t response_header_version =
      api->key != MSG_API_API_VERSIONS && msg_api_flexible(api, version) ? 1 : 0;
  int rc = encode_response(api, version, response_header_version, ctx->header->correlation_id,
                           response, ctx->arena, out, out_size);
  if (rc != WIRE_OK) {
    log_error("net", "closing: cannot encode %s v%d response: %s", api->name, version,
              wire_status_name(rc));
    return DISPATCH_CLOSE;
  }
  log_debug("net", "%s v%d correlation %d answered with %zu bytes", api->name, version,
            ctx->header->correlation_id, *out_size);
  return DISPATCH_RESPOND;
}

enum dispatch_result dispatch_request(struct broker *broker, const char *listener,
                                      const uint8_t *frame, size_t frame_size,
                                      struct wire_arena *arena, const uint8_t **out,
                                      size_t *out_size, struct deferred **deferred) {
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
    return answer_unsupported_api_versions(api, header.correlation_id, arena, out, out_size);
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
  struct request_ctx ctx = {broker, listener, &header, version, arena, NULL};
  if (h->fn(&ctx, request, response) != 0) {
    if (ctx.deferred != NULL) log_error("net", "%s handler deferred and failed", api->name);
    return DISPATCH_CLOSE;
  }
  if (ctx.deferred != NULL) {
    struct deferred *d = ctx.deferred;
    if (d->completed) { /* it needed no wait after all: answer now */
      if (d->close) return DISPATCH_CLOSE;
      return respond(api, &d->ctx, response, out, out_size);
    }
    d->api = api;
    d->response = response;
    *deferred = d;
    return DISPATCH_DEFERRED;
  }
  return respond(api, &ctx, response, out, out_size);
}

struct deferred *request_defer(struct request_ctx *ctx) {
  struct deferred *d = wire_arena_alloc(ctx->arena, sizeof(*d));
  if (d == NULL) return NULL;
  d->header = *ctx->header;
  d->ctx = *ctx;
  d->ctx.header = &d->header;
  d->ctx.deferred = d;
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
  const uint8_t *out = NULL;
  size_t out_size = 0;
  if (!close && respond(d->api, &d->ctx, d->response, &out, &out_size) != DISPATCH_RESPOND)
    out = NULL;
  d->done(d->done_arg, out, out_size); /* frees the arena, and d with it */
}
