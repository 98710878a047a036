import NIOCore
import RillBroker
import RillFormat
import RillProtocol
import RillServer
import Testing

/// Bad input never crashes the broker: after each case, a new connection is served.
extension BrokerServerTests {
    /// A request header (v1, or v2 for a flexible version) followed by `body`, framed.
    static func frame(apiKey: Int16, version: Int16, correlationID: Int32 = 99, body: [UInt8] = []) -> ByteBuffer {
        var buffer = ByteBuffer()
        let start = buffer.startKafkaFrame()
        RequestHeader(apiKey: ApiKey(rawValue: apiKey), apiVersion: version, correlationID: correlationID, clientID: "bad").write(to: &buffer)
        buffer.writeBytes(body)
        buffer.finishKafkaFrame(at: start)
        return buffer
    }

    static func sizePrefix(_ size: Int32) -> [UInt8] {
        withUnsafeBytes(of: size.bigEndian) { Array($0) }
    }

    @Test func randomGarbageIsSurvived() throws {
        let broker = try TestBroker()
        var generator = SplitMix64(seed: 2024)
        for round in 0..<12 {
            let connection = try broker.connect()
            let length = Int.random(in: 1...4096, using: &generator)
            var garbage = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if round % 2 == 1 {
                // A plausible size prefix, so the garbage reaches the header and body decoders.
                garbage.replaceSubrange(0..<min(4, garbage.count), with: Self.sizePrefix(Int32(max(length - 4, 0))))
            }
            try connection.send(garbage)
            connection.close()
            try Self.expectHealthy(broker)
        }
        try broker.stop()
    }

    @Test func garbageBodiesForEveryAdvertisedApiAreSurvived() throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        try connection.createTopic("garbage")
        var generator = SplitMix64(seed: 7)
        for (apiKey, range) in BrokerApiVersions.advertised where apiKey != .apiVersions {
            for version in [range.lowerBound, range.upperBound] {
                let body = (0..<Int.random(in: 1...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let connection = try broker.connect()
                try connection.send(Self.frame(apiKey: apiKey.rawValue, version: version, body: body))
                // Random bytes almost never form a valid body; if they do, an answer is fine too.
                _ = try connection.isClosedByBroker()
                try Self.expectHealthy(broker)
            }
        }
        try broker.stop()
    }

    @Test func aTruncatedFrameFollowedByACloseIsSurvived() throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        let complete = connection.frame(MetadataRequest(topics: nil), version: 8).frame
        try connection.send(Array(complete.readableBytesView.prefix(complete.readableBytes - 3)))
        connection.close()
        try Self.expectHealthy(broker)
        // A size prefix alone, then close.
        let other = try broker.connect()
        try other.send(Self.sizePrefix(100))
        other.close()
        try Self.expectHealthy(broker)
        try broker.stop()
    }

    @Test func aSizeAboveSocketRequestMaxBytesClosesTheConnection() throws {
        let broker = try TestBroker([("socket.request.max.bytes", "65536")])
        for size in [Int32(65_537), 104_857_601, .max] {
            let connection = try broker.connect()
            try connection.send(Self.sizePrefix(size))
            #expect(try connection.isClosedByBroker(), "size \(size)")
            try Self.expectHealthy(broker)
        }
        // A frame of exactly the limit is read and answered: Metadata for unknown topics whose
        // names fill the frame to 65536 bytes.
        let connection = try broker.connect()
        let emptyFrameBytes = connection.frame(MetadataRequest(topics: [], allowAutoTopicCreation: false), version: 8).frame.readableBytes - 4
        var remaining = 65_536 - emptyFrameBytes
        var names: [String] = []
        while remaining > 0 {
            // Each name costs its length plus a 2-byte length prefix; never leave less than 3 bytes.
            let length = remaining - 2 <= 200 ? remaining - 2 : min(200, remaining - 2 - 3)
            names.append(String(repeating: "n", count: length))
            remaining -= length + 2
        }
        let (frame, correlationID) = connection.frame(MetadataRequest(topics: names, allowAutoTopicCreation: false), version: 8)
        #expect(frame.readableBytes - 4 == 65_536)
        try connection.send(frame)
        let response = try connection.receive(MetadataResponse.self, version: 8, correlationID: correlationID)
        #expect(response.topics.count == names.count)
        #expect(response.topics.allSatisfy { $0.errorCode == .unknownTopicOrPartition })
        try broker.stop()
    }

