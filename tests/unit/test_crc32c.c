/* CRC-32C: published vectors, chaining, the table path agreeing with a bit-at-a-time reference on
 * every length 0..1024 at every alignment, and the hardware path (one crc32 chain below 96 bytes,
 * three chains combined with carry-less multiplies above) agreeing with the table path on every
 * length 0..5000 at every alignment, on lengths around each of its block sizes (3 x 32, 3 x 256,
 * 3 x 4096 bytes), on large inputs, and when chained at any split. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Every length 0..5000 at every misalignment, each input in a buffer of exactly its size (so that
 * ASan sees a read past the end), with a zero and a chained start value. */
START_TEST(hw_path_matches_table_for_every_length_0_to_5000_and_alignment) {
  if (!crc32c_hw_available()) return;
  enum { LEN_MAX = 5000 };
  static uint8_t data[LEN_MAX + 8];
  for (size_t i = 0; i < sizeof(data); i++) data[i] = rng_byte();
  for (size_t len = 0; len <= LEN_MAX; len++) {
    for (size_t align = 0; align < 8; align++) {
      uint8_t *mem = malloc(len + align + 1);
      ck_assert_ptr_nonnull(mem);
      uint8_t *p = mem + align;
      memcpy(p, data + align, len);
      uint32_t seed = align & 1 ? (uint32_t)(len * 2654435761u) : 0;
      uint32_t want = crc32c_portable(seed, p, len);
      ck_assert_msg(crc32c_hw(seed, p, len) == want, "len %zu align %zu", len, align);
      ck_assert_msg(crc32c(seed, p, len) == want, "len %zu align %zu", len, align);
      free(mem);
    }
  }
}
END_TEST

/* Lengths just around multiples of each block size (3 x 32, 3 x 256, 3 x 4096) and of their sums,
 * so that every block size runs alone, after a larger one, and with every tail; and inputs of all
 * ones and all zeros (a wrong constant must not hide behind a zero register). */
START_TEST(hw_path_matches_table_around_every_block_size) {
  if (!crc32c_hw_available()) return;
  static const size_t bases[] = {
      96,         192,         768,   768 + 96,         1536,      12288,
      12288 + 96, 12288 + 768, 24576, 24576 + 768 + 96, 3 * 12288, 36864 + 2 * 768 + 2 * 96};
  size_t cap = 36864 + 2 * 768 + 2 * 96 + 64;
  uint8_t *buf = malloc(cap);
  ck_assert_ptr_nonnull(buf);
  for (int fill = 0; fill < 3; fill++) {
    for (size_t i = 0; i < cap; i++) buf[i] = fill == 0 ? rng_byte() : fill == 1 ? 0xff : 0;
    for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
      for (size_t delta = 0; delta <= 2 * 33; delta++) {
        if (bases[b] + delta < 33) continue;
        size_t len = bases[b] + delta - 33; /* bases[b] - 33 .. bases[b] + 33 */
        size_t align = delta % 8;
        uint32_t want = crc32c_portable(0, buf + align, len);
        ck_assert_msg(crc32c_hw(0, buf + align, len) == want, "fill %d len %zu align %zu", fill,
                      len, align);
        uint32_t seed = 0x12345678u ^ (uint32_t)len;
        ck_assert_msg(crc32c_hw(seed, buf + align, len) == crc32c_portable(seed, buf + align, len),
                      "fill %d len %zu align %zu seeded", fill, len, align);
      }
    }
  }
  free(buf);
}
END_TEST

/* Megabyte inputs of random data and random lengths, against the table path and, for one of
 * them, the bit-at-a-time definition. */
START_TEST(hw_path_matches_table_on_large_random_inputs) {
  if (!crc32c_hw_available()) return;
  size_t cap = (size_t)1 << 20;
  uint8_t *buf = malloc(cap + 8);
  ck_assert_ptr_nonnull(buf);
  for (size_t i = 0; i < cap + 8; i++) buf[i] = rng_byte();
  ck_assert_uint_eq(crc32c_hw(0, buf, cap), crc32c_bitwise(0, buf, cap));
  for (int round = 0; round < 40; round++) {
    size_t len = ((size_t)rng_byte() << 12 | (size_t)rng_byte() << 4 | rng_byte()) % cap;
    size_t align = rng_byte() % 8;
    uint32_t seed = (uint32_t)rng_byte() << 24 | rng_byte();
    ck_assert_msg(crc32c_hw(seed, buf + align, len) == crc32c_portable(seed, buf + align, len),
                  "len %zu align %zu", len, align);
  }
  free(buf);
}
END_TEST

/* crc32c(crc32c(0, a), b) == crc32c(0, a || b) at every split of inputs that take each block size,
 * for the hardware path and the dispatcher, and three-way splits. */
START_TEST(chained_hw_calls_equal_one_call_at_every_split) {
  static uint8_t buf[3 * 4096 + 3 * 256 + 3 * 32 + 41];
  for (size_t i = 0; i < sizeof(buf); i++) buf[i] = rng_byte();
  static const size_t sizes[] = {100, 1000, 3 * 4096 + 3 * 256 + 3 * 32 + 41};
  for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
    size_t n = sizes[s];
    uint32_t whole = crc32c_portable(0, buf, n);
    size_t step = n < 2000 ? 1 : 13;
    for (size_t split = 0; split <= n; split += step) {
      ck_assert_msg(crc32c(crc32c(0, buf, split), buf + split, n - split) == whole,
                    "size %zu split %zu", n, split);
      if (crc32c_hw_available())
        ck_assert_msg(crc32c_hw(crc32c_hw(0, buf, split), buf + split, n - split) == whole,
                      "size %zu split %zu", n, split);
      size_t second = split + (n - split) / 3;
      ck_assert_uint_eq(crc32c(crc32c(crc32c(0, buf, split), buf + split, second - split),
                               buf + second, n - second),
                        whole);
    }
  }
}
END_TEST

static Suite *crc32c_suite(void) {
  Suite *s = suite_create("crc32c");
  TCase *tc = tcase_create("crc32c");
  tcase_set_timeout(tc, 60); /* the sweeps take seconds under ASan */
  tcase_add_test(tc, check_value_of_123456789_is_e3069283);
  tcase_add_test(tc, rfc3720_vectors_match);
  tcase_add_test(tc, chained_calls_equal_one_call);
  tcase_add_test(tc, table_path_matches_reference_for_every_length_and_alignment);
  tcase_add_test(tc, sse42_path_matches_table_for_every_length_and_alignment);
  tcase_add_test(tc, hw_path_matches_table_for_every_length_0_to_5000_and_alignment);
  tcase_add_test(tc, hw_path_matches_table_around_every_block_size);
  tcase_add_test(tc, hw_path_matches_table_on_large_random_inputs);
  tcase_add_test(tc, chained_hw_calls_equal_one_call_at_every_split);
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
