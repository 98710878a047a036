import CRillSystem
import RillProtocol
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RillBroker
import RillFormat
import RillStorage

/// `rill broker`: a single Kafka-compatible broker on NIO.
///
/// Start-up: identity (`meta.properties`), topics (`rill-metadata/topics.json`), a new leader
/// epoch for every partition (as an election would), removal of partition directories no topic
/// owns, recovery of every partition on its shard, then the listener. Shutdown: stop accepting,
/// close connections, sync and close every partition.
public final class BrokerServer: Sendable {
    let runtime: BrokerRuntime
    let group: MultiThreadedEventLoopGroup
    private let state = NIOLockedValueBox(State())

    struct State {
        var serverChannel: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var maintenance: [RepeatedTask] = []
        var isStopped = false
    }

    public var configuration: BrokerConfiguration { runtime.configuration }

    /// Prepares the broker: loads the data directory and recovers every partition. Throws a
    /// `ConfigurationError` or `StorageError` that says what is wrong.
    public static func start(configuration: BrokerConfiguration, logging: Bool = true) throws -> BrokerServer {
        let fileSystem: any FileSystem & Sendable = configuration.simulatesPowerLoss ? VolatileWriteFileSystem(base: POSIXFileSystem()) : POSIXFileSystem()
        let logger = BrokerLogger(isEnabled: logging)
        if configuration.simulatesPowerLoss {
            logger.log("rill.simulate.power.loss is on: writes not yet synced are lost if this process is killed")
        }
        try fileSystem.createDirectory(at: configuration.dataDirectory)
        var generator = SystemRandomNumberGenerator()
        let clusterID = try ClusterIdentity.loadOrCreate(dataDirectory: configuration.dataDirectory, nodeID: configuration.nodeID, fileSystem: fileSystem, generator: &generator)
        let registry = try TopicRegistry(dataDirectory: configuration.dataDirectory, fileSystem: fileSystem)
        try registry.bumpLeaderEpochs()
        let producerIDs = try ProducerIDAllocator(dataDirectory: configuration.dataDirectory, fileSystem: fileSystem)
        let controlPlane = try ControlPlane(configuration: configuration, registry: registry, producerIDs: producerIDs, clusterID: clusterID)

        let loopCount = configuration.eventLoopCount > 0 ? configuration.eventLoopCount : System.coreCount
        let group = MultiThreadedEventLoopGroup(numberOfThreads: loopCount)
        let shards = group.makeIterator().enumerated().map { PartitionShard(eventLoop: $0.element, index: $0.offset) }
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        threadPool.submit { _ in lowerThisThreadsPriority() }
        let runtime = BrokerRuntime(configuration: configuration, shards: shards, controlPlane: controlPlane, fileSystem: fileSystem, threadPool: threadPool, logger: logger)
        let server = BrokerServer(runtime: runtime, group: group)
        do {
            try server.removeOrphanDirectories()
            try server.openPartitions()
            try server.loadGroups()
            try server.bind()
        } catch {
            try? group.syncShutdownGracefully()
            try? threadPool.syncShutdownGracefully()
            throw error
        }
        server.scheduleMaintenance()
        return server
    }

    private init(runtime: BrokerRuntime, group: MultiThreadedEventLoopGroup) {
        self.runtime = runtime
        self.group = group
    }

    /// The address the listener is bound to (the port is the real one when 0 was asked for).
    public var localAddress: SocketAddress? { state.withLockedValue { $0.serverChannel?.localAddress } }

    /// Partition directories (`name-N`) that belong to no topic: left by a creation or deletion
    /// that a crash interrupted.
    private func removeOrphanDirectories() throws {
        let image = runtime.controlPlane.image
        let fileSystem = runtime.fileSystem
        for name in try fileSystem.contentsOfDirectory(at: runtime.configuration.dataDirectory) {
            guard let dash = name.lastIndex(of: "-"), let index = Int32(name[name.index(after: dash)...]) else { continue }
            let topic = String(name[..<dash])
            guard TopicName.problem(with: topic) == nil else { continue }
            if let known = image.topics[topic], index >= 0, index < known.partitionCount { continue }
            runtime.log("removing \(name): no topic owns it (an interrupted create or delete)")
            try fileSystem.removeDirectory(at: FilePath.join(runtime.configuration.dataDirectory, name))
        }
    }

