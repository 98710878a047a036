/// A detected anomaly in compact form (ids and offsets). Only the few kept as examples are
/// turned into `AnomalyExample`s, at the end, so a history with millions of anomalies costs
/// no more than one with a few.
enum Finding {
    /// A transition between two records one consumer received: across two polls (`previous`
    /// is the earlier poll) or inside one (`previous == current`).
    struct Transition {
        var partition: Int32
        var from: Int64
        var to: Int64
        var previous: OperationReference
        var current: OperationReference
    }

    /// Two records one producer sent to one partition, in send order.
    struct SendPair {
        var partition: Int32
        var earlierValue: Int32
        var laterValue: Int32
        var earlierOffset: Int64
        var laterOffset: Int64
        var earlier: OperationReference
        var later: OperationReference
    }

    case lostWrite(value: Int32, frontier: Int64)
    case unseen(value: Int32)
    case duplicate(value: Int32)
    case inconsistentOffset(partition: Int32, offset: Int64)
    /// poll-skip and int-poll-skip; `skipped` observed offsets lie strictly inside.
    case skip(Transition, skipped: Int)
    /// nonmonotonic-poll and int-nonmonotonic-poll.
    case rewind(Transition)
    /// nonmonotonic-send and int-nonmonotonic-send.
    case sendOrder(SendPair)
    case abortedRead(value: Int32, partition: Int32, offset: Int64, reader: OperationReference)
    case repeatedEffect(value: Int32, partition: Int32, offset: Int64, first: OperationReference, again: OperationReference)
    /// A stored next offset that is not the last applied offset + 1 (duplicate-effect when
    /// behind, missing-effect when ahead). `lastApplied` is -1 when nothing was applied.
    case storedOffset(partition: Int32, stored: Int64, lastApplied: Int64, operation: OperationReference)
    case missingEffect(value: Int32, partition: Int32, offset: Int64, stored: Int64, storedBy: OperationReference)
    case outOfOrderEffect(value: Int32, partition: Int32, offset: Int64, after: Int64, operation: OperationReference)
    /// An effect anomaly found by the external store's audit (`receive(_: ExternalStoreAudit)`).
    case store(StoreFinding)
}

/// Where a finding sorts among its anomaly's examples: by partition (id, i.e. first
/// appearance), offset, then event index. Deterministic for a given history.
struct FindingKey: Comparable {
    var partition: Int32
    var offset: Int64
    var index: Int64

    static func < (lhs: FindingKey, rhs: FindingKey) -> Bool {
        (lhs.partition, lhs.offset, lhs.index) < (rhs.partition, rhs.offset, rhs.index)
    }
}

/// Counts one anomaly's findings and keeps the `limit` smallest by key, in O(limit) memory
/// and amortised O(log limit) time per finding.
struct FindingCollector {
    let limit: Int
    private(set) var total = 0
    private var kept: [(key: FindingKey, finding: Finding)] = []

    init(limit: Int) { self.limit = limit }

    mutating func add(_ finding: Finding, key: FindingKey) {
        total += 1
        kept.append((key, finding))
        if kept.count >= 2 * limit { trim() }
    }

    private mutating func trim() {
        kept.sort { $0.key < $1.key }
        if kept.count > limit { kept.removeLast(kept.count - limit) }
    }

    /// The kept findings, smallest key first.
    mutating func examples() -> [Finding] {
        trim()
        return kept.map(\.finding)
    }
}
