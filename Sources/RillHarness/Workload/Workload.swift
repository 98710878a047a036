import RillFormat

/// One benchmark run, fully resolved: OpenMessaging Benchmark's workload fields with OMB's
/// meaning, plus Rill's typed fields (acks, batching, compression, key distribution, target,
/// seed). A workload file that is an OMB workload runs unchanged; every field has a default.
///
/// Parsed by `WorkloadParser` (which reports bad input as file:line: field: reason); a `matrix:`
/// block expands into several `Workload`s (`WorkloadMatrix`).
public struct Workload: Sendable, Equatable, Encodable {
    // MARK: OpenMessaging Benchmark's fields

    /// `name`: label in results and charts.
    public var name = "workload"
    /// `topics`: topics to create.
    public var topics = 1
    /// `partitionsPerTopic`.
    public var partitionsPerTopic = 1
    /// `messageSize`: bytes of each record's value.
    public var messageSize = 1024
    /// `payloadFile`: the value of every record; its length must equal `messageSize`. Relative
    /// paths are resolved against the workload file's directory.
    public var payloadFile: String?
    /// `useRandomizedPayloads`: build payloads in memory (random bytes, then zeros).
    public var useRandomizedPayloads = false
    /// `randomBytesRatio`: the random fraction of each randomized payload (compressibility).
    public var randomBytesRatio = 1.0
    /// `randomizedPayloadPoolSize`: distinct randomized payloads cycled through.
    public var randomizedPayloadPoolSize = 1000
    /// `keyDistributor`: OMB's key choice (NO_KEY, KEY_ROUND_ROBIN, RANDOM_NANO); superseded by
    /// `keyDistribution` when that is given.
    public var keyDistributor = KeyDistributor.noKey
    /// `subscriptionsPerTopic`: independent consumer groups per topic (fan-out).
    public var subscriptionsPerTopic = 1
    /// `consumerPerSubscription`: consumers in each group.
    public var consumerPerSubscription = 1
    /// `producersPerTopic`.
    public var producersPerTopic = 1
    /// `producerRate`: the aggregate target rate in records per second; 0 searches for the
    /// maximum sustainable rate first (`rateSearch`).
    public var producerRate = 0.0
    /// `consumerBacklogSizeGB`: consumers wait until this much is published but unread, then
    /// drain it while producers go on (OMB's backlog test). 0: consumers read from the start.
    public var consumerBacklogSizeGB = 0.0
    /// `backlogDrainRatio`: fraction of the backlog that must be read before the run may end.
    public var backlogDrainRatio = 1.0
    /// `testDurationMinutes`: the measured phase (`durationSeconds` wins when given).
    public var testDurationMinutes = 1.0
    /// `warmupDurationMinutes`: the unmeasured phase before it (`warmupSeconds` wins).
    public var warmupDurationMinutes = 1.0

    // MARK: Rill's fields