    private func openPartitions() throws {
        let image = runtime.controlPlane.image
        var futures: [EventLoopFuture<Void>] = []
        for topic in image.topics.values {
            for index in 0..<topic.partitionCount {
                futures.append(runtime.openPartition(TopicPartition(topic.record.name, index), configuration: topic.configuration, leaderEpoch: topic.leaderEpoch(index)))
            }
        }
        let started = Date()
        try EventLoopFuture.andAllSucceed(futures, on: group.next()).wait()
        if !futures.isEmpty {
            runtime.log("opened \(futures.count) partition(s) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
        }
    }

    /// Loads the groups and committed offsets of `__consumer_offsets`, if it exists, before
    /// any client can ask for them.
    private func loadGroups() throws {
        guard runtime.controlPlane.image.topics[OffsetsTopic.name] != nil else { return }
        let loaded = runtime.loadGroups(eventLoop: group.next())
        runtime.offsetsTopicReady.withLockedValue { $0 = loaded }
        _ = try loaded.wait()
    }

    private func bind() throws {
        let runtime = self.runtime
        let state = self.state
        let limit = runtime.configuration.maximumConnectionCount
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // Large reads: produce requests carry megabytes.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 65_536, maximum: 4 << 20))
            .childChannelInitializer { channel in
                let accepted = state.withLockedValue { state -> Bool in
                    guard !state.isStopped, state.connections.count < limit else { return false }
                    state.connections[ObjectIdentifier(channel)] = channel
                    return true
                }
                guard accepted else { return channel.close() }
                channel.closeFuture.whenComplete { _ in _ = state.withLockedValue { $0.connections.removeValue(forKey: ObjectIdentifier(channel)) } }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(KafkaFrameHandler(maximumFrameBytes: runtime.configuration.maximumRequestBytes))
                    try channel.pipeline.syncOperations.addHandler(KafkaConnectionHandler(broker: runtime))
                }
            }
        let channel = try bootstrap.bind(host: runtime.configuration.listenHost, port: runtime.configuration.listenPort).wait()
        runtime.boundPort.withLockedValue { $0 = channel.localAddress?.port }
        state.withLockedValue { $0.serverChannel = channel }
    }

    /// Per shard: log and group coordinator ticks (flush.ms, checkpoints, group timeouts) every
    /// 100 ms, retention every
    /// `log.retention.check.interval.ms`, compaction every `log.cleaner.backoff.ms` on the
    /// thread pool.
    private func scheduleMaintenance() {
        let runtime = self.runtime
        var tasks: [RepeatedTask] = []
        for shard in runtime.shards {
            tasks.append(shard.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { _ in
                BrokerMaintenance.tick(shard, runtime: runtime)
            })
            let retention = TimeAmount.milliseconds(runtime.configuration.retentionCheckIntervalMilliseconds)
            tasks.append(shard.eventLoop.scheduleRepeatedTask(initialDelay: retention, delay: retention) { _ in
                BrokerMaintenance.applyRetention(shard, runtime: runtime)
            })
            let cleaner = TimeAmount.milliseconds(runtime.configuration.cleanerBackoffMilliseconds)
            tasks.append(shard.eventLoop.scheduleRepeatedTask(initialDelay: cleaner, delay: cleaner) { _ in
                BrokerMaintenance.startCleaning(shard, runtime: runtime)
            })
        }
        state.withLockedValue { $0.maintenance = tasks }
    }

    /// Stops accepting, closes every connection, syncs and closes every partition.
    public func stop() throws {
        let (server, connections, tasks) = state.withLockedValue { state in
            state.isStopped = true
            return (state.serverChannel, Array(state.connections.values), state.maintenance)
        }
        for task in tasks { task.cancel() }
        try? server?.close().wait()
        for shard in runtime.shards { try? shard.run { $0.releaseParkedGroupRequests() }.wait() }
        for connection in connections { try? connection.close().wait() }
        try runtime.closeAllPartitions(eventLoop: group.next()).wait()
        try runtime.threadPool.syncShutdownGracefully()
        try group.syncShutdownGracefully()
    }
}

