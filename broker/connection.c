/* Connections: 4-byte length-prefixed frames in, responses out, in request order (see net.h for
 * the states, the bounds and where frames are read to). A frame longer than the connection's cap
 * (or with a negative length) closes the connection before anything is allocated for it. Each
 * request gets an arena freed with its frame. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>

#include "dispatch.h"
#include "invariant.h"
#include "log.h"
#include "net.h"
#include "tls.h"

/* Bound on a request's decoded form. The worst wire-to-struct growth is an array of empty compact
 * strings (1 byte each on the wire, 16 in memory), hence 16x the frame; the absolute cap keeps a
 * large frame (mostly borrowed record bytes) from reserving a multiple of itself. */
enum { ARENA_MAX = 64 << 20 };
static size_t arena_limit(size_t frame_size) {
  size_t limit = 64 * 1024 + frame_size * 16;
  return limit < ARENA_MAX ? limit : ARENA_MAX;
}

static void conn_free(struct connection *c);

enum {
  CONN_READ_CHUNK = 64 << 10, /* input bytes asked of one readv on a plaintext socket; a longer
                               * frame is read into a buffer of its own */
  CONN_READ_BURST = 1 << 20,  /* read in one readable event before the others get their turn */
};

static int32_t frame_max(const struct connection *c) {
  const struct config *cfg = c->srv->broker.cfg;
  return c->authenticated ? cfg->socket_request_max_bytes : cfg->sasl_server_max_receive_size;
}

static void note_peak(size_t *peak, size_t now) {
  if (now > *peak) *peak = now;
}

/* Reading on or off: the plaintext socket's own read event (its timeout is
 * connections.max.idle.ms), or the TLS bufferevent's reading. */
static void set_reading(struct connection *c, bool on) {
  if (c->read_ev == NULL) {
    if (on)
      bufferevent_enable(c->bev, EV_READ);
    else
      bufferevent_disable(c->bev, EV_READ);
  } else if (!on) {
    event_del(c->read_ev);
  } else {
    int64_t ms = c->srv->broker.cfg->connections_max_idle_ms;
    struct timeval idle = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    event_add(c->read_ev, ms >= 0 ? &idle : NULL);
  }
}

static void set_state(struct connection *c, enum conn_state state) {
  if (c->state == state) return;
  c->state = state;
  set_reading(c, state == CONN_READING);
  if (state == CONN_MUTED)
    log_debug("net", "%s muted: %d responses waiting to be sent", c->peer, c->inflight);
}

struct file_release {
  void (*release)(void *arg);
  void *arg;
};

static void on_segment_done(struct evbuffer_file_segment const *seg, int flags, void *arg) {
  struct file_release *fr = arg;
  (void)seg;
  (void)flags;
  fr->release(fr->arg);
  free(fr);
}

/* Hands the range to the output as a file segment (sendfile on plaintext sockets); its release
 * runs when libevent is done with it. */
static int add_file(struct connection *c, struct evbuffer *out, struct wire_file_range *r) {
  struct file_release *fr = malloc(sizeof(*fr));
  int flags = c->listener->tls != NULL ? EVBUF_FS_DISABLE_SENDFILE : 0;
  struct evbuffer_file_segment *seg =
      fr != NULL ? evbuffer_file_segment_new(r->fd, (ev_off_t)r->position, (ev_off_t)r->size, flags)
                 : NULL;
  if (seg == NULL) {
    free(fr);
    return -1;
  }
  fr->release = r->release;
  fr->arg = r->release_arg;
  r->release = NULL; /* libevent's now */
  evbuffer_file_segment_add_cleanup_cb(seg, on_segment_done, fr);
  int rc = evbuffer_add_file_segment(out, seg, 0, (ev_off_t)r->size);
  evbuffer_file_segment_free(seg); /* the output holds its own reference */
  return rc;
}

/* Queues the response: its bytes with the file ranges spliced in where they belong. */
static int send_response(struct connection *c, const struct response *r) {
  struct evbuffer *out = bufferevent_get_output(c->bev);
  const uint8_t *p = r->data;
  int rc = 0;
  for (size_t i = 0; rc == 0 && r->splices != NULL && i < r->splices->count; i++) {
    const struct wire_splice *sp = &r->splices->items[i];
    rc = evbuffer_add(out, p, (size_t)(sp->at - p));
    p = sp->at;
    struct wire_file_range *range = response_file_find(r->files, sp->file);
    if (rc == 0) rc = range != NULL ? add_file(c, out, range) : -1;
  }
  if (rc == 0) rc = evbuffer_add(out, p, (size_t)(r->data + r->size - p));
  response_files_release(r->files); /* whatever was not handed over */
  return rc;
}

