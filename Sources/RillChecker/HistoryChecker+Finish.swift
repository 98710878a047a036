extension HistoryChecker {
    /// Ends the history: operations still in flight become `info`, the analyses that need the
    /// whole log run, and the result is built. Call once, after the last `receive(_:)`.
    ///
    /// O(values + offsets observed + candidates × log(pages)).
    public mutating func finish() -> CheckResult {
        resolveInFlightAtEnd()
        for index in partitions.partitions.indices { partitions.partitions[index].log.seal() }
        let unknownReads = takeUnknownReads()
        findLostWritesAndUnseen()
        findDuplicates()
        findInconsistentOffsets()
        resolveSkipCandidates()
        resolveSendOrderCandidates()
        findMissingEffects()
        statistics.processes = processes.count
        statistics.partitions = partitions.count
        statistics.values = values.count
        return buildResult(unknownReads: unknownReads)
    }

    private mutating func resolveInFlightAtEnd() {
        // Slots are in order of first appearance: deterministic.
        for slot in processes.states.indices {
            guard let operation = processes.states[slot].inFlight else { continue }
            statistics.inFlightAtEnd += 1
            processes.states[slot].inFlight = nil
            resolveAsUnknown(operation)
        }
    }

    /// Reads of values no send carried, sorted; they are counted and noted, not anomalies.
    private mutating func takeUnknownReads() -> [(value: Int32, read: PendingRead)] {
        let unknown = pendingReads.filter { values[$0.key].status == .notSent }
            .map { (value: $0.key, read: $0.value) }
            .sorted { ($0.read.partition, $0.read.offset, $0.value) < ($1.read.partition, $1.read.offset, $1.value) }
        statistics.unknownValuesRead = unknown.count
        pendingReads.removeAll()
        return unknown
    }

    /// The read frontier of a partition is the highest offset consumers must have passed:
    /// for each value read there, its lowest observed offset (conservative when a value was
    /// written twice), maximised. An acknowledged value never read is lost when its offset is at
    /// or below the frontier, and unseen otherwise (or when its offset is unknown).
    private mutating func findLostWritesAndUnseen() {
        var frontier = partitions.partitions.map(\.foreignReadFrontier)
        for record in values.records where record.flags.contains(.isRead) && record.home >= 0 && record.lowestOffset != .max {
            frontier[Int(record.home)] = max(frontier[Int(record.home)], record.lowestOffset)
        }
        for id in 0..<Int32(values.count) {
            let record = values[id]
            guard record.status == .acknowledged, !record.flags.contains(.isRead), record.home >= 0 else { continue }
            let send = sendReference(of: id)
            if record.firstOffset >= 0, record.firstOffset <= frontier[Int(record.home)] {
                let finding = Finding.lostWrite(value: id, frontier: frontier[Int(record.home)])
                self.record(.lostWrite, finding, key: FindingKey(partition: record.home, offset: record.firstOffset, index: send.index))
            } else {
                let offset = record.firstOffset >= 0 ? record.firstOffset : .max
                self.record(.unseen, .unseen(value: id), key: FindingKey(partition: record.home, offset: offset, index: send.index))
            }
        }
    }

    private mutating func findDuplicates() {
        for value in extraPositions.keys.sorted() {
            guard let extra = extraPositions[value] else { continue }
            let valueRecord = values[value]
            let positionCount = extra.count + (valueRecord.firstOffset >= 0 ? 1 : 0)
            guard positionCount >= 2 else { continue }
            let lowest = valueRecord.firstOffset >= 0 ? valueRecord.lowestOffset : extra.map(\.offset).min() ?? 0
            let partition = valueRecord.firstOffset >= 0 ? valueRecord.home : extra[0].partition
            record(.duplicate, .duplicate(value: value), key: FindingKey(partition: partition, offset: lowest, index: extra[0].observer.index))
        }
    }

    private mutating func findInconsistentOffsets() {
        for key in conflicts.keys.sorted() {
            let index = conflicts[key]?.first { !$0.observer.isNone }?.observer.index ?? -1
            record(.inconsistentOffsets, .inconsistentOffset(partition: key.partition, offset: key.offset), key: FindingKey(partition: key.partition, offset: key.offset, index: index))
        }
    }

    /// A jump from offset a to offset b skipped records when some value was observed strictly
    /// between them — now that every acknowledgement and read is known.
    private mutating func resolveSkipCandidates() {
        let candidates = skipCandidates
        skipCandidates = []
        for (transition, isInternal) in candidates {
            let skipped = partitions[transition.partition].log.count(in: (transition.from + 1)..<transition.to)
            guard skipped > 0 else { continue }
            record(
                isInternal ? .internalPollSkip : .pollSkip, .skip(transition, skipped: skipped),
                key: FindingKey(partition: transition.partition, offset: transition.from, index: transition.current.index)
            )
        }
    }

    /// Send pairs whose acknowledgements lacked an offset, placed where consumers read them.
    private mutating func resolveSendOrderCandidates() {
        let candidates = sendOrderCandidates
        sendOrderCandidates = []
        for (pair, isInternal) in candidates {
            var resolved = pair
            if resolved.earlierOffset < 0 { resolved.earlierOffset = knownOffset(of: pair.earlierValue, in: pair.partition) }
            if resolved.laterOffset < 0 { resolved.laterOffset = knownOffset(of: pair.laterValue, in: pair.partition) }
            guard resolved.earlierOffset >= 0, resolved.laterOffset >= 0, resolved.laterOffset <= resolved.earlierOffset else { continue }
            reportSendOrder(resolved, isInternal: isInternal)
        }
    }

    /// The lowest offset `value` was observed at in `partition`, or -1.
    func knownOffset(of value: Int32, in partition: Int32) -> Int64 {
        let record = values[value]
        guard record.home == partition, record.lowestOffset != .max else { return -1 }
        return record.lowestOffset
    }

    func sendReference(of value: Int32) -> OperationReference {
        let row = values[value].sendOperation
        return row >= 0 ? sendOperations[Int(row)] : .none
    }

    private mutating func buildResult(unknownReads: [(value: Int32, read: PendingRead)]) -> CheckResult {
        var anomalies: [AnomalyName: AnomalyReport] = [:]
        for name in AnomalyName.allCases {
            guard var collector = collectors[name], collector.total > 0 else { continue }
            let examples = collector.examples().map { example(for: $0, anomaly: name) }
            anomalies[name] = AnomalyReport(count: collector.total, examples: examples)
        }
        let allowed = configuration.effectiveAllowedAnomalies
        let isValid = anomalies.keys.allSatisfy { allowed.contains($0) }
        return CheckResult(
            isValid: isValid, anomalies: anomalies, statistics: statistics, configuration: configuration,
            notes: notes(unknownReads: unknownReads)
        )
    }

    private func notes(unknownReads: [(value: Int32, read: PendingRead)]) -> [String] {
        var notes: [String] = []
        if !unknownReads.isEmpty {
            let examples = unknownReads.prefix(3).map { entry in
                "\"\(values.name(entry.value))\" at offset \(entry.read.offset) of \(partitions.name(entry.read.partition)) (read by process \(entry.read.reader.process) at index \(entry.read.reader.index))"
            }
            notes.append("\(unknownReads.count) value(s) were read that no send in the history carried, e.g. \(examples.joined(separator: ", ")). The topics should hold only this history's values; records left by an earlier run make the lost-write and skip checks less precise.")
        }
        if !ignoredFunctions.isEmpty {
            notes.append("\(statistics.ignoredOperations) operation(s) with an f the history format does not define were ignored: \(ignoredFunctions.sorted().joined(separator: ", ")).")
        }
        if let storeAuditRows {
            notes.append("The external store was audited: \(storeAuditRows) applied row(s) checked against the history's sends (every acknowledged send applied exactly once, in partition order, stored next offsets = last applied + 1).")
        }
        if let line = firstTimeReversalLine {
            notes.append("\(statistics.timeReversals) event(s) have a time before an earlier event's, first at line \(line). Times are only used to locate examples, but the harness's clock or its ordering of events deserves a look.")
        }
        if configuration.consumerMode == .assign, statistics.subscribes > 0 {
            notes.append("The history subscribes consumers, but it was checked in assign mode, so skips and rewinds across rebalances count as anomalies (rill check --subscribe excuses them).")
        }
        return notes
    }
}
