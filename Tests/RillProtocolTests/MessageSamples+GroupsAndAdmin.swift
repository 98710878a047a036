import NIOCore
import RillFormat
@testable import RillProtocol

extension Samples {
    // MARK: Groups

    static func findCoordinatorRequest(version: Int16) -> FindCoordinatorRequest {
        FindCoordinatorRequest(key: "transaction-1", keyType: from(1, version, .transaction, otherwise: .group))
    }

    static func findCoordinatorResponse(version: Int16) -> FindCoordinatorResponse {
        FindCoordinatorResponse(
            throttleTimeMilliseconds: from(1, version, 6, otherwise: 0), errorCode: .coordinatorLoadInProgress,
            errorMessage: from(1, version, "loading", otherwise: nil), nodeID: 1, host: "broker-1.example", port: 9092
        )
    }

    static func joinGroupRequest(version: Int16) -> JoinGroupRequest {
        JoinGroupRequest(
            groupID: "group-1", sessionTimeoutMilliseconds: 10_000,
            rebalanceTimeoutMilliseconds: from(1, version, 300_000, otherwise: -1),
            memberID: "member-1", groupInstanceID: from(5, version, "instance-1", otherwise: nil), protocolType: "consumer",
            protocols: [.init(name: "range", metadata: bytes("subscription-a")), .init(name: "roundrobin", metadata: ByteBuffer())]
        )
    }

    static func joinGroupResponse(version: Int16) -> JoinGroupResponse {
        JoinGroupResponse(
            throttleTimeMilliseconds: from(2, version, 8, otherwise: 0), errorCode: .rebalanceInProgress, generationID: 5,
            protocolName: "range", leaderMemberID: "member-1", memberID: "member-2",
            members: [
                .init(memberID: "member-1", groupInstanceID: from(5, version, "instance-1", otherwise: nil), metadata: bytes("subscription-a")),
                .init(memberID: "member-2", metadata: ByteBuffer()),
            ]
        )
    }

    static func heartbeatRequest(version: Int16) -> HeartbeatRequest {
        HeartbeatRequest(groupID: "group-1", generationID: 5, memberID: "member-1", groupInstanceID: from(3, version, "instance-1", otherwise: nil))
    }

    static func heartbeatResponse(version: Int16) -> HeartbeatResponse {
        HeartbeatResponse(throttleTimeMilliseconds: from(1, version, 2, otherwise: 0), errorCode: .rebalanceInProgress)
    }

    static func leaveGroupRequest(version: Int16) -> LeaveGroupRequest {
        let members: [LeaveGroupRequest.Member] = version >= 3
            ? [.init(memberID: "member-1", groupInstanceID: "instance-1"), .init(memberID: "member-2")]
            : [.init(memberID: "member-1")]
        return LeaveGroupRequest(groupID: "group-1", members: members)
    }

    static func leaveGroupResponse(version: Int16) -> LeaveGroupResponse {
        LeaveGroupResponse(
            throttleTimeMilliseconds: from(1, version, 3, otherwise: 0), errorCode: .unknownMemberID,
            members: from(3, version, [.init(memberID: "member-1", groupInstanceID: "instance-1", errorCode: .fencedInstanceID), .init(memberID: "member-2")], otherwise: [])
        )
    }

    static func syncGroupRequest(version: Int16) -> SyncGroupRequest {
        SyncGroupRequest(
            groupID: "group-1", generationID: 5, memberID: "member-1", groupInstanceID: from(3, version, "instance-1", otherwise: nil),
            assignments: [.init(memberID: "member-1", assignment: bytes("assignment-1")), .init(memberID: "member-2", assignment: ByteBuffer())]
        )
    }

    static func syncGroupResponse(version: Int16) -> SyncGroupResponse {
        SyncGroupResponse(throttleTimeMilliseconds: from(1, version, 4, otherwise: 0), errorCode: .illegalGeneration, assignment: bytes("assignment-1"))
    }

    static func describeGroupsRequest(version: Int16) -> DescribeGroupsRequest {
        DescribeGroupsRequest(groups: ["group-1", "group-2"], includeAuthorizedOperations: from(3, version, true, otherwise: false))
    }

