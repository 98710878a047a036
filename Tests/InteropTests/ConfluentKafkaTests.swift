import Foundation
import Testing

extension InteropTests {
    @Suite struct ConfluentKafkaTests {
        struct RoundTrip: Decodable {
            var sent: [InteropRecord]
            var deliveryErrors: [String]
            var consumed: [InteropRecord]
            var consumeErrors: [String]
        }

        @Test("confluent-kafka's idempotent acks=all producer and an assigned consumer round-trip every codec byte for byte",
              arguments: InteropTests.codecs)
        func idempotentProducerRoundTrip(codec: String) async throws {
            let partitionCount = 2
            let count = 200
            try await BrokerProcess.with(overrides: ["num.partitions=\(partitionCount)"]) { broker in
                let topic = "confluent-\(codec)"
                let baseTimestamp = InteropTests.nowMilliseconds() - 60_000
                let result: RoundTrip = try await Tools.runScript("confluent_roundtrip.py", [
                    "--bootstrap", broker.bootstrap, "--topic", topic, "--codec", codec, "--count", String(count),
                    "--partitions", String(partitionCount), "--base-timestamp", String(baseTimestamp),
                ])
                #expect(result.deliveryErrors.isEmpty, "\(result.deliveryErrors.prefix(5))")
                #expect(result.sent.count == count)
                #expect(Set(result.sent.map(\.timestamp)) == Set((0..<Int64(count)).map { baseTimestamp + $0 }))
                #expect(result.consumeErrors.isEmpty, "\(result.consumeErrors.prefix(5))")
                expectSameRecords(sent: result.sent, consumed: result.consumed)

                for partition in 0..<partitionCount {
                    let segment = try await DumpedSegment.read(broker.segmentFile(topic: topic, partition: partition))
                    #expect(segment.valid)
                    #expect(segment.batches.allSatisfy { $0.compression == codec }, "partition \(partition) codecs: \(segment.batches.map { $0.compression ?? "?" })")
                    // Idempotent batches carry a producer id and sequence numbers.
                    #expect(segment.batches.allSatisfy { ($0.producerId ?? -1) >= 0 && ($0.baseSequence ?? -1) >= 0 })
                }
            }
        }

        struct Admin: Decodable {
            var createError: String?
            var partitionCount: Int
            var configs: [String: String?]
            var configSources: [String: Int]
            var describeError: String?
            var deleteError: String?
            var topicsAfterCreate: [String]
            var topicsAfterDelete: [String]
        }

        @Test("confluent-kafka's AdminClient creates a topic with configs, describes them and deletes the topic")
        func adminClientCreatesDescribesAndDeletes() async throws {
            try await BrokerProcess.with { broker in
                let topic = "confluent-admin"
                let result: Admin = try await Tools.runScript("confluent_admin.py", [
                    "--bootstrap", broker.bootstrap, "--topic", topic, "--partitions", "3",
                    "--config", "retention.ms=123456789", "--config", "cleanup.policy=compact",
                ])
                #expect(result.createError == nil)
                #expect(result.partitionCount == 3)
                #expect(result.topicsAfterCreate.contains(topic))
                #expect(result.describeError == nil)
                #expect(result.configs["retention.ms"] == "123456789")
                #expect(result.configs["cleanup.policy"] == "compact")
                let dynamicTopicConfig = 1, defaultConfig = 5
                #expect(result.configSources["retention.ms"] == dynamicTopicConfig)
                #expect(result.configSources["cleanup.policy"] == dynamicTopicConfig)
                #expect(result.configSources["segment.bytes"] == defaultConfig)
                #expect(result.deleteError == nil)
                #expect(!result.topicsAfterDelete.contains(topic))
                for partition in 0..<3 {
                    let directory = broker.dataDirectory.appendingPathComponent("\(topic)-\(partition)")
                    #expect(!FileManager.default.fileExists(atPath: directory.path), "\(directory.lastPathComponent) left after the delete")
                }
            }
        }

        struct OffsetsForTimes: Decodable {
            struct Produced: Decodable { var offset: Int64; var timestamp: Int64 }
            struct Answer: Decodable { var timestamp: Int64; var offset: Int64?; var error: String? }
            var produced: [Produced]
            var deliveryErrors: [String]
            var answers: [Answer]
        }

        @Test("confluent-kafka's offsets_for_times finds the first offset at or after each timestamp")
        func offsetsForTimes() async throws {
            try await BrokerProcess.with { broker in
                let base = InteropTests.nowMilliseconds() - 60_000
                let timestamps = (0..<30).map { base + 10 * Int64($0) }
                let queries = [base - 5, base, base + 3, base + 10, base + 71, base + 150, base + 290, base + 291, base + 10_000]
                let result: OffsetsForTimes = try await Tools.runScript("confluent_offsets_for_times.py", [
                    "--bootstrap", broker.bootstrap, "--topic", "confluent-times", "--batch-size", "7",
                    "--timestamps", timestamps.map(String.init).joined(separator: ","),
                    "--queries", queries.map(String.init).joined(separator: ","),
                ])
                #expect(result.deliveryErrors.isEmpty)
                let produced = result.produced.sorted { $0.offset < $1.offset }
                #expect(produced.map(\.offset) == Array(0..<Int64(timestamps.count)))
                #expect(produced.map(\.timestamp) == timestamps)
                #expect(result.answers.map(\.timestamp) == queries)
                for answer in result.answers {
                    // Kafka: the earliest offset whose timestamp is >= the query; -1 when none is.
                    let expected = produced.first { $0.timestamp >= answer.timestamp }?.offset ?? -1
                    #expect(answer.error == nil, "query \(answer.timestamp - base)")
                    #expect(answer.offset == expected, "query base+\(answer.timestamp - base)")
                }
            }
        }
    }
}
