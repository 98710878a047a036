import NIOCore
import RillFormat

/// Heartbeat (key 12), versions 0–3 (kafka-protocol.md §2.10): a member says it is alive;
/// the answer REBALANCE_IN_PROGRESS tells it to rejoin.
public struct HeartbeatRequest: KafkaRequestMessage, Hashable {
    public typealias Response = HeartbeatResponse
    public static let apiKey = ApiKey.heartbeat

    public var groupID: String
    public var generationID: Int32
    public var memberID: String
    /// The static member id (v3+; default null).
    public var groupInstanceID: String?

    public init(groupID: String, generationID: Int32, memberID: String, groupInstanceID: String? = nil) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groupID = try reader.readString()
        generationID = try reader.readInt32()
        memberID = try reader.readString()
        groupInstanceID = version >= 3 ? try reader.readNullableString() : nil
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeKafkaString(groupID)
        buffer.writeInteger(generationID)
        buffer.writeKafkaString(memberID)
        if version >= 3 { buffer.writeKafkaNullableString(groupInstanceID) }
    }
}

/// The answer to a Heartbeat request.
public struct HeartbeatResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.heartbeat

    /// v1+.
    public var throttleTimeMilliseconds: Int32
    public var errorCode: ErrorCode

    public init(throttleTimeMilliseconds: Int32 = 0, errorCode: ErrorCode = .none) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.errorCode = errorCode
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = version >= 1 ? try reader.readInt32() : 0
        errorCode = try reader.readErrorCode()
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 1 { buffer.writeInteger(throttleTimeMilliseconds) }
        buffer.writeInteger(errorCode.rawValue)
    }
}
