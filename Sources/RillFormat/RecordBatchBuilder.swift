import NIOCore

/// Builds one RecordBatch (magic 2) from records, compressing the records section on `build()`.
///
/// Records are encoded straight into the output buffer when the batch is not compressed, so an
/// uncompressed batch is built with one copy of each key and value. The first record's
/// timestamp becomes the batch's baseTimestamp; deltas are relative to it.
public struct RecordBatchBuilder: Sendable {
    public let compression: CompressionType
    public var baseOffset: Offset
    public var partitionLeaderEpoch: LeaderEpoch
    public var producerID: ProducerID
    public var producerEpoch: ProducerEpoch
    public var baseSequence: SequenceNumber
    public var isTransactional: Bool
    public var timestampType: TimestampType
    /// Compaction's tombstone delete horizon: when set before the first record, it becomes the
    /// baseTimestamp (record deltas are relative to it) and attribute bit 6 is set.
    public var deleteHorizon: Timestamp?
    /// Keeps a batch's original maxTimestamp when compaction rebuilds it with fewer records.
    public var maximumTimestampOverride: Timestamp?

    /// Header space followed by the encoded records (uncompressed).
    private var buffer: ByteBuffer
    private var baseTimestamp: Timestamp = .none
    private var maxTimestamp: Timestamp = .none
    private var nextOffsetDelta: Int32 = 0
    /// Set by `append(_:offsetDelta:)`, which may leave gaps (compaction keeps original deltas).
    private var lastOffsetDelta: Int32 = -1
    public private(set) var recordCount: Int32 = 0

    public init(
        compression: CompressionType = .none,
        baseOffset: Offset = .zero,
        partitionLeaderEpoch: LeaderEpoch = .none,
        producerID: ProducerID = .none,
        producerEpoch: ProducerEpoch = .none,
        baseSequence: SequenceNumber = .none,
        isTransactional: Bool = false,
        timestampType: TimestampType = .createTime,
        initialCapacity: Int = 1024,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) {
        self.compression = compression
        self.baseOffset = baseOffset
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.producerID = producerID
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.isTransactional = isTransactional
        self.timestampType = timestampType
        buffer = allocator.buffer(capacity: Swift.max(initialCapacity, RecordBatchHeader.size))
        buffer.moveWriterIndex(forwardBy: RecordBatchHeader.size)
    }

    /// Bytes of the records appended so far, before compression, plus the header.
    public var uncompressedSize: Int { buffer.writerIndex }
    public var isEmpty: Bool { recordCount == 0 }

    /// Bytes one more record with these sizes would add (for batch-size decisions).
    public static func estimatedRecordSize(keyLength: Int?, valueLength: Int?, headers: [RecordHeader] = []) -> Int {
        let body = Record.bodySize(timestampDelta: 0, offsetDelta: 0, keyLength: keyLength, valueLength: valueLength, headers: headers)
        return body + Varint.size(ofSigned: Int32(body)) + 4
    }

    /// Appends a record with the next offset delta.
    public mutating func append(
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?,
        headers: [RecordHeader] = [],
        timestamp: Timestamp
    ) {
        append(key: key, value: value, headers: headers, timestamp: timestamp, offsetDelta: nextOffsetDelta)
    }

