/* Record codecs: gzip (zlib), snappy (raw and xerial framing), lz4 frames, zstd.
 *
 * The cap: out[0, out_size_max) is the only memory written. Streaming decoders that fill it
 * continue into a one-byte spill; any byte landing there means the records inflate past the cap
 * (RB_ELIMIT). So an input that inflates to exactly out_size_max bytes is accepted. */
#include "compression.h"

#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "record_batch.h"

/* ---- gzip ---- */

static int gzip_decompress(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size_max,
                           size_t *out_size) {
  if (in_size > UINT_MAX) return RB_ELIMIT;
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return RB_ECODEC;
  int rc = RB_ECODEC;
  uint8_t spill;
  size_t produced = 0; /* bytes in out so far */
  zs.next_in = (Bytef *)(uintptr_t)in;
  zs.avail_in = (uInt)in_size;
  for (;;) {
    size_t room = out_size_max - produced;
    zs.next_out = room > 0 ? out + produced : &spill;
    zs.avail_out = room > 0 ? (room > UINT_MAX ? UINT_MAX : (uInt)room) : 1;
    uInt avail_before = zs.avail_out;
    int zrc = inflate(&zs, Z_NO_FLUSH);
    size_t made = avail_before - zs.avail_out;
    if (room == 0 && made > 0) {
      rc = RB_ELIMIT;
      goto done;
    }
    produced += room > 0 ? made : 0;
    if (zrc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      if (inflateReset(&zs) != Z_OK) goto done; /* another gzip member follows */
    } else if (zrc == Z_BUF_ERROR) {
      if (zs.avail_in == 0) goto done; /* the stream ends early */
    } else if (zrc != Z_OK) {
      goto done;
    }
  }
  *out_size = produced;
  rc = RB_OK;
done:
  inflateEnd(&zs);
  return rc;
}

static int gzip_compress(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size_max,
                         size_t *out_size) {
  if (in_size > UINT_MAX || out_size_max > UINT_MAX) return RB_ELIMIT;
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK)
    return RB_ECODEC;
  zs.next_in = (Bytef *)(uintptr_t)in;
  zs.avail_in = (uInt)in_size;
  zs.next_out = out;
  zs.avail_out = (uInt)out_size_max;
  int zrc = deflate(&zs, Z_FINISH);
  int rc = zrc == Z_STREAM_END                   ? RB_OK
           : (zrc == Z_OK || zrc == Z_BUF_ERROR) ? RB_ELIMIT
                                                 : RB_ECODEC;
  if (rc == RB_OK) *out_size = zs.total_out;
  deflateEnd(&zs);
  return rc;
}

/* ---- snappy ---- */

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
enum { XERIAL_HEADER_SIZE = 16 };

static int snappy_raw_decompress(const uint8_t *in, size_t in_size, uint8_t *out, size_t room,
                                 size_t *made) {
  size_t size;
  if (snappy_uncompressed_length((const char *)in, in_size, &size) != SNAPPY_OK) return RB_ECODEC;
  if (size > room) return RB_ELIMIT;
  if (snappy_uncompress((const char *)in, in_size, (char *)out, &size) != SNAPPY_OK)
    return RB_ECODEC;
  *made = size;
  return RB_OK;
}

static int snappy_decompress(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size_max,
                             size_t *out_size) {
  if (in_size < XERIAL_HEADER_SIZE || memcmp(in, xerial_magic, sizeof(xerial_magic)) != 0)
    return snappy_raw_decompress(in, in_size, out, out_size_max, out_size);
  size_t pos = XERIAL_HEADER_SIZE, produced = 0;
  while (pos < in_size) {
    if (in_size - pos < 4) return RB_ECODEC;
    uint32_t block_size = (uint32_t)in[pos] << 24 | (uint32_t)in[pos + 1] << 16 |
                          (uint32_t)in[pos + 2] << 8 | in[pos + 3];
    pos += 4;
    if (block_size > in_size - pos) return RB_ECODEC;
    size_t made = 0;
    int rc =
        snappy_raw_decompress(in + pos, block_size, out + produced, out_size_max - produced, &made);
    if (rc != RB_OK) return rc;
    produced += made;
    pos += block_size;
  }
  *out_size = produced;
  return RB_OK;
}

/* ---- lz4 ---- */

