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

    /// A `send` caller waiting for its record's fate. A class, so that `Completion`'s layout is
    /// known to the compiler (CheckedContinuation's is not: it lives in a resilient library) and
    /// copying a completion on the per-record path needs no runtime enum witness calls.
    final class Waiter: Sendable {
        let continuation: CheckedContinuation<RecordMetadata, any Error>
        init(_ continuation: CheckedContinuation<RecordMetadata, any Error>) { self.continuation = continuation }
    }

    /// What happens to a record once its batch is resolved.
    enum Completion {
        case waiter(Waiter)
        case report(UInt64)
        case none
    }

    /// The completions of one batch's records, by record index — two plain arrays rather than
    /// an enum per record, because this is the producer's per-record path.
    struct Completions {
        var reports: [(index: Int32, context: UInt64)] = []
        var waiters: [(index: Int32, waiter: Waiter)] = []

        mutating func add(_ completion: Completion, index: Int32) {
            switch completion {
            case .report(let context): reports.append((index, context))
            case .waiter(let waiter): waiters.append((index, waiter))
            case .none: break
            }
        }
    }

    struct OpenBatch {
        var builder: RecordBatchBuilder
        var createdAt: UInt64
        var estimatedBytes: Int
        var reservedBytes: Int
        var completions: Completions
    }

    /// A sealed batch, built (and sequenced) the first time it is drained.
    struct ProducerBatch {
        let topicPartition: TopicPartition
        var builder: RecordBatchBuilder?
        var bytes: ByteBuffer?
        let createdAt: UInt64
        let reservedBytes: Int
        var completions: Completions
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
        /// The topic's partition count is not known yet (metadata needed).
        case unknownTopic
        /// The record names a partition the topic does not have.
        case unknownPartition
    }

    /// The answer to one batch in a Produce response (or the lack of one).
    enum BatchResult {
        case success(baseOffset: Offset, logAppendTime: Timestamp)
        /// May succeed on another attempt; `mayHaveBeenAppended` when the attempt's outcome is unknown.
        case retriable(KafkaClientError, mayHaveBeenAppended: Bool)
        case fatal(KafkaClientError)
    }

    /// A batch whose records' fate is decided, for the shell to report. On success record i
    /// got `baseOffset + i`.
    struct Finished {
        var topicPartition: TopicPartition
        var completions: Completions
        var result: Result<(baseOffset: Offset, timestamps: [Timestamp], logAppendTime: Timestamp), KafkaClientError>

        /// A single record failed before it reached a batch.
        static func failed(_ completion: Completion, _ error: KafkaClientError) -> Finished {
            var completions = Completions()
            completions.add(completion, index: 0)
            return Finished(topicPartition: TopicPartition("", -1), completions: completions, result: .failure(error))
        }
    }

    /// One topic: its partition count, the partitioner's state for it, and a queue per
    /// partition — so a record costs one hash lookup (its topic name).
    struct TopicState {
        var partitionCount: Int32
        var queues: [PartitionQueue]
        var sticky: (partition: Int32, bytes: Int)?
        var roundRobinNext: Int32 = 0

        init(partitionCount: Int32) {
            self.partitionCount = partitionCount
            queues = Array(repeating: PartitionQueue(), count: Int(partitionCount))
        }
    }

    let settings: Settings
    private(set) var topics: [String: TopicState] = [:]
    /// The topic the last record went to and its place in `topics`: producers mostly send to
    /// one topic, and comparing a name with the same string is cheaper than hashing it per record.
    /// Only adding a topic moves places (`setPartitionCount` forgets it then).
    private var lastTopic: (name: String, index: [String: TopicState].Index)?
    private(set) var usedBytes = 0
    var producerID = ProducerID.none
    var producerEpoch = ProducerEpoch.none
    /// Seal every open batch at the next drain (flush and close).
    var isFlushing = false
    /// A batch of an idempotent producer failed for good: its sequence is lost, so the producer
    /// must get a new producer id before sending more (Kafka's epoch bump).
    private(set) var needsProducerIDReset = false

    init(settings: Settings) { self.settings = settings }

    var inFlightCount: Int { topics.values.reduce(0) { total, topic in total + topic.queues.reduce(0) { $0 + $1.inFlight } } }
    var isEmpty: Bool { topics.values.allSatisfy { $0.queues.allSatisfy { $0.open == nil && $0.sealed.isEmpty && $0.inFlight == 0 } } }

    /// Every partition with a queue (for metadata checks).
    var topicPartitions: [TopicPartition] {
        topics.flatMap { name, topic in (0..<topic.partitionCount).map { TopicPartition(name, $0) } }
    }

    func partitionCount(of topic: String) -> Int32? { topics[topic]?.partitionCount }

    /// The topics that have a partition for which `matches(topic, partition)` holds.
    func topicsWithAPartition(where matches: (String, Int32) -> Bool) -> [String] {
        topics.compactMap { name, topic in (0..<topic.partitionCount).contains { matches(name, $0) } ? name : nil }
    }

    /// Learns (or updates, when partitions were added) a topic's partition count.
    mutating func setPartitionCount(_ count: Int32, of topic: String) {
        guard count > 0 else { return }
        if var existing = topics[topic] {
            guard count > existing.partitionCount else { return }
            existing.queues += Array(repeating: PartitionQueue(), count: Int(count - existing.partitionCount))
            existing.partitionCount = count
            topics[topic] = existing
        } else {
            topics[topic] = TopicState(partitionCount: count)
            lastTopic = nil  // an insert may move every entry
        }
    }

    /// Runs `body` on a partition's queue in place (no copy of its batches).
    @inline(__always)
    private mutating func withQueue<Result>(_ topicPartition: TopicPartition, _ body: (inout PartitionQueue) -> Result) -> Result {
        body(&topics[topicPartition.topic]!.queues[Int(topicPartition.partition)])
    }

    // MARK: Append

    /// Appends a record to its partition, chosen by `record.partition` or the partitioner.
    /// `now` is called only when a batch opens (the clock is not read per record).
    mutating func append(_ record: ProducerRecord, timestamp: Timestamp, completion: Completion, partitioner: inout PartitionerState, now: () -> UInt64) -> AppendOutcome {
        let size = record.estimatedSize
        guard size + RecordBatchHeader.size <= settings.maximumRequestSize else { return .tooLarge(size) }
        guard usedBytes + size <= settings.bufferMemory else { return .bufferFull }
        let settings = self.settings
        // Mutated in place in the dictionary: a copy of the topic would give the open batch's
        // buffer a second owner, and every record written would copy the whole batch.
        let index: [String: TopicState].Index
        if let last = lastTopic, last.name == record.topic {
            index = last.index
        } else {
            guard let found = topics.index(forKey: record.topic) else { return .unknownTopic }
            index = found
            lastTopic = (record.topic, found)
        }
        let outcome = topics.values[index].append(record, size: size, timestamp: timestamp, completion: completion, partitioner: &partitioner, now: now, settings: settings)
        if case .appended = outcome { usedBytes += size }
        return outcome
    }

    static func append(_ record: ProducerRecord, size: Int, timestamp: Timestamp, completion: Completion, now: () -> UInt64,
                       to queue: inout PartitionQueue, topicPartition: TopicPartition, settings: Settings) -> AppendOutcome {
        var wake = false
        if let open = queue.open, open.estimatedBytes + size > settings.batchSize || open.estimatedBytes + size > settings.maximumRequestSize {
            Self.seal(&queue, topicPartition: topicPartition)
            wake = true
        }
        if queue.open == nil {
            let capacity = min(max(settings.batchSize, size + RecordBatchHeader.size), settings.maximumRequestSize)
            queue.open = OpenBatch(builder: RecordBatchBuilder(compression: settings.compression, initialCapacity: capacity), createdAt: now(), estimatedBytes: RecordBatchHeader.size, reservedBytes: 0, completions: Completions())
            wake = true
        }
        queue.open!.builder.append(key: record.key, value: record.value, headers: record.headers, timestamp: timestamp)
        queue.open!.estimatedBytes += size
        queue.open!.reservedBytes += size
        if case .none = completion {} else { queue.open!.completions.add(completion, index: queue.open!.builder.recordCount - 1) }
        if queue.open!.estimatedBytes >= settings.batchSize {
            Self.seal(&queue, topicPartition: topicPartition)
            wake = true
        }
        return .appended(wakeSender: wake)
    }

    fileprivate static func seal(_ queue: inout PartitionQueue, topicPartition: TopicPartition) {
        guard let open = queue.open.take() else { return }
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
        for topic in topics.keys.sorted() {
            for partition in 0..<topics[topic]!.partitionCount {
                let topicPartition = TopicPartition(topic, partition)
                guard let broker = leader(topicPartition), canSend(broker) else { continue }
                let size = requestBytes[broker, default: 0]
                let context = DrainContext(settings: settings, producerID: producerID, producerEpoch: producerEpoch, isFlushing: isFlushing, now: now)
                let drained = withQueue(topicPartition) { queue in
                    Self.drainOne(&queue, topicPartition: topicPartition, context: context, requestBytesSoFar: size)
                }
                if let batch = drained {
                    requests[broker, default: []].append(batch)
                    requestBytes[broker, default: 0] += batch.bytes!.readableBytes
                }
            }
        }
        return requests
    }

    /// What draining one partition needs from the accumulator (passed in, so the partition's
    /// queue can be mutated in place without overlapping access to `self`).
    struct DrainContext {
        var settings: Settings
        var producerID: ProducerID
        var producerEpoch: ProducerEpoch
        var isFlushing: Bool
        var now: UInt64
    }

    /// The partition's next batch to send, if any may go now.
    private static func drainOne(_ queue: inout PartitionQueue, topicPartition: TopicPartition, context: DrainContext, requestBytesSoFar: Int) -> ProducerBatch? {
        let settings = context.settings
        let now = context.now
        if queue.isRecovering && queue.inFlight > 0 { return nil }
        if queue.sealed.isEmpty, let open = queue.open, context.isFlushing || now >= open.createdAt + settings.lingerNanoseconds {
            Self.seal(&queue, topicPartition: topicPartition)
        }
        // Only the retry time is read: a copy of the first batch kept alive here would be a
        // second owner of its buffer, and building would copy the whole batch (copy-on-write).
        guard let retryAt = queue.sealed.first?.retryAt, retryAt <= now else { return nil }
        // Popped before building so the batch's buffer has one owner (no copy on write).
        var batch = queue.sealed.removeFirst()
        if batch.bytes == nil { build(&batch, queue: &queue, context: context) }
        if requestBytesSoFar > 0, requestBytesSoFar + batch.bytes!.readableBytes > settings.maximumRequestSize {
            queue.sealed.prepend(batch)
            return nil
        }
        queue.inFlight += 1
        batch.attempts += 1
        return batch
    }

    /// Builds the batch bytes, stamping the producer id and the partition's next sequence.
    private static func build(_ batch: inout ProducerBatch, queue: inout PartitionQueue, context: DrainContext) {
        guard var builder = batch.builder.take() else { return }
        if context.settings.isIdempotent {
            builder.producerID = context.producerID
            builder.producerEpoch = context.producerEpoch
            builder.baseSequence = queue.nextSequence
            queue.nextSequence = queue.nextSequence.advanced(by: builder.recordCount)
        }
        do {
            batch.bytes = try builder.build()
        } catch {
            preconditionFailure("building a batch from valid records cannot fail: \(error)")
        }
    }

    // MARK: Completion

    /// Records the answer to one in-flight batch; returns the records now decided.
    mutating func complete(_ batch: ProducerBatch, with result: BatchResult, now: UInt64) -> [Finished] {
        var queue = topics[batch.topicPartition.topic]!.queues[Int(batch.topicPartition.partition)]
        topics[batch.topicPartition.topic]!.queues[Int(batch.topicPartition.partition)] = PartitionQueue()
        defer { topics[batch.topicPartition.topic]!.queues[Int(batch.topicPartition.partition)] = queue }
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
        return finished
    }

    private func sequence(of batch: ProducerBatch) -> Int64 {
        guard let bytes = batch.bytes, let sequence = bytes.getInteger(at: bytes.readerIndex + RecordBatchHeader.FieldOffset.baseSequence, as: Int32.self) else { return .max }
        return Int64(sequence)
    }

    private mutating func resolve(_ batch: ProducerBatch, base: Offset, logAppendTime: Timestamp) -> [Finished] {
        usedBytes -= batch.reservedBytes
        // Record timestamps only matter to `send` callers (RecordMetadata); decode them only then.
        var timestamps: [Timestamp] = []
        if !batch.completions.waiters.isEmpty, logAppendTime == .none, let bytes = batch.bytes,
           let decoded = try? RecordBatch(validating: bytes, verifyChecksum: false), let records = try? decoded.records() {
            timestamps = records.map { decoded.timestamp(of: $0) }
        }
        return [Finished(topicPartition: batch.topicPartition, completions: batch.completions, result: .success((base, timestamps, logAppendTime)))]
    }

    private mutating func fail(_ batch: ProducerBatch, _ error: KafkaClientError) -> [Finished] {
        usedBytes -= batch.reservedBytes
        var reported = error
        if batch.mayHaveBeenAppended { reported.outcome = .unknown }
        if settings.isIdempotent && batch.bytes != nil { needsProducerIDReset = true }
        return [Finished(topicPartition: batch.topicPartition, completions: batch.completions, result: .failure(reported))]
    }

    // MARK: Time

    /// Fails sealed and open batches older than `delivery.timeout.ms` that are not in flight.
    /// It runs before every drain and almost always finds nothing: the queues are looked at in
    /// place, topic by topic, with no list of partitions built.
    mutating func expire(now: UInt64) -> [Finished] {
        var expired: [ProducerBatch] = []
        for name in Array(topics.keys) {
            topics[name]!.takeExpired(topic: name, createdBefore: now, timeout: settings.deliveryTimeoutNanoseconds, into: &expired)
        }
        let error = KafkaClientError(.timedOut, "not delivered within delivery.timeout.ms")
        return expired.flatMap { fail($0, error) }
    }

    /// When the sender must look again without being woken, after a drain at `now`: the next
    /// linger, retry backoff or delivery timeout still to come. What is due already but was not
    /// drained waits for an event that wakes the sender anyway (an answer frees the in-flight
    /// limit or ends a retry, a metadata refresh finds a leader); counting it here would make
    /// the sender spin until that event.
    func nextDeadline(after now: UInt64) -> UInt64? {
        var deadline: UInt64?
        func consider(_ value: UInt64) { if value > now { deadline = min(deadline ?? value, value) } }
        for queue in topics.values.lazy.flatMap(\.queues) {
            if let open = queue.open {
                consider(open.createdAt + (isFlushing ? 0 : settings.lingerNanoseconds))
                consider(open.createdAt + settings.deliveryTimeoutNanoseconds)
            }
            if let first = queue.sealed.first { consider(first.retryAt); consider(first.createdAt + settings.deliveryTimeoutNanoseconds) }
        }
        return deadline
    }

    // MARK: Producer id reset

    /// Takes a new producer id after a lost sequence: every partition starts again at sequence
    /// 0, and batches already built get the new id and sequences in their headers — except
    /// those an earlier attempt may have appended under the old id: sent again under the new
    /// one, the broker could not tell them from new records. They fail with outcome `.unknown`,
    /// and are returned for the shell to report.
    @discardableResult
    mutating func resetProducerID(_ id: ProducerID, epoch: ProducerEpoch) -> [Finished] {
        precondition(inFlightCount == 0, "a producer id is reset only with nothing in flight")
        producerID = id
        producerEpoch = epoch
        needsProducerIDReset = false
        var finished: [Finished] = []
        for topicPartition in topicPartitions {
            var unresolved: [ProducerBatch] = []
            withQueue(topicPartition) { queue in
                queue.nextSequence = SequenceNumber(0)
                queue.isRecovering = false
                unresolved = queue.sealed.filter(\.mayHaveBeenAppended)
                queue.sealed.removeAll(where: \.mayHaveBeenAppended)
                for index in queue.sealed.indices where queue.sealed[index].bytes != nil {
                    let count = Int32(queue.sealed[index].recordCount)
                    Self.restamp(&queue.sealed[index].bytes!, producerID: id, epoch: epoch, baseSequence: queue.nextSequence)
                    queue.nextSequence = queue.nextSequence.advanced(by: count)
                }
            }
            for batch in unresolved {
                usedBytes -= batch.reservedBytes
                let error = KafkaClientError(.sequenceLost, "the producer took a new producer id; this batch may have been written under the old one and is not sent again", outcome: .unknown)
                finished.append(Finished(topicPartition: topicPartition, completions: batch.completions, result: .failure(error)))
            }
        }
        return finished
    }

    private static func restamp(_ bytes: inout ByteBuffer, producerID: ProducerID, epoch: ProducerEpoch, baseSequence: SequenceNumber) {
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
        for topicPartition in topicPartitions {
            var abandoned: [ProducerBatch] = []
            withQueue(topicPartition) { queue in
                Self.seal(&queue, topicPartition: topicPartition)
                while let batch = queue.sealed.popFirst() { abandoned.append(batch) }
            }
            for batch in abandoned {
                usedBytes -= batch.reservedBytes
                finished.append(Finished(topicPartition: topicPartition, completions: batch.completions, result: .failure(error)))
            }
        }
        return finished
    }
}

