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
/// A pass works on the closed segments below the high watermark (the active segment is never
/// touched). It maps each key to the offset of its latest record, then rewrites every segment
/// keeping only those records. Offsets are never changed or reordered: a rewritten batch keeps
/// its base offset, last offset delta and producer fields, so producer sequence state survives.
/// Tombstones (null values) follow KIP-534: the first pass that keeps one stamps its batch with
/// a delete horizon (now + `delete.retention.ms`); a pass after the horizon removes it.
///
/// Crash safety: a segment's replacement is written as `<base>.log.cleaned`, synced, renamed to
/// `.log.swap`, then over `.log`. Recovery removes `.cleaned` files and completes `.swap`s.
struct LogCleaner {
    /// The most keys one pass maps; a pass over more stops early and the next pass continues.
    static let maximumKeysPerPass = 4_000_000

    let configuration: LogConfiguration
    let now: Timestamp
    var statistics = CleanerStatistics()

    /// Key → offset of its latest record over `segments` (stopping when the map is full).
    /// Returns the map and how many leading segments it covers.
    func buildKeyMap(_ segments: [Segment]) throws -> (latest: [[UInt8]: Offset], coveredSegments: Int) {
        // Keys are copied: a slice would keep its whole decompressed batch alive.
        var latest: [[UInt8]: Offset] = [:]
        var covered = 0
        for segment in segments {
            try forEachBatch(of: segment) { batch in
                for record in try batch.records() {
                    if let key = record.key { latest[Array(key.readableBytesView)] = batch.offset(of: record) }
                }
            }
            covered += 1
            if latest.count >= Self.maximumKeysPerPass { break }
        }
        return (latest, covered)
    }

    /// The segment's batches with superseded records (and expired tombstones) removed; nil when
    /// nothing would change.
    mutating func cleanedBytes(of segment: Segment, latest: [[UInt8]: Offset]) throws -> ByteBuffer? {
        var output = ByteBufferAllocator().buffer(capacity: Int(segment.size))
        var changed = false
        try forEachBatch(of: segment) { batch in
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

    private func forEachBatch(of segment: Segment, _ body: (RecordBatch) throws -> Void) throws {
        let validEnd = try segment.verify(upTo: segment.size)
        guard validEnd == segment.size else {
            throw segment.corruption ?? StorageError(.corruptSegment, "segment fails verification", path: segment.logPath)
        }
        var scanner = BatchScanner(file: segment.logFile, from: 0, to: segment.size, verifyChecksums: false)
        while case .batch(let header, let position) = try scanner.next() {
            let bytes = try segment.logFile.readBatch(at: position, size: header.totalSize)
            do {
                try body(try RecordBatch(validating: bytes, verifyChecksum: false))
            } catch let error as FormatError {
                throw StorageError(.corruptSegment, "cannot decode records: \(error)", path: segment.logPath, position: position)
            }
        }
    }
}

extension PartitionLog {
    /// One compaction pass (when `cleanup.policy` includes compact). See `LogCleaner`.
    @discardableResult
    public func clean(now: Timestamp) throws -> CleanerStatistics {
        try checkWritable()
        guard configuration.cleanupPolicy.contains(.compact) else { return CleanerStatistics() }
        // Cleaning rewrites and syncs segments; a later segment must never be durable while an
        // earlier one is not, and recovery must never meet a compacted segment (it reads a gap
        // after the recovery point as lost data). So clean only below a checkpointed, synced point.
        try sync()
        if checkpointedRecoveryPoint != recoveryPoint { try writeRecoveryPointCheckpoint() }
        let firstUncleanable = min(activeSegment.baseOffset, highWatermark, recoveryPoint)
        let cleanable = segments.dropLast()
            .prefix { $0.nextOffset <= firstUncleanable }
            .filter { !$0.isEmpty && $0.nextOffset > logStartOffset }
        guard !cleanable.isEmpty else { return CleanerStatistics() }
        var cleaner = LogCleaner(configuration: configuration, now: now)
        let (latest, covered) = try cleaner.buildKeyMap(Array(cleanable))
        for segment in cleanable.prefix(covered) {
            cleaner.statistics.bytesBefore += segment.size
            if let bytes = try cleaner.cleanedBytes(of: segment, latest: latest) {
                try replace(segment, with: bytes)
                cleaner.statistics.cleanedSegments += 1
            }
            cleaner.statistics.bytesAfter += segments.first { $0.baseOffset == segment.baseOffset }?.size ?? 0
        }
        return cleaner.statistics
    }

    /// Swaps a segment's file for `bytes` through the `.cleaned` → `.swap` → `.log` protocol.
    func replace(_ segment: Segment, with bytes: ByteBuffer) throws {
        let logPath = segment.logPath
        let cleanedPath = logPath + SegmentFiles.cleanedSuffix
        let swapPath = logPath + SegmentFiles.swapSuffix
        let file = try fileSystem.openFile(at: cleanedPath, create: true)
        try file.truncate(to: 0)
        try bytes.withUnsafeReadableBytes { try file.write($0, at: 0) }
        try file.sync()
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
