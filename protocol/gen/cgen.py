#!/usr/bin/env python3
"""Generates Quire's message codec from the schema files.

    cgen.py --out DIR [--check] SCHEMA...

Writes into DIR: messages.h (every struct and function), msg_<schema>.c per schema file,
msg_table.c (the API table), msg_record_table.c (the record families and every message outside an
api, msg_record.h), msg_fill.h / msg_fill.c (test-only fillers used by the round-trip tests),
msg_print.h / msg_print.c (test-only printers of every field, used by the golden-frame test).
With --check, only parses and validates.

Every version test is resolved into a plain `if (version >= N)`; decoders check every count
against the bytes left before allocating from the request's arena, never call malloc and never
assert on input.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from schema import (PRIMITIVES, INTEGERS, VERSION_MAX, Api, Message, SchemaError,  # noqa: E402
                    Versions, parse, resolve)

C_KEYWORDS = set('''auto break case char const continue default do double else enum extern float
for goto if inline int long register restrict return short signed sizeof static struct switch
typedef union unsigned void volatile while bool true false'''.split())


def snake(name):
    s = re.sub(r'([a-z0-9])([A-Z])', r'\1_\2', name)
    s = re.sub(r'([A-Z]+)([A-Z][a-z])', r'\1_\2', s)
    return s.lower()


def field_cname(f):
    n = snake(f.name)
    return n + '_' if n in C_KEYWORDS else n


class Gen:
    """Code for one message: its structs and functions."""

    def __init__(self, msg):
        self.msg = msg
        self.cname = 'msg_' + snake(msg.name)
        self.names = {}
        for s in msg.structs:
            if s is msg.root:
                cn = self.cname
            else:
                short = s.name
                for prefix in (msg.name, msg.api_name or ''):
                    if prefix and short.startswith(prefix) and len(short) > len(prefix):
                        short = short[len(prefix):]
                        break
                cn = self.cname + '_' + snake(short)
            if cn in self.names.values():
                cn = self.cname + '_' + snake(s.name)
            self.names[id(s)] = cn
        for s in msg.structs:
            for f in s.fields:
                f.cname = field_cname(f)
                if f.cname == 'unknown_tags':
                    raise SchemaError('%s: field name %s is reserved' % (f.where, f.name))
                if f.is_struct and not f.is_array and not f.nullable.empty() and f.default != 'null':
                    raise SchemaError('%s: a nullable struct must default to null' % f.where)

    @property
    def flexible(self):
        return not self.msg.flexible.intersect(self.msg.versions).empty()

    def sname(self, struct):
        return self.names[id(struct)]

    # ---- version conditions ----

    def cond(self, vers):
        """A C expression true for the versions of vers within the message's range."""
        v = vers.intersect(self.msg.versions)
        if v.empty():
            return 'false'
        parts = []
        if v.lo > self.msg.versions.lo:
            parts.append('version >= %d' % v.lo)
        if v.hi < self.msg.versions.hi:
            parts.append('version <= %d' % v.hi)
        return ' && '.join(parts) if parts else 'true'

    def flex_expr(self):
        return self.cond(self.msg.flexible)

    def compact(self, f):
        return 'false' if f.flex_never else 'flex'

    def nullable(self, f):
        return self.cond(f.nullable)

    # ---- declarations ----

    def elem_ctype(self, f):
        if f.is_struct:
            return 'struct ' + self.sname(f.struct)
        return PRIMITIVES[f.elem][0]

    def member(self, f):
        if f.is_array:
            return 'struct {\n    int32_t count; /* -1 when null */\n    %s *items;\n  } %s;' % (
                self.elem_ctype(f), f.cname)
        if f.is_struct and not f.nullable.empty():
            return '%s *%s; /* NULL when null */' % (self.elem_ctype(f), f.cname)
        return '%s %s;' % (self.elem_ctype(f), f.cname)

    def declare(self, out):
        for s in self.msg.structs:
            out.append('struct %s {' % self.sname(s))
            for f in s.fields:
                note = ' /* tag %d */' % f.tag if f.tag is not None else ''
                out.append('  ' + self.member(f) + note)
            if self.flexible:
                out.append('  struct wire_tags unknown_tags;')
            if not s.fields and not self.flexible:
                out.append('  char empty_; /* no fields at any version */')
            out.append('};')
            out.append('void %s_init(struct %s *m);' % (self.sname(s), self.sname(s)))
            out.append('')
        cn = self.cname
        out.append('int %s_decode(struct %s *m, struct wire_reader *r, int16_t version);' % (cn, cn))
        out.append('int %s_encode(const struct %s *m, struct wire_writer *w, int16_t version);' % (cn, cn))
        out.append('size_t %s_size(const struct %s *m, int16_t version);' % (cn, cn))
        out.append('')

    # ---- defaults ----

    def int_literal(self, ctype, text):
        v = int(text, 0)
        if ctype == 'int64':
            if v == -2**63:
                return 'INT64_MIN'
            return 'INT64_C(%d)' % v
        if ctype == 'int32' and v == -2**31:
            return 'INT32_MIN'
        if ctype == 'uint32':
            return '%dU' % v
        return str(v)

    def default_value(self, f):
        """C expression of a scalar primitive's default (None for struct/array fields)."""
        d = f.default
        if f.elem in INTEGERS:
            return self.int_literal(f.elem, d) if d is not None else '0'
        if f.elem == 'bool':
            return d if d is not None else 'false'
        if f.elem == 'float64':
            return repr(float(d)) if d is not None else '0.0'
        return None

    def not_default(self, f, lv):
        d = f.default
        if f.is_array:
            return '%s.count >= 0' % lv if d == 'null' else '%s.count != 0' % lv
        if f.is_struct:
            if not f.nullable.empty():
                return '%s != NULL' % lv
            return '!%s_is_default(&%s, version)' % (self.sname(f.struct), lv)
        if f.elem == 'string':
            if d == 'null':
                return '%s.len >= 0' % lv
            if d is not None and d != '""':
                return '!wire_str_eq(%s, %s)' % (lv, d)
            return '%s.len != 0' % lv
        if f.elem in ('bytes', 'records'):
            return '%s.len >= 0' % lv if d == 'null' else '%s.len != 0' % lv
        if f.elem == 'uuid':
            return '!wire_uuid_is_zero(&%s)' % lv
        return '%s != %s' % (lv, self.default_value(f))

    def init_body(self, s, out):
        for f in s.fields:
            lv = 'm->' + f.cname
            if f.is_array:
                if f.default == 'null':
                    out.append('  %s.count = -1;' % lv)
            elif f.is_struct:
                if f.nullable.empty():
                    out.append('  %s_init(&%s);' % (self.sname(f.struct), lv))
            elif f.elem == 'string':
                if f.default == 'null':
                    out.append('  %s = (struct wire_str){NULL, -1};' % lv)
                elif f.default not in (None, '""'):
                    out.append('  %s = (struct wire_str){%s, %d};' % (lv, f.default, len(f.default) - 2))
                else:
                    out.append('  %s = (struct wire_str){"", 0};' % lv)
            elif f.elem in ('bytes', 'records'):
                if f.default == 'null':
                    out.append('  %s = (struct wire_bytes){NULL, -1, NULL};' % lv)
            elif f.elem != 'uuid':
                dv = self.default_value(f)
                if dv not in ('0', 'false', '0.0'):
                    out.append('  %s = %s;' % (lv, dv))

    # ---- decode ----

    def elem_min_size(self, f):
        if f.is_struct:
            return '%s_min_size(version)' % self.sname(f.struct)
        size = PRIMITIVES[f.elem][1]
        if size is not None:
            return str(size)
        return '(size_t)(flex ? 1 : %d)' % (2 if f.elem == 'string' else 4)

    def read_scalar(self, f, lv, rd, ind, out):
        e = f.elem
        if f.is_struct:
            sn = self.sname(f.struct)
            if f.nullable.empty():
                out.append(ind + 'MSG_TRY(%s_read(&%s, %s, version));' % (sn, lv, rd))
                return
            out.append(ind + '{')
            out.append(ind + '  int8_t present = 1;')
            out.append(ind + '  if (%s) MSG_TRY(wire_read_i8(%s, &present));' % (self.nullable(f), rd))
            out.append(ind + '  %s = NULL;' % lv)
            out.append(ind + '  if (present >= 0) {')
            out.append(ind + '    %s = wire_arena_alloc(%s->arena, sizeof(*%s));' % (lv, rd, lv))
            out.append(ind + '    if (%s == NULL) return WIRE_ELIMIT;' % lv)
            out.append(ind + '    MSG_TRY(%s_read(%s, %s, version));' % (sn, lv, rd))
            out.append(ind + '  }')
            out.append(ind + '}')
        elif e == 'string':
            out.append(ind + 'MSG_TRY(wire_read_str(%s, &%s, %s, %s));' % (rd, lv, self.compact(f), self.nullable(f)))
        elif e in ('bytes', 'records'):
            out.append(ind + 'MSG_TRY(wire_read_bytes(%s, &%s, flex, %s));' % (rd, lv, self.nullable(f)))
        else:
            fn = {'int8': 'i8', 'int16': 'i16', 'int32': 'i32', 'int64': 'i64', 'uint16': 'u16',
                  'uint32': 'u32', 'float64': 'f64', 'bool': 'bool', 'uuid': 'uuid'}[e]
            out.append(ind + 'MSG_TRY(wire_read_%s(%s, &%s));' % (fn, rd, lv))

    def read_field(self, f, rd, ind, out):
        lv = 'm->' + f.cname
        if not f.is_array:
            self.read_scalar(f, lv, rd, ind, out)
            return
        out.append(ind + 'MSG_TRY(wire_read_array_len(%s, &%s.count, flex, %s, %s));' % (
            rd, lv, self.nullable(f), self.elem_min_size(f)))
        out.append(ind + 'if (%s.count > 0) {' % lv)
        out.append(ind + '  %s.items = wire_arena_alloc_array(%s->arena, (size_t)%s.count, sizeof(*%s.items));' % (lv, rd, lv, lv))
        out.append(ind + '  if (%s.items == NULL) return WIRE_ELIMIT;' % lv)
        out.append(ind + '  for (int32_t i = 0; i < %s.count; i++) {' % lv)
        elem = ElemView(f)
        self.read_scalar(elem, lv + '.items[i]', rd, ind + '    ', out)
        out.append(ind + '  }')
        out.append(ind + '}')

    # ---- encode ----

    def write_scalar(self, f, lv, ind, out):
        e = f.elem
        if f.is_struct:
            sn = self.sname(f.struct)
            if f.nullable.empty():
                out.append(ind + '%s_write(&%s, w, version);' % (sn, lv))
                return
            nl = self.nullable(f)
            out.append(ind + 'if (%s) wire_write_i8(w, %s == NULL ? -1 : 1);' % (nl, lv))
            out.append(ind + 'if (%s != NULL) {' % lv)
            out.append(ind + '  %s_write(%s, w, version);' % (sn, lv))
            out.append(ind + '} else if (!(%s)) {' % nl)
            out.append(ind + '  struct %s empty;' % sn)
            out.append(ind + '  %s_init(&empty);' % sn)
            out.append(ind + '  %s_write(&empty, w, version);' % sn)
            out.append(ind + '}')
        elif e == 'string':
            out.append(ind + 'wire_write_str(w, %s, %s, %s);' % (lv, self.compact(f), self.nullable(f)))
        elif e in ('bytes', 'records'):
            out.append(ind + 'wire_write_bytes(w, %s, flex, %s);' % (lv, self.nullable(f)))
        elif e == 'uuid':
            out.append(ind + 'wire_write_uuid(w, &%s);' % lv)
        else:
            fn = {'int8': 'i8', 'int16': 'i16', 'int32': 'i32', 'int64': 'i64', 'uint16': 'u16',
                  'uint32': 'u32', 'float64': 'f64', 'bool': 'bool'}[e]
            out.append(ind + 'wire_write_%s(w, %s);' % (fn, lv))

    def write_field(self, f, ind, out):
        lv = 'm->' + f.cname
        if not f.is_array:
            self.write_scalar(f, lv, ind, out)
            return
        out.append(ind + 'wire_write_array_len(w, %s.count, flex, %s);' % (lv, self.nullable(f)))
        out.append(ind + 'for (int32_t i = 0; i < %s.count; i++) {' % lv)
        self.write_scalar(ElemView(f), lv + '.items[i]', ind + '  ', out)
        out.append(ind + '}')

    # ---- size ----

    def size_scalar(self, f, lv, acc, ind, out):
        e = f.elem
        if f.is_struct:
            sn = self.sname(f.struct)
            if f.nullable.empty():
                out.append(ind + '%s += %s_measure(&%s, version);' % (acc, sn, lv))
                return
            nl = self.nullable(f)
            out.append(ind + 'if (%s) %s += 1;' % (nl, acc))
            out.append(ind + 'if (%s != NULL) {' % lv)
            out.append(ind + '  %s += %s_measure(%s, version);' % (acc, sn, lv))
            out.append(ind + '} else if (!(%s)) {' % nl)
            out.append(ind + '  struct %s empty;' % sn)
            out.append(ind + '  %s_init(&empty);' % sn)
            out.append(ind + '  %s += %s_measure(&empty, version);' % (acc, sn))
            out.append(ind + '}')
        elif e == 'string':
            out.append(ind + '%s += wire_str_size(%s, %s, %s);' % (acc, lv, self.compact(f), self.nullable(f)))
        elif e in ('bytes', 'records'):
            out.append(ind + '%s += wire_bytes_size(%s, flex, %s);' % (acc, lv, self.nullable(f)))
        else:
            out.append(ind + '%s += %d;' % (acc, PRIMITIVES[e][1]))

    def size_field(self, f, acc, ind, out):
        lv = 'm->' + f.cname
        if not f.is_array:
            self.size_scalar(f, lv, acc, ind, out)
            return
        out.append(ind + '%s += wire_array_len_size(%s.count, flex, %s);' % (acc, lv, self.nullable(f)))
        fixed = None if f.is_struct else PRIMITIVES[f.elem][1]
        if fixed is not None:
            out.append(ind + 'if (%s.count > 0) %s += (size_t)%s.count * %d;' % (lv, acc, lv, fixed))
            return
        out.append(ind + 'for (int32_t i = 0; i < %s.count; i++) {' % lv)
        self.size_scalar(ElemView(f), lv + '.items[i]', acc, ind + '  ', out)
        out.append(ind + '}')

    # ---- per-struct functions ----

    def min_sizes(self, s):
        """Smallest wire size of struct s at each version of the message."""
        sizes = []
        for v in range(self.msg.versions.lo, self.msg.versions.hi + 1):
            flex = self.msg.flexible.contains(v)
            n = 1 if flex else 0
            for f in s.fields:
                if not f.versions.contains(v) or f.tag is not None:
                    continue
                if f.is_array:
                    n += 1 if flex else 4
                elif f.is_struct:
                    n += 1 if f.nullable.contains(v) else self.min_sizes(f.struct)[v - self.msg.versions.lo]
                elif f.elem == 'string':
                    n += 1 if flex and not f.flex_never else 2
                elif f.elem in ('bytes', 'records'):
                    n += 1 if flex else 4
                else:
                    n += PRIMITIVES[f.elem][1]
            sizes.append(n)
        return sizes

    def in_arrays(self):
        used = set()
        for s in self.msg.structs:
            for f in s.fields:
                if f.is_array and f.is_struct:
                    used.add(id(f.struct))
        return used

    def define(self, out):
        msg = self.msg
        arrays = self.in_arrays()
        for s in msg.structs:
            sn = self.sname(s)
            out.append('static int %s_read(struct %s *m, struct wire_reader *r, int16_t version);' % (sn, sn))
            out.append('static void %s_write(const struct %s *m, struct wire_writer *w, int16_t version);' % (sn, sn))
            out.append('static size_t %s_measure(const struct %s *m, int16_t version);' % (sn, sn))
            if s.used_tagged:
                out.append('static bool %s_is_default(const struct %s *m, int16_t version);' % (sn, sn))
        out.append('')
        for s in msg.structs:
            sn = self.sname(s)
            fields = [f for f in s.fields if f.tag is None]
            tagged = sorted([f for f in s.fields if f.tag is not None], key=lambda f: f.tag)
            # init
            out.append('void %s_init(struct %s *m) {' % (sn, sn))
            out.append('  memset(m, 0, sizeof(*m));')
            self.init_body(s, out)
            out.append('}')
            out.append('')
            if id(s) in arrays:
                sizes = self.min_sizes(s)
                out.append('static size_t %s_min_size(int16_t version) {' % sn)
                out.append('  static const uint16_t sizes[%d] = {%s};' % (len(sizes), ', '.join(map(str, sizes))))
                out.append('  return sizes[version - %d];' % msg.versions.lo)
                out.append('}')
                out.append('')
            flex_line = '  const bool flex = %s;' % self.flex_expr()
            # read
            out.append('static int %s_read(struct %s *m, struct wire_reader *r, int16_t version) {' % (sn, sn))
            out.append(flex_line)
            out.append('  (void)flex;')
            out.append('  %s_init(m);' % sn)
            for f in fields:
                c = self.cond(f.versions)
                if c == 'true':
                    self.read_field(f, 'r', '  ', out)
                else:
                    out.append('  if (%s) {' % c)
                    self.read_field(f, 'r', '    ', out)
                    out.append('  }')
            if self.flexible:
                out.append('  if (flex) {')
                out.append('    uint32_t tag_count;')
                out.append('    MSG_TRY(wire_read_uvarint(r, &tag_count));')
                out.append('    if (tag_count > wire_left(r) / 2) return WIRE_ETRUNCATED;')
                out.append('    for (uint32_t t = 0; t < tag_count; t++) {')
                out.append('      uint32_t tag, len;')
                out.append('      MSG_TRY(wire_read_tag_header(r, &tag, &len));')
                out.append('      struct wire_reader sub = {r->p, r->p + len, r->arena};')
                out.append('      r->p += len;')
                if tagged:
                    out.append('      switch (tag) {')
                    for f in tagged:
                        out.append('      case %d:' % f.tag)
                        out.append('        if (%s) {' % self.cond(f.tagged))
                        self.read_field(f, '(&sub)', '          ', out)
                        out.append('          continue;')
                        out.append('        }')
                        out.append('        break;')
                    out.append('      default:')
                    out.append('        break;')
                    out.append('      }')
                out.append('      MSG_TRY(wire_tags_keep(&m->unknown_tags, r->arena, tag_count, tag, sub.p, len));')
                out.append('    }')
                out.append('  }')
            out.append('  return WIRE_OK;')
            out.append('}')
            out.append('')
            # write
            out.append('static void %s_write(const struct %s *m, struct wire_writer *w, int16_t version) {' % (sn, sn))
            out.append(flex_line)
            out.append('  (void)flex;')
            for f in fields:
                c = self.cond(f.versions)
                if c == 'true':
                    self.write_field(f, '  ', out)
                else:
                    out.append('  if (%s) {' % c)
                    self.write_field(f, '    ', out)
                    out.append('  }')
            if self.flexible:
                out.append('  if (flex) {')
                out.append('    uint32_t tag_count = m->unknown_tags.count;')
                for f in tagged:
                    out.append('    const bool has_%s = (%s) && (%s);' % (f.cname, self.cond(f.tagged), self.not_default(f, 'm->' + f.cname)))
                    out.append('    if (has_%s) tag_count++;' % f.cname)
                out.append('    wire_write_uvarint(w, tag_count);')
                out.append('    uint32_t u = 0;')
                for f in tagged:
                    out.append('    if (has_%s) {' % f.cname)
                    out.append('      u = wire_write_tags_below(w, &m->unknown_tags, u, %d);' % f.tag)
                    out.append('      size_t field_size = 0;')
                    self.size_field(f, 'field_size', '      ', out)
                    out.append('      wire_write_uvarint(w, %d);' % f.tag)
                    out.append('      wire_write_uvarint(w, (uint32_t)field_size);')
                    self.write_field(f, '      ', out)
                    out.append('    }')
                out.append('    wire_write_tags_below(w, &m->unknown_tags, u, UINT64_MAX);')
                out.append('  }')
            out.append('}')
            out.append('')
            # measure
            out.append('static size_t %s_measure(const struct %s *m, int16_t version) {' % (sn, sn))
            out.append(flex_line)
            out.append('  (void)flex;')
            out.append('  size_t n = 0;')
            for f in fields:
                c = self.cond(f.versions)
                if c == 'true':
                    self.size_field(f, 'n', '  ', out)
                else:
                    out.append('  if (%s) {' % c)
                    self.size_field(f, 'n', '    ', out)
                    out.append('  }')
            if self.flexible:
                out.append('  if (flex) {')
                out.append('    uint32_t tag_count = m->unknown_tags.count;')
                out.append('    n += wire_tags_size(&m->unknown_tags);')
                for f in tagged:
                    out.append('    if ((%s) && (%s)) {' % (self.cond(f.tagged), self.not_default(f, 'm->' + f.cname)))
                    out.append('      size_t field_size = 0;')
                    self.size_field(f, 'field_size', '      ', out)
                    out.append('      n += wire_uvarint_size(%d) + wire_uvarint_size((uint32_t)field_size) + field_size;' % f.tag)
                    out.append('      tag_count++;')
                    out.append('    }')
                out.append('    n += wire_uvarint_size(tag_count);')
                out.append('  }')
            out.append('  return n;')
            out.append('}')
            out.append('')
            if s.used_tagged:
                out.append('static bool %s_is_default(const struct %s *m, int16_t version) {' % (sn, sn))
                if self.flexible:
                    out.append('  if (m->unknown_tags.count != 0) return false;')
                for f in s.fields:
                    out.append('  if ((%s) && (%s)) return false;' % (self.cond(f.versions), self.not_default(f, 'm->' + f.cname)))
                out.append('  (void)version;')
                out.append('  return true;')
                out.append('}')
                out.append('')
        cn = self.cname
        vr = msg.versions
        out.append('int %s_decode(struct %s *m, struct wire_reader *r, int16_t version) {' % (cn, cn))
        out.append('  if (version < %d || version > %d) return WIRE_EVERSION;' % (vr.lo, vr.hi))
        out.append('  return %s_read(m, r, version);' % cn)
        out.append('}')
        out.append('')
        out.append('int %s_encode(const struct %s *m, struct wire_writer *w, int16_t version) {' % (cn, cn))
        out.append('  if (version < %d || version > %d) return WIRE_EVERSION;' % (vr.lo, vr.hi))
        out.append('  %s_write(m, w, version);' % cn)
        out.append('  return w->status;')
        out.append('}')
        out.append('')
        out.append('size_t %s_size(const struct %s *m, int16_t version) {' % (cn, cn))
        out.append('  return %s_measure(m, version);' % cn)
        out.append('}')
        out.append('')

    # ---- test fillers ----

    def fill_scalar(self, f, lv, ind, out):
        e = f.elem
        if f.is_struct:
            sn = self.sname(f.struct)
            if f.nullable.empty():
                out.append(ind + 'fill_%s(&%s, version, c);' % (sn, lv))
                return
            out.append(ind + 'if ((%s) && msg_fill_next(c) %% 3 == 0) {' % self.nullable(f))
            out.append(ind + '  %s = NULL;' % lv)
            out.append(ind + '} else {')
            out.append(ind + '  %s = msg_fill_alloc(c, sizeof(*%s));' % (lv, lv))
            out.append(ind + '  fill_%s(%s, version, c);' % (sn, lv))
            out.append(ind + '}')
        elif e == 'string':
            out.append(ind + '%s = msg_fill_str(c, %s);' % (lv, self.nullable(f)))
        elif e in ('bytes', 'records'):
            out.append(ind + '%s = msg_fill_bytes(c, %s);' % (lv, self.nullable(f)))
        elif e == 'uuid':
            out.append(ind + 'msg_fill_uuid(c, &%s);' % lv)
        elif e == 'bool':
            out.append(ind + '%s = (msg_fill_next(c) & 1) != 0;' % lv)
        elif e == 'float64':
            out.append(ind + '%s = (double)(msg_fill_next(c) %% 1000) / 8.0;' % lv)
        elif e == 'int64':
            out.append(ind + '%s = (int64_t)(((uint64_t)msg_fill_next(c) << 32) | msg_fill_next(c));' % lv)
        else:
            out.append(ind + '%s = (%s)msg_fill_next(c);' % (lv, PRIMITIVES[e][0]))

    def fill_field(self, f, ind, out):
        lv = 'm->' + f.cname
        if not f.is_array:
            self.fill_scalar(f, lv, ind, out)
            return
        out.append(ind + 'if ((%s) && msg_fill_next(c) %% 5 == 0) {' % self.nullable(f))
        out.append(ind + '  %s.count = -1;' % lv)
        out.append(ind + '  %s.items = NULL;' % lv)
        out.append(ind + '} else {')
        out.append(ind + '  %s.count = (int32_t)(msg_fill_next(c) %% 3);' % lv)
        out.append(ind + '  %s.items = msg_fill_alloc(c, sizeof(*%s.items) * 3);' % (lv, lv))
        out.append(ind + '  for (int32_t i = 0; i < %s.count; i++) {' % lv)
        self.fill_scalar(ElemView(f), lv + '.items[i]', ind + '    ', out)
        out.append(ind + '  }')
        out.append(ind + '}')

    def define_fill(self, out):
        msg = self.msg
        for s in msg.structs:
            sn = self.sname(s)
            out.append('static void fill_%s(struct %s *m, int16_t version, struct msg_fill *c);' % (sn, sn))
        out.append('')
        for s in msg.structs:
            sn = self.sname(s)
            out.append('static void fill_%s(struct %s *m, int16_t version, struct msg_fill *c) {' % (sn, sn))
            out.append('  %s_init(m);' % sn)
            for f in s.fields:
                c = self.cond(f.versions if f.tag is None else f.tagged)
                if f.tag is not None:
                    c = '(%s) && msg_fill_next(c) %% 4 != 0' % c
                out.append('  if (%s) {' % c)
                self.fill_field(f, '    ', out)
                out.append('  }')
            if self.flexible:
                ntags = len([f for f in s.fields if f.tag is not None])
                out.append('  if ((%s) && msg_fill_next(c) %% 2 == 0)' % self.flex_expr())
                out.append('    msg_fill_unknown_tag(c, &m->unknown_tags, %d);' % ntags)
            out.append('  (void)version;')
            out.append('}')
            out.append('')
        cn = self.cname
        out.append('void %s_fill(void *m, int16_t version, struct msg_fill *c) {' % cn)
        out.append('  fill_%s(m, version, c);' % cn)
        out.append('}')
        out.append('')


    # ---- test printers: every field present at a version as `path=value` ----

    def print_scalar(self, f, lv, ind, out):
        e = f.elem
        if f.is_struct:
            sn = self.sname(f.struct)
            if f.nullable.empty():
                out.append(ind + 'print_%s(&%s, version, p);' % (sn, lv))
            else:
                out.append(ind + 'if (%s == NULL) msg_print_null(p);' % lv)
                out.append(ind + 'else print_%s(%s, version, p);' % (sn, lv))
        elif e == 'string':
            out.append(ind + 'msg_print_str(p, %s);' % lv)
        elif e in ('bytes', 'records'):
            out.append(ind + 'msg_print_bytes(p, %s);' % lv)
        elif e == 'uuid':
            out.append(ind + 'msg_print_uuid(p, &%s);' % lv)
        elif e == 'bool':
            out.append(ind + 'msg_print_bool(p, %s);' % lv)
        elif e == 'float64':
            out.append(ind + 'msg_print_f64(p, %s);' % lv)
        else:
            out.append(ind + 'msg_print_int(p, (int64_t)%s);' % lv)

    def print_field(self, f, ind, out):
        lv = 'm->' + f.cname
        out.append(ind + 'size_t at = msg_print_enter(p, "%s");' % f.cname)
        if not f.is_array:
            self.print_scalar(f, lv, ind, out)
        else:
            out.append(ind + 'if (%s.count < 0) {' % lv)
            out.append(ind + '  msg_print_null(p);')
            out.append(ind + '} else {')
            out.append(ind + '  msg_print_count(p, %s.count);' % lv)
            out.append(ind + '  for (int32_t i = 0; i < %s.count; i++) {' % lv)
            out.append(ind + '    size_t at_i = msg_print_index(p, i);')
            self.print_scalar(ElemView(f), lv + '.items[i]', ind + '    ', out)
            out.append(ind + '    msg_print_leave(p, at_i);')
            out.append(ind + '  }')
            out.append(ind + '}')
        out.append(ind + 'msg_print_leave(p, at);')

    def define_print(self, out):
        for s in self.msg.structs:
            sn = self.sname(s)
            out.append('static void print_%s(const struct %s *m, int16_t version, struct msg_print *p);' % (sn, sn))
        out.append('')
        for s in self.msg.structs:
            sn = self.sname(s)
            out.append('static void print_%s(const struct %s *m, int16_t version, struct msg_print *p) {' % (sn, sn))
            for f in s.fields:
                out.append('  if (%s) {' % self.cond(f.versions))
                self.print_field(f, '    ', out)
                out.append('  }')
            if self.flexible:
                out.append('  msg_print_tags(p, &m->unknown_tags);')
            out.append('  (void)m;')
            out.append('  (void)version;')
            out.append('  (void)p;')
            out.append('}')
            out.append('')
        cn = self.cname
        out.append('void %s_print(const void *m, int16_t version, struct msg_print *p) {' % cn)
        out.append('  print_%s(m, version, p);' % cn)
        out.append('}')
        out.append('')


