import NIOCore
import RillFormat

/// Splits a byte stream into Kafka frames: an int32 size, then that many bytes
/// (kafka-protocol.md §1.1). Sans-IO: hand it what a read delivered with `next(from:)`, or feed
/// bytes with `append` and take frames with `next()`.
///
/// `next(from:)` copies each byte at most once (`append`, which tests use, copies it first).
/// A frame that lies whole within what was handed in comes out as a slice of it; the start of a
/// frame that does not is copied into a buffer sized for the whole frame from its size prefix,
/// and the rest goes after it as it arrives. (NIO's
/// cumulating `ByteToMessageHandler` copied the tail of every read that ended mid-frame two or
/// three times: once to grow the cumulation, again when compacting storage that the frames
/// already handed on still shared.)
///
/// A size prefix above `maximumFrameBytes` (`socket.request.max.bytes`) or below zero is an
/// error the caller answers by closing the connection; nothing of such a frame is buffered.
public struct FrameDecoder {
    public let maximumFrameBytes: Int
    private let allocator: ByteBufferAllocator
    /// The start of a frame that did not arrive whole: its size prefix (or the first bytes of
    /// it), then what has arrived of its body. Empty between frames.
    private var partial: ByteBuffer
    /// Bytes given to `append` and not yet taken by `next()`.
    private var unread: ByteBuffer

    public init(maximumFrameBytes: Int, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.maximumFrameBytes = maximumFrameBytes
        self.allocator = allocator
        self.partial = allocator.buffer(capacity: 0)
        self.unread = allocator.buffer(capacity: 0)
    }

    /// The next complete frame (without its size prefix), taking bytes from the front of
    /// `input`; nil once `input` is used up without completing one (its bytes are kept).
    public mutating func next(from input: inout ByteBuffer) throws -> ByteBuffer? {
        if partial.readableBytes == 0 {
            if let frame = try Self.decodeFrame(from: &input, maximumFrameBytes: maximumFrameBytes) { return frame }
            guard input.readableBytes > 0 else { return nil }
            // The frame's size is known and allowed (decodeFrame checked it) or not yet known.
            let size = input.getInteger(at: input.readerIndex, as: Int32.self).map(Int.init) ?? 0
            partial = allocator.buffer(capacity: 4 + size)
            partial.writeBuffer(&input)
            return nil
        }
        if partial.readableBytes < 4 {
            var prefix = input.readSlice(length: min(4 - partial.readableBytes, input.readableBytes))!
            partial.writeBuffer(&prefix)
            guard let size = partial.getInteger(at: partial.readerIndex, as: Int32.self) else { return nil }
            try Self.check(size: size, maximumFrameBytes: maximumFrameBytes)
            partial.reserveCapacity(minimumWritableBytes: Int(size))
        }
        let size = Int(partial.getInteger(at: partial.readerIndex, as: Int32.self)!)
        let missing = 4 + size - partial.readableBytes
        var body = input.readSlice(length: min(missing, input.readableBytes))!
        partial.writeBuffer(&body)
        guard partial.readableBytes == 4 + size else { return nil }
        let frame = partial.getSlice(at: partial.readerIndex + 4, length: size)!
        partial = allocator.buffer(capacity: 0)
        return frame
    }

    public mutating func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        unread.writeBuffer(&bytes)
    }

    /// The next complete frame among the bytes given to `append`, or nil until more arrive.
    public mutating func next() throws -> ByteBuffer? {
        var input = unread
        unread = allocator.buffer(capacity: 0)
        defer { unread = input }
        return try next(from: &input)
    }

    /// Bytes held that do not yet form a frame.
    public var bufferedBytes: Int { partial.readableBytes + unread.readableBytes }

    /// Takes one frame from the front of `buffer` if it is all there.
    public static func decodeFrame(from buffer: inout ByteBuffer, maximumFrameBytes: Int) throws -> ByteBuffer? {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return nil }
        try check(size: size, maximumFrameBytes: maximumFrameBytes)
        guard buffer.readableBytes >= 4 + Int(size) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(size))
    }

    private static func check(size: Int32, maximumFrameBytes: Int) throws {
        guard size >= 0 else { throw ProtocolError(.invalidValue, "negative frame size \(size)") }
        guard Int(size) <= maximumFrameBytes else {
            throw ProtocolError(.frameTooLarge, "frame of \(size) bytes exceeds socket.request.max.bytes \(maximumFrameBytes)")
        }
    }
}

extension ByteBuffer {
    /// Reserves the 4-byte size prefix of a frame; pass the index to `finishKafkaFrame`.
    public mutating func startKafkaFrame() -> Int {
        let index = writerIndex
        writeInteger(Int32(0))
        return index
    }

    /// Fills in the size prefix reserved by `startKafkaFrame`.
    public mutating func finishKafkaFrame(at index: Int) {
        setInteger(Int32(writerIndex - index - 4), at: index)
    }
}

/// The channel handler form of `FrameDecoder`: first in a Kafka connection's pipeline, it
/// passes on one frame (size prefix removed) per message. A bad size prefix is fired as an
/// error (the next handler closes the connection) and everything read after it is dropped.
public final class KafkaFrameHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private var decoder: FrameDecoder
    private var hasFailed = false
    /// Reads that arrived while frames were being passed on (a handler further on read again
    /// synchronously): taken in order after the one in hand, never interleaved with it.
    private var queued: CircularBuffer<ByteBuffer> = []
    private var isPassingOn = false

    public init(maximumFrameBytes: Int) {
        decoder = FrameDecoder(maximumFrameBytes: maximumFrameBytes)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !hasFailed else { return }
        queued.append(unwrapInboundIn(data))
        guard !isPassingOn else { return }
        isPassingOn = true
        defer { isPassingOn = false }
        while !hasFailed, var input = queued.popFirst() {
            do {
                while let frame = try decoder.next(from: &input) {
                    context.fireChannelRead(wrapInboundOut(frame))
                }
            } catch {
                hasFailed = true
                queued.removeAll()
                context.fireErrorCaught(error)
            }
        }
    }
}
