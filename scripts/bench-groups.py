#!/usr/bin/env python3
"""Consumer-group figures against a running broker, with confluent-kafka (librdkafka) clients.

  scripts/bench-groups.py --bootstrap 127.0.0.1:9092 [--runs 5] [--heartbeat-interval-ms 3000]

(a) Rebalance time for a group of 3 over a 6-partition topic when one member leaves cleanly
    (close(): LeaveGroup) and when it dies (SIGKILL; its session, session.timeout.ms=6000, must
    expire first): the time from the event until the survivors' assignment callbacks of the new
    generation together cover every partition. Each member is its own process; times are
    wall-clock (time.time()) on one machine. Median, minimum and maximum of --runs runs. The
    survivors learn of a rebalance from their next heartbeat, so the event is placed at a random
    point of their heartbeat cycle (seeded): expect a clean leave to take up to one
    heartbeat.interval.ms, and a kill the session timeout (from the dead member's last
    heartbeat) plus up to one heartbeat interval.
(b) Commit throughput of one group member: synchronous commits per second (one partition's
    offset per commit, each waiting for its answer), and asynchronous commits per second
    (--async-commits commits issued back to back, timed until the last one is acknowledged).

The broker's group.initial.rebalance.delay.ms (default 3000) delays only a group's first join;
each run uses a fresh group, so every run waits for it once before the measured event, which it
does not affect. Prints the figures, and with --json one JSON object.
"""

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid

try:
    import confluent_kafka
    from confluent_kafka.admin import AdminClient, NewTopic
except ImportError as error:
    sys.exit(f"confluent-kafka is missing ({error}): run `make deps`")


# MARK: Member process

