import PropertyBased
import RillFormat
import Synchronization
import Testing

@testable import RillChecker

/// Histories from a simulated correct log are valid; each mutation that breaks one guarantee is
/// found as the matching anomaly, and only as anomalies that mutation can cause.
@Suite struct PropertyTests {
    static func generatorConfiguration(seed: UInt64, processors: Int = 0) -> HistoryGeneratorConfiguration {
        var configuration = HistoryGeneratorConfiguration(operations: 300, seed: seed)
        configuration.partitions = Int(seed % 3) + 1
        configuration.producers = 3
        configuration.consumers = 2
        configuration.processors = processors
        configuration.consumerMode = seed % 2 == 0 ? .assign : .subscribe
        configuration.crashProbability = 0.02
        return configuration
    }

    static func check(_ events: [HistoryEvent], mode: CheckerConfiguration.ConsumerMode) throws(HistoryError) -> CheckResult {
        try HistoryChecker.check(events, configuration: CheckerConfiguration(consumerMode: mode))
    }

    @Test func generatedHistoriesAreValid() async {
        await propertyCheck(count: 60, input: Gen.uint64(in: 1...UInt64.max), Gen.int(in: 0...2)) { seed, processors in
            let configuration = Self.generatorConfiguration(seed: seed, processors: processors)
            let events = Array(HistoryGenerator(configuration: configuration))
            let result = try Self.check(events, mode: configuration.consumerMode)
            #expect(result.isValid && result.anomalies.isEmpty, "seed \(seed): \(result.verdictJSON())")
            #expect(result.statistics.sendsOK > 0 && result.statistics.pollsOK > 0)
        }
    }

    /// Long histories with every feature, a few fixed seeds, so deep cases run every time.
    @Test(arguments: [11, 12, 13, 14] as [UInt64])
    func longGeneratedHistoriesAreValid(seed: UInt64) throws {
        var configuration = Self.generatorConfiguration(seed: seed, processors: 2)
        configuration.operations = 20_000
        configuration.partitions = 5
        let events = Array(HistoryGenerator(configuration: configuration))
        let result = try Self.check(events, mode: configuration.consumerMode)
        #expect(result.isValid && result.anomalies.isEmpty, "seed \(seed): \(result.verdictJSON())")
        #expect(result.statistics.crashes > 0 && result.statistics.sendsFailed > 0 && result.statistics.sendsUnknown > 0)
        #expect(result.statistics.processesOK > 0)
        if configuration.consumerMode == .subscribe { #expect(result.statistics.excusedByRebalance > 0) }
    }

    enum Mutation: CaseIterable, CustomTestStringConvertible {
        case dropEveryReadOfAValue, swapTwoOffsetsInAPoll, writeAValueTwice, failAReadSend, repeatAPoll, skipARecordInAPoll, applyAnInputTwice

        /// The anomaly the mutation must produce, and every anomaly it may produce.
        var expected: (required: AnomalyName, possible: Set<AnomalyName>) {
            switch self {
            case .dropEveryReadOfAValue: (.lostWrite, [.lostWrite, .internalPollSkip, .pollSkip])
            case .swapTwoOffsetsInAPoll:
                // Sends acknowledged without an offset are placed where consumers read them, so
                // the swap can also reorder a producer's records.
                (
                    .internalNonmonotonicPoll,
                    [.internalNonmonotonicPoll, .internalPollSkip, .inconsistentOffsets, .duplicate, .pollSkip, .nonmonotonicPoll, .nonmonotonicSend, .internalNonmonotonicSend]
                )
            case .writeAValueTwice: (.duplicate, [.duplicate, .nonmonotonicSend, .internalNonmonotonicSend])
            case .failAReadSend: (.abortedRead, [.abortedRead])
            case .repeatAPoll: (.nonmonotonicPoll, [.nonmonotonicPoll])
            case .skipARecordInAPoll: (.internalPollSkip, [.internalPollSkip, .pollSkip, .lostWrite])
            case .applyAnInputTwice: (.duplicateEffect, [.duplicateEffect])
            }
        }

        var testDescription: String { "\(self)" }
    }

    @Test(arguments: Mutation.allCases)
    func mutationsAreFoundAsTheirAnomaly(_ mutation: Mutation) async {
        let applied = Mutex(0)
        await propertyCheck(count: 40, input: Gen.uint64(in: 1...UInt64.max)) { seed in
            // Assign mode: in subscribe mode a rebalance may legitimately excuse a repeated poll.
            var configuration = Self.generatorConfiguration(seed: seed & ~1, processors: mutation == .applyAnInputTwice ? 1 : 0)
            configuration.partitions = 2
            let events = Array(HistoryGenerator(configuration: configuration))
            var random = SplitMix64(seed: seed)
            guard let mutated = Mutator.apply(mutation, to: events, using: &random) else { return }
            applied.withLock { $0 += 1 }
            let result = try Self.check(mutated, mode: .assign)
            let found = Set(result.anomalyNames)
            #expect(found.contains(mutation.expected.required), "seed \(seed): \(result.verdictJSON())")
            #expect(found.isSubset(of: mutation.expected.possible), "seed \(seed): \(result.verdictJSON())")
        }
        // Not vacuous: the mutation found a place in at least half of the histories.
        #expect(applied.withLock { $0 } >= 20, "the mutation applied to \(applied.withLock { $0 }) of 40 histories")
    }

    /// A history where the skipped record was once chosen among records whose sends failed or
    /// were unknown and that no other poll read: nothing could find that skip (CI, seed below).
    @Test func aSkippedRecordIsOneTheHistoryKnowsOf() throws {
        let seed: UInt64 = 11_072_328_486_954_864_180
        var configuration = Self.generatorConfiguration(seed: seed & ~1, processors: 0)
        configuration.partitions = 2
        var random = SplitMix64(seed: seed)
        let mutated = try #require(Mutator.apply(.skipARecordInAPoll, to: Array(HistoryGenerator(configuration: configuration)), using: &random))
        #expect(try Self.check(mutated, mode: .assign).anomalyNames.contains(.internalPollSkip))
    }

    /// The mutations find a place to apply in most histories, so the property above is not vacuous.
    @Test(arguments: Mutation.allCases)
    func mutationsUsuallyApply(_ mutation: Mutation) {
        var applied = 0
        for seed in 1...20 as ClosedRange<UInt64> {
            var configuration = Self.generatorConfiguration(seed: seed * 2, processors: mutation == .applyAnInputTwice ? 1 : 0)
            configuration.partitions = 2
            var random = SplitMix64(seed: seed)
            if Mutator.apply(mutation, to: Array(HistoryGenerator(configuration: configuration)), using: &random) != nil { applied += 1 }
        }
        #expect(applied >= 15)
    }
}

/// Mutations of a valid history, each breaking one guarantee of the log.
enum Mutator {
    static func apply(_ mutation: PropertyTests.Mutation, to events: [HistoryEvent], using random: inout SplitMix64) -> [HistoryEvent]? {
        let mutated: [HistoryEvent]?
        switch mutation {
        case .dropEveryReadOfAValue: mutated = dropEveryRead(events, using: &random)
        case .swapTwoOffsetsInAPoll: mutated = swapOffsets(events, using: &random)
        case .writeAValueTwice: mutated = writeTwice(events, using: &random)
        case .failAReadSend: mutated = failReadSend(events, using: &random)
        case .repeatAPoll: mutated = repeatPoll(events, using: &random)
        case .skipARecordInAPoll: mutated = skipRecord(events, using: &random)
        case .applyAnInputTwice: mutated = applyTwice(events, using: &random)
        }
        return mutated.map(renumbered)
    }

