/// What an exactly-once workload's external store holds at the end of a run, read by the
/// harness (for Rill's workload, from `store.sqlite`): every applied record in the order the
/// store applied it, and the stored next offset per partition.
///
/// The history alone cannot prove exactly-once: a processor killed between its store's COMMIT
/// and its report leaves a `process` of unknown outcome (`info`), whose records may or may not
/// be in the store. The audit settles it — the store's rows are the effects that happened.
/// `HistoryChecker.receive(_: ExternalStoreAudit)` checks them against the history's sends.
public struct ExternalStoreAudit: Equatable, Sendable {
    /// One applied record: `sequence` orders application (the store's `seq`).
    public struct Row: Equatable, Sendable {
        public var sequence: Int64
        public var partition: String
        public var offset: Int64
        public var value: String
        public init(sequence: Int64, partition: String, offset: Int64, value: String) {
            self.sequence = sequence
            self.partition = partition
            self.offset = offset
            self.value = value
        }
    }

    /// Every applied record, in application order.
    public var rows: [Row]
    /// Partition → the stored next offset.
    public var storedOffsets: [String: Int64]
    /// The next offset of a partition with no stored offset (where a processor starts).
    public var initialOffset: Int64

    public init(rows: [Row], storedOffsets: [String: Int64], initialOffset: Int64 = 0) {
        self.rows = rows
        self.storedOffsets = storedOffsets
        self.initialOffset = initialOffset
    }
}
