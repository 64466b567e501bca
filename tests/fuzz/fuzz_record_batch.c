/* libFuzzer target over RecordBatch v2 (record_batch.h) and the record codecs (compression.h).
 *
 * Input: byte 0 is the mode, the rest the payload. op = mode & 7 (6 and 7 are 0 and 1 again),
 * codec = 1 + (mode >> 3) % 4.
 *   op 0  the payload is a record set (batches back to back, as in a Produce request), each batch
 *         checked as it is
 *   op 1  the same, with each whole batch's CRC fixed first (rb_update_crc): the fuzzer gets past
 *         the CRC into the record parser
 *   op 2  the payload's first 61 bytes are a batch header, the rest uncompressed records: they are
 *         compressed with codec into a batch (magic 2, that codec, right length and CRC), so the
 *         inflated-record path sees records the fuzzer chose
 *   op 3  the payload is compressed with codec and decompressed again
 *   op 4  the payload is read as field values (header fields, then per record: attributes,
 *         timestamp delta, offset delta gap, key, value, headers) and encoded into a valid batch;
 *         it must validate and iterate back to exactly those values (the parser is not stricter
 *         than the format)
 *   op 5  the same with the records compressed with codec (decompressed, then iterated)
 *
 * Checks on every batch (a failure aborts, so libFuzzer keeps the input):
 *  - rb_parse_header agrees field by field and status by status with a reference parser written
 *    from the header layout; rb_validate returns the parse error when there is one, and then
 *    RB_ECRC exactly when the CRC-32C (portable and SSE4.2 paths agree) differs;
 *  - the record iterator, over any whole batch (valid or not) and over the inflated records of any
 *    compressed one: records tile the bytes, keys/values/headers lie inside their record, null is
 *    NULL with size -1, offset deltas strictly increase up to lastOffsetDelta, offsets and
 *    timestamps are derived as documented, headers iterate exactly header_count times over
 *    exactly headers_size bytes, RB_END repeats and an error stays; rb_records_scan returns the
 *    same status and the summary the walk computed; a valid uncompressed batch has exactly
 *    recordCount records, and re-encoding its records canonically gives a valid batch with the
 *    same records;
 *  - rb_check_produce follows its documented rules on every valid batch;
 *  - rb_decompress (1 MiB cap) returns OK, ELIMIT or ECODEC for codecs 1-4 and EINVALID for the
 *    others; for an output of S bytes, the exact cap S gives the same bytes and S - 1 gives
 *    RB_ELIMIT (the buffers are exactly the cap, so ASan sees any write past it); a valid
 *    compressed batch whose inflated records iterate cleanly is valid uncompressed too;
 *  - on a valid batch: rb_update_crc leaves the CRC as it was; rb_set_base_offset and
 *    rb_set_partition_leader_epoch keep it valid with only those fields changed;
 *    rb_set_max_timestamp keeps it valid with the type bit and maxTimestamp set;
 *  - round trip: rb_compress with rb_compress_bound bytes succeeds (one byte less than the bound
 *    is RB_ELIMIT), and decompressing gives the same bytes (cap = size: OK, size - 1: ELIMIT). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compression.h"
#include "crc32c.h"
#include "record_batch.h"
#include "wire.h"

#define INFLATE_CAP (1u << 20)
#define EXACT_CAP_CHECK_MAX (64u << 10) /* re-decompress at the exact cap up to this size */
#define BATCHES_MAX 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed check with two numbers (statuses, sizes) that say how. */
static void fail(const char *what, int a, int b) {
  fprintf(stderr, "fuzz_record_batch: %s (%d, %d)\n", what, a, b);
  abort();
}
#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      fprintf(stderr, "fuzz_record_batch.c:%d: check failed: %s\n", __LINE__, #cond); \
      abort();                                                                        \
    }                                                                                 \
  } while (0)

static bool known_status(int rc) {
  return strcmp(rb_status_name(rc), "RB_UNKNOWN_STATUS") != 0 && rb_status_kafka_error(rc) != -1;
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (p == NULL) abort();
  return p;
}

/* ---- reference header parser (wire_reader, not record_batch.c's accessors) ---- */

