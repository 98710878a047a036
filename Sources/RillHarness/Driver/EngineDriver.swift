import Foundation
import NIOCore
import RillBroker
import RillFormat
import RillStorage

/// The engine target: the storage engine in-process, no network (what `rill perf log` measures,
/// under a workload's schedule). One thread builds batches from the open-loop schedule
/// (`batchSize`, `lingerMs`, `compression`, keys choose the partition, else sticky partitions),
/// appends them to one `PartitionLog` per partition (topic configs apply: `flush.messages`,
/// `segment.bytes`, …), and reads each append back as a consumer would (`read(from:)`, CRC
/// check, record decoding) once per subscription.
///
/// Publish latency is append completion − intended time; service time is append completion −
/// the time the record entered its batch; end-to-end is the time it was read back − intended.
public final class EngineDriver: MeasuredDriver {
    public let workload: Workload
    let directory: URL
    let pool: PayloadPool
    let statistics = TaskStatistics()
    private let failure = ErrorBox()

    public init(workload: Workload, directory: URL, pool: PayloadPool) {
        self.workload = workload
        self.directory = directory
        self.pool = pool
    }

    public var allStatistics: [TaskStatistics] { [statistics] }
    public var isReady: Bool { true }
    /// Why the engine stopped early, if it did.
    public var error: String? { failure.value }

