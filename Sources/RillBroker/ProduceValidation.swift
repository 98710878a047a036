import NIOCore
import RillFormat
import RillProtocol

/// Kafka's checks on the records of one partition in a Produce request (kafka-protocol.md
/// §4.7), before anything is appended: exactly one magic-2 batch for Produce v3+, the CRC-32C,
/// consistent counts and offset deltas, `max.message.bytes`, a codec the request version
/// allows, no control batches from clients, keys on compacted topics.
///
/// Uncompressed batches have every record decoded and checked; compressed batches are decoded
/// only on compacted topics (which need the keys), since decompressing every batch would cost
/// the broker more CPU than the append itself — the CRC already proves the bytes arrived as
/// the producer wrote them.
public enum ProduceValidation {
    public struct Rejection: Error, Hashable, Sendable {
        public var errorCode: ErrorCode
        public var message: String
        public init(_ errorCode: ErrorCode, _ message: String) {
            self.errorCode = errorCode
            self.message = message
        }
    }

    /// `maximumDecompressedBytes` bounds what a compressed batch may inflate to when its records
    /// are decoded (compacted topics); the fuzz target lowers it to keep inputs cheap.
    public static func validate(
        _ records: ByteBuffer?,
        produceVersion: Int16,
        configuration: TopicConfiguration,
        maximumDecompressedBytes: Int = FormatLimits.maximumDecompressedBytes
    ) throws(Rejection) -> RecordBatchHeader {
        guard produceVersion >= 3 else {
            throw Rejection(.unsupportedVersion, "Produce v\(produceVersion) carries legacy message sets; use v3 or later")
        }
        guard let records, records.readableBytes > 0 else {
            throw Rejection(.invalidRecord, "the partition's records are empty")
        }
        let header = try checkBatch(records)
        guard header.totalSize == records.readableBytes else {
            throw Rejection(.invalidRecord, "Produce v3 and later must carry exactly one record batch per partition")
        }
        guard Int64(header.totalSize) <= configuration.log.maximumMessageBytes else {
            throw Rejection(.messageTooLarge, "batch of \(header.totalSize) bytes exceeds max.message.bytes \(configuration.log.maximumMessageBytes)")
        }
        try checkAttributes(header, produceVersion: produceVersion)
        guard header.recordCount > 0, header.lastOffsetDelta == header.recordCount - 1 else {
            throw Rejection(.invalidRecord, "batch claims \(header.recordCount) records with last offset delta \(header.lastOffsetDelta)")
        }
        let isCompacted = configuration.log.cleanupPolicy.contains(.compact)
        if header.attributes.compression == CompressionType.none || isCompacted {
            try checkRecords(records, header: header, requireKeys: isCompacted, maximumDecompressedBytes: maximumDecompressedBytes)
        }
        return header
    }

    private static func checkBatch(_ records: ByteBuffer) throws(Rejection) -> RecordBatchHeader {
        do {
            return try records.withUnsafeReadableBytes { bytes throws(FormatError) in try RecordBatch.validate(bytes) }
        } catch {
            switch error.code {
            case .checksumMismatch, .truncated, .invalidLength:
                throw Rejection(.corruptMessage, error.description)
            case .unsupportedCompression:
                // Kafka checks the CRC before the codec: bytes damaged in transit are a retriable
                // CORRUPT_MESSAGE, not an undefined codec the producer would take for its own choice.
                throw Rejection(hasMatchingChecksum(records) ? .unsupportedCompressionType : .corruptMessage, error.description)
            default:
                throw Rejection(.invalidRecord, error.description)
            }
        }
    }

    /// Whether the batch at the start of `records` is all there and its CRC-32C matches.
    private static func hasMatchingChecksum(_ records: ByteBuffer) -> Bool {
        records.withUnsafeReadableBytes { bytes in
            guard bytes.count >= RecordBatchHeader.size else { return false }
            let header = RecordBatchHeader(unvalidated: bytes)
            guard header.totalSize >= RecordBatchHeader.size, header.totalSize <= bytes.count else { return false }
            let covered = UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.FieldOffset.attributes..<header.totalSize])
            return CRC32C.checksum(covered) == header.crc
        }
    }

    private static func checkAttributes(_ header: RecordBatchHeader, produceVersion: Int16) throws(Rejection) {
        if header.attributes.isControl {
            throw Rejection(.invalidRecord, "clients cannot produce control batches")
        }
        if header.attributes.isTransactional {
            throw Rejection(.invalidRecord, "transactional batches are not supported by this broker")
        }
        if header.attributes.compression == .zstd && produceVersion < 7 {
            throw Rejection(.unsupportedCompressionType, "zstd needs Produce v7 or later")
        }
    }

    private static func checkRecords(
        _ records: ByteBuffer, header: RecordBatchHeader, requireKeys: Bool, maximumDecompressedBytes: Int
    ) throws(Rejection) {
        do throws(FormatError) {
            let batch = try RecordBatch(validating: records, verifyChecksum: false)
            if header.attributes.compression == CompressionType.none {
                try batch.validateRecordStructure(requireKeys: requireKeys)
                return
            }
            for (index, record) in try batch.records(maximumDecompressedBytes: maximumDecompressedBytes).enumerated() {
                guard record.offsetDelta == Int32(index) else {
                    throw FormatError(.invalidRecord, "record \(index) has offset delta \(record.offsetDelta)")
                }
                if requireKeys && record.key == nil {
                    throw FormatError(.invalidRecord, "a compacted topic does not accept records without a key")
                }
            }
        } catch {
            throw Rejection(error.code == .compressionFailure ? .corruptMessage : .invalidRecord, error.description)
        }
    }
}
