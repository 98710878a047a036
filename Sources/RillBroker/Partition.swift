import NIOCore
import RillFormat
import RillProtocol
import RillStorage

/// One partition as this broker leads it: its log, its leader epoch and its topic's settings,
/// with Kafka's rules for produce, fetch, list-offsets and leader-epoch queries.
///
/// Sans-IO apart from its `PartitionLog` (whose disk access goes through a `FileSystem`); time
/// arrives as `now`. Not thread-safe: the event loop that owns the partition drives it.
public final class Partition {
    public let topicPartition: TopicPartition
    public let log: PartitionLog
    public private(set) var leaderEpoch: LeaderEpoch
    public private(set) var configuration: TopicConfiguration
    /// How many of the log's corruption reports the broker has already logged.
    public var loggedCorruptionCount = 0

    public init(topicPartition: TopicPartition, log: PartitionLog, leaderEpoch: LeaderEpoch, configuration: TopicConfiguration) throws {
        self.topicPartition = topicPartition
        self.log = log
        self.leaderEpoch = leaderEpoch
        self.configuration = configuration
        try log.assignLeaderEpoch(leaderEpoch)
        // A single replica: everything appended is committed at once.
        log.updateHighWatermark(log.logEndOffset)
    }

    public var highWatermark: Offset { log.highWatermark }
    /// No transactions: the last stable offset is the high watermark.
    public var lastStableOffset: Offset { log.highWatermark }

    // MARK: Produce

    public struct ProduceResult: Hashable, Sendable {
        public var errorCode: ErrorCode
        public var errorMessage: String?
        /// The offset of the first record, or of the original append for a duplicate (-1 on error).
        public var baseOffset: Offset
        /// The broker's stamp on LogAppendTime topics, else -1.
        public var logAppendTime: Timestamp
        public var logStartOffset: Offset
        public var appendedRecords: Int

        public static func failure(_ code: ErrorCode, _ message: String?, logStartOffset: Offset) -> ProduceResult {
            ProduceResult(errorCode: code, errorMessage: message, baseOffset: .none, logAppendTime: .none, logStartOffset: logStartOffset, appendedRecords: 0)
        }
    }

    /// Validates and appends one partition's records from a Produce request.
    /// `acks` must already be one of -1, 0, 1 (checked per request, not per partition).
    public func produce(_ records: ByteBuffer?, produceVersion: Int16, acks: Int16, now: Timestamp) -> ProduceResult {
        let header: RecordBatchHeader
        do {
            header = try ProduceValidation.validate(records, produceVersion: produceVersion, configuration: configuration)
        } catch {
            return .failure(error.errorCode, error.message, logStartOffset: log.logStartOffset)
        }
        if acks == -1 && configuration.minimumInSyncReplicas > 1 {
            // One replica is in sync (this one): below min.insync.replicas, nothing is written.
            return .failure(.notEnoughReplicas, "min.insync.replicas is \(configuration.minimumInSyncReplicas), 1 replica is in sync", logStartOffset: log.logStartOffset)
        }
        switch log.producerStateTable.check(header) {
        case .accept:
            break
        case .duplicate(let original):
            // Kafka answers a retried batch with success and the offsets it got the first time.
            let appendTime = configuration.log.messageTimestampType == .logAppendTime ? original.timestamp : Timestamp.none
            return ProduceResult(errorCode: .none, errorMessage: nil, baseOffset: original.firstOffset, logAppendTime: appendTime, logStartOffset: log.logStartOffset, appendedRecords: 0)
        case .outOfOrderSequence(let expected):
            return .failure(.outOfOrderSequenceNumber, "producer \(header.producerID) sent sequence \(header.baseSequence), expected \(expected)", logStartOffset: log.logStartOffset)
        case .invalidProducerEpoch(let current):
            return .failure(.invalidProducerEpoch, "producer epoch \(header.producerEpoch) is older than \(current)", logStartOffset: log.logStartOffset)
        }
        let batch = records!
        do {
            let info = try log.append(batch, leaderEpoch: leaderEpoch, now: now, verifyChecksums: false)
            log.updateHighWatermark(log.logEndOffset)
            return ProduceResult(errorCode: .none, errorMessage: nil, baseOffset: info.firstOffset, logAppendTime: info.logAppendTime, logStartOffset: log.logStartOffset, appendedRecords: info.recordCount)
        } catch let error as StorageError {
            return .failure(Self.errorCode(for: error), error.description, logStartOffset: log.logStartOffset)
        } catch {
            return .failure(.unknownServerError, "\(error)", logStartOffset: log.logStartOffset)
        }
    }

    // MARK: Fetch

    public struct FetchResult: Sendable {
        public var errorCode: ErrorCode
        public var highWatermark: Offset
        public var lastStableOffset: Offset
        public var logStartOffset: Offset
        /// The bytes to send; nil when there is nothing (an empty records field).
        public var records: FileSlice?

        public var byteCount: Int { records?.length ?? 0 }

        public init(errorCode: ErrorCode, highWatermark: Offset, lastStableOffset: Offset, logStartOffset: Offset, records: FileSlice?) {
            self.errorCode = errorCode
            self.highWatermark = highWatermark
            self.lastStableOffset = lastStableOffset
            self.logStartOffset = logStartOffset
            self.records = records
        }

        /// A partition-level error with no data.
        public static func failure(_ errorCode: ErrorCode) -> FetchResult {
            FetchResult(errorCode: errorCode, highWatermark: .none, lastStableOffset: .none, logStartOffset: .none, records: nil)
        }
    }

