#!/bin/sh
# expectations.sh ESMCHECK SOURCE_DIR BINARY_DIR: expectation files both
# ways through `esmcheck run`: a failing adapter's run written with
# --update-expectations passes when read back with --expect (xfail); the
# reference, which passes, fails against the same file (xpass); skip works.
set -u
esmcheck=$1 src=$2 bin=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
leak=$bin/selftest/libesmc_misbehave_leak.so
run() { "$esmcheck" run --cases "$src/cases" --filter kinesis-trim-horizon-basic \
          --filter kinesis-idle-polling --report "$out/r" "$@" >"$out/log" 2>&1; }
fail() { echo "FAIL: $1"; cat "$out/log"; exit 1; }

run --adapter "$leak" --update-expectations "$out/x.json" && fail "leak passed"
grep -q '"kinesis-trim-horizon-basic": {"verdict": "fail"' "$out/x.json" ||
  { cat "$out/x.json"; fail "no expectation written"; }
run --adapter "$leak" --expect "$out/x.json" || fail "xfail run failed"
grep -Eq "^  xfail +kinesis-trim-horizon-basic" "$out/log" || fail "no xfail"
run --adapter reference --expect "$out/x.json" && fail "xpass run passed"
grep -Eq "^  xpass +kinesis-trim-horizon-basic" "$out/log" || fail "no xpass"
grep -q "expectation is stale" "$out/log" || fail "no stale reason"
printf '{"id": "kinesis-trim-horizon-basic", "verdict": "skip", "reason": "hangs"}\n' \
  >"$out/s.jsonl"
run --adapter reference --expect "$out/s.jsonl" || fail "skip run failed"
grep -Eq "^  skip +kinesis-trim-horizon-basic" "$out/log" || fail "no skip"
printf '{"a": {"verdict": "maybe"}}' >"$out/bad.json"
run --expect "$out/bad.json"
[ $? -eq 2 ] || fail "a bad expectation file is not a usage error"
echo "expectation files: xfail, xpass, skip and errors work"
