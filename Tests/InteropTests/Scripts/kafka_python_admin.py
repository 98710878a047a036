"""kafka-python 3.x KafkaAdminClient: create topics (one with configs), list them, describe the
configs, delete them and list again.

Result: {"createError": str|null, "topicsAfterCreate": [...], "partitionCounts": {topic: n},
         "configs": {name: value}, "deleteError": str|null, "topicsAfterDelete": [...]}"""

import argparse

from interop_common import emit, require

kafka = require("kafka")
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", action="append", required=True, help="name:partitions")
    parser.add_argument("--config", action="append", default=[], help="name=value, for the first topic")
    arguments = parser.parse_args()
    wanted = [(item.split(":")[0], int(item.split(":")[1])) for item in arguments.topic]
    configs = dict(item.split("=", 1) for item in arguments.config)
    admin = KafkaAdminClient(bootstrap_servers=arguments.bootstrap, request_timeout_ms=15000)

    new_topics = [NewTopic(name, num_partitions=count, replication_factor=1, topic_configs=configs if index == 0 else {})
                  for index, (name, count) in enumerate(wanted)]
    create_error = None
    try:
        admin.create_topics(new_topics, timeout_ms=10000)
    except Exception as error:  # reported to the Swift test
        create_error = repr(error)
    topics_after_create = sorted(admin.list_topics())
    partition_counts = {}
    for description in admin.describe_topics([name for name, _ in wanted]):
        partition_counts[description["name"]] = len(description["partitions"]) if description["error_code"] == 0 else -1

    described, describe_error = {}, None
    try:
        response = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, wanted[0][0])])
        for name, entry in response["topic"][wanted[0][0]].items():
            described[name] = entry["value"]
    except Exception as error:  # reported to the Swift test
        describe_error = repr(error)

    delete_error = None
    try:
        admin.delete_topics([name for name, _ in wanted], timeout_ms=10000)
    except Exception as error:  # reported to the Swift test
        delete_error = repr(error)
    topics_after_delete = sorted(admin.list_topics())
    admin.close()
    emit({"createError": create_error, "topicsAfterCreate": topics_after_create, "partitionCounts": partition_counts,
          "configs": described, "describeError": describe_error, "deleteError": delete_error,
          "topicsAfterDelete": topics_after_delete})


if __name__ == "__main__":
    main()
