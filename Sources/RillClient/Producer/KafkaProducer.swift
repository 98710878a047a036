import DequeModule
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RillFormat
import RillProtocol
#if canImport(Glibc)
import Glibc
#endif

/// A Kafka producer: batching per partition (`batch.size`, `linger.ms`), compression,
/// partitioners, acks, retries with backoff within `delivery.timeout.ms`, and idempotence (on by
/// default: no duplicates, no reordering across retries).
///
/// Two ways to send: `send` waits for the acknowledgement and returns where the record landed;
/// `enqueue` returns as soon as the record is buffered and reports its fate on
/// `deliveryReports`. A failed delivery says whether it failed for certain or its outcome is
/// unknown (`KafkaClientError.outcome`).
///
/// Thread-safe: the accumulator is behind one lock held for microseconds; a single sender task
/// drains it and keeps up to `max.in.flight.requests.per.connection` requests per broker.
public final class KafkaProducer: Sendable {
    public let configuration: ProducerConfiguration
    public let cluster: KafkaCluster
    private let ownsCluster: Bool
    private let state: NIOLockedValueBox<State>
    private let wakeup = WakeupSignal()
    private let reports: AsyncStream<[DeliveryReport]>.Continuation
    /// Delivery reports for records sent with `enqueue`, in completion order.
    public let deliveryReports: DeliveryReports
    /// The client's loop (`cluster.executor`) keeps the producer's timers too.
    private var timerLoop: any EventLoop { cluster.executor.eventLoop }
    private let senderTask: NIOLockedValueBox<Task<Void, Never>?>

    struct State {
        var accumulator: RecordAccumulator
        var partitioner: PartitionerState
        var inFlightRequests: [Int32: Int] = [:]
        /// Per broker, the write turn the next drained request gets and the turn that may write
        /// now: requests are written in the order they were drained, whatever order their tasks
        /// run in (a later batch of a partition overtaking an earlier one breaks its sequence).
        var nextWriteTurn: [Int32: UInt64] = [:]
        var currentWriteTurn: [Int32: UInt64] = [:]
        var writeTurnWaiters: [Int32: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        var memoryWaiters: Deque<CheckedContinuation<Void, Never>> = []
        var flushWaiters: [CheckedContinuation<Void, Never>] = []
        var timer = DeadlineTimer()
        var isClosed = false
        var isResettingProducerID = false
        /// Completions taken from the accumulator whose reports are not emitted yet; `flush`
        /// waits for them too, or `close` could end the report stream before they are out.
        var unreportedCompletions = 0

        var isIdle: Bool { accumulator.isEmpty && unreportedCompletions == 0 }

        /// The flush waiters to resume when nothing is left; clears them.
        mutating func takeFlushWaitersIfIdle() -> [CheckedContinuation<Void, Never>] {
            guard isIdle, !flushWaiters.isEmpty else { return [] }
            accumulator.isFlushing = false
            defer { flushWaiters = [] }
            return flushWaiters
        }
    }

    /// Connects (to learn the cluster) and, when idempotent, gets a producer id.
    public static func start(configuration: ProducerConfiguration, cluster: KafkaCluster? = nil) async throws -> KafkaProducer {
        try configuration.validate()
        let producer = KafkaProducer(configuration: configuration, cluster: cluster)
        do {
            try await producer.cluster.refreshMetadata(topics: [])
            if configuration.isIdempotent {
                let (id, epoch) = try await producer.initProducerID()
                producer.state.withLockedValue { $0.accumulator.producerID = id; $0.accumulator.producerEpoch = epoch }
            }
        } catch {
            await producer.close()
            throw error
        }
        producer.startSender()
        return producer
    }

