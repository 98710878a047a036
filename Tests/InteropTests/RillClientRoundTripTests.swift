import Foundation
import NIOCore
import RillClient
import RillFormat
import RillProtocol
import Testing

extension InteropTests {
    /// Rill's own producer and consumer against a `rill broker` process, checked by the other
    /// clients: what Rill writes, kcat and kafka-python read byte for byte; what librdkafka
    /// writes, Rill reads byte for byte.
    @Suite struct RillClientRoundTripTests {
        /// A record to send: the record (partition unknown yet unless explicit) and whether
        /// the partition is given or left to the partitioner.
        struct Planned {
            var record: InteropRecord
            var isPartitionExplicit: Bool
        }

        /// Text records kcat can print (no tabs, newlines, commas or '='): null keys (sent to an
        /// explicit partition), an empty key, null and empty values, headers with empty and
        /// null values, explicit timestamps an hour in the past.
        static func textRecords(codec: String, count: Int, partitionCount: Int32, baseTimestamp: Int64) -> [Planned] {
            (0..<count).map { index in
                var key: String? = "rill-key-\(index % 40)"
                var value: String? = "value-\(index)-" + String(repeating: "compressible-\(codec)-", count: 10)
                var headers: [[String?]] = [["trace", "t-\(index)".utf8Hex], ["codec", codec.utf8Hex]]
                if index % 7 == 3 { key = nil }
                if index % 17 == 8 { key = "" }
                if index % 11 == 5 && key != nil { value = nil }
                if index % 13 == 6 { value = "" }
                if index % 5 == 2 { headers.append(["empty", ""]) }
                if index % 9 == 4 { headers.append(["null", nil]) }
                let record = InteropRecord(partition: key == nil ? Int32(index) % partitionCount : -1, offset: -1,
                                           key: key?.utf8Hex, value: value?.utf8Hex, headers: headers, timestamp: baseTimestamp + Int64(index))
                return Planned(record: record, isPartitionExplicit: key == nil)
            }
        }

        /// Binary records (every byte value, tabs and newlines included) for partition 0.
        static func binaryRecords(count: Int, baseTimestamp: Int64) -> [Planned] {
            (0..<count).map { index in
                let key = Data([UInt8(index), 0x00, 0x09, 0x0A, 0xFF, UInt8(255 - index)])
                let value = Data((0..<256).map { UInt8(($0 + index) % 256) }) + Data("binary-\(index)".utf8)
                let record = InteropRecord(partition: 0, offset: -1, key: key.hex, value: value.hex,
                                           headers: [["bytes", Data([0x00, 0x0A, 0xFF, UInt8(index)]).hex]], timestamp: baseTimestamp + Int64(index))
                return Planned(record: record, isPartitionExplicit: true)
            }
        }

        /// Sends `planned` (in order, by topic) with one producer and returns each record where
        /// the broker put it, in sending order; every delivery must succeed.
        static func produce(_ planned: [(topic: String, Planned)], to broker: BrokerProcess, _ properties: [String: String],
                            sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: [InteropRecord]] {
            let records = planned.map { $0.1.record.producerRecord(topic: $0.0, explicitPartition: $0.1.isPartitionExplicit) }
            let reports = try await RillClients.produceAll(records, to: broker, properties)
            #expect(reports.count == planned.count, "one delivery report per record", sourceLocation: sourceLocation)
            var sent: [String: [InteropRecord]] = [:]
            for (index, (topic, plan)) in planned.enumerated() {
                guard let report = reports[UInt64(index)] else { continue }
                #expect(report.error == nil, "record \(index): \(report.error.map(String.init(describing:)) ?? "")", sourceLocation: sourceLocation)
                #expect(report.topicPartition.topic == topic, sourceLocation: sourceLocation)
                if plan.isPartitionExplicit {
                    #expect(report.topicPartition.partition == plan.record.partition, "record \(index) not on its explicit partition", sourceLocation: sourceLocation)
                }
                sent[topic, default: []].append(plan.record.at(partition: report.topicPartition.partition, offset: report.offset.rawValue))
            }
            return sent
        }

