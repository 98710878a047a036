import Foundation
import NIOCore
@testable import RillClient
import RillFormat
import RillProtocol
import Testing

extension InteropTests {
    /// Rill's `KafkaAdmin` and `KafkaConsumer` APIs against a `rill broker` process.
    @Suite struct RillClientAPITests {
        static let topic = "api"

        /// `count` records with values "<partition>-<index>" to each partition (explicit
        /// timestamps `baseTimestamp + 1000 × index`), and the reports of their delivery.
        @discardableResult
        static func seed(_ broker: BrokerProcess, topic: String = topic, partitions: [Int32], from start: Int = 0, count: Int,
                         baseTimestamp: Int64 = 1_600_000_000_000) async throws -> [DeliveryReport] {
            let records = partitions.flatMap { partition in
                (start..<start + count).map { index in
                    ProducerRecord(topic: topic, partition: partition, key: "k-\(index)", value: "\(partition)-\(index)",
                                   timestamp: Timestamp(milliseconds: baseTimestamp + 1000 * Int64(index)))
                }
            }
            let reports = try await RillClients.produceAll(records, to: broker).values.sorted { $0.context < $1.context }
            try #require(reports.count == records.count && reports.allSatisfy { $0.error == nil }, "seeding failed: \(reports.compactMap(\.error).prefix(3))")
            return reports
        }

        static func offsets(_ records: [ConsumerRecord], _ partition: TopicPartition) -> [Int64] {
            records.filter { $0.topicPartition == partition }.map(\.offset.rawValue)
        }

        // MARK: Connections

        @Test("a broker's connection is reused while it is open, replaced once discarded, and refused after close")
        func connectionReuse() async throws {
            try await BrokerProcess.with { broker in
                let cluster = KafkaCluster(configuration: ClientConfiguration(bootstrapServers: [("127.0.0.1", broker.port)]))
                let node = try #require(try await cluster.refreshMetadata(topics: []).brokers.keys.first)
                let first = try await cluster.connection(to: node)
                #expect(try await cluster.connection(to: node) === first, "an open connection is reused, not reopened per request")
                await cluster.discard(first)
                let second = try await cluster.connection(to: node)
                #expect(second !== first && second.isActive)
                await cluster.close()
                await #expect(throws: KafkaClientError.self) { _ = try await cluster.connection(to: node) }
            }
        }

        // MARK: Admin

