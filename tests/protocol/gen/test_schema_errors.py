"""The generator refuses schemas that break the format's rules, with a message naming the problem,
and accepts the project's own schemas. Run: test_schema_errors.py CGEN SCHEMA..."""
import os
import subprocess
import sys
import tempfile

BAD = {
    'must be unique and contiguous': '''message M versions=0-1 flexible=0+
  A int32 0+ tag=0
  B int32 0+ tag=2
''',
    'outside the flexible versions': '''message M versions=0-3 flexible=2+
  A int32 1+ tag=0
''',
    'unknown attribute': '''message M versions=0 flexible=none
  A int32 0+ colour=blue
''',
    'unknown type': '''message M versions=0 flexible=none
  A Missing 0+
''',
    'appears twice': '''message M versions=0 flexible=none
  A int32 0+
  A int64 0+
''',
    'out of range': '''message M versions=0 flexible=none
  A int8 0+ default=300
''',
    'cannot be nullable': '''message M versions=0 flexible=none
  A int32 0+ null=0+
''',
    'tabs are not allowed': 'message M versions=0 flexible=none\n\tA int32 0+\n',
    'empty version range': '''message M versions=0 flexible=none
  A int32 3-1
''',
    'bad version range': '''message M versions=0 flexible=none
  A int32 v3
''',
    'default null on a field that is never nullable': '''message M versions=0 flexible=none
  A string 0+ default=null
''',
    'unused struct': '''message M versions=0 flexible=none
  A int32 0+
struct Lonely
  B int32 0+
''',
    'api key 9 also used': '''api One key=9 versions=0 flexible=none
request
  A int32 0+
response
  B int32 0+
api Two key=9 versions=0 flexible=none
request
  A int32 0+
response
  B int32 0+
''',
    'needs a request and a response': '''api One key=9 versions=0 flexible=none
request
  A int32 0+
''',
    'mapkey marks a scalar field of an array element': '''message M versions=0 flexible=none
  A int32 0+ mapkey
''',
    'unexpected indentation': '''message M versions=0 flexible=none
  A int32 0+
      B int32 0+
''',
    'record needs a name, family=': '''record R key=1 versions=0 flexible=0+
  A int32 0+
''',
    'record key 3 of family meta also used by R': '''record R family=meta key=3 versions=0 flexible=0+
  A int32 0+
record S family=meta key=3 versions=0 flexible=0+
  B int32 0+
''',
    'role is key or value': '''record R family=coord key=0 role=both versions=0 flexible=none
  A int32 0+
''',
    'has no value record of key 4': '''record RKey family=coord key=4 role=key versions=0 flexible=none
  A int32 0+
''',
    'mixes records with and without role=': '''record RKey family=coord key=1 role=key versions=0 flexible=none
  A int32 0+
record S family=coord key=2 versions=0 flexible=none
  B int32 0+
''',
    'bad record family': '''record R family=Meta key=1 versions=0 flexible=none
  A int32 0+
''',
}


def run(cgen, paths):
    return subprocess.run([sys.executable, cgen, '--check', '--out', '/nonexistent'] + paths,
                          capture_output=True, text=True)


def main():
    cgen, schemas = sys.argv[1], sys.argv[2:]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (expect, text) in enumerate(BAD.items()):
            path = os.path.join(tmp, 'bad%d.schema' % i)
            with open(path, 'w') as f:
                f.write(text)
            res = run(cgen, [path])
            if res.returncode == 0 or expect not in res.stderr:
                print('FAIL: expected an error containing %r, got exit %d: %s' %
                      (expect, res.returncode, res.stderr.strip()))
                failures += 1
            else:
                print('ok: refused (%s)' % res.stderr.strip())
    res = run(cgen, schemas)
    if res.returncode != 0:
        print('FAIL: the project schemas do not validate: %s' % res.stderr)
        failures += 1
    else:
        print('ok: %d project schema files validate' % len(schemas))
    print('%d failures' % failures)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
