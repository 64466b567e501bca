/* RecordBatch v2 (magic 2): the unit Kafka clients produce and fetch, stored as received.
 *
 * Layout (big-endian): baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 |
 * magic int8 | crc uint32 | attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 |
 * maxTimestamp int64 | producerId int64 | producerEpoch int16 | baseSequence int32 |
 * recordCount int32 | records. batchLength counts the bytes after itself; the CRC-32C covers
 * attributes to the end, so baseOffset and partitionLeaderEpoch can be rewritten without it. */
#ifndef QUIRE_PROTOCOL_RECORD_BATCH_H
#define QUIRE_PROTOCOL_RECORD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
  RB_LOG_OVERHEAD = 12, /* baseOffset + batchLength */
  RB_HEADER_SIZE = 61,  /* every header field, up to the first record */
  RB_CRC_OFFSET = 17,   /* the crc field */
  RB_CRC_START = 21,    /* the CRC covers from here (attributes) to the end */
};

/* Every header field's offset from the start of the batch. */
enum {
  RB_BASE_OFFSET_OFFSET = 0,
  RB_LENGTH_OFFSET = 8,
  RB_PARTITION_LEADER_EPOCH_OFFSET = 12,
  RB_MAGIC_OFFSET = 16,
  RB_ATTRIBUTES_OFFSET = 21,
  RB_LAST_OFFSET_DELTA_OFFSET = 23,
  RB_BASE_TIMESTAMP_OFFSET = 27,
  RB_MAX_TIMESTAMP_OFFSET = 35,
  RB_PRODUCER_ID_OFFSET = 43,
  RB_PRODUCER_EPOCH_OFFSET = 51,
  RB_BASE_SEQUENCE_OFFSET = 53,
  RB_RECORD_COUNT_OFFSET = 57,
  RB_MAGIC_V2 = 2,
  RB_RECORD_SIZE_MIN = 7, /* length 1 | attributes 1 | deltas 1+1 | key 1 | value 1 | headers 1 */
};

/* attributes (int16): bits 0-2 compression codec, 3 timestamp type, 4 transactional, 5 control,
 * 6 delete horizon set (baseTimestamp is then the delete horizon; written by compaction).
 * Bits 7-15 are unused; like Kafka, Quire ignores them. */
enum {
  RB_ATTR_COMPRESSION_MASK = 0x07,
  RB_ATTR_LOG_APPEND_TIME = 0x08,
  RB_ATTR_TRANSACTIONAL = 0x10,
  RB_ATTR_CONTROL = 0x20,
  RB_ATTR_DELETE_HORIZON = 0x40,
};

enum rb_compression {
  RB_COMPRESSION_NONE = 0,
  RB_COMPRESSION_GZIP = 1,
  RB_COMPRESSION_SNAPPY = 2,
  RB_COMPRESSION_LZ4 = 3,
  RB_COMPRESSION_ZSTD = 4, /* 5-7 do not exist: rb_validate refuses them */
};

enum rb_timestamp_type {
  RB_TIMESTAMP_CREATE_TIME = 0,
  RB_TIMESTAMP_LOG_APPEND_TIME = 1,
};

/* Kafka's "none" values of the producer fields and timestamps. */
#define RB_NO_PRODUCER_ID ((int64_t)-1)
#define RB_NO_PRODUCER_EPOCH ((int16_t)-1)
#define RB_NO_SEQUENCE ((int32_t)-1)
#define RB_NO_TIMESTAMP ((int64_t)-1)
#define RB_NO_PARTITION_LEADER_EPOCH ((int32_t)-1)

enum rb_status {
  RB_OK = 0,
  RB_ETRUNCATED = -1,  /* fewer bytes than the header or batchLength announce */
  RB_EMAGIC = -2,      /* not magic 2 */
  RB_ECRC = -3,        /* CRC-32C mismatch */
  RB_EINVALID = -4,    /* a field no valid batch has (negative length, count, deltas ...) */
  RB_ECOMPRESSED = -5, /* the records are compressed: decompress them first (compression.h) */
  RB_ELIMIT = -6,      /* decompressing would pass the caller's inflated-size cap */
  RB_ECODEC = -7,      /* the compressed records do not decompress */
  RB_ETIMESTAMP = -8,  /* a timestamp a producer may not send (LogAppendTime) */
  RB_END = 1,          /* not an error: the record iterator has returned every record */
};