static int ref_parse_header(const uint8_t *p, size_t n, struct record_batch *b) {
  if (n < RB_HEADER_SIZE) return RB_ETRUNCATED;
  struct wire_reader r = {p, p + n, NULL};
  uint32_t crc;
  CHECK(wire_read_i64(&r, &b->base_offset) == WIRE_OK);
  CHECK(wire_read_i32(&r, &b->batch_length) == WIRE_OK);
  CHECK(wire_read_i32(&r, &b->partition_leader_epoch) == WIRE_OK);
  CHECK(wire_read_i8(&r, &b->magic) == WIRE_OK);
  CHECK(wire_read_u32(&r, &crc) == WIRE_OK);
  b->crc = crc;
  CHECK(wire_read_i16(&r, &b->attributes) == WIRE_OK);
  CHECK(wire_read_i32(&r, &b->last_offset_delta) == WIRE_OK);
  CHECK(wire_read_i64(&r, &b->base_timestamp) == WIRE_OK);
  CHECK(wire_read_i64(&r, &b->max_timestamp) == WIRE_OK);
  CHECK(wire_read_i64(&r, &b->producer_id) == WIRE_OK);
  CHECK(wire_read_i16(&r, &b->producer_epoch) == WIRE_OK);
  CHECK(wire_read_i32(&r, &b->base_sequence) == WIRE_OK);
  CHECK(wire_read_i32(&r, &b->record_count) == WIRE_OK);
  CHECK(r.p == p + RB_HEADER_SIZE);
  b->records = NULL;
  b->records_size = 0;
  if (b->batch_length < 49) return RB_EINVALID;
  if (b->magic != 2) return RB_EMAGIC;
  if ((uint64_t)b->batch_length + 12 > n) return RB_ETRUNCATED;
  b->records = r.p;
  b->records_size = (size_t)b->batch_length - 49;
  return RB_OK;
}

static void same_header(const struct record_batch *a, const struct record_batch *b) {
  CHECK(a->base_offset == b->base_offset);
  CHECK(a->batch_length == b->batch_length);
  CHECK(a->partition_leader_epoch == b->partition_leader_epoch);
  CHECK(a->magic == b->magic);
  CHECK(a->crc == b->crc);
  CHECK(a->attributes == b->attributes);
  CHECK(a->last_offset_delta == b->last_offset_delta);
  CHECK(a->base_timestamp == b->base_timestamp);
  CHECK(a->max_timestamp == b->max_timestamp);
  CHECK(a->producer_id == b->producer_id);
  CHECK(a->producer_epoch == b->producer_epoch);
  CHECK(a->base_sequence == b->base_sequence);
  CHECK(a->record_count == b->record_count);
  CHECK(a->records == b->records);
  CHECK(a->records_size == b->records_size);
}

static int ref_check_produce(const struct record_batch *b) {
  if (b->record_count <= 0) return RB_EINVALID;
  if ((int64_t)b->last_offset_delta + 1 != b->record_count) return RB_EINVALID;
  if (b->attributes & 0x20) return RB_EINVALID;
  if (b->producer_id >= 0 && b->base_sequence < 0) return RB_EINVALID;
  if (b->attributes & 0x08) return RB_ETIMESTAMP;
  return RB_OK;
}

/* ---- records ---- */

static bool inside(const uint8_t *p, size_t n, const uint8_t *lo, const uint8_t *hi) {
  return p >= lo && p <= hi && n <= (size_t)(hi - p);
}

/* Checks one record's headers with the header iterator. */
static void check_headers(const struct rb_record *r, const uint8_t *rec_lo, const uint8_t *rec_hi) {
  CHECK(r->header_count >= 0);
  CHECK(inside(r->headers, r->headers_size, rec_lo, rec_hi));
  CHECK(r->headers_size >= 2 * (size_t)r->header_count);
  struct rb_header_iter hi;
  rb_headers_begin(&hi, r);
  const uint8_t *lo = r->headers, *end = r->headers + r->headers_size;
  struct rb_header h;
  for (int32_t i = 0; i < r->header_count; i++) {
    CHECK(rb_headers_next(&hi, &h) == RB_OK);
    CHECK(h.key != NULL && h.key_size >= 0);
    CHECK(inside(h.key, (size_t)h.key_size, lo, end));
    CHECK((h.value == NULL) == (h.value_size == -1));
    CHECK(h.value_size >= -1);
    if (h.value != NULL) CHECK(inside(h.value, (size_t)h.value_size, h.key + h.key_size, end));
    lo = h.value != NULL ? h.value + h.value_size : h.key + h.key_size;
  }
  CHECK(hi.p == end);
  CHECK(rb_headers_next(&hi, &h) == RB_END);
  CHECK(rb_headers_next(&hi, &h) == RB_END);
}

struct walk {
  int rc; /* RB_END or the error */
  int32_t count;
  struct rb_records_summary s;
};

/* Iterates records[0, size) of batch b (the records or its inflated records), checking every
 * record against the documented contract; then rb_records_scan over the same bytes. */
