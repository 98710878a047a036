import NIOCore

/// One record of a batch, decoded. Keys, values and header values are zero-copy slices of the
/// batch's (decompressed) bytes.
public struct Record: Hashable, Sendable {
    /// Unused by Kafka; always 0 on write, carried through on read.
    public var attributes: Int8
    /// Milliseconds after the batch's baseTimestamp.
    public var timestampDelta: Int64
    /// Position after the batch's baseOffset.
    public var offsetDelta: Int32
    /// nil is a null key (Kafka writes length -1).
    public var key: ByteBuffer?
    /// nil is a null value: a tombstone on a compacted topic.
    public var value: ByteBuffer?
    public var headers: [RecordHeader]

    public init(
        attributes: Int8 = 0,
        timestampDelta: Int64,
        offsetDelta: Int32,
        key: ByteBuffer?,
        value: ByteBuffer?,
        headers: [RecordHeader] = []
    ) {
        self.attributes = attributes
        self.timestampDelta = timestampDelta
        self.offsetDelta = offsetDelta
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// Whether this record deletes its key on a compacted topic.
    public var isTombstone: Bool { value == nil }
}

/// A record header: a UTF-8 key and an optional value.
public struct RecordHeader: Hashable, Sendable {
    public var key: String
    public var value: ByteBuffer?
    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }
}

extension Record {
    /// Decodes one record at `cursor`, which must point at the record's length varint.
    /// `source` is the buffer `cursor` reads, so keys and values can be sliced out of it.
    static func decode(from cursor: inout ByteCursor, source: ByteBuffer) throws(FormatError) -> Record {
        guard let length = cursor.readVarint(), length >= 0, Int(length) <= cursor.remaining else {
            throw FormatError(.invalidRecord, "record length is missing or runs past the batch")
        }
        let end = cursor.position + Int(length)
        var body = ByteCursor(UnsafeRawBufferPointer(rebasing: cursor.bytes[..<end]), position: cursor.position)
        guard let attributes = body.readByte(),
              let timestampDelta = body.readVarlong(),
              let offsetDelta = body.readVarint(),
              let keyLength = body.readVarint()
        else { throw FormatError(.invalidRecord, "record fields run past the record length") }
        let key = try Self.slice(length: keyLength, from: &body, source: source, field: "key")
        guard let valueLength = body.readVarint() else {
            throw FormatError(.invalidRecord, "record value length runs past the record length")
        }
        let value = try Self.slice(length: valueLength, from: &body, source: source, field: "value")
        guard let headerCount = body.readVarint(), headerCount >= 0,
              Int(headerCount) <= FormatLimits.maximumHeadersPerRecord
        else { throw FormatError(.invalidRecord, "record header count is invalid") }
        var headers: [RecordHeader] = []
        if headerCount > 0 { headers.reserveCapacity(Int(headerCount)) }
        for _ in 0..<headerCount {
            guard let keyLength = body.readVarint(), keyLength >= 0,
                  let keyRange = body.skip(Int(keyLength))
            else { throw FormatError(.invalidRecord, "record header key is invalid") }
            let headerKey = String(decoding: UnsafeRawBufferPointer(rebasing: body.bytes[keyRange]), as: UTF8.self)
            guard let valueLength = body.readVarint() else {
                throw FormatError(.invalidRecord, "record header value length is missing")
            }
            let headerValue = try Self.slice(length: valueLength, from: &body, source: source, field: "header value")
            headers.append(RecordHeader(key: headerKey, value: headerValue))
        }
        guard body.position == end else {
            throw FormatError(.invalidRecord, "record has \(end - body.position) bytes beyond its fields")
        }
        cursor.position = end
        return Record(
            attributes: Int8(bitPattern: attributes),
            timestampDelta: timestampDelta,
            offsetDelta: offsetDelta,
            key: key,
            value: value,
            headers: headers
        )
    }

    private static func slice(
        length: Int32,
        from cursor: inout ByteCursor,
        source: ByteBuffer,
        field: StaticString
    ) throws(FormatError) -> ByteBuffer? {
        if length == -1 { return nil }
        guard length >= 0, let range = cursor.skip(Int(length)) else {
            throw FormatError(.invalidRecord, "record \(field) length \(length) is invalid")
        }
        return source.getSlice(at: source.readerIndex + range.lowerBound, length: range.count)
    }

    /// Bytes the encoding of this record's body takes (everything after its length varint).
    static func bodySize(
        timestampDelta: Int64,
        offsetDelta: Int32,
        keyLength: Int?,
        valueLength: Int?,
        headers: [RecordHeader]
    ) -> Int {
        var size = 1 + Varint.size(ofSigned: timestampDelta) + Varint.size(ofSigned: offsetDelta)
        size += lengthPrefixedSize(keyLength)
        size += lengthPrefixedSize(valueLength)
        size += Varint.size(ofSigned: Int32(headers.count))
        for header in headers {
            size += lengthPrefixedSize(header.key.utf8.count)
            size += lengthPrefixedSize(header.value?.readableBytes)
        }
        return size
    }

    @inline(__always)
    static func lengthPrefixedSize(_ length: Int?) -> Int {
        guard let length else { return 1 }  // varint(-1) is one byte
        return Varint.size(ofSigned: Int32(length)) + length
    }
}
