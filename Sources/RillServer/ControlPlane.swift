import NIOConcurrencyHelpers
import RillBroker
import RillFormat
import RillProtocol
import RillStorage

/// One topic as every loop sees it: the persisted record and its effective settings.
struct TopicImage: Sendable {
    var record: TopicRecord
    var configuration: TopicConfiguration
    var partitionCount: Int32 { record.partitionCount }
    func leaderEpoch(_ partition: Int32) -> LeaderEpoch { LeaderEpoch(record.leaderEpochs[Int(partition)]) }
}

/// An immutable view of the broker's topics, taken under the lock and read without it.
struct MetadataImage: Sendable {
    var topics: [String: TopicImage] = [:]
}

/// The broker's control plane: topics (create, delete), producer ids, cluster identity. Changes
/// go through a lock and are persisted before they are visible; readers take a snapshot
/// (`image`), so the produce and fetch paths never touch this lock.
///
/// `@unchecked Sendable`: every mutable property is read and written only under `lock`.
final class ControlPlane: @unchecked Sendable {
    let configuration: BrokerConfiguration
    let clusterID: String
    private let lock = NIOLock()
    private let registry: TopicRegistry
    private let producerIDs: ProducerIDAllocator
    private var current = MetadataImage()
    /// Topics being created (directories opening on the shards), not yet visible.
    private var reserved: Set<String> = []

    init(configuration: BrokerConfiguration, registry: TopicRegistry, producerIDs: ProducerIDAllocator, clusterID: String) throws {
        self.configuration = configuration
        self.registry = registry
        self.producerIDs = producerIDs
        self.clusterID = clusterID
        var image = MetadataImage()
        for record in registry.topics.values {
            image.topics[record.name] = TopicImage(record: record, configuration: try TopicConfiguration.make(defaults: configuration, overrides: record.overrides))
        }
        current = image
    }

    var image: MetadataImage { lock.withLock { current } }

    /// Claims a topic name for creation. Throws the Kafka error to answer with.
    func reserve(_ name: String, partitionCount: Int32) throws(TopicCreationError) {
        let refusal: TopicCreationError? = lock.withLock {
            if current.topics[name] != nil || reserved.contains(name) {
                return TopicCreationError(.topicAlreadyExists, "topic '\(name)' already exists")
            }
            let total = registry.partitionCount + Int(partitionCount)
            guard total <= configuration.maximumPartitionCount else {
                return TopicCreationError(.invalidPartitions, "the broker would have \(total) partitions, more than rill.max.partitions \(configuration.maximumPartitionCount)")
            }
            reserved.insert(name)
            return nil
        }
        if let refusal { throw refusal }
    }

    func releaseReservation(_ name: String) {
        lock.withLock { _ = reserved.remove(name) }
    }

    /// Persists a created topic and makes it visible.
    func commit(_ record: TopicRecord, configuration topicConfiguration: TopicConfiguration) throws {
        try lock.withLock {
            defer { reserved.remove(record.name) }
            try registry.add(record)
            current.topics[record.name] = TopicImage(record: record, configuration: topicConfiguration)
        }
    }

    /// Forgets a topic (persisted) and returns what it was.
    func remove(_ name: String) throws -> TopicImage? {
        try lock.withLock {
            guard let image = current.topics[name] else { return nil }
            try registry.remove(name)
            current.topics[name] = nil
            return image
        }
    }

    func allocateProducerID() throws -> ProducerID {
        try lock.withLock { try producerIDs.allocate() }
    }
}

struct TopicCreationError: Error {
    var errorCode: ErrorCode
    var message: String
    init(_ errorCode: ErrorCode, _ message: String) {
        self.errorCode = errorCode
        self.message = message
    }
}
