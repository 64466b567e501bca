#!/usr/bin/env python3
"""Writes Quire schema files (protocol/schema/*.schema) from Kafka's JSON message specifications.

Only the facts are carried over: names, types, version ranges, nullability, defaults, tags and map
keys. Prose ("about"), entity types and "ignorable" are dropped. Used once per Kafka release to
bring the schemas up to date; the generated schema files are what the build reads.

    tools/schema_import.py ../shared/kafka-4.3-protocol/messages protocol/schema Metadata Fetch ...

With --records, writes one schema file of log records (the `record` lines of
protocol/schema/README.md) from every JSON spec named, or from every spec in the directories named:

    tools/schema_import.py --records FAMILY OUT.schema SPEC.json|DIR...

A spec of type "metadata" becomes `record Name family=FAMILY key=apiKey ...`, one of type
"coordinator-key" / "coordinator-value" the same with role=key / role=value. Specs of type "data"
have no apiKey: the raft control records take their control record type (Kafka's
ControlRecordType) from CONTROL_RECORD_TYPES; any other becomes a plain `message`.
"""
import json
import os
import re
import sys


def load(path):
    with open(path) as f:
        text = re.sub(r'^\s*//.*$', '', f.read(), flags=re.M)
    return json.loads(text)


def snake(name):
    s = re.sub(r'([a-z0-9])([A-Z])', r'\1_\2', name)
    s = re.sub(r'([A-Z]+)([A-Z][a-z])', r'\1_\2', s)
    return s.lower()


# Kafka's ControlRecordType ids of the raft control records (the value of a control record is the
# message itself; ABORT 0 and COMMIT 1 carry a version-prefixed EndTxnMarker).
CONTROL_RECORD_TYPES = {
    'LeaderChangeMessage': 2,
    'SnapshotHeaderRecord': 3,
    'SnapshotFooterRecord': 4,
    'KRaftVersionRecord': 5,
    'VotersRecord': 6,
}


def default_text(field):
    d = field['default']
    t = field['type']
    if d is None:
        return 'null'
    if isinstance(d, bool):
        return 'true' if d else 'false'
    d = str(d)
    if d == 'null':
        return 'null'
    if t == 'bool':
        return d.lower()
    if t in ('int8', 'int16', 'uint16', 'int32', 'uint32', 'int64'):
        return str(int(d, 0))
    if t == 'string':
        return '"' + d + '"'
    return d


def field_line(field, indent):
    # A tagged field may give only its tagged versions: they are then its versions too.
    versions = field.get('versions', field.get('taggedVersions'))
    parts = [field['name'], field['type'], versions]
    if 'nullableVersions' in field:
        parts.append('null=' + field['nullableVersions'])
    if 'default' in field:
        parts.append('default=' + default_text(field))
    if 'tag' in field:
        parts.append('tag=%d' % field['tag'])
        if field.get('taggedVersions', versions) != versions:
            parts.append('tagged=' + field['taggedVersions'])
    if field.get('mapKey'):
        parts.append('mapkey')
    if field.get('flexibleVersions') == 'none':
        parts.append('flex=none')
    out = [' ' * indent + ' '.join(parts)]
    for child in field.get('fields', []):
        out.extend(field_line(child, indent + 2))
    return out


def message_body(spec):
    lines = []
    for field in spec['fields']:
        lines.extend(field_line(field, 2))
    for cs in spec.get('commonStructs', []):
        lines.append('struct ' + cs['name'])
        for field in cs['fields']:
            lines.extend(field_line(field, 2))
    return lines


def record_head(spec, family):
    kind = spec['type']
    name = spec['name']
    vers = 'versions=%s flexible=%s' % (spec['validVersions'], spec.get('flexibleVersions', 'none'))
    if kind == 'metadata':
        return 'record %s family=%s key=%d %s' % (name, family, spec['apiKey'], vers)
    if kind in ('coordinator-key', 'coordinator-value'):
        return 'record %s family=%s key=%d role=%s %s' % (
            name, family, spec['apiKey'], kind.split('-')[1], vers)
    if kind == 'data' and name in CONTROL_RECORD_TYPES:
        return 'record %s family=%s key=%d %s' % (name, family, CONTROL_RECORD_TYPES[name], vers)
    if kind == 'data':
        return 'message %s %s' % (name, vers)
    raise SystemExit('%s: cannot import a spec of type %r as a record' % (name, kind))


def main_records(family, dst, sources):
    paths = []
    for src in sources:
        if os.path.isdir(src):
            paths.extend(os.path.join(src, n) for n in sorted(os.listdir(src)) if n.endswith('.json'))
        else:
            paths.append(src)
    specs = [load(p) for p in paths]

    def order(spec):
        # by type id, a key before its value; plain messages last
        head = record_head(spec, family)
        key = spec.get('apiKey', CONTROL_RECORD_TYPES.get(spec['name'], 1 << 16))
        return (head.startswith('message'), key, spec['type'] != 'coordinator-key', spec['name'])

    out = ['# Imported by tools/schema_import.py --records %s.' % family]
    for spec in sorted(specs, key=order):
        out.append(record_head(spec, family))
        out.extend(message_body(spec))
    with open(dst, 'w') as f:
        f.write('\n'.join(out) + '\n')


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--records':
        if len(sys.argv) < 5:
            raise SystemExit('usage: schema_import.py --records FAMILY OUT.schema SPEC.json|DIR...')
        main_records(sys.argv[2], sys.argv[3], sys.argv[4:])
        return
    src, dst, apis = sys.argv[1], sys.argv[2], sys.argv[3:]
    for api in apis:
        if api == 'Header':
            out = ['# Request and response headers.']
            for name in ('RequestHeader', 'ResponseHeader'):
                spec = load(os.path.join(src, name + '.json'))
                out.append('message %s versions=%s flexible=%s' %
                           (name, spec['validVersions'], spec['flexibleVersions']))
                out.extend(message_body(spec))
            path = os.path.join(dst, 'header.schema')
        else:
            req = load(os.path.join(src, api + 'Request.json'))
            resp = load(os.path.join(src, api + 'Response.json'))
            assert req['validVersions'] == resp['validVersions']
            assert req.get('flexibleVersions') == resp.get('flexibleVersions')
            head = 'api %s key=%d versions=%s flexible=%s' % (
                api, req['apiKey'], req['validVersions'], req.get('flexibleVersions', 'none'))
            if req.get('latestVersionUnstable') or resp.get('latestVersionUnstable'):
                head += ' unstable-latest'
            out = [head, 'request'] + message_body(req) + ['response'] + message_body(resp)
            path = os.path.join(dst, snake(api) + '.schema')
        with open(path, 'w') as f:
            f.write('\n'.join(out) + '\n')


if __name__ == '__main__':
    main()
