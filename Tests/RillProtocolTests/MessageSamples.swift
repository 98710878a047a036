import NIOCore
import RillFormat
@testable import RillProtocol

/// Representative messages for every API at every codec version: every field that exists in
/// the version holds a non-default value, every field that does not holds Kafka's default (so
/// that decoding what was encoded gives back an equal value).
enum Samples {
    static func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    /// `value` when `version` has the field (`version >= since`), else the field's default.
    static func from<T>(_ since: Int16, _ version: Int16, _ value: T, otherwise fallback: T) -> T {
        version >= since ? value : fallback
    }

    // MARK: Produce, Fetch, ListOffsets, Metadata

    static func produceRequest(version: Int16) -> ProduceRequest {
        ProduceRequest(
            transactionalID: from(3, version, "transaction-1", otherwise: nil), acks: -1, timeoutMilliseconds: 30_000,
            topics: [
                .init(name: "orders", partitions: [.init(partition: 0, records: bytes("batch-a")), .init(partition: 7, records: nil)]),
                .init(name: "ünïcode", partitions: [.init(partition: 1, records: ByteBuffer())]),
            ]
        )
    }

    static func produceResponse(version: Int16) -> ProduceResponse {
        let failed = ProduceResponse.Partition(
            partition: 3, errorCode: .invalidRecord, baseOffset: .none,
            logAppendTime: from(2, version, Timestamp(milliseconds: 1_700_000_000_000), otherwise: .none),
            logStartOffset: from(5, version, Offset(12), otherwise: .none),
            recordErrors: from(8, version, [.init(batchIndex: 2, message: "bad key"), .init(batchIndex: 5)], otherwise: []),
            errorMessage: from(8, version, "two records were invalid", otherwise: nil)
        )
        let appended = ProduceResponse.Partition(partition: 0, baseOffset: Offset(42), logStartOffset: from(5, version, Offset(0), otherwise: .none))
        return ProduceResponse(
            topics: [.init(name: "orders", partitions: [appended, failed])],
            throttleTimeMilliseconds: from(1, version, 25, otherwise: 0)
        )
    }

    static func fetchRequest(version: Int16) -> FetchRequest {
        let partition = FetchRequest.Partition(
            partition: 4, currentLeaderEpoch: from(9, version, LeaderEpoch(5), otherwise: .none), fetchOffset: Offset(100),
            logStartOffset: from(5, version, Offset(10), otherwise: .none), partitionMaximumBytes: 1_048_576
        )
        return FetchRequest(
            replicaID: 3, maximumWaitMilliseconds: 500, minimumBytes: 1,
            maximumBytes: from(3, version, 52_428_800, otherwise: Int32.max),
            isolationLevel: from(4, version, .readCommitted, otherwise: .readUncommitted),
            sessionID: from(7, version, 9, otherwise: 0), sessionEpoch: from(7, version, 4, otherwise: -1),
            topics: [.init(name: "orders", partitions: [partition]), .init(name: "empty", partitions: [])],
            forgottenTopics: from(7, version, [.init(name: "old", partitions: [1, 2])], otherwise: []),
            rackID: from(11, version, "rack-a", otherwise: "")
        )
    }

    static func fetchResponse(version: Int16) -> FetchResponse {
        let withData = FetchResponse.Partition(
            partition: 0, errorCode: .none, highWatermark: Offset(200),
            lastStableOffset: from(4, version, Offset(190), otherwise: .none),
            logStartOffset: from(5, version, Offset(7), otherwise: .none),
            abortedTransactions: from(4, version, [.init(producerID: ProducerID(77), firstOffset: Offset(150))], otherwise: []),
            preferredReadReplica: from(11, version, 2, otherwise: -1),
            records: bytes("record batches")
        )
        let failed = FetchResponse.Partition(
            partition: 1, errorCode: .offsetOutOfRange, highWatermark: Offset(-1),
            abortedTransactions: from(4, version, nil, otherwise: []), records: ByteBuffer()
        )
        return FetchResponse(
            throttleTimeMilliseconds: from(1, version, 7, otherwise: 0),
            errorCode: from(7, version, .fetchSessionIDNotFound, otherwise: .none),
            sessionID: from(7, version, 9, otherwise: 0),
            topics: [.init(name: "orders", partitions: [withData, failed])]
        )
    }

    static func listOffsetsRequest(version: Int16) -> ListOffsetsRequest {
        let partitions: [ListOffsetsRequest.Partition] = [
            .init(
                partition: 0, currentLeaderEpoch: from(4, version, LeaderEpoch(6), otherwise: .none),
                timestamp: ListOffsetsRequest.latestTimestamp, maximumOffsetCount: version == 0 ? 5 : 1
            ),
            .init(partition: 1, timestamp: Timestamp(milliseconds: 1_650_000_000_000)),
        ]
        return ListOffsetsRequest(
            replicaID: 2, isolationLevel: from(2, version, .readCommitted, otherwise: .readUncommitted),
            topics: [.init(name: "orders", partitions: partitions)]
        )
    }

    static func listOffsetsResponse(version: Int16) -> ListOffsetsResponse {
        let partition = ListOffsetsResponse.Partition(
            partition: 0, errorCode: .offsetNotAvailable,
            oldStyleOffsets: version == 0 ? [Offset(100), Offset(50)] : [],
            timestamp: from(1, version, Timestamp(milliseconds: 1_650_000_000_000), otherwise: .none),
            offset: from(1, version, Offset(99), otherwise: .none),
            leaderEpoch: from(4, version, LeaderEpoch(6), otherwise: .none)
        )
        return ListOffsetsResponse(throttleTimeMilliseconds: from(2, version, 3, otherwise: 0), topics: [.init(name: "orders", partitions: [partition])])
    }

