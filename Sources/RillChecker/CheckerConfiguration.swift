/// What the test promised, so the checker knows which anomalies invalidate it
/// (HISTORY-FORMAT.md § "Allowed by configuration"). Set from `rill check`'s flags or by the
/// harness from the workload.
public struct CheckerConfiguration: Hashable, Sendable {
    /// How consumers got their partitions.
    public enum ConsumerMode: String, Hashable, Sendable, Encodable, CaseIterable {
        /// `assign`: a consumer's partitions change only by its own assign operations.
        case assign
        /// `subscribe`: the group moves partitions between consumers (rebalances). A
        /// `poll-skip`, `nonmonotonic-poll` or `int-…` fault of a partition across a rebalance
        /// of that partition is expected, not reported.
        case subscribe
    }

    public var consumerMode: ConsumerMode
    /// Whether the producers ran with `enable.idempotence=true`. Without idempotence a retried
    /// send can be written twice, so `duplicate` is allowed.
    public var isIdempotenceEnabled: Bool
    /// Anomalies that do not invalidate the history (they are still reported).
    public var allowedAnomalies: Set<AnomalyName>
    /// Examples listed per anomaly; the total count is always given.
    public var examplesPerAnomaly: Int

    public init(
        consumerMode: ConsumerMode = .assign, isIdempotenceEnabled: Bool = true, allowedAnomalies: Set<AnomalyName> = [],
        examplesPerAnomaly: Int = CheckerLimits.defaultExamplesPerAnomaly
    ) {
        self.consumerMode = consumerMode
        self.isIdempotenceEnabled = isIdempotenceEnabled
        self.allowedAnomalies = allowedAnomalies
        self.examplesPerAnomaly = min(max(examplesPerAnomaly, 1), CheckerLimits.maximumExamplesPerAnomaly)
    }

    /// The explicit allowed set plus what the configuration implies.
    public var effectiveAllowedAnomalies: Set<AnomalyName> {
        isIdempotenceEnabled ? allowedAnomalies : allowedAnomalies.union([.duplicate])
    }
}
