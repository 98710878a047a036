import NIOCore
import Testing
@testable import RillFormat

@Suite struct RecordBatchTests {
    /// kafka-protocol.md §4.6, verified there against kafka-python's batch builder.
    static let goldenBatch: [UInt8] = hexBytes("""
        0000000000000000 0000003a 00000000 02 e99b8dd8 0000 00000000 0000018bcfe56800
        0000018bcfe56800 ffffffffffffffff ffff ffffffff 00000001 10 000000 026b 0276 00
        """)

    @Test func builderWritesTheGoldenBatchByteForByte() throws {
        var builder = RecordBatchBuilder(partitionLeaderEpoch: LeaderEpoch(0))
        builder.append(key: Array("k".utf8), value: Array("v".utf8), timestamp: Timestamp(milliseconds: 1_700_000_000_000))
        let batch = try builder.build()
        #expect(Array(batch.readableBytesView) == Self.goldenBatch)
    }

    @Test func goldenBatchDecodes() throws {
        let batch = try RecordBatch(validating: ByteBuffer(bytes: Self.goldenBatch))
        #expect(batch.header.totalSize == 70)
        #expect(batch.header.crc == 0xE99B_8DD8)
        #expect(batch.header.recordCount == 1)
        #expect(batch.header.producerID == .none)
        let records = try batch.records()
        #expect(records.count == 1)
        #expect(records[0].key == ByteBuffer(string: "k"))
        #expect(records[0].value == ByteBuffer(string: "v"))
        #expect(batch.timestamp(of: records[0]) == Timestamp(milliseconds: 1_700_000_000_000))
    }

