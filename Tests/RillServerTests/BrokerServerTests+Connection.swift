import Foundation
import NIOCore
import RillBroker
import RillFormat
import RillProtocol
import RillServer
import Testing

/// Connection behaviour: pipelining, long polls, restarts.
extension BrokerServerTests {
    /// Twenty requests of mixed kinds written at once: some answered on the connection's loop,
    /// some on partition shards. The answers come back in request order, and produces to one
    /// partition are appended in request order.
    @Test func pipelinedRequestsAreAnsweredInRequestOrder() throws {
        let broker = try TestBroker()
        let setup = try broker.connect()
        try setup.createTopic("left", partitions: 3)
        try setup.createTopic("right", partitions: 2)

        let connection = try broker.connect()
        var pipeline = ByteBuffer()
        var expected: [(correlationID: Int32, apiKey: ApiKey, version: Int16)] = []
        func add<Message: KafkaRequestMessage>(_ message: Message, version: Int16) {
            let encoded = connection.frame(message, version: version)
            pipeline.writeImmutableBuffer(encoded.frame)
            expected.append((encoded.correlationID, Message.apiKey, version))
        }
        for index in 0..<20 {
            let topic = index % 3 == 0 ? "right" : "left"
            let partition = Int32(index % 2)
            switch index % 5 {
            case 0: add(TestConnection.produceRequest(topic: topic, partition: partition, records: try makeBatch(1, prefix: "\(index)-")), version: 8)
            case 1: add(ApiVersionsRequest(), version: 2)
            case 2: add(TestConnection.fetchRequest(topic: topic, partition: partition, offset: .zero), version: 11)
            case 3: add(MetadataRequest(topics: [topic], allowAutoTopicCreation: false), version: 8)
            default: add(TestConnection.listOffsetsRequest(topic: topic, partition: partition, timestamp: -1), version: 5)
            }
        }
        #expect(expected.count == 20)
        try connection.send(pipeline)

        var produced: [String: [Offset]] = [:]
        for (index, request) in expected.enumerated() {
            let frame = try #require(try connection.receiveFrame(), "response \(index) missing")
            var reader = KafkaReader(frame)
            let correlationID = try ResponseHeader.read(from: &reader, apiKey: request.apiKey, version: request.version)
            #expect(correlationID == request.correlationID, "response \(index)")
            if request.apiKey == .produce {
                let response = try ProduceResponse(from: &reader, version: request.version)
                let topic = try #require(response.topics.first)
                let partition = try #require(topic.partitions.first)
                #expect(partition.errorCode == .none)
                produced["\(topic.name)-\(partition.partition)", default: []].append(partition.baseOffset)
            }
        }
        // Four produces, each the next offset of its partition.
        #expect(produced.values.flatMap { $0 }.count == 4)
        for (partition, offsets) in produced {
            #expect(offsets == (0..<offsets.count).map { Offset(Int64($0)) }, "\(partition)")
        }
        try broker.stop()
    }