    static func renumbered(_ events: [HistoryEvent]) -> [HistoryEvent] {
        events.enumerated().map { position, event in
            var copy = event
            copy.index = Int64(position)
            return copy
        }
    }

    /// Acknowledged sends with an offset, as (event position, record position).
    static func acknowledgedRecords(_ events: [HistoryEvent]) -> [(event: Int, record: Int, value: SentRecord)] {
        var result: [(event: Int, record: Int, value: SentRecord)] = []
        for (position, event) in events.enumerated() where event.type == .ok && event.function == .send {
            guard case .send(let records) = event.value else { continue }
            for (recordPosition, record) in records.enumerated() where record.offset != nil {
                result.append((position, recordPosition, record))
            }
        }
        return result
    }

    /// `events` with `value` removed from every ok poll.
    static func removingReads(of value: String, from events: [HistoryEvent]) -> [HistoryEvent] {
        events.map { event in
            guard event.type == .ok, case .poll(let partitions) = event.value else { return event }
            var copy = event
            copy.value = .poll(partitions.map { PartitionRecords(partition: $0.partition, records: $0.records.filter { $0.value != value }) })
            return copy
        }
    }

    /// Offsets read per partition, to pick values below the highest read.
    static func highestRead(_ events: [HistoryEvent]) -> [String: Int64] {
        var highest: [String: Int64] = [:]
        for event in events where event.type == .ok {
            guard case .poll(let partitions) = event.value else { continue }
            for partition in partitions {
                for record in partition.records { highest[partition.partition] = max(highest[partition.partition] ?? -1, record.offset.rawValue) }
            }
        }
        return highest
    }

    static func dropEveryRead(_ events: [HistoryEvent], using random: inout SplitMix64) -> [HistoryEvent]? {
        let highest = highestRead(events)
        let candidates = acknowledgedRecords(events).filter { ($0.value.offset?.rawValue ?? .max) < (highest[$0.value.partition] ?? -1) }
        guard let chosen = candidates.randomElement(using: &random) else { return nil }
        return removingReads(of: chosen.value.value, from: events)
    }

    /// Ok polls with at least two records in a partition: (event, partition position).
    static func pollsWithTwoRecords(_ events: [HistoryEvent]) -> [(event: Int, partition: Int)] {
        var result: [(event: Int, partition: Int)] = []
        for (position, event) in events.enumerated() where event.type == .ok {
            guard case .poll(let partitions) = event.value else { continue }
            for (partitionPosition, partition) in partitions.enumerated() where partition.records.count >= 2 {
                result.append((position, partitionPosition))
            }
        }
        return result
    }

