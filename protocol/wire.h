/* Wire primitives shared by the generated codec and hand-written protocol code.
 *
 * A wire_reader walks a borrowed byte range; every read checks the bytes left first and returns a
 * wire_status. Strings and bytes borrow from the range (they stay valid as long as the frame).
 * Arrays come from a wire_arena, allocated only after their count has been checked against the
 * bytes left. A wire_writer fills a caller-sized buffer and refuses to run past its end.
 *
 * Big-endian fixed-width integers; unsigned varints (7 bits a byte, low first) and zigzag varints;
 * "compact" forms (flexible versions) store length + 1 as an unsigned varint, 0 meaning null. */
#ifndef QUIRE_PROTOCOL_WIRE_H
#define QUIRE_PROTOCOL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wire_status {
  WIRE_OK = 0,
  WIRE_ETRUNCATED = -1, /* the input ends before the value does */
  WIRE_EINVALID = -2,   /* a value no encoder may produce (bad length, null where not allowed) */
  WIRE_ELIMIT = -3,     /* the arena limit would be exceeded */
  WIRE_EVERSION = -4,   /* the message does not exist at this version */
  WIRE_ENOSPACE = -5,   /* a writer's buffer is too small */
};

const char *wire_status_name(int status);

/* A string or bytes value; len < 0 means null (ptr is then NULL). */
struct wire_str {
  const char *ptr;
  int32_t len;
};
struct wire_file_range;
/* file != NULL: the len bytes stay in a file until sent (zero-copy fetch; see wire_writer). */
struct wire_bytes {
  const uint8_t *ptr;
  int32_t len;
  const struct wire_file_range *file;
};

/* Bytes of a file that a response carries without copying them: the sender splices them in
 * (sendfile) where the writer left their place, then calls release (exactly once, also when the
 * response is dropped). */
struct wire_file_range {
  int fd;
  uint64_t position;
  uint32_t size;
  void (*release)(void *arg);
  void *release_arg;
};

/* Where a writer left out file bytes: at (in its buffer), the range's bytes go. */
struct wire_splice {
  const uint8_t *at;
  const struct wire_file_range *file;
};

struct wire_splices {
  struct wire_splice *items;
  size_t count, capacity;
  struct wire_arena *arena;
};
struct wire_uuid {
  uint8_t b[16];
};

/* A tagged field the schema does not know (at this version): kept so it can be written back. */
struct wire_tag {
  uint32_t tag;
  uint32_t len;
  const uint8_t *data;
};
struct wire_tags {
  uint32_t count;
  struct wire_tag *items;
};

/* Per-request bump allocator: chunks from malloc, freed all at once. limit bounds the total. */
struct wire_arena_chunk;
struct wire_arena {
  struct wire_arena_chunk *head;
  size_t used, limit;
};

void wire_arena_init(struct wire_arena *a, size_t limit);
/* Zeroed memory, 16-byte aligned; NULL when the limit would be passed or malloc fails. */
void *wire_arena_alloc(struct wire_arena *a, size_t size);
/* count * size with an overflow check. */
void *wire_arena_alloc_array(struct wire_arena *a, size_t count, size_t size);
void wire_arena_free(struct wire_arena *a);
/* NUL-terminated copies in the arena: of a C string, and of a wire string (NULL for null, and
 * when the arena is full). */
char *wire_arena_strdup(struct wire_arena *a, const char *s);
char *wire_arena_cstr(struct wire_arena *a, struct wire_str s);
/* A copy of a wire string in the arena (null stays null); false when the arena is full. */
bool wire_arena_str(struct wire_arena *a, struct wire_str s, struct wire_str *out);

struct wire_reader {
  const uint8_t *p, *end;
  struct wire_arena *arena;
};

static inline size_t wire_left(const struct wire_reader *r) { return (size_t)(r->end - r->p); }

/* The per-record readers are inline (a record batch walk calls them for every record); varints
 * of one byte, the common case, take the fast path. */
int wire_read_uvarint_multibyte(struct wire_reader *r, uint32_t *v);
int wire_read_uvarlong_multibyte(struct wire_reader *r, uint64_t *v);

