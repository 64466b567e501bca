/* libFuzzer target over request dispatch: the input is one request frame without its 4-byte
 * length (request header + body), handed to dispatch_request() of a broker built from the
 * configuration defaults, as a server with no properties file would build it.
 *
 * Oracles, besides ASan/UBSan/LeakSanitizer:
 * - a response is a whole frame: its length prefix matches, its response header (v0 for
 *   ApiVersions, v1 in flexible versions, else v0) carries the request's correlation id, and its
 *   body decodes with the response codec of the same API and version (v0 for the KIP-511 answer
 *   to a future ApiVersions), consuming every byte, and encodes back to the same bytes;
 * - a request that the harness itself can decode (served API and version, request header, body)
 *   is answered, not closed: closing it would mean the broker failed to encode its answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"

#define FUZZ_ARENA_LIMIT (16u << 20)
#define FUZZ_LISTENER "PLAINTEXT"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The process-wide broker of the fuzzer; reachable, so never reported as a leak. */
static struct config fuzz_cfg;
static struct broker fuzz_broker;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  char err[512];
  (void)argc;
  (void)argv;
  log_set_level(LOG_ERROR); /* every refused frame logs a warning: too slow and too loud */
  if (config_load(&fuzz_cfg, NULL, NULL, 0, err, sizeof(err)) != 0) {
    fprintf(stderr, "fuzz_request_frame: config_load: %s\n", err);
    abort();
  }
  fuzz_broker.cfg = &fuzz_cfg;
  fuzz_broker.meta.node_id = fuzz_cfg.node_id;
  snprintf(fuzz_broker.meta.cluster_id, sizeof(fuzz_broker.meta.cluster_id), "%s",
           "MkU3OEVBNTcwNTJENDM2Qg");
  snprintf(fuzz_broker.meta.directory_id, sizeof(fuzz_broker.meta.directory_id), "%s",
           "AAAAAAAAAAAAAAAAAAAAAQ");
  image_init(&fuzz_broker.image, fuzz_broker.meta.cluster_id,
             fuzz_cfg.role_controller ? fuzz_cfg.node_id : -1);
  /* This broker as the server registers it (server.c register_self), without sockets. */
  struct image_broker self;
  memset(&self, 0, sizeof(self));
  self.node_id = fuzz_cfg.node_id;
  for (int i = 0; i < fuzz_cfg.advertised_count && self.endpoint_count < IMAGE_ENDPOINTS_MAX; i++) {
    const struct config_listener *adv = &fuzz_cfg.advertised[i];
    struct image_endpoint *ep = &self.endpoints[self.endpoint_count++];
    snprintf(ep->listener, sizeof(ep->listener), "%s", adv->name);
    snprintf(ep->host, sizeof(ep->host), "%s", adv->host[0] ? adv->host : "localhost");
    ep->port = adv->port;
  }
  if (image_broker_put(&fuzz_broker.image, &self) != 0) abort();
  return 0;
}

static void fuzz_fail(const char *what, int16_t key, int16_t version, int rc) {
  const struct msg_api *api = msg_api_find(key);
  fprintf(stderr, "fuzz_request_frame: %s v%d: %s (%s)\n", api ? api->name : "?", version, what,
          wire_status_name(rc));
  abort();
}

static int32_t read_be32(const uint8_t *p) {
  return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
                   (uint32_t)p[3]);
}

/* The request as the harness decodes it on its own (a served API and version, a request header
 * and a body), or NULL. The broker must answer such a request. */
static void *request_decode(const struct msg_api *api, const struct handler *h, int16_t version,
                            const uint8_t *data, size_t size, struct wire_arena *arena) {
  if (version < h->min_version || version > h->max_version) return NULL;
  struct wire_reader r = {data, data + size, arena};
  struct msg_request_header header;
  if (msg_request_header_decode(&header, &r, msg_api_flexible(api, version) ? 2 : 1) != WIRE_OK)
    return NULL;
  void *request = wire_arena_alloc(arena, api->request.struct_size);
  if (request == NULL || api->request.decode(request, &r, version) != WIRE_OK) return NULL;
  return request;
}

/* Kafka answers a Produce with acks=0 by silence, or by closing the connection on an error. */
static int unanswered_by_design(int16_t key, const void *request) {
  return key == MSG_API_PRODUCE && ((const struct msg_produce_request *)request)->acks == 0;
}

