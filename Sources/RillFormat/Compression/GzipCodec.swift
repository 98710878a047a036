import CCodecs
import NIOCore

/// gzip (RFC 1952) through zlib. Reads concatenated gzip members and zlib streams, as Java's
/// GZIPInputStream and librdkafka accept them.
public struct GzipCodec: CompressionCodec {
    /// zlib level 1...9; Kafka's default is 6 (zlib's default).
    public var level: Int32

    public init(level: Int32 = 6) { self.level = level }

    public func compress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer) throws {
        var stream = z_stream()
        // windowBits 15 + 16 asks zlib for a gzip header and trailer.
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw FormatError.compression("gzip", "deflateInit2 failed")
        }
        defer { deflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        var status = Z_OK
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { target in
            stream.next_out = target.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(target.count)
            status = deflate(&stream, Z_FINISH)
            return target.count - Int(stream.avail_out)
        }
        guard status == Z_STREAM_END else { throw FormatError.compression("gzip", "deflate returned \(status)") }
    }

    public func decompress(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer, maximumBytes: Int) throws {
        var stream = z_stream()
        // windowBits 15 + 32: detect a gzip or zlib header automatically.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw FormatError.compression("gzip", "inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        var produced = 0
        while true {
            var status = Z_OK
            let chunk = Swift.max(4096, Swift.min(maximumBytes - produced + 1, input.count * 4))
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: chunk) { target in
                stream.next_out = target.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(target.count)
                status = inflate(&stream, Z_NO_FLUSH)
                return target.count - Int(stream.avail_out)
            }
            produced = Int(stream.total_out)
            if produced > maximumBytes { throw FormatError.decompressedTooLarge("gzip", maximumBytes) }
            switch status {
            case Z_STREAM_END:
                // Another member may follow (concatenated gzip streams).
                if stream.avail_in == 0 { return }
                guard inflateReset(&stream) == Z_OK else { throw FormatError.compression("gzip", "inflateReset failed") }
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_in == 0:
                throw FormatError.compression("gzip", "stream ends before its trailer")
            case Z_BUF_ERROR:
                continue
            default:
                throw FormatError.compression("gzip", "inflate returned \(status)")
            }
        }
    }
}
