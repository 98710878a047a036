import Foundation
import NIOCore
import NIOPosix
import RillChecker
import RillClient
import RillFormat
import RillProtocol
import Synchronization

/// The driver of correctness workloads (`checks:`): producers and consumers on Rill's client
/// that record every operation in a history (docs/history-format.md) as they go.
///
/// Each producer and each consumer is a logical client (a history process) with at most one
/// operation in flight, as the history format requires. A producer's operation is one `send`
/// of up to one record per partition (so the records of one operation cannot overtake each
/// other), each value a unique string `v<N>` written at the start of the record's value. A
/// consumer's operations are `assign` (or `subscribe`), `poll`, and `commit` after every poll
/// that returned records. Outcomes are recorded as the client reports them: an acknowledgement
/// is `ok` with the offset, a failure the client knows did not happen (`KafkaClientError.outcome
/// == .failed`, or a broker's error code on a read or commit) is `fail`, and anything else — a
/// timeout, a lost connection, a client crash, an operation still running when its bound runs
/// out — is `info`, never a guess.
///
/// The nemesis asks a client to crash through its `ClientSlot`; the client's own task then
/// records its in-flight operation as `info`, a `crash` event, and carries on as a fresh client
/// with a new process id. After the run, `finalRead` reads every partition from the beginning
/// with a fresh process.
public final class CheckedClientDriver: MeasuredDriver {
    /// Bound on one operation beyond the client's own timeouts; past it the outcome is unknown
    /// and the client is replaced.
    static let operationSlack: Duration = .seconds(5)
    /// How long one poll waits for records.
    static let pollTimeout: Duration = .milliseconds(100)
    /// Pause after a failed operation before the next (a down broker is not hammered).
    static let retryPause: Duration = .milliseconds(100)
    /// Client settings a correctness run starts from (the workload's own settings win): short
    /// timeouts, so that an operation caught by a fault ends within the run.
    static let producerDefaults = ["delivery.timeout.ms": "10000", "request.timeout.ms": "3000"]
    /// A crashed group member holds its partitions until its session times out: keep it short.
    static let consumerDefaults = ["request.timeout.ms": "3000", "enable.auto.commit": "false", "session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"]

    public let workload: Workload
    public let topics: [String]
    let recorder: HistoryRecorder
    let group: MultiThreadedEventLoopGroup
    let bootstrap: String
    let runID: String
    /// Every producer's settings (a crashed producer's replacement starts with the same).
    let producerConfiguration: ProducerConfiguration
    let producerSlots: [ClientSlot]
    let consumerSlots: [ClientSlot]
    /// The next value number: values are unique in the whole history.
    private let nextValue = Atomic<Int>(0)
    /// Per partition name, the highest offset an acknowledged send got (the final read's goal).
    let acknowledged = Mutex<[String: Int64]>([:])
    /// Every client's connections (clients given up on, crashed, or finished), closed at the end
    /// before the event loops shut down.
    let abandoned = Mutex<[KafkaCluster]>([])

    public var allStatistics: [TaskStatistics] { (producerSlots + consumerSlots).map(\.statistics) }