def run_member(arguments):
    """A group member: prints {"event": "assigned"|"revoked", "partitions": [...], "time": t}
    lines on stdout; SIGTERM closes the consumer (LeaveGroup) and exits."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": arguments.bootstrap,
        "group.id": arguments.group,
        "session.timeout.ms": arguments.session_timeout_ms,
        "heartbeat.interval.ms": arguments.heartbeat_interval_ms,
        "partition.assignment.strategy": "range",
        "enable.auto.commit": False,
    })

    def report(event, partitions):
        sys.stdout.write(json.dumps({"event": event, "partitions": sorted(tp.partition for tp in partitions), "time": time.time()}) + "\n")
        sys.stdout.flush()

    consumer.subscribe([arguments.topic], on_assign=lambda _, parts: report("assigned", parts),
                       on_revoke=lambda _, parts: report("revoked", parts))
    deadline = time.monotonic() + 300
    while not stop and time.monotonic() < deadline:
        consumer.poll(0.05)
    consumer.close()


class Member:
    """A member subprocess and the events it reported so far."""

    def __init__(self, arguments, group, topic):
        command = [sys.executable, "-u", os.path.abspath(__file__), "--member", "--bootstrap", arguments.bootstrap,
                   "--group", group, "--topic", topic, "--session-timeout-ms", str(arguments.session_timeout_ms),
                   "--heartbeat-interval-ms", str(arguments.heartbeat_interval_ms)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.events = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            with self.lock:
                self.events.append(json.loads(line))

    def assignment(self, after=0.0):
        """(partitions, time) of the member's current assignment made after `after`, or None."""
        current = None
        with self.lock:
            for event in self.events:
                if event["event"] == "assigned":
                    current = (set(event["partitions"]), event["time"])
                elif event["event"] == "revoked":
                    current = None
        if current is None or current[1] <= after:
            return None
        return current

    def first_revocation(self, after):
        """When the member's first revoke callback after `after` ran, or None."""
        with self.lock:
            return next((event["time"] for event in self.events if event["event"] == "revoked" and event["time"] > after), None)

    def stop(self, signal_number=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(signal_number)
        self.process.wait(timeout=60)


def wait_until(condition, timeout, what):
    """Polls `condition` (every 10 ms: the bench measures, it does not test) until it returns a
    value, or raises after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value is not None:
            return value
        time.sleep(0.01)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def covered(members, partitions, after=0.0):
    """The latest assignment time if the members' assignments (made after `after`) split
    `partitions` between them, else None."""
    assignments = [member.assignment(after) for member in members]
    if any(a is None for a in assignments):
        return None
    union = set().union(*(a[0] for a in assignments))
    if union != set(partitions) or sum(len(a[0]) for a in assignments) != len(partitions):
        return None
    return max(a[1] for a in assignments)


# MARK: Measurements

def ensure_topic(arguments, topic, partitions):
    admin = AdminClient({"bootstrap.servers": arguments.bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    for future in futures.values():
        try:
            future.result()
        except confluent_kafka.KafkaException as error:
            if error.args[0].code() != confluent_kafka.KafkaError.TOPIC_ALREADY_EXISTS:
                raise


def rebalance_once(arguments, topic, departure, generator):
    group = f"bench-rebalance-{departure}-{uuid.uuid4().hex[:8]}"
    members = [Member(arguments, group, topic) for _ in range(3)]
    try:
        wait_until(lambda: covered(members, range(arguments.partitions)), 60, "the group of 3 to settle")
        # The members' heartbeats are in step (their timers start at the same SyncGroup
        # answer): without this the event would always fall at the same point of their cycle.
        time.sleep(generator.uniform(0, arguments.heartbeat_interval_ms / 1000))
        leaving, survivors = members[2], members[:2]
        started = time.time()
        leaving.stop(signal.SIGTERM if departure == "leave" else signal.SIGKILL)
        finished = wait_until(lambda: covered(survivors, range(arguments.partitions), after=started), 60,
                              "the survivors to cover every partition")
        learned = min(member.first_revocation(started) or finished for member in survivors)
        return finished - started, finished - learned
    finally:
        for member in members:
            member.stop()


def commit_throughput(arguments, topic):
    group = f"bench-commits-{uuid.uuid4().hex[:8]}"
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": arguments.bootstrap, "group.id": group, "enable.auto.commit": False,
        "session.timeout.ms": arguments.session_timeout_ms,
    })
    assigned = []

    def poll_until_assigned():
        consumer.poll(0.05)
        return True if assigned else None

    consumer.subscribe([topic], on_assign=lambda _, parts: assigned.extend(parts))
    wait_until(poll_until_assigned, 60, "the commit benchmark's assignment")
    partition = assigned[0].partition
    # Committing, not fetching: the committed offsets lie beyond the (empty) log.
    consumer.pause(assigned)

    count = arguments.sync_commits
    started = time.perf_counter()
    for offset in range(count):
        consumer.commit(offsets=[confluent_kafka.TopicPartition(topic, partition, offset + 1)], asynchronous=False)
    sync_rate = count / (time.perf_counter() - started)

    acknowledged, failures = [0], []

    def on_commit(error, _partitions):
        acknowledged[0] += 1
        if error is not None and len(failures) < 5:
            failures.append(str(error))

    # A member of a second group, with a commit callback (the first one closes).
    consumer.close()
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": arguments.bootstrap, "group.id": group + "-async", "enable.auto.commit": False,
        "session.timeout.ms": arguments.session_timeout_ms, "on_commit": on_commit,
    })
    assigned.clear()
    consumer.subscribe([topic], on_assign=lambda _, parts: assigned.extend(parts))
    wait_until(poll_until_assigned, 60, "the second assignment")
    consumer.pause(assigned)
    count = arguments.async_commits
    base = count * 10
    started = time.perf_counter()
    for offset in range(count):
        consumer.commit(offsets=[confluent_kafka.TopicPartition(topic, partition, base + offset)], asynchronous=True)
        if offset % 100 == 0:
            consumer.poll(0)
    while acknowledged[0] < count and time.perf_counter() - started < 120:
        consumer.poll(0.01)
    async_rate = acknowledged[0] / (time.perf_counter() - started)
    committed = consumer.committed([confluent_kafka.TopicPartition(topic, partition)], timeout=10)[0].offset
    consumer.close()
    if failures or committed != base + count - 1:
        raise RuntimeError(f"async commits: failures {failures}, last committed {committed}, expected {base + count - 1}")
    return sync_rate, async_rate


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--session-timeout-ms", type=int, default=6000)
    parser.add_argument("--heartbeat-interval-ms", type=int, default=3000, help="librdkafka's default is 3000")
    parser.add_argument("--sync-commits", type=int, default=2000)
    parser.add_argument("--async-commits", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1, help="for the random point in the heartbeat cycle of each event")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--member", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.member:
        run_member(arguments)
        return

    topic = f"bench-groups-{arguments.partitions}"
    ensure_topic(arguments, topic, arguments.partitions)
    results = {"settings": {"sessionTimeoutMs": arguments.session_timeout_ms, "heartbeatIntervalMs": arguments.heartbeat_interval_ms,
                            "partitions": arguments.partitions, "members": 3, "runs": arguments.runs}}
    generator = random.Random(arguments.seed)
    for departure in ("leave", "kill"):
        runs = [rebalance_once(arguments, topic, departure, generator) for _ in range(arguments.runs)]
        results[f"rebalanceAfter{departure.capitalize()}Seconds"] = summary([run[0] for run in runs])
        results[f"rejoinAfter{departure.capitalize()}Seconds"] = summary([run[1] for run in runs])
    sync_rate, async_rate = commit_throughput(arguments, topic)
    results["syncCommitsPerSecond"] = sync_rate
    results["asyncCommitsPerSecond"] = async_rate

    print(f"== consumer groups: 3 members, {arguments.partitions} partitions, session.timeout.ms={arguments.session_timeout_ms}, "
          f"heartbeat.interval.ms={arguments.heartbeat_interval_ms}, {arguments.runs} runs ==")
    for departure, label in (("Leave", "clean leave (close)"), ("Kill", "member killed (SIGKILL)")):
        figures = results[f"rebalanceAfter{departure}Seconds"]
        print(f"rebalance after {label:<26} median {figures['median']:6.2f} s  (min {figures['min']:.2f}, max {figures['max']:.2f})")
        rejoin = results[f"rejoinAfter{departure}Seconds"]
        print(f"  of which rejoin and sync           median {rejoin['median'] * 1000:6.1f} ms (min {rejoin['min'] * 1000:.1f}, max {rejoin['max'] * 1000:.1f})")
    print(f"synchronous commits per second   {sync_rate:10.0f}  ({arguments.sync_commits} commits, one partition each)")
    print(f"asynchronous commits per second  {async_rate:10.0f}  ({arguments.async_commits} commits, one partition each)")
    if arguments.json:
        print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
