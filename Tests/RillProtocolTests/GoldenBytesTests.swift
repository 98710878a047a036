import NIOCore
import RillFormat
import Testing
@testable import RillProtocol

/// Hand-assembled bodies (GoldenBytes.swift) decode to the expected messages, and the messages
/// encode to exactly those bytes.
@Suite struct GoldenBytesTests {
    // MARK: Produce

    @Test func produceRequestV3() throws {
        let expected = ProduceRequest(
            transactionalID: nil, acks: -1, timeoutMilliseconds: 30_000,
            topics: [.init(name: "t", partitions: [.init(partition: 0, records: Golden.recordBatch)])]
        )
        try expectGoldenRequest(Golden.produceRequestV3, is: expected, version: 3)
    }

    @Test func produceRequestV8() throws {
        let expected = ProduceRequest(
            transactionalID: "tx", acks: 1, timeoutMilliseconds: 1_500,
            topics: [.init(name: "t", partitions: [.init(partition: 2, records: Golden.recordBatch)])]
        )
        try expectGoldenRequest(Golden.produceRequestV8, is: expected, version: 8)
    }

    @Test func produceRequestRecordsAreZeroCopySlicesOfTheFrame() throws {
        var reader = KafkaReader(Golden.produceRequestV3)
        let request = try ProduceRequest(from: &reader, version: 3)
        let records = try #require(request.topics.first?.partitions.first?.records)
        #expect(records == Golden.recordBatch)
        let frame = Golden.produceRequestV3
        let frameStart = frame.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let recordsStart = records.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(recordsStart == frameStart + UInt(frame.readableBytes - records.readableBytes), "records point into the frame's storage")
    }

    @Test func produceResponseV8() throws {
        let partition = ProduceResponse.Partition(
            partition: 0, errorCode: .invalidRecord, baseOffset: .none, logAppendTime: .none, logStartOffset: Offset(0),
            recordErrors: [.init(batchIndex: 0, message: "bad")], errorMessage: "invalid"
        )
        let expected = ProduceResponse(topics: [.init(name: "t", partitions: [partition])], throttleTimeMilliseconds: 0)
        try expectGoldenResponse(Golden.produceResponseV8, is: expected, version: 8)
    }

