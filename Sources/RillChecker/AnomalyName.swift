/// The anomalies the checker reports, with Jepsen's names (HISTORY-FORMAT.md § Anomalies).
public enum AnomalyName: String, CaseIterable, Comparable, Hashable, Sendable, CustomStringConvertible {
    /// An acknowledged send below the highest offset some consumer read in its partition, yet
    /// no consumer ever returned it.
    case lostWrite = "lost-write"
    /// At the end, an acknowledged send no consumer returned, not (yet) below what was read.
    case unseen
    /// One value at more than one offset.
    case duplicate
    /// One offset of a partition observed with two different values.
    case inconsistentOffsets = "inconsistent-offsets"
    /// Two successive polls by one consumer jumped over records known to exist.
    case pollSkip = "poll-skip"
    /// A consumer's poll started at or before where its previous poll ended.
    case nonmonotonicPoll = "nonmonotonic-poll"
    /// Inside one poll, consecutive records of a partition jumped over known records.
    case internalPollSkip = "int-poll-skip"
    /// Inside one poll, records of a partition went backwards or repeated.
    case internalNonmonotonicPoll = "int-nonmonotonic-poll"
    /// One producer's later send to a partition landed before its earlier send.
    case nonmonotonicSend = "nonmonotonic-send"
    /// Inside one send, records to one partition got out-of-order offsets.
    case internalNonmonotonicSend = "int-nonmonotonic-send"
    /// A poll returned a value whose send definitely failed (Jepsen's G1a).
    case abortedRead = "aborted-read"
    /// Exactly-once with external offsets: an input applied to the external store twice (or
    /// the stored next offset behind the effects applied, so they will be applied again).
    case duplicateEffect = "duplicate-effect"
    /// Exactly-once: an input below the store's next offset never applied (or the stored next
    /// offset ahead of the effects applied).
    case missingEffect = "missing-effect"
    /// Exactly-once: an input applied after a later offset of its partition.
    case outOfOrderEffect = "out-of-order-effect"

    /// Reads a name as the verdict writes it; `G1a` is accepted for `aborted-read`.
    public init?(name: String) {
        if name == "G1a" || name == "g1a" {
            self = .abortedRead
            return
        }
        self.init(rawValue: name)
    }

    public static func < (lhs: AnomalyName, rhs: AnomalyName) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}
