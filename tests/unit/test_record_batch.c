/* RecordBatch v2: hand-built batches parse and iterate exactly; every truncation, corrupted field
 * and flipped bit is refused with its status; rewrites keep the CRC valid; Kafka's client-only
 * rules; compressed records through every codec; a batch captured from librdkafka (kcat). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compression.h"
#include "crc32c.h"
#include "errors.h"
#include "record_batch.h"
#include "record_batch_kcat.h"
#include "wire.h"

/* ---- a small batch builder ---- */

struct test_header {
  const char *key;
  const char *value; /* NULL: null value */
};

struct test_record {
  const char *key;   /* NULL: null key */
  const char *value; /* NULL: null value */
  int64_t timestamp_delta;
  int32_t offset_delta;
  int header_count;
  struct test_header headers[3];
};

struct test_batch {
  int64_t base_offset;
  int32_t partition_leader_epoch;
  int16_t attributes;
  int32_t last_offset_delta;
  int64_t base_timestamp, max_timestamp;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  int32_t record_count;
};

static void write_nullable(struct wire_writer *w, const char *s) {
  if (s == NULL) {
    wire_write_varint(w, -1);
    return;
  }
  wire_write_varint(w, (int32_t)strlen(s));
  wire_write_raw(w, s, strlen(s));
}

/* Encodes records into out; returns the size. */
static size_t records_build(uint8_t *out, size_t cap, const struct test_record *recs, int count) {
  struct wire_writer w = {out, out + cap, WIRE_OK, NULL};
  for (int i = 0; i < count; i++) {
    const struct test_record *r = &recs[i];
    uint8_t body[1024];
    struct wire_writer bw = {body, body + sizeof(body), WIRE_OK, NULL};
    wire_write_i8(&bw, 0);
    wire_write_varlong(&bw, r->timestamp_delta);
    wire_write_varint(&bw, r->offset_delta);
    write_nullable(&bw, r->key);
    write_nullable(&bw, r->value);
    wire_write_varint(&bw, r->header_count);
    for (int h = 0; h < r->header_count; h++) {
      write_nullable(&bw, r->headers[h].key);
      write_nullable(&bw, r->headers[h].value);
    }
    ck_assert_int_eq(bw.status, WIRE_OK);
    size_t body_size = (size_t)(bw.p - body);
    wire_write_varint(&w, (int32_t)body_size);
    wire_write_raw(&w, body, body_size);
  }
  ck_assert_int_eq(w.status, WIRE_OK);
  return (size_t)(w.p - out);
}

/* Writes a batch with these header fields around records; computes the CRC; returns the size. */
static size_t batch_build(uint8_t *out, size_t cap, const struct test_batch *t,
                          const uint8_t *records, size_t records_size) {
  struct wire_writer w = {out, out + cap, WIRE_OK, NULL};
  wire_write_i64(&w, t->base_offset);
  wire_write_i32(&w, (int32_t)(RB_HEADER_SIZE - RB_LOG_OVERHEAD + records_size));
  wire_write_i32(&w, t->partition_leader_epoch);
  wire_write_i8(&w, RB_MAGIC_V2);
  wire_write_u32(&w, 0);
  wire_write_i16(&w, t->attributes);
  wire_write_i32(&w, t->last_offset_delta);
  wire_write_i64(&w, t->base_timestamp);
  wire_write_i64(&w, t->max_timestamp);
  wire_write_i64(&w, t->producer_id);
  wire_write_i16(&w, t->producer_epoch);
  wire_write_i32(&w, t->base_sequence);
  wire_write_i32(&w, t->record_count);
  wire_write_raw(&w, records, records_size);
  ck_assert_int_eq(w.status, WIRE_OK);
  rb_update_crc(out);
  return (size_t)(w.p - out);
}

static const struct test_record sample_records[] = {
    {"k0", "v0", 0, 0, 0, {{0}}},
    {NULL, "value-without-key", 5, 1, 1, {{"h", "x"}}},
    {"k2", NULL, 7, 2, 2, {{"trace", "abc"}, {"empty", NULL}}},
    {"", "", 3, 3, 3, {{"a", ""}, {"", "b"}, {"c", "ddd"}}},
};
enum { SAMPLE_COUNT = 4 };

static struct test_batch sample_header(void) {
  struct test_batch t = {
      .base_offset = 0,
      .partition_leader_epoch = -1,
      .attributes = 0,
      .last_offset_delta = SAMPLE_COUNT - 1,
      .base_timestamp = 1700000000000,
      .max_timestamp = 1700000000007,
      .producer_id = RB_NO_PRODUCER_ID,
      .producer_epoch = RB_NO_PRODUCER_EPOCH,
      .base_sequence = RB_NO_SEQUENCE,
      .record_count = SAMPLE_COUNT,
  };
  return t;
}

/* The sample batch in buf; returns its size. */
static size_t sample_batch(uint8_t *buf, size_t cap) {
  uint8_t records[2048];
  size_t records_size = records_build(records, sizeof(records), sample_records, SAMPLE_COUNT);
  struct test_batch t = sample_header();
  return batch_build(buf, cap, &t, records, records_size);
}

static int validate(const uint8_t *p, size_t n) {
  struct record_batch b;
  return rb_validate(p, n, &b);
}

#define ck_assert_status(got, want)                                                 \
  do {                                                                              \
    int got_ = (got), want_ = (want);                                               \
    ck_assert_msg(got_ == want_, "%s: got %s, want %s", #got, rb_status_name(got_), \
                  rb_status_name(want_));                                           \
  } while (0)

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* ---- header and CRC ---- */

