#!/bin/sh
# protocol_schemas.sh ESMCHECK SOURCE_DIR BINARY_DIR: record every protocol
# message of a Python-adapter run (ESMC_PROTOCOL_TRANSCRIPT) and check each
# against spec/protocol/*.schema.json, so the schemas, the C validator
# (--validate) and the proxy agree, for protocol versions 1 and 2.
set -eu
esmcheck=$1 src=$2 bin=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ESMC_PROTOCOL_TRANSCRIPT=$out/t.jsonl "$esmcheck" run --cases "$src/cases" \
  --filter kinesis-trim-horizon-basic --filter dynamodb-failure-record \
  --filter kinesis-invalid-batch-size-zero --filter kinesis-enabled-toggle-latest \
  --filter kinesis-restart-resume --validate --report "$out/r" --quiet \
  --adapter-cmd "python3 $src/adapters/python/esmc_adapter.py"
# Protocol 2: a scripted SQS adapter (receive_complete, the queue calls).
ESMC_PROTOCOL_TRANSCRIPT=$out/t.jsonl "$esmcheck" run --cases "$src/cases" \
  --filter sqs-batch-size-one --validate --report "$out/r2" --quiet \
  --adapter-cmd "python3 $src/tests/adapters/sqs_script.py"
grep -q '"op":"receive_complete"' "$out/t.jsonl"
/usr/bin/python3 - "$src/spec/protocol" "$out/t.jsonl" <<'PY'
import json, sys
from jsonschema import Draft202012Validator
d, path = sys.argv[1], sys.argv[2]
names = ["request", "completion", "handshake", "host-call", "host-reply", "stop"]
v = {}
for n in names:
    s = json.load(open(f"{d}/{n}.schema.json"))
    Draft202012Validator.check_schema(s)
    v[n] = Draft202012Validator(s)
bad = count = 0
for line in open(path):
    t = json.loads(line)
    m = t["msg"]
    if t["dir"] == "to_adapter":
        kind = "request" if "op" in m else "host-reply"
    else:
        kind = "host-call" if "call" in m else "handshake" if "adapter" in m else "completion"
    count += 1
    for e in v[kind].iter_errors(m):
        bad += 1
        print(f"{kind}: {e.message}: {json.dumps(m)[:200]}")
print(f"protocol: {count} messages checked against the schemas, {bad} problem(s)")
sys.exit(1 if bad or count < 50 else 0)
PY
