#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install-deps.sh -- install the Debian packages srd builds and tests with.
# Idempotent: dpkg-query tells which packages are missing, and only then
# does it run `apt-get update` (once) and `apt-get install`, as root or
# through sudo. Safe to run on every build; prints what it did.
# Usage: scripts/install-deps.sh [--check] [--list]
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libnng-dev libprotobuf-c-dev protobuf-c-compiler
  libxxhash-dev libisal-dev zlib1g-dev
  check libsubunit-dev
  liblmdb-dev libjson-c-dev
  libsystemd-dev
  python3-dev python3-pytest
  python3-venv python3-setuptools python3-wheel dpkg-dev
  lmdb-utils
  clang
  redis-server
)

usage() {
  cat <<USAGE
usage: $0 [--check] [--list]
  (no option)  install the missing packages (apt-get, as root or via sudo)
  --check      install nothing; exit 1 if a package is missing
  --list       print the package list and exit
USAGE
}

mode=install
for arg in "$@"; do
  case "$arg" in
    --check) mode=check ;;
    --list) printf '%s\n' "${PACKAGES[@]}"; exit 0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install-deps: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-deps: dpkg-query not found: this script supports Debian/Ubuntu." >&2
  echo "install-deps: install these packages (or their equivalents) by hand:" >&2
  printf '  %s\n' "${PACKAGES[@]}" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != installed ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

echo "install-deps: missing: ${missing[*]}"
if [[ "$mode" == check ]]; then
  exit 1
fi

if [[ $(id -u) -eq 0 ]]; then
  as_root=(env DEBIAN_FRONTEND=noninteractive)
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
else
  echo "install-deps: not root and sudo is not available; as root run:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
