/* Seed corpora for the fuzz targets, written from the codec itself (the round-trip fillers of
 * msg_fill.h) and from captured golden frames:
 *   fuzz_seeds frame|request|response OUTDIR [GOLDEN_DIR]
 * frame:    request frames without their length (request header + body), as fuzz_request_frame
 *           reads them: every API x version of the codec, more seeds for the APIs the broker
 *           serves; every *.bin file under GOLDEN_DIR as it is.
 * request:  fuzz_request_decoders input: [API index][version - min][body], every API x version;
 *           golden frames with their request header stripped.
 * response: fuzz_response_decoders input, the same layout with response bodies.
 * record:   fuzz_record_decoders input: every message outside the API table x version, every
 *           metadata record x version in its KRaft frame, every coordinator record type x value
 *           version as key and value (and as a tombstone); the layouts are described in
 *           fuzz_record_decoders.c. GOLDEN_DIR is not used.
 * File names say what a seed is (Metadata-v12-3); the files are rewritten on every run. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coordinator_record.h"
#include "dispatch.h"
#include "metadata_record.h"
#include "msg_fill.h"

#define SEEDS_PER_VERSION 2
#define SEEDS_PER_SERVED_VERSION 8
#define SEED_ARENA_LIMIT (16u << 20)
#define GOLDEN_BYTES_MAX (1u << 20)

enum mode { MODE_FRAME, MODE_REQUEST, MODE_RESPONSE, MODE_RECORD };

static enum mode seed_mode;
static const char *seed_dir;
static int seed_count;
static size_t golden_root_len;

static int write_seed(const char *name, const uint8_t *a, size_t a_len, const uint8_t *b,
                      size_t b_len) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    fprintf(stderr, "fuzz_seeds: %s: %s\n", path, strerror(errno));
    return -1;
  }
  int ok = fwrite(a, 1, a_len, f) == a_len && (b_len == 0 || fwrite(b, 1, b_len, f) == b_len);
  if (fclose(f) != 0 || !ok) {
    fprintf(stderr, "fuzz_seeds: cannot write %s\n", path);
    return -1;
  }
  seed_count++;
  return 0;
}

/* Encodes m with codec into a malloc'd buffer after a prefix of prefix_len bytes. */
static uint8_t *encode_after(const struct msg_codec *codec, const void *m, int16_t version,
                             size_t prefix_len, size_t *len) {
  size_t size = prefix_len + codec->size(m, version);
  uint8_t *buf = malloc(size ? size : 1);
  if (buf == NULL) return NULL;
  struct wire_writer w = {buf + prefix_len, buf + size, WIRE_OK, NULL};
  if (codec->encode(m, &w, version) != WIRE_OK || w.p != buf + size) {
    free(buf);
    return NULL;
  }
  *len = size;
  return buf;
}

static int seed_one(size_t index, int16_t version, uint64_t seed, int number) {
  const struct msg_api *api = &msg_apis[index];
  const struct msg_fill_api *fill_api = &msg_fill_apis[index];
  const struct msg_codec *codec = seed_mode == MODE_RESPONSE ? &api->response : &api->request;
  msg_fill_fn *fill = seed_mode == MODE_RESPONSE ? fill_api->response : fill_api->request;
  char name[256];
  int rc = -1;
  struct wire_arena arena;
  wire_arena_init(&arena, SEED_ARENA_LIMIT);
  struct msg_fill c = {seed, &arena};
  void *m = msg_fill_alloc(&c, codec->struct_size);
  fill(m, version, &c);
  size_t len;
  uint8_t *body = encode_after(codec, m, version, 0, &len);
  if (body == NULL) goto done;
  snprintf(name, sizeof(name), "%s-v%d-%d", api->name, version, number);

  if (seed_mode == MODE_FRAME) {
    struct msg_request_header h;
    msg_request_header_init(&h);
    h.request_api_key = api->key;
    h.request_api_version = version;
    h.correlation_id = (int32_t)(seed & 0x7fffffff);
    h.client_id = number % 3 == 2 ? wire_str_of(NULL) : wire_str_of(number % 3 ? "" : "fuzz");
    int16_t header_version = msg_api_flexible(api, version) ? 2 : 1;
    uint8_t header[64];
    struct wire_writer w = {header, header + sizeof(header), WIRE_OK, NULL};
    if (msg_request_header_encode(&h, &w, header_version) != WIRE_OK) goto done;
    rc = write_seed(name, header, (size_t)(w.p - header), body, len);
  } else {
    uint8_t prefix[2] = {(uint8_t)index, (uint8_t)(version - api->min_version)};
    rc = write_seed(name, prefix, sizeof(prefix), body, len);
  }
done:
  if (rc != 0) fprintf(stderr, "fuzz_seeds: cannot make seed %s v%d\n", api->name, version);
  free(body);
  wire_arena_free(&arena);
  return rc;
}

/* ---- record mode (fuzz_record_decoders) ---- */

static msg_fill_fn *fill_of(const char *name) {
  for (size_t i = 0; i < msg_message_count; i++)
    if (strcmp(msg_messages[i].name, name) == 0) return msg_fill_messages[i];
  return NULL;
}

