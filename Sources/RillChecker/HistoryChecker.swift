import RillFormat

/// Checks a Kafka history (HISTORY-FORMAT.md) for Jepsen's anomalies, one event at a time.
///
/// A sans-IO state machine (STYLE.md rule 1): feed events in file order with `receive(_:)` —
/// it throws a `HistoryError` when the history contradicts the format (a completion without an
/// invocation, a value sent twice, an index going backwards) — then call `finish()` for the
/// `CheckResult`. `check(path:configuration:)` does both for a file.
///
/// Semantics: `ok` happened, `fail` definitely did not, `info` is unknown and counts neither as
/// acknowledged nor as failed; operations in flight at a crash or at the end are `info`.
///
/// Cost: one pass, O(1) amortised work per record (hashing its value and partition), memory
/// proportional to the values and the offsets observed, plus per process its positions. The
/// analyses that need the whole log (lost writes, skips over records seen only later) run once
/// in `finish()` over compact per-partition tables; nothing compares pairs of operations.
public struct HistoryChecker {
    public let configuration: CheckerConfiguration

    var values = ValueTable()
    var partitions = PartitionTable()
    /// Every send operation: its completion (or invocation while in flight).
    var sendOperations: [OperationReference] = []
    var processes = ProcessTable()
    var collectors: [AnomalyName: FindingCollector] = [:]
    /// Consumer jumps whose verdict needs the whole log: (transition, inside one poll?).
    var skipCandidates: [(transition: Finding.Transition, isInternal: Bool)] = []
    /// Send pairs with an offset the acknowledgement did not give: (pair, inside one send?).
    var sendOrderCandidates: [(pair: Finding.SendPair, isInternal: Bool)] = []
    /// The first read of each value whose send had not completed when it was read.
    var pendingReads: [Int32: PendingRead] = [:]
    /// Offsets observed with more than one value.
    var conflicts: [OffsetKey: [Observation]] = [:]
    /// Positions of values observed away from their first offset.
    var extraPositions: [Int32: [Position]] = [:]
    var effects = EffectsState()
    /// The row count of the external store's audit, once it was received.
    var storeAuditRows: Int?
    var statistics = CheckStatistics()
    var ignoredFunctions: Set<String> = []
    var lastIndex: Int64 = -1
    var lastTime: Int64 = 0
    var firstTimeReversalLine: Int?

    public init(configuration: CheckerConfiguration = CheckerConfiguration()) {
        self.configuration = configuration
    }

    /// Reads and checks the history at `path`, together with the final contents of the
    /// exactly-once workload's external store when `storeAudit` is given.
    public static func check(
        path: String, storeAudit: ExternalStoreAudit? = nil, configuration: CheckerConfiguration = CheckerConfiguration()
    ) throws(HistoryError) -> CheckResult {
        var reader = try HistoryReader(path: path)
        var checker = HistoryChecker(configuration: configuration)
        while let event = try reader.next() { try checker.receive(event) }
        if let storeAudit { try checker.receive(storeAudit) }
        return checker.finish()
    }

    /// Checks events already in memory.
    public static func check(_ events: some Sequence<HistoryEvent>, configuration: CheckerConfiguration = CheckerConfiguration()) throws(HistoryError) -> CheckResult {
        var checker = HistoryChecker(configuration: configuration)
        for event in events { try checker.receive(event) }
        return checker.finish()
    }

    /// Takes the next event of the history.
    public mutating func receive(_ event: HistoryEvent) throws(HistoryError) {
        try validateOrder(event)
        statistics.events += 1
        let slot = processes.slot(of: event.process)
        if let crashLine = processes.states[slot].crashLine {
            throw HistoryError(.invalidSequence, line: event.line, "process \(event.process) crashed (line \(crashLine)) and cannot act again; a restarted client needs a new process id")
        }
        // The state is moved out while it changes (no copy of its dictionaries) and back after.
        var state = ProcessState()
        swap(&state, &processes.states[slot])
        defer { swap(&state, &processes.states[slot]) }
        if !event.rebalance.isEmpty { try noteRebalance(event, state: &state) }
        if event.function == .crash {
            try receiveCrash(event, state: &state)
        } else if event.type == .invoke {
            try receiveInvocation(event, state: &state)
        } else {
            try receiveCompletion(event, state: &state)
        }
    }

