/* The server: listeners, connections and request dispatch on one libevent base.
 * server_run returns after SIGTERM or SIGINT once every connection is closed. */
#ifndef QUIRE_BROKER_SERVER_H
#define QUIRE_BROKER_SERVER_H

#include "config.h"
#include "meta.h"

struct server;

int server_create(struct server **out, const struct config *cfg, const struct meta_props *meta);
int server_run(struct server *srv);
void server_destroy(struct server *srv);

#endif
