import CCodecs
import NIOCore

/// Snappy, in both framings Kafka meets: raw snappy blocks (librdkafka writes these) and the
/// xerial snappy-java stream (Java and kafka-python write these). We write the xerial framing,
/// which every client reads.
///
/// Xerial stream: magic `82 53 4E 41 50 50 59 00`, version int32 BE (1), compatible version
/// int32 BE (1), then chunks of `int32 BE length` + one raw snappy block.
public struct SnappyCodec: CompressionCodec {
    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    static let xerialHeaderSize = 16
    /// Uncompressed bytes per xerial chunk (snappy-java's and kafka-python's default).
    public var blockSize: Int

    public init(blockSize: Int = 32 * 1024) { self.blockSize = blockSize }

    public func compress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer) throws {
        output.writeBytes(Self.xerialMagic)
        output.writeInteger(Int32(1))
        output.writeInteger(Int32(1))
        var start = 0
        repeat {
            let end = Swift.min(start + blockSize, input.count)
            try compressBlock(UnsafeRawBufferPointer(rebasing: input[start..<end]), into: &output)
            start = end
        } while start < input.count
    }

    private func compressBlock(_ block: UnsafeRawBufferPointer, into output: inout ByteBuffer) throws {
        let bound = snappy_max_compressed_length(block.count)
        let lengthIndex = output.writerIndex
        output.writeInteger(Int32(0))
        var status = SNAPPY_OK
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
            var length = target.count
            let source = block.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(bitPattern: 1)!
            status = snappy_compress(source, block.count, target.baseAddress!.assumingMemoryBound(to: CChar.self), &length)
            return status == SNAPPY_OK ? length : 0
        }
        guard status == SNAPPY_OK else { throw FormatError.compression("snappy", "snappy_compress failed") }
        output.setInteger(Int32(output.writerIndex - lengthIndex - 4), at: lengthIndex)
    }

    public func decompress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer, maximumBytes: Int) throws {
        guard Self.hasXerialHeader(input, at: 0) else {
            try Self.decompressRawBlock(input, into: &output, remainingBudget: maximumBytes)
            return
        }
        var position = 0
        var produced = 0
        while position < input.count {
            if Self.hasXerialHeader(input, at: position) {
                // A (possibly repeated, for concatenated streams) stream header.
                position += Self.xerialHeaderSize
                continue
            }
            guard input.count - position >= 4 else { throw FormatError.compression("snappy", "truncated xerial chunk length") }
            let length = Int(input.loadBigEndian(at: position, as: Int32.self))
            position += 4
            guard length >= 0, length <= input.count - position else {
                throw FormatError.compression("snappy", "xerial chunk length \(length) runs past the payload")
            }
            let block = UnsafeRawBufferPointer(rebasing: input[position..<(position + length)])
            produced += try Self.decompressRawBlock(block, into: &output, remainingBudget: maximumBytes - produced)
            position += length
        }
    }

    static func hasXerialHeader(_ input: UnsafeRawBufferPointer, at position: Int) -> Bool {
        guard input.count - position >= xerialHeaderSize else { return false }
        for index in 0..<xerialMagic.count where input[position + index] != xerialMagic[index] { return false }
        return true
    }

    @discardableResult
    static func decompressRawBlock(_ block: UnsafeRawBufferPointer, into output: inout ByteBuffer, remainingBudget: Int) throws -> Int {
        guard let base = block.baseAddress?.assumingMemoryBound(to: CChar.self) else {
            throw FormatError.compression("snappy", "empty snappy block")
        }
        var length = 0
        guard snappy_uncompressed_length(base, block.count, &length) == SNAPPY_OK else {
            throw FormatError.compression("snappy", "not a snappy block")
        }
        guard length <= remainingBudget else { throw FormatError.decompressedTooLarge("snappy", remainingBudget) }
        var status = SNAPPY_OK
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: Swift.max(length, 1)) { target in
            var written = target.count
            status = snappy_uncompress(base, block.count, target.baseAddress!.assumingMemoryBound(to: CChar.self), &written)
            return status == SNAPPY_OK ? written : 0
        }
        guard status == SNAPPY_OK else { throw FormatError.compression("snappy", "snappy_uncompress failed") }
        return length
    }
}