/* A status's name ("RB_ECRC"), and the Kafka error code a Produce answers it with:
 * ETRUNCATED, ECRC, ECODEC -> CORRUPT_MESSAGE; EMAGIC, EINVALID, ECOMPRESSED -> INVALID_RECORD;
 * ELIMIT -> RECORD_LIST_TOO_LARGE; ETIMESTAMP -> INVALID_TIMESTAMP; OK, END -> NONE. */
const char *rb_status_name(int status);
int16_t rb_status_kafka_error(int status);

struct record_batch {
  int64_t base_offset;
  int32_t batch_length;
  int32_t partition_leader_epoch;
  int8_t magic;
  uint32_t crc;
  int16_t attributes;
  int32_t last_offset_delta;
  int64_t base_timestamp, max_timestamp;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  int32_t record_count;
  const uint8_t *records; /* after the header, records_size bytes (compressed or not) */
  size_t records_size;
};

/* Parses the header of the batch at p (n bytes available) without checking the CRC. The whole
 * batch is RB_LOG_OVERHEAD + batch_length bytes. Checks, in this order: n >= RB_HEADER_SIZE
 * (RB_ETRUNCATED, *b untouched); batchLength >= RB_HEADER_SIZE - RB_LOG_OVERHEAD (RB_EINVALID);
 * magic 2 (RB_EMAGIC); n >= the whole batch (RB_ETRUNCATED). Whenever n >= RB_HEADER_SIZE the
 * header fields of *b are filled, even on an error, so a caller that read only a header learns
 * the batch's size; records/records_size are set (else NULL/0) only when the batch is whole. */
int rb_parse_header(const uint8_t *p, size_t n, struct record_batch *b);
/* Parses the header and checks the CRC and the header's own consistency:
 *  - n >= RB_LOG_OVERHEAD + batchLength, batchLength >= RB_HEADER_SIZE - RB_LOG_OVERHEAD
 *    (Kafka: "the size is smaller than the minimum allowed overhead") -> RB_ETRUNCATED
 *  - magic 2 -> RB_EMAGIC (checked before the CRC: other magics have other layouts)
 *  - CRC-32C of attributes..end equal to crc -> RB_ECRC
 *  - codec 0-4, recordCount >= 0, lastOffsetDelta >= 0, lastOffsetDelta >= recordCount - 1 (the
 *    deltas of recordCount records strictly increase from 0 or more) -> RB_EINVALID
 *  - uncompressed: recordCount * RB_RECORD_SIZE_MIN <= records_size, and every record parses
 *    (what rb_records_next checks), exactly recordCount of them, no bytes left -> RB_EINVALID.
 * Compressed records are not inflated here (DESIGN.md: not on the hot path). What Kafka checks
 * only for batches from clients is in rb_check_produce. */
int rb_validate(const uint8_t *p, size_t n, struct record_batch *b);
/* Rewrites baseOffset (outside the CRC) in place. */
void rb_set_base_offset(uint8_t *p, int64_t base_offset);
/* Rewrites partitionLeaderEpoch (outside the CRC) in place. */
void rb_set_partition_leader_epoch(uint8_t *p, int32_t epoch);
/* Recomputes the CRC of a batch whose covered fields were rewritten; p holds the whole batch
 * (RB_LOG_OVERHEAD + batchLength bytes, batchLength as rb_validate accepted it). */
void rb_update_crc(uint8_t *p);
/* Sets the timestamp type bit and maxTimestamp and recomputes the CRC (Kafka's setMaxTimestamp:
 * LogAppendTime topics stamp the broker's clock; CreateTime keeps the records' maximum). */
void rb_set_max_timestamp(uint8_t *p, enum rb_timestamp_type type, int64_t max_timestamp);

/* What Kafka's LogValidator.validateBatch refuses from clients (AppendOrigin.CLIENT), on a batch
 * rb_validate accepted: recordCount <= 0, lastOffsetDelta + 1 != recordCount, a control batch,
 * a producerId >= 0 with baseSequence < 0 -> RB_EINVALID; and the LogAppendTime bit, which
 * producers may not set (LogValidator.validateTimestamp) -> RB_ETIMESTAMP. Per-record checks that
 * depend on topic configuration (keys on compacted topics, timestamp ranges) are the broker's. */
int rb_check_produce(const struct record_batch *b);

