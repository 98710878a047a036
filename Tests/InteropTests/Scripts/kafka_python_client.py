"""kafka-python 3.x as producer, consumer or both. Modes:

  roundtrip     KafkaProducer with its defaults (idempotent, acks=all) and --codec, sending
                --count sample records (binary values, explicit timestamps) over --partitions,
                then `consume`.
  produce-text  --count text records (no tabs, commas or '=': kcat prints them) to partition 0.
  produce-keys  one record per --keys entry, partition chosen by the default partitioner.
  consume       assign + seek_to_beginning, read every partition to its end offset.

Result: {"sent": [record...], "sendErrors": [...], "consumed": [record...],
         "idempotent": bool, "acks": value, "kafkaPython": version}; a sent record carries the
partition and offset of its acknowledgement and the timestamp it was sent with."""

import argparse
import logging

from interop_common import Deadline, emit, record_json, require, sample_records

kafka = require("kafka")


def produce(arguments, records):
    """records: (partition or None, key, value, headers, timestamp or None) tuples."""
    options = {"bootstrap_servers": arguments.bootstrap, "linger_ms": 50, "request_timeout_ms": 10000}
    if arguments.codec != "none":
        options["compression_type"] = arguments.codec
    producer = kafka.KafkaProducer(**options)
    futures = []
    for partition, key, value, headers, timestamp in records:
        future = producer.send(arguments.topic, key=key, value=value, headers=headers, partition=partition, timestamp_ms=timestamp)
        futures.append((future, key, value, headers, timestamp))
    producer.flush(timeout=30)
    sent, errors = [], []
    for future, key, value, headers, timestamp in futures:
        try:
            metadata = future.get(timeout=30)
        except Exception as error:  # the test reports every failure, whatever its type
            errors.append(f"{key!r}: {error!r}")
            continue
        sent.append(record_json(metadata.partition, metadata.offset, key, value, headers,
                                timestamp if timestamp is not None else metadata.timestamp))
    result = {"sent": sent, "sendErrors": errors, "idempotent": bool(producer.config.get("enable_idempotence")),
              "acks": producer.config.get("acks")}
    producer.close(timeout=10)
    return result


def consume(arguments):
    """Every record from the beginning of each partition to its end offset as the broker
    reports it when the consumer starts."""
    consumer = kafka.KafkaConsumer(bootstrap_servers=arguments.bootstrap, group_id=None, enable_auto_commit=False)
    partitions = [kafka.TopicPartition(arguments.topic, partition) for partition in range(arguments.partitions)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    end_offsets = consumer.end_offsets(partitions)
    consumed = []
    deadline = Deadline(30)
    while any(consumer.position(partition) < end_offsets[partition] for partition in partitions) and not deadline.expired():
        batches = consumer.poll(timeout_ms=int(min(500, deadline.remaining() * 1000)))
        for messages in batches.values():
            for message in messages:
                consumed.append(record_json(message.partition, message.offset, message.key, message.value, message.headers, message.timestamp))
    consumer.close()
    return consumed


def text_records(arguments):
    return [(0, f"kp-key-{index}".encode(), f"kp-value-{index}-{'payload' * 8}".encode(),
             [("source", b"kafka-python"), ("index", str(index).encode())], arguments.base_timestamp + index)
            for index in range(arguments.count)]


def main():
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["roundtrip", "produce-text", "produce-keys", "consume"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--codec", default="none")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--base-timestamp", type=int, default=0)
    parser.add_argument("--keys", default="")
    parser.add_argument("--value", default="kafka-python")
    arguments = parser.parse_args()
    result = {"kafkaPython": kafka.__version__, "sent": [], "sendErrors": [], "consumed": []}
    if arguments.mode == "roundtrip":
        # kafka-python only accepts (str, bytes) headers: no header without a value.
        records = sample_records(arguments.count, arguments.codec, arguments.base_timestamp, arguments.partitions,
                                 allow_null_header_values=False)
        result.update(produce(arguments, records))
        result["consumed"] = consume(arguments)
    elif arguments.mode == "produce-text":
        result.update(produce(arguments, text_records(arguments)))
    elif arguments.mode == "produce-keys":
        records = [(None, key.encode(), arguments.value.encode(), [], None) for key in arguments.keys.split(",")]
        result.update(produce(arguments, records))
    else:
        result["consumed"] = consume(arguments)
    emit(result)


if __name__ == "__main__":
    main()
