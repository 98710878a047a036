import ArgumentParser
import Foundation
import Histogram
import NIOConcurrencyHelpers
import NIOCore
import RillClient
import RillFormat
import RillProtocol

/// `rill perf produce`: Kafka's kafka-producer-perf-test, on Rill's client.
struct PerfProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Producer throughput and latency (like kafka-producer-perf-test).",
        discussion: """
            Sends --num-records records without keys, at --throughput records/s (-1: as fast as \
            possible). Latency is from the call that hands a record to the producer to its \
            acknowledgement, as kafka-producer-perf-test measures it, in an HdrHistogram without an \
            upper bound. Prints a line every 5 s and a final summary line.
            """)

    @OptionGroup var bootstrap: BootstrapOptions
    @Option(help: "Topic.") var topic: String
    @Option(name: .customLong("num-records"), help: "Records to send.") var numberOfRecords: Int
    @Option(name: .customLong("record-size"), help: "Bytes per record value.") var recordSize: Int?
    @Option(name: .customLong("payload-file"), help: "A file whose lines are used as record values, in turn.") var payloadFile: String?
    @Option(parsing: .unconditional, help: "Records per second; -1 for no limit.") var throughput: Int = -1
    @Option(name: .customLong("producer-props"), parsing: .upToNextOption, help: "Producer properties key=value …") var producerProperties: [String] = []
    @Flag(help: "Print one JSON object at the end instead of the summary line.") var json = false

    func validate() throws {
        guard numberOfRecords > 0 else { throw ValidationError("--num-records must be positive") }
        guard (recordSize == nil) != (payloadFile == nil) else { throw ValidationError("give exactly one of --record-size and --payload-file") }
        if let recordSize, recordSize < 0 || recordSize > 64 << 20 { throw ValidationError("--record-size must be between 0 and 64 MiB") }
        guard throughput == -1 || throughput > 0 else { throw ValidationError("--throughput must be positive or -1") }
    }

    func run() async throws {
        var properties = try keyValuePairs(producerProperties, option: "--producer-props")
        properties["bootstrap.servers"] = properties["bootstrap.servers"] ?? bootstrap.bootstrap
        let configuration: ProducerConfiguration
        do { configuration = try ProducerConfiguration(properties: properties) } catch let error as KafkaClientError { throw ValidationError(error.message) }
        let payloads = try makePayloads()
        try await runReportingErrors {
            let producer = try await KafkaProducer.start(configuration: configuration)
            let statistics = ProducerStatistics(json: json)
            let reporter = Task { await statistics.consume(producer.deliveryReports.batches) }
            let pacer = Pacer(recordsPerSecond: throughput)
            // Options copied out of their property wrappers once: read per record, each read
            // instantiated generic metadata (about a tenth of the tool's CPU at 100-byte records).
            let (topic, throughput, numberOfRecords) = (topic, throughput, numberOfRecords)
            let start = ContinuousClock.now
            for index in 0..<numberOfRecords {
                if throughput > 0 { await pacer.wait(forRecord: index, start: start) }
                let record = ProducerRecord(topic: topic, key: nil, value: payloads[index % payloads.count])
                let sentAt = DispatchTime.now().uptimeNanoseconds
                // The synchronous path when there is room; wait (back-pressure) only when not.
                if try !producer.offer(record, context: sentAt) {
                    try await producer.enqueue(record, context: sentAt)
                }
            }
            await producer.close()
            await reporter.value
            statistics.printSummary(records: numberOfRecords, bytes: payloads.count == 1 ? numberOfRecords * payloads[0].readableBytes : nil, elapsed: ContinuousClock.now - start)
        }
    }

    /// Random upper-case letters (kafka-producer-perf-test's payload), or the file's lines.
    func makePayloads() throws -> [ByteBuffer] {
        if let recordSize {
            var generator = SystemRandomNumberGenerator()
            return [ByteBuffer(bytes: (0..<recordSize).map { _ in UInt8.random(in: 65...90, using: &generator) })]
        }
        let text: String
        do { text = try String(contentsOfFile: payloadFile!, encoding: .utf8) } catch {
            throw ValidationError("cannot read --payload-file \(payloadFile!): \(error.localizedDescription)")
        }
        let lines = text.split(separator: "\n").map { ByteBuffer(string: String($0)) }
        guard !lines.isEmpty else { throw ValidationError("--payload-file \(payloadFile!) has no lines") }
        return lines
    }
}

/// Throughput throttling by intended send times (sleeps only when ahead of schedule).
struct Pacer {
    let recordsPerSecond: Int

    func wait(forRecord index: Int, start: ContinuousClock.Instant) async {
        guard recordsPerSecond > 0, index % max(1, recordsPerSecond / 1000) == 0 else { return }
        let due = start + .nanoseconds(Int64(Double(index) / Double(recordsPerSecond) * 1e9))
        if ContinuousClock.now < due { try? await Task.sleep(until: due, clock: .continuous) }
    }
}

/// Counts acknowledgements and records latencies; prints Kafka-style progress every 5 s.
final class ProducerStatistics: @unchecked Sendable {
    // @unchecked: every property is read and written under `lock`.
    private let lock = NIOLock()
    private var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    private var windowHistogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    private var acknowledged = 0
    private var failed = 0
    private var firstFailure: KafkaClientError?
    private var windowStart = ContinuousClock.now
    private var windowCount = 0
    private var windowBytes = 0
    private let json: Bool

    init(json: Bool) { self.json = json }