    /// Reads from `offset` for a consumer: up to the high watermark, `maximumBytes` (the first
    /// batch whole when `isFirstPartition` makes it the one that must make progress, KIP-74).
    /// Fetch below v10 cannot carry zstd (`allowsZstd` false): such data is refused with
    /// UNSUPPORTED_COMPRESSION_TYPE, as Kafka does.
    public func fetch(offset: Offset, maximumBytes: Int, currentLeaderEpoch: LeaderEpoch, includeFirstBatchWhole: Bool, allowsZstd: Bool = true) -> FetchResult {
        var result = FetchResult(errorCode: .none, highWatermark: highWatermark, lastStableOffset: lastStableOffset, logStartOffset: log.logStartOffset, records: nil)
        if let error = checkLeaderEpoch(currentLeaderEpoch) {
            result.errorCode = error
            return result
        }
        do {
            let read = try log.read(from: offset, maximumBytes: maximumBytes, upperBound: highWatermark, includeFirstBatchWhole: includeFirstBatchWhole)
            if !allowsZstd, let slice = read.slice, try slice.batchHeaders().contains(where: { $0.attributes.compression == .zstd }) {
                result.errorCode = .unsupportedCompressionType
                return result
            }
            result.records = read.slice
        } catch let error as StorageError {
            result.errorCode = Self.errorCode(for: error)
        } catch {
            result.errorCode = .unknownServerError
        }
        return result
    }

    // MARK: ListOffsets

    public struct ListOffsetResult: Hashable, Sendable {
        public var errorCode: ErrorCode
        public var timestamp: Timestamp
        public var offset: Offset
        public var leaderEpoch: LeaderEpoch

        public init(errorCode: ErrorCode, timestamp: Timestamp, offset: Offset, leaderEpoch: LeaderEpoch) {
            self.errorCode = errorCode
            self.timestamp = timestamp
            self.offset = offset
            self.leaderEpoch = leaderEpoch
        }
    }

    public static let latestTimestamp = Timestamp(milliseconds: -1)
    public static let earliestTimestamp = Timestamp(milliseconds: -2)

    /// ListOffsets: -1 the high watermark (latest), -2 the log start (earliest), otherwise the
    /// first record with a timestamp at or after the target (-1/-1 when there is none).
    public func listOffset(timestamp: Timestamp, currentLeaderEpoch: LeaderEpoch) -> ListOffsetResult {
        if let error = checkLeaderEpoch(currentLeaderEpoch) {
            return ListOffsetResult(errorCode: error, timestamp: .none, offset: .none, leaderEpoch: .none)
        }
        switch timestamp {
        case Self.latestTimestamp:
            return ListOffsetResult(errorCode: .none, timestamp: .none, offset: lastStableOffset, leaderEpoch: leaderEpoch)
        case Self.earliestTimestamp:
            let epoch = log.leaderEpoch(of: log.logStartOffset) ?? leaderEpoch
            return ListOffsetResult(errorCode: .none, timestamp: .none, offset: log.logStartOffset, leaderEpoch: epoch)
        default:
            guard timestamp.milliseconds >= 0 else {
                return ListOffsetResult(errorCode: .invalidRequest, timestamp: .none, offset: .none, leaderEpoch: .none)
            }
            do {
                guard let found = try log.offset(forTimestamp: timestamp), found.offset < highWatermark else {
                    return ListOffsetResult(errorCode: .none, timestamp: .none, offset: .none, leaderEpoch: .none)
                }
                return ListOffsetResult(errorCode: .none, timestamp: found.timestamp, offset: found.offset, leaderEpoch: log.leaderEpoch(of: found.offset) ?? leaderEpoch)
            } catch let error as StorageError {
                return ListOffsetResult(errorCode: Self.errorCode(for: error), timestamp: .none, offset: .none, leaderEpoch: .none)
            } catch {
                return ListOffsetResult(errorCode: .unknownServerError, timestamp: .none, offset: .none, leaderEpoch: .none)
            }
        }
    }

    // MARK: Leader epochs

    /// KIP-279: the largest epoch at or below `requested` and where it ended.
    public func endOffset(forLeaderEpoch requested: LeaderEpoch, currentLeaderEpoch: LeaderEpoch) -> (errorCode: ErrorCode, leaderEpoch: LeaderEpoch, endOffset: Offset) {
        if let error = checkLeaderEpoch(currentLeaderEpoch) { return (error, .none, .none) }
        if requested == leaderEpoch { return (.none, leaderEpoch, log.logEndOffset) }
        guard let found = log.leaderEpochCache.endOffset(for: requested, logEndOffset: log.logEndOffset) else {
            return (.none, .none, .none)
        }
        return (.none, found.epoch, found.endOffset)
    }

    /// KIP-320 fencing: -1 means "no epoch given".
    func checkLeaderEpoch(_ current: LeaderEpoch) -> ErrorCode? {
        guard current != .none else { return nil }
        if current < leaderEpoch { return .fencedLeaderEpoch }
        if current > leaderEpoch { return .unknownLeaderEpoch }
        return nil
    }

    // MARK: DeleteRecords

    public func deleteRecords(before offset: Offset) -> (errorCode: ErrorCode, lowWatermark: Offset) {
        let target = offset == Offset(-1) ? highWatermark : offset
        guard target <= highWatermark, target >= .zero else { return (.offsetOutOfRange, .none) }
        do {
            return (.none, try log.deleteRecords(before: target))
        } catch let error as StorageError {
            return (Self.errorCode(for: error), .none)
        } catch {
            return (.unknownServerError, .none)
        }
    }

    // MARK: Errors

    static func errorCode(for error: StorageError) -> ErrorCode {
        switch error.code {
        case .offsetOutOfRange: .offsetOutOfRange
        case .batchTooLarge: .messageTooLarge
        case .invalidBatch: .corruptMessage
        default: .kafkaStorageError
        }
    }
}