    @Test func aNegativeSizeClosesTheConnection() throws {
        let broker = try TestBroker()
        for size in [Int32(-1), -4, .min] {
            let connection = try broker.connect()
            try connection.send(Self.sizePrefix(size) + [0, 18, 0, 0])
            #expect(try connection.isClosedByBroker(), "size \(size)")
            try Self.expectHealthy(broker)
        }
        try broker.stop()
    }

    @Test func anUnknownApiKeyClosesTheConnection() throws {
        let broker = try TestBroker()
        // 999 is no API; 11 (JoinGroup) and 17 (SaslHandshake) exist but are not advertised.
        for apiKey: Int16 in [999, -1, 11, 17, 60] {
            let connection = try broker.connect()
            try connection.send(Self.frame(apiKey: apiKey, version: 0))
            #expect(try connection.isClosedByBroker(), "API key \(apiKey)")
            try Self.expectHealthy(broker)
        }
        try broker.stop()
    }

    @Test func anUnsupportedProduceVersionClosesTheConnection() throws {
        let broker = try TestBroker()
        for version: Int16 in [9, 11, 100, -1] {
            let connection = try broker.connect()
            // A body that would be valid at v8, under a version the broker does not advertise.
            var body = ByteBuffer()
            TestConnection.produceRequest(topic: "t", records: try makeBatch(1)).write(to: &body, version: 8)
            try connection.send(Self.frame(apiKey: ApiKey.produce.rawValue, version: version, body: Array(body.readableBytesView)))
            #expect(try connection.isClosedByBroker(), "Produce v\(version)")
            try Self.expectHealthy(broker)
        }
        try broker.stop()
    }

    @Test func aMalformedProduceBodyClosesTheConnection() throws {
        let broker = try TestBroker()
        try broker.connect().createTopic("orders")
        var valid = ByteBuffer()
        TestConnection.produceRequest(topic: "orders", records: try makeBatch(2)).write(to: &valid, version: 8)
        let validBody = Array(valid.readableBytesView)
        var hugeCount = validBody
        // The topics array count (after a null transactional id, acks and timeout) claims 2^31-1 topics.
        hugeCount.replaceSubrange(8..<12, with: [0x7F, 0xFF, 0xFF, 0xFF])
        let malformed: [(String, [UInt8])] = [
            ("truncated", Array(validBody.dropLast(5))),
            ("trailing bytes", validBody + [0, 0]),
            ("empty", []),
            ("huge array count", hugeCount),
        ]
        for (what, body) in malformed {
            let connection = try broker.connect()
            try connection.send(Self.frame(apiKey: ApiKey.produce.rawValue, version: 8, body: body))
            #expect(try connection.isClosedByBroker(), "\(what)")
            try Self.expectHealthy(broker)
        }
        // Nothing of any of them was appended.
        #expect(try broker.connect().listOffset(topic: "orders", timestamp: -1).offset == .zero)
        try broker.stop()
    }

    /// Well-formed requests with hostile values get answers (usually errors), never a crash.
    @Test func wellFormedRequestsWithHostileValuesAreAnswered() throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        try connection.createTopic("t", partitions: 2)
        _ = try connection.produce(topic: "t", records: try makeBatch(3))