    @Test(arguments: CompressionType.allCases)
    func recordsRoundTripThroughEveryCodec(_ compression: CompressionType) throws {
        var builder = RecordBatchBuilder(compression: compression, producerID: ProducerID(7), producerEpoch: ProducerEpoch(1), baseSequence: SequenceNumber(100))
        var expected: [(key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader], timestamp: Int64)] = []
        for index in 0..<300 {
            let key: [UInt8]? = index % 5 == 0 ? nil : Array("key-\(index)".utf8)
            let value: [UInt8]? = index % 17 == 3 ? nil : Array(repeating: UInt8(index % 251), count: index % 40)
            let headers = index % 4 == 0 ? [RecordHeader(key: "trace-\(index)", value: ByteBuffer(string: "h\(index)")), RecordHeader(key: "empty", value: nil)] : []
            let timestamp = 1_600_000_000_000 + Int64(index * 3) - (index % 2 == 0 ? 5 : 0)
            builder.append(key: key, value: value, headers: headers, timestamp: Timestamp(milliseconds: timestamp))
            expected.append((key, value, headers, timestamp))
        }
        let bytes = try builder.build()
        let batch = try RecordBatch(validating: bytes)
        #expect(batch.header.attributes.compression == compression)
        #expect(batch.header.lastOffsetDelta == 299)
        #expect(batch.header.lastSequence == SequenceNumber(399))
        #expect(batch.header.maxTimestamp == Timestamp(milliseconds: expected.map(\.timestamp).max()!))
        let records = try batch.records()
        #expect(records.count == expected.count)
        for (record, wanted) in zip(records, expected) {
            #expect(record.key.map { Array($0.readableBytesView) } == wanted.key)
            #expect(record.value.map { Array($0.readableBytesView) } == wanted.value)
            #expect(record.headers == wanted.headers)
            #expect(batch.timestamp(of: record).milliseconds == wanted.timestamp)
        }
    }

    @Test func aFlippedBitAnywhereAfterTheEpochFailsTheChecksum() throws {
        var builder = RecordBatchBuilder()
        builder.append(key: Array("key".utf8), value: Array(repeating: 7, count: 100), timestamp: Timestamp(milliseconds: 1))
        let good = Array(try builder.build().readableBytesView)
        for index in RecordBatchHeader.FieldOffset.attributes..<good.count {
            var bad = good
            bad[index] ^= 0x10
            #expect(throws: FormatError.self) { try RecordBatch(validating: ByteBuffer(bytes: bad)) }
        }
        // The partition leader epoch is outside the CRC: changing it keeps the batch valid.
        var restamped = good
        restamped[RecordBatchHeader.FieldOffset.partitionLeaderEpoch + 3] = 9
        #expect(throws: Never.self) { try RecordBatch(validating: ByteBuffer(bytes: restamped)) }
    }

    @Test func legacyMessageSetsAreRejectedClearly() {
        var legacy = Self.goldenBatch
        legacy[RecordBatchHeader.FieldOffset.magic] = 1
        do {
            _ = try RecordBatch(validating: ByteBuffer(bytes: legacy))
            Issue.record("a magic-1 message set was accepted")
        } catch {
            #expect(error.code == .unsupportedMagic)
            #expect(error.message.contains("legacy message set"))
        }
    }

    @Test func truncatedAndOversizedBatchesAreRejected() {
        for length in [0, 5, 16, 17, 60, 69] {
            #expect(throws: FormatError.self) { try RecordBatch(validating: ByteBuffer(bytes: Self.goldenBatch.prefix(length))) }
        }
        var oversized = Self.goldenBatch
        oversized.replaceSubrange(8..<12, with: [0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: FormatError(.invalidLength, "batch length 2147483647 is outside [49, 104857600]")) {
            try RecordBatch(validating: ByteBuffer(bytes: oversized))
        }
        var negative = Self.goldenBatch
        negative.replaceSubrange(8..<12, with: [0xFF, 0xFF, 0xFF, 0xF0])
        #expect(throws: FormatError.self) { try RecordBatch(validating: ByteBuffer(bytes: negative)) }
    }

    @Test func recordsThatDisagreeWithTheHeaderAreRejected() throws {
        var builder = RecordBatchBuilder()
        builder.append(key: Array("a".utf8), value: Array("1".utf8), timestamp: Timestamp(milliseconds: 5))
        builder.append(key: Array("b".utf8), value: Array("2".utf8), timestamp: Timestamp(milliseconds: 6))
        let good = Array(try builder.build().readableBytesView)
        // Claim one record while two are present, with a CRC that matches the lie: the header
        // check passes, record decoding must not.
        var lying = good
        lying[RecordBatchHeader.FieldOffset.recordCount + 3] = 1
        lying.withUnsafeMutableBytes { RecordBatch.updateChecksum($0) }
        let batch = try RecordBatch(validating: ByteBuffer(bytes: lying))
        #expect(throws: FormatError.self) { try batch.records() }
        // A count the bytes cannot hold fails already at the header.
        var impossible = good
        impossible[RecordBatchHeader.FieldOffset.recordCount + 3] = 9
        impossible[RecordBatchHeader.FieldOffset.lastOffsetDelta + 3] = 8
        impossible.withUnsafeMutableBytes { RecordBatch.updateChecksum($0) }
        #expect(throws: FormatError.self) { try RecordBatch(validating: ByteBuffer(bytes: impossible)) }
    }

    /// Found by the fuzz target (Fuzz/Seeds/oom-records-count-compressed): validation cannot
    /// check the record count of a compressed batch against its bytes, and records() reserved an
    /// array for every claimed record (1.3 GB for 118 bytes) before finding the first missing.
    @Test(arguments: [CompressionType.gzip, .snappy, .lz4, .zstd])
    func aCompressedBatchClaimingMoreRecordsThanItHoldsIsRefusedBeforeDecoding(_ compression: CompressionType) throws {
        var builder = RecordBatchBuilder(compression: compression)
        builder.append(key: Array("k".utf8), value: Array("v".utf8), timestamp: Timestamp(milliseconds: 5))
        var bytes = try builder.build()
        let claimed = Int32(FormatLimits.maximumRecordsPerBatch)
        bytes.withUnsafeMutableReadableBytes { raw in
            raw.storeBigEndian(claimed, at: RecordBatchHeader.FieldOffset.recordCount)
            raw.storeBigEndian(claimed - 1, at: RecordBatchHeader.FieldOffset.lastOffsetDelta)
            RecordBatch.updateChecksum(raw)
        }
        let batch = try RecordBatch(validating: bytes)
        #expect(batch.header.recordCount == claimed)
        let error = try #require(throws: FormatError.self) { try batch.records() }
        #expect(error.code == .invalidRecord)
        #expect(error.message.contains("cannot fit"), "refused by the count check, not after reserving for the count: \(error)")
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var generator = SplitMix64(seed: 7)
        for round in 0..<5_000 {
            var bytes = (0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if round % 2 == 0, bytes.count > 17 {
                bytes[16] = 2  // get past the magic check more often
                if round % 4 == 0 {
                    let length = UInt32(bytes.count - 12)
                    bytes.replaceSubrange(8..<12, with: withUnsafeBytes(of: length.bigEndian, Array.init))
                    bytes.withUnsafeMutableBytes { raw in
                        if raw.count >= RecordBatchHeader.size { RecordBatch.updateChecksum(raw) }
                    }
                }
            }
            if let batch = try? RecordBatch(validating: ByteBuffer(bytes: bytes)) {
                _ = try? batch.records(maximumDecompressedBytes: 1 << 16)
            }
        }
    }
}

func hexBytes(_ text: String) -> [UInt8] {
    let digits = text.filter(\.isHexDigit)
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}
