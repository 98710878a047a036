import Foundation
import NIOCore
import RillBroker
import RillFormat
import RillProtocol
import RillServer
import Testing

/// Group coordination over TCP: `__consumer_offsets`, the join and sync rounds, parked
/// requests at shutdown, state across restarts, and malformed group requests.
extension BrokerServerTests {
    static let joinVersion: Int16 = 5
    static let syncVersion: Int16 = 3
    static let offsetCommitVersion: Int16 = 7
    static let offsetFetchVersion: Int16 = 5

    static func subscription(_ topics: [String]) -> ByteBuffer {
        var buffer = ByteBuffer()
        ConsumerProtocolSubscription(topics: topics).write(to: &buffer, version: 0)
        return buffer
    }

    static func assignment(_ topic: String, _ partitions: [Int32]) -> ByteBuffer {
        ConsumerProtocolAssignment(assignedPartitions: [.init(topic: topic, partitions: partitions)]).encoded(version: 0)
    }

    static func joinRequest(_ group: String, memberID: String = "", instanceID: String? = nil, rebalanceTimeoutMilliseconds: Int32 = 30_000) -> JoinGroupRequest {
        JoinGroupRequest(
            groupID: group, sessionTimeoutMilliseconds: 6_000, rebalanceTimeoutMilliseconds: rebalanceTimeoutMilliseconds, memberID: memberID,
            groupInstanceID: instanceID, protocolType: "consumer", protocols: [.init(name: "range", metadata: subscription(["events"]))])
    }

    /// The first step of a dynamic member's join (KIP-394): MEMBER_ID_REQUIRED and its id.
    static func memberID(for group: String, on connection: TestConnection) throws -> String {
        let first = try connection.request(joinRequest(group), version: joinVersion)
        #expect(first.errorCode == .memberIDRequired)
        #expect(first.generationID == -1)
        #expect(first.memberID.hasPrefix("\(connection.clientID)-"))
        return first.memberID
    }

    /// A one-member group, joined and synced (generation 1) with `assignment`; returns its id.
    static func stableGroup(_ group: String, on connection: TestConnection, assignment: ByteBuffer) throws -> String {
        let memberID = try memberID(for: group, on: connection)
        let joined = try connection.request(joinRequest(group, memberID: memberID), version: joinVersion)
        #expect(joined.errorCode == .none && joined.generationID == 1 && joined.leaderMemberID == memberID)
        let synced = try connection.request(
            SyncGroupRequest(groupID: group, generationID: 1, memberID: memberID, assignments: [.init(memberID: memberID, assignment: assignment)]),
            version: syncVersion)
        #expect(synced.errorCode == .none)
        return memberID
    }

    static func commit(_ group: String, on connection: TestConnection, _ offsets: [(String, Int32, Int64)], generation: Int32 = -1, memberID: String = "",
                       metadata: String? = nil) throws -> [ErrorCode] {
        let topics = Dictionary(grouping: offsets, by: \.0).sorted { $0.key < $1.key }.map { topic, entries in
            OffsetCommitRequest.Topic(name: topic, partitions: entries.map { .init(partition: $0.1, committedOffset: Offset($0.2), committedMetadata: metadata) })
        }
        let response = try connection.request(OffsetCommitRequest(groupID: group, generationID: generation, memberID: memberID, topics: topics), version: offsetCommitVersion)
        return response.topics.flatMap { $0.partitions.map(\.errorCode) }
    }

    /// Every committed offset of a group (OffsetFetch with null topics), "topic:partition" → offset.
    static func committedOffsets(_ group: String, on connection: TestConnection) throws -> [String: Int64] {
        let response = try connection.request(OffsetFetchRequest(groupID: group, topics: nil), version: offsetFetchVersion)
        #expect(response.errorCode == .none)
        var offsets: [String: Int64] = [:]
        for topic in response.topics {
            for partition in topic.partitions { offsets["\(topic.name):\(partition.partition)"] = partition.committedOffset.rawValue }
        }
        return offsets
    }

    static func describe(_ group: String, on connection: TestConnection) throws -> DescribeGroupsResponse.Group {
        let response = try connection.request(DescribeGroupsRequest(groups: [group]), version: 4)
        guard response.groups.count == 1 else { throw TestFailure("\(response.groups.count) groups described") }
        return response.groups[0]
    }

    // MARK: __consumer_offsets