START_TEST(valid_batch_parses_every_header_field) {
  uint8_t buf[4096];
  struct test_batch t = sample_header();
  t.base_offset = 1234567890123;
  t.partition_leader_epoch = 17;
  t.producer_id = 4242;
  t.producer_epoch = 3;
  t.base_sequence = 99;
  t.attributes = RB_ATTR_TRANSACTIONAL;
  uint8_t records[2048];
  size_t records_size = records_build(records, sizeof(records), sample_records, SAMPLE_COUNT);
  size_t n = batch_build(buf, sizeof(buf), &t, records, records_size);
  struct record_batch b;
  ck_assert_status(rb_validate(buf, n, &b), RB_OK);
  ck_assert_int_eq(b.base_offset, 1234567890123);
  ck_assert_int_eq(b.batch_length, (int32_t)(n - RB_LOG_OVERHEAD));
  ck_assert_int_eq(b.partition_leader_epoch, 17);
  ck_assert_int_eq(b.magic, 2);
  ck_assert_uint_eq(b.crc, crc32c(0, buf + RB_CRC_START, n - RB_CRC_START));
  ck_assert_int_eq(b.last_offset_delta, 3);
  ck_assert_int_eq(b.base_timestamp, 1700000000000);
  ck_assert_int_eq(b.max_timestamp, 1700000000007);
  ck_assert_int_eq(b.producer_id, 4242);
  ck_assert_int_eq(b.producer_epoch, 3);
  ck_assert_int_eq(b.base_sequence, 99);
  ck_assert_int_eq(b.record_count, 4);
  ck_assert_ptr_eq(b.records, buf + RB_HEADER_SIZE);
  ck_assert_uint_eq(b.records_size, records_size);
  ck_assert_uint_eq(rb_size(&b), n);
  ck_assert_int_eq(rb_last_offset(&b), 1234567890126);
  ck_assert(rb_is_transactional(&b));
  ck_assert(!rb_is_control(&b));
  ck_assert(rb_has_producer_id(&b));
  ck_assert_int_eq(rb_compression(&b), RB_COMPRESSION_NONE);
  ck_assert_int_eq(rb_timestamp_type(&b), RB_TIMESTAMP_CREATE_TIME);
  /* A batch followed by other bytes (the next batch) validates on its own. */
  ck_assert_status(rb_validate(buf, sizeof(buf), &b), RB_OK);
}
END_TEST

START_TEST(attribute_accessors_read_each_bit) {
  struct record_batch b;
  memset(&b, 0, sizeof(b));
  for (int codec = 0; codec <= 4; codec++) {
    b.attributes = (int16_t)(codec | RB_ATTR_LOG_APPEND_TIME);
    ck_assert_int_eq(rb_compression(&b), codec);
    ck_assert_int_eq(rb_timestamp_type(&b), RB_TIMESTAMP_LOG_APPEND_TIME);
  }
  b.attributes = RB_ATTR_CONTROL | RB_ATTR_DELETE_HORIZON;
  ck_assert(rb_is_control(&b) && rb_has_delete_horizon(&b) && !rb_is_transactional(&b));
  ck_assert_int_eq(rb_compression(&b), RB_COMPRESSION_NONE);
  b.producer_id = -1;
  ck_assert(!rb_has_producer_id(&b));
  b.producer_id = 0;
  ck_assert(rb_has_producer_id(&b));
}
END_TEST

START_TEST(every_truncation_is_refused) {
  uint8_t buf[4096];
  size_t n = sample_batch(buf, sizeof(buf));
  for (size_t len = 0; len < n; len++) {
    uint8_t *copy = malloc(len > 0 ? len : 1); /* exact size: ASan sees any overread */
    memcpy(copy, buf, len);
    ck_assert_msg(validate(copy, len) == RB_ETRUNCATED, "length %zu: %s", len,
                  rb_status_name(validate(copy, len)));
    struct record_batch b;
    ck_assert_status(rb_parse_header(copy, len, &b), RB_ETRUNCATED);
    if (len >= RB_HEADER_SIZE) { /* a header alone still tells the batch's size */
      ck_assert_uint_eq(rb_size(&b), n);
      ck_assert_ptr_null(b.records);
    }
    free(copy);
  }
}
END_TEST

START_TEST(batch_length_below_the_header_is_invalid) {
  uint8_t buf[4096];
  size_t n = sample_batch(buf, sizeof(buf));
  int32_t lengths[] = {-1, INT32_MIN, 0, RB_HEADER_SIZE - RB_LOG_OVERHEAD - 1};
  for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
    put_be32(buf + RB_LENGTH_OFFSET, (uint32_t)lengths[i]);
    ck_assert_status(validate(buf, n), RB_EINVALID);
  }
  /* Longer than the bytes there: truncated. */
  put_be32(buf + RB_LENGTH_OFFSET, (uint32_t)(n - RB_LOG_OVERHEAD + 1));
  ck_assert_status(validate(buf, n), RB_ETRUNCATED);
  put_be32(buf + RB_LENGTH_OFFSET, (uint32_t)INT32_MAX);
  ck_assert_status(validate(buf, n), RB_ETRUNCATED);
}
END_TEST

START_TEST(magic_other_than_2_is_refused) {
  uint8_t buf[4096];
  size_t n = sample_batch(buf, sizeof(buf));
  int8_t magics[] = {0, 1, 3, -1};
  for (size_t i = 0; i < sizeof(magics); i++) {
    buf[RB_MAGIC_OFFSET] = (uint8_t)magics[i];
    ck_assert_status(validate(buf, n), RB_EMAGIC);
  }
}
END_TEST

START_TEST(every_flipped_bit_in_the_crc_area_is_a_crc_error) {
  uint8_t buf[4096];
  size_t n = sample_batch(buf, sizeof(buf));
  for (size_t i = RB_CRC_OFFSET; i < n; i++) {
    for (int bit = 0; bit < 8; bit++) {
      buf[i] ^= (uint8_t)(1u << bit);
      ck_assert_msg(validate(buf, n) == RB_ECRC, "byte %zu bit %d", i, bit);
      buf[i] ^= (uint8_t)(1u << bit);
    }
  }
  ck_assert_status(validate(buf, n), RB_OK);
}
END_TEST

START_TEST(base_offset_and_leader_epoch_rewrites_keep_the_crc_valid) {
  uint8_t buf[4096];
  size_t n = sample_batch(buf, sizeof(buf));
  uint32_t crc_before = crc32c(0, buf + RB_CRC_START, n - RB_CRC_START);
  rb_set_base_offset(buf, 987654321012);
  rb_set_partition_leader_epoch(buf, 42);
  struct record_batch b;
  ck_assert_status(rb_validate(buf, n, &b), RB_OK);
  ck_assert_int_eq(b.base_offset, 987654321012);
  ck_assert_int_eq(b.partition_leader_epoch, 42);
  ck_assert_uint_eq(b.crc, crc_before);
  struct rb_record_iter it;
  struct rb_record r;
  ck_assert_status(rb_records_begin(&it, &b), RB_OK);
  ck_assert_status(rb_records_next(&it, &r), RB_OK);
  ck_assert_int_eq(r.offset, 987654321012);
}
END_TEST

