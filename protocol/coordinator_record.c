/* Coordinator record framing (coordinator_record.h). */
#include "coordinator_record.h"

size_t coordinator_key_size(const struct msg_coordinator_record_type *t, const void *key) {
  return 2 + t->key.codec.size(key, COORDINATOR_KEY_VERSION);
}

int coordinator_key_encode(struct wire_writer *w, const struct msg_coordinator_record_type *t,
                           const void *key) {
  wire_write_i16(w, t->type);
  return t->key.codec.encode(key, w, COORDINATOR_KEY_VERSION);
}

static int value_version_ok(const struct msg_coordinator_record_type *t, int16_t version) {
  return version >= t->value.min_version && version <= t->value.max_version;
}

size_t coordinator_value_size(const struct msg_coordinator_record_type *t, int16_t version,
                              const void *value) {
  if (!value_version_ok(t, version)) return 0;
  return 2 + t->value.codec.size(value, version);
}

int coordinator_value_encode(struct wire_writer *w, const struct msg_coordinator_record_type *t,
                             int16_t version, const void *value) {
  if (!value_version_ok(t, version)) return WIRE_EVERSION;
  wire_write_i16(w, version);
  return t->value.codec.encode(value, w, version);
}

int coordinator_key_read_type(struct wire_reader *key, int16_t *type) {
  return wire_read_i16(key, type);
}

/* Decodes one message of row at version into an arena struct that must use up r. */
static int decode_whole(const struct msg_record_type *row, struct wire_reader *r,
                        struct wire_arena *arena, int16_t version, void **out) {
  void *m = wire_arena_alloc(arena, row->codec.struct_size);
  if (m == NULL) return WIRE_ELIMIT;
  struct wire_reader sub = {r->p, r->end, arena};
  int rc = row->codec.decode(m, &sub, version);
  r->p = sub.p;
  if (rc != WIRE_OK) return rc;
  if (wire_left(r) != 0) return WIRE_EINVALID;
  *out = m;
  return WIRE_OK;
}

int coordinator_record_decode(coordinator_find_fn *find, struct wire_reader *key,
                              struct wire_reader *value, struct coordinator_record *out) {
  out->type = NULL;
  out->key = NULL;
  out->value_version = -1;
  out->value = NULL;
  int16_t type;
  int rc = coordinator_key_read_type(key, &type);
  if (rc != WIRE_OK) return rc;
  const struct msg_coordinator_record_type *t = find(type);
  if (t == NULL) return WIRE_EINVALID;
  void *k;
  rc = decode_whole(&t->key, key, key->arena, COORDINATOR_KEY_VERSION, &k);
  if (rc != WIRE_OK) return rc;
  void *v = NULL;
  int16_t version = -1;
  if (value != NULL) {
    rc = wire_read_i16(value, &version);
    if (rc != WIRE_OK) return rc;
    if (!value_version_ok(t, version)) return WIRE_EVERSION;
    rc = decode_whole(&t->value, value, key->arena, version, &v);
    if (rc != WIRE_OK) return rc;
  }
  out->type = t;
  out->key = k;
  out->value_version = version;
  out->value = v;
  return WIRE_OK;
}
