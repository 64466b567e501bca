/* RecordBatch v2: header parsing, validation, in-place rewrites, and the record iterator.
 *
 * Invariants: nothing here allocates or trusts a length before checking it against the bytes
 * left in the enclosing unit (batch, then record body); the rewrite functions take a batch the
 * caller has already validated, and assert (always on) only our own invariants. */
#include "record_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "errors.h"
#include "invariant.h"
#include "wire.h"

/* ---- big-endian access ---- */

static uint16_t get_u16(const uint8_t *p) { return (uint16_t)((unsigned)p[0] << 8 | p[1]); }
static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t get_u64(const uint8_t *p) { return (uint64_t)get_u32(p) << 32 | get_u32(p + 4); }
static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static void put_u64(uint8_t *p, uint64_t v) {
  put_u32(p, (uint32_t)(v >> 32));
  put_u32(p + 4, (uint32_t)v);
}

/* ---- statuses ---- */

const char *rb_status_name(int status) {
  switch (status) {
  case RB_OK: return "RB_OK";
  case RB_ETRUNCATED: return "RB_ETRUNCATED";
  case RB_EMAGIC: return "RB_EMAGIC";
  case RB_ECRC: return "RB_ECRC";
  case RB_EINVALID: return "RB_EINVALID";
  case RB_ECOMPRESSED: return "RB_ECOMPRESSED";
  case RB_ELIMIT: return "RB_ELIMIT";
  case RB_ECODEC: return "RB_ECODEC";
  case RB_ETIMESTAMP: return "RB_ETIMESTAMP";
  case RB_END: return "RB_END";
  default: return "RB_UNKNOWN_STATUS";
  }
}

int16_t rb_status_kafka_error(int status) {
  switch (status) {
  case RB_OK:
  case RB_END: return ERR_NONE;
  case RB_ETRUNCATED:
  case RB_ECRC:
  case RB_ECODEC: return ERR_CORRUPT_MESSAGE;
  case RB_EMAGIC:
  case RB_EINVALID:
  case RB_ECOMPRESSED: return ERR_INVALID_RECORD;
  case RB_ELIMIT: return ERR_RECORD_LIST_TOO_LARGE;
  case RB_ETIMESTAMP: return ERR_INVALID_TIMESTAMP;
  default: return ERR_UNKNOWN_SERVER_ERROR;
  }
}

/* ---- header ---- */

int rb_parse_header(const uint8_t *p, size_t n, struct record_batch *b) {
  if (n < RB_HEADER_SIZE) return RB_ETRUNCATED;
  b->base_offset = (int64_t)get_u64(p + RB_BASE_OFFSET_OFFSET);
  b->batch_length = (int32_t)get_u32(p + RB_LENGTH_OFFSET);
  b->partition_leader_epoch = (int32_t)get_u32(p + RB_PARTITION_LEADER_EPOCH_OFFSET);
  b->magic = (int8_t)p[RB_MAGIC_OFFSET];
  b->crc = get_u32(p + RB_CRC_OFFSET);
  b->attributes = (int16_t)get_u16(p + RB_ATTRIBUTES_OFFSET);
  b->last_offset_delta = (int32_t)get_u32(p + RB_LAST_OFFSET_DELTA_OFFSET);
  b->base_timestamp = (int64_t)get_u64(p + RB_BASE_TIMESTAMP_OFFSET);
  b->max_timestamp = (int64_t)get_u64(p + RB_MAX_TIMESTAMP_OFFSET);
  b->producer_id = (int64_t)get_u64(p + RB_PRODUCER_ID_OFFSET);
  b->producer_epoch = (int16_t)get_u16(p + RB_PRODUCER_EPOCH_OFFSET);
  b->base_sequence = (int32_t)get_u32(p + RB_BASE_SEQUENCE_OFFSET);
  b->record_count = (int32_t)get_u32(p + RB_RECORD_COUNT_OFFSET);
  b->records = NULL;
  b->records_size = 0;
  if (b->batch_length < RB_HEADER_SIZE - RB_LOG_OVERHEAD) return RB_EINVALID;
  if (b->magic != RB_MAGIC_V2) return RB_EMAGIC;
  if (n - RB_LOG_OVERHEAD < (size_t)b->batch_length) return RB_ETRUNCATED;
  b->records = p + RB_HEADER_SIZE;
  b->records_size = (size_t)b->batch_length - (RB_HEADER_SIZE - RB_LOG_OVERHEAD);
  return RB_OK;
}

