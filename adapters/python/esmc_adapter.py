#!/usr/bin/env python3
"""esmc_adapter.py: a small Kinesis / DynamoDB stream event source mapper that
speaks the esmcheck adapter protocol (spec/protocol.md), using only the
Python 3 standard library.

It is the example for writing an adapter in another language: the protocol
loop (handshake, requests, host calls answered while a request runs) is the
part to copy; the mapper below it is deliberately small. It reads each shard
in order, one batch in flight per shard, with batching windows, retries
(MaximumRetryAttempts), record age, on-failure destinations (SQS and SNS),
configuration validation, updates, Enabled, and resumption from the
checkpoint store. Everything else (filters, bisecting, partial batch
responses, parallelization, tumbling windows, resharding, S3 destinations)
is declined with UnsupportedFeatureException, and the handshake does not
claim it, so esmcheck marks those cases unsupported.

Run it with:  esmcheck run --adapter-cmd 'python3 adapters/python/esmc_adapter.py'
Stdout belongs to the protocol: diagnostics go to stderr.
"""
import base64
import datetime
import hashlib
import json
import sys

PROTOCOL = 1
NAME = "esmc-python-example"
VERSION = "0.1.0"
CAPABILITIES = ["kinesis", "dynamodb", "batch_window", "at_timestamp",
                "retry_limit", "record_age", "on_failure", "validation",
                "update", "enabled_flag", "restart"]

OK, E_INVALID, E_UNSUPPORTED, E_NOT_FOUND = 0, -2, -3, -4
E_EXPIRED, E_TRIMMED, E_ACCESS_DENIED, E_FATAL = -6, -7, -9, -100
INVOKE_OK, INVOKE_FUNCTION_ERROR, INVOKE_THROTTLED, INVOKE_SERVICE_ERROR = 0, 1, 2, 3
LOG_WARN = 2

POLL_KINESIS_MS, POLL_DYNAMODB_MS = 1000, 250
PAYLOAD_MAX = 6291456
MAPPING_TIMER = (1 << 64) - 1


class Fatal(Exception):
    """The protocol broke; the adapter cannot go on."""


# --------------------------------------------------------------------------
# The protocol.

class Channel:
    def __init__(self, rd, wr):
        self.rd, self.wr, self.seq = rd, wr, 0

    def send(self, msg):
        self.wr.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
        self.wr.flush()

    def recv(self):
        line = self.rd.readline()
        if not line:
            return None
        return json.loads(line)


class Host:
    """The host table of one mapping: every method is a host call, answered
    by the harness while the current request is still running."""

    def __init__(self, chan, mapping, now):
        self.chan, self.mapping, self.now = chan, mapping, now

    def call(self, name, **fields):
        self.chan.seq += 1
        seq = "py-%d" % self.chan.seq
        msg = {"seq": seq, "call": name, "mapping": self.mapping}
        msg.update(fields)
        self.chan.send(msg)
        reply = self.chan.recv()
        if reply is None or reply.get("seq") != seq:
            raise Fatal("expected the answer to %s, got %r" % (name, reply))
        return reply

    def set_timer(self, at, token):
        return self.call("set_timer", at=at, token=token)["status"]

    def log(self, level, message):
        self.call("log", level=level, message=message)

    def list_shards(self):
        r = self.call("list_shards")
        return r["status"], r.get("shards", [])

    def get_shard_iterator(self, shard_id, type_, seq=None, ts=0):
        r = self.call("get_shard_iterator", shard_id=shard_id, type=type_,
                      sequence_number=seq, timestamp_ms=ts)
        return r["status"], r.get("iterator", 0)

    def get_records(self, iterator, limit):
        return self.call("get_records", iterator=iterator, limit=limit)

    def invoke(self, payload):
        r = self.call("invoke", payload=payload)
        return r["status"], r.get("invocation", 0)

    def send_to_destination(self, arn, payload):
        return self.call("send_to_destination", destination_arn=arn,
                         object_key=None, payload=payload)["status"]

    def checkpoint(self, shard_id, seq):
        return self.call("checkpoint", shard_id=shard_id,
                         sequence_number=seq)["status"]

    def get_checkpoint(self, shard_id):
        r = self.call("get_checkpoint", shard_id=shard_id)
        return r.get("sequence_number") if r["status"] == OK else None


