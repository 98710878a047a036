import RillFormat

extension HistoryGenerator {
    mutating func invoke(_ worker: Int) {
        switch workers[worker].role {
        case .producer: invokeSend(worker)
        case .consumer: invokeConsumerOperation(worker)
        case .processor: invokeProcessorOperation(worker)
        }
    }

    mutating func complete(_ worker: Int) {
        guard let pending = workers[worker].pending else { return }
        workers[worker].pending = nil
        let process = workers[worker].process
        switch pending {
        case .send(let send): completeSend(send, process: process)
        case .poll: completePoll(worker)
        case .assign(let partitions, let seek): completeAssign(worker, partitions: partitions, seek: seek)
        case .subscribe:
            emit(process, .ok, .subscribe, .subscribe(topics: ["t"]))
            workers[worker].isReady = true
            rebalanceGroup()
        case .commit(let offsets): completeCommit(worker, offsets: offsets)
        case .process(let records, let offsets): completeProcess(worker, records: records, offsets: offsets)
        }
    }

    // MARK: Producers

    /// Records are appended to the log when the send is invoked (a consumer may read them before
    /// the acknowledgement arrives); a send that will fail is never appended.
    private mutating func invokeSend(_ worker: Int) {
        let count = Int.random(in: 1...Swift.max(1, configuration.maximumRecordsPerSend), using: &random)
        let roll = Double.random(in: 0..<1, using: &random)
        let outcome: SendOutcome =
            roll < configuration.failedSendProbability ? .failed
            : roll < configuration.failedSendProbability + configuration.unknownSendProbability
                ? (chance(0.5) ? .unknownWritten : .unknownNotWritten) : .acknowledged
        var send = PendingSend(records: [], outcome: outcome)
        for _ in 0..<count {
            let partition = Int.random(in: 0..<log.count, using: &random)
            let value = nextValue
            nextValue += 1
            var offset: Int?
            if outcome == .acknowledged || outcome == .unknownWritten {
                offset = log[partition].count
                log[partition].append(value)
            }
            send.records.append((partition, value, offset))
        }
        let records = send.records.map { SentRecord(partition: Self.partitionName($0.partition), value: Self.valueName($0.value)) }
        emit(workers[worker].process, .invoke, .send, .send(records))
        workers[worker].pending = .send(send)
    }

    private mutating func completeSend(_ send: PendingSend, process: Int64) {
        var records: [SentRecord] = []
        for record in send.records {
            var offset = record.offset.map { Offset(Int64($0)) }
            if send.outcome != .acknowledged || chance(configuration.missingOffsetProbability) { offset = nil }
            records.append(SentRecord(partition: Self.partitionName(record.partition), value: Self.valueName(record.value), offset: offset))
        }
        switch send.outcome {
        case .acknowledged: emit(process, .ok, .send, .send(records))
        case .failed: emit(process, .fail, .send, .send(records))
        case .unknownWritten, .unknownNotWritten: emit(process, .info, .send, .send(records))
        }
    }

    // MARK: Consumers

    private mutating func invokeConsumerOperation(_ worker: Int) {
        let process = workers[worker].process
        if !workers[worker].isReady || (configuration.consumerMode == .assign && chance(0.03)) {
            if configuration.consumerMode == .subscribe {
                emit(process, .invoke, .subscribe, .subscribe(topics: ["t"]))
                workers[worker].pending = .subscribe
            } else {
                invokeAssign(worker)
            }
            return
        }
        if chance(0.15) {
            let offsets = workers[worker].positions.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            emit(process, .invoke, .commit, .commit(offsets.map { PartitionOffset(partition: Self.partitionName($0.0), offset: Offset(Int64($0.1))) }))
            workers[worker].pending = .commit(offsets)
            return
        }
        emit(process, .invoke, .poll, .none)
        workers[worker].pending = .poll
    }

    private mutating func invokeAssign(_ worker: Int) {
        var partitions = (0..<log.count).filter { _ in chance(0.7) }
        if partitions.isEmpty { partitions = [Int.random(in: 0..<log.count, using: &random)] }
        let seek: SeekPosition? = [SeekPosition.beginning, .committed, .end, .beginning].randomElement(using: &random)
        emit(workers[worker].process, .invoke, .assign, .assign(partitions: partitions.map(Self.partitionName), seek: seek))
        workers[worker].pending = .assign(partitions, seek)
    }