    private init(configuration: ProducerConfiguration, cluster: KafkaCluster?) {
        self.configuration = configuration
        self.cluster = cluster ?? KafkaCluster(configuration: configuration.client)
        ownsCluster = cluster == nil
        let settings = RecordAccumulator.Settings(
            batchSize: configuration.batchSize, lingerNanoseconds: UInt64(configuration.lingerMilliseconds) * 1_000_000,
            bufferMemory: configuration.bufferMemory, compression: configuration.compression,
            maximumRequestSize: configuration.maximumRequestSize, isIdempotent: configuration.isIdempotent,
            deliveryTimeoutNanoseconds: UInt64(configuration.deliveryTimeoutMilliseconds) * 1_000_000,
            retryBackoffNanoseconds: UInt64(configuration.client.retryBackoffMilliseconds) * 1_000_000,
            retries: configuration.retries)
        state = NIOLockedValueBox(State(accumulator: RecordAccumulator(settings: settings), partitioner: PartitionerState(strategy: configuration.partitioner, batchSize: configuration.batchSize)))
        let (reportStream, reports) = AsyncStream<[DeliveryReport]>.makeStream()
        self.reports = reports
        deliveryReports = DeliveryReports(stream: reportStream)
        senderTask = NIOLockedValueBox(nil)
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    // MARK: Sending

    /// Sends a record and waits until it is acknowledged (or has failed).
    public func send(_ record: ProducerRecord) async throws -> RecordMetadata {
        try await withCheckedThrowingContinuation { continuation in
            Task { await self.append(record, completion: .waiter(RecordAccumulator.Waiter(continuation))) }
        }
    }

    /// Buffers a record and returns; its fate arrives on `deliveryReports` with `context`.
    /// Waits only when `buffer.memory` is full (back-pressure), at most `max.block.ms`.
    public func enqueue(_ record: ProducerRecord, context: UInt64 = 0) async throws {
        if try tryAppend(record, completion: .report(context)) { return }
        try await appendOrThrow(record, completion: .report(context))
    }

    /// Buffers a record if that needs no waiting and returns true; returns false when the
    /// buffer is full or the topic's partitions are not known yet (then use `enqueue`, which
    /// waits). The fastest way to send: no suspension, one lock, one hash lookup.
    public func offer(_ record: ProducerRecord, context: UInt64 = 0) throws -> Bool {
        try tryAppend(record, completion: .report(context))
    }

    /// Buffers a record without any report (`flush` to know it is out).
    public func enqueueUnreported(_ record: ProducerRecord) async throws {
        if try tryAppend(record, completion: .none) { return }
        try await appendOrThrow(record, completion: .none)
    }

    private func append(_ record: ProducerRecord, completion: RecordAccumulator.Completion) async {
        do {
            if try tryAppend(record, completion: completion) { return }
            try await appendOrThrow(record, completion: completion)
        } catch let error as KafkaClientError {
            finish([.failed(completion, error)])
        } catch {
            finish([.failed(completion, KafkaClientError(.cancelled, "\(error)"))])
        }
    }

    /// The synchronous path: true when appended; false when the slow path (metadata, waiting
    /// for memory) must run.
    private func tryAppend(_ record: ProducerRecord, completion: RecordAccumulator.Completion) throws -> Bool {
        let timestamp = record.timestamp ?? Self.wallClock()
        let outcome = try state.withLockedValue { state in
            guard !state.isClosed else { throw KafkaClientError(.closed, "the producer is closed") }
            return state.accumulator.append(record, timestamp: timestamp, completion: completion, partitioner: &state.partitioner, now: Self.now)
        }
        return try handle(outcome, record: record)
    }

    private func handle(_ outcome: RecordAccumulator.AppendOutcome, record: ProducerRecord) throws -> Bool {
        switch outcome {
        case .appended(let wake):
            if wake { wakeup.signal() }
            return true
        case .tooLarge(let size):
            throw KafkaClientError(.recordTooLarge, "record of about \(size) bytes exceeds max.request.size \(configuration.maximumRequestSize)")
        case .unknownPartition:
            throw KafkaClientError(.unknownTopicOrPartition, "\(record.topic) has no partition \(record.partition ?? -1)")
        case .bufferFull, .unknownTopic:
            return false
        }
    }

    /// The slow path: learns the topic's partitions, then waits for buffer space if needed.
    private func appendOrThrow(_ record: ProducerRecord, completion: RecordAccumulator.Completion) async throws {
        if state.withLockedValue({ $0.accumulator.partitionCount(of: record.topic) == nil }) {
            let count = try await partitionCount(of: record.topic)
            state.withLockedValue { $0.accumulator.setPartitionCount(count, of: record.topic) }
        }
        let deadline = Self.now() + UInt64(configuration.maximumBlockMilliseconds) * 1_000_000
        while true {
            if try tryAppend(record, completion: completion) { return }
            guard Self.now() < deadline else {
                throw KafkaClientError(.bufferExhausted, "buffer.memory stayed full for max.block.ms")
            }
            await waitForMemory(until: deadline)
        }
    }

    static func wallClock() -> Timestamp {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Timestamp(milliseconds: Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000)
    }

    /// Nanoseconds from now until `deadline` (monotonic), 0 when it has passed. One reading of
    /// the clock: read twice, it can pass the deadline between the test and the subtraction.
    static func nanoseconds(until deadline: UInt64) -> Int64 {
        let now = Self.now()
        return deadline > now ? Int64(deadline - now) : 0
    }

    private func waitForMemory(until deadline: UInt64) async {
        await withCheckedContinuation { continuation in
            state.withLockedValue { $0.memoryWaiters.append(continuation) }
            let remaining = Self.nanoseconds(until: deadline)
            // Wake up at the deadline even if no memory was freed, to report the timeout.
            timerLoop.scheduleTask(in: .nanoseconds(remaining)) { [weak self] in self?.wakeMemoryWaiters() }
        }
    }

    private func wakeMemoryWaiters() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            defer { state.memoryWaiters.removeAll() }
            return Array(state.memoryWaiters)
        }
        for waiter in waiters { waiter.resume() }
    }

