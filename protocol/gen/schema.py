"""Parser and validator for Quire's schema format (see protocol/schema/README.md).

The model: a Schema holds Messages; a Message has a version range, a flexible range and a root
Struct; a Struct has Fields; a Field has a type (a primitive, a struct or an array of either),
versions, nullable versions, a default, an optional tag with tagged versions, a map-key flag and a
per-field "no flexible form" flag.
"""
import re

PRIMITIVES = {
    # name: (C type, fixed wire size or None)
    'bool': ('bool', 1), 'int8': ('int8_t', 1), 'int16': ('int16_t', 2),
    'uint16': ('uint16_t', 2), 'int32': ('int32_t', 4), 'uint32': ('uint32_t', 4),
    'int64': ('int64_t', 8), 'float64': ('double', 8), 'uuid': ('struct wire_uuid', 16),
    'string': ('struct wire_str', None), 'bytes': ('struct wire_bytes', None),
    'records': ('struct wire_bytes', None),
}
INTEGERS = {'int8': (-2**7, 2**7 - 1), 'int16': (-2**15, 2**15 - 1), 'uint16': (0, 2**16 - 1),
            'int32': (-2**31, 2**31 - 1), 'uint32': (0, 2**32 - 1), 'int64': (-2**63, 2**63 - 1)}
NULLABLE_PRIMITIVES = {'string', 'bytes', 'records'}
VERSION_MAX = 0x7fff
ATTRIBUTES = {'null', 'default', 'tag', 'tagged', 'mapkey', 'flex'}


class SchemaError(Exception):
    pass


