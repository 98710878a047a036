"""A confluent-kafka group member that runs until it is told to stop, reporting what happens
to it as JSON lines on stdout (one event a line, flushed), so that a test can follow the group
while it lives and still read everything after a kill -9.

It subscribes to --topic in --group, polls one message at a time, and commits synchronously
(--commit batch: after every --commit-every records and whenever it is idle, and in the revoke
callback, so a partition changes hands exactly at the committed position; --commit none: never).
With --max-records N it stops consuming after N records, commits them synchronously, reports
the committed offsets, and then either closes (--after-max close) or waits for a signal without
polling (--after-max wait). SIGTERM closes the consumer (a dynamic member sends LeaveGroup) and
ends the run; --seconds bounds the run.

Events: {"event": "started"}, {"event": "assigned", "partitions": [..], "time": t},
{"event": "revoked", "partitions": [..], "time": t}, {"event": "lost", ...},
{"event": "records", "records": [[partition, offset, key text], ..]},
{"event": "committed", "offsets": {partition: offset}, "error": text or null},
{"event": "error", "error": text}, {"event": "closed", "reason": text}. `time` is wall-clock
seconds (time.time()), comparable across processes on one machine."""

import argparse
import signal
import time

from interop_common import Deadline, add_member_arguments, event, require

confluent_kafka = require("confluent_kafka")



def main():
    parser = argparse.ArgumentParser()
    add_member_arguments(parser, client_id="group-member")
    parser.add_argument("--instance-id", help="group.instance.id: a static member")
    parser.add_argument("--assignor", default="range")
    parser.add_argument("--commit", choices=["batch", "none"], default="batch")
    parser.add_argument("--commit-every", type=int, default=100)
    parser.add_argument("--max-records", type=int)
    parser.add_argument("--after-max", choices=["close", "wait"], default="close")
    parser.add_argument("--seconds", type=float, default=50, help="bound on the whole run")
    arguments = parser.parse_args()
    deadline = Deadline(arguments.seconds)
    stop = [None]

    def on_signal(number, _frame):
        stop[0] = f"signal {number}"

    signal.signal(signal.SIGTERM, on_signal)
    # The Swift test process starts children with SIGTERM blocked (an inherited signal mask).
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    configuration = {
        "bootstrap.servers": arguments.bootstrap,
        "group.id": arguments.group,
        "client.id": arguments.client_id,
        "session.timeout.ms": arguments.session_timeout_ms,
        "heartbeat.interval.ms": arguments.heartbeat_interval_ms,
        "partition.assignment.strategy": arguments.assignor,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "topic.metadata.refresh.interval.ms": 1000,
    }
    if arguments.instance_id:
        configuration["group.instance.id"] = arguments.instance_id
    consumer = confluent_kafka.Consumer(configuration)
    uncommitted = [0]

    def commit(reason):
        """Synchronous commit of the consumed positions; reported as an event."""
        try:
            result = consumer.commit(asynchronous=False)
        except confluent_kafka.KafkaException as error:
            if error.args[0].code() == confluent_kafka.KafkaError._NO_OFFSET:
                uncommitted[0] = 0
                return
            event("committed", offsets={}, error=str(error), reason=reason)
            return
        uncommitted[0] = 0
        offsets = {str(tp.partition): tp.offset for tp in result or [] if tp.error is None}
        errors = [str(tp.error) for tp in result or [] if tp.error is not None]
        event("committed", offsets=offsets, error="; ".join(errors) or None, reason=reason)

    def on_assign(_consumer, partitions):
        event("assigned", partitions=sorted(tp.partition for tp in partitions), time=time.time())

    def on_revoke(_consumer, partitions):
        if arguments.commit == "batch":
            commit("revoke")
        event("revoked", partitions=sorted(tp.partition for tp in partitions), time=time.time())

    def on_lost(_consumer, partitions):
        event("lost", partitions=sorted(tp.partition for tp in partitions), time=time.time())

    consumer.subscribe([arguments.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    event("started")
    consumed = 0
    pending = []
    reason = "deadline"
    while not deadline.expired():
        if stop[0]:
            reason = stop[0]
            break
        if arguments.max_records is not None and consumed >= arguments.max_records:
            reason = "max-records"
            break
        message = consumer.poll(0.1)
        if message is None:
            if pending:
                event("records", records=pending)
                pending = []
            if arguments.commit == "batch" and uncommitted[0] > 0:
                commit("idle")
            continue
        if message.error():
            if message.error().code() != confluent_kafka.KafkaError._PARTITION_EOF:
                event("error", error=str(message.error()))
            continue
        key = message.key().decode() if message.key() is not None else None
        pending.append([message.partition(), message.offset(), key])
        consumed += 1
        uncommitted[0] += 1
        if len(pending) >= arguments.commit_every:
            event("records", records=pending)
            pending = []
            if arguments.commit == "batch":
                commit("batch")
    if pending:
        event("records", records=pending)
    if reason == "max-records":
        commit("max-records")
        if arguments.after_max == "wait":
            event("waiting")
            # No polling from here on: the member's heartbeats (librdkafka's own thread) keep
            # it in the group until the test kills or stops this process.
            while stop[0] is None and not deadline.expired():
                time.sleep(0.05)
            reason = stop[0] or "deadline"
    elif arguments.commit == "batch" and uncommitted[0] > 0:
        commit("close")
    consumer.close()
    event("closed", reason=reason)


if __name__ == "__main__":
    main()
