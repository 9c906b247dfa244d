'use strict';
// Driver: serverless-offline-dynamodb-streams, a Lambda emulator's DynamoDB
// Streams poller, judged unmodified.
//
// The plugin's poller class (src/dynamodb-streams.js) is built as the plugin
// builds it (new DynamodbStreams(lambda, options, log), then
// create([{functionKey, destinations, dynamodbStreams}]) and start()),
// without the Serverless framework:
//   - `lambda` is lib/lambda-standin.js (serverless-offline's Lambda: get()
//     -> setEvent/runHandler), invoking the harness's function;
//   - its AWS SDK v3 clients are replaced after construction by
//     lib/ddbstreams-standin.js: `client` (DynamoDB: DescribeTable, answered
//     from the mapping's stream ARN), `streamsClient` (DynamoDB Streams:
//     DescribeStream, GetShardIterator, GetRecords -> list_shards,
//     get_shard_iterator, get_records) and `sqsClient` (used only for the
//     function's async-invocation destinations, which are never configured
//     here: any call fails). The constructor also wraps `streamsClient` into
//     `readableStreamsClient`, the v2-callback shim dynamodb-streams-readable
//     reads through; it is rebuilt the same way, with the package's own
//     buildCallbackClient, around the stand-in. The package's original
//     clients stay the source of the SDK's retry configuration (maxAttempts
//     20 from the package's client-config.js): every stand-in request runs
//     inside the SDK's own retry middleware.
//   - The package's restart checkpoint (#178) is a state file
//     {"<streamArn>::<shardId>": "<sequenceNumber>"} read at construction and
//     rewritten after every batch. Here the harness's checkpoint store is that
//     file: a shard's state is loaded from get_checkpoint the first time the
//     package's DescribeStream lists it, before the package reads it, and
//     every value the package writes into it becomes a checkpoint
//     call at that moment (the file itself goes to the null device). The
//     package decides when and what it checkpoints.
// The stream event is what a serverless.yml user writes:
//   stream: {type: dynamodb, arn, batchSize, startingPosition,
//            maximumRetryAttempts, filterPatterns}
// with `tableName` resolved from the ARN as the plugin's index.js does, and
// the plugin options are those its _mergeOptions() builds
// (provider.region, custom.serverless-offline-dynamodb-streams.accountId and
// checkpointFile). Everything else (shards, iterators, polling, filtering,
// the Lambda event, retries and what happens after them) is the package's.
// Features the package does not have are declined with
// UnsupportedFeatureException (the case becomes unsupported) rather than
// passed on and silently ignored.

// The SDK's warning about Node versions past 2027 is noise in the stderr
// tail the harness keeps for a crash.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const os = require('os');
const path = require('path');

const { packageInfo } = require('../lib/pkg');

const NAME = 'serverless-offline-dynamodb-streams';
const PKG = packageInfo(NAME);
const pkgRequire = (rel) => require(path.join(PKG.dir, rel));
// The package's own copy of the SDK (the command classes its shim builds).
const fromPkg = (mod) => require(require.resolve(mod, { paths: [PKG.dir] }));

const DynamodbStreams = pkgRequire('src/dynamodb-streams.js');
const { buildCallbackClient } = pkgRequire('src/callback-adapter.js');
const { resolveTableName } = pkgRequire('src/resolve-arn.js');
const { checkpointKey } = pkgRequire('src/checkpoint-store.js');
const {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
} = fromPkg('@aws-sdk/client-dynamodb-streams');
// The SDK's retry middleware, from the copy of @smithy/core the package's
// @aws-sdk/client-dynamodb-streams uses.
const { retryMiddleware } = require(require.resolve('@smithy/core/retry', {
  paths: [path.dirname(require.resolve('@aws-sdk/client-dynamodb-streams', { paths: [PKG.dir] }))],
}));

// The retry mode the SDK's retry middleware reads on a client's first
// request: pinned to its default, so that it comes from the environment and
// not from ~/.aws/config (an asynchronous file read, outside the virtual
// clock, that made the first request race the harness).
process.env.AWS_RETRY_MODE = 'standard';

const { makeDdbStreamsStandin } = require('../lib/ddbstreams-standin');
const { makeClient } = require('../lib/aws-standin');
const { makeLambda } = require('../lib/lambda-standin');
const { unsupported, given } = require('../lib/esm-config');

const FUNCTION_KEY = 'esmcheck-function';

function missingFeatures(c) {
  const missing = [];
  if (given(c.enabled) && c.enabled === 0) missing.push('Enabled false (the event definition always enables the stream)');
  if (given(c.maximum_batching_window_s) && c.maximum_batching_window_s > 0) missing.push('batching window (batchWindow)');
  if (given(c.maximum_record_age_s) && c.maximum_record_age_s !== -1) missing.push('MaximumRecordAgeInSeconds');
  if (c.bisect_batch_on_function_error === 1) missing.push('BisectBatchOnFunctionError');
  if (given(c.function_response_types) && c.function_response_types !== 0) missing.push('FunctionResponseTypes (ReportBatchItemFailures)');
  if (given(c.parallelization_factor) && c.parallelization_factor > 1) missing.push('ParallelizationFactor above 1');
  if (given(c.tumbling_window_s) && c.tumbling_window_s > 0) missing.push('tumbling windows');
  if (c.on_failure_destination) {
    missing.push('an event source mapping OnFailure destination (its `destinations` are the function\'s '
      + 'async-invocation destinations, with another record)');
  }
  return missing;
}

