import RillFormat

extension HistoryChecker {
    /// A send's invocation: interns its values and claims them (a value is sent once per history).
    mutating func registerSend(_ records: [SentRecord], event: HistoryEvent, operation: inout InFlightOperation) throws(HistoryError) {
        let row = Int32(sendOperations.count)
        sendOperations.append(Self.reference(event))
        operation.sendOperation = row
        operation.sendValues.reserveCapacity(records.count)
        operation.sendPartitions.reserveCapacity(records.count)
        for record in records {
            let partition = try partitionID(record.partition, line: event.line)
            let value = try valueID(record.value, line: event.line)
            guard values[value].sendOperation < 0 else {
                throw HistoryError(.invalidSequence, line: event.line, "value \"\(record.value)\" is sent a second time; values are unique in a history, so a value identifies its write")
            }
            values[value].sendOperation = row
            values[value].status = .invoked
            if values[value].home < 0 { values[value].home = partition }
            operation.sendValues.append(value)
            operation.sendPartitions.append(partition)
        }
    }

    /// A send's completion: must list the invocation's records; `ok` acknowledges them (at the
    /// offsets given), `fail` says they were never written, `info` leaves them unknown.
    mutating func completeSend(_ operation: InFlightOperation, event: HistoryEvent, state: inout ProcessState) throws(HistoryError) {
        guard case .send(let records) = event.value else { return }
        guard records.count == operation.sendValues.count else {
            throw HistoryError(.invalidSequence, line: event.line, "the send completion lists \(records.count) records but its invocation (line \(operation.line)) sent \(operation.sendValues.count)")
        }
        for (position, record) in records.enumerated()
        where values.name(operation.sendValues[position]) != record.value || partitions.name(operation.sendPartitions[position]) != record.partition {
            throw HistoryError(.invalidSequence, line: event.line, "the send completion's record \(position + 1) (\(record.partition), \"\(record.value)\") is not the one its invocation (line \(operation.line)) sent")
        }
        let reference = Self.reference(event)
        sendOperations[Int(operation.sendOperation)] = reference
        switch event.type {
        case .ok:
            statistics.sendsOK += 1
            statistics.recordsAcknowledged += records.count
            for (position, record) in records.enumerated() {
                let value = operation.sendValues[position]
                values[value].status = .acknowledged
                pendingReads.removeValue(forKey: value)
                if let offset = record.offset {
                    observe(value, partition: operation.sendPartitions[position], offset: try checkedOffset(offset, line: event.line), by: reference)
                }
            }
            checkSendOrder(records, operation: operation, reference: reference, state: &state)
        case .fail:
            statistics.sendsFailed += 1
            for value in operation.sendValues {
                values[value].status = .failed
                if let read = pendingReads.removeValue(forKey: value) {
                    reportAbortedRead(value, partition: read.partition, offset: read.offset, reader: read.reader)
                }
            }
        case .info, .invoke:
            resolveAsUnknown(operation)
        }
    }

    /// nonmonotonic-send and int-nonmonotonic-send: per partition, the records of one producer
    /// land in send order — inside this send, and after the previous acknowledged send.
    private mutating func checkSendOrder(_ records: [SentRecord], operation: InFlightOperation, reference: OperationReference, state: inout ProcessState) {
        // The last record per partition in this send: a short list, sends have few records.
        var lastInThisSend: [(partition: Int32, position: SendPosition)] = []
        for (position, record) in records.enumerated() {
            let partition = operation.sendPartitions[position]
            let current = SendPosition(value: operation.sendValues[position], offset: record.offset?.rawValue ?? -1, operation: reference)
            if let earlier = lastInThisSend.firstIndex(where: { $0.partition == partition }) {
                compareSends(lastInThisSend[earlier].position, current, partition: partition, isInternal: true)
                lastInThisSend[earlier].position = current
            } else {
                if let earlier = state.lastSends[partition] { compareSends(earlier, current, partition: partition, isInternal: false) }
                lastInThisSend.append((partition, current))
            }
        }
        for (partition, last) in lastInThisSend { state.lastSends[partition] = last }
    }

    private mutating func compareSends(_ earlier: SendPosition, _ later: SendPosition, partition: Int32, isInternal: Bool) {
        let pair = Finding.SendPair(
            partition: partition, earlierValue: earlier.value, laterValue: later.value, earlierOffset: earlier.offset,
            laterOffset: later.offset, earlier: earlier.operation, later: later.operation
        )
        guard earlier.offset >= 0, later.offset >= 0 else {
            // The acknowledgement did not say; decide at the end from where consumers read them.
            sendOrderCandidates.append((pair, isInternal))
            return
        }
        if later.offset <= earlier.offset { reportSendOrder(pair, isInternal: isInternal) }
    }

    mutating func reportSendOrder(_ pair: Finding.SendPair, isInternal: Bool) {
        record(
            isInternal ? .internalNonmonotonicSend : .nonmonotonicSend, .sendOrder(pair),
            key: FindingKey(partition: pair.partition, offset: pair.laterOffset, index: pair.later.index)
        )
    }

    mutating func reportAbortedRead(_ value: Int32, partition: Int32, offset: Int64, reader: OperationReference) {
        guard !values[value].flags.contains(.isAbortedReadReported) else { return }
        values[value].flags.insert(.isAbortedReadReported)
        record(.abortedRead, .abortedRead(value: value, partition: partition, offset: offset, reader: reader), key: FindingKey(partition: partition, offset: offset, index: reader.index))
    }

    /// Notes that `value` was observed at `offset` of `partition` (acknowledged there or read
    /// there): fills the partition's log, and spots inconsistent offsets and duplicates.
    mutating func observe(_ value: Int32, partition: Int32, offset: Int64, by observer: OperationReference) {
        if let existing = partitions[partition].log.record(value, at: offset), existing != value {
            let key = OffsetKey(partition: partition, offset: offset)
            var observations = conflicts[key] ?? [Observation(value: existing, observer: .none)]
            if !observations.contains(where: { $0.value == value }) {
                observations.append(Observation(value: value, observer: observer))
                conflicts[key] = observations
            }
        }
        var record = values[value]
        if record.home < 0 { record.home = partition }
        if record.home == partition, record.firstOffset < 0 {
            record.firstOffset = offset
            record.lowestOffset = offset
            values[value] = record
            return
        }
        if record.home == partition, offset == record.firstOffset { return }
        if record.home == partition { record.lowestOffset = min(record.lowestOffset, offset) }
        values[value] = record
        let position = Position(partition: partition, offset: offset, observer: observer)
        var positions = extraPositions[value] ?? []
        if !positions.contains(where: { $0.partition == partition && $0.offset == offset }) {
            positions.append(position)
            extraPositions[value] = positions
        }
    }
}
