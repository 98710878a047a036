import DequeModule
import NIOCore
import RillFormat
import RillProtocol

/// The producer's record accumulator as a sans-IO state machine (Kafka's RecordAccumulator):
/// per partition an open batch that records go into, a queue of sealed batches, and the
/// bookkeeping for in-flight requests, retries, idempotent sequence numbers, delivery timeouts
/// and `buffer.memory`. Time comes in as monotonic nanoseconds; the shell does all I/O.
///
/// Rules it keeps: a batch is sealed at `batch.size` or after `linger.ms`; each request
/// carries at most one batch per partition; sequence numbers are assigned when a batch is first
/// drained and never change while the producer id stays; after a failed attempt the partition
/// sends one batch at a time until the retry resolves (so batches are never reordered).
struct RecordAccumulator: Sendable {
    struct Settings {
        var batchSize: Int
        var lingerNanoseconds: UInt64
        var bufferMemory: Int
        var compression: CompressionType
        var maximumRequestSize: Int
        var isIdempotent: Bool
        var deliveryTimeoutNanoseconds: UInt64
        var retryBackoffNanoseconds: UInt64
        var retries: Int
    }

    /// What happens to a record once its batch is resolved.
    enum Completion {
        case waiter(CheckedContinuation<RecordMetadata, any Error>)
        case report(UInt64)
        case none
    }

    struct OpenBatch {
        var builder: RecordBatchBuilder
        var createdAt: UInt64
        var estimatedBytes: Int
        var reservedBytes: Int
        var completions: [Completion]
    }

    /// A sealed batch, built (and sequenced) the first time it is drained.
    struct ProducerBatch {
        let topicPartition: TopicPartition
        var builder: RecordBatchBuilder?
        var bytes: ByteBuffer?
        let createdAt: UInt64
        let reservedBytes: Int
        var completions: [Completion]
        var recordCount: Int
        var attempts = 0
        var retryAt: UInt64 = 0
        /// An attempt ended without a definite answer: the batch may be in the log.
        var mayHaveBeenAppended = false
    }

    struct PartitionQueue {
        var open: OpenBatch?
        var sealed = Deque<ProducerBatch>()
        var inFlight = 0
        var nextSequence = SequenceNumber(0)
        /// A batch of this partition failed an attempt: send one at a time until it resolves.
        var isRecovering = false
    }

    enum AppendOutcome: Equatable {
        /// In the batch; `wakeSender` when a batch was sealed or opened (a linger timer starts).
        case appended(wakeSender: Bool)
        /// Not enough of `buffer.memory` left: wait for deliveries to free some.
        case bufferFull
        /// The record alone exceeds `max.request.size`.
        case tooLarge(Int)
    }

    /// The answer to one batch in a Produce response (or the lack of one).
    enum BatchResult {
        case success(baseOffset: Offset, logAppendTime: Timestamp)
        /// May succeed on another attempt; `mayHaveBeenAppended` when the attempt's outcome is unknown.
        case retriable(KafkaClientError, mayHaveBeenAppended: Bool)
        case fatal(KafkaClientError)
    }

    /// A record whose fate is decided, for the shell to report.
    struct Finished {
        var completion: Completion
        var result: Result<RecordMetadata, KafkaClientError>
    }

    let settings: Settings
    private(set) var partitions: [TopicPartition: PartitionQueue] = [:]
    private(set) var usedBytes = 0
    var producerID = ProducerID.none
    var producerEpoch = ProducerEpoch.none
    /// Seal every open batch at the next drain (flush and close).
    var isFlushing = false
    /// A batch of an idempotent producer failed for good: its sequence is lost, so the producer
    /// must get a new producer id before sending more (Kafka's epoch bump).
    private(set) var needsProducerIDReset = false

    init(settings: Settings) { self.settings = settings }

    var inFlightCount: Int { partitions.values.reduce(0) { $0 + $1.inFlight } }
    var isEmpty: Bool { partitions.values.allSatisfy { $0.open == nil && $0.sealed.isEmpty && $0.inFlight == 0 } }

    // MARK: Append

    mutating func append(_ record: ProducerRecord, to topicPartition: TopicPartition, timestamp: Timestamp, completion: Completion, now: UInt64) -> AppendOutcome {
        let size = record.estimatedSize
        guard size + RecordBatchHeader.size <= settings.maximumRequestSize else { return .tooLarge(size) }
        guard usedBytes + size <= settings.bufferMemory else { return .bufferFull }
        var queue = partitions[topicPartition] ?? PartitionQueue()
        var wake = false
        if let open = queue.open, open.estimatedBytes + size > settings.batchSize || open.estimatedBytes + size > settings.maximumRequestSize {
            seal(&queue, topicPartition: topicPartition)
            wake = true
        }
        if queue.open == nil {
            let capacity = min(max(settings.batchSize, size + RecordBatchHeader.size), settings.maximumRequestSize)
            queue.open = OpenBatch(builder: RecordBatchBuilder(compression: settings.compression, initialCapacity: capacity), createdAt: now, estimatedBytes: RecordBatchHeader.size, reservedBytes: 0, completions: [])
            wake = true
        }
        queue.open!.builder.append(key: record.key, value: record.value, headers: record.headers, timestamp: timestamp)
        queue.open!.estimatedBytes += size
        queue.open!.reservedBytes += size
        if case .none = completion {} else { queue.open!.completions.append(completion) }
        usedBytes += size
        if queue.open!.estimatedBytes >= settings.batchSize {
            seal(&queue, topicPartition: topicPartition)
            wake = true
        }
        partitions[topicPartition] = queue
        return .appended(wakeSender: wake)
    }

