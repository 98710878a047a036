import NIOCore
import RillBroker
import RillFormat
import RillProtocol
import RillStorage
import Testing

/// A partition as its leader runs it: produce, fetch, list offsets, leader epochs, delete
/// records — on a simulated file system, with time as an argument.
@Suite struct PartitionTests {
    // MARK: Produce

    @Test func produceAssignsOffsetsAndMovesTheHighWatermark() throws {
        let partition = try PartitionFixture().open()
        #expect(partition.highWatermark == .zero)

        let first = partition.produce(try makeBatch(records(3)))
        #expect(first.errorCode == .none)
        #expect(first.baseOffset == Offset(0))
        #expect(first.appendedRecords == 3)
        #expect(first.logStartOffset == .zero)
        #expect(first.logAppendTime == .none)
        #expect(partition.highWatermark == Offset(3))
        #expect(partition.lastStableOffset == Offset(3))

        let second = partition.produce(try makeBatch(records(2, prefix: "b"), compression: .lz4))
        #expect(second.baseOffset == Offset(3))
        #expect(partition.highWatermark == Offset(5))
        #expect(try partition.readableValues() == ["v0", "v1", "v2", "bv0", "bv1"])
    }

    @Test func fetchBelowVersion10IsRefusedZstdData() throws {
        let partition = try PartitionFixture().open()
        #expect(partition.produce(try makeBatch(records(2))).errorCode == .none)
        #expect(partition.produce(try makeBatch(records(2, prefix: "z"), compression: .zstd), version: 7).errorCode == .none)
        // Only uncompressed data in range: an old fetch is served.
        let old = partition.fetch(offset: .zero, maximumBytes: 70, currentLeaderEpoch: .none, includeFirstBatchWhole: true, allowsZstd: false)
        #expect(old.errorCode == .none && old.records != nil)
        // zstd data in range: refused for an old fetch, served for a new one.
        let refused = partition.fetch(offset: Offset(2), maximumBytes: 1 << 20, currentLeaderEpoch: .none, includeFirstBatchWhole: true, allowsZstd: false)
        #expect(refused.errorCode == .unsupportedCompressionType)
        #expect(refused.records == nil)
        let served = partition.fetch(offset: Offset(2), maximumBytes: 1 << 20, currentLeaderEpoch: .none, includeFirstBatchWhole: true, allowsZstd: true)
        #expect(served.errorCode == .none && served.records != nil)
    }

    @Test func appendedBatchesCarryTheLeaderEpoch() throws {
        let partition = try PartitionFixture().open(leaderEpoch: 7)
        partition.produce(try makeBatch(records(2)))
        let batches = try partition.fetchedBatches(from: .zero)
        #expect(batches.map(\.header.partitionLeaderEpoch) == [LeaderEpoch(7)])
        #expect(batches.map(\.header.baseOffset) == [Offset(0)])
    }

    @Test func aLogAppendTimeTopicAnswersWithTheAppendTime() throws {
        let partition = try PartitionFixture(["message.timestamp.type": "LogAppendTime"]).open()
        let result = partition.produce(try makeBatch(records(2)), now: 77_000)
        #expect(result.errorCode == .none)
        #expect(result.logAppendTime == Timestamp(milliseconds: 77_000))
        let batch = try #require(try partition.fetchedBatches(from: .zero).first)
        #expect(batch.header.maxTimestamp == Timestamp(milliseconds: 77_000))
    }

