import NIOCore
import RillFormat

/// OffsetCommit (key 8), versions 0–7 (kafka-protocol.md §2.12): store a group's consumed
/// positions. A committed offset is the *next* offset to consume.
///
/// Two fields exist only in old versions: v1's per-partition `commitTimestamp` and v2–v4's
/// top-level `retentionTimeMilliseconds`; both are ignored by modern brokers but carried here.
public struct OffsetCommitRequest: KafkaRequestMessage, Hashable {
    public typealias Response = OffsetCommitResponse
    public static let apiKey = ApiKey.offsetCommit

    /// One partition's committed position.
    public struct Partition: Hashable, Sendable {
        public var partition: Int32
        public var committedOffset: Offset
        /// v6+; default -1.
        public var committedLeaderEpoch: LeaderEpoch
        /// When the commit was made (v1 only; default -1).
        public var commitTimestamp: Timestamp
        /// Client metadata stored with the offset; may be null.
        public var committedMetadata: String?

        public init(
            partition: Int32, committedOffset: Offset, committedLeaderEpoch: LeaderEpoch = .none,
            commitTimestamp: Timestamp = .none, committedMetadata: String?
        ) {
            self.partition = partition
            self.committedOffset = committedOffset
            self.committedLeaderEpoch = committedLeaderEpoch
            self.commitTimestamp = commitTimestamp
            self.committedMetadata = committedMetadata
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            partition = try reader.readInt32()
            committedOffset = try reader.readOffset()
            committedLeaderEpoch = version >= 6 ? try reader.readLeaderEpoch() : .none
            commitTimestamp = version == 1 ? try reader.readTimestamp() : .none
            committedMetadata = try reader.readNullableString()
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeInteger(partition)
            buffer.writeInteger(committedOffset.rawValue)
            if version >= 6 { buffer.writeInteger(committedLeaderEpoch.rawValue) }
            if version == 1 { buffer.writeInteger(commitTimestamp.rawValue) }
            buffer.writeKafkaNullableString(committedMetadata)
        }
    }

    /// The partitions of one topic to commit.
    public struct Topic: Hashable, Sendable {
        public var name: String
        public var partitions: [Partition]

        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            name = try reader.readString()
            partitions = try reader.readArray { try Partition(from: &$0, version: version) }
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeKafkaString(name)
            buffer.writeKafkaArray(partitions) { buffer, partition in partition.write(to: &buffer, version: version) }
        }
    }

    public var groupID: String
    /// The member's generation, -1 for a commit from outside the group (v1+; default -1).
    public var generationID: Int32
    /// The member id, "" for a commit from outside the group (v1+; default "").
    public var memberID: String
    /// The static member id (v7+; default null).
    public var groupInstanceID: String?
    /// How long to keep the offsets, -1 for the broker default (v2–v4 only; default -1).
    public var retentionTimeMilliseconds: Int64
    public var topics: [Topic]

    public init(
        groupID: String, generationID: Int32 = -1, memberID: String = "", groupInstanceID: String? = nil,
        retentionTimeMilliseconds: Int64 = -1, topics: [Topic]
    ) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.retentionTimeMilliseconds = retentionTimeMilliseconds
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groupID = try reader.readString()
        generationID = version >= 1 ? try reader.readInt32() : -1
        memberID = version >= 1 ? try reader.readString() : ""
        groupInstanceID = version >= 7 ? try reader.readNullableString() : nil
        retentionTimeMilliseconds = (2...4).contains(version) ? try reader.readInt64() : -1
        topics = try reader.readArray { try Topic(from: &$0, version: version) }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeKafkaString(groupID)
        if version >= 1 {
            buffer.writeInteger(generationID)
            buffer.writeKafkaString(memberID)
        }
        if version >= 7 { buffer.writeKafkaNullableString(groupInstanceID) }
        if (2...4).contains(version) { buffer.writeInteger(retentionTimeMilliseconds) }
        buffer.writeKafkaArray(topics) { buffer, topic in topic.write(to: &buffer, version: version) }
    }
}

/// The answer to an OffsetCommit request: an error code per partition.
public struct OffsetCommitResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.offsetCommit

    /// One partition's result.
    public struct Partition: Hashable, Sendable {
        public var partition: Int32
        public var errorCode: ErrorCode

        public init(partition: Int32, errorCode: ErrorCode = .none) {
            self.partition = partition
            self.errorCode = errorCode
        }
    }

    /// One topic's partition results.
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

    public init(throttleTimeMilliseconds: Int32 = 0, topics: [Topic]) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = version >= 3 ? try reader.readInt32() : 0
        topics = try reader.readArray { reader in
            Topic(name: try reader.readString(), partitions: try reader.readArray { reader in
                Partition(partition: try reader.readInt32(), errorCode: try reader.readErrorCode())
            })
        }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 3 { buffer.writeInteger(throttleTimeMilliseconds) }
        buffer.writeKafkaArray(topics) { buffer, topic in
            buffer.writeKafkaString(topic.name)
            buffer.writeKafkaArray(topic.partitions) { buffer, partition in
                buffer.writeInteger(partition.partition)
                buffer.writeInteger(partition.errorCode.rawValue)
            }
        }
    }
}
