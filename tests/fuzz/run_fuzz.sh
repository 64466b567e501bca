#!/usr/bin/env bash
# One fuzz test (meson suite 'fuzz'):
#   run_fuzz.sh FUZZER SEEDGEN MODE WORKDIR GOLDEN_DIR MAX_LEN [libFuzzer option]...
# Writes fresh seeds (SEEDGEN MODE WORKDIR/seeds GOLDEN_DIR), then fuzzes with WORKDIR/corpus (kept
# between runs; new inputs go there) and the seeds for QUIRE_FUZZ_SECONDS seconds (default 60).
# Findings are written to WORKDIR/crashes/; the test fails when there is one (or the fuzzer fails).
set -uo pipefail
if (($# < 6)); then
  echo "usage: run_fuzz.sh FUZZER SEEDGEN MODE WORKDIR GOLDEN_DIR MAX_LEN [option]..." >&2
  exit 2
fi
fuzzer="$1" seedgen="$2" mode="$3" work="$4" golden="$5" max_len="$6"
shift 6
seconds="${QUIRE_FUZZ_SECONDS:-60}"

mkdir -p "$work/corpus" "$work/crashes" || exit 1
rm -rf "$work/seeds"
"$seedgen" "$mode" "$work/seeds" "$golden" || exit 1

# Leaks are findings; a slow input (10 s) is a finding too.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
before="$(find "$work/crashes" -type f | wc -l)"
"$fuzzer" "$work/corpus" "$work/seeds" -max_total_time="$seconds" -max_len="$max_len" \
  -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/crashes/" "$@"
rc=$?
after="$(find "$work/crashes" -type f | wc -l)"
if ((rc != 0 || after > before)); then
  echo "run_fuzz.sh: $(basename "$fuzzer") failed (exit $rc); findings in $work/crashes/:" >&2
  find "$work/crashes" -type f -newer "$work/seeds" -printf '  %p\n' >&2
  echo "replay one with: $fuzzer FILE" >&2
  exit 1
fi
echo "run_fuzz.sh: $(basename "$fuzzer"): $(find "$work/corpus" -type f | wc -l) corpus files, no findings"
