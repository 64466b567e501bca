/* Shared helpers of the storage unit tests: a scratch directory under /tmp and a builder of
 * uncompressed RecordBatch v2 batches. */
#ifndef QUIRE_TESTS_UNIT_BATCH_BUILD_H
#define QUIRE_TESTS_UNIT_BATCH_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Makes a fresh directory /tmp/quire-<name>-XXXXXX and writes its path to root. */
void test_tmpdir_create(char *root, size_t size, const char *name);

/* Removes root and everything under it (rm -rf). */
void test_tmpdir_remove(const char *root);

/* What test_batch_build writes. Record i has offset delta i, timestamp delta i * ts_step, a null
 * key, value_size bytes of value (value, or 'a' + i % 26 repeated when value is NULL) and no
 * headers. A control batch instead holds one end-transaction marker record (control_type,
 * coordinator_epoch), with count forced to 1 and the transactional bit set. */
struct test_batch {
  int64_t base_offset;
  int32_t leader_epoch;
  int count;
  int64_t ts0, ts_step;
  size_t value_size;
  const char *value;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  bool transactional;
  bool control;
  int16_t control_type;
  int32_t coordinator_epoch;
  const int64_t *timestamps; /* non-NULL: record i's timestamp (overrides ts0 + i * ts_step) */
  int compression;           /* enum rb_compression: the records section compressed with it */
};

/* A plain batch at offset 0: no producer, leader epoch -1, count records from ts0 by ts_step, each
 * with a value_size-byte filler value. */
struct test_batch test_batch_plain(int count, int64_t ts0, int64_t ts_step, size_t value_size);

/* Writes the batch t describes to buf (which must hold it, uncompressed), CRC included; returns
 * its size. */
size_t test_batch_build(uint8_t *buf, const struct test_batch *t);

#endif
