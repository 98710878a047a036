"""Consumer-group administration through confluent-kafka's AdminClient or kafka-python's
KafkaAdminClient, reported as one JSON object.

  --client confluent|kafka-python
  --alter GROUP:TOPIC:PARTITION:OFFSET   commit an offset from outside the group (generation -1;
                                         confluent alter_consumer_group_offsets), repeatable
  --delete-topic TOPIC                   delete a topic first (confluent delete_topics)
  --list                                 list the groups
  --describe GROUP                       describe a group (repeatable)
  --offsets GROUP                        the group's committed offsets (repeatable)

Result: {"deleted": {topic: error or null}, "altered": {group: error or null}, "groups": [{"groupId", "isSimple", "state",
"protocolType"}] or null, "described": {group: {"state", "protocolType", "assignor", "isSimple",
"coordinator", "error", "members": [{"memberId", "clientId", "host", "instanceId",
"assignment": [partitions], "subscription": [topics]}]}}, "offsets": {group: {"topic:partition":
offset}}, "errors": [...]}. The Swift tests decide what is right."""

import argparse
from collections import defaultdict

from interop_common import emit, require


def confluent(arguments, result):
    confluent_kafka = require("confluent_kafka")
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": arguments.bootstrap})
    for topic, future in (admin.delete_topics(arguments.delete_topic, operation_timeout=10) if arguments.delete_topic else {}).items():
        try:
            future.result()
            result["deleted"][topic] = None
        except Exception as error:  # reported, the test decides
            result["deleted"][topic] = str(error)
    by_group = defaultdict(list)
    for spec in arguments.alter:
        group, topic, partition, offset = spec.split(":")
        by_group[group].append(confluent_kafka.TopicPartition(topic, int(partition), int(offset)))
    for group, partitions in by_group.items():
        future = admin.alter_consumer_group_offsets([confluent_kafka.ConsumerGroupTopicPartitions(group, partitions)], request_timeout=10)[group]
        try:
            answer = future.result()
            errors = [str(tp.error) for tp in answer.topic_partitions if tp.error is not None]
            result["altered"][group] = "; ".join(errors) or None
        except Exception as error:  # reported, the test decides
            result["altered"][group] = str(error)
    if arguments.list:
        listed = admin.list_consumer_groups(request_timeout=10).result()
        result["groups"] = [{"groupId": g.group_id, "isSimple": g.is_simple_consumer_group, "state": g.state.name, "protocolType": None}
                            for g in listed.valid]
        result["errors"] += [str(error) for error in listed.errors]
    if arguments.describe:
        for group, future in admin.describe_consumer_groups(arguments.describe, request_timeout=10).items():
            try:
                description = future.result()
            except Exception as error:
                result["described"][group] = {"error": str(error)}
                continue
            result["described"][group] = {
                "state": description.state.name,
                "protocolType": None,
                "assignor": description.partition_assignor,
                "isSimple": description.is_simple_consumer_group,
                "coordinator": description.coordinator.id,
                "error": None,
                "members": [{
                    "memberId": member.member_id,
                    "clientId": member.client_id,
                    "host": member.host,
                    "instanceId": member.group_instance_id,
                    "assignment": sorted(f"{tp.topic}:{tp.partition}" for tp in member.assignment.topic_partitions),
                    "subscription": None,
                } for member in description.members],
            }
    for group in arguments.offsets:
        future = admin.list_consumer_group_offsets([confluent_kafka.ConsumerGroupTopicPartitions(group)], request_timeout=10)[group]
        try:
            answer = future.result()
            result["offsets"][group] = {f"{tp.topic}:{tp.partition}": tp.offset for tp in answer.topic_partitions}
        except Exception as error:
            result["errors"].append(f"offsets of {group}: {error}")


def kafka_python(arguments, result):
    kafka = require("kafka")
    admin = kafka.KafkaAdminClient(bootstrap_servers=arguments.bootstrap, request_timeout_ms=10000)
    if arguments.alter or arguments.delete_topic:
        result["errors"].append("--alter and --delete-topic are only implemented for confluent")
    if arguments.list:
        result["groups"] = [{"groupId": g["group_id"], "isSimple": g["protocol_type"] == "", "state": g.get("group_state"),
                             "protocolType": g["protocol_type"]} for g in admin.list_groups()]
    if arguments.describe:
        for group, description in admin.describe_groups(arguments.describe).items():
            members = []
            for member in description["members"]:
                assignment = member.get("member_assignment") or {}
                subscription = member.get("member_metadata") or {}
                members.append({
                    "memberId": member["member_id"],
                    "clientId": member["client_id"],
                    "host": member["client_host"],
                    "instanceId": member.get("group_instance_id"),
                    "assignment": sorted(f"{entry['topic']}:{partition}" for entry in assignment.get("assigned_partitions", [])
                                         for partition in entry["partitions"]),
                    "subscription": sorted(subscription.get("topics", [])),
                })
            result["described"][group] = {
                "state": description["group_state"],
                "protocolType": description["protocol_type"],
                "assignor": description["protocol_data"],
                "isSimple": description["protocol_type"] == "",
                "coordinator": None,
                "error": description["error"],
                "members": members,
            }
    for group in arguments.offsets:
        answer = admin.list_group_offsets({group: None})[group]
        result["offsets"][group] = {f"{tp.topic}:{tp.partition}": meta.offset for tp, meta in answer.items()}
    admin.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--client", choices=["confluent", "kafka-python"], default="confluent")
    parser.add_argument("--alter", action="append", default=[])
    parser.add_argument("--delete-topic", action="append", default=[])
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--describe", action="append", default=[])
    parser.add_argument("--offsets", action="append", default=[])
    arguments = parser.parse_args()
    result = {"deleted": {}, "altered": {}, "groups": None, "described": {}, "offsets": {}, "errors": []}
    if arguments.client == "confluent":
        confluent(arguments, result)
    else:
        kafka_python(arguments, result)
    emit(result)


if __name__ == "__main__":
    main()