START_TEST(covered_rewrite_with_update_crc_validates) {
  uint8_t buf[4096];
  size_t n = sample_batch(buf, sizeof(buf));
  buf[RB_PRODUCER_EPOCH_OFFSET + 1] ^= 1;
  ck_assert_status(validate(buf, n), RB_ECRC);
  rb_update_crc(buf);
  ck_assert_status(validate(buf, n), RB_OK);
}
END_TEST

START_TEST(set_max_timestamp_rewrites_type_and_crc) {
  uint8_t buf[4096];
  size_t n = sample_batch(buf, sizeof(buf));
  struct record_batch b;
  rb_set_max_timestamp(buf, RB_TIMESTAMP_LOG_APPEND_TIME, 1800000000000);
  ck_assert_status(rb_validate(buf, n, &b), RB_OK);
  ck_assert_int_eq(rb_timestamp_type(&b), RB_TIMESTAMP_LOG_APPEND_TIME);
  ck_assert_int_eq(b.max_timestamp, 1800000000000);
  /* Under LogAppendTime every record carries the batch's maxTimestamp (Kafka). */
  struct rb_record_iter it;
  struct rb_record r;
  ck_assert_status(rb_records_begin(&it, &b), RB_OK);
  int count = 0;
  while (rb_records_next(&it, &r) == RB_OK) {
    ck_assert_int_eq(r.timestamp, 1800000000000);
    count++;
  }
  ck_assert_int_eq(count, SAMPLE_COUNT);
  rb_set_max_timestamp(buf, RB_TIMESTAMP_CREATE_TIME, 1700000000007);
  ck_assert_status(rb_validate(buf, n, &b), RB_OK);
  ck_assert_int_eq(rb_timestamp_type(&b), RB_TIMESTAMP_CREATE_TIME);
  ck_assert_int_eq(b.attributes, 0);
}
END_TEST

/* Rewrites a 4-byte header field, recomputes the CRC, and expects status. */
static void expect_field32(size_t offset, int32_t value, int status) {
  uint8_t buf[4096];
  size_t n = sample_batch(buf, sizeof(buf));
  put_be32(buf + offset, (uint32_t)value);
  rb_update_crc(buf);
  ck_assert_msg(validate(buf, n) == status, "field at %zu = %d: %s, want %s", offset, value,
                rb_status_name(validate(buf, n)), rb_status_name(status));
}

START_TEST(corrupted_header_fields_are_invalid) {
  expect_field32(RB_RECORD_COUNT_OFFSET, -1, RB_EINVALID);
  expect_field32(RB_RECORD_COUNT_OFFSET, INT32_MIN, RB_EINVALID);
  expect_field32(RB_RECORD_COUNT_OFFSET, SAMPLE_COUNT + 1, RB_EINVALID); /* runs out of records */
  expect_field32(RB_RECORD_COUNT_OFFSET, SAMPLE_COUNT - 1, RB_EINVALID); /* a record left over */
  expect_field32(RB_RECORD_COUNT_OFFSET, INT32_MAX, RB_EINVALID);
  expect_field32(RB_RECORD_COUNT_OFFSET, 0, RB_EINVALID); /* no records, but bytes */
  expect_field32(RB_LAST_OFFSET_DELTA_OFFSET, -1, RB_EINVALID);
  expect_field32(RB_LAST_OFFSET_DELTA_OFFSET, SAMPLE_COUNT - 2, RB_EINVALID);
  /* A larger lastOffsetDelta is what compaction leaves behind: fine. */
  expect_field32(RB_LAST_OFFSET_DELTA_OFFSET, SAMPLE_COUNT + 10, RB_OK);
  for (int codec = 5; codec <= 7; codec++) {
    uint8_t buf[4096];
    size_t n = sample_batch(buf, sizeof(buf));
    buf[RB_ATTRIBUTES_OFFSET + 1] = (uint8_t)codec;
    rb_update_crc(buf);
    ck_assert_status(validate(buf, n), RB_EINVALID);
  }
}
END_TEST

START_TEST(empty_batch_is_valid_but_not_from_a_producer) {
  uint8_t buf[256];
  struct test_batch t = sample_header();
  t.record_count = 0;
  t.last_offset_delta = 5; /* compaction removed every record, kept the batch */
  size_t n = batch_build(buf, sizeof(buf), &t, NULL, 0);
  struct record_batch b;
  ck_assert_status(rb_validate(buf, n, &b), RB_OK);
  ck_assert_uint_eq(n, RB_HEADER_SIZE);
  struct rb_record_iter it;
  struct rb_record r;
  ck_assert_status(rb_records_begin(&it, &b), RB_OK);
  ck_assert_status(rb_records_next(&it, &r), RB_END);
  ck_assert_status(rb_check_produce(&b), RB_EINVALID);
}
END_TEST

/* ---- records ---- */

static void expect_bytes(const uint8_t *p, int32_t size, const char *want) {
  if (want == NULL) {
    ck_assert_int_eq(size, -1);
    ck_assert_ptr_null(p);
    return;
  }
  ck_assert_int_eq(size, (int32_t)strlen(want));
  ck_assert(memcmp(p, want, strlen(want)) == 0);
}

