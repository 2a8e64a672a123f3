#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# man_options.sh -- the hand-written man pages (docs/man/) against the
# tools: every option that `srdd --help`, `srdctl --help` and each
# `srdctl COMMAND --help` print is named in srdd.8 / srdctl.1, every srdctl
# command has an entry, the pages carry the project version, and groff
# renders them without a warning.
# Usage: man_options.sh SRDD SRDCTL MANDIR VERSION
set -euo pipefail
srdd=$1 srdctl=$2 mandir=$3 version=$4
fail=0

# The options (--long and -s) a help text lists, one per line.
options_of() {
  grep -oE -- '(^|[ [|,])--?[a-zA-Z][-a-zA-Z]*' | sed -E 's/^[ [|,]//' | sort -u
}

# Does the roff page $1 name option $2 (written with \- for each -)?
named_in() {
  local roff=${2//-/\\-}
  grep -qF -- "$roff" "$1"
}

check_page() { # PAGE TOOL-LABEL, options on stdin
  local page=$1 label=$2 opt
  while read -r opt; do
    if ! named_in "$page" "$opt"; then
      echo "man_options: $label lists $opt but $(basename "$page") does not" >&2
      fail=1
    fi
  done
}

# (process substitution, not a pipe: check_page must run in this shell to
# set fail)
check_page "$mandir/srdd.8" "srdd --help" < <("$srdd" --help | options_of)
check_page "$mandir/srdctl.1" "srdctl --help" < <("$srdctl" --help | options_of)
commands=$("$srdctl" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
for cmd in $commands; do
  check_page "$mandir/srdctl.1" "srdctl $cmd --help" \
    < <("$srdctl" "$cmd" --help | options_of)
  if ! grep -qE "^\.(B|BR|BI|TP) \"?$cmd( |\"|$)" "$mandir/srdctl.1"; then
    echo "man_options: srdctl.1 has no entry for the command $cmd" >&2
    fail=1
  fi
done

for page in "$mandir/srdd.8" "$mandir/srdctl.1"; do
  if ! grep -qE "^\.TH .*\"srd $version\"" "$page"; then
    echo "man_options: $(basename "$page") does not say srd $version in .TH" >&2
    fail=1
  fi
  if command -v groff >/dev/null 2>&1; then
    warnings=$(groff -man -ww -z "$page" 2>&1 || true)
    if [[ -n "$warnings" ]]; then
      echo "man_options: groff warns on $(basename "$page"): $warnings" >&2
      fail=1
    fi
  fi
done

[[ $fail -eq 0 ]] && echo "man_options: srdd.8 and srdctl.1 match the tools"
exit "$fail"
