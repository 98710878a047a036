import Foundation
import NIOCore
import RillBroker
import RillFormat
import RillProtocol
@testable import RillServer
import RillStorage
import Testing

/// Produce over the wire: a bad batch is never acknowledged nor appended; a good one comes
/// back from Fetch byte for byte.
extension BrokerServerTests {
    /// Nothing is in the partition: ListOffsets says 0 at both ends and Fetch returns no records.
    static func expectEmpty(_ connection: TestConnection, topic: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try connection.listOffset(topic: topic, timestamp: -1).offset == .zero, sourceLocation: sourceLocation)
        #expect(try connection.listOffset(topic: topic, timestamp: -2).offset == .zero, sourceLocation: sourceLocation)
        let fetched = try connection.fetch(topic: topic)
        #expect(fetched.errorCode == .none, sourceLocation: sourceLocation)
        #expect(fetched.highWatermark == .zero, sourceLocation: sourceLocation)
        #expect(fetched.records?.readableBytes ?? 0 == 0, sourceLocation: sourceLocation)
    }

    @Test func aBatchWithACorruptedChecksumIsRejectedAndNotAppended() throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        try connection.createTopic("orders")
        let batch = try makeBatch(3)
        for position in [batch.readableBytes - 1, RecordBatchHeader.FieldOffset.crc, RecordBatchHeader.FieldOffset.maxTimestamp] {
            let answer = try connection.produce(topic: "orders", records: batch.flippingByte(at: position))
            #expect(answer.errorCode == .corruptMessage, "byte \(position)")
            #expect(answer.baseOffset == .none)
        }
        try Self.expectEmpty(connection, topic: "orders")
        // The offsets were not used up: the first good batch starts at 0.
        #expect(try connection.produce(topic: "orders", records: batch).baseOffset == .zero)
        try broker.stop()
    }

    /// Retention renames the segments it removes (`.deleted`) on the partition's loop and
    /// unlinks them on the thread pool: the log start moves, and no renamed file stays behind
    /// (with `file.delete.delay.ms` 0; by default up to two log files wait to be reused).
    @Test func retentionRemovesExpiredSegmentFilesAndLeavesNoneRenamed() throws {
        let broker = try TestBroker([("log.retention.check.interval.ms", "20")])
        let connection = try broker.connect()
        try connection.createTopic("expiring", configs: ["segment.bytes": "2000", "retention.bytes": "3000", "file.delete.delay.ms": "0"])
        for _ in 0..<10 {
            #expect(try connection.produce(topic: "expiring", records: try makeBatch(4, valueBytes: 200)).errorCode == .none)
        }
        let partitionDirectory = broker.directory.path + "/expiring-0"
        func files() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: partitionDirectory) }
        // Ten batches of about 900 bytes fill five 2,000-byte segments; 3,000 bytes of retention
        // leave at most three (retention may already be running while they are produced).
        var settled = false
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            let names = try files()
            if try connection.listOffset(topic: "expiring", timestamp: -2).offset > .zero,
               !names.contains(where: { $0.hasSuffix(SegmentFiles.deletedSuffix) }),
               names.filter({ $0.hasSuffix(".log") }).count <= 3 {
                settled = true
                break
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(settled, "files left: \((try? files().sorted()) ?? [])")
        #expect(try connection.listOffset(topic: "expiring", timestamp: -1).offset == Offset(40))
        try broker.stop()
    }

    /// A fetch whose response is still going out with sendfile (its client reads slowly) holds
    /// its segment's file: retention removes the segment and later rolls reuse removed files,
    /// but not that one until the response is sent, and the client gets the batches it asked for.
    @Test func aFetchStillSendingFromARemovedSegmentGetsItsOwnBytes() throws {
        let broker = try TestBroker([("log.retention.check.interval.ms", "20")])
        let connection = try broker.connect()
        let segmentBytes = 4 << 20
        // (retention.ms -1: the test batches' timestamps are from 1970.)
        try connection.createTopic("reused", configs: ["segment.bytes": "\(segmentBytes)", "retention.bytes": "\(2 * segmentBytes)", "retention.ms": "-1"])
        // Batches of about 256 KiB whose keys say which batch they are; 15 fill a segment.
        var produced = 0
        func produce(_ count: Int) throws {
            for _ in 0..<count {
                let batch = try makeBatch(16, prefix: "b\(produced)-", valueBytes: 16 * 1024)
                #expect(try connection.produce(topic: "reused", records: batch).errorCode == .none)
                produced += 1
            }
        }
        try produce(20)
        // A client with a tiny receive window asks for the whole first segment and reads nothing yet.
        let slowReader = try broker.connect(receiveBufferBytes: 4096)
        let fetchID = try slowReader.send(TestConnection.fetchRequest(topic: "reused", offset: .zero, partitionMaximumBytes: Int32(segmentBytes)),
                                          version: TestConnection.fetchVersion)
        // Its response has begun: the fetch was answered from the first segment.
        let responseSize = try #require(try slowReader.receiveFrameSize())
        // Producing on, retention removes the first segment (its file becomes a spare, the
        // first in line), then rolls take spares for their new segments.
        let deadline = ContinuousClock.now + .seconds(10)
        while try connection.listOffset(topic: "reused", timestamp: -2).offset == .zero, ContinuousClock.now < deadline {
            try produce(1)
        }
        #expect(try connection.listOffset(topic: "reused", timestamp: -2).offset > .zero, "retention never removed the first segment")
        try produce(60)
        // The response holds the first segment's batches, in order, with their own keys.
        let response = try slowReader.decode(FetchResponse.self, frame: try slowReader.receiveFrameBody(responseSize),
                                             version: TestConnection.fetchVersion, correlationID: fetchID)
        let received = try batches(in: response.topics[0].partitions[0].records)
        #expect(received.count >= 10, "\(response.topics[0].partitions[0].errorCode), \(response.topics[0].partitions[0].records?.readableBytes ?? -1) bytes")
        for (index, batch) in received.enumerated() {
            #expect(batch.header.baseOffset == Offset(Int64(index) * 16))
            let key = try batch.records().first?.key.map { String(buffer: $0) }
            #expect(key == "b\(index)-k0", "batch \(index) holds \(key ?? "nothing")")
        }
        try broker.stop()
    }

    @Test func aBatchOverMaxMessageBytesIsTooLargeAndNotAppended() throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        try connection.createTopic("small", configs: ["max.message.bytes": "1000"])
        let answer = try connection.produce(topic: "small", records: try makeBatch(1, valueBytes: 2_000))
        #expect(answer.errorCode == .messageTooLarge)
        #expect(answer.baseOffset == .none)
        try Self.expectEmpty(connection, topic: "small")
        #expect(try connection.produce(topic: "small", records: try makeBatch(1, valueBytes: 500)).errorCode == .none)
        try broker.stop()
    }

    @Test func aValidBatchIsStoredAndFetchedBackUnchanged() throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        try connection.createTopic("orders")
        var builder = RecordBatchBuilder(compression: .none)
        builder.append(key: Array("order-1".utf8), value: Array("{\"amount\":42}".utf8),
                       headers: [RecordHeader(key: "trace", value: ByteBuffer(bytes: [0, 1, 2, 255])), RecordHeader(key: "empty", value: nil)],
                       timestamp: Timestamp(milliseconds: 1_700_000_000_123))
        builder.append(key: nil, value: Array("keyless".utf8), timestamp: Timestamp(milliseconds: 1_700_000_000_456))
        builder.append(key: Array("tombstone".utf8), value: nil, timestamp: Timestamp(milliseconds: 1_700_000_000_001))
        let batch = try builder.build()

        let answer = try connection.produce(topic: "orders", records: batch)
        #expect(answer.errorCode == .none)
        #expect(answer.baseOffset == .zero)
        #expect(answer.logAppendTime == .none)
        #expect(answer.logStartOffset == .zero)

        let fetched = try connection.fetch(topic: "orders")
        #expect(fetched.errorCode == .none)
        #expect(fetched.highWatermark == Offset(3))
        #expect(fetched.lastStableOffset == Offset(3))
        let stored = try #require(try batches(in: fetched.records).first)
        let sent = try RecordBatch(validating: batch)
        #expect(try stored.records() == sent.records())
        #expect(try stored.records().map { stored.timestamp(of: $0).milliseconds } == [1_700_000_000_123, 1_700_000_000_456, 1_700_000_000_001])
        #expect(try stored.records().first?.headers == [RecordHeader(key: "trace", value: ByteBuffer(bytes: [0, 1, 2, 255])), RecordHeader(key: "empty", value: nil)])
        // Only the offset and the leader epoch (outside the CRC) differ from what was sent.
        let sentBytes = Array(batch.readableBytesView)
        let storedBytes = Array(stored.bytes.readableBytesView)
        #expect(storedBytes.count == sentBytes.count)
        #expect(storedBytes[8..<12] == sentBytes[8..<12])
        #expect(storedBytes[16...] == sentBytes[16...])
        #expect(stored.header.partitionLeaderEpoch == LeaderEpoch(0))
        try broker.stop()
    }

    /// A fetch answers small file ranges from memory and large ones with sendfile
    /// (`KafkaConnectionHandler.sendfileMinimumBytes`); both come back byte for byte, and the
    /// frames around them stay intact on the connection.
    @Test func smallAndLargeFetchRangesComeBackWhole() throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        try connection.createTopic("sizes", partitions: 2)
        let small = try makeBatch(3, prefix: "s")
        let large = try makeBatch(40, prefix: "l", valueBytes: 2_000)
        #expect(small.readableBytes < KafkaConnectionHandler.sendfileMinimumBytes)
        #expect(large.readableBytes > KafkaConnectionHandler.sendfileMinimumBytes)
        #expect(try connection.produce(topic: "sizes", partition: 0, records: small).errorCode == .none)
        #expect(try connection.produce(topic: "sizes", partition: 1, records: large).errorCode == .none)
        for _ in 0..<3 {
            let fromMemory = try connection.fetchBatches(topic: "sizes", partition: 0)
            let fromFile = try connection.fetchBatches(topic: "sizes", partition: 1)
            #expect(try values(fromMemory) == values([RecordBatch(validating: small)]))
            #expect(try values(fromFile) == values([RecordBatch(validating: large)]))
            #expect(fromFile.first.map { Array($0.bytes.readableBytesView[16...]) } == Array(large.readableBytesView[16...]))
        }
        try broker.stop()
    }

    @Test(arguments: CompressionType.allCases)
    func everyCodecRoundTrips(compression: CompressionType) throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        try connection.createTopic("codec")
        #expect(try connection.produce(topic: "codec", records: try makeBatch(5, compression: compression)).baseOffset == .zero)
        #expect(try connection.produce(topic: "codec", records: try makeBatch(2, prefix: "b", compression: compression)).baseOffset == Offset(5))
        #expect(try values(try connection.fetchBatches(topic: "codec")) == ["v0", "v1", "v2", "v3", "v4", "bv0", "bv1"])
        try broker.stop()
    }

    @Test func produceBelowVersionThreeIsAnsweredWithUnsupportedVersion() throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        try connection.createTopic("orders")
        let answer = try connection.produce(topic: "orders", records: try makeBatch(1), version: 2)
        #expect(answer.errorCode == .unsupportedVersion)
        try Self.expectEmpty(connection, topic: "orders")
        try broker.stop()
    }

    // MARK: acks=0

    @Test func acksZeroWithABadBatchClosesTheConnectionAndAppendsNothing() throws {
        let broker = try TestBroker()
        try broker.connect().createTopic("orders")
        let bad: [(String, ByteBuffer?)] = [
            ("corrupt", try makeBatch(2).flippingByte(at: 70)),
            ("too large", try makeBatch(1, valueBytes: 1_100_000)),
            ("null records", nil),
        ]
        for (what, records) in bad {
            let connection = try broker.connect()
            try connection.send(TestConnection.produceRequest(topic: "orders", records: records, acks: 0), version: 8)
            #expect(try connection.isClosedByBroker(), "\(what)")
        }
        let unknown = try broker.connect()
        try unknown.send(TestConnection.produceRequest(topic: "no-such-topic", records: try makeBatch(1), acks: 0), version: 8)
        #expect(try unknown.isClosedByBroker())
        try Self.expectEmpty(try broker.connect(), topic: "orders")
        try broker.stop()
    }

    /// Kafka sends no response to acks=0, even where it cannot append: it closes instead. A
    /// response the client does not expect would be taken for the answer to its next request.
    @Test func acksZeroBelowProduceVersionThreeClosesTheConnectionInsteadOfAnswering() throws {
        let broker = try TestBroker()
        try broker.connect().createTopic("orders")
        for version: Int16 in [0, 2] {
            let connection = try broker.connect()
            try connection.send(TestConnection.produceRequest(topic: "orders", records: try makeBatch(1), acks: 0), version: version)
            #expect(try connection.isClosedByBroker(), "Produce v\(version)")
        }
        try Self.expectEmpty(try broker.connect(), topic: "orders")
        try broker.stop()
    }

    @Test func acksZeroWithAGoodBatchGetsNoResponseButIsAppended() throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        try connection.createTopic("orders")
        let produceID = try connection.send(TestConnection.produceRequest(topic: "orders", records: try makeBatch(2), acks: 0), version: 8)
        let metadataID = try connection.send(MetadataRequest(topics: ["orders"], allowAutoTopicCreation: false), version: 8)
        // The next frame answers the Metadata request: nothing was sent for the produce.
        let metadata = try connection.receive(MetadataResponse.self, version: 8, correlationID: metadataID)
        #expect(metadataID == produceID + 1)
        #expect(metadata.topics.map(\.name) == ["orders"])
        // Responses are written in request order, so the produce was done before the Metadata answer.
        #expect(try values(try connection.fetchBatches(topic: "orders")) == ["v0", "v1"])
        try broker.stop()
    }
}
