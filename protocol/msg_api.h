/* The API table the generator emits: one row per API with its versions and codec functions.
 * The broker's handler table is separate; ApiVersions is computed from both. */
#ifndef QUIRE_PROTOCOL_MSG_API_H
#define QUIRE_PROTOCOL_MSG_API_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Codec of one message, with the message passed as void * so tables can hold every API. */
struct msg_codec {
  size_t struct_size;
  void (*init)(void *m);
  int (*decode)(void *m, struct wire_reader *r, int16_t version);
  int (*encode)(const void *m, struct wire_writer *w, int16_t version);
  size_t (*size)(const void *m, int16_t version);
};

struct msg_api {
  int16_t key;
  const char *name;
  int16_t min_version, max_version;
  int16_t max_stable_version; /* below max_version when the newest version is unstable */
  int16_t flexible_min;       /* first flexible version, -1 when none */
  struct msg_codec request, response;
};

extern const struct msg_api msg_apis[];
extern const size_t msg_api_count;

/* The row of an API key, or NULL when the codec does not know it. */
const struct msg_api *msg_api_find(int16_t key);

static inline int msg_api_flexible(const struct msg_api *api, int16_t version) {
  return api->flexible_min >= 0 && version >= api->flexible_min;
}

#endif