static struct walk walk_records(const struct record_batch *b, const uint8_t *records, size_t size,
                                bool inflated) {
  struct rb_record_iter it;
  if (inflated) {
    rb_records_begin_inflated(&it, b, records, size);
  } else {
    CHECK(rb_records_begin(&it, b) == RB_OK);
    CHECK(it.p == records && it.end == records + size);
  }
  bool log_append = (b->attributes & RB_ATTR_LOG_APPEND_TIME) != 0;
  struct walk w = {0, 0, {0, RB_NO_TIMESTAMP, -1, true, true}};
  int64_t prev_delta = -1;
  const uint8_t *at = records, *end = records + size;
  struct rb_record r;
  int rc;
  while ((rc = rb_records_next(&it, &r)) == RB_OK) {
    CHECK(w.count < b->record_count);
    CHECK(r.size >= RB_RECORD_SIZE_MIN && r.size <= (size_t)(end - at));
    const uint8_t *rec_end = at + r.size;
    CHECK(it.p == rec_end);
    CHECK((r.key == NULL) == (r.key_size == -1) && r.key_size >= -1);
    if (r.key != NULL) CHECK(inside(r.key, (size_t)r.key_size, at, rec_end));
    CHECK((r.value == NULL) == (r.value_size == -1) && r.value_size >= -1);
    if (r.value != NULL) CHECK(inside(r.value, (size_t)r.value_size, at, rec_end));
    if (r.key != NULL && r.value != NULL) CHECK(r.value >= r.key + r.key_size);
    CHECK(r.offset_delta > prev_delta && r.offset_delta <= b->last_offset_delta);
    CHECK(r.offset == (int64_t)((uint64_t)b->base_offset + (uint64_t)(int64_t)r.offset_delta));
    CHECK(r.timestamp ==
          (log_append ? b->max_timestamp
                      : (int64_t)((uint64_t)b->base_timestamp + (uint64_t)r.timestamp_delta)));
    check_headers(&r, at, rec_end);
    CHECK(r.headers + r.headers_size == rec_end);
    if (r.timestamp > w.s.max_timestamp) {
      w.s.max_timestamp = r.timestamp;
      w.s.offset_delta_of_max_timestamp = r.offset_delta;
    }
    if (r.offset_delta != w.count) w.s.offsets_contiguous = false;
    if (r.key_size < 0) w.s.keys_present = false;
    prev_delta = r.offset_delta;
    at = rec_end;
    w.count++;
  }
  w.rc = rc;
  w.s.count = w.count;
  if (rc == RB_END) {
    CHECK(at == end && it.p == end);
    CHECK(w.count == (b->record_count > 0 ? b->record_count : 0));
  } else {
    CHECK(rc == RB_EINVALID);
    CHECK(it.p == at && it.index == w.count);
  }
  /* RB_END repeats; an error stays */
  CHECK(rb_records_next(&it, &r) == rc);
  CHECK(it.p == at && it.index == w.count);

  struct rb_record_iter it2;
  if (inflated)
    rb_records_begin_inflated(&it2, b, records, size);
  else
    CHECK(rb_records_begin(&it2, b) == RB_OK);
  struct rb_records_summary s;
  int src = rb_records_scan(&it2, &s);
  CHECK(src == (rc == RB_END ? RB_OK : rc));
  CHECK(s.count == w.s.count);
  if (src == RB_OK) {
    CHECK(s.max_timestamp == w.s.max_timestamp);
    CHECK(s.offset_delta_of_max_timestamp == w.s.offset_delta_of_max_timestamp);
    CHECK(s.offsets_contiguous == w.s.offsets_contiguous);
    CHECK(s.keys_present == w.s.keys_present);
  }
  return w;
}

static void write_nullable(struct wire_writer *w, const uint8_t *p, int32_t size) {
  wire_write_varint(w, size);
  if (size > 0) wire_write_raw(w, p, (size_t)size);
}

/* Re-encodes the records of b (records[0, size), which iterate cleanly) canonically after b's
 * header with the codec bits cleared: an uncompressed batch at out (cap bytes); returns its size.
 */
static size_t rebuild_uncompressed(const uint8_t *header, const struct record_batch *b,
                                   const uint8_t *records, size_t size, uint8_t *out, size_t cap) {
  CHECK(cap >= RB_HEADER_SIZE);
  memcpy(out, header, RB_HEADER_SIZE);
  struct wire_writer w = {out + RB_HEADER_SIZE, out + cap, WIRE_OK, NULL};
  struct rb_record_iter it;
  rb_records_begin_inflated(&it, b, records, size);
  struct rb_record r;
  int rc;
  while ((rc = rb_records_next(&it, &r)) == RB_OK) {
    uint8_t *body = xmalloc(r.size + 16);
    struct wire_writer bw = {body, body + r.size + 16, WIRE_OK, NULL};
    wire_write_i8(&bw, r.attributes);
    wire_write_varlong(&bw, r.timestamp_delta);
    wire_write_varint(&bw, r.offset_delta);
    write_nullable(&bw, r.key, r.key_size);
    write_nullable(&bw, r.value, r.value_size);
    wire_write_varint(&bw, r.header_count);
    struct rb_header_iter hi;
    struct rb_header h;
    rb_headers_begin(&hi, &r);
    while (rb_headers_next(&hi, &h) == RB_OK) {
      write_nullable(&bw, h.key, h.key_size);
      write_nullable(&bw, h.value, h.value_size);
    }
    CHECK(bw.status == WIRE_OK);
    size_t body_size = (size_t)(bw.p - body);
    CHECK(body_size + wire_varint_size((int32_t)body_size) <= r.size); /* canonical: no larger */
    wire_write_varint(&w, (int32_t)body_size);
    wire_write_raw(&w, body, body_size);
    free(body);
  }
  CHECK(rc == RB_END && w.status == WIRE_OK);
  size_t total = (size_t)(w.p - out);
  uint16_t attributes = (uint16_t)b->attributes & (uint16_t)~RB_ATTR_COMPRESSION_MASK;
  out[RB_ATTRIBUTES_OFFSET] = (uint8_t)(attributes >> 8);
  out[RB_ATTRIBUTES_OFFSET + 1] = (uint8_t)attributes;
  uint32_t length = (uint32_t)(total - RB_LOG_OVERHEAD);
  for (int i = 0; i < 4; i++) out[RB_LENGTH_OFFSET + i] = (uint8_t)(length >> (24 - 8 * i));
  rb_update_crc(out);
  return total;
}

