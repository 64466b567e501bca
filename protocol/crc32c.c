/* CRC-32C: SSE4.2 instruction path with a run-time CPU check, slicing-by-8 fallback.
 * See crc32c.h for the init/final conventions. */
#include "crc32c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c_table.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRC32C_X86 1
#include <nmmintrin.h>
#else
#define CRC32C_X86 0
#endif

static inline uint64_t load_le64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

uint32_t crc32c_portable(uint32_t crc, const void *data, size_t size) {
  const uint8_t *p = data;
  uint32_t c = ~crc;
  /* Bytes one at a time up to 8-byte alignment, then 8 bytes a step, then the tail. */
  while (size > 0 && ((uintptr_t)p & 7) != 0) {
    c = crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    size--;
  }
  while (size >= 8) {
    uint64_t v = load_le64(p) ^ c;
    c = crc32c_table[7][v & 0xff] ^ crc32c_table[6][(v >> 8) & 0xff] ^
        crc32c_table[5][(v >> 16) & 0xff] ^ crc32c_table[4][(v >> 24) & 0xff] ^
        crc32c_table[3][(v >> 32) & 0xff] ^ crc32c_table[2][(v >> 40) & 0xff] ^
        crc32c_table[1][(v >> 48) & 0xff] ^ crc32c_table[0][v >> 56];
    p += 8;
    size -= 8;
  }
  while (size > 0) {
    c = crc32c_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    size--;
  }
  return ~c;
}

#if CRC32C_X86
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p,
                                                               size_t size) {
  uint64_t c = ~crc;
  while (size > 0 && ((uintptr_t)p & 7) != 0) {
    c = _mm_crc32_u8((uint32_t)c, *p++);
    size--;
  }
  while (size >= 8) {
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    c = _mm_crc32_u64(c, v);
    p += 8;
    size -= 8;
  }
  while (size > 0) {
    c = _mm_crc32_u8((uint32_t)c, *p++);
    size--;
  }
  return ~(uint32_t)c;
}
#endif

bool crc32c_hw_available(void) {
#if CRC32C_X86
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

uint32_t crc32c_hw(uint32_t crc, const void *data, size_t size) {
#if CRC32C_X86
  if (crc32c_hw_available()) return crc32c_sse42(crc, data, size);
#endif
  fprintf(stderr, "%s:%d: crc32c_hw called on a CPU without SSE4.2\n", __FILE__, __LINE__);
  abort();
}

uint32_t crc32c(uint32_t crc, const void *data, size_t size) {
#if CRC32C_X86
  if (__builtin_cpu_supports("sse4.2")) return crc32c_sse42(crc, data, size);
#endif
  return crc32c_portable(crc, data, size);
}
