import Foundation
import NIOCore
import RillFormat
import RillProtocol

/// Told when the group moves partitions. Kafka's contract: `partitionsRevoked` runs before a
/// partition goes to another member — while this member may still commit its offsets (or
/// store them elsewhere) — and `partitionsAssigned` after new partitions arrive, before any of
/// their records are returned, so the listener may `seek` (e.g. to offsets it stored outside
/// the broker). Both run inside `poll`, on its task. `partitionsLost` replaces `partitionsRevoked`
/// when the member was already dropped from the group and committing would fail.
public protocol ConsumerRebalanceListener: Sendable {
    func partitionsRevoked(_ partitions: [TopicPartition], consumer: KafkaConsumer) async
    func partitionsAssigned(_ partitions: [TopicPartition], consumer: KafkaConsumer) async
    func partitionsLost(_ partitions: [TopicPartition], consumer: KafkaConsumer) async
}

extension ConsumerRebalanceListener {
    public func partitionsLost(_ partitions: [TopicPartition], consumer: KafkaConsumer) async {
        await partitionsRevoked(partitions, consumer: consumer)
    }
}

/// A rebalance listener from closures.
public struct RebalanceCallbacks: ConsumerRebalanceListener {
    public typealias Callback = @Sendable ([TopicPartition], KafkaConsumer) async -> Void
    let revoked: Callback
    let assigned: Callback
    let lost: Callback?

    public init(revoked: @escaping Callback = { _, _ in }, assigned: @escaping Callback = { _, _ in }, lost: Callback? = nil) {
        self.revoked = revoked
        self.assigned = assigned
        self.lost = lost
    }

    public func partitionsRevoked(_ partitions: [TopicPartition], consumer: KafkaConsumer) async { await revoked(partitions, consumer) }
    public func partitionsAssigned(_ partitions: [TopicPartition], consumer: KafkaConsumer) async { await assigned(partitions, consumer) }
    public func partitionsLost(_ partitions: [TopicPartition], consumer: KafkaConsumer) async {
        if let lost { await lost(partitions, consumer) } else { await revoked(partitions, consumer) }
    }
}

/// What the consumer subscribed to.
enum Subscription: Sendable {
    case topics(Set<String>)
    /// A regular expression every topic name is matched against (whole-name match).
    case pattern(String)
}

extension KafkaConsumer {
    // MARK: Subscribing

    /// Joins the consumer group (`group.id`) for `topics`: the group's leader spreads their
    /// partitions over the members, and `poll` follows the group's rebalances.
    public func subscribe(topics: [String], listener: (any ConsumerRebalanceListener)? = nil) throws {
        guard !topics.isEmpty else { throw KafkaClientError(.invalidConfiguration, "subscribe needs at least one topic") }
        try subscribe(.topics(Set(topics)), listener: listener)
    }

    /// Joins the group for every topic whose whole name matches `pattern` (a regular
    /// expression), checked again every `metadata.max.age.ms`.
    public func subscribe(pattern: String, listener: (any ConsumerRebalanceListener)? = nil) throws {
        do {
            _ = try Regex(pattern)
        } catch {
            throw KafkaClientError(.invalidConfiguration, "subscription pattern '\(pattern)' is not a regular expression: \(error)")
        }
        try subscribe(.pattern(pattern), listener: listener)
    }

    private func subscribe(_ subscription: Subscription, listener: (any ConsumerRebalanceListener)?) throws {
        guard coordinator != nil else { throw KafkaClientError(.invalidConfiguration, "subscribe needs a group.id") }
        guard Int64(configuration.sessionTimeoutMilliseconds) > configuration.heartbeatIntervalMilliseconds else {
            throw KafkaClientError(.invalidConfiguration, "heartbeat.interval.ms (\(configuration.heartbeatIntervalMilliseconds)) must be below session.timeout.ms (\(configuration.sessionTimeoutMilliseconds))")
        }
        try state.withLockedValue { state in
            if state.group.subscription == nil && !state.partitions.isEmpty {
                throw KafkaClientError(.invalidConfiguration, "the consumer has assigned partitions: unassign them (assign([])) before subscribing")
            }
            state.group.subscription = subscription
            state.group.listener = listener
            state.group.needsRejoin = true
            state.group.nextSubscriptionCheck = nil
            if case .topics(let topics) = subscription { state.group.subscribedTopics = topics }
        }
        wakeWaiters()
    }

