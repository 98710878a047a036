import NIOCore
import RillFormat

/// Fetch (key 1), versions 0–11 (kafka-protocol.md §2.3): read records from partitions, from
/// consumers (`replicaID` -1) and followers (their broker id).
///
/// v0–v3 responses carry legacy message sets; this codec never interprets record bytes.
public struct FetchRequest: KafkaRequestMessage, Hashable {
    public typealias Response = FetchResponse
    public static let apiKey = ApiKey.fetch

    /// One partition to read from.
    public struct Partition: Hashable, Sendable {
        public var partition: Int32
        /// The leader epoch the client believes current, for fencing (v9+; default -1).
        public var currentLeaderEpoch: LeaderEpoch
        /// The offset to read from.
        public var fetchOffset: Offset
        /// The follower's log start offset; consumers send -1 (v5+; default -1).
        public var logStartOffset: Offset
        /// The most bytes to return for this partition (KIP-74: the first batch may exceed it).
        public var partitionMaximumBytes: Int32

        public init(
            partition: Int32, currentLeaderEpoch: LeaderEpoch = .none, fetchOffset: Offset,
            logStartOffset: Offset = .none, partitionMaximumBytes: Int32
        ) {
            self.partition = partition
            self.currentLeaderEpoch = currentLeaderEpoch
            self.fetchOffset = fetchOffset
            self.logStartOffset = logStartOffset
            self.partitionMaximumBytes = partitionMaximumBytes
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            partition = try reader.readInt32()
            currentLeaderEpoch = version >= 9 ? try reader.readLeaderEpoch() : .none
            fetchOffset = try reader.readOffset()
            logStartOffset = version >= 5 ? try reader.readOffset() : .none
            partitionMaximumBytes = try reader.readInt32()
        }

        func write(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeInteger(partition)
            if version >= 9 { buffer.writeInteger(currentLeaderEpoch.rawValue) }
            buffer.writeInteger(fetchOffset.rawValue)
            if version >= 5 { buffer.writeInteger(logStartOffset.rawValue) }
            buffer.writeInteger(partitionMaximumBytes)
        }
    }

    /// The partitions of one topic to read from.
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

    /// Partitions an incremental fetch session should stop tracking (v7+).
    public struct ForgottenTopic: Hashable, Sendable {
        public var name: String
        public var partitions: [Int32]

        public init(name: String, partitions: [Int32]) {
            self.name = name
            self.partitions = partitions
        }
    }

    /// -1 for consumers, the follower's broker id for replication, -2 for debug consumers.
    public var replicaID: Int32
    /// How long the broker may hold the request waiting for `minimumBytes`.
    public var maximumWaitMilliseconds: Int32
    public var minimumBytes: Int32
    /// The most bytes for the whole response (v3+; default Int32.max).
    public var maximumBytes: Int32
    /// v4+; default READ_UNCOMMITTED.
    public var isolationLevel: IsolationLevel
    /// The fetch session id, 0 for none (v7+; default 0).
    public var sessionID: Int32
    /// The fetch session epoch: -1 sessionless, 0 create a session (v7+; default -1).
    public var sessionEpoch: Int32
    public var topics: [Topic]
    /// v7+; default empty.
    public var forgottenTopics: [ForgottenTopic]
    /// The consumer's rack, for follower fetching (v11+; default "").
    public var rackID: String