    private func partitionCount(of topic: String) async throws -> Int32 {
        if let known = cluster.metadataSnapshot.topics[topic], known.errorCode == .none, known.partitionCount > 0 {
            return Int32(known.partitionCount)
        }
        let info = try await cluster.topicMetadata(topic, allowAutoTopicCreation: true)
        guard info.errorCode == .none, info.partitionCount > 0 else {
            throw KafkaClientError.broker(info.errorCode == .none ? .unknownTopicOrPartition : info.errorCode, "no partitions for topic '\(topic)'")
        }
        return Int32(info.partitionCount)
    }

    /// Waits until every record buffered so far has been acknowledged or has failed.
    public func flush() async {
        await withCheckedContinuation { continuation in
            let isEmpty = state.withLockedValue { state -> Bool in
                if state.isIdle { return true }
                state.accumulator.isFlushing = true
                state.flushWaiters.append(continuation)
                return false
            }
            if isEmpty { continuation.resume() } else { wakeup.signal() }
        }
    }

    /// Flushes, stops the sender and closes the connections (when the producer owns them).
    public func close() async {
        if state.withLockedValue({ !$0.isClosed }) { await flush() }
        state.withLockedValue { $0.isClosed = true; $0.timer.cancel() }
        wakeup.finish()
        if let task = senderTask.withLockedValue({ $0 }) { await task.value }
        reports.finish()
        if ownsCluster { await cluster.close() }
    }

    // MARK: Sender

    private func startSender() {
        let task = Task(executorPreference: cluster.executor) { await self.runSender() }
        senderTask.withLockedValue { $0 = task }
    }

    private func runSender() async {
        repeat {
            drainAndSend()
        } while await wakeup.wait()
    }

    /// One pass: expire old batches, drain what may be sent, start the requests, arm the timer.
    private func drainAndSend() {
        let maximumInFlight = configuration.maximumInFlightRequests
        let metadata = cluster.metadataSnapshot
        let now = Self.now()
        let (requests, turns, expired, deadline, needsReset) = state.withLockedValue { state in
            let expired = state.accumulator.expire(now: now)
            if !expired.isEmpty { state.unreportedCompletions += 1 }
            let inFlight = state.inFlightRequests
            let requests = state.accumulator.drain(
                now: now, leader: { metadata.leader(of: $0.topic, partition: $0.partition) },
                canSend: { inFlight[$0, default: 0] < maximumInFlight })
            var turns: [Int32: UInt64] = [:]
            for broker in requests.keys {
                state.inFlightRequests[broker, default: 0] += 1
                turns[broker] = state.nextWriteTurn[broker, default: 0]
                state.nextWriteTurn[broker] = turns[broker]! + 1
            }
            let needsReset = state.accumulator.needsProducerIDReset && state.accumulator.inFlightCount == 0 && !state.isResettingProducerID
            if needsReset { state.isResettingProducerID = true }
            return (requests, turns, expired, state.accumulator.nextDeadline(after: now), needsReset)
        }
        if !expired.isEmpty { report(expired) }
        for (broker, batches) in requests {
            // Owned by the producer: it ends when the request is answered or has failed.
            Task(executorPreference: cluster.executor) { await self.sendRequest(batches, to: broker, turn: turns[broker]!) }
        }
        if needsReset { Task { await self.resetProducerID() } }
        armTimer(deadline)
        refreshMetadataIfLeadersUnknown(metadata)
    }