int rb_validate(const uint8_t *p, size_t n, struct record_batch *b) {
  int rc = rb_parse_header(p, n, b);
  if (rc != RB_OK) return rc;
  if (crc32c(0, p + RB_CRC_START, rb_size(b) - RB_CRC_START) != b->crc) return RB_ECRC;
  if (rb_compression(b) > RB_COMPRESSION_ZSTD) return RB_EINVALID;
  if (b->record_count < 0 || b->last_offset_delta < 0) return RB_EINVALID;
  /* recordCount strictly increasing deltas from >= 0 end at >= recordCount - 1. */
  if (b->record_count > 0 && b->last_offset_delta < b->record_count - 1) return RB_EINVALID;
  if (rb_compression(b) != RB_COMPRESSION_NONE) return RB_OK;
  if (b->records_size / RB_RECORD_SIZE_MIN < (size_t)b->record_count) return RB_EINVALID;
  struct rb_record_iter it;
  rc = rb_records_begin(&it, b);
  INVARIANT(rc == RB_OK);
  struct rb_record r;
  while ((rc = rb_records_next(&it, &r)) == RB_OK) {
  }
  return rc == RB_END ? RB_OK : rc;
}

void rb_set_base_offset(uint8_t *p, int64_t base_offset) {
  put_u64(p + RB_BASE_OFFSET_OFFSET, (uint64_t)base_offset);
}

void rb_set_partition_leader_epoch(uint8_t *p, int32_t epoch) {
  put_u32(p + RB_PARTITION_LEADER_EPOCH_OFFSET, (uint32_t)epoch);
}

void rb_update_crc(uint8_t *p) {
  int32_t batch_length = (int32_t)get_u32(p + RB_LENGTH_OFFSET);
  INVARIANT(batch_length >= RB_HEADER_SIZE - RB_LOG_OVERHEAD);
  size_t covered = (size_t)RB_LOG_OVERHEAD + (size_t)batch_length - RB_CRC_START;
  put_u32(p + RB_CRC_OFFSET, crc32c(0, p + RB_CRC_START, covered));
}

void rb_set_max_timestamp(uint8_t *p, enum rb_timestamp_type type, int64_t max_timestamp) {
  uint16_t attributes = get_u16(p + RB_ATTRIBUTES_OFFSET);
  if (type == RB_TIMESTAMP_LOG_APPEND_TIME)
    attributes |= RB_ATTR_LOG_APPEND_TIME;
  else
    attributes &= (uint16_t)~RB_ATTR_LOG_APPEND_TIME;
  put_u16(p + RB_ATTRIBUTES_OFFSET, attributes);
  put_u64(p + RB_MAX_TIMESTAMP_OFFSET, (uint64_t)max_timestamp);
  rb_update_crc(p);
}

int rb_check_produce(const struct record_batch *b) {
  if (b->record_count <= 0) return RB_EINVALID;
  if ((int64_t)b->last_offset_delta + 1 != b->record_count) return RB_EINVALID;
  if (rb_is_control(b)) return RB_EINVALID;
  if (rb_has_producer_id(b) && b->base_sequence < 0) return RB_EINVALID;
  if (rb_timestamp_type(b) == RB_TIMESTAMP_LOG_APPEND_TIME) return RB_ETIMESTAMP;
  return RB_OK;
}

/* ---- records ---- */

static void iter_init(struct rb_record_iter *it, const struct record_batch *b,
                      const uint8_t *records, size_t records_size) {
  it->p = records;
  it->end = records + records_size;
  it->base_offset = b->base_offset;
  it->base_timestamp = b->base_timestamp;
  it->max_timestamp = b->max_timestamp;
  it->log_append_time = rb_timestamp_type(b) == RB_TIMESTAMP_LOG_APPEND_TIME;
  it->record_count = b->record_count;
  it->last_offset_delta = b->last_offset_delta;
  it->index = 0;
  it->prev_offset_delta = -1;
}

