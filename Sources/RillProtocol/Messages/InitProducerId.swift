import NIOCore
import RillFormat

/// InitProducerId (key 22), versions 0–1 (kafka-protocol.md §2.14): obtain a producer id and
/// epoch for an idempotent or transactional producer. The two versions have the same layout.
public struct InitProducerIdRequest: KafkaRequestMessage, Hashable {
    public typealias Response = InitProducerIdResponse
    public static let apiKey = ApiKey.initProducerId

    /// The transactional id, or null for an idempotent, non-transactional producer.
    public var transactionalID: String?
    /// How long a transaction may stay open; only meaningful with a transactional id.
    public var transactionTimeoutMilliseconds: Int32

    public init(transactionalID: String? = nil, transactionTimeoutMilliseconds: Int32) {
        self.transactionalID = transactionalID
        self.transactionTimeoutMilliseconds = transactionTimeoutMilliseconds
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        transactionalID = try reader.readNullableString()
        transactionTimeoutMilliseconds = try reader.readInt32()
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeKafkaNullableString(transactionalID)
        buffer.writeInteger(transactionTimeoutMilliseconds)
    }
}

/// The answer to an InitProducerId request.
public struct InitProducerIdResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.initProducerId

    /// Present in every version.
    public var throttleTimeMilliseconds: Int32
    public var errorCode: ErrorCode
    /// The producer id, -1 on error.
    public var producerID: ProducerID
    public var producerEpoch: ProducerEpoch

    public init(throttleTimeMilliseconds: Int32 = 0, errorCode: ErrorCode = .none, producerID: ProducerID, producerEpoch: ProducerEpoch) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.errorCode = errorCode
        self.producerID = producerID
        self.producerEpoch = producerEpoch
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = try reader.readInt32()
        errorCode = try reader.readErrorCode()
        producerID = try reader.readProducerID()
        producerEpoch = try reader.readProducerEpoch()
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeInteger(throttleTimeMilliseconds)
        buffer.writeInteger(errorCode.rawValue)
        buffer.writeInteger(producerID.rawValue)
        buffer.writeInteger(producerEpoch.rawValue)
    }
}
