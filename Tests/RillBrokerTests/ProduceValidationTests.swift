import NIOCore
import RillBroker
import RillFormat
import RillProtocol
import Testing

/// Kafka's checks on one partition's records in a Produce request (kafka-protocol.md §4.7), each
/// rejection with the error code Kafka answers.
@Suite struct ProduceValidationTests {
    let deleteTopic: TopicConfiguration
    let compactedTopic: TopicConfiguration

    init() throws {
        deleteTopic = try topicConfiguration()
        compactedTopic = try topicConfiguration(["cleanup.policy": "compact"])
    }

    /// The error code `records` are rejected with, or nil when they are accepted.
    func rejection(_ records: ByteBuffer?, version: Int16 = 8, configuration: TopicConfiguration? = nil) -> ErrorCode? {
        do {
            _ = try ProduceValidation.validate(records, produceVersion: version, configuration: configuration ?? deleteTopic)
            return nil
        } catch {
            #expect(!error.message.isEmpty, "a rejection says why")
            return error.errorCode
        }
    }

    // MARK: Accepted

    @Test(arguments: CompressionType.allCases)
    func aValidBatchOfEveryCodecIsAccepted(compression: CompressionType) throws {
        let batch = try makeBatch(records(3), compression: compression)
        let header = try ProduceValidation.validate(batch, produceVersion: 8, configuration: deleteTopic)
        #expect(header.recordCount == 3)
        #expect(header.attributes.compression == compression)
        #expect(header.totalSize == batch.readableBytes)
        // Keyed records are accepted on a compacted topic too, where every record is decoded.
        #expect(rejection(batch, configuration: compactedTopic) == nil)
    }

    @Test(arguments: Int16(3)...Int16(8))
    func everyProduceVersionFromThreeCarriesMagicTwoBatches(version: Int16) throws {
        #expect(rejection(try makeBatch(records(2)), version: version) == nil)
    }

    @Test func idempotentBatchesAreAccepted() throws {
        let batch = try makeBatch(records(4), producer: ProducerStamp(producerID: 42, producerEpoch: 3, baseSequence: 10))
        let header = try ProduceValidation.validate(batch, produceVersion: 8, configuration: deleteTopic)
        #expect(header.producerID == ProducerID(42))
        #expect(header.baseSequence == SequenceNumber(10))
    }

    @Test func tombstonesWithKeysAreAcceptedOnACompactedTopic() throws {
        #expect(rejection(try makeBatch([TestRecord("k", nil)]), configuration: compactedTopic) == nil)
    }

    // MARK: Rejected

    @Test func missingOrEmptyRecordsAreAnInvalidRecord() {
        #expect(rejection(nil) == .invalidRecord)
        #expect(rejection(ByteBuffer()) == .invalidRecord)
    }

    @Test(arguments: Int16(0)...Int16(2))
    func produceBelowVersionThreeIsAnUnsupportedVersion(version: Int16) throws {
        #expect(rejection(try makeBatch(records(1)), version: version) == .unsupportedVersion)
    }

    @Test func aChecksumMismatchIsACorruptMessage() throws {
        let batch = try makeBatch(records(3))
        // A flipped byte in a record, in a CRC-covered header field, and in the CRC itself.
        #expect(rejection(batch.flippingByte(at: batch.readableBytes - 2)) == .corruptMessage)
        #expect(rejection(batch.flippingByte(at: RecordBatchHeader.FieldOffset.baseTimestamp)) == .corruptMessage)
        #expect(rejection(batch.flippingByte(at: RecordBatchHeader.FieldOffset.crc)) == .corruptMessage)
    }

    /// Kafka checks the CRC before it looks at the codec, so bytes damaged in transit are a
    /// (retriable) CORRUPT_MESSAGE even where the damage makes the codec id undefined, never an
    /// UNSUPPORTED_COMPRESSION_TYPE the producer would treat as its own mistake.
    @Test func aDamagedCodecIdIsACorruptMessage() throws {
        let batch = try makeBatch(records(3))
        // The low byte of the attributes holds the codec bits: 0x00 becomes 0xFF, codec 7.
        #expect(rejection(batch.flippingByte(at: RecordBatchHeader.FieldOffset.attributes + 1)) == .corruptMessage)
        // Codec 5 written over a gzip batch without updating the CRC.
        let gzip = try makeBatch(records(3), compression: .gzip)
        #expect(rejection(gzip.setting(Int16(5), at: RecordBatchHeader.FieldOffset.attributes)) == .corruptMessage)
        // A truncated batch with an undefined codec is corrupt too (its CRC cannot be checked).
        let truncated = batch.setting(Int16(6), at: RecordBatchHeader.FieldOffset.attributes).withChecksumUpdated()
        #expect(rejection(truncated.getSlice(at: truncated.readerIndex, length: truncated.readableBytes - 1)) == .corruptMessage)
    }

