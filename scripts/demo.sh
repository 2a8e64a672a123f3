#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh -- a first look at srd: install the dependencies, build (Release,
# in build-release/), start srdd on a demo store in a temporary folder, run
# several client processes against it at once (C workers and a Python
# one), then look at, verify and compact the store with srdctl, stop srdd
# and reopen the store, echoing every command and its output. Exits
# non-zero as soon as a step fails.
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
echo "== building srdd, srdctl, srd-demo and the Python module (Release) in $build"
blog=$(mktemp "${TMPDIR:-/tmp}/srd-demo-build.XXXXXX")
if ! { cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
         -DBUILD_TESTING=OFF -DSRD_SANITIZE= &&
       cmake --build "$build" -j2; } >"$blog" 2>&1; then
  tail -n 40 "$blog" >&2
  rm -f "$blog"
  echo "demo.sh: the build failed" >&2
  exit 1
fi
rm -f "$blog"
export PATH="$build/tools:$build/daemon:$PATH"
for tool in srdd srdctl srd-demo; do
  command -v $tool >/dev/null || { echo "demo.sh: $tool was not built" >&2; exit 1; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/srd-demo.XXXXXX")
srdd_pid=""
cleanup() {
  if [[ -n "$srdd_pid" ]]; then kill "$srdd_pid" 2>/dev/null || true; fi
  if [[ $keep -eq 1 ]]; then echo; echo "demo folder kept: $dir"
  else rm -rf "$dir"; fi
}
trap cleanup EXIT
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

workers=4
keys=2000

title "Start srdd, the writer daemon, on a new store"
show srdd --store "$store" --sync always --foreground; echo " 2>$dir/srdd.log &"
srdd --store "$store" --sync always --foreground 2>"$dir/srdd.log" &
srdd_pid=$!
for _ in $(seq 100); do [[ -e "$store.srdd" ]] && break; sleep 0.05; done
[[ -e "$store.srdd" ]] || { cat "$dir/srdd.log" >&2; failed "srdd did not start"; }
run cat "$store.srdd"
run ls -l "$dir"

title "Run $workers client processes at once: each writes $keys keys, then checks everyone's"
echo "(each srd-demo process opens the store with srd_open, which finds srdd and"
echo " connects: reads stay in-process, writes go to srdd, updates arrive over pub/sub)"
pids=()
for w in $(seq 0 $((workers - 1))); do
  show srd-demo --store "$store" --worker "$w" --workers "$workers" --keys "$keys"; echo " &"
  srd-demo --store "$store" --worker "$w" --workers "$workers" --keys "$keys" \
    >"$dir/worker$w.out" 2>&1 &
  pids+=($!)
done
for w in "${!pids[@]}"; do
  wait "${pids[$w]}" || { cat "$dir/worker$w.out" >&2; failed "worker $w"; }
done
cat "$dir"/worker*.out

pymod=$(ls "$build"/python/simd_r_drive/simd_r_drive*.so 2>/dev/null | head -n1 || true)
if [[ -n "$pymod" ]] && command -v python3 >/dev/null; then
  title "A Python client through the same daemon (the SIMD R Drive Python API)"
  cat >"$dir/client.py" <<'PY'
import sys
from simd_r_drive import DataStore
with DataStore(sys.argv[1]) as store:
    store.write(b"from-python", b"hello from a Python process")
    store.batch_write([(b"py:1", b"alice"), (b"py:2", b"bob")])
    print("python: read worker0:key00000 ->", store.read(b"worker0:key00000"))
    print("python: read worker3:key00009 ->", store.read(b"worker3:key00009"), "(deleted by worker 3)")
    entry = store.read_entry(b"py:1")
    print("python: zero-copy view of py:1 ->", bytes(entry.as_memoryview()))
    print("python: live keys:", len(store), "; 'py:2' in store:", b"py:2" in store)
PY
  run cat "$dir/client.py"
  echo "\$ PYTHONPATH=$(dirname "$pymod") python3 $dir/client.py $store"
  PYTHONPATH="$(dirname "$pymod")" python3 "$dir/client.py" "$store" || failed "python client"
fi

title "srdctl: status, reads and writes go through the daemon while it runs"
run srdctl --store "$store" status
run_value worker2:key00042 "value 42 written by worker 2"
run srdctl --store "$store" put greeting "hello, world"
run_value greeting "hello, world"
run_status 1 srdctl --store "$store" get worker1:key00019
run srdctl --store "$store" verify

title "Stop srdd (SIGTERM): it finishes queued writes, syncs and removes its sockets"
run kill -TERM "$srdd_pid"
rc=0; wait "$srdd_pid" || rc=$?; srdd_pid=""
echo "srdd exited with status $rc"
[[ $rc -eq 0 ]] || { cat "$dir/srdd.log" >&2; failed "srdd exit status $rc"; }
run cat "$dir/srdd.log"
run ls -l "$dir"

title "Without a daemon, srdctl opens the store file directly"
run srdctl --store "$store" info
run srdctl --store "$store" compact
run srdctl --store "$store" info
run_value greeting "hello, world"
run srdctl --store "$store" verify

printf '\n== demo finished: every step succeeded\n'
