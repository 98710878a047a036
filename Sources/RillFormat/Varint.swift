import NIOCore

/// Zig-zag and unsigned LEB128 varints as Kafka's record format (signed) and flexible protocol
/// versions (unsigned) use them. Writers append to a `ByteBuffer`; readers work on raw bytes via
/// `ByteCursor` because record parsing is on the consumer's hot path.
public enum Varint {
    /// Bytes the zig-zag encoding of `value` takes (1...5).
    @inlinable public static func size(ofSigned value: Int32) -> Int {
        size(ofUnsigned: UInt64(zigZag(value)))
    }

    /// Bytes the zig-zag encoding of `value` takes (1...10).
    @inlinable public static func size(ofSigned value: Int64) -> Int {
        size(ofUnsigned: zigZag(value))
    }

    /// Bytes the unsigned encoding of `value` takes.
    @inlinable public static func size(ofUnsigned value: UInt64) -> Int {
        // ceil(significant bits / 7), at least one byte.
        let bits = 64 - value.leadingZeroBitCount
        return bits == 0 ? 1 : (bits + 6) / 7
    }

    @inlinable public static func zigZag(_ value: Int32) -> UInt32 {
        UInt32(bitPattern: (value << 1) ^ (value >> 31))
    }

    @inlinable public static func zigZag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    @inlinable public static func unZigZag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }
}

extension ByteBuffer {
    /// Appends `value` as an unsigned LEB128 varint.
    @inlinable
    public mutating func writeUnsignedVarint(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        writeInteger(UInt8(remaining))
    }

    /// Appends `value` zig-zag encoded (Kafka's record `varint`).
    @inlinable
    public mutating func writeVarint(_ value: Int32) {
        writeUnsignedVarint(UInt64(Varint.zigZag(value)))
    }

    /// Appends `value` zig-zag encoded (Kafka's record `varlong`).
    @inlinable
    public mutating func writeVarlong(_ value: Int64) {
        writeUnsignedVarint(Varint.zigZag(value))
    }

    /// Reads an unsigned varint of at most `maximumBytes` bytes; nil when the bytes run out or
    /// the encoding is longer than allowed.
    @inlinable
    public mutating func readUnsignedVarint(maximumBytes: Int = 10) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var index = readerIndex
        for _ in 0..<maximumBytes {
            guard let byte = getInteger(at: index, as: UInt8.self) else { return nil }
            index += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 {
                moveReaderIndex(to: index)
                return result
            }
            shift += 7
        }
        return nil
    }
}

/// A forward-only reader over raw bytes, for parsing records without per-field bounds traps.
/// Every read returns nil when the bytes run out; callers turn that into a `FormatError`.
public struct ByteCursor {
    public let bytes: UnsafeRawBufferPointer
    public var position: Int

    @inlinable public init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    @inlinable public var remaining: Int { bytes.count - position }

    @inlinable public mutating func readUnsignedVarint(maximumBytes: Int) -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var index = position
        let end = Swift.min(bytes.count, position + maximumBytes)
        while index < end {
            let byte = bytes[index]
            index += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 {
                position = index
                return result
            }
            shift += 7
        }
        return nil
    }

    /// A zig-zag varint that must fit an Int32 (at most five bytes).
    @inlinable public mutating func readVarint() -> Int32? {
        guard let raw = readUnsignedVarint(maximumBytes: 5), raw <= UInt64(UInt32.max) else { return nil }
        return Int32(truncatingIfNeeded: Varint.unZigZag(raw))
    }

    /// A zig-zag varlong (at most ten bytes).
    @inlinable public mutating func readVarlong() -> Int64? {
        guard let raw = readUnsignedVarint(maximumBytes: 10) else { return nil }
        return Varint.unZigZag(raw)
    }

    @inlinable public mutating func readByte() -> UInt8? {
        guard position < bytes.count else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    /// Skips `count` bytes and returns the range they occupied.
    @inlinable public mutating func skip(_ count: Int) -> Range<Int>? {
        guard count >= 0, count <= remaining else { return nil }
        defer { position += count }
        return position..<(position + count)
    }
}

extension UnsafeRawBufferPointer {
    /// Reads a big-endian integer at `offset` without alignment requirements.
    @inlinable
    public func loadBigEndian<T: FixedWidthInteger>(at offset: Int, as type: T.Type) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Writes a big-endian integer at `offset` without alignment requirements.
    @inlinable
    public func storeBigEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
    }
}
