"""A small codec driven by Apache Kafka's own JSON message specifications (clients/src/main/
resources/common/message/*.json), independent of Quire's schema files and generator.

The capture broker uses it to answer clients and to dump what they sent; `dump()` prints a
decoded message as `path=value` lines in the same form as Quire's generated test printer
(tests/protocol/golden/test_golden.c --dump), so the two decoders can be compared line by line.

    specs = Specs('/path/to/messages')
    body = specs.decode('MetadataRequest', version, data)   # -> (dict, bytes consumed)
    data = specs.encode('MetadataResponse', version, {...})  # missing fields take their defaults
"""
import base64
import json
import os
import re
import struct

VMAX = 0x7fff
C_KEYWORDS = set('''auto break case char const continue default do double else enum extern float
for goto if inline int long register restrict return short signed sizeof static struct switch
typedef union unsigned void volatile while bool true false'''.split())
FIXED = {'bool': '>?', 'int8': '>b', 'int16': '>h', 'uint16': '>H', 'int32': '>i',
         'uint32': '>I', 'int64': '>q', 'float64': '>d'}


def snake(name):
    s = re.sub(r'([a-z0-9])([A-Z])', r'\1_\2', name)
    s = re.sub(r'([A-Z]+)([A-Z][a-z])', r'\1_\2', s).lower()
    return s + '_' if s in C_KEYWORDS else s


def vrange(text):
    if text is None or text == 'none':
        return (1, 0)
    if text.endswith('+'):
        return (int(text[:-1]), VMAX)
    lo, _, hi = text.partition('-')
    return (int(lo), int(hi or lo))


def vin(r, v):
    return r[0] <= v <= r[1]


