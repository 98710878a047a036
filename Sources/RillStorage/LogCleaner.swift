import NIOCore
import RillFormat

/// What one compaction pass did.
public struct CleanerStatistics: Hashable, Sendable {
    public var cleanedSegments = 0
    public var recordsRead = 0
    public var recordsRemoved = 0
    public var tombstonesRemoved = 0
    public var bytesBefore: Int64 = 0
    public var bytesAfter: Int64 = 0
}

/// Log compaction (`cleanup.policy=compact`): keeps the latest record of every key.
///
/// A pass works on the closed segments below the high watermark and the checkpointed recovery
/// point (the active segment is never touched). It maps each key to the offset of its latest
/// record, then rewrites every segment keeping only those records. Offsets are never changed or
/// reordered: a rewritten batch keeps its base offset, last offset delta and producer fields, so
/// producer sequence state survives. Tombstones (null values) follow KIP-534: the first pass that
/// keeps one stamps its batch with a delete horizon (now + `delete.retention.ms`); a pass after
/// the horizon removes it.
///
/// A pass has three steps so the heavy one can leave the partition's thread:
/// `PartitionLog.prepareCleaning` (on the owner's thread) picks the segments;
/// `CleaningPlan.execute` (any thread) reads them, CRC-checks every batch, and writes each
/// replacement as `<base>.log.cleaned`, synced; `PartitionLog.completeCleaning` (owner's thread)
/// swaps each replacement in through `.swap` if its segment is still there unchanged.
/// Recovery removes `.cleaned` files and completes `.swap`s.
public struct CleaningPlan: @unchecked Sendable {
    // @unchecked: the segment files are closed segments, which nothing writes any more (only
    // deletes or swaps, on the owner's thread); POSIX pread on them is safe from any thread.
    struct Target {
        var baseOffset: Offset
        var file: any StorageFile
        var size: Int64
        var logPath: String
    }

    /// The most keys one pass maps; a pass over more stops early and the next pass continues.
    static let maximumKeysPerPass = 4_000_000

    let targets: [Target]
    let configuration: LogConfiguration
    let now: Timestamp
    let fileSystem: any FileSystem

    /// Builds the replacements. Throws for I/O failures and corrupt batches (nothing is swapped).
    public func execute() throws -> CleaningResult {
        var statistics = CleanerStatistics()
        let (latest, covered) = try buildKeyMap()
        var replacements: [CleaningResult.Replacement] = []
        for target in targets.prefix(covered) {
            statistics.bytesBefore += target.size
            guard let bytes = try cleanedBytes(of: target, latest: latest, statistics: &statistics) else {
                statistics.bytesAfter += target.size
                continue
            }
            let path = target.logPath + SegmentFiles.cleanedSuffix
            let file = try fileSystem.openFile(at: path, create: true)
            try file.truncate(to: 0)
            try bytes.withUnsafeReadableBytes { try file.write($0, at: 0) }
            try file.sync()
            replacements.append(.init(baseOffset: target.baseOffset, originalSize: target.size, cleanedPath: path))
            statistics.bytesAfter += Int64(bytes.readableBytes)
            statistics.cleanedSegments += 1
        }
        return CleaningResult(replacements: replacements, statistics: statistics)
    }

    /// Key → offset of its latest record, over the leading targets until the map is full.
    func buildKeyMap() throws -> (latest: [[UInt8]: Offset], coveredTargets: Int) {
        // Keys are copied: a slice would keep its whole decompressed batch alive.
        var latest: [[UInt8]: Offset] = [:]
        var covered = 0
        for target in targets {
            try forEachBatch(of: target) { batch in
                for record in try batch.records() {
                    if let key = record.key { latest[Array(key.readableBytesView)] = batch.offset(of: record) }
                }
            }
            covered += 1
            if latest.count >= Self.maximumKeysPerPass { break }
        }
        return (latest, covered)
    }

    /// The target's batches with superseded records (and expired tombstones) removed; nil when
    /// nothing would change.
    func cleanedBytes(of target: Target, latest: [[UInt8]: Offset], statistics: inout CleanerStatistics) throws -> ByteBuffer? {
        var output = ByteBufferAllocator().buffer(capacity: Int(target.size))
        var changed = false
        try forEachBatch(of: target) { batch in
            let records = try batch.records()
            statistics.recordsRead += records.count
            var kept: [Record] = []
            var needsHorizon = false
            for record in records {
                if let key = record.key, latest[Array(key.readableBytesView)] != batch.offset(of: record) {
                    statistics.recordsRemoved += 1
                    continue
                }
                if record.isTombstone {
                    if let horizon = batch.header.deleteHorizon, now >= horizon {
                        statistics.tombstonesRemoved += 1
                        statistics.recordsRemoved += 1
                        continue
                    }
                    if batch.header.deleteHorizon == nil { needsHorizon = true }
                }
                kept.append(record)
            }
            if kept.count == records.count && !needsHorizon {
                var bytes = batch.bytes
                output.writeBuffer(&bytes)
                return
            }
            changed = true
            guard !kept.isEmpty else { return }
            var rebuilt = try rebuild(batch, keeping: kept, setHorizon: needsHorizon)
            output.writeBuffer(&rebuilt)
        }
        return changed ? output : nil
    }

