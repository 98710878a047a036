"""Shared helpers of the interop driver scripts.

Every script prints exactly one JSON object on stdout (its result) and exits 0 when it ran to
the end; the Swift tests decide what is right. Records cross the JSON boundary with their bytes
in hex (``None`` stays ``null``), so the comparison in Swift is byte for byte.
"""

import json
import sys
import time

MISSING_MODULE_EXIT = 3


def require(module_name):
    """Imports a client module or exits with a message naming `make deps`."""
    try:
        return __import__(module_name)
    except ImportError as error:
        emit({"error": f"python module '{module_name}' is missing ({error}): run `make deps`"})
        sys.exit(MISSING_MODULE_EXIT)


def event(name, **fields):
    """One JSON line on stdout, flushed: a group member's report of what happened to it."""
    fields["event"] = name
    sys.stdout.write(json.dumps(fields, sort_keys=True) + "\n")
    sys.stdout.flush()


def add_member_arguments(parser, client_id):
    """The arguments every group-member driver takes."""
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--client-id", default=client_id)
    parser.add_argument("--session-timeout-ms", type=int, default=6000)
    parser.add_argument("--heartbeat-interval-ms", type=int, default=1000)


def emit(result):
    """Prints the one JSON result line and flushes it."""
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()


def progress(line):
    """A progress line on stderr, for a Swift test that waits for a point in the run."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def to_hex(data):
    if data is None:
        return None
    if isinstance(data, str):
        data = data.encode()
    return bytes(data).hex()


def from_hex(text):
    return None if text is None else bytes.fromhex(text)


def record_json(partition, offset, key, value, headers, timestamp):
    """A record as the Swift tests decode it (`InteropRecord`)."""
    return {
        "partition": partition,
        "offset": offset,
        "key": to_hex(key),
        "value": to_hex(value),
        "headers": [[name, to_hex(header_value)] for name, header_value in (headers or [])],
        "timestamp": timestamp,
    }


def sample_records(count, tag, base_timestamp, partitions=1, allow_null_header_values=True):
    """`count` deterministic records with compressible values (a repeated pattern with binary
    bytes in it), some edge cases (null key, null value, empty value, a header without a
    value) and explicit, increasing timestamps. Returns (partition, key, value, headers,
    timestamp) tuples."""
    pattern = bytes(range(256)) + b"rill-interop-" * 8
    records = []
    for index in range(count):
        key = f"{tag}-key-{index:05d}".encode()
        value = f"{tag}-{index:05d}|".encode() + pattern[index % 64:] + pattern
        headers = [("trace", f"t-{index}".encode()), ("codec", tag.encode())]
        if index % 7 == 3:
            key = None
        if index % 11 == 5 and key is not None:  # kafka-python refuses a record with neither
            value = None
        if index % 13 == 6:
            value = b""
        if index % 5 == 2:
            headers.append(("empty", b""))
        if allow_null_header_values and index % 9 == 4:
            headers.append(("null", None))
        records.append((index % partitions, key, value, headers, base_timestamp + index))
    return records


class Deadline:
    """A bound in seconds on a loop of the script."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def remaining(self):
        return max(0.0, self.end - time.monotonic())

    def expired(self):
        return time.monotonic() >= self.end
