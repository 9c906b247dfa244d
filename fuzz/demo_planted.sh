#!/bin/sh
# demo_planted.sh REPLAY ESMCHECK PLANTED_SO FINDINGS_DIR WORK_DIR
# The planted-bug demonstration (fuzz/README.md): a stored scenario_fuzzer
# finding aborts on the planted adapter and not on the reference, and
# fuzz-to-case turns it into a case that fails on the planted adapter and
# passes on the reference.
set -u
replay=$1 esmcheck=$2 planted=$3 findings=$4 work=$5
rm -rf "$work" && mkdir -p "$work/cases" || exit 1
fail() { echo "demo_planted: $*" >&2; exit 1; }
for input in "$findings"/*; do
  [ -f "$input" ] || continue
  if ESMC_FUZZ_ADAPTER="$planted" "$replay" "$input" 2>"$work/stderr"; then
    fail "$input does not abort scenario_fuzzer on the planted adapter"
  fi
  grep -q '^esmcheck-violation: ' "$work/stderr" || fail "no signature for $input"
  head -1 "$work/stderr"
  "$replay" "$input" >/dev/null || fail "$input fails on the reference"
  "$esmcheck" fuzz-to-case "$input" --adapter "$planted" --out "$work/cases" ||
    fail "fuzz-to-case failed for $input"
done
ls "$work/cases"/*.json >/dev/null 2>&1 || fail "no finding under $findings"
if "$esmcheck" run --adapter "$planted" --cases "$work/cases" --no-fork \
     --report "$work/report-planted" --quiet; then
  fail "the written cases pass on the planted adapter"
fi
"$esmcheck" run --adapter reference --cases "$work/cases" --no-fork \
  --report "$work/report-reference" --quiet ||
  fail "the written cases fail on the reference"
echo "demo_planted: found, shrunk to a case, fails on the planted adapter, passes on the reference"
