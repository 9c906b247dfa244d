'use strict';
// Driver: serverless-offline-kinesis, a Lambda emulator's Kinesis poller,
// judged unmodified.
//
// The plugin's poller class (src/kinesis.js) is built as the plugin builds it
// (new Kinesis(lambda, options), then create([{functionKey, kinesis}]) and
// start()), without the Serverless framework:
//   - `lambda` is lib/lambda-standin.js (serverless-offline's Lambda: get()
//     -> setEvent/runHandler), invoking the harness's function;
//   - its aws-sdk v2 client (the `client` field) is replaced after
//     construction by lib/kinesis-standin.js: DescribeStream, GetShardIterator
//     and GetRecords become list_shards, get_shard_iterator and get_records.
//     kinesis-readable, which the package pipes into its handler, reads
//     through that same client. The package's original AWS.Kinesis stays the
//     source of the SDK's retry policy (retryableError, numRetries,
//     retryDelays): the stand-in retries throttles and 5xx errors as the v2
//     request cycle would, and validates parameters as the v2 client does.
// The stream event is what a serverless.yml user writes:
//   stream: {type: kinesis, arn, batchSize, startingPosition}
// and the plugin options are those its _mergeOptions() builds from
// `provider.region` and `custom.serverless-offline-kinesis.accountId`.
// Everything else (shard discovery, iterators, polling, the Lambda event,
// what happens when the function fails) is the package's.
//
// The package has no checkpoints, so the adapter makes no `checkpoint` call.
// Features the package does not have are declined with
// UnsupportedFeatureException (the case becomes unsupported) rather than
// passed on and silently ignored.

process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';

const Kinesis = require('serverless-offline-kinesis/src/kinesis');
const { makeKinesisStandin } = require('../lib/kinesis-standin');
const { makeLambda } = require('../lib/lambda-standin');
const { unsupported, given } = require('../lib/esm-config');
const { packageVersion } = require('../lib/pkg');

const NAME = 'serverless-offline-kinesis';
const FUNCTION_KEY = 'esmcheck-function';

// What the package has no way to do (its event definition ignores these
// keys; kinesis-readable refuses any iterator but LATEST and TRIM_HORIZON).
function missingFeatures(c) {
  const missing = [];
  if (given(c.enabled) && c.enabled === 0) missing.push('Enabled false (the event definition always enables the stream)');
  if (c.starting_position === 'AT_TIMESTAMP') missing.push('StartingPosition AT_TIMESTAMP (kinesis-readable takes LATEST or TRIM_HORIZON only)');
  if (given(c.maximum_batching_window_s) && c.maximum_batching_window_s > 0) missing.push('batching window (batchWindow)');
  if (given(c.maximum_retry_attempts) && c.maximum_retry_attempts !== -1) missing.push('MaximumRetryAttempts (it retries a failing batch forever)');
  if (given(c.maximum_record_age_s) && c.maximum_record_age_s !== -1) missing.push('MaximumRecordAgeInSeconds');
  if (c.bisect_batch_on_function_error === 1) missing.push('BisectBatchOnFunctionError');
  if (given(c.function_response_types) && c.function_response_types !== 0) missing.push('FunctionResponseTypes (ReportBatchItemFailures)');
  if (given(c.parallelization_factor) && c.parallelization_factor > 1) missing.push('ParallelizationFactor above 1');
  if (given(c.tumbling_window_s) && c.tumbling_window_s > 0) missing.push('tumbling windows');
  if (Array.isArray(c.filter_patterns) && c.filter_patterns.length) missing.push('event filtering (filterPatterns)');
  if (c.on_failure_destination) missing.push('an OnFailure destination');
  return missing;
}

function accountOf(arn) {
  return String(arn || '').split(':')[4] || '';
}

async function create(ctx) {
  const c = ctx.config;
  const missing = missingFeatures(c);
  if (missing.length) throw unsupported(NAME, missing);

  const lambda = makeLambda(ctx.host);
  // _mergeOptions(): {accountId: '000000000000'} + provider + custom; a user
  // whose stream lives in another account sets custom.serverless-offline-kinesis.accountId.
  const options = { accountId: accountOf(c.event_source_arn) || '000000000000' };
  if (c.region) options.region = c.region;
  const kinesis = new Kinesis(lambda, options);
  // The package's AWS.Kinesis stays the source of the SDK's retry policy.
  kinesis.client = makeKinesisStandin({ host: ctx.host, config: c, sdk: kinesis.client });

  // The `stream` event of serverless.yml, keys a user leaves out left out.
  const stream = { type: 'kinesis', arn: c.event_source_arn };
  if (given(c.batch_size)) stream.batchSize = c.batch_size;
  if (given(c.starting_position)) stream.startingPosition = c.starting_position;
  if (given(c.maximum_retry_attempts)) stream.maximumRetryAttempts = c.maximum_retry_attempts;

  await kinesis.create([{ functionKey: FUNCTION_KEY, handler: 'handler.handle', kinesis: stream }]);
  kinesis.start();
  return {
    kinesis,
    destroy() {
      // The plugin's own shutdown (offline:start:end): pause the readables.
      // The core drops every host call of a destroyed mapping, so the
      // package's pending reads stop there.
      kinesis.stop();
    },
  };
}

module.exports = {
  name: NAME,
  packageName: 'serverless-offline-kinesis',
  packageVersion: packageVersion('serverless-offline-kinesis'),
  protocol: 1,
  capabilities: ['kinesis'],
  judges: 'package',
  notes: 'serverless-offline-kinesis is a Lambda emulator plugin: shard discovery (DescribeStream once, at '
    + 'start), reading (kinesis-readable: LATEST or TRIM_HORIZON iterators, a 500 ms pause before each batch '
    + 'and between empty polls), the Lambda event (src/kinesis-event.js) and the retry of a failing batch '
    + '(every 500 ms, forever) are all the package. The adapter stands in for serverless-offline\'s Lambda '
    + 'and for the aws-sdk v2 Kinesis client. The package has no checkpoints, no resharding, no '
    + 'MaximumRetryAttempts, record age, bisect, partial batch responses, parallelization, windows, filters '
    + 'or destinations, and ignores `enabled`: those configurations are declined (unsupported).',
  create,
};
