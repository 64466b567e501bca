/* Internals shared by server.c (listeners, signals, lifetime) and connection.c (framing).
 *
 * A connection is READING (frames are read and answered in arrival order, so responses leave in
 * request order), MUTED (queued.max.requests responses wait to be sent: reading stops until the
 * output has drained, so a client that does not read cannot make the broker buffer without
 * bound) or WAITING (a handler deferred its answer: nothing more is read until it completes, so
 * responses still leave in request order). Produce requests are the exception (pipelining):
 * behind a Produce waiting for its high watermark (acks=all), further Produce requests are read
 * and appended at once, up to CONN_PIPELINE_MAX of them and CONN_PIPELINE_BYTES of frames, so
 * that one fdatasync (group commit) makes many of them durable; their responses wait in the
 * connection's queue and leave in request order. Any other request behind them waits until the
 * queue is empty, so it sees what it would have seen had they been answered one by one. Either
 * state ends in closed (freed once no deferred request is pending) on EOF, an error, a limit,
 * or shutdown.
 *
 * Frames on a plaintext connection are read by connection.c itself (on_readable), a read chunk at
 * a time into the input buffer, and handled (handle_frames) after each read. A frame longer than
 * a read chunk gets a buffer of its own as soon as its length is read and found within the cap
 * (own_frame_start; as Kafka's NetworkReceive allocates the whole frame once its size is known):
 * what the input already holds of it moves there, and read_some reads the rest straight into it,
 * followed in the same readv by a chunk of the input for the bytes after it. Once whole it is
 * decoded where it lies and its request takes the buffer over (conn_request.frame), so a large
 * Produce is neither moved to be made contiguous nor copied again to be pipelined; a close
 * (conn_close) frees a buffer still being filled. While a frame is in its own buffer, the input
 * holds only what follows it (nothing until it is complete). Smaller frames, and every frame on
 * a TLS connection (read through its bufferevent), are decoded from the input; a Produce among
 * them is copied to a buffer of its own first.
 *
 * Memory per connection is bounded by: one frame (socket.request.max.bytes, or
 * sasl.server.max.receive.size before authentication) in the input or in a buffer of its own,
 * plus one read chunk behind it; the request's arena (a multiple of the frame), pipelined Produce
 * requests (CONN_PIPELINE_BYTES of frames and their arenas, plus at most one more frame), and
 * queued.max.requests responses. A frame's own buffer is allocated at its full length once the
 * length has passed the cap; the broker writes only what arrives into it. Timers:
 * connections.max.idle.ms without a byte read closes the connection; so does a frame still
 * incomplete quire.request.read.timeout.ms after its first byte (a client trickling bytes in),
 * its own buffer included; a close (EOF, error, limit) frees it. */
#ifndef QUIRE_BROKER_NET_H
#define QUIRE_BROKER_NET_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "broker.h"
#include "config.h"
#include "conn_limits.h"
#include "dispatch.h"
#include "wire.h"

struct server;
struct tls_ctx;

struct listener {
  struct server *srv;
  struct evconnlistener *ev;
  char name[64];
  char host[256];
  int port;            /* bound port */
  struct tls_ctx *tls; /* SSL listeners only (tls.h); NULL on PLAINTEXT */
};

enum conn_state { CONN_READING, CONN_MUTED, CONN_WAITING };

enum {
  CONN_PIPELINE_MAX = 64,         /* Produce requests read ahead behind a waiting one */
  CONN_PIPELINE_BYTES = 16 << 20, /* and their frames' bytes */
};

/* A request whose response has not been sent: waiting for its handler (deferred) or behind one. */
struct conn_request {
  struct conn_request *next;
  struct connection *c;
  struct wire_arena arena;
  uint8_t *frame; /* the frame's own buffer (malloc'd; a Produce's, or a frame longer than a
                   * read chunk); NULL: the frame is first in the input */
  size_t frame_size;
  bool produce; /* Produces may be pipelined behind it; any other request waits alone */
  bool answered, close;
  struct response out; /* answered and not close */
};

struct connection {
  struct server *srv;
  const struct listener *listener;
  struct bufferevent *bev;
  enum conn_state state;
  bool authenticated;        /* frames up to socket.request.max.bytes, else the pre-auth cap */
  int32_t inflight;          /* responses queued since the output was last empty */
  struct event *frame_timer; /* armed while a frame is incomplete */
  struct event *read_ev;     /* plaintext: the socket's reads (NULL: TLS reads through bev) */
  struct event *write_ev;    /* plaintext: activated to write the output at the loop pass's end */
  /* plaintext: the next frame, longer than a read chunk, read into a buffer of its own (NULL:
   * none); own_frame_read of its own_frame_size bytes are in */
  uint8_t *own_frame;
  size_t own_frame_size, own_frame_read;
  struct conn_request *queue_head, *queue_tail; /* in request order */
  int32_t queued, waiting; /* requests in the queue; deferred ones among them */
  size_t queued_bytes;     /* frames held by the queue's requests */
  bool closing;            /* closed; freed when no deferred request is left */
  uint64_t requests;
  size_t peak_input, peak_output, peak_arena;
  char ip[48];   /* client address, for per-ip limits */
  char peer[80]; /* "host:port" of the client, for logs */
  /* Kafka's principal: "User:ANONYMOUS", or from the TLS client certificate (tls.c) */
  char principal[512];
  struct connection *prev, *next;
};

struct server {
  struct broker broker;
  struct event_base *base;
  struct listener listeners[CONFIG_LISTENERS_MAX];
  int listener_count;
  struct event *sigterm, *sigint;
  struct connection *connections; /* doubly linked list of open connections */
  int connection_count;
  struct conn_limits limits;
  bool accepting; /* false while max.connections are open: listeners paused */
};

/* Pauses or resumes every listener (max.connections). */
void server_set_accepting(struct server *srv, bool accepting);

/* Takes ownership of fd. */
void conn_accept(struct server *srv, const struct listener *l, evutil_socket_t fd,
                 const struct sockaddr *addr, int addr_len);
void conn_close(struct connection *c);

#endif
