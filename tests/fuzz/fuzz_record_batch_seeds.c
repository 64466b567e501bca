/* Seeds for fuzz_record_batch (input: a mode byte, then the payload; see fuzz_record_batch.c):
 *   fuzz_record_batch_seeds record-batch OUTDIR [GOLDEN_DIR]
 * (the command line of fuzz_seeds, so run_fuzz.sh runs either). Writes:
 *  - the librdkafka batches of tests/unit/record_batch_kcat.h (every codec), as they are, with
 *    the CRC-fixing mode, and the uncompressed one recompressed with each codec;
 *  - generated batches: null keys and values, headers, gaps in the offset deltas, control,
 *    transactional, LogAppendTime, delete-horizon and empty batches, every codec, each codec's
 *    other framings (xerial snappy, gzip members, several lz4 and zstd frames), a record set of
 *    several batches, and a few broken ones (bad CRC, truncated, wrong magic);
 *  - every valid batch found in the Produce frames captured under GOLDEN_DIR (*.bin);
 *  - compress/decompress round-trip inputs for each codec, and field values for the ops that
 *    build batches (uncompressed and each codec).
 * File names say what a seed is; the files are rewritten on every run. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <snappy-c.h>

#include "compression.h"
#include "record_batch.h"
#include "record_batch_kcat.h"
#include "wire.h"

#define GOLDEN_BYTES_MAX (1u << 20)
#define BUF_MAX (64u << 10)

enum {
  MODE_AS_IS = 0,
  MODE_FIX_CRC = 1,
  MODE_RECOMPRESS = 2,
  MODE_ROUND_TRIP = 3,
  MODE_BUILD = 4,
  MODE_BUILD_COMPRESSED = 5,
};

static const char *seed_dir;
static int seed_count;

static uint8_t mode_byte(int mode, int codec) {
  return (uint8_t)(mode | (codec > 0 ? (codec - 1) << 3 : 0));
}

static int write_seed(const char *name, uint8_t mode, const uint8_t *p, size_t n) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    fprintf(stderr, "fuzz_record_batch_seeds: %s: %s\n", path, strerror(errno));
    return -1;
  }
  int ok = fwrite(&mode, 1, 1, f) == 1 && (n == 0 || fwrite(p, 1, n, f) == n);
  if (fclose(f) != 0 || !ok) {
    fprintf(stderr, "fuzz_record_batch_seeds: cannot write %s\n", path);
    return -1;
  }
  seed_count++;
  return 0;
}

/* ---- a batch builder ---- */

static uint64_t rng_state;
static uint32_t rng(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 33);
}

static void write_text(struct wire_writer *w, int len) {
  static const char words[] = "quire kafka record batch header value key ";
  if (len < 0) {
    wire_write_varint(w, -1);
    return;
  }
  wire_write_varint(w, len);
  for (int i = 0; i < len; i++) wire_write_i8(w, (int8_t)words[(i + (int)rng()) % 41]);
}

/* count records with deltas 0, step, 2 step ...; some null keys/values, some headers.
 * Returns the records' size, sets *last_delta. */
static size_t records_build(uint8_t *out, size_t cap, int count, int step, int32_t *last_delta) {
  struct wire_writer w = {out, out + cap, WIRE_OK, NULL};
  for (int i = 0; i < count; i++) {
    uint8_t body[1024];
    struct wire_writer bw = {body, body + sizeof(body), WIRE_OK, NULL};
    wire_write_i8(&bw, 0);
    wire_write_varlong(&bw, (int64_t)i * (rng() % 1000));
    wire_write_varint(&bw, i * step);
    write_text(&bw, rng() % 5 == 0 ? -1 : (int)(rng() % 12));
    write_text(&bw, rng() % 7 == 0 ? -1 : (int)(rng() % 80));
    int headers = (int)(rng() % 4);
    wire_write_varint(&bw, headers);
    for (int h = 0; h < headers; h++) {
      write_text(&bw, (int)(rng() % 8));
      write_text(&bw, rng() % 4 == 0 ? -1 : (int)(rng() % 10));
    }
    size_t body_size = (size_t)(bw.p - body);
    wire_write_varint(&w, (int32_t)body_size);
    wire_write_raw(&w, body, body_size);
    *last_delta = i * step;
  }
  return w.status == WIRE_OK ? (size_t)(w.p - out) : 0;
}

struct shape {
  int16_t attributes;
  int64_t producer_id;
  int32_t base_sequence;
  int32_t last_offset_delta_extra; /* lastOffsetDelta beyond the last record's delta */
};