    @Test func aRejectedBatchAppendsNothing() throws {
        let partition = try PartitionFixture(["max.message.bytes": "200"]).open()
        partition.produce(try makeBatch(records(1)))
        let corrupt = try makeBatch(records(2)).flippingByte(at: 70)
        let rejections: [(ByteBuffer?, Int16, ErrorCode)] = [
            (corrupt, 8, .corruptMessage),
            (try makeBatch(records(20)), 8, .messageTooLarge),
            (try makeBatch(records(1), compression: .zstd), 6, .unsupportedCompressionType),
            (try makeBatch(records(1)), 2, .unsupportedVersion),
            (nil, 8, .invalidRecord),
        ]
        for (batch, version, expected) in rejections {
            let result = partition.produce(batch, version: version)
            #expect(result.errorCode == expected)
            #expect(result.baseOffset == .none)
            #expect(result.appendedRecords == 0)
            #expect(result.errorMessage != nil)
        }
        #expect(partition.log.logEndOffset == Offset(1))
        #expect(partition.highWatermark == Offset(1))
        #expect(try partition.readableValues() == ["v0"])
    }

    // MARK: Idempotent producers

    func idempotentBatch(_ count: Int, sequence: Int32, epoch: Int16 = 0, producerID: Int64 = 1000, prefix: String = "") throws -> ByteBuffer {
        try makeBatch(records(count, prefix: prefix), producer: ProducerStamp(producerID: producerID, producerEpoch: epoch, baseSequence: sequence))
    }

    @Test func inSequenceBatchesAreAppended() throws {
        let partition = try PartitionFixture().open()
        #expect(partition.produce(try idempotentBatch(3, sequence: 0)).baseOffset == Offset(0))
        #expect(partition.produce(try idempotentBatch(2, sequence: 3)).baseOffset == Offset(3))
        #expect(partition.produce(try idempotentBatch(1, sequence: 5)).baseOffset == Offset(5))
        #expect(partition.log.logEndOffset == Offset(6))
    }

    @Test func aProducerThePartitionDoesNotKnowMayStartAtAnySequence() throws {
        let partition = try PartitionFixture().open()
        let result = partition.produce(try idempotentBatch(2, sequence: 500))
        #expect(result.errorCode == .none)
        #expect(partition.produce(try idempotentBatch(1, sequence: 502)).errorCode == .none)
    }

    /// Kafka keeps the last five batches per producer and answers a retry of any of them with
    /// success and the offset the batch got the first time, appending nothing.
    @Test func aDuplicateOfAnyOfTheLastFiveBatchesAnswersWithItsOriginalOffset() throws {
        let partition = try PartitionFixture().open()
        // Another producer interleaves, so original offsets are not simply sequence numbers.
        partition.produce(try idempotentBatch(1, sequence: 0, producerID: 7))
        var originals: [(sequence: Int32, offset: Offset)] = []
        var sequence: Int32 = 0
        for index in 0..<6 {
            let count = index % 3 + 1
            let result = partition.produce(try idempotentBatch(count, sequence: sequence, prefix: "\(index)"))
            #expect(result.errorCode == .none)
            originals.append((sequence, result.baseOffset))
            partition.produce(try idempotentBatch(1, sequence: Int32(index + 1), producerID: 7))
            sequence += Int32(count)
        }
        let endBefore = partition.log.logEndOffset
        let valuesBefore = try partition.readableValues()
        // The last five (batches 1…5) are duplicates, each answered with its own first offset.
        for (index, original) in originals.enumerated().dropFirst() {
            let retry = partition.produce(try idempotentBatch(index % 3 + 1, sequence: original.sequence, prefix: "\(index)"))
            #expect(retry.errorCode == .none, "batch \(index)")
            #expect(retry.baseOffset == original.offset, "batch \(index)")
            #expect(retry.appendedRecords == 0)
        }
        #expect(partition.log.logEndOffset == endBefore)
        #expect(try partition.readableValues() == valuesBefore)
        // The sixth-last batch is forgotten: its retry is out of sequence, not a duplicate.
        let forgotten = partition.produce(try idempotentBatch(1, sequence: originals[0].sequence, prefix: "0"))
        #expect(forgotten.errorCode == .outOfOrderSequenceNumber)
        #expect(partition.log.logEndOffset == endBefore)
    }

