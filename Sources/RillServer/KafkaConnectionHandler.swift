import NIOCore
import RillProtocol
import RillStorage

/// One client connection: takes request frames (split by `KafkaFrameHandler` in front
/// of it), hands each request to the broker, and writes responses strictly in request order — Kafka clients match responses to
/// requests by order (kafka-python, Java) or expect order anyway (librdkafka).
///
/// Requests are pipelined: up to `maximumInFlightRequests` are processed at once; beyond that
/// the handler stops reading from the socket (back-pressure through TCP). Requests on one
/// connection reach each partition shard in arrival order (shards run submitted work FIFO),
/// which keeps an idempotent producer's batches in sequence.
final class KafkaConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = IOData

    static let maximumInFlightRequests = 64

    private let broker: BrokerRuntime
    /// Responses in request order; an entry is nil until its request completes.
    private var pending = CircularBuffer<PendingResponse>()
    private var nextSequence: UInt64 = 0
    private var isReading = false
    private var isClosing = false
    /// The peer's address as Kafka prints client hosts ("/127.0.0.1"), for group members.
    private var clientHost = ""

    final class PendingResponse {
        let sequence: UInt64
        var payload: ResponsePayload?
        init(sequence: UInt64) { self.sequence = sequence }
    }

    init(broker: BrokerRuntime) {
        self.broker = broker
    }

    func channelActive(context: ChannelHandlerContext) {
        clientHost = "/" + (context.remoteAddress?.ipAddress ?? "unknown")
        readIfAllowed(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        isReading = false
        guard !isClosing else { return }
        handle(frame: unwrapInboundIn(data), context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // A read completed even when it held no whole frame (part of a large one): ask for more.
        isReading = false
        readIfAllowed(context: context)
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A frame the decoder refused (size prefix beyond socket.request.max.bytes, negative)
        // or a socket error: nothing on this connection can be trusted any more.
        close(context: context, reason: "\(error)")
    }

    private func readIfAllowed(context: ChannelHandlerContext) {
        guard !isReading, !isClosing, pending.count < Self.maximumInFlightRequests else { return }
        isReading = true
        context.read()
    }

    private func handle(frame: ByteBuffer, context: ChannelHandlerContext) {
        let entry = PendingResponse(sequence: nextSequence)
        nextSequence += 1
        pending.append(entry)
        let future = broker.handle(frame: frame, eventLoop: context.eventLoop, clientHost: clientHost)
        let loopBound = NIOLoopBound((self, context, entry), eventLoop: context.eventLoop)
        future.hop(to: context.eventLoop).whenComplete { result in
            let (handler, context, entry) = loopBound.value
            switch result {
            case .success(let payload): entry.payload = payload
            case .failure(let error): entry.payload = .close(reason: "\(error)")
            }
            handler.flushCompleted(context: context)
        }
    }

    /// Writes every completed response at the head of the queue.
    private func flushCompleted(context: ChannelHandlerContext) {
        var wrote = false
        while let head = pending.first, let payload = head.payload {
            pending.removeFirst()
            switch payload {
            case .none: continue
            case .frame(let buffer):
                context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
                wrote = true
            case .parts(let parts):
                write(parts, context: context)
                wrote = true
            case .close(let reason):
                if wrote { context.flush() }
                close(context: context, reason: reason)
                return
            }
        }
        if wrote { context.flush() }
        readIfAllowed(context: context)
    }

    /// File ranges below this size are read into memory and go out with the frame's other
    /// buffers in one `writev`: sendfile needs the header written first, a duplicated descriptor
    /// and its close — four system calls where a small range needs two (`pread`, `writev`).
    static let sendfileMinimumBytes = 32 * 1024

    /// Buffers go out as they are; file ranges go out with sendfile where the file is a real
    /// file and the range is not small, else read into memory.
    private func write(_ parts: [ResponsePart], context: ChannelHandlerContext) {
        for part in parts {
            switch part {
            case .bytes(let buffer):
                context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
            case .file(let slice):
                guard slice.length > 0 else { continue }
                if slice.length >= Self.sendfileMinimumBytes, let descriptor = slice.file.descriptor,
                   let region = FileRegionWriter.region(for: slice, descriptor: descriptor) {
                    let promise = context.eventLoop.makePromise(of: Void.self)
                    // The slice's file stays referenced until sendfile is done with it: the log
                    // reuses a removed segment's file only once nothing holds it.
                    promise.futureResult.whenComplete { [file = slice.file] _ in
                        try? region.fileHandle.close()
                        withExtendedLifetime(file) {}
                    }
                    context.write(wrapOutboundOut(.fileRegion(region)), promise: promise)
                } else if let buffer = try? slice.read() {
                    context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
                } else {
                    close(context: context, reason: "cannot read \(slice.file.path)")
                    return
                }
            }
        }
    }

    private func close(context: ChannelHandlerContext, reason: String) {
        guard !isClosing else { return }
        isClosing = true
        broker.log("closing connection from \(context.remoteAddress?.description ?? "?"): \(reason)")
        context.close(promise: nil)
    }
}

/// Turns a file slice into a NIO `FileRegion` over a duplicate of the file's descriptor, which
/// the writer closes once the region is sent (the original stays with the segment).
enum FileRegionWriter {
    static func region(for slice: FileSlice, descriptor: Int32) -> FileRegion? {
        let duplicate = dup(descriptor)
        guard duplicate >= 0 else { return nil }
        let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: duplicate)
        return FileRegion(fileHandle: handle, readerIndex: Int(slice.position), endIndex: Int(slice.position) + slice.length)
    }
}

#if canImport(Glibc)
import Glibc
#endif
