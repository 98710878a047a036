import NIOCore
import RillFormat

/// JoinGroup (key 11), versions 0–5 (kafka-protocol.md §2.8, §8.2): join (or rejoin) a group
/// and take part in a rebalance.
///
/// Each protocol's `metadata` is opaque to the broker; for protocol type "consumer" it is a
/// `ConsumerProtocolSubscription`.
public struct JoinGroupRequest: KafkaRequestMessage, Hashable {
    public typealias Response = JoinGroupResponse
    public static let apiKey = ApiKey.joinGroup

    /// An assignment protocol the member supports, in order of preference.
    public struct GroupProtocol: Hashable, Sendable {
        /// The protocol (assignor) name, e.g. "range".
        public var name: String
        public var metadata: ByteBuffer

        public init(name: String, metadata: ByteBuffer) {
            self.name = name
            self.metadata = metadata
        }
    }

    public var groupID: String
    public var sessionTimeoutMilliseconds: Int32
    /// How long the coordinator waits for members to rejoin (v1+; default -1, which means
    /// "use the session timeout" as v0 does).
    public var rebalanceTimeoutMilliseconds: Int32
    /// "" on a member's first join.
    public var memberID: String
    /// The static member id (v5+; default null).
    public var groupInstanceID: String?
    /// "consumer" for consumers.
    public var protocolType: String
    public var protocols: [GroupProtocol]

    public init(
        groupID: String, sessionTimeoutMilliseconds: Int32, rebalanceTimeoutMilliseconds: Int32 = -1,
        memberID: String, groupInstanceID: String? = nil, protocolType: String, protocols: [GroupProtocol]
    ) {
        self.groupID = groupID
        self.sessionTimeoutMilliseconds = sessionTimeoutMilliseconds
        self.rebalanceTimeoutMilliseconds = rebalanceTimeoutMilliseconds
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.protocolType = protocolType
        self.protocols = protocols
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groupID = try reader.readString()
        sessionTimeoutMilliseconds = try reader.readInt32()
        rebalanceTimeoutMilliseconds = version >= 1 ? try reader.readInt32() : -1
        memberID = try reader.readString()
        groupInstanceID = version >= 5 ? try reader.readNullableString() : nil
        protocolType = try reader.readString()
        protocols = try reader.readArray { reader in
            GroupProtocol(name: try reader.readString(), metadata: try reader.readBytes())
        }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeKafkaString(groupID)
        buffer.writeInteger(sessionTimeoutMilliseconds)
        if version >= 1 { buffer.writeInteger(rebalanceTimeoutMilliseconds) }
        buffer.writeKafkaString(memberID)
        if version >= 5 { buffer.writeKafkaNullableString(groupInstanceID) }
        buffer.writeKafkaString(protocolType)
        buffer.writeKafkaArray(protocols) { buffer, groupProtocol in
            buffer.writeKafkaString(groupProtocol.name)
            buffer.writeKafkaBytes(groupProtocol.metadata)
        }
    }
}

/// The answer to a JoinGroup request. Only the leader receives `members`.
public struct JoinGroupResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.joinGroup

    /// A member of the new generation and its metadata for the chosen protocol.
    public struct Member: Hashable, Sendable {
        public var memberID: String
        /// v5+; default null.
        public var groupInstanceID: String?
        public var metadata: ByteBuffer

        public init(memberID: String, groupInstanceID: String? = nil, metadata: ByteBuffer) {
            self.memberID = memberID
            self.groupInstanceID = groupInstanceID
            self.metadata = metadata
        }
    }

    /// v2+.
    public var throttleTimeMilliseconds: Int32
    public var errorCode: ErrorCode
    /// The new generation, -1 on error.
    public var generationID: Int32
    /// The protocol (assignor) the coordinator chose.
    public var protocolName: String
    /// The member id of the group's leader.
    public var leaderMemberID: String
    /// The member id the coordinator assigned to this member.
    public var memberID: String
    public var members: [Member]

    public init(
        throttleTimeMilliseconds: Int32 = 0, errorCode: ErrorCode = .none, generationID: Int32, protocolName: String,
        leaderMemberID: String, memberID: String, members: [Member] = []
    ) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.errorCode = errorCode
        self.generationID = generationID
        self.protocolName = protocolName
        self.leaderMemberID = leaderMemberID
        self.memberID = memberID
        self.members = members
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = version >= 2 ? try reader.readInt32() : 0
        errorCode = try reader.readErrorCode()
        generationID = try reader.readInt32()
        protocolName = try reader.readString()
        leaderMemberID = try reader.readString()
        memberID = try reader.readString()
        members = try reader.readArray { reader in
            Member(
                memberID: try reader.readString(),
                groupInstanceID: version >= 5 ? try reader.readNullableString() : nil,
                metadata: try reader.readBytes()
            )
        }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 2 { buffer.writeInteger(throttleTimeMilliseconds) }
        buffer.writeInteger(errorCode.rawValue)
        buffer.writeInteger(generationID)
        buffer.writeKafkaString(protocolName)
        buffer.writeKafkaString(leaderMemberID)
        buffer.writeKafkaString(memberID)
        buffer.writeKafkaArray(members) { buffer, member in
            buffer.writeKafkaString(member.memberID)
            if version >= 5 { buffer.writeKafkaNullableString(member.groupInstanceID) }
            buffer.writeKafkaBytes(member.metadata)
        }
    }
}
