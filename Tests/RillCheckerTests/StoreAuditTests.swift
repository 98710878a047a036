import RillChecker
import RillFormat
import Testing

/// The exactly-once audit: the external store's final rows settle what `info` processes did,
/// so a consumer killed before or after its COMMIT is judged by what the store holds.
@Suite struct StoreAuditTests {
    /// Two acknowledged sends to t-0; consumer 1 invokes a process of both and is killed (its
    /// outcome unknown); consumer 2 then applies what it finds after the stored offset.
    func history(secondApplies records: [(Int64, String)], storedBy second: Int64) -> [HistoryEvent] {
        var events: [HistoryEvent] = []
        func add(_ process: Int64, _ type: EventType, _ function: OperationFunction, _ value: OperationValue) {
            events.append(HistoryEvent(index: Int64(events.count), time: Int64(events.count), process: ProcessID(process), type: type, function: function, value: value))
        }
        let sent = [SentRecord(partition: "t-0", value: "v0"), SentRecord(partition: "t-0", value: "v1")]
        add(0, .invoke, .send, .send(sent))
        add(0, .ok, .send, .send([SentRecord(partition: "t-0", value: "v0", offset: Offset(0)), SentRecord(partition: "t-0", value: "v1", offset: Offset(1))]))
        let both = [PartitionRecords(partition: "t-0", records: [ReadRecord(offset: Offset(0), value: "v0"), ReadRecord(offset: Offset(1), value: "v1")])]
        add(1, .invoke, .process, .process(records: both, offsets: []))
        add(1, .info, .crash, .none)
        if !records.isEmpty {
            let again = [PartitionRecords(partition: "t-0", records: records.map { ReadRecord(offset: Offset($0.0), value: $0.1) })]
            add(2, .invoke, .process, .process(records: again, offsets: []))
            add(2, .ok, .process, .process(records: again, offsets: [PartitionOffset(partition: "t-0", offset: Offset(second))]))
        }
        return events
    }

    func check(_ events: [HistoryEvent], _ audit: ExternalStoreAudit) throws -> CheckResult {
        var checker = HistoryChecker(configuration: CheckerConfiguration(consumerMode: .subscribe))
        for event in events { try checker.receive(event) }
        try checker.receive(audit)
        return checker.finish()
    }

    func rows(_ entries: [(Int64, String)]) -> [ExternalStoreAudit.Row] {
        entries.enumerated().map { ExternalStoreAudit.Row(sequence: Int64($0.offset + 1), partition: "t-0", offset: $0.element.0, value: $0.element.1) }
    }

    /// Killed after its COMMIT: the store holds the batch once, the successor applied nothing.
    @Test func killAfterCommitIsValid() throws {
        let result = try check(history(secondApplies: [], storedBy: 0), ExternalStoreAudit(rows: rows([(0, "v0"), (1, "v1")]), storedOffsets: ["t-0": 2]))
        #expect(result.isValid, "\(result.anomalies)")
    }

    /// Killed before its COMMIT: nothing of it in the store; the successor applied both.
    @Test func killBeforeCommitIsValid() throws {
        let result = try check(history(secondApplies: [(0, "v0"), (1, "v1")], storedBy: 2),
                               ExternalStoreAudit(rows: rows([(0, "v0"), (1, "v1")]), storedOffsets: ["t-0": 2]))
        #expect(result.isValid, "\(result.anomalies)")
    }

    /// The history alone cannot see it (the first application is `info`), the store can: the
    /// records applied twice are a duplicate-effect.
    @Test func doubleApplicationHiddenFromTheHistoryIsFound() throws {
        let events = history(secondApplies: [(0, "v0"), (1, "v1")], storedBy: 2)
        #expect(try HistoryChecker.check(events, configuration: CheckerConfiguration(consumerMode: .subscribe)).isValid)
        let result = try check(events, ExternalStoreAudit(rows: rows([(0, "v0"), (1, "v1"), (0, "v0"), (1, "v1")]), storedOffsets: ["t-0": 2]))
        #expect(!result.isValid)
        #expect(result.anomalies[.duplicateEffect]?.count ?? 0 >= 2)
        #expect(result.anomalies[.outOfOrderEffect] != nil)
    }

