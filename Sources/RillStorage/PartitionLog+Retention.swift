import RillFormat

extension PartitionLog {
    /// Moves the log start offset up to `offset` (Kafka's DeleteRecords) and removes segments
    /// that lie wholly below it. `offset` may not pass the high watermark.
    /// Returns the new log start offset.
    @discardableResult
    public func deleteRecords(before offset: Offset) throws -> Offset {
        try checkWritable()
        guard offset <= highWatermark else {
            throw StorageError(.offsetOutOfRange, "cannot delete records up to \(offset), past the high watermark \(highWatermark)", path: directory)
        }
        guard offset > logStartOffset else { return logStartOffset }
        logStartOffset = offset
        try deleteLeadingSegments { segment, next in next.map { $0.baseOffset <= offset } ?? false }
        try afterLogStartMoved()
        return logStartOffset
    }

    /// Applies `retention.ms` and `retention.bytes` (when `cleanup.policy` includes delete):
    /// removes the oldest segments whose newest record is too old, then the oldest while the
    /// log is too large. Only data below the high watermark is ever removed. If every segment
    /// goes, a new empty active segment takes over at the log end. Returns segments removed.
    @discardableResult
    public func applyRetention(now: Timestamp) throws -> Int {
        try checkWritable()
        guard configuration.cleanupPolicy.contains(.delete) else { return 0 }
        var removed = 0
        if configuration.retentionMilliseconds >= 0 {
            let limit = configuration.retentionMilliseconds
            removed += try deleteLeadingSegments { segment, _ in
                now.milliseconds - segment.largestTimestamp.milliseconds > limit
            }
        }
        if configuration.retentionBytes >= 0 {
            var excess = sizeInBytes - configuration.retentionBytes
            removed += try deleteLeadingSegments { segment, _ in
                guard excess - segment.size >= 0 else { return false }
                excess -= segment.size
                return true
            }
        }
        if removed > 0 { try afterLogStartMoved() }
        return removed
    }

    /// Removes the longest prefix of segments for which `shouldDelete(segment, nextSegment)`
    /// holds and whose records are all below the high watermark. Rolls first when that would
    /// remove the active segment.
    @discardableResult
    func deleteLeadingSegments(_ shouldDelete: (Segment, Segment?) -> Bool) throws -> Int {
        var count = 0
        while count < segments.count {
            let segment = segments[count]
            let next = count + 1 < segments.count ? segments[count + 1] : nil
            guard segment.nextOffset <= highWatermark, shouldDelete(segment, next) else { break }
            count += 1
        }
        guard count > 0 else { return 0 }
        if count == segments.count {
            // Every segment goes: start a fresh active segment at the log end first.
            if activeSegment.isEmpty { count -= 1 } else { try roll() }
        }
        var renamed: [String] = []
        for segment in segments[..<count] {
            if configuration.fileDeleteDelayMilliseconds > 0 && spareLogFiles.count < Self.spareLogFileLimit {
                let paths = try segment.renameForDeletion()
                spareLogFiles.append(SpareLogFile(path: paths[0], file: segment.logFile))
                renamed += paths.dropFirst()
            } else if deferredFileRemoval != nil {
                renamed += try segment.renameForDeletion()
            } else {
                try segment.delete()
            }
        }
        segments.removeFirst(count)
        try fileSystem.syncDirectory(at: directory)
        logStartOffset = max(logStartOffset, segments[0].baseOffset)
        try removeFiles(renamed)
        return count
    }

    /// Keeps the checkpoints, epoch cache and snapshots in step with a new log start offset.
    func afterLogStartMoved() throws {
        leaderEpochCache.truncateFromStart(logStartOffset)
        try leaderEpochCache.write(to: directory, fileSystem: fileSystem)
        try ProducerStateSnapshots.removeBelow(segments[0].baseOffset, directory: directory, fileSystem: fileSystem)
        try writeLogStartOffsetCheckpoint()
    }

    /// Removes every record at or after `offset`, so the log end becomes `offset` — or the start
    /// of the batch holding it, since batches are never split. When compaction left a gap before
    /// `offset`, the log end is still `offset` (as in Kafka): an empty segment starts there, so
    /// offsets below it are never handed out twice. Replication uses this to cut a follower back
    /// to its leader's log. Durable when it returns.
    public func truncate(to offset: Offset) throws {
        try checkWritable()
        guard offset < logEndOffset else { return }
        if offset <= max(segments[0].baseOffset, logStartOffset) {
            // Nothing readable survives: start over with an empty log at `offset`.
            for segment in segments { try segment.delete() }
            segments = [try Segment.create(directory: directory, baseOffset: offset, fileSystem: fileSystem, now: nil)]
            logStartOffset = offset
            try writeLogStartOffsetCheckpoint()
        } else {
            while segments.count > 1, activeSegment.baseOffset >= offset {
                try segments.removeLast().delete()
            }
            // Cutting a whole batch may reach below the log start; the end never goes there.
            let newEnd = max(min(try activeSegment.truncate(to: offset) ?? offset, offset), logStartOffset)
            if activeSegment.nextOffset < newEnd {
                try activeSegment.closeForAppends()
                segments.append(try Segment.create(directory: directory, baseOffset: newEnd, fileSystem: fileSystem, now: nil))
            }
        }
        // A truncation must not be undone by a crash (removed records would come back), and
        // data must become durable in log order: sync everything, not just the cut segment.
        try sync()
        try fileSystem.syncDirectory(at: directory)
        highWatermark = min(highWatermark, logEndOffset)
        // Recovery must start at the new end: a segment may now follow a gap.
        try writeRecoveryPointCheckpoint()
        leaderEpochCache.truncateFromEnd(logEndOffset)
        try leaderEpochCache.write(to: directory, fileSystem: fileSystem)
        var report = RecoveryReport()
        try reloadProducerState(report: &report)
    }
}