    @Test func aCompressedBatchWithABadChecksumIsACorruptMessage() throws {
        let batch = try makeBatch(records(5), compression: .gzip)
        #expect(rejection(batch.flippingByte(at: batch.readableBytes - 3)) == .corruptMessage)
    }

    @Test func aTruncatedBatchIsACorruptMessage() throws {
        let batch = try makeBatch(records(3))
        for length in [batch.readableBytes - 1, batch.readableBytes / 2, RecordBatchHeader.size, RecordBatchHeader.size - 1, 20] {
            #expect(rejection(batch.getSlice(at: batch.readerIndex, length: length)) == .corruptMessage, "\(length) bytes")
        }
    }

    @Test func aBatchLengthBelowTheHeaderIsACorruptMessage() throws {
        let batch = try makeBatch(records(1))
        #expect(rejection(batch.setting(Int32(10), at: RecordBatchHeader.FieldOffset.batchLength)) == .corruptMessage)
    }

    @Test func twoBatchesInOnePartitionAreAnInvalidRecord() throws {
        var both = try makeBatch(records(2))
        var second = try makeBatch(records(1, prefix: "b"))
        both.writeBuffer(&second)
        #expect(rejection(both) == .invalidRecord)
    }

    @Test func trailingBytesAfterTheBatchAreAnInvalidRecord() throws {
        var batch = try makeBatch(records(2))
        batch.writeBytes([0, 0, 0])
        #expect(rejection(batch) == .invalidRecord)
    }

    @Test func aBatchOverMaxMessageBytesIsTooLarge() throws {
        let batch = try makeBatch(records(10))
        let size = batch.readableBytes
        let exact = try topicConfiguration(["max.message.bytes": "\(size)"])
        let smaller = try topicConfiguration(["max.message.bytes": "\(size - 1)"])
        #expect(rejection(batch, configuration: exact) == nil)
        #expect(rejection(batch, configuration: smaller) == .messageTooLarge)
    }

    @Test func theBrokerDefaultMaxMessageBytesApplies() throws {
        let large = try makeBatch([TestRecord("k", String(repeating: "x", count: 1_048_588))])
        #expect(rejection(large) == .messageTooLarge)
    }

    @Test func zstdNeedsProduceVersionSeven() throws {
        let batch = try makeBatch(records(3), compression: .zstd)
        #expect(rejection(batch, version: 6) == .unsupportedCompressionType)
        #expect(rejection(batch, version: 3) == .unsupportedCompressionType)
        #expect(rejection(batch, version: 7) == nil)
        #expect(rejection(batch, version: 8) == nil)
    }

    @Test(arguments: [Int16(5), 6, 7])
    func anUndefinedCodecIsAnUnsupportedCompressionType(codecID: Int16) throws {
        let batch = try makeBatch(records(1))
        let patched = batch.setting(codecID, at: RecordBatchHeader.FieldOffset.attributes).withChecksumUpdated()
        #expect(rejection(patched) == .unsupportedCompressionType)
    }

    @Test func aControlBatchFromAClientIsAnInvalidRecord() throws {
        let batch = try makeBatch(records(1), producer: ProducerStamp(producerID: 1, producerEpoch: 0, baseSequence: 0))
        let control = RecordBatchAttributes(isTransactional: true, isControl: true).rawValue
        #expect(rejection(batch.setting(control, at: RecordBatchHeader.FieldOffset.attributes).withChecksumUpdated()) == .invalidRecord)
        let controlOnly = RecordBatchAttributes(isControl: true).rawValue
        #expect(rejection(batch.setting(controlOnly, at: RecordBatchHeader.FieldOffset.attributes).withChecksumUpdated()) == .invalidRecord)
    }

    @Test func aTransactionalBatchIsAnInvalidRecord() throws {
        let batch = try makeBatch(records(2), producer: ProducerStamp(producerID: 1, producerEpoch: 0, baseSequence: 0), isTransactional: true)
        #expect(rejection(batch) == .invalidRecord)
    }