/* ---- the queue of requests awaiting their responses ---- */

static void request_free(struct conn_request *req) {
  if (req->answered && !req->close) response_files_release(req->out.files);
  wire_arena_free(&req->arena);
  free(req->frame);
  free(req);
}

static void queue_push(struct connection *c, struct conn_request *req) {
  if (c->queue_tail != NULL)
    c->queue_tail->next = req;
  else
    c->queue_head = req;
  c->queue_tail = req;
  c->queued++;
  if (req->frame != NULL) c->queued_bytes += req->frame_size;
}

static struct conn_request *queue_pop(struct connection *c) {
  struct conn_request *req = c->queue_head;
  c->queue_head = req->next;
  if (c->queue_head == NULL) c->queue_tail = NULL;
  c->queued--;
  if (req->frame != NULL) c->queued_bytes -= req->frame_size;
  return req;
}

/* Sends the answered requests at the head of the queue, in order, and frees them (a frame left
 * in the input goes with its request). Returns -1 when one of them closed the connection (c is
 * then closed, and freed unless a deferred request is still pending). */
static int queue_flush(struct connection *c) {
  while (c->queue_head != NULL && c->queue_head->answered) {
    struct conn_request *req = queue_pop(c);
    bool close = req->close || send_response(c, &req->out) != 0;
    req->out.files = NULL; /* sent with the response, or released */
    note_peak(&c->peak_arena, req->arena.used);
    if (req->frame == NULL) evbuffer_drain(bufferevent_get_input(c->bev), req->frame_size);
    request_free(req);
    c->requests++;
    if (close) {
      log_info("net", "closing connection from %s", c->peer);
      conn_close(c);
      return -1;
    }
    c->inflight++;
    note_peak(&c->peak_output, evbuffer_get_length(bufferevent_get_output(c->bev)));
    if (c->write_ev != NULL) event_active(c->write_ev, EV_WRITE, 1);
  }
  return 0;
}

/* Records a request's answer (out NULL: the connection closes there). */
static void request_answered(struct conn_request *req, const struct response *out) {
  req->answered = true;
  req->close = out == NULL;
  if (out != NULL) req->out = *out;
}

static int handle_frames(struct connection *c);

/* A deferred request was answered: send what is now at the head of the queue and go on with the
 * frames already read. A closed connection only frees what it no longer waits for. */
static void on_deferred_done(void *arg, const struct response *out) {
  struct conn_request *req = arg;
  struct connection *c = req->c;
  request_answered(req, out);
  c->waiting--;
  if (c->closing) {
    if (c->waiting == 0) conn_free(c);
    return;
  }
  if (queue_flush(c) != 0) return;
  if (c->state == CONN_WAITING) set_state(c, CONN_READING); /* handle_frames decides again */
  handle_frames(c);
}

/* Whether the next frame may be read now: nothing waits, or only Produce requests do and it is
 * another one (pipelining, within its bounds). */
static bool may_read_next(const struct connection *c, bool produce) {
  if (c->queue_head == NULL) return true;
  return produce && c->queued < CONN_PIPELINE_MAX && c->queued_bytes < CONN_PIPELINE_BYTES &&
         !c->queue_tail->close;
}

/* The frame whose length starts the input is longer than a read chunk and not all in: it moves to
 * a buffer of its own (its length passed the cap already), into which on_readable reads the rest.
 * Plaintext only (TLS reads through its bufferevent). */
static int own_frame_start(struct connection *c, size_t len) {
  struct evbuffer *in = bufferevent_get_input(c->bev);
  INVARIANT(c->own_frame == NULL && c->read_ev != NULL);
  uint8_t *buf = malloc(len);
  if (buf == NULL) return -1;
  evbuffer_drain(in, 4);
  size_t have = evbuffer_get_length(in);
  INVARIANT(have < len);
  int moved = evbuffer_remove(in, buf, have); /* all the input holds: allocates nothing */
  INVARIANT(moved == (int)have);
  c->own_frame = buf;
  c->own_frame_size = len;
  c->own_frame_read = have;
  return 0;
}

/* The next frame, if it is whole: *own is its own buffer (still the connection's, for the caller
 * to take over), or NULL when the frame is first in the input behind its 4-byte length. A frame
 * not whole yet may get its own buffer here (own_frame_start). Returns 1 for a frame, 0 when none
 * is whole yet, -1 when the connection was closed (a length beyond the cap, or out of memory). */
