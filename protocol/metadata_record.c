/* KRaft metadata record framing (metadata_record.h). */
#include "metadata_record.h"

static int version_in_range(const struct msg_record_type *t, int16_t version) {
  return version >= t->min_version && version <= t->max_version;
}

size_t metadata_record_size(int16_t api_key, int16_t version, const void *m) {
  const struct msg_record_type *t = msg_metadata_record_find(api_key);
  if (t == NULL || !version_in_range(t, version)) return 0;
  return wire_uvarint_size(METADATA_FRAME_VERSION) + wire_uvarint_size((uint32_t)api_key) +
         wire_uvarint_size((uint32_t)version) + t->codec.size(m, version);
}

int metadata_record_encode(struct wire_writer *w, int16_t api_key, int16_t version, const void *m) {
  const struct msg_record_type *t = msg_metadata_record_find(api_key);
  if (t == NULL) return WIRE_EINVALID;
  if (!version_in_range(t, version)) return WIRE_EVERSION;
  wire_write_uvarint(w, METADATA_FRAME_VERSION);
  wire_write_uvarint(w, (uint32_t)api_key);
  wire_write_uvarint(w, (uint32_t)version);
  return t->codec.encode(m, w, version);
}

/* An unsigned varint that must fit an int16, as Kafka's frame reader demands. */
static int read_short_uvarint(struct wire_reader *r, int16_t *v) {
  uint32_t u;
  int rc = wire_read_uvarint(r, &u);
  if (rc != WIRE_OK) return rc;
  if (u > INT16_MAX) return WIRE_EINVALID;
  *v = (int16_t)u;
  return WIRE_OK;
}

int metadata_record_read_header(struct wire_reader *r, int16_t *api_key, int16_t *version) {
  int16_t frame_version;
  int rc = read_short_uvarint(r, &frame_version);
  if (rc != WIRE_OK) return rc;
  if (frame_version != METADATA_FRAME_VERSION) return WIRE_EINVALID;
  rc = read_short_uvarint(r, api_key);
  if (rc != WIRE_OK) return rc;
  return read_short_uvarint(r, version);
}

int metadata_record_decode(struct wire_reader *r, struct metadata_record *out) {
  int16_t api_key, version;
  out->type = NULL;
  out->version = -1;
  out->message = NULL;
  int rc = metadata_record_read_header(r, &api_key, &version);
  if (rc != WIRE_OK) return rc;
  const struct msg_record_type *t = msg_metadata_record_find(api_key);
  if (t == NULL) return WIRE_EINVALID;
  if (!version_in_range(t, version)) return WIRE_EVERSION;
  void *m = wire_arena_alloc(r->arena, t->codec.struct_size);
  if (m == NULL) return WIRE_ELIMIT;
  rc = t->codec.decode(m, r, version);
  if (rc != WIRE_OK) return rc;
  if (wire_left(r) != 0) return WIRE_EINVALID;
  out->type = t;
  out->version = version;
  out->message = m;
  return WIRE_OK;
}
