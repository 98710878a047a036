import NIOCore
import RillFormat

/// SyncGroup (key 14), versions 0–3 (kafka-protocol.md §2.9): the leader hands in the
/// assignment; every member receives its own.
///
/// Assignments are opaque to the broker; for protocol type "consumer" they are
/// `ConsumerProtocolAssignment`s.
public struct SyncGroupRequest: KafkaRequestMessage, Hashable {
    public typealias Response = SyncGroupResponse
    public static let apiKey = ApiKey.syncGroup

    /// One member's assignment, from the leader.
    public struct Assignment: Hashable, Sendable {
        public var memberID: String
        public var assignment: ByteBuffer

        public init(memberID: String, assignment: ByteBuffer) {
            self.memberID = memberID
            self.assignment = assignment
        }
    }

    public var groupID: String
    public var generationID: Int32
    public var memberID: String
    /// The static member id (v3+; default null).
    public var groupInstanceID: String?
    /// Filled by the leader only; empty from followers.
    public var assignments: [Assignment]

    public init(groupID: String, generationID: Int32, memberID: String, groupInstanceID: String? = nil, assignments: [Assignment] = []) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.assignments = assignments
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        groupID = try reader.readString()
        generationID = try reader.readInt32()
        memberID = try reader.readString()
        groupInstanceID = version >= 3 ? try reader.readNullableString() : nil
        assignments = try reader.readArray { reader in
            Assignment(memberID: try reader.readString(), assignment: try reader.readBytes())
        }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeKafkaString(groupID)
        buffer.writeInteger(generationID)
        buffer.writeKafkaString(memberID)
        if version >= 3 { buffer.writeKafkaNullableString(groupInstanceID) }
        buffer.writeKafkaArray(assignments) { buffer, assignment in
            buffer.writeKafkaString(assignment.memberID)
            buffer.writeKafkaBytes(assignment.assignment)
        }
    }
}

/// The answer to a SyncGroup request: this member's assignment.
public struct SyncGroupResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.syncGroup

    /// v1+.
    public var throttleTimeMilliseconds: Int32
    public var errorCode: ErrorCode
    /// May be empty (zero bytes), which consumers read as "no partitions".
    public var assignment: ByteBuffer

    public init(throttleTimeMilliseconds: Int32 = 0, errorCode: ErrorCode = .none, assignment: ByteBuffer) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.errorCode = errorCode
        self.assignment = assignment
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = version >= 1 ? try reader.readInt32() : 0
        errorCode = try reader.readErrorCode()
        assignment = try reader.readBytes()
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 1 { buffer.writeInteger(throttleTimeMilliseconds) }
        buffer.writeInteger(errorCode.rawValue)
        buffer.writeKafkaBytes(assignment)
    }
}
