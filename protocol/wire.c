/* Wire primitives: see wire.h for the rules every reader and writer follows. */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

const char *wire_status_name(int status) {
  switch (status) {
  case WIRE_OK: return "ok";
  case WIRE_ETRUNCATED: return "truncated";
  case WIRE_EINVALID: return "invalid";
  case WIRE_ELIMIT: return "limit";
  case WIRE_EVERSION: return "unsupported version";
  case WIRE_ENOSPACE: return "no space";
  default: return "unknown";
  }
}

/* ---- arena ---- */

struct wire_arena_chunk {
  struct wire_arena_chunk *next;
  size_t size, used;
  _Alignas(16) uint8_t data[];
};

enum { ARENA_CHUNK_MIN = 16 * 1024 };

void wire_arena_init(struct wire_arena *a, size_t limit) {
  a->head = NULL;
  a->used = 0;
  a->limit = limit;
}

void *wire_arena_alloc(struct wire_arena *a, size_t size) {
  size_t need = (size + 15) & ~(size_t)15;
  if (need < size || need > a->limit - a->used) return NULL;
  struct wire_arena_chunk *c = a->head;
  if (c == NULL || c->size - c->used < need) {
    size_t chunk = need > ARENA_CHUNK_MIN ? need : ARENA_CHUNK_MIN;
    c = malloc(sizeof(*c) + chunk);
    if (c == NULL) return NULL;
    c->size = chunk;
    c->used = 0;
    c->next = a->head;
    a->head = c;
  }
  void *p = c->data + c->used;
  c->used += need;
  a->used += need;
  memset(p, 0, size);
  return p;
}

void *wire_arena_alloc_array(struct wire_arena *a, size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size) return NULL;
  size_t total = count * size;
  return wire_arena_alloc(a, total > 0 ? total : 1);
}

char *wire_arena_strdup(struct wire_arena *a, const char *s) {
  size_t n = strlen(s);
  char *out = wire_arena_alloc(a, n + 1);
  if (out != NULL) memcpy(out, s, n + 1);
  return out;
}

char *wire_arena_cstr(struct wire_arena *a, struct wire_str s) {
  if (s.len < 0) return NULL;
  char *out = wire_arena_alloc(a, (size_t)s.len + 1);
  if (out != NULL && s.len > 0) memcpy(out, s.ptr, (size_t)s.len);
  return out;
}

bool wire_arena_str(struct wire_arena *a, struct wire_str s, struct wire_str *out) {
  if (s.len < 0) {
    *out = s;
    return true;
  }
  char *p = wire_arena_cstr(a, s);
  if (p == NULL) return false;
  *out = (struct wire_str){p, s.len};
  return true;
}

void wire_arena_free(struct wire_arena *a) {
  struct wire_arena_chunk *c = a->head;
  while (c != NULL) {
    struct wire_arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  a->head = NULL;
  a->used = 0;
}

/* ---- reading ---- */

#define NEED(r, n)                                          \
  do {                                                      \
    if (wire_left(r) < (size_t)(n)) return WIRE_ETRUNCATED; \
  } while (0)

static uint64_t load_be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

int wire_read_i16(struct wire_reader *r, int16_t *v) {
  NEED(r, 2);
  *v = (int16_t)(uint16_t)load_be(r->p, 2);
  r->p += 2;
  return WIRE_OK;
}

int wire_read_i32(struct wire_reader *r, int32_t *v) {
  NEED(r, 4);
  *v = (int32_t)(uint32_t)load_be(r->p, 4);
  r->p += 4;
  return WIRE_OK;
}

int wire_read_i64(struct wire_reader *r, int64_t *v) {
  NEED(r, 8);
  *v = (int64_t)load_be(r->p, 8);
  r->p += 8;
  return WIRE_OK;
}

int wire_read_u16(struct wire_reader *r, uint16_t *v) {
  NEED(r, 2);
  *v = (uint16_t)load_be(r->p, 2);
  r->p += 2;
  return WIRE_OK;
}

int wire_read_u32(struct wire_reader *r, uint32_t *v) {
  NEED(r, 4);
  *v = (uint32_t)load_be(r->p, 4);
  r->p += 4;
  return WIRE_OK;
}

int wire_read_f64(struct wire_reader *r, double *v) {
  NEED(r, 8);
  uint64_t bits = load_be(r->p, 8);
  memcpy(v, &bits, sizeof(*v));
  r->p += 8;
  return WIRE_OK;
}

int wire_read_bool(struct wire_reader *r, bool *v) {
  NEED(r, 1);
  *v = *r->p++ != 0;
  return WIRE_OK;
}

int wire_read_uuid(struct wire_reader *r, struct wire_uuid *v) {
  NEED(r, 16);
  memcpy(v->b, r->p, 16);
  r->p += 16;
  return WIRE_OK;
}

int wire_read_uvarlong_multibyte(struct wire_reader *r, uint64_t *v) {
  uint64_t value = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    NEED(r, 1);
    uint8_t b = *r->p++;
    if (shift == 63 && (b & 0x7e) != 0) return WIRE_EINVALID;
    value |= (uint64_t)(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = value;
      return WIRE_OK;
    }
  }
  return WIRE_EINVALID;
}