    public func run(control: DriverControl) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                do {
                    try self.runLoop(control: control)
                } catch {
                    self.failure.set("\(error)")
                    self.statistics.update { data in
                        data.publishErrors += 1
                        if data.firstError == nil { data.firstError = "engine: \(error)" }
                    }
                }
                continuation.resume()
            }
            thread.name = "rill-engine-driver"
            thread.start()
        }
    }

    /// One partition's open batch: the builder and each record's intended and actual times.
    struct OpenBatch {
        var builder: RecordBatchBuilder
        var intended: [UInt64] = []
        var added: [UInt64] = []
        var openedAt: UInt64
    }

    private func runLoop(control: DriverControl) throws {
        let fileSystem = POSIXFileSystem()
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = try logConfiguration()
        let now = Timestamp(milliseconds: MonotonicClock.wallMilliseconds())
        let logs = try (0..<workload.partitionCount).map { index in
            try PartitionLog.open(directory: directory.appendingPathComponent("p-\(index)").path, fileSystem: fileSystem, configuration: configuration, now: now)
        }
        defer { for log in logs { try? log.close() } }
        var readOffsets = [Offset](repeating: .zero, count: logs.count)
        var open = [OpenBatch?](repeating: nil, count: logs.count)
        var chooser = KeyChooser(workload.effectiveKeyDistribution, seed: workload.seed)
        let keys = PayloadPool.keys(count: workload.effectiveKeyDistribution.keyCount)
        var stickyPartition = 0
        var sequence = 0
        var generation = -1
        var schedule = RateSchedule(recordsPerSecond: nil, start: 0)
        let lingerNanoseconds = UInt64(workload.lingerMs) * 1_000_000
        var value = [UInt8](repeating: 0, count: workload.messageSize)
        while !control.isProducing && !control.isStopping { usleep(1000) }
        while !control.areProducersStopping {
            if control.rateGeneration != generation {
                generation = control.rateGeneration
                schedule.change(recordsPerSecond: control.rate, fromRecord: sequence, at: MonotonicClock.now())
            }
            let now = MonotonicClock.now()
            let due = schedule.dueCount(from: sequence, at: now, limit: 4096)
            for offset in 0..<due {
                let intended = schedule.intendedTime(ofRecord: sequence + offset) ?? now
                let keyIndex = chooser.nextKey()
                let partition = keyIndex.map { $0 % logs.count } ?? stickyPartition
                if open[partition] == nil {
                    open[partition] = OpenBatch(builder: RecordBatchBuilder(compression: workload.compression.type, initialCapacity: workload.batchSize + workload.messageSize + 64), openedAt: now)
                }
                let timestamp = Timestamp(milliseconds: Int64(intended / 1_000_000))
                func appendRecord(value valueBytes: UnsafeRawBufferPointer) {
                    if let keyIndex {
                        keys[keyIndex].withUnsafeReadableBytes { open[partition]!.builder.append(key: $0, value: valueBytes, timestamp: timestamp) }
                    } else {
                        open[partition]!.builder.append(key: nil, value: valueBytes, timestamp: timestamp)
                    }
                }
                let template = pool.payloads[(sequence + offset) % pool.payloads.count]
                if workload.isStamped {
                    // The stamp goes over the template's first bytes, so the value is a copy.
                    value.withUnsafeMutableBytes { raw in
                        template.withUnsafeReadableBytes { raw.copyMemory(from: $0) }
                        PayloadStamp.write(intended: intended, producerIndex: 0, sequence: sequence + offset, to: raw)
                    }
                    value.withUnsafeBytes { appendRecord(value: $0) }
                } else {
                    template.withUnsafeReadableBytes { appendRecord(value: $0) }
                }
                open[partition]!.intended.append(intended)
                open[partition]!.added.append(now)
                if open[partition]!.builder.uncompressedSize >= workload.batchSize {
                    try seal(partition, &open, logs: logs, readOffsets: &readOffsets, control: control)
                    if keyIndex == nil { stickyPartition = (stickyPartition + 1) % logs.count }
                }
            }
            sequence += due
            for partition in open.indices where open[partition].map({ now &- $0.openedAt >= lingerNanoseconds }) ?? false {
                try seal(partition, &open, logs: logs, readOffsets: &readOffsets, control: control)
            }
            if due == 0 {
                let next = schedule.intendedTime(ofRecord: sequence) ?? now
                let lingerDeadline = open.compactMap { $0.map { $0.openedAt &+ lingerNanoseconds } }.min() ?? next
                let wait = min(next, lingerDeadline) &- min(now, min(next, lingerDeadline))
                if wait > 20_000 { usleep(UInt32(min(wait / 1000, 10_000))) }
            }
        }
        for partition in open.indices where open[partition] != nil {
            try seal(partition, &open, logs: logs, readOffsets: &readOffsets, control: control)
        }
        for log in logs { try log.sync() }
    }

    /// Appends a partition's open batch, records its latencies, and reads it back.
    private func seal(_ partition: Int, _ open: inout [OpenBatch?], logs: [PartitionLog], readOffsets: inout [Offset], control: DriverControl) throws {
        guard var batch = open[partition] else { return }
        open[partition] = nil
        let bytes = try batch.builder.build()
        let wall = Timestamp(milliseconds: MonotonicClock.wallMilliseconds())
        _ = try logs[partition].append(bytes, leaderEpoch: LeaderEpoch(0), now: wall)
        let acknowledged = MonotonicClock.now()
        let size = Int64(workload.messageSize)
        statistics.update { data in
            for index in batch.intended.indices {
                let intended = batch.intended[index], added = batch.added[index]
                _ = data.histograms.publish.record((acknowledged &- min(acknowledged, intended)) / 1000)
                _ = data.histograms.service.record((acknowledged &- min(acknowledged, added)) / 1000)
                _ = data.histograms.delay.record((added &- min(added, intended)) / 1000)
            }
            data.publishedRecords += Int64(batch.intended.count)
            data.publishedBytes += Int64(batch.intended.count) * size
        }
        for _ in 0..<workload.subscriptionsPerTopic {
            try readBack(partition, log: logs[partition], from: &readOffsets[partition])
        }
    }

    /// Reads a partition from `offset` to its end, as a fetch and a consumer would.
    private func readBack(_ partition: Int, log: PartitionLog, from offset: inout Offset) throws {
        var next = offset
        var records: Int64 = 0
        var bytes: Int64 = 0
        var latencies: [UInt64] = []
        while next < log.logEndOffset {
            guard let slice = try log.read(from: next, maximumBytes: 8 << 20).slice else { break }
            var buffer = try slice.read()
            let receivedAt = MonotonicClock.now()
            var advanced = false
            while buffer.readableBytes >= RecordBatchHeader.size, let batch = try? RecordBatch(validating: buffer) {
                buffer.moveReaderIndex(forwardBy: batch.header.totalSize)
                try batch.forEachRecord { record in
                    guard let value = record.value else { return }
                    records += 1
                    bytes += Int64(value.readableBytes)
                    if workload.isStamped, let sent = value.getInteger(at: value.readerIndex, as: UInt64.self) {
                        latencies.append((receivedAt &- min(receivedAt, sent)) / 1000)
                    }
                }
                next = batch.header.nextOffset
                advanced = true
            }
            if !advanced { break }
        }
        offset = next
        statistics.update { data in
            data.consumedRecords += records
            data.consumedBytes += bytes
            for latency in latencies { _ = data.histograms.endToEnd.record(latency) }
        }
    }

    /// The log settings: Kafka's defaults, the workload's topic configs, and a message limit
    /// that fits the batches.
    private func logConfiguration() throws -> LogConfiguration {
        var defaults = BrokerConfiguration()
        defaults.logDefaults.maximumMessageBytes = Int64(max(workload.batchSize, workload.messageSize) * 2 + 4096)
        do {
            return try TopicConfiguration.make(defaults: defaults, overrides: workload.topicConfig).log
        } catch {
            throw HarnessError("topicConfig: \(error)")
        }
    }
}

/// A string set once from another thread.
final class ErrorBox: @unchecked Sendable {
    // @unchecked: `stored` is only touched under `lock`.
    private let lock = NSLock()
    private var stored: String?
    var value: String? { lock.withLock { stored } }
    func set(_ value: String) { lock.withLock { if stored == nil { stored = value } } }
}
