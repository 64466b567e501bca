/* Random values for the generated test fillers (msg_fill.h): a xorshift generator, so every run
 * with the same seed fills the same values. */
#include <stdlib.h>

#include "msg_fill.h"

uint32_t msg_fill_next(struct msg_fill *c) {
  uint64_t x = c->state ? c->state : 0x2545F4914F6CDD1Dull;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  c->state = x;
  return (uint32_t)(x >> 16);
}

void *msg_fill_alloc(struct msg_fill *c, size_t size) {
  void *p = wire_arena_alloc(c->arena, size);
  if (p == NULL) abort();
  return p;
}

struct wire_str msg_fill_str(struct msg_fill *c, bool nullable) {
  if (nullable && msg_fill_next(c) % 5 == 0) return (struct wire_str){NULL, -1};
  int32_t len = (int32_t)(msg_fill_next(c) % 9);
  char *s = msg_fill_alloc(c, (size_t)len + 1);
  for (int32_t i = 0; i < len; i++) s[i] = (char)('a' + msg_fill_next(c) % 26);
  return (struct wire_str){s, len};
}

struct wire_bytes msg_fill_bytes(struct msg_fill *c, bool nullable) {
  if (nullable && msg_fill_next(c) % 5 == 0) return (struct wire_bytes){NULL, -1, NULL};
  int32_t len = (int32_t)(msg_fill_next(c) % 17);
  uint8_t *b = msg_fill_alloc(c, (size_t)len + 1);
  for (int32_t i = 0; i < len; i++) b[i] = (uint8_t)msg_fill_next(c);
  return (struct wire_bytes){b, len, NULL};
}

void msg_fill_uuid(struct msg_fill *c, struct wire_uuid *u) {
  for (int i = 0; i < 16; i++) u->b[i] = (uint8_t)msg_fill_next(c);
}

void msg_fill_unknown_tag(struct msg_fill *c, struct wire_tags *t, uint32_t first_unknown) {
  uint32_t len = msg_fill_next(c) % 5;
  uint8_t *data = msg_fill_alloc(c, len + 1);
  for (uint32_t i = 0; i < len; i++) data[i] = (uint8_t)msg_fill_next(c);
  t->items = msg_fill_alloc(c, sizeof(*t->items));
  t->items[0] = (struct wire_tag){first_unknown + msg_fill_next(c) % 3, len, data};
  t->count = 1;
}
