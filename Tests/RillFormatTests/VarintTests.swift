import NIOCore
import Testing
import RillFormat

@Suite struct VarintTests {
    /// Kafka's ByteUtilsTest vectors (kafka-protocol.md §1.3).
    static let unsignedVectors: [(UInt64, [UInt8])] = [
        (0, [0x00]), (1, [0x01]), (63, [0x3F]), (64, [0x40]), (8191, [0xFF, 0x3F]),
        (8192, [0x80, 0x40]), (1_048_576, [0x80, 0x80, 0x40]),
        (UInt64(UInt32(bitPattern: -1)), [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        (UInt64(Int32.max), [0xFF, 0xFF, 0xFF, 0xFF, 0x07]),
        (UInt64(UInt32(bitPattern: Int32.min)), [0x80, 0x80, 0x80, 0x80, 0x08]),
    ]
    static let zigZagVectors: [(Int32, [UInt8])] = [(0, [0x00]), (1, [0x02]), (-1, [0x01]), (63, [0x7E]), (-64, [0x7F]), (64, [0x80, 0x01])]

    @Test func unsignedVarintsMatchKafkasVectors() {
        for (value, bytes) in Self.unsignedVectors {
            var buffer = ByteBuffer()
            buffer.writeUnsignedVarint(value)
            #expect(Array(buffer.readableBytesView) == bytes, "encoding \(value)")
            #expect(buffer.readUnsignedVarint() == value)
            #expect(Varint.size(ofUnsigned: value) == bytes.count)
        }
    }

    @Test func zigZagVarintsMatchKafkasVectors() {
        for (value, bytes) in Self.zigZagVectors {
            var buffer = ByteBuffer()
            buffer.writeVarint(value)
            #expect(Array(buffer.readableBytesView) == bytes, "encoding \(value)")
            buffer.withUnsafeReadableBytes { raw in
                var cursor = ByteCursor(raw)
                #expect(cursor.readVarint() == value)
            }
        }
    }

    @Test func varlongsRoundTripAtTheExtremes() {
        for value in [Int64.min, Int64.min + 1, -1, 0, 1, Int64(Int32.max) + 1, Int64.max] {
            var buffer = ByteBuffer()
            buffer.writeVarlong(value)
            #expect(buffer.readableBytes == Varint.size(ofSigned: value))
            buffer.withUnsafeReadableBytes { raw in
                var cursor = ByteCursor(raw)
                #expect(cursor.readVarlong() == value)
                #expect(cursor.remaining == 0)
            }
        }
    }

    @Test func overlongAndTruncatedVarintsAreRejected() {
        let overlong: [UInt8] = [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]  // six bytes for an Int32
        overlong.withUnsafeBytes { raw in
            var cursor = ByteCursor(raw)
            #expect(cursor.readVarint() == nil)
        }
        let truncated: [UInt8] = [0x80, 0x80]
        truncated.withUnsafeBytes { raw in
            var cursor = ByteCursor(raw)
            #expect(cursor.readVarlong() == nil)
        }
    }
}