class ElemView:
    """An array field seen as one of its elements: same type, never nullable, no default."""

    def __init__(self, f):
        self.elem, self.struct = f.elem, f.struct
        self.is_struct, self.is_array = f.is_struct, False
        self.nullable = Versions(1, 0)
        self.flex_never = False
        self.default = None
        self.cname = f.cname


PREAMBLE = '''/* Generated by protocol/gen/cgen.py from protocol/schema; do not edit. */
'''


def write(path, lines):
    text = '\n'.join(lines) + '\n'
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, 'w') as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', required=True)
    ap.add_argument('--check', action='store_true')
    ap.add_argument('schemas', nargs='+')
    args = ap.parse_args()

    files = []  # (stem, [Gen])
    apis = []
    keys = {}
    stems = {}
    for path in args.schemas:
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem in stems or stem in ('table', 'record_table', 'fill', 'print'):
            raise SchemaError('%s: file name %s also used by %s (one msg_%s.c each)' % (
                path, stem, stems.get(stem, 'the generator'), stem))
        stems[stem] = path
        with open(path) as f:
            items = parse(f.read(), path)
        gens = []
        for it in items:
            msgs = [it.request, it.response] if isinstance(it, Api) else [it]
            if isinstance(it, Api):
                if it.key in keys:
                    raise SchemaError('%s: api key %d also used by %s' % (path, it.key, keys[it.key]))
                keys[it.key] = it.name
                apis.append(it)
            for m in msgs:
                resolve(m)
                gens.append(Gen(m))
        files.append((stem, gens))
    families = check_families([g for _, gs in files for g in gs])
    if args.check:
        return

    os.makedirs(args.out, exist_ok=True)
    all_gens = [g for _, gs in files for g in gs]
    names = {}
    for g in all_gens:
        for cn in g.names.values():
            if cn in names:
                raise SchemaError('C name %s used twice (%s, %s)' % (cn, names[cn], g.msg.name))
            names[cn] = g.msg.name

    h = [PREAMBLE, '#ifndef QUIRE_PROTOCOL_MESSAGES_H', '#define QUIRE_PROTOCOL_MESSAGES_H', '',
         '#include <stdbool.h>', '#include <stddef.h>', '#include <stdint.h>', '',
         '#include "msg_api.h"', '#include "msg_record.h"', '#include "wire.h"', '']
    for api in sorted(apis, key=lambda a: a.key):
        h.append('#define MSG_API_%s %d' % (snake(api.name).upper(), api.key))
    h.append('')
    declare_families(families, h)
    for g in all_gens:
        h.append('/* ---- %s: versions %s, flexible %s ---- */' % (g.msg.name, g.msg.versions, g.msg.flexible))
        g.declare(h)
    h.append('#endif')
    write(os.path.join(args.out, 'messages.h'), h)

    common = [PREAMBLE, '#include <string.h>', '', '#include "messages.h"', '',
              '#define MSG_TRY(expr) \\', '  do { \\', '    int rc_ = (expr); \\',
              '    if (rc_ != WIRE_OK) return rc_; \\', '  } while (0)', '']
    for stem, gens in files:
        c = list(common)
        for g in gens:
            g.define(c)
        write(os.path.join(args.out, 'msg_%s.c' % stem), c)

    # The API table.
    t = [PREAMBLE, '#include "messages.h"', '']
    for api in sorted(apis, key=lambda a: a.key):
        for side in ('request', 'response'):
            cn = 'msg_%s_%s' % (snake(api.name), side)
            t.append('static void %s_init_any(void *m) { %s_init(m); }' % (cn, cn))
            t.append('static int %s_decode_any(void *m, struct wire_reader *r, int16_t v) { return %s_decode(m, r, v); }' % (cn, cn))
            t.append('static int %s_encode_any(const void *m, struct wire_writer *w, int16_t v) { return %s_encode(m, w, v); }' % (cn, cn))
            t.append('static size_t %s_size_any(const void *m, int16_t v) { return %s_size(m, v); }' % (cn, cn))
    t.append('')
    t.append('const struct msg_api msg_apis[] = {')
    for api in sorted(apis, key=lambda a: a.key):
        v = api.versions
        stable = v.hi - 1 if api.unstable_latest else v.hi
        flex = api.flexible.intersect(v)
        codecs = []
        for side in ('request', 'response'):
            cn = 'msg_%s_%s' % (snake(api.name), side)
            codecs.append('{sizeof(struct %s), %s_init_any, %s_decode_any, %s_encode_any, %s_size_any}' % (cn, cn, cn, cn, cn))
        t.append('  {%d, "%s", %d, %d, %d, %d, %s, %s},' % (
            api.key, api.name, v.lo, v.hi, stable, flex.lo if not flex.empty() else -1, codecs[0], codecs[1]))
    t.append('};')
    t.append('const size_t msg_api_count = sizeof(msg_apis) / sizeof(msg_apis[0]);')
    t.append('')
    max_key = max([a.key for a in apis] or [0])
    index = [-1] * (max_key + 1)
    for i, api in enumerate(sorted(apis, key=lambda a: a.key)):
        index[api.key] = i
    t.append('const struct msg_api *msg_api_find(int16_t key) {')
    t.append('  static const int8_t index[%d] = {%s};' % (max_key + 1, ', '.join(map(str, index))))
    t.append('  if (key < 0 || key > %d || index[key] < 0) return NULL;' % max_key)
    t.append('  return &msg_apis[index[key]];')
    t.append('}')
    write(os.path.join(args.out, 'msg_table.c'), t)

    bare = [g for g in all_gens if g.msg.api_name is None]
    write(os.path.join(args.out, 'msg_record_table.c'), record_table(bare, families))

    # Test-only per-message tables: fillers (round trips, fuzz seeds) and printers (golden frames).
    write_test_table(args.out, 'fill', apis, all_gens, bare, [
        '/* Fills every field present at a version with pseudo-random values (tests only). */',
        'struct msg_fill {', '  uint64_t state;', '  struct wire_arena *arena;', '};',
        'uint32_t msg_fill_next(struct msg_fill *c);',
        'void *msg_fill_alloc(struct msg_fill *c, size_t size);',
        'struct wire_str msg_fill_str(struct msg_fill *c, bool nullable);',
        'struct wire_bytes msg_fill_bytes(struct msg_fill *c, bool nullable);',
        'void msg_fill_uuid(struct msg_fill *c, struct wire_uuid *u);',
        'void msg_fill_unknown_tag(struct msg_fill *c, struct wire_tags *t, uint32_t first_unknown);',
        '', 'typedef void msg_fill_fn(void *m, int16_t version, struct msg_fill *c);'])
    write_test_table(args.out, 'print', apis, all_gens, bare, [
        '/* Prints every field present at a version as `path=value` (tests and tools only): paths',
        ' * are snake_case field names joined by dots, with [i] for array elements; an array also',
        ' * prints path.count, a null value prints null, an unknown tag prints ?tagN=hex. */',
        'struct msg_print {', '  char path[1024];', '  size_t len;',
        '  void (*emit)(void *ctx, const char *path, const char *value);', '  void *ctx;', '};',
        'size_t msg_print_enter(struct msg_print *p, const char *name);',
        'size_t msg_print_index(struct msg_print *p, int32_t index);',
        'void msg_print_leave(struct msg_print *p, size_t len);',
        'void msg_print_int(struct msg_print *p, int64_t v);',
        'void msg_print_bool(struct msg_print *p, bool v);',
        'void msg_print_f64(struct msg_print *p, double v);',
        'void msg_print_str(struct msg_print *p, struct wire_str v);',
        'void msg_print_bytes(struct msg_print *p, struct wire_bytes v);',
        'void msg_print_uuid(struct msg_print *p, const struct wire_uuid *v);',
        'void msg_print_null(struct msg_print *p);',
        'void msg_print_count(struct msg_print *p, int32_t count);',
        'void msg_print_tags(struct msg_print *p, const struct wire_tags *t);',
        '', 'typedef void msg_print_fn(const void *m, int16_t version, struct msg_print *p);'])


