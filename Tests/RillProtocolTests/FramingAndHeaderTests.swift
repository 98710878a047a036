import NIOCore
import Testing
@testable import RillProtocol
import RillFormat

@Suite struct FramingAndHeaderTests {
    /// kafka-protocol.md §1.6.1, hand-assembled frames.
    static let apiVersionsV0Request = hexBytes("00000011 0012 0000 00000001 0007 72646b61666b61")
    static let apiVersionsV3Request = hexBytes("00000025 0012 0003 00000001 0007 72646b61666b61 00 0b 6c696272646b61666b61 07 322e31352e30 00")
    static let unsupportedReply = hexBytes("00000010 00000001 0023 00000001 0012 0000 0002")

    @Test func decodesTheV0ApiVersionsRequestFrame() throws {
        var decoder = FrameDecoder(maximumFrameBytes: 1 << 20)
        decoder.append(ByteBuffer(bytes: Self.apiVersionsV0Request))
        var reader = KafkaReader(try #require(try decoder.next()))
        let header = try RequestHeader(from: &reader)
        #expect(header == RequestHeader(apiKey: .apiVersions, apiVersion: 0, correlationID: 1, clientID: "rdkafka"))
        #expect(reader.remaining == 0)
    }

    @Test func readsTheHeaderOfAFlexibleApiVersionsRequest() throws {
        var decoder = FrameDecoder(maximumFrameBytes: 1 << 20)
        decoder.append(ByteBuffer(bytes: Self.apiVersionsV3Request))
        var reader = KafkaReader(try #require(try decoder.next()))
        let header = try RequestHeader(from: &reader)
        #expect(header.apiVersion == 3 && header.clientID == "rdkafka")
        #expect(try reader.readCompactString() == "librdkafka")
        #expect(try reader.readCompactString() == "2.15.0")
        try reader.skipTaggedFields()
        #expect(reader.remaining == 0)
    }

    @Test func writesTheUnsupportedVersionReplyByteForByte() {
        let (response, version) = ApiVersionsResponse.unsupportedVersionReply(advertising: [.init(apiKey: .apiVersions, minimumVersion: 0, maximumVersion: 2)])
        let frame = response.encodedFrame(version: version, correlationID: 1)
        #expect(Array(frame.readableBytesView) == Self.unsupportedReply)
    }

    @Test func framingDoesNotDependOnHowBytesArrive() throws {
        var frames = ByteBuffer()
        for correlationID in 0..<20 {
            var one = ApiVersionsRequest().encodedFrame(version: Int16(correlationID % 3), correlationID: Int32(correlationID), clientID: "client-\(correlationID)")
            frames.writeBuffer(&one)
        }
        let bytes = Array(frames.readableBytesView)
        var generator = SplitMix64(seed: 5)
        for strategy in 0..<3 {
            var decoder = FrameDecoder(maximumFrameBytes: 1 << 20)
            var decoded: [Int32] = []
            var position = 0
            while position < bytes.count {
                let chunk = switch strategy {
                case 0: 1
                case 1: bytes.count
                default: Int.random(in: 1...40, using: &generator)
                }
                let end = min(position + chunk, bytes.count)
                decoder.append(ByteBuffer(bytes: bytes[position..<end]))
                position = end
                while let frame = try decoder.next() {
                    var reader = KafkaReader(frame)
                    decoded.append(try RequestHeader(from: &reader).correlationID)
                }
            }
            #expect(decoded == Array(0..<20), "strategy \(strategy)")
            #expect(decoder.bufferedBytes == 0)
        }
    }

    @Test func rejectsOversizedAndNegativeFrameSizesWithoutBuffering() {
        var decoder = FrameDecoder(maximumFrameBytes: 1000)
        decoder.append(ByteBuffer(bytes: [0x00, 0x00, 0x10, 0x00]))
        #expect(throws: ProtocolError.self) { try decoder.next() }
        var negative = FrameDecoder(maximumFrameBytes: 1000)
        negative.append(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFE]))
        #expect(throws: ProtocolError.self) { try negative.next() }
    }

    @Test func readerRejectsLyingLengthsAndCounts() throws {
        var reader = KafkaReader(ByteBuffer(bytes: [0x00, 0x10, 0x41]))
        #expect(throws: ProtocolError.self) { try reader.readString() }
        reader = KafkaReader(ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF]))
        #expect(throws: ProtocolError.self) { try reader.readArray { try $0.readInt32() } }
        reader = KafkaReader(ByteBuffer(bytes: [0xFF, 0xFF]))
        #expect(try reader.readNullableString() == nil)
        reader = KafkaReader(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF]))
        #expect(throws: ProtocolError.self) { try reader.readBytes() }
    }
}


func hexBytes(_ text: String) -> [UInt8] {
    let digits = text.filter(\.isHexDigit)
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        bytes.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}
