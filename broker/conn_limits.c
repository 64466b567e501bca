/* Connection limits; see conn_limits.h. The live table is a small array searched linearly: it
 * holds one entry per client address with open connections. */
#include "conn_limits.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <arpa/inet.h>

static int add_override(struct conn_limits *l, const char *ip, int32_t limit) {
  struct ip_count *grown = realloc(l->overrides, sizeof(*grown) * (size_t)(l->override_count + 1));
  if (grown == NULL) return -1;
  l->overrides = grown;
  snprintf(grown[l->override_count].ip, sizeof(grown[0].ip), "%s", ip);
  grown[l->override_count].count = limit;
  l->override_count++;
  return 0;
}

/* One "host:count" entry; the host is an address or a name resolved now. */
static int parse_override(struct conn_limits *l, const char *entry, char *err, size_t err_size) {
  const char *colon = strrchr(entry, ':');
  char host[256], *end;
  if (colon == NULL || colon == entry || (size_t)(colon - entry) >= sizeof(host)) goto bad;
  long limit = strtol(colon + 1, &end, 10);
  if (*end != '\0' || end == colon + 1 || limit < 0 || limit > INT32_MAX) goto bad;
  memcpy(host, entry, (size_t)(colon - entry));
  host[colon - entry] = '\0';
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, NULL, &hints, &res) != 0) {
    snprintf(err, err_size, "max.connections.per.ip.overrides: cannot resolve '%s'", host);
    return -1;
  }
  for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
    char ip[INET6_ADDRSTRLEN];
    const void *a = ai->ai_family == AF_INET
                        ? (const void *)&((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr
                        : (const void *)&((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr;
    if (inet_ntop(ai->ai_family, a, ip, sizeof(ip)) != NULL &&
        add_override(l, ip, (int32_t)limit) != 0) {
      freeaddrinfo(res);
      snprintf(err, err_size, "out of memory");
      return -1;
    }
  }
  freeaddrinfo(res);
  return 0;
bad:
  snprintf(err, err_size, "max.connections.per.ip.overrides: bad entry '%s' (want host:count)",
           entry);
  return -1;
}

int conn_limits_init(struct conn_limits *l, const struct config *cfg, char *err, size_t err_size) {
  memset(l, 0, sizeof(*l));
  l->max_total = cfg->max_connections;
  l->max_per_ip = cfg->max_connections_per_ip;
  const char *list = config_get(cfg, "max.connections.per.ip.overrides");
  if (list == NULL || list[0] == '\0') return 0;
  char *copy = strdup(list), *save = NULL;
  if (copy == NULL) return -1;
  int rc = 0;
  for (char *tok = strtok_r(copy, ",", &save); tok != NULL && rc == 0;
       tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ') tok++;
    if (*tok != '\0') rc = parse_override(l, tok, err, err_size);
  }
  free(copy);
  if (rc != 0) conn_limits_free(l);
  return rc;
}

void conn_limits_free(struct conn_limits *l) {
  free(l->overrides);
  free(l->live);
  memset(l, 0, sizeof(*l));
}

int32_t conn_limits_for_ip(const struct conn_limits *l, const char *ip) {
  for (int i = 0; i < l->override_count; i++)
    if (strcmp(l->overrides[i].ip, ip) == 0) return l->overrides[i].count;
  return l->max_per_ip;
}

static struct ip_count *live_find(struct conn_limits *l, const char *ip) {
  for (int i = 0; i < l->live_count; i++)
    if (strcmp(l->live[i].ip, ip) == 0) return &l->live[i];
  return NULL;
}

bool conn_limits_acquire(struct conn_limits *l, const char *ip) {
  struct ip_count *e = live_find(l, ip);
  if ((e ? e->count : 0) >= conn_limits_for_ip(l, ip)) return false;
  if (e == NULL) {
    if (l->live_count == l->live_capacity) {
      int cap = l->live_capacity ? l->live_capacity * 2 : 16;
      struct ip_count *grown = realloc(l->live, sizeof(*grown) * (size_t)cap);
      if (grown == NULL) return false;
      l->live = grown;
      l->live_capacity = cap;
    }
    e = &l->live[l->live_count++];
    snprintf(e->ip, sizeof(e->ip), "%s", ip);
    e->count = 0;
  }
  e->count++;
  return true;
}

void conn_limits_release(struct conn_limits *l, const char *ip) {
  struct ip_count *e = live_find(l, ip);
  if (e == NULL) return;
  if (--e->count == 0) *e = l->live[--l->live_count];
}
