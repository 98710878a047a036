import RillFormat

@testable import RillChecker

/// Builds histories in memory: indexes and times are assigned in order.
struct HistoryBuilder {
    var events: [HistoryEvent] = []

    mutating func add(_ process: Int64, _ type: EventType, _ function: OperationFunction, _ value: OperationValue, rebalance: [RebalanceChange] = [], isExternalStore: Bool = false) {
        let index = Int64(events.count)
        events.append(HistoryEvent(
            index: index, time: 1_000 * (index + 1), process: ProcessID(process), type: type, function: function, value: value,
            rebalance: rebalance, isExternalStore: isExternalStore, line: events.count + 1
        ))
    }

    /// An acknowledged send of `(partition, value, offset)` records.
    mutating func send(_ process: Int64, _ records: [(String, String, Int64?)], outcome: EventType = .ok) {
        add(process, .invoke, .send, .send(records.map { SentRecord(partition: $0.0, value: $0.1) }))
        let completed = records.map { SentRecord(partition: $0.0, value: $0.1, offset: outcome == .ok ? $0.2.map { Offset($0) } : nil) }
        add(process, outcome, .send, .send(completed))
    }

    mutating func assign(_ process: Int64, _ partitions: [String], seek: SeekPosition? = .beginning) {
        add(process, .invoke, .assign, .assign(partitions: partitions, seek: seek))
        add(process, .ok, .assign, .assign(partitions: partitions, seek: seek))
    }

    /// An ok poll returning `(offset, value)` records per partition.
    mutating func poll(_ process: Int64, _ records: [String: [(Int64, String)]], rebalance: [RebalanceChange] = []) {
        add(process, .invoke, .poll, .none)
        let partitions = records.keys.sorted().map { partition in
            PartitionRecords(partition: partition, records: (records[partition] ?? []).map { ReadRecord(offset: Offset($0.0), value: $0.1) })
        }
        add(process, .ok, .poll, .poll(partitions), rebalance: rebalance)
    }

    mutating func process(_ process: Int64, _ records: [String: [(Int64, String)]], offsets: [String: Int64], outcome: EventType = .ok) {
        let value = OperationValue.process(
            records: records.keys.sorted().map { partition in
                PartitionRecords(partition: partition, records: (records[partition] ?? []).map { ReadRecord(offset: Offset($0.0), value: $0.1) })
            },
            offsets: offsets.keys.sorted().map { PartitionOffset(partition: $0, offset: Offset(offsets[$0] ?? 0)) }
        )
        add(process, .invoke, .process, value)
        add(process, outcome, .process, value)
    }

    mutating func crash(_ process: Int64) { add(process, .info, .crash, .none) }

    func check(_ configuration: CheckerConfiguration = CheckerConfiguration()) throws(HistoryError) -> CheckResult {
        try HistoryChecker.check(events, configuration: configuration)
    }

    var jsonLines: String { events.map { $0.jsonLine() }.joined(separator: "\n") + "\n" }
}
