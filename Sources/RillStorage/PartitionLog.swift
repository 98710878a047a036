import NIOCore
import RillFormat

/// What one `append` did.
public struct LogAppendInfo: Hashable, Sendable {
    /// Offset of the first record appended.
    public var firstOffset: Offset
    /// Offset of the last record appended.
    public var lastOffset: Offset
    /// The largest timestamp among the appended batches.
    public var maxTimestamp: Timestamp
    /// The broker's stamp on LogAppendTime topics; `.none` otherwise.
    public var logAppendTime: Timestamp
    public var recordCount: Int
    public var batchCount: Int
    public var byteCount: Int
}

/// A byte range of a segment file: what a fetch sends (with sendfile where it can).
/// Holding a slice keeps the file open even if the segment is deleted meanwhile.
///
/// `@unchecked Sendable`: a slice is only ever read (pread, sendfile) and the bytes it covers
/// are never rewritten while it is held — appends go past its end, compaction writes a new file,
/// and a removed segment's file becomes a new segment's only once nothing holds it. Reads of a
/// `POSIXFile` are safe from any thread; a `SimulatedFile` must stay on its test's thread.
public struct FileSlice: @unchecked Sendable {
    public let file: any StorageFile
    public let position: Int64
    public let length: Int

    public init(file: any StorageFile, position: Int64, length: Int) {
        self.file = file
        self.position = position
        self.length = length
    }

    /// Reads the range into memory.
    public func read() throws -> ByteBuffer {
        try file.readBatch(at: position, size: length)
    }

    /// The headers of the whole batches in the range (a cut trailing batch is left out).
    public func batchHeaders() throws -> [RecordBatchHeader] {
        var scanner = BatchScanner(file: file, from: position, to: position + Int64(length), verifyChecksums: false)
        var headers: [RecordBatchHeader] = []
        while case .batch(let header, _) = try scanner.next() { headers.append(header) }
        return headers
    }
}

/// The answer to `read(from:maximumBytes:)`.
public struct LogReadResult {
    /// The bytes to send: whole batches, the last possibly cut short by the byte limit (Kafka
    /// clients skip a partial trailing batch). nil when there is nothing to read yet.
    public var slice: FileSlice?
    /// Base offset of the first batch in `slice`.
    public var firstBatchOffset: Offset?
    public var logStartOffset: Offset
    public var logEndOffset: Offset
    public var highWatermark: Offset
}

/// A partition's commit log on disk: a directory of segments in Kafka's format, with the
/// checkpoints, leader-epoch cache and producer state that go with it (Kafka's UnifiedLog).
///
/// Words (DESIGN.md): `logStartOffset` is the first offset still readable; `logEndOffset` the
/// offset the next record will get; `highWatermark` the end of what is *committed* (set by the
/// replication layer; reads for consumers stop there); `recoveryPoint` the end of what is
/// *synced* (fsynced): a crash loses nothing below it.
///
/// Isolation: not thread-safe. A partition's log is touched only by the event loop that owns
/// the partition (DESIGN.md, thread per core). Time comes in as `now`; nothing here reads a clock.
public final class PartitionLog {
    public static let recoveryPointFileName = "recovery-point-offset-checkpoint"
    public static let logStartOffsetFileName = "log-start-offset-checkpoint"

    public let directory: String
    public private(set) var configuration: LogConfiguration
    let fileSystem: any FileSystem
    /// Ordered by base offset; never empty; the last is the active segment.
    var segments: [Segment]
    public internal(set) var logStartOffset: Offset
    public internal(set) var recoveryPoint: Offset
    public internal(set) var highWatermark: Offset
    public internal(set) var leaderEpochCache: LeaderEpochCache
    public internal(set) var producerStateTable: ProducerStateTable
    /// What opening the log found and did.
    public internal(set) var recoveryReport = RecoveryReport()
    /// Corrupt batches found below the recovery point (each reported once).
    public internal(set) var corruptionReports: [StorageError] = []

    /// When set, segments that retention or `deleteRecords` remove are renamed `<name>.deleted`
    /// on the log's thread and their files handed here, to be unlinked on another thread:
    /// Kafka's asynchronous segment deletion. Unlinking a 64 MB segment takes about 10 ms on
    /// tmpfs, which the appends queued behind it would wait for. When nil, files are unlinked
    /// at once. Recovery removes `.deleted` files either way.
    public var deferredFileRemoval: (([String]) -> Void)?

