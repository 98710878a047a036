import NIOCore
import RillFormat

/// DeleteRecords (key 21), versions 0–1: advance partitions' log start offsets, deleting the
/// records below. The two versions have the same layout.
public struct DeleteRecordsRequest: KafkaRequestMessage, Hashable {
    public typealias Response = DeleteRecordsResponse
    public static let apiKey = ApiKey.deleteRecords

    /// One partition to truncate from the front.
    public struct Partition: Hashable, Sendable {
        public var partition: Int32
        /// Records below this offset are deleted; -1 means the high watermark.
        public var offset: Offset

        public init(partition: Int32, offset: Offset) {
            self.partition = partition
            self.offset = offset
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

    public var topics: [Topic]
    /// How long to wait for the deletion to complete.
    public var timeoutMilliseconds: Int32

    public init(topics: [Topic], timeoutMilliseconds: Int32) {
        self.topics = topics
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        topics = try reader.readArray { reader in
            Topic(name: try reader.readString(), partitions: try reader.readArray { reader in
                Partition(partition: try reader.readInt32(), offset: try reader.readOffset())
            })
        }
        timeoutMilliseconds = try reader.readInt32()
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeKafkaArray(topics) { buffer, topic in
            buffer.writeKafkaString(topic.name)
            buffer.writeKafkaArray(topic.partitions) { buffer, partition in
                buffer.writeInteger(partition.partition)
                buffer.writeInteger(partition.offset.rawValue)
            }
        }
        buffer.writeInteger(timeoutMilliseconds)
    }
}

/// The answer to a DeleteRecords request.
public struct DeleteRecordsResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.deleteRecords

    /// One partition's result.
    public struct Partition: Hashable, Sendable {
        public var partition: Int32
        /// The partition's log start offset after the deletion.
        public var lowWatermark: Offset
        public var errorCode: ErrorCode

        public init(partition: Int32, lowWatermark: Offset, errorCode: ErrorCode = .none) {
            self.partition = partition
            self.lowWatermark = lowWatermark
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

    /// Present in every version.
    public var throttleTimeMilliseconds: Int32
    public var topics: [Topic]

    public init(throttleTimeMilliseconds: Int32 = 0, topics: [Topic]) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = try reader.readInt32()
        topics = try reader.readArray { reader in
            Topic(name: try reader.readString(), partitions: try reader.readArray { reader in
                Partition(partition: try reader.readInt32(), lowWatermark: try reader.readOffset(), errorCode: try reader.readErrorCode())
            })
        }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeInteger(throttleTimeMilliseconds)
        buffer.writeKafkaArray(topics) { buffer, topic in
            buffer.writeKafkaString(topic.name)
            buffer.writeKafkaArray(topic.partitions) { buffer, partition in
                buffer.writeInteger(partition.partition)
                buffer.writeInteger(partition.lowWatermark.rawValue)
                buffer.writeInteger(partition.errorCode.rawValue)
            }
        }
    }
}