def write_test_table(out_dir, kind, apis, gens, bare, declarations):
    """Writes msg_<kind>.h (declarations, one msg_<kind>_fn per message, a table of them in the
    order of msg_apis and one in the order of msg_messages) and msg_<kind>.c (each Gen's
    define_<kind> output and the tables)."""
    guard = 'QUIRE_PROTOCOL_MSG_%s_H' % kind.upper()
    h = [PREAMBLE, '#ifndef ' + guard, '#define ' + guard, '', '#include "messages.h"', '']
    h += declarations
    h += ['struct msg_%s_api {' % kind, '  int16_t key;', '  msg_%s_fn *request, *response;' % kind,
          '};', '/* In the order of msg_apis. */',
          'extern const struct msg_%s_api msg_%s_apis[];' % (kind, kind),
          '/* In the order of msg_messages (msg_record.h). */',
          'extern msg_%s_fn *const msg_%s_messages[];' % (kind, kind), '']
    h += ['msg_%s_fn %s_%s;' % (kind, g.cname, kind) for g in gens]
    h += ['', '#endif']
    write(os.path.join(out_dir, 'msg_%s.h' % kind), h)
    c = [PREAMBLE, '#include "msg_%s.h"' % kind, '']
    for g in gens:
        getattr(g, 'define_' + kind)(c)
    c.append('const struct msg_%s_api msg_%s_apis[] = {' % (kind, kind))
    for api in sorted(apis, key=lambda a: a.key):
        cn = 'msg_%s' % snake(api.name)
        c.append('  {%d, %s_request_%s, %s_response_%s},' % (api.key, cn, kind, cn, kind))
    c.append('};')
    c.append('msg_%s_fn *const msg_%s_messages[] = {' % (kind, kind))
    for g in bare:
        c.append('  %s_%s,' % (g.cname, kind))
    if not bare:
        c.append('  NULL,')
    c.append('};')
    write(os.path.join(out_dir, 'msg_%s.c' % kind), c)

