#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh -- a first look at srd: install the dependencies, build srdctl
# (Release, in build-release/), then create a store in a temporary folder,
# write it, read it back, delete, inspect, verify and compact it, echoing
# every command and its output. Exits non-zero as soon as a step fails.
# Usage: scripts/demo.sh [--keep] [--no-deps]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
keep=0
deps=1
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    --no-deps) deps=0 ;;
    -h|--help)
      echo "usage: $0 [--keep] [--no-deps]"
      echo "  --keep     keep the demo folder (its path is printed)"
      echo "  --no-deps  do not run scripts/install-deps.sh first"
      exit 0 ;;
    *) echo "demo.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

if [[ $deps -eq 1 ]]; then
  "$root/scripts/install-deps.sh"
fi

build="$root/build-release"
echo "== building srdctl (Release) in $build"
blog=$(mktemp "${TMPDIR:-/tmp}/srd-demo-build.XXXXXX")
if ! { cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
         -DBUILD_TESTING=OFF -DSRD_SANITIZE= &&
       cmake --build "$build" -j2 --target srdctl; } >"$blog" 2>&1; then
  tail -n 40 "$blog" >&2
  rm -f "$blog"
  echo "demo.sh: the build failed" >&2
  exit 1
fi
rm -f "$blog"
export PATH="$build/tools:$PATH"
command -v srdctl >/dev/null || { echo "demo.sh: srdctl was not built" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/srd-demo.XXXXXX")
if [[ $keep -eq 1 ]]; then
  trap 'echo; echo "demo folder kept: $dir"' EXIT
else
  trap 'rm -rf "$dir"' EXIT
fi
store="$dir/demo.srd"

step=0
failed() { echo "demo.sh: step failed: $*" >&2; exit 1; }
title() { step=$((step + 1)); printf '\n== %d. %s\n' "$step" "$*"; }
# show CMD...: the command as one would type it (quoted only where needed).
show() {
  local a out='$'
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
      out+=" $a"
    elif [[ "$a" != *"'"* ]]; then
      out+=" '$a'"
    else
      out+=" $(printf '%q' "$a")"
    fi
  done
  printf '%s' "$out"
}
# run CMD...: echo the command, run it; any non-zero exit ends the demo.
run() {
  show "$@"; echo
  "$@" || failed "$(show "$@")"
}
# run_status CODE CMD...: the command must exit with CODE.
run_status() {
  local want=$1 rc=0; shift
  show "$@"; echo
  "$@" || rc=$?
  [[ $rc -eq $want ]] || failed "$(show "$@") exited $rc, expected $want"
  echo "(exit status $rc, as expected)"
}
# run_value KEY EXPECTED: get KEY and check its bytes.
run_value() {
  local got
  show srdctl --store "$store" get "$1"; echo
  got=$(srdctl --store "$store" get "$1") || failed "get $1"
  printf '%s\n' "$got"
  [[ "$got" == "$2" ]] || failed "get $1 returned '$got', expected '$2'"
}

title "Create a store and put a value given as an argument"
run srdctl --store "$store" put greeting "hello, world"
run_value greeting "hello, world"

title "Put a value read from standard input"
echo "\$ printf 'written through stdin' | srdctl --store $store put note"
printf 'written through stdin' | srdctl --store "$store" put note || failed "put note"
run_value note "written through stdin"

title "Stream a 10 MiB file into the store and read it back byte for byte"
echo "\$ head -c 10485760 /dev/urandom > $dir/big.in"
head -c 10485760 /dev/urandom >"$dir/big.in" || failed "make big.in"
run srdctl --store "$store" put big --file "$dir/big.in"
echo "\$ srdctl --store $store get big > $dir/big.out"
srdctl --store "$store" get big >"$dir/big.out" || failed "get big"
run cmp "$dir/big.in" "$dir/big.out"
run sha256sum "$dir/big.in" "$dir/big.out"

title "Replace a value, then delete a key"
run srdctl --store "$store" put greeting "hello again"
run_value greeting "hello again"
run srdctl --store "$store" del note
run_status 1 srdctl --store "$store" exists note
run_status 1 srdctl --store "$store" get note
run srdctl --store "$store" exists greeting

title "Look at the store: the old greeting and the note are dead bytes now"
run srdctl --store "$store" info
run srdctl --store "$store" info --json
run ls -l "$store"

title "Verify every entry's CRC-32"
run srdctl --store "$store" verify

title "Compact: keep only the live values"
run srdctl --store "$store" compact
run srdctl --store "$store" info
run ls -l "$store"
run_value greeting "hello again"
echo "\$ srdctl --store $store get big | cmp - $dir/big.in"
srdctl --store "$store" get big | cmp - "$dir/big.in" || failed "big after compact"
run srdctl --store "$store" verify

printf '\n== demo finished: every step succeeded\n'
