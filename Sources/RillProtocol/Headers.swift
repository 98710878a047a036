import NIOCore
import RillFormat

/// The header of every request (kafka-protocol.md §1.4). Versions: v1 for non-flexible
/// requests (key, version, correlation id, client id), v2 adds an empty tagged-field section
/// for flexible ones. The client id is always a classic nullable string, so any broker can read
/// the header of any ApiVersions request.
public struct RequestHeader: Hashable, Sendable {
    public var apiKey: ApiKey
    public var apiVersion: Int16
    public var correlationID: Int32
    public var clientID: String?

    public init(apiKey: ApiKey, apiVersion: Int16, correlationID: Int32, clientID: String?) {
        self.apiKey = apiKey
        self.apiVersion = apiVersion
        self.correlationID = correlationID
        self.clientID = clientID
    }

    /// Reads the header. Tagged fields (header v2) are skipped when `ApiVersionTable` says the
    /// version is flexible; for an unknown key or version the caller must not read the body.
    public init(from reader: inout KafkaReader) throws {
        apiKey = ApiKey(rawValue: try reader.readInt16())
        apiVersion = try reader.readInt16()
        correlationID = try reader.readInt32()
        clientID = try reader.readNullableString()
        if ApiVersionTable.isFlexible(apiKey, version: apiVersion) {
            try reader.skipTaggedFields()
        }
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(apiKey.rawValue)
        buffer.writeInteger(apiVersion)
        buffer.writeInteger(correlationID)
        buffer.writeKafkaNullableString(clientID)
        if ApiVersionTable.isFlexible(apiKey, version: apiVersion) { buffer.writeEmptyTaggedFields() }
    }
}

/// The header of every response: the correlation id, plus (v1) a tagged-field section for
/// flexible responses — except ApiVersions, whose responses always use v0 (KIP-511).
public enum ResponseHeader {
    public static func write(correlationID: Int32, apiKey: ApiKey, version: Int16, to buffer: inout ByteBuffer) {
        buffer.writeInteger(correlationID)
        if apiKey != .apiVersions && ApiVersionTable.isFlexible(apiKey, version: version) { buffer.writeEmptyTaggedFields() }
    }

    /// Reads the correlation id (and skips header tagged fields where the version has them).
    public static func read(from reader: inout KafkaReader, apiKey: ApiKey, version: Int16) throws -> Int32 {
        let correlationID = try reader.readInt32()
        if apiKey != .apiVersions && ApiVersionTable.isFlexible(apiKey, version: version) { try reader.skipTaggedFields() }
        return correlationID
    }
}
