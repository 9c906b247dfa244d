'use strict';
// ddbstreams-standin.js: DynamoDB and DynamoDB Streams clients whose every
// operation is an esmcheck host call (spec/protocol.md), for packages that
// read a table's stream through the AWS SDK (serverless-offline-dynamodb-streams
// drives @aws-sdk/client-dynamodb and @aws-sdk/client-dynamodb-streams v3).
//
//   DynamoDB        DescribeTable     -> answered from the mapping's config:
//                                        the table of the stream ARN, ACTIVE,
//                                        LatestStreamArn = the stream ARN
//   DynamoDB Streams DescribeStream   -> list_shards
//                    GetShardIterator -> get_shard_iterator
//                    GetRecords       -> get_records
//                    ListStreams      -> the one stream of the mapping
//
// What the package sees is what its AWS SDK v3 clients would hand it:
//   - answers in the shapes the v3 SDK deserializes them to: a record's
//     dynamodb.ApproximateCreationDateTime is a Date, binary attributes (B,
//     BS) are Uint8Arrays, numbers stay strings ({N: "1"}), and
//     NextShardIterator is absent once a closed shard is read to its end (the
//     protocol's iterator 0); each record carries what GetRecords returns
//     (eventID, eventName, eventVersion "1.1", eventSource "aws:dynamodb",
//     awsRegion); the protocol's integer iterators become opaque strings and
//     back;
//   - service errors under the names DynamoDB Streams uses, with $metadata
//     (httpStatusCode) and $fault; the v3 SDK validates nothing client-side,
//     so a bad parameter (GetRecords Limit above 1000) is the service's
//     ValidationException;
//   - the SDK's own retries: every request runs inside the SDK's retry
//     middleware (@smithy/core retryMiddleware), configured by the package's
//     original client (its retryStrategy and maxAttempts: the package's
//     client-config.js sets 20), so throttling and 5xx errors are retried with
//     the SDK's backoff and the package sees an error only when the SDK would
//     give up.

const { makeClient, awsError: sdkError } = require('./aws-standin');

const ITERATOR_PREFIX = 'esmc-ddbstreams-iterator-';
const DESCRIBE_LIMIT = 100;     // DescribeStream: Limit 1..100, default 100
const GET_RECORDS_MAX = 1000;   // GetRecords: Limit 1..1000

const STREAMS_ERRORS = {
  '-2': ['ValidationException', 400],
  '-3': ['ValidationException', 400],
  '-4': ['ResourceNotFoundException', 400],
  '-5': ['LimitExceededException', 400],
  '-6': ['ExpiredIteratorException', 400],
  '-7': ['TrimmedDataAccessException', 400],
  '-8': ['InternalServerError', 500],
  '-9': ['AccessDeniedException', 400],
  '-10': ['ValidationException', 400],
};

function awsError(name, message, http) {
  return sdkError(name, message, { http: http || 400, retryable: (http || 400) >= 500 });
}

function renamed(err) {
  if (err && typeof err.esmcStatus === 'number') {
    const n = STREAMS_ERRORS[String(err.esmcStatus)];
    if (n) {
      err.name = n[0];
      err.code = n[0];
      err.statusCode = n[1];
      err.$fault = n[1] >= 500 ? 'server' : 'client';
      if (err.$metadata) err.$metadata.httpStatusCode = n[1];
    }
  }
  return err;
}

// arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>
function parseStreamArn(arn) {
  const parts = String(arn || '').split(':');
  const res = parts.slice(5).join(':');
  const m = /^table\/([^/]+)\/stream\/(.+)$/.exec(res);
  return {
    region: parts[3] || '',
    account: parts[4] || '',
    table: m ? m[1] : '',
    label: m ? m[2] : '',
  };
}

