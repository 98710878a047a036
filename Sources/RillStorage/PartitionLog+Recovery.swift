import RillFormat

/// What `PartitionLog.open` found and did.
public struct RecoveryReport: Sendable, Hashable {
    /// The recovery point it started from (nil: no checkpoint, everything was checked).
    public var recoveryPointCheckpoint: Offset?
    /// Segment files whose batches were validated in full.
    public var recoveredSegmentCount = 0
    /// Bytes validated with a CRC check.
    public var checkedBytes: Int64 = 0
    /// Where the log was cut (a torn or corrupt tail after the recovery point), and why.
    public var truncation: Truncation?
    /// Segments after a cut that were removed.
    public var removedSegmentPaths: [String] = []
    /// Corrupt batches found below the recovery point (kept, never served).
    public var corruptions: [StorageError] = []
    /// Leftover files of an interrupted compaction that were completed or removed.
    public var completedSwaps = 0
    public var removedTemporaryFiles = 0
    /// The producer snapshot recovery started from, if any.
    public var producerSnapshotOffset: Offset?

    public struct Truncation: Sendable, Hashable {
        public var path: String
        public var position: Int64
        public var truncatedBytes: Int64
        public var reason: String
    }
}

extension PartitionLog {
    /// Opens (creating if needed) the log in `directory`, recovering from an unclean stop:
    ///
    /// 1. finishes or discards an interrupted compaction (`.swap` / `.cleaned` files) and removes
    ///    segments renamed for deletion (`.deleted`);
    /// 2. trusts segments below the recovery point after checking their indexes (their batches
    ///    are CRC-checked lazily, before they are first served);
    /// 3. validates every batch from the recovery point on and cuts the log at the first invalid
    ///    byte — a torn tail is normal after a crash — removing any later segments;
    /// 4. syncs what survived, so the new recovery point is the log end;
    /// 5. restores the leader-epoch cache and the producer state (snapshot plus replay).
    public static func open(directory: String, fileSystem: any FileSystem, configuration: LogConfiguration = LogConfiguration(), now: Timestamp) throws -> PartitionLog {
        try configuration.validate()
        try fileSystem.createDirectory(at: directory)
        var report = RecoveryReport()
        try completeInterruptedOperations(directory: directory, fileSystem: fileSystem, report: &report)

        let names = try fileSystem.contentsOfDirectory(at: directory)
        let baseOffsets = names.compactMap { SegmentFiles.offset(fromName: $0, suffix: SegmentFiles.logSuffix) }.sorted()
        let checkpointedRecoveryPoint = try readOffsetCheckpoint(FilePath.join(directory, recoveryPointFileName), fileSystem: fileSystem)
        let checkpointedLogStart = try readOffsetCheckpoint(FilePath.join(directory, logStartOffsetFileName), fileSystem: fileSystem)
        report.recoveryPointCheckpoint = checkpointedRecoveryPoint

        var segments: [Segment] = []
        if baseOffsets.isEmpty {
            segments.append(try Segment.create(directory: directory, baseOffset: checkpointedLogStart ?? .zero, fileSystem: fileSystem, now: nil))
        } else {
            segments = try baseOffsets.map { try Segment.open(directory: directory, baseOffset: $0, fileSystem: fileSystem) }
            try recoverSegments(&segments, recoveryPoint: checkpointedRecoveryPoint, configuration: configuration, report: &report)
        }

        var logEndOffset = segments[segments.count - 1].nextOffset
        let logStartOffset = max(checkpointedLogStart ?? segments[0].baseOffset, segments[0].baseOffset)
        if logStartOffset > logEndOffset {
            // Records were deleted up to a point the crash then cut below. The log start never
            // moves back (offsets below it may have been consumed and committed): continue
            // with an empty log at the log start.
            for segment in segments { try segment.delete() }
            segments = [try Segment.create(directory: directory, baseOffset: logStartOffset, fileSystem: fileSystem, now: nil)]
            logEndOffset = logStartOffset
        }
        var epochs = try LeaderEpochCache.read(from: directory, fileSystem: fileSystem)
        let epochsBefore = epochs
        epochs.truncateFromEnd(logEndOffset)
        epochs.truncateFromStart(logStartOffset)

        let log = PartitionLog(
            directory: directory, configuration: configuration, fileSystem: fileSystem, segments: segments,
            logStartOffset: logStartOffset, recoveryPoint: checkpointedRecoveryPoint ?? .zero,
            leaderEpochCache: epochs, producerStateTable: ProducerStateTable())
        if epochs != epochsBefore { try epochs.write(to: directory, fileSystem: fileSystem) }
        try log.sync()
        try log.writeRecoveryPointCheckpoint()
        try log.reloadProducerState(report: &report)
        log.corruptionReports = report.corruptions
        log.recoveryReport = report
        _ = now
        return log
    }

    static func readOffsetCheckpoint(_ path: String, fileSystem: any FileSystem) throws -> Offset? {
        guard let entries = try CheckpointFile.read(from: path, fieldsPerEntry: 1, fileSystem: fileSystem) else { return nil }
        guard entries.count == 1, let value = Int64(entries[0][0]), value >= 0 else {
            throw StorageError(.invalidCheckpoint, "expected one non-negative offset", path: path)
        }
        return Offset(value)
    }

