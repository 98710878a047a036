"""confluent-kafka (librdkafka) round trip: an idempotent acks=all producer with one codec, then
a consumer that assigns every partition at offset 0 and reads everything back (not with
--produce-only, for tests whose consumer is another client).

Result: {"sent": [record...], "deliveryErrors": [...], "consumed": [record...],
         "consumeErrors": [...], "librdkafka": version}; every sent record carries the offset
and partition of its delivery report and the timestamp it was produced with."""

import argparse

from interop_common import Deadline, emit, record_json, require, sample_records

confluent_kafka = require("confluent_kafka")


def produce(arguments, records):
    producer = confluent_kafka.Producer({
        "bootstrap.servers": arguments.bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": arguments.codec,
        "linger.ms": 50,
        "message.timeout.ms": 20000,
    })
    sent, errors = [], []

    def delivered(error, message, record):
        if error is not None:
            errors.append(f"{record[1]!r}: {error}")
            return
        # What was asked for, where the broker put it.
        sent.append(record_json(message.partition(), message.offset(), record[1], record[2], record[3], record[4]))

    for record in records:
        partition, key, value, headers, timestamp = record
        producer.produce(arguments.topic, key=key, value=value, headers=headers, partition=partition,
                         timestamp=timestamp, on_delivery=lambda e, m, r=record: delivered(e, m, r))
        producer.poll(0)
    remaining = producer.flush(30)
    if remaining:
        errors.append(f"{remaining} message(s) still undelivered after flush")
    return sent, errors


def consume(arguments, expected_count):
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": arguments.bootstrap,
        "group.id": "interop-assign-only",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
    })
    consumer.assign([confluent_kafka.TopicPartition(arguments.topic, partition, 0) for partition in range(arguments.partitions)])
    consumed, errors = [], []
    deadline = Deadline(30)
    while len(consumed) < expected_count and not deadline.expired():
        message = consumer.poll(min(0.5, deadline.remaining()))
        if message is None:
            continue
        if message.error():
            errors.append(str(message.error()))
            continue
        _, timestamp = message.timestamp()
        consumed.append(record_json(message.partition(), message.offset(), message.key(), message.value(), message.headers(), timestamp))
    consumer.close()
    return consumed, errors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--codec", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--base-timestamp", type=int, required=True)
    parser.add_argument("--produce-only", action="store_true")
    arguments = parser.parse_args()
    records = sample_records(arguments.count, arguments.codec, arguments.base_timestamp, arguments.partitions)
    sent, delivery_errors = produce(arguments, records)
    consumed, consume_errors = ([], []) if arguments.produce_only else consume(arguments, len(sent))
    emit({"sent": sent, "deliveryErrors": delivery_errors, "consumed": consumed, "consumeErrors": consume_errors,
          "librdkafka": confluent_kafka.libversion()[0]})


if __name__ == "__main__":
    main()
