import Foundation
import Testing

extension InteropTests {
    @Suite struct KafkaPythonTests {
        /// The result of `kafka_python_client.py` in every mode.
        struct ClientResult: Decodable {
            var sent: [InteropRecord]
            var sendErrors: [String]
            var consumed: [InteropRecord]
            var idempotent: Bool?
            var acks: Int?
        }

        @Test("kafka-python's default producer (idempotent, acks=all) and an assigned consumer round-trip every codec byte for byte",
              arguments: InteropTests.codecs)
        func defaultProducerRoundTrip(codec: String) async throws {
            let partitionCount = 2
            let count = 200
            try await BrokerProcess.with(overrides: ["num.partitions=\(partitionCount)"]) { broker in
                let topic = "kafka-python-\(codec)"
                let baseTimestamp = InteropTests.nowMilliseconds() - 60_000
                let result: ClientResult = try await Tools.runScript("kafka_python_client.py", [
                    "roundtrip", "--bootstrap", broker.bootstrap, "--topic", topic, "--codec", codec, "--count", String(count),
                    "--partitions", String(partitionCount), "--base-timestamp", String(baseTimestamp),
                ])
                #expect(result.idempotent == true, "kafka-python 3 turned idempotence off: it thinks the broker is older than 0.11")
                #expect(result.acks == -1)
                #expect(result.sendErrors.isEmpty, "\(result.sendErrors.prefix(5))")
                #expect(result.sent.count == count)
                expectSameRecords(sent: result.sent, consumed: result.consumed)

                for partition in 0..<partitionCount {
                    let segment = try await DumpedSegment.read(broker.segmentFile(topic: topic, partition: partition))
                    #expect(segment.valid)
                    #expect(segment.batches.allSatisfy { $0.compression == codec }, "partition \(partition) codecs: \(segment.batches.map { $0.compression ?? "?" })")
                    #expect(segment.batches.allSatisfy { ($0.producerId ?? -1) >= 0 && ($0.baseSequence ?? -1) >= 0 })
                }
            }
        }

        struct Admin: Decodable {
            var createError: String?
            var topicsAfterCreate: [String]
            var partitionCounts: [String: Int]
            var configs: [String: String?]
            var describeError: String?
            var deleteError: String?
            var topicsAfterDelete: [String]
        }

        @Test("kafka-python's KafkaAdminClient creates topics (one with configs), describes them and deletes them")
        func adminClientCreatesAndDeletesTopics() async throws {
            try await BrokerProcess.with { broker in
                let result: Admin = try await Tools.runScript("kafka_python_admin.py", [
                    "--bootstrap", broker.bootstrap, "--topic", "kafka-python-admin:3", "--topic", "kafka-python-plain:1",
                    "--config", "retention.ms=123456789", "--config", "cleanup.policy=compact",
                ])
                #expect(result.createError == nil)
                #expect(result.topicsAfterCreate == ["kafka-python-admin", "kafka-python-plain"])
                #expect(result.partitionCounts == ["kafka-python-admin": 3, "kafka-python-plain": 1])
                #expect(result.describeError == nil)
                // kafka-python lists only the configs the broker reports as not default.
                #expect(result.configs == ["retention.ms": "123456789", "cleanup.policy": "compact"])
                #expect(result.deleteError == nil)
                #expect(result.topicsAfterDelete.isEmpty)
            }
        }
    }
}