START_TEST(iterator_yields_exact_records) {
  uint8_t buf[4096];
  size_t n = sample_batch(buf, sizeof(buf));
  rb_set_base_offset(buf, 100);
  struct record_batch b;
  ck_assert_status(rb_validate(buf, n, &b), RB_OK);
  struct rb_record_iter it;
  struct rb_record r;
  ck_assert_status(rb_records_begin(&it, &b), RB_OK);
  size_t total = 0;
  for (int i = 0; i < SAMPLE_COUNT; i++) {
    const struct test_record *want = &sample_records[i];
    ck_assert_status(rb_records_next(&it, &r), RB_OK);
    ck_assert_int_eq(r.attributes, 0);
    ck_assert_int_eq(r.offset_delta, want->offset_delta);
    ck_assert_int_eq(r.offset, 100 + want->offset_delta);
    ck_assert_int_eq(r.timestamp_delta, want->timestamp_delta);
    ck_assert_int_eq(r.timestamp, 1700000000000 + want->timestamp_delta);
    expect_bytes(r.key, r.key_size, want->key);
    expect_bytes(r.value, r.value_size, want->value);
    ck_assert_int_eq(r.header_count, want->header_count);
    struct rb_header_iter hi;
    struct rb_header h;
    rb_headers_begin(&hi, &r);
    for (int k = 0; k < want->header_count; k++) {
      ck_assert_status(rb_headers_next(&hi, &h), RB_OK);
      expect_bytes(h.key, h.key_size, want->headers[k].key);
      expect_bytes(h.value, h.value_size, want->headers[k].value);
    }
    ck_assert_status(rb_headers_next(&hi, &h), RB_END);
    total += r.size;
  }
  ck_assert_status(rb_records_next(&it, &r), RB_END);
  ck_assert_status(rb_records_next(&it, &r), RB_END);
  ck_assert_uint_eq(total, b.records_size);
}
END_TEST

START_TEST(scan_summarizes_timestamps_offsets_and_keys) {
  uint8_t buf[4096];
  size_t n = sample_batch(buf, sizeof(buf));
  struct record_batch b;
  ck_assert_status(rb_validate(buf, n, &b), RB_OK);
  struct rb_record_iter it;
  struct rb_records_summary s;
  ck_assert_status(rb_records_begin(&it, &b), RB_OK);
  ck_assert_status(rb_records_scan(&it, &s), RB_OK);
  ck_assert_int_eq(s.count, SAMPLE_COUNT);
  ck_assert_int_eq(s.max_timestamp, 1700000000007);
  ck_assert_int_eq(s.offset_delta_of_max_timestamp, 2);
  ck_assert(s.offsets_contiguous);
  ck_assert(!s.keys_present); /* record 1 has a null key */

  /* Gaps in the offsets (a compacted batch) are valid, but not contiguous. */
  struct test_record recs[2] = {{"a", "1", 0, 0, 0, {{0}}}, {"b", "2", 0, 4, 0, {{0}}}};
  uint8_t records[256];
  size_t records_size = records_build(records, sizeof(records), recs, 2);
  struct test_batch t = sample_header();
  t.record_count = 2;
  t.last_offset_delta = 4;
  n = batch_build(buf, sizeof(buf), &t, records, records_size);
  ck_assert_status(rb_validate(buf, n, &b), RB_OK);
  ck_assert_status(rb_records_begin(&it, &b), RB_OK);
  ck_assert_status(rb_records_scan(&it, &s), RB_OK);
  ck_assert(!s.offsets_contiguous);
  ck_assert(s.keys_present);
  ck_assert_status(rb_check_produce(&b), RB_EINVALID); /* lastOffsetDelta + 1 != count */
}
END_TEST

/* A batch around the given record bytes (count records, lastOffsetDelta last_delta). */
static int validate_records(const uint8_t *records, size_t records_size, int32_t count,
                            int32_t last_delta) {
  uint8_t buf[4096];
  struct test_batch t = sample_header();
  t.record_count = count;
  t.last_offset_delta = last_delta;
  size_t n = batch_build(buf, sizeof(buf), &t, records, records_size);
  uint8_t *copy = malloc(n);
  memcpy(copy, buf, n);
  int rc = validate(copy, n);
  free(copy);
  return rc;
}

/* One record from raw body bytes (the length varint is written here). */
static int validate_body(const uint8_t *body, size_t body_size) {
  uint8_t rec[512];
  rec[0] = (uint8_t)(body_size << 1); /* zigzag varint, body_size < 64 */
  memcpy(rec + 1, body, body_size);
  return validate_records(rec, body_size + 1, 1, 0);
}

