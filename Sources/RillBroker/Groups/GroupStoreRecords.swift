import NIOCore
import RillFormat
import RillProtocol

/// The records of `__consumer_offsets`, in Kafka's key and value layouts (kafka-protocol.md
/// §8.5), so the internal topic reads as Kafka's would. Keys and values begin with an int16
/// schema version; a null value (tombstone) deletes what the key names.
public enum GroupStoreRecord: Hashable, Sendable {
    /// A committed offset of `group` for `topicPartition`.
    case offsetCommit(group: String, topicPartition: TopicPartition, CommittedOffset?)
    /// A group's membership and assignments after a rebalance.
    case groupMetadata(group: String, GroupMetadataValue?)

    /// Key version 1: group, topic, partition. Value version 3: offset, leader epoch,
    /// metadata, commit timestamp.
    static let offsetKeyVersion: Int16 = 1
    static let offsetValueVersion: Int16 = 3
    /// Key version 2: group. Value version 3: protocol type, generation, protocol, leader,
    /// state timestamp, members (with group instance ids).
    static let groupKeyVersion: Int16 = 2
    static let groupValueVersion: Int16 = 3

    public var key: ByteBuffer {
        var buffer = ByteBuffer()
        switch self {
        case .offsetCommit(let group, let topicPartition, _):
            buffer.writeInteger(Self.offsetKeyVersion)
            buffer.writeKafkaString(group)
            buffer.writeKafkaString(topicPartition.topic)
            buffer.writeInteger(topicPartition.partition)
        case .groupMetadata(let group, _):
            buffer.writeInteger(Self.groupKeyVersion)
            buffer.writeKafkaString(group)
        }
        return buffer
    }

    /// nil for a tombstone.
    public var value: ByteBuffer? {
        switch self {
        case .offsetCommit(_, _, let committed?):
            var buffer = ByteBuffer()
            buffer.writeInteger(Self.offsetValueVersion)
            buffer.writeInteger(committed.offset.rawValue)
            buffer.writeInteger(committed.leaderEpoch.rawValue)
            buffer.writeKafkaString(committed.metadata)
            buffer.writeInteger(committed.commitTimestamp.milliseconds)
            return buffer
        case .groupMetadata(_, let metadata?):
            var buffer = ByteBuffer()
            buffer.writeInteger(Self.groupValueVersion)
            metadata.write(to: &buffer)
            return buffer
        default:
            return nil
        }
    }

    /// Decodes a key and value read back from the log. Unknown key versions (KIP-848 groups
    /// written by another broker) give nil and are skipped.
    public static func decode(key: ByteBuffer, value: ByteBuffer?) throws -> GroupStoreRecord? {
        var reader = KafkaReader(key)
        let version = try reader.readInt16()
        switch version {
        case 0, 1:
            let group = try reader.readString()
            let topicPartition = TopicPartition(try reader.readString(), try reader.readInt32())
            guard let value else { return .offsetCommit(group: group, topicPartition: topicPartition, nil) }
            return .offsetCommit(group: group, topicPartition: topicPartition, try CommittedOffset(decoding: value))
        case 2:
            let group = try reader.readString()
            guard let value else { return .groupMetadata(group: group, nil) }
            return .groupMetadata(group: group, try GroupMetadataValue(decoding: value))
        default:
            return nil
        }
    }
}

/// A committed offset: the next offset the group will read.
public struct CommittedOffset: Hashable, Sendable {
    public var offset: Offset
    public var leaderEpoch: LeaderEpoch
    public var metadata: String
    public var commitTimestamp: Timestamp

    public init(offset: Offset, leaderEpoch: LeaderEpoch, metadata: String, commitTimestamp: Timestamp) {
        self.offset = offset
        self.leaderEpoch = leaderEpoch
        self.metadata = metadata
        self.commitTimestamp = commitTimestamp
    }

    /// Value versions 0–3 (v1 has an expire timestamp; v3 a leader epoch).
    init(decoding value: ByteBuffer) throws {
        var reader = KafkaReader(value)
        let version = try reader.readInt16()
        guard (0...4).contains(version) else { throw ProtocolError(.invalidValue, "offset commit value version \(version)") }
        offset = Offset(try reader.readInt64())
        leaderEpoch = version >= 3 ? LeaderEpoch(try reader.readInt32()) : .none
        metadata = try reader.readString()
        commitTimestamp = Timestamp(milliseconds: try reader.readInt64())
    }
}

