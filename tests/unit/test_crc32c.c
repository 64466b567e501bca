/* CRC-32C: published vectors, chaining, and the SSE4.2 and table paths agreeing with a
 * bit-at-a-time reference on every length 0..1024 at every alignment. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crc32c.h"

/* The definition itself: reflected polynomial, one bit at a time. */
static uint32_t crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t n) {
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint8_t rng_byte(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint8_t)(rng_state >> 24);
}

START_TEST(check_value_of_123456789_is_e3069283) {
  ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
  ck_assert_uint_eq(crc32c_portable(0, "123456789", 9), 0xE3069283u);
  if (crc32c_hw_available()) ck_assert_uint_eq(crc32c_hw(0, "123456789", 9), 0xE3069283u);
}
END_TEST

/* RFC 3720 (iSCSI) appendix B.4 vectors. */
START_TEST(rfc3720_vectors_match) {
  uint8_t buf[32];
  memset(buf, 0, sizeof(buf));
  ck_assert_uint_eq(crc32c(0, buf, 0), 0);
  ck_assert_uint_eq(crc32c(0, buf, 32), 0x8A9136AAu);
  memset(buf, 0xff, sizeof(buf));
  ck_assert_uint_eq(crc32c(0, buf, 32), 0x62A8AB43u);
  for (int i = 0; i < 32; i++) buf[i] = (uint8_t)i;
  ck_assert_uint_eq(crc32c(0, buf, 32), 0x46DD794Eu);
  for (int i = 0; i < 32; i++) buf[i] = (uint8_t)(31 - i);
  ck_assert_uint_eq(crc32c(0, buf, 32), 0x113FDB5Cu);
  ck_assert_uint_eq(crc32c_portable(0, buf, 32), 0x113FDB5Cu);
}
END_TEST

START_TEST(chained_calls_equal_one_call) {
  uint8_t buf[300];
  for (size_t i = 0; i < sizeof(buf); i++) buf[i] = rng_byte();
  uint32_t whole = crc32c(0, buf, sizeof(buf));
  for (size_t split = 0; split <= sizeof(buf); split += 7) {
    ck_assert_uint_eq(crc32c(crc32c(0, buf, split), buf + split, sizeof(buf) - split), whole);
    ck_assert_uint_eq(
        crc32c_portable(crc32c_portable(0, buf, split), buf + split, sizeof(buf) - split), whole);
  }
}
END_TEST

START_TEST(table_path_matches_reference_for_every_length_and_alignment) {
  static uint8_t buf[1024 + 8];
  for (size_t i = 0; i < sizeof(buf); i++) buf[i] = rng_byte();
  for (size_t len = 0; len <= 1024; len++) {
    size_t align = len % 8;
    uint32_t want = crc32c_bitwise(0, buf + align, len);
    ck_assert_msg(crc32c_portable(0, buf + align, len) == want, "len %zu align %zu", len, align);
    ck_assert_msg(crc32c(0, buf + align, len) == want, "len %zu align %zu", len, align);
    uint32_t seed = (uint32_t)len * 2654435761u; /* a chained start value */
    ck_assert_uint_eq(crc32c_portable(seed, buf + align, len),
                      crc32c_bitwise(seed, buf + align, len));
  }
}
END_TEST

START_TEST(sse42_path_matches_table_for_every_length_and_alignment) {
  if (!crc32c_hw_available()) {
    fprintf(stderr, "test_crc32c: no SSE4.2 on this CPU, hardware path not tested\n");
    return;
  }
  static uint8_t buf[1024 + 8];
  for (int round = 0; round < 4; round++) {
    for (size_t i = 0; i < sizeof(buf); i++) buf[i] = rng_byte();
    for (size_t len = 0; len <= 1024; len++) {
      for (size_t align = 0; align < 8; align++) {
        uint32_t seed = round == 0 ? 0 : (uint32_t)(len * 31 + align);
        ck_assert_msg(crc32c_hw(seed, buf + align, len) == crc32c_portable(seed, buf + align, len),
                      "len %zu align %zu", len, align);
      }
    }
  }
}
END_TEST

static Suite *crc32c_suite(void) {
  Suite *s = suite_create("crc32c");
  TCase *tc = tcase_create("crc32c");
  tcase_add_test(tc, check_value_of_123456789_is_e3069283);
  tcase_add_test(tc, rfc3720_vectors_match);
  tcase_add_test(tc, chained_calls_equal_one_call);
  tcase_add_test(tc, table_path_matches_reference_for_every_length_and_alignment);
  tcase_add_test(tc, sse42_path_matches_table_for_every_length_and_alignment);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(crc32c_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
