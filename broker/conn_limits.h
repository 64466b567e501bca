/* Connection limits: max.connections (all listeners together) and max.connections.per.ip with
 * max.connections.per.ip.overrides ("host-or-ip:count,..."). The server asks before keeping an
 * accepted connection and tells when one closes. */
#ifndef QUIRE_BROKER_CONN_LIMITS_H
#define QUIRE_BROKER_CONN_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct ip_count {
  char ip[48];
  int32_t count;
};

struct conn_limits {
  int32_t max_total, max_per_ip;
  struct ip_count *overrides; /* count = the limit for that ip */
  int override_count;
  struct ip_count *live; /* ips with open connections */
  int live_count, live_capacity;
};

/* Reads the limits from cfg; resolves host names of the overrides. Returns 0, or -1 with err. */
int conn_limits_init(struct conn_limits *l, const struct config *cfg, char *err, size_t err_size);
void conn_limits_free(struct conn_limits *l);
/* The limit for one ip. */
int32_t conn_limits_for_ip(const struct conn_limits *l, const char *ip);
/* Counts a connection from ip when its limit allows one more; false (nothing counted) if not. */
bool conn_limits_acquire(struct conn_limits *l, const char *ip);
void conn_limits_release(struct conn_limits *l, const char *ip);

#endif
