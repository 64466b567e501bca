/* The Produce-side batch checks and rewrites (protocol/batch_convert.h): the hot path leaves a
 * batch untouched and never inflates it; recompression between every pair of codecs keeps every
 * record; LogAppendTime stamps without recompressing; a compression bomb is refused at the cap;
 * keyless records on compacted topics and out-of-range timestamps get Kafka's per-record errors;
 * Kafka's batch-level refusals, with corruption winning over other errors. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_convert.h"
#include "compression.h"
#include "crc32c.h"
#include "errors.h"
#include "record_batch.h"
#include "wire.h"

#define NOW 1700000000000LL

static const int codecs[] = {RB_COMPRESSION_NONE, RB_COMPRESSION_GZIP, RB_COMPRESSION_SNAPPY,
                             RB_COMPRESSION_LZ4, RB_COMPRESSION_ZSTD};
enum { CODEC_COUNT = 5 };

/* ---- building batches ---- */

static size_t put_varint(uint8_t *p, int64_t v) {
  uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  size_t n = 0;
  while (z >= 0x80) {
    p[n++] = (uint8_t)(z | 0x80);
    z >>= 7;
  }
  p[n++] = (uint8_t)z;
  return n;
}

static void put_be(uint8_t *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

struct spec {
  int count;
  int codec;
  int64_t base_timestamp;
  const int64_t *timestamps; /* NULL: base + i */
  bool keyless_odd;          /* records 1, 3, 5 ... have a null key */
  int64_t base_offset;
  int16_t extra_attributes;
  int64_t producer_id;
  size_t value_size;
};

static struct spec spec_plain(int count, int codec) {
  return (struct spec){count, codec, NOW - 1000, NULL, false, 0, 0, -1, 40};
}

/* The raw (uncompressed) records of s. */
static size_t records_build(uint8_t *out, const struct spec *s) {
  size_t pos = 0;
  for (int i = 0; i < s->count; i++) {
    uint8_t body[4096];
    size_t n = 0;
    int64_t ts = s->timestamps != NULL ? s->timestamps[i] : s->base_timestamp + i;
    body[n++] = 0;
    n += put_varint(body + n, ts - s->base_timestamp);
    n += put_varint(body + n, i);
    if (s->keyless_odd && i % 2 == 1) {
      n += put_varint(body + n, -1);
    } else {
      char key[16];
      int kl = snprintf(key, sizeof(key), "key-%d", i);
      n += put_varint(body + n, kl);
      memcpy(body + n, key, (size_t)kl);
      n += (size_t)kl;
    }
    n += put_varint(body + n, (int64_t)s->value_size);
    for (size_t v = 0; v < s->value_size; v++) body[n++] = (uint8_t)('a' + (i + (int)v) % 26);
    n += put_varint(body + n, 0);
    pos += put_varint(out + pos, (int64_t)n);
    memcpy(out + pos, body, n);
    pos += n;
  }
  return pos;
}

/* A whole batch (malloc'd) as a client sends it. */
static uint8_t *batch_build(const struct spec *s, size_t *size) {
  size_t raw_cap = (size_t)s->count * (s->value_size + 64) + 16;
  uint8_t *raw = malloc(raw_cap);
  ck_assert_ptr_nonnull(raw);
  size_t raw_size = records_build(raw, s);
  size_t cap = RB_HEADER_SIZE +
               (s->codec == RB_COMPRESSION_NONE ? raw_size : rb_compress_bound(s->codec, raw_size));
  uint8_t *p = calloc(1, cap);
  ck_assert_ptr_nonnull(p);
  size_t body = raw_size;
  if (s->codec == RB_COMPRESSION_NONE)
    memcpy(p + RB_HEADER_SIZE, raw, raw_size);
  else
    ck_assert_int_eq(
        rb_compress(s->codec, raw, raw_size, p + RB_HEADER_SIZE, cap - RB_HEADER_SIZE, &body),
        RB_OK);
  free(raw);
  int64_t max_ts = RB_NO_TIMESTAMP;
  for (int i = 0; i < s->count; i++) {
    int64_t ts = s->timestamps != NULL ? s->timestamps[i] : s->base_timestamp + i;
    if (ts > max_ts) max_ts = ts;
  }
  size_t total = RB_HEADER_SIZE + body;
  put_be(p + RB_BASE_OFFSET_OFFSET, (uint64_t)s->base_offset, 8);
  put_be(p + RB_LENGTH_OFFSET, total - RB_LOG_OVERHEAD, 4);
  put_be(p + RB_PARTITION_LEADER_EPOCH_OFFSET, (uint64_t)-1, 4);
  p[RB_MAGIC_OFFSET] = 2;
  put_be(p + RB_ATTRIBUTES_OFFSET, (uint64_t)(s->codec | s->extra_attributes), 2);
  put_be(p + RB_LAST_OFFSET_DELTA_OFFSET, (uint64_t)(s->count - 1), 4);
  put_be(p + RB_BASE_TIMESTAMP_OFFSET, (uint64_t)s->base_timestamp, 8);
  put_be(p + RB_MAX_TIMESTAMP_OFFSET, (uint64_t)max_ts, 8);
  put_be(p + RB_PRODUCER_ID_OFFSET, (uint64_t)s->producer_id, 8);
  put_be(p + RB_PRODUCER_EPOCH_OFFSET, (uint64_t)(s->producer_id >= 0 ? 0 : -1), 2);
  put_be(p + RB_BASE_SEQUENCE_OFFSET, (uint64_t)(s->producer_id >= 0 ? 0 : -1), 4);
  put_be(p + RB_RECORD_COUNT_OFFSET, (uint64_t)s->count, 4);
  rb_update_crc(p);
  *size = total;
  return p;
}

static struct bc_policy policy_default(void) {
  return (struct bc_policy){
      BC_CODEC_PRODUCER,       -1, 9, 3, false, INT64_MAX, 3600000, false, 1048588,
      BC_INFLATED_MAX_DEFAULT, 13};
}

static struct wire_arena arena;
static void setup(void) { wire_arena_init(&arena, (size_t)64 << 20); }
static void teardown(void) { wire_arena_free(&arena); }

/* Every record of a stored batch, checked against the spec it was built from. */
static void assert_records_match(const uint8_t *p, size_t n, const struct spec *s) {
  struct record_batch b;
  ck_assert_int_eq(rb_validate(p, n, &b), RB_OK);
  ck_assert_int_eq(b.record_count, s->count);
  uint8_t *inflated = NULL;
  struct rb_record_iter it;
  if (rb_compression(&b) != RB_COMPRESSION_NONE) {
    size_t size;
    ck_assert_int_eq(bc_inflate(rb_compression(&b), b.records, b.records_size, (size_t)64 << 20,
                                &inflated, &size),
                     RB_OK);
    rb_records_begin_inflated(&it, &b, inflated, size);
  } else {
    ck_assert_int_eq(rb_records_begin(&it, &b), RB_OK);
  }
  struct rb_record r;
  for (int i = 0; i < s->count; i++) {
    ck_assert_int_eq(rb_records_next(&it, &r), RB_OK);
    ck_assert_int_eq(r.offset_delta, i);
    if (rb_timestamp_type(&b) == RB_TIMESTAMP_CREATE_TIME)
      ck_assert_int_eq(r.timestamp, s->timestamps ? s->timestamps[i] : s->base_timestamp + i);
    ck_assert_int_eq(r.value_size, (int32_t)s->value_size);
    ck_assert_int_eq(r.value[0], 'a' + i % 26);
    if (s->keyless_odd && i % 2 == 1) {
      ck_assert_int_eq(r.key_size, -1);
    } else {
      char key[16];
      snprintf(key, sizeof(key), "key-%d", i);
      ck_assert_int_eq(r.key_size, (int32_t)strlen(key));
      ck_assert(memcmp(r.key, key, strlen(key)) == 0);
    }
  }
  ck_assert_int_eq(rb_records_next(&it, &r), RB_END);
  free(inflated);
}

/* ---- the hot path ---- */

START_TEST(test_batch_kept_as_sent_is_untouched_and_never_inflated) {
  for (int c = 0; c < CODEC_COUNT; c++) {
    struct spec s = spec_plain(20, codecs[c]);
    size_t n;
    uint8_t *p = batch_build(&s, &n);
    uint8_t *copy = malloc(n);
    memcpy(copy, p, n);
    struct bc_policy pol = policy_default();
    pol.inflated_max = 1; /* inflating anything would fail */
    struct bc_result r;
    ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
    ck_assert_int_eq(r.error, ERR_NONE);
    ck_assert_ptr_eq(r.data, p);
    ck_assert_uint_eq(r.size, n);
    ck_assert(!r.rewritten);
    ck_assert_int_eq(r.log_append_time_ms, -1);
    ck_assert(memcmp(p, copy, n) == 0);
    /* the same codec named by the topic is no rewrite either */
    pol.target_codec = codecs[c];
    ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
    ck_assert_int_eq(r.error, ERR_NONE);
    ck_assert(!r.rewritten);
    ck_assert(memcmp(p, copy, n) == 0);
    free(copy);
    free(p);
  }
}
END_TEST

/* ---- recompression ---- */

START_TEST(test_recompression_between_every_pair_of_codecs_keeps_every_record) {
  for (int from = 0; from < CODEC_COUNT; from++) {
    for (int to = 0; to < CODEC_COUNT; to++) {
      if (from == to) continue;
      struct spec s = spec_plain(300, codecs[from]);
      s.value_size = 200; /* > 64 KiB inflated: several lz4 / snappy blocks */
      size_t n;
      uint8_t *p = batch_build(&s, &n);
      struct bc_policy pol = policy_default();
      pol.target_codec = codecs[to];
      pol.max_message_bytes = 1 << 20;
      struct bc_result r;
      ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
      ck_assert_int_eq(r.error, ERR_NONE);
      ck_assert(r.rewritten);
      struct record_batch b;
      ck_assert_int_eq(rb_validate(r.data, r.size, &b), RB_OK);
      ck_assert_int_eq(rb_compression(&b), codecs[to]);
      ck_assert_int_eq(b.base_offset, 0);
      ck_assert_int_eq(b.max_timestamp, s.base_timestamp + s.count - 1);
      ck_assert_int_eq(rb_check_produce(&b), RB_OK);
      assert_records_match(r.data, r.size, &s);
      if (codecs[to] == RB_COMPRESSION_SNAPPY) /* Java's xerial framing, as Kafka writes it */
        ck_assert(memcmp(b.records, "\x82SNAPPY\0", 8) == 0);
      if (codecs[to] == RB_COMPRESSION_LZ4) /* version 1, independent blocks, no checksums */
        ck_assert_int_eq(b.records[4], 0x60);
      bc_result_release(&r);
      free(p);
    }
  }
}
END_TEST

START_TEST(test_recompression_honours_the_levels) {
  struct spec s = spec_plain(200, RB_COMPRESSION_NONE);
  s.value_size = 300;
  size_t n;
  uint8_t *p = batch_build(&s, &n);
  size_t sizes[2];
  for (int i = 0; i < 2; i++) {
    struct bc_policy pol = policy_default();
    pol.target_codec = RB_COMPRESSION_ZSTD;
    pol.zstd_level = i == 0 ? 1 : 19;
    pol.max_message_bytes = 1 << 20;
    struct bc_result r;
    ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
    ck_assert_int_eq(r.error, ERR_NONE);
    sizes[i] = r.size;
    assert_records_match(r.data, r.size, &s);
    bc_result_release(&r);
  }
  ck_assert_uint_le(sizes[1], sizes[0]);
  free(p);
}
END_TEST

START_TEST(test_recompressed_batch_over_max_message_bytes_is_too_large) {
  struct spec s = spec_plain(50, RB_COMPRESSION_ZSTD);
  size_t n;
  uint8_t *p = batch_build(&s, &n);
  struct bc_policy pol = policy_default();
  pol.target_codec = RB_COMPRESSION_NONE;
  pol.max_message_bytes = (uint32_t)n + 10; /* the zstd batch fits, its inflated form does not */
  struct bc_result r;
  ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
  ck_assert_int_eq(r.error, ERR_MESSAGE_TOO_LARGE);
  ck_assert(!r.rewritten);
  free(p);
}
END_TEST

/* ---- LogAppendTime ---- */

START_TEST(test_log_append_time_stamps_without_recompressing) {
  for (int c = 0; c < CODEC_COUNT; c++) {
    struct spec s = spec_plain(10, codecs[c]);
    size_t n;
    uint8_t *p = batch_build(&s, &n);
    uint8_t *copy = malloc(n);
    memcpy(copy, p, n);
    struct bc_policy pol = policy_default();
    pol.log_append_time = true;
    pol.inflated_max = 1; /* no inflating needed */
    struct bc_result r;
    ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
    ck_assert_int_eq(r.error, ERR_NONE);
    ck_assert(!r.rewritten);
    ck_assert_ptr_eq(r.data, p);
    ck_assert_int_eq(r.log_append_time_ms, NOW);
    struct record_batch b;
    ck_assert_int_eq(rb_validate(p, n, &b), RB_OK);
    ck_assert_int_eq(rb_timestamp_type(&b), RB_TIMESTAMP_LOG_APPEND_TIME);
    ck_assert_int_eq(b.max_timestamp, NOW);
    /* the records themselves are the same bytes */
    ck_assert(memcmp(p + RB_HEADER_SIZE, copy + RB_HEADER_SIZE, n - RB_HEADER_SIZE) == 0);
    free(copy);
    free(p);
  }
}
END_TEST

START_TEST(test_log_append_time_with_recompression_stamps_the_new_batch) {
  struct spec s = spec_plain(10, RB_COMPRESSION_GZIP);
  size_t n;
  uint8_t *p = batch_build(&s, &n);
  struct bc_policy pol = policy_default();
  pol.log_append_time = true;
  pol.target_codec = RB_COMPRESSION_LZ4;
  struct bc_result r;
  ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
  ck_assert_int_eq(r.error, ERR_NONE);
  ck_assert(r.rewritten);
  struct record_batch b;
  ck_assert_int_eq(rb_validate(r.data, r.size, &b), RB_OK);
  ck_assert_int_eq(rb_compression(&b), RB_COMPRESSION_LZ4);
  ck_assert_int_eq(rb_timestamp_type(&b), RB_TIMESTAMP_LOG_APPEND_TIME);
  ck_assert_int_eq(b.max_timestamp, NOW);
  ck_assert_int_eq(r.log_append_time_ms, NOW);
  assert_records_match(r.data, r.size, &s);
  bc_result_release(&r);
  free(p);
}
END_TEST

START_TEST(test_corrupt_batch_is_never_stamped_or_rewritten) {
  for (int mode = 0; mode < 2; mode++) {
    struct spec s = spec_plain(10, RB_COMPRESSION_GZIP);
    size_t n;
    uint8_t *p = batch_build(&s, &n);
    p[n - 3] ^= 0x40;
    uint8_t *copy = malloc(n);
    memcpy(copy, p, n);
    struct bc_policy pol = policy_default();
    if (mode == 0)
      pol.log_append_time = true;
    else
      pol.target_codec = RB_COMPRESSION_ZSTD;
    struct bc_result r;
    ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
    ck_assert_int_eq(r.error, ERR_CORRUPT_MESSAGE);
    ck_assert(!r.rewritten);
    ck_assert(memcmp(p, copy, n) == 0);
    free(copy);
    free(p);
  }
}
END_TEST

/* ---- compression bombs ---- */

/* A batch whose records section is `inflated` zero bytes compressed with codec. */
static uint8_t *bomb_build(int codec, size_t inflated, size_t *size) {
  uint8_t *zeros = calloc(1, inflated);
  ck_assert_ptr_nonnull(zeros);
  size_t bound = bc_compress_bound(codec, inflated);
  uint8_t *p = calloc(1, RB_HEADER_SIZE + bound);
  ck_assert_ptr_nonnull(p);
  size_t body;
  ck_assert_int_eq(bc_compress(codec, 1, zeros, inflated, p + RB_HEADER_SIZE, bound, &body), RB_OK);
  free(zeros);
  struct spec s = spec_plain(1000, codec);
  put_be(p + RB_LENGTH_OFFSET, RB_HEADER_SIZE + body - RB_LOG_OVERHEAD, 4);
  put_be(p + RB_PARTITION_LEADER_EPOCH_OFFSET, (uint64_t)-1, 4);
  p[RB_MAGIC_OFFSET] = 2;
  put_be(p + RB_ATTRIBUTES_OFFSET, (uint64_t)codec, 2);
  put_be(p + RB_LAST_OFFSET_DELTA_OFFSET, (uint64_t)(s.count - 1), 4);
  put_be(p + RB_BASE_TIMESTAMP_OFFSET, (uint64_t)NOW, 8);
  put_be(p + RB_MAX_TIMESTAMP_OFFSET, (uint64_t)NOW, 8);
  put_be(p + RB_PRODUCER_ID_OFFSET, (uint64_t)-1, 8);
  put_be(p + RB_PRODUCER_EPOCH_OFFSET, (uint64_t)-1, 2);
  put_be(p + RB_BASE_SEQUENCE_OFFSET, (uint64_t)-1, 4);
  put_be(p + RB_RECORD_COUNT_OFFSET, (uint64_t)s.count, 4);
  rb_update_crc(p);
  *size = RB_HEADER_SIZE + body;
  return p;
}

START_TEST(test_compression_bomb_is_refused_at_the_cap_with_every_codec) {
  for (int c = 1; c < CODEC_COUNT; c++) {
    size_t n;
    uint8_t *p = bomb_build(codecs[c], (size_t)8 << 20, &n);
    struct bc_policy pol = policy_default();
    pol.compacted = true; /* keys must be read */
    pol.inflated_max = (size_t)1 << 20;
    pol.max_message_bytes = 1 << 30;
    struct bc_result r;
    ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
    ck_assert_int_eq(r.error, ERR_RECORD_LIST_TOO_LARGE);
    ck_assert_ptr_nonnull(r.error_message);
    /* the inflating itself stops at the cap */
    uint8_t *out = NULL;
    size_t out_size = 0;
    struct record_batch b;
    ck_assert_int_eq(rb_parse_header(p, n, &b), RB_OK);
    ck_assert_int_eq(
        bc_inflate(codecs[c], b.records, b.records_size, (size_t)1 << 20, &out, &out_size),
        RB_ELIMIT);
    ck_assert_ptr_null(out);
    free(p);
  }
}
END_TEST

START_TEST(test_compression_bomb_past_the_default_cap_is_refused) {
  size_t n;
  uint8_t *p = bomb_build(RB_COMPRESSION_ZSTD, BC_INFLATED_MAX_DEFAULT + ((size_t)4 << 20), &n);
  ck_assert_uint_lt(n, 1 << 20); /* a small request */
  struct bc_policy pol = policy_default();
  pol.target_codec = RB_COMPRESSION_GZIP; /* recompression reads the records */
  struct bc_result r;
  ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
  ck_assert_int_eq(r.error, ERR_RECORD_LIST_TOO_LARGE);
  ck_assert(!r.rewritten);
  free(p);
}
END_TEST

/* ---- per-record errors ---- */

START_TEST(test_keyless_records_on_a_compacted_topic_are_refused_per_record) {
  for (int c = 0; c < CODEC_COUNT; c++) {
    struct spec s = spec_plain(5, codecs[c]);
    s.keyless_odd = true;
    size_t n;
    uint8_t *p = batch_build(&s, &n);
    struct bc_policy pol = policy_default();
    pol.compacted = true;
    struct bc_result r;
    ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "logs-3", &arena, &r), 0);
    ck_assert_int_eq(r.error, ERR_INVALID_RECORD);
    ck_assert_int_eq(r.record_error_count, 2);
    ck_assert_int_eq(r.record_errors[0].batch_index, 1);
    ck_assert_int_eq(r.record_errors[1].batch_index, 3);
    ck_assert_str_eq(r.record_errors[0].message,
                     "Compacted topic cannot accept message without key in topic partition logs-3");
    ck_assert_str_eq(r.error_message,
                     "One or more records have been rejected due to 2 record errors in total, "
                     "and only showing the first three errors at most: [RecordError(batchIndex=1, "
                     "message='Compacted topic cannot accept message without key in topic "
                     "partition logs-3'), RecordError(batchIndex=3, message='Compacted topic "
                     "cannot accept message without key in topic partition logs-3')]");
    free(p);
    /* keyed records are fine */
    s.keyless_odd = false;
    p = batch_build(&s, &n);
    ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "logs-3", &arena, &r), 0);
    ck_assert_int_eq(r.error, ERR_NONE);
    ck_assert(!r.rewritten);
    free(p);
  }
}
END_TEST

