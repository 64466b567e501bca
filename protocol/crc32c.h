/* CRC-32C (Castagnoli), the checksum of RecordBatch v2.
 *
 * Conventions (those of zlib's crc32 and Kafka's Crc32C): the register starts at 0xFFFFFFFF and the
 * result is complemented, both inside the function, so a caller starts from 0 and can chain:
 * crc32c(crc32c(0, a, na), b, nb) == crc32c(0, a || b, na + nb). crc32c(0, "123456789", 9) is
 * 0xE3069283. Reflected polynomial 0x82F63B78, no byte swapping.
 *
 * crc32c() uses the SSE4.2 crc32 instruction when the CPU has it (checked at run time, so the
 * binary still runs on CPUs without it) and otherwise a slicing-by-8 table. From 96 bytes on, and
 * when the CPU also has PCLMULQDQ, the hardware path runs three independent crc32 chains over
 * thirds of each block and combines them with carry-less multiplies (crc32c.c). Both paths are
 * exposed so that tests can cross-check them. */
#ifndef QUIRE_PROTOCOL_CRC32C_H
#define QUIRE_PROTOCOL_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *data, size_t size);

/* The portable path: slicing-by-8 tables. */
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t size);
/* Whether crc32c_hw may be called on this CPU. */
bool crc32c_hw_available(void);
/* The SSE4.2 path (with the PCLMULQDQ combine when the CPU has it); only when
 * crc32c_hw_available() (aborts otherwise). */
uint32_t crc32c_hw(uint32_t crc, const void *data, size_t size);

#endif
