#!/usr/bin/env python3
"""misbehave.py MODE: the Python example adapter with one fault injected, to
test how esmcheck classifies a broken protocol adapter. Modes:

  crash          exits with status 3 in the first timer callback
  crash-once     like crash, only in its first process (a restart recovers)
  abort          os.abort() (SIGABRT) in the first timer callback
  hang           stops answering in the first timer callback
  garbage        writes a line that is not JSON instead of a completion
  oversized      writes a 33 MiB line, over the 32 MiB message limit
  split          writes every message in small pieces, with pauses
  bad-seq        answers a request with the wrong seq
  fatal          reports a fatal error (status -100) from on_timer
  bad-mapping    makes a host call naming a mapping that does not exist
  bad-types      sends "error": "oops" (not an object) with status 0: only
                 --validate notices
  stderr         writes to stderr and then crashes
  bad-protocol   answers the handshake with protocol version 99
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))
import esmc_adapter as ea  # noqa: E402

MODE = sys.argv[1] if len(sys.argv) > 1 else "crash"
MARK = os.environ.get("ESMC_SELFTEST_MARK", "/tmp/esmc-selftest-crash-once")

orig_send = ea.Channel.send
orig_timer = ea.Mapping.on_timer


def send(self, msg):
    if MODE == "bad-protocol" and "protocol" in msg:
        msg = dict(msg, protocol=99)
    if MODE == "bad-types" and msg.get("status") == 0 and "adapter" not in msg:
        msg = dict(msg, error="oops")
    if MODE == "split":
        data = (ea.json.dumps(msg, separators=(",", ":")) + "\n").encode()
        for i in range(0, len(data), 7):
            self.wr.write(data[i:i + 7])
            self.wr.flush()
            if i < 21:
                time.sleep(0.002)
        return
    orig_send(self, msg)


def on_timer(self, token):
    if MODE in ("crash", "stderr"):
        if MODE == "stderr":
            sys.stderr.write("misbehave: something went badly wrong\n")
            sys.stderr.flush()
        os._exit(3)
    if MODE == "crash-once" and not os.path.exists(MARK):
        open(MARK, "w").close()
        os._exit(3)
    if MODE == "abort":
        os.abort()
    if MODE == "hang":
        while True:
            time.sleep(1)
    if MODE == "garbage":
        self.host.chan.wr.write(b"this is not JSON\n")
        self.host.chan.wr.flush()
    if MODE == "oversized":
        self.host.chan.wr.write(b'{"seq":1,"pad":"' + b"x" * (33 << 20) + b'"}\n')
        self.host.chan.wr.flush()
    if MODE == "bad-seq":
        self.host.chan.send({"seq": -12345, "status": 0})
    if MODE == "fatal":
        raise ea.Fatal("misbehave: the mapper gave up")
    if MODE == "bad-mapping":
        self.host.mapping = 987654
        self.host.log(1, "hello from nowhere")
    return orig_timer(self, token)


ea.Channel.send = send
ea.Mapping.on_timer = on_timer
sys.exit(ea.main())