    static func describeGroupsResponse(version: Int16) -> DescribeGroupsResponse {
        let member = DescribeGroupsResponse.Member(
            memberID: "member-1", groupInstanceID: from(4, version, "instance-1", otherwise: nil), clientID: "client-1",
            clientHost: "/10.0.0.1", memberMetadata: bytes("subscription-a"), memberAssignment: bytes("assignment-1")
        )
        return DescribeGroupsResponse(
            throttleTimeMilliseconds: from(1, version, 9, otherwise: 0),
            groups: [
                .init(
                    groupID: "group-1", groupState: "Stable", protocolType: "consumer", protocolData: "range", members: [member],
                    authorizedOperations: from(3, version, 0x100, otherwise: Int32.min)
                ),
                .init(errorCode: .groupAuthorizationFailed, groupID: "group-2", groupState: "Dead", protocolType: "", protocolData: "", members: []),
            ]
        )
    }

    static func listGroupsRequest(version: Int16) -> ListGroupsRequest { ListGroupsRequest() }

    static func listGroupsResponse(version: Int16) -> ListGroupsResponse {
        ListGroupsResponse(
            throttleTimeMilliseconds: from(1, version, 1, otherwise: 0), errorCode: .coordinatorLoadInProgress,
            groups: [.init(groupID: "group-1", protocolType: "consumer"), .init(groupID: "connect-1", protocolType: "connect")]
        )
    }

    // MARK: Admin and producer

    static func createTopicsRequest(version: Int16) -> CreateTopicsRequest {
        CreateTopicsRequest(
            topics: [
                .init(name: "orders", partitionCount: 3, replicationFactor: 2, configs: [.init(name: "cleanup.policy", value: "compact"), .init(name: "retention.ms", value: nil)]),
                .init(name: "manual", partitionCount: -1, replicationFactor: -1, assignments: [.init(partition: 0, brokerIDs: [1, 2]), .init(partition: 1, brokerIDs: [2, 3])]),
            ],
            timeoutMilliseconds: 30_000, validateOnly: from(1, version, true, otherwise: false)
        )
    }

    static func createTopicsResponse(version: Int16) -> CreateTopicsResponse {
        CreateTopicsResponse(
            throttleTimeMilliseconds: from(2, version, 5, otherwise: 0),
            topics: [.init(name: "orders", errorCode: .topicAlreadyExists, errorMessage: from(1, version, "exists", otherwise: nil)), .init(name: "manual")]
        )
    }

    static func deleteTopicsRequest(version: Int16) -> DeleteTopicsRequest {
        DeleteTopicsRequest(topicNames: ["orders", "payments"], timeoutMilliseconds: 15_000)
    }

    static func deleteTopicsResponse(version: Int16) -> DeleteTopicsResponse {
        DeleteTopicsResponse(
            throttleTimeMilliseconds: from(1, version, 5, otherwise: 0),
            results: [.init(name: "orders"), .init(name: "payments", errorCode: .topicDeletionDisabled)]
        )
    }

    static func deleteRecordsRequest(version: Int16) -> DeleteRecordsRequest {
        DeleteRecordsRequest(topics: [.init(name: "orders", partitions: [.init(partition: 0, offset: Offset(40)), .init(partition: 1, offset: .none)])], timeoutMilliseconds: 5_000)
    }

    static func deleteRecordsResponse(version: Int16) -> DeleteRecordsResponse {
        DeleteRecordsResponse(
            throttleTimeMilliseconds: 5,
            topics: [.init(name: "orders", partitions: [.init(partition: 0, lowWatermark: Offset(40)), .init(partition: 1, lowWatermark: .none, errorCode: .notLeaderOrFollower)])]
        )
    }

    static func initProducerIdRequest(version: Int16) -> InitProducerIdRequest {
        InitProducerIdRequest(transactionalID: "transaction-1", transactionTimeoutMilliseconds: 60_000)
    }

    static func initProducerIdResponse(version: Int16) -> InitProducerIdResponse {
        InitProducerIdResponse(throttleTimeMilliseconds: 5, errorCode: .concurrentTransactions, producerID: ProducerID(4_000), producerEpoch: ProducerEpoch(2))
    }

    static func describeConfigsRequest(version: Int16) -> DescribeConfigsRequest {
        DescribeConfigsRequest(
            resources: [.init(resourceType: .topic, resourceName: "orders", configurationKeys: ["retention.ms"]), .init(resourceType: .broker, resourceName: "1")],
            includeSynonyms: from(1, version, true, otherwise: false), includeDocumentation: from(3, version, true, otherwise: false)
        )
    }

