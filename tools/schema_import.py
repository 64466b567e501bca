#!/usr/bin/env python3
"""Writes Quire schema files (protocol/schema/*.schema) from Kafka's JSON message specifications.

Only the facts are carried over: names, types, version ranges, nullability, defaults, tags and map
keys. Prose ("about"), entity types and "ignorable" are dropped. Used once per Kafka release to
bring the schemas up to date; the generated schema files are what the build reads.

    tools/schema_import.py ../shared/kafka-4.3-protocol/messages protocol/schema Metadata Fetch ...
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


def default_text(field):
    d = field['default']
    t = field['type']
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
    parts = [field['name'], field['type'], field['versions']]
    if 'nullableVersions' in field:
        parts.append('null=' + field['nullableVersions'])
    if 'default' in field:
        parts.append('default=' + default_text(field))
    if 'tag' in field:
        parts.append('tag=%d' % field['tag'])
        if field.get('taggedVersions', field['versions']) != field['versions']:
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


def main():
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