/* The records of a and b (both iterate cleanly) are the same records. */
static void same_records(const struct record_batch *a, const uint8_t *ar, size_t an,
                         const struct record_batch *b) {
  struct rb_record_iter ia, ib;
  rb_records_begin_inflated(&ia, a, ar, an);
  CHECK(rb_records_begin(&ib, b) == RB_OK);
  struct rb_record x, y;
  int rc;
  while ((rc = rb_records_next(&ia, &x)) == RB_OK) {
    CHECK(rb_records_next(&ib, &y) == RB_OK);
    CHECK(x.attributes == y.attributes && x.timestamp_delta == y.timestamp_delta);
    CHECK(x.offset_delta == y.offset_delta && x.offset == y.offset);
    CHECK(x.key_size == y.key_size && x.value_size == y.value_size);
    CHECK(x.key_size <= 0 || memcmp(x.key, y.key, (size_t)x.key_size) == 0);
    CHECK(x.value_size <= 0 || memcmp(x.value, y.value, (size_t)x.value_size) == 0);
    CHECK(x.header_count == y.header_count);
    struct rb_header_iter ha, hb;
    struct rb_header hx, hy;
    rb_headers_begin(&ha, &x);
    rb_headers_begin(&hb, &y);
    while (rb_headers_next(&ha, &hx) == RB_OK) {
      CHECK(rb_headers_next(&hb, &hy) == RB_OK);
      CHECK(hx.key_size == hy.key_size && hx.value_size == hy.value_size);
      CHECK(memcmp(hx.key, hy.key, (size_t)hx.key_size) == 0);
      CHECK(hx.value_size <= 0 || memcmp(hx.value, hy.value, (size_t)hx.value_size) == 0);
    }
    CHECK(rb_headers_next(&hb, &hy) == RB_END);
  }
  CHECK(rc == RB_END);
  CHECK(rb_records_next(&ib, &y) == RB_END);
}

/* records (iterating cleanly, from batch b at p) rebuilt uncompressed must validate to the same
 * records. */
static void check_rebuild(const uint8_t *p, const struct record_batch *b, const uint8_t *records,
                          size_t size) {
  size_t cap = RB_HEADER_SIZE + size;
  uint8_t *out = xmalloc(cap);
  size_t n = rebuild_uncompressed(p, b, records, size, out, cap);
  struct record_batch c;
  int rc = rb_validate(out, n, &c);
  if (rc != RB_OK) fail("canonical re-encoding does not validate", rc, 0);
  same_records(b, records, size, &c);
  free(out);
}

/* ---- decompression ---- */

static uint8_t *inflate_buf;

/* Decompresses in with codec into inflate_buf (INFLATE_CAP); checks the status and the cap
 * contract; returns the status with *out_size. */
static int check_decompress(int codec, const uint8_t *in, size_t in_size, size_t *out_size) {
  size_t made = (size_t)-1;
  int rc = rb_decompress(codec, in, in_size, inflate_buf, INFLATE_CAP, &made);
  CHECK(known_status(rc));
  if (codec < RB_COMPRESSION_GZIP || codec > RB_COMPRESSION_ZSTD) {
    CHECK(rc == RB_EINVALID);
    return rc;
  }
  CHECK(rc == RB_OK || rc == RB_ELIMIT || rc == RB_ECODEC);
  if (rc != RB_OK) return rc;
  CHECK(made <= INFLATE_CAP);
  *out_size = made;
  if (made <= EXACT_CAP_CHECK_MAX) {
    /* exactly the cap: the same bytes; one byte less: RB_ELIMIT (exact-size heap buffers) */
    uint8_t *exact = xmalloc(made);
    size_t made2 = (size_t)-1;
    int rc2 = rb_decompress(codec, in, in_size, exact, made, &made2);
    if (rc2 != RB_OK) fail("decompress at the exact cap", (int)made, rc2);
    CHECK(made2 == made && memcmp(exact, inflate_buf, made) == 0);
    free(exact);
    if (made > 0) {
      uint8_t *less = xmalloc(made - 1);
      rc2 = rb_decompress(codec, in, in_size, less, made - 1, &made2);
      if (rc2 != RB_ELIMIT) fail("decompress below the output size", (int)made, rc2);
      free(less);
    }
  }
  return rc;
}

