#!/bin/sh
# The quire binary's command line: usage: test_cli.sh PATH_TO_QUIRE VERSION
set -u
quire=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
version=$2
tmp=$(mktemp -d /tmp/quire-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp" || exit 1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

out=$("$quire" --version) || fail "--version exited non-zero"
[ "$out" = "quire $version" ] || fail "--version printed '$out', expected 'quire $version'"

"$quire" --help >help.out 2>&1 || fail "--help exited non-zero"
grep -q 'Usage: quire' help.out || fail "--help printed no usage"

if "$quire" --override node.id=abc >bad.out 2>&1; then
  fail "--override node.id=abc exited 0"
fi
grep -q 'node.id' bad.out || fail "bad node.id message does not name the key: $(cat bad.out)"
grep -q 'abc' bad.out || fail "bad node.id message does not name the value: $(cat bad.out)"
[ ! -e quire-data ] || fail "a bad configuration still created the data dir"

if "$quire" --bogus >/dev/null 2>&1; then fail "an unknown option exited 0"; fi

cid=$("$quire" format --override "log.dirs=$tmp/data" 2>format.err) || fail "format failed: $(cat format.err)"
[ ${#cid} -eq 22 ] || fail "format printed '$cid', expected a 22-character cluster id"
grep -q "^cluster.id=$cid\$" "$tmp/data/meta.properties" || fail "meta.properties lacks cluster.id=$cid"
again=$("$quire" format --override "log.dirs=$tmp/data" 2>/dev/null) || fail "second format failed"
[ "$again" = "$cid" ] || fail "second format printed '$again', expected '$cid'"
if "$quire" format --override "log.dirs=$tmp/data" --override node.id=7 >node.out 2>&1; then
  fail "format with another node.id exited 0"
fi
grep -q 'node.id=7' node.out || fail "node.id mismatch message: $(cat node.out)"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all cli checks passed"
