'use strict';
// Driver: squiss-ts, an SQS poller, judged unmodified.
//
// Squiss keeps receiving (long polls of up to receiveBatchSize messages)
// while fewer than maxInFlight messages are in its hands, emits each message
// as a 'message' event, and deletes the messages handed back with del() in
// batches (DeleteMessageBatch, after deleteWaitMs or 10 deletions). keep()
// hands a message back without deleting it. Its `SQS:` option takes an
// AWS SDK v3 aggregated client (receiveMessage(params, {abortSignal}) ...):
// here the SQS stand-in, answered by the harness's queue.
//
// GLUE (this file and lib/sqs-event.js), not the package: the messages of
// one receive ('gotMessages' n, then n 'message' events) form one Lambda
// batch; the Lambda event, the invoke, and the reading of the response
// (batchItemFailures): del() for the messages that succeeded, keep() for
// the others (they return after their visibility timeout, as in Lambda).
// Concurrency: maxInFlight = BatchSize x MaximumConcurrency (5, Lambda's
// initial SQS concurrency, when no cap is set).

const { Squiss } = require('squiss-ts');
const { makeSqsClient, queueUrlOf } = require('../lib/sqs-standin');
const { sqsEvent, readBatchResponse } = require('../lib/sqs-event');
const { sqsConfig, sqsUpdate, unsupported, packageRejected } = require('../lib/esm-config');
const { packageVersion } = require('../lib/pkg');

const NAME = 'squiss-ts';
const INITIAL_CONCURRENCY = 5;

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
  const concurrency = cfg.maxConcurrency || INITIAL_CONCURRENCY;

  let squiss;
  try {
    squiss = new Squiss({
      queueUrl: queueUrlOf(cfg.arn),
      SQS: makeSqsClient(ctx, { style: 'v3' }),
      receiveBatchSize: cfg.batchSize,
      maxInFlight: cfg.batchSize * concurrency,
      receiveWaitTimeSecs: 20,
      receiveAttributes: ['All'],
      receiveSqsAttributes: ['All'],
      bodyFormat: 'plain',
    });
  } catch (e) {
    throw packageRejected(NAME, e);
  }

  // One receive's messages are one batch.
  const groups = [];
  squiss.on('gotMessages', (n) => groups.push({ want: n, msgs: [] }));
  squiss.on('message', (msg) => {
    const g = groups.find((x) => x.msgs.length < x.want);
    if (!g) {
      ctx.log('a message outside any receive; invoking it alone');
      invokeBatch([msg]);
      return;
    }
    g.msgs.push(msg);
    if (g.msgs.length === g.want) {
      groups.splice(groups.indexOf(g), 1);
      invokeBatch(g.msgs);
    }
  });
  for (const ev of ['error', 'delError', 'aborted']) {
    squiss.on(ev, (err) => ctx.log(`${ev}: ${err && (err.message || err.error && err.error.Message) || err}`));
  }

  async function invokeBatch(msgs) {
    const raw = msgs.map((m) => m.raw);
    let result;
    try {
      result = await ctx.host.invoke(sqsEvent(raw, ctx.config));
    } catch (e) {
      ctx.log(`invoke failed: ${e.message}`);
      msgs.forEach((m) => m.keep());
      return;
    }
    const r = readBatchResponse(result, raw.map((m) => m.MessageId), cfg.reportBatchItemFailures);
    for (const m of msgs) {
      if (r.failed.has(m.raw.MessageId)) m.keep();
      else m.del();
    }
  }

  if (cfg.enabled) squiss.start().catch((e) => ctx.log(`start: ${e.message}`));

  return {
    squiss,
    update(u) {
      const next = sqsUpdate(cfg, u);
      checkFeatures(next);
      if (next.batchSize !== cfg.batchSize || next.maxConcurrency !== cfg.maxConcurrency) {
        // Squiss's options are fixed at construction; it has no way to
        // change them on a running poller.
        throw unsupported(NAME, ['update of BatchSize or MaximumConcurrency on a running poller']);
      }
      const wasEnabled = cfg.enabled;
      cfg = next;
      if (cfg.enabled && !wasEnabled) squiss.start().catch((e) => ctx.log(`start: ${e.message}`));
      if (!cfg.enabled && wasEnabled) squiss.stop(false).catch((e) => ctx.log(`stop: ${e.message}`));
    },
    destroy() {
      squiss.stop(false).catch(() => {});
    },
  };
}

module.exports = {
  name: NAME,
  packageName: 'squiss-ts',
  packageVersion: packageVersion('squiss-ts'),
  protocol: 2,
  capabilities: ['sqs', 'sqs_fifo', 'partial_batch', 'update', 'restart', 'enabled_flag'],
  judges: 'glue+package',
  notes: 'squiss-ts is an SQS poller, not a Lambda emulator: receiving, concurrency (maxInFlight), batched '
    + 'deletes and visibility are the package; grouping one receive into one batch, the Lambda event '
    + '(SQS-EVT-*) and the reading of batchItemFailures (SQS-PBR-*) are the adapter\'s glue '
    + '(drivers/squiss.js, lib/sqs-event.js). Updates: only Enabled (start/stop); BatchSize updates are '
    + 'declined (squiss has no runtime option update).',
  create,
};
