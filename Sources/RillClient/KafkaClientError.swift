import RillProtocol

/// Why a client operation failed, and — for writes — whether it may still have happened.
///
/// `outcome` is the honesty the harness depends on: `.failed` means the broker certainly did
/// not apply the operation; `.unknown` means it might have (a timeout, or a connection that
/// closed after the request was sent).
public struct KafkaClientError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        public static let connectionFailed = Code("connection failed")
        public static let connectionClosed = Code("connection closed")
        public static let timedOut = Code("timed out")
        public static let protocolViolation = Code("protocol violation")
        /// The broker answered with a Kafka error code (see `brokerError`).
        public static let brokerError = Code("broker error")
        /// The broker does not support any version of an API the client needs.
        public static let unsupportedVersion = Code("unsupported version")
        public static let unknownTopicOrPartition = Code("unknown topic or partition")
        public static let invalidConfiguration = Code("invalid configuration")
        public static let closed = Code("client closed")
        public static let bufferExhausted = Code("buffer exhausted")
        public static let recordTooLarge = Code("record too large")
        public static let cancelled = Code("cancelled")
        /// An idempotent producer had to take a new producer id; a record that may have been
        /// written under the old one is not sent again (its outcome is unknown).
        public static let sequenceLost = Code("sequence lost")
        public var description: String { name }
    }

    /// Whether the operation might have taken effect.
    public enum Outcome: Hashable, Sendable {
        /// Certainly not applied.
        case failed
        /// Perhaps applied: the request may have reached the broker.
        case unknown
    }

    public var code: Code
    public var message: String
    public var outcome: Outcome
    public var brokerError: ErrorCode?

    public init(_ code: Code, _ message: String, outcome: Outcome = .failed, brokerError: ErrorCode? = nil) {
        self.code = code
        self.message = message
        self.outcome = outcome
        self.brokerError = brokerError
    }

    public static func broker(_ errorCode: ErrorCode, _ message: String) -> KafkaClientError {
        KafkaClientError(.brokerError, "\(errorCode): \(message)", outcome: .failed, brokerError: errorCode)
    }

    public var description: String {
        "\(code): \(message)" + (outcome == .unknown ? " (outcome unknown)" : "")
    }
}
