import NIOCore
import RillFormat

/// CreateTopics (key 19), versions 0–4 (kafka-protocol.md §2.5): create topics with a partition
/// count and replication factor, or a manual replica assignment, and per-topic configs.
public struct CreateTopicsRequest: KafkaRequestMessage, Hashable {
    public typealias Response = CreateTopicsResponse
    public static let apiKey = ApiKey.createTopics

    /// The replicas of one partition, for a manual assignment.
    public struct Assignment: Hashable, Sendable {
        public var partition: Int32
        public var brokerIDs: [Int32]

        public init(partition: Int32, brokerIDs: [Int32]) {
            self.partition = partition
            self.brokerIDs = brokerIDs
        }
    }

    /// One topic config to set.
    public struct Config: Hashable, Sendable {
        public var name: String
        public var value: String?

        public init(name: String, value: String?) {
            self.name = name
            self.value = value
        }
    }

    /// One topic to create.
    public struct Topic: Hashable, Sendable {
        public var name: String
        /// The number of partitions, or -1 for the broker default or a manual assignment.
        public var partitionCount: Int32
        /// The replication factor, or -1 for the broker default or a manual assignment.
        public var replicationFactor: Int16
        /// A manual replica assignment, or empty.
        public var assignments: [Assignment]
        public var configs: [Config]

        public init(name: String, partitionCount: Int32, replicationFactor: Int16, assignments: [Assignment] = [], configs: [Config] = []) {
            self.name = name
            self.partitionCount = partitionCount
            self.replicationFactor = replicationFactor
            self.assignments = assignments
            self.configs = configs
        }

        init(from reader: inout KafkaReader) throws {
            name = try reader.readString()
            partitionCount = try reader.readInt32()
            replicationFactor = try reader.readInt16()
            assignments = try reader.readArray { reader in
                Assignment(partition: try reader.readInt32(), brokerIDs: try reader.readInt32Array())
            }
            configs = try reader.readArray { reader in
                Config(name: try reader.readString(), value: try reader.readNullableString())
            }
        }

        func write(to buffer: inout ByteBuffer) {
            buffer.writeKafkaString(name)
            buffer.writeInteger(partitionCount)
            buffer.writeInteger(replicationFactor)
            buffer.writeKafkaArray(assignments) { buffer, assignment in
                buffer.writeInteger(assignment.partition)
                buffer.writeKafkaInt32Array(assignment.brokerIDs)
            }
            buffer.writeKafkaArray(configs) { buffer, config in
                buffer.writeKafkaString(config.name)
                buffer.writeKafkaNullableString(config.value)
            }
        }
    }

    public var topics: [Topic]
    /// How long to wait for the topics to be created (Kafka's default 60000).
    public var timeoutMilliseconds: Int32
    /// Only validate, create nothing (v1+; default false).
    public var validateOnly: Bool

    public init(topics: [Topic], timeoutMilliseconds: Int32 = 60_000, validateOnly: Bool = false) {
        self.topics = topics
        self.timeoutMilliseconds = timeoutMilliseconds
        self.validateOnly = validateOnly
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        topics = try reader.readArray { try Topic(from: &$0) }
        timeoutMilliseconds = try reader.readInt32()
        validateOnly = version >= 1 ? try reader.readBool() : false
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeKafkaArray(topics) { buffer, topic in topic.write(to: &buffer) }
        buffer.writeInteger(timeoutMilliseconds)
        if version >= 1 { buffer.writeKafkaBool(validateOnly) }
    }
}

/// The answer to a CreateTopics request: a result per topic.
public struct CreateTopicsResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.createTopics

    /// One topic's result.
    public struct Topic: Hashable, Sendable {
        public var name: String
        public var errorCode: ErrorCode
        /// v1+; default null.
        public var errorMessage: String?

        public init(name: String, errorCode: ErrorCode = .none, errorMessage: String? = nil) {
            self.name = name
            self.errorCode = errorCode
            self.errorMessage = errorMessage
        }
    }

    /// v2+.
    public var throttleTimeMilliseconds: Int32
    public var topics: [Topic]

    public init(throttleTimeMilliseconds: Int32 = 0, topics: [Topic]) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = version >= 2 ? try reader.readInt32() : 0
        topics = try reader.readArray { reader in
            Topic(
                name: try reader.readString(),
                errorCode: try reader.readErrorCode(),
                errorMessage: version >= 1 ? try reader.readNullableString() : nil
            )
        }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 2 { buffer.writeInteger(throttleTimeMilliseconds) }
        buffer.writeKafkaArray(topics) { buffer, topic in
            buffer.writeKafkaString(topic.name)
            buffer.writeInteger(topic.errorCode.rawValue)
            if version >= 1 { buffer.writeKafkaNullableString(topic.errorMessage) }
        }
    }
}
