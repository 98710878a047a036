import NIOCore
import RillFormat
import Testing
@testable import RillStorage

@Suite struct ProducerStateTableTests {
    func header(producer: Int64 = 1, epoch: Int16 = 0, sequence: Int32, count: Int32 = 1, offset: Int64) -> RecordBatchHeader {
        RecordBatchHeader(baseOffset: Offset(offset), lastOffsetDelta: count - 1, producerID: ProducerID(producer),
                          producerEpoch: ProducerEpoch(epoch), baseSequence: SequenceNumber(sequence), recordCount: count)
    }

    @Test func acceptsInSequenceBatchesAndRejectsGaps() {
        var table = ProducerStateTable()
        #expect(table.check(header(sequence: 0, count: 3, offset: 0)) == .accept)
        table.update(with: header(sequence: 0, count: 3, offset: 0), appendTime: t0)
        #expect(table.check(header(sequence: 3, offset: 3)) == .accept)
        #expect(table.check(header(sequence: 5, offset: 3)) == .outOfOrderSequence(expected: SequenceNumber(3)))
        #expect(table.check(header(sequence: 1, offset: 3)) == .outOfOrderSequence(expected: SequenceNumber(3)))
    }

    @Test func recognisesAnyOfTheLastFiveBatchesAsADuplicate() {
        var table = ProducerStateTable()
        for index in 0..<7 { table.update(with: header(sequence: Int32(index * 2), count: 2, offset: Int64(index * 2)), appendTime: t0) }
        // Batches 2...6 are remembered; batch 0 and 1 were forgotten.
        let remembered = ProducerBatchMetadata(firstSequence: SequenceNumber(4), lastSequence: SequenceNumber(5), firstOffset: Offset(4), lastOffset: Offset(5), timestamp: .none)
        #expect(table.check(header(sequence: 4, count: 2, offset: 99)) == .duplicate(remembered))
        #expect(table.check(header(sequence: 0, count: 2, offset: 99)) == .outOfOrderSequence(expected: SequenceNumber(14)))
    }

    @Test func fencesOlderEpochsAndRequiresSequenceZeroForANewOne() {
        var table = ProducerStateTable()
        table.update(with: header(epoch: 3, sequence: 0, offset: 0), appendTime: t0)
        #expect(table.check(header(epoch: 2, sequence: 1, offset: 1)) == .invalidProducerEpoch(current: ProducerEpoch(3)))
        #expect(table.check(header(epoch: 4, sequence: 7, offset: 1)) == .outOfOrderSequence(expected: SequenceNumber(0)))
        #expect(table.check(header(epoch: 4, sequence: 0, offset: 1)) == .accept)
    }

    @Test func sequencesWrapAtInt32Max() {
        var table = ProducerStateTable()
        table.update(with: header(sequence: Int32.max - 1, count: 2, offset: 0), appendTime: t0)
        #expect(table.check(header(sequence: 0, offset: 2)) == .accept)
    }

    @Test func unknownProducersMayStartAnywhereAndNonIdempotentBatchesPass() {
        let table = ProducerStateTable()
        #expect(table.check(header(sequence: 12345, offset: 0)) == .accept)
        #expect(table.check(RecordBatchHeader(producerID: .none)) == .accept)
    }

    @Test func snapshotsRoundTripAndRejectDamage() throws {
        var table = ProducerStateTable()
        for producer in 1...3 {
            for index in 0..<7 {
                table.update(with: header(producer: Int64(producer), epoch: 1, sequence: Int32(index), offset: Int64(producer * 100 + index)), appendTime: Timestamp(milliseconds: Int64(index)))
            }
        }
        var bytes = table.encodeSnapshot()
        #expect(try ProducerStateTable(decodingSnapshot: bytes, path: "x") == table)
        bytes[bytes.count - 3] ^= 1
        #expect(throws: StorageError.self) { try ProducerStateTable(decodingSnapshot: bytes, path: "x") }
        #expect(throws: StorageError.self) { try ProducerStateTable(decodingSnapshot: Array(bytes.prefix(5)), path: "x") }
    }

