import Foundation
import NIOCore
import RillFormat
import Testing
@testable import RillStorage

@Suite struct RetentionTests {
    @Test func retentionMsDeletesWholeSegmentsOlderThanTheLimit() throws {
        let log = try PartitionLog.open(directory: "/p", fileSystem: SimulatedFileSystem(),
                                        configuration: configuration(["segment.bytes": "150", "retention.ms": "1000"]), now: t0)
        for index in 0..<10 { try log.append([TestRecord("k", "v\(index)", timestamp: Int64(index) * 1_000)]) }
        let segmentsBefore = log.segmentBaseOffsets.count
        let removed = try log.applyRetention(now: Timestamp(milliseconds: 7_500))
        #expect(removed > 0 && removed < segmentsBefore)
        #expect(try log.allRecords().allSatisfy { $0.record.timestamp >= 5_000 || $0.offset >= log.logStartOffset.rawValue })
        #expect(try log.allRecords().first?.record.timestamp ?? 0 <= 6_500)
        // When everything has expired, the log keeps its end offset with a fresh empty segment.
        try log.applyRetention(now: Timestamp(milliseconds: 100_000))
        #expect(log.logStartOffset == Offset(10) && log.logEndOffset == Offset(10))
        #expect(try log.allRecords().isEmpty)
        try log.append([TestRecord("k", "after")])
        #expect(try log.allRecords().map(\.offset) == [10])
    }

    @Test func retentionBytesKeepsTheLogUnderTheLimit() throws {
        let log = try PartitionLog.open(directory: "/p", fileSystem: SimulatedFileSystem(),
                                        configuration: configuration(["segment.bytes": "200", "retention.bytes": "450"]), now: t0)
        for index in 0..<20 { try log.append([TestRecord("k", "value-\(index)")]) }
        try log.applyRetention(now: t0)
        #expect(log.sizeInBytes <= 450 + 200)
        #expect(log.logStartOffset > .zero)
        #expect(try log.allRecords().last?.record.value == "value-19")
    }

    @Test func retentionNeverRemovesRecordsAtOrAboveTheHighWatermark() throws {
        let log = try PartitionLog.open(directory: "/p", fileSystem: SimulatedFileSystem(),
                                        configuration: configuration(["segment.bytes": "100", "retention.ms": "0"]), now: t0)
        for index in 0..<5 { try log.append([TestRecord("k", "v\(index)", timestamp: 0)]) }
        log.updateHighWatermark(Offset(2))
        try log.applyRetention(now: Timestamp(milliseconds: 1_000_000))
        #expect(log.logStartOffset <= Offset(2))
        #expect(try log.allRecords().map(\.offset).contains(2))
    }

