import NIOCore

/// Message bodies hand-assembled field by field from Kafka's JSON message schemas
/// (clients/src/main/resources/common/message/*.json) — never produced by our encoder.
/// Classic encoding: big-endian integers, int16-length strings (-1 null), int32-length bytes
/// and int32-count arrays (kafka-protocol.md §1.2).
enum Golden {
    /// Joins hex fragments (one per field, commented at the call site) into bytes.
    static func hex(_ fields: [String]) -> ByteBuffer { ByteBuffer(bytes: hexBytes(fields.joined())) }

    /// The 70-byte record batch of kafka-protocol.md §4.6 (one record, key "k", value "v"),
    /// used as a records payload; the codecs never look inside it.
    static let recordBatchHex = [
        "0000000000000000", // baseOffset 0
        "0000003a", // batchLength 58
        "00000000", // partitionLeaderEpoch 0
        "02", // magic 2
        "e99b8dd8", // CRC-32C
        "0000", // attributes
        "00000000", // lastOffsetDelta 0
        "0000018bcfe56800", // baseTimestamp 1700000000000
        "0000018bcfe56800", // maxTimestamp
        "ffffffffffffffff", // producerId -1
        "ffff", // producerEpoch -1
        "ffffffff", // baseSequence -1
        "00000001", // recordsCount 1
        "10", "000000", "026b", "0276", "00", // record: length 8, attributes, deltas, key "k", value "v", no headers
    ].joined()
    static let recordBatch = hex([recordBatchHex])

    // MARK: Produce

    static let produceRequestV3 = hex([
        "ffff", // TransactionalId: null
        "ffff", // Acks: -1
        "00007530", // TimeoutMs: 30000
        "00000001", // Topics: 1 element
        "0001", "74", // Name: "t"
        "00000001", // Partitions: 1 element
        "00000000", // PartitionIndex: 0
        "00000046", recordBatchHex, // Records: 70 bytes
    ])

    static let produceRequestV8 = hex([
        "0002", "7478", // TransactionalId: "tx"
        "0001", // Acks: 1
        "000005dc", // TimeoutMs: 1500
        "00000001", // Topics: 1 element
        "0001", "74", // Name: "t"
        "00000001", // Partitions: 1 element
        "00000002", // PartitionIndex: 2
        "00000046", recordBatchHex, // Records: 70 bytes
    ])

    static let produceResponseV8 = hex([
        "00000001", // Responses: 1 element
        "0001", "74", // Name: "t"
        "00000001", // PartitionResponses: 1 element
        "00000000", // Index: 0
        "0057", // ErrorCode: 87 INVALID_RECORD
        "ffffffffffffffff", // BaseOffset: -1
        "ffffffffffffffff", // LogAppendTimeMs: -1 (v2+)
        "0000000000000000", // LogStartOffset: 0 (v5+)
        "00000001", // RecordErrors: 1 element (v8+)
        "00000000", // BatchIndex: 0
        "0003", "626164", // BatchIndexErrorMessage: "bad"
        "0007", "696e76616c6964", // ErrorMessage: "invalid" (v8+)
        "00000000", // ThrottleTimeMs: 0 (v1+, last field)
    ])

    // MARK: Fetch

    static let fetchRequestV11 = hex([
        "ffffffff", // ReplicaId: -1 (consumer)
        "000001f4", // MaxWaitMs: 500
        "00000001", // MinBytes: 1
        "03200000", // MaxBytes: 52428800 (v3+)
        "01", // IsolationLevel: READ_COMMITTED (v4+)
        "00000000", // SessionId: 0 (v7+)
        "ffffffff", // SessionEpoch: -1 (v7+)
        "00000001", // Topics: 1 element
        "0001", "74", // Topic: "t"
        "00000001", // Partitions: 1 element
        "00000000", // Partition: 0
        "00000005", // CurrentLeaderEpoch: 5 (v9+)
        "000000000000000a", // FetchOffset: 10
        "ffffffffffffffff", // LogStartOffset: -1 (v5+)
        "00100000", // PartitionMaxBytes: 1048576
        "00000000", // ForgottenTopicsData: 0 elements (v7+)
        "0000", // RackId: "" (v11+)
    ])

