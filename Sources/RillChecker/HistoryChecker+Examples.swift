/// Turning the kept findings into the verdict's examples: fields, a sentence, a log window.
extension HistoryChecker {
    func example(for finding: Finding, anomaly: AnomalyName) -> AnomalyExample {
        switch finding {
        case .lostWrite(let value, let frontier): lostWriteExample(value, frontier: frontier)
        case .unseen(let value): unseenExample(value)
        case .duplicate(let value): duplicateExample(value)
        case .inconsistentOffset(let partition, let offset): inconsistentExample(partition, offset: offset)
        case .skip(let transition, let skipped): skipExample(transition, skipped: skipped, isInternal: anomaly == .internalPollSkip)
        case .rewind(let transition): rewindExample(transition, isInternal: anomaly == .internalNonmonotonicPoll)
        case .sendOrder(let pair): sendOrderExample(pair, isInternal: anomaly == .internalNonmonotonicSend)
        case .abortedRead(let value, let partition, let offset, let reader): abortedReadExample(value, partition: partition, offset: offset, reader: reader)
        case .repeatedEffect(let value, let partition, let offset, let first, let again):
            repeatedEffectExample(value, partition: partition, offset: offset, first: first, again: again)
        case .storedOffset(let partition, let stored, let lastApplied, let operation):
            storedOffsetExample(partition, stored: stored, lastApplied: lastApplied, operation: operation)
        case .missingEffect(let value, let partition, let offset, let stored, let storedBy):
            missingEffectExample(value, partition: partition, offset: offset, stored: stored, storedBy: storedBy)
        case .outOfOrderEffect(let value, let partition, let offset, let after, let operation):
            outOfOrderEffectExample(value, partition: partition, offset: offset, after: after, operation: operation)
        case .store(let finding): storeExample(finding)
        }
    }

    private func name(_ value: Int32) -> String { values.name(value) }
    private func partitionName(_ partition: Int32) -> String { partitions.name(partition) }

    private static func cite(_ reference: OperationReference) -> String {
        reference.isNone ? "an unknown operation" : "process \(reference.process) at index \(reference.index)"
    }

    private func lostWriteExample(_ value: Int32, frontier: Int64) -> AnomalyExample {
        let record = values[value]
        let send = sendReference(of: value)
        let reader = partitions[record.home].highestReader
        let partition = partitionName(record.home)
        return AnomalyExample(
            fields: [
                ExampleField("partition", .string(partition)), ExampleField("value", .string(name(value))),
                ExampleField("offset", .integer(record.firstOffset)), ExampleField("sent-by", .integer(send.process.rawValue)),
                ExampleField("index", .integer(send.index)), ExampleField("time", .integer(send.time)),
                ExampleField("read-up-to", .integer(frontier)),
                ExampleField("highest-read-offset", .integer(partitions[record.home].highestReadOffset)),
                ExampleField("read-by", .integer(reader.process.rawValue)), ExampleField("read-index", .integer(reader.index)),
            ],
            summary: "\"\(name(value))\" was acknowledged at offset \(record.firstOffset) of \(partition) (send by \(Self.cite(send))), but no consumer ever returned it, although consumers read \(partition) past it, up to offset \(partitions[record.home].highestReadOffset) (\(Self.cite(reader))).",
            window: window(record.home, subjects: [record.firstOffset])
        )
    }

    private func unseenExample(_ value: Int32) -> AnomalyExample {
        let record = values[value]
        let send = sendReference(of: value)
        let partition = partitionName(record.home)
        let offset: ExampleValue = record.firstOffset >= 0 ? .integer(record.firstOffset) : .null
        let place = record.firstOffset >= 0 ? "at offset \(record.firstOffset) of \(partition)" : "to \(partition) (offset not reported)"
        let readUpTo = partitions[record.home].highestReadOffset
        let reading = readUpTo >= 0 ? "consumers read \(partition) only up to offset \(readUpTo)" : "no consumer read \(partition)"
        return AnomalyExample(
            fields: [
                ExampleField("partition", .string(partition)), ExampleField("value", .string(name(value))), ExampleField("offset", offset),
                ExampleField("sent-by", .integer(send.process.rawValue)), ExampleField("index", .integer(send.index)),
                ExampleField("time", .integer(send.time)),
            ],
            summary: "\"\(name(value))\" was acknowledged \(place) (send by \(Self.cite(send))) and no consumer returned it by the end of the history; \(reading).",
            window: record.firstOffset >= 0 ? window(record.home, subjects: [record.firstOffset]) : nil
        )
    }

