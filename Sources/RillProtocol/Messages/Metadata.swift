import NIOCore
import RillFormat

/// Metadata (key 3), versions 0–8 (kafka-protocol.md §2.1): brokers, the controller, and the
/// partitions and leaders of the requested topics.
///
/// `topics == nil` asks for every topic. On the wire v0 says that with an empty array (and
/// cannot ask for no topics); v1+ with a null array, an empty array asking for none. The
/// codec maps both to nil, so the broker sees one meaning.
public struct MetadataRequest: KafkaRequestMessage, Hashable {
    public typealias Response = MetadataResponse
    public static let apiKey = ApiKey.metadata

    /// The topic names to describe, or nil for all topics. At v0 an empty array is written
    /// for nil and read back as nil.
    public var topics: [String]?
    /// Whether the broker may auto-create requested topics that do not exist (v4+; default true).
    public var allowAutoTopicCreation: Bool
    /// v8+; default false.
    public var includeClusterAuthorizedOperations: Bool
    /// v8+; default false.
    public var includeTopicAuthorizedOperations: Bool

    public init(
        topics: [String]?, allowAutoTopicCreation: Bool = true,
        includeClusterAuthorizedOperations: Bool = false, includeTopicAuthorizedOperations: Bool = false
    ) {
        self.topics = topics
        self.allowAutoTopicCreation = allowAutoTopicCreation
        self.includeClusterAuthorizedOperations = includeClusterAuthorizedOperations
        self.includeTopicAuthorizedOperations = includeTopicAuthorizedOperations
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        if version == 0 {
            let names = try reader.readStringArray()
            topics = names.isEmpty ? nil : names
        } else {
            topics = try reader.readNullableStringArray()
        }
        allowAutoTopicCreation = version >= 4 ? try reader.readBool() : true
        includeClusterAuthorizedOperations = version >= 8 ? try reader.readBool() : false
        includeTopicAuthorizedOperations = version >= 8 ? try reader.readBool() : false
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version == 0 {
            buffer.writeKafkaStringArray(topics ?? [])
        } else {
            buffer.writeKafkaNullableStringArray(topics)
        }
        if version >= 4 { buffer.writeKafkaBool(allowAutoTopicCreation) }
        if version >= 8 {
            buffer.writeKafkaBool(includeClusterAuthorizedOperations)
            buffer.writeKafkaBool(includeTopicAuthorizedOperations)
        }
    }
}

