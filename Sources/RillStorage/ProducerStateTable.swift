import RillFormat

/// What the log remembers about one appended batch of an idempotent producer.
public struct ProducerBatchMetadata: Hashable, Sendable {
    public var firstSequence: SequenceNumber
    public var lastSequence: SequenceNumber
    public var firstOffset: Offset
    public var lastOffset: Offset
    /// The batch's max timestamp (the append time on LogAppendTime topics).
    public var timestamp: Timestamp

    public init(firstSequence: SequenceNumber, lastSequence: SequenceNumber, firstOffset: Offset, lastOffset: Offset, timestamp: Timestamp) {
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
        self.timestamp = timestamp
    }
}

/// One producer's state on one partition: its epoch and its last few batches.
public struct ProducerStateEntry: Hashable, Sendable {
    public var producerEpoch: ProducerEpoch
    /// Oldest first, at most `ProducerStateTable.retainedBatchCount`.
    public var batches: [ProducerBatchMetadata]
    /// When the producer last appended, by the log's clock (for expiry).
    public var lastAppendTime: Timestamp

    public var lastSequence: SequenceNumber? { batches.last?.lastSequence }
}

/// Per-partition state of idempotent producers (Kafka's ProducerStateManager): checks each
/// batch's sequence against what the partition already holds, and remembers the last five
/// batches of every producer so that a retried batch is recognised as a duplicate.
///
/// Saved as snapshots `<offset>.snapshot` (state after every batch below `offset`) at segment
/// rolls and on close; recovery loads the newest usable snapshot and replays batch headers after
/// it. Unlike Kafka, a snapshot keeps all five batches per producer, so duplicate detection
/// survives a restart in full.
public struct ProducerStateTable: Sendable, Equatable {
    /// Batches remembered per producer; matches the five in-flight requests clients allow.
    public static let retainedBatchCount = 5
    static let snapshotVersion: Int16 = 1

    public private(set) var entries: [ProducerID: ProducerStateEntry] = [:]

    public init() {}

    /// The outcome of checking a batch before it is appended.
    public enum SequenceCheck: Hashable, Sendable {
        /// Append it.
        case accept
        /// The batch is already in the log: reply with its original offsets, append nothing.
        case duplicate(ProducerBatchMetadata)
        /// The sequence leaves a gap or goes back (OUT_OF_ORDER_SEQUENCE_NUMBER).
        case outOfOrderSequence(expected: SequenceNumber)
        /// The producer epoch is older than the partition has seen (INVALID_PRODUCER_EPOCH).
        case invalidProducerEpoch(current: ProducerEpoch)
    }

    /// Checks a batch against the producer's state, by Kafka's rules: an older epoch is fenced;
    /// a batch equal to one of the last five is a duplicate; a new epoch must start at sequence
    /// 0; within an epoch the sequence must continue (wrapping at Int32.max); a producer the
    /// partition knows nothing about may start anywhere.
    public func check(_ header: RecordBatchHeader) -> SequenceCheck {
        guard header.hasProducerID, let entry = entries[header.producerID] else { return .accept }
        if header.producerEpoch < entry.producerEpoch { return .invalidProducerEpoch(current: entry.producerEpoch) }
        if header.producerEpoch == entry.producerEpoch,
           let duplicate = entry.batches.first(where: { $0.firstSequence == header.baseSequence && $0.lastSequence == header.lastSequence }) {
            return .duplicate(duplicate)
        }
        if header.producerEpoch > entry.producerEpoch {
            return header.baseSequence.rawValue == 0 ? .accept : .outOfOrderSequence(expected: SequenceNumber(0))
        }
        guard let lastSequence = entry.lastSequence else { return .accept }
        let expected = lastSequence.advanced(by: 1)
        return header.baseSequence == expected ? .accept : .outOfOrderSequence(expected: expected)
    }

    /// Records an appended batch (its offsets already assigned).
    public mutating func update(with header: RecordBatchHeader, appendTime: Timestamp) {
        guard header.hasProducerID else { return }
        let metadata = ProducerBatchMetadata(
            firstSequence: header.baseSequence,
            lastSequence: header.lastSequence,
            firstOffset: header.baseOffset,
            lastOffset: header.lastOffset,
            timestamp: header.maxTimestamp
        )
        var entry = entries[header.producerID] ?? ProducerStateEntry(producerEpoch: header.producerEpoch, batches: [], lastAppendTime: appendTime)
        if header.producerEpoch > entry.producerEpoch {
            entry.producerEpoch = header.producerEpoch
            entry.batches.removeAll()
        }
        entry.batches.append(metadata)
        if entry.batches.count > Self.retainedBatchCount { entry.batches.removeFirst(entry.batches.count - Self.retainedBatchCount) }
        entry.lastAppendTime = appendTime
        entries[header.producerID] = entry
    }

