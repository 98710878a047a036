import Foundation
import NIOCore
import PropertyBased
import RillFormat
import Testing
@testable import RillStorage

/// Model-based test of the storage engine (STYLE.md): random sequences of append, read, roll,
/// sync, truncate, deleteRecords, compaction, time passing, and crash-and-recover on the
/// simulated file system, checked after every step against a plain array of records.
///
/// The central property: after any crash the log equals a prefix of the model that includes
/// every synced record; at all other times it equals the model.
@Suite struct PartitionLogModelTests {
    /// One record of the model, with the batch it was appended in (truncation cuts at batch
    /// starts) and the delete horizon compaction stamped on its batch, if any.
    struct ModelRecord: Equatable {
        var offset: Int64
        var record: TestRecord
        var batchBase: Int64
        var batchLast: Int64
        var horizon: Int64?
    }

    struct Model {
        var records: [ModelRecord] = []
        var logStartOffset: Int64 = 0
        var logEndOffset: Int64 = 0
        /// Every record below this offset was synced.
        var syncedEnd: Int64 = 0
    }

    static let deleteRetention: Int64 = 10

    /// The first difference between the log and the model; stops the run there.
    struct Mismatch: Error, CustomStringConvertible {
        var description: String
    }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw Mismatch(description: message()) }
    }

    static func configuration() throws -> LogConfiguration {
        try RillStorageTests.configuration([
            "segment.bytes": "700", "index.interval.bytes": "150", "cleanup.policy": "compact,delete",
            "retention.ms": "-1", "delete.retention.ms": "\(deleteRetention)",
        ])
    }

    @Test func randomOperationSequencesMatchTheModel() async {
        await propertyCheck(count: 60, input: Gen.uint32(in: 0...UInt32.max).array(of: 1...120)) { operations in
            do {
                try Self.run(operations)
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    /// A few long fixed-seed runs, so the test covers deep histories on every run too.
    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func longSequencesMatchTheModel(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        try Self.run((0..<600).map { _ in UInt32.random(in: 0...UInt32.max, using: &generator) }, label: "seed\(seed)")
    }

    /// Set RILL_MODEL_VERBOSE=1 to print the state after every step.
    static let verbose = ProcessInfo.processInfo.environment["RILL_MODEL_VERBOSE"] != nil

    static func run(_ operations: [UInt32], label: String = "") throws {
        let fileSystem = SimulatedFileSystem()
        var log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, configuration: configuration(), now: t0)
        var model = Model()
        var now: Int64 = 1_000
        var generator = SplitMix64(seed: UInt64(operations.first ?? 0))
        var trace: [String] = []
        for (step, operation) in operations.enumerated() {
            let parameter = Int(operation >> 4)
            trace.append("\(operation % 16)/\(parameter)")
            let context = "step \(step) of \(operations.count) [ops: \(trace.suffix(12).joined(separator: " "))]"
            switch operation % 16 {
            case 0...5: try append(parameter, to: log, model: &model, now: now)
            case 6: try readFromRandomOffset(parameter, log: log, model: model, context: context)
            case 7: try log.roll()
            case 8:
                try log.sync()
                model.syncedEnd = model.logEndOffset
            case 9: try truncate(parameter, log: log, model: &model, context: context)
            case 10: try deleteRecords(parameter, log: log, model: &model)
            case 11: try compact(log: log, model: &model, now: now)
            case 12:
                now += Int64(parameter % 20)
                try log.tick(now: Timestamp(milliseconds: now))
                model.syncedEnd = max(model.syncedEnd, log.recoveryPoint.rawValue)
            case 13: try checkTimestampLookup(parameter, log: log, model: model, context: context)
            default:
                log = try crashAndRecover(fileSystem: fileSystem, model: &model, generator: &generator, context: context)
            }
            if verbose {
                print(label, step, operation % 16, parameter, "start", log.logStartOffset, model.logStartOffset, "end", log.logEndOffset, model.logEndOffset,
                      "rp", log.recoveryPoint, "synced", model.syncedEnd, "segments", log.segments.map { "\($0.baseOffset)-\($0.nextOffset)" },
                      "model", model.records.map(\.offset))
            }
            try expectEqual(log, model, context)
            try check(log.logEndOffset.rawValue == model.logEndOffset, "\(context): log end")
            try check(log.logStartOffset.rawValue == model.logStartOffset, "\(context): log start")
        }
        try expectEqual(log, model, "end of run")
        try log.close()
        let reopened = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, configuration: configuration(), now: t0)
        try expectEqual(reopened, model, "after a clean close and reopen")
        try check(reopened.recoveryReport.truncation == nil, "a clean reopen cut the log")
    }

    static func append(_ parameter: Int, to log: PartitionLog, model: inout Model, now: Int64) throws {
        let count = 1 + parameter % 4
        var records: [TestRecord] = []
        for index in 0..<count {
            let key = "k\((parameter / 4 + index) % 6)"
            let value: String? = (parameter / 7 + index) % 9 == 0 ? nil : "v\(parameter)-\(index)-" + String(repeating: "x", count: parameter % 40)
            records.append(TestRecord(key, value, timestamp: now - Int64((parameter + index) % 50)))
        }
        let compression = CompressionType(rawValue: Int8(parameter % 5))!
        let info = try log.append(records, compression: compression, now: now)
        try check(info.firstOffset.rawValue == model.logEndOffset, "append offset")
        let base = model.logEndOffset
        for (index, record) in records.enumerated() {
            model.records.append(ModelRecord(offset: base + Int64(index), record: record, batchBase: base, batchLast: base + Int64(count - 1)))
        }
        model.logEndOffset += Int64(count)
    }

    static func readFromRandomOffset(_ parameter: Int, log: PartitionLog, model: Model, context: String) throws {
        let span = model.logEndOffset - model.logStartOffset + 1
        let offset = model.logStartOffset + Int64(parameter) % span
        let batches = try log.readBatches(from: Offset(offset), maximumBytes: 1 + parameter % 600)
        var seen: [ModelRecord] = []
        for batch in batches {
            for record in try batch.records() where batch.offset(of: record).rawValue >= offset {
                seen.append(ModelRecord(offset: batch.offset(of: record).rawValue, record: stored(batch, record), batchBase: 0, batchLast: 0))
            }
        }
        let expected = model.records.filter { $0.offset >= offset }.prefix(seen.count)
        try check(seen.map(\.offset) == expected.map(\.offset), "\(context): offsets read from \(offset)")
        try check(seen.map(\.record) == expected.map(\.record), "\(context): records read from \(offset)")
        if offset < model.logEndOffset, model.records.contains(where: { $0.offset >= offset }) {
            // The batch holding `offset` may have lost its later records to compaction, so the
            // read may hold no record at or after `offset`, but it must hold a batch.
            try check(!batches.isEmpty, "\(context): a read below the log end returned nothing")
        }
    }

    static func truncate(_ parameter: Int, log: PartitionLog, model: inout Model, context: String) throws {
        let span = model.logEndOffset - model.logStartOffset + 1
        let target = model.logStartOffset + Int64(parameter) % span
        guard target < model.logEndOffset else { return }  // nothing to cut, nothing synced
        try log.truncate(to: Offset(target))
        // The log cuts at the start of the first remaining batch whose last offset ≥ target.
        let cut = model.records.first { $0.batchLast >= target }?.batchBase ?? model.logEndOffset
        let newEnd = log.logEndOffset.rawValue
        try check(newEnd <= min(target, model.logEndOffset), "\(context): truncate end")
        model.records.removeAll { $0.offset >= cut }
        try check(newEnd >= (model.records.last.map { $0.batchLast + 1 } ?? model.logStartOffset), "\(context): truncate kept too little")
        model.logEndOffset = newEnd
        model.logStartOffset = min(model.logStartOffset, newEnd)
        model.syncedEnd = newEnd
    }

    static func deleteRecords(_ parameter: Int, log: PartitionLog, model: inout Model) throws {
        let span = model.logEndOffset - model.logStartOffset + 1
        let target = model.logStartOffset + Int64(parameter) % span
        try log.deleteRecords(before: Offset(target))
        model.logStartOffset = max(model.logStartOffset, target)
        model.records.removeAll { $0.offset < model.logStartOffset }
    }

    /// The model's compaction: below the active segment, keep each key's latest record; keep a
    /// tombstone until a pass after its batch's delete horizon.
    static func compact(log: PartitionLog, model: inout Model, now: Int64) throws {
        try log.clean(now: Timestamp(milliseconds: now))
        model.syncedEnd = model.logEndOffset  // cleaning syncs the log first
        let cleanableEnd = log.segmentBaseOffsets.last!.rawValue
        var latest: [String: Int64] = [:]
        for record in model.records where record.offset < cleanableEnd { latest[record.record.key!] = record.offset }
        var stampedBatches = Set<Int64>()
        var kept: [ModelRecord] = []
        for record in model.records {
            guard record.offset < cleanableEnd else { kept.append(record); continue }
            guard latest[record.record.key!] == record.offset else { continue }
            if record.record.value == nil {
                if let horizon = record.horizon, now >= horizon { continue }
                if record.horizon == nil { stampedBatches.insert(record.batchBase) }
            }
            kept.append(record)
        }
        for index in kept.indices where stampedBatches.contains(kept[index].batchBase) && kept[index].offset < cleanableEnd {
            kept[index].horizon = now + deleteRetention
        }
        model.records = kept
    }

    static func checkTimestampLookup(_ parameter: Int, log: PartitionLog, model: Model, context: String) throws {
        guard let minimum = model.records.map(\.record.timestamp).min(), let maximum = model.records.map(\.record.timestamp).max() else { return }
        let target = minimum - 1 + Int64(parameter) % (maximum - minimum + 3)
        let expected = model.records.first { $0.record.timestamp >= target }
        let found = try log.offset(forTimestamp: Timestamp(milliseconds: target))
        try check(found?.offset.rawValue == expected?.offset, "\(context): offset for timestamp \(target): log \(String(describing: found)), model \(String(describing: expected?.offset)); records \(model.records.map { "\($0.offset)@\($0.record.timestamp)" })")
    }

    static func crashAndRecover(fileSystem: SimulatedFileSystem, model: inout Model, generator: inout SplitMix64, context: String) throws -> PartitionLog {
        fileSystem.crash(mode: Bool.random(using: &generator) ? .keepRandomPrefix : .loseAllUnsynced, using: &generator)
        let log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, configuration: configuration(), now: t0)
        let newEnd = log.logEndOffset.rawValue
        try check(newEnd >= model.syncedEnd, "\(context): a crash lost synced records (end \(newEnd) < synced \(model.syncedEnd))")
        try check(newEnd <= model.logEndOffset, "\(context): recovery invented records")
        try check(log.logStartOffset.rawValue == model.logStartOffset, "\(context): log start after crash")
        model.records.removeAll { $0.offset >= newEnd }
        try check(model.records.last.map { $0.batchLast + 1 <= newEnd } ?? true, "\(context): recovery split a batch")
        model.logEndOffset = newEnd
        model.syncedEnd = newEnd
        try expectEqual(log, model, context + " (after crash)")
        return log
    }

    static func expectEqual(_ log: PartitionLog, _ model: Model, _ context: String) throws {
        let actual = try log.allRecords(maximumBytesPerRead: 333)
        try check(actual.map(\.offset) == model.records.map(\.offset), "\(context): offsets \(actual.map(\.offset)) != model \(model.records.map(\.offset))")
        try check(actual.map(\.record) == model.records.map(\.record), "\(context): records")
    }

    static func stored(_ batch: RecordBatch, _ record: Record) -> TestRecord {
        TestRecord(record.key.map { String(buffer: $0) }, record.value.map { String(buffer: $0) }, timestamp: batch.timestamp(of: record).milliseconds)
    }
}