    @Test func aDuplicateOnALogAppendTimeTopicAnswersWithTheOriginalAppendTime() throws {
        let partition = try PartitionFixture(["message.timestamp.type": "LogAppendTime"]).open()
        let first = partition.produce(try idempotentBatch(2, sequence: 0), now: 10_000)
        let retry = partition.produce(try idempotentBatch(2, sequence: 0), now: 20_000)
        #expect(retry.errorCode == .none)
        #expect(retry.baseOffset == first.baseOffset)
        #expect(retry.logAppendTime == Timestamp(milliseconds: 10_000))
    }

    @Test func aSequenceGapIsOutOfOrderAndAppendsNothing() throws {
        let partition = try PartitionFixture().open()
        partition.produce(try idempotentBatch(3, sequence: 0))
        for sequence: Int32 in [4, 2, 1, 100] {
            let result = partition.produce(try idempotentBatch(1, sequence: sequence))
            #expect(result.errorCode == .outOfOrderSequenceNumber, "sequence \(sequence)")
            #expect(result.baseOffset == .none)
        }
        #expect(partition.log.logEndOffset == Offset(3))
        #expect(partition.produce(try idempotentBatch(1, sequence: 3)).baseOffset == Offset(3))
    }

    @Test func anOlderProducerEpochIsFenced() throws {
        let partition = try PartitionFixture().open()
        partition.produce(try idempotentBatch(2, sequence: 0, epoch: 1))
        let stale = partition.produce(try idempotentBatch(1, sequence: 2, epoch: 0))
        #expect(stale.errorCode == .invalidProducerEpoch)
        #expect(stale.baseOffset == .none)
        #expect(partition.log.logEndOffset == Offset(2))
    }

    @Test func aNewProducerEpochMustStartAtSequenceZero() throws {
        let partition = try PartitionFixture().open()
        partition.produce(try idempotentBatch(2, sequence: 0, epoch: 0))
        #expect(partition.produce(try idempotentBatch(1, sequence: 2, epoch: 1)).errorCode == .outOfOrderSequenceNumber)
        #expect(partition.produce(try idempotentBatch(1, sequence: 0, epoch: 1)).baseOffset == Offset(2))
        // The old epoch is now fenced, even at the sequence it would have continued with.
        #expect(partition.produce(try idempotentBatch(1, sequence: 2, epoch: 0)).errorCode == .invalidProducerEpoch)
    }

    @Test func producersAreTrackedIndependently() throws {
        let partition = try PartitionFixture().open()
        partition.produce(try idempotentBatch(2, sequence: 0, producerID: 1))
        partition.produce(try idempotentBatch(2, sequence: 0, producerID: 2))
        #expect(partition.produce(try idempotentBatch(1, sequence: 2, producerID: 1)).errorCode == .none)
        #expect(partition.produce(try idempotentBatch(1, sequence: 3, producerID: 2)).errorCode == .outOfOrderSequenceNumber)
    }

    @Test func duplicateDetectionSurvivesReopeningThePartition() throws {
        let fixture = try PartitionFixture()
        let partition = try fixture.open()
        let original = partition.produce(try idempotentBatch(2, sequence: 0))
        partition.produce(try idempotentBatch(1, sequence: 2))
        try partition.log.close()
        let reopened = try fixture.open(leaderEpoch: 1)
        let retry = reopened.produce(try idempotentBatch(2, sequence: 0))
        #expect(retry.errorCode == .none)
        #expect(retry.baseOffset == original.baseOffset)
        #expect(reopened.log.logEndOffset == Offset(3))
    }

    // MARK: acks and min.insync.replicas

    @Test func acksAllBelowMinInsyncReplicasIsRejectedBeforeAppending() throws {
        let partition = try PartitionFixture(["min.insync.replicas": "2"]).open()
        let result = partition.produce(try makeBatch(records(2)), acks: -1)
        #expect(result.errorCode == .notEnoughReplicas)
        #expect(result.baseOffset == .none)
        #expect(partition.log.logEndOffset == .zero)
        #expect(try partition.readableValues().isEmpty)
        // acks=1 and acks=0 do not wait for replicas.
        #expect(partition.produce(try makeBatch(records(1)), acks: 1).errorCode == .none)
        #expect(partition.produce(try makeBatch(records(1)), acks: 0).errorCode == .none)
        #expect(partition.log.logEndOffset == Offset(2))
    }