# ---- record families ----

class Family:
    """The records of one family: plain (one message per type id) or coordinator (a key message
    and a value message per record type)."""

    def __init__(self, name):
        self.name = name
        self.records = {}  # (role, key) -> Gen
        self.coordinator = None

    @property
    def prefix(self):
        return 'msg_%s_record' % self.name

    def keys(self):
        return sorted(set(k for _, k in self.records))

    def type_name(self, key):
        """The name of a type id: the record's, or the key message's without its Key suffix."""
        if not self.coordinator:
            return self.records[(None, key)].msg.name
        name = self.records[('key', key)].msg.name
        return name[:-3] if name.endswith('Key') and len(name) > 3 else name

    def enum_name(self, key):
        return 'MSG_%s_%s' % (self.name.upper(), snake(self.type_name(key)).upper())


def check_families(gens):
    """Groups the records by family; checks type ids are unique within a family and that a
    coordinator family pairs every key message with a value message."""
    families = {}
    for g in gens:
        m = g.msg
        if m.family is None:
            continue
        fam = families.setdefault(m.family, Family(m.family))
        coordinator = m.role is not None
        if fam.coordinator is None:
            fam.coordinator = coordinator
        elif fam.coordinator != coordinator:
            raise SchemaError('%s: family %s mixes records with and without role=' % (m.where, m.family))
        slot = (m.role, m.record_key)
        if slot in fam.records:
            raise SchemaError('%s: record key %d of family %s%s also used by %s' % (
                m.where, m.record_key, m.family, ' (%s)' % m.role if m.role else '',
                fam.records[slot].msg.name))
        fam.records[slot] = g
    for fam in families.values():
        if fam.coordinator:
            for role, other in (('key', 'value'), ('value', 'key')):
                for r, k in list(fam.records):
                    if r == role and (other, k) not in fam.records:
                        g = fam.records[(r, k)]
                        raise SchemaError('%s: %s has no %s record of key %d in family %s' % (
                            g.msg.where, g.msg.name, other, k, fam.name))
        names = set()
        for k in fam.keys():
            e = fam.enum_name(k)
            if e in names:
                raise SchemaError('family %s: two record types named %s' % (fam.name, e))
            names.add(e)
    return [families[n] for n in sorted(families)]