    private func duplicateExample(_ value: Int32) -> AnomalyExample {
        let record = values[value]
        let extra = extraPositions[value] ?? []
        var homeOffsets = extra.filter { $0.partition == record.home }.map(\.offset)
        if record.firstOffset >= 0 { homeOffsets.append(record.firstOffset) }
        homeOffsets.sort()
        let elsewhere = extra.filter { $0.partition != record.home }.map { "\(partitionName($0.partition)):\($0.offset)" }
        let observers = extra.map(\.observer)
        var fields = [
            ExampleField("partition", .string(partitionName(record.home))), ExampleField("value", .string(name(value))),
            ExampleField("offsets", .integers(homeOffsets)),
        ]
        if !elsewhere.isEmpty { fields.append(ExampleField("elsewhere", .strings(elsewhere))) }
        fields += [
            ExampleField("sent-by", .integer(sendReference(of: value).process.rawValue)),
            ExampleField("processes", .integers(observers.map(\.process.rawValue))), ExampleField("indexes", .integers(observers.map(\.index))),
            ExampleField("times", .integers(observers.map(\.time))),
        ]
        let places = homeOffsets.map(String.init).joined(separator: ", ") + (elsewhere.isEmpty ? "" : "; also at " + elsewhere.joined(separator: ", "))
        return AnomalyExample(
            fields: fields,
            summary: "\"\(name(value))\" (sent once, by \(Self.cite(sendReference(of: value)))) appears at more than one offset of \(partitionName(record.home)): \(places); the second position was seen by \(Self.cite(observers.first ?? .none)).",
            window: homeOffsets.isEmpty ? nil : window(record.home, subjects: homeOffsets)
        )
    }

    private func inconsistentExample(_ partition: Int32, offset: Int64) -> AnomalyExample {
        var observations = conflicts[OffsetKey(partition: partition, offset: offset)] ?? []
        // The first value's observer is not stored; its acknowledgement at this offset, if any, is.
        if let first = observations.first, first.observer.isNone, values[first.value].home == partition, values[first.value].firstOffset == offset {
            observations[0].observer = sendReference(of: first.value)
        }
        let known = observations.map(\.observer).filter { !$0.isNone }
        let quoted = observations.map { "\"\(name($0.value))\"" }.joined(separator: " and ")
        return AnomalyExample(
            fields: [
                ExampleField("partition", .string(partitionName(partition))), ExampleField("offset", .integer(offset)),
                ExampleField("values", .strings(observations.map { name($0.value) })),
                ExampleField("processes", .integers(known.map(\.process.rawValue))), ExampleField("indexes", .integers(known.map(\.index))),
                ExampleField("times", .integers(known.map(\.time))),
            ],
            summary: "Offset \(offset) of \(partitionName(partition)) was observed holding \(quoted) (by \(known.map { Self.cite($0) }.joined(separator: "; "))): the log diverged.",
            window: window(partition, subjects: [offset])
        )
    }