    func consume(_ batches: AsyncStream<[DeliveryReport]>) async {
        for await batch in batches {
            let now = DispatchTime.now().uptimeNanoseconds
            lock.withLock {
                for report in batch {
                    if let error = report.error {
                        failed += 1
                        if firstFailure == nil { firstFailure = error }
                        continue
                    }
                    let micros = (now &- report.context) / 1_000
                    _ = histogram.record(micros)
                    _ = windowHistogram.record(micros)
                    acknowledged += 1
                    windowCount += 1
                }
                if ContinuousClock.now - windowStart >= .seconds(5) { printWindow() }
            }
        }
    }

    private func printWindow() {
        let elapsed = seconds(ContinuousClock.now - windowStart)
        if !json {
            let rate = Double(windowCount) / elapsed
            FileHandle.standardError.write(Data(String(format: "%d records sent, %.1f records/sec, %.2f ms avg latency, %.2f ms max latency.\n",
                                                       windowCount, rate, windowHistogram.mean / 1000, Double(windowHistogram.max) / 1000).utf8))
        }
        windowHistogram.reset()
        windowCount = 0
        windowStart = .now
    }

    func printSummary(records: Int, bytes: Int?, elapsed: Duration) {
        lock.withLock {
            let seconds = seconds(elapsed)
            let recordsPerSecond = Double(acknowledged) / seconds
            let megabytesPerSecond = bytes.map { Double($0) * Double(acknowledged) / Double(records) / seconds / 1_048_576 } ?? 0
            let milliseconds = { (value: UInt64) in Double(value) / 1000 }
            if json {
                let object: [String: Any] = [
                    "records": acknowledged, "failed": failed, "recordsPerSecond": recordsPerSecond, "megabytesPerSecond": megabytesPerSecond,
                    "latencyMs": ["avg": histogram.mean / 1000, "max": milliseconds(histogram.max), "p50": milliseconds(histogram.valueAtPercentile(50)),
                                  "p95": milliseconds(histogram.valueAtPercentile(95)), "p99": milliseconds(histogram.valueAtPercentile(99)),
                                  "p999": milliseconds(histogram.valueAtPercentile(99.9))],
                ]
                print(String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print(String(format: "%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, %.0f ms 50th, %.0f ms 95th, %.0f ms 99th, %.0f ms 99.9th.",
                             acknowledged, recordsPerSecond, megabytesPerSecond, histogram.mean / 1000, milliseconds(histogram.max),
                             milliseconds(histogram.valueAtPercentile(50)), milliseconds(histogram.valueAtPercentile(95)),
                             milliseconds(histogram.valueAtPercentile(99)), milliseconds(histogram.valueAtPercentile(99.9))))
            }
            if failed > 0 {
                FileHandle.standardError.write(Data("\(failed) record(s) failed; first: \(firstFailure!)\n".utf8))
            }
        }
    }
}

/// `rill perf consume`: Kafka's kafka-consumer-perf-test, on Rill's client.
struct PerfConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume", abstract: "Consumer throughput (like kafka-consumer-perf-test).",
        discussion: "Reads --messages records from the beginning of every partition of --topic and reports MB/s and records/s.")

    @OptionGroup var bootstrap: BootstrapOptions
    @Option(help: "Topic.") var topic: String
    @Option(help: "Records to consume.") var messages: Int
    @Option(name: .customLong("timeout-ms"), help: "Give up when no record arrives for this long.") var timeoutMilliseconds: Int = 10_000
    @Option(name: .customLong("consumer-props"), parsing: .upToNextOption, help: "Consumer properties key=value …") var consumerProperties: [String] = []
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        var properties = try keyValuePairs(consumerProperties, option: "--consumer-props")
        properties["bootstrap.servers"] = properties["bootstrap.servers"] ?? bootstrap.bootstrap
        properties["auto.offset.reset"] = properties["auto.offset.reset"] ?? "earliest"
        let configuration: ConsumerConfiguration
        do { configuration = try ConsumerConfiguration(properties: properties) } catch let error as KafkaClientError { throw ValidationError(error.message) }
        try await runReportingErrors {
            let consumer = KafkaConsumer(configuration: configuration)
            let info = try await consumer.cluster.topicMetadata(topic)
            consumer.assign(info.partitions.map { TopicPartition(topic, $0.partition) })
            var count = 0
            var bytes = 0
            let start = ContinuousClock.now
            var lastRecord = start
            while count < messages {
                let records = try await consumer.poll(timeout: .milliseconds(200))
                if records.isEmpty {
                    if ContinuousClock.now - lastRecord > .milliseconds(timeoutMilliseconds) { break }
                    continue
                }
                lastRecord = .now
                count += records.count
                for record in records { bytes += (record.value?.readableBytes ?? 0) + (record.key?.readableBytes ?? 0) }
            }
            let elapsed = seconds(lastRecord - start)
            await consumer.close()
            let megabytes = Double(bytes) / 1_048_576
            if json {
                let object: [String: Any] = ["records": count, "bytes": bytes, "seconds": elapsed, "recordsPerSecond": Double(count) / elapsed, "megabytesPerSecond": megabytes / elapsed]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec")
                print(String(format: "%@, %@, %.4f, %.4f, %d, %.4f", "\(Date(timeIntervalSinceNow: -elapsed))", "\(Date())", megabytes, megabytes / elapsed, count, Double(count) / elapsed))
            }
            if count < messages {
                FileHandle.standardError.write(Data("only \(count) of \(messages) records arrived within --timeout-ms\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

func seconds(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) / 1e18
}
