import CCodecs
import NIOCore

/// LZ4 in the frame format Kafka uses (not raw blocks): independent 64 KiB blocks, no block or
/// content checksums, no content size — what Java's KafkaLZ4BlockOutputStream writes, with the
/// header checksum computed correctly (the KAFKA-3160 quirk applies only to magic-0 data).
/// Reading accepts any standard LZ4 frame, including concatenated frames.
public struct LZ4FrameCodec: CompressionCodec {
    /// 0 = LZ4's fast mode (librdkafka's default); 3...12 = high compression.
    public var level: Int32

    public init(level: Int32 = 0) { self.level = level }

    public func compress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer) throws {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum
        preferences.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum
        preferences.compressionLevel = level
        let bound = LZ4F_compressFrameBound(input.count, &preferences)
        var result = 0
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
            result = LZ4F_compressFrame(target.baseAddress, target.count, input.baseAddress, input.count, &preferences)
            return LZ4F_isError(result) != 0 ? 0 : result
        }
        guard LZ4F_isError(result) == 0 else {
            throw FormatError.compression("lz4", String(cString: LZ4F_getErrorName(result)))
        }
    }

    public func decompress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer, maximumBytes: Int) throws {
        var context: OpaquePointer?
        guard LZ4F_isError(LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))) == 0, let context else {
            throw FormatError.compression("lz4", "cannot create a decompression context")
        }
        defer { LZ4F_freeDecompressionContext(context) }
        var position = 0
        var produced = 0
        var hint = 1
        while position < input.count {
            var consumed = input.count - position
            var result = 0
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: 64 * 1024) { target in
                var written = target.count
                result = LZ4F_decompress(context, target.baseAddress, &written, input.baseAddress! + position, &consumed, nil)
                return LZ4F_isError(result) != 0 ? 0 : written
            }
            guard LZ4F_isError(result) == 0 else {
                throw FormatError.compression("lz4", String(cString: LZ4F_getErrorName(result)))
            }
            produced = output.writerIndex
            if produced > maximumBytes { throw FormatError.decompressedTooLarge("lz4", maximumBytes) }
            position += consumed
            hint = result
            if consumed == 0 && result != 0 && position < input.count {
                throw FormatError.compression("lz4", "decoder made no progress")
            }
        }
        guard hint == 0 else { throw FormatError.compression("lz4", "frame ends before its end mark") }
    }
}
