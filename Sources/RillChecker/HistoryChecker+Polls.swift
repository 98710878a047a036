extension HistoryChecker {
    /// An `ok` poll: what one consumer received, per partition in order.
    ///
    /// Rewinds (a record at or before the previous one) are decided at once; jumps forward
    /// become candidates that `finish()` confirms when a record is known to exist in between
    /// (Kafka's offsets may have gaps: transaction markers take offsets consumers never see).
    mutating func applyPoll(_ partitionsRecords: [PartitionRecords], reference: OperationReference, line: Int, state: inout ProcessState) throws(HistoryError) {
        let isSubscribeMode = configuration.consumerMode == .subscribe
        for partitionRecords in partitionsRecords where !partitionRecords.records.isEmpty {
            let partition = try partitionID(partitionRecords.partition, line: line)
            let records = partitionRecords.records
            let isRebalancedNow = !state.rebalancedDuringOperation.isEmpty && state.rebalancedDuringOperation.contains(partition)
            if let position = state.positions[partition] {
                let transition = Finding.Transition(
                    partition: partition, from: position.offset, to: try checkedOffset(records[0].offset, line: line), previous: position.poll,
                    current: reference
                )
                let isExcused = isSubscribeMode && (position.isRebalancedSince || isRebalancedNow)
                checkTransition(transition, isInternal: false, isExcused: isExcused)
            }
            var previousOffset: Int64 = -1
            for record in records {
                let offset = try checkedOffset(record.offset, line: line)
                let value = try valueID(record.value, readAt: offset, in: partition, line: line)
                observe(value, partition: partition, offset: offset, by: reference)
                markRead(value, partition: partition, offset: offset, by: reference)
                if previousOffset >= 0 {
                    let transition = Finding.Transition(partition: partition, from: previousOffset, to: offset, previous: reference, current: reference)
                    checkTransition(transition, isInternal: true, isExcused: isSubscribeMode && isRebalancedNow)
                }
                previousOffset = offset
            }
            statistics.recordsPolled += records.count
            state.positions[partition] = ConsumerPosition(offset: previousOffset, poll: reference)
        }
    }

    private mutating func checkTransition(_ transition: Finding.Transition, isInternal: Bool, isExcused: Bool) {
        guard transition.to <= transition.from || transition.to > transition.from + 1 else { return }
        if isExcused {
            statistics.excusedByRebalance += 1
            return
        }
        if transition.to <= transition.from {
            record(
                isInternal ? .internalNonmonotonicPoll : .nonmonotonicPoll, .rewind(transition),
                key: FindingKey(partition: transition.partition, offset: transition.to, index: transition.current.index)
            )
        } else {
            skipCandidates.append((transition, isInternal))
        }
    }

    /// A consumer returned `value` from `partition`: it is seen; the partition was read this far;
    /// and if its send failed, this is an aborted read.
    mutating func markRead(_ value: Int32, partition: Int32, offset: Int64, by reader: OperationReference) {
        if values[value].home == partition {
            values[value].flags.insert(.isRead)
        } else {
            partitions[partition].foreignReadFrontier = max(partitions[partition].foreignReadFrontier, offset)
        }
        if offset > partitions[partition].highestReadOffset {
            partitions[partition].highestReadOffset = offset
            partitions[partition].highestReader = reader
        }
        switch values[value].status {
        case .failed:
            reportAbortedRead(value, partition: partition, offset: offset, reader: reader)
        case .notSent, .invoked:
            if pendingReads[value] == nil { pendingReads[value] = PendingRead(partition: partition, offset: offset, reader: reader) }
        case .acknowledged, .unknown:
            break
        }
    }
}
