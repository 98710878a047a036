import NIOCore
import RillFormat

/// OffsetForLeaderEpoch (key 23), versions 0–3 (kafka-protocol.md §2.18, §9.5): the end offset
/// of a leader epoch, used by followers to truncate and by consumers to detect log divergence.
public struct OffsetForLeaderEpochRequest: KafkaRequestMessage, Hashable {
    public typealias Response = OffsetForLeaderEpochResponse
    public static let apiKey = ApiKey.offsetForLeaderEpoch

    /// The replica id of a debug consumer (-2), Kafka's default for `replicaID`.
    public static let debugReplicaID: Int32 = -2

    /// One partition to look up.
    public struct Partition: Hashable, Sendable {
        public var partition: Int32
        /// The leader epoch the client believes current, for fencing (v2+; default -1).
        public var currentLeaderEpoch: LeaderEpoch
        /// The epoch whose end offset is asked for.
        public var leaderEpoch: LeaderEpoch

        public init(partition: Int32, currentLeaderEpoch: LeaderEpoch = .none, leaderEpoch: LeaderEpoch) {
            self.partition = partition
            self.currentLeaderEpoch = currentLeaderEpoch
            self.leaderEpoch = leaderEpoch
        }
    }

    /// The partitions of one topic.
    public struct Topic: Hashable, Sendable {
        public var name: String
        public var partitions: [Partition]

        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }
    }

    /// A follower's broker id, -1 for consumers (v3+; default -2, a debug consumer).
    public var replicaID: Int32
    public var topics: [Topic]

    public init(replicaID: Int32 = OffsetForLeaderEpochRequest.debugReplicaID, topics: [Topic]) {
        self.replicaID = replicaID
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        replicaID = version >= 3 ? try reader.readInt32() : Self.debugReplicaID
        topics = try reader.readArray { reader in
            Topic(name: try reader.readString(), partitions: try reader.readArray { reader in
                Partition(
                    partition: try reader.readInt32(),
                    currentLeaderEpoch: version >= 2 ? try reader.readLeaderEpoch() : .none,
                    leaderEpoch: try reader.readLeaderEpoch()
                )
            })
        }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 3 { buffer.writeInteger(replicaID) }
        buffer.writeKafkaArray(topics) { buffer, topic in
            buffer.writeKafkaString(topic.name)
            buffer.writeKafkaArray(topic.partitions) { buffer, partition in
                buffer.writeInteger(partition.partition)
                if version >= 2 { buffer.writeInteger(partition.currentLeaderEpoch.rawValue) }
                buffer.writeInteger(partition.leaderEpoch.rawValue)
            }
        }
    }
}

/// The answer to an OffsetForLeaderEpoch request.
public struct OffsetForLeaderEpochResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.offsetForLeaderEpoch

    /// One partition's result: the largest known epoch ≤ the requested one, and its end offset
    /// (-1/-1 if the requested epoch is older than anything known).
    public struct Partition: Hashable, Sendable {
        public var errorCode: ErrorCode
        public var partition: Int32
        /// v1+; default -1.
        public var leaderEpoch: LeaderEpoch
        public var endOffset: Offset

        public init(errorCode: ErrorCode = .none, partition: Int32, leaderEpoch: LeaderEpoch = .none, endOffset: Offset) {
            self.errorCode = errorCode
            self.partition = partition
            self.leaderEpoch = leaderEpoch
            self.endOffset = endOffset
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
            Topic(name: try reader.readString(), partitions: try reader.readArray { reader in
                Partition(
                    errorCode: try reader.readErrorCode(),
                    partition: try reader.readInt32(),
                    leaderEpoch: version >= 1 ? try reader.readLeaderEpoch() : .none,
                    endOffset: try reader.readOffset()
                )
            })
        }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 2 { buffer.writeInteger(throttleTimeMilliseconds) }
        buffer.writeKafkaArray(topics) { buffer, topic in
            buffer.writeKafkaString(topic.name)
            buffer.writeKafkaArray(topic.partitions) { buffer, partition in
                buffer.writeInteger(partition.errorCode.rawValue)
                buffer.writeInteger(partition.partition)
                if version >= 1 { buffer.writeInteger(partition.leaderEpoch.rawValue) }
                buffer.writeInteger(partition.endOffset.rawValue)
            }
        }
    }
}
