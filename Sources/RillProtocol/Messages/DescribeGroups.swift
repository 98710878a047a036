import NIOCore
import RillFormat

/// DescribeGroups (key 15), versions 0–4 (kafka-protocol.md §2.15): state, protocol and
/// members of consumer groups (an admin API).
public struct DescribeGroupsRequest: KafkaRequestMessage, Hashable {
    public typealias Response = DescribeGroupsResponse
    public static let apiKey = ApiKey.describeGroups

    /// The group ids to describe.
    public var groups: [String]
    /// v3+; default false.
    public var includeAuthorizedOperations: Bool

    public init(groups: [String], includeAuthorizedOperations: Bool = false) {
        self.groups = groups
        self.includeAuthorizedOperations = includeAuthorizedOperations
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groups = try reader.readStringArray()
        includeAuthorizedOperations = version >= 3 ? try reader.readBool() : false
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeKafkaStringArray(groups)
        if version >= 3 { buffer.writeKafkaBool(includeAuthorizedOperations) }
    }
}

/// The answer to a DescribeGroups request. An unknown group is described with no error,
/// state "Dead" and no members.
public struct DescribeGroupsResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.describeGroups

    /// One member. Metadata and assignment are filled only while the group is Stable.
    public struct Member: Hashable, Sendable {
        public var memberID: String
        /// v4+; default null.
        public var groupInstanceID: String?
        public var clientID: String
        public var clientHost: String
        public var memberMetadata: ByteBuffer
        public var memberAssignment: ByteBuffer

        public init(
            memberID: String, groupInstanceID: String? = nil, clientID: String, clientHost: String,
            memberMetadata: ByteBuffer, memberAssignment: ByteBuffer
        ) {
            self.memberID = memberID
            self.groupInstanceID = groupInstanceID
            self.clientID = clientID
            self.clientHost = clientHost
            self.memberMetadata = memberMetadata
            self.memberAssignment = memberAssignment
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            memberID = try reader.readString()
            groupInstanceID = version >= 4 ? try reader.readNullableString() : nil
            clientID = try reader.readString()
            clientHost = try reader.readString()
            memberMetadata = try reader.readBytes()
            memberAssignment = try reader.readBytes()
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeKafkaString(memberID)
            if version >= 4 { buffer.writeKafkaNullableString(groupInstanceID) }
            buffer.writeKafkaString(clientID)
            buffer.writeKafkaString(clientHost)
            buffer.writeKafkaBytes(memberMetadata)
            buffer.writeKafkaBytes(memberAssignment)
        }
    }

    /// One described group.
    public struct Group: Hashable, Sendable {
        public var errorCode: ErrorCode
        public var groupID: String
        /// "Empty", "PreparingRebalance", "CompletingRebalance", "Stable" or "Dead".
        public var groupState: String
        public var protocolType: String
        /// The chosen protocol (assignor) name; "" unless the group is Stable.
        public var protocolData: String
        public var members: [Member]
        /// A bit field of ACL operations (v3+; default INT32_MIN, "not requested").
        public var authorizedOperations: Int32

        public init(
            errorCode: ErrorCode = .none, groupID: String, groupState: String, protocolType: String,
            protocolData: String, members: [Member], authorizedOperations: Int32 = Int32.min
        ) {
            self.errorCode = errorCode
            self.groupID = groupID
            self.groupState = groupState
            self.protocolType = protocolType
            self.protocolData = protocolData
            self.members = members
            self.authorizedOperations = authorizedOperations
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            errorCode = try reader.readErrorCode()
            groupID = try reader.readString()
            groupState = try reader.readString()
            protocolType = try reader.readString()
            protocolData = try reader.readString()
            members = try reader.readArray { try Member(from: &$0, version: version) }
            authorizedOperations = version >= 3 ? try reader.readInt32() : Int32.min
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeInteger(errorCode.rawValue)
            buffer.writeKafkaString(groupID)
            buffer.writeKafkaString(groupState)
            buffer.writeKafkaString(protocolType)
            buffer.writeKafkaString(protocolData)
            buffer.writeKafkaArray(members) { buffer, member in member.write(to: &buffer, version: version) }
            if version >= 3 { buffer.writeInteger(authorizedOperations) }
        }
    }

    /// v1+.
    public var throttleTimeMilliseconds: Int32
    public var groups: [Group]

    public init(throttleTimeMilliseconds: Int32 = 0, groups: [Group]) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.groups = groups
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = version >= 1 ? try reader.readInt32() : 0
        groups = try reader.readArray { try Group(from: &$0, version: version) }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 1 { buffer.writeInteger(throttleTimeMilliseconds) }
        buffer.writeKafkaArray(groups) { buffer, group in group.write(to: &buffer, version: version) }
    }
}
