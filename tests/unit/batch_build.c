/* Shared helpers of the storage unit tests; see batch_build.h. */
#include "batch_build.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compression.h"
#include "crc32c.h"
#include "record_batch.h"

void test_tmpdir_create(char *root, size_t size, const char *name) {
  snprintf(root, size, "/tmp/quire-%s-XXXXXX", name);
  ck_assert_ptr_nonnull(mkdtemp(root));
}

void test_tmpdir_remove(const char *root) {
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  ck_assert_int_eq(system(cmd), 0);
}

static size_t put_varlong(uint8_t *p, int64_t v) {
  uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  size_t n = 0;
  while (z >= 0x80) {
    p[n++] = (uint8_t)(z | 0x80);
    z >>= 7;
  }
  p[n++] = (uint8_t)z;
  return n;
}

static void put_be(uint8_t *p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

struct test_batch test_batch_plain(int count, int64_t ts0, int64_t ts_step, size_t value_size) {
  struct test_batch t = {
      .leader_epoch = -1,
      .count = count,
      .ts0 = ts0,
      .ts_step = ts_step,
      .value_size = value_size,
      .producer_id = -1,
      .producer_epoch = -1,
      .base_sequence = -1,
  };
  return t;
}

size_t test_batch_build(uint8_t *buf, const struct test_batch *t) {
  int count = t->control ? 1 : t->count;
  int16_t attrs = (int16_t)t->compression;
  int64_t max_ts = t->ts0 + (count - 1) * t->ts_step;
  if (t->timestamps != NULL) {
    max_ts = t->timestamps[0];
    for (int i = 1; i < count; i++)
      if (t->timestamps[i] > max_ts) max_ts = t->timestamps[i];
  }
  if (t->transactional || t->control) attrs |= RB_ATTR_TRANSACTIONAL;
  if (t->control) attrs |= RB_ATTR_CONTROL;
  uint8_t *p = buf + RB_HEADER_SIZE;
  for (int i = 0; i < count; i++) {
    uint8_t body[1024];
    ck_assert_uint_le(t->value_size, sizeof(body) - 64);
    size_t n = 0;
    body[n++] = 0; /* attributes */
    n += put_varlong(body + n,
                     t->timestamps != NULL ? t->timestamps[i] - t->ts0 : (int64_t)i * t->ts_step);
    n += put_varlong(body + n, i);
    if (t->control) {
      n += put_varlong(body + n, 4); /* key: version 0, type */
      put_be(body + n, 0, 2);
      put_be(body + n + 2, (uint64_t)t->control_type, 2);
      n += 4;
      n += put_varlong(body + n, 6); /* value: version 0, coordinator epoch */
      put_be(body + n, 0, 2);
      put_be(body + n + 2, (uint64_t)t->coordinator_epoch, 4);
      n += 6;
    } else {
      n += put_varlong(body + n, -1); /* key null */
      n += put_varlong(body + n, (int64_t)t->value_size);
      if (t->value != NULL)
        memcpy(body + n, t->value, t->value_size);
      else
        memset(body + n, 'a' + i % 26, t->value_size);
      n += t->value_size;
    }
    n += put_varlong(body + n, 0); /* headers */
    p += put_varlong(p, (int64_t)n);
    memcpy(p, body, n);
    p += n;
  }
  size_t size = (size_t)(p - buf);
  if (t->compression != 0) {
    size_t raw = size - RB_HEADER_SIZE, bound = rb_compress_bound(t->compression, raw), out = 0;
    uint8_t *z = malloc(bound);
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(rb_compress(t->compression, buf + RB_HEADER_SIZE, raw, z, bound, &out), RB_OK);
    memcpy(buf + RB_HEADER_SIZE, z, out);
    free(z);
    size = RB_HEADER_SIZE + out;
  }
  memset(buf, 0, RB_HEADER_SIZE);
  put_be(buf + RB_BASE_OFFSET_OFFSET, (uint64_t)t->base_offset, 8);
  put_be(buf + RB_LENGTH_OFFSET, size - RB_LOG_OVERHEAD, 4);
  put_be(buf + RB_PARTITION_LEADER_EPOCH_OFFSET, (uint64_t)t->leader_epoch, 4);
  buf[RB_MAGIC_OFFSET] = 2;
  put_be(buf + RB_ATTRIBUTES_OFFSET, (uint64_t)attrs, 2);
  put_be(buf + RB_LAST_OFFSET_DELTA_OFFSET, (uint64_t)(count - 1), 4);
  put_be(buf + RB_BASE_TIMESTAMP_OFFSET, (uint64_t)t->ts0, 8);
  put_be(buf + RB_MAX_TIMESTAMP_OFFSET, (uint64_t)max_ts, 8);
  put_be(buf + RB_PRODUCER_ID_OFFSET, (uint64_t)t->producer_id, 8);
  put_be(buf + RB_PRODUCER_EPOCH_OFFSET, (uint64_t)t->producer_epoch, 2);
  put_be(buf + RB_BASE_SEQUENCE_OFFSET, (uint64_t)t->base_sequence, 4);
  put_be(buf + RB_RECORD_COUNT_OFFSET, (uint64_t)count, 4);
  put_be(buf + RB_CRC_OFFSET, crc32c(0, buf + RB_CRC_START, size - RB_CRC_START), 4);
  return size;
}
