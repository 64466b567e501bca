/* KRaft metadata record framing: the value of every record in `__cluster_metadata` (and in its
 * snapshots) is, as Kafka's MetadataRecordSerde writes it,
 *
 *   frame version  unsigned varint, always 1 (0 was KRaft's 2.8 preview, refused)
 *   apiKey         unsigned varint, the record type (msg_metadata_record_find, MSG_METADATA_*)
 *   version        unsigned varint, the record's version
 *   message        the record (struct msg_<name>) at that version
 *
 * and nothing after the message. Every header value must fit an int16. Decoding checks every
 * length against the bytes left and returns a wire_status; it never asserts on input. */
#ifndef QUIRE_PROTOCOL_METADATA_RECORD_H
#define QUIRE_PROTOCOL_METADATA_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "messages.h"

#define METADATA_FRAME_VERSION 1

/* A decoded frame. */
struct metadata_record {
  const struct msg_record_type *type; /* the row of msg_metadata_records */
  int16_t version;
  void *message; /* a struct msg_<type>, from the reader's arena */
};

/* Bytes of the frame of m (the struct of api_key's record) at version; 0 when the codec does not
 * know api_key or the version is outside the record's range. */
size_t metadata_record_size(int16_t api_key, int16_t version, const void *m);

/* Writes the frame of m. WIRE_EINVALID for an unknown api_key, WIRE_EVERSION for a version
 * outside the record's range (nothing written then), WIRE_ENOSPACE when w is too small. */
int metadata_record_encode(struct wire_writer *w, int16_t api_key, int16_t version, const void *m);

/* Reads the frame version, apiKey and version, leaving r at the message: for callers that
 * decode the message themselves (msg_<name>_decode, then check that no byte is left).
 * WIRE_EINVALID for a frame version other than 1 or a value above 32767. */
int metadata_record_read_header(struct wire_reader *r, int16_t *api_key, int16_t *version);

/* Decodes a frame that fills r exactly (a record's value), the message allocated from r->arena.
 * WIRE_ETRUNCATED when the bytes end early; WIRE_EINVALID for a bad header, an apiKey the codec
 * does not know, or bytes after the message; WIRE_EVERSION for a version outside the record's
 * range; WIRE_ELIMIT when the arena is full. */
int metadata_record_decode(struct wire_reader *r, struct metadata_record *out);

#endif