START_TEST(test_timestamps_out_of_range_are_refused_per_record) {
  int64_t ts[4] = {NOW - 10, NOW + 2 * 3600000LL, NOW, NOW - 7200000};
  for (int c = 0; c < CODEC_COUNT; c++) {
    struct spec s = spec_plain(4, codecs[c]);
    s.timestamps = ts;
    s.base_timestamp = ts[0];
    size_t n;
    uint8_t *p = batch_build(&s, &n);
    struct bc_policy pol = policy_default(); /* after.max.ms one hour: record 1 */
    struct bc_result r;
    ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
    ck_assert_int_eq(r.error, ERR_INVALID_TIMESTAMP);
    ck_assert_int_eq(r.record_error_count, 1);
    ck_assert_int_eq(r.record_errors[0].batch_index, 1);
    char want[256];
    snprintf(want, sizeof(want),
             "Timestamp %lld of message with offset 1 is out of range. The timestamp should be "
             "within [%lld, %lld]",
             (long long)(NOW + 7200000), (long long)(NOW - INT64_MAX), (long long)(NOW + 3600000));
    ck_assert_str_eq(r.record_errors[0].message, want);
    ck_assert_str_eq(r.error_message,
                     "One or more records have been rejected due to invalid timestamp");
    /* before.max.ms one hour as well: record 3 too */
    pol.timestamp_before_max_ms = 3600000;
    ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
    ck_assert_int_eq(r.error, ERR_INVALID_TIMESTAMP);
    ck_assert_int_eq(r.record_error_count, 2);
    ck_assert_int_eq(r.record_errors[1].batch_index, 3);
    /* LogAppendTime topics do not check the producer's timestamps */
    pol.log_append_time = true;
    ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
    ck_assert_int_eq(r.error, ERR_NONE);
    free(p);
  }
}
END_TEST

