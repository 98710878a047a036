/// Bytes on a connection that do not form a valid Kafka request or response.
///
/// The broker answers some of these with a Kafka error code and closes the connection for the
/// rest (kafka-protocol.md §1.1); it never crashes on them.
public struct ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        /// The message ended before a field did.
        public static let truncated = Code("truncated")
        /// A length, count or value that cannot be right.
        public static let invalidValue = Code("invalid value")
        /// An API key this implementation does not know.
        public static let unknownApiKey = Code("unknown API key")
        /// A version of a known API outside the implemented range.
        public static let unsupportedVersion = Code("unsupported version")
        /// A frame whose size prefix exceeds the limit (`socket.request.max.bytes`).
        public static let frameTooLarge = Code("frame too large")
        /// A response whose correlation id does not match the oldest request in flight.
        public static let correlationMismatch = Code("correlation id mismatch")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
