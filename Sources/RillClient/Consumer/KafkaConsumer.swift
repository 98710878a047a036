import DequeModule
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RillFormat
import RillProtocol
import Synchronization

/// A Kafka consumer: of a consumer group's partitions (`subscribe`, with `group.id`) or of
/// partitions it picks itself (`assign`); `seek`, `seekToBeginning`, `seekToEnd`, `position`,
/// `pause`/`resume`, `auto.offset.reset`, committed offsets (`commitSync`, `commitAsync`,
/// auto-commit, `committed`), and records as batches (`poll`) or as an async sequence
/// (`records`). Fetching runs ahead in the background (one Fetch in flight per broker) while
/// the application handles what was polled. Group rebalances and their listener run inside
/// `poll`. Cancelling the task blocked in `poll` interrupts it, the role of Kafka's `wakeup()`.
/// One task polls at a time, as with Kafka's consumer.
public final class KafkaConsumer: Sendable {
    public let configuration: ConsumerConfiguration
    public let cluster: KafkaCluster
    private let ownsCluster: Bool
    let state = NIOLockedValueBox(State())
    /// Numbers the pollers waiting for data (`State.waiters`).
    private let waiterIDs = Atomic<UInt64>(0)
    /// The group's coordinator, when `group.id` is set.
    let coordinator: ConsumerCoordinator?

    struct PartitionState {
        /// The next offset `poll` will return; nil until reset or seek decides it.
        var position: Offset?
        /// The next offset to fetch (ahead of `position` by what is buffered).
        var fetchOffset: Offset?
        /// Records decoded from the front of `undecoded`, not yet polled (at most one batch's).
        var buffered = Deque<ConsumerRecord>()
        /// Whole batches fetched and not yet decoded (`FetchedRecordsDecoder`): `poll` decodes
        /// them a batch at a time.
        var undecoded = Deque<ByteBuffer>()
        /// Bytes in `undecoded`, for the prefetch limit.
        var bufferedBytes = 0
        var isPaused = false
        /// Bumped by every seek: fetch results for an older generation are dropped.
        var generation = 0
        var error: KafkaClientError?
    }

    /// Group membership as the consumer tracks it.
    struct GroupState {
        var subscription: Subscription?
        var listener: (any ConsumerRebalanceListener)?
        /// The topics subscribed to (a pattern's current matches).
        var subscribedTopics: Set<String> = []
        var hasJoined = false
        var needsRejoin = false
        /// A rebalance is running in `poll` (heartbeats pause; the coordinator holds the member).
        var isRebalancing = false
        /// The member was dropped: its partitions go to `partitionsLost`, not `partitionsRevoked`.
        var partitionsLost = false
        var fatalError: KafkaClientError?
        var nextSubscriptionCheck: ContinuousClock.Instant?
        /// Partition counts the leader assigned from (a change means a new assignment).
        var assignedCounts: [String: Int32]?
        var nextAutoCommit: ContinuousClock.Instant?
        var lastAsyncCommit: Task<Void, Never>?
        var heartbeats: Task<Void, Never>?
    }

    struct State {
        var group = GroupState()
        var lastPoll: ContinuousClock.Instant?
        var partitions: [TopicPartition: PartitionState] = [:]
        var fetchingBrokers: Set<Int32> = []
        var resetting: Set<TopicPartition> = []
        /// Pollers waiting for data, by a number from `waiterIDs`, with their deadlines.
        var waiters: [UInt64: (continuation: CheckedContinuation<Void, Never>, deadline: NIODeadline)] = [:]
        /// Ends the waits whose deadline passed: one timer for all of them, armed for the earliest.
        var waiterTimer = DeadlineTimer()
        var isClosed = false
        var rotation = 0
    }

    public init(configuration: ConsumerConfiguration, cluster: KafkaCluster? = nil) {
        self.configuration = configuration
        ownsCluster = cluster == nil
        let chosen = cluster ?? KafkaCluster(configuration: configuration.client)
        self.cluster = chosen
        coordinator = configuration.groupID.map { ConsumerCoordinator(groupID: $0, configuration: configuration, cluster: chosen) }
    }

    // MARK: Assignment and positions