static void round_trip(int codec, const uint8_t *in, size_t in_size) {
  size_t bound = rb_compress_bound(codec, in_size);
  CHECK(bound > 0);
  uint8_t *z = xmalloc(bound);
  size_t zn = (size_t)-1;
  int rc = rb_compress(codec, in, in_size, z, bound, &zn);
  if (rc != RB_OK) fail("compress codec", codec, rc);
  CHECK(zn <= bound);
  size_t ignored;
  CHECK(rb_compress(codec, in, in_size, z, bound - 1, &ignored) == RB_ELIMIT);
  CHECK(rb_compress(codec, in, in_size, z, bound, &ignored) == RB_OK && ignored == zn);
  uint8_t *back = xmalloc(in_size);
  size_t bn = (size_t)-1;
  rc = rb_decompress(codec, z, zn, back, in_size, &bn);
  if (rc != RB_OK) fail("decompress of our compression, codec", codec, rc);
  CHECK(bn == in_size && memcmp(back, in, in_size) == 0);
  if (in_size > 0) CHECK(rb_decompress(codec, z, zn, back, in_size - 1, &bn) == RB_ELIMIT);
  free(back);
  free(z);
}

/* ---- batches ---- */

/* The rewrites keep a valid batch valid (on a copy). */
static void check_rewrites(const uint8_t *p, const struct record_batch *b) {
  size_t n = rb_size(b);
  uint8_t *q = xmalloc(n);
  memcpy(q, p, n);
  struct record_batch c;

  rb_update_crc(q);
  CHECK(memcmp(q, p, n) == 0); /* valid: the CRC was already right */

  int64_t offset = (int64_t)((uint64_t)b->base_offset * 0x9E3779B97F4A7C15ull + 1);
  int32_t epoch = (int32_t)((uint32_t)b->partition_leader_epoch ^ 0x5a5a5a5au);
  rb_set_base_offset(q, offset);
  rb_set_partition_leader_epoch(q, epoch);
  CHECK(rb_validate(q, n, &c) == RB_OK);
  CHECK(c.base_offset == offset && c.partition_leader_epoch == epoch);
  CHECK(memcmp(q + RB_MAGIC_OFFSET, p + RB_MAGIC_OFFSET, n - RB_MAGIC_OFFSET) == 0);
  CHECK(memcmp(q + RB_LENGTH_OFFSET, p + RB_LENGTH_OFFSET, 4) == 0);
  rb_update_crc(q);
  CHECK(rb_validate(q, n, &c) == RB_OK && c.crc == b->crc);

  enum rb_timestamp_type type =
      (b->max_timestamp & 1) ? RB_TIMESTAMP_LOG_APPEND_TIME : RB_TIMESTAMP_CREATE_TIME;
  int64_t ts = b->base_timestamp ^ b->max_timestamp;
  rb_set_max_timestamp(q, type, ts);
  CHECK(rb_validate(q, n, &c) == RB_OK);
  CHECK(rb_timestamp_type(&c) == type && c.max_timestamp == ts);
  CHECK((c.attributes & ~RB_ATTR_LOG_APPEND_TIME) == (b->attributes & ~RB_ATTR_LOG_APPEND_TIME));
  CHECK(rb_check_produce(&c) == ref_check_produce(&c));
  if (rb_compression(&c) == RB_COMPRESSION_NONE) {
    struct walk w = walk_records(&c, c.records, c.records_size, false);
    CHECK(w.rc == RB_END);
  }
  free(q);
}

