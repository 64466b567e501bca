/* The generator, checked byte for byte on features.schema: defaults, every primitive, classic and
 * compact strings/bytes/arrays, nullability by version, flex=none, tagged fields (written only
 * when not default, in tag order, unknown ones kept and written back), nullable structs, removed
 * fields, and the decoder's refusals (truncation, bad lengths, counts beyond the input, the arena
 * limit, unknown versions). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "messages.h"

typedef int encode_fn(const void *m, struct wire_writer *w, int16_t v);
typedef size_t size_fn(const void *m, int16_t v);

static uint8_t out[1024];

#define ENCODE(type, m, v) encode_checked((const void *)(m), v, enc_##type, size_##type)
#define DEFINE_CODEC(type)                                                 \
  static int enc_##type(const void *m, struct wire_writer *w, int16_t v) { \
    return msg_##type##_encode(m, w, v);                                   \
  }                                                                        \
  static size_t size_##type(const void *m, int16_t v) { return msg_##type##_size(m, v); }
DEFINE_CODEC(prims)
DEFINE_CODEC(strings)
DEFINE_CODEC(arrays)
DEFINE_CODEC(tagged)

static size_t encode_checked(const void *m, int16_t v, encode_fn *enc, size_fn *size) {
  struct wire_writer w = {out, out + sizeof(out), WIRE_OK, NULL};
  ck_assert_int_eq(enc(m, &w, v), WIRE_OK);
  size_t n = (size_t)(w.p - out);
  ck_assert_uint_eq(n, size(m, v));
  return n;
}

static void assert_bytes(size_t n, const uint8_t *want, size_t want_n) {
  ck_assert_uint_eq(n, want_n);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(out[i] == want[i], "byte %zu: got %02x, want %02x", i, out[i], want[i]);
}
#define ASSERT_BYTES(n, ...)                      \
  do {                                            \
    static const uint8_t want_[] = {__VA_ARGS__}; \
    assert_bytes(n, want_, sizeof(want_));        \
  } while (0)

START_TEST(defaults_are_set_by_init) {
  struct msg_prims p;
  msg_prims_init(&p);
  ck_assert(p.b);
  ck_assert_int_eq(p.i8, -3);
  ck_assert_uint_eq(p.u16, 65535);
  ck_assert_uint_eq(p.u32, 4000000000u);
  ck_assert(p.i64 == INT64_MIN);
  ck_assert(p.f64 == 0.5);
  ck_assert_int_eq(p.later, 258);
  struct msg_strings s;
  msg_strings_init(&s);
  ck_assert(wire_str_eq(s.name, "ab"));
  ck_assert_int_eq(s.maybe.len, -1);
  ck_assert_int_eq(s.batch.len, -1);
  struct msg_arrays a;
  msg_arrays_init(&a);
  ck_assert_int_eq(a.ints.count, 0);
  ck_assert_int_eq(a.names.count, -1);
  struct msg_tagged t;
  msg_tagged_init(&t);
  ck_assert_int_eq(t.count, 5);
  ck_assert_ptr_null(t.opt);
}
END_TEST

START_TEST(primitives_are_big_endian_and_versioned) {
  struct msg_prims p;
  msg_prims_init(&p);
  p.id.b[15] = 0x2a;
  size_t n = ENCODE(prims, &p, 0);
  ASSERT_BYTES(n, 0x01, 0xfd, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xee, 0x6b, 0x28,
               0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
               0, 0, 0, 0, 0, 0, 0, 0, 0x2a);
  /* v1 adds Later; Removed (versions 2-7) lies beyond the message and is never written. */
  n = ENCODE(prims, &p, 1);
  ck_assert_uint_eq(n, 46 + 4);
  ck_assert(out[46] == 0 && out[47] == 0 && out[48] == 1 && out[49] == 2);
}
END_TEST