    /// Forgets producers idle for longer than `expirationMilliseconds`.
    public mutating func removeExpired(now: Timestamp, expirationMilliseconds: Int64) {
        entries = entries.filter { now.milliseconds - $0.value.lastAppendTime.milliseconds <= expirationMilliseconds }
    }

    /// Drops every batch at or after `offset` (the log was truncated there).
    public mutating func truncate(from offset: Offset) {
        for (producerID, var entry) in entries {
            entry.batches.removeAll { $0.lastOffset >= offset }
            entries[producerID] = entry.batches.isEmpty ? nil : entry
        }
    }

    // MARK: Snapshots

    /// Snapshot layout (big-endian): version int16, CRC-32C uint32 of everything after it,
    /// producer count int32; per producer: id int64, epoch int16, last append time int64,
    /// batch count int32; per batch: first sequence int32, last sequence int32, first offset
    /// int64, last offset int64, timestamp int64.
    public func encodeSnapshot() -> [UInt8] {
        var body: [UInt8] = []
        body.appendBigEndian(Int32(entries.count))
        for (producerID, entry) in entries.sorted(by: { $0.key < $1.key }) {
            body.appendBigEndian(producerID.rawValue)
            body.appendBigEndian(entry.producerEpoch.rawValue)
            body.appendBigEndian(entry.lastAppendTime.milliseconds)
            body.appendBigEndian(Int32(entry.batches.count))
            for batch in entry.batches {
                body.appendBigEndian(batch.firstSequence.rawValue)
                body.appendBigEndian(batch.lastSequence.rawValue)
                body.appendBigEndian(batch.firstOffset.rawValue)
                body.appendBigEndian(batch.lastOffset.rawValue)
                body.appendBigEndian(batch.timestamp.milliseconds)
            }
        }
        var bytes: [UInt8] = []
        bytes.appendBigEndian(Self.snapshotVersion)
        bytes.appendBigEndian(CRC32C.checksum(body))
        return bytes + body
    }

    /// Decodes a snapshot, checking its version and CRC.
    public init(decodingSnapshot bytes: [UInt8], path: String) throws {
        var reader = BigEndianReader(bytes: bytes)
        guard let version = reader.read(Int16.self), version == Self.snapshotVersion, let crc = reader.read(UInt32.self) else {
            throw StorageError(.invalidCheckpoint, "unknown producer snapshot version", path: path)
        }
        guard CRC32C.checksum(bytes[6...]) == crc else {
            throw StorageError(.invalidCheckpoint, "producer snapshot fails its CRC", path: path)
        }
        guard let count = reader.read(Int32.self), count >= 0 else {
            throw StorageError(.invalidCheckpoint, "bad producer count", path: path)
        }
        for _ in 0..<count {
            guard let id = reader.read(Int64.self), let epoch = reader.read(Int16.self),
                  let lastAppend = reader.read(Int64.self), let batchCount = reader.read(Int32.self),
                  batchCount >= 0, batchCount <= Int32(Self.retainedBatchCount)
            else { throw StorageError(.invalidCheckpoint, "truncated producer entry", path: path) }
            var batches: [ProducerBatchMetadata] = []
            for _ in 0..<batchCount {
                guard let first = reader.read(Int32.self), let last = reader.read(Int32.self),
                      let firstOffset = reader.read(Int64.self), let lastOffset = reader.read(Int64.self),
                      let timestamp = reader.read(Int64.self)
                else { throw StorageError(.invalidCheckpoint, "truncated producer batch", path: path) }
                batches.append(ProducerBatchMetadata(
                    firstSequence: SequenceNumber(first), lastSequence: SequenceNumber(last),
                    firstOffset: Offset(firstOffset), lastOffset: Offset(lastOffset),
                    timestamp: Timestamp(milliseconds: timestamp)))
            }
            entries[ProducerID(id)] = ProducerStateEntry(producerEpoch: ProducerEpoch(epoch), batches: batches, lastAppendTime: Timestamp(milliseconds: lastAppend))
        }
        guard reader.isAtEnd else { throw StorageError(.invalidCheckpoint, "bytes after the last producer", path: path) }
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}

/// Reads big-endian integers from a byte array; nil when the bytes run out.
struct BigEndianReader {
    let bytes: [UInt8]
    var position = 0

    mutating func read<T: FixedWidthInteger>(_ type: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard bytes.count - position >= size else { return nil }
        defer { position += size }
        return bytes.withUnsafeBytes { $0.loadBigEndian(at: position, as: T.self) }
    }

    var isAtEnd: Bool { position == bytes.count }
}
