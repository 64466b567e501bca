/* See batch_builder.h. The buffer holds the 61-byte header (filled at finish) followed by the
 * records as they are added; timestamps are stored as deltas from the first record's. */
#include "batch_builder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "record_batch.h"
#include "wire.h"

void batch_builder_init(struct batch_builder *b, int16_t attributes, int64_t producer_id,
                        int16_t producer_epoch, int32_t base_sequence) {
  memset(b, 0, sizeof(*b));
  b->attributes = attributes;
  b->producer_id = producer_id;
  b->producer_epoch = producer_epoch;
  b->base_sequence = base_sequence;
  b->size = RB_HEADER_SIZE;
}

static int reserve(struct batch_builder *b, size_t more) {
  if (more > INT32_MAX || b->size + more > INT32_MAX) return -E2BIG;
  if (b->size + more <= b->capacity) return 0;
  size_t cap = b->capacity ? b->capacity : 256;
  while (cap < b->size + more) cap *= 2;
  uint8_t *buf = realloc(b->buf, cap);
  if (buf == NULL) return -ENOMEM;
  b->buf = buf;
  b->capacity = cap;
  return 0;
}

static int add(struct batch_builder *b, const uint8_t *key, int32_t key_size, int32_t value_size,
               int64_t timestamp_ms, uint8_t **value_at) {
  if (b->count == 0) b->base_timestamp = b->max_timestamp = timestamp_ms;
  if (timestamp_ms > b->max_timestamp) b->max_timestamp = timestamp_ms;
  int64_t ts_delta = timestamp_ms - b->base_timestamp;
  int32_t k = key == NULL ? -1 : key_size, v = value_size;
  size_t body = 1 + wire_varlong_size(ts_delta) + wire_varint_size(b->count) + wire_varint_size(k) +
                (size_t)(k > 0 ? k : 0) + wire_varint_size(v) + (size_t)(v > 0 ? v : 0) +
                wire_varint_size(0);
  if (body > INT32_MAX) return -E2BIG;
  int rc = reserve(b, wire_varint_size((int32_t)body) + body);
  if (rc != 0) return rc;
  struct wire_writer w = {b->buf + b->size, b->buf + b->capacity, WIRE_OK, NULL};
  wire_write_varint(&w, (int32_t)body);
  wire_write_i8(&w, 0); /* record attributes: unused */
  wire_write_varlong(&w, ts_delta);
  wire_write_varint(&w, b->count);
  wire_write_varint(&w, k);
  if (k > 0) wire_write_raw(&w, key, (size_t)k);
  wire_write_varint(&w, v);
  *value_at = w.p;
  if (v > 0) w.p += v;
  wire_write_varint(&w, 0); /* no headers */
  b->size = (size_t)(w.p - b->buf);
  b->count++;
  return 0;
}

int batch_builder_add(struct batch_builder *b, const uint8_t *key, int32_t key_size,
                      const uint8_t *value, int32_t value_size, int64_t timestamp_ms) {
  uint8_t *at;
  if (value == NULL) value_size = -1;
  int rc = add(b, key, key_size, value_size, timestamp_ms, &at);
  if (rc == 0 && value_size > 0) memcpy(at, value, (size_t)value_size);
  return rc;
}

int batch_builder_add_in_place(struct batch_builder *b, int32_t value_size, int64_t timestamp_ms,
                               uint8_t **value) {
  return add(b, NULL, 0, value_size, timestamp_ms, value);
}

int batch_builder_finish(struct batch_builder *b, int64_t base_offset, int32_t leader_epoch,
                         uint8_t **out, size_t *size) {
  if (b->count == 0) return -EINVAL;
  int rc = reserve(b, 0);
  if (rc != 0) return rc;
  struct wire_writer w = {b->buf, b->buf + RB_HEADER_SIZE, WIRE_OK, NULL};
  wire_write_i64(&w, base_offset);
  wire_write_i32(&w, (int32_t)(b->size - RB_LOG_OVERHEAD));
  wire_write_i32(&w, leader_epoch);
  wire_write_i8(&w, RB_MAGIC_V2);
  wire_write_i32(&w, 0); /* crc, below */
  wire_write_i16(&w, b->attributes);
  wire_write_i32(&w, b->count - 1);
  wire_write_i64(&w, b->base_timestamp);
  wire_write_i64(&w, b->max_timestamp);
  wire_write_i64(&w, b->producer_id);
  wire_write_i16(&w, b->producer_epoch);
  wire_write_i32(&w, b->base_sequence);
  wire_write_i32(&w, b->count);
  uint32_t crc = crc32c(0, b->buf + RB_CRC_START, b->size - RB_CRC_START);
  w.p = b->buf + RB_CRC_OFFSET;
  wire_write_i32(&w, (int32_t)crc);
  *out = b->buf;
  *size = b->size;
  b->buf = NULL;
  b->capacity = 0;
  b->size = RB_HEADER_SIZE;
  b->count = 0;
  return 0;
}

void batch_builder_free(struct batch_builder *b) {
  free(b->buf);
  b->buf = NULL;
  b->capacity = 0;
}