    @Test func acksAllWithOneInsyncReplicaRequiredIsAccepted() throws {
        let partition = try PartitionFixture().open()
        #expect(partition.produce(try makeBatch(records(2)), acks: -1).baseOffset == .zero)
    }

    @Test func aRejectedIdempotentBatchUnderAcksAllDoesNotAdvanceTheSequence() throws {
        let partition = try PartitionFixture(["min.insync.replicas": "2"]).open()
        #expect(partition.produce(try idempotentBatch(2, sequence: 0), acks: -1).errorCode == .notEnoughReplicas)
        // The producer's next attempt with the same sequence is appended, not a duplicate.
        let retry = partition.produce(try idempotentBatch(2, sequence: 0), acks: 1)
        #expect(retry.errorCode == .none)
        #expect(retry.appendedRecords == 2)
    }

    // MARK: Fetch

    @Test func fetchReturnsNothingAtOrAboveTheHighWatermark() throws {
        let partition = try PartitionFixture().open()
        partition.produce(try makeBatch(records(3)))
        partition.produce(try makeBatch(records(2, prefix: "b")))
        // As if the last batch were not replicated yet.
        partition.log.updateHighWatermark(Offset(3))
        let batches = try partition.fetchedBatches(from: .zero)
        #expect(batches.map(\.header.baseOffset) == [Offset(0)])
        let atHighWatermark = partition.fetch(offset: Offset(3), maximumBytes: 1 << 20, currentLeaderEpoch: .none, includeFirstBatchWhole: true)
        #expect(atHighWatermark.errorCode == .none)
        #expect(atHighWatermark.records == nil)
        #expect(atHighWatermark.highWatermark == Offset(3))
        #expect(atHighWatermark.lastStableOffset == Offset(3))
        #expect(atHighWatermark.logStartOffset == .zero)
    }

    @Test func fetchingFromTheMiddleOfABatchReturnsTheWholeBatch() throws {
        let partition = try PartitionFixture().open()
        partition.produce(try makeBatch(records(3)))
        partition.produce(try makeBatch(records(2, prefix: "b")))
        #expect(try partition.fetchedBatches(from: Offset(1)).map(\.header.baseOffset) == [Offset(0), Offset(3)])
        #expect(try partition.fetchedBatches(from: Offset(4)).map(\.header.baseOffset) == [Offset(3)])
    }

    @Test func fetchBeyondTheLogEndIsOutOfRange() throws {
        let partition = try PartitionFixture().open()
        partition.produce(try makeBatch(records(2)))
        let atEnd = partition.fetch(offset: Offset(2), maximumBytes: 1000, currentLeaderEpoch: .none, includeFirstBatchWhole: true)
        #expect(atEnd.errorCode == .none)
        #expect(atEnd.records == nil)
        let beyond = partition.fetch(offset: Offset(3), maximumBytes: 1000, currentLeaderEpoch: .none, includeFirstBatchWhole: true)
        #expect(beyond.errorCode == .offsetOutOfRange)
        #expect(beyond.records == nil)
        #expect(partition.fetch(offset: Offset(-1), maximumBytes: 1000, currentLeaderEpoch: .none, includeFirstBatchWhole: true).errorCode == .offsetOutOfRange)
    }

