import RillFormat

/// A logical client of a history. A client that crashed is replaced by a new process id, so a
/// process's operations are sequential and end at its crash.
public struct ProcessID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int64
    @inlinable public init(rawValue: Int64) { self.rawValue = rawValue }
    @inlinable public init(_ value: Int64) { self.rawValue = value }
    @inlinable public static func < (lhs: ProcessID, rhs: ProcessID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }
}

/// Jepsen's event types: an operation is invoked, then completes as `ok` (it happened),
/// `fail` (it definitely did not happen) or `info` (its outcome is unknown).
public enum EventType: String, Sendable, CaseIterable {
    case invoke, ok, fail, info
}

/// The `f` of an event: what the operation does (HISTORY-FORMAT.md § Operations).
public enum OperationFunction: Hashable, Sendable, CustomStringConvertible {
    case send, poll, assign, subscribe, crash, commit, process
    /// An `f` this format does not define (a nemesis event, a debugging aid). It is paired with
    /// its completion like any operation, counted, and otherwise ignored.
    case other(String)

    public init(name: String) {
        switch name {
        case "send": self = .send
        case "poll": self = .poll
        case "assign": self = .assign
        case "subscribe": self = .subscribe
        case "crash": self = .crash
        case "commit": self = .commit
        case "process": self = .process
        default: self = .other(name)
        }
    }

    public var description: String {
        switch self {
        case .send: "send"
        case .poll: "poll"
        case .assign: "assign"
        case .subscribe: "subscribe"
        case .crash: "crash"
        case .commit: "commit"
        case .process: "process"
        case .other(let name): name
        }
    }
}

/// One record of a `send`: the partition, the value, and — on an `ok` completion, when the
/// system said — the offset it was written at.
public struct SentRecord: Equatable, Sendable {
    public var partition: String
    public var value: String
    public var offset: Offset?
    public init(partition: String, value: String, offset: Offset? = nil) {
        self.partition = partition
        self.value = value
        self.offset = offset
    }
}

/// One record a consumer received (or a processor applied): its offset and value.
public struct ReadRecord: Equatable, Sendable {
    public var offset: Offset
    public var value: String
    public init(offset: Offset, value: String) {
        self.offset = offset
        self.value = value
    }
}

/// The records of one partition in one poll or process operation, in the order received.
public struct PartitionRecords: Equatable, Sendable {
    public var partition: String
    public var records: [ReadRecord]
    public init(partition: String, records: [ReadRecord]) {
        self.partition = partition
        self.records = records
    }
}

/// A partition and an offset: a commit's next offset to read, or a processor's stored offset.
public struct PartitionOffset: Equatable, Sendable {
    public var partition: String
    public var offset: Offset
    public init(partition: String, offset: Offset) {
        self.partition = partition
        self.offset = offset
    }
}

/// Where an `assign` positions the consumer on its partitions.
public enum SeekPosition: String, Sendable {
    case beginning, committed, end
}

/// A partition assignment change a consumer saw while an operation ran (`rebalance` field).
public struct RebalanceChange: Equatable, Sendable {
    /// "revoked", "assigned", "lost", … as the client reported it.
    public var kind: String
    public var partitions: [String]
    public init(kind: String, partitions: [String]) {
        self.kind = kind
        self.partitions = partitions
    }
}

/// The decoded `value` of an event, by operation.
public enum OperationValue: Equatable, Sendable {
    /// No value the checker uses: a poll invocation, a crash, an unknown `f`.
    case none
    case send([SentRecord])
    case poll([PartitionRecords])
    case assign(partitions: [String], seek: SeekPosition?)
    case subscribe(topics: [String])
    case commit([PartitionOffset])
    case process(records: [PartitionRecords], offsets: [PartitionOffset])
}

/// One line of a history (HISTORY-FORMAT.md § Event).
public struct HistoryEvent: Equatable, Sendable {
    /// The event's `index` field: 0, 1, 2, … in file order.
    public var index: Int64
    /// Nanoseconds since the start of the test.
    public var time: Int64
    public var process: ProcessID
    public var type: EventType
    public var function: OperationFunction
    public var value: OperationValue
    /// The optional `error` of a `fail` or `info` completion.
    public var error: String?
    /// The optional `rebalance` field.
    public var rebalance: [RebalanceChange]
    /// True for a `commit` with `"store": "external"`: offsets stored outside the broker.
    public var isExternalStore: Bool
    /// The 1-based line of the history file the event was read from (0 when built in memory).
    public var line: Int

    public init(
        index: Int64, time: Int64, process: ProcessID, type: EventType, function: OperationFunction,
        value: OperationValue, error: String? = nil, rebalance: [RebalanceChange] = [], isExternalStore: Bool = false,
        line: Int = 0
    ) {
        self.index = index
        self.time = time
        self.process = process
        self.type = type
        self.function = function
        self.value = value
        self.error = error
        self.rebalance = rebalance
        self.isExternalStore = isExternalStore
        self.line = line
    }
}