    /// Leaves the group: revokes the assignment (committing first with auto-commit) and sends
    /// LeaveGroup.
    public func unsubscribe() async {
        await leaveGroup()
        state.withLockedValue { state in
            state.group = GroupState()
            state.partitions = [:]
        }
    }

    public var subscription: [String] { state.withLockedValue { $0.group.subscribedTopics.sorted() } }

    // MARK: Committing

    /// Commits `offsets` — the next offset to read per partition — or, when nil, the current
    /// positions of every assigned partition (what earlier polls returned). Members commit in
    /// their generation; a consumer of assigned partitions commits as a non-member. Throws when
    /// the group rebalanced meanwhile (the partitions may belong to another member now).
    public func commitSync(_ offsets: [TopicPartition: Offset]? = nil, metadata: String? = nil) async throws {
        guard let coordinator else { throw KafkaClientError(.invalidConfiguration, "committing offsets needs a group.id") }
        let offsets = offsets ?? currentPositions()
        guard !offsets.isEmpty else { return }
        let isMember = state.withLockedValue { $0.group.subscription != nil }
        if isMember, await coordinator.memberID.isEmpty {
            throw KafkaClientError.broker(.rebalanceInProgress, "cannot commit: the consumer is not a member of group \(coordinator.groupID) yet")
        }
        let errors = try await coordinator.commit(offsets, metadata: metadata, asMember: isMember)
        guard let (partition, code) = errors.min(by: { $0.key < $1.key }) else { return }
        switch code {
        case .unknownMemberID, .illegalGeneration, .fencedInstanceID:
            await membershipLost()
            throw KafkaClientError.broker(code, "commit failed: the member was dropped from group \(coordinator.groupID) and must rejoin")
        case .rebalanceInProgress:
            state.withLockedValue { $0.group.needsRejoin = true }
            throw KafkaClientError.broker(code, "commit failed: group \(coordinator.groupID) is rebalancing")
        default:
            throw KafkaClientError.broker(code, "committing \(partition)")
        }
    }

    /// Commits without waiting; commits are sent in the order they were asked for, and
    /// `completion` (if any) hears how each went.
    public func commitAsync(_ offsets: [TopicPartition: Offset]? = nil, metadata: String? = nil,
                            completion: (@Sendable (Result<Void, any Error>) -> Void)? = nil) {
        let offsets = offsets ?? currentPositions()
        state.withLockedValue { state in
            let previous = state.group.lastAsyncCommit
            state.group.lastAsyncCommit = Task {
                await previous?.value
                do {
                    try await self.commitSync(offsets, metadata: metadata)
                    completion?(.success(()))
                } catch {
                    completion?(.failure(error))
                }
            }
        }
    }