    static func swapOffsets(_ events: [HistoryEvent], using random: inout SplitMix64) -> [HistoryEvent]? {
        guard let chosen = pollsWithTwoRecords(events).randomElement(using: &random),
            case .poll(var partitions) = events[chosen.event].value
        else { return nil }
        var records = partitions[chosen.partition].records
        let first = Int.random(in: 0..<(records.count - 1), using: &random)
        let offset = records[first].offset
        records[first].offset = records[first + 1].offset
        records[first + 1].offset = offset
        partitions[chosen.partition].records = records
        var mutated = events
        mutated[chosen.event].value = .poll(partitions)
        return mutated
    }

    /// The acknowledgement of one value names a fresh offset far beyond the log, while
    /// consumers read it at its real offset: the value is at two offsets.
    static func writeTwice(_ events: [HistoryEvent], using random: inout SplitMix64) -> [HistoryEvent]? {
        let highest = highestRead(events)
        let candidates = acknowledgedRecords(events).filter { ($0.value.offset?.rawValue ?? .max) <= (highest[$0.value.partition] ?? -1) }
        guard let chosen = candidates.randomElement(using: &random), case .send(var records) = events[chosen.event].value else { return nil }
        records[chosen.record].offset = Offset(1_000_000)
        var mutated = events
        mutated[chosen.event].value = .send(records)
        return mutated
    }

    /// An acknowledged send whose values were read is turned into a failed one.
    static func failReadSend(_ events: [HistoryEvent], using random: inout SplitMix64) -> [HistoryEvent]? {
        let highest = highestRead(events)
        let candidates = acknowledgedRecords(events).filter { ($0.value.offset?.rawValue ?? .max) <= (highest[$0.value.partition] ?? -1) }
        guard let chosen = candidates.randomElement(using: &random), case .send(let records) = events[chosen.event].value else { return nil }
        var mutated = events
        mutated[chosen.event].type = .fail
        mutated[chosen.event].value = .send(records.map { SentRecord(partition: $0.partition, value: $0.value) })
        return mutated
    }

    /// A consumer's non-empty poll is repeated right after it completes: the copy starts where
    /// the original started, at or before where it ended.
    static func repeatPoll(_ events: [HistoryEvent], using random: inout SplitMix64) -> [HistoryEvent]? {
        let candidates = events.indices.filter { position in
            guard events[position].type == .ok, case .poll(let partitions) = events[position].value else { return false }
            return partitions.contains { !$0.records.isEmpty }
        }
        guard let chosen = candidates.randomElement(using: &random) else { return nil }
        return insertingCopy(of: chosen, in: events)
    }

    /// Inserts, right after the completion at `position`, the same operation again (an invocation
    /// and the same completion) by the same process at the same time.
    static func insertingCopy(of position: Int, in events: [HistoryEvent]) -> [HistoryEvent] {
        var invocation = events[position]
        invocation.type = .invoke
        if invocation.function == .poll { invocation.value = .none }
        var mutated = events
        mutated.insert(contentsOf: [invocation, events[position]], at: position + 1)
        return mutated
    }

    /// A record in the middle of a poll disappears from that poll only — one whose send was
    /// acknowledged with an offset. (A record known only from this one poll, its send failed or
    /// unknown, leaves no trace once removed: nothing says its offset ever held a record, so no
    /// checker can find the skip.)
    static func skipRecord(_ events: [HistoryEvent], using random: inout SplitMix64) -> [HistoryEvent]? {
        var acknowledged: Set<[String]> = []
        for event in events where event.type == .ok {
            guard case .send(let records) = event.value else { continue }
            for record in records where record.offset != nil { acknowledged.insert([record.partition, record.value]) }
        }
        var candidates: [(event: Int, partition: Int, record: Int)] = []
        for chosen in pollsWithTwoRecords(events) {
            guard case .poll(let partitions) = events[chosen.event].value else { continue }
            let polled = partitions[chosen.partition]
            for index in polled.records.indices.dropFirst().dropLast() where acknowledged.contains([polled.partition, polled.records[index].value]) {
                candidates.append((chosen.event, chosen.partition, index))
            }
        }
        guard let chosen = candidates.randomElement(using: &random), case .poll(var partitions) = events[chosen.event].value else { return nil }
        partitions[chosen.partition].records.remove(at: chosen.record)
        var mutated = events
        mutated[chosen.event].value = .poll(partitions)
        return mutated
    }

    /// An ok process operation runs again right after itself, with the same records and offsets.
    static func applyTwice(_ events: [HistoryEvent], using random: inout SplitMix64) -> [HistoryEvent]? {
        let candidates = events.indices.filter { position in
            guard events[position].type == .ok, case .process(let records, _) = events[position].value else { return false }
            return records.contains { !$0.records.isEmpty }
        }
        guard let chosen = candidates.randomElement(using: &random) else { return nil }
        return insertingCopy(of: chosen, in: events)
    }
}
