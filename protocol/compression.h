/* The record codecs of RecordBatch v2 (attributes bits 0-2), in the framings Kafka clients use:
 *  gzip    a gzip stream (concatenated members accepted, as Java's GZIPInputStream does)
 *  snappy  raw snappy (librdkafka) or Java's xerial block framing: "\x82SNAPPY\0", int32 version,
 *          int32 compatible version, then blocks of int32 compressed length + raw snappy
 *  lz4     the LZ4 frame format (Kafka's KafkaLZ4BlockOutputStream, correct header checksum in v2)
 *  zstd    zstd frames (one or more)
 * The broker leaves compressed records alone on the hot path (DESIGN.md); these are for the
 * features that need the records (compaction, recompression, key checks) and for tests.
 * The caller's output buffer is the inflated-size cap: nothing is written past it. */
#ifndef QUIRE_PROTOCOL_COMPRESSION_H
#define QUIRE_PROTOCOL_COMPRESSION_H

#include <stddef.h>
#include <stdint.h>

/* Inflates in (in_size bytes of records compressed with codec, enum rb_compression) into out.
 * RB_OK with *out_size set; RB_ELIMIT when the records inflate to more than out_size_max bytes;
 * RB_ECODEC when the input is not a valid (complete) stream of that codec; RB_EINVALID for
 * RB_COMPRESSION_NONE or an unknown codec. */
int rb_decompress(int codec, const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size_max,
                  size_t *out_size);

/* An upper bound of rb_compress's output for in_size bytes (0 for an unknown codec). */
size_t rb_compress_bound(int codec, size_t in_size);
/* Compresses in into out (at least rb_compress_bound bytes): gzip, raw snappy, an lz4 frame,
 * a zstd frame, each at its library's default level. RB_OK with *out_size, RB_ELIMIT when
 * out_size_max is too small, RB_ECODEC when the library fails, RB_EINVALID for an unknown codec. */
int rb_compress(int codec, const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size_max,
                size_t *out_size);

#endif
