import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RillProtocol

/// The client's view of a cluster: one connection per broker (opened on demand), the bootstrap
/// list, and the metadata cache. Control plane, so an actor; the data path reads the metadata
/// through `metadataSnapshot` without awaiting it.
public actor KafkaCluster {
    public let configuration: ClientConfiguration
    let group: any EventLoopGroup
    /// The loop every connection of this client lives on, and tasks that prefer it.
    public nonisolated let executor: EventLoopExecutor
    private let ownsGroup: Bool
    /// Open broker connections, readable without a hop to the actor: the data path asks for
    /// one per request.
    private nonisolated let connections = NIOLockedValueBox<[Int32: BrokerConnection]>([:])
    private var connecting: [Int32: Task<BrokerConnection, any Error>] = [:]
    private var bootstrapConnection: BrokerConnection?
    private var lastRefresh: ContinuousClock.Instant?
    private var isClosed = false
    private nonisolated let snapshot = NIOLockedValueBox(ClusterMetadata())

    /// A cluster client on one loop of `group` — its connections and the tasks that prefer its
    /// `executor` — or on its own single-threaded group when none is given. A group passed in
    /// must outlive the client: close the client before shutting the group down.
    public init(configuration: ClientConfiguration, group: (any EventLoopGroup)? = nil) {
        self.configuration = configuration
        self.ownsGroup = group == nil
        let group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        executor = EventLoopExecutor(group.next())
    }

    /// The latest metadata, readable from any thread without waiting.
    public nonisolated var metadataSnapshot: ClusterMetadata { snapshot.withLockedValue { $0 } }

    // MARK: Connections

    /// The connection to broker `nodeID`, opened if needed (metadata must name the broker).
    /// An open connection is returned without waiting for the actor.
    public nonisolated func connection(to nodeID: Int32) async throws -> BrokerConnection {
        if let existing = activeConnection(to: nodeID) { return existing }
        return try await openConnection(to: nodeID)
    }

    /// The open connection to `nodeID`, if there is one.
    private nonisolated func activeConnection(to nodeID: Int32) -> BrokerConnection? {
        connections.withLockedValue { $0[nodeID] }.flatMap { $0.isActive ? $0 : nil }
    }

    private func openConnection(to nodeID: Int32) async throws -> BrokerConnection {
        try checkOpen()
        // Another caller may have opened it while this one waited for the actor.
        if let existing = activeConnection(to: nodeID) { return existing }
        if let pending = connecting[nodeID] { return try await pending.value }
        guard let broker = metadataSnapshot.brokers[nodeID] else {
            throw KafkaClientError(.connectionFailed, "no address known for broker \(nodeID)")
        }
        let task = Task { try await connect(host: broker.host, port: broker.port) }
        connecting[nodeID] = task
        defer { connecting[nodeID] = nil }
        let connection = try await task.value
        if isClosed {
            await connection.close()
            throw KafkaClientError(.closed, "the client was closed")
        }
        connections.withLockedValue { $0[nodeID] = connection }
        return connection
    }

    /// Opens a connection to `host:port` with this client's settings, on its loop. The caller
    /// owns it: only `connection(to:)` keeps the connections it opens.
    nonisolated func connect(host: String, port: Int) async throws -> BrokerConnection {
        try await BrokerConnection.connect(host: host, port: port, clientID: configuration.clientID, group: executor.eventLoop,
                                           timeout: .milliseconds(configuration.connectTimeoutMilliseconds),
                                           maximumResponseBytes: configuration.maximumResponseBytes)
    }

    /// Some live connection: an existing broker connection, else a bootstrap server.
    public func anyConnection() async throws -> BrokerConnection {
        try checkOpen()
        if let live = connections.withLockedValue({ $0.values.first(where: \.isActive) }) { return live }
        if let bootstrap = bootstrapConnection, bootstrap.isActive { return bootstrap }
        var failures: [String] = []
        for server in configuration.bootstrapServers {
            do {
                let connection = try await connect(host: server.host, port: server.port)
                bootstrapConnection = connection
                return connection
            } catch {
                failures.append("\(server.host):\(server.port): \(error)")
            }
        }
        throw KafkaClientError(.connectionFailed, "no bootstrap server reachable (\(failures.joined(separator: "; ")))")
    }

    /// Drops a connection after an error, so the next use reconnects.
    public func discard(_ connection: BrokerConnection) async {
        connections.withLockedValue { connections in
            for (nodeID, existing) in connections where existing === connection { connections[nodeID] = nil }
        }
        if bootstrapConnection === connection { bootstrapConnection = nil }
        await connection.close()
    }

    // MARK: Metadata

    /// Fetches metadata for `topics` (nil: all topics) and merges it into the cache.
    @discardableResult
    public func refreshMetadata(topics: [String]?, allowAutoTopicCreation: Bool = false) async throws -> ClusterMetadata {
        var lastError: (any Error)?
        for _ in 0..<3 {
            let connection = try await anyConnection()
            do {
                let response = try await connection.send(
                    MetadataRequest(topics: topics, allowAutoTopicCreation: allowAutoTopicCreation),
                    timeout: configuration.requestTimeout)
                let merged = snapshot.withLockedValue { metadata -> ClusterMetadata in
                    metadata.merge(response, isComplete: topics == nil)
                    return metadata
                }
                lastRefresh = .now
                return merged
            } catch {
                lastError = error
                await discard(connection)
            }
        }
        throw lastError ?? KafkaClientError(.connectionFailed, "metadata refresh failed")
    }

    /// Metadata for `topic`, fetched if unknown or older than `metadata.max.age.ms`.
    public func topicMetadata(_ topic: String, allowAutoTopicCreation: Bool = false) async throws -> ClusterMetadata.TopicInfo {
        let isStale = lastRefresh.map { ContinuousClock.now - $0 > .milliseconds(configuration.metadataMaximumAgeMilliseconds) } ?? true
        if !isStale, let known = metadataSnapshot.topics[topic], known.errorCode == .none, !known.partitions.isEmpty {
            return known
        }
        let metadata = try await refreshMetadata(topics: [topic], allowAutoTopicCreation: allowAutoTopicCreation)
        guard let info = metadata.topics[topic] else {
            throw KafkaClientError(.unknownTopicOrPartition, "topic '\(topic)' is not in the metadata")
        }
        return info
    }

    // MARK: Lifecycle

    private func checkOpen() throws {
        if isClosed { throw KafkaClientError(.closed, "the client was closed") }
    }

    public func close() async {
        isClosed = true
        let open = connections.withLockedValue { connections in
            defer { connections = [:] }
            return Array(connections.values)
        }
        for connection in open { await connection.close() }
        if let bootstrapConnection { await bootstrapConnection.close() }
        bootstrapConnection = nil
        // Tasks still winding down (a fetch failed by the close) resume off the loop from now
        // on: its group may shut down next, and NIO drops a job handed to a dead loop.
        executor.close()
        if ownsGroup { try? await group.shutdownGracefully() }
    }
}
