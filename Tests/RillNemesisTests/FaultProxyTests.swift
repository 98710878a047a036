import Foundation
import NIOCore
import NIOPosix
import RillBroker
import RillClient
import RillFormat
import RillNemesis
import RillProtocol
import RillServer
import Testing

/// The address rewriter on its own: requests teach it which answers to rewrite.
@Suite struct KafkaAddressRewriterTests {
    static func requestFrame<Request: KafkaRequestMessage>(_ request: Request, version: Int16, correlationID: Int32) -> ByteBuffer {
        var frame = request.encodedFrame(version: version, correlationID: correlationID, clientID: "c")
        frame.moveReaderIndex(forwardBy: 4)
        return frame
    }

    static func responseFrame<Response: KafkaResponseMessage>(_ response: Response, version: Int16, correlationID: Int32) -> ByteBuffer {
        var frame = response.encodedFrame(version: version, correlationID: correlationID)
        frame.moveReaderIndex(forwardBy: 4)
        return frame
    }

    @Test func metadataAndFindCoordinatorNameTheProxy() throws {
        var rewriter = KafkaAddressRewriter(addresses: [0: ("127.0.0.1", 40000)])
        rewriter.noteRequest(Self.requestFrame(MetadataRequest(topics: nil), version: 8, correlationID: 7))
        rewriter.noteRequest(Self.requestFrame(FindCoordinatorRequest(key: "g"), version: 2, correlationID: 8))
        let metadata = MetadataResponse(brokers: [.init(nodeID: 0, host: "broker", port: 9092), .init(nodeID: 1, host: "other", port: 9093)],
                                        clusterID: "c", controllerID: 0, topics: [])
        var rewritten = rewriter.rewriteResponse(Self.responseFrame(metadata, version: 8, correlationID: 7))
        #expect(rewritten.readInteger(as: Int32.self) == Int32(rewritten.readableBytes))
        var reader = KafkaReader(rewritten)
        #expect(try reader.readInt32() == 7)
        let decoded = try MetadataResponse(from: &reader, version: 8)
        #expect(decoded.brokers.map(\.port) == [40000, 9093], "only mapped nodes are rewritten")
        #expect(decoded.brokers.first?.host == "127.0.0.1")

        let coordinator = FindCoordinatorResponse(errorCode: .none, nodeID: 0, host: "broker", port: 9092)
        var second = rewriter.rewriteResponse(Self.responseFrame(coordinator, version: 2, correlationID: 8))
        second.moveReaderIndex(forwardBy: 8)
        var secondReader = KafkaReader(second)
        #expect(try FindCoordinatorResponse(from: &secondReader, version: 2).port == 40000)
    }

    @Test func otherAnswersPassThroughByteForByte() {
        var rewriter = KafkaAddressRewriter(addresses: [0: ("127.0.0.1", 40000)])
        let unknown = ByteBuffer(bytes: [0, 0, 0, 9, 1, 2, 3])
        var passed = rewriter.rewriteResponse(unknown)
        #expect(passed.readInteger(as: Int32.self) == 7)
        #expect(passed == unknown)
        // A request it cannot parse is ignored; its answer passes.
        rewriter.noteRequest(ByteBuffer(bytes: [0xFF]))
        #expect(rewriter.rewriteResponse(ByteBuffer(bytes: [0, 0, 0, 1])).readableBytes == 8)
    }
}

/// A real broker behind a proxy, used by Rill's client through the proxy only.
@Suite(.serialized) struct FaultProxyTests {
    final class Setup {
        let directory = NSTemporaryDirectory() + "rill-nemesis-" + UUID().uuidString
        let server: BrokerServer
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let proxy: FaultProxy

        init() async throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            server = try BrokerServer.start(configuration: try BrokerConfiguration(pairs: [
                ("listeners", "PLAINTEXT://127.0.0.1:0"), ("log.dirs", directory), ("rill.event.loops", "1"), ("num.partitions", "1"),
            ]), logging: false)
            proxy = try await FaultProxy.start(target: ("127.0.0.1", server.localAddress!.port!), nodeID: 0, group: group)
        }

        func properties(_ extra: [String: String] = [:]) -> [String: String] {
            ["bootstrap.servers": "127.0.0.1:\(proxy.port)", "request.timeout.ms": "1500", "retry.backoff.ms": "50"].merging(extra) { $1 }
        }

