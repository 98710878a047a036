import Foundation
import Testing

extension InteropTests {
    @Suite struct CrossClientTests {
        typealias ClientResult = KafkaPythonTests.ClientResult

        @Test("records produced by kcat are read by kafka-python byte for byte, and kafka-python's by kcat, with every codec",
              arguments: InteropTests.codecs)
        func kcatAndKafkaPythonReadEachOther(codec: String) async throws {
            try await BrokerProcess.with { broker in
                // kcat → kafka-python
                let lines = (0..<50).map { (key: "kcat-key-\($0)", value: "kcat-value-\($0)-" + String(repeating: "payload", count: 8)) }
                let headers: [(String, String?)] = [("source", "kcat"), ("empty", "")]
                try await Kcat.produce(bootstrap: broker.bootstrap, topic: "from-kcat", partition: 0,
                                       lines: lines.map { "\($0.key):\($0.value)" }, headers: headers, codec: codec)
                let readByKcat = try await Kcat.consume(bootstrap: broker.bootstrap, topic: "from-kcat", partition: 0, count: lines.count + 1)
                let readByKafkaPython: ClientResult = try await Tools.runScript("kafka_python_client.py", [
                    "consume", "--bootstrap", broker.bootstrap, "--topic", "from-kcat",
                ])
                #expect(readByKafkaPython.consumed.count == lines.count)
                #expect(readByKafkaPython.consumed.map(\.key) == lines.map { $0.key.utf8Hex })
                #expect(readByKafkaPython.consumed.map(\.value) == lines.map { $0.value.utf8Hex })
                #expect(readByKafkaPython.consumed.allSatisfy { $0.headers == headers.map { [$0.0, $0.1?.utf8Hex] } })
                // Both clients see the same records: offsets and timestamps included.
                #expect(readByKafkaPython.consumed == readByKcat)

                // kafka-python → kcat
                let baseTimestamp = InteropTests.nowMilliseconds() - 60_000
                let produced: ClientResult = try await Tools.runScript("kafka_python_client.py", [
                    "produce-text", "--bootstrap", broker.bootstrap, "--topic", "from-kafka-python", "--count", "50", "--codec", codec,
                    "--base-timestamp", String(baseTimestamp),
                ])
                #expect(produced.sendErrors.isEmpty)
                #expect(produced.sent.count == 50)
                let consumed = try await Kcat.consume(bootstrap: broker.bootstrap, topic: "from-kafka-python", partition: 0, count: 51)
                expectSameRecords(sent: produced.sent, consumed: consumed)

                // Each client really compressed: the decoders above read the other's codec output.
                for topic in ["from-kcat", "from-kafka-python"] {
                    let segment = try await DumpedSegment.read(broker.segmentFile(topic: topic, partition: 0))
                    #expect(segment.batches.allSatisfy { $0.compression == codec }, "\(topic) codecs: \(segment.batches.map { $0.compression ?? "?" })")
                }
            }
        }

        @Test("kafka-python's default partitioner and kcat's murmur2_random put every key on the same partition")
        func murmur2PartitionersAgree() async throws {
            let partitionCount = 6
            try await BrokerProcess.with(overrides: ["num.partitions=\(partitionCount)"]) { broker in
                let topic = "partitioned"
                // Kafka's own murmur2 test vectors, then plain keys.
                let keys = ["21", "foobar", "a-little-bit-long-string", "a-little-bit-longer-string", "abc", "kafka"] + (0..<40).map { "user-\($0)" }
                let fromKafkaPython: ClientResult = try await Tools.runScript("kafka_python_client.py", [
                    "produce-keys", "--bootstrap", broker.bootstrap, "--topic", topic, "--keys", keys.joined(separator: ","),
                    "--value", "kafka-python",
                ])
                #expect(fromKafkaPython.sendErrors.isEmpty)
                try await Kcat.produce(bootstrap: broker.bootstrap, topic: topic, partition: nil, lines: keys.map { "\($0):kcat" },
                                       extraProperties: ["partitioner=murmur2_random"])
                let records = try await Kcat.consume(bootstrap: broker.bootstrap, topic: topic, partition: nil, count: 2 * keys.count + 1)
                #expect(records.count == 2 * keys.count)

                var partitions: [String: [String: Int32]] = [:]  // key → producer → partition
                for record in records {
                    let key = Data.text(fromHex: record.key)
                    let producer = Data.text(fromHex: record.value)
                    #expect(partitions[key, default: [:]][producer] == nil, "key \(key) from \(producer) stored twice")
                    partitions[key, default: [:]][producer] = record.partition
                }
                for key in keys {
                    let byProducer = partitions[key] ?? [:]
                    #expect(byProducer["kcat"] != nil && byProducer["kcat"] == byProducer["kafka-python"], "key \(key): \(byProducer)")
                }
                let acknowledged = Dictionary(fromKafkaPython.sent.map { (Data.text(fromHex: $0.key), $0.partition) },
                                              uniquingKeysWith: { first, _ in first })
                #expect(keys.allSatisfy { acknowledged[$0] == partitions[$0]?["kafka-python"] })
                // The keys spread: a partitioner sending everything to one partition would agree too.
                #expect(Set(records.map(\.partition)).count >= 4)
                // Kafka's test vectors (UtilsTest.testMurmur2), as partitions of 6.
                #expect(partitions["21"]?["kafka-python"] == Int32((0xC5F2_F8EC & 0x7fff_ffff) % partitionCount))
                #expect(partitions["foobar"]?["kafka-python"] == Int32((0xD0E4_7BBE & 0x7fff_ffff) % partitionCount))
                #expect(partitions["abc"]?["kafka-python"] == Int32((0x1C94_221B & 0x7fff_ffff) % partitionCount))
            }
        }
    }
}
