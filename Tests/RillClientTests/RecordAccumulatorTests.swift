import NIOCore
import RillFormat
import RillProtocol
import Testing
@testable import RillClient

/// The producer's accumulator as a value: appends, drains, answers and time are fed in; the
/// batches, outcomes and state are checked. No sockets, no sleeping: the clock is a number.
@Suite struct RecordAccumulatorTests {
    typealias Harness = AccumulatorHarness
    static let millisecond: UInt64 = 1_000_000

    // MARK: Batching

    @Test("append fills a batch until batch.size, then seals it; the next record opens a new one")
    func appendSealsAtBatchSize() {
        let size = Harness.size()
        var harness = Harness(Harness.settings(batchSize: RecordBatchHeader.size + 3 * size, lingerNanoseconds: 1_000 * Self.millisecond))
        #expect(harness.append(context: 0) == .appended(wakeSender: true), "opening a batch starts a linger timer")
        #expect(harness.append(context: 1) == .appended(wakeSender: false))
        #expect(harness.queue().sealed.isEmpty)
        #expect(harness.append(context: 2) == .appended(wakeSender: true), "reaching batch.size seals the batch")
        #expect(harness.queue().open == nil)
        #expect(harness.queue().sealed.map(\.recordCount) == [3])
        #expect(harness.queue().sealed.first?.contexts == [0, 1, 2])
        #expect(harness.append(context: 3) == .appended(wakeSender: true))
        #expect(harness.queue().open?.builder.recordCount == 1)
        #expect(harness.queue().sealed.count == 1)
    }

    @Test("a record that would take the open batch past batch.size seals it and starts the next batch")
    func recordThatDoesNotFitSealsTheOpenBatch() {
        let size = Harness.size()
        var harness = Harness(Harness.settings(batchSize: RecordBatchHeader.size + 5 * size / 2, lingerNanoseconds: 1_000 * Self.millisecond))
        harness.append(context: 0)
        harness.append(context: 1)
        #expect(harness.queue().sealed.isEmpty)
        #expect(harness.append(context: 2) == .appended(wakeSender: true))
        #expect(harness.queue().sealed.map(\.contexts) == [[0, 1]])
        #expect(harness.queue().open?.builder.recordCount == 1)
    }

    @Test("linger: a batch is not drained before linger.ms and is at linger.ms")
    func lingerHoldsABatchUntilItExpires() throws {
        let linger = 5 * Self.millisecond
        var harness = Harness(Harness.settings(lingerNanoseconds: linger))
        harness.append(context: 0)
        #expect(harness.accumulator.nextDeadline(after: harness.clock) == Harness.start + linger)
        harness.clock = Harness.start + linger - 1
        #expect(harness.drain().isEmpty)
        harness.append(context: 1)
        harness.clock = Harness.start + linger
        let drained = harness.drainToOneBroker()
        #expect(drained.count == 1)
        #expect(drained.first?.contexts == [0, 1])
        #expect(try drained.first?.decoded.header.recordCount == 2)
    }

    @Test("flush seals and drains the open batch at once, linger or not")
    func flushSealsAtOnce() {
        var harness = Harness(Harness.settings(lingerNanoseconds: 60_000 * Self.millisecond))
        harness.append(context: 0)
        #expect(harness.drain().isEmpty)
        harness.accumulator.isFlushing = true
        #expect(harness.drainToOneBroker().map(\.contexts) == [[0]])
    }

    // MARK: Limits