    private func seal(_ queue: inout PartitionQueue, topicPartition: TopicPartition) {
        guard let open = queue.open else { return }
        queue.open = nil
        queue.sealed.append(ProducerBatch(
            topicPartition: topicPartition, builder: open.builder, bytes: nil, createdAt: open.createdAt,
            reservedBytes: open.reservedBytes, completions: open.completions, recordCount: Int(open.builder.recordCount)))
    }

    // MARK: Drain

    /// The batches to send now, by leader: at most one per partition, at most
    /// `max.request.size` per broker, none to brokers that `canSend` refuses (in-flight limit)
    /// or to partitions without a known leader.
    mutating func drain(now: UInt64, leader: (TopicPartition) -> Int32?, canSend: (Int32) -> Bool) -> [Int32: [ProducerBatch]] {
        guard !needsProducerIDReset else { return [:] }
        var requests: [Int32: [ProducerBatch]] = [:]
        var requestBytes: [Int32: Int] = [:]
        for topicPartition in partitions.keys.sorted() {
            guard let broker = leader(topicPartition), canSend(broker) else { continue }
            var queue = partitions[topicPartition]!
            if queue.isRecovering && queue.inFlight > 0 { continue }
            if queue.sealed.isEmpty, let open = queue.open, isFlushing || now >= open.createdAt + settings.lingerNanoseconds {
                seal(&queue, topicPartition: topicPartition)
            }
            guard var batch = queue.sealed.first, batch.retryAt <= now else {
                partitions[topicPartition] = queue
                continue
            }
            if batch.bytes == nil { build(&batch, queue: &queue) }
            let size = batch.bytes!.readableBytes
            if let used = requestBytes[broker], used + size > settings.maximumRequestSize {
                partitions[topicPartition] = queue
                continue
            }
            queue.sealed.removeFirst()
            queue.inFlight += 1
            batch.attempts += 1
            requests[broker, default: []].append(batch)
            requestBytes[broker, default: 0] += size
            partitions[topicPartition] = queue
        }
        return requests
    }

    /// Builds the batch bytes, stamping the producer id and the partition's next sequence.
    private func build(_ batch: inout ProducerBatch, queue: inout PartitionQueue) {
        guard var builder = batch.builder else { return }
        if settings.isIdempotent {
            builder.producerID = producerID
            builder.producerEpoch = producerEpoch
            builder.baseSequence = queue.nextSequence
            queue.nextSequence = queue.nextSequence.advanced(by: builder.recordCount)
        }
        do {
            batch.bytes = try builder.build()
        } catch {
            preconditionFailure("building a batch from valid records cannot fail: \(error)")
        }
        batch.builder = nil
    }

    // MARK: Completion

    /// Records the answer to one in-flight batch; returns the records now decided.
    mutating func complete(_ batch: ProducerBatch, with result: BatchResult, now: UInt64) -> [Finished] {
        var queue = partitions[batch.topicPartition]!
        queue.inFlight -= 1
        var finished: [Finished] = []
        switch result {
        case .success(let baseOffset, let logAppendTime):
            queue.isRecovering = false
            finished = resolve(batch, base: baseOffset, logAppendTime: logAppendTime)
        case .retriable(let error, let mayHaveBeenAppended):
            var retry = batch
            retry.mayHaveBeenAppended = retry.mayHaveBeenAppended || mayHaveBeenAppended
            if retry.attempts > settings.retries || now >= batch.createdAt + settings.deliveryTimeoutNanoseconds {
                finished = fail(retry, error)
            } else {
                retry.retryAt = now + settings.retryBackoffNanoseconds
                queue.isRecovering = true
                // Back in front, ahead of batches sealed after it; in sequence order with other retries.
                let position = queue.sealed.firstIndex { $0.bytes == nil || self.sequence(of: $0) > self.sequence(of: retry) } ?? queue.sealed.endIndex
                queue.sealed.insert(retry, at: position)
            }
        case .fatal(let error):
            finished = fail(batch, error)
        }
        partitions[batch.topicPartition] = queue
        return finished
    }

    private func sequence(of batch: ProducerBatch) -> Int64 {
        guard let bytes = batch.bytes, let sequence = bytes.getInteger(at: bytes.readerIndex + RecordBatchHeader.FieldOffset.baseSequence, as: Int32.self) else { return .max }
        return Int64(sequence)
    }

