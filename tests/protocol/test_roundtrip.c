/* Every API x version x direction: fill every field present at that version with pseudo-random
 * values, encode, decode, encode again. The two encodings must be identical and size() must equal
 * the encoded length. Truncating the encoding anywhere must fail cleanly (never crash), which
 * AddressSanitizer watches. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "msg_fill.h"

struct side {
  const char *name;
  const struct msg_codec *codec;
  msg_fill_fn *fill;
};

static uint8_t *encode_exact(const struct msg_codec *codec, const void *m, int16_t v, size_t *len) {
  size_t size = codec->size(m, v);
  uint8_t *buf = malloc(size ? size : 1);
  ck_assert_ptr_nonnull(buf);
  struct wire_writer w = {buf, buf + size, WIRE_OK, NULL};
  ck_assert_int_eq(codec->encode(m, &w, v), WIRE_OK);
  ck_assert_msg(w.p == buf + size, "size() says %zu, encode wrote %td", size, w.p - buf);
  *len = size;
  return buf;
}

static int roundtrip_one(const char *api, const struct side *s, int16_t v, uint64_t seed) {
  struct wire_arena arena;
  wire_arena_init(&arena, 64u << 20);
  struct msg_fill fill = {seed, &arena};
  void *m = wire_arena_alloc(&arena, s->codec->struct_size);
  s->fill(m, v, &fill);
  size_t len1, len2;
  uint8_t *first = encode_exact(s->codec, m, v, &len1);

  void *back = wire_arena_alloc(&arena, s->codec->struct_size);
  struct wire_reader r = {first, first + len1, &arena};
  int rc = s->codec->decode(back, &r, v);
  ck_assert_msg(rc == WIRE_OK, "%s %s v%d: decode failed: %s", api, s->name, v,
                wire_status_name(rc));
  ck_assert_msg(r.p == r.end, "%s %s v%d: decode left %td bytes", api, s->name, v, r.end - r.p);
  uint8_t *second = encode_exact(s->codec, back, v, &len2);
  ck_assert_msg(len1 == len2 && memcmp(first, second, len1) == 0,
                "%s %s v%d seed %llu: re-encoding differs", api, s->name, v,
                (unsigned long long)seed);

  /* Every strict prefix must be refused without reading past it. */
  for (size_t cut = 0; cut < len1; cut++) {
    uint8_t *prefix = malloc(cut ? cut : 1);
    memcpy(prefix, first, cut);
    struct wire_reader pr = {prefix, prefix + cut, &arena};
    void *partial = wire_arena_alloc(&arena, s->codec->struct_size);
    int prc = s->codec->decode(partial, &pr, v);
    /* A prefix can still be a valid message when the tail was only optional tagged fields, but
     * never a complete one of the full length. */
    ck_assert(prc != WIRE_OK || pr.p <= prefix + cut);
    free(prefix);
  }
  free(first);
  free(second);
  wire_arena_free(&arena);
  return 0;
}

START_TEST(every_api_version_and_direction_round_trips) {
  int checked = 0;
  for (size_t i = 0; i < msg_api_count; i++) {
    const struct msg_api *api = &msg_apis[i];
    ck_assert_int_eq(msg_fill_apis[i].key, api->key);
    ck_assert_ptr_eq(msg_api_find(api->key), api);
    struct side sides[2] = {{"request", &api->request, msg_fill_apis[i].request},
                            {"response", &api->response, msg_fill_apis[i].response}};
    for (int16_t v = api->min_version; v <= api->max_version; v++) {
      for (int d = 0; d < 2; d++) {
        for (uint64_t seed = 1; seed <= 8; seed++) {
          roundtrip_one(api->name, &sides[d], v, seed * 0x9E3779B97F4A7C15ull + (uint64_t)v);
          checked++;
        }
      }
    }
  }
  ck_assert_int_gt(checked, 62 * 2 * 8);
}
END_TEST

START_TEST(headers_round_trip) {
  for (int16_t v = 1; v <= 2; v++) {
    struct wire_arena arena;
    wire_arena_init(&arena, 1 << 20);
    struct msg_fill fill = {(uint64_t)v * 77, &arena};
    struct msg_request_header h, back;
    msg_request_header_fill(&h, v, &fill);
    uint8_t buf[256];
    struct wire_writer w = {buf, buf + sizeof(buf), WIRE_OK, NULL};
    ck_assert_int_eq(msg_request_header_encode(&h, &w, v), WIRE_OK);
    ck_assert_uint_eq((size_t)(w.p - buf), msg_request_header_size(&h, v));
    struct wire_reader r = {buf, w.p, &arena};
    ck_assert_int_eq(msg_request_header_decode(&back, &r, v), WIRE_OK);
    ck_assert_int_eq(back.request_api_key, h.request_api_key);
    ck_assert_int_eq(back.correlation_id, h.correlation_id);
    ck_assert_int_eq(back.client_id.len, h.client_id.len);
    wire_arena_free(&arena);
  }
}
END_TEST

START_TEST(unknown_api_keys_are_not_found) {
  ck_assert_ptr_null(msg_api_find(-1));
  ck_assert_ptr_null(msg_api_find(4)); /* LeaderAndIsr: gone from Kafka 4 */
  ck_assert_ptr_null(msg_api_find(1000));
  ck_assert_ptr_nonnull(msg_api_find(MSG_API_SHARE_ACKNOWLEDGE));
}
END_TEST

int main(void) {
  Suite *s = suite_create("roundtrip");
  TCase *tc = tcase_create("all");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, every_api_version_and_direction_round_trips);
  tcase_add_test(tc, headers_round_trip);
  tcase_add_test(tc, unknown_api_keys_are_not_found);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