static size_t batch_build(uint8_t *out, size_t cap, const struct shape *s, int count,
                          int32_t last_delta, const uint8_t *records, size_t records_size) {
  struct wire_writer w = {out, out + cap, WIRE_OK, NULL};
  wire_write_i64(&w, (int64_t)(rng() % 100000));
  wire_write_i32(&w, (int32_t)(RB_HEADER_SIZE - RB_LOG_OVERHEAD + records_size));
  wire_write_i32(&w, rng() % 2 ? RB_NO_PARTITION_LEADER_EPOCH : (int32_t)(rng() % 10));
  wire_write_i8(&w, RB_MAGIC_V2);
  wire_write_u32(&w, 0);
  wire_write_i16(&w, s->attributes);
  wire_write_i32(&w, count > 0 ? last_delta + s->last_offset_delta_extra : 0);
  wire_write_i64(&w, 1700000000000 + rng());
  wire_write_i64(&w, 1700000001000 + rng());
  wire_write_i64(&w, s->producer_id);
  wire_write_i16(&w, s->producer_id >= 0 ? 0 : RB_NO_PRODUCER_EPOCH);
  wire_write_i32(&w, s->base_sequence);
  wire_write_i32(&w, count);
  wire_write_raw(&w, records, records_size);
  if (w.status != WIRE_OK) return 0;
  rb_update_crc(out);
  return (size_t)(w.p - out);
}

/* A batch of count records compressed with codec (framing: 0 the library's, 1 the other one). */
static size_t make_batch(uint8_t *out, size_t cap, struct shape s, int count, int step, int codec,
                         int framing) {
  static uint8_t records[BUF_MAX], z[BUF_MAX + 1024];
  int32_t last_delta = 0;
  size_t n = records_build(records, sizeof(records), count, step, &last_delta);
  if (count > 0 && n == 0) return 0;
  s.attributes = (int16_t)((s.attributes & ~RB_ATTR_COMPRESSION_MASK) | codec);
  if (codec == RB_COMPRESSION_NONE) return batch_build(out, cap, &s, count, last_delta, records, n);
  size_t zn = 0;
  if (framing == 0 || codec == RB_COMPRESSION_GZIP || codec == RB_COMPRESSION_LZ4 ||
      codec == RB_COMPRESSION_ZSTD) {
    /* gzip, lz4, zstd: framing 1 is two members/frames, one per half */
    size_t half = framing ? n / 2 : n, z1 = 0, z2 = 0;
    if (rb_compress(codec, records, half, z, sizeof(z), &z1) != RB_OK) return 0;
    zn = z1;
    if (framing) {
      if (rb_compress(codec, records + half, n - half, z + z1, sizeof(z) - z1, &z2) != RB_OK)
        return 0;
      zn += z2;
    }
  } else {
    /* xerial snappy: magic, version 1, compatible 1, then blocks of length + raw snappy */
    static const uint8_t head[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
    memcpy(z, head, sizeof(head));
    zn = sizeof(head);
    for (size_t at = 0; at < n || at == 0; at += 100) {
      size_t len = n - at < 100 ? n - at : 100, bn = sizeof(z) - zn - 4;
      if (snappy_compress((const char *)records + at, len, (char *)z + zn + 4, &bn) != SNAPPY_OK)
        return 0;
      for (int i = 0; i < 4; i++) z[zn + (size_t)i] = (uint8_t)(bn >> (24 - 8 * i));
      zn += 4 + bn;
      if (n == 0) break;
    }
  }
  return batch_build(out, cap, &s, count, last_delta, z, zn);
}

/* ---- golden Produce frames: every offset where a valid batch starts ---- */

static int golden_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  if (type == FTW_D && strcmp(path + ftw->base, "node_modules") == 0) return FTW_SKIP_SUBTREE;
  size_t len = strlen(path);
  if (type != FTW_F || len < 4 || strcmp(path + len - 4, ".bin") != 0) return FTW_CONTINUE;
  if (strncmp(path + ftw->base, "Produce", 7) != 0) return FTW_CONTINUE;
  if (st->st_size < RB_HEADER_SIZE || (size_t)st->st_size > GOLDEN_BYTES_MAX) return FTW_CONTINUE;
  uint8_t *frame = malloc((size_t)st->st_size);
  FILE *f = fopen(path, "rb");
  size_t size = f != NULL && frame != NULL ? fread(frame, 1, (size_t)st->st_size, f) : 0;
  if (f != NULL) fclose(f);
  int rc = 0, found = 0;
  for (size_t at = 0; rc == 0 && at + RB_HEADER_SIZE <= size; at++) {
    struct record_batch b;
    if (rb_validate(frame + at, size - at, &b) != RB_OK) continue;
    char name[512];
    const char *client = path + ftw->base - 2;
    while (client > path && client[-1] != '/') client--;
    snprintf(name, sizeof(name), "golden-%.*s-%s-%d", (int)(path + ftw->base - 1 - client), client,
             path + ftw->base, found++);
    rc = write_seed(name, mode_byte(MODE_AS_IS, 0), frame + at, rb_size(&b));
    at += rb_size(&b) - 1;
  }
  free(frame);
  return rc == 0 ? FTW_CONTINUE : FTW_STOP;
}