    @Test("buffer.memory: appends beyond it are refused with .bufferFull; success and failure give the memory back")
    func bufferMemoryIsReservedAndReleased() {
        let size = Harness.size()
        var harness = Harness(Harness.settings(batchSize: RecordBatchHeader.size + 2 * size, bufferMemory: 3 * size))
        for context in 0..<3 { #expect(harness.append(context: UInt64(context)).isAppended) }
        #expect(harness.accumulator.usedBytes == 3 * size)
        #expect(harness.append(context: 3) == .bufferFull)
        #expect(harness.accumulator.usedBytes == 3 * size, "a refused record reserves nothing")

        // The sealed batch of two succeeds: its two records' memory is free again.
        let first = harness.drainToOneBroker()
        #expect(first.map(\.recordCount) == [2])
        _ = harness.complete(first[0], .success(baseOffset: Offset(0), logAppendTime: .none))
        #expect(harness.accumulator.usedBytes == size)
        #expect(harness.append(context: 4).isAppended)
        #expect(harness.append(context: 5).isAppended)
        #expect(harness.append(context: 6) == .bufferFull)

        // A fatal failure frees its memory too.
        let second = harness.drainToOneBroker()
        #expect(second.map(\.recordCount) == [2])
        let finished = harness.complete(second[0], .fatal(Harness.fatal))
        #expect(finished.first?.error != nil)
        #expect(harness.accumulator.usedBytes == size)
        harness.accumulator.isFlushing = true
        let last = harness.drain()
        #expect(last.isEmpty, "a permanent failure of an idempotent batch stops the drain until the producer id is reset")
        harness.accumulator.resetProducerID(ProducerID(8), epoch: ProducerEpoch(0))
        let third = harness.drainToOneBroker()
        _ = harness.complete(third[0], .success(baseOffset: Offset(2), logAppendTime: .none))
        #expect(harness.accumulator.usedBytes == 0)
        #expect(harness.accumulator.isEmpty)
    }

    @Test("a record bigger than max.request.size is refused with .tooLarge; one that fits is taken")
    func recordLargerThanMaximumRequestSize() {
        var harness = Harness(Harness.settings(maximumRequestSize: 1024))
        let big = Harness.record(valueBytes: 2000)
        #expect(harness.append(big) == .tooLarge(big.estimatedSize))
        #expect(harness.accumulator.usedBytes == 0)
        #expect(harness.accumulator.isEmpty)
        var fitting = 900
        while Harness.size(valueBytes: fitting + 1) + RecordBatchHeader.size <= 1024 { fitting += 1 }
        #expect(harness.append(Harness.record(valueBytes: fitting)).isAppended)
        #expect(harness.append(Harness.record(valueBytes: fitting + 1)) == .tooLarge(Harness.size(valueBytes: fitting + 1)))
    }

    @Test("records for a partition the topic does not have, or a topic without known partitions, are refused")
    func unknownPartitionAndTopic() {
        var harness = Harness(Harness.settings(), partitionCount: 2)
        #expect(harness.append(Harness.record(partition: 2)) == .unknownPartition)
        #expect(harness.append(Harness.record(partition: -1)) == .unknownPartition)
        #expect(harness.append(ProducerRecord(topic: "other", key: "k", value: "x")) == .unknownTopic)
        #expect(harness.accumulator.usedBytes == 0)
    }

    /// The accumulator remembers the last topic's place in its table; records alternating
    /// between topics, and topics added while records are buffered (the table grows and moves
    /// its entries), still land in their own topic's queue.
    @Test("records alternating between topics, with topics added between them, land in their own topic's queues")
    func recordsLandInTheirTopicAcrossTopicsAdded() {
        var harness = Harness(Harness.settings(lingerNanoseconds: 1_000 * Self.millisecond))
        func record(_ topic: String, _ context: UInt64) -> ProducerRecord {
            ProducerRecord(topic: topic, partition: 0, key: nil, value: "\(topic)|\(context)", timestamp: Timestamp(milliseconds: 1_700_000_000_000))
        }
        var expected: [String: [UInt64]] = [:]
        for round in 0..<40 {
            // A new topic every fourth round: the table reaches 11 topics and is resized on the way.
            if round % 4 == 0 { harness.accumulator.setPartitionCount(1, of: "topic-\(round / 4)") }
            // Each round starts with the topic the last one ended with, right after a topic was added.
            for topic in ["topic-0", Harness.topic, "topic-\(round / 4)", "topic-0"] {
                let context = UInt64(expected.values.reduce(0) { $0 + $1.count })
                #expect(harness.append(record(topic, context), context: context) == .appended(wakeSender: expected[topic] == nil))
                expected[topic, default: []].append(context)
            }
        }
        for (topic, contexts) in expected {
            #expect(harness.accumulator.topics[topic]?.queues[0].open?.completions.reports.map(\.context) == contexts, "\(topic)")
        }
        #expect(harness.accumulator.topics.count == 11)
    }

    // MARK: Drain

    @Test("drain gives at most one batch per partition per request; the next drain gives the next batch")
    func drainTakesOneBatchPerPartition() {
        let size = Harness.size()
        var harness = Harness(Harness.settings(batchSize: RecordBatchHeader.size + size), partitionCount: 2)
        for context in 0..<3 { harness.append(partition: 0, context: UInt64(context)) }
        harness.append(partition: 1, context: 10)
        #expect(harness.queue(0).sealed.count == 3)
        let first = harness.drainToOneBroker()
        #expect(first.map(\.topicPartition.partition) == [0, 1])
        #expect(first.map(\.contexts) == [[0], [10]])
        let second = harness.drainToOneBroker()
        #expect(second.map(\.contexts) == [[1]])
        #expect(harness.queue(0).inFlight == 2, "without a failure a partition pipelines its batches")
    }

    @Test("drain keeps each broker's request within max.request.size across partitions")
    func drainRespectsMaximumRequestSizeAcrossPartitions() throws {
        var harness = Harness(Harness.settings(lingerNanoseconds: 0, maximumRequestSize: 1024), partitionCount: 4)
        for partition: Int32 in 0..<4 { harness.append(partition: partition, valueBytes: 300, context: UInt64(partition)) }
        let first = harness.drainToOneBroker()
        let firstBytes = try first.map { try #require($0.bytes).readableBytes }
        #expect(first.map(\.topicPartition.partition) == [0, 1])
        #expect(firstBytes.reduce(0, +) <= 1024)
        #expect(firstBytes.reduce(0, +) + firstBytes[0] > 1024, "a third batch would not have fitted")
        let second = harness.drainToOneBroker()
        #expect(second.map(\.topicPartition.partition) == [2, 3])
        // The batches that did not fit were built (and sequenced) once, in partition order.
        #expect(second.map(\.baseSequence) == [0, 0])
    }

    @Test("drain sends nothing to a broker canSend refuses, nor for partitions without a leader")
    func drainRespectsCanSendAndUnknownLeaders() {
        var harness = Harness(Harness.settings(), partitionCount: 4)
        for partition: Int32 in 0..<4 { harness.append(partition: partition, context: UInt64(partition)) }
        let leaders: [Int32: Int32] = [0: 1, 1: 2, 2: 1]
        let requests = harness.drain(leader: { leaders[$0.partition] }, canSend: { $0 != 2 })
        #expect(requests.keys.sorted() == [1])
        #expect(requests[1]?.map(\.topicPartition.partition) == [0, 2])
        #expect(harness.queue(1).inFlight == 0)
        #expect(harness.queue(3).inFlight == 0)
        let later = harness.drain(leader: { leaders[$0.partition] ?? 3 }, canSend: { _ in true })
        #expect(later.mapValues { $0.map(\.topicPartition.partition) } == [2: [1], 3: [3]])
    }

    @Test("a batch held back only by the in-flight limit sets no timer that is already due (the answer wakes the sender)")
    func heldBackBatchesSetNoDueDeadline() {
        let size = Harness.size()
        let linger = 5 * Self.millisecond
        var harness = Harness(Harness.settings(batchSize: RecordBatchHeader.size + size, lingerNanoseconds: linger))
        harness.append(context: 0)
        harness.append(context: 1)
        #expect(harness.drainToOneBroker().map(\.contexts) == [[0]])
        // Batch 1 is sealed and ready, and an open batch's linger passes, but the broker has its
        // maximum of requests in flight.
        harness.clock += linger
        harness.append(context: 2)
        harness.clock += linger
        #expect(harness.drain(canSend: { _ in false }).isEmpty)
        let deadline = harness.accumulator.nextDeadline(after: harness.clock)
        #expect(deadline.map { $0 > harness.clock } ?? true, "a deadline already due makes the sender spin until an answer comes")
        #expect(deadline == Harness.start + 120_000 * Self.millisecond, "the next thing due is the first batch's delivery timeout")
    }

    // MARK: Idempotence

    @Test("idempotent batches carry the producer id, epoch and per-partition sequences 0, then the record count, …")
    func sequencesAreStampedPerPartition() throws {
        let size = Harness.size()
        var harness = Harness(Harness.settings(batchSize: RecordBatchHeader.size + 3 * size), partitionCount: 2,
                              producerID: ProducerID(42), epoch: ProducerEpoch(5))
        for context in 0..<3 { harness.append(partition: 0, context: UInt64(context)) }
        for context in 3..<5 { harness.append(partition: 0, context: UInt64(context)) }
        for context in 5..<9 { harness.append(partition: 1, context: UInt64(context)) }
        harness.accumulator.isFlushing = true
        var drained: [RecordAccumulator.ProducerBatch] = []
        for _ in 0..<4 { drained += harness.drainToOneBroker() }
        let headers = try drained.map { try $0.decoded.header }
        #expect(drained.map(\.topicPartition.partition) == [0, 1, 0, 1])
        #expect(headers.map(\.recordCount) == [3, 3, 2, 1])
        #expect(headers.map(\.baseSequence.rawValue) == [0, 0, 3, 3])
        #expect(headers.allSatisfy { $0.producerID == ProducerID(42) && $0.producerEpoch == ProducerEpoch(5) })
        let records = try drained[0].decoded.records()
        #expect(records.map(\.offsetDelta) == [0, 1, 2])
        #expect(records.first?.value.map { String(buffer: $0).hasPrefix("0|") } == true)
    }

    @Test("a non-idempotent producer sends batches without producer id or sequence")
    func nonIdempotentBatchesHaveNoSequence() throws {
        var harness = Harness(Harness.settings(isIdempotent: false))
        harness.append(context: 0)
        let header = try #require(harness.drainToOneBroker().first).decoded.header
        #expect(header.producerID == ProducerID.none)
        #expect(header.baseSequence == SequenceNumber.none)
    }

    // MARK: Retries

    @Test("a retriable failure re-queues the batch in front, in sequence order; while recovering one batch is in flight")
    func retriableFailureRequeuesInSequenceOrder() {
        let size = Harness.size()
        let backoff = 100 * Self.millisecond
        var harness = Harness(Harness.settings(batchSize: RecordBatchHeader.size + size, retryBackoffNanoseconds: backoff))
        for context in 0..<4 { harness.append(context: UInt64(context)) }
        let a = harness.drainToOneBroker()[0]
        let b = harness.drainToOneBroker()[0]
        let c = harness.drainToOneBroker()[0]
        #expect([a, b, c].map(\.baseSequence) == [0, 1, 2])
        #expect(harness.queue().inFlight == 3)

        // The answers come back in any order; the queue ends up in sequence order, before the unsent batch.
        #expect(harness.complete(b, .retriable(Harness.retriable, mayHaveBeenAppended: false)).isEmpty)
        #expect(harness.complete(c, .retriable(Harness.retriable, mayHaveBeenAppended: false)).isEmpty)
        #expect(harness.complete(a, .retriable(Harness.retriable, mayHaveBeenAppended: false)).isEmpty)
        #expect(harness.queue().sealed.map(\.contexts) == [[0], [1], [2], [3]])
        #expect(harness.queue().isRecovering)

        #expect(harness.drain().isEmpty, "retry.backoff.ms has not passed")
        #expect(harness.accumulator.nextDeadline(after: harness.clock) == harness.clock + backoff)
        harness.clock += backoff
        let retryA = harness.drainToOneBroker()
        #expect(retryA.map(\.contexts) == [[0]])
        #expect(retryA.first?.baseSequence == 0, "a retry keeps its sequence")
        #expect(retryA.first?.attempts == 2)
        #expect(harness.drain().isEmpty, "one batch at a time while recovering")

        #expect(harness.complete(retryA[0], .success(baseOffset: Offset(0), logAppendTime: .none)).first?.isSuccess == true)
        let retryB = harness.drainToOneBroker()
        #expect(retryB.map(\.contexts) == [[1]])
        #expect(retryB.first?.baseSequence == 1)
    }

    @Test("a partition that failed keeps one batch in flight until a retry succeeds, even across several drains")
    func recoveringPartitionSendsOneBatchAtATime() {
        let size = Harness.size()
        var harness = Harness(Harness.settings(batchSize: RecordBatchHeader.size + size, retryBackoffNanoseconds: 0), partitionCount: 2)
        for context in 0..<3 { harness.append(partition: 0, context: UInt64(context)) }
        for context in 10..<13 { harness.append(partition: 1, context: UInt64(context)) }
        let first = harness.drainToOneBroker()
        #expect(harness.complete(first[0], .retriable(Harness.retriable, mayHaveBeenAppended: false)).isEmpty)
        _ = harness.complete(first[1], .success(baseOffset: Offset(0), logAppendTime: .none))
        let retry = harness.drainToOneBroker()
        #expect(retry.map(\.contexts) == [[0], [11]])
        for _ in 0..<3 {
            // Partition 1 is healthy and pipelines; partition 0 waits for its retry.
            #expect(harness.drainToOneBroker().allSatisfy { $0.topicPartition.partition == 1 })
        }
        #expect(harness.queue(0).inFlight == 1)
    }

    @Test("retries exhausted: the batch fails with the last error")
    func retriesExhausted() {
        var harness = Harness(Harness.settings(retryBackoffNanoseconds: 0, retries: 1))
        harness.append(context: 0)
        let first = harness.drainToOneBroker()[0]
        #expect(harness.complete(first, .retriable(Harness.retriable, mayHaveBeenAppended: false)).isEmpty)
        let second = harness.drainToOneBroker()[0]
        let finished = harness.complete(second, .retriable(Harness.retriable, mayHaveBeenAppended: false))
        #expect(finished.count == 1)
        #expect(finished.first?.error?.brokerError == .notLeaderOrFollower)
        #expect(finished.first?.error?.outcome == .failed)
        #expect(finished.first?.completions.reports.map(\.context) == [0])
    }

    @Test("a retriable failure after delivery.timeout.ms fails the batch; unknown if an attempt may have been appended")
    func retriableFailureAfterDeliveryTimeout() {
        let timeout = 1_000 * Self.millisecond
        var harness = Harness(Harness.settings(deliveryTimeoutNanoseconds: timeout, retryBackoffNanoseconds: 0))
        harness.append(context: 0)
        let batch = harness.drainToOneBroker()[0]
        harness.clock += timeout
        let finished = harness.complete(batch, .retriable(Harness.unknownOutcome, mayHaveBeenAppended: true))
        #expect(finished.first?.error?.outcome == .unknown)
    }

    @Test("a fatal error fails the batch for certain, with the broker's error")
    func fatalErrorFails() {
        var harness = Harness(Harness.settings(isIdempotent: false))
        harness.append(context: 0)
        harness.append(context: 1)
        let batch = harness.drainToOneBroker()[0]
        let finished = harness.complete(batch, .fatal(Harness.fatal))
        #expect(finished.count == 1)
        #expect(finished.first?.error?.outcome == .failed)
        #expect(finished.first?.error?.brokerError == .invalidRecord)
        #expect(finished.first?.completions.reports.map(\.context) == [0, 1])
        #expect(harness.accumulator.isEmpty)
        #expect(!harness.accumulator.needsProducerIDReset, "without idempotence no sequence was lost")
    }

    // MARK: Expiry

    @Test("a batch that was never sent and expires fails for certain (.failed)")
    func neverSentBatchExpiresAsFailed() {
        let timeout = 1_000 * Self.millisecond
        var harness = Harness(Harness.settings(lingerNanoseconds: 10_000 * Self.millisecond, deliveryTimeoutNanoseconds: timeout))
        harness.append(context: 0)
        harness.clock += timeout - 1
        #expect(harness.accumulator.expire(now: harness.clock).isEmpty)
        harness.clock += 1
        let expired = harness.accumulator.expire(now: harness.clock)
        #expect(expired.count == 1)
        #expect(expired.first?.error?.code == .timedOut)
        #expect(expired.first?.error?.outcome == .failed)
        #expect(expired.first?.completions.reports.map(\.context) == [0])
        #expect(harness.accumulator.usedBytes == 0)
        #expect(!harness.accumulator.needsProducerIDReset, "an unbuilt batch used no sequence")
    }

    @Test("expiry looks at every partition: an old batch behind partitions with young or no batches expires, alone")
    func expiryFindsAnOldBatchInAnyPartition() {
        let timeout = 1_000 * Self.millisecond
        var harness = Harness(Harness.settings(lingerNanoseconds: 10_000 * Self.millisecond, deliveryTimeoutNanoseconds: timeout), partitionCount: 4)
        harness.append(partition: 2, context: 2)
        harness.clock += timeout / 2
        harness.append(partition: 0, context: 0)
        harness.clock += timeout / 2
        let expired = harness.accumulator.expire(now: harness.clock)
        #expect(expired.map(\.topicPartition.partition) == [2])
        #expect(expired.first?.completions.reports.map(\.context) == [2])
        #expect(harness.accumulator.expire(now: harness.clock).isEmpty, "partition 0's batch is not old enough yet")
    }

    @Test("a batch whose attempt may have been appended, then expires waiting for its retry, fails with outcome .unknown")
    func mayHaveBeenAppendedThenExpiredIsUnknown() {
        let timeout = 1_000 * Self.millisecond
        var harness = Harness(Harness.settings(deliveryTimeoutNanoseconds: timeout, retryBackoffNanoseconds: 10_000 * Self.millisecond))
        harness.append(context: 0)
        let batch = harness.drainToOneBroker()[0]
        #expect(harness.complete(batch, .retriable(Harness.unknownOutcome, mayHaveBeenAppended: true)).isEmpty)
        harness.clock += timeout
        let expired = harness.accumulator.expire(now: harness.clock)
        #expect(expired.count == 1)
        #expect(expired.first?.error?.outcome == .unknown)
        #expect(harness.accumulator.needsProducerIDReset, "its sequence is used: the producer must take a new id")
    }

    @Test("a batch that was sent, failed certainly (not appended), then expires is .failed")
    func certainlyNotAppendedThenExpiredIsFailed() {
        let timeout = 1_000 * Self.millisecond
        var harness = Harness(Harness.settings(deliveryTimeoutNanoseconds: timeout, retryBackoffNanoseconds: 10_000 * Self.millisecond))
        harness.append(context: 0)
        let batch = harness.drainToOneBroker()[0]
        _ = harness.complete(batch, .retriable(Harness.retriable, mayHaveBeenAppended: false))
        harness.clock += timeout
        #expect(harness.accumulator.expire(now: harness.clock).first?.error?.outcome == .failed)
    }

    // MARK: Producer id reset

    @Test("after a permanent failure of an idempotent batch, drain stops until resetProducerID, which restamps built batches from sequence 0")
    func permanentFailureNeedsProducerIDReset() throws {
        let size = Harness.size()
        var harness = Harness(Harness.settings(batchSize: RecordBatchHeader.size + 2 * size, retryBackoffNanoseconds: 0),
                              producerID: ProducerID(7), epoch: ProducerEpoch(3))
        for context in 0..<6 { harness.append(context: UInt64(context)) }
        let a = harness.drainToOneBroker()[0]
        let b = harness.drainToOneBroker()[0]
        #expect([a, b].map(\.baseSequence) == [0, 2])
        #expect(harness.complete(a, .fatal(Harness.fatal)).first?.error != nil)
        #expect(harness.accumulator.needsProducerIDReset)
        // B was sent after A's sequence: the broker refuses it as out of order; it waits for the reset.
        #expect(harness.complete(b, .retriable(KafkaClientError.broker(.outOfOrderSequenceNumber, "test"), mayHaveBeenAppended: false)).isEmpty)
        #expect(harness.drain().isEmpty)
        #expect(harness.accumulator.inFlightCount == 0)

        harness.accumulator.resetProducerID(ProducerID(9), epoch: ProducerEpoch(0))
        #expect(!harness.accumulator.needsProducerIDReset)
        let retriedB = try #require(harness.drainToOneBroker().first)
        let header = try retriedB.decoded.header  // CRC-checked: the restamp recomputed it
        #expect(retriedB.contexts == [2, 3])
        #expect(header.producerID == ProducerID(9))
        #expect(header.producerEpoch == ProducerEpoch(0))
        #expect(header.baseSequence == SequenceNumber(0))
        #expect(try retriedB.decoded.records().count == 2)
        _ = harness.complete(retriedB, .success(baseOffset: Offset(0), logAppendTime: .none))
        let c = try #require(harness.drainToOneBroker().first)
        #expect(c.contexts == [4, 5])
        #expect(try c.decoded.header.producerID == ProducerID(9))
        #expect(c.baseSequence == 2)
    }

    @Test("a producer id reset does not resend, under the new id, a batch that may be in the log under the old one")
    func resetDoesNotResendBatchesThatMayHaveBeenAppended() throws {
        let size = Harness.size()
        var harness = Harness(Harness.settings(batchSize: RecordBatchHeader.size + size, retryBackoffNanoseconds: 0), partitionCount: 2)
        harness.append(partition: 0, context: 0)
        harness.append(partition: 0, context: 1)
        harness.append(partition: 1, context: 10)
        let first = harness.drainToOneBroker()
        #expect(first.map(\.contexts) == [[0], [10]])
        // Partition 0's request was written, then the connection dropped: it may be in the log.
        #expect(harness.complete(first[0], .retriable(Harness.unknownOutcome, mayHaveBeenAppended: true)).isEmpty)
        // Partition 1's batch fails for good: the producer needs a new id.
        _ = harness.complete(first[1], .fatal(Harness.fatal))
        #expect(harness.accumulator.needsProducerIDReset)

        let failed = harness.accumulator.resetProducerID(ProducerID(9), epoch: ProducerEpoch(0))
        // Resent under the new id, the broker could not recognise it as a duplicate: it fails, outcome unknown.
        #expect(failed.flatMap(\.completions.reports).map(\.context) == [0])
        #expect(failed.first?.error?.outcome == .unknown)
        #expect(failed.first?.error?.code == .sequenceLost)
        #expect(harness.accumulator.usedBytes == size, "the failed batch's memory is free; the unsent one's is not")
        let next = try #require(harness.drainToOneBroker().first)
        #expect(next.contexts == [1], "the batch that may be in the log was sent again under the new producer id")
        #expect(try next.decoded.header.producerID == ProducerID(9))
        #expect(next.baseSequence == 0)
    }

    // MARK: Completions

    @Test("success gives record i the offset base + i, with the contexts it was appended with")
    func successCompletesEveryRecord() throws {
        var harness = Harness(Harness.settings())
        let contexts: [UInt64] = [70, 71, 72, 73]
        for context in contexts { harness.append(context: context) }
        // A record without a report among them keeps its index but reports nothing.
        let now = harness.clock
        _ = harness.accumulator.append(Harness.record(tag: "silent"), timestamp: Timestamp(milliseconds: 5), completion: .none,
                                       partitioner: &harness.partitioner, now: { now })
        harness.append(context: 74)
        let batch = try #require(harness.drainToOneBroker().first)
        #expect(batch.recordCount == 6)
        let finished = harness.complete(batch, .success(baseOffset: Offset(100), logAppendTime: .none))
        #expect(finished.count == 1)
        let done = try #require(finished.first)
        #expect(done.topicPartition == TopicPartition(Harness.topic, 0))
        #expect(done.baseOffset == Offset(100))
        let reported = done.completions.reports.map { (offset: Offset(100) + Int64($0.index), context: $0.context) }
        #expect(reported.map(\.offset) == [100, 101, 102, 103, 105].map { Offset($0) })
        #expect(reported.map(\.context) == [70, 71, 72, 73, 74])
        #expect(harness.accumulator.isEmpty)
        #expect(harness.accumulator.inFlightCount == 0)
    }

    @Test("close without flush fails everything unsent and frees its memory")
    func abandonUnsentFailsQueuedRecords() {
        var harness = Harness(Harness.settings(lingerNanoseconds: 1_000 * Self.millisecond))
        harness.append(context: 0)
        harness.append(context: 1)
        let abandoned = harness.accumulator.abandonUnsent(KafkaClientError(.closed, "closing"))
        #expect(abandoned.flatMap { $0.completions.reports.map(\.context) } == [0, 1])
        #expect(abandoned.allSatisfy { $0.error?.code == .closed })
        #expect(harness.accumulator.usedBytes == 0)
    }

    @Test("compressed batches decode to the records appended", arguments: [CompressionType.gzip, .snappy, .lz4, .zstd])
    func compressedBatchesDecode(compression: CompressionType) throws {
        var harness = Harness(Harness.settings(compression: compression))
        for context in 0..<20 { harness.append(context: UInt64(context)) }
        let batch = try #require(harness.drainToOneBroker().first)
        let decoded = try batch.decoded
        #expect(decoded.header.attributes.compression == compression)
        let values = try decoded.records().map { $0.value.map { String(buffer: $0) } ?? "" }
        #expect(values == (0..<20).map { Harness.record(tag: "\($0)|").value.map { String(buffer: $0) } ?? "-" })
        #expect(try #require(batch.bytes).readableBytes < 20 * 100, "compression shrank the repetitive values")
    }
}
