import Foundation
import NIOCore
import RillClient
import RillFormat
import RillProtocol
import Testing

extension InteropTests {
    @Suite struct CrashRecoveryTests {
        struct StoredValue: Decodable, Hashable {
            var partition: Int32
            var offset: Int64
            var value: String?
        }

        struct CrashProducer: Decodable {
            var acked: [StoredValue]
            var failedCount: Int
            var producedCount: Int
            var errors: [String]
        }

        struct ConsumeAll: Decodable {
            var records: [StoredValue]
            var highWatermarks: [String: Int64]
            var errors: [String]
        }

        @Test("every record acknowledged before a kill -9 mid-produce is at its offset after the restart")
        func acknowledgedRecordsSurviveKillNine() async throws {
            let partitionCount = 3
            let killAfterAcknowledgements = 300
            try await BrokerProcess.with(overrides: ["log.flush.interval.messages=1", "num.partitions=\(partitionCount)"]) { broker in
                let topic = "crash"
                let producer = try ChildProcess(executable: try Tools.python(), arguments: [
                    "-u", try Tools.script("confluent_crash_producer.py").path, "--bootstrap", broker.bootstrap, "--topic", topic,
                    "--partitions", String(partitionCount), "--max-records", "1000000", "--progress-every", "100", "--seconds", "30",
                ], environment: ["PYTHONDONTWRITEBYTECODE": "1"])
                try producer.start()
                defer { producer.send(SIGKILL) }
                let progressLine = "acked \(killAfterAcknowledgements)\n"
                let progress = try #require(
                    await producer.snapshot.wait(timeout: .seconds(30)) { $0.errorText.contains(progressLine) || $0.termination != nil },
                    "no \(killAfterAcknowledgements) acknowledgements within 30 s; broker log:\n\(broker.log.suffixLines(20))")
                try #require(progress.termination == nil, "the producer ended before \(killAfterAcknowledgements) acknowledgements: \(progress.errorText.suffixLines(20))")
                try await broker.kill9()

                let finished = try #require(await producer.waitUntilFinished(timeout: .seconds(45)), "the producer did not stop after the broker died")
                let lastLine = finished.outputText.split(separator: "\n").last.map(String.init) ?? ""
                let result = try JSONDecoder().decode(CrashProducer.self, from: Data(lastLine.utf8))
                #expect(result.acked.count >= killAfterAcknowledgements)
                // The broker died while records were in flight, not after the producer was done.
                #expect(result.producedCount > result.acked.count, "every produced record was acknowledged: the kill came too late to test anything")

                try await broker.restart()
                let stored: ConsumeAll = try await Tools.runScript("confluent_consume_all.py", [
                    "--bootstrap", broker.bootstrap, "--topic", topic, "--partitions", String(partitionCount),
                ])
                #expect(stored.errors.isEmpty, "\(stored.errors)")
                let storedByPosition = Dictionary(stored.records.map { (InteropRecord.Position(partition: $0.partition, offset: $0.offset), $0.value) },
                                                  uniquingKeysWith: { first, _ in first })
                let lost = result.acked.filter { storedByPosition[InteropRecord.Position(partition: $0.partition, offset: $0.offset)] != .some($0.value) }
                #expect(lost.isEmpty, "\(lost.count) of \(result.acked.count) acknowledged records lost or changed, first: \(lost.prefix(5)); broker log:\n\(broker.log.suffixLines(20))")
                for partition in 0..<Int32(partitionCount) {
                    let offsets = stored.records.filter { $0.partition == partition }.map(\.offset)
                    #expect(offsets == Array(0..<Int64(offsets.count)), "partition \(partition): offsets not contiguous from 0")
                    #expect(stored.highWatermarks[String(partition)] == Int64(offsets.count))
                }
                // The idempotent producer never retried to a new broker: no value is stored twice.
                let values = stored.records.map(\.value)
                #expect(Set(values).count == values.count, "a record is stored twice")
            }
        }

        /// Garbage a crash can leave after the last complete batch of the active segment.
        enum TornTail: String, CaseIterable, CustomTestStringConvertible {
            /// The first half of the next batch (a write cut short).
            case halfBatch
            /// Only the first 17 bytes of the next batch: its length field promises more.
            case headerFragment
            /// A whole next batch with one byte of its records flipped (CRC mismatch).
            case corruptedBatch
            /// Zeros, as in space a file system allocated but never wrote.
            case zeros

            var testDescription: String { rawValue }

            /// The tail for a log whose last batch is `lastBatch`, which ends at `nextOffset`.
            func bytes(after lastBatch: Data, nextOffset: Int64) -> Data {
                // A copy of the last batch renumbered to start at the log end offset (the base
                // offset is outside the CRC), so only the damage makes it invalid.
                var next = lastBatch
                withUnsafeBytes(of: nextOffset.bigEndian) { next.replaceSubrange(0..<8, with: $0) }
                switch self {
                case .halfBatch: return next.prefix(next.count / 2)
                case .headerFragment: return next.prefix(17)
                case .corruptedBatch:
                    next[next.count - 1] ^= 0xFF
                    return next
                case .zeros: return Data(count: 4096)
                }
            }
        }

