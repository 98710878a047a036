import Foundation
import NIOCore
import Testing
@testable import RillFormat

@Suite struct CompressionTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
        return Array(try Data(contentsOf: url))
    }

    static let codecs: [CompressionType] = [.gzip, .snappy, .lz4, .zstd]

    @Test(arguments: codecs)
    func roundTripsEmptySmallAndLargeInputs(_ type: CompressionType) throws {
        let codec = try #require(type.codec)
        var generator = SplitMix64(seed: UInt64(type.rawValue))
        let inputs: [[UInt8]] = [
            [],
            [42],
            Array("hello, kafka".utf8),
            (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) },
            [UInt8](repeating: 0x61, count: 2_000_000),
        ]
        for input in inputs {
            var compressed = ByteBuffer()
            try input.withUnsafeBytes { try codec.compress($0, into: &compressed) }
            var output = ByteBuffer()
            try compressed.withUnsafeReadableBytes { try codec.decompress($0, into: &output, maximumBytes: 1 << 24) }
            #expect(Array(output.readableBytesView) == input, "\(type) round trip of \(input.count) bytes")
        }
    }

    @Test(arguments: codecs)
    func decompressionStopsAtTheLimit(_ type: CompressionType) throws {
        let codec = try #require(type.codec)
        var compressed = ByteBuffer()
        try [UInt8](repeating: 0, count: 1 << 20).withUnsafeBytes { try codec.compress($0, into: &compressed) }
        var output = ByteBuffer()
        #expect(throws: FormatError.self) {
            try compressed.withUnsafeReadableBytes { try codec.decompress($0, into: &output, maximumBytes: 1000) }
        }
    }

    @Test(arguments: codecs)
    func garbageInputIsAnErrorNotACrash(_ type: CompressionType) throws {
        let codec = try #require(type.codec)
        var generator = SplitMix64(seed: 99)
        for length in [0, 1, 4, 16, 17, 100, 5000] {
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if type == .lz4, bytes.count >= 4 { bytes.replaceSubrange(0..<4, with: [0x04, 0x22, 0x4D, 0x18]) }
            var output = ByteBuffer()
            _ = try? bytes.withUnsafeBytes { try codec.decompress($0, into: &output, maximumBytes: 1 << 20) }
        }
    }

    @Test(arguments: [
        ("payload.python-gzip", CompressionType.gzip),
        ("payload.python-gzip-concatenated", .gzip),
        ("payload.kafka-python-snappy-xerial", .snappy),
        ("payload.kafka-python-snappy-raw", .snappy),
        ("payload.kafka-python-lz4", .lz4),
        ("payload.kafka-python-zstd", .zstd),
    ])
    func decodesPayloadsWrittenByOtherImplementations(_ name: String, _ type: CompressionType) throws {
        let expected = try Self.fixture("payload.bin")
        let compressed = try Self.fixture(name)
        var output = ByteBuffer()
        try compressed.withUnsafeBytes { try type.codec!.decompress($0, into: &output, maximumBytes: 1 << 24) }
        #expect(Array(output.readableBytesView) == expected)
    }

    @Test func writesSnappyInTheXerialFramingJavaReads() throws {
        var compressed = ByteBuffer()
        try [UInt8](repeating: 1, count: 100_000).withUnsafeBytes { try SnappyCodec().compress($0, into: &compressed) }
        #expect(Array(compressed.readableBytesView.prefix(16)) == [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])
    }

    @Test func writesLZ4FramesTheWayJavaDoes() throws {
        var compressed = ByteBuffer()
        try [UInt8](repeating: 1, count: 1000).withUnsafeBytes { try LZ4FrameCodec().compress($0, into: &compressed) }
        // Magic, FLG 0x60 (version 1, independent blocks, no checksums, no size), BD 0x40 (64 KiB).
        #expect(Array(compressed.readableBytesView.prefix(6)) == [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40])
    }
}

@Suite struct CrossImplementationBatchTests {
    struct ExpectedRecord: Decodable {
        var offsetDelta: Int32
        var timestamp: Int64
        var key: String?
        var value: String?
        var headers: [[String]]
    }

    @Test(arguments: ["none", "gzip", "snappy", "lz4", "zstd"])
    func decodesBatchesBuiltByKafkaPython(_ codec: String) throws {
        let bytes = try CompressionTests.fixture("batch.kafka-python-\(codec)")
        let manifest = try JSONDecoder().decode([String: [ExpectedRecord]].self, from: Data(try CompressionTests.fixture("batches.json")))
        let expected = try #require(manifest[codec])
        let batch = try RecordBatch(validating: ByteBuffer(bytes: bytes))
        #expect(batch.header.attributes.compression == CompressionType(name: codec))
        let records = try batch.records()
        #expect(records.count == expected.count)
        for (record, wanted) in zip(records, expected) {
            #expect(record.offsetDelta == wanted.offsetDelta)
            #expect(batch.timestamp(of: record).milliseconds == wanted.timestamp)
            #expect(record.key.map { String(buffer: $0) } == wanted.key)
            #expect(record.value.map { String(buffer: $0) } == wanted.value)
            #expect(record.headers.map { [$0.key, $0.value.map { String(buffer: $0) } ?? ""] } == wanted.headers)
        }
    }

    @Test(arguments: ["none", "gzip", "snappy", "lz4", "zstd"])
    func reencodingKafkaPythonRecordsGivesRecordsKafkaPythonWrote(_ codec: String) throws {
        let original = try RecordBatch(validating: ByteBuffer(bytes: try CompressionTests.fixture("batch.kafka-python-\(codec)")))
        var builder = RecordBatchBuilder(compression: CompressionType(name: codec)!)
        let records = try original.records()
        for record in records {
            builder.append(key: record.key, value: record.value, headers: record.headers, timestamp: original.timestamp(of: record))
        }
        let rebuilt = try RecordBatch(validating: try builder.build())
        #expect(try rebuilt.records() == records)
        if codec == "none" {
            // Uncompressed, the two encoders must agree on every byte after the header fields
            // that legitimately differ (kafka-python writes partitionLeaderEpoch 0... same CRC).
            #expect(Array(rebuilt.bytes.readableBytesView.dropFirst(21)) == Array(original.bytes.readableBytesView.dropFirst(21)))
        }
    }
}
