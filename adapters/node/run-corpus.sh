#!/bin/sh
# run-corpus.sh ESMCHECK SOURCE_DIR REPORT_DIR PACKAGE [esmcheck run options...]
# The case corpus against one npm package through the Node adapter, with the
# package's expectation file (adapters/node/expect/PACKAGE.json) when there is
# one. Exits 77 (ctest: skipped) when node, the installed packages
# (`npm ci` in adapters/node) or the package's driver are missing.
set -u
esmcheck=$1 src=$2 report=$3 pkg=$4
shift 4
node_dir=$src/adapters/node
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node is not installed"; exit 77
fi
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  echo "SKIP: node $(node --version) is older than 20"; exit 77
fi
if [ ! -d "$node_dir/node_modules/@sinonjs/fake-timers" ]; then
  echo "SKIP: $node_dir/node_modules is missing (run: cd adapters/node && npm ci)"; exit 77
fi
case $pkg in
  serverless-offline-sqs) driver=sqs.js ;;
  sqs-consumer) driver=sqs-consumer.js ;;
  squiss-ts) driver=squiss.js ;;
  serverless-offline-kinesis) driver=kinesis.js ;;
  serverless-offline-dynamodb-streams) driver=dynamodb-streams.js ;;
  *) echo "unknown package $pkg"; exit 2 ;;
esac
if [ ! -f "$node_dir/drivers/$driver" ]; then
  echo "SKIP: no driver for $pkg yet ($node_dir/drivers/$driver)"; exit 77
fi
if [ ! -d "$node_dir/node_modules/$pkg" ]; then
  echo "SKIP: $pkg is not installed (run: cd adapters/node && npm ci)"; exit 77
fi
expect=$node_dir/expect/$pkg.json
set -- --cases "$src/cases" --report "$report" --quiet --validate "$@"
[ -f "$expect" ] && set -- "$@" --expect "$expect"
exec "$esmcheck" run --adapter-cmd "node $node_dir/esmc-node-adapter.js --package $pkg" "$@"
