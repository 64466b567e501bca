/* Building RecordBatch v2 batches that the broker writes itself (metadata records, and later
 * group offsets and transaction markers): uncompressed, records with a key, a value and no
 * headers. The builder owns a growing buffer; finish fills the header and the CRC-32C. */
#ifndef QUIRE_PROTOCOL_BATCH_BUILDER_H
#define QUIRE_PROTOCOL_BATCH_BUILDER_H

#include <stddef.h>
#include <stdint.h>

struct batch_builder {
  uint8_t *buf;
  size_t size, capacity;
  int32_t count;
  int64_t base_timestamp, max_timestamp;
  int16_t attributes;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
};

/* attributes: RB_ATTR_* (control, transactional); compression must be none. */
void batch_builder_init(struct batch_builder *b, int16_t attributes, int64_t producer_id,
                        int16_t producer_epoch, int32_t base_sequence);
/* Appends a record; key or value NULL is a null key / value. Returns 0 or -ENOMEM, or -E2BIG
 * past INT32_MAX bytes. */
int batch_builder_add(struct batch_builder *b, const uint8_t *key, int32_t key_size,
                      const uint8_t *value, int32_t value_size, int64_t timestamp_ms);
/* Room for a record whose value the caller writes in place: *value points at value_size bytes
 * inside the buffer, valid until the next call. */
int batch_builder_add_in_place(struct batch_builder *b, int32_t value_size, int64_t timestamp_ms,
                               uint8_t **value);
/* Completes the batch (base offset, leader epoch, header, CRC) and hands the buffer over
 * (*out is malloc'd; the builder is empty again). At least one record. */
int batch_builder_finish(struct batch_builder *b, int64_t base_offset, int32_t leader_epoch,
                         uint8_t **out, size_t *size);
void batch_builder_free(struct batch_builder *b);

#endif
