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

/// Strings interned to dense 32-bit ids: an open-addressing table probed linearly, each slot
/// holding an id and the string's 32-bit hash, so probes rarely compare strings and growth never
/// rehashes text. About 16–32 bytes of slots per string plus the string (16 bytes when short);
/// lookups hash the UTF-8 bytes eight at a time
/// (deterministic, unlike `Hasher`, and several times faster for the short values histories
/// carry).
struct InternTable {
    private(set) var names: [String] = []
    /// Slots: the string's hash in the high 32 bits and its id + 1 in the low 32 bits (0: an
    /// empty slot). One load per probe decides most mismatches without touching the string.
    /// The count is a power of two, at most half full.
    private var slots: [UInt64] = Array(repeating: 0, count: 16)

    var count: Int { names.count }

    /// The id of `name`, creating it when new; nil when `limit` ids exist already.
    mutating func intern(_ name: String, limit: Int) -> Int32? {
        let hash = Self.hash(name)
        let (id, slot) = find(name, hash: hash)
        if let id { return id }
        guard names.count < limit else { return nil }
        let newID = Int32(names.count)
        names.append(name)
        slots[slot] = UInt64(hash) << 32 | UInt64(newID + 1)
        if names.count * 2 > slots.count { grow() }
        return newID
    }

    func id(of name: String) -> Int32? {
        find(name, hash: Self.hash(name)).id
    }

    /// Probes for `name`: its id, or nil and the empty slot where it would go.
    private func find(_ name: String, hash: UInt32) -> (id: Int32?, slot: Int) {
        let mask = slots.count - 1
        var slot = Int(hash) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { return (nil, slot) }
            if UInt32(truncatingIfNeeded: entry >> 32) == hash, names[Int(entry & 0xFFFF_FFFF) - 1] == name {
                return (Int32(entry & 0xFFFF_FFFF) - 1, slot)
            }
            slot = (slot + 1) & mask
        }
    }

    private mutating func grow() {
        var grown = [UInt64](repeating: 0, count: slots.count * 2)
        let mask = grown.count - 1
        for entry in slots where entry != 0 {
            var slot = Int(entry >> 32) & mask
            while grown[slot] != 0 { slot = (slot + 1) & mask }
            grown[slot] = entry
        }
        slots = grown
    }

    static func hash(_ name: String) -> UInt32 {
        if let hash = name.utf8.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) { return hash }
        var copy = name
        return copy.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// A multiply-xorshift mix of 8-byte words (in the spirit of wyhash and SplitMix64).
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        var position = 0
        while position + 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self)
            state = (state ^ word) &* 0xBF58_476D_1CE4_E5B9
            state ^= state >> 31
            position += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while position < bytes.count {
            tail |= UInt64(bytes[position]) << shift
            shift += 8
            position += 1
        }
        state = (state ^ tail) &* 0x94D0_49BB_1331_11EB
        state ^= state >> 29
        state = state &* 0xBF58_476D_1CE4_E5B9
        state ^= state >> 32
        return UInt32(truncatingIfNeeded: state)
    }
}

/// Values interned to dense ids, with their records.
struct ValueTable {
    private var table = InternTable()
    var records: [ValueRecord] = []

    var count: Int { table.count }

    /// The id of `value`, creating it when new. Nil when the table is full.
    mutating func intern(_ value: String) -> Int32? {
        guard let id = table.intern(value, limit: CheckerLimits.maximumValues) else { return nil }
        if Int(id) == records.count { records.append(ValueRecord()) }
        return id
    }

    func id(of value: String) -> Int32? { table.id(of: value) }

    subscript(id: Int32) -> ValueRecord {
        get { records[Int(id)] }
        _modify { yield &records[Int(id)] }
    }

    func name(_ id: Int32) -> String { table.names[Int(id)] }
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

    private var table = InternTable()
    var partitions: [Partition] = []

    var count: Int { partitions.count }

    mutating func intern(_ name: String) -> Int32? {
        guard let id = table.intern(name, limit: CheckerLimits.maximumPartitions) else { return nil }
        if Int(id) == partitions.count { partitions.append(Partition(name: name)) }
        return id
    }

    subscript(id: Int32) -> Partition {
        get { partitions[Int(id)] }
        _modify { yield &partitions[Int(id)] }
    }

    func name(_ id: Int32) -> String { partitions[Int(id)].name }
}

/// Which event an operation was: enough to cite it in an example.
struct OperationReference: Equatable {
    var index: Int64
    var time: Int64
    var process: ProcessID

    static let none = OperationReference(index: -1, time: -1, process: ProcessID(-1))
    var isNone: Bool { index < 0 }
}
