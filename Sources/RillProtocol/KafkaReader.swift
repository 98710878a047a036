import NIOCore
import RillFormat

/// Reads Kafka's primitive types from a message body (kafka-protocol.md §1.2).
///
/// Every read checks the bytes that remain and throws `ProtocolError.truncated` rather than
/// trapping, and every length or count is checked against what remains before anything is
/// allocated, so a hostile size field costs nothing. Classic (non-flexible) encodings are the
/// default; `compact` variants read the flexible-version encodings.
public struct KafkaReader {
    public private(set) var buffer: ByteBuffer

    public init(_ buffer: ByteBuffer) { self.buffer = buffer }

    public var remaining: Int { buffer.readableBytes }

    @inline(__always)
    public mutating func readInteger<T: FixedWidthInteger>(_ type: T.Type = T.self) throws -> T {
        guard let value = buffer.readInteger(as: T.self) else {
            throw ProtocolError(.truncated, "expected \(MemoryLayout<T>.size) more bytes, \(buffer.readableBytes) left")
        }
        return value
    }

    public mutating func readInt8() throws -> Int8 { try readInteger() }
    public mutating func readInt16() throws -> Int16 { try readInteger() }
    public mutating func readInt32() throws -> Int32 { try readInteger() }
    public mutating func readInt64() throws -> Int64 { try readInteger() }
    public mutating func readBool() throws -> Bool { try readInteger(UInt8.self) != 0 }

    /// A 16-byte UUID, as raw bytes.
    public mutating func readUUID() throws -> [UInt8] {
        guard let bytes = buffer.readBytes(length: 16) else { throw ProtocolError(.truncated, "UUID needs 16 bytes") }
        return bytes
    }

    /// `string`: int16 length then UTF-8. A null (-1) is an error here.
    public mutating func readString() throws -> String {
        guard let value = try readNullableString() else { throw ProtocolError(.invalidValue, "non-nullable string is null") }
        return value
    }

    /// `string?`: int16 length (-1 = null) then UTF-8.
    public mutating func readNullableString() throws -> String? {
        let length = try readInt16()
        if length == -1 { return nil }
        return try readUTF8(count: Int(length))
    }

    /// `bytes`: int32 length then the bytes, as a zero-copy slice. A null (-1) is an error here.
    public mutating func readBytes() throws -> ByteBuffer {
        guard let value = try readNullableBytes() else { throw ProtocolError(.invalidValue, "non-nullable bytes are null") }
        return value
    }

    /// `bytes?` and `records`: int32 length (-1 = null), then the bytes as a zero-copy slice.
    public mutating func readNullableBytes() throws -> ByteBuffer? {
        let length = try readInt32()
        if length == -1 { return nil }
        return try readSlice(count: Int(length))
    }

    /// An array: int32 count (a null, -1, is an error here), then the elements.
    public mutating func readArray<Element>(_ readElement: (inout KafkaReader) throws -> Element) throws -> [Element] {
        guard let value = try readNullableArray(readElement) else { throw ProtocolError(.invalidValue, "non-nullable array is null") }
        return value
    }

    /// A nullable array: int32 count (-1 = null), then the elements.
    public mutating func readNullableArray<Element>(_ readElement: (inout KafkaReader) throws -> Element) throws -> [Element]? {
        let count = try readInt32()
        if count == -1 { return nil }
        return try readElements(count: Int(count), readElement)
    }

    // MARK: Compact (flexible versions)

    public mutating func readUnsignedVarint() throws -> UInt64 {
        guard let value = buffer.readUnsignedVarint(maximumBytes: 5) else {
            throw ProtocolError(.truncated, "unsigned varint is cut off or too long")
        }
        return value
    }

    /// `compact_string?`: uvarint N+1 (0 = null), then N bytes of UTF-8.
    public mutating func readCompactNullableString() throws -> String? {
        let lengthPlusOne = try readUnsignedVarint()
        if lengthPlusOne == 0 { return nil }
        return try readUTF8(count: Int(lengthPlusOne - 1))
    }

