import Foundation
import RillChecker
import RillClient
import RillFormat
import RillProtocol
import Synchronization

extension CheckedClientDriver {
    /// The partitions consumer `index` assigns itself: its share of its subscription's topic.
    func assignedShare(of index: Int) -> [TopicPartition] {
        let topic = topics[index / (workload.subscriptionsPerTopic * workload.consumerPerSubscription)]
        let member = index % workload.consumerPerSubscription
        return (0..<workload.partitionsPerTopic).filter { $0 % workload.consumerPerSubscription == member }.map { TopicPartition(topic, Int32($0)) }
    }

    private func groupID(of index: Int) -> String {
        let perTopic = workload.subscriptionsPerTopic * workload.consumerPerSubscription
        return "rill-bench-\(runID)-\(index / perTopic)-sub-\((index % perTopic) / workload.consumerPerSubscription)"
    }

    private func makeConsumer(group: String) -> KafkaConsumer {
        do {
            let configuration = try ClientSettings.consumer(workload, bootstrap: bootstrap, group: group, defaults: Self.consumerDefaults)
            return KafkaConsumer(configuration: configuration, cluster: KafkaCluster(configuration: configuration.client, group: self.group))
        } catch {
            // The configuration was checked when the workload was parsed; this cannot fail here.
            preconditionFailure("consumer settings rejected after validation: \(error)")
        }
    }

    /// Assigns (or subscribes), then polls — committing after every poll that returned records —
    /// until everything stops.
    func runConsumer(_ index: Int, control: DriverControl) async {
        let slot = consumerSlots[index]
        let rebalances = RebalanceLog()
        var process = recorder.newProcess()
        var consumer: KafkaConsumer?
        while !control.isStopping {
            if slot.takeCrashRequest() {
                process = crash(process, abandoning: consumer?.cluster)
                consumer = nil
            }
            guard let current = consumer else {
                let fresh = makeConsumer(group: groupID(of: index))
                consumer = fresh
                startConsuming(fresh, index: index, process: process, rebalances: rebalances)
                continue
            }
            switch await poll(current, process: process, slot: slot, rebalances: rebalances) {
            case nil:
                process = crash(process, abandoning: current.cluster)
                consumer = nil
            case let records?:
                if !records.isEmpty, !(await commit(records, consumer: current, process: process, slot: slot)) {
                    process = crash(process, abandoning: current.cluster)
                    consumer = nil
                }
            }
        }
        if let consumer {
            _ = await finishes(within: .seconds(5)) { await consumer.close() }
            abandoned.withLock { $0.append(consumer.cluster) }
        }
    }

    /// The consumer's first operation: `assign` of its share (positions from the committed
    /// offsets, else the beginning), or `subscribe` to its topic.
    private func startConsuming(_ consumer: KafkaConsumer, index: Int, process: ProcessID, rebalances: RebalanceLog) {
        switch workload.checks?.consumers ?? .assign {
        case .assign:
            let partitions = assignedShare(of: index)
            let value = OperationValue.assign(partitions: partitions.map(\.historyName), seek: .committed)
            recorder.record(process, .invoke, .assign, value)
            consumer.assign(partitions)
            recorder.record(process, .ok, .assign, value)
            consumerSlots[index].assignedPartitions.store(partitions.count, ordering: .releasing)
        case .subscribe:
            let topic = assignedShare(of: index)[0].topic
            recorder.record(process, .invoke, .subscribe, .subscribe(topics: [topic]))
            do {
                try consumer.subscribe(topics: [topic], listener: rebalances.listener())
                recorder.record(process, .ok, .subscribe, .subscribe(topics: [topic]))
            } catch {
                recorder.record(process, .fail, .subscribe, .subscribe(topics: [topic]), error: "\(error)")
            }
        }
    }