int wire_read_uvarint_multibyte(struct wire_reader *r, uint32_t *v) {
  uint32_t value = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    NEED(r, 1);
    uint8_t b = *r->p++;
    if (shift == 28 && (b & 0x70) != 0) return WIRE_EINVALID; /* more than 32 bits */
    value |= (uint32_t)(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = value;
      return WIRE_OK;
    }
  }
  return WIRE_EINVALID;
}

/* A length prefix: compact (uvarint, length + 1, 0 = null) or classic (int16 or int32, -1 = null).
 * Sets *len to -1 for null. */
static int read_len(struct wire_reader *r, int32_t *len, bool compact, bool wide) {
  if (compact) {
    uint32_t u;
    int rc = wire_read_uvarint(r, &u);
    if (rc) return rc;
    if (u > (uint32_t)INT32_MAX) return WIRE_EINVALID;
    *len = (int32_t)u - 1;
    return WIRE_OK;
  }
  if (wide) return wire_read_i32(r, len);
  int16_t l16 = 0;
  int rc = wire_read_i16(r, &l16);
  *len = l16;
  return rc;
}

int wire_read_str(struct wire_reader *r, struct wire_str *v, bool compact, bool nullable) {
  int32_t len;
  int rc = read_len(r, &len, compact, false);
  if (rc) return rc;
  if (len < 0) {
    if (len != -1 || !nullable) return WIRE_EINVALID;
    v->ptr = NULL;
    v->len = -1;
    return WIRE_OK;
  }
  if (len > INT16_MAX) return WIRE_EINVALID;
  NEED(r, len);
  v->ptr = (const char *)r->p;
  v->len = len;
  r->p += len;
  return WIRE_OK;
}

int wire_read_bytes(struct wire_reader *r, struct wire_bytes *v, bool compact, bool nullable) {
  int32_t len;
  int rc = read_len(r, &len, compact, true);
  if (rc) return rc;
  v->file = NULL;
  if (len < 0) {
    if (len != -1 || !nullable) return WIRE_EINVALID;
    v->ptr = NULL;
    v->len = -1;
    return WIRE_OK;
  }
  NEED(r, len);
  v->ptr = r->p;
  v->len = len;
  r->p += len;
  return WIRE_OK;
}

int wire_read_array_len(struct wire_reader *r, int32_t *count, bool compact, bool nullable,
                        size_t elem_size_min) {
  int rc = read_len(r, count, compact, true);
  if (rc) return rc;
  if (*count < 0) return *count == -1 && nullable ? WIRE_OK : WIRE_EINVALID;
  if (elem_size_min == 0) elem_size_min = 1;
  if ((size_t)*count > wire_left(r) / elem_size_min) return WIRE_ETRUNCATED;
  return WIRE_OK;
}

int wire_read_tag_header(struct wire_reader *r, uint32_t *tag, uint32_t *len) {
  int rc = wire_read_uvarint(r, tag);
  if (rc == WIRE_OK) rc = wire_read_uvarint(r, len);
  if (rc == WIRE_OK && *len > wire_left(r)) rc = WIRE_ETRUNCATED;
  return rc;
}

int wire_tags_keep(struct wire_tags *t, struct wire_arena *a, uint32_t capacity, uint32_t tag,
                   const uint8_t *data, uint32_t len) {
  if (t->items == NULL) {
    t->items = wire_arena_alloc_array(a, capacity, sizeof(*t->items));
    if (t->items == NULL) return WIRE_ELIMIT;
    t->count = 0;
  }
  if (t->count >= capacity) return WIRE_EINVALID;
  t->items[t->count].tag = tag;
  t->items[t->count].len = len;
  t->items[t->count].data = data;
  t->count++;
  return WIRE_OK;
}

/* ---- writing ---- */

void wire_write_raw(struct wire_writer *w, const void *data, size_t len) {
  if (w->status != WIRE_OK) return;
  if ((size_t)(w->end - w->p) < len) {
    w->status = WIRE_ENOSPACE;
    return;
  }
  if (len) memcpy(w->p, data, len);
  w->p += len;
}

static void store_be(struct wire_writer *w, uint64_t v, int n) {
  uint8_t b[8];
  for (int i = n - 1; i >= 0; i--) {
    b[i] = (uint8_t)v;
    v >>= 8;
  }
  wire_write_raw(w, b, (size_t)n);
}

void wire_write_i8(struct wire_writer *w, int8_t v) { store_be(w, (uint8_t)v, 1); }
void wire_write_i16(struct wire_writer *w, int16_t v) { store_be(w, (uint16_t)v, 2); }
void wire_write_i32(struct wire_writer *w, int32_t v) { store_be(w, (uint32_t)v, 4); }
void wire_write_i64(struct wire_writer *w, int64_t v) { store_be(w, (uint64_t)v, 8); }
void wire_write_u16(struct wire_writer *w, uint16_t v) { store_be(w, v, 2); }
void wire_write_u32(struct wire_writer *w, uint32_t v) { store_be(w, v, 4); }
void wire_write_bool(struct wire_writer *w, bool v) { store_be(w, v ? 1 : 0, 1); }
void wire_write_uuid(struct wire_writer *w, const struct wire_uuid *v) {
  wire_write_raw(w, v->b, 16);
}

