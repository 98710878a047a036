import NIOCore
import RillFormat
import RillProtocol

/// A record for the producer: topic, optional partition, key, value, headers, timestamp.
public struct ProducerRecord: Sendable {
    public var topic: String
    /// nil: the partitioner chooses.
    public var partition: Int32?
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]
    /// nil: the time of `send` (CreateTime).
    public var timestamp: Timestamp?

    public init(topic: String, partition: Int32? = nil, key: ByteBuffer? = nil, value: ByteBuffer?, headers: [RecordHeader] = [], timestamp: Timestamp? = nil) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    public init(topic: String, partition: Int32? = nil, key: String?, value: String?, headers: [RecordHeader] = [], timestamp: Timestamp? = nil) {
        self.init(topic: topic, partition: partition, key: key.map { ByteBuffer(string: $0) }, value: value.map { ByteBuffer(string: $0) }, headers: headers, timestamp: timestamp)
    }

    var estimatedSize: Int {
        RecordBatchBuilder.estimatedRecordSize(keyLength: key?.readableBytes, valueLength: value?.readableBytes, headers: headers)
    }
}

/// Where an acknowledged record landed.
public struct RecordMetadata: Hashable, Sendable {
    public var topicPartition: TopicPartition
    /// -1 with acks=0 (the broker does not say).
    public var offset: Offset
    /// The broker's LogAppendTime, or the record's CreateTime.
    public var timestamp: Timestamp
}

/// The fate of one record sent with `KafkaProducer.enqueue`.
public struct DeliveryReport: Sendable {
    public var topicPartition: TopicPartition
    /// -1 when failed, or with acks=0.
    public var offset: Offset
    /// The value given to `enqueue`, e.g. the intended send time of a benchmark record.
    public var context: UInt64
    /// nil when delivered; `error.outcome` says whether it may still have been written.
    public var error: KafkaClientError?
}
