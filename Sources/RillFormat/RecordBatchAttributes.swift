/// The 16-bit attributes word of a RecordBatch v2 header.
///
/// Bits 0-2 compression codec, bit 3 timestamp type (LogAppendTime), bit 4 transactional,
/// bit 5 control batch, bit 6 "baseTimestamp holds the delete horizon" (set by compaction).
public struct RecordBatchAttributes: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int16
    @inlinable public init(rawValue: Int16) { self.rawValue = rawValue }

    @inlinable
    public init(
        compression: CompressionType = .none,
        timestampType: TimestampType = .createTime,
        isTransactional: Bool = false,
        isControl: Bool = false,
        hasDeleteHorizon: Bool = false
    ) {
        var raw = Int16(compression.rawValue)
        if timestampType == .logAppendTime { raw |= 1 << 3 }
        if isTransactional { raw |= 1 << 4 }
        if isControl { raw |= 1 << 5 }
        if hasDeleteHorizon { raw |= 1 << 6 }
        self.rawValue = raw
    }

    /// The codec id in bits 0-2 (may be an id Kafka does not define: 5, 6, 7).
    @inlinable public var compressionID: Int8 { Int8(rawValue & 0x7) }
    /// The codec, or nil for an id Kafka does not define.
    @inlinable public var compression: CompressionType? { CompressionType(rawValue: compressionID) }

    @inlinable public var timestampType: TimestampType {
        get { rawValue & (1 << 3) != 0 ? .logAppendTime : .createTime }
        set { rawValue = newValue == .logAppendTime ? rawValue | (1 << 3) : rawValue & ~(1 << 3) }
    }
    @inlinable public var isTransactional: Bool { rawValue & (1 << 4) != 0 }
    @inlinable public var isControl: Bool { rawValue & (1 << 5) != 0 }
    @inlinable public var hasDeleteHorizon: Bool {
        get { rawValue & (1 << 6) != 0 }
        set { rawValue = newValue ? rawValue | (1 << 6) : rawValue & ~(1 << 6) }
    }
}

/// Whether record timestamps were set by the producer or by the broker on append.
public enum TimestampType: Sendable, Hashable, CustomStringConvertible {
    case createTime
    case logAppendTime
    public var description: String { self == .createTime ? "CreateTime" : "LogAppendTime" }
}
