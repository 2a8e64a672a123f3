#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench-import.sh -- `srdctl import` of N entries (default 1M, 5-char-ish
# keys, 64-byte values) next to LMDB's `mdb_load` of the same pairs, in
# the same run on the same machine (docs/PERFORMANCE.md, "Bulk import").
# Both end durable: srdctl syncs once at the end, mdb_load commits and
# syncs. Each figure is the median of 3 runs into a fresh store; the
# import through srdd runs once. Needs a Release build (default
# build-pkg/, as scripts/package-test.sh makes it, or --build DIR), the
# Python module in it (to make the source store) and mdb_load
# (lmdb-utils).
# Usage: scripts/bench-import.sh [--build DIR] [--entries N]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build-pkg
n=1000000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --entries) n=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--entries N]" >&2; exit 2 ;;
  esac
done
srdctl=$build/tools/srdctl srdd=$build/daemon/srdd
command -v mdb_load >/dev/null || { echo "bench-import: mdb_load not found (apt-get install lmdb-utils)" >&2; exit 1; }
[[ -x "$srdctl" && -x "$srdd" ]] || { echo "bench-import: no srdctl/srdd in $build" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/srd-import.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "== bench-import: $n entries (source store, dump, mdb_load input)"
PYTHONPATH=$build/python /usr/bin/python3 - "$n" <<'PY'
import sys
from simd_r_drive import DataStore
n = int(sys.argv[1])
key = lambda i: b"key:%d" % i
val = lambda i: b"v%063d" % i
with DataStore("src.srd", sync="never") as s:
    for lo in range(0, n, 10000):
        s.batch_write([(key(i), val(i)) for i in range(lo, min(n, lo + 10000))])
    s.sync()
with open("keys.txt", "wb") as f:
    f.write(b"\n".join(key(i) for i in range(n)))
with open("mdb.txt", "w") as f:
    f.write("VERSION=3\nformat=bytevalue\ntype=btree\nmapsize=%d\nHEADER=END\n"
            % (n * 512 + (64 << 20)))
    for i in range(n):
        f.write(" %s\n %s\n" % (key(i).hex(), val(i).hex()))
    f.write("DATA=END\n")
PY
"$srdctl" -s src.srd export dump.srd --keys keys.txt >/dev/null

secs() { # COMMAND...: wall seconds of one run
  local t0 t1
  t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
import_once() { rm -rf new.srd*; "$srdctl" -s new.srd import dump.srd; }
mdb_once() { rm -rf mdb && mkdir mdb && mdb_load -f mdb.txt mdb; }
t_srd=$(median3 "$(secs import_once)" "$(secs import_once)" "$(secs import_once)")
cmp -s new.srd src.srd || { echo "bench-import: imported store differs from the source" >&2; exit 1; }
t_mdb=$(median3 "$(secs mdb_once)" "$(secs mdb_once)" "$(secs mdb_once)")
rm -rf new.srd*
"$srdd" --store "$work/new.srd" 2>srdd.log
t_daemon=$(secs "$srdctl" -s new.srd import dump.srd)
kill -TERM "$(sed -n 's/^pid=//p' new.srd.srdd)"

printf '| %-34s | %8s | %12s |\n' "bulk load of $n entries" "seconds" "entries/s"
printf '| %-34s | %8.2f | %12s |\n' "srdctl import (embedded)" "$t_srd" "$(echo "$n / $t_srd / 1000000" | bc -l | xargs printf '%.2fM')"
printf '| %-34s | %8.2f | %12s |\n' "srdctl import through srdd" "$t_daemon" "$(echo "$n / $t_daemon / 1000000" | bc -l | xargs printf '%.2fM')"
printf '| %-34s | %8.2f | %12s |\n' "mdb_load (LMDB)" "$t_mdb" "$(echo "$n / $t_mdb / 1000000" | bc -l | xargs printf '%.2fM')"
