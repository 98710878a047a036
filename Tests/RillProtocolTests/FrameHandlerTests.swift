import NIOCore
import NIOEmbedded
import Testing
import RillFormat
@testable import RillProtocol

/// `KafkaFrameHandler`, the first handler of every broker, client and fault-proxy connection:
/// frames out whatever way the bytes arrive, whole frames without a copy, bad sizes fatal.
@Suite struct FrameHandlerTests {
    /// Frames of 0 to ~3 KiB whose bodies are their index repeated, back to back.
    static func stream(frames count: Int) -> (bytes: [UInt8], bodies: [[UInt8]]) {
        var bytes: [UInt8] = []
        var bodies: [[UInt8]] = []
        for index in 0..<count {
            let body = [UInt8](repeating: UInt8(index & 0xFF), count: (index * 397) % 3_000)
            withUnsafeBytes(of: Int32(body.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: body)
            bodies.append(body)
        }
        return (bytes, bodies)
    }

    static func frames(of channel: EmbeddedChannel) throws -> [[UInt8]] {
        var frames: [[UInt8]] = []
        while let frame = try channel.readInbound(as: ByteBuffer.self) { frames.append(Array(frame.readableBytesView)) }
        return frames
    }

    @Test func framesComeOutAlikeHoweverTheBytesArrive() throws {
        let (bytes, bodies) = Self.stream(frames: 40)
        var generator = SplitMix64(seed: 11)
        for strategy in 0..<4 {
            let channel = EmbeddedChannel(handler: KafkaFrameHandler(maximumFrameBytes: 1 << 20))
            var position = 0
            while position < bytes.count {
                let chunk = switch strategy {
                case 0: 1
                case 1: 3
                case 2: bytes.count
                default: Int.random(in: 1...5_000, using: &generator)
                }
                let end = min(position + chunk, bytes.count)
                try channel.writeInbound(ByteBuffer(bytes: bytes[position..<end]))
                position = end
            }
            #expect(try Self.frames(of: channel) == bodies, "strategy \(strategy)")
            #expect(try channel.finish().isClean)
        }
    }

    @Test func aFrameWithinOneReadIsASliceOfItNotACopy() throws {
        let (bytes, bodies) = Self.stream(frames: 3)
        let channel = EmbeddedChannel(handler: KafkaFrameHandler(maximumFrameBytes: 1 << 20))
        let read = ByteBuffer(bytes: bytes)
        try channel.writeInbound(read)
        let readStart = read.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        var expectedOffset = 4
        for body in bodies {
            let frame = try #require(try channel.readInbound(as: ByteBuffer.self))
            #expect(Array(frame.readableBytesView) == body)
            if !body.isEmpty {
                let frameStart = frame.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
                #expect(frameStart == readStart + UInt(expectedOffset))
            }
            expectedOffset += body.count + 4
        }
    }

    @Test func aFrameSplitAcrossReadsIsAssembledInABufferOfItsSize() throws {
        var decoder = FrameDecoder(maximumFrameBytes: 1 << 20)
        let body = [UInt8](repeating: 7, count: 100_000)
        var bytes: [UInt8] = [0x00, 0x01, 0x86, 0xA0] + body
        var first = ByteBuffer(bytes: bytes[0..<2])  // half the size prefix
        #expect(try decoder.next(from: &first) == nil)
        var second = ByteBuffer(bytes: bytes[2..<50_000])
        #expect(try decoder.next(from: &second) == nil)
        #expect(decoder.bufferedBytes == 50_000)
        bytes.append(contentsOf: [0, 0, 0, 1, 42])  // and a one-byte frame in the same read
        var third = ByteBuffer(bytes: bytes[50_000...])
        let frame = try #require(try decoder.next(from: &third))
        #expect(Array(frame.readableBytesView) == body)
        #expect(try decoder.next(from: &third).map { Array($0.readableBytesView) } == [42])
        #expect(decoder.bufferedBytes == 0 && third.readableBytes == 0)
    }

    @Test(arguments: [[0x00, 0x10, 0x00, 0x01], [0xFF, 0xFF, 0xFF, 0xFE]] as [[UInt8]])
    func aBadSizePrefixIsAnErrorAndNothingAfterItIsPassedOn(prefix: [UInt8]) throws {
        let channel = EmbeddedChannel(handler: KafkaFrameHandler(maximumFrameBytes: 1000))
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 2, 1, 2, 0]))  // a frame, and a prefix's first byte
        #expect(throws: ProtocolError.self) { try channel.writeInbound(ByteBuffer(bytes: prefix.dropFirst())) }
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 1, 9]))
        #expect(try Self.frames(of: channel) == [[1, 2]])
        _ = try? channel.finish()
    }

    /// A handler further on that reads again while a frame is passed on (what an
    /// `EmbeddedChannel` or a synchronous test double can do): the frames still come out in
    /// stream order.
    @Test func aReadArrivingWhileFramesArePassedOnWaitsItsTurn() throws {
        final class Reentrant: ChannelInboundHandler {
            typealias InboundIn = ByteBuffer
            typealias InboundOut = ByteBuffer
            var injected: ByteBuffer?
            var seen: [[UInt8]] = []
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                seen.append(Array(unwrapInboundIn(data).readableBytesView))
                if let more = injected {
                    injected = nil
                    context.pipeline.fireChannelRead(more)
                }
            }
        }
        let (bytes, bodies) = Self.stream(frames: 6)
        let split = 4 + bodies[0].count + 4 + bodies[1].count + 4 + 10  // mid-way through the third frame
        let reentrant = Reentrant()
        reentrant.injected = ByteBuffer(bytes: bytes[split...])
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(KafkaFrameHandler(maximumFrameBytes: 1 << 20))
        try channel.pipeline.syncOperations.addHandler(reentrant)
        try channel.writeInbound(ByteBuffer(bytes: bytes[..<split]))
        #expect(reentrant.seen == bodies)
    }
}
