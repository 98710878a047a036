import NIOCore
import RillFormat

/// DeleteTopics (key 20), versions 0–3 (kafka-protocol.md §2.6): delete topics by name.
public struct DeleteTopicsRequest: KafkaRequestMessage, Hashable {
    public typealias Response = DeleteTopicsResponse
    public static let apiKey = ApiKey.deleteTopics

    public var topicNames: [String]
    /// How long to wait for the deletions to complete.
    public var timeoutMilliseconds: Int32

    public init(topicNames: [String], timeoutMilliseconds: Int32) {
        self.topicNames = topicNames
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        topicNames = try reader.readStringArray()
        timeoutMilliseconds = try reader.readInt32()
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeKafkaStringArray(topicNames)
        buffer.writeInteger(timeoutMilliseconds)
    }
}

/// The answer to a DeleteTopics request: a result per topic.
public struct DeleteTopicsResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.deleteTopics

    /// One topic's result.
    public struct Result: Hashable, Sendable {
        public var name: String
        public var errorCode: ErrorCode

        public init(name: String, errorCode: ErrorCode = .none) {
            self.name = name
            self.errorCode = errorCode
        }
    }

    /// v1+.
    public var throttleTimeMilliseconds: Int32
    /// Kafka's `Responses` field.
    public var results: [Result]

    public init(throttleTimeMilliseconds: Int32 = 0, results: [Result]) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.results = results
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = version >= 1 ? try reader.readInt32() : 0
        results = try reader.readArray { reader in
            Result(name: try reader.readString(), errorCode: try reader.readErrorCode())
        }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 1 { buffer.writeInteger(throttleTimeMilliseconds) }
        buffer.writeKafkaArray(results) { buffer, result in
            buffer.writeKafkaString(result.name)
            buffer.writeInteger(result.errorCode.rawValue)
        }
    }
}