/* Fills a message of row at version; NULL when row has no filler. */
static void *fill_record(const struct msg_record_type *row, int16_t version, uint64_t seed,
                         struct wire_arena *arena) {
  msg_fill_fn *fill = fill_of(row->name);
  if (fill == NULL) return NULL;
  struct msg_fill c = {seed, arena};
  void *m = msg_fill_alloc(&c, row->codec.struct_size);
  fill(m, version, &c);
  return m;
}

static int seed_records(void) {
  char name[256];
  int rc = 0;
  for (size_t i = 0; i < msg_message_count && rc == 0; i++) {
    const struct msg_record_type *row = &msg_messages[i];
    for (int16_t v = row->min_version; v <= row->max_version && rc == 0; v++)
      for (int n = 0; n < SEEDS_PER_VERSION && rc == 0; n++) {
        struct wire_arena arena;
        wire_arena_init(&arena, SEED_ARENA_LIMIT);
        void *m = fill_record(row, v, (uint64_t)(n + 1) * 0x9E3779B97F4A7C15ull + i, &arena);
        size_t len = 0;
        uint8_t *body = m != NULL ? encode_after(&row->codec, m, v, 0, &len) : NULL;
        uint8_t prefix[2] = {(uint8_t)i, (uint8_t)(v - row->min_version)};
        snprintf(name, sizeof(name), "%s-v%d-%d", row->name, v, n);
        rc = body != NULL ? write_seed(name, prefix, sizeof(prefix), body, len) : -1;
        free(body);
        wire_arena_free(&arena);
      }
  }
  for (size_t i = 0; i < msg_metadata_record_count && rc == 0; i++) {
    const struct msg_record_type *t = &msg_metadata_records[i];
    for (int16_t v = t->min_version; v <= t->max_version && rc == 0; v++) {
      struct wire_arena arena;
      wire_arena_init(&arena, SEED_ARENA_LIMIT);
      void *m = fill_record(t, v, 0x5EEDull * (i + 1) + (uint64_t)v, &arena);
      size_t len = m != NULL ? metadata_record_size(t->key, v, m) : 0;
      uint8_t *frame = malloc(len + 1);
      struct wire_writer w = {frame, frame + len, WIRE_OK, NULL};
      uint8_t pick = (uint8_t)msg_message_count;
      snprintf(name, sizeof(name), "frame-%s-v%d", t->name, v);
      rc = m != NULL && metadata_record_encode(&w, t->key, v, m) == WIRE_OK
               ? write_seed(name, &pick, 1, frame, len)
               : -1;
      free(frame);
      wire_arena_free(&arena);
    }
  }
  struct {
    const struct msg_coordinator_record_type *rows;
    size_t count;
  } fams[] = {{msg_group_records, msg_group_record_count},
              {msg_txn_records, msg_txn_record_count},
              {msg_share_records, msg_share_record_count}};
  for (uint8_t f = 0; f < 3 && rc == 0; f++)
    for (size_t i = 0; i < fams[f].count && rc == 0; i++) {
      const struct msg_coordinator_record_type *t = &fams[f].rows[i];
      for (int16_t v = t->value.min_version; v <= t->value.max_version && rc == 0; v++) {
        struct wire_arena arena;
        wire_arena_init(&arena, SEED_ARENA_LIMIT);
        void *key = fill_record(&t->key, 0, 0xC0DEull * (i + 1), &arena);
        void *value = fill_record(&t->value, v, 0xC0DEull * (i + 1) + (uint64_t)v, &arena);
        size_t klen = key != NULL ? coordinator_key_size(t, key) : 0;
        size_t vlen = value != NULL ? coordinator_value_size(t, v, value) : 0;
        uint8_t *buf = malloc(4 + klen + vlen);
        struct wire_writer kw = {buf + 4, buf + 4 + klen, WIRE_OK, NULL};
        struct wire_writer vw = {buf + 4 + klen, buf + 4 + klen + vlen, WIRE_OK, NULL};
        if (key == NULL || value == NULL || klen > 255 ||
            coordinator_key_encode(&kw, t, key) != WIRE_OK ||
            coordinator_value_encode(&vw, t, v, value) != WIRE_OK) {
          rc = -1;
        } else {
          buf[0] = (uint8_t)(msg_message_count + 1);
          buf[1] = f;
          buf[2] = (uint8_t)klen;
          snprintf(name, sizeof(name), "coordinator-%s-v%d", t->name, v);
          rc = write_seed(name, buf, 3, buf + 4, klen + vlen);
          if (rc == 0 && v == t->value.min_version) {
            buf[1] = (uint8_t)(f | 4);
            snprintf(name, sizeof(name), "coordinator-%s-tombstone", t->name);
            rc = write_seed(name, buf, 3, buf + 4, klen);
          }
        }
        free(buf);
        wire_arena_free(&arena);
      }
    }
  if (rc != 0) fprintf(stderr, "fuzz_seeds: cannot make record seed %s\n", name);
  return rc;
}