// A FilterCriteria pattern as serverless.yml's filterPatterns holds it: the
// pattern object (the framework serializes it into Filters[].Pattern).
function patternObject(text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    return text;
  }
}

function accountOf(arn) {
  return String(arn || '').split(':')[4] || '';
}

async function create(ctx) {
  const c = ctx.config;
  const host = ctx.host;
  const missing = missingFeatures(c);
  if (missing.length) throw unsupported(NAME, missing);

  const streamArn = c.event_source_arn || '';
  const log = {
    debug() {},
    info: (...a) => ctx.log(a.join(' ')),
    notice: (...a) => ctx.log(a.join(' ')),
    warning: (...a) => ctx.log(a.join(' ')),
    error: (...a) => ctx.log(a.join(' ')),
    success: (...a) => ctx.log(a.join(' ')),
  };
  const options = {
    accessKeyId: '000000000000', // the plugin's defaultOptions
    accountId: accountOf(streamArn),
    checkpointFile: os.devNull,
  };
  if (c.region) options.region = c.region;

  const lambda = makeLambda(host);
  const streams = new DynamodbStreams(lambda, options, log);

  // checkpointState: the package's in-memory copy of its state file, whose
  // store is the harness's. A shard's saved checkpoint is loaded the first
  // time a DescribeStream lists the shard, before the package sees the
  // answer and picks its iterator from this state (the constructor's
  // loadState(), deferred to the moment the package first needs it, with no
  // host call of its own that a fault could hit).
  let state = {};
  const loaded = new Set();
  const onShards = async (ids) => {
    for (const id of ids) {
      if (loaded.has(id)) continue;
      loaded.add(id);
      const r = await host.call('get_checkpoint', { shard_id: id });
      const key = checkpointKey(streamArn, id);
      if (r.sequence_number && state[key] === undefined) state = Object.assign({}, state, { [key]: r.sequence_number });
    }
  };

  // The package's own clients stay the source of the SDK's retry configuration.
  const standin = makeDdbStreamsStandin({
    host, config: c, retryMiddleware, onShards,
    sdk: { dynamodb: streams.client, streams: streams.streamsClient },
  });
  streams.client = standin.dynamodb;
  streams.streamsClient = standin.streams;
  streams.readableStreamsClient = buildCallbackClient(streams.streamsClient, {
    describeStream: DescribeStreamCommand,
    getShardIterator: GetShardIteratorCommand,
    getRecords: GetRecordsCommand,
  });
  streams.sqsClient = makeClient({}, { style: 'v3', service: 'SQS', region: c.region || 'us-east-1' });

  const prefix = `${streamArn}::`;
  Object.defineProperty(streams, 'checkpointState', {
    configurable: true,
    enumerable: true,
    get: () => state,
    set: (next) => {
      const prev = state;
      state = next;
      for (const k of Object.keys(next || {})) {
        if (next[k] === prev[k] || !k.startsWith(prefix)) continue;
        host.call('checkpoint', { shard_id: k.slice(prefix.length), sequence_number: String(next[k]) })
          .catch((e) => ctx.log(`checkpoint ${k} ${next[k]}: ${e.message}`));
      }
    },
  });

  // The `stream` event of serverless.yml, keys a user leaves out left out.
  const stream = { type: 'dynamodb', arn: streamArn };
  if (given(c.batch_size)) stream.batchSize = c.batch_size;
  if (given(c.starting_position)) stream.startingPosition = c.starting_position;
  if (given(c.maximum_retry_attempts)) stream.maximumRetryAttempts = c.maximum_retry_attempts;
  if (Array.isArray(c.filter_patterns)) stream.filterPatterns = c.filter_patterns.map(patternObject);
  stream.tableName = resolveTableName(stream, { Resources: {} }); // index.js _resolveFn()

  await streams.create([{ functionKey: FUNCTION_KEY, handler: 'handler.handle', destinations: undefined, dynamodbStreams: stream }]);
  streams.start();
  return {
    streams,
    destroy() {
      // The plugin's own shutdown (offline:start:end): pause the readables.
      // The core drops every host call of a destroyed mapping.
      streams.stop();
    },
  };
}

module.exports = {
  name: NAME,
  packageName: NAME,
  packageVersion: PKG.version,
  protocol: 1,
  capabilities: ['dynamodb', 'filter', 'retry_limit', 'restart'],
  judges: 'package',
  notes: 'serverless-offline-dynamodb-streams is a Lambda emulator plugin: shard discovery (DescribeStream '
    + 'once, at start), reading (dynamodb-streams-readable: LATEST, TRIM_HORIZON or after its checkpoint; '
    + 'a 500 ms pause before each batch and between empty polls), filterPatterns, the Lambda event (the '
    + 'SDK v3 records plus eventSourceARN and awsRegion), retries (maximumRetryAttempts, default 10) and its '
    + 'restart checkpoint (#178) are all the package. The adapter stands in for serverless-offline\'s Lambda '
    + 'and for the AWS SDK v3 DynamoDB and DynamoDB Streams clients (with the SDK\'s own retry middleware), '
    + 'and keeps the package\'s checkpoint file in the harness\'s checkpoint store. filter, retry_limit and '
    + 'restart are claimed because the package implements filterPatterns, maximumRetryAttempts and restart '
    + 'checkpoints (the cases then show how). It has no batching window, record age, bisect, partial batch '
    + 'responses, parallelization, tumbling windows or ESM OnFailure destination, and ignores `enabled`: '
    + 'those configurations are declined (unsupported).',
  create,
};
