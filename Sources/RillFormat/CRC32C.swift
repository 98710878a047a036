import CRillChecksum
import NIOCore

/// CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2.
///
/// Uses the SSE4.2 `crc32` instruction on three interleaved streams where the CPU has it
/// (see Sources/CRillChecksum), and a slicing-by-8 table otherwise.
public enum CRC32C {
    /// The CRC-32C of `bytes`, continuing from `crc` (the CRC of the preceding bytes, 0 for none).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return rill_crc32c_extend(crc, base, bytes.count)
    }

    /// The CRC-32C of the readable bytes of `buffer`.
    @inlinable
    public static func checksum(_ buffer: ByteBuffer) -> UInt32 {
        buffer.withUnsafeReadableBytes { checksum($0) }
    }

    /// The CRC-32C of `bytes`.
    @inlinable
    public static func checksum<Bytes: Collection>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        if let result = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { checksum($0) }
    }

    /// The portable table-driven computation, bypassing the hardware path (tests, benchmarks).
    public static func portableChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return rill_crc32c_extend_portable(crc, base, bytes.count)
    }

    /// Whether `checksum` uses a CPU instruction on this machine.
    public static var isHardwareAccelerated: Bool { rill_crc32c_is_hardware_accelerated() != 0 }
}
