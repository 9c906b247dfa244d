'use strict';
// Driver: serverless-offline-sqs, a Lambda emulator's SQS poller, judged
// unmodified.
//
// The plugin's poller class (src/sqs.js) is built as the plugin builds it
// (new SQS(lambda, resources, options), then create([{functionKey, sqs}])
// and start()), without the Serverless framework:
//   - `lambda` is lib/lambda-standin.js (serverless-offline's Lambda: get()
//     -> setEvent/runHandler), invoking the harness's function;
//   - its aws-sdk v2 client (the `client` field) is replaced after
//     construction by the v2-style SQS stand-in;
//   - @serverless/utils/log, which the framework provides, is the local
//     stand-in package stubs/serverless-utils (a file: dependency).
// The sqs event definition is what a serverless.yml user writes:
// {arn, batchSize, enabled}. Everything else (how it receives, the event it
// builds, what it deletes) is the package's.

process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';

const SQS = require('serverless-offline-sqs/src/sqs');
const { makeSqsClient, parseArn } = require('../lib/sqs-standin');
const { makeLambda } = require('../lib/lambda-standin');
const { sqsConfig, unsupported } = require('../lib/esm-config');
const { packageVersion } = require('../lib/pkg');

const NAME = 'serverless-offline-sqs';

async function create(ctx) {
  const cfg = sqsConfig(ctx.config);
  const missing = [];
  if (cfg.windowS > 0) missing.push('batching window (maximumBatchingWindow)');
  if (cfg.reportBatchItemFailures) missing.push('partial batch responses (functionResponseType)');
  if (cfg.filters && cfg.filters.length) missing.push('event filtering (filterPatterns)');
  if (missing.length) throw unsupported(NAME, missing);

  const arn = parseArn(cfg.arn);
  const lambda = makeLambda(ctx.host);
  const options = { region: arn.region, accountId: arn.account };
  const poller = new SQS(lambda, {}, options);
  poller.client = makeSqsClient(ctx, { style: 'v2' });

  const definition = { arn: cfg.arn };
  if (ctx.config.batch_size !== undefined && ctx.config.batch_size !== null) definition.batchSize = cfg.batchSize;
  if (ctx.config.enabled !== undefined && ctx.config.enabled !== null) definition.enabled = cfg.enabled;

  await poller.create([{ functionKey: 'esmcheck-function', sqs: definition }]);
  poller.start();
  return {
    poller,
    destroy() {
      poller.stop();
    },
  };
}

module.exports = {
  name: NAME,
  packageName: 'serverless-offline-sqs',
  packageVersion: packageVersion('serverless-offline-sqs'),
  protocol: 2,
  capabilities: ['sqs', 'sqs_fifo', 'restart', 'enabled_flag'],
  judges: 'package',
  notes: 'serverless-offline-sqs is a Lambda emulator plugin: receiving, batching, the Lambda event and the '
    + 'deletes are all the package (src/sqs.js, src/sqs-event.js). The adapter only stands in for '
    + 'serverless-offline\'s Lambda (invoke) and for the aws-sdk v2 SQS client. Its sqs event definition '
    + 'has no batching window, partial batch responses or filters: those cases are unsupported. '
    + 'enabled_flag is claimed because the plugin reads `enabled` from the event definition.',
  create,
};
