import RillProtocol
import NIOCore
import RillBroker
import RillFormat
import RillStorage

extension BrokerRuntime {
    /// Runs `body` for each item on the shard that owns its partition — one task per shard,
    /// items of a shard in request order — and returns the results in item order.
    /// `body` gets nil for a partition this broker does not have.
    func onPartitions<Item: Sendable, Result: Sendable>(
        _ items: [(topicPartition: TopicPartition, item: Item)],
        eventLoop: any EventLoop,
        _ body: @escaping @Sendable (Partition?, Item, PartitionShard) -> Result
    ) -> EventLoopFuture<[Result]> {
        let shardIndices = items.map { ShardPlacement.index(of: $0.topicPartition, shardCount: shards.count) }
        // One shard (a request for one partition, the usual case at low linger): no grouping,
        // no joining of futures.
        if let first = shardIndices.first, shardIndices.allSatisfy({ $0 == first }) {
            return shards[first].run { shard in
                items.map { body(shard.partition($0.topicPartition), $0.item, shard) }
            }.hop(to: eventLoop)
        }
        var byShard: [Int: [(index: Int, topicPartition: TopicPartition, item: Item)]] = [:]
        for (index, entry) in items.enumerated() {
            byShard[shardIndices[index], default: []].append((index, entry.topicPartition, entry.item))
        }
        let futures = byShard.map { shardIndex, entries in
            shards[shardIndex].run { shard in
                entries.map { entry in (entry.index, body(shard.partition(entry.topicPartition), entry.item, shard)) }
            }
        }
        let count = items.count
        return EventLoopFuture.whenAllSucceed(futures, on: eventLoop).map { groups in
            var ordered = [Result?](repeating: nil, count: count)
            for (index, result) in groups.joined() { ordered[index] = result }
            return ordered.map { $0! }
        }
    }

    // MARK: Opening and closing partitions

    /// Opens (recovering) a partition's log on its shard and registers it there.
    func openPartition(_ topicPartition: TopicPartition, configuration topicConfiguration: TopicConfiguration, leaderEpoch: LeaderEpoch) -> EventLoopFuture<Void> {
        let directory = partitionDirectory(topicPartition)
        let fileSystem = self.fileSystem
        return shard(for: topicPartition).run { shard in
            let log = try PartitionLog.open(directory: directory, fileSystem: fileSystem, configuration: topicConfiguration.log, now: Self.now())
            log.deferredFileRemoval = { [threadPool = self.threadPool, logger = self.logger] paths in
                threadPool.submit { _ in
                    for path in paths {
                        do { try fileSystem.removeFile(at: path) } catch { logger.log("\(topicPartition): cannot remove \(path): \(error)") }
                    }
                }
            }
            let partition = try Partition(topicPartition: topicPartition, log: log, leaderEpoch: leaderEpoch, configuration: topicConfiguration)
            partition.loggedCorruptionCount = log.recoveryReport.corruptions.count
            shard.add(partition)
            return log.recoveryReport
        }.map { report in
            if let truncation = report.truncation {
                self.log("\(topicPartition): recovery cut \(truncation.truncatedBytes) bytes at \(truncation.path):\(truncation.position) (\(truncation.reason))")
            }
            for corruption in report.corruptions {
                self.log("\(topicPartition): CORRUPT batch below the recovery point, never served: \(corruption)")
            }
        }
    }

    /// Removes a partition from its shard and deletes its directory.
    func deletePartition(_ topicPartition: TopicPartition) -> EventLoopFuture<Void> {
        shard(for: topicPartition).run { shard in
            if let partition = shard.remove(topicPartition) { try partition.log.delete() }
        }
    }

    /// Syncs and closes every partition of every shard (clean shutdown).
    func closeAllPartitions(eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let futures = shards.map { shard in
            shard.run { shard in
                var failures: [String] = []
                for partition in shard.allPartitions {
                    do { try partition.log.close() } catch { failures.append("\(partition.topicPartition): \(error)") }
                    shard.remove(partition.topicPartition)
                }
                return failures
            }
        }
        return EventLoopFuture.whenAllSucceed(futures, on: eventLoop).map { results in
            for failure in results.joined() { self.log("close failed: \(failure)") }
        }
    }
}