# --------------------------------------------------------------------------
# Configuration (the AWS defaults and validation).

class Rejected(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


RANGES = [("batch_size", "batchSize", 1, 10000),
          ("maximum_batching_window_s", "maximumBatchingWindowInSeconds", 0, 300),
          ("parallelization_factor", "parallelizationFactor", 1, 10),
          ("maximum_retry_attempts", "maximumRetryAttempts", -1, 10000),
          ("maximum_record_age_s", "maximumRecordAgeInSeconds", -1, 604800),
          ("tumbling_window_s", "tumblingWindowInSeconds", 0, 900)]
INVALID = "InvalidParameterValueException"


def destination_ok(arn):
    for prefix in ("arn:aws:sqs:", "arn:aws:sns:", "arn:aws:s3:::"):
        if arn.startswith(prefix) and len(arn) > len(prefix):
            return True
    return False


def validate(cfg, cur, now):
    """Raise Rejected like AWS would; cur is the mapping's config on update."""
    source = cur["source"] if cur else cfg.get("source")
    if source not in ("kinesis", "dynamodb"):
        raise Rejected(E_UNSUPPORTED, "UnsupportedFeatureException",
                       "This mapper supports Kinesis and DynamoDB streams only.")
    errors = []
    for key, member, lo, hi in RANGES:
        v = cfg.get(key)
        if v is not None and not lo <= v <= hi:
            errors.append("Value '%d' at '%s' failed to satisfy constraint: "
                          "Member must have value %s %d" %
                          (v, member, "greater than or equal to" if v < lo
                           else "less than or equal to", lo if v < lo else hi))
    if errors:
        raise Rejected(E_INVALID, "ValidationException",
                       "%d validation error%s detected: %s" %
                       (len(errors), "s" if len(errors) > 1 else "",
                        "; ".join(errors)))
    for key, label in (("enabled", "Enabled"),
                       ("bisect_batch_on_function_error",
                        "BisectBatchOnFunctionError")):
        if cfg.get(key) not in (None, 0, 1):
            raise Rejected(E_INVALID, INVALID, "%s must be true or false." % label)
    if not cur:
        pos = cfg.get("starting_position")
        if pos is None:
            raise Rejected(E_INVALID, INVALID,
                           "1 validation error detected: Value null at "
                           "'startingPosition' failed to satisfy constraint: "
                           "Member must not be null.")
        if pos == "AT_TIMESTAMP":
            if source == "dynamodb":
                raise Rejected(E_INVALID, INVALID,
                               "Unsupported starting position for arn type: %s"
                               % cfg.get("event_source_arn", ""))
            ts = cfg.get("starting_position_timestamp_ms", 0)
            if ts > now:
                raise Rejected(E_INVALID, INVALID,
                               "Invalid StartingPositionTimestamp: %d. The "
                               "timestamp cannot be in the future." % ts)
    age = cfg.get("maximum_record_age_s")
    if age is not None and 0 <= age < 60:
        raise Rejected(E_INVALID, INVALID,
                       "Invalid MaximumRecordAgeInSeconds: %d. The value must "
                       "be -1 (infinite) or between 60 and 604800." % age)
    dest = cfg.get("on_failure_destination")
    if dest and not destination_ok(dest):
        raise Rejected(E_INVALID, INVALID,
                       "Invalid DestinationConfig: the OnFailure destination "
                       "'%s' must be an Amazon SQS queue, Amazon SNS topic or "
                       "Amazon S3 bucket ARN." % dest[:300])
    frt = cfg.get("function_response_types")
    if frt is not None and frt & ~1:
        raise Rejected(E_INVALID, INVALID,
                       "Invalid FunctionResponseTypes (bits 0x%x): the only "
                       "supported value is ReportBatchItemFailures." % frt)
    pf = cfg.get("parallelization_factor",
                 cur["parallelization_factor"] if cur else 1)
    tw = cfg.get("tumbling_window_s", cur["tumbling_window_s"] if cur else 0)
    if pf > 1 and tw > 0:
        raise Rejected(E_INVALID, INVALID,
                       "TumblingWindowInSeconds (%d) cannot be combined with a "
                       "ParallelizationFactor above 1 (%d)." % (tw, pf))
    # What this small mapper does not implement: declined, never faked.
    unsupported = []
    if pf > 1:
        unsupported.append("ParallelizationFactor above 1")
    if tw > 0:
        unsupported.append("TumblingWindowInSeconds")
    if cfg.get("bisect_batch_on_function_error") == 1:
        unsupported.append("BisectBatchOnFunctionError")
    if frt:
        unsupported.append("ReportBatchItemFailures")
    if cfg.get("filter_patterns"):
        unsupported.append("FilterCriteria")
    if dest and dest.startswith("arn:aws:s3:::"):
        unsupported.append("an S3 on-failure destination")
    if unsupported:
        raise Rejected(E_UNSUPPORTED, "UnsupportedFeatureException",
                       "Not implemented by %s: %s." % (NAME, ", ".join(unsupported)))


def effective(cfg):
    c = {"source": cfg["source"], "uuid": cfg.get("uuid", ""),
         "event_source_arn": cfg.get("event_source_arn", ""),
         "function_arn": cfg.get("function_arn", ""),
         "role_arn": cfg.get("role_arn", ""), "region": cfg.get("region", ""),
         "enabled": 1, "batch_size": 100, "maximum_batching_window_s": 0,
         "starting_position": cfg.get("starting_position"),
         "starting_position_timestamp_ms":
             cfg.get("starting_position_timestamp_ms", 0),
         "parallelization_factor": 1, "maximum_retry_attempts": -1,
         "maximum_record_age_s": -1, "tumbling_window_s": 0,
         "on_failure_destination": None}
    apply_config(c, cfg)
    return c


def apply_config(c, cfg):
    for key in ("enabled", "batch_size", "maximum_batching_window_s",
                "parallelization_factor", "maximum_retry_attempts",
                "maximum_record_age_s", "tumbling_window_s"):
        if key in cfg:
            c[key] = cfg[key]
    if "on_failure_destination" in cfg:
        c["on_failure_destination"] = cfg["on_failure_destination"] or None


# --------------------------------------------------------------------------
# Event payloads and failure records.

def iso(t_ms, millis):
    d = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=t_ms)
    if millis:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t_ms % 1000)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def jstr(s):
    return json.dumps(s if s is not None else "")


