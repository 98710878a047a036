import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RillProtocol

/// A link fault a proxy applies to everything that crosses it.
public enum LinkFault: Hashable, Sendable, CustomStringConvertible {
    /// Bytes pass as they come.
    case none
    /// Nothing passes either way (reads stop, so TCP's own flow control holds the data, as a
    /// partition that drops packets would); connections stay open and time out on their own.
    case partition
    /// Everything arrives `milliseconds` later, in order.
    case delay(milliseconds: Int64)
    /// At most `bytesPerSecond` pass each way.
    case slow(bytesPerSecond: Int)

    public var description: String {
        switch self {
        case .none: "none"
        case .partition: "partition"
        case .delay(let milliseconds): "delay \(milliseconds) ms"
        case .slow(let bytesPerSecond): "slow \(bytesPerSecond) B/s"
        }
    }
}

/// A fault-injecting TCP proxy on 127.0.0.1 in front of one broker, for one client (or a group
/// of clients whose link should fail together). It forwards Kafka frames both ways, applies the
/// current `LinkFault`, and rewrites broker addresses in Metadata and FindCoordinator answers
/// to the proxies of the same client (`KafkaAddressRewriter`), so the client never bypasses it.
public final class FaultProxy: Sendable {
    public let target: (host: String, port: Int)
    public let port: Int
    private let serverChannel: any Channel
    private let shared: Shared

    final class Shared: Sendable {
        let fault = NIOLockedValueBox(LinkFault.none)
        let connections = NIOLockedValueBox<[ObjectIdentifier: ProxyConnection]>([:])
        let addresses: NIOLockedValueBox<[Int32: (host: String, port: Int32)]>
        init(addresses: [Int32: (host: String, port: Int32)]) { self.addresses = NIOLockedValueBox(addresses) }
    }

    private init(target: (host: String, port: Int), port: Int, serverChannel: any Channel, shared: Shared) {
        self.target = target
        self.port = port
        self.serverChannel = serverChannel
        self.shared = shared
    }

    /// Starts a proxy on 127.0.0.1 (port 0 picks a free one) forwarding to `target`.
    /// `addresses` maps node ids to the proxy address clients should use for them; a proxy in
    /// front of a single broker is filled in with its own address for `nodeID`.
    public static func start(target: (host: String, port: Int), nodeID: Int32? = nil, addresses: [Int32: (host: String, port: Int32)] = [:],
                             listenPort: Int = 0, group: any EventLoopGroup) async throws -> FaultProxy {
        let shared = Shared(addresses: addresses)
        let maximumFrameBytes = 256 << 20
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { client in
                let connection = ProxyConnection(client: client, shared: shared)
                shared.connections.withLockedValue { $0[ObjectIdentifier(connection)] = connection }
                client.closeFuture.whenComplete { _ in
                    _ = shared.connections.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(connection)) }
                    connection.close()
                }
                return client.eventLoop.makeCompletedFuture {
                    try client.pipeline.syncOperations.addHandler(KafkaFrameHandler(maximumFrameBytes: maximumFrameBytes))
                    try client.pipeline.syncOperations.addHandler(ProxyFrameHandler(connection: connection, side: .client))
                }.flatMap {
                    ClientBootstrap(group: client.eventLoop)
                        .channelOption(.socketOption(.tcp_nodelay), value: 1)
                        .channelInitializer { upstream in
                            upstream.eventLoop.makeCompletedFuture {
                                try upstream.pipeline.syncOperations.addHandler(KafkaFrameHandler(maximumFrameBytes: maximumFrameBytes))
                                try upstream.pipeline.syncOperations.addHandler(ProxyFrameHandler(connection: connection, side: .broker))
                            }
                        }
                        .connect(host: target.host, port: target.port)
                        .map { upstream in connection.attach(upstream: upstream) }
                        .recover { _ in connection.close() }
                }
            }
            .bind(host: "127.0.0.1", port: listenPort).get()
        let port = server.localAddress?.port ?? listenPort
        if let nodeID, addresses[nodeID] == nil {
            shared.addresses.withLockedValue { $0[nodeID] = ("127.0.0.1", Int32(port)) }
        }
        return FaultProxy(target: target, port: port, serverChannel: server, shared: shared)
    }

    public var fault: LinkFault { shared.fault.withLockedValue { $0 } }

    /// Applies `fault` to every connection, open or future (`.none` heals).
    public func set(_ fault: LinkFault) {
        shared.fault.withLockedValue { $0 = fault }
        for connection in shared.connections.withLockedValue({ Array($0.values) }) { connection.faultChanged() }
    }

    /// Where clients should connect for each node (the rewriter's table).
    public func setAddresses(_ addresses: [Int32: (host: String, port: Int32)]) {
        shared.addresses.withLockedValue { $0 = addresses }
    }

    /// Resets every open connection (both sides closed), as a crashed middlebox would.
    public func closeConnections() {
        for connection in shared.connections.withLockedValue({ Array($0.values) }) { connection.close() }
    }

    public var connectionCount: Int { shared.connections.withLockedValue { $0.count } }

    public func stop() async {
        try? await serverChannel.close()
        closeConnections()
    }
}

