/* libFuzzer target over every generated decoder of one direction: built twice, as
 * fuzz_request_decoders (FUZZ_RESPONSES 0) and fuzz_response_decoders (FUZZ_RESPONSES 1).
 *
 * Input: byte 0 picks the API (index into msg_apis, modulo their count), byte 1 the version
 * (min_version + byte modulo the number of versions), the rest is the message body. When the body
 * decodes: encode it (size() must equal the bytes written), decode that, encode again; the two
 * encodings must be identical and the second decode must consume the first encoding exactly.
 * Anything else aborts, so libFuzzer keeps the input as a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_api.h"

#ifndef FUZZ_RESPONSES
#define FUZZ_RESPONSES 0
#endif

#define FUZZ_ARENA_LIMIT (16u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const side_name = FUZZ_RESPONSES ? "response" : "request";

static void fuzz_fail(const struct msg_api *api, int16_t version, const char *what, int rc) {
  fprintf(stderr, "fuzz_%s_decoders: %s %s v%d: %s (%s)\n", side_name, api->name, side_name,
          version, what, wire_status_name(rc));
  abort();
}

static int known_status(int rc) { return rc <= WIRE_OK && rc >= WIRE_ENOSPACE; }

/* Encodes m into a buffer of exactly size() bytes; aborts when encode disagrees with size(). */
static uint8_t *encode_exact(const struct msg_api *api, const struct msg_codec *codec,
                             const void *m, int16_t version, size_t *len) {
  size_t size = codec->size(m, version);
  uint8_t *buf = malloc(size ? size : 1);
  if (buf == NULL) abort();
  struct wire_writer w = {buf, buf + size, WIRE_OK, NULL};
  int rc = codec->encode(m, &w, version);
  if (rc != WIRE_OK) fuzz_fail(api, version, "encode of a decoded message failed", rc);
  if (w.p != buf + size) fuzz_fail(api, version, "size() differs from the bytes encoded", rc);
  *len = size;
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || msg_api_count == 0) return 0;
  const struct msg_api *api = &msg_apis[data[0] % msg_api_count];
  int versions = api->max_version - api->min_version + 1;
  int16_t version = (int16_t)(api->min_version + data[1] % versions);
  const struct msg_codec *codec = FUZZ_RESPONSES ? &api->response : &api->request;

  struct wire_arena arena;
  wire_arena_init(&arena, FUZZ_ARENA_LIMIT);
  void *m = wire_arena_alloc(&arena, codec->struct_size);
  void *back = wire_arena_alloc(&arena, codec->struct_size);
  if (m == NULL || back == NULL) abort();

  struct wire_reader r = {data + 2, data + size, &arena};
  int rc = codec->decode(m, &r, version);
  if (!known_status(rc)) fuzz_fail(api, version, "decode returned an unknown status", rc);
  if (r.p < data + 2 || r.p > data + size) fuzz_fail(api, version, "decode left its input", rc);
  if (rc == WIRE_OK) {
    size_t len1, len2;
    uint8_t *first = encode_exact(api, codec, m, version, &len1);
    struct wire_reader r2 = {first, first + len1, &arena};
    rc = codec->decode(back, &r2, version);
    if (rc != WIRE_OK) fuzz_fail(api, version, "decode of our own encoding failed", rc);
    if (r2.p != r2.end) fuzz_fail(api, version, "decode of our own encoding left bytes", rc);
    uint8_t *second = encode_exact(api, codec, back, version, &len2);
    if (len1 != len2 || memcmp(first, second, len1) != 0)
      fuzz_fail(api, version, "re-encoding differs from the first encoding", rc);
    free(first);
    free(second);
  }
  wire_arena_free(&arena);
  return 0;
}