START_TEST(corrupted_records_are_invalid) {
  /* zigzag varints: 0 -> 0x00, 1 -> 0x02, 2 -> 0x04, -1 -> 0x01, -2 -> 0x03 */
  /* attrs, tsDelta, offsetDelta, keyLen, valueLen, headers: the smallest valid record. */
  const uint8_t ok[] = {0, 0, 0, 0x01, 0x01, 0};
  ck_assert_status(validate_body(ok, sizeof(ok)), RB_OK);
  const uint8_t key_past_body[] = {0, 0, 0, 0x08, 'a', 0x01, 0};
  ck_assert_status(validate_body(key_past_body, sizeof(key_past_body)), RB_EINVALID);
  const uint8_t key_minus_2[] = {0, 0, 0, 0x03, 0x01, 0};
  ck_assert_status(validate_body(key_minus_2, sizeof(key_minus_2)), RB_EINVALID);
  const uint8_t value_past_body[] = {0, 0, 0, 0x01, 0x7e, 0};
  ck_assert_status(validate_body(value_past_body, sizeof(value_past_body)), RB_EINVALID);
  const uint8_t value_minus_2[] = {0, 0, 0, 0x01, 0x03, 0};
  ck_assert_status(validate_body(value_minus_2, sizeof(value_minus_2)), RB_EINVALID);
  const uint8_t headers_negative[] = {0, 0, 0, 0x01, 0x01, 0x01};
  ck_assert_status(validate_body(headers_negative, sizeof(headers_negative)), RB_EINVALID);
  const uint8_t headers_too_many[] = {0, 0, 0, 0x01, 0x01, 0x04, 0x02, 'k', 0x01};
  ck_assert_status(validate_body(headers_too_many, sizeof(headers_too_many)), RB_EINVALID);
  const uint8_t header_ok[] = {0, 0, 0, 0x01, 0x01, 0x02, 0x02, 'k', 0x01};
  ck_assert_status(validate_body(header_ok, sizeof(header_ok)), RB_OK);
  const uint8_t header_null_key[] = {0, 0, 0, 0x01, 0x01, 0x02, 0x01, 0x01};
  ck_assert_status(validate_body(header_null_key, sizeof(header_null_key)), RB_EINVALID);
  const uint8_t header_value_past[] = {0, 0, 0, 0x01, 0x01, 0x02, 0x02, 'k', 0x06, 'v'};
  ck_assert_status(validate_body(header_value_past, sizeof(header_value_past)), RB_EINVALID);
  const uint8_t trailing_byte[] = {0, 0, 0, 0x01, 0x01, 0, 0};
  ck_assert_status(validate_body(trailing_byte, sizeof(trailing_byte)), RB_EINVALID);
  const uint8_t body_too_short[] = {0, 0, 0, 0x01, 0x01};
  ck_assert_status(validate_body(body_too_short, sizeof(body_too_short)), RB_EINVALID);
  const uint8_t offset_negative[] = {0, 0, 0x01, 0x01, 0x01, 0};
  ck_assert_status(validate_body(offset_negative, sizeof(offset_negative)), RB_EINVALID);
  const uint8_t offset_past_last[] = {0, 0, 0x02, 0x01, 0x01, 0};
  ck_assert_status(validate_body(offset_past_last, sizeof(offset_past_last)), RB_EINVALID);
  /* A varint of more than 5 bytes / 32 bits. */
  const uint8_t long_varint[] = {0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x01, 0};
  ck_assert_status(validate_body(long_varint, sizeof(long_varint)), RB_EINVALID);

  /* Record length longer than the records, negative, or zero. */
  const uint8_t len_past_end[] = {0x0e, 0, 0, 0, 0x01, 0x01, 0};
  ck_assert_status(validate_records(len_past_end, sizeof(len_past_end), 1, 0), RB_EINVALID);
  const uint8_t len_negative[] = {0x0b, 0, 0, 0, 0x01, 0x01, 0};
  ck_assert_status(validate_records(len_negative, sizeof(len_negative), 1, 0), RB_EINVALID);

  /* Offset deltas must strictly increase. */
  const uint8_t same_delta[] = {0x0c, 0, 0, 0, 0x01, 0x01, 0, 0x0c, 0, 0, 0, 0x01, 0x01, 0};
  ck_assert_status(validate_records(same_delta, sizeof(same_delta), 2, 1), RB_EINVALID);
  const uint8_t down_delta[] = {0x0c, 0, 0, 0x02, 0x01, 0x01, 0, 0x0c, 0, 0, 0, 0x01, 0x01, 0};
  ck_assert_status(validate_records(down_delta, sizeof(down_delta), 2, 1), RB_EINVALID);
  const uint8_t up_delta[] = {0x0c, 0, 0, 0, 0x01, 0x01, 0, 0x0c, 0, 0, 0x02, 0x01, 0x01, 0};
  ck_assert_status(validate_records(up_delta, sizeof(up_delta), 2, 1), RB_OK);
}
END_TEST

/* Records whose varints take every width: lengths and deltas at the one-, two- and three-byte
 * boundaries (63/64 and 8191/8192 after zigzag), timestamp deltas up to ten bytes; each field comes
 * back exactly. The walk decodes short varints inline and longer ones through wire.c. */
struct sized_record {
  int64_t timestamp_delta;
  int32_t offset_delta;
  int32_t key_size, value_size; /* -1: null */
  int32_t header_key_size;      /* -1: no header */
  int32_t header_value_size;
};

static void write_sized(struct wire_writer *w, int32_t size, uint8_t fill) {
  wire_write_varint(w, size);
  for (int32_t i = 0; i < size; i++) wire_write_i8(w, (int8_t)fill);
}

static size_t sized_records_build(uint8_t *out, size_t cap, const struct sized_record *recs,
                                  int count) {
  struct wire_writer w = {out, out + cap, WIRE_OK, NULL};
  size_t body_cap = 40000;
  uint8_t *body = malloc(body_cap);
  ck_assert_ptr_nonnull(body);
  for (int i = 0; i < count; i++) {
    const struct sized_record *r = &recs[i];
    struct wire_writer bw = {body, body + body_cap, WIRE_OK, NULL};
    wire_write_i8(&bw, (int8_t)i);
    wire_write_varlong(&bw, r->timestamp_delta);
    wire_write_varint(&bw, r->offset_delta);
    write_sized(&bw, r->key_size, 'k');
    write_sized(&bw, r->value_size, 'v');
    wire_write_varint(&bw, r->header_key_size < 0 ? 0 : 1);
    if (r->header_key_size >= 0) {
      write_sized(&bw, r->header_key_size, 'h');
      write_sized(&bw, r->header_value_size, 'x');
    }
    ck_assert_int_eq(bw.status, WIRE_OK);
    wire_write_varint(&w, (int32_t)(bw.p - body));
    wire_write_raw(&w, body, (size_t)(bw.p - body));
  }
  free(body);
  ck_assert_int_eq(w.status, WIRE_OK);
  return (size_t)(w.p - out);
}