    static func describeConfigsResponse(version: Int16) -> DescribeConfigsResponse {
        let retention = DescribeConfigsResponse.Config(
            name: "retention.ms", value: "1000", isReadOnly: true, isDefault: version == 0,
            source: from(1, version, .topicConfig, otherwise: .notGiven), isSensitive: false,
            synonyms: from(1, version, [.init(name: "log.retention.ms", value: "604800000", source: .staticBrokerConfig), .init(name: "x", value: nil, source: .defaultConfig)], otherwise: []),
            configType: from(3, version, .long, otherwise: .unknown), documentation: from(3, version, "How long to keep records.", otherwise: nil)
        )
        let secret = DescribeConfigsResponse.Config(name: "sasl.password", value: nil, isSensitive: true)
        return DescribeConfigsResponse(
            throttleTimeMilliseconds: 10,
            results: [
                .init(resourceType: .topic, resourceName: "orders", configs: [retention, secret]),
                .init(errorCode: .invalidRequest, errorMessage: "no such broker", resourceType: .broker, resourceName: "9", configs: []),
            ]
        )
    }
}

extension Samples {
    /// The API keys that have request codecs, in key order.
    static let requestApiKeys: [ApiKey] = [
        .produce, .fetch, .listOffsets, .metadata, .offsetCommit, .offsetFetch, .findCoordinator, .joinGroup,
        .heartbeat, .leaveGroup, .syncGroup, .describeGroups, .listGroups, .apiVersions, .createTopics,
        .deleteTopics, .deleteRecords, .initProducerId, .offsetForLeaderEpoch, .describeConfigs,
    ]

    /// Every (API key, version) pair the codecs implement.
    static var allRequestVersions: [(apiKey: ApiKey, version: Int16)] {
        requestApiKeys.flatMap { apiKey in versions(of: apiKey).map { (apiKey, $0) } }
    }

    /// The sample request of `apiKey` at `version`, wrapped in `KafkaRequest`.
    static func request(_ apiKey: ApiKey, version: Int16) -> KafkaRequest {
        switch apiKey {
        case .produce: .produce(produceRequest(version: version))
        case .fetch: .fetch(fetchRequest(version: version))
        case .listOffsets: .listOffsets(listOffsetsRequest(version: version))
        case .metadata: .metadata(metadataRequest(version: version))
        case .offsetCommit: .offsetCommit(offsetCommitRequest(version: version))
        case .offsetFetch: .offsetFetch(offsetFetchRequest(version: version))
        case .findCoordinator: .findCoordinator(findCoordinatorRequest(version: version))
        case .joinGroup: .joinGroup(joinGroupRequest(version: version))
        case .heartbeat: .heartbeat(heartbeatRequest(version: version))
        case .leaveGroup: .leaveGroup(leaveGroupRequest(version: version))
        case .syncGroup: .syncGroup(syncGroupRequest(version: version))
        case .describeGroups: .describeGroups(describeGroupsRequest(version: version))
        case .listGroups: .listGroups(listGroupsRequest(version: version))
        case .apiVersions: .apiVersions(ApiVersionsRequest())
        case .createTopics: .createTopics(createTopicsRequest(version: version))
        case .deleteTopics: .deleteTopics(deleteTopicsRequest(version: version))
        case .deleteRecords: .deleteRecords(deleteRecordsRequest(version: version))
        case .initProducerId: .initProducerId(initProducerIdRequest(version: version))
        case .offsetForLeaderEpoch: .offsetForLeaderEpoch(offsetForLeaderEpochRequest(version: version))
        case .describeConfigs: .describeConfigs(describeConfigsRequest(version: version))
        default: preconditionFailure("no sample for \(apiKey)")
        }
    }

    /// The body bytes of `request` at `version`.
    static func encodedBody(_ request: KafkaRequest, version: Int16) -> ByteBuffer {
        var buffer = ByteBuffer()
        request.message.write(to: &buffer, version: version)
        return buffer
    }
}

/// The versions the codecs implement for `apiKey`, as test arguments.
func versions(of apiKey: ApiKey) -> [Int16] {
    guard let range = ApiVersionTable.codecVersions(apiKey) else { return [] }
    return Array(range)
}