    /// One poll operation. Returns the records as the consumer returned them (empty when none
    /// came or the poll failed), or nil when the client must be replaced (asked to crash, or stuck).
    func poll(_ consumer: KafkaConsumer, process: ProcessID, slot: ClientSlot, rebalances: RebalanceLog?) async -> [ConsumerRecord]? {
        recorder.record(process, .invoke, .poll, .none)
        let bound = Duration.milliseconds(consumer.configuration.client.requestTimeoutMilliseconds) * 2 + Self.operationSlack
        let outcome = await bounded(bound, slot: slot) { () -> Result<[ConsumerRecord], any Error> in
            do { return .success(try await consumer.poll(timeout: Self.pollTimeout)) } catch { return .failure(error) }
        }
        let changes = rebalances?.take() ?? []
        slot.assignedPartitions.store(consumer.assignment.count, ordering: .releasing)
        switch outcome {
        case .finished(.success(let records)):
            recorder.record(process, .ok, .poll, .poll(Self.group(records)), rebalance: changes)
            noteConsumed(records, slot: slot)
            return records
        case .finished(.failure(let error)):
            recorder.record(process, Self.completionType(of: error), .poll, .none, error: "\(error)", rebalance: changes)
            slot.statistics.update { data in
                data.consumeErrors += 1
                if data.firstError == nil { data.firstError = "consume: \(error)" }
            }
            try? await Task.sleep(for: Self.retryPause)
            return []
        default:
            recorder.record(process, .info, .poll, .none, error: outcome.errorDescription, rebalance: changes)
            return nil
        }
    }

    /// One commit operation: the next offset after the last record polled of each partition,
    /// partitions in the order they first appear in `polled` (as in the poll's history event).
    /// Returns false when the client must be replaced.
    private func commit(_ polled: [ConsumerRecord], consumer: KafkaConsumer, process: ProcessID, slot: ClientSlot) async -> Bool {
        var offsets: [PartitionOffset] = []
        var indices: [TopicPartition: Int] = [:]
        var request: [TopicPartition: Offset] = [:]
        for record in polled {
            let next = record.offset + 1
            request[record.topicPartition] = next
            if let index = indices[record.topicPartition] {
                offsets[index].offset = next
            } else {
                indices[record.topicPartition] = offsets.count
                offsets.append(PartitionOffset(partition: record.topicPartition.historyName, offset: next))
            }
        }
        recorder.record(process, .invoke, .commit, .commit(offsets))
        let positions = request
        let bound = Duration.milliseconds(consumer.configuration.client.requestTimeoutMilliseconds) * 2 + Self.operationSlack
        let outcome = await bounded(bound, slot: slot) { () -> (any Error)? in
            do { try await consumer.commitSync(positions) } catch { return error }
            return nil
        }
        switch outcome {
        case .finished(nil):
            recorder.record(process, .ok, .commit, .commit(offsets))
            return true
        case .finished(let error?):
            recorder.record(process, Self.completionType(of: error), .commit, .commit(offsets), error: "\(error)")
            return true
        default:
            recorder.record(process, .info, .commit, .commit(offsets), error: outcome.errorDescription)
            return false
        }
    }

    /// `fail` only when the broker answered with an error code (it did not do it); anything
    /// else — a timeout, a lost connection — may or may not have happened: `info`.
    static func completionType(of error: any Error) -> EventType {
        guard let error = error as? KafkaClientError, error.brokerError != nil, error.outcome == .failed else { return .info }
        return .fail
    }

    /// Records by partition, in the order the consumer returned them.
    static func group(_ records: [ConsumerRecord]) -> [PartitionRecords] {
        var order: [String] = []
        var byPartition: [String: [ReadRecord]] = [:]
        for record in records {
            let name = record.topicPartition.historyName
            if byPartition[name] == nil { order.append(name) }
            byPartition[name, default: []].append(ReadRecord(offset: record.offset, value: valueString(record.value)))
        }
        return order.map { PartitionRecords(partition: $0, records: byPartition[$0] ?? []) }
    }