    @Test func fetchRespectsMaxBytesButReturnsTheFirstBatchWhole() throws {
        let partition = try PartitionFixture().open()
        var sizes: [Int] = []
        for index in 0..<3 {
            let batch = try makeBatch(records(4, prefix: "\(index)"))
            sizes.append(batch.readableBytes)
            partition.produce(batch)
        }
        func fetchedLength(_ maximumBytes: Int, whole: Bool = true) -> Int {
            partition.fetch(offset: .zero, maximumBytes: maximumBytes, currentLeaderEpoch: .none, includeFirstBatchWhole: whole).byteCount
        }
        // Smaller than the first batch: the first batch anyway (KIP-74).
        #expect(fetchedLength(1) == sizes[0])
        #expect(fetchedLength(0) == sizes[0])
        #expect(try partition.fetchedBatches(from: .zero, maximumBytes: 1).count == 1)
        // Exactly two batches' worth: two batches.
        #expect(fetchedLength(sizes[0] + sizes[1]) == sizes[0] + sizes[1])
        // Enough for everything.
        #expect(fetchedLength(1 << 20) == sizes.reduce(0, +))
        // Without the first-batch rule the limit is strict (a later partition of the response).
        #expect(fetchedLength(0, whole: false) == 0)
        #expect(fetchedLength(10, whole: false) <= 10)
    }

    // MARK: ListOffsets

    @Test func anEmptyLogListsZeroAndFindsNoTimestamp() throws {
        let partition = try PartitionFixture().open(leaderEpoch: 2)
        let latest = partition.listOffset(timestamp: Partition.latestTimestamp, currentLeaderEpoch: .none)
        #expect(latest == .init(errorCode: .none, timestamp: .none, offset: .zero, leaderEpoch: LeaderEpoch(2)))
        let earliest = partition.listOffset(timestamp: Partition.earliestTimestamp, currentLeaderEpoch: .none)
        #expect(earliest == .init(errorCode: .none, timestamp: .none, offset: .zero, leaderEpoch: LeaderEpoch(2)))
        let byTime = partition.listOffset(timestamp: Timestamp(milliseconds: 0), currentLeaderEpoch: .none)
        #expect(byTime == .init(errorCode: .none, timestamp: .none, offset: .none, leaderEpoch: .none))
    }

    @Test func listOffsetsFindsEarliestLatestAndByTimestamp() throws {
        let partition = try PartitionFixture().open(leaderEpoch: 1)
        partition.produce(try makeBatch([TestRecord("a", "1", timestamp: 1_000), TestRecord("b", "2", timestamp: 3_000)]))
        partition.produce(try makeBatch([TestRecord("c", "3", timestamp: 2_000), TestRecord("d", "4", timestamp: 5_000)]))
        func lookup(_ milliseconds: Int64) -> Partition.ListOffsetResult {
            partition.listOffset(timestamp: Timestamp(milliseconds: milliseconds), currentLeaderEpoch: .none)
        }
        #expect(lookup(-1).offset == Offset(4))
        #expect(lookup(-1).timestamp == .none)
        #expect(lookup(-2).offset == Offset(0))
        #expect(lookup(-2).timestamp == .none)
        // The first record (by offset) whose timestamp is at or after the target.
        #expect(lookup(0).offset == Offset(0))
        #expect(lookup(1_000).offset == Offset(0))
        #expect(lookup(1_001).offset == Offset(1))
        #expect(lookup(1_001).timestamp == Timestamp(milliseconds: 3_000))
        #expect(lookup(2_000).offset == Offset(1))
        #expect(lookup(3_001).offset == Offset(3))
        #expect(lookup(5_000) == .init(errorCode: .none, timestamp: Timestamp(milliseconds: 5_000), offset: Offset(3), leaderEpoch: LeaderEpoch(1)))
        #expect(lookup(5_001) == .init(errorCode: .none, timestamp: .none, offset: .none, leaderEpoch: .none))
    }

    @Test func listOffsetsByTimestampIgnoresRecordsAboveTheHighWatermark() throws {
        let partition = try PartitionFixture().open()
        partition.produce(try makeBatch([TestRecord("a", "1", timestamp: 1_000)]))
        partition.produce(try makeBatch([TestRecord("b", "2", timestamp: 9_000)]))
        partition.log.updateHighWatermark(Offset(1))
        #expect(partition.listOffset(timestamp: Timestamp(milliseconds: 5_000), currentLeaderEpoch: .none).offset == .none)
        #expect(partition.listOffset(timestamp: Partition.latestTimestamp, currentLeaderEpoch: .none).offset == Offset(1))
    }

