"""confluent-kafka AdminClient: create a topic with configs, describe its configs and partitions,
delete it, and look again.

Result: {"createError": str|null, "partitionCount": n, "configs": {name: value},
         "configSources": {name: source number}, "deleteError": str|null,
         "topicsAfterCreate": [...], "topicsAfterDelete": [...]}"""

import argparse

from interop_common import emit, require

confluent_kafka = require("confluent_kafka")
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402


def error_text(future, timeout):
    try:
        future.result(timeout=timeout)
        return None
    except Exception as error:  # reported to the Swift test, whatever its type
        return repr(error)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--config", action="append", default=[], help="name=value")
    arguments = parser.parse_args()
    configs = dict(item.split("=", 1) for item in arguments.config)
    admin = AdminClient({"bootstrap.servers": arguments.bootstrap})

    futures = admin.create_topics([NewTopic(arguments.topic, num_partitions=arguments.partitions, replication_factor=1, config=configs)],
                                  operation_timeout=10, request_timeout=15)
    create_error = error_text(futures[arguments.topic], 20)
    metadata = admin.list_topics(timeout=10)
    topic = metadata.topics.get(arguments.topic)
    partition_count = len(topic.partitions) if topic is not None and topic.error is None else -1
    topics_after_create = sorted(metadata.topics)

    described, sources, describe_error = {}, {}, None
    resource = ConfigResource(ConfigResource.Type.TOPIC, arguments.topic)
    try:
        entries = admin.describe_configs([resource], request_timeout=15)[resource].result(timeout=20)
        for name, entry in entries.items():
            described[name] = entry.value
            sources[name] = int(entry.source)  # 1 DYNAMIC_TOPIC_CONFIG, 5 DEFAULT_CONFIG
    except Exception as error:  # reported to the Swift test
        describe_error = repr(error)

    futures = admin.delete_topics([arguments.topic], operation_timeout=10, request_timeout=15)
    delete_error = error_text(futures[arguments.topic], 20)
    topics_after_delete = sorted(admin.list_topics(timeout=10).topics)
    emit({"createError": create_error, "partitionCount": partition_count, "configs": described, "configSources": sources,
          "describeError": describe_error, "deleteError": delete_error,
          "topicsAfterCreate": topics_after_create, "topicsAfterDelete": topics_after_delete})


if __name__ == "__main__":
    main()