    private mutating func completeAssign(_ worker: Int, partitions: [Int], seek: SeekPosition?) {
        emit(workers[worker].process, .ok, .assign, .assign(partitions: partitions.map(Self.partitionName), seek: seek))
        workers[worker].isReady = true
        workers[worker].partitions = partitions
        workers[worker].positions = [:]
        for partition in partitions {
            switch workers[worker].role {
            case .processor:
                workers[worker].positions[partition] = storedOffsets[partition] ?? 0
            default:
                switch seek ?? .committed {
                case .beginning: workers[worker].positions[partition] = 0
                case .end: workers[worker].positions[partition] = log[partition].count
                case .committed: workers[worker].positions[partition] = committed(worker)[partition] ?? 0
                }
            }
        }
    }

    private func committed(_ worker: Int) -> [Int: Int] {
        let consumer = worker - configuration.producers
        return committed.indices.contains(consumer) ? committed[consumer] : [:]
    }

    private mutating func completeCommit(_ worker: Int, offsets: [(Int, Int)]) {
        emit(workers[worker].process, .ok, .commit, .commit(offsets.map { PartitionOffset(partition: Self.partitionName($0.0), offset: Offset(Int64($0.1))) }))
        for (partition, offset) in offsets {
            if configuration.consumerMode == .subscribe {
                groupCommitted[partition] = offset
            } else {
                let consumer = worker - configuration.producers
                if committed.indices.contains(consumer) { committed[consumer][partition] = offset }
            }
        }
    }

    /// Reads up to `maximumRecordsPerPoll` records per assigned partition, contiguously from the
    /// consumer's position. In subscribe mode the group's new assignment is applied first and
    /// reported in the poll's `rebalance` field.
    private mutating func completePoll(_ worker: Int) {
        let process = workers[worker].process
        if chance(0.01) {
            emit(process, chance(0.5) ? .fail : .info, .poll, .none)
            return
        }
        let rebalance = configuration.consumerMode == .subscribe ? applyAssignment(worker) : []
        var result: [PartitionRecords] = []
        for partition in workers[worker].partitions {
            let position = workers[worker].positions[partition] ?? 0
            let available = log[partition].count - position
            let count = available > 0 ? Int.random(in: 0...Swift.min(available, Swift.max(1, configuration.maximumRecordsPerPoll)), using: &random) : 0
            guard count > 0 || chance(0.2) else { continue }
            let records = (position..<(position + count)).map { ReadRecord(offset: Offset(Int64($0)), value: Self.valueName(log[partition][$0])) }
            result.append(PartitionRecords(partition: Self.partitionName(partition), records: records))
            workers[worker].positions[partition] = position + count
        }
        emit(process, .ok, .poll, .poll(result), rebalance: rebalance)
    }

    /// Subscribe mode: the members (ready consumers) share the partitions round-robin.
    mutating func rebalanceGroup() {
        let members = workers.indices.filter { workers[$0].role == .consumer && workers[$0].isReady }
        targetAssignment = [:]
        for member in members { targetAssignment[member] = [] }
        guard !members.isEmpty else { return }
        for partition in 0..<log.count { targetAssignment[members[partition % members.count], default: []].append(partition) }
    }

    /// Moves a member to the group's assignment; newly assigned partitions start at the group's
    /// committed offsets (which may lag what this consumer read before: a rewind, excused).
    private mutating func applyAssignment(_ worker: Int) -> [RebalanceChange] {
        let target = targetAssignment[worker] ?? []
        let current = workers[worker].partitions
        let revoked = current.filter { !target.contains($0) }
        let assigned = target.filter { !current.contains($0) }
        var changes: [RebalanceChange] = []
        if !revoked.isEmpty { changes.append(RebalanceChange(kind: "revoked", partitions: revoked.map(Self.partitionName))) }
        if !assigned.isEmpty { changes.append(RebalanceChange(kind: "assigned", partitions: assigned.map(Self.partitionName))) }
        for partition in revoked { workers[worker].positions[partition] = nil }
        for partition in assigned { workers[worker].positions[partition] = groupCommitted[partition] ?? 0 }
        workers[worker].partitions = target
        return changes
    }

    // MARK: Exactly-once processors