extension RecordAccumulator.TopicState {
    /// Moves to `expired` every batch of this topic older than `timeout` at `now` that is not in
    /// flight: a queue's sealed batches from the oldest, then its open batch once none is left.
    mutating func takeExpired(topic: String, createdBefore now: UInt64, timeout: UInt64, into expired: inout [RecordAccumulator.ProducerBatch]) {
        for partition in queues.indices {
            while let first = queues[partition].sealed.first, now >= first.createdAt + timeout {
                expired.append(queues[partition].sealed.removeFirst())
            }
            if queues[partition].sealed.isEmpty, let open = queues[partition].open, now >= open.createdAt + timeout {
                RecordAccumulator.seal(&queues[partition], topicPartition: TopicPartition(topic, Int32(partition)))
                expired.append(queues[partition].sealed.removeFirst())
            }
        }
    }

    /// Picks the partition and appends to its queue, in place.
    mutating func append(_ record: ProducerRecord, size: Int, timestamp: Timestamp, completion: RecordAccumulator.Completion,
                         partitioner: inout PartitionerState, now: () -> UInt64, settings: RecordAccumulator.Settings) -> RecordAccumulator.AppendOutcome {
        let partition: Int32
        if let chosen = record.partition {
            guard chosen >= 0 && chosen < partitionCount else { return .unknownPartition }
            partition = chosen
        } else {
            partition = partitioner.partition(key: record.key, recordBytes: size, partitionCount: partitionCount, sticky: &sticky, roundRobinNext: &roundRobinNext)
        }
        return RecordAccumulator.append(record, size: size, timestamp: timestamp, completion: completion, now: now,
                                        to: &queues[Int(partition)], topicPartition: TopicPartition(record.topic, partition), settings: settings)
    }
}