    /// Replicas per partition. The embedded target starts this many brokers once replication
    /// exists; today it runs one broker and refuses a larger factor.
    public var replicationFactor = 1
    /// `acks`: all, 1 or 0.
    public var acks = Acks.all
    /// `enable.idempotence`.
    public var idempotence = true
    /// `batch.size` in bytes.
    public var batchSize = 16_384
    /// `linger.ms`.
    public var lingerMs = 5
    /// `compression.type`.
    public var compression = Compression.none
    /// How records are keyed (wins over `keyDistributor`).
    public var keyDistribution: KeyDistribution?
    /// Where the records go: brokers the harness starts, any cluster, or the storage engine.
    public var target = Target.embedded
    /// The measured phase in seconds (wins over `testDurationMinutes`).
    public var durationSeconds: Double?
    /// The warm-up in seconds (wins over `warmupDurationMinutes`).
    public var warmupSeconds: Double?
    /// Seed of every random choice (payloads, keys).
    public var seed: UInt64 = 1
    /// Topic configs at creation (Kafka's names: `retention.ms`, `flush.messages`, …).
    public var topicConfig: [String: String] = [:]
    /// Further producer properties (Kafka's names), applied after the typed fields; a property
    /// that a typed field also sets is an error.
    public var producerConfig: [String: String] = [:]
    /// Further consumer properties (Kafka's names).
    public var consumerConfig: [String: String] = [:]
    /// Broker settings for the embedded target (server.properties names).
    public var brokerConfig: [String: String] = [:]
    /// Where the embedded brokers' (or the engine's) fresh data directories are made; nil: the
    /// system's temporary directory. `/dev/shm` measures without the disk.
    public var dataDirectory: String?
    /// Records per second of all producers together while a backlog drains (the Redpanda fork's
    /// `drainProducerRate`); nil: producers keep `producerRate`.
    public var drainProducerRate: Double?
    /// How `producerRate: 0` decides what is sustainable.
    public var rateSearch = RateSearchSettings()
    /// Write each record's intended send time and sequence into the first 16 bytes of its value,
    /// for microsecond end-to-end latency on one clock. false keeps payloads byte-exact (then
    /// end-to-end latency uses the record timestamp, in milliseconds).
    public var stampPayloads = true
    /// Event-loop threads the harness's clients share; 0: chosen by `effectiveClientThreads`.
    public var clientThreads = 0
    /// `exactlyOnce:`: run the exactly-once workload (docs/workloads.md) instead of the benchmark.
    public var exactlyOnce: ExactlyOnceSettings?
    /// `checks:`: record a history and judge it with RillChecker (nil: a plain benchmark).
    public var checks: CorrectnessChecks?
    /// `faults:`: what the nemesis does while the workload runs (needs `checks`).
    public var faults: FaultPlan?

    public init() {}

    /// The measured phase in seconds.
    public var measuredSeconds: Double { durationSeconds ?? testDurationMinutes * 60 }
    /// The warm-up in seconds.
    public var warmupPhaseSeconds: Double { warmupSeconds ?? warmupDurationMinutes * 60 }
    /// The key distribution in force (`keyDistribution`, else OMB's `keyDistributor`).
    public var effectiveKeyDistribution: KeyDistribution {
        keyDistribution ?? keyDistributor.distribution
    }
    public var producerCount: Int { topics * producersPerTopic }
    public var consumerCount: Int { topics * subscriptionsPerTopic * consumerPerSubscription }
    public var partitionCount: Int { topics * partitionsPerTopic }
    /// Whether the first 16 bytes of each value carry the send time and sequence.
    public var isStamped: Bool { stampPayloads && messageSize >= PayloadStamp.size }

    /// The harness's client threads: `clientThreads`, else one when the run moves a fixed rate
    /// of at most `singleThreadRecordsPerSecond` records a second (published plus consumed) and
    /// builds no backlog, else two (never more than the machine's cores). At a modest rate one
    /// thread has time to spare, and a second only adds hand-offs between threads: each costs a
    /// wake-up, tens of microseconds of CPU on a small virtual machine and as much added
    /// latency. (At 20,000 records/s with linger 0 on two vCPUs, one thread halved the
    /// end-to-end p50; see docs/performance.md.)
    public func effectiveClientThreads(cores: Int) -> Int {
        if clientThreads > 0 { return clientThreads }
        return isModestRate ? 1 : max(1, min(2, cores))
    }

    /// A fixed rate that moves at most `singleThreadRecordsPerSecond` records a second
    /// (published plus consumed) and builds no backlog (a backlog drains as fast as the
    /// consumers can read).
    var isModestRate: Bool {
        producerRate > 0 && producerRate * Double(1 + subscriptionsPerTopic) <= Self.singleThreadRecordsPerSecond && consumerBacklogSizeGB == 0
    }