START_TEST(varints_of_every_width_decode_in_records) {
  const struct sized_record recs[] = {
      {0, 0, -1, 0, -1, 0},
      {31, 31, 31, 32, -1, 0},
      {32, 32, 32, 31, 0, -1},          /* zigzag 64: the first two-byte value */
      {-32, 33, 63, 64, 64, 63},        /* -32 -> 63, -33 -> 65 */
      {-33, 63, 64, 65, 4095, 4096},    /* 4096 -> 8192: the first three-byte value */
      {4095, 64, 4096, 4095, 4096, -1}, /* 4095 -> 8190 */
      {-4096, 4096, 8191, 8192, -1, 0},
      {-4097, 4097, 0, 20000, 1, 1},
      {INT64_MAX, 1000000, 2, 3, -1, 0}, /* ten-byte varlong */
      {INT64_MIN, 1000001, -1, -1, 0, 0},
      {(int64_t)1 << 40, INT32_MAX, 5, 5, -1, 0},
  };
  enum { COUNT = sizeof(recs) / sizeof(recs[0]) };
  size_t cap = 200000;
  uint8_t *records = malloc(cap), *batch = malloc(cap);
  ck_assert_ptr_nonnull(records);
  ck_assert_ptr_nonnull(batch);
  size_t records_size = sized_records_build(records, cap, recs, COUNT);
  struct test_batch t = sample_header();
  t.record_count = COUNT;
  t.last_offset_delta = INT32_MAX;
  size_t n = batch_build(batch, cap, &t, records, records_size);
  struct record_batch b;
  ck_assert_status(rb_validate(batch, n, &b), RB_OK);
  struct rb_record_iter it;
  struct rb_record r;
  ck_assert_status(rb_records_begin(&it, &b), RB_OK);
  for (int i = 0; i < COUNT; i++) {
    const struct sized_record *want = &recs[i];
    ck_assert_status(rb_records_next(&it, &r), RB_OK);
    ck_assert_int_eq(r.attributes, i);
    ck_assert_int_eq(r.timestamp_delta, want->timestamp_delta);
    ck_assert_int_eq(r.offset_delta, want->offset_delta);
    ck_assert_int_eq(r.key_size, want->key_size);
    ck_assert_int_eq(r.value_size, want->value_size);
    if (want->key_size > 0) ck_assert(r.key[0] == 'k' && r.key[want->key_size - 1] == 'k');
    if (want->key_size < 0) ck_assert_ptr_null(r.key);
    if (want->value_size > 0) ck_assert(r.value[0] == 'v' && r.value[want->value_size - 1] == 'v');
    if (want->value_size < 0) ck_assert_ptr_null(r.value);
    ck_assert_int_eq(r.header_count, want->header_key_size < 0 ? 0 : 1);
    struct rb_header_iter hi;
    struct rb_header h;
    rb_headers_begin(&hi, &r);
    if (want->header_key_size >= 0) {
      ck_assert_status(rb_headers_next(&hi, &h), RB_OK);
      ck_assert_int_eq(h.key_size, want->header_key_size);
      ck_assert_int_eq(h.value_size, want->header_value_size);
      if (want->header_value_size < 0) ck_assert_ptr_null(h.value);
    }
    ck_assert_status(rb_headers_next(&hi, &h), RB_END);
  }
  ck_assert_status(rb_records_next(&it, &r), RB_END);
  free(records);
  free(batch);
}
END_TEST

START_TEST(varints_cut_by_the_record_end_are_invalid) {
  /* A record whose body ends inside a two-byte varint: the header count (then the value length)
   * has its continuation bit set on the body's last byte, followed by a byte of the next record. */
  const uint8_t cut_header_count[] = {0x0c, 0, 0, 0,    0x01, 0x01, 0x80,
                                      0x0c, 0, 0, 0x02, 0x01, 0x01, 0};
  ck_assert_status(validate_records(cut_header_count, sizeof(cut_header_count), 2, 1), RB_EINVALID);
  const uint8_t cut_value_size[] = {0x0c, 0, 0, 0,    0x02, 'a',  0x80,
                                    0x0c, 0, 0, 0x02, 0x01, 0x01, 0};
  ck_assert_status(validate_records(cut_value_size, sizeof(cut_value_size), 2, 1), RB_EINVALID);
  /* The same bytes at the very end of the records. */
  const uint8_t cut_at_end[] = {0x0c, 0, 0, 0, 0x01, 0x01, 0x80};
  ck_assert_status(validate_records(cut_at_end, sizeof(cut_at_end), 1, 0), RB_EINVALID);
  /* A length varint cut by the end of the records. */
  const uint8_t cut_length[] = {0x80};
  ck_assert_status(validate_records(cut_length, sizeof(cut_length), 1, 0), RB_EINVALID);
  /* Over-long encodings are what wire.c (and Kafka's ByteUtils) make of them: two bytes for 0 are
   * 0; a ten-byte timestampDelta may carry one bit in its last byte, not two. */
  const uint8_t long_zero[] = {0x0e, 0, 0, 0x80, 0x00, 0x01, 0x01, 0};
  ck_assert_status(validate_records(long_zero, sizeof(long_zero), 1, 0), RB_OK);
  const uint8_t long_zero_ts[] = {0x0e, 0, 0x80, 0x00, 0, 0x01, 0x01, 0};
  ck_assert_status(validate_records(long_zero_ts, sizeof(long_zero_ts), 1, 0), RB_OK);
  uint8_t ts_64_bits[] = {0x1e, 0,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                          0xff, 0xff, 0xff, 0x01, 0,    0x01, 0x01, 0};
  ck_assert_status(validate_records(ts_64_bits, sizeof(ts_64_bits), 1, 0), RB_OK);
  ts_64_bits[11] = 0x02;
  ck_assert_status(validate_records(ts_64_bits, sizeof(ts_64_bits), 1, 0), RB_EINVALID);
}
END_TEST

START_TEST(random_corruptions_never_read_out_of_bounds) {
  uint8_t buf[4096];
  size_t n = sample_batch(buf, sizeof(buf));
  uint64_t x = 88172645463325252ull;
  int outcomes[16] = {0};
  for (int round = 0; round < 20000; round++) {
    uint8_t *copy = malloc(n);
    memcpy(copy, buf, n);
    int flips = 1 + round % 4;
    for (int f = 0; f < flips; f++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      size_t at = RB_HEADER_SIZE + (size_t)(x % (n - RB_HEADER_SIZE));
      copy[at] = (uint8_t)(x >> 32);
    }
    rb_update_crc(copy); /* past the CRC, into the record parser */
    int rc = validate(copy, n);
    ck_assert(rc == RB_OK || rc == RB_EINVALID);
    outcomes[rc == RB_OK]++;
    free(copy);
  }
  ck_assert_int_gt(outcomes[0], 0);
}
END_TEST

/* ---- client rules ---- */

START_TEST(produce_rules_mirror_kafka_validate_batch) {
  uint8_t buf[4096];
  size_t n = sample_batch(buf, sizeof(buf));
  struct record_batch b;
  ck_assert_status(rb_validate(buf, n, &b), RB_OK);
  ck_assert_status(rb_check_produce(&b), RB_OK); /* no producer id: -1 everywhere */

  struct record_batch c = b;
  c.attributes = RB_ATTR_CONTROL | RB_ATTR_TRANSACTIONAL;
  ck_assert_status(rb_check_produce(&c), RB_EINVALID);
  c = b;
  c.producer_id = 7;
  c.producer_epoch = 0;
  c.base_sequence = -1;
  ck_assert_status(rb_check_produce(&c), RB_EINVALID);
  c.base_sequence = 0;
  ck_assert_status(rb_check_produce(&c), RB_OK);
  c.attributes = RB_ATTR_TRANSACTIONAL;
  ck_assert_status(rb_check_produce(&c), RB_OK);
  c = b;
  c.last_offset_delta = b.record_count;
  ck_assert_status(rb_check_produce(&c), RB_EINVALID);
  c = b;
  c.attributes = RB_ATTR_LOG_APPEND_TIME;
  ck_assert_status(rb_check_produce(&c), RB_ETIMESTAMP);
}
END_TEST