START_TEST(test_log_append_time_set_by_the_producer_is_refused_on_log_append_time_topics) {
  struct spec s = spec_plain(3, RB_COMPRESSION_NONE);
  s.extra_attributes = RB_ATTR_LOG_APPEND_TIME;
  size_t n;
  uint8_t *p = batch_build(&s, &n);
  struct bc_policy pol = policy_default();
  pol.log_append_time = true;
  struct bc_result r;
  ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
  ck_assert_int_eq(r.error, ERR_INVALID_TIMESTAMP);
  ck_assert_int_eq(r.record_error_count, 3);
  /* on a CreateTime topic Kafka takes it and clears the bit */
  pol.log_append_time = false;
  ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
  ck_assert_int_eq(r.error, ERR_NONE);
  struct record_batch b;
  ck_assert_int_eq(rb_validate(p, n, &b), RB_OK);
  ck_assert_int_eq(rb_timestamp_type(&b), RB_TIMESTAMP_CREATE_TIME);
  free(p);
}
END_TEST

/* ---- batch-level refusals ---- */

static int16_t prepare_error(uint8_t *p, size_t n, const struct bc_policy *pol) {
  struct bc_result r;
  ck_assert_int_eq(bc_prepare(p, n, pol, NOW, "t-0", &arena, &r), 0);
  bc_result_release(&r);
  return r.error;
}

