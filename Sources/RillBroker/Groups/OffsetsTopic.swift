import NIOCore
import RillFormat
import RillProtocol
import RillStorage

/// The internal topic `__consumer_offsets`: its name, its settings, and the translation between
/// its partitions' logs and group records.
public enum OffsetsTopic {
    public static let name = "__consumer_offsets"

    /// The topic configs `__consumer_offsets` is created with: compacted, so the latest record
    /// per group and partition survives, never deleted by time or size, with segments of
    /// `offsets.topic.segment.bytes`.
    public static func topicConfigs(broker: BrokerConfiguration) -> [String: String] {
        [
            "cleanup.policy": "compact",
            "segment.bytes": String(broker.groups.offsetsTopicSegmentBytes),
            "retention.ms": "-1",
            "retention.bytes": "-1",
        ]
    }

    /// One uncompressed batch holding `records`, stamped `now`.
    public static func batch(_ records: [GroupStoreRecord], now: Timestamp) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(initialCapacity: 256)
        for record in records { builder.append(key: record.key, value: record.value, timestamp: now) }
        return try builder.build()
    }

    /// Every record's key and value in a partition's log, in offset order.
    public static func keysAndValues(of log: PartitionLog) throws -> [(key: ByteBuffer?, value: ByteBuffer?)] {
        var pairs: [(key: ByteBuffer?, value: ByteBuffer?)] = []
        var next = log.logStartOffset
        while next < log.logEndOffset {
            let batches = try log.readBatches(from: next, maximumBytes: 1 << 20)
            guard let last = batches.last else { break }
            for batch in batches {
                try batch.forEachRecord { record in
                    if batch.header.baseOffset + Int64(record.offsetDelta) >= next { pairs.append((record.key, record.value)) }
                }
            }
            next = last.header.nextOffset
        }
        return pairs
    }
}

/// Writes group records into the `__consumer_offsets` partitions that `partition(_:)` finds,
/// through the same validation and append path as a produce with acks=all.
public final class PartitionGroupStore: GroupRecordStore {
    private let lookup: (Int32) -> Partition?
    private let appended: (Partition) -> Void

    /// `appended` runs after each successful append (the shell wakes waiting fetches).
    public init(partition lookup: @escaping (Int32) -> Partition?, appended: @escaping (Partition) -> Void = { _ in }) {
        self.lookup = lookup
        self.appended = appended
    }

    public func append(_ records: [GroupStoreRecord], partition index: Int32, now: Timestamp) throws(GroupStoreFailure) {
        guard let partition = lookup(index) else {
            throw GroupStoreFailure(.notLeaderOrFollower, "\(OffsetsTopic.name)-\(index) is not open on this broker")
        }
        let batch: ByteBuffer
        do {
            batch = try OffsetsTopic.batch(records, now: now)
        } catch {
            throw GroupStoreFailure(.unknownServerError, "encoding group records: \(error)")
        }
        let result = partition.produce(batch, produceVersion: BrokerApiVersions.latestProduceVersion, acks: -1, now: now)
        guard result.errorCode == .none else {
            throw GroupStoreFailure(result.errorCode, result.errorMessage ?? "append to \(partition.topicPartition) failed")
        }
        appended(partition)
    }
}
