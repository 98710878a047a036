import RillFormat

/// A failure of the storage engine: I/O, corruption found on disk, or a request outside the log.
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        /// The operating system refused an operation (see `errno`).
        public static let io = Code("I/O error")
        /// A file or directory that must exist does not.
        public static let notFound = Code("not found")
        /// The offset is below the log start or above the log end.
        public static let offsetOutOfRange = Code("offset out of range")
        /// Bytes on disk fail validation (CRC, magic, lengths) where the log said they were good.
        public static let corruptSegment = Code("corrupt segment")
        /// A batch handed to `append` is malformed.
        public static let invalidBatch = Code("invalid batch")
        /// A batch handed to `append` exceeds `max.message.bytes`.
        public static let batchTooLarge = Code("batch too large")
        /// The log was closed, or failed an earlier write and refuses further changes.
        public static let logUnavailable = Code("log unavailable")
        /// A configuration value is out of its range.
        public static let invalidConfiguration = Code("invalid configuration")
        /// A checkpoint or snapshot file cannot be parsed.
        public static let invalidCheckpoint = Code("invalid checkpoint")
        public var description: String { name }
    }

    public var code: Code
    public var message: String
    /// The file concerned, when there is one.
    public var path: String?
    /// The byte position in `path`, when known.
    public var position: Int64?
    /// The operating system's error number for `.io`.
    public var errno: Int32?

    public init(_ code: Code, _ message: String, path: String? = nil, position: Int64? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.position = position
        self.errno = errno
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let path { text += " (\(path)" + (position.map { " at byte \($0)" } ?? "") + ")" }
        return text
    }
}