class DecodeError(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError('truncated at %d (+%d of %d)' % (self.pos, n, len(self.data)))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def fixed(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def uvarint(self):
        v = shift = 0
        while True:
            b = self.take(1)[0]
            v |= (b & 0x7f) << shift
            if not b & 0x80:
                return v
            shift += 7
            if shift > 63:
                raise DecodeError('varint too long')


def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7f) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


class Field:
    def __init__(self, j, common, flex_default):
        self.name = j['name']
        self.key = snake(self.name)
        t = j['type']
        self.is_array = t.startswith('[]')
        self.elem = t[2:] if self.is_array else t
        self.versions = vrange(j.get('versions'))
        self.nullable = vrange(j.get('nullableVersions'))
        self.tagged = vrange(j['taggedVersions']) if 'taggedVersions' in j else None
        self.tag = j.get('tag')
        self.flex_none = j.get('flexibleVersions') == 'none'
        self.default = j.get('default')
        self.fields = None
        if 'fields' in j:
            self.fields = [Field(c, common, flex_default) for c in j['fields']]
        elif self.elem not in FIXED and self.elem not in ('string', 'bytes', 'records', 'uuid'):
            self.fields = common[self.elem]

    @property
    def is_struct(self):
        return self.fields is not None


class Message:
    def __init__(self, j):
        self.name = j['name']
        self.key = j.get('apiKey')
        self.versions = vrange(j['validVersions'])
        self.flexible = vrange(j.get('flexibleVersions'))
        # Common structs may refer to one another: create every list first, then fill them.
        raw = {c['name']: c for c in j.get('commonStructs', [])}
        common = {name: [] for name in raw}
        for name, c in raw.items():
            common[name].extend(Field(f, common, None) for f in c['fields'])
        self.fields = [Field(f, common, None) for f in j.get('fields', [])]


def load_json(path):
    with open(path) as f:
        text = '\n'.join(line for line in f.read().splitlines() if not line.lstrip().startswith('//'))
    return json.loads(text)


class Specs:
    def __init__(self, directory):
        self.msgs = {}
        self.by_key = {}
        for fn in sorted(os.listdir(directory)):
            if not fn.endswith('.json'):
                continue
            j = load_json(os.path.join(directory, fn))
            if j['type'] not in ('request', 'response', 'header'):
                continue
            m = Message(j)
            self.msgs[m.name] = m
            if j['type'] == 'request':
                self.by_key[m.key] = m.name[:-len('Request')]

    def api_name(self, key):
        return self.by_key.get(key)

    # ---- decode ----

    def decode(self, name, version, data):
        m = self.msgs[name]
        r = Reader(data)
        flex = vin(m.flexible, version)
        return self._read_struct(m.fields, r, version, flex), r.pos

    def _read_struct(self, fields, r, v, flex):
        out = {}
        for f in fields:
            if not vin(f.versions, v):
                continue
            if f.tagged is not None and vin(f.tagged, v):
                out[f.key] = self._default(f, v, flex)
            else:
                out[f.key] = self._read_field(f, r, v, flex)
        if flex:
            bytag = {f.tag: f for f in fields if f.tagged is not None and vin(f.tagged, v)}
            for _ in range(r.uvarint()):
                tag = r.uvarint()
                size = r.uvarint()
                sub = Reader(r.take(size))
                if tag in bytag:
                    f = bytag[tag]
                    out[f.key] = self._read_field(f, sub, v, flex)
                    if sub.pos != size:
                        raise DecodeError('tag %d of %s: %d bytes left' % (tag, f.name, size - sub.pos))
                else:
                    out.setdefault('?unknown_tags', []).append((tag, sub.data))
        return out

    def _read_field(self, f, r, v, flex):
        nullable = vin(f.nullable, v)
        if f.is_array:
            n = r.uvarint() - 1 if flex else r.fixed('>i')
            if n < 0:
                if not nullable:
                    raise DecodeError('null array %s' % f.name)
                return None
            return [self._read_one(f, r, v, flex, False) for _ in range(n)]
        return self._read_one(f, r, v, flex, nullable)

    def _read_one(self, f, r, v, flex, nullable):
        e = f.elem
        if f.is_struct:
            if nullable:
                if r.fixed('>b') < 0:
                    return None
            return self._read_struct(f.fields, r, v, flex)
        if e in FIXED:
            return r.fixed(FIXED[e])
        if e == 'uuid':
            return r.take(16)
        compact = flex and not f.flex_none
        if e == 'string':
            n = r.uvarint() - 1 if compact else r.fixed('>h')
        else:
            n = r.uvarint() - 1 if compact else r.fixed('>i')
        if n < 0:
            if not nullable:
                raise DecodeError('null %s %s' % (e, f.name))
            return None
        b = r.take(n)
        return b.decode('utf-8', 'surrogateescape') if e == 'string' else b

    def _default(self, f, v, flex):
        d = f.default
        if f.is_array:
            return None if d == 'null' else []
        if f.is_struct:
            if d == 'null' or vin(f.nullable, v):
                return None
            return {g.key: self._default(g, v, flex) for g in f.fields if vin(g.versions, v)}
        e = f.elem
        if e in ('string', 'bytes', 'records'):
            if d == 'null':
                return None
            return d if (e == 'string' and d) else ('' if e == 'string' else b'')
        if e == 'uuid':
            return bytes(16)
        if e == 'bool':
            return d in (True, 'true')
        if e == 'float64':
            return float(d) if d is not None else 0.0
        if d is None or d == '':
            return 0
        return int(d, 0) if isinstance(d, str) else int(d)

    # ---- encode ----

    def encode(self, name, version, value):
        m = self.msgs[name]
        flex = vin(m.flexible, version)
        out = bytearray()
        self._write_struct(m.fields, value, out, version, flex)
        return bytes(out)

    def _write_struct(self, fields, value, out, v, flex):
        tagged = []
        for f in fields:
            if not vin(f.versions, v):
                continue
            x = value.get(f.key, self._default(f, v, flex)) if value is not None else self._default(f, v, flex)
            if f.tagged is not None and vin(f.tagged, v):
                if x != self._default(f, v, flex):
                    buf = bytearray()
                    self._write_field(f, x, buf, v, flex)
                    tagged.append((f.tag, bytes(buf)))
                continue
            self._write_field(f, x, out, v, flex)
        if flex:
            out += uvarint(len(tagged))
            for tag, buf in sorted(tagged):
                out += uvarint(tag) + uvarint(len(buf)) + buf

    def _write_field(self, f, x, out, v, flex):
        if f.is_array:
            if x is None:
                out += uvarint(0) if flex else struct.pack('>i', -1)
                return
            out += uvarint(len(x) + 1) if flex else struct.pack('>i', len(x))
            for item in x:
                self._write_one(f, item, out, v, flex, False)
            return
        self._write_one(f, x, out, v, flex, vin(f.nullable, v))

    def _write_one(self, f, x, out, v, flex, nullable):
        e = f.elem
        if f.is_struct:
            if nullable:
                out += struct.pack('>b', -1 if x is None else 1)
                if x is None:
                    return
            self._write_struct(f.fields, x or {}, out, v, flex)
            return
        if e in FIXED:
            out += struct.pack(FIXED[e], x)
            return
        if e == 'uuid':
            out += x
            return
        compact = flex and not f.flex_none
        if x is None:
            if not nullable:
                x = '' if e == 'string' else b''
            else:
                out += uvarint(0) if compact else struct.pack('>h' if e == 'string' else '>i', -1)
                return
        b = x.encode('utf-8', 'surrogateescape') if isinstance(x, str) else bytes(x)
        if compact:
            out += uvarint(len(b) + 1)
        else:
            out += struct.pack('>h' if e == 'string' else '>i', len(b))
        out += b

    # ---- dump: `path=value` lines, as test_golden --dump prints them ----

    def dump(self, name, version, value, prefix=''):
        m = self.msgs[name]
        lines = []
        self._dump_struct(m.fields, value, version, prefix, lines)
        return lines

    def _dump_struct(self, fields, value, v, prefix, lines):
        for f in fields:
            if not vin(f.versions, v):
                continue
            path = prefix + '.' + f.key if prefix else f.key
            x = value.get(f.key)
            if f.is_array:
                if x is None:
                    lines.append('%s=null' % path)
                    continue
                lines.append('%s.count=%d' % (path, len(x)))
                for i, item in enumerate(x):
                    self._dump_one(f, item, v, '%s[%d]' % (path, i), lines)
            else:
                self._dump_one(f, x, v, path, lines)
        for tag, data in value.get('?unknown_tags', []):
            lines.append('%s?tag%d=%s' % (prefix + '.' if prefix else '', tag, data.hex()))

    def _dump_one(self, f, x, v, path, lines):
        if f.is_struct:
            if x is None:
                lines.append('%s=null' % path)
            else:
                self._dump_struct(f.fields, x, v, path, lines)
            return
        lines.append('%s=%s' % (path, leaf_text(f.elem, x)))


def leaf_text(elem, x):
    if x is None:
        return 'null'
    if elem == 'bool':
        return 'true' if x else 'false'
    if elem == 'float64':
        return format(x, '.17g')
    if elem == 'uuid':
        return x.hex()
    if elem in ('bytes', 'records'):
        return '0x' + x.hex()
    if elem == 'string':
        b = x.encode('utf-8', 'surrogateescape')
        return ''.join(chr(c) if 0x20 <= c < 0x7f and c != 0x5c else '\\x%02x' % c for c in b)
    return str(x)


def uuid_text(b):
    return base64.urlsafe_b64encode(b).decode().rstrip('=')
