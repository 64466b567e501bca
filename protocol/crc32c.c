/* CRC-32C: SSE4.2 instruction path (three interleaved chains combined with PCLMULQDQ for inputs
 * of 96 bytes or more) with a run-time CPU check, slicing-by-8 fallback. See crc32c.h for the
 * init/final conventions. */
#include "crc32c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c_table.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CRC32C_X86 1
#include <nmmintrin.h>
#include <wmmintrin.h>
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
/* The crc32 instruction has a latency of about 3 cycles but a throughput of one per cycle, so one
 * dependent chain uses a third of it. Large inputs are therefore cut into blocks of three equal
 * streams A | B | D whose chains run side by side (the first starting from the running register,
 * the others from 0) and are then combined. Everything below is on the raw register (no pre- or
 * post-inversion), where the CRC is linear:
 *
 *   reg(s, A || B || D) = shift(reg(s, A), |B| + |D|) ^ shift(reg(0, B), |D|) ^ reg(0, D)
 *
 * shift(r, n) being the register after n zero bytes, r * x^(8n) mod P. In the reflected bit order
 * (bit i is the coefficient of x^(31-i)), with R and K read as polynomials that way:
 *  - _mm_clmulepi64_si128 of two 32-bit values, read as a 64-bit reflected value, is R * K * x
 *    (the product has 63 bits, bit 63 stays 0, so reading it over 64 bits adds a factor x);
 *  - _mm_crc32_u64(0, v) is V * x^32 mod P.
 * So _mm_crc32_u64(0, clmul(r, K)) with K = x^(8n - 33) mod P is shift(r, n); the two products
 * are xored before the one reduction. The constants (x^(8n - 33) mod P for n = stream and
 * 2 * stream) were computed one bit-step at a time: start from 0x80000000 (x^0) and repeat
 * 8n - 33 times v = (v >> 1) ^ (v & 1 ? 0x82F63B78 : 0). test_crc32c proves them by comparing with
 * the table path at lengths that take each block size.
 *
 * Block sizes: 3 x 4096 bytes while they last (the combine then costs under 1%), then 3 x 256,
 * then 3 x 32 (measured: 100-byte inputs about 15% faster than with one chain), then one chain
 * for the last < 96 bytes.
 * The blocked path needs PCLMULQDQ (checked at run time like SSE4.2); without it, one chain. */

/* One chain: 8 bytes a step, then 4, 2, 1 for the tail. Unaligned loads cost next to nothing on
 * CPUs with SSE4.2, much less than byte steps (3 cycles each) up to alignment would. */
__attribute__((target("sse4.2"))) static inline uint64_t
crc32c_sse42_chain(uint64_t c, const uint8_t *p, size_t size) {
  while (size >= 8) {
    c = _mm_crc32_u64(c, load_le64(p));
    p += 8;
    size -= 8;
  }
  if (size & 4) {
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    c = _mm_crc32_u32((uint32_t)c, v);
    p += 4;
  }
  if (size & 2) {
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    c = _mm_crc32_u16((uint32_t)c, v);
    p += 2;
  }
  if (size & 1) c = _mm_crc32_u8((uint32_t)c, *p);
  return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p,
                                                               size_t size) {
  return ~(uint32_t)crc32c_sse42_chain(~crc, p, size);
}

/* Blocks of 3 * stream bytes from register c while *size allows; advances *p and *size.
 * k_one = x^(8 * stream - 33) mod P shifts B past D, k_two = x^(16 * stream - 33) mod P shifts A
 * past B and D. Always inlined, so that stream is a constant and the loop can be unrolled. */
__attribute__((target("sse4.2,pclmul"), always_inline)) static inline uint64_t
crc32c_blocks(uint64_t c, const uint8_t **p, size_t *size, size_t stream, uint32_t k_one,
              uint32_t k_two) {
  const __m128i k_one_v = _mm_cvtsi32_si128((int)k_one);
  const __m128i k_two_v = _mm_cvtsi32_si128((int)k_two);
  while (*size >= 3 * stream) {
    const uint8_t *q = *p;
    uint64_t a = c, b = 0, d = 0;
    for (size_t i = 0; i < stream; i += 8) {
      a = _mm_crc32_u64(a, load_le64(q + i));
      b = _mm_crc32_u64(b, load_le64(q + stream + i));
      d = _mm_crc32_u64(d, load_le64(q + 2 * stream + i));
    }
    __m128i ta = _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)a), k_two_v, 0x00);
    __m128i tb = _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)b), k_one_v, 0x00);
    c = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(_mm_xor_si128(ta, tb))) ^ d;
    *p += 3 * stream;
    *size -= 3 * stream;
  }
  return c;
}

/* Below this, not even one block of 3 x 32 bytes. */
enum { CRC32C_BLOCKS_MIN = 3 * 32 };

__attribute__((target("sse4.2,pclmul"))) static uint32_t
crc32c_sse42_clmul(uint32_t crc, const uint8_t *p, size_t size) {
  uint64_t c = ~crc;
  c = crc32c_blocks(c, &p, &size, 4096, 0x82F89C77u, 0x54A86326u);
  c = crc32c_blocks(c, &p, &size, 256, 0xB9E02B86u, 0xDD7E3B0Cu);
  c = crc32c_blocks(c, &p, &size, 32, 0xBA4FC28Eu, 0x9E4ADDF8u);
  return ~(uint32_t)crc32c_sse42_chain(c, p, size);
}

static inline uint32_t crc32c_x86(uint32_t crc, const void *data, size_t size) {
  if (size >= CRC32C_BLOCKS_MIN && __builtin_cpu_supports("pclmul"))
    return crc32c_sse42_clmul(crc, data, size);
  return crc32c_sse42(crc, data, size);
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
  if (crc32c_hw_available()) return crc32c_x86(crc, data, size);
#endif
  fprintf(stderr, "%s:%d: crc32c_hw called on a CPU without SSE4.2\n", __FILE__, __LINE__);
  abort();
}

uint32_t crc32c(uint32_t crc, const void *data, size_t size) {
#if CRC32C_X86
  if (__builtin_cpu_supports("sse4.2")) return crc32c_x86(crc, data, size);
#endif
  return crc32c_portable(crc, data, size);
}