/* ---- main ---- */

static const char *const codec_names[] = {"none", "gzip", "snappy", "lz4", "zstd"};

static int kcat_seeds(void) {
  static const struct {
    const uint8_t *p;
    size_t n;
  } kcat[] = {
      {kcat_batch_none, sizeof(kcat_batch_none)},     {kcat_batch_gzip, sizeof(kcat_batch_gzip)},
      {kcat_batch_snappy, sizeof(kcat_batch_snappy)}, {kcat_batch_lz4, sizeof(kcat_batch_lz4)},
      {kcat_batch_zstd, sizeof(kcat_batch_zstd)},
  };
  char name[128];
  for (int c = 0; c <= RB_COMPRESSION_ZSTD; c++) {
    snprintf(name, sizeof(name), "kcat-%s", codec_names[c]);
    if (write_seed(name, mode_byte(MODE_AS_IS, 0), kcat[c].p, kcat[c].n) != 0) return -1;
    snprintf(name, sizeof(name), "kcat-%s-fixcrc", codec_names[c]);
    if (write_seed(name, mode_byte(MODE_FIX_CRC, 0), kcat[c].p, kcat[c].n) != 0) return -1;
  }
  for (int c = RB_COMPRESSION_GZIP; c <= RB_COMPRESSION_ZSTD; c++) {
    snprintf(name, sizeof(name), "kcat-none-recompress-%s", codec_names[c]);
    if (write_seed(name, mode_byte(MODE_RECOMPRESS, c), kcat_batch_none, sizeof(kcat_batch_none)))
      return -1;
  }
  /* the whole set of five as one record set */
  static uint8_t set[8192];
  size_t n = 0;
  for (int c = 0; c <= RB_COMPRESSION_ZSTD; c++) {
    memcpy(set + n, kcat[c].p, kcat[c].n);
    n += kcat[c].n;
  }
  return write_seed("kcat-all", mode_byte(MODE_AS_IS, 0), set, n);
}

static int generated_seeds(void) {
  static const struct {
    const char *name;
    struct shape s;
    int count, step;
  } shapes[] = {
      {"plain", {0, -1, -1, 0}, 5, 1},
      {"one", {0, -1, -1, 0}, 1, 1},
      {"empty", {0, -1, -1, 0}, 0, 1},
      {"gaps", {0, -1, -1, 3}, 6, 2}, /* compacted: deltas 0 2 4 .., lastOffsetDelta beyond */
      {"idempotent", {0, 1000, 42, 0}, 4, 1},
      {"transactional", {RB_ATTR_TRANSACTIONAL, 1000, 7, 0}, 3, 1},
      {"control", {RB_ATTR_CONTROL | RB_ATTR_TRANSACTIONAL, 1000, -1, 0}, 1, 1},
      {"logappend", {RB_ATTR_LOG_APPEND_TIME, -1, -1, 0}, 3, 1},
      {"horizon", {RB_ATTR_DELETE_HORIZON, -1, -1, 0}, 3, 1},
      {"many", {0, -1, -1, 0}, 60, 1},
  };
  static uint8_t batch[BUF_MAX + 2048], set[3 * (BUF_MAX + 2048)];
  char name[128];
  rng_state = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
    for (int c = 0; c <= RB_COMPRESSION_ZSTD; c++)
      for (int framing = 0; framing < (c == RB_COMPRESSION_NONE ? 1 : 2); framing++) {
        size_t n = make_batch(batch, sizeof(batch), shapes[i].s, shapes[i].count, shapes[i].step, c,
                              framing);
        if (n == 0) return -1;
        snprintf(name, sizeof(name), "gen-%s-%s%s", shapes[i].name, codec_names[c],
                 framing ? "-framed" : "");
        if (write_seed(name, mode_byte(MODE_AS_IS, 0), batch, n) != 0) return -1;
        if (c == RB_COMPRESSION_NONE) {
          /* the CRC mode with the CRC zeroed; and recompressed by the target */
          memset(batch + RB_CRC_OFFSET, 0, 4);
          snprintf(name, sizeof(name), "gen-%s-fixcrc", shapes[i].name);
          if (write_seed(name, mode_byte(MODE_FIX_CRC, 0), batch, n) != 0) return -1;
          for (int z = RB_COMPRESSION_GZIP; z <= RB_COMPRESSION_ZSTD; z++) {
            snprintf(name, sizeof(name), "gen-%s-recompress-%s", shapes[i].name, codec_names[z]);
            if (write_seed(name, mode_byte(MODE_RECOMPRESS, z), batch, n) != 0) return -1;
          }
        }
      }
  /* a record set: uncompressed, zstd, gzip batches back to back */
  size_t n = 0;
  static const int set_codecs[] = {RB_COMPRESSION_NONE, RB_COMPRESSION_ZSTD, RB_COMPRESSION_GZIP};
  for (int i = 0; i < 3; i++) {
    size_t m = make_batch(set + n, sizeof(set) - n, shapes[0].s, 3, 1, set_codecs[i], 0);
    if (m == 0) return -1;
    n += m;
  }
  if (write_seed("gen-set", mode_byte(MODE_AS_IS, 0), set, n) != 0) return -1;
  if (write_seed("gen-set-fixcrc", mode_byte(MODE_FIX_CRC, 0), set, n) != 0) return -1;
  /* broken: bad CRC, truncated, magic 1 */
  n = make_batch(batch, sizeof(batch), shapes[0].s, 3, 1, RB_COMPRESSION_NONE, 0);
  batch[n - 1] ^= 1;
  if (write_seed("bad-crc", mode_byte(MODE_AS_IS, 0), batch, n) != 0) return -1;
  if (write_seed("bad-truncated", mode_byte(MODE_AS_IS, 0), batch, n - 5) != 0) return -1;
  batch[RB_MAGIC_OFFSET] = 1;
  if (write_seed("bad-magic", mode_byte(MODE_AS_IS, 0), batch, n) != 0) return -1;
  return 0;
}