    /// Removes temporary files and segments renamed for deletion, and completes compaction swaps
    /// that reached their `.swap` state.
    static func completeInterruptedOperations(directory: String, fileSystem: any FileSystem, report: inout RecoveryReport) throws {
        for name in try fileSystem.contentsOfDirectory(at: directory) {
            let path = FilePath.join(directory, name)
            if name.hasSuffix(".tmp") || name.hasSuffix(SegmentFiles.cleanedSuffix) || name.hasSuffix(SegmentFiles.deletedSuffix) {
                try fileSystem.removeFile(at: path)
                report.removedTemporaryFiles += 1
            } else if name.hasSuffix(SegmentFiles.logSuffix + SegmentFiles.swapSuffix),
                      let base = SegmentFiles.offset(fromName: String(name.dropLast(SegmentFiles.swapSuffix.count)), suffix: SegmentFiles.logSuffix) {
                // The cleaned copy is complete and synced: finish replacing the original.
                try fileSystem.removeFile(at: SegmentFiles.offsetIndexPath(directory, base))
                try fileSystem.removeFile(at: SegmentFiles.timeIndexPath(directory, base))
                try fileSystem.rename(from: path, to: SegmentFiles.logPath(directory, base))
                try fileSystem.syncDirectory(at: directory)
                report.completedSwaps += 1
            }
        }
    }

    /// Steps 2 and 3 of `open`.
    static func recoverSegments(_ segments: inout [Segment], recoveryPoint: Offset?, configuration: LogConfiguration, report: inout RecoveryReport) throws {
        // Recovery starts at the last segment that begins at or below the recovery point: it may
        // hold unsynced bytes past that point.
        let firstToRecover: Int
        if let recoveryPoint {
            firstToRecover = max((segments.lastIndex { $0.baseOffset <= recoveryPoint }) ?? 0, 0)
        } else {
            firstToRecover = 0
        }
        for segment in segments[..<firstToRecover] {
            try segment.loadTrustedState(indexIntervalBytes: configuration.indexIntervalBytes)
            if let corruption = segment.corruption { report.corruptions.append(corruption) }
        }
        var index = firstToRecover
        while index < segments.count {
            let segment = segments[index]
            let sizeBefore = segment.size
            let checksumsFrom = index == firstToRecover ? (recoveryPoint ?? Offset(Int64.min)) : Offset(Int64.min)
            let cut = try segment.recover(indexIntervalBytes: configuration.indexIntervalBytes, cutOnInvalid: true, checksumsFrom: checksumsFrom)
            report.recoveredSegmentCount += 1
            report.checkedBytes += segment.size
            if let (position, reason) = cut {
                report.truncation = RecoveryReport.Truncation(path: segment.logPath, position: position, truncatedBytes: sizeBefore - position, reason: reason.description)
                // Nothing after an invalid byte can be trusted: later segments go too.
                for later in segments[(index + 1)...] {
                    report.removedSegmentPaths.append(later.logPath)
                    try later.delete()
                }
                segments.removeSubrange((index + 1)...)
                break
            }
            if index + 1 < segments.count, segment.nextOffset != segments[index + 1].baseOffset {
                // After the recovery point segments are contiguous (compaction only rewrites
                // segments below it). A gap or overlap means this segment lost its unsynced
                // end while a later file kept data: keep the prefix, drop what follows.
                let reason = "segment ends at offset \(segment.nextOffset) but the next one starts at \(segments[index + 1].baseOffset)"
                report.truncation = RecoveryReport.Truncation(path: segment.logPath, position: segment.size, truncatedBytes: 0, reason: reason)
                for later in segments[(index + 1)...] {
                    report.removedSegmentPaths.append(later.logPath)
                    try later.delete()
                }
                segments.removeSubrange((index + 1)...)
                break
            }
            index += 1
        }
    }

    /// Loads the newest producer snapshot at or below the log end and replays the batch headers
    /// after it; removes snapshots that lie beyond the log end.
    func reloadProducerState(report: inout RecoveryReport) throws {
        try ProducerStateSnapshots.removeAbove(logEndOffset, directory: directory, fileSystem: fileSystem)
        let loaded = try ProducerStateSnapshots.loadLatest(atOrBelow: logEndOffset, directory: directory, fileSystem: fileSystem)
        var table = loaded?.table ?? ProducerStateTable()
        let replayFrom = max(loaded?.offset ?? logStartOffset, logStartOffset)
        report.producerSnapshotOffset = loaded?.offset
        for segment in segments[segmentIndex(containing: replayFrom)...] {
            var scanner = BatchScanner(file: segment.logFile, from: 0, to: segment.size, verifyChecksums: false)
            while case .batch(let header, _) = try scanner.next() {
                if header.baseOffset >= replayFrom {
                    table.update(with: header, appendTime: header.maxTimestamp)
                }
            }
        }
        producerStateTable = table
    }
}