        @Test("Rill's producer with every codec, keys, headers and explicit timestamps is read back by kcat and kafka-python byte for byte",
              arguments: InteropTests.codecs)
        func producerIsReadByKcatAndKafkaPython(codec: String) async throws {
            let partitionCount: Int32 = 2
            try await BrokerProcess.with(overrides: ["num.partitions=\(partitionCount)"]) { broker in
                let baseTimestamp = InteropTests.nowMilliseconds() - 3_600_000
                let text = Self.textRecords(codec: codec, count: 150, partitionCount: partitionCount, baseTimestamp: baseTimestamp)
                let binary = Self.binaryRecords(count: 40, baseTimestamp: baseTimestamp)
                let textTopic = "rill-\(codec)", binaryTopic = "rill-\(codec)-binary"
                let sent = try await Self.produce(text.map { (textTopic, $0) } + binary.map { (binaryTopic, $0) }, to: broker,
                                                  ["compression.type": codec, "linger.ms": "20"])
                let sentText = sent[textTopic] ?? [], sentBinary = sent[binaryTopic] ?? []
                try #require(sentText.count == text.count && sentBinary.count == binary.count)
                for record in sentText where record.key != nil {
                    let key = Data(hex: record.key!) ?? Data()
                    let expected = key.withUnsafeBytes { Murmur2.partition(forKey: $0, partitionCount: partitionCount) }
                    #expect(record.partition == expected, "key \(Data.text(fromHex: record.key)) on partition \(record.partition), murmur2 says \(expected)")
                }

                let readByKcat = try await Kcat.consume(bootstrap: broker.bootstrap, topic: textTopic, partition: nil, count: text.count + 1)
                expectSameRecords(sent: sentText, consumed: readByKcat)
                let readByKafkaPython: KafkaPythonTests.ClientResult = try await Tools.runScript("kafka_python_client.py", [
                    "consume", "--bootstrap", broker.bootstrap, "--topic", textTopic, "--partitions", String(partitionCount),
                ])
                expectSameRecords(sent: sentText, consumed: readByKafkaPython.consumed)
                let binaryByKafkaPython: KafkaPythonTests.ClientResult = try await Tools.runScript("kafka_python_client.py", [
                    "consume", "--bootstrap", broker.bootstrap, "--topic", binaryTopic, "--partitions", "1",
                ])
                expectSameRecords(sent: sentBinary, consumed: binaryByKafkaPython.consumed)

                // The producer really compressed, and was idempotent.
                for (topic, partition) in [(textTopic, 0), (textTopic, 1), (binaryTopic, 0)] {
                    let segment = try await DumpedSegment.read(broker.segmentFile(topic: topic, partition: partition))
                    #expect(segment.valid)
                    #expect(!segment.batches.isEmpty)
                    #expect(segment.batches.allSatisfy { $0.compression == codec }, "\(topic)-\(partition) codecs: \(segment.batches.map { $0.compression ?? "?" })")
                    #expect(segment.batches.allSatisfy { ($0.producerId ?? -1) >= 0 && ($0.baseSequence ?? -1) >= 0 })
                }
            }
        }

        @Test("keys sent with Rill's default partitioner land on the partitions kafka-python's default partitioner picks")
        func defaultPartitionerAgreesWithKafkaPython() async throws {
            let partitionCount: Int32 = 6
            try await BrokerProcess.with(overrides: ["num.partitions=\(partitionCount)"]) { broker in
                let keys = ["21", "foobar", "a-little-bit-long-string", "a-little-bit-longer-string", "abc", "kafka", "giberish123456789"]
                    + (0..<60).map { "user-\($0)" }
                let fromKafkaPython: KafkaPythonTests.ClientResult = try await Tools.runScript("kafka_python_client.py", [
                    "produce-keys", "--bootstrap", broker.bootstrap, "--topic", "keys-kafka-python", "--keys", keys.joined(separator: ","),
                ])
                #expect(fromKafkaPython.sendErrors.isEmpty)
                let kafkaPythonPartition = Dictionary(fromKafkaPython.sent.map { (Data.text(fromHex: $0.key), $0.partition) }, uniquingKeysWith: { first, _ in first })

                let reports = try await RillClients.produceAll(keys.map { ProducerRecord(topic: "keys-rill", key: $0, value: "rill") }, to: broker)
                #expect(reports.count == keys.count)
                for (index, key) in keys.enumerated() {
                    let report = reports[UInt64(index)]
                    #expect(report?.error == nil)
                    #expect(report?.topicPartition.partition != nil && report?.topicPartition.partition == kafkaPythonPartition[key],
                            "key \(key): Rill put it on \(report?.topicPartition.partition ?? -1), kafka-python on \(kafkaPythonPartition[key] ?? -1)")
                }
                // A partitioner sending everything to one partition would agree too.
                #expect(Set(reports.values.map(\.topicPartition.partition)).count == Int(partitionCount))
            }
        }

