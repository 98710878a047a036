/// A malformed or unsupported byte sequence found while reading Kafka's record format.
///
/// Errors are extensible structs (STYLE.md rule 8): new codes can be added without breaking
/// callers. `position` is the byte offset, in the buffer or file being read, of the batch at
/// fault when it is known.
public struct FormatError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        /// Fewer bytes than the structure needs (a torn tail, a cut-off frame).
        public static let truncated = Code("truncated")
        /// The magic byte is not 2. Legacy message sets (magic 0 and 1) are not supported.
        public static let unsupportedMagic = Code("unsupported magic")
        /// The stored CRC-32C does not match the bytes.
        public static let checksumMismatch = Code("checksum mismatch")
        /// A length or count field that cannot be right (negative, too small, beyond a limit).
        public static let invalidLength = Code("invalid length")
        /// A record inside a batch is malformed, or disagrees with the batch header.
        public static let invalidRecord = Code("invalid record")
        /// The compression codec id is not one Kafka defines.
        public static let unsupportedCompression = Code("unsupported compression")
        /// The compressed payload does not decode, or decodes to more than the limit.
        public static let compressionFailure = Code("compression failure")
        public var description: String { name }
    }

    public var code: Code
    public var message: String
    public var position: Int64?

    public init(_ code: Code, _ message: String, position: Int64? = nil) {
        self.code = code
        self.message = message
        self.position = position
    }

    public var description: String {
        if let position { return "\(code) at byte \(position): \(message)" }
        return "\(code): \(message)"
    }
}