    /// Everything of a one-partition v11 response up to the partition's records field.
    static let fetchResponseV11Prefix = [
        "00000000", // ThrottleTimeMs: 0 (v1+)
        "0000", // ErrorCode: 0 (v7+)
        "00000000", // SessionId: 0 (v7+)
        "00000001", // Responses: 1 element
        "0001", "74", // Topic: "t"
        "00000001", // Partitions: 1 element
        "00000000", // PartitionIndex: 0
        "0000", // ErrorCode: 0
        "0000000000000001", // HighWatermark: 1
        "0000000000000001", // LastStableOffset: 1 (v4+)
        "0000000000000000", // LogStartOffset: 0 (v5+)
        "ffffffff", // AbortedTransactions: null (v4+)
        "ffffffff", // PreferredReadReplica: -1 (v11+)
    ]
    static let fetchResponseV11WithRecords = hex(fetchResponseV11Prefix + ["00000046", recordBatchHex]) // Records: 70 bytes
    static let fetchResponseV11WithoutRecords = hex(fetchResponseV11Prefix + ["00000000"]) // Records: empty, never null

    // MARK: Metadata

    static let metadataRequestV1 = hex([
        "00000001", // Topics: 1 element
        "0001", "74", // Name: "t"
    ])
    static let metadataRequestV1AllTopics = hex([
        "ffffffff", // Topics: null = all topics (v1+)
    ])
    static let metadataRequestV0AllTopics = hex([
        "00000000", // Topics: empty = all topics (v0)
    ])

    static let metadataResponseV8 = hex([
        "00000000", // ThrottleTimeMs: 0 (v3+)
        "00000001", // Brokers: 1 element
        "00000001", // NodeId: 1
        "0009", "6c6f63616c686f7374", // Host: "localhost"
        "00002384", // Port: 9092
        "ffff", // Rack: null (v1+)
        "0004", "72696c6c", // ClusterId: "rill" (v2+)
        "00000001", // ControllerId: 1 (v1+)
        "00000001", // Topics: 1 element
        "0000", // ErrorCode: 0
        "0001", "74", // Name: "t"
        "00", // IsInternal: false (v1+)
        "00000001", // Partitions: 1 element
        "0000", // ErrorCode: 0
        "00000000", // PartitionIndex: 0
        "00000001", // LeaderId: 1
        "00000000", // LeaderEpoch: 0 (v7+)
        "00000001", "00000001", // ReplicaNodes: [1]
        "00000001", "00000001", // IsrNodes: [1]
        "00000000", // OfflineReplicas: [] (v5+)
        "80000000", // TopicAuthorizedOperations: INT32_MIN (v8+)
        "80000000", // ClusterAuthorizedOperations: INT32_MIN (v8+)
    ])

    // MARK: ListOffsets

    static let listOffsetsRequestV1 = hex([
        "ffffffff", // ReplicaId: -1
        "00000001", // Topics: 1 element
        "0001", "74", // Name: "t"
        "00000001", // Partitions: 1 element
        "00000000", // PartitionIndex: 0
        "fffffffffffffffe", // Timestamp: -2 (EARLIEST)
    ])

    static let listOffsetsResponseV1 = hex([
        "00000001", // Topics: 1 element
        "0001", "74", // Name: "t"
        "00000001", // Partitions: 1 element
        "00000000", // PartitionIndex: 0
        "0000", // ErrorCode: 0
        "ffffffffffffffff", // Timestamp: -1 (v1+)
        "0000000000000000", // Offset: 0 (v1+)
    ])

    // MARK: Admin and producer

