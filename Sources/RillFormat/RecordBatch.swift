import NIOCore

/// A complete, validated RecordBatch (magic 2): its header and the bytes of the whole batch.
///
/// Validation checks the structure (magic, lengths) and, unless told not to, the CRC-32C.
/// It does not decompress; `records()` does that on demand.
public struct RecordBatch: Sendable {
    public private(set) var header: RecordBatchHeader
    /// The whole batch, header included; readable bytes are exactly `header.totalSize`.
    public private(set) var bytes: ByteBuffer

    /// Validates the batch at the start of `buffer`'s readable bytes and takes a slice of it.
    /// Bytes after the batch are ignored.
    public init(validating buffer: ByteBuffer, verifyChecksum: Bool = true) throws(FormatError) {
        let header = try buffer.withUnsafeReadableBytes { bytes throws(FormatError) in
            try RecordBatch.validate(bytes, verifyChecksum: verifyChecksum)
        }
        self.header = header
        self.bytes = buffer.getSlice(at: buffer.readerIndex, length: header.totalSize)!
    }

    /// Validates the batch at the start of `bytes`: enough bytes for the header, magic 2, a
    /// plausible length, all of the batch present, consistent counts, and the CRC-32C.
    /// `position` is reported in errors (the batch's byte offset in its file or buffer).
    /// With `headerOnly`, only the 61 header bytes need be present and the CRC is not checked.
    public static func validate(
        _ bytes: UnsafeRawBufferPointer,
        verifyChecksum: Bool = true,
        position: Int64? = nil,
        headerOnly: Bool = false
    ) throws(FormatError) -> RecordBatchHeader {
        // Magic sits at byte 16 in every message format, so read it before trusting lengths.
        guard bytes.count > RecordBatchHeader.FieldOffset.magic else {
            throw FormatError(.truncated, "\(bytes.count) bytes cannot hold a batch header", position: position)
        }
        let magic = Int8(bitPattern: bytes[RecordBatchHeader.FieldOffset.magic])
        guard magic == RecordBatchHeader.currentMagic else {
            let what = magic == 0 || magic == 1 ? "a legacy message set (magic \(magic)), which is not supported" : "magic \(magic)"
            throw FormatError(.unsupportedMagic, "expected a RecordBatch with magic 2, found \(what)", position: position)
        }
        guard bytes.count >= RecordBatchHeader.size else {
            throw FormatError(.truncated, "\(bytes.count) bytes cannot hold a 61-byte batch header", position: position)
        }
        let header = RecordBatchHeader(unvalidated: bytes)
        let minimumLength = RecordBatchHeader.size - RecordBatchHeader.logOverhead
        guard header.batchLength >= minimumLength, Int(header.batchLength) <= FormatLimits.maximumBatchBytes else {
            throw FormatError(.invalidLength, "batch length \(header.batchLength) is outside [\(minimumLength), \(FormatLimits.maximumBatchBytes)]", position: position)
        }
        try validateCounts(header, position: position)
        if headerOnly { return header }
        guard header.totalSize <= bytes.count else {
            throw FormatError(.truncated, "batch of \(header.totalSize) bytes has only \(bytes.count) present", position: position)
        }
        if verifyChecksum {
            let covered = UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.FieldOffset.attributes..<header.totalSize])
            let computed = CRC32C.checksum(covered)
            guard computed == header.crc else {
                throw FormatError(.checksumMismatch, "stored CRC-32C \(hex(header.crc)), computed \(hex(computed))", position: position)
            }
        }
        return header
    }

    private static func validateCounts(_ header: RecordBatchHeader, position: Int64?) throws(FormatError) {
        guard header.recordCount >= 0, Int(header.recordCount) <= FormatLimits.maximumRecordsPerBatch else {
            throw FormatError(.invalidLength, "record count \(header.recordCount) is invalid", position: position)
        }
        guard header.lastOffsetDelta >= 0, header.lastOffsetDelta >= header.recordCount - 1 else {
            throw FormatError(.invalidLength, "last offset delta \(header.lastOffsetDelta) is invalid for \(header.recordCount) records", position: position)
        }
        guard header.attributes.compression != nil else {
            throw FormatError(.unsupportedCompression, "compression codec id \(header.attributes.compressionID) is not defined", position: position)
        }
        if header.attributes.compression == CompressionType.none {
            // Every record takes at least 7 bytes (length, attributes, two deltas, key, value, headers).
            let recordBytes = header.totalSize - RecordBatchHeader.size
            guard Int(header.recordCount) * 7 <= recordBytes else {
                throw FormatError(.invalidLength, "\(header.recordCount) records cannot fit in \(recordBytes) bytes", position: position)
            }
        }
    }

    /// The records section as stored (compressed when the batch is).
    public var storedRecords: ByteBuffer {
        bytes.getSlice(at: bytes.readerIndex + RecordBatchHeader.size, length: header.totalSize - RecordBatchHeader.size)!
    }

    /// The records section decompressed (the stored bytes themselves when not compressed).
    public func uncompressedRecords(maximumBytes: Int = FormatLimits.maximumDecompressedBytes) throws(FormatError) -> ByteBuffer {
        guard let compression = header.attributes.compression else {
            throw FormatError(.unsupportedCompression, "compression codec id \(header.attributes.compressionID) is not defined")
        }
        let stored = storedRecords
        guard let codec = compression.codec else { return stored }
        var output = ByteBufferAllocator().buffer(capacity: Swift.min(maximumBytes, Swift.max(stored.readableBytes * 4, 256)))
        do {
            try stored.withUnsafeReadableBytes { input in
                try codec.decompress(input, into: &output, maximumBytes: maximumBytes)
            }
        } catch let error as FormatError {
            throw error
        } catch {
            throw FormatError(.compressionFailure, "\(compression) payload does not decode: \(error)")
        }
        return output
    }

    /// Decodes every record (decompressing if needed) and checks that the records agree with the
    /// header: the stated count, offset deltas strictly increasing and within lastOffsetDelta.
    public func records(maximumDecompressedBytes: Int = FormatLimits.maximumDecompressedBytes) throws(FormatError) -> [Record] {
        let section = try uncompressedRecords(maximumBytes: maximumDecompressedBytes)
        let count = Int(header.recordCount)
        let lastOffsetDelta = header.lastOffsetDelta
        return try section.withUnsafeReadableBytes { raw throws(FormatError) -> [Record] in
            // Every record takes at least 7 bytes. For a compressed batch, validation could not
            // check the count against the records section, so check it here, before the count
            // sizes the array: a hostile count would reserve gigabytes.
            guard count <= raw.count / 7 else {
                throw FormatError(.invalidRecord, "\(count) records cannot fit in \(raw.count) bytes of records")
            }
            var cursor = ByteCursor(raw)
            var records: [Record] = []
            records.reserveCapacity(count)
            var previousDelta: Int32 = -1
            for _ in 0..<count {
                let record = try Record.decode(from: &cursor, source: section)
                guard record.offsetDelta > previousDelta, record.offsetDelta <= lastOffsetDelta else {
                    throw FormatError(.invalidRecord, "record offset delta \(record.offsetDelta) is out of order or beyond \(lastOffsetDelta)")
                }
                previousDelta = record.offsetDelta
                records.append(record)
            }
            guard cursor.remaining == 0 else {
                throw FormatError(.invalidRecord, "\(cursor.remaining) bytes follow the last of \(count) records")
            }
            return records
        }
    }

    /// Calls `body` with each record in order (decompressing if needed), with the same checks
    /// as `records()` but without building an array of them.
    public func forEachRecord(maximumDecompressedBytes: Int = FormatLimits.maximumDecompressedBytes, _ body: (Record) throws -> Void) throws {
        let section = try uncompressedRecords(maximumBytes: maximumDecompressedBytes)
        let count = Int(header.recordCount)
        let lastOffsetDelta = header.lastOffsetDelta
        try section.withUnsafeReadableBytes { raw in
            var cursor = ByteCursor(raw)
            var previousDelta: Int32 = -1
            for _ in 0..<count {
                let record = try Record.decode(from: &cursor, source: section)
                guard record.offsetDelta > previousDelta, record.offsetDelta <= lastOffsetDelta else {
                    throw FormatError(.invalidRecord, "record offset delta \(record.offsetDelta) is out of order or beyond \(lastOffsetDelta)")
                }
                previousDelta = record.offsetDelta
                try body(record)
            }
            guard cursor.remaining == 0 else {
                throw FormatError(.invalidRecord, "\(cursor.remaining) bytes follow the last of \(count) records")
            }
        }
    }

    /// The absolute offset of `record`.
    @inlinable public func offset(of record: Record) -> Offset { header.baseOffset + Int64(record.offsetDelta) }

    /// The timestamp of `record`: the batch's maxTimestamp for LogAppendTime, else base + delta.
    /// When compaction has stored a delete horizon in baseTimestamp, deltas are relative to it.
    @inlinable public func timestamp(of record: Record) -> Timestamp {
        if header.attributes.timestampType == .logAppendTime { return header.maxTimestamp }
        return Timestamp(milliseconds: header.baseTimestamp.milliseconds &+ record.timestampDelta)
    }
}