START_TEST(statuses_have_names_and_kafka_errors) {
  ck_assert_str_eq(rb_status_name(RB_ECRC), "RB_ECRC");
  ck_assert_str_eq(rb_status_name(RB_END), "RB_END");
  ck_assert_int_eq(rb_status_kafka_error(RB_OK), ERR_NONE);
  ck_assert_int_eq(rb_status_kafka_error(RB_ECRC), ERR_CORRUPT_MESSAGE);
  ck_assert_int_eq(rb_status_kafka_error(RB_ETRUNCATED), ERR_CORRUPT_MESSAGE);
  ck_assert_int_eq(rb_status_kafka_error(RB_EINVALID), ERR_INVALID_RECORD);
  ck_assert_int_eq(rb_status_kafka_error(RB_EMAGIC), ERR_INVALID_RECORD);
  ck_assert_int_eq(rb_status_kafka_error(RB_ETIMESTAMP), ERR_INVALID_TIMESTAMP);
  ck_assert_int_eq(rb_status_kafka_error(RB_ELIMIT), ERR_RECORD_LIST_TOO_LARGE);
}
END_TEST

/* ---- compressed records ---- */

static uint8_t *xerial_frame(const uint8_t *raw, size_t raw_size, size_t block_size,
                             size_t *out_size) {
  size_t cap = 16 + (raw_size / block_size + 1) * (4 + rb_compress_bound(2, block_size));
  uint8_t *out = malloc(cap);
  static const uint8_t header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  memcpy(out, header, 16);
  size_t pos = 16;
  for (size_t off = 0; off < raw_size; off += block_size) {
    size_t chunk = raw_size - off < block_size ? raw_size - off : block_size;
    size_t made;
    ck_assert_status(
        rb_compress(RB_COMPRESSION_SNAPPY, raw + off, chunk, out + pos + 4, cap - pos - 4, &made),
        RB_OK);
    put_be32(out + pos, (uint32_t)made);
    pos += 4 + made;
  }
  *out_size = pos;
  return out;
}

START_TEST(compressed_batches_validate_and_iterate_after_decompression) {
  static const char *names[] = {"none", "gzip", "snappy", "lz4", "zstd", "snappy-xerial"};
  uint8_t raw[2048];
  size_t raw_size = records_build(raw, sizeof(raw), sample_records, SAMPLE_COUNT);
  for (int variant = 1; variant <= 5; variant++) {
    int codec = variant == 5 ? RB_COMPRESSION_SNAPPY : variant;
    uint8_t *z;
    size_t z_size;
    if (variant == 5) {
      z = xerial_frame(raw, raw_size, 16, &z_size); /* several blocks */
    } else {
      size_t bound = rb_compress_bound(codec, raw_size);
      z = malloc(bound);
      ck_assert_status(rb_compress(codec, raw, raw_size, z, bound, &z_size), RB_OK);
    }
    uint8_t buf[4096];
    struct test_batch t = sample_header();
    t.attributes = (int16_t)codec;
    size_t n = batch_build(buf, sizeof(buf), &t, z, z_size);
    struct record_batch b;
    ck_assert_msg(rb_validate(buf, n, &b) == RB_OK, "%s", names[variant]);
    struct rb_record_iter it;
    ck_assert_status(rb_records_begin(&it, &b), RB_ECOMPRESSED);

    uint8_t inflated[2048];
    size_t inflated_size = 0;
    ck_assert_msg(rb_decompress(codec, b.records, b.records_size, inflated, sizeof(inflated),
                                &inflated_size) == RB_OK,
                  "%s", names[variant]);
    ck_assert_uint_eq(inflated_size, raw_size);
    ck_assert(memcmp(inflated, raw, raw_size) == 0);
    rb_records_begin_inflated(&it, &b, inflated, inflated_size);
    struct rb_records_summary s;
    ck_assert_status(rb_records_scan(&it, &s), RB_OK);
    ck_assert_int_eq(s.count, SAMPLE_COUNT);

    /* The cap: exactly the inflated size passes, one byte less is RB_ELIMIT. */
    uint8_t *exact = malloc(raw_size);
    ck_assert_msg(
        rb_decompress(codec, b.records, b.records_size, exact, raw_size, &inflated_size) == RB_OK,
        "%s exact", names[variant]);
    ck_assert_msg(rb_decompress(codec, b.records, b.records_size, exact, raw_size - 1,
                                &inflated_size) == RB_ELIMIT,
                  "%s cap", names[variant]);
    ck_assert_status(rb_decompress(codec, b.records, b.records_size, exact, 0, &inflated_size),
                     RB_ELIMIT);
    free(exact);

    /* Truncated input: RB_ECODEC. Xerial framing cut at a block boundary is a valid shorter
     * stream, and a cut inside its 16-byte header reads as raw snappy announcing a huge size. */
    for (size_t cut = 0; cut < z_size; cut += (z_size / 16) + 1) {
      int rc = rb_decompress(codec, z, cut, inflated, sizeof(inflated), &inflated_size);
      ck_assert_msg(rc == RB_ECODEC || (variant == 5 && (rc == RB_OK || rc == RB_ELIMIT)),
                    "%s cut at %zu: %s", names[variant], cut, rb_status_name(rc));
    }
    free(z);
  }
  ck_assert_status(rb_decompress(RB_COMPRESSION_NONE, raw, raw_size, raw, 0, &raw_size),
                   RB_EINVALID);
  ck_assert_status(rb_decompress(6, raw, raw_size, raw, 0, &raw_size), RB_EINVALID);
}
END_TEST

START_TEST(garbage_does_not_decompress) {
  uint8_t garbage[256], out[1024];
  for (size_t i = 0; i < sizeof(garbage); i++) garbage[i] = (uint8_t)(i * 37 + 11);
  size_t size;
  for (int codec = 1; codec <= 4; codec++) {
    int rc = rb_decompress(codec, garbage, sizeof(garbage), out, sizeof(out), &size);
    ck_assert_msg(rc == RB_ECODEC || rc == RB_ELIMIT, "codec %d: %s", codec, rb_status_name(rc));
  }
}
END_TEST