    @Test func anUnknownNegativeTimestampIsAnInvalidRequest() throws {
        let partition = try PartitionFixture().open()
        #expect(partition.listOffset(timestamp: Timestamp(milliseconds: -3), currentLeaderEpoch: .none).errorCode == .invalidRequest)
    }

    // MARK: Leader epoch fencing (KIP-320)

    @Test func anOlderCurrentLeaderEpochIsFencedAndANewerOneUnknown() throws {
        let partition = try PartitionFixture().open(leaderEpoch: 5)
        partition.produce(try makeBatch(records(2)))
        for (epoch, expected) in [(Int32(4), ErrorCode.fencedLeaderEpoch), (0, .fencedLeaderEpoch), (6, .unknownLeaderEpoch), (5, .none), (-1, .none)] {
            let current = LeaderEpoch(epoch)
            let fetch = partition.fetch(offset: .zero, maximumBytes: 1000, currentLeaderEpoch: current, includeFirstBatchWhole: true)
            #expect(fetch.errorCode == expected, "fetch with epoch \(epoch)")
            #expect((fetch.records != nil) == (expected == .none), "fetch with epoch \(epoch)")
            let list = partition.listOffset(timestamp: Partition.latestTimestamp, currentLeaderEpoch: current)
            #expect(list.errorCode == expected, "list offsets with epoch \(epoch)")
            #expect(list.offset == (expected == .none ? Offset(2) : .none))
            let end = partition.endOffset(forLeaderEpoch: LeaderEpoch(5), currentLeaderEpoch: current)
            #expect(end.errorCode == expected, "end offset with epoch \(epoch)")
        }
    }

    // MARK: End offsets per leader epoch (KIP-279)

    /// Epoch 0 writes offsets 0-2, epoch 2 writes 3-4, epoch 4 writes 5: as three successive
    /// leaders of the same log would.
    func partitionLedByThreeEpochs() throws -> Partition {
        let fixture = try PartitionFixture()
        let first = try fixture.open(leaderEpoch: 0)
        first.produce(try makeBatch(records(3)))
        try first.log.close()
        let second = try fixture.open(leaderEpoch: 2)
        second.produce(try makeBatch(records(2, prefix: "b")))
        try second.log.close()
        let third = try fixture.open(leaderEpoch: 4)
        third.produce(try makeBatch(records(1, prefix: "c")))
        return third
    }

    @Test func theEndOffsetOfAnEpochIsTheStartOfTheNextKnownEpoch() throws {
        let partition = try partitionLedByThreeEpochs()
        func end(_ epoch: Int32) -> (ErrorCode, Int32, Int64) {
            let answer = partition.endOffset(forLeaderEpoch: LeaderEpoch(epoch), currentLeaderEpoch: .none)
            return (answer.errorCode, answer.leaderEpoch.rawValue, answer.endOffset.rawValue)
        }
        #expect(end(0) == (ErrorCode.none, 0, 3))
        // An epoch that never led: the largest epoch below it, and where that one ended.
        #expect(end(1) == (ErrorCode.none, 0, 3))
        #expect(end(2) == (ErrorCode.none, 2, 5))
        #expect(end(3) == (ErrorCode.none, 2, 5))
        // The current epoch ends at the log end.
        #expect(end(4) == (ErrorCode.none, 4, 6))
        // No epoch requested (a bootstrapping follower): undefined.
        #expect(end(-1) == (ErrorCode.none, -1, -1))
    }

