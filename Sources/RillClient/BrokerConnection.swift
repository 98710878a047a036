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
    private let correlationIDs = NIOLockedValueBox<Int32>(0)

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
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameToMessageDecoder(maximumFrameBytes: maximumResponseBytes)))
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
        correlationIDs.withLockedValue { value in
            value = value == Int32.max ? 0 : value + 1
            return value
        }
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
        let correlationID = nextCorrelationID()
        let frame = encode(request, version: version, correlationID: correlationID)
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let pending = ClientRequestHandler.Pending(correlationID: correlationID, apiKey: Request.apiKey, version: version, promise: promise, expectsResponse: true)
        let handler = self.handler
        channel.eventLoop.execute {
            handler.value.enqueue(pending, frame: frame, timeout: timeout)
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
final class ClientRequestHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    struct Pending {
        var correlationID: Int32
        var apiKey: ApiKey
        var version: Int16
        var promise: EventLoopPromise<ByteBuffer>
        var expectsResponse: Bool
        var timeout: Scheduled<Void>?
    }

    private var inFlight = CircularBuffer<Pending>()
    private var context: ChannelHandlerContext?
    private var closedError: KafkaClientError?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func enqueue(_ pending: Pending, frame: [ByteBuffer], timeout: TimeAmount) {
        guard let context, closedError == nil else {
            pending.promise.fail(closedError ?? KafkaClientError(.connectionClosed, "connection is closed"))
            return
        }
        var pending = pending
        let correlationID = pending.correlationID
        let this = NIOLoopBound(self, eventLoop: context.eventLoop)
        pending.timeout = context.eventLoop.scheduleTask(in: timeout) {
            this.value.timedOut(correlationID: correlationID)
        }
        inFlight.append(pending)
        for part in frame { context.write(NIOAny(part), promise: nil) }
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        guard let pending = inFlight.popFirst() else {
            failAll(KafkaClientError(.protocolViolation, "response without a request", outcome: .unknown), context: context)
            return
        }
        pending.timeout?.cancel()
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

    private func timedOut(correlationID: Int32) {
        guard let context, inFlight.contains(where: { $0.correlationID == correlationID }) else { return }
        // The broker may still apply it; the connection can no longer be trusted for order.
        failAll(KafkaClientError(.timedOut, "no response within the request timeout", outcome: .unknown), context: context)
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
        while let pending = inFlight.popFirst() {
            pending.timeout?.cancel()
            pending.promise.fail(error)
        }
        context.close(promise: nil)
    }
}
