/// The group coordinator's settings, under Kafka's broker config names, with Kafka's defaults.
public struct GroupCoordinatorConfiguration: Hashable, Sendable {
    /// `group.min.session.timeout.ms`.
    public var minimumSessionTimeoutMilliseconds: Int64 = 6_000
    /// `group.max.session.timeout.ms`.
    public var maximumSessionTimeoutMilliseconds: Int64 = 1_800_000
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty group waits
    /// for more members (extended while they keep arriving, up to the rebalance timeout).
    public var initialRebalanceDelayMilliseconds: Int64 = 3_000
    /// `group.max.size`.
    public var maximumGroupSize = Int(Int32.max)
    /// How long a new member's first JoinGroup may stay parked before the member is dropped
    /// (Kafka's fixed 5 minutes).
    public var newMemberJoinTimeoutMilliseconds: Int64 = 300_000
    /// `offsets.retention.minutes`, in milliseconds: how long offsets of an empty group (or of
    /// a group that only commits) are kept.
    public var offsetsRetentionMilliseconds: Int64 = 7 * 24 * 3_600_000
    /// `offsets.retention.check.interval.ms`.
    public var offsetsRetentionCheckIntervalMilliseconds: Int64 = 600_000
    /// `offset.metadata.max.bytes`.
    public var offsetMetadataMaximumBytes = 4_096
    /// `offsets.topic.num.partitions`: partitions of `__consumer_offsets` when it is created.
    public var offsetsTopicPartitionCount: Int32 = 50
    /// `offsets.topic.segment.bytes`.
    public var offsetsTopicSegmentBytes: Int64 = 104_857_600

    public init() {}

    /// Sets one setting by its Kafka name; false when the name is not a group setting.
    mutating func set(_ name: String, _ value: String) throws -> Bool {
        switch name {
        case "group.min.session.timeout.ms": minimumSessionTimeoutMilliseconds = try BrokerConfiguration.int64(name, value, minimum: 0)
        case "group.max.session.timeout.ms": maximumSessionTimeoutMilliseconds = try BrokerConfiguration.int64(name, value, minimum: 1)
        case "group.initial.rebalance.delay.ms": initialRebalanceDelayMilliseconds = try BrokerConfiguration.int64(name, value, minimum: 0)
        case "group.max.size": maximumGroupSize = Int(try BrokerConfiguration.int32(name, value, minimum: 1))
        case "offsets.retention.minutes": offsetsRetentionMilliseconds = Int64(try BrokerConfiguration.int32(name, value, minimum: 1)) * 60_000
        case "offsets.retention.check.interval.ms": offsetsRetentionCheckIntervalMilliseconds = try BrokerConfiguration.int64(name, value, minimum: 1)
        case "offset.metadata.max.bytes": offsetMetadataMaximumBytes = Int(try BrokerConfiguration.int32(name, value, minimum: 0))
        case "offsets.topic.num.partitions": offsetsTopicPartitionCount = try BrokerConfiguration.int32(name, value, minimum: 1)
        case "offsets.topic.segment.bytes": offsetsTopicSegmentBytes = try BrokerConfiguration.int64(name, value, minimum: 14)
        case "offsets.topic.replication.factor":
            // Accepted for server.properties compatibility; a single broker keeps one copy.
            _ = try BrokerConfiguration.int32(name, value, minimum: 1)
        default: return false
        }
        guard minimumSessionTimeoutMilliseconds <= maximumSessionTimeoutMilliseconds else {
            throw ConfigurationError("group.min.session.timeout.ms (\(minimumSessionTimeoutMilliseconds)) is above group.max.session.timeout.ms (\(maximumSessionTimeoutMilliseconds))")
        }
        return true
    }
}