    private mutating func resolve(_ batch: ProducerBatch, base: Offset, logAppendTime: Timestamp) -> [Finished] {
        usedBytes -= batch.reservedBytes
        var timestamps: [Timestamp] = []
        if batch.completions.contains(where: { if case .waiter = $0 { true } else { false } }), let bytes = batch.bytes,
           let decoded = try? RecordBatch(validating: bytes, verifyChecksum: false), let records = try? decoded.records() {
            timestamps = records.map { logAppendTime != .none ? logAppendTime : decoded.timestamp(of: $0) }
        }
        return batch.completions.enumerated().map { index, completion in
            let offset = base == .none ? Offset.none : base + Int64(index)
            let timestamp = index < timestamps.count ? timestamps[index] : logAppendTime
            return Finished(completion: completion, result: .success(RecordMetadata(topicPartition: batch.topicPartition, offset: offset, timestamp: timestamp)))
        }
    }

    private mutating func fail(_ batch: ProducerBatch, _ error: KafkaClientError) -> [Finished] {
        usedBytes -= batch.reservedBytes
        var reported = error
        if batch.mayHaveBeenAppended { reported.outcome = .unknown }
        if settings.isIdempotent && batch.bytes != nil { needsProducerIDReset = true }
        return batch.completions.map { Finished(completion: $0, result: .failure(reported)) }
    }

    // MARK: Time

    /// Fails sealed and open batches older than `delivery.timeout.ms` that are not in flight.
    mutating func expire(now: UInt64) -> [Finished] {
        var finished: [Finished] = []
        for topicPartition in partitions.keys {
            var queue = partitions[topicPartition]!
            while let first = queue.sealed.first, now >= first.createdAt + settings.deliveryTimeoutNanoseconds {
                queue.sealed.removeFirst()
                finished += fail(first, KafkaClientError(.timedOut, "not delivered within delivery.timeout.ms"))
            }
            if queue.sealed.isEmpty, let open = queue.open, now >= open.createdAt + settings.deliveryTimeoutNanoseconds {
                seal(&queue, topicPartition: topicPartition)
                let expired = queue.sealed.removeFirst()
                finished += fail(expired, KafkaClientError(.timedOut, "not delivered within delivery.timeout.ms"))
            }
            partitions[topicPartition] = queue
        }
        return finished
    }

    /// When the sender must look again without being woken: a linger, retry or delivery timeout.
    func nextDeadline() -> UInt64? {
        var deadline: UInt64?
        func consider(_ value: UInt64) { deadline = min(deadline ?? value, value) }
        for queue in partitions.values {
            if let open = queue.open { consider(open.createdAt + (isFlushing ? 0 : settings.lingerNanoseconds)) }
            if let first = queue.sealed.first { consider(max(first.retryAt, 0)); consider(first.createdAt + settings.deliveryTimeoutNanoseconds) }
        }
        return deadline
    }

    // MARK: Producer id reset

    /// Takes a new producer id after a lost sequence: every partition starts again at sequence
    /// 0, and batches already built get the new id and sequences in their headers.
    mutating func resetProducerID(_ id: ProducerID, epoch: ProducerEpoch) {
        precondition(inFlightCount == 0, "a producer id is reset only with nothing in flight")
        producerID = id
        producerEpoch = epoch
        needsProducerIDReset = false
        for topicPartition in partitions.keys {
            var queue = partitions[topicPartition]!
            queue.nextSequence = SequenceNumber(0)
            queue.isRecovering = false
            for index in queue.sealed.indices where queue.sealed[index].bytes != nil {
                let count = Int32(queue.sealed[index].recordCount)
                restamp(&queue.sealed[index].bytes!, producerID: id, epoch: epoch, baseSequence: queue.nextSequence)
                queue.nextSequence = queue.nextSequence.advanced(by: count)
            }
            partitions[topicPartition] = queue
        }
    }

    private func restamp(_ bytes: inout ByteBuffer, producerID: ProducerID, epoch: ProducerEpoch, baseSequence: SequenceNumber) {
        bytes.withUnsafeMutableReadableBytes { raw in
            raw.storeBigEndian(producerID.rawValue, at: RecordBatchHeader.FieldOffset.producerID)
            raw.storeBigEndian(epoch.rawValue, at: RecordBatchHeader.FieldOffset.producerEpoch)
            raw.storeBigEndian(baseSequence.rawValue, at: RecordBatchHeader.FieldOffset.baseSequence)
            RecordBatch.updateChecksum(raw)
        }
    }

    /// Fails everything not yet sent (close without flush).
    mutating func abandonUnsent(_ error: KafkaClientError) -> [Finished] {
        var finished: [Finished] = []
        for topicPartition in partitions.keys {
            var queue = partitions[topicPartition]!
            seal(&queue, topicPartition: topicPartition)
            while let batch = queue.sealed.popFirst() {
                usedBytes -= batch.reservedBytes
                finished += batch.completions.map { Finished(completion: $0, result: .failure(error)) }
            }
            partitions[topicPartition] = queue
        }
        return finished
    }
}