    @Test func deleteRecordsMovesTheLogStartAndSurvivesRestart() throws {
        let fileSystem = SimulatedFileSystem()
        var log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, configuration: configuration(["segment.bytes": "150"]), now: t0)
        for index in 0..<10 { try log.append([TestRecord("k", "v\(index)")]) }
        #expect(try log.deleteRecords(before: Offset(7)) == Offset(7))
        #expect(try log.allRecords().map(\.offset) == [7, 8, 9])
        #expect(throws: StorageError.self) { try log.deleteRecords(before: Offset(11)) }
        try log.close()
        log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, now: t0)
        #expect(log.logStartOffset == Offset(7))
        #expect(try log.allRecords().map(\.offset) == [7, 8, 9])
    }

    @Test func deferredRemovalRenamesRemovedSegmentsAndRecoveryDeletesWhatACrashLeft() throws {
        let fileSystem = SimulatedFileSystem()
        // No spare files kept (below): every removed file is handed over.
        var log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, configuration: configuration(["segment.bytes": "150", "file.delete.delay.ms": "0"]), now: t0)
        var handedOver: [[String]] = []
        log.deferredFileRemoval = { handedOver.append($0) }
        for index in 0..<10 { try log.append([TestRecord("k", "v\(index)")]) }
        let bases = log.segmentBaseOffsets
        // deleteRecords removes the segments whose successor starts at or below 7.
        let removedBases = bases.indices.dropLast().filter { bases[$0 + 1] <= Offset(7) }.map { bases[$0] }
        #expect(!removedBases.isEmpty)
        try log.deleteRecords(before: Offset(7))
        // Renamed on this thread, unlinked by whoever took the paths: nothing unlinked yet.
        let expected = removedBases.flatMap { base in
            [SegmentFiles.logPath("/p", base), SegmentFiles.offsetIndexPath("/p", base), SegmentFiles.timeIndexPath("/p", base)].map { $0 + SegmentFiles.deletedSuffix }
        }
        #expect(handedOver.count == 1)
        #expect(Set(handedOver.joined()).isSuperset(of: removedBases.map { SegmentFiles.logPath("/p", $0) + SegmentFiles.deletedSuffix }))
        #expect(Set(handedOver.joined()).isSubset(of: Set(expected)))
        for path in handedOver.joined() { #expect(fileSystem.fileExists(at: path)) }
        for base in removedBases { #expect(!fileSystem.fileExists(at: SegmentFiles.logPath("/p", base))) }
        #expect(try log.allRecords().map(\.offset) == [7, 8, 9])
        // A crash before the files were unlinked: recovery removes them and loads none of them.
        try log.sync()
        var generator = SplitMix64(seed: 3)
        fileSystem.crash(mode: .loseAllUnsynced, using: &generator)
        log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, now: t0)
        for path in handedOver.joined() { #expect(!fileSystem.fileExists(at: path)) }
        #expect(log.recoveryReport.removedTemporaryFiles == handedOver.joined().count)
        #expect(log.logStartOffset == Offset(7))
        #expect(try log.allRecords().map(\.offset) == [7, 8, 9])
    }

    /// A log whose first segments deleteRecords removed, with two of their log files kept as spares.
    func logWithSpares(_ fileSystem: SimulatedFileSystem, handedOver: Box<[String]>) throws -> PartitionLog {
        let log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, configuration: configuration(["segment.bytes": "150"]), now: t0)
        log.deferredFileRemoval = { handedOver.value += $0 }
        for index in 0..<10 { try log.append([TestRecord("k", "v\(index)")]) }
        try log.deleteRecords(before: Offset(7))
        return log
    }

    @Test func removedSegmentsLogFilesBecomeTheNextSegmentsFiles() throws {
        let fileSystem = SimulatedFileSystem()
        let handedOver = Box<[String]>([])
        var log = try logWithSpares(fileSystem, handedOver: handedOver)
        // Two of the removed log files wait as spares; the rest, and every index, were handed over.
        let spares = log.spareLogFiles.map(\.path)
        #expect(spares.count == PartitionLog.spareLogFileLimit)
        for path in spares { #expect(fileSystem.fileExists(at: path) && !handedOver.value.contains(path)) }
        #expect(handedOver.value.contains { $0.hasSuffix(".log" + SegmentFiles.deletedSuffix) })
        // The next roll renames the first spare to the new segment's name, old bytes and all.
        let spareBytes = fileSystem.contents(of: spares[0])!.count
        try log.roll()
        let active = SegmentFiles.logPath("/p", log.logEndOffset)
        #expect(!fileSystem.fileExists(at: spares[0]) && log.spareLogFiles.map(\.path) == [spares[1]])
        #expect(fileSystem.contents(of: active)!.count == spareBytes)
        // Appends overwrite from the start; reads stop at the last batch, never reaching old bytes.
        try log.append([TestRecord("k", "new")])
        #expect(fileSystem.contents(of: active)!.count == spareBytes)
        #expect(try log.allRecords().map(\.record.value) == ["v7", "v8", "v9", "new"])
        // Rolling on cuts the old bytes off: a segment that is no longer active ends at its last batch.
        try log.roll()
        #expect(fileSystem.contents(of: active)!.count < spareBytes)
        try log.append([TestRecord("k", "newer")])
        // A clean close cuts the active file too and removes the spares: reopened, nothing is recovered or cut.
        try log.close()
        #expect(!fileSystem.fileExists(at: spares[1]))
        log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, now: t0)
        #expect(log.recoveryReport.truncation == nil)
        #expect(try log.allRecords().map(\.record.value) == ["v7", "v8", "v9", "new", "newer"])
    }

    @Test func recoveryCutsAReusedFilesOldBytesAfterACrash() throws {
        let fileSystem = SimulatedFileSystem()
        var log = try logWithSpares(fileSystem, handedOver: Box([]))
        try log.roll()
        // A batch the size of the file's old ones, so the old bytes after it start at a batch:
        // recovery reads its offsets and says where they came from.
        try log.append([TestRecord("k", "vN")])
        try log.sync()
        var generator = SplitMix64(seed: 5)
        fileSystem.crash(mode: .loseAllUnsynced, using: &generator)
        log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, now: t0)
        #expect(try log.allRecords().map(\.record.value) == ["v7", "v8", "v9", "vN"])
        let truncation = try #require(log.recoveryReport.truncation)
        #expect(truncation.reason.contains("former segment"), "\(truncation.reason)")
        try log.append([TestRecord("k", "after")])
        #expect(try log.allRecords().map(\.record.value) == ["v7", "v8", "v9", "vN", "after"])
    }

    @Test func aSpareThatAReaderStillHoldsIsNotReused() throws {
        let fileSystem = SimulatedFileSystem()
        let log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, configuration: configuration(["segment.bytes": "150"]), now: t0)
        for index in 0..<10 { try log.append([TestRecord("k", "v\(index)")]) }
        // A fetch holds a slice of the first segment (as a pending sendfile would) while it is removed.
        var held = try #require(try log.read(from: .zero, maximumBytes: 1000).slice) as FileSlice?
        let heldBytes = try held?.read()
        try log.deleteRecords(before: Offset(7))
        let spares = log.spareLogFiles.map(\.path)
        try log.roll()
        // The held file stays a spare, byte for byte; the other one was taken.
        #expect(log.spareLogFiles.map(\.path) == [spares[0]])
        #expect(try held?.read() == heldBytes)
        try log.append([TestRecord("k", "new")])
        try log.roll()
        #expect(log.spareLogFiles.map(\.path) == [spares[0]] && fileSystem.fileExists(at: spares[0]))
        #expect(try held?.read() == heldBytes)
        // Once the reader lets go, the next roll takes it.
        held = nil
        try log.append([TestRecord("k", "newer")])
        try log.roll()
        #expect(log.spareLogFiles.isEmpty && !fileSystem.fileExists(at: spares[0]))
        #expect(try log.allRecords().map(\.record.value) == ["v7", "v8", "v9", "new", "newer"])
    }

    /// On a real file system: the new segment's file is the removed one's inode, and a file a
    /// reader holds open is not reused until the reader closes it.
    @Test func aReusedFileIsTheSameInodeOnDisk() throws {
        let directory = TemporaryDirectory()
        let log = try PartitionLog.open(directory: directory.path, fileSystem: POSIXFileSystem(), configuration: configuration(["segment.bytes": "150"]), now: t0)
        for index in 0..<10 { try log.append([TestRecord("k", "v\(index)")]) }
        func inode(_ path: String) -> UInt64? {
            var status = stat()
            return stat(path, &status) == 0 ? UInt64(status.st_ino) : nil
        }
        var held = try log.read(from: .zero, maximumBytes: 1000).slice
        let heldBytes = try held?.read()
        try log.deleteRecords(before: Offset(7))
        let spares = log.spareLogFiles.map(\.path)
        let spareInodes = spares.map(inode)
        try log.roll()
        // The first spare is held open by the slice: the second one became the new segment.
        #expect(inode(SegmentFiles.logPath(directory.path, log.logEndOffset)) == spareInodes[1])
        #expect(try held?.read() == heldBytes)
        held = nil
        try log.append([TestRecord("k", "new")])
        try log.roll()
        #expect(inode(SegmentFiles.logPath(directory.path, log.logEndOffset)) == spareInodes[0])
        try log.append([TestRecord("k", "newer")])
        #expect(try log.allRecords().map(\.record.value) == ["v7", "v8", "v9", "new", "newer"])
    }

    /// `rill dump-log`'s reader stops where a reused file's old batches begin and says so.
    @Test func theSegmentFileReaderStopsAtAReusedFilesOldBatches() throws {
        let directory = TemporaryDirectory()
        let log = try PartitionLog.open(directory: directory.path, fileSystem: POSIXFileSystem(), configuration: configuration(["segment.bytes": "150"]), now: t0)
        for index in 0..<10 { try log.append([TestRecord("k", "v\(index)")]) }
        try log.deleteRecords(before: Offset(7))
        try log.roll()
        try log.append([TestRecord("k", "vN")])
        var reader = try SegmentFileReader(path: SegmentFiles.logPath(directory.path, log.logEndOffset - 1))
        guard case .batch(let header, _, _, nil) = try reader.next() else { Issue.record("no valid first batch"); return }
        #expect(header.baseOffset == log.logEndOffset - 1)
        guard case .unreadable(_, let remaining, let problem) = try reader.next() else { Issue.record("the old batches were not reported"); return }
        #expect(remaining > 0 && problem.message.contains("former segment"))
        #expect(try reader.next() == nil)
    }

    @Test func sparesAreUnlinkedAfterFileDeleteDelay() throws {
        let fileSystem = SimulatedFileSystem()
        let handedOver = Box<[String]>([])
        let log = try logWithSpares(fileSystem, handedOver: handedOver)
        let spares = log.spareLogFiles.map(\.path)
        try log.tick(now: Timestamp(milliseconds: 10_000))
        try log.tick(now: Timestamp(milliseconds: 69_999))
        #expect(log.spareLogFiles.count == 2)
        try log.tick(now: Timestamp(milliseconds: 70_000))
        #expect(log.spareLogFiles.isEmpty)
        #expect(Set(spares).isSubset(of: handedOver.value))
    }

    @Test func truncateRemovesTheTailAndTheLogContinuesFromThere() throws {
        let fileSystem = SimulatedFileSystem()
        let log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, configuration: configuration(["segment.bytes": "150"]), now: t0)
        for index in 0..<10 { try log.append([TestRecord("k", "v\(index)")]) }
        try log.sync()
        try log.truncate(to: Offset(4))
        #expect(log.logEndOffset == Offset(4))
        #expect(try log.allRecords().map(\.record.value) == ["v0", "v1", "v2", "v3"])
        try log.append([TestRecord("k", "new")])
        #expect(try log.allRecords().map(\.record.value) == ["v0", "v1", "v2", "v3", "new"])
        var generator = SplitMix64(seed: 1)
        fileSystem.crash(mode: .loseAllUnsynced, using: &generator)
        let reopened = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, now: t0)
        // The truncation itself was durable: v4... never come back.
        #expect(try reopened.allRecords().map(\.record.value).prefix(4) == ["v0", "v1", "v2", "v3"])
        #expect(try !reopened.allRecords().map(\.record.value).contains("v4"))
    }
}

