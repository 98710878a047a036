import NIOCore
import RillBroker
import RillFormat
import RillProtocol

/// `__consumer_offsets` in memory: every appended record, per partition, in order; a failure
/// can be armed for the next append.
final class MemoryGroupStore: GroupRecordStore {
    private(set) var partitions: [Int32: [(key: ByteBuffer?, value: ByteBuffer?)]] = [:]
    private(set) var appendCount = 0
    var failNextAppend: GroupStoreFailure?

    func append(_ records: [GroupStoreRecord], partition: Int32, now: Timestamp) throws(GroupStoreFailure) {
        if let failure = failNextAppend {
            failNextAppend = nil
            throw failure
        }
        appendCount += 1
        partitions[partition, default: []].append(contentsOf: records.map { ($0.key, $0.value) })
    }

    /// The decoded records of every partition, in order.
    var records: [GroupStoreRecord] {
        partitions.keys.sorted().flatMap { partition in
            partitions[partition]!.compactMap { try? GroupStoreRecord.decode(key: $0.key!, value: $0.value) }
        }
    }
}

/// A coordinator under a test clock, with helpers that send requests as a client would and
/// collect every parked answer by token.
final class GroupTestbed {
    let store = MemoryGroupStore()
    let coordinator: GroupCoordinator
    private(set) var now = Timestamp(milliseconds: 1_000_000)
    private var nextToken: UInt64 = 0
    /// Every answer to a parked request, by token; a token must be answered once.
    private(set) var answers: [RequestToken: GroupReply] = [:]
    private(set) var duplicateAnswers: [RequestToken] = []
    /// Tokens in the order they were first answered.
    private(set) var answerOrder: [RequestToken] = []

    static let group = "g"

    init(configure: (inout GroupCoordinatorConfiguration) -> Void = { _ in }) {
        var configuration = GroupCoordinatorConfiguration()
        configuration.initialRebalanceDelayMilliseconds = 100
        configure(&configuration)
        coordinator = GroupCoordinator(configuration: configuration, store: store, seed: 42)
    }

    func collect(_ replies: [ParkedReply]) {
        for reply in replies {
            if answers[reply.token] != nil { duplicateAnswers.append(reply.token) } else { answerOrder.append(reply.token) }
            answers[reply.token] = reply.reply
        }
    }

    func advance(milliseconds: Int64) {
        now = Timestamp(milliseconds: now.milliseconds + milliseconds)
        collect(coordinator.tick(now: now))
    }

    private func token() -> RequestToken {
        nextToken += 1
        return RequestToken(nextToken)
    }

    static func subscription(_ topics: [String]) -> ByteBuffer {
        var buffer = ByteBuffer()
        ConsumerProtocolSubscription(topics: topics).write(to: &buffer, version: 0)
        return buffer
    }

    /// Sends a JoinGroup; returns its token (the answer may come now or later).
    @discardableResult
    func join(
        memberID: String = "", instanceID: String? = nil, group: String = GroupTestbed.group, client: String = "client",
        protocols: [(String, ByteBuffer)] = [("range", GroupTestbed.subscription(["t"]))],
        session: Int32 = 10_000, rebalance: Int32 = 30_000, version: Int16 = 5, protocolType: String = "consumer"
    ) -> RequestToken {
        let token = token()
        let request = JoinGroupRequest(
            groupID: group, sessionTimeoutMilliseconds: session, rebalanceTimeoutMilliseconds: rebalance, memberID: memberID,
            groupInstanceID: instanceID, protocolType: protocolType, protocols: protocols.map { .init(name: $0.0, metadata: $0.1) })
        collect(coordinator.join(request, version: version, client: GroupClient(clientID: client, clientHost: "/127.0.0.1"), token: token, now: now))
        return token
    }

    /// A dynamic member's two-step join: MEMBER_ID_REQUIRED, then the join with that id.
    func joinTwoStep(client: String = "client", protocols: [(String, ByteBuffer)] = [("range", GroupTestbed.subscription(["t"]))], session: Int32 = 10_000, rebalance: Int32 = 30_000) -> (memberID: String, token: RequestToken) {
        let first = join(client: client, protocols: protocols, session: session, rebalance: rebalance)
        let memberID = joinAnswer(first)!.memberID
        return (memberID, join(memberID: memberID, client: client, protocols: protocols, session: session, rebalance: rebalance))
    }

    @discardableResult
    func sync(memberID: String, generation: Int32, instanceID: String? = nil, group: String = GroupTestbed.group, assignments: [(String, String)] = []) -> RequestToken {
        let token = token()
        let request = SyncGroupRequest(
            groupID: group, generationID: generation, memberID: memberID, groupInstanceID: instanceID,
            assignments: assignments.map { .init(memberID: $0.0, assignment: ByteBuffer(string: $0.1)) })
        collect(coordinator.sync(request, token: token, now: now))
        return token
    }

    func heartbeat(memberID: String, generation: Int32, instanceID: String? = nil, group: String = GroupTestbed.group) -> ErrorCode {
        coordinator.heartbeat(HeartbeatRequest(groupID: group, generationID: generation, memberID: memberID, groupInstanceID: instanceID), now: now).errorCode
    }

    func leave(_ members: [(String, String?)], version: Int16 = 3, group: String = GroupTestbed.group) -> LeaveGroupResponse {
        let (response, replies) = coordinator.leave(
            LeaveGroupRequest(groupID: group, members: members.map { .init(memberID: $0.0, groupInstanceID: $0.1) }), version: version, now: now)
        collect(replies)
        return response
    }

    func commit(_ offsets: [(String, Int32, Int64)], generation: Int32 = -1, memberID: String = "", metadata: String? = nil,
                unknown: Set<TopicPartition> = [], group: String = GroupTestbed.group) -> [ErrorCode] {
        var byTopic: [String: [OffsetCommitRequest.Partition]] = [:]
        var order: [String] = []
        for (topic, partition, offset) in offsets {
            if byTopic[topic] == nil { order.append(topic) }
            byTopic[topic, default: []].append(.init(partition: partition, committedOffset: Offset(offset), committedMetadata: metadata))
        }
        let request = OffsetCommitRequest(groupID: group, generationID: generation, memberID: memberID, topics: order.map { .init(name: $0, partitions: byTopic[$0]!) })
        return coordinator.commitOffsets(request, unknownPartitions: unknown, now: now).topics.flatMap { $0.partitions.map(\.errorCode) }
    }

    func committed(_ topic: String, _ partition: Int32, group: String = GroupTestbed.group) -> Int64 {
        let response = coordinator.fetchOffsets(OffsetFetchRequest(groupID: group, topics: [.init(name: topic, partitions: [partition])]))
        return response.topics[0].partitions[0].committedOffset.rawValue
    }

    func joinAnswer(_ token: RequestToken) -> JoinGroupResponse? {
        guard case .join(let response)? = answers[token] else { return nil }
        return response
    }

    func syncAnswer(_ token: RequestToken) -> SyncGroupResponse? {
        guard case .sync(let response)? = answers[token] else { return nil }
        return response
    }

    var state: GroupState? { coordinator.state(of: Self.group) }
}
