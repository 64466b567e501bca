/* Metadata records and the image: applying a record (from the metadata log, or a snapshot) to
 * the image, and writing the records that express a change (the controller's side). The records
 * are Kafka's (protocol/schema/records/metadata_records.schema), framed as metadata_record.h
 * says, so the log reads as a KRaft __cluster_metadata log does. */
#ifndef QUIRE_REPLICATION_IMAGE_RECORDS_H
#define QUIRE_REPLICATION_IMAGE_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "batch_builder.h"
#include "image.h"

/* What a record changed, for whoever keeps things in step with the image (partition logs). */
enum image_change_kind {
  IMAGE_CHANGE_NONE,
  IMAGE_CHANGE_TOPIC_ADDED,
  IMAGE_CHANGE_TOPIC_REMOVED,
  IMAGE_CHANGE_PARTITION, /* added or changed */
  IMAGE_CHANGE_CONFIG,    /* topic is "" for a broker config */
};

struct image_change {
  enum image_change_kind kind;
  char topic[256];
  struct wire_uuid topic_id;
  int32_t partition;
};

/* Decodes one framed record and applies it. -EBADMSG for bytes that are not a record the image
 * understands or a change that contradicts it (an unknown topic id, a duplicate name). Record
 * types the image does not keep yet (ACLs, quotas, SCRAM, delegation tokens, brokers) are
 * skipped. */
int image_apply_record(struct image *img, const uint8_t *value, size_t size, int64_t offset,
                       struct image_change *change);

/* ---- writing changes: each adds one framed record to the builder (0, -ENOMEM, -E2BIG) ---- */
int image_record_topic(struct batch_builder *b, const char *name, size_t name_len,
                       const struct wire_uuid *id, int64_t now_ms);
int image_record_partition(struct batch_builder *b, const struct wire_uuid *topic_id, int32_t index,
                           const struct image_partition *p, int64_t now_ms);
int image_record_remove_topic(struct batch_builder *b, const struct wire_uuid *id, int64_t now_ms);
/* value NULL deletes the override. */
int image_record_config(struct batch_builder *b, int8_t resource_type, const char *resource,
                        size_t resource_len, const char *name, size_t name_len, const char *value,
                        int32_t value_len, int64_t now_ms);
int image_record_producer_ids(struct batch_builder *b, int32_t broker_id, int64_t broker_epoch,
                              int64_t next_producer_id, int64_t now_ms);

/* The whole image as records (a snapshot's content), in an order that applies cleanly. */
int image_records_all(const struct image *img, struct batch_builder *b, int64_t now_ms);

#endif