    public mutating func readCompactString() throws -> String {
        guard let value = try readCompactNullableString() else { throw ProtocolError(.invalidValue, "non-nullable compact string is null") }
        return value
    }

    /// `compact_bytes?`: uvarint N+1 (0 = null), then N bytes.
    public mutating func readCompactNullableBytes() throws -> ByteBuffer? {
        let lengthPlusOne = try readUnsignedVarint()
        if lengthPlusOne == 0 { return nil }
        return try readSlice(count: Int(lengthPlusOne - 1))
    }

    /// A compact array: uvarint N+1 (0 = null), then the elements.
    public mutating func readCompactNullableArray<Element>(_ readElement: (inout KafkaReader) throws -> Element) throws -> [Element]? {
        let countPlusOne = try readUnsignedVarint()
        if countPlusOne == 0 { return nil }
        return try readElements(count: Int(countPlusOne - 1), readElement)
    }

    /// Skips a tagged-field section (count, then tag, size, bytes for each).
    public mutating func skipTaggedFields() throws {
        let count = try readUnsignedVarint()
        guard count <= UInt64(remaining) else { throw ProtocolError(.invalidValue, "\(count) tagged fields cannot fit") }
        for _ in 0..<count {
            _ = try readUnsignedVarint()
            let size = try readUnsignedVarint()
            _ = try readSlice(count: Int(size))
        }
    }

    // MARK: Helpers

    private mutating func readUTF8(count: Int) throws -> String {
        guard count >= 0 else { throw ProtocolError(.invalidValue, "negative string length \(count)") }
        guard let value = buffer.readString(length: count) else {
            throw ProtocolError(.truncated, "string of \(count) bytes, \(buffer.readableBytes) left")
        }
        // Invalid UTF-8 is repaired with U+FFFD (three bytes for each bad byte), as Java's decoder
        // does. What is read must still fit the int16 length every string is written with: the
        // broker echoes names and ids in its responses, and writing a longer one traps.
        guard value.utf8.count <= Int(Int16.max) else {
            throw ProtocolError(.invalidValue, "string of \(count) bytes is \(value.utf8.count) bytes as UTF-8, beyond 32767")
        }
        return value
    }

    public mutating func readSlice(count: Int) throws -> ByteBuffer {
        guard count >= 0 else { throw ProtocolError(.invalidValue, "negative length \(count)") }
        guard let slice = buffer.readSlice(length: count) else {
            throw ProtocolError(.truncated, "\(count) bytes needed, \(buffer.readableBytes) left")
        }
        return slice
    }

    private mutating func readElements<Element>(count: Int, _ readElement: (inout KafkaReader) throws -> Element) throws -> [Element] {
        // Every element takes at least one byte, so a count beyond what remains is a lie.
        guard count >= 0, count <= remaining else {
            throw ProtocolError(.invalidValue, "array count \(count) with \(remaining) bytes left")
        }
        var elements: [Element] = []
        // Reserve for what small arrays need only: a count can still be far above the number of
        // elements the bytes really hold (elements are larger than one byte).
        elements.reserveCapacity(Swift.min(count, 1024))
        for _ in 0..<count { elements.append(try readElement(&self)) }
        return elements
    }

    /// Throws unless every byte was consumed (a body with trailing garbage is malformed).
    public func expectEnd(_ what: StaticString) throws {
        guard remaining == 0 else { throw ProtocolError(.invalidValue, "\(remaining) unexpected bytes after \(what)") }
    }
}

extension ByteBuffer {
    public mutating func writeKafkaBool(_ value: Bool) { writeInteger(UInt8(value ? 1 : 0)) }

    /// `string`: int16 length then UTF-8.
    public mutating func writeKafkaString(_ value: String) {
        let lengthIndex = writerIndex
        writeInteger(Int16(0))
        let written = writeString(value)
        precondition(written <= Int(Int16.max), "Kafka strings are at most 32767 bytes")
        setInteger(Int16(written), at: lengthIndex)
    }

    /// `string?`: int16 length (-1 for null) then UTF-8.
    public mutating func writeKafkaNullableString(_ value: String?) {
        guard let value else { writeInteger(Int16(-1)); return }
        writeKafkaString(value)
    }