/// One proxied connection: a client channel, its upstream channel to the broker, and the two
/// directions between them. Confined to the client channel's event loop (the upstream channel
/// is made on the same loop).
final class ProxyConnection: @unchecked Sendable {
    enum Side { case client, broker }

    let client: any Channel
    let shared: FaultProxy.Shared
    private var upstream: (any Channel)?
    private var rewriter: KafkaAddressRewriter
    private var toBroker = Direction()
    private var toClient = Direction()
    private var isClosed = false

    /// Frames waiting in one direction, each due at a time (delays) and paced (slow links).
    struct Direction {
        var queue: [(due: NIODeadline, bytes: ByteBuffer)] = []
        var scheduled: Scheduled<Void>?
        /// For slow links: when the next byte may pass.
        var nextSend = NIODeadline.now()
    }

    init(client: any Channel, shared: FaultProxy.Shared) {
        self.client = client
        self.shared = shared
        self.rewriter = KafkaAddressRewriter(addresses: shared.addresses.withLockedValue { $0 })
    }

    var eventLoop: any EventLoop { client.eventLoop }

    func attach(upstream channel: any Channel) {
        eventLoop.preconditionInEventLoop()
        guard !isClosed else {
            channel.close(promise: nil)
            return
        }
        upstream = channel
        channel.closeFuture.whenComplete { _ in self.close() }
        if shared.fault.withLockedValue({ $0 }) == .partition { applyReading() }
        drain(.broker)
    }

    /// A frame arrived on `side`; it goes to the other side.
    func received(_ frame: ByteBuffer, on side: Side) {
        eventLoop.preconditionInEventLoop()
        switch side {
        case .client:
            rewriter.noteRequest(frame)
            enqueue(KafkaAddressRewriter.framed(frame), toward: .broker)
        case .broker:
            rewriter.addresses = shared.addresses.withLockedValue { $0 }
            enqueue(rewriter.rewriteResponse(frame), toward: .client)
        }
    }

    private func enqueue(_ bytes: ByteBuffer, toward destination: Side) {
        let delay: Int64 = if case .delay(let milliseconds) = shared.fault.withLockedValue({ $0 }) { milliseconds } else { 0 }
        let entry = (due: NIODeadline.now() + .milliseconds(delay), bytes: bytes)
        switch destination {
        case .broker: toBroker.queue.append(entry)
        case .client: toClient.queue.append(entry)
        }
        drain(destination)
    }

    /// Sends what is due toward `destination`, honouring the fault; schedules the rest.
    private func drain(_ destination: Side) {
        guard !isClosed else { return }
        let fault = shared.fault.withLockedValue { $0 }
        guard fault != .partition, let channel = destination == .broker ? upstream : client else { return }
        var direction = destination == .broker ? toBroker : toClient
        direction.scheduled?.cancel()
        direction.scheduled = nil
        let now = NIODeadline.now()
        var wrote = false
        while let head = direction.queue.first {
            // A slow link delivers a frame when its last byte would have crossed.
            var due = head.due
            if case .slow(let bytesPerSecond) = fault {
                let nanoseconds = Int64(head.bytes.readableBytes) * 1_000_000_000 / Int64(max(bytesPerSecond, 1))
                due = max(due, max(direction.nextSend, head.due) + .nanoseconds(nanoseconds))
            }
            if due > now {
                direction.scheduled = eventLoop.scheduleTask(deadline: due) { self.drain(destination) }
                break
            }
            direction.queue.removeFirst()
            channel.write(head.bytes, promise: nil)
            wrote = true
            direction.nextSend = due
        }
        if wrote { channel.flush() }
        switch destination {
        case .broker: toBroker = direction
        case .client: toClient = direction
        }
    }

    /// The fault changed: stop or resume reading, and send what may now pass.
    func faultChanged() {
        eventLoop.execute {
            self.applyReading()
            self.drain(.broker)
            self.drain(.client)
        }
    }

    private func applyReading() {
        let reading = shared.fault.withLockedValue { $0 } != .partition
        for channel in [client] + (upstream.map { [$0] } ?? []) where channel.isActive {
            channel.setOption(.autoRead, value: reading).whenComplete { _ in }
        }
    }

    func close() {
        eventLoop.execute {
            guard !self.isClosed else { return }
            self.isClosed = true
            self.toBroker.scheduled?.cancel()
            self.toClient.scheduled?.cancel()
            self.client.close(promise: nil)
            self.upstream?.close(promise: nil)
        }
    }
}

/// Hands each frame from one side's decoder to the connection.
final class ProxyFrameHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let connection: ProxyConnection
    let side: ProxyConnection.Side

    init(connection: ProxyConnection, side: ProxyConnection.Side) {
        self.connection = connection
        self.side = side
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.received(unwrapInboundIn(data), on: side)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection.close()
    }
}