    @Test func producerStateSurvivesARestartOfTheLog() throws {
        let fileSystem = SimulatedFileSystem()
        var log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, configuration: configuration(["segment.bytes": "200"]), now: t0)
        for sequence in 0..<6 {
            let batch = try makeBatch([TestRecord("k", "v\(sequence)")], producerID: 42, producerEpoch: 0, baseSequence: Int32(sequence))
            try log.append(batch, now: t0)
        }
        let duplicate = try makeBatch([TestRecord("k", "v5")], producerID: 42, producerEpoch: 0, baseSequence: 5)
        let header = try RecordBatch(validating: duplicate).header
        #expect(log.producerStateTable.check(header) == .duplicate(ProducerBatchMetadata(
            firstSequence: SequenceNumber(5), lastSequence: SequenceNumber(5), firstOffset: Offset(5), lastOffset: Offset(5), timestamp: Timestamp(milliseconds: 1_000))))
        // After a crash that loses the snapshot files, replaying the log rebuilds the same state.
        try log.sync()
        var generator = SplitMix64(seed: 3)
        fileSystem.crash(mode: .loseAllUnsynced, using: &generator)
        for name in try fileSystem.contentsOfDirectory(at: "/p") where name.hasSuffix(".snapshot") { try fileSystem.removeFile(at: "/p/" + name) }
        log = try PartitionLog.open(directory: "/p", fileSystem: fileSystem, now: t0)
        #expect(log.producerStateTable.check(header) != .accept)
        #expect(log.producerStateTable.entries[ProducerID(42)]?.lastSequence == SequenceNumber(5))
    }
}

@Suite struct LeaderEpochCacheTests {
    @Test func answersEndOffsetsTheWayKIP279Says() {
        var cache = LeaderEpochCache()
        cache.assign(epoch: LeaderEpoch(1), startOffset: Offset(0))
        cache.assign(epoch: LeaderEpoch(3), startOffset: Offset(10))
        cache.assign(epoch: LeaderEpoch(4), startOffset: Offset(25))
        // Older than every known epoch: the epoch asked for, ending where the first one starts.
        #expect(cache.endOffset(for: LeaderEpoch(0), logEndOffset: Offset(30))! == (LeaderEpoch(0), Offset(0)))
        // Newer than every known epoch: undefined (Kafka answers -1/-1).
        #expect(cache.endOffset(for: LeaderEpoch(9), logEndOffset: Offset(30)) == nil)
        #expect(cache.endOffset(for: .none, logEndOffset: Offset(30)) == nil)
        #expect(cache.endOffset(for: LeaderEpoch(1), logEndOffset: Offset(30))! == (LeaderEpoch(1), Offset(10)))
        #expect(cache.endOffset(for: LeaderEpoch(2), logEndOffset: Offset(30))! == (LeaderEpoch(1), Offset(10)))
        #expect(cache.endOffset(for: LeaderEpoch(4), logEndOffset: Offset(30))! == (LeaderEpoch(4), Offset(30)))
        cache.truncateFromEnd(Offset(25))
        #expect(cache.latestEpoch == LeaderEpoch(3))
        cache.truncateFromStart(Offset(12))
        #expect(cache.entries == [.init(epoch: LeaderEpoch(3), startOffset: Offset(12))])
    }

    @Test func ignoresOlderEpochsAndDropsNonMonotonicEntries() {
        var cache = LeaderEpochCache()
        cache.assign(epoch: LeaderEpoch(5), startOffset: Offset(10))
        let changed = cache.assign(epoch: LeaderEpoch(4), startOffset: Offset(20))
        #expect(!changed)
        cache.assign(epoch: LeaderEpoch(6), startOffset: Offset(8))
        #expect(cache.entries == [.init(epoch: LeaderEpoch(6), startOffset: Offset(8))])
    }
}
