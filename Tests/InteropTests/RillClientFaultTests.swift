import Foundation
import NIOCore
import RillClient
import RillFormat
import RillProtocol
import Testing

extension InteropTests {
    /// Rill's idempotent producer and its consumer while the broker is killed (`kill -9`) and
    /// restarted on the same data directory: nothing acknowledged is lost or duplicated, nothing
    /// reported as certainly failed is written, and the consumer continues where it was.
    @Suite struct RillClientFaultTests {
        static let partitionCount: Int32 = 3
        static let brokerOverrides = ["log.flush.interval.messages=1", "num.partitions=\(partitionCount)"]
        static let producerProperties = [
            "acks": "all", "enable.idempotence": "true", "linger.ms": "0", "delivery.timeout.ms": "30000",
            "request.timeout.ms": "5000", "retry.backoff.ms": "50",
        ]
        /// Acknowledgements before the kill, and again after the restart.
        static let acknowledgementsPerPhase = 300
        /// Bound on the records a test sends, whatever happens.
        static let maximumRecords = 50_000
        /// `enqueueAcrossKill` stays at most this many records ahead of the delivery reports.
        static let maximumUnreported = 200

        /// What became of one record.
        struct Outcome: Sendable {
            var value: String
            var partition: Int32
            /// The acknowledged offset, or nil when it failed.
            var offset: Int64?
            var failure: KafkaClientError?
        }

        struct Progress: Sendable {
            var acknowledged = 0
            var failed = 0
            var isStopping = false
        }

