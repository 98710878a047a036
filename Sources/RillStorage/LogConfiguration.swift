import RillFormat

/// A partition log's settings, under Kafka's topic-level names (`segment.bytes`, `retention.ms`,
/// …) with Kafka's defaults, so a user's existing topic configs carry over unchanged.
public struct LogConfiguration: Hashable, Sendable {
    /// `segment.bytes`: roll to a new segment when the active one would exceed this.
    public var segmentBytes: Int64 = 1 << 30
    /// `segment.ms`: roll when the active segment's first record is older than this.
    public var segmentMilliseconds: Int64 = 7 * 24 * 3_600_000
    /// `index.interval.bytes`: bytes of log between two sparse index entries.
    public var indexIntervalBytes: Int64 = 4096
    /// `segment.index.bytes`: roll when a segment's offset index reaches this size.
    public var maximumIndexBytes: Int64 = 10 * 1024 * 1024
    /// `flush.messages`: sync after this many records (Int64.max = leave it to the OS).
    public var flushMessages: Int64 = .max
    /// `flush.ms`: sync when the oldest unsynced record is this old (Int64.max = never).
    public var flushMilliseconds: Int64 = .max
    /// `retention.ms`: delete segments whose newest record is older; -1 = keep forever.
    public var retentionMilliseconds: Int64 = 7 * 24 * 3_600_000
    /// `retention.bytes`: delete the oldest segments while the log is larger; -1 = no limit.
    public var retentionBytes: Int64 = -1
    /// `cleanup.policy`: delete (retention), compact, or both.
    public var cleanupPolicy: Set<CleanupPolicy> = [.delete]
    /// `delete.retention.ms`: how long compaction keeps a tombstone after first cleaning it.
    public var deleteRetentionMilliseconds: Int64 = 24 * 3_600_000
    /// `file.delete.delay.ms`: how long a segment file that retention or DeleteRecords removed
    /// may wait, renamed `.deleted`, before it is unlinked. Rill keeps up to two such log files
    /// per partition within this time to become the files of the next segments it rolls
    /// (rewriting pages the file system already holds instead of freeing and allocating them);
    /// 0 unlinks them at once.
    public var fileDeleteDelayMilliseconds: Int64 = 60_000
    /// `max.message.bytes`: the largest batch the log accepts.
    public var maximumMessageBytes: Int64 = 1_048_588
    /// `message.timestamp.type`: keep the producer's timestamps, or stamp the append time.
    public var messageTimestampType: TimestampType = .createTime
    /// `producer.id.expiration.ms` (a broker setting Kafka applies per log): forget idle producers.
    public var producerIDExpirationMilliseconds: Int64 = 24 * 3_600_000
    /// How often the recovery point checkpoint file is rewritten
    /// (`log.flush.offset.checkpoint.interval.ms`).
    public var recoveryPointCheckpointIntervalMilliseconds: Int64 = 60_000

    public init() {}

    /// Kafka's topic-level names this type understands.
    public static let topicConfigurationNames: [String] = [
        "segment.bytes", "segment.ms", "index.interval.bytes", "segment.index.bytes", "flush.messages",
        "flush.ms", "retention.ms", "retention.bytes", "cleanup.policy", "delete.retention.ms",
        "file.delete.delay.ms", "max.message.bytes", "message.timestamp.type",
    ]

    /// Sets one topic-level setting by its Kafka name. Returns false for a name this type does
    /// not know; throws `.invalidConfiguration` for a value out of range.
    @discardableResult
    public mutating func set(_ name: String, to value: String) throws -> Bool {
        switch name {
        case "segment.bytes": segmentBytes = try Self.integer(name, value, minimum: 14)
        case "segment.ms": segmentMilliseconds = try Self.integer(name, value, minimum: 1)
        case "index.interval.bytes": indexIntervalBytes = try Self.integer(name, value, minimum: 0)
        case "segment.index.bytes": maximumIndexBytes = try Self.integer(name, value, minimum: 8)
        case "flush.messages": flushMessages = try Self.integer(name, value, minimum: 1)
        case "flush.ms": flushMilliseconds = try Self.integer(name, value, minimum: 0)
        case "retention.ms": retentionMilliseconds = try Self.integer(name, value, minimum: -1)
        case "retention.bytes": retentionBytes = try Self.integer(name, value, minimum: -1)
        case "delete.retention.ms": deleteRetentionMilliseconds = try Self.integer(name, value, minimum: 0)
        case "file.delete.delay.ms": fileDeleteDelayMilliseconds = try Self.integer(name, value, minimum: 0)
        case "max.message.bytes": maximumMessageBytes = try Self.integer(name, value, minimum: 0)
        case "cleanup.policy": cleanupPolicy = try Self.cleanupPolicies(value)
        case "message.timestamp.type":
            switch value {
            case "CreateTime": messageTimestampType = .createTime
            case "LogAppendTime": messageTimestampType = .logAppendTime
            default: throw StorageError(.invalidConfiguration, "message.timestamp.type must be CreateTime or LogAppendTime, not '\(value)'")
            }
        default: return false
        }
        return true
    }

    /// The current value of a topic-level setting, as Kafka would print it.
    public func value(of name: String) -> String? {
        switch name {
        case "segment.bytes": String(segmentBytes)
        case "segment.ms": String(segmentMilliseconds)
        case "index.interval.bytes": String(indexIntervalBytes)
        case "segment.index.bytes": String(maximumIndexBytes)
        case "flush.messages": String(flushMessages)
        case "flush.ms": String(flushMilliseconds)
        case "retention.ms": String(retentionMilliseconds)
        case "retention.bytes": String(retentionBytes)
        case "delete.retention.ms": String(deleteRetentionMilliseconds)
        case "file.delete.delay.ms": String(fileDeleteDelayMilliseconds)
        case "max.message.bytes": String(maximumMessageBytes)
        case "cleanup.policy": CleanupPolicy.allCases.filter { cleanupPolicy.contains($0) }.map(\.rawValue).joined(separator: ",")
        case "message.timestamp.type": messageTimestampType.description
        default: nil
        }
    }

    static func integer(_ name: String, _ value: String, minimum: Int64) throws -> Int64 {
        guard let parsed = Int64(value.trimmingCharactersInSet()) else {
            throw StorageError(.invalidConfiguration, "\(name) must be an integer, not '\(value)'")
        }
        guard parsed >= minimum else {
            throw StorageError(.invalidConfiguration, "\(name) must be at least \(minimum), not \(parsed)")
        }
        return parsed
    }

    static func cleanupPolicies(_ value: String) throws -> Set<CleanupPolicy> {
        var result = Set<CleanupPolicy>()
        for part in value.split(separator: ",") {
            guard let policy = CleanupPolicy(rawValue: String(part).trimmingCharactersInSet()) else {
                throw StorageError(.invalidConfiguration, "cleanup.policy must be delete, compact or both, not '\(value)'")
            }
            result.insert(policy)
        }
        guard !result.isEmpty else { throw StorageError(.invalidConfiguration, "cleanup.policy is empty") }
        return result
    }

    /// Checks relations between settings.
    public func validate() throws {
        guard segmentBytes >= 14 else { throw StorageError(.invalidConfiguration, "segment.bytes must be at least 14") }
        guard maximumIndexBytes >= 8 else { throw StorageError(.invalidConfiguration, "segment.index.bytes must be at least 8") }
    }
}

/// `cleanup.policy` values.
public enum CleanupPolicy: String, CaseIterable, Hashable, Sendable {
    case delete
    case compact
}

extension String {
    func trimmingCharactersInSet() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
