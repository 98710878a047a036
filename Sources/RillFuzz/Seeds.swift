import Foundation
import NIOCore
import RillBroker
import RillFormat
import RillProtocol

/// The seed corpus, built from the protocol types (so it follows the codecs): valid requests of
/// every API at its lowest, a middle and its highest codec version, Produce requests carrying real
/// record batches in every compression, ApiVersions at versions the broker does not support, and
/// record batches and compressed payloads for the records and codec modes. Each is written in the
/// input layout `Harness` reads (see there).
enum Seeds {
    static func write(to directory: URL) throws -> Int {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let seeds = try all()
        for (name, bytes) in seeds {
            try Data(bytes).write(to: directory.appendingPathComponent("seed-\(name)"))
        }
        return seeds.count
    }

    static func all() throws -> [(name: String, bytes: [UInt8])] {
        var seeds: [(name: String, bytes: [UInt8])] = []
        func add(_ name: String, _ parts: [UInt8]...) { seeds.append((name, parts.flatMap { $0 })) }

        // Every API: stream mode (whole, and in 1-, 7- and 100-byte reads) and frame mode.
        var frames: [[UInt8]] = []
        for (apiKey, version) in apiVersionPairs() {
            guard let message = try sampleRequest(apiKey, version: version) else { continue }
            let frame = Array(message.encodedFrame(version: version, correlationID: 7, clientID: "rill-fuzz").readableBytesView)
            let name = "\(apiKey.rawValue)-v\(version)"
            add("stream-\(name)", [0x00, 0x00], frame)
            add("frame-\(name)", [0x01], Array(frame.dropFirst(4)))
            frames.append(frame)
        }
        add("stream-pipelined", [0x00, 0x03, 0x00, 0x06, 0x63], frames.prefix(6).flatMap { $0 })
        add("stream-small-limit", [0x08, 0x04, 0x00], frames.prefix(3).flatMap { $0 })

        // ApiVersions at the flexible versions clients try first (librdkafka v3, kafka-python v4).
        for version: Int16 in [3, 4, 127] {
            var frame = ByteBuffer()
            let start = frame.startKafkaFrame()
            RequestHeader(apiKey: .apiVersions, apiVersion: version, correlationID: 1, clientID: "rdkafka").write(to: &frame)
            frame.writeCompactString("librdkafka")
            frame.writeCompactString("2.3.0")
            frame.writeEmptyTaggedFields()
            frame.finishKafkaFrame(at: start)
            add("stream-apiversions-v\(version)", [0x00, 0x00], Array(frame.readableBytesView))
        }

        // Produce with real batches, and the same batches in records mode.
        for compression in CompressionType.allCases {
            let batch = try recordBatch(compression)
            let produce = ProduceRequest(acks: -1, timeoutMilliseconds: 30_000, topics: [
                .init(name: "orders", partitions: [.init(partition: 0, records: ByteBuffer(bytes: batch))]),
            ])
            let body = Array(produce.encodedFrame(version: 8, correlationID: 3, clientID: "rill-fuzz").readableBytesView.dropFirst(4))
            add("produce-\(compression)", [0x01], body)
            add("produce-\(compression)-repair", [0x05], body)
            add("records-\(compression)", [0x06, 0x08], batch)
        }
        let twoBatches = try recordBatch(.none) + recordBatch(.lz4)
        add("records-two-batches", [0x16, 0x08], twoBatches)

        // Compressed payloads for codec mode (codec byte: 0 gzip, 1 snappy, 2 lz4, 3 zstd).
        let text = Array(String(repeating: "the quick brown fox jumps over the lazy dog ", count: 40).utf8)
        for (index, compression) in Harness.codecs.enumerated() {
            var compressed = ByteBuffer()
            try text.withUnsafeBytes { try compression.codec!.compress($0, into: &compressed) }
            add("codec-\(compression)", [0x03, UInt8(index), 0x04], Array(compressed.readableBytesView))
        }
        return seeds
    }

    /// The lowest, a middle and the highest codec version of every API with a codec.
    static func apiVersionPairs() -> [(ApiKey, Int16)] {
        (Int16(0)...100).map { ApiKey(rawValue: $0) }.flatMap { apiKey -> [(ApiKey, Int16)] in
            guard let range = ApiVersionTable.codecVersions(apiKey) else { return [] }
            let versions = Set([range.lowerBound, (range.lowerBound + range.upperBound) / 2, range.upperBound])
            return versions.sorted().map { (apiKey, $0) }
        }
    }

    /// A batch of three keyed records (one with headers) from an idempotent producer.
    static func recordBatch(_ compression: CompressionType) throws -> [UInt8] {
        var builder = RecordBatchBuilder(compression: compression, producerID: ProducerID(1_000), producerEpoch: ProducerEpoch(0), baseSequence: SequenceNumber(0))
        let timestamp = Timestamp(milliseconds: 1_700_000_000_000)
        builder.append(key: Array("k1".utf8), value: Array("value one".utf8), timestamp: timestamp)
        builder.append(key: Array("k2".utf8), value: nil, headers: [RecordHeader(key: "h", value: ByteBuffer(string: "v"))], timestamp: timestamp)
        builder.append(key: Array("k3".utf8), value: Array(repeating: 0x61, count: 40), timestamp: Timestamp(milliseconds: timestamp.milliseconds + 5))
        return Array(try builder.build().readableBytesView)
    }

