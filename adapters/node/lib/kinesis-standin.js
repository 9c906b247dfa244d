'use strict';
// kinesis-standin.js: an aws-sdk v2 `AWS.Kinesis` client whose every
// operation is an esmcheck host call (spec/protocol.md), for packages that
// read Kinesis through aws-sdk v2 (serverless-offline-kinesis, and the
// kinesis-readable it pipes from).
//
//   DescribeStream, ListShards  -> list_shards
//   GetShardIterator            -> get_shard_iterator
//   GetRecords                  -> get_records
//   waitFor('streamExists')     -> DescribeStream, as the v2 waiter does
//
// What the package sees is what aws-sdk v2 would hand it:
//   - answers in the SDK's shapes: a record's Data is a Buffer and its
//     ApproximateArrivalTimestamp a Date; the protocol's integer iterators
//     become opaque strings and back; NextShardIterator is null once a closed
//     shard is read to its end (the protocol's iterator 0);
//   - the SDK's client-side parameter validation (paramValidation: true): a
//     required member that is missing or null, or a number under its minimum,
//     fails before anything is sent (MissingRequiredParameter, MinRangeError);
//   - service errors under the names Kinesis uses, with statusCode;
//   - the SDK's own retries: a retryable error (throttling, 5xx) is retried
//     up to the client's maxRetries (Kinesis: 3) after Math.random() *
//     2^n * 100 ms, decided by the package's original AWS.Kinesis object
//     (retryableError, numRetries, retryDelays), exactly as the v2 request
//     cycle does; the package sees the error only when the SDK would give up.
//
// Nothing here checkpoints: the stream and its shards belong to the harness,
// and only the package decides what it reads.

const { makeClient, awsError: sdkError } = require('./aws-standin');

const ITERATOR_PREFIX = 'esmc-kinesis-iterator-';
const DESCRIBE_LIMIT = 100;       // DescribeStream: Limit 1..100 (default 100)
const LIST_SHARDS_LIMIT = 1000;   // ListShards: MaxResults 1..10000 (default 1000)
const GET_RECORDS_MAX = 10000;    // GetRecords: Limit 1..10000

// The names Kinesis gives the esmcheck statuses (the core's defaults are
// generic; these are the service's) and their HTTP status.
const KINESIS_ERRORS = {
  '-2': ['InvalidArgumentException', 400],
  '-3': ['InvalidArgumentException', 400],
  '-4': ['ResourceNotFoundException', 400],
  '-5': ['ProvisionedThroughputExceededException', 400],
  '-6': ['ExpiredIteratorException', 400],
  '-7': ['InvalidArgumentException', 400],
  '-8': ['InternalFailureException', 500],
  '-9': ['AccessDeniedException', 400],
  '-10': ['ResourceInUseException', 400],
};

function awsError(name, message, http) {
  return sdkError(name, message, { http: http || 400, retryable: (http || 400) >= 500 });
}

function renamed(err) {
  if (err && typeof err.esmcStatus === 'number') {
    const n = KINESIS_ERRORS[String(err.esmcStatus)];
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

function streamNameOf(arn) {
  // arn:aws:kinesis:<region>:<account>:stream/<name>
  const parts = String(arn || '').split(':');
  const res = parts.slice(5).join(':');
  return res.startsWith('stream/') ? res.slice('stream/'.length) : res;
}

function toMillis(ts) {
  // GetShardIterator's Timestamp: a Date, epoch seconds (number), or a string.
  if (ts instanceof Date) return ts.getTime();
  if (typeof ts === 'number') return Math.round(ts * 1000);
  if (typeof ts === 'string' && ts !== '') {
    const n = Number(ts);
    return Number.isFinite(n) ? Math.round(n * 1000) : Date.parse(ts);
  }
  return 0;
}

// aws-sdk v2's ParamValidator (paramValidation: true validates required
// members, types and `min`): the members the Kinesis model constrains, for
// the operations the stand-in serves.
const PARAMS = {
  DescribeStream: { required: [], min: { Limit: 1 } },
  ListShards: { required: [], min: { MaxResults: 1 } },
  GetShardIterator: { required: ['ShardId', 'ShardIteratorType'], min: {} },
  GetRecords: { required: ['ShardIterator'], min: { Limit: 1 } },
};

function validateParams(op, input) {
  const p = PARAMS[op];
  if (!p) return;
  for (const k of p.required) {
    if (input[k] === undefined || input[k] === null) {
      throw Object.assign(awsError('MissingRequiredParameter', `Missing required key '${k}' in params`),
        { retryable: false, statusCode: undefined });
    }
  }
  for (const [k, min] of Object.entries(p.min)) {
    if (typeof input[k] === 'number' && input[k] < min) {
      throw Object.assign(awsError('MinRangeError',
        `Expected numeric value >= ${min}, but found ${input[k]} for params.${k}`),
      { retryable: false, statusCode: undefined });
    }
  }
}

function limitError(member, value, max) {
  return awsError('ValidationException',
    `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: `
    + `Member must have value less than or equal to ${max}`);
}

// The v2 request cycle's retries (event_listeners.js: FINALIZE_ERROR,
// RETRY_CHECK, RESET_RETRY_STATE), decided by the package's own client.
function v2Retrier(sdk) {
  if (!sdk || typeof sdk.retryableError !== 'function') return (fn) => fn();
  return async (fn) => {
    let retryCount = 0;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (err.statusCode) err.retryable = sdk.retryableError(err);
        const maxRetries = sdk.numRetries();
        let delay = 0;
        if (retryCount < maxRetries) delay = sdk.retryDelays(retryCount, err) || 0;
        if (err.retryable && retryCount < maxRetries && delay >= 0) {
          retryCount += 1;
          await new Promise((r) => setTimeout(r, delay));
          continue;
        }
        err.retryDelay = delay;
        throw err;
      }
    }
  };
}

