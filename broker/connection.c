/* Connections: 4-byte length-prefixed frames in, responses out, in request order.
 * A frame longer than socket.request.max.bytes (or with a negative length) closes the connection
 * before anything is allocated for it. Each request gets an arena freed with its frame. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "dispatch.h"
#include "log.h"
#include "net.h"

/* Bound on a request's decoded form: generous against the frame, firm against amplification. */
static size_t arena_limit(size_t frame_size) { return 64 * 1024 + frame_size * 16; }

static void handle_frames(struct connection *c) {
  struct evbuffer *in = bufferevent_get_input(c->bev);
  int32_t max = c->srv->broker.cfg->socket_request_max_bytes;
  for (;;) {
    size_t avail = evbuffer_get_length(in);
    uint8_t len_bytes[4];
    if (avail < 4) return;
    evbuffer_copyout(in, len_bytes, 4);
    int32_t len = (int32_t)(((uint32_t)len_bytes[0] << 24) | ((uint32_t)len_bytes[1] << 16) |
                            ((uint32_t)len_bytes[2] << 8) | len_bytes[3]);
    if (len < 0 || len > max) {
      log_warn("net", "closing %s: frame of %d bytes exceeds socket.request.max.bytes=%d", c->peer,
               len, max);
      conn_close(c);
      return;
    }
    if (avail - 4 < (size_t)len) return;
    evbuffer_drain(in, 4);
    const uint8_t *frame = len > 0 ? evbuffer_pullup(in, len) : (const uint8_t *)"";
    struct wire_arena arena;
    wire_arena_init(&arena, arena_limit((size_t)len));
    const uint8_t *out = NULL;
    size_t out_size = 0;
    enum dispatch_result result = dispatch_request(&c->srv->broker, c->listener->name, frame,
                                                   (size_t)len, &arena, &out, &out_size);
    if (result == DISPATCH_RESPOND && bufferevent_write(c->bev, out, out_size) != 0)
      result = DISPATCH_CLOSE;
    wire_arena_free(&arena);
    evbuffer_drain(in, (size_t)len);
    if (result == DISPATCH_CLOSE) {
      log_info("net", "closing connection from %s", c->peer);
      conn_close(c);
      return;
    }
  }
}

static void on_read(struct bufferevent *bev, void *arg) {
  (void)bev;
  handle_frames(arg);
}

static void on_event(struct bufferevent *bev, short events, void *arg) {
  struct connection *c = arg;
  (void)bev;
  if (events & BEV_EVENT_ERROR)
    log_debug("net", "connection from %s failed: %s", c->peer,
              evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
  if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) conn_close(c);
}

static void format_peer(const struct sockaddr *addr, char *out, size_t size) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr->sa_family == AF_INET) {
    const struct sockaddr_in *in4 = (const struct sockaddr_in *)(const void *)addr;
    inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
    port = ntohs(in4->sin_port);
  } else if (addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)addr;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
  }
  snprintf(out, size, "%s:%d", host, port);
}

void conn_accept(struct server *srv, const struct listener *l, evutil_socket_t fd,
                 const struct sockaddr *addr, int addr_len) {
  (void)addr_len;
  struct connection *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    evutil_closesocket(fd);
    return;
  }
  c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
  if (c->bev == NULL) {
    evutil_closesocket(fd);
    free(c);
    return;
  }
  c->srv = srv;
  c->listener = l;
  format_peer(addr, c->peer, sizeof(c->peer));
  c->next = srv->connections;
  if (c->next) c->next->prev = c;
  srv->connections = c;
  srv->connection_count++;
  bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
  bufferevent_enable(c->bev, EV_READ | EV_WRITE);
  log_debug("net", "accepted %s on %s", c->peer, l->name);
}

void conn_close(struct connection *c) {
  struct server *srv = c->srv;
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->connections = c->next;
  if (c->next) c->next->prev = c->prev;
  srv->connection_count--;
  bufferevent_free(c->bev);
  free(c);
}
