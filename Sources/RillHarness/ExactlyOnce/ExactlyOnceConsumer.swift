import Foundation
import NIOCore
import RillChecker
import RillClient
import RillFormat
import RillProtocol

/// One consumer of the exactly-once workload, run as its own OS process (`rill
/// exactly-once-consumer`, hidden) so that the harness can SIGKILL it at any instant.
///
/// It subscribes to the topic with the workload's consumer group and, for each polled batch,
/// applies the records and the next offsets to the SQLite store in ONE transaction
/// (`ExactlyOnceStore.apply`), fenced on the stored next offset. On assignment its rebalance
/// listener seeks every new partition to the offset stored in SQLite — never to the broker's
/// committed offset (it never commits to the broker at all).
///
/// It reports to the harness on standard output, one history event per line
/// (HISTORY-FORMAT.md, `HistoryEvent.jsonLine()`), with index, time and process left 0: the
/// harness decodes each line, and records it under this consumer's process id with its own
/// index and clock. A `process` is reported as `invoke` before the transaction begins and `ok`
/// (applied), `fail` (refused by the fence) after it ends; a kill in between leaves it in
/// flight, which the harness turns into a crash.
public struct ExactlyOnceConsumer: Sendable {
    /// How the consumer keeps its effects and its offsets.
    public enum Mode: String, Sendable, CaseIterable, Encodable {
        /// Records and next offsets in one fenced transaction: exactly once.
        case transactional
        /// BUILT TO FAIL: the records in one transaction per batch, the next offsets in another,
        /// stored only every `offsetStoreIntervalMilliseconds`. A kill between the two leaves
        /// records applied whose offsets were not stored, so a restarted consumer applies them
        /// again (`duplicate-effect`).
        case splitTransactions = "split-transactions"
    }

    public struct Options: Sendable {
        public var bootstrap: String
        public var topic: String
        public var groupID: String
        public var storePath: String
        public var mode = Mode.transactional
        /// `max.poll.records`: the most records in one transaction.
        public var maximumPollRecords = 100
        /// `session.timeout.ms`: how long the group waits for a killed member before moving its
        /// partitions (the broker's `group.min.session.timeout.ms` must allow it).
        public var sessionTimeoutMilliseconds = 3_000
        /// `split-transactions` only: how often the second transaction stores the offsets.
        public var offsetStoreIntervalMilliseconds = 1_000
        /// The consumer stops by itself after this long (a bound, should the harness vanish
        /// without closing its standard input).
        public var maximumRunSeconds = 600

        public init(bootstrap: String, topic: String, groupID: String, storePath: String) {
            self.bootstrap = bootstrap
            self.topic = topic
            self.groupID = groupID
            self.storePath = storePath
        }
    }

    public let options: Options
    /// Writes one line (the harness reads it); must not buffer.
    let emit: @Sendable (String) -> Void

    public init(options: Options, emit: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.emit = emit
    }