    static func sampleRequest(_ apiKey: ApiKey, version: Int16) throws -> (any KafkaRequestMessage)? {
        let records = ByteBuffer(bytes: try recordBatch(.none))
        switch apiKey {
        case .produce:
            return ProduceRequest(transactionalID: version >= 3 ? "tx" : nil, acks: 1, timeoutMilliseconds: 1_000, topics: [
                .init(name: "orders", partitions: [.init(partition: 0, records: version >= 3 ? records : ByteBuffer()), .init(partition: 1, records: nil)]),
            ])
        case .fetch:
            return FetchRequest(
                maximumWaitMilliseconds: 500, minimumBytes: 1, maximumBytes: version >= 3 ? 1 << 20 : Int32.max,
                isolationLevel: version >= 4 ? .readCommitted : .readUncommitted,
                sessionID: version >= 7 ? 1 : 0, sessionEpoch: version >= 7 ? 0 : -1,
                topics: [.init(name: "orders", partitions: [.init(
                    partition: 0, currentLeaderEpoch: version >= 9 ? LeaderEpoch(1) : .none, fetchOffset: Offset(5),
                    logStartOffset: version >= 5 ? Offset(0) : .none, partitionMaximumBytes: 65_536)])],
                forgottenTopics: version >= 7 ? [.init(name: "old", partitions: [1])] : [], rackID: version >= 11 ? "rack" : "")
        case .listOffsets:
            return ListOffsetsRequest(isolationLevel: version >= 2 ? .readCommitted : .readUncommitted, topics: [
                .init(name: "orders", partitions: [.init(
                    partition: 0, currentLeaderEpoch: version >= 4 ? LeaderEpoch(1) : .none,
                    timestamp: Timestamp(milliseconds: -1), maximumOffsetCount: version == 0 ? 3 : 1)]),
            ])
        case .metadata:
            return MetadataRequest(topics: ["orders", "payments"], allowAutoTopicCreation: version < 4, includeTopicAuthorizedOperations: version >= 8)
        case .offsetCommit:
            return OffsetCommitRequest(
                groupID: "group", generationID: version >= 1 ? 2 : -1, memberID: version >= 1 ? "member" : "",
                groupInstanceID: version >= 7 ? "instance" : nil, retentionTimeMilliseconds: (2...4).contains(version) ? 60_000 : -1,
                topics: [.init(name: "orders", partitions: [.init(
                    partition: 0, committedOffset: Offset(10), committedLeaderEpoch: version >= 6 ? LeaderEpoch(1) : .none,
                    commitTimestamp: version == 1 ? Timestamp(milliseconds: 1_700_000_000_000) : .none, committedMetadata: "m")])])
        case .offsetFetch:
            return OffsetFetchRequest(groupID: "group", topics: [.init(name: "orders", partitions: [0, 1])])
        case .findCoordinator:
            return FindCoordinatorRequest(key: "group", keyType: version >= 1 ? .transaction : .group)
        case .joinGroup:
            return JoinGroupRequest(
                groupID: "group", sessionTimeoutMilliseconds: 10_000, rebalanceTimeoutMilliseconds: version >= 1 ? 30_000 : -1,
                memberID: "", groupInstanceID: version >= 5 ? "instance" : nil, protocolType: "consumer",
                protocols: [.init(name: "range", metadata: ByteBuffer(string: "subscription"))])
        case .heartbeat:
            return HeartbeatRequest(groupID: "group", generationID: 2, memberID: "member", groupInstanceID: version >= 3 ? "instance" : nil)
        case .leaveGroup:
            return version >= 3
                ? LeaveGroupRequest(groupID: "group", members: [.init(memberID: "a", groupInstanceID: "i"), .init(memberID: "b")])
                : LeaveGroupRequest(groupID: "group", memberID: "member")
        case .syncGroup:
            return SyncGroupRequest(
                groupID: "group", generationID: 2, memberID: "member", groupInstanceID: version >= 3 ? "instance" : nil,
                assignments: [.init(memberID: "member", assignment: ByteBuffer(string: "assignment"))])
        case .describeGroups:
            return DescribeGroupsRequest(groups: ["group"], includeAuthorizedOperations: version >= 3)
        case .listGroups:
            return ListGroupsRequest()
        case .apiVersions:
            return ApiVersionsRequest()
        case .createTopics:
            return CreateTopicsRequest(topics: [
                .init(name: "orders", partitionCount: 3, replicationFactor: 1, configs: [.init(name: "cleanup.policy", value: "compact")]),
                .init(name: "manual", partitionCount: -1, replicationFactor: -1, assignments: [.init(partition: 0, brokerIDs: [0])]),
            ], timeoutMilliseconds: 5_000, validateOnly: version >= 1)
        case .deleteTopics:
            return DeleteTopicsRequest(topicNames: ["orders"], timeoutMilliseconds: 5_000)
        case .deleteRecords:
            return DeleteRecordsRequest(topics: [.init(name: "orders", partitions: [.init(partition: 0, offset: Offset(3))])], timeoutMilliseconds: 5_000)
        case .initProducerId:
            return InitProducerIdRequest(transactionalID: nil, transactionTimeoutMilliseconds: 60_000)
        case .offsetForLeaderEpoch:
            return OffsetForLeaderEpochRequest(replicaID: version >= 3 ? -1 : OffsetForLeaderEpochRequest.debugReplicaID, topics: [
                .init(name: "orders", partitions: [.init(partition: 0, currentLeaderEpoch: version >= 2 ? LeaderEpoch(2) : .none, leaderEpoch: LeaderEpoch(1))]),
            ])
        case .describeConfigs:
            return DescribeConfigsRequest(
                resources: [.init(resourceType: .topic, resourceName: "orders", configurationKeys: ["retention.ms"]), .init(resourceType: .broker, resourceName: "0")],
                includeSynonyms: version >= 1, includeDocumentation: version >= 3)
        default:
            return nil
        }
    }
}