    /// The group's committed offsets for `partitions` (absent: nothing committed).
    public func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Offset] {
        guard let coordinator else { throw KafkaClientError(.invalidConfiguration, "committed offsets need a group.id") }
        return try await coordinator.committed(partitions)
    }

    /// Positions of the assigned partitions that have one.
    func currentPositions() -> [TopicPartition: Offset] {
        state.withLockedValue { state in
            var positions: [TopicPartition: Offset] = [:]
            for (partition, current) in state.partitions { if let position = current.position { positions[partition] = position } }
            return positions
        }
    }

    // MARK: Group maintenance (inside poll)

    /// Called by `poll` before it takes records: follows the subscription pattern, rebalances
    /// when the group asks (running the listener here, on the polling task), and auto-commits.
    func maintainGroup() async throws {
        guard coordinator != nil else { return }
        let (subscription, needsJoin, fatal) = state.withLockedValue { ($0.group.subscription, $0.group.needsRejoin || !$0.group.hasJoined, $0.group.fatalError) }
        if let fatal { throw fatal }
        if subscription != nil {
            try await checkSubscriptionIfDue()
            if needsJoin || state.withLockedValue({ $0.group.needsRejoin }) { try await rebalance() }
        }
        try await autoCommitIfDue()
    }

    /// Pattern subscriptions: the matching topics. Every member: partition counts; a change
    /// means the group must rebalance (Kafka's leader does this; every member may ask).
    private func checkSubscriptionIfDue() async throws {
        let now = ContinuousClock.now
        let (subscription, due) = state.withLockedValue { state -> (Subscription?, Bool) in
            guard let next = state.group.nextSubscriptionCheck else { return (state.group.subscription, true) }
            return (state.group.subscription, now >= next)
        }
        guard let subscription, due else { return }
        state.withLockedValue { $0.group.nextSubscriptionCheck = now + .milliseconds(configuration.client.metadataMaximumAgeMilliseconds) }
        let topics: Set<String>
        switch subscription {
        case .topics(let names):
            topics = names
            _ = try? await cluster.refreshMetadata(topics: Array(names).sorted())
        case .pattern(let pattern):
            let metadata = try await cluster.refreshMetadata(topics: nil)
            let regex = try Regex(pattern)
            topics = Set(metadata.topics.keys.filter { name in
                (!configuration.excludesInternalTopics || name != "__consumer_offsets") && (try? regex.wholeMatch(in: name)) != nil
            })
        }
        let counts = partitionCounts(of: topics)
        state.withLockedValue { state in
            let assignedCounts = state.group.assignedCounts?.filter { topics.contains($0.key) }
            if state.group.subscribedTopics != topics || (assignedCounts != nil && assignedCounts != counts) {
                state.group.subscribedTopics = topics
                if state.group.hasJoined { state.group.needsRejoin = true }
            }
        }
    }

    private func partitionCounts(of topics: Set<String>) -> [String: Int32] {
        let metadata = cluster.metadataSnapshot
        var counts: [String: Int32] = [:]
        for topic in topics {
            if let info = metadata.topics[topic], info.errorCode == .none, info.partitionCount > 0 { counts[topic] = Int32(info.partitionCount) }
        }
        return counts
    }

    private var isCooperative: Bool { configuration.assignors.allSatisfy(\.supportsCooperativeRebalancing) }

    /// One rebalance: revoke (eager: everything, first), join, assign if leader, sync, then
    /// revoke what moved away (cooperative) and announce what arrived; new partitions start at
    /// the group's committed offsets.
    private func rebalance() async throws {
        guard let coordinator else { return }
        state.withLockedValue { $0.group.isRebalancing = true }
        defer { state.withLockedValue { $0.group.isRebalancing = false } }
        let (owned, listener, lost) = state.withLockedValue { state in
            (state.partitions.keys.sorted(), state.group.listener, state.group.partitionsLost)
        }
        if lost {
            if !owned.isEmpty { await listener?.partitionsLost(owned, consumer: self) }
            state.withLockedValue { state in
                state.partitions = [:]
                state.group.partitionsLost = false
            }
        } else if !isCooperative && state.withLockedValue({ $0.group.hasJoined }) {
            if configuration.enablesAutoCommit { try? await commitSync() }
            if !owned.isEmpty { await listener?.partitionsRevoked(owned, consumer: self) }
            state.withLockedValue { $0.partitions = [:] }
        }
        state.withLockedValue { $0.group.needsRejoin = false }

        let stillOwned = state.withLockedValue { $0.partitions.keys.sorted() }
        let topics = state.withLockedValue { $0.group.subscribedTopics }.sorted()
        let generation = await coordinator.generation
        let metadata = ConsumerProtocolSubscription(topics: topics, ownedPartitions: Self.grouped(stillOwned), generationID: generation)
            .encoded(version: 3)
        let joined: ConsumerCoordinator.Joined
        do {
            joined = try await coordinator.join(protocols: configuration.assignors.map { .init(name: $0.name, metadata: metadata) })
        } catch let error as KafkaClientError where error.brokerError != nil {
            // Inconsistent protocols, a bad session timeout, a fenced static member: no retry
            // helps (`join` retries coordinator errors — not available yet, loading — itself).
            state.withLockedValue { $0.group.fatalError = error }
            throw error
        } catch {
            state.withLockedValue { $0.group.needsRejoin = true }
            throw error
        }
        var assignments: [SyncGroupRequest.Assignment] = []
        if joined.isLeader {
            assignments = try await leaderAssignments(joined)
        }
        guard let bytes = try await coordinator.sync(generation: joined.generation, assignments: assignments) else {
            state.withLockedValue { $0.group.needsRejoin = true }
            return
        }
        let assigned = try Self.decodeAssignment(bytes)
        let previous = Set(state.withLockedValue { $0.partitions.keys })
        let revoked = previous.subtracting(assigned).sorted()
        let added = Set(assigned).subtracting(previous).sorted()
        if !revoked.isEmpty {
            if configuration.enablesAutoCommit {
                let positions = currentPositions().filter { revoked.contains($0.key) }
                try? await commitSync(positions)
            }
            await listener?.partitionsRevoked(revoked, consumer: self)
        }
        assign(assigned)
        state.withLockedValue { state in
            state.group.hasJoined = true
            // Cooperative: what moved away was revoked; join again so it can be handed over.
            if !revoked.isEmpty && self.isCooperative { state.group.needsRejoin = true }
            if state.group.nextAutoCommit == nil {
                state.group.nextAutoCommit = .now + .milliseconds(self.configuration.autoCommitIntervalMilliseconds)
            }
        }
        startHeartbeats()
        await listener?.partitionsAssigned(isCooperative ? added : assigned, consumer: self)
    }

    /// The leader's part: every member's subscription, the topics' partition counts, and the
    /// chosen assignor's result.
    private func leaderAssignments(_ joined: ConsumerCoordinator.Joined) async throws -> [SyncGroupRequest.Assignment] {
        guard let assignor = configuration.assignors.first(where: { $0.name == joined.protocolName }) else {
            throw KafkaClientError(.protocolViolation, "the coordinator chose assignor '\(joined.protocolName)', which this consumer did not offer")
        }
        let members = joined.members.map { member -> AssignorMember in
            let subscription = try? ConsumerProtocolSubscription(decoding: member.metadata)
            return AssignorMember(
                memberID: member.memberID, groupInstanceID: member.groupInstanceID, topics: Set(subscription?.topics ?? []),
                ownedPartitions: (subscription?.ownedPartitions ?? []).flatMap { owned in owned.partitions.map { TopicPartition(owned.topic, $0) } },
                generation: subscription?.generationID ?? -1)
        }
        let allTopics = Set(members.flatMap(\.topics))
        if !allTopics.isEmpty { _ = try await cluster.refreshMetadata(topics: allTopics.sorted()) }
        let counts = partitionCounts(of: allTopics)
        state.withLockedValue { $0.group.assignedCounts = counts }
        let result = assignor.assign(members: members, partitionCounts: counts)
        return members.map { member in
            .init(memberID: member.memberID, assignment: ConsumerProtocolAssignment(assignedPartitions: Self.grouped(result[member.memberID] ?? [])).encoded(version: 0))
        }
    }

    static func grouped(_ partitions: [TopicPartition]) -> [ConsumerProtocolTopicPartitions] {
        Dictionary(grouping: partitions, by: \.topic).sorted { $0.key < $1.key }.map {
            ConsumerProtocolTopicPartitions(topic: $0.key, partitions: $0.value.map(\.partition).sorted())
        }
    }

    static func decodeAssignment(_ bytes: ByteBuffer) throws -> [TopicPartition] {
        // Zero bytes: the coordinator's fill-in for a member the leader gave nothing.
        guard bytes.readableBytes > 0 else { return [] }
        do {
            return try ConsumerProtocolAssignment(decoding: bytes).assignedPartitions.flatMap { entry in entry.partitions.map { TopicPartition(entry.topic, $0) } }
        } catch {
            throw KafkaClientError(.protocolViolation, "the group leader sent an assignment that does not decode: \(error)")
        }
    }

    /// The member was dropped (its generation or id is no longer valid): its partitions are
    /// lost, and it joins again at the next poll. The coordinator forgets the old member id
    /// and generation before `needsRejoin` is set, so a poll that rejoins because of it cannot
    /// have its new membership wiped by this reset.
    func membershipLost() async {
        await coordinator?.resetMembership()
        state.withLockedValue { state in
            state.group.needsRejoin = true
            state.group.partitionsLost = true
        }
        wakeWaiters()
    }

    private func autoCommitIfDue() async throws {
        guard configuration.enablesAutoCommit, coordinator != nil else { return }
        let now = ContinuousClock.now
        let due = state.withLockedValue { state -> Bool in
            if state.group.subscription != nil && !state.group.hasJoined { return false }
            guard let next = state.group.nextAutoCommit else {
                state.group.nextAutoCommit = now + .milliseconds(configuration.autoCommitIntervalMilliseconds)
                return false
            }
            guard now >= next else { return false }
            state.group.nextAutoCommit = now + .milliseconds(configuration.autoCommitIntervalMilliseconds)
            return true
        }
        if due { commitAsync() }
    }

    // MARK: Heartbeats

    /// Heartbeats every `heartbeat.interval.ms` while a member; a rebalance or a lost
    /// membership wakes `poll` to handle it. A member that stops polling for
    /// `max.poll.interval.ms` leaves the group, as Kafka's consumer does.
    private func startHeartbeats() {
        guard let coordinator else { return }
        state.withLockedValue { state in
            guard state.group.heartbeats == nil else { return }
            state.group.heartbeats = Task { [weak self] in
                while !Task.isCancelled {
                    guard let interval = self?.configuration.heartbeatIntervalMilliseconds else { return }
                    try? await Task.sleep(for: .milliseconds(interval))
                    guard let self, !Task.isCancelled else { return }
                    let (lastPoll, closed, rebalancing) = self.state.withLockedValue { ($0.lastPoll, $0.isClosed, $0.group.isRebalancing) }
                    if closed { return }
                    if rebalancing { continue }
                    if let lastPoll, ContinuousClock.now - lastPoll > .milliseconds(self.configuration.maximumPollIntervalMilliseconds) {
                        // The application stopped polling: give the partitions to someone who will.
                        // (leave() has reset the membership already; the second reset is harmless.)
                        await coordinator.leave()
                        await self.membershipLost()
                        continue
                    }
                    switch await coordinator.heartbeat() {
                    case .none, .coordinatorNotAvailable, .notCoordinator, .coordinatorLoadInProgress, .requestTimedOut:
                        break
                    case .rebalanceInProgress:
                        self.state.withLockedValue { $0.group.needsRejoin = true }
                        self.wakeWaiters()
                    case .unknownMemberID, .illegalGeneration:
                        // Not a member (yet, or any more): only lost if it had joined.
                        if self.state.withLockedValue({ $0.group.hasJoined }) { await self.membershipLost() }
                    case let code:
                        self.state.withLockedValue { $0.group.fatalError = KafkaClientError.broker(code, "heartbeat to group \(coordinator.groupID)") }
                        self.wakeWaiters()
                    }
                }
            }
        }
    }

    /// On close or unsubscribe: commit (auto-commit), revoke, stop heartbeating, LeaveGroup.
    func leaveGroup() async {
        guard let coordinator else { return }
        let (isSubscribed, hasJoined, listener, owned, heartbeats, pendingCommit) = state.withLockedValue { state in
            (state.group.subscription != nil, state.group.hasJoined, state.group.listener, state.partitions.keys.sorted(), state.group.heartbeats, state.group.lastAsyncCommit)
        }
        await pendingCommit?.value
        if configuration.enablesAutoCommit && (!isSubscribed || hasJoined) { try? await commitSync() }
        if isSubscribed && hasJoined {
            if !owned.isEmpty { await listener?.partitionsRevoked(owned, consumer: self) }
            heartbeats?.cancel()
            await coordinator.leave()
        }
        heartbeats?.cancel()
    }
}