        @Test("KafkaAdmin: create (with configs), describe, describe configs, list offsets, delete records, delete topic")
        func adminLifecycle() async throws {
            try await BrokerProcess.with(overrides: ["auto.create.topics.enable=false"]) { broker in
                let topic = "admin-topic"
                let p1 = TopicPartition(topic, 1)
                try await RillClients.withAdmin(broker) { admin in
                    try await admin.createTopic(.init(name: topic, partitionCount: 3, replicationFactor: 1,
                                                      configs: ["retention.ms": "123456789", "cleanup.policy": "delete"]))
                    let again = try await admin.createTopics([.init(name: topic, partitionCount: 3)])
                    #expect(again[topic]??.brokerError == .topicAlreadyExists)
                    let validated = try await admin.createTopics([.init(name: "validate-only", partitionCount: 1)], validateOnly: true)
                    #expect(validated.keys.sorted() == ["validate-only"])
                    #expect(validated["validate-only"] == .some(nil))
                    #expect(try await admin.listTopics() == [topic], "validateOnly created nothing")

                    let description = try #require(try await admin.describeTopics([topic]).first)
                    #expect(description.name == topic)
                    #expect(description.partitions.map(\.partition) == [0, 1, 2])
                    #expect(description.partitions.allSatisfy { $0.leader >= 0 && $0.errorCode == .none })

                    let configs = try await admin.describeTopicConfigs(topic)
                    #expect(configs["retention.ms"]?.value == "123456789")
                    #expect(configs["retention.ms"]?.isDefault == false)
                    #expect(configs["retention.ms"]?.source == .topicConfig)
                    #expect(configs["cleanup.policy"]?.value == "delete")
                    #expect(configs["segment.bytes"]?.isDefault == true, "\(configs["segment.bytes"].map(String.init(describing:)) ?? "no segment.bytes")")
                    #expect(configs["max.message.bytes"] != nil)

                    // Ten records on partition 1 at timestamps base + 1000 × i.
                    let base: Int64 = 1_600_000_000_000
                    try await Self.seed(broker, topic: topic, partitions: [1], count: 10, baseTimestamp: base)
                    let listed = try await admin.listOffsets([
                        TopicPartition(topic, 0): .latest, p1: .earliest,
                    ])
                    #expect(listed[TopicPartition(topic, 0)]?.offset == Offset(0))
                    #expect(listed[p1]?.offset == Offset(0))
                    #expect(try await admin.listOffsets([p1: .latest])[p1]?.offset == Offset(10))
                    let byTime = try await admin.listOffsets([p1: .timestamp(base + 4_500)])[p1]
                    #expect(byTime?.offset == Offset(5))
                    #expect(byTime?.timestamp == Timestamp(milliseconds: base + 5_000))
                    #expect(try await admin.listOffsets([p1: .timestamp(base)])[p1]?.offset == Offset(0))
                    #expect(try await admin.listOffsets([p1: .timestamp(base + 60_000)])[p1]?.offset == Offset.none, "no record that late")

                    let lowWatermarks = try await admin.deleteRecords([p1: Offset(4)])
                    #expect(lowWatermarks == [p1: Offset(4)])
                    #expect(try await admin.listOffsets([p1: .earliest])[p1]?.offset == Offset(4))
                    let remaining = try await RillClients.withConsumer(broker, ["auto.offset.reset": "earliest"]) { consumer in
                        consumer.assign([p1])
                        return try await RillClients.poll(consumer, count: 6)
                    }
                    #expect(remaining.map(\.offset.rawValue) == Array(4..<10))

                    let deleted = try await admin.deleteTopics([topic, "never-was"])
                    #expect(deleted[topic] == .some(nil))
                    #expect(deleted["never-was"]??.brokerError == .unknownTopicOrPartition)
                    #expect(try await admin.listTopics().isEmpty, "a deleted topic is still listed")
                    do {
                        _ = try await admin.describeTopics([topic])
                        Issue.record("describing a deleted topic succeeded")
                    } catch let error as KafkaClientError {
                        #expect(error.brokerError == .unknownTopicOrPartition)
                    }
                }
            }
        }

        // MARK: Producer

        @Test("send returns where the record landed: partition, offset, and its CreateTime (or the broker's LogAppendTime)")
        func sendReturnsRecordMetadata() async throws {
            try await BrokerProcess.with(overrides: ["num.partitions=1"]) { broker in
                try await RillClients.withAdmin(broker) { admin in
                    try await admin.createTopic(.init(name: "append-time", partitionCount: 1, configs: ["message.timestamp.type": "LogAppendTime"]))
                }
                let before = InteropTests.nowMilliseconds()
                try await RillClients.withProducer(broker) { producer in
                    let created = Timestamp(milliseconds: 1_500_000_000_123)
                    let first = try await producer.send(ProducerRecord(topic: "create-time", key: "k", value: "first", timestamp: created))
                    #expect(first.topicPartition == TopicPartition("create-time", 0))
                    #expect(first.offset == Offset(0))
                    #expect(first.timestamp == created)
                    let second = try await producer.send(ProducerRecord(topic: "create-time", key: "k", value: "second", timestamp: created))
                    #expect(second.offset == Offset(1))

                    let appended = try await producer.send(ProducerRecord(topic: "append-time", key: "k", value: "v", timestamp: created))
                    #expect(appended.offset == Offset(0))
                    #expect((before...InteropTests.nowMilliseconds()).contains(appended.timestamp.milliseconds),
                            "LogAppendTime \(appended.timestamp) is not the broker's clock")
                }
                try await RillClients.withConsumer(broker, ["auto.offset.reset": "earliest"]) { consumer in
                    consumer.assign([TopicPartition("append-time", 0)])
                    let record = try #require(try await RillClients.poll(consumer, count: 1).first)
                    #expect(record.timestampType == .logAppendTime)
                    #expect(record.timestamp.milliseconds >= before)
                }
            }
        }