    /// The embedded brokers' settings: `brokerConfig`, and at a modest rate one event loop per
    /// broker (`rill.event.loops=1`) unless `brokerConfig` sets it. As with `clientThreads`, one
    /// loop carries a modest rate with time to spare, and more only hop each request between
    /// loops that wait for a core: at 20,000 records/s with linger 0 on two vCPUs, one loop
    /// instead of two cut the broker's CPU from 0.82 to 0.64 cores and the end-to-end p99 from
    /// 2.0–2.4 to 1.3–1.4 ms. At high rates the loops' parallelism pays (docs/performance.md).
    public var embeddedBrokerConfig: [String: String] {
        var config = brokerConfig
        if isModestRate, config["rill.event.loops"] == nil { config["rill.event.loops"] = "1" }
        return config
    }

    public static let singleThreadRecordsPerSecond = 100_000.0
}

/// OMB's `keyDistributor` values.
public enum KeyDistributor: String, Sendable, Equatable, Encodable, CaseIterable {
    case noKey = "NO_KEY"
    case keyRoundRobin = "KEY_ROUND_ROBIN"
    case randomNano = "RANDOM_NANO"

    /// The typed distribution with OMB's meaning: 10,000 keys, cycled or picked at random.
    var distribution: KeyDistribution {
        switch self {
        case .noKey: .none
        case .keyRoundRobin: .roundRobin(keys: 10_000)
        case .randomNano: .uniform(keys: 10_000)
        }
    }
}

/// `acks`.
public enum Acks: String, Sendable, Equatable, Encodable, CaseIterable {
    case all
    case leader = "1"
    case none = "0"
}

/// `compression`.
public enum Compression: String, Sendable, Equatable, Encodable, CaseIterable {
    case none, gzip, snappy, lz4, zstd

    var type: CompressionType { CompressionType(name: rawValue) ?? .none }
}

/// Where a run sends its records.
public enum Target: Sendable, Equatable, Encodable, CustomStringConvertible {
    /// Brokers started by the harness as child processes on 127.0.0.1 (fresh data directories).
    case embedded
    /// Any Kafka-compatible cluster.
    case bootstrap(String)
    /// The storage engine in-process, no network.
    case engine

    public var description: String {
        switch self {
        case .embedded: "embedded"
        case .bootstrap(let address): "bootstrap:\(address)"
        case .engine: "engine"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// How the maximum sustainable rate is found when `producerRate` is 0.
public struct RateSearchSettings: Sendable, Equatable, Codable {
    /// The first rate tried (records/s, all producers together).
    public var initialRate = 10_000.0
    /// The highest rate tried.
    public var maximumRate = 50_000_000.0
    /// p99 publish latency (from the intended send time) a rate must stay under, in ms.
    public var latencyLimitMs = 100.0
    /// Backlog (published, not yet consumed) a rate may leave, in seconds of that rate.
    public var backlogLimitSeconds = 1.0
    /// How long each rate is held.
    public var stepSeconds = 2.0
    /// Stop when the bracket [sustainable, unsustainable] is this tight (upper / lower − 1).
    public var precision = 0.05
    /// At most this many steps.
    public var maximumSteps = 24

    public init() {}
}

/// The 16 bytes at the start of a stamped value: the intended send time (monotonic
/// nanoseconds) and the producer's index and sequence number, both big-endian.
public enum PayloadStamp {
    public static let size = 16

    /// Writes the stamp into the first `size` bytes of `bytes` (which must hold them): the
    /// intended send time in monotonic nanoseconds, then the record's identity (the producer's
    /// index in the top 16 bits, its sequence number below), both big-endian.
    static func write(intended: UInt64, producerIndex: UInt64, sequence: Int, to bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= size, "a stamp needs \(size) bytes")
        bytes.storeBytes(of: intended.bigEndian, toByteOffset: 0, as: UInt64.self)
        bytes.storeBytes(of: (producerIndex << 48 | UInt64(sequence) & 0xFFFF_FFFF_FFFF).bigEndian, toByteOffset: 8, as: UInt64.self)
    }
}
