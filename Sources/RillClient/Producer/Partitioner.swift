import NIOCore
import RillFormat

/// Kafka's murmur2 (32-bit, seed 0x9747b28c), bit for bit as the Java client computes it, so
/// keyed records land on the same partitions as with Java, kafka-python and librdkafka's
/// `murmur2_random` (kafka-protocol.md §6.1).
public enum Murmur2 {
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        let seed: UInt32 = 0x9747_B28C
        let m: UInt32 = 0x5BD1_E995
        let length = bytes.count
        var h = seed ^ UInt32(truncatingIfNeeded: length)
        var index = 0
        while length - index >= 4 {
            var k = UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24
            k = k &* m
            k ^= k >> 24
            k = k &* m
            h = h &* m
            h ^= k
            index += 4
        }
        switch length - index {
        case 3:
            h ^= UInt32(bytes[index + 2]) << 16
            h ^= UInt32(bytes[index + 1]) << 8
            h ^= UInt32(bytes[index])
            h = h &* m
        case 2:
            h ^= UInt32(bytes[index + 1]) << 8
            h ^= UInt32(bytes[index])
            h = h &* m
        case 1:
            h ^= UInt32(bytes[index])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }

    public static func hash(_ bytes: [UInt8]) -> Int32 { bytes.withUnsafeBytes { hash($0) } }

    /// The Java default partitioner's choice for a key: `toPositive(murmur2(key)) % count`,
    /// where toPositive masks the sign bit (it is not `abs`).
    public static func partition(forKey key: UnsafeRawBufferPointer, partitionCount: Int32) -> Int32 {
        (hash(key) & 0x7FFF_FFFF) % partitionCount
    }
}

/// How the producer picks a partition for a record without an explicit one.
public enum PartitionerStrategy: Sendable {
    /// Kafka's default: murmur2 of the key; records without a key stick to one partition until
    /// `batch.size` bytes went to it, then move to another (KIP-794's uniform sticky partitioner).
    case `default`
    /// Every record to the next partition in turn, keys ignored.
    case roundRobin
    /// The user's choice: (key, partition count) → partition.
    case custom(@Sendable (_ key: [UInt8]?, _ partitionCount: Int32) -> Int32)
}

/// The partitioner: its strategy and random source; the per-topic state (sticky partition,
/// round-robin counter) lives with the topic in the accumulator.
struct PartitionerState: Sendable {
    var strategy: PartitionerStrategy
    var batchSize: Int
    /// Seeded once from the system: `SystemRandomNumberGenerator` is a `getrandom` system call
    /// per number, and a sticky partition is picked per batch.
    private var generator: SplitMix64 = {
        var system = SystemRandomNumberGenerator()
        return SplitMix64(seed: system.next())
    }()

    init(strategy: PartitionerStrategy, batchSize: Int) {
        self.strategy = strategy
        self.batchSize = batchSize
    }

    mutating func partition(key: ByteBuffer?, recordBytes: Int, partitionCount: Int32,
                            sticky: inout (partition: Int32, bytes: Int)?, roundRobinNext: inout Int32) -> Int32 {
        precondition(partitionCount > 0, "a topic has at least one partition")
        switch strategy {
        case .default:
            if let key { return key.withUnsafeReadableBytes { Murmur2.partition(forKey: $0, partitionCount: partitionCount) } }
            return stickyPartition(recordBytes: recordBytes, partitionCount: partitionCount, sticky: &sticky)
        case .roundRobin:
            let next = roundRobinNext
            roundRobinNext = next &+ 1
            return Int32(UInt32(bitPattern: next) % UInt32(partitionCount))
        case .custom(let choose):
            let chosen = choose(key.map { Array($0.readableBytesView) }, partitionCount)
            return ((chosen % partitionCount) + partitionCount) % partitionCount
        }
    }

    /// KIP-794: stay on one partition until `batch.size` bytes went to it, then pick another.
    private mutating func stickyPartition(recordBytes: Int, partitionCount: Int32, sticky: inout (partition: Int32, bytes: Int)?) -> Int32 {
        if let current = sticky, current.partition < partitionCount, current.bytes < batchSize {
            sticky = (current.partition, current.bytes + recordBytes)
            return current.partition
        }
        var next = Int32.random(in: 0..<partitionCount, using: &generator)
        if partitionCount > 1, let previous = sticky?.partition, next == previous {
            next = (next + 1) % partitionCount
        }
        sticky = (next, recordBytes)
        return next
    }
}
