"""A kafka-python 3.x group member with the same events as group_member.py (JSON lines on
stdout): it subscribes to --topic in --group with kafka-python's default assignors (range,
roundrobin), polls, commits synchronously after each poll that returned records, and on SIGTERM (or after --max-records) commits and closes, which sends
LeaveGroup. --seconds bounds the run.

Events: started, assigned/revoked {"partitions", "time"}, records {"records": [[p, o, key]]},
committed {"offsets": {p: o}, "error"}, error {"error"}, closed {"reason", "memberId"}."""

import argparse
import logging
import signal
import sys
import time

from interop_common import Deadline, add_member_arguments, event, require

kafka = require("kafka")


def main():
    parser = argparse.ArgumentParser()
    add_member_arguments(parser, client_id="kafka-python-member")
    parser.add_argument("--max-records", type=int)
    parser.add_argument("--seconds", type=float, default=50, help="bound on the whole run")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    deadline = Deadline(arguments.seconds)
    stop = [None]

    def on_signal(number, _frame):
        stop[0] = f"signal {number}"

    signal.signal(signal.SIGTERM, on_signal)
    # The Swift test process starts children with SIGTERM blocked (an inherited signal mask).
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    consumer = kafka.KafkaConsumer(
        bootstrap_servers=arguments.bootstrap, group_id=arguments.group, client_id=arguments.client_id,
        session_timeout_ms=arguments.session_timeout_ms, heartbeat_interval_ms=arguments.heartbeat_interval_ms,
        enable_auto_commit=False, auto_offset_reset="earliest", metadata_max_age_ms=1000)

    def commit(reason):
        positions = {}
        try:
            for partition in consumer.assignment():
                positions[partition] = consumer.position(partition)
            if not positions:
                return
            consumer.commit({partition: kafka.OffsetAndMetadata(offset, "", -1) for partition, offset in positions.items()})
        except Exception as error:  # reported; the test decides
            event("committed", offsets={}, error=repr(error), reason=reason)
            return
        event("committed", offsets={str(tp.partition): offset for tp, offset in positions.items()}, error=None, reason=reason)

    class Listener(kafka.ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            # kafka-python 3 runs listeners on its IO thread, where a blocking commit is refused;
            # every poll's records are committed before the next poll, so nothing is pending.
            event("revoked", partitions=sorted(tp.partition for tp in revoked), time=time.time())

        def on_partitions_assigned(self, assigned):
            event("assigned", partitions=sorted(tp.partition for tp in assigned), time=time.time())

    consumer.subscribe([arguments.topic], listener=Listener())
    event("started")
    consumed = 0
    reason = "deadline"
    while not deadline.expired():
        if stop[0]:
            reason = stop[0]
            break
        if arguments.max_records is not None and consumed >= arguments.max_records:
            reason = "max-records"
            break
        limit = None if arguments.max_records is None else arguments.max_records - consumed
        batches = consumer.poll(timeout_ms=100, max_records=limit)
        records = [[message.partition, message.offset, message.key.decode() if message.key is not None else None]
                   for messages in batches.values() for message in messages]
        if records:
            consumed += len(records)
            event("records", records=records)
            commit("batch")
    member_id = consumer._coordinator._generation.member_id if consumer._coordinator._generation else None
    commit("close")
    consumer.close()
    event("closed", reason=reason, memberId=member_id)


if __name__ == "__main__":
    main()