    /// Appends a record at an explicit offset delta, which must exceed every earlier one.
    public mutating func append(
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?,
        headers: [RecordHeader] = [],
        timestamp: Timestamp,
        offsetDelta: Int32
    ) {
        precondition(offsetDelta > lastOffsetDelta, "offset deltas must increase within a batch")
        if recordCount == 0 { baseTimestamp = deleteHorizon ?? timestamp }
        if timestamp > maxTimestamp { maxTimestamp = timestamp }
        let timestampDelta = timestamp.milliseconds &- baseTimestamp.milliseconds
        let bodySize = Record.bodySize(
            timestampDelta: timestampDelta, offsetDelta: offsetDelta,
            keyLength: key?.count, valueLength: value?.count, headers: headers)
        let totalSize = Varint.size(ofSigned: Int32(bodySize)) + bodySize
        // One capacity check per record, then raw writes: this is the producer's per-record path.
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: totalSize) { raw in
            var writer = RawWriter(base: raw.baseAddress!)
            writer.varint(Int64(bodySize))
            writer.byte(0)  // record attributes
            writer.varint(timestampDelta)
            writer.varint(Int64(offsetDelta))
            writer.lengthPrefixed(key)
            writer.lengthPrefixed(value)
            writer.varint(Int64(headers.count))
            for header in headers {
                var headerKey = header.key
                headerKey.withUTF8 { writer.lengthPrefixed(UnsafeRawBufferPointer($0)) }
                if let headerValue = header.value {
                    headerValue.withUnsafeReadableBytes { writer.lengthPrefixed($0) }
                } else {
                    writer.varint(-1)
                }
            }
            precondition(writer.count == totalSize, "record size computed wrongly")
            return totalSize
        }
        recordCount += 1
        lastOffsetDelta = offsetDelta
        nextOffsetDelta = offsetDelta + 1
    }

    /// Finishes the batch: compresses the records if asked, fills in the header and the CRC.
    /// `lastOffsetDelta` may be given to keep a gap at the end (compaction preserves it).
    /// The builder hands its buffer over (no copy), so it cannot build again.
    public mutating func build(lastOffsetDelta explicitLastOffsetDelta: Int32? = nil) throws -> ByteBuffer {
        precondition(buffer.writerIndex >= RecordBatchHeader.size, "a builder builds once")
        var output: ByteBuffer
        if let codec = compression.codec {
            output = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.size + buffer.writerIndex / 2 + 64)
            output.moveWriterIndex(forwardBy: RecordBatchHeader.size)
            let records = buffer.getSlice(at: RecordBatchHeader.size, length: buffer.writerIndex - RecordBatchHeader.size)!
            try records.withUnsafeReadableBytes { try codec.compress($0, into: &output) }
            buffer = ByteBuffer()
        } else {
            // Moved out, so the header write below does not copy the records (copy-on-write).
            output = ByteBuffer()
            swap(&output, &buffer)
        }
        let finalLastOffsetDelta = explicitLastOffsetDelta ?? Swift.max(lastOffsetDelta, 0)
        precondition(finalLastOffsetDelta >= lastOffsetDelta, "lastOffsetDelta cannot precede the last record")
        let header = RecordBatchHeader(
            baseOffset: baseOffset,
            batchLength: Int32(output.writerIndex - RecordBatchHeader.logOverhead),
            partitionLeaderEpoch: partitionLeaderEpoch,
            attributes: RecordBatchAttributes(
                compression: compression, timestampType: timestampType,
                isTransactional: isTransactional, hasDeleteHorizon: deleteHorizon != nil),
            lastOffsetDelta: finalLastOffsetDelta,
            baseTimestamp: deleteHorizon ?? baseTimestamp,
            maxTimestamp: maximumTimestampOverride ?? maxTimestamp,
            producerID: producerID,
            producerEpoch: producerEpoch,
            baseSequence: baseSequence,
            recordCount: recordCount
        )
        output.withUnsafeMutableReadableBytes { bytes in
            header.write(to: bytes)
            RecordBatch.updateChecksum(bytes)
        }
        return output
    }
}

extension RecordBatchBuilder {
    /// Appends a record whose key and value are byte arrays (nil for null).
    public mutating func append(key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [], timestamp: Timestamp) {
        withOptionalBytes(key) { keyBytes in
            withOptionalBytes(value) { valueBytes in
                append(key: keyBytes, value: valueBytes, headers: headers, timestamp: timestamp)
            }
        }
    }

    /// Appends a record whose key and value are buffers (nil for null).
    public mutating func append(key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = [], timestamp: Timestamp, offsetDelta: Int32? = nil) {
        withOptionalBytes(key) { keyBytes in
            withOptionalBytes(value) { valueBytes in
                if let offsetDelta {
                    append(key: keyBytes, value: valueBytes, headers: headers, timestamp: timestamp, offsetDelta: offsetDelta)
                } else {
                    append(key: keyBytes, value: valueBytes, headers: headers, timestamp: timestamp)
                }
            }
        }
    }
}

@inline(__always)
func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
    guard let bytes else { return try body(nil) }
    return try bytes.withUnsafeBytes { try body($0) }
}

@inline(__always)
func withOptionalBytes<R>(_ bytes: ByteBuffer?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
    guard let bytes else { return try body(nil) }
    return try bytes.withUnsafeReadableBytes { try body($0) }
}

/// Writes record fields into memory already reserved for them (no bounds check per field: the
/// caller computed the exact size first and checks it after).
struct RawWriter {
    let base: UnsafeMutableRawPointer
    var count = 0

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        base.storeBytes(of: value, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    /// Zig-zag varint/varlong.
    @inline(__always)
    mutating func varint(_ value: Int64) {
        var remaining = Varint.zigZag(value)
        while remaining >= 0x80 {
            byte(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        byte(UInt8(remaining))
    }

    @inline(__always)
    mutating func lengthPrefixed(_ bytes: UnsafeRawBufferPointer?) {
        guard let bytes else {
            varint(-1)
            return
        }
        varint(Int64(bytes.count))
        if bytes.count > 0 { (base + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        count += bytes.count
    }
}