    private func noteConsumed(_ records: [ConsumerRecord], slot: ClientSlot) {
        guard !records.isEmpty else { return }
        let nowWall = MonotonicClock.wallMilliseconds()
        slot.statistics.update { data in
            data.consumedRecords += Int64(records.count)
            for record in records {
                data.consumedBytes += Int64(record.value?.readableBytes ?? 0)
                _ = data.histograms.endToEnd.record(UInt64(max(0, nowWall - record.timestamp.milliseconds)) * 1000)
            }
        }
    }

    // MARK: Final read

    /// Reads every partition from the beginning with a fresh process (assign, seek to the
    /// beginning, polls) until every acknowledged offset has been seen or `seconds` pass.
    public func finalRead(seconds: Double) async -> FinalRead {
        let deadline = ContinuousClock.now + .seconds(seconds)
        let process = recorder.newProcess()
        let slot = ClientSlot(name: "final-read")
        let consumer = makeConsumer(group: "rill-bench-\(runID)-final-read")
        defer { abandoned.withLock { $0.append(consumer.cluster) } }
        let partitions = topics.flatMap { topic in (0..<workload.partitionsPerTopic).map { TopicPartition(topic, Int32($0)) } }
        let value = OperationValue.assign(partitions: partitions.map(\.historyName), seek: .beginning)
        var result = FinalRead()
        var isAssigned = false
        while !isAssigned, ContinuousClock.now < deadline {
            recorder.record(process, .invoke, .assign, value)
            consumer.assign(partitions)
            let outcome = await bounded(Self.operationSlack, slot: nil) { () -> (any Error)? in
                do { try await consumer.seekToBeginning(partitions) } catch { return error }
                return nil
            }
            if case .finished(nil) = outcome {
                recorder.record(process, .ok, .assign, value)
                isAssigned = true
            } else {
                let error: String? = if case .finished(let error?) = outcome { "\(error)" } else { outcome.errorDescription }
                recorder.record(process, .info, .assign, value, error: error)
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        let goal = acknowledged.withLock { $0 }
        var seen: [String: Int64] = [:]
        func remaining() -> [String] { goal.filter { seen[$0.key, default: -1] < $0.value }.keys.sorted() }
        while isAssigned, !remaining().isEmpty, ContinuousClock.now < deadline {
            guard let polled = await poll(consumer, process: process, slot: slot, rebalances: nil) else { break }
            result.records += polled.count
            for record in polled {
                let name = record.topicPartition.historyName
                seen[name] = max(seen[name, default: -1], record.offset.rawValue)
            }
        }
        result.behind = remaining()
        result.isComplete = isAssigned && result.behind.isEmpty
        _ = await finishes(within: .seconds(5)) { await consumer.close() }
        return result
    }
}

/// What the final read of a correctness run saw.
public struct FinalRead: Sendable {
    public var records = 0
    /// Whether every acknowledged offset was reached before the bound.
    public var isComplete = false
    /// Partitions whose highest acknowledged offset was not reached.
    public var behind: [String] = []
}

/// Partition assignment changes a subscribed consumer saw, collected by its rebalance listener
/// (which runs inside `poll`, on the polling task; the lock makes the hand-over explicit) and
/// attached to the next reported operation. Used by `CheckedClientDriver` and `ExactlyOnceConsumer`.
final class RebalanceLog: Sendable {
    private let changes = Mutex<[RebalanceChange]>([])

    func add(_ change: RebalanceChange) { changes.withLock { $0.append(change) } }

    func take() -> [RebalanceChange] { changes.withLock { changes in defer { changes = [] }; return changes } }

    func listener() -> RebalanceCallbacks {
        let note: @Sendable (String, [TopicPartition]) -> Void = { kind, partitions in
            self.add(RebalanceChange(kind: kind, partitions: partitions.map(\.historyName)))
        }
        return RebalanceCallbacks(
            revoked: { partitions, _ in note("revoked", partitions) },
            assigned: { partitions, _ in note("assigned", partitions) },
            lost: { partitions, _ in note("lost", partitions) })
    }
}
