#!/usr/bin/env python3
"""Compares Quire's generated decoder with an independent one on every golden frame.

    crosscheck.py TEST_GOLDEN [GOLDEN_DIR] [--specs DIR]

Runs `TEST_GOLDEN --dump` (the generated codec and printer) and kafkaspec.py (Kafka's JSON
message specifications) on each frame and prints the lines where the two disagree. A schema
error in protocol/schema shows up as a difference; exit status 1 if any.
"""
import argparse
import difflib
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kafkaspec import Specs, DecodeError, vin  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument('test_golden')
ap.add_argument('golden', nargs='?', default=os.path.dirname(here))
ap.add_argument('--specs', default=os.path.join(here, '../../../../../shared/kafka-4.3-protocol/messages'))
args = ap.parse_args()
specs = Specs(args.specs)
bad = 0
for client in sorted(os.listdir(args.golden)):
    d = os.path.join(args.golden, client)
    if client == 'capture' or not os.path.isdir(d):
        continue
    for fn in sorted(os.listdir(d)):
        path = os.path.join(d, fn)
        data = open(path, 'rb').read()
        key, version = struct.unpack('>hh', data[:4])
        api = specs.api_name(key)
        flex = vin(specs.msgs[api + 'Request'].flexible, version)
        try:
            hdr, n = specs.decode('RequestHeader', 2 if flex else 1, data)
            body, m = specs.decode(api + 'Request', version, data[n:])
            theirs = specs.dump('RequestHeader', 2 if flex else 1, hdr, 'header')
            theirs += specs.dump(api + 'Request', version, body)
            if n + m != len(data):
                theirs.append('!left=%d' % (len(data) - n - m))
        except DecodeError as e:
            theirs = ['!kafkaspec: %s' % e]
        ours = subprocess.run([args.test_golden, '--dump', path], capture_output=True,
                              text=True).stdout.splitlines()
        if ours != theirs:
            bad += 1
            print('== %s/%s' % (client, fn))
            for line in difflib.unified_diff(theirs, ours, 'kafkaspec', 'quire', n=0, lineterm=''):
                if not line.startswith(('---', '+++', '@@')):
                    print('  ' + line)
print('%d frame(s) differ' % bad, file=sys.stderr)
sys.exit(1 if bad else 0)
