/// Which records a Fetch or ListOffsets request may see (int8 on the wire, Fetch v4+ and
/// ListOffsets v2+; kafka-protocol.md §2.3, §2.4).
///
/// A struct rather than an enum so that a value this implementation has no name for still
/// round-trips; the broker decides what to do with it.
public struct IsolationLevel: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int8
    public init(rawValue: Int8) { self.rawValue = rawValue }

    /// Every record is visible, including those of open and aborted transactions (0, the default).
    public static let readUncommitted = IsolationLevel(rawValue: 0)
    /// Only records below the last stable offset are visible, and aborted transactions are listed (1).
    public static let readCommitted = IsolationLevel(rawValue: 1)

    public var description: String {
        switch self {
        case .readUncommitted: "READ_UNCOMMITTED"
        case .readCommitted: "READ_COMMITTED"
        default: "IsolationLevel(\(rawValue))"
        }
    }
}
