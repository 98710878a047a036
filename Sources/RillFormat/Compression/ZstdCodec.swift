import CCodecs
import NIOCore

/// Zstandard frames. Writes one frame with the content size; reads frames with or without it
/// (Java's zstd-jni streams omit it) and several concatenated frames.
public struct ZstdCodec: CompressionCodec {
    /// 1...22; Kafka's default is 3.
    public var level: Int32

    public init(level: Int32 = 3) { self.level = level }

    public func compress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer) throws {
        let bound = ZSTD_compressBound(input.count)
        var result = 0
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
            result = ZSTD_compress(target.baseAddress, target.count, input.baseAddress, input.count, level)
            return ZSTD_isError(result) != 0 ? 0 : result
        }
        guard ZSTD_isError(result) == 0 else {
            throw FormatError.compression("zstd", String(cString: ZSTD_getErrorName(result)))
        }
    }

    public func decompress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer, maximumBytes: Int) throws {
        guard let context = ZSTD_createDCtx() else { throw FormatError.compression("zstd", "cannot create a context") }
        defer { ZSTD_freeDCtx(context) }
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        let startIndex = output.writerIndex
        var lastResult = 0
        while source.pos < source.size {
            var result = 0
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: 64 * 1024) { target in
                var sink = ZSTD_outBuffer(dst: target.baseAddress, size: target.count, pos: 0)
                result = ZSTD_decompressStream(context, &sink, &source)
                return ZSTD_isError(result) != 0 ? 0 : sink.pos
            }
            guard ZSTD_isError(result) == 0 else {
                throw FormatError.compression("zstd", String(cString: ZSTD_getErrorName(result)))
            }
            if output.writerIndex - startIndex > maximumBytes { throw FormatError.decompressedTooLarge("zstd", maximumBytes) }
            lastResult = result
        }
        // Flush whatever the decoder still holds for the last frame.
        while lastResult != 0 {
            var result = 0
            var madeProgress = false
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: 64 * 1024) { target in
                var sink = ZSTD_outBuffer(dst: target.baseAddress, size: target.count, pos: 0)
                result = ZSTD_decompressStream(context, &sink, &source)
                madeProgress = sink.pos > 0
                return ZSTD_isError(result) != 0 ? 0 : sink.pos
            }
            guard ZSTD_isError(result) == 0 else {
                throw FormatError.compression("zstd", String(cString: ZSTD_getErrorName(result)))
            }
            if output.writerIndex - startIndex > maximumBytes { throw FormatError.decompressedTooLarge("zstd", maximumBytes) }
            guard madeProgress || result == 0 else { throw FormatError.compression("zstd", "frame is truncated") }
            lastResult = result
        }
    }
}
