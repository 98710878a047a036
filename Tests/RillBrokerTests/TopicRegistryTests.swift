import RillBroker
import RillFormat
import RillStorage
import Testing

/// What the broker persists about itself: topics, producer ids, cluster identity.
@Suite struct TopicRegistryTests {
    let fileSystem = SimulatedFileSystem()
    let dataDirectory = "/data"

    func record(_ name: String, partitions: Int32, overrides: [String: String] = [:]) -> TopicRecord {
        var generator = SplitMix64(seed: UInt64(name.utf8.count))
        return TopicRecord(name: name, topicID: TopicRegistry.makeTopicID(using: &generator), partitionCount: partitions,
                           overrides: overrides, leaderEpochs: Array(repeating: 0, count: Int(partitions)))
    }

    @Test func aNewDataDirectoryHasNoTopics() throws {
        let registry = try TopicRegistry(dataDirectory: dataDirectory, fileSystem: fileSystem)
        #expect(registry.topics.isEmpty)
        #expect(registry.partitionCount == 0)
    }

    @Test func topicsArePersistedAndReloaded() throws {
        let registry = try TopicRegistry(dataDirectory: dataDirectory, fileSystem: fileSystem)
        let orders = record("orders", partitions: 3, overrides: ["cleanup.policy": "compact"])
        let events = record("events", partitions: 1)
        try registry.add(orders)
        try registry.add(events)
        #expect(registry.partitionCount == 4)

        let reloaded = try TopicRegistry(dataDirectory: dataDirectory, fileSystem: fileSystem)
        #expect(reloaded.topics == ["orders": orders, "events": events])
        #expect(reloaded.partitionCount == 4)
    }

    @Test func removedTopicsStayRemoved() throws {
        let registry = try TopicRegistry(dataDirectory: dataDirectory, fileSystem: fileSystem)
        try registry.add(record("orders", partitions: 1))
        try registry.add(record("events", partitions: 2))
        try registry.remove("orders")
        #expect(try TopicRegistry(dataDirectory: dataDirectory, fileSystem: fileSystem).topics.keys.sorted() == ["events"])
    }

    @Test func topicsSurviveACrashOnceAdded() throws {
        let registry = try TopicRegistry(dataDirectory: dataDirectory, fileSystem: fileSystem)
        try registry.add(record("orders", partitions: 2))
        var generator = SplitMix64(seed: 1)
        fileSystem.crash(mode: .loseAllUnsynced, using: &generator)
        #expect(try TopicRegistry(dataDirectory: dataDirectory, fileSystem: fileSystem).topics.keys.sorted() == ["orders"])
    }

    @Test func bumpingLeaderEpochsIncrementsEveryPartitionAndPersists() throws {
        let registry = try TopicRegistry(dataDirectory: dataDirectory, fileSystem: fileSystem)
        var orders = record("orders", partitions: 3)
        orders.leaderEpochs = [0, 4, 9]
        try registry.add(orders)
        try registry.add(record("events", partitions: 1))
        try registry.bumpLeaderEpochs()
        #expect(registry.topics["orders"]?.leaderEpochs == [1, 5, 10])
        #expect(registry.topics["events"]?.leaderEpochs == [1])
        try TopicRegistry(dataDirectory: dataDirectory, fileSystem: fileSystem).bumpLeaderEpochs()
        let reloaded = try TopicRegistry(dataDirectory: dataDirectory, fileSystem: fileSystem)
        #expect(reloaded.topics["orders"]?.leaderEpochs == [2, 6, 11])
        #expect(reloaded.topics["events"]?.leaderEpochs == [2])
    }

    @Test func anUnreadableRegistryIsAConfigurationError() throws {
        _ = try TopicRegistry(dataDirectory: dataDirectory, fileSystem: fileSystem)
        try AtomicFile.write(Array("not json".utf8), to: "/data/rill-metadata/topics.json", fileSystem: fileSystem)
        let error = try #require(throws: ConfigurationError.self) { try TopicRegistry(dataDirectory: dataDirectory, fileSystem: fileSystem) }
        #expect(error.message.contains("topics.json"))
    }

    @Test func topicIDsAre32HexDigitsDecidedByTheGenerator() {
        var first = SplitMix64(seed: 42)
        var again = SplitMix64(seed: 42)
        var other = SplitMix64(seed: 43)
        let id = TopicRegistry.makeTopicID(using: &first)
        #expect(id.count == 32)
        #expect(id.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(TopicRegistry.makeTopicID(using: &again) == id)
        #expect(TopicRegistry.makeTopicID(using: &other) != id)
        #expect(TopicRegistry.makeTopicID(using: &first) != id)
    }
}

