/* Request dispatch: the handler table and the processing of one request frame.
 *
 * A frame (without its 4-byte length) goes through dispatch_request, which parses the request
 * header, decodes the body with the generated codec, runs the handler and encodes the response
 * (4-byte length, response header, body) into a buffer from the request's arena. Requests the
 * broker must not answer (unknown API, unsupported version, undecodable input) end with
 * DISPATCH_CLOSE: the connection is closed, as Apache Kafka does. */
#ifndef QUIRE_BROKER_DISPATCH_H
#define QUIRE_BROKER_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker.h"
#include "messages.h"

struct request_ctx {
  struct broker *broker;
  const char *listener;  /* name of the listener the request came in on */
  const char *client_ip; /* the peer's address ("127.0.0.1") */
  const struct msg_request_header *header;
  int16_t api_version;
  struct wire_arena *arena;
  struct deferred *deferred;   /* set by request_defer */
  struct request_files *files; /* set by request_file_bytes */
  bool no_response;            /* set by the handler: nothing is sent (Produce with acks=0) */
  void *response;              /* the response the handler fills */
};

/* A response frame to send: data (from the request's arena) with the bytes of files spliced in
 * where splices says (zero-copy), in order. The sender owns files from then on: it releases
 * each once its bytes are sent (or the connection is gone): response_files_release does it for
 * every range not handed to the network. */
struct request_files;
struct response {
  const uint8_t *data;
  size_t size;
  const struct wire_splices *splices; /* NULL: none */
  struct request_files *files;        /* NULL: none */
};
void response_files_release(struct request_files *files);
/* The (writable) range of files that a splice names, or NULL. */
struct wire_file_range *response_file_find(struct request_files *files,
                                           const struct wire_file_range *range);

/* Bytes of a file that the response carries without copying (a Fetch's records): *out is the
 * value for the response's records field. release(arg) runs exactly once, after the bytes were
 * sent or when the response is dropped; it also runs at once when this fails (-1: out of
 * arena). The fd must stay valid until then. */
int request_file_bytes(struct request_ctx *ctx, int fd, uint64_t position, uint32_t size,
                       void (*release)(void *arg), void *arg, struct wire_bytes *out);

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

enum dispatch_result { DISPATCH_RESPOND, DISPATCH_CLOSE, DISPATCH_DEFERRED, DISPATCH_NONE };

/* The arena cap once a request is decoded: room for the response. */
#define DISPATCH_RESPONSE_ARENA_MAX ((size_t)64 << 20)

/* On DISPATCH_RESPOND, out holds the response frame (allocated from arena, plus file ranges).
 * On DISPATCH_DEFERRED, *deferred is the request the handler will answer later: the caller keeps
 * the frame and the arena alive, reads nothing else from the connection meanwhile (responses
 * leave in request order, as Kafka's muted channels do), and registers with deferred_on_done
 * where the answer goes. */
enum dispatch_result dispatch_request(struct broker *broker, const char *listener,
                                      const char *client_ip, const uint8_t *frame,
                                      size_t frame_size, struct wire_arena *arena,
                                      struct response *out, struct deferred **deferred);

/* An error message for a response: a copy in the arena, or null when msg is empty (or the arena
 * is full: the error code still goes out). */
struct wire_str dispatch_error_message(struct wire_arena *arena, const char *msg);

/* ---- answering later ----
 * A handler that must wait (a metadata write becoming durable, a long-poll fetch, an acks=all
 * produce) calls request_defer and returns 0. The request, its frame, the arena and the response
 * stay valid until the handler calls deferred_complete (exactly once), on the event loop. The
 * deferred lives in the request's arena: after deferred_complete it is gone. Completing before
 * the handler returns (nothing to wait for after all) is allowed: the answer then leaves at once.
 */
struct deferred;
/* Defers ctx's request; NULL when the arena is exhausted (then answer or close now). */
struct deferred *request_defer(struct request_ctx *ctx);
/* The context the handler saw, with the same arena, header and response. */
struct request_ctx *deferred_ctx(struct deferred *d);
void *deferred_response(struct deferred *d);
/* Encodes the (filled) response, or closes the connection instead when close is set. */
void deferred_complete(struct deferred *d, bool close);

/* Where a deferred request's answer goes (the connection): the response, or NULL when the
 * connection must close (its files are then already released). */
typedef void deferred_done_fn(void *arg, const struct response *out);
void deferred_on_done(struct deferred *d, deferred_done_fn *fn, void *arg);

handler_fn handle_produce;
handler_fn handle_fetch;
handler_fn handle_list_offsets;
handler_fn handle_delete_records;
handler_fn handle_init_producer_id;
handler_fn handle_offset_for_leader_epoch;
handler_fn handle_api_versions;
handler_fn handle_metadata;
handler_fn handle_create_topics;
handler_fn handle_delete_topics;
handler_fn handle_create_partitions;
handler_fn handle_describe_topic_partitions;
handler_fn handle_find_coordinator;
handler_fn handle_join_group;
handler_fn handle_sync_group;
handler_fn handle_heartbeat;
handler_fn handle_leave_group;
handler_fn handle_describe_groups;
handler_fn handle_list_groups;
handler_fn handle_delete_groups;
handler_fn handle_offset_commit;
handler_fn handle_offset_fetch;
handler_fn handle_offset_delete;
handler_fn handle_describe_cluster;
handler_fn handle_describe_log_dirs;
handler_fn handle_describe_configs;
handler_fn handle_alter_configs;
handler_fn handle_incremental_alter_configs;
handler_fn handle_list_config_resources;

#endif
