import RillProtocol

/// Consumer settings under Kafka's names and defaults.
public struct ConsumerConfiguration: Sendable {
    public enum OffsetReset: String, Sendable {
        case earliest
        case latest
        /// Fail instead of jumping.
        case none
    }

    public var client: ClientConfiguration
    /// `group.id`: for committed offsets and (with subscribe) group membership.
    public var groupID: String?
    /// `auto.offset.reset`: where to start without a position, or after one fell out of range.
    public var autoOffsetReset: OffsetReset = .latest
    /// `fetch.min.bytes`.
    public var fetchMinimumBytes: Int32 = 1
    /// `fetch.max.wait.ms`.
    public var fetchMaximumWaitMilliseconds: Int32 = 500
    /// `max.partition.fetch.bytes`.
    public var maximumPartitionFetchBytes: Int32 = 1_048_576
    /// `fetch.max.bytes`.
    public var fetchMaximumBytes: Int32 = 52_428_800
    /// `isolation.level`.
    public var isolationLevel: IsolationLevel = .readUncommitted
    /// `max.poll.records`: the most records one `poll` returns.
    public var maximumPollRecords = 500
    /// `check.crcs`: verify each batch's CRC-32C.
    public var checksRecordChecksums = true
    /// `enable.auto.commit`: with a group id, commit the positions of what earlier polls
    /// returned every `auto.commit.interval.ms` (and before partitions are revoked, and on close).
    public var enablesAutoCommit = true
    /// `auto.commit.interval.ms`.
    public var autoCommitIntervalMilliseconds: Int64 = 5_000
    /// `session.timeout.ms`: how long the coordinator waits for a heartbeat before dropping
    /// the member.
    public var sessionTimeoutMilliseconds: Int32 = 45_000
    /// `heartbeat.interval.ms`.
    public var heartbeatIntervalMilliseconds: Int64 = 3_000
    /// `max.poll.interval.ms`: a member that does not poll for this long leaves the group; also
    /// its rebalance timeout.
    public var maximumPollIntervalMilliseconds: Int32 = 300_000
    /// `group.instance.id`: a static member (KIP-345).
    public var groupInstanceID: String?
    /// `partition.assignment.strategy`, in order of preference (Java's default).
    public var assignors: [any PartitionAssignor] = [RangeAssignor(), CooperativeStickyAssignor()]
    /// `exclude.internal.topics`: pattern subscriptions never match `__consumer_offsets`.
    public var excludesInternalTopics = true

    public init(bootstrapServers: [(host: String, port: Int)]) {
        client = ClientConfiguration(bootstrapServers: bootstrapServers)
    }

    /// From Kafka consumer properties; unknown names are an error.
    public init(properties: [String: String]) throws {
        client = try ClientConfiguration(properties: properties)
        for (name, value) in properties.sorted(by: { $0.key < $1.key }) where try !client.set(name, value) {
            try set(name, value)
        }
    }

    public mutating func set(_ name: String, _ value: String) throws {
        switch name {
        case "group.id": groupID = value.isEmpty ? nil : value
        case "auto.offset.reset":
            switch value {
            case "earliest", "smallest", "beginning": autoOffsetReset = .earliest
            case "latest", "largest", "end": autoOffsetReset = .latest
            case "none", "error": autoOffsetReset = .none
            default: throw KafkaClientError(.invalidConfiguration, "auto.offset.reset must be earliest, latest or none, not '\(value)'")
            }
        case "fetch.min.bytes": fetchMinimumBytes = Int32(try PropertyParser.integer(name, value, minimum: 0, maximum: Int64(Int32.max)))
        case "fetch.max.wait.ms": fetchMaximumWaitMilliseconds = Int32(try PropertyParser.integer(name, value, minimum: 0, maximum: Int64(Int32.max)))
        case "max.partition.fetch.bytes": maximumPartitionFetchBytes = Int32(try PropertyParser.integer(name, value, minimum: 1, maximum: Int64(Int32.max)))
        case "fetch.max.bytes": fetchMaximumBytes = Int32(try PropertyParser.integer(name, value, minimum: 1, maximum: Int64(Int32.max)))
        case "isolation.level":
            switch value {
            case "read_uncommitted": isolationLevel = .readUncommitted
            case "read_committed": isolationLevel = .readCommitted
            default: throw KafkaClientError(.invalidConfiguration, "isolation.level must be read_uncommitted or read_committed, not '\(value)'")
            }
        case "max.poll.records": maximumPollRecords = Int(try PropertyParser.integer(name, value, minimum: 1))
        case "check.crcs": checksRecordChecksums = try PropertyParser.boolean(name, value)
        case "enable.auto.commit": enablesAutoCommit = try PropertyParser.boolean(name, value)
        case "auto.commit.interval.ms": autoCommitIntervalMilliseconds = try PropertyParser.integer(name, value, minimum: 0)
        case "session.timeout.ms": sessionTimeoutMilliseconds = Int32(try PropertyParser.integer(name, value, minimum: 1, maximum: Int64(Int32.max)))
        case "heartbeat.interval.ms": heartbeatIntervalMilliseconds = try PropertyParser.integer(name, value, minimum: 1)
        case "max.poll.interval.ms": maximumPollIntervalMilliseconds = Int32(try PropertyParser.integer(name, value, minimum: 1, maximum: Int64(Int32.max)))
        case "group.instance.id": groupInstanceID = value.isEmpty ? nil : value
        case "exclude.internal.topics": excludesInternalTopics = try PropertyParser.boolean(name, value)
        case "partition.assignment.strategy":
            let names = value.split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
            let chosen = try names.map { name -> any PartitionAssignor in
                guard let assignor = PartitionAssignors.named(name) else {
                    throw KafkaClientError(.invalidConfiguration, "partition.assignment.strategy '\(name)' is not one of range, roundrobin, cooperative-sticky")
                }
                return assignor
            }
            guard !chosen.isEmpty else { throw KafkaClientError(.invalidConfiguration, "partition.assignment.strategy is empty") }
            assignors = chosen
        case "key.deserializer", "value.deserializer":
            break  // Java deserializers do not apply: records carry bytes.
        default:
            throw KafkaClientError(.invalidConfiguration, "unknown consumer property '\(name)'")
        }
    }
}
