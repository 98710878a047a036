import ArgumentParser
import Foundation
import NIOCore
import RillFormat
import RillStorage

/// `rill perf …`: benchmarks that report figures (never pass/fail thresholds).
struct PerfCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perf",
        abstract: "Benchmarks: producer, consumer, the storage engine in-process, CRC-32C.",
        subcommands: [PerfProduceCommand.self, PerfConsumeCommand.self, PerfLogCommand.self, PerfCRCCommand.self]
    )
}

/// When `rill perf log` syncs.
enum SyncPolicy: ExpressibleByArgument, CustomStringConvertible {
    case never
    case each
    case everyBytes(Int64)
    case intervalMilliseconds(Int64)

    init?(argument: String) {
        let parts = argument.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first, parts.count == 2 ? Int64(parts[1]) : nil) {
        case ("never", _) where parts.count == 1: self = .never
        case ("each", _) where parts.count == 1: self = .each
        case ("every-bytes", let value?) where value > 0: self = .everyBytes(value)
        case ("interval-ms", let value?) where value > 0: self = .intervalMilliseconds(value)
        default: return nil
        }
    }

    var description: String {
        switch self {
        case .never: "never"
        case .each: "each"
        case .everyBytes(let bytes): "every-bytes:\(bytes)"
        case .intervalMilliseconds(let milliseconds): "interval-ms:\(milliseconds)"
        }
    }
}

extension CompressionType: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
}

