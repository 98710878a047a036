import NIOCore
import Synchronization
import Testing
@testable import RillClient

/// The partitioner as a value: its strategy plus the per-topic state (sticky partition,
/// round-robin counter) that the accumulator keeps with each topic.
@Suite struct PartitionerStateTests {
    /// One topic's partitioner state, as `RecordAccumulator.TopicState` holds it.
    struct Topic {
        var partitioner: PartitionerState
        var partitionCount: Int32
        var sticky: (partition: Int32, bytes: Int)?
        var roundRobinNext: Int32 = 0

        init(_ strategy: PartitionerStrategy, partitionCount: Int32, batchSize: Int = 16_384) {
            partitioner = PartitionerState(strategy: strategy, batchSize: batchSize)
            self.partitionCount = partitionCount
        }

        mutating func partition(key: String?, bytes: Int = 100) -> Int32 {
            partitioner.partition(key: key.map { ByteBuffer(string: $0) }, recordBytes: bytes, partitionCount: partitionCount,
                                  sticky: &sticky, roundRobinNext: &roundRobinNext)
        }
    }

    @Test("default: a keyed record goes to murmur2(key) & 0x7fffffff % n, whatever came before")
    func defaultStrategyHashesKeys() {
        var topic = Topic(.default, partitionCount: 6)
        for index in 0..<200 {
            let key = "user-\(index)"
            let expected = Array(key.utf8).withUnsafeBytes { Murmur2.partition(forKey: $0, partitionCount: 6) }
            #expect(topic.partition(key: key) == expected)
            // Null-key records in between must not move keyed ones.
            _ = topic.partition(key: nil, bytes: 5000)
        }
        #expect(topic.partition(key: "21") == Int32((0xC5F2_F8EC & 0x7FFF_FFFF) % 6))
        #expect(topic.partition(key: "") == Int32((0x106E_08D9 & 0x7FFF_FFFF) % 6), "an empty key is a key, not a null key")
    }

    @Test("default: null keys stick to one partition until batch.size bytes went to it, then move to a different one")
    func nullKeysAreStickyUntilBatchSize() {
        var topic = Topic(.default, partitionCount: 4, batchSize: 1000)
        var runs: [(partition: Int32, count: Int)] = []
        for _ in 0..<100 {
            let partition = topic.partition(key: nil, bytes: 100)
            if let last = runs.last, last.partition == partition {
                runs[runs.count - 1].count += 1
            } else {
                runs.append((partition, 1))
            }
        }
        // 10 records of 100 bytes fill 1000 bytes; the 11th goes elsewhere.
        #expect(runs.map(\.count) == Array(repeating: 10, count: 10), "\(runs)")
        #expect(runs.allSatisfy { (0..<4).contains($0.partition) })
        for (previous, next) in zip(runs, runs.dropFirst()) {
            #expect(previous.partition != next.partition)
        }
    }

    @Test("default: with one partition, null keys always go to it")
    func nullKeysWithOnePartition() {
        var topic = Topic(.default, partitionCount: 1, batchSize: 100)
        #expect((0..<50).allSatisfy { _ in topic.partition(key: nil, bytes: 60) == 0 })
    }

    @Test("default: a sticky partition beyond a shrunk partition count is left")
    func stickyPartitionOutsideTheTopicIsLeft() {
        var topic = Topic(.default, partitionCount: 3, batchSize: 1000)
        topic.sticky = (partition: 7, bytes: 0)
        let partition = topic.partition(key: nil)
        #expect((0..<3).contains(partition))
    }

    @Test("round-robin cycles through every partition in turn, keys ignored")
    func roundRobinCycles() {
        var topic = Topic(.roundRobin, partitionCount: 3)
        let chosen = (0..<9).map { topic.partition(key: $0.isMultiple(of: 2) ? "same-key" : nil) }
        #expect(chosen == [0, 1, 2, 0, 1, 2, 0, 1, 2])
    }

    @Test("round-robin stays in range when its counter wraps")
    func roundRobinWraps() {
        var topic = Topic(.roundRobin, partitionCount: 3)
        topic.roundRobinNext = Int32.max - 1
        let chosen = (0..<6).map { _ in topic.partition(key: nil) }
        #expect(chosen.allSatisfy { (0..<3).contains($0) }, "\(chosen)")
        #expect(Set(chosen).count == 3)
    }

    @Test("a custom partitioner gets the key bytes and the count; its answer is brought into range",
          arguments: [(1, 1), (7, 1), (-1, 2), (-3, 0), (-4, 2), (Int32.min, 1), (Int32.max, 1)] as [(Int32, Int32)])
    func customResultIsNormalised(answer: Int32, expected: Int32) {
        let seen = Mutex<[([UInt8]?, Int32)]>([])
        var topic = Topic(.custom { key, count in
            seen.withLock { $0.append((key, count)) }
            return answer
        }, partitionCount: 3)
        #expect(topic.partition(key: "k") == expected)
        #expect(topic.partition(key: nil) == expected)
        let calls = seen.withLock { $0 }
        #expect(calls.count == 2)
        #expect(calls.first?.0 == Array("k".utf8))
        #expect(calls.first?.1 == 3)
        #expect(calls.last?.0 == nil)
    }
}