    public init(
        replicaID: Int32 = -1, maximumWaitMilliseconds: Int32, minimumBytes: Int32,
        maximumBytes: Int32 = Int32.max, isolationLevel: IsolationLevel = .readUncommitted,
        sessionID: Int32 = 0, sessionEpoch: Int32 = -1, topics: [Topic],
        forgottenTopics: [ForgottenTopic] = [], rackID: String = ""
    ) {
        self.replicaID = replicaID
        self.maximumWaitMilliseconds = maximumWaitMilliseconds
        self.minimumBytes = minimumBytes
        self.maximumBytes = maximumBytes
        self.isolationLevel = isolationLevel
        self.sessionID = sessionID
        self.sessionEpoch = sessionEpoch
        self.topics = topics
        self.forgottenTopics = forgottenTopics
        self.rackID = rackID
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        replicaID = try reader.readInt32()
        maximumWaitMilliseconds = try reader.readInt32()
        minimumBytes = try reader.readInt32()
        maximumBytes = version >= 3 ? try reader.readInt32() : Int32.max
        isolationLevel = version >= 4 ? IsolationLevel(rawValue: try reader.readInt8()) : .readUncommitted
        sessionID = version >= 7 ? try reader.readInt32() : 0
        sessionEpoch = version >= 7 ? try reader.readInt32() : -1
        topics = try reader.readArray { try Topic(from: &$0, version: version) }
        forgottenTopics = version >= 7 ? try reader.readArray { reader in
            ForgottenTopic(name: try reader.readString(), partitions: try reader.readInt32Array())
        } : []
        rackID = version >= 11 ? try reader.readString() : ""
    }

    public func write(to buffer: inout ByteBuffer, version: Int16) {
        buffer.writeInteger(replicaID)
        buffer.writeInteger(maximumWaitMilliseconds)
        buffer.writeInteger(minimumBytes)
        if version >= 3 { buffer.writeInteger(maximumBytes) }
        if version >= 4 { buffer.writeInteger(isolationLevel.rawValue) }
        if version >= 7 {
            buffer.writeInteger(sessionID)
            buffer.writeInteger(sessionEpoch)
        }
        buffer.writeKafkaArray(topics) { buffer, topic in topic.write(to: &buffer, version: version) }
        if version >= 7 {
            buffer.writeKafkaArray(forgottenTopics) { buffer, forgotten in
                buffer.writeKafkaString(forgotten.name)
                buffer.writeKafkaInt32Array(forgotten.partitions)
            }
        }
        if version >= 11 { buffer.writeKafkaString(rackID) }
    }
}

/// The answer to a Fetch request.
///
/// Records are streamed from segment files in a real broker, so `write(to:version:writeRecords:)`
/// writes everything except each partition's records field and lets the caller put the records
/// there (see that method). The convenience `write(to:version:)` writes the stored `records`.
public struct FetchResponse: KafkaResponseMessage, Hashable {
    public static let apiKey = ApiKey.fetch

    /// A transaction aborted within the returned range (v4+, READ_COMMITTED fetches).
    public struct AbortedTransaction: Hashable, Sendable {
        public var producerID: ProducerID
        /// The first offset of the aborted transaction.
        public var firstOffset: Offset

        public init(producerID: ProducerID, firstOffset: Offset) {
            self.producerID = producerID
            self.firstOffset = firstOffset
        }
    }

    /// One partition's result.
    public struct Partition: Hashable, Sendable {
        public var partition: Int32
        public var errorCode: ErrorCode
        public var highWatermark: Offset
        /// v4+; default -1.
        public var lastStableOffset: Offset
        /// v5+; default -1.
        public var logStartOffset: Offset
        /// v4+, nullable; default empty (Kafka's default for an absent array).
        public var abortedTransactions: [AbortedTransaction]?
        /// The replica the consumer should fetch from next, -1 for none (v11+; default -1).
        public var preferredReadReplica: Int32
        /// Whole record batches (v0–v3: a legacy message set). The convenience writer writes
        /// nil as an empty records field, never as null: librdkafka rejects a negative size.
        public var records: ByteBuffer?

        public init(
            partition: Int32, errorCode: ErrorCode = .none, highWatermark: Offset,
            lastStableOffset: Offset = .none, logStartOffset: Offset = .none,
            abortedTransactions: [AbortedTransaction]? = [], preferredReadReplica: Int32 = -1,
            records: ByteBuffer?
        ) {
            self.partition = partition
            self.errorCode = errorCode
            self.highWatermark = highWatermark
            self.lastStableOffset = lastStableOffset
            self.logStartOffset = logStartOffset
            self.abortedTransactions = abortedTransactions
            self.preferredReadReplica = preferredReadReplica
            self.records = records
        }

