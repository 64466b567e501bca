/* Request dispatch: the handler table and the processing of one request frame.
 *
 * A frame (without its 4-byte length) goes through dispatch_request, which parses the request
 * header, decodes the body with the generated codec, runs the handler and encodes the response
 * (4-byte length, response header, body) into a buffer from the request's arena. Requests the
 * broker must not answer (unknown API, unsupported version, undecodable input) end with
 * DISPATCH_CLOSE: the connection is closed, as Apache Kafka does. */
#ifndef QUIRE_BROKER_DISPATCH_H
#define QUIRE_BROKER_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "broker.h"
#include "messages.h"

struct request_ctx {
  struct broker *broker;
  const char *listener; /* name of the listener the request came in on */
  const struct msg_request_header *header;
  int16_t api_version;
  struct wire_arena *arena;
};

/* A handler fills response (already initialised to its defaults) from request. Returns 0, or -1
 * to close the connection instead of answering. */
typedef int handler_fn(struct request_ctx *ctx, const void *request, void *response);

struct handler {
  int16_t key;
  int16_t min_version, max_version; /* what the handler serves, within the codec's range */
  handler_fn *fn;
};

/* The handler of an API key, or NULL. */
const struct handler *dispatch_handler(int16_t key);
/* The handler table in API key order, for ApiVersions. */
const struct handler *dispatch_handlers(size_t *count);

enum dispatch_result { DISPATCH_RESPOND, DISPATCH_CLOSE };

/* On DISPATCH_RESPOND, out and out_size hold the whole response frame, allocated from arena. */
enum dispatch_result dispatch_request(struct broker *broker, const char *listener,
                                      const uint8_t *frame, size_t frame_size,
                                      struct wire_arena *arena, const uint8_t **out,
                                      size_t *out_size);

handler_fn handle_api_versions;
handler_fn handle_metadata;

#endif
