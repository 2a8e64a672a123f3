#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fuzz.sh -- build the libFuzzer targets of tests/fuzz with clang (ASan +
# UBSan, library coverage-instrumented) in build-fuzz/ and run each for a
# bounded time. Fails on any crash, leak, timeout or sanitizer report; the
# input that caused it is left in build-fuzz/artifacts/<target>/ (add it
# to tests/fuzz/corpus/<target>/ once fixed: it then replays in ctest).
# The corpus grows in build-fuzz/corpus/<target>/ from the checked-in seeds.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build-fuzz
secs=60
jobs=2
build_only=0
targets=()

usage() {
  cat <<USAGE
usage: $0 [--time SECONDS] [--jobs N] [--build-only] [TARGET...]
  --time SECONDS  how long each target runs (default 60)
  --jobs N        build parallelism (default 2)
  --build-only    build the targets, run nothing
  TARGET          fuzz_open, fuzz_srdctl_args, ... (default: every target)
To fuzz one target longer by hand, e.g. for an hour:
  build-fuzz/tests/fuzz/fuzz_open -max_total_time=3600 \\
      build-fuzz/corpus/fuzz_open tests/fuzz/corpus/fuzz_open
USAGE
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --time)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --time needs seconds" >&2; exit 2; }
      secs=$2; shift 2 ;;
    --jobs)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --jobs needs a number" >&2; exit 2; }
      jobs=$2; shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "fuzz.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

command -v clang >/dev/null || { echo "fuzz.sh: clang not found (scripts/install-deps.sh)" >&2; exit 1; }
if [[ ${#targets[@]} -eq 0 ]]; then
  for src in "$root"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    [[ $name == fuzz_util ]] || targets+=("$name")
  done
fi

echo "== configure $build (clang, libFuzzer, ASan+UBSan)"
mkdir -p "$build"
CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_FLAGS="-O1 -gline-tables-only" -DSRD_FUZZ=ON \
  -DSRD_SANITIZE=fuzzer-no-link,address,undefined >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 1; }
echo "== build ${targets[*]}"
cmake --build "$build" -j"$jobs" --target "${targets[@]}"
[[ $build_only -eq 1 ]] && exit 0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
total_execs=0
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/$t
  seeds=$root/tests/fuzz/corpus/$t
  work=$build/corpus/$t
  arts=$build/artifacts/$t
  mkdir -p "$work" "$arts"
  flags=(-max_total_time="$secs" -timeout=20 -rss_limit_mb=4096
         -print_final_stats=1 -artifact_prefix="$arts/")
  [[ -f $root/tests/fuzz/$t.dict ]] && flags+=(-dict="$root/tests/fuzz/$t.dict")
  # srdctl prints on stdout and stderr; libFuzzer keeps its own reports.
  [[ $t == fuzz_srdctl_args ]] && flags+=(-close_fd_mask=3)
  # Recovery work grows with the file; small inputs keep executions fast
  # (the golden seeds are cut to this length, which makes torn variants).
  [[ $t == fuzz_open ]] && flags+=(-max_len=1024)
  log=$build/$t.log
  echo "== $t: ${secs} s (log $log)"
  rc=0
  "$bin" "${flags[@]}" "$work" "$seeds" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  execs=${execs:-0}
  total_execs=$((total_execs + execs))
  # A slow unit (over 10 s, libFuzzer's report) that did not reach
  # -timeout is the shared machine stalling, not a hang: a hang ends the
  # run non-zero with a timeout- artifact. Reported, not failed.
  for slow in "$arts"/slow-unit-*; do
    [[ -e $slow ]] && echo "note $t: slow unit $slow (under -timeout)" >&2
  done
  if [[ $rc -ne 0 ]] || ls "$arts" | grep -v '^slow-unit-' | grep -q .; then
    echo "FAIL $t: exit $rc, artifacts in $arts" >&2
    grep -E 'ERROR|SUMMARY|invariant broken|runtime error' "$log" | head -20 >&2 || true
    failed=$((failed + 1))
  else
    echo "ok   $t: $execs executions, corpus $(ls "$work" | wc -l) files"
  fi
done
echo "fuzz: ${#targets[@]} targets, $total_execs executions, $failed failed"
[[ $failed -eq 0 ]]