/* One batch at p (n bytes left in the record set); returns its size, 0 when the set ends. */
static size_t check_batch(uint8_t *p, size_t n, bool fix_crc) {
  struct record_batch b, ref;
  memset(&b, 0xa5, sizeof(b));
  memset(&ref, 0xa5, sizeof(ref));
  int prc = rb_parse_header(p, n, &b);
  int rrc = ref_parse_header(p, n, &ref);
  CHECK(known_status(prc));
  if (prc != rrc) fail("rb_parse_header, reference", prc, rrc);
  if (n < RB_HEADER_SIZE) {
    CHECK(memcmp(&b, &ref, sizeof(b)) == 0); /* untouched: both still hold the 0xa5 pattern */
    CHECK(rb_validate(p, n, &b) == RB_ETRUNCATED && memcmp(&b, &ref, sizeof(b)) == 0);
    return 0;
  }
  same_header(&b, &ref);
  if (prc == RB_OK && fix_crc) {
    rb_update_crc(p);
    CHECK(rb_parse_header(p, n, &b) == RB_OK);
  }

  struct record_batch v;
  memset(&v, 0x5a, sizeof(v));
  int vrc = rb_validate(p, n, &v);
  CHECK(vrc == RB_OK || vrc == RB_ETRUNCATED || vrc == RB_EMAGIC || vrc == RB_ECRC ||
        vrc == RB_EINVALID);
  if (prc != RB_OK) {
    if (vrc != prc) fail("rb_validate after a header error", vrc, prc);
    return 0;
  }
  same_header(&v, &b);
  size_t whole = rb_size(&b);
  CHECK(whole <= n);
  uint32_t crc = crc32c_portable(0, p + RB_CRC_START, whole - RB_CRC_START);
  if (crc32c_hw_available()) CHECK(crc32c_hw(0, p + RB_CRC_START, whole - RB_CRC_START) == crc);
  CHECK(crc32c(0, p + RB_CRC_START, whole - RB_CRC_START) == crc);
  if ((vrc == RB_ECRC) != (crc != b.crc)) fail("rb_validate, CRC match", vrc, crc == b.crc);
  int codec = rb_compression(&b);
  if (vrc != RB_ECRC) {
    bool header_ok = codec <= RB_COMPRESSION_ZSTD && b.record_count >= 0 &&
                     b.last_offset_delta >= 0 &&
                     (b.record_count == 0 || b.last_offset_delta >= b.record_count - 1);
    if (!header_ok) CHECK(vrc == RB_EINVALID);
    if (header_ok && codec != RB_COMPRESSION_NONE) CHECK(vrc == RB_OK);
    if (header_ok && codec == RB_COMPRESSION_NONE) CHECK(vrc == RB_OK || vrc == RB_EINVALID);
  }
  if (vrc == RB_OK) {
    int cp = rb_check_produce(&v);
    CHECK(known_status(cp));
    if (cp != ref_check_produce(&v)) fail("rb_check_produce, expected", cp, ref_check_produce(&v));
  }

  /* the iterator takes any whole batch, valid or not */
  if (codec == RB_COMPRESSION_NONE) {
    struct walk w = walk_records(&b, b.records, b.records_size, false);
    if (vrc == RB_OK) CHECK(w.rc == RB_END);
    if (vrc == RB_EINVALID && w.rc == RB_END) {
      /* the header failed, or there were too few bytes for recordCount */
      CHECK(b.record_count < 0 || b.last_offset_delta < 0 ||
            (b.record_count > 0 && b.last_offset_delta < b.record_count - 1));
    }
    if (w.rc == RB_END && b.record_count >= 0 && vrc != RB_ECRC) {
      if (vrc == RB_OK) check_rebuild(p, &b, b.records, b.records_size);
    }
  } else {
    struct rb_record_iter it;
    CHECK(rb_records_begin(&it, &b) == RB_ECOMPRESSED);
    size_t made = 0;
    int drc = check_decompress(codec, b.records, b.records_size, &made);
    if (drc == RB_OK) {
      struct walk w = walk_records(&b, inflate_buf, made, true);
      if (w.rc == RB_END && vrc == RB_OK) check_rebuild(p, &b, inflate_buf, made);
    }
  }
  if (vrc == RB_OK) check_rewrites(p, &v);
  return whole;
}

static void check_record_set(uint8_t *p, size_t n, bool fix_crc) {
  for (int i = 0; i < BATCHES_MAX && n > 0; i++) {
    size_t used = check_batch(p, n, fix_crc);
    if (used == 0) return;
    p += used;
    n -= used;
  }
}

/* op 2: header from the payload, records compressed with codec. */
static void check_recompressed(int codec, const uint8_t *payload, size_t size) {
  if (size < RB_HEADER_SIZE) return;
  const uint8_t *records = payload + RB_HEADER_SIZE;
  size_t records_size = size - RB_HEADER_SIZE;
  size_t bound = rb_compress_bound(codec, records_size);
  uint8_t *batch = xmalloc(RB_HEADER_SIZE + bound);
  memcpy(batch, payload, RB_HEADER_SIZE);
  size_t zn;
  CHECK(rb_compress(codec, records, records_size, batch + RB_HEADER_SIZE, bound, &zn) == RB_OK);
  size_t n = RB_HEADER_SIZE + zn;
  batch[RB_MAGIC_OFFSET] = RB_MAGIC_V2;
  batch[RB_ATTRIBUTES_OFFSET + 1] =
      (uint8_t)((batch[RB_ATTRIBUTES_OFFSET + 1] & ~RB_ATTR_COMPRESSION_MASK) | codec);
  uint32_t length = (uint32_t)(n - RB_LOG_OVERHEAD);
  for (int i = 0; i < 4; i++) batch[RB_LENGTH_OFFSET + i] = (uint8_t)(length >> (24 - 8 * i));
  rb_update_crc(batch);
  /* an exact-size copy, so ASan sees any read past the batch */
  uint8_t *exact = xmalloc(n);
  memcpy(exact, batch, n);
  free(batch);
  struct record_batch b;
  CHECK(rb_validate(exact, n, &b) == RB_OK || b.record_count < 0 || b.last_offset_delta < 0 ||
        (b.record_count > 0 && b.last_offset_delta < b.record_count - 1));
  CHECK(check_batch(exact, n, false) == n);
  free(exact);
}

/* ---- op 4/5: a batch built from field values ---- */

enum { BUILD_RECORDS_MAX = 64, BUILD_HEADERS_MAX = 4 };

struct cursor {
  const uint8_t *p, *end;
};

static uint64_t take(struct cursor *c, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v = v << 8 | (c->p < c->end ? *c->p++ : 0);
  return v;
}

