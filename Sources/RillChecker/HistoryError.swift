/// A history that cannot be checked: unreadable, not JSON, or not following HISTORY-FORMAT.md.
/// `rill check` exits 2 with this message. `line` is the 1-based line of the file at fault (0
/// when the problem is the file as a whole or the event was built in memory).
public struct HistoryError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        /// The file cannot be opened or read.
        public static let unreadable = Code("unreadable")
        /// The line is not a JSON value, or is longer than `CheckerLimits.maximumLineBytes`.
        public static let invalidJSON = Code("invalid JSON")
        /// A required field is absent.
        public static let missingField = Code("missing field")
        /// A field has the wrong type or an impossible value.
        public static let invalidField = Code("invalid field")
        /// The event contradicts the events before it: a completion without an invocation, a
        /// second operation in flight, an index going backwards, a value sent twice, …
        public static let invalidSequence = Code("invalid sequence")
        /// The history holds more values or partitions than the checker's limits.
        public static let limitExceeded = Code("limit exceeded")
        public var description: String { name }
    }

    public var code: Code
    public var line: Int
    public var message: String

    public init(_ code: Code, line: Int, _ message: String) {
        self.code = code
        self.line = line
        self.message = message
    }

    public var description: String {
        line > 0 ? "line \(line): \(code): \(message)" : "\(code): \(message)"
    }
}
