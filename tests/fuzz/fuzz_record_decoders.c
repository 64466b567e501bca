/* libFuzzer target over the decoders of the records Quire stores in its own logs: every message
 * outside the API table (msg_messages: metadata, control and coordinator records, headers ...),
 * the KRaft metadata frame (metadata_record.h) and the coordinator key/value framing
 * (coordinator_record.h).
 *
 * Input: byte 0 picks what to decode, modulo msg_message_count + 2:
 *   i < msg_message_count   [i][version - min][body]: msg_messages[i] at that version
 *   msg_message_count       [n][frame]: a `__cluster_metadata` record value
 *   msg_message_count + 1   [n][family][key length][key][value]: a coordinator record; family
 *                           modulo 3 picks group, txn or share, bit 2 of it a tombstone (no value)
 * When the input decodes: encode it (size() must equal the bytes written), decode that, encode
 * again; the two encodings must be identical and the second decode must consume the first
 * encoding exactly. Anything else aborts, so libFuzzer keeps the input as a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator_record.h"
#include "metadata_record.h"

#define FUZZ_ARENA_LIMIT (16u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *name, int16_t version, const char *what, int rc) {
  fprintf(stderr, "fuzz_record_decoders: %s v%d: %s (%s)\n", name, version, what,
          wire_status_name(rc));
  abort();
}

static int known_status(int rc) { return rc <= WIRE_OK && rc >= WIRE_ENOSPACE; }

static void same_bytes(const char *name, int16_t version, const uint8_t *a, size_t a_len,
                       const uint8_t *b, size_t b_len) {
  if (a_len != b_len || memcmp(a, b, a_len) != 0)
    fuzz_fail(name, version, "re-encoding differs from the first encoding", WIRE_OK);
}

static void fuzz_message(const struct msg_record_type *row, int16_t version, const uint8_t *body,
                         size_t len, struct wire_arena *arena) {
  void *m = wire_arena_alloc(arena, row->codec.struct_size);
  void *back = wire_arena_alloc(arena, row->codec.struct_size);
  if (m == NULL || back == NULL) abort();
  struct wire_reader r = {body, body + len, arena};
  int rc = row->codec.decode(m, &r, version);
  if (!known_status(rc)) fuzz_fail(row->name, version, "decode returned an unknown status", rc);
  if (r.p < body || r.p > body + len) fuzz_fail(row->name, version, "decode left its input", rc);
  if (rc != WIRE_OK) return;
  size_t n1 = row->codec.size(m, version);
  uint8_t *first = malloc(n1 + 1);
  struct wire_writer w = {first, first + n1, WIRE_OK, NULL};
  rc = row->codec.encode(m, &w, version);
  if (rc != WIRE_OK || w.p != first + n1)
    fuzz_fail(row->name, version, "encode disagrees with size()", rc);
  struct wire_reader r2 = {first, first + n1, arena};
  rc = row->codec.decode(back, &r2, version);
  if (rc != WIRE_OK || r2.p != r2.end)
    fuzz_fail(row->name, version, "decode of our own encoding failed", rc);
  size_t n2 = row->codec.size(back, version);
  uint8_t *second = malloc(n2 + 1);
  struct wire_writer w2 = {second, second + n2, WIRE_OK, NULL};
  if (row->codec.encode(back, &w2, version) != WIRE_OK || w2.p != second + n2)
    fuzz_fail(row->name, version, "second encode disagrees with size()", rc);
  same_bytes(row->name, version, first, n1, second, n2);
  free(first);
  free(second);
}

static void fuzz_metadata_frame(const uint8_t *frame, size_t len, struct wire_arena *arena) {
  struct wire_reader r = {frame, frame + len, arena};
  struct metadata_record rec;
  int rc = metadata_record_decode(&r, &rec);
  if (!known_status(rc)) fuzz_fail("metadata frame", -1, "unknown status", rc);
  if (rc != WIRE_OK) {
    if (rec.message != NULL) fuzz_fail("metadata frame", -1, "a failed decode kept a message", rc);
    return;
  }
  const char *name = rec.type->name;
  size_t n1 = metadata_record_size(rec.type->key, rec.version, rec.message);
  uint8_t *first = malloc(n1 + 1);
  struct wire_writer w = {first, first + n1, WIRE_OK, NULL};
  rc = metadata_record_encode(&w, rec.type->key, rec.version, rec.message);
  if (rc != WIRE_OK || w.p != first + n1) fuzz_fail(name, rec.version, "frame encode", rc);
  struct wire_reader r2 = {first, first + n1, arena};
  struct metadata_record back;
  rc = metadata_record_decode(&r2, &back);
  if (rc != WIRE_OK || back.type != rec.type || back.version != rec.version)
    fuzz_fail(name, rec.version, "decode of our own frame failed", rc);
  uint8_t *second = malloc(n1 + 1);
  struct wire_writer w2 = {second, second + n1, WIRE_OK, NULL};
  if (metadata_record_encode(&w2, back.type->key, back.version, back.message) != WIRE_OK ||
      w2.p != second + n1)
    fuzz_fail(name, rec.version, "second frame encode", rc);
  same_bytes(name, rec.version, first, n1, second, n1);
  free(first);
  free(second);
}

static uint8_t *encode_coordinator(const struct coordinator_record *rec, size_t *klen,
                                   size_t *vlen) {
  const struct msg_coordinator_record_type *t = rec->type;
  *klen = coordinator_key_size(t, rec->key);
  *vlen = rec->value != NULL ? coordinator_value_size(t, rec->value_version, rec->value) : 0;
  uint8_t *buf = malloc(*klen + *vlen + 1);
  struct wire_writer w = {buf, buf + *klen, WIRE_OK, NULL};
  int rc = coordinator_key_encode(&w, t, rec->key);
  if (rc != WIRE_OK || w.p != buf + *klen) fuzz_fail(t->key.name, 0, "key encode", rc);
  if (rec->value != NULL) {
    w = (struct wire_writer){buf + *klen, buf + *klen + *vlen, WIRE_OK, NULL};
    rc = coordinator_value_encode(&w, t, rec->value_version, rec->value);
    if (rc != WIRE_OK || w.p != buf + *klen + *vlen)
      fuzz_fail(t->value.name, rec->value_version, "value encode", rc);
  }
  return buf;
}

static void fuzz_coordinator(const uint8_t *data, size_t size, struct wire_arena *arena) {
  if (size < 2) return;
  static coordinator_find_fn *const finds[] = {msg_group_record_find, msg_txn_record_find,
                                               msg_share_record_find};
  coordinator_find_fn *find = finds[data[0] % 3];
  int tombstone = (data[0] & 4) != 0;
  size_t klen = data[1] < size - 2 ? data[1] : size - 2;
  const uint8_t *key = data + 2, *value = key + klen;
  struct wire_reader kr = {key, key + klen, arena};
  struct wire_reader vr = {value, data + size, arena};
  struct coordinator_record rec;
  int rc = coordinator_record_decode(find, &kr, tombstone ? NULL : &vr, &rec);
  if (!known_status(rc)) fuzz_fail("coordinator record", -1, "unknown status", rc);
  if (rc != WIRE_OK) return;
  size_t k1, v1, k2, v2;
  uint8_t *first = encode_coordinator(&rec, &k1, &v1);
  struct wire_reader kr2 = {first, first + k1, arena};
  struct wire_reader vr2 = {first + k1, first + k1 + v1, arena};
  struct coordinator_record back;
  rc = coordinator_record_decode(find, &kr2, tombstone ? NULL : &vr2, &back);
  if (rc != WIRE_OK || back.type != rec.type)
    fuzz_fail(rec.type->name, rec.value_version, "decode of our own record failed", rc);
  uint8_t *second = encode_coordinator(&back, &k2, &v2);
  same_bytes(rec.type->name, rec.value_version, first, k1 + v1, second, k2 + v2);
  free(first);
  free(second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || msg_message_count == 0) return 0;
  size_t pick = data[0] % (msg_message_count + 2);
  struct wire_arena arena;
  wire_arena_init(&arena, FUZZ_ARENA_LIMIT);
  if (pick < msg_message_count) {
    const struct msg_record_type *row = &msg_messages[pick];
    int versions = row->max_version - row->min_version + 1;
    int16_t version = (int16_t)(row->min_version + data[1] % versions);
    fuzz_message(row, version, data + 2, size - 2, &arena);
  } else if (pick == msg_message_count) {
    fuzz_metadata_frame(data + 1, size - 1, &arena);
  } else {
    fuzz_coordinator(data + 1, size - 1, &arena);
  }
  wire_arena_free(&arena);
  return 0;
}
