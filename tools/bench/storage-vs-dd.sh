#!/usr/bin/env bash
# Partition-log append throughput against dd on the same filesystem, in one go:
#   tools/bench/storage-vs-dd.sh [DIR] [BYTES]
# DIR defaults to ./quire-bench (created; its scratch files are removed afterwards), BYTES to
# 1G (K, M, G suffixes; powers of 1024). Runs
#   dd if=/dev/zero of=DIR/dd.out bs=1M count=N conv=fdatasync
# then build/tools/bench/storage-bench with 16 KiB and 1 MiB batches (1 KiB records, Quire's
# default flush policy: every append flushed by the group-commit thread), and prints a table
# of MB/s (10^6 bytes/s) with the ratio append/dd. Uses the release build in build/ (what
# tools/run builds); builds it when storage-bench is missing (meson setup build
# --buildtype=release -Dtests=false). Extra storage-bench options: STORAGE_BENCH_ARGS.
# The machine's load and page cache matter: run it more than once.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${1:-./quire-bench}"
size="${2:-1G}"

to_bytes() {
  local v="$1" n unit
  n="${v%%[KkMmGg]*}"
  unit="${v#"$n"}"
  unit="${unit%iB}"
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "bad size: $v" >&2; exit 2; }
  case "$unit" in
    '') echo "$n" ;;
    K | k) echo $((n * 1024)) ;;
    M | m) echo $((n * 1024 * 1024)) ;;
    G | g) echo $((n * 1024 * 1024 * 1024)) ;;
    *) echo "bad size: $v" >&2; exit 2 ;;
  esac
}

bytes="$(to_bytes "$size")"
count=$(((bytes + 1048575) / 1048576))
bench="$root/build/tools/bench/storage-bench"
if [[ ! -x "$bench" ]]; then
  if [[ ! -d "$root/build" ]]; then
    meson setup "$root/build" --buildtype=release -Dtests=false >&2
  fi
  ninja -C "$root/build" tools/bench/storage-bench >&2
fi
buildtype="$(meson introspect --buildoptions "$root/build" 2>/dev/null |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"))' ||
  echo unknown)"
[[ "$buildtype" == release ]] || echo "warning: $root/build is a '$buildtype' build, not release" >&2

mkdir -p "$dir"
fs="$(df -PT "$dir" | awk 'NR==2 {print $2 " on " $1 " (" $7 ")"}')"

# dd: its last stderr line is "<bytes> bytes (...) copied, <seconds> s, <rate>"
dd_log="$(dd if=/dev/zero of="$dir/dd.out" bs=1M count="$count" conv=fdatasync 2>&1)"
rm -f "$dir/dd.out"
dd_line="$(printf '%s\n' "$dd_log" | grep 'copied' | tail -1)"
dd_bytes="$(printf '%s\n' "$dd_line" | awk '{print $1}')"
dd_secs="$(printf '%s\n' "$dd_line" | sed -E 's/.*copied, ([0-9.,eE+-]+) s.*/\1/' | tr , .)"
dd_mbps="$(awk -v b="$dd_bytes" -v s="$dd_secs" 'BEGIN {printf "%.1f", b / 1e6 / s}')"

# shellcheck disable=SC2086  # STORAGE_BENCH_ARGS is a list of options
out="$("$bench" --dir "$dir" --bytes "$bytes" --batch-bytes 16K --batch-bytes 1M \
  ${STORAGE_BENCH_ARGS:-})"
printf '%s\n' "$out" >&2

field() { # field KEY LINE
  printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

echo
echo "filesystem: $fs; $count MiB; dd: $dd_line"
printf '%-22s %10s %12s %10s %12s %10s\n' "" "dd MB/s" "append MB/s" "append/dd" "read MB/s" "fdatasync"
while read -r line; do
  batch="$(field batch_max "$line")"
  actual="$(field batch_bytes "$line")"
  mbps="$(field mbps "$line")"
  syncs="$(field fdatasync "$line")"
  read_line="$(printf '%s\n' "$out" | grep "^RESULT read batch_bytes=$actual method=pread" | head -1)"
  read_mbps="$(field mbps "$read_line")"
  ratio="$(awk -v a="$mbps" -v d="$dd_mbps" 'BEGIN {printf "%.2f", a / d}')"
  label="$((batch / 1024)) KiB batches"
  printf '%-22s %10s %12s %10s %12s %10s\n' "$label" "$dd_mbps" "$mbps" "$ratio" "$read_mbps" "$syncs"
done < <(printf '%s\n' "$out" | grep '^RESULT append ')