func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}

extension RecordBatch {
    /// Recomputes the CRC-32C of the batch at the start of `bytes` and stores it in the header.
    /// Needed after changing any covered field (attributes, timestamps, records).
    public static func updateChecksum(_ bytes: UnsafeMutableRawBufferPointer) {
        let totalSize = Int(bytes.loadBigEndian(at: RecordBatchHeader.FieldOffset.batchLength, as: Int32.self)) + RecordBatchHeader.logOverhead
        precondition(totalSize <= bytes.count && totalSize >= RecordBatchHeader.size, "updateChecksum needs a whole batch")
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.FieldOffset.attributes..<totalSize]))
        bytes.storeBigEndian(crc, at: RecordBatchHeader.FieldOffset.crc)
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Reads a big-endian integer at `offset` without alignment requirements.
    @inlinable
    public func loadBigEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension RecordBatch {
    /// Checks the records of an uncompressed batch without building them: every record's length,
    /// fields and headers lie within it, offset deltas run 0, 1, 2… (a producer's batch), and —
    /// when `requireKeys` — no key is null. Much cheaper than `records()`, for the broker's
    /// produce path. Compressed batches must be decompressed first (use `records()`).
    public func validateRecordStructure(requireKeys: Bool) throws(FormatError) {
        precondition(header.attributes.compression == CompressionType.none, "only uncompressed records can be walked in place")
        let count = Int(header.recordCount)
        try bytes.withUnsafeReadableBytes { raw throws(FormatError) in
            var cursor = ByteCursor(raw, position: RecordBatchHeader.size)
            for index in 0..<count {
                guard let length = cursor.readVarint(), length >= 0, Int(length) <= cursor.remaining else {
                    throw FormatError(.invalidRecord, "record \(index): length is missing or runs past the batch")
                }
                let end = cursor.position + Int(length)
                var body = ByteCursor(UnsafeRawBufferPointer(rebasing: raw[..<end]), position: cursor.position)
                guard body.readByte() != nil, body.readVarlong() != nil, let offsetDelta = body.readVarint(), offsetDelta == Int32(index) else {
                    throw FormatError(.invalidRecord, "record \(index): offset delta is not \(index)")
                }
                guard let keyLength = body.readVarint(), keyLength >= -1, body.skip(max(Int(keyLength), 0)) != nil else {
                    throw FormatError(.invalidRecord, "record \(index): key length is invalid")
                }
                if requireKeys && keyLength == -1 { throw FormatError(.invalidRecord, "record \(index) has no key") }
                guard let valueLength = body.readVarint(), valueLength >= -1, body.skip(max(Int(valueLength), 0)) != nil,
                      let headerCount = body.readVarint(), headerCount >= 0
                else { throw FormatError(.invalidRecord, "record \(index): value or header count is invalid") }
                for _ in 0..<headerCount {
                    guard let keyLength = body.readVarint(), keyLength >= 0, body.skip(Int(keyLength)) != nil,
                          let valueLength = body.readVarint(), valueLength >= -1, body.skip(max(Int(valueLength), 0)) != nil
                    else { throw FormatError(.invalidRecord, "record \(index): a header is invalid") }
                }
                guard body.position == end else { throw FormatError(.invalidRecord, "record \(index): bytes beyond its fields") }
                cursor.position = end
            }
            guard cursor.remaining == 0 else { throw FormatError(.invalidRecord, "\(cursor.remaining) bytes follow the last record") }
        }
    }
}