        @Test("a torn tail at the end of the active segment is cut at restart; earlier records stay and offsets continue",
              arguments: TornTail.allCases)
        func tornTailIsCutAtRestart(tail: TornTail) async throws {
            try await BrokerProcess.with { broker in
                let topic = "torn"
                let first = (0..<20).map { "key-\($0):value-\($0)" }
                let second = (20..<40).map { "key-\($0):value-\($0)" }
                try await Kcat.produce(bootstrap: broker.bootstrap, topic: topic, partition: 0, lines: first)
                try await Kcat.produce(bootstrap: broker.bootstrap, topic: topic, partition: 0, lines: second)
                try await broker.kill9()

                let segmentFile = broker.segmentFile(topic: topic, partition: 0)
                let before = try await DumpedSegment.read(segmentFile)
                try #require(before.valid && before.batches.count >= 2)
                let last = try #require(before.batches.last)
                let contents = try Data(contentsOf: segmentFile)
                let lastBatch = Data(contents[Int(last.position)..<Int(last.position + (last.size ?? 0))])
                let torn = tail.bytes(after: lastBatch, nextOffset: try #require(last.lastOffset) + 1)
                let handle = try FileHandle(forWritingTo: segmentFile)
                try handle.seekToEnd()
                try handle.write(contentsOf: torn)
                try handle.close()
                let damaged = try await DumpedSegment.read(segmentFile)
                #expect(!damaged.valid, "dump-log must see the torn tail")

                try await broker.restart()
                let cutLine = "\(topic)-0: recovery cut \(torn.count) bytes at \(segmentFile.path):\(contents.count)"
                let sawCut = await broker.waitForLog(containing: cutLine, timeout: .seconds(10))
                #expect(sawCut, "expected '\(cutLine)' in the broker log:\n\(broker.log.suffixLines(20))")
                let repaired = try await DumpedSegment.read(segmentFile)
                #expect(repaired.valid)
                #expect(repaired.sizeBytes == Int64(contents.count))

                let third = (40..<50).map { "key-\($0):value-\($0)" }
                try await Kcat.produce(bootstrap: broker.bootstrap, topic: topic, partition: 0, lines: third)
                let consumed = try await Kcat.consume(bootstrap: broker.bootstrap, topic: topic, partition: 0, count: 51)
                let lines = first + second + third
                #expect(consumed.map(\.offset) == Array(0..<Int64(lines.count)))
                #expect(consumed.map { "\(Data.text(fromHex: $0.key)):\(Data.text(fromHex: $0.value))" } == lines)

                // And a clean stop after all that.
                #expect(try await broker.terminate() == ProcessSnapshot.Termination(status: 0, wasSignalled: false))
            }
        }
    }
}

extension InteropTests {
    /// `rill.simulate.power.loss`: a kill -9 loses what was not synced, as a power cut would —
    /// so acknowledged records survive exactly when the flush policy synced them.
    @Suite struct PowerLossTests {
        @Test("power-loss mode: with flush.messages=1 nothing acknowledged is lost; with a large one, unsynced acknowledged records are",
              arguments: [1, 10_000_000])
        func killLosesWhatWasNotSynced(flushMessages: Int) async throws {
            let overrides = ["rill.simulate.power.loss=true", "log.flush.interval.messages=\(flushMessages)", "num.partitions=1"]
            try await BrokerProcess.with(overrides: overrides) { broker in
                let topic = "power"
                let records = (0..<300).map { ProducerRecord(topic: topic, partition: 0, key: nil, value: "value-\($0)") }
                let reports = try await RillClients.produceAll(records, to: broker, ["acks": "1", "linger.ms": "2"])
                try #require(reports.count == 300 && reports.values.allSatisfy { $0.error == nil }, "every record acknowledged")
                let partition = TopicPartition(topic, 0)
                let before = try await RillClients.withAdmin(broker) { try await $0.listOffsets([partition: .latest])[partition]!.offset }
                #expect(before == Offset(300), "readers see unsynced records while the broker runs")

                try await broker.kill9()
                try await broker.restart()
                let after = try await RillClients.withAdmin(broker) { try await $0.listOffsets([partition: .latest])[partition]!.offset }
                if flushMessages == 1 {
                    #expect(after == Offset(300), "every acknowledged record was synced before its acknowledgement")
                    let read = try await RillClients.withConsumer(broker, ["auto.offset.reset": "earliest"]) { consumer in
                        consumer.assign([partition])
                        return try await RillClients.poll(consumer, count: 300)
                    }
                    #expect(read.map { $0.value.map { String(buffer: $0) } } == records.map { $0.value.map { String(buffer: $0) } })
                } else {
                    #expect(after < Offset(300), "acknowledged but unsynced records must be gone after a simulated power cut")
                }
            }
        }
    }
}