        @Test("pipelined requests reach the broker in the order they were drained: bursts to new partitions arrive whole and in order")
        func pipelinedBurstsArriveInOrder() async throws {
            let partitionCount: Int32 = 3
            try await BrokerProcess.with(overrides: ["num.partitions=\(partitionCount)"]) { broker in
                // linger.ms=0 and five requests in flight: many one-record batches per partition on
                // the wire at once. A request overtaking an earlier one carries a later sequence:
                // the broker refuses the earlier one as out of order, and on a new partition (no
                // producer state yet) accepts the later one first, so the first never goes in.
                let topics = (0..<4).map { "burst-\($0)" }
                let records = topics.flatMap { topic in
                    (0..<150).map { ProducerRecord(topic: topic, partition: Int32($0) % partitionCount, key: "k", value: "\(topic)-\($0)") }
                }
                let reports = try await RillClients.produceAll(records, to: broker, [
                    "linger.ms": "0", "max.in.flight.requests.per.connection": "5", "delivery.timeout.ms": "5000", "request.timeout.ms": "4000",
                ])
                #expect(reports.count == records.count, "one delivery report per record")
                let failed = reports.values.filter { $0.error != nil }.sorted { $0.context < $1.context }
                #expect(failed.isEmpty, "\(failed.count) of \(records.count) records failed, first: \(failed.prefix(3).map { "\(records[Int($0.context)].value.map { String(buffer: $0) } ?? "?"): \($0.error!)" })")
                for topic in topics {
                    for partition in 0..<partitionCount {
                        let offsets = reports.values.filter { $0.topicPartition == TopicPartition(topic, partition) }.sorted { $0.context < $1.context }.map(\.offset.rawValue)
                        let sent = records.filter { $0.topic == topic && $0.partition == partition }.count
                        #expect(offsets == Array(0..<Int64(sent)), "\(topic)-\(partition): offsets not in enqueue order, or reports missing")
                    }
                }
            }
        }

        @Test("records produced by librdkafka (confluent-kafka) with every codec are read by Rill's consumer byte for byte",
              arguments: InteropTests.codecs)
        func consumerReadsLibrdkafkaRecords(codec: String) async throws {
            let partitionCount = 2
            try await BrokerProcess.with(overrides: ["num.partitions=\(partitionCount)"]) { broker in
                let topic = "librdkafka-\(codec)"
                let produced: ConfluentKafkaTests.RoundTrip = try await Tools.runScript("confluent_roundtrip.py", [
                    "--bootstrap", broker.bootstrap, "--topic", topic, "--codec", codec, "--count", "200",
                    "--partitions", String(partitionCount), "--base-timestamp", String(InteropTests.nowMilliseconds() - 60_000), "--produce-only",
                ])
                #expect(produced.deliveryErrors.isEmpty, "\(produced.deliveryErrors.prefix(3))")
                #expect(produced.sent.count == 200)

                let consumed = try await RillClients.withConsumer(broker, ["auto.offset.reset": "earliest", "max.poll.records": "37"]) { consumer in
                    consumer.assign((0..<Int32(partitionCount)).map { TopicPartition(topic, $0) })
                    let consumed = try await RillClients.poll(consumer, count: produced.sent.count)
                    // Nothing beyond what was sent: each position is at the log end.
                    let partitions = consumer.assignment
                    let ends = try await KafkaAdmin(cluster: consumer.cluster).listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, .latest) }))
                    for partition in partitions {
                        #expect(try await consumer.position(partition) == ends[partition]?.offset)
                    }
                    return consumed
                }
                expectSameRecords(sent: produced.sent, consumed: consumed.map(InteropRecord.init))
                #expect(consumed.allSatisfy { $0.timestampType == .createTime })

                for partition in 0..<partitionCount {
                    let segment = try await DumpedSegment.read(broker.segmentFile(topic: topic, partition: partition))
                    #expect(segment.batches.allSatisfy { $0.compression == codec }, "partition \(partition) codecs: \(segment.batches.map { $0.compression ?? "?" })")
                }
            }
        }
    }
}
