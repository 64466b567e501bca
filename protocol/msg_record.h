/* The record tables the generator emits (msg_record_table.c), beside the API table of msg_api.h:
 * the messages Quire stores in its own logs, grouped in families.
 *
 * - metadata: KRaft `__cluster_metadata` records, keyed by apiKey (metadata_record.h frames them)
 * - control:  raft control records, keyed by control record type (the value of a control record
 *             is the message itself)
 * - group, txn, share: coordinator records of `__consumer_offsets`, `__transaction_state` and
 *             `__share_group_state`, keyed by record type, each a key message and a value message
 *             (coordinator_record.h frames them)
 *
 * Per family F, messages.h declares an enum of MSG_F_<NAME> type ids, the table msg_F_records[]
 * (sorted by type id), msg_F_record_count and msg_F_record_find(). */
#ifndef QUIRE_PROTOCOL_MSG_RECORD_H
#define QUIRE_PROTOCOL_MSG_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "msg_api.h"

/* One message outside the API table: a record of a family, or a bare message (headers, ...). */
struct msg_record_type {
  int16_t key;        /* its type id in its family; -1 for a bare message */
  const char *family; /* "metadata", "control", "group", ...; NULL for a bare message */
  const char *name;   /* the schema's name, e.g. "TopicRecord" */
  int16_t min_version, max_version;
  int16_t flexible_min; /* first flexible version, -1 when none */
  struct msg_codec codec;
};

/* A coordinator record type: its key message and its value message. */
struct msg_coordinator_record_type {
  int16_t type;     /* the record type, the int16 that starts the key */
  const char *name; /* the key message's name without "Key", e.g. "OffsetCommit" */
  struct msg_record_type key, value;
};

/* Every message of the schemas outside an api, records included, in schema order (tests, tools). */
extern const struct msg_record_type msg_messages[];
extern const size_t msg_message_count;

static inline int msg_record_flexible(const struct msg_record_type *t, int16_t version) {
  return t->flexible_min >= 0 && version >= t->flexible_min;
}

#endif
