/* For the pure state machines (group.c, group_offsets.c): allocation that aborts instead of
 * failing, since a half-made transition would break their invariants and their state is bounded
 * upstream. */
#ifndef QUIRE_BROKER_XALLOC_H
#define QUIRE_BROKER_XALLOC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invariant.h"

static inline void *xmalloc(size_t n) {
  void *p = malloc(n > 0 ? n : 1);
  if (p == NULL) abort();
  return p;
}

static inline void *xcalloc(size_t count, size_t size) {
  void *p = calloc(count > 0 ? count : 1, size > 0 ? size : 1);
  if (p == NULL) abort();
  return p;
}

static inline void *xrealloc(void *p, size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size) abort();
  p = realloc(p, count * size > 0 ? count * size : 1);
  if (p == NULL) abort();
  return p;
}

/* A NUL-terminated copy of len bytes. */
static inline char *xstrndup(const char *s, size_t len) {
  char *d = xmalloc(len + 1);
  if (len > 0) memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

#endif
