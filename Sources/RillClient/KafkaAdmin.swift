import RillFormat
import RillProtocol

/// Kafka's admin operations: create, delete, list and describe topics; describe configs;
/// list offsets (earliest, latest, by time); delete records.
public final class KafkaAdmin: Sendable {
    public let cluster: KafkaCluster
    private let ownsCluster: Bool

    public init(configuration: ClientConfiguration) {
        cluster = KafkaCluster(configuration: configuration)
        ownsCluster = true
    }

    public init(cluster: KafkaCluster) {
        self.cluster = cluster
        ownsCluster = false
    }

    public func close() async {
        if ownsCluster { await cluster.close() }
    }

    var timeout: Int32 { Int32(clamping: cluster.configuration.requestTimeoutMilliseconds) }

    // MARK: Topics

    public struct NewTopic: Sendable {
        public var name: String
        /// -1: the broker's `num.partitions`.
        public var partitionCount: Int32
        /// -1: the broker's `default.replication.factor`.
        public var replicationFactor: Int16
        public var configs: [String: String]

        public init(name: String, partitionCount: Int32 = -1, replicationFactor: Int16 = -1, configs: [String: String] = [:]) {
            self.name = name
            self.partitionCount = partitionCount
            self.replicationFactor = replicationFactor
            self.configs = configs
        }
    }