static int frame_next(struct connection *c, int32_t *len_out, bool *produce, uint8_t **own) {
  struct evbuffer *in = bufferevent_get_input(c->bev);
  *own = NULL;
  if (c->own_frame != NULL) {
    if (c->own_frame_read < c->own_frame_size) return 0;
    *len_out = (int32_t)c->own_frame_size;
    *produce = c->own_frame[0] == 0 && c->own_frame[1] == 0; /* API key 0; longer than 2 */
    *own = c->own_frame;
    return 1;
  }
  size_t avail = evbuffer_get_length(in);
  uint8_t head[6];
  if (avail < 4) return 0;
  evbuffer_copyout(in, head, avail < 6 ? 4 : 6);
  int32_t len = (int32_t)(((uint32_t)head[0] << 24) | ((uint32_t)head[1] << 16) |
                          ((uint32_t)head[2] << 8) | head[3]);
  int32_t max = frame_max(c);
  if (len < 0 || len > max) {
    /* A TLS ClientHello starts 16 03: say so rather than only quoting a huge length. */
    bool tls_hello = c->listener->tls == NULL && head[0] == 0x16 && head[1] == 0x03;
    log_warn("net", "closing %s: frame of %d bytes exceeds the limit of %d (%s)%s", c->peer, len,
             max, c->authenticated ? "socket.request.max.bytes" : "sasl.server.max.receive.size",
             tls_hello ? "; it looks like TLS sent to a plaintext listener" : "");
    conn_close(c);
    return -1;
  }
  if (avail - 4 < (size_t)len) {
    if (len > CONN_READ_CHUNK && c->read_ev != NULL && own_frame_start(c, (size_t)len) != 0) {
      log_error("net", "closing %s: out of memory for a frame of %d bytes", c->peer, len);
      conn_close(c);
      return -1;
    }
    return 0;
  }
  *len_out = len;
  *produce = len >= 2 && head[4] == 0 && head[5] == 0; /* API key 0 */
  return 1;
}

/* Reads and answers every complete frame, unless muted or waiting. Returns -1 when it closed the
 * connection (c is then freed). */
static int handle_frames(struct connection *c) {
  struct evbuffer *in = bufferevent_get_input(c->bev);
  /* a request other than Produce waits (its frame maybe first in the input): nothing to read yet */
  if (c->queue_head != NULL && !c->queue_head->produce) return 0;
  for (;;) {
    size_t avail = evbuffer_get_length(in);
    note_peak(&c->peak_input, avail + c->own_frame_size);
    if (avail == 0 && c->own_frame == NULL) {
      evtimer_del(c->frame_timer);
      return 0;
    }
    if (c->inflight + c->queued >= c->srv->broker.cfg->queued_max_requests) {
      set_state(c, CONN_MUTED);
      return 0;
    }
    int32_t len = 0;
    bool produce = false;
    uint8_t *own = NULL;
    int next = frame_next(c, &len, &produce, &own);
    if (next < 0) return -1;
    if (next == 0) break;
    if (!may_read_next(c, produce)) {
      set_state(c, CONN_WAITING); /* until the queue is empty (or shorter) */
      return 0;
    }
    evtimer_del(c->frame_timer);
    struct conn_request *req = calloc(1, sizeof(*req));
    if (req == NULL) {
      log_error("net", "closing %s: out of memory", c->peer);
      conn_close(c);
      return -1;
    }
    req->c = c;
    req->frame_size = (size_t)len;
    req->produce = produce;
    wire_arena_init(&req->arena, arena_limit((size_t)len));
    if (own != NULL) { /* the request takes the frame's own buffer over */
      req->frame = own;
      c->own_frame = NULL;
      c->own_frame_size = c->own_frame_read = 0;
    } else {
      evbuffer_drain(in, 4);
      /* A Produce may wait for its high watermark while later frames are read: its frame (which
       * the decoded request points into) moves to a buffer of its own. */
      if (produce && ((req->frame = malloc((size_t)len)) == NULL ||
                      evbuffer_remove(in, req->frame, (size_t)len) != len)) {
        request_free(req);
        log_error("net", "closing %s: out of memory", c->peer);
        conn_close(c);
        return -1;
      }
    }
    const uint8_t *frame = req->frame != NULL ? req->frame
                           : len > 0          ? evbuffer_pullup(in, len)
                                              : (const uint8_t *)"";
    struct response out;
    struct deferred *deferred = NULL;
    enum dispatch_result result = dispatch_request(&c->srv->broker, c->listener->name, c->ip, frame,
                                                   (size_t)len, &req->arena, &out, &deferred);
    if (result == DISPATCH_NONE) { /* answered by silence (acks=0) */
      if (req->frame == NULL) evbuffer_drain(in, (size_t)len);
      request_free(req);
      c->requests++;
      continue;
    }
    queue_push(c, req);
    if (result == DISPATCH_DEFERRED) {
      c->waiting++;
      deferred_on_done(deferred, on_deferred_done, req);
      if (!produce) { /* its frame (first in the input, if there) does not move meanwhile */
        set_state(c, CONN_WAITING);
        return 0;
      }
      continue;
    }
    request_answered(req, result == DISPATCH_RESPOND ? &out : NULL);
    if (queue_flush(c) != 0) return -1;
  }
  /* An incomplete frame: it must arrive whole within the read timeout of its first bytes. */
  if (!evtimer_pending(c->frame_timer, NULL)) {
    int64_t ms = c->srv->broker.cfg->request_read_timeout_ms;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->frame_timer, &tv);
  }
  return 0;
}

