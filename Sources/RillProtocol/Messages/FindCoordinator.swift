import NIOCore
import RillFormat

/// FindCoordinator (key 10), versions 0–2 (kafka-protocol.md §2.7): which broker coordinates a
/// consumer group or a transactional id.
public struct FindCoordinatorRequest: KafkaRequestMessage, Hashable {
    public typealias Response = FindCoordinatorResponse
    public static let apiKey = ApiKey.findCoordinator

    /// What kind of key is looked up (int8 on the wire); unnamed values round-trip.
    public struct KeyType: RawRepresentable, Hashable, Sendable {
        public var rawValue: Int8
        public init(rawValue: Int8) { self.rawValue = rawValue }
        /// A consumer group id (0, the default).
        public static let group = KeyType(rawValue: 0)
        /// A transactional id (1).
        public static let transaction = KeyType(rawValue: 1)
    }

    /// The group id or transactional id.
    public var key: String
    /// v1+; default `.group`.
    public var keyType: KeyType

    public init(key: String, keyType: KeyType = .group) {
        self.key = key
        self.keyType = keyType
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        key = try reader.readString()
        keyType = version >= 1 ? KeyType(rawValue: try reader.readInt8()) : .group
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeKafkaString(key)
        if version >= 1 { buffer.writeInteger(keyType.rawValue) }
    }
}

/// The answer to a FindCoordinator request: the coordinator's node id and address.
public struct FindCoordinatorResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.findCoordinator

    /// v1+.
    public var throttleTimeMilliseconds: Int32
    public var errorCode: ErrorCode
    /// v1+; default null.
    public var errorMessage: String?
    public var nodeID: Int32
    public var host: String
    public var port: Int32

    public init(
        throttleTimeMilliseconds: Int32 = 0, errorCode: ErrorCode = .none, errorMessage: String? = nil,
        nodeID: Int32, host: String, port: Int32
    ) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.nodeID = nodeID
        self.host = host
        self.port = port
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = version >= 1 ? try reader.readInt32() : 0
        errorCode = try reader.readErrorCode()
        errorMessage = version >= 1 ? try reader.readNullableString() : nil
        nodeID = try reader.readInt32()
        host = try reader.readString()
        port = try reader.readInt32()
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 1 { buffer.writeInteger(throttleTimeMilliseconds) }
        buffer.writeInteger(errorCode.rawValue)
        if version >= 1 { buffer.writeKafkaNullableString(errorMessage) }
        buffer.writeInteger(nodeID)
        buffer.writeKafkaString(host)
        buffer.writeInteger(port)
    }
}