static int round_trip_seeds(void) {
  static const char text[] = "quire quire quire value-0 k1 h1 v1 quire quire quire quire";
  static uint8_t bytes[512];
  char name[128];
  rng_state = 7;
  for (size_t i = 0; i < sizeof(bytes); i++) bytes[i] = (uint8_t)(i % 7 ? rng() : 0);
  for (int c = RB_COMPRESSION_GZIP; c <= RB_COMPRESSION_ZSTD; c++) {
    snprintf(name, sizeof(name), "roundtrip-%s-text", codec_names[c]);
    if (write_seed(name, mode_byte(MODE_ROUND_TRIP, c), (const uint8_t *)text, sizeof(text) - 1))
      return -1;
    snprintf(name, sizeof(name), "roundtrip-%s-bytes", codec_names[c]);
    if (write_seed(name, mode_byte(MODE_ROUND_TRIP, c), bytes, sizeof(bytes))) return -1;
    snprintf(name, sizeof(name), "roundtrip-%s-empty", codec_names[c]);
    if (write_seed(name, mode_byte(MODE_ROUND_TRIP, c), NULL, 0)) return -1;
  }
  return 0;
}

/* op 4/5 read the payload as field values: any bytes make a batch; a few lengths, each codec. */
static int build_seeds(void) {
  static const size_t sizes[] = {0, 53, 120, 400, 1500};
  static uint8_t bytes[1500];
  char name[128];
  rng_state = 11;
  for (size_t i = 0; i < sizeof(bytes); i++) bytes[i] = (uint8_t)rng();
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    snprintf(name, sizeof(name), "build-%zu", sizes[i]);
    if (write_seed(name, mode_byte(MODE_BUILD, 0), bytes, sizes[i])) return -1;
    for (int c = RB_COMPRESSION_GZIP; c <= RB_COMPRESSION_ZSTD; c++) {
      snprintf(name, sizeof(name), "build-%zu-%s", sizes[i], codec_names[c]);
      if (write_seed(name, mode_byte(MODE_BUILD_COMPRESSED, c), bytes, sizes[i])) return -1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4 || strcmp(argv[1], "record-batch") != 0) {
    fprintf(stderr, "usage: fuzz_record_batch_seeds record-batch OUTDIR [GOLDEN_DIR]\n");
    return 2;
  }
  seed_dir = argv[2];
  if (mkdir(seed_dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "fuzz_record_batch_seeds: %s: %s\n", seed_dir, strerror(errno));
    return 1;
  }
  if (kcat_seeds() != 0 || generated_seeds() != 0 || round_trip_seeds() != 0 ||
      build_seeds() != 0) {
    fprintf(stderr, "fuzz_record_batch_seeds: cannot make the seeds\n");
    return 1;
  }
  struct stat st;
  if (argc == 4 && stat(argv[3], &st) == 0 &&
      nftw(argv[3], golden_one, 16, FTW_PHYS | FTW_ACTIONRETVAL) != 0)
    return 1;
  printf("fuzz_record_batch_seeds: %d seeds in %s\n", seed_count, seed_dir);
  return 0;
}
