import Foundation
import NIOCore
import RillFormat
import Testing
@testable import RillStorage

@Suite struct PartitionLogTests {
    @Test func appendAssignsOffsetsInPlaceAndReadsThemBack() throws {
        let directory = TemporaryDirectory()
        let log = try PartitionLog.open(directory: directory.path, fileSystem: POSIXFileSystem(), now: t0)
        let first = try log.append([TestRecord("a", "1"), TestRecord("b", "2")])
        let second = try log.append([TestRecord("c", "3")], compression: .lz4)
        #expect(first.firstOffset == Offset(0) && first.lastOffset == Offset(1))
        #expect(second.firstOffset == Offset(2) && second.lastOffset == Offset(2))
        #expect(log.logEndOffset == Offset(3))
        let records = try log.allRecords()
        #expect(records.map(\.offset) == [0, 1, 2])
        #expect(records.map(\.record.value) == ["1", "2", "3"])
        // Reading from the middle of a batch returns the whole batch it is in.
        let slice = try #require(try log.read(from: Offset(1), maximumBytes: 10_000).slice)
        let batch = try RecordBatch(validating: try slice.read())
        #expect(batch.header.baseOffset == Offset(0))
    }

    @Test func segmentsAreNamedByBaseOffsetAndRollAtSegmentBytes() throws {
        let directory = TemporaryDirectory()
        let log = try PartitionLog.open(directory: directory.path, fileSystem: POSIXFileSystem(),
                                        configuration: configuration(["segment.bytes": "300"]), now: t0)
        for index in 0..<20 { try log.append([TestRecord("k\(index)", String(repeating: "v", count: 50))]) }
        #expect(log.segmentBaseOffsets.count > 3)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        for base in log.segmentBaseOffsets {
            let stem = SegmentFiles.name(for: base)
            #expect(stem.count == 20)
            #expect(names.contains(stem + ".log"))
            #expect(names.contains(stem + ".index"))
            #expect(names.contains(stem + ".timeindex"))
        }
        #expect(try log.allRecords(maximumBytesPerRead: 1).map(\.offset) == Array(0..<20))
    }

    @Test func rollsWhenTheSegmentIsOlderThanSegmentMs() throws {
        let log = try PartitionLog.open(directory: "/p", fileSystem: SimulatedFileSystem(),
                                        configuration: configuration(["segment.ms": "100"]), now: t0)
        try log.append([TestRecord("a", "1")], now: 1_000)
        try log.append([TestRecord("a", "2")], now: 1_050)
        #expect(log.segmentBaseOffsets == [Offset(0)])
        try log.append([TestRecord("a", "3")], now: 1_100)
        #expect(log.segmentBaseOffsets == [Offset(0), Offset(2)])
    }

    @Test func readRespectsMaximumBytesButAlwaysReturnsTheFirstBatchWhole() throws {
        let log = try PartitionLog.open(directory: "/p", fileSystem: SimulatedFileSystem(), now: t0)
        for index in 0..<5 { try log.append([TestRecord("k", String(repeating: "x", count: 100 + index))]) }
        let small = try log.read(from: Offset(0), maximumBytes: 10)
        let firstBatchSize = try RecordBatch(validating: try small.slice!.read()).header.totalSize
        #expect(small.slice?.length == firstBatchSize)
        let none = try log.read(from: Offset(0), maximumBytes: 10, includeFirstBatchWhole: false)
        #expect(none.slice?.length == 10)
        let bounded = try log.read(from: Offset(0), maximumBytes: 1 << 20, upperBound: Offset(2))
        #expect(try log.readBatches(from: Offset(0), upperBound: Offset(2)).count == 2)
        #expect(bounded.slice!.length < (try log.read(from: Offset(0), maximumBytes: 1 << 20).slice!.length))
    }

    @Test func readingOutsideTheLogIsOffsetOutOfRange() throws {
        let log = try PartitionLog.open(directory: "/p", fileSystem: SimulatedFileSystem(), now: t0)
        try log.append([TestRecord("a", "1")])
        #expect(try log.read(from: Offset(1), maximumBytes: 100).slice == nil)
        #expect(throws: StorageError.self) { try log.read(from: Offset(2), maximumBytes: 100) }
        try log.deleteRecords(before: Offset(1))
        #expect(throws: StorageError.self) { try log.read(from: Offset(0), maximumBytes: 100) }
    }

    @Test func oversizedAndCorruptBatchesAreRejectedWithoutWritingAnything() throws {
        let fileSystem = SimulatedFileSystem()
        let log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, configuration: configuration(["max.message.bytes": "200"]), now: t0)
        let big = try makeBatch([TestRecord("k", String(repeating: "x", count: 300))])
        #expect(throws: StorageError.self) { try log.append(big, now: t0) }
        var corrupt = try makeBatch([TestRecord("k", "v")])
        corrupt.setInteger(UInt8(0xAA), at: corrupt.writerIndex - 1)
        #expect(throws: StorageError.self) { try log.append(corrupt, now: t0) }
        let empty = ByteBuffer()
        #expect(throws: StorageError.self) { try log.append(empty, now: t0) }
        // A valid batch followed by garbage: nothing of the request is appended.
        var mixed = try makeBatch([TestRecord("k", "v")])
        mixed.writeBytes([1, 2, 3])
        #expect(throws: StorageError.self) { try log.append(mixed, now: t0) }
        #expect(log.logEndOffset == Offset(0))
        #expect(fileSystem.contents(of: "/p/00000000000000000000.log") == [])
    }

    @Test func offsetForTimestampFindsTheFirstRecordAtOrAfterIt() throws {
        let log = try PartitionLog.open(directory: "/p", fileSystem: SimulatedFileSystem(),
                                        configuration: configuration(["segment.bytes": "200", "index.interval.bytes": "1"]), now: t0)
        // Timestamps out of order inside and across batches, as producers may write them.
        try log.append([TestRecord("a", "1", timestamp: 100), TestRecord("b", "2", timestamp: 90)])
        try log.append([TestRecord("c", "3", timestamp: 300)], compression: .zstd)
        try log.append([TestRecord("d", "4", timestamp: 200), TestRecord("e", "5", timestamp: 400)])
        try log.append([TestRecord("f", "6", timestamp: 250)])
        #expect(try log.offset(forTimestamp: Timestamp(milliseconds: 50))?.offset == Offset(0))
        #expect(try log.offset(forTimestamp: Timestamp(milliseconds: 95))?.offset == Offset(0))
        #expect(try log.offset(forTimestamp: Timestamp(milliseconds: 101))?.offset == Offset(2))
        #expect(try log.offset(forTimestamp: Timestamp(milliseconds: 201))?.offset == Offset(2))
        #expect(try log.offset(forTimestamp: Timestamp(milliseconds: 301))?.offset == Offset(4))
        #expect(try log.offset(forTimestamp: Timestamp(milliseconds: 400)) ?? (Offset.none, .none) == (Offset(4), Timestamp(milliseconds: 400)))
        #expect(try log.offset(forTimestamp: Timestamp(milliseconds: 401)) == nil)
    }

    @Test func logAppendTimeTopicsStampTheBatchAndKeepItValid() throws {
        let log = try PartitionLog.open(directory: "/p", fileSystem: SimulatedFileSystem(),
                                        configuration: configuration(["message.timestamp.type": "LogAppendTime"]), now: t0)
        let batch = try makeBatch([TestRecord("a", "1", timestamp: 5)], compression: .gzip)
        let info = try log.append(batch, now: Timestamp(milliseconds: 777))
        #expect(info.logAppendTime == Timestamp(milliseconds: 777))
        let stored = try #require(try log.readBatches(from: .zero).first)
        #expect(stored.header.attributes.timestampType == .logAppendTime)
        #expect(try stored.timestamp(of: stored.records()[0]) == Timestamp(milliseconds: 777))
    }

    @Test func leaderEpochsAreStampedAndRememberedAcrossRestarts() throws {
        let fileSystem = SimulatedFileSystem()
        var log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, now: t0)
        var batch = try makeBatch([TestRecord("a", "1")])
        try log.append(batch, leaderEpoch: LeaderEpoch(3), now: t0)
        batch = try makeBatch([TestRecord("a", "2"), TestRecord("a", "3")])
        try log.append(batch, leaderEpoch: LeaderEpoch(5), now: t0)
        #expect(try log.readBatches(from: Offset(1)).first?.header.partitionLeaderEpoch == LeaderEpoch(5))
        try log.close()
        log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, now: t0)
        #expect(log.leaderEpochCache.entries == [.init(epoch: LeaderEpoch(3), startOffset: Offset(0)), .init(epoch: LeaderEpoch(5), startOffset: Offset(1))])
        #expect(log.leaderEpochCache.endOffset(for: LeaderEpoch(4), logEndOffset: log.logEndOffset)! == (LeaderEpoch(3), Offset(1)))
        try log.truncate(to: Offset(1))
        #expect(log.leaderEpochCache.latestEpoch == LeaderEpoch(3))
    }

    @Test func configurationRejectsOutOfRangeValuesByKafkaName() throws {
        var configuration = LogConfiguration()
        #expect(throws: StorageError.self) { try configuration.set("segment.bytes", to: "10") }
        #expect(throws: StorageError.self) { try configuration.set("retention.ms", to: "soon") }
        #expect(throws: StorageError.self) { try configuration.set("cleanup.policy", to: "compact,shred") }
        #expect(try configuration.set("unknown.thing", to: "1") == false)
        try configuration.set("cleanup.policy", to: "compact, delete")
        #expect(configuration.value(of: "cleanup.policy") == "delete,compact")
    }
}