START_TEST(strings_use_classic_then_compact_forms) {
  struct msg_strings s;
  msg_strings_init(&s);
  /* v0: Maybe is not nullable yet (written empty), Batch and Client are. */
  size_t n = ENCODE(strings, &s, 0);
  ASSERT_BYTES(n, 0x00, 0x02, 'a', 'b', 0x00, 0x00, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
  n = ENCODE(strings, &s, 1);
  ASSERT_BYTES(n, 0x00, 0x02, 'a', 'b', 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
  /* v2 is flexible: compact lengths, but Client keeps its classic form (flex=none). */
  s.client = wire_str_of("c");
  n = ENCODE(strings, &s, 2);
  ASSERT_BYTES(n, 0x03, 'a', 'b', 0x00, 0x01, 0x00, 0x00, 0x01, 'c', 0x00);
}
END_TEST

START_TEST(arrays_of_primitives_strings_and_structs) {
  struct msg_arrays a;
  msg_arrays_init(&a);
  size_t n = ENCODE(arrays, &a, 0);
  ASSERT_BYTES(n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  int32_t ints[] = {1, 2};
  struct msg_arrays_item item;
  msg_arrays_item_init(&item);
  item.key = 5;
  item.value = wire_str_of("x");
  a.ints.count = 2;
  a.ints.items = ints;
  a.items.count = 1;
  a.items.items = &item;
  n = ENCODE(arrays, &a, 1);
  ASSERT_BYTES(n, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x02, 0x00, 0x05, 0x02, 'x', 0x00, 0x00);

  struct wire_arena arena;
  wire_arena_init(&arena, 4096);
  struct wire_reader r = {out, out + n, &arena};
  struct msg_arrays back;
  ck_assert_int_eq(msg_arrays_decode(&back, &r, 1), WIRE_OK);
  ck_assert_int_eq(back.ints.count, 2);
  ck_assert_int_eq(back.ints.items[1], 2);
  ck_assert_int_eq(back.names.count, -1);
  ck_assert_int_eq(back.items.items[0].key, 5);
  ck_assert(wire_str_eq(back.items.items[0].value, "x"));
  wire_arena_free(&arena);
}
END_TEST

START_TEST(tagged_fields_are_written_only_when_not_default) {
  struct msg_tagged t;
  msg_tagged_init(&t);
  size_t n = ENCODE(tagged, &t, 0);
  ASSERT_BYTES(n, 0, 0, 0, 0);
  n = ENCODE(tagged, &t, 1);
  ASSERT_BYTES(n, 0, 0, 0, 0, 0x00);
  t.count = 9;
  t.inner.a = 1;
  t.note = wire_str_of("hi"); /* tagged from v2 only */
  n = ENCODE(tagged, &t, 1);
  ASSERT_BYTES(n, 0, 0, 0, 0, 0x02, 0x00, 0x04, 0, 0, 0, 9, 0x02, 0x05, 0, 0, 0, 1, 0x00);
  n = ENCODE(tagged, &t, 2);
  ASSERT_BYTES(n, 0, 0, 0, 0, 0x03, 0x00, 0x04, 0, 0, 0, 9, 0x01, 0x03, 0x03, 'h', 'i', 0x02, 0x05,
               0, 0, 0, 1, 0x00);
}
END_TEST

START_TEST(nullable_struct_has_a_presence_byte) {
  struct msg_tagged t;
  msg_tagged_init(&t);
  size_t n = ENCODE(tagged, &t, 3);
  ASSERT_BYTES(n, 0, 0, 0, 0, 0xff, 0x00);
  struct msg_tagged_shared opt;
  msg_tagged_shared_init(&opt);
  opt.a = 7;
  t.opt = &opt;
  n = ENCODE(tagged, &t, 3);
  ASSERT_BYTES(n, 0, 0, 0, 0, 0x01, 0, 0, 0, 7, 0x00, 0x00);
}
END_TEST

START_TEST(unknown_tags_are_kept_and_written_back_in_order) {
  /* v1: tag 0 known, tag 1 unknown at v1 (Note is tagged from v2), tag 2 known, tag 9 unknown. */
  static const uint8_t in[] = {0, 0, 0,    0,    0x04, 0x00, 0x04, 0, 0,
                               0, 9, 0x01, 0x01, 0xff, 0x02, 0x05, 0, 0,
                               0, 1, 0x00, 0x09, 0x02, 0xab, 0xcd};
  struct wire_arena arena;
  wire_arena_init(&arena, 4096);
  struct wire_reader r = {in, in + sizeof(in), &arena};
  struct msg_tagged t;
  ck_assert_int_eq(msg_tagged_decode(&t, &r, 1), WIRE_OK);
  ck_assert_int_eq(t.count, 9);
  ck_assert_int_eq(t.inner.a, 1);
  ck_assert_uint_eq(t.unknown_tags.count, 2);
  ck_assert_uint_eq(t.unknown_tags.items[0].tag, 1);
  ck_assert_uint_eq(t.unknown_tags.items[1].tag, 9);
  size_t n = ENCODE(tagged, &t, 1);
  assert_bytes(n, in, sizeof(in));
  wire_arena_free(&arena);
}
END_TEST

START_TEST(every_truncation_is_refused) {
  struct msg_prims p;
  msg_prims_init(&p);
  size_t n = ENCODE(prims, &p, 1);
  for (size_t cut = 0; cut < n; cut++) {
    struct wire_reader r = {out, out + cut, NULL};
    struct msg_prims back;
    ck_assert_int_eq(msg_prims_decode(&back, &r, 1), WIRE_ETRUNCATED);
  }
}
END_TEST

START_TEST(bad_lengths_are_invalid) {
  struct wire_arena arena;
  wire_arena_init(&arena, 4096);
  struct msg_strings s;
  /* Name is never nullable: -1 is invalid, and so is -2 anywhere. */
  static const uint8_t null_name[] = {0xff, 0xff, 0,    0,    0,    0,    0,
                                      0,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  struct wire_reader r = {null_name, null_name + sizeof(null_name), &arena};
  ck_assert_int_eq(msg_strings_decode(&s, &r, 0), WIRE_EINVALID);
  static const uint8_t minus_two[] = {0x00, 0x00, 0xff, 0xfe};
  r = (struct wire_reader){minus_two, minus_two + sizeof(minus_two), &arena};
  ck_assert_int_eq(msg_strings_decode(&s, &r, 1), WIRE_EINVALID);
  /* A varint longer than five bytes. */
  static const uint8_t long_varint[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  r = (struct wire_reader){long_varint, long_varint + sizeof(long_varint), &arena};
  ck_assert_int_eq(msg_strings_decode(&s, &r, 2), WIRE_EINVALID);
  wire_arena_free(&arena);
}
END_TEST

START_TEST(counts_beyond_the_input_allocate_nothing) {
  struct wire_arena arena;
  wire_arena_init(&arena, 1 << 20);
  /* 1,000,000 int32s announced, 4 bytes present. */
  static const uint8_t huge[] = {0x00, 0x0f, 0x42, 0x40, 0, 0, 0, 1};
  struct wire_reader r = {huge, huge + sizeof(huge), &arena};
  struct msg_arrays a;
  ck_assert_int_eq(msg_arrays_decode(&a, &r, 0), WIRE_ETRUNCATED);
  ck_assert_uint_eq(arena.used, 0);
  /* Items: each needs at least 2 (key) + 2 (string length) bytes at v0. */
  static const uint8_t items[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 0, 2};
  r = (struct wire_reader){items, items + sizeof(items), &arena};
  ck_assert_int_eq(msg_arrays_decode(&a, &r, 0), WIRE_ETRUNCATED);
  ck_assert_uint_eq(arena.used, 0);
  wire_arena_free(&arena);
}
END_TEST

START_TEST(the_arena_limit_is_enforced) {
  struct wire_arena arena;
  wire_arena_init(&arena, 8);
  static const uint8_t ints[] = {0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0,
                                 0, 3, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0};
  struct wire_reader r = {ints, ints + sizeof(ints), &arena};
  struct msg_arrays a;
  ck_assert_int_eq(msg_arrays_decode(&a, &r, 0), WIRE_ELIMIT);
  wire_arena_free(&arena);
}
END_TEST

START_TEST(unknown_versions_are_refused) {
  struct msg_prims p;
  msg_prims_init(&p);
  struct wire_writer w = {out, out + sizeof(out), WIRE_OK, NULL};
  ck_assert_int_eq(msg_prims_encode(&p, &w, 2), WIRE_EVERSION);
  struct wire_reader r = {out, out + sizeof(out), NULL};
  ck_assert_int_eq(msg_prims_decode(&p, &r, -1), WIRE_EVERSION);
}
END_TEST

START_TEST(a_short_buffer_is_reported) {
  struct msg_prims p;
  msg_prims_init(&p);
  struct wire_writer w = {out, out + 10, WIRE_OK, NULL};
  ck_assert_int_eq(msg_prims_encode(&p, &w, 0), WIRE_ENOSPACE);
}
END_TEST

START_TEST(the_api_table_lists_versions_and_stability) {
  const struct msg_api *api = msg_api_find(5);
  ck_assert_ptr_nonnull(api);
  ck_assert_str_eq(api->name, "Sample");
  ck_assert_int_eq(api->min_version, 0);
  ck_assert_int_eq(api->max_version, 2);
  ck_assert_int_eq(api->max_stable_version, 1);
  ck_assert_int_eq(api->flexible_min, 1);
  ck_assert_ptr_null(msg_api_find(4));
  ck_assert_uint_eq(api->request.struct_size, sizeof(struct msg_sample_request));
}
END_TEST

int main(void) {
  Suite *s = suite_create("generator");
  TCase *tc = tcase_create("features");
  tcase_add_test(tc, defaults_are_set_by_init);
  tcase_add_test(tc, primitives_are_big_endian_and_versioned);
  tcase_add_test(tc, strings_use_classic_then_compact_forms);
  tcase_add_test(tc, arrays_of_primitives_strings_and_structs);
  tcase_add_test(tc, tagged_fields_are_written_only_when_not_default);
  tcase_add_test(tc, nullable_struct_has_a_presence_byte);
  tcase_add_test(tc, unknown_tags_are_kept_and_written_back_in_order);
  tcase_add_test(tc, every_truncation_is_refused);
  tcase_add_test(tc, bad_lengths_are_invalid);
  tcase_add_test(tc, counts_beyond_the_input_allocate_nothing);
  tcase_add_test(tc, the_arena_limit_is_enforced);
  tcase_add_test(tc, unknown_versions_are_refused);
  tcase_add_test(tc, a_short_buffer_is_reported);
  tcase_add_test(tc, the_api_table_lists_versions_and_stability);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
