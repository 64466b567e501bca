/* Text forms for the generated test printers (msg_print.h): each value becomes one `path=value`
 * passed to the printer's emit callback. The same forms are produced by
 * tests/protocol/golden/capture/kafkaspec.py, so dumps of the two decoders compare line by line:
 * integers in decimal, bools true/false, floats %.17g, strings with bytes outside printable
 * ASCII (and backslash) as \xHH, bytes as 0x + hex, uuids as 32 hex digits, null as null. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_print.h"

static void append(struct msg_print *p, const char *s) {
  size_t n = strlen(s);
  if (p->len + n >= sizeof(p->path)) abort(); /* our own invariant: paths stay short */
  memcpy(p->path + p->len, s, n + 1);
  p->len += n;
}

size_t msg_print_enter(struct msg_print *p, const char *name) {
  size_t at = p->len;
  if (p->len > 0) append(p, ".");
  append(p, name);
  return at;
}

size_t msg_print_index(struct msg_print *p, int32_t index) {
  size_t at = p->len;
  char buf[16];
  snprintf(buf, sizeof(buf), "[%d]", (int)index);
  append(p, buf);
  return at;
}

void msg_print_leave(struct msg_print *p, size_t len) {
  p->len = len;
  p->path[len] = '\0';
}

static void emit_at(struct msg_print *p, const char *suffix, const char *value) {
  size_t at = p->len;
  if (suffix != NULL) msg_print_enter(p, suffix);
  p->emit(p->ctx, p->path, value);
  msg_print_leave(p, at);
}

void msg_print_int(struct msg_print *p, int64_t v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%lld", (long long)v);
  emit_at(p, NULL, buf);
}

void msg_print_bool(struct msg_print *p, bool v) { emit_at(p, NULL, v ? "true" : "false"); }

void msg_print_f64(struct msg_print *p, double v) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%.17g", v);
  emit_at(p, NULL, buf);
}

static void emit_hex(struct msg_print *p, const char *suffix, const char *lead, const uint8_t *data,
                     size_t len) {
  char *buf = malloc(strlen(lead) + 2 * len + 1);
  if (buf == NULL) abort();
  size_t n = (size_t)sprintf(buf, "%s", lead);
  for (size_t i = 0; i < len; i++) n += (size_t)sprintf(buf + n, "%02x", data[i]);
  emit_at(p, suffix, buf);
  free(buf);
}

void msg_print_str(struct msg_print *p, struct wire_str v) {
  if (v.len < 0) {
    emit_at(p, NULL, "null");
    return;
  }
  char *buf = malloc(4 * (size_t)v.len + 1);
  if (buf == NULL) abort();
  size_t n = 0;
  for (int32_t i = 0; i < v.len; i++) {
    unsigned char c = (unsigned char)v.ptr[i];
    if (c >= 0x20 && c < 0x7f && c != '\\')
      buf[n++] = (char)c;
    else
      n += (size_t)sprintf(buf + n, "\\x%02x", c);
  }
  buf[n] = '\0';
  emit_at(p, NULL, buf);
  free(buf);
}

void msg_print_bytes(struct msg_print *p, struct wire_bytes v) {
  if (v.len < 0)
    emit_at(p, NULL, "null");
  else
    emit_hex(p, NULL, "0x", v.ptr, (size_t)v.len);
}

void msg_print_uuid(struct msg_print *p, const struct wire_uuid *v) {
  emit_hex(p, NULL, "", v->b, sizeof(v->b));
}

void msg_print_null(struct msg_print *p) { emit_at(p, NULL, "null"); }

void msg_print_count(struct msg_print *p, int32_t count) {
  char buf[16];
  snprintf(buf, sizeof(buf), "%d", (int)count);
  emit_at(p, "count", buf);
}

void msg_print_tags(struct msg_print *p, const struct wire_tags *t) {
  for (uint32_t i = 0; i < t->count; i++) {
    char name[24];
    snprintf(name, sizeof(name), "?tag%u", (unsigned)t->items[i].tag);
    emit_hex(p, name, "", t->items[i].data, t->items[i].len);
  }
}
