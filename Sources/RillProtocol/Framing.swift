import NIOCore
import RillFormat

/// Splits a byte stream into Kafka frames: an int32 size, then that many bytes
/// (kafka-protocol.md §1.1). Sans-IO: feed bytes with `append`, take frames with `next`.
///
/// A size prefix above `maximumFrameBytes` (`socket.request.max.bytes`) or below zero is an
/// error the caller answers by closing the connection; nothing of such a frame is buffered.
public struct FrameDecoder {
    public let maximumFrameBytes: Int
    private var buffer: ByteBuffer

    public init(maximumFrameBytes: Int, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.maximumFrameBytes = maximumFrameBytes
        self.buffer = allocator.buffer(capacity: 0)
    }

    public mutating func append(_ bytes: ByteBuffer) {
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    /// The next complete frame (without its size prefix), or nil until more bytes arrive.
    public mutating func next() throws -> ByteBuffer? {
        try Self.decodeFrame(from: &buffer, maximumFrameBytes: maximumFrameBytes)
    }

    /// Bytes held that do not yet form a frame.
    public var bufferedBytes: Int { buffer.readableBytes }

    /// Takes one frame from the front of `buffer` if it is all there.
    public static func decodeFrame(from buffer: inout ByteBuffer, maximumFrameBytes: Int) throws -> ByteBuffer? {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return nil }
        guard size >= 0 else { throw ProtocolError(.invalidValue, "negative frame size \(size)") }
        guard Int(size) <= maximumFrameBytes else {
            throw ProtocolError(.frameTooLarge, "frame of \(size) bytes exceeds socket.request.max.bytes \(maximumFrameBytes)")
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(size))
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

/// NIO's decoder form of the same framing: one frame (size prefix removed) per message. NIO's
/// ByteToMessageHandler around it handles cumulation (no copy when the buffer is empty) and
/// errors (a bad size prefix fails the channel).
public struct KafkaFrameToMessageDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer
    public let maximumFrameBytes: Int

    public init(maximumFrameBytes: Int) { self.maximumFrameBytes = maximumFrameBytes }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try FrameDecoder.decodeFrame(from: &buffer, maximumFrameBytes: maximumFrameBytes) else {
            // The size is known (and within the limit): make room for the whole frame now, so
            // the cumulation is copied into once rather than regrown and recopied as it arrives.
            if let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) {
                buffer.reserveCapacity(minimumWritableBytes: 4 + Int(size) - buffer.readableBytes)
            }
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }
}
