'use strict';
// The Lambda side of an SQS event source mapping, for packages that are SQS
// pollers rather than Lambda emulators (sqs-consumer, squiss-ts). This is
// GLUE, not the package: verdicts on the event's shape (SQS-EVT-*) and on
// the reading of batchItemFailures (SQS-PBR-*) judge this file.
//
//   sqsEvent(messages, cfg)         the event JSON text, from the SDK Message
//                                   objects the package hands its handler, in
//                                   exactly the shape the reference mapper
//                                   emits (reference/ref_sqs.c)
//   readBatchResponse(result, ids, reportBatchItemFailures)
//                                   {kind: 'success'|'partial'|'failure',
//                                    failed: Set of messageIds}

function jstr(s) {
  return JSON.stringify(s === undefined || s === null ? '' : String(s));
}

function b64(v) {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return Buffer.from(v).toString('base64');
  return Buffer.from(v.buffer ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v).toString('base64');
}

function attributesJson(mas) {
  const parts = [];
  for (const name of Object.keys(mas || {})) {
    const a = mas[name] || {};
    const dt = a.DataType;
    const binary = typeof dt === 'string' && dt.startsWith('Binary');
    let s = jstr(name);
    if (binary) s += ':{"binaryValue":"' + b64(a.BinaryValue) + '"';
    else s += ':{"stringValue":' + jstr(a.StringValue);
    s += ',"stringListValues":[],"binaryListValues":[],"dataType":' + jstr(dt) + '}';
    parts.push(s);
  }
  return '{' + parts.join(',') + '}';
}

function recordJson(m, cfg) {
  const at = m.Attributes || {};
  let s = '{"messageId":' + jstr(m.MessageId) +
    ',"receiptHandle":' + jstr(m.ReceiptHandle) +
    ',"body":' + jstr(m.Body) +
    ',"attributes":{"ApproximateReceiveCount":' + jstr(at.ApproximateReceiveCount) +
    ',"SentTimestamp":' + jstr(at.SentTimestamp) +
    ',"SenderId":' + jstr(at.SenderId) +
    ',"ApproximateFirstReceiveTimestamp":' + jstr(at.ApproximateFirstReceiveTimestamp);
  if (at.SequenceNumber !== undefined) s += ',"SequenceNumber":' + jstr(at.SequenceNumber);
  if (at.MessageGroupId !== undefined) s += ',"MessageGroupId":' + jstr(at.MessageGroupId);
  if (at.MessageDeduplicationId !== undefined) s += ',"MessageDeduplicationId":' + jstr(at.MessageDeduplicationId);
  s += '},"messageAttributes":' + attributesJson(m.MessageAttributes);
  if (m.MessageAttributes && Object.keys(m.MessageAttributes).length > 0) {
    s += ',"md5OfMessageAttributes":' + (m.MD5OfMessageAttributes ? jstr(m.MD5OfMessageAttributes) : 'null');
  }
  s += ',"md5OfBody":' + jstr(m.MD5OfBody) +
    ',"eventSource":"aws:sqs","eventSourceARN":' + jstr(cfg.event_source_arn) +
    ',"awsRegion":' + jstr(cfg.region) + '}';
  return s;
}

function sqsEvent(messages, cfg) {
  return '{"Records":[' + messages.map((m) => recordJson(m, cfg)).join(',') + ']}';
}

// How Lambda reads an SQS function's response (spec/sqs.md SQS-PBR-1/2/3).
function readBatchResponse(result, ids, reportBatchItemFailures) {
  if (result.outcome !== 0) return { kind: 'failure', failed: new Set(ids) };
  if (!reportBatchItemFailures) return { kind: 'success', failed: new Set() };
  const success = { kind: 'success', failed: new Set() };
  const invalid = { kind: 'failure', failed: new Set(ids) };
  const text = result.payload;
  if (text === null || text === undefined || text.trim() === '') return success;
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return invalid;
  }
  if (v === null) return success;
  if (typeof v === 'string') return v === '' ? success : invalid;
  if (Array.isArray(v)) return v.length === 0 ? success : invalid;
  if (typeof v !== 'object') return invalid;
  const f = v.batchItemFailures;
  if (f === undefined || f === null) return success;
  if (!Array.isArray(f)) return invalid;
  if (f.length === 0) return success;
  const known = new Set(ids);
  const failed = new Set();
  for (const item of f) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) return invalid;
    const id = item.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !known.has(id)) return invalid;
    failed.add(id);
  }
  return { kind: 'partial', failed };
}

module.exports = { sqsEvent, recordJson, readBatchResponse };