        func tearDown() async throws {
            await proxy.stop()
            try server.stop()
            try await group.shutdownGracefully()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test func clientsStayBehindTheProxyAndFaultsApplyAndHeal() async throws {
        let setup = try await Setup()
        do {
            var configuration = ClientConfiguration(bootstrapServers: [("127.0.0.1", setup.proxy.port)])
            configuration.requestTimeoutMilliseconds = 1_500
            configuration.connectTimeoutMilliseconds = 1_500
            let admin = KafkaAdmin(configuration: configuration)
            try await admin.createTopic(.init(name: "t", partitionCount: 1, replicationFactor: 1))
            let described = try await admin.describeTopics(["t"])
            #expect(described.first?.partitions.count == 1)
            let metadata = try await admin.cluster.refreshMetadata(topics: ["t"])
            #expect(metadata.brokers[0]?.port == setup.proxy.port, "the client learns the proxy's address, not the broker's")
            let partition = TopicPartition("t", 0)

            // Delay: a round trip takes at least the delay.
            setup.proxy.set(.delay(milliseconds: 200))
            let start = ContinuousClock.now
            _ = try await admin.listOffsets([partition: .latest])
            #expect(ContinuousClock.now - start >= .milliseconds(200))

            // Partition: requests time out (outcome unknown); heal: they work again.
            setup.proxy.set(.partition)
            await #expect(throws: KafkaClientError.self) { _ = try await admin.listOffsets([partition: .latest]) }
            setup.proxy.set(.none)
            let healed = try await admin.listOffsets([partition: .latest])
            #expect(healed[partition]?.offset == Offset(0))

            // Slow: 2 KB/s makes a 4 KB answer take over a second.
            let producer = try await KafkaProducer.start(configuration: try ProducerConfiguration(properties: setup.properties(["acks": "1", "linger.ms": "0"])))
            _ = try await producer.send(ProducerRecord(topic: "t", partition: 0, key: nil, value: ByteBuffer(repeating: 7, count: 4_000)))
            await producer.close()
            setup.proxy.set(.slow(bytesPerSecond: 2_000))
            let consumer = KafkaConsumer(configuration: try ConsumerConfiguration(properties: setup.properties(["auto.offset.reset": "earliest", "request.timeout.ms": "10000"])))
            consumer.assign([partition])
            let slowStart = ContinuousClock.now
            var received: [ConsumerRecord] = []
            while received.isEmpty, ContinuousClock.now - slowStart < .seconds(15) { received += try await consumer.poll(timeout: .milliseconds(500)) }
            #expect(received.count == 1)
            #expect(ContinuousClock.now - slowStart >= .seconds(1))
            setup.proxy.set(.none)
            await consumer.close()

            // Connections reset: the client reconnects through the proxy.
            setup.proxy.closeConnections()
            let after = try await admin.listOffsets([partition: .latest])
            #expect(after[partition]?.offset == Offset(1))
            await admin.close()
        } catch {
            try await setup.tearDown()
            throw error
        }
        try await setup.tearDown()
    }
}

/// Bit rot in a closed segment: the broker finds it and never serves the batch.
@Suite struct DiskFaultTests {
    @Test func aCorruptedBatchInAClosedSegmentIsNeverServed() async throws {
        let directory = NSTemporaryDirectory() + "rill-nemesis-disk-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configuration = try BrokerConfiguration(pairs: [
            ("listeners", "PLAINTEXT://127.0.0.1:0"), ("log.dirs", directory), ("rill.event.loops", "1"), ("log.segment.bytes", "4096"),
        ])
        var server = try BrokerServer.start(configuration: configuration, logging: false)
        func properties(_ extra: [String: String] = [:]) -> [String: String] {
            ["bootstrap.servers": "127.0.0.1:\(server.localAddress!.port!)", "request.timeout.ms": "3000"].merging(extra) { $1 }
        }
        let producer = try await KafkaProducer.start(configuration: try ProducerConfiguration(properties: properties(["acks": "1", "linger.ms": "0"])))
        for index in 0..<200 {
            _ = try await producer.send(ProducerRecord(topic: "rot", partition: 0, key: nil, value: ByteBuffer(string: "value-\(index)-" + String(repeating: "x", count: 80))))
        }
        await producer.close()
        try server.stop()

        var generator = SplitMix64(seed: 7)
        let corruption = try DiskFaults.corruptClosedSegment(partitionDirectory: directory + "/rot-0", using: &generator)
        #expect(corruption.batchRecordCount >= 1)
        server = try BrokerServer.start(configuration: configuration, logging: false)
        defer { try? server.stop() }

        let consumer = KafkaConsumer(configuration: try ConsumerConfiguration(properties: properties(["auto.offset.reset": "earliest"])))
        let partition = TopicPartition("rot", 0)
        consumer.assign([partition])
        var offsets: [Int64] = []
        // Read until everything before the corrupt batch has come (bounded), then once more:
        // nothing of the batch may follow.
        let deadline = ContinuousClock.now + .seconds(15)
        while offsets.count < corruption.batchBaseOffset, ContinuousClock.now < deadline {
            offsets += try await consumer.poll(timeout: .milliseconds(300)).map(\.offset.rawValue)
        }
        offsets += try await consumer.poll(timeout: .milliseconds(500)).map(\.offset.rawValue)
        #expect(offsets == Array(0..<corruption.batchBaseOffset), "everything before the corrupt batch, nothing of it: \(corruption)")
        // Past it, the log serves again.
        let next = corruption.batchBaseOffset + Int64(corruption.batchRecordCount)
        try consumer.seek(partition, to: Offset(next))
        let after = try await consumer.poll(timeout: .seconds(3))
        #expect(after.first?.offset == Offset(next))
        await consumer.close()
    }
}