    /// A processor owns partitions p with p % processors == its number; it reads from the
    /// store's offsets and applies records with the next offsets in one transaction.
    private mutating func invokeProcessorOperation(_ worker: Int) {
        let process = workers[worker].process
        guard workers[worker].isReady else {
            let number = worker - configuration.producers - configuration.consumers
            let partitions = (0..<log.count).filter { $0 % Swift.max(1, configuration.processors) == number }
            emit(process, .invoke, .assign, .assign(partitions: partitions.map(Self.partitionName), seek: nil))
            workers[worker].pending = .assign(partitions, nil)
            return
        }
        var records: [(Int, [(Int, Int64)])] = []
        var offsets: [(Int, Int)] = []
        for partition in workers[worker].partitions {
            let position = workers[worker].positions[partition] ?? 0
            let count = Swift.min(log[partition].count - position, Int.random(in: 0...Swift.max(1, configuration.maximumRecordsPerPoll), using: &random))
            guard count > 0 else { continue }
            records.append((partition, (position..<(position + count)).map { ($0, log[partition][$0]) }))
            offsets.append((partition, position + count))
        }
        emit(process, .invoke, .process, Self.processValue(records, offsets))
        workers[worker].pending = .process(records: records, offsets: offsets)
    }

    private static func processValue(_ records: [(Int, [(Int, Int64)])], _ offsets: [(Int, Int)]) -> OperationValue {
        .process(
            records: records.map { partition, entries in
                PartitionRecords(partition: partitionName(partition), records: entries.map { ReadRecord(offset: Offset(Int64($0.0)), value: valueName($0.1)) })
            },
            offsets: offsets.map { PartitionOffset(partition: partitionName($0.0), offset: Offset(Int64($0.1))) }
        )
    }

    /// ok: applied and stored; fail: nothing applied; info: applied or not, and the processor
    /// restarts from the store (a new process), as a real one must after an unknown outcome.
    private mutating func completeProcess(_ worker: Int, records: [(Int, [(Int, Int64)])], offsets: [(Int, Int)]) {
        let process = workers[worker].process
        let roll = Double.random(in: 0..<1, using: &random)
        if roll < 0.02 {
            emit(process, .fail, .process, Self.processValue(records, offsets))
            for (partition, _) in offsets { workers[worker].positions[partition] = storedOffsets[partition] ?? 0 }
        } else if roll < 0.05 {
            emit(process, .info, .process, Self.processValue(records, offsets))
            if chance(0.5) { for (partition, offset) in offsets { storedOffsets[partition] = offset } }
            crash(worker)
        } else {
            emit(process, .ok, .process, Self.processValue(records, offsets))
            for (partition, offset) in offsets {
                storedOffsets[partition] = offset
                workers[worker].positions[partition] = offset
            }
        }
    }

    // MARK: Final reads

    mutating func startFinalReads() {
        var reader = Worker(role: .consumer, process: newProcess())
        let partitions = Array(0..<log.count)
        emit(reader.process, .invoke, .assign, .assign(partitions: partitions.map(Self.partitionName), seek: .beginning))
        emit(reader.process, .ok, .assign, .assign(partitions: partitions.map(Self.partitionName), seek: .beginning))
        reader.partitions = partitions
        for partition in partitions { reader.positions[partition] = 0 }
        finalReader = reader
        phase = .finalReads
    }

    /// Large polls until the final reader has read every partition to its end.
    mutating func finalRead() -> Bool {
        guard var reader = finalReader else { return false }
        let unread = reader.partitions.filter { (reader.positions[$0] ?? 0) < log[$0].count }
        guard !unread.isEmpty else {
            phase = .done
            finalReader = nil
            return false
        }
        emit(reader.process, .invoke, .poll, .none)
        var result: [PartitionRecords] = []
        for partition in unread {
            let position = reader.positions[partition] ?? 0
            let end = Swift.min(log[partition].count, position + 64 * Swift.max(1, configuration.maximumRecordsPerPoll))
            result.append(PartitionRecords(
                partition: Self.partitionName(partition),
                records: (position..<end).map { ReadRecord(offset: Offset(Int64($0)), value: Self.valueName(log[partition][$0])) }
            ))
            reader.positions[partition] = end
        }
        emit(reader.process, .ok, .poll, .poll(result))
        finalReader = reader
        return true
    }
}
