#!/bin/sh
# Reads every path in KTSTR_PROBE (space-separated); fails on the first it
# cannot read. See BUILD.bazel.
set -eu
[ -n "${KTSTR_PROBE:-}" ] || { echo "KTSTR_PROBE is empty: pass --test_env=KTSTR_PROBE='PATH...'" >&2; exit 2; }
for p in $KTSTR_PROBE; do
  if [ -d "$p" ]; then
    ls "$p" >/dev/null
  else
    head -c1 "$p" >/dev/null
  fi
  echo "read $p"
done
