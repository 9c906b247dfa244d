'use strict';
// The SQS stand-in: the operations an SQS poller uses, answered by the
// harness's simulated queue through protocol 2 host calls, in the AWS SDK's
// response shapes (the JSON protocol both SDK lines use today).
//
//   const sqs = makeSqsClient(ctx, { style: 'v3' });   // or 'v2'
//
// ReceiveMessage -> receive_messages (asynchronous: the messages arrive at
// the harness's receive_complete), DeleteMessage(Batch) -> delete_message,
// ChangeMessageVisibility(Batch) -> change_message_visibility,
// GetQueueAttributes -> get_queue_attributes, GetQueueUrl is answered
// locally from the mapping's ARN.

const { makeClient, awsError } = require('./aws-standin');
const { statusError } = require('./core');

function parseArn(arn) {
  const parts = String(arn || '').split(':');
  // arn:aws:sqs:REGION:ACCOUNT:NAME
  return {
    region: parts[3] || 'us-east-1',
    account: parts[4] || '000000000000',
    name: parts.slice(5).join(':') || 'esmcheck-queue',
  };
}

function queueUrlOf(arn) {
  const a = parseArn(arn);
  return `https://sqs.${a.region}.amazonaws.com/${a.account}/${a.name}`;
}

const SYSTEM_ATTRIBUTES = ['SenderId', 'SentTimestamp', 'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp', 'SequenceNumber', 'MessageDeduplicationId', 'MessageGroupId'];

function wanted(list, name) {
  if (!Array.isArray(list) || list.length === 0) return false;
  for (const w of list) {
    if (w === 'All' || w === '.*') return true;
    if (w === name) return true;
    if (typeof w === 'string' && w.endsWith('.*') && name.startsWith(w.slice(0, -1))) return true;
  }
  return false;
}

// A protocol message (struct esmc_message) as the SDK's Message.
function toSdkMessage(m, input, binary) {
  const sys = [].concat(input.AttributeNames || [], input.MessageSystemAttributeNames || []);
  const out = {
    MessageId: m.message_id,
    ReceiptHandle: m.receipt_handle,
    MD5OfBody: m.md5_of_body,
    Body: m.body_encoding === 'base64' ? Buffer.from(m.body, 'base64').toString('utf8') : m.body,
  };
  const all = {
    SenderId: m.sender_id,
    SentTimestamp: String(m.sent_timestamp_ms),
    ApproximateReceiveCount: String(m.approximate_receive_count),
    ApproximateFirstReceiveTimestamp: String(m.first_receive_timestamp_ms),
  };
  if (m.sequence_number !== undefined) all.SequenceNumber = m.sequence_number;
  if (m.message_deduplication_id !== undefined) all.MessageDeduplicationId = m.message_deduplication_id;
  if (m.message_group_id !== undefined) all.MessageGroupId = m.message_group_id;
  const attrs = {};
  for (const k of SYSTEM_ATTRIBUTES) {
    if (all[k] !== undefined && all[k] !== null && wanted(sys, k)) attrs[k] = all[k];
  }
  if (Object.keys(attrs).length) out.Attributes = attrs;
  const mas = {};
  for (const a of m.attributes || []) {
    if (!wanted(input.MessageAttributeNames, a.name)) continue;
    const v = { DataType: a.data_type };
    if (a.binary_value_b64 !== undefined) {
      const buf = Buffer.from(a.binary_value_b64, 'base64');
      v.BinaryValue = binary === 'buffer' ? buf : new Uint8Array(buf);
    } else {
      v.StringValue = a.string_value;
    }
    mas[a.name] = v;
  }
  if (Object.keys(mas).length) {
    out.MD5OfMessageAttributes = m.md5_of_message_attributes;
    out.MessageAttributes = mas;
  }
  return out;
}

