import DequeModule
import NIOCore
import RillFormat
import RillProtocol
import Testing
@testable import RillClient

/// What a consumer does with the records a Fetch brings: whole batches kept when the fetch
/// arrives (headers checked), decoded a batch at a time when `poll` reaches them, records
/// before the position dropped, bad batches an error after the records before them.
@Suite struct FetchedRecordsTests {
    static let partition = TopicPartition("t", 0)

    /// A batch of `count` records from `base`, values "offset N".
    static func batch(base: Int64, count: Int, control: Bool = false) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(baseOffset: Offset(base), isTransactional: control)
        for index in 0..<count {
            builder.append(key: nil, value: Array("offset \(base + Int64(index))".utf8), timestamp: Timestamp(milliseconds: 1_000))
        }
        var bytes = try builder.build()
        if control {
            // Set the control bit and reseal: control batches come from the broker's transaction markers.
            let attributes = bytes.getInteger(at: RecordBatchHeader.FieldOffset.attributes, as: Int16.self)! | (1 << 5)
            bytes.setInteger(attributes, at: RecordBatchHeader.FieldOffset.attributes)
            bytes.withUnsafeMutableReadableBytes { RecordBatch.updateChecksum($0) }
        }
        return bytes
    }

    static func joined(_ parts: [ByteBuffer]) -> ByteBuffer {
        var all = ByteBuffer()
        for var part in parts { all.writeBuffer(&part) }
        return all
    }

    /// Changes the last byte of the last record's value (the byte before its header count):
    /// the batch still decodes, but its CRC no longer matches.
    static func flipValueByte(in batch: inout ByteBuffer) {
        let index = batch.writerIndex - 2
        batch.setInteger(batch.getInteger(at: index, as: UInt8.self)! ^ 0x01, at: index)
    }

    static func offsets(_ records: some Sequence<ConsumerRecord>) -> [Int64] { records.map(\.offset.rawValue) }

    @Test func aFetchKeepsItsWholeBatchesAndLeavesACutOneForTheNextFetch() throws {
        let before = try Self.batch(base: 0, count: 3)  // all below the position: dropped
        let first = try Self.batch(base: 3, count: 4)
        let second = try Self.batch(base: 7, count: 2)
        let cut = try Self.batch(base: 9, count: 5)
        let bytes = Self.joined([before, first, second, cut.getSlice(at: cut.readerIndex, length: cut.readableBytes - 10)!])
        let fetched = FetchedRecordsDecoder.wholeBatches(bytes, topicPartition: Self.partition, position: Offset(5))
        #expect(fetched.error == nil)
        #expect(fetched.nextOffset == Offset(9))
        #expect(fetched.batches == Self.joined([first, second]))
    }

    @Test func aBadHeaderEndsTheWholeBatchesWithAnError() throws {
        var bad = try Self.batch(base: 4, count: 1)
        bad.setInteger(UInt8(1), at: RecordBatchHeader.FieldOffset.magic)
        let good = try Self.batch(base: 0, count: 4)
        let fetched = FetchedRecordsDecoder.wholeBatches(Self.joined([good, bad]), topicPartition: Self.partition, position: .zero)
        #expect(fetched.batches == good)
        #expect(fetched.nextOffset == Offset(4))
        #expect(fetched.error?.code == .protocolViolation)
    }

    @Test func decodingDropsRecordsBeforeThePositionAndSkipsControlBatches() throws {
        var batches = Self.joined([try Self.batch(base: 0, count: 5), try Self.batch(base: 5, count: 1, control: true), try Self.batch(base: 6, count: 2)])
        var records = Deque<ConsumerRecord>()
        try FetchedRecordsDecoder.decodeBatch(from: &batches, topicPartition: Self.partition, position: Offset(3), verifyChecksums: true, into: &records)
        #expect(Self.offsets(records) == [3, 4])
        #expect(records.map { String(buffer: $0.value!) } == ["offset 3", "offset 4"])
        try FetchedRecordsDecoder.decodeBatch(from: &batches, topicPartition: Self.partition, position: Offset(5), verifyChecksums: true, into: &records)
        #expect(Self.offsets(records) == [3, 4], "a control batch has no records for the application")
        try FetchedRecordsDecoder.decodeBatch(from: &batches, topicPartition: Self.partition, position: Offset(6), verifyChecksums: true, into: &records)
        #expect(Self.offsets(records) == [3, 4, 6, 7])
        #expect(batches.readableBytes == 0)
    }

    @Test func aBatchThatFailsItsChecksumThrowsUnlessChecksumsAreOff() throws {
        var damaged = try Self.batch(base: 0, count: 2)
        Self.flipValueByte(in: &damaged)
        var records = Deque<ConsumerRecord>()
        var copy = damaged
        #expect(throws: KafkaClientError.self) {
            try FetchedRecordsDecoder.decodeBatch(from: &copy, topicPartition: Self.partition, position: .zero, verifyChecksums: true, into: &records)
        }
        #expect(records.isEmpty)
        try FetchedRecordsDecoder.decodeBatch(from: &damaged, topicPartition: Self.partition, position: .zero, verifyChecksums: false, into: &records)
        #expect(Self.offsets(records) == [0, 1])
    }

    // MARK: Through the consumer (no broker: fetch results are applied as a fetch would)

    static func consumer(maximumPollRecords: Int) throws -> KafkaConsumer {
        var configuration = ConsumerConfiguration(bootstrapServers: [("127.0.0.1", 9)])
        configuration.maximumPollRecords = maximumPollRecords
        return KafkaConsumer(configuration: configuration)
    }

    /// Seeks `partition` to `offset` and applies `bytes` as the answer of a fetch from there.
    static func fetched(_ bytes: ByteBuffer, by consumer: KafkaConsumer, partition: TopicPartition, from offset: Int64) throws {
        try consumer.seek(partition, to: Offset(offset))
        let generation = consumer.state.withLockedValue { $0.partitions[partition]!.generation }
        consumer.apply(FetchedRecordsDecoder.wholeBatches(bytes, topicPartition: partition, position: Offset(offset)), to: partition, generation: generation)
    }

    @Test func pollsReturnFetchedRecordsInOrderUpToMaxPollRecords() async throws {
        let consumer = try Self.consumer(maximumPollRecords: 3)
        consumer.assign([Self.partition])
        try Self.fetched(Self.joined([try Self.batch(base: 10, count: 5), try Self.batch(base: 15, count: 2)]), by: consumer, partition: Self.partition, from: 11)
        #expect(consumer.state.withLockedValue { $0.partitions[Self.partition]!.fetchOffset } == Offset(17))
        var seen: [Int64] = []
        for _ in 0..<2 { seen += Self.offsets(try await consumer.poll(timeout: .zero)) }
        #expect(seen == [11, 12, 13, 14, 15, 16])
        #expect(try await consumer.position(Self.partition) == Offset(17))
        await consumer.close()
    }

    @Test func aCorruptBatchIsAnErrorAfterTheRecordsBeforeItAndIsFetchedAgain() async throws {
        let consumer = try Self.consumer(maximumPollRecords: 100)
        let onlyBad = TopicPartition("t", 0), goodThenBad = TopicPartition("t", 1), good = TopicPartition("t", 2)
        consumer.assign([onlyBad, goodThenBad, good])
        var damaged = try Self.batch(base: 4, count: 3)
        Self.flipValueByte(in: &damaged)
        try Self.fetched(damaged, by: consumer, partition: onlyBad, from: 4)
        try Self.fetched(Self.joined([try Self.batch(base: 0, count: 4), damaged, try Self.batch(base: 7, count: 1)]), by: consumer, partition: goodThenBad, from: 0)
        try Self.fetched(try Self.batch(base: 0, count: 2), by: consumer, partition: good, from: 0)
        var seen: [TopicPartition: [Int64]] = [:]
        var errors: [KafkaClientError] = []
        // Each poll starts at the next partition; three polls return every record and both
        // errors, whatever the order. (A fourth would go to the network, which this test has none of.)
        for _ in 0..<3 {
            do {
                for record in try await consumer.poll(timeout: .zero) { seen[record.topicPartition, default: []].append(record.offset.rawValue) }
            } catch let error as KafkaClientError {
                errors.append(error)
            }
        }
        #expect(seen[goodThenBad] == [0, 1, 2, 3])
        #expect(seen[good] == [0, 1], "records taken in the poll that finds an error are not lost to it")
        #expect(seen[onlyBad] == nil)
        #expect(errors.count == 2 && errors.allSatisfy { $0.code == .protocolViolation })
        for partition in [onlyBad, goodThenBad] {
            let state = consumer.state.withLockedValue { $0.partitions[partition]! }
            #expect(state.fetchOffset == Offset(4) && state.position == Offset(4), "fetching starts again at the bad batch")
            #expect(state.undecoded.isEmpty && state.bufferedBytes == 0 && state.error == nil)
        }
        await consumer.close()
    }
}