    static let createTopicsRequestV4 = hex([
        "00000002", // Topics: 2 elements
        "0006", "6f7264657273", // Name: "orders"
        "00000003", // NumPartitions: 3
        "0001", // ReplicationFactor: 1
        "00000000", // Assignments: 0 elements
        "00000001", // Configs: 1 element
        "000e", "636c65616e75702e706f6c696379", // Name: "cleanup.policy"
        "0007", "636f6d70616374", // Value: "compact"
        "0001", "6d", // Name: "m"
        "ffffffff", // NumPartitions: -1 (manual assignment)
        "ffff", // ReplicationFactor: -1
        "00000001", // Assignments: 1 element
        "00000000", // PartitionIndex: 0
        "00000001", "00000001", // BrokerIds: [1]
        "00000000", // Configs: 0 elements
        "00007530", // timeoutMs: 30000
        "00", // validateOnly: false (v1+)
    ])

    static let initProducerIdRequestV0 = hex([
        "ffff", // TransactionalId: null (idempotent producer)
        "0000ea60", // TransactionTimeoutMs: 60000
    ])

    static let initProducerIdResponseV0 = hex([
        "00000000", // ThrottleTimeMs: 0
        "0000", // ErrorCode: 0
        "0000000000000bb8", // ProducerId: 3000
        "0000", // ProducerEpoch: 0
    ])

    static let offsetForLeaderEpochRequestV2 = hex([
        "00000001", // Topics: 1 element
        "0001", "74", // Topic: "t"
        "00000001", // Partitions: 1 element
        "00000000", // Partition: 0
        "00000005", // CurrentLeaderEpoch: 5 (v2+)
        "00000004", // LeaderEpoch: 4
    ])

    // MARK: Groups

    /// A v0 subscription as kafka-python writes it: topics ["t"], empty user data (13 bytes).
    static let kafkaPythonSubscriptionV0Hex = [
        "0000", // Version: 0
        "00000001", // Topics: 1 element
        "0001", "74", // "t"
        "00000000", // UserData: empty bytes
    ].joined()

    /// A v3 subscription as librdkafka 2.x writes it on a first join (rd_kafka_consumer_protocol_member_metadata_new):
    /// empty (not null) user data, an empty owned-partitions array, generation -1, and a null
    /// rack when client.rack is unset.
    static let librdkafkaSubscriptionV3Hex = [
        "0003", // Version: 3
        "00000001", // Topics: 1 element
        "0001", "74", // "t"
        "00000000", // UserData: empty bytes
        "00000000", // OwnedPartitions: 0 elements (v1+)
        "ffffffff", // GenerationId: -1 (v2+)
        "ffff", // RackId: null (v3+)
    ].joined()

    static let joinGroupRequestV5 = hex([
        "0002", "6731", // GroupId: "g1"
        "00002710", // SessionTimeoutMs: 10000
        "000493e0", // RebalanceTimeoutMs: 300000 (v1+)
        "0000", // MemberId: "" (first join)
        "ffff", // GroupInstanceId: null (v5+)
        "0008", "636f6e73756d6572", // ProtocolType: "consumer"
        "00000001", // Protocols: 1 element
        "0005", "72616e6765", // Name: "range"
        "0000000d", kafkaPythonSubscriptionV0Hex, // Metadata: 13 bytes
    ])

    static let offsetCommitRequestV7 = hex([
        "0002", "6731", // GroupId: "g1"
        "00000003", // GenerationId: 3 (v1+)
        "0002", "6d31", // MemberId: "m1" (v1+)
        "ffff", // GroupInstanceId: null (v7+)
        "00000001", // Topics: 1 element
        "0001", "74", // Name: "t"
        "00000001", // Partitions: 1 element
        "00000000", // PartitionIndex: 0
        "000000000000000a", // CommittedOffset: 10
        "00000002", // CommittedLeaderEpoch: 2 (v6+)
        "0000", // CommittedMetadata: ""
    ])
}