/// What `__consumer_offsets` remembers of a group: its generation and members.
public struct GroupMetadataValue: Hashable, Sendable {
    public struct Member: Hashable, Sendable {
        public var memberID: String
        public var groupInstanceID: String?
        public var clientID: String
        public var clientHost: String
        public var rebalanceTimeoutMilliseconds: Int32
        public var sessionTimeoutMilliseconds: Int32
        public var subscription: ByteBuffer
        public var assignment: ByteBuffer
    }

    public var protocolType: String
    public var generationID: Int32
    public var protocolName: String?
    public var leaderID: String?
    public var stateTimestamp: Timestamp
    public var members: [Member]

    func write(to buffer: inout ByteBuffer) {
        buffer.writeKafkaString(protocolType)
        buffer.writeInteger(generationID)
        buffer.writeKafkaNullableString(protocolName)
        buffer.writeKafkaNullableString(leaderID)
        buffer.writeInteger(stateTimestamp.milliseconds)
        buffer.writeKafkaArray(members) { buffer, member in
            buffer.writeKafkaString(member.memberID)
            buffer.writeKafkaNullableString(member.groupInstanceID)
            buffer.writeKafkaString(member.clientID)
            buffer.writeKafkaString(member.clientHost)
            buffer.writeInteger(member.rebalanceTimeoutMilliseconds)
            buffer.writeInteger(member.sessionTimeoutMilliseconds)
            buffer.writeKafkaBytes(member.subscription)
            buffer.writeKafkaBytes(member.assignment)
        }
    }

    /// Value versions 0–3 (v1 adds the rebalance timeout, v2 the state timestamp, v3 instance ids).
    init(decoding value: ByteBuffer) throws {
        var reader = KafkaReader(value)
        let version = try reader.readInt16()
        guard (0...4).contains(version) else { throw ProtocolError(.invalidValue, "group metadata value version \(version)") }
        protocolType = try reader.readString()
        generationID = try reader.readInt32()
        protocolName = try reader.readNullableString()
        leaderID = try reader.readNullableString()
        stateTimestamp = version >= 2 ? Timestamp(milliseconds: try reader.readInt64()) : .none
        members = try reader.readArray { reader in
            let memberID = try reader.readString()
            let instanceID = version >= 3 ? try reader.readNullableString() : nil
            let clientID = try reader.readString()
            let clientHost = try reader.readString()
            let rebalanceTimeout = version >= 1 ? try reader.readInt32() : -1
            let sessionTimeout = try reader.readInt32()
            return Member(memberID: memberID, groupInstanceID: instanceID, clientID: clientID, clientHost: clientHost,
                          rebalanceTimeoutMilliseconds: rebalanceTimeout == -1 ? sessionTimeout : rebalanceTimeout,
                          sessionTimeoutMilliseconds: sessionTimeout, subscription: try reader.readBytes(), assignment: try reader.readBytes())
        }
    }

    public init(protocolType: String, generationID: Int32, protocolName: String?, leaderID: String?, stateTimestamp: Timestamp, members: [Member]) {
        self.protocolType = protocolType
        self.generationID = generationID
        self.protocolName = protocolName
        self.leaderID = leaderID
        self.stateTimestamp = stateTimestamp
        self.members = members
    }
}

/// Which `__consumer_offsets` partition holds a group (Kafka's rule): Java's
/// `String.hashCode` of the group id, made non-negative (`Integer.MIN_VALUE` becomes 0), modulo
/// the partition count.
public enum GroupPlacement {
    public static func javaHashCode(_ text: String) -> Int32 {
        var hash: Int32 = 0
        for unit in text.utf16 { hash = hash &* 31 &+ Int32(unit) }
        return hash
    }

    public static func partition(of group: String, partitionCount: Int32) -> Int32 {
        let hash = javaHashCode(group)
        let positive = hash == Int32.min ? 0 : abs(hash)
        return positive % partitionCount
    }
}