def declare_families(families, h):
    for fam in families:
        row = 'msg_coordinator_record_type' if fam.coordinator else 'msg_record_type'
        h.append('/* ---- family %s: %s ---- */' % (
            fam.name, 'coordinator records (key and value)' if fam.coordinator else 'records'))
        h.append('enum %s_key {' % fam.prefix)
        for k in fam.keys():
            h.append('  %s = %d,' % (fam.enum_name(k), k))
        h.append('};')
        h.append('extern const struct %s msg_%s_records[]; /* sorted by type id */' % (row, fam.name))
        h.append('extern const size_t %s_count;' % fam.prefix)
        h.append('/* The row of a type id, or NULL when the codec does not know it. */')
        h.append('const struct %s *%s_find(int16_t key);' % (row, fam.prefix))
        h.append('')


def record_row(g, ind):
    m = g.msg
    cn = g.cname
    flex = m.flexible.intersect(m.versions)
    return ('%s{%d, %s, "%s", %d, %d, %d,\n%s {sizeof(struct %s), %s_init_any, %s_decode_any, '
            '%s_encode_any, %s_size_any}}' % (
                ind, m.record_key if m.family else -1, '"%s"' % m.family if m.family else 'NULL',
                m.name, m.versions.lo, m.versions.hi, flex.lo if not flex.empty() else -1,
                ind, cn, cn, cn, cn, cn))