    /// An acknowledged input the store never applied is a missing-effect, and so is a stored
    /// offset ahead of what was applied.
    @Test func unappliedAcknowledgedSendIsMissing() throws {
        let result = try check(history(secondApplies: [], storedBy: 0), ExternalStoreAudit(rows: rows([(0, "v0")]), storedOffsets: ["t-0": 2]))
        #expect(!result.isValid)
        let missing = result.anomalies[.missingEffect]
        #expect(missing?.count == 2)
        #expect(missing?.examples.contains { $0["value"] == .string("v1") } == true)
    }

    /// A stored next offset behind the last applied one means the next processor re-applies.
    @Test func storedOffsetBehindIsADuplicateEffect() throws {
        let result = try check(history(secondApplies: [], storedBy: 0), ExternalStoreAudit(rows: rows([(0, "v0"), (1, "v1")]), storedOffsets: ["t-0": 1]))
        #expect(result.anomalies[.duplicateEffect]?.count == 1)
        #expect(result.anomalies[.missingEffect] == nil)
    }
}

/// out-of-order-effect from the history alone is judged in real time: only an effect whose
/// `ok` came before the other operation was invoked certainly came first. A processor paused
/// between its COMMIT and its report is concurrent with its successor, not out of order.
@Suite struct EffectOrderTests {
    func events(concurrent: Bool) -> [HistoryEvent] {
        var events: [HistoryEvent] = []
        func add(_ process: Int64, _ type: EventType, _ function: OperationFunction, _ value: OperationValue) {
            events.append(HistoryEvent(index: Int64(events.count), time: Int64(events.count), process: ProcessID(process), type: type, function: function, value: value))
        }
        let values = (0..<4).map { SentRecord(partition: "t-0", value: "v\($0)") }
        add(0, .invoke, .send, .send(values))
        add(0, .ok, .send, .send(values.enumerated().map { SentRecord(partition: "t-0", value: $0.element.value, offset: Offset(Int64($0.offset))) }))
        func batch(_ offsets: ClosedRange<Int64>) -> [PartitionRecords] {
            [PartitionRecords(partition: "t-0", records: offsets.map { ReadRecord(offset: Offset($0), value: "v\($0)") })]
        }
        let early = batch(0...1), late = batch(2...3)
        if concurrent {
            add(1, .invoke, .process, .process(records: early, offsets: []))
            add(2, .invoke, .process, .process(records: late, offsets: []))
            add(2, .ok, .process, .process(records: late, offsets: [PartitionOffset(partition: "t-0", offset: Offset(4))]))
            add(1, .ok, .process, .process(records: early, offsets: [PartitionOffset(partition: "t-0", offset: Offset(2))]))
        } else {
            add(2, .invoke, .process, .process(records: late, offsets: []))
            add(2, .ok, .process, .process(records: late, offsets: [PartitionOffset(partition: "t-0", offset: Offset(4))]))
            add(1, .invoke, .process, .process(records: early, offsets: []))
            add(1, .ok, .process, .process(records: early, offsets: [PartitionOffset(partition: "t-0", offset: Offset(2))]))
        }
        return events
    }

    @Test func concurrentProcessesAreNotOutOfOrder() throws {
        let result = try HistoryChecker.check(events(concurrent: true), configuration: CheckerConfiguration(consumerMode: .subscribe))
        #expect(result.anomalies[.outOfOrderEffect] == nil, "\(result.anomalies)")
    }

    @Test func sequentialProcessesOutOfOrderAreFound() throws {
        let result = try HistoryChecker.check(events(concurrent: false), configuration: CheckerConfiguration(consumerMode: .subscribe))
        #expect(result.anomalies[.outOfOrderEffect]?.count == 2)
    }
}