/// The answer to a Metadata request.
public struct MetadataResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.metadata

    /// "Authorized operations were not requested" (INT32_MIN), the default of those fields.
    public static let authorizedOperationsNotRequested = Int32.min

    /// A broker clients can connect to; `host` and `port` are its advertised address.
    public struct Broker: Hashable, Sendable {
        public var nodeID: Int32
        public var host: String
        public var port: Int32
        /// v1+; default null.
        public var rack: String?

        public init(nodeID: Int32, host: String, port: Int32, rack: String? = nil) {
            self.nodeID = nodeID
            self.host = host
            self.port = port
            self.rack = rack
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            nodeID = try reader.readInt32()
            host = try reader.readString()
            port = try reader.readInt32()
            rack = version >= 1 ? try reader.readNullableString() : nil
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeInteger(nodeID)
            buffer.writeKafkaString(host)
            buffer.writeInteger(port)
            if version >= 1 { buffer.writeKafkaNullableString(rack) }
        }
    }

    /// One partition's leader and replicas.
    public struct Partition: Hashable, Sendable {
        public var errorCode: ErrorCode
        public var partition: Int32
        /// The leader's node id, or -1 if there is none.
        public var leaderID: Int32
        /// v7+; default -1.
        public var leaderEpoch: LeaderEpoch
        public var replicaNodes: [Int32]
        public var inSyncReplicaNodes: [Int32]
        /// v5+; default empty.
        public var offlineReplicas: [Int32]

        public init(
            errorCode: ErrorCode = .none, partition: Int32, leaderID: Int32, leaderEpoch: LeaderEpoch = .none,
            replicaNodes: [Int32], inSyncReplicaNodes: [Int32], offlineReplicas: [Int32] = []
        ) {
            self.errorCode = errorCode
            self.partition = partition
            self.leaderID = leaderID
            self.leaderEpoch = leaderEpoch
            self.replicaNodes = replicaNodes
            self.inSyncReplicaNodes = inSyncReplicaNodes
            self.offlineReplicas = offlineReplicas
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            errorCode = try reader.readErrorCode()
            partition = try reader.readInt32()
            leaderID = try reader.readInt32()
            leaderEpoch = version >= 7 ? try reader.readLeaderEpoch() : .none
            replicaNodes = try reader.readInt32Array()
            inSyncReplicaNodes = try reader.readInt32Array()
            offlineReplicas = version >= 5 ? try reader.readInt32Array() : []
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeInteger(errorCode.rawValue)
            buffer.writeInteger(partition)
            buffer.writeInteger(leaderID)
            if version >= 7 { buffer.writeInteger(leaderEpoch.rawValue) }
            buffer.writeKafkaInt32Array(replicaNodes)
            buffer.writeKafkaInt32Array(inSyncReplicaNodes)
            if version >= 5 { buffer.writeKafkaInt32Array(offlineReplicas) }
        }
    }

    /// One topic's partitions, or its error.
    public struct Topic: Hashable, Sendable {
        public var errorCode: ErrorCode
        public var name: String
        /// v1+; default false.
        public var isInternal: Bool
        public var partitions: [Partition]
        /// A bit field of ACL operations (v8+; default `authorizedOperationsNotRequested`).
        public var topicAuthorizedOperations: Int32

        public init(
            errorCode: ErrorCode = .none, name: String, isInternal: Bool = false, partitions: [Partition],
            topicAuthorizedOperations: Int32 = MetadataResponse.authorizedOperationsNotRequested
        ) {
            self.errorCode = errorCode
            self.name = name
            self.isInternal = isInternal
            self.partitions = partitions
            self.topicAuthorizedOperations = topicAuthorizedOperations
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            errorCode = try reader.readErrorCode()
            name = try reader.readString()
            isInternal = version >= 1 ? try reader.readBool() : false
            partitions = try reader.readArray { try Partition(from: &$0, version: version) }
            topicAuthorizedOperations = version >= 8 ? try reader.readInt32() : MetadataResponse.authorizedOperationsNotRequested
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeInteger(errorCode.rawValue)
            buffer.writeKafkaString(name)
            if version >= 1 { buffer.writeKafkaBool(isInternal) }
            buffer.writeKafkaArray(partitions) { buffer, partition in partition.write(to: &buffer, version: version) }
            if version >= 8 { buffer.writeInteger(topicAuthorizedOperations) }
        }
    }

    /// v3+.
    public var throttleTimeMilliseconds: Int32
    public var brokers: [Broker]
    /// v2+; default null.
    public var clusterID: String?
    /// The controller's node id, -1 if none (v1+; default -1).
    public var controllerID: Int32
    public var topics: [Topic]
    /// v8+; default `authorizedOperationsNotRequested`.
    public var clusterAuthorizedOperations: Int32

    public init(
        throttleTimeMilliseconds: Int32 = 0, brokers: [Broker], clusterID: String? = nil, controllerID: Int32 = -1,
        topics: [Topic], clusterAuthorizedOperations: Int32 = MetadataResponse.authorizedOperationsNotRequested
    ) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.brokers = brokers
        self.clusterID = clusterID
        self.controllerID = controllerID
        self.topics = topics
        self.clusterAuthorizedOperations = clusterAuthorizedOperations
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = version >= 3 ? try reader.readInt32() : 0
        brokers = try reader.readArray { try Broker(from: &$0, version: version) }
        clusterID = version >= 2 ? try reader.readNullableString() : nil
        controllerID = version >= 1 ? try reader.readInt32() : -1
        topics = try reader.readArray { try Topic(from: &$0, version: version) }
        clusterAuthorizedOperations = version >= 8 ? try reader.readInt32() : Self.authorizedOperationsNotRequested
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 3 { buffer.writeInteger(throttleTimeMilliseconds) }
        buffer.writeKafkaArray(brokers) { buffer, broker in broker.write(to: &buffer, version: version) }
        if version >= 2 { buffer.writeKafkaNullableString(clusterID) }
        if version >= 1 { buffer.writeInteger(controllerID) }
        buffer.writeKafkaArray(topics) { buffer, topic in topic.write(to: &buffer, version: version) }
        if version >= 8 { buffer.writeInteger(clusterAuthorizedOperations) }
    }
}
