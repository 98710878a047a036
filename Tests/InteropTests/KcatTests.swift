import Foundation
import Testing

extension InteropTests {
    @Suite struct KcatTests {
        static let recordCount = 400

        /// Compressible text lines `key:value` (librdkafka sends a batch uncompressed when
        /// compression does not shrink it), with an empty key and an empty value among them.
        static func lines(codec: String) -> [(key: String, value: String)] {
            (0..<recordCount).map { index in
                let key = index == 5 ? "" : "key-\(index)"
                let value = index == 7 ? "" : "value-\(index)-" + String(repeating: "compressible-\(codec)-", count: 12)
                return (key, value)
            }
        }

        static let headers: [(String, String?)] = [("trace", "t-1"), ("empty", ""), ("absent", nil)]

        @Test("kcat produces and consumes byte for byte with every codec, and the broker stores the batches with that codec",
              arguments: InteropTests.codecs)
        func roundTripStoresTheProducersCodec(codec: String) async throws {
            try await BrokerProcess.with { broker in
                let topic = "kcat-\(codec)"
                let lines = Self.lines(codec: codec)
                let headers = Self.headers + [("codec", codec)]
                let before = InteropTests.nowMilliseconds()
                try await Kcat.produce(bootstrap: broker.bootstrap, topic: topic, partition: 0, lines: lines.map { "\($0.key):\($0.value)" },
                                       headers: headers, codec: codec)
                let after = InteropTests.nowMilliseconds()

                // One more than was sent: an extra record would show.
                let consumed = try await Kcat.consume(bootstrap: broker.bootstrap, topic: topic, partition: 0, count: lines.count + 1)
                #expect(consumed.count == lines.count)
                let expectedHeaders: [[String?]] = headers.map { [$0.0, $0.1?.utf8Hex] }
                for (index, record) in consumed.enumerated() where index < lines.count {
                    #expect(record.offset == Int64(index))
                    #expect(record.key == lines[index].key.utf8Hex, "key at offset \(index)")
                    #expect(record.value == lines[index].value.utf8Hex, "value at offset \(index)")
                    #expect(record.headers == expectedHeaders, "headers at offset \(index)")
                    #expect((before...after).contains(record.timestamp), "timestamp \(record.timestamp) at offset \(index) outside the produce window")
                }

                let segment = try await DumpedSegment.read(broker.segmentFile(topic: topic, partition: 0), printData: true)
                #expect(segment.valid)
                #expect(!segment.batches.isEmpty)
                // librdkafka sends a batch uncompressed when compressing it would not make it smaller
                // (a small batch cut by linger on a loaded machine): "none" is the producer's choice.
                #expect(segment.batches.allSatisfy { $0.compression == codec || $0.compression == "none" },
                        "stored codecs: \(segment.batches.map { $0.compression ?? "?" })")
                #expect(segment.batches.contains { $0.compression == codec }, "stored codecs: \(segment.batches.map { $0.compression ?? "?" })")
                #expect(segment.batches.reduce(0) { $0 + ($1.count ?? 0) } == lines.count)
                let uncompressedBytes = lines.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
                if codec != "none" {
                    #expect(segment.sizeBytes * 3 < Int64(uncompressedBytes), "\(segment.sizeBytes) bytes on disk for \(uncompressedBytes) bytes of keys and values: not compressed")
                }
                let stored = segment.batches.flatMap { $0.records ?? [] }
                #expect(stored.map(\.offset) == consumed.map(\.offset))
                #expect(stored.map(\.timestamp) == consumed.map(\.timestamp))
                #expect(stored.map(\.key) == lines.map(\.key))
                #expect(stored.map(\.value) == lines.map(\.value))
            }
        }
    }
}