    private mutating func validateOrder(_ event: HistoryEvent) throws(HistoryError) {
        guard event.index > lastIndex else {
            throw HistoryError(.invalidSequence, line: event.line, "\"index\" \(event.index) does not follow \(lastIndex); indexes increase in file order")
        }
        // Times should not go backwards, but no check depends on them (they only locate
        // examples), so a clock glitch in the harness is noted rather than fatal.
        if event.time < lastTime {
            statistics.timeReversals += 1
            if firstTimeReversalLine == nil { firstTimeReversalLine = event.line }
        }
        lastIndex = event.index
        lastTime = max(lastTime, event.time)
    }

    static func reference(_ event: HistoryEvent) -> OperationReference {
        OperationReference(index: event.index, time: event.time, process: event.process)
    }

    private mutating func receiveInvocation(_ event: HistoryEvent, state: inout ProcessState) throws(HistoryError) {
        if let inFlight = state.inFlight {
            throw HistoryError(.invalidSequence, line: event.line, "process \(event.process) invokes \(event.function) while its \(inFlight.function) invoked at line \(inFlight.line) has not completed")
        }
        statistics.operations += 1
        var operation = InFlightOperation(function: event.function, invocation: Self.reference(event), line: event.line, isExternalStore: event.isExternalStore)
        switch (event.function, event.value) {
        case (.send, .send(let records)):
            try registerSend(records, event: event, operation: &operation)
        case (.process, .process(let records, _)):
            operation.processRecords = records
        case (.other(let name), _):
            statistics.ignoredOperations += 1
            ignoredFunctions.insert(name)
        default:
            break
        }
        state.inFlight = operation
    }

    private mutating func receiveCompletion(_ event: HistoryEvent, state: inout ProcessState) throws(HistoryError) {
        guard let operation = state.inFlight else {
            throw HistoryError(.invalidSequence, line: event.line, "\(event.type) \(event.function) by process \(event.process) completes nothing: the process has no operation in flight")
        }
        guard operation.function == event.function else {
            throw HistoryError(.invalidSequence, line: event.line, "process \(event.process) completes \(event.function) but its operation in flight is \(operation.function) (line \(operation.line))")
        }
        state.inFlight = nil
        let reference = Self.reference(event)
        switch event.function {
        case .send: try completeSend(operation, event: event, state: &state)
        case .poll:
            if event.type == .ok, case .poll(let records) = event.value {
                statistics.pollsOK += 1
                try applyPoll(records, reference: reference, line: event.line, state: &state)
            }
        case .assign, .subscribe: completeSubscription(event, state: &state)
        case .commit: if event.type == .ok { try applyCommit(event, isExternalStore: event.isExternalStore || operation.isExternalStore, reference: reference) }
        case .process: try completeProcess(operation, event: event)
        case .crash, .other: break
        }
        state.rebalancedDuringOperation.removeAll(keepingCapacity: true)
    }

    /// `assign` and `subscribe` replace the consumer's partitions: its positions start afresh
    /// (HISTORY-FORMAT.md: successive polls are compared only with no assign/subscribe between).
    /// A failed one changed nothing; one with an unknown outcome may have changed everything.
    private mutating func completeSubscription(_ event: HistoryEvent, state: inout ProcessState) {
        if event.type == .ok {
            if event.function == .assign { statistics.assigns += 1 } else { statistics.subscribes += 1 }
        }
        if event.type != .fail { state.positions.removeAll() }
    }

    /// A crash ends the process; an operation it had in flight has an unknown outcome.
    private mutating func receiveCrash(_ event: HistoryEvent, state: inout ProcessState) throws(HistoryError) {
        if event.type == .invoke {
            try receiveInvocation(event, state: &state)
            return
        }
        guard event.type == .info else {
            throw HistoryError(.invalidSequence, line: event.line, "a crash's type must be info, found \(event.type)")
        }
        statistics.crashes += 1
        if let operation = state.inFlight, operation.function != .crash {
            resolveAsUnknown(operation)
        }
        if state.inFlight?.function != .crash { statistics.operations += 1 }
        // The process ends: only the line of its crash is kept.
        state = ProcessState()
        state.crashLine = event.line
    }