    @Test func findCoordinatorCreatesTheCompactedInternalOffsetsTopic() throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        #expect(try connection.metadata(nil).topics.isEmpty)
        let coordinator = try connection.request(FindCoordinatorRequest(key: "first-group"), version: 2)
        #expect(coordinator.errorCode == .none)
        #expect(coordinator.nodeID == 0)
        #expect(coordinator.host == "127.0.0.1")
        #expect(coordinator.port == Int32(broker.port))

        let metadata = try connection.metadata(nil)
        let offsetsTopic = try #require(metadata.topics.first { $0.name == OffsetsTopic.name })
        #expect(offsetsTopic.isInternal)
        #expect(offsetsTopic.errorCode == .none)
        #expect(offsetsTopic.partitions.map(\.partition) == Array(0..<50))
        let configs = try connection.request(
            DescribeConfigsRequest(resources: [.init(resourceType: .topic, resourceName: OffsetsTopic.name, configurationKeys: ["cleanup.policy"])]), version: 3)
        #expect(configs.results.first?.configs.first { $0.name == "cleanup.policy" }?.value == "compact")

        // A second lookup (another group, another connection) finds the same topic, not a new one.
        let again = try broker.connect().request(FindCoordinatorRequest(key: "second-group"), version: 1)
        #expect(again.errorCode == .none && again.port == Int32(broker.port))
        #expect(try connection.metadata([OffsetsTopic.name]).topics.first?.partitions.count == 50)
        try broker.restart()
        #expect(try broker.connect().metadata([OffsetsTopic.name]).topics.first?.partitions.count == 50)
        try broker.stop()
    }

    @Test func offsetsTopicNumPartitionsSetsItsSize() throws {
        let broker = try TestBroker([("offsets.topic.num.partitions", "3")])
        let connection = try broker.connect()
        #expect(try connection.request(FindCoordinatorRequest(key: "g"), version: 2).errorCode == .none)
        #expect(try connection.metadata([OffsetsTopic.name]).topics.first?.partitions.count == 3)
        try broker.stop()
    }

    @Test func clientsCannotProduceToDeleteOrCreateTheOffsetsTopic() throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        #expect(try connection.request(FindCoordinatorRequest(key: "g"), version: 2).errorCode == .none)
        let produced = try connection.produce(topic: OffsetsTopic.name, partition: 0, records: try makeBatch(3))
        #expect(produced.errorCode == .invalidTopicException)
        #expect(try connection.listOffset(topic: OffsetsTopic.name, partition: 0, timestamp: -1).offset == .zero, "the refused records were appended")

        let deleted = try connection.request(DeleteTopicsRequest(topicNames: [OffsetsTopic.name], timeoutMilliseconds: 1_000), version: 3)
        #expect(deleted.results.count == 1 && deleted.results.first?.errorCode != ErrorCode.none)
        let created = try connection.request(
            CreateTopicsRequest(topics: [.init(name: OffsetsTopic.name, partitionCount: 1, replicationFactor: 1, configs: [])]), version: 4)
        #expect(created.topics.count == 1 && created.topics.first?.errorCode != ErrorCode.none)
        #expect(try connection.metadata([OffsetsTopic.name]).topics.first?.partitions.count == 50)
        // Groups still work.
        #expect(try Self.commit("g", on: connection, [("events", 0, 1)]) == [.unknownTopicOrPartition])
        try Self.expectHealthy(broker)
        try broker.stop()
    }

    // MARK: Join and sync

    @Test func aFirstJoinIsHeldUntilTheInitialRebalanceDelayEnds() throws {
        let delayMilliseconds = 400
        let broker = try TestBroker([("group.initial.rebalance.delay.ms", String(delayMilliseconds))])
        let connection = try broker.connect()
        let memberID = try Self.memberID(for: "delayed", on: connection)
        let clock = ContinuousClock()
        let sent = clock.now
        let joined = try connection.request(Self.joinRequest("delayed", memberID: memberID), version: Self.joinVersion)
        let waited = clock.now - sent
        #expect(waited >= .milliseconds(delayMilliseconds - 20), "answered after \(waited), before the join phase could end")
        #expect(joined.errorCode == .none)
        #expect(joined.generationID == 1)
        #expect(joined.leaderMemberID == memberID)
        #expect(joined.memberID == memberID)
        #expect(joined.protocolName == "range")
        #expect(joined.members.map(\.memberID) == [memberID])
        #expect(joined.members.first?.metadata == Self.subscription(["events"]))
        try broker.stop()
    }

    @Test func twoMembersJoiningDuringTheDelayShareOneGenerationAndTheLeadersSyncAssignsBoth() throws {
        let broker = try TestBroker([("group.initial.rebalance.delay.ms", "500")])
        var leader = try broker.connect(), follower = try broker.connect()
        var leaderID = try Self.memberID(for: "pair", on: leader)
        var followerID = try Self.memberID(for: "pair", on: follower)
        let leaderJoin = try leader.send(Self.joinRequest("pair", memberID: leaderID), version: Self.joinVersion)
        let followerJoin = try follower.send(Self.joinRequest("pair", memberID: followerID), version: Self.joinVersion)
        var leaderAnswer = try leader.receive(JoinGroupResponse.self, version: Self.joinVersion, correlationID: leaderJoin)
        var followerAnswer = try follower.receive(JoinGroupResponse.self, version: Self.joinVersion, correlationID: followerJoin)
        // The joins travel on two connections (served by different event loops) and may reach
        // the coordinator in either order; the first to arrive leads, and comes first below.
        if leaderAnswer.leaderMemberID == followerID {
            swap(&leader, &follower)
            swap(&leaderID, &followerID)
            swap(&leaderAnswer, &followerAnswer)
        }
        #expect(leaderAnswer.errorCode == .none && followerAnswer.errorCode == .none)
        #expect(leaderAnswer.generationID == 1 && followerAnswer.generationID == 1)
        #expect(leaderAnswer.leaderMemberID == leaderID && followerAnswer.leaderMemberID == leaderID)
        #expect(leaderAnswer.members.map(\.memberID) == [leaderID, followerID])
        #expect(followerAnswer.members.isEmpty, "only the leader gets the member list")

        // The follower's SyncGroup waits for the leader's, which carries both assignments.
        let followerSync = try follower.send(SyncGroupRequest(groupID: "pair", generationID: 1, memberID: followerID), version: Self.syncVersion)
        let leaderAssignment = Self.assignment("events", [0]), followerAssignment = Self.assignment("events", [1])
        let leaderSynced = try leader.request(
            SyncGroupRequest(groupID: "pair", generationID: 1, memberID: leaderID,
                             assignments: [.init(memberID: leaderID, assignment: leaderAssignment), .init(memberID: followerID, assignment: followerAssignment)]),
            version: Self.syncVersion)
        let followerSynced = try follower.receive(SyncGroupResponse.self, version: Self.syncVersion, correlationID: followerSync)
        #expect(leaderSynced.errorCode == .none && leaderSynced.assignment == leaderAssignment)
        #expect(followerSynced.errorCode == .none && followerSynced.assignment == followerAssignment)

        for (connection, memberID) in [(leader, leaderID), (follower, followerID)] {
            let heartbeat = try connection.request(HeartbeatRequest(groupID: "pair", generationID: 1, memberID: memberID), version: 3)
            #expect(heartbeat.errorCode == .none)
        }
        let stale = try leader.request(HeartbeatRequest(groupID: "pair", generationID: 0, memberID: leaderID), version: 3)
        #expect(stale.errorCode == .illegalGeneration)
        let described = try Self.describe("pair", on: leader)
        #expect(described.groupState == "Stable")
        #expect(described.protocolData == "range")
        #expect(described.members.map(\.memberID) == [leaderID, followerID])
        #expect(described.members.map(\.memberAssignment) == [leaderAssignment, followerAssignment])
        let listed = try leader.request(ListGroupsRequest(), version: 2)
        #expect(listed.groups == [.init(groupID: "pair", protocolType: "consumer")])

        // The leader leaves: the follower must rejoin (REBALANCE_IN_PROGRESS on its heartbeat).
        let left = try leader.request(LeaveGroupRequest(groupID: "pair", members: [.init(memberID: leaderID)]), version: 3)
        #expect(left.errorCode == .none && left.members.map(\.errorCode) == [.none])
        let afterLeave = try follower.request(HeartbeatRequest(groupID: "pair", generationID: 1, memberID: followerID), version: 3)
        #expect(afterLeave.errorCode == .rebalanceInProgress)
        try broker.stop()
    }

    // MARK: Shutdown

    @Test func stoppingTheBrokerReleasesAParkedJoinGroup() throws {
        let broker = try TestBroker([("group.initial.rebalance.delay.ms", "60000")])
        let connection = try broker.connect()
        let memberID = try Self.memberID(for: "parked", on: connection)
        let joinID = try connection.send(Self.joinRequest("parked", memberID: memberID, rebalanceTimeoutMilliseconds: 120_000), version: Self.joinVersion)
        // The join is parked once the group waits in PreparingRebalance (its initial delay).
        let observer = try broker.connect()
        var state = ""
        let deadline = ContinuousClock.now + .seconds(10)
        while state != "PreparingRebalance", ContinuousClock.now < deadline { state = try Self.describe("parked", on: observer).groupState }
        #expect(state == "PreparingRebalance", "the join was not parked")
        try broker.stop()
        Self.expectAnsweredOrClosed(connection, correlationID: joinID, apiKey: .joinGroup, version: Self.joinVersion)
    }

    @Test func stoppingTheBrokerReleasesAParkedSyncGroup() throws {
        let broker = try TestBroker([("group.initial.rebalance.delay.ms", "0")])
        let leader = try broker.connect(), follower = try broker.connect()
        let leaderID = try Self.stableGroup("parked-sync", on: leader, assignment: Self.assignment("events", [0]))
        // A second member makes the group rebalance; the leader rejoins and both get generation 2.
        let followerID = try Self.memberID(for: "parked-sync", on: follower)
        let followerJoin = try follower.send(Self.joinRequest("parked-sync", memberID: followerID), version: Self.joinVersion)
        let rejoined = try leader.request(Self.joinRequest("parked-sync", memberID: leaderID), version: Self.joinVersion)
        #expect(rejoined.generationID == 2)
        #expect(try follower.receive(JoinGroupResponse.self, version: Self.joinVersion, correlationID: followerJoin).generationID == 2)
        // The follower's SyncGroup waits for the leader's, which never comes.
        let syncID = try follower.send(SyncGroupRequest(groupID: "parked-sync", generationID: 2, memberID: followerID), version: Self.syncVersion)
        _ = try leader.request(ApiVersionsRequest(), version: 2)
        try broker.stop()
        Self.expectAnsweredOrClosed(follower, correlationID: syncID, apiKey: .syncGroup, version: Self.syncVersion)
    }

    /// After a stop, a parked request's connection is closed (an answer first is fine too).
    static func expectAnsweredOrClosed(_ connection: TestConnection, correlationID: Int32, apiKey: ApiKey, version: Int16,
                                       sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            if let frame = try connection.receiveFrame() {
                var reader = KafkaReader(frame)
                #expect(try ResponseHeader.read(from: &reader, apiKey: apiKey, version: version) == correlationID, sourceLocation: sourceLocation)
                #expect(try connection.receiveFrame() == nil, sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("the parked \(apiKey) was neither answered nor closed: \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Restart

    @Test func aRestartReloadsCommittedOffsetsAndGroups() throws {
        let broker = try TestBroker([("group.initial.rebalance.delay.ms", "0")])
        var connection = try broker.connect()
        try connection.createTopic("events", partitions: 2)
        let assignment = Self.assignment("events", [0, 1])
        let memberID = try Self.stableGroup("members", on: connection, assignment: assignment)
        #expect(try Self.commit("members", on: connection, [("events", 0, 5), ("events", 1, 7)], generation: 1, memberID: memberID, metadata: "m") == [.none, .none])
        #expect(try Self.commit("commits-only", on: connection, [("events", 1, 3)]) == [.none])
        // Later commits win over earlier ones when the log is replayed.
        #expect(try Self.commit("commits-only", on: connection, [("events", 1, 4)]) == [.none])

        try broker.restart()
        connection = try broker.connect()
        #expect(try Self.committedOffsets("members", on: connection) == ["events:0": 5, "events:1": 7])
        #expect(try Self.committedOffsets("commits-only", on: connection) == ["events:1": 4])
        let fetched = try connection.request(OffsetFetchRequest(groupID: "members", topics: [.init(name: "events", partitions: [0])]), version: Self.offsetFetchVersion)
        #expect(fetched.topics.first?.partitions.first?.metadata == "m")
        let described = try Self.describe("members", on: connection)
        #expect(described.groupState == "Stable")
        #expect(described.protocolType == "consumer" && described.protocolData == "range")
        #expect(described.members.map(\.memberID) == [memberID])
        #expect(described.members.first?.memberAssignment == assignment)
        // The member carries on in its generation: heartbeat, commit, and its assignment again.
        #expect(try connection.request(HeartbeatRequest(groupID: "members", generationID: 1, memberID: memberID), version: 3).errorCode == .none)
        #expect(try Self.commit("members", on: connection, [("events", 0, 6)], generation: 1, memberID: memberID) == [.none])
        let resynced = try connection.request(SyncGroupRequest(groupID: "members", generationID: 1, memberID: memberID), version: Self.syncVersion)
        #expect(resynced.errorCode == .none && resynced.assignment == assignment)
        let listed = try connection.request(ListGroupsRequest(), version: 2)
        #expect(listed.groups == [.init(groupID: "commits-only", protocolType: ""), .init(groupID: "members", protocolType: "consumer")])
        try broker.stop()
    }

    // MARK: Topic deletion

    /// Kafka's coordinator forgets the offsets of a deleted topic (GroupCoordinator
    /// .handleDeletedPartitions): a topic created again under the same name is consumed from
    /// its start, not from where the old one's consumers were.
    @Test func deletingATopicDeletesItsCommittedOffsets() throws {
        let broker = try TestBroker()
        var connection = try broker.connect()
        try connection.createTopic("doomed", partitions: 2)
        try connection.createTopic("kept")
        #expect(try Self.commit("both", on: connection, [("doomed", 0, 5), ("doomed", 1, 6), ("kept", 0, 7)]) == [.none, .none, .none])
        #expect(try Self.commit("doomed-only", on: connection, [("doomed", 0, 9)]) == [.none])
        let deleted = try connection.request(DeleteTopicsRequest(topicNames: ["doomed"], timeoutMilliseconds: 1_000), version: 3)
        #expect(deleted.results.map(\.errorCode) == [.none])

        #expect(try Self.committedOffsets("both", on: connection) == ["kept:0": 7])
        #expect(try Self.committedOffsets("doomed-only", on: connection) == [:])
        // A group left with no offsets and no members is gone.
        #expect(try Self.describe("doomed-only", on: connection).groupState == "Dead")
        #expect(try connection.request(ListGroupsRequest(), version: 2).groups.map(\.groupID) == ["both"])
        // The deletion is stored: a restart does not bring the offsets back.
        try broker.restart()
        connection = try broker.connect()
        #expect(try Self.committedOffsets("both", on: connection) == ["kept:0": 7])
        #expect(try Self.committedOffsets("doomed-only", on: connection) == [:])
        try broker.stop()
    }

    // MARK: Malformed requests

    /// The body of a group request, cut or corrupted in a way a decoder must catch.
    static func malformedGroupBodies() -> [(name: String, apiKey: ApiKey, version: Int16, body: [UInt8])] {
        func encoded<Message: KafkaRequestMessage>(_ message: Message, version: Int16) -> [UInt8] {
            var buffer = ByteBuffer()
            message.write(to: &buffer, version: version)
            return Array(buffer.readableBytesView)
        }
        let join = encoded(joinRequest("g", memberID: "m"), version: joinVersion)
        let sync = encoded(SyncGroupRequest(groupID: "g", generationID: 1, memberID: "m", assignments: [.init(memberID: "m", assignment: assignment("t", [0]))]), version: syncVersion)
        let commit = encoded(OffsetCommitRequest(groupID: "g", topics: [.init(name: "t", partitions: [.init(partition: 0, committedOffset: Offset(1), committedMetadata: nil)])]),
                             version: offsetCommitVersion)
        var hugeProtocolCount = join
        // groupID "g" (2+1), session (4), rebalance (4), memberID "m" (2+1), instance id null (2),
        // protocol type "consumer" (2+8): then the protocols array's count.
        let protocolsAt = 3 + 4 + 4 + 3 + 2 + 10
        hugeProtocolCount.replaceSubrange(protocolsAt..<protocolsAt + 4, with: [0x7F, 0xFF, 0xFF, 0xFF])
        var negativeProtocolCount = join
        negativeProtocolCount.replaceSubrange(protocolsAt..<protocolsAt + 4, with: [0xFF, 0xFF, 0xFF, 0xFE])
        var negativeGroupLength = commit
        negativeGroupLength.replaceSubrange(0..<2, with: [0xFF, 0xF0])
        var overlongAssignment = sync
        // The assignment's bytes length is the last field but its contents.
        let assignmentLengthAt = sync.count - assignment("t", [0]).readableBytes - 4
        overlongAssignment.replaceSubrange(assignmentLengthAt..<assignmentLengthAt + 4, with: [0x00, 0x10, 0x00, 0x00])
        return [
            ("JoinGroup cut in half", .joinGroup, joinVersion, Array(join.prefix(join.count / 2))),
            ("JoinGroup claiming 2^31-1 protocols", .joinGroup, joinVersion, hugeProtocolCount),
            ("JoinGroup with protocol count -2", .joinGroup, joinVersion, negativeProtocolCount),
            ("SyncGroup whose assignment runs past the frame", .syncGroup, syncVersion, overlongAssignment),
            ("SyncGroup without its last byte", .syncGroup, syncVersion, Array(sync.dropLast())),
            ("OffsetCommit with group id length -16", .offsetCommit, offsetCommitVersion, negativeGroupLength),
            ("OffsetCommit cut after the group id", .offsetCommit, offsetCommitVersion, Array(commit.prefix(3))),
            ("Heartbeat with a 1-byte body", .heartbeat, 3, [0x00]),
            ("LeaveGroup with 2^31-1 members", .leaveGroup, 3, [0x00, 0x01, 0x67, 0x7F, 0xFF, 0xFF, 0xFF]),
            ("OffsetFetch with a topic count but no topics", .offsetFetch, offsetFetchVersion, [0x00, 0x01, 0x67, 0x00, 0x00, 0x00, 0x05]),
        ]
    }

    @Test func malformedGroupRequestsCloseTheConnectionAndTheBrokerGoesOn() throws {
        let broker = try TestBroker([("group.initial.rebalance.delay.ms", "0")])
        let connection = try broker.connect()
        try connection.createTopic("events")
        let memberID = try Self.stableGroup("survivor", on: connection, assignment: Self.assignment("events", [0]))
        for malformed in Self.malformedGroupBodies() {
            let bad = try broker.connect()
            try bad.send(Self.frame(apiKey: malformed.apiKey.rawValue, version: malformed.version, body: malformed.body))
            #expect(try bad.isClosedByBroker(), "\(malformed.name): answered instead of closed")
            try Self.expectHealthy(broker)
        }
        // The group lived through it all.
        #expect(try connection.request(HeartbeatRequest(groupID: "survivor", generationID: 1, memberID: memberID), version: 3).errorCode == .none)
        #expect(try Self.describe("survivor", on: connection).groupState == "Stable")
        try broker.stop()
    }

    /// Subscription and assignment bytes are the clients' business: garbage in them is stored,
    /// described and reloaded, never parsed into a failure.
    @Test func garbageMemberMetadataAndAssignmentsAreCarriedOpaquely() throws {
        let broker = try TestBroker([("group.initial.rebalance.delay.ms", "0"), ("offsets.retention.check.interval.ms", "1")])
        var connection = try broker.connect()
        let garbage = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x01, 0x02])
        let request = JoinGroupRequest(groupID: "opaque", sessionTimeoutMilliseconds: 6_000, rebalanceTimeoutMilliseconds: 30_000, memberID: "",
                                       protocolType: "consumer", protocols: [.init(name: "range", metadata: garbage)])
        let first = try connection.request(request, version: Self.joinVersion)
        var withID = request
        withID.memberID = first.memberID
        let joined = try connection.request(withID, version: Self.joinVersion)
        #expect(joined.errorCode == .none && joined.members.first?.metadata == garbage)
        let synced = try connection.request(
            SyncGroupRequest(groupID: "opaque", generationID: 1, memberID: first.memberID, assignments: [.init(memberID: first.memberID, assignment: garbage)]),
            version: Self.syncVersion)
        #expect(synced.errorCode == .none && synced.assignment == garbage)
        // The retention check (every millisecond here) decodes subscriptions of stable groups.
        #expect(try Self.commit("opaque", on: connection, [("events", 0, 1)], generation: 1, memberID: first.memberID) == [.unknownTopicOrPartition])
        try broker.restart()
        connection = try broker.connect()
        let described = try Self.describe("opaque", on: connection)
        #expect(described.groupState == "Stable")
        #expect(described.members.first?.memberMetadata == garbage && described.members.first?.memberAssignment == garbage)
        try Self.expectHealthy(broker)
        try broker.stop()
    }
}