/// The background work of a shard, run on its loop (compaction's heavy part on the pool).
enum BrokerMaintenance {
    static func tick(_ shard: PartitionShard, runtime: BrokerRuntime) {
        let now = BrokerRuntime.now()
        for partition in shard.allPartitions {
            do { try partition.log.tick(now: now) } catch { runtime.log("\(partition.topicPartition): \(error)") }
            let corruptions = partition.log.corruptionReports
            if corruptions.count > partition.loggedCorruptionCount {
                for corruption in corruptions[partition.loggedCorruptionCount...] {
                    runtime.log("\(partition.topicPartition): CORRUPT batch found while reading, never served: \(corruption)")
                }
                partition.loggedCorruptionCount = corruptions.count
            }
        }
        if let coordinator = shard.groupCoordinator {
            // Group timeouts (sessions, rebalances, offsets retention) at this 100 ms grain.
            shard.deliver(coordinator.tick(now: now))
            for line in coordinator.takeDiagnostics() { runtime.log(line) }
        }
    }

    static func applyRetention(_ shard: PartitionShard, runtime: BrokerRuntime) {
        let now = BrokerRuntime.now()
        for partition in shard.allPartitions {
            do {
                let removed = try partition.log.applyRetention(now: now)
                if removed > 0 { runtime.log("\(partition.topicPartition): retention removed \(removed) segment(s)") }
            } catch {
                runtime.log("\(partition.topicPartition): retention failed: \(error)")
            }
        }
    }

    /// Picks one compacted partition that has something to clean, cleans it on the pool, and
    /// swaps the result in back on the loop. One pass at a time per shard.
    static func startCleaning(_ shard: PartitionShard, runtime: BrokerRuntime) {
        guard !shard.isCleaning else { return }
        let now = BrokerRuntime.now()
        for partition in shard.allPartitions where partition.configuration.log.cleanupPolicy.contains(.compact) {
            let plan: CleaningPlan?
            do { plan = try partition.log.prepareCleaning(now: now) } catch {
                runtime.log("\(partition.topicPartition): cannot plan compaction: \(error)")
                continue
            }
            guard let plan else { continue }
            shard.isCleaning = true
            let topicPartition = partition.topicPartition
            runtime.threadPool.runIfActive(eventLoop: shard.eventLoop) { try plan.execute() }.whenComplete { result in
                shard.isCleaning = false
                switch result {
                case .success(let cleaned):
                    guard let current = shard.partition(topicPartition) else { return }
                    do {
                        try current.log.completeCleaning(cleaned)
                        let statistics = cleaned.statistics
                        if statistics.cleanedSegments > 0 {
                            runtime.log("\(topicPartition): compaction rewrote \(statistics.cleanedSegments) segment(s), removed \(statistics.recordsRemoved) record(s)")
                        }
                    } catch {
                        runtime.log("\(topicPartition): compaction failed to swap in: \(error)")
                    }
                case .failure(let error):
                    runtime.log("\(topicPartition): compaction failed: \(error)")
                }
            }
            return
        }
    }
}

/// The broker's background thread (segment deletion, compaction) runs at a lower CPU priority
/// (nice 10) than its event loops, so that its work waits for an idle core rather than taking one
/// from requests. Unlinking a 64 MiB segment on tmpfs is 7–14 ms of kernel time, run in bursts
/// of 2–4.5 ms that took one of two vCPUs from the loops at 300,000 1-KiB records a second
/// (`perf sched timehist`). At nice 10 the thread still gets about a tenth of a busy core, so
/// deletion keeps up unless the machine is saturated for long. On Linux the nice value of a
/// thread is its own; where setting it fails, the thread keeps the default.
func lowerThisThreadsPriority() {
    _ = rill_set_thread_nice(10)
}