/* A byte string of the payload (length from one byte, bounded by what is left); NULL with -1
 * when the length byte is 0xff and nullable. */
static void take_bytes(struct cursor *c, bool nullable, int max, const uint8_t **p, int32_t *size) {
  uint8_t len = (uint8_t)take(c, 1);
  if (nullable && len == 0xff) {
    *p = NULL;
    *size = -1;
    return;
  }
  size_t n = len % (unsigned)max, left = (size_t)(c->end - c->p);
  if (n > left) n = left;
  *p = c->p;
  *size = (int32_t)n;
  c->p += n;
}

struct built_record {
  int8_t attributes;
  int64_t timestamp_delta;
  int32_t offset_delta;
  const uint8_t *key, *value;
  int32_t key_size, value_size;
  int32_t header_count;
  struct rb_header headers[BUILD_HEADERS_MAX];
};

static void check_built(int codec, const uint8_t *payload, size_t size) {
  struct cursor c = {payload, payload + size};
  static struct built_record recs[BUILD_RECORDS_MAX];
  int64_t base_offset = (int64_t)take(&c, 8);
  int32_t epoch = (int32_t)take(&c, 4);
  uint16_t attributes = (uint16_t)take(&c, 2) & (uint16_t)~RB_ATTR_COMPRESSION_MASK;
  if (codec != RB_COMPRESSION_NONE) attributes |= (uint16_t)codec;
  int64_t base_timestamp = (int64_t)take(&c, 8), max_timestamp = (int64_t)take(&c, 8);
  int64_t producer_id = (int64_t)take(&c, 8);
  int16_t producer_epoch = (int16_t)take(&c, 2);
  int32_t base_sequence = (int32_t)take(&c, 4);
  int32_t last_extra = (int32_t)(take(&c, 1) % 4);
  int count = 0;
  int64_t delta = -1;
  while (c.p < c.end && count < BUILD_RECORDS_MAX) {
    struct built_record *r = &recs[count];
    r->attributes = (int8_t)take(&c, 1);
    uint8_t sel = (uint8_t)take(&c, 1);
    r->timestamp_delta = sel & 0x80 ? (int64_t)take(&c, 8) : (int8_t)(sel << 1) / 2;
    uint8_t gap = (uint8_t)take(&c, 1);
    delta += 1 + (gap == 0xff ? (int64_t)(take(&c, 4) & 0xfffffff) : gap % 3);
    if (delta > INT32_MAX - 8) break;
    r->offset_delta = (int32_t)delta;
    take_bytes(&c, true, 64, &r->key, &r->key_size);
    take_bytes(&c, true, 200, &r->value, &r->value_size);
    r->header_count = (int32_t)(take(&c, 1) % (BUILD_HEADERS_MAX + 1));
    for (int32_t h = 0; h < r->header_count; h++) {
      take_bytes(&c, false, 16, &r->headers[h].key, &r->headers[h].key_size);
      take_bytes(&c, true, 32, &r->headers[h].value, &r->headers[h].value_size);
    }
    count++;
  }
  int32_t last_offset_delta = count > 0 ? recs[count - 1].offset_delta + last_extra : last_extra;

  /* records, then the batch around them */
  size_t cap = 64 + (size_t)count * 512 + size;
  uint8_t *records = xmalloc(cap), *body = xmalloc(512 + size);
  struct wire_writer w = {records, records + cap, WIRE_OK, NULL};
  for (int i = 0; i < count; i++) {
    const struct built_record *r = &recs[i];
    struct wire_writer bw = {body, body + 512 + size, WIRE_OK, NULL};
    wire_write_i8(&bw, r->attributes);
    wire_write_varlong(&bw, r->timestamp_delta);
    wire_write_varint(&bw, r->offset_delta);
    write_nullable(&bw, r->key, r->key_size);
    write_nullable(&bw, r->value, r->value_size);
    wire_write_varint(&bw, r->header_count);
    for (int32_t h = 0; h < r->header_count; h++) {
      write_nullable(&bw, r->headers[h].key, r->headers[h].key_size);
      write_nullable(&bw, r->headers[h].value, r->headers[h].value_size);
    }
    CHECK(bw.status == WIRE_OK);
    wire_write_varint(&w, (int32_t)(bw.p - body));
    wire_write_raw(&w, body, (size_t)(bw.p - body));
  }
  CHECK(w.status == WIRE_OK);
  free(body);
  size_t records_size = (size_t)(w.p - records);
  const uint8_t *stored = records;
  size_t stored_size = records_size;
  uint8_t *z = NULL;
  if (codec != RB_COMPRESSION_NONE) {
    size_t bound = rb_compress_bound(codec, records_size);
    z = xmalloc(bound);
    CHECK(rb_compress(codec, records, records_size, z, bound, &stored_size) == RB_OK);
    stored = z;
  }
  size_t n = RB_HEADER_SIZE + stored_size;
  uint8_t *batch = xmalloc(n);
  w = (struct wire_writer){batch, batch + n, WIRE_OK, NULL};
  wire_write_i64(&w, base_offset);
  wire_write_i32(&w, (int32_t)(n - RB_LOG_OVERHEAD));
  wire_write_i32(&w, epoch);
  wire_write_i8(&w, RB_MAGIC_V2);
  wire_write_u32(&w, 0);
  wire_write_u16(&w, attributes);
  wire_write_i32(&w, last_offset_delta);
  wire_write_i64(&w, base_timestamp);
  wire_write_i64(&w, max_timestamp);
  wire_write_i64(&w, producer_id);
  wire_write_i16(&w, producer_epoch);
  wire_write_i32(&w, base_sequence);
  wire_write_i32(&w, count);
  wire_write_raw(&w, stored, stored_size);
  CHECK(w.status == WIRE_OK && w.p == batch + n);
  rb_update_crc(batch);

  struct record_batch b;
  int rc = rb_validate(batch, n, &b);
  if (rc != RB_OK) fail("a well-formed batch does not validate (status, records)", rc, count);
  CHECK(b.base_offset == base_offset && b.partition_leader_epoch == epoch);
  CHECK((uint16_t)b.attributes == attributes && b.last_offset_delta == last_offset_delta);
  CHECK(b.base_timestamp == base_timestamp && b.max_timestamp == max_timestamp);
  CHECK(b.producer_id == producer_id && b.producer_epoch == producer_epoch);
  CHECK(b.base_sequence == base_sequence && b.record_count == count);
  CHECK(rb_check_produce(&b) == ref_check_produce(&b));

  struct rb_record_iter it;
  if (codec == RB_COMPRESSION_NONE) {
    CHECK(rb_records_begin(&it, &b) == RB_OK);
  } else {
    size_t made = 0;
    rc = rb_decompress(codec, b.records, b.records_size, inflate_buf, INFLATE_CAP, &made);
    if (rc != RB_OK) fail("decompress of a built batch (status, codec)", rc, codec);
    CHECK(made == records_size && memcmp(inflate_buf, records, made) == 0);
    rb_records_begin_inflated(&it, &b, inflate_buf, made);
  }
  bool log_append = (attributes & RB_ATTR_LOG_APPEND_TIME) != 0;
  struct rb_record r;
  for (int i = 0; i < count; i++) {
    const struct built_record *e = &recs[i];
    rc = rb_records_next(&it, &r);
    if (rc != RB_OK) fail("a well-formed record does not parse (status, index)", rc, i);
    CHECK(r.attributes == e->attributes && r.timestamp_delta == e->timestamp_delta);
    CHECK(r.offset_delta == e->offset_delta);
    CHECK(r.offset == (int64_t)((uint64_t)base_offset + (uint64_t)(int64_t)e->offset_delta));
    CHECK(r.timestamp ==
          (log_append ? max_timestamp
                      : (int64_t)((uint64_t)base_timestamp + (uint64_t)e->timestamp_delta)));
    CHECK(r.key_size == e->key_size && (r.key == NULL) == (e->key == NULL));
    CHECK(r.key_size <= 0 || memcmp(r.key, e->key, (size_t)r.key_size) == 0);
    CHECK(r.value_size == e->value_size && (r.value == NULL) == (e->value == NULL));
    CHECK(r.value_size <= 0 || memcmp(r.value, e->value, (size_t)r.value_size) == 0);
    CHECK(r.header_count == e->header_count);
    struct rb_header_iter hi;
    struct rb_header h;
    rb_headers_begin(&hi, &r);
    for (int32_t k = 0; k < e->header_count; k++) {
      const struct rb_header *eh = &e->headers[k];
      CHECK(rb_headers_next(&hi, &h) == RB_OK);
      CHECK(h.key_size == eh->key_size && memcmp(h.key, eh->key, (size_t)h.key_size) == 0);
      CHECK(h.value_size == eh->value_size && (h.value == NULL) == (eh->value == NULL));
      CHECK(h.value_size <= 0 || memcmp(h.value, eh->value, (size_t)h.value_size) == 0);
    }
    CHECK(rb_headers_next(&hi, &h) == RB_END);
  }
  CHECK(rb_records_next(&it, &r) == RB_END);

  CHECK(check_batch(batch, n, false) == n);
  free(batch);
  free(z);
  free(records);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (inflate_buf == NULL) inflate_buf = xmalloc(INFLATE_CAP);
  uint8_t mode = data[0];
  int codec = RB_COMPRESSION_GZIP + (mode >> 3) % 4;
  size_t n = size - 1;
  uint8_t *payload = xmalloc(n); /* exactly n bytes: ASan sees reads past the input */
  memcpy(payload, data + 1, n);
  switch (mode & 7) {
  case 0:
  case 6: check_record_set(payload, n, false); break;
  case 1:
  case 7: check_record_set(payload, n, true); break;
  case 2: check_recompressed(codec, payload, n); break;
  case 3: round_trip(codec, payload, n); break;
  case 4: check_built(RB_COMPRESSION_NONE, payload, n); break;
  case 5: check_built(codec, payload, n); break;
  }
  free(payload);
  return 0;
}