    /// An operation whose outcome will never be known (crash, end of history).
    mutating func resolveAsUnknown(_ operation: InFlightOperation) {
        switch operation.function {
        case .send:
            statistics.sendsUnknown += 1
            for value in operation.sendValues {
                values[value].status = .unknown
                pendingReads.removeValue(forKey: value)
            }
        case .process:
            markPossiblyApplied(operation.processRecords)
        default:
            break
        }
    }

    private mutating func noteRebalance(_ event: HistoryEvent, state: inout ProcessState) throws(HistoryError) {
        statistics.rebalances += 1
        for change in event.rebalance {
            for name in change.partitions {
                let partition = try partitionID(name, line: event.line)
                state.positions[partition]?.isRebalancedSince = true
                // Completions clear the set and a crash ends the process, so at an invocation
                // it is empty and collects the partitions rebalanced from here to completion.
                state.rebalancedDuringOperation.insert(partition)
            }
        }
    }

    mutating func partitionID(_ name: String, line: Int) throws(HistoryError) -> Int32 {
        guard let id = partitions.intern(name) else {
            throw HistoryError(.limitExceeded, line: line, "more than \(CheckerLimits.maximumPartitions) partitions")
        }
        return id
    }

    mutating func valueID(_ value: String, line: Int) throws(HistoryError) -> Int32 {
        guard let id = values.intern(value) else {
            throw HistoryError(.limitExceeded, line: line, "more than \(CheckerLimits.maximumValues) distinct values")
        }
        return id
    }

    /// The id of a value read at `offset` of `partition`. Usually the value first observed
    /// there (by its acknowledgement or an earlier read), found by an array index into the
    /// partition's log instead of a hash lookup — consumers read offsets in order, so this
    /// touches memory in order too.
    mutating func valueID(_ value: String, readAt offset: Int64, in partition: Int32, line: Int) throws(HistoryError) -> Int32 {
        if let id = partitions[partition].log.value(at: offset), values.name(id) == value { return id }
        return try valueID(value, line: line)
    }

    /// An offset from an event, checked: non-negative and at most `CheckerLimits.maximumOffset`
    /// (the decoder ensures the first; events built in memory might not).
    func checkedOffset(_ offset: Offset, line: Int) throws(HistoryError) -> Int64 {
        guard offset.rawValue >= 0, offset.rawValue <= CheckerLimits.maximumOffset else {
            throw HistoryError(.invalidField, line: line, "offset \(offset.rawValue) is outside 0…\(CheckerLimits.maximumOffset)")
        }
        return offset.rawValue
    }

    mutating func record(_ anomaly: AnomalyName, _ finding: Finding, key: FindingKey) {
        collectors[anomaly, default: FindingCollector(limit: configuration.examplesPerAnomaly)].add(finding, key: key)
    }
}

/// A process's state: its operation in flight and, as a consumer, where it is.
struct ProcessState {
    /// Set when the process crashed: the line of the crash. It cannot act again.
    var crashLine: Int?
    var inFlight: InFlightOperation?
    /// Partition → the last record this consumer received there.
    var positions: [Int32: ConsumerPosition] = [:]
    /// Partition → the last record this producer's acknowledged sends wrote there.
    var lastSends: [Int32: SendPosition] = [:]
    /// Partitions the current operation's `rebalance` field names.
    var rebalancedDuringOperation: Set<Int32> = []
}

struct InFlightOperation {
    var function: OperationFunction
    var invocation: OperationReference
    var line: Int
    /// A commit invoked with `"store": "external"`.
    var isExternalStore = false
    /// A send's values and partitions, in order, and its row in `sendOperations`.
    var sendValues: [Int32] = []
    var sendPartitions: [Int32] = []
    var sendOperation: Int32 = -1
    /// A process operation's records as invoked (possibly applied if the outcome is unknown).
    var processRecords: [PartitionRecords] = []
}

struct ConsumerPosition {
    var offset: Int64
    var poll: OperationReference
    /// A rebalance named this partition since the poll.
    var isRebalancedSince = false
}