    /// Log files of removed segments, renamed `.deleted`, kept to become the files of the next
    /// segments (`file.delete.delay.ms`): rewriting pages the file system already holds costs
    /// less than freeing them and allocating new ones, and on tmpfs the freed pages' truncation
    /// contends with the appends' allocations.
    var spareLogFiles: [SpareLogFile] = []
    /// At most this many spare log files per log; removed segments beyond it are unlinked.
    static let spareLogFileLimit = 2

    var unflushedRecordCount: Int64 = 0
    var firstUnflushedAppendTime: Timestamp?
    var lastRecoveryPointCheckpointTime: Timestamp?
    var checkpointedRecoveryPoint: Offset?
    /// Set when a write failed and could not be undone; the log then refuses changes.
    var failure: StorageError?
    var isClosed = false

    init(directory: String, configuration: LogConfiguration, fileSystem: any FileSystem, segments: [Segment],
         logStartOffset: Offset, recoveryPoint: Offset, leaderEpochCache: LeaderEpochCache, producerStateTable: ProducerStateTable) {
        precondition(!segments.isEmpty, "a log always has an active segment")
        self.directory = directory
        self.configuration = configuration
        self.fileSystem = fileSystem
        self.segments = segments
        self.logStartOffset = logStartOffset
        self.recoveryPoint = recoveryPoint
        self.highWatermark = segments[segments.count - 1].nextOffset
        self.leaderEpochCache = leaderEpochCache
        self.producerStateTable = producerStateTable
    }

    var activeSegment: Segment { segments[segments.count - 1] }
    /// The offset the next appended record gets.
    public var logEndOffset: Offset { activeSegment.nextOffset }
    /// Bytes in all segment files.
    public var sizeInBytes: Int64 { segments.reduce(0) { $0 + $1.size } }
    public var segmentBaseOffsets: [Offset] { segments.map(\.baseOffset) }

    /// Changes settings; takes effect for the next append, roll, retention or cleaning.
    public func updateConfiguration(_ newConfiguration: LogConfiguration) throws {
        try newConfiguration.validate()
        configuration = newConfiguration
    }

    /// Sets the high watermark (the replication layer decides it), clamped to the log.
    public func updateHighWatermark(_ offset: Offset) {
        highWatermark = min(max(offset, logStartOffset), logEndOffset)
    }

    func checkWritable() throws {
        if isClosed { throw StorageError(.logUnavailable, "the log is closed", path: directory) }
        if let failure { throw StorageError(.logUnavailable, "the log failed earlier: \(failure)", path: directory) }
    }

    // MARK: Append

