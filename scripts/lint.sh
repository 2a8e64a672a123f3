#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lint.sh -- static analysis of srd's own code: clang-tidy (configuration
# in .clang-tidy) and cppcheck over libclient/, tools/, daemon/ and
# python/ (the extension module; needs python3-dev), when present. Exits
# non-zero on any finding. A false positive is silenced where it occurs,
# with its reason: "// NOLINT(check): why" for clang-tidy,
# "// cppcheck-suppress id" plus a comment for cppcheck.
# Usage: scripts/lint.sh [--jobs N] [FILE...]   (default: every .c file)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build-lint
jobs=2
files=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --jobs)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "lint.sh: --jobs needs a number" >&2; exit 2; }
      jobs=$2; shift 2 ;;
    -h|--help) sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "lint.sh: unknown option '$1'" >&2; exit 2 ;;
    *) files+=("$1"); shift ;;
  esac
done

missing=()
command -v clang-tidy >/dev/null || missing+=(clang-tidy)
command -v cppcheck >/dev/null || missing+=(cppcheck)
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    # A fresh machine may have no package lists yet: update once and retry.
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
      { apt-get update >/dev/null &&
        apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
  else
    echo "lint.sh: install ${missing[*]} (apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

cd "$root"
if [[ ${#files[@]} -eq 0 ]]; then
  for dir in libclient tools daemon python; do
    [[ -d $dir ]] && files+=("$dir"/*.c)
  done
fi

# compile_commands.json for clang-tidy, and the generated protobuf headers
# that wire.c includes.
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" --target srd_proto >>"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 1; }

# python/*.c include Python.h. clang-tidy compiles them with the module's
# entry in compile_commands.json (the Python include directory CMake found,
# as python3-config --includes gives it); the entry exists only when
# python3-dev is installed. cppcheck cannot preprocess Debian's Python.h
# (its pyconfig.h needs the compiler's predefined macros and the system
# headers, which cppcheck leaves out), so it gets Python's API from its
# own python library configuration instead.
py_opts=()
if printf '%s\n' "${files[@]}" | grep -qE '(^|/)python/[^/]+\.c$'; then
  if ! grep -qE '"file": ".*/python/[^/"]+\.c"' "$build/compile_commands.json"; then
    echo "lint.sh: python/*.c need Python's headers (apt-get install python3-dev," \
      "or scripts/install-deps.sh)" >&2
    exit 1
  fi
  py_opts=(--library=python -I python)
fi

echo "== clang-tidy ($(clang-tidy --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -n1)), ${#files[@]} files"
tidy_log=$build/clang-tidy.log
printf '%s\n' "${files[@]}" |
  xargs -P "$jobs" -n 1 clang-tidy -p "$build" --quiet >"$tidy_log" 2>/dev/null || true
tidy=$(grep -cE '^[^ ].*:[0-9]+:[0-9]+: (warning|error):' "$tidy_log" || true)
grep -E -A3 '^[^ ].*:[0-9]+:[0-9]+: (warning|error):' "$tidy_log" || true

echo "== cppcheck ($(cppcheck --version))"
pbc=$(pkg-config --modversion libprotobuf-c 2>/dev/null || echo 1.4.1)
IFS=. read -r pa pb pc <<<"$pbc"
cpp_log=$build/cppcheck.log
cppcheck --std=c11 --enable=warning,performance,portability --inline-suppr \
  --quiet --suppress=missingIncludeSystem -D_GNU_SOURCE \
  -DPROTOBUF_C_VERSION_NUMBER=$((pa * 1000000 + pb * 1000 + ${pc:-0})) \
  -I libclient/include -I libclient -I tools -I daemon -I "$build/proto" \
  "${py_opts[@]}" "${files[@]}" 2>"$cpp_log" || true
# One finding per message; its "note:" lines (the path to it) do not count.
cpp=$(grep -E '^[^ ].*:[0-9]+:[0-9]+: ' "$cpp_log" | grep -vcE '^[^ ]*: note: ' || true)
cat "$cpp_log"

echo "lint: $tidy clang-tidy findings, $cpp cppcheck findings"
[[ $tidy -eq 0 && $cpp -eq 0 ]]
