import NIOCore
import RillFormat

/// LeaveGroup (key 13), versions 0–3 (kafka-protocol.md §2.11): members leave a group.
///
/// v0–v2 carry one member id; v3 a list of members (an admin can remove several static
/// members at once). Both are modelled as `members`: v0–v2 read one member with a null
/// `groupInstanceID`, and writing v0–v2 requires exactly one member (a programmer error
/// otherwise).
public struct LeaveGroupRequest: KafkaRequestMessage, Hashable {
    public typealias Response = LeaveGroupResponse
    public static let apiKey = ApiKey.leaveGroup

    /// A member that leaves.
    public struct Member: Hashable, Sendable {
        public var memberID: String
        /// v3+; default null.
        public var groupInstanceID: String?

        public init(memberID: String, groupInstanceID: String? = nil) {
            self.memberID = memberID
            self.groupInstanceID = groupInstanceID
        }
    }

    public var groupID: String
    public var members: [Member]

    public init(groupID: String, members: [Member]) {
        self.groupID = groupID
        self.members = members
    }

    /// A v0–v2 style request: one member.
    public init(groupID: String, memberID: String) {
        self.init(groupID: groupID, members: [Member(memberID: memberID)])
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groupID = try reader.readString()
        if version >= 3 {
            members = try reader.readArray { reader in
                Member(memberID: try reader.readString(), groupInstanceID: try reader.readNullableString())
            }
        } else {
            members = [Member(memberID: try reader.readString())]
        }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeKafkaString(groupID)
        if version >= 3 {
            buffer.writeKafkaArray(members) { buffer, member in
                buffer.writeKafkaString(member.memberID)
                buffer.writeKafkaNullableString(member.groupInstanceID)
            }
        } else {
            precondition(members.count == 1, "LeaveGroup v0–v2 carries exactly one member, not \(members.count)")
            buffer.writeKafkaString(members[0].memberID)
        }
    }
}

/// The answer to a LeaveGroup request; v3 adds a result per member.
public struct LeaveGroupResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.leaveGroup

    /// One member's result (v3+).
    public struct Member: Hashable, Sendable {
        public var memberID: String
        public var groupInstanceID: String?
        public var errorCode: ErrorCode

        public init(memberID: String, groupInstanceID: String? = nil, errorCode: ErrorCode = .none) {
            self.memberID = memberID
            self.groupInstanceID = groupInstanceID
            self.errorCode = errorCode
        }
    }

    /// v1+.
    public var throttleTimeMilliseconds: Int32
    public var errorCode: ErrorCode
    /// v3+; default empty.
    public var members: [Member]

    public init(throttleTimeMilliseconds: Int32 = 0, errorCode: ErrorCode = .none, members: [Member] = []) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.errorCode = errorCode
        self.members = members
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = version >= 1 ? try reader.readInt32() : 0
        errorCode = try reader.readErrorCode()
        members = version >= 3 ? try reader.readArray { reader in
            Member(memberID: try reader.readString(), groupInstanceID: try reader.readNullableString(), errorCode: try reader.readErrorCode())
        } : []
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 1 { buffer.writeInteger(throttleTimeMilliseconds) }
        buffer.writeInteger(errorCode.rawValue)
        if version >= 3 {
            buffer.writeKafkaArray(members) { buffer, member in
                buffer.writeKafkaString(member.memberID)
                buffer.writeKafkaNullableString(member.groupInstanceID)
                buffer.writeInteger(member.errorCode.rawValue)
            }
        }
    }
}
