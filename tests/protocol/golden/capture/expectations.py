#!/usr/bin/env python3
"""Writes ../expected.txt from the captured frames: for every frame, the fields whose values the
capture drivers set on purpose (names starting golden-, User:golden, the configs they set, the
partition counts they asked for), as decoded by kafkaspec.py from Kafka's JSON specifications
-- not by Quire's codec, which test_golden then checks against them. Frames whose version
Quire's codec lacks are listed as `unsupported`; frames with bytes after the body get trailing=N.

    expectations.py [--specs DIR]
Review the diff of expected.txt after re-capturing.
"""
import argparse
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from capture_broker import schema_ranges  # noqa: E402
from kafkaspec import Specs, vin  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
golden = os.path.dirname(here)
repo = os.path.abspath(os.path.join(golden, '../../..'))
ap = argparse.ArgumentParser()
ap.add_argument('--specs', default=os.path.join(repo, '../shared/kafka-4.3-protocol/messages'))
args = ap.parse_args()
specs = Specs(args.specs)
ranges = {k: (lo, hi) for k, (_, lo, hi) in schema_ranges(os.path.join(repo, 'protocol/schema')).items()}

DELIBERATE_VALUE = re.compile(r'^(golden.*|User:golden|retention\.ms|3600000|cleanup\.policy|compact|PLAIN)$')
DELIBERATE_PATH = re.compile(r'(^header\.request_api_(key|version)$|num_partitions$|^topics\[\d+\]\.count$|'
                             r'^transactional_id$|producer_epoch$|acks$|isolation_level$)')

out = ['# Golden frame expectations: `client/Api-vN.bin path=value...` (see ../README.md).',
       '# Written by capture/expectations.py from an independent decoder (capture/kafkaspec.py).']
for client in sorted(os.listdir(golden)):
    d = os.path.join(golden, client)
    if client == 'capture' or not os.path.isdir(d):
        continue
    for fn in sorted(os.listdir(d)):
        data = open(os.path.join(d, fn), 'rb').read()
        key, version = struct.unpack('>hh', data[:4])
        rel = '%s/%s' % (client, fn)
        lo, hi = ranges.get(key, (0, -1))
        api = specs.api_name(key)
        if not lo <= version <= hi + 1:  # hi + 1: an unstable newest version is in the codec
            out.append('%s unsupported' % rel)
            continue
        flex = vin(specs.msgs[api + 'Request'].flexible, version)
        hdr, n = specs.decode('RequestHeader', 2 if flex else 1, data)
        body, m = specs.decode(api + 'Request', version, data[n:])
        lines = specs.dump('RequestHeader', 2 if flex else 1, hdr, 'header')
        lines += specs.dump(api + 'Request', version, body)
        picked = [ln for ln in lines if DELIBERATE_VALUE.match(ln.split('=', 1)[1])
                  or DELIBERATE_PATH.search(ln.split('=', 1)[0])]
        if n + m != len(data):
            picked.append('trailing=%d' % (len(data) - n - m))
        # One line per frame, wrapped at about 100 columns.
        line = rel
        for p in picked:
            if len(line) + 1 + len(p) > 100 and line != rel:
                out.append(line)
                line = rel
            line += ' ' + p
        out.append(line)
with open(os.path.join(golden, 'expected.txt'), 'w') as f:
    f.write('\n'.join(out) + '\n')
print('wrote %s' % os.path.join(golden, 'expected.txt'))