/// Producer ids for idempotent producers are never handed out twice, even across restarts.
@Suite struct ProducerIDAllocatorTests {
    let fileSystem = SimulatedFileSystem()
    let dataDirectory = "/data"

    /// Opens the allocator as the broker does at start-up (after the registry made its directory).
    func openAllocator() throws -> ProducerIDAllocator {
        _ = try TopicRegistry(dataDirectory: dataDirectory, fileSystem: fileSystem)
        return try ProducerIDAllocator(dataDirectory: dataDirectory, fileSystem: fileSystem)
    }

    func allocate(_ count: Int, from allocator: ProducerIDAllocator) throws -> [Int64] {
        try (0..<count).map { _ in try allocator.allocate().rawValue }
    }

    @Test func idsAreDistinctAndIncreasingAcrossReopens() throws {
        var all: [Int64] = []
        all += try allocate(5, from: try openAllocator())
        all += try allocate(3, from: try openAllocator())
        all += try allocate(1, from: try openAllocator())
        #expect(all.count == 9)
        #expect(Set(all).count == all.count)
        #expect(all == all.sorted())
        #expect(all.allSatisfy { $0 >= 0 })
    }

    @Test func idsStayDistinctWhenABlockRunsOutAndAcrossACrash() throws {
        let count = Int(ProducerIDAllocator.blockSize) + 10
        var all = try allocate(count, from: try openAllocator())
        var generator = SplitMix64(seed: 7)
        fileSystem.crash(mode: .loseAllUnsynced, using: &generator)
        all += try allocate(count, from: try openAllocator())
        #expect(Set(all).count == all.count)
        #expect(all == all.sorted())
    }
}

/// `meta.properties`: the cluster id, created once, and the node id it belongs to.
@Suite struct ClusterIdentityTests {
    let fileSystem = SimulatedFileSystem()
    let dataDirectory = "/data"

    init() throws {
        try fileSystem.createDirectory(at: dataDirectory)
    }

    func loadOrCreate(nodeID: Int32, seed: UInt64) throws -> String {
        var generator = SplitMix64(seed: seed)
        return try ClusterIdentity.loadOrCreate(dataDirectory: dataDirectory, nodeID: nodeID, fileSystem: fileSystem, generator: &generator)
    }

    @Test func theClusterIDIsCreatedOnceAndReloaded() throws {
        let created = try loadOrCreate(nodeID: 1, seed: 1)
        #expect(created.count == 22)
        let urlSafe = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        #expect(created.allSatisfy { urlSafe.contains($0) })
        // Another generator would make another id; the stored one wins.
        #expect(try loadOrCreate(nodeID: 1, seed: 2) == created)
        let text = String(decoding: try #require(fileSystem.contents(of: "/data/meta.properties")), as: UTF8.self)
        #expect(text.contains("cluster.id=\(created)\n"))
        #expect(text.contains("node.id=1\n"))
    }

    @Test func differentSeedsMakeDifferentClusters() throws {
        let first = try loadOrCreate(nodeID: 0, seed: 1)
        let otherDirectory = SimulatedFileSystem()
        try otherDirectory.createDirectory(at: dataDirectory)
        var generator = SplitMix64(seed: 2)
        let second = try ClusterIdentity.loadOrCreate(dataDirectory: dataDirectory, nodeID: 0, fileSystem: otherDirectory, generator: &generator)
        #expect(first != second)
    }

    @Test func anotherNodeIDIsRefused() throws {
        _ = try loadOrCreate(nodeID: 1, seed: 1)
        let error = try #require(throws: ConfigurationError.self) { try loadOrCreate(nodeID: 2, seed: 1) }
        #expect(error.message.contains("node.id 1"))
        #expect(error.message.contains("node.id 2"))
    }

    @Test func aMetaPropertiesFileWithoutAClusterIDIsRefused() throws {
        try AtomicFile.write(Array("version=1\nnode.id=0\n".utf8), to: "/data/meta.properties", fileSystem: fileSystem)
        let error = try #require(throws: ConfigurationError.self) { try loadOrCreate(nodeID: 0, seed: 1) }
        #expect(error.message.contains("cluster.id"))
    }

    @Test func aKafkaWrittenMetaPropertiesIsAccepted() throws {
        let kafka = "#\n#Tue Oct 01 12:00:00 UTC 2024\nnode.id=0\ndirectory.id=abc\nversion=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\n"
        try AtomicFile.write(Array(kafka.utf8), to: "/data/meta.properties", fileSystem: fileSystem)
        #expect(try loadOrCreate(nodeID: 0, seed: 9) == "MkU3OEVBNTcwNTJENDM2Qk")
    }
}
