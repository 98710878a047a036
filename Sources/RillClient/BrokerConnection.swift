import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RillProtocol

/// One TCP connection to one broker, with requests pipelined: many in flight, responses
/// matched to requests in order (and checked by correlation id). On connect it negotiates API
/// versions (ApiVersions, falling back from v2 to v0 as Kafka clients do); `send` then uses the
/// highest version both sides support.
public final class BrokerConnection: Sendable {
    public let host: String
    public let port: Int
    let channel: any Channel
    private let handler: NIOLoopBound<ClientRequestHandler>
    /// The broker's supported range per API, from ApiVersions.
    public let brokerVersions: [ApiKey: ClosedRange<Int16>]
    let clientID: String
    private let starts = NIOLockedValueBox(StartState())

    /// Correlation ids, and how many requests `start` handed to the loop that it has not
    /// enqueued yet: a request started on the loop is enqueued inline only when none is
    /// waiting, so requests are still written in the order of their `start` calls.
    private struct StartState {
        var correlationID: Int32 = 0
        var queued = 0

        mutating func nextCorrelationID() -> Int32 {
            correlationID = correlationID == Int32.max ? 0 : correlationID + 1
            return correlationID
        }
    }

    init(host: String, port: Int, channel: any Channel, handler: NIOLoopBound<ClientRequestHandler>, brokerVersions: [ApiKey: ClosedRange<Int16>], clientID: String) {
        self.host = host
        self.port = port
        self.channel = channel
        self.handler = handler
        self.brokerVersions = brokerVersions
        self.clientID = clientID
    }

    /// Connects and negotiates versions. Throws `.connectionFailed` when the broker cannot be
    /// reached or does not speak the protocol.
    public static func connect(host: String, port: Int, clientID: String, group: any EventLoopGroup,
                               timeout: TimeAmount = .seconds(10), maximumResponseBytes: Int = 256 << 20) async throws -> BrokerConnection {
        let eventLoop = group.next()
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                // Large reads: fetch responses are megabytes.
                .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 65_536, maximum: 4 << 20))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(KafkaFrameHandler(maximumFrameBytes: maximumResponseBytes))
                        try channel.pipeline.syncOperations.addHandler(ClientRequestHandler())
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw KafkaClientError(.connectionFailed, "cannot connect to \(host):\(port): \(error)")
        }
        let handler = try await eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: ClientRequestHandler.self), eventLoop: eventLoop)
        }.get()
        let unnegotiated = BrokerConnection(host: host, port: port, channel: channel, handler: handler, brokerVersions: [:], clientID: clientID)
        do {
            let versions = try await unnegotiated.negotiateVersions(timeout: timeout)
            return BrokerConnection(host: host, port: port, channel: channel, handler: handler, brokerVersions: versions, clientID: clientID)
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// ApiVersions v2; on UNSUPPORTED_VERSION retry with the broker's maximum (or v0).
    private func negotiateVersions(timeout: TimeAmount) async throws -> [ApiKey: ClosedRange<Int16>] {
        var version: Int16 = 2
        for _ in 0..<3 {
            let response = try await send(ApiVersionsRequest(), version: version, timeout: timeout)
            if response.errorCode == .unsupportedVersion {
                version = response.apiKeys.first { $0.apiKey == .apiVersions }?.maximumVersion ?? 0
                continue
            }
            guard response.errorCode == .none else {
                throw KafkaClientError.broker(response.errorCode, "ApiVersions failed")
            }
            return Dictionary(response.apiKeys.map { ($0.apiKey, $0.minimumVersion...$0.maximumVersion) }, uniquingKeysWith: { $1 })
        }
        throw KafkaClientError(.protocolViolation, "ApiVersions negotiation did not converge")
    }

    /// The version to use for `apiKey`: the highest both this package and the broker support.
    public func version(for apiKey: ApiKey) throws -> Int16 {
        guard let ours = ApiVersionTable.codecVersions(apiKey), let theirs = brokerVersions[apiKey],
              ours.overlaps(theirs)
        else {
            throw KafkaClientError(.unsupportedVersion, "\(host):\(port) does not support a version of \(apiKey) this client speaks")
        }
        return min(ours.upperBound, theirs.upperBound)
    }

    func nextCorrelationID() -> Int32 {
        starts.withLockedValue { $0.nextCorrelationID() }
    }

    /// Sends a request and waits for its response. If the connection closes or the timeout
    /// passes after the request was written, the error's outcome is `.unknown`.
    public func send<Request: KafkaRequestMessage>(_ request: Request, version: Int16? = nil, timeout: TimeAmount = .seconds(30)) async throws -> Request.Response {
        try await start(request, version: version, timeout: timeout).response()
    }

    /// Queues a request for writing and returns without waiting. Requests are written in the
    /// order of their `start` calls, which is what keeps an idempotent producer's pipelined
    /// batches in sequence order on the wire.
    public func start<Request: KafkaRequestMessage>(_ request: Request, version: Int16? = nil, timeout: TimeAmount = .seconds(30)) throws -> PendingResponse<Request.Response> {
        let version = try version ?? self.version(for: Request.apiKey)
        let eventLoop = channel.eventLoop
        // A task running on the connection's loop (the client's executor) writes the request
        // itself instead of queueing a job for the loop it is already on.
        let (correlationID, inline) = starts.withLockedValue { state in
            let inline = state.queued == 0 && eventLoop.inEventLoop
            if !inline { state.queued += 1 }
            return (state.nextCorrelationID(), inline)
        }
        let frame = encode(request, version: version, correlationID: correlationID)
        let promise = eventLoop.makePromise(of: ByteBuffer.self)
        let pending = ClientRequestHandler.Pending(correlationID: correlationID, apiKey: Request.apiKey, version: version, promise: promise, deadline: eventLoop.now + timeout)
        let handler = self.handler
        if inline {
            handler.value.enqueue(pending, frame: frame)
        } else {
            let starts = self.starts
            eventLoop.execute {
                handler.value.enqueue(pending, frame: frame)
                starts.withLockedValue { $0.queued -= 1 }
            }
        }
        return PendingResponse(body: promise.futureResult, version: version)
    }

    /// The response to a request `start` queued.
    public struct PendingResponse<Response: KafkaResponseMessage>: Sendable {
        let body: EventLoopFuture<ByteBuffer>
        let version: Int16

        /// Waits for the response; errors as `send` describes.
        public func response() async throws -> Response {
            var body = KafkaReader(try await self.body.get())
            do {
                return try Response(from: &body, version: version)
            } catch {
                throw KafkaClientError(.protocolViolation, "cannot decode \(Response.apiKey) v\(version) response: \(error)", outcome: .unknown)
            }
        }
    }

    /// The request's frame, in parts: a Produce request keeps its record batches as separate
    /// buffers (written with writev, not copied).
    private func encode<Request: KafkaRequestMessage>(_ request: Request, version: Int16, correlationID: Int32) -> [ByteBuffer] {
        if let produce = request as? ProduceRequest {
            return produce.encodedFrameParts(version: version, correlationID: correlationID, clientID: clientID, allocator: channel.allocator)
        }
        return [request.encodedFrame(version: version, correlationID: correlationID, clientID: clientID, allocator: channel.allocator)]
    }

    /// Sends a request that gets no response (Produce with acks=0); returns when it is written.
    public func sendWithoutResponse<Request: KafkaRequestMessage>(_ request: Request, version: Int16? = nil) async throws {
        let version = try version ?? self.version(for: Request.apiKey)
        let parts = encode(request, version: version, correlationID: nextCorrelationID())
        do {
            for part in parts.dropLast() { channel.write(part, promise: nil) }
            try await channel.writeAndFlush(parts.last!)
        } catch {
            throw KafkaClientError(.connectionClosed, "write to \(host):\(port) failed: \(error)", outcome: .unknown)
        }
    }

    public var isActive: Bool { channel.isActive }

    public func close() async {
        try? await channel.close()
    }
}

