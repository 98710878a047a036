import Foundation
import NIOCore
import RillFormat
import Testing
@testable import RillStorage

@Suite struct RecoveryTests {
    @Test func aTornTailIsCutCleanlyAndEverythingSyncedSurvives() throws {
        let directory = TemporaryDirectory()
        var log = try PartitionLog.open(directory: directory.path, fileSystem: POSIXFileSystem(), now: t0)
        for index in 0..<10 { try log.append([TestRecord("k\(index)", "value-\(index)")]) }
        try log.sync()
        let path = SegmentFiles.logPath(directory.path, .zero)
        let goodSize = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        // Half a batch of garbage after the last good batch, as a crash mid-write leaves it.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(try makeBatch([TestRecord("torn", "tail")]).readableBytesView.prefix(40)))
        try handle.close()
        log = try PartitionLog.open(directory: directory.path, fileSystem: POSIXFileSystem(), now: t0)
        #expect(log.logEndOffset == Offset(10))
        #expect(log.recoveryReport.truncation?.position == Int64(goodSize))
        #expect(log.recoveryReport.truncation?.truncatedBytes == 40)
        #expect(try log.allRecords().count == 10)
        // And the log accepts appends right after the cut.
        try log.append([TestRecord("after", "recovery")])
        #expect(try log.allRecords().last?.offset == 10)
    }

    @Test func aCorruptBatchBelowTheRecoveryPointIsReportedAndNeverServed() throws {
        let fileSystem = SimulatedFileSystem()
        var log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, configuration: configuration(["segment.bytes": "400"]), now: t0)
        for index in 0..<12 { try log.append([TestRecord("k\(index)", String(repeating: "v", count: 60))]) }
        try log.close()
        #expect(log.segmentBaseOffsets.count >= 3)
        let firstSegment = SegmentFiles.logPath("/p", .zero)
        let batchSize = try RecordBatch(validating: ByteBuffer(bytes: fileSystem.contents(of: firstSegment)!)).header.totalSize
        // Flip a byte inside the second batch's records.
        fileSystem.corrupt(path: firstSegment, at: Int64(batchSize + 70))
        log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, now: t0)
        #expect(log.logEndOffset == Offset(12))
        // The first batch is served; reading on stops before the corrupt one.
        let batches = try log.readBatches(from: .zero, maximumBytes: 1 << 20)
        #expect(batches.count == 1)
        do {
            _ = try log.read(from: Offset(1), maximumBytes: 1 << 20)
            Issue.record("a corrupt batch was served")
        } catch let error as StorageError {
            #expect(error.code == .corruptSegment)
            #expect(error.path == firstSegment)
            #expect(error.position == Int64(batchSize))
        }
        #expect(log.corruptionReports.first?.position == Int64(batchSize))
        // The batch after it in the same segment is served to a reader that asks for it (the
        // corrupt batch's header still parses, so it can be stepped over), and never with it.
        let third = try log.readBatches(from: Offset(2), maximumBytes: 1 << 20)
        #expect(third.first?.header.baseOffset == Offset(2))
        #expect(third.allSatisfy { $0.header.baseOffset != Offset(1) })
        // Later segments are unaffected.
        #expect(try log.readBatches(from: log.segmentBaseOffsets[1]).count > 0)
    }

    @Test func recoveryWithoutAnyCheckpointValidatesEverything() throws {
        let fileSystem = SimulatedFileSystem()
        let log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, configuration: configuration(["segment.bytes": "300"]), now: t0)
        for index in 0..<30 { try log.append([TestRecord("k\(index)", "v\(index)")], compression: index % 2 == 0 ? .snappy : .none) }
        try log.sync()
        for name in try fileSystem.contentsOfDirectory(at: "/p") where !name.hasSuffix(".log") {
            try fileSystem.removeFile(at: "/p/" + name)  // no checkpoints, no indexes, no snapshots
        }
        let recovered = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, now: t0)
        #expect(recovered.recoveryReport.recoveryPointCheckpoint == nil)
        #expect(recovered.recoveryReport.recoveredSegmentCount == log.segmentBaseOffsets.count)
        #expect(try recovered.allRecords().map(\.record.value) == (0..<30).map { "v\($0)" })
        #expect(try recovered.offset(forTimestamp: Timestamp(milliseconds: 1_000))?.offset == Offset(0))
    }

    @Test func randomBytesAsSegmentFilesNeverCrashAndServeNothingInvalid() throws {
        var generator = SplitMix64(seed: 11)
        for round in 0..<200 {
            let fileSystem = SimulatedFileSystem()
            try fileSystem.createDirectory(at: "/p")
            var bytes = (0..<Int.random(in: 0...2000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if round % 3 == 0 {
                // A valid batch first, then garbage, so the cut lands mid-file.
                bytes = Array(try makeBatch([TestRecord("a", "b")]).readableBytesView) + bytes
            }
            if round % 5 == 0, bytes.count > 20 { bytes.replaceSubrange(8..<12, with: [0x7F, 0xFF, 0xFF, 0xFF]) }
            let file = try fileSystem.openFile(at: "/p/00000000000000000000.log", create: true)
            try bytes.withUnsafeBytes { try file.write($0, at: 0) }
            if round % 2 == 0 {
                let index = try fileSystem.openFile(at: "/p/00000000000000000000.index", create: true)
                try Array(bytes.prefix(64)).withUnsafeBytes { try index.write($0, at: 0) }
            }
            let log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, now: t0)
            for stored in try log.allRecords() { #expect(stored.offset >= 0) }
            try log.append([TestRecord("still", "works")])
        }
    }

    @Test func anInterruptedCompactionSwapIsCompletedOnOpen() throws {
        let fileSystem = SimulatedFileSystem()
        let log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, configuration: configuration(["segment.bytes": "200"]), now: t0)
        for index in 0..<6 { try log.append([TestRecord("k\(index % 2)", "v\(index)")]) }
        try log.close()
        // A complete cleaned copy of segment 0 holding only its first batch, left as .swap.
        let segmentPath = SegmentFiles.logPath("/p", .zero)
        let original = fileSystem.contents(of: segmentPath)!
        let firstBatch = try RecordBatch(validating: ByteBuffer(bytes: original)).header.totalSize
        let swap = try fileSystem.openFile(at: segmentPath + ".swap", create: true)
        try Array(original.prefix(firstBatch)).withUnsafeBytes { try swap.write($0, at: 0) }
        try swap.sync()
        let leftover = try fileSystem.openFile(at: SegmentFiles.logPath("/p", Offset(2)) + ".cleaned", create: true)
        try [1, 2, 3].withUnsafeBytes { try leftover.write($0, at: 0) }
        let reopened = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, now: t0)
        #expect(reopened.recoveryReport.completedSwaps == 1)
        #expect(reopened.recoveryReport.removedTemporaryFiles == 1)
        #expect(fileSystem.contents(of: segmentPath) == Array(original.prefix(firstBatch)))
        #expect(!fileSystem.fileExists(at: SegmentFiles.logPath("/p", Offset(2)) + ".cleaned"))
    }
}