        init(from reader: inout KafkaReader, version: Int16) throws {
            partition = try reader.readInt32()
            errorCode = try reader.readErrorCode()
            highWatermark = try reader.readOffset()
            lastStableOffset = version >= 4 ? try reader.readOffset() : .none
            logStartOffset = version >= 5 ? try reader.readOffset() : .none
            abortedTransactions = version >= 4 ? try reader.readNullableArray { reader in
                AbortedTransaction(producerID: try reader.readProducerID(), firstOffset: try reader.readOffset())
            } : []
            preferredReadReplica = version >= 11 ? try reader.readInt32() : -1
            records = try reader.readNullableBytes()
        }

        /// Everything up to (not including) the records field.
        func writeHeader(to buffer: inout ByteBuffer, version: Int16) {
            buffer.writeInteger(partition)
            buffer.writeInteger(errorCode.rawValue)
            buffer.writeInteger(highWatermark.rawValue)
            if version >= 4 { buffer.writeInteger(lastStableOffset.rawValue) }
            if version >= 5 { buffer.writeInteger(logStartOffset.rawValue) }
            if version >= 4 {
                buffer.writeKafkaNullableArray(abortedTransactions) { buffer, transaction in
                    buffer.writeInteger(transaction.producerID.rawValue)
                    buffer.writeInteger(transaction.firstOffset.rawValue)
                }
            }
            if version >= 11 { buffer.writeInteger(preferredReadReplica) }
        }
    }

    /// One topic's partition results.
    public struct Topic: Hashable, Sendable {
        public var name: String
        public var partitions: [Partition]

        public init(name: String, partitions: [Partition]) {
            self.name = name
            self.partitions = partitions
        }
    }

    /// v1+.
    public var throttleTimeMilliseconds: Int32
    /// Top-level (fetch session) error (v7+; default none).
    public var errorCode: ErrorCode
    /// The fetch session id, 0 for none (v7+; default 0).
    public var sessionID: Int32
    public var topics: [Topic]

    public init(throttleTimeMilliseconds: Int32 = 0, errorCode: ErrorCode = .none, sessionID: Int32 = 0, topics: [Topic]) {
        self.throttleTimeMilliseconds = throttleTimeMilliseconds
        self.errorCode = errorCode
        self.sessionID = sessionID
        self.topics = topics
    }

    public init(from reader: inout KafkaReader, version: Int16) throws {
        throttleTimeMilliseconds = version >= 1 ? try reader.readInt32() : 0
        errorCode = version >= 7 ? try reader.readErrorCode() : .none
        sessionID = version >= 7 ? try reader.readInt32() : 0
        topics = try reader.readArray { reader in
            Topic(name: try reader.readString(), partitions: try reader.readArray { try Partition(from: &$0, version: version) })
        }
    }

    /// Writes the response with the stored records; a nil `records` is written as an empty
    /// (length 0) records field, never as null (-1), which librdkafka fails to parse.
    public func write(to buffer: inout ByteBuffer, version: Int16) {
        write(to: &buffer, version: version) { buffer, topicIndex, partitionIndex in
            buffer.writeKafkaNullableBytes(topics[topicIndex].partitions[partitionIndex].records ?? ByteBuffer())
        }
    }

    /// Writes everything except each partition's records field, and calls `writeRecords`
    /// exactly once per partition, in order, at the point where that partition's records field
    /// (int32 length, then the bytes) belongs. The closure must write a complete field —
    /// length prefix included — and should never write a null (-1) length. The partition's
    /// stored `records` is not written by this method.
    public func write(to buffer: inout ByteBuffer, version: Int16, writeRecords: (inout ByteBuffer, _ topicIndex: Int, _ partitionIndex: Int) -> Void) {
        if version >= 1 { buffer.writeInteger(throttleTimeMilliseconds) }
        if version >= 7 {
            buffer.writeInteger(errorCode.rawValue)
            buffer.writeInteger(sessionID)
        }
        buffer.writeInteger(Int32(topics.count))
        for (topicIndex, topic) in topics.enumerated() {
            buffer.writeKafkaString(topic.name)
            buffer.writeInteger(Int32(topic.partitions.count))
            for (partitionIndex, partition) in topic.partitions.enumerated() {
                partition.writeHeader(to: &buffer, version: version)
                writeRecords(&buffer, topicIndex, partitionIndex)
            }
        }
    }
}