static inline int rb_compression(const struct record_batch *b) {
  return b->attributes & RB_ATTR_COMPRESSION_MASK;
}
static inline enum rb_timestamp_type rb_timestamp_type(const struct record_batch *b) {
  return (b->attributes & RB_ATTR_LOG_APPEND_TIME) ? RB_TIMESTAMP_LOG_APPEND_TIME
                                                   : RB_TIMESTAMP_CREATE_TIME;
}
static inline bool rb_is_transactional(const struct record_batch *b) {
  return (b->attributes & RB_ATTR_TRANSACTIONAL) != 0;
}
static inline bool rb_is_control(const struct record_batch *b) {
  return (b->attributes & RB_ATTR_CONTROL) != 0;
}
static inline bool rb_has_delete_horizon(const struct record_batch *b) {
  return (b->attributes & RB_ATTR_DELETE_HORIZON) != 0;
}
/* Kafka's hasProducerId: producerId > -1 (idempotent or transactional producer). */
static inline bool rb_has_producer_id(const struct record_batch *b) { return b->producer_id >= 0; }
static inline int64_t rb_last_offset(const struct record_batch *b) {
  return b->base_offset + b->last_offset_delta;
}
/* Bytes of the whole batch. */
static inline size_t rb_size(const struct record_batch *b) {
  return (size_t)RB_LOG_OVERHEAD + (size_t)b->batch_length;
}

/* ---- records ----
 * Each record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
 * keyLength varint + key | valueLength varint + value | headerCount varint + headers, a header
 * being keyLength varint + key (never null) | valueLength varint + value. Lengths -1 mean null.
 * The iterator borrows the records' bytes and never allocates. Every length is checked against
 * the bytes left in its record; the record's body must be used exactly (Kafka: "Invalid record
 * size"); offset deltas strictly increase and stay <= lastOffsetDelta; after recordCount records
 * no bytes may remain (Kafka: "Incorrect declared batch size"). Violations -> RB_EINVALID. */
struct rb_header {
  const uint8_t *key; /* not NUL-terminated */
  int32_t key_size;
  const uint8_t *value; /* NULL with value_size -1 when null */
  int32_t value_size;
};

struct rb_record {
  int8_t attributes;
  int64_t timestamp_delta;
  int64_t timestamp; /* baseTimestamp + delta; maxTimestamp under LogAppendTime (Kafka) */
  int32_t offset_delta;
  int64_t offset;     /* baseOffset + offsetDelta */
  const uint8_t *key; /* NULL with key_size -1 when null */
  int32_t key_size;
  const uint8_t *value;
  int32_t value_size;
  int32_t header_count;
  const uint8_t *headers; /* header_count headers, already checked; walk with rb_headers_next */
  size_t headers_size;
  size_t size; /* the whole record, its length varint included */
};

struct rb_record_iter {
  const uint8_t *p, *end;
  int64_t base_offset, base_timestamp, max_timestamp;
  bool log_append_time;
  int32_t record_count, last_offset_delta;
  int32_t index;             /* records returned so far */
  int64_t prev_offset_delta; /* -1 before the first record */
};

/* Iterates the records of an uncompressed batch; RB_ECOMPRESSED for a compressed one. */
int rb_records_begin(struct rb_record_iter *it, const struct record_batch *b);
/* Iterates records the caller has decompressed (rb_decompress) from a compressed batch b. */
void rb_records_begin_inflated(struct rb_record_iter *it, const struct record_batch *b,
                               const uint8_t *records, size_t records_size);
/* RB_OK with *r filled, RB_END after the last record (and on every call after that), or an
 * error (the iterator then stays at the failing record). */
int rb_records_next(struct rb_record_iter *it, struct rb_record *r);

struct rb_header_iter {
  const uint8_t *p, *end;
  int32_t left;
};
void rb_headers_begin(struct rb_header_iter *it, const struct rb_record *r);
/* RB_OK with *h filled, RB_END after the last header. */
int rb_headers_next(struct rb_header_iter *it, struct rb_header *h);

/* A walk over every record (what the broker needs to mirror Kafka's in-place validation). */
struct rb_records_summary {
  int32_t count;
  int64_t max_timestamp;                 /* RB_NO_TIMESTAMP when no record has one */
  int32_t offset_delta_of_max_timestamp; /* -1 when none */
  bool offsets_contiguous; /* deltas 0, 1, 2 ...: Kafka rebuilds batches that aren't */
  bool keys_present;       /* every record has a key (compacted topics need them) */
};
int rb_records_scan(struct rb_record_iter *it, struct rb_records_summary *s);

#endif
