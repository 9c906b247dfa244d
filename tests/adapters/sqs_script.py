#!/usr/bin/env python3
"""sqs_script.py [v1]: a scripted protocol-2 adapter for tests/test_proxy.c.
It maps one SQS standard queue the simplest correct way: receive up to
BatchSize (at most 10) messages, invoke them as one event, delete them when the function succeeds,
poll again a second later. With "v1" it claims sqs but speaks protocol 1
only (the harness must then strip the queue capabilities)."""
import base64
import json
import sys

V1 = len(sys.argv) > 1 and sys.argv[1] == "v1"
rd, wr = sys.stdin.buffer, sys.stdout.buffer
maps = {}
n_calls = [0]


def send(msg):
    wr.write((json.dumps(msg, separators=(",", ":")) + "\n").encode())
    wr.flush()


def call(mapping, name, **fields):
    n_calls[0] += 1
    seq = "c%d" % n_calls[0]
    send(dict(seq=seq, call=name, mapping=mapping, **fields))
    reply = json.loads(rd.readline())
    assert reply["seq"] == seq, reply
    return reply


def poll(mid, now):
    m = maps[mid]
    if m["busy"]:
        return
    size = min(10, m["cfg"].get("batch_size", 10))
    r = call(mid, "receive_messages", max_messages=size, wait_time_s=0,
             visibility_timeout_s=-1)
    if r["status"] == 0:
        m["busy"] = True
    else:
        call(mid, "set_timer", at=now + 1000, token=1)


def record(cfg, msg):
    body = msg["body"]
    if msg.get("body_encoding") == "base64":
        body = base64.b64decode(body).decode("utf-8", "replace")
    return {"messageId": msg["message_id"],
            "receiptHandle": msg["receipt_handle"], "body": body,
            "attributes": {
                "ApproximateReceiveCount": str(msg["approximate_receive_count"]),
                "SentTimestamp": str(msg["sent_timestamp_ms"]),
                "SenderId": msg["sender_id"],
                "ApproximateFirstReceiveTimestamp":
                    str(msg["first_receive_timestamp_ms"])},
            "messageAttributes": {}, "md5OfBody": msg["md5_of_body"],
            "eventSource": "aws:sqs",
            "eventSourceARN": cfg["event_source_arn"],
            "awsRegion": cfg["region"]}


def main():
    for line in rd:
        req = json.loads(line)
        op, seq = req["op"], req.get("seq")
        if op == "stop":
            return 0
        mid, now = req.get("mapping"), req.get("now", 0)
        if op == "start":
            proto = 1 if V1 or 2 not in req.get("protocols", [1]) else 2
            send({"seq": seq, "status": 0, "protocol": proto,
                  "protocols": [1] if V1 else [1, 2],
                  "adapter": {"name": "sqs-script", "version": "0",
                              "language": "python",
                              "capabilities": ["sqs"]}})
            continue
        if op == "create":
            cfg = req["config"]
            maps[mid] = {"cfg": cfg, "busy": False, "inv": {}}
            a = call(mid, "get_queue_attributes")
            assert a["status"] == 0 and a["attributes"]["fifo"] == 0, a
            call(mid, "set_timer", at=now, token=1)
        elif op == "timer":
            poll(mid, now)
        elif op == "receive_complete":
            m = maps[mid]
            m["busy"] = False
            msgs = req["messages"]
            if req["status"] != 0 or not msgs:
                call(mid, "set_timer", at=now + 1000, token=1)
            else:
                ev = {"Records": [record(m["cfg"], x) for x in msgs]}
                r = call(mid, "invoke", payload=json.dumps(ev))
                m["inv"][r["invocation"]] = [x["receipt_handle"] for x in msgs]
                m["busy"] = True
        elif op == "invoke_complete":
            m = maps[mid]
            m["busy"] = False
            handles = m["inv"].pop(req["invocation"], [])
            if req["result"]["outcome"] == 0:
                for h in handles:
                    call(mid, "delete_message", receipt_handle=h)
            call(mid, "set_timer", at=now + 1000, token=1)
        elif op == "destroy":
            maps.pop(mid, None)
        send({"seq": seq, "status": 0})
    return 0


sys.exit(main())
