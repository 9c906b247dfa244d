'use strict';
// Driver: sqs-consumer (bbc/sqs-consumer), an SQS poller, judged unmodified.
//
// The package polls (ReceiveMessage, long poll), hands each receive's
// messages to handleMessageBatch, deletes the messages the handler returns
// (DeleteMessageBatch) and polls again once the batch is done: one batch at
// a time. Its `sqs:` option takes any object with send(command): here the
// SQS stand-in, answered by the harness's queue.
//
// GLUE (this file and lib/sqs-event.js), not the package: the Lambda event
// built from the messages, the invoke, and the reading of the response
// (batchItemFailures) into the list of messages to acknowledge. A user
// putting Lambda behind sqs-consumer would write the same handler.

const { Consumer } = require('sqs-consumer');
const { makeSqsClient, queueUrlOf } = require('../lib/sqs-standin');
const { sqsEvent, readBatchResponse } = require('../lib/sqs-event');
const { sqsConfig, sqsUpdate, unsupported, packageRejected } = require('../lib/esm-config');

const { packageVersion } = require('../lib/pkg');

const NAME = 'sqs-consumer';

function checkFeatures(c) {
  const missing = [];
  if (c.windowS > 0) missing.push('batching window (MaximumBatchingWindowInSeconds)');
  if (c.batchSize > 10) missing.push('batches above 10 messages (one receive is one batch)');
  if (c.filters && c.filters.length) missing.push('event filtering (FilterCriteria)');
  if (missing.length) throw unsupported(NAME, missing);
}

function create(ctx) {
  let cfg = sqsConfig(ctx.config);
  checkFeatures(cfg);
  const sqs = makeSqsClient(ctx, { style: 'v3' });

  async function handleMessageBatch(messages) {
    const payload = sqsEvent(messages, ctx.config);
    const result = await ctx.host.invoke(payload);
    const ids = messages.map((m) => m.MessageId);
    const r = readBatchResponse(result, ids, cfg.reportBatchItemFailures);
    if (r.kind === 'failure') {
      const err = new Error(result.outcome === 0 ? 'invalid batchItemFailures response'
        : `invocation failed (outcome ${result.outcome}, ${result.function_error || result.status_code})`);
      throw err; // sqs-consumer acknowledges nothing; the messages return after their visibility timeout
    }
    return messages.filter((m) => !r.failed.has(m.MessageId));
  }

  let consumer;
  try {
    consumer = Consumer.create({
      queueUrl: queueUrlOf(cfg.arn),
      sqs,
      handleMessageBatch,
      batchSize: cfg.batchSize,
      waitTimeSeconds: 20,
      attributeNames: ['All'],
      messageAttributeNames: ['All'],
      suppressFifoWarning: true,
    });
  } catch (e) {
    throw packageRejected(NAME, e);
  }
  for (const ev of ['error', 'processing_error', 'timeout_error']) {
    consumer.on(ev, (err) => ctx.log(`${ev}: ${err && err.message}`));
  }
  if (cfg.enabled) consumer.start();

  return {
    consumer,
    update(u) {
      const next = sqsUpdate(cfg, u);
      checkFeatures(next);
      if (next.batchSize !== cfg.batchSize) {
        try {
          consumer.updateOption('batchSize', next.batchSize);
        } catch (e) {
          throw packageRejected(NAME, e);
        }
      }
      cfg = next;
      // Disabling stops polling AND aborts the receive in flight (its
      // messages stay hidden until their visibility timeout), as Lambda
      // stops handing messages to the function once a mapping is disabled.
      if (cfg.enabled) consumer.start();
      else consumer.stop({ abort: true });
    },
    destroy() {
      consumer.stop();
    },
  };
}

module.exports = {
  name: NAME,
  packageName: 'sqs-consumer',
  packageVersion: packageVersion('sqs-consumer'),
  protocol: 2,
  capabilities: ['sqs', 'sqs_fifo', 'partial_batch', 'update', 'restart', 'enabled_flag'],
  judges: 'glue+package',
  notes: 'sqs-consumer is an SQS poller, not a Lambda emulator: polling, batching (one receive = one batch, '
    + 'at most 10), deletion and visibility are the package; the Lambda event (SQS-EVT-*) and the reading of '
    + 'batchItemFailures (SQS-PBR-*) are the adapter\'s glue (lib/sqs-event.js).',
  create,
};