// An AttributeValue as the v3 SDK deserializes it: B and BS become bytes,
// M and L recurse, everything else is kept as the JSON gives it.
function attributeValue(av) {
  if (!av || typeof av !== 'object' || Array.isArray(av)) return av;
  const out = {};
  for (const [k, v] of Object.entries(av)) {
    if (k === 'B') out.B = new Uint8Array(Buffer.from(String(v), 'base64'));
    else if (k === 'BS') out.BS = (v || []).map((b) => new Uint8Array(Buffer.from(String(b), 'base64')));
    else if (k === 'M') out.M = attributeMap(v);
    else if (k === 'L') out.L = (v || []).map(attributeValue);
    else out[k] = v;
  }
  return out;
}

function attributeMap(m) {
  if (!m || typeof m !== 'object') return m;
  const out = {};
  for (const [k, v] of Object.entries(m)) out[k] = attributeValue(v);
  return out;
}

function limitError(member, value, max) {
  const cmp = value < 1 ? 'greater than or equal to 1' : `less than or equal to ${max}`;
  return awsError('ValidationException',
    `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have value ${cmp}`);
}

// The SDK's retry loop around one request, as the package's client would
// run it: retryMiddleware(client.config), with the stand-in as the next
// handler. Without the package's client (or the middleware), no retries.
function v3Retrier(sdkClient, retryMiddleware) {
  if (!sdkClient || !sdkClient.config || typeof retryMiddleware !== 'function') return (fn) => fn();
  const mw = retryMiddleware(sdkClient.config);
  return async (fn) => {
    const next = async () => {
      const output = await fn();
      output.$metadata = { httpStatusCode: 200, attempts: 1, totalRetryDelay: 0 };
      return { response: {}, output };
    };
    const { output } = await mw(next, {})({ input: {}, request: {} });
    delete output.$metadata; // makeClient adds the client's $metadata
    return output;
  };
}