        @Test("acks=0: send returns without an offset and the record arrives")
        func acksZero() async throws {
            try await BrokerProcess.with(overrides: ["num.partitions=1"]) { broker in
                try await RillClients.withProducer(broker, ["acks": "0"]) { producer in
                    #expect(!producer.configuration.isIdempotent)
                    let metadata = try await producer.send(ProducerRecord(topic: "fire-and-forget", key: "k", value: "v"))
                    #expect(metadata.offset == Offset.none)
                }
                // Written is not yet appended: wait for it (bounded) rather than read once.
                let records = try await RillClients.withConsumer(broker, ["auto.offset.reset": "earliest"]) { consumer in
                    consumer.assign([TopicPartition("fire-and-forget", 0)])
                    return try await RillClients.poll(consumer, count: 1, timeout: .seconds(10))
                }
                #expect(records.map { $0.value.map { String(buffer: $0) } } == ["v"])
                #expect(records.first?.offset == Offset(0))
            }
        }

        @Test("a record for a topic that does not exist (no auto-creation) fails with the broker's error, promptly")
        func sendToMissingTopicFails() async throws {
            try await BrokerProcess.with(overrides: ["auto.create.topics.enable=false"]) { broker in
                try await RillClients.withProducer(broker, ["max.block.ms": "5000"]) { producer in
                    let started = ContinuousClock.now
                    let error = await #expect(throws: KafkaClientError.self) {
                        try await producer.send(ProducerRecord(topic: "missing", key: "k", value: "v"))
                    }
                    #expect(error?.brokerError == .unknownTopicOrPartition, "\(error.map(String.init(describing:)) ?? "")")
                    #expect(ContinuousClock.now - started < .seconds(10))
                    await #expect(throws: KafkaClientError.self) {
                        try await producer.send(ProducerRecord(topic: "missing", partition: 3, key: "k", value: "v"))
                    }
                }
            }
        }

        @Test("a closed producer refuses records; close reports every record enqueued before it")
        func closedProducerRefusesRecords() async throws {
            try await BrokerProcess.with(overrides: ["num.partitions=1"]) { broker in
                let producer = try await KafkaProducer.start(configuration: try ProducerConfiguration(properties: RillClients.properties(broker, ["linger.ms": "1000"])))
                for index in 0..<10 { try await producer.enqueue(ProducerRecord(topic: "closing", key: "k", value: "\(index)"), context: UInt64(index)) }
                await producer.close()
                var reports: [DeliveryReport] = []
                for await report in producer.deliveryReports { reports.append(report) }
                #expect(reports.map(\.context) == Array(0..<10), "close flushes: every record is reported, in order")
                #expect(reports.allSatisfy { $0.error == nil })
                #expect(reports.map(\.offset.rawValue) == Array(0..<10))
                let error = await #expect(throws: KafkaClientError.self) {
                    try await producer.enqueue(ProducerRecord(topic: "closing", key: "k", value: "late"))
                }
                #expect(error?.code == .closed)
            }
        }

        @Test("a record larger than max.partition.fetch.bytes still reaches the consumer")
        func recordLargerThanPartitionFetchSize() async throws {
            try await BrokerProcess.with(overrides: ["num.partitions=1"]) { broker in
                let big = String(repeating: "0123456789abcdef", count: 8 * 1024)  // 128 KiB
                let reports = try await RillClients.produceAll(
                    [ProducerRecord(topic: "big", key: "k", value: "small"), ProducerRecord(topic: "big", key: "k", value: big),
                     ProducerRecord(topic: "big", key: "k", value: "after")], to: broker, ["linger.ms": "0", "batch.size": "1024"])
                #expect(reports.values.allSatisfy { $0.error == nil })
                let records = try await RillClients.withConsumer(broker, ["auto.offset.reset": "earliest", "max.partition.fetch.bytes": "4096"]) { consumer in
                    consumer.assign([TopicPartition("big", 0)])
                    return try await RillClients.poll(consumer, count: 3, timeout: .seconds(10))
                }
                #expect(records.map { $0.value?.readableBytes ?? -1 } == [5, big.utf8.count, 5])
            }
        }

        // MARK: Consumer

        @Test("assign, position, seek, seekToBeginning and seekToEnd move where poll reads")
        func assignSeekAndPosition() async throws {
            try await BrokerProcess.with(overrides: ["num.partitions=2"]) { broker in
                let p0 = TopicPartition(Self.topic, 0), p1 = TopicPartition(Self.topic, 1)
                try await Self.seed(broker, partitions: [0, 1], count: 30)
                try await RillClients.withConsumer(broker, ["auto.offset.reset": "earliest", "max.poll.records": "7"]) { consumer in
                    consumer.assign([p0])
                    #expect(consumer.assignment == [p0])
                    #expect(try await consumer.position(p0) == Offset(0))
                    let all = try await RillClients.poll(consumer, count: 30)
                    #expect(all.map(\.offset.rawValue) == Array(0..<30))
                    #expect(all.map { $0.value.map { String(buffer: $0) } } == (0..<30).map { "0-\($0)" })
                    #expect(try await consumer.position(p0) == Offset(30))

                    try consumer.seek(p0, to: Offset(12))
                    #expect(try await consumer.position(p0) == Offset(12))
                    #expect(try await RillClients.poll(consumer, count: 18).map(\.offset.rawValue) == Array(12..<30))

                    try await consumer.seekToBeginning([p0])
                    #expect(try await consumer.position(p0) == Offset(0))
                    #expect(try await RillClients.poll(consumer, count: 1).first?.offset == Offset(0))

                    try await consumer.seekToEnd([p0])
                    #expect(try await consumer.position(p0) == Offset(30))
                    #expect(try await consumer.poll(timeout: .milliseconds(300)).isEmpty)
                    try await Self.seed(broker, partitions: [0], from: 30, count: 5)
                    #expect(try await RillClients.poll(consumer, count: 5).map(\.offset.rawValue) == Array(30..<35))

                    #expect(throws: KafkaClientError.self) { try consumer.seek(p1, to: Offset(0)) }
                    consumer.assign([p1])
                    #expect(consumer.assignment == [p1])
                    let second = try await RillClients.poll(consumer, count: 30)
                    #expect(second.allSatisfy { $0.topicPartition == p1 })
                    #expect(second.map(\.offset.rawValue) == Array(0..<30))
                }
            }
        }

        @Test("concurrent polls each end at their own timeout, the short one first; data ends a wait early")
        func pollTimeoutsShareOneTimer() async throws {
            try await BrokerProcess.with(overrides: ["num.partitions=1"]) { broker in
                try await Self.seed(broker, partitions: [0], count: 1)
                // Fetches held 15 s at the broker: an empty fetch does not end the waits, the timer must.
                try await RillClients.withConsumer(broker, ["auto.offset.reset": "latest", "fetch.max.wait.ms": "15000"]) { consumer in
                    consumer.assign([TopicPartition(Self.topic, 0)])
                    #expect(try await consumer.poll(timeout: .milliseconds(300)).isEmpty)
                    let clock = ContinuousClock()
                    let start = clock.now
                    async let long = consumer.poll(timeout: .seconds(20))
                    // The short poll waits after the long one does: the shared timer must move earlier.
                    #expect(await GroupMemberUnderTest.eventually { consumer.state.withLockedValue { !$0.waiters.isEmpty } })
                    let short = try await consumer.poll(timeout: .milliseconds(200))
                    #expect(short.isEmpty)
                    #expect(clock.now - start < .seconds(5), "the short poll waited for the long one's deadline or a fetch")
                    try await Self.seed(broker, partitions: [0], from: 1, count: 1)
                    #expect(try await long.map(\.offset.rawValue) == [1])
                    #expect(clock.now - start < .seconds(12), "data did not end the long poll's wait")
                }
            }
        }

        @Test("paused partitions return nothing, buffered or not, until resumed; then they continue where they were")
        func pauseAndResume() async throws {
            try await BrokerProcess.with(overrides: ["num.partitions=2"]) { broker in
                let p0 = TopicPartition(Self.topic, 0), p1 = TopicPartition(Self.topic, 1)
                try await Self.seed(broker, partitions: [0, 1], count: 40)
                try await RillClients.withConsumer(broker, ["auto.offset.reset": "earliest", "max.poll.records": "5"]) { consumer in
                    consumer.assign([p0, p1])
                    let beforePause = try await RillClients.poll(consumer) { Self.offsets($0, p1).count >= 5 }
                    consumer.pause([p1])
                    #expect(consumer.paused == [p1])
                    let whilePaused = try await RillClients.poll(consumer) { Self.offsets(beforePause + $0, p0).count >= 40 }
                    #expect(Self.offsets(whilePaused, p1).isEmpty, "a paused partition returned records")
                    #expect(Self.offsets(beforePause + whilePaused, p0) == Array(0..<40))
                    #expect(try await consumer.poll(timeout: .milliseconds(300)).isEmpty, "p0 is at its end and p1 paused")
                    let pausedPosition = try await consumer.position(p1)

                    consumer.resume([p1])
                    #expect(consumer.paused.isEmpty)
                    let afterResume = try await RillClients.poll(consumer) { Self.offsets(beforePause + $0, p1).count >= 40 }
                    #expect(Self.offsets(afterResume, p1).first == pausedPosition.rawValue)
                    #expect(Self.offsets(beforePause + afterResume, p1) == Array(0..<40))
                    #expect(Self.offsets(afterResume, p0).isEmpty)
                }
            }
        }

        @Test("auto.offset.reset: earliest and latest start there; none fails clearly until a seek gives a position")
        func autoOffsetReset() async throws {
            try await BrokerProcess.with(overrides: ["num.partitions=1"]) { broker in
                let p0 = TopicPartition(Self.topic, 0)
                try await Self.seed(broker, partitions: [0], count: 20)
                try await RillClients.withConsumer(broker, ["auto.offset.reset": "earliest"]) { consumer in
                    consumer.assign([p0])
                    let first = try await RillClients.poll(consumer, count: 1).first
                    #expect(first?.offset == Offset(0))
                }
                try await RillClients.withConsumer(broker, ["auto.offset.reset": "latest"]) { consumer in
                    consumer.assign([p0])
                    #expect(try await consumer.position(p0) == Offset(20))
                    #expect(try await consumer.poll(timeout: .milliseconds(300)).isEmpty)
                    try await Self.seed(broker, partitions: [0], from: 20, count: 3)
                    #expect(try await RillClients.poll(consumer, count: 3).map(\.offset.rawValue) == [20, 21, 22])
                }
                try await RillClients.withConsumer(broker, ["auto.offset.reset": "none"]) { consumer in
                    consumer.assign([p0])
                    let error = await #expect(throws: KafkaClientError.self) { try await consumer.poll(timeout: .seconds(5)) }
                    #expect(error?.message.contains("auto.offset.reset is none") == true, "\(error.map(String.init(describing:)) ?? "")")
                    await #expect(throws: KafkaClientError.self) { try await consumer.position(p0) }
                    try consumer.seek(p0, to: Offset(5))
                    #expect(try await RillClients.poll(consumer, count: 1).first?.offset == Offset(5))
                }
            }
        }

        @Test("an offset out of range is reset by auto.offset.reset: earliest, latest, or an error with none")
        func offsetOutOfRange() async throws {
            try await BrokerProcess.with(overrides: ["num.partitions=1"]) { broker in
                let p0 = TopicPartition(Self.topic, 0)
                try await Self.seed(broker, partitions: [0], count: 20)
                try await RillClients.withConsumer(broker, ["auto.offset.reset": "earliest"]) { consumer in
                    consumer.assign([p0])
                    try consumer.seek(p0, to: Offset(1_000))
                    #expect(try await RillClients.poll(consumer, count: 20).map(\.offset.rawValue) == Array(0..<20))
                }
                try await RillClients.withConsumer(broker, ["auto.offset.reset": "latest"]) { consumer in
                    consumer.assign([p0])
                    try consumer.seek(p0, to: Offset(1_000))
                    // Until a fetch has found 1000 out of range and the reset has moved the position.
                    var position = Offset(1_000)
                    for _ in 0..<40 where position == Offset(1_000) {
                        _ = try await consumer.poll(timeout: .milliseconds(250))
                        position = try await consumer.position(p0)
                    }
                    #expect(position == Offset(20))
                    try await Self.seed(broker, partitions: [0], from: 20, count: 2)
                    #expect(try await RillClients.poll(consumer, count: 2).map(\.offset.rawValue) == [20, 21])
                }
                try await RillClients.withConsumer(broker, ["auto.offset.reset": "none"]) { consumer in
                    consumer.assign([p0])
                    try consumer.seek(p0, to: Offset(1_000))
                    await #expect(throws: KafkaClientError.self) { _ = try await RillClients.poll(consumer, count: 1, timeout: .seconds(5)) }
                }
            }
        }

        @Test("cancelling a task blocked in poll() returns promptly, whenever the cancellation comes")
        func cancellingPollReturnsPromptly() async throws {
            try await BrokerProcess.with(overrides: ["num.partitions=1"]) { broker in
                let p0 = TopicPartition(Self.topic, 0)
                try await Self.seed(broker, partitions: [0], count: 1)
                for yields in 0..<12 {
                    // A fresh consumer each time: the first poll also looks up the position (a
                    // network round trip) before it blocks, another place for the cancellation to
                    // land. The broker holds each empty fetch for 30 s: the end of a fetch must not
                    // be what ends the poll.
                    try await RillClients.withConsumer(broker, ["auto.offset.reset": "latest", "fetch.max.wait.ms": "30000"]) { consumer in
                        consumer.assign([p0])
                        // Every other time the position is known already: poll blocks at once.
                        if yields.isMultiple(of: 2) { _ = try await consumer.position(p0) }
                        let started = ContinuousClock.now
                        let poll = Task { try await consumer.poll(timeout: .seconds(60)) }
                        for _ in 0..<yields { await Task.yield() }
                        poll.cancel()
                        let ended = await Self.completes(poll, within: .seconds(3))
                        #expect(ended, "poll still blocked 3 s after its task was cancelled (\(yields) yields before cancelling)")
                        #expect(ContinuousClock.now - started < .seconds(5))
                        if case .success(let records)? = await Self.result(of: poll, ended: ended) {
                            #expect(records.isEmpty)
                        }
                    }
                }
            }
        }

        /// Whether `task` finishes within `timeout` (the bound of the wait, not a wait for time
        /// to pass). Awaiting a task's result cannot be interrupted, so a watcher task (which
        /// ends when `task` does, at the latest when the test closes the consumer) reports it.
        static func completes<Success: Sendable>(_ task: Task<Success, any Error>, within timeout: Duration) async -> Bool {
            let ended = Watched(false)
            Task { _ = await task.result; ended.update { $0 = true } }
            return await ended.wait(timeout: timeout) { $0 } != nil
        }

        static func result<Success: Sendable>(of task: Task<Success, any Error>, ended: Bool) async -> Result<Success, any Error>? {
            ended ? await task.result : nil
        }
    }
}
