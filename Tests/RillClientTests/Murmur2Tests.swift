import NIOCore
import Testing
@testable import RillClient

/// Kafka's murmur2 and the default partitioner's use of it (kafka-protocol.md §6.1).
@Suite struct Murmur2Tests {
    /// Kafka's `UtilsTest.testMurmur2` (signed results), then librdkafka's `unittest_murmur2`.
    static let vectors: [(key: String, hash: UInt32)] = [
        ("21", 0xC5F2_F8EC),
        ("foobar", 0xD0E4_7BBE),
        ("a-little-bit-long-string", 0xC53B_1DA0),
        ("a-little-bit-longer-string", 0xA768_C9C3),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 0xFC7D_49CD),
        ("abc", 0x1C94_221B),
        ("kafka", 0xD067_CF64),
        ("giberish123456789", 0x8F55_2B0C),
        ("", 0x106E_08D9),
    ]

    @Test("murmur2 gives Kafka's and librdkafka's test vectors (every tail length 0-3)", arguments: vectors)
    func murmur2MatchesTheReferenceVectors(key: String, hash: UInt32) {
        #expect(Murmur2.hash(Array(key.utf8)) == Int32(bitPattern: hash))
        // The same through the raw-buffer entry point the producer uses.
        let buffer = ByteBuffer(string: key)
        #expect(buffer.withUnsafeReadableBytes { Murmur2.hash($0) } == Int32(bitPattern: hash))
    }

    @Test("the signed values of Kafka's UtilsTest")
    func signedValuesOfUtilsTest() {
        #expect(Murmur2.hash(Array("21".utf8)) == -973_932_308)
        #expect(Murmur2.hash(Array("foobar".utf8)) == -790_332_482)
        #expect(Murmur2.hash(Array("a-little-bit-long-string".utf8)) == -985_981_536)
        #expect(Murmur2.hash(Array("a-little-bit-longer-string".utf8)) == -1_486_304_829)
        #expect(Murmur2.hash(Array("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8".utf8)) == -58_897_971)
        #expect(Murmur2.hash(Array("abc".utf8)) == 479_470_107)
    }

    @Test("the partition is (hash & 0x7fffffff) % n, as in the §6.1 table for 3 partitions")
    func partitionOfTheTableKeys() {
        let expected: [(String, Int32)] = [
            ("21", 0), ("foobar", 0), ("a-little-bit-long-string", 2), ("a-little-bit-longer-string", 2),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 2), ("abc", 0),
        ]
        for (key, partition) in expected {
            #expect(Array(key.utf8).withUnsafeBytes { Murmur2.partition(forKey: $0, partitionCount: 3) } == partition, "key \(key)")
        }
    }

    @Test("masking the sign bit is not abs(): the keys where the two differ get the masked answer")
    func partitionMasksTheSignBitInsteadOfTakingTheAbsoluteValue() {
        var differing = 0
        for (key, hash) in Self.vectors where Int32(bitPattern: hash) < 0 {
            for count: Int32 in [3, 5, 6, 7, 12] {
                let masked = Int32(bitPattern: hash & 0x7FFF_FFFF) % count
                let absolute = Int32(abs(Int64(Int32(bitPattern: hash))) % Int64(count))
                if masked != absolute { differing += 1 }
                #expect(Array(key.utf8).withUnsafeBytes { Murmur2.partition(forKey: $0, partitionCount: count) } == masked, "key \(key), \(count) partitions")
            }
        }
        // Otherwise this test could not tell the two apart.
        #expect(differing >= 5)
    }
}