void wire_write_f64(struct wire_writer *w, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof(bits));
  store_be(w, bits, 8);
}

void wire_write_uvarlong(struct wire_writer *w, uint64_t v) {
  uint8_t b[10];
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  b[n++] = (uint8_t)v;
  wire_write_raw(w, b, n);
}

void wire_write_uvarint(struct wire_writer *w, uint32_t v) { wire_write_uvarlong(w, v); }

void wire_write_varint(struct wire_writer *w, int32_t v) {
  wire_write_uvarlong(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void wire_write_varlong(struct wire_writer *w, int64_t v) {
  wire_write_uvarlong(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void write_len(struct wire_writer *w, int32_t len, bool compact, bool wide) {
  if (compact)
    wire_write_uvarint(w, (uint32_t)(len + 1));
  else if (wide)
    wire_write_i32(w, len);
  else
    wire_write_i16(w, (int16_t)len);
}

void wire_write_str(struct wire_writer *w, struct wire_str v, bool compact, bool nullable) {
  if (v.len < 0) {
    write_len(w, nullable ? -1 : 0, compact, false);
    return;
  }
  write_len(w, v.len, compact, false);
  wire_write_raw(w, v.ptr, (size_t)v.len);
}

void wire_write_bytes(struct wire_writer *w, struct wire_bytes v, bool compact, bool nullable) {
  if (v.len < 0) {
    write_len(w, nullable ? -1 : 0, compact, true);
    return;
  }
  write_len(w, v.len, compact, true);
  if (v.file == NULL) {
    wire_write_raw(w, v.ptr, (size_t)v.len);
    return;
  }
  struct wire_splices *sp = w->splices;
  if (w->status != WIRE_OK) return;
  if (sp == NULL || v.file->size != (uint32_t)v.len) {
    w->status = WIRE_EINVALID;
    return;
  }
  if (sp->count == sp->capacity) {
    size_t cap = sp->capacity ? sp->capacity * 2 : 16;
    struct wire_splice *items = wire_arena_alloc_array(sp->arena, cap, sizeof(*items));
    if (items == NULL) {
      w->status = WIRE_ELIMIT;
      return;
    }
    if (sp->count > 0) memcpy(items, sp->items, sp->count * sizeof(*items));
    sp->items = items;
    sp->capacity = cap;
  }
  sp->items[sp->count++] = (struct wire_splice){w->p, v.file};
}

void wire_write_array_len(struct wire_writer *w, int32_t count, bool compact, bool nullable) {
  write_len(w, count < 0 ? (nullable ? -1 : 0) : count, compact, true);
}

uint32_t wire_write_tags_below(struct wire_writer *w, const struct wire_tags *t, uint32_t start,
                               uint64_t limit) {
  uint32_t i = start;
  for (; i < t->count && t->items[i].tag < limit; i++) {
    wire_write_uvarint(w, t->items[i].tag);
    wire_write_uvarint(w, t->items[i].len);
    wire_write_raw(w, t->items[i].data, t->items[i].len);
  }
  return i;
}

size_t wire_tags_size(const struct wire_tags *t) {
  size_t n = 0;
  for (uint32_t i = 0; i < t->count; i++)
    n += wire_uvarint_size(t->items[i].tag) + wire_uvarint_size(t->items[i].len) + t->items[i].len;
  return n;
}

size_t wire_uvarlong_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

size_t wire_uvarint_size(uint32_t v) { return wire_uvarlong_size(v); }
size_t wire_varint_size(int32_t v) {
  return wire_uvarlong_size(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}
size_t wire_varlong_size(int64_t v) {
  return wire_uvarlong_size(((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static size_t len_size(int32_t len, bool compact, bool wide) {
  if (compact) return wire_uvarint_size((uint32_t)(len + 1));
  return wide ? 4 : 2;
}

size_t wire_str_size(struct wire_str v, bool compact, bool nullable) {
  if (v.len < 0) return len_size(nullable ? -1 : 0, compact, false);
  return len_size(v.len, compact, false) + (size_t)v.len;
}

size_t wire_bytes_size(struct wire_bytes v, bool compact, bool nullable) {
  if (v.len < 0) return len_size(nullable ? -1 : 0, compact, true);
  return len_size(v.len, compact, true) + (size_t)v.len;
}

size_t wire_array_len_size(int32_t count, bool compact, bool nullable) {
  return len_size(count < 0 ? (nullable ? -1 : 0) : count, compact, true);
}

bool wire_str_eq(struct wire_str a, const char *b) {
  if (a.len < 0 || b == NULL) return a.len < 0 && b == NULL;
  size_t n = strlen(b);
  return n == (size_t)a.len && memcmp(a.ptr, b, n) == 0;
}

bool wire_str_same(struct wire_str a, struct wire_str b) {
  return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

bool wire_uuid_is_zero(const struct wire_uuid *u) {
  for (int i = 0; i < 16; i++)
    if (u->b[i]) return false;
  return true;
}