    private func armTimer(_ deadline: UInt64?) {
        guard let deadline else { return }
        state.withLockedValue { state in
            // `now()` and NIO's deadlines are both CLOCK_MONOTONIC nanoseconds.
            state.timer.arm(for: .uptimeNanoseconds(deadline), on: timerLoop) { [weak self] in
                guard let self else { return }
                self.state.withLockedValue { $0.timer.fired() }
                self.wakeup.signal()
            }
        }
    }

    private func refreshMetadataIfLeadersUnknown(_ metadata: ClusterMetadata) {
        let missing = state.withLockedValue { state in
            state.accumulator.topicsWithAPartition { metadata.leader(of: $0, partition: $1) == nil }
        }
        guard !missing.isEmpty else { return }
        Task {
            if let metadata = try? await cluster.refreshMetadata(topics: missing) {
                state.withLockedValue { state in
                    for (name, topic) in metadata.topics where state.accumulator.partitionCount(of: name) != nil {
                        state.accumulator.setPartitionCount(Int32(topic.partitionCount), of: name)
                    }
                }
            }
            try? await Task.sleep(for: .milliseconds(configuration.client.retryBackoffMilliseconds))
            wakeup.signal()
        }
    }

    /// Sends one Produce request to `broker` and applies the answer to each batch.
    private func sendRequest(_ batches: [RecordAccumulator.ProducerBatch], to broker: Int32, turn: UInt64) async {
        let results = await produce(batches, to: broker, turn: turn)
        let now = Self.now()
        let finished = state.withLockedValue { state -> [RecordAccumulator.Finished] in
            state.inFlightRequests[broker, default: 1] -= 1
            var finished: [RecordAccumulator.Finished] = []
            for (batch, result) in zip(batches, results) { finished += state.accumulator.complete(batch, with: result, now: now) }
            state.unreportedCompletions += 1
            return finished
        }
        report(finished)
        wakeup.signal()
    }