struct SendPosition {
    var value: Int32
    /// -1 when the acknowledgement gave no offset.
    var offset: Int64
    var operation: OperationReference
}

struct PendingRead {
    var partition: Int32
    var offset: Int64
    var reader: OperationReference
}

struct OffsetKey: Hashable, Comparable {
    var partition: Int32
    var offset: Int64
    static func < (lhs: OffsetKey, rhs: OffsetKey) -> Bool { (lhs.partition, lhs.offset) < (rhs.partition, rhs.offset) }
}

/// A value observed at an offset, and by which operation (`.none` when unknown).
struct Observation {
    var value: Int32
    var observer: OperationReference
}

struct Position: Equatable {
    var partition: Int32
    var offset: Int64
    var observer: OperationReference
}

/// The external store of the exactly-once workload, as the `process` and external `commit`
/// operations describe it.
struct EffectsState {
    /// Value → the first `ok` process operation that applied it.
    var appliedBy: [Int32: OperationReference] = [:]
    /// Partition → (index of an `ok` process, the highest offset applied by it and every `ok`
    /// process before it), in index order: what was certainly applied before a given event.
    var appliedTimeline: [Int32: [(completedAt: Int64, highestOffset: Int64)]] = [:]
    /// Partition → the offset of the last record applied.
    var lastApplied: [Int32: Int64] = [:]
    /// Partition → the stored next offset.
    var stored: [Int32: Int64] = [:]
    /// Partition → the highest stored next offset.
    var highestStored: [Int32: (offset: Int64, operation: OperationReference)] = [:]
    /// Partition → the next offset stored before any record of it was applied: where the
    /// processor was told to start. Inputs below it are not expected.
    var initialStored: [Int32: Int64] = [:]
}

extension EffectsState {
    /// The highest offset of `partition` applied by `ok` processes whose completion has an index
    /// below `index`. O(log n) in the partition's `ok` processes.
    func highestApplied(in partition: Int32, completedBefore index: Int64) -> Int64? {
        guard let timeline = appliedTimeline[partition], let first = timeline.first, first.completedAt < index else { return nil }
        var low = 0, high = timeline.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if timeline[middle].completedAt < index { low = middle } else { high = middle - 1 }
        }
        return timeline[low].highestOffset
    }

    /// Records that the `ok` process at `index` applied offsets of `partition` up to `offset`.
    mutating func noteApplied(_ offset: Int64, in partition: Int32, completedAt index: Int64) {
        let highest = max(appliedTimeline[partition]?.last?.highestOffset ?? offset, offset)
        appliedTimeline[partition, default: []].append((index, highest))
    }
}

/// Processes by id: an open-addressing table from process id to a dense slot, and the states by
/// slot. (Process ids are arbitrary integers; this avoids hashing each event twice with
/// `Hasher`.) Slots are never freed: an ended process keeps its crash line, a few bytes.
struct ProcessTable {
    private(set) var ids: [ProcessID] = []
    var states: [ProcessState] = []
    /// Slot + 1, or 0 for an empty entry; a power of two, at most half full.
    private var table: [Int32] = Array(repeating: 0, count: 64)

    var count: Int { ids.count }

    /// The slot of `process`, created (with an empty state) when new.
    mutating func slot(of process: ProcessID) -> Int {
        let mask = table.count - 1
        var entry = Self.hash(process) & mask
        while table[entry] != 0 {
            let slot = Int(table[entry]) - 1
            if ids[slot] == process { return slot }
            entry = (entry + 1) & mask
        }
        let slot = ids.count
        ids.append(process)
        states.append(ProcessState())
        table[entry] = Int32(slot + 1)
        if ids.count * 2 > table.count { grow() }
        return slot
    }

    private mutating func grow() {
        var grown = [Int32](repeating: 0, count: table.count * 2)
        let mask = grown.count - 1
        for (slot, process) in ids.enumerated() {
            var entry = Self.hash(process) & mask
            while grown[entry] != 0 { entry = (entry + 1) & mask }
            grown[entry] = Int32(slot + 1)
        }
        table = grown
    }

    private static func hash(_ process: ProcessID) -> Int {
        let mixed = UInt64(bitPattern: process.rawValue) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: mixed >> 32)
    }
}
