/* What a Produce does to a client's RecordBatch before the partition log appends it: Apache
 * Kafka 4.3's checks (ProduceRequest.validateRecords, UnifiedLog.analyzeAndValidateRecords,
 * LogValidator) and the rewrites Kafka makes (recompression to the topic's compression.type,
 * LogAppendTime stamping), over one partition's records. Pure: no I/O, no clock, no globals.
 *
 * Design note.
 *  - The hot path does no work on the records: for a batch the topic keeps as sent (the
 *    producer's codec or the same one, CreateTime, not compacted, default
 *    message.timestamp.before.max.ms) only the 61-byte header is read; the CRC-32C and the
 *    uncompressed records are checked by the partition log's append (plog_append -> rb_validate)
 *    and compressed records are never inflated. The after.max.ms bound is checked against the
 *    header's maxTimestamp (the largest record timestamp, as producers write it).
 *  - The records are read (inflated when compressed, into a buffer that grows up to
 *    policy->inflated_max and no further, so a compression bomb costs bounded memory and answers
 *    RECORD_LIST_TOO_LARGE) only when a feature needs them: keys on compacted topics, a
 *    before.max.ms bound, a header maxTimestamp past the after.max.ms bound (to name the
 *    records), a header with no maxTimestamp (-1: it gets the records' largest), LogAppendTime
 *    set by the producer on a LogAppendTime topic, or recompression.
 *    Kafka inflates every compressed batch; it checks each record, and so does Quire whenever it
 *    reads them. Where Quire only reads the header it trusts maxTimestamp (a producer that lies
 *    in it is not caught, and the header is stored as sent).
 *  - Whenever covered bytes change (a rewrite or a stamp), the CRC is verified first, so a
 *    corrupt batch is never given a valid checksum.
 *  - Order of checks (Kafka's): magic 2 and exactly one batch (INVALID_RECORD), zstd before
 *    Produce v7 (UNSUPPORTED_COMPRESSION_TYPE), baseOffset 0, size <= max.message.bytes
 *    (MESSAGE_TOO_LARGE), CRC (CORRUPT_MESSAGE), batch fields (INVALID_RECORD), then per record
 *    the key on compacted topics (INVALID_RECORD) and the timestamp (INVALID_TIMESTAMP), with
 *    Kafka's per-record errors and messages. The CRC check of an error found before it is done
 *    lazily: a batch refused for another reason is first checked for corruption, so corruption
 *    wins as in Kafka. */
#ifndef QUIRE_PROTOCOL_BATCH_CONVERT_H
#define QUIRE_PROTOCOL_BATCH_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define BC_CODEC_PRODUCER (-1)    /* compression.type=producer: keep the batch's codec */
#define BC_RECORD_ERRORS_MAX 1000 /* per-record errors reported at most (Kafka lists all) */
#define BC_INFLATED_MAX_DEFAULT ((size_t)64 << 20)

/* The topic's settings that matter to a produced batch. */
struct bc_policy {
  int target_codec; /* enum rb_compression, or BC_CODEC_PRODUCER */
  int gzip_level;   /* compression.gzip.level: -1 (zlib's default) or 1-9 */
  int lz4_level;    /* compression.lz4.level: 1-17 */
  int zstd_level;   /* compression.zstd.level */
  bool log_append_time;
  int64_t timestamp_before_max_ms, timestamp_after_max_ms;
  bool compacted;
  uint32_t max_message_bytes;
  size_t inflated_max; /* cap of the inflated records (BC_INFLATED_MAX_DEFAULT) */
  int16_t api_version; /* of the Produce request: zstd needs v7+ */
};

struct bc_record_error {
  int32_t batch_index;
  const char *message;
};

struct bc_result {
  int16_t error;             /* a Kafka error code; ERR_NONE: append data/size */
  const char *error_message; /* Kafka's, for record errors (v8+); NULL otherwise */
  struct bc_record_error *record_errors;
  int32_t record_error_count;
  uint8_t *data; /* what to append: the input (maybe stamped in place) or a rewrite */
  size_t size;
  bool rewritten;             /* data is a new (malloc'd) batch: bc_result_release frees it */
  int64_t log_append_time_ms; /* the stamp under LogAppendTime, else -1 */
};

/* ProduceRequest.validateRecords, on the bytes alone (checked before the partition is looked
 * up): magic 2 and exactly one whole batch (INVALID_RECORD; a batchLength shorter than a header
 * CORRUPT_MESSAGE), a known codec, zstd only from Produce v7 (UNSUPPORTED_COMPRESSION_TYPE).
 * ERR_NONE otherwise. bc_prepare makes these checks too. */
int16_t bc_check_request(const uint8_t *p, size_t n, int16_t api_version);

/* Checks (and maybe rewrites) the records of one partition of a Produce request. p/n are the
 * partition's records (writable: a LogAppendTime stamp is made in place); topic_partition names
 * it in messages ("topic-0"); messages and record errors come from arena. Returns 0 with
 * out->error set, or -ENOMEM (arena or heap exhausted; nothing to release). */
int bc_prepare(uint8_t *p, size_t n, const struct bc_policy *policy, int64_t now_ms,
               const char *topic_partition, struct wire_arena *arena, struct bc_result *out);
void bc_result_release(struct bc_result *r);

/* Compresses records with a codec at a level, in the framing Kafka's Java client and broker
 * write: gzip at level (-1: default), snappy in xerial block framing (32 KiB blocks), lz4 frames
 * with independent 64 KiB blocks and no content checksum, zstd at level. out holds at least
 * bc_compress_bound(codec, in_size) bytes. RB_OK with *out_size, or RB_ECODEC / RB_EINVALID. */
size_t bc_compress_bound(int codec, size_t in_size);
int bc_compress(int codec, int level, const uint8_t *in, size_t in_size, uint8_t *out,
                size_t out_size_max, size_t *out_size);

/* Inflates the records of a compressed batch into a malloc'd buffer grown as needed (from a few
 * times the compressed size) up to cap bytes, so memory follows the real inflated size: RB_OK
 * with *out / *out_size (free it), RB_ELIMIT past the cap, RB_ECODEC, RB_EINVALID, or -ENOMEM. */
int bc_inflate(int codec, const uint8_t *in, size_t in_size, size_t cap, uint8_t **out,
               size_t *out_size);

#endif
