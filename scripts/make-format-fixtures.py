#!/usr/bin/env python3
"""Writes Tests/RillFormatTests/Fixtures: bytes produced by other implementations of Kafka's
record format and codecs (kafka-python's batch builder and codec helpers, Python's gzip, lz4 and
zstandard modules), so RillFormat is tested against encoders it does not share code with.

Rerun with `make fixtures` after `make deps`; the outputs are committed.
"""
import gzip
import json
import os
import sys

from kafka import codec
from kafka.record.default_records import DefaultRecordBatchBuilder

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "RillFormatTests", "Fixtures")
PAYLOAD = b"".join(b"record %05d: the quick brown fox jumps over the lazy dog\n" % i for i in range(400))

# kafka-python's codec ids (attribute bits 0-2).
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    write("payload.bin", PAYLOAD)
    write("payload.python-gzip", gzip.compress(PAYLOAD))
    # Two gzip members back to back: Java's GZIPInputStream reads both.
    write("payload.python-gzip-concatenated", gzip.compress(PAYLOAD[:1000]) + gzip.compress(PAYLOAD[1000:]))
    write("payload.kafka-python-snappy-xerial", codec.snappy_encode(PAYLOAD, xerial_compatible=True, xerial_blocksize=4096))
    write("payload.kafka-python-snappy-raw", codec.snappy_encode(PAYLOAD, xerial_compatible=False))
    write("payload.kafka-python-lz4", codec.lz4_encode(PAYLOAD))
    write("payload.kafka-python-zstd", codec.zstd_encode(PAYLOAD))

    manifest = {}
    for name, codec_id in CODECS.items():
        builder = DefaultRecordBatchBuilder(
            magic=2, compression_type=codec_id, is_transactional=False,
            producer_id=-1, producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
        records = []
        for i in range(50):
            key = None if i % 7 == 0 else b"key-%d" % i
            value = None if i % 11 == 5 else (b"value-%d-" % i) * (1 + i % 5)
            headers = [("h%d" % i, b"hv%d" % i)] if i % 3 == 0 else []
            timestamp = 1700000000000 + i * 13
            builder.append(i, timestamp=timestamp, key=key, value=value, headers=headers)
            records.append({
                "offsetDelta": i, "timestamp": timestamp,
                "key": None if key is None else key.decode(),
                "value": None if value is None else value.decode(),
                "headers": [[k, v.decode()] for k, v in headers],
            })
        write("batch.kafka-python-%s" % name, bytes(builder.build()))
        manifest[name] = records
    with open(os.path.join(OUT, "batches.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