    /// Replaces the assignment (not with `subscribe`: the group assigns then). Kept partitions
    /// keep their positions; new ones start at the group's committed offset (with `group.id`),
    /// else according to `auto.offset.reset`, unless a `seek` comes first.
    public func assign(_ partitions: [TopicPartition]) {
        state.withLockedValue { state in
            var next: [TopicPartition: PartitionState] = [:]
            for partition in partitions { next[partition] = state.partitions[partition] ?? PartitionState() }
            state.partitions = next
        }
        wakeWaiters()
    }

    public var assignment: [TopicPartition] { state.withLockedValue { $0.partitions.keys.sorted() } }

    /// The next `poll` returns records from `offset` on.
    public func seek(_ partition: TopicPartition, to offset: Offset) throws {
        try state.withLockedValue { state in
            guard var current = state.partitions.removeValue(forKey: partition) else {
                throw KafkaClientError(.invalidConfiguration, "\(partition) is not assigned")
            }
            current.position = offset
            current.fetchOffset = offset
            current.buffered.removeAll()
            current.undecoded.removeAll()
            current.bufferedBytes = 0
            current.generation += 1
            current.error = nil
            state.partitions[partition] = current
        }
        wakeWaiters()
    }

    public func seekToBeginning(_ partitions: [TopicPartition]) async throws {
        try await seek(partitions, to: .earliest)
    }

    public func seekToEnd(_ partitions: [TopicPartition]) async throws {
        try await seek(partitions, to: .latest)
    }

