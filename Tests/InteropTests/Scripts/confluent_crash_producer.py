"""confluent-kafka producer for the crash test: idempotent, acks=all, producing without pause
until it has sent --max-records or the broker has gone (a delivery error), then waiting for the
last outcomes. Every acknowledged record is in the result; a progress line "acked N" goes to
stderr each time N reaches a multiple of --progress-every, so the test knows when to kill the
broker while this is still sending.

Result: {"acked": [{"partition": p, "offset": o, "value": hex}...], "failedCount": n,
         "producedCount": n, "errors": [first few error texts]}"""

import argparse

from interop_common import Deadline, emit, progress, require, to_hex

confluent_kafka = require("confluent_kafka")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--max-records", type=int, required=True)
    parser.add_argument("--progress-every", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True, help="bound on the whole run")
    arguments = parser.parse_args()
    deadline = Deadline(arguments.seconds)
    producer = confluent_kafka.Producer({
        "bootstrap.servers": arguments.bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        # The broker does not come back while this runs: fail the rest quickly.
        "message.timeout.ms": 3000,
        "reconnect.backoff.max.ms": 200,
        "queue.buffering.max.messages": 2000,
    })
    acked, errors = [], []
    failed = [0]

    def delivered(error, message):
        if error is not None:
            failed[0] += 1
            if len(errors) < 5:
                errors.append(str(error))
            return
        acked.append({"partition": message.partition(), "offset": message.offset(), "value": to_hex(message.value())})
        if len(acked) % arguments.progress_every == 0:
            progress(f"acked {len(acked)}")

    produced = 0
    while produced < arguments.max_records and failed[0] == 0 and not deadline.expired():
        value = f"crash-{produced:06d}-".encode() + b"x" * 100
        try:
            producer.produce(arguments.topic, value=value, partition=produced % arguments.partitions, on_delivery=delivered)
            produced += 1
        except BufferError:
            producer.poll(0.01)
            continue
        producer.poll(0)
    producer.flush(max(1.0, deadline.remaining()))
    emit({"acked": acked, "failedCount": failed[0], "producedCount": produced, "errors": errors})


if __name__ == "__main__":
    main()