@Suite struct CompactionTests {
    func compactedLog() throws -> (PartitionLog, SimulatedFileSystem) {
        let fileSystem = SimulatedFileSystem()
        let log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, configuration: configuration([
            "segment.bytes": "250", "cleanup.policy": "compact", "delete.retention.ms": "100",
        ]), now: t0)
        return (log, fileSystem)
    }

    @Test func keepsTheLatestRecordPerKeyWithOffsetsUnchanged() throws {
        let (log, _) = try compactedLog()
        var expectedLatest: [String: StoredRecord] = [:]
        for index in 0..<40 {
            let key = "key-\(index % 5)"
            try log.append([TestRecord(key, "v\(index)")], compression: index % 3 == 0 ? .gzip : .none)
            expectedLatest[key] = StoredRecord(offset: Int64(index), record: TestRecord(key, "v\(index)"))
        }
        let before = try log.allRecords()
        let statistics = try log.clean(now: t0)
        #expect(statistics.recordsRemoved > 0)
        let after = try log.allRecords()
        // Offsets strictly increase (never reordered) and every kept record is unchanged.
        #expect(after.map(\.offset) == after.map(\.offset).sorted())
        #expect(Set(after).isSubset(of: Set(before)))
        // In the cleaned part, only each key's latest record remains.
        let activeBase = log.segmentBaseOffsets.last!.rawValue
        let cleanedPart = after.filter { $0.offset < activeBase }
        for stored in cleanedPart {
            let latestInCleanable = before.filter { $0.record.key == stored.record.key && $0.offset < activeBase }.map(\.offset).max()
            #expect(stored.offset == latestInCleanable)
        }
        // Every key still reads back to its latest value overall.
        var seen: [String: String] = [:]
        for stored in after { seen[stored.record.key!] = stored.record.value }
        #expect(seen == expectedLatest.mapValues { $0.record.value! })
    }

    @Test func tombstonesGetADeleteHorizonThenGoAfterIt() throws {
        let (log, _) = try compactedLog()
        try log.append([TestRecord("gone", "1")])
        try log.append([TestRecord("gone", nil)])  // tombstone
        for index in 0..<20 { try log.append([TestRecord("other", "v\(index)")]) }
        try log.clean(now: Timestamp(milliseconds: 5_000))
        var records = try log.allRecords()
        #expect(records.contains { $0.record.key == "gone" && $0.record.value == nil })
        #expect(!records.contains { $0.record.key == "gone" && $0.record.value == "1" })
        // Before the horizon (5_000 + 100) the tombstone stays; after it, it goes.
        try log.clean(now: Timestamp(milliseconds: 5_050))
        #expect(try log.allRecords().contains { $0.record.key == "gone" })
        let statistics = try log.clean(now: Timestamp(milliseconds: 5_100))
        #expect(statistics.tombstonesRemoved == 1)
        records = try log.allRecords()
        #expect(!records.contains { $0.record.key == "gone" })
    }

    @Test func compactionPreservesProducerFieldsAndTheLastOffsetDelta() throws {
        let (log, _) = try compactedLog()
        let batch = try makeBatch([TestRecord("a", "1"), TestRecord("b", "2"), TestRecord("a", "3")], producerID: 9, producerEpoch: 2, baseSequence: 0)
        try log.append(batch, now: t0)
        for index in 0..<10 { try log.append([TestRecord("b", "later-\(index)")]) }
        log.updateHighWatermark(log.logEndOffset)
        try log.clean(now: t0)
        let first = try #require(try log.readBatches(from: .zero).first)
        #expect(first.header.baseOffset == .zero)
        #expect(first.header.lastOffsetDelta == 2)
        #expect(first.header.producerID == ProducerID(9))
        #expect(first.header.baseSequence == SequenceNumber(0))
        #expect(try first.records().map { String(buffer: $0.value!) } == ["3"])
        #expect(try first.records().map(\.offsetDelta) == [2])
    }

    @Test func aReplacementIsDiscardedWhenItsSegmentChangedWhileCleaningRan() throws {
        let (log, fileSystem) = try compactedLog()
        for index in 0..<30 { try log.append([TestRecord("k\(index % 3)", "v\(index)")]) }
        let plan = try #require(try log.prepareCleaning(now: t0))
        let result = try plan.execute()  // as on a background thread
        #expect(result.statistics.cleanedSegments > 0)
        let before = try log.allRecords()
        try log.truncate(to: Offset(2))  // the cleaned segments are gone now
        try log.completeCleaning(result)
        #expect(try log.allRecords() == Array(before.prefix { $0.offset < 2 }))
        let leftovers = try fileSystem.contentsOfDirectory(at: "/p").filter { $0.hasSuffix(".cleaned") || $0.hasSuffix(".swap") }
        #expect(leftovers.isEmpty)
    }
}
