/// Kafka's domain values as distinct types (STYLE.md rule 4), so an offset is never passed where
/// a sequence number or an epoch belongs. All are zero-cost wrappers over the wire integer.

/// The position of a record in a partition's log. Offsets start at 0 and only grow.
public struct Offset: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    @inlinable public init(rawValue: Int64) { self.rawValue = rawValue }
    @inlinable public init(_ value: Int64) { self.rawValue = value }

    /// "No offset" on the wire (-1): an unknown offset, an error reply, an empty log's last offset.
    public static let none = Offset(-1)
    public static let zero = Offset(0)

    @inlinable public static func < (lhs: Offset, rhs: Offset) -> Bool { lhs.rawValue < rhs.rawValue }
    @inlinable public static func + (lhs: Offset, rhs: Int64) -> Offset { Offset(lhs.rawValue + rhs) }
    @inlinable public static func - (lhs: Offset, rhs: Int64) -> Offset { Offset(lhs.rawValue - rhs) }
    /// The number of offsets from `rhs` up to `lhs`.
    @inlinable public static func - (lhs: Offset, rhs: Offset) -> Int64 { lhs.rawValue - rhs.rawValue }
    public var description: String { String(rawValue) }
}

/// The epoch of a partition's leader; incremented by every leader election.
public struct LeaderEpoch: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    @inlinable public init(rawValue: Int32) { self.rawValue = rawValue }
    @inlinable public init(_ value: Int32) { self.rawValue = value }
    /// "No epoch" (-1), as producers write it and as replies carry it when unknown.
    public static let none = LeaderEpoch(-1)
    @inlinable public static func < (lhs: LeaderEpoch, rhs: LeaderEpoch) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}

/// An idempotent producer's identity, handed out by InitProducerId.
public struct ProducerID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    @inlinable public init(rawValue: Int64) { self.rawValue = rawValue }
    @inlinable public init(_ value: Int64) { self.rawValue = value }
    /// A batch from a producer without idempotence carries -1.
    public static let none = ProducerID(-1)
    @inlinable public static func < (lhs: ProducerID, rhs: ProducerID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}

/// The epoch of a producer id; bumped when a producer re-initialises.
public struct ProducerEpoch: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int16
    @inlinable public init(rawValue: Int16) { self.rawValue = rawValue }
    @inlinable public init(_ value: Int16) { self.rawValue = value }
    public static let none = ProducerEpoch(-1)
    @inlinable public static func < (lhs: ProducerEpoch, rhs: ProducerEpoch) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}

/// A producer's per-partition record sequence number; wraps from Int32.max to 0.
public struct SequenceNumber: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    @inlinable public init(rawValue: Int32) { self.rawValue = rawValue }
    @inlinable public init(_ value: Int32) { self.rawValue = value }
    public static let none = SequenceNumber(-1)

    /// The sequence `count` records later, wrapping at Int32.max as Kafka does.
    @inlinable public func advanced(by count: Int32) -> SequenceNumber {
        let sum = Int64(rawValue) + Int64(count)
        return SequenceNumber(Int32(truncatingIfNeeded: sum > Int64(Int32.max) ? sum - Int64(Int32.max) - 1 : sum))
    }
    public var description: String { String(rawValue) }
}

/// Milliseconds since the Unix epoch, as record timestamps carry them.
public struct Timestamp: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    @inlinable public init(rawValue: Int64) { self.rawValue = rawValue }
    @inlinable public init(milliseconds: Int64) { self.rawValue = milliseconds }
    /// "No timestamp" (-1).
    public static let none = Timestamp(milliseconds: -1)
    @inlinable public var milliseconds: Int64 { rawValue }
    @inlinable public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}
