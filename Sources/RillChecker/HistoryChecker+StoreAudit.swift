import RillFormat

extension HistoryChecker {
    /// The process id that store-audit findings name: not a client, the store itself.
    public static let storeAuditProcess = ProcessID(-2)

    /// Checks the external store's final contents (after every event, before `finish()`):
    ///
    /// - `duplicate-effect`: a value applied by more than one row;
    /// - `out-of-order-effect`: a row whose offset is not above the previous row of its partition;
    /// - `duplicate-effect` / `missing-effect`: a stored next offset that is not the partition's
    ///   last applied offset + 1 (behind: those inputs will be applied again; ahead: skipped);
    /// - `missing-effect`: an acknowledged send that no row applied (the run waits until the
    ///   consumers caught up, so every acknowledged input must be in the store);
    ///
    /// and, as the rows are reads of the log, the read checks too (`inconsistent-offsets` when a
    /// row's value is not the one acknowledged at that offset, `aborted-read` for a value whose
    /// send failed). Sound whatever the outcome of `info` processes: the rows are what happened.
    public mutating func receive(_ audit: ExternalStoreAudit) throws(HistoryError) {
        var rowsByValue: [Int32: [Int64]] = [:]
        var lastApplied: [Int32: (offset: Int64, sequence: Int64)] = [:]
        for row in audit.rows {
            let reference = OperationReference(index: row.sequence, time: lastTime, process: Self.storeAuditProcess)
            let partition = try partitionID(row.partition, line: 0)
            let offset = try checkedOffset(Offset(row.offset), line: 0)
            let value = try valueID(row.value, readAt: offset, in: partition, line: 0)
            observe(value, partition: partition, offset: offset, by: reference)
            markRead(value, partition: partition, offset: offset, by: reference)
            rowsByValue[value, default: []].append(row.sequence)
            if let previous = lastApplied[partition], offset <= previous.offset {
                let finding = StoreFinding(partition: partition, offset: offset, value: value, rows: [previous.sequence, row.sequence],
                                           detail: "row \(row.sequence) applies offset \(offset) after row \(previous.sequence) applied offset \(previous.offset)")
                record(.outOfOrderEffect, .store(finding), key: FindingKey(partition: partition, offset: offset, index: row.sequence))
            }
            lastApplied[partition] = (offset, row.sequence)
        }
        for (value, sequences) in rowsByValue where sequences.count > 1 {
            let home = values[value].home
            let finding = StoreFinding(partition: home, offset: values[value].firstOffset, value: value, rows: sequences,
                                       detail: "applied \(sequences.count) times, by rows \(sequences.map(String.init).joined(separator: ", "))")
            record(.duplicateEffect, .store(finding), key: FindingKey(partition: home, offset: max(values[value].firstOffset, 0), index: sequences[1]))
        }
        try checkStoredOffsets(audit, lastApplied: lastApplied)
        findUnappliedAcknowledged(applied: rowsByValue, audit: audit)
        storeAuditRows = audit.rows.count
    }

    private mutating func checkStoredOffsets(_ audit: ExternalStoreAudit, lastApplied: [Int32: (offset: Int64, sequence: Int64)]) throws(HistoryError) {
        var partitionsToCheck = lastApplied
        for name in audit.storedOffsets.keys.sorted() {
            let partition = try partitionID(name, line: 0)
            if partitionsToCheck[partition] == nil { partitionsToCheck[partition] = (-1, -1) }
        }
        for (partition, last) in partitionsToCheck.sorted(by: { $0.key < $1.key }) {
            let stored = audit.storedOffsets[partitions.name(partition)] ?? audit.initialOffset
            let expected = last.offset >= 0 ? last.offset + 1 : audit.initialOffset
            guard stored != expected else { continue }
            let finding = StoreFinding(partition: partition, offset: max(stored, 0), value: -1, rows: last.sequence >= 0 ? [last.sequence] : [],
                                       detail: "stored next offset \(stored), but the last applied offset is \(last.offset >= 0 ? String(last.offset) : "none") (expected \(expected))")
            record(stored < expected ? .duplicateEffect : .missingEffect, .store(finding), key: FindingKey(partition: partition, offset: max(stored, 0), index: last.sequence))
        }
    }

    /// Every acknowledged send must be in the store once the consumers caught up.
    private mutating func findUnappliedAcknowledged(applied: [Int32: [Int64]], audit: ExternalStoreAudit) {
        for id in 0..<Int32(values.count) {
            let record = values[id]
            guard record.status == .acknowledged, record.home >= 0, applied[id] == nil else { continue }
            let name = partitions.name(record.home)
            let stored = audit.storedOffsets[name] ?? audit.initialOffset
            let place = record.firstOffset >= 0 && record.firstOffset < stored ? "below" : "at or above"
            let finding = StoreFinding(partition: record.home, offset: record.firstOffset, value: id, rows: [],
                                       detail: "acknowledged at offset \(record.firstOffset), never applied; \(place) the stored next offset \(stored)")
            self.record(.missingEffect, .store(finding), key: FindingKey(partition: record.home, offset: max(record.firstOffset, 0), index: sendReference(of: id).index))
        }
    }

    func storeExample(_ finding: StoreFinding) -> AnomalyExample {
        var fields = [ExampleField("partition", .string(partitions.name(finding.partition)))]
        if finding.value >= 0 { fields.append(ExampleField("value", .string(values.name(finding.value)))) }
        fields += [
            ExampleField("offset", .integer(finding.offset)), ExampleField("store-rows", .integers(finding.rows)),
            ExampleField("process", .integer(Self.storeAuditProcess.rawValue)),
        ]
        let subject = finding.value >= 0 ? "\"\(values.name(finding.value))\" (offset \(finding.offset) of \(partitions.name(finding.partition)))"
            : partitions.name(finding.partition)
        return AnomalyExample(fields: fields, summary: "The external store's audit: \(subject) \(finding.detail).",
                              window: window(finding.partition, subjects: [max(finding.offset, 0)]))
    }
}

/// A finding of the store audit: a partition, an offset, a value (-1 when none), the store's
/// rows involved (their `seq`), and what is wrong in words.
struct StoreFinding {
    var partition: Int32
    var offset: Int64
    var value: Int32
    var rows: [Int64]
    var detail: String
}
