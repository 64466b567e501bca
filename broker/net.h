/* Internals shared by server.c (listeners, signals, lifetime) and connection.c (framing).
 *
 * Connection states: OPEN (reading frames, answering in order) -> closed (freed at once).
 * Requests of a connection are handled one at a time in arrival order, so responses leave in
 * request order; a handler that must wait will later mute reading instead. */
#ifndef QUIRE_BROKER_NET_H
#define QUIRE_BROKER_NET_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "broker.h"
#include "config.h"

struct server;

struct listener {
  struct server *srv;
  struct evconnlistener *ev;
  char name[64];
  char host[256];
  int port; /* bound port */
};

struct connection {
  struct server *srv;
  const struct listener *listener;
  struct bufferevent *bev;
  char peer[80]; /* "host:port" of the client, for logs */
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
};

/* Takes ownership of fd. */
void conn_accept(struct server *srv, const struct listener *l, evutil_socket_t fd,
                 const struct sockaddr *addr, int addr_len);
void conn_close(struct connection *c);

#endif