    private func seek(_ partitions: [TopicPartition], to specification: KafkaAdmin.OffsetSpecification) async throws {
        let offsets = try await KafkaAdmin(cluster: cluster).listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, specification) }), isolationLevel: configuration.isolationLevel)
        for (partition, listed) in offsets { try seek(partition, to: listed.offset) }
    }

    /// The offset of the next record `poll` returns for `partition` (resetting it if unknown).
    public func position(_ partition: TopicPartition) async throws -> Offset {
        if let known = try state.withLockedValue({ state -> Offset? in
            guard let current = state.partitions[partition] else { throw KafkaClientError(.invalidConfiguration, "\(partition) is not assigned") }
            return current.position
        }) {
            return known
        }
        try await resetPositions([partition])
        return try await position(partition)
    }

    public func pause(_ partitions: [TopicPartition]) {
        state.withLockedValue { state in
            for partition in partitions { state.partitions[partition]?.isPaused = true }
        }
    }

    public func resume(_ partitions: [TopicPartition]) {
        state.withLockedValue { state in
            for partition in partitions { state.partitions[partition]?.isPaused = false }
        }
        wakeWaiters()
    }

    public var paused: [TopicPartition] { state.withLockedValue { $0.partitions.filter(\.value.isPaused).map(\.key).sorted() } }

    /// Positions for partitions that have none: the group's committed offsets (with a
    /// `group.id`), else per `auto.offset.reset`.
    private func resetPositions(_ partitions: [TopicPartition]) async throws {
        var partitions = partitions
        if let coordinator {
            let committed = try await coordinator.committed(partitions)
            setPositionsIfUnset(committed)
            partitions.removeAll { committed[$0] != nil }
            guard !partitions.isEmpty else { return }
        }
        let specification: KafkaAdmin.OffsetSpecification
        switch configuration.autoOffsetReset {
        case .earliest: specification = .earliest
        case .latest: specification = .latest
        case .none:
            let error = KafkaClientError(.invalidConfiguration, "no position for \(partitions) and auto.offset.reset is none")
            state.withLockedValue { state in for partition in partitions { state.partitions[partition]?.error = error } }
            throw error
        }
        let offsets = try await KafkaAdmin(cluster: cluster).listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, specification) }), isolationLevel: configuration.isolationLevel)
        setPositionsIfUnset(offsets.mapValues(\.offset))
    }

    /// Starts each partition in `offsets` that is still assigned and has no position (none was
    /// set, e.g. by `seek`, while the offsets were being looked up) at its offset.
    private func setPositionsIfUnset(_ offsets: [TopicPartition: Offset]) {
        state.withLockedValue { state in
            for (partition, offset) in offsets where state.partitions[partition] != nil && state.partitions[partition]?.position == nil {
                state.partitions[partition]?.position = offset
                state.partitions[partition]?.fetchOffset = offset
            }
        }
    }

    // MARK: Polling

    /// Returns the records that are ready (up to `max.poll.records`), waiting up to `timeout`
    /// for some; an empty array when none came. Throws a partition's error (e.g. an offset out
    /// of range with `auto.offset.reset=none`) or `CancellationError` when the task is cancelled.
    public func poll(timeout: Duration = .seconds(1)) async throws -> [ConsumerRecord] {
        let deadline = ContinuousClock.now + timeout
        state.withLockedValue { $0.lastPoll = .now }
        while true {
            try Task.checkCancellation()
            try await maintainGroup()
            let records = try takeRecords()
            if !records.isEmpty { return records }
            try await startWork()
            if ContinuousClock.now >= deadline { return [] }
            let again = try takeRecords()
            if !again.isEmpty { return again }
            await waitForData(until: deadline)
        }
    }

    /// The records as an async sequence (polling under the hood until cancelled).
    public var records: ConsumerRecordSequence { ConsumerRecordSequence(consumer: self) }

    private func takeRecords() throws -> [ConsumerRecord] {
        try state.withLockedValue { state in
            if state.isClosed { throw KafkaClientError(.closed, "the consumer is closed") }
            // By index, not by key: no hashing of topic names per partition and poll. The
            // dictionary gains or loses no partition here, so its indices stay valid.
            let order = state.partitions.indices.sorted { state.partitions[$0].key < state.partitions[$1].key }
            guard !order.isEmpty else { return [] }
            var taken: [ConsumerRecord] = []
            let limit = configuration.maximumPollRecords
            state.rotation = (state.rotation + 1) % order.count
            for step in 0..<order.count where taken.count < limit {
                let index = order[(state.rotation + step) % order.count]
                let key = state.partitions[index].key
                guard !state.partitions.values[index].isPaused else { continue }
                // Changed in place in the dictionary: a copy beside it would make the first
                // popFirst copy the whole buffer (copy-on-write).
                if let error = take(from: &state.partitions.values[index], key, into: &taken, limit: limit) { throw error }
            }
            return taken
        }
    }

    /// Moves records of `partition` to `taken` (up to `limit` in all), decoding its fetched
    /// batches as it goes. A batch that does not decode becomes the partition's error; what was
    /// fetched after it is dropped and fetching starts again at it (as a seek would).
    ///
    /// Returns the partition's error (clearing it) when it is due: after the records before it,
    /// and on its own — with records taken already (from any partition) it waits for the next
    /// poll.
    private func take(from partition: inout PartitionState, _ topicPartition: TopicPartition, into taken: inout [ConsumerRecord], limit: Int) -> KafkaClientError? {
        while taken.count < limit {
            if let record = partition.buffered.popFirst() {
                taken.append(record)
                partition.position = record.offset + 1
                continue
            }
            guard let position = partition.position, !partition.undecoded.isEmpty else { break }
            let before = partition.undecoded[0].readableBytes
            do {
                try FetchedRecordsDecoder.decodeBatch(from: &partition.undecoded[0], topicPartition: topicPartition, position: position,
                                                      verifyChecksums: configuration.checksRecordChecksums, into: &partition.buffered)
                partition.bufferedBytes -= before - partition.undecoded[0].readableBytes
                if partition.undecoded[0].readableBytes == 0 { partition.undecoded.removeFirst() }
            } catch {
                partition.error = error
                partition.undecoded.removeAll()
                partition.bufferedBytes = 0
                partition.fetchOffset = partition.buffered.last.map { $0.offset + 1 } ?? position
                partition.generation += 1
            }
        }
        if partition.buffered.isEmpty, partition.undecoded.isEmpty, let fetchOffset = partition.fetchOffset, let position = partition.position, fetchOffset > position {
            partition.position = fetchOffset  // batches with no records left for us (compaction, control)
        }
        guard let error = partition.error, partition.buffered.isEmpty, partition.undecoded.isEmpty, taken.isEmpty else { return nil }
        partition.error = nil
        return error
    }

    private func waitForData(until deadline: ContinuousClock.Instant) async {
        // A counter, not a UUID: Foundation's UUID reads /dev/urandom (open, read, close) each time.
        let id = waiterIDs.add(1, ordering: .relaxed).newValue
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // A cancellation that came before this registration ran its handler already,
                // finding nothing to wake: check for it under the lock the handler takes.
                let wakeAt = NIODeadline.now() + .nanoseconds(max(0, (deadline - ContinuousClock.now).nanoseconds))
                let registered = state.withLockedValue { state -> Bool in
                    guard !state.isClosed, !Task.isCancelled else { return false }
                    state.waiters[id] = (continuation, wakeAt)
                    armWaiterTimer(for: wakeAt, in: &state)
                    return true
                }
                guard registered else { continuation.resume(); return }
            }
        } onCancel: {
            wake(id)
        }
    }

    /// A poll that data ends early leaves the shared timer alone (a timer per wait was left
    /// behind by each such poll and woke the loop a poll timeout later).
    private func armWaiterTimer(for deadline: NIODeadline, in state: inout State) {
        state.waiterTimer.arm(for: deadline, on: cluster.executor.eventLoop) { [weak self] in self?.wakeExpiredWaiters() }
    }

    private func wakeExpiredWaiters() {
        let now = NIODeadline.now()
        let expired = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.waiterTimer.fired()
            let expired = state.waiters.filter { $0.value.deadline <= now }
            for id in expired.keys { state.waiters.removeValue(forKey: id) }
            if let next = state.waiters.values.lazy.map(\.deadline).min() { armWaiterTimer(for: next, in: &state) }
            return expired.values.map(\.continuation)
        }
        for waiter in expired { waiter.resume() }
    }

    private func wake(_ id: UInt64) {
        state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.continuation.resume()
    }

    func wakeWaiters() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            defer { state.waiters = [:] }
            return state.waiters.values.map(\.continuation)
        }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: Fetching

    /// Resets positions that are unknown and starts a fetch to every broker that leads a
    /// partition wanting data and has none in flight.
    private func startWork() async throws {
        let needsReset = state.withLockedValue { state -> [TopicPartition] in
            let partitions = state.partitions.filter { $0.value.position == nil && !state.resetting.contains($0.key) }.map(\.key)
            state.resetting.formUnion(partitions)
            return partitions
        }
        if !needsReset.isEmpty {
            defer { state.withLockedValue { $0.resetting.subtract(needsReset) } }
            try await resetPositions(needsReset)
        }
        let metadata = cluster.metadataSnapshot
        if state.withLockedValue({ $0.partitions.keys.contains { metadata.leader(of: $0.topic, partition: $0.partition) == nil } }) {
            try await cluster.refreshMetadata(topics: Array(Set(assignment.map(\.topic))))
        }
        let brokers = state.withLockedValue { state -> Set<Int32> in
            let metadata = cluster.metadataSnapshot
            var brokers = Set<Int32>()
            for (partition, current) in state.partitions where current.fetchOffset != nil && !current.isPaused && self.wantsData(current) {
                if let leader = metadata.leader(of: partition.topic, partition: partition.partition), !state.fetchingBrokers.contains(leader) {
                    brokers.insert(leader)
                }
            }
            state.fetchingBrokers.formUnion(brokers)
            return brokers
        }
        for broker in brokers {
            Task(executorPreference: cluster.executor) { await self.fetchLoop(broker) }
        }
    }

    /// Fetches from `broker` while any partition it leads wants data.
    private func fetchLoop(_ broker: Int32) async {
        defer { state.withLockedValue { _ = $0.fetchingBrokers.remove(broker) } }
        while true {
            let wanted = state.withLockedValue { state -> [(TopicPartition, Offset, Int)] in
                guard !state.isClosed else { return [] }
                let metadata = cluster.metadataSnapshot
                return state.partitions.compactMap { partition, current in
                    guard let offset = current.fetchOffset, !current.isPaused, self.wantsData(current),
                          metadata.leader(of: partition.topic, partition: partition.partition) == broker else { return nil }
                    return (partition, offset, current.generation)
                }.sorted { $0.0 < $1.0 }
            }
            guard !wanted.isEmpty else { return }
            do {
                try await fetch(wanted, from: broker)
            } catch {
                _ = try? await cluster.refreshMetadata(topics: Array(Set(wanted.map(\.0.topic))))
                try? await Task.sleep(for: .milliseconds(configuration.client.retryBackoffMilliseconds))
                if state.withLockedValue({ $0.isClosed }) { return }
            }
        }
    }

    private func fetch(_ wanted: [(TopicPartition, Offset, Int)], from broker: Int32) async throws {
        let connection = try await cluster.connection(to: broker)
        let topics = Dictionary(grouping: wanted, by: \.0.topic).sorted { $0.key < $1.key }.map { topic, entries in
            FetchRequest.Topic(name: topic, partitions: entries.map {
                .init(partition: $0.0.partition, fetchOffset: $0.1, partitionMaximumBytes: configuration.maximumPartitionFetchBytes)
            })
        }
        let request = FetchRequest(
            maximumWaitMilliseconds: configuration.fetchMaximumWaitMilliseconds, minimumBytes: configuration.fetchMinimumBytes,
            maximumBytes: configuration.fetchMaximumBytes, isolationLevel: configuration.isolationLevel, topics: topics)
        let timeout = TimeAmount.milliseconds(configuration.client.requestTimeoutMilliseconds + Int64(configuration.fetchMaximumWaitMilliseconds))
        let response: FetchResponse
        do {
            response = try await connection.send(request, timeout: timeout)
        } catch {
            await cluster.discard(connection)
            throw error
        }
        let requested = Dictionary(uniqueKeysWithValues: wanted.map { ($0.0, ($0.1, $0.2)) })
        var needsMetadata = false
        var needsReset: [TopicPartition] = []
        for topic in response.topics {
            for answer in topic.partitions {
                let partition = TopicPartition(topic.name, answer.partition)
                guard let (offset, generation) = requested[partition] else { continue }
                switch answer.errorCode {
                case .none:
                    if let records = answer.records {
                        apply(FetchedRecordsDecoder.wholeBatches(records, topicPartition: partition, position: offset), to: partition, generation: generation)
                    }
                case .offsetOutOfRange:
                    state.withLockedValue { state in
                        guard state.partitions[partition]?.generation == generation else { return }
                        state.partitions[partition]?.position = nil
                        state.partitions[partition]?.fetchOffset = nil
                    }
                    needsReset.append(partition)
                case .notLeaderOrFollower, .unknownTopicOrPartition, .leaderNotAvailable, .fencedLeaderEpoch, .unknownLeaderEpoch, .kafkaStorageError:
                    needsMetadata = true
                default:
                    state.withLockedValue { $0.partitions[partition]?.error = KafkaClientError.broker(answer.errorCode, "fetching \(partition)") }
                }
            }
        }
        wakeWaiters()
        if needsMetadata {
            _ = try? await cluster.refreshMetadata(topics: Array(Set(wanted.map(\.0.topic))))
            try? await Task.sleep(for: .milliseconds(configuration.client.retryBackoffMilliseconds))
        }
        if !needsReset.isEmpty { try? await resetPositions(needsReset) }
    }

    /// Prefetch: keep fetching a partition while less than two fetches' worth is buffered, so a
    /// fetch is in flight while the application works through the last one; not while an error
    /// waits for the application (the same bytes would come again).
    private func wantsData(_ partition: PartitionState) -> Bool {
        partition.error == nil && partition.bufferedBytes < 2 * Int(configuration.maximumPartitionFetchBytes)
    }

    func apply(_ fetched: FetchedRecordsDecoder.Fetched, to partition: TopicPartition, generation: Int) {
        state.withLockedValue { state in
            guard state.partitions[partition]?.generation == generation else { return }
            if fetched.batches.readableBytes > 0 {
                state.partitions[partition]!.undecoded.append(fetched.batches)
                state.partitions[partition]!.bufferedBytes += fetched.batches.readableBytes
            }
            state.partitions[partition]!.fetchOffset = fetched.nextOffset
            if let error = fetched.error { state.partitions[partition]!.error = error }
        }
    }

    /// Closes the consumer: a group member commits (with auto-commit), revokes its partitions
    /// and leaves the group first.
    public func close() async {
        if state.withLockedValue({ $0.isClosed }) { return }
        await leaveGroup()
        state.withLockedValue { $0.isClosed = true }
        wakeWaiters()
        await coordinator?.close()
        if ownsCluster { await cluster.close() }
    }
}

/// `KafkaConsumer.records`: polls until the iterating task is cancelled; throws what `poll` throws.
public struct ConsumerRecordSequence: AsyncSequence, Sendable {
    public typealias Element = ConsumerRecord
    let consumer: KafkaConsumer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer
        var buffered: [ConsumerRecord] = []
        var index = 0

        public mutating func next() async throws -> ConsumerRecord? {
            while index >= buffered.count {
                if Task.isCancelled { return nil }
                do {
                    buffered = try await consumer.poll(timeout: .seconds(1))
                } catch is CancellationError {
                    return nil
                }
                index = 0
            }
            defer { index += 1 }
            return buffered[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
