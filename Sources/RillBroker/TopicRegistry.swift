import Foundation
import RillFormat
import RillStorage

/// What the broker remembers about one topic across restarts.
public struct TopicRecord: Codable, Hashable, Sendable {
    public var name: String
    /// A UUID (Kafka's topic id), as 32 hex digits.
    public var topicID: String
    public var partitionCount: Int32
    /// Topic-level configs set at creation, by Kafka name.
    public var overrides: [String: String]
    /// Each partition's current leader epoch.
    public var leaderEpochs: [Int32]

    public init(name: String, topicID: String, partitionCount: Int32, overrides: [String: String], leaderEpochs: [Int32]) {
        self.name = name
        self.topicID = topicID
        self.partitionCount = partitionCount
        self.overrides = overrides
        self.leaderEpochs = leaderEpochs
    }
}

/// The broker's topics: names, partition counts, configs and leader epochs, persisted as
/// `rill-metadata/topics.json` in the data directory (written atomically). The single broker's
/// stand-in for KRaft's metadata log; the cluster phase replaces the persistence, not the shape.
///
/// Control plane: not thread-safe; the server keeps it behind a lock.
public final class TopicRegistry {
    public static let directoryName = "rill-metadata"
    static let fileName = "topics.json"

    let fileSystem: any FileSystem
    let path: String
    public private(set) var topics: [String: TopicRecord] = [:]

    /// Loads the registry from `dataDirectory` (empty when there is none yet).
    public init(dataDirectory: String, fileSystem: any FileSystem) throws {
        self.fileSystem = fileSystem
        let directory = FilePath.join(dataDirectory, Self.directoryName)
        try fileSystem.createDirectory(at: directory)
        path = FilePath.join(directory, Self.fileName)
        if let bytes = try AtomicFile.read(path, fileSystem: fileSystem) {
            do {
                let records = try JSONDecoder().decode([TopicRecord].self, from: Data(bytes))
                topics = Dictionary(records.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            } catch {
                throw ConfigurationError("\(path) cannot be read: \(error)")
            }
        }
    }

    public var partitionCount: Int { topics.values.reduce(0) { $0 + Int($1.partitionCount) } }

    /// Adds a topic and persists the registry.
    public func add(_ record: TopicRecord) throws {
        precondition(topics[record.name] == nil, "topic \(record.name) exists")
        topics[record.name] = record
        try save()
    }

    public func remove(_ name: String) throws {
        topics[name] = nil
        try save()
    }

    /// A new leader epoch for every partition: done once at start-up, as an election would.
    public func bumpLeaderEpochs() throws {
        for name in topics.keys { topics[name]!.leaderEpochs = topics[name]!.leaderEpochs.map { $0 + 1 } }
        try save()
    }

    func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let data = try encoder.encode(topics.values.sorted { $0.name < $1.name })
        try AtomicFile.write(Array(data), to: path, fileSystem: fileSystem)
    }

    /// A random topic id from `generator` (the core takes randomness as an argument).
    public static func makeTopicID<Generator: RandomNumberGenerator>(using generator: inout Generator) -> String {
        (0..<16).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16).leftPadded(2) }.joined()
    }
}

/// `meta.properties` in the data directory, as Kafka writes it: the cluster id and this node's
/// id. A data directory written by another node id is refused at start-up.
public enum ClusterIdentity {
    public static func loadOrCreate<Generator: RandomNumberGenerator>(
        dataDirectory: String, nodeID: Int32, fileSystem: any FileSystem, generator: inout Generator
    ) throws -> String {
        let path = FilePath.join(dataDirectory, "meta.properties")
        if let bytes = try AtomicFile.read(path, fileSystem: fileSystem) {
            let properties = try JavaProperties.parse(String(decoding: bytes, as: UTF8.self))
            let values = Dictionary(properties.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            guard let clusterID = values["cluster.id"], !clusterID.isEmpty else {
                throw ConfigurationError("\(path) has no cluster.id")
            }
            if let stored = values["node.id"], stored != String(nodeID) {
                throw ConfigurationError("\(path) belongs to node.id \(stored), but this broker is node.id \(nodeID)")
            }
            return clusterID
        }
        // 16 random bytes in URL-safe base64 without padding: Kafka's 22-character cluster ids.
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let clusterID = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let text = "#Written by rill broker\nversion=1\ncluster.id=\(clusterID)\nnode.id=\(nodeID)\n"
        try AtomicFile.write(Array(text.utf8), to: path, fileSystem: fileSystem)
        return clusterID
    }
}

/// Hands out producer ids for idempotent producers, never the same one twice, even across
/// restarts: ids come in blocks whose end is persisted before any id of the block is used
/// (KRaft's AllocateProducerIds does the same across a cluster).
public final class ProducerIDAllocator {
    public static let blockSize: Int64 = 1_000
    let fileSystem: any FileSystem
    let path: String
    private var next: Int64
    private var blockEnd: Int64

    public init(dataDirectory: String, fileSystem: any FileSystem) throws {
        self.fileSystem = fileSystem
        let directory = FilePath.join(dataDirectory, TopicRegistry.directoryName)
        try fileSystem.createDirectory(at: directory)
        path = FilePath.join(directory, "producer-id-block")
        var end: Int64 = 0
        if let stored = try CheckpointFile.read(from: path, fieldsPerEntry: 1, fileSystem: fileSystem) {
            // Starting again at 0 would hand out ids partitions still remember: refuse instead.
            guard stored.count == 1, let value = Int64(stored[0][0]), value >= 0 else {
                throw ConfigurationError("\(path) does not hold a producer id; restore it or remove it with every partition's data")
            }
            end = value
        }
        next = end
        blockEnd = end
    }

    public func allocate() throws -> ProducerID {
        if next >= blockEnd {
            let newEnd = blockEnd + Self.blockSize
            try CheckpointFile.write([["\(newEnd)"]], to: path, fileSystem: fileSystem)
            blockEnd = newEnd
        }
        defer { next += 1 }
        return ProducerID(next)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