    /// `bytes`: int32 length then the bytes.
    public mutating func writeKafkaBytes(_ value: ByteBuffer) {
        writeInteger(Int32(value.readableBytes))
        writeImmutableBuffer(value)
    }

    /// `bytes?` and `records`: int32 length (-1 for null) then the bytes.
    public mutating func writeKafkaNullableBytes(_ value: ByteBuffer?) {
        guard let value else { writeInteger(Int32(-1)); return }
        writeKafkaBytes(value)
    }

    /// An array: int32 count then the elements.
    public mutating func writeKafkaArray<Element>(_ elements: [Element], _ writeElement: (inout ByteBuffer, Element) -> Void) {
        writeInteger(Int32(elements.count))
        for element in elements { writeElement(&self, element) }
    }

    /// A nullable array: int32 count (-1 for null) then the elements.
    public mutating func writeKafkaNullableArray<Element>(_ elements: [Element]?, _ writeElement: (inout ByteBuffer, Element) -> Void) {
        guard let elements else { writeInteger(Int32(-1)); return }
        writeKafkaArray(elements, writeElement)
    }

    /// `compact_string`: uvarint N+1 then UTF-8.
    public mutating func writeCompactString(_ value: String?) {
        guard let value else { writeUnsignedVarint(0); return }
        writeUnsignedVarint(UInt64(value.utf8.count + 1))
        writeString(value)
    }

    /// `compact_array`: uvarint N+1 then the elements.
    public mutating func writeCompactArray<Element>(_ elements: [Element]?, _ writeElement: (inout ByteBuffer, Element) -> Void) {
        guard let elements else { writeUnsignedVarint(0); return }
        writeUnsignedVarint(UInt64(elements.count + 1))
        for element in elements { writeElement(&self, element) }
    }

    /// An empty tagged-field section.
    public mutating func writeEmptyTaggedFields() { writeUnsignedVarint(0) }
}

// MARK: Domain values and arrays of primitives

extension KafkaReader {
    /// An int16 Kafka error code.
    public mutating func readErrorCode() throws -> ErrorCode { ErrorCode(rawValue: try readInt16()) }

    /// An int64 log offset.
    public mutating func readOffset() throws -> Offset { Offset(try readInt64()) }

    /// An int32 leader epoch.
    public mutating func readLeaderEpoch() throws -> LeaderEpoch { LeaderEpoch(try readInt32()) }

    /// An int64 timestamp in milliseconds since the Unix epoch (or a negative sentinel).
    public mutating func readTimestamp() throws -> Timestamp { Timestamp(milliseconds: try readInt64()) }

    /// An int64 producer id.
    public mutating func readProducerID() throws -> ProducerID { ProducerID(try readInt64()) }

    /// An int16 producer epoch.
    public mutating func readProducerEpoch() throws -> ProducerEpoch { ProducerEpoch(try readInt16()) }

    /// `[int32]`: a non-nullable array of int32 (partition indexes, broker ids).
    public mutating func readInt32Array() throws -> [Int32] { try readArray { try $0.readInt32() } }

    /// `[string]`: a non-nullable array of non-nullable strings.
    public mutating func readStringArray() throws -> [String] { try readArray { try $0.readString() } }

    /// `[string]?`: a nullable array (-1 = null) of non-nullable strings.
    public mutating func readNullableStringArray() throws -> [String]? { try readNullableArray { try $0.readString() } }
}

extension ByteBuffer {
    /// `[int32]`: int32 count then the values.
    public mutating func writeKafkaInt32Array(_ values: [Int32]) {
        writeKafkaArray(values) { buffer, value in buffer.writeInteger(value) }
    }

    /// `[string]`: int32 count then the strings.
    public mutating func writeKafkaStringArray(_ values: [String]) {
        writeKafkaArray(values) { buffer, value in buffer.writeKafkaString(value) }
    }

    /// `[string]?`: int32 count (-1 for null) then the strings.
    public mutating func writeKafkaNullableStringArray(_ values: [String]?) {
        writeKafkaNullableArray(values) { buffer, value in buffer.writeKafkaString(value) }
    }
}