START_TEST(test_batch_level_refusals_are_kafkas) {
  struct bc_policy pol = policy_default();
  struct spec s = spec_plain(3, RB_COMPRESSION_NONE);
  size_t n;
  uint8_t *p = batch_build(&s, &n);
  /* magic 0 and 1 */
  for (int magic = 0; magic < 2; magic++) {
    p[RB_MAGIC_OFFSET] = (uint8_t)magic;
    ck_assert_int_eq(prepare_error(p, n, &pol), ERR_INVALID_RECORD);
  }
  p[RB_MAGIC_OFFSET] = 2;
  /* empty, truncated, a batchLength below the header's */
  ck_assert_int_eq(prepare_error(p, 0, &pol), ERR_INVALID_RECORD);
  ck_assert_int_eq(prepare_error(p, n - 1, &pol), ERR_INVALID_RECORD);
  uint8_t small[RB_HEADER_SIZE];
  memcpy(small, p, sizeof(small));
  put_be(small + RB_LENGTH_OFFSET, 20, 4);
  ck_assert_int_eq(prepare_error(small, sizeof(small), &pol), ERR_CORRUPT_MESSAGE);
  /* two batches; a partial second one is trimmed */
  uint8_t *two = malloc(2 * n);
  memcpy(two, p, n);
  memcpy(two + n, p, n);
  ck_assert_int_eq(prepare_error(two, 2 * n, &pol), ERR_INVALID_RECORD);
  struct bc_result r;
  ck_assert_int_eq(bc_prepare(two, n + 30, &pol, NOW, "t-0", &arena, &r), 0);
  ck_assert_int_eq(r.error, ERR_NONE);
  ck_assert_uint_eq(r.size, n);
  free(two);
  /* max.message.bytes */
  pol.max_message_bytes = (uint32_t)n - 1;
  ck_assert_int_eq(prepare_error(p, n, &pol), ERR_MESSAGE_TOO_LARGE);
  pol = policy_default();
  /* baseOffset must be 0 */
  free(p);
  s.base_offset = 5;
  p = batch_build(&s, &n);
  ck_assert_int_eq(prepare_error(p, n, &pol), ERR_INVALID_RECORD);
  free(p);
  s.base_offset = 0;
  /* zstd needs Produce v7 */
  s.codec = RB_COMPRESSION_ZSTD;
  p = batch_build(&s, &n);
  pol.api_version = 6;
  ck_assert_int_eq(prepare_error(p, n, &pol), ERR_UNSUPPORTED_COMPRESSION_TYPE);
  pol.api_version = 7;
  ck_assert_int_eq(prepare_error(p, n, &pol), ERR_NONE);
  free(p);
  /* control batches from clients; with a bad CRC, corruption wins */
  s.codec = RB_COMPRESSION_NONE;
  s.extra_attributes = RB_ATTR_CONTROL;
  p = batch_build(&s, &n);
  ck_assert_int_eq(prepare_error(p, n, &pol), ERR_INVALID_RECORD);
  p[n - 1] ^= 1;
  ck_assert_int_eq(prepare_error(p, n, &pol), ERR_CORRUPT_MESSAGE);
  free(p);
}
END_TEST

