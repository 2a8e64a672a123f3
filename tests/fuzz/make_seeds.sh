#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make_seeds.sh -- (re)build the seed corpora of the fuzz targets from the
# golden stores (../shared/golden) and torn variants of them, plus sample
# srdctl command lines. Files already in corpus/ are kept (crash
# regressions live there too). Usage: tests/fuzz/make_seeds.sh [GOLDEN_DIR]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../../build}
golden=${2:-$here/../golden}
open=$here/corpus/fuzz_open
args=$here/corpus/fuzz_srdctl_args
mkdir -p "$open" "$args"

# ---- fuzz_open: golden stores and torn variants -------------------------
for f in small small-torn basic mixed compacted batch; do
  install -m 644 "$golden/$f.bin" "$open/golden-$f"
done
size() { stat -c %s "$1"; }
cut_to() { head -c "$2" "$1" >"$3"; } # first N bytes of a file
b=$golden/basic.bin
cut_to "$b" $(( $(size "$b") - 1 )) "$open/torn-basic-last-byte"
cut_to "$b" $(( $(size "$b") - 21 )) "$open/torn-basic-last-trailer"
cut_to "$b" 700 "$open/torn-basic-mid-entry"
cut_to "$golden/batch.bin" 40000 "$open/torn-batch-mid"
cut_to "$golden/mixed.bin" 300 "$open/torn-mixed-mid"
# a flipped bit in the last CRC, in the last payload byte, in an old pad
m=$golden/mixed.bin
flip() { # file offset out: xor the byte at offset with 0x01
  install -m 644 "$1" "$3"
  local v
  v=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $(( v ^ 1 )))" |
    dd of="$3" bs=1 seek="$2" conv=notrunc status=none
}
flip "$m" $(( $(size "$m") - 1 )) "$open/flip-mixed-last-crc"
flip "$m" $(( $(size "$m") - 21 )) "$open/flip-mixed-last-payload"
flip "$m" 70 "$open/flip-mixed-old-entry"
flip "$golden/small.bin" 10 "$open/flip-small-first-payload"
# the unpadded layout (simd-r-drive <= 0.13, simd_r_drive_py 0.4):
# whole, torn, a flipped payload byte, a flipped back pointer
u=$here/../layouts/unpadded-0.4.bin
install -m 644 "$u" "$open/golden-unpadded-0.4"
cut_to "$u" $(( $(size "$u") - 7 )) "$open/torn-unpadded-last-entry"
cut_to "$u" 1100 "$open/torn-unpadded-mid"
flip "$u" 30 "$open/flip-unpadded-old-payload"
flip "$u" $(( $(size "$u") - 9 )) "$open/flip-unpadded-last-prev"
# zero and garbage tails
{ cat "$golden/small.bin"; head -c 4096 /dev/zero; } >"$open/zero-tail-small"
{ cat "$golden/basic.bin"; head -c 300 "$golden/batch.bin"; } \
  >"$open/garbage-tail-basic"
# the last 700 bytes of batch.bin: trailers pointing before the file
tail -c 700 "$golden/batch.bin" >"$open/not-a-store-batch-tail"
printf 'this is not a store\n' >"$open/not-a-store-text"
: >"$open/empty"

# ---- fuzz_srdctl_args: one argument per line ----------------------------
n=0
while IFS= read -r line; do
  n=$((n + 1))
  printf '%b' "$line" >"$args/$(printf 'seed-%02d' "$n")"
done <<'LINES'
info
info\n--json
get\nk2
get\nk1
get\nbig
exists\nbig
exists\nnope
del\nk2
del\nk1
put\nnew\nvalue
put\nk2\n--file\ns.srd
put\nk
put\n--file\n-\nk
put\nk\n
verify
verify\n--progress
compact
help
help\nput
--help
-V
--store\ns.srd\ninfo
-s\ns.srd\nget\nbig
--store\nmissing.srd\nget\nk
--store\n\ninfo
bogus
get
put\nk\nv\nextra
-x
get\n--store
--store
get\n-h
put\n-fz
status
status\n--json
status\n--count\n3
s.srd\nread\nk2
s.srd\nwrite\nk9\nnine
s.srd\ndelete\nk2
meta\nbig
metadata\nk2\n--json
ls
ls\n--json
ls\n--detailed
sync
copy\nk2\nk9
copy\nbig\n--to\nother.srd
move\nk2\nk3
rename\nbig\nhuge
export\ndump.out
export\ndump.out\n--force
import\ns.srd
get\nbig\n--buffer-size\n7
put\n--keys\ns.srd\nk
help\nstatus
LINES

# ---- fuzz_request, fuzz_update: messages from the real encoder ----------
for t in fuzz_request fuzz_update; do
  bin=$build/tests/fuzz/${t}_replay
  if [[ -x $bin ]]; then
    mkdir -p "$here/corpus/$t"
    SRD_FUZZ_WRITE_SEEDS="$here/corpus/$t" "$bin"
  else
    echo "make_seeds: $bin not built, $t seeds not written" >&2
  fi
done
echo "make_seeds: $(ls "$open" | wc -l) fuzz_open seeds, $n srdctl seeds"