int rb_records_begin(struct rb_record_iter *it, const struct record_batch *b) {
  if (rb_compression(b) != RB_COMPRESSION_NONE) return RB_ECOMPRESSED;
  iter_init(it, b, b->records, b->records_size);
  return RB_OK;
}

void rb_records_begin_inflated(struct rb_record_iter *it, const struct record_batch *b,
                               const uint8_t *records, size_t records_size) {
  iter_init(it, b, records, records_size);
}

/* Varints of three bytes or more, out of line and returning both results in registers (the value,
 * and where the varint ends or NULL when it is invalid), so that neither the walk's read pointer
 * nor the iterator's p and end go through memory. (A wire_reader built inline made GCC load the
 * iterator's p and end as one 16-byte vector, which stalls on the 8-byte store of p by the previous
 * call.) */
struct rec_varint_long {
  uint64_t value;
  const uint8_t *next;
};

__attribute__((noinline)) static struct rec_varint_long
rec_uvar_long(const uint8_t *p, const uint8_t *end, bool wide) {
  struct wire_reader r = {p, end, NULL};
  uint64_t v64 = 0;
  uint32_t v32 = 0;
  int rc = wide ? wire_read_uvarlong_multibyte(&r, &v64) : wire_read_uvarint_multibyte(&r, &v32);
  if (rc != WIRE_OK) return (struct rec_varint_long){0, NULL};
  return (struct rec_varint_long){wide ? v64 : v32, r.p};
}

/* The record walk reads six varints or more per record, straight from [*pp, end): values of one
 * byte (under 64 after zigzag) and two (under 8192) are decoded here, longer ones by wire.c, whose
 * rules (at most 5 bytes and 32 bits, or with wide 10 bytes and 64 bits) decide what is valid.
 * Returns false, leaving *pp alone, when the range ends first or the encoding is invalid. */
static inline bool rec_uvar(const uint8_t **pp, const uint8_t *end, bool wide, uint64_t *v) {
  const uint8_t *p = *pp;
  if (p < end && p[0] < 0x80) {
    *v = p[0];
    *pp = p + 1;
    return true;
  }
  if (end - p >= 2 && p[1] < 0x80) {
    *v = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
    *pp = p + 2;
    return true;
  }
  struct rec_varint_long l = rec_uvar_long(p, end, wide);
  if (l.next == NULL) return false;
  *v = l.value;
  *pp = l.next;
  return true;
}

/* zigzag, as wire_read_varint and wire_read_varlong */
static inline bool rec_varint(const uint8_t **pp, const uint8_t *end, int32_t *v) {
  uint64_t u;
  if (!rec_uvar(pp, end, false, &u)) return false;
  uint32_t w = (uint32_t)u;
  *v = (int32_t)((w >> 1) ^ (~(w & 1) + 1));
  return true;
}