static void on_frame_timeout(evutil_socket_t fd, short events, void *arg) {
  struct connection *c = arg;
  (void)fd;
  (void)events;
  log_warn("net",
           "closing %s: a request frame did not arrive whole within "
           "quire.request.read.timeout.ms=%lld (%zu bytes so far)",
           c->peer, (long long)c->srv->broker.cfg->request_read_timeout_ms,
           (c->own_frame != NULL ? 4 + c->own_frame_read : 0) +
               evbuffer_get_length(bufferevent_get_input(c->bev)));
  conn_close(c);
}

/* Every queued response has been sent: reading may resume. */
static void on_write(struct bufferevent *bev, void *arg) {
  struct connection *c = arg;
  if (c->write_ev != NULL) bufferevent_disable(bev, EV_WRITE); /* write_now writes again */
  c->inflight = 0;
  if (c->state == CONN_MUTED && !c->closing) {
    set_state(c, CONN_READING);
    handle_frames(c);
  }
}

/* Plaintext: the responses queued in this pass of the loop go out at its end, in one write,
 * without first asking epoll whether the socket is writable (which costs two epoll_ctl calls and
 * a trip through the loop per response). Only what the socket does not take is left to the
 * bufferevent, whose writing is on until its output drains (on_write). */
static void write_now(evutil_socket_t fd, short events, void *arg) {
  struct connection *c = arg;
  struct evbuffer *out = bufferevent_get_output(c->bev);
  (void)fd;
  (void)events;
  if (c->closing || (bufferevent_get_enabled(c->bev) & EV_WRITE)) return;
  evbuffer_unfreeze(out, 1); /* the bufferevent keeps its output's start frozen but to itself */
  int n = evbuffer_write(out, bufferevent_getfd(c->bev));
  evbuffer_freeze(out, 1);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    log_debug("net", "connection from %s failed: %s", c->peer, strerror(errno));
    conn_close(c);
    return;
  }
  if (evbuffer_get_length(out) > 0)
    bufferevent_enable(c->bev, EV_WRITE);
  else
    on_write(c->bev, c);
}

static void on_read(struct bufferevent *bev, void *arg) {
  (void)bev;
  handle_frames(arg);
}

static void close_idle(struct connection *c) {
  log_info("net", "closing %s: idle for connections.max.idle.ms=%lld", c->peer,
           (long long)c->srv->broker.cfg->connections_max_idle_ms);
  conn_close(c);
}

/* One readv from a plaintext socket: the rest of a frame being read into its own buffer first,
 * then a chunk of the input for what follows. Returns the bytes read, 0 on EOF, -1 with errno. */