static int golden_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  size_t n = strlen(path);
  /* the capture tools live beside the frames: skip their dependencies */
  if (type == FTW_D && strcmp(path + ftw->base, "node_modules") == 0) return FTW_SKIP_SUBTREE;
  if (type != FTW_F || n < 4 || strcmp(path + n - 4, ".bin") != 0) return FTW_CONTINUE;
  if (st->st_size < 4 || (size_t)st->st_size > GOLDEN_BYTES_MAX) return FTW_CONTINUE;
  uint8_t *frame = malloc((size_t)st->st_size);
  FILE *f = fopen(path, "rb");
  size_t size = f != NULL && frame != NULL ? fread(frame, 1, (size_t)st->st_size, f) : 0;
  if (f != NULL) fclose(f);
  /* golden-<path under GOLDEN_DIR with / as ->: the capture's client and request */
  char name[256];
  const char *rel = path + golden_root_len;
  while (*rel == '/') rel++;
  snprintf(name, sizeof(name), "golden-%s", rel);
  for (char *p = name; *p; p++)
    if (*p == '/') *p = '-';
  int rc = 0;
  if (seed_mode == MODE_FRAME) {
    rc = write_seed(name, frame, size, NULL, 0);
  } else if (seed_mode == MODE_REQUEST && size >= 4) {
    /* strip the request header: the decoder target reads bodies */
    int16_t key = (int16_t)((frame[0] << 8) | frame[1]);
    int16_t version = (int16_t)((frame[2] << 8) | frame[3]);
    const struct msg_api *api = msg_api_find(key);
    if (api != NULL && version >= api->min_version && version <= api->max_version) {
      struct wire_arena arena;
      wire_arena_init(&arena, SEED_ARENA_LIMIT);
      struct wire_reader r = {frame, frame + size, &arena};
      struct msg_request_header h;
      if (msg_request_header_decode(&h, &r, msg_api_flexible(api, version) ? 2 : 1) == WIRE_OK) {
        uint8_t prefix[2] = {(uint8_t)(api - msg_apis), (uint8_t)(version - api->min_version)};
        rc = write_seed(name, prefix, sizeof(prefix), r.p, wire_left(&r));
      }
      wire_arena_free(&arena);
    }
  }
  free(frame);
  return rc == 0 ? FTW_CONTINUE : FTW_STOP;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: fuzz_seeds frame|request|response|record OUTDIR [GOLDEN_DIR]\n");
    return 2;
  }
  if (strcmp(argv[1], "frame") == 0) {
    seed_mode = MODE_FRAME;
  } else if (strcmp(argv[1], "request") == 0) {
    seed_mode = MODE_REQUEST;
  } else if (strcmp(argv[1], "response") == 0) {
    seed_mode = MODE_RESPONSE;
  } else if (strcmp(argv[1], "record") == 0) {
    seed_mode = MODE_RECORD;
  } else {
    fprintf(stderr, "fuzz_seeds: unknown mode %s\n", argv[1]);
    return 2;
  }
  seed_dir = argv[2];
  if (mkdir(seed_dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "fuzz_seeds: %s: %s\n", seed_dir, strerror(errno));
    return 1;
  }
  if (seed_mode == MODE_RECORD) {
    if (msg_message_count + 2 > 256) {
      fprintf(stderr, "fuzz_seeds: more than 254 messages do not fit the one-byte index\n");
      return 1;
    }
    if (seed_records() != 0) return 1;
    printf("fuzz_seeds: %d %s seeds in %s\n", seed_count, argv[1], seed_dir);
    return 0;
  }
  if (msg_api_count > 256) {
    fprintf(stderr, "fuzz_seeds: more than 256 APIs do not fit the one-byte index\n");
    return 1;
  }
  for (size_t i = 0; i < msg_api_count; i++) {
    const struct msg_api *api = &msg_apis[i];
    if (msg_fill_apis[i].key != api->key) {
      fprintf(stderr, "fuzz_seeds: msg_fill_apis and msg_apis disagree at %zu\n", i);
      return 1;
    }
    /* the frame target spends its seeds where the broker has handlers */
    int per_version = seed_mode == MODE_FRAME && dispatch_handler(api->key) != NULL
                          ? SEEDS_PER_SERVED_VERSION
                          : SEEDS_PER_VERSION;
    for (int16_t v = api->min_version; v <= api->max_version; v++)
      for (int n = 0; n < per_version; n++) {
        uint64_t seed = (uint64_t)(n + 1) * 0x9E3779B97F4A7C15ull + (uint64_t)v * 131 + i;
        if (seed_one(i, v, seed, n) != 0) return 1;
      }
  }
  if (argc == 4) {
    struct stat st;
    golden_root_len = strlen(argv[3]);
    if (stat(argv[3], &st) == 0 && nftw(argv[3], golden_one, 16, FTW_PHYS | FTW_ACTIONRETVAL) != 0)
      return 1;
  }
  printf("fuzz_seeds: %d %s seeds in %s\n", seed_count, argv[1], seed_dir);
  return 0;
}
