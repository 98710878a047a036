"""confluent-kafka consumer that reads every partition of a topic from offset 0 to its high
watermark (as the broker reports it) and prints every record's partition, offset and value.

Result: {"records": [{"partition": p, "offset": o, "value": hex}...],
         "highWatermarks": {partition: offset}, "errors": [...]}"""

import argparse

from interop_common import Deadline, emit, require, to_hex

confluent_kafka = require("confluent_kafka")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, required=True)
    arguments = parser.parse_args()
    consumer = confluent_kafka.Consumer({"bootstrap.servers": arguments.bootstrap, "group.id": "interop-consume-all",
                                         "enable.auto.commit": False, "enable.partition.eof": True})
    high_watermarks, errors = {}, []
    for partition in range(arguments.partitions):
        low, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition(arguments.topic, partition), timeout=10)
        high_watermarks[partition] = high
    consumer.assign([confluent_kafka.TopicPartition(arguments.topic, partition, 0) for partition in range(arguments.partitions)])
    records = []
    remaining = {partition for partition, high in high_watermarks.items() if high > 0}
    deadline = Deadline(30)
    while remaining and not deadline.expired():
        message = consumer.poll(min(0.5, deadline.remaining()))
        if message is None:
            continue
        if message.error():
            if message.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                if message.offset() >= high_watermarks[message.partition()]:
                    remaining.discard(message.partition())
            else:
                errors.append(str(message.error()))
            continue
        records.append({"partition": message.partition(), "offset": message.offset(), "value": to_hex(message.value())})
    if remaining:
        errors.append(f"partitions {sorted(remaining)} not read to their high watermark in time")
    consumer.close()
    emit({"records": records, "highWatermarks": {str(key): value for key, value in high_watermarks.items()}, "errors": errors})


if __name__ == "__main__":
    main()