def record_json(c, r):
    t = r["approximate_arrival_ms"]
    if c["source"] == "dynamodb":
        parts = ['{"eventID":', jstr(r.get("event_id")),
                 ',"eventName":', jstr(r.get("ddb_event_name", "MODIFY")),
                 ',"eventVersion":"1.1","eventSource":"aws:dynamodb","awsRegion":',
                 jstr(c["region"]),
                 ',"dynamodb":{"ApproximateCreationDateTime":', str(t // 1000),
                 ',"Keys":', json.dumps(r.get("ddb_keys", {}), separators=(",", ":"))]
        if "ddb_new_image" in r:
            parts += [',"NewImage":', json.dumps(r["ddb_new_image"], separators=(",", ":"))]
        if "ddb_old_image" in r:
            parts += [',"OldImage":', json.dumps(r["ddb_old_image"], separators=(",", ":"))]
        parts += [',"SequenceNumber":', jstr(r["sequence_number"]),
                  ',"SizeBytes":', str(r.get("ddb_size_bytes", 0)),
                  ',"StreamViewType":', jstr(r.get("ddb_stream_view_type")),
                  '},"eventSourceARN":', jstr(c["event_source_arn"]), '}']
        return "".join(parts)
    return "".join([
        '{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":',
        jstr(r.get("partition_key")), ',"sequenceNumber":',
        jstr(r["sequence_number"]), ',"data":', jstr(r.get("data", "")),
        ',"approximateArrivalTimestamp":%d.%03d' % (t // 1000, t % 1000),
        '},"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":',
        jstr(r["shard_id"] + ":" + r["sequence_number"]),
        ',"eventName":"aws:kinesis:record","invokeIdentityArn":',
        jstr(c["role_arn"]), ',"awsRegion":', jstr(c["region"]),
        ',"eventSourceARN":', jstr(c["event_source_arn"]), '}'])


def failure_record(c, lane, recs, condition, now):
    ddb = c["source"] == "dynamodb"
    age = condition == "RecordAgeExceeded"
    if lane.invocations > 0 and lane.last_request_id:
        request_id = lane.last_request_id
    else:
        h = hashlib.sha256(("%s/%s/%s/%d" % (c["uuid"], lane.id,
                            recs[0]["sequence_number"], now)).encode()).hexdigest()
        request_id = "%s-%s-4%s-a%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:32])
    count = max(lane.invocations, 1) if age else lane.invocations
    doc = {"requestContext": {"requestId": request_id,
                              "functionArn": c["function_arn"],
                              "condition": condition,
                              "approximateInvokeCount": count}}
    if not age:
        doc["responseContext"] = {"statusCode": lane.last_status,
                                  "executedVersion": lane.last_version or "$LATEST",
                                  "functionError": lane.last_error}
    doc["version"] = "1.0"
    doc["timestamp"] = iso(now, True)
    doc["DDBStreamBatchInfo" if ddb else "KinesisBatchInfo"] = {
        "shardId": lane.id,
        "startSequenceNumber": recs[0]["sequence_number"],
        "endSequenceNumber": recs[-1]["sequence_number"],
        "approximateArrivalOfFirstRecord": iso(recs[0]["approximate_arrival_ms"], not ddb),
        "approximateArrivalOfLastRecord": iso(recs[-1]["approximate_arrival_ms"], not ddb),
        "batchSize": len(recs),
        "streamArn": c["event_source_arn"]}
    return json.dumps(doc, separators=(",", ":"))


def seq_lt_eq(a, b):
    """a <= b as unbounded decimal integers."""
    return int(a) <= int(b)


# --------------------------------------------------------------------------
# The mapper: one shard is one lane; one batch in flight per shard.

class Shard:
    def __init__(self, m, index, info):
        self.m, self.index = m, index
        self.id = info["shard_id"]
        self.parents = [p for p in (info.get("parent_shard_id"),
                                    info.get("adjacent_parent_shard_id")) if p]
        self.ending_seq = info.get("ending_sequence_number")
        self.state = "wait_parent" if self.parents else "need_iter"
        self.iter = 0
        self.closed = False
        self.last_read = None
        self.checkpoint = m.host.get_checkpoint(self.id)
        # Read while open (or resumed): its children continue where it ends.
        self.followed = not self.ending_seq or bool(self.checkpoint)
        self.queue = []          # [(record, json text)], in read order
        self.batch_n = 0
        self.attempts = self.invocations = self.throttles = 0
        self.b_mra = self.b_age = -1
        self.b_dest = None
        self.inflight = 0
        self.wake_at = 0
        self.window_start = m.host.now
        self.pending = None      # (count, destination, body)
        self.next_poll_at = 0
        self.expired_at = None
        self.start_ts = None  # the first LATEST iterator's time
        self.trim_horizon = False
        self.last_status, self.last_version = 0, None
        self.last_error = self.last_request_id = None
        self.need_at = None
        self.timer_at = None

    # Time and timers.
    def need(self, at):
        if self.need_at is None or at < self.need_at:
            self.need_at = at

    def arm(self):
        if self.need_at is None or self.timer_at == self.need_at:
            return
        if self.m.host.set_timer(self.need_at, self.index * 4) == OK:
            self.timer_at = self.need_at

    # Checkpoints.
    def advance_checkpoint(self, seq):
        if seq is None or (self.checkpoint and seq_lt_eq(seq, self.checkpoint)):
            return
        if self.m.host.checkpoint(self.id, seq) == OK:
            self.checkpoint = seq

    def done(self, k):
        last = self.queue[k - 1][0]["sequence_number"] if k else None
        del self.queue[:k]
        self.advance_checkpoint(last)

    def reset_batch(self):
        self.batch_n = 0
        self.attempts = self.invocations = self.throttles = 0
        self.b_dest = None

    # Reading.
    def get_iterator(self):
        h, c = self.m.host, self.m.cfg
        seq, ts = None, 0
        if self.trim_horizon:
            typ = "TRIM_HORIZON"
        elif self.last_read or self.checkpoint:
            typ, seq = "AFTER_SEQUENCE_NUMBER", self.last_read or self.checkpoint
        elif any(p.followed and p.id in self.parents for p in self.m.shards):
            typ = "TRIM_HORIZON"
        elif self.start_ts is not None:
            # An iterator expired before the first read: the starting
            # position stays where the first LATEST iterator put it (FAULT-2).
            typ, ts = "AT_TIMESTAMP", self.start_ts
        elif c["starting_position"] == "LATEST":
            typ = "LATEST"
        elif c["starting_position"] == "AT_TIMESTAMP":
            typ, ts = "AT_TIMESTAMP", c["starting_position_timestamp_ms"]
        else:
            typ = "TRIM_HORIZON"
        st, it = h.get_shard_iterator(self.id, typ, seq, ts)
        if st == E_TRIMMED and typ != "TRIM_HORIZON":
            self.trim_horizon = True
            st, it = h.get_shard_iterator(self.id, "TRIM_HORIZON")
        if st != OK or not it:
            self.wake_at = h.now + self.m.poll_ms
            self.need(self.wake_at)
            return
        self.trim_horizon = False
        if typ == "LATEST" and self.start_ts is None:
            self.start_ts = h.now
        self.iter = it
        self.state = "reading"

    def poll(self, want):
        h = self.m.host
        now = h.now
        limit = max(1, min(10000, want))
        r = h.get_records(self.iter, limit)
        st = r["status"]
        if st in (E_EXPIRED, E_NOT_FOUND, E_TRIMMED):
            self.state, self.iter = "need_iter", 0
            if st == E_TRIMMED:
                self.trim_horizon = True
            self.next_poll_at = now + self.m.poll_ms if self.expired_at == now else now
            self.wake_at = self.next_poll_at
            self.expired_at = now
            return "error"
        if st != OK:
            self.next_poll_at = now + self.m.poll_ms
            return "error"
        records = r.get("records", [])
        added = 0
        for rec in records:
            seq = rec["sequence_number"]
            if (self.last_read and seq_lt_eq(seq, self.last_read)) or \
               (self.checkpoint and seq_lt_eq(seq, self.checkpoint)):
                continue
            if not self.checkpoint and not self.last_read and int(seq) > 0:
                self.advance_checkpoint(str(int(seq) - 1))
            self.last_read = seq
            self.queue.append((rec, record_json(self.m.cfg, rec)))
            added += 1
        if not r.get("next_iterator"):
            self.closed, self.iter = True, 0
        else:
            self.iter = r["next_iterator"]
        if not records or (len(records) < limit and r.get("millis_behind_latest", 0) <= 0):
            self.next_poll_at = now + self.m.poll_ms
        else:
            self.next_poll_at = now
        return "records" if added else "empty"

    # Batches.
    def discard(self, k, condition):
        c = self.m.cfg
        self.m.host.log(LOG_WARN, "%s: discarding %d record(s) of %s (%s)" %
                        (NAME, k, self.id, condition))
        body = None
        if self.b_dest:
            body = failure_record(c, self, [q[0] for q in self.queue[:k]],
                                  condition, self.m.host.now)
        self.pending = (k, self.b_dest, body)

    def deliver(self):
        k, dest, body = self.pending
        if dest and self.m.host.send_to_destination(dest, body) != OK:
            self.wake_at = self.m.host.now + 1000
            self.need(self.wake_at)
            return False
        self.pending = None
        self.done(k)
        if k >= self.batch_n:
            self.reset_batch()
        else:
            self.batch_n -= k
        return True

    def invoke_batch(self):
        h = self.m.host
        now = h.now
        if self.b_age >= 0:
            k = 0
            while k < self.batch_n and \
                    now - self.queue[k][0]["approximate_arrival_ms"] > self.b_age * 1000:
                k += 1
            if k:
                self.discard(k, "RecordAgeExceeded")
                return True
        # Retried without bound (infinite retries, or throttles, which use
        # no attempt): dropped once the stream trimmed the batch.
        if (self.b_mra < 0 or self.throttles) and \
                (self.invocations or self.throttles):
            st, _ = h.get_shard_iterator(self.id, "AT_SEQUENCE_NUMBER",
                                         self.queue[0][0]["sequence_number"])
            if st == E_TRIMMED:
                self.discard(self.batch_n, "RecordAgeExceeded")
                return True
        payload = '{"Records":[' + ",".join(q[1] for q in self.queue[:self.batch_n]) + "]}"
        st, inv = h.invoke(payload)
        if st != OK or not inv:
            self.throttles += 1
            self.wake_at = now + backoff(self.throttles)
            self.need(self.wake_at)
            return False
        self.inflight = inv
        self.invocations += 1
        return False

    def fit(self, limit):
        total, k = len('{"Records":[]}'), 0
        while k < len(self.queue) and k < limit:
            add = len(self.queue[k][1].encode()) + (1 if k else 0)
            if total + add > PAYLOAD_MAX:
                return (k if k else 1), True
            total += add
            k += 1
        return k, False

    def idle(self):
        return not self.inflight and not self.pending and self.batch_n == 0

    def pump(self):
        m, c, h = self.m, self.m.cfg, self.m.host
        for _ in range(100000):
            now = h.now
            if self.state == "done":
                return
            self.need_at = None
            if self.inflight:
                self.arm()
                return
            if self.pending:
                if now < self.wake_at:
                    self.need(self.wake_at)
                elif self.deliver():
                    continue
            elif c["enabled"] and self.batch_n:
                if now < self.wake_at:
                    self.need(self.wake_at)
                elif self.invoke_batch():
                    continue
                self.arm()
                return
            if not c["enabled"] or self.pending:
                self.arm()
                return
            if self.state == "wait_parent":
                if not m.parent_done(self):
                    return
                self.state = "need_iter"
                self.window_start = now
            if self.state == "need_iter" and not self.closed:
                if now < self.wake_at:
                    self.need(self.wake_at)
                else:
                    self.get_iterator()
            hungry = len(self.queue) < c["batch_size"]
            if hungry and not self.closed and self.state == "reading" and \
                    now >= self.next_poll_at:
                pr = self.poll(c["batch_size"] - len(self.queue))
                if pr == "records" or self.state == "need_iter":
                    continue
            if self.queue:
                k, cut = self.fit(c["batch_size"])
                window = c["maximum_batching_window_s"]
                if window > 0 and not cut and len(self.queue) < c["batch_size"] \
                        and not self.closed and now < self.window_start + window * 1000:
                    self.need(self.window_start + window * 1000)
                else:
                    self.batch_n = k
                    self.attempts = self.invocations = self.throttles = 0
                    self.b_mra = c["maximum_retry_attempts"]
                    self.b_age = c["maximum_record_age_s"]
                    self.b_dest = c["on_failure_destination"]
                    continue
            if self.closed and not self.queue:
                # The shard's end: look for its children, then end it.
                m.list_shards()
                if self.ending_seq:
                    self.advance_checkpoint(self.ending_seq)
                self.state = "done"
                for s in m.shards:
                    if s.state == "wait_parent":
                        s.pump()
                return
            if hungry and not self.closed and self.state == "reading":
                self.need(self.next_poll_at)
            self.arm()
            return
        raise Fatal("the pump of %s does not settle" % self.id)

    def failed_attempt(self):
        self.attempts += 1
        if self.b_mra >= 0 and self.attempts >= 1 + self.b_mra:
            self.discard(self.batch_n, "RetryAttemptsExhausted")
            return
        self.wake_at = self.m.host.now + backoff(self.attempts)

    def complete(self, result):
        h = self.m.host
        self.inflight = 0
        self.window_start = h.now
        self.last_status = result.get("status_code", 0)
        self.last_version = result.get("executed_version")
        self.last_error = result.get("function_error")
        self.last_request_id = result.get("request_id")
        outcome = result.get("outcome")
        if outcome == INVOKE_OK:
            self.done(self.batch_n)
            self.reset_batch()
        elif outcome == INVOKE_THROTTLED or \
                (outcome == INVOKE_SERVICE_ERROR and self.last_status != 413):
            self.throttles += 1
            self.wake_at = self.window_start + backoff(self.throttles)
        else:
            self.failed_attempt()
        self.pump()


def backoff(k):
    d = 1000
    while k > 1 and d < 60000:
        d *= 2
        k -= 1
    return min(d, 60000)


class Mapping:
    def __init__(self, host, cfg):
        self.host = host
        self.cfg = effective(cfg)
        self.poll_ms = POLL_DYNAMODB_MS if self.cfg["source"] == "dynamodb" else POLL_KINESIS_MS
        self.shards = []
        self.listed = False

    def list_shards(self):
        st, shards = self.host.list_shards()
        if st != OK:
            self.host.set_timer(self.host.now + 1000, MAPPING_TIMER)
            return
        self.listed = True
        known = {s.id: s for s in self.shards}
        for info in shards:
            s = known.get(info["shard_id"])
            if s:
                if not s.ending_seq and info.get("ending_sequence_number"):
                    s.ending_seq = info["ending_sequence_number"]
                continue
            s = Shard(self, len(self.shards), info)
            known[s.id] = s
            self.shards.append(s)

    def parent_done(self, s):
        return all(p.state == "done" for p in self.shards if p.id in s.parents)

    def start(self):
        self.list_shards()
        self.pump_all()

    def pump_all(self):
        for s in self.shards:
            s.pump()

    def on_timer(self, token):
        if token == MAPPING_TIMER:
            if self.cfg["enabled"] and not self.listed:
                self.start()
            return
        idx = token // 4
        if idx < len(self.shards):
            self.shards[idx].timer_at = None
            self.shards[idx].pump()

    def on_invoke_complete(self, invocation, result):
        for s in self.shards:
            if s.inflight and s.inflight == invocation:
                s.complete(result)
                return

    def update(self, cfg):
        validate(cfg, self.cfg, self.host.now)
        apply_config(self.cfg, cfg)
        for s in self.shards:
            s.b_mra = self.cfg["maximum_retry_attempts"]
            s.b_age = self.cfg["maximum_record_age_s"]
        if not self.cfg["enabled"]:
            return
        if not self.listed:
            self.start()
        else:
            self.pump_all()


# --------------------------------------------------------------------------
# The request loop.

def main():
    chan = Channel(sys.stdin.buffer, sys.stdout.buffer)
    mappings = {}
    while True:
        msg = chan.recv()
        if msg is None or msg.get("op") == "stop":
            return 0
        seq, op = msg.get("seq"), msg.get("op")
        if op == "start":
            if msg.get("protocol") != PROTOCOL:
                chan.send({"seq": seq, "status": E_UNSUPPORTED,
                           "protocol": PROTOCOL, "adapter": {}})
                return 1
            chan.send({"seq": seq, "status": OK, "protocol": PROTOCOL,
                       "adapter": {"name": NAME, "version": VERSION,
                                   "language": "python",
                                   "capabilities": CAPABILITIES}})
            continue
        mid = msg.get("mapping")
        host = Host(chan, mid, msg.get("now", 0))
        reply = {"seq": seq, "status": OK}
        try:
            if op == "create":
                cfg = msg["config"]
                validate(cfg, None, host.now)
                if host.list_shards()[0] == E_ACCESS_DENIED and not cfg.get("restart"):
                    # FAULT-7: the role cannot read the stream.
                    raise Rejected(E_INVALID, INVALID,
                                   "Cannot access stream %s. Please ensure the role can "
                                   "perform the GetRecords, GetShardIterator, "
                                   "DescribeStream, and %s Actions on your stream in IAM."
                                   % (cfg.get("event_source_arn", ""),
                                      "ListStreams" if cfg.get("source") == "dynamodb"
                                      else "ListShards"))
                m = Mapping(host, cfg)
                mappings[mid] = m
                if m.cfg["enabled"]:
                    m.start()
            elif op == "destroy":
                mappings.pop(mid, None)
            else:
                m = mappings.get(mid)
                if m is None:
                    raise Fatal("%s for an unknown mapping %r" % (op, mid))
                m.host = host
                if op == "timer":
                    m.on_timer(msg["token"])
                elif op == "invoke_complete":
                    m.on_invoke_complete(msg["invocation"], msg["result"])
                elif op == "update":
                    m.update(msg["config"])
                else:
                    raise Fatal("unknown request %r" % op)
        except Rejected as e:
            reply = {"seq": seq, "status": e.status,
                     "error": {"code": e.code, "message": e.message}}
        except Fatal as e:
            reply = {"seq": seq, "status": E_FATAL,
                     "error": {"code": "Fatal", "message": str(e)}}
        chan.send(reply)


if __name__ == "__main__":
    sys.exit(main())