    @Test func produceRequestV3InAFullFrame() throws {
        var reader = KafkaReader(Golden.produceRequestV3)
        let request = try ProduceRequest(from: &reader, version: 3)
        let frame = request.encodedFrame(version: 3, correlationID: 5, clientID: "rdkafka")
        let header = hexBytes("0000 0003 00000005 0007 72646b61666b61") // key 0, v3, correlation 5, client "rdkafka"
        let size = UInt32(header.count + Golden.produceRequestV3.readableBytes)
        let expected = [UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)]
            + header + Array(Golden.produceRequestV3.readableBytesView)
        #expect(Array(frame.readableBytesView) == expected)
    }

    // MARK: Fetch

    @Test func fetchRequestV11() throws {
        let partition = FetchRequest.Partition(
            partition: 0, currentLeaderEpoch: LeaderEpoch(5), fetchOffset: Offset(10), logStartOffset: .none, partitionMaximumBytes: 1_048_576
        )
        let expected = FetchRequest(
            replicaID: -1, maximumWaitMilliseconds: 500, minimumBytes: 1, maximumBytes: 52_428_800, isolationLevel: .readCommitted,
            sessionID: 0, sessionEpoch: -1, topics: [.init(name: "t", partitions: [partition])], forgottenTopics: [], rackID: ""
        )
        try expectGoldenRequest(Golden.fetchRequestV11, is: expected, version: 11)
    }

    static func fetchResponseV11(records: ByteBuffer?, highWatermark: Int64 = 1) -> FetchResponse {
        let partition = FetchResponse.Partition(
            partition: 0, highWatermark: Offset(highWatermark), lastStableOffset: Offset(highWatermark), logStartOffset: Offset(0),
            abortedTransactions: nil, preferredReadReplica: -1, records: records
        )
        return FetchResponse(topics: [.init(name: "t", partitions: [partition])])
    }

    @Test func fetchResponseV11WithRecords() throws {
        try expectGoldenResponse(Golden.fetchResponseV11WithRecords, is: Self.fetchResponseV11(records: Golden.recordBatch), version: 11)
    }

    @Test func fetchResponseV11WithoutRecords() throws {
        try expectGoldenResponse(Golden.fetchResponseV11WithoutRecords, is: Self.fetchResponseV11(records: ByteBuffer()), version: 11)
    }

    @Test(arguments: versions(of: .fetch))
    func fetchResponseWritesNilRecordsAsEmptyNeverNull(version: Int16) throws {
        var encoded = ByteBuffer()
        Self.fetchResponseV11(records: nil).write(to: &encoded, version: version)
        #expect(encoded.getInteger(at: encoded.writerIndex - 4, as: Int32.self) == 0, "records length is the last field")
        var reader = KafkaReader(encoded)
        let decoded = try FetchResponse(from: &reader, version: version)
        #expect(decoded.topics.first?.partitions.first?.records == ByteBuffer())
    }

    @Test func fetchResponseV11WithRecordsSubstitutedByTheCaller() {
        var encoded = ByteBuffer()
        Self.fetchResponseV11(records: nil).write(to: &encoded, version: 11) { buffer, topicIndex, partitionIndex in
            #expect(topicIndex == 0 && partitionIndex == 0)
            buffer.writeKafkaBytes(Golden.recordBatch)
        }
        #expect(encoded == Golden.fetchResponseV11WithRecords)
    }

    // MARK: Metadata

    @Test func metadataRequestV1() throws {
        try expectGoldenRequest(Golden.metadataRequestV1, is: MetadataRequest(topics: ["t"]), version: 1)
    }

    @Test func metadataRequestAllTopicsIsNilInEveryVersion() throws {
        try expectGoldenRequest(Golden.metadataRequestV1AllTopics, is: MetadataRequest(topics: nil), version: 1)
        try expectGoldenRequest(Golden.metadataRequestV0AllTopics, is: MetadataRequest(topics: nil), version: 0)
        // From v1 an empty array asks for no topics at all, which is not "all".
        var reader = KafkaReader(Golden.metadataRequestV0AllTopics)
        #expect(try MetadataRequest(from: &reader, version: 1).topics == [])
    }

    @Test func metadataResponseV8() throws {
        let partition = MetadataResponse.Partition(
            partition: 0, leaderID: 1, leaderEpoch: LeaderEpoch(0), replicaNodes: [1], inSyncReplicaNodes: [1], offlineReplicas: []
        )
        let expected = MetadataResponse(
            throttleTimeMilliseconds: 0, brokers: [.init(nodeID: 1, host: "localhost", port: 9092, rack: nil)], clusterID: "rill",
            controllerID: 1, topics: [.init(name: "t", isInternal: false, partitions: [partition], topicAuthorizedOperations: Int32.min)],
            clusterAuthorizedOperations: Int32.min
        )
        try expectGoldenResponse(Golden.metadataResponseV8, is: expected, version: 8)
    }

    // MARK: ListOffsets

    @Test func listOffsetsRequestV1() throws {
        let expected = ListOffsetsRequest(
            replicaID: -1, topics: [.init(name: "t", partitions: [.init(partition: 0, timestamp: ListOffsetsRequest.earliestTimestamp)])]
        )
        try expectGoldenRequest(Golden.listOffsetsRequestV1, is: expected, version: 1)
    }

    @Test func listOffsetsResponseV1() throws {
        let expected = ListOffsetsResponse(topics: [.init(name: "t", partitions: [.init(partition: 0, timestamp: .none, offset: Offset(0))])])
        try expectGoldenResponse(Golden.listOffsetsResponseV1, is: expected, version: 1)
    }

    // MARK: Admin and producer

    @Test func createTopicsRequestV4() throws {
        let expected = CreateTopicsRequest(
            topics: [
                .init(name: "orders", partitionCount: 3, replicationFactor: 1, configs: [.init(name: "cleanup.policy", value: "compact")]),
                .init(name: "m", partitionCount: -1, replicationFactor: -1, assignments: [.init(partition: 0, brokerIDs: [1])]),
            ],
            timeoutMilliseconds: 30_000, validateOnly: false
        )
        try expectGoldenRequest(Golden.createTopicsRequestV4, is: expected, version: 4)
    }

    @Test func initProducerIdV0() throws {
        try expectGoldenRequest(Golden.initProducerIdRequestV0, is: InitProducerIdRequest(transactionalID: nil, transactionTimeoutMilliseconds: 60_000), version: 0)
        let response = InitProducerIdResponse(throttleTimeMilliseconds: 0, errorCode: .none, producerID: ProducerID(3_000), producerEpoch: ProducerEpoch(0))
        try expectGoldenResponse(Golden.initProducerIdResponseV0, is: response, version: 0)
    }

    @Test func offsetForLeaderEpochRequestV2() throws {
        let expected = OffsetForLeaderEpochRequest(
            replicaID: OffsetForLeaderEpochRequest.debugReplicaID,
            topics: [.init(name: "t", partitions: [.init(partition: 0, currentLeaderEpoch: LeaderEpoch(5), leaderEpoch: LeaderEpoch(4))])]
        )
        try expectGoldenRequest(Golden.offsetForLeaderEpochRequestV2, is: expected, version: 2)
    }

    // MARK: Groups

    @Test func joinGroupRequestV5() throws {
        let subscription = Golden.hex([Golden.kafkaPythonSubscriptionV0Hex])
        let expected = JoinGroupRequest(
            groupID: "g1", sessionTimeoutMilliseconds: 10_000, rebalanceTimeoutMilliseconds: 300_000, memberID: "", groupInstanceID: nil,
            protocolType: "consumer", protocols: [.init(name: "range", metadata: subscription)]
        )
        try expectGoldenRequest(Golden.joinGroupRequestV5, is: expected, version: 5)
        let decoded = try ConsumerProtocolSubscription(decoding: subscription)
        #expect(decoded == ConsumerProtocolSubscription(topics: ["t"], userData: ByteBuffer()))
    }

    @Test func offsetCommitRequestV7() throws {
        let expected = OffsetCommitRequest(
            groupID: "g1", generationID: 3, memberID: "m1", groupInstanceID: nil,
            topics: [.init(name: "t", partitions: [.init(partition: 0, committedOffset: Offset(10), committedLeaderEpoch: LeaderEpoch(2), committedMetadata: "")])]
        )
        try expectGoldenRequest(Golden.offsetCommitRequestV7, is: expected, version: 7)
    }
}