START_TEST(test_record_errors_are_capped) {
  struct spec s = spec_plain(BC_RECORD_ERRORS_MAX + 500, RB_COMPRESSION_LZ4);
  s.keyless_odd = true;
  s.value_size = 1;
  size_t n;
  uint8_t *p = batch_build(&s, &n);
  struct bc_policy pol = policy_default();
  pol.compacted = true;
  struct bc_result r;
  ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
  ck_assert_int_eq(r.error, ERR_INVALID_RECORD);
  ck_assert_int_eq(r.record_error_count, (BC_RECORD_ERRORS_MAX + 500) / 2);
  free(p);
  s.count = 3 * BC_RECORD_ERRORS_MAX;
  p = batch_build(&s, &n);
  ck_assert_int_eq(bc_prepare(p, n, &pol, NOW, "t-0", &arena, &r), 0);
  ck_assert_int_eq(r.record_error_count, BC_RECORD_ERRORS_MAX);
  ck_assert_ptr_nonnull(strstr(r.error_message, "due to 1500 record errors in total"));
  free(p);
}
END_TEST

static Suite *produce_batch_suite(void) {
  Suite *s = suite_create("produce_batch");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_batch_kept_as_sent_is_untouched_and_never_inflated);
  tcase_add_test(tc, test_recompression_between_every_pair_of_codecs_keeps_every_record);
  tcase_add_test(tc, test_recompression_honours_the_levels);
  tcase_add_test(tc, test_recompressed_batch_over_max_message_bytes_is_too_large);
  tcase_add_test(tc, test_log_append_time_stamps_without_recompressing);
  tcase_add_test(tc, test_log_append_time_with_recompression_stamps_the_new_batch);
  tcase_add_test(tc, test_corrupt_batch_is_never_stamped_or_rewritten);
  tcase_add_test(tc, test_compression_bomb_is_refused_at_the_cap_with_every_codec);
  tcase_add_test(tc, test_compression_bomb_past_the_default_cap_is_refused);
  tcase_add_test(tc, test_keyless_records_on_a_compacted_topic_are_refused_per_record);
  tcase_add_test(tc, test_timestamps_out_of_range_are_refused_per_record);
  tcase_add_test(tc, test_log_append_time_set_by_the_producer_is_refused_on_log_append_time_topics);
  tcase_add_test(tc, test_batch_level_refusals_are_kafkas);
  tcase_add_test(tc, test_record_errors_are_capped);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(produce_batch_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