    /// Creates the topics; clients start in `run`.
    public static func prepare(workload: Workload, bootstrap: String, runID: String, recorder: HistoryRecorder) async throws -> CheckedClientDriver {
        let producerConfiguration = try ClientSettings.producer(workload, bootstrap: bootstrap, defaults: Self.producerDefaults)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: min(2, System.coreCount))
        let topics = (0..<workload.topics).map { "rill-bench-\(runID)-\($0)" }
        do {
            try await ClientDriver.createTopics(topics, workload: workload, bootstrap: bootstrap, group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        return CheckedClientDriver(workload: workload, topics: topics, recorder: recorder, group: group, bootstrap: bootstrap, runID: runID,
                                   producerConfiguration: producerConfiguration)
    }

    private init(workload: Workload, topics: [String], recorder: HistoryRecorder, group: MultiThreadedEventLoopGroup, bootstrap: String, runID: String,
                 producerConfiguration: ProducerConfiguration) {
        self.producerConfiguration = producerConfiguration
        self.workload = workload
        self.topics = topics
        self.recorder = recorder
        self.group = group
        self.bootstrap = bootstrap
        self.runID = runID
        producerSlots = (0..<workload.producerCount).map { ClientSlot(name: "producer-\($0)") }
        consumerSlots = (0..<workload.consumerCount).map { ClientSlot(name: "consumer-\($0)") }
    }

    /// The nemesis, run beside the clients once producers start (set before `run`).
    private let nemesisBox = Mutex<Nemesis?>(nil)
    var activeNemesis: Nemesis? { nemesisBox.withLock { $0 } }
    func attach(_ nemesis: Nemesis) { nemesisBox.withLock { $0 = nemesis } }

    /// True once every subscription's consumers together hold all of its topic's partitions.
    public var isReady: Bool {
        var assigned: [Int: Int] = [:]
        for (index, slot) in consumerSlots.enumerated() {
            assigned[index / workload.consumerPerSubscription, default: 0] += slot.assignedPartitions.load(ordering: .acquiring)
        }
        return assigned.count == workload.topics * workload.subscriptionsPerTopic && assigned.values.allSatisfy { $0 >= workload.partitionsPerTopic }
    }

    /// Every client task (and the nemesis) until `control.stop()`.
    public func run(control: DriverControl) async {
        await withTaskGroup(of: Void.self) { group in
            for index in consumerSlots.indices { group.addTask { await self.runConsumer(index, control: control) } }
            for index in producerSlots.indices {
                group.addTask {
                    await control.waitUntilProducing()
                    await self.runProducer(index, control: control)
                }
            }
            if let nemesis = activeNemesis { group.addTask { await nemesis.run(control: control) } }
        }
    }

    // MARK: Producers

    /// Sends on the schedule until producers stop; each operation waits for its outcome.
    func runProducer(_ index: Int, control: DriverControl) async {
        let slot = producerSlots[index]
        let topic = topics[index % topics.count]
        let producersOfRate = Double(producerSlots.count)
        let schedule = RateSchedule(recordsPerSecond: control.rate.map { $0 / producersOfRate }, start: MonotonicClock.now())
        var process = recorder.newProcess()
        var producer: KafkaProducer?
        var sequence = 0
        var nextPartition = Int32(index % max(workload.partitionsPerTopic, 1))
        while !control.areProducersStopping {
            if slot.takeCrashRequest() {
                process = crash(process, abandoning: producer?.cluster)
                producer = nil
            }
            guard let current = producer else {
                producer = await startProducer()
                continue
            }
            let now = MonotonicClock.now()
            let due = schedule.dueCount(from: sequence, at: now, limit: workload.partitionsPerTopic)
            if due == 0 {
                try? await Task.sleep(for: .nanoseconds(schedule.sleepNanoseconds(beforeRecord: sequence, at: now, limit: workload.partitionsPerTopic)))
                continue
            }
            let intended = (0..<due).map { schedule.intendedTime(ofRecord: sequence + $0) ?? now }
            var records: [ProducerRecord] = []
            var sent: [SentRecord] = []
            for _ in 0..<due {
                let partition = TopicPartition(topic, nextPartition)
                nextPartition = (nextPartition + 1) % Int32(workload.partitionsPerTopic)
                let value = "v\(nextValue.add(1, ordering: .relaxed).oldValue)"
                records.append(ProducerRecord(topic: topic, partition: partition.partition, key: nil, value: Self.payload(value, size: workload.messageSize)))
                sent.append(SentRecord(partition: partition.historyName, value: value))
            }
            sequence += due
            let stillRunning = await send(records, sent, producer: current, process: process, slot: slot, intended: intended)
            if !stillRunning {
                process = crash(process, abandoning: current.cluster)
                producer = nil
            }
        }
        if let producer {
            _ = await finishes(within: DriverControl.shutdownTimeout) { await producer.close() }
            abandoned.withLock { $0.append(producer.cluster) }
        }
    }

    /// One send operation: invoke, the records sent together, their outcome. Returns false when
    /// the client must be replaced (it was asked to crash, or the outcome did not come in time).
    private func send(_ records: [ProducerRecord], _ sent: [SentRecord], producer: KafkaProducer, process: ProcessID, slot: ClientSlot, intended: [UInt64]) async -> Bool {
        recorder.record(process, .invoke, .send, .send(sent))
        let start = MonotonicClock.now()
        let bound = Duration.milliseconds(producer.configuration.deliveryTimeoutMilliseconds) + Self.operationSlack
        // The operation notes when its last answer came, so the wait's polling adds no latency.
        let outcome = await bounded(bound, slot: slot) { () -> (results: [Result<RecordMetadata, KafkaClientError>], finishedAt: UInt64) in
            await withTaskGroup(of: (Int, Result<RecordMetadata, KafkaClientError>).self) { group in
                for (index, record) in records.enumerated() {
                    group.addTask {
                        do { return (index, .success(try await producer.send(record))) } catch {
                            return (index, .failure(error as? KafkaClientError ?? KafkaClientError(.cancelled, "\(error)", outcome: .unknown)))
                        }
                    }
                }
                var results = [Result<RecordMetadata, KafkaClientError>?](repeating: nil, count: records.count)
                for await (index, result) in group { results[index] = result }
                return (results.map { $0! }, MonotonicClock.now())
            }
        }
        guard case .finished(let (results, acknowledgedAt)) = outcome else {
            recorder.record(process, .info, .send, .send(sent), error: outcome.errorDescription)
            return false
        }
        let failures = results.compactMap { if case .failure(let error) = $0 { error } else { nil } }
        if failures.isEmpty {
            var completed = sent
            for (index, result) in results.enumerated() {
                if case .success(let metadata) = result, metadata.offset.rawValue >= 0 { completed[index].offset = metadata.offset }
            }
            recorder.record(process, .ok, .send, .send(completed))
            noteAcknowledged(completed)
            slot.statistics.update { data in
                data.publishedRecords += Int64(records.count)
                data.publishedBytes += Int64(records.count * workload.messageSize)
                for intendedTime in intended {
                    _ = data.histograms.publish.record((acknowledgedAt &- min(acknowledgedAt, intendedTime)) / 1000)
                    _ = data.histograms.service.record((acknowledgedAt &- start) / 1000)
                    _ = data.histograms.delay.record((start &- min(start, intendedTime)) / 1000)
                }
            }
        } else {
            let isCertain = failures.count == results.count && failures.allSatisfy { $0.outcome == .failed }
            recorder.record(process, isCertain ? .fail : .info, .send, .send(sent), error: failures[0].description)
            slot.statistics.update { data in
                data.publishErrors += Int64(failures.count)
                if data.firstError == nil { data.firstError = "publish: \(failures[0])" }
            }
            try? await Task.sleep(for: Self.retryPause)
        }
        return true
    }

    private func noteAcknowledged(_ records: [SentRecord]) {
        acknowledged.withLock { table in
            for record in records {
                guard let offset = record.offset?.rawValue else { continue }
                table[record.partition] = max(table[record.partition] ?? -1, offset)
            }
        }
    }

    /// A started producer, or nil after a pause when none started within 10 s (a broker may be
    /// down; the caller tries again until producers stop).
    private func startProducer() async -> KafkaProducer? {
        let configuration = producerConfiguration
        let cluster = KafkaCluster(configuration: configuration.client, group: group)
        let started = await bounded(.seconds(10), slot: nil) { () -> Result<KafkaProducer, any Error> in
            do { return .success(try await KafkaProducer.start(configuration: configuration, cluster: cluster)) } catch { return .failure(error) }
        }
        if case .finished(.success(let producer)) = started { return producer }
        abandoned.withLock { $0.append(cluster) }
        try? await Task.sleep(for: Self.retryPause)
        return nil
    }

    /// Records `process`'s crash, closes its connections without flushing, and returns the
    /// process id of the client that replaces it.
    func crash(_ process: ProcessID, abandoning cluster: KafkaCluster?) -> ProcessID {
        recorder.record(process, .info, .crash, .none, error: "client crashed")
        if let cluster {
            abandoned.withLock { $0.append(cluster) }
            // Owned by nobody: closing the crashed client's connections ends its in-flight
            // requests; `close()` closes the cluster again (bounded) at the end.
            Task { await cluster.close() }
        }
        return recorder.newProcess()
    }

    /// A record value: the value string, then zeros up to `size`.
    static func payload(_ value: String, size: Int) -> ByteBuffer {
        var buffer = ByteBuffer(string: value)
        if size > buffer.readableBytes { buffer.writeRepeatingByte(0, count: size - buffer.readableBytes) }
        return buffer
    }

    /// The value string of a record value (up to the first zero byte).
    static func valueString(_ buffer: ByteBuffer?) -> String {
        guard let buffer else { return "" }
        let bytes = buffer.readableBytesView
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    // MARK: Shutdown

    /// Closes what is left of the clients (each step bounded) and the event loops.
    public func close() async {
        for cluster in abandoned.withLock({ $0 }) { _ = await finishes(within: .seconds(5)) { await cluster.close() } }
        try? await group.shutdownGracefully()
    }
}

/// One logical client's place in the driver: its statistics, and the nemesis' request that it
/// crash (the client's own task acts on it).
final class ClientSlot: Sendable {
    let name: String
    let statistics = TaskStatistics()
    let crashRequested = Atomic<Bool>(false)
    /// Partitions the client holds now (consumers), for readiness.
    let assignedPartitions = Atomic<Int>(0)

    init(name: String) { self.name = name }

    func requestCrash() { crashRequested.store(true, ordering: .releasing) }

    func takeCrashRequest() -> Bool { crashRequested.exchange(false, ordering: .acquiringAndReleasing) }
}

/// How a bounded operation ended.
enum BoundedOutcome<Value: Sendable>: Sendable {
    case finished(Value)
    case timedOut(Duration)
    case crashed

    /// The `error` of an `info` completion for an operation that did not finish.
    var errorDescription: String? {
        switch self {
        case .finished: nil
        case .timedOut(let bound): "no outcome within \(bound)"
        case .crashed: "client crashed"
        }
    }
}

/// Runs `operation` in a task of its own and waits for it, checking every `interval`, until
/// `timeout` passes or `slot` is asked to crash. On those two the task is left to end on its own
/// (cancelled, unless `cancelsOnTimeout` is false and the timeout passed): its outcome is
/// unknown, which is what the caller records.
func bounded<Value: Sendable>(_ timeout: Duration, slot: ClientSlot?, cancelsOnTimeout: Bool = true, checkingEvery interval: Duration = .milliseconds(2),
                              _ operation: @escaping @Sendable () async -> Value) async -> BoundedOutcome<Value> {
    let result = Mutex<Value?>(nil)
    // Owned by this call until it returns; after a timeout or a crash, by nobody (see above).
    let task = Task {
        let value = await operation()
        result.withLock { $0 = value }
    }
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = result.withLock({ $0 }) { return .finished(value) }
        if slot?.takeCrashRequest() == true {
            task.cancel()
            return .crashed
        }
        if ContinuousClock.now >= deadline {
            if cancelsOnTimeout { task.cancel() }
            return .timedOut(timeout)
        }
        try? await Task.sleep(for: interval)
    }
}
