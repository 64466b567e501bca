/* Produce-side batch checks and rewrites; see batch_convert.h for the design note. */
#include "batch_convert.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "compression.h"
#include "crc32c.h"
#include "errors.h"
#include "record_batch.h"

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static void put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static void put_u64(uint8_t *p, uint64_t v) {
  put_u32(p, (uint32_t)(v >> 32));
  put_u32(p + 4, (uint32_t)v);
}

/* ---- compression at a level, in Kafka's framings ---- */

enum { XERIAL_HEADER_SIZE = 16, XERIAL_BLOCK_SIZE = 32 * 1024 };
static const uint8_t xerial_header[XERIAL_HEADER_SIZE] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
                                                          0,    0,   0,   1,   0,   0,   0,   1};

static void lz4_prefs(LZ4F_preferences_t *prefs, int level) {
  memset(prefs, 0, sizeof(*prefs));
  prefs->frameInfo.blockSizeID = LZ4F_max64KB;
  prefs->frameInfo.blockMode = LZ4F_blockIndependent; /* Kafka's reader decodes blocks alone */
  prefs->frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  prefs->compressionLevel = level;
}

size_t bc_compress_bound(int codec, size_t in_size) {
  switch (codec) {
  case RB_COMPRESSION_GZIP: return compressBound((uLong)in_size) + 32;
  case RB_COMPRESSION_SNAPPY:
    return XERIAL_HEADER_SIZE + (in_size / XERIAL_BLOCK_SIZE + 1) *
                                    (4 + snappy_max_compressed_length(XERIAL_BLOCK_SIZE));
  case RB_COMPRESSION_LZ4: {
    LZ4F_preferences_t prefs;
    lz4_prefs(&prefs, 0);
    return LZ4F_compressFrameBound(in_size, &prefs);
  }
  case RB_COMPRESSION_ZSTD: return ZSTD_compressBound(in_size);
  default: return 0;
  }
}

