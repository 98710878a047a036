import Foundation
import NIOCore
import RillBroker
import RillFormat
import RillProtocol
@testable import RillServer
import Testing

/// Connections and brokers that go away while requests are in progress.
extension BrokerServerTests {
    @Test func aClientThatLeavesDuringALongPollDoesNotHurtTheBroker() throws {
        let broker = try TestBroker()
        try broker.connect().createTopic("events")
        let consumer = try broker.connect()
        try consumer.send(TestConnection.fetchRequest(topic: "events", offset: .zero, maximumWaitMilliseconds: 5_000, minimumBytes: 1), version: 11)
        _ = try broker.connect().request(ApiVersionsRequest(), version: 2)
        consumer.close()
        // The parked fetch wakes up to write to a closed connection.
        #expect(try broker.connect().produce(topic: "events", records: try makeBatch(1)).baseOffset == .zero)
        try Self.expectHealthy(broker)
        try broker.stop()
    }

    /// Segment deletion and compaction run on a thread below the event loops' priority.
    @Test func theBackgroundThreadRunsAtALowerPriority() throws {
        #if os(Linux)
        let broker = try TestBroker()
        defer { try? broker.stop() }
        let runtime = try #require(broker.server).runtime
        // The pool has one thread and runs its jobs in order: this one after the start's.
        let nice = try runtime.threadPool.runIfActive(eventLoop: runtime.shards[0].eventLoop) { () throws -> Int? in
            // Field 19 of the thread's stat: the 17th after the name's closing parenthesis.
            let stat = try String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8)
            guard let end = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            return fields.count > 16 ? Int(fields[16]) : nil
        }.wait()
        #expect(nice == 10)
        #endif
    }

    /// Consumers are nearly always in a long poll, so a broker must be able to stop under them.
    @Test func aBrokerStopsWhileAFetchIsParked() throws {
        let broker = try TestBroker()
        try broker.connect().createTopic("events")
        let consumer = try broker.connect()
        let fetchID = try consumer.send(
            TestConnection.fetchRequest(topic: "events", offset: .zero, maximumWaitMilliseconds: 60_000, minimumBytes: 1), version: 11)
        // A round trip on the same loop group, so that the fetch has most likely been parked.
        _ = try broker.connect().request(ApiVersionsRequest(), version: 2)
        try broker.stop()
        // The consumer learns that the broker went away: its connection is closed (an empty
        // answer to the fetch first is fine too).
        if let frame = try consumer.receiveFrame() {
            var reader = KafkaReader(frame)
            #expect(try ResponseHeader.read(from: &reader, apiKey: .fetch, version: 11) == fetchID)
            #expect(try consumer.receiveFrame() == nil)
        }
    }

    @Test func deletingATopicCompletesAFetchParkedOnIt() throws {
        let broker = try TestBroker()
        let admin = try broker.connect()
        try admin.createTopic("doomed")
        let consumer = try broker.connect()
        let clock = ContinuousClock()
        let started = clock.now
        let fetchID = try consumer.send(
            TestConnection.fetchRequest(topic: "doomed", offset: .zero, maximumWaitMilliseconds: 5_000, minimumBytes: 1), version: 11)
        _ = try admin.request(ApiVersionsRequest(), version: 2)
        let deleted = try admin.request(DeleteTopicsRequest(topicNames: ["doomed"], timeoutMilliseconds: 1_000), version: 3)
        #expect(deleted.results.map(\.errorCode) == [.none])
        let response = try consumer.receive(FetchResponse.self, version: 11, correlationID: fetchID)
        #expect(clock.now - started < .seconds(4), "the fetch waited out maxWait")
        #expect(response.topics.first?.partitions.first?.errorCode == .unknownTopicOrPartition)
        try Self.expectHealthy(broker)
        try broker.stop()
    }

    /// More requests in flight than the connection processes at once: the broker stops reading
    /// and resumes as answers go out, losing and reordering nothing.
    @Test func aLongPipelineBeyondTheInFlightLimitIsAnsweredInOrder() throws {
        let broker = try TestBroker()
        let connection = try broker.connect()
        try connection.createTopic("busy", partitions: 2)
        var pipeline = ByteBuffer()
        var expected: [(correlationID: Int32, isProduce: Bool)] = []
        for index in 0..<300 {
            if index % 3 == 0 {
                let encoded = connection.frame(
                    TestConnection.produceRequest(topic: "busy", partition: Int32(index % 2), records: try makeBatch(1, prefix: "\(index)-")), version: 8)
                pipeline.writeImmutableBuffer(encoded.frame)
                expected.append((encoded.correlationID, true))
            } else {
                let encoded = connection.frame(ApiVersionsRequest(), version: 2)
                pipeline.writeImmutableBuffer(encoded.frame)
                expected.append((encoded.correlationID, false))
            }
        }
        try connection.send(pipeline)
        var offsets: [Int32: [Offset]] = [:]
        for request in expected {
            if request.isProduce {
                let response = try connection.receive(ProduceResponse.self, version: 8, correlationID: request.correlationID)
                let partition = try #require(response.topics.first?.partitions.first)
                offsets[partition.partition, default: []].append(partition.baseOffset)
            } else {
                _ = try connection.receive(ApiVersionsResponse.self, version: 2, correlationID: request.correlationID)
            }
        }
        #expect(offsets[0] == (0..<50).map { Offset(Int64($0)) })
        #expect(offsets[1] == (0..<50).map { Offset(Int64($0)) })
        try broker.stop()
    }

    @Test func connectionsBeyondRillMaxConnectionsAreClosed() throws {
        let broker = try TestBroker([("rill.max.connections", "2")])
        let first = try broker.connect()
        let second = try broker.connect()
        _ = try first.request(ApiVersionsRequest(), version: 2)
        _ = try second.request(ApiVersionsRequest(), version: 2)
        let third = try broker.connect()
        #expect(try third.isClosedByBroker())
        // Once a connection is gone its slot is free again; the broker notices the close
        // asynchronously, so poll for it with a deadline.
        first.close()
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        var served = false
        while !served && clock.now < deadline {
            let attempt = try broker.connect()
            do {
                try attempt.send(ApiVersionsRequest(), version: 2)
                served = try attempt.receiveFrame() != nil
            } catch {
                // Refused before the request went out: the broker still counts the old connection.
            }
        }
        #expect(served)
        _ = try second.request(ApiVersionsRequest(), version: 2)
        try broker.stop()
    }

    @Test func producerIDsAreNeverReusedAcrossRestarts() throws {
        let broker = try TestBroker()
        var ids: [Int64] = []
        for _ in 0..<3 {
            let connection = try broker.connect()
            for _ in 0..<2 {
                let response = try connection.request(InitProducerIdRequest(transactionTimeoutMilliseconds: 60_000), version: 1)
                #expect(response.errorCode == .none)
                #expect(response.producerEpoch == ProducerEpoch(0))
                ids.append(response.producerID.rawValue)
            }
            try broker.restart()
        }
        #expect(Set(ids).count == ids.count)
        #expect(ids == ids.sorted())
        // Transactions are not supported: a transactional id is refused.
        let transactional = try broker.connect().request(InitProducerIdRequest(transactionalID: "tx", transactionTimeoutMilliseconds: 60_000), version: 1)
        #expect(transactional.errorCode != .none)
        try broker.stop()
    }
}