    /// Creates topics; the result per name is nil on success or the broker's error.
    public func createTopics(_ topics: [NewTopic], validateOnly: Bool = false) async throws -> [String: KafkaClientError?] {
        let connection = try await cluster.anyConnection()
        let request = CreateTopicsRequest(
            topics: topics.map { topic in
                .init(name: topic.name, partitionCount: topic.partitionCount, replicationFactor: topic.replicationFactor,
                      configs: topic.configs.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value) })
            },
            timeoutMilliseconds: timeout, validateOnly: validateOnly)
        let response = try await connection.send(request, timeout: cluster.configuration.requestTimeout)
        return Dictionary(response.topics.map { topic in
            (topic.name, topic.errorCode == .none ? nil : KafkaClientError.broker(topic.errorCode, topic.errorMessage ?? "cannot create \(topic.name)"))
        }, uniquingKeysWith: { $1 })
    }

    /// Creates one topic, throwing the broker's error.
    public func createTopic(_ topic: NewTopic) async throws {
        if let error = try await createTopics([topic])[topic.name] ?? nil { throw error }
    }

    public func deleteTopics(_ names: [String]) async throws -> [String: KafkaClientError?] {
        let connection = try await cluster.anyConnection()
        let response = try await connection.send(DeleteTopicsRequest(topicNames: names, timeoutMilliseconds: timeout), timeout: cluster.configuration.requestTimeout)
        return Dictionary(response.results.map { result in
            (result.name, result.errorCode == .none ? nil : KafkaClientError.broker(result.errorCode, "cannot delete \(result.name)"))
        }, uniquingKeysWith: { $1 })
    }

    public func listTopics() async throws -> [String] {
        try await cluster.refreshMetadata(topics: nil).topics.keys.sorted()
    }

    public struct TopicDescription: Sendable {
        public var name: String
        public var partitions: [ClusterMetadata.PartitionInfo]
    }

    public func describeTopics(_ names: [String]) async throws -> [TopicDescription] {
        let metadata = try await cluster.refreshMetadata(topics: names)
        return try names.map { name in
            guard let topic = metadata.topics[name], topic.errorCode == .none else {
                throw KafkaClientError.broker(metadata.topics[name]?.errorCode ?? .unknownTopicOrPartition, "cannot describe \(name)")
            }
            return TopicDescription(name: name, partitions: topic.partitions)
        }
    }

    // MARK: Configs

    public struct ConfigEntry: Hashable, Sendable {
        public var name: String
        public var value: String?
        public var source: ConfigSource
        public var isDefault: Bool
        public var isReadOnly: Bool
    }

    public func describeTopicConfigs(_ topic: String) async throws -> [String: ConfigEntry] {
        try await describeConfigs(type: .topic, name: topic)
    }

    public func describeConfigs(type: ConfigResourceType, name: String) async throws -> [String: ConfigEntry] {
        let connection = try await cluster.anyConnection()
        let response = try await connection.send(
            DescribeConfigsRequest(resources: [.init(resourceType: type, resourceName: name)]), timeout: cluster.configuration.requestTimeout)
        guard let result = response.results.first else { throw KafkaClientError(.protocolViolation, "empty DescribeConfigs response") }
        guard result.errorCode == .none else { throw KafkaClientError.broker(result.errorCode, result.errorMessage ?? "cannot describe configs of \(name)") }
        // v0 has an isDefault flag; later versions say it with the source.
        return Dictionary(result.configs.map { config in
            let isDefault = config.source == .notGiven ? config.isDefault : config.source == .defaultConfig
            return (config.name, ConfigEntry(name: config.name, value: config.value, source: config.source, isDefault: isDefault, isReadOnly: config.isReadOnly))
        }, uniquingKeysWith: { $1 })
    }

    // MARK: Offsets

    /// Which offset ListOffsets should find.
    public enum OffsetSpecification: Hashable, Sendable {
        case earliest
        case latest
        /// The first record with a timestamp at or after this (milliseconds since the epoch).
        case timestamp(Int64)

        var wireTimestamp: Timestamp {
            switch self {
            case .earliest: ListOffsetsRequest.earliestTimestamp
            case .latest: ListOffsetsRequest.latestTimestamp
            case .timestamp(let milliseconds): Timestamp(milliseconds: milliseconds)
            }
        }
    }

    public struct ListedOffset: Hashable, Sendable {
        /// -1 when no record matches a timestamp query.
        public var offset: Offset
        public var timestamp: Timestamp
        public var leaderEpoch: LeaderEpoch
    }

    /// ListOffsets, sent to each partition's leader.
    public func listOffsets(_ queries: [TopicPartition: OffsetSpecification], isolationLevel: IsolationLevel = .readUncommitted) async throws -> [TopicPartition: ListedOffset] {
        let byLeader = try await groupByLeader(Array(queries.keys))
        var results: [TopicPartition: ListedOffset] = [:]
        for (leader, partitions) in byLeader {
            let connection = try await cluster.connection(to: leader)
            let topics = Dictionary(grouping: partitions, by: \.topic).map { topic, members in
                ListOffsetsRequest.Topic(name: topic, partitions: members.map { .init(partition: $0.partition, timestamp: queries[$0]!.wireTimestamp) })
            }
            let response = try await connection.send(ListOffsetsRequest(isolationLevel: isolationLevel, topics: topics), timeout: cluster.configuration.requestTimeout)
            for topic in response.topics {
                for partition in topic.partitions {
                    guard partition.errorCode == .none else {
                        throw KafkaClientError.broker(partition.errorCode, "ListOffsets for \(topic.name)-\(partition.partition)")
                    }
                    let offset = partition.oldStyleOffsets.first ?? partition.offset
                    results[TopicPartition(topic.name, partition.partition)] = ListedOffset(offset: offset, timestamp: partition.timestamp, leaderEpoch: partition.leaderEpoch)
                }
            }
        }
        return results
    }

    /// DeleteRecords: moves each partition's log start up to the given offset; returns the new
    /// low watermarks.
    public func deleteRecords(_ targets: [TopicPartition: Offset]) async throws -> [TopicPartition: Offset] {
        let byLeader = try await groupByLeader(Array(targets.keys))
        var results: [TopicPartition: Offset] = [:]
        for (leader, partitions) in byLeader {
            let connection = try await cluster.connection(to: leader)
            let topics = Dictionary(grouping: partitions, by: \.topic).map { topic, members in
                DeleteRecordsRequest.Topic(name: topic, partitions: members.map { .init(partition: $0.partition, offset: targets[$0]!) })
            }
            let response = try await connection.send(DeleteRecordsRequest(topics: topics, timeoutMilliseconds: timeout), timeout: cluster.configuration.requestTimeout)
            for topic in response.topics {
                for partition in topic.partitions {
                    guard partition.errorCode == .none else {
                        throw KafkaClientError.broker(partition.errorCode, "DeleteRecords for \(topic.name)-\(partition.partition)")
                    }
                    results[TopicPartition(topic.name, partition.partition)] = partition.lowWatermark
                }
            }
        }
        return results
    }

    func groupByLeader(_ partitions: [TopicPartition]) async throws -> [Int32: [TopicPartition]] {
        let metadata = try await cluster.refreshMetadata(topics: Array(Set(partitions.map(\.topic))))
        var byLeader: [Int32: [TopicPartition]] = [:]
        for partition in partitions {
            guard let leader = metadata.leader(of: partition.topic, partition: partition.partition) else {
                throw KafkaClientError(.unknownTopicOrPartition, "no leader known for \(partition)")
            }
            byLeader[leader, default: []].append(partition)
        }
        return byLeader
    }
}
