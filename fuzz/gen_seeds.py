#!/usr/bin/env python3
"""gen_seeds.py OUTDIR: deterministic seed inputs for the byte-decoded
targets (scenario, diff, response). The scenario decoder reads its swarm mask
and choices from the tail and payload bytes from the head, so random bytes of
varied lengths are good seeds; response seeds are response bodies followed by
two tail bytes (batch length, offset). case_parse is seeded from cases/*.json
directly. The committed fuzz/corpus/ was grown from these by a short
libFuzzer run and `-merge=1` (fuzz/README.md)."""
import os
import random
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "seeds"
rng = random.Random(20241)
for target in ("scenario", "diff"):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    for i in range(32):
        n = rng.choice([0, 3, 8, 16, 32, 64, 128, 256, 400])
        with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
            # shape-free (odd first byte) for half of the diff seeds
            data = bytearray(rng.getrandbits(8) for _ in range(n))
            if target == "diff" and n:
                data[0] = (data[0] & 0xFE) | (i & 1)
            f.write(bytes(data))
bodies = [b"", b"null", b"{}", b"[]", b'""', b'{"batchItemFailures":[]}',
          b'{"batchItemFailures":[{"itemIdentifier":"49000000000000000000000000000000000000000000000000000002"}]}',
          b'{"batchItemFailures":[{"itemIdentifier":"49000000000000000000000000000000000000000000000000000003"},'
          b'{"itemIdentifier":"49000000000000000000000000000000000000000000000000000001"}]}',
          b'{"batchItemFailures":[{"itemIdentifier":""}]}', b'{"batchItemFailures":null}',
          b'{"batchItemFailures":[{"itemIdentifier":null}]}', b'{"batchItemFailures":"x"}',
          b'{"batchItemFailures":[{}],"x":1}', b' \n{"batchItemFailures" : [ ] } ']
d = os.path.join(out, "response")
os.makedirs(d, exist_ok=True)
for i, body in enumerate(bodies):
    with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
        f.write(body + bytes([rng.getrandbits(8), rng.getrandbits(8)]))

# Fault and multi-mapping seeds (fuzz_decode.h, ESMC_SW_MULTI ..
# ESMC_SW_FAULT_PERM): the 4-byte prefix E5 C8 <mask lo> <mask hi> switches
# classes 17..28 on; each seed holds one fault or multi class, some two, on
# streams, standard and FIFO queues. Written as fuzz/corpus/scenario/
# fault-seed-NN.
rng = random.Random(20261128)
d = os.path.join(out, "scenario")
for i in range(16):
    ext = 1 << (6 + i % 6)
    if i >= 6:
        ext |= 1 << (6 + rng.randrange(6))
    if i % 3 == 1:
        ext |= 1 << 0  # SQS
    if i % 5 == 2:
        ext |= 1 << 1  # FIFO
    n = rng.choice([32, 64, 128, 256])
    body = bytes(rng.getrandbits(8) for _ in range(n))
    with open(os.path.join(d, "fault-seed-%02d" % i), "wb") as f:
        f.write(bytes([0xE5, 0xC8, ext & 0xFF, ext >> 8]) + body)
