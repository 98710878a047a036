import RillFormat

/// What `HistoryGenerator` simulates.
public struct HistoryGeneratorConfiguration: Hashable, Sendable {
    /// Operations invoked in the main phase; draining and the final reads add a few more.
    public var operations: Int
    /// Partitions `t-0` … of one topic `t`.
    public var partitions = 4
    public var producers = 3
    public var consumers = 2
    /// Exactly-once processors (process operations with offsets in an external store).
    public var processors = 0
    public var consumerMode: CheckerConfiguration.ConsumerMode = .assign
    public var maximumRecordsPerSend = 3
    public var maximumRecordsPerPoll = 8
    public var failedSendProbability = 0.02
    public var unknownSendProbability = 0.02
    /// Acknowledged sends whose offset the simulated client does not report.
    public var missingOffsetProbability = 0.02
    public var crashProbability = 0.005
    public var seed: UInt64 = 1

    public init(operations: Int, seed: UInt64 = 1) {
        self.operations = operations
        self.seed = seed
    }
}

/// Generates a valid history from a simulated correct log: producers append atomically and in
/// order, consumers read contiguously from their positions, processors apply each input once
/// with their offsets; sends fail (never written), end unknown (written or not), and clients
/// crash (a new process id takes over). A final reader assigns every partition from the
/// beginning and reads to the end, so nothing acknowledged is unseen.
///
/// Deterministic for a seed. Used by the property tests (valid histories, then mutated) and by
/// `rill check --generate` for benchmarks. Memory: the simulated log (8 bytes per record).
public struct HistoryGenerator: IteratorProtocol, Sequence {
    public let configuration: HistoryGeneratorConfiguration
    var random: SplitMix64
    /// Value numbers per partition, in offset order; value n is "v<n>".
    var log: [[Int64]]
    var nextValue: Int64 = 0
    var nextProcess: Int64 = 0
    var index: Int64 = 0
    var time: Int64 = 0
    var workers: [Worker] = []
    var invoked = 0
    var phase = Phase.main
    var queue: [HistoryEvent] = []
    var queueHead = 0
    /// Committed offsets: per consumer worker in assign mode, per group in subscribe mode.
    var committed: [[Int: Int]]
    var groupCommitted: [Int: Int] = [:]
    /// Subscribe mode: the assignment the group wants, per worker.
    var targetAssignment: [Int: [Int]] = [:]
    /// The exactly-once store's next offsets.
    var storedOffsets: [Int: Int] = [:]
    var finalReader: Worker?

    enum Phase { case main, draining, finalReads, done }

    enum Role { case producer, consumer, processor }

    enum SendOutcome { case acknowledged, failed, unknownWritten, unknownNotWritten }

    struct PendingSend {
        var records: [(partition: Int, value: Int64, offset: Int?)]
        var outcome: SendOutcome
    }

    enum Pending {
        case send(PendingSend)
        case poll
        case assign([Int], SeekPosition?)
        case subscribe
        case commit([(Int, Int)])
        case process(records: [(Int, [(Int, Int64)])], offsets: [(Int, Int)])
    }

    struct Worker {
        var role: Role
        var process: Int64
        var pending: Pending?
        var isReady = false
        var partitions: [Int] = []
        var positions: [Int: Int] = [:]
    }

    public init(configuration: HistoryGeneratorConfiguration) {
        self.configuration = configuration
        random = SplitMix64(seed: configuration.seed)
        log = Array(repeating: [], count: Swift.max(1, configuration.partitions))
        committed = Array(repeating: [:], count: configuration.consumers)
        for _ in 0..<configuration.producers { workers.append(Worker(role: .producer, process: newProcess())) }
        for _ in 0..<configuration.consumers { workers.append(Worker(role: .consumer, process: newProcess())) }
        for _ in 0..<configuration.processors { workers.append(Worker(role: .processor, process: newProcess())) }
    }

    public mutating func next() -> HistoryEvent? {
        while queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
            guard step() else { return nil }
        }
        defer { queueHead += 1 }
        return queue[queueHead]
    }

    mutating func newProcess() -> Int64 {
        defer { nextProcess += 1 }
        return nextProcess
    }

    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &random) < probability }

    static func partitionName(_ partition: Int) -> String { "t-\(partition)" }
    static func valueName(_ value: Int64) -> String { "v\(value)" }

    /// Appends an event stamped with the next index and a later time.
    mutating func emit(_ process: Int64, _ type: EventType, _ function: OperationFunction, _ value: OperationValue, rebalance: [RebalanceChange] = [], isExternalStore: Bool = false) {
        time += Int64.random(in: 1_000...200_000, using: &random)
        queue.append(HistoryEvent(
            index: index, time: time, process: ProcessID(process), type: type, function: function, value: value,
            rebalance: rebalance, isExternalStore: isExternalStore
        ))
        index += 1
    }

    /// Produces the next events into `queue`; false when the history is over.
    mutating func step() -> Bool {
        switch phase {
        case .main:
            guard invoked < configuration.operations, !workers.isEmpty else {
                phase = .draining
                return true
            }
            let worker = Int.random(in: 0..<workers.count, using: &random)
            if chance(configuration.crashProbability) {
                crash(worker)
            } else if workers[worker].pending != nil {
                complete(worker)
            } else {
                invoked += 1
                invoke(worker)
            }
            return true
        case .draining:
            guard let worker = workers.indices.first(where: { workers[$0].pending != nil }) else {
                startFinalReads()
                return true
            }
            complete(worker)
            return true
        case .finalReads:
            return finalRead()
        case .done:
            return false
        }
    }

    /// The worker's client crashes; an operation in flight stays without completion (a send's
    /// fate was decided at invocation) and a new process takes the worker's place.
    mutating func crash(_ worker: Int) {
        emit(workers[worker].process, .info, .crash, .none)
        let role = workers[worker].role
        workers[worker] = Worker(role: role, process: newProcess())
        if configuration.consumerMode == .subscribe, role == .consumer { rebalanceGroup() }
    }
}