static inline bool rec_varlong(const uint8_t **pp, const uint8_t *end, int64_t *v) {
  uint64_t u;
  if (!rec_uvar(pp, end, true, &u)) return false;
  *v = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

/* A varint length and the bytes it announces: -1 (null, when nullable; *data NULL) or 0..bytes
 * left (*data the bytes, *pp past them). */
static inline bool rec_bytes(const uint8_t **pp, const uint8_t *end, bool nullable, int32_t *size,
                             const uint8_t **data) {
  const uint8_t *p = *pp;
  int32_t n;
  if (!rec_varint(&p, end, &n)) return false;
  if (n < 0) {
    if (n != -1 || !nullable) return false;
    *size = -1;
    *data = NULL;
    *pp = p;
    return true;
  }
  if ((size_t)n > (size_t)(end - p)) return false;
  *size = n;
  *data = p;
  *pp = p + n;
  return true;
}

/* One header: key (never null) and value (nullable); h (filled only when the header is valid)
 * may be NULL to just skip it. */
static inline bool rec_header(const uint8_t **pp, const uint8_t *end, struct rb_header *h) {
  struct rb_header got;
  if (!rec_bytes(pp, end, false, &got.key_size, &got.key) ||
      !rec_bytes(pp, end, true, &got.value_size, &got.value))
    return false;
  if (h != NULL) *h = got;
  return true;
}

static int read_header(struct wire_reader *r, struct rb_header *h) {
  return rec_header(&r->p, r->end, h) ? RB_OK : RB_EINVALID;
}

/* The fields are kept in locals (registers) and stored into *rec only once the record is known
 * valid: filling a local struct rb_record and copying it out cost about 15% of the walk. */
int rb_records_next(struct rb_record_iter *it, struct rb_record *rec) {
  if (it->index >= it->record_count) return it->p == it->end ? RB_END : RB_EINVALID;
  const uint8_t *p = it->p;
  int32_t body_size;
  /* attributes, timestampDelta, offsetDelta, key and value lengths, header count: >= 6 bytes */
  if (!rec_varint(&p, it->end, &body_size) || body_size < RB_RECORD_SIZE_MIN - 1 ||
      (size_t)body_size > (size_t)(it->end - p))
    return RB_EINVALID;
  const uint8_t *end = p + body_size;
  int8_t attributes = (int8_t)*p++; /* body_size >= 6 */
  int64_t timestamp_delta;
  int32_t offset_delta, key_size, value_size, header_count;
  const uint8_t *key, *value;
  if (!rec_varlong(&p, end, &timestamp_delta) || !rec_varint(&p, end, &offset_delta))
    return RB_EINVALID;
  if (offset_delta <= it->prev_offset_delta || offset_delta > it->last_offset_delta)
    return RB_EINVALID;
  if (!rec_bytes(&p, end, true, &key_size, &key) || !rec_bytes(&p, end, true, &value_size, &value))
    return RB_EINVALID;
  if (!rec_varint(&p, end, &header_count) || header_count < 0 ||
      (size_t)header_count > (size_t)(end - p) / 2) /* a header is at least 2 bytes */
    return RB_EINVALID;
  const uint8_t *headers = p;
  for (int32_t i = 0; i < header_count; i++)
    if (!rec_header(&p, end, NULL)) return RB_EINVALID;
  if (p != end) return RB_EINVALID; /* Kafka: "Invalid record size" */
  rec->attributes = attributes;
  rec->timestamp_delta = timestamp_delta;
  /* Java long arithmetic wraps; so does ours (without C's signed-overflow UB). */
  rec->timestamp = it->log_append_time
                       ? it->max_timestamp
                       : (int64_t)((uint64_t)it->base_timestamp + (uint64_t)timestamp_delta);
  rec->offset_delta = offset_delta;
  rec->offset = (int64_t)((uint64_t)it->base_offset + (uint64_t)(int64_t)offset_delta);
  rec->key = key;
  rec->key_size = key_size;
  rec->value = value;
  rec->value_size = value_size;
  rec->header_count = header_count;
  rec->headers = headers;
  rec->headers_size = (size_t)(p - headers);
  rec->size = (size_t)(end - it->p);
  it->p = end;
  it->prev_offset_delta = offset_delta;
  it->index++;
  return RB_OK;
}

void rb_headers_begin(struct rb_header_iter *it, const struct rb_record *r) {
  it->p = r->headers;
  it->end = r->headers + r->headers_size;
  it->left = r->header_count;
}

int rb_headers_next(struct rb_header_iter *it, struct rb_header *h) {
  if (it->left <= 0) return RB_END;
  struct wire_reader r = {it->p, it->end, NULL};
  if (read_header(&r, h) != RB_OK) return RB_EINVALID;
  it->p = r.p;
  it->left--;
  return RB_OK;
}

int rb_records_scan(struct rb_record_iter *it, struct rb_records_summary *s) {
  s->count = 0;
  s->max_timestamp = RB_NO_TIMESTAMP;
  s->offset_delta_of_max_timestamp = -1;
  s->offsets_contiguous = true;
  s->keys_present = true;
  struct rb_record r;
  int rc;
  while ((rc = rb_records_next(it, &r)) == RB_OK) {
    if (r.timestamp > s->max_timestamp) {
      s->max_timestamp = r.timestamp;
      s->offset_delta_of_max_timestamp = r.offset_delta;
    }
    if (r.offset_delta != s->count) s->offsets_contiguous = false;
    if (r.key_size < 0) s->keys_present = false;
    s->count++;
  }
  return rc == RB_END ? RB_OK : rc;
}