static ssize_t read_some(struct connection *c, evutil_socket_t fd, bool *drained) {
  struct evbuffer *in = bufferevent_get_input(c->bev);
  struct iovec iov[3];
  int iov_count = 0;
  size_t own_left = c->own_frame != NULL ? c->own_frame_size - c->own_frame_read : 0;
  if (own_left > 0) iov[iov_count++] = (struct iovec){c->own_frame + c->own_frame_read, own_left};
  evbuffer_unfreeze(in, 0); /* the bufferevent keeps its input's end frozen but to itself */
  struct evbuffer_iovec v[2];
  int n = evbuffer_reserve_space(in, CONN_READ_CHUNK, v, 2);
  if (n <= 0) {
    evbuffer_freeze(in, 0);
    errno = ENOMEM;
    return -1;
  }
  size_t asked = own_left;
  for (int i = 0; i < n; i++) {
    iov[iov_count++] = (struct iovec){v[i].iov_base, v[i].iov_len};
    asked += v[i].iov_len;
  }
  ssize_t r;
  do r = readv(fd, iov, iov_count);
  while (r < 0 && errno == EINTR);
  int saved = errno;
  size_t left = r > 0 ? (size_t)r : 0;
  size_t to_own = left < own_left ? left : own_left;
  c->own_frame_read += to_own;
  left -= to_own;
  for (int i = 0; i < n; i++) {
    if (v[i].iov_len > left) v[i].iov_len = left;
    left -= v[i].iov_len;
  }
  evbuffer_commit_space(in, v, n); /* zero-length iovecs commit nothing */
  evbuffer_freeze(in, 0);
  *drained = r >= 0 && (size_t)r < asked;
  errno = saved;
  return r;
}

/* A plaintext socket is readable: what it holds is read in large readvs (libevent 2.1's
 * bufferevents read 4 KiB at a time, with an ioctl and a trip through the loop for each), and the
 * frames are handled after each one (so a frame longer than a chunk gets its own buffer as soon
 * as its length is in); at most CONN_READ_BURST bytes, so one busy connection cannot keep the
 * others waiting. */
static void on_readable(evutil_socket_t fd, short events, void *arg) {
  struct connection *c = arg;
  if (events & EV_TIMEOUT) {
    close_idle(c);
    return;
  }
  for (size_t got = 0; got < CONN_READ_BURST;) {
    bool drained = false;
    ssize_t r = read_some(c, fd, &drained);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (r < 0 && errno == ENOMEM) {
      log_error("net", "closing %s: out of memory", c->peer);
      conn_close(c);
      return;
    }
    if (r <= 0) {
      if (r < 0) log_debug("net", "connection from %s failed: %s", c->peer, strerror(errno));
      conn_close(c); /* EOF (mid-frame or not) or an error */
      return;
    }
    got += (size_t)r;
    if (handle_frames(c) != 0) return;    /* closed */
    if (c->state != CONN_READING) return; /* muted or waiting: reading is off */
    if (drained) return;
  }
}

static void on_event(struct bufferevent *bev, short events, void *arg) {
  struct connection *c = arg;
  (void)bev;
  if (events & BEV_EVENT_TIMEOUT) {
    close_idle(c);
    return;
  }
  if (c->listener->tls != NULL) { /* handshake, principal and TLS errors: tls.c */
    if (tls_conn_event(c, events) != 0) conn_close(c);
    return;
  }
  if (events & BEV_EVENT_ERROR)
    log_debug("net", "connection from %s failed: %s", c->peer,
              evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
  if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) conn_close(c);
}

/* "ip" and "ip:port" of a peer address. */
static void format_peer(const struct sockaddr *addr, char *ip, size_t ip_size, char *peer,
                        size_t peer_size) {
  int port = 0;
  snprintf(ip, ip_size, "?");
  if (addr->sa_family == AF_INET) {
    const struct sockaddr_in *in4 = (const struct sockaddr_in *)(const void *)addr;
    inet_ntop(AF_INET, &in4->sin_addr, ip, (socklen_t)ip_size);
    port = ntohs(in4->sin_port);
  } else if (addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)addr;
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)ip_size);
    port = ntohs(in6->sin6_port);
  }
  snprintf(peer, peer_size, "%s:%d", ip, port);
}