// host: ctx.host of the mapping; config: the protocol config
// (event_source_arn, region); sdk: {dynamodb, streams}, the package's
// original clients (their retry configuration), and retryMiddleware, the
// SDK's (from the package's @smithy/core); both optional. onShards(ids), if
// given, is awaited after each successful DescribeStream, before the package
// sees the answer (the driver loads the package's checkpoints there).
function makeDdbStreamsStandin({ host, config, sdk, retryMiddleware, onShards }) {
  const streamArn = config.event_source_arn || '';
  const arn = parseStreamArn(streamArn);
  const region = config.region || arn.region;
  const created = Date.parse(arn.label.endsWith('Z') ? arn.label : `${arn.label}Z`);

  async function call(name, members) {
    try {
      return await host.call(name, members);
    } catch (e) {
      throw renamed(e);
    }
  }

  function checkStream(input) {
    if (!input || input.StreamArn !== streamArn) {
      throw awsError('ResourceNotFoundException',
        `Requested resource not found: Stream: ${input && input.StreamArn} not found`);
    }
  }

  function iteratorToken(n) {
    return n ? ITERATOR_PREFIX + String(n) : undefined;
  }

  function iteratorId(token) {
    if (typeof token !== 'string' || !token.startsWith(ITERATOR_PREFIX)) {
      throw awsError('ValidationException', `Invalid ShardIterator: ${String(token).slice(0, 100)}`);
    }
    const n = Number(token.slice(ITERATOR_PREFIX.length));
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw awsError('ValidationException', `Invalid ShardIterator: ${token.slice(0, 100)}`);
    }
    return n;
  }

  function shardOf(s) {
    const shard = { ShardId: s.shard_id };
    if (s.parent_shard_id) shard.ParentShardId = s.parent_shard_id;
    shard.SequenceNumberRange = { StartingSequenceNumber: s.starting_sequence_number };
    if (s.ending_sequence_number) shard.SequenceNumberRange.EndingSequenceNumber = s.ending_sequence_number;
    return shard;
  }

  function recordOf(r) {
    const d = {
      ApproximateCreationDateTime: new Date(r.approximate_arrival_ms),
      Keys: attributeMap(r.ddb_keys || {}),
    };
    if (r.ddb_new_image) d.NewImage = attributeMap(r.ddb_new_image);
    if (r.ddb_old_image) d.OldImage = attributeMap(r.ddb_old_image);
    d.SequenceNumber = r.sequence_number;
    d.SizeBytes = r.ddb_size_bytes;
    d.StreamViewType = r.ddb_stream_view_type;
    return {
      eventID: r.event_id,
      eventName: r.ddb_event_name,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: region,
      dynamodb: d,
    };
  }

  const v3 = (service) => ({ style: 'v3', service, region: region || 'us-east-1' });
  // Each operation: one request to the service, inside the SDK's retries.
  const withRetries = (ops, sdkClient) => {
    const retried = v3Retrier(sdkClient, retryMiddleware);
    const out = {};
    for (const op of Object.keys(ops)) out[op] = (input) => retried(() => ops[op](input || {}));
    return out;
  };

  const dynamodb = makeClient(withRetries({
    async DescribeTable(input) {
      if (!input || input.TableName !== arn.table) {
        throw awsError('ResourceNotFoundException', 'Requested resource not found');
      }
      return {
        Table: {
          TableName: arn.table,
          TableStatus: 'ACTIVE',
          TableArn: `arn:aws:dynamodb:${arn.region}:${arn.account}:table/${arn.table}`,
          StreamSpecification: { StreamEnabled: true },
          LatestStreamLabel: arn.label,
          LatestStreamArn: streamArn,
        },
      };
    },
  }, sdk && sdk.dynamodb), v3('DynamoDB'));

  const streams = makeClient(withRetries({
    async ListStreams(input) {
      if (input && input.TableName && input.TableName !== arn.table) return { Streams: [] };
      return { Streams: [{ StreamArn: streamArn, TableName: arn.table, StreamLabel: arn.label }] };
    },

    async DescribeStream(input) {
      checkStream(input);
      const limit = input.Limit === undefined ? DESCRIBE_LIMIT : input.Limit;
      if (limit < 1 || limit > DESCRIBE_LIMIT) throw limitError('limit', limit, DESCRIBE_LIMIT);
      const r = await call('list_shards', {});
      if (onShards) await onShards((r.shards || []).map((x) => x.shard_id));
      let all = (r.shards || []).map(shardOf);
      if (input.ExclusiveStartShardId) {
        const i = all.findIndex((s) => s.ShardId === input.ExclusiveStartShardId);
        all = i >= 0 ? all.slice(i + 1) : all;
      }
      const page = all.slice(0, limit);
      const desc = {
        StreamArn: streamArn,
        StreamLabel: arn.label,
        StreamStatus: 'ENABLED',
        TableName: arn.table,
        Shards: page,
      };
      if (Number.isFinite(created)) desc.CreationRequestDateTime = new Date(created);
      if (all.length > limit) desc.LastEvaluatedShardId = page[page.length - 1].ShardId;
      return { StreamDescription: desc };
    },

    async GetShardIterator(input) {
      checkStream(input);
      const r = await call('get_shard_iterator', {
        shard_id: input.ShardId,
        type: input.ShardIteratorType,
        sequence_number: input.SequenceNumber === undefined ? null : String(input.SequenceNumber),
        timestamp_ms: 0,
      });
      const out = {};
      const tok = iteratorToken(r.iterator);
      if (tok) out.ShardIterator = tok;
      return out;
    },

    async GetRecords(input) {
      const limit = input.Limit === undefined || input.Limit === null ? GET_RECORDS_MAX : input.Limit;
      if (limit < 1 || limit > GET_RECORDS_MAX) throw limitError('limit', limit, GET_RECORDS_MAX);
      const it = iteratorId(input.ShardIterator);
      const r = await call('get_records', { iterator: it, limit });
      const out = { Records: (r.records || []).map(recordOf) };
      const next = iteratorToken(r.next_iterator);
      if (next) out.NextShardIterator = next;
      return out;
    },
  }, sdk && sdk.streams), v3('DynamoDB Streams'));

  return { dynamodb, streams, tableName: arn.table, streamArn };
}

module.exports = { makeDdbStreamsStandin, parseStreamArn, attributeValue, ITERATOR_PREFIX };