// host: ctx.host of the mapping; config: the protocol config
// (event_source_arn, region); sdk: the package's original AWS.Kinesis client
// (its retry policy), optional.
function makeKinesisStandin({ host, config, sdk }) {
  const streamArn = config.event_source_arn || '';
  const streamName = streamNameOf(streamArn);
  const retried = v2Retrier(sdk);

  function checkStream(input) {
    const byArn = input && input.StreamARN;
    const byName = input && input.StreamName;
    if ((byArn && byArn !== streamArn) || (!byArn && byName !== streamName)) {
      throw awsError('ResourceNotFoundException', `Stream ${byArn || byName} under account not found.`);
    }
  }

  async function call(name, members) {
    try {
      return await host.call(name, members);
    } catch (e) {
      throw renamed(e);
    }
  }

  function shardOf(s) {
    const shard = { ShardId: s.shard_id };
    if (s.parent_shard_id) shard.ParentShardId = s.parent_shard_id;
    if (s.adjacent_parent_shard_id) shard.AdjacentParentShardId = s.adjacent_parent_shard_id;
    // HashKeyRange is not part of the protocol; the package does not read it.
    shard.SequenceNumberRange = { StartingSequenceNumber: s.starting_sequence_number };
    if (s.ending_sequence_number) shard.SequenceNumberRange.EndingSequenceNumber = s.ending_sequence_number;
    return shard;
  }

  async function shards() {
    const r = await call('list_shards', {});
    return (r.shards || []).map(shardOf);
  }

  function iteratorToken(n) {
    return n ? ITERATOR_PREFIX + String(n) : null;
  }

  function iteratorId(token) {
    const n = typeof token === 'string' && token.startsWith(ITERATOR_PREFIX)
      ? Number(token.slice(ITERATOR_PREFIX.length)) : NaN;
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw awsError('InvalidArgumentException', `Invalid ShardIterator: ${String(token).slice(0, 100)}`);
    }
    return n;
  }

  function recordOf(r) {
    return {
      SequenceNumber: r.sequence_number,
      ApproximateArrivalTimestamp: new Date(r.approximate_arrival_ms),
      Data: Buffer.from(r.data || '', 'base64'),
      PartitionKey: r.partition_key,
    };
  }

  // The service: one request, one answer or error.
  const service = {
    async DescribeStream(input) {
      checkStream(input);
      const limit = input.Limit === undefined ? DESCRIBE_LIMIT : input.Limit;
      if (limit > DESCRIBE_LIMIT) throw limitError('limit', limit, DESCRIBE_LIMIT);
      let all = await shards();
      if (input.ExclusiveStartShardId) {
        const i = all.findIndex((s) => s.ShardId === input.ExclusiveStartShardId);
        all = i >= 0 ? all.slice(i + 1) : all.filter((s) => s.ShardId > input.ExclusiveStartShardId);
      }
      return {
        StreamDescription: {
          StreamName: streamName,
          StreamARN: streamArn,
          StreamStatus: 'ACTIVE',
          StreamModeDetails: { StreamMode: 'PROVISIONED' },
          Shards: all.slice(0, limit),
          HasMoreShards: all.length > limit,
          RetentionPeriodHours: 24,
          EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
          EncryptionType: 'NONE',
        },
      };
    },

    async ListShards(input) {
      if (!input.NextToken) checkStream(input);
      const max = input.MaxResults === undefined ? LIST_SHARDS_LIMIT : input.MaxResults;
      if (max > 10000) throw limitError('maxResults', max, 10000);
      const all = await shards();
      let start = 0;
      if (input.NextToken) start = Number(String(input.NextToken).replace(/^esmc-shards-/, '')) || 0;
      else if (input.ExclusiveStartShardId) {
        const i = all.findIndex((s) => s.ShardId === input.ExclusiveStartShardId);
        start = i >= 0 ? i + 1 : all.filter((s) => s.ShardId <= input.ExclusiveStartShardId).length;
      }
      const out = { Shards: all.slice(start, start + max) };
      if (start + max < all.length) out.NextToken = `esmc-shards-${start + max}`;
      return out;
    },

    async GetShardIterator(input) {
      checkStream(input);
      const r = await call('get_shard_iterator', {
        shard_id: input.ShardId,
        type: input.ShardIteratorType,
        sequence_number: input.StartingSequenceNumber === undefined || input.StartingSequenceNumber === null
          ? null : String(input.StartingSequenceNumber),
        timestamp_ms: input.ShardIteratorType === 'AT_TIMESTAMP' ? toMillis(input.Timestamp) : 0,
      });
      return { ShardIterator: iteratorToken(r.iterator) };
    },

    async GetRecords(input) {
      const limit = input.Limit === undefined || input.Limit === null ? GET_RECORDS_MAX : input.Limit;
      if (limit > GET_RECORDS_MAX) throw limitError('limit', limit, GET_RECORDS_MAX);
      const r = await call('get_records', { iterator: iteratorId(input.ShardIterator), limit });
      return {
        Records: (r.records || []).map(recordOf),
        NextShardIterator: iteratorToken(r.next_iterator),
        MillisBehindLatest: r.millis_behind_latest || 0,
      };
    },
  };

  // What the package calls: validation, then the request with the SDK's retries.
  const handlers = {};
  for (const op of Object.keys(service)) {
    handlers[op] = async (input) => {
      validateParams(op, input);
      return retried(() => service[op](input));
    };
  }

  const client = makeClient(handlers, { style: 'v2', service: 'Kinesis', region: config.region || 'us-east-1' });

  // aws-sdk v2's `client.waitFor('streamExists', params)`: DescribeStream at
  // once, then every 10 s, at most 18 times, until StreamStatus is ACTIVE; an
  // error no acceptor matches fails the waiter (the waiters2 definition of
  // Kinesis 2013-12-02). Like any v2 request it runs when promise() or
  // send() is called.
  const WAITERS = {
    streamExists: { delay: 10, maxAttempts: 18, done: (d) => d.StreamDescription.StreamStatus === 'ACTIVE' },
  };
  client.waitFor = function waitFor(state, params, callback) {
    if (typeof params === 'function') { callback = params; params = {}; }
    const w = WAITERS[state];
    const run = async () => {
      if (!w) throw awsError('StateNotFoundError', `State ${state} not found.`);
      const p = Object.assign({}, params);
      const cfg = p.$waiter || {};
      delete p.$waiter;
      const delay = (cfg.delay || w.delay) * 1000;
      const max = cfg.maxAttempts || w.maxAttempts;
      for (let attempt = 1; ; attempt++) {
        const data = await handlers.DescribeStream(p);
        if (w.done(data)) return data;
        if (attempt >= max) throw awsError('ResourceNotReady', `Resource is not in the state ${state}`);
        await new Promise((r) => setTimeout(r, delay));
      }
    };
    let started = null;
    const start = () => { if (!started) started = run(); return started; };
    const req = {
      promise: () => start(),
      send: (cb) => { start().then((d) => cb && cb(null, d), (e) => cb && cb(e)); return req; },
      on: () => req,
      abort: () => req,
    };
    if (typeof callback === 'function') req.send(callback);
    return req;
  };

  return client;
}

module.exports = { makeKinesisStandin, streamNameOf, ITERATOR_PREFIX };
