import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import RillProtocol
import Testing
@testable import RillClient

/// The connection's request timeouts on a virtual clock: one timer serves every request in
/// flight, armed for the earliest deadline, so a later request with a shorter timeout still
/// times out on time, and a request answered before its deadline leaves no timeout behind.
@Suite struct RequestTimeoutTests {
    /// A handler on an embedded channel, whose loop's clock moves only when told to.
    struct Connection {
        let channel = EmbeddedChannel()
        var loop: EmbeddedEventLoop { channel.embeddedEventLoop }

        init() throws {
            try channel.pipeline.syncOperations.addHandler(ClientRequestHandler())
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9092)).wait()
        }

        /// Enqueues a request with `timeout` and returns its response future.
        func start(_ correlationID: Int32, timeout: TimeAmount) throws -> EventLoopFuture<ByteBuffer> {
            let promise = loop.makePromise(of: ByteBuffer.self)
            let pending = ClientRequestHandler.Pending(correlationID: correlationID, apiKey: .metadata, version: 1,
                                                       promise: promise, deadline: loop.now + timeout)
            let handler = try channel.pipeline.syncOperations.handler(type: ClientRequestHandler.self)
            handler.enqueue(pending, frame: [ByteBuffer(bytes: [0, 0, 0, 0])])
            return promise.futureResult
        }

        /// The broker's answer to `correlationID` (a response header and no body).
        func respond(_ correlationID: Int32) throws {
            var frame = ByteBuffer()
            frame.writeInteger(correlationID)
            try channel.writeInbound(frame)
        }
    }

    /// What became of a response future: nil while it is pending.
    static func outcome(_ future: EventLoopFuture<ByteBuffer>) -> Result<ByteBuffer, any Error>? {
        // An EmbeddedEventLoop runs the callback at once if the future is complete.
        let outcome = NIOLockedValueBox<Result<ByteBuffer, any Error>?>(nil)
        future.whenComplete { result in outcome.withLockedValue { $0 = result } }
        return outcome.withLockedValue { $0 }
    }

    static func timedOut(_ future: EventLoopFuture<ByteBuffer>) -> Bool {
        guard case .failure(let error as KafkaClientError) = outcome(future) else { return false }
        return error.code == .timedOut
    }

    @Test func aLaterRequestWithAShorterTimeoutTimesOutOnTime() throws {
        let connection = try Connection()
        let long = try connection.start(1, timeout: .seconds(30))
        let short = try connection.start(2, timeout: .seconds(1))
        connection.loop.advanceTime(by: .milliseconds(900))
        #expect(Self.outcome(short) == nil)
        connection.loop.advanceTime(by: .milliseconds(200))
        // A timeout fails the whole connection: responses can no longer be matched in order.
        #expect(Self.timedOut(short))
        #expect(Self.timedOut(long))
        #expect(!connection.channel.isActive)
    }

    @Test func answeredRequestsLeaveNoTimeoutAndTheNextDeadlineStillHolds() throws {
        let connection = try Connection()
        let first = try connection.start(1, timeout: .seconds(1))
        try connection.respond(1)
        guard case .success = Self.outcome(first) else { Issue.record("first request not answered"); return }
        connection.loop.advanceTime(by: .milliseconds(500))
        let second = try connection.start(2, timeout: .seconds(2))
        // The first request's deadline passes: its answer came, so nothing fails.
        connection.loop.advanceTime(by: .milliseconds(1_000))
        #expect(Self.outcome(second) == nil)
        #expect(connection.channel.isActive)
        // The second's deadline (2.5 s) passes unanswered.
        connection.loop.advanceTime(by: .milliseconds(1_100))
        #expect(Self.timedOut(second))
    }

    @Test func aResponseOnTimeKeepsTheConnection() throws {
        let connection = try Connection()
        var futures: [EventLoopFuture<ByteBuffer>] = []
        for id in Int32(1)...100 {
            futures.append(try connection.start(id, timeout: .seconds(1)))
            connection.loop.advanceTime(by: .milliseconds(100))
            try connection.respond(id)
        }
        connection.loop.advanceTime(by: .seconds(5))
        #expect(futures.allSatisfy { if case .success = Self.outcome($0) { true } else { false } })
        #expect(connection.channel.isActive)
    }
}