    /// Appends one or more record batches (Kafka's `records` bytes). Each batch is validated
    /// (structure always, CRC-32C unless `verifyChecksums` is false because the caller just
    /// checked it), given offsets, stamped with `leaderEpoch` and, on LogAppendTime topics, with
    /// `now`. The caller's bytes are not modified: the changed 61-byte headers are written with
    /// the untouched batch bodies in one gather write.
    ///
    /// Nothing is appended unless every batch is valid. After a failed write the file is cut
    /// back; if that fails too the log stops accepting writes.
    @discardableResult
    public func append(_ batches: ByteBuffer, leaderEpoch: LeaderEpoch = .none, now: Timestamp, verifyChecksums: Bool = true) throws -> LogAppendInfo {
        try checkWritable()
        let parsed = try validateForAppend(batches, verifyChecksums: verifyChecksums)
        let offsetSpan = parsed.reduce(Int64(0)) { $0 + Int64($1.header.lastOffsetDelta) + 1 }
        try maybeRoll(incomingBytes: Int64(batches.readableBytes), lastOffset: logEndOffset + (offsetSpan - 1), now: now)

        let firstOffset = logEndOffset
        let logAppendTime = configuration.messageTimestampType == .logAppendTime ? now : Timestamp.none
        let (headers, assigned) = assignOffsets(batches, parsed: parsed, from: firstOffset, leaderEpoch: leaderEpoch, logAppendTime: logAppendTime)

        let segment = activeSegment
        let sizeBefore = segment.size
        do {
            try headers.withUnsafeBytes { headerBytes in
                try batches.withUnsafeReadableBytes { bytes in
                    var parts: [UnsafeRawBufferPointer] = []
                    parts.reserveCapacity(parsed.count * 2)
                    for (index, batch) in parsed.enumerated() {
                        let headerStart = index * RecordBatchHeader.size
                        parts.append(UnsafeRawBufferPointer(rebasing: headerBytes[headerStart..<(headerStart + RecordBatchHeader.size)]))
                        parts.append(UnsafeRawBufferPointer(rebasing: bytes[(batch.position + RecordBatchHeader.size)..<(batch.position + batch.header.totalSize)]))
                    }
                    try segment.append(parts, byteCount: bytes.count, batches: assigned, indexIntervalBytes: configuration.indexIntervalBytes, now: now)
                }
            }
        } catch {
            do { try segment.logFile.truncate(to: sizeBefore) } catch { failure = error as? StorageError }
            throw error
        }

        var recordCount = 0
        var maxTimestamp = Timestamp.none
        for (header, _) in assigned {
            producerStateTable.update(with: header, appendTime: now)
            recordCount += Int(header.recordCount)
            maxTimestamp = max(maxTimestamp, header.maxTimestamp)
        }
        if leaderEpoch != .none, leaderEpochCache.latestEpoch.map({ leaderEpoch > $0 }) ?? true {
            leaderEpochCache.assign(epoch: leaderEpoch, startOffset: firstOffset)
            try leaderEpochCache.write(to: directory, fileSystem: fileSystem)
        }
        unflushedRecordCount += Int64(recordCount)
        if firstUnflushedAppendTime == nil { firstUnflushedAppendTime = now }
        if unflushedRecordCount >= configuration.flushMessages { try sync() }
        return LogAppendInfo(
            firstOffset: firstOffset, lastOffset: logEndOffset - 1, maxTimestamp: maxTimestamp,
            logAppendTime: logAppendTime, recordCount: recordCount, batchCount: assigned.count,
            byteCount: batches.readableBytes)
    }

    /// Splits `batches` into validated batches, enforcing `max.message.bytes`.
    func validateForAppend(_ batches: ByteBuffer, verifyChecksums: Bool) throws -> [(header: RecordBatchHeader, position: Int)] {
        guard batches.readableBytes > 0 else { throw StorageError(.invalidBatch, "no record batches to append") }
        let limit = configuration.maximumMessageBytes
        return try batches.withUnsafeReadableBytes { bytes in
            var result: [(header: RecordBatchHeader, position: Int)] = []
            var position = 0
            while position < bytes.count {
                let header: RecordBatchHeader
                do {
                    header = try RecordBatch.validate(UnsafeRawBufferPointer(rebasing: bytes[position...]), verifyChecksum: verifyChecksums, position: Int64(position))
                } catch {
                    throw StorageError(.invalidBatch, "\(error)", position: Int64(position))
                }
                guard Int64(header.totalSize) <= limit else {
                    throw StorageError(.batchTooLarge, "batch of \(header.totalSize) bytes exceeds max.message.bytes \(limit)", position: Int64(position))
                }
                result.append((header, position))
                position += header.totalSize
            }
            return result
        }
    }