def record_table(bare, families):
    t = [PREAMBLE, '#include "messages.h"', '']
    for g in bare:
        cn = g.cname
        t.append('static void %s_init_any(void *m) { %s_init(m); }' % (cn, cn))
        t.append('static int %s_decode_any(void *m, struct wire_reader *r, int16_t v) { return %s_decode(m, r, v); }' % (cn, cn))
        t.append('static int %s_encode_any(const void *m, struct wire_writer *w, int16_t v) { return %s_encode(m, w, v); }' % (cn, cn))
        t.append('static size_t %s_size_any(const void *m, int16_t v) { return %s_size(m, v); }' % (cn, cn))
    t.append('')
    t.append('const struct msg_record_type msg_messages[] = {')
    for g in bare:
        t.append(record_row(g, '  ') + ',')
    if not bare:
        t.append('  {-1, NULL, NULL, 0, 0, -1, {0, NULL, NULL, NULL, NULL}},')
    t.append('};')
    t.append('const size_t msg_message_count = %d;' % len(bare))
    t.append('')
    for fam in families:
        keys = fam.keys()
        if fam.coordinator:
            t.append('const struct msg_coordinator_record_type msg_%s_records[] = {' % fam.name)
            for k in keys:
                t.append('  {%d, "%s",' % (k, fam.type_name(k)))
                t.append(record_row(fam.records[('key', k)], '   ') + ',')
                t.append(record_row(fam.records[('value', k)], '   ') + '},')
            row = 'msg_coordinator_record_type'
        else:
            t.append('const struct msg_record_type msg_%s_records[] = {' % fam.name)
            for k in keys:
                t.append(record_row(fam.records[(None, k)], '  ') + ',')
            row = 'msg_record_type'
        t.append('};')
        t.append('const size_t %s_count = %d;' % (fam.prefix, len(keys)))
        t.append('')
        index = [-1] * (keys[-1] + 1)
        for i, k in enumerate(keys):
            index[k] = i
        itype = 'int8_t' if len(keys) < 128 else 'int16_t'
        t.append('const struct %s *%s_find(int16_t key) {' % (row, fam.prefix))
        t.append('  static const %s index[%d] = {%s};' % (itype, len(index), ', '.join(map(str, index))))
        t.append('  if (key < 0 || key > %d || index[key] < 0) return NULL;' % keys[-1])
        t.append('  return &msg_%s_records[index[key]];' % fam.name)
        t.append('}')
        t.append('')
    return t


if __name__ == '__main__':
    try:
        main()
    except SchemaError as e:
        sys.stderr.write('schema error: %s\n' % e)
        sys.exit(1)