    /// A batch with only `records`, same base offset, last offset delta and producer fields.
    private func rebuild(_ batch: RecordBatch, keeping records: [Record], setHorizon: Bool) throws -> ByteBuffer {
        let header = batch.header
        var builder = RecordBatchBuilder(
            compression: header.attributes.compression ?? .none, baseOffset: header.baseOffset,
            partitionLeaderEpoch: header.partitionLeaderEpoch, producerID: header.producerID,
            producerEpoch: header.producerEpoch, baseSequence: header.baseSequence,
            isTransactional: header.attributes.isTransactional, timestampType: header.attributes.timestampType)
        builder.deleteHorizon = setHorizon ? Timestamp(milliseconds: now.milliseconds + configuration.deleteRetentionMilliseconds) : header.deleteHorizon
        builder.maximumTimestampOverride = header.maxTimestamp
        for record in records {
            builder.append(key: record.key, value: record.value, headers: record.headers, timestamp: batch.timestamp(of: record), offsetDelta: record.offsetDelta)
        }
        var bytes = try builder.build(lastOffsetDelta: header.lastOffsetDelta)
        // Keep the partition leader epoch the batch was written in (outside the CRC).
        bytes.setInteger(header.partitionLeaderEpoch.rawValue, at: bytes.readerIndex + RecordBatchHeader.FieldOffset.partitionLeaderEpoch)
        return bytes
    }

    /// Every batch of the target, CRC-checked; a corrupt batch stops the pass.
    private func forEachBatch(of target: Target, _ body: (RecordBatch) throws -> Void) throws {
        var scanner = BatchScanner(file: target.file, from: 0, to: target.size, verifyChecksums: true)
        while true {
            switch try scanner.next() {
            case .batch(let header, let position):
                let bytes = try target.file.readBatch(at: position, size: header.totalSize)
                do {
                    try body(try RecordBatch(validating: bytes, verifyChecksum: false))
                } catch let error as FormatError {
                    throw StorageError(.corruptSegment, "cannot decode records: \(error)", path: target.logPath, position: position)
                }
            case .invalid(let error, let position), .corruptBatch(let error, let position, _):
                throw StorageError(.corruptSegment, "\(error.code): \(error.message)", path: target.logPath, position: position)
            case .end:
                return
            }
        }
    }
}

/// The replacements a `CleaningPlan` wrote, for `PartitionLog.completeCleaning`.
public struct CleaningResult: Sendable {
    struct Replacement: Sendable {
        var baseOffset: Offset
        var originalSize: Int64
        var cleanedPath: String
    }

    let replacements: [Replacement]
    public let statistics: CleanerStatistics
}

extension PartitionLog {
    /// Step 1 of a compaction pass (when `cleanup.policy` includes compact): syncs the log,
    /// checkpoints the recovery point, and picks the segments to clean. nil when there are none.
    public func prepareCleaning(now: Timestamp) throws -> CleaningPlan? {
        try checkWritable()
        guard configuration.cleanupPolicy.contains(.compact) else { return nil }
        // Cleaning rewrites and syncs segments; a later segment must never be durable while an
        // earlier one is not, and recovery must never meet a compacted segment (it reads a gap
        // after the recovery point as lost data). So clean only below a checkpointed, synced point.
        try sync()
        if checkpointedRecoveryPoint != recoveryPoint { try writeRecoveryPointCheckpoint() }
        let firstUncleanable = min(activeSegment.baseOffset, highWatermark, recoveryPoint)
        let targets = segments.dropLast()
            .prefix { $0.nextOffset <= firstUncleanable }
            .filter { !$0.isEmpty && $0.nextOffset > logStartOffset }
            .map { CleaningPlan.Target(baseOffset: $0.baseOffset, file: $0.logFile, size: $0.size, logPath: $0.logPath) }
        guard !targets.isEmpty else { return nil }
        return CleaningPlan(targets: targets, configuration: configuration, now: now, fileSystem: fileSystem)
    }

    /// Step 3: swaps in each replacement whose segment is still in the log with the size it was
    /// cleaned at; discards the rest (a truncation or retention got there first).
    public func completeCleaning(_ result: CleaningResult) throws {
        for replacement in result.replacements {
            guard !isClosed, failure == nil,
                  let segment = segments.first(where: { $0.baseOffset == replacement.baseOffset && $0.size == replacement.originalSize }),
                  segment !== activeSegment
            else {
                try fileSystem.removeFile(at: replacement.cleanedPath)
                continue
            }
            try swapIn(replacement.cleanedPath, for: segment)
        }
    }

    /// One compaction pass, all three steps on the caller's thread.
    @discardableResult
    public func clean(now: Timestamp) throws -> CleanerStatistics {
        guard let plan = try prepareCleaning(now: now) else { return CleanerStatistics() }
        let result = try plan.execute()
        try completeCleaning(result)
        return result.statistics
    }

    /// `.cleaned` → `.swap` → `.log`, dropping the old indexes before the new file goes live.
    func swapIn(_ cleanedPath: String, for segment: Segment) throws {
        let logPath = segment.logPath
        let swapPath = logPath + SegmentFiles.swapSuffix
        try fileSystem.rename(from: cleanedPath, to: swapPath)
        try fileSystem.syncDirectory(at: directory)
        // Old indexes would point into the old file: drop them before the new file goes live.
        try fileSystem.removeFile(at: SegmentFiles.offsetIndexPath(directory, segment.baseOffset))
        try fileSystem.removeFile(at: SegmentFiles.timeIndexPath(directory, segment.baseOffset))
        try fileSystem.rename(from: swapPath, to: logPath)
        try fileSystem.syncDirectory(at: directory)

        let replacement = try Segment.open(directory: directory, baseOffset: segment.baseOffset, fileSystem: fileSystem)
        if let (position, reason) = try replacement.recover(indexIntervalBytes: configuration.indexIntervalBytes, cutOnInvalid: false) {
            preconditionFailure("compaction wrote an invalid batch at \(position): \(reason)")
        }
        try replacement.closeForAppends()
        guard let index = segments.firstIndex(where: { $0 === segment }) else { return }
        segments[index] = replacement
    }
}