    static func metadataRequest(version: Int16) -> MetadataRequest {
        MetadataRequest(
            topics: ["orders", "payments"],
            allowAutoTopicCreation: from(4, version, false, otherwise: true),
            includeClusterAuthorizedOperations: from(8, version, true, otherwise: false),
            includeTopicAuthorizedOperations: from(8, version, true, otherwise: false)
        )
    }

    static func metadataResponse(version: Int16) -> MetadataResponse {
        let notRequested = MetadataResponse.authorizedOperationsNotRequested
        let partition = MetadataResponse.Partition(
            errorCode: .leaderNotAvailable, partition: 2, leaderID: 1,
            leaderEpoch: from(7, version, LeaderEpoch(4), otherwise: .none),
            replicaNodes: [1, 2, 3], inSyncReplicaNodes: [1, 3],
            offlineReplicas: from(5, version, [2], otherwise: [])
        )
        let topic = MetadataResponse.Topic(
            errorCode: .none, name: "orders", isInternal: from(1, version, true, otherwise: false), partitions: [partition],
            topicAuthorizedOperations: from(8, version, 0x0F, otherwise: notRequested)
        )
        return MetadataResponse(
            throttleTimeMilliseconds: from(3, version, 11, otherwise: 0),
            brokers: [
                .init(nodeID: 1, host: "broker-1.example", port: 9092, rack: from(1, version, "rack-a", otherwise: nil)),
                .init(nodeID: 2, host: "broker-2.example", port: 9093),
            ],
            clusterID: from(2, version, "cluster-x", otherwise: nil),
            controllerID: from(1, version, 1, otherwise: -1),
            topics: [topic, .init(errorCode: .unknownTopicOrPartition, name: "missing", partitions: [])],
            clusterAuthorizedOperations: from(8, version, 0x1F, otherwise: notRequested)
        )
    }

    // MARK: Offsets

    static func offsetCommitRequest(version: Int16) -> OffsetCommitRequest {
        let partitions: [OffsetCommitRequest.Partition] = [
            .init(
                partition: 0, committedOffset: Offset(500), committedLeaderEpoch: from(6, version, LeaderEpoch(2), otherwise: .none),
                commitTimestamp: version == 1 ? Timestamp(milliseconds: 1_600_000_000_000) : .none, committedMetadata: "checkpoint"
            ),
            .init(partition: 1, committedOffset: Offset(0), committedMetadata: nil),
        ]
        return OffsetCommitRequest(
            groupID: "group-1", generationID: from(1, version, 3, otherwise: -1), memberID: from(1, version, "member-1", otherwise: ""),
            groupInstanceID: from(7, version, "instance-1", otherwise: nil),
            retentionTimeMilliseconds: (2...4).contains(version) ? 86_400_000 : -1,
            topics: [.init(name: "orders", partitions: partitions)]
        )
    }

    static func offsetCommitResponse(version: Int16) -> OffsetCommitResponse {
        OffsetCommitResponse(
            throttleTimeMilliseconds: from(3, version, 13, otherwise: 0),
            topics: [.init(name: "orders", partitions: [.init(partition: 0), .init(partition: 1, errorCode: .offsetMetadataTooLarge)])]
        )
    }

    static func offsetFetchRequest(version: Int16) -> OffsetFetchRequest {
        OffsetFetchRequest(groupID: "group-1", topics: [.init(name: "orders", partitions: [0, 1]), .init(name: "payments", partitions: [])])
    }

    static func offsetFetchResponse(version: Int16) -> OffsetFetchResponse {
        let partitions: [OffsetFetchResponse.Partition] = [
            .init(partition: 0, committedOffset: Offset(500), committedLeaderEpoch: from(5, version, LeaderEpoch(2), otherwise: .none), metadata: "checkpoint"),
            .init(partition: 1, committedOffset: .none, metadata: nil, errorCode: .unknownTopicOrPartition),
        ]
        return OffsetFetchResponse(
            throttleTimeMilliseconds: from(3, version, 13, otherwise: 0), topics: [.init(name: "orders", partitions: partitions)],
            errorCode: from(2, version, .notCoordinator, otherwise: .none)
        )
    }

    static func offsetForLeaderEpochRequest(version: Int16) -> OffsetForLeaderEpochRequest {
        OffsetForLeaderEpochRequest(
            replicaID: from(3, version, 1, otherwise: OffsetForLeaderEpochRequest.debugReplicaID),
            topics: [.init(name: "orders", partitions: [
                .init(partition: 0, currentLeaderEpoch: from(2, version, LeaderEpoch(7), otherwise: .none), leaderEpoch: LeaderEpoch(5)),
            ])]
        )
    }

    static func offsetForLeaderEpochResponse(version: Int16) -> OffsetForLeaderEpochResponse {
        OffsetForLeaderEpochResponse(
            throttleTimeMilliseconds: from(2, version, 4, otherwise: 0),
            topics: [.init(name: "orders", partitions: [
                .init(errorCode: .fencedLeaderEpoch, partition: 0, leaderEpoch: from(1, version, LeaderEpoch(5), otherwise: .none), endOffset: Offset(1234)),
            ])]
        )
    }
}