        /// Runs `send` (which returns when `progress.isStopping`) while the broker is killed and
        /// restarted: kill after a phase of acknowledgements, restart, stop after another phase.
        ///
        /// With `failuresBeforeRestart`, the broker stays down until that many records have
        /// been reported failed (their delivery timeout passed while it was down).
        static func killAndRestart(_ broker: BrokerProcess, progress: Watched<Progress>, failuresBeforeRestart: Int = 0,
                                   atKill: () -> Void = {}) async throws {
            defer { progress.update { $0.isStopping = true } }
            let firstPhase = acknowledgementsPerPhase
            let killed = try #require(await progress.wait(timeout: .seconds(30)) { $0.acknowledged >= firstPhase || $0.isStopping },
                                      "no \(firstPhase) acknowledgements within 30 s")
            try #require(!killed.isStopping, "the senders stopped before the kill")
            atKill()
            try await broker.kill9()
            let acknowledgedAtKill = progress.value.acknowledged
            if failuresBeforeRestart > 0 {
                try #require(await progress.wait(timeout: .seconds(30)) { $0.failed >= failuresBeforeRestart } != nil,
                             "no \(failuresBeforeRestart) failures reported within 30 s of the kill")
            }
            try await broker.restart()
            let secondPhase = acknowledgedAtKill + acknowledgementsPerPhase
            try #require(await progress.wait(timeout: .seconds(60)) { $0.acknowledged >= secondPhase || $0.isStopping } != nil,
                         "no \(acknowledgementsPerPhase) acknowledgements within 60 s of the restart; broker log:\n\(broker.log.suffixLines(20))")
        }

        /// Reads the whole topic with confluent-kafka (an independent reader) and checks the
        /// outcomes against it.
        static func checkStored(_ outcomes: [Outcome], broker: BrokerProcess, topic: String,
                                sourceLocation: SourceLocation = #_sourceLocation) async throws -> CrashRecoveryTests.ConsumeAll {
            let stored: CrashRecoveryTests.ConsumeAll = try await Tools.runScript("confluent_consume_all.py", [
                "--bootstrap", broker.bootstrap, "--topic", topic, "--partitions", String(partitionCount),
            ])
            #expect(stored.errors.isEmpty, "\(stored.errors)", sourceLocation: sourceLocation)
            let storedValues = stored.records.map { Data.text(fromHex: $0.value) }
            var copies: [String: Int] = [:]
            for value in storedValues { copies[value, default: 0] += 1 }
            let duplicated = copies.filter { $0.value > 1 }.keys.sorted()
            #expect(duplicated.isEmpty, "\(duplicated.count) value(s) stored more than once, first: \(duplicated.prefix(5))", sourceLocation: sourceLocation)

            let storedAt = Dictionary(stored.records.map { (InteropRecord.Position(partition: $0.partition, offset: $0.offset), Data.text(fromHex: $0.value)) },
                                      uniquingKeysWith: { first, _ in first })
            let acknowledged = outcomes.filter { $0.offset != nil }
            let lost = acknowledged.filter { storedAt[InteropRecord.Position(partition: $0.partition, offset: $0.offset!)] != $0.value }
            #expect(lost.isEmpty, "\(lost.count) of \(acknowledged.count) acknowledged records not at their offset, first: \(lost.prefix(3).map { "\($0.value)@\($0.partition)/\($0.offset!)" })",
                    sourceLocation: sourceLocation)
            let certainlyFailed = outcomes.filter { $0.failure?.outcome == .failed }
            let writtenAnyway = certainlyFailed.filter { copies[$0.value] != nil }
            #expect(writtenAnyway.isEmpty, "\(writtenAnyway.count) record(s) reported .failed are stored: \(writtenAnyway.prefix(3).map(\.value))", sourceLocation: sourceLocation)

            // Per partition: offsets contiguous from 0, and the records in the order they were sent.
            let sendOrder = Dictionary(outcomes.enumerated().map { ($1.value, $0) }, uniquingKeysWith: { first, _ in first })
            for partition in 0..<partitionCount {
                let records = stored.records.filter { $0.partition == partition }
                #expect(records.map(\.offset) == Array(0..<Int64(records.count)), "partition \(partition): offsets not contiguous", sourceLocation: sourceLocation)
                #expect(stored.highWatermarks[String(partition)] == Int64(records.count), sourceLocation: sourceLocation)
                let positions = records.compactMap { sendOrder[Data.text(fromHex: $0.value)] }
                #expect(positions.count == records.count, "partition \(partition) holds values that were never sent", sourceLocation: sourceLocation)
                #expect(positions == positions.sorted(), "partition \(partition): stored out of sending order", sourceLocation: sourceLocation)
            }
            return stored
        }

        @Test("send (awaiting each) across a kill -9 and restart: acknowledged records once each, in order; failed ones absent")
        func sendAcrossKillAndRestart() async throws {
            try await BrokerProcess.with(overrides: Self.brokerOverrides) { broker in
                let topic = "fault-send"
                try await RillClients.withProducer(broker, Self.producerProperties) { producer in
                    let progress = Watched(Progress())
                    // One sender per partition, each awaiting every send: one record in flight per partition.
                    let senders = (0..<Self.partitionCount).map { partition in
                        Task { () -> [Outcome] in
                            var outcomes: [Outcome] = []
                            for index in 0..<Self.maximumRecords / Int(Self.partitionCount) where !progress.value.isStopping {
                                let value = "send-\(partition)-\(index)"
                                do {
                                    let metadata = try await producer.send(ProducerRecord(topic: topic, partition: partition, key: "k-\(index)", value: value))
                                    #expect(metadata.topicPartition == TopicPartition(topic, partition))
                                    outcomes.append(Outcome(value: value, partition: partition, offset: metadata.offset.rawValue))
                                    progress.update { $0.acknowledged += 1 }
                                } catch {
                                    let failure = error as? KafkaClientError ?? KafkaClientError(.cancelled, "\(error)", outcome: .unknown)
                                    outcomes.append(Outcome(value: value, partition: partition, failure: failure))
                                    progress.update { $0.failed += 1 }
                                }
                            }
                            return outcomes
                        }
                    }
                    try await Self.killAndRestart(broker, progress: progress)
                    var outcomes: [Outcome] = []
                    for sender in senders { outcomes += await sender.value }
                    _ = try await Self.checkStored(outcomes, broker: broker, topic: topic)
                }
            }
        }

        @Test("enqueue with delivery reports across a kill -9 and restart, while a consumer reads: nothing lost or doubled, the consumer continues where it was")
        func enqueueAndConsumeAcrossKillAndRestart() async throws {
            try await BrokerProcess.with(overrides: Self.brokerOverrides) { broker in
                let topic = "fault-enqueue"
                let partitions = (0..<Self.partitionCount).map { TopicPartition(topic, $0) }
                let progress = Watched(Progress())
                let consumed = Watched<[ConsumerRecord]>([])
                let consumerStop = Watched(false)
                let consumedAtKill = Watched(0)

                let outcomes = try await RillClients.withConsumer(broker, ["auto.offset.reset": "earliest", "max.poll.records": "50"]) { consumer in
                    consumer.assign(partitions)
                    // Reads throughout, until told to stop; errors from polls while the broker is
                    // down are counted, not fatal (the consumer retries by itself).
                    let reader = Task { () -> [String] in
                        var errors: [String] = []
                        for _ in 0..<100_000 where !consumerStop.value {
                            do {
                                let records = try await consumer.poll(timeout: .milliseconds(200))
                                if !records.isEmpty { consumed.update { $0 += records } }
                            } catch {
                                errors.append("\(error)")
                            }
                        }
                        return errors
                    }
                    let outcomes = try await RillClients.withProducer(broker, Self.producerProperties) { producer in
                        try await Self.enqueueAcrossKill(producer, topic: topic, broker: broker, progress: progress) {
                            consumedAtKill.update { $0 = consumed.value.count }
                        }
                    }
                    // The consumer catches up with everything stored, then stops.
                    let caughtUp = try await Self.waitUntilConsumed(consumer, consumed: consumed, partitions: partitions)
                    consumerStop.update { $0 = true }
                    let pollErrors = await reader.value
                    #expect(caughtUp, "the consumer did not reach the end of every partition within 30 s")
                    #expect(pollErrors.count < 50, "\(pollErrors.count) poll errors, first: \(pollErrors.prefix(3))")
                    return outcomes
                }
                let stored = try await Self.checkStored(outcomes, broker: broker, topic: topic)

                // The consumer's records are exactly what is stored: no gap, nothing twice, across the kill.
                let read = consumed.value
                #expect(consumedAtKill.value > 0 && consumedAtKill.value < read.count, "the consumer had read \(consumedAtKill.value) of \(read.count) records at the kill: it did not read across it")
                for partition in partitions {
                    let offsets = read.filter { $0.topicPartition == partition }.map(\.offset.rawValue)
                    let end = stored.highWatermarks[String(partition.partition)] ?? -1
                    #expect(offsets == Array(0..<end), "\(partition): read \(offsets.count) records for \(end) stored, gaps or repeats")
                }
                let storedValues = Dictionary(stored.records.map { (InteropRecord.Position(partition: $0.partition, offset: $0.offset), Data.text(fromHex: $0.value)) },
                                              uniquingKeysWith: { first, _ in first })
                let different = read.filter { storedValues[InteropRecord.Position(partition: $0.topicPartition.partition, offset: $0.offset.rawValue)] != $0.value.map { String(buffer: $0) } }
                #expect(different.isEmpty, "\(different.count) consumed records differ from the stored ones")
            }
        }

        @Test("records whose delivery timeout passes while the broker is down fail: .failed ones are not stored, .unknown ones at most once")
        func deliveryTimeoutWhileTheBrokerIsDown() async throws {
            try await BrokerProcess.with(overrides: Self.brokerOverrides) { broker in
                let topic = "fault-timeout"
                let progress = Watched(Progress())
                let outcomes = try await RillClients.withProducer(broker, Self.producerProperties.merging([
                    "delivery.timeout.ms": "1500", "request.timeout.ms": "1000",
                ]) { $1 }) { producer in
                    // More failures than records outstanding at the kill (all of which may have been
                    // in flight, and fail .unknown): some records were enqueued while the broker was
                    // down, never sent, and fail .failed.
                    try await Self.enqueueAcrossKill(producer, topic: topic, broker: broker, progress: progress, failuresBeforeRestart: Self.maximumUnreported + 50)
                }
                let failures = outcomes.compactMap(\.failure)
                #expect(failures.count >= Self.maximumUnreported + 50)
                // A batch whose delivery timeout passes is reported with the timeout, or — as Kafka's
                // producer does when the last attempt failed and no retry fits — with that attempt's
                // connection error (seen on a loaded machine).
                let expected: Set<KafkaClientError.Code> = [.timedOut, .sequenceLost, .connectionFailed, .connectionClosed]
                #expect(failures.allSatisfy { expected.contains($0.code) }, "\(Set(failures.map(\.code.name)))")
                // Records in flight at the kill may be in the log; records never written are certainly not.
                #expect(failures.contains { $0.outcome == .unknown } && failures.contains { $0.outcome == .failed },
                        "outcomes: \(failures.filter { $0.outcome == .unknown }.count) unknown, \(failures.filter { $0.outcome == .failed }.count) failed")
                _ = try await Self.checkStored(outcomes, broker: broker, topic: topic)
            }
        }

        @Test("buffer.memory full while the broker is down: enqueue waits max.block.ms, then throws; after the restart the buffered records arrive")
        func bufferMemoryBackPressure() async throws {
            try await BrokerProcess.with(overrides: Self.brokerOverrides) { broker in
                let topic = "back-pressure"
                let producer = try await KafkaProducer.start(configuration: try ProducerConfiguration(properties: RillClients.properties(broker, [
                    "buffer.memory": "4096", "max.request.size": "1024", "max.block.ms": "500", "linger.ms": "0", "retry.backoff.ms": "50",
                ])))
                let collector = Task { () -> [DeliveryReport] in
                    var reports: [DeliveryReport] = []
                    for await report in producer.deliveryReports { reports.append(report) }
                    return reports
                }
                _ = try await producer.send(ProducerRecord(topic: topic, partition: 0, key: "k", value: "before"))
                try await broker.kill9()

                var accepted = 0
                var refusal: KafkaClientError?
                var refusalWait: Duration = .zero
                for index in 0..<1_000 {
                    let started = ContinuousClock.now
                    do {
                        try await producer.enqueue(ProducerRecord(topic: topic, partition: 0, key: "k", value: "buffered-\(index)-" + String(repeating: "x", count: 100)),
                                                   context: UInt64(index))
                        accepted += 1
                    } catch let error as KafkaClientError {
                        refusal = error
                        refusalWait = ContinuousClock.now - started
                        break
                    }
                }
                #expect(refusal?.code == .bufferExhausted, "\(refusal.map(String.init(describing:)) ?? "no refusal after 1000 records")")
                #expect(refusalWait >= .milliseconds(450) && refusalWait < .seconds(5), "waited \(refusalWait) for buffer space, max.block.ms is 500")
                try #require((20..<40).contains(accepted), "\(accepted) records of about 130 bytes fit in 4096 bytes")

                try await broker.restart()
                await producer.close()
                let reports = await collector.value
                #expect(reports.map(\.context) == Array(0..<UInt64(accepted)), "one report per buffered record, in order")
                #expect(reports.allSatisfy { $0.error == nil }, "\(reports.compactMap(\.error).prefix(3))")
                #expect(reports.map(\.offset.rawValue) == Array(1...Int64(accepted)))
            }
        }

        /// Enqueues records (at most 200 unreported at a time) until `killAndRestart` is done,
        /// then flushes; returns each record's outcome from its delivery report.
        static func enqueueAcrossKill(_ producer: KafkaProducer, topic: String, broker: BrokerProcess, progress: Watched<Progress>,
                                      failuresBeforeRestart: Int = 0, atKill: () -> Void = {}) async throws -> [Outcome] {
            let reported = Watched(0)
            let reports = Task { () -> [UInt64: DeliveryReport] in
                var reports: [UInt64: DeliveryReport] = [:]
                // Ends when the producer closes (withProducer closes it after this function).
                for await report in producer.deliveryReports {
                    reports[report.context] = report
                    progress.update { report.error == nil ? ($0.acknowledged += 1) : ($0.failed += 1) }
                    reported.update { $0 += 1 }
                }
                return reports
            }
            let enqueuer = Task { () -> Int in
                var enqueued = 0
                while enqueued < maximumRecords, !progress.value.isStopping {
                    let limit = enqueued - maximumUnreported
                    guard await reported.wait(timeout: .seconds(60), until: { $0 >= limit }) != nil else { break }
                    let partition = Int32(enqueued) % partitionCount
                    try await producer.enqueue(ProducerRecord(topic: topic, partition: partition, key: "k-\(enqueued)", value: "enqueue-\(enqueued)"),
                                               context: UInt64(enqueued))
                    enqueued += 1
                }
                return enqueued
            }
            try await killAndRestart(broker, progress: progress, failuresBeforeRestart: failuresBeforeRestart, atKill: atKill)
            let enqueued = try await enqueuer.value
            await producer.flush()
            let flushedReports = try #require(await reported.wait(timeout: .seconds(5)) { $0 >= enqueued }, "delivery reports missing after flush")
            #expect(flushedReports == enqueued)
            reports.cancel()
            let byContext = await reports.value
            return (0..<enqueued).map { index in
                let report = byContext[UInt64(index)]
                return Outcome(value: "enqueue-\(index)", partition: Int32(index) % partitionCount,
                               offset: report?.error == nil ? report?.offset.rawValue : nil, failure: report?.error)
            }
        }

        /// Whether the consumer has read every partition to its log end, waiting up to 30 s.
        static func waitUntilConsumed(_ consumer: KafkaConsumer, consumed: Watched<[ConsumerRecord]>, partitions: [TopicPartition]) async throws -> Bool {
            let ends = try await KafkaAdmin(cluster: consumer.cluster).listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, .latest) }))
            let done = await consumed.wait(timeout: .seconds(30)) { records in
                partitions.allSatisfy { partition in
                    Int64(records.lazy.filter { $0.topicPartition == partition }.count) >= ends[partition]?.offset.rawValue ?? 0
                }
            }
            return done != nil
        }
    }
}