/// `golden` decodes (through `KafkaRequest.decode`) to `expected`, and `expected` encodes to `golden`.
func expectGoldenRequest<Message: KafkaRequestMessage & Hashable>(
    _ golden: ByteBuffer, is expected: Message, version: Int16, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let header = RequestHeader(apiKey: Message.apiKey, apiVersion: version, correlationID: 1, clientID: nil)
    var body = KafkaReader(golden)
    let decoded = try KafkaRequest.decode(header: header, body: &body)
    #expect(decoded.message as? Message == expected, "decoding", sourceLocation: sourceLocation)
    var encoded = ByteBuffer()
    expected.write(to: &encoded, version: version)
    #expect(Array(encoded.readableBytesView) == Array(golden.readableBytesView), "encoding", sourceLocation: sourceLocation)
}

/// `golden` decodes to `expected` with nothing left over, and `expected` encodes to `golden`.
func expectGoldenResponse<Message: KafkaResponseMessage & Hashable>(
    _ golden: ByteBuffer, is expected: Message, version: Int16, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    var reader = KafkaReader(golden)
    let decoded = try Message(from: &reader, version: version)
    #expect(reader.remaining == 0, "decoding left bytes", sourceLocation: sourceLocation)
    #expect(decoded == expected, "decoding", sourceLocation: sourceLocation)
    var encoded = ByteBuffer()
    expected.write(to: &encoded, version: version)
    #expect(Array(encoded.readableBytesView) == Array(golden.readableBytesView), "encoding", sourceLocation: sourceLocation)
}
