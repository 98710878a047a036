import NIOCore
import RillFormat
import RillProtocol
import Testing
@testable import RillClient

/// A `RecordAccumulator` driven as a value: an injected clock (monotonic nanoseconds), a
/// partitioner, and shorthands for the inputs the producer's shell gives it.
struct AccumulatorHarness {
    static let topic = "t"
    static let start: UInt64 = 1_000_000_000

    var accumulator: RecordAccumulator
    var partitioner = PartitionerState(strategy: .default, batchSize: 16_384)
    var clock = AccumulatorHarness.start

    static func settings(
        batchSize: Int = 16_384, lingerNanoseconds: UInt64 = 0, bufferMemory: Int = 1 << 20, compression: CompressionType = .none,
        maximumRequestSize: Int = 1 << 20, isIdempotent: Bool = true, deliveryTimeoutNanoseconds: UInt64 = 120_000_000_000,
        retryBackoffNanoseconds: UInt64 = 100_000_000, retries: Int = .max
    ) -> RecordAccumulator.Settings {
        RecordAccumulator.Settings(
            batchSize: batchSize, lingerNanoseconds: lingerNanoseconds, bufferMemory: bufferMemory, compression: compression,
            maximumRequestSize: maximumRequestSize, isIdempotent: isIdempotent, deliveryTimeoutNanoseconds: deliveryTimeoutNanoseconds,
            retryBackoffNanoseconds: retryBackoffNanoseconds, retries: retries)
    }

    init(_ settings: RecordAccumulator.Settings, partitionCount: Int32 = 1, producerID: ProducerID = ProducerID(7), epoch: ProducerEpoch = ProducerEpoch(3)) {
        accumulator = RecordAccumulator(settings: settings)
        accumulator.setPartitionCount(partitionCount, of: Self.topic)
        if settings.isIdempotent {
            accumulator.producerID = producerID
            accumulator.producerEpoch = epoch
        }
    }

    /// A record for partition `partition` with a `valueBytes`-byte value.
    static func record(partition: Int32? = 0, key: String? = nil, valueBytes: Int = 100, tag: String = "") -> ProducerRecord {
        var value = tag
        value += String(repeating: "v", count: max(0, valueBytes - tag.utf8.count))
        return ProducerRecord(topic: topic, partition: partition, key: key, value: value, timestamp: Timestamp(milliseconds: 1_700_000_000_000))
    }

    static func size(valueBytes: Int = 100) -> Int { record(valueBytes: valueBytes).estimatedSize }

    @discardableResult
    mutating func append(_ record: ProducerRecord, context: UInt64 = 0) -> RecordAccumulator.AppendOutcome {
        let now = clock
        return accumulator.append(record, timestamp: record.timestamp ?? Timestamp(milliseconds: 0), completion: .report(context),
                                  partitioner: &partitioner, now: { now })
    }

    @discardableResult
    mutating func append(partition: Int32 = 0, valueBytes: Int = 100, context: UInt64 = 0) -> RecordAccumulator.AppendOutcome {
        append(Self.record(partition: partition, valueBytes: valueBytes, tag: "\(context)|"), context: context)
    }

    /// One drain; every partition led by broker 1 unless told otherwise.
    mutating func drain(leader: (TopicPartition) -> Int32? = { _ in 1 }, canSend: (Int32) -> Bool = { _ in true }) -> [Int32: [RecordAccumulator.ProducerBatch]] {
        accumulator.drain(now: clock, leader: leader, canSend: canSend)
    }

    /// The batches of one drain to broker 1, by partition order.
    mutating func drainToOneBroker() -> [RecordAccumulator.ProducerBatch] {
        drain()[1] ?? []
    }

    mutating func complete(_ batch: RecordAccumulator.ProducerBatch, _ result: RecordAccumulator.BatchResult) -> [RecordAccumulator.Finished] {
        accumulator.complete(batch, with: result, now: clock)
    }

    func queue(_ partition: Int32 = 0) -> RecordAccumulator.PartitionQueue {
        accumulator.topics[Self.topic]!.queues[Int(partition)]
    }

    static let retriable = KafkaClientError.broker(.notLeaderOrFollower, "test")
    static let unknownOutcome = KafkaClientError(.connectionClosed, "test", outcome: .unknown)
    static let fatal = KafkaClientError.broker(.invalidRecord, "test")
}

extension RecordAccumulator.ProducerBatch {
    /// The built batch, decoded and CRC-checked.
    var decoded: RecordBatch {
        get throws { try RecordBatch(validating: try #require(bytes), verifyChecksum: true) }
    }

    var baseSequence: Int32? { (try? decoded)?.header.baseSequence.rawValue }

    /// The `context`s of the records, in record order.
    var contexts: [UInt64] { completions.reports.sorted { $0.index < $1.index }.map(\.context) }
}

extension RecordAccumulator.Finished {
    var isSuccess: Bool {
        if case .success = result { return true }
        return false
    }

    var error: KafkaClientError? {
        if case .failure(let error) = result { return error }
        return nil
    }

    var baseOffset: Offset? {
        if case .success(let success) = result { return success.baseOffset }
        return nil
    }
}

extension RecordAccumulator.AppendOutcome {
    var isAppended: Bool {
        if case .appended = self { return true }
        return false
    }
}