/// Matches response frames to requests in order. Lives on the connection's event loop.
///
/// Request timeouts share one `DeadlineTimer`, armed for the earliest deadline in flight: when
/// it fires it fails the connection if a deadline has passed, else re-arms for the next one.
final class ClientRequestHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    struct Pending {
        var correlationID: Int32
        var apiKey: ApiKey
        var version: Int16
        var promise: EventLoopPromise<ByteBuffer>
        var deadline: NIODeadline
    }

    private var inFlight = CircularBuffer<Pending>()
    private var context: ChannelHandlerContext?
    private var closedError: KafkaClientError?
    /// Armed for the earliest deadline in flight.
    private var timeouts = DeadlineTimer()

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func enqueue(_ pending: Pending, frame: [ByteBuffer]) {
        guard let context, closedError == nil else {
            pending.promise.fail(closedError ?? KafkaClientError(.connectionClosed, "connection is closed"))
            return
        }
        inFlight.append(pending)
        armTimeoutCheck(for: pending.deadline, context: context)
        for part in frame { context.write(NIOAny(part), promise: nil) }
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        guard let pending = inFlight.popFirst() else {
            failAll(KafkaClientError(.protocolViolation, "response without a request", outcome: .unknown), context: context)
            return
        }
        guard let correlationID = frame.readInteger(as: Int32.self), correlationID == pending.correlationID else {
            pending.promise.fail(KafkaClientError(.protocolViolation, "correlation id mismatch on \(pending.apiKey)", outcome: .unknown))
            failAll(KafkaClientError(.protocolViolation, "responses out of order", outcome: .unknown), context: context)
            return
        }
        // Flexible response headers (v1) carry tagged fields; ApiVersions never does.
        if pending.apiKey != .apiVersions, ApiVersionTable.isFlexible(pending.apiKey, version: pending.version) {
            var reader = KafkaReader(frame)
            try? reader.skipTaggedFields()
            frame = reader.buffer
        }
        pending.promise.succeed(frame)
    }

    private func armTimeoutCheck(for deadline: NIODeadline, context: ChannelHandlerContext) {
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        timeouts.arm(for: deadline, on: context.eventLoop) { this.value.checkTimeouts() }
    }

    private func checkTimeouts() {
        timeouts.fired()
        guard let context, let earliest = inFlight.lazy.map(\.deadline).min() else { return }
        if earliest <= context.eventLoop.now {
            // The broker may still apply it; the connection can no longer be trusted for order.
            failAll(KafkaClientError(.timedOut, "no response within the request timeout", outcome: .unknown), context: context)
        } else {
            armTimeoutCheck(for: earliest, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(KafkaClientError(.connectionClosed, "the broker closed the connection", outcome: .unknown), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(KafkaClientError(.connectionClosed, "connection error: \(error)", outcome: .unknown), context: context)
    }

    private func failAll(_ error: KafkaClientError, context: ChannelHandlerContext) {
        if closedError == nil { closedError = error }
        timeouts.cancel()
        while let pending = inFlight.popFirst() {
            pending.promise.fail(error)
        }
        context.close(promise: nil)
    }
}