static inline int wire_read_i8(struct wire_reader *r, int8_t *v) {
  if (r->p == r->end) return WIRE_ETRUNCATED;
  *v = (int8_t)*r->p++;
  return WIRE_OK;
}
static inline int wire_read_uvarint(struct wire_reader *r, uint32_t *v) {
  if (r->p < r->end && *r->p < 0x80) {
    *v = *r->p++;
    return WIRE_OK;
  }
  return wire_read_uvarint_multibyte(r, v);
}
static inline int wire_read_uvarlong(struct wire_reader *r, uint64_t *v) {
  if (r->p < r->end && *r->p < 0x80) {
    *v = *r->p++;
    return WIRE_OK;
  }
  return wire_read_uvarlong_multibyte(r, v);
}
/* zigzag */
static inline int wire_read_varint(struct wire_reader *r, int32_t *v) {
  uint32_t u;
  int rc = wire_read_uvarint(r, &u);
  if (rc == WIRE_OK) *v = (int32_t)((u >> 1) ^ (~(u & 1) + 1));
  return rc;
}
static inline int wire_read_varlong(struct wire_reader *r, int64_t *v) {
  uint64_t u;
  int rc = wire_read_uvarlong(r, &u);
  if (rc == WIRE_OK) *v = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
  return rc;
}
int wire_read_i16(struct wire_reader *r, int16_t *v);
int wire_read_i32(struct wire_reader *r, int32_t *v);
int wire_read_i64(struct wire_reader *r, int64_t *v);
int wire_read_u16(struct wire_reader *r, uint16_t *v);
int wire_read_u32(struct wire_reader *r, uint32_t *v);
int wire_read_f64(struct wire_reader *r, double *v);
int wire_read_bool(struct wire_reader *r, bool *v);
int wire_read_uuid(struct wire_reader *r, struct wire_uuid *v);
/* compact: flexible-version form; nullable: whether null is allowed at this version. */
int wire_read_str(struct wire_reader *r, struct wire_str *v, bool compact, bool nullable);
int wire_read_bytes(struct wire_reader *r, struct wire_bytes *v, bool compact, bool nullable);
/* An array length (-1 when null), checked so that count * elem_size_min <= bytes left. */
int wire_read_array_len(struct wire_reader *r, int32_t *count, bool compact, bool nullable,
                        size_t elem_size_min);
/* Reads a tagged-field header; the caller decodes the value from a sub-reader of len bytes. */
int wire_read_tag_header(struct wire_reader *r, uint32_t *tag, uint32_t *len);

struct wire_writer {
  uint8_t *p, *end;
  int status; /* WIRE_ENOSPACE once a write did not fit; later writes do nothing */
  /* NULL: file bytes are refused (WIRE_EINVALID); else their places are noted here and their
   * bytes not written (the buffer is smaller than size() by their total). */
  struct wire_splices *splices;
};

/* Keeps an unknown tagged field; the first call reserves room for capacity entries. */
int wire_tags_keep(struct wire_tags *t, struct wire_arena *a, uint32_t capacity, uint32_t tag,
                   const uint8_t *data, uint32_t len);
/* Writes the kept tags from index start while their tag is below limit; returns the next index. */
uint32_t wire_write_tags_below(struct wire_writer *w, const struct wire_tags *t, uint32_t start,
                               uint64_t limit);
size_t wire_tags_size(const struct wire_tags *t);
void wire_write_raw(struct wire_writer *w, const void *data, size_t len);
void wire_write_i8(struct wire_writer *w, int8_t v);
void wire_write_i16(struct wire_writer *w, int16_t v);
void wire_write_i32(struct wire_writer *w, int32_t v);
void wire_write_i64(struct wire_writer *w, int64_t v);
void wire_write_u16(struct wire_writer *w, uint16_t v);
void wire_write_u32(struct wire_writer *w, uint32_t v);
void wire_write_f64(struct wire_writer *w, double v);
void wire_write_bool(struct wire_writer *w, bool v);
void wire_write_uuid(struct wire_writer *w, const struct wire_uuid *v);
void wire_write_uvarint(struct wire_writer *w, uint32_t v);
void wire_write_varint(struct wire_writer *w, int32_t v);
void wire_write_uvarlong(struct wire_writer *w, uint64_t v);
void wire_write_varlong(struct wire_writer *w, int64_t v);
/* A null value is written as null when nullable, else as empty. */
void wire_write_str(struct wire_writer *w, struct wire_str v, bool compact, bool nullable);
void wire_write_bytes(struct wire_writer *w, struct wire_bytes v, bool compact, bool nullable);
void wire_write_array_len(struct wire_writer *w, int32_t count, bool compact, bool nullable);

size_t wire_uvarint_size(uint32_t v);
size_t wire_uvarlong_size(uint64_t v);
size_t wire_varint_size(int32_t v);
size_t wire_varlong_size(int64_t v);
size_t wire_str_size(struct wire_str v, bool compact, bool nullable);
size_t wire_bytes_size(struct wire_bytes v, bool compact, bool nullable);
size_t wire_array_len_size(int32_t count, bool compact, bool nullable);

/* A borrowed view of a NUL-terminated C string. */
static inline struct wire_str wire_str_of(const char *s) {
  struct wire_str v = {s, 0};
  if (s == NULL) {
    v.len = -1;
  } else {
    while (s[v.len] != '\0') v.len++;
  }
  return v;
}
/* s, or "" for a null string (fields that have no null). */
static inline struct wire_str wire_str_or_empty(struct wire_str s) {
  return s.len < 0 ? (struct wire_str){"", 0} : s;
}
bool wire_str_eq(struct wire_str a, const char *b);
/* Whether two wire strings hold the same bytes (two nulls are the same). */
bool wire_str_same(struct wire_str a, struct wire_str b);
bool wire_uuid_is_zero(const struct wire_uuid *u);

#endif
