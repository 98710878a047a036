import Foundation
import NIOCore
import RillFormat
@testable import RillStorage


/// One record as tests describe it.
struct TestRecord: Hashable, CustomStringConvertible {
    var key: String?
    var value: String?
    var timestamp: Int64

    init(_ key: String?, _ value: String?, timestamp: Int64 = 1_000) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
    }

    var description: String { "\(key ?? "∅")=\(value ?? "⊘")@\(timestamp)" }
}

/// A record as read back from a log, with its offset.
struct StoredRecord: Hashable, CustomStringConvertible {
    var offset: Int64
    var record: TestRecord
    var description: String { "\(offset):\(record)" }
}

func makeBatch(_ records: [TestRecord], compression: CompressionType = .none, producerID: Int64 = -1,
               producerEpoch: Int16 = -1, baseSequence: Int32 = -1) throws -> ByteBuffer {
    var builder = RecordBatchBuilder(compression: compression, producerID: ProducerID(producerID),
                                     producerEpoch: ProducerEpoch(producerEpoch), baseSequence: SequenceNumber(baseSequence))
    for record in records {
        builder.append(key: record.key.map { Array($0.utf8) }, value: record.value.map { Array($0.utf8) },
                       timestamp: Timestamp(milliseconds: record.timestamp))
    }
    return try builder.build()
}

extension PartitionLog {
    @discardableResult
    func append(_ records: [TestRecord], compression: CompressionType = .none, now: Int64 = 1_000) throws -> LogAppendInfo {
        let batch = try makeBatch(records, compression: compression)
        let info = try append(batch, now: Timestamp(milliseconds: now))
        updateHighWatermark(logEndOffset)
        return info
    }

    /// Every readable record from the log start, in offset order.
    func allRecords(maximumBytesPerRead: Int = 1000) throws -> [StoredRecord] {
        var result: [StoredRecord] = []
        var next = logStartOffset
        while next < logEndOffset {
            let batches = try readBatches(from: next, maximumBytes: maximumBytesPerRead)
            guard !batches.isEmpty else { break }
            for batch in batches {
                for record in try batch.records() where batch.offset(of: record) >= next {
                    result.append(StoredRecord(offset: batch.offset(of: record).rawValue, record: TestRecord(
                        record.key.map { String(buffer: $0) }, record.value.map { String(buffer: $0) },
                        timestamp: batch.timestamp(of: record).milliseconds)))
                }
                next = batch.header.nextOffset
            }
        }
        return result
    }
}

/// A temporary directory on the real file system, removed when the test ends.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "rill-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

func configuration(_ settings: [String: String]) throws -> LogConfiguration {
    var configuration = LogConfiguration()
    for (name, value) in settings { try configuration.set(name, to: value) }
    return configuration
}

let t0 = Timestamp(milliseconds: 1_000)

/// A mutable value a test shares with a closure it hands out.
final class Box<Value> {
    var value: Value
    init(_ value: Value) { self.value = value }
}
