#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# package-test.sh -- srd as its users get it: build the .deb packages
# (cpack -G DEB in build-pkg/, Release, prefix /usr), unpack them into a
# scratch root (dpkg -x, no root needed), and use only what they hold:
#  - the README's C example, built with pkg-config and with CMake
#    (find_package(srd): srd::client and srd::client_static), then run;
#  - srdd and srdctl from the tools package (srdd returns once it serves);
#  - the Python package from the python3 .deb, and the one pip builds from
#    python/ into a fresh venv (offline, Debian's setuptools), each running
#    the seed examples (python/tests/usage_example.py, the README's Python
#    block) and, in the venv, the reference's ported tests.
# Ends with "N passed, N failed" like the other scripts.
# Usage: scripts/package-test.sh [--keep]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SRD_PKG_BUILD:-$root/build-pkg}
python=${SRD_PKG_PYTHON:-/usr/bin/python3}  # Debian's, with its setuptools
keep=0
[[ ${1:-} == --keep ]] && keep=1
work=$(mktemp -d "${TMPDIR:-/tmp}/srd-pkg.XXXXXX")
cleanup() {
  if [[ -f "$work/srdd.pid" ]]; then kill "$(cat "$work/srdd.pid")" 2>/dev/null || true; fi
  if [[ $keep -eq 1 ]]; then echo "package-test: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
passed=0 failed=0
ok() { echo "package-test: ok   $*"; passed=$((passed + 1)); }
bad() { echo "package-test: FAIL $*" >&2; failed=$((failed + 1)); }
check() { # DESCRIPTION COMMAND...: runs the command, counts the result
  local what=$1; shift
  if "$@" >"$work/last.log" 2>&1; then ok "$what"; else bad "$what"; cat "$work/last.log" >&2; fi
}

echo "== package-test: build and cpack in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF >"$work/configure.log" ||
  { cat "$work/configure.log" >&2; exit 1; }
cmake --build "$build" -j2 --target srdclient srdclient_static srdd srdctl \
  srd_python >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
rm -f "$build"/*.deb
(cd "$build" && cpack -G DEB >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log" >&2; exit 1; }

sysroot=$work/root
mkdir -p "$sysroot"
for pkg in libsrdclient0 libsrdclient-dev srd-tools python3-simd-r-drive; do
  deb=$(ls "$build"/${pkg}_*.deb 2>/dev/null | head -n1 || true)
  if [[ -z "$deb" ]]; then bad "cpack made no $pkg .deb"; continue; fi
  name=$(dpkg-deb -f "$deb" Package)
  [[ "$name" == "$pkg" ]] && ok "$pkg: $(basename "$deb"), depends: $(dpkg-deb -f "$deb" Depends)" ||
    bad "$deb names package '$name'"
  dpkg -x "$deb" "$sysroot"
done

libdir=$(dirname "$(find "$sysroot" -name srdclient.pc | head -n1)")/..
libdir=$(cd "$libdir" && pwd)
export PKG_CONFIG_PATH=$libdir/pkgconfig
export LD_LIBRARY_PATH=$libdir
for f in usr/include/srd/srd.h usr/sbin/srdd usr/bin/srdctl \
         usr/share/man/man1/srdctl.1 usr/share/man/man8/srdd.8 \
         usr/lib/systemd/system/srdd@.service \
         usr/lib/python3/dist-packages/simd_r_drive/__init__.py \
         usr/lib/python3/dist-packages/simd_r_drive/py.typed; do
  [[ -e "$sysroot/$f" ]] && ok "installs /$f" || bad "no /$f in the packages"
done
for f in libsrdclient.so.0 libsrdclient.so libsrdclient.a cmake/srd/srdConfig.cmake; do
  [[ -e "$libdir/$f" ]] && ok "installs ${libdir#"$sysroot"}/$f" || bad "no $f in $libdir"
done
if command -v systemd-analyze >/dev/null 2>&1; then
  sed "s#/usr/sbin/srdd#$sysroot/usr/sbin/srdd#" \
    "$sysroot/usr/lib/systemd/system/srdd@.service" >"$work/srdd@.service"
  cp "$work/srdd@.service" "$work/srdd@tmp-x.srd.service"
  check "systemd-analyze verify srdd@.service" \
    systemd-analyze verify --man=no "$work/srdd@tmp-x.srd.service"
fi

echo "== package-test: the README's C example against the packages"
c_dir=$work/c && mkdir -p "$c_dir/run"
awk '/^```c$/ {on = 1; next} /^```$/ && on {exit} on' "$root/README.md" >"$c_dir/example.c"
[[ -s "$c_dir/example.c" ]] || bad "README.md has no C example"
cat >"$c_dir/version.c" <<'C'
#include <stdio.h>
#include <srd/srd.h>
#if !SRD_VERSION_AT_LEAST(0, 0, 1)
#error "SRD_VERSION_AT_LEAST is wrong"
#endif
int main(void) { printf("%d.%d.%d %s\n", SRD_VERSION_MAJOR, SRD_VERSION_MINOR,
                        SRD_VERSION_PATCH, SRD_VERSION_STRING); return 0; }
C
run_example() { # EXE: runs it in an empty folder; it must print hello
  local out
  rm -rf "$c_dir/run"/* && out=$(cd "$c_dir/run" && "$1") && [[ "$out" == hello ]]
}
# shellcheck disable=SC2046
check "example.c builds with pkg-config" \
  cc -std=c11 -Wall -Werror -o "$c_dir/ex-pc" "$c_dir/example.c" $(pkg-config --cflags --libs srdclient)
check "example (pkg-config) prints hello" run_example "$c_dir/ex-pc"
v=$(pkg-config --modversion srdclient)
# shellcheck disable=SC2046
cc -std=c11 -o "$c_dir/version" "$c_dir/version.c" $(pkg-config --cflags srdclient) &&
  [[ "$("$c_dir/version")" == "$v $v" ]] && ok "srd.h version macros say $v, as srdclient.pc" ||
  bad "srd.h version macros disagree with srdclient.pc ($v)"
cat >"$c_dir/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(srd_consumer C)
find_package(srd 0.1 REQUIRED)
add_executable(ex-shared example.c)
target_link_libraries(ex-shared PRIVATE srd::client)
add_executable(ex-static example.c)
target_link_libraries(ex-static PRIVATE srd::client_static)
CM
if cmake -S "$c_dir" -B "$c_dir/build" -DCMAKE_PREFIX_PATH="$sysroot/usr" >"$work/last.log" 2>&1 &&
   cmake --build "$c_dir/build" >>"$work/last.log" 2>&1; then
  ok "example.c builds with CMake: find_package(srd), srd::client and srd::client_static"
  check "example (CMake, shared) prints hello" run_example "$c_dir/build/ex-shared"
  check "example (CMake, static) prints hello" run_example "$c_dir/build/ex-static"
  if readelf -d "$c_dir/build/ex-static" | grep -q 'libsrdclient'; then
    bad "ex-static still needs libsrdclient.so"
  else ok "ex-static carries libsrdclient itself"; fi
else
  bad "example.c does not build with CMake"; cat "$work/last.log" >&2
fi

echo "== package-test: srdd and srdctl from srd-tools"
store=$work/tools/my.srd && mkdir -p "$work/tools"
srdd=$sysroot/usr/sbin/srdd srdctl=$sysroot/usr/bin/srdctl
if "$srdd" --store "$store" 2>"$work/tools/srdd.log"; then  # returns once serving
  sed -n 's/^pid=//p' "$store.srdd" >"$work/srdd.pid"
  ok "srdd --store returns once it serves (pid $(cat "$work/srdd.pid"))"
  check "srdctl put through srdd" "$srdctl" --store "$store" put greeting hello
  [[ "$("$srdctl" --store "$store" get greeting)" == hello ]] &&
    ok "srdctl get reads it back" || bad "srdctl get does not read 'hello'"
  status=$("$srdctl" --store "$store" status || true)
  grep -qE '^mode: +daemon' <<<"$status" && ok "srdctl status shows the daemon" ||
    bad "srdctl status does not show srdd"
  kill -TERM "$(cat "$work/srdd.pid")"
  for _ in $(seq 100); do [[ -e "$store.srdd" ]] || break; sleep 0.1; done
  [[ ! -e "$store.srdd" ]] && ok "srdd stops on SIGTERM" || bad "srdd did not stop"
  rm -f "$work/srdd.pid"
else
  bad "srdd from the package did not start"; cat "$work/tools/srdd.log" >&2
fi

echo "== package-test: Python"
readme_py=$work/readme_example.py
awk '/^```python$/ {on = 1; next} /^```$/ && on {exit} on' "$root/README.md" |
  sed "s#/tmp/my.srd#my.srd#g" >"$readme_py"
seed_examples() { # PYTHON [ENV...]: the seed examples in empty folders
  local py=$1 d; shift
  d=$(mktemp -d "$work/seed.XXXXXX")
  local usage readme  # whole outputs first: grep -q must not cut a pipe
  usage=$(cd "$d" && env "$@" "$py" "$root/python/tests/usage_example.py") &&
    readme=$(cd "$d" && env "$@" "$py" "$readme_py") &&
    grep -q "usage example: ok" <<<"$usage" && grep -qx "b'jdoe'" <<<"$readme"
}
check "python3-simd-r-drive .deb: seed examples" \
  seed_examples "$python" PYTHONPATH="$sysroot/usr/lib/python3/dist-packages"

venv=$work/venv
"$python" -m venv --system-site-packages "$venv"
cp -r "$root/python" "$work/pysrc"   # pip builds in the source tree
rm -rf "$work/pysrc/build" "$work/pysrc"/*.egg-info
if "$venv/bin/pip" install --no-build-isolation --no-index "$work/pysrc" >"$work/pip.log" 2>&1; then
  ok "pip install --no-build-isolation --no-index ./python (offline) into a fresh venv"
  where=$(cd "$work" && "$venv/bin/python" -c 'import simd_r_drive; print(simd_r_drive.__file__)')
  [[ "$where" == "$venv"/* ]] && ok "the venv imports its own simd_r_drive" ||
    bad "the venv imports simd_r_drive from $where"
  check "venv: seed examples" seed_examples "$venv/bin/python"
  if "$venv/bin/pip" wheel --no-build-isolation --no-index -w "$work/dist" \
       "$work/pysrc" >"$work/last.log" 2>&1; then
    whl=$(ls "$work"/dist/*.whl | head -n1)
    files=$("$python" -m zipfile -l "$whl")
    if grep -q 'simd_r_drive/py.typed' <<<"$files" &&
       grep -q 'simd_r_drive/simd_r_drive.pyi' <<<"$files"; then
      ok "pip wheel: $(basename "$whl") with py.typed and the stubs"
    else bad "the wheel lacks py.typed or the stubs"; fi
  else
    bad "pip wheel of python/ failed"; cat "$work/last.log" >&2
  fi
  if compgen -G "$root/python/tests/test_ref_*.py" >/dev/null; then
    check "venv: the reference's ported tests (python/tests/test_ref_*.py)" \
      env -C "$work" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
        "$root"/python/tests/test_ref_*.py
  fi
else
  bad "pip install of python/ failed"; cat "$work/pip.log" >&2
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
