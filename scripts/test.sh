#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test.sh -- build srd and run every test suite with ctest.
# Installs the dependencies, configures a Debug build (build/, or
# build-asan/ / build-tsan/ with --sanitize), builds with -j2, runs ctest
# and ends with one plain line "N passed, N failed". Exits non-zero when
# the build fails, a test fails, or no test ran.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<USAGE
usage: $0 [--sanitize LIST] [--no-deps] [--jobs N] [-- CTEST-ARGS...]
  --sanitize LIST  build with -DSRD_SANITIZE=LIST (address,undefined or
                   thread) in build-asan/ or build-tsan/ and test there
  --no-deps        do not run scripts/install-deps.sh first
  --jobs N         build parallelism (default 2)
  -- ARGS          passed to ctest, e.g. -- -R check_format
USAGE
}

sanitize=""
deps=1
jobs=2
ctest_extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sanitize)
      [[ $# -ge 2 && -n "$2" ]] || { echo "test.sh: --sanitize needs a list" >&2; exit 2; }
      sanitize=$2; shift 2 ;;
    --sanitize=*) sanitize=${1#*=}; shift ;;
    --no-deps) deps=0; shift ;;
    --jobs)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "test.sh: --jobs needs a number" >&2; exit 2; }
      jobs=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; ctest_extra=("$@"); break ;;
    *) echo "test.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

case "$sanitize" in
  "") build="$root/build" ;;
  *address*) build="$root/build-asan" ;;
  *thread*) build="$root/build-tsan" ;;
  *) build="$root/build-san-${sanitize//[^a-z0-9]/-}" ;;
esac

if [[ $deps -eq 1 ]]; then
  "$root/scripts/install-deps.sh"
fi

# Sanitizer reports must fail the run and say where.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan-nng.supp}
# Sanitized builds run 3x (ASan) to 6x (TSan) slower: scale every Check
# timeout (tcase_set_timeout and the default) accordingly.
case "$sanitize" in
  *thread*) export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-6} ;;
  ?*) export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-3} ;;
esac
# Known NNG 1.5.2 shutdown leaks only (each rule explained in the file).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan-nng.supp}

echo "== configure ($build, Debug${sanitize:+, SRD_SANITIZE=$sanitize})"
if ! cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
     -DSRD_SANITIZE="$sanitize"; then
  echo "test.sh: cmake configure failed" >&2
  exit 1
fi

echo "== build (-j$jobs)"
if ! cmake --build "$build" -j"$jobs"; then
  echo "test.sh: build failed" >&2
  exit 1
fi

echo "== test"
junit="$build/ctest-junit.xml"
log="$build/ctest.log"
rm -f "$junit"
set +e
(cd "$build" && ctest --output-on-failure --output-junit "$junit" \
   ${ctest_extra[@]+"${ctest_extra[@]}"}) 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

# Count from the JUnit report; fall back to ctest's own summary line.
total="" failed="" skipped=0
if [[ -s "$junit" ]]; then
  # The <testsuite ...> tag spans several lines: join them first.
  suite=$(tr '\n\t' '  ' <"$junit" | grep -o '<testsuite [^>]*>' | head -n1 || true)
  attr() { sed -n "s/.*[[:space:]]$1=\"\\([0-9]*\\)\".*/\\1/p" <<<"$suite"; }
  total=$(attr tests)
  failed=$(attr failures)
  s=$(attr skipped) d=$(attr disabled)
  skipped=$(( ${s:-0} + ${d:-0} ))
fi
if [[ -z "$total" || -z "$failed" ]]; then
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1 || true)
  if [[ "$line" =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    failed=${BASH_REMATCH[1]}
    total=${BASH_REMATCH[2]}
  else
    failed=0 total=0
  fi
fi
passed=$(( total - failed - skipped ))

if [[ $total -eq 0 ]]; then
  echo "test.sh: no test ran" >&2
  [[ $rc -ne 0 ]] || rc=1
fi
if [[ $failed -gt 0 && $rc -eq 0 ]]; then
  rc=1
fi
if [[ $skipped -gt 0 ]]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
exit "$rc"
