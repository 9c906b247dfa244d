#!/bin/sh
# selftest_adapters.sh ESMCHECK SOURCE_DIR BINARY_DIR [SANITIZERS]: every
# self-test adapter (adapters/selftest) gets its verdict and the run
# completes.
set -u
esmcheck=$1 src=$2 bin=$3 sanitizers=${4:-}
case_id=kinesis-trim-horizon-basic
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failed=0

# expect VERDICT NEEDLE ARGS...: run the one case and check its verdict line
# and that the reason mentions NEEDLE.
expect() {
  verdict=$1 needle=$2
  shift 2
  "$esmcheck" run --cases "$src/cases" --filter $case_id --report "$out/r" "$@" \
    >"$out/log" 2>&1
  rc=$?
  if ! grep -Eq "^  $verdict +$case_id\$" "$out/log" ||
     ! grep -Fq -- "$needle" "$out/log" || [ $rc -gt 1 ]; then
    echo "FAIL: $* -> expected $verdict mentioning '$needle' (exit $rc):"
    sed 's/^/    /' "$out/log" | cut -c1-300
    failed=1
  else
    echo "ok: $verdict: $*" | cut -c1-160
  fi
}

so=$bin/selftest
expect crash "" --adapter "$so/libesmc_misbehave_segv.so"
expect crash "signal 6" --adapter "$so/libesmc_misbehave_abort.so"
expect crash "exited with status 7" --adapter "$so/libesmc_misbehave_exit.so"
expect timeout "wall-clock" --adapter "$so/libesmc_misbehave_hang.so" --timeout 1
expect fail "" --adapter "$so/libesmc_misbehave_leak.so"
expect error "ABI version 99" --adapter "$so/libesmc_misbehave_bad_abi.so"
expect error "on_timer is NULL" --adapter "$so/libesmc_misbehave_null_method.so"
expect error "NULL payload" --adapter "$so/libesmc_misbehave_null_payload.so"
case_id=kinesis-restart-resume
expect error "already destroyed" --adapter "$so/libesmc_misbehave_after_destroy.so"
case_id=kinesis-trim-horizon-basic
# The memory hog needs an address-space limit, which ASan builds cannot set.
if [ -z "$sanitizers" ]; then
  "$esmcheck" run --cases "$src/cases" --filter $case_id --report "$out/r" \
    --adapter "$so/libesmc_misbehave_hog.so" --memory-limit 256 --timeout 20 \
    >"$out/log" 2>&1
  if grep -Eq "^  (error|crash) +$case_id\$" "$out/log"; then
    echo "ok: the memory hog got $(grep -Eo "^  [a-z]+ +$case_id" "$out/log")"
  else
    echo "FAIL: the memory hog:"; cat "$out/log"; failed=1
  fi
fi

py="python3 $src/adapters/selftest/misbehave.py"
rm -f "$out/mark"
export ESMC_SELFTEST_MARK="$out/mark"
expect crash "exited with status 3 during timer() (after 3 restarts)" --adapter-cmd "$py crash"
expect pass "" --adapter-cmd "$py crash-once"
expect crash "signal 6" --adapter-cmd "$py abort"
expect timeout "0.3 s request time limit" --adapter-cmd "$py hang" --request-timeout 0.3
expect crash "not a JSON object" --adapter-cmd "$py garbage"
expect crash "over the 33554432-byte limit" --adapter-cmd "$py oversized"
expect pass "" --adapter-cmd "$py split"
expect crash "expected the completion of request" --adapter-cmd "$py bad-seq"
expect error "misbehave: the mapper gave up" --adapter-cmd "$py fatal"
expect error "names no mapping the harness created" --adapter-cmd "$py bad-mapping"
expect pass "" --adapter-cmd "$py bad-types"
expect error "\"error\" must be an object" --adapter-cmd "$py bad-types" --validate
expect crash "stderr: misbehave: something went badly wrong" --adapter-cmd "$py stderr"
expect error "protocol 99" --adapter-cmd "$py bad-protocol"
expect error "cannot execute" --adapter-cmd "/nonexistent/adapter --flag"
expect pass "" --adapter-cmd "python3 '$src/adapters/python/esmc_adapter.py'" --validate
exit $failed