void conn_accept(struct server *srv, const struct listener *l, evutil_socket_t fd,
                 const struct sockaddr *addr, int addr_len) {
  const struct config *cfg = srv->broker.cfg;
  char ip[48], peer[80];
  (void)addr_len;
  format_peer(addr, ip, sizeof(ip), peer, sizeof(peer));
  if (!conn_limits_acquire(&srv->limits, ip)) {
    log_warn("net", "refusing %s on %s: max.connections.per.ip=%d reached for %s", peer, l->name,
             conn_limits_for_ip(&srv->limits, ip), ip);
    evutil_closesocket(fd);
    return;
  }
  /* As Kafka's SocketServer: no Nagle delay, so a response written in parts (header, then file
   * ranges) leaves at once instead of waiting for the client's delayed ACK. */
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  /* Kafka's socket buffer sizes: they also bound what a client that stops reading can park in
   * the kernel before the connection is muted. */
  if (cfg->socket_send_buffer_bytes >= 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cfg->socket_send_buffer_bytes, sizeof(int32_t));
  if (cfg->socket_receive_buffer_bytes >= 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cfg->socket_receive_buffer_bytes, sizeof(int32_t));
  struct connection *c = calloc(1, sizeof(*c));
  if (c == NULL) goto fail;
  c->bev = l->tls != NULL ? tls_bufferevent_new(l->tls, srv->base, fd)
                          : bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
  if (c->bev == NULL) goto fail;
  c->frame_timer = evtimer_new(srv->base, on_frame_timeout, c);
  if (c->frame_timer == NULL) goto fail;
  c->read_ev =
      l->tls == NULL ? event_new(srv->base, fd, EV_READ | EV_PERSIST, on_readable, c) : NULL;
  c->write_ev = l->tls == NULL ? event_new(srv->base, -1, 0, write_now, c) : NULL;
  if (l->tls == NULL && (c->read_ev == NULL || c->write_ev == NULL)) goto fail;
  c->srv = srv;
  c->listener = l;
  c->state = CONN_READING;
  /* No SASL yet: PLAINTEXT and SSL connections are authenticated from the start, as in Kafka. */
  c->authenticated = true;
  snprintf(c->ip, sizeof(c->ip), "%s", ip);
  snprintf(c->peer, sizeof(c->peer), "%s", peer);
  snprintf(c->principal, sizeof(c->principal), "User:ANONYMOUS"); /* SSL: tls_conn_event */
  c->next = srv->connections;
  if (c->next) c->next->prev = c;
  srv->connections = c;
  srv->connection_count++;
  bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
  if (c->read_ev == NULL && cfg->connections_max_idle_ms >= 0) {
    struct timeval idle = {(time_t)(cfg->connections_max_idle_ms / 1000),
                           (suseconds_t)(cfg->connections_max_idle_ms % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, &idle, NULL);
  }
  if (c->write_ev == NULL) bufferevent_enable(c->bev, EV_WRITE);
  set_reading(c, true);
  log_debug("net",
            "accepted %s on %s (%d open): frames up to %d bytes, %d responses queued at most, "
            "request arena up to %zu bytes",
            c->peer, l->name, srv->connection_count, frame_max(c), cfg->queued_max_requests,
            arena_limit((size_t)frame_max(c)));
  if (srv->connection_count >= cfg->max_connections) server_set_accepting(srv, false);
  return;
fail:
  conn_limits_release(&srv->limits, ip);
  if (c != NULL && c->read_ev != NULL) event_free(c->read_ev);
  if (c != NULL && c->write_ev != NULL) event_free(c->write_ev);
  if (c != NULL && c->frame_timer != NULL) event_free(c->frame_timer);
  if (c != NULL && c->bev != NULL)
    bufferevent_free(c->bev);
  else
    evutil_closesocket(fd);
  free(c);
}

/* Closing unlinks the connection at once; a connection with deferred requests keeps its
 * bufferevent (a request's frame may live in its input buffer) until the last one completes. */
void conn_close(struct connection *c) {
  struct server *srv = c->srv;
  if (c->closing) return;
  c->closing = true;
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->connections = c->next;
  if (c->next) c->next->prev = c->prev;
  srv->connection_count--;
  conn_limits_release(&srv->limits, c->ip);
  log_debug("net", "closed %s after %llu requests: peak input %zu, output %zu, arena %zu bytes",
            c->peer, (unsigned long long)c->requests, c->peak_input, c->peak_output, c->peak_arena);
  if (!srv->accepting && srv->connection_count < srv->broker.cfg->max_connections)
    server_set_accepting(srv, true);
  if (c->read_ev != NULL) event_del(c->read_ev);
  free(c->own_frame); /* a frame cut off: no request refers to it */
  c->own_frame = NULL;
  c->own_frame_size = c->own_frame_read = 0;
  if (c->waiting > 0) {
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    shutdown(bufferevent_getfd(c->bev), SHUT_RDWR); /* the client sees the close now */
    return;
  }
  conn_free(c);
}

/* Frees the connection and its queue; nothing in it is still deferred. */
static void conn_free(struct connection *c) {
  while (c->queue_head != NULL) request_free(queue_pop(c));
  if (c->read_ev != NULL) event_free(c->read_ev);
  if (c->write_ev != NULL) event_free(c->write_ev);
  event_free(c->frame_timer);
  bufferevent_free(c->bev);
  free(c);
}