    /// The batches' headers with offsets (and the leader epoch, and the append time) filled in,
    /// 61 bytes each, back to back; the CRC is recomputed only when the append time changed
    /// covered fields.
    func assignOffsets(_ batches: ByteBuffer, parsed: [(header: RecordBatchHeader, position: Int)], from firstOffset: Offset,
                       leaderEpoch: LeaderEpoch, logAppendTime: Timestamp) -> (headers: [UInt8], assigned: [(header: RecordBatchHeader, position: Int)]) {
        var next = firstOffset
        var assigned = parsed
        var headers = [UInt8](repeating: 0, count: parsed.count * RecordBatchHeader.size)
        batches.withUnsafeReadableBytes { bytes in
            headers.withUnsafeMutableBytes { output in
                for index in assigned.indices {
                    var header = assigned[index].header
                    let start = assigned[index].position
                    let patch = UnsafeMutableRawBufferPointer(rebasing: output[(index * RecordBatchHeader.size)..<((index + 1) * RecordBatchHeader.size)])
                    header.baseOffset = next
                    if leaderEpoch != .none { header.partitionLeaderEpoch = leaderEpoch }
                    if logAppendTime != .none {
                        header.attributes.timestampType = .logAppendTime
                        header.maxTimestamp = logAppendTime
                    }
                    header.write(to: patch)
                    if logAppendTime != .none {
                        // CRC-32C over the patched attributes..end of header, continued over the body.
                        let headerPart = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: patch[RecordBatchHeader.FieldOffset.attributes...]))
                        header.crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[(start + RecordBatchHeader.size)..<(start + header.totalSize)]), continuing: headerPart)
                        patch.storeBigEndian(header.crc, at: RecordBatchHeader.FieldOffset.crc)
                    }
                    assigned[index].header = header
                    next = header.nextOffset
                }
            }
        }
        return (headers, assigned)
    }

    // MARK: Rolling

    /// Rolls when the active segment is full (`segment.bytes`), old (`segment.ms`), its index is
    /// full, or the next offsets would not fit its 32-bit relative index.
    func maybeRoll(incomingBytes: Int64, lastOffset: Offset, now: Timestamp) throws {
        let active = activeSegment
        guard !active.isEmpty else { return }
        let isFull = active.size + incomingBytes > configuration.segmentBytes
        let isOld = active.rollingTimestamp.map { now.milliseconds - $0.milliseconds >= configuration.segmentMilliseconds } ?? false
        if try isFull || isOld || active.isIndexFull(maximumIndexBytes: configuration.maximumIndexBytes) || !active.canHold(lastOffset: lastOffset) {
            try roll()
        }
    }

    /// Starts a new active segment at the log end offset (nothing happens if the active segment
    /// is empty). Snapshots the producer state at the new base offset.
    public func roll() throws {
        try checkWritable()
        let active = activeSegment
        guard !active.isEmpty else { return }
        let newBaseOffset = logEndOffset
        try ProducerStateSnapshots.write(producerStateTable, at: newBaseOffset, directory: directory, fileSystem: fileSystem)
        try active.trimStaleTail()
        try active.closeForAppends()
        segments.append(try createSegment(at: newBaseOffset))
    }

    /// A new active segment, in a spare log file when one is free.
    func createSegment(at baseOffset: Offset) throws -> Segment {
        if let spare = takeSpareLogFile() {
            do {
                return try Segment.create(directory: directory, baseOffset: baseOffset, fileSystem: fileSystem, now: nil, reusing: spare)
            } catch {
                // A spare that cannot be renamed or opened is unlinked; a fresh file serves.
                try removeFiles([spare])
            }
        }
        return try Segment.create(directory: directory, baseOffset: baseOffset, fileSystem: fileSystem, now: nil)
    }

    /// The path of a spare log file that no reader holds any more (a fetch may still be
    /// sending from a removed segment), taken out of the spares.
    func takeSpareLogFile() -> String? {
        guard let index = spareLogFiles.firstIndex(where: { $0.file == nil }) else { return nil }
        return spareLogFiles.remove(at: index).path
    }

    /// Unlinks files now, or hands them to `deferredFileRemoval`.
    func removeFiles(_ paths: [String]) throws {
        guard !paths.isEmpty else { return }
        if let deferredFileRemoval {
            deferredFileRemoval(paths)
        } else {
            for path in paths { try fileSystem.removeFile(at: path) }
        }
    }

    /// Unlinks the spare log files `file.delete.delay.ms` after `tick` first saw them.
    func expireSpareLogFiles(now: Timestamp) throws {
        guard !spareLogFiles.isEmpty else { return }
        var expired: [String] = []
        for index in spareLogFiles.indices {
            let firstSeen = spareLogFiles[index].firstSeen ?? now
            spareLogFiles[index].firstSeen = firstSeen
            if now.milliseconds - firstSeen.milliseconds >= configuration.fileDeleteDelayMilliseconds { expired.append(spareLogFiles[index].path) }
        }
        spareLogFiles.removeAll { expired.contains($0.path) }
        try removeFiles(expired)
    }

    // MARK: Durability

    /// Makes every appended record durable (fsync); afterwards `recoveryPoint == logEndOffset`.
    public func sync() throws {
        try checkWritable()
        // Unsynced segments are always a suffix of the list: every sync syncs all of them.
        var index = segments.count - 1
        while index >= 0 && !segments[index].isSynced { index -= 1 }
        for segment in segments[(index + 1)...] { try segment.sync() }
        recoveryPoint = logEndOffset
        unflushedRecordCount = 0
        firstUnflushedAppendTime = nil
    }

    /// Periodic work driven by the owner's timer: the `flush.ms` policy, syncing segments closed
    /// by a roll, rewriting the recovery-point checkpoint, expiring idle producers, unlinking
    /// spare log files that waited `file.delete.delay.ms`.
    public func tick(now: Timestamp) throws {
        try checkWritable()
        try expireSpareLogFiles(now: now)
        if let first = firstUnflushedAppendTime, configuration.flushMilliseconds != .max,
           now.milliseconds - first.milliseconds >= configuration.flushMilliseconds {
            try sync()
        } else if segments.count >= 2, !segments[segments.count - 2].isSynced {
            for segment in segments.dropLast() where !segment.isSynced { try segment.sync() }
            recoveryPoint = max(recoveryPoint, activeSegment.baseOffset)
        }
        let interval = configuration.recoveryPointCheckpointIntervalMilliseconds
        if checkpointedRecoveryPoint != recoveryPoint,
           lastRecoveryPointCheckpointTime.map({ now.milliseconds - $0.milliseconds >= interval }) ?? true {
            try writeRecoveryPointCheckpoint()
            lastRecoveryPointCheckpointTime = now
        }
        producerStateTable.removeExpired(now: now, expirationMilliseconds: configuration.producerIDExpirationMilliseconds)
    }

    /// Persists the recovery point. Safe at any time: it only ever records synced offsets.
    public func writeRecoveryPointCheckpoint() throws {
        let path = FilePath.join(directory, Self.recoveryPointFileName)
        try CheckpointFile.write([["\(recoveryPoint.rawValue)"]], to: path, fileSystem: fileSystem)
        checkpointedRecoveryPoint = recoveryPoint
    }

    func writeLogStartOffsetCheckpoint() throws {
        let path = FilePath.join(directory, Self.logStartOffsetFileName)
        try CheckpointFile.write([["\(logStartOffset.rawValue)"]], to: path, fileSystem: fileSystem)
    }

    /// Syncs everything and writes the checkpoints and a producer snapshot, so that the next
    /// open has nothing to recover. The log cannot be used afterwards.
    public func close() throws {
        guard !isClosed else { return }
        defer { isClosed = true }
        guard failure == nil else { return }
        // Spares are `.deleted` files (recovery would remove them); the active segment's file
        // ends at its last batch before the sync makes the close durable.
        for spare in spareLogFiles { try? fileSystem.removeFile(at: spare.path) }
        spareLogFiles = []
        try activeSegment.trimStaleTail()
        try sync()
        try activeSegment.closeForAppends()
        try ProducerStateSnapshots.write(producerStateTable, at: logEndOffset, directory: directory, fileSystem: fileSystem)
        try writeRecoveryPointCheckpoint()
        try writeLogStartOffsetCheckpoint()
    }

    /// Closes the log and removes its directory (DeleteTopics).
    public func delete() throws {
        isClosed = true
        spareLogFiles = []
        try fileSystem.removeDirectory(at: directory)
    }
}

extension PartitionLog {
    /// Records that `epoch` leads from the current log end (as a newly elected leader does, so
    /// that OffsetForLeaderEpoch can answer before the first append). No-op for an older or
    /// equal epoch.
    public func assignLeaderEpoch(_ epoch: LeaderEpoch) throws {
        try checkWritable()
        guard leaderEpochCache.latestEpoch.map({ epoch > $0 }) ?? true else { return }
        leaderEpochCache.assign(epoch: epoch, startOffset: logEndOffset)
        try leaderEpochCache.write(to: directory, fileSystem: fileSystem)
    }

    /// The leader epoch that wrote `offset`, from the epoch cache (nil when unknown).
    public func leaderEpoch(of offset: Offset) -> LeaderEpoch? {
        leaderEpochCache.entries.last { $0.startOffset <= offset }?.epoch
    }
}

/// A removed segment's log file waiting to be reused (`PartitionLog.spareLogFiles`).
struct SpareLogFile {
    let path: String
    /// The removed segment's open file while anything still holds it (a slice a fetch is
    /// still sending); the file is reused only once this is nil.
    weak var file: AnyObject?
    /// When `tick` first saw it, for `file.delete.delay.ms`.
    var firstSeen: Timestamp?
}
