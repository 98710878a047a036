import NIOCore
import RillFormat

/// Produce (key 0), versions 0–8 (kafka-protocol.md §2.2): append record batches to partitions.
///
/// `records` is carried as an opaque zero-copy slice of the request frame. From v3 it holds
/// record batches (magic 2); v0–v2 carry legacy message sets (magic 0/1), which this codec
/// does not interpret. With `acks == 0` the broker sends no response at all.
public struct ProduceRequest: KafkaRequestMessage, Hashable {
    public typealias Response = ProduceResponse
    public static let apiKey = ApiKey.produce

    /// One partition's data.
    public struct Partition: Hashable, Sendable {
        /// The partition index.
        public var partition: Int32
        /// Concatenated record batches (or, v0–v2, a legacy message set); may be null on the wire.
        public var records: ByteBuffer?

        public init(partition: Int32, records: ByteBuffer?) {
            self.partition = partition
            self.records = records
        }

        init(from reader: inout KafkaReader) throws {
            partition = try reader.readInt32()
            records = try reader.readNullableBytes()
        }

        func write(to buffer: inout ByteBuffer) {
            buffer.writeInteger(partition)
            buffer.writeKafkaNullableBytes(records)
        }
    }

    /// The partitions of one topic.
    public struct Topic: Hashable, Sendable {
        public var name: String
        public var partitions: [Partition]

        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }

        init(from reader: inout KafkaReader) throws {
            name = try reader.readString()
            partitions = try reader.readArray { try Partition(from: &$0) }
        }

        func write(to buffer: inout ByteBuffer) {
            buffer.writeKafkaString(name)
            buffer.writeKafkaArray(partitions) { buffer, partition in partition.write(to: &buffer) }
        }
    }

    /// The transactional id, or null for a non-transactional producer (v3+; default null).
    public var transactionalID: String?
    /// Acknowledgements required: 0 none (no response is sent), 1 the leader, -1 the full ISR.
    public var acks: Int16
    /// How long the broker may wait for the required acknowledgements.
    public var timeoutMilliseconds: Int32
    public var topics: [Topic]

    public init(transactionalID: String? = nil, acks: Int16, timeoutMilliseconds: Int32, topics: [Topic]) {
        self.transactionalID = transactionalID
        self.acks = acks
        self.timeoutMilliseconds = timeoutMilliseconds
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        transactionalID = version >= 3 ? try reader.readNullableString() : nil
        acks = try reader.readInt16()
        timeoutMilliseconds = try reader.readInt32()
        topics = try reader.readArray { try Topic(from: &$0) }
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        if version >= 3 { buffer.writeKafkaNullableString(transactionalID) }
        buffer.writeInteger(acks)
        buffer.writeInteger(timeoutMilliseconds)
        buffer.writeKafkaArray(topics) { buffer, topic in topic.write(to: &buffer) }
    }
}

extension ProduceRequest {
    /// The request as a frame in parts: each partition's records stay their own buffer, so a
    /// client can send them with writev instead of copying them into the frame. The parts
    /// concatenated are exactly `encodedFrame(version:correlationID:clientID:)`.
    public func encodedFrameParts(version: Int16, correlationID: Int32, clientID: String?, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> [ByteBuffer] {
        var head = allocator.buffer(capacity: 128 + 32 * topics.count)
        let frame = head.startKafkaFrame()
        RequestHeader(apiKey: .produce, apiVersion: version, correlationID: correlationID, clientID: clientID).write(to: &head)
        if version >= 3 { head.writeKafkaNullableString(transactionalID) }
        head.writeInteger(acks)
        head.writeInteger(timeoutMilliseconds)
        var splits: [(index: Int, records: ByteBuffer)] = []
        head.writeInteger(Int32(topics.count))
        for topic in topics {
            head.writeKafkaString(topic.name)
            head.writeInteger(Int32(topic.partitions.count))
            for partition in topic.partitions {
                head.writeInteger(partition.partition)
                guard let records = partition.records else {
                    head.writeInteger(Int32(-1))
                    continue
                }
                head.writeInteger(Int32(records.readableBytes))
                splits.append((head.writerIndex, records))
            }
        }
        let recordBytes = splits.reduce(0) { $0 + $1.records.readableBytes }
        head.setInteger(Int32(head.writerIndex - frame - 4 + recordBytes), at: frame)
        var parts: [ByteBuffer] = []
        var start = head.readerIndex
        for (index, records) in splits {
            parts.append(head.getSlice(at: start, length: index - start)!)
            parts.append(records)
            start = index
        }
        if head.writerIndex > start { parts.append(head.getSlice(at: start, length: head.writerIndex - start)!) }
        return parts
    }
}

/// The answer to a Produce request with `acks != 0`. Unlike most responses, the throttle time
/// is the *last* field.
public struct ProduceResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.produce