    /// Reports batches that left the accumulator (sent, failed or expired) to their senders,
    /// then resumes what their leaving may unblock: `flush` callers once nothing is left, and
    /// senders waiting for buffer memory (they check again, so a wake-up that frees none is
    /// harmless). The caller counted the batches in `unreportedCompletions` in the same locked
    /// section that took them from the accumulator, so `flush` cannot finish in between; this
    /// takes that count back.
    private func report(_ finished: [RecordAccumulator.Finished]) {
        finish(finished)
        let flushDone = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.unreportedCompletions -= 1
            return state.takeFlushWaitersIfIdle()
        }
        wakeMemoryWaiters()
        for waiter in flushDone { waiter.resume() }
    }

    /// Sends the batches in one Produce request, written in its drain-order `turn`, and
    /// returns each batch's result.
    private func produce(_ batches: [RecordAccumulator.ProducerBatch], to broker: Int32, turn: UInt64) async -> [RecordAccumulator.BatchResult] {
        let topics = Dictionary(grouping: batches, by: \.topicPartition.topic).map { topic, members in
            ProduceRequest.Topic(name: topic, partitions: members.map { .init(partition: $0.topicPartition.partition, records: $0.bytes) })
        }
        let request = ProduceRequest(acks: configuration.acks, timeoutMilliseconds: Int32(clamping: configuration.client.requestTimeoutMilliseconds), topics: topics)
        await waitForWriteTurn(of: broker, turn)
        let started = await start(request, to: broker)
        passWriteTurn(of: broker)
        switch started {
        case .notConnected(let error):
            // Never sent: a certain failure of this attempt.
            let failure = KafkaClientError(.connectionFailed, "\(error)")
            _ = try? await cluster.refreshMetadata(topics: Array(Set(batches.map(\.topicPartition.topic))))
            return batches.map { _ in .retriable(failure, mayHaveBeenAppended: false) }
        case .refused(let error):
            return batches.map { _ in .fatal(error) }
        case .writeFailed(let connection, let error):
            await cluster.discard(connection)
            return batches.map { _ in .retriable(KafkaClientError(.connectionClosed, "\(error)", outcome: .unknown), mayHaveBeenAppended: true) }
        case .written(_, nil):
            return batches.map { _ in .success(baseOffset: .none, logAppendTime: .none) }
        case .written(let connection, let pending?):
            let response: ProduceResponse
            do {
                response = try await pending.response()
            } catch {
                await cluster.discard(connection)
                let failure = error as? KafkaClientError ?? KafkaClientError(.connectionClosed, "\(error)", outcome: .unknown)
                return batches.map { _ in .retriable(failure, mayHaveBeenAppended: true) }
            }
            return classify(response, batches: batches)
        }
    }

    /// How far a Produce request got during its write turn.
    private enum StartedRequest {
        /// No connection: nothing was sent.
        case notConnected(any Error)
        /// The connection cannot carry the request (no Produce version in common): nothing was sent.
        case refused(KafkaClientError)
        /// Writing failed (acks=0): it may have reached the broker.
        case writeFailed(BrokerConnection, any Error)
        /// Written (queued for writing, in order); the response to wait for, none with acks=0.
        case written(BrokerConnection, BrokerConnection.PendingResponse<ProduceResponse>?)
    }

    private func start(_ request: ProduceRequest, to broker: Int32) async -> StartedRequest {
        let connection: BrokerConnection
        do {
            connection = try await cluster.connection(to: broker)
        } catch {
            return .notConnected(error)
        }
        if configuration.acks == 0 {
            do {
                try await connection.sendWithoutResponse(request)
                return .written(connection, nil)
            } catch {
                return .writeFailed(connection, error)
            }
        }
        do {
            return .written(connection, try connection.start(request, timeout: configuration.client.requestTimeout))
        } catch {
            return .refused(error as? KafkaClientError ?? KafkaClientError(.unsupportedVersion, "\(error)"))
        }
    }

    /// Waits until the requests to `broker` drained before this one have been written.
    private func waitForWriteTurn(of broker: Int32, _ turn: UInt64) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let isNow = state.withLockedValue { state -> Bool in
                if state.currentWriteTurn[broker, default: 0] == turn { return true }
                state.writeTurnWaiters[broker, default: [:]][turn] = continuation
                return false
            }
            if isNow { continuation.resume() }
        }
    }

    /// Lets the next request to `broker` write (every turn is passed exactly once).
    private func passWriteTurn(of broker: Int32) {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            let turn = state.currentWriteTurn[broker, default: 0] + 1
            state.currentWriteTurn[broker] = turn
            return state.writeTurnWaiters[broker]?.removeValue(forKey: turn)
        }
        next?.resume()
    }

    /// Maps each partition's error code to success, retry or failure.
    private func classify(_ response: ProduceResponse, batches: [RecordAccumulator.ProducerBatch]) -> [RecordAccumulator.BatchResult] {
        var answers: [TopicPartition: ProduceResponse.Partition] = [:]
        for topic in response.topics {
            for partition in topic.partitions { answers[TopicPartition(topic.name, partition.partition)] = partition }
        }
        var needsMetadata = false
        let results = batches.map { batch -> RecordAccumulator.BatchResult in
            guard let answer = answers[batch.topicPartition] else {
                return .retriable(KafkaClientError(.protocolViolation, "no answer for \(batch.topicPartition)", outcome: .unknown), mayHaveBeenAppended: true)
            }
            let error = KafkaClientError.broker(answer.errorCode, answer.errorMessage ?? "producing to \(batch.topicPartition)")
            switch answer.errorCode {
            case .none:
                return .success(baseOffset: answer.baseOffset, logAppendTime: answer.logAppendTime)
            case .notLeaderOrFollower, .leaderNotAvailable, .unknownTopicOrPartition, .notEnoughReplicas, .kafkaStorageError, .networkException:
                needsMetadata = true
                return .retriable(error, mayHaveBeenAppended: false)
            case .requestTimedOut, .notEnoughReplicasAfterAppend:
                return .retriable(error, mayHaveBeenAppended: true)
            case .corruptMessage, .outOfOrderSequenceNumber:
                return .retriable(error, mayHaveBeenAppended: false)
            default:
                return .fatal(error)
            }
        }
        if needsMetadata {
            Task { _ = try? await cluster.refreshMetadata(topics: Array(Set(batches.map(\.topicPartition.topic)))) }
        }
        return results
    }

    /// After a batch of an idempotent producer failed for good, its sequence is gone: take a
    /// new producer id and restart every partition's sequences (Kafka bumps the epoch).
    private func resetProducerID() async {
        while true {
            do {
                let (id, epoch) = try await initProducerID()
                let failed = state.withLockedValue { state -> [RecordAccumulator.Finished] in
                    let failed = state.accumulator.resetProducerID(id, epoch: epoch)
                    state.isResettingProducerID = false
                    if !failed.isEmpty { state.unreportedCompletions += 1 }
                    return failed
                }
                if !failed.isEmpty { report(failed) }
                wakeup.signal()
                return
            } catch {
                if state.withLockedValue({ $0.isClosed }) { return }
                try? await Task.sleep(for: .milliseconds(configuration.client.retryBackoffMilliseconds))
            }
        }
    }

    private func initProducerID() async throws -> (ProducerID, ProducerEpoch) {
        let connection = try await cluster.anyConnection()
        let response = try await connection.send(InitProducerIdRequest(transactionTimeoutMilliseconds: 60_000), timeout: configuration.client.requestTimeout)
        guard response.errorCode == .none else { throw KafkaClientError.broker(response.errorCode, "InitProducerId failed") }
        return (response.producerID, response.producerEpoch)
    }

    /// Resumes waiters and emits delivery reports, outside the lock.
    private func finish(_ finished: [RecordAccumulator.Finished]) {
        guard !finished.isEmpty else { return }
        var batch: [DeliveryReport] = []
        batch.reserveCapacity(finished.reduce(0) { $0 + $1.completions.reports.count })
        for item in finished {
            switch item.result {
            case .success(let result):
                let offset = { (index: Int32) in result.baseOffset == .none ? Offset.none : result.baseOffset + Int64(index) }
                for (index, context) in item.completions.reports {
                    batch.append(DeliveryReport(topicPartition: item.topicPartition, offset: offset(index), context: context, error: nil))
                }
                for (index, waiter) in item.completions.waiters {
                    let timestamp = result.logAppendTime != .none ? result.logAppendTime : (Int(index) < result.timestamps.count ? result.timestamps[Int(index)] : .none)
                    waiter.continuation.resume(returning: RecordMetadata(topicPartition: item.topicPartition, offset: offset(index), timestamp: timestamp))
                }
            case .failure(let error):
                for (_, context) in item.completions.reports {
                    batch.append(DeliveryReport(topicPartition: item.topicPartition, offset: .none, context: context, error: error))
                }
                for (_, waiter) in item.completions.waiters { waiter.continuation.resume(throwing: error) }
            }
        }
        if !batch.isEmpty { reports.yield(batch) }
    }
}

/// Delivery reports as an async sequence, delivered internally in batches (one lock per batch
/// of records, not per record).
public struct DeliveryReports: AsyncSequence, Sendable {
    public typealias Element = DeliveryReport
    let stream: AsyncStream<[DeliveryReport]>

    public struct AsyncIterator: AsyncIteratorProtocol {
        var upstream: AsyncStream<[DeliveryReport]>.AsyncIterator
        var buffered: [DeliveryReport] = []
        var index = 0

        public mutating func next() async -> DeliveryReport? {
            while index >= buffered.count {
                guard let next = await upstream.next() else { return nil }
                buffered = next
                index = 0
            }
            defer { index += 1 }
            return buffered[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(upstream: stream.makeAsyncIterator()) }

    /// The reports in the batches they were resolved in (cheaper for high rates).
    public var batches: AsyncStream<[DeliveryReport]> { stream }
}