function checkBatch(entries) {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw awsError('AWS.SimpleQueueService.EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
  }
  if (entries.length > 10) {
    throw awsError('AWS.SimpleQueueService.TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`);
  }
  const ids = new Set();
  for (const e of entries) {
    if (ids.has(e.Id)) throw awsError('AWS.SimpleQueueService.BatchEntryIdsNotDistinct', `Id ${e.Id} repeated.`);
    ids.add(e.Id);
  }
}

function failedEntry(id, err) {
  return { Id: id, SenderFault: true, Code: err.name === 'ReceiptHandleIsInvalid' ? 'ReceiptHandleIsInvalid' : err.name, Message: err.message };
}

function makeSqsHandlers(ctx, { binary = 'uint8array' } = {}) {
  const host = ctx.host;
  const arn = ctx.config.event_source_arn;
  const url = queueUrlOf(arn);
  let attrs = null;

  async function queueAttributes() {
    if (!attrs) attrs = (await host.call('get_queue_attributes')).attributes || {};
    return attrs;
  }

  return {
    async GetQueueUrl(input) {
      const a = parseArn(arn);
      if (input.QueueName && input.QueueName !== a.name) {
        throw awsError('AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist for this wsdl version.');
      }
      return { QueueUrl: url };
    },

    async GetQueueAttributes(input) {
      const q = await queueAttributes();
      const a = parseArn(arn);
      const all = {
        QueueArn: arn,
        VisibilityTimeout: String(q.visibility_timeout_s),
        MessageRetentionPeriod: String(q.message_retention_s),
        DelaySeconds: String(q.delay_s),
        ReceiveMessageWaitTimeSeconds: String(q.receive_wait_time_s),
        MaximumMessageSize: '262144',
      };
      if (q.dead_letter_target_arn) {
        all.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: q.dead_letter_target_arn, maxReceiveCount: q.max_receive_count });
      }
      if (q.fifo) {
        all.FifoQueue = 'true';
        all.ContentBasedDeduplication = q.content_based_deduplication ? 'true' : 'false';
      }
      void a;
      const names = input.AttributeNames || [];
      const out = {};
      for (const k of Object.keys(all)) if (names.includes('All') || names.includes(k)) out[k] = all[k];
      return { Attributes: out };
    },

    async ReceiveMessage(input, options) {
      const max = input.MaxNumberOfMessages === undefined ? 1 : input.MaxNumberOfMessages;
      if (!(Number.isInteger(max) && max >= 1 && max <= 10)) {
        throw awsError('AWS.SimpleQueueService.ReadCountOutOfRange',
          `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`);
      }
      let wait = input.WaitTimeSeconds;
      if (wait === undefined || wait === null) wait = (await queueAttributes()).receive_wait_time_s || 0;
      if (!(Number.isInteger(wait) && wait >= 0 && wait <= 20)) {
        throw awsError('InvalidParameterValue',
          `Value ${wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.`);
      }
      const vis = input.VisibilityTimeout;
      if (vis !== undefined && vis !== null && !(Number.isInteger(vis) && vis >= 0 && vis <= 43200)) {
        throw awsError('InvalidParameterValue',
          `Value ${vis} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.`);
      }
      void options;
      const r = await host.receive({ max_messages: max, wait_time_s: wait, visibility_timeout_s: vis === undefined || vis === null ? -1 : vis });
      if (r.status !== 0) throw statusError(r.status, 'receive_messages');
      const out = {};
      if (r.messages.length) out.Messages = r.messages.map((m) => toSdkMessage(m, input, binary));
      return out;
    },

    async DeleteMessage(input) {
      await host.call('delete_message', { receipt_handle: input.ReceiptHandle });
      return {};
    },

    async DeleteMessageBatch(input) {
      checkBatch(input.Entries);
      const Successful = [];
      const Failed = [];
      for (const e of input.Entries) {
        try {
          await host.call('delete_message', { receipt_handle: e.ReceiptHandle });
          Successful.push({ Id: e.Id });
        } catch (err) {
          Failed.push(failedEntry(e.Id, err));
        }
      }
      const out = { Successful };
      if (Failed.length) out.Failed = Failed;
      return out;
    },

    async ChangeMessageVisibility(input) {
      const v = input.VisibilityTimeout;
      if (!(Number.isInteger(v) && v >= 0 && v <= 43200)) {
        throw awsError('InvalidParameterValue', `Value ${v} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200.`);
      }
      await host.call('change_message_visibility', { receipt_handle: input.ReceiptHandle, visibility_timeout_s: v });
      return {};
    },

    async ChangeMessageVisibilityBatch(input) {
      checkBatch(input.Entries);
      const Successful = [];
      const Failed = [];
      for (const e of input.Entries) {
        const v = e.VisibilityTimeout;
        try {
          if (!(Number.isInteger(v) && v >= 0 && v <= 43200)) {
            throw awsError('InvalidParameterValue', `Value ${v} for parameter VisibilityTimeout is invalid.`);
          }
          await host.call('change_message_visibility', { receipt_handle: e.ReceiptHandle, visibility_timeout_s: v });
          Successful.push({ Id: e.Id });
        } catch (err) {
          Failed.push(failedEntry(e.Id, err));
        }
      }
      const out = { Successful };
      if (Failed.length) out.Failed = Failed;
      return out;
    },
  };
}

function makeSqsClient(ctx, { style = 'v3', binary } = {}) {
  const a = parseArn(ctx.config.event_source_arn);
  return makeClient(makeSqsHandlers(ctx, { binary: binary || (style === 'v2' ? 'buffer' : 'uint8array') }),
    { style, service: 'SQS', region: a.region });
}

module.exports = { makeSqsClient, makeSqsHandlers, toSdkMessage, parseArn, queueUrlOf };
