/// What the checker knows about one value. Values are interned to 32-bit ids so per-value state
/// is a flat array of 32-byte records: memory is proportional to the number of values.
struct ValueRecord {
    enum SendStatus: UInt8 {
        /// No send carried the value (yet): it was only read.
        case notSent
        /// A send carrying it is in flight.
        case invoked
        case acknowledged
        case failed
        /// The send's outcome is unknown (`info`, crash, in flight at the end).
        case unknown
    }

    /// The partition the value was sent to (or, for a value no send carried, first read from).
    var home: Int32 = -1
    /// The send operation that carried it (index into `HistoryChecker.sendOperations`).
    var sendOperation: Int32 = -1
    /// The first offset observed for it in `home` (acknowledgement or read), or -1.
    var firstOffset: Int64 = -1
    /// The lowest offset observed for it in `home`, or `Int64.max`.
    var lowestOffset: Int64 = .max
    var status: SendStatus = .notSent
    var flags: Flags = []

    struct Flags: OptionSet {
        var rawValue: UInt8
        /// An `ok` poll or process operation returned it from `home`.
        static let isRead = Flags(rawValue: 1 << 0)
        /// An `ok` process operation applied it to the external store.
        static let isApplied = Flags(rawValue: 1 << 1)
        /// A process operation with an unknown outcome may have applied it.
        static let isPossiblyApplied = Flags(rawValue: 1 << 2)
        /// Observed at more than one position (a duplicate).
        static let isDuplicated = Flags(rawValue: 1 << 3)
        /// Already reported as an aborted read (one finding per value).
        static let isAbortedReadReported = Flags(rawValue: 1 << 4)
    }
}

/// Values interned to dense ids, with their records and texts.
struct ValueTable {
    private var ids: [String: Int32] = [:]
    private(set) var names: [String] = []
    var records: [ValueRecord] = []

    var count: Int { names.count }

    /// The id of `value`, creating it when new. Nil when the table is full.
    mutating func intern(_ value: String) -> Int32? {
        if let id = ids[value] { return id }
        guard names.count < CheckerLimits.maximumValues else { return nil }
        let id = Int32(names.count)
        ids[value] = id
        names.append(value)
        records.append(ValueRecord())
        return id
    }

    func id(of value: String) -> Int32? { ids[value] }

    subscript(id: Int32) -> ValueRecord {
        get { records[Int(id)] }
        _modify { yield &records[Int(id)] }
    }

    func name(_ id: Int32) -> String { names[Int(id)] }
}

/// Partition names interned to dense ids, with each partition's observed log.
struct PartitionTable {
    struct Partition {
        var name: String
        var log = OffsetTable()
        /// The highest offset an `ok` poll or process returned, and that operation.
        var highestReadOffset: Int64 = -1
        var highestReader = OperationReference.none
        /// Offsets read of values sent to another partition count towards the read frontier.
        var foreignReadFrontier: Int64 = -1
    }

    private var ids: [String: Int32] = [:]
    var partitions: [Partition] = []

    var count: Int { partitions.count }

    mutating func intern(_ name: String) -> Int32? {
        if let id = ids[name] { return id }
        guard partitions.count < CheckerLimits.maximumPartitions else { return nil }
        let id = Int32(partitions.count)
        ids[name] = id
        partitions.append(Partition(name: name))
        return id
    }

    func id(of name: String) -> Int32? { ids[name] }

    subscript(id: Int32) -> Partition {
        get { partitions[Int(id)] }
        _modify { yield &partitions[Int(id)] }
    }

    func name(_ id: Int32) -> String { partitions[Int(id)].name }

    /// The topic of a partition name "<topic>-<partition>": everything before the last '-'
    /// when a number follows it, else the whole name.
    static func topic(of partition: String) -> String {
        guard let dash = partition.lastIndex(of: "-") else { return partition }
        let suffix = partition[partition.index(after: dash)...]
        guard !suffix.isEmpty, suffix.allSatisfy(\.isNumber) else { return partition }
        return String(partition[..<dash])
    }
}

/// Which event an operation was: enough to cite it in an example.
struct OperationReference: Equatable {
    var index: Int64
    var time: Int64
    var process: ProcessID

    static let none = OperationReference(index: -1, time: -1, process: ProcessID(-1))
    var isNone: Bool { index < 0 }
}
