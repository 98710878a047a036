import NIOCore
import RillFormat

/// A topic and some of its partitions, as the consumer protocol lists them.
public struct ConsumerProtocolTopicPartitions: Hashable, Sendable {
    public var topic: String
    public var partitions: [Int32]

    public init(topic: String, partitions: [Int32]) {
        self.topic = topic
        self.partitions = partitions
    }

    init(from reader: inout KafkaReader) throws {
        topic = try reader.readString()
        partitions = try reader.readInt32Array()
    }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeKafkaString(topic)
        buffer.writeKafkaInt32Array(partitions)
    }
}

/// The highest consumer protocol version this package reads and writes in full.
private let highestKnownConsumerProtocolVersion: Int16 = 3

/// Reads the int16 version that starts every consumer protocol blob.
private func readConsumerProtocolVersion(_ reader: inout KafkaReader, _ what: String) throws -> Int16 {
    let version = try reader.readInt16()
    guard version >= 0 else { throw ProtocolError(.invalidValue, "\(what) version \(version) is negative") }
    return version
}

/// A consumer's subscription: the bytes in JoinGroup's protocol metadata for protocol type
/// "consumer" (kafka-protocol.md §8.4). Versions 0–3, each starting with an int16 version.
///
/// Readers accept any higher version by parsing the version-3 prefix and ignoring what follows
/// (fields are only ever appended), and ignore trailing bytes at every version, as Kafka does.
/// librdkafka writes v3, kafka-python v0, Java its highest.
public struct ConsumerProtocolSubscription: Hashable, Sendable {
    public typealias TopicPartitions = ConsumerProtocolTopicPartitions

    /// The subscribed topic names.
    public var topics: [String]
    /// Assignor-specific data; null by default.
    public var userData: ByteBuffer?
    /// The partitions the member owns, for cooperative rebalancing (v1+; default empty).
    public var ownedPartitions: [TopicPartitions]
    /// The generation the owned partitions belong to (v2+; default -1).
    public var generationID: Int32
    /// The member's rack (v3+; default null).
    public var rackID: String?

    public init(topics: [String], userData: ByteBuffer? = nil, ownedPartitions: [TopicPartitions] = [], generationID: Int32 = -1, rackID: String? = nil) {
        self.topics = topics
        self.userData = userData
        self.ownedPartitions = ownedPartitions
        self.generationID = generationID
        self.rackID = rackID
    }

    /// Decodes a subscription blob of any version ≥ 0.
    public init(decoding bytes: ByteBuffer) throws {
        var reader = KafkaReader(bytes)
        let version = try readConsumerProtocolVersion(&reader, "subscription")
        topics = try reader.readStringArray()
        userData = try reader.readNullableBytes()
        ownedPartitions = version >= 1 ? try reader.readArray { try TopicPartitions(from: &$0) } : []
        generationID = version >= 2 ? try reader.readInt32() : -1
        rackID = version >= 3 ? try reader.readNullableString() : nil
    }

    /// Writes the blob, version first. `version` must be 0–3.
    public func write(to buffer: inout ByteBuffer, version: Int16) {
        precondition((0...highestKnownConsumerProtocolVersion).contains(version), "subscription version \(version) is not 0–3")
        buffer.writeInteger(version)
        buffer.writeKafkaStringArray(topics)
        buffer.writeKafkaNullableBytes(userData)
        if version >= 1 { buffer.writeKafkaArray(ownedPartitions) { buffer, owned in owned.write(to: &buffer) } }
        if version >= 2 { buffer.writeInteger(generationID) }
        if version >= 3 { buffer.writeKafkaNullableString(rackID) }
    }

    /// The blob at `version` (0–3) in a new buffer.
    public func encoded(version: Int16 = 3) -> ByteBuffer {
        var buffer = ByteBuffer()
        write(to: &buffer, version: version)
        return buffer
    }
}

/// A consumer's assignment: the bytes in SyncGroup's assignment for protocol type "consumer"
/// (kafka-protocol.md §8.4). Versions 0–3 share one layout after the int16 version.
///
/// An empty (zero-length) blob decodes as no partitions and no user data — the broker fills
/// in empty bytes for members the leader did not assign. Higher versions are read by their
/// known prefix; trailing bytes are ignored.
public struct ConsumerProtocolAssignment: Hashable, Sendable {
    public typealias TopicPartitions = ConsumerProtocolTopicPartitions

    public var assignedPartitions: [TopicPartitions]
    /// Assignor-specific data; null by default.
    public var userData: ByteBuffer?

    public init(assignedPartitions: [TopicPartitions], userData: ByteBuffer? = nil) {
        self.assignedPartitions = assignedPartitions
        self.userData = userData
    }

    /// Decodes an assignment blob of any version ≥ 0, or an empty blob as no partitions.
    public init(decoding bytes: ByteBuffer) throws {
        guard bytes.readableBytes > 0 else {
            assignedPartitions = []
            userData = nil
            return
        }
        var reader = KafkaReader(bytes)
        _ = try readConsumerProtocolVersion(&reader, "assignment")
        assignedPartitions = try reader.readArray { try TopicPartitions(from: &$0) }
        userData = try reader.readNullableBytes()
    }

    /// Writes the blob, version first. `version` must be 0–3.
    public func write(to buffer: inout ByteBuffer, version: Int16) {
        precondition((0...highestKnownConsumerProtocolVersion).contains(version), "assignment version \(version) is not 0–3")
        buffer.writeInteger(version)
        buffer.writeKafkaArray(assignedPartitions) { buffer, assigned in assigned.write(to: &buffer) }
        buffer.writeKafkaNullableBytes(userData)
    }

    /// The blob at `version` (0–3) in a new buffer.
    public func encoded(version: Int16 = 3) -> ByteBuffer {
        var buffer = ByteBuffer()
        write(to: &buffer, version: version)
        return buffer
    }
}
