import NIOCore
import RillFormat

/// ListGroups (key 16), versions 0–2 (kafka-protocol.md §2.16): the groups this broker
/// coordinates. The request body is empty in these versions.
public struct ListGroupsRequest: KafkaRequestMessage, Hashable {
    public typealias Response = ListGroupsResponse
    public static let apiKey = ApiKey.listGroups

    public init() {}

    public init(from reader: inout KafkaReader, version: Int16) throws {}

    public func write(to buffer: inout ByteBuffer, version: Int16) {}
}

/// The answer to a ListGroups request.
public struct ListGroupsResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.listGroups

    /// One listed group.
    public struct Group: Hashable, Sendable {
        public var groupID: String
        /// "consumer" for consumer groups.
        public var protocolType: String

        public init(groupID: String, protocolType: String) {
            self.groupID = groupID
            self.protocolType = protocolType
        }
    }

    /// v1+.
    public var throttleTimeMilliseconds: Int32
    public var errorCode: ErrorCode
    public var groups: [Group]

    public init(throttleTimeMilliseconds: Int32 = 0, errorCode: ErrorCode = .none, groups: [Group]) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.errorCode = errorCode
        self.groups = groups
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = version >= 1 ? try reader.readInt32() : 0
        errorCode = try reader.readErrorCode()
        groups = try reader.readArray { reader in
            Group(groupID: try reader.readString(), protocolType: try reader.readString())
        }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 1 { buffer.writeInteger(throttleTimeMilliseconds) }
        buffer.writeInteger(errorCode.rawValue)
        buffer.writeKafkaArray(groups) { buffer, group in
            buffer.writeKafkaString(group.groupID)
            buffer.writeKafkaString(group.protocolType)
        }
    }
}