static void check_response(const struct msg_api *api, const struct handler *h, int16_t key,
                           int16_t version, int32_t correlation_id, const uint8_t *out,
                           size_t out_size, struct wire_arena *arena) {
  if (api == NULL || h == NULL)
    fuzz_fail("answered an API the broker does not serve", key, version, 0);
  bool future_api_versions = key == MSG_API_API_VERSIONS && version > h->max_version;
  if (!future_api_versions && (version < h->min_version || version > h->max_version))
    fuzz_fail("answered a version the handler does not serve", key, version, 0);
  int16_t response_version = future_api_versions ? 0 : version;
  int16_t header_version =
      key != MSG_API_API_VERSIONS && msg_api_flexible(api, response_version) ? 1 : 0;

  if (out_size < 4 || (size_t)read_be32(out) != out_size - 4)
    fuzz_fail("response length prefix does not match the frame", key, version, 0);
  struct wire_reader r = {out + 4, out + out_size, arena};
  struct msg_response_header rh;
  int rc = msg_response_header_decode(&rh, &r, header_version);
  if (rc != WIRE_OK) fuzz_fail("response header does not decode", key, version, rc);
  if (rh.correlation_id != correlation_id)
    fuzz_fail("response carries another correlation id", key, version, 0);
  const uint8_t *body = r.p;
  void *resp = wire_arena_alloc(arena, api->response.struct_size);
  if (resp == NULL) abort();
  rc = api->response.decode(resp, &r, response_version);
  if (rc != WIRE_OK) fuzz_fail("response body does not decode", key, version, rc);
  if (r.p != r.end) fuzz_fail("response body leaves bytes after it", key, version, 0);

  size_t body_size = (size_t)(r.end - body);
  if (api->response.size(resp, response_version) != body_size)
    fuzz_fail("decoded response has another size()", key, version, 0);
  uint8_t *again = wire_arena_alloc(arena, body_size ? body_size : 1);
  if (again == NULL) abort();
  struct wire_writer w = {again, again + body_size, WIRE_OK, NULL};
  rc = api->response.encode(resp, &w, response_version);
  if (rc != WIRE_OK || w.p != again + body_size || memcmp(again, body, body_size) != 0)
    fuzz_fail("response body does not encode back to the same bytes", key, version, rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct wire_arena arena, check_arena;
  wire_arena_init(&arena, FUZZ_ARENA_LIMIT);
  wire_arena_init(&check_arena, FUZZ_ARENA_LIMIT);
  struct response out;
  struct deferred *deferred = NULL;
  enum dispatch_result res =
      dispatch_request(&fuzz_broker, FUZZ_LISTENER, "127.0.0.1", data, size, &arena, &out, &deferred);
  /* The fuzz broker has no controller or logs: every handler answers at once, from memory. */
  if (res == DISPATCH_DEFERRED) fuzz_fail("deferred a request", 0, 0, 0);
  if (res == DISPATCH_RESPOND && out.files != NULL) fuzz_fail("answered with file bytes", 0, 0, 0);

  if (size >= 4) {
    int16_t key = (int16_t)((data[0] << 8) | data[1]);
    int16_t version = (int16_t)((data[2] << 8) | data[3]);
    const struct msg_api *api = msg_api_find(key);
    const struct handler *h = dispatch_handler(key);
    if (res == DISPATCH_RESPOND) {
      /* Every request header version starts with key, version and correlation id. */
      if (size < 8) fuzz_fail("answered a frame too short for a correlation id", key, version, 0);
      check_response(api, h, key, version, read_be32(data + 4), out.data, out.size, &check_arena);
    } else if (api != NULL && h != NULL) {
      void *request = request_decode(api, h, version, data, size, &check_arena);
      if (request != NULL && !unanswered_by_design(key, request))
        fuzz_fail(res == DISPATCH_NONE ? "did not answer a request it can decode"
                                       : "closed the connection on a request it can decode",
                  key, version, 0);
    }
  } else if (res != DISPATCH_CLOSE) {
    fuzz_fail("answered a frame shorter than a request header", 0, 0, 0);
  }
  wire_arena_free(&check_arena);
  wire_arena_free(&arena);
  return 0;
}