    @Test func aLastOffsetDeltaBeyondTheRecordCountIsAnInvalidRecord() throws {
        var builder = RecordBatchBuilder()
        for index in 0..<3 { builder.append(key: Array("k\(index)".utf8), value: Array("v".utf8), timestamp: t0) }
        #expect(rejection(try builder.build(lastOffsetDelta: 5)) == .invalidRecord)
    }

    @Test func aRecordCountBelowTheRecordsPresentIsAnInvalidRecord() throws {
        let batch = try makeBatch(records(3))
        #expect(rejection(batch.setting(Int32(2), at: RecordBatchHeader.FieldOffset.recordCount).withChecksumUpdated()) == .invalidRecord)
    }

    @Test func aRecordCountAboveTheRecordsPresentIsAnInvalidRecord() throws {
        let batch = try makeBatch(records(2))
        let patched = batch.setting(Int32(3), at: RecordBatchHeader.FieldOffset.recordCount)
            .setting(Int32(2), at: RecordBatchHeader.FieldOffset.lastOffsetDelta).withChecksumUpdated()
        #expect(rejection(patched) == .invalidRecord)
    }

    @Test func anEmptyBatchIsAnInvalidRecord() throws {
        var empty = RecordBatchBuilder()
        #expect(rejection(try empty.build()) == .invalidRecord)
    }

    @Test func uncompressedRecordsWithWrongOffsetDeltasAreAnInvalidRecord() throws {
        // Deltas 0 and 2 under a header that says two records ending at delta 1.
        var builder = RecordBatchBuilder()
        builder.append(key: ByteBuffer(string: "a"), value: ByteBuffer(string: "1"), timestamp: t0, offsetDelta: 0)
        builder.append(key: ByteBuffer(string: "b"), value: ByteBuffer(string: "2"), timestamp: t0, offsetDelta: 2)
        let gapped = try builder.build(lastOffsetDelta: 2)
        #expect(rejection(gapped.setting(Int32(1), at: RecordBatchHeader.FieldOffset.lastOffsetDelta).withChecksumUpdated()) == .invalidRecord)

        // A single record at delta 1 under a header ending at delta 0.
        var shifted = RecordBatchBuilder()
        shifted.append(key: ByteBuffer(string: "a"), value: ByteBuffer(string: "1"), timestamp: t0, offsetDelta: 1)
        let batch = try shifted.build(lastOffsetDelta: 1)
        #expect(rejection(batch.setting(Int32(0), at: RecordBatchHeader.FieldOffset.lastOffsetDelta).withChecksumUpdated()) == .invalidRecord)
    }

    @Test(arguments: CompressionType.allCases)
    func aNullKeyOnACompactedTopicIsAnInvalidRecord(compression: CompressionType) throws {
        let batch = try makeBatch([TestRecord("a", "1"), TestRecord(nil, "2"), TestRecord("c", "3")], compression: compression)
        #expect(rejection(batch, configuration: compactedTopic) == .invalidRecord)
        #expect(rejection(batch, configuration: try topicConfiguration(["cleanup.policy": "compact,delete"])) == .invalidRecord)
        // The same batch is fine where nothing is compacted.
        #expect(rejection(batch, configuration: deleteTopic) == nil)
    }

    @Test func aLegacyMagicOneMessageSetIsAnInvalidRecord() throws {
        #expect(rejection(Self.legacyMessageSet(magic: 1)) == .invalidRecord)
        #expect(rejection(Self.legacyMessageSet(magic: 0)) == .invalidRecord)
    }

    @Test func anUnknownMagicIsAnInvalidRecord() throws {
        let batch = try makeBatch(records(1))
        #expect(rejection(batch.setting(Int8(3), at: RecordBatchHeader.FieldOffset.magic)) == .invalidRecord)
    }

    /// One legacy message (kafka-protocol.md §4.8): offset, size, CRC-32 (not checked: the magic
    /// is refused first), magic, attributes, (v1) timestamp, null key, value "hello".
    static func legacyMessageSet(magic: Int8) -> ByteBuffer {
        var message = ByteBuffer()
        message.writeInteger(UInt32(0x1234_5678))  // crc
        message.writeInteger(magic)
        message.writeInteger(Int8(0))  // attributes
        if magic == 1 { message.writeInteger(Int64(1_000)) }
        message.writeInteger(Int32(-1))  // null key
        message.writeInteger(Int32(5))
        message.writeString("hello")
        var set = ByteBuffer()
        set.writeInteger(Int64(0))
        set.writeInteger(Int32(message.readableBytes))
        set.writeBuffer(&message)
        return set
    }
}