class Versions:
    """An inclusive version range; empty when lo > hi ("none")."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    @staticmethod
    def parse(text, where):
        m = re.fullmatch(r'(\d+)(\+|-(\d+))?|none', text)
        if not m:
            raise SchemaError('%s: bad version range %r' % (where, text))
        if text == 'none':
            return Versions(1, 0)
        lo = int(m.group(1))
        if m.group(2) is None:
            return Versions(lo, lo)
        hi = VERSION_MAX if m.group(2) == '+' else int(m.group(3))
        if hi < lo:
            raise SchemaError('%s: empty version range %r' % (where, text))
        return Versions(lo, hi)

    def empty(self):
        return self.lo > self.hi

    def contains(self, v):
        return self.lo <= v <= self.hi

    def covers(self, other):
        return other.empty() or (self.lo <= other.lo and other.hi <= self.hi)

    def intersect(self, other):
        return Versions(max(self.lo, other.lo), min(self.hi, other.hi))

    def __eq__(self, other):
        return (self.empty() and other.empty()) or (self.lo, self.hi) == (other.lo, other.hi)

    def __str__(self):
        if self.empty():
            return 'none'
        return '%d+' % self.lo if self.hi == VERSION_MAX else '%d-%d' % (self.lo, self.hi)


class Field:
    def __init__(self, name, type_text, versions, where):
        self.name, self.where = name, where
        self.is_array = type_text.startswith('[]')
        self.elem = type_text[2:] if self.is_array else type_text
        self.versions = versions
        self.nullable = Versions(1, 0)
        self.default = None
        self.tag = None
        self.tagged = None
        self.mapkey = False
        self.flex_never = False
        self.struct = None  # the Struct of a struct-typed field or array, once resolved
        self.children = []  # inline struct fields

    @property
    def is_struct(self):
        return self.elem not in PRIMITIVES


class Struct:
    def __init__(self, name, fields, where):
        self.name, self.fields, self.where = name, fields, where
        self.used_tagged = False  # needs an is_default function


class Message:
    def __init__(self, name, versions, flexible, where):
        self.name, self.versions, self.flexible, self.where = name, versions, flexible, where
        self.api_key = None
        self.api_name = None
        self.unstable_latest = False
        self.family = None       # a `record`: its family (metadata, control, group, ...)
        self.record_key = None   # ... its type id within the family
        self.role = None         # ... 'key' or 'value' in a coordinator family, else None
        self.root = Struct(name, [], where)
        self.common = {}   # name -> Struct
        self.structs = []  # every struct in definition order (children before parents)


class Api:
    def __init__(self, name, key, versions, flexible, unstable_latest):
        self.name, self.key, self.versions, self.flexible = name, key, versions, flexible
        self.unstable_latest = unstable_latest
        self.request = self.response = None


def _tokens(line):
    # Splits on spaces, keeping double-quoted strings (defaults) whole.
    return re.findall(r'(?:[^\s"]|"[^"]*")+', line)


def _header_attrs(tokens, where, allowed):
    attrs = {}
    for tok in tokens:
        k, eq, v = tok.partition('=')
        if k not in allowed:
            raise SchemaError('%s: unknown attribute %r' % (where, tok))
        attrs[k] = v if eq else True
    return attrs


def _parse_field(tokens, where):
    if len(tokens) < 3:
        raise SchemaError('%s: a field needs a name, a type and versions' % where)
    name, type_text, ver = tokens[:3]
    if not re.fullmatch(r'[A-Za-z][A-Za-z0-9]*', name):
        raise SchemaError('%s: bad field name %r' % (where, name))
    if not re.fullmatch(r'(\[\])?[A-Za-z][A-Za-z0-9]*', type_text):
        raise SchemaError('%s: bad type %r' % (where, type_text))
    f = Field(name, type_text, Versions.parse(ver, where), where)
    for tok in tokens[3:]:
        k, eq, v = tok.partition('=')
        if k not in ATTRIBUTES:
            raise SchemaError('%s: unknown attribute %r' % (where, tok))
        if k == 'null':
            f.nullable = Versions.parse(v, where)
        elif k == 'default':
            f.default = v
        elif k == 'tag':
            if not v.isdigit():
                raise SchemaError('%s: bad tag %r' % (where, v))
            f.tag = int(v)
        elif k == 'tagged':
            f.tagged = Versions.parse(v, where)
        elif k == 'mapkey':
            if eq:
                raise SchemaError('%s: mapkey takes no value' % where)
            f.mapkey = True
        elif k == 'flex':
            if v != 'none':
                raise SchemaError('%s: flex can only be none' % where)
            f.flex_never = True
    if f.tag is not None and f.tagged is None:
        f.tagged = f.versions
    if f.tagged is not None and f.tag is None:
        raise SchemaError('%s: tagged versions without a tag' % where)
    return f


def parse(text, filename):
    """Returns a list of Api and bare Message objects (headers, records) found in text."""
    items = []
    api = None
    msg = None       # message being filled
    stack = []       # (indent, list of fields) for nesting
    for lineno, raw in enumerate(text.splitlines(), 1):
        where = '%s:%d' % (filename, lineno)
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        if '\t' in line:
            raise SchemaError('%s: tabs are not allowed' % where)
        indent = len(line) - len(line.lstrip(' '))
        tokens = _tokens(line)
        if indent == 0:
            head = tokens[0]
            if head == 'api':
                if len(tokens) < 2:
                    raise SchemaError('%s: api needs a name' % where)
                a = _header_attrs(tokens[2:], where, {'key', 'versions', 'flexible', 'unstable-latest'})
                for k in ('key', 'versions', 'flexible'):
                    if k not in a:
                        raise SchemaError('%s: api needs %s=' % (where, k))
                api = Api(tokens[1], int(a['key']), Versions.parse(a['versions'], where),
                          Versions.parse(a['flexible'], where), 'unstable-latest' in a)
                items.append(api)
                msg = None
            elif head in ('request', 'response'):
                if api is None or len(tokens) != 1:
                    raise SchemaError('%s: %s belongs under an api line' % (where, head))
                if getattr(api, head) is not None:
                    raise SchemaError('%s: second %s section' % (where, head))
                msg = Message(api.name + head.capitalize(), api.versions, api.flexible, where)
                msg.api_key, msg.api_name, msg.unstable_latest = api.key, api.name, api.unstable_latest
                setattr(api, head, msg)
            elif head == 'message':
                a = _header_attrs(tokens[2:], where, {'versions', 'flexible'})
                if len(tokens) < 2 or 'versions' not in a or 'flexible' not in a:
                    raise SchemaError('%s: message needs a name, versions= and flexible=' % where)
                msg = Message(tokens[1], Versions.parse(a['versions'], where),
                              Versions.parse(a['flexible'], where), where)
                items.append(msg)
                api = None
            elif head == 'record':
                a = _header_attrs(tokens[2:], where, {'family', 'key', 'role', 'versions', 'flexible'})
                if len(tokens) < 2 or any(k not in a for k in ('family', 'key', 'versions', 'flexible')):
                    raise SchemaError('%s: record needs a name, family=, key=, versions= and flexible='
                                      % where)
                if not re.fullmatch(r'[a-z][a-z0-9]*', a['family']):
                    raise SchemaError('%s: bad record family %r' % (where, a['family']))
                if not re.fullmatch(r'\d+', a['key']) or int(a['key']) > VERSION_MAX:
                    raise SchemaError('%s: bad record key %r' % (where, a['key']))
                if a.get('role') not in (None, 'key', 'value'):
                    raise SchemaError('%s: role is key or value, not %r' % (where, a['role']))
                msg = Message(tokens[1], Versions.parse(a['versions'], where),
                              Versions.parse(a['flexible'], where), where)
                msg.family, msg.record_key, msg.role = a['family'], int(a['key']), a.get('role')
                items.append(msg)
                api = None
            elif head == 'struct':
                if msg is None or len(tokens) != 2:
                    raise SchemaError('%s: struct needs a name, inside a message' % where)
                if tokens[1] in msg.common:
                    raise SchemaError('%s: struct %s defined twice' % (where, tokens[1]))
                s = Struct(tokens[1], [], where)
                msg.common[tokens[1]] = s
                stack = [(0, s.fields)]
                continue
            else:
                raise SchemaError('%s: unknown line %r' % (where, head))
            if msg is not None:
                stack = [(0, msg.root.fields)]
            continue
        if msg is None or not stack:
            raise SchemaError('%s: field outside a message' % where)
        if indent % 2:
            raise SchemaError('%s: indentation must be a multiple of two' % where)
        depth = indent // 2
        if depth > len(stack):
            raise SchemaError('%s: unexpected indentation' % where)
        del stack[depth:]
        field = _parse_field(tokens, where)
        stack[-1][1].append(field)
        stack.append((indent, field.children))
    for it in items:
        if isinstance(it, Api) and (it.request is None or it.response is None):
            raise SchemaError('%s: api %s needs a request and a response' % (filename, it.name))
    return items


def _check_default(f, where):
    d = f.default
    if d is None:
        return
    if d == 'null':
        if f.nullable.empty():
            raise SchemaError('%s: default null on a field that is never nullable' % where)
        return
    if f.is_array or f.is_struct:
        raise SchemaError('%s: arrays and structs take only default=null' % where)
    if f.elem in INTEGERS:
        try:
            v = int(d, 0)
        except ValueError:
            raise SchemaError('%s: bad integer default %r' % (where, d)) from None
        lo, hi = INTEGERS[f.elem]
        if not lo <= v <= hi:
            raise SchemaError('%s: default %s out of range for %s' % (where, d, f.elem))
    elif f.elem == 'bool':
        if d not in ('true', 'false'):
            raise SchemaError('%s: bad bool default %r' % (where, d))
    elif f.elem == 'float64':
        try:
            float(d)
        except ValueError:
            raise SchemaError('%s: bad float default %r' % (where, d)) from None
    elif f.elem == 'string':
        if not (len(d) >= 2 and d[0] == '"' and d[-1] == '"' and '\\' not in d):
            raise SchemaError('%s: string defaults are double-quoted' % where)
    else:
        raise SchemaError('%s: %s takes no default but null' % (where, f.elem))


def resolve(msg):
    """Links struct types, then validates msg; fills msg.structs in dependency order."""
    seen_names = {}

    def visit(struct, path):
        # A field of versions the message no longer has never reaches the wire: leave it out.
        struct.fields[:] = [f for f in struct.fields if not f.versions.intersect(msg.versions).empty()]
        names = set()
        tags = []
        for f in struct.fields:
            where = f.where
            if f.name in names:
                raise SchemaError('%s: field %s appears twice in %s' % (where, f.name, struct.name))
            names.add(f.name)
            if f.versions.empty():
                raise SchemaError('%s: field %s has no versions' % (where, f.name))
            if not f.nullable.empty() and not f.is_array and not f.is_struct and \
                    f.elem not in NULLABLE_PRIMITIVES:
                raise SchemaError('%s: %s cannot be nullable' % (where, f.elem))
            if f.flex_never and (f.elem != 'string' or f.is_array):
                raise SchemaError('%s: flex=none applies to strings only' % where)
            if f.mapkey and (struct is msg.root or f.is_array or f.is_struct):
                raise SchemaError('%s: mapkey marks a scalar field of an array element' % where)
            if f.tag is not None:
                if not msg.flexible.covers(f.tagged.intersect(msg.versions)):
                    raise SchemaError('%s: tagged field %s outside the flexible versions' % (where, f.name))
                if not f.versions.covers(f.tagged):
                    raise SchemaError('%s: tagged versions of %s outside its versions' % (where, f.name))
                if f.tagged != f.versions:
                    raise SchemaError('%s: %s must be tagged in all of its versions' % (where, f.name))
                tags.append(f.tag)
            _check_default(f, where)
            if f.is_struct:
                if f.children:
                    if f.elem in msg.common or f.elem in seen_names:
                        raise SchemaError('%s: struct %s defined twice' % (where, f.elem))
                    f.struct = Struct(f.elem, f.children, where)
                    seen_names[f.elem] = f.struct
                    visit(f.struct, path + [f.elem])
                elif f.elem in msg.common:
                    f.struct = msg.common[f.elem]
                    if f.elem not in seen_names:
                        seen_names[f.elem] = f.struct
                        if f.elem in path:
                            raise SchemaError('%s: struct %s contains itself' % (where, f.elem))
                        visit(f.struct, path + [f.elem])
                else:
                    raise SchemaError('%s: unknown type %s' % (where, f.elem))
                if f.tag is not None and not f.is_array and f.nullable.empty():
                    # a nullable one is at its default when null: no is_default needed
                    f.struct.used_tagged = True
            elif f.children:
                raise SchemaError('%s: %s is not a struct but has fields' % (where, f.elem))
        if sorted(tags) != list(range(len(tags))):
            raise SchemaError('%s: tags of %s must be unique and contiguous from 0, got %s' %
                              (struct.where, struct.name, sorted(tags)))
        msg.structs.append(struct)

    if msg.versions.empty():
        raise SchemaError('%s: %s has no versions' % (msg.where, msg.name))
    visit(msg.root, [msg.name])
    unused = set(msg.common) - set(seen_names)
    if unused:
        raise SchemaError('%s: unused struct(s) %s' % (msg.where, ', '.join(sorted(unused))))
