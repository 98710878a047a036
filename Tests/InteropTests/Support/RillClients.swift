import Foundation
import NIOCore
import RillClient
import RillFormat
import RillProtocol
import Testing

/// Rill's own client (`RillClient`) in the test process, against a `rill broker` process:
/// configured from Kafka properties, always closed at the end, records converted to the
/// `InteropRecord`s the driver scripts speak so comparisons are byte for byte.
enum RillClients {
    static func properties(_ broker: BrokerProcess, _ extra: [String: String]) -> [String: String] {
        ["bootstrap.servers": broker.bootstrap, "request.timeout.ms": "10000", "socket.connection.setup.timeout.ms": "5000"]
            .merging(extra) { $1 }
    }

    /// A producer for `body`, closed (flushed) afterwards, also when `body` throws.
    static func withProducer<Result>(_ broker: BrokerProcess, _ extra: [String: String] = [:],
                                     _ body: (KafkaProducer) async throws -> Result) async throws -> Result {
        let producer = try await KafkaProducer.start(configuration: try ProducerConfiguration(properties: properties(broker, extra)))
        do {
            let result = try await body(producer)
            await producer.close()
            return result
        } catch {
            await producer.close()
            throw error
        }
    }

    /// A consumer for `body`, closed afterwards, also when `body` throws.
    static func withConsumer<Result>(_ broker: BrokerProcess, _ extra: [String: String] = [:],
                                     _ body: (KafkaConsumer) async throws -> Result) async throws -> Result {
        let consumer = KafkaConsumer(configuration: try ConsumerConfiguration(properties: properties(broker, extra)))
        do {
            let result = try await body(consumer)
            await consumer.close()
            return result
        } catch {
            await consumer.close()
            throw error
        }
    }

    static func withAdmin<Result>(_ broker: BrokerProcess, _ body: (KafkaAdmin) async throws -> Result) async throws -> Result {
        var configuration = ClientConfiguration(bootstrapServers: [("127.0.0.1", broker.port)])
        configuration.requestTimeoutMilliseconds = 10_000
        let admin = KafkaAdmin(configuration: configuration)
        do {
            let result = try await body(admin)
            await admin.close()
            return result
        } catch {
            await admin.close()
            throw error
        }
    }

    /// Starts a producer, enqueues `records` in order with their index as context, closes it
    /// (which flushes) and returns every delivery report by context.
    static func produceAll(_ records: [ProducerRecord], to broker: BrokerProcess, _ extra: [String: String] = [:]) async throws -> [UInt64: DeliveryReport] {
        let producer = try await KafkaProducer.start(configuration: try ProducerConfiguration(properties: properties(broker, extra)))
        let collector = Task {
            var reports: [UInt64: DeliveryReport] = [:]
            // Ends when close() finishes the stream.
            for await report in producer.deliveryReports { reports[report.context] = report }
            return reports
        }
        do {
            for (index, record) in records.enumerated() { try await producer.enqueue(record, context: UInt64(index)) }
        } catch {
            await producer.close()
            throw error
        }
        await producer.close()
        return await collector.value
    }

    /// Polls until `isDone` holds for everything polled so far or `timeout` passes.
    static func poll(_ consumer: KafkaConsumer, timeout: Duration = .seconds(20),
                     until isDone: ([ConsumerRecord]) -> Bool) async throws -> [ConsumerRecord] {
        let deadline = ContinuousClock.now + timeout
        var records: [ConsumerRecord] = []
        while !isDone(records), ContinuousClock.now < deadline {
            records += try await consumer.poll(timeout: .milliseconds(500))
        }
        return records
    }

    /// Polls until `count` records came (or `timeout` passes).
    static func poll(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(20)) async throws -> [ConsumerRecord] {
        try await poll(consumer, timeout: timeout) { $0.count >= count }
    }
}

extension ByteBuffer {
    var hex: String { readableBytesView.map { String(format: "%02x", $0) }.joined() }

    init(hex: String) {
        self.init(bytes: Data(hex: hex) ?? Data())
    }
}

extension InteropRecord {
    /// A record as Rill's consumer returned it.
    init(_ record: ConsumerRecord) {
        self.init(partition: record.topicPartition.partition, offset: record.offset.rawValue, key: record.key?.hex, value: record.value?.hex,
                  headers: record.headers.map { [$0.key, $0.value?.hex] }, timestamp: record.timestamp.milliseconds)
    }

    /// The record for Rill's producer (partition explicit only when `explicitPartition`).
    func producerRecord(topic: String, explicitPartition: Bool) -> ProducerRecord {
        ProducerRecord(
            topic: topic, partition: explicitPartition ? partition : nil, key: key.map { ByteBuffer(hex: $0) }, value: value.map { ByteBuffer(hex: $0) },
            headers: headers.map { RecordHeader(key: $0.first.flatMap { $0 } ?? "", value: $0.last.flatMap { $0 }.map { ByteBuffer(hex: $0) }) },
            timestamp: Timestamp(milliseconds: timestamp))
    }

    /// This record where the broker put it.
    func at(partition: Int32, offset: Int64) -> InteropRecord {
        var placed = self
        placed.partition = partition
        placed.offset = offset
        return placed
    }
}