START_TEST(decompression_cap_holds_for_a_bomb) {
  size_t raw_size = 1 << 20;
  uint8_t *raw = calloc(1, raw_size);
  for (int codec = 1; codec <= 4; codec++) {
    size_t bound = rb_compress_bound(codec, raw_size), z_size, out_size;
    uint8_t *z = malloc(bound);
    ck_assert_status(rb_compress(codec, raw, raw_size, z, bound, &z_size), RB_OK);
    uint8_t *out = malloc(4096);
    ck_assert_status(rb_decompress(codec, z, z_size, out, 4096, &out_size), RB_ELIMIT);
    free(out);
    free(z);
  }
  free(raw);
}
END_TEST

/* ---- batches from a real client ---- */

START_TEST(librdkafka_batches_validate_and_iterate_for_every_codec) {
  static const struct {
    const uint8_t *bytes;
    size_t size;
    int codec;
  } vectors[] = {
      {kcat_batch_none, sizeof(kcat_batch_none), RB_COMPRESSION_NONE},
      {kcat_batch_gzip, sizeof(kcat_batch_gzip), RB_COMPRESSION_GZIP},
      {kcat_batch_snappy, sizeof(kcat_batch_snappy), RB_COMPRESSION_SNAPPY},
      {kcat_batch_lz4, sizeof(kcat_batch_lz4), RB_COMPRESSION_LZ4},
      {kcat_batch_zstd, sizeof(kcat_batch_zstd), RB_COMPRESSION_ZSTD},
  };
  for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
    uint8_t *copy = malloc(vectors[v].size);
    memcpy(copy, vectors[v].bytes, vectors[v].size);
    struct record_batch b;
    ck_assert_status(rb_validate(copy, vectors[v].size, &b), RB_OK);
    ck_assert_uint_eq(rb_size(&b), vectors[v].size);
    ck_assert_int_eq(rb_compression(&b), vectors[v].codec);
    ck_assert_status(rb_check_produce(&b), RB_OK);
    ck_assert_int_eq(b.record_count, 3);
    ck_assert_int_eq(b.producer_id, RB_NO_PRODUCER_ID);

    uint8_t inflated[4096];
    const uint8_t *records = b.records;
    size_t records_size = b.records_size;
    if (vectors[v].codec != RB_COMPRESSION_NONE) {
      ck_assert_status(rb_decompress(vectors[v].codec, b.records, b.records_size, inflated,
                                     sizeof(inflated), &records_size),
                       RB_OK);
      records = inflated;
    }
    struct rb_record_iter it;
    rb_records_begin_inflated(&it, &b, records, records_size);
    struct rb_record r;
    for (int i = 0; i < 3; i++) {
      ck_assert_status(rb_records_next(&it, &r), RB_OK);
      ck_assert_int_eq(r.offset_delta, i);
      ck_assert_int_ge(r.timestamp, b.base_timestamp);
      ck_assert_int_le(r.timestamp, b.max_timestamp);
      expect_bytes(r.key, r.key_size, "k1");
      char want[256];
      snprintf(want, sizeof(want), "value-%d quire quire", i);
      ck_assert_int_eq(r.value_size, 8 + 6 * 20);
      ck_assert(memcmp(r.value, want, strlen(want)) == 0);
      struct rb_header_iter hi;
      struct rb_header h;
      rb_headers_begin(&hi, &r);
      ck_assert_status(rb_headers_next(&hi, &h), RB_OK);
      expect_bytes(h.key, h.key_size, "h1");
      expect_bytes(h.value, h.value_size, "v1");
      ck_assert_status(rb_headers_next(&hi, &h), RB_END);
    }
    ck_assert_status(rb_records_next(&it, &r), RB_END);

    /* The broker's rewrite on append keeps it valid. */
    rb_set_base_offset(copy, 5000);
    rb_set_partition_leader_epoch(copy, 3);
    ck_assert_status(rb_validate(copy, vectors[v].size, &b), RB_OK);
    free(copy);
  }
}
END_TEST

static Suite *record_batch_suite(void) {
  Suite *s = suite_create("record_batch");
  TCase *tc = tcase_create("header");
  tcase_add_test(tc, valid_batch_parses_every_header_field);
  tcase_add_test(tc, attribute_accessors_read_each_bit);
  tcase_add_test(tc, every_truncation_is_refused);
  tcase_add_test(tc, batch_length_below_the_header_is_invalid);
  tcase_add_test(tc, magic_other_than_2_is_refused);
  tcase_add_test(tc, every_flipped_bit_in_the_crc_area_is_a_crc_error);
  tcase_add_test(tc, base_offset_and_leader_epoch_rewrites_keep_the_crc_valid);
  tcase_add_test(tc, covered_rewrite_with_update_crc_validates);
  tcase_add_test(tc, set_max_timestamp_rewrites_type_and_crc);
  tcase_add_test(tc, corrupted_header_fields_are_invalid);
  tcase_add_test(tc, empty_batch_is_valid_but_not_from_a_producer);
  tcase_add_test(tc, statuses_have_names_and_kafka_errors);
  suite_add_tcase(s, tc);
  tc = tcase_create("records");
  tcase_add_test(tc, iterator_yields_exact_records);
  tcase_add_test(tc, scan_summarizes_timestamps_offsets_and_keys);
  tcase_add_test(tc, corrupted_records_are_invalid);
  tcase_add_test(tc, varints_of_every_width_decode_in_records);
  tcase_add_test(tc, varints_cut_by_the_record_end_are_invalid);
  tcase_add_test(tc, random_corruptions_never_read_out_of_bounds);
  tcase_add_test(tc, produce_rules_mirror_kafka_validate_batch);
  suite_add_tcase(s, tc);
  tc = tcase_create("compression");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, compressed_batches_validate_and_iterate_after_decompression);
  tcase_add_test(tc, garbage_does_not_decompress);
  tcase_add_test(tc, decompression_cap_holds_for_a_bomb);
  tcase_add_test(tc, librdkafka_batches_validate_and_iterate_for_every_codec);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(record_batch_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