    @Test func manyPipelinedProducesToOnePartitionKeepTheirOrder() throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        try connection.createTopic("ordered")
        var pipeline = ByteBuffer()
        var correlationIDs: [Int32] = []
        for index in 0..<20 {
            let encoded = connection.frame(
                TestConnection.produceRequest(topic: "ordered", records: try makeBatch(1, prefix: "\(index)-")), version: 8)
            pipeline.writeImmutableBuffer(encoded.frame)
            correlationIDs.append(encoded.correlationID)
        }
        try connection.send(pipeline)
        for (index, correlationID) in correlationIDs.enumerated() {
            let response = try connection.receive(ProduceResponse.self, version: 8, correlationID: correlationID)
            #expect(response.topics.first?.partitions.first?.baseOffset == Offset(Int64(index)))
        }
        #expect(try values(try connection.fetchBatches(topic: "ordered")) == (0..<20).map { "\($0)-v0" })
        try broker.stop()
    }

    /// A Fetch waiting for data (maxWait 5 s, minBytes 1) completes when another connection
    /// produces, long before its wait is over.
    @Test func aLongPollingFetchCompletesWhenDataArrives() throws {
        let broker = try TestBroker()
        try broker.connect().createTopic("events")
        let consumer = try broker.connect()
        let producer = try broker.connect()
        let clock = ContinuousClock()
        let started = clock.now
        let fetchID = try consumer.send(
            TestConnection.fetchRequest(topic: "events", offset: .zero, maximumWaitMilliseconds: 5_000, minimumBytes: 1), version: 11)
        // A round trip on the producer's connection first, so the fetch is most likely parked
        // by the time the record arrives.
        _ = try producer.request(ApiVersionsRequest(), version: 2)
        #expect(try producer.produce(topic: "events", records: try makeBatch(1)).baseOffset == .zero)
        let response = try consumer.receive(FetchResponse.self, version: 11, correlationID: fetchID)
        let elapsed = clock.now - started
        #expect(elapsed < .seconds(4), "the fetch took \(elapsed), as if it waited out maxWait")
        let partition = try #require(response.topics.first?.partitions.first)
        #expect(partition.errorCode == .none)
        #expect(partition.highWatermark == Offset(1))
        #expect(try values(try batches(in: partition.records)) == ["v0"])
        try broker.stop()
    }

    @Test func aLongPollingFetchWithoutDataAnswersEmptyAfterMaxWait() throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        try connection.createTopic("quiet")
        let clock = ContinuousClock()
        let started = clock.now
        let response = try connection.request(
            TestConnection.fetchRequest(topic: "quiet", offset: .zero, maximumWaitMilliseconds: 200, minimumBytes: 1), version: 11)
        // The broker cannot answer before its own timer fires, and the client's clock started first.
        #expect(clock.now - started >= .milliseconds(200))
        let partition = try #require(response.topics.first?.partitions.first)
        #expect(partition.errorCode == .none)
        // Never null records (librdkafka cannot parse them): an empty records field.
        #expect(partition.records?.readableBytes == 0)
        try broker.stop()
    }

    /// Requests behind a parked Fetch on the same connection wait for it (Kafka mutes the
    /// connection while a request is in progress).
    @Test func aRequestBehindAParkedFetchIsAnsweredAfterIt() throws {
        let broker = try TestBroker()
        try broker.connect().createTopic("events")
        let consumer = try broker.connect()
        let fetchID = try consumer.send(
            TestConnection.fetchRequest(topic: "events", offset: .zero, maximumWaitMilliseconds: 5_000, minimumBytes: 1), version: 11)
        let versionsID = try consumer.send(ApiVersionsRequest(), version: 2)
        _ = try broker.connect().produce(topic: "events", records: try makeBatch(1))
        let fetched = try consumer.receive(FetchResponse.self, version: 11, correlationID: fetchID)
        #expect(fetched.topics.first?.partitions.first?.highWatermark == Offset(1))
        #expect(try consumer.receive(ApiVersionsResponse.self, version: 2, correlationID: versionsID).errorCode == .none)
        try broker.stop()
    }

    @Test func recordsSurviveARestartAndTheLeaderEpochGoesUp() throws {
        let broker = try TestBroker()
        let before = try broker.connect()
        try before.createTopic("durable", partitions: 2)
        #expect(try before.produce(topic: "durable", partition: 0, records: try makeBatch(3)).baseOffset == .zero)
        #expect(try before.produce(topic: "durable", partition: 1, records: try makeBatch(1, prefix: "p1-")).baseOffset == .zero)
        let epochsBefore = try before.metadata(["durable"], version: 7).topics.first?.partitions.map(\.leaderEpoch)
        #expect(epochsBefore == [LeaderEpoch(0), LeaderEpoch(0)])
        let clusterID = try before.metadata(nil).clusterID

        try broker.restart()

        let after = try broker.connect()
        let metadata = try after.metadata(["durable"], version: 7)
        #expect(metadata.clusterID == clusterID)
        #expect(metadata.topics.first?.partitions.map(\.leaderEpoch) == [LeaderEpoch(1), LeaderEpoch(1)])
        #expect(try values(try after.fetchBatches(topic: "durable", partition: 0)) == ["v0", "v1", "v2"])
        #expect(try values(try after.fetchBatches(topic: "durable", partition: 1)) == ["p1-v0"])
        #expect(try after.listOffset(topic: "durable", timestamp: -1).offset == Offset(3))
        // New appends continue the log under the new epoch.
        #expect(try after.produce(topic: "durable", records: try makeBatch(1, prefix: "new-")).baseOffset == Offset(3))
        let epochs = try after.fetchBatches(topic: "durable").map(\.header.partitionLeaderEpoch)
        #expect(epochs == [LeaderEpoch(0), LeaderEpoch(1)])
        // Fencing follows the new epoch: the old one is stale now.
        var fetch = TestConnection.fetchRequest(topic: "durable", offset: .zero)
        fetch.topics[0].partitions[0].currentLeaderEpoch = LeaderEpoch(0)
        #expect(try after.request(fetch, version: 11).topics.first?.partitions.first?.errorCode == .fencedLeaderEpoch)

        try broker.restart()
        let again = try broker.connect()
        #expect(try again.metadata(["durable"], version: 8).topics.first?.partitions.map(\.leaderEpoch) == [LeaderEpoch(2), LeaderEpoch(2)])
        #expect(try again.listOffset(topic: "durable", timestamp: -1).offset == Offset(4))
        try broker.stop()
    }
}
