/* Coordinator record framing: the keys and values of `__consumer_offsets` (family group),
 * `__transaction_state` (txn) and `__share_group_state` (share), as Kafka's
 * CoordinatorRecordSerde writes them:
 *
 *   key    int16 record type (MSG_GROUP_*, MSG_TXN_*, MSG_SHARE_*), then the key message at
 *          version 0 (the only version of every key message)
 *   value  int16 version, then the value message at that version; a null value (no bytes at
 *          all) is a tombstone that deletes the key
 *
 * Kafka writes nothing after either message; the decoders here refuse trailing bytes. Decoding
 * checks every length against the bytes left and returns a wire_status, never asserting. */
#ifndef QUIRE_PROTOCOL_COORDINATOR_RECORD_H
#define QUIRE_PROTOCOL_COORDINATOR_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "messages.h"

/* msg_group_record_find, msg_txn_record_find or msg_share_record_find. */
typedef const struct msg_coordinator_record_type *coordinator_find_fn(int16_t type);

/* The version every key message is written at. */
#define COORDINATOR_KEY_VERSION 0

size_t coordinator_key_size(const struct msg_coordinator_record_type *t, const void *key);
/* Writes type then key (the struct of t's key message). WIRE_ENOSPACE when w is too small. */
int coordinator_key_encode(struct wire_writer *w, const struct msg_coordinator_record_type *t,
                           const void *key);

/* 0 when version is outside the value message's range. */
size_t coordinator_value_size(const struct msg_coordinator_record_type *t, int16_t version,
                              const void *value);
/* Writes version then value (the struct of t's value message); WIRE_EVERSION for a version
 * outside its range (nothing written then), WIRE_ENOSPACE when w is too small. */
int coordinator_value_encode(struct wire_writer *w, const struct msg_coordinator_record_type *t,
                             int16_t version, const void *value);

/* Reads only the record type that starts a key (to skip types the caller does not handle). */
int coordinator_key_read_type(struct wire_reader *key, int16_t *type);

struct coordinator_record {
  const struct msg_coordinator_record_type *type;
  void *key;             /* the struct of type->key, from the key reader's arena */
  int16_t value_version; /* -1 for a tombstone */
  void *value;           /* the struct of type->value, from the key reader's arena; NULL for a
                          * tombstone */
};

/* Decodes a record's key (which must fill key exactly) and value (likewise; NULL for a
 * tombstone). Messages come from key->arena. WIRE_EINVALID for a record type find does not
 * know or bytes after a message; WIRE_EVERSION for a value version outside the value message's
 * range; WIRE_ETRUNCATED when the bytes end early; WIRE_ELIMIT when the arena is full. */
int coordinator_record_decode(coordinator_find_fn *find, struct wire_reader *key,
                              struct wire_reader *value, struct coordinator_record *out);

#endif