        let fetch = FetchRequest(
            maximumWaitMilliseconds: -1, minimumBytes: .max, maximumBytes: -5,
            topics: [
                .init(name: "t", partitions: [
                    .init(partition: 0, currentLeaderEpoch: LeaderEpoch(.max), fetchOffset: .zero, partitionMaximumBytes: .min),
                    .init(partition: 0, fetchOffset: Offset(.min), partitionMaximumBytes: -1),
                    .init(partition: -1, fetchOffset: .zero, partitionMaximumBytes: 100),
                    .init(partition: 1, fetchOffset: Offset(.max), partitionMaximumBytes: .max),
                ]),
                .init(name: "../../etc", partitions: [.init(partition: 0, fetchOffset: .zero, partitionMaximumBytes: 1)]),
            ])
        let fetched = try connection.request(fetch, version: 11)
        #expect(fetched.topics.flatMap(\.partitions).map(\.errorCode) == [
            .unknownLeaderEpoch, .offsetOutOfRange, .unknownTopicOrPartition, .offsetOutOfRange, .unknownTopicOrPartition,
        ])

        let list = ListOffsetsRequest(topics: [.init(name: "t", partitions: [
            .init(partition: 0, timestamp: Timestamp(milliseconds: .min)),
            .init(partition: 0, timestamp: Timestamp(milliseconds: -3)),
            .init(partition: 0, currentLeaderEpoch: LeaderEpoch(-7), timestamp: Timestamp(milliseconds: -1)),
            .init(partition: 7, timestamp: Timestamp(milliseconds: -1)),
        ])])
        let listed = try connection.request(list, version: 5)
        #expect(listed.topics.flatMap(\.partitions).map(\.errorCode) == [.invalidRequest, .invalidRequest, .fencedLeaderEpoch, .unknownTopicOrPartition])

        let produce = ProduceRequest(acks: 1, timeoutMilliseconds: -1, topics: [
            .init(name: "t", partitions: [.init(partition: -1, records: try makeBatch(1)), .init(partition: 0, records: nil)]),
            .init(name: "", partitions: [.init(partition: 0, records: try makeBatch(1))]),
        ])
        let produced = try connection.request(produce, version: 8)
        #expect(produced.topics.flatMap(\.partitions).map(\.errorCode) == [.unknownTopicOrPartition, .invalidRecord, .unknownTopicOrPartition])
        let badAcks = try connection.produce(topic: "t", records: try makeBatch(1), acks: 2)
        #expect(badAcks.errorCode == .invalidRequiredAcks)

        let deleteRecords = DeleteRecordsRequest(topics: [.init(name: "t", partitions: [
            .init(partition: 0, offset: Offset(.max)), .init(partition: 0, offset: Offset(-5)), .init(partition: 9, offset: .zero),
        ])], timeoutMilliseconds: 0)
        let deleted = try connection.request(deleteRecords, version: 1)
        #expect(deleted.topics.flatMap(\.partitions).map(\.errorCode) == [.offsetOutOfRange, .offsetOutOfRange, .unknownTopicOrPartition])

        let epochs = OffsetForLeaderEpochRequest(topics: [.init(name: "t", partitions: [
            .init(partition: 0, leaderEpoch: LeaderEpoch(.max)), .init(partition: 0, leaderEpoch: LeaderEpoch(.min)),
            .init(partition: 0, currentLeaderEpoch: LeaderEpoch(.min), leaderEpoch: LeaderEpoch(0)),
        ])])
        let answered = try connection.request(epochs, version: 3)
        #expect(answered.topics.flatMap(\.partitions).map(\.errorCode) == [.none, .none, .fencedLeaderEpoch])

        let topics = CreateTopicsRequest(topics: [
            .init(name: "huge", partitionCount: .max, replicationFactor: 1),
            .init(name: "zero", partitionCount: 0, replicationFactor: 1),
            .init(name: "replicated", partitionCount: 1, replicationFactor: 3),
            .init(name: "..", partitionCount: 1, replicationFactor: 1),
            .init(name: String(repeating: "x", count: 250), partitionCount: 1, replicationFactor: 1),
            .init(name: "bad-config", partitionCount: 1, replicationFactor: 1, configs: [.init(name: "segment.bytes", value: "-1")]),
            .init(name: "unknown-config", partitionCount: 1, replicationFactor: 1, configs: [.init(name: "no.such", value: "1")]),
            .init(name: "t", partitionCount: 1, replicationFactor: 1),
            .init(name: "twice", partitionCount: 1, replicationFactor: 1), .init(name: "twice", partitionCount: 1, replicationFactor: 1),
            .init(name: "assigned", partitionCount: -1, replicationFactor: -1, assignments: [.init(partition: 0, brokerIDs: [0, 1])]),
        ])
        let created = try connection.request(topics, version: 4)
        #expect(created.topics.map(\.errorCode) == [
            .invalidPartitions, .invalidPartitions, .invalidReplicationFactor, .invalidTopicException, .invalidTopicException,
            .invalidConfig, .invalidConfig, .topicAlreadyExists, .invalidRequest, .invalidRequest, .invalidReplicaAssignment,
        ])
        #expect(try connection.metadata(nil).topics.map(\.name) == ["t"])
        try Self.expectHealthy(broker)
        try broker.stop()
    }
}
