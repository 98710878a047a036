import NIOCore
import RillFormat
import RillProtocol

/// The consumer's side of the group protocol (kafka-protocol.md §3.6, §8): finds the group
/// coordinator and keeps a connection of its own to it (JoinGroup waits there for the whole
/// join phase, which must not hold up fetches), and speaks JoinGroup, SyncGroup, Heartbeat,
/// LeaveGroup, OffsetCommit and OffsetFetch with the member id and generation it holds.
actor ConsumerCoordinator {
    let groupID: String
    let configuration: ConsumerConfiguration
    let cluster: KafkaCluster
    private var connection: BrokerConnection?
    private(set) var memberID = ""
    private(set) var generation: Int32 = -1
    private var isClosed = false

    init(groupID: String, configuration: ConsumerConfiguration, cluster: KafkaCluster) {
        self.groupID = groupID
        self.configuration = configuration
        self.cluster = cluster
    }

    /// Forgets membership (after UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, or leaving).
    func resetMembership() {
        memberID = ""
        generation = -1
    }

    func close() async {
        isClosed = true
        await connection?.close()
        connection = nil
    }

    // MARK: Coordinator discovery

    /// The connection to the group's coordinator, found with FindCoordinator when unknown.
    /// One attempt: the callers (`join`, `sync`, `withCoordinatorRetries`) hold the only retry
    /// loop, so a failure here is not multiplied by theirs. A coordinator that is not available
    /// yet (still loading `__consumer_offsets`, or moving) throws its broker error code, which
    /// `isRetriable` accepts.
    func coordinatorConnection() async throws -> BrokerConnection {
        if isClosed { throw KafkaClientError(.closed, "the consumer is closed") }
        if let connection, connection.isActive { return connection }
        connection = nil
        let any = try await cluster.anyConnection()
        let answer = try await any.send(FindCoordinatorRequest(key: groupID), timeout: configuration.client.requestTimeout)
        guard answer.errorCode == .none else {
            throw KafkaClientError.broker(answer.errorCode, "finding the coordinator of group \(groupID)")
        }
        let found = try await cluster.connect(host: answer.host, port: Int(answer.port))
        if isClosed {
            await found.close()
            throw KafkaClientError(.closed, "the consumer is closed")
        }
        connection = found
        return found
    }

    /// Drops the coordinator after an error that says it moved or went away.
    func coordinatorLost() async {
        await connection?.close()
        connection = nil
    }

    static func isCoordinatorError(_ code: ErrorCode) -> Bool {
        [.coordinatorNotAvailable, .notCoordinator, .coordinatorLoadInProgress, .requestTimedOut].contains(code)
    }

    /// Whether another attempt, after finding the coordinator again, may succeed where this
    /// one failed with `error`: connection failures and timeouts, and the coordinator error
    /// codes (not available, moved, still loading). Not when the consumer is closed, nor for
    /// other broker answers (an unauthorised group, inconsistent protocols), which no retry
    /// changes.
    static func isRetriable(_ error: any Error) -> Bool {
        guard let error = error as? KafkaClientError else { return true }
        if error.code == .closed { return false }
        if let code = error.brokerError { return isCoordinatorError(code) }
        return true
    }

    // MARK: Join and sync

    /// How long to wait for a JoinGroup or SyncGroup answer: the broker holds them for up to
    /// the rebalance timeout (`max.poll.interval.ms`), so that long and more.
    private var rebalanceRequestTimeout: TimeAmount {
        .milliseconds(Int64(configuration.maximumPollIntervalMilliseconds) + 5_000 + configuration.client.requestTimeoutMilliseconds)
    }

    struct Joined: Sendable {
        var generation: Int32
        var memberID: String
        var protocolName: String
        var leaderID: String
        /// Filled for the leader only.
        var members: [JoinGroupResponse.Member]
        var isLeader: Bool { memberID == leaderID }
    }

    /// JoinGroup until it succeeds: MEMBER_ID_REQUIRED is answered by joining again with the
    /// given id, a stale member id is dropped, coordinator errors find the coordinator again.
    /// Other errors (inconsistent protocols, a bad session timeout, a fenced instance) throw.
    func join(protocols: [JoinGroupRequest.GroupProtocol]) async throws -> Joined {
        for _ in 0..<50 {
            let request = JoinGroupRequest(
                groupID: groupID, sessionTimeoutMilliseconds: configuration.sessionTimeoutMilliseconds,
                rebalanceTimeoutMilliseconds: configuration.maximumPollIntervalMilliseconds, memberID: memberID,
                groupInstanceID: configuration.groupInstanceID, protocolType: "consumer", protocols: protocols)
            let response: JoinGroupResponse
            do {
                response = try await coordinatorConnection().send(request, timeout: rebalanceRequestTimeout)
            } catch where Self.isRetriable(error) {
                await coordinatorLost()
                try await Task.sleep(for: .milliseconds(configuration.client.retryBackoffMilliseconds))
                continue
            }
            switch response.errorCode {
            case .none:
                memberID = response.memberID
                generation = response.generationID
                return Joined(generation: response.generationID, memberID: response.memberID, protocolName: response.protocolName,
                              leaderID: response.leaderMemberID, members: response.members)
            case .memberIDRequired:
                memberID = response.memberID
            case .unknownMemberID, .illegalGeneration:
                resetMembership()
            case .rebalanceInProgress:
                continue
            case let code where Self.isCoordinatorError(code):
                await coordinatorLost()
                try await Task.sleep(for: .milliseconds(configuration.client.retryBackoffMilliseconds))
            default:
                throw KafkaClientError.broker(response.errorCode, "joining group \(groupID)")
            }
        }
        throw KafkaClientError(.timedOut, "could not join group \(groupID)")
    }

    /// SyncGroup for the generation just joined. Returns the member's assignment bytes, or
    /// nil when the group must be joined again (a new rebalance began, or the member is gone).
    func sync(generation joinedGeneration: Int32, assignments: [SyncGroupRequest.Assignment]) async throws -> ByteBuffer? {
        let request = SyncGroupRequest(groupID: groupID, generationID: joinedGeneration, memberID: memberID,
                                       groupInstanceID: configuration.groupInstanceID, assignments: assignments)
        let response: SyncGroupResponse
        do {
            response = try await coordinatorConnection().send(request, timeout: rebalanceRequestTimeout)
        } catch where Self.isRetriable(error) {
            await coordinatorLost()
            return nil
        }
        switch response.errorCode {
        case .none:
            return response.assignment
        case .rebalanceInProgress:
            return nil
        case .unknownMemberID, .illegalGeneration:
            resetMembership()
            return nil
        case let code where Self.isCoordinatorError(code):
            await coordinatorLost()
            return nil
        default:
            throw KafkaClientError.broker(response.errorCode, "syncing group \(groupID)")
        }
    }

    /// One heartbeat; the broker's error code (connection failures count as coordinator loss).
    /// An error about a generation or member id that changed while the heartbeat was in
    /// flight (a rebalance completed meanwhile) is stale and reported as `.none`.
    func heartbeat() async -> ErrorCode {
        let (sentGeneration, sentMemberID) = (generation, memberID)
        guard sentGeneration >= 0, !sentMemberID.isEmpty else { return .none }
        do {
            let connection = try await coordinatorConnection()
            let response = try await connection.send(
                HeartbeatRequest(groupID: groupID, generationID: sentGeneration, memberID: sentMemberID, groupInstanceID: configuration.groupInstanceID),
                timeout: configuration.client.requestTimeout)
            if Self.isCoordinatorError(response.errorCode) { await coordinatorLost() }
            if [.illegalGeneration, .unknownMemberID].contains(response.errorCode) && (generation != sentGeneration || memberID != sentMemberID) {
                return .none
            }
            return response.errorCode
        } catch {
            await coordinatorLost()
            return .coordinatorNotAvailable
        }
    }

    /// LeaveGroup (static members do not leave; their session timeout decides, KIP-345).
    func leave() async {
        defer { resetMembership() }
        guard !memberID.isEmpty, configuration.groupInstanceID == nil, let connection = try? await coordinatorConnection() else { return }
        _ = try? await connection.send(LeaveGroupRequest(groupID: groupID, memberID: memberID), timeout: configuration.client.requestTimeout)
    }

    // MARK: Offsets

    /// What one attempt at a coordinator request came to.
    enum Attempt<Value> {
        case done(Value)
        /// The coordinator moved or is loading: find it again and retry.
        case coordinatorMoved(ErrorCode)
    }

    /// Sends a coordinator request up to ten times (as often as finding the coordinator was
    /// tried before this loop became the only one), finding the coordinator again after a
    /// connection failure or a coordinator error.
    private func withCoordinatorRetries<Value>(_ what: String, _ attempt: (BrokerConnection) async throws -> Attempt<Value>) async throws -> Value {
        var lastError: (any Error)?
        for number in 0..<10 {
            if number > 0 { try await Task.sleep(for: .milliseconds(configuration.client.retryBackoffMilliseconds)) }
            let outcome: Attempt<Value>
            do {
                outcome = try await attempt(try await coordinatorConnection())
            } catch where !Self.isRetriable(error) {
                throw error
            } catch {
                lastError = error
                await coordinatorLost()
                continue
            }
            switch outcome {
            case .done(let value):
                return value
            case .coordinatorMoved(let code):
                lastError = KafkaClientError.broker(code, "\(what) of group \(groupID)")
                await coordinatorLost()
            }
        }
        throw lastError ?? KafkaClientError(.timedOut, "could not complete \(what) of group \(groupID)")
    }

    /// Commits `offsets` as the current member (or as a non-member, generation -1, when not in
    /// the group). Retries coordinator errors; returns per-partition errors the broker gave.
    func commit(_ offsets: [TopicPartition: Offset], metadata: String?, asMember: Bool) async throws -> [TopicPartition: ErrorCode] {
        let byTopic = Dictionary(grouping: offsets.keys, by: \.topic)
        return try await withCoordinatorRetries("committing offsets") { connection in
            let identity = asMember ? (generation, memberID) : (-1, "")
            let request = OffsetCommitRequest(
                groupID: groupID, generationID: identity.0, memberID: identity.1, groupInstanceID: asMember ? configuration.groupInstanceID : nil,
                topics: byTopic.keys.sorted().map { topic in
                    .init(name: topic, partitions: byTopic[topic]!.sorted().map { .init(partition: $0.partition, committedOffset: offsets[$0]!, committedMetadata: metadata) })
                })
            let response = try await connection.send(request, timeout: configuration.client.requestTimeout)
            var errors: [TopicPartition: ErrorCode] = [:]
            for topic in response.topics {
                for partition in topic.partitions where partition.errorCode != .none {
                    errors[TopicPartition(topic.name, partition.partition)] = partition.errorCode
                }
            }
            if let moved = errors.values.first(where: Self.isCoordinatorError) { return .coordinatorMoved(moved) }
            return .done(errors)
        }
    }

    /// The group's committed offsets for `partitions` (absent when none is committed).
    func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Offset] {
        let request = OffsetFetchRequest(groupID: groupID, partitions: partitions)
        return try await withCoordinatorRetries("fetching committed offsets") { connection in
            let response = try await connection.send(request, timeout: configuration.client.requestTimeout)
            if Self.isCoordinatorError(response.errorCode) { return .coordinatorMoved(response.errorCode) }
            if response.errorCode != .none { throw KafkaClientError.broker(response.errorCode, "fetching committed offsets of group \(groupID)") }
            var offsets: [TopicPartition: Offset] = [:]
            for topic in response.topics {
                for partition in topic.partitions {
                    if Self.isCoordinatorError(partition.errorCode) { return .coordinatorMoved(partition.errorCode) }
                    if partition.errorCode != .none {
                        throw KafkaClientError.broker(partition.errorCode, "committed offset of \(topic.name)-\(partition.partition)")
                    }
                    if partition.committedOffset.rawValue >= 0 { offsets[TopicPartition(topic.name, partition.partition)] = partition.committedOffset }
                }
            }
            return .done(offsets)
        }
    }
}