struct PerfLogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Append records to a partition log in-process (no network) and report throughput.",
        discussion: """
            Builds one batch of --batch-bytes from --record-size records (random payloads, so \
            compression gains nothing) and appends it until --records are written, with CRC \
            validation and offset assignment as a broker would do them. --read then reads the \
            log back sequentially; --recover reopens it with no recovery point and no indexes \
            and times the full validation.
            """
    )

    @Option(help: "Directory for the log (emptied first).") var dir: String
    @Option(help: "Records to append.") var records: Int
    @Option(name: .customLong("record-size"), help: "Value bytes per record.") var recordSize: Int
    @Option(name: .customLong("batch-bytes"), help: "Target bytes per batch.") var batchBytes: Int
    @Option(help: "none, gzip, snappy, lz4 or zstd.") var compression: CompressionType = .none
    @Option(help: "never, each, every-bytes:N or interval-ms:N.") var sync: SyncPolicy = .never
    @Flag(help: "Then read the whole log back sequentially.") var read = false
    @Flag(help: "Then reopen the log with no recovery point and time recovery.") var recover = false
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard records > 0 else { throw ValidationError("--records must be positive") }
        guard recordSize >= 0, recordSize <= 64 << 20 else { throw ValidationError("--record-size must be between 0 and 64 MiB") }
        guard batchBytes > 0, batchBytes <= 64 << 20 else { throw ValidationError("--batch-bytes must be between 1 byte and 64 MiB") }
    }

    func run() throws {
        let fileSystem = POSIXFileSystem()
        try fileSystem.removeDirectory(at: dir)
        var configuration = LogConfiguration()
        configuration.maximumMessageBytes = Int64(max(batchBytes, recordSize) * 2 + 1024)
        let log = try PartitionLog.open(directory: dir, fileSystem: fileSystem, configuration: configuration, now: wallClock())
        let batch = try makeBatch()
        let recordsPerBatch = try RecordBatch(validating: batch).header.recordCount
        let batchCount = (records + Int(recordsPerBatch) - 1) / Int(recordsPerBatch)
        let appendClock = ContinuousClock.now
        var lastSync = appendClock
        var bytesSinceSync: Int64 = 0
        var appendedBytes: Int64 = 0
        for _ in 0..<batchCount {
            // The batch is reused: append rewrites its base offset in place, as for a request.
            let info = try log.append(batch, leaderEpoch: LeaderEpoch(0), now: Timestamp(milliseconds: 0))
            appendedBytes += Int64(info.byteCount)
            bytesSinceSync += Int64(info.byteCount)
            switch sync {
            case .never: break
            case .each: try log.sync()
            case .everyBytes(let limit) where bytesSinceSync >= limit:
                try log.sync()
                bytesSinceSync = 0
            case .intervalMilliseconds(let interval) where ContinuousClock.now - lastSync >= .milliseconds(interval):
                try log.sync()
                lastSync = .now
            default: break
            }
        }
        if case .never = sync {} else { try log.sync() }
        let appendSeconds = seconds(since: appendClock)
        let appendedRecords = batchCount * Int(recordsPerBatch)
        var report: [String: Any] = [
            "records": appendedRecords, "bytes": appendedBytes, "recordSize": recordSize, "batchBytes": batch.readableBytes,
            "recordsPerBatch": Int(recordsPerBatch), "compression": compression.name, "sync": sync.description,
            "appendSeconds": appendSeconds,
            "appendRecordsPerSecond": Double(appendedRecords) / appendSeconds,
            "appendMegabytesPerSecond": Double(appendedBytes) / appendSeconds / 1e6,
        ]
        if read {
            let (bytes, elapsed) = try readAll(log)
            report["readBytes"] = bytes
            report["readSeconds"] = elapsed
            report["readMegabytesPerSecond"] = Double(bytes) / elapsed / 1e6
        }
        try log.close()
        if recover {
            let (elapsed, checked) = try timeRecovery(fileSystem: fileSystem, configuration: configuration)
            report["recoverSeconds"] = elapsed
            report["recoverCheckedBytes"] = checked
            report["recoverMegabytesPerSecond"] = Double(checked) / elapsed / 1e6
        }
        report["maxResidentMegabytes"] = Double(maximumResidentBytes()) / 1e6
        printReport(report)
    }

    func makeBatch() throws -> ByteBuffer {
        var generator = SystemRandomNumberGenerator()
        let payload = (0..<max(recordSize, 1)).map { _ in UInt8.random(in: 0...255, using: &generator) }.prefix(recordSize)
        let perRecord = RecordBatchBuilder.estimatedRecordSize(keyLength: nil, valueLength: recordSize)
        let count = max(1, min(records, (batchBytes - RecordBatchHeader.size) / perRecord))
        var builder = RecordBatchBuilder(compression: compression, initialCapacity: batchBytes + perRecord)
        let now = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        Array(payload).withUnsafeBytes { value in
            for _ in 0..<count { builder.append(key: nil, value: value, timestamp: now) }
        }
        return try builder.build()
    }

    /// Reads the log from offset 0 to the end through `read(from:)`, as a fetch would.
    func readAll(_ log: PartitionLog) throws -> (bytes: Int64, seconds: Double) {
        let start = ContinuousClock.now
        var next = log.logStartOffset
        var total: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while next < log.logEndOffset {
            let result = try log.read(from: next, maximumBytes: 1 << 20)
            guard let slice = result.slice else { break }
            if slice.length > buffer.count { buffer = [UInt8](repeating: 0, count: slice.length) }
            let got = try buffer.withUnsafeMutableBytes { raw in
                try slice.file.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<slice.length]), at: slice.position)
            }
            // Advance past the last whole batch in what was read, as a consumer would; a cut
            // trailing batch is read again by the next fetch and counted then.
            var position = 0
            buffer.withUnsafeBytes { raw in
                while got - position >= RecordBatchHeader.size {
                    let header = RecordBatchHeader(unvalidated: UnsafeRawBufferPointer(rebasing: raw[position..<(position + RecordBatchHeader.size)]))
                    guard header.totalSize <= got - position else { break }
                    next = header.nextOffset
                    position += header.totalSize
                }
            }
            total += Int64(position)
        }
        return (total, seconds(since: start))
    }

    /// Removes checkpoints, indexes and snapshots, then reopens: every batch is validated.
    func timeRecovery(fileSystem: POSIXFileSystem, configuration: LogConfiguration) throws -> (seconds: Double, checkedBytes: Int64) {
        for name in try fileSystem.contentsOfDirectory(at: dir) where !name.hasSuffix(".log") {
            try fileSystem.removeFile(at: FilePath.join(dir, name))
        }
        let start = ContinuousClock.now
        let log = try PartitionLog.open(directory: dir, fileSystem: fileSystem, configuration: configuration, now: wallClock())
        let elapsed = seconds(since: start)
        let checked = log.recoveryReport.checkedBytes
        try log.close()
        return (elapsed, checked)
    }

    func printReport(_ report: [String: Any]) {
        if json {
            let data = try! JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        func number(_ key: String) -> String { String(format: "%.1f", report[key] as? Double ?? 0) }
        print("append: \(report["records"]!) records, \(report["bytes"]!) bytes in \(String(format: "%.2f", report["appendSeconds"] as! Double)) s: \(number("appendRecordsPerSecond")) records/s, \(number("appendMegabytesPerSecond")) MB/s (batch \(report["batchBytes"]!) bytes, \(report["recordsPerBatch"]!) records, \(compression.name), sync \(sync))")
        if read { print("read:   \(report["readBytes"]!) bytes: \(number("readMegabytesPerSecond")) MB/s") }
        if recover { print("recover: \(report["recoverCheckedBytes"]!) bytes validated: \(number("recoverMegabytesPerSecond")) MB/s") }
        print("max resident memory: \(number("maxResidentMegabytes")) MB")
    }
}

struct PerfCRCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crc", abstract: "CRC-32C throughput on one core.")

    @Option(help: "Bytes per checksum call.") var bytes: Int = 1 << 20
    @Option(help: "Total bytes to checksum.") var total: Int64 = 8 << 30
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        guard bytes > 0, total > 0 else { throw ValidationError("--bytes and --total must be positive") }
        let data = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761) }
        let rounds = max(1, Int(total / Int64(bytes)))
        var crc: UInt32 = 0
        let start = ContinuousClock.now
        data.withUnsafeBytes { raw in
            for _ in 0..<rounds { crc ^= CRC32C.checksum(raw) }
        }
        let elapsed = seconds(since: start)
        let gigabytesPerSecond = Double(rounds) * Double(bytes) / elapsed / 1e9
        if json {
            print("{\"bytesPerCall\":\(bytes),\"gigabytesPerSecond\":\(gigabytesPerSecond),\"hardware\":\(CRC32C.isHardwareAccelerated),\"checksum\":\(crc)}")
        } else {
            print(String(format: "CRC-32C: %.2f GB/s (%d-byte calls, %@)", gigabytesPerSecond, bytes, CRC32C.isHardwareAccelerated ? "SSE4.2" : "portable"))
        }
    }
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func wallClock() -> Timestamp {
    Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
}

func maximumResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024  // kilobytes on Linux
}