    /// A record that caused its whole batch to be dropped (v8+).
    public struct RecordError: Hashable, Sendable {
        /// The index of the record within its batch.
        public var batchIndex: Int32
        public var message: String?

        public init(batchIndex: Int32, message: String? = nil) {
            self.batchIndex = batchIndex
            self.message = message
        }
    }

    /// The outcome of appending to one partition.
    public struct Partition: Hashable, Sendable {
        public var partition: Int32
        public var errorCode: ErrorCode
        /// The offset of the first appended record, or -1 on error.
        public var baseOffset: Offset
        /// The broker's append time if the topic uses LogAppendTime, else -1 (v2+; default -1).
        public var logAppendTime: Timestamp
        /// The partition's log start offset (v5+; default -1).
        public var logStartOffset: Offset
        /// Records that caused the batch to be dropped (v8+; default empty).
        public var recordErrors: [RecordError]
        /// A summary of why the batch was dropped (v8+; default null).
        public var errorMessage: String?

        public init(
            partition: Int32, errorCode: ErrorCode = .none, baseOffset: Offset,
            logAppendTime: Timestamp = .none, logStartOffset: Offset = .none,
            recordErrors: [RecordError] = [], errorMessage: String? = nil
        ) {
            self.partition = partition
            self.errorCode = errorCode
            self.baseOffset = baseOffset
            self.logAppendTime = logAppendTime
            self.logStartOffset = logStartOffset
            self.recordErrors = recordErrors
            self.errorMessage = errorMessage
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            partition = try reader.readInt32()
            errorCode = try reader.readErrorCode()
            baseOffset = try reader.readOffset()
            logAppendTime = version >= 2 ? try reader.readTimestamp() : .none
            logStartOffset = version >= 5 ? try reader.readOffset() : .none
            recordErrors = version >= 8 ? try reader.readArray { reader in
                RecordError(batchIndex: try reader.readInt32(), message: try reader.readNullableString())
            } : []
            errorMessage = version >= 8 ? try reader.readNullableString() : nil
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeInteger(partition)
            buffer.writeInteger(errorCode.rawValue)
            buffer.writeInteger(baseOffset.rawValue)
            if version >= 2 { buffer.writeInteger(logAppendTime.rawValue) }
            if version >= 5 { buffer.writeInteger(logStartOffset.rawValue) }
            if version >= 8 {
                buffer.writeKafkaArray(recordErrors) { buffer, recordError in
                    buffer.writeInteger(recordError.batchIndex)
                    buffer.writeKafkaNullableString(recordError.message)
                }
                buffer.writeKafkaNullableString(errorMessage)
            }
        }
    }

    /// The outcomes for one topic's partitions.
    public struct Topic: Hashable, Sendable {
        public var name: String
        public var partitions: [Partition]

        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            name = try reader.readString()
            partitions = try reader.readArray { try Partition(from: &$0, version: version) }
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeKafkaString(name)
            buffer.writeKafkaArray(partitions) { buffer, partition in partition.write(to: &buffer, version: version) }
        }
    }

    public var topics: [Topic]
    /// v1+, written after the topics.
    public var throttleTimeMilliseconds: Int32

    public init(topics: [Topic], throttleTimeMilliseconds: Int32 = 0) {
        self.topics = topics
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        topics = try reader.readArray { try Topic(from: &$0, version: version) }
        throttleTimeMilliseconds = version >= 1 ? try reader.readInt32() : 0
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeKafkaArray(topics) { buffer, topic in topic.write(to: &buffer, version: version) }
        if version >= 1 { buffer.writeInteger(throttleTimeMilliseconds) }
    }
}
