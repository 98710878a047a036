import NIOCore

/// The fixed 61-byte header of a Kafka RecordBatch (magic 2), decoded.
///
/// Layout (big-endian): baseOffset int64 @0, batchLength int32 @8 (bytes after this field),
/// partitionLeaderEpoch int32 @12 (not covered by the CRC), magic int8 @16, crc uint32 @17
/// (CRC-32C of bytes 21..<end), attributes int16 @21, lastOffsetDelta int32 @23,
/// baseTimestamp int64 @27, maxTimestamp int64 @35, producerId int64 @43, producerEpoch int16 @51,
/// baseSequence int32 @53, recordCount int32 @57, then the records.
public struct RecordBatchHeader: Hashable, Sendable {
    /// Size of the fixed header, and so of the smallest valid batch.
    public static let size = 61
    /// Bytes before `batchLength` counts: baseOffset and batchLength themselves.
    public static let logOverhead = 12
    /// The only magic this implementation reads and writes.
    public static let currentMagic: Int8 = 2

    /// Byte offsets of the fields, for in-place rewriting.
    public enum FieldOffset {
        public static let baseOffset = 0
        public static let batchLength = 8
        public static let partitionLeaderEpoch = 12
        public static let magic = 16
        public static let crc = 17
        public static let attributes = 21
        public static let lastOffsetDelta = 23
        public static let baseTimestamp = 27
        public static let maxTimestamp = 35
        public static let producerID = 43
        public static let producerEpoch = 51
        public static let baseSequence = 53
        public static let recordCount = 57
    }

    public var baseOffset: Offset
    public var batchLength: Int32
    public var partitionLeaderEpoch: LeaderEpoch
    public var magic: Int8
    public var crc: UInt32
    public var attributes: RecordBatchAttributes
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Timestamp
    public var maxTimestamp: Timestamp
    public var producerID: ProducerID
    public var producerEpoch: ProducerEpoch
    public var baseSequence: SequenceNumber
    public var recordCount: Int32

    public init(
        baseOffset: Offset = .zero,
        batchLength: Int32 = Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead),
        partitionLeaderEpoch: LeaderEpoch = .none,
        magic: Int8 = RecordBatchHeader.currentMagic,
        crc: UInt32 = 0,
        attributes: RecordBatchAttributes = RecordBatchAttributes(),
        lastOffsetDelta: Int32 = 0,
        baseTimestamp: Timestamp = .none,
        maxTimestamp: Timestamp = .none,
        producerID: ProducerID = .none,
        producerEpoch: ProducerEpoch = .none,
        baseSequence: SequenceNumber = .none,
        recordCount: Int32 = 0
    ) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordCount = recordCount
    }

    /// Decodes the 61 header bytes at the start of `bytes` without validating them.
    /// Precondition: `bytes.count >= RecordBatchHeader.size`.
    @inlinable
    public init(unvalidated bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= Self.size, "a batch header needs 61 bytes")
        baseOffset = Offset(bytes.loadBigEndian(at: FieldOffset.baseOffset, as: Int64.self))
        batchLength = bytes.loadBigEndian(at: FieldOffset.batchLength, as: Int32.self)
        partitionLeaderEpoch = LeaderEpoch(bytes.loadBigEndian(at: FieldOffset.partitionLeaderEpoch, as: Int32.self))
        magic = Int8(bitPattern: bytes[FieldOffset.magic])
        crc = bytes.loadBigEndian(at: FieldOffset.crc, as: UInt32.self)
        attributes = RecordBatchAttributes(rawValue: bytes.loadBigEndian(at: FieldOffset.attributes, as: Int16.self))
        lastOffsetDelta = bytes.loadBigEndian(at: FieldOffset.lastOffsetDelta, as: Int32.self)
        baseTimestamp = Timestamp(milliseconds: bytes.loadBigEndian(at: FieldOffset.baseTimestamp, as: Int64.self))
        maxTimestamp = Timestamp(milliseconds: bytes.loadBigEndian(at: FieldOffset.maxTimestamp, as: Int64.self))
        producerID = ProducerID(bytes.loadBigEndian(at: FieldOffset.producerID, as: Int64.self))
        producerEpoch = ProducerEpoch(bytes.loadBigEndian(at: FieldOffset.producerEpoch, as: Int16.self))
        baseSequence = SequenceNumber(bytes.loadBigEndian(at: FieldOffset.baseSequence, as: Int32.self))
        recordCount = bytes.loadBigEndian(at: FieldOffset.recordCount, as: Int32.self)
    }

    /// Encodes the header into the first 61 bytes of `bytes` (the CRC as stored in `crc`).
    public func write(to bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.size, "a batch header needs 61 bytes")
        bytes.storeBigEndian(baseOffset.rawValue, at: FieldOffset.baseOffset)
        bytes.storeBigEndian(batchLength, at: FieldOffset.batchLength)
        bytes.storeBigEndian(partitionLeaderEpoch.rawValue, at: FieldOffset.partitionLeaderEpoch)
        bytes[FieldOffset.magic] = UInt8(bitPattern: magic)
        bytes.storeBigEndian(crc, at: FieldOffset.crc)
        bytes.storeBigEndian(attributes.rawValue, at: FieldOffset.attributes)
        bytes.storeBigEndian(lastOffsetDelta, at: FieldOffset.lastOffsetDelta)
        bytes.storeBigEndian(baseTimestamp.milliseconds, at: FieldOffset.baseTimestamp)
        bytes.storeBigEndian(maxTimestamp.milliseconds, at: FieldOffset.maxTimestamp)
        bytes.storeBigEndian(producerID.rawValue, at: FieldOffset.producerID)
        bytes.storeBigEndian(producerEpoch.rawValue, at: FieldOffset.producerEpoch)
        bytes.storeBigEndian(baseSequence.rawValue, at: FieldOffset.baseSequence)
        bytes.storeBigEndian(recordCount, at: FieldOffset.recordCount)
    }

    /// Bytes the whole batch occupies, header included.
    @inlinable public var totalSize: Int { Int(batchLength) + Self.logOverhead }
    /// Offset of the batch's last record (baseOffset + lastOffsetDelta).
    @inlinable public var lastOffset: Offset { baseOffset + Int64(lastOffsetDelta) }
    /// The offset after the batch: where the next batch starts.
    @inlinable public var nextOffset: Offset { lastOffset + 1 }
    /// Whether the batch was written by an idempotent producer.
    @inlinable public var hasProducerID: Bool { producerID.rawValue >= 0 }
    /// The sequence number of the batch's last record.
    @inlinable public var lastSequence: SequenceNumber { baseSequence.advanced(by: lastOffsetDelta) }
    /// The timestamp a time-indexed lookup should use (maxTimestamp, Kafka's rule for v2).
    @inlinable public var largestTimestamp: Timestamp { maxTimestamp }
    /// The tombstone delete horizon, when compaction has set one.
    @inlinable public var deleteHorizon: Timestamp? { attributes.hasDeleteHorizon ? baseTimestamp : nil }
}