    @Test func theCurrentEpochEndsAtTheLogEndEvenBeforeItsFirstAppend() throws {
        let fixture = try PartitionFixture()
        let first = try fixture.open(leaderEpoch: 0)
        first.produce(try makeBatch(records(3)))
        try first.log.close()
        let second = try fixture.open(leaderEpoch: 1)
        let current = second.endOffset(forLeaderEpoch: LeaderEpoch(1), currentLeaderEpoch: LeaderEpoch(1))
        #expect(current.errorCode == .none)
        #expect(current.leaderEpoch == LeaderEpoch(1))
        #expect(current.endOffset == Offset(3))
        let previous = second.endOffset(forLeaderEpoch: LeaderEpoch(0), currentLeaderEpoch: LeaderEpoch(1))
        #expect(previous.leaderEpoch == LeaderEpoch(0))
        #expect(previous.endOffset == Offset(3))
    }

    @Test func listOffsetsReportsTheEpochThatWroteTheOffset() throws {
        let partition = try partitionLedByThreeEpochs()
        #expect(partition.listOffset(timestamp: Partition.earliestTimestamp, currentLeaderEpoch: .none).leaderEpoch == LeaderEpoch(0))
        #expect(partition.listOffset(timestamp: Partition.latestTimestamp, currentLeaderEpoch: .none).leaderEpoch == LeaderEpoch(4))
        let batches = try partition.fetchedBatches(from: .zero)
        #expect(batches.map(\.header.partitionLeaderEpoch) == [LeaderEpoch(0), LeaderEpoch(2), LeaderEpoch(4)])
    }

    // MARK: DeleteRecords

    @Test func deleteRecordsMovesTheLogStartOffset() throws {
        let partition = try PartitionFixture().open()
        partition.produce(try makeBatch(records(2)))
        partition.produce(try makeBatch(records(3, prefix: "b")))
        let deleted = partition.deleteRecords(before: Offset(2))
        #expect(deleted == (ErrorCode.none, Offset(2)))
        #expect(partition.log.logStartOffset == Offset(2))
        #expect(partition.listOffset(timestamp: Partition.earliestTimestamp, currentLeaderEpoch: .none).offset == Offset(2))
        #expect(partition.fetch(offset: Offset(1), maximumBytes: 1000, currentLeaderEpoch: .none, includeFirstBatchWhole: true).errorCode == .offsetOutOfRange)
        #expect(try partition.fetchedBatches(from: Offset(2)).map(\.header.baseOffset) == [Offset(2)])
        // Later appends report the new log start.
        #expect(partition.produce(try makeBatch(records(1))).logStartOffset == Offset(2))
    }

    @Test func deleteRecordsAtMinusOneDeletesUpToTheHighWatermark() throws {
        let partition = try PartitionFixture().open()
        partition.produce(try makeBatch(records(4)))
        partition.produce(try makeBatch(records(1, prefix: "b")))
        partition.log.updateHighWatermark(Offset(4))
        #expect(partition.deleteRecords(before: Offset(-1)) == (ErrorCode.none, Offset(4)))
        #expect(partition.listOffset(timestamp: Partition.earliestTimestamp, currentLeaderEpoch: .none).offset == Offset(4))
    }

    @Test func deleteRecordsBeyondTheHighWatermarkIsOutOfRange() throws {
        let partition = try PartitionFixture().open()
        partition.produce(try makeBatch(records(4)))
        partition.log.updateHighWatermark(Offset(2))
        #expect(partition.deleteRecords(before: Offset(3)) == (ErrorCode.offsetOutOfRange, Offset.none))
        #expect(partition.deleteRecords(before: Offset(5)) == (ErrorCode.offsetOutOfRange, Offset.none))
        #expect(partition.deleteRecords(before: Offset(-2)) == (ErrorCode.offsetOutOfRange, Offset.none))
        #expect(partition.log.logStartOffset == .zero)
        #expect(partition.deleteRecords(before: Offset(2)) == (ErrorCode.none, Offset(2)))
    }

    @Test func deleteRecordsBelowTheLogStartKeepsIt() throws {
        let partition = try PartitionFixture().open()
        partition.produce(try makeBatch(records(4)))
        #expect(partition.deleteRecords(before: Offset(3)) == (ErrorCode.none, Offset(3)))
        #expect(partition.deleteRecords(before: Offset(1)) == (ErrorCode.none, Offset(3)))
    }
}