    /// Polls and applies until `shouldStop()` is true or `maximumRunSeconds` pass; throws when the
    /// store or the client fails (the process then exits non-zero and the harness records a crash).
    public func run(shouldStop: @escaping @Sendable () -> Bool) async throws {
        let store = try ExactlyOnceStore(path: options.storePath)
        defer { store.close() }
        let changes = RebalanceLog()
        let consumer = KafkaConsumer(configuration: try consumerConfiguration())
        try consumer.subscribe(topics: [options.topic], listener: Listener(store: store, changes: changes))
        let deadline = ContinuousClock.now + .seconds(options.maximumRunSeconds)
        var pending: [String: Int64] = [:]
        var lastOffsetStore = ContinuousClock.now
        do {
            while !shouldStop(), ContinuousClock.now < deadline {
                let records = CheckedClientDriver.group(try await consumer.poll(timeout: .milliseconds(200)))
                let batches = records.map(Self.batch)
                if batches.isEmpty {
                    // Nothing to apply.
                } else if options.mode == .transactional {
                    try applyInOneTransaction(records, batches, store: store, consumer: consumer, rebalance: changes.take())
                } else {
                    try applyRecordsOnly(records, batches, store: store, rebalance: changes.take())
                    // The interval runs from the first batch whose offsets are not stored yet.
                    if pending.isEmpty { lastOffsetStore = .now }
                    for batch in batches { pending[batch.partition] = batch.nextOffset }
                }
                if !pending.isEmpty, ContinuousClock.now - lastOffsetStore >= .milliseconds(options.offsetStoreIntervalMilliseconds) {
                    try storeOffsets(pending, store: store)
                    pending.removeAll()
                    lastOffsetStore = .now
                }
            }
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }

    private func consumerConfiguration() throws -> ConsumerConfiguration {
        try ConsumerConfiguration(properties: [
            "bootstrap.servers": options.bootstrap, "group.id": options.groupID, "client.id": "rill-exactly-once",
            "enable.auto.commit": "false", "auto.offset.reset": "earliest", "max.poll.records": String(options.maximumPollRecords),
            "session.timeout.ms": String(options.sessionTimeoutMilliseconds),
            "heartbeat.interval.ms": String(max(100, options.sessionTimeoutMilliseconds / 6)), "fetch.max.wait.ms": "100",
        ])
    }

    /// The exactly-once path: report, apply fenced in one transaction, report the outcome. A
    /// refused batch re-seeks every assigned partition to its stored offset.
    private func applyInOneTransaction(_ records: [PartitionRecords], _ batches: [ExactlyOnceStore.PartitionBatch], store: ExactlyOnceStore,
                                       consumer: KafkaConsumer, rebalance: [RebalanceChange]) throws {
        report(.invoke, .process, .process(records: records, offsets: []), rebalance: rebalance)
        switch try store.apply(batches) {
        case .applied:
            let offsets = batches.map { PartitionOffset(partition: $0.partition, offset: Offset($0.nextOffset)) }
            report(.ok, .process, .process(records: records, offsets: offsets))
        case .stale(let partition, let stored, let batchStart):
            report(.fail, .process, .process(records: records, offsets: []),
                   error: "fenced: \(partition) has stored next offset \(stored), the batch starts at \(batchStart)")
            let storedOffsets = try store.storedOffsets()
            for assigned in consumer.assignment {
                try? consumer.seek(assigned, to: Offset(storedOffsets[assigned.historyName] ?? ExactlyOnceStore.initialOffset))
            }
        }
    }

    /// The broken path, first half: the records alone.
    private func applyRecordsOnly(_ records: [PartitionRecords], _ batches: [ExactlyOnceStore.PartitionBatch], store: ExactlyOnceStore,
                                  rebalance: [RebalanceChange]) throws {
        report(.invoke, .process, .process(records: records, offsets: []), rebalance: rebalance)
        try store.applyRecordsOnly(batches)
        report(.ok, .process, .process(records: records, offsets: []))
    }

    /// The broken path, second half: the offsets, as an external-store commit.
    private func storeOffsets(_ offsets: [String: Int64], store: ExactlyOnceStore) throws {
        let value = OperationValue.commit(offsets.sorted { $0.key < $1.key }.map { PartitionOffset(partition: $0.key, offset: Offset($0.value)) })
        report(.invoke, .commit, value, isExternalStore: true)
        try store.storeOffsets(offsets)
        report(.ok, .commit, value, isExternalStore: true)
    }

    private func report(_ type: EventType, _ function: OperationFunction, _ value: OperationValue, error: String? = nil,
                        rebalance: [RebalanceChange] = [], isExternalStore: Bool = false) {
        let event = HistoryEvent(index: 0, time: 0, process: ProcessID(0), type: type, function: function, value: value, error: error,
                                 rebalance: rebalance, isExternalStore: isExternalStore)
        emit(event.jsonLine())
    }

    /// One partition's polled records (grouped as the history reports them, in offset order as
    /// received) as the store applies them.
    static func batch(_ partition: PartitionRecords) -> ExactlyOnceStore.PartitionBatch {
        ExactlyOnceStore.PartitionBatch(partition: partition.partition, records: partition.records.map { ($0.offset.rawValue, $0.value) })
    }

    /// Seeks newly assigned partitions to the offsets stored in SQLite (the broker's committed
    /// offsets are never read), and notes the change for the next reported operation.
    struct Listener: ConsumerRebalanceListener {
        let store: ExactlyOnceStore
        let changes: RebalanceLog

        func partitionsAssigned(_ partitions: [TopicPartition], consumer: KafkaConsumer) async {
            guard !partitions.isEmpty else { return }
            changes.add(RebalanceChange(kind: "assigned", partitions: partitions.map(\.historyName)))
            // Without the stored offsets this consumer must not read at all: it would apply from
            // wherever the client starts. A store that cannot be read ends the process.
            let stored: [String: Int64]
            do { stored = try store.storedOffsets() } catch {
                FileHandle.standardError.write(Data("exactly-once consumer: cannot read the stored offsets: \(error)\n".utf8))
                exit(3)
            }
            for partition in partitions {
                try? consumer.seek(partition, to: Offset(stored[partition.historyName] ?? ExactlyOnceStore.initialOffset))
            }
        }

        func partitionsRevoked(_ partitions: [TopicPartition], consumer: KafkaConsumer) async {
            guard !partitions.isEmpty else { return }
            changes.add(RebalanceChange(kind: "revoked", partitions: partitions.map(\.historyName)))
        }

        func partitionsLost(_ partitions: [TopicPartition], consumer: KafkaConsumer) async {
            guard !partitions.isEmpty else { return }
            changes.add(RebalanceChange(kind: "lost", partitions: partitions.map(\.historyName)))
        }
    }
}
