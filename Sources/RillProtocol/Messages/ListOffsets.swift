import NIOCore
import RillFormat

/// ListOffsets (key 2), versions 0–5 (kafka-protocol.md §2.4): find the offset for a timestamp,
/// or the earliest/latest offset with the `earliestTimestamp`/`latestTimestamp` sentinels.
///
/// v0 asks for up to `maximumOffsetCount` offsets and is answered with `oldStyleOffsets`;
/// v1+ asks for one offset and is answered with `timestamp` and `offset`.
public struct ListOffsetsRequest: KafkaRequestMessage, Hashable {
    public typealias Response = ListOffsetsResponse
    public static let apiKey = ApiKey.listOffsets

    /// The sentinel timestamp asking for the latest offset (the high watermark, or the last
    /// stable offset for READ_COMMITTED).
    public static let latestTimestamp = Timestamp(milliseconds: -1)
    /// The sentinel timestamp asking for the earliest offset (the log start offset).
    public static let earliestTimestamp = Timestamp(milliseconds: -2)

    /// One partition to look up.
    public struct Partition: Hashable, Sendable {
        public var partition: Int32
        /// The leader epoch the client believes current, for fencing (v4+; default -1).
        public var currentLeaderEpoch: LeaderEpoch
        /// The target timestamp, or `latestTimestamp` / `earliestTimestamp`.
        public var timestamp: Timestamp
        /// How many offsets to return (v0 only; default 1).
        public var maximumOffsetCount: Int32

        public init(partition: Int32, currentLeaderEpoch: LeaderEpoch = .none, timestamp: Timestamp, maximumOffsetCount: Int32 = 1) {
            self.partition = partition
            self.currentLeaderEpoch = currentLeaderEpoch
            self.timestamp = timestamp
            self.maximumOffsetCount = maximumOffsetCount
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            partition = try reader.readInt32()
            currentLeaderEpoch = version >= 4 ? try reader.readLeaderEpoch() : .none
            timestamp = try reader.readTimestamp()
            maximumOffsetCount = version == 0 ? try reader.readInt32() : 1
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeInteger(partition)
            if version >= 4 { buffer.writeInteger(currentLeaderEpoch.rawValue) }
            buffer.writeInteger(timestamp.rawValue)
            if version == 0 { buffer.writeInteger(maximumOffsetCount) }
        }
    }

    /// The partitions of one topic to look up.
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

    /// -1 for consumers, a broker id for followers.
    public var replicaID: Int32
    /// v2+; default READ_UNCOMMITTED.
    public var isolationLevel: IsolationLevel
    public var topics: [Topic]

    public init(replicaID: Int32 = -1, isolationLevel: IsolationLevel = .readUncommitted, topics: [Topic]) {
        self.replicaID = replicaID
        self.isolationLevel = isolationLevel
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        replicaID = try reader.readInt32()
        isolationLevel = version >= 2 ? IsolationLevel(rawValue: try reader.readInt8()) : .readUncommitted
        topics = try reader.readArray { try Topic(from: &$0, version: version) }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeInteger(replicaID)
        if version >= 2 { buffer.writeInteger(isolationLevel.rawValue) }
        buffer.writeKafkaArray(topics) { buffer, topic in topic.write(to: &buffer, version: version) }
    }
}

/// The answer to a ListOffsets request.
public struct ListOffsetsResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.listOffsets

    /// One partition's result.
    public struct Partition: Hashable, Sendable {
        public var partition: Int32
        public var errorCode: ErrorCode
        /// The offsets found, newest first (v0 only; default empty).
        public var oldStyleOffsets: [Offset]
        /// The timestamp of the returned offset; -1 for the sentinels (v1+; default -1).
        public var timestamp: Timestamp
        /// The offset found, or -1 (v1+; default -1).
        public var offset: Offset
        /// The leader epoch of the returned offset (v4+; default -1).
        public var leaderEpoch: LeaderEpoch

        public init(
            partition: Int32, errorCode: ErrorCode = .none, oldStyleOffsets: [Offset] = [],
            timestamp: Timestamp = .none, offset: Offset = .none, leaderEpoch: LeaderEpoch = .none
        ) {
            self.partition = partition
            self.errorCode = errorCode
            self.oldStyleOffsets = oldStyleOffsets
            self.timestamp = timestamp
            self.offset = offset
            self.leaderEpoch = leaderEpoch
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            partition = try reader.readInt32()
            errorCode = try reader.readErrorCode()
            oldStyleOffsets = version == 0 ? try reader.readArray { try $0.readOffset() } : []
            timestamp = version >= 1 ? try reader.readTimestamp() : .none
            offset = version >= 1 ? try reader.readOffset() : .none
            leaderEpoch = version >= 4 ? try reader.readLeaderEpoch() : .none
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeInteger(partition)
            buffer.writeInteger(errorCode.rawValue)
            if version == 0 {
                buffer.writeKafkaArray(oldStyleOffsets) { buffer, offset in buffer.writeInteger(offset.rawValue) }
            } else {
                buffer.writeInteger(timestamp.rawValue)
                buffer.writeInteger(offset.rawValue)
            }
            if version >= 4 { buffer.writeInteger(leaderEpoch.rawValue) }
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

        init(from reader: inout KafkaReader, version: Int16) throws {
            name = try reader.readString()
            partitions = try reader.readArray { try Partition(from: &$0, version: version) }
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeKafkaString(name)
            buffer.writeKafkaArray(partitions) { buffer, partition in partition.write(to: &buffer, version: version) }
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
        topics = try reader.readArray { try Topic(from: &$0, version: version) }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 2 { buffer.writeInteger(throttleTimeMilliseconds) }
        buffer.writeKafkaArray(topics) { buffer, topic in topic.write(to: &buffer, version: version) }
    }
}
