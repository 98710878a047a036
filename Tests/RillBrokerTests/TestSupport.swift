import NIOCore
import RillBroker
import RillFormat
import RillProtocol
import RillStorage


/// One record as tests describe it: key and value as text (nil for null), a timestamp.
struct TestRecord: Hashable {
    var key: String?
    var value: String?
    var timestamp: Int64

    init(_ key: String?, _ value: String?, timestamp: Int64 = 1_000) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
    }
}

/// How a test producer stamps its batches: no idempotence by default.
struct ProducerStamp {
    var producerID: Int64 = -1
    var producerEpoch: Int16 = -1
    var baseSequence: Int32 = -1
}

/// A magic-2 batch of `records`, as a producer would send it.
func makeBatch(_ records: [TestRecord], compression: CompressionType = .none, producer: ProducerStamp = ProducerStamp(),
               isTransactional: Bool = false) throws -> ByteBuffer {
    var builder = RecordBatchBuilder(
        compression: compression, producerID: ProducerID(producer.producerID), producerEpoch: ProducerEpoch(producer.producerEpoch),
        baseSequence: SequenceNumber(producer.baseSequence), isTransactional: isTransactional)
    for record in records {
        builder.append(key: record.key.map { Array($0.utf8) }, value: record.value.map { Array($0.utf8) },
                       timestamp: Timestamp(milliseconds: record.timestamp))
    }
    return try builder.build()
}

/// `count` records "k0"="v0", "k1"="v1", … at timestamp 1000.
func records(_ count: Int, prefix: String = "") -> [TestRecord] {
    (0..<count).map { TestRecord("\(prefix)k\($0)", "\(prefix)v\($0)") }
}

extension ByteBuffer {
    /// A copy with the big-endian `value` stored at `offset` of the readable bytes.
    func setting<T: FixedWidthInteger>(_ value: T, at offset: Int) -> ByteBuffer {
        var copy = self
        copy.setInteger(value, at: copy.readerIndex + offset)
        return copy
    }

    /// A copy with the batch CRC recomputed, as a producer that meant the change would write it.
    func withChecksumUpdated() -> ByteBuffer {
        var copy = self
        copy.withUnsafeMutableReadableBytes { RecordBatch.updateChecksum($0) }
        return copy
    }

    /// A copy with the byte at `offset` of the readable bytes inverted.
    func flippingByte(at offset: Int) -> ByteBuffer {
        var copy = self
        let byte = copy.getInteger(at: copy.readerIndex + offset, as: UInt8.self)!
        copy.setInteger(~byte, at: copy.readerIndex + offset)
        return copy
    }
}

/// A topic configuration from the broker's defaults plus topic-level `overrides`.
func topicConfiguration(_ overrides: [String: String] = [:], broker: [(String, String)] = []) throws -> TopicConfiguration {
    try TopicConfiguration.make(defaults: try BrokerConfiguration(pairs: broker), overrides: overrides)
}

let t0 = Timestamp(milliseconds: 1_000)

/// A partition on a simulated file system, as the broker would open it.
struct PartitionFixture {
    let fileSystem = SimulatedFileSystem()
    let topicPartition: TopicPartition
    let configuration: TopicConfiguration
    var directory: String { "/data/\(topicPartition.directoryName)" }

    init(_ overrides: [String: String] = [:]) throws {
        self.init(configuration: try topicConfiguration(overrides))
    }

    init(configuration: TopicConfiguration, topicPartition: TopicPartition = TopicPartition("orders", 0)) {
        self.configuration = configuration
        self.topicPartition = topicPartition
    }

    /// Opens the log (recovering what is there) and leads it at `leaderEpoch`.
    func open(leaderEpoch: Int32 = 0) throws -> Partition {
        let log = try PartitionLog.open(directory: directory, fileSystem: fileSystem, configuration: configuration.log, now: t0)
        return try Partition(topicPartition: topicPartition, log: log, leaderEpoch: LeaderEpoch(leaderEpoch), configuration: configuration)
    }
}

extension Partition {
    /// Produces `batch` with Produce v8 and acks=1 at time `now`.
    @discardableResult
    func produce(_ batch: ByteBuffer?, version: Int16 = 8, acks: Int16 = 1, now: Int64 = 5_000) -> ProduceResult {
        produce(batch, produceVersion: version, acks: acks, now: Timestamp(milliseconds: now))
    }

    /// The batches a consumer would get from `offset` (everything up to the high watermark).
    func fetchedBatches(from offset: Offset, maximumBytes: Int = 1 << 20, currentLeaderEpoch: LeaderEpoch = .none) throws -> [RecordBatch] {
        let result = fetch(offset: offset, maximumBytes: maximumBytes, currentLeaderEpoch: currentLeaderEpoch, includeFirstBatchWhole: true)
        guard let slice = result.records else { return [] }
        var bytes = try slice.read()
        var batches: [RecordBatch] = []
        while bytes.readableBytes > 0 {
            let batch = try RecordBatch(validating: bytes)
            batches.append(batch)
            bytes.moveReaderIndex(forwardBy: batch.header.totalSize)
        }
        return batches
    }

    /// Every record value a consumer can read from the log start, in offset order.
    func readableValues() throws -> [String] {
        try fetchedBatches(from: log.logStartOffset).flatMap { batch in
            try batch.records().map { $0.value.map { String(buffer: $0) } ?? "∅" }
        }
    }
}
