import NIOCore
import RillFormat

/// ApiVersions (key 18), versions 0–2 (kafka-protocol.md §1.6). The request body is empty.
///
/// A client that sends a version the broker does not support (librdkafka sends v3, kafka-python
/// v4, both flexible) gets `unsupportedVersionReply`: a v0-format body with error 35 and the
/// broker's list, under response header v0. That is the only API accepted at any version.
public struct ApiVersionsRequest: KafkaRequestMessage, Hashable {
    public typealias Response = ApiVersionsResponse
    public static let apiKey = ApiKey.apiVersions

    public init() {}

    public init(from reader: inout KafkaReader, version: Int16) throws {}

    public func write(to buffer: inout ByteBuffer, version: Int16) {}
}

public struct ApiVersionsResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.apiVersions

    public struct ApiVersion: Hashable, Sendable {
        public var apiKey: ApiKey
        public var minimumVersion: Int16
        public var maximumVersion: Int16
        public init(apiKey: ApiKey, minimumVersion: Int16, maximumVersion: Int16) {
            self.apiKey = apiKey
            self.minimumVersion = minimumVersion
            self.maximumVersion = maximumVersion
        }
    }

    public var errorCode: ErrorCode
    public var apiKeys: [ApiVersion]
    /// v1+.
    public var throttleTimeMilliseconds: Int32

    public init(errorCode: ErrorCode = .none, apiKeys: [ApiVersion], throttleTimeMilliseconds: Int32 = 0) {
        self.errorCode = errorCode
        self.apiKeys = apiKeys
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        errorCode = ErrorCode(rawValue: try reader.readInt16())
        apiKeys = try reader.readArray { reader in
            ApiVersion(apiKey: ApiKey(rawValue: try reader.readInt16()), minimumVersion: try reader.readInt16(), maximumVersion: try reader.readInt16())
        }
        throttleTimeMilliseconds = version >= 1 ? try reader.readInt32() : 0
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeInteger(errorCode.rawValue)
        buffer.writeKafkaArray(apiKeys) { buffer, entry in
            buffer.writeInteger(entry.apiKey.rawValue)
            buffer.writeInteger(entry.minimumVersion)
            buffer.writeInteger(entry.maximumVersion)
        }
        if version >= 1 { buffer.writeInteger(throttleTimeMilliseconds) }
    }

    /// The answer to an ApiVersions request at a version the broker does not support: error 35
    /// and the broker's list, always in the v0 body layout (KIP-511).
    public static func unsupportedVersionReply(advertising apiKeys: [ApiVersion]) -> (response: ApiVersionsResponse, version: Int16) {
        (ApiVersionsResponse(errorCode: .unsupportedVersion, apiKeys: apiKeys), 0)
    }
}
