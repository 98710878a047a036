import RillChecker
import RillFormat
import RillNemesis

/// `checks:` — turns a workload into a correctness test: every client operation is recorded in
/// `history.jsonl` (docs/history-format.md), every partition is read from the beginning once the
/// faults have healed, and RillChecker judges the history.
public struct CorrectnessChecks: Sendable, Equatable, Encodable {
    /// How consumers get their partitions: each assigns its share itself (`assign`), or they
    /// join their subscription's group, which spreads the partitions (`subscribe`).
    public var consumers = CheckerConfiguration.ConsumerMode.assign
    /// Bound on the final read (every partition from the beginning), in seconds.
    public var finalReadSeconds = 30.0
    /// Anomalies that are reported but do not invalidate the history.
    public var allow: [String] = []

    public init() {}

    /// The checker's configuration for a workload with these checks.
    public func checkerConfiguration(isIdempotent: Bool) -> CheckerConfiguration {
        CheckerConfiguration(consumerMode: consumers, isIdempotenceEnabled: isIdempotent,
                             allowedAnomalies: Set(allow.compactMap { AnomalyName(name: $0) }))
    }
}

/// The kinds of fault the nemesis injects.
public enum FaultKind: String, Sendable, Equatable, Encodable, CaseIterable {
    /// kill -9 of a broker, restarted (same port, same data) when the fault heals.
    case kill
    /// SIGSTOP of a broker, SIGCONT when it heals.
    case pause
    /// Nothing passes between clients and the broker (through the fault proxies).
    case partition
    /// Everything between clients and the broker arrives late (`milliseconds`).
    case delay
    /// The client-broker links carry at most `bytesPerSecond`.
    case slow
    /// Every client-broker connection is closed at once (as a crashed middlebox would); the
    /// clients reconnect.
    case reset
    /// A client is abandoned without flushing; a fresh one (a new process) replaces it.
    case crashClient = "crash-client"
    /// kill -9 of a broker, one byte flipped in a closed segment while it is down, restarted.
    case corrupt

    /// Whether the fault acts on the client-broker links (and so needs the fault proxies).
    public var isLinkFault: Bool { self == .partition || self == .delay || self == .slow || self == .reset }
    /// Whether the fault happens at one instant (it has nothing to heal).
    public var isInstant: Bool { self == .crashClient || self == .reset }
    /// Whether the fault acts on a broker process.
    public var isBrokerFault: Bool { self == .kill || self == .pause || self == .corrupt }

    /// The default target: the first broker, every client link, or the first producer.
    var defaultTarget: String {
        switch self {
        case .kill, .pause, .corrupt: "broker-0"
        case .partition, .delay, .slow, .reset: "clients"
        case .crashClient: "producer-0"
        }
    }
}

/// One fault of a schedule: at `at` seconds after the producers start, `kind` on `target` for
/// `duration` seconds.
public struct FaultEvent: Sendable, Equatable, Encodable {
    public var at: Double
    public var kind: FaultKind
    public var target: String
    public var duration: Double
    /// `delay`: milliseconds; `slow`: bytes per second.
    public var amount: Int?

    public init(at: Double, kind: FaultKind, target: String? = nil, duration: Double, amount: Int? = nil) {
        self.at = at
        self.kind = kind
        self.target = target ?? kind.defaultTarget
        self.duration = duration
        self.amount = amount
    }

    /// The link fault a proxy applies for this event (nil for other kinds).
    var linkFault: LinkFault? {
        switch kind {
        case .partition: .partition
        case .delay: .delay(milliseconds: Int64(amount ?? 200))
        case .slow: .slow(bytesPerSecond: amount ?? 20_000)
        default: nil
        }
    }
}

/// `faults:` — an explicit schedule, a seeded random mix, or both; and whether the embedded
/// broker runs in power-loss mode (unsynced writes lost on kill -9).
public struct FaultPlan: Sendable, Equatable, Encodable {
    /// A random mix: every `interval` seconds from `startAfter`, one of `kinds` for `duration`.
    public struct RandomMix: Sendable, Equatable, Encodable {
        public var interval = 10.0
        public var duration = 3.0
        public var startAfter = 5.0
        public var kinds: [FaultKind] = [.kill, .pause, .partition]
        public init() {}
    }

    public var schedule: [FaultEvent] = []
    public var random: RandomMix?
    /// Start the embedded brokers with `rill.simulate.power.loss=true`.
    public var powerLoss = false

    public init() {}

    /// Every event, in time order: the schedule plus the random mix drawn with `seed`, all
    /// ending before `seconds` (the measured phase). Deterministic: the same seed, the same
    /// faults.
    public func events(seconds: Double, seed: UInt64, brokers: Int, producers: Int, consumers: Int) -> [FaultEvent] {
        var events = schedule
        if let random, !random.kinds.isEmpty {
            var generator = SplitMix64(seed: seed ^ 0x4E45_4D45_5349_5321)
            var at = random.startAfter
            while at + random.duration < seconds {
                let kind = random.kinds[Int(generator.next() % UInt64(random.kinds.count))]
                let target: String
                switch kind {
                case _ where kind.isBrokerFault: target = "broker-\(generator.next() % UInt64(max(brokers, 1)))"
                case .crashClient:
                    let index = Int(generator.next() % UInt64(max(producers + consumers, 1)))
                    target = index < producers ? "producer-\(index)" : "consumer-\(index - producers)"
                default: target = "clients"
                }
                events.append(FaultEvent(at: at, kind: kind, target: target, duration: kind.isInstant ? 0 : random.duration))
                at += random.interval
            }
        }
        return events.sorted { $0.at < $1.at }
    }
}
