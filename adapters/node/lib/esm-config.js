'use strict';
// The mapping configuration (the protocol's `config`, struct
// esmc_mapping_config) with AWS's defaults applied, and the rejections a
// driver sends when a package lacks a feature.

const { configError } = require('./core');

const FRT_REPORT_BATCH_ITEM_FAILURES = 1;

function given(v) {
  return v !== undefined && v !== null;
}

// SQS (spec/sqs.md): BatchSize defaults to 10 (standard and FIFO), no
// batching window, Enabled true, no concurrency cap.
function sqsConfig(c) {
  return {
    fifo: c.source === 'sqs_fifo',
    batchSize: given(c.batch_size) ? c.batch_size : 10,
    windowS: given(c.maximum_batching_window_s) ? c.maximum_batching_window_s : 0,
    enabled: given(c.enabled) ? c.enabled !== 0 : true,
    reportBatchItemFailures: given(c.function_response_types) && (c.function_response_types & FRT_REPORT_BATCH_ITEM_FAILURES) !== 0,
    maxConcurrency: given(c.maximum_concurrency) ? c.maximum_concurrency : null,
    filters: Array.isArray(c.filter_patterns) ? c.filter_patterns : null,
    arn: c.event_source_arn || '',
    region: c.region || '',
    functionArn: c.function_arn || '',
  };
}

// Apply an update's members (those present) onto an sqsConfig.
function sqsUpdate(cur, u) {
  const next = Object.assign({}, cur);
  if (given(u.batch_size)) next.batchSize = u.batch_size;
  if (given(u.maximum_batching_window_s)) next.windowS = u.maximum_batching_window_s;
  if (given(u.enabled)) next.enabled = u.enabled !== 0;
  if (given(u.function_response_types)) next.reportBatchItemFailures = (u.function_response_types & FRT_REPORT_BATCH_ITEM_FAILURES) !== 0;
  if (given(u.maximum_concurrency)) next.maxConcurrency = u.maximum_concurrency;
  if (Array.isArray(u.filter_patterns)) next.filters = u.filter_patterns;
  return next;
}

// The package has no such feature: the case becomes `unsupported`.
function unsupported(pkg, features) {
  return configError(-3, 'UnsupportedFeatureException',
    `${pkg} has no ${features.join(', ')} (esmcheck's driver declines rather than fakes it)`);
}

// The package itself refused the configuration (its constructor threw).
function packageRejected(pkg, err) {
  return configError(-2, 'InvalidParameterValueException', `${pkg}: ${err && err.message || err}`);
}

module.exports = { sqsConfig, sqsUpdate, unsupported, packageRejected, given, FRT_REPORT_BATCH_ITEM_FAILURES };
