extension HistoryChecker {
    /// A `process` completion (exactly-once with external offsets): `ok` applied the records to
    /// the external store and stored the next offsets in the same transaction; `fail` applied
    /// nothing; `info` may have applied them.
    mutating func completeProcess(_ operation: InFlightOperation, event: HistoryEvent) throws(HistoryError) {
        let recordsAndOffsets: ([PartitionRecords], [PartitionOffset])
        switch event.value {
        case .process(let records, let offsets): recordsAndOffsets = (records, offsets)
        default: recordsAndOffsets = (operation.processRecords, [])
        }
        switch event.type {
        case .ok:
            try applyProcess(records: recordsAndOffsets.0, offsets: recordsAndOffsets.1, event: event, invokedAt: operation.invocation.index)
        case .info, .invoke:
            markPossiblyApplied(recordsAndOffsets.0.isEmpty ? operation.processRecords : recordsAndOffsets.0)
        case .fail:
            break
        }
    }

    mutating func markPossiblyApplied(_ partitionsRecords: [PartitionRecords]) {
        for partitionRecords in partitionsRecords {
            for record in partitionRecords.records {
                if let value = values.id(of: record.value) { values[value].flags.insert(.isPossiblyApplied) }
            }
        }
    }

    private mutating func applyProcess(records partitionsRecords: [PartitionRecords], offsets: [PartitionOffset], event: HistoryEvent,
                                       invokedAt invocation: Int64) throws(HistoryError) {
        let reference = Self.reference(event)
        statistics.processesOK += 1
        var touched: [Int32] = []
        for partitionRecords in partitionsRecords {
            let partition = try partitionID(partitionRecords.partition, line: event.line)
            touched.append(partition)
            // Only effects completed before this operation was invoked certainly came before it;
            // concurrent ones may have committed in either order (the store's audit knows).
            var highest = effects.highestApplied(in: partition, completedBefore: invocation)
            for record in partitionRecords.records {
                let offset = try checkedOffset(record.offset, line: event.line)
                let value = try valueID(record.value, readAt: offset, in: partition, line: event.line)
                observe(value, partition: partition, offset: offset, by: reference)
                markRead(value, partition: partition, offset: offset, by: reference)
                applyEffect(value, partition: partition, offset: offset, after: highest, by: reference)
                highest = max(highest ?? offset, offset)
            }
            if let highest { effects.noteApplied(highest, in: partition, completedAt: event.index) }
        }
        for stored in offsets {
            let partition = try partitionID(stored.partition, line: event.line)
            touched.append(partition)
            store(try checkedOffset(stored.offset, line: event.line), partition: partition, by: reference)
        }
        var checked: Set<Int32> = []
        for partition in touched where checked.insert(partition).inserted {
            checkStoredOffset(partition, by: reference)
        }
    }

    /// An `ok` commit: to the broker it changes nothing the checker verifies; to the external
    /// store (`"store": "external"`) it sets the stored next offsets.
    mutating func applyCommit(_ event: HistoryEvent, isExternalStore: Bool, reference: OperationReference) throws(HistoryError) {
        guard isExternalStore else {
            statistics.commits += 1
            return
        }
        statistics.externalCommits += 1
        guard case .commit(let offsets) = event.value else { return }
        for stored in offsets {
            let partition = try partitionID(stored.partition, line: event.line)
            store(try checkedOffset(stored.offset, line: event.line), partition: partition, by: reference)
            checkStoredOffset(partition, by: reference)
        }
    }

    /// duplicate-effect (applied before) and out-of-order-effect (first applied after a higher
    /// offset of its partition: `highest`, applied by operations that completed before this one
    /// was invoked, or earlier in this one).
    private mutating func applyEffect(_ value: Int32, partition: Int32, offset: Int64, after highest: Int64?, by reference: OperationReference) {
        statistics.recordsApplied += 1
        if values[value].flags.contains(.isApplied) {
            let finding = Finding.repeatedEffect(value: value, partition: partition, offset: offset, first: effects.appliedBy[value] ?? .none, again: reference)
            record(.duplicateEffect, finding, key: FindingKey(partition: partition, offset: offset, index: reference.index))
        } else {
            if let highest, offset <= highest {
                let finding = Finding.outOfOrderEffect(value: value, partition: partition, offset: offset, after: highest, operation: reference)
                record(.outOfOrderEffect, finding, key: FindingKey(partition: partition, offset: offset, index: reference.index))
            }
            values[value].flags.insert(.isApplied)
            effects.appliedBy[value] = reference
        }
        effects.lastApplied[partition] = offset
    }

    private mutating func store(_ offset: Int64, partition: Int32, by reference: OperationReference) {
        if effects.lastApplied[partition] == nil, effects.initialStored[partition] == nil {
            effects.initialStored[partition] = offset
        }
        effects.stored[partition] = offset
        if offset > effects.highestStored[partition]?.offset ?? -1 {
            effects.highestStored[partition] = (offset, reference)
        }
    }

    /// After effects are applied, the stored next offset must be the last applied offset + 1:
    /// behind, a restarted processor applies records again; ahead, it never applies some.
    private mutating func checkStoredOffset(_ partition: Int32, by reference: OperationReference) {
        guard let lastApplied = effects.lastApplied[partition] else { return }
        let stored = effects.stored[partition] ?? -1
        guard stored != lastApplied + 1 else { return }
        let finding = Finding.storedOffset(partition: partition, stored: stored, lastApplied: lastApplied, operation: reference)
        record(stored <= lastApplied ? .duplicateEffect : .missingEffect, finding, key: FindingKey(partition: partition, offset: max(stored, 0), index: reference.index))
    }

    /// missing-effect: an input known to be in the log below the highest stored next offset
    /// (and at or above where the processor was told to start) that no `ok` process applied
    /// and no process of unknown outcome may have applied. "Known to be in the log": its send
    /// was acknowledged, or a consumer read it (and its send did not fail).
    mutating func findMissingEffects() {
        for (partition, stored) in effects.highestStored.sorted(by: { $0.key < $1.key }) {
            let start = effects.initialStored[partition] ?? 0
            let log = partitions[partition].log
            var missing: [(offset: Int64, value: Int32)] = []
            log.forEachEntry(in: start..<max(start, stored.offset)) { offset, value in
                let valueRecord = values[value]
                if valueRecord.home == partition,
                    !valueRecord.flags.contains(.isApplied), !valueRecord.flags.contains(.isPossiblyApplied),
                    valueRecord.status == .acknowledged || (valueRecord.status != .failed && valueRecord.flags.contains(.isRead))
                {
                    missing.append((offset, value))
                }
                return true
            }
            for (offset, value) in missing {
                let finding = Finding.missingEffect(value: value, partition: partition, offset: offset, stored: stored.offset, storedBy: stored.operation)
                record(.missingEffect, finding, key: FindingKey(partition: partition, offset: offset, index: stored.operation.index))
            }
        }
    }
}
