import NIOCore
import RillFormat

/// OffsetFetch (key 9), versions 0–5 (kafka-protocol.md §2.13): read a group's committed
/// offsets.
///
/// `topics == nil` (v2+) asks for every partition the group has committed. v0–v1 cannot say
/// that: nil is written there as an empty array, and a null array is rejected on read.
public struct OffsetFetchRequest: KafkaRequestMessage, Hashable {
    public typealias Response = OffsetFetchResponse
    public static let apiKey = ApiKey.offsetFetch

    /// The partitions of one topic to look up.
    public struct Topic: Hashable, Sendable {
        public var name: String
        public var partitions: [Int32]

        public init(name: String, partitions: [Int32]) {
            self.name = name
            self.partitions = partitions
        }
    }

    public var groupID: String
    /// The partitions to look up, or nil for all (nullable from v2).
    public var topics: [Topic]?

    public init(groupID: String, topics: [Topic]?) {
        self.groupID = groupID
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groupID = try reader.readString()
        let readTopic = { (reader: inout KafkaReader) throws -> Topic in
            Topic(name: try reader.readString(), partitions: try reader.readInt32Array())
        }
        topics = version >= 2 ? try reader.readNullableArray(readTopic) : try reader.readArray(readTopic)
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeKafkaString(groupID)
        let writeTopic = { (buffer: inout ByteBuffer, topic: Topic) in
            buffer.writeKafkaString(topic.name)
            buffer.writeKafkaInt32Array(topic.partitions)
        }
        if version >= 2 {
            buffer.writeKafkaNullableArray(topics, writeTopic)
        } else {
            buffer.writeKafkaArray(topics ?? [], writeTopic)
        }
    }
}

/// The answer to an OffsetFetch request. A partition without a committed offset has offset -1,
/// metadata "" and no error.
public struct OffsetFetchResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.offsetFetch

    /// One partition's committed position.
    public struct Partition: Hashable, Sendable {
        public var partition: Int32
        public var committedOffset: Offset
        /// v5+; default -1.
        public var committedLeaderEpoch: LeaderEpoch
        public var metadata: String?
        public var errorCode: ErrorCode

        public init(
            partition: Int32, committedOffset: Offset, committedLeaderEpoch: LeaderEpoch = .none,
            metadata: String?, errorCode: ErrorCode = .none
        ) {
            self.partition = partition
            self.committedOffset = committedOffset
            self.committedLeaderEpoch = committedLeaderEpoch
            self.metadata = metadata
            self.errorCode = errorCode
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            partition = try reader.readInt32()
            committedOffset = try reader.readOffset()
            committedLeaderEpoch = version >= 5 ? try reader.readLeaderEpoch() : .none
            metadata = try reader.readNullableString()
            errorCode = try reader.readErrorCode()
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeInteger(partition)
            buffer.writeInteger(committedOffset.rawValue)
            if version >= 5 { buffer.writeInteger(committedLeaderEpoch.rawValue) }
            buffer.writeKafkaNullableString(metadata)
            buffer.writeInteger(errorCode.rawValue)
        }
    }

    /// One topic's partitions.
    public struct Topic: Hashable, Sendable {
        public var name: String
        public var partitions: [Partition]

        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }
    }

    /// v3+.
    public var throttleTimeMilliseconds: Int32
    public var topics: [Topic]
    /// The group-level error, the last field (v2+; default none).
    public var errorCode: ErrorCode

    public init(throttleTimeMilliseconds: Int32 = 0, topics: [Topic], errorCode: ErrorCode = .none) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.topics = topics
        self.errorCode = errorCode
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = version >= 3 ? try reader.readInt32() : 0
        topics = try reader.readArray { reader in
            Topic(name: try reader.readString(), partitions: try reader.readArray { try Partition(from: &$0, version: version) })
        }
        errorCode = version >= 2 ? try reader.readErrorCode() : .none
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 3 { buffer.writeInteger(throttleTimeMilliseconds) }
        buffer.writeKafkaArray(topics) { buffer, topic in
            buffer.writeKafkaString(topic.name)
            buffer.writeKafkaArray(topic.partitions) { buffer, partition in partition.write(to: &buffer, version: version) }
        }
        if version >= 2 { buffer.writeInteger(errorCode.rawValue) }
    }
}
