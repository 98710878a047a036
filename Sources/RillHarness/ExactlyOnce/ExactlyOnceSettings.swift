/// The `exactlyOnce:` section of a workload: present, `rill run` runs the exactly-once workload
/// (`ExactlyOnceRunner`) instead of the benchmark. The workload's own fields still give the
/// topic shape (`partitionsPerTopic`), the producers (`producersPerTopic`, `producerRate`,
/// `acks`, `idempotence`, `lingerMs`), the duration (`durationSeconds`), the `seed` of every
/// random choice, the `target` and `brokerConfig`.
public struct ExactlyOnceSettings: Sendable, Equatable, Encodable {
    /// Consumer processes in the group at any time.
    public var consumers = 2
    /// `transactional` (exactly once) or `split-transactions` (built to fail).
    public var mode = ExactlyOnceConsumer.Mode.transactional
    /// SIGKILLs of consumer processes during the run (each followed by a restart), at most.
    public var kills = 3
    /// SIGSTOP pauses of consumer processes (each resumed after `pauseMs`), at most: a paused
    /// consumer outlives its session, its partitions move, and it wakes up as a zombie that the
    /// store's fence must stop.
    public var pauses = 0
    /// How long a pause lasts; 0: twice `sessionTimeoutMs` plus half a second.
    public var pauseMs = 0
    /// Mean time between faults (kills and pauses); each gap is drawn uniformly from half to one and a half times it.
    public var killIntervalMs = 1_500
    /// `max.poll.records`: the most records one transaction applies.
    public var maxPollRecords = 50
    /// The consumers' `session.timeout.ms` (the embedded broker's minimum is lowered to allow it).
    public var sessionTimeoutMs = 2_000
    /// `split-transactions`: how often offsets are stored, in their own transaction.
    public var offsetStoreIntervalMs = 1_000
    /// How long the end of the run waits for the stored offsets to reach the log end offsets.
    public var catchUpTimeoutSeconds = 30.0

    public init() {}

    /// The pause in force: long enough for the group to drop the paused member.
    public var effectivePauseMs: Int { pauseMs > 0 ? pauseMs : 2 * sessionTimeoutMs + 500 }

    /// Field names, for the workload reader.
    static let fieldNames = ["consumers", "mode", "kills", "pauses", "pauseMs", "killIntervalMs", "maxPollRecords", "sessionTimeoutMs", "offsetStoreIntervalMs",
                             "catchUpTimeoutSeconds"]
}
