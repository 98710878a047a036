"""confluent-kafka offsets_for_times: produce records with explicit timestamps (in several
batches), then ask for the offset of a list of timestamps.

Result: {"produced": [{"offset": o, "timestamp": t}...], "deliveryErrors": [...],
         "answers": [{"timestamp": t, "offset": o, "error": str|null}...]}"""

import argparse

from interop_common import emit, require

confluent_kafka = require("confluent_kafka")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--timestamps", required=True, help="comma-separated, in produce order")
    parser.add_argument("--batch-size", type=int, required=True, help="records per flush (one batch each)")
    parser.add_argument("--queries", required=True, help="comma-separated timestamps to look up")
    arguments = parser.parse_args()
    timestamps = [int(text) for text in arguments.timestamps.split(",")]
    queries = [int(text) for text in arguments.queries.split(",")]

    producer = confluent_kafka.Producer({"bootstrap.servers": arguments.bootstrap, "enable.idempotence": True, "acks": "all"})
    produced, errors = [], []

    def delivered(error, message):
        if error is not None:
            errors.append(str(error))
        else:
            produced.append({"offset": message.offset(), "timestamp": message.timestamp()[1]})

    for index, timestamp in enumerate(timestamps):
        producer.produce(arguments.topic, value=f"at-{timestamp}".encode(), partition=0, timestamp=timestamp, on_delivery=delivered)
        if (index + 1) % arguments.batch_size == 0:
            producer.flush(15)
    if producer.flush(15):
        errors.append("undelivered after flush")

    consumer = confluent_kafka.Consumer({"bootstrap.servers": arguments.bootstrap, "group.id": "interop-offsets-for-times",
                                         "enable.auto.commit": False})
    answers = []
    for query in queries:
        try:
            [result] = consumer.offsets_for_times([confluent_kafka.TopicPartition(arguments.topic, 0, query)], timeout=10)
            answers.append({"timestamp": query, "offset": result.offset, "error": str(result.error) if result.error else None})
        except Exception as error:  # reported to the Swift test
            answers.append({"timestamp": query, "offset": None, "error": repr(error)})
    consumer.close()
    emit({"produced": produced, "deliveryErrors": errors, "answers": answers})


if __name__ == "__main__":
    main()