static int lz4_decompress(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size_max,
                          size_t *out_size) {
  LZ4F_dctx *ctx;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) return RB_ECODEC;
  int rc = RB_ECODEC;
  uint8_t spill;
  size_t pos = 0, produced = 0, hint = 1;
  while (pos < in_size) {
    size_t room = out_size_max - produced;
    size_t dst_size = room > 0 ? room : 1;
    size_t src_size = in_size - pos;
    hint = LZ4F_decompress(ctx, room > 0 ? out + produced : &spill, &dst_size, in + pos, &src_size,
                           NULL);
    if (LZ4F_isError(hint)) goto done;
    if (room == 0 && dst_size > 0) {
      rc = RB_ELIMIT;
      goto done;
    }
    produced += room > 0 ? dst_size : 0;
    pos += src_size;
    if (src_size == 0 && dst_size == 0) goto done; /* no progress */
  }
  /* All input used; flush what the decoder still holds (hint != 0: the frame is unfinished). */
  while (hint != 0) {
    size_t room = out_size_max - produced;
    size_t dst_size = room > 0 ? room : 1;
    size_t src_size = 0;
    hint =
        LZ4F_decompress(ctx, room > 0 ? out + produced : &spill, &dst_size, NULL, &src_size, NULL);
    if (LZ4F_isError(hint)) goto done;
    if (room == 0 && dst_size > 0) {
      rc = RB_ELIMIT;
      goto done;
    }
    produced += room > 0 ? dst_size : 0;
    if (dst_size == 0 && hint != 0) goto done; /* truncated frame */
  }
  *out_size = produced;
  rc = RB_OK;
done:
  LZ4F_freeDecompressionContext(ctx);
  return rc;
}

/* ---- zstd ---- */

static int zstd_decompress(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size_max,
                           size_t *out_size) {
  ZSTD_DCtx *ctx = ZSTD_createDCtx();
  if (ctx == NULL) return RB_ECODEC;
  int rc = RB_ECODEC;
  uint8_t spill;
  size_t produced = 0, left = 1;
  ZSTD_inBuffer ib = {in, in_size, 0};
  for (;;) {
    size_t room = out_size_max - produced;
    ZSTD_outBuffer ob = {room > 0 ? out + produced : &spill, room > 0 ? room : 1, 0};
    size_t pos_before = ib.pos;
    left = ZSTD_decompressStream(ctx, &ob, &ib);
    if (ZSTD_isError(left)) goto done;
    if (room == 0 && ob.pos > 0) {
      rc = RB_ELIMIT;
      goto done;
    }
    produced += room > 0 ? ob.pos : 0;
    if (ib.pos == ib.size && left == 0) break;          /* every frame complete */
    if (ib.pos == pos_before && ob.pos == 0) goto done; /* no progress: truncated */
  }
  *out_size = produced;
  rc = RB_OK;
done:
  ZSTD_freeDCtx(ctx);
  return rc;
}

int rb_decompress(int codec, const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size_max,
                  size_t *out_size) {
  switch (codec) {
  case RB_COMPRESSION_GZIP: return gzip_decompress(in, in_size, out, out_size_max, out_size);
  case RB_COMPRESSION_SNAPPY: return snappy_decompress(in, in_size, out, out_size_max, out_size);
  case RB_COMPRESSION_LZ4: return lz4_decompress(in, in_size, out, out_size_max, out_size);
  case RB_COMPRESSION_ZSTD: return zstd_decompress(in, in_size, out, out_size_max, out_size);
  default: return RB_EINVALID;
  }
}

size_t rb_compress_bound(int codec, size_t in_size) {
  switch (codec) {
  case RB_COMPRESSION_GZIP: return compressBound((uLong)in_size) + 32; /* + gzip header/trailer */
  case RB_COMPRESSION_SNAPPY: return snappy_max_compressed_length(in_size);
  case RB_COMPRESSION_LZ4: return LZ4F_compressFrameBound(in_size, NULL);
  case RB_COMPRESSION_ZSTD: return ZSTD_compressBound(in_size);
  default: return 0;
  }
}

int rb_compress(int codec, const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size_max,
                size_t *out_size) {
  switch (codec) {
  case RB_COMPRESSION_GZIP:
    if (out_size_max < rb_compress_bound(codec, in_size)) return RB_ELIMIT;
    return gzip_compress(in, in_size, out, out_size_max, out_size);
  case RB_COMPRESSION_SNAPPY: {
    size_t size = out_size_max;
    if (size < snappy_max_compressed_length(in_size)) return RB_ELIMIT;
    if (snappy_compress((const char *)in, in_size, (char *)out, &size) != SNAPPY_OK)
      return RB_ECODEC;
    *out_size = size;
    return RB_OK;
  }
  case RB_COMPRESSION_LZ4: {
    if (out_size_max < LZ4F_compressFrameBound(in_size, NULL)) return RB_ELIMIT;
    size_t size = LZ4F_compressFrame(out, out_size_max, in, in_size, NULL);
    if (LZ4F_isError(size)) return RB_ECODEC;
    *out_size = size;
    return RB_OK;
  }
  case RB_COMPRESSION_ZSTD: {
    if (out_size_max < ZSTD_compressBound(in_size)) return RB_ELIMIT;
    size_t size = ZSTD_compress(out, out_size_max, in, in_size, ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError(size)) return RB_ECODEC;
    *out_size = size;
    return RB_OK;
  }
  default: return RB_EINVALID;
  }
}