    private func skipExample(_ transition: Finding.Transition, skipped: Int, isInternal: Bool) -> AnomalyExample {
        let log = partitions[transition.partition].log
        let listed = log.entries(in: (transition.from + 1)..<transition.to, limit: CheckerLimits.maximumSkippedOffsetsListed)
        let partition = partitionName(transition.partition)
        var fields = [
            ExampleField("partition", .string(partition)), ExampleField("process", .integer(transition.current.process.rawValue)),
            ExampleField("offsets", .integers([transition.from, transition.to])), ExampleField("skipped-count", .integer(Int64(skipped))),
            ExampleField("skipped-offsets", .integers(listed.map(\.offset))), ExampleField("skipped-values", .strings(listed.map { name($0.id) })),
        ]
        fields += citation(earlier: transition.previous, later: transition.current, isInternal: isInternal)
        let within = isInternal ? "inside one poll (\(Self.cite(transition.current)))" : "between its poll at index \(transition.previous.index) and its poll at index \(transition.current.index)"
        return AnomalyExample(
            fields: fields,
            summary: "Process \(transition.current.process) read offset \(transition.from) of \(partition) and then offset \(transition.to) \(within), skipping \(skipped) record(s) known to exist, e.g. \(listed.map { "\"\(name($0.id))\" at \($0.offset)" }.joined(separator: ", ")).",
            window: window(transition.partition, subjects: [], boundaries: [transition.from, transition.to], skipped: (transition.from + 1)..<transition.to)
        )
    }

    private func rewindExample(_ transition: Finding.Transition, isInternal: Bool) -> AnomalyExample {
        let partition = partitionName(transition.partition)
        var fields = [
            ExampleField("partition", .string(partition)), ExampleField("process", .integer(transition.current.process.rawValue)),
            ExampleField("offsets", .integers([transition.from, transition.to])),
        ]
        fields += citation(earlier: transition.previous, later: transition.current, isInternal: isInternal)
        let what = transition.to == transition.from ? "read offset \(transition.from) of \(partition) again" : "went back to offset \(transition.to) of \(partition)"
        let within = isInternal ? "inside one poll (\(Self.cite(transition.current)))" : "in its poll at index \(transition.current.index), after reading up to offset \(transition.from) in its poll at index \(transition.previous.index)"
        return AnomalyExample(
            fields: fields,
            summary: "Process \(transition.current.process) \(what) \(within).",
            window: window(transition.partition, subjects: [], boundaries: [transition.from, transition.to])
        )
    }

    /// The operations an example is about: `later` alone when the anomaly is inside it, else
    /// both, earlier first.
    private func citation(earlier: OperationReference, later: OperationReference, isInternal: Bool) -> [ExampleField] {
        if isInternal {
            return [ExampleField("index", .integer(later.index)), ExampleField("time", .integer(later.time))]
        }
        return [
            ExampleField("indexes", .integers([earlier.index, later.index])),
            ExampleField("times", .integers([earlier.time, later.time])),
        ]
    }

    private func sendOrderExample(_ pair: Finding.SendPair, isInternal: Bool) -> AnomalyExample {
        let partition = partitionName(pair.partition)
        var fields = [
            ExampleField("partition", .string(partition)), ExampleField("process", .integer(pair.later.process.rawValue)),
            ExampleField("values", .strings([name(pair.earlierValue), name(pair.laterValue)])),
            ExampleField("offsets", .integers([pair.earlierOffset, pair.laterOffset])),
        ]
        fields += citation(earlier: pair.earlier, later: pair.later, isInternal: isInternal)
        let sends = isInternal ? "in one send (index \(pair.later.index))" : "in its send at index \(pair.earlier.index) and then its send at index \(pair.later.index)"
        return AnomalyExample(
            fields: fields,
            summary: "Process \(pair.later.process) sent \"\(name(pair.earlierValue))\" and then \"\(name(pair.laterValue))\" to \(partition) \(sends), but they landed at offsets \(pair.earlierOffset) and \(pair.laterOffset): the later record is not after the earlier one.",
            window: window(pair.partition, subjects: [pair.earlierOffset, pair.laterOffset])
        )
    }

    private func abortedReadExample(_ value: Int32, partition: Int32, offset: Int64, reader: OperationReference) -> AnomalyExample {
        let send = sendReference(of: value)
        return AnomalyExample(
            fields: [
                ExampleField("partition", .string(partitionName(partition))), ExampleField("value", .string(name(value))),
                ExampleField("offset", .integer(offset)), ExampleField("sent-by", .integer(send.process.rawValue)),
                ExampleField("send-index", .integer(send.index)), ExampleField("read-by", .integer(reader.process.rawValue)),
                ExampleField("read-index", .integer(reader.index)), ExampleField("read-time", .integer(reader.time)),
            ],
            summary: "The send of \"\(name(value))\" failed definitely (\(Self.cite(send))), yet \(Self.cite(reader)) read it at offset \(offset) of \(partitionName(partition)).",
            window: window(partition, subjects: [offset])
        )
    }

    private func repeatedEffectExample(_ value: Int32, partition: Int32, offset: Int64, first: OperationReference, again: OperationReference) -> AnomalyExample {
        AnomalyExample(
            fields: [
                ExampleField("partition", .string(partitionName(partition))), ExampleField("value", .string(name(value))),
                ExampleField("offset", .integer(offset)), ExampleField("processes", .integers([first.process.rawValue, again.process.rawValue])),
                ExampleField("indexes", .integers([first.index, again.index])), ExampleField("times", .integers([first.time, again.time])),
            ],
            summary: "The input \"\(name(value))\" (offset \(offset) of \(partitionName(partition))) was applied to the external store twice: by \(Self.cite(first)) and again by \(Self.cite(again)).",
            window: window(partition, subjects: [offset])
        )
    }

    private func storedOffsetExample(_ partition: Int32, stored: Int64, lastApplied: Int64, operation: OperationReference) -> AnomalyExample {
        let storedText = stored >= 0 ? "stored next offset \(stored)" : "stored no next offset"
        let consequence = stored <= lastApplied
            ? "a processor restarting from the store applies offsets \(max(stored, 0))…\(lastApplied) again"
            : "a processor restarting from the store never applies offsets \(lastApplied + 1)…\(stored - 1)"
        return AnomalyExample(
            fields: [
                ExampleField("partition", .string(partitionName(partition))), ExampleField("stored-offset", stored >= 0 ? .integer(stored) : .null),
                ExampleField("last-applied-offset", .integer(lastApplied)), ExampleField("process", .integer(operation.process.rawValue)),
                ExampleField("index", .integer(operation.index)), ExampleField("time", .integer(operation.time)),
            ],
            summary: "After \(Self.cite(operation)) the external store's last applied input of \(partitionName(partition)) is offset \(lastApplied) but it \(storedText) (expected \(lastApplied + 1)): \(consequence).",
            window: window(partition, subjects: [lastApplied], boundaries: stored >= 0 ? [stored] : [])
        )
    }

    private func missingEffectExample(_ value: Int32, partition: Int32, offset: Int64, stored: Int64, storedBy: OperationReference) -> AnomalyExample {
        AnomalyExample(
            fields: [
                ExampleField("partition", .string(partitionName(partition))), ExampleField("value", .string(name(value))),
                ExampleField("offset", .integer(offset)), ExampleField("stored-offset", .integer(stored)),
                ExampleField("process", .integer(storedBy.process.rawValue)), ExampleField("index", .integer(storedBy.index)),
                ExampleField("time", .integer(storedBy.time)),
            ],
            summary: "The input \"\(name(value))\" at offset \(offset) of \(partitionName(partition)) was never applied to the external store, although the store's next offset reached \(stored) (\(Self.cite(storedBy))).",
            window: window(partition, subjects: [offset])
        )
    }

    private func outOfOrderEffectExample(_ value: Int32, partition: Int32, offset: Int64, after: Int64, operation: OperationReference) -> AnomalyExample {
        AnomalyExample(
            fields: [
                ExampleField("partition", .string(partitionName(partition))), ExampleField("value", .string(name(value))),
                ExampleField("offset", .integer(offset)), ExampleField("after-offset", .integer(after)),
                ExampleField("process", .integer(operation.process.rawValue)), ExampleField("index", .integer(operation.index)),
                ExampleField("time", .integer(operation.time)),
            ],
            summary: "The input \"\(name(value))\" at offset \(offset) of \(partitionName(partition)) was applied (\(Self.cite(operation))) after the input at offset \(after) had been applied: out of partition order.",
            window: window(partition, subjects: [offset], boundaries: [after])
        )
    }

    /// The log of `partition` around the given offsets: `CheckerLimits.reportWindowRadius`
    /// offsets on each side of each, overlapping neighbourhoods merged into one run.
    func window(_ partition: Int32, subjects: [Int64], boundaries: [Int64] = [], skipped: Range<Int64>? = nil) -> LogWindow {
        let radius = CheckerLimits.reportWindowRadius
        let focuses = (subjects + boundaries).filter { $0 >= 0 }.sorted()
        var ranges: [ClosedRange<Int64>] = []
        for focus in focuses {
            let range = max(0, focus - radius)...(focus + radius)
            if let last = ranges.last, range.lowerBound <= last.upperBound + 1 {
                ranges[ranges.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                ranges.append(range)
            }
        }
        let runs = ranges.prefix(4).map { range in
            range.map { offset in cell(partition, offset: offset, subjects: subjects, boundaries: boundaries, skipped: skipped) }
        }
        return LogWindow(partition: partitionName(partition), runs: Array(runs))
    }

    private func cell(_ partition: Int32, offset: Int64, subjects: [Int64], boundaries: [Int64], skipped: Range<Int64>?) -> LogCell {
        let role: LogCell.Role =
            subjects.contains(offset) ? .subject
            : boundaries.contains(offset) ? .boundary
            : skipped?.contains(offset) == true ? .skipped : .context
        guard let value = partitions[partition].log.value(at: offset) else {
            return LogCell(offset: offset, value: nil, isInconsistent: false, isAcknowledged: false, isFailed: false, isRead: false, role: role)
        }
        let record = values[value]
        return LogCell(
            offset: offset, value: name(value),
            isInconsistent: conflicts[OffsetKey(partition: partition, offset: offset)] != nil,
            isAcknowledged: record.status == .acknowledged, isFailed: record.status == .failed,
            isRead: record.home == partition && record.flags.contains(.isRead), role: role
        )
    }
}
