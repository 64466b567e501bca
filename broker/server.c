/* The server: binds every configured listener, registers this broker's advertised endpoints in
 * the metadata image and runs the event loop until SIGTERM or SIGINT. Shutdown stops accepting,
 * closes every connection and leaves the loop; server_destroy frees what is left. */
#include "server.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"
#include "net.h"
#include "tls.h"

static void on_accept(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *addr,
                      int addr_len, void *arg) {
  struct listener *l = arg;
  (void)ev;
  conn_accept(l->srv, l, fd, addr, addr_len);
}

static void on_accept_error(struct evconnlistener *ev, void *arg) {
  struct listener *l = arg;
  (void)ev;
  log_error("net", "accept on %s failed: %s", l->name,
            evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static int bound_port(evutil_socket_t fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return -1;
}

static int listener_open(struct server *srv, const struct config_listener *cl, struct listener *l) {
  if (cl->protocol != SECPROTO_PLAINTEXT && cl->protocol != SECPROTO_SSL) {
    log_error("net", "listener %s: only PLAINTEXT and SSL listeners are served so far", cl->name);
    return -1;
  }
  if (cl->protocol == SECPROTO_SSL) {
    char err[1024];
    if (tls_ctx_create(&l->tls, srv->broker.cfg, cl->name, err, sizeof(err)) != 0) {
      log_error("net", "listener %s: %s", cl->name, err);
      return -1;
    }
  }
  struct addrinfo hints = {0}, *res = NULL;
  char port[16];
  snprintf(port, sizeof(port), "%d", cl->port);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int gai = getaddrinfo(cl->host[0] ? cl->host : NULL, port, &hints, &res);
  if (gai != 0) {
    log_error("net", "listener %s: cannot resolve %s: %s", cl->name, cl->host, gai_strerror(gai));
    return -1;
  }
  l->srv = srv;
  snprintf(l->name, sizeof(l->name), "%s", cl->name);
  snprintf(l->host, sizeof(l->host), "%s", cl->host);
  l->ev = evconnlistener_new_bind(
      srv->base, on_accept, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
      srv->broker.cfg->socket_listen_backlog_size, res->ai_addr, (int)res->ai_addrlen);
  freeaddrinfo(res);
  if (l->ev == NULL) {
    log_error("net", "listener %s: cannot bind %s:%d: %s", cl->name, cl->host, cl->port,
              strerror(errno));
    return -1;
  }
  evconnlistener_set_error_cb(l->ev, on_accept_error);
  l->port = bound_port(evconnlistener_get_fd(l->ev));
  log_info("net", "listening on %s://%s:%d", l->name, l->host, l->port);
  return 0;
}

/* This broker as clients should reach it: advertised.listeners, with a port of 0 meaning the
 * port actually bound and an empty host meaning this machine's name. */
static int register_self(struct server *srv) {
  const struct config *cfg = srv->broker.cfg;
  struct image_broker self;
  memset(&self, 0, sizeof(self));
  self.node_id = cfg->node_id;
  for (int i = 0; i < cfg->advertised_count && self.endpoint_count < IMAGE_ENDPOINTS_MAX; i++) {
    const struct config_listener *adv = &cfg->advertised[i];
    const struct listener *bound = NULL;
    for (int j = 0; j < srv->listener_count; j++)
      if (strcmp(srv->listeners[j].name, adv->name) == 0) bound = &srv->listeners[j];
    struct image_endpoint *ep = &self.endpoints[self.endpoint_count++];
    snprintf(ep->listener, sizeof(ep->listener), "%s", adv->name);
    if (adv->host[0]) {
      snprintf(ep->host, sizeof(ep->host), "%s", adv->host);
    } else if (gethostname(ep->host, sizeof(ep->host) - 1) != 0) {
      snprintf(ep->host, sizeof(ep->host), "localhost");
    }
    ep->port = adv->port == 0 && bound != NULL ? bound->port : adv->port;
  }
  return image_broker_put(&srv->broker.image, &self);
}

void server_set_accepting(struct server *srv, bool accepting) {
  if (srv->accepting == accepting) return;
  srv->accepting = accepting;
  for (int i = 0; i < srv->listener_count; i++) {
    if (srv->listeners[i].ev == NULL) continue;
    if (accepting)
      evconnlistener_enable(srv->listeners[i].ev);
    else
      evconnlistener_disable(srv->listeners[i].ev);
  }
  if (accepting)
    log_info("net", "accepting connections again");
  else
    log_warn("net", "max.connections=%d reached: new connections wait until one closes",
             srv->broker.cfg->max_connections);
}

static void close_all(struct server *srv) {
  for (int i = 0; i < srv->listener_count; i++) {
    if (srv->listeners[i].ev) evconnlistener_free(srv->listeners[i].ev);
    srv->listeners[i].ev = NULL;
  }
  srv->accepting = true; /* nothing left to resume as connections close */
  while (srv->connections) conn_close(srv->connections);
}

static void on_signal(evutil_socket_t sig, short events, void *arg) {
  struct server *srv = arg;
  (void)events;
  log_info("server", "%s received: shutting down (%d connections open)",
           sig == SIGTERM ? "SIGTERM" : "SIGINT", srv->connection_count);
  close_all(srv);
  event_base_loopexit(srv->base, NULL);
}

int server_create(struct server **out, const struct config *cfg, const struct meta_props *meta) {
  struct server *srv = calloc(1, sizeof(*srv));
  if (srv == NULL) return -1;
  srv->broker.cfg = cfg;
  srv->broker.meta = *meta;
  image_init(&srv->broker.image, meta->cluster_id, cfg->role_controller ? cfg->node_id : -1);
  signal(SIGPIPE, SIG_IGN);
  char err[256];
  if (conn_limits_init(&srv->limits, cfg, err, sizeof(err)) != 0) {
    log_error("net", "%s", err);
    goto fail;
  }
  srv->accepting = true;
  srv->base = event_base_new();
  if (srv->base == NULL) goto fail;
  srv->broker.base = srv->base;
  /* first: a signal during start-up (log recovery, metadata replay) then stops cleanly as soon
   * as the loop runs */
  srv->sigterm = evsignal_new(srv->base, SIGTERM, on_signal, srv);
  srv->sigint = evsignal_new(srv->base, SIGINT, on_signal, srv);
  if (srv->sigterm == NULL || srv->sigint == NULL || evsignal_add(srv->sigterm, NULL) != 0 ||
      evsignal_add(srv->sigint, NULL) != 0)
    goto fail;
  for (int i = 0; i < cfg->listener_count; i++) {
    if (listener_open(srv, &cfg->listeners[i], &srv->listeners[i]) != 0) goto fail;
    srv->listener_count++;
  }
  if (register_self(srv) != 0) goto fail;
  if (broker_storage_open(&srv->broker) != 0) goto fail;
  *out = srv;
  return 0;
fail:
  server_destroy(srv);
  return -1;
}

int server_run(struct server *srv) {
  log_info("server", "broker %d of cluster %s started", srv->broker.cfg->node_id,
           srv->broker.meta.cluster_id);
  if (event_base_dispatch(srv->base) < 0) return -1;
  log_info("server", "stopped");
  return 0;
}

void server_destroy(struct server *srv) {
  if (srv == NULL) return;
  close_all(srv);
  /* after the connections: requests still waiting on the controller complete (and free their
   * closed connections) here */
  broker_storage_close(&srv->broker);
  for (int i = 0; i < CONFIG_LISTENERS_MAX; i++) tls_ctx_destroy(srv->listeners[i].tls);
  if (srv->sigterm) event_free(srv->sigterm);
  if (srv->sigint) event_free(srv->sigint);
  if (srv->base) event_base_free(srv->base);
  conn_limits_free(&srv->limits);
  free(srv);
}