static int gzip_compress(int level, const uint8_t *in, size_t in_size, uint8_t *out,
                         size_t out_size_max, size_t *out_size) {
  if (in_size > UINT_MAX || out_size_max > UINT_MAX) return RB_ELIMIT;
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  if (deflateInit2(&zs, level < 0 ? Z_DEFAULT_COMPRESSION : level, Z_DEFLATED, 16 + MAX_WBITS, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return RB_ECODEC;
  zs.next_in = (Bytef *)(uintptr_t)in;
  zs.avail_in = (uInt)in_size;
  zs.next_out = out;
  zs.avail_out = (uInt)out_size_max;
  int zrc = deflate(&zs, Z_FINISH);
  int rc = zrc == Z_STREAM_END ? RB_OK : zrc == Z_OK || zrc == Z_BUF_ERROR ? RB_ELIMIT : RB_ECODEC;
  if (rc == RB_OK) *out_size = zs.total_out;
  deflateEnd(&zs);
  return rc;
}

static int snappy_xerial_compress(const uint8_t *in, size_t in_size, uint8_t *out,
                                  size_t out_size_max, size_t *out_size) {
  if (out_size_max < bc_compress_bound(RB_COMPRESSION_SNAPPY, in_size)) return RB_ELIMIT;
  memcpy(out, xerial_header, XERIAL_HEADER_SIZE);
  size_t pos = XERIAL_HEADER_SIZE;
  for (size_t done = 0; done < in_size;) {
    size_t chunk = in_size - done < XERIAL_BLOCK_SIZE ? in_size - done : XERIAL_BLOCK_SIZE;
    size_t made = out_size_max - pos - 4;
    if (snappy_compress((const char *)in + done, chunk, (char *)out + pos + 4, &made) != SNAPPY_OK)
      return RB_ECODEC;
    put_u32(out + pos, (uint32_t)made);
    pos += 4 + made;
    done += chunk;
  }
  *out_size = pos;
  return RB_OK;
}

int bc_compress(int codec, int level, const uint8_t *in, size_t in_size, uint8_t *out,
                size_t out_size_max, size_t *out_size) {
  switch (codec) {
  case RB_COMPRESSION_GZIP: return gzip_compress(level, in, in_size, out, out_size_max, out_size);
  case RB_COMPRESSION_SNAPPY:
    return snappy_xerial_compress(in, in_size, out, out_size_max, out_size);
  case RB_COMPRESSION_LZ4: {
    LZ4F_preferences_t prefs;
    lz4_prefs(&prefs, level);
    if (out_size_max < LZ4F_compressFrameBound(in_size, &prefs)) return RB_ELIMIT;
    size_t size = LZ4F_compressFrame(out, out_size_max, in, in_size, &prefs);
    if (LZ4F_isError(size)) return RB_ECODEC;
    *out_size = size;
    return RB_OK;
  }
  case RB_COMPRESSION_ZSTD: {
    if (out_size_max < ZSTD_compressBound(in_size)) return RB_ELIMIT;
    size_t size = ZSTD_compress(out, out_size_max, in, in_size, level);
    if (ZSTD_isError(size)) return RB_ECODEC;
    *out_size = size;
    return RB_OK;
  }
  default: return RB_EINVALID;
  }
}

int bc_inflate(int codec, const uint8_t *in, size_t in_size, size_t cap, uint8_t **out,
               size_t *out_size) {
  size_t size = in_size > cap / 4 ? cap : in_size * 4;
  if (size < 64 * 1024) size = 64 * 1024;
  if (size > cap) size = cap;
  for (;;) {
    uint8_t *buf = malloc(size > 0 ? size : 1);
    if (buf == NULL) return -ENOMEM;
    size_t made = 0;
    int rc = rb_decompress(codec, in, in_size, buf, size, &made);
    if (rc == RB_OK) {
      *out = buf;
      *out_size = made;
      return RB_OK;
    }
    free(buf);
    if (rc != RB_ELIMIT || size >= cap) return rc;
    size = size > cap / 4 ? cap : size * 4;
  }
}

/* ---- checks ---- */

static const char *fmt(struct wire_arena *a, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static const char *fmt(struct wire_arena *a, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  int len = vsnprintf(NULL, 0, format, ap);
  va_end(ap);
  if (len < 0) return NULL;
  char *s = wire_arena_alloc(a, (size_t)len + 1);
  if (s == NULL) return NULL;
  va_start(ap, format);
  vsnprintf(s, (size_t)len + 1, format, ap);
  va_end(ap);
  return s;
}

static bool crc_ok(const uint8_t *p, const struct record_batch *b) {
  return crc32c(0, p + RB_CRC_START, rb_size(b) - RB_CRC_START) == b->crc;
}

/* Java's long arithmetic: now - ts wraps. */
static int64_t wrap_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

/* LogValidator.recordHasInvalidTimestamp. */
static bool timestamp_invalid(int64_t ts, int64_t now, const struct bc_policy *pol) {
  int64_t diff = wrap_sub(now, ts);
  return diff > pol->timestamp_before_max_ms || wrap_sub(0, diff) > pol->timestamp_after_max_ms;
}

/* An error found after the point where Kafka checks the CRC: corruption wins. */
static void fail_after_crc(struct bc_result *out, const uint8_t *p, const struct record_batch *b,
                           int16_t error) {
  out->error = crc_ok(p, b) ? error : ERR_CORRUPT_MESSAGE;
}

struct record_scan {
  int64_t max_timestamp;
  int32_t error_count; /* all of them; out->record_error_count holds the first ones */
  bool timestamp_error;
};

static int add_record_error(struct bc_result *out, struct wire_arena *a, struct record_scan *scan,
                            int32_t index, const char *message) {
  if (message == NULL) return -ENOMEM;
  scan->error_count++;
  if (out->record_error_count >= BC_RECORD_ERRORS_MAX) return 0;
  if (out->record_errors == NULL) {
    out->record_errors =
        wire_arena_alloc_array(a, BC_RECORD_ERRORS_MAX, sizeof(*out->record_errors));
    if (out->record_errors == NULL) return -ENOMEM;
  }
  out->record_errors[out->record_error_count++] = (struct bc_record_error){index, message};
  return 0;
}

/* LogValidator.validateRecord over every record: keys on compacted topics, timestamps. */
static int scan_records(struct rb_record_iter *it, const struct bc_policy *pol, bool lat_batch,
                        int64_t now, const char *tp, struct wire_arena *a, struct bc_result *out,
                        struct record_scan *scan, int *status) {
  struct rb_record r;
  int rc;
  scan->max_timestamp = RB_NO_TIMESTAMP;
  for (int32_t index = 0; (rc = rb_records_next(it, &r)) == RB_OK; index++) {
    if (r.timestamp > scan->max_timestamp) scan->max_timestamp = r.timestamp;
    const char *msg = NULL;
    if (pol->compacted && r.key_size < 0) {
      msg = fmt(a, "Compacted topic cannot accept message without key in topic partition %s", tp);
    } else if (!pol->log_append_time && r.timestamp != RB_NO_TIMESTAMP) {
      if (!timestamp_invalid(r.timestamp, now, pol)) continue;
      scan->timestamp_error = true;
      msg = fmt(a,
                "Timestamp %" PRId64 " of message with offset %" PRId64
                " is out of range. The timestamp should be within [%" PRId64 ", %" PRId64 "]",
                r.timestamp, r.offset, wrap_sub(now, pol->timestamp_before_max_ms),
                wrap_add(now, pol->timestamp_after_max_ms));
    } else if (lat_batch) {
      scan->timestamp_error = true;
      msg = fmt(a,
                "Invalid timestamp type in message DefaultRecord(offset=%" PRId64
                ", timestamp=%" PRId64 ", key=%d bytes, value=%d bytes). Producer should not set "
                "timestamp type to LogAppendTime.",
                r.offset, r.timestamp, r.key_size < 0 ? 0 : r.key_size,
                r.value_size < 0 ? 0 : r.value_size);
    } else {
      continue;
    }
    if (add_record_error(out, a, scan, index, msg) != 0) return -ENOMEM;
  }
  *status = rc == RB_END ? RB_OK : rc;
  return 0;
}

/* LogValidator.processRecordErrors: the partition's error and message. */
static int record_errors_finish(struct bc_result *out, struct wire_arena *a,
                                const struct record_scan *scan) {
  if (scan->timestamp_error) {
    out->error = ERR_INVALID_TIMESTAMP;
    out->error_message = "One or more records have been rejected due to invalid timestamp";
    return 0;
  }
  out->error = ERR_INVALID_RECORD;
  char first[3][1200];
  int shown = out->record_error_count < 3 ? out->record_error_count : 3;
  for (int i = 0; i < 3; i++) {
    if (i < shown)
      snprintf(first[i], sizeof(first[i]), "%sRecordError(batchIndex=%d, message='%s')",
               i > 0 ? ", " : "", out->record_errors[i].batch_index, out->record_errors[i].message);
    else
      first[i][0] = '\0';
  }
  out->error_message = fmt(a,
                           "One or more records have been rejected due to %d record errors in "
                           "total, and only showing the first three errors at most: [%s%s%s]",
                           scan->error_count, first[0], first[1], first[2]);
  return out->error_message != NULL ? 0 : -ENOMEM;
}

/* A new batch: b's header with the records (inflated: raw) compressed with codec. */
static int rebuild(const uint8_t *p, const struct record_batch *b, const uint8_t *raw,
                   size_t raw_size, int codec, const struct bc_policy *pol, int64_t max_timestamp,
                   struct bc_result *out) {
  int level = codec == RB_COMPRESSION_GZIP  ? pol->gzip_level
              : codec == RB_COMPRESSION_LZ4 ? pol->lz4_level
                                            : pol->zstd_level;
  size_t bound = codec == RB_COMPRESSION_NONE ? raw_size : bc_compress_bound(codec, raw_size);
  uint8_t *nb = malloc(RB_HEADER_SIZE + bound);
  if (nb == NULL) return -ENOMEM;
  memcpy(nb, p, RB_HEADER_SIZE);
  size_t body = raw_size;
  if (codec == RB_COMPRESSION_NONE) {
    memcpy(nb + RB_HEADER_SIZE, raw, raw_size);
  } else if (bc_compress(codec, level, raw, raw_size, nb + RB_HEADER_SIZE, bound, &body) != RB_OK) {
    free(nb);
    out->error = ERR_UNKNOWN_SERVER_ERROR;
    return 0;
  }
  size_t total = RB_HEADER_SIZE + body;
  if (total > pol->max_message_bytes || total - RB_LOG_OVERHEAD > INT32_MAX) {
    free(nb); /* Kafka: "Message batch size is N bytes in append to partition ..." */
    out->error = ERR_MESSAGE_TOO_LARGE;
    return 0;
  }
  uint16_t attributes =
      (uint16_t)(b->attributes & ~(RB_ATTR_COMPRESSION_MASK | RB_ATTR_LOG_APPEND_TIME));
  attributes |= (uint16_t)codec;
  if (pol->log_append_time) attributes |= RB_ATTR_LOG_APPEND_TIME;
  put_u64(nb + RB_BASE_OFFSET_OFFSET, 0);
  put_u32(nb + RB_LENGTH_OFFSET, (uint32_t)(total - RB_LOG_OVERHEAD));
  put_u16(nb + RB_ATTRIBUTES_OFFSET, attributes);
  put_u64(nb + RB_MAX_TIMESTAMP_OFFSET, (uint64_t)max_timestamp);
  rb_update_crc(nb);
  out->data = nb;
  out->size = total;
  out->rewritten = true;
  return 0;
}

int16_t bc_check_request(const uint8_t *p, size_t n, int16_t api_version) {
  /* a batch needs its magic byte and a whole batchLength; Kafka's iterator sees none otherwise */
  if (n <= RB_MAGIC_OFFSET) return ERR_INVALID_RECORD;
  if (p[RB_MAGIC_OFFSET] != RB_MAGIC_V2) return ERR_INVALID_RECORD;
  int32_t length = (int32_t)get_u32(p + RB_LENGTH_OFFSET);
  if (length < RB_HEADER_SIZE - RB_LOG_OVERHEAD) return ERR_CORRUPT_MESSAGE;
  size_t size = (size_t)RB_LOG_OVERHEAD + (size_t)length;
  if (size > n) return ERR_INVALID_RECORD;
  /* a second whole batch is refused; a partial tail is not a batch to Kafka's iterator */
  if (n - size > RB_MAGIC_OFFSET) {
    int32_t next = (int32_t)get_u32(p + size + RB_LENGTH_OFFSET);
    if (next >= 0 && (uint64_t)next + RB_LOG_OVERHEAD <= n - size) return ERR_INVALID_RECORD;
  }
  int codec = p[RB_ATTRIBUTES_OFFSET + 1] & RB_ATTR_COMPRESSION_MASK;
  if (codec > RB_COMPRESSION_ZSTD) return ERR_INVALID_RECORD;
  if (codec == RB_COMPRESSION_ZSTD && api_version < 7) return ERR_UNSUPPORTED_COMPRESSION_TYPE;
  return ERR_NONE;
}

int bc_prepare(uint8_t *p, size_t n, const struct bc_policy *pol, int64_t now_ms, const char *tp,
               struct wire_arena *arena, struct bc_result *out) {
  memset(out, 0, sizeof(*out));
  out->error = ERR_NONE;
  out->data = p;
  out->size = n;
  out->log_append_time_ms = -1;

  int16_t error = bc_check_request(p, n, pol->api_version);
  if (error != ERR_NONE) {
    out->error = error;
    return 0;
  }
  struct record_batch b;
  int rc = rb_parse_header(p, n, &b);
  if (rc != RB_OK) { /* only a batchLength below the header's (bc_check_request saw the rest) */
    out->error = ERR_CORRUPT_MESSAGE;
    return 0;
  }
  if (n > rb_size(&b)) out->size = n = rb_size(&b); /* a partial tail: Kafka's log trims it */
  int codec = rb_compression(&b);
  /* UnifiedLog.analyzeAndValidateRecords: baseOffset 0, size, then the CRC */
  if (b.base_offset != 0) {
    out->error = ERR_INVALID_RECORD;
    return 0;
  }
  if (n > pol->max_message_bytes) {
    out->error = ERR_MESSAGE_TOO_LARGE;
    return 0;
  }
  /* LogValidator.validateBatch (AppendOrigin.CLIENT) */
  if (b.record_count <= 0 || (int64_t)b.last_offset_delta + 1 != b.record_count ||
      rb_is_control(&b) || (rb_has_producer_id(&b) && b.base_sequence < 0)) {
    fail_after_crc(out, p, &b, ERR_INVALID_RECORD);
    return 0;
  }

  int target = pol->target_codec == BC_CODEC_PRODUCER ? codec : pol->target_codec;
  bool recompress = target != codec;
  bool lat_batch = rb_timestamp_type(&b) == RB_TIMESTAMP_LOG_APPEND_TIME;
  bool header_late = !pol->log_append_time && b.max_timestamp != RB_NO_TIMESTAMP &&
                     wrap_sub(b.max_timestamp, now_ms) > pol->timestamp_after_max_ms;
  /* a CreateTime header without a maxTimestamp (sarama before 1.23 writes -1) gets the records'
   * largest, as Kafka's LogValidator sets it, so timestamp lookups find the batch */
  bool header_unstamped = !pol->log_append_time && b.max_timestamp == RB_NO_TIMESTAMP;
  bool need_records = recompress || pol->compacted || header_late || header_unstamped ||
                      (pol->log_append_time && lat_batch) ||
                      (!pol->log_append_time && pol->timestamp_before_max_ms != INT64_MAX);
  if (!need_records) {
    if (!pol->log_append_time && !lat_batch) return 0; /* the hot path: stored as sent */
    if (!crc_ok(p, &b)) {
      out->error = ERR_CORRUPT_MESSAGE;
      return 0;
    }
    if (pol->log_append_time) {
      rb_set_max_timestamp(p, RB_TIMESTAMP_LOG_APPEND_TIME, now_ms);
      out->log_append_time_ms = now_ms;
    } else { /* the producer's LogAppendTime bit on a CreateTime topic: Kafka clears it */
      rb_set_max_timestamp(p, RB_TIMESTAMP_CREATE_TIME, b.max_timestamp);
    }
    return 0;
  }

  /* the records are needed: check the whole batch first (CRC, uncompressed records) */
  rc = rb_validate(p, n, &b);
  if (rc != RB_OK) {
    out->error = rb_status_kafka_error(rc);
    return 0;
  }
  uint8_t *inflated = NULL;
  const uint8_t *raw = b.records;
  size_t raw_size = b.records_size;
  struct rb_record_iter it;
  if (codec != RB_COMPRESSION_NONE) {
    rc = bc_inflate(codec, b.records, b.records_size, pol->inflated_max, &inflated, &raw_size);
    if (rc == -ENOMEM) return -ENOMEM;
    if (rc != RB_OK) {
      out->error = rb_status_kafka_error(rc);
      if (rc == RB_ELIMIT)
        out->error_message = fmt(arena,
                                 "The records of the batch in the append to %s inflate to more "
                                 "than %zu bytes",
                                 tp, pol->inflated_max);
      return 0;
    }
    raw = inflated;
    rb_records_begin_inflated(&it, &b, raw, raw_size);
  } else {
    rb_records_begin(&it, &b);
  }
  struct record_scan scan = {RB_NO_TIMESTAMP, 0, false};
  int status = RB_OK;
  int err = scan_records(&it, pol, lat_batch, now_ms, tp, arena, out, &scan, &status);
  if (err == 0 && status != RB_OK) {
    out->error = rb_status_kafka_error(status);
    out->record_error_count = 0;
  } else if (err == 0 && scan.error_count > 0) {
    err = record_errors_finish(out, arena, &scan);
  } else if (err == 0 && recompress) {
    int64_t max_ts = pol->log_append_time ? now_ms : scan.max_timestamp;
    err = rebuild(p, &b, raw, raw_size, target, pol, max_ts, out);
    if (err == 0 && out->error == ERR_NONE && pol->log_append_time)
      out->log_append_time_ms = now_ms;
  } else if (err == 0 && pol->log_append_time) {
    rb_set_max_timestamp(p, RB_TIMESTAMP_LOG_APPEND_TIME, now_ms);
    out->log_append_time_ms = now_ms;
  } else if (err == 0 && (lat_batch || scan.max_timestamp != b.max_timestamp)) {
    /* Kafka's setMaxTimestamp: the records' largest timestamp, CreateTime */
    rb_set_max_timestamp(p, RB_TIMESTAMP_CREATE_TIME, scan.max_timestamp);
  }
  free(inflated);
  return err;
}

void bc_result_release(struct bc_result *r) {
  if (r->rewritten) free(r->data);
  r->rewritten = false;
  r->data = NULL;
}
